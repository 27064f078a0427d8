# Per-token differential scores of a GPT-NeoX and a Llama (grouped-query
# attention, no biases) against Kronfluence 1.0.1's float64 run on the same
# checkpoint (../shared/peers through tests/ref/kf_families.py, which gives
# Kronfluence each tracked layer as an nn.Linear under its Hugging Face
# name): true labels, damping 1e-8, max|ifg - kf| / max|kf| below 1e-5.
# Skips when the peer or Debian's torch is absent.
peers=$IFG_SHARED/peers
[ -f "$peers/kf_ifg.py" ] || { echo "no Kronfluence peer at $peers" >&2; exit 77; }
/usr/bin/python3 -c 'import torch, numpy, msgpack, tqdm' 2>/dev/null ||
	{ echo "/usr/bin/python3 lacks torch, numpy, msgpack or tqdm" >&2; exit 77; }
[ "${IFG_SAN:-}" = 1 ] && { echo "not in the sanitizer build (slow)" >&2; exit 77; }
set -e
export IFG_PEERS="$peers" IFG_REF="$IFG_TOP/tests/ref"
st="/usr/bin/python3 $IFG_TOP/tests/bench/kf_stages.py"
$st data . 16 24 64 2
for fam in "gpt_neox" "llama --kv-heads 1"; do
	set -- $fam
	ifg-train -q --arch $fam --layers 2 --heads 2 --embd 16 --ctx 16 --vocab 64 -n 3 -o m train.ifg
	/usr/bin/python3 "$IFG_TOP/tests/ref/kf_families.py" --threads 1 run m --train train.json \
		--toxic tox.json --nontoxic safe.json -o kf.json --empirical-fisher --damping 1e-8 \
		--fp64 2>kf.log || { cat kf.log >&2; exit 1; }
	ifg-grad -q -m m --sum -o gtox.ifg qtox.ifg
	ifg-grad -q -m m --sum -o gsafe.ifg qsafe.ifg
	ifg-grad -q -m m -o g.ifg train.ifg
	ifg-factor fit -q -o f.ifg g.ifg
	ifg-influence -f f.ifg -q gtox.ifg -n gsafe.ifg -o s.ifg g.ifg 2>/dev/null
	$st agree kf.json s.ifg > agree.txt
	echo "$1: $(cat agree.txt)"
	awk '{ exit !($2 < 1e-5) }' agree.txt
	rm -r m
done
