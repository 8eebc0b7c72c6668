#!/usr/bin/env bash
# Installs what building and testing tend needs on Debian 12, and only what is missing.
# The Swift toolchain itself is expected at /opt/swift (or on PATH).
set -euo pipefail

# tend links no C library but glibc: it speaks sd_notify and the journal's protocols itself
# (README, "The journal"), so libsystemd-dev is not needed to build it.
packages=(
  libc6-dev libstdc++-12-dev  # the static archives tend's release binary is linked from
  python3                     # test helpers: a tcp listener, an sd_notify sender; make bench
  procps strace               # make bench: ps, and proof that an idle tend makes no system calls
  systemd util-linux          # the end-to-end suite: systemd as PID 1 in a box (unshare, nsenter)
  man-db                      # man tend, and systemd-analyze verify's check of Documentation=man:
  prometheus                  # promtool check metrics on GET /metrics; a real Prometheus scrapes tend
  systemd-journal-remote      # the end-to-end box: tend's entries through journal-upload to journal-remote
  lintian                     # make deb checks the package
)
# Installed without what they only recommend (prometheus: node-exporter, a daemon of its own).
lean=(prometheus systemd-journal-remote lintian)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  plain=() bare=()
  for p in "${missing[@]}"; do
    if [[ " ${lean[*]} " == *" $p "* ]]; then bare+=("$p"); else plain+=("$p"); fi
  done
  [ ${#plain[@]} -eq 0 ] || apt-get install -y -qq "${plain[@]}" >/dev/null
  [ ${#bare[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${bare[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1 && [ ! -x /opt/swift/usr/bin/swift ]; then
  echo "setup: no Swift toolchain: install Swift 6 at /opt/swift (https://www.swift.org/install/linux/)" >&2
  exit 1
fi
