# ifg-tokenize and ifg-detok: known ids, blocks, pairs, carried fields,
# atomic output, and usage errors (exit 2) and data errors (exit 1), each
# with its message.
[ -f "$IFG_DATA/gpt2/encoder.json" ] || { echo "no $IFG_DATA/gpt2 (run pipelines/fetch-data.sh)" >&2; exit 77; }
[ -f "$IFG_DATA/neox/tokenizer.json" ] || { echo "no $IFG_DATA/neox/tokenizer.json (run pipelines/fetch-data.sh)" >&2; exit 77; }
set -e
G=$IFG_DATA/gpt2 N=$IFG_DATA/neox/tokenizer.json
printf '%s\n' '{"id": "a", "text": "Hello world", "k": 1}' \
	'{"id": "b", "text": "<|endoftext|> is text"}' '{"id": "c", "text": ""}' >docs.jsonl
ifg-tokenize -q -t $G --id id -c k -o docs.ifg docs.jsonl
[ "$(ifg-detok --as ids docs.ifg)" = "$(printf '15496 995\n27 91 437 1659 5239 91 29 318 2420')" ]
[ "$(ifg-detok -t $G --as jsonl docs.ifg)" = "$(head -n 2 docs.jsonl | sed 's/, "k": 1//')" ]
ifg-show docs.ifg | grep -q '"id":"a",.*"k":1}'
[ "$(ifg-tokenize -q -t $G --special docs.jsonl | ifg-detok --as ids | sed -n 2p)" = "50256 318 2420" ]
[ "$(ifg-tokenize -q -t $N docs.jsonl | ifg-detok --as ids)" = "$(printf '12092 1533\n0 310 2505')" ]
[ "$(ifg-tokenize -q -t $N --no-special docs.jsonl | ifg-detok --as ids | sed -n 2p)" != "0 310 2505" ]
ifg-tokenize -t $G docs.jsonl 2>&1 >/dev/null | grep -q '^ifg-tokenize: 3 documents (1 skipped), 11 tokens, 2 records, '
ifg-tokenize -v -t $G docs.jsonl 2>&1 >/dev/null | grep -q '^ifg-tokenize: tokenizer gpt2 (50257 tokens, sha256 [0-9a-f]\{64\}), 2.91 bytes a token$'
# blocks: 15496 995 50256 27 91 437 1659 5239 91 29 318 2420 50256 50256
[ "$(ifg-tokenize -q -t $G --block 5 --eot docs.jsonl | ifg-detok --as ids)" = "$(printf '15496 995 50256 27 91\n437 1659 5239 91 29')" ]
[ "$(ifg-tokenize -q -t $G --block 5 --eot --keep-tail docs.jsonl | ifg-detok --as ids | sed -n 3p)" = "318 2420 50256 50256" ]
[ "$(ifg-tokenize -q -t $G --block 5 docs.jsonl | ifg-detok -t $G --sep '' )" = "Hello world<|endoftext|> is" ]
# pairs: cont marks the continuation's first token
printf '%s\n' '{"p": "Call me", "c": " Ishmael."}' '{"p": "x", "c": ""}' >q.jsonl
ifg-tokenize -q -t $G --text p --cont c -o q.ifg q.jsonl
ifg-show q.ifg | grep -q '"cont":2'
[ "$(ifg-detok -t $G --as jsonl q.ifg)" = '{"id": 0, "prompt": "Call me", "continuation": " Ishmael."}' ]
# the header names the tokenizer; ifg-detok checks it
ifg-show -n 0 q.ifg | grep -q '"tokenizer":{"name":"gpt2","sha256":"[0-9a-f]\{64\}","vocab_size":50257,"eot":50256}'
ifg-tokenize -q -t $G --name mine q.jsonl --text p | ifg-show -n 0 | grep -q '"name":"mine"'
# errors: usage 2, data 1, one message; no output file left behind
set +e
ifg-tokenize docs.jsonl 2>err; [ $? -eq 2 ] && grep -q '^ifg-tokenize: no tokenizer (-t)$' err || exit 1
ifg-tokenize -t $G --block 0 docs.jsonl 2>err; [ $? -eq 2 ] && grep -q 'option --block: 0 is out of range' err || exit 1
ifg-tokenize --learn 256 -o v docs.jsonl 2>err; [ $? -eq 2 ] && grep -q 'option --learn: 256 is out of range' err || exit 1
ifg-tokenize --learn 300 docs.jsonl 2>err; [ $? -eq 2 ] && grep -q 'needs -o' err || exit 1
ifg-tokenize -t $G -f bogus docs.jsonl 2>err; [ $? -eq 2 ] || exit 1
ifg-tokenize -t $G --block 4 --id id docs.jsonl 2>err; [ $? -eq 2 ] || exit 1
ifg-tokenize -t $G -c tokens docs.jsonl 2>err; [ $? -eq 2 ] || exit 1
ifg-tokenize -t $G --bogus docs.jsonl 2>err; [ $? -eq 2 ] || exit 1
ifg-detok --as words docs.ifg 2>err; [ $? -eq 2 ] || exit 1
ifg-detok docs.ifg 2>err; [ $? -eq 2 ] && grep -q '^ifg-detok: no tokenizer (-t)$' err || exit 1
ifg-tokenize -t missing-dir docs.jsonl 2>err; [ $? -eq 1 ] && grep -q "^ifg-tokenize: tokenizer: 'missing-dir': No such file" err || exit 1
ifg-tokenize -q -t $G -o out.ifg docs.jsonl missing.jsonl 2>err; [ $? -eq 1 ] && grep -q "cannot open 'missing.jsonl'" err || exit 1
[ ! -e out.ifg ] || exit 1
echo '{"text": 5}' >bad.jsonl
ifg-tokenize -q -t $G bad.jsonl 2>err >/dev/null; [ $? -eq 1 ] && grep -q "'bad.jsonl': line 1: field 'text' is not a string" err || exit 1
ifg-detok -q -t $N docs.ifg 2>err >/dev/null; [ $? -eq 1 ] && grep -q "made with tokenizer 'gpt2'" err || exit 1
ifg-tokenize --help | head -n 1 | grep -q '^usage: ifg-tokenize ' || exit 1
ifg-detok --version | grep -q '^ifg-detok (ifg) ' || exit 1
exit 0
