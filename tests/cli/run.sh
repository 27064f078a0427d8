#!/bin/sh
# CLI test harness.  Usage: run.sh BINDIR [case ...]
#
# Each case is tests/cli/NAME.sh, run by sh in a fresh empty directory with
# BINDIR first in PATH, stdin from /dev/null and these variables:
#   IFG_TOP     the repository root     IFG_SHARED  ../shared beside it
#   IFG_DATA    fetched data (data/)    IFG_SAN     1 in the sanitizer build
# Expectations beside it, each optional:
#   NAME.exit    expected exit status (default 0)
#   NAME.stdout  expected stdout, exactly
#   NAME.stderr  expected stderr, exactly
# A case that exits 77 is skipped (it says why on stderr).
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bindir=$1; shift
[ $# -gt 0 ] || set -- "$here"/*.sh
passed=0 failed=0 skipped=0
for case in "$@"; do
	name=$(basename "$case" .sh)
	[ "$name" = run ] && continue
	dir=$(mktemp -d "${TMPDIR:-/tmp}/ifg-cli.XXXXXX")
	( cd "$dir" && PATH="$bindir:$PATH" IFG_TOP="$top" IFG_SHARED="$top/../shared" \
		IFG_DATA="${IFG_DATA:-$top/data}" sh "$here/$name.sh" \
		</dev/null >"$dir/.stdout" 2>"$dir/.stderr" )
	rc=$?
	want=0
	[ -f "$here/$name.exit" ] && want=$(cat "$here/$name.exit")
	why=
	if [ "$rc" -eq 77 ]; then
		skipped=$((skipped + 1))
		echo "SKIP $name: $(tail -n 1 "$dir/.stderr")"
		rm -rf "$dir"; continue
	fi
	[ "$rc" -eq "$want" ] || why="exit $rc, expected $want"
	if [ -z "$why" ] && [ -f "$here/$name.stdout" ] && ! cmp -s "$here/$name.stdout" "$dir/.stdout"; then
		why="stdout differs"; diff "$here/$name.stdout" "$dir/.stdout" | head -n 20
	fi
	if [ -z "$why" ] && [ -f "$here/$name.stderr" ] && ! cmp -s "$here/$name.stderr" "$dir/.stderr"; then
		why="stderr differs"; diff "$here/$name.stderr" "$dir/.stderr" | head -n 20
	fi
	if [ -z "$why" ] && grep -q -E 'runtime error:|AddressSanitizer|LeakSanitizer' "$dir/.stderr"; then
		why="sanitizer report"
	fi
	if [ -n "$why" ]; then
		failed=$((failed + 1))
		echo "FAIL $name: $why"
		tail -n 15 "$dir/.stderr" | sed 's/^/  | /'
	else
		passed=$((passed + 1))
	fi
	rm -rf "$dir"
done
echo "cli: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
