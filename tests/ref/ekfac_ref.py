#!/usr/bin/python3
"""Dense numpy reference for ifg-factor and ifg-influence (doc/method.md §2-5).

Subcommands:
  tokens    write a random tokens stream (for ifg-grad)
  gradsum-check  a gradsum equals the sum of a grads stream's Σ_t s_t a_tᵀ
  gen       write a random grads stream (records [lo, hi) of a seeded sequence,
            so shards of one sequence concatenate to the whole)
  gensum    write a gradsum stream: Σ_n G_n over generated query records
  lambda    check a factors stream against the grads it was fitted on:
            Λ = mean over records of (Q_Sᵀ G_n Q_A)², computed densely with the
            stream's own Q; Q_A diag(λ_A) Q_Aᵀ = A; counts
  scores    brute force: factors recomputed densely from the grads (numpy eigh),
            the dense EK-FAC matrix Q diag(Λ + δ) Qᵀ solved for the differential
            query gradient, S[t] = Σ_l s_tᵀ P ā_t; compared with ifg-influence's
            output
  sums      token scores of each record sum to its document score
  compare   two cov/eigen/factors/scores streams equal to a relative tolerance
Streams are plain msgpack (no zstd); arrays are {dtype, shape, data} maps.
Run with /usr/bin/python3 (numpy, msgpack)."""
import argparse
import sys

import msgpack
import numpy as np

DT = {"f32": np.float32, "f64": np.float64, "u16": np.uint16, "u32": np.uint32,
      "i32": np.int32, "u8": np.uint8}


def arr(m):
    if m["dtype"] == "bf16":
        u = np.frombuffer(m["data"], dtype=np.uint16).astype(np.uint32) << 16
        return u.view(np.float32).reshape(m["shape"]).astype(np.float64)
    return np.frombuffer(m["data"], dtype=DT[m["dtype"]]).reshape(m["shape"])


def pack_arr(x, dtype="f32"):
    if dtype == "bf16":
        u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
        u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
        data = u.tobytes()
    else:
        data = np.ascontiguousarray(x, dtype=DT[dtype]).tobytes()
    return {"dtype": dtype, "shape": list(x.shape), "data": data}


def read(path):
    with open(path, "rb") as f:
        recs = list(msgpack.Unpacker(f, raw=False, max_buffer_size=1 << 31))
    return recs[0], recs[1:]


def write(path, maps):
    with open(path, "wb") as f:
        for m in maps:
            f.write(msgpack.packb(m, use_bin_type=True))


def parse_layers(spec):
    out = []
    for item in spec.split(","):
        name, din, dout = item.split(":")
        out.append({"name": name, "d_in": int(din), "d_out": int(dout)})
    return out


def header(args, kind, **extra):
    h = {"kind": kind, "version": 1,
         "model": {"sha256": args.model, "n_layer": 1, "n_head": 1, "n_embd": 8,
                   "n_ctx": 64, "vocab_size": 50},
         "tokenizer": {"name": "test", "sha256": "ab" * 32, "vocab_size": 50, "eot": -1},
         "layers": parse_layers(args.layers), "labels": args.labels, "seed": args.seed,
         "dtype": args.dtype}
    h.update(extra)
    return h


def gen_record(args, n):
    """Record n of the sequence: ā with a constant-1 last column, s with a
    per-coordinate scale; the last position's s is 0 as in a real model."""
    rng = np.random.default_rng([args.seed, n])
    T = int(rng.integers(args.tmin, args.tmax + 1))
    grads = []
    for L in parse_layers(args.layers):
        a = rng.standard_normal((T, L["d_in"] + 1)) * (1 + 0.2 * np.arange(L["d_in"] + 1))
        a[:, -1] = 1
        s = rng.standard_normal((T, L["d_out"])) * (0.5 + 0.3 * np.arange(L["d_out"]))
        s[-1] = 0
        if args.dtype == "bf16":	# the values the stream really carries
            a = arr(pack_arr(a, "bf16"))
            s = arr(pack_arr(s, "bf16"))
        grads.append((a.astype(np.float32), s.astype(np.float32)))
    return T, grads


