#!/usr/bin/env python3
"""Protocol battery for relaygate-pop3d: starts the real server and drives it
with Python's poplib (plain, STLS, POP3S) and with raw sockets for the
hostile cases.

Run by meson (suite 'pop3d') with VSMTPRELAY and RELAYGATE_BUILD_ROOT in the
environment; by hand:

    VSMTPRELAY=build/vsmtprelay RELAYGATE_BUILD_ROOT=build \\
        tests/pop3d/test-pop3d.py [CASE...]

Every case runs in a fresh directory (mode 0755, under $TMPDIR when the
login user nobody can reach it, else /var/tmp) with its own server on free
loopback ports, stopped by PID when the case ends. The users' Maildirs
belong to uid/gid 5000 so that the drop to the mailbox owner is real.
Clients connect from 127.0.0.2 or 127.0.0.3 (bound source address) to
127.0.0.1; grants are checked with the real vsmtprelay. Each case prints
what it proves. The exit status is 1 if any check failed.

It must run as root (the server's privilege drops are part of the tests).

Known server bugs are listed in EXPECTED_TO_FAIL (check id -> description):
such a check is reported as "known bug" and does not fail the run; when it
passes, the run fails so that the entry gets removed.

The harness (case registry, checks, case directories, starting and stopping
servers by PID, ports, /proc helpers, output) is tests/lib/relaygate_test.py;
tests/pop3d/test-pop3d-clients.py and test-pop3d-dovecot.py import this file
for what is POP3's own (users, Maildirs, clients, the server's start).
"""
import base64
import hashlib
import os
import poplib
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, 'lib'))
import relaygate_test as H  # noqa: E402 - found through the path above
from relaygate_test import (CheckFailed, check, descendants,  # noqa: E402,F401
                            free_port, now, proc_ids, send_ignoring_reset,
                            wait_until)

EXPECTED_TO_FAIL = {
}

IO_TIMEOUT = 10.0      # no single answer may take longer than this
MAIL_UID = 5000        # owner of every test Maildir
MAIL_GID = 5000
SERVER = 'relaygate-pop3d'


# ---------------------------------------------------------------- messages

def crlf_form(data):
    """The bytes a POP3 client receives for a message file (before
    dot-stuffing): every line ending CRLF, no final CRLF added."""
    return data.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')


def wire_form(data):
    """What RETR sends after its +OK line: dot-stuffed CRLF form, a CRLF
    closing a last line without one, and the terminating '.' line."""
    body = crlf_form(data)
    lines = body.split(b'\r\n')
    stuffed = b'\r\n'.join(b'.' + l if l.startswith(b'.') else l for l in lines)
    if stuffed and not stuffed.endswith(b'\r\n'):
        stuffed += b'\r\n'
    return stuffed + b'.\r\n'


def poplib_lines(data):
    """The list of lines poplib returns for a message file."""
    body = crlf_form(data)
    if body.endswith(b'\r\n'):
        body = body[:-2]
    return body.split(b'\r\n') if body else []


def top_lines(data, n):
    """poplib's lines for TOP msg N: headers, the blank line, N body lines."""
    lines = poplib_lines(data)
    if b'' not in lines:
        return lines
    blank = lines.index(b'')
    return lines[:blank + 1 + n]


# A mailbox with the awkward cases: LF-only endings, dot lines, no final
# newline, an empty message, CRLF endings, 8-bit bytes.
MESSAGES = {
    'plain': b'From: a@example.org\nTo: joe@example.org\nSubject: plain\n\n'
             b'Hello Joe.\nSecond line.\n',
    'dots': b'Subject: dots\n\n.\n..\n.leading dot\n...three\nend. \n.\n',
    'nofinal': b'Subject: no final newline\n\nlast line without newline',
    'empty': b'',
    'crlf': b'Subject: crlf\r\n\r\nalready CRLF\r\n.dot\r\n',
    'eightbit': b'Subject: =?utf-8?q?8bit?=\nContent-Type: text/plain; '
                b'charset=latin1\n\nGr\xfc\xdfe, \xe9t\xe9 \xff\x80\x01\x7f\n'
                b'\xc3\xa9 utf-8\n',
    'toplines': b'Subject: top\nX-Two: 2\n\nb1\nb2\n.b3\nb4\nb5\n',
}


# ---------------------------------------------------------------- clients

def source_socket(host, port, source, timeout=IO_TIMEOUT):
    return socket.create_connection((host, port), timeout,
                                    source_address=(source, 0))


class POP3From(poplib.POP3):
    """poplib.POP3 whose connection comes from the address SOURCE."""

    def __init__(self, host, port, source='127.0.0.2', timeout=IO_TIMEOUT):
        self._source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return source_socket(self.host, self.port, self._source, timeout)


class POP3SSLFrom(poplib.POP3_SSL):
    """poplib.POP3_SSL whose connection comes from the address SOURCE."""

    def __init__(self, host, port, source='127.0.0.2', timeout=IO_TIMEOUT,
                 context=None):
        self._source = source
        super().__init__(host, port, timeout=timeout, context=context)

    def _create_socket(self, timeout):
        sock = source_socket(self.host, self.port, self._source, timeout)
        return self.context.wrap_socket(sock, server_hostname=self.host)


