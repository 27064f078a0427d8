# RAD's bad options: a setting without --rad-model, out-of-range values
# (usage errors, exit 2), a classifier file that is missing or not a model
# (exit 1); each with one message.
ifg-sample -m m -t t --rad-beta 5 < /dev/null; echo "exit $?"
ifg-sample -m m -t t --rad-prompt < /dev/null; echo "exit $?"
ifg-sample -m m -t t --rad-model c --rad-beta -1 < /dev/null; echo "exit $?"
ifg-sample -m m -t t --rad-model c --rad-beta nan < /dev/null; echo "exit $?"
ifg-sample -m m -t t --rad-model c --rad-k 0 < /dev/null; echo "exit $?"
d=$IFG_DATA/moby-dick/data
[ -f "$d/chapter_1.txt" ] || { echo "no $d (sh pipelines/fetch-data.sh)" >&2; exit 77; }
grep . "$d/chapter_1.txt" > d.txt
ifg-tokenize -q --learn 300 -f lines -o tok d.txt
ifg-tokenize -q -t tok -f lines -b 16 d.txt > train.ifg
ifg-train -q -o model --layers 1 --heads 1 --embd 8 -n 2 train.ifg
printf '{"prompt": "Call me"}\n' > p.jsonl
ifg-sample -m model -t tok -n 4 --rad-model noclf p.jsonl; echo "exit $?"
ifg-sample -m model -t tok -n 4 --rad-model p.jsonl p.jsonl; echo "exit $?"
