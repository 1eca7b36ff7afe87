# MiniMindV: `make demo` (the built-in demo) and `make test` (the test suite) on a fresh Debian/Ubuntu.
SWIFT ?= swift
# Tests run optimised: the numeric checks and the quick demo are too slow in a debug build.
TEST_FLAGS ?= -c release
BIN = .build/release/minimind-v

.PHONY: deps build test demo bench-kernels clean

deps:
	@Scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release --product minimind-v

test: deps
	$(SWIFT) test $(TEST_FLAGS)

# Until the end-to-end demo lands, the demo target runs the kernel benchmark.
demo: build
	$(BIN) bench kernels

bench-kernels: build
	$(BIN) bench kernels

clean:
	rm -rf .build
