#!/bin/bash
# tests/rebind/check_rebind.sh BUILDDIR_OR_OUT: tools/rebind for real.  Rebinds
# rebind_probe.exe (and its delay-import twin) with the Linux tool, runs it under Wine with
# our DLL beside it as ws2_3x.dll and no DLL override, and requires that ws2_3x.dll served
# WSAStartup and the TCP loopback worked.  Also: rebind.exe under Wine writes the same bytes,
# only the name and the checksum change, the checksum is right, rebinding back gives the
# original file, the refusals leave their input as it was, and spoiled files never crash it.
check_name=rebind
. "$(dirname "$0")/../check_common.sh"
pe_util="$top/tests/rebind/pe_util.py"

# The tools and the DLL from out/, or from a build dir and its 32-bit sibling; the probes
# from the 64-bit build dir either way (build64 beside out/).
find_files() {
    local build32
    if [ -f "$arg/x64/ws2_32.dll" ]; then
        dll="$arg/x64/ws2_32.dll"
        rebind="$arg/tools/rebind"
        rebind_exe="$arg/tools/x64/rebind.exe"
        rebind_exe32="$arg/tools/x86/rebind.exe"
        build="$top/build64"
        build32="$top/build32"
    elif [ -f "$arg/dlls/ws2_32/ws2_32.dll" ]; then
        dll="$arg/dlls/ws2_32/ws2_32.dll"
        rebind="$arg/tools/rebind/rebind-linux"
        rebind_exe="$arg/tools/rebind/rebind.exe"
        build="$arg"
        build32="${arg%64}32"
        rebind_exe32="$build32/tools/rebind/rebind.exe"
    else
        echo "$arg holds neither x64/ws2_32.dll (out/) nor dlls/ws2_32/ws2_32.dll (a build dir)" >&2
        exit 2
    fi
    probe="$build/tests/rebind/rebind_probe.exe"
    probe_delay="$build/tests/rebind/rebind_probe_delay.exe"
    probe32="$build32/tests/rebind/rebind_probe.exe"
    dll32="$build32/dlls/ws2_32/ws2_32.dll"
    for f in "$dll" "$rebind" "$rebind_exe" "$probe" "$probe_delay"; do
        [ -f "$f" ] || { echo "$f is missing: build first (tools/build.sh --no-demo)" >&2; exit 2; }
    done
}

# The Linux tool: its output (both streams) in $msg, its exit code in $rc.
rb() {
    rc=0
    msg=$("$rebind" "$@" 2>&1) || rc=$?
}

# rebind.exe under Wine, run in DIR so that the file names stay relative.
rb_win() {
    local dir=$1
    shift
    rc=0
    msg=$(cd "$dir" && wine "$rebind_exe" "$@" 2>&1 | tr -d '\r') || rc=$?
}

# The file offset after "name at " in the tool's output: where the renamed string lies.
name_offset() {
    sed -n '/name at 0x/{s/.*name at \(0x[0-9a-f]*\)).*/\1/p;q}' <<<"$msg"
}

leftovers() {
    find "$1" -maxdepth 1 -name '*.rebind-tmp*' -o -name '*.rebind-old*'
}

