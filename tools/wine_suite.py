#!/usr/bin/env python3
"""Wine's own ws2_32 tests against Wine's builtin and against a drop-in ws2_32.dll.

tools/wine-suite.sh is the entry point; see docs/wine-suite.md.  Per architecture:
  1. the source package of exactly the installed Wine is fetched with apt-get source into
     WORK/src (kept there and reused);
  2. Wine's dlls/ws2_32/tests (afd.c, protocol.c, sock.c) and a generated test list are built
     with mingw-w64 against the installed Wine headers (libwine-dev);
  3. each unit runs in a fresh prefix, in a network namespace of its own (loopback and one
     veth with a private address, no default route), with no display: --builtin-runs times
     against Wine's builtin ws2_32 and once with the DLL beside the test and ws2_32=n,b;
     +loaddll tells which ws2_32 each run bound;
  4. a unit passes when no check location fails on the drop-in that did not fail in one of
     the builtin runs, and the drop-in's run neither crashed nor timed out; such a location
     must fail again when the drop-in's run is repeated, and is then looked for in more
     builtin runs (a check that races can pass three builtin runs).
The builtin's runs are kept in WORK/cache, keyed by Wine version, architecture, the tests'
sources and the compiler, and reused while they match.
"""

import argparse
import concurrent.futures
import functools
import glob
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

UNITS = ("afd", "protocol", "sock")
TRIPLETS = {"x64": "x86_64-w64-mingw32", "x86": "i686-w64-mingw32"}
HERE = os.path.dirname(os.path.abspath(__file__))

# One failing check: "sock.c:1234: Test failed: message" (a pid prefix in some versions).
FAIL_RE = re.compile(r"^(?:[0-9a-f]{4,8}:)?([\w.-]+\.c):(\d+):\s*"
                     r"(?:Test failed|Test succeeded inside todo block):\s?(.*)$")
# A process's closing line: "0134:sock: 2672953 tests executed (403 marked as todo, ...".
SUMMARY_RE = re.compile(r"^(?:([0-9a-f]{4,8}):)?(\w+): (\d+) tests executed \(")
# With +pid, "0104:0108:trace:loaddll:build_module Loaded L"C:\\...\\ws2_32.dll" at ...: builtin".
LOADDLL_RE = re.compile(r"^([0-9a-f]{4,8}):[0-9a-f]{4,8}:trace:loaddll:\S+ Loaded L?\"(.*)\" at \S+: (\w+)")

# The namespace's own address, and the names Wine's tests look up that must answer: with no
# network they are given this address in the namespace's own /etc/hosts, so that the lookups
# succeed (the same on both sides) and the units run to their end instead of crashing.
NS_ADDRESS = "10.231.7.2"
NS_NAMES = "test.winehq.org winehq.org source.winehq.org www.kernel.org xn--zckzah.winehq.org"
# Part of the builtin cache's key: a change of how the units run makes earlier runs stale.
RUN_SETUP_VERSION = "3"

NETSETUP = """
set -e
if [ -f /etc/hosts ]; then mount --bind "$4/hosts" /etc/hosts; fi
if [ -f /etc/resolv.conf ]; then mount --bind "$4/resolv.conf" /etc/resolv.conf; fi
ip link set lo up
ip link add wsuite0 type veth peer name wsuite1
ip addr add """ + NS_ADDRESS + """/24 dev wsuite0
ip link set wsuite1 up
ip link set wsuite0 up
if [ -n "$(ip route show default)" ] || [ -n "$(ip -6 route show default)" ]; then
    echo "wine-suite: a default route in the test namespace" >&2; exit 99
fi
set +e
python3 "$5" --serve-dns "$4/dns.ready" > "$4/dns.log" 2>&1 &
dns=$!
n=0
while [ ! -e "$4/dns.ready" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
"""


def say(msg=""):
    print(msg, flush=True)


def die(msg):
    say("wine-suite: " + msg)
    sys.exit(2)


def run(cmd, **kw):
    return subprocess.run(cmd, text=True, capture_output=True, **kw)


def installed_wine():
    """(source package, source version) of the installed Wine."""
    for pkg in ("wine", "wine64", "wine32", "wine32:i386"):
        r = run(["dpkg-query", "-W", "-f=${source:Package} ${source:Version}", pkg])
        if r.returncode == 0 and len(r.stdout.split()) == 2:
            return tuple(r.stdout.split())
    die("no installed Wine package (dpkg-query -W wine)")


def apt(args):
    """apt-get, waiting while another apt holds its lock."""
    for _ in range(60):
        r = run(["apt-get"] + args)
        if r.returncode == 0 or "lock" not in (r.stderr + r.stdout).lower():
            return r
        time.sleep(5)
    return r


