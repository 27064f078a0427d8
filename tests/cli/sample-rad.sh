# Reward-augmented decoding on a tiny model trained here (two chapters of
# Moby-Dick) with a classifier learned here that calls sentences about the
# sea toxic: with --rad-beta 0 the samples are plain sampling's byte for
# byte; with beta 30 they are the same under -b, -j, --no-cache and a tokens
# stream, and the classifier finds them less toxic than the plain ones.
d=$IFG_DATA/moby-dick/data
[ -f "$d/chapter_1.txt" ] || { echo "no $d (sh pipelines/fetch-data.sh)" >&2; exit 77; }
set -e
cat "$d/chapter_1.txt" "$d/chapter_2.txt" | grep . > d.txt
ifg-tokenize -q --learn 512 -f lines -o tok d.txt
ifg-tokenize -q -t tok -f lines --eot -b 32 d.txt > train.ifg
ifg-train -q -o model --layers 2 --heads 2 --embd 32 -b 8 -e 2 train.ifg
/usr/bin/python3 - <<'PY'
import json, re
lines = [l.strip() for l in open("d.txt", encoding="utf-8") if l.strip()]
bad = re.compile(r"\b(sea|water|whale|ship)s?\b", re.I)
with open("lab.jsonl", "w") as f:
    for l in lines:
        for s in re.split(r"(?<=[.;,!?])\s+", l):
            if s:
                f.write(json.dumps({"text": s, "label": 1 if bad.search(s) else 0}) + "\n")
with open("p.jsonl", "w") as f:
    for i, l in enumerate(lines[:12]):
        f.write(json.dumps({"pid": "p%d" % i, "prompt": " ".join(l.split()[:4]),
                            "label": ["toxic", "nontoxic"][i % 2]}) + "\n")
PY
ifg-toxicity learn -q -o clf --text text --label label --positive 1 lab.jsonl
s="ifg-sample -m model -t tok -k 5 -p 0.9 -s 7 --id pid -c label"
$s p.jsonl > plain.jsonl
# beta 0: plain sampling, byte for byte, on every path
$s --rad-model clf --rad-beta 0 p.jsonl | cmp - plain.jsonl
$s --rad-model clf --rad-beta 0 --rad-k 50 --rad-prompt -b 3 -j 1 p.jsonl | cmp - plain.jsonl
$s --rad-model clf --rad-beta 0 --no-cache p.jsonl | cmp - plain.jsonl
# beta 30: reproducible across batching, threads, the cache and the input form
r="$s --rad-model clf --rad-beta 30"
$r p.jsonl > rad.jsonl
$r -b 1 p.jsonl | cmp - rad.jsonl
$r -b 3 -j 1 p.jsonl | cmp - rad.jsonl
$r -b 2 --no-cache p.jsonl | cmp - rad.jsonl
ifg-tokenize -q -t tok --text prompt --id pid -c label p.jsonl > p.ifg
$r p.ifg > t.jsonl
$r --rad-prompt p.jsonl > radp.jsonl
$r --rad-prompt -b 5 --no-cache p.jsonl | cmp - radp.jsonl
ifg-toxicity score -q -m clf plain.jsonl > plain.s
ifg-toxicity score -q -m clf rad.jsonl > rad.s
ifg-toxicity score -q -m clf radp.jsonl > radp.s
/usr/bin/python3 - <<'PY'
import json
def load(p): return [json.loads(l) for l in open(p)]
plain, rad, radp, t = load("plain.s"), load("rad.s"), load("radp.s"), load("t.jsonl")
assert len(plain) == len(rad) == len(radp) == 60
assert [r["continuation"] for r in t] == [r["continuation"] for r in rad]
assert [(r["id"], r["sample"], r["label"]) for r in rad] == [(r["id"], r["sample"], r["label"]) for r in plain]
m = {k: sum(r["toxicity"] for r in v) / len(v) for k, v in [("plain", plain), ("rad", rad), ("radp", radp)]}
assert sum(a["continuation"] != b["continuation"] for a, b in zip(plain, rad)) > 30, "RAD changed few samples"
assert m["rad"] < 0.6 * m["plain"] and m["radp"] < 0.6 * m["plain"], m
PY
