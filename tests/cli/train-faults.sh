# ifg-train on failing outputs: a full log device stops the run; a train
# state that cannot be written leaves no model that loads; --resume removes
# the temporaries of a killed save and cuts the log back to the resumed step;
# a failed run leaves no empty directory (ifg-tokenize --learn neither).
awk 'BEGIN { print "{\"kind\":\"tokens\",\"version\":1}";
	for (i = 0; i < 16; i++) printf "{\"id\":%d,\"tokens\":{\"dtype\":\"u16\",\"shape\":[8],\"data\":[%d,%d,%d,%d,%d,%d,%d,%d]}}\n",
		i, i, i+1, i+2, i+3, (i*7)%32, (i*5)%32, 3, 4 }' | ifg-pack -o t.ifg
args="--layers 1 --heads 1 --embd 8 --vocab 32 -b 4 -j 1 t.ifg"
ifg-train -q -o m -n 3 --log /dev/full $args; echo "log on a full device: $?"
test -e m && echo "left m"
# the train state (written first) fails: no new model lands beside it
mkdir s
ln -s /dev/full s/train-state.safetensors
ifg-train -q -o s -n 2 $args; echo "state on a full device: $?"
ls s
# config.json fails: model.safetensors, which lands with it, does not land
mkdir c
ln -s /dev/full c/config.json
ifg-train -q -o c -n 2 $args; echo "config on a full device: $?"
ls c
# stale temporaries of a killed save go; the log is cut back to the state's step
ifg-train -q -o r -n 4 --save-every 2 --log log $args || echo "train failed"
: > r/model.safetensors.tmp.Ab12Cd
: > r/train-state.safetensors.tmp.x9Y8z7
printf '{"step":5,"loss":1}\n{"step":6,"loss":1}\n' >> log
ifg-train -q -o r -n 4 --save-every 2 --log log --resume $args || echo "resume failed"
ls r
cut -c 1-10 log
printf 'a line\n' > text.txt
ifg-tokenize -q --learn 300 -f jsonl -o tok text.txt 2>/dev/null; echo "learn on bad input: $?"
test -e tok && echo "left tok"
exit 0
