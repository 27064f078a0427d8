# Bad input: no model, a tokenizer larger than the model's vocabulary, a bad
# JSON line, a prompt field missing, a tokens stream of another tokenizer,
# too many new tokens; each exits 1 with one message.
d=$IFG_DATA/moby-dick/data
[ -f "$d/chapter_1.txt" ] && [ -d "$IFG_DATA/gpt2" ] ||
	{ echo "no $d or $IFG_DATA/gpt2 (sh pipelines/fetch-data.sh)" >&2; exit 77; }
grep . "$d/chapter_1.txt" > d.txt
ifg-tokenize -q --learn 300 -f lines -o tok d.txt
ifg-tokenize -q -t tok -f lines -b 16 d.txt > train.ifg
ifg-train -q -o model --layers 1 --heads 1 --embd 8 -n 2 train.ifg
cp -r "$IFG_DATA/gpt2" gpt2
printf '{"prompt": "Call me"}\n' > ok.jsonl
ifg-sample -m nomodel -t tok ok.jsonl; echo "exit $?" >&2
ifg-sample -m model -t gpt2 -n 4 ok.jsonl; echo "exit $?" >&2
printf '{"prompt": "a"}\n{"prompt": "b"\n' > bad.jsonl
ifg-sample -m model -t tok -n 4 bad.jsonl; echo "exit $?" >&2
printf '{"prompt": "a"}\n\n{"text": "b"}\n' | ifg-sample -m model -t tok -n 4 > /dev/null; echo "exit $?" >&2
ifg-tokenize -q -t gpt2 --text prompt ok.jsonl > other.ifg
ifg-sample -m model -t tok -n 4 other.ifg 2>&1 >/dev/null | grep -c "made with tokenizer 'gpt2'" >&2
ifg-sample -m model -t tok -n 16 ok.jsonl; echo "exit $?" >&2
# no partial output file is left
ifg-sample -m model -t tok -n 4 -o out.jsonl bad.jsonl 2>/dev/null
ls -a | grep -c '^out\.jsonl' >&2
exit 0
