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
. "$(dirname "$0")/lib-sendmail.sh"
. "$(dirname "$0")/lib-lookupd.sh"
. "$(dirname "$0")/lib-relay.sh"
relay_test_prepare sendmail
smport=$(free_port) || fail "no free loopback port"
sock=$work/socketmap.sock
# the daemon listens on both; sendmail uses the unix socket, then TCP
listen="unix:$sock, inet:127.0.0.1:$smport"
vsr_use_own_config

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

# ---- 3. grant life cycle ---------------------------------------------------------
check_fresh_grant "" $A $B
check_window "" $A
check_grant_deleted "" $A
vsr add $N
relay_denied "fresh grant for never_relay address $N" $N
local_ok "never_relay address" $N
lookupd_logged "decisions" "127\.0\.0\.2"
lookupd_logged "never_relay decision" "127\.0\.0\.5"

if [ "$have_ipv6" = yes ]; then
	check_fresh_grant "IPv6, " $IPV6_CLIENT $IPV6_CLIENT2 $IPV6_SERVER
	relay_denied "IPv6, longer address $IPV6_CLIENT_EXT" $IPV6_CLIENT_EXT $IPV6_SERVER
	check_window "IPv6, " $IPV6_CLIENT $IPV6_SERVER
	check_grant_deleted "IPv6, " $IPV6_CLIENT $IPV6_SERVER
	lookupd_logged "IPv6 decision" "$IPV6_NET:0:0:0:5|$IPV6_NET::5"
fi

# ---- 4. relay tricks from an address without a grant -----------------------------
check_relay_tricks

# ---- 5. broken store, stopped daemon ---------------------------------------------
check_lookupd_store_broken
# sendmail asks the socket map again at once
check_lookupd_stopped 0 "unix:$sock" "inet:127.0.0.1:$smport"

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
