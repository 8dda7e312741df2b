"""PyTorch twin of bench/lstm_lm_bench.c: the AWD-LSTM language model ported from fastai 2.7
(tests/fixtures/gen_text_models.py; fastai's default dropouts: embed 0.1, input 0.25, hidden 0.15,
weight 0.2, output 0.1), one full step (forward, cross entropy, backward, Adam, grads set to None)
on random tokens, 2 threads, 2 warm-up steps then the median.
Run: /usr/bin/python3 bench/torch_lstm_lm.py [all|big|small] [steps]"""
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from gen_text_models import AWD_LSTM, LinearDecoder  # noqa: E402

torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
CONFIGS = [("big", 10000, 400, 1152, 3, 64, 72, 3), ("small", 2000, 128, 256, 2, 32, 72, 10)]


def run(name, V, E, H, L, bs, seq, steps):
    torch.manual_seed(0)
    awd = AWD_LSTM(V, E, H, L, hidden_p=0.15, input_p=0.25, embed_p=0.1, weight_p=0.2)
    model = nn.Sequential(awd, LinearDecoder(V, E, 0.1, tie_encoder=awd.encoder))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randint(0, V, (bs, seq))
    y = torch.randint(0, V, (bs * seq,))
    times = []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(x).view(-1, V), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append((time.perf_counter() - t0) * 1e3)
    ms = sorted(times[2:])[steps // 2]
    print("BENCH name=lstm_lm_%s ms=%.1f tokens_per_s=%.0f loss=%.3f" % (name, ms, bs * seq / (ms / 1e3), loss.item()),
          flush=True)


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    for c in CONFIGS:
        if which in ("all", c[0]):
            run(*c[:7], steps or c[7])
