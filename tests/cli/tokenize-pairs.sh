# Preference pairs from ParaDetox's TSV: each part is the tokenizer's
# encoding of its field (the same ids as a tokens stream of that field),
# --bos and --eot frame them, and bad options and empty prompts are refused.
/usr/bin/python3 -c 'import msgpack' 2>/dev/null || { echo "no python3-msgpack" >&2; exit 77; }
tsv=$IFG_SHARED/data/paradetox/paradetox.tsv
G=$IFG_DATA/gpt2
[ -f "$tsv" ] && [ -d "$G" ] || { echo "no ParaDetox or GPT-2 tokenizer" >&2; exit 77; }
set -e
head -n 400 "$tsv" > pd.tsv
ifg-tokenize -q -t $G --bos --eot --chosen neutral1 --rejected toxic -c neutral2 -o pairs.ifg pd.tsv
ifg-tokenize -q -t $G -f tsv --text neutral1 -o chosen.ifg pd.tsv
ifg-tokenize -q -t $G -f tsv --text toxic -o rejected.ifg pd.tsv
/usr/bin/python3 - <<'PY'
import msgpack, sys, os
sys.path.insert(0, os.environ["IFG_TOP"] + "/tests/ref")
import ifgrec
def recs(p):
    with open(p, "rb") as f:
        return list(msgpack.Unpacker(f, raw=False))
pairs, ch, rj = recs("pairs.ifg"), recs("chosen.ifg"), recs("rejected.ifg")
assert pairs[0]["kind"] == "pairs" and "block" not in pairs[0], pairs[0]
assert pairs[0]["tokenizer"] == ch[0]["tokenizer"]
assert len(pairs) == len(ch) == len(rj) == 400, (len(pairs), len(ch), len(rj))
eot = pairs[0]["tokenizer"]["eot"]
for p, c, r in zip(pairs[1:], ch[1:], rj[1:]):
    assert p["id"] == c["id"] == r["id"]
    assert ifgrec.to_numpy(p["prompt"]).tolist() == [eot]
    assert ifgrec.to_numpy(p["chosen"]).tolist() == ifgrec.to_numpy(c["tokens"]).tolist() + [eot]
    assert ifgrec.to_numpy(p["rejected"]).tolist() == ifgrec.to_numpy(r["tokens"]).tolist() + [eot]
    assert "neutral2" in p
PY
# JSONL with a prompt field; an empty continuation skips the pair
printf '%s\n' '{"p": "Q:", "c": " yes", "r": " no"}' '{"p": "Q:", "c": "", "r": " no"}' > q.jsonl
ifg-tokenize -t $G --text p --chosen c --rejected r -o q.ifg q.jsonl 2>err
grep -q '2 documents (1 skipped).*1 records' err
set +e
fail() { echo "$*" >&2; exit 1; }
ifg-tokenize -t $G --chosen neutral1 pd.tsv >/dev/null 2>err; [ $? = 2 ] && grep -q 'both --chosen and --rejected' err || fail "--chosen alone"
ifg-tokenize -t $G --cont c --chosen c --rejected r q.jsonl >/dev/null 2>err; [ $? = 2 ] || fail "--cont with pairs"
ifg-tokenize -t $G --bos q.jsonl >/dev/null 2>err; [ $? = 2 ] || fail "--bos without pairs"
ifg-tokenize -t $G --chosen neutral1 --rejected toxic -o x.ifg pd.tsv 2>err; [ $? = 1 ] || fail "empty prompt"
grep -q "line 2: empty prompt" err || fail "empty prompt message: $(cat err)"
test ! -e x.ifg || fail "a failed run left output"
ifg-tokenize -t $G --chosen neutral1 --rejected nope -o x.ifg pd.tsv 2>err; [ $? = 1 ] && grep -q "no column 'nope' in the TSV header" err || fail "missing column: $(cat err)"
exit 0
