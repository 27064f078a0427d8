# Factors, query sums and grads of different models are refused, naming both.
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
other=$(printf '22%.0s' $(seq 32))
$ref gen --hi 6 -o g.ifg || exit 99
$ref gen --hi 6 --model $other -o g2.ifg || exit 99
$ref gensum --hi 3 -o q.ifg || exit 99
$ref gensum --hi 3 --model $other -o q2.ifg || exit 99
$ref gensum --hi 3 --layers h.0.attn.c_attn:4:6 -o q3.ifg || exit 99
ifg-factor fit -q -o f.ifg g.ifg || exit 99
ifg-influence -f f.ifg -q q.ifg -n q2.ifg g.ifg > /dev/null
ifg-influence -f f.ifg -q q3.ifg g.ifg > /dev/null
ifg-influence --quiet -f f.ifg -q q.ifg g2.ifg > /dev/null
ifg-influence -f g.ifg -q q.ifg g.ifg > /dev/null
ifg-influence -f f.ifg -q g.ifg g.ifg > /dev/null
exit 1