def client_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Raw:
    """A raw POP3 connection from SOURCE: lines, multi-line answers, bytes."""

    def __init__(self, address, source='127.0.0.2', timeout=IO_TIMEOUT,
                 rcvbuf=None, greeting=True):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.bind((source, 0))
        self.sock.connect(address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b''
        self.greeting = self.line() if greeting else None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise CheckFailed('connection closed by the server where an '
                              'answer was expected (got so far %r)' % self.buf[:120])
        self.buf += chunk

    def line(self):
        """One reply line, without its CRLF."""
        while b'\r\n' not in self.buf:
            if len(self.buf) > 100000:
                raise CheckFailed('reply line without CRLF: %r' % self.buf[:120])
            self._fill()
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def cmd(self, text):
        self.send(text + (b'\r\n' if isinstance(text, bytes) else '\r\n'))
        return self.line()

    def multi_raw(self):
        """The raw bytes of a multi-line body up to and including '.CRLF'."""
        while True:
            if self.buf.startswith(b'.\r\n'):
                end = 3
                break
            i = self.buf.find(b'\r\n.\r\n')
            if i >= 0:
                end = i + 5
                break
            self._fill()
        data, self.buf = self.buf[:end], self.buf[end:]
        return data

    def multi(self):
        """The lines of a multi-line body, dot-stuffing undone."""
        raw = self.multi_raw()[:-3]
        if not raw:
            return []
        lines = raw[:-2].split(b'\r\n')
        return [l[1:] if l.startswith(b'.') else l for l in lines]

    def login(self, user, password):
        r1 = self.cmd('USER ' + user)
        r2 = self.cmd('PASS ' + password)
        check(r1.startswith(b'+OK') and r2 == b'+OK Logged in.',
              'USER/PASS %s: +OK, +OK Logged in.; got %r, %r' % (user, r1, r2))

    def wait_closed(self, timeout=5.0):
        """(closed, data): whether the server closed the connection within
        TIMEOUT, and the bytes it sent before."""
        data = self.buf
        self.buf = b''
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False, data
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(262144)
            except socket.timeout:
                return False, data
            except (ConnectionResetError, BrokenPipeError):
                return True, data
            if not chunk:
                return True, data
            data += chunk


# ---------------------------------------------------------------- server

def socket_holders(server_port, client_port):
    """{pid: (uids, gids)} of every process holding the server side of the
    TCP connection SERVER_PORT <-> CLIENT_PORT (from /proc/net/tcp and
    /proc/PID/fd)."""
    inodes = set()
    with open('/proc/net/tcp') as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local = int(fields[1].split(':')[1], 16)
            remote = int(fields[2].split(':')[1], 16)
            if local == server_port and remote == client_port:
                inodes.add('socket:[%s]' % fields[9])
    found = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir('/proc/%s/fd' % entry)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink('/proc/%s/fd/%s' % (entry, fd))
            except OSError:
                continue
            if target in inodes:
                ids = proc_ids(int(entry))
                if ids is not None:
                    found[int(entry)] = ids
                break
    return found


def settled_holders(server, client_port, settled, timeout=5.0):
    """socket_holders() of the connection once SETTLED(holders) is true,
    or as they are after TIMEOUT seconds: processes pass the socket on and
    close their copies a moment after the client has its answer."""
    deadline = time.monotonic() + timeout
    holders = socket_holders(server.address[1], client_port)
    while not settled(holders) and time.monotonic() < deadline:
        time.sleep(0.01)
        holders = socket_holders(server.address[1], client_port)
    return holders


class Server(H.Daemon):
    def __init__(self, env, binary, conf, log):
        super().__init__(env, binary, conf, log)
        self.address = None
        self.tls_address = None

    def wait_ready(self, timeout=10.0):
        """True when the server logged event=start; False when it exited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(r'pop3: event=start ', self.log()):
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.01)
        raise CheckFailed('server did not log "event=start" within %.0fs; '
                          'log:\n%s' % (timeout, self.log()))

    def stop(self, timeout=5):
        """SIGTERM by PID (and to its session processes), then SIGKILL if it
        does not exit within TIMEOUT; the exit status."""
        kids = descendants(self.pid) if self.proc.poll() is None else []
        rc = super().stop(timeout)
        self.env.strays += kids
        return rc


class Env(H.Env):
    """One case's directory, users, Maildirs, store, configuration, server."""

    conf_header = '# written by test-pop3d.py\n'

    def __init__(self, root, tools):
        super().__init__(root, tools, tools['pop3d'])
        self.cert = tools['cert']
        self.key = tools['key']
        self.passwd = os.path.join(root, 'passwd')
        self.users = {}

    # -- users and mailboxes

    def add_user(self, name, password, scheme='PLAIN', uid=MAIL_UID,
                 gid=MAIL_GID):
        """A passwd-file entry and an empty Maildir owned by UID:GID."""
        if scheme == 'PLAIN':
            hashed = '{PLAIN}' + password
        elif scheme == 'SHA512-CRYPT':
            r = subprocess.run(['openssl', 'passwd', '-6', password],
                               capture_output=True, text=True, check=True)
            hashed = '{SHA512-CRYPT}' + r.stdout.strip()
        else:
            raise CheckFailed('internal: scheme ' + scheme)
        home = self.path('home/' + name)
        for sub in ('cur', 'new', 'tmp'):
            os.makedirs(os.path.join(home, 'Maildir', sub), exist_ok=True)
        for dirpath, dirnames, _ in os.walk(home):
            os.chown(dirpath, uid, gid)
            os.chmod(dirpath, 0o700)
        os.chmod(self.path('home'), 0o755)
        self.users[name] = {'home': home, 'password': password, 'uid': uid}
        with open(self.passwd, 'a') as f:
            f.write('%s:%s:%d:%d::%s::\n' % (name, hashed, uid, gid, home))
        os.chmod(self.passwd, 0o600)
        return home

    def maildir(self, user):
        return os.path.join(self.users[user]['home'], 'Maildir')

    def deliver(self, user, data, name=None, sub='new'):
        """Put DATA in USER's Maildir as a file owned by the user; its path."""
        self.serial += 1
        if name is None:
            name = '%d.M%dP%d.relaygate-test' % (1700000000 + self.serial,
                                                 self.serial, os.getpid())
        path = os.path.join(self.maildir(user), sub, name)
        with open(path, 'wb') as f:
            f.write(data)
        os.chown(path, self.users[user]['uid'], MAIL_GID)
        os.chmod(path, 0o600)
        return path

    def files(self, user):
        """{base name (without new/ or cur/ and without ":2,flags"): contents}
        of the messages in USER's Maildir. A POP3 server may move messages
        from new/ to cur/ (as Dovecot does); that changes nothing here."""
        out = {}
        for sub in ('cur', 'new'):
            d = os.path.join(self.maildir(user), sub)
            for name in os.listdir(d):
                with open(os.path.join(d, name), 'rb') as f:
                    out[name.split(':', 1)[0]] = f.read()
        return out

    def find(self, user, base):
        """The current path of the message whose base name is BASE."""
        for sub in ('cur', 'new'):
            d = os.path.join(self.maildir(user), sub)
            for name in os.listdir(d):
                if name.split(':', 1)[0] == base:
                    return os.path.join(d, name)
        raise CheckFailed('message %s is no longer in the Maildir' % base)

    # -- store

    def granted(self, address):
        """Whether vsmtprelay check ADDRESS says the address may relay."""
        r = self.vsm('check', address, expect_rc=None)
        check(r.returncode in (0, 1), 'vsmtprelay check %s: exit 0 or 1, got '
              '%d: %s' % (address, r.returncode, r.stderr.strip()))
        return r.returncode == 0

    def grant_time(self, address):
        """The timestamp vsmtprelay dump shows for ADDRESS, or None."""
        if not os.path.exists(self.store):
            return None
        out = self.vsm('dump').stdout
        for line in out.splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[0] == address:
                return int(fields[1])
        return None

    # -- configuration and server

    def write_conf(self, lines):
        self.serial += 1
        return super().write_conf(lines, 'pop3d-%d.conf' % self.serial)

    def start(self, extra=(), tls=False, pop3s=False, store=None,
              expect_start=True, pop3=True, listen=None,
              mail_location='maildir:~/Maildir'):
        """Start a server on free loopback ports; .address / .tls_address are
        the (host, port) of its pop3_listen / pop3s_listen endpoints."""
        for attempt in range(5):
            port = free_port()
            sport = free_port() if pop3s else None
            lines = ['relay_db = ' + (store or self.store),
                     'relay_window = 30m',
                     'passwd_file = ' + self.passwd,
                     'mail_location = ' + mail_location,
                     'pop3_listen = ' + (listen or ('127.0.0.1:%d' % port
                                                    if pop3 else '')),
                     'login_user = nobody']
            if pop3s:
                lines.append('pop3s_listen = 127.0.0.1:%d' % sport)
            if tls or pop3s:
                lines += ['tls_cert = ' + self.cert, 'tls_key = ' + self.key]
            lines += list(extra)
            conf = self.write_conf(lines)
            s = Server(self, self.binary, conf,
                       self.path('pop3d-%d.log' % self.serial))
            self.servers.append(s)
            ready = s.wait_ready()
            if not ready and 'in use' in s.log():
                s.stop()
                continue    # another program took the free port: retry
            if expect_start:
                check(ready, 'server started; exit %s, log:\n%s'
                      % (s.proc.returncode, s.log()))
            s.address = ('127.0.0.1', port)
            s.tls_address = ('127.0.0.1', sport) if pop3s else None
            return s
        raise CheckFailed('no free port after 5 attempts')

    def raw(self, server, source='127.0.0.2', **kw):
        c = Raw(server.address, source, **kw)
        self.clients.append(c)
        return c

    def pop(self, server, source='127.0.0.2'):
        p = POP3From(server.address[0], server.address[1], source)
        self.clients.append(p)
        return p

    def pops(self, server, source='127.0.0.2'):
        p = POP3SSLFrom(server.tls_address[0], server.tls_address[1], source,
                        context=client_context())
        self.clients.append(p)
        return p

def expect_err(got, what, code=None):
    if isinstance(code, str):
        code = code.encode()
    check(got.startswith(b'-ERR') and (code is None or code in got),
          '%s: expected -ERR%s, got %r' % (what, ' %s' % code if code else '', got))


def expect_ok(got, what):
    check(got.startswith(b'+OK'), '%s: expected +OK, got %r' % (what, got))


def log_has_no_secret(server, secrets):
    log = server.log_bytes()
    for s in secrets:
        if isinstance(s, str):
            s = s.encode()
        check(s not in log, 'the log never holds the secret %r' % s)


def fill_mailbox(env, user, messages=MESSAGES):
    """Deliver MESSAGES to USER; {uid-independent name: bytes}."""
    for name, data in messages.items():
        env.deliver(user, data)
    return dict(messages)


def retrieve_all(p):
    """[(size, lines)] for every message of a logged-in poplib session."""
    _, listing, _ = p.list()
    out = []
    for entry in listing:
        num, size = entry.split()
        _, lines, octets = p.retr(int(num))
        out.append((int(num), int(size), lines))
    return out


# ---------------------------------------------------------------- cases

CASES = []


def case(name, proves, cases=CASES):
    return H.case(name, proves, cases)


@case('login/user-pass-grant',
      'poplib USER/PASS from 127.0.0.2 answers "+OK Logged in." and records a '
      'grant for 127.0.0.2 (vsmtprelay check/list see it, with a timestamp of '
      'the login) and none for 127.0.0.3; the log has one event=login line '
      'with user, address and grant=recorded, a logout line, never the '
      'password; the master stays root; the processes holding the client\'s '
      'socket run as nobody before login and as the mailbox owner (5000) '
      'after it; after QUIT the connection is closed')
def case_user_pass(env):
    env.add_user('joe', 'S3cret-pw')
    env.deliver('joe', MESSAGES['plain'])
    s = env.start()
    check(not env.granted('127.0.0.2'), 'no grant for 127.0.0.2 before login')
    nobody = pwd.getpwnam('nobody').pw_uid
    p = env.pop(s)
    welcome = p.getwelcome()
    check(re.match(rb'^\+OK relaygate POP3 server ready <[^<>@ ]+@[^<> ]+>$',
                   welcome) is not None,
          'greeting "+OK relaygate POP3 server ready <...@host>", got %r' % welcome)
    client_port = p.sock.getsockname()[1]
    # The master passes the socket on and then closes its copy; the
    # greeting can arrive between the two, so wait for the close.
    holders = settled_holders(s, client_port, lambda h: s.pid not in h)
    check(holders and all(ids[0] == [nobody] * 4 and ids[1][0] != 0
                          for ids in holders.values()),
          'before login every process holding the client\'s socket runs as '
          'nobody (all four uids, non-root gid): %s' % holders)
    check(proc_ids(s.pid)[0][0] == 0, 'master runs as root')
    before = now()
    check(p.user('joe').startswith(b'+OK'), 'USER joe: +OK')
    got = p.pass_('S3cret-pw')
    after = now()
    check(got == b'+OK Logged in.', 'PASS: "+OK Logged in.", got %r' % got)
    check(env.granted('127.0.0.2'), 'vsmtprelay check 127.0.0.2: granted '
          'right after the +OK (grant recorded before it)')
    t = env.grant_time('127.0.0.2')
    check(t is not None and before - 1 <= t <= after + 1,
          'grant timestamp %s within the login [%d, %d]' % (t, before, after))
    listing = env.vsm('list').stdout
    check(re.search(r'^127\.0\.0\.2 \d+$', listing, re.M) is not None,
          'vsmtprelay list shows 127.0.0.2: %r' % listing)
    check(not env.granted('127.0.0.3'), 'no grant for 127.0.0.3')
    # (the login process closes its copy after the hand-over)
    holders = settled_holders(s, client_port, lambda h: all(
        ids[0][0] == MAIL_UID for ids in h.values()))
    check(holders and all(ids[0] == [MAIL_UID] * 4 and ids[1] == [MAIL_GID] * 4
                          for ids in holders.values()),
          'after login every process holding the client\'s socket runs as '
          'uid/gid 5000 (all four): %s' % holders)
    check(p.stat() == (1, len(crlf_form(MESSAGES['plain']))), 'STAT 1 message')
    p.quit()
    holders = settled_holders(s, client_port, lambda h: not h)
    check(not holders, 'after QUIT no server process holds the client\'s '
          'socket: %s' % holders)
    m = s.wait_log(r'pop3: event=login .*$')
    check(m is not None, 'login logged: %r' % s.log())
    line = m.group(0)
    for field in ('address=127.0.0.2', 'user=joe', 'method=USER', 'tls=no',
                  'grant=recorded', 'messages=1'):
        check(field in line.split(), 'login line has %s: %r' % (field, line))
    m = s.wait_log(r'pop3: event=logout .*$')
    check(m is not None and 'reason=quit' in m.group(0)
          and 'user=joe' in m.group(0) and 'address=127.0.0.2' in m.group(0),
          'logout line with reason=quit, user, address: %r' % s.log())
    log_has_no_secret(s, ['S3cret-pw'])


@case('login/failures-identical',
      'an unknown user and a wrong password get byte-identical answers after '
      'more than 0.5 s, record no grant for 127.0.0.3, are logged as '
      'event=login-failed without the password; the third failure in one '
      'connection closes it; SHA512-CRYPT entries log in')
def case_failures(env):
    env.add_user('joe', 'right-pw-1')
    env.add_user('amy', 'crypt-pw-2', scheme='SHA512-CRYPT')
    s = env.start()
    answers = []
    for user, password in (('nosuchuser', 'wrong-pw-9'), ('joe', 'wrong-pw-8'),
                           ('amy', 'wrong-pw-7')):
        c = env.raw(s, source='127.0.0.3')
        u = c.cmd('USER ' + user)
        started = time.monotonic()
        a = c.cmd('PASS ' + password)
        took = time.monotonic() - started
        check(took > 0.5, 'failed login for %s answered after > 0.5 s, took '
              '%.2fs' % (user, took))
        answers.append((u, a))
        c.close()
    check(answers[0] == answers[1] == answers[2],
          'unknown user, wrong {PLAIN} and wrong crypt password: identical '
          'USER and PASS answers; got %r' % answers)
    expect_err(answers[0][1], 'failed PASS', '[AUTH]')
    check(not env.granted('127.0.0.3'), 'no grant for 127.0.0.3 after failures')
    check(s.wait_log(r'event=login-failed .*user=nosuchuser') is not None,
          'event=login-failed logged for the unknown user: %r' % s.log())
    log_has_no_secret(s, ['wrong-pw-9', 'wrong-pw-8', 'wrong-pw-7'])
    # Three failures in one connection: closed. (From a fresh address: the
    # throttle makes each further failure from 127.0.0.3 slower.)
    c = Raw(s.address, '127.0.0.4', timeout=120)
    env.clients.append(c)
    for i in range(3):
        c.cmd('USER joe')
        got = c.cmd('PASS bad-%d' % i)
        expect_err(got, 'failure %d' % (i + 1), '[AUTH]')
    check(got == b'-ERR [AUTH] Authentication failed. Too many failed '
          b'logins.', 'the third failure says so in its one reply: %r' % got)
    closed, data = c.wait_closed(5)
    check(closed and data == b'', 'closed after 3 failed logins in one '
          'connection, with no reply beyond the third; got %r' % data)
    # The right crypt password works from 127.0.0.5 afterwards.
    c = Raw(s.address, '127.0.0.5', timeout=120)
    env.clients.append(c)
    c.login('amy', 'crypt-pw-2')
    check(env.granted('127.0.0.5'), 'SHA512-CRYPT login records a grant')
    c.cmd('QUIT')


@case('login/apop',
      'APOP with the greeting timestamp logs in a {PLAIN} user and records a '
      'grant; a wrong digest, and APOP for a SHA512-CRYPT user, fail with the '
      'same answer as any failed login')
def case_apop(env):
    env.add_user('joe', 'apop-secret')
    env.add_user('amy', 'crypt-pw', scheme='SHA512-CRYPT')
    env.deliver('joe', MESSAGES['plain'])
    s = env.start()
    p = env.pop(s)
    got = p.apop('joe', 'apop-secret')
    check(got == b'+OK Logged in.', 'APOP joe: +OK Logged in., got %r' % got)
    check(env.granted('127.0.0.2'), 'APOP login recorded a grant')
    check(p.stat()[0] == 1, 'STAT after APOP')
    p.quit()
    check(s.wait_log(r'event=login .*method=APOP') is not None,
          'login line says method=APOP: %r' % s.log())
    fails = []
    for user, pw in (('joe', 'not-it'), ('amy', 'crypt-pw'), ('ghost', 'x')):
        c = env.raw(s, source='127.0.0.3')
        ts = re.search(rb'<[^>]*>', c.greeting).group(0)
        digest = hashlib.md5(ts + pw.encode()).hexdigest()
        fails.append(c.cmd('APOP %s %s' % (user, digest)))
        c.close()
    check(fails[0] == fails[1] == fails[2], 'failed APOP answers identical: %r'
          % fails)
    expect_err(fails[0], 'failed APOP', '[AUTH]')
    check(not env.granted('127.0.0.3'), 'failed APOP: no grant')
    log_has_no_secret(s, ['apop-secret', 'crypt-pw'])


@case('login/auth-plain',
      'AUTH lists PLAIN; AUTH PLAIN with an initial response and with a "+ " '
      'continuation both log in and record a grant; "*" cancels with -ERR; '
      '"=" (empty) and wrong credentials fail; an authzid other than the '
      'authcid is refused, the same one accepted; neither the password nor '
      'the base64 blob reaches the log')
def case_auth_plain(env):
    env.add_user('joe', 'plain-pw-5')
    s = env.start()
    blob = base64.b64encode(b'\0joe\0plain-pw-5').decode()
    c = env.raw(s)
    expect_ok(c.cmd('AUTH'), 'AUTH')
    mechs = c.multi()
    check(b'PLAIN' in mechs, 'AUTH lists PLAIN: %r' % mechs)
    got = c.cmd('AUTH PLAIN ' + blob)
    check(got == b'+OK Logged in.', 'AUTH PLAIN initial response: %r' % got)
    check(env.granted('127.0.0.2'), 'AUTH PLAIN recorded a grant')
    expect_ok(c.cmd('QUIT'), 'QUIT')
    c = env.raw(s, source='127.0.0.3')
    got = c.cmd('AUTH PLAIN')
    check(got.startswith(b'+ ') or got == b'+', 'AUTH PLAIN: "+ " '
          'continuation, got %r' % got)
    got = c.cmd(blob)
    check(got == b'+OK Logged in.', 'continuation response logs in: %r' % got)
    check(env.granted('127.0.0.3'), 'continuation login granted 127.0.0.3')
    expect_ok(c.cmd('QUIT'), 'QUIT')
    c = env.raw(s)
    check(c.cmd('AUTH PLAIN').startswith(b'+'), 'continuation')
    expect_err(c.cmd('*'), '"*" cancels AUTH')
    # After the cancel the session is still in AUTHORIZATION: CAPA works.
    expect_ok(c.cmd('CAPA'), 'CAPA after a cancelled AUTH')
    c.multi()
    check(c.cmd('AUTH PLAIN').startswith(b'+'), 'continuation')
    expect_err(c.cmd('='), '"=" (empty response) fails')
    c.close()
    c = env.raw(s)
    bad = base64.b64encode(b'\0joe\0wrong-pw').decode()
    expect_err(c.cmd('AUTH PLAIN ' + bad), 'wrong password', '[AUTH]')
    expect_err(c.cmd('AUTH PLAIN !!notbase64!!'), 'invalid base64')
    expect_err(c.cmd('AUTH CRAM-MD5'), 'unsupported mechanism')
    c.close()
    # RFC 4616: an authzid equal to the authcid is the same login; another
    # authzid is refused; the mechanism name is case-insensitive.
    c = env.raw(s, source='127.0.0.4')
    other = base64.b64encode(b'amy\0joe\0plain-pw-5').decode()
    expect_err(c.cmd('AUTH PLAIN ' + other), 'authzid amy for authcid joe')
    check(not env.granted('127.0.0.4'), 'refused authzid: no grant')
    same = base64.b64encode(b'joe\0joe\0plain-pw-5').decode()
    got = c.cmd('auth plain ' + same)
    check(got == b'+OK Logged in.', 'authzid = authcid, lower-case "auth '
          'plain": %r' % got)
    c.cmd('QUIT')
    m = s.wait_log(r'event=login .*method=\S*PLAIN\S*')
    check(m is not None, 'login line with method=...PLAIN...: %r' % s.log())
    log_has_no_secret(s, ['plain-pw-5', blob, 'wrong-pw', bad, other, same])


@case('tls/stls-poplib',
      'with TLS configured CAPA offers STLS and USER; poplib.stls() upgrades; '
      'after STLS CAPA no longer lists STLS (still USER), a second STLS is '
      '-ERR, login and RETR work and the login line says tls=yes; QUIT closes')
def case_stls(env):
    env.add_user('joe', 'tls-pw')
    env.deliver('joe', MESSAGES['eightbit'])
    s = env.start(tls=True)
    p = env.pop(s)
    capa = p.capa()
    check('STLS' in capa and 'USER' in capa, 'CAPA before STLS lists STLS and '
          'USER: %r' % capa)
    got = p.stls(context=client_context())
    expect_ok(got, 'STLS')
    capa = p.capa()
    check('STLS' not in capa, 'CAPA after STLS no longer lists STLS: %r' % capa)
    check('USER' in capa and 'PLAIN' in capa.get('SASL', []),
          'CAPA after STLS lists USER and SASL PLAIN: %r' % capa)
    try:
        again = p._shortcmd('STLS')
    except poplib.error_proto as e:
        again = e.args[0]
    expect_err(again, 'second STLS')
    p.user('joe')
    check(p.pass_('tls-pw') == b'+OK Logged in.', 'login over STLS')
    _, lines, _ = p.retr(1)
    check(lines == poplib_lines(MESSAGES['eightbit']), 'RETR over TLS: bytes '
          'equal: %r' % lines)
    capa = p.capa()
    check('STLS' not in capa, 'CAPA after login: no STLS: %r' % capa)
    client_port = p.sock.getsockname()[1]
    p.quit()
    holders = settled_holders(s, client_port, lambda h: not h)
    check(not holders, 'after QUIT over TLS no server process holds the '
          'client\'s socket: %s' % holders)
    m = s.wait_log(r'event=login .*$')
    check(m is not None and 'tls=yes' in m.group(0).split(),
          'login line says tls=yes: %r' % (m and m.group(0)))
    check(env.granted('127.0.0.2'), 'STLS login granted')


PLAINTEXT_REFUSED = (b'-ERR [AUTH] Plaintext authentication disallowed on '
                     b'non-secure connections.')


def shortcmd(p, line):
    """The one-line answer of poplib session P to LINE, +OK or -ERR."""
    try:
        return p._shortcmd(line)
    except poplib.error_proto as e:
        return e.args[0]


@case('login/plaintext-auth-networks',
      'with plaintext_auth_networks = 127.0.0.1/32 a client from 127.0.0.2 '
      'without TLS: CAPA lists STLS but neither USER nor SASL PLAIN, AUTH '
      'lists no mechanism, USER, PASS (even without USER), AUTH PLAIN with '
      'and without an initial response get exactly "-ERR [AUTH] Plaintext '
      'authentication disallowed on non-secure connections." (no "+ " '
      'continuation), are not bad commands, record no grant and log no '
      'login (the disconnect line says plaintext_refused=N); APOP still '
      'logs in; after STLS in the same connection CAPA lists USER and SASL '
      'PLAIN and USER/PASS logs in with a grant (tls=yes), as AUTH PLAIN '
      'does; 127.0.0.1 still logs in in plaintext; ::1 is refused; '
      'allow_plaintext_auth = yes overrides; an empty list refuses '
      '127.0.0.1 too')
def case_plaintext_auth_networks(env):
    env.add_user('joe', 'net-pw-4')
    env.deliver('joe', MESSAGES['plain'])
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s6.bind(('::1', 0))
    port6 = s6.getsockname()[1]
    s6.close()
    port4 = free_port()
    s = env.start(tls=True, listen='127.0.0.1:%d, [::1]:%d' % (port4, port6),
                  extra=['plaintext_auth_networks = 127.0.0.1/32',
                         'pop3_max_bad_commands = 3'])
    s.address = ('127.0.0.1', port4)
    blob = base64.b64encode(b'\0joe\0net-pw-4').decode()

    # 127.0.0.2, not in the list: every plaintext way in is refused.
    p = env.pop(s, source='127.0.0.2')
    capa = p.capa()
    check('STLS' in capa, 'CAPA without TLS from 127.0.0.2 lists STLS: %r'
          % capa)
    check('USER' not in capa and 'PLAIN' not in capa.get('SASL', []),
          'CAPA without TLS from 127.0.0.2 hides USER and SASL PLAIN: %r'
          % capa)
    for cap in ('TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING',
                'IMPLEMENTATION'):
        check(cap in capa, 'CAPA still lists %s: %r' % (cap, capa))
    got = p._longcmd('AUTH')
    check(got[0].startswith(b'+OK') and got[1] == [],
          'AUTH alone lists no mechanism without TLS: %r' % (got,))
    # More refusals than pop3_max_bad_commands: none of them counts.
    for i, line in enumerate(('PASS net-pw-4', 'USER joe', 'PASS net-pw-4',
                              'AUTH PLAIN ' + blob, 'AUTH PLAIN',
                              'auth plain =', 'USER joe')):
        got = shortcmd(p, line)
        check(got == PLAINTEXT_REFUSED, 'command %d (%s) without TLS from '
              '127.0.0.2: %r, got %r' % (i + 1, line.split()[0],
                                         PLAINTEXT_REFUSED, got))
    check(not env.granted('127.0.0.2'), 'no grant for 127.0.0.2 after the '
          'refused plaintext logins')
    # STLS in the same connection: the plaintext ways open up.
    expect_ok(p.stls(context=client_context()), 'STLS after the refusals')
    capa = p.capa()
    check('USER' in capa and 'PLAIN' in capa.get('SASL', [])
          and 'STLS' not in capa,
          'CAPA after STLS lists USER and SASL PLAIN, not STLS: %r' % capa)
    got = p._longcmd('AUTH')
    check(got[1] == [b'PLAIN'], 'AUTH alone lists PLAIN after STLS: %r'
          % (got,))
    check(p.user('joe').startswith(b'+OK'), 'USER after STLS: +OK')
    got = p.pass_('net-pw-4')
    check(got == b'+OK Logged in.', 'PASS after STLS from 127.0.0.2: '
          '"+OK Logged in.", got %r' % got)
    check(env.granted('127.0.0.2'), 'the login over STLS recorded a grant '
          'for 127.0.0.2')
    _, lines, _ = p.retr(1)
    check(lines == poplib_lines(MESSAGES['plain']), 'RETR after STLS login')
    p.quit()
    m = s.wait_log(r'event=login address=127\.0\.0\.2 .*$')
    check(m is not None and 'tls=yes' in m.group(0).split()
          and 'method=USER' in m.group(0).split(),
          'login line for 127.0.0.2 says method=USER tls=yes: %r'
          % (m and m.group(0)))

    # A refused client that gives up: logged with plaintext_refused.
    c = env.raw(s, source='127.0.0.3')
    check(c.cmd('USER joe') == PLAINTEXT_REFUSED, 'USER from 127.0.0.3')
    check(c.cmd('AUTH PLAIN ' + blob) == PLAINTEXT_REFUSED,
          'AUTH PLAIN from 127.0.0.3')
    expect_ok(c.cmd('QUIT'), 'QUIT after refusals')
    m = s.wait_log(r'event=disconnect address=127\.0\.0\.3 .*$')
    check(m is not None and 'reason=quit' in m.group(0).split()
          and 'auth_attempts=0' in m.group(0).split()
          and 'plaintext_refused=2' in m.group(0).split(),
          'disconnect line for 127.0.0.3: reason=quit auth_attempts=0 '
          'plaintext_refused=2: %r' % (m and m.group(0)))
    check(not env.granted('127.0.0.3'), 'no grant for 127.0.0.3')
    check(re.search(r'event=login(-failed)? address=127\.0\.0\.3', s.log())
          is None, 'no login or login-failed line for 127.0.0.3: %r' % s.log())

    # AUTH PLAIN after STLS, from another address outside the list.
    p = env.pop(s, source='127.0.0.4')
    expect_ok(p.stls(context=client_context()), 'STLS from 127.0.0.4')
    got = shortcmd(p, 'AUTH PLAIN ' + blob)
    check(got == b'+OK Logged in.', 'AUTH PLAIN after STLS: %r' % got)
    check(env.granted('127.0.0.4'), 'AUTH PLAIN over STLS granted 127.0.0.4')
    p.quit()

    # APOP sends no password: allowed from anywhere.
    p = env.pop(s, source='127.0.0.5')
    got = p.apop('joe', 'net-pw-4')
    check(got == b'+OK Logged in.', 'APOP from 127.0.0.5 without TLS: %r'
          % got)
    check(env.granted('127.0.0.5'), 'APOP granted 127.0.0.5')
    p.quit()

    # 127.0.0.1 is in the list: plaintext as before.
    p = env.pop(s, source='127.0.0.1')
    capa = p.capa()
    check('USER' in capa and 'PLAIN' in capa.get('SASL', []),
          'CAPA from 127.0.0.1 lists USER and SASL PLAIN: %r' % capa)
    p.user('joe')
    got = p.pass_('net-pw-4')
    check(got == b'+OK Logged in.', 'plaintext login from 127.0.0.1: %r'
          % got)
    check(env.granted('127.0.0.1'), 'grant for 127.0.0.1')
    p.quit()

    # ::1 is loopback but not in the list.
    p = poplib.POP3('::1', port6, timeout=IO_TIMEOUT)
    env.clients.append(p)
    capa = p.capa()
    check('USER' not in capa and 'STLS' in capa,
          'CAPA from ::1 hides USER, offers STLS: %r' % capa)
    check(shortcmd(p, 'USER joe') == PLAINTEXT_REFUSED, 'USER from ::1')
    p.quit()
    check(not env.granted('::1'), 'no grant for ::1')
    log_has_no_secret(s, ['net-pw-4', blob])
    s.stop()

    # allow_plaintext_auth = yes: any address, without TLS.
    s = env.start(tls=True, extra=['plaintext_auth_networks = 127.0.0.1/32',
                                   'allow_plaintext_auth = yes'])
    p = env.pop(s, source='127.0.0.6')
    capa = p.capa()
    check('USER' in capa and 'PLAIN' in capa.get('SASL', []),
          'allow_plaintext_auth = yes: CAPA from 127.0.0.6 lists USER and '
          'SASL PLAIN: %r' % capa)
    p.user('joe')
    got = p.pass_('net-pw-4')
    check(got == b'+OK Logged in.', 'allow_plaintext_auth = yes: plaintext '
          'login from 127.0.0.6: %r' % got)
    check(env.granted('127.0.0.6'), 'grant for 127.0.0.6')
    p.quit()
    s.stop()

    # An empty list: no address is trusted, loopback included.
    s = env.start(extra=['plaintext_auth_networks ='])
    c = env.raw(s, source='127.0.0.1')
    expect_ok(c.cmd('CAPA'), 'CAPA')
    capa = c.multi()
    check(b'USER' not in capa and b'STLS' not in capa
          and not any(l.startswith(b'SASL') for l in capa),
          'empty list, no TLS: CAPA offers no USER, SASL or STLS: %r' % capa)
    check(c.cmd('USER joe') == PLAINTEXT_REFUSED, 'USER from 127.0.0.1 with '
          'an empty plaintext_auth_networks')
    c.cmd('QUIT')


@case('tls/pop3s',
      'POP3_SSL to pop3s_listen: greeting, CAPA without STLS, USER/PASS, RETR '
      'bytes equal, grant recorded; STLS there is -ERR; a plain-text client '
      'on the pop3s port does not crash the server')
def case_pop3s(env):
    env.add_user('joe', 'tls-pw')
    env.deliver('joe', MESSAGES['dots'])
    s = env.start(pop3s=True)
    p = env.pops(s, source='127.0.0.3')
    check(p.getwelcome().startswith(b'+OK'), 'pop3s greeting')
    capa = p.capa()
    check('STLS' not in capa and 'USER' in capa, 'CAPA on pop3s: no STLS, '
          'USER: %r' % capa)
    try:
        got = p._shortcmd('STLS')
    except poplib.error_proto as e:
        got = e.args[0]
    expect_err(got, 'STLS on pop3s')
    p.user('joe')
    check(p.pass_('tls-pw') == b'+OK Logged in.', 'login over pop3s')
    _, lines, _ = p.retr(1)
    check(lines == poplib_lines(MESSAGES['dots']), 'RETR over pop3s: %r' % lines)
    p.quit()
    check(env.granted('127.0.0.3'), 'pop3s login granted 127.0.0.3')
    # Plain text to the TLS port: the server ends that connection, serves on.
    c = socket.create_connection(s.tls_address, IO_TIMEOUT,
                                 source_address=('127.0.0.2', 0))
    c.sendall(b'USER joe\r\n' * 50)
    try:
        c.recv(1000)
    except OSError:
        pass
    c.close()
    p = env.pops(s)
    check(p.getwelcome().startswith(b'+OK'), 'still serving after garbage')
    p.quit()
    check(s.running(), 'server still running')


@case('mailbox/retrieve-bytes',
      'STAT, LIST, UIDL, TOP and RETR of LF-only, CRLF, dot-line, '
      'no-final-newline, empty and 8-bit messages: sizes are the CRLF form, '
      'poplib gets the file bytes, the raw wire is dot-stuffed and ends '
      'with CRLF.CRLF; LIST n/UIDL n agree with the lists; bad numbers -ERR')
def case_retrieve(env):
    env.add_user('joe', 'pw')
    fill_mailbox(env, 'joe')
    s = env.start()
    p = env.pop(s)
    p.user('joe')
    p.pass_('pw')
    count, total = p.stat()
    check(count == len(MESSAGES), 'STAT count %d, expected %d' % (count, len(MESSAGES)))
    want_total = sum(len(crlf_form(m)) for m in MESSAGES.values())
    check(total == want_total, 'STAT octets %d = sum of CRLF forms %d'
          % (total, want_total))
    got = retrieve_all(p)
    by_lines = {}
    for name, data in MESSAGES.items():
        by_lines[name] = poplib_lines(data)
    seen = set()
    for num, size, lines in got:
        match = [n for n, l in by_lines.items() if l == lines and n not in seen]
        check(match, 'RETR %d returned one of the files: %r' % (num, lines[:5]))
        name = match[0]
        # 'nofinal' and a message with the same lines are told apart by size.
        for n in match:
            if len(crlf_form(MESSAGES[n])) == size:
                name = n
        seen.add(name)
        check(size == len(crlf_form(MESSAGES[name])), 'LIST size of %s: %d = '
              'CRLF form %d' % (name, size, len(crlf_form(MESSAGES[name]))))
    check(len(seen) == len(MESSAGES), 'every message retrieved once: %s' % seen)
    uidls = p.uidl()[1]
    check(len(uidls) == count, 'UIDL lists every message: %r' % uidls)
    uids = [u.split()[1] for u in uidls]
    check(len(set(uids)) == count, 'UIDs unique: %r' % uids)
    for u in uids:
        check(re.match(rb'^[\x21-\x7e]{1,70}$', u) is not None,
              'UID is 1-70 printable characters (RFC 1939): %r' % u)
    for num in range(1, count + 1):
        one = p.uidl(num)
        check(one == b'+OK %d %s' % (num, uids[num - 1]), 'UIDL %d: %r' % (num, one))
        one = p.list(num)
        check(one == b'+OK %d %d' % (num, got[num - 1][1]), 'LIST %d: %r' % (num, one))
    p.quit()
    # The raw wire: exact bytes, dot-stuffed, TOP.
    c = env.raw(s)
    c.login('joe', 'pw')
    for num, size, lines in got:
        name = [n for n in MESSAGES if poplib_lines(MESSAGES[n]) == lines
                and len(crlf_form(MESSAGES[n])) == size][0]
        data = MESSAGES[name]
        head = c.cmd('RETR %d' % num)
        expect_ok(head, 'RETR %d' % num)
        m = re.match(rb'^\+OK (\d+) octets', head)
        if m:
            check(int(m.group(1)) == size, 'RETR %d announces %d octets, LIST '
                  'said %d' % (num, int(m.group(1)), size))
        raw = c.multi_raw()
        check(raw == wire_form(data), 'RETR %d (%s) wire bytes: expected %r, '
              'got %r' % (num, name, wire_form(data)[:200], raw[:200]))
        for n in (0, 2, 100):
            expect_ok(c.cmd('TOP %d %d' % (num, n)), 'TOP %d %d' % (num, n))
            lines = c.multi()
            check(lines == top_lines(data, n), 'TOP %d %d of %s: expected %r, '
                  'got %r' % (num, n, name, top_lines(data, n), lines))
    for bad in ('RETR 0', 'RETR %d' % (count + 1), 'RETR -1', 'RETR 1x',
                'RETR', 'TOP 1', 'TOP 1 -1', 'LIST 99', 'UIDL 0',
                'RETR 99999999999999999999999'):
        expect_err(c.cmd(bad), bad)
    expect_ok(c.cmd('NOOP'), 'NOOP')
    expect_ok(c.cmd('QUIT'), 'QUIT')
    check(len(env.files('joe')) == len(MESSAGES), 'nothing deleted')


@case('mailbox/dele-quit',
      'DELE n marks a message (RETR/LIST/TOP of it -ERR, STAT and LIST leave '
      'it out, a second DELE -ERR); QUIT answers "+OK Logging out, N messages '
      'deleted." and unlinks exactly those files; the rest stay')
def case_dele_quit(env):
    env.add_user('joe', 'pw')
    fill_mailbox(env, 'joe')
    before = env.files('joe')
    s = env.start()
    c = env.raw(s)
    c.login('joe', 'pw')
    expect_ok(c.cmd('UIDL'), 'UIDL')
    uids = dict(l.split() for l in c.multi())
    count = len(uids)
    size2 = int(c.cmd('LIST 2').split()[2])
    expect_ok(c.cmd('RETR 2'), 'RETR 2')
    deleted_body = c.multi()
    expect_ok(c.cmd('DELE 2'), 'DELE 2')
    expect_ok(c.cmd('DELE 4'), 'DELE 4')
    expect_err(c.cmd('DELE 2'), 'second DELE 2')
    expect_err(c.cmd('RETR 2'), 'RETR of a deleted message')
    expect_err(c.cmd('TOP 4 0'), 'TOP of a deleted message')
    expect_err(c.cmd('LIST 2'), 'LIST of a deleted message')
    expect_err(c.cmd('UIDL 4'), 'UIDL of a deleted message')
    stat = c.cmd('STAT').split()
    check(int(stat[1]) == count - 2, 'STAT counts %d after 2 DELE: %r'
          % (count - 2, stat))
    expect_ok(c.cmd('LIST'), 'LIST')
    listed = [int(l.split()[0]) for l in c.multi()]
    check(2 not in listed and 4 not in listed and len(listed) == count - 2,
          'LIST leaves out 2 and 4: %r' % listed)
    got = c.cmd('QUIT')
    check(got == b'+OK Logging out, 2 messages deleted.', 'QUIT: "+OK Logging '
          'out, 2 messages deleted.", got %r' % got)
    closed, _ = c.wait_closed(5)
    check(closed, 'closed after QUIT')
    after = env.files('joe')
    check(len(after) == len(before) - 2, '2 files unlinked: before %d, after %d'
          % (len(before), len(after)))
    gone = [k for k in before if k not in after]
    check(any(poplib_lines(before[k]) == deleted_body for k in gone),
          'the file of message 2 is gone')
    for k in after:
        check(after[k] == before[k], 'remaining file %s unchanged' % k)
    # A new session sees the rest with the same UIDs.
    c = env.raw(s)
    c.login('joe', 'pw')
    expect_ok(c.cmd('UIDL'), 'UIDL')
    left = [l.split()[1] for l in c.multi()]
    check(sorted(left) == sorted(v for k, v in uids.items()
                                 if k not in (b'2', b'4')),
          'the other messages keep their UIDs: %r vs %r' % (left, uids))
    c.cmd('QUIT')
    m = s.wait_log(r'event=logout .*reason=quit.*$')
    check(m is not None and 'deleted=2' in m.group(0).split(),
          'logout line deleted=2: %r' % (m and m.group(0)))
    check(size2 > 0, 'message 2 had a size')


@case('mailbox/dele-then-drop',
      'DELE then a dropped connection (close without QUIT), DELE then RSET '
      'and QUIT, and DELE then a reset (SO_LINGER 0) delete nothing; the '
      'logout line says reason=disconnect')
def case_dele_drop(env):
    env.add_user('joe', 'pw')
    fill_mailbox(env, 'joe')
    before = env.files('joe')
    s = env.start()
    c = env.raw(s)
    c.login('joe', 'pw')
    for n in (1, 2, 3):
        expect_ok(c.cmd('DELE %d' % n), 'DELE %d' % n)
    c.close()
    check(s.wait_log(r'event=logout .*reason=disconnect') is not None,
          'logout reason=disconnect logged: %r' % s.log())
    check(env.files('joe') == before, 'drop after DELE: nothing deleted')
    c = env.raw(s)
    c.login('joe', 'pw')
    expect_ok(c.cmd('DELE 1'), 'DELE 1')
    expect_ok(c.cmd('DELE 5'), 'DELE 5')
    got = c.cmd('RSET')
    expect_ok(got, 'RSET')
    stat = c.cmd('STAT').split()
    check(int(stat[1]) == len(MESSAGES), 'STAT after RSET counts all: %r' % stat)
    expect_ok(c.cmd('RETR 1'), 'RETR 1 after RSET')
    c.multi()
    got = c.cmd('QUIT')
    check(got == b'+OK Logging out, 0 messages deleted.', 'QUIT after RSET: '
          '0 deleted, got %r' % got)
    check(env.files('joe') == before, 'RSET then QUIT: nothing deleted')
    c = env.raw(s)
    c.login('joe', 'pw')
    expect_ok(c.cmd('DELE 2'), 'DELE 2')
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      b'\x01\x00\x00\x00\x00\x00\x00\x00')
    c.close()
    time.sleep(0.5)
    c = env.raw(s)
    c.login('joe', 'pw')    # the lock is free again after the reset
    c.cmd('QUIT')
    check(env.files('joe') == before, 'reset after DELE: nothing deleted')


