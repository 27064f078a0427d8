#!/usr/bin/python3
"""Reference for ifg-select: random score streams, and IF-Guide's selection
(doc/method.md section 6.1) written out directly in numpy, to compare masks with.

    select_ref.py gen OUT [--seed S] [--docs N] [--max-len T] [--kind K]
                      [--tokenizer JSON --text FILE]
    select_ref.py check SCORES SELECTED [-m METHOD] [-p P] [-w W] [-L N | -f F]
    select_ref.py suite [--cases N] [--seed S] [--prog ifg-select]
    select_ref.py bench SCORES [-p P] [-w W] [-f F]

gen writes a `scores` stream: random documents (some empty) whose scores
are continuous, tied (few distinct values, so ties at the threshold),
quantised, spread over many orders of magnitude, or a mix; records carry an
int or str id, a text field and sometimes layer_scores and an old mask.

With --tokenizer and --text, the header names that tokenizer.json (its
sha256 and vocabulary size) and each line of the text file is a document,
its words looked up as tokens (" word", the first without the space;
the longest vocabulary prefix first where a word is not one token).

check recomputes the selection from SCORES and compares it with the output
of ifg-select in SELECTED: every record's mask (ifguide, drop-docs: exactly;
random: the count and that it differs from no randomness; words is not
checked here), and that every other field came through unchanged, scores
and layer_scores left out.  It prints one line "ok: ..." and exits 0, or
names the first difference and exits 1.

suite runs ifg-select (from PATH) on N random streams with random settings
(percentile, window, budgets at 0, 1, around the selection's edges and past
everything; every method but words) and checks each as check does.

bench prints the seconds the reference selection takes, loading excluded.

The algorithm, as the authors' build_toxic_token_mask.py does it:
  tau = np.quantile(all scores as float32, p): numpy interpolates in float64
        (the float32 neighbours' difference is taken in float32);
  above = S > float32(tau): torch compares a float32 tensor with a Python
        float in float32;
  c, f per document (f summed in float64 in position order, then float32 as
        the reference's float32 sum), min-max normalised with eps 1e-6 and
        ranked by the harmonic mean with eps 1e-6, all in float32;
  documents by descending rank (ties: earlier first), windows [j-w, j+w]
        around the positions above in ascending order, stopping for good
        before a window whose new tokens would exceed the budget.
"""
import argparse
import sys

import msgpack
import numpy as np

DT = {"u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "i32": np.int32,
      "f32": np.float32, "f64": np.float64}
TOKENIZER = {"name": "select-test", "sha256": "0" * 64, "vocab_size": 50304, "eot": 0}


def arr(a, dtype):
    a = np.ascontiguousarray(a, dtype=DT[dtype])
    return {"dtype": dtype, "shape": list(a.shape), "data": a.astype(a.dtype.newbyteorder("<")).tobytes()}


def unarr(m):
    if m["dtype"] == "bf16":
        u = np.frombuffer(m["data"], dtype="<u2").astype(np.uint32) << 16
        return u.view(np.float32).reshape(m["shape"])
    return np.frombuffer(m["data"], dtype=np.dtype(DT[m["dtype"]]).newbyteorder("<")).reshape(m["shape"])


def read_stream(path):
    with open(path, "rb") as f:
        up = msgpack.Unpacker(f, raw=False, strict_map_key=False, max_buffer_size=1 << 30)
        recs = list(up)
    return recs[0], recs[1:]


def gen_scores(rng, kind, T):
    if kind == "normal":
        return rng.standard_normal(T)
    if kind == "ties":
        return rng.integers(-3, 4, T).astype(np.float64)
    if kind == "quant":
        return np.round(rng.standard_normal(T) * 4) / 4
    if kind == "wide":
        return rng.standard_normal(T) * np.exp(rng.standard_normal(T) * 6)
    k = rng.integers(0, 4)
    return gen_scores(rng, ["normal", "ties", "quant", "wide"][k], T)


def tokenizer_identity(path):
    import hashlib
    import json
    with open(path, "rb") as f:
        raw = f.read()
    tj = json.loads(raw)
    vocab = tj["model"]["vocab"]
    ids = list(vocab.values()) + [t["id"] for t in tj.get("added_tokens", [])]
    eot = vocab.get("<|endoftext|>", next((t["id"] for t in tj.get("added_tokens", [])
                                           if t["content"] == "<|endoftext|>"), -1))
    ident = {"name": "gpt-neox-20b", "sha256": hashlib.sha256(raw).hexdigest(),
             "vocab_size": max(ids) + 1, "eot": eot}
    return ident, {**vocab, **{t["content"]: t["id"] for t in tj.get("added_tokens", [])}}


