# ifg-factor -m -P N sums N records side by side, one thread each, and adds
# the threads' sums in order: the same bytes for the same N, within rounding
# (1e-12 relative) of one thread's, as shards are; a bad record met by any
# thread stops the pass with the record named and no output left.
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref tokens --seed 1 --hi 20 -o train.ifg
ifg-train -q --layers 2 --heads 2 --embd 16 --ctx 16 --vocab 50 -n 3 -o model train.ifg
for j in 1 3; do
	ifg-factor covariance -q -P $j -m model -o c$j.ifg train.ifg
	ifg-factor eigen -q -o e$j.ifg c1.ifg
	ifg-factor lambda -q -P $j -m model -e e1.ifg -o l$j.ifg train.ifg
	ifg-factor fit -q -P $j -m model --sample --seed 2 -p f64 -o f$j.ifg train.ifg
done
ifg-factor covariance -q -P 3 -m model -o c3b.ifg train.ifg
cmp c3.ifg c3b.ifg
ifg-factor lambda -q -P 3 -m model -e e1.ifg -o l3b.ifg train.ifg
cmp l3.ifg l3b.ifg
/usr/bin/python3 - <<'P'
import msgpack, numpy as np
def load(p):
    out = {}
    for r in msgpack.Unpacker(open(p, "rb"), raw=False):
        if "kind" in r:
            continue
        for k, v in r.items():
            if isinstance(v, dict) and "dtype" in v:
                out[(r["name"], k)] = np.frombuffer(v["data"], {"f64": "<f8", "f32": "<f4"}[v["dtype"]])
            elif isinstance(v, int):
                out[(r["name"], k)] = v
    return out
for a, b, tol in (("c1", "c3", 1e-12), ("l1", "l3", 1e-12), ("f1", "f3", 1e-6)):
    x, y = load(a + ".ifg"), load(b + ".ifg")
    assert x.keys() == y.keys() and len(x) > 8, (a, b)
    for k in x:
        if isinstance(x[k], int):
            assert x[k] == y[k], (a, k)
        else:
            d = np.abs(x[k] - y[k]).max() / max(np.abs(x[k]).max(), 1e-300)
            assert d <= tol, (a, b, k, d)
P
# a token outside the vocabulary in the fifth record (the header is record 0)
/usr/bin/python3 - <<'P'
import msgpack
recs = list(msgpack.Unpacker(open("train.ifg", "rb"), raw=False))
bad = dict(recs[5], tokens={"dtype": "u16", "shape": [3], "data": bytes([7, 0, 50, 0, 3, 0])})
with open("mixed.ifg", "wb") as f:
    for r in recs[:5] + [bad] + recs[5:]:
        f.write(msgpack.packb(r, use_bin_type=True))
P
for j in 1 3; do
	if ifg-factor covariance -q -P $j -m model -o out$j.ifg mixed.ifg 2>err$j; then
		exit 1
	fi
	[ ! -e out$j.ifg ]
	grep -q "'mixed.ifg': record 5 at byte [0-9]*: token 50 at position 1 is outside the vocabulary (50)" err$j
done
cmp err1 err3
# -P computes gradients: it goes with -m
ifg-grad -q -m model -o grads.ifg train.ifg
if ifg-factor covariance -q -P 2 -o out.ifg grads.ifg 2>err; then
	exit 1
fi
grep -q 'go with -m' err
