"""Cross-check for issue 7 (ULMFiT gap on the IMDB sample): trains fastai's text classifier (the
PyTorch port of fastai 2.7's AWD_LSTM / SentenceEncoder / PoolingLinearClassifier in
tests/fixtures/gen_text_models.py) on the documents fastc numericalized (bench/ulmfit_diag.c dump),
from random weights or from a fastc encoder file (.fce: its safetensors part), with fastai's
one-cycle Adam (decoupled wd 0.01 off BatchNorm, eps 1e-5, sqr_mom 0.99), SortedDL batching,
pad_input_chunk and RNNRegularizer (AR/TAR on the encoder outputs). With `lm`, trains the IMDB
language model instead (from random weights, on all documents) and writes its encoder as .fce so
that fastc's classifier can read it.

  /usr/bin/python3 bench/torch_ulmfit_check.py clas DATA_DIR ENC|random EMB HID LAYERS EPOCHS LR DROP_MULT [moms=0.8]
  /usr/bin/python3 bench/torch_ulmfit_check.py lm DATA_DIR TEMPLATE.fce EMB HID LAYERS EPOCHS LR OUT.fce
(DATA_DIR: the folder written by `ulmfit_diag dump`; TEMPLATE.fce: any fastc encoder file on the
same vocabulary, for its vocabulary block.)
"""
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
from gen_text_models import (AWD_LSTM, LinearDecoder, PoolingLinearClassifier,  # noqa: E402
                             SentenceEncoder)

torch.set_num_threads(1)


def read_docs(path):
    b = open(path, "rb").read()
    n = struct.unpack_from("<q", b, 0)[0]
    at, docs, labels = 8, [], []
    for _ in range(n):
        lab, ln = struct.unpack_from("<qq", b, at)
        at += 16
        docs.append(np.frombuffer(b, dtype="<i8", count=ln, offset=at).copy())
        labels.append(lab)
        at += 8 * ln
    return docs, np.array(labels)


def read_fce(path):
    b = open(path, "rb").read()
    assert b[:8] == b"FCENC01\n"
    _, vb = struct.unpack_from("<QQ", b, 8)
    off = 24 + vb
    w = b[off + 8:]
    hl = struct.unpack_from("<Q", w, 0)[0]
    head = json.loads(w[8:8 + hl])
    data = w[8 + hl:]
    out = {}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[s:e], dtype="<f4").reshape(v["shape"]).copy())
    return b[:off], out


def write_fce(path, vocab_block, sd):
    head, blobs, at = {"__metadata__": {"format": "pt"}}, [], 0
    for k, t in sd.items():
        a = t.detach().contiguous().numpy().astype("<f4").tobytes()
        head[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [at, at + len(a)]}
        blobs.append(a)
        at += len(a)
    hj = json.dumps(head).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    st = struct.pack("<Q", len(hj)) + hj + b"".join(blobs)
    with open(path + ".tmp", "wb") as f:
        f.write(vocab_block + struct.pack("<Q", len(st)) + st)
    os.replace(path + ".tmp", path)


def awd_state(awd):
    return {k: v for k, v in awd.named_parameters()}


def pad_chunk(docs, seq_len=72, pad=1):
    ml = max(len(d) for d in docs)
    x = np.full((len(docs), ml), pad, dtype=np.int64)
    for r, d in enumerate(docs):
        lp = ml - len(d)
        nc = lp // seq_len * seq_len
        x[r, nc:nc + len(d)] = d
    return torch.from_numpy(x)


def sorted_batches(docs, labels, bs, rng, train):
    lens = np.array([len(d) for d in docs])
    if not train:
        idx = np.argsort(-lens, kind="stable")
        return [idx[i:i + bs] for i in range(0, len(idx), bs)]
    idx = rng.permutation(len(docs))
    sz = bs * 50
    chunks = [idx[i:i + sz] for i in range(0, len(idx), sz)]
    idx = np.concatenate([c[np.argsort(-lens[c], kind="stable")] for c in chunks])
    batches = [idx[i:i + bs] for i in range(0, len(idx), bs)]
    first = batches[0]
    rest = batches[1:]
    rng.shuffle(rest)
    return [first] + rest


