"""relaygate_test: the harness of the Python batteries that start the real
daemons (tests/lookupd/test-lookupd.py, tests/pop3d/test-pop3d*.py).

A battery registers cases with @case(name, proves, CASES), writes an Env
subclass that knows how to start its daemon, and calls run(). This module
gives it:

- check(condition, what, bug=None): a failed check ends the case; with BUG
  (a key of the battery's EXPECTED_TO_FAIL) it is recorded as a known bug
  instead, and a known bug that no longer fails fails the run;
- a fresh directory per case (mode 0755, under $TMPDIR when the daemons'
  user nobody can reach it, else /var/tmp), kept when the case fails;
- Daemon: a daemon started with -F, its output in a log file, stopped by
  PID (SIGTERM, then SIGKILL); Env.cleanup() closes the case's clients,
  stops its daemons and SIGKILLs stray processes by PID, only when they
  still run the battery's binary on the case's files;
- free loopback ports, /proc helpers (children, descendants, ids, state),
  polling with a deadline;
- one output line per case: "ok   NAME  TIME  proves: ...", or "FAIL ..."
  with the reason, the last lines of each daemon's log and the kept
  directory; then a summary line. The exit status is 1 if a case failed.

The batteries find this file through a path relative to themselves
(tests/lib), so they run the same under meson and by hand.
"""
import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback


class CheckFailed(Exception):
    pass


class Outcome:
    """Results of one case's known-bug checks: still failing, now passing."""

    def __init__(self):
        self.known = []
        self.fixed = []


# The running battery's known bugs (check id -> description), set by run().
EXPECTED_TO_FAIL = {}
OUTCOME = Outcome()


def load_script(path, name):
    """Import the test script at PATH (a file name with dashes, which
    import cannot name) as module NAME: the batteries share the server
    set-up of test-pop3d.py this way."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The environment of vsmtprelay when a battery uses it as a tool to set up
# or look at a store (Env.vsm): in the sanitizer build, without the leak
# check at exit, which costs some 40 ms a process on a slow machine and
# made a daemon battery that runs vsmtprelay 600 times take four times as
# long. vsmtprelay's own battery (tests/vsmtprelay) keeps the leak check.
HELPER_ENV = dict(os.environ)
if 'ASAN_OPTIONS' in HELPER_ENV:
    HELPER_ENV['ASAN_OPTIONS'] += ':detect_leaks=0'


def check(condition, what, bug=None):
    """Assert CONDITION; WHAT says what was expected (and what was got).
    With BUG (a key of EXPECTED_TO_FAIL) a failure is recorded, not raised."""
    if bug is not None:
        if bug not in EXPECTED_TO_FAIL:
            raise CheckFailed('internal: unknown bug id ' + bug)
        if condition:
            OUTCOME.fixed.append(bug)
        else:
            OUTCOME.known.append('%s: %s' % (bug, what))
        return
    if not condition:
        raise CheckFailed(what)


def now():
    return int(time.time())


def case(name, proves, cases):
    """Decorator: register the function as case NAME in the list CASES;
    PROVES is printed with its result."""
    def register(fn):
        cases.append((name, proves, fn))
        return fn
    return register


def wait_until(condition, timeout=30.0, interval=0.05):
    """Poll CONDITION until it is true or TIMEOUT passed; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# ---------------------------------------------------------------- network

def free_port(family=socket.AF_INET, host='127.0.0.1'):
    """A TCP port nobody listens on now (another program may take it before
    the daemon does: Env.start retries on "in use")."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def send_ignoring_reset(client, data):
    """Send DATA; the daemon may close (and reset) before all of it is sent."""
    try:
        client.send(data)
    except (ConnectionResetError, BrokenPipeError):
        pass


# ---------------------------------------------------------------- /proc

def parents():
    """{pid: parent pid} of every process (from /proc)."""
    table = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        table[int(entry)] = int(fields[1])
    return table


def children(pid):
    """PIDs of the children of PID."""
    return [child for child, parent in parents().items() if parent == pid]


def descendants(pid):
    """PIDs of every descendant of PID."""
    table = parents()
    found = []
    todo = [pid]
    while todo:
        p = todo.pop()
        for child, parent in table.items():
            if parent == p:
                found.append(child)
                todo.append(child)
    return found


def proc_state(pid):
    """The state letter of process PID ('R', 'S', 'Z', ...), or None if it
    is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0]
    except OSError:
        return None


