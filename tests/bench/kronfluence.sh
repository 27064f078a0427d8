#!/bin/sh
# The influence stages beside Kronfluence 1.0.1 (../shared/peers, run by
# kf_stages.py through kf_ifg.py) on issue 14's shapes: 4 layers x 256,
# context 256, vocabulary 8192, 64 records of 256 tokens, 2 toxic and 2
# non-toxic queries, true labels, damping 1e-8, 2 threads each.  Stage by
# stage, each tool's forward+backward passes included where it runs them;
# ifg computes the per-token gradients in-process (-m), 2 records side by
# side (ifg-factor -P 2, ifg-influence -j 2: one thread each), and runs its
# default precision (covariance f64, lambda and scores f32; ifg-factor(1)):
#   covariance  ifg-factor covariance -m -P 2      (Kronfluence: fit_covariance)
#   eigen       ifg-factor eigen                   (perform_eigendecomposition)
#   lambda      ifg-factor lambda -m -P 2          (fit_lambda)
#   scores      ifg-influence -m -j 2, the queries' tokens summed in the
#               same process            (compute_pairwise_scores x2)
# Then the fit as one command, ifg-factor fit -m -P 2, whose lambda pass
# runs over the gradients the covariance pass kept (--keep) instead of a
# second forward and backward ("fit, one command" and "kf-fit-one-command").
# BENCH_PIPE=1 runs the ifg-grad | ... pipelines instead of -m.
#
# What limits each ifg stage (perf, issue 14): covariance, lambda and scores
# each run the model's forward and backward over every record (the backward
# makes input gradients only: the factors need no parameter gradients; with
# sampled labels the loss comes from the same forward) and that is most of
# their time.  Beside it the covariance pass is dsyrk in float64 (half the
# float32 rate; float32 covariance products move the eigenvectors of the
# small eigenvalues, which damping 1e-8 weighs most, and put the scores 1e-4
# from the float64 path), the lambda pass sgemm, scoring one sgemm per layer.
# The eigendecomposition is LAPACK dsyevd (its tridiagonal reduction is half
# BLAS-2, memory-bound).  With 2 BLAS threads on records of 256 tokens about
# a fifth of the CPU time is OpenBLAS threads yielding while the other runs
# the single-threaded parts (perf); 2 shards of 1 thread each, as
# pipelines/sharded.sh runs them, avoid that: every stage is also timed that
# way (the "shards-" lines).  Gradients through a pipe or file cost ifg-grad
# a third more time writing and each consumer its reading and conversion;
# -m removes both.  Memory touched for the first time is dear on this
# machine (the VM returns freed pages to its host: 1-2 s per GiB), so the
# fit's kept gradients cost it about 1 s, less than the second forward and
# backward they save.
# BENCH_KF64=0 skips the agreement check against Kronfluence's float64 run.
# ifg and Kronfluence run back to back, BENCH_REPEAT times (default 3); each
# ratio is of the medians (ratio > 1: ifg faster), with the load (uptime)
# of every round.  GFLOP/s count the dense work of each stage (formulas
# below) and are given as a fraction of the measured 2-thread sgemm peak.
# Usage: kronfluence.sh BINDIR
bin=${1:?usage: kronfluence.sh BINDIR}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
peers=${IFG_PEERS:-$top/../shared/peers}
stages="covariance eigen lambda scores"
skip() {
	for s in $stages fit tokens-to-scores; do
		echo "bench: kf-$s skipped: $1"
	done
	exit 0
}
[ -f "$peers/kf_ifg.py" ] || skip "no Kronfluence peer at $peers (kf_ifg.py)"
/usr/bin/python3 -c 'import torch, numpy, msgpack, tqdm' 2>/dev/null ||
	skip "/usr/bin/python3 lacks torch, numpy, msgpack or tqdm (Kronfluence needs them)"
