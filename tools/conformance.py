#!/usr/bin/env python3
"""conformance.py NAME=PREFIX...: the rule-by-rule table of docs/conformance.md, as Markdown.
Each NAME (a Wine and an architecture) gives two columns, from the runner summaries
PREFIX-ours-summary.txt (this DLL) and PREFIX-platform-summary.txt (the platform's ws2_32);
a run that did not happen gives no column."""
import re
import sys

RULES = {
    'A1': 'WSANOTINITIALISED without WSAStartup',
    'A2': 'WSAEINPROGRESS inside a WinSock 1.1 blocking call',
    'A3': 'WSAENOTSOCK for 0, INVALID_SOCKET, a closed socket, a file',
    'A4': 'WSAEOPNOTSUPP for UDP',
    'A5': 'WSAEINVAL without listen',
    'A6': 'WSAEFAULT for a short addrlen, nothing consumed',
    'A7': 'WSAEFAULT for bad pointers, never a crash, nothing consumed',
    'A8': 'addr without addrlen, or neither',
    'B1': 'WSAEWOULDBLOCK when non-blocking; a deferred one counts as pending',
    'B2': 'blocking listener waits',
    'B3': 'alertable wait: an APC runs, the wait goes on',
    'B4': 'closesocket from another thread: WSAEINTR, promptly',
    'B4_select': 'B4 for select and WSAPoll: the close wakes the wait, the listener reported',
    'B2_woken': 'B2 woken by what it waits for: no timed wait',
    'B5': 'WinSock 1.1 blocking hook, WSACancelBlockingCall, WSAIsBlocking',
    'C1': 'no condition function: like accept',
    'C2': 'called on the calling thread, no lock held, may re-enter',
    'C3': 'lpCallerId: the full peer address, the DLL\'s buffer',
    'C4': 'lpCallerData NULL',
    'C5': 'lpSQOS and lpGQOS NULL',
    'C6': 'lpCalleeId: the concrete local address',
    'C7': 'lpCalleeData: a valid empty WSABUF',
    'C8': 'g zeroed, SO_GROUP_ID stays 0',
    'C9': 'dwCallbackData passed through',
    'C10': 'callback address and returned addr identical',
    'D1': 'CF_ACCEPT returns the socket and the address',
    'D2': 'CF_REJECT: WSAECONNREFUSED, the peer is reset',
    'D3': 'CF_DEFER: WSATRY_AGAIN, the connection stays at the head',
    'D3_handles': 'D3 through other handles: WSADuplicateSocket and DuplicateHandle copies take it first',
    'D3_inherited': 'D3 across processes: a worker with the inherited listener takes it first',
    'D3_process': 'D3 across processes: a worker with a WSADuplicateSocket copy takes it first',
    'D4': 'other values: WSAEINVAL, the connection stays',
    'D5': 'the callback closes the listener',
    'E1': 'a held connection makes the listener readable',
    'E2': 'FD_ACCEPT re-enabled, not posted by a deferral alone',
    'E2_async': 'E2 through WSAAsyncSelect messages',
    'E3': 'a held connection reset by its peer: WSAECONNRESET',
    'E3_queued': 'E3 for a connection reset before it was ever offered',
    'E4': 'SO_CONDITIONAL_ACCEPT: a withdrawn connection gives WSAEACCES',
    'E5': 'closing the listener ends its held connection, leaks nothing',
    'E5_handles': 'E5 with several handles: one closed leaves it to the others, the last ends it',
    'E6': 'the accepted socket inherits the listener\'s properties',
    'F1': 'SO_CONDITIONAL_ACCEPT get/set, before listen, TCP only',
    'F2': 'SO_CONDITIONAL_ACCEPT with the handshake completed first',
    'G1': 'WSAEMFILE, WSAENOBUFS, WSAENETDOWN, connection kept',
    'G2': 'every failure is a WSA code',
    'H1': 'WSAStartup counted, WSACleanup without it fails',
    'H2': 'the last WSACleanup ends every socket and held connection',
    'H3': 'version negotiation',
    'I1': 'several threads: each connection exactly once',
    'I2': 'a waiter is woken by another thread\'s deferral',
}

LINE = re.compile(r'^(PASS|FAIL|SKIP) ([^ :]+):([^ :]+)(?::([^ ]+))?(?: (.*))?$')


def read(path):
    results = {}
    try:
        lines = open(path, encoding='utf-8', errors='replace').read().splitlines()
    except OSError:
        return results
    for line in lines:
        m = LINE.match(line.strip())
        if m:
            status, prog, unit, subtest, reason = m.groups()
            reason = re.sub(r'^\(\d+\.\d+s\)$', '', reason or '')
            results[(unit, subtest or '')] = (status, reason)
    return results


def cell(result):
    if not result:
        return 'not run'
    status, reason = result
    text = {'PASS': 'pass', 'FAIL': '**fail**', 'SKIP': 'not reachable'}[status]
    if reason and status != 'PASS':
        reason = reason.replace('|', '\\|')
        text += ': ' + (reason if len(reason) < 120 else reason[:117] + '...')
    return text


def main():
    runs = [arg.split('=', 1) for arg in sys.argv[1:]]
    if not runs or any(len(run) != 2 for run in runs):
        raise SystemExit(__doc__)
    columns = []
    for name, prefix in runs:
        for kind, title in (('ours', 'this DLL'), ('platform', 'Wine\'s ws2_32')):
            results = read('%s-%s-summary.txt' % (prefix, kind))
            if results:
                columns.append(('%s, %s' % (title, name), kind, results))
    if not columns:
        raise SystemExit('no summaries found')

    def order(key):
        m = re.match(r'^([A-Z])(\d+)(.*)$', key[1])
        return (key[0] != 'accept', key[0], (m.group(1), int(m.group(2)), m.group(3)) if m else (key[1], 0, ''))

    keys = sorted(set().union(*(results for _, _, results in columns)), key=order)
    print('# Conformance: this DLL and the platform\'s ws2_32, rule by rule\n')
    print('Rules are those of the WSAAccept contract; each is a subtest of `tests/accept.c` named by')
    print('its id. The other rows are the drop-in checks (`tests/dropin.c`, `tests/exports.c`) and the')
    print('reliability units. Each Wine and architecture tested has a column for this DLL as a drop-in')
    print('(counted) and one for Wine\'s own ws2_32 (for comparison). Regenerate with')
    print('`tools/run-tests.sh --update-docs`.\n')
    print('| rule | what | %s |' % ' | '.join(title for title, _, _ in columns))
    print('| --- | --- |%s' % (' --- |' * len(columns)))
    for key in keys:
        unit, subtest = key
        name = subtest if unit == 'accept' else '%s:%s' % (unit, subtest)
        cells = ' | '.join(cell(results.get(key)) for _, _, results in columns)
        print('| %s | %s | %s |' % (name, RULES.get(subtest, '') if unit == 'accept' else '', cells))
    print()
    for title, kind, results in columns:
        fails = sum(1 for k in keys if results.get(k, ('',))[0] == 'FAIL')
        print('- %s: %d of %d fail.' % (title, fails, len(keys)))


if __name__ == '__main__':
    main()
