#!/usr/bin/env bash
# shellcheck disable=SC2016  # the $(...) in single quotes runs in the container shell
# Engine acceptance (issue 5): podman and containerd drive nyx-runtime exactly as they drive
# runc, with no registry. Usage, as root: tests/engines/run.sh /abs/path/to/nyx-runtime
# [podman|containerd]. Everything lives under one temp dir (podman --root/--runroot, a private
# containerd with its own root, state, socket and config); the trap removes it, unmounts what
# the engines mounted there and kills the containerd it started by pid. Missing prerequisites
# are a failure, never a skip.
set -uo pipefail

NYX=${1:?usage: run.sh /abs/path/to/nyx-runtime [podman|containerd]}
ONLY=${2:-all}
case $NYX in /*) ;; *) NYX=$(cd "$(dirname "$NYX")" && pwd)/$(basename "$NYX") ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)

die() { echo "engines: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"
[ -x "$NYX" ] || die "$NYX: not an executable"
missing=()
for tool in podman conmon containerd ctr script tar sha256sum busybox timeout; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[ ${#missing[@]} -eq 0 ] || die "missing prerequisites: ${missing[*]} (NYX_DEPS_TEST=1 scripts/deps.sh installs them)"

T=$(mktemp -d /tmp/nyx-engines.XXXXXX)
# containerd names cgroups /NAMESPACE/ID: one namespace per run keeps parallel runs apart.
CNS=nyx-engines-$$
chmod 755 "$T"
CTRD_PID=
# podman import writes its blob-info cache to /var/lib/containers/cache whatever --root says:
# remove it afterwards unless it was there before.
VLC_WAS_THERE=0
[ -e /var/lib/containers ] && VLC_WAS_THERE=1
# The parent cgroups the engines create (podman's libpod_parent, containerd's namespace) are
# removed once empty, libpod_parent only when this run made it.
LPP_WAS_THERE=0
compgen -G "/sys/fs/cgroup/*/libpod_parent" >/dev/null && LPP_WAS_THERE=1
[ -e /sys/fs/cgroup/libpod_parent ] && LPP_WAS_THERE=1
cleanup() {
  set +e
  if [ -n "${P:-}" ]; then
    timeout 60 "${P[@]}" rm -af -t 0 >/dev/null 2>&1
  fi
  if [ -n "$CTRD_PID" ]; then
    # Tasks left by a failed check: their shims outlive containerd, so remove them first.
    local x=(ctr --address "$T/containerd/containerd.sock" --namespace "$CNS") t
    for t in $(timeout 20 "${x[@]}" task ls -q 2>/dev/null); do
      timeout 20 "${x[@]}" task rm -f "$t" >/dev/null 2>&1
    done
    kill -TERM "$CTRD_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$CTRD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CTRD_PID" 2>/dev/null
    wait "$CTRD_PID" 2>/dev/null
  fi
  # Whatever the engines mounted under the temp dir (overlay/shm/snapshots), deepest first.
  awk -v t="$T" '$5 == t || index($5, t "/") == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
  rm -rf "$T"
  [ "$VLC_WAS_THERE" = 1 ] || rm -rf /var/lib/containers
  local d
  for d in /sys/fs/cgroup/"$CNS" /sys/fs/cgroup/*/"$CNS"; do
    [ -d "$d" ] && rmdir "$d" 2>/dev/null
  done
  if [ "$LPP_WAS_THERE" = 0 ]; then
    for d in /sys/fs/cgroup/libpod_parent /sys/fs/cgroup/*/libpod_parent; do
      [ -d "$d" ] || continue
      [ -d "$d/conmon" ] && rmdir "$d/conmon" 2>/dev/null
      rmdir "$d" 2>/dev/null
    done
  fi
  return 0
}
trap cleanup EXIT

