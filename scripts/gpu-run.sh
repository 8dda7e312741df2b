#!/bin/sh
# On a lent GPU machine, in the repository root, with the bundle of scripts/gpu-bundle.sh in .gpu:
# unpacks it, finds the machine's CUDA and cuDNN libraries (the toolkit's, or PyTorch's wheels'),
# and runs issue 9's checks: the device tests (parity, 16-bit, deterministic kernels, optimizers,
# batch norm, MNIST_SAMPLE training), compute-sanitizer memcheck on the op tests, then the CIFAR-10
# race against the machine's PyTorch. Each step's output goes to $OUT (or ./gpu-out) as well.
#   scripts/gpu-run.sh [tests|sanitize|race|all] [race options...]   (default all; race options are
#   bench/cifar10_gpu.sh's, default --epochs 10)
set -u
ROOT=$PWD
WHAT=${1:-all}
[ $# -gt 0 ] && shift
B=.gpu
LOG=${OUT:-$PWD/gpu-out}
mkdir -p "$LOG"
[ -f "$B/fastc-gpu.tar.xz" ] || { echo "gpu-run: no $B/fastc-gpu.tar.xz: run scripts/gpu-bundle.sh here first and carry .gpu" >&2; exit 1; }
R=/tmp/fastc-gpu
rm -rf "$R" && mkdir -p "$R/data" && tar -C "$R" -xJf "$B/fastc-gpu.tar.xz" && cp "$B"/*.tar.gz "$R/data/" || exit 1

libdirs="$R/lib"
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -d "$d" ] && libdirs="$libdirs:$d"
done
site=$(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null || true)
for s in $site; do
  for d in "$s"/nvidia/*/lib "$s"/nvidia/cu*/lib; do [ -d "$d" ] && libdirs="$libdirs:$d"; done
done
export LD_LIBRARY_PATH="$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export FASTC_DATA="$R/data" FASTC_FIXTURES="$PWD/tests/fixtures" FASTC_EXTRACT="$R/extract"
mkdir -p "$FASTC_EXTRACT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | tee "$LOG/gpu.txt"
missing=$(ldd "$R/bin/test_cuda" | grep "not found")
[ -z "$missing" ] || { echo "gpu-run: libraries not found: $missing" >&2; exit 1; }

rc=0
# run_test PROG [FILTER]: one test program (FILTER: test or file names containing it), its log kept
run_test() {
  echo "== $*"
  ./bin/"$@" >"$LOG/$1.log" 2>&1
  r=$?
  tail -3 "$LOG/$1.log"
  [ $r -eq 0 ] || { grep -E "FAILED|fail" "$LOG/$1.log" | head -40; rc=1; }
}
cd "$R" || exit 1
if [ "$WHAT" = tests ] || [ "$WHAT" = all ]; then
  # test_data / test_learner: only their device files (the rest read datasets not bundled)
  run_test test_core
  run_test test_cuda
  run_test test_data dataloader_device
  run_test test_learner distributed_backend
  if grep -q "SKIPPED" "$LOG/test_cuda.log"; then echo "gpu-run: device tests were SKIPPED" >&2; rc=1; fi
fi
if [ "$WHAT" = sanitize ] || [ "$WHAT" = all ]; then
  SAN=$(command -v compute-sanitizer || echo /usr/local/cuda/compute-sanitizer/compute-sanitizer)
  echo "== compute-sanitizer memcheck (test_cuda, training tests left out)"
  FCT_CUDA_NO_TRAIN=1 "$SAN" --tool memcheck --leak-check full --error-exitcode 1 ./bin/test_cuda >"$LOG/memcheck.log" 2>&1 || rc=1
  tail -5 "$LOG/memcheck.log"
fi
if [ "$WHAT" = race ] || [ "$WHAT" = all ]; then
  echo "== CIFAR-10 ResNet-9 race (bench/cifar10_gpu.sh)"
  [ $# -gt 0 ] || set -- --epochs 10
  (cd "$ROOT" && BUILD="$R/bin" bench/cifar10_gpu.sh "$@") 2>&1 | tee "$LOG/race.log" | grep -v "^[0-9]"
fi
exit $rc
