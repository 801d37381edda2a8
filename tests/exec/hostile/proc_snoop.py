# Hostile: looks at the processes it can see through /proc.
import os
try:
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    print("visible_pids=%d" % len(pids))
    for p in pids:
        try:
            print(p, open("/proc/%s/cmdline" % p, "rb").read()[:200])
        except OSError as e:
            print(p, e)
except OSError as e:
    print("visible_pids=0", e)
