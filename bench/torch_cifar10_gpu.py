"""The twin of bench/cifar10_gpu.c: the same ResNet-9, pixels, augmentation, optimizer, schedule,
batch size, epochs and precision in PyTorch, on the GPU. The pixels come from `cifar10_gpu --dump
DIR` (the same decoded JPEGs; this script needs nothing but torch). bench/cifar10_gpu.sh runs both.

Usage: torch_cifar10_gpu.py DUMP_DIR [--device cuda|cpu] [--epochs N] [--bs N] [--lr X] [--widen W]
                            [--amp bf16|f16|none] [--channels-last auto|on|off] [--compile]
(--channels-last auto, the default: on for bf16 / f16, as fastc's cuDNN convolutions)
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_resnet9 import resnet9  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("dump")
p.add_argument("--device", default="cuda")
p.add_argument("--epochs", type=int, default=10)
p.add_argument("--bs", type=int, default=512)
p.add_argument("--lr", type=float, default=1e-2)
p.add_argument("--widen", type=float, default=1.0)
p.add_argument("--amp", default="bf16", choices=["bf16", "f16", "none"])
p.add_argument("--channels-last", default="auto", choices=["auto", "on", "off"])
p.add_argument("--compile", action="store_true")
a = p.parse_args()
dev = torch.device(a.device)
if a.device == "cpu":
    torch.set_num_threads(2)
torch.manual_seed(0)
mean = torch.tensor([0.4914, 0.4822, 0.4465], device=dev).view(1, 3, 1, 1)
std = torch.tensor([0.2470, 0.2435, 0.2616], device=dev).view(1, 3, 1, 1)


def load(name):
    def raw(suffix):
        with open(os.path.join(a.dump, f"{name}_{suffix}.u8"), "rb") as f:
            return torch.frombuffer(bytearray(f.read()), dtype=torch.uint8)
    x = raw("x").view(-1, 3, 32, 32).to(dev)
    y = raw("y").long().to(dev)
    return (x.float() / 255 - mean) / std, y


xt, yt = load("train")
xv, yv = load("test")


model = resnet9(a.widen).to(dev)
channels_last = a.channels_last == "on" or (a.channels_last == "auto" and a.amp != "none")
memory_format = torch.channels_last if channels_last else torch.contiguous_format
model = model.to(memory_format=memory_format)
run = torch.compile(model) if a.compile else model

decay = [q for q in model.parameters() if q.ndim > 1]
no_decay = [q for q in model.parameters() if q.ndim <= 1]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=a.lr, betas=(0.9, 0.99), eps=1e-5)
n_batches = len(xt) // a.bs  # drop_last, as fastc's train loader
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.epochs * n_batches, pct_start=0.25,
                                            div_factor=25, final_div_factor=1e5 / 25, base_momentum=0.85,
                                            max_momentum=0.95)
amp_dtype = {"bf16": torch.bfloat16, "f16": torch.float16}.get(a.amp)
scaler = torch.cuda.amp.GradScaler(enabled=a.amp == "f16" and a.device == "cuda")


def autocast():
    return torch.autocast(a.device, dtype=amp_dtype, enabled=amp_dtype is not None)


def flip_translate(x):
    """Horizontal flip and a shift of up to 4 pixels with zero fill, as one nearest affine sample
    (the same op and distribution as fastc's FlipTranslate callback)."""
    n = x.shape[0]
    f = torch.where(torch.rand(n, device=dev) < 0.5, -1.0, 1.0)
    d = torch.randint(-4, 5, (n, 2), device=dev).float() * 2 / 31
    theta = torch.zeros(n, 2, 3, device=dev)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = f, d[:, 0], 1.0, d[:, 1]
    grid = F.affine_grid(theta, list(x.shape), align_corners=True)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=True)


def sync():
    if a.device == "cuda":
        torch.cuda.synchronize()


print(f"torch {torch.__version__}: resnet9 widen {a.widen} on {a.device}, amp {a.amp}, {len(xt)} train / "
      f"{len(xv)} test images, bs {a.bs}, {a.epochs} epochs, lr {a.lr}"
      f"{', channels_last' if channels_last else ''}{', compiled' if a.compile else ''}", flush=True)
sync()
t0 = time.time()
for epoch in range(a.epochs):
    te = time.time()
    model.train()
    perm = torch.randperm(len(xt), device=dev)
    for b in range(n_batches):
        idx = perm[b * a.bs:(b + 1) * a.bs]
        x = flip_translate(xt[idx]).contiguous(memory_format=memory_format)
        with autocast():
            loss = F.cross_entropy(run(x), yt[idx])
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        sched.step()
    model.eval()
    correct = torch.zeros((), device=dev, dtype=torch.long)
    with torch.no_grad(), autocast():
        for b in range(0, len(xv), 2 * a.bs):
            x = xv[b:b + 2 * a.bs].contiguous(memory_format=memory_format)
            correct += (run(x).argmax(1) == yv[b:b + 2 * a.bs]).sum()
    acc = correct.item() / len(xv)  # waits for the epoch's work
    print(f"epoch {epoch} train_loss {loss.item():.4f} accuracy {acc:.4f} time {time.time() - te:.2f}s", flush=True)
sync()
secs = time.time() - t0
print(f"RESULT torch test_acc={acc:.4f} train_s={secs:.2f} s_per_epoch={secs / a.epochs:.2f} device={a.device} "
      f"amp={a.amp}")