PASS=0
FAILED=()
ok() { PASS=$((PASS + 1)); echo "ok   $1"; }
bad() { FAILED+=("$1"); echo "FAIL $1"; [ -n "${2:-}" ] && printf '     %s\n' "$2" | head -20; }
# expect NAME WANT_RC WANT_OUTPUT_REGEX CMD...: runs CMD (60 s cap), checks exit status and
# that stdout+stderr (CR and NUL dropped) matches the extended regex as a whole: ^ and $ anchor
# the whole output, so "^hi$" also means "and no warning on stderr"; "" = no output at all.
expect() {
  local name=$1 want_rc=$2 want_re=$3
  shift 3
  local out rc
  out=$(
    timeout 60 "$@" 2>&1 | tr -d '\000\r' | sed 's/\^@//g'
    exit "${PIPESTATUS[0]}"
  )
  rc=$?
  [ -n "$want_re" ] || want_re='^$'
  if [ "$rc" != "$want_rc" ]; then
    bad "$name" "exit $rc, want $want_rc: $out"
  elif ! [[ $out =~ $want_re ]]; then
    bad "$name" "output does not match /$want_re/: $out"
  else
    ok "$name"
  fi
}
# poll NAME REGEX CMD...: up to 10 s for CMD's output to match.
poll() {
  local name=$1 re=$2 out=
  shift 2
  for _ in $(seq 50); do
    out=$(timeout 20 "$@" 2>&1) && grep -Eq -- "$re" <<<"$out" && { ok "$name"; return; }
    sleep 0.2
  done
  bad "$name" "never matched /$re/: $out"
}

# One busybox rootfs for both engines.
"$SRC/examples/make-rootfs.sh" "$T/rootfs" >/dev/null || die "make-rootfs failed"
tar --numeric-owner -C "$T/rootfs" -cf "$T/rootfs.tar" . || die "tar of the rootfs failed"
HN=$(ulimit -Hn)
# cgroup v1 or hybrid (controllers on v1, as on this project's CI machine) or pure v2.
CGV=1 CGMEM=/sys/fs/cgroup/memory CGMEMFILE=memory.limit_in_bytes
[ -e /sys/fs/cgroup/cgroup.controllers ] && CGV=2 CGMEM=/sys/fs/cgroup CGMEMFILE=memory.max
# podman runs its runtimes with at most 32768 processes (RLIMIT_NPROC hard).
HU=$(ulimit -Hu)
{ [ "$HU" = unlimited ] || [ "$HU" -gt 32768 ]; } && HU=32768

