# Thin wrapper over Meson + Ninja.  `make` builds build/cairn.
#   make test   installs dependencies (with the S3 and Azure test servers),
#               builds (plain + ASan/UBSan + fuzz), starts Ceph RGW, Swift and
#               Azurite on 127.0.0.1, runs unit, e2e and fuzz suites, stops
#               the servers;
#               last line "N passed, N failed, N skipped" (skipped tests
#               are not counted as passed)
#   make demo   installs dependencies, builds, backs up and restores an image
#   make bench  runs bench/run.sh (cairn, with its default snapshot mode,
#               vs restic vs borg on a synthetic and a real-files image,
#               with the CPU and disk floors of the same run; local and on
#               Ceph RGW), bench/volumes.sh (change tracking on XFS) and
#               bench/prune.sh (prune of a 100-backup history vs restic,
#               median of 3) and bench/dr.sh (disaster-recovery copies of
#               the seed scenario on Ceph RGW and Azurite), see
#               docs/benchmarks.md
#               Then bench/failover.sh: standby update, failover,
#               failback and the secondary endpoint on that scenario.
MESON ?= meson
NINJA ?= ninja

.PHONY: all build deps deps-servers test demo bench asan fuzz fuzz-targets clean unit e2e

all: build

build/build.ninja:
	$(MESON) setup build --buildtype=release -Db_ndebug=false

build: build/build.ninja
	$(NINJA) -C build

# -O1 -g, as ASan's documentation advises: the sanitized code is cairn's
# own (hashing, ciphers and compression run in the system's libraries), so
# its tests run as fast as at -O2 while its compiles take 40% less CPU
# (buildtype debug because meson.build adds -O2 to any other; c_args come
# last).  -Wno-format-truncation: at -O1 gcc gives two warnings of it that
# -O2 does not (one where a length check above rules truncation out); the
# -O2 plain build stays the warnings gate.
build-asan/build.ninja:
	$(MESON) setup build-asan --buildtype=debug -Dc_args='-O1 -Wno-format-truncation' -Db_sanitize=address,undefined -Db_lundef=false

asan: build-asan/build.ninja
	$(NINJA) -C build-asan

build-fuzz/build.ninja:
	CC=clang $(MESON) setup build-fuzz --buildtype=debugoptimized -Dfuzz=true -Dtests=false -Db_lundef=false

fuzz: build-fuzz/build.ninja
	$(NINJA) -C build-fuzz

deps:
	scripts/install-deps

deps-servers:
	scripts/install-deps servers

# The three trees side by side (their meson setups and link steps overlap
# the others' compiles); of build-fuzz only the fuzz targets, whose
# instrumented copy of the library is all they link: the plain library
# and binaries that tree also holds are half its compiles and no test
# uses them.
test: deps-servers
	$(MAKE) -j3 build asan fuzz-targets
	scripts/run-tests

FUZZ_TARGETS = $(NINJA) -C build-fuzz -t targets all | sed -n 's|^\(tests/fuzz/[^:]*\): c_LINKER$$|\1|p'
fuzz-targets: build-fuzz/build.ninja
	$(NINJA) -C build-fuzz $$($(FUZZ_TARGETS))

unit: build
	$(MESON) test -C build --suite unit --print-errorlogs

e2e: build
	tests/e2e/run.sh build/cairn

demo: deps
	$(MAKE) build
	scripts/demo

bench: deps-servers
	$(MAKE) build
	bench/run.sh
	bench/volumes.sh
	bench/prune.sh
	bench/dr.sh
	bench/failover.sh

clean:
	rm -rf build build-asan build-fuzz
