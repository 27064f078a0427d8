# The Debian texts that pipelines/fetch-data.sh extracts (debian-text.py):
# every line a JSON object with a non-empty "text", "id" and "src"; every
# chapter of Austen's six novels and of the KJV; no markup, R or OSIS left.
d="$IFG_DATA/debian-text"
[ -f "$d/.ifg-ok" ] || { echo "no $d (sh pipelines/fetch-data.sh)" >&2; exit 77; }
[ -x /usr/bin/python3 ] || { echo "no /usr/bin/python3" >&2; exit 77; }
exec /usr/bin/python3 - "$d" <<'PY'
import json, os, re, sys
d = sys.argv[1]
want = {"austen": (269, 3.5e6), "kjv": (1189, 4.0e6), "wordnet": (5000, 8.0e6),
        "fortunes": (10000, 2.0e6)}
bad = re.compile(r"<[a-zA-Z/][^>]*>|\\[a-z]+\b|\bNA\b|\x08|[\x00-\x07]|\ufffd")
ok = True
for name, (ndocs, nchars) in want.items():
    ids, chars, dirty = set(), 0, []
    for line in open(os.path.join(d, name + ".jsonl"), encoding="utf-8"):
        doc = json.loads(line)
        assert set(doc) == {"id", "text", "src"}, doc.keys()
        assert doc["text"].strip() and doc["id"] not in ids, doc["id"]
        ids.add(doc["id"])
        chars += len(doc["text"])
        if name != "fortunes" and bad.search(doc["text"]):
            dirty.append(doc["id"])
    assert os.path.getsize(os.path.join(d, "LICENSE." + name)) > 0
    print("%s: %d documents, %d characters, %d with markup" % (name, len(ids), chars, len(dirty)))
    if len(ids) < ndocs or chars < nchars or dirty:
        print("%s: expected %d documents, %d characters, none with markup: %s"
              % (name, ndocs, nchars, dirty[:5]), file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
PY
