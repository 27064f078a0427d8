# Bad samples: each exits 1 with one message naming the file and line.
good='{"id": 0, "toxicity": 0.5, "label": "toxic"}'
t() { printf '%s\n%s\n' "$good" "$1" > bad.jsonl; shift
	ifg-eval toxicity "$@" bad.jsonl > /dev/null; echo "exit $?" >&2; }
t '{"id": 1, "toxicity": 0.1'
t '{"toxicity": 0.1}'
t '{"id": 1, "score": 0.1}'
t '{"id": 1, "toxicity": "0.1"}'
t '{"id": 1, "toxicity": 1.5}'
t '{"id": 1, "toxicity": -1e-9}'
t '{"id": 1, "toxicity": NaN}'
t '{"id": 1, "toxicity": 0.1}' --split label
t '{"id": 0, "toxicity": 0.1, "label": "nontoxic"}' --split label
t '{"id": 1, "toxicity": 0.1, "label": "all"}' --split label
: | ifg-eval toxicity; echo "exit $?" >&2
ifg-eval toxicity missing.jsonl; echo "exit $?" >&2
exit 0
