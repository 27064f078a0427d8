# The classifier trained on 80% of the Davidson tweets reaches AUC >= 0.90
# on the other 20% (toxic = classes 0 and 1, hate and offensive, against 2,
# neither); the reported accuracy and AUC are parsed from stderr and also
# recorded in the model; training is deterministic for a seed.
csv="$IFG_DATA/davidson/labeled_data.csv"
[ -f "$csv" ] || { echo "no $csv (sh pipelines/fetch-data.sh)" >&2; exit 77; }
set -e
ifg-toxicity learn -o model.bin "$csv" 2> report.txt
cat report.txt >&2
line=$(grep '^ifg-toxicity: held-out accuracy ' report.txt)
acc=$(echo "$line" | sed -n 's/.*held-out accuracy \([0-9.]*\), AUC \([0-9.]*\) (\([0-9]*\) documents held out, \([0-9]*\) trained.*/\1/p')
auc=$(echo "$line" | sed -n 's/.*held-out accuracy \([0-9.]*\), AUC \([0-9.]*\) (\([0-9]*\) documents held out, \([0-9]*\) trained.*/\2/p')
held=$(echo "$line" | sed -n 's/.* (\([0-9]*\) documents held out, \([0-9]*\) trained.*/\1 \2/p')
[ -n "$auc" ] && [ -n "$acc" ] || { echo "no accuracy and AUC in: $line" >&2; exit 1; }
# 20% of the 24783 tweets held out
[ "$held" = "4957 19826" ] || { echo "split: $held" >&2; exit 1; }
awk -v a="$auc" 'BEGIN { exit !(a >= 0.90) }' || { echo "AUC $auc < 0.90" >&2; exit 1; }
awk -v a="$acc" 'BEGIN { exit !(a >= 0.85) }' || { echo "accuracy $acc < 0.85" >&2; exit 1; }
# the same seed, the same model; another seed, another split
ifg-toxicity learn -q -o again.bin "$csv"
cmp model.bin again.bin
ifg-toxicity learn -q -s 5 -o other.bin "$csv"
! cmp -s model.bin other.bin
# scoring: a rude line scores high, a plain one low
printf '%s\n' '{"continuation":"shut up you dumb hoe"}' \
	'{"continuation":"The committee will meet on Tuesday to discuss the budget."}' |
	ifg-toxicity score -m model.bin > scored.jsonl
hi=$(sed -n 1p scored.jsonl | sed 's/.*"toxicity":\([^,}]*\)}$/\1/')
lo=$(sed -n 2p scored.jsonl | sed 's/.*"toxicity":\([^,}]*\)}$/\1/')
awk -v h="$hi" -v l="$lo" 'BEGIN { exit !(h > 0.9 && l < 0.5) }' ||
	{ echo "scores $hi $lo" >&2; exit 1; }
