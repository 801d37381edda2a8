# Hostile: a double-forked daemon that keeps stdout open and sleeps, so that a
# host waiting for end-of-file would hang. The run must end when main exits.
import os, sys, time
if os.fork() == 0:
    if os.fork() == 0:
        time.sleep(60)
        print("daemon still alive")
    os._exit(0)
print("main exits")
