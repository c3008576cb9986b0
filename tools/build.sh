#!/bin/sh
# The main job: builds ws2_32.dll for x86 and x64 into out/, then shows it working: a
# conditional-accept server runs under Wine on this DLL and real Linux clients connect to it.
#   tools/build.sh [--no-demo]
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh tools/install-deps.sh

for arch in 64 32; do
    if [ -f "build$arch/build.ninja" ]; then
        meson setup --reconfigure "build$arch" --cross-file "build-win$arch.txt" >/dev/null
    else
        meson setup "build$arch" --cross-file "build-win$arch.txt" >/dev/null
    fi
    ninja -C "build$arch"
done

rm -rf out
mkdir -p out/x64 out/x86 out/tools/x64 out/tools/x86
cp build64/dlls/ws2_32/ws2_32.dll out/x64/
cp build32/dlls/ws2_32/ws2_32.dll out/x86/
# The rebinding tool for Windows (docs/usage.md): for Linux, and for Windows in both builds.
cp build64/tools/rebind/rebind-linux out/tools/rebind
cp build64/tools/rebind/rebind.exe out/tools/x64/
cp build32/tools/rebind/rebind.exe out/tools/x86/
cp README.md LICENSE out/ 2>/dev/null || true
(cd out && sha256sum x64/ws2_32.dll x86/ws2_32.dll tools/rebind tools/x64/rebind.exe \
    tools/x86/rebind.exe > SHA256SUMS)
echo "built: out/x64/ws2_32.dll and out/x86/ws2_32.dll; out/tools/rebind (Linux), out/tools/x64/rebind.exe, out/tools/x86/rebind.exe"

[ "$1" = "--no-demo" ] && exit 0
echo "=== x64"
sh tools/demo/run.sh build64
if reason=$(sh tools/i386-runs.sh); then
    echo "=== x86"
    sh tools/demo/run.sh build32
else
    echo "x86 demo skipped: $reason"
fi
