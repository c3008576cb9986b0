#!/bin/sh
# The server benchmark: bench.exe --serve runs the same server on each DLL, ours on PORT and
# Wine's own on PORT+1, both up at once; real clients from the Linux side (tools/bench/client.c,
# CLIENTS connections at a time, each a request and a response, no keep-alive) measure them in
# alternating pairs.  The servers: a select and a WSAPoll event loop; a blocking accept; and a
# blocking server that defers each connection once and takes it with WSAAccept again or with
# accept().  Those three with clients that wait for the response and with clients that close
# at once: the blocking accept is what the deferring servers would serve if deferring cost
# nothing.  Then, per accepted connection, the wineserver requests of each server thread
# (WINEDEBUG=+server), for each server and each accept mode of bench.exe (--requests), and
# the idle wake-ups of a process blocked in accept, select or WSAPoll on a listener (context
# switches from /proc).
# Not part of the test run: run it alone, on an otherwise idle machine.
#   tools/bench-serve.sh [BUILD_DIR] [--pairs N] [--seconds S] [--clients N] [--csv FILE]
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
b="$top/build64" pairs=12 seconds=4 clients=50 csv=
# Below Linux's ephemeral range (32768-60999), where a client's TIME_WAIT could hold a port.
port=20300
while [ $# -gt 0 ]; do
    case $1 in
    --pairs) pairs=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --clients) clients=$2; shift ;;
    --csv) csv=$2; shift ;;
    -*) echo "usage: $0 [BUILD_DIR] [--pairs N] [--seconds S] [--clients N] [--csv FILE]" >&2; exit 2 ;;
    *) b=$(cd "$1" && pwd) ;;
    esac
    shift
done
export WINEPREFIX="${WINEPREFIX:-$b/wineprefix}"
bench="$b/tests/bench/bench.exe"
client="$b/bench-client"
work=$(mktemp -d)
cc -O2 -o "$client" "$top/tools/bench/client.c"
"$top/tools/wine-run.sh" --init
server_pid= trace=-all
# Wine starts bench.exe under start.exe: the program's own process is found by its command line.
program_pid() { pgrep -f "^[^ ]*bench.exe --serve $1 " | head -n 1; }
stop() {
    [ -n "$server_pid" ] && kill $(program_pid "$port") "$server_pid" 2>/dev/null
    wait 2>/dev/null || true
    server_pid=
}
trap 'stop; rm -rf "$work"' EXIT

