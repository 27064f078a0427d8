# The word-filter baseline and the inspection view on real GPT-NeoX tokens:
# lexicon words and phrases masked case-insensitively whatever tokens they
# span; --show prints the documents with most selected tokens, marked.
tok="$IFG_SHARED/tokenizers/gpt-neox-20b-tokenizer.json"
[ -f "$tok" ] || { echo "no $tok" >&2; exit 77; }
/usr/bin/python3 -c 'import numpy, msgpack' 2>/dev/null || { echo "needs numpy and msgpack for /usr/bin/python3" >&2; exit 77; }
set -e
cat > docs.txt <<'TXT'
The cat is darn nice
Nothing to see here
What the Heck , darn it , what the heck
Oh my gosh darn
TXT
printf '# words\ndarn\nheck\noh my gosh\n' > lexicon.txt
/usr/bin/python3 "$IFG_TOP/tests/ref/select_ref.py" gen --seed 4 --kind normal \
	--tokenizer "$tok" --text docs.txt scores.ifg
ifg-select -q -m words -l lexicon.txt -t "$tok" -o words.ifg scores.ifg
ifg-select --show -n 2 -t "$tok" words.ifg
ifg-select --show -r 1 -t "$tok" words.ifg
# IF-Guide's mask with a window of 0 at the median, shown in colour
ifg-select -q -p 0.5 -w 0 -L 4 scores.ifg | ifg-select --show --color always -t "$tok" |
	sed 's/\x1b/<ESC>/g'
# a stream made with another tokenizer is refused
/usr/bin/python3 "$IFG_TOP/tests/ref/select_ref.py" gen --docs 2 other.ifg
ifg-select -q -m words -l lexicon.txt -t "$tok" other.ifg 2>&1 >/dev/null | grep -q 'tokenizer'
! ifg-select --show -t "$tok" other.ifg 2>/dev/null