def one_cycle(pct, n, lo, hi, end):
    """fastai's combined_cos(pct, lo, hi, end) at position pct in [0, 1]."""
    def cos(a, b, p):
        return a + (b - a) * (1 - math.cos(math.pi * p)) / 2
    return cos(lo, hi, pct / n) if pct < n else cos(hi, end, (pct - n) / (1 - n))


def make_opt(model, wd):
    """fastai's wd_bn_bias=False: no weight decay on BatchNorm parameters (the Linear layers after
    BatchNorm have no bias; the LSTM biases are not `bias`, so they decay, as in fastai)."""
    bn = {id(p) for m in model.modules() if isinstance(m, nn.BatchNorm1d) for p in m.parameters()}
    decay = [p for p in model.parameters() if id(p) not in bn]
    no_decay = [p for p in model.parameters() if id(p) in bn]
    return torch.optim.AdamW([{"params": decay, "weight_decay": wd},
                              {"params": no_decay, "weight_decay": 0.0}], lr=1e-3, betas=(0.95, 0.99), eps=1e-5)


def clas_model(vocab_sz, emb, hid, layers, dm):
    awd = AWD_LSTM(vocab_sz, emb, hid, layers, hidden_p=0.3 * dm, input_p=0.4 * dm, embed_p=0.05 * dm,
                   weight_p=0.5 * dm)
    model = nn.Sequential(SentenceEncoder(72, awd, pad_idx=1, max_len=72 * 20),
                          PoolingLinearClassifier([3 * emb, 50, 2], [0.4 * dm, 0.1], 72))
    return model, awd


def run_clas(a):
    data, enc, emb, hid, layers, epochs, lr, dm = a[:8]
    emb, hid, layers, epochs, lr, dm = int(emb), int(hid), int(layers), int(epochs), float(lr), float(dm)
    moms = (0.95, 0.85)
    for extra in a[8:]:
        if extra.startswith("moms="):
            m = float(extra[5:])
            moms = (m, m - 0.1)
    tr, ytr = read_docs(os.path.join(data, "train.bin"))
    va, yva = read_docs(os.path.join(data, "valid.bin"))
    vocab_sz = int(open(os.path.join(data, "vocab_size.txt")).read())
    torch.manual_seed(42)
    model, awd = clas_model(vocab_sz, emb, hid, layers, dm)
    if enc != "random":
        _, sd = read_fce(enc)
        missing = awd.load_state_dict(sd, strict=False)
        assert not missing.unexpected_keys and all(k == "encoder_dp.emb.weight" for k in missing.missing_keys), missing
        print(f"loaded {enc}")
    opt = make_opt(model, 0.01)
    rng = np.random.RandomState(42)
    bs = 16
    n_steps = epochs * math.ceil(len(tr) / bs)
    step, t0 = 0, time.time()
    print(f"torch classifier: emb {emb} hid {hid} layers {layers}, {epochs} epochs lr {lr} drop_mult {dm} moms {moms}")
    for ep in range(epochs):
        model.train()
        tot, nb = 0.0, 0
        for bidx in sorted_batches(tr, ytr, bs, rng, True):
            x = pad_chunk([tr[i] for i in bidx])
            y = torch.from_numpy(ytr[bidx])
            pos = step / n_steps
            for g in opt.param_groups:
                g["lr"] = one_cycle(pos, 0.25, lr / 25, lr, lr / 1e5)
                g["betas"] = (one_cycle(pos, 0.25, moms[0], moms[1], moms[0]), 0.99)
            out, mask = model[0](x)
            pred = model[1]((out, mask))
            loss = F.cross_entropy(pred, y)
            lg = loss + 2 * out.pow(2).mean() + 1 * (out[:, 1:] - out[:, :-1]).pow(2).mean()
            opt.zero_grad()
            lg.backward()
            opt.step()
            tot += loss.item()
            nb += 1
            step += 1
        acc_v, loss_v = evaluate(model, va, yva, bs * 2)
        print(f"epoch {ep}: train loss {tot / nb:.4f}  valid loss {loss_v:.4f}  accuracy {acc_v:.4f}  "
              f"{time.time() - t0:.0f}s", flush=True)
    acc_t, loss_t = evaluate(model, tr, ytr, bs * 2)
    print(f"train set (eval): loss {loss_t:.4f} accuracy {acc_t:.4f}")


