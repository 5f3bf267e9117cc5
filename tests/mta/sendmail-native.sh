#!/bin/sh
# sendmail-native: a real sendmail daemon (8.17, -bD on a loopback port)
# built from contrib/sendmail/sendmail.mc.example + relaygate.m4 reads the
# relay store written by vsmtprelay. Proves:
#  - HACK(`relaygate') and FEATURE(`relaygate') give the same rules;
#    define(`RELAYGATE_WINDOW') changes the window; IPv6 keys are found for
#    the full, upper-case and compressed forms of ${client_addr}; stored
#    values that are not epoch seconds never relay (address test mode);
#  - relaying to a remote domain is refused (5xx) without a grant, accepted
#    after `vsmtprelay add`, refused once the grant is older than the
#    window (1800 s), refused after `vsmtprelay delete`; a grant for one
#    address never lets another relay (IPv4; IPv6 through Debian's
#    `IPv6:` full-form ${client_addr} when test addresses can be added);
#  - local delivery is accepted throughout, also while the store is broken;
#  - classic relay tricks (percent hack, source route, bang path, quoted
#    local part, IP literal, trailing dot) are refused for an address
#    without a grant, with a remote, a local and an empty sender;
#  - a missing, corrupt, unreadable or directory store answers 451 (never
#    2xx) for relaying and leaves local delivery alone;
#  - while the store is rebuilt by rename (vsmtprelay load) and rewritten
#    in place (makemap) over and over, an address with only a stale grant
#    never relays, and one with a fresh grant relays at least sometimes
#    (the 250/4xx/5xx counts are printed).
# Never skips, except the IPv6 cases when lo cannot get test addresses
# (said clearly on stdout and stderr).
TEST_NAME=sendmail-native
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-sendmail.sh"
. "$(dirname "$0")/lib-relay.sh"
relay_test_prepare sendmail

# ---- 1. .cf from the example .mc, FEATURE and HACK forms --------------------
sendmail_mc "$work/feature.mc" "$port"
grep -q "^FEATURE(\`relaygate')" "$work/feature.mc" ||
	fail "the example .mc has no FEATURE(\`relaygate') line"
sendmail_cf "$work/feature.mc" "$work/sendmail.cf"
sendmail_mc "$work/hack.mc" "$port" \
	-e "/^FEATURE(\`relaygate')/d" \
	-e "s/^MAILER(\`smtp')dnl/&\nHACK(\`relaygate')dnl/"
grep -q "^HACK(\`relaygate')" "$work/hack.mc" || fail "could not make the HACK form"
sendmail_cf "$work/hack.mc" "$work/hack.cf"
# the relaygate lines: K lines and the Local_check_rcpt rules after them
relaygate_lines() {
	sed -n -e '/^Krelaygate/p' \
		-e '/^###  relaygate:/,/^R\$\* \$| \$\*/p' "$1"
}
relaygate_lines "$work/sendmail.cf" > "$work/feature.lines"
relaygate_lines "$work/hack.cf" > "$work/hack.lines"
[ "$(grep -c '^R' "$work/feature.lines")" -ge 8 ] ||
	fail "FEATURE(\`relaygate') produced no rules: $(cat "$work/feature.lines")"
grep -qx "Krelaygate hash -T<TMPF> $work/relayers" "$work/feature.lines" ||
	fail "no K line for $work/relayers: $(grep '^K' "$work/feature.lines")"
cmp "$work/feature.lines" "$work/hack.lines" > /dev/null ||
	fail "HACK and FEATURE forms differ: $(diff "$work/feature.lines" "$work/hack.lines")"
checks=$((checks + 1))

