# Probe, harmless: for each path on stdin, whether it or its directory is
# writable (access(2)) and whether it opens for appending (nothing is
# written; O_APPEND without a write changes neither content nor mtime).
import errno, os, sys
for path in sys.stdin.read().split():
    print("access:%s=%d" % (path, os.access(path, os.W_OK)))
    print("diraccess:%s=%d" % (path, os.access(os.path.dirname(path), os.W_OK)))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.close(fd)
        r = "OK"
    except OSError as e:
        r = errno.errorcode.get(e.errno, str(e.errno))
    print("append:%s=%s" % (path, r))