# ORIG and NEW differ in the name at OFF (now NAME, any letter case) and the checksum only,
# and NEW's checksum is right (or zero, as ORIG's was).
check_rewrite() {
    local what=$1 orig=$2 new=$3 off=$4 want=$5 got sums stored computed
    got=$(dd if="$new" bs=1 skip=$((off)) count=${#want} status=none)
    if [ "${got,,}" = "${want,,}" ]; then
        pass "$what: the name at $off reads $got"
    else
        fail "$what: the name at $off reads '$got', not $want"
    fi
    if msg=$(python3 "$pe_util" changed "$orig" "$new" "$off:${#want}"); then
        pass "$what: no other byte changed than the name and the checksum"
    else
        fail "$what: $msg"
    fi
    read -r stored computed < <(python3 "$pe_util" sum "$new")
    sums=$(python3 "$pe_util" sum "$orig")
    if [ "${sums%% *}" = 0x00000000 ] && [ "$stored" = 0x00000000 ]; then
        pass "$what: checksum 0 before, 0 after"
    elif [ "$stored" = "$computed" ] && [ "$stored" != 0x00000000 ]; then
        pass "$what: checksum $stored is right (was ${sums%% *})"
    else
        fail "$what: checksum stored $stored, computed $computed"
    fi
}

# Runs PROGRAM in DIR under Wine, no override, with the trace on; output in $run_log.
run_probe() {
    local dir=$1 program=$2
    run_rc=0
    (cd "$dir" && WS2_32_TRACE=1 timeout 60 wine "$program") >"$tmp/run.log" 2>&1 || run_rc=$?
    run_log=$(tr -d '\r' <"$tmp/run.log")
}

# PROGRAM in DIR must have got WSAStartup from WANT and sent its ping over loopback.
check_probe() {
    local what=$1 dir=$2 program=$3 want=$4 from
    run_probe "$dir" "$program"
    from=$(sed -n 's/^WSAStartup from //p' <<<"$run_log")
    if [ "$run_rc" -eq 0 ] && [ "${from,,}" = "${want,,}" ] &&
       grep -q '^loopback: "ping" sent and received' <<<"$run_log"; then
        pass "$what: WSAStartup from $from, loopback worked"
    else
        fail "$what: expected WSAStartup from $want and a loopback ping (exit $run_rc):"
        sed 's/^/  /' <<<"$run_log"
        return 0
    fi
    if [[ "${want,,}" == *'\ws2_3x.dll' ]]; then
        if grep -q 'platform_init: platform is' <<<"$run_log"; then
            pass "$what: our DLL's trace: $(grep -o -m 1 'platform is .*' <<<"$run_log")"
        else
            fail "$what: no trace from our DLL"
        fi
    fi
}

# --- the files we ship -------------------------------------------------------------------

check_shipped() {
    echo "== the tools"
    if grep -q '^usage: rebind' <<<"$("$rebind" --help)"; then
        pass "the Linux tool runs: $rebind"
    else
        fail "$rebind --help printed no usage"
    fi
    [ "$(python3 "$pe_util" machine "$rebind_exe")" = "PE32+ 0x8664" ] &&
        pass "$rebind_exe is x64" || fail "$rebind_exe is not an x64 program"
    if [ -f "$rebind_exe32" ]; then
        [ "$(python3 "$pe_util" machine "$rebind_exe32")" = "PE32 0x14c" ] &&
            pass "$rebind_exe32 is x86" || fail "$rebind_exe32 is not an x86 program"
    else
        fail "no x86 rebind.exe ($rebind_exe32)"
    fi
    if [ -f "$arg/SHA256SUMS" ]; then
        if (cd "$arg" && sha256sum -c --quiet SHA256SUMS) &&
           [ "$(grep -c -e ' tools/rebind$' -e ' tools/x64/rebind.exe$' -e ' tools/x86/rebind.exe$' \
                "$arg/SHA256SUMS")" -eq 3 ]; then
            pass "SHA256SUMS covers the three tools and matches"
        else
            fail "SHA256SUMS does not cover or match the tools"
        fi
    fi
}

# --- rebinding, and running what was rebound ---------------------------------------------

check_program() {
    local app="$tmp/app" control="$tmp/control" off dump
    echo "== rebind_probe.exe (import)"
    mkdir -p "$app" "$control"
    cp "$probe" "$control/rebind_probe.exe"
    cp "$dll" "$control/ws2_3x.dll"
    check_probe "not rebound (control)" "$control" rebind_probe.exe \
        'C:\windows\system32\ws2_32.dll'

    rb -o "$app/rebind_probe.exe" "$probe"
    sed 's/^/  /' <<<"$msg"
    if [ "$rc" -eq 0 ] && grep -q 'import of WS2_32.dll .* -> WS2_3x.dll' <<<"$msg" &&
       grep -q 'put our x64/ws2_32.dll beside it as ws2_3x.dll' <<<"$msg"; then
        pass "rebound into $app"
    else
        fail "rebind exited $rc"
        return 0
    fi
    off=$(name_offset)
    rebound_desc=$(sed -n 's/.*descriptor at \(0x[0-9a-f]*\),.*/\1/p' <<<"$msg")
    cmp -s "$probe" "$control/rebind_probe.exe" || fail "-o changed its input"
    check_rewrite "import" "$probe" "$app/rebind_probe.exe" "$off" ws2_3x.dll
    # (Whole outputs, not pipes into grep -q: with pipefail an early grep exit fails the pipe.)
    dump=$(x86_64-w64-mingw32-objdump -p "$app/rebind_probe.exe")
    if grep -q 'DLL Name: WS2_3x.dll' <<<"$dump" && ! grep -qi 'DLL Name: ws2_32.dll' <<<"$dump"; then
        pass "objdump reads the import as WS2_3x.dll"
    else
        fail "objdump does not read the import as WS2_3x.dll"
    fi
    cp "$dll" "$app/ws2_3x.dll"
    check_probe "rebound" "$app" rebind_probe.exe "$(winepath -w "$app/ws2_3x.dll")"
    cp "$app/rebind_probe.exe" "$tmp/rebound.exe"
    rebound_off=$off

    echo "== rebinding back"
    rb --name ws2_32.dll -o "$tmp/back.exe" "$tmp/rebound.exe"
    if [ "$rc" -eq 0 ] && cmp -s "$probe" "$tmp/back.exe"; then
        pass "--name ws2_32.dll gives the original file back, byte for byte"
    else
        fail "rebinding back (exit $rc) did not give the original file: $msg"
    fi
    cp "$probe" "$tmp/nosum.exe"
    python3 "$pe_util" set-sum "$tmp/nosum.exe" 0
    rb -o "$tmp/nosum-rebound.exe" "$tmp/nosum.exe"
    [ "$rc" -eq 0 ] && grep -q 'checksum 0 (none) left as it is' <<<"$msg" ||
        fail "a file without a checksum: exit $rc: $msg"
    check_rewrite "no checksum" "$tmp/nosum.exe" "$tmp/nosum-rebound.exe" "$off" ws2_3x.dll
    rb --name ws2_32.dll -o "$tmp/nosum-back.exe" "$tmp/nosum-rebound.exe"
    cmp -s "$tmp/nosum.exe" "$tmp/nosum-back.exe" &&
        pass "without a checksum, too, rebinding back gives the original" ||
        fail "without a checksum, rebinding back did not give the original"
}

# dlltool and ld leave the delay-import directory empty; set it as MSVC and lld link it.
check_delay() {
    local app="$tmp/app-delay" exe="$tmp/app-delay/rebind_probe_delay.exe" va base off
    echo "== rebind_probe_delay.exe (delay import)"
    mkdir -p "$app"
    cp "$probe_delay" "$tmp/delay.exe"
    va=$(x86_64-w64-mingw32-nm "$probe_delay" | sed -n 's/^\([0-9a-f]*\) . __DELAY_IMPORT_DESCRIPTOR_.*/\1/p')
    base=$(python3 "$pe_util" image-base "$probe_delay")
    python3 "$pe_util" set-dir "$tmp/delay.exe" 13 $((0x$va - base)) 64
    rb -o "$exe" "$tmp/delay.exe"
    sed 's/^/  /' <<<"$msg"
    if [ "$rc" -eq 0 ] && grep -q 'delay import of ws2_32.dll .* -> ws2_3x.dll' <<<"$msg"; then
        pass "the delay import rebound"
    else
        fail "rebinding the delay import: exit $rc"
        return 0
    fi
    off=$(name_offset)
    check_rewrite "delay import" "$tmp/delay.exe" "$exe" "$off" ws2_3x.dll
    cp "$dll" "$app/ws2_3x.dll"
    check_probe "delay import, rebound" "$app" rebind_probe_delay.exe "$(winepath -w "$app/ws2_3x.dll")"
    cp "$tmp/delay.exe" "$tmp/delay-in.exe"
}

# The PE32 path: rebound and compared, and run with our x86 DLL where this kernel runs 32-bit
# programs (the prefix is then WoW64).
check_pe32() {
    echo "== rebind_probe.exe, x86 (PE32)"
    if [ ! -f "$probe32" ]; then
        fail "no x86 probe ($probe32): build the 32-bit tree"
        return 0
    fi
    rb -o "$tmp/rebound32.exe" "$probe32"
    if [ "$rc" -eq 0 ] && grep -q 'PE32 x86, import of WS2_32.dll' <<<"$msg" &&
       grep -q 'put our x86/ws2_32.dll beside it' <<<"$msg"; then
        pass "PE32 rebound"
        check_rewrite "PE32" "$probe32" "$tmp/rebound32.exe" "$(name_offset)" ws2_3x.dll
        if reason=$(sh "$top/tools/i386-runs.sh"); then
            mkdir -p "$tmp/app32"
            cp "$tmp/rebound32.exe" "$tmp/app32/rebind_probe.exe"
            cp "$dll32" "$tmp/app32/ws2_3x.dll"
            check_probe "x86, rebound" "$tmp/app32" rebind_probe.exe "$(winepath -w "$tmp/app32/ws2_3x.dll")"
        else
            echo "  not run: $reason"
        fi
    else
        fail "rebinding the x86 probe: exit $rc: $msg"
    fi
}

# rebind.exe under Wine must write exactly what the Linux tool wrote, with -o and in place.
check_windows_tool() {
    local work="$tmp/win" name
    echo "== rebind.exe under Wine"
    mkdir -p "$work"
    for name in probe delay-in probe32; do
        case $name in
        probe) cp "$probe" "$work/in.exe"; want="$tmp/rebound.exe" ;;
        delay-in) cp "$tmp/delay-in.exe" "$work/in.exe"; want="$tmp/app-delay/rebind_probe_delay.exe" ;;
        probe32) [ -f "$tmp/rebound32.exe" ] || continue
                 cp "$probe32" "$work/in.exe"; want="$tmp/rebound32.exe" ;;
        esac
        rb_win "$work" -o out.exe in.exe
        if [ "$rc" -eq 0 ] && cmp -s "$want" "$work/out.exe"; then
            pass "$name: rebind.exe -o wrote the same bytes as the Linux tool"
        else
            fail "$name: rebind.exe -o (exit $rc) differs from the Linux tool: $msg"
        fi
        rb_win "$work" in.exe
        if [ "$rc" -eq 0 ] && cmp -s "$want" "$work/in.exe" && [ -z "$(leftovers "$work")" ]; then
            pass "$name: rebind.exe in place: the same bytes, no file left beside it"
        else
            fail "$name: rebind.exe in place (exit $rc): $msg; left: $(leftovers "$work")"
        fi
        rm -f "$work/out.exe"
    done
    cp "$probe" "$tmp/inplace.exe"
    chmod 750 "$tmp/inplace.exe"
    rb "$tmp/inplace.exe"
    if [ "$rc" -eq 0 ] && cmp -s "$tmp/rebound.exe" "$tmp/inplace.exe" &&
       [ "$(stat -c %a "$tmp/inplace.exe")" = 750 ] && [ -z "$(leftovers "$tmp")" ]; then
        pass "the Linux tool in place: the same bytes, mode kept, no file left beside it"
    else
        fail "the Linux tool in place (exit $rc): $msg"
    fi
    echo "not a program" >"$work/text.exe"
    rb_win "$work" text.exe
    [ "$rc" -eq 1 ] && grep -q 'not a PE file' <<<"$msg" &&
        pass "rebind.exe refuses too: $msg" || fail "rebind.exe on a text file: exit $rc: $msg"
}

