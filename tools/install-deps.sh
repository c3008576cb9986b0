#!/bin/sh
# Installs what building and testing need, from Debian's archive (run as root on Debian 12).
# Where the kernel runs 32-bit programs, wine32:i386 too, so that prefixes are WoW64 and the
# x86 DLL runs.  Installing wine32 breaks prefixes made before it: the project makes its own,
# after this.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
# gcc and libc6-dev build the Linux copy of tools/rebind; mingw-w64 does not bring them.
# dpkg-dev, xz-utils, libwine-dev and iproute2: tools/wine-suite.sh (Wine's own tests).
packages="mingw-w64 meson ninja-build wine wine64 mtools python3 procps gcc libc6-dev dpkg-dev xz-utils libwine-dev iproute2"
if sh "$top/tools/i386-runs.sh" >/dev/null; then
    packages="$packages wine32:i386"
    dpkg --print-foreign-architectures | grep -qx i386 || dpkg --add-architecture i386
fi
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
