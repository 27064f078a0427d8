"""dpo_ref.py: the DPO loss and gradients in PyTorch (float64), the numerical
reference for `ifg-train --dpo`.  Run with /usr/bin/python3 (python3-torch).

  dpo_ref.py grads CKPT REF PAIRS DUMP [--batch N --micro M --seed S
                                        --no-shuffle --beta X]
      the first optimizer step of `ifg-train --dpo --init CKPT --ref REF
      --dump-grads DUMP PAIRS`: the pairs of the step in ifg-train's order,
      the reference log-probabilities from REF, the policy's from CKPT, the
      mean of -log sigmoid(beta * margin), and every parameter's gradient by
      autograd; compared with the dump (loss, reward margin and accuracy,
      the last micro-batch's logits and NLL, the gradients); exit 1 if a
      relative error is >= 1e-4.

The model is model_ref.py's; the loss is written from the paper's formula, not
from ifg's weighted-NLL form, so that the two derivations check each other.
"""
import argparse
import os
import sys

import msgpack
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_ref  # noqa: E402
import ifgrec  # noqa: E402


def read_pairs(path):
    """[(prompt, chosen, rejected)] as int64 ndarrays"""
    with open(path, "rb") as f:
        up = msgpack.Unpacker(f, raw=False)
        hdr = next(up)
        assert hdr["kind"] == "pairs", hdr
        return [tuple(ifgrec.to_numpy(r[k]).astype(np.int64)
                      for k in ("prompt", "chosen", "rejected")) for r in up]


def seq_logp(p, cfg, seqs):
    """log pi(continuation | prompt) of each (prompt, continuation), padded
    into one batch; also the batch's logits and per-position NLL, laid out
    as ifg-train lays them (targets only on the continuation)."""
    T = max(len(a) + len(b) for a, b in seqs)
    tok = torch.zeros((len(seqs), T), dtype=torch.long)
    tgt = torch.full((len(seqs), T), -1, dtype=torch.long)
    for i, (a, b) in enumerate(seqs):
        s = np.concatenate([a, b])
        tok[i, :len(s)] = torch.tensor(s)
        tgt[i, len(a) - 1:len(s) - 1] = torch.tensor(b)
    logits = model_ref.forward(p, cfg, tok)
    V = logits.shape[-1]
    nll = F.cross_entropy(logits.reshape(-1, V), tgt.clamp(min=0).reshape(-1),
                          reduction="none").reshape(tgt.shape)
    nll = torch.where(tgt >= 0, nll, torch.zeros_like(nll))
    return -nll.sum(1), logits, nll


def cmd_grads(a):
    pol, cfg = model_ref.load_ckpt(a.ckpt, torch.float64)
    ref, rcfg = model_ref.load_ckpt(a.ref, torch.float64)
    pairs = read_pairs(a.pairs)
    at = model_ref.order(len(pairs), a.seed, not a.no_shuffle)
    ids = [at(k) for k in range(a.batch)]
    micro = a.micro or a.batch
    total = 0
    margins = []
    for mb in range(0, a.batch, micro):
        step = [pairs[i] for i in ids[mb:mb + micro]]
        seqs = [(pr, c) for pr, c, _ in step] + [(pr, r) for pr, _, r in step]
        with torch.no_grad():
            # ifg-train caches these from its own pass over the data, in
            # batches of its own; per sequence they are the same numbers
            lref = torch.cat([seq_logp(ref, rcfg, [s])[0] for s in seqs])
        lp, logits, nll = seq_logp(pol, cfg, seqs)
        n = len(step)
        m = (lp[:n] - lref[:n]) - (lp[n:] - lref[n:])
        total = total + (-F.logsigmoid(a.beta * m)).sum()
        margins += (a.beta * m).tolist()
    loss = total / a.batch
    loss.backward()
    dump, meta = ifgrec.load_safetensors(a.dump)
    margin = float(np.mean(margins))
    acc = float(np.mean([x > 0 for x in margins]))
    # The margin is a difference of sequence log-probabilities: its rounding
    # error scales with their size, not with the margin, which is 0 up to
    # rounding when the reference is the policy (relative error meaningless).
    scale = a.beta * float(lp.detach().abs().mean())
    margin_err = abs(float(meta["reward_margin"]) - margin) / max(abs(margin), scale)
    rows = [("loss", float(meta["loss"]), loss.item()),
            ("logits", dump["logits"], logits.detach().numpy()),
            ("nll", dump["nll"], nll.detach().numpy())]
    rows += [("grad " + k, dump[k], v.grad.numpy()) for k, v in pol.items()]
    worst, wname, bad = margin_err, "reward_margin", 0
    if margin_err >= 1e-4:
        print(f"MISMATCH reward_margin: error {margin_err:.3g} of max(|margin|, beta mean|logp|)")
        bad += 1
    for name, mine, want in rows:
        e = model_ref.relerr(mine, want)
        if e > worst:
            worst, wname = e, name
        if e >= 1e-4:
            print(f"MISMATCH {name}: relative error {e:.3g}")
            bad += 1
    # accuracy counts margins > 0: defined only where no margin is rounding noise
    if min(abs(x) for x in margins) < 1e-6 * scale:
        print("reward accuracy not compared: margins are 0 up to rounding")
    elif abs(float(meta["reward_acc"]) - acc) > 1e-12:
        print(f"MISMATCH reward_acc: {meta['reward_acc']} vs {acc}")
        bad += 1
    print(f"compared {len(rows)} tensors (DPO loss {loss.item():.6f}, reward margin "
          f"{margin:.6f}, accuracy {acc:.3f}), worst relative error {worst:.3g} ({wname})")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["grads"])
    ap.add_argument("args", nargs=4)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--micro", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1004)
    ap.add_argument("--no-shuffle", action="store_true")
    ap.add_argument("--beta", type=float, default=0.1)
    a = ap.parse_args()
    a.ckpt, a.ref, a.pairs, a.dump = a.args
    return cmd_grads(a)


if __name__ == "__main__":
    sys.exit(main())
