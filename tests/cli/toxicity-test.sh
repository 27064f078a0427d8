# ifg-toxicity test: accuracy (p >= 0.5 read as toxic) and ROC AUC of a model
# on labelled JSONL and CSV, checked against an independent computation in
# awk on the probabilities that `ifg-toxicity score` gives the same texts:
# AUC as the fraction of (toxic, non-toxic) pairs ranked right, a tie
# counting one half (the test set repeats texts, so there are ties).  Then
# learn and test on JSONL {"text", "label"}, and the data errors.
set -e
words_bad="idiot stupid moron hate dumb loser ugly pathetic"
words_ok="lovely sunny garden friends coffee music happy walk"
# train.jsonl: 400 sentences; test.jsonl: 120, every third a repeat
awk -v bad="$words_bad" -v ok="$words_ok" 'BEGIN {
	nb = split(bad, B); no = split(ok, O); s = 7
	for (i = 0; i < 520; i++) {
		s = (s * 1103515245 + 12345) % 2147483648; y = int(s / 65536) % 2
		s = (s * 1103515245 + 12345) % 2147483648; a = int(s / 65536) % 8 + 1
		s = (s * 1103515245 + 12345) % 2147483648; b = int(s / 65536) % 8 + 1
		s = (s * 1103515245 + 12345) % 2147483648; noise = int(s / 65536) % 10
		# a tenth of the documents mislabelled-looking: words of the other class
		if (noise == 0) t = "you are " B[a] " but the " O[b] " is nice"
		else if (y) t = "you are a " B[a] " and " B[b]
		else t = "what a " O[a] " day with " O[b]
		f = i < 400 ? "train.jsonl" : "test.jsonl"
		if (i >= 400 && i % 3 == 0) t = last	# its label drawn anew: ties across classes
		printf "{\"text\":\"%s\",\"label\":%d}\n", t, y > f
		last = t
	}
}'
ifg-toxicity learn -q --text text --label label --positive 1 --holdout 0 -o m.tox train.jsonl
ifg-toxicity test -q --json -m m.tox --text text --label label --positive 1 test.jsonl > got.json
cat got.json >&2
# the same numbers, independently
ifg-toxicity score -q -m m.tox --field text test.jsonl |
	sed 's/.*"label":\([01]\),"toxicity":\([^}]*\)}$/\1 \2/' > scored.txt
[ "$(wc -l < scored.txt)" -eq 120 ]
awk '{ y[NR] = $1; p[NR] = $2; right += ($2 >= 0.5) == ($1 == 1); pos += $1 }
END {
	for (i = 1; i <= NR; i++) if (y[i] == 1) for (j = 1; j <= NR; j++) if (y[j] == 0)
		w += p[i] > p[j] ? 1 : p[i] == p[j] ? 0.5 : 0
	printf "%d %d %d %.6f %.6f\n", NR, pos, NR - pos, right / NR, w / (pos * (NR - pos))
}' scored.txt > want.txt
sed 's/.*"documents":\([0-9]*\),"positives":\([0-9]*\),"negatives":\([0-9]*\),"accuracy":\([^,]*\),"auc":\([^}]*\)}$/\1 \2 \3 \4 \5/' got.json |
	awk '{ printf "%d %d %d %.6f %.6f\n", $1, $2, $3, $4, $5 }' > have.txt
cat want.txt have.txt >&2
cmp want.txt have.txt
# ties: a toxic and a non-toxic document score the same; 0.5 < AUC < 1
sort -u scored.txt | awk '{ print $2 }' | sort | uniq -d | grep -q .
awk '{ exit !($5 > 0.5 && $5 < 1) }' have.txt
grep -q '^{"input":"test.jsonl","model":"m.tox","documents":120,' got.json
# CSV of the same documents: the same numbers; the readable line
{ echo 'label,text'; sed 's/^{"text":"\(.*\)","label":\([01]\)}$/\2,\1/' test.jsonl; } > test.csv
ifg-toxicity test -q -m m.tox --text text --label label --positive 1 test.csv > got.txt
cat got.txt >&2
acc=$(awk '{ printf "%.4f", $4 }' have.txt) auc=$(awk '{ printf "%.4f", $5 }' have.txt)
pos=$(awk '{ print $2 }' have.txt) neg=$(awk '{ print $3 }' have.txt)
[ "$(cat got.txt)" = "accuracy $acc, AUC $auc (120 documents: $pos toxic, $neg not)" ]
# one class: the AUC is undefined ("NaN" in JSON, as ifg-eval writes it)
grep '"label":0' test.jsonl | ifg-toxicity test -q --json -m m.tox --text text --label label \
	--positive 1 | grep -q '"positives":0,.*"accuracy":[0-9.]*,"auc":"NaN"}$'
# data errors: exit 1, one message each, names the input and line
exec 2> errors.txt
st() { "$@" > /dev/null; echo "exit $?" >&2; }
set +e
st ifg-toxicity test -m missing.tox test.jsonl
printf '{"text":"a","label":1}\n{"text":"b"}\n' | st ifg-toxicity test -m m.tox --text text --label label
printf '{"text":"a","label":[1]}\n' | st ifg-toxicity test -m m.tox --text text --label label
printf '{"text":"a","label":1}\n{"text": oops}\n' | st ifg-toxicity test -m m.tox --text text --label label
: | st ifg-toxicity test -m m.tox
printf 'text,class\nhi,1\n' > nocol.csv
st ifg-toxicity test -m m.tox nocol.csv
grep '"label":1' test.jsonl | st ifg-toxicity test -m m.tox --text text --label label
exec 2>&1
cat errors.txt
