"""PyTorch twin of bench/collab_bench.c: fastai's EmbeddingDotBias(50) and EmbeddingNN (emb_sz_rule
sizes, layers [50], BatchNorm, y_range (0, 5.5)) trained on the same ml-100k rows (the codes and the
split written by collab_bench to a file), batch 64, shuffled, last partial batch dropped, MSE, fastai's
Adam (0.9/0.99, eps 1e-5, decoupled wd 0.1 -- the optimizer is torch.optim.AdamW with those
settings), a one-cycle lr schedule stepped per batch, 2 threads. Times the training phase of one
epoch (the loop over the training batches: indexing, forward, loss, backward, step, zero_grad) after
a warm-up epoch, like the C side. Prints BENCH lines.
Run: /usr/bin/python3 bench/torch_collab.py build/collab_bench_rows.bin"""
import math
import struct
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(2)
torch.manual_seed(0)


def trunc_normal_(w, std=0.01):
    with torch.no_grad():
        return w.normal_().fmod_(2).mul_(std)


def embedding(ni, nf):
    e = nn.Embedding(ni, nf)
    trunc_normal_(e.weight)
    return e


def sigmoid_range(x, lo, hi):
    return torch.sigmoid(x) * (hi - lo) + lo


class EmbeddingDotBias(nn.Module):
    def __init__(self, n_factors, n_users, n_items, y_range=(0, 5.5)):
        super().__init__()
        self.y_range = y_range
        self.u_weight, self.i_weight = embedding(n_users, n_factors), embedding(n_items, n_factors)
        self.u_bias, self.i_bias = embedding(n_users, 1), embedding(n_items, 1)

    def forward(self, x):
        users, items = x[:, 0], x[:, 1]
        dot = self.u_weight(users) * self.i_weight(items)
        res = dot.sum(1) + self.u_bias(users).squeeze() + self.i_bias(items).squeeze()
        return sigmoid_range(res, *self.y_range)


class EmbeddingNN(nn.Module):
    """fastai's TabularModel(emb_szs, n_cont=0, out_sz=1, layers=[n_factors], y_range)."""

    def __init__(self, emb_szs, layers, y_range=(0, 5.5)):
        super().__init__()
        self.embeds = nn.ModuleList([embedding(ni, nf) for ni, nf in emb_szs])
        self.emb_drop = nn.Dropout(0.0)
        sizes = [sum(nf for _, nf in emb_szs)] + layers
        mods = []
        for i in range(len(layers)):  # LinBnDrop(n_in, n_out, bn=True, lin_first=True): Linear, ReLU, BN
            mods += [nn.Sequential(nn.Linear(sizes[i], sizes[i + 1], bias=False), nn.ReLU(inplace=True),
                                   nn.BatchNorm1d(sizes[i + 1]))]
        mods.append(nn.Sequential(nn.Linear(sizes[-1], 1)))
        self.layers = nn.Sequential(*mods)
        self.y_range = y_range

    def forward(self, x):
        x = torch.cat([e(x[:, i]) for i, e in enumerate(self.embeds)], 1)
        x = self.layers(self.emb_drop(x))
        return sigmoid_range(x, *self.y_range).squeeze(1)


def emb_sz_rule(n):
    return min(600, round(1.6 * n ** 0.56))


def one_cycle(total, lr_max, pct=0.25, div=25.0, div_final=1e5):
    """fastai's combined cosine schedule: lr and beta1 per step."""
    def cos(a, b, p):
        return b + (a - b) / 2 * (math.cos(math.pi * p) + 1)
    out = []
    for i in range(total):
        p = i / total
        if p < pct:
            q = p / pct
            out.append((cos(lr_max / div, lr_max, q), cos(0.95, 0.85, q)))
        else:
            q = (p - pct) / (1 - pct)
            out.append((cos(lr_max, lr_max / div_final, q), cos(0.85, 0.95, q)))
    return out


def train_epoch(model, opt, x, y, bs, sched, g):
    model.train()
    perm = torch.randperm(len(x), generator=g)
    n = len(x) // bs
    for b in range(n):
        lr, mom = sched[b]
        for grp in opt.param_groups:
            grp["lr"], grp["betas"] = lr, (mom, 0.99)
        idx = perm[b * bs:(b + 1) * bs]
        xb, yb = x[idx], y[idx]
        loss = nn.functional.mse_loss(model(xb), yb.view(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return n * bs


def valid_mse(model, x, y, bs):
    model.eval()
    with torch.no_grad():
        tot = 0.0
        for b in range(0, len(x), bs):
            tot += nn.functional.mse_loss(model(x[b:b + bs]), y[b:b + bs].view(-1), reduction="sum").item()
    return tot / len(x)


def main():
    with open(sys.argv[1], "rb") as f:
        n_users, n_items, n_train, n_valid = struct.unpack("<4q", f.read(32))
        xt = torch.frombuffer(bytearray(f.read(16 * n_train)), dtype=torch.int64).view(n_train, 2)
        yt = torch.frombuffer(bytearray(f.read(4 * n_train)), dtype=torch.float32).view(n_train, 1)
        xv = torch.frombuffer(bytearray(f.read(16 * n_valid)), dtype=torch.int64).view(n_valid, 2)
        yv = torch.frombuffer(bytearray(f.read(4 * n_valid)), dtype=torch.float32).view(n_valid, 1)
    bs = 64
    models = {
        "dot_bias": lambda: EmbeddingDotBias(50, n_users, n_items),
        "nn": lambda: EmbeddingNN([(n_users, emb_sz_rule(n_users)), (n_items, emb_sz_rule(n_items))], [50]),
    }
    for name, make in models.items():
        model = make()
        opt = torch.optim.AdamW(model.parameters(), lr=5e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.1)
        n_batches = n_train // bs
        g = torch.Generator().manual_seed(42)
        sched = one_cycle(n_batches, 5e-3)
        train_epoch(model, opt, xt, yt, bs, sched, g)  # warm-up epoch
        t0, c0 = time.perf_counter(), time.process_time()
        rows = train_epoch(model, opt, xt, yt, bs, sched, g)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        print("BENCH name=torch_collab_%s rows_per_s=%.0f epoch_s=%.3f cpu_s=%.3f valid_mse=%.4f"
              % (name, rows / dt, dt, dc, valid_mse(model, xv, yv, bs)), flush=True)


if __name__ == "__main__":
    main()
