#!/bin/sh
# sharded.sh: EK-FAC factors, differential token scores and the IF-Guide mask,
# with the data cut into N shards that GNU parallel runs as separate jobs, on
# this machine (-j) or on several (-S, as parallel's --sshlogin).
#
#   sh pipelines/sharded.sh [-n shards] [-j jobs] [-S sshlogin] [-s seed]
#       [--fit-records N] [--select "options"] -m proxy -d tokens
#       -q toxic-queries -Q nontoxic-queries -o dir
#
# The stages, each a sum over shards merged by addition (doc/records.md):
#   fit.ifg   the first N records of the tokens (the corpus is shuffled, so
#             they are a random sample), on which the factors are fitted
#   cov       per shard: ifg-factor covariance --sample; merged, then
#             ifg-factor eigen
#   lambda    per shard: ifg-factor lambda --sample; merged
#   queries   ifg-grad --sum of the toxic and of the non-toxic query pairs
#   scores    per shard: ifg-influence (differential, token-wise); the
#             shards' scores concatenated in record order (ifg-cat)
# Each shard job computes its gradients in-process (-m): the same numbers as
# ifg-grad | ifg-factor ... or ifg-grad | ifg-influence ..., without a pipe
# of per-token gradients between two programs (about twice as fast).
#   mask      ifg-select (Algorithm 1) over all scores
#
# Sampled labels are drawn from (seed, record id) (ifg-grad(1)), so a shard
# draws the labels it would draw in one stream, and every shard count gives
# the same factors up to the rounding of the merge, and the same mask records
# (tests/cli/demo-sharded.sh); the threshold in the mask's header may differ
# in its last digits, so a score within rounding of it could in principle
# tip one token.
#
# Output in dir: factors.ifg, qtox.sum, qsafe.sum, scores.ifg.zst, mask.ifg
# (tokens with mask, for ifg-train), select.log (ifg-select's summary).
# With -S, every remote machine needs the ifg programs in its PATH; shards,
# the proxy and the factors are sent there (rsync keeps their absolute paths,
# so the output folder's path must be writable there too) and the results
# brought back.
set -eu
shards=1 jobs=1 ssh='' seed=1 fitn=1000 sel='-p 0.99 -w 1' proxy='' tokens='' qtox='' qsafe='' out=''

usage() {
	cat <<EOF
usage: sharded.sh [-n shards] [-j jobs] [-S sshlogin] [-s seed] [--fit-records N]
                  [--select "options"] -m proxy -d tokens -q toxic-queries
                  -Q nontoxic-queries -o dir
  -n N              shards of the data (1)
  -j N              jobs at once per machine (1); each job is single-threaded
  -S LOGIN          GNU parallel --sshlogin (e.g. ":,host2"); default local
  -s SEED           label-sampling seed of the covariance pass; the lambda
                    pass draws with SEED + 1 (1)
  --fit-records N   records of the tokens the factors are fitted on (1000)
  --select OPTS     ifg-select options (default "-p 0.99 -w 1")
  -m DIR            proxy checkpoint
  -d FILE           training tokens
  -q FILE, -Q FILE  toxic and non-toxic query pairs (tokens with cont)
  -o DIR            output folder
EOF
}
while [ $# -gt 0 ]; do
	case $1 in
	-n) shards=$2; shift 2 ;;
	-j) jobs=$2; shift 2 ;;
	-S) ssh=$2; shift 2 ;;
	-s) seed=$2; shift 2 ;;
	--fit-records) fitn=$2; shift 2 ;;
	--select) sel=$2; shift 2 ;;
	-m) proxy=$2; shift 2 ;;
	-d) tokens=$2; shift 2 ;;
	-q) qtox=$2; shift 2 ;;
	-Q) qsafe=$2; shift 2 ;;
	-o) out=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
if [ -z "$proxy" ] || [ -z "$tokens" ] || [ -z "$qtox" ] || [ -z "$qsafe" ] || [ -z "$out" ]; then
	usage >&2
	exit 2