def evaluate(model, docs, labels, bs):
    model.eval()
    correct, tot = 0, 0.0
    with torch.no_grad():
        for bidx in sorted_batches(docs, labels, bs, None, False):
            x = pad_chunk([docs[i] for i in bidx])
            y = torch.from_numpy(labels[bidx])
            pred = model[1](model[0](x))
            tot += F.cross_entropy(pred, y, reduction="sum").item()
            correct += (pred.argmax(1) == y).sum().item()
    return correct / len(docs), tot / len(docs)


def run_lm(a):
    data, template, emb, hid, layers, epochs, lr, out_path = a[:8]
    emb, hid, layers, epochs, lr = int(emb), int(hid), int(layers), int(epochs), float(lr)
    tr, _ = read_docs(os.path.join(data, "train.bin"))
    va, _ = read_docs(os.path.join(data, "valid.bin"))
    vocab_sz = int(open(os.path.join(data, "vocab_size.txt")).read())
    docs = tr + va
    rng = np.random.RandomState(0)
    order = rng.permutation(len(docs))
    n_val = len(docs) // 10
    vdocs, tdocs = [docs[i] for i in order[:n_val]], [docs[i] for i in order[n_val:]]
    torch.manual_seed(42)
    dm = 0.3
    awd = AWD_LSTM(vocab_sz, emb, hid, layers, hidden_p=0.15 * dm, input_p=0.25 * dm, embed_p=0.02 * dm,
                   weight_p=0.2 * dm)
    dec = LinearDecoder(vocab_sz, emb, 0.1 * dm, tie_encoder=awd.encoder)
    model = nn.Sequential(awd, dec)
    decay = [p for n, p in model.named_parameters() if not n.endswith("decoder.bias")]
    nodecay = [dec.decoder.bias]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.8, 0.99), eps=1e-5)
    bs, sl = 32, 72

    def streams(ds, shuffle):
        d = [ds[i] for i in (rng.permutation(len(ds)) if shuffle else range(len(ds)))]
        s = np.concatenate(d)
        n = (len(s) - 1) // bs
        xs = torch.from_numpy(s[:n * bs].reshape(bs, n))
        ys = torch.from_numpy(s[1:n * bs + 1].reshape(bs, n))
        return [(xs[:, i:i + sl], ys[:, i:i + sl]) for i in range(0, n, sl)]

    n_per = len(streams(tdocs, False))
    n_steps, step, t0 = epochs * n_per, 0, time.time()
    for ep in range(epochs):
        model.train()
        awd.reset()
        tot, nb = 0.0, 0
        for x, y in streams(tdocs, True):
            pos = step / n_steps
            for g in opt.param_groups:
                g["lr"] = one_cycle(pos, 0.25, lr / 25, lr, lr / 1e5)
                g["betas"] = (one_cycle(pos, 0.25, 0.8, 0.7, 0.8), 0.99)
            raw = awd(x)
            dp = dec.output_dp(raw)
            logits = dec.decoder(dp)
            loss = F.cross_entropy(logits.reshape(-1, vocab_sz), y.reshape(-1))
            lg = loss + 2 * dp.pow(2).mean() + 1 * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
            opt.zero_grad()
            lg.backward()
            opt.step()
            tot += loss.item()
            nb += 1
            step += 1
        model.eval()
        awd.reset()
        vt, vn = 0.0, 0
        with torch.no_grad():
            for x, y in streams(vdocs, False):
                logits = model(x)
                vt += F.cross_entropy(logits.reshape(-1, vocab_sz), y.reshape(-1), reduction="sum").item()
                vn += y.numel()
        print(f"epoch {ep}: train loss {tot / nb:.4f}  valid loss {vt / vn:.4f}  perplexity {math.exp(vt / vn):.1f}  "
              f"{time.time() - t0:.0f}s", flush=True)
    vocab_block, _ = read_fce(template)
    write_fce(out_path, vocab_block, awd_state(awd))
    print(f"encoder in {out_path}")