def source_stanzas():
    """The enabled binary (deb) sources as (uris, suites, components, signed_by, options)."""
    found = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as f:
            for stanza in re.split(r"\n\s*\n", f.read()):
                fields = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line or line[0].isspace():
                        continue
                    key, value = line.split(":", 1)
                    fields[key.strip().lower()] = value.strip()
                if "deb" in fields.get("types", "").split() and \
                        fields.get("enabled", "yes").lower() != "no":
                    found.append(fields)
    lines = []
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        if os.path.exists(path):
            with open(path) as f:
                lines += [l.strip() for l in f if l.strip().startswith("deb ")]
    return found, lines


def has_deb_src():
    paths = glob.glob("/etc/apt/sources.list.d/*") + ["/etc/apt/sources.list"]
    for path in paths:
        if os.path.isfile(path):
            with open(path, errors="replace") as f:
                for line in f:
                    line = line.strip()
                    if line.startswith("deb-src ") or \
                            (line.lower().startswith("types:") and "deb-src" in line.split()):
                        return True
    return False


def add_deb_src():
    """Source lines for the suites already configured, with the same keys."""
    stanzas, lines = source_stanzas()
    if stanzas:
        out = []
        for s in stanzas:
            text = "Types: deb-src\nURIs: %s\nSuites: %s\nComponents: %s\n" % (
                s["uris"], s["suites"], s.get("components", "main"))
            if "signed-by" in s:
                text += "Signed-By: %s\n" % s["signed-by"]
            out.append(text)
        path = "/etc/apt/sources.list.d/wine-suite-src.sources"
        with open(path, "w") as f:
            f.write("\n".join(out))
    elif lines:
        path = "/etc/apt/sources.list.d/wine-suite-src.list"
        with open(path, "w") as f:
            f.write("".join("deb-src" + l[3:] + "\n" for l in lines))
    else:
        die("no apt sources to derive a deb-src line from")
    say("wine-suite: added %s (deb-src for the configured suites)" % path)


def fetch_source(work, pkg, version):
    """WORK/src/VERSION/<dir>: Wine's source, as apt-get source unpacks it."""
    dest = os.path.join(work, "src", version)
    found = glob.glob(os.path.join(dest, "*", "dlls", "ws2_32", "tests", "sock.c"))
    if found:
        return found[0].rsplit("/dlls/", 1)[0]
    if not shutil.which("dpkg-source"):
        die("apt-get source needs dpkg-source: apt-get install dpkg-dev")
    want = "%s=%s" % (pkg, version)
    if "Version: %s\n" % version not in run(["apt-cache", "showsrc", pkg]).stdout:
        if not has_deb_src():
            add_deb_src()
        r = apt(["update", "-q"])
        if r.returncode != 0:
            die("apt-get update failed:\n" + r.stderr)
    tmp = dest + ".part"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    say("wine-suite: apt-get source %s" % want)
    r = subprocess.run(["apt-get", "source", "-q", want], cwd=tmp, text=True,
                       capture_output=True)
    found = glob.glob(os.path.join(tmp, "*", "dlls", "ws2_32", "tests", "sock.c"))
    if r.returncode != 0 or not found:
        die("apt-get source %s failed:\n%s%s" % (want, r.stdout[-2000:], r.stderr[-2000:]))
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(tmp, dest)
    return glob.glob(os.path.join(dest, "*", "dlls", "ws2_32", "tests", "sock.c"))[0] \
        .rsplit("/dlls/", 1)[0]


def wine_include():
    for d in ("/usr/include/wine/wine", "/usr/include/wine"):
        if os.path.isdir(os.path.join(d, "windows")) and os.path.isdir(os.path.join(d, "msvcrt")):
            return d
    die("no Wine headers (/usr/include/wine/wine/windows): apt-get install libwine-dev")


