# ifg-influence -m takes the queries as tokens and sums their gradients
# itself: the same bytes as from ifg-grad --sum's sums, for every -j, with
# and without factors, either or both sets as tokens; tokens without -m,
# an empty query set and a bad query record are errors with no output left.
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref tokens --seed 1 --hi 20 -o train.ifg
$ref tokens --seed 2 --hi 6 --queries -o qtox.tok
$ref tokens --seed 3 --hi 6 --queries -o qsafe.tok
ifg-train -q --layers 2 --heads 2 --embd 16 --ctx 16 --vocab 50 -n 3 -o model train.ifg
ifg-factor fit -q -m model -L mlp.c_fc -o f.ifg train.ifg
ifg-grad -q -j 1 -m model -L mlp.c_fc --sum -o qtox.ifg qtox.tok
ifg-grad -q -j 1 -m model -L mlp.c_fc --sum -o qsafe.ifg qsafe.tok
ifg-influence --quiet -j 1 -m model -f f.ifg -q qtox.ifg -n qsafe.ifg -o s.ifg train.ifg
for j in 1 2 3 9; do
	ifg-influence --quiet -j $j -m model -f f.ifg -q qtox.tok -n qsafe.tok -o t$j.ifg train.ifg
	cmp s.ifg t$j.ifg
	ifg-influence --quiet -j $j -m model -f f.ifg -q qtox.ifg -n qsafe.tok -o u$j.ifg train.ifg
	cmp s.ifg u$j.ifg
done
# without factors: identity over every layer, as ifg-grad's default
ifg-grad -q -j 1 -m model --sum -o qall.ifg qtox.tok
ifg-influence --quiet -j 1 -m model -q qall.ifg -o i.ifg train.ifg
ifg-influence --quiet -j 2 -m model -q qtox.tok -o i2.ifg train.ifg
cmp i.ifg i2.ifg
# a tokens stream needs the model
if ifg-influence --quiet -f f.ifg -q qtox.tok -o x.ifg train.ifg 2>err; then exit 1; fi
[ ! -e x.ifg ]
grep -q "'qtox.tok'.*a tokens stream: give -m CKPT" err
# no query records
/usr/bin/python3 - <<'P'
import msgpack
recs = list(msgpack.Unpacker(open("qtox.tok", "rb"), raw=False))
with open("none.tok", "wb") as f:
    f.write(msgpack.packb(recs[0], use_bin_type=True))
bad = dict(recs[2])
bad["tokens"] = {"dtype": "u16", "shape": [2], "data": bytes([7, 0, 60, 0])}
with open("bad.tok", "wb") as f:
    for r in recs[:2] + [bad] + recs[2:]:
        f.write(msgpack.packb(r, use_bin_type=True))
P
for j in 1 2; do
	if ifg-influence --quiet -j $j -m model -f f.ifg -q none.tok -o x.ifg train.ifg 2>err; then
		exit 1
	fi
	[ ! -e x.ifg ]
	grep -q "'none.tok'.*no records" err
	if ifg-influence --quiet -j $j -m model -f f.ifg -q qtox.tok -n bad.tok -o x.ifg train.ifg \
		2>err; then
		exit 1
	fi
	[ ! -e x.ifg ]
	grep -q "'bad.tok': record 2 at byte [0-9]*: token 60 at position 1 is outside" err
done
# query sums, factors or records of another model are refused, nothing written
ifg-train -q --layers 2 --heads 2 --embd 16 --ctx 16 --vocab 50 -n 2 -s 9 -o model2 train.ifg
for args in "-q qtox.ifg -n qsafe.tok" "-q qall.ifg" "-f f.ifg -q qtox.tok"; do
	if ifg-influence --quiet -m model2 $args -o x.ifg train.ifg 2>err; then exit 1; fi
	[ ! -e x.ifg ]
	grep -q "refusing to mix models: .* come from different models" err
done
