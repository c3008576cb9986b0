#!/bin/sh
# Debian 13 (trixie) leg: builds the project with Debian 13's mingw-w64 12 and runs the suite
# under its Wine 10, x64 and x86, in a chroot made here once and kept between runs.
#   tools/debian13.sh setup     make the chroot (debootstrap) or bring its packages up to date
#   tools/debian13.sh build     setup, then build build-d13-64 and build-d13-32 (any warning
#                               fails); the last line is "1 passed, 0 failed" or "0 passed, 1 failed"
#   tools/debian13.sh test      build, then the checks and the suite for x64 and x86; the last
#                               line is "N passed, N failed[, N skipped]"
#   tools/debian13.sh fetch     the chroot's Wine source for Wine's own tests (the one step of a
#                               test run that uses the network)
#   tools/debian13.sh shell     a shell in the chroot, the project at /src (loopback only)
#   tools/debian13.sh run CMD   CMD in the chroot, from /src (loopback only)
# PLATFORM_LEG=0 leaves out the comparison runs against Wine's own ws2_32 (tools/run-suite.sh).
# Runs as root.  The chroot lives in $WS2_DEBIAN13_ROOT (default /var/cache/ws2_32/debian13).
# WS2_DEBIAN_SUITE=sid does setup and build (only) for Debian unstable instead, in
# /var/cache/ws2_32/debian-sid, into build-sid-64 and build-sid-32: its newest mingw-w64 and gcc.
# Every mount (/proc, /sys, /dev, the project at /src) is made in a mount namespace of the
# run's own: it is gone when the run ends, however it ends, and the host never sees it.  The
# build and the tests also run in a network namespace of their own with loopback only.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
self="$top/tools/debian13.sh"
mirror=${WS2_DEBIAN13_MIRROR:-http://deb.debian.org/debian}
suite=${WS2_DEBIAN_SUITE:-trixie}
# What the build and the suite need (gcc and libc6-dev: the Linux tools/rebind; iproute2: the
# loopback; dpkg-dev, xz-utils, libwine-dev: Wine's own tests, fetched with apt-get source).
# A change here is installed on the next run.
case $suite in
trixie)
    tag=d13
    root=${WS2_DEBIAN13_ROOT:-/var/cache/ws2_32/debian13}
    suites="trixie trixie-updates"
    packages="mingw-w64 meson ninja-build wine wine64 python3 procps gcc libc6-dev
        iproute2 mtools dpkg-dev xz-utils libwine-dev"
    ;;
sid)
    tag=sid
    root=${WS2_DEBIAN13_ROOT:-/var/cache/ws2_32/debian-sid}
    suites=sid
    packages="mingw-w64 meson ninja-build python3 gcc libc6-dev"
    ;;
*)
    echo "WS2_DEBIAN_SUITE: trixie or sid, not $suite" >&2
    exit 2
    ;;
esac
# x86 Wine only where this kernel runs 32-bit programs: with wine32 installed, Debian 13's
# wine starts its 32-bit loader first, and fails where that cannot run.
if i386_reason=$(sh "$top/tools/i386-runs.sh"); then
    i386_reason=
    [ "$suite" != trixie ] || packages="$packages wine32:i386"
fi
packages=$(echo $packages)

log() {
    echo "debian13: $*"
}

# Nothing may be mounted below DIR (checked before any removal).
unmounted() {
    ! findmnt -rn -o TARGET | grep -q "^$1\(/\|$\)"
}

# Once: a minimal Debian in $root.  A half-made one from an interrupted run is removed first,
# after checking that nothing is mounted in it.
make_root() {
    [ -f "$root/.ws2-base" ] && return 0
    if [ -e "$root.new" ]; then
        unmounted "$root.new" || { log "$root.new has mounts in it; not removing it" >&2; exit 1; }
        rm -rf "$root.new"
    fi
    command -v debootstrap >/dev/null ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
    log "debootstrap $suite into $root"
    mkdir -p "$(dirname "$root")"
    debootstrap --variant=minbase "$suite" "$root.new" "$mirror" >"$(dirname "$root")/debootstrap.log" 2>&1 ||
        { tail -n 20 "$(dirname "$root")/debootstrap.log" >&2; exit 1; }
    touch "$root.new/.ws2-base"
    if [ -e "$root" ]; then
        unmounted "$root" || { log "$root has mounts in it; not replacing it" >&2; exit 1; }
        rm -rf "$root"
    fi
    mv "$root.new" "$root"
}

