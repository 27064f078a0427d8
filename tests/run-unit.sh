#!/bin/sh
# Runs Check suite binaries; prints one summary line; fails if any failed.
# Check's own output ("100%: Checks: N, Failures: 0, Errors: 0") is kept.
# A suite prints "SKIP test: why" for a test it did not add because what the
# test needs is missing (testutil.h ifg_test_add_if); those are counted.
passed=0 failed=0 skipped=0
log=$(mktemp "${TMPDIR:-/tmp}/ifg-unit.XXXXXX")
trap 'rm -f "$log"' EXIT
for t in "$@"; do
	CK_VERBOSITY=${CK_VERBOSITY:-normal} "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	skipped=$((skipped + $(grep -c '^SKIP ' "$log")))
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		echo "FAIL: $t" >&2
		failed=$((failed + 1))
	fi
done
echo "unit suites: $passed passed, $failed failed; $skipped tests skipped"
[ "$failed" -eq 0 ]
