# Each model family against its PyTorch reference (tests/ref/model_ref.py,
# written from Hugging Face's definitions, float64), on checkpoints laid out
# as Hugging Face publishes them: Pythia-14M's config.json as released (its
# sizes, float16 weights and the attention and rotary buffers of a saved
# GPTNeoXForCausalLM) and a Llama with Llama-3.2-1B's config fields at a small
# size (grouped-query attention, head_dim, Llama 3's rope_scaling, tied,
# bfloat16), plus a sequential
# tied GPT-NeoX and an untied Llama without grouped-query attention.  For each:
# the logits to 1e-5 and every gradient to 1e-4 (ifg-train --dump-grads,
# with and without an IF-Guide mask), the per-token inputs and output
# gradients of the tracked layers (ifg-grad), and a checkpoint ifg-train
# writes again loads in the reference with the same layout.
[ "${IFG_SAN:-0}" = 1 ] && { echo "PyTorch runs in the normal build only" >&2; exit 77; }
/usr/bin/python3 -c 'import torch, msgpack' 2>/dev/null ||
	{ echo "no python3-torch / python3-msgpack" >&2; exit 77; }
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/model_ref.py"
cfgs=$IFG_TOP/tests/ref/configs
/usr/bin/python3 - <<'PY'
import sys, random, json
sys.path.insert(0, __import__("os").environ["IFG_TOP"] + "/tests/ref")
import ifgrec
r = random.Random(5)
docs = [[r.randrange(50304) for _ in range(r.randrange(5, 30))] for _ in range(10)]
masks = [[int(r.random() < 0.2) for _ in d] if i % 3 else None for i, d in enumerate(docs)]
with open("plain.ifg", "wb") as f:
    ifgrec.write_tokens(f, docs, 50304)
with open("masked.ifg", "wb") as f:
    ifgrec.write_tokens(f, docs, 50304, masks=masks)
# the variants: edits of the published configs
base = __import__("os").environ["IFG_TOP"] + "/tests/ref/configs/"
n = json.load(open(base + "pythia-14m.json"))
n.update(use_parallel_residual=False, tie_word_embeddings=True, rotary_pct=1.0,
         hidden_size=64, num_hidden_layers=2, max_position_embeddings=64)
json.dump(n, open("neox-seq.json", "w"), indent=2)
l = json.load(open(base + "llama-3.2-shaped.json"))
l.update(num_key_value_heads=4, tie_word_embeddings=False, head_dim=None, rope_theta=10000.0,
         rope_scaling=None)
del l["head_dim"]
json.dump(l, open("llama-mha.json", "w"), indent=2)
PY
check() {	# check NAME CONFIG DTYPE
	$ref make "$2" "$1" --dtype "$3" --seed 7
	ifg-grad -q -m "$1" -o g.ifg plain.ifg
	$ref linear "$1" plain.ifg g.ifg
	for lam in 1 0.5; do
		ifg-train --init "$1" -b 5 -l $lam -s 3 -j 1 --dump-grads dump.st masked.ifg
		$ref grads "$1" masked.ifg dump.st --batch 5 --seed 3 --lambda $lam
	done
	# a few steps; ifg's own checkpoint is the family's layout again
	ifg-train -q --init "$1" -b 5 -n 2 --lr 1e-3 -j 1 -o "$1.2" plain.ifg
	ifg-train --init "$1.2" -b 5 -s 4 -j 1 --dump-grads dump.st plain.ifg
	$ref grads "$1.2" plain.ifg dump.st --batch 5 --seed 4
}
check pythia "$cfgs/pythia-14m.json" F16
check llama "$cfgs/llama-3.2-shaped.json" BF16
check neox-seq neox-seq.json F32
check llama-mha llama-mha.json F32
