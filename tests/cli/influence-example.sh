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
test "$(wc -l < examples.sh)" -eq 6
head -n 4 examples.sh | sh -e 2>/dev/null
$ref scores --fit fit.ifg --qsafe qsafe.ifg grads.ifg qtox.ifg scores.ifg
$ref scores --fit fit.ifg grads.ifg qtox.ifg tox.ifg
$ref scores --damping -1 --fit fit.ifg --qsafe qsafe.ifg grads.ifg qtox.ifg docs.ifg
# the last: gradients in-process from a model and its tokens (records and
# queries), equal to the ifg-grad pipeline's
$ref tokens --seed 4 --hi 6 -o train.ifg
$ref tokens --seed 5 --hi 3 -o qtox.tok
$ref tokens --seed 6 --hi 3 -o qsafe.tok
ifg-train -q --layers 1 --heads 2 --embd 8 --ctx 16 --vocab 50 -n 2 -o model train.ifg
ifg-factor fit -q -m model -o factors.ifg train.ifg
ifg-grad -q -m model --sum -o qtox.ifg qtox.tok
ifg-grad -q -m model --sum -o qsafe.ifg qsafe.tok
tail -n 2 examples.sh | sh -e 2>/dev/null
ifg-grad -q -m model train.ifg | ifg-influence -f factors.ifg -q qtox.ifg -n qsafe.ifg > piped.ifg
cmp piped.ifg scores.ifg
