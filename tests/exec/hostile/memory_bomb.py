# Hostile: allocates and touches memory until something stops it, in this
# process and in forked children.
import os
for _ in range(7):
    try:
        if os.fork() == 0:
            break
    except OSError:
        break
hoard = []
while True:
    hoard.append(b"x" * (16 << 20))
