# lib-sendmail.sh: build and run a private sendmail for the MTA tests
# (sourced after lib.sh and make_work). The .cf is made with m4 from the
# system's cf.m4 and the very files under contrib/sendmail/: the example
# .mc, with its paths, ports and optional lines changed by sed, and
# relaygate.m4, installed as both cf/hack/relaygate.m4 and
# cf/feature/relaygate.m4 in a private copy of the cf tree.
# Nothing here talks to a non-loopback address: sendmail runs through ns()
# (lib.sh: no DNS, qualified host name; an unqualified name makes the
# daemon query DNS and sleep 60 s before it listens); delivery mode is
# queue-only.

SENDMAIL_CF_SYSTEM=/usr/share/sendmail/cf
# the LOCAL_DOMAIN of contrib/sendmail/sendmail.mc.example
MTA_DOMAIN=mail.example.org

# sendmail_prepare: tools, private cf tree, hosts/aliases/access files,
# queue directory.
sendmail_prepare() {
	need_tool sendmail:sendmail-bin makemap:sendmail-bin m4:m4 swaks:swaks \
		perl:perl-base ip:iproute2
	[ -f "$SENDMAIL_CF_SYSTEM/m4/cf.m4" ] ||
		fail "$SENDMAIL_CF_SYSTEM/m4/cf.m4 missing (install sendmail-cf)"
	[ -f "$RELAYGATE_SOURCE_ROOT/contrib/sendmail/relaygate.m4" ] ||
		fail "contrib/sendmail/relaygate.m4 missing"
	mkdir "$work/cf" || fail "mkdir $work/cf"
	for sub in "$SENDMAIL_CF_SYSTEM"/*; do
		name=$(basename "$sub")
		case "$name" in
		hack|feature)
			mkdir "$work/cf/$name" || fail "mkdir $work/cf/$name"
			for file in "$sub"/*; do
				ln -s "$file" "$work/cf/$name/" || fail "ln -s $file"
			done
			ln -s "$RELAYGATE_SOURCE_ROOT/contrib/sendmail/relaygate.m4" \
				"$work/cf/$name/relaygate.m4" || fail "ln -s relaygate.m4"
			;;
		*)
			ln -s "$sub" "$work/cf/$name" || fail "ln -s $sub"
			;;
		esac
	done
	ns_prepare
	printf 'hosts\tfiles\naliases\tfiles\n' > "$work/service.switch"
	printf 'postmaster: root\nMAILER-DAEMON: postmaster\n' > "$work/aliases"
	# an access map as most sites have one (sendmail's own relay rules
	# consult it); nothing in it relays
	printf 'Connect:192.0.2.250\tREJECT\n' | makemap hash "$work/access" \
		2> "$work/err" || fail "makemap hash $work/access: $(cat "$work/err")"
	mkdir -m 700 "$work/queue" || fail "mkdir $work/queue"
	relayers=$work/relayers.db
}

# sendmail_mc OUT PORT [SED-EXPRESSION...]: the example .mc for a private
# daemon on 127.0.0.1:PORT (and [$IPV6_SERVER]:PORT if have_ipv6=yes),
# with the relay store $work/relayers.db, plus extra sed expressions.
sendmail_mc() {
	out=$1 port=$2
	shift 2
	v6=""
	[ "${have_ipv6:-no}" = yes ] &&
		v6="DAEMON_OPTIONS(\`Family=inet6, Name=MTA-v6, Port=$port, Addr=$IPV6_SERVER')dnl"
	cat > "$work/prologue.m4" <<EOF
dnl ---- relaygate test: private paths, no DNS, no delivery
define(\`MAIL_SETTINGS_DIR', \`$work/')dnl
define(\`QUEUE_DIR', \`$work/queue')dnl
define(\`confPID_FILE', \`$work/sendmail.pid')dnl
define(\`STATUS_FILE', \`$work/statistics')dnl
define(\`ALIAS_FILE', \`$work/aliases')dnl
define(\`HELP_FILE', \`$work/helpfile')dnl
define(\`confHOSTS_FILE', \`$work/hosts')dnl
define(\`confSERVICE_SWITCH_FILE', \`$work/service.switch')dnl
define(\`confDELIVERY_MODE', \`queueonly')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confTO_IDENT', \`0')dnl
define(\`confDOMAIN_NAME', \`mta.example.test')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`no_default_msa')dnl
EOF
	set -- -e "/^VERSIONID/r $work/prologue.m4" \
		-e "s|^define(\`RELAYGATE_MAP', \`[^']*')|define(\`RELAYGATE_MAP', \`$work/relayers')|" \
		-e "s|^DAEMON_OPTIONS(\`Family=inet, .*|DAEMON_OPTIONS(\`Family=inet, Name=MTA-v4, Port=$port, Addr=127.0.0.1')dnl|" \
		-e "s|^DAEMON_OPTIONS(\`Family=inet6, .*|$v6|" "$@"
	sed "$@" "$RELAYGATE_SOURCE_ROOT/contrib/sendmail/sendmail.mc.example" \
		> "$out" || fail "sed on sendmail.mc.example"
	grep -q "RELAYGATE_MAP', \`$work/relayers'" "$out" ||
		fail "could not set RELAYGATE_MAP in the example .mc (did its define line change?)"
	grep -q "Port=$port, Addr=127.0.0.1" "$out" ||
		fail "could not set DAEMON_OPTIONS in the example .mc (did its lines change?)"
}

# sendmail_cf MC CF: m4 with the private cf tree; warnings are failures.
sendmail_cf() {
	m4 -D_CF_DIR_="$work/cf/" "$work/cf/m4/cf.m4" "$1" > "$2" 2> "$work/m4.err" ||
		fail "m4 $1: $(cat "$work/m4.err")"
	[ ! -s "$work/m4.err" ] || fail "m4 $1 printed: $(cat "$work/m4.err")"
}

# sm COMMAND...: run COMMAND (sendmail) in the private namespaces.
sm() {
	ns "$@"
}

# sendmail_start CF: run a daemon (-bD, foreground) with CF; sets $sm_pid.
# Aliases are rebuilt first.
sendmail_start() {
	sm sendmail -C "$1" -bi > "$work/newaliases.out" 2>&1 ||
		fail "sendmail -bi: $(cat "$work/newaliases.out")"
	start_bg_in_ns "$work/sendmail.log" sendmail -C "$1" -bD \
		-X "$work/transcript.log"
	sm_pid=$last_pid
	wait_mta_ports "$sm_pid" sendmail
}

# sendmail_stop: stop the daemon started last.
sendmail_stop() {
	stop_bg "$sm_pid"
}

# sendmail_bt CF CLIENT_ADDR ADDRESS: run check_rcpt in address test mode
# with ${client_addr} = CLIENT_ADDR and ${time} = now; prints the output.
sendmail_bt() {
	printf '.D{client_addr}%s\n.D{time}%s\ncheck_rcpt %s\n' \
		"$2" "$(date +%s)" "$3" | sm sendmail -C "$1" -bt 2>&1
}

# sendmail_queue_empty WHAT: nothing was queued.
sendmail_queue_empty() {
	queued=$(find "$work/queue" -type f)
	[ -z "$queued" ] || fail "$1: mail was queued: $queued"
	checks=$((checks + 1))
}

# queued_rcpts: the recipients of every queued message, one per line.
queued_rcpts() {
	for qf in "$work/queue"/qf*; do
		[ -f "$qf" ] || continue
		sed -n 's/^R[^:]*:<*\([^>]*\)>*$/\1/p' "$qf"
	done
}

# queue_clear: remove every queued message.
queue_clear() {
	find "$work/queue" -type f -delete
}
