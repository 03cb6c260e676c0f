#!/bin/sh
# Tries to leave the container and prints what it saw. Under the strict profile every attempt
# should fail.
try() { label=$1; shift; if out=$("$@" 2>&1); then echo "ESCAPED  $label: $(echo "$out" | head -c 120 | tr '\n' ' ')"; else echo "blocked  $label: $(echo "$out" | head -n 1)"; fi; }
try "read host /etc/shadow via /proc/1/root" cat /proc/1/root/../../etc/shadow
try "read the host's hostname file" cat /etc/hostname.host
try "see the host's kernel threads (kthreadd)" sh -c 'grep -l kthreadd /proc/[0-9]*/comm'
try "open a TCP socket" nc -w 1 127.0.0.1 22
try "remount / read-write" mount -o remount,rw /
try "change the hostname" hostname escaped
try "load a kernel module" insmod /nonexistent.ko
echo "uid $(id -u), $(grep -E '^CapEff' /proc/self/status | tr -s '\t' ' ')"
