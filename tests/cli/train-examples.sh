# The EXAMPLES of ifg-train(1), on byte-level tokens of real text (the
# Davidson tweets) standing in for ifg-tokenize's output, and a mask made
# here standing in for ifg-select's.
/usr/bin/python3 -c 'import msgpack' 2>/dev/null || { echo "no python3-msgpack" >&2; exit 77; }
[ -f "$IFG_SHARED/data/davidson/labeled_data.csv" ] ||
	{ echo "no $IFG_SHARED/data/davidson/labeled_data.csv" >&2; exit 77; }
set -e
csv=$IFG_SHARED/data/davidson/labeled_data.csv
mk="/usr/bin/python3 $IFG_TOP/tests/ref/ifgrec.py 64"
head -c 40000 "$csv" | $mk > train.ifg
tail -c 8000 "$csv" | $mk > valid.ifg
ifg-train -o proxy --layers 2 --heads 2 --embd 32 -b 8 -e 2 \
	--valid valid.ifg --eval-every 50 --save-every 50 --log log.jsonl train.ifg 2>err
test -s proxy/model.safetensors && test -s proxy/config.json
grep -q '"valid_loss"' log.jsonl
grep -q '^ifg-train: 157 steps, ' err
/usr/bin/python3 - <<'PY'
import sys, os
sys.path.insert(0, os.environ["IFG_TOP"] + "/tests/ref")
import ifgrec
hdr, recs = ifgrec.read_tokens("train.ifg")
with open("masked.ifg", "wb") as f:   # mask the bytes of "bitch" wherever they occur
    docs, masks = [], []
    for t, _ in recs:
        s = bytes(t.tolist()); m = [0] * len(s); i = s.find(b"bitch")
        while i >= 0:
            m[i:i + 5] = [1] * 5; i = s.find(b"bitch", i + 1)
        docs.append(list(s)); masks.append(m)
    ifgrec.write_tokens(f, docs, 256, masks=masks)
PY
ifg-train -q -o detox --init proxy --lambda 1 --lr 6e-5 -n 20 \
	--save-every 5 --resume masked.ifg
test -s detox/train-state.safetensors
# a second --resume of a finished run does nothing and keeps the result
cp detox/model.safetensors before
ifg-train -q -o detox --init proxy --lambda 1 --lr 6e-5 -n 20 --save-every 5 --resume masked.ifg
cmp before detox/model.safetensors