def gen(out, seed=0, docs=20, max_len=64, kind="mix", tokenizer=None, text=None, fixed=False):
    rng = np.random.default_rng(seed)
    ident, vocab = tokenizer_identity(tokenizer) if tokenizer else (TOKENIZER, None)
    hdr = {"kind": "scores", "version": 1, "tokenizer": ident,
           "model": {"sha256": "1" * 64, "n_layer": 2}, "method": "ekfac"}
    recs = [hdr]
    lines = open(text).read().splitlines() if text else None
    for i in range(len(lines) if lines else docs):
        if lines:
            words = lines[i].split(" ")
            toks = []
            for k, w in enumerate(words):
                piece = w if k == 0 else "\u0120" + w
                while piece:    # longest vocabulary prefix first
                    n = max(n for n in range(1, len(piece) + 1) if piece[:n] in vocab)
                    toks.append(vocab[piece[:n]])
                    piece = piece[n:]
            T = len(toks)
        else:
            T = int(rng.integers(0, max_len + 1)) if rng.random() < 0.9 else int(rng.integers(0, 3))
            T = max_len if fixed else T
            toks = rng.integers(0, 50304, T)
        s = gen_scores(rng, kind, T).astype(np.float32)
        if T and rng.random() < 0.5:
            s[-1] = 0.0         # the last position has no loss of its own
        rec = {"id": f"doc-{i}" if i % 2 else i,
               "tokens": arr(toks, "u16"),
               "text": "x" * (i % 5),
               "scores": arr(s, "f32")}
        if rng.random() < 0.2:
            rec["layer_scores"] = arr(np.stack([s, s]), "f32")
        if rng.random() < 0.2:
            rec["mask"] = arr(np.ones(T), "u8")
        recs.append(rec)
    with open(out, "wb") as f:
        for r in recs:
            f.write(msgpack.packb(r, use_bin_type=True))


def cmd_gen(a):
    gen(a.out, a.seed, a.docs, a.max_len, a.kind, a.tokenizer, a.text, a.fixed_len)


def cmd_bench(a):
    """Seconds the reference selection takes on a stream, loading excluded."""
    import time
    _, recs = read_stream(a.scores)
    S = [unarr(r["scores"]).astype(np.float32) for r in recs]
    t0 = time.perf_counter()
    ifguide(S, a.p, a.w, int(a.frac * sum(len(s) for s in S)))
    print(f"{time.perf_counter() - t0:.4g}")


def ifguide(S, p, w, L):
    """Masks [per doc] and the tokens used: the reference loop."""
    masks = [np.zeros(len(s), dtype=bool) for s in S]
    if sum(len(s) for s in S) == 0:
        return masks, 0
    flat = np.concatenate(S).astype(np.float32)
    tau = np.quantile(flat, p)
    t32 = np.float32(tau)
    above = [s > t32 for s in S]
    c = np.array([a.sum() for a in above], dtype=np.float32)
    f = np.array([np.cumsum(s[a].astype(np.float64))[-1] if a.any() else 0.0
                  for s, a in zip(S, above)]).astype(np.float32)
    eps = np.float32(1e-6)

    def minmax(x):
        return (x - x.min()) / (x.max() - x.min() + eps)
    cn, fn = minmax(c), minmax(f)
    R = np.float32(2) * cn * fn / (cn + fn + eps)
    assert R.dtype == np.float32
    used = 0
    for i in np.argsort(-R, kind="stable"):
        T = len(S[i])
        for j in np.nonzero(above[i])[0]:
            lo, hi = max(0, j - w), min(T, j + w + 1)
            new = ~masks[i][lo:hi]
            if used + int(new.sum()) > L:
                return masks, used
            masks[i][lo:hi] = True
            used += int(new.sum())
    return masks, used


def drop_docs(S, L):
    sums = np.array([np.cumsum(s.astype(np.float64))[-1] if len(s) else 0.0 for s in S])
    drop = np.zeros(len(S), dtype=bool)
    used = 0
    for i in np.argsort(-sums, kind="stable"):
        if used + len(S[i]) > L:
            break
        drop[i] = True
        used += len(S[i])
    return drop, used


class Mismatch(Exception):
    pass


def check(scores, selected, method="ifguide", p=0.99, w=1, budget=None, frac=0.02):
    """Compares ifg-select's output with the reference; a summary line, or
    Mismatch naming the first difference."""
    hdr, recs = read_stream(scores)
    ohdr, orecs = read_stream(selected)
    if ohdr.get("kind") != "tokens" or ohdr.get("tokenizer") != hdr["tokenizer"]:
        raise Mismatch(f"output header {ohdr!r}")
    S = [unarr(r["scores"]).astype(np.float32) for r in recs]
    N = sum(len(s) for s in S)
    L = budget if budget is not None else int(frac * N)
    sel = ohdr["select"]
    if sel["method"] != method or sel.get("budget", L) != L:
        raise Mismatch(f"output header select {sel!r}, expected {method} with budget {L}")
    keep = list(range(len(recs)))
    if method == "ifguide":
        want, used = ifguide(S, p, w, L)
        if sel["window"] != w or sel["percentile"] != p:
            raise Mismatch(f"output header select {sel!r}")
    elif method == "drop-docs":
        drop, used = drop_docs(S, L)
        keep = [i for i in range(len(recs)) if not drop[i]]
        want = [np.zeros(len(S[i]), dtype=bool) for i in keep]
    else:
        want, used = None, min(L, N)
    if len(orecs) != len(keep):
        raise Mismatch(f"{len(orecs)} records out, expected {len(keep)}")
    got_total = 0
    for k, (i, o) in enumerate(zip(keep, orecs)):
        r = dict(recs[i])
        for key in ("scores", "layer_scores", "mask"):
            r.pop(key, None)
        m = unarr(o["mask"])
        if o["mask"]["dtype"] != "u8" or m.shape != (len(S[i]),):
            raise Mismatch(f"record {i}: mask {o['mask']['dtype']} {m.shape}")
        if {key: v for key, v in o.items() if key != "mask"} != r:
            raise Mismatch(f"record {i}: fields differ: {sorted(o)} vs {sorted(r)}")
        got_total += int(m.sum())
        if want is not None and not np.array_equal(m.astype(bool), want[k]):
            raise Mismatch(f"record {i}: mask differs at "
                           f"{np.nonzero(m.astype(bool) != want[k])[0][:10]}")
    if method == "drop-docs":
        return f"ok: drop-docs dropped {used} of {N} tokens, {len(recs) - len(keep)} of {len(recs)} documents"
    if got_total != used:
        raise Mismatch(f"{got_total} tokens selected, reference {used}")
    ndocs = sum(1 for o in orecs if unarr(o["mask"]).any())
    return f"ok: {method} {got_total} of {N} tokens in {ndocs} of {len(recs)} documents"


