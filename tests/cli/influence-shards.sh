# The chain ifg-grad | ifg-factor, then ifg-grad | ifg-influence | ifg-select,
# run as one pipeline and as 4 shards (ifg-cat -s) under GNU parallel with
# partial factors merged, gives the same mask.  Sampled labels are keyed by
# record id, so shards draw what the whole stream draws.
command -v parallel >/dev/null || { echo "GNU parallel not installed" >&2; exit 77; }
/usr/bin/python3 -c 'import numpy, msgpack' 2>/dev/null || { echo "needs numpy and msgpack" >&2; exit 77; }
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref tokens --seed 1 --hi 30 -o train.ifg
$ref tokens --seed 2 --hi 9 --queries -o qtox.tok
$ref tokens --seed 3 --hi 7 --queries -o qsafe.tok
ifg-train -q --layers 2 --heads 2 --embd 16 --ctx 16 --vocab 50 -n 3 -o model train.ifg
ifg-grad -q -m model --sum -o qtox.ifg qtox.tok
ifg-grad -q -m model --sum -o qsafe.ifg qsafe.tok
q="-f factors.ifg -q qtox.ifg -n qsafe.ifg"

# one pipeline
mkdir one && cd one
ifg-grad -q -m ../model --sample -s 1 ../train.ifg | ifg-factor covariance -q -o cov.ifg
ifg-factor eigen -q -o eigen.ifg cov.ifg
ifg-grad -q -m ../model --sample -s 2 ../train.ifg | ifg-factor lambda -q -e eigen.ifg -o factors.ifg
ifg-grad -q -m ../model ../train.ifg |
	ifg-influence --quiet -f factors.ifg -q ../qtox.ifg -n ../qsafe.ifg -o scores.ifg
ifg-select -q -p 0.9 -o ../mask-one.ifg scores.ifg
cd ..

# four shards
mkdir four && cd four
export IFG_TRAIN=$PWD/../train.ifg IFG_MODEL=$PWD/../model
parallel --will-cite -j 4 'ifg-cat -q -s {}/4 $IFG_TRAIN | ifg-grad -q -m $IFG_MODEL --sample -s 1 |
	ifg-factor covariance -q -o cov-{}.ifg' ::: 0 1 2 3
ifg-factor merge -q -o cov.ifg cov-0.ifg cov-1.ifg cov-2.ifg cov-3.ifg
ifg-factor eigen -q -o eigen.ifg cov.ifg
parallel --will-cite -j 4 'ifg-cat -q -s {}/4 $IFG_TRAIN | ifg-grad -q -m $IFG_MODEL --sample -s 2 |
	ifg-factor lambda -q -e eigen.ifg -o lam-{}.ifg' ::: 0 1 2 3
ifg-factor merge -q -o factors.ifg lam-0.ifg lam-1.ifg lam-2.ifg lam-3.ifg
parallel --will-cite -j 4 'ifg-cat -q -s {}/4 $IFG_TRAIN | ifg-grad -q -m $IFG_MODEL |
	ifg-influence --quiet -f factors.ifg -q ../qtox.ifg -n ../qsafe.ifg -o scores-{}.ifg.zst' ::: 0 1 2 3
ifg-cat -q scores-0.ifg.zst scores-1.ifg.zst scores-2.ifg.zst scores-3.ifg.zst -o scores.ifg
ifg-select -q -p 0.9 -o ../mask-four.ifg scores.ifg
cd ..

# the same scores to rounding (the lambda pass's products are float32, within
# 1e-5 of the float64 path: the merged shards' eigenbases differ from the
# whole's in the last double bits, which moves the f32 copies by an ulp), and
# the same records, ids and masks
$ref compare --tol 1e-5 one/scores.ifg four/scores.ifg
masks() { ifg-show -a -H "$1" | sed 's/.*"id":\("[^"]*"\).*"mask":\({[^}]*}\).*/\1 \2/'; }
masks mask-one.ifg > one.txt
masks mask-four.ifg > four.txt
[ "$(wc -l < one.txt)" -eq 30 ]
grep -q '"data":\[[0-9,]*1' one.txt
cmp one.txt four.txt
