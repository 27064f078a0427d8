#!/bin/sh
# Runs Check suite binaries; prints one summary line; fails if any failed.
# Check's own output ("100%: Checks: N, Failures: 0, Errors: 0") is kept.
passed=0 failed=0
for t in "$@"; do
	if CK_VERBOSITY=${CK_VERBOSITY:-normal} "$t"; then
		passed=$((passed + 1))
	else
		echo "FAIL: $t" >&2
		failed=$((failed + 1))
	fi
done
echo "unit suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
