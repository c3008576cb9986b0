#!/usr/bin/env python3
"""check_selftest.py RUNNER SELFTEST BUILDDIR: runs runner.exe on selftest.exe under Wine
and checks each verdict, the count line, the summary and the report.

Failure lines carry line numbers of selftest.c: they are looked up by message text."""
import os
import re
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wineenv import SKIP, ensure_prefix, have_wine, wine_env  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ENV_VALUE = 'passed through'


def line_of(message):
    """selftest.c:N where MESSAGE appears in the source."""
    with open(os.path.join(HERE, 'selftest.c')) as f:
        for number, line in enumerate(f, 1):
            if '"' + message in line:
                return 'selftest.c:%d' % number
    raise SystemExit('selftest.c has no message %r' % message)


def failed(message, subtest):
    return '%s: Test failed: %s: %s' % (line_of(message), subtest, message)


def expected_summary():
    """The summary file's lines, in run order."""
    return [
        'PASS selftest:pass:one',
        'PASS selftest:pass:traced',
        'PASS selftest:pass:todo',
        'PASS selftest:pass:env',
        'FAIL selftest:fail:one 1 failure; ' + failed('2 + 2 is not 5', 'one'),
        'FAIL selftest:fail:three 3 failures; %s: Test failed: three: failure 0'
        % line_of('failure %d'),
        'FAIL selftest:fail:todo 1 failure; %s: Test succeeded inside todo block: todo: '
        'fixed, todo left' % line_of('fixed, todo left'),
        'SKIP selftest:skip:all all: no network here',
        'PASS selftest:skip:some',
        'FAIL selftest:crash:null crashed (exit code 0xc0000005)',
        'FAIL selftest:crash:after_failure crashed (exit code 0xc0000005); '
        + failed('failed before crashing', 'after_failure'),
        'FAIL selftest:crash:exit no summary line (exit code 3)',
        'FAIL selftest:hang:sleep timed out after 5 s',
        'PASS selftest:whole',
        '6 passed, 7 failed, 1 skipped',
    ]


def stdout_form(line):
    """The verdict line printed on stdout for a summary line: a time for PASS, a colon else."""
    status, rest = line.split(' ', 1)
    if status == 'PASS':
        return re.compile(re.escape(line) + r' \(\d+\.\d\ds\)')
    if status in ('FAIL', 'SKIP'):
        name, reason = rest.split(' ', 1)
        return re.compile(re.escape('%s %s: %s' % (status, name, reason)))
    return re.compile(re.escape(line))


class Checker:
    def __init__(self):
        self.errors = 0

    def check(self, cond, what):
        print('%s: %s' % ('ok' if cond else 'FAILED', what))
        if not cond:
            self.errors += 1
        return cond

    def same_lines(self, got, want, what):
        if got == want:
            return self.check(True, what)
        self.check(False, what)
        for i in range(max(len(got), len(want))):
            g = got[i] if i < len(got) else '<missing>'
            w = want[i] if i < len(want) else '<missing>'
            if g != w:
                print('  line %d\n    got:  %s\n    want: %s' % (i + 1, g, w))
        return False


def pe_is_32bit(path):
    with open(path, 'rb') as f:
        data = f.read(4096)
    offset = struct.unpack_from('<I', data, 0x3c)[0]
    return struct.unpack_from('<H', data, offset + 4)[0] == 0x14c


def run(env, cwd, args, timeout=300):
    proc = subprocess.run(['wine'] + args, env=env, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors='replace', timeout=timeout)
    print('$ wine %s  -> exit %d' % (' '.join(args), proc.returncode))
    return proc.returncode, proc.stdout.splitlines()


