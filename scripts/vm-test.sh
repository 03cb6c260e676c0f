#!/usr/bin/env bash
# Runs nyx-runtime tests inside a Debian 12 VM with the host shape users have: Debian's 6.1
# kernel, systemd as PID 1, cgroup v2 unified, AppArmor (docs/hosts.md). As root:
#   scripts/vm-test.sh [TEST...]
# TEST: NAME (tests/vm/tests.d/NAME.sh), cmd:SHELL-COMMAND, or xfail:TEST (expected to fail
# today: reported, not counted). Default (what CI runs): host nyx-run cgroups rootless-systemd apparmor podman-systemd.
# Installs its Debian packages (qemu, mmdebstrap), builds nyx into build/ when it is not
# there, builds the VM image once (tests/vm/image.sh, cached in /var/cache/nyx-vm), boots it
# under qemu (TCG: no KVM needed) with the source tree and the build directory shared over 9p
# at the same paths, and reads the result from the serial console. Exit status 0 only when
# the guest ran every test and none failed; a guest that does not boot, hangs or never
# reports is a failure.
# Env: NYX_VM_BUILD (build dir, default build), NYX_VM_TIMEOUT (s, whole VM, default 2400),
# NYX_VM_TEST_TIMEOUT (s, per test, default 1200), NYX_VM_CPUS (2), NYX_VM_MEM (MiB, 2048),
# NYX_VM_ACCEL (tcg; kvm or auto to use /dev/kvm), NYX_VM_CACHE (/var/cache/nyx-vm),
# NYX_VM_REBUILD=1 (rebuild the image), NYX_VM_LOG (serial log, default BUILD/vm-test/serial.log),
# NYX_VM_APPEND (more kernel command line), NYX_VM_CPU (qemu -cpu under TCG, default max).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
export DEBIAN_FRONTEND=noninteractive

die() { echo "vm-test: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"

pkgs=(qemu-system-x86 qemu-utils mmdebstrap e2fsprogs)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -z "${NYX_VM_BUILD:-}" ] && [ ! -x build/nyx-runtime ]; then
  scripts/deps.sh
  scripts/build.sh
fi
BUILD=$(readlink -f "${NYX_VM_BUILD:-build}")
[ -x "$BUILD/nyx-runtime" ] || die "$BUILD/nyx-runtime missing (scripts/build.sh builds it)"
[ -f "$BUILD/CTestTestfile.cmake" ] || die "$BUILD is not a CMake build directory"