dir=$(mktemp -d "${TMPDIR:-/tmp}/ifg-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
export IFG_PEERS="$peers" IFG_REF="$top/tests/ref"
L=4 D=256 T=256 N=64 V=8192 Q=2 threads=2
repeat=${BENCH_REPEAT:-3}

cc -O2 -march=native -o "$dir/sgemm_peak" "$here/sgemm_peak.c" \
	$(pkg-config --cflags --libs openblas) 2>"$dir/cc.err" ||
	skip "cannot build sgemm_peak: $(head -n 1 "$dir/cc.err")"
peak=$("$dir/sgemm_peak" $threads 2048 | sed -n 's/sgemm_gflops //p')
echo "kronfluence: sgemm peak ($threads threads) $peak GFLOP/s"

/usr/bin/python3 "$here/kf_stages.py" data "$dir" $T $N $V $Q || skip "cannot make the data"
"$bin/ifg-train" -q -o "$dir/m" --layers $L --heads 4 --embd $D --ctx $T --vocab $V -n 0 \
	"$dir/train.ifg" || skip "ifg-train failed"

# one round of ifg: prints "covariance S eigen S lambda S scores S"
ifg_round() {
	m="-j $threads -m $dir/m"
	t0=$(date +%s.%N)
	if [ "${BENCH_PIPE:-0}" = 1 ]; then
		"$bin/ifg-grad" -q -j $threads -m "$dir/m" "$dir/train.ifg" |
			"$bin/ifg-factor" covariance -q -o "$dir/cov.ifg" || return 1
	else
		"$bin/ifg-factor" covariance -q $m -P $threads -o "$dir/cov.ifg" "$dir/train.ifg" ||
			return 1
	fi
	t1=$(date +%s.%N)
	"$bin/ifg-factor" eigen -q -o "$dir/eigen.ifg" "$dir/cov.ifg" || return 1
	t2=$(date +%s.%N)
	if [ "${BENCH_PIPE:-0}" = 1 ]; then
		"$bin/ifg-grad" -q -j $threads -m "$dir/m" "$dir/train.ifg" |
			"$bin/ifg-factor" lambda -q -e "$dir/eigen.ifg" -o "$dir/factors.ifg" || return 1
	else
		"$bin/ifg-factor" lambda -q $m -P $threads -e "$dir/eigen.ifg" \
			-o "$dir/factors.ifg" "$dir/train.ifg" || return 1
	fi
	t3=$(date +%s.%N)
	if [ "${BENCH_PIPE:-0}" = 1 ]; then
		# the two query sums side by side, one thread each
		OPENBLAS_NUM_THREADS=1 "$bin/ifg-grad" -q -j 1 -m "$dir/m" --sum \
			-o "$dir/gtox.ifg" "$dir/qtox.ifg" &
		pids="$pids $!"
		OPENBLAS_NUM_THREADS=1 "$bin/ifg-grad" -q -j 1 -m "$dir/m" --sum \
			-o "$dir/gsafe.ifg" "$dir/qsafe.ifg" &
		pids="$pids $!"
		wait_all || return 1
		"$bin/ifg-grad" -q -j $threads -m "$dir/m" "$dir/train.ifg" |
			OPENBLAS_NUM_THREADS=$threads "$bin/ifg-influence" --quiet -f "$dir/factors.ifg" \
			-q "$dir/gtox.ifg" -n "$dir/gsafe.ifg" -o "$dir/scores.ifg" || return 1
	else
		# one process: the queries' sums and the records' scores, all in-process
		"$bin/ifg-influence" --quiet $m -f "$dir/factors.ifg" -q "$dir/qtox.ifg" \
			-n "$dir/qsafe.ifg" -o "$dir/scores.ifg" "$dir/train.ifg" || return 1
	fi
	t4=$(date +%s.%N)
	# the whole fit as one command: the lambda pass over the gradients the
	# covariance pass kept (--keep), no second forward and backward
	"$bin/ifg-factor" fit -q $m -P $threads -o "$dir/fit1.ifg" "$dir/train.ifg" || return 1
	t5=$(date +%s.%N)
	echo "$t4 $t5" | awk '{printf "%.4f\n", $2 - $1}' >>"$dir/fit1.times"
	echo "$t0 $t1 $t2 $t3 $t4" | awk '{printf "covariance %.4f eigen %.4f lambda %.4f scores %.4f\n",
		$2 - $1, $3 - $2, $4 - $3, $5 - $4}'
}

