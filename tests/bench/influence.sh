#!/bin/sh
# Token-wise influence scoring beside the forward+backward pass that makes
# its input, on a real model (4 layers, width 256, vocabulary 8192, records
# of 256 tokens): ifg-grad's tokens/s (one forward and backward per record,
# per-token gradients written) against ifg-influence's tokens/s on them.
# ratio > 1: scoring costs less than the pass it scores.
# Usage: influence.sh BINDIR
bin=${1:?usage: influence.sh BINDIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
name=influence-vs-fwdbwd-L4-d256
if ! /usr/bin/python3 -c 'import numpy, msgpack' 2>/dev/null; then
	echo "bench: $name skipped: no numpy/msgpack for /usr/bin/python3"
	exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/ifg-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
ref="/usr/bin/python3 $top/tests/ref/ekfac_ref.py"
$ref tokens --seed 1 --hi 16 --tmin 256 --tmax 256 --vocab 8192 -o "$dir/train.ifg"
$ref tokens --seed 2 --hi 8 --tmin 64 --tmax 64 --vocab 8192 --queries -o "$dir/q.ifg"
"$bin/ifg-train" -q -o "$dir/m" --layers 4 --heads 4 --embd 256 --ctx 256 --vocab 8192 -n 0 \
	"$dir/train.ifg"
"$bin/ifg-grad" -q -j 2 -m "$dir/m" --sum -o "$dir/qtox.ifg" "$dir/q.ifg"
"$bin/ifg-grad" -q -j 2 -m "$dir/m" --sample -s 1 -o "$dir/fit.ifg" "$dir/train.ifg"
"$bin/ifg-factor" fit -q -o "$dir/factors.ifg" "$dir/fit.ifg"
rm "$dir/fit.ifg"
# timed: the pass, then the scoring of its output
"$bin/ifg-grad" -j 2 -m "$dir/m" -o "$dir/grads.ifg" "$dir/train.ifg" 2>"$dir/grad.log"
OPENBLAS_NUM_THREADS=2 "$bin/ifg-influence" -f "$dir/factors.ifg" -q "$dir/qtox.ifg" \
	-o "$dir/scores.ifg" "$dir/grads.ifg" 2>"$dir/score.log"
fb=$(sed -n 's/.*(\([0-9.e+]*\) tokens\/s.*/\1/p' "$dir/grad.log" | awk '{printf "%.4g", $1}')
sc=$(sed -n 's/.*(\([0-9.e+]*\) tokens\/s.*/\1/p' "$dir/score.log" | awk '{printf "%.4g", $1}')
[ -n "$fb" ] && [ -n "$sc" ] || { echo "bench: $name skipped: no rates in the logs"; exit 0; }
echo "influence: scoring $sc tokens/s, forward+backward with per-token gradients $fb tokens/s"
echo "bench: $name ifg=$sc ref=$fb refname=ifg-grad-fwd+bwd unit=tok/s ratio=$(echo "$sc $fb" | awk '{printf "%.2f", $1 / $2}')"
