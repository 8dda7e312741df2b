#!/usr/bin/env bash
# CIFAR-10 ResNet-9 on a GPU, side by side (issue 9's benchmark): fastc (build/cifar10_gpu, which
# also dumps the decoded pixels) then PyTorch (bench/torch_cifar10_gpu.py) on the same pixels and
# the same recipe, then the accuracies and the ratio of their training times.
# Usage: bench/cifar10_gpu.sh [options for both: --epochs N --bs N --lr X --widen W --amp bf16|f16|none
#                              --channels-last auto|on|off --device cuda|cpu
#                              --keep K (fastc only: a subset for a quick check)]
# Environment: BUILD (default ../build), TORCH_PY (default python3), TORCH_ARGS (extra options for
# the PyTorch side only, e.g. "--compile"), FASTC_DATA.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${BUILD:-$here/../build}"
py="${TORCH_PY:-python3}"
export FASTC_DATA="${FASTC_DATA:-$here/../../shared/data}" FASTC_EXTRACT="$build/bench_data"
mkdir -p "$FASTC_EXTRACT"
dump="$(mktemp -d)"
out="$(mktemp)"
trap 'rm -rf "$dump" "$out"' EXIT
fastc_args=("$@")
torch_args=()
while [ $# -gt 0 ]; do # --keep is fastc's (the dump already holds the subset)
  if [ "$1" = "--keep" ]; then shift 2; continue; fi
  torch_args+=("$1"); shift
done
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores;" \
     "$(command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1);" \
     "$(date -u +%Y-%m-%dT%H:%MZ)"
"$build/cifar10_gpu" "${fastc_args[@]}" --dump "$dump" | tee "$out"
# shellcheck disable=SC2086
"$py" "$here/torch_cifar10_gpu.py" "$dump" "${torch_args[@]}" ${TORCH_ARGS:-} | tee -a "$out"
"$py" "$here/compare_results.py" "$out"