# one round of ifg as pipelines/sharded.sh runs it: the records in 2 shards,
# one single-threaded job per shard and core, the partial factors merged
# and the shards' scores concatenated; same output format as ifg_round
ifg_round_shards() {
	m="-j 1 -m $dir/m"
	export OPENBLAS_NUM_THREADS=1
	t0=$(date +%s.%N)
	for k in 0 1; do
		"$bin/ifg-factor" covariance -q $m -o "$dir/cov-$k.ifg" "$dir/shard-$k.ifg" &
		pids="$pids $!"
	done
	wait_all || return 1
	"$bin/ifg-factor" merge -q -o "$dir/cov2.ifg" "$dir/cov-0.ifg" "$dir/cov-1.ifg" || return 1
	t1=$(date +%s.%N)
	OPENBLAS_NUM_THREADS=$threads "$bin/ifg-factor" eigen -q -o "$dir/eigen2.ifg" \
		"$dir/cov2.ifg" || return 1
	t2=$(date +%s.%N)
	for k in 0 1; do
		"$bin/ifg-factor" lambda -q $m -e "$dir/eigen2.ifg" -o "$dir/lam-$k.ifg" \
			"$dir/shard-$k.ifg" &
		pids="$pids $!"
	done
	wait_all || return 1
	"$bin/ifg-factor" merge -q -o "$dir/factors2.ifg" "$dir/lam-0.ifg" "$dir/lam-1.ifg" || return 1
	t3=$(date +%s.%N)
	"$bin/ifg-grad" -q $m --sum -o "$dir/gtox2.ifg" "$dir/qtox.ifg" &
	pids="$pids $!"
	"$bin/ifg-grad" -q $m --sum -o "$dir/gsafe2.ifg" "$dir/qsafe.ifg" &
	pids="$pids $!"
	wait_all || return 1
	for k in 0 1; do
		"$bin/ifg-influence" --quiet $m -f "$dir/factors2.ifg" -q "$dir/gtox2.ifg" \
			-n "$dir/gsafe2.ifg" -o "$dir/sc-$k.ifg" "$dir/shard-$k.ifg" &
		pids="$pids $!"
	done
	wait_all || return 1
	"$bin/ifg-cat" -q -k scores -o "$dir/scores2.ifg" "$dir/sc-0.ifg" "$dir/sc-1.ifg" || return 1
	t4=$(date +%s.%N)
	echo "$t0 $t1 $t2 $t3 $t4" | awk '{printf "covariance %.4f eigen %.4f lambda %.4f scores %.4f\n",
		$2 - $1, $3 - $2, $4 - $3, $5 - $4}'
}
# waits for the jobs in $pids (then empties it); fails when one failed
pids=
wait_all() {
	rc=0
	for p in $pids; do wait "$p" || rc=1; done
	pids=
	return $rc
}

# one round of Kronfluence, float32 (its default), the same settings
kf_round() {
	/usr/bin/python3 "$here/kf_stages.py" run "$dir/kft.json" --threads $threads run "$dir/m" \
		--train "$dir/train.json" --toxic "$dir/tox.json" --nontoxic "$dir/safe.json" \
		-o "$dir/kf.json" --empirical-fisher --damping 1e-8 --bs 8 2>"$dir/kf.log" || {
		sed 's/^/kronfluence: /' "$dir/kf.log" | tail -n 5 >&2
		return 1
	}
	/usr/bin/python3 -c 'import json, sys; t = json.load(open(sys.argv[1]))
print(" ".join("%s %.4f" % (k, t[k]) for k in ("covariance", "eigen", "lambda", "scores")))' \
		"$dir/kft.json"
}

: >"$dir/ifg.times"
: >"$dir/fit1.times"
: >"$dir/ifg2.times"
: >"$dir/kf.times"
"$bin/ifg-cat" -q -s 0/2 -o "$dir/shard-0.ifg" "$dir/train.ifg" &&
	"$bin/ifg-cat" -q -s 1/2 -o "$dir/shard-1.ifg" "$dir/train.ifg" || skip "ifg-cat failed"
r=1
while [ $r -le $repeat ]; do
	echo "kronfluence: round $r/$repeat, load $(uptime | sed 's/.*load average: //')"
	x=$(ifg_round) || skip "an ifg stage failed"
	echo "$x" >>"$dir/ifg.times"
	echo "kronfluence:   ifg         $x"
	y=$(kf_round) || skip "Kronfluence failed (kf_ifg.py, see above)"
	echo "$y" >>"$dir/kf.times"
	echo "kronfluence:   Kronfluence $y"
	z=$(ifg_round_shards) || skip "an ifg stage (2 shards) failed"
	echo "$z" >>"$dir/ifg2.times"
	echo "kronfluence:   ifg shards  $z"
	r=$((r + 1))
