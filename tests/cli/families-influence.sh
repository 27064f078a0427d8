# EK-FAC factors and per-token differential scores of a GPT-NeoX and a
# Llama (with grouped-query attention) equal a brute-force computation
# (tests/ref/ekfac_ref.py: dense EK-FAC from numpy's own eigenvectors, the
# full per-record gradients) to 1e-4 relative, on gradients ifg-grad takes
# from each model; the layers are each family's tracked linears.
/usr/bin/python3 -c 'import numpy, msgpack' 2>/dev/null ||
	{ echo "needs numpy and msgpack for /usr/bin/python3" >&2; exit 77; }
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref tokens --seed 4 --hi 6 -o train.ifg
$ref tokens --seed 5 --hi 3 -o tox.ifg
$ref tokens --seed 6 --hi 4 -o safe.ifg
for fam in "gpt_neox" "llama --kv-heads 1"; do
	set -- $fam
	ifg-train -q --arch $fam --layers 2 --heads 2 --embd 16 --ctx 16 --vocab 50 -n 3 --lr 1e-2 \
		-o m train.ifg
	ifg-grad -q -m m -o fit.ifg train.ifg
	ifg-grad -q -m m -o grads.ifg train.ifg
	ifg-grad -q -m m --sum -o qtox.ifg tox.ifg
	ifg-grad -q -m m --sum -o qsafe.ifg safe.ifg
	ifg-show fit.ifg | head -n 1 > hdr
	case $1 in
	gpt_neox) grep -q '"name":"gpt_neox.layers.1.mlp.dense_4h_to_h"' hdr ;;
	llama) grep -q '"name":"model.layers.1.self_attn.k_proj","d_in":16,"d_out":8' hdr ;;
	esac
	ifg-factor fit -q -o factors.ifg fit.ifg
	ifg-influence -f factors.ifg -q qtox.ifg -n qsafe.ifg -o s.ifg grads.ifg
	$ref scores --fit fit.ifg --qsafe qsafe.ifg grads.ifg qtox.ifg s.ifg
	ifg-influence -D -f factors.ifg -q qtox.ifg -n qsafe.ifg -d heuristic grads.ifg > sd.ifg
	$ref scores --damping -1 --fit fit.ifg --qsafe qsafe.ifg grads.ifg qtox.ifg sd.ifg
	rm -r m
done
