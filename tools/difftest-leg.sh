#!/bin/sh
# The differential tester's leg for one build, as CI runs it: the regression seeds of
# tests/diff/seeds.txt, and for x64 four seeds of a fixed range besides, so that the leg stays
# within a minute or two.  Ends with "N passed, N failed" (seeds).
#   tools/difftest-leg.sh BUILD_DIR x64|x86
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
b=$1
range="--start 1000 --seeds 4"
[ "$2" = x64 ] || range=
exec python3 "$top/tools/difftest.py" --exe-dir "$b/tests/diff" --dll "$b/dlls/ws2_32/ws2_32.dll" \
    --prefix "$b/wineprefix-diff" --seeds-file "$top/tests/diff/seeds.txt" $range