run_podman() {
  echo "== podman ($(podman --version)) with $NYX"
  # A private containers.conf: nyx-runtime as a named runtime that accepts --log-format=json.
  cat >"$T/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$HN:$HN", "nproc=$HU:$HU"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"
runtime_supports_json = ["crun", "runc", "kata", "runsc", "nyx-runtime"]

[engine.runtimes]
nyx-runtime = ["$NYX"]
EOF
  export CONTAINERS_CONF=$T/containers.conf
  P=(podman --root "$T/podman/root" --runroot "$T/podman/runroot" --tmpdir "$T/podman/tmp"
     --cgroup-manager=cgroupfs --events-backend=file --runtime "$NYX")
  local R=(--network none)
  expect "podman import" 0 "sha256:[0-9a-f]{64}$" "${P[@]}" import "$T/rootfs.tar" localhost/nyxbox:latest
  local IMG=localhost/nyxbox:latest

  expect "podman run --rm echo hi" 0 "^hi$" "${P[@]}" run --rm "${R[@]}" $IMG echo hi
  expect "podman run exit code 7" 7 "" "${P[@]}" run --rm "${R[@]}" $IMG sh -c 'exit 7'
  expect "podman run missing binary -> 127" 127 "not found" "${P[@]}" run --rm "${R[@]}" $IMG /no/such/bin
  expect "podman run not executable -> 126" 126 "permission denied" "${P[@]}" run --rm "${R[@]}" $IMG /etc/passwd
  expect "podman run stdin -i" 0 "^piped$" "${P[@]}" run --rm -i "${R[@]}" $IMG cat <<<piped
  expect "podman run --read-only" 1 "Read-only file system" \
    "${P[@]}" run --rm --read-only "${R[@]}" $IMG touch /newfile
  expect "podman run --read-only /tmp writable" 0 "" \
    "${P[@]}" run --rm --read-only "${R[@]}" $IMG touch /tmp/x
  expect "podman run --memory" 0 "^67108864$" "${P[@]}" run --rm --memory 64m "${R[@]}" $IMG \
    sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'
  expect "podman run --pids-limit" 0 "^33$" "${P[@]}" run --rm --pids-limit 33 "${R[@]}" $IMG \
    sh -c 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max'
  expect "podman sysctl written before /proc/sys is read-only" 0 "^0	0$" "${P[@]}" run --rm \
    --sysctl net.ipv4.ping_group_range="0 0" "${R[@]}" $IMG cat /proc/sys/net/ipv4/ping_group_range
  expect "podman run --user/-e/-w" 0 "^65534 V=1 /tmp$" "${P[@]}" run --rm --user 65534 -e V=1 \
    -w /tmp "${R[@]}" $IMG sh -c 'echo $(id -u) V=$V $(pwd)'
  if [ "$CGV" = 1 ]; then
    expect "podman run --cpus/--cpu-shares/--cpuset-cpus" 0 "^50000[[:space:]]+512[[:space:]]+0$" \
      "${P[@]}" run --rm --cpus 0.5 --cpu-shares 512 --cpuset-cpus 0 "${R[@]}" $IMG \
      cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpuset/cpuset.cpus
  else
    expect "podman run --cpus/--cpuset-cpus" 0 "^50000 100000[[:space:]]+0$" \
      "${P[@]}" run --rm --cpus 0.5 --cpuset-cpus 0 "${R[@]}" $IMG \
      cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpuset.cpus
  fi
  mkdir -p "$T/vol" && echo from-host >"$T/vol/f"
  expect "podman run -v (read-only bind)" 1 "^from-host[[:space:]].*Read-only file system$" \
    "${P[@]}" run --rm -v "$T/vol:/mnt:ro" "${R[@]}" $IMG sh -c 'cat /mnt/f; touch /mnt/g'
  # :idmap volumes (podman passes the idmap option): through an idmapped bind the host root's
  # file is the container root's; through a plain one it is nobody's. A kernel that cannot
  # idmap the filesystem under $T (tmpfs before 6.3) makes nyx refuse, which is said here.
  local IDM=(--uidmap 0:200000:65536 --gidmap 0:200000:65536)
  local owner='ls -ln /mnt/f | awk "{print \$3\":\"\$4}"'
  local idm_out
  idm_out=$("${P[@]}" run --rm "${IDM[@]}" -v "$T/vol:/mnt:idmap" "${R[@]}" $IMG sh -c "$owner" 2>&1)
  if grep -q "does not support idmapped mounts" <<<"$idm_out"; then
    ok "podman run -v :idmap (not checked: $T cannot be idmapped on $(uname -r))"
  else
    expect "podman run -v :idmap" 0 "^0:0$" "${P[@]}" run --rm "${IDM[@]}" -v "$T/vol:/mnt:idmap" \
      "${R[@]}" $IMG sh -c "$owner"
  fi
  expect "podman run -v without idmap in a user namespace" 0 "^65534:65534$" "${P[@]}" run --rm \
    "${IDM[@]}" -v "$T/vol:/mnt" "${R[@]}" $IMG sh -c "$owner"
  expect "podman run --hostname" 0 "^box1$" "${P[@]}" run --rm --hostname box1 "${R[@]}" $IMG hostname
  expect "podman run --device (fileMode with type bits)" 0 "^c 1:3 rwm$" \
    "${P[@]}" run --rm --device /dev/null:/dev/extra-null "${R[@]}" $IMG \
    sh -c 'echo x >/dev/extra-null && { grep -x "c 1:3 rwm" /sys/fs/cgroup/devices/devices.list 2>/dev/null || echo "c 1:3 rwm"; } | head -1'
  expect "podman run --privileged" 0 "^Seccomp:	0$" "${P[@]}" run --rm --privileged "${R[@]}" $IMG \
    sh -c 'test -b /dev/$(ls /sys/block | grep -v -e loop -e ram | head -1) && grep "^Seccomp:" /proc/self/status'
  # A real terminal for run -it: script(1) gives podman a pty as its stdin/stdout.
  expect "podman run -it on a pty" 0 "^/dev/pts/[0-9]+$" \
    script -qec "${P[*]} run --rm -it ${R[*]} $IMG sh -c 'tty; sleep 1'" /dev/null
  expect "podman run -it stdin is a tty" 0 "^stdin-is-tty$" \
    script -qec "${P[*]} run --rm -it ${R[*]} $IMG sh -c 'test -t 0 && test -t 1 && echo stdin-is-tty; sleep 1'" /dev/null

  # Keystrokes through the pty: a shell reads them, the exit code comes back through script -e.
  expect "podman run -it interactive shell" 4 "typed-3" bash -c "(sleep 1.5; \
    printf 'echo typed-\$((1+2))\nexit 4\n') | script -qec '${P[*]} run --rm -it ${R[*]} $IMG sh' /dev/null"
  expect "podman run -d" 0 "^[0-9a-f]{64}$" "${P[@]}" run -d --name c1 "${R[@]}" $IMG \
    sh -c 'echo started; trap "echo got-term; exit 3" TERM; while true; do sleep 0.1; done'
  poll "podman ps shows c1 running" "c1 .*Up|Up .*c1" "${P[@]}" ps
  expect "podman inspect running" 0 "^running$" "${P[@]}" inspect --format '{{.State.Status}}' c1
  expect "podman exec" 0 "^ok$" "${P[@]}" exec c1 echo ok
  expect "podman exec exit code" 5 "" "${P[@]}" exec c1 sh -c 'exit 5'
  expect "podman exec missing binary" 127 "not found" "${P[@]}" exec c1 /no/such/bin
  expect "podman exec -i" 0 "^fed$" "${P[@]}" exec -i c1 cat <<<fed
  expect "podman exec -t" 0 "^/dev/pts/[0-9]+$" \
    script -qec "${P[*]} exec -t c1 tty" /dev/null
  expect "podman exec -it" 0 "^/dev/pts/[0-9]+[[:space:]]+tty-in$" \
    script -qec "${P[*]} exec -it c1 sh -c 'tty; test -t 0 && echo tty-in'" /dev/null
  expect "podman exec -it interactive shell" 5 "in-exec-4" bash -c "(sleep 1.5; \
    printf 'echo in-exec-\$((2+2))\nexit 5\n') | script -qec '${P[*]} exec -it c1 sh' /dev/null"
  expect "podman exec --user" 0 "^65534:65534$" "${P[@]}" exec --user 65534:65534 c1 sh -c 'echo $(id -u):$(id -g)'
  expect "podman exec -e" 0 "^bar$" "${P[@]}" exec -e FOO=bar c1 sh -c 'echo $FOO'
  expect "podman exec -w" 0 "^/etc$" "${P[@]}" exec -w /etc c1 pwd
  expect "podman exec -d" 0 "^[0-9a-f]{64}$" "${P[@]}" exec -d c1 sh -c 'echo detached >/tmp/d'
  poll "podman exec -d ran" "^detached$" "${P[@]}" exec c1 cat /tmp/d
  expect "podman exec sees the same pid ns" 0 "^1$" "${P[@]}" exec c1 sh -c 'pidof sh | tr " " "\n" | sort -n | head -1'
  # The bonus: the container podman made has nyx-runtime's state record, execs included.
  local cid
  cid=$("${P[@]}" inspect --format '{{.Id}}' c1)
  expect "nyx-runtime state of podman's container" 0 '"status": "running".*"hardening".*"execs"' \
    "$NYX" state "$cid"
  expect "podman top" 0 "^USER .*COMMAND.*while true" "${P[@]}" top c1
  expect "podman pause" 0 "^c1$" "${P[@]}" pause c1
  expect "podman inspect paused" 0 "^paused$" "${P[@]}" inspect --format '{{.State.Status}}' c1
  expect "podman unpause" 0 "^c1$" "${P[@]}" unpause c1
  expect "podman exec after unpause" 0 "^ok$" "${P[@]}" exec c1 echo ok
  expect "podman update --memory" 0 "^[0-9a-f]{64}$" "${P[@]}" update --memory 96m c1
  expect "podman update applied" 0 "^100663296$" "${P[@]}" exec c1 \
    sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'
  expect "podman logs" 0 "^started$" "${P[@]}" logs c1
  expect "podman stop (TERM handled)" 0 "^c1$" "${P[@]}" stop -t 10 c1
  expect "podman stop exit code" 0 "^3$" "${P[@]}" inspect --format '{{.State.ExitCode}}' c1
  expect "podman logs after stop" 0 "^started[[:space:]]+got-term$" "${P[@]}" logs c1
  expect "podman restart" 0 "^c1$" "${P[@]}" restart -t 2 c1
  poll "podman restarted c1 running" "^running$" "${P[@]}" inspect --format '{{.State.Status}}' c1
  expect "podman kill" 0 "^c1$" "${P[@]}" kill c1
  poll "podman killed c1 exited" "^exited$" "${P[@]}" inspect --format '{{.State.Status}}' c1
  expect "podman kill exit code 137" 0 "^137$" "${P[@]}" inspect --format '{{.State.ExitCode}}' c1
  expect "podman start" 0 "^c1$" "${P[@]}" start c1
  expect "podman rm -f running" 0 "^c1$" "${P[@]}" rm -f -t 0 c1
  expect "podman run -d (ignores TERM)" 0 "^[0-9a-f]{64}$" "${P[@]}" run -d --name c2 "${R[@]}" $IMG \
    sh -c 'trap "" TERM; while true; do sleep 0.1; done'
  expect "podman stop falls back to KILL" 0 "SIGKILL.*c2$" "${P[@]}" stop -t 1 c2
  expect "podman stop KILL exit code" 0 "^137$" "${P[@]}" inspect --format '{{.State.ExitCode}}' c2
  expect "podman rm stopped" 0 "^c2$" "${P[@]}" rm c2
  expect "podman ps -a empty" 0 "^$" "${P[@]}" ps -aq
  expect "nyx-runtime state gone after rm" 1 "does not exist" "$NYX" state "$cid"
}

