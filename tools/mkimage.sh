#!/bin/bash
# tools/mkimage.sh BUILDDIR OUT.img
#   A FAT disk image for a Windows VM: the DLL, the fault-seam DLL, the test programs, the
#   runner and run.cmd, in the same layout as the CI artifact. mtools only: no root, no mount.
# tools/mkimage.sh --cmd OUT.cmd
#   Only run.cmd: the CI runs this same file, so its command lines and the image's agree.
# tools/mkimage.sh --files BUILDDIR
#   The paths the image takes from BUILDDIR, one a line (what tests/image/check_image.sh checks).
set -euo pipefail

REQUIRED=(dlls/ws2_32/ws2_32.dll winetest/runner.exe)

usage() {
    echo "usage: $0 BUILDDIR OUT.img | --cmd OUT.cmd | --files BUILDDIR" >&2
    exit 2
}

# Written with CRLF: cmd mis-reads labels and long lines in LF-only files.
write_run_cmd() {
    sed 's/$/\r/' > "$1" <<'EOF'
@echo off
rem Runs the conformance tests twice: against this project's ws2_32.dll loaded by full path,
rem then against the system's own for information. Reports and summaries land next to this file.
rem   run.cmd            both runs; the exit code is that of the first
rem   run.cmd ours       only the first
rem   run.cmd platform   only the second
setlocal
set "HERE=%~dp0"
set "RC=0"
if /i "%~1"=="platform" goto platform
"%HERE%winetest\runner.exe" -t 120 -l ours-path -o "%HERE%report-ours.txt" -s "%HERE%summary-ours.txt" -e WS2_TEST_TARGET=path -e "WS2_TEST_DLL=%HERE%dlls\ws2_32\ws2_32.dll" -e "WS2_TEST_FAULT_DLL=%HERE%tests\fault\ws2_32.dll" "%HERE%tests\*.exe"
set "RC=%ERRORLEVEL%"
if /i "%~1"=="ours" exit /b %RC%
:platform
"%HERE%winetest\runner.exe" -t 120 -i -l platform -o "%HERE%report-platform.txt" -s "%HERE%summary-platform.txt" -e WS2_TEST_TARGET=platform "%HERE%tests\*.exe"
exit /b %RC%
EOF
}

# Required files first; missing optional ones are left out with a note.
list_files() {
    local build=$1 f
    for f in "${REQUIRED[@]}"; do
        if [ ! -f "$build/$f" ]; then
            echo "mkimage: $build/$f is missing" >&2
            return 1
        fi
        echo "$f"
    done
    if [ -f "$build/tests/fault/ws2_32.dll" ]; then
        echo tests/fault/ws2_32.dll
    else
        echo "mkimage: no tests/fault/ws2_32.dll, left out" >&2
    fi
    ( cd "$build" && find tests -maxdepth 1 -type f -name '*.exe' 2>/dev/null | LC_ALL=C sort )
}

# Content rounded up to 4 KiB clusters (FAT16 below 128 MiB uses at most 2 KiB), plus an
# eighth and 1 MiB for the FATs and directories; in 512-byte sectors.
image_sectors() {
    local build=$1 bytes=0 size f
    shift
    for f in "$@"; do
        size=$(stat -c %s "$build/$f")
        bytes=$(( bytes + (size + 4095) / 4096 * 4096 + 4096 ))
    done
    bytes=$(( bytes + bytes / 8 + 1024 * 1024 ))
    [ "$bytes" -ge $(( 4 * 1024 * 1024 )) ] || bytes=$(( 4 * 1024 * 1024 ))
    echo $(( (bytes + 511) / 512 ))
}

make_dirs() {
    local img=$1 dir seen=" "
    shift
    for dir in $(printf '%s\n' "$@" | xargs -n1 dirname | LC_ALL=C sort -u); do
        local part="" piece
        IFS=/ read -ra pieces <<< "$dir"
        for piece in "${pieces[@]}"; do
            [ "$piece" = . ] && continue
            part=${part:+$part/}$piece
            case "$seen" in *" $part "*) continue ;; esac
            mmd -i "$img" "::/$part"
            seen="$seen$part "
        done
    done
}

make_image() {
    local build=$1 out=$2 files f
    mapfile -t files < <(list_files "$build")
    [ "${#files[@]}" -ge "${#REQUIRED[@]}" ] || exit 1
    [ "${#files[@]}" -gt "$(( ${#REQUIRED[@]} + 1 ))" ] || echo "mkimage: no test programs in $build/tests" >&2

    tmp=$(mktemp -d) # global: the trap runs after this function returns
    trap 'rm -rf "$tmp"' EXIT
    write_run_cmd "$tmp/run.cmd"

    rm -f "$out"
    mformat -i "$out" -C -T "$(image_sectors "$build" "${files[@]}")" -v WS2TEST ::
    make_dirs "$out" "${files[@]}"
    for f in "${files[@]}"; do
        mcopy -i "$out" "$build/$f" "::/$f"
    done
    mcopy -i "$out" "$tmp/run.cmd" ::/run.cmd
    echo "mkimage: $out: ${#files[@]} files and run.cmd"
}

export MTOOLS_SKIP_CHECK=1

case "${1:-}" in
--cmd) [ $# -eq 2 ] || usage; write_run_cmd "$2" ;;
--files) [ $# -eq 2 ] || usage; list_files "$2" ;;
-*|"") usage ;;
*) [ $# -eq 2 ] || usage; make_image "$1" "$2" ;;
esac