# ---- 2. address test mode: rules, IPv6 form, window define -----------------
now=$(date +%s)
vsr add 192.0.2.10 "$now"
vsr add 192.0.2.11 $((now - 1000))
vsr add 2001:db8::5 "$now"
# bt_expect CF CLIENT_ADDR RESULT WHAT: check_rcpt of a remote recipient
bt_expect() {
	out=$(sendmail_bt "$1" "$2" user@remote.example)
	last=$(printf '%s\n' "$out" | grep 'check_rcpt  *returns:' | tail -1)
	case "$last" in
	*"$3"*) ;;
	*) fail "$4: sendmail -bt check_rcpt for \${client_addr}=$2 gave '$last', expected '$3':
$out" ;;
	esac
	checks=$((checks + 1))
}
bt_expect "$work/sendmail.cf" 192.0.2.10 '$# OK' "fresh grant"
bt_expect "$work/hack.cf" 192.0.2.10 '$# OK' "fresh grant, HACK form"
bt_expect "$work/sendmail.cf" 192.0.2.12 'Relaying denied' "no grant"
bt_expect "$work/sendmail.cf" IPv6:2001:db8:0:0:0:0:0:5 '$# OK' "IPv6 full form"
bt_expect "$work/sendmail.cf" IPv6:2001:db8:0:0:0:0:0:6 'Relaying denied' "other IPv6 address"
bt_expect "$work/sendmail.cf" IPv6:2001:DB8:0:0:0:0:0:5 '$# OK' "IPv6 full form, upper case"
bt_expect "$work/sendmail.cf" IPv6:2001:db8::5 '$# OK' "IPv6 compressed (UseCompressedIPv6Addresses)"
bt_expect "$work/sendmail.cf" 2001:db8::5 '$# OK' "IPv6 without prefix"
bt_expect "$work/sendmail.cf" "" 'returns: RELAY' "empty client address (local submission)"
# values that are not epoch seconds never relay (written with makemap -o,
# which vsmtprelay would refuse to store)
printf '192.0.2.20 abc\n192.0.2.21 12ab\n192.0.2.22 -5\n192.0.2.23 <OK>\n' |
	makemap -o hash "$work/relayers" 2> "$work/err" ||
	fail "makemap -o: $(cat "$work/err")"
for addr in 192.0.2.20 192.0.2.21 192.0.2.22 192.0.2.23; do
	bt_expect "$work/sendmail.cf" $addr 'Relaying denied' "garbage value for $addr"
done
vsr delete 192.0.2.20 192.0.2.21 192.0.2.22 192.0.2.23
bt_expect "$work/sendmail.cf" 192.0.2.11 '$# OK' "grant 1000 s old, window 1800 s"
sendmail_mc "$work/window.mc" "$port" \
	-e "s/^define(\`RELAYGATE_WINDOW', \`1800')/define(\`RELAYGATE_WINDOW', \`900')/"
grep -q "RELAYGATE_WINDOW', \`900'" "$work/window.mc" || fail "could not set RELAYGATE_WINDOW"
sendmail_cf "$work/window.mc" "$work/window.cf"
bt_expect "$work/window.cf" 192.0.2.11 'Relaying denied' "grant 1000 s old, window 900 s"
bt_expect "$work/window.cf" 192.0.2.10 '$# OK' "fresh grant, window 900 s"
vsr delete 192.0.2.10 192.0.2.11 2001:db8::5

# ---- 3. the daemon: grant life cycle ----------------------------------------
# The store exists before the daemon starts (as after installation) and
# holds only an old grant of an unrelated address.
vsr add 192.0.2.99 1000000000
sendmail_start "$work/sendmail.cf"

check_fresh_grant "" $A $B
local_ok "fresh grant" $A
check_window "" $A
vsr add $A $(($(date +%s) - 1900))
relay_denied "grant 1900 s old" $A
vsr add $A
relay_ok "renewed grant" $A
check_grant_deleted "" $A

if [ "$have_ipv6" = yes ]; then
	check_fresh_grant "IPv6, " $IPV6_CLIENT $IPV6_CLIENT2 $IPV6_SERVER
	relay_denied "IPv4 while only IPv6 has a grant" $A
	check_window "IPv6, " $IPV6_CLIENT $IPV6_SERVER
	check_grant_deleted "IPv6, " $IPV6_CLIENT $IPV6_SERVER
