#!/usr/bin/env bash
# tests/vm/image.sh: the Debian 12 image of the test VM, built once and cached; prints its
# directory. As root, with mmdebstrap and e2fsprogs (scripts/vm-test.sh installs them).
#
# The directory, $NYX_VM_CACHE/KEY (default /var/cache/nyx-vm/KEY), holds:
#   root.img     raw ext4 root filesystem (sparse), booted through a per-run qcow2 overlay,
#                so the cached image is never written
#   vmlinuz      the image's own kernel (linux-image-amd64) ...
#   initrd.img   ... and the initramfs initramfs-tools built for it inside the image
#   packages.txt name and version of every installed package
#   ready        written last: a directory without it is an interrupted build
#   used         touched at every use; other keys' images unused for 14 days are removed
# KEY is a hash of this script and tests/vm/packages: changing either builds a new image.
# NYX_VM_REBUILD=1 rebuilds the current key (newer Debian packages, same list).
#
# The root comes from mmdebstrap's `apt` variant (Essential packages and apt) plus
# tests/vm/packages, without Recommends, from bookworm, bookworm-updates and bookworm-security.
# Only Debian packages go in: the nyx build, the tests and the test list come in at boot over
# 9p (scripts/vm-test.sh), so rebuilding nyx or editing a test never rebuilds the image.
# shellcheck disable=SC2016  # the hooks and dpkg-query's format expand later, not here
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${NYX_VM_CACHE:-/var/cache/nyx-vm}
SIZE=${NYX_VM_DISK_SIZE:-8G}
MIRROR=${NYX_VM_MIRROR:-http://deb.debian.org}

die() { echo "vm-image: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"
for tool in mmdebstrap mkfs.ext4 sha256sum flock; do
  command -v "$tool" >/dev/null || die "missing $tool (scripts/vm-test.sh installs it)"
done

KEY=$(cat "$HERE/image.sh" "$HERE/packages" | sha256sum | cut -c1-16)
DIR=$CACHE/$KEY
if [ "${1:-}" = --key ]; then echo "$KEY"; exit 0; fi

mkdir -p "$CACHE"
# One build at a time per cache; a second caller waits, then finds the image ready.
exec 9>"$CACHE/.lock"
flock 9
# Images of other keys (older versions of this script or of the package list) go once unused
# for 14 days, and so do builds that were killed.
prune() {
  local d
  for d in "$CACHE"/*/ "$CACHE"/.build-*/; do
    d=${d%/}
    if [ ! -d "$d" ] || [ "$d" = "$DIR" ]; then continue; fi
    [ -n "$(find "$d" -maxdepth 0 -newermt '-14 days' 2>/dev/null)" ] && continue
    [ -e "$d/used" ] && [ -n "$(find "$d/used" -newermt '-14 days' 2>/dev/null)" ] && continue
    rm -rf --one-file-system "$d"
  done
}
if [ -f "$DIR/ready" ] && [ "${NYX_VM_REBUILD:-0}" != 1 ]; then
  touch "$DIR/used"
  prune
  echo "$DIR"
  exit 0
fi

TMP=$(mktemp -d "$CACHE/.build-$KEY.XXXXXX")
# mmdebstrap unmounts what it mounted in the root itself; the trap only has files to remove.
trap 'rm -rf --one-file-system "$TMP"' EXIT
START=$(date +%s)
PKGS=$(sed 's/#.*//' "$HERE/packages" | xargs | tr ' ' ,)
echo "vm-image: building $DIR (mmdebstrap, Debian 12)" >&2

# Written before the kernel package is installed, so its postinst builds the right initramfs
# the first time: only the modules the root needs (virtio_pci, virtio_blk, ext4 and its
# crc32c are modules in Debian's kernel), not MODULES=most's hundreds: a small initrd
# unpacks faster under TCG. The 9p shares are mounted from the root, by the boot unit.
ESSENTIAL_HOOK='
  set -e
  mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"
  echo MODULES=list >"$1/etc/initramfs-tools/conf.d/nyx-vm"
  printf "%s\n" virtio_pci virtio_blk ext4 crc32c_generic >"$1/usr/share/initramfs-tools/modules.d/nyx-vm"
'

# After the packages: fstab, hostname, the boot unit, and no unit that would compete with the
# tests for the two emulated CPUs or write to the console the runner reports on.
CUSTOMIZE_HOOK='
  set -e
  r=$1
  echo "/dev/vda / ext4 rw,relatime 0 0" >"$r/etc/fstab"
  echo nyx-vm >"$r/etc/hostname"
  printf "127.0.0.1 localhost\n127.0.1.1 nyx-vm\n::1 localhost\n" >"$r/etc/hosts"
  : >"$r/etc/machine-id"
  chroot "$r" passwd -d root >/dev/null
  chroot "$r" systemctl mask -q serial-getty@ttyS0.service getty@tty1.service \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
    fstrim.timer logrotate.timer man-db.timer systemd-networkd-wait-online.service \
    podman-auto-update.timer podman-auto-update.service podman-restart.service \
    podman.service podman.socket
  chroot "$r" systemctl disable -q containerd.service
  chroot "$r" systemctl set-default -q multi-user.target
  cat >"$r/usr/local/sbin/nyx-vm-boot" <<"EOF"
#!/bin/bash
# nyx-vm-boot (tests/vm/image.sh): started by nyx-vm.service once the system is up. Mounts
# the host shares (nyxrun: the run directory with env and tests; nyxsrc: the source tree,
# read-only; nyxbuild: the build directory) at the paths they have on the host, runs the
# runner (NYX_VM_RUNNER from env: the copy of tests/vm in the run share), prints the result line scripts/vm-test.sh waits for and
# powers off. Every failure on the way is a result too.
result() {
  echo "NYX-VM-RESULT: $1"
  sync
  systemctl poweroff -ff
  sleep 60
  exit "$1"
}
fail() { echo "NYX-VM-ERROR: $*"; result 125; }
echo "NYX-VM-RUNNER: up at $(cut -d" " -f1 /proc/uptime) s of guest uptime"
share() {
  mkdir -p "$2" || return 1
  mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,access=any${3:+,$3}" "$1" "$2"
}
modprobe -a 9p 9pnet_virtio || fail "cannot load the 9p modules"
share nyxrun /run/nyx-vm || fail "cannot mount the run share"
. /run/nyx-vm/env || fail "no env in the run share"
share nyxsrc "$NYX_SRC" ro || fail "cannot mount the source share at $NYX_SRC"
share nyxbuild "$NYX_BUILD" || fail "cannot mount the build share at $NYX_BUILD"
runner=${NYX_VM_RUNNER:-$NYX_SRC/tests/vm/guest/run-tests.sh}
[ -f "$runner" ] || fail "$runner missing"
bash "$runner" /run/nyx-vm/tests
result $?
EOF
  chmod 0755 "$r/usr/local/sbin/nyx-vm-boot"
  cat >"$r/etc/systemd/system/nyx-vm.service" <<"EOF"
[Unit]
Description=nyx-runtime VM test runner (tests/vm)
After=multi-user.target

[Service]
Type=simple
ExecStart=/usr/local/sbin/nyx-vm-boot
StandardInput=null
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS0
TTYReset=no
TTYVHangup=no
Environment=HOME=/root LANG=C.UTF-8 TERM=dumb
TasksMax=infinity
LimitNOFILE=1048576
LimitNPROC=infinity
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
  chroot "$r" systemctl enable -q nyx-vm.service
  rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/*_Packages
'

# As files, so that mmdebstrap's log names them instead of printing them.
printf '#!/bin/sh\n%s' "$ESSENTIAL_HOOK" >"$TMP/essential-hook"
printf '#!/bin/sh\n%s' "$CUSTOMIZE_HOOK" >"$TMP/customize-hook"
chmod +x "$TMP/essential-hook" "$TMP/customize-hook"
mmdebstrap --mode=root --format=directory --variant=apt --include="$PKGS" \
  --essential-hook="$TMP/essential-hook" --customize-hook="$TMP/customize-hook" \
  bookworm "$TMP/root" \
  "deb $MIRROR/debian bookworm main" \
  "deb $MIRROR/debian bookworm-updates main" \
  "deb $MIRROR/debian-security bookworm-security main" >&2

kernel=$(find "$TMP/root/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -1)
initrd=$(find "$TMP/root/boot" -maxdepth 1 -name 'initrd.img-*' | sort -V | tail -1)
if [ -z "$kernel" ] || [ -z "$initrd" ]; then die "no kernel or initramfs in the image's /boot"; fi
cp "$kernel" "$TMP/vmlinuz"
cp "$initrd" "$TMP/initrd.img"
chroot "$TMP/root" dpkg-query -W -f '${Package} ${Version}\n' >"$TMP/packages.txt"

# The filesystem straight from the directory (mke2fs -d): no loop device, nothing mounted.
truncate -s "$SIZE" "$TMP/root.img"
mkfs.ext4 -q -L nyx-vm-root -d "$TMP/root" "$TMP/root.img"
rm -rf --one-file-system "$TMP/root"

echo "$(date -u +%FT%TZ) $(($(date +%s) - START)) s" >"$TMP/ready"
rm -rf "$DIR"
mv "$TMP" "$DIR"
trap - EXIT
touch "$DIR/used"
prune
echo "vm-image: built in $(($(date +%s) - START)) s: $DIR ($(du -sh "$DIR" | cut -f1) used)" >&2
echo "$DIR"
