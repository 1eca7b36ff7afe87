# MiniMindV: `make demo` (the built-in demo) and `make test` (the test suite) on a fresh Debian/Ubuntu.
SWIFT ?= swift
# Tests run optimised: the numeric checks and the quick demo are too slow in a debug build.
TEST_FLAGS ?= -c release
BIN = .build/release/minimind-v
# On CPUs with AVX2 and FMA, let swiftc use them: the exp-heavy kernels run about 2x faster and the
# results are bit-identical (Docs/Performance.md). `make ARCH_FLAGS=` builds for baseline x86-64.
ARCH_FLAGS ?= $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && echo "-Xswiftc -target-cpu -Xswiftc haswell")

.PHONY: deps build test demo bench-kernels serve-check serve-browser-check client-checks clean

deps:
	@Scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release $(ARCH_FLAGS) --product minimind-v

# The Swift suite, then the real clients against `minimind-v serve` on the binary the suite built
# (the official openai package and headless Chromium; they share one freshly trained quick demo model).
test: deps
	$(SWIFT) test $(TEST_FLAGS) $(ARCH_FLAGS)
	$(MAKE) client-checks BIN="$$($(SWIFT) build $(TEST_FLAGS) $(ARCH_FLAGS) --show-bin-path)/minimind-v"

demo: build
	$(BIN) demo

bench-kernels: build
	$(BIN) bench kernels

# `minimind-v serve` driven by the official openai client and by headless Chromium (Docs/Serving.md);
# both train the quick demo model first (about a minute) and compare with `minimind-v caption`.
CHECK_WORK = .build/client-checks
serve-check: build
	python3 -m pip install -q openai==3.63.0
	python3 Scripts/serve_openai_check.py --bin $(BIN) --work $(CHECK_WORK)

serve-browser-check: build
	@Scripts/install-deps.sh --browser
	/usr/bin/python3 Scripts/serve_browser_check.py --bin $(BIN) --work $(CHECK_WORK)

# Both real-client checks on an already built BIN, with a model trained afresh (never a stale one).
client-checks:
	rm -rf $(CHECK_WORK)
	@Scripts/install-deps.sh --browser
	python3 -m pip install -q openai==3.63.0
	python3 Scripts/serve_openai_check.py --bin $(BIN) --work $(CHECK_WORK)
	/usr/bin/python3 Scripts/serve_browser_check.py --bin $(BIN) --work $(CHECK_WORK)

clean:
	rm -rf .build