def proc_ids(pid):
    """(uids, gids) of process PID, or None if it is gone."""
    try:
        with open('/proc/%d/status' % pid) as f:
            uids = gids = None
            for line in f:
                if line.startswith('Uid:'):
                    uids = [int(x) for x in line.split()[1:]]
                elif line.startswith('Gid:'):
                    gids = [int(x) for x in line.split()[1:]]
            return uids, gids
    except OSError:
        return None


# ---------------------------------------------------------------- daemons

class Daemon:
    """BINARY -F -c CONF, its output appended to LOG, stopped by PID."""

    def __init__(self, env, binary, conf, log):
        self.env = env
        self.conf = conf
        self.log_path = log
        self.logf = open(log, 'ab')
        self.proc = subprocess.Popen([binary, '-F', '-c', conf],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf)
        self.pid = self.proc.pid

    def log_bytes(self):
        with open(self.log_path, 'rb') as f:
            return f.read()

    def log(self):
        return self.log_bytes().decode(errors='replace')

    def wait_log(self, pattern, timeout=10.0):
        """The first match of regex PATTERN in the log, waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.log(), re.M)
            if m or time.monotonic() > deadline:
                return m
            time.sleep(0.02)

    def running(self):
        return self.proc.poll() is None

    def stop(self, timeout=5):
        """SIGTERM by PID, then SIGKILL if it does not exit within TIMEOUT;
        the exit status (negative: the signal that ended it)."""
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode

    def kill9(self):
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait()
        self.logf.close()


class Env:
    """One case's directory, the battery's tools, its daemons (.servers)
    and clients, and the processes to end at cleanup (.strays)."""

    conf_header = '# written by a relaygate test battery\n'

    def __init__(self, root, tools, binary):
        self.dir = root
        self.tools = tools
        self.binary = binary
        self.vsmtprelay = tools['vsmtprelay']
        self.store = os.path.join(root, 'relayers.db')
        self.admin_conf = os.path.join(root, 'admin.conf')
        with open(self.admin_conf, 'w') as f:
            f.write('# vsmtprelay in the tests\nrelay_window = 30m\n')
        self.servers = []
        self.clients = []
        self.strays = []
        self.serial = 0

    def path(self, name):
        return os.path.join(self.dir, name)

    def write_conf(self, lines, name):
        """A configuration file NAME in the case directory; its path."""
        path = self.path(name)
        with open(path, 'w') as f:
            f.write(self.conf_header)
            for line in lines:
                f.write(line + '\n')
        return path

    def vsm(self, *args, store=None, expect_rc=0):
        """Run vsmtprelay on the case's store (or STORE); checked against
        EXPECT_RC unless it is None."""
        cmd = [self.vsmtprelay, '-c', self.admin_conf, '-f', store or self.store]
        cmd += [str(a) for a in args]
        r = subprocess.run(cmd, capture_output=True, text=True,
                           env=HELPER_ENV)
        if expect_rc is not None:
            check(r.returncode == expect_rc, 'vsmtprelay %s: exit %d (expected '
                  '%d): %s %s' % (' '.join(cmd[5:]), r.returncode, expect_rc,
                                  r.stdout.strip(), r.stderr.strip()))
        return r

    def cleanup(self):
        for c in self.clients:
            try:
                c.close()
            except (OSError, AttributeError):
                pass
        for s in self.servers:
            try:
                s.stop()
            except OSError:
                pass
        for pid in self.strays:
            # Only a process still running our binary with this case's
            # files (never a recycled PID).
            try:
                with open('/proc/%d/cmdline' % pid, 'rb') as f:
                    argv = f.read().split(b'\0')
                if argv[0] == self.binary.encode() and any(
                        a.startswith(self.dir.encode()) for a in argv):
                    os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


# ---------------------------------------------------------------- runner

def case_root():
    """A directory the daemons' user (nobody) can reach."""
    base = os.environ.get('TMPDIR') or '/var/tmp'
    probe = os.path.abspath(base)
    while probe != '/':
        if not os.stat(probe).st_mode & 0o001:
            return '/var/tmp'
        probe = os.path.dirname(probe)
    return base


