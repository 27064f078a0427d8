# Covariance and lambda over a stream cut into 4 shards, computed under GNU
# parallel and merged, equal one pass over the whole stream (1e-10).
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
command -v parallel >/dev/null || { echo "GNU parallel not installed" >&2; exit 77; }
$ref gen --seed 3 --lo 0 --hi 40 -o whole.ifg
i=0
for cut in "0 7" "7 19" "19 20" "20 40"; do
	set -- $cut
	$ref gen --seed 3 --lo $1 --hi $2 -o shard-$i.ifg
	i=$((i + 1))
done
# covariance: shards in parallel, merged, against one pass
parallel --will-cite -j 4 ifg-factor covariance -q -o cov-{}.ifg shard-{}.ifg ::: 0 1 2 3
ifg-factor merge -o cov-merged.ifg cov-0.ifg cov-1.ifg cov-2.ifg cov-3.ifg
ifg-factor covariance -q -o cov-whole.ifg whole.ifg
$ref compare --tol 1e-10 cov-merged.ifg cov-whole.ifg
# lambda: one eigen result, shards in parallel, merged
ifg-factor eigen -q -o eigen.ifg cov-whole.ifg
parallel --will-cite -j 4 ifg-factor lambda -q -e eigen.ifg -o lam-{}.ifg shard-{}.ifg ::: 0 1 2 3
ifg-factor merge -o factors-merged.ifg lam-0.ifg lam-1.ifg lam-2.ifg lam-3.ifg
ifg-factor lambda -q -e eigen.ifg -o factors-whole.ifg whole.ifg
$ref compare --tol 1e-10 factors-merged.ifg factors-whole.ifg
$ref lambda whole.ifg factors-merged.ifg
# the merged stream says how many records it sums
ifg-show -H factors-merged.ifg >/dev/null
ifg-show factors-merged.ifg | head -n 1 | grep -q '"records":40'
