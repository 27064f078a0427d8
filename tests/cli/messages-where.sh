# Messages that say what failed and where (issue 15, item 9): read errors
# name the input and line, --show names the record, a record too long for
# the model is named by file and number, a failed copy of standard input
# says why, and a full disk under ifg-show says so.
d=$IFG_DATA/moby-dick/data
[ -f "$d/chapter_1.txt" ] || { echo "no $d (sh pipelines/fetch-data.sh)" >&2; exit 77; }
grep . "$d/chapter_1.txt" >d.txt
ifg-tokenize -q --learn 300 -f lines -o tok d.txt || exit 1
ifg-tokenize -q -t tok -f lines -b 16 d.txt >train.ifg || exit 1
ifg-train -q -o model --layers 1 --heads 1 --embd 8 -n 1 train.ifg || exit 1
# zstd cut short: every text reader names the file and line
printf '{"prompt": "Call me"}\n{"prompt": "Ishmael"}\n' | zstd -q -c | head -c 30 >cut.jsonl.zst
printf 'tweet,class\nhello there,0\nyou idiot,1\n' | zstd -q -c | head -c 30 >cut.csv.zst
ifg-tokenize -q -t tok --text prompt cut.jsonl.zst >/dev/null; echo "tokenize: exit $?"
ifg-sample -q -m model -t tok -n 2 cut.jsonl.zst >/dev/null; echo "sample: exit $?"
ifg-toxicity learn -q -o clf cut.csv.zst; echo "toxicity learn: exit $?"
# --show: the record whose token is not in the tokenizer, or whose mask is bad
ifg-show -a train.ifg | head -n 1 >bad.jsonl
printf '%s\n' '{"id":"a","tokens":{"dtype":"u16","shape":[2],"data":[5,6]}}' \
	'{"id":"b","tokens":{"dtype":"u16","shape":[3],"data":[7,60000,8]}}' >>bad.jsonl
ifg-pack -o bad.ifg bad.jsonl || exit 1
ifg-select --show -t tok --color never -n 2 bad.ifg >/dev/null; echo "show: exit $?"
ifg-show -a train.ifg | head -n 1 >mask.jsonl
printf '%s\n' '{"id":"m","tokens":{"dtype":"u16","shape":[2],"data":[5,6]},"mask":{"dtype":"u8","shape":[2],"data":[1,2]}}' >>mask.jsonl
ifg-pack -o mask.ifg mask.jsonl || exit 1
ifg-select --show -t tok --color never mask.ifg >/dev/null; echo "show, mask 2: exit $?"
# records longer than the model's context, by file and number
ifg-tokenize -q -t tok -f lines -b 32 d.txt >long.ifg || exit 1
ifg-train -q -o m2 --init model train.ifg long.ifg; echo "train: exit $?"
ifg-train -q -o m2 --init model --valid long.ifg train.ifg; echo "train --valid: exit $?"
ifg-train -q -o m3 --layers 1 --heads 1 --embd 8 --vocab 200 -n 1 train.ifg; echo "train, vocabulary: exit $?"
# a copy of standard input that cannot be written (a file size limit)
/usr/bin/python3 -c '
for i in range(20000): print("{\"prompt\": \"Call me Ishmael, %d\"}" % i)' >many.jsonl
(trap '' XFSZ; ulimit -f 64; cat many.jsonl | TMPDIR=. ifg-sample -q -m model -t tok -n 1 >/dev/null)
echo "sample, stdin copy: exit $?"
# a full device under ifg-show: the reason, not a bare failure
ifg-show train.ifg >/dev/full; echo "show, full: exit $?"
ls -a | grep -c '^m[23]$'
exit 0
