# The EXAMPLES of ifg-grad(1) run as written.
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref tokens --seed 4 --hi 12 -o train.ifg
$ref tokens --seed 5 --hi 5 --queries -o qtox.tok
ifg-train -q --layers 1 --heads 2 --embd 8 --ctx 16 --vocab 50 -n 1 -o model train.ifg
awk '/^\.Sh EXAMPLES/{x=1} /^\.Sh SEE/{x=0} x&&/^\.Ed/{b=0} x&&b{print} x&&/^\.Bd -literal/{b=1}' \
	"$IFG_TOP/man/ifg-grad.1" > examples.sh
test "$(wc -l < examples.sh)" -eq 3
sh -e examples.sh 2>/dev/null
ifg-show -k grads -q fit.ifg
ifg-show -k grads -q grads.ifg
ifg-show -k gradsum -q qtox.ifg
