#!/usr/bin/env python3
"""demo_report.py: the results of pipelines/demo.sh.

    python3 pipelines/demo_report.py WORKDIR RESULTSDIR METHOD...

Reads, per method, WORKDIR/eval/METHOD/{tox,toxlex,ppl-clean}.json as
`ifg-eval --json` writes them and its scored samples; the judges' floor
(held-out human text) from WORKDIR/eval/reference/{tox,toxlex}.json; the masks' token counts
from the mask records themselves (through ifg-show); the judge's held-out
accuracy from WORKDIR/judge.jsonl; the stage times from RESULTSDIR/times.txt.
Writes RESULTSDIR/summary.json (every number of the tables), table.md (the
tables), samples.md (one sample per method for the same five prompts, with
profanity masked) and plot.png (gnuplot).
"""
import json
import os
import re
import subprocess
import sys

NAMES = {
    "uncensored": "Uncensored",
    "words": "Word filtering (naughty-words, dropped)",
    "docfilter": "Standard influence filtering (documents dropped)",
    "ifg-drop": "IF-Guide mask, dropped (lambda = 0)",
    "ifguide": "IF-Guide (lambda = 1)",
    "ifguide-ft": "IF-Guide fine-tuning of Uncensored",
    "dpo": "DPO fine-tuning of Uncensored",
    "rad": "RAD decoding of Uncensored",
    "ifguide-rad": "IF-Guide (lambda = 1) + RAD",
}
# The training data of each method: a mask (tokens penalised or dropped),
# or the records kept (document filtering).
MASKS = {"words": "words-mask.ifg", "ifg-drop": "influence/mask.ifg",
         "ifguide": "influence/mask.ifg", "ifguide-ft": "influence/mask.ifg",
         "ifguide-rad": "influence/mask.ifg"}
KEPT = {"docfilter": "docs-kept.ifg"}


def stream(path):
    """The records of a token stream one at a time, as dicts (ifg-show's
    JSON lines)."""
    p = subprocess.Popen(["ifg-show", "-a", "-H", path], stdout=subprocess.PIPE, text=True)
    for line in p.stdout:
        if line.strip():
            yield json.loads(line)
    if p.wait():
        raise SystemExit("demo_report: ifg-show %s failed" % path)


def token_counts(path):
    """(tokens, masked tokens) of a token stream."""
    n = m = 0
    for r in stream(path):
        n += len(r["tokens"]["data"])
        m += sum(1 for x in (r["mask"]["data"] if "mask" in r else []) if x)
    return n, m


TOXIC_SOURCES = ("davidson", "tweeteval-offensive", "tweeteval-hate", "paradetox")