@case('mailbox/maildirsize',
      'beside a Maildir++ maildirsize, DELE of two messages (one named '
      'with ,S=, one without) then QUIT appends exactly one line "-<bytes> '
      '-2" (the ,S= of one, the size on disk of the other) and leaves the '
      'rest of the file as it was; DELE then RSET and QUIT, and DELE then a '
      'dropped connection, leave it untouched; a Maildir without one gets '
      'none; one that cannot be appended to (a directory) costs the client '
      'nothing (+OK, the messages deleted) and is logged once, naming the '
      'user and the path')
def case_maildirsize(env):
    bodies = [b'Subject: one\n\nfirst, named with S=\n',
              b'Subject: two\n\nsecond, no S= in the name\n' * 3,
              b'Subject: three\n\nthird\n',
              b'Subject: four\n\nfourth\n']

    def fill(user, with_quota):
        env.add_user(user, 'pw')
        for i, data in enumerate(bodies):
            name = '%d.M%dP1.relaygate-test' % (1700000101 + i, i)
            if i % 2 == 0:
                name += ',S=%d' % len(data)
            env.deliver(user, data, name=name)
        path = os.path.join(env.maildir(user), 'maildirsize')
        if with_quota:
            text = b'1000000S,1000C\n%d %d\n' % (
                sum(len(b) for b in bodies), len(bodies))
            with open(path, 'wb') as f:
                f.write(text)
            os.chown(path, MAIL_UID, MAIL_GID)
            os.chmod(path, 0o600)
        return path

    quota = fill('joe', True)
    with open(quota, 'rb') as f:
        before = f.read()
    no_quota = fill('ann', False)
    s = env.start()
    # RSET, then a dropped connection: nothing deleted, nothing appended
    c = env.raw(s)
    c.login('joe', 'pw')
    expect_ok(c.cmd('DELE 1'), 'DELE 1')
    expect_ok(c.cmd('RSET'), 'RSET')
    check(c.cmd('QUIT') == b'+OK Logging out, 0 messages deleted.',
          'QUIT after RSET: 0 deleted')
    c = env.raw(s)
    c.login('joe', 'pw')
    expect_ok(c.cmd('DELE 2'), 'DELE 2')
    c.close()
    check(s.wait_log(r'event=logout .*user=joe .*reason=disconnect')
          is not None, 'the dropped session logged out: %r' % s.log())
    with open(quota, 'rb') as f:
        check(f.read() == before, 'RSET and a dropped connection leave '
              'maildirsize untouched')
    # DELE 1 (,S=) and 2 (size on disk) through poplib
    p = env.pop(s)
    p.user('joe')
    p.pass_('pw')
    expect_ok(p.dele(1), 'DELE 1')
    expect_ok(p.dele(2), 'DELE 2')
    got = p.quit()
    check(got == b'+OK Logging out, 2 messages deleted.', 'QUIT: 2 deleted, '
          'got %r' % got)
    with open(quota, 'rb') as f:
        after = f.read()
    want = b'-%d -2\n' % (len(bodies[0]) + len(bodies[1]))
    check(after == before + want, 'maildirsize gained exactly %r: %r'
          % (want, after))
    check(len(env.files('joe')) == 2, 'two messages left')
    # no maildirsize: none made
    p = env.pop(s)
    p.user('ann')
    p.pass_('pw')
    expect_ok(p.dele(1), 'DELE 1')
    check(p.quit() == b'+OK Logging out, 1 messages deleted.', 'QUIT')
    check(not os.path.exists(no_quota), 'no maildirsize was created')
    # one that cannot be appended to: a warning, the deletion stands
    bad = fill('bob', False)
    os.mkdir(bad)
    os.chown(bad, MAIL_UID, MAIL_GID)
    p = env.pop(s)
    p.user('bob')
    p.pass_('pw')
    expect_ok(p.dele(1), 'DELE 1')
    expect_ok(p.dele(3), 'DELE 3')
    check(p.quit() == b'+OK Logging out, 2 messages deleted.',
          'QUIT beside a broken maildirsize: +OK, 2 deleted')
    check(len(env.files('bob')) == 2, 'the two messages were deleted')
    check(s.wait_log(r'event=logout .*user=bob ') is not None,
          'bob logged out: %r' % s.log())
    warnings = [l for l in s.log().splitlines() if 'maildirsize' in l]
    check(len(warnings) == 1 and 'user=bob' in warnings[0]
          and bad in warnings[0], 'one warning with user=bob and %s: %r'
          % (bad, warnings))


