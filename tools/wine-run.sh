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
# The Wine the prefix was made by: a prefix made before wine32 was installed cannot run x86
# programs, so one this script made for another Wine is made again.
wine_id=$(dpkg-query -W -f='${Package}:${Architecture}=${Version} ' wine64 wine32:i386 2>/dev/null || true)
[ -n "$wine_id" ] || wine_id=$(wine --version)
(
    flock 9
    if [ -f "$WINEPREFIX/.made-for" ] && [ "$(cat "$WINEPREFIX/.made-for")" != "$wine_id" ]; then
        wineserver -k 2>/dev/null || true
        rm -rf "$WINEPREFIX"
    fi
    if [ ! -f "$WINEPREFIX/system.reg" ]; then
        wineboot -i >/dev/null 2>&1 || true
        wineserver -w
        echo "$wine_id" >"$WINEPREFIX/.made-for"
    fi
) 9>"$WINEPREFIX.lock"
[ "$1" != --init ] || exit 0
exec wine "$@"
