#!/usr/bin/env python3
"""Golden-file tests of the vsmtprelay command line.

Each case is cases/NAME.cmd with its expected results beside it:
NAME.out (standard output), NAME.err (standard error), NAME.rc (exit
status) and, when the case has "post" lines, NAME.post. All are compared
exactly, after the normalisations listed below. Output is TAP on stdout:
one "ok"/"not ok" line per case; the diff of a failed case goes to stderr
(what "meson test --print-errorlogs" shows). The exit status is non-zero
if any case failed.

Every case runs in a fresh directory $DIR under
$RELAYGATE_BUILD_ROOT/tests/vsmtprelay/work (mode 0755) with:
  $STORE  = $DIR/relayers.db, filled with the default fixture (below)
  $CONF   = $DIR/relaygate.conf, two lines: a comment, then
            "relay_db = $DIR/relayers.db"; "conf" lines are appended
  $DIR/setup.conf, empty: the configuration of "setup" and "post" lines
The default fixture is made with "vsmtprelay add":
  10.11.12.13    906502527      Tue Sep 22 22:15:27 1998
  192.0.2.99     1000000000     Sun Sep  9 01:46:40 2001
  2001:db8::5    1234567890     Fri Feb 13 23:31:30 2009 (two keys)
  198.51.100.25  253402300799   Fri Dec 31 23:59:59 9999 (future)

Lines of a .cmd file (blank lines and lines starting with '#' are skipped;
ARGS are split like a POSIX shell does, without expansion, then $DIR,
$STORE, $CONF and time tokens {now}, {now-N}, {now+N} are replaced):
  fixture none          start with no store at all
  conf LINE             append LINE (verbatim) to $CONF
  setup ARGS            vsmtprelay -c $DIR/setup.conf -f $STORE ARGS;
                        must exit 0 and print nothing on standard error
  sh COMMAND            /bin/sh -c COMMAND in $DIR; must exit 0
  file NAME             the lines up to a line "end" become $DIR/NAME,
                        each followed by a newline
  file-escaped NAME     the same, but the lines are joined without
                        newlines and backslash escapes (\\n, \\r, \\t,
                        \\x00...) are decoded
  stdin NAME            standard input of the command is $DIR/NAME
                        (default: /dev/null)
  require PROGRAM       skip the case if PROGRAM is not in $PATH
  run ARGS              the command under test:
                        vsmtprelay -c $CONF -f $STORE ARGS
  argv ARGS             the command under test: vsmtprelay ARGS
  post ARGS             after the command:
                        vsmtprelay -c $DIR/setup.conf -f $STORE ARGS;
                        must exit 0 with nothing on standard error
                        (a later -f in ARGS picks another store); the
                        standard output of all post lines, each after a
                        line "$ vsmtprelay ARGS", is compared with NAME.post
  unchanged             the store must be byte-for-byte unchanged (also
                        implied by an expected exit status other than 0
                        and 1: a rejected command leaves the store, and
                        the directory listing, as they were)
  creates NAME          the command may create $DIR/NAME (by default only
                        the store may appear)
  sub REGEX REPL        re.sub(REGEX, REPL) on every output, after the
                        normalisations below (REGEX in MULTILINE mode)

Normalisations: $DIR's path becomes "$DIR"; the project version becomes
"@VERSION@"; the value of every time token used in the case becomes the
token, and its date as vsmtprelay prints it ("Sun Nov 22 02:54:23 2026")
becomes e.g. "{now-60:date}"; any timestamp from the case's start to its
end (the time "add" stamps without ticks) becomes "{now}" and its date
"{now:date}".

Besides the goldens, every case checks that no file other than the store
appeared in $DIR, that a rejected command left the directory listing as
it was (no temporary files), and, when db5.3_verify is available, that the
store passes it.

Usage: run-cases.py [--vsmtprelay PATH] [--version V] [--bless] [NAME...]
"""

import argparse
import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, 'cases')

FIXTURE = [
    ['add', '10.11.12.13', '906502527'],
    ['add', '192.0.2.99', '1000000000'],
    ['add', '2001:db8::5', '1234567890'],
    ['add', '198.51.100.25', '253402300799'],
]

TOKEN_RE = re.compile(r'\{now(?:([+-])(\d+))?\}')

# Every case runs with these, so output cannot depend on the caller's
# locale or time zone (times must be printed in UTC whatever TZ says).
RUN_ENV_OVERRIDES = {
    'LC_ALL': 'C',
    'TZ': 'XYZ+05:30',
}


class CaseError(Exception):
    """The .cmd file is malformed or a setup step failed."""


class Skip(Exception):
    pass


def date_text(when):
    return time.strftime('%a %b %e %H:%M:%S %Y', time.gmtime(when))