@case('mailbox/in-use',
      'a second concurrent session for the same mailbox gets "-ERR [IN-USE] '
      '..." with no grant and changes nothing; after the first QUITs the mailbox can be '
      'opened again, also at once, 20 times in a row (the lock is released '
      'before QUIT\'s +OK); another user is not affected')
def case_in_use(env):
    env.add_user('joe', 'pw')
    env.add_user('amy', 'pw2', uid=5001)
    fill_mailbox(env, 'joe')
    env.deliver('amy', MESSAGES['plain'])
    s = env.start()
    first = env.raw(s)
    first.login('joe', 'pw')
    expect_ok(first.cmd('DELE 1'), 'DELE 1 in the first session')
    second = env.raw(s, source='127.0.0.3')
    second.cmd('USER joe')
    got = second.cmd('PASS pw')
    check(got.startswith(b'-ERR [IN-USE]'), 'second session: -ERR [IN-USE], '
          'got %r' % got)
    check(not env.granted('127.0.0.3'), 'the refused session (mailbox '
          'locked, no +OK) records no grant for 127.0.0.3')
    amy = env.raw(s, source='127.0.0.3')
    amy.login('amy', 'pw2')
    expect_ok(amy.cmd('STAT'), 'another user works meanwhile')
    amy.cmd('QUIT')
    check(len(env.files('joe')) == len(MESSAGES), 'nothing deleted by the '
          'refused session')
    expect_ok(first.cmd('STAT'), 'first session still works')
    first.cmd('QUIT')
    first.wait_closed(5)
    again = env.raw(s, source='127.0.0.3')
    again.login('joe', 'pw')
    stat = again.cmd('STAT').split()
    check(int(stat[1]) == len(MESSAGES) - 1, 'after the first QUIT: reopened, '
          'the DELE of the first session applied: %r' % stat)
    again.cmd('QUIT')
    # The lock is released before QUIT's +OK: a client that logs in again
    # at once (as fetchmail in a loop does) never sees [IN-USE].
    for i in range(20):
        c = env.raw(s, source='127.0.0.%d' % (2 + i % 2))
        c.send('USER joe\r\nPASS pw\r\nSTAT\r\nQUIT\r\n')
        got = [c.line() for _ in range(4)]
        check(got[1] == b'+OK Logged in.' and got[3].startswith(b'+OK'),
              'login %d right after the previous QUIT\'s +OK: %r' % (i, got))
        c.close()


@case('mailbox/uidl-stable',
      'UIDL is the same in two sessions, unchanged after another program '
      'moves a file from new/ to cur/ adding ":2,S" (between sessions and '
      'during one); RETR and DELE+QUIT of a message renamed during the '
      'session still work; a new message gets a new UID')
def case_uidl(env):
    env.add_user('joe', 'pw')
    paths = [env.deliver('joe', MESSAGES[n]) for n in ('plain', 'dots', 'crlf')]

    def uidl_map(c):
        expect_ok(c.cmd('UIDL'), 'UIDL')
        ids = {}
        for l in c.multi():
            num, uid = l.split()
            ids[uid] = int(num)
        return ids

    s = env.start()
    c = env.raw(s)
    c.login('joe', 'pw')
    first = uidl_map(c)
    c.cmd('QUIT')
    c = env.raw(s)
    c.login('joe', 'pw')
    check(uidl_map(c) == first, 'UIDL equal in two sessions')
    c.cmd('QUIT')
    # An MDA / IMAP server marks message 'plain' as seen.
    name = os.path.basename(paths[0])
    seen = os.path.join(env.maildir('joe'), 'cur', name + ':2,S')
    os.rename(env.find('joe', name), seen)
    c = env.raw(s)
    c.login('joe', 'pw')
    after = uidl_map(c)
    check(sorted(after) == sorted(first), 'UIDs unchanged after new/X -> '
          'cur/X:2,S: before %r, after %r' % (sorted(first), sorted(after)))
    # Renamed while the session holds its snapshot.
    name = os.path.basename(paths[1])
    os.rename(env.find('joe', name),
              os.path.join(env.maildir('joe'), 'cur', name + ':2,RS'))
    os.rename(seen, seen[:-len(':2,S')] + ':2,ST')
    check(uidl_map(c) == after, 'UIDL unchanged within the session')
    for num in range(1, 4):
        expect_ok(c.cmd('RETR %d' % num), 'RETR %d of a file renamed during '
                  'the session' % num)
        c.multi()
    expect_ok(c.cmd('DELE %d' % after[list(after)[0]]), 'DELE')
    got = c.cmd('QUIT')
    check(got == b'+OK Logging out, 1 messages deleted.', 'QUIT deletes the '
          'renamed file: %r' % got)
    check(len(env.files('joe')) == 2, 'one file gone: %r' % env.files('joe'))
    env.deliver('joe', MESSAGES['eightbit'])
    c = env.raw(s)
    c.login('joe', 'pw')
    last = uidl_map(c)
    kept = {u for u in after if u != list(after)[0]}
    check(kept <= set(last) and len(last) == 3, 'old UIDs kept, one new: %r'
          % last)
    c.cmd('QUIT')


@case('mailbox/dovecot-names-and-size-cache',
      'messages named as Dovecot names them (",S=size,W=crlf-size:2,S") list '
      'the right sizes; a name whose S= does not match the file is not '
      'trusted (LIST and RETR agree with the bytes); sizes stay right in a '
      'second session (size cache) and after a file is replaced by another '
      'of a different size under the same base name')
def case_dovecot_names(env):
    env.add_user('joe', 'pw')
    md = env.maildir('joe')
    want = {}
    for i, name in enumerate(('plain', 'dots', 'eightbit')):
        data = MESSAGES[name]
        base = '17000000%02d.M%dP1.dovecot' % (i, i)
        full = '%s,S=%d,W=%d:2,S' % (base, len(data), len(crlf_form(data)))
        env.deliver('joe', data, name=full, sub='cur')
        want[base] = data
    # S= says 5 but the file is longer: the name must not be trusted.
    data = MESSAGES['toplines']
    env.deliver('joe', data, name='1700000099.M9P1.liar,S=5,W=6:2,', sub='cur')
    want['1700000099.M9P1.liar'] = data
    s = env.start()

    def session():
        c = env.raw(s)
        c.login('joe', 'pw')
        expect_ok(c.cmd('LIST'), 'LIST')
        sizes = dict(l.split() for l in c.multi())
        got = []
        for num, size in sizes.items():
            head = c.cmd('RETR %s' % num.decode())
            expect_ok(head, 'RETR %s' % num)
            raw = c.multi_raw()
            match = [d for d in want.values() if wire_form(d) == raw]
            check(match, 'RETR %s returns one of the files: %r' % (num, raw[:80]))
            liar = match[0] == want['1700000099.M9P1.liar']
            check(int(size) == len(crlf_form(match[0])), 'LIST %s says %s, '
                  'the CRLF form has %d octets' % (num, size,
                                                   len(crlf_form(match[0]))),
                  )
            m = re.match(rb'^\+OK (\d+) octets', head)
            check(m is None or int(m.group(1)) == len(crlf_form(match[0])),
                  'RETR %s announces %r, the CRLF form has %d octets'
                  % (num, head, len(crlf_form(match[0]))),
                  )
            got.append(raw)
        c.cmd('QUIT')
        c.wait_closed(5)
        return got
    first = session()
    check(len(first) == 4, 'four messages listed')
    second = session()
    check(sorted(first) == sorted(second), 'second session (size cache): same')
    # Another program replaces a file under the same base name (different
    # size, different flags): the cached size must not be used.
    old = [os.path.join(md, 'cur', n) for n in os.listdir(os.path.join(md, 'cur'))
           if n.startswith('1700000000.M0P1.dovecot')]
    check(len(old) == 1, 'the file of 1700000000.M0P1.dovecot: %r' % old)
    os.unlink(old[0])
    bigger = MESSAGES['plain'] + b'one more line\n' * 10
    env.deliver('joe', bigger, name='1700000000.M0P1.dovecot:2,RS', sub='cur')
    want['1700000000.M0P1.dovecot'] = bigger
    third = session()
    check(wire_form(bigger) in third, 'the replaced file is served with its '
          'new bytes and size')


@case('protocol/capa',
      'CAPA without TLS configured: TOP, UIDL, RESP-CODES, AUTH-RESP-CODE, '
      'PIPELINING, USER, SASL PLAIN, IMPLEMENTATION, no STLS (127.0.0.2 '
      'is in the default plaintext_auth_networks); with TLS configured STLS too; STLS without TLS '
      'configured is -ERR; CAPA works after login')
