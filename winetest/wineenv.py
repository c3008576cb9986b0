"""A Wine prefix of the build's own, for running the project's .exe files from a meson test.
Shares tools/wine-run.sh's conventions (WINEPREFIX.lock, ready once system.reg exists), so
both can use one prefix.

    from wineenv import wine_env, ensure_prefix
    env = wine_env(build_dir); ensure_prefix(env); subprocess.run(['wine', exe], env=env)

Or from the shell: python3 wineenv.py BUILDDIR -- COMMAND...  (runs COMMAND in that prefix).
"""
import fcntl
import os
import shutil
import subprocess
import sys

SKIP = 77  # meson's "skipped" exit code


def wine_env(build_dir):
    """WINEPREFIX as given (meson sets it), else one under BUILD_DIR; no debug channels,
    no debugger on a crash, no Mono/Gecko."""
    env = dict(os.environ)
    if not env.get('WINEPREFIX'):
        env['WINEPREFIX'] = os.path.join(os.path.abspath(build_dir), 'wineprefix')
    env['WINEDEBUG'] = '-all'
    env['WINEDLLOVERRIDES'] = 'winedbg.exe=d;mscoree,mshtml='
    return env


def have_wine():
    return shutil.which('wine') is not None


def ensure_prefix(env):
    """Creates the prefix once; a lock keeps parallel meson tests from racing on it."""
    prefix = env['WINEPREFIX']
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    with open(prefix + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(prefix, 'system.reg')):
            return
        proc = subprocess.run(['wine', 'wineboot', '-i'], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors='replace', timeout=300)
        if proc.returncode != 0:
            raise RuntimeError('wineboot -i failed (%d):\n%s' % (proc.returncode, proc.stdout))
        subprocess.run(['wineserver', '-w'], env=env, timeout=120)


def main(argv):
    if len(argv) < 4 or argv[2] != '--':
        raise SystemExit('usage: wineenv.py BUILDDIR -- COMMAND...')
    if not have_wine():
        print('wine not found', file=sys.stderr)
        return SKIP
    env = wine_env(argv[1])
    ensure_prefix(env)
    return subprocess.run(argv[3:], env=env).returncode


if __name__ == '__main__':
    sys.exit(main(sys.argv))
