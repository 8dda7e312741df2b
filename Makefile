# fastc: the user's entry points. Each target installs what is missing, builds, and runs.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build demo check check-emu check-emu-train sanitize bench fixtures clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@$(BUILD)/fastc_demo

check: build
	@cd $(BUILD) && ctest --output-on-failure
	@$(MAKE) --no-print-directory check-emu

# The CUDA backend's device suite on the CUDA emulator (tests/cuda_emu): its kernels and glue run on
# the CPU, so it is checked on every machine, GPU or not. A second build folder.
check-emu: deps
	@cmake -S . -B $(BUILD)-emu -DCMAKE_BUILD_TYPE=Release -DFASTC_CUDA=EMU $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD)-emu -j $(JOBS) --target test_cuda test_emu_scheduler test_emu_libs
	@cd $(BUILD)-emu && ctest --output-on-failure -R cuda_emu

# ... with the two MNIST_SAMPLE training epochs on the emulated device too (about 30 minutes).
check-emu-train: check-emu
	@cd $(BUILD)-emu && FASTC_FIXTURES=$(CURDIR)/tests/fixtures ./test_cuda test_mnist_sample

sanitize: deps
	@cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DFASTC_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD)-asan -j $(JOBS)
	@cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure
	@# the CUDA kernels and glue too, on the CUDA emulator (memcheck's job, for what a CPU can see)
	@cmake -S . -B $(BUILD)-asan-emu -DCMAKE_BUILD_TYPE=Debug -DFASTC_SANITIZE=ON -DFASTC_CUDA=EMU >/dev/null
	@cmake --build $(BUILD)-asan-emu -j $(JOBS) --target test_cuda test_emu_scheduler test_emu_libs
	@cd $(BUILD)-asan-emu && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -R cuda_emu

# Side-by-side with PyTorch (Debian's python3-torch); results go to bench/RESULTS.md by hand.
bench: build
	@scripts/install-deps.sh python3-torch python3-numpy
	@bench/run.sh $(BUILD)

# Regenerates the committed PyTorch fixtures (needs python3-torch).
fixtures:
	@scripts/install-deps.sh python3-torch python3-numpy
	@for g in tests/fixtures/gen_*.py; do echo "$$g"; /usr/bin/python3 $$g || exit 1; done

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-emu $(BUILD)-asan-emu
