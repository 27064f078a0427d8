# Data errors: the wrong kind, scores that do not match the tokens, a NaN
# score, empty input; each exits 1 with one message naming the record.
/usr/bin/python3 -c 'import numpy, msgpack' 2>/dev/null || { echo "needs numpy and msgpack for /usr/bin/python3" >&2; exit 77; }
/usr/bin/python3 - <<'PY'
import msgpack, struct
h = {"kind": "scores", "version": 1, "tokenizer": {"name": "t", "sha256": "0" * 64, "vocab_size": 10, "eot": -1}}
def a(dt, vals, fmt):
    return {"dtype": dt, "shape": [len(vals)], "data": struct.pack("<%d%s" % (len(vals), fmt), *vals)}
def w(name, recs):
    with open(name, "wb") as f:
        for r in recs:
            f.write(msgpack.packb(r, use_bin_type=True))
w("kind.ifg", [dict(h, kind="tokens"), {"id": 0, "tokens": a("u16", [1, 2], "H")}])
w("short.ifg", [h, {"id": 0, "tokens": a("u16", [1, 2], "H"), "scores": a("f32", [1.0], "f")}])
w("nan.ifg", [h, {"id": 0, "tokens": a("u16", [1, 2], "H"), "scores": a("f32", [1.0, float("nan")], "f")}])
w("empty.ifg", [h])
PY
ifg-select kind.ifg > /dev/null
ifg-select short.ifg > /dev/null
ifg-select nan.ifg > /dev/null
: | ifg-select > /dev/null
# a stream with no records gives a header and nothing else
ifg-select -q empty.ifg | ifg-show -k tokens | grep -c . >&2
exit 0
