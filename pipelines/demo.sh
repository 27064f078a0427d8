#!/bin/sh
# demo.sh: the detoxification experiment of IF-Guide at toy scale, end to end.
#
#   sh pipelines/demo.sh [--full] [-j N] [-o dir]      (make demo, make demo-full)
#
# A proxy and a larger target GPT-2 are trained from scratch on clean English
# text mixed with most of the Davidson tweets (pipelines/prepare-data.sh).
# With the proxy: EK-FAC factors, differential token-wise influence of every
# training token (toxic minus non-toxic query tweets), and Algorithm 1's mask
# (pipelines/sharded.sh, the data in N shards under GNU parallel).  The target
# is then trained, with the same seed and the same number of steps (tokens),
#   uncensored   plain language-model training;
#   words        word filtering: the naughty-words en list (the list C4 was
#                filtered with) masks every token of a listed word, and the
#                masked tokens get loss weight 0 (ifg-train -l 0): the token
#                level form of the filter, as ifg-select -m words gives it;
#   ifg-drop     the IF-Guide mask with its tokens dropped (weight 0, -l 0)
#                instead of penalised, the "filter with the mask" baseline;
#   ifguide      IF-Guide: the mask with the penalty objective, lambda = 1;
#   ifguide-ft   IF-Guide as fine-tuning of the uncensored model (--init);
# and each model is evaluated: 25 samples of 20 new tokens (top-p 0.9) for
# each toxic and non-toxic evaluation prompt, scored by a classifier trained
# here on Davidson tweets (ifg-toxicity learn) and by the cuss lexicon; EMT
# and TP (ifg-eval toxicity); perplexity on held-out clean text and on
# held-out non-toxic tweets (ifg-eval perplexity).
#
# Results in dir (default results/demo, or results/full): table.md, plot.png,
# summary.json, times.txt; work files under dir/work.  Every stage is skipped
# when its output exists, so a rerun resumes; delete dir to start over.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
# The programs of this tree (make demo builds them into bin/; IFG_BIN
# names another build).
PATH=${IFG_BIN:-$top/bin}:$PATH
export PATH
data=${IFG_DATA:-$top/data}
full=0 jobs=2 res=

usage() {
	cat <<EOF
usage: demo.sh [--full] [-j N] [-o dir]
  --full   the larger experiment (under 2 hours on 2 cores; default: 7 to 15 minutes)
  -j N     jobs at once (2); every job is single-threaded
  -o DIR   results folder (default results/demo, or results/full)
EOF
}
while [ $# -gt 0 ]; do
	case $1 in
	--full) full=1; shift ;;
	-j) jobs=$2; shift 2 ;;
	-j*) jobs=${1#-j}; shift ;;
	-o) res=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
case $jobs in ''|*[!0-9]*|0) usage >&2; exit 2 ;; esac

# ---- Settings, and why.
# Models: the target is 4 layers x 128 (1.07M parameters with the 2048 x 128
# embedding), the proxy 2 x 64 (0.24M, 4.5x fewer; the paper's proxy has
# 7.5x fewer).  A 2048-token BPE learned on the training corpus keeps the
# embeddings from dominating such small models.  Blocks of 128 tokens hold
# every query tweet (the longest, with emoji, take about 80 tokens).
# Data: 1.5 MB of clean text plus all the tweets that are not held out
# (21,783: "most of the tweets"), 1.0M tokens of which about half are
# tweets.  Every model trains for one epoch of it (488 steps of 16 x 128
# tokens): about 2 CPU minutes for a target, 1 for the proxy.  The fine-tuning
# adds a quarter of that to the uncensored model (so it has seen 25% more
# tokens than the others: its perplexity is not comparable one to one).
# Selection: tweets are half of the tokens and 83% of them are offensive or
# hateful, so toxic text is a far larger share here than in OpenWebText,
# for which Algorithm 1's defaults (p = 0.99, 2% budget) were set.  With
# those defaults the mask took 2.7% of the tokens, much of it runs of emoji,
# and changed EMT little (0.994 against 0.999 uncensored).  p = 0.95 (5% of
# the tokens above the threshold, among them most occurrences of the
# frequent slurs and profanities) with a window of 1 and a budget of 8% of
# the tokens, which binds, is what this corpus calls for.  Factors are
# fitted on 1000 records (128k tokens, a random sample as the corpus is
# shuffled); scores cover every token.
# Evaluation: 100 toxic + 100 non-toxic prompts, 25 samples each.
seed=1004
vocab=2048 block=128
p_layers=2 p_heads=2 p_embd=64
t_layers=4 t_heads=4 t_embd=128
batch=16 lr=1e-3 epochs=1 ft_frac=0.25 ft_lr=3e-4
clean=1500000 neval=100 fitn=1000
select="-p 0.95 -w 1 -f 0.08"
if [ $full -eq 1 ]; then
	# 4 MB of clean text (about 1.6M tokens with the tweets' 0.5M), a
	# 4096-token vocabulary, target 4 x 256 (3.4M + 1M embedding), proxy
	# 2 x 128, two epochs, 250 + 250 prompts, factors on 4000 records.
	vocab=4096
	p_layers=2 p_heads=2 p_embd=128
	t_layers=4 t_heads=4 t_embd=256
	lr=6e-4 epochs=2 ft_lr=2e-4
	clean=4000000 neval=250 fitn=4000
	# Tweets are 29% of this corpus, not half: half the budget of the
	# default (8% cost 24% clean perplexity here).
	select="-p 0.95 -w 1 -f 0.04"
