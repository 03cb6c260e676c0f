#!/usr/bin/env bash
# Rootless nyx-runtime in the cgroup systemd delegated to a user: with --systemd-cgroup a
# non-root runtime asks the user's own manager (user@UID.service) for the scope, over the
# user's D-Bus; the scope lands below user@UID.service, the limits apply there, and delete
# stops it. The user is made here (the VM is thrown away), with lingering so its manager runs.
set -uo pipefail
u=nyxrl
id -u "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u" || exit 1
uid=$(id -u "$u")
loginctl enable-linger "$u" || exit 1
for _ in $(seq 90); do [ -S "/run/user/$uid/bus" ] && break; sleep 1; done
[ -S "/run/user/$uid/bus" ] || { echo "FAIL: user@$uid.service never opened its bus"; exit 1; }
svc=/sys/fs/cgroup/user.slice/user-$uid.slice/user@$uid.service
echo "user@$uid.service: controllers $(cat "$svc/cgroup.controllers")"
work=/home/$u/nyx
rm -rf "$work"
mkdir -p "$work/b"
bash "$NYX_SRC/examples/make-rootfs.sh" "$work/b/rootfs" >/dev/null || exit 1
install -m 0755 "$NYX_BUILD/tests/nyx-probe" "$work/b/rootfs/bin/nyx-probe"
chown -R "$u:" "$work"
# The user runs its own copy of the runtime and its systemd helper, owned by root: the build
# directory may sit where the user cannot enter (a clone under /root, mode 0700).
bin=/usr/local/lib/nyx-rootless-test
install -d -m 0755 "$bin" || exit 1
install -m 0755 "$NYX_BUILD/nyx-runtime" "$NYX_BUILD/nyx-systemd" "$bin/" || exit 1
NYX=$bin/nyx-runtime
as_user() {
  runuser -u "$u" -- env XDG_RUNTIME_DIR="/run/user/$uid" \
    DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" "$@"
}
R=(--root "/run/user/$uid/nyx" --systemd-cgroup)
bad=0
check() {
  local what=$1 want=$2 got=$3
  if [ "$got" = "$want" ]; then echo "  ok   $what"; else echo "  FAIL $what: want '$want', got '$got'"; bad=1; fi
}
as_user "$NYX" spec --rootless --bundle "$work/b" -- /bin/nyx-probe sleep 60 || exit 1
as_user sh -c "jq '.linux.cgroupsPath = \"app.slice:nyx:rl\" | .linux.resources = {\"memory\": {\"limit\": 67108864}, \"pids\": {\"limit\": 20}}' $work/b/config.json > $work/b/c.json && mv $work/b/c.json $work/b/config.json" || exit 1
# The container keeps the stdio it is given: not this script's pipe.
as_user "$NYX" "${R[@]}" run -d --bundle "$work/b" rl </dev/null >/dev/null 2>"$work/err"
rc=$?
cat "$work/err"
check "rootless run -d --systemd-cgroup" 0 "$rc"
[ "$rc" = 0 ] || exit 1
pid=$(as_user "$NYX" "${R[@]}" state rl | jq .pid)
scope=$svc/app.slice/nyx-rl.scope
check "the init is in the user's scope" "0::${scope#/sys/fs/cgroup}" "$(cat "/proc/$pid/cgroup")"
check "memory.max" 67108864 "$(cat "$scope/memory.max" 2>&1)"
check "pids.max" 20 "$(cat "$scope/pids.max" 2>&1)"
check "the unit in the user's manager" active \
  "$(as_user systemctl --user show -p ActiveState --value nyx-rl.scope)"
check "the record" '"systemd v2 nyx-rl.scope"' \
  "$(as_user "$NYX" "${R[@]}" state rl | jq -c '.hardening.primitives.cgroups | "\(.driver) \(.version) \(.unit)"')"
as_user "$NYX" "${R[@]}" update --memory 32M rl
check "update as the user" 33554432 "$(cat "$scope/memory.max" 2>&1)"
as_user "$NYX" "${R[@]}" delete --force rl
check "delete stops the scope" no "$([ -d "$scope" ] && echo yes || echo no)"
exit $bad
