# A pipe (copied to a temporary file for the passes), zstd input and output
# and a named pipe all give the same stream as the plain file; random is
# reproducible by its seed.
/usr/bin/python3 -c 'import numpy, msgpack' 2>/dev/null || { echo "needs numpy and msgpack for /usr/bin/python3" >&2; exit 77; }
set -e
/usr/bin/python3 "$IFG_TOP/tests/ref/select_ref.py" gen --seed 11 --docs 50 --max-len 100 s.ifg
ifg-select -q -p 0.95 -L 60 s.ifg > a.ifg
cat s.ifg | ifg-select -q -p 0.95 -L 60 > b.ifg
cmp a.ifg b.ifg
zstd -q s.ifg -o s.ifg.zst
ifg-select -q -p 0.95 -L 60 -o c.ifg.zst < s.ifg.zst
zstd -dcq c.ifg.zst | cmp - a.ifg
ifg-select -q -z -p 0.95 -L 60 s.ifg | zstd -dcq | cmp - a.ifg
mkfifo fifo
cat s.ifg > fifo &
ifg-select -q -p 0.95 -L 60 fifo > d.ifg
cmp a.ifg d.ifg
ifg-select -q -m random -s 5 s.ifg > r1.ifg
cat s.ifg | ifg-select -q -m random -s 5 > r2.ifg
cmp r1.ifg r2.ifg
ifg-select -q -m random -s 6 s.ifg > r3.ifg
! cmp -s r1.ifg r3.ifg
# nothing is left in TMPDIR
mkdir tmp
cat s.ifg | TMPDIR=$PWD/tmp ifg-select -q > /dev/null
[ -z "$(ls tmp)" ]
# the summary line
ifg-select -L 60 s.ifg 2>&1 >/dev/null | grep -q '^ifg-select: selected [0-9]* of [0-9]* tokens in [0-9]* of 50 documents (ifguide: threshold .* at p = 0.99, window 1, budget 60)$'
