#!/bin/sh
# Runs every benchmark script tests/bench/*.sh with the bin directory as $1.
# Each prints, besides whatever it shows people, lines of the form
#   bench: NAME ifg=X ref=Y refname=R unit=U ratio=R   (ratio > 1: ifg better)
# or "bench: NAME skipped: why".  A failing script is reported, not fatal.
here=$(cd "$(dirname "$0")" && pwd)
bindir=$1
for b in "$here"/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	echo "== $(basename "$b" .sh)"
	sh "$b" "$bindir" || echo "bench: $(basename "$b" .sh) skipped: script failed (exit $?)"
done
