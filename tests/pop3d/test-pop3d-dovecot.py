#!/usr/bin/env python3
"""relaygate-pop3d beside a real Dovecot (IMAP) on the same Maildir, as mail
administrators run them: Dovecot for IMAP, relaygate-pop3d for POP3 (and
POP-before-SMTP). Checked with Python's imaplib and poplib.

Run by meson (suite 'pop3d'); by hand:

    VSMTPRELAY=build/vsmtprelay RELAYGATE_BUILD_ROOT=build \\
        tests/pop3d/test-pop3d-dovecot.py [CASE...]

It uses the harness of tests/lib/relaygate_test.py and the server set-up
of test-pop3d.py (fresh 0755 directory per case,
relaygate-pop3d started with -F on free loopback ports and stopped by PID,
Maildirs owned by uid 5000, root required). Each case also starts its own
Dovecot 2.3 (Debian's dovecot-core and dovecot-imapd) as root, IMAP only,
on a free 127.0.0.1 port, with every file it writes under the case
directory: its own configuration through `dovecot -c` (/etc/dovecot is not
read), base_dir, state_dir and log file there, the users from a copy of the
case's passwd-file (the format both servers read), `dovecot -F` in the
foreground, stopped by PID (SIGTERM, then SIGKILL for any of its processes
left). The system's Dovecot service is not touched.

One case (dovecot/quota-maildirsize) also loads Dovecot's quota plugin
with the Maildir++ backend in that configuration and asks Dovecot for the
usage with `doveadm -c CONF quota get|recalc -u joe` (through the running
private Dovecot's auth socket) and IMAP GETQUOTAROOT.

Both servers must agree on every message; neither may be upset by the
other's files in the Maildir (relaygate-pop3.lock and relaygate-pop3.sizes;
dovecot-uidlist, dovecot.index*, dovecot-keywords, Maildir++ folders): at
the end of each case Dovecot's log may hold no Error, Warning, Panic or
Fatal line and never mention relaygate's files, and relaygate's log no line
beyond its start, login, logout and disconnect events.

Exit status 77 (meson: skipped) when /usr/sbin/dovecot is missing.
"""
import grp
import imaplib
import os
import re
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, 'lib'))
import relaygate_test as H  # noqa: E402 - found through the path above
from relaygate_test import check  # noqa: E402
T = H.load_script(os.path.join(HERE, 'test-pop3d.py'), 'test_pop3d')

CASES = []
MESSAGES = T.MESSAGES

DOVECOT = '/usr/sbin/dovecot'
DOVECOT_IMAP = '/usr/lib/dovecot/imap'
PASSWORD = 'dc-pw-7'
# relaygate-pop3d's own files in the Maildir's top directory.
RELAYGATE_FILES = ('relaygate-pop3.lock', 'relaygate-pop3.sizes')


def case(name, proves):
    return H.case(name, proves, CASES)


# ---------------------------------------------------------------- Dovecot

