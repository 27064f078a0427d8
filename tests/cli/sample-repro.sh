# ifg-sample on a tiny model trained here (a 512-token vocabulary learned
# from two chapters of Moby-Dick): the same seed gives the same samples, and
# so do -b 1, -b 8, -j 1, --no-cache and a tokens stream of the same prompts.
d=$IFG_DATA/moby-dick/data
[ -f "$d/chapter_1.txt" ] || { echo "no $d (sh pipelines/fetch-data.sh)" >&2; exit 77; }
set -e
cat "$d/chapter_1.txt" "$d/chapter_2.txt" | grep . > d.txt
ifg-tokenize -q --learn 512 -f lines -o tok d.txt
ifg-tokenize -q -t tok -f lines --eot -b 32 d.txt > train.ifg
ifg-train -q -o model --layers 2 --heads 2 --embd 32 -b 8 -e 2 train.ifg
# 12 prompts: the first words of lines, with a label to carry
/usr/bin/python3 - <<'PY'
import json
lines = [l.strip() for l in open("d.txt", encoding="utf-8") if l.strip()][:12]
with open("p.jsonl", "w") as f:
    for i, l in enumerate(lines):
        f.write(json.dumps({"pid": "p%d" % i, "prompt": " ".join(l.split()[:4]),
                            "label": ["toxic", "nontoxic"][i % 2]}) + "\n")
PY
s="ifg-sample -m model -t tok -k 5 -p 0.9 -s 7 --id pid -c label"
$s -b 8 p.jsonl > a.jsonl
$s -b 8 p.jsonl | cmp - a.jsonl
$s -b 1 p.jsonl | cmp - a.jsonl
$s -b 3 -j 1 p.jsonl | cmp - a.jsonl
$s -b 2 --no-cache p.jsonl | cmp - a.jsonl
$s -b 5 -o out.jsonl < p.jsonl && cmp out.jsonl a.jsonl
cat p.jsonl | $s | cmp - a.jsonl
zstd -q -c p.jsonl | $s | cmp - a.jsonl
if $s -s 8 p.jsonl | cmp -s - a.jsonl; then echo "seed 8 gave the samples of seed 7" >&2; exit 1; fi
# greedy two ways: top-k 1 and temperature 0
ifg-sample -m model -t tok -k 2 --top-k 1 -s 3 p.jsonl > k1.jsonl
ifg-sample -m model -t tok -k 2 -T 0 p.jsonl | cmp - k1.jsonl
# a tokens stream of the same prompts: the same continuations
ifg-tokenize -q -t tok --text prompt --id pid -c label p.jsonl > p.ifg
$s p.ifg > t.jsonl
ifg-tokenize -q -t tok --text prompt --id pid -c label -o p.ifg.zst p.jsonl
$s < p.ifg.zst | cmp - t.jsonl
cat p.ifg.zst | $s | cmp - t.jsonl
/usr/bin/python3 - <<'PY'
import json
a = [json.loads(l) for l in open("a.jsonl")]
t = [json.loads(l) for l in open("t.jsonl")]
p = [json.loads(l) for l in open("p.jsonl")]
assert len(a) == 60 and len(t) == 60, (len(a), len(t))
for i, r in enumerate(a):
    q = p[i // 5]
    assert list(r) == ["id", "sample", "prompt", "continuation", "label"], list(r)
    assert (r["id"], r["sample"], r["prompt"], r["label"]) == (q["pid"], i % 5, q["prompt"], q["label"])
    assert r["continuation"] == t[i]["continuation"] and t[i]["id"] == r["id"] and t[i]["label"] == r["label"]
assert len({r["continuation"] for r in a}) > 50   # samples differ
g = [json.loads(l) for l in open("k1.jsonl")]
assert all(g[2 * i]["continuation"] == g[2 * i + 1]["continuation"] for i in range(12))
PY
# -n 0: empty continuations; an empty prompt starts from end-of-text
printf '{"prompt": ""}\n' | ifg-sample -m model -t tok -n 0 | grep -q '"continuation": ""'
printf '{"prompt": ""}\n' | ifg-sample -m model -t tok -n 5 | grep -q '"prompt": "",'
