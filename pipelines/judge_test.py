#!/usr/bin/env python3
"""judge_test.py: accuracy and AUC of a judge on one labelled test split.

    ifg-toxicity score -m judge.model --field text test.jsonl | python3 judge_test.py NAME

Reads JSON lines with "label" (1 toxic, 0 not) and "toxicity" (the judge's
probability); prints one JSON line: the split's name, the counts, accuracy at
0.5 and the ROC AUC (Mann-Whitney, ties counted half; null when the split has
one class only).
"""
import bisect
import json
import sys

name = sys.argv[1] if len(sys.argv) > 1 else "test"
pos, neg, right = [], [], 0
for line in sys.stdin:
    r = json.loads(line)
    p, y = r["toxicity"], int(r["label"])
    (pos if y else neg).append(p)
    right += (p >= 0.5) == bool(y)
n = len(pos) + len(neg)
if n == 0:
    sys.exit("judge_test: %s: no scored lines" % name)
auc = None
if pos and neg:
    neg.sort()
    auc = sum(bisect.bisect_left(neg, p) + 0.5 * (bisect.bisect_right(neg, p) -
              bisect.bisect_left(neg, p)) for p in pos) / (len(pos) * len(neg))
print(json.dumps({"split": name, "positives": len(pos), "negatives": len(neg),
                  "accuracy": right / n, "auc": auc}))