# Runs "$self __inside WHAT ARGS" in new mount and PID namespaces (and a network namespace
# unless WHAT is setup): when it ends, so do its processes and its mounts.
enter() {
    what=$1
    net=-n
    # setup and fetch use the network; everything else has loopback only.
    case $what in setup | fetch) net= ;; esac
    # A shell keeps the terminal: in the foreground, and ^C ends what runs in it.
    case $what in
    shell | run) exec unshare -m -p -f $net --propagation private --kill-child=TERM -- sh "$self" __inside "$@" ;;
    esac
    # Otherwise in the background, so that a signal to this script reaches it (--kill-child passes it on
    # to the namespace's first process, whose end ends every process in it).
    unshare -m -p -f $net --propagation private --kill-child=TERM -- sh "$self" __inside "$@" &
    child=$!
    trap 'kill -TERM $child 2>/dev/null; wait $child; exit 130' INT TERM
    status=0
    wait $child || status=$?
    trap - INT TERM
    return $status
}

# --- inside the namespaces ----------------------------------------------------------------

mounted=""
cleanup() {
    for m in $mounted; do
        umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
}

bind() {
    mkdir -p "$root$2"
    mount $3 "$1" "$root$2"
    mounted="$root$2 $mounted"
}

inside() {
    what=$1
    shift
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    mount -t proc proc "$root/proc"; mounted="$root/proc"
    bind /sys /sys --rbind
    bind /dev /dev --rbind
    mount -t tmpfs tmpfs "$root/tmp"; mounted="$root/tmp $mounted"
    bind "$top" /src --bind
    case $what in
    setup | fetch) cp /etc/resolv.conf "$root/etc/resolv.conf" ;;
    *) ip link set lo up ;;
    esac
    # A minimal chroot has no /etc/hosts: without it "localhost" does not resolve.
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
    mkdir -p -m 700 "$root/tmp/runtime-root"
    set -- chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" XDG_RUNTIME_DIR=/tmp/runtime-root \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        WS2_D13_PACKAGES="$packages" WS2_DEBIAN13_MIRROR="$mirror" WS2_DEBIAN_SUITE="$suite" \
        PLATFORM_LEG="${PLATFORM_LEG:-1}" WS2_D13_I386_REASON="$i386_reason" \
        sh /src/tools/debian13.sh __chroot "$what" "$@"
    case $what in
    shell | run) "$@" ;;
    # In the background, so that a signal is handled at once: this shell is the namespace's
    # first process, and when it ends, every process in the namespace ends.
    *) "$@" & wait $! ;;
    esac
}

# --- inside the chroot --------------------------------------------------------------------

# apt's sources (with deb-src, for apt-get source) and i386; the packages, when the list
# differs from the one last installed.
chroot_setup() {
    export DEBIAN_FRONTEND=noninteractive
    if [ "$(cat /.ws2-packages 2>/dev/null)" = "$WS2_D13_PACKAGES" ]; then
        return 0
    fi
    rm -f /etc/apt/sources.list
    cat >/etc/apt/sources.list.d/debian.sources <<EOF
Types: deb deb-src
URIs: $mirror
Suites: $suites
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    # sid's Release is valid for a week only: a mirror that is a snapshot serves it expired.
    [ "$WS2_DEBIAN_SUITE" != sid ] ||
        echo 'Acquire::Check-Valid-Until "false";' >/etc/apt/apt.conf.d/99ws2-snapshot-mirror
    dpkg --add-architecture i386
    apt-get update -q
    apt-get install -y -q --no-install-recommends $WS2_D13_PACKAGES
    # A chroot made on a machine that ran 32-bit programs keeps no wine32 where they do not.
    case " $WS2_D13_PACKAGES " in
    *" wine32:i386 "*) ;;
    *) ! dpkg -s wine32:i386 >/dev/null 2>&1 || apt-get remove -y -q wine32:i386 ;;
    esac
    apt-get clean
    echo "$WS2_D13_PACKAGES" >/.ws2-packages
}