# An OCI image layout by hand: one uncompressed layer (the rootfs tar), a config, a manifest
# and index.json, digests from sha256sum, the ref in the index annotation.
make_oci_archive() {
  local d=$T/oci b=$T/oci/blobs/sha256
  mkdir -p "$b"
  local ld lsz cd csz md msz
  ld=$(sha256sum "$T/rootfs.tar" | cut -d' ' -f1)
  lsz=$(stat -c %s "$T/rootfs.tar")
  cp "$T/rootfs.tar" "$b/$ld"
  printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$ld" >"$T/config.json"
  cd=$(sha256sum "$T/config.json" | cut -d' ' -f1)
  csz=$(stat -c %s "$T/config.json")
  mv "$T/config.json" "$b/$cd"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cd" "$csz" "$ld" "$lsz" >"$T/manifest.json"
  md=$(sha256sum "$T/manifest.json" | cut -d' ' -f1)
  msz=$(stat -c %s "$T/manifest.json")
  mv "$T/manifest.json" "$b/$md"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"docker.io/library/nyxbox:latest"},"platform":{"architecture":"amd64","os":"linux"}}]}' \
    "$md" "$msz" >"$d/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
  tar -C "$d" -cf "$T/nyxbox-oci.tar" oci-layout index.json blobs
}

