#!/bin/sh
# Runs a Windows program under Wine with this project's DLL taking ws2_32's place, in a
# throwaway prefix (WINEPREFIX, default ./wineprefix) created on first use.  A crash exits
# non-zero instead of starting the debugger.  With --init alone, only makes the prefix.
set -e
: "${WINEPREFIX:=$(pwd)/wineprefix}"
WINEDEBUG=${WINEDEBUG:--all}
WINEDLLOVERRIDES="ws2_32=n,b;winedbg.exe=d;mscoree,mshtml=${WINEDLLOVERRIDES:+;$WINEDLLOVERRIDES}"
export WINEPREFIX WINEDEBUG WINEDLLOVERRIDES
mkdir -p "$(dirname "$WINEPREFIX")"
(
    flock 9
    if [ ! -f "$WINEPREFIX/system.reg" ]; then
        wineboot -i >/dev/null 2>&1 || true
        wineserver -w
    fi
) 9>"$WINEPREFIX.lock"
[ "$1" != --init ] || exit 0
exec wine "$@"
