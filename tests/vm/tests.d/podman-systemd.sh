#!/usr/bin/env bash
# podman.sh with podman's default cgroup manager on these hosts: systemd.
PODMAN_CGROUP_MANAGER=systemd exec bash "$(dirname "$0")/podman.sh"
