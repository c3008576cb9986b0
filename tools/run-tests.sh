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
# Each run under a wineserver of its own that tools/wine-guard.sh watches: if Wine's server
# dies, the run ends there instead of waiting for it forever.
run() {
    limit=$1 label=$2
    shift 2
    "$top/tools/wine-guard.sh" "$limit" "$b/wineserver-$label.log" "$b/winetest/runner.exe" "$@"
}

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
guard=0
rm -f ours-summary.txt platform-summary.txt
run 2400 ours -q -t 120 -l ours-dropin -o ours-report.txt -s ours-summary.txt \
    -e WS2_TEST_TARGET=dropin \
    -e WS2_TEST_FAULT_DLL="$(win "$b/tests/fault/ws2_32.dll")" \
    -e WS2_TEST_EXTRA_DLLS="$(win "$top/build32/dlls/ws2_32/ws2_32.dll")" \
    "$tests" > ours-output.txt || guard=$?
tr -d '\r' < ours-output.txt | grep -v '^[0-9]* passed, [0-9]* failed' || true
echo "=== Wine's own ws2_32 (for comparison, never fails the run)"
# Wine's crash messages for its own ws2_32 go to a log: the report has each crash already.
run 1200 platform -q -i -t 20 -l platform -o platform-report.txt -s platform-summary.txt \
    -e WS2_TEST_TARGET=platform "$tests" 2>platform-stderr.log > platform-output.txt || true
tr -d '\r' < platform-output.txt | tail -n 1 | sed 's/^/platform: /'
touch ours-summary.txt platform-summary.txt

python3 "$top/tools/conformance.py" ours-summary.txt platform-summary.txt > conformance.md
[ "$1" = "--update-docs" ] && cp conformance.md "$top/docs/conformance.md" && echo "docs/conformance.md updated"

counts=$(tr -d '\r' < ours-summary.txt | tail -n 1)
passed=$(echo "$counts" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
failed=$(echo "$counts" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
skipped=$(echo "$counts" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
# 124 and 125: wine-guard cut the run short (time, or the wineserver died).
if [ "$guard" -ge 124 ] || [ -z "$passed" ] || [ -z "$failed" ]; then
    # The run was cut short: count what it recorded, and the cut as one failure more.
    passed=$(grep -c '^PASS ' ours-summary.txt || true)
    failed=$(($(grep -c '^FAIL ' ours-summary.txt || true) + 1))
    skipped=$(grep -c '^SKIP ' ours-summary.txt || true)
    [ "$skipped" != 0 ] || skipped=
    echo "the counted run did not finish (wine-guard status $guard, see $b/wineserver-ours.log)"
fi
passed=$((passed + infra_passed))
failed=$((failed + infra_failed))
echo "${passed} passed, ${failed} failed${skipped:+, $skipped skipped}"
[ "$failed" -eq 0 ]
