#!/bin/sh
# demo.sh: the detoxification experiment of IF-Guide at toy scale, end to end.
#
#   sh pipelines/demo.sh [--full] [-j N] [--only stages] [-o dir]   (make demo, make demo-full)
#
# The paper's experiment at this machine's scale.  A proxy and a larger target
# GPT-2 are pre-trained from scratch on clean English text in which toxic
# documents are a minority (8% of the characters, 2% in the full run;
# pipelines/prepare_data.py).
# With the proxy: EK-FAC factors, differential token-wise influence of every
# training token (ParaDetox toxic minus non-toxic sentences of the same
# content as queries), and Algorithm 1's mask (pipelines/sharded.sh, the data
# in N shards under GNU parallel).  The target is then trained, with the same
# seed and the same number of steps (tokens),
#   uncensored   plain language-model training;
#   words        word filtering: the naughty-words en list (the list C4 was
#                filtered with) masks every token of a listed word, and the
#                masked tokens get loss weight 0 (ifg-train -l 0): the token
#                level form of the filter, as ifg-select -m words gives it;
#   docfilter    standard influence filtering: the documents of highest total
#                influence dropped within the same budget (ifg-select -m
#                drop-docs), the paper's negative result;
#   ifg-drop     the IF-Guide mask with its tokens dropped (weight 0, -l 0)
#                instead of penalised, the "filter with the mask" baseline;
#   ifguide      IF-Guide: the mask with the penalty objective, lambda = 1;
#   ifguide-ft   IF-Guide as fine-tuning of the uncensored model (--init);
#   dpo          DPO fine-tuning of the uncensored model on ParaDetox pairs,
#                one pass over them (ifg-train --dpo);
# and two rows that decode rather than train: rad, reward-augmented decoding
# of the uncensored model (ifg-sample --rad-model, a reward classifier
# trained on other data than the judge), and ifguide-rad, RAD on IF-Guide;
# each is evaluated as the paper: 25 samples of 20 new tokens
# (top-p 0.9) for each toxic (RealToxicityPrompts) and non-toxic (held-out
# clean and ParaDetox paraphrase beginnings) prompt, scored by a judge trained
# on other data (ifg-toxicity learn; its held-out accuracy in judge.jsonl) and
# by the cuss lexicon; EMT and TP (ifg-eval toxicity); perplexity and
# last-token accuracy of held-out clean text (ifg-eval perplexity).
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
full=0 jobs=2 res= only= toxfrac_opt=
p_arch=gpt2 t_arch=gpt2

usage() {
	cat <<EOF
usage: demo.sh [--full] [-j N] [--only stages] [-o dir] [--proxy-arch A] [--target-arch A]
               [--toxic-frac F]
  --full         the larger experiment (about 2 hours on 2 cores; default: about 9 minutes)
  --proxy-arch A, --target-arch A
                 the proxy's and the target models' family: gpt2 (default),
                 gpt_neox (Pythia's layout) or llama
  --toxic-frac F the toxic documents' share of the training characters
                 (default 0.08; with --full 0.02)
  -j N           jobs at once (2); every job is single-threaded
  --only LIST    run only these stages (comma-separated names, as the log shows
                 them), the others being done or done elsewhere
  -o DIR         results folder (default results/demo, or results/full)
EOF
}
while [ $# -gt 0 ]; do
	case $1 in
	--full) full=1; shift ;;
	-j) jobs=$2; shift 2 ;;
	-j*) jobs=${1#-j}; shift ;;
	--only) only=$2; shift 2 ;;
	-o) res=$2; shift 2 ;;
	--proxy-arch) p_arch=$2; shift 2 ;;
	--toxic-frac) toxfrac_opt=$2; shift 2 ;;
	--target-arch) t_arch=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
case $jobs in ''|*[!0-9]*|0) usage >&2; exit 2 ;; esac