# --- refusals ----------------------------------------------------------------------------

# FILE must be refused with exit CODE and a line matching PATTERN, and left as it was.
expect_refusal() {
    local what=$1 code=$2 pattern=$3 file=$4
    shift 4
    cp "$file" "$tmp/refusal-before"
    rb "$@" "$file"
    if [ "$rc" -eq "$code" ] && [ "$(wc -l <<<"$msg")" -eq 1 ] && grep -q -- "$pattern" <<<"$msg" &&
       cmp -s "$tmp/refusal-before" "$file" && [ -z "$(leftovers "$(dirname "$file")")" ]; then
        pass "$what: exit $rc, $msg"
    else
        fail "$what: exit $rc (want $code), file $(cmp -s "$tmp/refusal-before" "$file" &&
             echo unchanged || echo CHANGED): $msg"
    fi
}

check_refusals() {
    local r="$tmp/refusals" size
    echo "== refusals"
    mkdir -p "$r"
    echo "just text" >"$r/text.exe"
    expect_refusal "not a PE" 1 'not a PE file' "$r/text.exe"
    size=$(stat -c %s "$probe")
    head -c $((size / 2)) "$probe" >"$r/half.exe"
    expect_refusal "truncated in a section" 1 'truncated' "$r/half.exe"
    head -c 300 "$probe" >"$r/head.exe"
    expect_refusal "truncated in the headers" 1 'truncated' "$r/head.exe"
    cp "$dll" "$r/nows2.dll"
    expect_refusal "no ws2_32 import" 1 'no import of ws2_32.dll' "$r/nows2.dll"
    cp "$tmp/rebound.exe" "$r/rebound.exe"
    expect_refusal "already rebound" 3 'already imports ws2_3x.dll' "$r/rebound.exe"
    cp "$probe" "$r/probe.exe"
    expect_refusal "a name one shorter" 2 'must be as long as ws2_32.dll' "$r/probe.exe" --name ws2_3.dll
    expect_refusal "a name one longer" 2 'must be as long as ws2_32.dll' "$r/probe.exe" --name ws2_3xx.dll
    expect_refusal "a path" 2 'not a path' "$r/probe.exe" --name 'ws\_3x.dll'
    expect_refusal "a path" 2 'not a path' "$r/probe.exe" --name 'ws/_3x.dll'
    expect_refusal "no ws2_32 on either side" 2 'must be ws2_32.dll' "$r/probe.exe" --from kernel32.dll --name kernel33.dll

    # A certificate table: refused without --force; with it, rewritten and warned about.
    cp "$probe" "$r/signed.exe"
    python3 "$pe_util" set-dir "$r/signed.exe" 4 "$size" 8
    expect_refusal "signed" 1 'signed (Authenticode).*--force' "$r/signed.exe"
    rb --force "$r/signed.exe"
    [ "$rc" -eq 0 ] && grep -q 'warning: the Authenticode signature is now invalid' <<<"$msg" &&
        pass "signed, --force: rewritten, with the warning" || fail "signed, --force: exit $rc: $msg"

    # The import pre-resolved for the system's copy (bound, new style).
    cp "$probe" "$r/bound.exe"
    printf '\377\377\377\377' | dd of="$r/bound.exe" bs=1 seek=$((rebound_desc + 4)) conv=notrunc status=none
    expect_refusal "bound import" 1 'is bound' "$r/bound.exe"
    cp "$probe" "$r/bound-dir.exe"
    python3 "$pe_util" add-bound "$r/bound-dir.exe" WS2_32.dll
    expect_refusal "bound-import directory" 1 'bound-import directory names ws2_32.dll' "$r/bound-dir.exe"
    cp "$probe" "$r/bound-other.exe"
    python3 "$pe_util" add-bound "$r/bound-other.exe" KERNEL32.dll
    rb -o "$r/bound-other-out.exe" "$r/bound-other.exe"
    [ "$rc" -eq 0 ] && pass "a bound-import directory naming only KERNEL32.dll is no obstacle" ||
        fail "a bound-import directory naming KERNEL32.dll: exit $rc: $msg"

    cp "$dll" "$r/clr.dll"
    python3 "$pe_util" set-dir "$r/clr.dll" 14 0x1000 72
    expect_refusal ".NET" 1 '.NET assembly' "$r/clr.dll"

    cp "$probe" "$r/check.exe"
    rb --check "$r/check.exe"
    [ "$rc" -eq 0 ] && grep -q 'checked, not written' <<<"$msg" && cmp -s "$probe" "$r/check.exe" &&
        pass "--check writes nothing" || fail "--check: exit $rc: $msg"
}

# Spoiled copies of the probe: a refusal or a checked rewrite every time, never a crash.
check_spoiled() {
    local dir="$tmp/spoiled" f codes=""
    echo "== spoiled files"
    mkdir -p "$dir"
    python3 "$pe_util" mutate "$probe" "$dir" 300 "$$" 0x80 0x188 "$rebound_desc" "$rebound_off"
    for f in "$dir"/m*; do
        rb --force -o "$f.out" "$f"
        case $rc in
        0 | 1 | 3) codes="$codes $rc" ;;
        *) fail "$(basename "$f"): exit $rc: $msg"; cp "$f" "/tmp/rebind-crash-$(basename "$f")" ;;
        esac
        rm -f "$f" "$f.out"
    done
    pass "300 spoiled files, none crashed:$(tr ' ' '\n' <<<"$codes" | sed '/^$/d' | sort | uniq -c |
        awk '{printf " %s exit %s,", $1, $2}' | sed 's/,$//')"
}

find_files
check_shipped
echo "== making a prefix in $WINEPREFIX"
WINEDLLOVERRIDES="mscoree,mshtml=" wineboot -i >/dev/null 2>&1
check_program
check_delay
check_pe32
check_windows_tool
check_refusals
check_spoiled

check_summary
