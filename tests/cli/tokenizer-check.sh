# A checkpoint records its tokenizer; ifg-train --init, ifg-sample -t,
# ifg-grad and ifg-eval perplexity refuse tokens (or a tokenizer) of another
# one, naming both (issue 15, item 3), and run with --any-tokenizer.  The
# same tokenizer, and a checkpoint that records none, pass unchecked.
d=$IFG_DATA/moby-dick/data
[ -f "$d/chapter_2.txt" ] || { echo "no $d (sh pipelines/fetch-data.sh)" >&2; exit 77; }
grep . "$d/chapter_1.txt" >d1.txt
grep . "$d/chapter_2.txt" >d2.txt
ifg-tokenize -q --learn 300 -f lines -o tok d1.txt || exit 1
ifg-tokenize -q --learn 280 -f lines -o tok2 d2.txt || exit 1
ifg-tokenize -q -t tok -f lines -b 16 d1.txt >one.ifg || exit 1
ifg-tokenize -q -t tok2 -f lines -b 16 d2.txt >two.ifg || exit 1
ifg-train -q -o model --layers 1 --heads 1 --embd 8 -n 1 one.ifg || exit 1
printf '{"prompt": "Call me"}\n' >p.jsonl
run() { # NAME command...: the exit status, and the message's gist
	name=$1; shift
	"$@" >out 2>err; rc=$?
	echo "$name: exit $rc"
	sed 's/sha256 [0-9a-f]\{12\}/sha256 X/g' err
}
run "train --init" ifg-train -q -o m2 --init model -n 1 two.ifg
run "train --init --any-tokenizer" ifg-train -q -o m2 --init model -n 1 --any-tokenizer two.ifg
run "train --init, same" ifg-train -q -o m3 --init model -n 1 one.ifg
run "sample -t" ifg-sample -q -m model -t tok2 -n 2 p.jsonl
run "sample -t --any-tokenizer" ifg-sample -q -m model -t tok2 -n 2 --any-tokenizer p.jsonl
run "sample -t, same" ifg-sample -q -m model -t tok -n 2 p.jsonl
run "grad" ifg-grad -q -m model -o g.ifg one.ifg two.ifg
test -e g.ifg && echo "grad left g.ifg"
run "grad --any-tokenizer" ifg-grad -q -m model --any-tokenizer -o g.ifg two.ifg
run "grad, same" ifg-grad -q -m model --sum one.ifg
run "perplexity" ifg-eval perplexity -q -m model two.ifg
run "perplexity --any-tokenizer" ifg-eval perplexity -q -m model --any-tokenizer two.ifg
run "perplexity, same" ifg-eval perplexity -q -m model one.ifg
# a checkpoint that records no tokenizer (tokens without one): not checked
ifg-show -a one.ifg | sed '1s/"tokenizer":{[^}]*},//' | ifg-pack >bare.ifg || exit 1
ifg-train -q -o bare --layers 1 --heads 1 --embd 8 --vocab 300 -n 1 bare.ifg || exit 1
run "grad, bare checkpoint" ifg-grad -q -m bare --sum two.ifg
run "perplexity, bare checkpoint" ifg-eval perplexity -q -m bare two.ifg
exit 0