# ---- Settings, and why.
# Data (pipelines/prepare_data.py): clean English text is the bulk and toxic
# documents (Davidson and TweetEval tweets, ParaDetox's toxic sentences) are
# 8% of the training characters (2% in the full run), as toxic text is a
# minority of web text.
# The queries are ParaDetox pairs (the same sentence said toxically and not),
# the toxic evaluation prompts are RealToxicityPrompts' challenging ones.
# Models: the proxy is 2 layers x 64, the target 4 x 128 (4.6x the
# parameters); a 4096-token BPE learned on the training corpus; blocks of 128
# tokens.  Every pre-trained model sees one epoch of the corpus (the same
# seed, batch and steps); the IF-Guide fine-tuning adds a quarter of those
# tokens to the uncensored model, DPO one pass over its preference pairs.
# Selection: the authors' settings, p = 0.99, a window of 1, a budget of 2%
# of the tokens; factors are fitted on a random sample of the records
# (fitn).  Evaluation: NTOX toxic and NSAFE non-toxic prompts, 25 samples of
# 20 new tokens at top-p 0.9, as the paper.
seed=1004
vocab=4096 block=128
p_layers=2 p_heads=2 p_embd=64
t_layers=4 t_heads=4 t_embd=128
batch=16 lr=1e-3 epochs=1 ft_frac=0.25 ft_lr=3e-4 dpo_lr=1e-5
clean=1500000 toxfrac=0.08 ntox=100 nsafe=100 fitn=1000
select="-p 0.99 -w 1 -f 0.02"
if [ $full -eq 1 ]; then
	# 24 MB of clean text (about 5.9M tokens) so that the models learn
	# to write sentences, with toxic documents as 2% of the characters:
	# at this size that is about as many toxic tokens as 8% of a 1.2M-token
	# corpus (what a 4 x 192 model needs to learn the register at all), and
	# close to the authors' 2% token budget, as on web text, where the
	# budget meets about as much toxicity as there is (at 8% it could
	# reach only a fifth of it).  Target 4 x 192 (2.6M parameters with the
	# embedding; at this compute a smaller model on more tokens beats a
	# larger one on fewer), proxy 2 x 96 (0.6M, 4.2x fewer), all 432 RTP
	# prompts and 216 non-toxic ones, factors on 2000 records.
	p_layers=2 p_heads=2 p_embd=96
	t_layers=4 t_heads=4 t_embd=192
	clean=24000000 toxfrac=0.02 ntox=432 nsafe=216 fitn=2000
fi
[ -n "$toxfrac_opt" ] && toxfrac=$toxfrac_opt
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
	case ",$only," in ,,|*",$name,"*) ;; *) return 0 ;; esac
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

log "demo: $([ $full -eq 1 ] && echo full || echo default) settings, proxy $p_arch, target $t_arch, $jobs jobs, results in $res"
# The data, checked against pipelines/data.sha256 (quick when in place).
# Exit 3: a registry could not be reached; what is missing stops the data
# stage with its name (Debian's texts are optional to it).
IFG_DATA=$data sh "$top/pipelines/fetch-data.sh" || [ $? -eq 3 ]

# ---- Data
shared=${IFG_SHARED:-$top/../shared}
prepare() {
	python3 "$top/pipelines/prepare_data.py" --data "$data" --shared "$shared" -s $seed \
		--clean-chars $clean --toxic-frac $toxfrac --nontoxic-prompts $nsafe -o "$w/data"
	# The first NTOX toxic and NSAFE non-toxic prompts.
	awk -v a=$ntox -v b=$nsafe '/"label": "toxic"/ { if (i++ < a) print; next }
		/"label": "nontoxic"/ { if (j++ < b) print }' "$w/data/eval-prompts.jsonl" \
		>"$w/prompts.jsonl"
}
stage data "$w/data.ok" prepare

tokenize() {
	ifg-tokenize --learn $vocab -o "$w/tok" "$w/data/train.jsonl"
	ifg-tokenize -t "$w/tok" --block $block --eot -o "$w/train.ifg" "$w/data/train.jsonl"
	ifg-tokenize -t "$w/tok" --block $block --eot --keep-tail -o "$w/valid-clean.ifg" \
		"$w/data/valid-clean.jsonl"
	# The toxic documents alone, to count their share of the tokens, and
	# every document alone, to tell where the selections fall.
	ifg-tokenize -t "$w/tok" --eot -o "$w/train-toxic.ifg" "$w/data/train-toxic.jsonl"
	ifg-tokenize -t "$w/tok" --eot --id id -o "$w/train-docs.ifg" "$w/data/train.jsonl"
	# Query pairs: an end-of-text prompt, the sentence as continuation.
	for q in qtox qsafe; do
		ifg-tokenize -t "$w/tok" --special --text prompt --cont continuation --id id \
			-o "$w/$q.ifg" "$w/data/$q.jsonl"
	done
}
stage tokenize "$w/tokenize.ok" tokenize
records=$(ifg-show -H "$w/train.ifg" | wc -l)
steps=$(awk -v e=$epochs -v r="$records" -v b=$batch 'BEGIN { s = e * r / b; print (s == int(s)) ? s : int(s) + 1 }')
ft_steps=$(awk -v s="$steps" -v f=$ft_frac 'BEGIN { print int(s * f) }')
log "data: $records records of $block tokens; $steps steps of $batch records a model"

