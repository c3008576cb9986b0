#!/bin/sh
# Installs this project's ws2_32.dll into a Wine prefix, or next to one program, and takes it
# out again leaving things as they were.
#
#   wine-setup.sh install   [--prefix DIR] [--app EXE...] [--dlls OUTDIR]
#   wine-setup.sh uninstall [--prefix DIR] [--app EXE... | --all] [--dlls OUTDIR]
#   wine-setup.sh status    [--prefix DIR] [--dlls OUTDIR]
#   wine-setup.sh install|uninstall|status --app-dir DIR --arch x64|x86 [--dlls OUTDIR]
#
# Whole prefix: the DLLs go into system32 (and syswow64) and HKCU\Software\Wine\DllOverrides
# gets ws2_32=native,builtin.  --app EXE: the same DLLs, but the override goes under
# HKCU\Software\Wine\AppDefaults\EXE\DllOverrides, so only that program uses ours.
# --app-dir: the DLL beside the program only; no registry, WINEDLLOVERRIDES does the rest.
set -eu

OVERRIDE=native,builtin
WINE_KEY='HKCU\Software\Wine'
STATE_NAME=.ws2_32-setup        # in the prefix: what install found, so uninstall can restore it
BACKUP_SUFFIX=.ws2-backup

usage() {
    sed -n 's/^#   \(wine-setup.sh .*\)/usage: \1/p' "$0" >&2
    exit 2
}

die() {
    printf 'wine-setup: %s\n' "$*" >&2
    exit 1
}

say() {
    printf '%s\n' "$*"
}

# Where our DLLs are by default: the repo's out/, or the archive root when run from a release.
default_dlls() {
    here=$(cd "$(dirname "$0")" && pwd)
    if [ -d "$here/../out" ]; then
        (cd "$here/../out" && pwd)
    elif [ -f "$here/../x64/ws2_32.dll" ] || [ -f "$here/../x86/ws2_32.dll" ]; then
        (cd "$here/.." && pwd)
    else
        printf '%s\n' "$here/../out"
    fi
}

# --- arguments ---------------------------------------------------------------------------

command=${1:-}
[ $# -gt 0 ] && shift
case $command in
    install|uninstall|status) ;;
    -h|--help|help) usage ;;
    *) usage ;;
esac

prefix=${WINEPREFIX:-$HOME/.wine}
apps=""
all=0
dlls=""
app_dir=""
arch=""

need_arg() {
    if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value"; fi
}

