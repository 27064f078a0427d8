# Trained on real text, ifg-train reaches the validation loss that the
# PyTorch reference reaches with the same settings, initial weights, record
# order and data.  The text is the Davidson tweets CSV, tokenised as bytes
# (vocabulary 256) in blocks of 128.
[ "${IFG_SAN:-0}" = 1 ] && { echo "PyTorch runs in the normal build only" >&2; exit 77; }
/usr/bin/python3 -c 'import torch, msgpack' 2>/dev/null ||
	{ echo "no python3-torch / python3-msgpack" >&2; exit 77; }
set -e
csv=$IFG_SHARED/data/davidson/labeled_data.csv
[ -f "$csv" ] || { echo "no $csv" >&2; exit 77; }
mk="/usr/bin/python3 $IFG_TOP/tests/ref/ifgrec.py 128"
head -c 300000 "$csv" | $mk > train.ifg
tail -c 40000 "$csv" | $mk > valid.ifg
set -- -b 8 -n 150 --lr 3e-3 --warmup 10 -s 5
ifg-train -q -o init --layers 2 --heads 4 --embd 64 --ctx 128 -n 0 train.ifg
ifg-train -q -o model --init init -j 2 --valid valid.ifg --log log.jsonl "$@" train.ifg
ifg=$(sed -n 's/.*"valid_loss":\([0-9.]*\).*/\1/p' log.jsonl | tail -n 1)
ref=$(/usr/bin/python3 "$IFG_TOP/tests/ref/model_ref.py" train init train.ifg valid.ifg \
	--batch 8 --steps 150 --lr 3e-3 --warmup 10 --seed 5 | sed -n 's/valid_loss //p')
echo "valid loss: ifg $ifg, pytorch $ref" >&2
awk -v a="$ifg" -v b="$ref" 'BEGIN {
	d = a - b; if (d < 0) d = -d
	if (!(a < 3.0) || d > 0.01 * b) { print "validation losses differ" > "/dev/stderr"; exit 1 }
}'
