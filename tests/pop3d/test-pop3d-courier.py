#!/usr/bin/env python3
"""relaygate-pop3d beside a real Courier-IMAP on the same Maildir, as mail
administrators run them: Courier for IMAP, relaygate-pop3d for POP3 (and
POP-before-SMTP). Checked with Python's imaplib and poplib.

Run by meson (suite 'pop3d'); by hand:

    VSMTPRELAY=build/vsmtprelay RELAYGATE_BUILD_ROOT=build \\
        RELAYGATE_SOURCE_ROOT=. tests/pop3d/test-pop3d-courier.py [CASE...]

Courier's IMAP server is Debian's courier-imap 5.0 (with courier-authlib
and the libraries it needs), unpacked by scripts/install-deps.sh into
.cache/PACKAGE/root (role "unpack" in deps/debian-packages.txt): its
package scripts and services never run. Each IMAP session is one real
Courier `imapd` process started the way Courier's own login process hands
over an authenticated user: `imapd MAILDIR` as the mailbox owner (uid
5000), with AUTHENTICATED set, speaking IMAP on its standard input and
output (pre-authenticated: `* PREAUTH`). The test talks to it through a
pipe with imaplib, so no port and no network are involved; each process
is stopped by PID at the end of the case. Without the FAM/Gamin daemon
Courier greets with an ALERT about "Filesystem notification" (it then
polls for IDLE) and logs why on stderr; those lines are expected and
skipped, every other stderr line but its INFO lines is a problem.

It uses the harness and server set-up of the Dovecot battery
(test-pop3d-dovecot.py, which uses test-pop3d.py): a fresh directory per
case, relaygate-pop3d started with -F on free loopback ports and stopped
by PID, Maildirs owned by uid 5000, root required.

Courier reads a Maildir file as LF-only text (its MDAs write it so) and
turns every LF into CRLF, so a file stored with CRLF comes out of it
with CR CR LF: these cases deliver LF-only messages (relaygate-pop3d
reads both forms; test-pop3d.py checks the CRLF one).

Both servers must agree on every message; neither may be upset by the
other's files in the Maildir (relaygate-pop3.lock and relaygate-pop3.sizes;
courierimapuiddb, courierimapkeywords/, Maildir++ folders). Courier's
UIDVALIDITY and UIDs survive relaygate's sessions (it moves new/ to cur/
with ":2," as Courier does and renames nothing else).

Exit status 77 (meson: skipped) when the unpacked imapd is missing.
"""
import imaplib
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, 'lib'))
import relaygate_test as H  # noqa: E402 - found through the path above
from relaygate_test import check  # noqa: E402
D = H.load_script(os.path.join(HERE, 'test-pop3d-dovecot.py'),
                  'test_pop3d_dovecot')
T = D.T

CASES = []
MESSAGES = T.MESSAGES
PASSWORD = D.PASSWORD

SOURCE_ROOT = os.path.abspath(os.environ.get(
    'RELAYGATE_SOURCE_ROOT', os.path.join(HERE, os.pardir, os.pardir)))
CACHE = os.path.join(SOURCE_ROOT, '.cache')
IMAPD = os.path.join(CACHE, 'courier-imap', 'root', 'usr', 'bin', 'imapd')
# where the unpacked packages keep the shared libraries imapd needs
LIBRARY_DIRS = [os.path.join(CACHE, pkg, 'root', 'usr', 'lib', sub)
                for pkg, sub in (('courier-authlib', ''),
                                 ('libcourier-unicode4', 'x86_64-linux-gnu'),
                                 ('libgamin0', 'x86_64-linux-gnu'),
                                 ('libidn12', 'x86_64-linux-gnu'))]
