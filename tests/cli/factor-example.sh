# The EXAMPLES of ifg-factor(1) run as written, and agree with each other.
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
command -v parallel >/dev/null || { echo "GNU parallel not installed" >&2; exit 77; }
$ref gen --seed 41 --hi 24 -o grads.ifg
i=0
for cut in "0 5" "5 11" "11 12" "12 24"; do
	set -- $cut
	$ref gen --seed 41 --lo $1 --hi $2 -o shard-$i.ifg
	i=$((i + 1))
done
awk '/^\.Sh EXAMPLES/{x=1} /^\.Sh SEE/{x=0} x&&/^\.Ed/{b=0} x&&b{print} x&&/^\.Bd -literal/{b=1}' \
	"$IFG_TOP/man/ifg-factor.1" | sed 's/\\e/\\/g; s/^parallel /parallel --will-cite /' > examples.sh
test "$(wc -l < examples.sh)" -eq 8
head -n 5 examples.sh | sh -e 2>/dev/null
# the staged result (eigen of the merged covariance) matches the one-file fit
mv factors.ifg staged.ifg
ifg-factor fit -q -o factors.ifg grads.ifg
$ref compare --tol 1e-8 staged.ifg factors.ifg
# the next two: gradients in-process from a model and its tokens, at the
# default precision and at f64, equal to the ifg-grad pipeline's
$ref tokens --seed 4 --hi 6 -o train.ifg
ifg-train -q --layers 1 --heads 2 --embd 8 --ctx 16 --vocab 50 -n 2 -o model train.ifg
sed -n 6,7p examples.sh | sh -e 2>/dev/null
ifg-grad -q -m model --sample --seed 1 -o g.ifg train.ifg
ifg-factor fit -q -o piped.ifg g.ifg
cmp piped.ifg factors.ifg
ifg-show factors64.ifg | head -n 1 | grep -q '"precision":"f64"'
# the last: two records side by side, the lambda pass computing its
# gradients again: the bytes of the kept-gradient fit, and within rounding of
# one record at a time (the eigenvectors move most)
mv factors.ifg one.ifg
tail -n 1 examples.sh | sh -e 2>/dev/null
ifg-factor fit -q -m model -P 2 --sample --seed 1 -o kept.ifg train.ifg
cmp kept.ifg factors.ifg
$ref compare --tol 1e-8 one.ifg factors.ifg