# Both arches with the chroot's compiler, -Werror: a warning of ours fails the build and,
# having left no object, fails it again next time.  A build dir made by another compiler (the
# chroot was upgraded) starts afresh; otherwise what is built stays.
chroot_build() {
    cd /src
    tools="$(x86_64-w64-mingw32-gcc --version | head -n 1); $(i686-w64-mingw32-gcc --version | head -n 1); $(meson --version)"
    for arch in 64 32; do
        dir=build-$tag-$arch
        if [ "$(cat "$dir/.ws2-toolchain" 2>/dev/null)" != "$tools" ]; then
            rm -rf "$dir"
        fi
        if [ -f "$dir/build.ninja" ]; then
            meson setup --reconfigure "$dir" --cross-file "build-win$arch.txt" -Dwerror=true >"$dir/setup.log" 2>&1 ||
                { cat "$dir/setup.log"; exit 1; }
        else
            mkdir -p "$dir"
            meson setup "$dir" --cross-file "build-win$arch.txt" -Dwerror=true >"$dir/../$dir.setup.log" 2>&1 ||
                { cat "$dir/../$dir.setup.log"; exit 1; }
            mv "$dir/../$dir.setup.log" "$dir/setup.log"
            echo "$tools" >"$dir/.ws2-toolchain"
        fi
        status=0
        ninja -C "$dir" >"$dir/ninja.log" 2>&1 || status=$?
        if [ "$status" -ne 0 ] || grep -qi 'warning' "$dir/ninja.log"; then
            grep -i -B2 -A6 'warning\|error' "$dir/ninja.log" | head -n 80
            echo "debian13: $dir: the build failed or warned (see $dir/ninja.log)"
            exit 1
        fi
        echo "debian13: $dir built, no warnings: $(dpkg-query -W -f='${Package} ${Version}, ' \
            gcc-mingw-w64-base binutils-mingw-w64-x86-64 mingw-w64-common meson | sed 's/, $//')"
    done
}

passed=0
failed=0
skipped=0
# Adds a leg's last line "N passed, N failed[, N skipped]" (in FILE) to the totals.
count_leg() {
    line=$(tail -n 1 "$1" | tr -d '\r')
    p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
    f=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
    s=$(echo "$line" | sed -n 's/.*, \([0-9]*\) skipped$/\1/p')
    if [ -z "$p" ]; then
        p=0 f=1
        echo "debian13: $1 ends without a count line: one failure"
    fi
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
}

# A tool check as tools/run-tests.sh makes them: one pass or one failure.
check() {
    name=$1
    shift
    log=/src/build-d13-64/check-$name.log
    if "$@" >"$log" 2>&1; then
        passed=$((passed + 1)); echo "PASS $name"
    else
        failed=$((failed + 1)); echo "FAIL $name (see build-d13-64/check-$name.log)"
    fi
}

