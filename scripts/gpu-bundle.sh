#!/bin/sh
# Packs what a GPU machine without our build dependencies needs to run issue 9's checks: the lent
# GPU machines (.library/device) have CUDA, cuDNN (PyTorch's wheels), CMake and PyTorch but not
# OpenBLAS, oneDNN, libpng/jpeg, cairo or libarchive, fetch nothing, and take at most 64 MiB of
# files. So: build here (x86-64-v3: AVX2 + FMA, runs on any recent x86 server; CUDA for sm_90 =
# H100/H200), keep the device test programs and the CIFAR-10 race, bundle every shared library
# they load except glibc, libstdc++ and the CUDA libraries (the GPU machine has its own), compress,
# and add the datasets they read. scripts/gpu-run.sh unpacks and runs it there.
#   scripts/gpu-bundle.sh [OUT_DIR]     (default .gpu, which .git/info/exclude should list)
# Environment: FASTC_DATA (default ../shared/data), CUDA_ARCH (default 90), JOBS (default nproc).
# Then, with the device tool: run(command="scripts/gpu-run.sh", carry=[".gpu"]).
set -eu
OUT=${1:-.gpu}
DATA=${FASTC_DATA:-$(cd "$(dirname "$0")/.." && pwd)/../shared/data}
ARCH=${CUDA_ARCH:-90}
JOBS=${JOBS:-$(nproc)}
BUILD=build-gpu-bundle
PROGS="test_cuda test_core test_data test_learner cifar10_gpu"

for f in mnist_sample.tar.gz cifar10_jpg.tar.gz; do
  [ -f "$DATA/$f" ] || { echo "gpu-bundle: no $DATA/$f (set FASTC_DATA)" >&2; exit 1; }
done
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DFASTC_CUDA=ON -DFASTC_MPI=OFF -DFASTC_NATIVE=OFF \
  -DCMAKE_C_FLAGS=-march=x86-64-v3 -DCMAKE_CXX_FLAGS=-march=x86-64-v3 -DCMAKE_CUDA_ARCHITECTURES="$ARCH" >/dev/null
# shellcheck disable=SC2086
cmake --build "$BUILD" -j "$JOBS" --target $PROGS

rm -rf "$OUT"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$OUT"
for p in $PROGS; do cp "$BUILD/$p" "$stage/bin/"; done
# the shared libraries they load, but not glibc / libstdc++ / libgcc (the GPU machine's newer ones
# serve binaries built against Debian 12's) nor CUDA's (its driver-matched ones)
for p in $PROGS; do ldd "$BUILD/$p"; done | awk '$3 ~ /^\// {print $3}' | sort -u |
  grep -v -E '/(libc|libm|libpthread|libdl|librt|ld-linux-x86-64|libstdc\+\+|libgcc_s)\.so' |
  grep -v -E 'libcuda|libcudart|libcublas|libcudnn|libnccl|libnvrtc|libnvJitLink' |
  while read -r lib; do cp -L "$lib" "$stage/lib/"; done
tar -C "$stage" -cJf "$OUT/fastc-gpu.tar.xz" bin lib
cp "$DATA/mnist_sample.tar.gz" "$DATA/cifar10_jpg.tar.gz" "$OUT/"
echo "gpu-bundle: $(du -sh "$OUT" | cut -f1) in $OUT ($(ls "$stage/lib" | wc -l) libraries); the limit is 64 MiB"
