# Empty things get a defined result or a message, and no undefined
# behaviour (run under the sanitizers as IFG_SAN=1): an empty JSONL or
# header-only CSV with --block gives a header-only stream; a grads record of
# no tokens gets an empty score array (a score of 0 with -D); an empty
# tokenizer.json, vocab.json or merges.txt is refused.
[ -f "$IFG_DATA/gpt2/encoder.json" ] || { echo "no $IFG_DATA/gpt2 (run pipelines/fetch-data.sh)" >&2; exit 77; }
/usr/bin/python3 -c 'import msgpack' 2>/dev/null || { echo "no python3-msgpack" >&2; exit 77; }
: > empty.jsonl
printf 'text\n' > header.csv
ifg-tokenize -q -t "$IFG_DATA/gpt2" -f jsonl -b 16 empty.jsonl | ifg-show -q; echo "empty jsonl: $?"
ifg-tokenize -q -t "$IFG_DATA/gpt2" -f csv -b 16 header.csv | ifg-show -H | wc -l
# a grads record of no tokens
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref gen --seed 21 --hi 20 -o fit.ifg
$ref gen --seed 22 --hi 2 --labels true -o g.ifg
$ref gensum --seed 23 --hi 4 -o qtox.ifg
$ref gensum --seed 24 --hi 4 -o qsafe.ifg
/usr/bin/python3 - <<'PY'
import msgpack
recs = list(msgpack.Unpacker(open('g.ifg', 'rb'), raw=False))
r = recs[1]
for a in [r['tokens']] + [x for L in r['grads'] for x in (L['a'], L['s'])]:
    a['shape'][0] = 0
    a['data'] = b''
with open('g0.ifg', 'wb') as f:
    for x in recs:
        f.write(msgpack.packb(x, use_bin_type=True))
PY
ifg-factor fit -q -o factors.ifg fit.ifg
ifg-influence -f factors.ifg -q qtox.ifg -n qsafe.ifg -o s.ifg g0.ifg 2>/dev/null; echo "no tokens: $?"
ifg-show -H -n 1 s.ifg | grep -o '"scores":{[^}]*}'
ifg-influence -D -f factors.ifg -q qtox.ifg -n qsafe.ifg g0.ifg 2>/dev/null | ifg-show -H -n 1 | grep -o '"score":[^,}]*'
# empty tokenizer files
mkdir hf gpt2
: > hf/tokenizer.json
cp "$IFG_DATA/gpt2/encoder.json" gpt2/vocab.json
: > gpt2/merges.txt
echo hello | ifg-tokenize -q -t hf -f lines > /dev/null
echo hello | ifg-tokenize -q -t gpt2 -f lines > /dev/null
: > gpt2/vocab.json
cp "$IFG_DATA/gpt2/vocab.bpe" gpt2/merges.txt
echo hello | ifg-tokenize -q -t gpt2 -f lines > /dev/null
exit 0