# Courier's stderr without a FAM/Gamin daemon (it falls back to polling)
FAM_ALERT = b'* OK [ALERT] Filesystem notification initialization error'
FAM_LINES = (r'^failed to find gam_server$',
             r'^Failed to connect to socket /tmp/fam-',
             r'^ERR: Failed to create cache file: maildirwatch \(joe\)$',
             r'^ERR: Error: Input/output error$',
             r'^ERR: Check for proper operation and configuration$',
             r'^ERR: of the File Access Monitor daemon \(famd\)\.$')


def case(name, proves):
    return H.case(name, proves, CASES)


# ---------------------------------------------------------------- Courier

class Courier:
    """The Courier imapd processes of a case and their shared stderr log;
    it sits in env.servers so that the harness stops them (by PID) and
    prints the log when a case fails."""

    def __init__(self, env):
        self.env = env
        self.log_path = env.path('courier-imapd.log')
        self.procs = []
        open(self.log_path, 'wb').close()
        env.servers.append(self)

    def spawn(self):
        """A new imapd on joe's Maildir, as joe (uid/gid 5000): the
        Popen, its stdin and stdout pipes unbuffered."""
        child_env = {'LD_LIBRARY_PATH': ':'.join(LIBRARY_DIRS),
                     'PATH': '/usr/bin:/bin',
                     'AUTHENTICATED': 'joe',
                     'IMAP_KEYWORDS': '1',
                     'TCPREMOTEIP': '127.0.0.1'}
        with open(self.log_path, 'ab') as log:
            proc = subprocess.Popen(
                ['setpriv', '--reuid=%d' % T.MAIL_UID,
                 '--regid=%d' % T.MAIL_GID, '--clear-groups', IMAPD,
                 self.env.maildir('joe')],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                env=child_env, cwd=os.path.dirname(self.env.maildir('joe')),
                bufsize=0)
        self.procs.append(proc)
        return proc

    def log(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode(errors='replace')

    def problems(self):
        """Courier's stderr lines other than its INFO lines and the known
        FAM/Gamin lines; and any mention of relaygate."""
        return [line for line in self.log().splitlines()
                if line.strip() and (
                    'relaygate' in line
                    or not (line.startswith('INFO: ')
                            or any(re.match(p, line) for p in FAM_LINES)))]

    def stop(self):
        """SIGTERM to each imapd still running, SIGKILL after 5 s."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for f in (proc.stdin, proc.stdout):
                try:
                    f.close()
                except OSError:
                    pass
        return None


class CourierStream(imaplib.IMAP4):
    """imaplib over the pipes of one Courier imapd (like
    imaplib.IMAP4_stream, without a shell); the FAM ALERT line of the
    greeting is skipped so that imaplib sees "* PREAUTH" first."""

    def __init__(self, courier):
        self.courier = courier
        self.alerts = []
        super().__init__()

    def open(self, host=None, port=None, timeout=None):
        self.host = host
        self.port = port
        self.sock = None
        self.file = None
        self.process = self.courier.spawn()
        self.writefile = self.process.stdin
        self.readfile = self.process.stdout

    def read(self, size):
        out = b''
        while len(out) < size:
            chunk = self.readfile.read(size - len(out))
            if not chunk:
                break
            out += chunk
        return out

    def readline(self):
        line = self.readfile.readline()
        while line.startswith(FAM_ALERT):
            self.alerts.append(line)
            line = self.readfile.readline()
        return line

    def send(self, data):
        self.writefile.write(data)
        self.writefile.flush()

    def shutdown(self):
        self.readfile.close()
        self.writefile.close()
        self.process.wait(30)


class Imap(D.Imap):
    """One pre-authenticated Courier IMAP session of joe, with the Dovecot
    battery's helpers (select, messages, uid_of, store, expunge, ...)."""

    def __init__(self, courier):
        self.m = CourierStream(courier)
        check(self.m.state == 'AUTH', 'Courier imapd greets with * PREAUTH: '
              '%r' % (self.m.welcome,))

    def uidvalidity(self):
        got = self.m.untagged_responses.get('UIDVALIDITY', [None])[-1]
        check(got is not None, 'SELECT gave a UIDVALIDITY')
        return int(got)

    def uids(self):
        """{CRLF body: UID} of the selected mailbox."""
        return {m[3]: m[0] for m in self.messages()}


class CourierPeer(D.Peer):
    """Courier for the scenarios shared with the Dovecot battery."""
    name = 'Courier'
    sent = 'INBOX.Sent'
    files = ('courierimapuiddb', 'courierimapkeywords')
    third = 'toplines'
    keyword_name = r':2,S$'    # keywords are in courierimapkeywords/
    session = Imap

    @staticmethod
    def check_logs(courier, s):
        both_logs_clean(courier, s)

    @staticmethod
    def gone_notice(body):
        """Courier's stand-in for a message deleted under a session."""
        return b'Subject: message unavailable' in body


# ---------------------------------------------------------------- helpers

def setup(env, names=()):
    """User joe with MESSAGES[name] for NAMES delivered into new/ (in that
    order), relaygate-pop3d started; (courier, server, {name: base})."""
    env.add_user('joe', PASSWORD)
    bases = {}
    for n in names:
        bases[n] = D.deliver(env, n)
    return Courier(env), env.start(), bases


def both_logs_clean(courier, s):
    check(courier.problems() == [], 'Courier logged nothing but INFO and '
          'the known FAM lines, nothing about relaygate: %r'
          % courier.problems())
    check(D.relaygate_problems(s) == [], 'relaygate-pop3d logged nothing '
          'but its events: %r' % D.relaygate_problems(s))


def bodies(names):
    return sorted(T.crlf_form(MESSAGES[n]) for n in names)


# ---------------------------------------------------------------- cases

@case('courier/new-mail-seen-by-both',
      'messages delivered into new/ (LF, dots, no final newline, empty, '
      '8-bit) are seen by relaygate-pop3d first (it moves them to '
      'cur/ with ":2,") and then by Courier, and others by Courier first '
      '(it moves them) and then by relaygate: same bytes (RETR = BODY[], '
      'CRLF form), LIST size = RFC822.SIZE, UIDL = the base name; a message '
      'APPENDed through Courier comes out of POP3 with its bytes and size; '
      'Courier\'s UIDVALIDITY and every UID stay the same across '
      'relaygate\'s sessions, also for mail relaygate moved first; both '
      'logs clean')
def case_new_mail(env):
    first = ('plain', 'dots', 'nofinal', 'empty')
    later = ('eightbit', 'toplines')
    last = b'Subject: last\n\nmoved to cur/ by relaygate first\n'
    courier, s, bases = setup(env, first)
    want = {bases[n]: MESSAGES[n] for n in first}
    p = D.pop_session(env, s)
    D.expect_pop_view(D.pop_view(p), want, 'POP3 before IMAP')
    p.quit()
    check(D.maildir_names(env, 'new') == []
          and all(n.endswith(':2,') for n in D.maildir_names(env, 'cur')),
          'relaygate moved new/ to cur/ as NAME:2,: %r'
          % D.maildir_names(env, 'cur'))
    for n in later:
        bases[n] = D.deliver(env, n)
        want[bases[n]] = MESSAGES[n]
    imap = Imap(courier)
    check(imap.select() == len(want), 'IMAP SELECT INBOX: %d messages'
          % len(want))
    validity = imap.uidvalidity()
    check([D.name_of(env, bases[n])[0] for n in later] == ['cur'] * 2,
          'Courier moved the new messages to cur/ at SELECT: %r'
          % D.maildir_names(env, 'cur'))
    imap_view = imap.messages()
    check(sorted(m[3] for m in imap_view)
          == sorted(T.crlf_form(d) for d in want.values()),
          'IMAP BODY.PEEK[] of every message is its CRLF form')
    uids = {m[3]: m[0] for m in imap_view}
    sizes = {m[3]: m[2] for m in imap_view}
    imap.logout()
    p = D.pop_session(env, s)
    view = D.pop_view(p)
    p.quit()
    D.expect_pop_view(view, want, 'POP3 after IMAP')
    for _, uidl, size, _ in view:
        body = T.crlf_form(want[uidl])
        check(size == sizes[body], 'POP3 LIST size of %s = IMAP RFC822.SIZE '
              '%d' % (uidl, sizes[body]))
    # relaygate first for the last one; then Courier again
    want[D.deliver(env, None, last)] = last
    p = D.pop_session(env, s)
    D.expect_pop_view(D.pop_view(p), want, 'POP3 with the last message')
    p.quit()
    imap = Imap(courier)
    check(imap.select() == len(want), 'IMAP SELECT INBOX: %d messages'
          % len(want))
    check(imap.uidvalidity() == validity, 'UIDVALIDITY unchanged: %d, was %d'
          % (imap.uidvalidity(), validity))
    now = imap.uids()
    check({b: u for b, u in now.items() if b in uids} == uids,
          'every UID unchanged after relaygate\'s sessions: %r, were %r'
          % (now, uids))
    new_uid = now[T.crlf_form(last)]
    check(new_uid > max(uids.values()), 'the message relaygate moved first '
          'got the next UID: %d' % new_uid)
    appended = (b'Subject: appended through IMAP\r\nX-Test: 1\r\n\r\n'
                b'line one\r\n.dot line\r\nlast\r\n')
    imap.ok(imap.m.append('INBOX', '(\\Seen)', None, appended), 'APPEND')
    new_names = [n for n in D.maildir_names(env, 'cur')
                 + D.maildir_names(env, 'new')
                 if n.split(':', 1)[0] not in want]
    check(len(new_names) == 1, 'Courier stored the APPEND as one file: %r'
          % new_names)
    want[new_names[0].split(':', 1)[0]] = appended
    p = D.pop_session(env, s)
    D.expect_pop_view(D.pop_view(p), want, 'POP3 after the IMAP APPEND')
    p.quit()
    check(imap.noop_expunged() == [], 'IMAP NOOP: nothing expunged')
    after = imap.uids()
    check(set(after) == set(now) | {appended}
          and {b: u for b, u in after.items() if b in now} == now,
          'IMAP still sees every message, with the same UIDs, after '
          'relaygate\'s session: %r' % after)
    imap.logout()
    both_logs_clean(courier, s)


@case('courier/flags-keep-uidl-and-bytes',
      'messages flagged \\Seen through Courier (renamed to ":2,S"; Courier '
      'keeps keywords in courierimapkeywords/, not in the name) keep their '
      'UIDL, LIST size, RETR bytes and number order in relaygate-pop3d; a '
      'message flagged while a POP3 session is open is still retrieved and '
      'deleted by that session (found again by its base name); relaygate '
      'renames no file, so the flags stay; Courier\'s session sees the '
      'POP3 deletion as an EXPUNGE; both logs clean')
def case_flags(env):
    courier, s, bases = setup(env, ('plain', 'dots'))
    D.flags_keep_uidl_and_bytes(env, CourierPeer(courier), s, bases)


@case('courier/pop3-dele-gone-for-imap',
      'DELE + QUIT in relaygate-pop3d removes the message for a Courier '
      'session that has INBOX selected (a FETCH before its sync returns '
      'Courier\'s "message unavailable" notice, not the message; NOOP '
      'brings its EXPUNGE) and for a '
      'new one (STATUS MESSAGES); DELE + RSET and a dropped connection '
      'delete nothing; both logs clean')
def case_pop3_dele(env):
    courier, s, bases = setup(env, ('plain', 'dots', 'toplines'))
    D.pop3_dele_gone_for_imap(env, CourierPeer(courier), s, bases)


@case('courier/imap-expunge-during-pop3-session',
      'messages EXPUNGEd through Courier while a POP3 session holds its '
      'snapshot get "-ERR Message was deleted by another program." on RETR '
      'and TOP, the session goes on (NOOP, RETR of the others with their '
      'bytes, DELE), a DELE of the gone one is harmless, QUIT deletes '
      'the rest as asked; the next POP3 session and Courier agree on what '
      'is left; both logs clean')
def case_imap_expunge(env):
    names = ('plain', 'dots', 'nofinal', 'toplines', 'eightbit')
    courier, s, bases = setup(env, names)
    p = D.pop_session(env, s)
    _, uidls, _ = p.uidl()
    num = {l.split()[1].decode(): int(l.split()[0]) for l in uidls}
    check(len(num) == 5, 'five messages: %r' % uidls)
    imap = Imap(courier)
    imap.select()
    imap.expunge(imap.uid_of(MESSAGES['dots']))
    imap.expunge(imap.uid_of(MESSAGES['toplines']))
    imap.store(imap.uid_of(MESSAGES['eightbit']), '(\\Seen)')
    for cmd in ('RETR %d' % num[bases['dots']], 'TOP %d 0' % num[bases['toplines']],
                'RETR %d' % num[bases['toplines']]):
        D.expect_gone(p, cmd)
    D.expect_session_goes_on(p, num, bases, ('plain', 'nofinal', 'eightbit'))
    for n in ('dots', 'nofinal'):
        T.expect_ok(p.dele(num[bases[n]]), 'DELE of %s' % n)
    got = p.quit()
    check(got.startswith(b'+OK Logging out'), 'QUIT: +OK, got %r' % got)
    check(s.running(), 'relaygate-pop3d still running')
    check(len(imap.noop_expunged()) == 1, 'Courier\'s NOOP brings one '
          'EXPUNGE (the message relaygate deleted)')
    check(sorted(m[3] for m in imap.messages()) == bodies(('plain',
                                                             'eightbit')),
          'Courier holds the two messages neither deleted')
    imap.logout()
    D.expect_last_session(env, CourierPeer(courier), s, bases,
                          ('plain', 'eightbit'))


@case('courier/files-side-by-side',
      'relaygate\'s relaygate-pop3.lock and relaygate-pop3.sizes in the '
      'Maildir are no mailbox and no message for Courier (LIST shows INBOX '
      'and the folders made through IMAP only, STATUS counts the messages), '
      'also while a POP3 session holds the lock; Courier\'s '
      'courierimapuiddb, courierimapkeywords/ and a Maildir++ folder with a '
      'message in it change nothing for relaygate (same STAT, UIDL and '
      'bytes, the folder\'s message not listed); relaygate leaves Courier\'s '
      'files alone; both logs clean')
def case_files(env):
    courier, s, bases = setup(env, ('plain', 'toplines'))
    D.files_side_by_side(env, CourierPeer(courier), s, bases)


def maildirsize_total(path):
    """(bytes, messages): the sum of the lines of maildirsize after its
    quota definition, as Maildir++ readers (Courier) count the usage."""
    with open(path, 'rb') as f:
        lines = f.read().splitlines()[1:]
    total = count = 0
    for line in lines:
        b, c = line.split()
        total += int(b)
        count += int(c)
    return total, count


def quotaroot_storage(imap):
    """(used, limit) of STORAGE in GETQUOTAROOT INBOX, in KiB."""
    typ, data = imap.m.getquotaroot('INBOX')
    found = [re.search(rb'\(STORAGE (\d+) (\d+)\)', d)
             for part in data for d in part if d]
    found = [m for m in found if m]
    check(typ == 'OK' and len(found) == 1, 'GETQUOTAROOT INBOX: one STORAGE, '
          'got %r %r' % (typ, data))
    return int(found[0].group(1)), int(found[0].group(2))


@case('courier/quota-maildirsize',
      'with a Maildir++ quota (maildirsize: "10485760S" and the usage, as '
      'maildirmake -q and a recalculation leave it) Courier adds a line '
      'for an IMAP APPEND; relaygate-pop3d\'s QUIT adds exactly one line '
      '"-<bytes> -2" for the two messages it deleted (Courier\'s, named '
      'with ,S=, and one delivered without); Courier\'s session that had '
      'them syncs the expunges without a line of its own (no double '
      'subtraction); the lines add up to what the Maildir holds, and '
      'Courier\'s GETQUOTAROOT says so; both logs clean')
def case_quota(env):
    env.add_user('joe', PASSWORD)
    big = (b'Subject: big, delivered without S=\n\n'
           + b'0123456789abcdef0123456789abcdef\n' * 200)
    bases = {'plain': D.deliver(env, 'plain'),
             'big': D.deliver(env, None, big)}
    quota = os.path.join(env.maildir('joe'), 'maildirsize')
    total, count = D.maildirplus_usage(env)
    with open(quota, 'wb') as f:
        f.write(b'10485760S\n%d %d\n' % (total, count))
    os.chown(quota, T.MAIL_UID, T.MAIL_GID)
    courier, s = Courier(env), env.start()
    imap = Imap(courier)
    check(imap.select() == 2, 'IMAP SELECT INBOX: 2 messages')
    check(quotaroot_storage(imap) == (D.kib(total), 10240), 'GETQUOTAROOT '
          'before: %r, expected (%d, 10240)' % (quotaroot_storage(imap),
                                                D.kib(total)))
    appended = (b'Subject: appended through IMAP\r\n\r\n'
                + b'fedcba9876543210fedcba9876543210\r\n' * 150)
    imap.ok(imap.m.append('INBOX', None, None, appended), 'APPEND')
    names = [n for sub in ('cur', 'new') for n in D.maildir_names(env, sub)
             if n.split(':', 1)[0] not in bases.values()]
    check(len(names) == 1 and ',S=' in names[0], 'Courier named the '
          'APPENDed message with ,S=: %r' % names)
    appended_size = int(re.search(r',S=(\d+)', names[0]).group(1))
    with open(quota, 'rb') as f:
        before = f.read()
    check(before.startswith(b'10485760S\n%d %d\n' % (total, count))
          and before.count(b'\n') == 3
          and maildirsize_total(quota) == D.maildirplus_usage(env),
          'Courier added a line for the APPEND, and the lines add up to the '
          'Maildir: %r' % before)
    check(imap.noop_expunged() == [] and len(imap.messages()) == 3,
          'IMAP NOOP, then FETCH of the three messages')
    D.expect_quota_line(env, CourierPeer(courier), s, imap, quota, before,
                        (names[0].split(':', 1)[0], bases['big']),
                        len(big) + appended_size)
    left = D.maildirplus_usage(env)
    check(maildirsize_total(quota) == left and left[1] == 1,
          'the lines add up to what is left: %r, the Maildir holds %r'
          % (maildirsize_total(quota), left))
    imap.logout()
    other = Imap(courier)
    other.select()
    check(quotaroot_storage(other) == (D.kib(left[0]), 10240),
          'Courier\'s GETQUOTAROOT after the POP3 QUIT: %r, expected (%d, '
          '10240)' % (quotaroot_storage(other), D.kib(left[0])))
    other.logout()
    both_logs_clean(courier, s)


# ---------------------------------------------------------------- main

if __name__ == '__main__':
    if not os.path.exists(IMAPD):
        print('SKIP: %s is missing: run scripts/install-deps.sh test (it '
              'unpacks courier-imap and its libraries, role "unpack" in '
              'deps/debian-packages.txt)' % IMAPD)
        sys.exit(77)
    missing = [d for d in LIBRARY_DIRS if not os.path.isdir(d)]
    if missing:
        print('FAIL: %s is there but not the libraries it needs: %r; run '
              'scripts/install-deps.sh test' % (IMAPD, missing))
        sys.exit(1)
    sys.exit(T.main(CASES, prefix='pop3d-courier-'))
