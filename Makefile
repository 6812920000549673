# Postie: the two commands the README promises, and a few helpers.
#   make test     install what is missing (Debian 12, as root), build, run every test
#   make demo     start the loopback mail servers, send a message with an attachment
#                 with postie-send, fetch it with postie-fetch, check what arrived
#   make install PREFIX=DIR
#   make fuzz     the long fuzzing campaign: every libFuzzer target for
#                 POSTIE_FUZZ_SECONDS (450 s each, an hour in all) from its
#                 committed corpus, new coverage merged into that corpus
#                 (scripts/fuzz-campaign.sh, docs/testing.md); not part of make test
#   make bench    build with -DPOSTIE_BUILD_BENCH=ON into build/bench and run the
#                 benchmarks (docs/performance.md); not part of make test
#   make valgrind the interop suites once under valgrind (memcheck, leaks) against
#                 the loopback Dovecot and Postfix: a Debug build in build/valgrind,
#                 then tests/interop/valgrind.sh (docs/testing.md); not part of make test
#   make firmware the Cortex-M4 (mps2-an386) image: Postie, ports/lwip, ports/mbedtls,
#                 lwIP and mbed TLS from Debian's source packages
#                 (scripts/firmware-deps.sh), into build/firmware/postie-fw.elf
#   make firmware-test  the host test of ports/lwip with lwIP itself
#                 (tests/firmware/test_lwip_raw.c), then boot the image in
#                 qemu-system-arm against the loopback Dovecot and Postfix and
#                 check what it fetched and sent (scripts/firmware-test.sh);
#                 both are the firmware stage of make test
PREFIX ?= /usr/local
BUILD  ?= build/release
JOBS   ?= 2
BENCH_BUILD ?= build/bench
VALGRIND_BUILD ?= build/valgrind

.PHONY: all build test demo install deps clean bench fuzz valgrind firmware firmware-test

all: build

deps:
	@bash scripts/install-deps.sh

# Quiet: progress only; the full compiler output is in $(BUILD)/logs/build.log.
build: deps
	@bash scripts/build.sh $(BUILD) $(JOBS) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX)

test: deps
	@bash scripts/test-all.sh

fuzz: deps
	bash scripts/fuzz-campaign.sh

valgrind: deps
	cmake -S . -B $(VALGRIND_BUILD) -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build $(VALGRIND_BUILD) -j$(JOBS)
	bash tests/interop/valgrind.sh $(VALGRIND_BUILD)

demo: build
	@bash scripts/demo.sh $(BUILD)

bench: deps
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DPOSTIE_BUILD_BENCH=ON \
	      -DPOSTIE_BUILD_TESTS=OFF -DPOSTIE_BUILD_EXAMPLES=OFF >/dev/null
	cmake --build $(BENCH_BUILD) -j$(JOBS)
	bash bench/run-all.sh $(BENCH_BUILD)

firmware: deps
	@bash scripts/firmware-deps.sh
	@mkdir -p build && $(MAKE) --no-print-directory -C firmware -j$(JOBS) > build/firmware-build.log 2>&1 || \
	  { tail -n 30 build/firmware-build.log; echo "make firmware failed: build/firmware-build.log"; exit 1; }
	@arm-none-eabi-size build/firmware/postie-fw.elf

firmware-test: firmware
	@$(MAKE) --no-print-directory -C firmware -j$(JOBS) host-test > build/firmware-host-test.log 2>&1 || \
	  { cat build/firmware-host-test.log; echo "the host test of ports/lwip failed: build/firmware-host-test.log"; exit 1; }
	@grep -E '^(ok|not ok)|passed' build/firmware-host-test.log
	@bash scripts/firmware-test.sh build/firmware

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX) > $(BUILD)/logs/install.log
	@echo "Installed into $(PREFIX) (list: $(BUILD)/logs/install.log)"

clean:
	rm -rf build
