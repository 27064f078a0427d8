# Usage errors exit 2; a missing model exits 1.
ifg-grad 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-grad -m m -t f16 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-grad -m m --sum -t bf16 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-grad -m no-such-model </dev/null 2>/dev/null; [ $? -eq 1 ] || exit 1
ifg-grad --help | head -n 1 | grep -q '^usage: ifg-grad '
ifg-grad --version | grep -q '^ifg-grad (ifg) '
