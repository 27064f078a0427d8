# The EXAMPLES of ifg-select(1), run on a generated scores stream made
# with the GPT-NeoX tokenizer.
tok="$IFG_SHARED/tokenizers/gpt-neox-20b-tokenizer.json"
[ -f "$tok" ] || { echo "no $tok" >&2; exit 77; }
/usr/bin/python3 -c 'import numpy, msgpack' 2>/dev/null || { echo "needs numpy and msgpack for /usr/bin/python3" >&2; exit 77; }
set -e
cp "$tok" tokenizer.json
yes 'The cat sat on the mat and it was darn good' | head -n 2000 > docs.txt
/usr/bin/python3 "$IFG_TOP/tests/ref/select_ref.py" gen --seed 9 --tokenizer tokenizer.json \
	--text docs.txt scores.ifg
echo darn > lexicon.txt
zstd -q scores.ifg -o scores.ifg.zst
# the man page's examples, as they are written there
sed -n '/^\.Sh EXAMPLES/,/^\.Sh SEE ALSO/p' "$IFG_TOP/man/ifg-select.1" |
	grep -E '^(ifg-select|zstd) ' > examples.sh
[ "$(wc -l < examples.sh)" -eq 6 ]
sh -e examples.sh > shown.txt 2> stderr.txt
grep -q '^# record [0-9]* (id [^)]*): [0-9]* of 12 tokens selected$' shown.txt
for f in masked.ifg random.ifg dropped.ifg words.ifg; do
	ifg-show -k tokens -n 0 $f > /dev/null
done
[ "$(grep -c '^ifg-select: ' stderr.txt)" -eq 5 ]
