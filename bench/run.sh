#!/usr/bin/env bash
# Runs each fastc benchmark (build/bench_<family>) and its PyTorch twin (bench/torch_<family>.py)
# on the same shapes with 2 threads, then prints one table: GFLOP/s of each and fastc/PyTorch.
# The 2-core VM is noisy (+-30% between runs), so the pair runs ROUNDS times alternating fastc and
# PyTorch, and each row keeps its best (lowest) time: interference only ever adds time.
# Usage: bench/run.sh [build-dir] (ROUNDS=3 by default; TORCH_PY=python with the PyTorch to compare
# against, default Debian's /usr/bin/python3, e.g. a venv's python with the current pip torch)
set -uo pipefail
build="${1:-build}"
torch_py="${TORCH_PY:-/usr/bin/python3}"
here="$(cd "$(dirname "$0")" && pwd)"
export OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; $(date -u +%Y-%m-%d)"
echo "PyTorch: $("$torch_py" -c 'import torch; print(torch.__version__)' 2>&1 | tail -1) ($torch_py)"
for round in $(seq "${ROUNDS:-3}"); do
for b in "$build"/bench_*; do
  fam="$(basename "$b" | sed 's/^bench_//')"
  [ -f "$b" ] && [ -x "$b" ] || continue
  echo "== round $round, $fam: fastc" >&2
  "$b" | grep '^BENCH' >> "$tmp/$fam.fastc" || true
  if [ -f "$here/torch_$fam.py" ]; then
    echo "== round $round, $fam: PyTorch" >&2
    "$torch_py" "$here/torch_$fam.py" | grep '^BENCH' >> "$tmp/$fam.torch" || true
  fi
done
done
/usr/bin/python3 - "$tmp" <<'PY'
import glob, os, sys
def load(p):
    rows = {}
    if os.path.exists(p):
        for line in open(p):
            kv = dict(x.split("=", 1) for x in line.split()[1:])
            best = rows.get(kv["name"])
            if best is None or float(kv["ms"]) < float(best["ms"]):
                rows[kv["name"]] = kv
    return rows
print("%-34s %12s %12s %12s %12s %8s" % ("benchmark", "fastc ms", "torch ms", "fastc GF/s", "torch GF/s", "ratio"))
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.fastc"))):
    ours, theirs = load(f), load(f[:-6] + ".torch")
    for name, r in ours.items():
        t = theirs.get(name)
        ratio = float(t["ms"]) / float(r["ms"]) if t else float("nan")
        print("%-34s %12s %12s %12s %12s %8.2f" % (name, r["ms"], t["ms"] if t else "-", r.get("gflops", "-"),
              t.get("gflops", "-") if t else "-", ratio))
print("ratio = PyTorch time / fastc time (> 1: fastc is faster)")
PY
