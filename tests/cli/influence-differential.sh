# Differential scores equal toxic-only minus non-toxic-only scores; the
# per-token scores of a record sum to its document-level influence; the
# per-layer scores sum to the scores.
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref gen --seed 31 --hi 30 -o fit.ifg
$ref gen --seed 32 --hi 12 --labels true -o grads.ifg
$ref gensum --seed 33 --hi 5 -o qtox.ifg
$ref gensum --seed 34 --hi 7 -o qsafe.ifg
ifg-factor fit -q fit.ifg > factors.ifg
for d in 1e-8 heuristic; do
	ifg-influence -d $d -f factors.ifg -q qtox.ifg -n qsafe.ifg grads.ifg > diff.ifg
	ifg-influence -d $d -f factors.ifg -q qtox.ifg grads.ifg > tox.ifg
	ifg-influence -d $d -f factors.ifg -q qsafe.ifg grads.ifg > safe.ifg
	$ref compare --tol 1e-5 diff.ifg tox.ifg --sub safe.ifg
done
ifg-show tox.ifg | head -n 1 | grep -q '"method":"toxic-only"'
ifg-influence -l -f factors.ifg -q qtox.ifg -n qsafe.ifg grads.ifg > tok.ifg
ifg-influence -l -D -f factors.ifg -q qtox.ifg -n qsafe.ifg grads.ifg > doc.ifg
$ref sums tok.ifg doc.ifg
# kfac runs from ekfac factors, identity without any; diagonal cannot use
# the Λ of the ekfac eigenbasis
ifg-influence -s diagonal -f factors.ifg -q qtox.ifg grads.ifg > /dev/null 2>&1 && exit 1
ifg-influence -s kfac -f factors.ifg -q qtox.ifg -n qsafe.ifg grads.ifg > kfac.ifg
ifg-influence -s identity -q qtox.ifg -n qsafe.ifg grads.ifg > identity.ifg
ifg-show identity.ifg | head -n 1 | grep -q '"strategy":"identity","damping":{"rule":"none"'
