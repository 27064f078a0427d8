# Token streams the model cannot read: a tokenizer with a larger vocabulary,
# an id outside the model's vocabulary, another kind of stream.  Each exits 1
# naming the file and record.
/usr/bin/python3 -c 'import msgpack, numpy' 2>/dev/null || { echo "no python3-msgpack / python3-numpy" >&2; exit 77; }
/usr/bin/python3 - <<'PY'
import os, sys
sys.path.insert(0, os.environ["IFG_TOP"] + "/tests/ref")
import ifgrec
docs = [[i % 50 for i in range(k, k + 20)] for k in range(8)]
def w(name, docs, vocab):
    with open(name, "wb") as f:
        ifgrec.write_tokens(f, docs, vocab)
w("train.tok", docs, 50)
w("big.tok", docs, 256)
w("id.tok", docs[:2] + [[1, 2, 60, 3]] + docs[2:], 50)
PY
ifg-train -q -o model --layers 1 --heads 1 --embd 8 -n 0 train.tok || exit 1
ifg-eval perplexity -q -j 1 -m model big.tok; echo "exit $?" >&2
ifg-eval perplexity -q -j 1 -m model train.tok id.tok; echo "exit $?" >&2
ifg-eval perplexity -q -j 1 -m model model/model.safetensors; echo "exit $?" >&2
ifg-eval perplexity -q -j 1 -m nomodel train.tok; echo "exit $?" >&2
exit 0