fi

# ---- 4. relay tricks from an address without a grant -------------------------
check_relay_tricks
vsr delete $A

# ---- 5. broken store: 451 for relaying, local delivery unaffected -----------
vsr add $A
relay_ok "grant before breaking the store" $A
mv "$relayers" "$work/relayers.saved" || fail "mv $relayers"
check_store_broken 451 missing
head -c 16384 /dev/urandom > "$relayers"
check_store_broken 451 "full of random bytes"
head -c 100 "$work/relayers.saved" > "$relayers"
check_store_broken 451 "truncated to 100 bytes"
cp "$work/relayers.saved" "$relayers" && chmod 000 "$relayers" ||
	fail "copy the store back"
check_store_broken 451 "mode 000"
rm -f "$relayers"
mkdir "$relayers" || fail "mkdir $relayers"
check_store_broken 451 "a directory"
rmdir "$relayers"
mv "$work/relayers.saved" "$relayers" || fail "mv back"
relay_ok "store restored" $A

# ---- 6. rebuilds while sessions run ------------------------------------------
# C has only a stale grant, A a fresh one, in every version of the file.
C=127.0.0.4
now=$(date +%s)
printf '%s %s\n%s %s\n192.0.2.%s %s\n' $A "$now" $C $((now - 4000)) 1 "$now" \
	> "$work/list1"
printf '%s\t%s\n%s\t%s\n192.0.2.%s\t%s\n' $A "$now" $C $((now - 4000)) 2 "$now" \
	> "$work/list2"
vsr load "$work/list1"
touch "$work/churn"
(
	i=0
	while [ -f "$work/churn" ]; do
		i=$((i + 1))
		if [ $((i % 2)) = 0 ]; then
			"$VSMTPRELAY" -f "$relayers" load "$work/list1"
		else
			makemap hash "$work/relayers" < "$work/list2"
		fi
	done > "$work/churn.log" 2>&1
	echo "$i" > "$work/churn.count"
) &
churn_pid=$!
pids="$pids $churn_pid"
n=0 ok=0 tempfail=0 refused=0
while [ $n -lt 40 ]; do
	n=$((n + 1))
	smtp_rcpt $C 127.0.0.1 "$port" "$REMOTE" "$REMOTE"
	case "$code" in
	4*|5*) ;;
	*) fail "store rebuilt during sessions: stale grant of $C relayed: '$reply'" ;;
	esac
	smtp_rcpt $A 127.0.0.1 "$port" "$REMOTE" "$REMOTE"
	case "$code" in
	250) ok=$((ok + 1)) ;;
	4*) tempfail=$((tempfail + 1)) ;;
	# makemap truncates the file before it takes its lock, so a session
	# can read a half-written map and miss the grant: refused, not relayed
	5*) refused=$((refused + 1)) ;;
	*) fail "store rebuilt during sessions: fresh grant of $A got '$reply'" ;;
	esac
	checks=$((checks + 2))
done
rm -f "$work/churn"
wait "$churn_pid"
rebuilds=$(cat "$work/churn.count" 2> /dev/null || echo 0)
[ "$rebuilds" -ge 2 ] || fail "the rebuild loop did not run: $(cat "$work/churn.log")"
[ "$ok" -ge 1 ] || fail "store rebuilt during sessions: $A never relayed ($tempfail times 451)"
note "during $rebuilds rebuilds: fresh grant 250 x$ok, 4xx x$tempfail, 5xx x$refused; stale grant never relayed"

sendmail_stop
grep -q 'Relaying denied' "$work/transcript.log" ||
	fail "the SMTP transcript shows no relay refusal"
sendmail_queue_empty "end of test"
pass "IPv6 cases $( [ "$have_ipv6" = yes ] && echo run || echo SKIPPED)"
