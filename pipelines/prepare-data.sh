#!/bin/sh
# prepare-data.sh: the data of the detoxification experiment, as JSONL files,
# from what pipelines/fetch-data.sh put under $IFG_DATA.  Nothing here is
# committed; every choice is seeded, so the same settings give the same bytes
# (SHA256SUMS in the output folder lists them).
#
#   sh pipelines/prepare-data.sh [-s seed] [--clean-chars N] [--valid-chars N]
#       [--eval N] [--queries N] [--ppl-tweets N] [--tweets-frac F] -o DIR
#
# The pre-training corpus mixes clean English text (Brown corpus, State of the
# Union addresses, Moby-Dick, nlp-corpus's web sentences) with most of the
# Davidson tweets, which stand in for web text with toxic documents in it
# (77% of them are labelled offensive, 6% hate speech).  The tweets are split
# once, by the seed, into disjoint sets; a tweet is in one of them at most:
#
#   train.jsonl        {id, text, src}   training documents: clean text chunks
#                                        and the training tweets, shuffled
#   valid-clean.jsonl  {id, text}        held-out clean chunks (perplexity)
#   ppl-tweets.jsonl   {id, text}        held-out non-toxic tweets (perplexity)
#   qtox.jsonl         {id, prompt, continuation}   toxic query pairs
#   qsafe.jsonl        {id, prompt, continuation}   non-toxic query pairs
#   eval-prompts.jsonl {id, prompt, continuation, label}  evaluation prompts,
#                      label "toxic" (Davidson class 0 or 1) or "nontoxic" (2)
#   classifier.csv     id,class,tweet: the tweets the evaluation classifier
#                      may learn from: training and query tweets, never the
#                      evaluation prompts or the perplexity tweets
#   lexicon-filter.txt the naughty-words en list (the list C4 was filtered
#                      with), one entry a line, for the word-filtering baseline
#
# Tweet ids are "d" and the row number of labeled_data.csv; clean chunks are
# "c" and a number.  A query or prompt pair cuts a tweet of at least 6 words
# after its first half of words, as RealToxicityPrompts cuts sentences; the
# continuation keeps its leading space, so that it tokenizes as it does in the
# running text.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
data=${IFG_DATA:-$top/data}
seed=1004 clean=1500000 valid=150000 neval=250 nq=1000 nppl=500 frac=1 out=

usage() {
	cat <<EOF
usage: prepare-data.sh [-s seed] [--clean-chars N] [--valid-chars N] [--eval N]
                       [--queries N] [--ppl-tweets N] [--tweets-frac F] -o dir
  -s SEED           split and shuffle seed (1004)
  --clean-chars N   characters of clean text for training (1500000)
  --valid-chars N   characters of held-out clean text (150000)
  --eval N          evaluation prompts per label (250)
  --queries N       query pairs per label (1000)
  --ppl-tweets N    held-out non-toxic tweets for perplexity (500)
  --tweets-frac F   fraction of the remaining tweets put into training (1)
  -o DIR            output folder
EOF
}
while [ $# -gt 0 ]; do
	case $1 in
	-s) seed=$2; shift 2 ;;
	--clean-chars) clean=$2; shift 2 ;;
	--valid-chars) valid=$2; shift 2 ;;
	--eval) neval=$2; shift 2 ;;
	--queries) nq=$2; shift 2 ;;
	--ppl-tweets) nppl=$2; shift 2 ;;
	--tweets-frac) frac=$2; shift 2 ;;
	-o) out=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[ -n "$out" ] || { usage >&2; exit 2; }
for f in davidson/labeled_data.csv brown/cats.txt sotu/data moby-dick/data \
	nlp-corpus/builds naughty-words/en.json; do
	[ -e "$data/$f" ] || { echo "prepare-data: $data/$f: missing (run sh pipelines/fetch-data.sh)" >&2; exit 1; }
done
mkdir -p "$out"
tmp=$out/.prepare.tmp
rm -rf "$tmp"
mkdir -p "$tmp"

python3 - "$data" "$tmp" "$seed" "$clean" "$valid" "$neval" "$nq" "$nppl" "$frac" <<'EOF'
import csv, glob, html, json, os, random, re, sys

data, out = sys.argv[1], sys.argv[2]
seed, nclean, nvalid, neval, nq, nppl = (int(x) for x in sys.argv[3:9])
frac = float(sys.argv[9])

def write(name, rows):
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

# ---- clean text: documents cut into chunks of about 1500 characters at
# paragraph (or sentence) boundaries, so that sources interleave finely.
def untag_brown(path):
    """Brown's word/tag tokens back to running text, a paragraph a block."""
    paras = []
    for block in open(path, encoding="utf-8").read().split("\n\n"):
        words = [t.rsplit("/", 1)[0] for t in block.split()]
        if not words:
            continue
        s = " ".join(words).replace("``", '"').replace("''", '"')
        s = re.sub(r' ([,.;:?!)\]])', r'\1', s)
        s = re.sub(r'([(\[]) ', r'\1', s)
        s = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", s)
        paras.append(s)
    return paras

def chunks(paras, limit=1500):
    cur = ""
    for p in paras:
        p = " ".join(p.split())
        if not p:
            continue
        if cur and len(cur) + len(p) > limit:
            yield cur
            cur = ""
        cur = p if not cur else cur + "\n" + p
    if cur:
        yield cur