def case_capa(env):
    env.add_user('joe', 'pw')
    s = env.start()
    p = env.pop(s)
    capa = p.capa()
    for cap in ('TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING',
                'USER', 'SASL', 'IMPLEMENTATION'):
        check(cap in capa, 'CAPA lists %s: %r' % (cap, capa))
    check('PLAIN' in capa['SASL'], 'SASL PLAIN: %r' % capa)
    check('STLS' not in capa, 'no STLS without tls_cert/tls_key: %r' % capa)
    try:
        got = p._shortcmd('STLS')
    except poplib.error_proto as e:
        got = e.args[0]
    expect_err(got, 'STLS without TLS configured')
    p.user('joe')
    p.pass_('pw')
    capa = p.capa()
    check('TOP' in capa and 'UIDL' in capa and 'STLS' not in capa,
          'CAPA after login: %r' % capa)
    p.quit()
    s2 = env.start(tls=True)
    p = env.pop(s2)
    capa = p.capa()
    check('STLS' in capa and 'USER' in capa, 'with TLS: STLS and USER: %r' % capa)
    p.quit()


@case('protocol/wrong-state',
      'transaction commands before login, PASS without USER, and USER, PASS, '
      'APOP, AUTH and STLS after login are answered -ERR and the session '
      'goes on; no grant is recorded by them')
def case_wrong_state(env):
    env.add_user('joe', 'pw')
    env.deliver('joe', MESSAGES['plain'])
    s = env.start(tls=True, extra=['pop3_max_bad_commands = 50'])
    c = env.raw(s, source='127.0.0.3')
    for cmd in ('STAT', 'LIST', 'LIST 1', 'RETR 1', 'DELE 1', 'UIDL', 'TOP 1 1',
                'RSET', 'PASS pw'):
        expect_err(c.cmd(cmd), cmd + ' before login')
    check(not env.granted('127.0.0.3'), 'no grant before login')
    c.login('joe', 'pw')
    for cmd in ('USER joe', 'PASS pw', 'APOP joe 0123456789abcdef0123456789abcdef',
                'AUTH PLAIN', 'STLS'):
        expect_err(c.cmd(cmd), cmd + ' after login')
    expect_ok(c.cmd('STAT'), 'STAT after the wrong-state commands')
    c.cmd('QUIT')
    check(len(env.files('joe')) == 1, 'nothing deleted')


@case('protocol/arguments-and-malformed-sasl',
      'commands defined with "Arguments: none" (CAPA, QUIT, STLS before '
      'login; STAT, NOOP, RSET, QUIT, CAPA after) answer an argument with '
      '"-ERR Too many arguments." and do nothing (QUIT x does not end the '
      'session); PASS without a password is "-ERR Expected PASS password.", '
      'a bad command, not a failed login (no login-failed event, the next '
      'PASS works); an AUTH PLAIN continuation line with a NUL byte, even '
      'after a valid response, is refused (RFC 5034: cannot be decoded) '
      'with [AUTH] and logs nobody in, and "*" followed by a NUL is no '
      'cancel; no grant from any of them')
def case_arguments(env):
    env.add_user('joe', 'pw')
    env.deliver('joe', MESSAGES['plain'])
    s = env.start(tls=True, extra=['pop3_max_bad_commands = 50'])
    c = env.raw(s)
    for cmd in ('CAPA x', 'QUIT now', 'STLS please'):
        got = c.cmd(cmd)
        check(got == b'-ERR Too many arguments.', 'before login %r: -ERR Too '
              'many arguments., got %r' % (cmd, got))
    c.cmd('USER joe')
    got = c.cmd('PASS')
    check(got == b'-ERR Expected PASS password.', 'PASS without a password: '
          '%r' % got)
    good = base64.b64encode(b'\0joe\0pw')
    for line in (good + b'\0garbage', b'*\0x'):
        expect_ok_plus = c.cmd('AUTH PLAIN')
        check(expect_ok_plus == b'+ ', 'AUTH PLAIN continuation: %r'
              % expect_ok_plus)
        got = c.cmd(line)
        check(got.startswith(b'-ERR [AUTH] Invalid SASL PLAIN response'),
              'continuation %r: -ERR [AUTH] Invalid SASL PLAIN response, got '
              '%r' % (line, got))
    check(not env.granted('127.0.0.2'), 'no grant after the refusals')
    got = c.cmd('STAT')
    check(got == b'-ERR Not logged in.', 'still not logged in: %r' % got)
    check(s.wait_log(r'event=login-failed .*method=user', timeout=0.5)
          is None, 'PASS without a password is no login attempt: %r'
          % s.log())
    check(len(re.findall(r'event=login-failed address=127\.0\.0\.2 user="" '
                         r'method=PLAIN reason=malformed', s.log())) == 2,
          'each refused SASL response logged as a malformed login: %r'
          % s.log())
    c.login('joe', 'pw')
    for cmd in ('STAT 1', 'NOOP x', 'RSET 1', 'QUIT now', 'CAPA x'):
        got = c.cmd(cmd)
        check(got == b'-ERR Too many arguments.', 'after login %r: -ERR Too '
              'many arguments., got %r' % (cmd, got))
    expect_ok(c.cmd('DELE 1'), 'DELE 1')
    got = c.cmd('RSET x')
    check(got == b'-ERR Too many arguments.', 'RSET x: %r' % got)
    got = c.cmd('QUIT')
    check(got == b'+OK Logging out, 1 messages deleted.', 'QUIT: the DELE '
          'survived "RSET x": %r' % got)


@case('protocol/unknown-and-bad-limit',
      'unknown commands and an empty line are -ERR and the session goes on; '
      'commands are case-insensitive; with pop3_max_bad_commands = 3 the '
      'third bad command gets -ERR and the connection is closed, before '
      'login and after it (an unparsable command too, in a pipelined burst: '
      'nothing after it is served); others unharmed')
def case_bad_limit(env):
    env.add_user('joe', 'pw')
    env.deliver('joe', MESSAGES['plain'])
    s = env.start(extra=['pop3_max_bad_commands = 3'])
    c = env.raw(s)
    expect_err(c.cmd('FROB'), 'unknown command')
    expect_err(c.cmd(''), 'empty line')
    expect_ok(c.cmd('capa'), 'lower-case capa')
    c.multi()
    # The third bad command: -ERR and close (or closed without more).
    send_ignoring_reset(c, b'XYZZY\r\n')
    closed, data = c.wait_closed(5)
    check(closed and data == b'-ERR Unknown command. Too many bad '
          b'commands.\r\n', 'closed after 3 bad commands with one -ERR '
          'reply that says so; got closed=%s %r' % (closed, data))
    c = env.raw(s)
    c.login('joe', 'pw')
    expect_ok(c.cmd('stat'), 'lower-case stat')
    for i in range(2):
        expect_err(c.cmd('BOGUS%d' % i), 'bad command %d after login' % i)
    expect_ok(c.cmd('NOOP'), 'still served after 2 bad commands')
    send_ignoring_reset(c, b'BOGUS3\r\nNOOP\r\n')
    closed, data = c.wait_closed(5)
    check(closed and data == b'-ERR Unknown command. Too many bad '
          b'commands.\r\n', 'after the 3rd bad command: one -ERR reply '
          'that says so and closed, NOOP not served; got closed=%s %r'
          % (closed, data))
    check(s.wait_log(r'event=logout .*reason=bad-commands') is not None,
          'logout reason=bad-commands: %r' % s.log())
    check(len(env.files('joe')) == 1, 'nothing deleted')
    c = env.raw(s)
    c.login('joe', 'pw')
    c.cmd('QUIT')


@case('protocol/long-line',
      'a 1024-octet command line is answered and the session goes on; 1025 '
      'octets and a 1 MB line get "-ERR Line too long." and a close (before '
      'and after login); nothing deleted; the server keeps serving')
def case_long_line(env):
    env.add_user('joe', 'pw')
    env.deliver('joe', MESSAGES['plain'])
    s = env.start()
    c = env.raw(s)
    line = 'USER ' + 'a' * (1024 - 5)
    got = c.cmd(line)
    check(got.startswith(b'+OK') or got.startswith(b'-ERR'),
          '1024 octets: an answer %r' % got[:80])
    check(got != b'-ERR Line too long.', '1024 octets is not too long')
    expect_ok(c.cmd('CAPA'), 'session goes on after 1024 octets')
    c.multi()
    send_ignoring_reset(c, 'NOOP ' + 'b' * (1025 - 5) + '\r\n')
    closed, data = c.wait_closed(5)
    check(closed and data == b'-ERR Line too long.\r\n',
          '1025 octets: "-ERR Line too long." then close; got closed=%s %r'
          % (closed, data[:100]))
    c = env.raw(s)
    send_ignoring_reset(c, b'X' * (1 << 20))
    closed, data = c.wait_closed(5)
    check(closed and data.startswith(b'-ERR Line too long.'),
          '1 MB without CRLF: -ERR and close; got %s %r' % (closed, data[:100]))
    c = env.raw(s)
    c.login('joe', 'pw')
    expect_ok(c.cmd('DELE 1'), 'DELE 1')
    send_ignoring_reset(c, 'LIST ' + '1' * 2000 + '\r\n')
    closed, data = c.wait_closed(5)
    check(closed and data.startswith(b'-ERR Line too long.'),
          'long line after login: -ERR and close; got %s %r' % (closed, data[:100]))
    time.sleep(0.3)
    check(len(env.files('joe')) == 1, 'DELE then long line: nothing deleted')
    c = env.raw(s)
    c.login('joe', 'pw')
    c.cmd('QUIT')
    check(s.running(), 'server still running')


@case('protocol/nul-and-8bit',
      'NUL bytes in a command are -ERR, 8-bit bytes in commands and user '
      'names are answered without a crash, a bare LF ends a command too (or '
      'is refused cleanly); the log holds no raw NUL, control or 8-bit bytes '
      'from the client; the server serves others after')
def case_nul(env):
    env.add_user('joe', 'pw')
    env.deliver('joe', MESSAGES['plain'])
    s = env.start(extra=['pop3_max_bad_commands = 50'])
    c = env.raw(s)
    expect_err(c.cmd(b'NO\0OP'), 'NUL inside a command')
    expect_err(c.cmd(b'USER jo\0e'), 'NUL in a user name')
    got = c.cmd(b'USER j\xf6e\x1b[31m')
    check(got.startswith(b'+OK') or got.startswith(b'-ERR'), '8-bit user: %r' % got)
    expect_err(c.cmd(b'PASS p\xe9\xff'), 'PASS after an 8-bit user')
    expect_err(c.cmd(b'\xff\xfe\xfd'), '8-bit command')
    c.close()
    c = env.raw(s)
    c.cmd('USER joe')
    expect_err(c.cmd(b'PASS p\0w'), 'NUL in the password')
    c.close()
    c = env.raw(s)
    c.login('joe', 'pw')
    expect_err(c.cmd(b'RETR \xb9'), 'RETR with an 8-bit number')
    expect_err(c.cmd(b'RETR 1\0'), 'RETR with NUL')
    expect_ok(c.cmd('STAT'), 'still served')
    c.cmd('QUIT')
    time.sleep(0.3)
    log = s.log_bytes()
    bad = sorted(set(b for b in log if b >= 0x80 or (b < 0x20 and b != 0x0a)))
    check(not bad, 'log free of raw control / 8-bit bytes, found %r in:\n%s'
          % (bad, s.log()))
    check(s.running(), 'server still running')


@case('protocol/rfc-edge-cases',
      'RFC 2595: "STLS\\r\\nCAPA\\r\\n" in one write gets +OK, the plaintext '
      'sent after STLS is discarded (the TLS handshake succeeds, no CAPA '
      'answer comes over TLS, the log says event=stls-input-discarded) and '
      'a USER given before STLS is forgotten; RFC 2449 section 5: CAPA '
      'after login still lists USER and SASL PLAIN where they were offered '
      'before it (over TLS, from plaintext_auth_networks), not after an '
      'APOP login on an untrusted plaintext connection; RFC 1939: TOP with '
      'a 20-digit line count sends the whole message, a 20-digit message '
      'number is "no such message"; RFC 5034 section 4: AUTH PLAIN with '
      'initial responses of 408 and 1344 octets logs in, a 4097-octet AUTH '
      'line is too long; RFC 3206: a user name with a TAB (USER), a space '
      '(AUTH PLAIN) or a DEL (APOP) is "-ERR [AUTH] Authentication '
      'failed.", not [SYS/TEMP], records no grant and is not logged as a '
      'bad request from a login process')
def case_rfc_edge_cases(env):
    env.add_user('joe', 'pw')
    env.add_user('mid', 'm' * 300)
    env.add_user('long', 'l' * 1000)
    env.deliver('joe', MESSAGES['toplines'])
    s = env.start(tls=True, extra=['plaintext_auth_networks = 127.0.0.0/29'])

    # RFC 2595: a client may not pipeline past STLS; what it did is dropped.
    c = env.raw(s)
    expect_ok(c.cmd('USER joe'), 'USER before STLS')
    c.send(b'STLS\r\nCAPA\r\n')
    expect_ok(c.line(), 'STLS sent together with CAPA')
    try:
        c.sock = client_context().wrap_socket(c.sock,
                                              server_hostname='localhost')
    except (OSError, ssl.SSLError) as e:
        raise CheckFailed('TLS handshake after "STLS\\r\\nCAPA\\r\\n" in one '
                          'write: %r' % e)
    c.buf = b''
    got = c.cmd('PASS pw')
    check(got == b'-ERR No USER given.', 'the first answer over TLS is '
          'PASS\'s, the USER before STLS forgotten (no CAPA answer '
          'injected): %r' % got)
    expect_ok(c.cmd('CAPA'), 'CAPA over TLS')
    capa = c.multi()
    check(b'USER' in capa and b'STLS' not in capa, 'CAPA after STLS lists '
          'USER, not STLS: %r' % capa)
    c.login('joe', 'pw')
    expect_ok(c.cmd('CAPA'), 'CAPA after a login over STLS')
    capa = c.multi()
    check(b'USER' in capa and b'SASL PLAIN' in capa and b'TOP' in capa
          and b'STLS' not in capa, 'CAPA after a login over STLS lists USER '
          'and SASL PLAIN (announced in both states), not STLS: %r' % capa)
    expect_ok(c.cmd('TOP 1 ' + '9' * 20), 'TOP 1 with a 20-digit line count')
    got = c.multi()
    check(got == poplib_lines(MESSAGES['toplines']), 'TOP with a 20-digit '
          'line count sends the whole message: %r' % got)
    got = c.cmd('LIST ' + '9' * 20)
    check(got == b'-ERR No such message.', 'LIST with a 20-digit message '
          'number: %r' % got)
    expect_ok(c.cmd('QUIT'), 'QUIT over TLS')
    check(s.wait_log(r'event=stls-input-discarded address=127\.0\.0\.2 '
                     r'octets=6$') is not None,
          'the 6 octets after STLS logged as discarded: %r' % s.log())

    # APOP on a plaintext connection from outside plaintext_auth_networks:
    # USER and SASL PLAIN were not offered, so not after the login either.
    c = env.raw(s, source='127.0.0.9')
    ts = re.search(rb'<[^>]*>', c.greeting).group(0)
    got = c.cmd('APOP joe ' + hashlib.md5(ts + b'pw').hexdigest())
    check(got == b'+OK Logged in.', 'APOP from 127.0.0.9: %r' % got)
    expect_ok(c.cmd('CAPA'), 'CAPA after APOP')
    capa = c.multi()
    check(b'TOP' in capa and b'USER' not in capa
          and not any(l.startswith(b'SASL') for l in capa),
          'CAPA after APOP without TLS from 127.0.0.9 lists neither USER '
          'nor SASL: %r' % capa)
    c.cmd('QUIT')

    # RFC 5034: initial responses beyond RFC 2449's 255 octets.
    for user, password in (('mid', 'm' * 300), ('long', 'l' * 1000)):
        c = env.raw(s, source='127.0.0.3')
        blob = base64.b64encode(b'\0%s\0%s' % (user.encode(),
                                               password.encode())).decode()
        got = c.cmd('AUTH PLAIN ' + blob)
        check(got == b'+OK Logged in.', 'AUTH PLAIN with a %d-octet initial '
              'response: %r' % (len(blob), got))
        if got == b'+OK Logged in.':
            expect_ok(c.cmd('CAPA'), 'CAPA after AUTH PLAIN')
            capa = c.multi()
            check(b'USER' in capa and b'SASL PLAIN' in capa, 'CAPA after a '
                  'plaintext login from plaintext_auth_networks lists USER '
                  'and SASL PLAIN: %r' % capa)
        c.cmd('QUIT')
    check(env.granted('127.0.0.3'), 'the long AUTH PLAIN logins granted '
          '127.0.0.3')
    c = env.raw(s, source='127.0.0.3')
    send_ignoring_reset(c, 'AUTH PLAIN ' + 'A' * (4097 - 11) + '\r\n')
    closed, data = c.wait_closed(5)
    check(closed and data == b'-ERR Line too long.\r\n', 'a 4097-octet AUTH '
          'line: "-ERR Line too long." and close; got %s %r'
          % (closed, data[:100]))

    # RFC 3206: names no account can have are a credentials problem.
    answers = []
    c = env.raw(s, source='127.0.0.4')
    expect_ok(c.cmd('USER joe\t'), 'USER with a TAB')
    answers.append(('USER/PASS, a TAB', '127.0.0.4', c.cmd('PASS pw')))
    c = env.raw(s, source='127.0.0.5')
    blob = base64.b64encode(b'\0jo e\0pw').decode()
    answers.append(('AUTH PLAIN, a space', '127.0.0.5',
                    c.cmd('AUTH PLAIN ' + blob)))
    c = env.raw(s, source='127.0.0.6')
    ts = re.search(rb'<[^>]*>', c.greeting).group(0)
    answers.append(('APOP, a DEL', '127.0.0.6',
                    c.cmd(b'APOP jo\x7fe '
                          + hashlib.md5(ts + b'pw').hexdigest().encode())))
    for what, source, got in answers:
        check(got == b'-ERR [AUTH] Authentication failed.', '%s in the user '
              'name: "-ERR [AUTH] Authentication failed.", got %r'
              % (what, got))
        check(not env.granted(source), '%s: no grant for %s' % (what, source))
    check('bad request from a login process' not in s.log(), 'no "bad '
          'request from a login process" logged for client input: %r'
          % s.log())
    check(s.wait_log(r'event=login-failed address=127\.0\.0\.4 '
                     r'user="joe\\x09" method=USER reason=malformed ')
          is not None, 'the TAB name logged, escaped, as '
          'event=login-failed reason=malformed: %r' % s.log())


