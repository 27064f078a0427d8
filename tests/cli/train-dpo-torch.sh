# ifg-train --dpo's first-step DPO loss, reward margin and accuracy, logits,
# NLL and every gradient against the PyTorch reference (tests/ref/dpo_ref.py,
# float64, the loss written from the paper's formula): the reference model
# being the --init checkpoint (margins 0 at the first step) and another
# checkpoint (margins of both signs), with micro-batches and pairs of
# different lengths.
[ "${IFG_SAN:-0}" = 1 ] && { echo "PyTorch runs in the normal build only" >&2; exit 77; }
/usr/bin/python3 -c 'import torch, msgpack' 2>/dev/null ||
	{ echo "no python3-torch / python3-msgpack" >&2; exit 77; }
set -e
ref=$IFG_TOP/tests/ref
/usr/bin/python3 - <<'PY'
import sys, random, os
sys.path.insert(0, os.environ["IFG_TOP"] + "/tests/ref")
import ifgrec
r = random.Random(11)
seq = lambda a, b: [r.randrange(50) for _ in range(r.randrange(a, b))]
with open("lm.ifg", "wb") as f:
    ifgrec.write_tokens(f, [seq(5, 24) for _ in range(40)], 50)
with open("pairs.ifg", "wb") as f:
    ifgrec.write_pairs(f, [(seq(1, 6), seq(1, 12), seq(1, 12)) for _ in range(30)], 50)
PY
# checkpoints written by ifg-train: the policy, and a reference trained on
ifg-train -q -o ckpt --layers 2 --heads 2 --embd 16 --ctx 32 -b 4 -n 20 --lr 1e-2 -j 1 lm.ifg
ifg-train -q -o other --init ckpt -b 4 -n 10 --lr 1e-2 -s 9 -j 1 lm.ifg
for case in "ckpt 0.1 6 3" "other 0.5 6 2" "other 2 4 4"; do
	set -- $case
	ifg-train --dpo --init ckpt --ref "$1" --beta "$2" -b "$3" -m "$4" -s 3 -j 1 \
		--dump-grads dump.st pairs.ifg
	/usr/bin/python3 "$ref/dpo_ref.py" grads ckpt "$1" pairs.ifg dump.st --beta "$2" \
		--batch "$3" --micro "$4" --seed 3 >&2
done
