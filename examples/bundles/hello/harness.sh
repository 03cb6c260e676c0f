#!/bin/sh
# Says who and where it is, from inside the container.
echo "hello from $(hostname), pid $$, uid $(id -u) gid $(id -g)"
echo "uid_map: $(cat /proc/self/uid_map | tr -s ' ')"
grep -E '^(NoNewPrivs|Seccomp|CapEff):' /proc/self/status | tr -s '\t' ' '
echo "root: $(ls / | tr '\n' ' ')"
if touch /probe-write 2>/dev/null; then echo "root is writable"; else echo "root is read-only"; fi
