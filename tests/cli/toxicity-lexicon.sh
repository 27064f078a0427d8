# The lexicon scorer on hand-made lines with known scores: cuss (rating / 2)
# and swearjar (category weights), case, punctuation, repeated letters,
# plural/-ing/-ed forms and multi-word entries.
[ -f "$IFG_DATA/cuss/index.js" ] || { echo "no $IFG_DATA/cuss (sh pipelines/fetch-data.sh)" >&2; exit 77; }
[ -d "$IFG_DATA/swearjar" ] || { echo "no $IFG_DATA/swearjar" >&2; exit 77; }
set -e
cat > lines.jsonl <<'L'
{"id":1,"continuation":"What a lovely day in the park."}
{"id":2,"continuation":"You stupid BITCH!!!"}
{"id":3,"continuation":"fuuuuuuck this"}
{"id":4,"continuation":"they were fucking around"}
{"id":5,"continuation":"bitches and hoes"}
{"id":6,"continuation":"those camel jockeys"}
{"id":7,"continuation":"a camel and a jockey"}
{"id":8,"continuation":"damn it"}
{"id":9,"continuation":"spiced rum at fair prices, assessed daily"}
{"id":10,"continuation":"the ass-hat left"}
{"id":11,"continuation":""}
L
ifg-toxicity score -l "$IFG_DATA/cuss" lines.jsonl
ifg-toxicity score -q -l "$IFG_DATA/swearjar" --field continuation lines.jsonl |
	sed 's/.*"id":\([0-9]*\).*"toxicity_lexicon":\([^}]*\)}/\1 \2/'
# the package files work as well as their directories
ifg-toxicity score -l "$IFG_DATA/cuss" lines.jsonl > dir.jsonl
ifg-toxicity score -l "$IFG_DATA/cuss/index.js" lines.jsonl | cmp - dir.jsonl
ifg-toxicity score -l "$IFG_DATA/swearjar/lib/config/en_US.json" lines.jsonl | tail -n 1
