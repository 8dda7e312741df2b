"""PyTorch twin of bench/bench_conv.c: same rows, same FLOP count, same output lines.
Run: /usr/bin/python3 bench/torch_conv.py"""
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)
N_RUNS = 5


def bench_row(name, n, c, hw):
    x = torch.randn(n, c, hw, hw, requires_grad=True)
    w = (torch.randn(c, c, 3, 3) * 0.05).requires_grad_()
    dy = torch.randn(n, c, hw, hw)
    times = []
    for r in range(N_RUNS + 1):  # run 0 warms up
        t0 = time.perf_counter()
        x.grad = w.grad = None
        F.conv2d(x, w, padding=1).backward(dy)
        times.append((time.perf_counter() - t0) * 1e3)
    ms = sorted(times[1:])[N_RUNS // 2]
    flops = 3.0 * 2 * n * c * c * hw * hw * 9
    print("BENCH name=%s ms=%.1f gflops=%.1f" % (name, ms, flops / ms * 1e-6), flush=True)


bench_row("conv3x3_c64_32x32", 128, 64, 32)
bench_row("conv3x3_c128_16x16", 128, 128, 16)
bench_row("conv3x3_c256_16x16", 128, 256, 16)
