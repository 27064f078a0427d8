# Data errors exit 1 with one message naming the input and line: bad JSON,
# a line that is not an object, a missing or non-string field, a corrupt or
# truncated model, empty or one-class input for learn, a missing label.
# A failed run leaves no output file behind.
[ -f "$IFG_DATA/cuss/index.js" ] || { echo "no $IFG_DATA/cuss (sh pipelines/fetch-data.sh)" >&2; exit 77; }
lx="$IFG_DATA/cuss"
st() { "$@"; echo "exit $?" >&2; }
printf '{"continuation":"ok"}\n{"continuation": oops}\n' | st ifg-toxicity score -l "$lx" > /dev/null
printf '{"continuation":"ok"}\n\n[1, 2]\n' > notobj.jsonl
st ifg-toxicity score -l "$lx" notobj.jsonl > /dev/null
printf '{"continuation":"ok"}\n{"continuation":"ok"}\n{"text":"no continuation"}\n' |
	st ifg-toxicity score -l "$lx" > /dev/null
printf '{"continuation":5}\n' | st ifg-toxicity score -l "$lx" -o out.jsonl
[ ! -e out.jsonl ] || echo "out.jsonl left behind" >&2
# models: a good one, then damaged copies
printf '{"tweet":"you idiot","class":1}\n{"tweet":"nice day","class":2}\n' > two.jsonl
ifg-toxicity learn -q --holdout 0 -o model.bin two.jsonl
head -c 1000 model.bin > short.bin
st ifg-toxicity score -m short.bin -l "$lx" notobj.jsonl
cp model.bin flipped.bin
printf 'x' | dd of=flipped.bin bs=1 seek=5000 conv=notrunc 2>/dev/null
st ifg-toxicity score -m flipped.bin notobj.jsonl
st ifg-toxicity score -m two.jsonl notobj.jsonl
# learn: empty input, header only, a missing label, one class
: | st ifg-toxicity learn -o m.bin
printf 'tweet,class\n' > header.csv
st ifg-toxicity learn -o m.bin header.csv
printf '{"tweet":"a","class":1}\n{"tweet":"b"}\n' | st ifg-toxicity learn -o m.bin
printf '{"tweet":"a","class":1}\n{"tweet":"b","class":0}\n' | st ifg-toxicity learn -o m.bin
printf 'text,class\nhi,1\n' > nocol.csv
st ifg-toxicity learn -o m.bin nocol.csv
[ ! -e m.bin ] || echo "m.bin left behind" >&2
exit 0
