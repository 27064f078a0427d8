# pipelines/sharded.sh: factors, scores and the IF-Guide mask computed over 3
# shards under GNU parallel give the mask records of one stream (a tiny
# model on generated text; the threshold may differ in its last digits).
set -e
command -v parallel >/dev/null || { echo "GNU parallel not installed" >&2; exit 77; }
command -v python3 >/dev/null || { echo "python3 not installed" >&2; exit 77; }
# 300 documents: plain sentences, some with "rude" words, and query pairs
python3 - <<'P'
import json, random
r = random.Random(5)
plain = "the a cat dog sat on mat ran far home big small red tree house we saw it".split()
rude = "darn heck dang blast".split()
def sent(k, tox):
    w = [r.choice(plain) for _ in range(k)]
    if tox:
        w[r.randrange(k)] = r.choice(rude)
    return " ".join(w)
with open("train.jsonl", "w") as f:
    for i in range(300):
        f.write(json.dumps({"text": sent(r.randint(5, 15), i % 3 == 0)}) + "\n")
for name, tox in (("qtox", True), ("qsafe", False)):
    with open(name + ".jsonl", "w") as f:
        for i in range(20):
            f.write(json.dumps({"prompt": sent(4, False), "continuation": " " + sent(4, tox)}) + "\n")
P
ifg-tokenize -q --learn 300 -o tok train.jsonl
ifg-tokenize -q -t tok --block 32 --eot -o train.ifg train.jsonl
for q in qtox qsafe; do
	ifg-tokenize -q -t tok --text prompt --cont continuation -o $q.ifg $q.jsonl
done
ifg-train -q -o proxy --layers 1 --heads 2 --embd 16 --ctx 32 -b 8 -n 20 -j 1 train.ifg
run() {	# SHARDS JOBS OUT
	sh "$IFG_TOP/pipelines/sharded.sh" -n $1 -j $2 --fit-records 40 --select "-p 0.95 -w 1 -f 0.05" \
		-m proxy -d train.ifg -q qtox.ifg -Q qsafe.ifg -o $3 2>$3.log || { cat $3.log >&2; exit 1; }
}
run 1 1 one
run 3 3 three
ifg-show -a -H one/mask.ifg >one.jsonl
ifg-show -a -H three/mask.ifg >three.jsonl
cmp one.jsonl three.jsonl
# the mask selects something, and all records are there in order
n=$(ifg-show -H train.ifg | wc -l)
[ "$(wc -l <one.jsonl)" -eq "$n" ]
grep -q '"mask":{"dtype":"u8","shape":\[32\],"data":\[[^]]*1' one.jsonl
# the factors of the shards merge to one pass's, up to rounding
[ -s three/factors.ifg ] && [ ! -e three/shards ]
