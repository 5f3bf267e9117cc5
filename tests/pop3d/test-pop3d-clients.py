#!/usr/bin/env python3
"""relaygate-pop3d with the real POP3 clients of Debian: curl, fetchmail and
getmail6, over plain POP3, STLS and POP3S, keeping and deleting mail.

Run by meson (suite 'pop3d'); by hand:

    VSMTPRELAY=build/vsmtprelay RELAYGATE_BUILD_ROOT=build \\
        tests/pop3d/test-pop3d-clients.py [CASE...]

It uses the harness of tests/lib/relaygate_test.py and the server set-up
of test-pop3d.py (fresh 0755 directory per case, server
started with -F on free loopback ports and stopped by PID, Maildirs owned
by uid 5000, root required). Message bytes must arrive identical to the
files once line endings are normalised the way each client documents:

- curl writes the body as received: CRLF line ends, dot-stuffing undone,
  the CRLF that precedes the terminating "." kept (so a message without a
  final newline gets one, and an empty message is a lone CRLF).
- fetchmail hands the MDA LF line ends (stripcr, the default with an MDA)
  and ends a last line without newline; `invisible` suppresses its
  Received: header; a message without any header is replaced by its own
  "Headerless mail" notice, so the empty message is checked for that.
- getmail6's Maildir destination writes LF line ends, ends a last line,
  and puts "Return-Path: <...>" first; that line is removed before
  comparing.

A missing client is a failure, never a skip (deps/debian-packages.txt
lists them).

getmail 6.18 sometimes hangs for ever in its own SIGCHLD race (it installs
the handler after fork() and the handler takes a lock the waiting code
holds). A getmail run that hangs beside an exited (zombie) delivery child,
with the server idle waiting for its next command, is run again (at most
three times, and said so in the output); any other hang fails the case.
"""
import os
import pwd
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, 'lib'))
import relaygate_test as H  # noqa: E402 - found through the path above
from relaygate_test import check  # noqa: E402
T = H.load_script(os.path.join(HERE, 'test-pop3d.py'), 'test_pop3d')

CASES = []
MESSAGES = T.MESSAGES
RUN_TIMEOUT = 120


def case(name, proves):
    return H.case(name, proves, CASES)


def lf_form(data):
    """Message bytes with LF line ends and a final LF."""
    lf = data.replace(b'\r\n', b'\n')
    if not lf.endswith(b'\n'):
        lf += b'\n'
    return lf


def curl_form(data):
    """What curl writes for a message file (see the docstring)."""
    crlf = T.crlf_form(data)
    if not crlf.endswith(b'\r\n'):
        crlf += b'\r\n'
    return crlf


def tool(name):
    path = shutil.which(name)
    check(path is not None, '%s is installed (deps/debian-packages.txt)' % name)
    return path


def run(env, argv, what, extra_env=None, ok_codes=(0,)):
    """Run a client; its CompletedProcess, checked against OK_CODES."""
    e = dict(os.environ)
    if extra_env:
        e.update(extra_env)
    r = subprocess.run(argv, capture_output=True, env=e, timeout=RUN_TIMEOUT,
                       stdin=subprocess.DEVNULL)
    check(r.returncode in ok_codes, '%s: exit %d (expected %s)\n$ %s\n'
          'stdout: %s\nstderr: %s' % (what, r.returncode, ok_codes, ' '.join(argv),
                                      r.stdout[-2000:].decode(errors='replace'),
                                      r.stderr[-3000:].decode(errors='replace')))
    return r


def mailbox(env, user, names):
    """Deliver MESSAGES[name] for NAMES to USER; {name: data}."""
    out = {}
    for n in names:
        env.deliver(user, MESSAGES[n])
        out[n] = MESSAGES[n]
    return out


def same_multiset(got, want, what):
    g = sorted(got)
    w = sorted(want)
    missing = [x for x in w if x not in g]
    extra = [x for x in g if x not in w]
    check(g == w, '%s: messages arrive identical; missing %r; unexpected %r'
          % (what, [m[:120] for m in missing], [m[:120] for m in extra]))


