# --precision: the default path (covariance f64, lambda and scores f32)
# gives scores within 1e-5 of the all-f64 path, -p f64 is all double, each
# stream's header states its precision, and sums of two precisions do not
# merge.
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref tokens --seed 1 --hi 24 -o train.ifg
$ref tokens --seed 2 --hi 9 --queries -o qtox.tok
$ref tokens --seed 3 --hi 7 --queries -o qsafe.tok
ifg-train -q --layers 2 --heads 2 --embd 16 --ctx 16 --vocab 50 -n 3 -o model train.ifg
ifg-grad -q -m model -o grads.ifg train.ifg
ifg-grad -q -m model --sum -o qtox.ifg qtox.tok
ifg-grad -q -m model --sum -o qsafe.ifg qsafe.tok
ifg-factor fit -q -o fast.ifg grads.ifg
ifg-factor fit -q -p f64 -o f64.ifg grads.ifg
ifg-influence --quiet -f fast.ifg -q qtox.ifg -n qsafe.ifg -o fast.sc grads.ifg
ifg-influence --quiet -p f64 -f f64.ifg -q qtox.ifg -n qsafe.ifg -o f64.sc grads.ifg
ifg-show fast.ifg | head -n 1 | grep -q '"precision":"f32"'
ifg-show f64.ifg | head -n 1 | grep -q '"precision":"f64"'
ifg-show fast.sc | head -n 1 | grep -q '"precision":"f32"'
ifg-show f64.sc | head -n 1 | grep -q '"precision":"f64"'
# the covariance is f64 by default and its eigen stream says so
ifg-factor covariance -q grads.ifg | ifg-factor eigen -q | ifg-show | head -n 1 |
	grep -q '"precision":"f64"'
/usr/bin/python3 - fast.sc f64.sc <<'PY'
import sys, msgpack
sys.path.insert(0, __import__("os").environ["IFG_TOP"] + "/tests/ref")
import ifgrec
def scores(p):
    with open(p, "rb") as f:
        up = msgpack.Unpacker(f, raw=False)
        next(up)
        return [float(x) for r in up for x in ifgrec.to_numpy(r["scores"])]
a, b = scores(sys.argv[1]), scores(sys.argv[2])
rel = max(abs(x - y) for x, y in zip(a, b)) / max(abs(y) for y in b)
assert len(a) == len(b) and rel < 1e-5, rel
PY
# all f32 is offered, and its sums do not merge with f64 ones
ifg-factor covariance -q -p f32 -o c32.ifg grads.ifg
ifg-factor covariance -q -p f64 -o c64.ifg grads.ifg
ifg-show c32.ifg | head -n 1 | grep -q '"precision":"f32"'
! ifg-factor merge -q c32.ifg c64.ifg 2>err
grep -q "precision 'f32'" err
! ifg-factor covariance -p f16 grads.ifg 2>err
grep -q "precision 'f16' (f32 or f64)" err
