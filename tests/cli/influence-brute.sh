# Scores equal a brute-force computation (full per-record gradients, dense
# EK-FAC inverse from numpy's own factors) to 1e-4 relative: token and
# document level, fixed and heuristic damping, f32 and bf16 gradients.
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref gen --seed 21 --hi 40 -o fitgrads.ifg
$ref gen --seed 22 --hi 15 --labels true -o grads.ifg
$ref gen --seed 22 --hi 15 --labels true --dtype bf16 -o grads16.ifg
$ref gensum --seed 23 --hi 6 -o qtox.ifg
$ref gensum --seed 24 --hi 9 -o qsafe.ifg
ifg-factor fit -q -o factors.ifg fitgrads.ifg
ifg-influence -f factors.ifg -q qtox.ifg -n qsafe.ifg -o s.ifg grads.ifg
$ref scores --fit fitgrads.ifg --qsafe qsafe.ifg grads.ifg qtox.ifg s.ifg
ifg-influence -f factors.ifg -q qtox.ifg -n qsafe.ifg -d heuristic grads.ifg > sh.ifg
$ref scores --damping -1 --fit fitgrads.ifg --qsafe qsafe.ifg grads.ifg qtox.ifg sh.ifg
ifg-influence -D -f factors.ifg -q qtox.ifg -n qsafe.ifg -d 0.01 grads.ifg > sd.ifg
$ref scores --damping 0.01 --fit fitgrads.ifg --qsafe qsafe.ifg grads.ifg qtox.ifg sd.ifg
ifg-influence -f factors.ifg -q qtox.ifg -n qsafe.ifg grads16.ifg > s16.ifg
$ref scores --fit fitgrads.ifg --qsafe qsafe.ifg grads16.ifg qtox.ifg s16.ifg
# the header states what produced the scores
ifg-show s.ifg | head -n 1 | grep -q '"method":"differential","level":"token","strategy":"ekfac","damping":{"rule":"fixed","value":1e-08'
ifg-show sh.ifg | head -n 1 | grep -q '"rule":"heuristic","value":0.1'
