#!/bin/sh
# Runs the conditional-accept server under Wine with this DLL beside it (ws2_32=n,b), and
# six real clients from the Linux side: accepted, deferred then accepted, refused with a
# reset, twice over.   tools/demo/run.sh BUILDDIR
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build64}" && pwd)
dir="$build/demo-run"
port=${DEMO_PORT:-47001}
count=6

rm -rf "$dir"
mkdir -p "$dir"
cp "$build/tools/demo/condserver.exe" "$build/dlls/ws2_32/ws2_32.dll" "$dir/"
export WINEPREFIX="$build/wineprefix"
cd "$dir"
timeout 300 "$top/tools/wine-run.sh" condserver.exe "$port" "$count" > server.log 2>&1 &
server=$!
# The first run creates the Wine prefix: wait for the server to listen before any client.
for i in $(seq 240); do
    grep -q "listening on" server.log && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.5
done
python3 "$top/tools/demo/clients.py" "$port" "$count" > clients.log 2>&1 || true
wait "$server" || echo "the server exited with $?"
echo "--- server (Wine, this DLL) ---"
tr -d '\r' < server.log
echo "--- clients (Linux) ---"
cat clients.log
grep -q "ws2_32 in use: .*demo-run" server.log || { echo "the server did not use this DLL"; exit 1; }