@case('protocol/pipelining',
      'after login a burst STAT, LIST, UIDL, RETR 1, TOP 1 0, NOOP, QUIT in '
      'one write is answered in order; USER+PASS+STAT+QUIT in one write logs '
      'in, records the grant, answers all four and closes')
def case_pipelining(env):
    env.add_user('joe', 'pw')
    env.deliver('joe', MESSAGES['dots'])
    env.deliver('joe', MESSAGES['plain'])
    s = env.start()
    c = env.raw(s)
    c.login('joe', 'pw')
    c.send('STAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 1 0\r\nNOOP\r\nDELE 2\r\n'
           'QUIT\r\n')
    stat = c.line()
    check(stat.startswith(b'+OK 2 '), 'STAT first: %r' % stat)
    expect_ok(c.line(), 'LIST')
    check(len(c.multi()) == 2, 'LIST body')
    expect_ok(c.line(), 'UIDL')
    check(len(c.multi()) == 2, 'UIDL body')
    expect_ok(c.line(), 'RETR 1')
    body = c.multi()
    check(body in (poplib_lines(MESSAGES['dots']), poplib_lines(MESSAGES['plain'])),
          'RETR body: %r' % body)
    expect_ok(c.line(), 'TOP 1 0')
    c.multi()
    expect_ok(c.line(), 'NOOP')
    expect_ok(c.line(), 'DELE 2')
    check(c.line() == b'+OK Logging out, 1 messages deleted.', 'QUIT last')
    check(len(env.files('joe')) == 1, 'the pipelined DELE+QUIT deleted one')
    c = env.raw(s, source='127.0.0.3')
    c.send('USER joe\r\nPASS pw\r\nSTAT\r\nQUIT\r\n')
    got = [c.line() for _ in range(4)]
    check(got[0].startswith(b'+OK') and got[1] == b'+OK Logged in.'
          and got[2].startswith(b'+OK 1 ') and got[3].startswith(b'+OK Logging out'),
          'USER PASS STAT QUIT in one write: %r' % got)
    closed, _ = c.wait_closed(5)
    check(closed, 'closed after the pipelined QUIT')
    check(env.granted('127.0.0.3'), 'pipelined login granted 127.0.0.3')


@case('protocol/half-close',
      'commands followed by shutdown(SHUT_WR): every answer still arrives, '
      'then the server closes; without QUIT a DELE deletes nothing, with '
      'QUIT it does')
def case_half_close(env):
    env.add_user('joe', 'pw')
    env.deliver('joe', MESSAGES['plain'])
    env.deliver('joe', MESSAGES['eightbit'])
    s = env.start()
    c = env.raw(s)
    c.send('USER joe\r\nPASS pw\r\nSTAT\r\nDELE 1\r\nRETR 2\r\n')
    c.sock.shutdown(socket.SHUT_WR)
    got = [c.line() for _ in range(5)]
    check(got[1] == b'+OK Logged in.' and got[2].startswith(b'+OK 2 ')
          and got[3].startswith(b'+OK') and got[4].startswith(b'+OK'),
          'answers after SHUT_WR: %r' % got)
    body = c.multi()
    check(body in (poplib_lines(MESSAGES['plain']),
                   poplib_lines(MESSAGES['eightbit'])), 'RETR 2 body complete')
    closed, data = c.wait_closed(5)
    check(closed and data == b'', 'then closed, nothing more: %r' % data)
    time.sleep(0.3)
    check(len(env.files('joe')) == 2, 'no QUIT: nothing deleted')
    c = env.raw(s)
    c.send('USER joe\r\nPASS pw\r\nDELE 1\r\nQUIT\r\n')
    c.sock.shutdown(socket.SHUT_WR)
    got = [c.line() for _ in range(4)]
    check(got[3] == b'+OK Logging out, 1 messages deleted.', 'QUIT answered '
          'after SHUT_WR: %r' % got)
    c.wait_closed(5)
    check(len(env.files('joe')) == 1, 'QUIT: one deleted')
    # Half-closed before any command: the server closes.
    c = env.raw(s)
    c.sock.shutdown(socket.SHUT_WR)
    closed, data = c.wait_closed(5)
    check(closed, 'half-closed at greeting: closed; got %r' % data)


@case('timeout/idle',
      'with pop3_idle_timeout = 2s a silent connection at the greeting and a '
      'silent logged-in session (with a DELE pending) are closed (after more '
      'than 1 s) without a reply (RFC 1939 section 3), the DELE is not '
      'applied, the lock is freed and the logout says reason=timeout; an '
      'active session that sends NOOPs stays; the start logs a warning that '
      '2 s is below RFC 1939\'s 10 minutes')
def case_idle(env):
    env.add_user('joe', 'pw')
    env.add_user('amy', 'pw2', uid=5001)
    env.deliver('joe', MESSAGES['plain'])
    env.deliver('amy', MESSAGES['plain'])
    s = env.start(extra=['pop3_idle_timeout = 2s'])
    silent = env.raw(s)
    started = time.monotonic()
    c = env.raw(s)
    c.login('joe', 'pw')
    expect_ok(c.cmd('DELE 1'), 'DELE 1')
    busy = env.raw(s, source='127.0.0.3')
    busy.login('amy', 'pw2')
    for i in range(6):
        time.sleep(0.5)
        expect_ok(busy.cmd('NOOP'), 'NOOP %d keeps the active session' % i)
    closed, data = silent.wait_closed(30)
    took = time.monotonic() - started
    check(closed and data == b'', 'silent connection at the greeting closed '
          'without a reply; got %r' % data)
    check(re.search(r'pop3_idle_timeout is 2s: RFC 1939 section 3 asks for '
                    r'at least 10 minutes', s.log()) is not None,
          'the start warned about the short timeout: %r' % s.log())
    check(took > 1.0, 'not closed before the timeout (%.1fs)' % took)
    closed, data = c.wait_closed(30)
    check(closed, 'silent session closed; got %r' % data)
    check(data == b'', 'closed without a reply (RFC 1939 section 3): %r'
          % data)
    check(s.wait_log(r'event=logout .*user=joe.*reason=timeout') is not None,
          'logout reason=timeout logged: %r' % s.log())
    check(len(env.files('joe')) == 1, 'timeout: the DELE was not applied')
    c = env.raw(s)
    c.login('joe', 'pw')    # lock freed
    c.cmd('QUIT')
    expect_ok(busy.cmd('QUIT'), 'active session still served after 3 s')


@case('bigretr/slow-reader',
      'a client that stops reading during RETR of a 10 MB message does not '
      'block the server: another client logs in and works meanwhile; when '
      'the reader resumes it gets every byte (sha256 equal); with '
      'pop3_idle_timeout = 3s a reader that never resumes is disconnected, '
      'its DELE not applied and its lock freed')