def find_tools(programs, why_root):
    """{'vsmtprelay': path, NAME: BUILD/PROGRAM for PROGRAMS {NAME: PROGRAM}}
    from $VSMTPRELAY and $RELAYGATE_BUILD_ROOT (meson sets both); also
    checks that this runs as root (WHY_ROOT says why) and that the user
    nobody exists. None after printing FAIL and the reason."""
    vsmtprelay = os.environ.get('VSMTPRELAY')
    build = os.environ.get('RELAYGATE_BUILD_ROOT')
    if not vsmtprelay or not build:
        print('FAIL: VSMTPRELAY and RELAYGATE_BUILD_ROOT must be set (meson does)')
        return None
    tools = {'vsmtprelay': os.path.abspath(vsmtprelay)}
    for name, program in programs.items():
        tools[name] = os.path.abspath(os.path.join(build, program))
    for tool in tools.values():
        if not os.access(tool, os.X_OK):
            print('FAIL: %s is missing or not executable' % tool)
            return None
    if os.geteuid() != 0:
        print('FAIL: this battery must run as root (%s)' % why_root)
        return None
    try:
        pwd.getpwnam('nobody')
    except KeyError:
        print('FAIL: user nobody is missing')
        return None
    return tools


def run(cases, make_env, root, prefix, width, expected_to_fail=None,
        after_case=None, log_label='daemon log', selected=None):
    """Run CASES (those named in SELECTED, default sys.argv[1:]), each in a
    fresh directory under ROOT named PREFIX...; MAKE_ENV(directory) gives
    the case's Env. AFTER_CASE(env), called after cleanup, may return an
    error text that fails a case that passed. Returns the exit status."""
    global EXPECTED_TO_FAIL, OUTCOME
    EXPECTED_TO_FAIL = dict(expected_to_fail or {})
    if selected is None:
        selected = sys.argv[1:]
    unknown = [s for s in selected if s not in [c[0] for c in cases]]
    if unknown:
        print('FAIL: no such case: %s' % ', '.join(unknown))
        return 1
    failures = 0
    known = []
    started_all = time.monotonic()
    for name, proves, fn in cases:
        if selected and name not in selected:
            continue
        OUTCOME = Outcome()
        tmp = tempfile.mkdtemp(prefix=prefix, dir=root)
        os.chmod(tmp, 0o755)
        env = make_env(tmp)
        started = time.monotonic()
        error = None
        try:
            fn(env)
        except CheckFailed as e:
            error = str(e)
        except Exception:      # noqa: BLE001 - a crash of the case is a failure
            error = traceback.format_exc()
        finally:
            env.cleanup()
        took = time.monotonic() - started
        if error is None and after_case is not None:
            error = after_case(env)
        if error is None and OUTCOME.fixed:
            error = ('known bug no longer seen (remove it from EXPECTED_TO_FAIL): '
                     + ', '.join(OUTCOME.fixed))
        if error is None:
            print('ok   %-*s %5.1fs  proves: %s' % (width, name, took, proves))
            for k in OUTCOME.known:
                print('     known bug (expected to fail): %s' % k)
            known += OUTCOME.known
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            failures += 1
            print('FAIL %-*s %5.1fs  should prove: %s' % (width, name, took,
                                                          proves))
            for line in error.splitlines():
                print('     ' + line)
            for s in env.servers:
                print('     --- %s %s (last 20 lines):' % (log_label, s.log_path))
                for line in s.log().splitlines()[-20:]:
                    print('     | ' + line)
            print('     (files kept in %s)' % tmp)
        sys.stdout.flush()
    print('%d case(s) failed, %d known bug(s) expected to fail, %.1fs'
          % (failures, len(known), time.monotonic() - started_all))
    return 1 if failures else 0
