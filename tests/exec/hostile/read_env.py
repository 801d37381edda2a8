# Hostile: looks for the host's environment everywhere it might leak.
import os
print("environ:", dict(os.environ))
paths = ["/proc/self/environ", "/proc/1/environ", "/proc/%d/environ" % os.getppid()]
try:
    paths += ["/proc/%s/environ" % p for p in os.listdir("/proc") if p.isdigit()]
except OSError as e:
    print("listdir /proc:", e)
for p in paths:
    try:
        print(p, open(p, "rb").read())
    except OSError as e:
        print(p, e)