def case_big_retr(env):
    env.add_user('joe', 'pw')
    env.add_user('amy', 'pw2', uid=5001)
    line = b'0123456789abcdefghijklmnopqrstuvwxyz.ABCDEFGHIJKLMNOPQRSTUVWXYZ\n'
    big = b'Subject: big\n\n' + b'.' + line * (10 * 1024 * 1024 // len(line))
    env.deliver('joe', big)
    env.deliver('joe', MESSAGES['plain'])
    env.deliver('amy', MESSAGES['eightbit'])
    want = wire_form(big)
    s = env.start()
    reader = env.raw(s, rcvbuf=4096)
    reader.login('joe', 'pw')
    expect_ok(reader.cmd('LIST'), 'LIST')
    sizes = [int(l.split()[1]) for l in reader.multi()]
    bignum = sizes.index(len(crlf_form(big))) + 1
    reader.send('RETR %d\r\n' % bignum)
    time.sleep(1.0)           # the server fills the socket buffers and waits
    other = env.raw(s, source='127.0.0.3')
    other.login('amy', 'pw2')
    expect_ok(other.cmd('RETR 1'), 'other client RETR while one is stuck')
    check(other.multi() == poplib_lines(MESSAGES['eightbit']), 'other bytes')
    expect_ok(other.cmd('QUIT'), 'other QUIT')
    expect_ok(reader.line(), 'RETR of the big message')
    raw = reader.multi_raw()
    check(hashlib.sha256(raw).hexdigest() == hashlib.sha256(want).hexdigest(),
          'resumed reader got the 10 MB wire form exactly (%d vs %d bytes)'
          % (len(raw), len(want)))
    expect_ok(reader.cmd('QUIT'), 'QUIT after the big RETR')
    reader.wait_closed(5)
    s.stop()
    # A reader that never resumes: the idle timeout covers writes too.
    s = env.start(extra=['pop3_idle_timeout = 3s'])
    reader = env.raw(s, rcvbuf=4096)
    reader.login('joe', 'pw')
    expect_ok(reader.cmd('DELE %d' % (3 - bignum)), 'DELE the small one')
    reader.send('RETR %d\r\n' % bignum)
    other = env.raw(s, source='127.0.0.3')
    other.login('amy', 'pw2')
    expect_ok(other.cmd('QUIT'), 'other client served while the reader stalls')
    m = s.wait_log(r'event=logout .*user=joe.*$', timeout=40)
    check(m is not None, 'the stalled reader was logged out: %r' % s.log())
    check('reason=quit' not in m.group(0), 'not a quit: %r' % m.group(0))
    check(len(env.files('joe')) == 2, 'stalled reader: nothing deleted')
    c = env.raw(s, source='127.0.0.3')
    c.login('joe', 'pw')      # lock freed
    c.cmd('QUIT')


@case('concurrency/many-sessions',
      '30 connections open at once (more than an idle pool) and 4 users of '
      'different uids logged in at the same time are all served; every one '
      'is closed by the server after its QUIT, and no server process keeps '
      'a client socket afterwards')
def case_many(env):
    users = ['u%d' % i for i in range(4)]
    for i, u in enumerate(users):
        env.add_user(u, 'pw-%d' % i, uid=MAIL_UID + i)
        env.deliver(u, MESSAGES['plain'])
    s = env.start()
    idle = [env.raw(s, source='127.0.0.%d' % (2 + i % 2)) for i in range(30)]
    sessions = []
    for i, u in enumerate(users):
        c = env.raw(s, source='127.0.0.%d' % (2 + i % 2))
        c.login(u, 'pw-%d' % i)
        sessions.append(c)
    for i, c in enumerate(sessions):
        expect_ok(c.cmd('RETR 1'), 'RETR for %s' % users[i])
        check(c.multi() == poplib_lines(MESSAGES['plain']), 'bytes for %s'
              % users[i])
    ports = [c.sock.getsockname()[1] for c in idle + sessions]
    for c in idle:
        expect_ok(c.cmd('QUIT'), 'QUIT before login')
    for c in sessions:
        expect_ok(c.cmd('QUIT'), 'QUIT after login')
    not_closed = []
    for c in idle + sessions:
        closed, data = c.wait_closed(5)
        if not closed:
            not_closed.append((c.sock.getsockname()[1], data))
    check(not not_closed, 'every connection closed after QUIT; still open: %r'
          % not_closed)
    time.sleep(0.2)
    held = {p: socket_holders(s.address[1], p) for p in ports}
    held = {p: h for p, h in held.items() if h}
    check(not held, 'no server process keeps a client socket: %s' % held)


def tls_raw(env, server, source='127.0.0.2', rcvbuf=None, stls=True):
    """A Raw connection upgraded with STLS (or to pop3s_listen)."""
    if stls:
        c = env.raw(server, source, rcvbuf=rcvbuf)
        expect_ok(c.cmd('STLS'), 'STLS')
    else:
        c = Raw(server.tls_address, source, rcvbuf=rcvbuf, greeting=False)
        env.clients.append(c)
    c.sock = client_context().wrap_socket(c.sock, server_hostname='localhost')
    c.buf = b''
    if not stls:
        c.greeting = c.line()
    return c


@case('bigretr/tls-slow-reader-and-drop',
      'over STLS and over pop3s a client that stops reading during RETR of a '
      '10 MB message does not hold up other TLS clients; resumed, it gets '
      'every byte; a client that drops the connection in the middle of a '
      'big RETR leaves the mailbox unchanged and unlocked; a TLS session '
      'left silent is logged out by pop3_idle_timeout')
def case_tls_big(env):
    env.add_user('joe', 'pw')
    env.add_user('amy', 'pw2', uid=5001)
    line = b'TLS line of the big message, 64 octets long ..................\n'
    big = b'Subject: big tls\n\n' + line * (10 * 1024 * 1024 // len(line))
    env.deliver('joe', big)
    env.deliver('amy', MESSAGES['eightbit'])
    want = wire_form(big)
    s = env.start(pop3s=True, extra=['pop3_idle_timeout = 30s'])
    for stls in (True, False):
        how = 'STLS' if stls else 'pop3s'
        reader = tls_raw(env, s, rcvbuf=4096, stls=stls)
        reader.login('joe', 'pw')
        reader.send('RETR 1\r\n')
        time.sleep(1.0)
        other = tls_raw(env, s, '127.0.0.3', stls=not stls)
        other.login('amy', 'pw2')
        expect_ok(other.cmd('RETR 1'), '%s: other TLS client RETR' % how)
        check(other.multi() == poplib_lines(MESSAGES['eightbit']),
              '%s: other client bytes' % how)
        expect_ok(other.cmd('QUIT'), '%s: other QUIT' % how)
        expect_ok(reader.line(), '%s: RETR of the big message' % how)
        raw = reader.multi_raw()
        check(hashlib.sha256(raw).digest() == hashlib.sha256(want).digest(),
              '%s: resumed reader got the 10 MB exactly (%d vs %d bytes)'
              % (how, len(raw), len(want)))
        expect_ok(reader.cmd('QUIT'), '%s: QUIT' % how)
    before = env.files('joe')
    for stls in (True, False, None):
        how = {True: 'STLS', False: 'pop3s', None: 'plain'}[stls]
        if stls is None:
            c = env.raw(s)
        else:
            c = tls_raw(env, s, stls=stls)
        c.login('joe', 'pw')
        expect_ok(c.cmd('DELE 1'), 'DELE 1')
        c.send('RSET\r\nRETR 1\r\n')
        c.line()
        c.line()
        c.sock.recv(100000)
        c.close()
        time.sleep(0.3)
        again = env.raw(s, '127.0.0.3')
        again.login('joe', 'pw')      # unlocked after the drop
        again.cmd('QUIT')
        check(env.files('joe') == before, '%s: drop during RETR: mailbox '
              'unchanged' % how)
    s.stop()
    s = env.start(pop3s=True, extra=['pop3_idle_timeout = 2s'])
    for stls in (True, False):
        c = tls_raw(env, s, stls=stls)
        c.login('joe', 'pw')
        closed, data = c.wait_closed(30)
        check(closed, '%s session silent past pop3_idle_timeout: closed; got '
              '%r' % ('STLS' if stls else 'pop3s', data))
    check(len(re.findall(r'event=logout .*reason=timeout', s.log())) == 2,
          'two TLS logouts with reason=timeout: %r' % s.log())


@case('mailbox/hostile-maildir',
      'a Maildir with junk (tmp/ files, a subdirectory and a dot-file in '
      'cur/, a folder .Sent, 3000 messages) is served: STAT, LIST and UIDL '
      'count the 3000 messages only; a file the owner cannot read is an '
      '-ERR on RETR (or left out), not a refused login; a message '
      'another program removed during the session gives -ERR on RETR, and '
      'DELE of it plus QUIT answers +OK; a user whose Maildir is missing '
      'gets -ERR [SYS/...] and the server keeps serving')
def case_hostile_maildir(env):
    env.add_user('joe', 'pw')
    env.add_user('nomail', 'pw3')
    md = env.maildir('joe')
    for i in range(3000):
        env.deliver('joe', b'Subject: %d\n\nbody %d\n' % (i, i))
    with open(os.path.join(md, 'tmp', '123.partial'), 'wb') as f:
        f.write(b'Subject: half-delivered\n')
    os.mkdir(os.path.join(md, 'cur', 'a-directory'))
    with open(os.path.join(md, 'cur', '.hidden'), 'wb') as f:
        f.write(b'not a message\n')
    os.makedirs(os.path.join(md, '.Sent', 'cur'))
    with open(os.path.join(md, '.Sent', 'cur', '1.x:2,S'), 'wb') as f:
        f.write(b'Subject: sent\n\n')
    shutil.rmtree(env.maildir('nomail'))
    s = env.start()
    c = env.raw(s)
    c.login('joe', 'pw')
    stat = c.cmd('STAT').split()
    check(stat[0] == b'+OK' and int(stat[1]) == 3000,
          'STAT counts the 3000 messages and no junk: %r' % stat)
    expect_ok(c.cmd('LIST'), 'LIST of 3000')
    check(len(c.multi()) == 3000, 'LIST has a line per message')
    expect_ok(c.cmd('UIDL'), 'UIDL of 3000')
    uids = c.multi()
    check(len(set(u.split()[1] for u in uids)) == 3000, 'UIDs unique')
    expect_ok(c.cmd('NOOP'), 'session goes on')
    # Another program (an IMAP server) removes message 1 meanwhile.
    expect_ok(c.cmd('UIDL 1'), 'UIDL 1')
    victim = None
    expect_ok(c.cmd('TOP 1 0'), 'TOP 1')
    subject = c.multi()[0].split()[1]
    for sub in ('cur', 'new'):
        for name in os.listdir(os.path.join(md, sub)):
            path = os.path.join(md, sub, name)
            if os.path.isfile(path) and name[0] != '.':
                try:
                    with open(path, 'rb') as f:
                        if f.readline() == b'Subject: %s\n' % subject:
                            victim = path
                except OSError:
                    pass
    check(victim is not None, 'found the file of message 1')
    os.unlink(victim)
    got = c.cmd('RETR 1')
    expect_err(got, 'RETR of a message removed by another program')
    expect_ok(c.cmd('DELE 1'), 'DELE of the removed message')
    expect_ok(c.cmd('DELE 2'), 'DELE 2')
    got = c.cmd('QUIT')
    check(got.startswith(b'+OK'), 'QUIT with an already removed message: '
          '+OK (it is gone, as asked), got %r' % got)
    check(os.path.exists(os.path.join(md, 'tmp', '123.partial')),
          'tmp/ left alone')
    check(os.path.exists(os.path.join(md, '.Sent', 'cur', '1.x:2,S')),
          'folder left alone')
    # A message file the owner cannot read.
    locked = env.deliver('joe', b'Subject: unreadable\n\nsecret\n')
    os.chown(locked, 0, 0)
    os.chmod(locked, 0)
    c = env.raw(s)
    c.cmd('USER joe')
    got = c.cmd('PASS pw')
    check(got == b'+OK Logged in.', 'login with an unreadable message in the '
          'Maildir: %r' % got)
    if got == b'+OK Logged in.':
        stat = c.cmd('STAT').split()
        errors = 0
        for n in range(1, int(stat[1]) + 1):
            got = c.cmd('TOP %d 0' % n)
            if got.startswith(b'-ERR'):
                errors += 1
            else:
                c.multi()
        check(errors == (int(stat[1]) - 2998), 'only the unreadable message '
              'gives -ERR (if listed): %d' % errors)
        c.cmd('QUIT')
    c.close()
    os.unlink(env.find('joe', os.path.basename(locked)))
    c = env.raw(s, '127.0.0.3')
    c.cmd('USER nomail')
    got = c.cmd('PASS pw3')
    check(got.startswith(b'-ERR [SYS/'), 'missing Maildir: -ERR [SYS/TEMP] or '
          '[SYS/PERM], got %r' % got)
    c = env.raw(s)
    c.login('joe', 'pw')
    c.cmd('QUIT')


@case('server/reload-limits-stop',
      'a user added to passwd_file can log in after SIGHUP (or by itself); '
      'with pop3_max_connections = 3 a fourth connection gets -ERR '
      '[SYS/TEMP] and is closed while the three are served; SIGTERM stops '
      'the server with exit 0, its child processes end too, and a logged-in '
      'session with a DELE pending deletes nothing')
def case_server(env):
    env.add_user('joe', 'pw')
    env.deliver('joe', MESSAGES['plain'])
    s = env.start(extra=['pop3_max_connections = 3'])
    home = env.add_user('newbie', 'pw4', uid=5002)
    env.deliver('newbie', MESSAGES['dots'])
    os.kill(s.pid, signal.SIGHUP)
    time.sleep(0.5)
    c = env.raw(s, '127.0.0.3')
    c.cmd('USER newbie')
    got = c.cmd('PASS pw4')
    check(got == b'+OK Logged in.', 'new passwd entry after SIGHUP: %r' % got)
    c.cmd('QUIT')
    c.wait_closed(5)
    a = env.raw(s)
    b = env.raw(s)
    d = env.raw(s)
    extra = env.raw(s, '127.0.0.3', greeting=False)
    closed, data = extra.wait_closed(5)
    check(closed and data.startswith(b'-ERR [SYS/TEMP]'), 'fourth: -ERR '
          '[SYS/TEMP] and closed, got %s %r' % (closed, data))
    a.login('joe', 'pw')
    expect_ok(a.cmd('DELE 1'), 'DELE 1')
    expect_ok(b.cmd('CAPA'), 'second served')
    b.multi()
    expect_ok(d.cmd('CAPA'), 'third served')
    d.multi()
    kids = descendants(s.pid)
    rc = s.stop()
    check(rc == 0, 'SIGTERM: exit 0, got %s' % rc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        alive = []
        for k in kids:
            try:
                with open('/proc/%d/stat' % k) as f:
                    if f.read().rsplit(')', 1)[1].split()[0] != 'Z':
                        alive.append(k)
            except OSError:
                pass
        if not alive:
            break
        time.sleep(0.05)
    check(not alive, 'after SIGTERM the login, auth and mail processes %s '
          'end too; still running: %s' % (kids, alive))
    try:
        a.sock.settimeout(5)
        a.cmd('NOOP')
    except (CheckFailed, OSError):
        pass
    a.close()
    time.sleep(0.5)
    check(len(env.files('joe')) == 1, 'SIGTERM with a DELE pending: nothing '
          'deleted')
    check(home is not None, 'home made')


def mail_processes(server):
    """PIDs of the server's running (not zombie) processes whose real uid
    is MAIL_UID: its mail processes."""
    found = []
    for pid in descendants(server.pid):
        if H.proc_state(pid) in (None, 'Z'):
            continue
        ids = proc_ids(pid)
        if ids is not None and ids[0][0] == MAIL_UID:
            found.append(pid)
    return found


@case('mail/idle-process-stops',
      'with pop3_mail_process_idle = 1s the mail process that served a '
      'login and QUIT ends by itself, logging one event=mail-process-stop '
      'line with reason=idle, its pid and uid; a later login starts another '
      'and records its grant; a login while the old process was told to '
      'stop but has not exited (held by SIGSTOP) is served by a new one; '
      'logins looped around the idle boundary are all served; SIGHUP leaves '
      'the idle stop working; SIGTERM with an idle mail process exits 0 and '
      'every child ends')
def case_mail_idle(env):
    env.add_user('joe', 'pw')
    env.deliver('joe', MESSAGES['plain'])
    s = env.start(extra=['pop3_mail_process_idle = 1s'])

    def session(source):
        """Log in, STAT, QUIT; the pids of the mail processes that held
        the connection."""
        try:
            c = env.raw(s, source)
            c.login('joe', 'pw')
        except OSError as e:
            raise CheckFailed('login from %s not served: %s' % (source, e))
        holders = socket_holders(s.address[1], c.sock.getsockname()[1])
        expect_ok(c.cmd('STAT'), 'STAT after login from %s' % source)
        expect_ok(c.cmd('QUIT'), 'QUIT from %s' % source)
        c.wait_closed(5)
        c.close()
        return [pid for pid, ids in holders.items() if ids[0][0] == MAIL_UID]

    def stop_line(pid):
        return s.wait_log(r'pop3: event=mail-process-stop reason=idle '
                          r'pid=%d uid=%d gid=%d idle_seconds=\d+$'
                          % (pid, MAIL_UID, MAIL_GID), timeout=30)

    first = session('127.0.0.2')
    check(len(first) == 1 and first[0] in mail_processes(s),
          'one mail process (uid 5000) served the first login: %s, running: '
          '%s' % (first, mail_processes(s)))
    check(wait_until(lambda: first[0] not in mail_processes(s)),
          'the idle mail process %d ended; still running: %s'
          % (first[0], mail_processes(s)))
    check(stop_line(first[0]) is not None, 'event=mail-process-stop logged '
          'for pid %d with reason, uid, gid, idle_seconds: %r'
          % (first[0], s.log()))
    check(len(re.findall(r'event=mail-process-stop .*pid=%d ' % first[0],
                         s.log())) == 1, 'one stop line for pid %d' % first[0])

    second = session('127.0.0.3')
    check(env.granted('127.0.0.3'), 'login after the idle stop records a '
          'grant for 127.0.0.3')
    check(len(second) == 1 and second[0] != first[0],
          'a new mail process served it: %s (the first was %s)'
          % (second, first))

    # Hold the idle process so that it cannot exit once told to stop: the
    # master must hand the next session to a new process.
    os.kill(second[0], signal.SIGSTOP)
    try:
        check(stop_line(second[0]) is not None, 'stop logged for the held '
              'process %d: %r' % (second[0], s.log()))
        check(second[0] in mail_processes(s), 'the held process %d still '
              'exists' % second[0])
        third = session('127.0.0.4')
        check(len(third) == 1 and third[0] != second[0],
              'a login while process %d is told to stop but has not exited '
              'is served by another: %s' % (second[0], third))
        check(env.granted('127.0.0.4'), 'grant for 127.0.0.4')
    finally:
        os.kill(second[0], signal.SIGCONT)
    check(wait_until(lambda: second[0] not in mail_processes(s)),
          'the held process %d exits once continued' % second[0])

    # Logins around the idle boundary: whichever side of it the master
    # sees, each is served.
    for i, pause in enumerate((0.9, 0.95, 1.0, 1.02, 1.05, 1.1)):
        time.sleep(pause)
        check(len(session('127.0.0.5')) == 1, 'login %d after a pause of '
              '%.2fs served by one mail process' % (i + 1, pause))

    os.kill(s.pid, signal.SIGHUP)
    check(wait_until(lambda: not mail_processes(s)), 'after SIGHUP the idle '
          'mail process still ends: %s' % mail_processes(s))
    check(len(session('127.0.0.6')) == 1, 'login after SIGHUP served')
    check(s.running(), 'server still running')
    kids = descendants(s.pid)
    check(any(k in mail_processes(s) for k in kids), 'an idle mail process '
          'before SIGTERM')
    rc = s.stop()
    check(rc == 0, 'SIGTERM with an idle mail process: exit 0, got %s' % rc)

    def alive():
        left = []
        for k in kids:
            try:
                with open('/proc/%d/stat' % k) as f:
                    if f.read().rsplit(')', 1)[1].split()[0] != 'Z':
                        left.append(k)
            except OSError:
                pass
        return left
    check(wait_until(lambda: not alive()), 'after SIGTERM every child of '
          '%s ended; still running: %s' % (kids, alive()))


@case('bigretr/same-uid-and-steady-reader',
      'two users with the same uid (served by the same mail process): while '
      'one stops reading a 10 MB RETR the other logs in and retrieves; with '
      'pop3_idle_timeout = 2s a reader that keeps reading slowly (about 5 s '
      'for 10 MB) is not logged out and gets every byte')
def case_same_uid(env):
    env.add_user('joe', 'pw')
    env.add_user('bob', 'pw5')          # uid 5000 too
    line = b'same uid, one mail process; 64 octets per line ..............\n'
    big = b'Subject: big\n\n' + line * (10 * 1024 * 1024 // len(line))
    env.deliver('joe', big)
    env.deliver('bob', MESSAGES['crlf'])
    want = wire_form(big)
    s = env.start(extra=['pop3_idle_timeout = 2s'])
    reader = env.raw(s, rcvbuf=4096)
    reader.login('joe', 'pw')
    reader.send('RETR 1\r\n')
    time.sleep(0.5)
    other = env.raw(s, '127.0.0.3')
    other.login('bob', 'pw5')
    expect_ok(other.cmd('RETR 1'), 'same-uid user RETR while the other stalls')
    check(other.multi() == poplib_lines(MESSAGES['crlf']), 'bytes for bob')
    expect_ok(other.cmd('QUIT'), 'bob QUIT')
    # Now read steadily: 10 MB in about 5 s, never silent for 2 s.
    got = bytearray()
    started = time.monotonic()
    reader.sock.settimeout(IO_TIMEOUT)
    got += reader.buf
    reader.buf = b''
    while not got.endswith(b'\r\n.\r\n'):
        chunk = reader.sock.recv(65536)
        if not chunk:
            break
        got += chunk
        elapsed = time.monotonic() - started
        ahead = len(got) / (2 * 1024 * 1024) - elapsed
        if ahead > 0:
            time.sleep(min(ahead, 0.2))
    head, _, body = bytes(got).partition(b'\r\n')
    check(head.startswith(b'+OK'), 'RETR +OK: %r' % head[:80])
    check(hashlib.sha256(body).digest() == hashlib.sha256(want).digest(),
          'the steady slow reader got every byte (%d vs %d) in %.1fs'
          % (len(body), len(want), time.monotonic() - started))
    expect_ok(reader.cmd('QUIT'), 'QUIT after the slow RETR')


@case('timeout/tls-handshake-stall',
      'with pop3_idle_timeout = 2s a client that connects to pop3s_listen and '
      'never starts the TLS handshake, one that stops half way, and one that '
      'sends STLS and then nothing, are all closed; others are served')
def case_handshake_stall(env):
    env.add_user('joe', 'pw')
    s = env.start(pop3s=True, extra=['pop3_idle_timeout = 2s'])
    silent = Raw(s.tls_address, '127.0.0.2', greeting=False)
    env.clients.append(silent)
    half = Raw(s.tls_address, '127.0.0.2', greeting=False)
    env.clients.append(half)
    half.send(b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + b'\x00' * 20)
    stls = env.raw(s, '127.0.0.3')
    expect_ok(stls.cmd('STLS'), 'STLS')
    served = tls_raw(env, s, '127.0.0.3', stls=False)
    served.login('joe', 'pw')
    expect_ok(served.cmd('QUIT'), 'a normal pop3s client is served meanwhile')
    for what, c in (('no handshake', silent), ('half a ClientHello', half),
                    ('STLS then nothing', stls)):
        closed, data = c.wait_closed(30)
        check(closed, '%s: closed after pop3_idle_timeout; got %r' % (what, data))


@case('login/names-and-passwords',
      'RFC 1939 PASS takes the rest of the line: a password with spaces '
      'logs in (USER/PASS, AUTH PLAIN, APOP); user names are exact: "JOE", '
      '"joe\\t", "jo", "joe2" with joe\'s password do not log in and '
      'get no grant; "JOE" is answered like an unknown user')
def case_names(env):
    env.add_user('joe', 'two words  here')
    s = env.start()
    c = env.raw(s)
    c.cmd('USER joe')
    got = c.cmd('PASS two words  here')
    check(got == b'+OK Logged in.', 'PASS with spaces: %r' % got)
    c.cmd('QUIT')
    c = env.raw(s)
    blob = base64.b64encode(b'\0joe\0two words  here').decode()
    check(c.cmd('AUTH PLAIN ' + blob) == b'+OK Logged in.', 'AUTH PLAIN with '
          'spaces in the password')
    c.cmd('QUIT')
    c = env.raw(s)
    ts = re.search(rb'<[^>]*>', c.greeting).group(0)
    digest = hashlib.md5(ts + b'two words  here').hexdigest()
    check(c.cmd('APOP joe ' + digest) == b'+OK Logged in.', 'APOP with spaces '
          'in the secret')
    c.cmd('QUIT')
    answers = {}
    # ' joe' and 'joe ' (extra spaces) may be read leniently as joe: that
    # still needs joe's password. Other spellings are other (unknown) names.
    for i, name in enumerate(('JOE', 'joe\t', 'jo', 'joe2', 'nosuch')):
        c = Raw(s.address, '127.0.0.%d' % (10 + i), timeout=60)
        env.clients.append(c)
        u = c.cmd('USER ' + name)
        if u.startswith(b'+OK'):
            answers[name] = c.cmd('PASS two words  here')
        else:
            answers[name] = u
        c.close()
        check(not env.granted('127.0.0.%d' % (10 + i)), 'no grant for user '
              'name %r' % name)
    check(all(a.startswith(b'-ERR') for a in answers.values()),
          'no variant of joe logs in: %r' % answers)
    check(answers['JOE'] == answers['nosuch'], '"JOE" answered like an '
          'unknown user: %r' % answers)


@case('ipv6/loopback',
      'a server listening on [::1] (and 127.0.0.1 in one pop3_listen list) '
      'serves poplib over IPv6: login from ::1 records the grant for ::1 '
      '(vsmtprelay check ::1), the log says address=::1, CAPA offers USER '
      '(::1 is in the default plaintext_auth_networks)')
def case_ipv6(env):
    env.add_user('joe', 'pw')
    env.deliver('joe', MESSAGES['plain'])
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s6.bind(('::1', 0))
    port6 = s6.getsockname()[1]
    s6.close()
    s = env.start(listen='[::1]:%d, 127.0.0.1:%d' % (port6, free_port()))
    check(not env.granted('::1'), 'no grant for ::1 before')
    p = poplib.POP3('::1', port6, timeout=IO_TIMEOUT)
    env.clients.append(p)
    capa = p.capa()
    check('USER' in capa, 'CAPA over ::1 offers USER: %r' % capa)
    p.user('joe')
    check(p.pass_('pw') == b'+OK Logged in.', 'login over IPv6')
    check(env.granted('::1'), 'vsmtprelay check ::1: granted')
    _, lines, _ = p.retr(1)
    check(lines == poplib_lines(MESSAGES['plain']), 'RETR over IPv6')
    p.quit()
    check(s.wait_log(r'event=login address=::1 ') is not None,
          'login line address=::1: %r' % s.log())


@case('store/recorder',
      'with relay_db_recorder set, logins hand their grants to a running '
      'relaygate-recorder and vsmtprelay sees them; with the recorder '
      'stopped the server writes the store itself and no grant is lost')
def case_recorder(env):
    env.add_user('joe', 'pw')
    recorder = os.path.join(os.path.dirname(env.binary), 'relaygate-recorder')
    check(os.access(recorder, os.X_OK), 'relaygate-recorder built: %s' % recorder)
    sock = env.path('recorder.sock')
    conf = env.write_conf(['relay_db = ' + env.store,
                           'relay_db_recorder = unix:' + sock,
                           'relay_db_lock_timeout = 10s'])
    logf = open(env.path('recorder.log'), 'ab')
    proc = subprocess.Popen([recorder, '-F', '-c', conf], stdin=subprocess.DEVNULL,
                            stdout=logf, stderr=logf)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.02)
        check(os.path.exists(sock), 'recorder socket %s appeared' % sock)
        time.sleep(0.1)
        s = env.start(extra=['relay_db_recorder = unix:' + sock,
                             'relay_db_lock_timeout = 10s'])
        c = env.raw(s)
        c.login('joe', 'pw')
        check(env.granted('127.0.0.2'), 'grant through the recorder visible '
              'right after +OK')
        c.cmd('QUIT')
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(10)
        with open(env.path('recorder.log'), 'rb') as f:
            rlog = f.read().decode(errors='replace')
        check(re.search(r'summary .*grants=1 ', rlog) is not None,
              'the recorder wrote the one grant (its summary says grants=1): '
              '%r' % rlog)
        c = env.raw(s, '127.0.0.3')
        c.login('joe', 'pw')
        check(env.granted('127.0.0.3'), 'recorder stopped: the grant is '
              'written directly')
        c.cmd('QUIT')
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        logf.close()


@case('limits/per-ip',
      'with pop3_max_connections_per_ip = 2 a third connection from '
      '127.0.0.2 is answered -ERR [SYS/TEMP] and closed while 127.0.0.3 '
      'is still served; a slot frees when a client leaves')
def case_per_ip(env):
    env.add_user('joe', 'pw')
    s = env.start(extra=['pop3_max_connections_per_ip = 2'])
    a = env.raw(s)
    b = env.raw(s)
    c = env.raw(s, greeting=False)
    closed, data = c.wait_closed(5)
    check(closed and data.startswith(b'-ERR [SYS/TEMP]'),
          'third from 127.0.0.2: -ERR [SYS/TEMP] and close; got %s %r'
          % (closed, data))
    d = env.raw(s, source='127.0.0.3')
    check(d.greeting.startswith(b'+OK'), '127.0.0.3 served')
    a.cmd('QUIT')
    a.wait_closed(5)
    time.sleep(0.3)
    e = env.raw(s)
    check(e.greeting.startswith(b'+OK'), 'slot freed after QUIT')
    expect_ok(b.cmd('CAPA'), 'others unharmed')


@case('store/failure-replaced-and-uid0',
      'a store replaced by vsmtprelay load still receives the next grant; '
      'when the store cannot be written (replaced by a directory) the login '
      'still succeeds and event=grant-failed is logged with the address; a '
      'passwd entry with uid 0 is refused (at login, or the file is refused '
      'at start with exit 78 naming the line) and creates no grant')
def case_store_failure(env):
    env.add_user('joe', 'pw')
    env.deliver('joe', MESSAGES['plain'])
    env.vsm('add', '192.0.2.1')
    s = env.start()
    c = env.raw(s)
    c.login('joe', 'pw')
    c.cmd('QUIT')
    check(env.granted('127.0.0.2'), 'first grant')
    # vsmtprelay load rebuilds the store (a new file): later grants go there.
    dump = env.path('dump.txt')
    with open(dump, 'w') as f:
        f.write('192.0.2.1 %d\n' % now())
    env.vsm('load', dump)
    check(not env.granted('127.0.0.2'), 'after load 127.0.0.2 is gone')
    c = env.raw(s)
    c.login('joe', 'pw')
    c.cmd('QUIT')
    check(env.granted('127.0.0.2'), 'a login after vsmtprelay load records '
          'its grant in the new store')
    # The store path becomes a directory: recording fails.
    os.unlink(env.store)
    os.mkdir(env.store)
    c = env.raw(s, source='127.0.0.3')
    c.login('joe', 'pw')
    expect_ok(c.cmd('STAT'), 'mailbox served although the grant failed')
    c.cmd('QUIT')
    m = s.wait_log(r'event=grant-failed .*$')
    check(m is not None and 'address=127.0.0.3' in m.group(0)
          and 'user=joe' in m.group(0),
          'event=grant-failed with address=127.0.0.3 user=joe: %r' % s.log())
    m = s.wait_log(r'event=login .*address=127\.0\.0\.3.*$')
    check(m is not None and 'grant=recorded' not in m.group(0),
          'login line does not claim grant=recorded: %r' % (m and m.group(0)))
    s.stop()
    os.rmdir(env.store)
    env.add_user('root2', 'pw0', uid=0, gid=0)
    s = env.start(expect_start=False)
    if s.running():
        c = env.raw(s, source='127.0.0.3')
        c.cmd('USER root2')
        expect_err(c.cmd('PASS pw0'), 'uid 0 entry')
    else:
        check(s.proc.wait() == 78 and 'passwd:2:' in s.log(),
              'uid 0 entry: refused with exit 78 naming passwd:2: %s %r'
              % (s.proc.returncode, s.log()))
    check(not env.granted('127.0.0.3'), 'uid 0 entry: no grant')


@case('config/-t',
      'relaygate-pop3d -t exits 0 for a good configuration and 78 for an '
      'unknown key, a missing passwd_file, pop3s_listen without '
      'tls_cert/tls_key, and a bad plaintext_auth_networks block (the '
      'message names file, line, key, what is expected and the block)')
def case_config(env):
    env.add_user('joe', 'pw')

    def run_t(lines):
        conf = env.write_conf(['relay_db = ' + env.store,
                               'passwd_file = ' + env.passwd] + lines)
        return subprocess.run([env.binary, '-t', '-c', conf],
                              capture_output=True, text=True, timeout=20)
    r = run_t(['pop3_listen = 127.0.0.1:%d' % free_port(),
               'pop3s_listen = 127.0.0.1:%d' % free_port(),
               'tls_cert = ' + env.cert, 'tls_key = ' + env.key])
    check(r.returncode == 0, 'good configuration: exit 0, got %d %r'
          % (r.returncode, r.stderr))
    for why, lines in (('unknown key', ['pop3_listen = 127.0.0.1:1110',
                                        'pop3_bogus = 1']),
                       ('pop3s without cert', ['pop3s_listen = 127.0.0.1:1995']),
                       ('bad timeout', ['pop3_listen = 127.0.0.1:1110',
                                        'pop3_idle_timeout = soon'])):
        r = run_t(lines)
        check(r.returncode == 78, '%s: exit 78, got %d %r'
              % (why, r.returncode, r.stderr))
    # a bad plaintext_auth_networks: file, line, key, what was expected
    r = run_t(['pop3_listen = 127.0.0.1:1110',
               'plaintext_auth_networks = 127.0.0.0/8, 10.1.2.3/8'])
    conf = env.path('pop3d-%d.conf' % env.serial)
    want = ('%s:5: plaintext_auth_networks: expected addresses or networks '
            'like 192.0.2.0/24 or 2001:db8::/32: "10.1.2.3/8": address has '
            'bits set beyond the prefix length' % conf)
    check(r.returncode == 78 and want in r.stderr,
          'bad plaintext_auth_networks: exit 78 and %r, got %d %r'
          % (want, r.returncode, r.stderr))
    conf = env.write_conf(['relay_db = ' + env.store,
                           'passwd_file = ' + env.path('missing-passwd'),
                           'pop3_listen = 127.0.0.1:1110'])
    r = subprocess.run([env.binary, '-t', '-c', conf], capture_output=True,
                       text=True, timeout=20)
    check(r.returncode == 78, 'missing passwd_file: exit 78, got %d %r'
          % (r.returncode, r.stderr))


# ---------------------------------------------------------------- runner

def sanitizer_reports(env):
    """An error text when a server log of ENV holds an ASan/UBSan/LSan
    report or a child that died of a signal, else None."""
    for s in env.servers:
        log = s.log()
        for word in ('AddressSanitizer', 'LeakSanitizer', 'runtime error:',
                     'UndefinedBehaviorSanitizer', 'signal=SEGV',
                     'killed by signal', 'Segmentation fault',
                     'ended; starting another'):
            if word in log:
                i = log.index(word)
                return ('server log %s reports %r:\n%s'
                        % (s.log_path, word, log[max(0, i - 500):i + 3000]))
    return None


def make_cert(directory):
    """A self-signed certificate for localhost, valid two days."""
    cert = os.path.join(directory, 'cert.pem')
    key = os.path.join(directory, 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
                    '-subj', '/CN=localhost', '-days', '2', '-keyout', key,
                    '-out', cert], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


def main(cases=CASES, prefix='pop3d-'):
    tools = H.find_tools({'pop3d': SERVER}, 'it checks the drop to '
                         'login_user and to the mailbox owner')
    if tools is None:
        return 1
    root = H.case_root()
    certdir = tempfile.mkdtemp(prefix=prefix + 'cert-', dir=root)
    os.chmod(certdir, 0o755)
    try:
        tools['cert'], tools['key'] = make_cert(certdir)
    except (OSError, subprocess.CalledProcessError) as e:
        print('FAIL: openssl req could not make a certificate: %s' % e)
        return 1
    try:
        return H.run(cases, lambda tmp: Env(tmp, tools), root, prefix, 34,
                     expected_to_fail=EXPECTED_TO_FAIL,
                     after_case=sanitizer_reports, log_label='server log')
    finally:
        shutil.rmtree(certdir, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
