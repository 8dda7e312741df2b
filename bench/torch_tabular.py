"""PyTorch side of the tabular benchmark: the same TabularModel (a port of fastai 2.7's, from
tests/fixtures/gen_tabular.py) trained with AdamW (fastai's Adam: betas (0.9, 0.99), eps 1e-5, true
weight decay 0.01) under a one-cycle schedule (fastai's: cosine, pct_start 0.25, div 25, div_final
1e5, momentum 0.95 -> 0.85 -> 0.95) on the rows bench/tabular_bench wrote: same bs, threads, data.

    python3 bench/torch_tabular.py [build/tabular_bench] [bs] [epochs] [threads]

Runs the fastc program first (it writes the processed rows), then this loop, and prints both rates
and their ratio."""
import os
import re
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))
from gen_tabular import TabularModel, emb_sz_rule  # noqa: E402


def load(path):
    with open(path, "rb") as f:
        head = f.readline().split()
        n, w, n_cat, n_cont, n_out = (int(v) for v in head[1:6])
        card = [int(v) for v in head[6:6 + n_cat]]
        x = np.frombuffer(f.read(4 * n * w), dtype=np.float32).reshape(n, w)
        y = np.frombuffer(f.read(8 * n), dtype=np.int64)
    return torch.from_numpy(x.copy()), torch.from_numpy(y.copy()), n_cat, n_cont, n_out, card


def main():
    exe = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build", "tabular_bench")
    bs = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    data = "/tmp/tabular_bench_data.bin"
    out = subprocess.run([exe, data, str(bs), str(epochs), str(threads)], check=True, capture_output=True,
                         text=True).stdout
    print(out.strip())
    fastc_rate = float(re.search(r"FASTC_ROWS_PER_S (\S+)", out).group(1))

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x, y, n_cat, n_cont, n_out, card = load(data)
    x_cat, x_cont = x[:, :n_cat].long(), x[:, n_cat:].contiguous()
    model = TabularModel([(c, emb_sz_rule(c)) for c in card], n_cont, n_out, [200, 100])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01)
    n_batches = len(y) // bs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=n_batches * epochs, pct_start=0.25,
                                                div_factor=25, final_div_factor=1e5, base_momentum=0.85,
                                                max_momentum=0.95)
    model.train()
    t0 = time.perf_counter()
    for epoch in range(epochs):
        perm = torch.randperm(len(y))
        for b in range(n_batches):
            idx = perm[b * bs:(b + 1) * bs]
            loss = F.cross_entropy(model(x_cat[idx], x_cont[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    sec = time.perf_counter() - t0
    torch_rate = n_batches * epochs * bs / sec
    print("pytorch %s tabular: %d epochs bs %d threads %d: %.0f ms, last loss %.4f" %
          (torch.__version__, epochs, bs, threads, sec * 1e3, loss.item()))
    print("rows/s: fastc %.0f, pytorch %.0f, ratio %.2fx" % (fastc_rate, torch_rate, fastc_rate / torch_rate))


if __name__ == "__main__":
    main()
