#!/usr/bin/env bash
# Installs the supervisors `make bench-peers` runs beside tend, from Debian, and a C compiler
# for its child; only what is missing. No daemon of theirs is started: the benchmark starts
# each in the foreground on directories of its own.
set -euo pipefail
packages=(supervisor runit s6 daemontools gcc libc6-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup-peers: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-peers: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
# supervisor's and runit's packages would start their system daemons: policy-rc.d says no,
# for this install only (unless the machine already has one).
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  own_policy=1
fi
trap '[ $own_policy -eq 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