TESTS=("$@")
[ ${#TESTS[@]} -gt 0 ] || TESTS=(host nyx-run cgroups rootless-systemd apparmor podman-systemd)
TIMEOUT=${NYX_VM_TIMEOUT:-2400}
CPUS=${NYX_VM_CPUS:-2}
MEM=${NYX_VM_MEM:-2048}
ACCEL=${NYX_VM_ACCEL:-tcg}
LOG=${NYX_VM_LOG:-$BUILD/vm-test/serial.log}
[ "$ACCEL" = auto ] && { [ -w /dev/kvm ] && ACCEL=kvm || ACCEL=tcg; }

START=$(date +%s)
IMG=$(tests/vm/image.sh)
IMG_READY=$(date +%s)
echo "vm-test: image $IMG ready in $((IMG_READY - START)) s"

T=$(mktemp -d /tmp/nyx-vm.XXXXXX)
QPID=
TPID=
cleanup() {
  set +e
  [ -n "$QPID" ] && kill -KILL "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
  [ -n "$TPID" ] && kill "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The run share: what the guest's nyx-vm-boot sources, the test list, and a copy of tests/vm
# (the runner and tests.d) taken now, so that editing a test during a run changes nothing.
mkdir -p "$T/run"
cp -r tests/vm "$T/run/vm"
{
  printf 'export NYX_SRC=%q NYX_BUILD=%q\n' "$SRC" "$BUILD"
  printf 'export NYX_VM_RUNNER=/run/nyx-vm/vm/guest/run-tests.sh\n'
  printf 'export NYX_VM_TEST_TIMEOUT=%q\n' "${NYX_VM_TEST_TIMEOUT:-1200}"
} >"$T/run/env"
printf '%s\n' "${TESTS[@]}" >"$T/run/tests"
# The cached image stays untouched: the guest writes to a throwaway qcow2 overlay.
qemu-img create -q -f qcow2 -b "$IMG/root.img" -F raw "$T/disk.qcow2"
mkdir -p "$(dirname "$LOG")"
: >"$LOG"

CPU=${NYX_VM_CPU:-max}
[ "$ACCEL" = kvm ] && CPU=host
APPEND="root=/dev/vda rw rootfstype=ext4 console=ttyS0,115200 panic=1 fsck.mode=skip"
# Debian's defaults, said explicitly: cgroup v2 only, AppArmor on. Not security=apparmor: the
# kernel's CONFIG_LSM already has AppArmor (CONFIG_DEFAULT_SECURITY_APPARMOR=y), and
# security= would drop tomoyo from the LSM list a stock Debian 12 boots with.
APPEND+=" systemd.unified_cgroup_hierarchy=1 apparmor=1"
# Emulated CPUs: speculation mitigations (page-table isolation above all) only cost time here.
APPEND+=" mitigations=off loglevel=4 systemd.show_status=auto net.ifnames=0"
APPEND+=${NYX_VM_APPEND:+ $NYX_VM_APPEND}
# shellcheck disable=SC2054  # qemu's own option syntax separates with commas
QEMU=(qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot
  -machine q35 -accel "$ACCEL" -cpu "$CPU" -smp "$CPUS" -m "$MEM"
  -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" -append "$APPEND"
  -serial "file:$LOG"
  -drive "if=none,id=root,file=$T/disk.qcow2,format=qcow2,cache=unsafe"
  -device virtio-blk-pci,drive=root
  -device virtio-rng-pci
  -fsdev "local,id=run,path=$T/run,security_model=none"
  -device virtio-9p-pci,fsdev=run,mount_tag=nyxrun
  -fsdev "local,id=src,path=$SRC,security_model=passthrough,readonly=on"
  -device virtio-9p-pci,fsdev=src,mount_tag=nyxsrc
  -fsdev "local,id=build,path=$BUILD,security_model=passthrough"
  -device virtio-9p-pci,fsdev=build,mount_tag=nyxbuild)
echo "vm-test: booting ($ACCEL, $CPUS cpus, $MEM MiB), tests: ${TESTS[*]}"
echo "vm-test: serial log $LOG"
"${QEMU[@]}" </dev/null >"$T/qemu.out" 2>&1 &
QPID=$!
tail -n +1 -f --pid="$QPID" "$LOG" &
TPID=$!

# Wait for qemu to exit (the guest powers off after its result line), the hard timeout, or
# a boot that cannot go on (panic, emergency shell): those are stopped at once.
why=
runner_at=
while kill -0 "$QPID" 2>/dev/null; do
  now=$(date +%s)
  if [ $((now - IMG_READY)) -ge "$TIMEOUT" ]; then
    why="timed out after $TIMEOUT s"
    break
  fi
  if [ -z "$runner_at" ] && grep -q 'NYX-VM-RUNNER:' "$LOG"; then
    runner_at=$now
  fi
  if [ -z "$runner_at" ] && grep -Eq 'Kernel panic|You are in (emergency|rescue) mode|Press Enter for maintenance|Give root password for maintenance|Dropping to a shell|\(initramfs\) ' "$LOG"; then
    why="the guest could not boot"
    sleep 2
    break
  fi
  sleep 1
done
if [ -n "$why" ]; then
  kill -KILL "$QPID" 2>/dev/null || true
fi
qrc=0
wait "$QPID" 2>/dev/null || qrc=$?
QPID=
sleep 0.5
kill "$TPID" 2>/dev/null || true
wait "$TPID" 2>/dev/null || true
TPID=
END=$(date +%s)
[ -z "$runner_at" ] && grep -q 'NYX-VM-RUNNER:' "$LOG" && runner_at=$END

clean=$(tr -d '\r' <"$LOG")
result=$(grep -Eo '^NYX-VM-RESULT: [0-9]+' <<<"$clean" | tail -1 | cut -d' ' -f2 || true)
echo
echo "vm-test: ---- results ----"
grep -E '^NYX-VM-(PASS|FAIL|XFAIL|XPASS|SUMMARY|ERROR):' <<<"$clean" | sed 's/^NYX-VM-/  /' || true
timing="image $((IMG_READY - START)) s"
[ -n "$runner_at" ] && timing+=", boot to runner $((runner_at - IMG_READY)) s"
timing+=", total $((END - START)) s"
if [ -s "$T/qemu.out" ]; then
  grep -v -e 'TCG doesn.t support requested feature' "$T/qemu.out" | sed 's/^/vm-test: qemu: /' >&2 || true
fi
if [ -z "$result" ]; then
  if [ -n "$why" ]; then :
  elif [ -n "$runner_at" ]; then why="the runner never reported a result (qemu exit $qrc)"
  else why="the guest never reached the runner (qemu exit $qrc)"
  fi
  echo "vm-test: FAIL: $why; the last lines of $LOG:" >&2
  tail -n 30 <<<"$clean" | sed 's/^/  | /' >&2
  echo "vm-test: $timing" >&2
  exit 1
fi
echo "vm-test: $timing"
if [ "$result" != 0 ]; then
  echo "vm-test: FAIL: $result test(s) failed in the VM" >&2
  exit 1
fi
echo "vm-test: all passed"