# Starts bench.exe with ARGS in the background and waits until its servers listen.
start() {
    out=$1; shift
    env WINEDEBUG="$trace" "$top/tools/wine-run.sh" "$bench" "$@" >"$out" 2>"$out.err" &
    server_pid=$!
    for i in $(seq 100); do
        [ "$(grep -c listening "$out")" -ge "$want" ] && return 0
        sleep 0.2
    done
    echo "bench.exe did not start: $(cat "$out" "$out.err")" >&2
    exit 1
}
rate() { "$client" "$1" "$clients" "$2" $kind | sed 's/.*rate \([0-9.]*\).*/\1/'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "machine: $(nproc) cores, $(wine --version), x64, $clients clients, $pairs pairs of $seconds s"
[ -n "$csv" ] && echo "metric,unit,ours,platform,ratio" > "$csv"
# Each server: the loop bench.exe runs, the kind of client ("close": closes at once), its name.
servers="select,,select poll,,poll accept,,accept accept,close,accept_closed defer,,defer
defer,close,defer_closed defer-accept,,defer_accept defer-accept,close,defer_accept_closed"
parse() { loop=${1%%,*} kind=${1#*,}; name=${kind#*,} kind=${kind%%,*}; }
for server in $servers; do
    parse "$server"
    want=2
    start "$work/serve" --serve $port --loop $loop --seconds $((pairs * seconds * 2 + 60))
    rate $port 1 >/dev/null; rate $((port + 1)) 1 >/dev/null
    : > "$work/pairs"
    for i in $(seq "$pairs"); do
        # Alternate which side goes first, so that drift falls on both alike.
        if [ $((i % 2)) = 1 ]; then o=$(rate $port "$seconds"); p=$(rate $((port + 1)) "$seconds")
        else p=$(rate $((port + 1)) "$seconds"); o=$(rate $port "$seconds"); fi
        echo "$o $p" >> "$work/pairs"
        echo "  $name pair $i: ours $o, platform $p requests/s"
    done
    stop
    o=$(cut -d' ' -f1 "$work/pairs" | median)
    p=$(cut -d' ' -f2 "$work/pairs" | median)
    r=$(awk '{ print $1 / $2 }' "$work/pairs" | median)
    lower=$(awk '$1 < $2' "$work/pairs" | wc -l)
    printf '%s: ours %.0f, platform %.0f requests/s; median ratio of pairs %.2f (ours lower in %d of %d)\n' \
        "$name" "$o" "$p" "$r" "$lower" "$pairs"
    [ -n "$csv" ] && printf 'serve_%s_rate,req/s,%.0f,%.0f,%.2f\n' "$name" "$o" "$p" "$r" >> "$csv"
    port=$((port + 2))
done

# Server requests per connection: each side alone under +server, 200 connections one at a time.
for server in $servers; do
    parse "$server"
    for side in ours platform; do
        want=1
        # The trace is wineserver's own, set by the process that starts it: a fresh one.
        wineserver -w
        trace=+server
        start "$work/trace" --serve $port --only $side --loop $loop --seconds 120 --limit 200
        # --only platform listens on PORT + 1, as when both run.
        cport=$port; [ $side = platform ] && cport=$((port + 1))
        "$client" $cport 1 60 $kind >/dev/null 2>&1 &
        cpid=$!
        wait "$server_pid" || true
        wineserver -w
        server_pid= trace=-all
        kill "$cpid" 2>/dev/null || true
        wait "$cpid" 2>/dev/null || true
        tid=$(sed -n 's/.*thread \([0-9a-f]*\).*/\1/p' "$work/trace")
        served=$(sed -n 's/.*served \([0-9]*\) connections.*/\1/p' "$work/trace")
        n=$(grep -c "^$tid: [a-z_]*( " "$work/trace.err" || true)
        per=$(awk -v n="$n" -v s="$served" 'BEGIN { printf "%.1f", s ? n / s : 0 }')
        eval "req_$side=$per"
        port=$((port + 2))
    done
    echo "$name: wineserver requests per connection: ours $req_ours, platform $req_platform"
    [ -n "$csv" ] && echo "serve_${name}_requests,req/conn,$req_ours,$req_platform," >> "$csv"
done

# Server requests per accepted connection in each accept mode of bench.exe (a lone thread
# accepting, 300 connections, a client thread 32 ahead): each side alone under +server.
for side in ours platform; do
    wineserver -w
    env WINEDEBUG=+server "$top/tools/wine-run.sh" "$bench" --requests $side --conns 300 \
        >"$work/modes-$side" 2>"$work/modes-$side.err" || true
    wineserver -w
    # The server is the thread named at each end marker: its request lines in between.
    awk '/^requests-begin / { split("", c); on = 1; next }
         /^requests-end / { if (on) printf "%s %.1f\n", $2, $4 ? c[$3] / $4 : 0; on = 0; next }
         on && /^[0-9a-f]+: [a-z_]+\( / { split($0, f, ":"); c[f[1]]++ }' "$work/modes-$side.err" > "$work/modes-$side.per"
done
paste -d ' ' "$work/modes-ours.per" "$work/modes-platform.per" | while read -r mode o _ p; do
    echo "accept mode $mode: wineserver requests per connection: ours $o, platform $p"
    [ -n "$csv" ] && echo "${mode%_rate}_requests,req/conn,$o,$p," >> "$csv"
done

# Idle wake-ups: blocked on a listener with nothing coming, 1 s timeouts for select/WSAPoll.
switches() {
    cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { n += $2 } END { print n + 0 }'
}
for wait in accept select poll; do
    for side in ours platform; do
        want=1
        start "$work/idle" --serve $port --only $side --loop idle-$wait --seconds 16
        sleep 3
        pid=$(program_pid $port)
        [ -n "$pid" ] || { echo "bench.exe not found" >&2; exit 1; }
        a=$(switches "$pid")
        sleep 10
        z=$(switches "$pid")
        stop
        eval "idle_$side=$(awk -v a="$a" -v z="$z" 'BEGIN { printf "%.1f", (z - a) / 10 }')"
        port=$((port + 2))
    done
    echo "idle in $wait: context switches per second: ours $idle_ours, platform $idle_platform"
    [ -n "$csv" ] && echo "idle_${wait}_switches,per s,$idle_ours,$idle_platform," >> "$csv"
done