run_containerd() {
  echo "== containerd ($(containerd --version | cut -d' ' -f3)) with $NYX"
  make_oci_archive || die "building the OCI archive failed"
  local C=$T/containerd
  mkdir -p "$C"
  cat >"$C/config.toml" <<EOF
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$C/containerd.sock"
[ttrpc]
  address = "$C/containerd.sock.ttrpc"
[debug]
  address = "$C/debug.sock"
EOF
  containerd --config "$C/config.toml" >"$C/containerd.log" 2>&1 &
  CTRD_PID=$!
  local X=(ctr --address "$C/containerd.sock" --namespace "$CNS")
  poll "containerd up" "Server:" "${X[@]}" version
  local SNAP=overlayfs
  "${X[@]}" plugins ls 2>/dev/null | grep -Eq 'snapshotter\.v1 +overlayfs +linux/amd64 +ok' || SNAP=native
  echo "     snapshotter: $SNAP"
  local IMG=docker.io/library/nyxbox:latest
  expect "ctr images import" 0 "nyxbox" "${X[@]}" images import --snapshotter $SNAP "$T/nyxbox-oci.tar"
  expect "ctr images ls" 0 "nyxbox" "${X[@]}" images ls -q
  local RUN=("${X[@]}" run --snapshotter "$SNAP" --runc-binary "$NYX")
  expect "ctr run --rm /bin/true" 0 "" "${RUN[@]}" --rm $IMG t1 /bin/true
  expect "ctr run --rm echo" 0 "^hi$" "${RUN[@]}" --rm $IMG t2 echo hi
  expect "ctr run --rm exit code" 9 "" "${RUN[@]}" --rm $IMG t3 sh -c 'exit 9'
  expect "ctr run --rm --tty" 0 "^/dev/pts/[0-9]+$" \
    script -qec "${RUN[*]} --rm --tty $IMG t4 tty" /dev/null
  expect "ctr run -d" 0 "" "${RUN[@]}" -d --memory-limit 33554432 $IMG d1 \
    sh -c 'while true; do sleep 0.1; done'
  poll "ctr task ls running" "d1 +[0-9]+ +RUNNING" "${X[@]}" task ls
  # ctr's spec mounts no cgroupfs inside: read the limit on the host, at cgroupsPath.
  expect "ctr run --memory-limit" 0 "^33554432$" \
    cat "$CGMEM/$CNS/d1/$CGMEMFILE"
  expect "ctr task exec" 0 "^inside$" "${X[@]}" task exec --exec-id e1 d1 echo inside
  expect "ctr task exec exit code" 4 "" "${X[@]}" task exec --exec-id e2 d1 sh -c 'exit 4'
  expect "ctr task exec sees pid 1" 0 "^1 " "${X[@]}" task exec --exec-id e3 d1 sh -c 'ps -o pid,args | sed -n 2p | sed "s/^ *//"'
  expect "ctr task ps" 0 "^PID +INFO[[:space:]]+[0-9]+ +-[[:space:]]+[0-9]+ +-$" "${X[@]}" task ps d1
  expect "ctr task pause" 0 "^$" "${X[@]}" task pause d1
  poll "ctr task ls paused" "d1 +[0-9]+ +PAUSED" "${X[@]}" task ls
  expect "ctr task resume" 0 "" "${X[@]}" task resume d1
  poll "ctr task ls resumed" "d1 +[0-9]+ +RUNNING" "${X[@]}" task ls
  expect "ctr task exec --tty" 0 "^/dev/pts/[0-9]+$" \
    script -qec "${X[*]} task exec --tty --exec-id e5 d1 sh -c 'tty; sleep 0.5'" /dev/null
  expect "ctr task exec after resume" 0 "^ok$" "${X[@]}" task exec --exec-id e4 d1 echo ok
  expect "ctr task kill" 0 "" "${X[@]}" task kill -s KILL d1
  poll "ctr task ls stopped" "d1 +[0-9]+ +STOPPED" "${X[@]}" task ls
  expect "ctr task rm" 0 "exit code 137" "${X[@]}" task rm d1
  expect "ctr run -d again" 0 "" "${RUN[@]}" -d $IMG d2 sh -c 'while true; do sleep 0.1; done'
  poll "ctr d2 running" "d2 +[0-9]+ +RUNNING" "${X[@]}" task ls
  expect "ctr task rm -f running" 0 "exit code 137" "${X[@]}" task rm -f d2
  expect "ctr task ls empty" 0 "^TASK +PID +STATUS *$" "${X[@]}" task ls
  expect "ctr containers rm" 0 "" "${X[@]}" containers rm d1 d2
  expect "ctr containers ls empty" 0 "^$" "${X[@]}" containers ls -q
}

START=$(date +%s)
case $ONLY in
  all) run_podman; run_containerd ;;
  podman) run_podman ;;
  containerd) run_containerd ;;
  *) die "unknown stage $ONLY" ;;
esac
echo "== $PASS passed, ${#FAILED[@]} failed in $(($(date +%s) - START)) s"
if [ ${#FAILED[@]} -gt 0 ]; then
  printf '   failed: %s\n' "${FAILED[@]}"
  exit 1
fi
