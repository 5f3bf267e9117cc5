#!/usr/bin/env python3
"""Protocol battery for relaygate-lookupd: starts the real daemon and drives
it with real sockets, as sendmail and Postfix would.

Run by meson (suite 'lookupd') with VSMTPRELAY and RELAYGATE_BUILD_ROOT in the
environment; by hand:

    VSMTPRELAY=build/vsmtprelay RELAYGATE_BUILD_ROOT=build \\
        tests/lookupd/test-lookupd.py [CASE...]

Every case runs in a fresh directory (mode 0755, under $TMPDIR when the
daemon's user can reach it, else /var/tmp) with its own daemon on free
loopback ports (or unix sockets), stopped by PID when the case ends. Each
case prints what it proves. The exit status is 1 if any check failed.

It must run as root: it checks that the daemon drops to lookupd_user
(nobody) and that a store nobody cannot read gives a temporary failure.

Known daemon bugs are listed in EXPECTED_TO_FAIL (check id -> description):
such a check is reported as "known bug" and does not fail the run; when it
passes, the run fails so that the entry gets removed.

The harness (case registry, checks, case directories, starting and stopping
daemons by PID, ports, output) is tests/lib/relaygate_test.py.
"""
import fcntl
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, 'lib'))
import relaygate_test as H  # noqa: E402 - found through the path above
from relaygate_test import (CheckFailed, check, free_port, now,  # noqa: E402
                            send_ignoring_reset)

EXPECTED_TO_FAIL = {
}

WINDOW = 1800          # relay_window = 30m in every configuration below
IO_TIMEOUT = 5.0       # no single answer may take longer than this


# ---------------------------------------------------------------- clients

