#!/bin/sh
# On a machine with an NVIDIA GPU: builds fastc with the CUDA backend, runs the CUDA tests
# (tests/cuda: parity with the PyTorch fixtures and with the CPU; the plan caches, device batches
# and mixed precision of test_cuda_infra.c; the 16-bit autocast backward, channels-last convolutions
# and deterministic embedding / pooling backward of test_cuda_16bit.c; the one-launch-per-group
# optimizers of test_cuda_optim_mt.c; MNIST_SAMPLE training, f32 and bf16, in test_cuda_train.c)
# and then runs them again under compute-sanitizer (memcheck with leak checking, racecheck,
# initcheck; without the training tests); with NCCL and MPI, the NCCL backend's test on 2 ranks
# when the machine has 2 GPUs (1 rank otherwise). Fails on the first problem.
#   scripts/gpu-check.sh [build-dir]        (default build-gpu)
# This builds on the GPU machine and needs our build dependencies there. On a lent machine without
# them (.library/device: no OpenBLAS, oneDNN, libpng..., nothing to fetch), build a bundle here
# with scripts/gpu-bundle.sh and run scripts/gpu-run.sh there instead.
# Environment: FASTC_DATA (default: ../shared/data, shared/data or ~/.fastc/data, the first holding
# mnist_sample.tar.gz), CUDA_HOME (default /usr/local/cuda), JOBS (default nproc), FASTC_CUDA_ARCHS
# (default: this GPU's architecture, "native"; CMake >= 3.24).
set -eu
BUILD=${1:-build-gpu}
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
JOBS=${JOBS:-$(nproc)}
ARCHS=${FASTC_CUDA_ARCHS:-native}
export PATH="$CUDA_HOME/bin:$PATH"

command -v nvcc >/dev/null || { echo "gpu-check: nvcc not found (set CUDA_HOME)" >&2; exit 1; }
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
else
  echo "gpu-check: nvidia-smi not found; is there a GPU and a driver?" >&2
fi

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DFASTC_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCHS"
cmake --build "$BUILD" -j "$JOBS" --target test_cuda test_core test_data test_learner
HAVE_NCCL=0
if cmake --build "$BUILD" --target help | grep -q test_nccl; then
  cmake --build "$BUILD" -j "$JOBS" --target test_nccl
  HAVE_NCCL=1
fi
export FASTC_FIXTURES="$PWD/tests/fixtures"
# the real data for the training test (MNIST_SAMPLE): with FASTC_DATA set, absent data fails it
if [ -z "${FASTC_DATA:-}" ]; then
  for d in "$PWD/../shared/data" "$PWD/shared/data" "$HOME/.fastc/data"; do
    if [ -f "$d/mnist_sample.tar.gz" ]; then FASTC_DATA="$d"; break; fi
  done
fi
export FASTC_DATA="${FASTC_DATA:-$PWD/../shared/data}"
echo "gpu-check: data from $FASTC_DATA"

cd "$BUILD"
echo "== test_core (device tests of the core layer)"
./test_core
echo "== test_cuda"
./test_cuda | tee test_cuda.log
if grep -q "SKIPPED" test_cuda.log; then
  echo "gpu-check: tests were SKIPPED: no usable CUDA device" >&2
  exit 1
fi

echo "== test_data, test_learner (device loaders, distributed options)"
./test_data >/dev/null
./test_learner >/dev/null

if [ "$HAVE_NCCL" = 1 ]; then
  NGPU=$(nvidia-smi -L 2>/dev/null | grep -c "^GPU" || true)
  NP=1
  [ "${NGPU:-0}" -ge 2 ] && NP=2
  MPIRUN=$(command -v mpirun || command -v mpiexec)
  echo "== test_nccl on $NP rank(s) ($NGPU GPU(s))"
  if ! "$MPIRUN" --allow-run-as-root --oversubscribe --bind-to none -np "$NP" -x OMP_NUM_THREADS=1 ./test_nccl \
      >test_nccl.log 2>&1; then
    cat test_nccl.log
    echo "gpu-check: test_nccl failed" >&2
    exit 1
  fi
  cat test_nccl.log
  if grep -q "SKIPPED" test_nccl.log; then
    echo "gpu-check: NCCL tests were SKIPPED" >&2
    exit 1
  fi
  [ "$NP" = 2 ] || echo "gpu-check: only one GPU: the NCCL test ran on one rank (no communication between GPUs)"
else
  echo "gpu-check: built without NCCL (or MPI): the NCCL backend was not tested" >&2
fi

SAN=$(command -v compute-sanitizer || echo "$CUDA_HOME/compute-sanitizer/compute-sanitizer")
if [ ! -x "$SAN" ]; then
  echo "gpu-check: compute-sanitizer not found at $SAN" >&2
  exit 1
fi
export FCT_CUDA_NO_TRAIN=1 # the training tests ran above; under the sanitizers an epoch takes minutes
echo "== compute-sanitizer memcheck (with leak check)"
"$SAN" --tool memcheck --leak-check full --error-exitcode 1 ./test_cuda
echo "== compute-sanitizer racecheck"
"$SAN" --tool racecheck --error-exitcode 1 ./test_cuda
echo "== compute-sanitizer initcheck"
"$SAN" --tool initcheck --error-exitcode 1 ./test_cuda
echo "gpu-check: all CUDA checks passed"
