#!/usr/bin/env python3
"""The command line the three daemons share (src/lib/daemon.c): -V, -h,
bad options, stray arguments, a -c file that is missing or not a file.
Each daemon keeps its own usage text, word for word, and the exit codes
of <sysexits.h>. TAP output, one line per check.

    tests/lib/test-daemon-options.py VERSION BUILD/relaygate-lookupd \\
        BUILD/relaygate-recorder BUILD/relaygate-pop3d
"""
import os
import subprocess
import sys

EX_USAGE = 64
EX_CONFIG = 78
DEFAULT_CONF = '/etc/relaygate/relaygate.conf'
USAGE = {
    'relaygate-lookupd':
        'usage: relaygate-lookupd [-F] [-t] [-c config-file]\n'
        '  -c FILE  configuration file (default %s)\n'
        '  -F       stay in the foreground and log to stderr\n'
        '  -t       check the configuration, print the problems, exit\n'
        '  -V       print the version\n' % DEFAULT_CONF,
    'relaygate-recorder':
        'usage: relaygate-recorder [-F] [-t] [-c config-file]\n'
        '  -c FILE  configuration file (default %s)\n'
        '  -F       stay in the foreground and log to stderr\n'
        '  -t       check the configuration, print the problems, exit\n'
        '  -V       print the version\n' % DEFAULT_CONF,
    'relaygate-pop3d':
        'usage: relaygate-pop3d [-F] [-t] [-c config-file]\n'
        '  -c FILE  configuration file (default %s)\n'
        '  -F       stay in the foreground, log to stderr\n'
        '  -t       check the configuration, print the problems, exit\n'
        '  -V       print the version\n' % DEFAULT_CONF,
}

results = []


def check(ok, what):
    results.append(ok)
    print('%s %d - %s' % ('ok' if ok else 'not ok', len(results), what))
    sys.stdout.flush()


def run(binary, *args):
    r = subprocess.run([binary] + list(args), capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=30)
    return r.returncode, r.stdout, r.stderr


def main():
    if len(sys.argv) != 5:
        print('usage: test-daemon-options.py VERSION LOOKUPD RECORDER POP3D')
        return 1
    version = sys.argv[1]
    for binary in sys.argv[2:]:
        name = os.path.basename(binary)
        usage = USAGE[name]
        rc, out, err = run(binary, '-V')
        check((rc, out, err) == (0, '%s %s\n' % (name, version), ''),
              '%s -V: exit 0, "%s %s" on stdout; got %r' % (name, name,
                                                           version,
                                                           (rc, out, err)))
        rc, out, err = run(binary, '-h')
        check((rc, out, err) == (0, usage, ''),
              '%s -h: exit 0, its usage text on stdout; got %r'
              % (name, (rc, out, err)))
        rc, out, err = run(binary, '-V', '-h')
        check((rc, out) == (0, '%s %s\n' % (name, version)),
              '%s -V -h: the first wins; got %r' % (name, (rc, out)))
        rc, out, err = run(binary, '-x')
        check(rc == EX_USAGE and out == '' and "invalid option -- 'x'" in err
              and err.endswith(usage),
              '%s -x: exit 64, getopt\'s message and the usage on stderr; '
              'got %r' % (name, (rc, out, err)))
        rc, out, err = run(binary, '-c')
        check(rc == EX_USAGE and "requires an argument -- 'c'" in err
              and err.endswith(usage),
              '%s -c without a file: exit 64 and the usage; got %r'
              % (name, (rc, out, err)))
        for args in (['extra'], ['-F', 'extra'], ['-t', '--', 'extra']):
            rc, out, err = run(binary, *args)
            check((rc, out, err) == (EX_USAGE, '', '%s: unexpected argument: '
                                     'extra\n%s' % (name, usage)),
                  '%s %s: exit 64, "unexpected argument: extra" and the '
                  'usage on stderr; got %r' % (name, ' '.join(args),
                                               (rc, out, err)))
        missing = '/nonexistent-relaygate/relaygate.conf'
        rc, out, err = run(binary, '-t', '-c', missing)
        check(rc == EX_CONFIG and out == ''
              and err.startswith('%s: %s: ' % (name, missing)),
              '%s -t -c MISSING: exit 78 naming the file; got %r'
              % (name, (rc, out, err)))
        rc, out, err = run(binary, '-c', '/dev/null', '-t')
        check(rc == EX_CONFIG and err == '%s: /dev/null: not a regular '
              'file\n' % name,
              '%s -c /dev/null -t: exit 78, "not a regular file"; got %r'
              % (name, (rc, out, err)))
    print('1..%d' % len(results))
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
