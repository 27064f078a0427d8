# The EXAMPLES of ifg-influence(1) run as written.
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref gen --seed 51 --hi 30 -o fit.ifg
$ref gen --seed 52 --hi 8 --labels true -o grads.ifg
$ref gensum --seed 53 --hi 4 -o qtox.ifg
$ref gensum --seed 54 --hi 5 -o qsafe.ifg
ifg-factor fit -q -o factors.ifg fit.ifg
awk '/^\.Sh EXAMPLES/{x=1} /^\.Sh SEE/{x=0} x&&/^\.Ed/{b=0} x&&b{print} x&&/^\.Bd -literal/{b=1}' \
	"$IFG_TOP/man/ifg-influence.1" | sed 's/\\e$/\\/' > examples.sh
test "$(wc -l < examples.sh)" -eq 4
sh -e examples.sh 2>/dev/null
$ref scores --fit fit.ifg --qsafe qsafe.ifg grads.ifg qtox.ifg scores.ifg
$ref scores --fit fit.ifg grads.ifg qtox.ifg tox.ifg
$ref scores --damping -1 --fit fit.ifg --qsafe qsafe.ifg grads.ifg qtox.ifg docs.ifg
