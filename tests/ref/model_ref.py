"""model_ref.py: the three model families of ifg in plain PyTorch, written from
Hugging Face's published definitions (GPT2LMHeadModel, GPTNeoXForCausalLM,
LlamaForCausalLM: names, shapes, rotary convention, residual order), as the
numerical reference for ifg-train.  Run with /usr/bin/python3 (Debian
python3-torch).

  model_ref.py grads CKPT TOKENS DUMP [--batch N --seed S --no-shuffle --lambda X]
      the first optimizer step's logits, NLL, loss and every parameter
      gradient, in float64 from the checkpoint's float32 weights, compared with
      `ifg-train --dump-grads DUMP`; exit 1 if the logits' relative error is
      >= 1e-5 or any other's >= 1e-4.
  model_ref.py train CKPT TOKENS VALID --steps N [--batch ...]
      trains as ifg-train does (AdamW, warmup + cosine, clipping, IF-Guide
      weights, the same record order) and prints "valid_loss X".
  model_ref.py make CONFIG DIR [--seed S --dtype F32|F16|BF16]
      a checkpoint laid out as Hugging Face saves one: DIR/config.json (the
      given config.json, as published) and DIR/model.safetensors with random
      weights under the family's names (and the buffers HF checkpoints carry).
  model_ref.py linear CKPT TOKENS OUT
      per-token inputs and output gradients of every tracked linear layer
      (the summed NLL of each record), as ifg-grad computes them: OUT.npz.
  model_ref.py bench --arch A --layers L --embd C --heads H --ctx T --vocab V --batch B
      training tokens/s with torch.set_num_threads(2).
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ifgrec  # noqa: E402


# buffers and tied copies that Hugging Face checkpoints carry beside the parameters
BUFFERS = (".attn.bias", ".attn.masked_bias", ".attention.bias", ".attention.masked_bias",
           ".rotary_emb.inv_freq")


def load_ckpt(path, dtype):
    t, _ = ifgrec.load_safetensors(os.path.join(path, "model.safetensors"))
    with open(os.path.join(path, "config.json")) as f:
        cfg = json.load(f)
    p = {k: torch.tensor(np.array(v, np.float64), dtype=dtype, requires_grad=True)
         for k, v in t.items() if not k.endswith(BUFFERS)}
    if family(cfg) == "gpt2":
        p = {k[12:] if k.startswith("transformer.") else k: v for k, v in p.items()}
    if cfg.get("tie_word_embeddings", family(cfg) == "gpt2"):
        p.pop("lm_head.weight", None)
        p.pop("embed_out.weight", None)
    return p, cfg


def tensor_shapes(cfg):
    """{name: shape} of the family's parameters, in Hugging Face's order"""
    fam = family(cfg)
    if fam == "gpt2":
        C, L, V, P = cfg["n_embd"], cfg["n_layer"], cfg["vocab_size"], cfg["n_positions"]
        sh = {"wte.weight": (V, C), "wpe.weight": (P, C)}
        for l in range(L):
            for n, s in [("ln_1.weight", (C,)), ("ln_1.bias", (C,)),
                         ("attn.c_attn.weight", (C, 3 * C)), ("attn.c_attn.bias", (3 * C,)),
                         ("attn.c_proj.weight", (C, C)), ("attn.c_proj.bias", (C,)),
                         ("ln_2.weight", (C,)), ("ln_2.bias", (C,)),
                         ("mlp.c_fc.weight", (C, 4 * C)), ("mlp.c_fc.bias", (4 * C,)),
                         ("mlp.c_proj.weight", (4 * C, C)), ("mlp.c_proj.bias", (C,))]:
                sh[f"h.{l}.{n}"] = s
        sh.update({"ln_f.weight": (C,), "ln_f.bias": (C,)})
        return sh
    C, L, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
    Fd = cfg["intermediate_size"]
    if fam == "gpt_neox":
        sh = {"gpt_neox.embed_in.weight": (V, C)}
        for l in range(L):
            pre = f"gpt_neox.layers.{l}."
            for n, s in [("input_layernorm.weight", (C,)), ("input_layernorm.bias", (C,)),
                         ("post_attention_layernorm.weight", (C,)),
                         ("post_attention_layernorm.bias", (C,)),
                         ("attention.query_key_value.weight", (3 * C, C)),
                         ("attention.query_key_value.bias", (3 * C,)),
                         ("attention.dense.weight", (C, C)), ("attention.dense.bias", (C,)),
                         ("mlp.dense_h_to_4h.weight", (Fd, C)), ("mlp.dense_h_to_4h.bias", (Fd,)),
                         ("mlp.dense_4h_to_h.weight", (C, Fd)), ("mlp.dense_4h_to_h.bias", (C,))]:
                sh[pre + n] = s
        sh.update({"gpt_neox.final_layer_norm.weight": (C,),
                   "gpt_neox.final_layer_norm.bias": (C,)})
        if not cfg.get("tie_word_embeddings", False):
            sh["embed_out.weight"] = (V, C)
        return sh
    NH = cfg["num_attention_heads"]
    NKV = cfg.get("num_key_value_heads") or NH
    hs = cfg.get("head_dim") or C // NH
    sh = {"model.embed_tokens.weight": (V, C)}
    for l in range(L):
        pre = f"model.layers.{l}."
        for n, s in [("self_attn.q_proj", (NH * hs, C)), ("self_attn.k_proj", (NKV * hs, C)),
                     ("self_attn.v_proj", (NKV * hs, C)), ("self_attn.o_proj", (C, NH * hs)),
                     ("mlp.gate_proj", (Fd, C)), ("mlp.up_proj", (Fd, C)),
                     ("mlp.down_proj", (C, Fd)), ("input_layernorm", (C,)),
                     ("post_attention_layernorm", (C,))]:
            sh[pre + n + ".weight"] = s
    sh["model.norm.weight"] = (C,)
    if not cfg.get("tie_word_embeddings", False):
        sh["lm_head.weight"] = (V, C)
    return sh


def random_params(cfg, gen, scale=0.02):
    """N(0, scale) matrices, norms' weights near 1, biases small"""
    out = {}
    for k, s in tensor_shapes(cfg).items():
        if len(s) == 2:
            out[k] = torch.randn(s, generator=gen, dtype=torch.float64) * scale
        elif k.endswith(".bias"):
            out[k] = torch.randn(s, generator=gen, dtype=torch.float64) * scale
        else:
            out[k] = 1 + torch.randn(s, generator=gen, dtype=torch.float64) * 0.1
    return out


