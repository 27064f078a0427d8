# ifg-eval perplexity is exp of the validation loss that ifg-train reports
# for the same model and data (records of varied lengths, some of one
# token), and records longer than the context are evaluated in windows.
/usr/bin/python3 -c 'import msgpack, numpy' 2>/dev/null || { echo "no python3-msgpack / python3-numpy" >&2; exit 77; }
set -e
csv=$IFG_DATA/davidson/labeled_data.csv
[ -f "$csv" ] || { echo "no $csv (sh pipelines/fetch-data.sh)" >&2; exit 77; }
head -c 20000 "$csv" | /usr/bin/python3 "$IFG_TOP/tests/ref/ifgrec.py" 64 > train.ifg
tail -c 6000 "$csv" > valid.txt
/usr/bin/python3 - <<'PY'
import os, sys
sys.path.insert(0, os.environ["IFG_TOP"] + "/tests/ref")
import ifgrec
b = open("valid.txt", "rb").read()
docs, i, n = [], 0, 1
while i < len(b):                 # lengths 1, 8, 15, ... 64, 1, ...: padding and batching
    docs.append(list(b[i:i + n])); i += n; n = n + 7 if n + 7 <= 64 else 1
with open("v.tok", "wb") as f:
    ifgrec.write_tokens(f, docs, 256)
with open("long.tok", "wb") as f:  # 150 and 200 tokens: windows of 64
    ifgrec.write_tokens(f, [list(b[:150]), list(b[150:350]), list(b[350:351])], 256)
PY
ifg-train -q -o model --layers 2 --heads 2 --embd 32 --ctx 64 -b 8 -n 30 --lr 3e-3 -j 1 \
	--valid v.tok --log log.jsonl train.ifg
vloss=$(sed -n 's/.*"valid_loss":\([0-9.]*\).*/\1/p' log.jsonl | tail -n 1)
ifg-eval perplexity -q --json -m model -b 3 -j 1 v.tok > ppl.json
cat ppl.json >&2
/usr/bin/python3 - "$vloss" <<'PY'
import json, math, sys
vloss = float(sys.argv[1])
r = json.load(open("ppl.json"))
n = sum(1 for _ in open("valid.txt", "rb").read())
assert r["records"] > 10 and r["tokens"] == n - r["records"], r
assert abs(r["nll"] - vloss) < 2e-5, (r["nll"], vloss)
assert abs(r["ppl"] - math.exp(vloss)) < 1e-4 * r["ppl"], (r["ppl"], math.exp(vloss))
assert math.isclose(r["ppl"], math.exp(r["nll"]), rel_tol=1e-8)
assert 0 <= r["last_token_acc"] <= 1
assert r["ppl"] < 200, "the model did not learn"
PY
# the batch size does not change the result beyond rounding
ifg-eval perplexity -q --json -m model -b 1 -j 1 v.tok > ppl1.json
/usr/bin/python3 -c '
import json; a, b = (json.load(open(f)) for f in ("ppl.json", "ppl1.json"))
assert abs(a["nll"] - b["nll"]) < 1e-5 and a["last_token_acc"] == b["last_token_acc"], (a, b)'
# windows: every position but the first of a record is predicted once
ifg-eval perplexity -q --json -m model -j 1 long.tok > long.json
/usr/bin/python3 -c '
import json; r = json.load(open("long.json"))
assert r["records"] == 3 and r["tokens"] == 149 + 199, r
assert 1 < r["ppl"] < 200, r'
# the table
ifg-eval perplexity -m model -j 1 long.tok > table.txt
grep -q '^perplexity  *[0-9.]*$' table.txt
grep -q '^tokens  *348$' table.txt
grep -q '^last-token acc  *[0-9.]* ([0-9]* of 2)$' table.txt
