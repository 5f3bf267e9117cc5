#!/bin/sh
# sendmail-socketmap: a real sendmail daemon built from
# contrib/sendmail/sendmail.mc.example with its RELAYGATE_SOCKET line
# enabled asks relaygate-lookupd (socket map "relaygate" on a unix socket)
# instead of reading the store. Proves:
#  - the .cf has the socket K line and no arith rules;
#  - relaying to a remote domain is refused (5xx) without a grant, accepted
#    after `vsmtprelay add`, refused once the grant is older than the
#    window (the daemon checks it), refused after `vsmtprelay delete`; a
#    grant for one address never lets another relay; an address in
#    never_relay never relays even with a grant in the store;
#  - IPv6 (when test addresses can be added to lo): sendmail sends
#    ${client_addr} as is ("ipv6:" + full form) and the daemon answers it;
#    a longer address never rides on the grant;
#  - local delivery is accepted throughout, also while the store is broken
#    or the daemon is down;
#  - classic relay tricks are refused for an address without a grant;
#  - a broken store (daemon answers TEMP) and a stopped daemon give 4xx,
#    never 2xx, for relaying; relaying works again once the daemon is back;
#  - the daemon logs its decisions;
#  - the same works over TCP (RELAYGATE_SOCKET `inet:PORT@127.0.0.1'; the
#    daemon listens on a unix socket and a TCP port at once).
# Never skips, except the IPv6 cases when lo cannot get test addresses.
TEST_NAME=sendmail-socketmap
. "$(dirname "$0")/lib.sh"
need_env VSMTPRELAY RELAYGATE_SOURCE_ROOT RELAYGATE_BUILD_ROOT
[ -x "$VSMTPRELAY" ] || fail "VSMTPRELAY=$VSMTPRELAY is not executable"
. "$(dirname "$0")/lib-sendmail.sh"
. "$(dirname "$0")/lib-lookupd.sh"
make_work
sendmail_prepare
setup_ipv6
port=$(free_port) || fail "no free loopback port"
smport=$(free_port) || fail "no free loopback port"
sock=$work/socketmap.sock
# the daemon listens on both; sendmail uses the unix socket, then TCP
listen="unix:$sock, inet:127.0.0.1:$smport"

# vsmtprelay with its own configuration: it must be able to store a grant
# for the never_relay address of the daemon's configuration.
printf 'relay_window = 30m\n' > "$work/vsmtprelay.conf"
vsr() {
	"$VSMTPRELAY" -c "$work/vsmtprelay.conf" -f "$relayers" "$@" \
		> "$work/vsr.out" 2>&1 ||
		fail "vsmtprelay $*: exit $?: $(cat "$work/vsr.out")"
}

# ---- 1. .cf with the socket map ------------------------------------------------
sendmail_mc "$work/socket.mc" "$port" \
	-e "s|^dnl define(\`RELAYGATE_SOCKET', \`[^']*')|define(\`RELAYGATE_SOCKET', \`unix:$sock')|"
grep -q "^define(\`RELAYGATE_SOCKET', \`unix:$sock')" "$work/socket.mc" ||
	fail "could not enable RELAYGATE_SOCKET in the example .mc (did its line change?)"
sendmail_cf "$work/socket.mc" "$work/sendmail.cf"
grep -qx "Krelaygate socket -T<TMPF> unix:$sock" "$work/sendmail.cf" ||
	fail "no socket K line: $(grep '^Krelaygate' "$work/sendmail.cf")"
grep -q 'relaygate_arith' "$work/sendmail.cf" &&
	fail "the socket variant still has the arith rules"
checks=$((checks + 2))

# ---- 2. daemons ----------------------------------------------------------------
N=127.0.0.5
lookupd_config "$listen" "" \
	"0.0.0.0/8, 224.0.0.0/4, 255.255.255.255/32, ::/128, ff00::/8, $N/32"
vsr add 192.0.2.99 1000000000
lookupd_start "unix:$sock" "inet:127.0.0.1:$smport"
sendmail_start "$work/sendmail.cf"

REMOTE=user@remote.example
LOCAL=root@$SM_DOMAIN
A=127.0.0.2
B=127.0.0.3

relay_denied() {
	expect_rcpt 5 "$1" "$2" "${3:-127.0.0.1}" "$port" "$REMOTE" "$REMOTE"
}
relay_ok() {
	expect_rcpt 250 "$1" "$2" "${3:-127.0.0.1}" "$port" "$REMOTE" "$REMOTE"
}
relay_tempfail() {
	expect_rcpt 4 "$1" "$2" "${3:-127.0.0.1}" "$port" "$REMOTE" "$REMOTE"
}
local_ok() {
	expect_rcpt 250 "$1: local delivery" "$2" "${3:-127.0.0.1}" "$port" "$REMOTE" "$LOCAL"
}

