#!/bin/sh
# The test command.  Installs what it needs, builds x64 and x86, then under Wine runs the
# conformance suite against this DLL as a drop-in (these results count) and against Wine's
# own ws2_32 (for comparison only), writes the rule-by-rule table, and ends with the line
# "N passed, N failed".
#   tools/run-tests.sh [--update-docs]    --update-docs also rewrites docs/conformance.md
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh tools/build.sh --no-demo

b="$top/build64"
export WINEPREFIX="$b/wineprefix"
win() { winepath -w "$1" 2>/dev/null; }
run() { "$top/tools/wine-run.sh" "$b/winetest/runner.exe" "$@"; }

# The tools' own checks come first: the runner's, the VM image's, the Wine setup tool's.
infra_passed=0
infra_failed=0
check() {
    name=$1
    shift
    if "$@" >"$b/check-$name.log" 2>&1; then
        infra_passed=$((infra_passed + 1)); echo "PASS $name"
    else
        infra_failed=$((infra_failed + 1)); echo "FAIL $name (see $b/check-$name.log)"
    fi
}
check runner-selftest meson test -C "$b" --no-rebuild runner-selftest
check image meson test -C "$b" --no-rebuild image
check wine-setup bash "$top/tests/setup/check_setup.sh" "$top/out"
check rebind bash "$top/tests/rebind/check_rebind.sh" "$top/out"

cd "$b"
tests="$(win "$b/tests/ws2_32_test.exe")"
echo "=== this DLL as a drop-in (counted)"
run -q -t 120 -l ours-dropin -o ours-report.txt -s ours-summary.txt \
    -e WS2_TEST_TARGET=dropin \
    -e WS2_TEST_FAULT_DLL="$(win "$b/tests/fault/ws2_32.dll")" \
    -e WS2_TEST_EXTRA_DLLS="$(win "$top/build32/dlls/ws2_32/ws2_32.dll")" \
    "$tests" | tr -d '\r' | grep -v '^[0-9]* passed, [0-9]* failed' || true
echo "=== Wine's own ws2_32 (for comparison, never fails the run)"
# Wine's crash messages for its own ws2_32 go to a log: the report has each crash already.
run -q -i -t 20 -l platform -o platform-report.txt -s platform-summary.txt \
    -e WS2_TEST_TARGET=platform "$tests" 2>platform-stderr.log | tr -d '\r' | tail -n 1 | sed 's/^/platform: /' || true

python3 "$top/tools/conformance.py" ours-summary.txt platform-summary.txt > conformance.md
[ "$1" = "--update-docs" ] && cp conformance.md "$top/docs/conformance.md" && echo "docs/conformance.md updated"

counts=$(tr -d '\r' < ours-summary.txt | tail -n 1)
passed=$(echo "$counts" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
failed=$(echo "$counts" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
skipped=$(echo "$counts" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
if [ -z "$passed" ] || [ -z "$failed" ]; then
    echo "no summary from the runner"
    passed=0
    failed=1
fi
passed=$((passed + infra_passed))
failed=$((failed + infra_failed))
echo "${passed} passed, ${failed} failed${skipped:+, $skipped skipped}"
[ "$failed" -eq 0 ]
