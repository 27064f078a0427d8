# ifg-tokenize with GPT-2's files gives, token for token, the ids of
# tiktoken@1.0.22 (gpt2 encoding, encode_ordinary) on every document of the
# clean corpora (brown, sotu, moby-dick, nlp-corpus) and every Davidson tweet
# (tests/ref/corpus.js makes them, tests/ref/encode.js runs tiktoken), the
# tweets also read from the CSV file by ifg; and ifg-detok gives the texts
# back exactly.  Also a sample with "<|endoftext|>" inside the texts, with
# special tokens on (tiktoken's encode(text, "all")) and off.
# Under the sanitizers (IFG_SAN=1) the first 2000 documents (and 1 MB) of each.
[ -f "$IFG_DATA/gpt2/encoder.json" ] || { echo "no $IFG_DATA/gpt2 (run pipelines/fetch-data.sh)" >&2; exit 77; }
[ -d "$IFG_DATA/node/node_modules/tiktoken" ] || { echo "no tiktoken in $IFG_DATA/node/node_modules" >&2; exit 77; }
command -v node >/dev/null || { echo "needs node" >&2; exit 77; }
export NODE_PATH="$IFG_DATA/node/node_modules"
ref="node $IFG_TOP/tests/ref/encode.js"
tok="$IFG_DATA/gpt2"
set -e
node "$IFG_TOP/tests/ref/corpus.js" "$IFG_DATA" corp
# One run of each program over the corpora laid end to end (a document a
# line; node's start and the tokenizer's load are seconds).
for c in brown sotu moby-dick nlp-corpus davidson; do
	if [ "${IFG_SAN:-}" = 1 ]; then	# up to 2000 documents and 1 MB of each
		awk 'n < 2000 && b < 1000000 { print; n++; b += length($0) }' corp/$c.jsonl
	else
		cat corp/$c.jsonl
	fi
	[ "$(wc -l <corp/$c.jsonl)" -gt 100 ]
done >all.jsonl
$ref tiktoken all.jsonl >want.ids
ifg-tokenize -q -t "$tok" --id id -o tok.ifg all.jsonl
ifg-detok -q --as ids tok.ifg >got.ids
[ "$(wc -l <got.ids)" -eq "$(wc -l <all.jsonl)" ]
if ! cmp -s want.ids got.ids; then
	line=$(cmp want.ids got.ids | sed -n 's/.* line \([0-9]*\)$/\1/p')
	echo "ids differ from tiktoken's in document $line of all.jsonl:" >&2
	sed -n "${line}p" all.jsonl | cut -c 1-200 >&2
	exit 1
fi
ifg-detok -q -t "$tok" --as jsonl tok.ifg >back.jsonl
$ref same all.jsonl back.jsonl >/dev/null
# The tweets read by ifg's own CSV reader (not corpus.js's) give the same.
nd=$(awk 'n < 2000 && b < 1000000 { n++; b += length($0) } END { print n }' corp/davidson.jsonl)
[ "${IFG_SAN:-}" = 1 ] || nd=$(wc -l <corp/davidson.jsonl)
ifg-tokenize -q -t "$tok" --text tweet "$IFG_DATA/davidson/labeled_data.csv" |
	ifg-detok -q --as ids | head -n "$nd" >csv.ids
tail -n "$nd" want.ids | cmp - csv.ids
# Special tokens on: "<|endoftext|>" in the text is token 50256.
head -n 300 corp/davidson.jsonl | sed 's/ a / a <|endoftext|>/; s/!/!<|endoftext|><|endoftext|>/' >sp.jsonl
[ "$(grep -c endoftext sp.jsonl)" -gt 100 ]
$ref tiktoken sp.jsonl special >want.ids
ifg-tokenize -q -t "$tok" --special sp.jsonl | ifg-detok -q --as ids >got.ids
cmp want.ids got.ids
grep -q -w 50256 got.ids
ifg-tokenize -q -t "$tok" --special sp.jsonl | ifg-detok -q -t "$tok" --as jsonl >back.jsonl
$ref same sp.jsonl back.jsonl >/dev/null
# ... and off (the default): the text's "<|endoftext|>" is plain text.
$ref tiktoken sp.jsonl >want.ids
ifg-tokenize -q -t "$tok" sp.jsonl | ifg-detok -q --as ids >got.ids
cmp want.ids got.ids
! grep -q -w 50256 got.ids
