# ifg-factor fit -m keeps the covariance pass's per-token gradients for the
# lambda pass (--keep): the same bytes as computing them again, for every
# -P, precision and labels; past the budget it computes them again (and
# says so with -v); the memory line counts what it kept; --keep goes with
# fit -m.
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref tokens --seed 1 --hi 20 -o train.ifg
ifg-train -q --layers 2 --heads 2 --embd 16 --ctx 16 --vocab 50 -n 3 -o model train.ifg
for P in 1 2 3; do
	for p in f32 f64; do
		for labels in "" "--sample --seed 3"; do
			ifg-factor fit -q -m model -P $P -p $p $labels --keep 0 -o again.ifg train.ifg
			ifg-factor fit -v -m model -P $P -p $p $labels -o kept.ifg train.ifg 2>err
			cmp again.ifg kept.ifg
			grep -q "lambda: 20 records, [0-9]* tokens in .*the covariance pass's gradients" err
		done
	done
done
# the stages give the same factors (the eigen stage reads what fit keeps in
# memory)
ifg-factor covariance -q -m model -o cov.ifg train.ifg
ifg-factor eigen -q -o eigen.ifg cov.ifg
ifg-factor lambda -q -m model -e eigen.ifg -o staged.ifg train.ifg
ifg-factor fit -q -m model -o kept.ifg train.ifg
$ref compare --tol 1e-12 staged.ifg kept.ifg
# a budget smaller than the records: computed again, the same bytes
ifg-factor fit -q -m model -P 2 --keep 0 -o again.ifg train.ifg
ifg-factor fit -v -m model -P 2 --keep 0.01 -o small.ifg train.ifg 2>err
cmp again.ifg small.ifg
grep -q "the gradients pass --keep 0.01 MiB: the lambda pass computes them again" err
grep -q "lambda: .*gradients in-process" err
# the memory line counts what was kept: 4 bytes x 218 tokens x 520 (the
# sum of na + o over the 8 layers) = 0.43 MiB more than without
ifg-factor fit -v -m model --keep 0 -o /dev/null train.ifg 2>e0
ifg-factor fit -v -m model -o /dev/null train.ifg 2>e1
m0=$(sed -n 's/.*lambda: memory \([0-9.]*\) MiB.*/\1/p' e0)
m1=$(sed -n 's/.*lambda: memory \([0-9.]*\) MiB.*/\1/p' e1)
echo "$m0 $m1" | awk '{d = $2 - $1; exit !(d > 0.3 && d < 0.6)}'
# --keep goes with fit -m
! ifg-factor covariance -q --keep 10 -m model -o x.ifg train.ifg 2>err
grep -q -- '--keep goes with fit -m' err
! ifg-factor fit -q --keep 10 -o x.ifg train.ifg 2>err
grep -q -- '--keep goes with fit -m' err
! ifg-factor fit -q -m model --keep -1 -o x.ifg train.ifg 2>err
[ ! -e x.ifg ]