def cmd_gen(args):
    maps = [header(args, "grads")]
    for n in range(args.lo, args.hi):
        T, grads = gen_record(args, n)
        maps.append({"id": f"doc{n}", "tokens": pack_arr(np.arange(T) % 50, "u16"),
                     "grads": [{"a": pack_arr(a, args.dtype), "s": pack_arr(s, args.dtype)}
                               for a, s in grads]})
    write(args.out, maps)


def cmd_gensum(args):
    Gs = None
    for n in range(args.lo, args.hi):
        _, grads = gen_record(args, n)
        G = [s.astype(np.float64).T @ a.astype(np.float64) for a, s in grads]
        Gs = G if Gs is None else [x + y for x, y in zip(Gs, G)]
    count = args.hi - args.lo
    write(args.out, [header(args, "gradsum", count=count),
                     {"count": count, "G": [pack_arr(g, "f64") for g in Gs]}])


def cmd_tokens(args):
    """A tokens stream of random records; every third is a query (cont)."""
    rng = np.random.default_rng(args.seed)
    maps = [{"kind": "tokens", "version": 1, "block": 0,
             "tokenizer": {"name": "test", "sha256": "ab" * 32, "vocab_size": args.vocab,
                           "eot": -1}}]
    for i in range(args.hi):
        T = int(rng.integers(args.tmin, args.tmax + 1))
        r = {"id": f"doc{i}", "tokens": pack_arr(rng.integers(0, args.vocab, T), "u16")}
        if args.queries and i % 3 == 0:
            r["cont"] = T // 2
        maps.append(r)
    write(args.out, maps)


def cmd_gradsum_check(args):
    """A gradsum equals Σ over a grads stream's records of Σ_t s_t a_tᵀ."""
    _, _, data = load_grads(args.grads)
    sh, sr = read(args.gradsum)
    assert sr[0]["count"] == len(data) == sh["count"]
    for li, g in enumerate(sr[0]["G"]):
        want = sum(s.T @ a for rec in data for a, s in [rec[li]])
        check(f"layer {li} gradsum = Σ s aᵀ", relerr(arr(g), want), 1e-12)


def load_grads(path):
    h, recs = read(path)
    out = []
    for r in recs:
        out.append([(arr(g["a"]).astype(np.float64), arr(g["s"]).astype(np.float64))
                    for g in r["grads"]])
    return h, recs, out


def relerr(x, y):
    return float(np.max(np.abs(x - y)) / max(np.max(np.abs(y)), 1e-300))


def check(name, err, tol):
    print(f"{name}: relative error {err:.3g} (tolerance {tol:g})")
    if not err <= tol:
        print(f"FAIL: {name}", file=sys.stderr)
        sys.exit(1)


def cmd_lambda(args):
    _, _, data = load_grads(args.grads)
    fh, layers = read(args.factors)
    assert fh["kind"] == "factors" and fh["strategy"] == "ekfac", fh["kind"]
    for li, L in enumerate(layers):
        QA, QS = arr(L["QA"]), arr(L["QS"])
        A = sum(a.T @ a for rec in data for a, _ in [rec[li]])
        N = sum(rec[li][0].shape[0] for rec in data)
        check(f"layer {li} QA diag(λA) QAᵀ = A/N",
              relerr(QA @ np.diag(arr(L["eigvals_A"])) @ QA.T, A / N), 1e-10)
        lam = np.mean([(QS.T @ (s.T @ a) @ QA) ** 2 for rec in data for a, s in [rec[li]]],
                      axis=0)
        assert L["Lambda_count"] == len(data) and L["A_count"] == N
        # a lambda pass of f32 products (ifg-factor -p f32, its default) is
        # float32 to rounding per record, double across records
        tol = 1e-5 if fh.get("precision") == "f32" else 1e-10
        check(f"layer {li} Λ = mean (Q_Sᵀ G Q_A)²", relerr(arr(L["Lambda_sum"]) /
                                                          L["Lambda_count"], lam), tol)