# ---- Training.  Every pre-trained model: the seed, batch and number of
# steps (so the number of tokens) are the same; only the data's mask and its
# weight differ.
train() {	# NAME
	n=$1
	case $1 in
	proxy) set -- --arch $p_arch --layers $p_layers --heads $p_heads --embd $p_embd "$w/train.ifg" ;;
	uncensored) set -- --arch $t_arch --layers $t_layers --heads $t_heads --embd $t_embd "$w/train.ifg" ;;
	words) set -- --arch $t_arch --layers $t_layers --heads $t_heads --embd $t_embd -l 0 "$w/words-mask.ifg" ;;
	docfilter) set -- --arch $t_arch --layers $t_layers --heads $t_heads --embd $t_embd "$w/docs-kept.ifg" ;;
	ifg-drop) set -- --arch $t_arch --layers $t_layers --heads $t_heads --embd $t_embd -l 0 "$w/influence/mask.ifg" ;;
	ifguide) set -- --arch $t_arch --layers $t_layers --heads $t_heads --embd $t_embd -l 1 "$w/influence/mask.ifg" ;;
	ifguide-ft) # fine-tuning: a quarter of the steps, a lower peak rate
		ifg-train -o "$w/ifguide-ft" --init "$w/uncensored" -s $seed -b $batch -n $ft_steps \
			--lr $ft_lr --warmup-ratio 0.05 -j 1 --valid "$w/valid-clean.ifg" -l 1 \
			--log "$w/logs/ifguide-ft.train.jsonl" "$w/influence/mask.ifg"
		return ;;
	esac
	ifg-train -o "$w/$n" -s $seed -b $batch -n $steps --lr $lr --warmup-ratio 0.05 -j 1 \
		--ctx $block --valid "$w/valid-clean.ifg" --log "$w/logs/$n.train.jsonl" "$@"
}