def read_feats(path):
    b = open(path, "rb").read()
    n, dim = struct.unpack_from("<qq", b, 0)
    at, labels, lens, feats = 16, [], [], []
    for _ in range(n):
        lab, ln = struct.unpack_from("<qq", b, at)
        at += 16
        feats.append(np.frombuffer(b, dtype="<f4", count=dim, offset=at))
        labels.append(lab)
        lens.append(ln)
        at += 4 * dim
    return np.stack(feats), np.array(labels), np.array(lens)


def probe(xtr, ytr, xva, yva, l2=1e-2):
    """Logistic regression on standardized features (LBFGS, L2): the information a frozen encoder
    gives a linear head."""
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-6
    xt, xv = torch.tensor((xtr - mu) / sd), torch.tensor((xva - mu) / sd)
    yt, yv = torch.tensor(ytr), torch.tensor(yva)
    lin = nn.Linear(xt.shape[1], 2)
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(lin(xt), yt) + l2 * lin.weight.pow(2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    with torch.no_grad():
        return (lin(xt).argmax(1) == yt).float().mean().item(), (lin(xv).argmax(1) == yv).float().mean().item()


def run_probe(a):
    """probe DATA_DIR FEAT_DIR [ENC EMB HID LAYERS]: a linear probe on fastc's pooled features; with
    ENC, also the same features from the PyTorch port on the same weights (one document at a time,
    no padding) and their largest difference."""
    data, fdir = a[:2]
    xtr, ytr, ltr = read_feats(os.path.join(fdir, "train_feats.bin"))
    xva, yva, lva = read_feats(os.path.join(fdir, "valid_feats.bin"))
    E = xtr.shape[1] // 3
    for name, sl in (("last", slice(0, E)), ("max", slice(E, 2 * E)), ("mean", slice(2 * E, 3 * E)),
                     ("all", slice(0, 3 * E))):
        for l2 in (1e-3, 1e-2, 1e-1):
            acc_t, acc_v = probe(xtr[:, sl], ytr, xva[:, sl], yva, l2)
            print(f"probe {name:4s} l2 {l2:g}: train {acc_t:.3f} valid {acc_v:.3f}")
    print(f"feature stats: |x| mean {np.abs(xtr).mean():.4f}, std over docs (mean over dims) "
          f"last {xtr[:, :E].std(0).mean():.4f} max {xtr[:, E:2 * E].std(0).mean():.4f} "
          f"mean {xtr[:, 2 * E:].std(0).mean():.4f}; max-pool >0.9: {(xtr[:, E:2 * E] > 0.9).mean() * 100:.1f}%")
    if len(a) > 2:
        enc, emb, hid, layers = a[2], int(a[3]), int(a[4]), int(a[5])
        tr, ttr = read_docs(os.path.join(data, "train.bin"))
        vocab_sz = int(open(os.path.join(data, "vocab_size.txt")).read())
        model, awd = clas_model(vocab_sz, emb, hid, layers, 0.0)
        _, sd = read_fce(enc)
        awd.load_state_dict(sd, strict=False)
        model.eval()
        worst, n_long = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(tr), 4):
                if len(tr[i]) > 72 * 20:
                    n_long += 1
                    continue
                out, mask = model[0](torch.from_numpy(tr[i])[None])
                lens = out.shape[1]
                f = torch.cat([out[0, -1], out[0].max(0)[0], out[0].mean(0)]).numpy()
                assert lens == ltr[i] and ttr[i] == ytr[i]
                worst = max(worst, float(np.abs(f - xtr[i]).max()))
        print(f"fastc vs PyTorch port, pooled features of every 4th train document (skipped {n_long} over max_len): "
              f"max |diff| {worst:.2e}")


