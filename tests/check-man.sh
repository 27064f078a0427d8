#!/bin/sh
# Man page checks: mandoc -Tlint clean; for each program page, the SYNOPSIS
# equals the usage line of `prog --help`; and the EXAMPLES run.
#
# Examples: in EXAMPLES, lines of a .Bd -literal display that start with
# "$ " are commands (a trailing "\e" continues a line).  A page's commands run
# in order as one sh -e script in a fresh directory, with the programs in
# PATH and the CLI-test variables (IFG_TOP, IFG_SHARED, IFG_DATA); a page
# can prepare its files in its own earlier commands.
bindir=$1; shift
top=$(cd "$(dirname "$0")/.." && pwd)
failed=0 passed=0
for page in "$@"; do
	name=$(basename "$page"); prog=${name%.*}
	lint=$(mandoc -Tlint -Wwarning "$page" 2>&1 | grep -v 'referenced manual not found')
	if [ -n "$lint" ]; then
		echo "FAIL $name: mandoc -Tlint:"; echo "$lint" | sed 's/^/  | /'
		failed=$((failed + 1)); continue
	fi
	if [ "${name##*.}" = 1 ] && [ -x "$bindir/$prog" ]; then
		syn=$(mandoc -Tascii -Owidth=1000 "$page" | col -b |
			sed -n '/^SYNOPSIS/,/^[A-Z]/p' | sed '1d;$d' | tr -s ' \n' '  ' | sed 's/^ //;s/ $//')
		use=$("$bindir/$prog" --help | sed -n '1,/^[^ u]/p' | sed '$d' |
			sed 's/^usage: //;s/^       //' | tr -s ' \n' '  ' | sed 's/^ //;s/ $//')
		if [ "$syn" != "$use" ]; then
			echo "FAIL $name: SYNOPSIS and --help differ:"
			echo "  man:    $syn"; echo "  --help: $use"
			failed=$((failed + 1)); continue
		fi
	fi
	script=$(sed -n '/^\.Sh EXAMPLES/,/^\.Sh /p' "$page" | sed -n '/^\.Bd -literal/,/^\.Ed/p' |
		sed 's/\\e/\\/g; s/\\-/-/g; s/\\(aq/'"'"'/g; s/\\&//g' |
		awk '/^\$ / { print substr($0, 3); cont = /\\$/; next }
		     cont { print; cont = /\\$/ }')
	if [ -n "$script" ] && [ ! -d "$top/../shared/data" ] &&
	   printf '%s\n' "$script" | grep -q 'IFG_SHARED'; then
		# as the CLI cases that need ../shared do
		echo "SKIP $name: EXAMPLES: they read ../shared, which is not beside the tree"
		script=
	fi
	if [ -n "$script" ] && [ "${IFG_SAN:-}" != 1 ]; then
		dir=$(mktemp -d "${TMPDIR:-/tmp}/ifg-man.XXXXXX")
		if ! (cd "$dir" && PATH="$bindir:$PATH" IFG_TOP="$top" IFG_SHARED="$top/../shared" \
			IFG_DATA="${IFG_DATA:-$top/data}" sh -e -c "$script" </dev/null >"$dir/.out" 2>&1); then
			echo "FAIL $name: EXAMPLES failed:"; tail -n 15 "$dir/.out" | sed 's/^/  | /'
			failed=$((failed + 1)); rm -rf "$dir"; continue
		fi
		rm -rf "$dir"
	fi
	passed=$((passed + 1))
done
# every program has its page among those checked
for prog in "$bindir"/ifg-*; do
	name=$(basename "$prog")
	case " $* " in *"/$name.1 "*) ;; *)
		echo "FAIL $name: no man page man/$name.1"; failed=$((failed + 1)) ;;
	esac
done
echo "man pages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