# The judge: ifg-toxicity's classifier trained on Davidson and TweetEval
# tweets, ParaDetox rows and clean sentences that are none of the
# experiment's queries, prompts or training documents; its accuracy and AUC
# on the held-out test split of each source go to judge.json.
judge() {
	ifg-toxicity learn -s $seed --text text --label label --positive 1 \
		-o "$w/judge.model" "$w/data/judge-train.jsonl"
}
judge_test() {
	for t in "$w"/data/judge-test-*.jsonl; do
		ifg-toxicity test --json -m "$w/judge.model" --text text --label label --positive 1 "$t"
	done >"$w/judge.jsonl"
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
# Standard influence filtering, the paper's negative result: the documents
# (records) of highest total influence dropped within the same budget.
docs_mask() {
	# shellcheck disable=SC2086
	ifg-select -m drop-docs $(echo "$select" | sed 's/-p [^ ]* //; s/-w [^ ]* //') \
		-o "$w/docs-kept.ifg" "$w/influence/scores.ifg.zst"
}

# Evaluation of one model: samples, their toxicity, EMT and TP per prompt
# label, perplexity and last-token accuracy of held-out clean text.
# Sampling seed 42 as the reference's evaluation.
evaluate() {	# NAME [MODEL [ifg-sample options...]]
	e=$w/eval/$1 m=$w/${2:-$1}
	[ $# -ge 2 ] && shift
	shift
	mkdir -p "$e"
	ifg-sample -m "$m" -t "$w/tok" -k 25 -n 20 -p 0.9 -s 42 -b 25 --id id -c label -c src \
		-j 1 "$@" -o "$e/samples.jsonl" "$w/prompts.jsonl"
	ifg-toxicity score -m "$w/judge.model" -l "$data/cuss" -o "$e/scored.jsonl" \
		"$e/samples.jsonl"
	ifg-eval toxicity --json --split label -o "$e/tox.json" "$e/scored.jsonl"
	ifg-eval toxicity --json --split label --key toxicity_lexicon -o "$e/toxlex.json" \
		"$e/scored.jsonl"
	ifg-eval perplexity --json -m "$m" -j 1 -o "$e/ppl-clean.json" "$w/valid-clean.ifg"
}

# The judge's floor: held-out human text (the perplexity text and the
# judge's clean test split) cut into samples' lengths, 25 to a group, scored
# and summarised as a model's samples are.
reference() {
	e=$w/eval/reference
	mkdir -p "$e"
	python3 "$top/pipelines/reference_pieces.py" -s $seed "$w/data/valid-clean.jsonl" \
		"$w/data/judge-test-clean.jsonl" >"$e/samples.jsonl.tmp"
	mv "$e/samples.jsonl.tmp" "$e/samples.jsonl"
	ifg-toxicity score -m "$w/judge.model" -l "$data/cuss" -o "$e/scored.jsonl" \
		"$e/samples.jsonl"
	ifg-eval toxicity --json -o "$e/tox.json" "$e/scored.jsonl"
	ifg-eval toxicity --json --key toxicity_lexicon -o "$e/toxlex.json" "$e/scored.jsonl"
}

# DPO: fine-tuning of the uncensored model on ParaDetox preference pairs
# (paraphrase chosen, toxic sentence rejected), one pass over the pairs at a
# peak rate of 1e-5, as DPO is usually run.  (On the IF-Guide fine-tuning's
# token budget, 13 passes over the 4000 short pairs, the policy collapsed
# to "ededed..." at 3.6x the perplexity; at 1e-4 both continuations'
# log-probabilities fell by about a hundred nats.)
dpo() {
	ifg-tokenize -t "$w/tok" --special --text prompt --chosen chosen --rejected rejected \
		--id id -o "$w/prefs.ifg" "$w/data/prefs.jsonl"
	ifg-train --dpo -o "$w/dpo" --init "$w/uncensored" --beta 0.1 -s $seed -b $batch \
		-e 1 --lr $dpo_lr --warmup-ratio 0.05 -j 1 \
		--log "$w/logs/dpo.train.jsonl" "$w/prefs.ifg"
}

# RAD's reward: the same kind of classifier as the judge, trained on other
# data (the labelled tweets and ParaDetox rows of the corpus's share), so that
# decoding is not steered by the very model that grades it.
reward() {
	ifg-toxicity learn -s $seed --text text --label label --positive 1 \
		-o "$w/reward.model" "$w/data/reward-train.jsonl"
}

methods="uncensored words docfilter ifg-drop ifguide ifguide-ft dpo rad ifguide-rad"
together "proxy $w/proxy.ok train proxy" "judge $w/judge.ok judge"
together "influence $w/influence.ok influence" "words-mask $w/words-mask.ok words_mask"
together "docs-mask $w/docs-mask.ok docs_mask" "judge-test $w/judge-test.ok judge_test"
together "train-uncensored $w/uncensored.ok train uncensored" \
	"train-ifguide $w/ifguide.ok train ifguide"
together "train-words $w/words.ok train words" \
	"train-docfilter $w/docfilter.ok train docfilter"
together "train-ifg-drop $w/ifg-drop.ok train ifg-drop" \
	"train-ifguide-ft $w/ifguide-ft.ok train ifguide-ft"
together "eval-uncensored $w/eval-uncensored.ok evaluate uncensored" \
	"eval-ifguide $w/eval-ifguide.ok evaluate ifguide" \
	"eval-words $w/eval-words.ok evaluate words" \
	"eval-docfilter $w/eval-docfilter.ok evaluate docfilter" \
	"eval-ifg-drop $w/eval-ifg-drop.ok evaluate ifg-drop" \
	"eval-ifguide-ft $w/eval-ifguide-ft.ok evaluate ifguide-ft"
# The paper's baselines: DPO fine-tuning, RAD decoding, and IF-Guide + RAD.
together "train-dpo $w/dpo.ok dpo" "reward $w/reward.ok reward"
together "eval-dpo $w/eval-dpo.ok evaluate dpo" \
	"eval-rad $w/eval-rad.ok evaluate rad uncensored --rad-model $w/reward.model" \
	"eval-ifguide-rad $w/eval-ifguide-rad.ok evaluate ifguide-rad ifguide --rad-model $w/reward.model" \
	"eval-reference $w/eval-reference.ok reference"

# ---- Results: summary.json, table.md, samples.md, plot.png
stage summary "$w/summary.ok" python3 "$top/pipelines/demo_report.py" "$w" "$res" $methods
cat "$res/table.md"
log "demo: done; $res/table.md, $res/plot.png, $res/summary.json"
