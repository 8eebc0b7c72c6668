# tend: make run (set up, build, run the example), make test (set up, build, every test),
# make bench (figures as JSON and a table), make install.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
CATALOGDIR ?= $(PREFIX)/lib/systemd/catalog
MANDIR ?= $(PREFIX)/share/man/man1
SHAREDIR ?= $(PREFIX)/share
CONFIG ?= units/tend.toml
# One static executable, position-independent (its addresses randomized as a PIE's are):
# no /opt/swift and no shared library at run time, no dynamic loader at start, relative
# relocations packed (DT_RELR). lld (the toolchain's) links it: gold cannot link a static PIE,
# which must also have no rpath. README, "A leaner tend".
RELEASE := swift build -c release --static-swift-stdlib --disable-local-rpath -Xswiftc -static-executable \
  -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld -Xswiftc -Xclang-linker -Xswiftc -static-pie \
  -Xlinker -z -Xlinker pack-relative-relocs
RELEASE_BIN := .build/release/tend
MANUAL := .build/plugins/GenerateManual/outputs/tend/tend.1
SOURCES := Package.swift $(shell find Sources -type f)

.PHONY: setup build release manual run test bench bench-peers fuzz install install-files deb uninstall clean

setup:
	@scripts/setup.sh

build: setup
	swift build

# The binary that is installed and benchmarked: no /opt/swift needed at run time. Built
# again only when a source changed, so `make install` inside the systemd test box (which
# shares this .build) never runs the toolchain.
release: setup $(RELEASE_BIN)
$(RELEASE_BIN): $(SOURCES) Makefile
	$(RELEASE) --product tend
	touch $@

# In the terminal even on a machine with a journal.
run: release
	$(RELEASE_BIN) run -c $(CONFIG) --log console

# The man page, from the command line's own help (swift-argument-parser's plugin).
manual: setup $(MANUAL)
$(MANUAL): $(SOURCES)
	swift package --allow-writing-to-package-directory generate-manual --configuration debug
	touch $@

# The end-to-end suite installs the release binary and the man page into a systemd box with
# `make install`, and the package: all are built first (the package checked by lintian).
test: setup release manual deb
	swift build --build-tests
	TEND_BIN="$$(swift build --show-bin-path)/tend" swift test --skip-build --disable-xctest

bench: release
	TEND_BIN="$(RELEASE_BIN)" python3 Benchmarks/bench.py

# tend beside supervisord, runit, s6 and daemontools (installed from Debian if missing) and
# systemd (PID 1 of the end-to-end tests' box, where tend's logs scenario runs too, installed
# with `make install`: hence the man page), the same scenarios in one run:
# bench-results/peers/*.json and tables.md. PEERS_ARGS picks scenarios, peers and sizes,
# e.g. PEERS_ARGS="--scenarios restart,storm --peers tend,s6".
PEERS_ARGS ?=
bench-peers: release manual
	scripts/setup-peers.sh
	TEND_BIN="$(RELEASE_BIN)" python3 Benchmarks/peers/bench_peers.py $(PEERS_ARGS)

# The three parsers that take outside bytes (config file, control request, notify datagram)
# under libFuzzer with AddressSanitizer, FUZZ_SECONDS each, from Fuzz/Corpus. The harnesses
# are a package of their own (Fuzz/): tend itself does not build with the fuzzer's flags.
FUZZ_SECONDS ?= 60
fuzz: setup
	scripts/fuzz.sh $(FUZZ_SECONDS)

# The static binary (stripped), both units, the journal catalog, the man page, shell
# completions and the example config (never over an existing /etc/tend/tend.toml).
install: release manual
	$(MAKE) --no-print-directory install-files

# The same, from what is built (make deb, and the end-to-end suite while swift test holds the build).
install-files:
	install -D -m 0755 -s $(RELEASE_BIN) $(DESTDIR)$(BINDIR)/tend
	for unit in tend.service tend@.service; do \
	  sed 's|@BINDIR@|$(BINDIR)|g' units/$$unit > units/.$$unit.out && \
	  install -D -m 0644 units/.$$unit.out $(DESTDIR)$(UNITDIR)/$$unit && rm -f units/.$$unit.out; done
	install -D -m 0644 units/tend.catalog $(DESTDIR)$(CATALOGDIR)/tend.catalog
	install -D -m 0644 $(MANUAL) $(DESTDIR)$(MANDIR)/tend.1
	mkdir -p $(DESTDIR)$(SHAREDIR)/bash-completion/completions $(DESTDIR)$(SHAREDIR)/zsh/site-functions \
	  $(DESTDIR)$(SHAREDIR)/fish/vendor_completions.d
	$(RELEASE_BIN) --generate-completion-script bash > $(DESTDIR)$(SHAREDIR)/bash-completion/completions/tend
	$(RELEASE_BIN) --generate-completion-script zsh > $(DESTDIR)$(SHAREDIR)/zsh/site-functions/_tend
	$(RELEASE_BIN) --generate-completion-script fish > $(DESTDIR)$(SHAREDIR)/fish/vendor_completions.d/tend.fish
	install -D -m 0644 units/tend.toml $(DESTDIR)/etc/tend/tend.toml.example
	[ -e $(DESTDIR)/etc/tend/tend.toml ] || install -D -m 0644 units/tend.toml $(DESTDIR)/etc/tend/tend.toml
	if [ -z "$(DESTDIR)" ] && command -v journalctl >/dev/null; then journalctl --update-catalog; fi
	@[ -n "$(DESTDIR)" ] || echo "installed; then: systemctl daemon-reload && systemctl enable --now tend"

# A Debian package of the same (scripts/deb.sh): .build/deb/tend_VERSION_ARCH.deb, checked by lintian.
deb: release manual
	scripts/deb.sh

# Leaves /etc/tend/tend.toml, which is the operator's.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tend $(DESTDIR)$(UNITDIR)/tend.service $(DESTDIR)$(UNITDIR)/tend@.service \
	  $(DESTDIR)$(CATALOGDIR)/tend.catalog $(DESTDIR)$(MANDIR)/tend.1 \
	  $(DESTDIR)$(SHAREDIR)/bash-completion/completions/tend $(DESTDIR)$(SHAREDIR)/zsh/site-functions/_tend \
	  $(DESTDIR)$(SHAREDIR)/fish/vendor_completions.d/tend.fish $(DESTDIR)/etc/tend/tend.toml.example
	if [ -z "$(DESTDIR)" ] && command -v journalctl >/dev/null; then journalctl --update-catalog; fi

clean:
	rm -rf .build