def check_main_run(c, env, runner, selftest, build_dir):
    summary = os.path.join(build_dir, 'selftest-summary.txt')
    report = os.path.join(build_dir, 'selftest-report.txt')
    rc, out = run(env, build_dir, [runner, '-t', '5', '-s', summary, '-o', report, '-l', 'selftest',
                                   '-e', 'RUNNER_SELFTEST=' + ENV_VALUE, selftest])
    print('\n'.join('  | ' + line for line in out))
    want = expected_summary()
    c.check(rc == 1, 'exit code 1 when something failed (got %d)' % rc)
    with open(summary) as f:
        c.same_lines(f.read().splitlines(), want, 'summary file')
    verdicts = [line for line in out if re.match(r'(PASS|FAIL|SKIP) ', line)] + out[-1:]
    c.check(len(verdicts) == len(want) and all(stdout_form(w).fullmatch(g)
                                               for g, w in zip(verdicts, want)),
            'verdict lines and count line on stdout')
    c.check(out and out[-1] == want[-1], 'count line last on stdout')
    c.check(any(line.endswith(': going to sleep') for line in out), 'output of a hung test echoed')
    c.check(any(line.endswith(': Test marked todo: todo: known to fail on Wine') for line in out),
            'todo_wine reported as todo')
    check_report(c, report)


def check_report(c, report):
    with open(report) as f:
        text = f.read()
    lines = text.splitlines()
    c.same_lines(lines[:5], ['Version 4', 'Tests from build selftest', 'Archive: -',
                             'Tag: selftest', 'Build info:'], 'report header')
    for needle in ('Operating system version:', '    bRunningUnderWine=1', '    WineBuild=',
                   '    dwMajorVersion=', 'Test output:'):
        c.check(any(line.startswith(needle) for line in lines), 'report has %r' % needle)
    starts = [line for line in lines if line.endswith(' start - -')]
    dones = [line for line in lines if re.fullmatch(r'selftest:\w+ done \(-?\d+\)', line)]
    c.check(len(starts) == 14 and len(dones) == 14, 'one block per process (%d, %d)'
            % (len(starts), len(dones)))
    c.check('selftest:hang done (258)' in dones, 'timeout reported as done (258)')
    c.check('selftest:crash done (-1073741819)' in dones, 'crash reported with its exit code')
    c.check('selftest:fail done (1)' in dones and 'selftest:fail done (3)' in dones,
            'failures reported as exit codes')


def check_options(c, env, runner, selftest, build_dir):
    rc, out = run(env, build_dir, [runner, '-q', '-i', '-u', 'fail', '-u', 'whole', selftest])
    c.check(rc == 0, '-i: exit code 0 despite failures (got %d)' % rc)
    c.check(not any('Test failed' in line and not line.startswith('FAIL ') for line in out),
            '-q: test output not echoed')
    units = [m.group(1) for m in map(re.compile(r'(?:PASS|FAIL|SKIP) selftest:(\w+)').match, out) if m]
    c.check(units == ['fail', 'fail', 'fail', 'whole'], '-u: only the units asked for (%s)' % units)
    c.check(out[-1:] == ['1 passed, 3 failed'], 'count line without skips (%s)' % out[-1:])

    rc, out = run(env, build_dir, [runner, '-q', 'no-such-program.exe'])
    c.check(rc == 1 and any(line.startswith('FAIL no-such-program: cannot list units: cannot start')
                            for line in out), 'a missing program fails')
    rc, _ = run(env, build_dir, [runner, '-x', selftest])
    c.check(rc == 2, 'unknown option: exit code 2 (got %d)' % rc)
    rc, _ = run(env, build_dir, [runner])
    c.check(rc == 2, 'no program: exit code 2 (got %d)' % rc)


def main(argv):
    if len(argv) != 4:
        raise SystemExit(__doc__)
    runner, selftest, build_dir = (os.path.abspath(a) for a in argv[1:])
    if not have_wine():
        print('wine not found: skipped')
        return SKIP
    env = wine_env(build_dir)
    ensure_prefix(env)
    rc, out = run(env, build_dir, [runner], timeout=120)
    if rc != 2:
        print('\n'.join(out))
        if pe_is_32bit(runner):
            print('this Wine cannot run 32-bit programs: skipped')
            return SKIP
        print('runner.exe does not run under Wine')
        return 1
    c = Checker()
    check_main_run(c, env, runner, selftest, build_dir)
    check_options(c, env, runner, selftest, build_dir)
    print('%d checks failed' % c.errors if c.errors else 'all checks passed')
    return 1 if c.errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
