# Hostile: tries to replace, truncate, re-mode, rename and delete each file
# on stdin (the interpreters). Run against real interpreters only after
# overwrite_probe.py showed every path read-only to the sandbox.
import errno, os, sys
def t(label, fn):
    try:
        fn()
        print(label + "=OK")
    except OSError as e:
        print(label + "=" + errno.errorcode.get(e.errno, str(e.errno)))
for p in sys.stdin.read().split():
    t("truncate:" + p, lambda: os.truncate(p, 0))
    t("write:" + p, lambda: open(p, "wb").write(b"#!/bin/sh\necho pwned\n"))
    t("chmod:" + p, lambda: os.chmod(p, 0o777))
    t("rename:" + p, lambda: os.rename(p, p + ".old"))
    t("unlink:" + p, lambda: os.unlink(p))
    t("symlink:" + p, lambda: os.symlink("/tmp/evil", p + ".new"))