fi
case $shards$jobs$fitn in *[!0-9]*) usage >&2; exit 2 ;; esac
if [ "$shards" -lt 1 ] || [ "$jobs" -lt 1 ] || [ "$fitn" -lt 1 ]; then usage >&2; exit 2; fi
command -v parallel >/dev/null || { echo "sharded: GNU parallel not installed" >&2; exit 1; }
# One BLAS thread a job: the jobs are the parallelism.
export OPENBLAS_NUM_THREADS=1
mkdir -p "$out/shards"
out=$(cd "$out" && pwd)
s=$out/shards
proxy=$(cd "$proxy" && pwd)

# Where the jobs run, and what travels with them under --sshlogin.
if [ -n "$ssh" ]; then
	par() { parallel --will-cite --halt now,fail=1 -j "$jobs" --sshlogin "$ssh" \
		--basefile "$proxy" --cleanup "$@"; }
else
	par() { parallel --will-cite --halt now,fail=1 -j "$jobs" "$@"; }
fi
k_list=$(seq 0 $((shards - 1)))
# files PATTERN: the shards' file names, PATTERN with K for the shard number
# (the names have no spaces: the folder is made absolute and must not either)
files() { for k in $k_list; do echo "$s/${1%%K*}$k${1#*K}"; done; }
case $s in *[[:space:]]*) echo "sharded: $s: spaces in the path" >&2; exit 1 ;; esac

# The fit set and the shards of both streams (contiguous runs of records).
ifg-cat -q -n "$fitn" -o "$s/fit.ifg" "$tokens"
for k in $k_list; do
	ifg-cat -q -s "$k/$shards" -o "$s/fit-$k.ifg" "$s/fit.ifg"
	ifg-cat -q -s "$k/$shards" -o "$s/data-$k.ifg" "$tokens"
done

if [ -n "$ssh" ]; then tr="--transferfile {1} --return {2}"; else tr=; fi
# covariance, per shard, then merged and decomposed
# shellcheck disable=SC2046,SC2086
par $tr "ifg-factor covariance -q -j 1 -m $proxy --sample --seed $seed -o {2} {1}" \
	::: $(files fit-K.ifg) :::+ $(files cov-K.ifg)
# shellcheck disable=SC2046
ifg-factor merge -q $(files cov-K.ifg) | ifg-factor eigen -q -o "$s/eigen.ifg"
# lambda, per shard, with labels drawn afresh (seed + 1), as Kronfluence's
# second pass draws its own, then merged
if [ -n "$ssh" ]; then tr="--basefile $s/eigen.ifg --transferfile {1} --return {2}"; fi
# shellcheck disable=SC2046,SC2086
par $tr "ifg-factor lambda -q -j 1 -m $proxy --sample --seed $((seed + 1)) -e $s/eigen.ifg -o {2} {1}" \
	::: $(files fit-K.ifg) :::+ $(files lam-K.ifg)
# shellcheck disable=SC2046
ifg-factor merge -q -o "$out/factors.ifg" $(files lam-K.ifg)

# the mean query gradients (small: one job each, here)
ifg-grad -q -j 1 -m "$proxy" --sum -o "$out/qtox.sum" "$qtox"
ifg-grad -q -j 1 -m "$proxy" --sum -o "$out/qsafe.sum" "$qsafe"

# token-wise differential scores, per shard, concatenated in record order
if [ -n "$ssh" ]; then
	tr="--basefile $out/factors.ifg --basefile $out/qtox.sum --basefile $out/qsafe.sum --transferfile {1} --return {2}"
fi
# shellcheck disable=SC2046,SC2086
par $tr "ifg-influence --quiet -j 1 -m $proxy -f $out/factors.ifg -q $out/qtox.sum -n $out/qsafe.sum -o {2} {1}" \
	::: $(files data-K.ifg) :::+ $(files scores-K.ifg.zst)
# shellcheck disable=SC2046
ifg-cat -q -k scores -o "$out/scores.ifg.zst" $(files scores-K.ifg.zst)

# Algorithm 1 over all scores
# shellcheck disable=SC2086
ifg-select $sel -o "$out/mask.ifg" "$out/scores.ifg.zst" 2>"$out/select.log"
cat "$out/select.log" >&2
rm -rf "$s"
