# ifg-train's usage and data errors: exit 2 and 1 with messages.
/usr/bin/python3 -c 'import msgpack' 2>/dev/null || { echo "no python3-msgpack" >&2; exit 77; }
fail() { echo "$*" >&2; exit 1; }
expect() { # STATUS PATTERN command...
	want=$1 pat=$2; shift 2
	"$@" 2>err >out; rc=$?
	[ $rc = "$want" ] || fail "$*: exit $rc, expected $want"
	grep -q -- "$pat" err || fail "$*: stderr lacks '$pat': $(cat err)"
}
printf 'hello world, hello world\n' | /usr/bin/python3 "$IFG_TOP/tests/ref/ifgrec.py" 8 > t.ifg
expect 2 'output directory is required' ifg-train t.ifg
expect 2 'does not divide' ifg-train -o m -b 6 -m 4 t.ifg
expect 2 'exclude each other' ifg-train -o m -n 3 -e 1 t.ifg
expect 2 'exclude each other' ifg-train -o m -e 1 --tokens 100 t.ifg
expect 2 'schedule' ifg-train -o m --schedule warm t.ifg
expect 2 '' ifg-train -o m --lr -1 t.ifg
expect 2 'shape from the checkpoint' ifg-train -o m --init x --layers 2 t.ifg
expect 1 'more than the model' ifg-train -o m --ctx 4 t.ifg
expect 1 'outside the model' ifg-train -o m --vocab 100 --embd 8 --heads 2 t.ifg
expect 1 'cannot open' ifg-train -o m --init nowhere t.ifg
expect 1 '' ifg-train -o m nonexistent.ifg
printf 'not records' > junk
expect 1 '' ifg-train -o m junk
ifg-train --help | grep -q '^usage: ifg-train' || fail "--help"
ifg-train --version | grep -q 'ifg-train' || fail "--version"
test ! -e m || fail "a failed run left output"
