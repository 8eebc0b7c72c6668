#!/usr/bin/env bash
# make deb (SPEC section 10): a Debian package of what `make install` puts in place, with
# /usr as its prefix, built with dpkg-deb and checked with lintian. VERSION= overrides the
# version (the end-to-end suite builds a higher one to test an upgrade).
# Installing it enables nothing; an upgrade re-executes a running tend (`tend reexec`), so no
# service restarts; removing it stops tend; purging it removes /etc/tend.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${VERSION:-$(sed -n 's/.*static let version = "\(.*\)".*/\1/p' Sources/TendControl/MetricsText.swift)}
arch=$(dpkg --print-architecture)
out=.build/deb
root=$out/tend_${version}_$arch
rm -rf "$root"
mkdir -p "$root"
make --no-print-directory install-files DESTDIR="$PWD/$root" PREFIX=/usr UNITDIR=/lib/systemd/system >/dev/null
# Debian's places: the example beside the docs, the man page compressed, the copyright.
doc=$root/usr/share/doc/tend
mkdir -p "$doc/examples"
mv "$root/etc/tend/tend.toml.example" "$doc/examples/tend.toml"
gzip -9n "$root/usr/share/man/man1/tend.1"
# bash-completion sources the file: no #! line.
sed -i '1{/^#!/d}' "$root/usr/share/bash-completion/completions/tend"
cat > "$doc/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: tend

Files: *
Copyright: 2026 the tend developers
License: Apache-2.0
 On Debian systems, the full text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
EOF
printf 'tend (%s) unstable; urgency=medium\n\n  * Built by make deb.\n\n -- tend developers <tend@example.com>  %s\n' \
  "$version" "$(date -u -R -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")" \
  | gzip -9n > "$doc/changelog.gz"
find "$root" -type d -exec chmod 0755 {} +

mkdir -p "$root/DEBIAN"
echo /etc/tend/tend.toml > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/control" <<EOF
Package: tend
Version: $version
Architecture: $arch
Maintainer: tend developers <tend@example.com>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Section: admin
Priority: optional
Homepage: https://localhost/tend
Description: process supervisor: one TOML file, a supervision tree
 tend runs the services of one TOML file as a supervision tree: restarts by
 policy with backoff and intensity, one_for_one, one_for_all and rest_for_one
 groups, readiness, jobs, health checks, a cgroup per service, sd_notify and the
 journal, tend reexec without restarting a service, and Prometheus metrics.
EOF
cat > "$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if [ -d /run/systemd/system ]; then
        journalctl --update-catalog >/dev/null 2>&1 || true
        systemctl daemon-reload || true
        # An upgrade under a running tend: the new binary takes the tree over, same pid, no
        # service restarted. Enabling and starting are the operator's (systemctl enable --now tend).
        if [ -n "$2" ] && tend status >/dev/null 2>&1; then
            tend reexec || { echo "tend reexec failed: restarting tend.service" >&2; deb-systemd-invoke restart tend.service; }
        fi
    fi
fi
EOF
cat > "$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    deb-systemd-invoke stop tend.service || true
    for unit in $(systemctl list-units --plain --no-legend 'tend@*.service' 2>/dev/null | cut -d' ' -f1); do
        deb-systemd-invoke stop "$unit" || true
    done
    deb-systemd-helper disable tend.service >/dev/null 2>&1 || true
fi
EOF
cat > "$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
    rm -rf /etc/tend
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out/tend_${version}_$arch.deb" >/dev/null
echo "$out/tend_${version}_$arch.deb: $(du -k "$out/tend_${version}_$arch.deb" | cut -f1) KB"
# Clean, but for the tags README.md explains (LINT=0: not checked, for the tests' builds).
[ "${LINT:-1}" = 0 ] || lintian --fail-on error,warning --suppress-tags-from-file scripts/lintian-explained "$out/tend_${version}_$arch.deb"
