# ifg-select's masks equal the numpy reference (tests/ref/select_ref.py, a
# direct transcription of the authors' build_toxic_token_mask.py) on random
# score streams: continuous scores, many ties, ties at the threshold,
# scores over many orders of magnitude, empty documents; percentiles 0, 1
# and between; windows 0-3; budgets 0, 1, just under, at and over the edges.
# Also the drop-docs and random baselines.
/usr/bin/python3 -c 'import numpy, msgpack' 2>/dev/null || { echo "needs numpy and msgpack for /usr/bin/python3" >&2; exit 77; }
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/select_ref.py"
$ref suite --cases 150 --seed 7
# one larger stream, the authors' settings, the default budget (2%)
$ref gen --seed 3 --docs 300 --max-len 400 --kind normal big.ifg
ifg-select -q -o out.ifg big.ifg
$ref check big.ifg out.ifg -p 0.99 -w 1 -f 0.02 >/dev/null
ifg-select -q -p 0.9 -w 2 -f 0.05 -o out.ifg big.ifg
$ref check big.ifg out.ifg -p 0.9 -w 2 -f 0.05 >/dev/null