def build(src, arch, out):
    """OUT/ws2_32_test.exe from Wine's tests; rebuilt only when a source is newer."""
    triplet = TRIPLETS[arch]
    cc = triplet + "-gcc"
    if not shutil.which(cc):
        die("%s not found: apt-get install gcc-mingw-w64" % cc)
    tests = os.path.join(src, "dlls", "ws2_32", "tests")
    units = [os.path.join(tests, u + ".c") for u in UNITS]
    exe = os.path.join(out, "ws2_32_test.exe")
    inputs = units + [__file__]
    if os.path.exists(exe) and all(os.path.getmtime(exe) > os.path.getmtime(i) for i in inputs):
        return exe
    os.makedirs(os.path.join(out, "include", "wine"), exist_ok=True)
    # Wine's test harness and its private AFD header come with its source, not libwine-dev.
    for h in ("test.h", "afd.h"):
        shutil.copy(os.path.join(src, "include", "wine", h), os.path.join(out, "include", "wine"))
    with open(os.path.join(out, "testlist.c"), "w") as f:
        f.write("/* generated by tools/wine_suite.py: the units of Wine's ws2_32 tests */\n"
                "#define WIN32_LEAN_AND_MEAN\n#include <windows.h>\n\n#define STANDALONE\n"
                "#include \"wine/test.h\"\n\n")
        f.writelines("extern void func_%s(void);\n" % u for u in UNITS)
        f.write("\nconst struct test winetest_testlist[] =\n{\n")
        f.writelines("    { \"%s\", func_%s },\n" % (u, u) for u in UNITS)
        f.write("    { 0, 0 }\n};\n")
    # The debug helpers the harness uses live in Wine's ntdll; mingw's import library has none.
    with open(os.path.join(out, "winedebug.def"), "w") as f:
        f.write("LIBRARY ntdll.dll\nEXPORTS\n__wine_dbg_strdup\n__wine_dbg_output\n"
                "__wine_dbg_header\n__wine_dbg_get_channel_flags\n")
    log = os.path.join(out, "build.log")
    winc = wine_include()
    # Wine's C library headers first; the compiler's own only for what they lack (gcc 14's
    # stddef.h defines max_align_t otherwise than Wine's).
    cflags = ["-O2", "-g0", "-w", "-nostdinc",
              "-I", os.path.join(out, "include"),
              "-isystem", os.path.join(winc, "msvcrt"), "-isystem", os.path.join(winc, "windows"),
              "-idirafter", run([cc, "-print-file-name=include"]).stdout.strip(),
              "-I", os.path.dirname(winc),
              "-D__WINESRC__", "-DWINE_CROSS_PE", "-D_WIN32", "-fno-strict-aliasing"]
    objs = []
    with open(log, "w") as logf:
        steps = [[triplet + "-dlltool", "-d", os.path.join(out, "winedebug.def"),
                  "-l", os.path.join(out, "libwinedebug.a")]]
        for c in units + [os.path.join(out, "testlist.c")]:
            obj = os.path.join(out, os.path.basename(c)[:-2] + ".o")
            objs.append(obj)
            steps.append([cc, "-c"] + cflags + ["-o", obj, c])
        steps.append([cc, "-o", exe + ".tmp"] + objs +
                     ["-Wl,--no-insert-timestamp", "-L", out, "-lwinedebug", "-lucrt", "-lws2_32", "-liphlpapi",
                      "-luser32", "-lntdll"])
        for step in steps:
            logf.write("$ " + " ".join(step) + "\n")
            logf.flush()
            r = subprocess.run(step, stdout=logf, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                with open(log) as f:
                    die("building Wine's tests failed (%s):\n%s" % (log, f.read()[-4000:]))
    os.rename(exe + ".tmp", exe)
    return exe


def wine_env(prefix, overrides):
    env = dict(os.environ)
    for v in ("DISPLAY", "WAYLAND_DISPLAY", "WINEDLLPATH", "WINELOADER", "WINESERVER"):
        env.pop(v, None)
    env.update(WINEPREFIX=prefix, WINEARCH="win64", WINEDEBUG="fixme-all,+pid,+loaddll",
               WINEDLLOVERRIDES=overrides)
    return env


def make_template(work, version):
    """A prefix made once per Wine version, copied for each run; no display driver."""
    tmpl = os.path.join(work, "prefix-%s" % version)
    if all(os.path.exists(os.path.join(tmpl, f)) for f in (".ready", "system.reg", "user.reg")):
        return tmpl
    shutil.rmtree(tmpl, ignore_errors=True)
    env = wine_env(tmpl, "mscoree,mshtml=;winedbg.exe=d")
    env["WINEDEBUG"] = "-all"
    say("wine-suite: making the template prefix %s" % tmpl)
    subprocess.run(["wineboot", "-i"], env=env, capture_output=True)
    subprocess.run(["wine", "reg", "add", "HKCU\\Software\\Wine\\Drivers", "/v", "Graphics",
                    "/d", "null", "/f"], env=env, capture_output=True)
    subprocess.run(["wineserver", "-w"], env=env)
    if not os.path.exists(os.path.join(tmpl, "system.reg")):
        die("wineboot did not make a prefix in %s" % tmpl)
    open(os.path.join(tmpl, ".ready"), "w").close()
    return tmpl


def fresh_prefix(tmpl, prefix):
    """A copy of the template: files linked, the registry (which Wine rewrites) copied."""
    tmpl = os.path.realpath(tmpl)
    subprocess.run(["cp", "-al", tmpl, prefix], check=True)
    if os.path.islink(prefix) or not os.path.isdir(prefix):
        die("%s is not a copy of the template" % prefix)
    for name in os.listdir(prefix):
        path = os.path.join(prefix, name)
        if name.endswith(".reg") or name == ".update-timestamp":
            os.unlink(path)
            shutil.copy2(os.path.join(tmpl, name), path)
        elif name in ("wineserver", ".ready"):
            os.unlink(path)


@functools.lru_cache(maxsize=None)
def mount_propagation():
    """In a chroot whose root is no mount point (tools/debian13.sh), the root's propagation
    cannot be changed; the run that made the chroot's mounts made them private already."""
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True)
    return "private" if probe.returncode == 0 else "unchanged"


