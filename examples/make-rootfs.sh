#!/usr/bin/env bash
# make-rootfs.sh DIR [EXTRA_FILE...]
# A minimal root filesystem from Debian's busybox-static: /bin/busybox and its applet links,
# empty mount points, and /etc/passwd and /etc/group with root and nobody. EXTRA_FILEs (static
# binaries) are copied to DIR/bin. Root filesystems are generated, never committed.
set -euo pipefail
dir=${1:?usage: make-rootfs.sh DIR [EXTRA_FILE...]}
shift
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "make-rootfs: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,usr/lib,usr/lib64,lib,lib64,proc,dev,sys,tmp,etc,root,run,var/tmp,home}
chmod 1777 "$dir/tmp" "$dir/var/tmp"
cp "$busybox" "$dir/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ -e "$dir/$applet" ] || ln -s /bin/busybox "$dir/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$dir/etc/group"
echo nyx >"$dir/etc/hostname"
for f in "$@"; do cp "$f" "$dir/bin/"; done
echo "$dir"