class Case:
    def __init__(self, name, runner):
        self.name = name
        self.runner = runner
        self.fixture = True
        self.conf_lines = []
        self.steps = []          # ('setup'|'sh'|'file', ...), in order
        self.stdin = None
        self.command = None      # list of words, before substitution
        self.command_kind = None
        self.posts = []
        self.unchanged = False
        self.creates = set()
        self.subs = []
        self.requires = []
        self.tokens = {}         # token text -> value
        self.parse(os.path.join(CASES, name + '.cmd'))

    def parse(self, path):
        with open(path, encoding='utf-8') as f:
            lines = f.read().split('\n')
        if lines and lines[-1] == '':
            lines.pop()
        i = 0
        while i < len(lines):
            line = lines[i]
            i += 1
            if line.strip() == '' or line.lstrip().startswith('#'):
                continue
            word, _, rest = line.partition(' ')
            if word == 'fixture':
                if rest != 'none':
                    raise CaseError('%s:%d: expected "fixture none"'
                                    % (path, i))
                self.fixture = False
            elif word == 'conf':
                self.conf_lines.append(rest)
            elif word == 'setup':
                self.steps.append(('setup', shlex.split(rest)))
            elif word == 'sh':
                self.steps.append(('sh', rest))
            elif word in ('file', 'file-escaped'):
                if not rest or '/' in rest:
                    raise CaseError('%s:%d: bad file name' % (path, i))
                body = []
                while i < len(lines) and lines[i] != 'end':
                    body.append(lines[i])
                    i += 1
                if i == len(lines):
                    raise CaseError('%s: "%s" without "end"' % (path, word))
                i += 1
                if word == 'file':
                    data = ''.join(b + '\n' for b in body).encode('utf-8')
                else:
                    data = ''.join(body).encode('latin-1').decode(
                        'unicode_escape').encode('latin-1')
                self.steps.append(('file', rest, data))
            elif word == 'stdin':
                self.stdin = rest
            elif word == 'require':
                self.requires.append(rest)
            elif word in ('run', 'argv'):
                if self.command is not None:
                    raise CaseError('%s:%d: second command' % (path, i))
                self.command_kind = word
                self.command = shlex.split(rest)
            elif word == 'post':
                self.posts.append(shlex.split(rest))
            elif word == 'unchanged':
                self.unchanged = True
            elif word == 'creates':
                self.creates.add(rest)
            elif word == 'sub':
                parts = shlex.split(rest)
                if len(parts) != 2:
                    raise CaseError('%s:%d: expected "sub REGEX REPL"'
                                    % (path, i))
                self.subs.append((re.compile(parts[0], re.M), parts[1]))
            else:
                raise CaseError('%s:%d: unknown directive "%s"'
                                % (path, i, word))
        if self.command is None:
            raise CaseError('%s: no "run" or "argv" line' % path)

    # -- helpers ---------------------------------------------------------

    def expand(self, word):
        def token(m):
            value = self.t0
            if m.group(1) == '-':
                value -= int(m.group(2))
            elif m.group(1) == '+':
                value += int(m.group(2))
            if m.group(1):
                self.tokens[m.group(0)] = value
            return str(value)
        word = TOKEN_RE.sub(token, word)
        return (word.replace('$STORE', self.store)
                .replace('$CONF', self.conf)
                .replace('$DIR', self.dir))

    def vsmtprelay(self, args, stdin=None):
        env = dict(os.environ)
        env.update(RUN_ENV_OVERRIDES)
        p = subprocess.run([self.runner.program] + args, cwd=self.dir,
                           env=env, stdin=stdin or subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        return p.returncode, p.stdout, p.stderr

    def helper(self, args):
        """A setup/post command: must succeed silently on stderr."""
        full = ['-c', self.setup_conf, '-f', self.store] + args
        rc, out, err = self.vsmtprelay(full)
        if rc != 0 or err:
            raise CaseError('helper "vsmtprelay %s" failed (exit %d): %s'
                            % (' '.join(full), rc,
                               err.decode('utf-8', 'replace').strip()))
        return out

    def normalise(self, data):
        text = data.decode('utf-8', 'backslashreplace')
        # time tokens: exact values first, then the case's run time
        for tok, value in sorted(self.tokens.items()):
            text = re.sub(r'(?<!\d)%d(?!\d)' % value, tok, text)
            text = text.replace(date_text(value), tok[:-1] + ':date}')
        for value in range(self.t0, self.t1 + 1):
            text = re.sub(r'(?<!\d)%d(?!\d)' % value, '{now}', text)
            text = text.replace(date_text(value), '{now:date}')
        text = text.replace(self.dir, '$DIR')
        if self.runner.version:
            text = re.sub(r'(?<![\w.])%s(?![\w.])'
                          % re.escape(self.runner.version), '@VERSION@', text)
        for regex, repl in self.subs:
            text = regex.sub(repl, text)
        return text

    def read_store(self):
        """The store's bytes, None if it is missing."""
        if os.path.isdir(self.store):
            return ('directory: %s' % sorted(os.listdir(self.store))).encode()
        try:
            with open(self.store, 'rb') as f:
                return f.read()
        except FileNotFoundError:
            return None

    def listing(self):
        return sorted(os.listdir(self.dir))

    # -- the run ---------------------------------------------------------

    def run(self):
        """Return a list of problems (empty: the case passed)."""
        for program in self.requires:
            if shutil.which(program) is None:
                raise Skip('%s not found' % program)
        for old in os.listdir(self.runner.workdir):
            # directories kept by an earlier failed run of this case
            if old.startswith(self.name + '.') \
               and '.' not in old[len(self.name) + 1:]:
                shutil.rmtree(os.path.join(self.runner.workdir, old),
                              ignore_errors=True)
        self.dir = tempfile.mkdtemp(prefix=self.name + '.',
                                    dir=self.runner.workdir)
        os.chmod(self.dir, 0o755)
        self.store = os.path.join(self.dir, 'relayers.db')
        self.conf = os.path.join(self.dir, 'relaygate.conf')
        self.setup_conf = os.path.join(self.dir, 'setup.conf')
        self.t0 = int(time.time())
        with open(self.setup_conf, 'w') as f:
            pass
        with open(self.conf, 'w') as f:
            f.write('# relaygate.conf of a vsmtprelay CLI test case\n')
            f.write('relay_db = %s\n' % self.store)
            for line in self.conf_lines:
                f.write(line + '\n')
        if self.fixture:
            for args in FIXTURE:
                self.helper(args)
        for step in self.steps:
            if step[0] == 'setup':
                self.helper([self.expand(w) for w in step[1]])
            elif step[0] == 'sh':
                env = dict(os.environ)
                env.update(RUN_ENV_OVERRIDES)
                env.update(VSMTPRELAY=self.runner.program, DIR=self.dir,
                           STORE=self.store, CONF=self.conf)
                p = subprocess.run(['/bin/sh', '-c', step[1]], cwd=self.dir,
                                   env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
                if p.returncode != 0:
                    raise CaseError('sh "%s" failed (exit %d): %s'
                                    % (step[1], p.returncode,
                                       p.stdout.decode('utf-8', 'replace')))
            else:
                with open(os.path.join(self.dir, step[1]), 'wb') as f:
                    f.write(step[2])

        args = [self.expand(w) for w in self.command]
        if self.command_kind == 'run':
            args = ['-c', self.conf, '-f', self.store] + args
        before_listing = self.listing()
        before_store = self.read_store()
        stdin = None
        if self.stdin is not None:
            stdin = open(os.path.join(self.dir, self.stdin), 'rb')
        try:
            rc, out, err = self.vsmtprelay(args, stdin)
        finally:
            if stdin is not None:
                stdin.close()
        after_listing = self.listing()
        after_store = self.read_store()
        post_out = b''
        problems = []
        if after_store is not None:
            for args_post in self.posts:
                post_out += ('$ vsmtprelay %s\n'
                             % ' '.join(args_post)).encode()
                post_out += self.helper([self.expand(w) for w in args_post])
        elif self.posts:
            problems.append('no store after the command, cannot run "post"')
        self.t1 = int(time.time())

        expected_rc = self.golden('rc')
        if self.runner.bless:
            self.bless(rc, out, err, post_out)
            expected_rc = self.golden('rc')

        problems += self.compare('exit status', expected_rc, '%d\n' % rc)
        problems += self.compare('stdout', self.golden('out'),
                                 self.normalise(out))
        problems += self.compare('stderr', self.golden('err'),
                                 self.normalise(err))
        if self.posts or os.path.exists(self.golden_path('post')):
            problems += self.compare('post', self.golden('post'),
                                     self.normalise(post_out))
        try:
            expected = int(expected_rc)
        except (TypeError, ValueError):
            expected = None
        if self.unchanged or expected not in (0, 1):
            if before_store != after_store:
                if before_store is None:
                    problems.append('store created by a command that must '
                                    'leave it alone')
                elif after_store is None:
                    problems.append('store removed by a command that must '
                                    'leave it alone')
                else:
                    problems.append('store changed by a command that must '
                                    'leave it alone')
            if expected not in (0, 1) and before_listing != after_listing:
                problems.append('directory listing changed: %s -> %s'
                                % (before_listing, after_listing))
        extra = (set(after_listing) - set(before_listing) - {'relayers.db'}
                 - self.creates)
        if extra:
            problems.append('files left behind: %s' % sorted(extra))
        if after_store is not None and self.runner.verify \
           and before_store != after_store and os.path.isfile(self.store):
            p = subprocess.run([self.runner.verify, self.store],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            if p.returncode != 0:
                problems.append('db5.3_verify fails on the store: %s'
                                % p.stdout.decode('utf-8', 'replace'))
        if not problems and not self.runner.keep:
            shutil.rmtree(self.dir)
        elif problems:
            problems.append('case directory kept: %s' % self.dir)
        return problems

    def golden_path(self, ext):
        return os.path.join(CASES, '%s.%s' % (self.name, ext))

    def golden(self, ext):
        try:
            with open(self.golden_path(ext), encoding='utf-8') as f:
                return f.read()
        except FileNotFoundError:
            return None

    def bless(self, rc, out, err, post_out):
        for ext, text in (('rc', '%d\n' % rc), ('out', self.normalise(out)),
                          ('err', self.normalise(err)),
                          ('post', self.normalise(post_out))):
            if ext == 'post' and not self.posts:
                continue
            if self.golden(ext) is None:
                with open(self.golden_path(ext), 'w', encoding='utf-8') as f:
                    f.write(text)

    def compare(self, what, expected, actual):
        if expected is None:
            return ['%s: golden file %s is missing'
                    % (what, os.path.basename(self.golden_path(
                        {'exit status': 'rc', 'stdout': 'out',
                         'stderr': 'err', 'post': 'post'}[what])))]
        if expected == actual:
            return []
        diff = difflib.unified_diff(
            expected.splitlines(True), actual.splitlines(True),
            'expected ' + what, 'actual ' + what)
        lines = []
        for line in diff:
            if not line.endswith('\n'):
                line += '\n\\ No newline at end of file\n'
            lines.append(line)
        return ['%s differs:\n%s' % (what, ''.join(lines).rstrip('\n'))]


class Runner:
    def __init__(self, opts):
        self.program = opts.vsmtprelay
        self.version = opts.version
        self.bless = opts.bless
        self.keep = opts.keep
        self.verify = shutil.which('db5.3_verify')
        root = os.environ.get('RELAYGATE_BUILD_ROOT')
        if not root:
            sys.exit('run-cases.py: RELAYGATE_BUILD_ROOT is not set')
        self.workdir = os.path.join(root, 'tests', 'vsmtprelay', 'work')
        os.makedirs(self.workdir, exist_ok=True)
        os.chmod(self.workdir, 0o755)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--vsmtprelay', default=os.environ.get('VSMTPRELAY'))
    parser.add_argument('--version', default=None,
                        help='project version, shown as @VERSION@')
    parser.add_argument('--bless', action='store_true',
                        help='write missing golden files from the actual '
                        'results (review them!)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the case directories')
    parser.add_argument('names', nargs='*')
    opts = parser.parse_args()
    if not opts.vsmtprelay:
        sys.exit('run-cases.py: set VSMTPRELAY or give --vsmtprelay')
    opts.vsmtprelay = os.path.abspath(opts.vsmtprelay)
    runner = Runner(opts)

    names = opts.names or sorted(n[:-4] for n in os.listdir(CASES)
                                 if n.endswith('.cmd'))
    # Every golden file must belong to a case.
    stray = sorted(n for n in os.listdir(CASES)
                   if not n.endswith('.cmd')
                   and not os.path.exists(os.path.join(
                       CASES, n.rsplit('.', 1)[0] + '.cmd')))
    print('1..%d' % (len(names) + (0 if opts.names else 1)))
    failed = 0
    for number, name in enumerate(names, 1):
        try:
            problems = Case(name, runner).run()
        except Skip as e:
            print('ok %d - %s # SKIP %s' % (number, name, e))
            continue
        except (CaseError, OSError, subprocess.SubprocessError) as e:
            problems = ['case error: %s' % e]
        if problems:
            failed += 1
            print('not ok %d - %s' % (number, name))
            sys.stdout.flush()
            # The details go to stderr, which "meson test --print-errorlogs"
            # shows (it parses stdout as TAP).
            sys.stderr.write('not ok %d - %s\n' % (number, name))
            for problem in problems:
                for line in problem.split('\n'):
                    sys.stderr.write('#   ' + line + '\n')
            sys.stderr.flush()
        else:
            print('ok %d - %s' % (number, name))
        sys.stdout.flush()
    if not opts.names:
        if stray:
            failed += 1
            print('not ok %d - golden files without a .cmd' % (len(names) + 1))
            sys.stderr.write('golden files without a .cmd: %s\n'
                             % ' '.join(stray))
        else:
            print('ok %d - every golden file has a .cmd' % (len(names) + 1))
    if failed:
        print('# %d of %d cases failed' % (failed, len(names)))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