def cmd_check(a):
    try:
        print(check(a.scores, a.selected, a.method, a.p, a.w, a.budget, a.frac))
    except Mismatch as e:
        print(f"select_ref: {e}", file=sys.stderr)
        sys.exit(1)


def cmd_suite(a):
    import subprocess
    import tempfile
    rng = np.random.default_rng(a.seed)
    kinds = ["normal", "ties", "quant", "wide", "mix"]
    summary = {}
    with tempfile.TemporaryDirectory() as d:
        sp, op = f"{d}/s.ifg", f"{d}/o.ifg"
        for case in range(a.cases):
            kind = kinds[case % len(kinds)]
            gen(sp, int(rng.integers(1 << 30)), int(rng.integers(1, 30)), int(rng.integers(1, 90)), kind)
            method = ["ifguide", "ifguide", "ifguide", "drop-docs", "random"][case % 5]
            p = float(rng.choice([0.99, 0.9, 0.5, 0.0, 1.0, rng.random()]))
            w = int(rng.integers(0, 4))
            _, recs = read_stream(sp)
            N = sum(r["tokens"]["shape"][0] for r in recs)
            if method == "ifguide":
                _, full = ifguide([unarr(r["scores"]) for r in recs], p, w, 1 << 62)
                edge = [0, 1, full, max(full - 1, 0), full + 1, int(rng.integers(0, full + 1)), None]
            else:
                edge = [0, int(rng.integers(0, N + 1)), N, None]
            budget = edge[case // 5 % len(edge)]
            args = [a.prog, "-q", "-m", method, "-o", op]
            if method == "ifguide":
                args += ["-p", repr(p), "-w", str(w)]
            if method == "random":
                args += ["-s", str(case)]
            args += ["-L", str(budget)] if budget is not None else []
            args.append(sp)
            run = subprocess.run(args, capture_output=True, text=True)
            try:
                if run.returncode != 0:
                    raise Mismatch(f"exit {run.returncode}: {run.stderr.strip()}")
                check(sp, op, method, p, w, budget)
            except Mismatch as e:
                print(f"select_ref: case {case} ({' '.join(args[1:])}, {kind} scores): {e}",
                      file=sys.stderr)
                sys.exit(1)
            summary[method] = summary.get(method, 0) + 1
    print("ok: " + ", ".join(f"{n} {m}" for m, n in sorted(summary.items())))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("out")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--docs", type=int, default=20)
    g.add_argument("--max-len", type=int, default=64)
    g.add_argument("--kind", default="mix", choices=["normal", "ties", "quant", "wide", "mix"])
    g.add_argument("--tokenizer")
    g.add_argument("--fixed-len", action="store_true", help="every document --max-len long")
    g.add_argument("--text")
    c = sub.add_parser("check")
    c.add_argument("scores")
    c.add_argument("selected")
    c.add_argument("-m", "--method", default="ifguide")
    c.add_argument("-p", type=float, default=0.99)
    c.add_argument("-w", type=int, default=1)
    c.add_argument("-L", dest="budget", type=int)
    c.add_argument("-f", dest="frac", type=float, default=0.02)
    u = sub.add_parser("suite")
    u.add_argument("--cases", type=int, default=50)
    u.add_argument("--seed", type=int, default=0)
    u.add_argument("--prog", default="ifg-select")
    b = sub.add_parser("bench")
    b.add_argument("scores")
    b.add_argument("-p", type=float, default=0.99)
    b.add_argument("-w", type=int, default=1)
    b.add_argument("-f", dest="frac", type=float, default=0.02)
    a = ap.parse_args()
    {"gen": cmd_gen, "check": cmd_check, "suite": cmd_suite, "bench": cmd_bench}[a.cmd](a)


if __name__ == "__main__":
    main()
