# ifg-detok gives back exactly the bytes that ifg-tokenize read, with the
# GPT-2 vocabulary (all 256 bytes have tokens), on adversarial documents:
# every byte value, invalid UTF-8 (stray continuation bytes, overlong forms,
# surrogates, truncated sequences, bytes above F4), control characters,
# "<|endoftext|>" (whole, partial, repeated) inside the text with special
# tokens on and off, 1 MB words (letters, digits, punctuation, white space,
# non-ASCII letters) and 1 MB of random bytes; a document a file.  With
# GPT-NeoX's tokenizer.json (no tokens for C0, C1, F5..FF) the valid UTF-8
# ones (already NFC) come back exactly too.  Under the sanitizers
# (IFG_SAN=1) the long ones are 256 KB.
[ -f "$IFG_DATA/gpt2/encoder.json" ] || { echo "no $IFG_DATA/gpt2 (run pipelines/fetch-data.sh)" >&2; exit 77; }
set -e
export LC_ALL=C
M=1048576
[ "${IFG_SAN:-}" = 1 ] && M=262144
# every byte value, twice, in two orders
awk -v M=$M 'BEGIN { for (i = 0; i < 256; i++) printf "%c", i; for (i = 255; i >= 0; i--) printf "%c", i }' >bytes.bin
[ "$(wc -c <bytes.bin)" -eq 512 ]
printf 'a\200b \277\277 \300\257 \301\277 \340\200\257 \355\240\200\355\260\200 \364\220\200\200 \370\210\200\200\200 \376\377 \342\202 end \360\237\230' >invalid.bin
printf 'ctl \001\002\003\033[0m\177 \034\035\036\037 \t\r\n\v\f  \r\n\n\n \302\205 \342\200\250 \000 nul\000\000' >control.bin
printf 'a <|endoftext|> b<|endoftext|><|endoftext|>c <|endoftext| <|endof <|endoftext|>' >eot.bin
awk -v M=$M 'BEGIN { srand(7); for (i = 0; i < M; i++) printf "%c", 97 + int(rand() * 26) }' >letters.bin
awk -v M=$M 'BEGIN { srand(8); for (i = 0; i < M; i++) printf "%c", 48 + int(rand() * 10) }' >digits.bin
awk -v M=$M 'BEGIN { srand(9); for (i = 0; i < M; i++) printf "%c", substr("!?.,;:-_*#@", 1 + int(rand() * 11), 1) }' >punct.bin
awk -v M=$M 'BEGIN { srand(10); for (i = 0; i < M; i++) printf "%c", substr(" \t\n", 1 + int(rand() * 3), 1) }' >space.bin
awk -v M=$M 'BEGIN { for (i = 0; i < M / 2; i++) printf "\316\261" ; printf "x" }' >greek.bin
awk -v M=$M 'BEGIN { srand(11); for (i = 0; i < M; i++) printf "%c", int(rand() * 256) }' >random.bin
for f in letters digits punct space random; do [ "$(wc -c <$f.bin)" -eq $M ]; done
all="bytes.bin invalid.bin control.bin eot.bin letters.bin digits.bin punct.bin space.bin greek.bin random.bin"
g="$IFG_DATA/gpt2"
for sp in --no-special --special; do
	ifg-tokenize -q -t "$g" $sp -f file -o g.ifg $all
	[ "$(ifg-detok -q --as ids g.ifg | wc -l)" -eq 10 ]
	ifg-detok -q -t "$g" --sep '' g.ifg >g.out
	cat $all | cmp - g.out
done
# --special made the 4 whole "<|endoftext|>" single tokens
[ "$(ifg-tokenize -q -t "$g" --special -f file eot.bin | ifg-detok -q --as ids | tr ' ' '\n' | grep -c -x 50256)" -eq 4 ]
[ "$(ifg-tokenize -q -t "$g" -f file eot.bin | ifg-detok -q --as ids | tr ' ' '\n' | grep -c -x 50256 || true)" -eq 0 ]
# the 1 MB word of letters is merged, not left in bytes
[ "$(ifg-tokenize -q -t "$g" -f file letters.bin | ifg-detok -q --as ids | wc -w)" -lt $((M * 2 / 3)) ]
n="$IFG_DATA/neox/tokenizer.json"
[ -f "$n" ] || { echo "no $n: the GPT-NeoX round trip skipped" >&2; exit 0; }
valid="control.bin eot.bin letters.bin digits.bin punct.bin space.bin greek.bin"
ifg-tokenize -q -t "$n" -f file -o n.ifg $valid
ifg-detok -q -t "$n" --sep '' n.ifg >n.out
cat $valid | cmp - n.out
