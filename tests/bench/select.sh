#!/bin/sh
# ifg-select on 4M tokens (2000 documents of 2048, the authors' settings):
# wall time of the whole program (its four passes over the file included)
# against the numpy reference's selection alone (scores already in memory),
# and peak memory of the two processes.
# Usage: select.sh BINDIR
bin=${1:?usage: select.sh BINDIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
ref="/usr/bin/python3 $top/tests/ref/select_ref.py"
if ! /usr/bin/python3 -c 'import numpy, msgpack' 2>/dev/null || [ ! -x /usr/bin/time ]; then
	echo "bench: select-4M skipped: needs numpy and msgpack for /usr/bin/python3, and /usr/bin/time"
	echo "bench: select-4M-rss skipped: needs numpy and msgpack for /usr/bin/python3, and /usr/bin/time"
	exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/ifg-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
$ref gen --seed 1 --docs 2000 --max-len 2048 --fixed-len --kind normal "$dir/scores.ifg"
/usr/bin/time -f '%e %M' -o "$dir/ifg.time" "$bin/ifg-select" -q -o "$dir/out.ifg" "$dir/scores.ifg"
/usr/bin/time -f '%e %M' -o "$dir/ref.time" $ref bench "$dir/scores.ifg" > "$dir/ref.s"
$ref check "$dir/scores.ifg" "$dir/out.ifg" > /dev/null || { echo "bench: select-4M skipped: masks differ"; exit 0; }
read ifg_s ifg_kb < "$dir/ifg.time"
read ref_s < "$dir/ref.s"
read x ref_kb < "$dir/ref.time"
echo "bench: select-4M ifg=$ifg_s ref=$ref_s refname=numpy unit=s ratio=$(echo "$ref_s $ifg_s" | awk '{printf "%.2f", $1 / ($2 > 0.01 ? $2 : 0.01)}')"
echo "bench: select-4M-rss ifg=$ifg_kb ref=$ref_kb refname=numpy unit=KiB ratio=$(echo "$ref_kb $ifg_kb" | awk '{printf "%.2f", $1 / $2}')"