fi
res=${res:-$top/results/$([ $full -eq 1 ] && echo full || echo demo)}
mkdir -p "$res/work/logs"
res=$(cd "$res" && pwd)
w=$res/work
# One BLAS thread per program; the parallelism is in running jobs side by side.
export OPENBLAS_NUM_THREADS=1

now() { date +%s.%N; }
T0=$(now)
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# cpu FILE [BEFORE]: the CPU seconds (user + system) of finished child
# processes in the output of the shell's times, less BEFORE.
cpu() {
	awk -v b="${2:-0}" 'NR == 2 { split($1, u, "m"); split($2, s, "m")
		printf "%.1f", u[1] * 60 + u[2] + s[1] * 60 + s[2] - b }' "$1"
}
log() { printf '%s [%6ss] %s\n' "$(date -u +%H:%M:%S)" "$(since "$T0")" "$*" >&2; }
: >>"$res/times.txt"

# stage NAME STAMP-FILE COMMAND...: run COMMAND unless STAMP-FILE exists;
# its stderr goes to work/logs/NAME.log; the time goes to times.txt.
stage() {
	name=$1 stamp=$2
	shift 2
	if [ -e "$stamp" ]; then
		log "$name: done before"
		return 0
	fi
	log "$name: start"
	t=$(now)
	times >"$w/logs/$name.cpu"
	c=$(cpu "$w/logs/$name.cpu")
	# A subshell in the background and wait, not "if ! cmd": a condition would
	# switch off set -e inside the stage's function.
	("$@") 2>"$w/logs/$name.log" &
	if ! wait $!; then
		log "$name: FAILED; last lines of $w/logs/$name.log:"
		tail -n 20 "$w/logs/$name.log" >&2
		return 1
	fi
	dt=$(since "$t")
	times >"$w/logs/$name.cpu"
	c=$(cpu "$w/logs/$name.cpu" "$c")
	touch "$stamp"
	echo "$name wall ${dt}s cpu ${c}s" >>"$res/times.txt"
	last=$(tail -n 1 "$w/logs/$name.log" | cut -c1-150)
	log "$name: ${dt}s, cpu ${c}s${last:+ ($last)}"
}

# together "NAME STAMP FUNCTION [ARG]"...: the stages, at most $jobs at once
# (in batches); fails when any of them fails.  No word may contain spaces.
together() {
	pids='' rc=0 n=0
	for spec in "$@"; do
		# shellcheck disable=SC2086
		stage $spec &
		pids="$pids $!"
		n=$((n + 1))
		if [ $n -ge "$jobs" ]; then
			for p in $pids; do wait "$p" || rc=1; done
			pids='' n=0
		fi
	done
	for p in $pids; do wait "$p" || rc=1; done
	return $rc
}

log "demo: $([ $full -eq 1 ] && echo full || echo default) settings, $jobs jobs, results in $res"
# The data, checked against pipelines/data.sha256 (quick when in place).
IFG_DATA=$data sh "$top/pipelines/fetch-data.sh"

# ---- Data
prepare() {
	sh "$top/pipelines/prepare-data.sh" -s $seed --clean-chars $clean --eval 250 -o "$w/data"
	head -n $((2 * neval)) "$w/data/eval-prompts.jsonl" >"$w/prompts.jsonl"
}
stage data "$w/data.ok" prepare

tokenize() {
	ifg-tokenize --learn $vocab -o "$w/tok" "$w/data/train.jsonl"
	ifg-tokenize -t "$w/tok" --block $block --eot -o "$w/train.ifg" "$w/data/train.jsonl"
	ifg-tokenize -t "$w/tok" --block $block --eot --keep-tail -o "$w/valid-clean.ifg" \
		"$w/data/valid-clean.jsonl"
	ifg-tokenize -t "$w/tok" --block $block --eot --keep-tail -o "$w/ppl-tweets.ifg" \
		"$w/data/ppl-tweets.jsonl"
	for q in qtox qsafe; do
		ifg-tokenize -t "$w/tok" --text prompt --cont continuation --id id \
			-o "$w/$q.ifg" "$w/data/$q.jsonl"
	done
}
stage tokenize "$w/tokenize.ok" tokenize
records=$(ifg-show -H "$w/train.ifg" | wc -l)
steps=$(awk -v e=$epochs -v r="$records" -v b=$batch 'BEGIN { s = e * r / b; print (s == int(s)) ? s : int(s) + 1 }')
ft_steps=$(awk -v s="$steps" -v f=$ft_frac 'BEGIN { print int(s * f) }')
log "data: $records records of $block tokens; $steps steps of $batch records a model"

