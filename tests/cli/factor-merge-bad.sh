# ifg-factor merge validates every shard as the one-shard stages do: a sum
# without its count, or a count of 0 beside a sum that is not zero, is
# refused, and so is a sum of counts that overflows.
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
/usr/bin/python3 -c 'import msgpack' 2>/dev/null || { echo "no python3-msgpack" >&2; exit 77; }
$ref gen --seed 3 --lo 0 --hi 4 -o g.ifg
ifg-factor covariance -q -o cov.ifg g.ifg
ifg-show -a cov.ifg > cov.jsonl
sed 's/"A_count":30,//' cov.jsonl | ifg-pack -o nocount.ifg
sed 's/"S_count":30/"S_count":0/' cov.jsonl | ifg-pack -o zero.ifg
sed 's/"A_count":30/"A_count":9223372036854775807/' cov.jsonl | ifg-pack -o huge.ifg
try() { # NAME PATTERN files...
	name=$1 pat=$2; shift 2
	ifg-factor merge -q -o out.ifg "$@" 2>err; rc=$?
	echo "$name: exit $rc, $(grep -c -- "$pat" err) message"
	test -e out.ifg && echo "$name: left out.ifg"
}
try "no count" "record 1 at byte [0-9]*: layer 'h.0.attn.c_attn': 'A_sum' without 'A_count'" cov.ifg nocount.ifg
try "zero count" "layer 'h.0.attn.c_attn': 'S_count' is 0 but 'S_sum' is not zero" zero.ifg cov.ifg
try "overflow" "layer 'h.0.attn.c_attn': the merged token or record count overflows" cov.ifg huge.ifg
ifg-factor eigen -q -o e.ifg nocount.ifg 2>err; echo "eigen, no count: exit $? $(grep -c "without 'A_count'" err)"
ifg-factor merge -q -o one.ifg huge.ifg; echo "one huge shard: exit $?"
