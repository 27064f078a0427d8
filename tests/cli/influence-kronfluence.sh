# Per-token scores of the default precision and of -p f64 against
# Kronfluence 1.0.1's float64 run (../shared/peers, kf_ifg.py) on a small
# trained model: true labels, damping 1e-8, the gradients in-process.
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
ifg-train -q --layers 2 --heads 2 --embd 16 --ctx 16 --vocab 64 -n 3 -o m train.ifg
/usr/bin/python3 "$peers/kf_ifg.py" --threads 1 run m --train train.json --toxic tox.json \
	--nontoxic safe.json -o kf.json --empirical-fisher --damping 1e-8 --fp64 2>kf.log
ifg-grad -q -m m --sum -o gtox.ifg qtox.ifg
ifg-grad -q -m m --sum -o gsafe.ifg qsafe.ifg
for p in default f64; do
	opt=; [ $p = f64 ] && opt="-p f64"
	ifg-factor fit -q $opt -m m -o f-$p.ifg train.ifg
	ifg-influence --quiet $opt -m m -f f-$p.ifg -q gtox.ifg -n gsafe.ifg -o s-$p.ifg train.ifg
	$st agree kf.json s-$p.ifg > agree-$p.txt
	cat agree-$p.txt
	# max|ifg - kf| / max|kf| within the precision contract
	awk '{ exit !($2 < 1e-5) }' agree-$p.txt
done
