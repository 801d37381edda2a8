# Hostile: SIGKILL to its parent, to the host test (stdin: its pid), to every
# process (-1) and to the host's process group (stdin: its pgid), then to its
# own group. Run only after kill_probe.py showed each would be refused.
import os, sys
host, host_pgid = map(int, sys.stdin.read().split())
for target in (os.getppid(), host, -1, -host_pgid):
    if target == 0:
        continue
    try:
        os.kill(target, 9)
        print("%d=OK" % target)
    except OSError as e:
        print("%d=%d" % (target, e.errno))
sys.stdout.flush()
os.kill(0, 9)
print("survived own group kill")