def dense_factors(data, li):
    """Q_S ⊗ Q_A and Λ for layer li, from scratch (numpy eigh)."""
    A = sum(rec[li][0].T @ rec[li][0] for rec in data)
    S = sum(rec[li][1].T @ rec[li][1] for rec in data)
    N = sum(rec[li][0].shape[0] for rec in data)
    _, QA = np.linalg.eigh((A + A.T) / 2 / N)
    _, QS = np.linalg.eigh((S + S.T) / 2 / N)
    lam = np.mean([(QS.T @ (s.T @ a) @ QA) ** 2 for rec in data for a, s in [rec[li]]],
                  axis=0)
    return np.kron(QS, QA), lam.reshape(-1)


def cmd_scores(args):
    gh, recs, data = load_grads(args.grads)
    _, fdata = (None, data) if not args.fit else load_grads(args.fit)[1:]
    th, tr = read(args.qtox)
    dg = [arr(g) / tr[0]["count"] for g in tr[0]["G"]]
    if args.qsafe:
        _, sr = read(args.qsafe)
        dg = [x - arr(g) / sr[0]["count"] for x, g in zip(dg, sr[0]["G"])]
    P = []
    for li in range(len(gh["layers"])):
        Q, lam = dense_factors(fdata, li)
        delta = args.damping if args.damping >= 0 else 0.1 * lam.mean()
        F = Q @ np.diag(lam + delta) @ Q.T	# the dense EK-FAC curvature
        P.append(np.linalg.solve(F, dg[li].reshape(-1)).reshape(dg[li].shape))
    sh, srecs = read(args.scores)
    assert sh["kind"] == "scores" and len(srecs) == len(data)
    want, got = [], []
    for r, rec in zip(srecs, data):
        tok = sum(np.einsum("ti,ij,tj->t", s, P[li], a) for li, (a, s) in enumerate(rec))
        if sh["level"] == "document":
            want.append([tok.sum()])
            got.append([r["score"]])
        else:
            assert "grads" not in r and r["id"] and "tokens" in r
            want.append(tok)
            got.append(arr(r["scores"]).astype(np.float64))
    check(f"{sh['level']} scores vs brute force", relerr(np.concatenate(got),
                                                         np.concatenate(want)), args.tol)


def cmd_sums(args):
    """Per-token scores of a record sum to its document score; per-layer
    scores sum to the scores."""
    th, tr = read(args.tokens)
    dh, dr = read(args.document)
    assert th["level"] == "token" and dh["level"] == "document" and len(tr) == len(dr)
    tok = np.array([arr(r["scores"]).astype(np.float64).sum() for r in tr])
    doc = np.array([r["score"] for r in dr])
    check("Σ_t token scores = document score", relerr(tok, doc), args.tol)
    if "layer_scores" in tr[0]:
        ls = np.concatenate([arr(r["layer_scores"]).astype(np.float64).sum(0) for r in tr])
        sc = np.concatenate([arr(r["scores"]).astype(np.float64) for r in tr])
        check("Σ_layers layer scores = scores", relerr(ls, sc), args.tol)
    if "layer_score" in dr[0]:
        ls = np.array([arr(r["layer_score"]).sum() for r in dr])
        check("Σ_layers layer score = score", relerr(ls, doc), 1e-12)


def cmd_compare(args):
    ha, ra = read(args.a)
    hb, rb = read(args.b)
    rs = read(args.sub)[1] if args.sub else [None] * len(rb)
    assert ha["kind"] == hb["kind"] and len(ra) == len(rb) == len(rs), "different streams"
    worst = 0.0
    for x, y, z in zip(ra, rb, rs):
        assert sorted(x) == sorted(y), f"keys {sorted(x)} != {sorted(y)}"
        for k, v in x.items():
            if isinstance(v, dict) and "dtype" in v and k != "tokens":
                xa, ya = arr(v).astype(np.float64), arr(y[k]).astype(np.float64)
                if z is not None:
                    ya = ya - arr(z[k]).astype(np.float64)
                worst = max(worst, relerr(xa, ya) if xa.size else 0.0)
            elif isinstance(v, float) and k != "id":
                yv = y[k] - (z[k] if z is not None else 0)
                worst = max(worst, abs(v - yv) / max(abs(yv), 1e-300))
            else:
                assert v == y[k], f"{k}: {v} != {y[k]}"
    check(f"{args.a} vs {args.b}" + (f" - {args.sub}" if args.sub else ""), worst, args.tol)


