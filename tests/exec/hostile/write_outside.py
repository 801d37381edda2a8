# Hostile: tries to create, append to or replace files outside its scratch
# directory. stdin: one path per line. Prints path=OK or path=<errno name>.
import errno, os, sys
for path in sys.stdin.read().split():
    try:
        with open(path, "a") as f:
            f.write("escaped\n")
        r = "OK"
    except OSError as e:
        r = errno.errorcode.get(e.errno, str(e.errno))
    print("%s=%s" % (path, r))
