divert(-1)
dnl relaygate.m4: POP/IMAP-before-SMTP relaying for sendmail (relaygate).
dnl
dnl Install it as BOTH (or either of)
dnl     /usr/share/sendmail/cf/hack/relaygate.m4     -> HACK(`relaygate')
dnl     /usr/share/sendmail/cf/feature/relaygate.m4  -> FEATURE(`relaygate')
dnl (the directory is _CF_DIR_, /usr/share/sendmail/cf on Debian) and add
dnl one of those lines to sendmail.mc; FEATURE before the MAILER lines, HACK
dnl anywhere after the OSTYPE line.  See contrib/sendmail/README.
dnl
dnl What it does: in ruleset Local_check_rcpt, when the SMTP client's
dnl address ${client_addr} holds a fresh grant, answer "$# OK" (accept the
dnl recipient, relaying included).  In every other case (no grant, stale
dnl grant, garbage value, lookup error that is not temporary) it returns
dnl the recipient unchanged, so sendmail's own checks (Basic_check_rcpt:
dnl access db, Rcpt_ok, Relay_ok) decide exactly as without this file.
dnl A temporary lookup failure never relays: the recipient then gets what
dnl sendmail's own rules say, except that "Relaying denied" (5.7.1) becomes
dnl 451 4.3.0, so mail from a roaming user is retried, not bounced, while
dnl local delivery goes on as usual.
dnl
dnl Two ways to look the grant up:
dnl  1. Native (default): sendmail reads relayers.db itself, a Berkeley DB
dnl     hash map (key = client address, value = epoch seconds of the login,
dnl     no trailing NUL), and checks the age with the arith map:
dnl         ${time} - value < RELAYGATE_WINDOW  -> fresh.
dnl     For IPv6 the "IPv6:" prefix of ${client_addr} is removed first, so
dnl     the full form (2001:db8:0:0:0:0:0:5, as Debian's sendmail writes it)
dnl     is looked up; relaygate stores that form.
dnl       define(`RELAYGATE_MAP', `/var/lib/relaygate/relayers')
dnl           map path, without ".db" (this is the default)
dnl       define(`RELAYGATE_MAP_TYPE', `hash')    (default)
dnl       define(`RELAYGATE_WINDOW', `1800')
dnl           seconds; keep it equal to relay_window in relaygate.conf
dnl  2. Socket map through relaygate-lookupd, which checks the age itself:
dnl       define(`RELAYGATE_SOCKET', `unix:/run/relaygate/socketmap')
dnl     (or `inet:PORT@127.0.0.1').  ${client_addr} is sent as it is
dnl     (lower-cased by sendmail); the reply "OK OK" means fresh grant,
dnl     TEMP (or a failed connection) is a temporary failure, anything else
dnl     falls through.  RELAYGATE_MAP and RELAYGATE_WINDOW are then unused.
dnl The define lines must come BEFORE the HACK/FEATURE line.
dnl
dnl Only "dnl" comments in this file: cf.m4 turns m4 "#" comments off, so
dnl macro names in a "#" comment would be expanded.
dnl
dnl If sendmail.mc has its own LOCAL_RULESETS with SLocal_check_rcpt,
dnl sendmail joins the rules of both in the order of the .mc (a ruleset
dnl declared twice is continued).  Rules placed after this file run only
dnl when relaygate did not answer; put them before the FEATURE/HACK line if
dnl they must also apply to clients with a grant.
dnl
dnl Keep the map non-optional (no -o): with -o, a missing or unsafe map is
dnl silently "not found" and a store outage gives 550 instead of 451.

ifdef(`RELAYGATE_MAP', `', `define(`RELAYGATE_MAP', `/var/lib/relaygate/relayers')')
ifdef(`RELAYGATE_MAP_TYPE', `', `define(`RELAYGATE_MAP_TYPE', `hash')')
ifdef(`RELAYGATE_WINDOW', `', `define(`RELAYGATE_WINDOW', `1800')')
define(`_RELAYGATE_', `1')

divert(0)dnl
LOCAL_CONFIG
ifdef(`RELAYGATE_SOCKET', `dnl
# relaygate: grants answered by relaygate-lookupd (socket map)
Krelaygate socket -T<TMPF> RELAYGATE_SOCKET
', `dnl
# relaygate: grants read from the relay store (key: address, value: epoch)
Krelaygate RELAYGATE_MAP_TYPE -T<TMPF> RELAYGATE_MAP
Krelaygate_arith arith
')dnl

LOCAL_RULESETS
######################################################################
###  relaygate: relay for clients with a fresh POP/IMAP login grant
######################################################################
SLocal_check_rcpt
ifdef(`RELAYGATE_SOCKET', `dnl
R$*			$: $1 $| <$(relaygate $&{client_addr} $: NONE $)>
R$* $| <$* <TMPF>>	$: $1 $| <TMPF> $>Basic_check_rcpt $1
R$* $| <TMPF> $# error $* 5 . 7 . 1 $*	$#error $@ 4.3.0 $: "451 Temporary failure looking up the relay grant"
R$* $| <TMPF> $# $*	$# $2
R$* $| <OK>		$# OK
R$* $| $*		$: $1
', `dnl
R$*			$: $1 $| <$&{client_addr}>
R$* $| <IPv6 : $+>	$: $1 $| <$2>
R$* $| <$+>		$: $1 $| <$(relaygate $2 $: NONE $)>
R$* $| <$* <TMPF>>	$: $1 $| <TMPF> $>Basic_check_rcpt $1
R$* $| <TMPF> $# error $* 5 . 7 . 1 $*	$#error $@ 4.3.0 $: "451 Temporary failure looking up the relay grant"
R$* $| <TMPF> $# $*	$# $2
R$* $| <NONE>		$: $1
R$* $| <$->		$: $1 $| <$(relaygate_arith - $@ $&{time} $@ $2 $)>
R$* $| <$->		$: $1 $| <$(relaygate_arith l $@ $2 $@ RELAYGATE_WINDOW $)>
R$* $| <TRUE>		$# OK
R$* $| $*		$: $1
')dnl
divert(-1)
