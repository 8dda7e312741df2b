"""PyTorch twin of bench/bench_augment.c: same rows, same output lines.

affine_sample_*: F.affine_grid + F.grid_sample (bilinear, reflection, align_corners=True) with the
same random thetas. aug_transforms_*: the work fastai 2.7's aug_transforms does on a batch, written
out with its formulas (fastai is not installed): per-image flip / rotate / zoom matrices, affine_grid,
the perspective warp of the grid (find_coeffs + apply_perspective), grid_sample, then Brightness and
Contrast in logit space. Run: /usr/bin/python3 bench/torch_augment.py
"""
import math
import os
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))  # bench/run.sh: 2
torch.manual_seed(0)
N_RUNS = 7


def report(name, times, n):
    ms = sorted(times)[N_RUNS // 2]
    print("BENCH name=%s ms=%.2f img_per_s=%.0f" % (name, ms, n / ms * 1e3), flush=True)


def bench_sample(n, hw):
    x = torch.rand(n, 3, hw, hw)
    theta = torch.eye(2, 3).repeat(n, 1, 1) + 0.2 * (torch.rand(n, 2, 3) - 0.5)
    times = []
    for r in range(N_RUNS + 1):
        t0 = time.perf_counter()
        grid = F.affine_grid(theta, (n, 3, hw, hw), align_corners=True)
        F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=True)
        if r:
            times.append((time.perf_counter() - t0) * 1e3)
    report("affine_sample_%dx3x%dx%d" % (n, hw, hw), times, n)


def mask(v, p, neutral):
    keep = torch.rand(v.shape[0]) < p
    return torch.where(keep, v, torch.full_like(v, neutral))


def find_coeffs(p1, p2):
    m = []
    p = p1[:, 0, 0]
    one, zero = torch.ones_like(p), torch.zeros_like(p)
    for i in range(p1.shape[1]):
        m.append(torch.stack([p2[:, i, 0], p2[:, i, 1], one, zero, zero, zero, -p1[:, i, 0] * p2[:, i, 0], -p1[:, i, 0] * p2[:, i, 1]]))
        m.append(torch.stack([zero, zero, zero, p2[:, i, 0], p2[:, i, 1], one, -p1[:, i, 1] * p2[:, i, 0], -p1[:, i, 1] * p2[:, i, 1]]))
    a = torch.stack(m).permute(2, 0, 1)
    b = p1.reshape(p1.shape[0], 8, 1)
    return torch.linalg.solve(a, b)


def apply_perspective(coords, coeffs):
    sz = coords.shape
    coords = coords.view(sz[0], -1, 2)
    coeffs = torch.cat([coeffs, torch.ones_like(coeffs[:, :1])], dim=1).view(coeffs.shape[0], 3, 3)
    coords1 = coords @ coeffs[..., :2].transpose(1, 2) + coeffs[..., 2].unsqueeze(1)
    coords = coords1 / coords1[..., 2].unsqueeze(-1)
    return coords[..., :2].view(*sz)


def logit(x):
    x = x.clamp(1e-7, 1 - 1e-7)
    return -(1 / x - 1).log()


def aug(x, max_rotate=10.0, min_zoom=1.0, max_zoom=1.1, max_lighting=0.2, max_warp=0.2, p_affine=0.75, p_lighting=0.75):
    n, _, h, w = x.shape
    flip = 1 - 2 * mask(torch.ones(n), 0.5, 0.0)
    eye = torch.eye(3).repeat(n, 1, 1)
    f = eye.clone()
    f[:, 0, 0] = flip
    th = mask(torch.empty(n).uniform_(-max_rotate, max_rotate), p_affine, 0.0) * math.pi / 180
    r = eye.clone()
    r[:, 0, 0], r[:, 0, 1], r[:, 1, 0], r[:, 1, 1] = th.cos(), th.sin(), -th.sin(), th.cos()
    s = 1 / mask(torch.empty(n).uniform_(min_zoom, max_zoom), p_affine, 1.0)
    z = eye.clone()
    z[:, 0, 0], z[:, 1, 1] = s, s
    z[:, 0, 2] = (1 - s) * (2 * torch.rand(n) - 1)
    z[:, 1, 2] = (1 - s) * (2 * torch.rand(n) - 1)
    m = f @ r @ z
    m[:, 0, 1] *= h / w
    m[:, 1, 0] *= w / h
    grid = F.affine_grid(m[:, :2], x.shape, align_corners=True)
    xt = mask(torch.empty(n).uniform_(-max_warp, max_warp), p_affine, 0.0)
    yt = mask(torch.empty(n).uniform_(-max_warp, max_warp), p_affine, 0.0)
    orig = torch.tensor([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=x.dtype).unsqueeze(0).expand(n, 4, 2)
    targ = torch.stack([torch.stack([-1 - yt, -1 - xt]), torch.stack([-1 + yt, 1 + xt]),
                        torch.stack([1 + yt, -1 + xt]), torch.stack([1 - yt, 1 - xt])]).permute(2, 0, 1)
    grid = apply_perspective(grid, find_coeffs(orig, targ))
    y = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=True)
    if not max_lighting:
        return y
    b = mask(torch.empty(n).uniform_(0.5 * (1 - max_lighting), 0.5 * (1 + max_lighting)), p_lighting, 0.5)
    c = mask(torch.empty(n).uniform_(math.log(1 - max_lighting), -math.log(1 - max_lighting)).exp(), p_lighting, 1.0)
    return torch.sigmoid((logit(y) + logit(b)[:, None, None, None]) * c[:, None, None, None])


def bench_aug(n, hw, lighting):
    x = torch.rand(n, 3, hw, hw)
    times = []
    for r in range(N_RUNS + 1):
        t0 = time.perf_counter()
        aug(x, max_lighting=0.2 if lighting else 0.0)
        if r:
            times.append((time.perf_counter() - t0) * 1e3)
    report("aug_%s_%dx3x%dx%d" % ("transforms" if lighting else "geometry_only", n, hw, hw), times, n)


with torch.no_grad():
    bench_sample(64, 32)
    bench_sample(64, 224)
    bench_aug(64, 32, True)
    bench_aug(64, 224, True)
    bench_aug(64, 224, False)
