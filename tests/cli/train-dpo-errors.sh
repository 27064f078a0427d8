# ifg-train --dpo's usage and data errors: exit 2 and 1 with messages that
# say what is wrong (the kind of the input, an empty continuation, another
# tokenizer or vocabulary than the model's).
/usr/bin/python3 -c 'import msgpack' 2>/dev/null || { echo "no python3-msgpack" >&2; exit 77; }
fail() { echo "$*" >&2; exit 1; }
expect() { # STATUS PATTERN command...
	want=$1 pat=$2; shift 2
	"$@" 2>err >out; rc=$?
	[ $rc = "$want" ] || fail "$*: exit $rc, expected $want: $(cat err)"
	grep -q -- "$pat" err || fail "$*: stderr lacks '$pat': $(cat err)"
}
/usr/bin/python3 - <<'PY'
import sys, os
sys.path.insert(0, os.environ["IFG_TOP"] + "/tests/ref")
import ifgrec
good = [([1, 2], [3, 4, 5], [6, 7]), ([8], [9], [10, 11])]
with open("pairs.ifg", "wb") as f:
    ifgrec.write_pairs(f, good, 256)
with open("empty.ifg", "wb") as f:
    ifgrec.write_pairs(f, good + [([1], [], [2])], 256)
with open("other-tok.ifg", "wb") as f:
    ifgrec.write_pairs(f, good, 256, name="other", sha256="1" * 64)
with open("big-vocab.ifg", "wb") as f:
    ifgrec.write_pairs(f, good + [([1], [300], [2])], 512, name="other")
with open("tokens.ifg", "wb") as f:
    ifgrec.write_tokens(f, [list(range(20)), list(range(5, 30))], 256)
with open("other512.ifg", "wb") as f:
    ifgrec.write_tokens(f, [list(range(20)), list(range(5, 30))], 512, name="other",
                        sha256="1" * 64)
import msgpack   # a stream that names no tokenizer: its model's checkpoint says none
with open("notok.ifg", "wb") as f:
    f.write(msgpack.packb({"kind": "tokens", "version": 1, "block": 0}))
    f.write(msgpack.packb({"id": 0, "tokens": ifgrec.array(list(range(20)), "u16")}))
PY
ifg-train -q -o base --layers 1 --heads 2 --embd 8 --ctx 32 -b 2 -n 2 tokens.ifg || fail "base"
ifg-train -q -o wide --layers 1 --heads 2 --embd 8 --ctx 32 --vocab 512 -b 1 -n 2 notok.ifg ||
	fail "wide"
ifg-train -q -o other --layers 1 --heads 2 --embd 8 --ctx 32 -b 2 -n 2 other512.ifg ||
	fail "other"
expect 2 '--init is required' ifg-train --dpo -o m pairs.ifg
expect 2 'not with --dpo' ifg-train --dpo -o m --init base --valid tokens.ifg pairs.ifg
expect 2 'reference model of --dpo' ifg-train -o m --ref base tokens.ifg
expect 2 '--beta' ifg-train --dpo -o m --init base --beta 0 pairs.ifg
expect 1 "expected a 'pairs' stream, got 'tokens'" ifg-train --dpo -o m --init base tokens.ifg
expect 1 "expected a 'tokens' stream, got 'pairs'" ifg-train -o m --init base pairs.ifg
expect 1 "record 3 at byte [0-9]*: empty chosen continuation" ifg-train --dpo -o m --init base empty.ifg
expect 1 "^ifg-train: --init: the pairs: tokenizer 'other' (sha256 111111111111...), but model 'base' was trained with tokenizer 'bytes' (sha256 000000000000...; --any-tokenizer overrides)" ifg-train --dpo -o m --init base other-tok.ifg
expect 1 "outside the model's vocabulary" ifg-train --dpo -o m --init base big-vocab.ifg
expect 1 "^ifg-train: --ref: the pairs: tokenizer 'bytes' (sha256 000000000000...), but model 'other' was trained with tokenizer 'other'" \
	ifg-train --dpo -o m --init base --ref other pairs.ifg
expect 1 "vocabulary of 512 tokens, the model 256" \
	ifg-train --dpo -o m --init base --ref wide/model.safetensors pairs.ifg
expect 1 "cannot open" ifg-train --dpo -o m --init base --ref nowhere pairs.ifg
test ! -e m || fail "a failed run left output"
ifg-train --help | grep -q '^       ifg-train --dpo' || fail "--help"