def where_masks_fall(w):
    """Per selection, the share of its tokens inside toxic-source documents
    (Davidson and TweetEval tweets, ParaDetox's toxic sentences) and the
    share of those documents' tokens it takes.  The training records are the
    documents of train.jsonl tokenized one by one (train-docs.ifg), joined
    and cut into blocks, so position i of the blocks is position i of the
    documents' concatenation.  None when train-docs.ifg is missing."""
    docs = os.path.join(w, "train-docs.ifg")
    if not os.path.exists(docs):
        return None
    src = {}
    with open(os.path.join(w, "data", "train.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            src[d["id"]] = d["src"]
    toxic = bytearray()
    for r in stream(docs):
        toxic += bytes([src[r["id"]] in TOXIC_SOURCES]) * len(r["tokens"]["data"])
    out = {}

    def tally(name, flags):
        n = sum(flags)
        hit = sum(1 for i, x in enumerate(flags) if x and toxic[i])
        ntox = sum(toxic[:len(flags)])
        out[name] = {"selected": n, "in_toxic_docs": hit, "toxic_doc_tokens": ntox,
                     "precision": hit / n if n else 0.0, "coverage": hit / ntox if ntox else 0.0}

    for name, path in (("ifguide", "influence/mask.ifg"), ("words", "words-mask.ifg")):
        if os.path.exists(os.path.join(w, path)):
            tally(name, [x for r in stream(os.path.join(w, path)) for x in r["mask"]["data"]])
    kept_path = os.path.join(w, "docs-kept.ifg")
    if os.path.exists(kept_path):
        kept = {r["id"] for r in stream(kept_path)}
        tally("docfilter", [r["id"] not in kept for r in stream(os.path.join(w, "train.ifg"))
                            for _ in r["tokens"]["data"]])
    return out


def load(w, m, f):
    with open(os.path.join(w, "eval", m, f)) as fh:
        return json.load(fh)


def mask_words(text, words):
    """Profanity in a sample shown as its first letter and asterisks."""
    def hide(mo):
        s = mo.group(0)
        return s[0] + "*" * (len(s) - 1) if s.lower() in words else s
    return re.sub(r"[A-Za-z']+", hide, text)


def main():
    w, res, methods = sys.argv[1], sys.argv[2], sys.argv[3:]
    train_tokens, _ = token_counts(os.path.join(w, "train.ifg"))
    toxic_tokens, _ = token_counts(os.path.join(w, "train-toxic.ifg"))
    counts = {}
    for m in methods:
        if m in MASKS and MASKS[m] not in counts:
            counts[MASKS[m]] = token_counts(os.path.join(w, MASKS[m]))[1]
        if m in KEPT:
            counts[KEPT[m]] = train_tokens - token_counts(os.path.join(w, KEPT[m]))[0]
    rows = []
    for m in methods:
        tox, lex, pc = load(w, m, "tox.json"), load(w, m, "toxlex.json"), load(w, m, "ppl-clean.json")
        r = {"method": m, "name": NAMES.get(m, m)}
        for split in ("toxic", "nontoxic", "all"):
            r["emt_" + split] = tox[split]["emt"]
            r["tp_" + split] = tox[split]["tp"]
            r["mean_toxicity_" + split] = tox[split]["mean"]
            r["toxic_samples_" + split] = tox[split]["toxic_frac"]
            r["emt_lexicon_" + split] = lex[split]["emt"]
            r["tp_lexicon_" + split] = lex[split]["tp"]
        r["prompts_toxic"] = tox["toxic"]["prompts"]
        r["prompts_nontoxic"] = tox["nontoxic"]["prompts"]
        r["samples"] = tox["all"]["samples"]
        r["ppl_clean"] = pc["ppl"]
        r["last_token_acc_clean"] = pc["last_token_acc"]
        key = MASKS.get(m) or KEPT.get(m)
        if key:
            r["masked_tokens"] = counts[key]
            r["train_tokens"] = train_tokens
        rows.append(r)

    judge = []
    jp = os.path.join(w, "judge.jsonl")
    if os.path.exists(jp):
        judge = [json.loads(l) for l in open(jp) if l.strip()]
        for j in judge:	# ifg-toxicity test names its input, not the split
            j.setdefault("split", re.sub(r"^judge-test-|\.jsonl$", "",
                                         os.path.basename(j.get("input", ""))))
    times = {}	# a stage run again (after its outputs were removed) counts once, last
    tp = os.path.join(res, "times.txt")
    if os.path.exists(tp):
        for line in open(tp):
            f = line.split()
            if len(f) == 5:
                times.pop(f[0], None)
                times[f[0]] = {"stage": f[0], "wall_s": float(f[2][:-1]),
                               "cpu_s": float(f[4][:-1])}
    times = list(times.values())
    base = next((r for r in rows if r["method"] == "uncensored"), None)
    for r in rows:
        if base:
            r["ppl_clean_change"] = r["ppl_clean"] / base["ppl_clean"] - 1
    masks = where_masks_fall(w)
    ref = None	# the judge's floor: held-out human text cut as samples are
    if os.path.exists(os.path.join(w, "eval", "reference", "tox.json")):
        rt, rl = load(w, "reference", "tox.json")["all"], load(w, "reference", "toxlex.json")["all"]
        ref = {"emt": rt["emt"], "tp": rt["tp"], "mean_toxicity": rt["mean"],
               "toxic_samples": rt["toxic_frac"], "groups": rt["prompts"],
               "samples": rt["samples"], "emt_lexicon": rl["emt"], "tp_lexicon": rl["tp"]}
    summary = {"train_tokens": train_tokens, "toxic_tokens": toxic_tokens,
               "toxic_token_share": toxic_tokens / train_tokens, "methods": rows,
               "judge": judge, "times": times}
    if masks:
        summary["where_masks_fall"] = masks
    if ref:
        summary["reference_clean_text"] = ref
    tmp = os.path.join(res, "summary.json.tmp")
    with open(tmp, "w") as f:
        json.dump(summary, f, indent=1)
    os.replace(tmp, os.path.join(res, "summary.json"))

    L = ["| Method | EMT toxic | EMT non-toxic | TP toxic | TP non-toxic | Mean tox. toxic "
         "| Mean tox. non-toxic | PPL clean | Last-token acc. | Masked tokens |",
         "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        d = " (%+.1f%%)" % (100 * r["ppl_clean_change"]) if base and r is not base else ""
        mt = "%d (%.1f%%)" % (r["masked_tokens"], 100.0 * r["masked_tokens"] / r["train_tokens"]) \
            if "masked_tokens" in r else "-"
        L.append("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f%s | %.3f | %s |" % (
            r["name"], r["emt_toxic"], r["emt_nontoxic"], r["tp_toxic"], r["tp_nontoxic"],
            r["mean_toxicity_toxic"], r["mean_toxicity_nontoxic"], r["ppl_clean"], d,
            r["last_token_acc_clean"], mt))
    L += ["", "The second judge, the cuss lexicon (largest severity of a listed word, 0 to 1), "
          "on the same samples:", "",
          "| Method | Lexicon EMT toxic | Lexicon EMT non-toxic | Lexicon TP toxic "
          "| Lexicon TP non-toxic | Toxic samples toxic | Toxic samples non-toxic |",
          "|---|---|---|---|---|---|---|"]
    for r in rows:
        L.append("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |" % (
            r["name"], r["emt_lexicon_toxic"], r["emt_lexicon_nontoxic"], r["tp_lexicon_toxic"],
            r["tp_lexicon_nontoxic"], r["toxic_samples_toxic"], r["toxic_samples_nontoxic"]))
    r0 = rows[0]
    per = r0["samples"] // max(1, r0["prompts_toxic"] + r0["prompts_nontoxic"])
    L += ["", "EMT, TP: expected maximum toxicity and toxicity probability over %d toxic "
          "(RealToxicityPrompts) and %d non-toxic prompts, %d samples each (top-p 0.9, 20 new "
          "tokens), scored by the judge; mean toxicity of the samples and the share of samples "
          ">= 0.5; PPL and last-token accuracy on held-out clean text (change against "
          "Uncensored). Toxic documents are %.1f%% of the %d training tokens."
          % (r0["prompts_toxic"], r0["prompts_nontoxic"], per,
             100.0 * toxic_tokens / train_tokens, train_tokens)]
    if ref:
        L += ["", "The judges' floor: held-out clean text written by people (the perplexity text "
              "and the judge's clean test split), cut into pieces of 15 words (about 20 tokens) "
              "in %d groups of 25 as one prompt's samples, scores EMT %.3f, TP %.3f and mean "
              "toxicity %.3f by the judge (lexicon: EMT %.3f, TP %.3f)."
              % (ref["groups"], ref["emt"], ref["tp"], ref["mean_toxicity"],
                 ref["emt_lexicon"], ref["tp_lexicon"])]
    if masks:
        L += ["", "Where the selections fall: of the tokens each one takes, the share inside "
              "toxic-source documents (tweets, ParaDetox toxic sentences: %.1f%% of the "
              "training tokens), and the share of those documents' tokens it takes:" %
              (100.0 * toxic_tokens / train_tokens), "",
              "| Selection | Tokens | In toxic-source documents | Of their tokens |",
              "|---|---|---|---|"]
        for k, label in (("ifguide", "IF-Guide mask (Algorithm 1)"),
                         ("words", "Word filter (naughty-words)"),
                         ("docfilter", "Documents dropped (standard influence filtering)")):
            if k in masks:
                x = masks[k]
                L.append("| %s | %d | %.1f%% | %.1f%% |" % (label, x["selected"],
                                                          100 * x["precision"],
                                                          100 * x["coverage"]))
    if judge:
        L += ["", "The judge on held-out test splits:", "",
              "| Split | Toxic | Non-toxic | Accuracy | AUC |", "|---|---|---|---|---|"]
        for j in judge:
            auc = j["auc"] if isinstance(j["auc"], (int, float)) else None
            L.append("| %s | %d | %d | %.3f | %s |" % (
                j["split"], j["positives"], j["negatives"], j["accuracy"],
                "%.3f" % auc if auc is not None else "-"))
    if times:
        L += ["", "Stage times (wall and CPU seconds): " +
              ", ".join("%s %.0f/%.0f" % (t["stage"], t["wall_s"], t["cpu_s"]) for t in times)]
    with open(os.path.join(res, "table.md"), "w") as f:
        f.write("\n".join(L) + "\n")

    # Five prompts (three toxic, two not), sample 0 of each method.
    words = set()
    lp = os.path.join(w, "data", "lexicon-filter.txt")
    if os.path.exists(lp):
        words = {l.strip().lower() for l in open(lp) if l.strip() and not l.startswith("#")}
    scored = {}
    for m in methods:
        for line in open(os.path.join(w, "eval", m, "scored.jsonl")):
            s = json.loads(line)
            if s["sample"] == 0:
                scored.setdefault(s["id"], {})[m] = s
    ids = [i for i in scored if i.startswith("rtp")][:3] + \
        [i for i in scored if not i.startswith("rtp")][:2]
    S = ["Samples (the first of 25 per prompt), judge's toxicity in brackets; profanity masked.", ""]
    for i in ids:
        first = next(iter(scored[i].values()))
        S += ["**%s** (%s): %s" % (i, first.get("label", ""), mask_words(first["prompt"], words)), ""]
        for m in methods:
            s = scored[i].get(m)
            if s:
                S.append("- %s [%.2f]: %s" % (NAMES.get(m, m), s["toxicity"],
                                              mask_words(s["continuation"], words)))
        S.append("")
    with open(os.path.join(res, "samples.md"), "w") as f:
        f.write("\n".join(S))

    with open(os.path.join(w, "plot.dat"), "w") as f:
        for r in rows:
            f.write('"%s" %.6g %.6g %.6g %.6g %.6g\n' % (
                r["method"], r["ppl_clean"], r["emt_toxic"], r["emt_nontoxic"],
                r["mean_toxicity_toxic"], r["mean_toxicity_nontoxic"]))
    plot = """set terminal pngcairo size 1200,550 font ",10"
set output "{res}/plot.png.tmp"
set multiplot layout 1,2 title "Toxicity against perplexity (held-out clean text); lower left is better"
set xlabel "perplexity, held-out clean text"
set key bottom right
set offsets graph 0.15, graph 0.15, graph 0.1, graph 0.1
set ylabel "EMT (max over 25 samples, mean over prompts)"
plot "{w}/plot.dat" using 2:3 with points pt 7 ps 1.5 title "toxic prompts (RTP)", \\
     "" using 2:3:1 with labels offset 0,1 notitle, \\
     "" using 2:4 with points pt 5 ps 1.2 title "non-toxic prompts"
set ylabel "mean toxicity of the samples"
plot "{w}/plot.dat" using 2:5 with points pt 7 ps 1.5 title "toxic prompts (RTP)", \\
     "" using 2:5:1 with labels offset 0,1 notitle, \\
     "" using 2:6 with points pt 5 ps 1.2 title "non-toxic prompts"
unset multiplot
""".format(res=res, w=w)
    subprocess.run(["gnuplot"], input=plot, text=True, check=True)
    os.replace(os.path.join(res, "plot.png.tmp"), os.path.join(res, "plot.png"))


if __name__ == "__main__":
    main()
