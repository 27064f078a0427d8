# Inputs that were accepted though wrong (issue 15, item 11): ifg-pack reads
# zstd as every reader does; a safetensors file whose tensors share data
# bytes; eigen and factors records with a negative eigenvalue (beyond the
# eigensolver's rounding) or a negative Lambda_sum (a sum of squares).
/usr/bin/python3 -c 'import msgpack' 2>/dev/null || { echo "no python3-msgpack" >&2; exit 77; }
printf '%s\n' '{"kind":"tokens","version":1,"block":0}' \
	'{"id":1,"tokens":{"dtype":"u16","shape":[6],"data":[1,2,3,4,5,6]}}' |
	ifg-pack >good.ifg || exit 1
ifg-show -a good.ifg | zstd -q -c >t.jsonl.zst
ifg-pack t.jsonl.zst | cmp - good.ifg && echo "pack: zstd by name"
cp t.jsonl.zst t.jsonl
ifg-pack <t.jsonl | cmp - good.ifg && echo "pack: zstd on stdin"
head -c 20 t.jsonl.zst | ifg-pack >/dev/null; echo "pack, cut zstd: exit $?"

# safetensors: two tensors of the same size made to share their bytes
ifg-train -q -o m --layers 1 --heads 1 --embd 8 --vocab 8 -n 1 good.ifg || exit 1
/usr/bin/python3 - <<'PY' || exit 1
import json, shutil, struct
raw = open("m/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
a, b = "h.0.ln_1.weight", "h.0.ln_1.bias"
hdr[b]["data_offsets"] = hdr[a]["data_offsets"]
text = json.dumps(hdr).encode()
shutil.copytree("m", "alias")
with open("alias/model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
PY
ifg-eval perplexity -q -m m good.ifg >/dev/null && echo "model: loads"
ifg-eval perplexity -q -m alias good.ifg >/dev/null; echo "aliased tensors: exit $?"

# factors: eigenvalues and Lambda
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref gen --seed 3 --lo 0 --hi 4 -o g.ifg || exit 1
ifg-factor covariance -q -o cov.ifg g.ifg && ifg-factor eigen -q -o e.ifg cov.ifg &&
	ifg-factor fit -q -o f.ifg g.ifg || exit 1
/usr/bin/python3 - <<'PY' || exit 1
import msgpack, struct
def edit(src, dst, key, value):
    """Sets element 0 of the f64 array `key` of the first layer record."""
    with open(src, "rb") as f:
        recs = list(msgpack.Unpacker(f, raw=False))
    d = bytearray(recs[1][key]["data"])
    big = max(abs(x) for x in struct.unpack("<%dd" % (len(d) // 8), bytes(d)))
    d[0:8] = struct.pack("<d", value * big)
    recs[1][key]["data"] = bytes(d)
    with open(dst, "wb") as f:
        for r in recs:
            f.write(msgpack.packb(r, use_bin_type=True))
edit("e.ifg", "neg-eig.ifg", "eigvals_A", -0.01)
edit("e.ifg", "tiny-eig.ifg", "eigvals_A", -1e-12)
edit("f.ifg", "neg-eig-f.ifg", "eigvals_S", -0.5)
edit("f.ifg", "neg-lambda.ifg", "Lambda_sum", -1e-30)
PY
ifg-factor lambda -q -e tiny-eig.ifg -o l.ifg g.ifg && echo "eigenvalue -1e-12 of the largest: accepted"
rm -f l.ifg
ifg-factor lambda -q -e neg-eig.ifg -o l.ifg g.ifg; echo "negative eigenvalue: exit $?"
ifg-factor merge -q -o l.ifg f.ifg neg-eig-f.ifg; echo "negative eigenvalue, merge: exit $?"
ifg-factor merge -q -o l.ifg neg-lambda.ifg f.ifg; echo "negative Lambda: exit $?"
ls -a | grep -c '^l\.ifg'
exit 0
