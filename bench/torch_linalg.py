"""PyTorch twin of bench/bench_linalg.c: the same rows, names and FLOP counts, on 2 threads.
Run: /usr/bin/python3 bench/torch_linalg.py"""
import time

import torch

torch.set_num_threads(2)
torch.manual_seed(0)


def bench(name, flop, n_runs, fn):
    fn()  # warm-up
    times = []
    for _ in range(n_runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    ms = sorted(times)[n_runs // 2]
    print("BENCH name=%s ms=%.3f gflops=%.1f" % (name, ms, flop / (ms * 1e6)), flush=True)


for n in (1024, 2048, 4096):
    a, b = torch.randn(n, n), torch.randn(n, n)
    with torch.no_grad():
        bench("matmul_%d" % n, 2.0 * n ** 3, 3 if n >= 4096 else 7, lambda: torch.matmul(a, b))

for i, o in ((784, 1024), (1024, 1024), (1024, 10)):
    bs = 256
    x = torch.randn(bs, i, requires_grad=True)
    w = torch.randn(o, i, requires_grad=True)
    b = torch.randn(o, requires_grad=True)
    dy = torch.randn(bs, o)

    def run():
        x.grad = w.grad = b.grad = None
        torch.nn.functional.linear(x, w, b).backward(dy)

    bench("linear_fwd_bwd_%dx%d" % (i, o), 6.0 * bs * i * o, 9, run)

T, B, I, H = 16, 64, 1024, 1024
lstm = torch.nn.LSTM(I, H)
x = torch.randn(T, B, I, requires_grad=True)
dy = torch.randn(T, B, H)


def run_lstm():
    x.grad = None
    lstm.zero_grad(set_to_none=True)
    y, _ = lstm(x)
    y.backward(dy)


bench("lstm_fwd_bwd_T16_B64_H1024", 3.0 * 2.0 * T * B * 4 * H * (I + H), 5, run_lstm)
