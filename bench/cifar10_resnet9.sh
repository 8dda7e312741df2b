#!/usr/bin/env bash
# CIFAR-10 ResNet-9 side by side: fastc (build/cifar10_resnet9) then PyTorch
# (bench/torch_cifar10_resnet9.py), same recipe, then the ratio of their training times.
# Usage: bench/cifar10_resnet9.sh [EPOCHS WIDEN BS LR KEEP] (default 5 0.25 256 1e-2 1)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${BUILD:-$here/../build}"
args=("${1:-5}" "${2:-0.25}" "${3:-256}" "${4:-1e-2}" "${5:-1}")
export FASTC_DATA="${FASTC_DATA:-$here/../../shared/data}" FASTC_EXTRACT="$build/bench_data"
export OMP_NUM_THREADS=2
mkdir -p "$FASTC_EXTRACT"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; $(date -u +%Y-%m-%d)"
out="$(mktemp)"
"$build/cifar10_resnet9" "${args[@]}" | tee "$out"
/usr/bin/python3 "$here/torch_cifar10_resnet9.py" "$FASTC_EXTRACT" "${args[@]}" | tee -a "$out"
/usr/bin/python3 "$here/compare_results.py" "$out"
rm -f "$out"
