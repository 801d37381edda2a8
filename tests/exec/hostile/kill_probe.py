# Probe, harmless: signal 0 only checks whether a signal could be sent.
# stdin: the host test's pid. The hostile kill programs run only when every
# line here shows the signal would be refused.
import errno, os, sys
host = int(sys.stdin.read().split()[0])
def t(pid):
    try:
        os.kill(pid, 0)
        return "OK"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
ppid = os.getppid()
print("ppid=%d" % ppid)
print("kill_ppid=" + (t(ppid) if ppid > 0 else "NOPPID"))
print("kill_host=" + t(host))
print("kill_all=" + t(-1))
print("kill_group=" + t(-os.getpgid(0)))
print("own_group=%d" % (os.getpgid(0) == os.getpid()))
