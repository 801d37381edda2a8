# Hostile: tries to read files of the host (stdin: one path per line), and
# lists the directories it can see. Prints whatever it manages to read.
import os, sys
for path in sys.stdin.read().split():
    try:
        if os.path.isdir(path):
            print(path, "DIR", os.listdir(path))
        else:
            with open(path, "rb") as f:
                print(path, "READ", f.read(4096))
    except OSError as e:
        print(path, "DENIED", e.errno)