chroot_test() {
    cd /src
    echo "debian13: $(wine --version) in a network namespace of its own: $(ip -o addr show | awk '{print $2, $4}' | tr '\n' ' ')"
    check runner-selftest meson test -C build-d13-64 --no-rebuild runner-selftest
    check image meson test -C build-d13-64 --no-rebuild image
    check wine-setup bash tests/setup/check_setup.sh build-d13-64
    check rebind bash tests/rebind/check_rebind.sh build-d13-64
    sh tools/run-suite.sh wine10-x64 build-d13-64 build-d13-32/dlls/ws2_32/ws2_32.dll \
        >build-d13-64/suite.log 2>&1 || true
    grep -v '^PASS ' build-d13-64/suite.log || true
    count_leg build-d13-64/suite.log
    arches=x64
    if [ -z "$WS2_D13_I386_REASON" ]; then
        arches="x64 x86"
        sh tools/run-suite.sh wine10-x86 build-d13-32 build-d13-64/dlls/ws2_32/ws2_32.dll \
            >build-d13-32/suite.log 2>&1 || true
        grep -v '^PASS ' build-d13-32/suite.log || true
        count_leg build-d13-32/suite.log
    else
        echo "debian13: x86 runs skipped: $WS2_D13_I386_REASON"
    fi
    # The differential tester, as tools/run-tests.sh runs it, under Wine 10.
    for arch in $arches; do
        dir=build-d13-64
        [ "$arch" = x64 ] || dir=build-d13-32
        sh tools/difftest-leg.sh "$dir" "$arch" >"build-d13-64/difftest-$arch.log" 2>&1 || true
        grep -v '^seed [0-9]*: pass' "build-d13-64/difftest-$arch.log" | grep -v '^  ' || true
        count_leg "build-d13-64/difftest-$arch.log"
    done
    # Wine 10's own ws2_32 tests, from its source package, builtin against the drop-in.
    for arch in $arches; do
        dir=build-d13-64
        [ "$arch" = x64 ] || dir=build-d13-32
        sh tools/wine-suite.sh --arch "$arch" --dll "$dir/dlls/ws2_32/ws2_32.dll" --work build64/wine-suite \
            >"build-d13-64/wine-suite-$arch.log" 2>&1 || true
        grep -v '^wine-suite: ' "build-d13-64/wine-suite-$arch.log" || true
        count_leg "build-d13-64/wine-suite-$arch.log"
    done
    [ "$skipped" -ne 0 ] || skipped=
    echo "${passed} passed, ${failed} failed${skipped:+, $skipped skipped}"
    [ "$failed" -eq 0 ]
}

chroot_main() {
    what=$1
    shift
    case $what in
    setup) chroot_setup ;;
    build) chroot_build ;;
    test) chroot_test ;;
    fetch) cd /src && python3 tools/wine_suite.py --fetch-only --work build64/wine-suite ;;
    shell) cd /src && exec bash -i ;;
    run) cd /src && exec "$@" ;;
    *) echo "unknown: $what" >&2; exit 2 ;;
    esac
}

# --- on the host ---------------------------------------------------------------------------

case $1 in
__inside) shift; inside "$@"; exit ;;
__chroot) shift; chroot_main "$@"; exit ;;
esac

if [ "$(id -u)" != 0 ]; then
    echo "tools/debian13.sh runs as root (debootstrap, chroot, namespaces)" >&2
    exit 2
fi

setup() {
    make_root
    if [ "$(cat "$root/.ws2-packages" 2>/dev/null)" != "$packages" ]; then
        log "installing packages in $root"
        enter setup
    fi
}

cmd=${1:-test}
[ $# -eq 0 ] || shift
case $cmd in
setup) setup ;;
build)
    # As a leg: both arches built without a warning is one pass.
    setup
    if enter build; then
        echo "1 passed, 0 failed"
    else
        echo "0 passed, 1 failed"
        exit 1
    fi
    ;;
test)
    [ "$suite" = trixie ] || { echo "WS2_DEBIAN_SUITE=$suite: setup and build only" >&2; exit 2; }
    setup
    if ! enter build; then
        echo "0 passed, 1 failed"
        exit 1
    fi
    # Wine 10's source for its own tests, while the network is there: the tests run without.
    enter fetch || log "fetching Wine's source failed: the runs of Wine's own tests will fail"
    enter test
    ;;
fetch) setup; enter fetch ;;
shell) setup; enter shell ;;
run) setup; enter run "$@" ;;
*) echo "usage: $0 setup|build|fetch|test|shell|run CMD..." >&2; exit 2 ;;
esac