# ---- 3. grant life cycle ---------------------------------------------------------
relay_denied "no grant" $A
local_ok "no grant" $A
vsr add $A
relay_ok "fresh grant" $A
relay_denied "grant for $A only" $B
local_ok "grant for $A only" $B
vsr add $A $(($(date +%s) - 4000))
relay_denied "grant 4000 s old" $A
vsr add $A $(($(date +%s) - 1700))
relay_ok "grant 1700 s old" $A
vsr add $A
vsr delete $A
relay_denied "grant deleted" $A
local_ok "grant deleted" $A
vsr add $N
relay_denied "fresh grant for never_relay address $N" $N
local_ok "never_relay address" $N
lookupd_logged "decisions" "127\.0\.0\.2"
lookupd_logged "never_relay decision" "127\.0\.0\.5"

if [ "$have_ipv6" = yes ]; then
	relay_denied "IPv6, no grant" $IPV6_CLIENT $IPV6_SERVER
	vsr add $IPV6_CLIENT
	relay_ok "IPv6, fresh grant" $IPV6_CLIENT $IPV6_SERVER
	relay_denied "IPv6, grant for $IPV6_CLIENT only" $IPV6_CLIENT2 $IPV6_SERVER
	relay_denied "IPv6, longer address $IPV6_CLIENT_EXT" $IPV6_CLIENT_EXT $IPV6_SERVER
	vsr add $IPV6_CLIENT $(($(date +%s) - 4000))
	relay_denied "IPv6, grant 4000 s old" $IPV6_CLIENT $IPV6_SERVER
	vsr delete $IPV6_CLIENT
	relay_denied "IPv6, grant deleted" $IPV6_CLIENT $IPV6_SERVER
	local_ok "IPv6" $IPV6_CLIENT $IPV6_SERVER
	lookupd_logged "IPv6 decision" "$IPV6_NET:0:0:0:5|$IPV6_NET::5"
fi

# ---- 4. relay tricks from an address without a grant -----------------------------
vsr add $A
for from in "$REMOTE" "$LOCAL" "<>"; do
	for to in "user%remote.example@$SM_DOMAIN" \
		"@$SM_DOMAIN:user@remote.example" \
		"remote.example!user@$SM_DOMAIN" \
		"\"user@remote.example\"@$SM_DOMAIN" \
		"user@[192.0.2.1]" \
		"user@remote.example."; do
		smtp_rcpt $B 127.0.0.1 "$port" "$from" "$to"
		case "$code" in
		5*) ;;
		*) fail "relay trick <$to> from $B (sender <$from>) got '$reply', expected 5xx" ;;
		esac
		checks=$((checks + 1))
	done
done
relay_ok "fresh grant while tricks were tried" $A

# what really gets queued: the tricks together with a local recipient, from
# the address without a grant; then (control) a granted relay
queue_clear
smtp_send $B 127.0.0.1 "$port" "<>" "$LOCAL,user%remote.example@$SM_DOMAIN,@$SM_DOMAIN:user@remote.example,remote.example!user@$SM_DOMAIN,\"user@remote.example\"@$SM_DOMAIN,user@[192.0.2.1],user@remote.example."
expect_queued "tricks from $B with a local recipient" "$LOCAL"
queue_clear
smtp_send $A 127.0.0.1 "$port" "$REMOTE" "$REMOTE"
expect_queued "relayed message from $A (control)" "$REMOTE"
queue_clear

# ---- 5. broken store, stopped daemon ---------------------------------------------
cp -p "$relayers" "$work/relayers.saved" || fail "cp $relayers"
head -c 16384 /dev/urandom > "$relayers"
relay_tempfail "store full of random bytes (daemon answers TEMP)" $A
note "broken store: relaying answered '$reply'"
local_ok "store full of random bytes" $A
rm -f "$relayers"
relay_tempfail "store missing" $A
local_ok "store missing" $A
cp -p "$work/relayers.saved" "$relayers" || fail "copy the store back"
relay_ok "store restored" $A
lookupd_stop
relay_tempfail "relaygate-lookupd stopped" $A
note "daemon stopped: relaying answered '$reply'"
relay_tempfail "relaygate-lookupd stopped, no grant" $B
local_ok "relaygate-lookupd stopped" $A
lookupd_start "unix:$sock" "inet:127.0.0.1:$smport"
relay_ok "relaygate-lookupd started again" $A
relay_denied "relaygate-lookupd started again, no grant" $B

sendmail_stop

# ---- 6. the same daemon over TCP: RELAYGATE_SOCKET inet:PORT@127.0.0.1 --------
sendmail_mc "$work/inet.mc" "$port" \
	-e "s|^dnl define(\`RELAYGATE_SOCKET', \`[^']*')|define(\`RELAYGATE_SOCKET', \`inet:$smport@127.0.0.1')|"
sendmail_cf "$work/inet.mc" "$work/inet.cf"
grep -qx "Krelaygate socket -T<TMPF> inet:$smport@127.0.0.1" "$work/inet.cf" ||
	fail "no inet socket K line: $(grep '^Krelaygate' "$work/inet.cf")"
sendmail_start "$work/inet.cf"
relay_ok "TCP socket map, fresh grant" $A
relay_denied "TCP socket map, no grant" $B
local_ok "TCP socket map" $B
sendmail_stop
sendmail_queue_empty "end of test"
pass "IPv6 cases $( [ "$have_ipv6" = yes ] && echo run || echo SKIPPED)"