# ---------------------------------------------------------------- curl

def curl(env, url, what, args=(), ok_codes=(0,)):
    argv = [tool('curl'), '--silent', '--show-error', '--max-time', '60',
            '--interface', '127.0.0.2', '--user', 'joe:curl-pw'] + list(args) + [url]
    return run(env, argv, what, ok_codes=ok_codes).stdout


def curl_session(env, base, what, args=()):
    """LIST, UIDL and every message through curl; checks the bytes."""
    listing = curl(env, base + '/', what + ' LIST', args)
    entries = [l.split() for l in listing.decode().splitlines() if l.strip()]
    want = {n: MESSAGES[n] for n in ('plain', 'dots', 'nofinal', 'empty', 'crlf',
                                     'eightbit')}
    check(len(entries) == len(want), '%s: curl LIST shows %d messages: %r'
          % (what, len(want), listing))
    check(sorted(int(e[1]) for e in entries)
          == sorted(len(T.crlf_form(m)) for m in want.values()),
          '%s: LIST sizes are the CRLF forms: %r' % (what, listing))
    uidl = curl(env, base + '/', what + ' UIDL', list(args) + ['--request', 'UIDL'])
    check(len(uidl.decode().split('\r\n')) >= len(want),
          '%s: curl -X UIDL lists every message: %r' % (what, uidl))
    got = [curl(env, '%s/%s' % (base, e[0]), '%s RETR %s' % (what, e[0]), args)
           for e in entries]
    same_multiset(got, [curl_form(m) for m in want.values()], what + ' RETR')
    top = curl(env, base + '/', what + ' TOP', list(args) + ['--request', 'TOP 1 0'])
    check(top.strip() != b'', '%s: curl -X "TOP 1 0" returns headers: %r'
          % (what, top))
    return entries


@case('curl/pop3-stls-pop3s',
      'curl retrieves LIST, UIDL, TOP and every message (LF, CRLF, dots, no '
      'final newline, empty, 8-bit) byte for byte over pop3://, over '
      'pop3:// with --ssl-reqd (STLS) and over pop3s:// (-k); each login from '
      '127.0.0.2 records the grant; curl -X DELE with QUIT deletes exactly '
      'one message, curl with a wrong password fails (exit 67) and grants '
      'nothing; messages are kept otherwise')
def case_curl(env):
    env.add_user('joe', 'curl-pw')
    mailbox(env, 'joe', ('plain', 'dots', 'nofinal', 'empty', 'crlf', 'eightbit'))
    before = env.files('joe')
    s = env.start(tls=True, pop3s=True)
    plain = 'pop3://127.0.0.1:%d' % s.address[1]
    secure = 'pop3s://127.0.0.1:%d' % s.tls_address[1]
    curl_session(env, plain, 'pop3://')
    check(env.granted('127.0.0.2'), 'curl pop3:// login granted 127.0.0.2')
    check(T.re.search(r'event=login .*address=127\.0\.0\.2 .*tls=no', s.log()),
          'plain curl login logged tls=no: %r' % s.log())
    env.vsm('delete', '127.0.0.2')
    curl_session(env, plain, 'pop3:// --ssl-reqd', ['--ssl-reqd', '--insecure'])
    check(env.granted('127.0.0.2'), 'curl STLS login granted 127.0.0.2')
    env.vsm('delete', '127.0.0.2')
    curl_session(env, secure, 'pop3s://', ['--insecure'])
    check(env.granted('127.0.0.2'), 'curl pop3s:// login granted 127.0.0.2')
    tls_logins = T.re.findall(r'event=login .*tls=yes', s.log())
    check(len(tls_logins) >= 2, 'STLS and pop3s logins logged tls=yes: %r'
          % s.log())
    check(env.files('joe') == before, 'nothing deleted by retrieving')
    # Wrong password: curl exit 67 (login denied), no grant for the source.
    env.vsm('delete', '127.0.0.2')
    curl(env, plain + '/', 'wrong password', ['--user', 'joe:nope'],
         ok_codes=(67,))
    check(not env.granted('127.0.0.2'), 'failed curl login: no grant')
    # DELE through curl (-I: no body expected; curl sends QUIT at the end).
    curl(env, plain + '/1', 'curl -X DELE', ['--request', 'DELE', '-I'])
    check(len(env.files('joe')) == len(before) - 1,
          'curl -X DELE 1 + QUIT deleted one message: %d left'
          % len(env.files('joe')))


