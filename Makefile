# Postie: the two commands the README promises, and a few helpers.
#   make test     install what is missing (Debian 12, as root), build, run every test
#   make demo     start the loopback mail servers and show the library at work
#   make install PREFIX=DIR
PREFIX ?= /usr/local
BUILD  ?= build/release
JOBS   ?= 2

.PHONY: all build test demo install deps clean

all: build

deps:
	bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

test: deps
	bash scripts/test-all.sh

demo: build
	bash scripts/demo.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf build
