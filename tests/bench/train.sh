#!/bin/sh
# Training throughput of ifg-train against the PyTorch reference
# (tests/ref/model_ref.py bench, torch.set_num_threads(2)) on the same model
# and batch, and ifg's fraction of the measured sgemm peak (2 threads).
# usage: train.sh BINDIR   (tests/bench/run.sh passes it)
bindir=${1:?usage: train.sh BINDIR}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ifg-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
threads=2

cc -O2 -march=native -o "$tmp/sgemm_peak" "$here/sgemm_peak.c" \
	$(pkg-config --cflags --libs openblas) 2>"$tmp/cc.err" ||
	{ echo "bench: train skipped: cannot build sgemm_peak: $(head -n 1 "$tmp/cc.err")"; exit 0; }
peak=$("$tmp/sgemm_peak" $threads 2048 | sed -n 's/sgemm_gflops //p')
echo "sgemm peak ($threads threads): $peak GFLOP/s"
torch_ok=1
/usr/bin/python3 -c 'import torch, msgpack' 2>/dev/null || torch_ok=0

# NAME ARCH LAYERS EMBD HEADS CTX VOCAB BATCH STEPS
run() {
	name=$1 A=$2 L=$3 C=$4 H=$5 T=$6 V=$7 B=$8 S=$9
	/usr/bin/python3 - "$tmp/data.ifg" "$T" "$V" "$B" "$S" <<'PY' || return 1
import sys, random
sys.path.insert(0, __import__("os").environ["IFG_REF"])
import ifgrec
path, T, V, B, S = sys.argv[1], *map(int, sys.argv[2:])
r = random.Random(1)
with open(path, "wb") as f:
    ifgrec.write_tokens(f, [[r.randrange(V) for _ in range(T)] for _ in range(B * (S + 1))], V)
PY
	# S + 1 steps; the first one (warm-up) is not timed
	rm -rf "$tmp/m"
	"$bindir/ifg-train" -q -o "$tmp/m" --arch $A --layers $L --embd $C --heads $H --ctx $T --vocab $V \
		-b $B -m $B -n $((S + 1)) -j $threads --no-shuffle --log "$tmp/log" "$tmp/data.ifg" ||
		{ echo "bench: $name skipped: ifg-train failed"; return 1; }
	ifg=$(awk -F'[:,}]' '{ for (i = 1; i < NF; i++) { if ($i == "\"time\"") t[NR] = $(i + 1);
		if ($i == "\"tokens\"") k[NR] = $(i + 1) } }
		END { for (n = 2; n <= NR; n++) tok += k[n]; printf "%.1f", tok / (t[NR] - t[1]) }' "$tmp/log")
	# training FLOPs per token: 6 x (matrix parameters incl. the output layer) + attention;
	# a block's matrices are 12 C^2 (GPT-2, GPT-NeoX) or 4 C^2 + 3 C F (Llama's SwiGLU)
	flops=$(awk -v A=$A -v L=$L -v C=$C -v T=$T -v V=$V 'BEGIN {
		F = int((8 * C / 3 + 63) / 64) * 64; M = A == "llama" ? 4 * C * C + 3 * C * F : 12 * C * C
		printf "%.0f", 6 * (L * M + C * V) + 6 * L * T * C }')
	frac=$(awk -v r=$ifg -v f=$flops -v p=$peak 'BEGIN { printf "%.2f", r * f / (p * 1e9) }')
	echo "$name: ifg $ifg tok/s = $(awk -v r=$ifg -v f=$flops 'BEGIN { printf "%.1f", r * f / 1e9 }') GFLOP/s, $frac of the sgemm peak"
	echo "bench: $name-peak ifg=$frac ref=1 refname=sgemm-peak unit=fraction ratio=$frac"
	if [ $torch_ok = 0 ]; then
		echo "bench: $name skipped: no python3-torch"
		return 0
	fi
	ref=$(/usr/bin/python3 "$top/tests/ref/model_ref.py" bench --arch $A --layers $L --embd $C --heads $H \
		--ctx $T --vocab $V --batch $B --steps $S | sed -n 's/tok_s //p')
	[ -n "$ref" ] || { echo "bench: $name skipped: the PyTorch reference failed"; return 1; }
	echo "bench: $name ifg=$ifg ref=$ref refname=pytorch unit=tok/s ratio=$(awk -v a=$ifg -v b=$ref 'BEGIN { printf "%.2f", a / b }')"
}

export IFG_REF="$top/tests/ref"
run train-L4-d256-T256-V8192 gpt2 4 256 4 256 8192 8 4
# the other families on the same shape: Pythia's layout (rotary on a quarter
# of each head, parallel residual, untied) and Llama's (tied, SwiGLU), as
# ifg-train --arch makes them
run train-pythia-L4-d256-T256-V8192 gpt_neox 4 256 4 256 8192 8 4
run train-llama-L4-d256-T256-V8192 llama 4 256 4 256 8192 8 4
# GPT-2 small's layers, width, heads and vocabulary; context 256 to keep it short
run train-gpt2small-T256 gpt2 12 768 12 256 50257 4 2
exit 0
