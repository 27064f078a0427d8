#!/usr/bin/env python3
"""reference_pieces.py: held-out human text cut as the models' samples are.

    python3 pipelines/reference_pieces.py [-s SEED] [-w WORDS] [-k K] FILE...

Reads JSON lines with a "text" field; cuts each text into pieces of WORDS
whitespace-separated words (15: about 20 tokens of the demo's BPE, a
sample's length); shuffles the pieces (SEED) and writes them as JSON lines
{"id": "ref<G>", "sample": i, "continuation": piece}, K pieces (25, the
samples per prompt) to a group, whole groups only.  Scored by the judge
and summarised by ifg-eval toxicity, the groups give the EMT and TP of text
that people wrote: the judge's floor, what a model that writes like the
held-out text would score.
"""
import argparse
import json
import random
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-s", "--seed", type=int, default=0)
    ap.add_argument("-w", "--words", type=int, default=15)
    ap.add_argument("-k", type=int, default=25)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    if a.words < 1 or a.k < 1:
        sys.exit("reference_pieces: -w and -k must be at least 1")
    pieces = []
    for path in a.files:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    words = json.loads(line)["text"].split()
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    sys.exit("reference_pieces: %s:%d: no text field (%s)" % (path, n, e))
                for i in range(0, len(words) - a.words + 1, a.words):
                    pieces.append(" ".join(words[i:i + a.words]))
    random.Random(a.seed).shuffle(pieces)
    groups = len(pieces) // a.k
    if groups == 0:
        sys.exit("reference_pieces: fewer than %d pieces of %d words" % (a.k, a.words))
    out = sys.stdout
    for j in range(groups * a.k):
        out.write(json.dumps({"id": "ref%d" % (j // a.k), "sample": j % a.k,
                              "continuation": pieces[j]}) + "\n")


if __name__ == "__main__":
    main()