def family(cfg):
    return cfg.get("model_type", "gpt2")


def gpt2_forward(p, cfg, idx, tap=None):
    """idx (B, T) -> logits (B, T, V); tap(name, input) -> output wraps the
    tracked linears (model_ref.py linear)"""
    B, T = idx.shape
    C, NH, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    hs = C // NH
    lin = tap or (lambda name, x, w, b: x @ w + b)
    x = p["wte.weight"][idx] + p["wpe.weight"][:T]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    for l in range(L):
        g = lambda n: p[f"h.{l}.{n}"]
        h = F.layer_norm(x, (C,), g("ln_1.weight"), g("ln_1.bias"), 1e-5)
        qkv = lin(f"h.{l}.attn.c_attn", h, g("attn.c_attn.weight"), g("attn.c_attn.bias"))
        q, k, v = qkv.split(C, dim=2)
        q, k, v = (z.view(B, T, NH, hs).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + lin(f"h.{l}.attn.c_proj", y, g("attn.c_proj.weight"), g("attn.c_proj.bias"))
        h = F.layer_norm(x, (C,), g("ln_2.weight"), g("ln_2.bias"), 1e-5)
        h = F.gelu(lin(f"h.{l}.mlp.c_fc", h, g("mlp.c_fc.weight"), g("mlp.c_fc.bias")),
                   approximate="tanh")
        x = x + lin(f"h.{l}.mlp.c_proj", h, g("mlp.c_proj.weight"), g("mlp.c_proj.bias"))
    x = F.layer_norm(x, (C,), p["ln_f.weight"], p["ln_f.bias"], 1e-5)
    return x @ p["wte.weight"].T


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_freqs(base, rot, scaling=None):
    """inverse frequencies; scaling: Llama 3's rope_scaling (rope_type llama3)"""
    inv = 1.0 / (base ** (torch.arange(0, rot, 2, dtype=torch.float64) / rot))
    if not scaling:
        return inv
    assert scaling.get("rope_type", scaling.get("type")) == "llama3", scaling
    fac, lo, hi = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    old = scaling["original_max_position_embeddings"]
    wave = 2 * math.pi / inv
    out = torch.where(wave > old / lo, inv / fac, inv)
    smooth = (old / wave - lo) / (hi - lo)
    mid = (wave >= old / hi) & (wave <= old / lo)
    return torch.where(mid, (1 - smooth) * inv / fac + smooth * inv, out)


def rope(x, base, rot, scaling=None):
    """HF's rotary on the first rot dimensions of x (B, H, T, hs)"""
    T = x.shape[2]
    inv = rope_freqs(base, rot, scaling)
    ang = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    emb = torch.cat((ang, ang), dim=-1).to(x.dtype)
    xr, xp = x[..., :rot], x[..., rot:]
    xr = xr * emb.cos() + rotate_half(xr) * emb.sin()
    return torch.cat((xr, xp), dim=-1)


def causal(q, k, v):
    T, hs = q.shape[2], q.shape[3]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
    return att.masked_fill(mask, float("-inf")).softmax(-1) @ v


def act(name, x):
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        return F.gelu(x, approximate="tanh")
    if name == "gelu":
        return F.gelu(x)
    assert name in ("silu", "swish"), name
    return F.silu(x)


def neox_forward(p, cfg, idx, tap=None):
    """GPTNeoXForCausalLM"""
    B, T = idx.shape
    C, NH, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    hs = C // NH
    rot = int(hs * cfg.get("rotary_pct", cfg.get("partial_rotary_factor", 0.25)))
    base = cfg.get("rotary_emb_base", cfg.get("rope_theta", 10000))
    eps = cfg.get("layer_norm_eps", 1e-5)
    lin = tap or (lambda name, x, w, b: x @ w.T + b)
    x = p["gpt_neox.embed_in.weight"][idx]
    for l in range(L):
        pre = f"gpt_neox.layers.{l}."
        g = lambda n: p[pre + n]
        ln = lambda n, z: F.layer_norm(z, (C,), g(n + ".weight"), g(n + ".bias"), eps)
        qkv = lin(pre + "attention.query_key_value", ln("input_layernorm", x),
                  g("attention.query_key_value.weight"), g("attention.query_key_value.bias"))
        qkv = qkv.view(B, T, NH, 3 * hs).transpose(1, 2)  # per head [q | k | v]
        q, k, v = qkv[..., :hs], qkv[..., hs:2 * hs], qkv[..., 2 * hs:]
        q, k = rope(q, base, rot), rope(k, base, rot)
        y = causal(q, k, v).transpose(1, 2).reshape(B, T, C)
        a = lin(pre + "attention.dense", y, g("attention.dense.weight"), g("attention.dense.bias"))

        def mlp(z):
            z = lin(pre + "mlp.dense_h_to_4h", ln("post_attention_layernorm", z),
                    g("mlp.dense_h_to_4h.weight"), g("mlp.dense_h_to_4h.bias"))
            return lin(pre + "mlp.dense_4h_to_h", act(cfg.get("hidden_act", "gelu"), z),
                       g("mlp.dense_4h_to_h.weight"), g("mlp.dense_4h_to_h.bias"))
        if cfg.get("use_parallel_residual", True):
            x = x + a + mlp(x)
        else:
            x = x + a
            x = x + mlp(x)
    x = F.layer_norm(x, (C,), p["gpt_neox.final_layer_norm.weight"],
                     p["gpt_neox.final_layer_norm.bias"], eps)
    head = p["gpt_neox.embed_in.weight"] if cfg.get("tie_word_embeddings") else p["embed_out.weight"]
    return x @ head.T


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def llama_forward(p, cfg, idx, tap=None):
    """LlamaForCausalLM"""
    B, T = idx.shape
    C, NH, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    NKV = cfg.get("num_key_value_heads") or NH
    hs = cfg.get("head_dim") or C // NH
    base, eps = cfg.get("rope_theta", 10000), cfg.get("rms_norm_eps", 1e-6)
    lin = tap or (lambda name, x, w, b: x @ w.T)
    x = p["model.embed_tokens.weight"][idx]
    for l in range(L):
        pre = f"model.layers.{l}."
        g = lambda n: p[pre + n + ".weight"]
        h = rms_norm(x, g("input_layernorm"), eps)
        q = lin(pre + "self_attn.q_proj", h, g("self_attn.q_proj"), None)
        k = lin(pre + "self_attn.k_proj", h, g("self_attn.k_proj"), None)
        v = lin(pre + "self_attn.v_proj", h, g("self_attn.v_proj"), None)
        rs = cfg.get("rope_scaling")
        q = rope(q.view(B, T, NH, hs).transpose(1, 2), base, hs, rs)
        k = rope(k.view(B, T, NKV, hs).transpose(1, 2), base, hs, rs)
        v = v.view(B, T, NKV, hs).transpose(1, 2)
        k = k.repeat_interleave(NH // NKV, dim=1)  # repeat_kv
        v = v.repeat_interleave(NH // NKV, dim=1)
        y = causal(q, k, v).transpose(1, 2).reshape(B, T, NH * hs)
        x = x + lin(pre + "self_attn.o_proj", y, g("self_attn.o_proj"), None)
        h = rms_norm(x, g("post_attention_layernorm"), eps)
        gt = lin(pre + "mlp.gate_proj", h, g("mlp.gate_proj"), None)
        up = lin(pre + "mlp.up_proj", h, g("mlp.up_proj"), None)
        x = x + lin(pre + "mlp.down_proj", act(cfg.get("hidden_act", "silu"), gt) * up,
                    g("mlp.down_proj"), None)
    x = rms_norm(x, p["model.norm.weight"], eps)
    head = p["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else p["lm_head.weight"]
    return x @ head.T


def forward(p, cfg, idx, tap=None):
    return {"gpt2": gpt2_forward, "gpt_neox": neox_forward,
            "llama": llama_forward}[family(cfg)](p, cfg, idx, tap)


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
    missing = set(dump) - {"logits", "nll"} - set(p)
    if missing:
        print(f"MISMATCH: the dump has gradients of {sorted(missing)}, the reference none")
        return 1
    bad = 0
    for name, mine, ref in rows:
        e = relerr(mine, ref)
        worst = max(worst, e)
        if e >= (1e-5 if name == "logits" else 1e-4):
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


def bench_config(a):
    """a small config.json of family a.arch with the given sizes"""
    if a.arch == "gpt2":
        return {"model_type": "gpt2", "n_embd": a.embd, "n_head": a.heads, "n_layer": a.layers,
                "n_positions": a.ctx, "vocab_size": a.vocab}
    c = {"model_type": a.arch, "hidden_size": a.embd, "num_attention_heads": a.heads,
         "num_hidden_layers": a.layers, "max_position_embeddings": a.ctx,
         "vocab_size": a.vocab}
    if a.arch == "gpt_neox":
        c.update(intermediate_size=4 * a.embd, rotary_pct=0.25, use_parallel_residual=True)
    else:
        c.update(intermediate_size=(8 * a.embd // 3 + 63) // 64 * 64, tie_word_embeddings=True)
    return c


def cmd_bench(a):
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(0)
    cfg = bench_config(a)
    T = a.ctx
    p = {k: v.float().requires_grad_() for k, v in random_params(cfg, gen).items()}
    opt = torch.optim.AdamW(list(p.values()), lr=1e-4)
    tok = torch.randint(0, a.vocab, (a.batch, T), generator=gen)
    tgt = torch.randint(0, a.vocab, (a.batch, T), generator=gen)
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


def save_safetensors(path, tensors, dtype="F32"):
    """tensors {name: ndarray} in the given dtype (F32, F16, BF16); boolean
    arrays as BOOL"""
    hdr, blobs, off = {}, [], 0
    for k, v in tensors.items():
        if v.dtype == np.bool_:
            b = np.ascontiguousarray(v, np.uint8).tobytes()
            hdr[k] = {"dtype": "BOOL", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
            blobs.append(b)
            off += len(b)
            continue
        v = np.ascontiguousarray(v, np.float32)
        if dtype == "F16":
            b = v.astype("<f2").tobytes()
        elif dtype == "BF16":
            u = v.view(np.uint32)
            b = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2").tobytes()
        else:
            b = v.astype("<f4").tobytes()
        hdr[k] = {"dtype": dtype, "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(hdr).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def cmd_make(a):
    """A checkpoint as Hugging Face saves one, with random weights."""
    with open(a.config) as f:
        text = f.read()
    cfg = json.loads(text)
    gen = torch.Generator().manual_seed(a.seed)
    t = {k: v.numpy() for k, v in random_params(cfg, gen, 0.2).items()}
    fam = family(cfg)
    L = cfg.get("num_hidden_layers", cfg.get("n_layer"))
    if fam == "gpt_neox":  # the buffers a saved GPTNeoXForCausalLM carries
        T = cfg["max_position_embeddings"]
        hs = cfg["hidden_size"] // cfg["num_attention_heads"]
        rot = int(hs * cfg.get("rotary_pct", 0.25))
        for l in range(L):
            t[f"gpt_neox.layers.{l}.attention.rotary_emb.inv_freq"] = \
                1.0 / (10000 ** (np.arange(0, rot, 2) / rot))
            t[f"gpt_neox.layers.{l}.attention.masked_bias"] = np.array(-1e4)
            t[f"gpt_neox.layers.{l}.attention.bias"] = np.tril(np.ones((1, 1, T, T), bool))
    os.makedirs(a.dir, exist_ok=True)
    save_safetensors(os.path.join(a.dir, "model.safetensors"), t, a.dtype)
    with open(os.path.join(a.dir, "config.json"), "w") as f:
        f.write(text)
    return 0


def cmd_linear(a):
    """ifg-grad's per-token inputs a and output gradients s of every tracked
    layer (true labels, loss = Σ NLL of the record) against autograd's."""
    import ekfac_ref
    p, cfg = load_ckpt(a.ckpt, torch.float64)
    h, _, data = ekfac_ref.load_grads(a.grads)
    names = [l["name"] for l in h["layers"]]
    _, recs = ifgrec.read_tokens(a.tokens)
    assert len(recs) == len(data), (len(recs), len(data))
    worst, bad = 0.0, 0
    for (tok, _), got in zip(recs, data):
        seen = {}

        def tap(name, x, w, b):
            y = x @ (w if family(cfg) == "gpt2" else w.T)
            if b is not None:
                y = y + b
            y.retain_grad()
            seen[name] = (x, y, b is not None)
            return y
        idx = torch.tensor(tok[None, :])
        logits = forward(p, cfg, idx, tap)
        nll = F.cross_entropy(logits[0, :-1], idx[0, 1:], reduction="sum")
        nll.backward()
        for name, (ga, gs) in zip(names, got):
            x, y, has_b = seen[name]
            ra, rs = x[0].detach().numpy(), y.grad[0].numpy()
            din = ra.shape[1]
            # the bias column of ones, only for a layer with a bias
            assert ga.shape[1] == din + has_b, (name, ga.shape, din, has_b)
            if has_b:
                assert np.all(ga[:, din] == 1), name
            for what, mine, ref in (("a", ga[:, :din], ra), ("s", gs, rs)):
                e = relerr(mine, ref)
                worst = max(worst, e)
                if e >= 1e-4:
                    print(f"MISMATCH {name}.{what}: relative error {e:.3g}")
                    bad += 1
    print(f"compared {len(names)} layers of {len(recs)} records, worst relative error {worst:.3g}")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["grads", "train", "bench", "make", "linear"])
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
    ap.add_argument("--arch", default="gpt2")
    ap.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16"])
    for k in ("layers", "embd", "heads", "ctx", "vocab"):
        ap.add_argument("--" + k, type=int, default=0)
    a = ap.parse_args()
    if a.cmd == "grads":
        a.ckpt, a.tokens, a.dump = a.args
        return cmd_grads(a)
    if a.cmd == "train":
        a.ckpt, a.tokens, a.valid = a.args
        return cmd_train(a)
    if a.cmd == "make":
        a.config, a.dir = a.args
        a.seed = a.seed if a.seed != 1004 else 0
        return cmd_make(a)
    if a.cmd == "linear":
        a.ckpt, a.tokens, a.grads = a.args
        return cmd_linear(a)
    return cmd_bench(a)


if __name__ == "__main__":
    sys.exit(main())
