"""PyTorch twin of bench/bench_ops.c: the same rows and names, forward + backward on 2 threads,
one warm-up then the median of 5. Run: /usr/bin/python3 bench/torch_ops.py
Note: PyTorch's CPU allocator does not cache, so each fresh 64 MB activation or gradient is a new
mmap that page-faults on first touch; on the [64, 256, 32, 32] rows that (high sys time) is much of
PyTorch's time, where fastc's caching allocator reuses its blocks."""
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)


def bench(name, fwd, leaves, dy):
    def run():
        for t in leaves:
            t.grad = None
        y = fwd()
        if dy is None:
            y.backward()
        else:
            y.backward(dy)
        for t in leaves:
            t.grad = None

    run()  # warm-up
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
    print("BENCH name=%s ms=%.3f gflops=0" % (name, sorted(times)[2]), flush=True)


IMG = (64, 256, 32, 32)


def leaf(t):
    return t.requires_grad_()


for name, f in (("relu", torch.relu), ("gelu", F.gelu), ("sigmoid", torch.sigmoid),
                ("tanh", torch.tanh)):
    x = leaf(torch.randn(IMG))
    bench(name + "_64x256x32x32", lambda: f(x), [x], torch.randn(IMG))
    del x

x, b = leaf(torch.randn(IMG)), leaf(torch.randn(256, 1, 1))
bench("add_bcast_64x256x32x32+256x1x1", lambda: x + b, [x, b], torch.randn(IMG))

z = leaf(torch.randn(4096, 1000))
bench("softmax_4096x1000", lambda: torch.softmax(z, 1), [z], torch.randn(4096, 1000))
target = torch.randint(0, 1000, (4096,), dtype=torch.int64)
bench("cross_entropy_4096x1000", lambda: F.cross_entropy(z, target), [z], None)

x, w, b = leaf(torch.randn(IMG)), leaf(torch.ones(256)), leaf(torch.zeros(256))
rm, rv = torch.zeros(256), torch.ones(256)
bench("batch_norm_train_64x256x32x32",
      lambda: F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5), [x, w, b],
      torch.randn(IMG))

h, w, b = leaf(torch.randn(4096, 1024)), leaf(torch.ones(1024)), leaf(torch.zeros(1024))
bench("layer_norm_4096x1024", lambda: F.layer_norm(h, (1024,), w, b, 1e-5), [h, w, b],
      torch.randn(4096, 1024))

x = leaf(torch.randn(IMG))
bench("max_pool2d_2x2_64x256x32x32", lambda: F.max_pool2d(x, 2, 2), [x], torch.randn(64, 256, 16, 16))

emb = leaf(torch.randn(50000, 400))
idx = torch.randint(0, 50000, (64, 70), dtype=torch.int64)
bench("embedding_50000x400_idx64x70", lambda: F.embedding(idx, emb), [emb], torch.randn(64, 70, 400))

bench("dropout_0.5_64x256x32x32", lambda: F.dropout(x, 0.5, True), [x], torch.randn(IMG))