def read_records(path):
    b, at, out = open(path, "rb").read(), 0, {}
    while at < len(b):
        nl = struct.unpack_from("<q", b, at)[0]
        name = b[at + 8:at + 8 + nl].decode()
        at += 8 + nl
        is_i64, nd = struct.unpack_from("<qq", b, at)
        at += 16
        dims = struct.unpack_from("<%dq" % nd, b, at)
        at += 8 * nd
        n = int(np.prod(dims)) if nd else 1
        dt = "<i8" if is_i64 else "<f4"
        out[name] = torch.from_numpy(np.frombuffer(b, dtype=dt, count=n, offset=at).reshape(dims).copy())
        at += n * (8 if is_i64 else 4)
    return out


def run_grad(a):
    """grad GRADS.bin EMB HID LAYERS VOCAB: the same batch, weights and loss (cross entropy + 2 AR +
    1 TAR on the encoder outputs) through the PyTorch port, train mode without dropout; compares
    the loss, the predictions and every gradient with fastc's."""
    r = read_records(a[0])
    emb, hid, layers, vocab_sz = int(a[1]), int(a[2]), int(a[3]), int(a[4])
    awd = AWD_LSTM(vocab_sz, emb, hid, layers, hidden_p=0, input_p=0, embed_p=0, weight_p=0)
    model = nn.Sequential(SentenceEncoder(72, awd, pad_idx=1, max_len=72 * 20),
                          PoolingLinearClassifier([3 * emb, 50, 2], [0.0, 0.0], 72))
    params = dict(model.named_parameters())
    for k, v in r.items():
        if k.startswith("param:"):
            name = k[6:]
            params[name].data.copy_(v)
    model.train()
    out, mask = model[0](r["x"])
    pred = model[1]((out, mask))
    loss = F.cross_entropy(pred, r["y"]) + 2 * out.pow(2).mean() + (out[:, 1:] - out[:, :-1]).pow(2).mean()
    loss.backward()
    print(f"x {tuple(r['x'].shape)}: loss fastc {r['loss'].item():.6f} torch {loss.item():.6f}; "
          f"pred max|diff| {(pred - r['pred']).abs().max().item():.2e}")
    if "out" in r:
        d = (out - r["out"]).abs()
        worst = d.flatten(1).max(1)[0]
        print("encoder outputs max|diff| per row: " + " ".join(f"{v:.1e}" for v in worst.tolist()))
        if worst.max() > 1e-5:
            b = int(worst.argmax())
            t = (d[b].max(1)[0] > 1e-5).nonzero().flatten()
            print(f"  row {b}: first differing position {int(t[0])} of {out.shape[1]} (kept positions)")
    for name, p in params.items():
        g = r.get("grad:" + name)
        if g is None:
            print(f"  {name}: no fastc gradient")
            continue
        d = (p.grad - g).abs().max().item()
        rel = d / (p.grad.abs().max().item() + 1e-12)
        print(f"  {name:38s} |g| max {p.grad.abs().max().item():.3e}  max|diff| {d:.2e}  rel {rel:.2e}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "grad":
        run_grad(sys.argv[2:])
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "probe":
        run_probe(sys.argv[2:])
        sys.exit(0)
    if sys.argv[1] == "clas":
        run_clas(sys.argv[2:])
    elif sys.argv[1] == "lm":
        run_lm(sys.argv[2:])
    else:
        sys.exit(__doc__)