def cmd_bench_fit(args):
    """Seconds per token of covariance + eigen + lambda in numpy (fp64)."""
    import time
    t0 = time.perf_counter()
    _, _, data = load_grads(args.grads)
    tokens = sum(rec[0][0].shape[0] for rec in data)
    for li in range(len(data[0])):
        A = sum(rec[li][0].T @ rec[li][0] for rec in data)
        S = sum(rec[li][1].T @ rec[li][1] for rec in data)
        _, QA = np.linalg.eigh(A / tokens)
        _, QS = np.linalg.eigh(S / tokens)
        lam = 0
        for rec in data:
            a, s = rec[li]
            lam = lam + (QS.T @ (s.T @ a) @ QA) ** 2
    print(f"{1e6 * (time.perf_counter() - t0) / tokens:.6g}")


def cmd_bench_score(args):
    """Tokens per second of per-token scoring in numpy (f32 products)."""
    import time
    _, layers = read(args.factors)
    P = [np.random.default_rng(0).standard_normal(arr(L["Lambda_sum"]).shape)
         .astype(np.float32) for L in layers]
    t0 = time.perf_counter()
    h, recs = read(args.grads)
    tokens = 0
    for r in recs:
        tot = 0
        for li, g in enumerate(r["grads"]):
            a, s = arr(g["a"]), arr(g["s"])
            tot = tot + np.einsum("ti,ti->t", a @ P[li].T, s, dtype=np.float64)
        r["scores"] = pack_arr(tot.astype(np.float32))
        tokens += tot.shape[0]
    print(f"{tokens / (time.perf_counter() - t0):.6g}")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("gen", "gensum"):
        g = sub.add_parser(name)
        g.add_argument("--seed", type=int, default=1)
        g.add_argument("--lo", type=int, default=0)
        g.add_argument("--hi", type=int, default=20)
        g.add_argument("--tmin", type=int, default=3)
        g.add_argument("--tmax", type=int, default=9)
        g.add_argument("--layers", default="h.0.attn.c_attn:4:6,h.0.mlp.c_proj:5:3")
        g.add_argument("--model", default="00" * 32)
        g.add_argument("--labels", default="sampled")
        g.add_argument("--dtype", default="f32")
        g.add_argument("-o", "--out", required=True)
    g = sub.add_parser("tokens")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--hi", type=int, default=10)
    g.add_argument("--tmin", type=int, default=2)
    g.add_argument("--tmax", type=int, default=16)
    g.add_argument("--vocab", type=int, default=50)
    g.add_argument("--queries", action="store_true")
    g.add_argument("-o", "--out", required=True)
    g = sub.add_parser("gradsum-check")
    g.add_argument("grads")
    g.add_argument("gradsum")
    g = sub.add_parser("lambda")
    g.add_argument("grads")
    g.add_argument("factors")
    g = sub.add_parser("scores")
    g.add_argument("--fit", help="grads the factors were fitted on (default: grads)")
    g.add_argument("--damping", type=float, default=1e-8, help="< 0: 0.1 mean(Λ)")
    g.add_argument("--tol", type=float, default=1e-4)
    g.add_argument("grads")
    g.add_argument("qtox")
    g.add_argument("--qsafe", help="non-toxic query sums (differential)")
    g.add_argument("scores")
    g = sub.add_parser("bench-fit")
    g.add_argument("grads")
    g = sub.add_parser("bench-score")
    g.add_argument("grads")
    g.add_argument("factors")
    g = sub.add_parser("sums")
    g.add_argument("--tol", type=float, default=1e-5)
    g.add_argument("tokens")
    g.add_argument("document")
    g = sub.add_parser("compare")
    g.add_argument("--tol", type=float, default=1e-10)
    g.add_argument("--sub", help="compare a with b minus this stream")
    g.add_argument("a")
    g.add_argument("b")
    args = p.parse_args()
    {"gen": cmd_gen, "gensum": cmd_gensum, "lambda": cmd_lambda, "scores": cmd_scores,
     "sums": cmd_sums, "tokens": cmd_tokens, "gradsum-check": cmd_gradsum_check, "bench-fit": cmd_bench_fit, "bench-score": cmd_bench_score, "compare": cmd_compare}[args.cmd](args)


if __name__ == "__main__":
    main()
