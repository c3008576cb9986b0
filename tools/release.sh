#!/bin/sh
# tools/release.sh [OUT]: makes ws2_32-VERSION.tar.gz from OUT (default: the repo's out/,
# built first with tools/build.sh --no-demo when missing), writes it next to OUT and prints
# its path.  OUT gets the setup tool and its doc, and a SHA256SUMS covering every file.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)

die() {
    printf 'release: %s\n' "$*" >&2
    exit 1
}

# What a release holds, and nothing else.
release_files() {
    printf '%s\n' LICENSE README.md SHA256SUMS docs/usage.md tools/wine-setup.sh \
        tools/rebind tools/x64/rebind.exe tools/x86/rebind.exe x64/ws2_32.dll x86/ws2_32.dll
}

project_version() {
    v=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$top/meson.build" | head -n 1)
    [ -n "$v" ] || die "no project version in $top/meson.build"
    printf '%s\n' "$v"
}

find_out() {
    if [ $# -gt 0 ]; then
        [ -d "$1" ] || die "$1 does not exist (build with tools/build.sh --no-demo, or give the out/ directory)"
        out=$(cd "$1" && pwd)
    else
        out="$top/out"
        if [ ! -d "$out" ]; then
            echo "release: $out is missing: building it" >&2
            sh "$top/tools/build.sh" --no-demo >&2
        fi
    fi
    for f in x64/ws2_32.dll x86/ws2_32.dll tools/rebind tools/x64/rebind.exe tools/x86/rebind.exe; do
        [ -f "$out/$f" ] || die "$out/$f is missing: run tools/build.sh --no-demo"
    done
}

# build.sh leaves the DLLs, README and LICENSE; the rest comes from the repo.
complete_out() {
    for f in README.md LICENSE tools/wine-setup.sh docs/usage.md; do
        [ -f "$top/$f" ] || die "$top/$f is missing"
        if [ ! -f "$out/$f" ] || ! cmp -s "$top/$f" "$out/$f"; then
            mkdir -p "$out/$(dirname "$f")"
            cp "$top/$f" "$out/$f"
        fi
    done
    chmod 755 "$out/tools/wine-setup.sh"
}

# A stray file would ship unlisted: refuse rather than guess.
check_contents() {
    (cd "$out" && find . ! -type d | sed 's|^\./||' | sort) >"$tmp/have"
    release_files | sort >"$tmp/want"
    extra=$(comm -23 "$tmp/have" "$tmp/want" | paste -sd' ' -)
    [ -z "$extra" ] || die "$out holds files a release does not: $extra"
}

write_sums() {
    (cd "$out" && release_files | grep -vx SHA256SUMS | xargs sha256sum >SHA256SUMS.new &&
        mv SHA256SUMS.new SHA256SUMS && sha256sum -c --quiet SHA256SUMS) ||
        die "cannot write $out/SHA256SUMS"
}

# Same inputs, same archive: fixed names, owners, order and time.
write_archive() {
    name="ws2_32-$(project_version)"
    archive="$(dirname "$out")/$name.tar.gz"
    epoch=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)}
    release_files >"$tmp/files"
    tar -C "$out" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
        --mode='u+rw,go-w,a+rX' --transform "s|^|$name/|" -cf - -T "$tmp/files" |
        gzip -n -9 >"$archive.new"
    mv "$archive.new" "$archive"
    printf '%s\n' "$archive"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/release.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
find_out "$@"
complete_out
[ -f "$out/SHA256SUMS" ] || : >"$out/SHA256SUMS"
check_contents
write_sums
write_archive
