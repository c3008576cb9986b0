#!/bin/bash
# tests/setup/check_setup.sh BUILDDIR_OR_OUT: tools/wine-setup.sh for real, in a throwaway
# prefix.  For the whole prefix, then for one program (--app), then beside a program
# (--app-dir): install, check status and that a Winsock server runs on our DLL, uninstall,
# and require system32, syswow64 and user.reg to be exactly as before.  Also checks the
# refusals.  Exits non-zero on any failure, printing the difference.
check_name=setup
. "$(dirname "$0")/../check_common.sh"
setup="$top/tools/wine-setup.sh"
port=$((47200 + $$ % 500))

indent() {
    sed "s/^/${1:-  }/"
}

# An out/ layout from either argument: out/ as it is, or a build dir and its build32 sibling.
find_dlls() {
    if [ -f "$arg/x64/ws2_32.dll" ]; then
        out=$arg
        build="$top/build64"
    elif [ -f "$arg/dlls/ws2_32/ws2_32.dll" ]; then
        out="$tmp/out"
        build=$arg
        mkdir -p "$out/x64" "$out/x86"
        cp "$arg/dlls/ws2_32/ws2_32.dll" "$out/x64/"
        for b in "${arg%64}32" "$top/build32"; do
            if [ -f "$b/dlls/ws2_32/ws2_32.dll" ]; then
                cp "$b/dlls/ws2_32/ws2_32.dll" "$out/x86/"
                break
            fi
        done
    else
        echo "$arg holds neither x64/ws2_32.dll (out/) nor dlls/ws2_32/ws2_32.dll (a build dir)" >&2
        exit 2
    fi
    server="$build/tools/demo/condserver.exe"
    [ -f "$server" ] || server=""
    # The x86 server, where this kernel runs 32-bit programs (the prefix is then WoW64).
    server32="${build%64}32/tools/demo/condserver.exe"
    if ! sh "$top/tools/i386-runs.sh" >/dev/null || [ ! -f "$server32" ] || [ ! -f "$out/x86/ws2_32.dll" ]; then
        server32=""
    fi
}

# Every file of system32 and syswow64 by sha256, the prefix's top level (the setup's state
# area included), and user.reg without its modification times.
snapshot() {
    (
        cd "$WINEPREFIX/drive_c/windows"
        find system32 syswow64 -type f -print0 | sort -z | xargs -0 sha256sum
        find system32 syswow64 -type l -printf '%p -> %l\n' | sort
        ls -A "$WINEPREFIX"
        sed -e '/^#time=/d' -e 's/^\(\[.*\]\) [0-9]*$/\1/' "$WINEPREFIX/user.reg"
    )
}

# Runs the demo server as PROGRAM (in DIR) with the trace on, and three Linux clients;
# prints the server's log.  The clients' view is left in clients.log.
run_server() {
    local dir=$1 program=$2 log="$tmp/server.log"
    port=$((port + 1))
    ( cd "$dir" && WS2_32_TRACE=1 timeout 60 wine "$program" "$port" 3 ) >"$log" 2>&1 &
    local pid=$!
    timeout 60 python3 "$top/tools/demo/clients.py" "$port" 3 >"$tmp/clients.log" 2>&1 || true
    wait "$pid" || true
    tr -d '\r' <"$log"
}

# What our DLL makes of the demo's policy: accept, defer then accept, refuse with a reset.
# (Wine's builtin closes the refused client without a reset, so it is not held to this.)
clients_saw_ours() {
    [ "$(grep -c 'server said: accepted' "$tmp/clients.log")" -eq 2 ] &&
        grep -q 'reset by the server' "$tmp/clients.log"
}