# ---------------------------------------------------------------- fetchmail

def fetchmail(env, s, name, options, what, ok_codes=(0,), port=None):
    """Run fetchmail once with a private HOME and rcfile; the list of
    messages its MDA wrote."""
    home = env.path('fetchmail-home-' + name)
    out = env.path('fetchmail-out-' + name)
    os.makedirs(home, exist_ok=True)
    os.makedirs(out, exist_ok=True)
    mda = env.path('mda.sh')
    if not os.path.exists(mda):
        with open(mda, 'w') as f:
            f.write('#!/bin/sh\n# one file per message in $1\n'
                    'f=$(mktemp "$1/msg.XXXXXX") && cat > "$f"\n')
        os.chmod(mda, 0o755)
    for old in os.listdir(out):
        os.unlink(os.path.join(out, old))
    rc = os.path.join(home, '.fetchmailrc')
    with open(rc, 'w') as f:
        f.write('set no syslog\n'
                'set invisible\n'
                'set idfile "%s"\n'
                'poll 127.0.0.1 with proto POP3 port %d timeout 60%s\n'
                '  user "joe" there with password "fm-pw" is "root" here\n'
                '  mda "%s %s"\n'
                '  no rewrite\n'
                % (os.path.join(home, '.fetchids'), port or s.address[1],
                   ' uidl' if 'uidl' in options else '', mda, out))
        for o in options:
            if o == 'uidl':
                continue    # a server option, on the poll line
            f.write('  %s\n' % o)
    os.chmod(rc, 0o600)
    argv = [tool('fetchmail'), '--nosyslog', '-f', rc, '--pidfile',
            os.path.join(home, 'fetchmail.pid'), '-v']
    r = run(env, argv, what, extra_env={'HOME': home}, ok_codes=ok_codes)
    got = []
    for n in sorted(os.listdir(out)):
        with open(os.path.join(out, n), 'rb') as f:
            got.append(f.read())
    return got, r


def check_fetched(got, want, what):
    """Compare fetchmail's deliveries with WANT (names of MESSAGES)."""
    headerless = [g for g in got if b'Headerless mail' in g]
    others = [g for g in got if b'Headerless mail' not in g]
    same_multiset(others, [lf_form(MESSAGES[n]) for n in want if n != 'empty'],
                  what)
    check(len(headerless) == ('empty' in want),
          '%s: the empty message arrives as fetchmail\'s headerless notice: %r'
          % (what, headerless))


@case('fetchmail/keep-nokeep-tls',
      'fetchmail (MDA to files) with keep retrieves every message byte for '
      'byte (LF form) and leaves them; a second keep run with UIDL (idfile) '
      'fetches nothing new; "sslproto tls1.2+" (STLS) and "ssl" (pop3s) runs '
      'work; with "no keep" the messages are fetched and deleted; the grant '
      'is recorded')
