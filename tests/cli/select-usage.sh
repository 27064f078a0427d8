# Usage errors exit 2, data errors 1, each with one message.
ifg-select --help | head -n 1 | grep -q '^usage: ifg-select ' || exit 1
ifg-select --version | grep -q '^ifg-select (ifg) ' || exit 1
ifg-select -m bogus x.ifg 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-select -p 1.5 x.ifg 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-select -w -1 x.ifg 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-select -L lots x.ifg 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-select -f 2 x.ifg 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-select -m words x.ifg 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-select -m words -t tok.json x.ifg 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-select --show x.ifg 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-select --show --color sometimes -t t x.ifg 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-select a.ifg b.ifg 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-select missing.ifg 2>/dev/null; [ $? -eq 1 ] || exit 1
exit 0
