# lib-postfix.sh: build and run a private Postfix instance for the MTA
# tests (sourced after lib.sh and make_work). Postfix is the Debian package
# unpacked under $POSTFIX_ROOT (not installed): its master runs in the
# foreground (-d) with a private config, queue and data directory, one
# smtpd on a loopback port, no DNS (ns() from lib.sh, peer name lookups
# off), and remote delivery deferred. The relay rules are the very
# fragment from contrib/postfix/, with paths and ports changed by sed.

# the local domain (mydestination)
MTA_DOMAIN=mail.example.org

# postfix_prepare: tools and directories.
postfix_prepare() {
	need_tool swaks:swaks perl:perl-base ip:iproute2
	for prog in usr/sbin/postconf usr/sbin/postmap usr/lib/postfix/sbin/master \
		usr/lib/postfix/sbin/smtpd; do
		[ -x "$POSTFIX_ROOT/$prog" ] ||
			fail "$POSTFIX_ROOT/$prog missing (scripts/install-deps.sh unpacks Postfix)"
	done
	getent passwd daemon > /dev/null || fail "no user 'daemon' for mail_owner"
	getent group mail > /dev/null || fail "no group 'mail' for setgid_group"
	ns_prepare
	pf_conf=$work/postfix
	pf_queue=$work/postfix-queue
	mkdir "$pf_conf" "$pf_queue" "$work/postfix-data" || fail "mkdir postfix dirs"
	for sub in active bounce corrupt defer deferred flush hold incoming \
		private saved trace; do
		mkdir -m 700 "$pf_queue/$sub" || fail "mkdir $pf_queue/$sub"
	done
	mkdir -m 730 "$pf_queue/maildrop" "$pf_queue/public" || fail "mkdir queue"
	mkdir -m 755 "$pf_queue/pid" || fail "mkdir $pf_queue/pid"
	chown daemon "$pf_queue"/* "$work/postfix-data" || fail "chown queue"
	chown root "$pf_queue/pid" || fail "chown pid"
	chgrp mail "$pf_queue/maildrop" "$pf_queue/public" || fail "chgrp queue"
	relayers=$work/relayers.db
	LD_LIBRARY_PATH="$POSTFIX_ROOT/usr/lib/postfix${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	export LD_LIBRARY_PATH
}

# postfix_config PORT FRAGMENT [SED-EXPRESSION...]: main.cf and master.cf
# for smtpd on 127.0.0.1:PORT (and [$IPV6_SERVER]:PORT if have_ipv6=yes).
# FRAGMENT (a file in contrib/postfix) is appended to main.cf after the
# store path and the sed expressions are substituted.
postfix_config() {
	port=$1 fragment=$2
	shift 2
	interfaces=127.0.0.1 protocols=ipv4
	if [ "${have_ipv6:-no}" = yes ]; then
		interfaces="127.0.0.1, $IPV6_SERVER"
		protocols="ipv4, ipv6"
	fi
	cat > "$pf_conf/main.cf" <<EOF
# relaygate test instance
compatibility_level = 3.6
mail_owner = daemon
setgid_group = mail
default_privs = nobody
queue_directory = $pf_queue
data_directory = $work/postfix-data
command_directory = $POSTFIX_ROOT/usr/sbin
daemon_directory = $POSTFIX_ROOT/usr/lib/postfix/sbin
meta_directory = $POSTFIX_ROOT/etc/postfix
shlib_directory = $POSTFIX_ROOT/usr/lib/postfix
# the unpacked (not installed) libraries, for the master's children
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C
	POSTLOG_SERVICE POSTLOG_HOSTNAME
	LD_LIBRARY_PATH=$POSTFIX_ROOT/usr/lib/postfix
maillog_file = $work/postfix.log
maillog_file_prefixes = $work
myhostname = mta.example.test
mydomain = example.test
myorigin = \$myhostname
mydestination = $MTA_DOMAIN, \$myhostname, localhost
mynetworks = 127.0.0.1/32
inet_interfaces = $interfaces
inet_protocols = $protocols
local_recipient_maps =
alias_maps =
alias_database =
biff = no
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtputf8_enable = no
smtpd_banner = \$myhostname ESMTP relaygate test
# accepted messages wait in the hold queue, where the test reads them;
# nothing is ever delivered
smtpd_data_restrictions = check_client_access static:HOLD
defer_transports = smtp, relay, local
EOF
	sed -e "s|hash:/var/lib/relaygate/relayers|hash:$work/relayers|" "$@" \
		"$RELAYGATE_SOURCE_ROOT/contrib/postfix/$fragment" \
		>> "$pf_conf/main.cf" || fail "sed on contrib/postfix/$fragment"
	{
		printf '127.0.0.1:%s inet n - n - - smtpd\n' "$port"
		if [ "${have_ipv6:-no}" = yes ]; then
			printf '[%s]:%s inet n - n - - smtpd\n' "$IPV6_SERVER" "$port"
		fi
		cat <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	} > "$pf_conf/master.cf"
	"$POSTFIX_ROOT/usr/sbin/postconf" -c "$pf_conf" -n > "$work/postconf.out" 2>&1 ||
		fail "postconf -n: $(cat "$work/postconf.out")"
	if grep -q 'warning' "$work/postconf.out"; then
		fail "postconf warns: $(grep warning "$work/postconf.out")"
	fi
}

# postfix_start: the master in the foreground (PID in $pf_pid), then wait
# for the smtpd ports.
postfix_start() {
	start_bg_in_ns "$work/postfix-master.log" \
		"$POSTFIX_ROOT/usr/lib/postfix/sbin/master" -c "$pf_conf" -d
	pf_pid=$last_pid
	wait_mta_ports "$pf_pid" "postfix master"
}

# postfix_stop: stop the master (it stops its children).
postfix_stop() {
	stop_bg "$pf_pid"
}

# postfix_queue_empty WHAT: nothing was queued.
postfix_queue_empty() {
	queued=$(find "$pf_queue/incoming" "$pf_queue/active" "$pf_queue/deferred" \
		"$pf_queue/hold" "$pf_queue/maildrop" -type f 2> /dev/null)
	[ -z "$queued" ] || fail "$1: mail was queued: $queued"
	checks=$((checks + 1))
}

# queued_rcpts: the recipients of every queued message, one per line.
queued_rcpts() {
	find "$pf_queue/incoming" "$pf_queue/active" "$pf_queue/deferred" \
		"$pf_queue/hold" -type f | while read -r qfile; do
		"$POSTFIX_ROOT/usr/sbin/postcat" -c "$pf_conf" -e "$qfile" |
			sed -n 's/^recipient: //p'
	done
}

# queue_clear: remove every queued message.
queue_clear() {
	"$POSTFIX_ROOT/usr/sbin/postsuper" -c "$pf_conf" -d ALL > "$work/postsuper.out" 2>&1 ||
		fail "postsuper -d ALL: $(cat "$work/postsuper.out")"
}
