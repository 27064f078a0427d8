# Usage errors exit 2.
ifg-influence g.ifg 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-influence -q q -d -1 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-influence -q q -d lots 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-influence --help | head -n 1 | grep -q '^usage: ifg-influence '
ifg-influence --version | grep -q '^ifg-influence (ifg) '
ifg-influence -q q -s ekfac 2>/dev/null; [ $? -eq 2 ] || exit 1
