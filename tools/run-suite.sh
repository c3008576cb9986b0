#!/bin/sh
# The project's conformance suite for one architecture, from one build directory: first this
# DLL as a drop-in (counted), then Wine's own ws2_32 (for comparison, never fails the run).
# Each runs under a wineserver of its own that tools/wine-guard.sh watches, in the build's
# own prefix.  Ends with "N passed, N failed[, N skipped]"; exits non-zero on any failure.
#   tools/run-suite.sh LABEL BUILD_DIR [OTHER_ARCH_DLL]
# LABEL names the leg (x64, x86, wine10-x64...): its summaries go to BUILD_DIR/results/.
# PLATFORM_LEG=0 leaves out the comparison run.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
label=$1
b=$(cd "$2" && pwd)
other=$3
export WINEPREFIX="$b/wineprefix"
win() { winepath -w "$1" 2>/dev/null; }
run() {
    limit=$1 name=$2
    shift 2
    "$top/tools/wine-guard.sh" "$limit" "$b/wineserver-$name.log" "$b/winetest/runner.exe" "$@"
}

mkdir -p "$b/results"
ours="$b/results/$label-ours-summary.txt"
platform="$b/results/$label-platform-summary.txt"
rm -f "$ours" "$platform"
"$top/tools/wine-run.sh" --init
tests="$(win "$b/tests/ws2_32_test.exe")"
extra=
[ -z "$other" ] || extra="$(win "$other")"

echo "=== $label: this DLL as a drop-in (counted)"
guard=0
(cd "$b" && run 2400 ours -q -t 120 -l "$label-ours" -o "results/$label-ours-report.txt" -s "results/$label-ours-summary.txt" \
    -e WS2_TEST_TARGET=dropin \
    -e WS2_TEST_FAULT_DLL="$(win "$b/tests/fault/ws2_32.dll")" \
    ${extra:+-e WS2_TEST_EXTRA_DLLS="$extra"} \
    "$tests" > "$b/results/$label-ours-output.txt") || guard=$?
tr -d '\r' < "$b/results/$label-ours-output.txt" | grep -v '^[0-9]* passed, [0-9]* failed' || true

if [ "${PLATFORM_LEG:-1}" != 0 ]; then
    echo "=== $label: Wine's own ws2_32 (for comparison, never fails the run)"
    # Wine's crash messages for its own ws2_32 go to a log: the report has each crash already.
    (cd "$b" && run 1200 platform -q -i -t 20 -l "$label-platform" -o "results/$label-platform-report.txt" \
        -s "results/$label-platform-summary.txt" -e WS2_TEST_TARGET=platform "$tests" \
        2>"$b/results/$label-platform-stderr.log" > "$b/results/$label-platform-output.txt") || true
    tr -d '\r' < "$b/results/$label-platform-output.txt" | tail -n 1 | sed "s/^/$label platform: /"
fi
touch "$ours"

counts=$(tr -d '\r' < "$ours" | tail -n 1)
passed=$(echo "$counts" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
failed=$(echo "$counts" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
skipped=$(echo "$counts" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
# 124 and 125: wine-guard cut the run short (time, or the wineserver died).
if [ "$guard" -ge 124 ] || [ -z "$passed" ] || [ -z "$failed" ]; then
    # Count what the run recorded, and the cut as one failure more.
    passed=$(grep -c '^PASS ' "$ours" || true)
    failed=$(($(grep -c '^FAIL ' "$ours" || true) + 1))
    skipped=$(grep -c '^SKIP ' "$ours" || true)
    [ "$skipped" != 0 ] || skipped=
    echo "the $label run did not finish (wine-guard status $guard, see $b/wineserver-ours.log)"
fi
echo "${passed} passed, ${failed} failed${skipped:+, $skipped skipped}"
[ "$failed" -eq 0 ]
