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
test "$(wc -l < examples.sh)" -eq 5
sh -e examples.sh 2>/dev/null
# the staged result (eigen of the merged covariance) matches the one-file fit
mv factors.ifg staged.ifg
ifg-factor fit -q -o factors.ifg grads.ifg
$ref compare --tol 1e-8 staged.ifg factors.ifg
