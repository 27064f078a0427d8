# pipelines/reference_pieces.py, the judges' floor of the demo: every piece
# is WORDS consecutive words of one text, each word of a text in at most one
# piece, whole groups of K only, the same seed gives the same bytes; a line
# without text is an error that names the file and line.
set -e
command -v python3 >/dev/null || { echo "python3 not installed" >&2; exit 77; }
ref=$IFG_TOP/pipelines/reference_pieces.py
python3 - <<'P' >in.jsonl
import json
for d in range(7):
    print(json.dumps({"id": "v%d" % d, "text": " ".join("d%dw%d" % (d, i) for i in range(40 + 3 * d))}))
P
python3 "$ref" -s 3 -w 5 -k 4 in.jsonl >a.jsonl
python3 "$ref" -s 3 -w 5 -k 4 in.jsonl >b.jsonl
cmp a.jsonl b.jsonl
python3 - a.jsonl <<'P'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
# 7 texts of 40..58 words: 8+8+9+9+10+11+11 = 66 pieces of 5, 16 whole groups of 4
assert len(rows) == 64, len(rows)
assert [r["sample"] for r in rows] == [i % 4 for i in range(64)]
assert [r["id"] for r in rows] == ["ref%d" % (i // 4) for i in range(64)]
seen = set()
for r in rows:
    w = r["continuation"].split()
    assert len(w) == 5
    d = {x.split("w")[0] for x in w}
    assert len(d) == 1, w
    idx = [int(x.split("w")[1]) for x in w]
    assert idx[0] % 5 == 0 and idx == list(range(idx[0], idx[0] + 5)), w
    assert not seen & set(w)
    seen |= set(w)
P
printf '{"id": "x"}\n' >bad.jsonl
if python3 "$ref" in.jsonl bad.jsonl >out 2>err; then exit 1; fi
grep -q 'bad.jsonl:1: no text field' err
if python3 "$ref" -k 1000 in.jsonl >out 2>err; then exit 1; fi
grep -q 'fewer than 1000 pieces' err
