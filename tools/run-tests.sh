#!/bin/sh
# The test command.  Installs what it needs, builds x64 and x86, then runs every leg: the
# tools' own checks, and the conformance suite under Wine for each architecture this kernel
# runs (this DLL as a drop-in counts; Wine's own ws2_32 is run beside it for comparison).
# Each leg ends with "N passed, N failed[, N skipped]"; the last line here is their sum.
#   tools/run-tests.sh [--update-docs]    --update-docs also rewrites docs/conformance.md and
#                                         docs/wine-suite.md
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh tools/build.sh --no-demo

logs="$top/build64/legs"
rm -rf "$logs"
mkdir -p "$logs"
passed=0 failed=0 skipped=0

# leg NAME COMMAND...: runs a leg, shows its output, adds its counts; a leg that ends without
# a count line (it crashed, or was cut short) counts as one failure.
leg() {
    name=$1
    shift
    echo "=== leg $name: $*"
    status=0
    "$@" >"$logs/$name.log" 2>&1 || status=$?
    tr -d '\r' <"$logs/$name.log" | sed "s/^/[$name] /"
    counts=$(tr -d '\r' <"$logs/$name.log" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    p=$(echo "$counts" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
    f=$(echo "$counts" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
    s=$(echo "$counts" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
    if [ -z "$p" ] || [ -z "$f" ]; then
        p=0 f=1 s=0
        echo "leg $name ended without counts (status $status): one failure"
    elif [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "leg $name exited with $status: one failure"
    fi
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
    echo "$name: $p passed, $f failed${s:+, $s skipped}" >>"$logs/summary.txt"
}

# A shell check of one tool: one pass or one failure.
check() {
    name=$1
    shift
    if "$@" >"$logs/check-$name.log" 2>&1; then
        echo "1 passed, 0 failed"
    else
        tail -n 30 "$logs/check-$name.log"
        echo "0 passed, 1 failed"
    fi
}

leg runner-selftest check runner-selftest meson test -C build64 --no-rebuild --print-errorlogs runner-selftest
leg image check image meson test -C build64 --no-rebuild --print-errorlogs image
leg wine-setup check wine-setup bash tests/setup/check_setup.sh out
leg rebind check rebind bash tests/rebind/check_rebind.sh out

leg x64 sh tools/run-suite.sh x64 build64 build32/dlls/ws2_32/ws2_32.dll
leg difftest-x64 sh tools/difftest-leg.sh build64 x64
leg wine-suite-x64 sh tools/wine-suite.sh --arch x64 --dll build64/dlls/ws2_32/ws2_32.dll --work build64/wine-suite
if reason=$(sh tools/i386-runs.sh); then
    leg x86 sh tools/run-suite.sh x86 build32 build64/dlls/ws2_32/ws2_32.dll
    leg wine-suite-x86 sh tools/wine-suite.sh --arch x86 --dll build32/dlls/ws2_32/ws2_32.dll --work build64/wine-suite
else
    echo "x86 runs skipped: $reason"
fi
# Debian 13: its mingw-w64 12 builds, its Wine 10 runs the suite and Wine 10's own tests.
leg debian13 sh tools/debian13.sh test

# Only the version: Debian's wine wrapper would print its wine32 hint (on stderr, unless
# WINEDEBUG has -all) just above the counts, where it reads as an error.
wine=$(WINEDEBUG=-all wine --version 2>/dev/null | sed 's/^wine-//; s/ .*//')
python3 tools/conformance.py "Wine $wine x64=build64/results/x64" "Wine $wine x86=build32/results/x86" \
    "Wine 10.0 (Debian 13) x64=build-d13-64/results/wine10-x64" \
    "Wine 10.0 (Debian 13) x86=build-d13-32/results/wine10-x86" \
    > build64/conformance.md
if [ "$1" = "--update-docs" ]; then
    cp build64/conformance.md docs/conformance.md
    # Wine's own tests: every Wine and architecture run here left its results in one place.
    sh tools/wine-suite.sh --report docs/wine-suite.md --work build64/wine-suite
    echo "docs/conformance.md and docs/wine-suite.md updated"
fi

echo "=== legs"
cat "$logs/summary.txt"
[ "$skipped" -ne 0 ] || skipped=
echo "${passed} passed, ${failed} failed${skipped:+, $skipped skipped}"
[ "$failed" -eq 0 ]
