# score keeps every other field of a line, byte for byte, and the order of
# the lines; a field it adds that is already there is replaced in place;
# blank lines are skipped; zstd input, several files, -o, nested --field.
[ -f "$IFG_DATA/cuss/index.js" ] || { echo "no $IFG_DATA/cuss (sh pipelines/fetch-data.sh)" >&2; exit 77; }
set -e
lx="$IFG_DATA/cuss"
cat > a.jsonl <<'L'
{"id": 3, "prompt": {"text": "Hi"}, "continuation": "you ass", "x": 0.1, "big": 1e300, "u": "\u00e9\u0000", "arr": [1, {"b": null}]}

{"continuation":"nice","id":1,"toxicity_lexicon":7,"x":0.1}
  {"continuation":"shit"}   
{}
L
sed -i '$d' a.jsonl	# no empty object: it has no continuation
printf '{"continuation":"fucking hell","n":-0.0}\r\n' > b.jsonl
zstd -q b.jsonl -o b.jsonl.zst
ifg-toxicity score -l "$lx" a.jsonl b.jsonl.zst -o out.jsonl
cat out.jsonl
# the same through a pipe
cat a.jsonl b.jsonl | ifg-toxicity score -l "$lx" | cmp - out.jsonl
# every input field is kept with its value, in its order, lines in order
/usr/bin/python3 - <<'PY'
import json
src = [json.loads(l) for f in ("a.jsonl", "b.jsonl") for l in open(f) if l.strip()]
out = [json.loads(l) for l in open("out.jsonl")]
assert len(src) == len(out), (len(src), len(out))
for s, o in zip(src, out):
    extra = [k for k in o if k not in s]
    assert [k for k in o if k in s] == list(s), (s, o)
    assert all(o[k] == s[k] for k in s if k != "toxicity_lexicon"), (s, o)
    assert set(extra) <= {"toxicity_lexicon"}, extra
PY
# a nested field by dotted path
printf '{"continuation":{"text":"bitches"}}\n' | ifg-toxicity score -l "$lx" --field continuation.text
