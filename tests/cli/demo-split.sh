# pipelines/prepare_data.py: no item is in more than one of training,
# queries, preference pairs, evaluation and the judge's data; toxic documents
# are the asked share of the training text; query pairs are one ParaDetox row
# said both ways; the toxic prompts are the RTP prompts; the same seed gives
# the same bytes.
set -e
[ -f "$IFG_DATA/brown/cats.txt" ] && [ -d "$IFG_DATA/nlp-corpus" ] ||
	{ echo "data not fetched (sh pipelines/fetch-data.sh)" >&2; exit 77; }
[ -f "$IFG_SHARED/data/paradetox/paradetox.tsv" ] ||
	{ echo "../shared/data not found" >&2; exit 77; }
command -v python3 >/dev/null || { echo "python3 not installed" >&2; exit 77; }
opts="--data $IFG_DATA --shared $IFG_SHARED --clean-chars 200000 --valid-chars 20000
      --queries 40 --prefs 50 --nontoxic-prompts 30 --toxic-frac 0.08"
python3 "$IFG_TOP/pipelines/prepare_data.py" $opts -o a 2>/dev/null
python3 "$IFG_TOP/pipelines/prepare_data.py" $opts -o b 2>/dev/null
for f in a/*; do cmp "$f" "b/${f#a/}"; done
python3 - a "$IFG_SHARED" <<'P'
import glob, json, sys
d, shared = sys.argv[1], sys.argv[2]
def rows(name):
    return [json.loads(l) for l in open(f"{d}/{name}")]
train, tox = rows("train.jsonl"), rows("train-toxic.jsonl")
qt, qs, prefs = rows("qtox.jsonl"), rows("qsafe.jsonl"), rows("prefs.jsonl")
ev, judge = rows("eval-prompts.jsonl"), rows("judge-train.jsonl")
tests = {f: rows(f.split("/")[-1]) for f in glob.glob(f"{d}/judge-test-*.jsonl")}
# the toxic documents of the corpus are its non-clean ones, 8 % of the text
ids = [r["id"] for r in train]
assert len(ids) == len(set(ids)), "a training document twice"
toxic = {r["id"] for r in train if not r["id"].startswith("c")}
assert toxic == {r["id"] for r in tox}
share = sum(len(r["text"]) for r in tox) / sum(len(r["text"]) for r in train)
assert 0.075 < share < 0.09, share
# queries: one ParaDetox row both ways, behind an end-of-text prompt
assert [r["id"] for r in qt] == [r["id"] for r in qs] and len(qt) == 40
assert all(r["prompt"] == "<|endoftext|>" for r in qt + qs)
assert all(a["continuation"] != b["continuation"] for a, b in zip(qt, qs))
assert len(prefs) == 50 and all(r["chosen"] != r["rejected"] for r in prefs)
# prompts: every RTP prompt is a toxic one; the non-toxic ones cut held-out items
rtp = {" ".join(l.split()) for f in glob.glob(f"{shared}/data/rtp/rtp_*.txt") for l in open(f)} - {""}
assert {r["prompt"] for r in ev if r["label"] == "toxic"} == rtp
safe = [r for r in ev if r["label"] == "nontoxic"]
assert len(safe) == 30 and all(r["from"].startswith(("v", "p")) for r in safe)
assert [r["label"] for r in ev[:4]] == ["toxic", "nontoxic", "toxic", "nontoxic"]
# no item in two roles (ParaDetox rows by row id, tweets by tweet id)
roles = {"train": toxic, "queries": {r["id"] for r in qt}, "prefs": {r["id"] for r in prefs},
         "eval": {r["from"] for r in safe if r["src"] == "paradetox"},
         "judge": {r["id"] for r in judge if r["src"] != "clean"}}
for t in tests.values():
    roles["judge"] |= {r["id"] for r in t if r["src"] != "clean"}
seen = {}
for role, s in roles.items():
    for i in s:
        assert i not in seen, f"{i} in {seen.get(i)} and {role}"
        seen[i] = role
assert not {r["text"] for r in judge} & {r["continuation"] for r in qt + qs}
# the judge's test splits: each source, TweetEval's own test files
assert set(t.split("judge-test-")[1] for t in tests) == {
    "davidson.jsonl", "paradetox.jsonl", "clean.jsonl", "tweeteval-offensive.jsonl",
    "tweeteval-hate.jsonl"}
n = sum(1 for l in open(f"{shared}/data/tweeteval/hate/test_labels.txt") if l.strip())
assert len(tests[f"{d}/judge-test-tweeteval-hate.jsonl"]) == n
assert {r["label"] for r in judge} == {0, 1}
P
