#!/bin/sh
# The cost of reward-augmented decoding (ifg-sample --rad-model) per token
# against plain sampling, on a model of the demo's target shape (4 layers,
# 4 heads, 128 wide, a 2048-token vocabulary learned from Moby-Dick) trained
# only 10 steps of 8 blocks (far from converged, so its rows are flat and
# plain sampling's top-p ranking is a large part of its cost), with the
# demo's evaluation settings (-k 25 -n 20 -p 0.9 -b 25 -j 1) on 20 prompts
# and a classifier learned from the Davidson tweets.  RAD runs with
# --rad-beta 0 and --rad-k 20: it does all its work (the top 20 of every
# row, 20 classifier scores, the warp) but draws the same tokens as plain
# sampling, so both runs generate the same sequences in the same batches
# and the difference is RAD's work alone.  Seconds are CPU seconds (user +
# system) of the whole program: with -j 1 it runs on one thread, and CPU
# time is steadier than wall time on a shared machine; best of 3, runs
# alternated.
# usage: sample.sh BINDIR   (tests/bench/run.sh passes it)
bindir=${1:?usage: sample.sh BINDIR}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
data=${IFG_DATA:-$top/data}
name=sample-rad-L4-d128-V2048
moby=$data/moby-dick/data
[ -f "$moby/chapter_1.txt" ] || { echo "bench: $name skipped: no $moby (run pipelines/fetch-data.sh)"; exit 0; }
[ -x /usr/bin/time ] || { echo "bench: $name skipped: no /usr/bin/time"; exit 0; }
[ -f "$data/davidson/labeled_data.csv" ] ||
	{ echo "bench: $name skipped: no $data/davidson (run pipelines/fetch-data.sh)"; exit 0; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ifg-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

cat "$moby"/chapter_*.txt | grep . > moby.txt
fail() { echo "bench: $name skipped: $1 failed"; exit 0; }
"$bindir/ifg-tokenize" -q --learn 2048 -f lines -o tok moby.txt || fail "ifg-tokenize --learn"
"$bindir/ifg-tokenize" -q -t tok -f lines --eot -b 128 moby.txt > moby.ifg || fail ifg-tokenize
"$bindir/ifg-train" -q -o model --layers 4 --heads 4 --embd 128 -b 8 -n 10 --lr 1e-3 -j 2 \
	moby.ifg || fail ifg-train
"$bindir/ifg-toxicity" learn -q -o clf "$data/davidson/labeled_data.csv" || fail "ifg-toxicity learn"
# 20 prompts: the first 8 words of lines further in
awk 'NF > 8 { n++; if (n > 100 && n <= 120) { $0 = $1" "$2" "$3" "$4" "$5" "$6" "$7" "$8;
	gsub(/["\\]/, ""); printf "{\"id\": %d, \"prompt\": \"%s\", \"label\": %d}\n", n, $0, n % 2 } }' \
	moby.txt > p.jsonl

s="$bindir/ifg-sample -m model -t tok -k 25 -n 20 -p 0.9 -s 42 -b 25 --id id -c label -j 1 -v"
# CPU seconds and tokens of one run (-v: "... N tokens in S s (...)")
run() {
	/usr/bin/time -f '%U %S' -o cpu $s "$@" p.jsonl 2>log >/dev/null || return
	echo "$(awk '{ print $1 + $2 }' cpu) $(sed -n 's/.* samples, \([0-9]*\) tokens in .*/\1/p' log)"
}
for i in 1 2 3; do
	run >> plain.t
	run --rad-model clf --rad-beta 0 --rad-k 20 >> rad.t
	run --rad-model clf --rad-beta 20 --rad-k 20 >> rad20.t
done
# best ms per token
best() { awk '$2 > 0 { c = 1000 * $1 / $2; if (!m || c < m) m = c } END { printf "%.4f", m }' "$1"; }
plain=$(best plain.t) rad=$(best rad.t) rad20=$(best rad20.t)
[ "$plain" != 0.0000 ] && [ "$rad" != 0.0000 ] || fail ifg-sample
$s p.jsonl > plain.jsonl 2>/dev/null && $s --rad-model clf --rad-beta 0 p.jsonl 2>/dev/null |
	cmp -s - plain.jsonl || { echo "bench: $name skipped: --rad-beta 0 drew other tokens"; exit 0; }
echo "$name: plain $plain ms/token, RAD (k 20, beta 0: the same tokens) $rad ms/token," \
	"RAD beta 20 $rad20 ms/token (its own, shorter samples)"
echo "bench: $name ifg=$rad ref=$plain refname=plain-sampling unit=ms/token ratio=$(awk -v a=$rad -v b=$plain 'BEGIN { printf "%.2f", b / a }')"
