# Thin wrapper around CMake. Every target that builds installs missing
# Debian packages first, so each works as the only command on a new machine.

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

# Debian 12 packages the build, the tests and the demo need.
DEPS = build-essential cmake pkg-config clang libclang-rt-14-dev \
       libevent-dev libcurl4-openssl-dev libjson-c-dev libyaml-dev \
       libsqlite3-dev libsystemd-dev libssl-dev libcunit1-dev \
       openssl curl systemd chromium chromium-driver mandoc clang-format

.PHONY: all deps check-deps conformance-deps bench-deps build check check-repeat test asan demo bench fuzz soak format clean \
	deb package-check

# The tests also check contrib/'s alert rules with promtool, which Debian
# ships only inside the prometheus package: installed for `make check`,
# its server disabled at once where systemd runs (nothing listens on 9090).
CHECK_DEPS = prometheus

# The static-analysis gates (ctest style.clang-tidy, style.cppcheck).
LINT_DEPS = clang-tidy cppcheck

# Benchmarks also need a load generator.
BENCH_DEPS = wrk

# Debian packaging and its checks (`make deb`, `make package-check`).
DEB_DEPS = debhelper lintian dpkg-dev mandoc
DEB_OUT  ?= out/deb

all: build

deps:
	@$(MAKE) --no-print-directory install-pkgs PKGS="$(DEPS)"
	@$(MAKE) --no-print-directory conformance-deps

# The conformance suite's Node packages, pinned in its package-lock.json;
# Debian's nodejs/npm only when node is not already installed.
conformance-deps:
	@if ! command -v node >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory install-pkgs PKGS="nodejs npm"; \
	fi
	@if [ ! -d tests/conformance/node_modules ]; then \
		cd tests/conformance && npm ci --no-audit --no-fund; \
	fi

check-deps:
	@$(MAKE) --no-print-directory install-pkgs PKGS="$(LINT_DEPS)"
	@if ! command -v promtool >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory install-pkgs PKGS="$(CHECK_DEPS)"; \
		if [ -d /run/systemd/system ]; then \
			systemctl disable --now prometheus 2>/dev/null || true; \
		fi; \
	fi

bench-deps:
	@$(MAKE) --no-print-directory install-pkgs PKGS="$(DEPS) $(BENCH_DEPS)"

install-pkgs:
	@missing=""; for p in $(PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

test: build check-deps
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DAPPROVALD_SANITIZE=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS) -LE nosan

# The packages too: built, lintian-clean, installed into a temporary root
# and run for one decision (`package-check`, about a minute).
check: test asan package-check

# Each integration suite N times in a row under ASan/UBSan (REPEAT=N,
# default 5): a suite that fails once in a while hides a race.
REPEAT ?= 5
check-repeat: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DAPPROVALD_SANITIZE=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir $(ASAN_BUILD) --output-on-failure -L integration \
		--repeat until-fail:$(REPEAT)

# Longer runs of the fuzzers and of the evaluator's differential test.
fuzz: build
	DIFF_CASES=$${DIFF_CASES:-2000000} $(BUILD)/tests/config/test_config --suite differential
	FUZZ_SECONDS=$${FUZZ_SECONDS:-300} ./tests/fuzz/run.sh $(BUILD)

# The soak of tests/soak, longer: thousands of requests, dozens of random
# SIGKILLs of approvald under a throttled, faulted Graph; prints the
# figures ("N kills over M requests: 0 lost, 0 doubled"). SOAK_SEED=S
# replays a run's choices.
SOAK_REQUESTS ?= 3000
SOAK_KILLS    ?= 60
soak: build
	APPROVALD_BUILD_DIR=$(CURDIR)/$(BUILD) APPROVALD_SOURCE_DIR=$(CURDIR) \
	SOAK_REQUESTS=$(SOAK_REQUESTS) SOAK_KILLS=$(SOAK_KILLS) \
	SOAK_SETTLE_MS=$${SOAK_SETTLE_MS:-600000} \
		$(BUILD)/tests/soak/test_soak --suite soak

demo: build
	@./examples/demo.sh $(BUILD)

bench: bench-deps build
	@./bench/run.sh $(BUILD)

# The .debs (approvald, graph-emulator) in $(DEB_OUT), built with debhelper
# outside dpkg-buildpackage so nothing is written above the source tree.
deb: deps
	@$(MAKE) --no-print-directory install-pkgs PKGS="$(DEB_DEPS)"
	rm -rf $(DEB_OUT) && mkdir -p $(DEB_OUT)
	debian/rules clean
	DEB_OUT=$(abspath $(DEB_OUT)) DEB_BUILD_OPTIONS="parallel=$(JOBS) nocheck" \
		debian/rules binary
	debian/rules clean
	@ls -1 $(DEB_OUT)/*.deb

# The packages under lintian, unpacked (dpkg -x) into a temporary root:
# file list, the installed `approvald --check`, one decision against the
# installed graph-emulator.
package-check: deb
	./tests/package/deb-check.sh $(DEB_OUT)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