done
echo "kronfluence: agreement with Kronfluence fp32 (max|diff|/max, Pearson):" \
	"$(/usr/bin/python3 "$here/kf_stages.py" agree "$dir/kf.json" "$dir/scores.ifg")," \
	"2 shards $(/usr/bin/python3 "$here/kf_stages.py" agree "$dir/kf.json" "$dir/scores2.ifg")"
# accuracy against Kronfluence's float64 run, of ifg's default precision and
# of its all-f64 path (BENCH_KF64=0 skips: one more Kronfluence run)
if [ "${BENCH_KF64:-1}" = 1 ]; then
	m="-j $threads -m $dir/m"
	if /usr/bin/python3 "$here/kf_stages.py" run "$dir/kft64.json" --threads $threads run \
		"$dir/m" --train "$dir/train.json" --toxic "$dir/tox.json" \
		--nontoxic "$dir/safe.json" -o "$dir/kf64.json" --empirical-fisher --damping 1e-8 \
		--bs 8 --fp64 2>"$dir/kf64.log" &&
		"$bin/ifg-factor" fit -q -p f64 $m -o "$dir/f64.ifg" "$dir/train.ifg" &&
		"$bin/ifg-influence" --quiet -p f64 $m -f "$dir/f64.ifg" -q "$dir/qtox.ifg" \
			-n "$dir/qsafe.ifg" -o "$dir/s64.ifg" "$dir/train.ifg"; then
		echo "kronfluence: agreement with Kronfluence fp64 (max|diff|/max, Pearson):" \
			"ifg default $(/usr/bin/python3 "$here/kf_stages.py" agree "$dir/kf64.json" \
			"$dir/scores.ifg"), ifg -p f64 $(/usr/bin/python3 "$here/kf_stages.py" agree \
			"$dir/kf64.json" "$dir/s64.ifg")"
	else
		echo "kronfluence: no fp64 agreement: the fp64 runs failed"
		tail -n 3 "$dir/kf64.log" | sed 's/^/kronfluence: /'
	fi
fi