add_app() {
    case $1 in
        */*|*\\*) die "--app takes the program's file name (foo.exe), not a path: $1" ;;
        -*|"") die "--app needs a program name" ;;
    esac
    apps="$apps$1
"
}

while [ $# -gt 0 ]; do
    case $1 in
        --prefix) need_arg "$@"; prefix=$2; shift 2 ;;
        --dlls) need_arg "$@"; dlls=$2; shift 2 ;;
        --app-dir) need_arg "$@"; app_dir=$2; shift 2 ;;
        --arch) need_arg "$@"; arch=$2; shift 2 ;;
        --all) all=1; shift ;;
        --app)
            need_arg "$@"; add_app "$2"; shift 2
            # "--app a.exe b.exe" as well as "--app a.exe --app b.exe"
            while [ $# -gt 0 ]; do
                case $1 in -*) break ;; esac
                add_app "$1"; shift
            done ;;
        *) printf 'wine-setup: unknown argument: %s\n' "$1" >&2; usage ;;
    esac
done

[ -n "$dlls" ] || dlls=$(default_dlls)
if [ -n "$app_dir" ]; then
    if [ -n "$apps" ] || [ "$all" = 1 ]; then die "--app-dir cannot be combined with --app or --all"; fi
    case $arch in
        x64|x86) ;;
        "") die "--app-dir needs --arch x64 or --arch x86 (the program's architecture)" ;;
        *) die "--arch must be x64 or x86, not $arch" ;;
    esac
elif [ -n "$arch" ]; then
    die "--arch goes with --app-dir only; in a prefix the architecture is the prefix's"
fi
[ "$all" = 0 ] || [ "$command" = uninstall ] || die "--all goes with uninstall only"
[ "$all" = 0 ] || [ -z "$apps" ] || die "--all cannot be combined with --app"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wine-setup.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- files -------------------------------------------------------------------------------

sha() {
    sha256sum "$1" | cut -d' ' -f1
}

# Ours whatever the build: the variable that turns our trace on is named inside the DLL.
is_ours() {
    [ -f "$1" ] && grep -qa WS2_32_TRACE "$1"
}

# The DLL of ARCH in OUTDIR; refuses when it is not built or its SHA256SUMS line disagrees.
dll_of() {
    f="$dlls/$1/ws2_32.dll"
    [ -f "$f" ] || die "$f not found: build the DLLs first (tools/build.sh --no-demo), or give --dlls OUTDIR"
    is_ours "$f" || die "$f is not this project's ws2_32.dll"
    if [ -f "$dlls/SHA256SUMS" ] && grep -q " $1/ws2_32.dll\$" "$dlls/SHA256SUMS"; then
        (cd "$dlls" && grep " $1/ws2_32.dll\$" SHA256SUMS | sha256sum -c --status) ||
            die "$f does not match $dlls/SHA256SUMS"
    fi
    printf '%s\n' "$f"
}

# Copies SRC to DEST; a file there that is not ours is moved aside first (once).
place_dll() {
    if [ -e "$2" ] || [ -L "$2" ]; then
        if ! is_ours "$2" && [ ! -e "$2$BACKUP_SUFFIX" ]; then
            mv "$2" "$2$BACKUP_SUFFIX"
        fi
    fi
    cp "$1" "$2.ws2-new"
    mv -f "$2.ws2-new" "$2"
    say "copied $1 -> $2"
}

# Takes our DLL out of DEST and puts the backup back; a file that is not ours stays.
remove_dll() {
    if [ -f "$1" ] && ! is_ours "$1"; then
        say "left $1 alone: it is not ours"
        return 0
    fi
    rm -f "$1"
    if [ -e "$1$BACKUP_SUFFIX" ] || [ -L "$1$BACKUP_SUFFIX" ]; then
        mv "$1$BACKUP_SUFFIX" "$1"
        say "restored $1"
    else
        say "removed $1"
    fi
}

# One line on what DEST holds, compared with the DLL of ARCH in OUTDIR.
describe_dll() {
    dest=$1 want="$dlls/$2/ws2_32.dll"
    if [ ! -e "$dest" ]; then
        what="absent"
    elif ! is_ours "$dest"; then
        what="not ours (Wine's or another)"
    elif [ ! -f "$want" ]; then
        what="ours (sha256 $(sha "$dest")); $want is not built, nothing to compare"
    elif [ "$(sha "$dest")" = "$(sha "$want")" ]; then
        what="ours, same as $want"
    else
        what="ours, but not the build in $want (sha256 $(sha "$dest"))"
    fi
    [ ! -e "$dest$BACKUP_SUFFIX" ] || what="$what; backup kept as $(basename "$dest")$BACKUP_SUFFIX"
    say "$3: $what"
}

# --- app-folder mode ---------------------------------------------------------------------

app_dir_mode() {
    [ -d "$app_dir" ] || die "$app_dir is not a directory"
    dest="$app_dir/ws2_32.dll"
    case $command in
        install)
            src=$(dll_of "$arch")
            place_dll "$src" "$dest"
            say "run the program with:"
            say "  WINEDLLOVERRIDES=\"ws2_32=n,b\" wine $app_dir/PROGRAM.exe"
            ;;
        uninstall)
            if [ -e "$dest" ] || [ -e "$dest$BACKUP_SUFFIX" ]; then
                remove_dll "$dest"
            else
                say "nothing to uninstall in $app_dir"
            fi
            ;;
        status)
            describe_dll "$dest" "$arch" "$dest"
            ;;
    esac
}

# --- the prefix and its registry ---------------------------------------------------------

check_prefix() {
    [ -d "$prefix" ] || die "$prefix does not exist (give --prefix DIR or set WINEPREFIX)"
    if [ ! -f "$prefix/system.reg" ] || [ ! -d "$prefix/drive_c" ]; then
        die "$prefix is not a Wine prefix (no system.reg or drive_c)"
    fi
    command -v "${WINE:-wine}" >/dev/null || die "wine not found (set WINE= to its path)"
    prefix=$(cd "$prefix" && pwd)
    state="$prefix/$STATE_NAME"
    windir="$prefix/drive_c/windows"
    prefix_arch=$(sed -n 's/^#arch=//p' "$prefix/system.reg" | head -n 1)
    [ -d "$windir/system32" ] || die "$prefix has no drive_c/windows/system32: run wineboot -i first"
}

# wine quietly in the prefix; its messages are kept in case it fails.
run_wine() {
    WINEPREFIX=$prefix WINEDEBUG=-all "${WINE:-wine}" "$@" 2>"$tmp/wine.err" </dev/null
}

wine_failed() {
    cat "$tmp/wine.err" >&2
    die "$*"
}

key_exists() {
    run_wine reg query "$1" >/dev/null
}

# A key with no values and no subkeys: Wine's reg prints nothing but an empty line for it.
key_empty() {
    run_wine reg query "$1" >"$tmp/query" || return 1
    [ "$(tr -d '\r' <"$tmp/query" | grep -c .)" -eq 0 ]
}

# Prints "TYPE DATA" of KEY's ws2_32 value, or nothing when there is none.
reg_value() {
    run_wine reg query "$1" /v ws2_32 >"$tmp/query" || return 0
    tr -d '\r' <"$tmp/query" | awk '
        tolower($1) == "ws2_32" && $2 ~ /^REG_/ {
            i = index($0, "    " $2 "    ")
            print $2 " " (i ? substr($0, i + length($2) + 8) : "")
            exit
        }'
}

# The registry key of scope ID: "global", or "app:EXE".
scope_key() {
    case $1 in
        global) printf '%s\n' "$WINE_KEY\\DllOverrides" ;;
        app:*) printf '%s\n' "$WINE_KEY\\AppDefaults\\${1#app:}\\DllOverrides" ;;
    esac
}

# The state file stem of scope ID; program names compare without case, as in the registry.
scope_file() {
    printf '%s/%s\n' "$state" "$(printf '%s' "$1" | tr 'A-Z:' 'a-z-')"
}

scope_label() {
    case $1 in
        global) say "the whole prefix" ;;
        app:*) say "${1#app:}" ;;
    esac
}

# The scopes install recorded, one per line.
recorded_scopes() {
    [ -d "$state" ] || return 0
    for f in "$state"/*.scope; do
        [ -f "$f" ] && cat "$f"
    done
    return 0
}

# Records the keys of KEY's chain below HKCU\Software\Wine that do not exist yet.
record_missing_keys() {
    k=$WINE_KEY missing=0
    rest=${1#"$WINE_KEY"\\}
    old_ifs=$IFS
    # split on the registry's separator
    # shellcheck disable=SC2141,SC1003
    IFS='\'
    set -f
    for part in $rest; do
        k="$k\\$part"
        if [ "$missing" = 1 ] || ! key_exists "$k"; then
            missing=1
            printf '%s\n' "$k"
        fi
    done
    set +f
    IFS=$old_ifs
}

# Sets ws2_32=native,builtin for scope ID, first recording what was there (once).
set_override() {
    key=$(scope_key "$1") file=$(scope_file "$1")
    if [ ! -f "$file.scope" ]; then
        mkdir -p "$state"
        record_missing_keys "$key" >"$file.created"
        reg_value "$key" >"$file.prev"
        [ -s "$file.prev" ] || rm -f "$file.prev"
        printf '%s\n' "$1" >"$file.scope"
    fi
    run_wine reg add "$key" /v ws2_32 /t REG_SZ /d "$OVERRIDE" /f >/dev/null ||
        wine_failed "cannot set $key ws2_32"
    say "set $key: ws2_32=$OVERRIDE"
}

# Puts scope ID's override back as install found it, and drops the keys install created.
restore_override() {
    key=$(scope_key "$1") file=$(scope_file "$1")
    if [ -f "$file.prev" ]; then
        read -r type data <"$file.prev" || true
        run_wine reg add "$key" /v ws2_32 /t "$type" /d "$data" /f >/dev/null ||
            wine_failed "cannot restore $key ws2_32"
        say "restored $key: ws2_32=$data"
    else
        if [ -n "$(reg_value "$key")" ]; then
            run_wine reg delete "$key" /v ws2_32 /f >/dev/null ||
                wine_failed "cannot delete $key ws2_32"
        fi
        say "removed $key: ws2_32"
    fi
    if [ -s "$file.created" ]; then
        # deepest first, and only while nothing else was put there since
        sed -n '1!G;h;$p' "$file.created" >"$tmp/created"
        while IFS= read -r k; do
            key_empty "$k" || break
            run_wine reg delete "$k" /f >/dev/null || wine_failed "cannot delete $k"
            say "removed key $k"
        done <"$tmp/created"
    fi
    rm -f "$file.scope" "$file.prev" "$file.created"
}

# system32 and syswow64 with the architecture each takes.
dll_targets() {
    if [ "$prefix_arch" = win32 ]; then
        printf '%s\n' "system32 x86"
    else
        printf '%s\n' "system32 x64"
        [ -d "$windir/syswow64" ] && printf '%s\n' "syswow64 x86"
    fi
    return 0
}

# Wine writes the registry files when its server exits; wait for that, but not for a program
# still running in the prefix (the change is live already and is saved when it exits).
flush_registry() {
    if ! WINEPREFIX=$prefix timeout 20 wineserver -w 2>/dev/null; then
        say "note: Wine is still running in $prefix; user.reg is written when it exits"
    fi
}

prefix_install() {
    # every DLL is checked before anything in the prefix changes
    dll_targets >"$tmp/targets"
    while read -r dir a; do
        dll_of "$a" >/dev/null
    done <"$tmp/targets"
    while read -r dir a; do
        src=$(dll_of "$a")
        place_dll "$src" "$windir/$dir/ws2_32.dll"
    done <"$tmp/targets"
    if [ -z "$apps" ]; then
        set_override global
    else
        printf '%s' "$apps" >"$tmp/apps"
        while IFS= read -r app; do
            set_override "app:$app"
        done <"$tmp/apps"
    fi
    flush_registry
    say "installed in $prefix"
}

prefix_uninstall() {
    if [ "$all" = 1 ]; then
        recorded_scopes
    elif [ -z "$apps" ]; then
        say global
    else
        printf '%s' "$apps" | sed 's/^/app:/'
    fi >"$tmp/scopes"
    changed=0
    while IFS= read -r scope; do
        if [ -f "$(scope_file "$scope").scope" ]; then
            restore_override "$scope"
            changed=1
        else
            say "not installed for $(scope_label "$scope")"
        fi
    done <"$tmp/scopes"
    recorded_scopes >"$tmp/left"
    if [ -s "$tmp/left" ]; then
        left=$(while IFS= read -r s; do scope_label "$s"; done <"$tmp/left" | paste -sd, - | sed 's/,/, /g')
        say "the DLLs stay: still installed for $left"
    else
        dll_targets >"$tmp/targets"
        while read -r dir a; do
            f="$windir/$dir/ws2_32.dll"
            if is_ours "$f" || [ -e "$f$BACKUP_SUFFIX" ]; then
                remove_dll "$f"
                changed=1
            fi
        done <"$tmp/targets"
        rmdir "$state" 2>/dev/null || true
    fi
    [ "$changed" = 0 ] || flush_registry
    if [ -s "$tmp/left" ]; then
        return 0
    elif [ "$changed" = 1 ]; then
        say "uninstalled from $prefix"
    else
        say "nothing to uninstall in $prefix"
    fi
}

# Every ws2_32 value under DllOverrides and AppDefaults\*\DllOverrides, as "KEY<tab>DATA".
list_overrides() {
    for root in "$WINE_KEY\\DllOverrides" "$WINE_KEY\\AppDefaults"; do
        run_wine reg query "$root" /s >"$tmp/query" || continue
        tr -d '\r' <"$tmp/query" | awk '
            /^HKEY_/ { key = $0; next }
            tolower($1) == "ws2_32" && $2 ~ /^REG_/ && key ~ /\\DllOverrides$/ {
                i = index($0, "    " $2 "    ")
                print key "\t" (i ? substr($0, i + length($2) + 8) : "")
            }'
    done
}

prefix_status() {
    say "prefix $prefix (${prefix_arch:-unknown arch}), DLLs compared with $dlls"
    dll_targets >"$tmp/targets"
    while read -r dir a; do
        describe_dll "$windir/$dir/ws2_32.dll" "$a" "$dir/ws2_32.dll"
    done <"$tmp/targets"
    list_overrides >"$tmp/overrides"
    [ -s "$tmp/overrides" ] || say "override: none for ws2_32"
    while IFS="	" read -r key data; do
        say "override $key: ws2_32=$data"
    done <"$tmp/overrides"
    [ -z "${WINEDLLOVERRIDES:-}" ] || say "note: WINEDLLOVERRIDES=$WINEDLLOVERRIDES in this shell takes precedence over the registry"
    recorded_scopes >"$tmp/scopes"
    if [ ! -s "$tmp/scopes" ]; then
        say "not installed"
        return 0
    fi
    while IFS= read -r s; do
        say "installed for $(scope_label "$s")"
    done <"$tmp/scopes"
    while read -r dir a; do
        is_ours "$windir/$dir/ws2_32.dll" ||
            say "warning: $dir/ws2_32.dll is not ours any more: run install again"
    done <"$tmp/targets"
}

if [ -n "$app_dir" ]; then
    app_dir_mode
else
    check_prefix
    "prefix_$command"
fi
