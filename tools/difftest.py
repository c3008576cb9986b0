#!/usr/bin/env python3
"""The differential tester's driver: runs tests/diff's difftest.exe for each seed on Wine's own
ws2_32 and on this project's DLL, and compares the two traces epoch by epoch.

A difference passes only where a rule of docs' contract (spec/wsaaccept.md) says the builtin is
wrong, and then ours must show what that rule predicts (RULES below).  Any other difference
fails, with the seed and both traces up to the first unexplained line.

  tools/difftest.py --exe-dir BUILD/tests/diff --dll BUILD/dlls/ws2_32/ws2_32.dll
                    [--seeds 1,2,3 | --seeds N [--start S] | --minutes M] [--ops K]
                    [--prefix DIR] [--simple] [--replay-check] [--seeds-file FILE] [--keep DIR]
The last line is "N passed, N failed" (seeds); the exit status is non-zero on any failure.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_TIMEOUT = 60


# --- the traces ------------------------------------------------------------------------------

LINE = re.compile(r'^(\d+)\.(\d+) (.*)$')


def epochs(text):
    """{epoch: [line, ...]} of one trace; lines that are not trace lines go with the epoch before."""
    out, current = {}, 0
    for raw in text.replace('\r', '').split('\n'):
        if not raw:
            continue
        m = LINE.match(raw)
        if m:
            current = int(m.group(1))
        out.setdefault(current, []).append(raw)
    return out


def body(line):
    m = LINE.match(line)
    return m.group(3) if m else line


def command(line):
    """The call part of a line ("wsaaccept h2 DEFER full"), without the result."""
    return body(line).split(' -> ')[0]


def result(line):
    parts = body(line).split(' -> ', 1)
    return parts[1] if len(parts) > 1 else ''


class Epoch:
    """What the comparison knows of an epoch so far, read from the lines both sides share and
    from ours (the side that keeps the contract)."""

    def __init__(self):
        self.handle_listener = {}   # h3 -> L1
        self.family = {}            # L1 -> v4 / v6
        self.deferred = {}          # L1 -> client held after CF_DEFER
        self.unknown_handles = set()    # listeners with a handle the front may not have seen
        self.rejected = set()       # clients refused through CF_REJECT
        self.reset = set()          # clients that reset their connection
        self.closed = set()         # clients that closed theirs
        self.sent = set()           # clients that sent data
        self.condaccept = {}        # L1 -> SO_CONDITIONAL_ACCEPT set
        self.hazards = []           # (rule, client): connections the builtin may have lost

    def learn(self, line):
        text = body(line)
        m = re.match(r'listener (L\d+) (v\d)', text)
        if m:
            self.family[m.group(1)] = m.group(2)
            self.condaccept[m.group(1)] = 'condaccept=set' in text
        m = re.match(r'send ([cr]\d+) -> 1$', text)
        if m:
            self.sent.add(m.group(1))
        m = re.match(r'handle (h\d+) (L\d+) (\S+)', text)
        if m:
            self.handle_listener[m.group(1)] = m.group(2)
            # A handle the front may not know when the connection is deferred: in the child, or a
            # DuplicateHandle copy (README: E1 only while the front knows every handle).
            if m.group(3).startswith('child') or m.group(3) == 'DuplicateHandle':
                self.unknown_handles.add(m.group(2))
        m = re.match(r'(reset|close) ([cr]\d+)$', text)
        if m:
            (self.reset if m.group(1) == 'reset' else self.closed).add(m.group(2))
        cmd, res = command(line), result(line)
        words = cmd.split()
        if not words or words[0] not in ('accept', 'wsaaccept', 'acceptex'):
            return
        listener = self.handle_listener.get(words[1])
        caller = re.search(r'caller=v\d:([cr]\d+)/', res)
        took = re.search(r'a\[([cr]\d+)\]', res)
        if took:
            for l, c in list(self.deferred.items()):
                if c == took.group(1):
                    del self.deferred[l]
        if caller and 'WSATRY_AGAIN' in res:
            self.deferred[listener] = caller.group(1)
        if caller and 'WSAECONNREFUSED' in res:
            self.rejected.add(caller.group(1))
            if self.deferred.get(listener) == caller.group(1):
                del self.deferred[listener]
        if re.search(r'-1 (WSAECONNRESET|WSAEACCES)', res) and listener in self.deferred:
            del self.deferred[listener]

    def queue(self, line):
        m = re.search(r'\{q=([^}]*)\}', body(line))
        return m.group(1).split(',') if m and m.group(1) else []


# --- the rules -------------------------------------------------------------------------------
# Each rule looks at a differing pair of lines (builtin, ours).  Where it recognizes what the
# builtin showed, it returns the builtin line rewritten to what the rule predicts ours shows,
# and whether the builtin's error changed the world (then the rest of the epoch is not compared).
# The pair is explained when the rewrites together turn the builtin line into ours exactly.

def sub_field(line, pattern, predicted):
    """Replaces the first match of PATTERN (a field of the builtin's line) with PREDICTED."""
    m = re.search(pattern, line)
    if not m or m.group(0) == predicted:
        return None
    return line[:m.start()] + predicted + line[m.end():]


def field_rule(pattern, predicted, ops=None):
    def check(ep, b, o):
        if ops and not re.match(ops, command(b)):
            return None
        new = sub_field(b, pattern, predicted)
        return (new, False) if new is not None else None
    return check


def rule_f1(ep, b, o):
    if body(b).startswith('listener ') and 'condaccept=set' in o:
        new = sub_field(b, r'condaccept=\S+', 'condaccept=set')
        return (new, False) if new else None
    return None


def listener_of(ep, line):
    words = command(line).split()
    return ep.handle_listener.get(words[1]) if len(words) > 1 else None


def rule_c6(ep, b, o):
    """The callee id is the listener's loopback address with its real length."""
    l = listener_of(ep, b)
    if not l or 'cond[' not in b:
        return None
    predicted = 'callee=%s:%s/%d' % (ep.family.get(l), l, 28 if ep.family.get(l) == 'v6' else 16)
    new = sub_field(b, r'callee=\S+', predicted)
    return (new, False) if new else None


def rule_c3(ep, b, o):
    """The caller id: the peer's full address in a buffer of the DLL's own, whatever the caller
    passed for addr (the builtin passes garbage for IPv6, and the caller's buffer otherwise)."""
    l = listener_of(ep, b)
    if not l or 'cond[' not in b:
        return None
    full = r'%s:[cr]\d+/%d' % (ep.family.get(l), 28 if ep.family.get(l) == 'v6' else 16)
    mb = re.search(r'caller=(\S+)', b)
    mo = re.search(r'caller=(%s) ' % full, o)
    if not mb or not mo or re.match(full + '$', mb.group(1)):
        return None
    # A connection the builtin took (accepted or refused) with no client name: its program's
    # model of the queue no longer follows ours.
    rb = result(b)
    took = not re.match(r'v\d:[cr]\d+/', mb.group(1)) and (rb.startswith('a[') or 'WSAECONNREFUSED' in rb)
    return b[:mb.start()] + 'caller=' + mo.group(1) + b[mb.end():], took


def rule_no_address(rid, cond):
    """A WSAAccept that fails after its condition function returned COND returns no address:
    the connection was refused (D2) or stays queued (D3, D4).  The builtin accepts first and has
    written *addrlen by then.  (The contract says nothing of *addrlen here; this reads D2-D4 as
    "no connection is returned".)"""
    def check(ep, b, o):
        m = re.match(r'wsaaccept \S+ (\S+) full$', command(b))
        if not m or (m.group(1) != cond if cond else m.group(1) in ('ACCEPT', 'REJECT', 'DEFER', 'NULL')):
            return None
        if not result(o).startswith('-1 ') or ' addrlen=' in o or not re.search(r' addrlen=\d+', b):
            return None
        return re.sub(r' addrlen=\d+', '', b, count=1), False
    return check


def rule_d4(ep, b, o):
    """Any other return value: WSAEINVAL, and the connection stays queued (the builtin says
    WSAENOTSOCK and leaks it: the world differs from then on)."""
    m = re.match(r'wsaaccept \S+ (\S+) ', command(b) + ' ')
    if not m or m.group(1) in ('ACCEPT', 'REJECT', 'DEFER', 'NULL') or not result(o).startswith('-1 WSAEINVAL'):
        return None
    rb = result(b)
    if rb.startswith('-1 WSAEINVAL') or 'cond[' not in rb:
        return None
    new = b.replace(' -> ' + rb.split(' cond[')[0], ' -> -1 WSAEINVAL', 1)
    if ' addrlen=' not in o:
        new = re.sub(r' addrlen=\d+', '', new, count=1)
    return new, True


def rule_a6(ep, b, o):
    """Short *addrlen: WSAEFAULT before anything is waited for or consumed."""
    m = re.match(r'(accept|wsaaccept) \S+ (\S+ )?short( BLOCKED\(rescue \w+\))?$', command(b))
    if not m:
        return None
    if not re.search(r'-> -1 WSAEFAULT addrlen=0', o) or (re.search(r'-> -1 WSAEFAULT', b) and not m.group(3)):
        return None
    # The builtin waited (a rescue client came) or consumed a connection: its world differs.
    consumed = bool(m.group(3)) or not result(b).startswith('-1 WSAEWOULDBLOCK')
    new = re.sub(r' -> .*?( \{q=[^}]*\})?$', lambda m: ' -> -1 WSAEFAULT addrlen=0' + (m.group(1) or ''), b)
    if m.group(3):
        new = new.replace(m.group(3), '', 1)
    return new, consumed


def rule_e3(ep, b, o):
    """A queued connection its peer reset: WSAECONNRESET (Wine 8 says WSAENOTCONN or accepts it
    without a peer, Wine 10 accepts it with an empty address)."""
    if not re.match(r'(accept|wsaaccept|acceptex) ', command(b)):
        return None
    if not re.match(r'-1 WSAECONNRESET( addr=untouched| addrlen=\d+)?( \{q=[^}]*\})?$', result(o)):
        return None
    q = ep.queue(o)
    l = listener_of(ep, b)
    if not q or not (set(q) & ep.reset or ep.deferred.get(l) in ep.reset):
        return None
    rb = result(b)
    # The builtin may show the condition function the dead connection, with no caller address
    # (Wine 8: garbage, Wine 10: an empty one).
    dead_offer = re.search(r'cond\[caller=(fam\d+|short)/', rb) is not None
    if not (rb.startswith('-1 WSAENOTCONN') or rb.startswith('a[') or 'WSAECONNRESET' in rb or dead_offer):
        return None
    # Unless the builtin then took it (accepted or refused it), it keeps it queued: ours dropped
    # it.  A socket the builtin handed out names no client, so its queue is no longer ours.
    kept = dead_offer and not (rb.startswith('a[') or rb.startswith('-1 WSAECONNREFUSED'))
    return command(b) + ' -> ' + result(o), kept or rb.startswith('a[')


def rule_e4(ep, b, o):
    """With SO_CONDITIONAL_ACCEPT, a deferred connection whose peer closed without sending
    anything has been withdrawn: WSAEACCES, and it is dropped (the builtin hands it out)."""
    l = listener_of(ep, b)
    if not l or not ep.condaccept.get(l) or not re.match(r'(accept|wsaaccept|acceptex) ', command(b)):
        return None
    if not re.match(r'-1 WSAEACCES( addr=untouched| addrlen=\d+)?( \{q=[^}]*\})?$', result(o)):
        return None
    q = ep.queue(o)
    if not q or ep.deferred.get(l) != q[0] or q[0] not in ep.closed or q[0] in ep.sent:
        return None
    # The builtin offers it again and keeps it queued; ours has dropped it.
    return command(b) + ' -> ' + result(o), True


def held_handles(ep, names):
    return [h for h in names if ep.handle_listener.get(h) in ep.deferred]


def rule_e1(ep, b, o):
    """A listener holding a deferred connection is readable: select's read set, POLLRDNORM.
    The front says so only while it knows every handle of the socket (no other process holds
    one, no copy it has not seen): for a listener with such a handle either answer passes."""
    words = command(b).split()
    if not words or words[0] not in ('select', 'poll'):
        return None
    held = held_handles(ep, words[4:])
    if not held:
        return None
    must = [h for h in held if ep.handle_listener.get(h) not in ep.unknown_handles]
    maybe = sorted({ep.handle_listener[h] for h in held if h not in must})
    rb, ro = result(b), result(o)
    # Each listener that may be known or not is readable through all its handles or none.
    for mask in range(1 << len(maybe)):
        chosen = {l for i, l in enumerate(maybe) if mask & (1 << i)}
        want = must + [h for h in held if ep.handle_listener[h] in chosen]
        new_res = e1_predict(words, rb, want)
        if new_res == ro:
            return command(b) + ' -> ' + new_res, False
    new_res = e1_predict(words, rb, must)
    return (command(b) + ' -> ' + new_res, False) if new_res else None


def e1_predict(words, rb, held):
    """The builtin's result RB with the handles HELD readable as well, or None."""
    if words[0] == 'select':
        m = re.match(r'(\(.*?\)) (\d+) r=\[([^\]]*)\] (.*)$', rb)
        if not m:
            return None
        r = [h for h in m.group(3).split(',') if h]
        add = [h for h in held if h not in r]
        r = [h for h in words[4:] if h in r or h in add]
        return '%s %d r=[%s] %s' % (m.group(1), int(m.group(2)) + len(add), ','.join(r), m.group(4))
    m = re.match(r'(\(.*?\)) (\d+) (.*)$', rb)
    if not m:
        return None
    rest, n = m.group(3), int(m.group(2))
    for h in held:
        rest2 = re.sub(r'\b%s=0\b' % h, '%s=RDNORM' % h, rest)
        if rest2 != rest:
            n += 1
            rest = rest2
    return '%s %d %s' % (m.group(1), n, rest)


def rule_d2(ep, b, o):
    """A refused connection is reset: its client sees a reset, never an orderly end."""
    m = re.match(r'(recv|send) ([cr]\d+)$', command(b))
    if not m or m.group(2) not in ep.rejected:
        return None
    if m.group(1) == 'recv' and result(o) == 'RESET' and result(b) in ('FIN', 'OPEN'):
        return command(b) + ' -> RESET', False
    if m.group(1) == 'send' and result(o) == 'WSAECONNRESET' and result(b) == '1':
        return command(b) + ' -> WSAECONNRESET', False
    return None


def rule_e2(ep, b, o):
    """A registration made while a deferred connection is held reports FD_ACCEPT (the listener
    is readable, E1); as there, only while the front knows every handle of the socket."""
    words = command(b).split()
    if len(words) < 2 or words[0] != 'enum' or ep.handle_listener.get(words[1]) not in ep.deferred:
        return None
    if not result(b).endswith(' none') or not result(o).endswith(' FD_ACCEPT(0)'):
        return None
    return command(b) + ' -> ' + result(o), False


def rule_hazard(ep, b, o):
    """After a call where the builtin consumed a connection it should have kept (A6), the first
    difference that names that connection or a handle of its listener is explained by it, and
    the world differs from then on."""
    handles = set(re.findall(r'\bh\d+\b', command(b)))
    for rule, client, listener in ep.hazards:
        if re.search(r'\b%s\b' % re.escape(client), o + ' ' + b) or \
                any(ep.handle_listener.get(h) == listener for h in handles):
            return o, True, rule
    return None


RULES = [
    ('F1', 'SO_CONDITIONAL_ACCEPT can be set on a TCP socket before listen', rule_f1),
    ('A6', 'short *addrlen fails WSAEFAULT before waiting or consuming', rule_a6),
    ('C3', 'caller id: the peer\'s full IPv6 address', rule_c3),
    ('C4', 'caller data: NULL', field_rule(r'cdata=\S+', 'cdata=null')),
    ('C5', 'SQOS: NULL', field_rule(r'sqos=\S+', 'sqos=null')),
    ('C5', 'GQOS: NULL', field_rule(r'gqos=\S+', 'gqos=null')),
    ('C6', 'callee id: the listener\'s concrete local address', rule_c6),
    ('C7', 'callee data: len 0, buf NULL', field_rule(r'cedata=\S+', 'cedata=0/null')),
    ('C8', 'group: 0', field_rule(r' g=\S+', ' g=0')),
    ('E3', 'a queued connection reset by its peer: WSAECONNRESET', rule_e3),
    ('D2', 'CF_REJECT returns no address', rule_no_address('D2', 'REJECT')),
    ('D3', 'CF_DEFER returns no address of the connection it keeps', rule_no_address('D3', 'DEFER')),
    ('D4', 'another return value returns no address', rule_no_address('D4', None)),
    ('D4', 'another return value: WSAEINVAL, the connection kept', rule_d4),
    ('E4', 'a withdrawn deferred connection: WSAEACCES', rule_e4),
    ('E1', 'a listener holding a deferred connection is readable', rule_e1),
    ('E2', 'a registration while a deferred connection is held reports FD_ACCEPT', rule_e2),
    ('D2', 'a refused connection is reset', rule_d2),
]


def explain(ep, b, o):
    """(rules, world_changed) when the rules turn builtin line B into ours O, else None."""
    if b.split(' ', 1)[0] != o.split(' ', 1)[0]:
        return None
    b, o = body(b), body(o)
    # A call that waited for a rescue client on both sides is compared as any other.
    blocked = re.search(r' BLOCKED\(rescue \w+\)', b)
    if blocked and blocked.group(0) in o:
        b, o = b.replace(blocked.group(0), '', 1), o.replace(blocked.group(0), '', 1)
    used, changed = [], False
    cur = b
    for rid, _, check in RULES:
        got = check(ep, cur, o)
        if got is None:
            continue
        cur, ch = got
        used.append(rid)
        changed |= ch
        if cur == o:
            return used, changed
    hz = rule_hazard(ep, cur, o)
    if hz:
        return used + [hz[2]], True
    return None


def note_hazards(ep, line):
    """Calls that both sides traced alike but where the builtin loses the connection."""
    cmd, res = command(line), result(line)
    q = ep.queue(line)
    if not q:
        return
    if re.match(r'(accept|wsaaccept) \S+ (\S+ )?short$', cmd) and res.startswith('-1 WSAEFAULT'):
        # The model's queue may be behind the platform's: any connection queued there may be it.
        for client in q:
            ep.hazards.append(('A6', client, listener_of(ep, line)))


def compare_epoch(bl, ol):
    """(explained rule ids, notes, failure or None) for one epoch's lines."""
    ep = Epoch()
    used, notes = [], []
    for i in range(max(len(bl), len(ol))):
        b = bl[i] if i < len(bl) else '(no line)'
        o = ol[i] if i < len(ol) else '(no line)'
        if b != o:
            got = explain(ep, b, o)
            if not got:
                return used, notes, i
            used += got[0]
            if got[1]:
                notes.append('after line %s the builtin\'s world differs (%s): rest of the epoch not compared'
                             % (o.split(' ', 1)[0], ', '.join(got[0])))
                return used, notes, None
        else:
            note_hazards(ep, o)
        ep.learn(o)
    return used, notes, None


# --- running ---------------------------------------------------------------------------------

def run_exe(exe_dir, seed, ops, prefix, builtin, simple=False):
    """The trace of one run.  A program Wine could not start at all (no line of a trace, as
    happens now and then on a loaded machine) is started once more: that is no difference."""
    text = run_once(exe_dir, seed, ops, prefix, builtin, simple)
    if 'epoch begin' not in text:
        text = run_once(exe_dir, seed, ops, prefix, builtin, simple)
    return text


def run_once(exe_dir, seed, ops, prefix, builtin, simple=False):
    env = dict(os.environ)
    env['WINEPREFIX'] = prefix
    env['WINEDEBUG'] = '-all'
    if builtin:
        env['WINEDLLOVERRIDES'] = 'ws2_32=b'
    cmd = [os.path.join(TOP, 'tools', 'wine-run.sh'), './difftest.exe', '--seed', str(seed)]
    if ops:
        cmd += ['--ops', str(ops)]
    if simple:
        cmd += ['--simple']
    try:
        p = subprocess.run(cmd, cwd=exe_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           timeout=RUN_TIMEOUT)
        text = p.stdout.decode('utf-8', 'replace')
        if p.returncode:
            text += '\n999.0 exit status %d\n' % p.returncode
        return text
    except subprocess.TimeoutExpired as e:
        return (e.stdout or b'').decode('utf-8', 'replace') + '\n999.0 timed out after %ds\n' % RUN_TIMEOUT


def check_seed(dirs, seed, simple, args):
    bt = run_exe(dirs['builtin'], seed, args.ops, args.prefix, True, simple)
    ot = run_exe(dirs['ours'], seed, args.ops, args.prefix, False, simple)
    if args.keep:
        for name, text in (('builtin', bt), ('ours', ot)):
            with open(os.path.join(args.keep, '%s-%d.txt' % (name, seed)), 'w') as f:
                f.write(text)
    be, oe = epochs(bt), epochs(ot)
    used, notes, failures = [], [], []
    for e in sorted(set(be) | set(oe)):
        u, n, fail = compare_epoch(be.get(e, []), oe.get(e, []))
        used += u
        notes += ['epoch %d: %s' % (e, x) for x in n]
        if fail is not None:
            failures.append((e, fail))
    if args.replay_check:
        again = run_exe(dirs['ours'], seed, args.ops, args.prefix, False, simple)
        if again != ot:
            failures.append(('replay', None))
            a, b = ot.split('\n'), again.split('\n')
            k = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
            notes.append('ours did not replay identically; first difference: %r / %r'
                         % (a[k] if k < len(a) else None, b[k] if k < len(b) else None))
    return used, notes, failures, be, oe


def report(seed, simple, used, notes, failures, be, oe, args):
    counts = {}
    for r in used:
        counts[r] = counts.get(r, 0) + 1
    what = ', '.join('%s%s' % (r, '' if counts[r] == 1 else ' x%d' % counts[r]) for r in sorted(counts))
    if not failures:
        print('seed %d: pass (%d rule-explained difference%s%s)' % (seed, len(used), '' if len(used) == 1 else 's',
                                                                     ': ' + what if used else ''))
        for n in notes:
            print('  ' + n)
        return True
    print('seed %d: FAIL' % seed)
    for n in notes:
        print('  ' + n)
    for e, i in failures:
        if e == 'replay':
            continue
        bl, ol = be.get(e, []), oe.get(e, [])
        print('  epoch %d: unexplained difference at its line %d (each epoch is a world of its own)' % (e, i + 1))
        print('    builtin: %s' % (bl[i] if i < len(bl) else '(no line)'))
        print('    ours:    %s' % (ol[i] if i < len(ol) else '(no line)'))
        print('  --- builtin, epoch %d up to the difference' % e)
        for line in bl[:i + 1]:
            print('  b ' + line)
        print('  --- ours')
        for line in ol[:i + 1]:
            print('  o ' + line)
    print('  replay: tools/difftest.py --exe-dir %s --dll %s --start %d --seeds 1%s%s --keep DIR' % (
        args.exe_dir, args.dll, seed, ' --ops %d' % args.ops if args.ops else '', ' --simple' if simple else ''))
    return False


def seed_list(args):
    if args.minutes:
        start = args.start if args.start is not None else int(time.time()) % 1000000
        deadline = time.time() + 60 * args.minutes
        s = start
        while time.time() < deadline:
            yield s, args.simple
            s += 1
        return
    seeds = []
    if args.seeds_file:
        with open(args.seeds_file) as f:
            for line in f:
                words = line.split('#')[0].split()
                if words:
                    seeds.append((int(words[0]), 'simple' in words[1:]))
    if args.seeds:
        if ',' in args.seeds or args.start is None and args.seeds_file:
            seeds += [(int(x), args.simple) for x in args.seeds.split(',') if x]
        else:
            start = args.start if args.start is not None else 1
            seeds += [(s, args.simple) for s in range(start, start + int(args.seeds))]
    for s in seeds:
        yield s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--exe-dir', required=True, help='where difftest.exe is (BUILD/tests/diff)')
    ap.add_argument('--dll', required=True, help="this project's ws2_32.dll")
    ap.add_argument('--seeds', help='a list (1,2,3) or a count N of seeds from --start (default 1)')
    ap.add_argument('--start', type=int, help='the first seed of a count, or of --minutes')
    ap.add_argument('--seeds-file', help='seeds to run first, one a line ("N [simple] # what it found")')
    ap.add_argument('--minutes', type=float, help='run consecutive seeds for this long')
    ap.add_argument('--ops', type=int, help='operations per seed (default: the program\'s 80)')
    ap.add_argument('--prefix', help='WINEPREFIX (default: a wineprefix beside the DLL\'s build)')
    ap.add_argument('--simple', action='store_true', help='worlds of one handle per listener and no child')
    ap.add_argument('--replay-check', action='store_true', help='run ours twice per seed and require the same trace')
    ap.add_argument('--keep', help='keep both traces of each seed in this directory')
    args = ap.parse_args()
    if not (args.seeds or args.minutes or args.seeds_file):
        ap.error('--seeds, --seeds-file or --minutes')
    args.exe_dir = os.path.abspath(args.exe_dir)
    args.dll = os.path.abspath(args.dll)
    if not args.prefix:
        build = os.path.dirname(os.path.dirname(os.path.dirname(args.dll)))
        args.prefix = os.path.join(build, 'wineprefix')
    args.prefix = os.path.abspath(args.prefix)
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    work = tempfile.mkdtemp(prefix='difftest.')
    dirs = {'ours': os.path.join(work, 'ours'), 'builtin': os.path.join(work, 'builtin')}
    exe = os.path.join(args.exe_dir, 'difftest.exe')
    for d in dirs.values():
        os.makedirs(d)
        shutil.copy(exe, d)
    shutil.copy(args.dll, dirs['ours'])
    subprocess.run([os.path.join(TOP, 'tools', 'wine-run.sh'), '--init'], env=dict(os.environ, WINEPREFIX=args.prefix),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    passed = failed = 0
    try:
        for seed, simple in seed_list(args):
            used, notes, failures, be, oe = check_seed(dirs, seed, simple, args)
            if report(seed, simple, used, notes, failures, be, oe, args):
                passed += 1
            else:
                failed += 1
            sys.stdout.flush()
    finally:
        subprocess.run(['wineserver', '-k'], env=dict(os.environ, WINEPREFIX=args.prefix),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
