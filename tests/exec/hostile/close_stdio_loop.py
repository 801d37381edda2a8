# Hostile: closes its output streams so that the host sees end-of-file, then
# keeps running.
import os
os.close(1)
os.close(2)
while True:
    pass