# Our DLL announces its platform in the trace; Wine's builtin has no such line.
check_server_uses() {
    local want=$1 dir=$2 program=$3 log
    if [ -z "$server" ]; then
        echo "skipped: no condserver.exe (build the demo: ninja -C build64)"
        return 0
    fi
    log=$(run_server "$dir" "$program")
    if ! grep -q 'server said: accepted' "$tmp/clients.log"; then
        fail "$program served no client"
        cat "$tmp/clients.log"
        echo "$log"
        return 0
    fi
    if [ "$want" = ours ] && grep -q 'platform_init: platform is' <<<"$log" && clients_saw_ours; then
        pass "$program served 3 clients on our DLL ($(grep -o 'platform is .*' <<<"$log"))"
    elif [ "$want" = builtin ] && ! grep -q '^ws2_32:' <<<"$log"; then
        pass "$program served 3 clients on Wine's builtin"
    else
        fail "$program should have used $want ws2_32; its log and the clients':"
        echo "$log"
        cat "$tmp/clients.log"
    fi
}

# Installed in the prefix's system folders, each architecture's DLL is its own and takes
# Wine's builtin of the same architecture as its platform: the last server's trace says which.
check_arch_bound() {
    if grep -q "platform is .*$1" "$tmp/server.log"; then
        pass "the server's DLL took its platform from Wine's $1 folder"
    else
        fail "the server's DLL did not take its platform from Wine's $1 folder"
    fi
}

check_wine_starts() {
    if wine cmd /c exit >/dev/null 2>&1; then
        pass "wine cmd /c exit"
    else
        fail "wine cmd /c exit failed"
    fi
}

# status must name the install, and the override value must be in the registry.
check_status() {
    local expect=$1 key=$2 st
    st=$("$setup" status --dlls "$out")
    indent '  status: ' <<<"$st"
    grep -qx "installed for $expect" <<<"$st" || fail "status does not say: installed for $expect"
    grep -q 'system32/ws2_32.dll: ours, same as' <<<"$st" || fail "status: system32 DLL not ours"
    if wine reg query "$key" /v ws2_32 2>/dev/null | grep -q 'REG_SZ *native,builtin'; then
        pass "$key ws2_32=native,builtin"
    else
        fail "$key has no ws2_32=native,builtin"
    fi
}

compare_snapshot() {
    wineserver -w
    snapshot >"$tmp/after"
    if diff -u "$tmp/before" "$tmp/after" >"$tmp/diff"; then
        pass "$1: the prefix is as it was"
    else
        fail "$1: the prefix differs after uninstall:"
        cat "$tmp/diff"
    fi
}

# --- refusals, before any prefix exists --------------------------------------------------

check_refusals() {
    local msg
    mkdir -p "$tmp/not-a-prefix" "$tmp/empty-out"
    if msg=$("$setup" install --prefix "$tmp/not-a-prefix" --dlls "$out" 2>&1); then
        fail "install into a non-prefix succeeded"
    else
        pass "refused: $msg"
    fi
    if msg=$("$setup" install --app-dir "$tmp/not-a-prefix" --arch x64 --dlls "$tmp/empty-out" 2>&1); then
        fail "install without built DLLs succeeded"
    else
        pass "refused: $msg"
    fi
    [ -z "$(ls -A "$tmp/not-a-prefix")" ] || fail "a refused install left files behind"
}

# --- the three modes ---------------------------------------------------------------------

check_whole_prefix() {
    echo "== whole prefix"
    "$setup" install --dlls "$out" | indent
    check_status "the whole prefix" 'HKCU\Software\Wine\DllOverrides'
    check_wine_starts
    check_server_uses ours "$tmp/bin" condserver.exe
    check_arch_bound x86_64-windows
    if [ -n "$server32" ]; then
        check_server_uses ours "$tmp/bin32" condserver.exe
        check_arch_bound i386-windows
    fi
    "$setup" uninstall --dlls "$out" | indent
    compare_snapshot "whole prefix"
}

check_one_app() {
    echo "== one program (--app condserver.exe)"
    "$setup" install --app condserver.exe --dlls "$out" | indent
    check_status condserver.exe 'HKCU\Software\Wine\AppDefaults\condserver.exe\DllOverrides'
    check_wine_starts
    check_server_uses ours "$tmp/bin" condserver.exe
    check_server_uses builtin "$tmp/bin" other.exe
    "$setup" uninstall --app condserver.exe --dlls "$out" | indent
    compare_snapshot "--app"
}

