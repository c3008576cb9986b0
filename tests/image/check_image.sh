#!/bin/bash
# tests/image/check_image.sh BUILDDIR: builds the VM image with tools/mkimage.sh, lists it,
# copies every file back out with mtools and compares each byte for byte with its source.
# ws2_32.dll and runner.exe must be built; the fault DLL and test programs are checked when
# present. Exits 77 (skipped, for meson) without mtools.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILDDIR" >&2
    exit 2
fi
for tool in mformat mmd mcopy mdir; do
    command -v "$tool" >/dev/null || { echo "$tool not found: skipped"; exit 77; }
done

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
mkimage="$top/tools/mkimage.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MTOOLS_SKIP_CHECK=1
img="$tmp/ws2_32-tests.img"
failed=0

bash "$mkimage" "$build" "$img"
mdir -i "$img" -/ ::
mapfile -t files < <(bash "$mkimage" --files "$build")
bash "$mkimage" --cmd "$tmp/run.cmd.expected"

# Every file the image should hold, source side: the build's, and the generated run.cmd.
mkdir -p "$tmp/src" "$tmp/out"
ln -s "$tmp/run.cmd.expected" "$tmp/src/run.cmd"
for f in "${files[@]}"; do
    mkdir -p "$tmp/src/$(dirname "$f")"
    ln -s "$build/$f" "$tmp/src/$f"
done
files+=(run.cmd)

for f in "${files[@]}"; do
    mkdir -p "$tmp/out/$(dirname "$f")"
    if ! mcopy -n -i "$img" "::/$f" "$tmp/out/$f"; then
        echo "FAIL $f: not in the image"
        failed=1
    elif cmp "$tmp/src/$f" "$tmp/out/$f"; then
        echo "ok $f ($(stat -L -c %s "$tmp/src/$f") bytes)"
    else
        echo "FAIL $f: differs"
        failed=1
    fi
done

# Nothing else in the image: its bare listing holds exactly these files.
mdir -i "$img" -/ -b :: | sed -n 's|^::/||p' | grep -v '/$' | LC_ALL=C sort > "$tmp/listed"
printf '%s\n' "${files[@]}" | LC_ALL=C sort > "$tmp/wanted"
if ! diff -u "$tmp/wanted" "$tmp/listed"; then
    echo "FAIL: the image's file list differs (- wanted, + in the image)"
    failed=1
fi

grep -q 'runner.exe" -t 120 -i -l platform' "$tmp/out/run.cmd" || { echo "FAIL run.cmd: no platform run"; failed=1; }
[ "$failed" = 0 ] && echo "image ok: ${#files[@]} files"
exit "$failed"
