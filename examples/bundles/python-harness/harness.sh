#!/bin/sh
# Runs the host's python3 (bound read-only by `spec --host-libs`) as the harness.
exec /usr/bin/python3 -c '
import os, resource, socket
print("python", os.sys.version.split()[0], "as pid", os.getpid(), "uid", os.getuid())
print("RLIMIT_AS", resource.getrlimit(resource.RLIMIT_AS)[0] >> 20, "MiB")
try:
    socket.socket()
    print("socket: allowed")
except OSError as e:
    print("socket: denied:", e.strerror)
'