# median of field F (2, 4, 6, 8) over the rounds of a times file
med() {
	awk -v f=$2 '{print $f}' "$1" | sort -g | awk '{v[NR] = $1}
		END {printf "%.4f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
# Dense floating-point work of each stage (multiply-add = 2), per record of
# T tokens, summed over the tracked layers (na = d_in + 1, o = d_out):
#   fwd+bwd  2 x forward = 2 (2 T (12 L D^2 + D V) + 4 L T^2 D): the forward
#            and the backward's input gradients (no parameter gradients)
#   cov      T (na^2 + o^2)                  (two syrk)
#   lambda   2 T o na + 2 o^2 na + 2 o na^2  (G, then the two rotations)
#   eigen    9 (na^3 + o^3) per layer, once  (the textbook count for eigh)
#   scores   2 T na o per layer, plus fwd+bwd of the records and queries
flops=$(awk -v L=$L -v D=$D -v T=$T -v N=$N -v V=$V -v Q=$Q 'BEGIN {
	fb = 2 * (2 * T * (12 * L * D * D + D * V) + 4 * L * T * T * D)
	tq = T / 4
	fbq = 2 * (2 * tq * (12 * L * D * D + D * V) + 4 * L * tq * tq * D)
	split("257 768 257 256 257 1024 1025 256", s, " ")
	for (l = 1; l <= 4; l++) {
		na = s[2 * l - 1]; o = s[2 * l]
		cov += T * (na * na + o * o)
		lam += 2 * T * o * na + 2 * o * o * na + 2 * o * na * na
		eig += 9 * (na * na * na + o * o * o)
		sc += 2 * T * na * o
	}
	printf "%g %g %g %g", N * (fb + L * cov), L * eig, N * (fb + L * lam),
		N * (fb + L * sc) + 2 * Q * fbq
}')
# report TIMES TAG HOW: the stage lines, the bench lines (kf-TAGstage) and the
# per-round ratios of one way of running ifg against Kronfluence
report() {
	i=1
	tot_ifg=0 tot_kf=0 fit_ifg=0 fit_kf=0
	for s in $stages; do
		f=$((2 * i))
		a=$(med "$1" $f)
		b=$(med "$dir/kf.times" $f)
		fl=$(echo "$flops" | awk -v i=$i '{print $i}')
		echo "$s $a $b $fl $peak" | awk -v how="$3" '{printf "kronfluence: %-10s ifg%s %.3f s (%.3g GFLOP/s, %.2f of peak), Kronfluence %.3f s (%.3g GFLOP/s, %.2f of peak)\n",
			$1, how, $2, $4 / $2 / 1e9, $4 / $2 / 1e9 / $5, $3, $4 / $3 / 1e9, $4 / $3 / 1e9 / $5}'
		echo "bench: kf-$2$s ifg=$a ref=$b refname=kronfluence-1.0.1-fp32 unit=s ratio=$(echo "$b $a" | awk '{printf "%.2f", $1 / $2}')"
		tot_ifg=$(echo "$tot_ifg $a" | awk '{print $1 + $2}')
		tot_kf=$(echo "$tot_kf $b" | awk '{print $1 + $2}')
		[ $s = scores ] || {
			fit_ifg=$tot_ifg
			fit_kf=$tot_kf
		}
		i=$((i + 1))
	done
	echo "bench: kf-${2}fit ifg=$fit_ifg ref=$fit_kf refname=kronfluence-1.0.1-fp32 unit=s ratio=$(echo "$fit_kf $fit_ifg" | awk '{printf "%.2f", $1 / $2}')"
	echo "bench: kf-${2}tokens-to-scores ifg=$tot_ifg ref=$tot_kf refname=kronfluence-1.0.1-fp32 unit=s ratio=$(echo "$tot_kf $tot_ifg" | awk '{printf "%.2f", $1 / $2}')"
	# On a machine shared with other jobs the load moves between rounds more
	# than the two tools differ: the ratio within each round (ifg and
	# Kronfluence back to back under about the same load), and its median.
	paste "$1" "$dir/kf.times" | awk -v how="$3" '
		function med(a, n,   i, j, t) {
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		{
			n++
			for (i = 1; i <= 4; i++) { r[i, n] = $(8 + 2 * i) / $(2 * i); name[i] = $(2 * i - 1) }
			fi = $2 + $4 + $6; fk = $10 + $12 + $14
			r[5, n] = fk / fi; r[6, n] = (fk + $16) / (fi + $8)
			name[5] = "fit"; name[6] = "tokens-to-scores"
		}
		END {
			for (i = 1; i <= 6; i++) {
				line = ""
				for (k = 1; k <= n; k++) { v[k] = r[i, k]; line = line sprintf(" %.2f", r[i, k]) }
				printf "kronfluence: %-16s%s ratio per round%s, median %.2f\n", name[i], how, line, med(v, n)
			}
		}'
}
report "$dir/ifg.times" "" ""
# the fit as one command (ifg-factor fit -m -P, gradients kept) against
# Kronfluence's three fitting stages, and with the scores the whole path
a=$(med "$dir/fit1.times" 1)
b=$(awk '{print $2 + $4 + $6}' "$dir/kf.times" | sort -g | awk '{v[NR] = $1}
	END {printf "%.4f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
echo "bench: kf-fit-one-command ifg=$a ref=$b refname=kronfluence-1.0.1-fp32 unit=s ratio=$(echo "$b $a" | awk '{printf "%.2f", $1 / $2}')"
paste "$dir/fit1.times" "$dir/ifg.times" "$dir/kf.times" | awk '
	function med(a, n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{
		n++
		fk = $11 + $13 + $15
		f[n] = fk / $1; p[n] = (fk + $17) / ($1 + $9)
		lf = lf sprintf(" %.2f", f[n]); lp = lp sprintf(" %.2f", p[n])
	}
	END {
		printf "kronfluence: fit, one command ratio per round%s, median %.2f\n", lf, med(f, n)
		printf "kronfluence: tokens-to-scores, fit as one command ratio per round%s, median %.2f\n", lp, med(p, n)
	}'
report "$dir/ifg2.times" shards- " (2 shards)"
