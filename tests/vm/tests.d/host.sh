#!/usr/bin/env bash
# The host shape: Debian's 6.1 kernel, systemd as PID 1, cgroup v2 unified with controllers,
# AppArmor enabled. Prints what it sees, then checks it.
# shellcheck disable=SC2317  # the check functions are called through check()
set -uo pipefail
bad=0
check() {
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then echo "  ok   $what"; else echo "  FAIL $what"; bad=1; fi
}
echo "kernel:      $(uname -r) $(uname -v)"
echo "cmdline:     $(cat /proc/cmdline)"
# shellcheck source=/dev/null
echo "os:          $(. /etc/os-release && echo "$PRETTY_NAME") (debian_version $(cat /etc/debian_version))"
echo "cpus:        $(nproc), memory: $(free -m | awk '/^Mem:/ {print $2}') MiB"
echo "lsm:         $(cat /sys/kernel/security/lsm) ($(grep '^CONFIG_LSM=' "/boot/config-$(uname -r)"))"
echo "apparmor:    enabled=$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)," \
  "$(aa-status 2>/dev/null | grep -E 'profiles are (loaded|in enforce mode)' | xargs)"
echo "pid 1:       $(cat /proc/1/comm) ($(readlink /proc/1/exe)), $(systemctl --version | head -1)"
echo "state:       $(systemctl is-system-running 2>&1)"
failed_units=$(systemctl list-units --failed --plain --no-legend | awk '{print $1}' | xargs)
[ -n "$failed_units" ] && echo "failed units: $failed_units"
echo "cgroup fs:   $(findmnt -n -o FSTYPE,OPTIONS /sys/fs/cgroup)"
echo "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "subtree:     $(cat /sys/fs/cgroup/cgroup.subtree_control)"
echo "my cgroup:   $(cat /proc/self/cgroup)"
echo "my label:    $(cat /proc/self/attr/current 2>/dev/null)"
echo "engines:     $(podman --version), $(conmon --version | head -1), $(crun --version | head -1)," \
  "containerd $(containerd --version | cut -d' ' -f3)"
echo "nyx:         $NYX: $("$NYX" --version 2>&1 | head -1)"
echo "nyx says:    $("$NYX" features 2>&1 | jq -c '{cgroup: .linux.cgroup, apparmor: .linux.apparmor}' 2>&1)"

debian_61() { [[ $(uname -r) == 6.1.* ]]; }
systemd_pid1() { [ "$(cat /proc/1/comm)" = systemd ]; }
cgroup2_root() { [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; }
no_v1() { ! awk '$3 == "cgroup" {f = 1} END {exit !f}' /proc/self/mounts; }
check "Debian's 6.1 kernel" debian_61
check "systemd is PID 1" systemd_pid1
check "cgroup2 mounted at /sys/fs/cgroup" cgroup2_root
check "no cgroup v1 hierarchy mounted" no_v1
for c in cpu io memory pids; do
  check "cgroup v2 controller $c" grep -qw "$c" /sys/fs/cgroup/cgroup.controllers
done
check "systemd put this runner in its own cgroup" grep -qx '0::/system.slice/nyx-vm.service' /proc/self/cgroup
check "AppArmor is an active LSM" grep -qw apparmor /sys/kernel/security/lsm
check "AppArmor enabled (module parameter)" grep -qx Y /sys/module/apparmor/parameters/enabled
check "aa-status --enabled" aa-status --enabled
check "apparmor_parser present" command -v apparmor_parser
check "D-Bus system bus up" systemctl is-active dbus.service
check "nyx-runtime runs" "$NYX" --version
exit $bad