def run_unit(exe, unit, rundir, tmpl, dll, timeout):
    """One run of UNIT in a fresh prefix and network namespace; output kept in RUNDIR."""
    shutil.rmtree(rundir, ignore_errors=True)
    os.makedirs(rundir)
    prefix = os.path.join(rundir, "prefix")
    fresh_prefix(tmpl, prefix)
    testdir = os.path.join(rundir, "test")
    os.makedirs(testdir)
    shutil.copy(exe, testdir)
    if dll:
        shutil.copy(dll, os.path.join(testdir, "ws2_32.dll"))
        overrides = "ws2_32=n,b;winedbg.exe=d;mscoree,mshtml="
    else:
        overrides = "ws2_32=b;winedbg.exe=d;mscoree,mshtml="
    env = wine_env(prefix, overrides)
    with open(os.path.join(rundir, "resolv.conf"), "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    with open(os.path.join(rundir, "hosts"), "w") as f:
        f.write("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"
                "%s %s %s\n" % (NS_ADDRESS, socket.gethostname(), NS_NAMES))
    script = NETSETUP + (
        'cd "$1"\n'
        'start=$(date +%s)\n'
        'timeout -k 10 "$2" wine ws2_32_test.exe "$3" > "$4/stdout" 2> "$4/stderr"\n'
        'rc=$?\n'
        'echo "$rc $(( $(date +%s) - start ))" > "$4/rc"\n'
        'wineserver -k 2>/dev/null\n'
        'wineserver -w 2>/dev/null\n'
        'kill $dns 2>/dev/null\n'
        'exit 0\n')
    r = subprocess.run(["unshare", "-n", "-m", "--propagation", mount_propagation(), "sh", "-c", script, "sh", testdir, str(timeout),
                        unit, rundir, os.path.abspath(__file__)], env=env, capture_output=True,
                       text=True)
    if r.returncode != 0:
        with open(os.path.join(rundir, "setup.log"), "w") as f:
            f.write(r.stdout + r.stderr)
    shutil.rmtree(prefix, ignore_errors=True)
    return parse_run(rundir, unit, testdir, bool(dll))


def parse_run(rundir, unit, testdir, dropin):
    res = {"dir": rundir, "checks": 0, "fails": {}, "rc": None, "seconds": None,
           "crashed": False, "timeout": False, "bound": None, "bind_ok": False}
    rcfile = os.path.join(rundir, "rc")
    if not os.path.exists(rcfile):
        res["crashed"] = True
        res["error"] = "the run did not start: " + \
            open(os.path.join(rundir, "setup.log")).read().strip()[-500:] \
            if os.path.exists(os.path.join(rundir, "setup.log")) else "the run did not start"
        return res
    rc, secs = open(rcfile).read().split()
    res["rc"], res["seconds"] = int(rc), int(secs)
    res["timeout"] = res["rc"] in (124, 137)
    with open(os.path.join(rundir, "stdout"), errors="replace") as f:
        out = f.read().replace("\r", "").splitlines()
    with open(os.path.join(rundir, "stderr"), errors="replace") as f:
        err = f.read().replace("\r", "").splitlines()
    # Which processes ran the test, and which ws2_32 each of them bound.
    main_pid, test_pids, loads = None, set(), []
    for line in err:
        m = LOADDLL_RE.match(line)
        if not m:
            continue
        pid, path, kind = m.groups()
        name = path.replace("\\\\", "\\").rsplit("\\", 1)[-1].lower()
        if name == "ws2_32_test.exe":
            test_pids.add(pid)
            main_pid = main_pid or pid
        elif name == "ws2_32.dll":
            loads.append((pid, path.replace("\\\\", "\\"), kind))
    mine = [l for l in loads if l[0] in test_pids]
    res["bound"] = sorted(set("%s (%s)" % (p, k) for _, p, k in mine))
    wanted_dir = testdir.replace("/", "\\").lower()
    if dropin:
        # Ours is loaded from beside the test; it loads the builtin itself as its platform.
        pids = set(pid for pid, _, _ in mine)
        res["bind_ok"] = bool(pids) and all(
            any(q == pid and k == "native" and wanted_dir in p.lower() for q, p, k in mine)
            for pid in pids)
    else:
        res["bind_ok"] = bool(mine) and all(k == "builtin" for _, _, k in mine)
    seen_summary = set()
    for line in out:
        m = FAIL_RE.match(line)
        if m:
            loc = "%s:%s" % (m.group(1), m.group(2))
            res["fails"].setdefault(loc, [0, m.group(3)])[0] += 1
            continue
        m = SUMMARY_RE.match(line)
        if m and m.group(2) == unit:
            res["checks"] += int(m.group(3))
            seen_summary.add(m.group(1))
    if not res["timeout"]:
        # The test's own process must have printed its closing line; its children print theirs.
        res["crashed"] = main_pid not in seen_summary
    return res


def serve_dns(ready):
    """A name server on the namespace's loopback: the names of NS_NAMES get NS_ADDRESS (IPv4
    only), every other name does not exist.  Wine's tests also ask with AI_DNS_ONLY, which
    /etc/hosts does not answer.  Runs until killed."""
    names = set(NS_NAMES.split())
    addr = bytes(int(x) for x in NS_ADDRESS.split("."))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 53))
    open(ready, "w").close()
    while True:
        query, peer = sock.recvfrom(4096)
        if len(query) < 12:
            continue
        pos, labels = 12, []
        while pos < len(query) and query[pos]:
            labels.append(query[pos + 1:pos + 1 + query[pos]].decode("ascii", "replace"))
            pos += 1 + query[pos]
        question = query[12:pos + 5]
        qtype = int.from_bytes(query[pos + 1:pos + 3], "big")
        name = ".".join(labels).lower()
        known = name in names
        flags = 0x8180 if known else 0x8183
        answer = b""
        if known and qtype == 1:
            answer = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + addr
        header = query[:2] + flags.to_bytes(2, "big") + b"\x00\x01" + \
            (1 if answer else 0).to_bytes(2, "big") + b"\x00\x00\x00\x00"
        sock.sendto(header + question + answer, peer)