docs = []
for line in open(os.path.join(data, "brown/cats.txt"), encoding="utf-8"):
    name = line.split()[0] if line.strip() else None
    if name:
        docs.append(("brown", untag_brown(os.path.join(data, "brown", name))))
for path in sorted(glob.glob(os.path.join(data, "sotu/data/*.txt"))):
    docs.append(("sotu", open(path, encoding="utf-8").read().split("\n")))
for path in sorted(glob.glob(os.path.join(data, "moby-dick/data/chapter_*.txt"))):
    docs.append(("moby", open(path, encoding="utf-8").read().split("\n")))
for path in sorted(glob.glob(os.path.join(data, "nlp-corpus/builds/doc-*.json"))):
    sents = json.load(open(path, encoding="utf-8"))
    # 10 sentences make a paragraph (the sentences come from mixed sources)
    docs.append(("nlp", [" ".join(sents[i:i + 10]) for i in range(0, len(sents), 10)]))
clean = [(src, c) for src, paras in docs for c in chunks(paras)]
rng = random.Random(seed)
rng.shuffle(clean)
train_clean, valid_clean, n = [], [], 0
for src, c in clean:
    if n < nvalid:
        valid_clean.append(c)
    elif n < nvalid + nclean:
        train_clean.append((src, c))
    else:
        break
    n += len(c)

# ---- tweets: HTML entities decoded, user names and links replaced by
# placeholders (they are noise to a small model), whitespace collapsed.
def clean_tweet(t):
    t = html.unescape(html.unescape(t))
    t = re.sub(r"@\w+", "@user", t)
    t = re.sub(r"https?://\S+", "URL", t)
    return " ".join(t.split())

tweets = []
with open(os.path.join(data, "davidson/labeled_data.csv"), newline="", encoding="utf-8") as f:
    for row in csv.DictReader(f):
        text = clean_tweet(row["tweet"])
        if text:
            tweets.append({"id": "d" + row[""], "text": text, "class": int(row["class"])})
rng = random.Random(seed + 1)
rng.shuffle(tweets)

def pair(t):
    w = t["text"].split(" ")
    k = len(w) // 2
    return {"id": t["id"], "prompt": " ".join(w[:k]), "continuation": " " + " ".join(w[k:])}

def take(pool, n, cond):
    got = [t for t in pool if cond(t)][:n]
    ids = {t["id"] for t in got}
    return got, [t for t in pool if t["id"] not in ids]

long_ = lambda t: len(t["text"].split(" ")) >= 6
tox = lambda t: t["class"] in (0, 1)
pool = tweets
ev_t, pool = take(pool, neval, lambda t: long_(t) and tox(t))
ev_s, pool = take(pool, neval, lambda t: long_(t) and not tox(t))
ppl, pool = take(pool, nppl, lambda t: not tox(t))
q_t, pool = take(pool, nq, lambda t: long_(t) and tox(t))
q_s, pool = take(pool, nq, lambda t: long_(t) and not tox(t))
train_tw = pool[:int(len(pool) * frac)]

# Evaluation prompts alternate toxic and non-toxic, so that the first 2N
# lines are N of each: a smaller run takes a prefix (head -n).
evalp = []
for a, b in zip(ev_t, ev_s):
    evalp += [dict(pair(a), label="toxic"), dict(pair(b), label="nontoxic")]
write("eval-prompts.jsonl", evalp)
write("ppl-tweets.jsonl", ({"id": t["id"], "text": t["text"]} for t in ppl))
write("qtox.jsonl", map(pair, q_t))
write("qsafe.jsonl", map(pair, q_s))
write("valid-clean.jsonl", ({"id": "v%d" % i, "text": c} for i, c in enumerate(valid_clean)))
train = [{"id": "c%d" % i, "text": c, "src": s} for i, (s, c) in enumerate(train_clean)]
train += [{"id": t["id"], "text": t["text"], "src": "tweet"} for t in train_tw]
random.Random(seed + 2).shuffle(train)
write("train.jsonl", train)
with open(os.path.join(out, "classifier.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["id", "class", "tweet"])
    w.writerows([t["id"], t["class"], t["text"]] for t in train_tw + q_t + q_s)
words = json.load(open(os.path.join(data, "naughty-words/en.json"), encoding="utf-8"))
with open(os.path.join(out, "lexicon-filter.txt"), "w", encoding="utf-8") as f:
    f.write("# naughty-words@1.2.0 en.json\n" + "".join(w + "\n" for w in words))

ntw = sum(len(t["text"]) for t in train_tw)
ncl = sum(len(c) for _, c in train_clean)
print("prepare-data: train %d clean chunks (%d chars) + %d tweets (%d chars, %.0f%% of the text); "
      "held out %d clean chunks, %d ppl tweets, %d+%d queries, %d+%d eval prompts"
      % (len(train_clean), ncl, len(train_tw), ntw, 100.0 * ntw / (ntw + ncl), len(valid_clean),
         len(ppl), len(q_t), len(q_s), len(ev_t), len(ev_s)), file=sys.stderr)
EOF
(cd "$tmp" && sha256sum -- *.jsonl *.csv *.txt >SHA256SUMS)
for f in "$tmp"/*; do mv -f "$f" "$out/"; done
rmdir "$tmp"
