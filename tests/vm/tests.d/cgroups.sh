#!/usr/bin/env bash
# The cgroup tests on this host shape (cgroup v2 unified, systemd as PID 1): limits seen from
# inside, update raising and lowering, the eBPF device program, pause through cgroup.freeze,
# OOM kills in the state, leftovers, nested paths, the systemd scope driver (--systemd-cgroup),
# and the lifecycle tests that touch cgroups. One process: one busybox rootfs for all of them.
set -uo pipefail
cd "$NYX_BUILD" || exit 1
echo "cgroup: $(stat -f -c %T /sys/fs/cgroup), controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "nyx-systemd: $(ls -l "$NYX_BUILD/nyx-systemd" 2>&1)"
tests/nyx-integration-tests --gtest_filter='Cgroups.*:CgroupsSystemd.*:Lifecycle.*' --gtest_color=no
