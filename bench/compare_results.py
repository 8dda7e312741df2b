"""Reads the RESULT lines of a fastc run and its PyTorch twin (`RESULT fastc key=value ...`, `RESULT
torch ...`) from a log and prints the accuracies and the ratio of the training times. Used by
bench/cifar10_resnet9.sh and bench/cifar10_gpu.sh. Usage: compare_results.py LOG"""
import sys

r = {}
for line in open(sys.argv[1]):
    if line.startswith("RESULT"):
        f = line.split()
        r[f[1]] = dict(x.split("=", 1) for x in f[2:])
if "fastc" not in r or "torch" not in r:
    sys.exit(f"compare_results: expected RESULT lines of fastc and torch in {sys.argv[1]}, found {sorted(r)}")
a, b = r["fastc"], r["torch"]
extra = f"; test4 fastc {a['test4_acc']} torch {b['test4_acc']}" if "test4_acc" in a and "test4_acc" in b else ""
print(f"accuracy fastc {a['test_acc']} torch {b['test_acc']} "
      f"(diff {100 * (float(a['test_acc']) - float(b['test_acc'])):+.2f} points){extra}; "
      f"time fastc {a['train_s']} s torch {b['train_s']} s (torch/fastc {float(b['train_s']) / float(a['train_s']):.2f}x)")
