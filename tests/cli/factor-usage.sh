# Usage errors exit 2.
ifg-factor 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-factor bogus 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-factor -s ekfak fit x 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-factor lambda x 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-factor fit - 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-factor -e e covariance 2>/dev/null; [ $? -eq 2 ] || exit 1
ifg-factor --help | head -n 1 | grep -q '^usage: ifg-factor covariance'
ifg-factor --version | grep -q '^ifg-factor (ifg) '
