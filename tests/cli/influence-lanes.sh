# ifg-influence -m -j N scores N records side by side, one thread each: the
# same bytes for every N (per-token, per-layer and document scores), the
# same as from the ifg-grad stream; a bad record met by any lane stops it
# with the record named and no output left.
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref tokens --seed 1 --hi 20 -o train.ifg
$ref tokens --seed 2 --hi 6 --queries -o qtox.tok
$ref tokens --seed 3 --hi 6 --queries -o qsafe.tok
ifg-train -q --layers 2 --heads 2 --embd 16 --ctx 16 --vocab 50 -n 3 -o model train.ifg
ifg-grad -q -m model --sum -o qtox.ifg qtox.tok
ifg-grad -q -m model --sum -o qsafe.ifg qsafe.tok
ifg-factor fit -q -m model -o f.ifg train.ifg
n=$(ifg-show train.ifg | grep -c '"tokens"')
[ "$n" -ge 7 ]
ifg-grad -q -m model train.ifg | ifg-influence --quiet -j 1 -f f.ifg -q qtox.ifg -n qsafe.ifg -o s.ifg
for j in 1 2 3 $n $((n + 3)); do
	ifg-influence --quiet -j $j -m model -f f.ifg -q qtox.ifg -n qsafe.ifg -o s$j.ifg train.ifg
	cmp s.ifg s$j.ifg
	ifg-influence --quiet -j $j -l -m model -f f.ifg -q qtox.ifg -n qsafe.ifg -o l$j.ifg train.ifg
	cmp l1.ifg l$j.ifg
	ifg-influence --quiet -j $j -D -m model -f f.ifg -q qtox.ifg -o d$j.ifg < train.ifg
	cmp d1.ifg d$j.ifg
done
# two inputs: the records of both, in order, whatever the lanes
ifg-influence --quiet -j 3 -m model -f f.ifg -q qtox.ifg -o two3.ifg train.ifg train.ifg
ifg-influence --quiet -j 1 -m model -f f.ifg -q qtox.ifg -o two1.ifg train.ifg train.ifg
cmp two1.ifg two3.ifg
# a token outside the vocabulary in the fifth record (the header is record 0)
/usr/bin/python3 - <<'P'
import msgpack
recs = list(msgpack.Unpacker(open("train.ifg", "rb"), raw=False))
bad = dict(recs[5])
bad["tokens"] = {"dtype": "u16", "shape": [3], "data": bytes([7, 0, 50, 0, 3, 0])}
with open("mixed.ifg", "wb") as f:
    for r in recs[:5] + [bad] + recs[5:]:
        f.write(msgpack.packb(r, use_bin_type=True))
P
for j in 1 3; do
	if ifg-influence --quiet -j $j -m model -f f.ifg -q qtox.ifg -o out$j.ifg mixed.ifg 2>err$j; then
		exit 1
	fi
	[ ! -e out$j.ifg ]
	grep -q "'mixed.ifg': record 5 at byte [0-9]*: token 50 at position 1 is outside the vocabulary (50)" err$j
done
cmp err1 err3
