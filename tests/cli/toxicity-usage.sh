# Usage errors exit 2, each with a message; --help and --version exit 0.
ifg-toxicity --help | head -n 1 | grep -q '^usage: ifg-toxicity learn ' || exit 1
ifg-toxicity --version | grep -q '^ifg-toxicity (ifg) ' || exit 1
u() { "$@" 2>/dev/null < /dev/null; [ $? -eq 2 ] || { echo "not a usage error: $*" >&2; exit 1; }; }
u ifg-toxicity
u ifg-toxicity train -o m.bin
u ifg-toxicity learn
u ifg-toxicity learn -o m.bin a.csv b.csv
u ifg-toxicity learn -o m.bin --holdout 1
u ifg-toxicity learn -o m.bin --holdout -0.1
u ifg-toxicity learn -o m.bin --holdout x
u ifg-toxicity learn -o m.bin -s -1
u ifg-toxicity learn -o m.bin --positive ''
u ifg-toxicity learn -o m.bin -m model.bin
u ifg-toxicity score
u ifg-toxicity score --field text
u ifg-toxicity score -l lex --holdout 0.1
u ifg-toxicity score -l lex --bogus
u ifg-toxicity test
u ifg-toxicity test -m model.bin a.jsonl b.jsonl
u ifg-toxicity test -m model.bin --positive ''
u ifg-toxicity test -m model.bin -l lex
u ifg-toxicity test -m model.bin --field text
u ifg-toxicity test -m model.bin --holdout 0.1
u ifg-toxicity test -m model.bin -s 1
u ifg-toxicity test -m model.bin -o out.json
u ifg-toxicity learn -o m.bin --json
u ifg-toxicity score -m model.bin --json
u ifg-toxicity score -m model.bin --text tweet
# a missing model or lexicon is a data error
ifg-toxicity score -m missing.bin 2>/dev/null < /dev/null; [ $? -eq 1 ] || exit 1
ifg-toxicity score -l missing-dir 2>/dev/null < /dev/null; [ $? -eq 1 ] || exit 1
ifg-toxicity learn -o m.bin missing.csv 2>/dev/null; [ $? -eq 1 ] || exit 1
ifg-toxicity test -m missing.bin 2>/dev/null < /dev/null; [ $? -eq 1 ] || exit 1
exit 0