# ---- Training.  Every model: the seed, batch and number of steps (so the
# number of tokens) are the same; only the data's mask and its weight differ.
train() {	# NAME
	n=$1
	case $1 in
	proxy) set -- --layers $p_layers --heads $p_heads --embd $p_embd "$w/train.ifg" ;;
	uncensored) set -- --layers $t_layers --heads $t_heads --embd $t_embd "$w/train.ifg" ;;
	words) set -- --layers $t_layers --heads $t_heads --embd $t_embd -l 0 "$w/words-mask.ifg" ;;
	ifg-drop) set -- --layers $t_layers --heads $t_heads --embd $t_embd -l 0 "$w/influence/mask.ifg" ;;
	ifguide) set -- --layers $t_layers --heads $t_heads --embd $t_embd -l 1 "$w/influence/mask.ifg" ;;
	ifguide-ft) # fine-tuning: a quarter of the steps, a lower peak rate
		ifg-train -o "$w/ifguide-ft" --init "$w/uncensored" -s $seed -b $batch -n $ft_steps \
			--lr $ft_lr --warmup-ratio 0.05 -j 1 --valid "$w/valid-clean.ifg" -l 1 \
			"$w/influence/mask.ifg"
		return ;;
	esac
	ifg-train -o "$w/$n" -s $seed -b $batch -n $steps --lr $lr --warmup-ratio 0.05 -j 1 \
		--ctx $block --valid "$w/valid-clean.ifg" "$@"
}

# The classifier of the evaluation learns from the training tweets and the
# query tweets (classifier.csv), never from the evaluation prompts or the
# perplexity tweets; ifg-toxicity holds out 20% of them and reports its
# accuracy and AUC in logs/classifier.log.
classifier() {
	ifg-toxicity learn -s $seed -o "$w/classifier.model" "$w/data/classifier.csv"
}

# Factors, scores and Algorithm 1's mask, the data in $jobs shards.
influence() {
	sh "$top/pipelines/sharded.sh" -n $jobs -j $jobs -s $seed --fit-records $fitn \
		-m "$w/proxy" -d "$w/train.ifg" -q "$w/qtox.ifg" -Q "$w/qsafe.ifg" \
		--select "$select" -o "$w/influence"
}
words_mask() {
	ifg-select -m words -l "$w/data/lexicon-filter.txt" -t "$w/tok" -o "$w/words-mask.ifg" \
		"$w/train.ifg"
}

# Evaluation of one model: samples, their toxicity, EMT and TP per prompt
# label, perplexities.  Sampling seed 42 as the reference's evaluation.
evaluate() {	# NAME
	m=$w/$1 e=$w/eval/$1
	mkdir -p "$e"
	ifg-sample -m "$m" -t "$w/tok" -k 25 -n 20 -p 0.9 -s 42 -b 25 --id id -c label -j 1 \
		-o "$e/samples.jsonl" "$w/prompts.jsonl"
	ifg-toxicity score -m "$w/classifier.model" -l "$data/cuss" -o "$e/scored.jsonl" \
		"$e/samples.jsonl"
	ifg-eval toxicity --json --split label -o "$e/tox.json" "$e/scored.jsonl"
	ifg-eval toxicity --json --split label --key toxicity_lexicon -o "$e/toxlex.json" \
		"$e/scored.jsonl"
	ifg-eval perplexity --json -m "$m" -j 1 -o "$e/ppl-clean.json" "$w/valid-clean.ifg"
	ifg-eval perplexity --json -m "$m" -j 1 -o "$e/ppl-tweets.json" "$w/ppl-tweets.ifg"
}

methods="uncensored words ifg-drop ifguide ifguide-ft"
together "proxy $w/proxy.ok train proxy" "classifier $w/classifier.ok classifier"
together "influence $w/influence.ok influence" "words-mask $w/words-mask.ok words_mask"
together "train-uncensored $w/uncensored.ok train uncensored" \
	"train-words $w/words.ok train words" \
	"train-ifg-drop $w/ifg-drop.ok train ifg-drop" \
	"train-ifguide $w/ifguide.ok train ifguide"
together "train-ifguide-ft $w/ifguide-ft.ok train ifguide-ft" \
	"eval-uncensored $w/eval-uncensored.ok evaluate uncensored"
together "eval-words $w/eval-words.ok evaluate words" \
	"eval-ifg-drop $w/eval-ifg-drop.ok evaluate ifg-drop" \
	"eval-ifguide $w/eval-ifguide.ok evaluate ifguide" \
	"eval-ifguide-ft $w/eval-ifguide-ft.ok evaluate ifguide-ft"

# ---- Results: summary.json, table.md, plot.png
stage summary "$w/summary.ok" sh "$top/pipelines/demo-report.sh" "$w" "$res" $methods
cat "$res/table.md"
log "demo: done; $res/table.md, $res/plot.png, $res/summary.json"