def netstring(payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return b'%d:%s,' % (len(payload), payload)


def sm_request(key, name='relaygate'):
    return netstring('%s %s' % (name, key) if isinstance(key, str)
                     else name.encode() + b' ' + key)


def policy_request(address, extra=(), crlf=False, with_request=True):
    lines = []
    if with_request:
        lines.append('request=smtpd_access_policy')
    lines += ['protocol_state=RCPT', 'protocol_name=ESMTP']
    if address is not None:
        lines.append('client_address=' + address)
    lines += list(extra)
    eol = '\r\n' if crlf else '\n'
    return (eol.join(lines) + eol + eol).encode()


class Client:
    """A connection to one of the daemon's listeners."""

    def __init__(self, address, family=socket.AF_INET, timeout=IO_TIMEOUT,
                 rcvbuf=None):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(address)
        if family != socket.AF_UNIX:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b''

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def send_bytewise(self, data):
        for i in range(len(data)):
            self.sock.sendall(data[i:i + 1])
            time.sleep(0.001)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise CheckFailed('connection closed by the daemon where an '
                              'answer was expected (got so far %r)' % self.buf[:80])
        self.buf += chunk

    def read_netstring(self):
        while True:
            m = re.match(rb'(\d+):', self.buf)
            if m and len(self.buf) >= m.end() + int(m.group(1)) + 1:
                n = int(m.group(1))
                payload = self.buf[m.end():m.end() + n]
                check(self.buf[m.end() + n:m.end() + n + 1] == b',',
                      'reply netstring ends with ","; got %r' % self.buf[:80])
                self.buf = self.buf[m.end() + n + 1:]
                return payload.decode()
            if self.buf and not re.match(rb'\d+:?', self.buf):
                raise CheckFailed('reply is not a netstring: %r' % self.buf[:80])
            self._fill()

    def read_policy(self):
        while b'\n\n' not in self.buf:
            self._fill()
        reply, self.buf = self.buf.split(b'\n\n', 1)
        return reply.decode()

    def sm(self, key, name='relaygate'):
        self.send(sm_request(key, name))
        return self.read_netstring()

    def policy(self, address, extra=(), crlf=False):
        self.send(policy_request(address, extra, crlf))
        return self.read_policy()

    def wait_closed(self, timeout=3.0):
        """(closed, data): whether the daemon closed the connection within
        TIMEOUT, and the bytes it sent before."""
        data = self.buf
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False, data
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False, data
            except (ConnectionResetError, BrokenPipeError):
                return True, data
            if not chunk:
                return True, data
            data += chunk


# ---------------------------------------------------------------- daemon

class Daemon(H.Daemon):
    def __init__(self, env, conf, log):
        super().__init__(env, env.lookupd, conf, log)

    def wait_ready(self, endpoints, timeout=5.0):
        """True when the daemon is about to serve: it logged 'started', or
        'listening' for each of its ENDPOINTS (logged after the privilege
        drop, unbatched, just before the event loop); False when it exited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if re.search(r'^relaygate-lookupd: started ', log, re.M) or \
                    len(re.findall(r'^relaygate-lookupd: listening proto=', log,
                                   re.M)) == endpoints:
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.01)
        raise CheckFailed('daemon did not log "started" within %.0fs; log:\n%s'
                          % (timeout, self.log()))

    def uid(self):
        return H.proc_ids(self.pid)[0]

    def children(self):
        return H.children(self.pid)


class Env(H.Env):
    """One case's directory, store, configurations and daemons."""

    conf_header = '# written by test-lookupd.py\n'

    def __init__(self, root, tools):
        super().__init__(root, tools, tools['lookupd'])
        self.lookupd = tools['lookupd']
        self.daemons = self.servers
        # self.strays: sweeper PIDs to end by PID at cleanup

    def vsm(self, *args, store=None, expect_rc=0):
        return super().vsm(*args, store=store, expect_rc=expect_rc).stdout

    def write_conf(self, lines, name=None):
        self.serial += 1
        return super().write_conf(lines, name or 'lookupd-%d.conf' % self.serial)

    def start(self, extra=(), socketmap=None, policy=None, store=True,
              expect_start=True):
        """Start a daemon; SOCKETMAP/POLICY are endpoint lists (default: one
        free loopback port each). Returns the Daemon, with .sm and .pol set
        to the (host, port) of the first inet endpoints."""
        for attempt in range(5):
            sm_ep = socketmap
            pol_ep = policy
            if sm_ep is None:
                sm_ep = 'inet:127.0.0.1:%d' % free_port()
            if pol_ep is None:
                pol_ep = 'inet:127.0.0.1:%d' % free_port()
            lines = []
            if store:
                lines.append('relay_db = ' + self.store)
            lines.append('relay_window = 30m')
            if sm_ep:
                lines.append('lookupd_socketmap_listen = ' + sm_ep)
            if pol_ep:
                lines.append('lookupd_policy_listen = ' + pol_ep)
            lines += list(extra)
            conf = self.write_conf(lines)
            d = Daemon(self, conf, self.path('lookupd-%d.log' % self.serial))
            self.daemons.append(d)
            ready = d.wait_ready(len([e for e in ','.join([sm_ep, pol_ep]).split(',')
                                      if e.strip()]))
            if not ready and 'Address already in use' in d.log() \
                    and (socketmap is None or policy is None):
                d.stop()
                continue    # another program took the free port: retry
            if expect_start:
                check(ready, 'daemon started; exit %s, log:\n%s'
                      % (d.proc.returncode, d.log()))
            d.sm = endpoint_address(sm_ep)
            d.pol = endpoint_address(pol_ep)
            return d
        raise CheckFailed('no free port after 5 attempts')

    def client(self, address, family=None):
        if family is None:
            if isinstance(address, str):
                family = socket.AF_UNIX
            elif ':' in address[0]:
                family = socket.AF_INET6
            else:
                family = socket.AF_INET
        c = Client(address, family)
        self.clients.append(c)
        return c


def endpoint_address(text):
    """The address to connect to for the first endpoint of TEXT."""
    if not text:
        return None
    first = text.split(',')[0].strip()
    if first.startswith('unix:'):
        return first[5:]
    rest = first[5:]
    if rest.startswith('['):
        host, port = rest[1:].split(']:')
        return (host, int(port))
    host, port = rest.rsplit(':', 1)
    return (host, int(port))


TEMP = 'TEMP '
ACTION_451 = 'action=451 4.3.0 '
NOTFOUND = 'NOTFOUND '
PREFIXES = (TEMP, ACTION_451)     # answers with free text after these


def answer_is(got, want):
    return got.startswith(want) if want in PREFIXES else got == want


def expect_sm(client, key, want, why):
    got = client.sm(key)
    check(answer_is(got, want), 'socketmap %r: expected %r%s (%s), got %r'
          % (key, want, '...' if want in PREFIXES else '', why, got))


def expect_policy(client, address, want, why, extra=()):
    got = client.policy(address, extra)
    check(answer_is(got, want), 'policy client_address=%r: expected %r%s (%s), '
          'got %r' % (address, want, '...' if want in PREFIXES else '', why, got))


# ---------------------------------------------------------------- cases

CASES = []


def case(name, proves):
    return H.case(name, proves, CASES)


@case('grants/fresh-absent-stale',
      'a fresh grant relays over both protocols; no grant and a grant older '
      'than relay_window do not; the window edge is honoured; the daemon runs '
      'as nobody and logs one key=value line per decision')
def case_grants(env):
    t = now()
    env.vsm('add', '127.0.0.2')
    env.vsm('add', '127.0.0.3', t - 4000)
    env.vsm('add', '127.0.0.4', t - WINDOW + 30)
    env.vsm('add', '127.0.0.5', t - WINDOW - 30)
    d = env.start()
    nobody = pwd.getpwnam('nobody').pw_uid
    check(d.uid() == [nobody] * 4,
          'daemon runs as nobody (uid %d): /proc Uid %s' % (nobody, d.uid()))
    sm = env.client(d.sm)
    pol = env.client(d.pol)
    cases = [('127.0.0.2', True, 'fresh grant'),
             ('127.0.0.9', False, 'no grant'),
             ('127.0.0.3', False, 'grant 4000 s old, window 30m'),
             ('127.0.0.4', True, 'grant 30 s inside the window'),
             ('127.0.0.5', False, 'grant 30 s outside the window')]
    for address, relay, why in cases:
        expect_sm(sm, address, 'OK OK' if relay else NOTFOUND, why)
        expect_policy(pol, address, 'action=OK' if relay else 'action=DUNNO', why)
    time.sleep(0.1)
    lines = [l for l in d.log().splitlines() if ' decision ' in l]
    check(len(lines) == 2 * len(cases),
          '%d decision lines for %d answers; log:\n%s'
          % (len(lines), 2 * len(cases), d.log()))
    pattern = re.compile(r'^relaygate-lookupd: decision proto=(socketmap|policy) '
                         r'client=\S+ result=(grant|none|stale)( \w+=\S*)*$')
    for line in lines:
        check(pattern.match(line), 'decision line is key=value: %r' % line)
    check(sum('result=stale' in l for l in lines) == 4,
          'stale grants are logged as result=stale')


@case('grants/changes-seen-at-once',
      'the daemon keeps the store open yet sees every add, delete, in-place '
      'growth and rename-replacement on the very next lookup (200 rounds, '
      'no stale answer)')
def case_changes(env):
    env.vsm('add', '192.0.2.1')
    d = env.start()
    sm = env.client(d.sm)
    pol = env.client(d.pol)
    stale = []
    for i in range(200):
        env.vsm('add', '127.0.0.7')
        a = sm.sm('127.0.0.7')
        b = pol.policy('127.0.0.7')
        if a != 'OK OK' or b != 'action=OK':
            stale.append('round %d after add: %r %r' % (i, a, b))
        env.vsm('delete', '127.0.0.7')
        a = sm.sm('127.0.0.7')
        b = pol.policy('127.0.0.7')
        if a != NOTFOUND or b != 'action=DUNNO':
            stale.append('round %d after delete: %r %r' % (i, a, b))
        # Grow the store so that pages split and the file is regrown.
        env.vsm('add', '10.%d.%d.1' % (i // 100, i % 100))
        a = sm.sm('10.%d.%d.1' % (i // 100, i % 100))
        if a != 'OK OK':
            stale.append('round %d after growth add: %r' % (i, a))
    check(not stale, '%d stale answers, first: %s' % (len(stale), stale[:5]))
    expect_sm(sm, '10.0.0.1', 'OK OK', 'grant added in round 0')

    # vsmtprelay load: the store is rebuilt and renamed over the old one.
    inode = os.stat(env.store).st_ino
    listing = env.path('load.txt')
    with open(listing, 'w') as f:
        f.write('192.0.2.50 %d\n198.51.100.7 %d\n' % (now(), now() - 4000))
    env.vsm('load', listing)
    renamed = os.stat(env.store).st_ino != inode
    expect_sm(sm, '192.0.2.50', 'OK OK', 'granted by load')
    expect_sm(sm, '10.0.0.1', NOTFOUND, 'gone after load')
    expect_policy(pol, '192.0.2.1', 'action=DUNNO', 'gone after load')
    expect_sm(sm, '198.51.100.7', NOTFOUND, 'loaded but stale')
    print('    (vsmtprelay load %s the store)'
          % ('renamed a new file over' if renamed else 'rewrote in place'))

    # A store built elsewhere and renamed into place by hand.
    other = env.path('relayers.new.db')
    env.vsm('add', '203.0.113.9', store=other)
    os.chmod(other, 0o644)
    os.rename(other, env.store)
    expect_sm(sm, '203.0.113.9', 'OK OK', 'granted in the renamed-in store')
    expect_policy(pol, '192.0.2.50', 'action=DUNNO', 'not in the renamed-in store')


@case('grants/never-relay',
      'an address in never_relay never relays even with a fresh grant, in any '
      'spelling; addresses outside it still do')
def case_never_relay(env):
    env.vsm('add', '127.0.0.6')
    env.vsm('add', '127.0.0.9')
    env.vsm('add', '2001:db8::66')
    d = env.start(extra=['never_relay = 127.0.0.0/29, 2001:db8::66/128'])
    sm = env.client(d.sm)
    pol = env.client(d.pol)
    for key in ['127.0.0.6', '::ffff:127.0.0.6', 'IPv6:::ffff:127.0.0.6',
                '2001:db8::66', 'IPv6:2001:DB8:0:0:0:0:0:66']:
        expect_sm(sm, key, NOTFOUND, 'in never_relay')
    expect_policy(pol, '127.0.0.6', 'action=DUNNO', 'in never_relay')
    expect_policy(pol, '2001:db8::66', 'action=DUNNO', 'in never_relay')
    expect_sm(sm, '127.0.0.9', 'OK OK', 'granted, outside never_relay')
    expect_policy(pol, '127.0.0.9', 'action=OK', 'granted, outside never_relay')
    time.sleep(0.1)
    check('client=127.0.0.6 result=never' in d.log(),
          'never_relay refusal logged as result=never')


@case('grants/ipv6-and-key-forms',
      'IPv6 grants answer for every spelling sendmail and Postfix use, IPv4-'
      'mapped keys find the IPv4 grant, host names are NOTFOUND (not PERM), '
      'the daemon listens on [::1], and client text is escaped in the log')
def case_ipv6(env):
    env.vsm('add', '2001:db8::5')
    env.vsm('add', '127.0.0.2')
    sm6 = free_port(socket.AF_INET6, '::1')
    d = env.start(socketmap='inet:127.0.0.1:%d, inet:[::1]:%d'
                  % (free_port(), sm6))
    sm = env.client(d.sm)
    for key in ['2001:db8::5', 'ipv6:2001:db8:0:0:0:0:0:5',
                'IPv6:2001:DB8:0:0:0:0:0:5', '2001:db8:0:0:0:0:0:5',
                '2001:DB8::5', 'IPv6:2001:db8::5', '::ffff:127.0.0.2',
                'IPv6:::ffff:127.0.0.2', '::FFFF:7f00:2']:
        expect_sm(sm, key, 'OK OK', 'same address as a granted one')
    for key in ['2001:db8::6', '::ffff:127.0.0.3', '::127.0.0.2']:
        expect_sm(sm, key, NOTFOUND, 'another address')
    for key in ['mail.example.com', 'localhost', 'unknown', '127.0.0.2.example',
                '1.2.3', '2001:db8::5/64', 'fe80::1%eth0', 'IPv6:', '[127.0.0.2]',
                '127.0.0.256']:
        expect_sm(sm, key, NOTFOUND, 'not an address (Postfix asks names too)')
    pol = env.client(d.pol)
    expect_policy(pol, '2001:db8::5', 'action=OK', 'Postfix IPv6 form')
    expect_policy(pol, '::ffff:127.0.0.2', 'action=OK', 'IPv4-mapped')
    expect_policy(pol, 'mail.example.com', 'action=DUNNO', 'not an address')
    c6 = env.client(('::1', sm6))
    expect_sm(c6, '2001:db8::5', 'OK OK', 'query over the [::1] listener')
    # A key with a terminal escape and a newline must not reach the log raw.
    expect_sm(sm, 'evil\x1b[2J\nrelaygate-lookupd: decision forged', NOTFOUND,
              'not an address')
    time.sleep(0.1)
    log = d.log()
    check('\x1b' not in log, 'escape byte from a client key reached the log')
    check(not re.search(r'^relaygate-lookupd: decision forged', log, re.M),
          'a newline in a client key started a forged log line')


@case('grants/makemap-stores',
      'a store written by sendmail\'s makemap, with NUL-terminated keys (-N, '
      'as Postfix postmap writes) or without, is read; makemap\'s rebuild is '
      'seen on the next lookup; values that are not epoch seconds never relay')
def case_makemap(env):
    makemap = shutil.which('makemap')
    check(makemap is not None, 'makemap (sendmail-bin) is installed')

    def build(text, nul):
        args = [makemap] + (['-N'] if nul else []) + ['hash', env.store]
        r = subprocess.run(args, input=text, capture_output=True, text=True)
        check(r.returncode == 0, '%s: exit %d: %s' % (' '.join(args), r.returncode,
                                                     r.stderr.strip()))
        os.chmod(env.store, 0o644)
    t = now()
    build('127.0.0.2 %d\n2001:db8::5 %d\n127.0.0.3 %d\n' % (t, t, t - 4000), True)
    d = env.start()
    sm = env.client(d.sm)
    pol = env.client(d.pol)
    expect_sm(sm, '127.0.0.2', 'OK OK', 'makemap -N grant')
    expect_sm(sm, 'IPv6:2001:db8:0:0:0:0:0:5', 'OK OK',
              'sendmail\'s form finds a grant stored only as 2001:db8::5')
    expect_policy(pol, '2001:db8::5', 'action=OK', 'makemap -N IPv6 grant')
    expect_sm(sm, '127.0.0.3', NOTFOUND, 'makemap -N stale grant')
    build('127.0.0.4 %d\n' % now(), False)
    expect_sm(sm, '127.0.0.4', 'OK OK', 'makemap rebuild (no NUL) seen at once')
    expect_sm(sm, '127.0.0.2', NOTFOUND, 'entry gone after the makemap rebuild')
    # Values that are not epoch seconds (a sendmail access-map "RELAY", a
    # sign, an overflow) are never taken as a grant.
    build('127.0.0.5 RELAY\n127.0.0.6 -5\n127.0.0.7 %s\n127.0.0.8 %d\n'
          % ('9' * 30, now()), False)
    for address in ('127.0.0.5', '127.0.0.6', '127.0.0.7'):
        expect_sm(sm, address, NOTFOUND, 'stored value is not epoch seconds')
        expect_policy(pol, address, 'action=DUNNO', 'stored value is not epoch seconds')
    expect_sm(sm, '127.0.0.8', 'OK OK', 'well-formed grant beside them')


@case('tempfail/store-missing-at-start',
      'with no store at start the daemon runs and answers TEMP / 451, never '
      'OK, and serves grants as soon as the store appears')
def case_missing_at_start(env):
    d = env.start()
    check(not os.path.exists(env.store), 'the daemon did not create the store')
    sm = env.client(d.sm)
    pol = env.client(d.pol)
    for _ in range(3):
        expect_sm(sm, '127.0.0.2', TEMP, 'store missing')
        expect_policy(pol, '127.0.0.2', ACTION_451, 'store missing')
    time.sleep(0.1)
    check('result=tempfail' in d.log(), 'temporary failure logged')
    env.vsm('add', '127.0.0.2')
    expect_sm(sm, '127.0.0.2', 'OK OK', 'store created by vsmtprelay add')
    expect_policy(pol, '127.0.0.2', 'action=OK', 'store created')
    expect_sm(sm, '127.0.0.3', NOTFOUND, 'store created, no grant')


@case('tempfail/store-deleted-garbage-unreadable-locked',
      'a store deleted, replaced by a non-DB file (by rename and in place), '
      'made unreadable to nobody (file or directory), or locked past '
      'relay_db_lock_timeout gives TEMP / 451 for a granted address, never '
      'OK; each time the restored store is served again at once')
def case_tempfail(env):
    env.vsm('add', '127.0.0.2')
    d = env.start(extra=['relay_db_lock_timeout = 1s'])
    sm = env.client(d.sm)
    pol = env.client(d.pol)

    def expect_normal(why):
        expect_sm(sm, '127.0.0.2', 'OK OK', why)
        expect_policy(pol, '127.0.0.2', 'action=OK', why)
        expect_sm(sm, '127.0.0.3', NOTFOUND, why)

    def expect_temp(why):
        for _ in range(2):
            expect_sm(sm, '127.0.0.2', TEMP, why)
            expect_policy(pol, '127.0.0.2', ACTION_451, why)
            expect_sm(sm, '127.0.0.3', TEMP, why)

    expect_normal('store present')
    with open(env.store, 'rb') as f:
        good = f.read()

    os.unlink(env.store)
    expect_temp('store deleted')
    env.vsm('add', '127.0.0.2')
    expect_normal('store recreated by vsmtprelay add')

    with open(env.store, 'rb') as f:
        good = f.read()
    garbage = (b'this is not a Berkeley DB hash file\n' * 400)[:len(good)]
    tmp = env.path('garbage.tmp')
    with open(tmp, 'wb') as f:
        f.write(garbage)
    os.chmod(tmp, 0o644)
    os.rename(tmp, env.store)
    expect_temp('store replaced by garbage (rename)')
    with open(tmp, 'wb') as f:
        f.write(good)
    os.chmod(tmp, 0o644)
    os.rename(tmp, env.store)
    expect_normal('good store renamed back')

    with open(env.store, 'r+b') as f:
        f.write(garbage)
    expect_temp('store overwritten in place by garbage of the same size')
    with open(env.store, 'r+b') as f:
        f.write(good)
    expect_normal('good bytes written back in place')

    os.chmod(env.store, 0o000)
    expect_temp('store mode 000, daemon runs as nobody')
    os.chmod(env.store, 0o644)
    expect_normal('store mode 0644 again')

    os.chmod(env.dir, 0o700)
    expect_temp('store directory not searchable by nobody')
    os.chmod(env.dir, 0o755)
    expect_normal('directory mode 0755 again')

    fd = os.open(env.store, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        started = time.monotonic()
        expect_sm(sm, '127.0.0.2', TEMP, 'store locked by a writer')
        waited = time.monotonic() - started
        check(0.5 <= waited <= 4, 'TEMP after about relay_db_lock_timeout=1s, '
              'took %.2fs' % waited)
    finally:
        os.close(fd)
    expect_normal('lock released')
    check(d.running(), 'daemon survived every store failure')


@case('socketmap/framing-violations',
      'every netstring framing error closes the connection without an answer; '
      'a length over 1024 is refused before any payload is sent')
def case_sm_framing(env):
    env.vsm('add', '127.0.0.2')
    d = env.start()
    bad = [
        (b'x:relaygate 127.0.0.2,', 'length not a digit'),
        (b'-1:a,', 'sign'),
        (b'+5:hello,', 'sign'),
        (b' 5:hello,', 'leading blank'),
        (b'5 :hello,', 'blank after length'),
        (b'05:hello,', 'leading zero'),
        (b'00:,', 'leading zero on zero'),
        (b'5;hello,', "';' instead of ':'"),
        (b'5hello,', "missing ':'"),
        (b'5:hello;', "';' instead of ','"),
        (b'5:helloX', "missing ','"),
        (b'3:hello,', 'payload longer than its length'),
        (b'1025:', 'length 1025, nothing after the colon'),
        (b'1025', 'length 1025, no colon yet'),
        (b'99999999999999999999999999:', 'length overflowing 64 bits'),
        (b'\r\n', 'CRLF instead of a netstring'),
        (b'GET / HTTP/1.0\r\n\r\n', 'another protocol'),
    ]
    for data, why in bad:
        c = env.client(d.sm)
        send_ignoring_reset(c, data)
        closed, got = c.wait_closed()
        check(closed and got == b'', '%r (%s): expected close without answer, '
              'got closed=%s data=%r' % (data, why, closed, got))
    # An answer already due is still sent before a later framing error.
    c = env.client(d.sm)
    c.send(sm_request('127.0.0.2') + b'7;garbage')
    closed, got = c.wait_closed()
    check(closed, 'good request then framing error: connection closed')
    check(got == b'5:OK OK,', 'good request then framing error: its answer is '
          'sent before the close, got %r' % got)
    check(d.running(), 'daemon survived the framing errors')
    time.sleep(0.1)
    check('socketmap client closed' in d.log(), 'framing errors are logged')


@case('socketmap/perm-and-limits',
      'malformed payloads and unknown map names get PERM and the connection '
      'stays usable; 1024 is the largest length accepted')
def case_sm_perm(env):
    env.vsm('add', '127.0.0.2')
    d = env.start()
    c = env.client(d.sm)
    perm = [
        (netstring(b''), 'empty payload'),
        (netstring(b'relaygate'), 'no space'),
        (netstring(b' 127.0.0.2'), 'empty map name'),
        (netstring(b'other 127.0.0.2'), 'unknown map name'),
        (netstring(b'RELAYGATE 127.0.0.2'), 'map name in another case'),
        (netstring(b'relaygate\x00 127.0.0.2'), 'NUL in the map name'),
        (netstring(b'relaygate 127.0.0.2\x00'), 'NUL in the key'),
        (netstring(b'relaygate ' + b'1' * 257), 'key over 256 bytes'),
        (netstring(b'm' * 65 + b' 127.0.0.2'), 'map name over 64 bytes'),
        (netstring(b'relaygate ' + b'a' * 1014), '1024-byte payload, long key'),
    ]
    for data, why in perm:
        c.send(data)
        got = c.read_netstring()
        check(got.startswith('PERM '), '%s: expected PERM, got %r' % (why, got))
        expect_sm(c, '127.0.0.2', 'OK OK', 'same connection after PERM (%s)' % why)
    expect_sm(c, '1' * 256, NOTFOUND, 'a 256-byte key is allowed')


@case('socketmap/truncated-then-eof',
      'a request cut short by EOF is not answered and the connection is '
      'closed; a whole request before EOF is answered first')
def case_sm_eof(env):
    env.vsm('add', '127.0.0.2')
    d = env.start()
    for data in [b'20:relaygate 127.0', b'20:', b'2', sm_request('127.0.0.2')[:-1]]:
        c = env.client(d.sm)
        c.send(data)
        c.sock.shutdown(socket.SHUT_WR)
        closed, got = c.wait_closed()
        check(closed and got == b'', 'truncated %r then EOF: expected close, no '
              'answer; got closed=%s data=%r' % (data, closed, got))
    c = env.client(d.sm)
    c.send(sm_request('127.0.0.2') + sm_request('127.0.0.3'))
    c.sock.shutdown(socket.SHUT_WR)
    closed, got = c.wait_closed()
    check(closed and got == b'5:OK OK,9:NOTFOUND ,', 'two requests then EOF: '
          'both answered, then close; got closed=%s data=%r' % (closed, got))


@case('socketmap/pipelined-and-split',
      '100 requests in one send are answered in order; requests sent one byte '
      'at a time are answered correctly')
def case_sm_pipeline(env):
    env.vsm('add', '127.0.0.2')
    d = env.start()
    c = env.client(d.sm)
    keys, wants = [], []
    for i in range(100):
        kind = i % 4
        if kind == 0:
            keys.append(sm_request('127.0.0.2'))
            wants.append('OK OK')
        elif kind == 1:
            keys.append(sm_request('127.0.0.%d' % (100 + i)))
            wants.append(NOTFOUND)
        elif kind == 2:
            keys.append(sm_request('127.0.0.2', name='map%d' % i))
            wants.append('PERM unknown map map%d' % i)
        else:
            keys.append(sm_request('host%d.example' % i))
            wants.append(NOTFOUND)
    c.send(b''.join(keys))
    got = [c.read_netstring() for _ in wants]
    check(got == wants, 'pipelined answers in order; first difference at %s'
          % next((i, g, w) for i, (g, w) in enumerate(zip(got, wants)) if g != w)
          if got != wants else '')
    c2 = env.client(d.sm)
    c2.send_bytewise(sm_request('127.0.0.2') + sm_request('127.0.0.3'))
    check(c2.read_netstring() == 'OK OK', 'byte-by-byte request 1 answered OK')
    check(c2.read_netstring() == NOTFOUND, 'byte-by-byte request 2 answered NOTFOUND')


@case('socketmap/pipelined-long-answers',
      'requests whose answers exceed the 32 KiB output threshold from a single '
      'read are all answered (socketmap PERM answers are 19 times longer than '
      'a "0:," request), also when the client half-closes after sending')
def case_sm_long_answers(env):
    env.vsm('add', '127.0.0.2')
    d = env.start(extra=['lookupd_log_decisions = no'])
    n = 600
    perm = 'PERM request without a space between map name and key'
    for half_close in (False, True):
        c = env.client(d.sm)
        c.sock.settimeout(1)
        c.send(b'0:,' * n + sm_request('127.0.0.2'))
        if half_close:
            c.sock.shutdown(socket.SHUT_WR)
        answers = []
        try:
            while len(answers) < n + 1:
                answers.append(c.read_netstring())
        except (CheckFailed, OSError):
            pass
        check(all(a == perm for a in answers[:n]), 'pipelined answers are %r' % perm)
        check(answers[n:] in ([], ['OK OK']), 'last answer OK OK: %r' % answers[n:])
        check(len(answers) == n + 1, '%d requests%s: all answered, got %d answers'
              % (n + 1, ' then EOF' if half_close else '', len(answers)))
        c.close()
    check(d.running(), 'daemon still running')


@case('policy/violations',
      'a policy line without "=", over 4096 bytes, a request over 65536 bytes, '
      'a NUL byte, a missing or wrong request= (the last one counts) closes '
      'the connection without answer')
def case_policy_violations(env):
    env.vsm('add', '127.0.0.2')
    d = env.start()
    R = b'request=smtpd_access_policy\n'
    many_lines = b''.join(b'x_attribute_%05d=%s\n' % (i, b'a' * 80)
                          for i in range(700))
    bad = [
        (R + b'client_address 127.0.0.2\n\n', "line without '='"),
        (R + b'=127.0.0.2\n\n', 'line without a name'),
        (R + b'ccert_subject=' + b'a' * 5000 + b'\n\n', '5000-byte line'),
        (R + b'ccert_subject=' + b'a' * 5000, '5000-byte line, no newline yet'),
        (R + many_lines + b'\n', '70000-byte request'),
        (R + many_lines, '70000-byte request, no end yet'),
        (R + b'client_address=127.0.0.2\x00\n\n', 'NUL in a value'),
        (R + b'client_\x00address=127.0.0.2', 'NUL, no newline yet'),
        (b'client_address=127.0.0.2\n\n', 'no request='),
        (b'request=junk\nclient_address=127.0.0.2\n\n', 'request=junk'),
        (b'request=smtpd_access_policyX\nclient_address=127.0.0.2\n\n',
         'request=smtpd_access_policyX'),
        (R + b'request=junk\nclient_address=127.0.0.2\n\n',
         'request= twice, the last one junk'),
        (b'\n', 'empty block (no request=)'),
    ]
    for data, why in bad:
        c = env.client(d.pol)
        send_ignoring_reset(c, data)
        closed, got = c.wait_closed()
        check(closed and got == b'', '%s: expected close without answer, got '
              'closed=%s data=%r' % (why, closed, got))
    c = env.client(d.pol)
    c.send(policy_request('127.0.0.2') + b'client_address 127.0.0.2\n\n')
    closed, got = c.wait_closed()
    check(closed, 'good block then a bad one: connection closed')
    check(got == b'action=OK\n\n', 'good block then a bad one: the first is '
          'answered before the close, got %r' % got)
    c = env.client(d.pol)
    c.send(R + b'client_address=127.0.0.2\n')
    c.sock.shutdown(socket.SHUT_WR)
    closed, got = c.wait_closed()
    check(closed and got == b'', 'truncated block then EOF: close without '
          'answer; got closed=%s data=%r' % (closed, got))
    check(d.running(), 'daemon survived the policy violations')


@case('policy/repeated-and-odd-attributes',
      'SMTPD_POLICY_README: of an attribute sent twice the last value counts '
      '(client_address and request), attributes with any name but "=", NUL '
      'and newline are ignored (blank, dot, colon, 8-bit), a client_address '
      'too long for any address is none (DUNNO); the connection stays open '
      'for the next request')
def case_policy_repeated(env):
    env.vsm('add', '127.0.0.2')
    d = env.start()
    R = b'request=smtpd_access_policy\n'
    c = env.client(d.pol)
    cases = [
        (R + b'client_address=127.0.0.3\nclient_address=127.0.0.2\n\n',
         'action=OK', 'client_address twice, the granted one last'),
        (R + b'client_address=127.0.0.2\nclient_address=127.0.0.3\n\n',
         'action=DUNNO', 'client_address twice, the granted one first'),
        (R + R + b'client_address=127.0.0.2\n\n', 'action=OK',
         'request twice'),
        (b'request=junk\n' + R + b'client_address=127.0.0.2\n\n',
         'action=OK', 'request= twice, the right one last'),
        (R + b'bad name=1\nx.y=2\nfoo:bar=3\n\xe9t\xe9=4\n'
         b'client_address=127.0.0.2\n\n', 'action=OK',
         'odd attribute names'),
        (R + b'client_address=' + b'1' * 300 + b'\n\n', 'action=DUNNO',
         'a 300-byte client_address'),
        (R + b'client_address=127.0.0.2' + b' ' * 300 + b'\n\n',
         'action=DUNNO', 'a granted address padded to 300 bytes'),
    ]
    for data, want, why in cases:
        c.send(data)
        got = c.read_policy()
        check(got == want, '%s: %s, got %r' % (why, want, got))
    check(c.policy('127.0.0.2') == 'action=OK', 'the connection still '
          'serves requests')
    check(d.running(), 'daemon still running')


@case('socketmap/pipelined-then-half-close',
      'a client that pipelines many requests, closes its sending side at '
      'once, waits and then reads through a small receive buffer gets every '
      'answer, in order, before the daemon closes: 1428 socketmap requests '
      'small enough to be read whole with the EOF before the output fills '
      '(most of them malformed payloads, which get PERM), 3000 mixed ones, '
      'and 1000 policy requests')
def case_pipelined_half_close(env):
    env.vsm('add', '127.0.0.2')
    d = env.start()

    def socketmap_stream(count, every):
        """COUNT requests, every EVERY-th a lookup of 127.0.0.2 (OK), the
        others "0:," (PERM) or, with EVERY < 3, of 127.0.0.9 (NOTFOUND)."""
        data, want = b'', []
        for i in range(count):
            if i % every == 0:
                data += sm_request('127.0.0.2')
                want.append(b'OK ')
            elif every < 3 and i % every == 1:
                data += sm_request('127.0.0.9')
                want.append(b'NOTFOUND ')
            else:
                data += b'0:,'
                want.append(b'PERM ')
        return data, want

    def netstrings(got):
        answers = []
        while got:
            m = re.match(rb'(\d+):', got)
            check(m is not None, 'socketmap: a netstring: %r' % got[:40])
            n = int(m.group(1))
            answers.append(got[m.end():m.end() + n])
            got = got[m.end() + n + 1:]
        return answers

    small, small_want = socketmap_stream(1428, 51)
    check(len(small) < 4096 + 1024, 'the small stream fits one read and the '
          'input cap: %d bytes' % len(small))
    mixed, mixed_want = socketmap_stream(3000, 2)
    policy = b''.join(policy_request(a) for a in ['127.0.0.2',
                                                  '127.0.0.9'] * 500)
    for what, address, payload, want in (
            ('socketmap, small', d.sm, small, small_want),
            ('socketmap, mixed', d.sm, mixed, mixed_want),
            ('policy', d.pol, policy, [b'action=OK', b'action=DUNNO'] * 500)):
        sock = socket.socket(socket.AF_UNIX if isinstance(address, str)
                             else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(30)
        sock.connect(address)
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        time.sleep(0.5)        # the daemon fills its output and waits
        got = b''
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        sock.close()
        if what == 'policy':
            answers = got.split(b'\n\n')[:-1]
        else:
            answers = netstrings(got)
        check(len(answers) == len(want), '%s: %d answers before the close, '
              'got %d' % (what, len(want), len(answers)))
        for i, (a, w) in enumerate(zip(answers, want)):
            check(a.startswith(w), '%s: answer %d: %r..., got %r'
                  % (what, i, w, a))
    check(d.running(), 'daemon still running')


@case('policy/accepted-forms',
      'CRLF lines, unknown and odd attributes, a 4000-byte line, a 60000-byte '
      'request, pipelined blocks and byte-by-byte blocks are answered; an '
      'empty or missing client_address gets DUNNO')
def case_policy_ok(env):
    env.vsm('add', '127.0.0.2')
    env.vsm('add', '2001:db8::5')
    d = env.start()
    c = env.client(d.pol)
    c.send(b'request=smtpd_access_policy\r\nclient_address=127.0.0.2\r\n\r\n')
    check(c.read_policy() == 'action=OK', 'CRLF block answered action=OK')
    postfix = ['protocol_state=RCPT', 'helo_name=client.example',
               'queue_id=8045F2AB23', 'sender=evil"\x1b[2J@example.org',
               'recipient=b@example.net', 'recipient_count=0',
               'client_name=client.example', 'reverse_client_name=client.example',
               'instance=123.456.7', 'sasl_method=', 'sasl_username=a=b=c',
               'size=12345', 'ccert_subject=', 'encryption_protocol=TLSv1.3',
               'stress=', 'client_port=40000', 'policy_context=',
               'server_address=127.0.0.1', 'server_port=25',
               'future_attribute_2030=anything goes: here',
               'UPPER-case_name=1']
    expect_policy(c, '127.0.0.2', 'action=OK', 'full Postfix request', postfix)
    expect_policy(c, '2001:db8::5', 'action=OK', 'IPv6 client', postfix)
    expect_policy(c, '', 'action=DUNNO', 'empty client_address')
    expect_policy(c, None, 'action=DUNNO', 'no client_address')
    expect_policy(c, '127.0.0.2', 'action=OK', '4000-byte attribute line',
                  ['ccert_subject=' + 'a' * 4000])
    big = ['x_attribute_%05d=%s' % (i, 'a' * 80) for i in range(600)]
    expect_policy(c, '127.0.0.2', 'action=OK', '~60000-byte request', big)
    blocks, wants = [], []
    for i in range(50):
        granted = i % 3 == 0
        blocks.append(policy_request('127.0.0.2' if granted else '127.0.1.%d' % i,
                                     crlf=i % 2 == 1))
        wants.append('action=OK' if granted else 'action=DUNNO')
    c.send(b''.join(blocks))
    got = [c.read_policy() for _ in wants]
    check(got == wants, 'pipelined blocks answered in order: got %s' % got)
    c2 = env.client(d.pol)
    c2.send_bytewise(policy_request('127.0.0.2') + policy_request('127.0.0.3'))
    check(c2.read_policy() == 'action=OK', 'byte-by-byte block 1: action=OK')
    check(c2.read_policy() == 'action=DUNNO', 'byte-by-byte block 2: action=DUNNO')
    time.sleep(0.1)
    check('\x1b' not in d.log(), 'escape byte from a policy sender reached the log')


def run_clients(count, body):
    """Run BODY(i, barrier) in COUNT threads; return the list of errors."""
    errors = []
    lock = threading.Lock()
    barrier = threading.Barrier(count)

    def runner(i):
        try:
            body(i, barrier)
        except Exception as e:     # noqa: BLE001 - collected and reported
            with lock:
                errors.append('client %d: %s: %s' % (i, type(e).__name__, e))
            try:
                barrier.abort()
            except threading.BrokenBarrierError:
                pass
    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


@case('concurrency/300-clients',
      '300 simultaneous connections (both protocols), each with several '
      'queries, are all answered correctly')
def case_concurrency(env):
    env.vsm('add', '127.0.0.2')
    env.vsm('add', '2001:db8::5')
    d = env.start()

    def body(i, barrier):
        c = Client(d.sm if i % 2 == 0 else d.pol)
        try:
            barrier.wait(30)
            for q in range(6):
                address = ['127.0.0.2', '127.0.3.%d' % (i % 250), '2001:db8::5'][q % 3]
                relay = q % 3 != 1
                if i % 2 == 0:
                    got = c.sm(address)
                    want = 'OK OK' if relay else NOTFOUND
                else:
                    got = c.policy(address)
                    want = 'action=OK' if relay else 'action=DUNNO'
                if got != want:
                    raise CheckFailed('%s: got %r, expected %r' % (address, got, want))
        finally:
            c.close()
    errors = run_clients(300, body)
    check(not errors, '%d of 300 clients failed, first: %s' % (len(errors), errors[:3]))


@case('concurrency/readers-during-writes',
      'while two vsmtprelay writers add and delete other grants (growing the '
      'store), 10 clients querying a stable grant always get OK, never TEMP '
      'or NOTFOUND')
def case_readers_during_writes(env):
    env.vsm('add', '127.0.0.2')
    d = env.start(extra=['lookupd_log_decisions = no'])
    stop = threading.Event()
    answers = {}
    errors = []

    def writer(w):
        try:
            i = 0
            while not stop.is_set():
                address = '10.%d.%d.%d' % (w, i // 250 % 250, i % 250)
                env.vsm('add', address)
                if i % 3 == 0:
                    env.vsm('delete', address)
                i += 1
        except Exception as e:      # noqa: BLE001 - reported below
            errors.append('writer %d: %s' % (w, e))

    def reader(k):
        try:
            c = Client(d.sm if k % 2 else d.pol)
            while not stop.is_set():
                got = c.sm('127.0.0.2') if k % 2 else c.policy('127.0.0.2')
                answers[got] = answers.get(got, 0) + 1
            c.close()
        except Exception as e:      # noqa: BLE001 - reported below
            errors.append('reader %d: %s' % (k, e))
    threads = [threading.Thread(target=writer, args=(w,)) for w in range(2)]
    threads += [threading.Thread(target=reader, args=(k,)) for k in range(10)]
    for t in threads:
        t.start()
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join(30)
    check(not errors, 'clients and writers ran: %s' % errors[:3])
    check(set(answers) <= {'OK OK', 'action=OK'} and answers,
          'only OK answers during writes: %s' % answers)
    print('    (%d answers during the writes)' % sum(answers.values()))


@case('concurrency/max-connections-queue',
      'with lookupd_max_connections=10, 30 clients are not refused: 10 are '
      'served, the others wait in the listen queue and are served as others '
      'close')
def case_max_connections(env):
    env.vsm('add', '127.0.0.2')
    d = env.start(extra=['lookupd_max_connections = 10'])
    clients = [env.client(d.sm) for _ in range(30)]
    for c in clients:
        c.send(sm_request('127.0.0.2'))
    answered = set()

    def collect(wait):
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            pending = [c for c in clients if id(c) not in answered]
            if not pending:
                return
            readable, _, _ = select.select([c.sock for c in pending], [], [],
                                           max(0.0, deadline - time.monotonic()))
            for c in pending:
                if c.sock in readable:
                    c.sock.settimeout(IO_TIMEOUT)
                    got = c.read_netstring()
                    check(got == 'OK OK', 'queued client answered OK, got %r' % got)
                    answered.add(id(c))

    for batch in range(3):
        collect(0.8)
        served = [c for c in clients if id(c) in answered]
        check(len(served) == 10 * (batch + 1),
              'after round %d: %d clients served, expected %d (limit 10)'
              % (batch + 1, len(served), 10 * (batch + 1)))
        for c in served:
            if c.sock.fileno() >= 0:
                expect_sm(c, '127.0.0.3', NOTFOUND, 'served client still usable')
                c.close()
    time.sleep(0.1)
    check('lookupd_max_connections' in d.log(), 'reaching the limit is logged')


@case('limits/idle-timeout',
      'with lookupd_idle_timeout=2s an idle connection (or one with half a '
      'request) is closed by the daemon, without data, while a connection '
      'that keeps querying stays open; with 1s a connection is not closed '
      'after much less than 1 s of idleness')
def case_idle(env):
    env.vsm('add', '127.0.0.2')
    d = env.start(extra=['lookupd_idle_timeout = 2s'])
    idle = env.client(d.sm)
    half = env.client(d.pol)
    half.send(b'request=smtpd_access_policy\nclient_')
    busy = env.client(d.pol)
    started = time.monotonic()
    result = {}

    def watch(name, c):
        result[name] = (c.wait_closed(6.0), time.monotonic() - started)
    threads = [threading.Thread(target=watch, args=(n, c))
               for n, c in (('idle', idle), ('half', half))]
    for t in threads:
        t.start()
    while time.monotonic() - started < 4.0:
        expect_policy(busy, '127.0.0.2', 'action=OK', 'busy connection')
        time.sleep(0.4)
    for t in threads:
        t.join()
    for name in ('idle', 'half'):
        (closed, data), when = result[name]
        # Whole-second clock in the daemon: closed between 1 and 3 s.
        check(closed and data == b'' and 0.9 <= when <= 4.0,
              '%s connection closed by the daemon within 4 s, without data: '
              'closed=%s after %.1fs data=%r' % (name, closed, when, data))
    expect_policy(busy, '127.0.0.2', 'action=OK', 'busy connection after 4 s')
    d.stop()

    # The daemon stamps activity with time(NULL) and closes when
    # now - last_active >= timeout, so a connection opened just before a
    # second boundary is closed just after the next one when the loop is
    # kept awake by other clients.
    d = env.start(extra=['lookupd_idle_timeout = 1s'])
    time.sleep((1.80 - time.time() % 1.0) % 1.0)
    busy = env.client(d.sm)
    expect_sm(busy, '127.0.0.2', 'OK OK', 'busy connection')
    victim = env.client(d.sm)
    connected = time.monotonic()
    while time.monotonic() - connected < 0.5:
        expect_sm(busy, '127.0.0.2', 'OK OK', 'busy connection')
        time.sleep(0.03)
    try:
        got = victim.sm('127.0.0.2')
    except (CheckFailed, OSError) as e:
        got = 'closed (%s)' % e
    check(got == 'OK OK', 'a connection idle for 0.5 s with lookupd_idle_timeout '
          '= 1s is still open: got %s' % got)


@case('limits/slow-reader',
      'clients that pipeline many requests without reading (10,000 over TCP, '
      '100,000 over a unix socket, where the daemon must stop reading them) '
      'do not stall other clients, and get every answer in order once they read')
def case_slow_reader(env):
    env.vsm('add', '127.0.0.2')
    sm_unix = env.path('socketmap.sock')
    d = env.start(socketmap='inet:127.0.0.1:%d, unix:%s' % (free_port(), sm_unix),
                  extra=['lookupd_log_decisions = no'])

    def sm_batch(n):
        return (b''.join(sm_request('127.0.0.2' if i % 2 == 0 else '127.0.0.3')
                         for i in range(n)),
                ['OK OK' if i % 2 == 0 else NOTFOUND for i in range(n)])

    def pol_batch(n):
        return (b''.join(policy_request('127.0.0.2' if i % 2 == 0 else '127.0.0.3')
                         for i in range(n)),
                ['action=OK' if i % 2 == 0 else 'action=DUNNO' for i in range(n)])

    slow = [('socketmap over TCP, 10,000', Client(d.sm, timeout=30, rcvbuf=4096),
             sm_batch(10000), Client.read_netstring),
            ('policy over TCP, 10,000', Client(d.pol, timeout=30, rcvbuf=4096),
             pol_batch(10000), Client.read_policy),
            ('socketmap over unix, 100,000', Client(sm_unix, socket.AF_UNIX,
                                                    timeout=30),
             sm_batch(100000), Client.read_netstring)]
    env.clients += [s[1] for s in slow]
    errors = []

    def sender(c, data):
        try:
            c.send(data)
        except OSError as e:
            errors.append('sender: %s' % e)
    senders = [threading.Thread(target=sender, args=(s[1], s[2][0])) for s in slow]
    for t in senders:
        t.start()
    time.sleep(0.5)
    check(senders[2].is_alive(), 'the unix client sending 100,000 requests '
          'without reading is blocked (the daemon stopped reading it)')
    for (what, _, _, _), t in zip(slow, senders):
        print('    (%s: %s)' % (what, 'blocked sending' if t.is_alive()
                                else 'all sent, answers queued in the kernel'))
    other_sm = env.client(d.sm)
    other_pol = env.client(d.pol)
    other_unix = env.client(sm_unix)
    started = time.monotonic()
    for i in range(50):
        expect_sm(other_sm, '127.0.0.2', 'OK OK', 'other client')
        expect_policy(other_pol, '127.0.0.3', 'action=DUNNO', 'other client')
        expect_sm(other_unix, '127.0.0.3', NOTFOUND, 'other unix client')
        fresh = env.client(d.sm if i % 2 else d.pol)
        if i % 2:
            expect_sm(fresh, '127.0.0.2', 'OK OK', 'new client')
        else:
            expect_policy(fresh, '127.0.0.2', 'action=OK', 'new client')
        fresh.close()
    took = time.monotonic() - started
    check(took < 5, '200 queries of other clients took %.1fs' % took)
    check(senders[2].is_alive(), 'the unix slow client is still blocked')
    for what, c, (_, wants), read in slow:
        got = [read(c) for _ in wants]
        check(got == wants, '%s: every answer, in order' % what)
    for t in senders:
        t.join(30)
    check(not errors, 'slow senders: %s' % errors)
    check(' decision ' not in d.log(), 'lookupd_log_decisions = no: no decision '
          'lines logged')


@case('expire/sweeper',
      'with lookupd_expire=yes the sweeper deletes stale grants (both IPv6 '
      'keys) soon after start and keeps fresh ones; the daemon still reads the '
      'store it rewrote; the sweeper exits with the daemon')
def case_expire(env):
    t = now()
    env.vsm('add', '127.0.0.2')
    env.vsm('add', '127.0.0.3', t - 4000)
    env.vsm('add', '2001:db8::7', t - 4000)
    env.vsm('add', '2001:db8::8')
    for i in range(300):
        env.vsm('add', '10.9.%d.%d' % (i // 200, i % 200), t - 4000)
    d = env.start(extra=['lookupd_expire = yes'])
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        dump = env.vsm('dump')
        if '127.0.0.3 ' not in dump:
            break
        time.sleep(0.1)
    keys = [l.split()[0] for l in dump.splitlines() if l and not l.startswith('#')]
    check(sorted(keys) == sorted(['127.0.0.2', '2001:db8::8', '2001:db8:0:0:0:0:0:8']),
          'after the first sweep only fresh grants remain; store holds %s'
          % (keys[:10],))
    sm = env.client(d.sm)
    expect_sm(sm, '127.0.0.2', 'OK OK', 'fresh grant kept, store readable by nobody')
    expect_sm(sm, 'IPv6:2001:db8:0:0:0:0:0:8', 'OK OK', 'fresh IPv6 grant kept')
    expect_sm(sm, '127.0.0.3', NOTFOUND, 'stale grant gone')
    children = d.children()
    check(len(children) == 1, 'one sweeper child, found %s' % children)
    env.strays += children

    def gone(pids, wait):
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(
                os.path.exists('/proc/%d' % p) for p in pids):
            time.sleep(0.05)
        return not any(os.path.exists('/proc/%d' % p) for p in pids)
    rc = d.stop(timeout=2)
    check(rc == 0, 'SIGTERM: exit 0 within 2 s, got %s (-9: it hung and was '
          'killed)' % rc)
    if rc == 0:
        check(gone(children, 2), 'sweeper %s stopped by SIGTERM' % children)

    # A daemon that dies without cleaning up must not leave the root
    # sweeper behind. Kill it once the sweeper has swept (and sleeps).
    env.vsm('add', '127.0.0.3', now() - 4000)
    d2 = env.start(extra=['lookupd_expire = yes'])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and 'expire removed=' not in d2.log():
        time.sleep(0.05)
    check('expire removed=1 ' in d2.log(), 'second daemon\'s sweeper swept: %r'
          % d2.log())
    time.sleep(0.2)
    children = d2.children()
    check(len(children) == 1, 'one sweeper child, found %s' % children)
    env.strays += children
    d2.kill9()
    check(gone(children, 2), 'sweeper %s exits within 2 s of its daemon\'s '
          'SIGKILL' % children)


@case('config-check/-t',
      'relaygate-lookupd -t exits 78 naming FILE:LINE for each bad setting, '
      'names the file when nothing is to be listened on, and exits 0 for a '
      'good configuration without opening any socket; starting exits 78 for '
      'lookupd_user = root and 69 for a port in use')
def case_config_check(env):
    def run_t(lines):
        conf = env.write_conf(lines)
        r = subprocess.run([env.lookupd, '-t', '-c', conf], capture_output=True,
                           text=True, timeout=10)
        return conf, r

    base = ['relay_db = ' + env.store, 'relay_window = 30m']
    listen = 'lookupd_policy_listen = inet:127.0.0.1:10040'
    bad = [
        ('unknown key', [listen, 'lookupd_bogus = 1'], 'lookupd_bogus'),
        ('host name endpoint', ['lookupd_socketmap_listen = inet:localhost:25'],
         'localhost'),
        ('relative unix path', ['lookupd_policy_listen = unix:relative'],
         'unix:relative'),
        ('port 0', ['lookupd_policy_listen = inet:127.0.0.1:0'], 'port'),
        ('port 65536', ['lookupd_policy_listen = inet:127.0.0.1:65536'], 'port'),
        ('IPv6 without brackets', ['lookupd_policy_listen = inet:::1:25'],
         'brackets'),
        ('max_connections 0', [listen, 'lookupd_max_connections = 0'],
         'lookupd_max_connections'),
        ('idle_timeout 0s', [listen, 'lookupd_idle_timeout = 0s'],
         'lookupd_idle_timeout'),
        ('expire maybe', [listen, 'lookupd_expire = maybe'], 'lookupd_expire'),
        ('bad map name', [listen, 'lookupd_socketmap_name = re/lay'],
         'lookupd_socketmap_name'),
        ('key set twice', [listen, listen], 'more than once'),
    ]
    for why, lines, word in bad:
        conf, r = run_t(base + lines)
        line_no = 1 + len(base) + len(lines)
        check(r.returncode == 78, '%s: exit 78, got %d: %s' % (why, r.returncode,
                                                             r.stderr.strip()))
        check('%s:%d:' % (conf, line_no) in r.stderr and word in r.stderr,
              '%s: message names %s:%d and %r; got %r'
              % (why, conf, line_no, word, r.stderr.strip()))
    conf, r = run_t(base)
    check(r.returncode == 78 and conf in r.stderr and 'listen' in r.stderr,
          'no listener: exit 78 naming the file, got %d %r'
          % (r.returncode, r.stderr.strip()))
    conf, r = run_t([listen, 'lookupd_user = nosuchuser_relaygate'])
    check(r.returncode == 78 and 'nosuchuser_relaygate' in r.stderr,
          'unknown lookupd_user: exit 78 naming the user, got %d %r'
          % (r.returncode, r.stderr.strip()))
    check('%s:3:' % conf in r.stderr, 'unknown lookupd_user: message names %s:3; '
          'got %r' % (conf, r.stderr.strip()))
    # lookupd_user = root is a configuration error, for -t and for a start.
    conf, r = run_t([listen, 'lookupd_user = root'])
    start = subprocess.run([env.lookupd, '-F', '-c', conf], capture_output=True,
                           text=True, timeout=10)
    check(r.returncode == 78 and '%s:3:' % conf in r.stderr and 'uid 0' in r.stderr,
          'lookupd_user = root: -t exits 78 naming %s:3, got %d %r'
          % (conf, r.returncode, r.stderr.strip()))
    check(start.returncode == 78 and 'uid 0' in start.stderr,
          'lookupd_user = root: start refused with exit 78, got %d %r'
          % (start.returncode, start.stderr.strip()))
    # A port another program listens on: exit 69 naming the endpoint.
    blocker = socket.socket()
    blocker.bind(('127.0.0.1', 0))
    blocker.listen(1)
    try:
        busy = 'inet:127.0.0.1:%d' % blocker.getsockname()[1]
        conf = env.write_conf(['relay_db = ' + env.store,
                               'lookupd_socketmap_listen = ' + busy])
        start = subprocess.run([env.lookupd, '-F', '-c', conf],
                               capture_output=True, text=True, timeout=10)
    finally:
        blocker.close()
    check(start.returncode == 69 and busy in start.stderr,
          'port in use: exit 69 naming %s, got %d %r'
          % (busy, start.returncode, start.stderr.strip()))
    r = subprocess.run([env.lookupd, '-t', '-c', env.path('no-such.conf')],
                       capture_output=True, text=True, timeout=10)
    check(r.returncode == 78 and 'no-such.conf' in r.stderr,
          'missing -c file: exit 78 naming it, got %d %r'
          % (r.returncode, r.stderr.strip()))
    env.vsm('add', '127.0.0.2')
    sock = env.path('check.sock')
    conf, r = run_t(base + [
        'never_relay = 0.0.0.0/8, 224.0.0.0/4',
        'relay_db_lock_timeout = 5s',
        'lookupd_socketmap_listen = unix:%s, inet:[::1]:10041' % sock,
        listen, 'lookupd_socketmap_name = relaygate-v6.test',
        'lookupd_user = nobody', 'lookupd_expire = yes',
        'lookupd_max_connections = 100000', 'lookupd_idle_timeout = 1d',
        'lookupd_log_decisions = no'])
    check(r.returncode == 0, 'good configuration: exit 0, got %d %r'
          % (r.returncode, r.stderr.strip()))
    check(not os.path.exists(sock), '-t did not create the unix socket')


@case('unix/sockets',
      'unix socket endpoints serve both protocols; a stale socket of a killed '
      'daemon is replaced; a second daemon on a live socket, or a path that '
      'is not a socket, refuses to start and leaves the path alone; SIGTERM '
      'removes the sockets and exits 0; SIGHUP keeps answering')
def case_unix(env):
    env.vsm('add', '127.0.0.2')
    # The daemon removes its sockets at exit as lookupd_user: give it a
    # directory it may write, as /run/relaygate would be.
    run = env.path('run')
    os.mkdir(run, 0o755)
    nobody = pwd.getpwnam('nobody')
    os.chown(run, nobody.pw_uid, nobody.pw_gid)
    sm_path = os.path.join(run, 'socketmap.sock')
    pol_path = os.path.join(run, 'policy.sock')
    d = env.start(socketmap='unix:' + sm_path, policy='unix:' + pol_path)
    check(os.stat(sm_path).st_mode & 0o777 == 0o666, 'unix socket mode 0666')
    expect_sm(env.client(sm_path), '127.0.0.2', 'OK OK', 'socketmap over unix')
    expect_policy(env.client(pol_path), '127.0.0.2', 'action=OK', 'policy over unix')
    d.kill9()
    check(os.path.exists(sm_path), 'SIGKILL left the socket file behind')

    d2 = env.start(socketmap='unix:' + sm_path, policy='unix:' + pol_path)
    expect_sm(env.client(sm_path), '127.0.0.2', 'OK OK', 'after stale socket replaced')
    ino = os.stat(sm_path).st_ino

    d3 = env.start(socketmap='unix:' + sm_path, policy='unix:' + pol_path,
                   expect_start=False)
    try:
        d3.proc.wait(5)
    except subprocess.TimeoutExpired:
        pass
    check(d3.proc.returncode == 69, 'second daemon on a live socket exits 69 '
          '(EX_UNAVAILABLE), got %s; log:\n%s' % (d3.proc.returncode, d3.log()))
    check('another process is listening' in d3.log(),
          'second daemon says why: %r' % d3.log())
    check(os.stat(sm_path).st_ino == ino, 'live socket file left in place')
    expect_sm(env.client(sm_path), '127.0.0.2', 'OK OK', 'first daemon still serves')
    expect_policy(env.client(pol_path), '127.0.0.2', 'action=OK',
                  'first daemon still serves')

    plain = env.path('plain-file')
    with open(plain, 'w') as f:
        f.write('not a socket\n')
    d4 = env.start(socketmap='unix:' + plain, policy='', expect_start=False)
    try:
        d4.proc.wait(5)
    except subprocess.TimeoutExpired:
        pass
    check(d4.proc.returncode == 69 and 'not a socket' in d4.log(),
          'a regular file at the socket path: refuse (69), got %s: %r'
          % (d4.proc.returncode, d4.log()))
    with open(plain) as f:
        check(f.read() == 'not a socket\n', 'regular file left untouched')

    os.kill(d2.pid, signal.SIGHUP)
    time.sleep(0.2)
    expect_sm(env.client(sm_path), '127.0.0.2', 'OK OK', 'after SIGHUP')
    check('SIGHUP: store reopened' in d2.log(), 'SIGHUP logged')
    rc = d2.stop()
    check(rc == 0, 'SIGTERM: exit 0, got %s' % rc)
    check(not os.path.exists(sm_path) and not os.path.exists(pol_path),
          'SIGTERM removed the unix sockets')


# ---------------------------------------------------------------- runner

def main():
    tools = H.find_tools({'lookupd': 'relaygate-lookupd'},
                         'it checks the drop to lookupd_user and stores that '
                         'user cannot read')
    if tools is None:
        return 1
    return H.run(CASES, lambda tmp: Env(tmp, tools), H.case_root(), 'lookupd-',
                 48, expected_to_fail=EXPECTED_TO_FAIL, log_label='daemon log')


if __name__ == '__main__':
    sys.exit(main())
