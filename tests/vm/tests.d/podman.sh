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
    sed 's/^/       /' <<<"$out" | head -30
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
# What podman asked for (AppArmor profile, cgroup) against what the process got.
step "nyx: run -d" '^[0-9a-f]{64}$' "${P[@]}" --runtime "$NYX" run -d --name vm1 --network none \
  localhost/nyxbox:latest sleep 300
if "${P[@]}" container exists vm1 2>/dev/null; then
  pid=$("${P[@]}" inspect --format '{{.State.Pid}}' vm1 2>/dev/null)
  cid=$("${P[@]}" inspect --format '{{.Id}}' vm1 2>/dev/null)
  echo "  podman asked: apparmor=$("${P[@]}" inspect --format '{{.AppArmorProfile}}' vm1 2>/dev/null)"
  echo "  process $pid: cgroup $(cat "/proc/$pid/cgroup" 2>/dev/null), label $(cat "/proc/$pid/attr/current" 2>/dev/null)"
  [ -n "$cid" ] && "$NYX" state "$cid" 2>&1 | jq -c '{status, cgroup: (.hardening.cgroups // .hardening.cgroup // null), apparmor: (.hardening.apparmor // null)}' 2>&1 | head -5
  step "nyx: exec" '^ok$' "${P[@]}" exec vm1 echo ok
  step "nyx: rm -f" 'vm1' "${P[@]}" rm -f -t 0 vm1
fi
"${P[@]}" rm -af -t 0 >/dev/null 2>&1
exit $bad
