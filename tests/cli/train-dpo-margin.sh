# DPO on ParaDetox pairs (the neutral paraphrase chosen over the toxic
# sentence) raises the reward margin on the training pairs: the margins of
# all of them, measured at the trained weights against the reference, go
# from 0 (the policy is the reference) to clearly positive, most pairs ranked
# right; the per-step log shows the rise too.
/usr/bin/python3 -c 'import msgpack' 2>/dev/null || { echo "no python3-msgpack" >&2; exit 77; }
tsv=$IFG_SHARED/data/paradetox/paradetox.tsv
[ -f "$tsv" ] || { echo "no $tsv" >&2; exit 77; }
set -e
ifg-tokenize -q --learn 512 -f tsv --text neutral1 -o tok "$tsv"
ifg-tokenize -q -t tok -f tsv --text neutral1 --block 64 -o lm.ifg "$tsv"
head -n 65 "$tsv" > train.tsv
ifg-tokenize -q -t tok --bos --eot --chosen neutral1 --rejected toxic -o pairs.ifg train.tsv
ifg-train -q -o base --layers 2 --heads 2 --embd 32 --ctx 128 -b 8 -n 100 --lr 3e-3 -j 1 lm.ifg
ifg-train -q -o dpo --dpo --init base -b 8 -n 48 --lr 1e-3 -j 1 --log log.jsonl pairs.ifg
# margins of every training pair, before (policy = reference) and after
measure() {
	ifg-train --dpo --init "$1" --ref base -b 64 -m 8 --no-shuffle -j 1 --dump-grads m.st \
		pairs.ifg
	/usr/bin/python3 -c '
import sys; sys.path.insert(0, sys.argv[1]); import ifgrec
_, m = ifgrec.load_safetensors("m.st"); print(m["reward_margin"], m["reward_acc"], m["loss"])' \
		"$IFG_TOP/tests/ref"
}
set -- $(measure base); m0=$1 a0=$2
set -- $(measure dpo); m1=$1 a1=$2 l1=$3
echo "reward margin on the 64 training pairs: $m0 -> $m1, accuracy $a0 -> $a1, loss $l1" >&2
awk -v m0="$m0" -v m1="$m1" -v a1="$a1" -v l1="$l1" 'BEGIN {
	if (m0 != 0 || !(m1 > 0.5) || !(a1 >= 0.8) || !(l1 < 0.5)) {
		print "the reward margin did not rise" > "/dev/stderr"; exit 1 }
}'
# the log: mean margin of the last 8 steps above that of the first 8
/usr/bin/python3 - <<'PY'
import json
rows = [json.loads(l) for l in open("log.jsonl")]
assert len(rows) == 48 and all("reward_acc" in r for r in rows)
first = sum(r["reward_margin"] for r in rows[:8]) / 8
last = sum(r["reward_margin"] for r in rows[-8:]) / 8
assert rows[0]["reward_margin"] == 0 and rows[0]["loss"] == 0.693147, rows[0]
assert last > first + 0.3, (first, last)
PY
