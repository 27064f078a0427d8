#!/bin/sh
# EK-FAC factor fitting (time per token, share in BLAS) and influence
# scoring (tokens/s) against the same computation in numpy.
# Usage: factor.sh BINDIR
bin=${1:?usage: factor.sh BINDIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
ref="/usr/bin/python3 $top/tests/ref/ekfac_ref.py"
if ! /usr/bin/python3 -c 'import numpy, msgpack' 2>/dev/null; then
	echo "bench: factor-fit skipped: no numpy/msgpack for /usr/bin/python3"
	echo "bench: influence-score skipped: no numpy/msgpack for /usr/bin/python3"
	exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/ifg-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
# one GPT-2 block of width 128: c_attn, attn.c_proj, c_fc, mlp.c_proj
layers=h.0.attn.c_attn:128:384,h.0.attn.c_proj:128:128,h.0.mlp.c_fc:128:512,h.0.mlp.c_proj:512:128
$ref gen --seed 1 --hi 48 --tmin 128 --tmax 128 --layers $layers -o "$dir/grads.ifg"
$ref gensum --seed 2 --hi 4 --tmin 64 --tmax 64 --layers $layers -o "$dir/qtox.ifg"
$ref gensum --seed 3 --hi 4 --tmin 64 --tmax 64 --layers $layers -o "$dir/qsafe.ifg"

t0=$(date +%s.%N)
"$bin/ifg-factor" fit -o "$dir/factors.ifg" "$dir/grads.ifg" 2>"$dir/fit.log"
t1=$(date +%s.%N)
tokens=$(sed -n 's/.*covariance: [0-9]* records, \([0-9]*\) tokens.*/\1/p' "$dir/fit.log")
ifg_us=$(echo "$t0 $t1 $tokens" | awk '{printf "%.4g", 1e6 * ($2 - $1) / $3}')
# BLAS share over the two passes, weighted by their times
share=$(awk '/ tokens in /{t = $0; sub(/.* in /, "", t); sub(/ s .*/, "", t);
	b = $0; sub(/.*BLAS /, "", b); sub(/%.*/, "", b); T += t; B += t * b / 100}
	END {printf "%.0f", (T > 0 ? 100 * B / T : 0)}' "$dir/fit.log")
echo "factor: fit $ifg_us us/token over $tokens tokens, BLAS $share% of the passes"
ref_us=$($ref bench-fit "$dir/grads.ifg")
echo "bench: factor-fit-d128 ifg=$ifg_us ref=$ref_us refname=numpy-fp64 unit=us/token ratio=$(echo "$ref_us $ifg_us" | awk '{printf "%.2f", $1 / $2}')"

"$bin/ifg-influence" -f "$dir/factors.ifg" -q "$dir/qtox.ifg" -n "$dir/qsafe.ifg" \
	-o "$dir/scores.ifg" "$dir/grads.ifg" 2>"$dir/score.log"
ifg_tps=$(sed -n 's/.*(\([0-9.e+]*\) tokens\/s.*/\1/p' "$dir/score.log" | awk '{printf "%.4g", $1}')
sshare=$(sed -n 's/.*BLAS \([0-9]*\)%.*/\1/p' "$dir/score.log")
echo "influence: $ifg_tps tokens/s, BLAS $sshare%"
ref_tps=$($ref bench-score "$dir/grads.ifg" "$dir/factors.ifg")
echo "bench: influence-score-d128 ifg=$ifg_tps ref=$ref_tps refname=numpy unit=tok/s ratio=$(echo "$ifg_tps $ref_tps" | awk '{printf "%.2f", $1 / $2}')"
