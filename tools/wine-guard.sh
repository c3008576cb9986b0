#!/bin/sh
# Runs a Windows program as tools/wine-run.sh does, but under a wineserver started here in the
# foreground, and watches both.  If the server dies first (Wine 8.0's can abort under heavy
# socket traffic), every Wine process would otherwise wait for it forever: here the run ends
# at once, the server's last words are printed, and what is left of the prefix is killed.
#   tools/wine-guard.sh SECONDS SERVER_LOG PROGRAM [ARGS...]
# Exits with the program's status; 124 when SECONDS passed, 125 when the server died.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
limit=$1
log=$2
shift 2
: "${WINEPREFIX:=$(pwd)/wineprefix}"
export WINEPREFIX
"$top/tools/wine-run.sh" --init

# Every Wine process (the loader or the server) that runs in this prefix.
prefix_pids() {
    for dir in /proc/[0-9]*; do
        case $(readlink "$dir/exe" 2>/dev/null) in
        */wine*) ;;
        *) continue ;;
        esac
        { tr '\0' '\n' < "$dir/environ"; } 2>/dev/null | grep -qxF "WINEPREFIX=$WINEPREFIX" && echo "${dir#/proc/}"
    done
    return 0
}

# Running, and not a zombie waiting to be reaped.
alive() {
    kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# The server of an earlier run may still be lingering: it must be gone before ours starts.
wineserver -k 2>/dev/null || true
waited=0
while [ -n "$(prefix_pids)" ] && [ "$waited" -lt 100 ]; do
    sleep 0.1
    waited=$((waited + 1))
done
wineserver -f -p5 >"$log" 2>&1 &
server=$!
# Ready once its socket is in its working directory, the prefix's server directory.
waited=0
while [ ! -S "/proc/$server/cwd/socket" ] && alive "$server" && [ "$waited" -lt 100 ]; do
    sleep 0.1
    waited=$((waited + 1))
done

# In a session of its own, so that a kill reaches whatever it started.
setsid "$top/tools/wine-run.sh" "$@" &
program=$!
deadline=$(($(date +%s) + limit))
verdict=0
while alive "$program"; do
    if ! alive "$server"; then
        verdict=125
        break
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        verdict=124
        break
    fi
    sleep 1
done

if [ "$verdict" -ne 0 ]; then
    kill -9 -- "-$program" 2>/dev/null || true
    # shellcheck disable=SC2046
    kill -9 $(prefix_pids) 2>/dev/null || true
    if [ "$verdict" -eq 125 ]; then
        echo "wine-guard: the wineserver died during the run; it said:" >&2
        sed 's/^/wine-guard:   /' "$log" >&2
    else
        echo "wine-guard: no end within $limit s; the run was killed" >&2
    fi
fi
status=0
wait "$program" || status=$?
wineserver -k 2>/dev/null || true
wait "$server" 2>/dev/null || true
[ "$verdict" -eq 0 ] || exit "$verdict"
exit "$status"
