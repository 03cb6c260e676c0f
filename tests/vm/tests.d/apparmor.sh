#!/usr/bin/env bash
# AppArmor as a hardening primitive, on a host that has it (runtime/primitives/apparmor.cpp).
# Loads a small profile with apparmor_parser that allows everything but reading one file, then:
# a container with process.apparmorProfile runs under it in enforce mode (seen from inside and
# from the host's /proc/PID/attr/current) and is denied that read, and the record says applied;
# `exec` inherits the profile and `exec --apparmor` replaces it; --ablate apparmor lets the read
# through; a profile that is not loaded fails with ENOENT and its cause (a warning, a refusal
# under --enforce); `features` and `doctor` agree. Then the AppArmor integration tests and the
# escape matrix's profile-denied-read cells, which need a host with AppArmor to mean anything.
# shellcheck disable=SC2317  # the check functions are called through check()
set -uo pipefail
bad=0
check() {
  local what=$1
  shift
  if "$@"; then echo "  ok   $what"; else echo "  FAIL $what"; bad=1; fi
}
eq() { [ "$1" = "$2" ] || { echo "       got '$1', want '$2'"; return 1; }; }
has() { grep -q -- "$2" <<<"$1" || { echo "       '$2' not in: $(head -5 <<<"$1")"; return 1; }; }
show() { while IFS= read -r l; do echo "   | $l"; done <<<"$1"; }

PROFILE=nyx-vm-deny-read
echo "apparmor: enabled=$(cat /sys/module/apparmor/parameters/enabled), $(apparmor_parser --version | head -1)"
cat >"$PROFILE.profile" <<EOF
profile $PROFILE flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  ptrace,
  unix,
  mount,
  umount,
  pivot_root,
  deny /etc/nyx-denied r,
}
EOF
check "apparmor_parser loads $PROFILE" apparmor_parser --replace --skip-cache "$PROFILE.profile"
check "$PROFILE is in the kernel's list" grep -q "^$PROFILE (enforce)" /sys/kernel/security/apparmor/profiles

bash "$NYX_SRC/examples/make-rootfs.sh" b/rootfs >/dev/null || exit 1
echo secret >b/rootfs/etc/nyx-denied
chmod 0644 b/rootfs/etc/nyx-denied
"$NYX" spec --bundle b -- /bin/sh -c \
  'cat /proc/self/attr/current; cat /etc/nyx-denied >/dev/null 2>&1 && echo READ || echo DENIED; ls /proc/self/fd | wc -l' ||
  exit 1
jq --arg p "$PROFILE" '.process.apparmorProfile = $p' b/config.json >b/c.json && mv b/c.json b/config.json

echo "== run with apparmorProfile $PROFILE"
out=$(timeout 120 "$NYX" run --report run.json b 2>&1)
show "$out"
jq -c '.hardening | {level, apparmor: .primitives.apparmor}' run.json
check "the harness runs under $PROFILE in enforce mode" eq "$(sed -n 1p <<<"$out")" "$PROFILE (enforce)"
check "the read the profile denies is denied" eq "$(sed -n 2p <<<"$out")" DENIED
# stdin, stdout, stderr and the fd ls opens: the runtime's /proc fd never reaches the harness.
check "no fd of the runtime's reaches the harness" eq "$(sed -n 3p <<<"$out")" 4
check "the record says applied" eq "$(jq -r .hardening.primitives.apparmor.status run.json)" applied
check "the record names the profile" eq "$(jq -r .hardening.primitives.apparmor.profile run.json)" "$PROFILE"
check "the level is full" eq "$(jq -r .hardening.level run.json)" full

echo "== --ablate apparmor"
out=$(timeout 120 "$NYX" run --ablate apparmor --report ablated.json b 2>&1)
show "$out"
check "ablated: unconfined" eq "$(sed -n 1p <<<"$out")" unconfined
check "ablated: the read goes through" eq "$(sed -n 2p <<<"$out")" READ
check "ablated: recorded" eq "$(jq -cS .hardening.primitives.apparmor ablated.json)" \
  "{\"ablated\":true,\"profile\":\"$PROFILE\",\"status\":\"skipped\"}"