def inputs_hash(src, arch):
    """What the builtin's results depend on: the tests' sources, the compiler, how units run."""
    h = hashlib.sha256(("%s %s " % (RUN_SETUP_VERSION, arch)).encode())
    h.update(run([TRIPLETS[arch] + "-gcc", "--version"]).stdout.encode())
    for path in [os.path.join(src, "dlls", "ws2_32", "tests", u + ".c") for u in UNITS] + \
            [os.path.join(src, "include", "wine", h_) for h_ in ("test.h", "afd.h")]:
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def check_hosts():
    if run(["getent", "hosts", "localhost"]).returncode != 0:
        say("wine-suite: warning: 'localhost' does not resolve here (no /etc/hosts?); Wine's "
            "protocol test fails some 40 checks then, on both sides. A line "
            "'127.0.0.1 localhost' in /etc/hosts fixes that.")


def suite(args):
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    for tool in ("unshare", "ip", "wine", "wineserver"):
        if not shutil.which(tool):
            die("%s not found" % tool)
    check_hosts()
    dll = os.path.abspath(args.dll)
    if not os.path.isfile(dll):
        die("no DLL at %s" % dll)
    pkg, version = installed_wine()
    src = fetch_source(work, pkg, version)
    tmpl = make_template(work, version)
    exe = build(src, args.arch, os.path.join(work, "build-%s-%s" % (version, args.arch)))
    key = "%s-%s-%s" % (version, args.arch, inputs_hash(src, args.arch))
    say("wine-suite: Wine %s, %s, test binary %s, DLL %s" % (version, args.arch, exe, dll))
    units = args.units or list(UNITS)

    jobs = []    # (unit, kind, index, rundir)
    cached = {}
    for unit in units:
        cdir = os.path.join(work, "cache", key, unit)
        for i in range(args.builtin_runs):
            rundir = os.path.join(cdir, "builtin-%d" % i)
            ok = os.path.exists(os.path.join(rundir, "rc")) and not args.fresh
            if ok:
                cached.setdefault(unit, []).append(i)
            else:
                jobs.append((unit, "builtin", i, rundir))
        jobs.append((unit, "ours", 0, os.path.join(work, "runs", key, unit, "ours")))
    # The longest unit first, so that the parallel runs end together.
    jobs.sort(key=lambda j: (j[0] != "sock", j[1] != "ours"))
    results = {u: {"builtin": [None] * args.builtin_runs, "ours": None} for u in units}
    for unit, idxs in cached.items():
        for i in idxs:
            rundir = os.path.join(work, "cache", key, unit, "builtin-%d" % i)
            results[unit]["builtin"][i] = parse_run(rundir, unit,
                                                    os.path.join(rundir, "test"), False)
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {}
        for unit, kind, i, rundir in jobs:
            futures[pool.submit(run_unit, exe, unit, rundir, tmpl,
                                dll if kind == "ours" else None, args.timeout)] = (unit, kind, i)
        for fut in concurrent.futures.as_completed(futures):
            unit, kind, i = futures[fut]
            res = fut.result()
            if kind == "ours":
                results[unit]["ours"] = res
            else:
                results[unit]["builtin"][i] = res
            say("wine-suite: %s %s%s: %d checks, %d failing locations, %ss%s%s" % (
                unit, kind, "" if kind == "ours" else " #%d" % (i + 1), res["checks"],
                len(res["fails"]), res["seconds"], " CRASHED" if res["crashed"] else "",
                " TIMED OUT" if res["timeout"] else ""))
    # A location that failed on ours and in no builtin run is run once more: a builtin check
    # flaky enough to pass three times can fail once on ours too.  It counts when it fails again.
    for unit in units:
        ours = results[unit]["ours"]
        b_union = set().union(*(set(r["fails"]) for r in results[unit]["builtin"]))
        if set(ours["fails"]) - b_union and not ours["crashed"] and not ours["timeout"]:
            again = run_unit(exe, unit, os.path.join(work, "runs", key, unit, "ours-again"), tmpl,
                             dll, args.timeout)
            results[unit]["again"] = again
            say("wine-suite: %s ours, run again for its new locations: %d checks, %d failing "
                "locations, %ss" % (unit, again["checks"], len(again["fails"]), again["seconds"]))
            confirm_on_builtin(args, exe, unit, key, tmpl, work, results[unit])
    elapsed = time.time() - started
    return report_suite(args, version, key, units, results, cached, elapsed, work)