check_app_dir() {
    local app="$tmp/app" msg
    echo "== beside the program (--app-dir)"
    mkdir -p "$app"
    [ -z "$server" ] || cp "$server" "$app/"
    echo "fake" >"$app/ws2_32.dll"      # a program that ships its own: kept as the backup
    (cd "$app" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$tmp/app-before"
    msg=$("$setup" install --app-dir "$app" --arch x64 --dlls "$out")
    indent <<<"$msg"
    grep -q 'WINEDLLOVERRIDES="ws2_32=n,b"' <<<"$msg" || fail "--app-dir printed no WINEDLLOVERRIDES line"
    "$setup" status --app-dir "$app" --arch x64 --dlls "$out" | indent '  status: '
    WINEDLLOVERRIDES="ws2_32=n,b" check_server_uses ours "$app" condserver.exe
    "$setup" uninstall --app-dir "$app" --arch x64 --dlls "$out" | indent
    if (cd "$app" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | diff -u "$tmp/app-before" -; then
        pass "--app-dir: the folder is as it was"
    else
        fail "--app-dir: the folder differs after uninstall"
    fi
    compare_snapshot "--app-dir (registry and system folders untouched)"
}

# Over an override the user had: install twice, add a program, uninstall both in turn.
check_over_previous() {
    local key='HKCU\Software\Wine\DllOverrides' msg
    echo "== whole prefix over ws2_32=builtin, installed twice, plus --app a.exe"
    wine reg add "$key" /v ws2_32 /d builtin /f >/dev/null 2>&1
    wineserver -w
    cp "$tmp/before" "$tmp/before.orig"
    snapshot >"$tmp/before"
    "$setup" install --dlls "$out" | indent
    "$setup" install --dlls "$out" --app a.exe | indent
    "$setup" install --dlls "$out" >/dev/null
    msg=$("$setup" uninstall --dlls "$out")
    indent <<<"$msg"
    if grep -q 'the DLLs stay: still installed for a.exe' <<<"$msg" &&
       is_ours_file "$WINEPREFIX/drive_c/windows/system32/ws2_32.dll"; then
        pass "uninstalling the whole prefix keeps the DLLs a.exe still uses"
    else
        fail "the DLLs went while a.exe was still installed"
    fi
    "$setup" uninstall --all --dlls "$out" | indent
    compare_snapshot "over a previous override"
    wine reg delete "$key" /v ws2_32 /f >/dev/null 2>&1
    wineserver -w
    mv "$tmp/before.orig" "$tmp/before"
}

is_ours_file() {
    grep -qa WS2_32_TRACE "$1"
}

find_dlls
check_refusals
echo "== making a prefix in $WINEPREFIX"
WINEDLLOVERRIDES="mscoree,mshtml=" wineboot -i >/dev/null 2>&1
mkdir -p "$tmp/bin"
if [ -n "$server" ]; then
    cp "$server" "$tmp/bin/condserver.exe"
    cp "$server" "$tmp/bin/other.exe"
fi
if [ -n "$server32" ]; then
    mkdir -p "$tmp/bin32"
    cp "$server32" "$tmp/bin32/condserver.exe"
    echo "== the prefix is WoW64: the x86 DLL is checked too"
else
    reason=$(sh "$top/tools/i386-runs.sh") && reason="no x86 condserver.exe or DLL built"
    echo "== x86 not checked: $reason"
fi
# A program's first run may write to the registry itself; that happens before the snapshot.
wine cmd /c exit >/dev/null 2>&1 || true
[ -z "$server" ] || run_server "$tmp/bin" condserver.exe >/dev/null || true
wineserver -w
snapshot >"$tmp/before"

check_whole_prefix
check_one_app
check_app_dir
check_over_previous

check_summary
