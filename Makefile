# tend: make run (set up, build, run the example), make test (set up, build, every test),
# make bench (figures as JSON and a table), make install.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
PREFIX ?= /usr/local
CONFIG ?= units/tend.toml
RELEASE := swift build -c release --static-swift-stdlib
RELEASE_BIN = $(shell $(RELEASE) --show-bin-path)/tend

.PHONY: setup build release run test bench install uninstall clean

setup:
	@scripts/setup.sh

build: setup
	swift build

# The binary that is installed and benchmarked: no /opt/swift needed at run time.
release: setup
	$(RELEASE) --product tend

run: release
	$(RELEASE_BIN) run -c $(CONFIG)

test: setup
	swift build --build-tests
	TEND_BIN="$$(swift build --show-bin-path)/tend" swift test --skip-build --disable-xctest

bench: release
	TEND_BIN="$(RELEASE_BIN)" python3 Benchmarks/bench.py

install: release
	install -D -m 0755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/tend
	install -D -m 0644 units/tend.toml $(DESTDIR)/etc/tend/tend.toml.example

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/tend $(DESTDIR)/etc/tend/tend.toml.example

clean:
	rm -rf .build
