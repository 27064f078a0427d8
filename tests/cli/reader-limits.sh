# The shared reader's limits (issue 15, items 8 and 11), through the programs:
# a record whose msgpack objects would cost many times its size decoded, an
# invalid IFG_MAX_RECORD, a second header (two streams joined by cat), and
# mask bytes other than 0 and 1.  Each is exit 1 and one message.
hdr='{"kind":"tokens","version":1,"tokenizer":{"name":"t","sha256":"'$(printf '0%.0s' $(seq 64))'","vocab_size":300,"eot":-1},"block":0}'
printf '%s\n%s\n' "$hdr" '{"id":1,"tokens":{"dtype":"u16","shape":[3],"data":[1,2,3]}}' |
	ifg-pack >good.ifg || exit 1
# 3 MB of nils would take 72 MB decoded
/usr/bin/python3 -c '
import sys
n = 3000000
out = sys.stdout.buffer
out.write(open("good.ifg", "rb").read())
out.write(b"\x81\xa1x\xdd" + n.to_bytes(4, "big") + b"\xc0" * n)' >nils.ifg || exit 1
ifg-show -q nils.ifg; echo "exit $?"
ifg-cat -q -o out.ifg nils.ifg; echo "exit $?"
IFG_MAX_RECORD=64k ifg-show good.ifg >/dev/null; echo "exit $?"
IFG_MAX_RECORD=8 ifg-cat -q good.ifg >/dev/null; echo "exit $?"
IFG_MAX_RECORD= ifg-show -q good.ifg; echo "exit $?"
cat good.ifg good.ifg | ifg-cat -q >/dev/null; echo "exit $?"
cat good.ifg good.ifg >twice.ifg
ifg-cat -q twice.ifg >/dev/null; echo "exit $?"
ifg-cat -q good.ifg good.ifg | ifg-show -q; echo "exit $?"
# mask bytes 2 and 255: refused by training and by --show
printf '%s\n%s\n' "$hdr" \
	'{"id":1,"tokens":{"dtype":"u16","shape":[3],"data":[1,2,3]},"mask":{"dtype":"u8","shape":[3],"data":[0,2,1]}}' |
	ifg-pack >mask2.ifg || exit 1
printf '%s\n%s\n' "$hdr" \
	'{"id":1,"tokens":{"dtype":"u16","shape":[3],"data":[1,2,3]},"mask":{"dtype":"u8","shape":[3],"data":[255,0,1]}}' |
	ifg-pack >mask255.ifg || exit 1
ifg-train -q -o m --layers 1 --heads 1 --embd 8 -n 1 mask2.ifg; echo "exit $?"
ifg-train -q -o m --layers 1 --heads 1 --embd 8 -n 1 mask255.ifg; echo "exit $?"
ls -a | grep -c '^m$'
ls -a | grep -c '^out\.ifg'
exit 0
