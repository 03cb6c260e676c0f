#!/usr/bin/env bash
# podman with nyx-runtime as its runtime (--runtime PATH), on a busybox image imported from a
# tarball (no registry), in podman's default storage (the VM is thrown away). First crun, the
# runtime Debian's podman comes with, as the control: if it fails, the image is at fault, not
# nyx. The cgroup manager is PODMAN_CGROUP_MANAGER (cgroupfs here; podman-systemd.sh runs
# it with systemd, podman's default on such hosts).
set -uo pipefail
CM=${PODMAN_CGROUP_MANAGER:-cgroupfs}
bad=0
step() {
  local name=$1 want=$2
  shift 2
  local out rc
  out=$(timeout 120 "$@" 2>&1)
  rc=$?
  if [ "$rc" = 0 ] && grep -Eq -- "$want" <<<"$out"; then
    echo "  ok   $name"
  else
    echo "  FAIL $name (exit $rc)"
    head -30 <<<"$out" | sed 's/^/       /'
    bad=1
  fi
}
bash "$NYX_SRC/examples/make-rootfs.sh" rootfs >/dev/null || exit 1
tar --numeric-owner -C rootfs -cf rootfs.tar . || exit 1
P=(podman --cgroup-manager "$CM")
echo "podman $(podman --version | cut -d' ' -f3), cgroup manager $CM, $(podman info --format '{{.Host.CgroupsVersion}}') cgroups"
step "podman import" '[0-9a-f]{64}' "${P[@]}" import rootfs.tar localhost/nyxbox:latest
R=(run --rm --network none localhost/nyxbox:latest)
step "crun (control): run echo" '^hi$' "${P[@]}" --runtime crun "${R[@]}" echo hi
step "nyx: run echo" '^hi$' "${P[@]}" --runtime "$NYX" "${R[@]}" echo hi
step "nyx: run exit code 7" '' bash -c "${P[*]} --runtime $NYX ${R[*]} sh -c 'exit 7'; [ \$? = 7 ]"
step "nyx: --memory 64m seen inside" '^67108864$' "${P[@]}" --runtime "$NYX" run --rm --network none \
  --memory 64m localhost/nyxbox:latest cat /sys/fs/cgroup/memory.max
step "nyx: --pids-limit 33 seen inside" '^33$' "${P[@]}" --runtime "$NYX" run --rm --network none \
  --pids-limit 33 localhost/nyxbox:latest cat /sys/fs/cgroup/pids.max
# What podman asked for (AppArmor profile, cgroup) against what the process got, and what
# nyx's state record says. crun first: it shows the checks hold for a runtime that does both.
agree() {
  local who=$1 rt=$2 c=vm-$1
  step "$who: run -d" '^[0-9a-f]{64}$' "${P[@]}" --runtime "$rt" run -d --name "$c" --network none \
    localhost/nyxbox:latest sleep 300
  "${P[@]}" container exists "$c" 2>/dev/null || return
  local pid cid profile want
  pid=$("${P[@]}" inspect --format '{{.State.Pid}}' "$c")
  cid=$("${P[@]}" inspect --format '{{.Id}}' "$c")
  profile=$("${P[@]}" inspect --format '{{.AppArmorProfile}}' "$c")
  # The cgroup podman gives the runtime in cgroupsPath (podman's own CgroupPath is read back
  # from the process, so it cannot tell): cgroupfs "/libpod_parent/libpod-ID", systemd
  # "machine.slice:libpod:ID", the scope machine.slice/libpod-ID.scope (crun puts the
  # process in a "container" leaf below it).
  want=/libpod_parent/libpod-$cid
  [ "$CM" = systemd ] && want=/machine.slice/libpod-$cid.scope
  echo "  $who: podman asked for AppArmor profile '$profile', cgroup '$want'"
  echo "  $who: process $pid is in cgroup '$(cut -d: -f3 "/proc/$pid/cgroup")', label '$(cat "/proc/$pid/attr/current")'"
  [ "$who" = nyx ] && echo "  nyx: state record: $("$NYX" state "$cid" 2>&1 |
    jq -c '{status, cgroups: .hardening.primitives.cgroups, apparmor: .hardening.primitives.apparmor}' 2>&1)"
  step "$who: exec" '^ok$' "${P[@]}" exec "$c" echo ok
  step "$who: the process runs under podman's AppArmor profile" "^$profile " cat "/proc/$pid/attr/current"
  step "$who: the process is in podman's cgroup" "^0::$want(/[^/]+)?\$" cat "/proc/$pid/cgroup"
  [ "$who" = nyx ] && step "nyx: the state record says the cgroup was applied" '^"applied"$' \
    bash -c "$NYX state $cid | jq .hardening.primitives.cgroups.status"
  [ "$who" = nyx ] && step "nyx: the state record says podman's AppArmor profile was applied" \
    "^\\[\"applied\",\"$profile\"\\]\$" \
    bash -c "$NYX state $cid | jq -c '.hardening.primitives.apparmor | [.status, .profile]'"
  [ "$who" = nyx ] && step "nyx: exec runs under podman's AppArmor profile" "^$profile " \
    "${P[@]}" exec "$c" cat /proc/self/attr/current
  step "$who: rm -f" "$c" "${P[@]}" rm -f -t 0 "$c"
}
agree crun crun
agree nyx "$NYX"
"${P[@]}" rm -af -t 0 >/dev/null 2>&1
exit $bad
