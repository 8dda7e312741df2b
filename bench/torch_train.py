"""PyTorch twin of bench/bench_train.c: one full training step (forward, cross_entropy, backward,
torch.optim.SGD with momentum 0.9, grads set to None) of the same three models, same rows, names and
FLOP counts, on 2 threads; 3 warm-up steps, then the median of 10.
Run: /usr/bin/python3 bench/torch_train.py"""
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)


def bench(name, flop, model, x, target):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        loss = F.cross_entropy(model(x), target)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(3):
        step()
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    ms = sorted(times)[5]
    print("BENCH name=%s ms=%.3f gflops=%.1f" % (name, ms, flop / (ms * 1e6)), flush=True)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 8, 3, padding=1), nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(576, 4)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.c1(x)), 2, 2)
        h = F.max_pool2d(F.relu(self.c2(h)), 2, 2)
        return self.fc(torch.flatten(h, 1))


class ResBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(64, 64, 3, padding=1, bias=False), nn.Conv2d(64, 64, 3, padding=1, bias=False)
        self.bn1, self.bn2 = nn.BatchNorm2d(64), nn.BatchNorm2d(64)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        h = F.relu(self.bn1(self.c1(x)))
        h = F.relu(self.bn2(self.c2(h)) + x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


mlp = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))

bench("train_cnn_demo", 2.0 * 64 * (8 * 9 * 24 * 24 * 2 + 16 * 72 * 12 * 12 * 3 + 4 * 576 * 3), CNN(),
      torch.randn(64, 1, 24, 24), torch.randint(0, 4, (64,)))
bench("train_resblock", 2.0 * 32 * 64 * 576 * 32 * 32 * (3 + 2) + 3 * 2.0 * 32 * 64 * 10,
      ResBlock().train(), torch.randn(32, 64, 32, 32), torch.randint(0, 10, (32,)))
bench("train_mlp", 2.0 * 256 * (784 * 512 * 2 + 512 * 512 * 3 + 512 * 10 * 3), mlp,
      torch.randn(256, 784), torch.randint(0, 10, (256,)))
