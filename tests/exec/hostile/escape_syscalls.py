# Hostile: system calls that would widen the sandbox, made directly through
# libc. Prints name=<result> where result is the errno name or OK.
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
def t(name, fn):
    r = fn()
    e = ctypes.get_errno()
    print("%s=%s" % (name, "OK" if r >= 0 else errno.errorcode.get(e, str(e))))
CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID = 0x10000000, 0x00020000, 0x40000000, 0x20000000
t("unshare_user", lambda: libc.unshare(CLONE_NEWUSER))
t("unshare_ns", lambda: libc.unshare(CLONE_NEWNS))
t("unshare_net", lambda: libc.unshare(CLONE_NEWNET))
t("clone_newuser", lambda: libc.syscall(56, CLONE_NEWUSER | 17, 0, 0, 0, 0))  # SYS_clone, SIGCHLD
t("mount_tmpfs", lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None))
t("remount_rw", lambda: libc.mount(None, b"/", None, 32 | 4096, None))  # MS_REMOUNT | MS_BIND
t("umount_usr", lambda: libc.umount2(b"/usr", 2))
t("chroot", lambda: libc.chroot(b"/tmp"))
t("ptrace_attach_1", lambda: libc.ptrace(16, 1, 0, 0))
t("ptrace_traceme", lambda: libc.ptrace(0, 0, 0, 0))
t("setsid", lambda: libc.setsid())
t("setpgid", lambda: libc.setpgid(0, 0))
t("socket_inet", lambda: libc.socket(2, 1, 0))
t("socket_unix", lambda: libc.socket(1, 1, 0))
t("io_uring_setup", lambda: libc.syscall(425, 8, ctypes.create_string_buffer(120)))
t("bpf", lambda: libc.syscall(321, 0, 0, 0))
t("keyctl", lambda: libc.syscall(250, 0, 0, 0, 0, 0))
t("perf_event_open", lambda: libc.syscall(298, 0, 0, -1, -1, 0))
t("kill_all", lambda: libc.kill(-1, 0))
