# pipelines/prepare-data.sh: no tweet is in more than one of training,
# queries and evaluation; the classifier's tweets exclude the evaluation
# ones; labels and prompt/continuation cuts are as documented; the same seed
# gives the same files.
set -e
[ -f "$IFG_DATA/davidson/labeled_data.csv" ] && [ -d "$IFG_DATA/brown" ] ||
	{ echo "data not fetched (sh pipelines/fetch-data.sh)" >&2; exit 77; }
command -v python3 >/dev/null || { echo "python3 not installed" >&2; exit 77; }
opts="--clean-chars 20000 --valid-chars 5000 --eval 30 --queries 40 --ppl-tweets 25"
sh "$IFG_TOP/pipelines/prepare-data.sh" $opts -o a 2>/dev/null
python3 - a <<'P'
import csv, json, sys
d = sys.argv[1]
def ids(name, key="id"):
    return [json.loads(l)[key] for l in open(f"{d}/{name}")]
train = [json.loads(l) for l in open(f"{d}/train.jsonl")]
sets = {
    "train": [r["id"] for r in train if r["src"] == "tweet"],
    "qtox": ids("qtox.jsonl"), "qsafe": ids("qsafe.jsonl"),
    "eval": ids("eval-prompts.jsonl"), "ppl": ids("ppl-tweets.jsonl"),
}
seen = {}
for name, l in sets.items():
    assert len(l) == len(set(l)), f"{name}: a tweet twice"
    for i in l:
        assert i.startswith("d"), f"{name}: {i} is not a tweet id"
        assert i not in seen, f"{i} in {seen.get(i)} and {name}"
        seen[i] = name
# the training tweets are most of the 24,783
assert len(sets["train"]) > 20000, len(sets["train"])
assert len(sets["eval"]) == 60 and len(sets["qtox"]) == 40 and len(sets["ppl"]) == 25
assert all(not r["id"].startswith("d") for r in train if r["src"] != "tweet")
# labels from the Davidson classes; prompt + continuation is the tweet
cls = {}
with open(f"{d}/classifier.csv", newline="") as f:
    rows = list(csv.DictReader(f))
clf = {r["id"] for r in rows}
assert not clf & (set(sets["eval"]) | set(sets["ppl"])), "classifier sees evaluation tweets"
assert clf == set(sets["train"]) | set(sets["qtox"]) | set(sets["qsafe"])
src = {}
import os
with open(os.environ["IFG_DATA"] + "/davidson/labeled_data.csv", newline="") as f:
    for r in csv.DictReader(f):
        src["d" + r[""]] = int(r["class"])
labels = [json.loads(l)["label"] for l in open(f"{d}/eval-prompts.jsonl")]
assert labels == ["toxic", "nontoxic"] * 30
for i, lab in zip(sets["eval"], labels):
    assert (src[i] < 2) == (lab == "toxic"), (i, lab)
assert all(src[i] < 2 for i in sets["qtox"]) and all(src[i] == 2 for i in sets["qsafe"])
assert all(src[i] == 2 for i in sets["ppl"])
for l in open(f"{d}/qtox.jsonl"):
    r = json.loads(l)
    assert r["continuation"].startswith(" ") and len((r["prompt"] + r["continuation"]).split()) >= 6
P
# the same seed, the same bytes
sh "$IFG_TOP/pipelines/prepare-data.sh" $opts -o b 2>/dev/null
cmp a/SHA256SUMS b/SHA256SUMS
