# Truncated, corrupt, wrong-kind, oversized and empty inputs: exit 1 and a
# message naming the record and byte offset; never a crash.
printf '{"kind":"tokens","version":1}\n{"id":1,"tokens":{"dtype":"u16","shape":[3],"data":[1,2,3]}}\n' |
	ifg-pack >good.ifg || exit 1
n=$(wc -c <good.ifg)
head -c $((n - 2)) good.ifg >trunc.ifg
for f in trunc; do ifg-show $f.ifg >/dev/null; echo "exit $?"; done
# a record that is not a map, then an invalid type byte
{ head -c 22 good.ifg; printf '\223\001\002\003'; } >notmap.ifg
ifg-show notmap.ifg >/dev/null; echo "exit $?"
{ head -c 22 good.ifg; printf '\201\241x\301'; } >c1.ifg
ifg-show <c1.ifg >/dev/null; echo "exit $?"
# a bin that claims 4 GiB
{ head -c 22 good.ifg; printf '\201\241x\306\377\377\377\377\000'; } >big.ifg
IFG_MAX_RECORD=65536 ifg-show big.ifg >/dev/null; echo "exit $?"
ifg-show -k grads good.ifg >/dev/null; echo "exit $?"
: >empty.ifg
ifg-show empty.ifg; echo "exit $?"
printf 'hello' | ifg-show; echo "exit $?"
# zstd data cut short
ifg-show -a good.ifg | ifg-pack -z >good.zst
head -c 20 good.zst | ifg-show >/dev/null; echo "exit $?"
ifg-show -n x good.ifg; echo "exit $?"