def case_fetchmail(env):
    env.add_user('joe', 'fm-pw')
    names = ('plain', 'dots', 'nofinal', 'crlf', 'eightbit', 'toplines', 'empty')
    mailbox(env, 'joe', names)
    before = env.files('joe')
    s = env.start(tls=True, pop3s=True)
    # fetchmail 6.4 insists on STLS unless sslproto is empty: plain POP3 first.
    got, r = fetchmail(env, s, 'plain', ['keep', 'uidl', 'sslproto ""'],
                       'fetchmail keep (plain)')
    check_fetched(got, names, 'fetchmail keep (plain)')
    check(env.files('joe') == before, 'keep: nothing deleted')
    check(env.granted('127.0.0.1'), 'fetchmail login granted 127.0.0.1')
    got, r = fetchmail(env, s, 'plain', ['keep', 'uidl', 'sslproto ""'],
                       'fetchmail keep again', ok_codes=(1,))
    check(got == [], 'second keep run with uidl: no message fetched again '
          '(UIDL stable), got %d' % len(got))
    got, r = fetchmail(env, s, 'stls', ['keep', 'sslproto "tls1.2+"',
                                        'no sslcertck'],
                       'fetchmail STLS keep')
    check_fetched(got, names, 'fetchmail STLS')
    check(b'STLS' in r.stderr + r.stdout, 'fetchmail used STLS (verbose log)')
    got, r = fetchmail(env, s, 'pop3s', ['keep', 'ssl', 'no sslcertck'],
                       'fetchmail pop3s keep', port=s.tls_address[1])
    check_fetched(got, names, 'fetchmail pop3s')
    check(env.files('joe') == before, 'keep runs: nothing deleted')
    check(len(T.re.findall(r'event=login .*tls=yes', s.log())) >= 2,
          'STLS and pop3s logins logged tls=yes')
    got, r = fetchmail(env, s, 'nokeep', ['no keep', 'sslproto "tls1.2+"',
                                          'no sslcertck'],
                       'fetchmail no keep')
    check_fetched(got, names, 'fetchmail no keep')
    check(env.files('joe') == {}, 'no keep: every message deleted, left %r'
          % list(env.files('joe')))
    got, r = fetchmail(env, s, 'nokeep', ['no keep', 'sslproto ""'],
                       'fetchmail on an empty mailbox', ok_codes=(1,))
    check(got == [], 'empty mailbox: nothing fetched')
    # A wrong password: fetchmail exit 3 (authentication failed).
    with open(env.passwd) as f:
        text = f.read()
    with open(env.passwd, 'w') as f:
        f.write(text.replace('{PLAIN}fm-pw', '{PLAIN}other-pw'))
    s.stop()
    env.vsm('delete', '127.0.0.1')
    s = env.start()
    got, r = fetchmail(env, s, 'bad', ['keep', 'sslproto ""'],
                       'fetchmail with a wrong password', ok_codes=(3,))
    check(not env.granted('127.0.0.1'), 'failed fetchmail login: no grant')


# ---------------------------------------------------------------- getmail

def getmail(env, s, name, retriever, delete, what, port=None, ok_codes=(0,)):
    """Run getmail once into a Maildir owned by nobody; the messages
    delivered (Return-Path line removed) by this run."""
    out = env.path('getmail-out-' + name)
    state = env.path('getmail-state-' + name)
    os.makedirs(state, exist_ok=True)
    nobody = pwd.getpwnam('nobody')
    for sub in ('', 'cur', 'new', 'tmp'):
        d = os.path.join(out, sub)
        os.makedirs(d, exist_ok=True)
        os.chown(d, nobody.pw_uid, nobody.pw_gid)
    rc = os.path.join(state, 'getmailrc')
    with open(rc, 'w') as f:
        f.write('[retriever]\ntype = %s\nserver = 127.0.0.1\nport = %d\n'
                'username = joe\npassword = gm-pw\n' % (retriever, port or s.address[1]))
        if 'SSL' in retriever:
            f.write('# self-signed test certificate: no verification\n')
        f.write('\n[destination]\ntype = Maildir\npath = %s/\n'
                '# getmail refuses to deliver as root\nuser = nobody\n'
                '\n[options]\nverbose = 2\nread_all = false\n'
                'delete = %s\nreceived = false\ndelivered_to = false\n'
                % (out, 'true' if delete else 'false'))
    os.chmod(rc, 0o600)
    argv = [tool('getmail'), '--rcfile', rc, '--getmaildir', state]
    for attempt in range(3):
        seen = set(os.listdir(os.path.join(out, 'new')))
        r = run_getmail(argv, what, ok_codes)
        if r is not None:
            break
        print('     note: %s: getmail hung in its own SIGCHLD race (a zombie '
              'delivery child, the server waiting for the next command); '
              'run again' % what)
    check(r is not None, '%s: getmail hung three times' % what)
    got = []
    for n in sorted(os.listdir(os.path.join(out, 'new'))):
        if n in seen:
            continue
        with open(os.path.join(out, 'new', n), 'rb') as f:
            data = f.read()
        if data.startswith(b'Return-Path:'):
            data = data.split(b'\n', 1)[1]
        got.append(data)
    return got, r


