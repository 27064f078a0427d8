#!/bin/sh
# demo-report.sh: the results of pipelines/demo.sh as summary.json, a
# Markdown table in the paper's layout (table.md) and a plot of toxicity
# against perplexity (plot.png, gnuplot).
#
#   sh pipelines/demo-report.sh WORKDIR RESULTSDIR METHOD...
#
# Reads, per method, WORKDIR/eval/METHOD/{tox,toxlex,ppl-clean,ppl-tweets}.json
# as ifg-eval --json writes them, and the ifg-select summaries of the masks.
set -eu
[ $# -ge 3 ] || { echo "usage: demo-report.sh workdir resultsdir method..." >&2; exit 2; }
w=$1 res=$2
shift 2
python3 - "$w" "$res" "$@" <<'EOF'
import json, os, re, sys

w, res, methods = sys.argv[1], sys.argv[2], sys.argv[3:]
names = {
    "uncensored": "Uncensored",
    "words": "Word filtering (naughty-words, dropped)",
    "ifg-drop": "IF-Guide mask, dropped (lambda = 0)",
    "ifguide": "IF-Guide (lambda = 1)",
    "ifguide-ft": "IF-Guide fine-tuning of Uncensored",
}
masks = {"words": "words-mask.log", "ifg-drop": "influence.log",
         "ifguide": "influence.log", "ifguide-ft": "influence.log"}

def load(m, f):
    with open(os.path.join(w, "eval", m, f)) as fh:
        return json.load(fh)

def selected(log):
    try:
        text = open(os.path.join(w, "logs", log)).read()
    except OSError:
        return None
    hits = re.findall(r"ifg-select: selected (\d+) of (\d+) tokens", text)
    return [int(x) for x in hits[-1]] if hits else None

rows = []
for m in methods:
    tox, lex = load(m, "tox.json"), load(m, "toxlex.json")
    pc, pt = load(m, "ppl-clean.json"), load(m, "ppl-tweets.json")
    r = {"method": m, "name": names.get(m, m)}
    for split, key in (("toxic", "toxic"), ("nontoxic", "nontoxic"), ("all", "all")):
        r["emt_" + key] = tox[split]["emt"]
        r["tp_" + key] = tox[split]["tp"]
        r["emt_lexicon_" + key] = lex[split]["emt"]
        r["tp_lexicon_" + key] = lex[split]["tp"]
    r["prompts_toxic"] = tox["toxic"]["prompts"]
    r["prompts_nontoxic"] = tox["nontoxic"]["prompts"]
    r["samples"] = tox["all"]["samples"]
    r["ppl_clean"] = pc["ppl"]
    r["ppl_tweets"] = pt["ppl"]
    r["last_token_acc_clean"] = pc["last_token_acc"]
    # Beside EMT and TP (maxima over a prompt's 25 samples, which saturate
    # when a model writes tweet-like text at all): the mean toxicity of the
    # samples and the share of samples at or above 0.5 (ifg-eval's "mean"
    # and "toxic_frac"), per prompt label.
    for lab in ("toxic", "nontoxic"):
        r["mean_toxicity_" + lab] = tox[lab]["mean"]
        r["toxic_samples_" + lab] = tox[lab]["toxic_frac"]
    s = selected(masks[m]) if m in masks else None
    if s:
        r["masked_tokens"], r["train_tokens"] = s
    rows.append(r)

summary = {"methods": rows}
with open(os.path.join(res, "summary.json.tmp"), "w") as f:
    json.dump(summary, f, indent=1)
os.replace(os.path.join(res, "summary.json.tmp"), os.path.join(res, "summary.json"))

base = next((r for r in rows if r["method"] == "uncensored"), None)
lines = [
    "| Method | EMT toxic | EMT non-toxic | EMT all | TP toxic | TP non-toxic | TP all "
    "| PPL clean | PPL tweets | Masked tokens |",
    "|---|---|---|---|---|---|---|---|---|---|",
]
for r in rows:
    d = ""
    if base and r is not base:
        d = " (%+.0f%%)" % (100 * (r["ppl_clean"] / base["ppl_clean"] - 1))
    mt = "%d (%.1f%%)" % (r["masked_tokens"], 100.0 * r["masked_tokens"] / r["train_tokens"]) \
        if "masked_tokens" in r else "-"
    lines.append("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f%s | %.2f | %s |" % (
        r["name"], r["emt_toxic"], r["emt_nontoxic"], r["emt_all"], r["tp_toxic"],
        r["tp_nontoxic"], r["tp_all"], r["ppl_clean"], d, r["ppl_tweets"], mt))
lines += ["", "Per sample (classifier): mean toxicity and share of samples >= 0.5; and the "
          "lexicon's (cuss) EMT and TP of the same samples:", "",
          "| Method | Mean tox. toxic | Mean tox. non-toxic | Toxic samples toxic "
          "| Toxic samples non-toxic | Lexicon EMT toxic | Lexicon EMT non-toxic "
          "| Lexicon TP toxic | Lexicon TP non-toxic |", "|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    lines.append("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |" % (
        r["name"], r["mean_toxicity_toxic"], r["mean_toxicity_nontoxic"],
        r["toxic_samples_toxic"], r["toxic_samples_nontoxic"], r["emt_lexicon_toxic"],
        r["emt_lexicon_nontoxic"], r["tp_lexicon_toxic"], r["tp_lexicon_nontoxic"]))
r0 = rows[0]
lines += ["", "EMT, TP: expected maximum toxicity and toxicity probability over %d toxic and %d "
          "non-toxic prompts, %d samples each (top-p 0.9, 20 new tokens), scored by the "
          "classifier trained with ifg-toxicity learn; PPL on held-out clean text (change "
          "against Uncensored) and on held-out non-toxic tweets."
          % (r0["prompts_toxic"], r0["prompts_nontoxic"],
             r0["samples"] // max(1, r0["prompts_toxic"] + r0["prompts_nontoxic"]))]
with open(os.path.join(res, "table.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
with open(os.path.join(w, "plot.dat"), "w") as f:
    for r in rows:
        f.write('"%s" %.6g %.6g %.6g %.6g %.6g\n' % (
            r["method"], r["ppl_clean"], r["emt_toxic"], r["emt_nontoxic"],
            r["mean_toxicity_toxic"], r["mean_toxicity_nontoxic"]))
EOF
# Two panels: EMT (the paper's measure) and the mean toxicity of the samples,
# each against the perplexity of held-out clean text; lower left is better.
gnuplot <<EOF
set terminal pngcairo size 1200,550 font ",10"
set output "$res/plot.png.tmp"
set multiplot layout 1,2 title "Toxicity against perplexity (held-out clean text); lower left is better"
set xlabel "perplexity, held-out clean text"
set key bottom right
set offsets graph 0.15, graph 0.15, graph 0.1, graph 0.1
set ylabel "EMT (max over 25 samples, mean over prompts)"
plot "$w/plot.dat" using 2:3 with points pt 7 ps 1.5 title "toxic prompts", \
     "" using 2:3:1 with labels offset 0,1 notitle, \
     "" using 2:4 with points pt 5 ps 1.2 title "non-toxic prompts"
set ylabel "mean toxicity of the samples"
plot "$w/plot.dat" using 2:5 with points pt 7 ps 1.5 title "toxic prompts", \
     "" using 2:5:1 with labels offset 0,1 notitle, \
     "" using 2:6 with points pt 5 ps 1.2 title "non-toxic prompts"
unset multiplot
EOF
mv -f "$res/plot.png.tmp" "$res/plot.png"
