#!/bin/sh
# Encoding throughput of ifg-tokenize with GPT-2's files against tiktoken
# (tiktoken@1.0.22 under node, gpt2 encoding, encode_ordinary) on the same
# text: the clean corpora and the Davidson tweets (tests/ref/corpus.js),
# 37 MB in 125,651 documents.  ifg's rate is of the whole program (reading
# and parsing the JSONL, encoding, writing the records: ifg-tokenize -v);
# tiktoken's counts only the time inside encode_ordinary.  Best of 2 runs
# each; MB are 10^6 bytes of UTF-8 text.
# usage: tokenize.sh BINDIR   (tests/bench/run.sh passes it)
bindir=${1:?usage: tokenize.sh BINDIR}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
data=${IFG_DATA:-$top/data}
name=tokenize-gpt2
[ -f "$data/gpt2/encoder.json" ] || { echo "bench: $name skipped: no $data/gpt2 (run pipelines/fetch-data.sh)"; exit 0; }
[ -d "$data/node/node_modules/tiktoken" ] || { echo "bench: $name skipped: no tiktoken in $data/node/node_modules"; exit 0; }
command -v node >/dev/null || { echo "bench: $name skipped: no node"; exit 0; }
export NODE_PATH="$data/node/node_modules"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ifg-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

node "$top/tests/ref/corpus.js" "$data" "$tmp/corp" ||
	{ echo "bench: $name skipped: tests/ref/corpus.js failed"; exit 0; }
cat "$tmp"/corp/*.jsonl >"$tmp/all.jsonl"
best() { awk 'BEGIN { m = 0 } $1 > m { m = $1 } END { printf "%.2f", m }'; }
ifg=$(for i in 1 2; do
	"$bindir/ifg-tokenize" -v -t "$data/gpt2" "$tmp/all.jsonl" 2>&1 >/dev/null |
		sed -n 's/.* records, \([0-9.]*\) MB\/s$/\1/p'
done | best)
ref=$(for i in 1 2; do
	node "$top/tests/ref/encode.js" bench "$tmp/all.jsonl" | sed -n 's/^MB\/s //p'
done | best)
[ "$ifg" != 0.00 ] || { echo "bench: $name skipped: ifg-tokenize failed"; exit 0; }
[ "$ref" != 0.00 ] || { echo "bench: $name skipped: tiktoken failed"; exit 0; }
echo "$name: $(wc -c <"$tmp/all.jsonl" | awk '{ printf "%.1f", $1 / 1e6 }') MB of JSONL; ifg-tokenize $ifg MB/s, tiktoken $ref MB/s"
echo "bench: $name ifg=$ifg ref=$ref refname=tiktoken unit=MB/s ratio=$(awk -v a=$ifg -v b=$ref 'BEGIN { printf "%.2f", a / b }')"
