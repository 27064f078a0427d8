"""gpt2_ref.py: a PyTorch GPT-2 (Hugging Face semantics) as the numerical
reference for ifg-train.  Run with /usr/bin/python3 (Debian python3-torch).

  gpt2_ref.py grads CKPT TOKENS DUMP [--batch N --seed S --no-shuffle --lambda X]
      the first optimizer step's logits, NLL, loss and every parameter
      gradient, in float64 from the checkpoint's float32 weights, compared with
      `ifg-train --dump-grads DUMP`; exit 1 if any relative error >= 1e-4.
  gpt2_ref.py train CKPT TOKENS VALID --steps N [--batch ...]
      trains as ifg-train does (AdamW, warmup + cosine, clipping, IF-Guide
      weights, the same record order) and prints "valid_loss X".
  gpt2_ref.py bench --layers L --embd C --heads H --ctx T --vocab V --batch B
      training tokens/s with torch.set_num_threads(2).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ifgrec  # noqa: E402


def load_ckpt(path, dtype):
    t, _ = ifgrec.load_safetensors(os.path.join(path, "model.safetensors"))
    with open(os.path.join(path, "config.json")) as f:
        cfg = json.load(f)
    p = {k: torch.tensor(np.array(v), dtype=dtype, requires_grad=True) for k, v in t.items()}
    return p, cfg


def forward(p, cfg, idx):
    """idx (B, T) -> logits (B, T, V)"""
    B, T = idx.shape
    C, NH, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    hs = C // NH
    x = p["wte.weight"][idx] + p["wpe.weight"][:T]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    for l in range(L):
        g = lambda n: p[f"h.{l}.{n}"]
        h = F.layer_norm(x, (C,), g("ln_1.weight"), g("ln_1.bias"), 1e-5)
        qkv = h @ g("attn.c_attn.weight") + g("attn.c_attn.bias")
        q, k, v = qkv.split(C, dim=2)
        q, k, v = (z.view(B, T, NH, hs).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ g("attn.c_proj.weight") + g("attn.c_proj.bias")
        h = F.layer_norm(x, (C,), g("ln_2.weight"), g("ln_2.bias"), 1e-5)
        h = F.gelu(h @ g("mlp.c_fc.weight") + g("mlp.c_fc.bias"), approximate="tanh")
        x = x + h @ g("mlp.c_proj.weight") + g("mlp.c_proj.bias")
    x = F.layer_norm(x, (C,), p["ln_f.weight"], p["ln_f.bias"], 1e-5)
    return x @ p["wte.weight"].T


def make_batch(recs, ids, lam):
    """As ifg_tokdata_batch: tokens, targets (-1: none), weights; labels."""
    T = max(1, max(len(recs[i][0]) for i in ids))
    tok = np.zeros((len(ids), T), np.int64)
    tgt = np.full((len(ids), T), -1, np.int64)
    w = np.zeros((len(ids), T))
    labels = 0
    for b, i in enumerate(ids):
        t, m = recs[i]
        n = len(t)
        tok[b, :n] = t
        tgt[b, :n - 1] = t[1:]
        w[b, :n - 1] = 1.0
        if m is not None:
            w[b, :n - 1][m[1:]] = -lam  # the mask shifts with the labels
        labels += n
    return torch.tensor(tok), torch.tensor(tgt), torch.tensor(w), labels


def weighted_loss(p, cfg, tok, tgt, w, labels):
    logits = forward(p, cfg, tok)
    V = logits.shape[-1]
    nll = F.cross_entropy(logits.reshape(-1, V), tgt.clamp(min=0).reshape(-1),
                          reduction="none").reshape(tgt.shape)
    nll = torch.where(tgt >= 0, nll, torch.zeros_like(nll))
    return (w.to(nll.dtype) * nll).sum() / labels, logits, nll


def order(n, seed, shuffle):
    cache = {}

    def at(i):
        e = i // n
        if e not in cache:
            cache.clear()
            cache[e] = ifgrec.epoch_perm(n, seed, e, shuffle)
        return cache[e][i % n]
    return at


def relerr(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    d = np.linalg.norm(b)
    return np.linalg.norm(a - b) / (d if d > 0 else 1.0)


def cmd_grads(a):
    p, cfg = load_ckpt(a.ckpt, torch.float64)
    _, recs = ifgrec.read_tokens(a.tokens)
    at = order(len(recs), a.seed, not a.no_shuffle)
    ids = [at(k) for k in range(a.batch)]
    tok, tgt, w, labels = make_batch(recs, ids, a.lam)
    loss, logits, nll = weighted_loss(p, cfg, tok, tgt, w, labels)
    loss.backward()
    dump, meta = ifgrec.load_safetensors(a.dump)
    worst = 0.0
    rows = [("loss", float(meta["loss"]), loss.item()),
            ("logits", dump["logits"], logits.detach().numpy()),
            ("nll", dump["nll"], nll.detach().numpy())]
    rows += [("grad " + k, dump[k], v.grad.numpy()) for k, v in p.items()]
    bad = 0
    for name, mine, ref in rows:
        e = relerr(mine, ref)
        worst = max(worst, e)
        if e >= 1e-4:
            print(f"MISMATCH {name}: relative error {e:.3g}")
            bad += 1
    print(f"compared {len(rows)} tensors (loss {loss.item():.6f}), "
          f"worst relative error {worst:.3g}")
    return 1 if bad else 0


def hf_lr(i, lr, warmup, total, min_lr=0.0):
    if i < warmup:
        return lr * i / warmup
    prog = min(1.0, (i - warmup) / max(1, total - warmup))
    return min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * prog))


def evaluate(p, cfg, recs, micro):
    s, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(recs), micro):
            ids = list(range(i, min(i + micro, len(recs))))
            tok, tgt, w, _ = make_batch(recs, ids, 0.0)
            _, _, nll = weighted_loss(p, cfg, tok, tgt, w, 1)
            s += nll.sum().item()
            n += int((tgt >= 0).sum())
    return s / n


def cmd_train(a):
    torch.set_num_threads(a.threads)
    p, cfg = load_ckpt(a.ckpt, torch.float32)
    _, recs = ifgrec.read_tokens(a.tokens)
    _, vrecs = ifgrec.read_tokens(a.valid)
    dec = [v for k, v in p.items() if v.dim() == 2]
    nodec = [v for k, v in p.items() if v.dim() != 2]
    opt = torch.optim.AdamW([{"params": dec, "weight_decay": a.weight_decay},
                             {"params": nodec, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    warm = a.warmup if a.warmup >= 0 else math.ceil(0.01 * a.steps)
    at = order(len(recs), a.seed, not a.no_shuffle)
    micro = a.micro or a.batch
    for step in range(a.steps):
        for gr in opt.param_groups:
            gr["lr"] = hf_lr(step, a.lr, warm, a.steps)
        opt.zero_grad()
        ids = [at(step * a.batch + k) for k in range(a.batch)]
        labels = sum(len(recs[i][0]) for i in ids)
        for mb in range(0, a.batch, micro):
            tok, tgt, w, _ = make_batch(recs, ids[mb:mb + micro], a.lam)
            loss, _, _ = weighted_loss(p, cfg, tok, tgt, w, labels)
            loss.backward()
        torch.nn.utils.clip_grad_norm_(list(p.values()), a.clip)
        opt.step()
    print(f"valid_loss {evaluate(p, cfg, vrecs, micro):.6f}")
    return 0


def cmd_bench(a):
    torch.set_num_threads(2)
    torch.manual_seed(0)
    C, L, V, T = a.embd, a.layers, a.vocab, a.ctx
    cfg = {"n_embd": C, "n_head": a.heads, "n_layer": L}
    shapes = {"wte.weight": (V, C), "wpe.weight": (T, C), "ln_f.weight": (C,), "ln_f.bias": (C,)}
    for l in range(L):
        for n, s in [("ln_1.weight", (C,)), ("ln_1.bias", (C,)), ("attn.c_attn.weight", (C, 3 * C)),
                     ("attn.c_attn.bias", (3 * C,)), ("attn.c_proj.weight", (C, C)),
                     ("attn.c_proj.bias", (C,)), ("ln_2.weight", (C,)), ("ln_2.bias", (C,)),
                     ("mlp.c_fc.weight", (C, 4 * C)), ("mlp.c_fc.bias", (4 * C,)),
                     ("mlp.c_proj.weight", (4 * C, C)), ("mlp.c_proj.bias", (C,))]:
            shapes[f"h.{l}.{n}"] = s
    p = {k: (torch.randn(s) * 0.02 if len(s) == 2 else torch.ones(s)).requires_grad_()
         for k, s in shapes.items()}
    opt = torch.optim.AdamW(list(p.values()), lr=1e-4)
    tok = torch.randint(0, V, (a.batch, T))
    tgt = torch.randint(0, V, (a.batch, T))
    w = torch.ones(a.batch, T)
    times = []
    for s in range(a.steps + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss, _, _ = weighted_loss(p, cfg, tok, tgt, w, a.batch * T)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(p.values()), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    t = sum(times[1:])  # the first step warms up
    print(f"tok_s {a.batch * T * a.steps / t:.1f}")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["grads", "train", "bench"])
    ap.add_argument("args", nargs="*")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--micro", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1004)
    ap.add_argument("--no-shuffle", action="store_true")
    ap.add_argument("--lambda", dest="lam", type=float, default=1.0)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--lr", type=float, default=6e-4)
    ap.add_argument("--warmup", type=int, default=-1)
    ap.add_argument("--weight-decay", type=float, default=4e-4)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=2)
    for k in ("layers", "embd", "heads", "ctx", "vocab"):
        ap.add_argument("--" + k, type=int, default=0)
    a = ap.parse_args()
    if a.cmd == "grads":
        a.ckpt, a.tokens, a.dump = a.args
        return cmd_grads(a)
    if a.cmd == "train":
        a.ckpt, a.tokens, a.valid = a.args
        return cmd_train(a)
    return cmd_bench(a)


if __name__ == "__main__":
    sys.exit(main())
