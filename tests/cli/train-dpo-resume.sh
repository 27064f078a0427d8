# ifg-train --dpo killed with SIGKILL mid-way and continued with --resume
# ends with weights and train state bit-identical to a run never
# interrupted (the reference log-probabilities are recomputed, the same);
# a resumed run with another beta or reference is refused.
set -e
/usr/bin/python3 -c 'import msgpack' 2>/dev/null || { echo "no python3-msgpack" >&2; exit 77; }
/usr/bin/python3 - <<'PY'
import sys, random, os
sys.path.insert(0, os.environ["IFG_TOP"] + "/tests/ref")
import ifgrec
r = random.Random(5)
seq = lambda a, b: [r.randrange(64) for _ in range(r.randrange(a, b))]
with open("lm.ifg", "wb") as f:
    ifgrec.write_tokens(f, [seq(8, 40) for _ in range(60)], 64)
with open("pairs.ifg", "wb") as f:
    ifgrec.write_pairs(f, [(seq(1, 8), seq(1, 24), seq(1, 24)) for _ in range(50)], 64)
PY
ifg-train -q -o base --layers 2 --heads 2 --embd 32 --ctx 64 -b 4 -n 30 --lr 3e-3 -j 1 lm.ifg
ifg-train -q -o other --init base -b 4 -n 5 --lr 3e-3 -j 1 lm.ifg
args="--dpo --init base -b 6 -m 3 -n 400 --lr 1e-3 --beta 0.2 -j 1 --save-every 7 pairs.ifg"
ifg-train -q -o whole $args
ifg-train -q -o parts --resume $args &
pid=$!
while [ ! -f parts/train-state.safetensors ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
kill -KILL $pid 2>/dev/null && killed=1 || killed=0
wait $pid 2>/dev/null || true
[ "$killed" = 1 ] || { echo "the run finished before it could be killed" >&2; exit 1; }
cmp -s whole/model.safetensors parts/model.safetensors &&
	{ echo "the killed run had already finished" >&2; exit 1; }
ifg-train -q -o parts --resume $args
cmp whole/model.safetensors parts/model.safetensors
cmp whole/train-state.safetensors parts/train-state.safetensors
# other DPO settings are refused
if ifg-train -q -o parts --resume --dpo --init base -b 6 -m 3 -n 400 --lr 1e-3 --beta 0.3 \
	-j 1 pairs.ifg 2>err; then exit 1; fi
grep -q 'beta=' err
if ifg-train -q -o parts --resume $args --ref other 2>err; then exit 1; fi
grep -q 'ref=' err
