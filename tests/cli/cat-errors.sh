# ifg-cat refuses what it cannot concatenate, with the file and the reason.
tok() { printf '%s\n' "{\"kind\":\"tokens\",\"version\":1,\"block\":$1}" \
	'{"id":0,"tokens":{"dtype":"u16","shape":[2],"data":[1,2]}}' | ifg-pack -o "$2"; }
tok 0 a.ifg
tok 64 b.ifg
ifg-cat a.ifg b.ifg > /dev/null; echo "headers differ: $?"
printf '%s\n' '{"kind":"gradsum","version":1}' | ifg-pack -o s.ifg
ifg-cat s.ifg > /dev/null; echo "gradsum: $?"
ifg-cat -k scores a.ifg > /dev/null; echo "kind: $?"
head -c 20 a.ifg > cut.ifg
ifg-cat cut.ifg > /dev/null; echo "truncated: $?"
ifg-cat -s 1/2 < a.ifg > /dev/null; echo "shard of stdin: $?"
ifg-cat -s 2/2 a.ifg > /dev/null; echo "shard out of range: $?"
ifg-cat -s x a.ifg > /dev/null; echo "shard not K/N: $?"
# nothing is left behind by a failed write
ifg-cat -o out.ifg a.ifg b.ifg; echo "no output: $? $(ls out.ifg* 2>/dev/null)"
# -n: the head of a stream or of a shard, read no further than needed
printf '%s\n' '{"kind":"tokens","version":1}' '{"id":0,"tokens":{"dtype":"u16","shape":[1],"data":[1]}}' \
	'{"id":1,"tokens":{"dtype":"u16","shape":[1],"data":[2]}}' \
	'{"id":2,"tokens":{"dtype":"u16","shape":[1],"data":[3]}}' | ifg-pack -o three.ifg
ifg-cat -q -n 2 three.ifg | ifg-show -H -a | tr -d '\n'; echo
ifg-cat -q -n 1 -s 1/2 three.ifg | ifg-show -H -a
{ cat three.ifg; head -c 10 a.ifg; } | ifg-cat -q -n 3 | cmp - three.ifg && echo "stops before the bad bytes"
# an empty shard is a valid stream with the header only
ifg-cat -q -s 0/3 a.ifg | ifg-show | wc -l