def run_getmail(argv, what, ok_codes):
    """Run getmail; its CompletedProcess, or None when it hung in its own
    race: getmail 6.18 installs its SIGCHLD handler after fork() and waits
    on a non-reentrant lock the handler also takes, so now and then it
    waits for ever beside a delivery child that has exited (a zombie). Any
    other hang is a failure."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        zombies = []
        for child in H.descendants(p.pid):
            try:
                with open('/proc/%d/stat' % child) as f:
                    if f.read().rsplit(')', 1)[1].split()[0] == 'Z':
                        zombies.append(child)
            except OSError:
                pass
        p.kill()
        out, err = p.communicate()
        check(zombies, '%s: getmail hung with no exited delivery child (so '
              'not its SIGCHLD race): waiting for the server?\n$ %s\n'
              'stdout: %s\nstderr: %s' % (what, ' '.join(argv),
                                           out[-2000:].decode(errors='replace'),
                                           err[-2000:].decode(errors='replace')))
        return None
    check(p.returncode in ok_codes, '%s: exit %d (expected %s)\n$ %s\n'
          'stdout: %s\nstderr: %s' % (what, p.returncode, ok_codes,
                                      ' '.join(argv),
                                      out[-2000:].decode(errors='replace'),
                                      err[-3000:].decode(errors='replace')))
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


@case('getmail/keep-delete-ssl',
      'getmail6 SimplePOP3Retriever with delete = false retrieves every '
      'message byte for byte (LF form) into a Maildir and leaves them; a '
      'second run (read_all = false) retrieves nothing (UIDL stable); '
      'SimplePOP3SSLRetriever on pop3s_listen works; delete = true '
      'retrieves and deletes; the grant is recorded')
def case_getmail(env):
    env.add_user('joe', 'gm-pw')
    names = ('plain', 'dots', 'nofinal', 'empty', 'crlf', 'eightbit', 'toplines')
    mailbox(env, 'joe', names)
    before = env.files('joe')
    s = env.start(pop3s=True)
    want = [lf_form(MESSAGES[n]) for n in names]
    got, r = getmail(env, s, 'keep', 'SimplePOP3Retriever', False,
                     'getmail delete=false')
    same_multiset(got, want, 'getmail SimplePOP3Retriever')
    check(env.files('joe') == before, 'delete = false: nothing deleted')
    check(env.granted('127.0.0.1'), 'getmail login granted 127.0.0.1')
    got, r = getmail(env, s, 'keep', 'SimplePOP3Retriever', False,
                     'getmail second run')
    check(got == [], 'second run (read_all = false): nothing retrieved again, '
          'got %d' % len(got))
    got, r = getmail(env, s, 'ssl', 'SimplePOP3SSLRetriever', False,
                     'getmail SSL delete=false', port=s.tls_address[1])
    same_multiset(got, want, 'getmail SimplePOP3SSLRetriever')
    check(T.re.search(r'event=login .*tls=yes', s.log()),
          'pop3s login logged tls=yes')
    got, r = getmail(env, s, 'delete', 'SimplePOP3SSLRetriever', True,
                     'getmail SSL delete=true', port=s.tls_address[1])
    same_multiset(got, want, 'getmail delete=true')
    check(env.files('joe') == {}, 'delete = true: every message deleted, '
          'left %r' % list(env.files('joe')))


if __name__ == '__main__':
    sys.exit(T.main(CASES, prefix='pop3d-clients-'))
