# Hostile: leaves a tree for the host to clean up that tries to make the
# cleanup follow links out of the scratch directory or fail: symlinks and a
# hard link to a host file (stdin: its path), a directory without
# permissions, and directories nested deeper than a recursive walk likes.
import os, sys
target = sys.stdin.read().split()[0]
print("scratch=" + os.getcwd())
for name, fn in (("symlink", os.symlink), ("hardlink", os.link)):
    try:
        fn(target, "link_" + name)
        print(name + "=OK")
    except OSError as e:
        print(name + "=%d" % e.errno)
os.symlink("/", "root_link")
os.makedirs("locked/inner")
open("locked/inner/f", "w").write("x")
try:
    os.chmod("locked/inner", 0)
    os.chmod("locked", 0)
except OSError:  # the fallback with the host's own uid denies chmod
    print("chmod denied")
d = "deep"
os.mkdir(d)
os.chdir(d)
for i in range(300):
    os.mkdir("d")
    os.chdir("d")
    open("f", "w").write("x")
print("built")