class Dovecot:
    """A private Dovecot on a free loopback port (see the docstring); it
    sits in env.servers so that the harness stops it and prints its log
    when a case fails."""

    def __init__(self, env, quota=False, mail_location='maildir:~/Maildir'):
        self.env = env
        self.quota = quota
        self.mail_location = mail_location
        self.conf = None
        self.dir = env.path('dc')
        self.log_path = os.path.join(self.dir, 'log', 'dovecot.log')
        self.info_log_path = os.path.join(self.dir, 'log', 'dovecot-info.log')
        self.stdout_path = os.path.join(self.dir, 'log', 'stdout.log')
        self.proc = None
        self.pid = None
        self.port = None
        for sub in ('', 'run', 'state', 'log'):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
            os.chmod(os.path.join(self.dir, sub), 0o755)
        # the auth process runs as the user dovecot: a copy it may read
        self.passwd = os.path.join(self.dir, 'passwd')
        with open(env.passwd, 'rb') as f:
            data = f.read()
        with open(self.passwd, 'wb') as f:
            f.write(data)
        os.chown(self.passwd, 0, grp.getgrnam('dovecot').gr_gid)
        os.chmod(self.passwd, 0o640)
        env.servers.append(self)

    def write_conf(self, port):
        d = self.dir
        conf = os.path.join(d, 'dovecot.conf')
        with open(conf, 'w') as f:
            f.write('''# written by test-pop3d-dovecot.py
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/log/dovecot.log
info_log_path = {d}/log/dovecot-info.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = {mail_location}
first_valid_uid = {uid}
last_valid_uid = {uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {passwd}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
'''.format(d=d, uid=T.MAIL_UID, passwd=self.passwd, port=port,
           mail_location=self.mail_location))
            if self.quota:
                # Maildir++ quota: maildirsize in the Maildir's top directory
                f.write('''mail_plugins = $mail_plugins quota
protocol imap {
  mail_plugins = $mail_plugins imap_quota
}
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=10M
}
''')
        self.conf = conf
        return conf

    def start(self):
        """Start it; wait for its IMAP greeting on the port."""
        for attempt in range(5):
            port = H.free_port()
            conf = self.write_conf(port)
            with open(self.stdout_path, 'ab') as out:
                self.proc = subprocess.Popen([DOVECOT, '-F', '-c', conf],
                                             stdin=subprocess.DEVNULL,
                                             stdout=out, stderr=out)
            self.pid = self.proc.pid
            self.port = port
            if self.wait_ready():
                return self
            in_use = 'in use' in self.log()
            self.stop()
            if not in_use:
                break
        raise H.CheckFailed('Dovecot did not start; log:\n%s' % self.log())

    def wait_ready(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(('127.0.0.1', self.port),
                                              T.IO_TIMEOUT) as s:
                    if s.recv(200).startswith(b'* OK'):
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def log(self):
        out = ''
        for path in (self.stdout_path, self.log_path, self.info_log_path):
            try:
                with open(path, 'rb') as f:
                    out += f.read().decode(errors='replace')
            except OSError:
                pass
        return out

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def problems(self):
        """The lines of Dovecot's log that show a problem: errors,
        warnings, panics, fatal errors, any mention of relaygate."""
        return [line for line in self.log().splitlines()
                if re.search(r'\b(Error|Warning|Panic|Fatal):', line)
                or 'relaygate' in line]

    def stop(self):
        """SIGTERM to the master by PID (it stops its processes; it takes
        Dovecot about a second), SIGKILL after 10 s; then SIGKILL to any of
        its processes still there 5 s later (checked by executable)."""
        if self.proc is None:
            return None
        kids = H.descendants(self.pid) if self.proc.poll() is None else []
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait()
        deadline = time.monotonic() + 5
        while kids and time.monotonic() < deadline:
            kids = [pid for pid in kids if dovecot_process(pid)]
            time.sleep(0.02)
        for pid in kids:
            if dovecot_process(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        return self.proc.returncode


def dovecot_process(pid):
    """Whether PID is (still) a running Dovecot process."""
    try:
        exe = os.readlink('/proc/%d/exe' % pid)
        with open('/proc/%d/stat' % pid) as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
    except OSError:
        return False
    return state != 'Z' and (exe.startswith('/usr/lib/dovecot/')
                             or exe == DOVECOT)


class Imap:
    """An imaplib session of USER with the helpers the cases need."""

    def __init__(self, dovecot, user='joe', password=PASSWORD):
        self.m = imaplib.IMAP4('127.0.0.1', dovecot.port, timeout=T.IO_TIMEOUT)
        typ, data = self.m.login(user, password)
        check(typ == 'OK', 'IMAP LOGIN %s: OK, got %r %r' % (user, typ, data))

    def ok(self, result, what):
        typ, data = result
        check(typ == 'OK', 'IMAP %s: OK, got %r %r' % (what, typ, data))
        return data

    def select(self, mailbox='INBOX'):
        data = self.ok(self.m.select(mailbox), 'SELECT ' + mailbox)
        return int(data[0])

    def messages(self):
        """[(uid, flags, rfc822_size, body)] of the selected mailbox."""
        data = self.ok(self.m.uid('SEARCH', 'ALL'), 'UID SEARCH ALL')
        if not data[0].split():
            return []
        data = self.ok(self.m.uid('FETCH', '1:*',
                                  '(FLAGS RFC822.SIZE BODY.PEEK[])'),
                       'UID FETCH')
        out = []
        for item in data:
            if not isinstance(item, tuple):
                continue
            head, body = item
            uid = re.search(rb'UID (\d+)', head)
            flags = re.search(rb'FLAGS \(([^)]*)\)', head)
            size = re.search(rb'RFC822\.SIZE (\d+)', head)
            check(uid and flags and size, 'IMAP FETCH answer: %r' % head)
            out.append((int(uid.group(1)), flags.group(1).split(),
                        int(size.group(1)), body))
        return out

    def uid_of(self, data):
        """The UID of the message whose body is the CRLF form of DATA."""
        want = T.crlf_form(data)
        found = [m[0] for m in self.messages() if m[3] == want]
        check(len(found) == 1, 'IMAP holds the message %r once: UIDs %r'
              % (data[:40], found))
        return found[0]

    def store(self, uid, flags):
        self.ok(self.m.uid('STORE', str(uid), '+FLAGS', flags),
                'UID STORE %s +FLAGS %s' % (uid, flags))

    def expunge(self, uid):
        """\\Deleted on UID only, then EXPUNGE."""
        self.store(uid, '(\\Deleted)')
        self.ok(self.m.expunge(), 'EXPUNGE')

    def mailboxes(self):
        """The names LIST "" "*" returns."""
        data = self.ok(self.m.list('""', '*'), 'LIST')
        names = []
        for line in data:
            m = re.match(rb'\([^)]*\) (?:"[^"]*"|NIL) "?([^"]*)"?$', line)
            check(m is not None, 'IMAP LIST line: %r' % line)
            names.append(m.group(1).decode())
        return sorted(names)

    def status_messages(self, mailbox='INBOX'):
        data = self.ok(self.m.status(mailbox, '(MESSAGES)'), 'STATUS')
        m = re.search(rb'MESSAGES (\d+)', data[0])
        check(m is not None, 'STATUS answer: %r' % data)
        return int(m.group(1))

    def noop_expunged(self):
        """NOOP; the sequence numbers of the untagged EXPUNGEs it brought."""
        self.ok(self.m.noop(), 'NOOP')
        got = self.m.untagged_responses.pop('EXPUNGE', [])
        return [int(x) for x in got]

    def logout(self):
        try:
            self.m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


# ---------------------------------------------------------------- helpers

def setup(env, names=()):
    """User joe with MESSAGES[name] for NAMES delivered into new/ (in that
    order), Dovecot and relaygate-pop3d started; (dovecot, server,
    {name: base name of its file})."""
    env.add_user('joe', PASSWORD)
    bases = {}
    for n in names:
        bases[n] = deliver(env, n)
    dc = Dovecot(env).start()
    s = env.start()
    return dc, s, bases


def deliver(env, name, data=None):
    """Deliver MESSAGES[name] (or DATA) into joe's new/; its base name."""
    path = env.deliver('joe', MESSAGES[name] if data is None else data)
    return os.path.basename(path).split(':', 1)[0]


def pop_session(env, s):
    p = env.pop(s)
    p.user('joe')
    got = p.pass_(PASSWORD)
    check(got == b'+OK Logged in.', 'POP3 login: %r' % got)
    return p


def pop_view(p):
    """{uidl: (LIST size, RETR lines)} of a logged-in poplib session, in
    message-number order as [(number, uidl, size, lines)]."""
    _, uidls, _ = p.uidl()
    _, listing, _ = p.list()
    sizes = dict(l.split() for l in listing)
    out = []
    for line in uidls:
        num, uidl = line.split()
        _, lines, _ = p.retr(int(num))
        out.append((int(num), uidl.decode(), int(sizes[num]), lines))
    return out


def expect_pop_view(view, want, what):
    """VIEW (pop_view) holds exactly the messages WANT ({base: data}):
    UIDL the base name, LIST size the CRLF size, RETR the bytes."""
    got = {v[1]: (v[2], v[3]) for v in view}
    check(sorted(got) == sorted(want), '%s: POP3 UIDLs %r, expected %r'
          % (what, sorted(got), sorted(want)))
    for base, data in want.items():
        size, lines = got[base]
        check(size == len(T.crlf_form(data)), '%s: LIST size of %s is %d, '
              'expected %d' % (what, base, size, len(T.crlf_form(data))))
        check(lines == T.poplib_lines(data), '%s: RETR of %s: bytes equal: '
              '%r' % (what, base, lines[:5]))


def maildir_names(env, sub):
    return sorted(os.listdir(os.path.join(env.maildir('joe'), sub)))


def name_of(env, base):
    """(subdirectory, file name) of the message with base name BASE."""
    for sub in ('cur', 'new'):
        for n in maildir_names(env, sub):
            if n.split(':', 1)[0] == base:
                return sub, n
    raise H.CheckFailed('no file with base name %s in the Maildir' % base)


def expect_gone(p, cmd):
    """CMD (a RETR or TOP of a message another program deleted under the
    session) is answered so."""
    got = T.shortcmd(p, cmd)
    check(got == b'-ERR Message was deleted by another program.',
          '%s of a message gone from INBOX: -ERR, got %r' % (cmd, got))


def expect_session_goes_on(p, num, bases, names):
    """After messages were deleted under the session P: NOOP is +OK and
    the messages NAMES (numbers NUM[BASES[name]]) come out with their
    bytes."""
    T.expect_ok(p.noop(), 'NOOP: the session goes on')
    for n in names:
        _, lines, _ = p.retr(num[bases[n]])
        check(lines == T.poplib_lines(MESSAGES[n]), 'RETR of %s after the '
              'expunge: bytes equal' % n)


def expect_last_session(env, peer, s, bases, names):
    """The next POP3 session holds exactly the messages NAMES, every POP3
    session of the case ended with QUIT, and both logs are clean."""
    p = pop_session(env, s)
    expect_pop_view(pop_view(p), {bases[n]: MESSAGES[n] for n in names},
                    'the next POP3 session')
    p.quit()
    check(not re.search(r'event=logout .*reason=(?!quit)', s.log()),
          'every POP3 session ended with QUIT: %r' % s.log())
    peer.logs_clean(s)


def relaygate_problems(s):
    """relaygate-pop3d log lines other than its start, login, logout and
    disconnect events (a maildir warning, a mailbox error, ...)."""
    return [line for line in s.log().splitlines()
            if not re.match(r'^relaygate-pop3d: pop3: event=(start|login|'
                            r'logout|disconnect) ', line)]


def both_logs_clean(dc, s):
    check(dc.problems() == [], 'Dovecot logged no error or warning and '
          'nothing about relaygate: %r' % dc.problems())
    check(relaygate_problems(s) == [], 'relaygate-pop3d logged nothing but '
          'its events: %r' % relaygate_problems(s))


class Peer:
    """What the scenarios this battery shares with the Courier battery
    (test-pop3d-courier.py) need of the IMAP server beside
    relaygate-pop3d. A subclass sets name, sent (the IMAP name of a new
    folder .Sent), files (what the server keeps in the Maildir's top
    directory), third (the third message of pop3_dele_gone_for_imap),
    keyword_name (a regex: how it names a file flagged \\Seen $Label1),
    session (its IMAP session class) and check_logs (its both_logs_clean)."""

    def __init__(self, server):
        self.server = server

    def imap(self):
        return self.session(self.server)

    def logs_clean(self, s):
        self.check_logs(self.server, s)

    @staticmethod
    def gone_notice(body):
        """Whether BODY, fetched for a message another program deleted
        before the session synced, is the server's stand-in for it (by
        default none: the server returns no bytes at all)."""
        return False


class DovecotPeer(Peer):
    name = 'Dovecot'
    sent = 'Sent'
    files = ('dovecot-uidlist', 'dovecot.index.log', 'dovecot-keywords')
    third = 'crlf'
    keyword_name = r':2,S[a-z]+$'    # Dovecot keeps keywords in the name
    session = Imap
    check_logs = staticmethod(both_logs_clean)


# ---------------------------------------------------------------- cases

@case('dovecot/new-mail-seen-by-both',
      'messages delivered into new/ (LF, CRLF, dots, no final newline, '
      'empty, 8-bit) are seen by relaygate-pop3d first and by Dovecot, and '
      'others delivered later by Dovecot first (it moves them to cur/) and '
      'then by relaygate: same bytes (RETR = BODY[], CRLF form), LIST size '
      '= RFC822.SIZE, UIDL = the base name; a message APPENDed through '
      'IMAP (Dovecot names it ,S=,W=) comes out of POP3 with its bytes and '
      'size; both logs clean')
def case_new_mail(env):
    first = ('plain', 'dots', 'nofinal', 'empty')
    later = ('crlf', 'eightbit', 'toplines')
    dc, s, bases = setup(env, first)
    want = {bases[n]: MESSAGES[n] for n in first}
    # relaygate first: it moves new/ to cur/ (":2,")
    p = pop_session(env, s)
    expect_pop_view(pop_view(p), want, 'POP3 before IMAP')
    p.quit()
    check(maildir_names(env, 'new') == [], 'relaygate moved new/ to cur/: '
          '%r' % maildir_names(env, 'new'))
    # then Dovecot; and Dovecot first for the later ones
    for n in later:
        bases[n] = deliver(env, n)
        want[bases[n]] = MESSAGES[n]
    imap = Imap(dc)
    check(imap.select() == len(want), 'IMAP SELECT INBOX: %d messages'
          % len(want))
    moved = [n for n in later if name_of(env, bases[n])[0] == 'cur']
    check(moved == list(later), 'Dovecot moved the new messages to cur/ at '
          'SELECT: %r' % maildir_names(env, 'cur'))
    imap_view = imap.messages()
    check(sorted(m[3] for m in imap_view)
          == sorted(T.crlf_form(d) for d in want.values()),
          'IMAP BODY.PEEK[] of every message is its CRLF form')
    imap_sizes = {m[3]: m[2] for m in imap_view}
    p = pop_session(env, s)
    view = pop_view(p)
    p.quit()
    expect_pop_view(view, want, 'POP3 after IMAP')
    for _, uidl, size, _ in view:
        check(size == imap_sizes[T.crlf_form(want[uidl])],
              'POP3 LIST size of %s = IMAP RFC822.SIZE %d'
              % (uidl, imap_sizes[T.crlf_form(want[uidl])]))
    # IMAP APPEND: Dovecot's own file name, with ,S= and ,W=
    appended = (b'Subject: appended through IMAP\r\nX-Test: 1\r\n\r\n'
                b'line one\r\n.dot line\r\nlast\r\n')
    imap.ok(imap.m.append('INBOX', None, None, appended), 'APPEND')
    new_names = [n for n in maildir_names(env, 'cur') + maildir_names(env, 'new')
                 if n.split(':', 1)[0] not in want]
    check(len(new_names) == 1 and ',W=%d' % len(appended) in new_names[0],
          'Dovecot stored the APPEND as one file named with ,W=%d: %r'
          % (len(appended), new_names))
    want[new_names[0].split(':', 1)[0]] = appended
    p = pop_session(env, s)
    expect_pop_view(pop_view(p), want, 'POP3 after the IMAP APPEND')
    p.quit()
    imap.logout()
    both_logs_clean(dc, s)


@case('dovecot/flags-keep-uidl-and-bytes',
      'a message relaygate moved to cur/ (":2,") and one Dovecot moved '
      'there, both then flagged \\Seen (and a keyword) through IMAP, so '
      'renamed by Dovecot to ":2,S" / ":2,Sa", keep their UIDL (the base '
      'name they were delivered under), LIST size, RETR bytes and number '
      'order; a message flagged while a POP3 session is open '
      'is still retrieved and deleted by that session (found again by its '
      'base name); relaygate renames no file, so the flags stay; both logs '
      'clean')
def case_flags(env):
    dc, s, bases = setup(env, ('plain', 'dots'))
    flags_keep_uidl_and_bytes(env, DovecotPeer(dc), s, bases)


def flags_keep_uidl_and_bytes(env, peer, s, bases):
    """The scenario of dovecot/flags-keep-uidl-and-bytes (and
    courier/...): BASES has 'plain' and 'dots'."""
    p = pop_session(env, s)
    before = pop_view(p)
    p.quit()
    want = {bases[n]: MESSAGES[n] for n in ('plain', 'dots')}
    expect_pop_view(before, want, 'before flags')
    bases['eightbit'] = deliver(env, 'eightbit')
    want[bases['eightbit']] = MESSAGES['eightbit']
    imap = peer.imap()
    imap.select()
    check(name_of(env, bases['eightbit'])[0] == 'cur',
          '%s moved the new message to cur/' % peer.name)
    for n in ('plain', 'eightbit'):
        imap.store(imap.uid_of(MESSAGES[n]), '(\\Seen)')
    imap.store(imap.uid_of(MESSAGES['dots']), '(\\Seen $Label1)')
    names = {n: name_of(env, bases[n])[1] for n in bases}
    check(names['plain'].endswith(':2,S') and names['eightbit'].endswith(':2,S')
          and re.search(peer.keyword_name, names['dots']) is not None,
          '%s renamed the flagged files to :2,S (and %s for the one with a '
          'keyword): %r' % (peer.name, peer.keyword_name, names))
    p = pop_session(env, s)
    after = pop_view(p)
    p.quit()
    expect_pop_view(after, want, 'after flags')
    first = [v[1] for v in before]
    check([v[1:] for v in after if v[1] in first] == [v[1:] for v in before],
          'the first two messages keep number order, UIDL, size and bytes')
    check({n: name_of(env, bases[n])[1] for n in bases} == names,
          'relaygate renamed no file (flags kept): %r' % names)
    # Flagged while a session is open: found again by base name.
    p = pop_session(env, s)
    view = pop_view(p)
    num = {v[1]: v[0] for v in view}
    imap.store(imap.uid_of(MESSAGES['plain']), '(\\Flagged)')
    imap.store(imap.uid_of(MESSAGES['dots']), '(\\Answered)')
    check(name_of(env, bases['plain'])[1] != names['plain'],
          '%s renamed the file of "plain" during the POP3 session'
          % peer.name)
    _, lines, _ = p.retr(num[bases['plain']])
    check(lines == T.poplib_lines(MESSAGES['plain']), 'RETR of the message '
          'renamed during the session: bytes equal')
    T.expect_ok(p.dele(num[bases['dots']]), 'DELE of the renamed "dots"')
    got = p.quit()
    check(got.startswith(b'+OK') and b'1 messages deleted' in got,
          'QUIT deleted the renamed message: %r' % got)
    check(imap.noop_expunged() != [], 'IMAP NOOP reports an EXPUNGE')
    left = sorted(m[3] for m in imap.messages())
    check(left == sorted(T.crlf_form(MESSAGES[n]) for n in ('plain',
                                                             'eightbit')),
          'IMAP no longer holds the message deleted through POP3')
    flags = {m[3]: m[1] for m in imap.messages()}
    check(b'\\Seen' in flags[T.crlf_form(MESSAGES['plain'])]
          and b'\\Flagged' in flags[T.crlf_form(MESSAGES['plain'])],
          'IMAP flags survive relaygate\'s sessions: %r' % flags)
    imap.logout()
    peer.logs_clean(s)


@case('dovecot/pop3-dele-gone-for-imap',
      'DELE + QUIT in relaygate-pop3d removes the message for an IMAP '
      'session that has INBOX selected (NOOP brings its EXPUNGE, FETCH no '
      'longer has it; a FETCH before that returns no bytes) and for a new '
      'one (STATUS MESSAGES); DELE + RSET and a dropped connection delete '
      'nothing; both logs clean')
def case_pop3_dele(env):
    dc, s, bases = setup(env, ('plain', 'dots', 'crlf'))
    pop3_dele_gone_for_imap(env, DovecotPeer(dc), s, bases)


def pop3_dele_gone_for_imap(env, peer, s, bases):
    """The scenario of dovecot/pop3-dele-gone-for-imap (and courier/...):
    BASES has 'plain', 'dots' and PEER.third."""
    imap = peer.imap()
    check(imap.select() == 3, 'IMAP sees 3 messages')
    p = pop_session(env, s)
    num = {v[1]: v[0] for v in pop_view(p)}
    T.expect_ok(p.dele(num[bases['dots']]), 'DELE')
    T.expect_ok(p.rset(), 'RSET')
    T.expect_ok(p.dele(num[bases[peer.third]]), 'DELE after RSET')
    p.close()          # dropped without QUIT: nothing deleted
    check(s.wait_log(r'event=logout .*reason=disconnect') is not None,
          'relaygate logged the dropped session: %r' % s.log())
    check(imap.noop_expunged() == [] and imap.status_messages() == 3,
          'a dropped POP3 session deleted nothing')
    dots_uid = imap.uid_of(MESSAGES['dots'])
    p = pop_session(env, s)
    num = {v[1]: v[0] for v in pop_view(p)}
    T.expect_ok(p.dele(num[bases['dots']]), 'DELE')
    got = p.quit()
    check(got == b'+OK Logging out, 1 messages deleted.',
          'QUIT: one message deleted, got %r' % got)
    # The IMAP session asks for it before it has synced: not its bytes
    # (Dovecot: none; Courier: a "message unavailable" notice instead).
    typ, data = imap.m.uid('FETCH', str(dots_uid), '(BODY.PEEK[])')
    check(typ == 'NO' or all(peer.gone_notice(d[1]) for d in data
                             if isinstance(d, tuple) and d[1]),
          'IMAP FETCH of the message deleted through POP3 returns none of '
          'its bytes: %r %r' % (typ, data))
    expunged = imap.noop_expunged()
    check(len(expunged) == 1, 'IMAP NOOP after the POP3 QUIT: one EXPUNGE, '
          'got %r' % expunged)
    left = sorted(m[3] for m in imap.messages())
    check(left == sorted(T.crlf_form(MESSAGES[n])
                         for n in ('plain', peer.third)),
          'IMAP FETCH no longer has the deleted message')
    other = peer.imap()
    check(other.status_messages() == 2, 'a new IMAP session: STATUS '
          'MESSAGES 2')
    other.logout()
    imap.logout()
    peer.logs_clean(s)


@case('dovecot/imap-expunge-between-sessions',
      'a message expunged through IMAP while no POP3 session is open is '
      'gone from the next POP3 session (STAT, LIST, UIDL), also when '
      'relaygate had it in its size cache; the others keep UIDL, size and '
      'bytes; both logs clean')
def case_imap_expunge_between(env):
    names = ('plain', 'dots', 'nofinal', 'eightbit')
    dc, s, bases = setup(env, names)
    want = {bases[n]: MESSAGES[n] for n in names}
    p = pop_session(env, s)
    expect_pop_view(pop_view(p), want, 'first POP3 session')
    p.quit()
    check(os.path.exists(os.path.join(env.maildir('joe'),
                                      'relaygate-pop3.sizes')),
          'relaygate wrote its size cache')
    imap = Imap(dc)
    imap.select()
    imap.expunge(imap.uid_of(MESSAGES['dots']))
    imap.expunge(imap.uid_of(MESSAGES['eightbit']))
    imap.logout()
    del want[bases['dots']], want[bases['eightbit']]
    p = pop_session(env, s)
    check(p.stat() == (2, sum(len(T.crlf_form(d)) for d in want.values())),
          'STAT after the IMAP expunge: 2 messages')
    expect_pop_view(pop_view(p), want, 'POP3 after the IMAP expunge')
    p.quit()
    both_logs_clean(dc, s)


@case('dovecot/imap-expunge-during-session',
      'messages a POP3 session listed and IMAP then expunged, or moved to '
      'another folder (MOVE to Trash): RETR and TOP of '
      'them answer "-ERR Message was deleted by another program." (no '
      'crash, no bytes), the session goes on, the other messages (one of '
      'them renamed by IMAP meanwhile) come out with their bytes; DELE of '
      'gone ones and of a present one then QUIT answer +OK and remove only '
      'the present one (the moved message stays in its new folder); the '
      'server keeps serving; both logs clean')
def case_imap_expunge_during(env):
    names = ('plain', 'dots', 'nofinal', 'crlf', 'eightbit', 'toplines')
    dc, s, bases = setup(env, names)
    p = pop_session(env, s)
    _, listing, _ = p.list()
    check(len(listing) == 6, 'six messages listed: %r' % listing)
    _, uidls, _ = p.uidl()
    num = {l.split()[1].decode(): int(l.split()[0]) for l in uidls}
    imap = Imap(dc)
    imap.select()
    # MOVE first: Dovecot 2.3 then hardlinks the file into .Trash under
    # the same base name (after an EXPUNGE in the session it copies under
    # a new one), the case where a DELE must not follow the message.
    imap.ok(imap.m.create('Trash'), 'CREATE Trash')
    imap.ok(imap.m.uid('MOVE', str(imap.uid_of(MESSAGES['toplines'])),
                       'Trash'), 'UID MOVE to Trash')
    trash = os.path.join(env.maildir('joe'), '.Trash')
    moved = [os.path.join(trash, sub, n) for sub in ('cur', 'new')
             for n in os.listdir(os.path.join(trash, sub))]
    check(len(moved) == 1, 'Dovecot moved "toplines" to .Trash: %r' % moved)
    imap.expunge(imap.uid_of(MESSAGES['dots']))
    imap.expunge(imap.uid_of(MESSAGES['crlf']))
    imap.store(imap.uid_of(MESSAGES['eightbit']), '(\\Seen)')
    for n in ('dots', 'crlf', 'toplines'):
        check(not any(f.split(':', 1)[0] == bases[n]
                      for sub in ('cur', 'new')
                      for f in maildir_names(env, sub)),
              'the file of %s is gone from INBOX' % n)
    # The gone ones first: nothing of them can be read ahead.
    for cmd in ('RETR %d' % num[bases['dots']], 'TOP %d 0' % num[bases['crlf']],
                'RETR %d' % num[bases['crlf']],
                'RETR %d' % num[bases['toplines']]):
        expect_gone(p, cmd)
    expect_session_goes_on(p, num, bases, ('plain', 'nofinal', 'eightbit'))
    for n in ('dots', 'toplines', 'nofinal'):
        T.expect_ok(p.dele(num[bases[n]]), 'DELE of %s' % n)
    got = p.quit()
    check(got.startswith(b'+OK Logging out'), 'QUIT: +OK, got %r' % got)
    check(s.running(), 'relaygate-pop3d still running')
    left = sorted(m[3] for m in imap.messages())
    check(left == sorted(T.crlf_form(MESSAGES[n])
                         for n in ('plain', 'eightbit')),
          'IMAP holds the two messages neither deleted')
    check(os.path.exists(moved[0]), 'the file of the message moved to '
          'Trash is still there after the POP3 DELE: %r' % moved[0])
    check(imap.select('Trash') == 1
          and [m[3] for m in imap.messages()]
          == [T.crlf_form(MESSAGES['toplines'])],
          'IMAP still has the message moved to Trash after the POP3 DELE')
    imap.logout()
    expect_last_session(env, DovecotPeer(dc), s, bases, ('plain', 'eightbit'))


@case('dovecot/files-side-by-side',
      'relaygate\'s relaygate-pop3.lock and relaygate-pop3.sizes in the '
      'Maildir are no mailbox and no message for Dovecot (LIST shows INBOX '
      'and the folders made through IMAP only, STATUS counts the '
      'messages), also while a POP3 session holds the lock; Dovecot\'s '
      'dovecot-uidlist, dovecot.index*, dovecot-keywords and a Maildir++ '
      'folder with a message in it change nothing for relaygate (same '
      'STAT, UIDL and bytes, the folder\'s message not listed); both logs '
      'clean')
def case_files(env):
    dc, s, bases = setup(env, ('plain', 'toplines'))
    files_side_by_side(env, DovecotPeer(dc), s, bases)


def files_side_by_side(env, peer, s, bases):
    """The scenario of dovecot/files-side-by-side (and courier/...): BASES
    has 'plain' and 'toplines'."""
    want = {bases[n]: MESSAGES[n] for n in ('plain', 'toplines')}
    md = env.maildir('joe')
    p = pop_session(env, s)
    first = pop_view(p)
    expect_pop_view(first, want, 'first POP3 session')
    # the session holds the lock while IMAP looks
    for f in RELAYGATE_FILES:
        check(os.path.exists(os.path.join(md, f)), 'relaygate made %s' % f)
    imap = peer.imap()
    check(imap.mailboxes() == ['INBOX'], 'IMAP LIST: INBOX only, got %r'
          % imap.mailboxes())
    check(imap.status_messages() == 2, 'IMAP STATUS INBOX: 2 messages')
    p.quit()
    imap.ok(imap.m.create(peer.sent), 'CREATE ' + peer.sent)
    imap.ok(imap.m.append(peer.sent, None, None,
                          b'Subject: in Sent\r\n\r\nnot for POP3\r\n'),
            'APPEND to ' + peer.sent)
    check(imap.select() == 2, 'IMAP SELECT INBOX: 2 messages')
    imap.store(imap.uid_of(MESSAGES['plain']), '(\\Seen $Label1)')
    check(imap.mailboxes() == ['INBOX', peer.sent], 'IMAP LIST: INBOX and '
          '%s, got %r' % (peer.sent, imap.mailboxes()))
    check(imap.m.list('""', '*relaygate*')[1] in ([None], []),
          'IMAP LIST "*relaygate*" is empty: %r'
          % (imap.m.list('""', '*relaygate*'),))
    top = sorted(os.listdir(md))
    for f in peer.files + ('.Sent',) + RELAYGATE_FILES:
        check(f in top, 'the Maildir holds %s: %r' % (f, top))
    p = pop_session(env, s)
    second = pop_view(p)
    p.quit()
    check(second == first, 'the POP3 view is unchanged by %s\'s files '
          'and folder: %r' % (peer.name, [(v[0], v[1], v[2]) for v in second]))
    check(imap.status_messages() == 2, 'IMAP STATUS INBOX after the second '
          'POP3 session: 2 messages')
    check(sorted(os.listdir(md)) == top, 'relaygate left %s\'s files '
          'alone: %r' % (peer.name, sorted(os.listdir(md))))
    imap.logout()
    peer.logs_clean(s)


def maildirplus_usage(env):
    """(bytes, messages) of joe's INBOX as Maildir++ counts them: the ,S=
    of a name, else the size on disk."""
    total = count = 0
    for sub in ('cur', 'new'):
        d = os.path.join(env.maildir('joe'), sub)
        for n in os.listdir(d):
            m = re.search(r',S=(\d+)(?:[,:]|$)', n)
            total += int(m.group(1)) if m else os.stat(os.path.join(d, n)).st_size
            count += 1
    return total, count


def doveadm_quota(dc, *args):
    """Run doveadm quota ARGS for joe with the private configuration;
    for "get", {type: value} (STORAGE in KiB, MESSAGE)."""
    r = subprocess.run(['doveadm', '-c', dc.conf, '-f', 'tab', 'quota']
                       + list(args) + ['-u', 'joe'],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and r.stderr.strip() == '',
          'doveadm quota %s: exit 0, nothing on stderr: %d %r %r'
          % (' '.join(args), r.returncode, r.stdout, r.stderr))
    if args[0] != 'get':
        return None
    rows = [line.split('\t') for line in r.stdout.splitlines()[1:]]
    return {row[1]: int(row[2]) for row in rows if len(row) >= 3}


def expect_quota_line(env, peer, s, imap, quota, before, deleted, octets):
    """A POP3 session deletes the messages with the base names DELETED
    (OCTETS in all, as Maildir++ counts them) and QUITs: the Maildir++
    quota file QUOTA, which held BEFORE, gains exactly the line
    "-OCTETS -COUNT", and the sync of PEER's selected session IMAP sees
    the expunges and adds no line of its own (no double subtraction).
    The file's bytes after it."""
    p = pop_session(env, s)
    num = {v[1]: v[0] for v in pop_view(p)}
    for base in deleted:
        T.expect_ok(p.dele(num[base]), 'DELE of %s' % base)
    got = p.quit()
    check(got == b'+OK Logging out, %d messages deleted.' % len(deleted),
          'QUIT: %d deleted, got %r' % (len(deleted), got))
    line = b'-%d -%d\n' % (octets, len(deleted))
    with open(quota, 'rb') as f:
        after = f.read()
    check(after == before + line, 'maildirsize gained exactly %r: %r'
          % (line, after))
    check(len(imap.noop_expunged()) == len(deleted), 'the selected IMAP '
          'session syncs and sees the messages expunged')
    with open(quota, 'rb') as f:
        check(f.read() == after, '%s\'s sync added no line of its own (no '
              'double subtraction)' % peer.name)
    return after


def kib(octets):
    """Dovecot's STORAGE value for OCTETS: KiB, rounded up."""
    return (octets + 1023) // 1024


@case('dovecot/quota-maildirsize',
      'with Dovecot\'s quota plugin (backend "maildir": Maildir++) on the '
      'same Maildir, the maildirsize Dovecot made (at SELECT, plus a line '
      'for an IMAP APPEND) gets one line "-<bytes> -2" from '
      'relaygate-pop3d\'s QUIT for the two messages it deleted (Dovecot\'s, '
      'named with ,S=, and one delivered without); Dovecot\'s IMAP session '
      'that had them (sizes cached) syncs the expunges without a line of '
      'its own; Dovecot\'s view (doveadm quota get, IMAP GETQUOTAROOT) '
      'drops to what is left without a recalculation (the line is still in '
      'the file) and equals what doveadm quota recalc then counts; both '
      'logs clean')
def case_quota(env):
    env.add_user('joe', PASSWORD)
    big = (b'Subject: big, delivered without S=\n\n'
           + b'0123456789abcdef0123456789abcdef\n' * 200)
    bases = {'plain': deliver(env, 'plain'), 'big': deliver(env, None, big),
             'dots': deliver(env, 'dots')}
    dc = Dovecot(env, quota=True).start()
    s = env.start()
    imap = Imap(dc)
    imap.select()
    appended = (b'Subject: appended through IMAP\r\n\r\n'
                + b'fedcba9876543210fedcba9876543210\r\n' * 150)
    imap.ok(imap.m.append('INBOX', None, None, appended), 'APPEND')
    quota = os.path.join(env.maildir('joe'), 'maildirsize')
    check(os.path.exists(quota), 'Dovecot made maildirsize')
    with open(quota, 'rb') as f:
        before = f.read()
    check(before.startswith(b'10485760S\n'), 'maildirsize starts with the '
          'quota definition: %r' % before)
    names = {}
    for sub in ('cur', 'new'):
        for n in maildir_names(env, sub):
            names[n.split(':', 1)[0]] = n
    new = [b for b in names if b not in bases.values()]
    check(len(new) == 1 and ',S=' in new[0], 'Dovecot named the APPENDed '
          'message with ,S=: %r' % new)
    bases['appended'] = new[0]
    total, count = maildirplus_usage(env)
    got = doveadm_quota(dc, 'get')
    check(got == {'STORAGE': kib(total), 'MESSAGE': 4}, 'Dovecot\'s view '
          'before: %r, expected STORAGE %d MESSAGE 4' % (got, kib(total)))
    sizes = {'big': len(big), 'appended': int(re.search(
        r',S=(\d+)', bases['appended']).group(1))}
    # Dovecot's index now holds every size: the case where it could
    # subtract the POP3 deletions a second time when it syncs
    check(len(imap.messages()) == 4, 'IMAP FETCH of the four messages')
    after = expect_quota_line(env, DovecotPeer(dc), s, imap, quota, before,
                              (bases['appended'], bases['big']),
                              sizes['big'] + sizes['appended'])
    left, left_count = maildirplus_usage(env)
    check(left == total - sizes['big'] - sizes['appended'] and left_count == 2,
          'the Maildir holds the two small messages')
    want = {'STORAGE': kib(left), 'MESSAGE': 2}
    check(kib(left) < kib(total), 'the deletion lowers STORAGE')
    got = doveadm_quota(dc, 'get')
    check(got == want, 'doveadm quota get after the POP3 QUIT: %r, expected '
          '%r' % (got, want))
    other = Imap(dc)
    typ, data = other.m.getquotaroot('INBOX')
    check(typ == 'OK' and any(b'(STORAGE %d 10240)' % kib(left) in d
                              for part in data for d in part),
          'IMAP GETQUOTAROOT INBOX after the POP3 QUIT: STORAGE %d, got %r'
          % (kib(left), data))
    other.logout()
    imap.logout()
    with open(quota, 'rb') as f:
        check(f.read() == after, 'Dovecot did not recalculate: the file '
              'still holds relaygate\'s line')
    doveadm_quota(dc, 'recalc')
    got = doveadm_quota(dc, 'get')
    check(got == want, 'doveadm quota recalc counts the same: %r' % got)
    with open(quota, 'rb') as f:
        recalculated = f.read()
    check(recalculated == b'10485760S\n%d 2\n' % left,
          'the recalculated maildirsize: %r' % recalculated)
    both_logs_clean(dc, s)


@case('dovecot/quota-maildirsize-control',
      'with mail_location maildir:~/Maildir:CONTROL=~/control in both '
      'servers, Dovecot keeps maildirsize in the control directory, not in '
      'the Maildir; relaygate-pop3d\'s QUIT appends its line "-<bytes> -1" '
      'there and creates no maildirsize in the Maildir; Dovecot\'s view '
      '(doveadm quota get) drops without a recalculation and equals what '
      'doveadm quota recalc counts; both logs clean')
def case_quota_control(env):
    location = 'maildir:~/Maildir:CONTROL=~/control'
    env.add_user('joe', PASSWORD)
    big = (b'Subject: big, delivered without S=\n\n'
           + b'0123456789abcdef0123456789abcdef\n' * 200)
    bases = {'plain': deliver(env, 'plain'), 'big': deliver(env, None, big)}
    dc = Dovecot(env, quota=True, mail_location=location).start()
    s = env.start(mail_location=location)
    imap = Imap(dc)
    imap.select()
    imap.logout()
    doveadm_quota(dc, 'recalc')     # writes maildirsize
    home = os.path.dirname(env.maildir('joe'))
    quota = os.path.join(home, 'control', 'maildirsize')
    in_maildir = os.path.join(env.maildir('joe'), 'maildirsize')
    check(os.path.exists(quota), 'Dovecot made maildirsize in the control '
          'directory')
    check(not os.path.exists(in_maildir), 'and none in the Maildir')
    with open(quota, 'rb') as f:
        before = f.read()
    total, count = maildirplus_usage(env)
    got = doveadm_quota(dc, 'get')
    check(got == {'STORAGE': kib(total), 'MESSAGE': 2},
          'Dovecot\'s view before: %r, expected STORAGE %d MESSAGE 2'
          % (got, kib(total)))
    p = pop_session(env, s)
    num = {v[1]: v[0] for v in pop_view(p)}
    T.expect_ok(p.dele(num[bases['big']]), 'DELE of the big one')
    got = p.quit()
    check(got.startswith(b'+OK'), 'QUIT: %r' % got)
    with open(quota, 'rb') as f:
        after = f.read()
    line = b'-%d -1\n' % len(big)
    check(after == before + line, 'the control maildirsize gained exactly '
          '%r: %r' % (line, after))
    check(not os.path.exists(in_maildir), 'still no maildirsize in the '
          'Maildir')
    left, left_count = maildirplus_usage(env)
    want = {'STORAGE': kib(left), 'MESSAGE': 1}
    got = doveadm_quota(dc, 'get')
    check(got == want, 'doveadm quota get after the POP3 QUIT: %r, expected '
          '%r' % (got, want))
    doveadm_quota(dc, 'recalc')
    got = doveadm_quota(dc, 'get')
    check(got == want, 'doveadm quota recalc counts the same: %r' % got)
    both_logs_clean(dc, s)


# ---------------------------------------------------------------- main

if __name__ == '__main__':
    if not os.path.exists(DOVECOT):
        print('SKIP: %s is missing: install dovecot-core and dovecot-imapd '
              '(deps/debian-packages.txt, role test) to run these tests'
              % DOVECOT)
        sys.exit(77)
    if not os.path.exists(DOVECOT_IMAP):
        print('FAIL: %s is there but %s is missing: install dovecot-imapd '
              '(deps/debian-packages.txt)' % (DOVECOT, DOVECOT_IMAP))
        sys.exit(1)
    try:
        grp.getgrnam('dovecot')
    except KeyError:
        print('FAIL: the group dovecot (made by dovecot-core) is missing')
        sys.exit(1)
    sys.exit(T.main(CASES, prefix='pop3d-dovecot-'))
