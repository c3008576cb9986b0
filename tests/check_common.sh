# Sourced by the shell checks under tests/ (setup, rebind): the argument, a throwaway Wine
# prefix removed on exit, and pass/fail counting.  Sets top, arg, tmp and failures; the
# caller sets check_name first and ends with check_summary.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILDDIR_OR_OUT" >&2
    exit 2
fi
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
arg=$(cd "$1" && pwd)
tmp=$(mktemp -d "/tmp/ws2-check-$check_name.XXXXXX")
export WINEPREFIX="$tmp/prefix" WINEDEBUG=-all
unset WINEDLLOVERRIDES WS2_32_TRACE
failures=0

cleanup() {
    wineserver -k 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

pass() {
    echo "ok: $*"
}

check_summary() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) failed"
        exit 1
    fi
    echo "all $check_name checks passed"
}