def confirm_on_builtin(args, exe, unit, key, tmpl, work, res):
    """Locations that failed in both runs on ours and in none of the builtin's: the builtin is
    run up to --confirm-runs times more, stopping once each of them has failed there too.  A
    check that races with a thread pool (protocol.c's GetAddrInfoExW completion, on x86) fails
    a few times in ten on both, so three builtin passes do not make it ours."""
    again = res["again"]
    if again["crashed"] or again["timeout"]:
        return
    b_union = set().union(*(set(r["fails"]) for r in res["builtin"]))
    suspects = (set(res["ours"]["fails"]) & set(again["fails"])) - b_union
    res["extra"] = []
    spent = 0
    for i in range(args.confirm_runs):
        # A long unit (sock: minutes a run) gets as many runs more as fit in the time bound.
        if not suspects or spent >= args.confirm_seconds:
            break
        r = run_unit(exe, unit, os.path.join(work, "runs", key, unit, "builtin-extra-%d" % i),
                     tmpl, None, args.timeout)
        res["extra"].append(r)
        spent += r["seconds"]
        suspects -= set(r["fails"])
        say("wine-suite: %s builtin, run again for ours' new locations (#%d): %d checks, %d "
            "failing locations, %ss; %d still only on ours" % (
                unit, i + 1, r["checks"], len(r["fails"]), r["seconds"], len(suspects)))


