# Usage errors exit 2; --help and --version exit 0.
ifg-sample --help | head -n 1
ifg-sample --version | grep -c '^ifg-sample (ifg) '
ifg-sample -t tok; echo "exit $?"
ifg-sample -m m -t t -p 1.5 < /dev/null; echo "exit $?"
ifg-sample -m m -t t -k 0 < /dev/null; echo "exit $?"
ifg-sample -m m -t t -T -1 < /dev/null; echo "exit $?"
ifg-sample -m m -t t --top-k x < /dev/null; echo "exit $?"
ifg-sample -m m -t t --bogus < /dev/null 2>/dev/null; echo "exit $?"
