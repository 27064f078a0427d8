# ifg-train's logits, loss and every gradient against the PyTorch reference
# (tests/ref/model_ref.py, float64), on a checkpoint ifg-train wrote, with and
# without an IF-Guide mask, with records of different lengths (padding).
[ "${IFG_SAN:-0}" = 1 ] && { echo "PyTorch runs in the normal build only" >&2; exit 77; }
/usr/bin/python3 -c 'import torch, msgpack' 2>/dev/null ||
	{ echo "no python3-torch / python3-msgpack" >&2; exit 77; }
set -e
ref=$IFG_TOP/tests/ref
/usr/bin/python3 - <<'PY'
import sys, random
sys.path.insert(0, __import__("os").environ["IFG_TOP"] + "/tests/ref")
import ifgrec
r = random.Random(7)
docs = [[r.randrange(50) for _ in range(r.randrange(5, 24))] for _ in range(40)]
masks = [[int(r.random() < 0.2) for _ in d] if i % 3 else None for i, d in enumerate(docs)]
with open("plain.ifg", "wb") as f:
    ifgrec.write_tokens(f, docs, 50)
with open("masked.ifg", "wb") as f:
    ifgrec.write_tokens(f, docs, 50, masks=masks)
PY
# a checkpoint written by ifg-train (some steps, so the weights are not the init)
ifg-train -q -o ckpt --layers 2 --heads 2 --embd 16 --ctx 32 -b 4 -n 20 --lr 1e-2 -j 1 plain.ifg
for case in "plain.ifg 1" "masked.ifg 1" "masked.ifg 0.5" "masked.ifg 0"; do
	set -- $case
	ifg-train --init ckpt -b 6 -l "$2" -s 3 -j 1 --dump-grads dump.st "$1"
	/usr/bin/python3 "$ref/model_ref.py" grads ckpt "$1" dump.st --batch 6 --seed 3 --lambda "$2"
done