def report_suite(args, version, key, units, results, cached, elapsed, work):
    passed = failed = 0
    rows = []
    say("")
    say("=== Wine %s's ws2_32 tests, %s: builtin (%d runs) vs the drop-in" % (
        version, args.arch, args.builtin_runs))
    for unit in units:
        b_runs = results[unit]["builtin"]
        ours = results[unit]["ours"]
        b_union = set().union(*(set(r["fails"]) for r in b_runs))
        b_always = set.intersection(*(set(r["fails"]) for r in b_runs))
        new = set(ours["fails"]) - b_union
        again = results[unit].get("again")
        once = set()
        if again and not again["crashed"] and not again["timeout"]:
            once = new - set(again["fails"])
            new -= once
        extra = results[unit].get("extra", [])
        flaky = new & set().union(*(set(r["fails"]) for r in extra))
        new -= flaky
        new = sorted(new, key=loc_key)
        gained = sorted(b_always - set(ours["fails"]), key=loc_key)
        problems = []
        # A crash the builtin has in every run too (Wine 8.0's protocol unit, with no DNS in the
        # namespace) is the suite's, not ours: named, not counted.
        b_all_crash = all(r["crashed"] for r in b_runs)
        if ours["crashed"] and b_all_crash:
            problems.append("note: crashed on ours and in every builtin run (exit %s), so the "
                            "checks after the crash ran on neither" % ours["rc"])
        elif ours["crashed"]:
            problems.append("crashed on ours (exit %s)" % ours["rc"])
        if ours["timeout"]:
            problems.append("timed out on ours (%d s)" % args.timeout)
        if not ours["bind_ok"]:
            problems.append("the drop-in was not the ws2_32 bound: %s" % ours["bound"])
        for i, r in enumerate(b_runs):
            if not r["bind_ok"]:
                problems.append("builtin run %d bound %s" % (i + 1, r["bound"]))
            if (r["crashed"] and not b_all_crash) or r["timeout"]:
                problems.append("note: builtin run %d %s" % (
                    i + 1, "crashed" if r["crashed"] else "timed out"))
        bad = bool(new) or any(not p.startswith("note:") for p in problems)
        passed += not bad
        failed += bad
        how = "%d cached" % len(cached.get(unit, [])) if cached.get(unit) else "fresh"
        say("%s %s/%s: %d checks run on ours; failing locations: builtin %d (union of %d runs, "
            "%s), ours %d, new %d, gained %d" % (
                "FAIL" if bad else "PASS", args.arch, unit, ours["checks"], len(b_union),
                len(b_runs), how, len(ours["fails"]), len(new), len(gained)))
        for p in problems:
            say("    " + p)
        for loc in new:
            n, msg = ours["fails"][loc]
            say("    new: %s: %s%s" % (loc, msg, " (x%d)" % n if n > 1 else ""))
        for loc in sorted(once, key=loc_key):
            say("    once: %s: %s (failed on ours, passed when run again: not counted)" % (
                loc, ours["fails"][loc][1]))
        for loc in sorted(flaky, key=loc_key):
            say("    flaky: %s: %s (failed twice on ours and also on the builtin in one of %d "
                "runs more: not counted)" % (loc, ours["fails"][loc][1], len(extra)))
        for loc in gained:
            say("    gained: %s: %s" % (loc, b_runs[0]["fails"][loc][1]))
        rows.append({"unit": unit, "checks": ours["checks"], "crashed": ours["crashed"],
                     "builtin_crashed": b_all_crash,
                     "builtin_checks": [r["checks"] for r in b_runs],
                     "builtin": len(b_union), "ours": len(ours["fails"]),
                     "new": [[l, ours["fails"][l][1]] for l in new],
                     "once": [[l, ours["fails"][l][1]] for l in sorted(once, key=loc_key)],
                     "flaky": [[l, ours["fails"][l][1]] for l in sorted(flaky, key=loc_key)],
                     "gained": [[l, b_runs[0]["fails"][l][1]] for l in gained],
                     "problems": problems, "pass": not bad})
    os.makedirs(os.path.join(work, "results"), exist_ok=True)
    with open(os.path.join(work, "results", "%s-%s.json" % (version, args.arch)), "w") as f:
        json.dump({"wine": version, "arch": args.arch, "builtin_runs": args.builtin_runs,
                   "key": key, "units": rows}, f, indent=1)
    say("wine-suite: runs took %d s; kept in %s" % (elapsed, work))
    say("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def loc_key(loc):
    f, line = loc.rsplit(":", 1)
    return (f, int(line))


def write_report(args):
    """The page docs/wine-suite.md from the results in WORK/results."""
    files = sorted(glob.glob(os.path.join(os.path.abspath(args.work), "results", "*.json")))
    if not files:
        die("no results in %s/results: run the suite first" % args.work)
    data = [json.load(open(p)) for p in files]
    order = {"x64": 0, "x86": 1}
    data.sort(key=lambda d: (d["wine"], order.get(d["arch"], 9)))
    lines = [
        "# Wine's own ws2_32 tests through the drop-in",
        "",
        "Wine's conformance tests for ws2_32 (`dlls/ws2_32/tests`: afd, protocol, sock), taken",
        "from the Debian source package of exactly the installed Wine at test time, built with",
        "mingw-w64 against the installed Wine headers, and run per unit in a fresh prefix and a",
        "network namespace of its own: several times against Wine's builtin ws2_32, once with",
        "this DLL beside the test (`WINEDLLOVERRIDES=ws2_32=n,b`). A unit fails when a check",
        "location fails on ours (and again when the unit is run once more) and in none of the builtin",
        "runs, nor in up to 20 builtin runs more made to look for it (at most 5 minutes of them per",
        "unit) (**new**), or when it crashes",
        "or times out on ours; **flaky** are locations that failed twice on ours and in one of",
        "those further builtin runs (a check that races on both, not counted); **gained** are",
        "locations that failed in every builtin run and pass on ours. Failing locations are",
        "counted once each (`file.c:line`).",
        "",
        "Regenerate (as root; the work directory keeps the source, builds and runs):",
        "",
        "```sh",
        "tools/build.sh --no-demo",
        "tools/wine-suite.sh --arch x64 --dll out/x64/ws2_32.dll --work build-winesuite",
        "tools/wine-suite.sh --arch x86 --dll out/x86/ws2_32.dll --work build-winesuite",
        "tools/wine-suite.sh --report docs/wine-suite.md --work build-winesuite",
        "```",
        "",
        "| Wine | arch | unit | checks run | failing on builtin | failing on ours | new | gained |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    notes = []
    for d in data:
        for u in d["units"]:
            checks = "%d" % u["checks"]
            if u.get("crashed"):
                checks = "crashed on both" if u.get("builtin_crashed") else "crashed"
            lines.append("| %s | %s | %s | %s | %d | %d | %d | %d |" % (
                d["wine"], d["arch"], u["unit"], checks, u["builtin"], u["ours"],
                len(u["new"]), len(u["gained"])))
            for loc, msg in u["new"]:
                notes.append("- new, Wine %s %s: `%s`: %s" % (d["wine"], d["arch"], loc, msg))
            for loc, msg in u.get("once", []):
                notes.append("- once (failed on ours, passed when run again), Wine %s %s: `%s`: %s" % (
                    d["wine"], d["arch"], loc, msg))
            for loc, msg in u.get("flaky", []):
                notes.append("- flaky on both, Wine %s %s: `%s`: %s" % (d["wine"], d["arch"], loc,
                                                                     msg))
            for p in u["problems"]:
                notes.append("- Wine %s %s %s: %s" % (d["wine"], d["arch"], u["unit"], p))
            for loc, msg in u["gained"]:
                notes.append("- gained, Wine %s %s: `%s`: %s" % (d["wine"], d["arch"], loc, msg))
    lines.append("")
    lines.append("Builtin failures are the union over %s builtin runs per unit." %
                 "/".join(sorted(set(str(d["builtin_runs"]) for d in data))))
    if notes:
        lines += ["", "Locations:", ""] + notes
    with open(args.report, "w") as f:
        f.write("\n".join(lines) + "\n")
    say("wine-suite: wrote %s" % args.report)
    return 0


def main():
    p = argparse.ArgumentParser(prog="tools/wine-suite.sh",
                                description="Wine's own ws2_32 tests: builtin vs a drop-in DLL")
    p.add_argument("--arch", choices=sorted(TRIPLETS))
    p.add_argument("--dll", help="the ws2_32.dll to test as a drop-in")
    p.add_argument("--work", required=True, help="work directory (source, builds, runs, cache)")
    p.add_argument("--units", nargs="+", choices=UNITS, help="default: all three")
    p.add_argument("--builtin-runs", type=int, default=3, help="runs against the builtin (3)")
    p.add_argument("--confirm-runs", type=int, default=20,
                   help="builtin runs more for a location failing only on ours (20)")
    p.add_argument("--confirm-seconds", type=int, default=300,
                   help="time bound of those runs, per unit (300)")
    p.add_argument("--timeout", type=int, default=400, help="seconds per unit run (400)")
    p.add_argument("--jobs", type=int, default=2, help="runs at once (2)")
    p.add_argument("--fresh", action="store_true", help="ignore the builtin's cached runs")
    p.add_argument("--report", metavar="PAGE", help="write the results page and stop")
    p.add_argument("--fetch-only", action="store_true",
                   help="fetch the installed Wine's source into WORK and stop (for a run that "
                        "will have no network)")
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-dns":
        serve_dns(sys.argv[2])
        return 0
    args = p.parse_args()
    if args.report:
        return write_report(args)
    if args.fetch_only:
        pkg, version = installed_wine()
        say("wine-suite: Wine's source in %s" % fetch_source(os.path.abspath(args.work), pkg, version))
        return 0
    if not args.arch or not args.dll:
        p.error("--arch and --dll are needed (or --report)")
    if args.builtin_runs < 1:
        p.error("--builtin-runs must be at least 1")
    return suite(args)


if __name__ == "__main__":
    sys.exit(main())
