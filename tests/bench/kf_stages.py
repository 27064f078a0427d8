#!/usr/bin/python3
"""kf_stages.py: helpers for kronfluence.sh (the side-by-side benchmark).

  kf_stages.py data DIR T N V Q        random tokens: DIR/train.ifg + train.json
                                       (N records of T tokens), DIR/qtox.ifg,
                                       qsafe.ifg + tox.json, safe.json (Q queries
                                       each, prompt T/8 + continuation T/8)
  kf_stages.py run OUT.json KF_ARGS... kf_ifg.py KF_ARGS (e.g. --threads 2 run
                                       CKPT ...) with each Kronfluence stage
                                       timed on its own; the
                                       stage times go to OUT.json
  kf_stages.py agree KF.json SCORES.ifg
                                       max|ifg - kf| / max|kf| and Pearson over
                                       every token, as "agree REL PEARSON"

The peers folder (kf_ifg.py, Kronfluence) is $IFG_PEERS.  The stages are
timed by wrapping Kronfluence's own entry points, so each time holds the
forward and backward passes that stage runs, as a user would see them."""
import json
import os
import sys
import time

sys.path.insert(0, os.environ.get("IFG_REF", os.path.join(os.path.dirname(__file__), "..", "ref")))


def cmd_data(d, T, N, V, Q):
    import numpy as np
    import msgpack
    import ifgrec
    rng = np.random.default_rng(1)
    train = [rng.integers(0, V, T).tolist() for _ in range(N)]
    half = max(T // 8, 1)
    qs = [[rng.integers(0, V, half).tolist(), rng.integers(0, V, half).tolist()] for _ in range(2 * Q)]
    tox, safe = qs[:Q], qs[Q:]
    with open(os.path.join(d, "train.ifg"), "wb") as f:
        ifgrec.write_tokens(f, train, V)
    pk = msgpack.Packer(use_bin_type=True)
    for name, q in (("qtox", tox), ("qsafe", safe)):
        with open(os.path.join(d, name + ".ifg"), "wb") as f:
            f.write(pk.pack({"kind": "tokens", "version": 1, "block": 0,
                             "tokenizer": {"name": "bytes", "sha256": "0" * 64,
                                           "vocab_size": V, "eot": -1}}))
            for i, (p, c) in enumerate(q):
                f.write(pk.pack({"id": i, "tokens": ifgrec.array(p + c, "u16"), "cont": len(p)}))
    for name, obj in (("train", train), ("tox", tox), ("safe", safe)):
        with open(os.path.join(d, name + ".json"), "w") as f:
            json.dump(obj, f)
    return 0


def cmd_run(out, argv):
    peers = os.environ["IFG_PEERS"]
    sys.path.insert(0, peers)
    import kf_ifg  # puts the shims and Kronfluence on sys.path
    from kronfluence.analyzer import Analyzer
    times = {}

    def timed(name, key):
        f = getattr(Analyzer, name)

        def w(self, *a, **k):
            t0 = time.perf_counter()
            r = f(self, *a, **k)
            times[key] = times.get(key, 0.0) + time.perf_counter() - t0
            return r
        setattr(Analyzer, name, w)
    timed("fit_covariance_matrices", "covariance")
    timed("perform_eigendecomposition", "eigen")
    timed("fit_lambda_matrices", "lambda")
    timed("compute_pairwise_scores", "scores")
    rc = kf_ifg.main(argv)
    with open(out, "w") as f:
        json.dump(times, f)
    return rc


def cmd_agree(kf, scores):
    import numpy as np
    import msgpack
    import ifgrec
    with open(kf) as f:
        ref = [r["scores"] for r in json.load(f)["records"]]
    got = []
    with open(scores, "rb") as f:
        up = msgpack.Unpacker(f, raw=False)
        next(up)
        for r in up:
            got.append(ifgrec.to_numpy(r["scores"]).astype(np.float64).tolist())
    a = np.concatenate([np.asarray(x) for x in ref])
    b = np.concatenate([np.asarray(x) for x in got])
    if a.shape != b.shape:
        print(f"kf_stages: {len(ref)} Kronfluence records of {a.size} tokens, "
              f"{len(got)} ifg records of {b.size}", file=sys.stderr)
        return 1
    rel = np.abs(a - b).max() / max(np.abs(a).max(), 1e-300)
    print(f"agree {rel:.3g} {np.corrcoef(a, b)[0, 1]:.9f}")
    return 0


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "data" and len(sys.argv) == 7:
        return cmd_data(sys.argv[2], *map(int, sys.argv[3:7]))
    if cmd == "run" and len(sys.argv) > 3:
        return cmd_run(sys.argv[2], sys.argv[3:])
    if cmd == "agree" and len(sys.argv) == 4:
        return cmd_agree(sys.argv[2], sys.argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
