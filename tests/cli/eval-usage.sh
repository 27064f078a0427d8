# Usage errors exit 2 with a message; --help and --version exit 0.
ifg-eval --help | head -n 1 | grep -q '^usage: ifg-eval toxicity ' || exit 1
ifg-eval --version | grep -q '^ifg-eval (ifg) ' || exit 1
echo '{"id": 0, "toxicity": 0.5}' > s.jsonl
u() { ifg-eval "$@" 2>/dev/null; [ $? -eq 2 ] || { echo "not a usage error: $*" >&2; exit 1; }; }
u
u bogus s.jsonl
u toxicity -m model s.jsonl
u toxicity -b 4 s.jsonl
u perplexity s.jsonl
u perplexity -m model --split label s.jsonl
u perplexity -m model -b 0 s.jsonl
u perplexity -m model -j many s.jsonl
u toxicity --nonsense s.jsonl
# options before or after the command
ifg-eval --json toxicity s.jsonl | grep -q '"tp":1' || exit 1
ifg-eval toxicity s.jsonl --json | grep -q '"emt":0.5' || exit 1
exit 0
