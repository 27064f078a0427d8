# Partial results of another model are refused, with both names.
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref gen --hi 5 -o a.ifg || exit 99
$ref gen --hi 5 --model $(printf '11%.0s' $(seq 32)) -o b.ifg || exit 99
$ref gen --hi 5 --layers h.0.attn.c_attn:4:6,h.0.mlp.c_proj:5:4 -o c.ifg || exit 99
ifg-factor covariance -q -o ca.ifg a.ifg || exit 99
ifg-factor covariance -q -o cb.ifg b.ifg || exit 99
ifg-factor covariance -q -o cc.ifg c.ifg || exit 99
ifg-factor merge -o m.ifg ca.ifg cb.ifg
ifg-factor merge -o m.ifg ca.ifg cc.ifg
ifg-factor covariance -q a.ifg c.ifg > /dev/null
ifg-factor eigen -q -o e.ifg ca.ifg || exit 99
ifg-factor lambda -q -e e.ifg b.ifg > /dev/null
test ! -e m.ifg || exit 98
exit 1
