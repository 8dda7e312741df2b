"""fastai's own tabular tutorial result on ADULT_SAMPLE next to fastc's, on the same split.

fastai 2.7 (TabularDataLoaders.from_csv, procs Categorify/FillMissing/Normalize, RandomSplitter(0.2,
seed=42), bs 64, tabular_learner default layers [200, 100], fit_one_cycle(3, 1e-2)) for several seeds;
its validation rows are written to a file and bench/adult_accuracy trains fastc on exactly those.

    <python with fastai> bench/fastai_adult.py [build/adult_accuracy] [n_seeds] [threads]

fastai is not a dependency of fastc: install it in a virtualenv that sees Debian's torch, e.g.
    python3 -m venv --system-site-packages /tmp/fai
    /tmp/fai/bin/pip install fastai==2.7.15 --no-deps
    /tmp/fai/bin/pip install 'fastcore<1.6' fastprogress fastdownload 'pandas<2.1' 'scikit-learn<1.4' matplotlib
FASTC_DATA: the shared data folder (adult_sample.tar.gz)."""
import os
import subprocess
import sys
import tarfile
import tempfile
import time

import numpy as np
import torch
from fastai.tabular.all import (Categorify, FillMissing, Normalize, RandomSplitter, TabularDataLoaders,
                                accuracy, range_of, set_seed, tabular_learner)
import fastai

exe = sys.argv[1] if len(sys.argv) > 1 else "build/adult_accuracy"
n_seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
torch.set_num_threads(threads)
data = os.environ.get("FASTC_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
tmp = tempfile.mkdtemp(prefix="fastai_adult_")
with tarfile.open(os.path.join(data, "adult_sample.tar.gz")) as tf:
    tf.extractall(tmp)
csv = os.path.join(tmp, "adult_sample", "adult.csv")

import pandas as pd  # noqa: E402
df = pd.read_csv(csv)
valid = RandomSplitter(valid_pct=0.2, seed=42)(range_of(df))[1]
idx_path = os.path.join(tmp, "valid_idx.txt")
with open(idx_path, "w") as f:
    f.write("\n".join(str(int(i)) for i in valid))

accs, secs = [], []
for s in range(1, n_seeds + 1):
    set_seed(s)
    t0 = time.time()
    dls = TabularDataLoaders.from_df(df, y_names="salary", valid_idx=list(valid), bs=64,
                                     cat_names=["workclass", "education", "marital-status", "occupation",
                                                "relationship", "race"],
                                     cont_names=["age", "fnlwgt", "education-num"],
                                     procs=[Categorify, FillMissing, Normalize])
    learn = tabular_learner(dls, metrics=accuracy)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(3, 1e-2)
        acc = float(learn.validate()[1])
    secs.append(time.time() - t0)
    accs.append(acc)
    print(f"FASTAI_ACC {s} {acc:.4f} {secs[-1]:.2f}", flush=True)

out = subprocess.run([exe, idx_path, str(n_seeds), "3", "1e-2", str(threads)], capture_output=True, text=True,
                     env=dict(os.environ, FASTC_EXTRACT=tmp))
print(out.stdout, end="")
if out.returncode:
    sys.exit(out.stderr)
fc = [float(l.split()[2]) for l in out.stdout.splitlines() if l.startswith("FASTC_ACC")]
fs = [float(l.split()[3]) for l in out.stdout.splitlines() if l.startswith("FASTC_ACC")]
print(f"fastai {fastai.__version__} (torch {torch.__version__}): accuracy {np.mean(accs):.4f} +- {np.std(accs):.4f}"
      f" over {n_seeds} seeds, {np.mean(secs):.1f} s per run")
print(f"fastc: accuracy {np.mean(fc):.4f} +- {np.std(fc):.4f} over {n_seeds} seeds, {np.mean(fs):.1f} s per run"
      f" (valid rows {len(valid)}, same split)")