echo "== exec"
jq '.process.args = ["/bin/sleep", "300"]' b/config.json >b/c.json && mv b/c.json b/config.json
"$NYX" run --detach --bundle b aa-exec >/dev/null 2>&1 || { echo "  FAIL run --detach"; bad=1; }
pid=$("$NYX" state aa-exec | jq -r .pid)
check "the init's label, read from the host" eq "$(cat "/proc/$pid/attr/current")" "$PROFILE (enforce)"
check "exec inherits the profile" eq "$("$NYX" exec aa-exec cat /proc/self/attr/current 2>&1)" "$PROFILE (enforce)"
check "exec is denied the read too" has "$("$NYX" exec aa-exec cat /etc/nyx-denied 2>&1)" "Permission denied"
check "exec --apparmor unconfined replaces it" eq \
  "$("$NYX" exec --apparmor unconfined aa-exec cat /proc/self/attr/current 2>&1)" unconfined
"$NYX" state aa-exec | jq -c '[.hardening.execs[] | .primitives.apparmor]'
check "the execs' records" eq "$("$NYX" state aa-exec | jq -c '[.hardening.execs[] | .primitives.apparmor | [.status, .profile]]')" \
  "[[\"applied\",\"$PROFILE\"],[\"applied\",\"$PROFILE\"],[\"applied\",\"unconfined\"]]"
"$NYX" delete --force aa-exec

echo "== a profile that is not loaded"
jq '.process.apparmorProfile = "nyx-vm-not-loaded" | .process.args = ["/bin/true"]' b/config.json >b/c.json &&
  mv b/c.json b/config.json
out=$(timeout 120 "$NYX" run --report missing.json b 2>&1)
rc=$?
show "$out"
jq -c .hardening.primitives.apparmor missing.json
check "best-effort: the harness runs" eq "$rc" 0
check "best-effort: a warning names the cause" has "$out" "apparmor: failed: ENOENT.*apparmor_profile_missing"
check "recorded failed with ENOENT and its cause" eq \
  "$(jq -c '.hardening.primitives.apparmor | [.status, .error, .cause.code]' missing.json)" \
  '["failed","ENOENT","apparmor_profile_missing"]'
out=$(timeout 120 "$NYX" run --enforce --bundle b aa-enforce 2>&1)
rc=$?
show "$out"
check "--enforce refuses" eq "$rc" 1
check "--enforce names the cause" has "$out" "apparmor_profile_missing"
check "--enforce leaves nothing" eq "$("$NYX" list 2>/dev/null | grep -c aa-enforce)" 0

echo "== features, doctor"
check "features: apparmor enabled" eq "$("$NYX" features | jq -c .linux.apparmor)" '{"enabled":true}'
jq --arg p "$PROFILE" '.process.apparmorProfile = $p' b/config.json >b/c.json && mv b/c.json b/config.json
check "doctor: will apply" eq "$("$NYX" doctor --bundle b --format json | jq -r .primitives.apparmor.verdict)" "will apply"

echo "== integration tests (AppArmor.*)"
"$NYX_BUILD/tests/nyx-integration-tests" --gtest_filter='AppArmor.*' --gtest_color=no 2>&1 | tail -15
rc=${PIPESTATUS[0]}
check "AppArmor.* integration tests" eq "$rc" 0

echo "== escape matrix: profile-denied-read"
"$NYX_BUILD/tests/escape/nyx-escape-matrix" --only apparmor 2>&1 | tail -6
rc=${PIPESTATUS[0]}
check "profile-denied-read: blocked, and escaped once ablated" eq "$rc" 0

apparmor_parser --remove "$PROFILE.profile" >/dev/null 2>&1
exit $bad
