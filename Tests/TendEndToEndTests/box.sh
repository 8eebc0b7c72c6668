#!/usr/bin/env bash
# Boots systemd as PID 1 in a throw-away box, never on the host: new pid, mount, uts, ipc and
# cgroup namespaces; an overlay of / whose upper dir is a fresh tmpfs; /proc/sys and /sys
# read-only; fresh tmpfs on /run, /tmp and /dev; units that touch the kernel or devices masked.
#
#   box.sh start PROJECT_DIR   prints the host pid of the box's PID 1 once systemd answers, and
#                              the cgroup v2 directory the box lives in (- for none)
#   box.sh stop PID DIR        kill -9 of that PID 1: the namespaces and the tmpfs go with it;
#                              then the cgroups the box's systemd made, and DIR, are removed
#
# Commands go in with: timeout N nsenter -t PID -a COMMAND
set -euo pipefail

masked=(
  systemd-sysctl.service systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
  systemd-udev-trigger.service systemd-udev-settle.service systemd-modules-load.service
  systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service systemd-tmpfiles-clean.timer
  systemd-tmpfiles-clean.service systemd-remount-fs.service systemd-random-seed.service
  getty@tty1.service console-getty.service serial-getty@.service getty.target systemd-timesyncd.service
  systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount
  sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount sys-fs-fuse-connections.mount
  dev-hugepages.mount dev-mqueue.mount systemd-logind.service systemd-pstore.service
  systemd-hwdb-update.service systemd-firstboot.service systemd-machine-id-commit.service
  systemd-journal-catalog-update.service systemd-update-done.service systemd-boot-system-token.service
  kmod-static-nodes.service systemd-fsck-root.service systemd-repart.service
  apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service
  fstrim.timer man-db.timer logrotate.timer postgresql.service cron.service
  prometheus.service prometheus-node-exporter.service systemd-journal-remote.socket systemd-journal-remote.service
  systemd-journal-upload.service
)

start() {
  local project=$1
  local log cgroup="" mount own
  log=$(mktemp /tmp/tend-box.XXXXXX.log)
  mount=$(awk '{ for (i = 1; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' /proc/self/mountinfo | head -n 1)
  own=$(sed -n 's/^0:://p' /proc/self/cgroup)
  if [ -n "$mount" ] && [ -n "$own" ] && [ -w "$mount$own" ]; then cgroup="$mount${own%/}/tend-box.$$.$RANDOM"; fi
  # The inner script runs as the new namespaces' first process and ends in exec systemd.
  # The box outlives this script: it keeps no fd of the caller's but stdio (a caller that
  # waits for this script's end by EOF on a pipe would wait for the box's too).
  (
  for fd in /proc/self/fd/*; do
    n=${fd##*/}
    if [ "$n" -gt 2 ] 2>/dev/null; then eval "exec $n>&-" 2>/dev/null || true; fi
  done
  # Into a cgroup of the box's own (below this one), the root of its cgroup namespace: what
  # the box's systemd makes there is found and removed at the stop, not left in the host's.
  if [ -n "$cgroup" ]; then { mkdir "$cgroup" && echo "$BASHPID" > "$cgroup/cgroup.procs"; } 2>/dev/null || true; fi
  exec unshare --pid --mount --uts --ipc --cgroup --fork --propagation private \
    /usr/bin/env PROJECT="$project" MASKED="${masked[*]}" /bin/bash -c '
    set -euo pipefail
    # The project first, onto /mnt in this mount namespace only: it may live under /tmp,
    # which the next mount covers.
    mount --bind "$PROJECT" /mnt
    # Over /tmp in this mount namespace only: nothing is left on the host.
    work=/tmp
    mount -t tmpfs -o mode=0755 tend-box "$work"
    mkdir "$work/upper" "$work/work" "$work/root"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$work/upper,workdir=$work/work" "$work/root"
    r=$work/root
    hostname tend-box
    mount -t proc proc "$r/proc"
    mount --bind "$r/proc/sys" "$r/proc/sys"
    mount -o remount,bind,ro "$r/proc/sys"
    mount --rbind /sys "$r/sys"
    mount -o remount,bind,ro "$r/sys"
    mount -t cgroup2 cgroup2 "$r/sys/fs/cgroup"
    for d in run tmp; do mount -t tmpfs -o mode=0755 "tend-box-$d" "$r/$d"; done
    chmod 1777 "$r/tmp"
    mount -t tmpfs -o mode=0755,nosuid tend-box-dev "$r/dev"
    for n in null zero full random urandom tty; do touch "$r/dev/$n"; mount --bind "/dev/$n" "$r/dev/$n"; done
    mkdir "$r/dev/pts" "$r/dev/shm"
    mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts"
    ln -s pts/ptmx "$r/dev/ptmx"
    mount -t tmpfs -o mode=1777 tend-box-shm "$r/dev/shm"
    ln -s /proc/self/fd "$r/dev/fd"
    mkdir -p "$r$PROJECT"
    mount --bind /mnt "$r$PROJECT"
    for unit in $MASKED; do ln -sf /dev/null "$r/etc/systemd/system/$unit"; done
    : > "$r/etc/machine-id"
    cd "$r"
    mkdir -p oldroot
    pivot_root . oldroot
    umount -l /oldroot
    exec env -i container=tend-box PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      /lib/systemd/systemd --system --unit=multi-user.target
  ' </dev/null >"$log" 2>&1
  ) &
  local unshare_pid=$!
  local pid="" i
  for i in $(seq 1 100); do
    pid=$(awk "{print \$1}" "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null || true)
    [ -n "$pid" ] && [ "$(cat /proc/$pid/comm 2>/dev/null)" = systemd ] && break
    sleep 0.1  # poll interval of a wait with a deadline
  done
  if [ -z "$pid" ] || [ "$(cat /proc/$pid/comm 2>/dev/null)" != systemd ]; then
    echo "box: systemd did not start:" >&2; cat "$log" >&2; exit 1
  fi
  for i in $(seq 1 300); do
    state=$(timeout 5 nsenter -t "$pid" -a systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) rm -f "$log"; echo "$pid ${cgroup:--}"; return 0 ;; esac
    sleep 0.1  # poll interval of a wait with a deadline
  done
  echo "box: systemd did not finish booting (state: $state):" >&2
  timeout 5 nsenter -t "$pid" -a systemctl --failed --no-pager >&2 || true
  stop "$pid" "${cgroup:--}"; exit 1
}

stop() {
  local pid=$1 cgroup=$2 i
  kill -9 "$pid" 2>/dev/null || true
  [ "$cgroup" = - ] && return 0
  # PID 1's death ends every process of its pid namespace: the cgroups empty, then go.
  for i in $(seq 1 100); do
    grep -qx 'populated 0' "$cgroup/cgroup.events" 2>/dev/null && break
    sleep 0.1  # poll interval of a wait with a deadline
  done
  find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || true
}

case "${1:-}" in
  start) start "${2:?project dir}" ;;
  stop) stop "${2:?pid}" "${3:--}" ;;
  *) echo "usage: $0 start PROJECT_DIR | stop PID" >&2; exit 2 ;;
esac
