"""Twin of bench_image_loading.c: PIL decode + numpy + torch.from_numpy(...).permute(2, 0, 1)
.contiguous().float().div(255) (torchvision's ToTensor, which is not installed here) for the same files, on 1
and 2 threads (a thread pool over the two halves of the list; PIL releases the GIL while decoding).
Two workers are two processes (a fork pool made before timing, like a DataLoader with
num_workers=2 and persistent workers; they return only a checksum, so no tensor transfer is counted):
Python threads do worse here, the GIL serializes the per-image overhead (row *_py_threads).
The folders come from the fastc bench ($FASTC_EXTRACT, else build/bench_data): run it first."""
import multiprocessing
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
DEST = os.environ.get("FASTC_EXTRACT") or os.path.join(HERE, "..", "build", "bench_data")


def files(folder, ext):
    return [os.path.join(folder, f) for f in sorted(os.listdir(folder)) if f.endswith(ext)]


def load(paths):
    s = 0.0
    for p in paths:
        with Image.open(p) as im:
            a = np.array(im, copy=True)  # as torchvision's to_tensor
        t = torch.from_numpy(a)
        t = t[None] if t.dim() == 2 else t.permute(2, 0, 1).contiguous()
        t = t.float().div(255)
        s += float(t.reshape(-1)[t.numel() // 2])
    return s


def run(paths, n_workers, pool=None):
    t0 = time.perf_counter()
    if n_workers == 1:
        load(paths)
    else:
        half = (len(paths) + 1) // 2
        parts = [paths[:half], paths[half:]]
        if pool is None:
            with ThreadPoolExecutor(2) as ex:
                list(ex.map(load, parts))
        else:
            pool.map(load, parts)
    return (time.perf_counter() - t0) * 1e3


def bench(name, paths, pool):
    run(paths, 1)
    for label, n, p in (("1thread", 1, None), ("2thread", 2, pool), ("2thread_py_threads", 2, None)):
        t = sorted(run(paths, n, p) for _ in range(5))[2]
        print("BENCH name=%s_%s ms=%.3f gflops=0 images=%d images_per_s=%.0f"
              % (name, label, t, len(paths), 1e3 * len(paths) / t), flush=True)


def main():
    mnist, cifar = os.path.join(DEST, "mnist_sample"), os.path.join(DEST, "cifar10")
    if not os.path.isdir(mnist) or not os.path.isdir(cifar):
        sys.exit("torch_image_loading: no extracted data under %s: run build/bench_image_loading first" % DEST)
    png = files(os.path.join(mnist, "train", "3"), ".png")
    classes = "airplane automobile bird cat deer dog frog horse ship truck".split()
    jpg = [p for c in classes for p in files(os.path.join(cifar, "test", c), ".jpg")]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        bench("decode_png_mnist28x28", png, pool)
        bench("decode_jpeg_cifar32x32", jpg, pool)


if __name__ == "__main__":
    main()
