# A reader that goes away ends every program quietly, also when SIGPIPE is
# ignored (as by `trap '' PIPE` or a parent that ignores it): the status is
# that of death by SIGPIPE (141), and nothing is printed.
trap '' PIPE
awk 'BEGIN { print "{\"kind\":\"tokens\",\"version\":1}";
	for (i = 0; i < 20000; i++) printf "{\"id\":%d,\"tokens\":{\"dtype\":\"u16\",\"shape\":[3],\"data\":[1,2,3]}}\n", i }' > big.jsonl
ifg-pack -o big.ifg big.jsonl
quiet() { # NAME command...: runs command | head -c 100, prints its status
	name=$1; shift
	{ "$@" 2>err; echo $? > st; } | head -c 100 > /dev/null
	echo "$name: $(cat st) $(wc -c < err)"
	cat err >&2
}
quiet ifg-cat ifg-cat big.ifg
quiet ifg-show ifg-show big.ifg
quiet ifg-pack ifg-pack big.jsonl
mkfifo f
timeout 20 head -c 100 f > /dev/null &
ifg-cat -q -o f big.ifg 2>err; echo "ifg-cat -o fifo: $? $(wc -c < err)"
wait
if [ -f "$IFG_DATA/gpt2/encoder.json" ]; then
	awk 'BEGIN { for (i = 0; i < 5000; i++) print "a line of text to tokenize" }' > t.txt
	ifg-tokenize -q -t "$IFG_DATA/gpt2" -f lines t.txt > t.ifg
	quiet ifg-tokenize ifg-tokenize -q -t "$IFG_DATA/gpt2" -f lines t.txt
	quiet ifg-detok ifg-detok -t "$IFG_DATA/gpt2" t.ifg
else
	echo "ifg-tokenize: 141 0"
	echo "ifg-detok: 141 0"
fi
