#!/bin/sh
# postfix-lookupd: a real Postfix (private instance, smtpd on a loopback
# port) asks relaygate-lookupd, first with contrib/postfix/main.cf-policy
# (check_policy_service on a unix socket), then with
# contrib/postfix/main.cf-socketmap (check_client_access socketmap: on
# 127.0.0.1). For each, proves:
#  - relaying to a remote domain is refused (5xx) without a grant, accepted
#    after `vsmtprelay add`, refused once the grant is older than the
#    window (the daemon checks it, unlike hash:), refused after
#    `vsmtprelay delete`; a grant for one address never lets another relay;
#    an address in never_relay never relays even with a grant in the store;
#  - IPv6 (when test addresses can be added to lo): the grant works, and an
#    address whose compressed form extends the granted one does NOT relay
#    (no prefix matching, unlike hash:);
#  - local delivery is accepted throughout, also while the store is broken
#    or the daemon is down;
#  - classic relay tricks are refused for an address without a grant;
#  - a broken store and a stopped daemon give 4xx, never 2xx, for
#    relaying; relaying works again once the daemon is back;
#  - the daemon logs its decisions; nothing is left in the queue.
# Never skips, except the IPv6 cases when lo cannot get test addresses.
TEST_NAME=postfix-lookupd
. "$(dirname "$0")/lib.sh"
need_env VSMTPRELAY RELAYGATE_SOURCE_ROOT RELAYGATE_BUILD_ROOT POSTFIX_ROOT
[ -x "$VSMTPRELAY" ] || fail "VSMTPRELAY=$VSMTPRELAY is not executable"
. "$(dirname "$0")/lib-postfix.sh"
. "$(dirname "$0")/lib-lookupd.sh"
make_work
postfix_prepare
setup_ipv6
port=$(free_port) || fail "no free loopback port"
smport=$(free_port) || fail "no free loopback port"
policy=unix:$work/policy.sock
socketmap=inet:127.0.0.1:$smport

printf 'relay_window = 30m\n' > "$work/vsmtprelay.conf"
vsr() {
	"$VSMTPRELAY" -c "$work/vsmtprelay.conf" -f "$relayers" "$@" \
		> "$work/vsr.out" 2>&1 ||
		fail "vsmtprelay $*: exit $?: $(cat "$work/vsr.out")"
}

REMOTE=user@remote.example
LOCAL=root@$PF_DOMAIN
A=127.0.0.2
B=127.0.0.3
N=127.0.0.5

relay_denied() {
	expect_rcpt 5 "$variant: $1" "$2" "${3:-127.0.0.1}" "$port" "$REMOTE" "$REMOTE"
}
relay_ok() {
	expect_rcpt 250 "$variant: $1" "$2" "${3:-127.0.0.1}" "$port" "$REMOTE" "$REMOTE"
}
relay_tempfail() {
	expect_rcpt 4 "$variant: $1" "$2" "${3:-127.0.0.1}" "$port" "$REMOTE" "$REMOTE"
}
local_ok() {
	expect_rcpt 250 "$variant: $1: local delivery" "$2" "${3:-127.0.0.1}" "$port" "$REMOTE" "$LOCAL"
}

lookupd_config "$socketmap" "$policy" \
	"0.0.0.0/8, 224.0.0.0/4, 255.255.255.255/32, ::/128, ff00::/8, $N/32"
vsr add 192.0.2.99 1000000000
lookupd_start "$socketmap" "$policy"

# scenario VARIANT FRAGMENT SED-EXPRESSION CHECK-LINE: one Postfix
# configuration from start to stop.
scenario() {
	variant=$1
	postfix_config "$port" "$2" -e "$3"
	grep -q "$4" "$pf_conf/main.cf" ||
		fail "$variant: could not set the endpoint in $2 (did its line change?)"
	checks=$((checks + 1))
	postfix_start

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
	vsr delete $A
	relay_denied "grant deleted" $A
	local_ok "grant deleted" $A
	vsr add $N
	relay_denied "fresh grant for never_relay address $N" $N
	vsr delete $N

	if [ "$have_ipv6" = yes ]; then
		relay_denied "IPv6, no grant" $IPV6_CLIENT $IPV6_SERVER
		vsr add $IPV6_CLIENT
		relay_ok "IPv6, fresh grant" $IPV6_CLIENT $IPV6_SERVER
		relay_denied "IPv6, grant for $IPV6_CLIENT only" $IPV6_CLIENT2 $IPV6_SERVER
		relay_denied "IPv6, longer address $IPV6_CLIENT_EXT (no prefix matching)" \
			$IPV6_CLIENT_EXT $IPV6_SERVER
		vsr add $IPV6_CLIENT $(($(date +%s) - 4000))
		relay_denied "IPv6, grant 4000 s old" $IPV6_CLIENT $IPV6_SERVER
		vsr delete $IPV6_CLIENT
		relay_denied "IPv6, grant deleted" $IPV6_CLIENT $IPV6_SERVER
		local_ok "IPv6" $IPV6_CLIENT $IPV6_SERVER
	fi

	vsr add $A
	for from in "$REMOTE" "$LOCAL" "<>"; do
		for to in "user%remote.example@$PF_DOMAIN" \
			"@$PF_DOMAIN:user@remote.example" \
			"remote.example!user@$PF_DOMAIN" \
			"\"user@remote.example\"@$PF_DOMAIN" \
			"user@[192.0.2.1]" \
			"user@remote.example."; do
			smtp_rcpt $B 127.0.0.1 "$port" "$from" "$to"
			case "$code" in
			5*) ;;
			*) fail "$variant: relay trick <$to> from $B (sender <$from>) got '$reply', expected 5xx" ;;
			esac
			checks=$((checks + 1))
		done
	done
	relay_ok "fresh grant while tricks were tried" $A
	# what really gets queued: the tricks together with a local recipient, from
	# the address without a grant; then (control) a granted relay
	queue_clear
	smtp_send $B 127.0.0.1 "$port" "<>" "$LOCAL,user%remote.example@$PF_DOMAIN,@$PF_DOMAIN:user@remote.example,remote.example!user@$PF_DOMAIN,\"user@remote.example\"@$PF_DOMAIN,user@[192.0.2.1],user@remote.example."
	expect_queued "$variant: tricks from $B with a local recipient" "$LOCAL"
	queue_clear
	smtp_send $A 127.0.0.1 "$port" "$REMOTE" "$REMOTE"
	expect_queued "$variant: relayed message from $A (control)" "$REMOTE"
	queue_clear

	cp -p "$relayers" "$work/relayers.saved" || fail "cp $relayers"
	head -c 16384 /dev/urandom > "$relayers"
	relay_tempfail "store full of random bytes" $A
	note "$variant, broken store: relaying answered '$reply'"
	local_ok "store full of random bytes" $A
	rm -f "$relayers"
	relay_tempfail "store missing" $A
	local_ok "store missing" $A
	cp -p "$work/relayers.saved" "$relayers" || fail "copy the store back"
	relay_ok "store restored" $A

	lookupd_stop
	relay_tempfail "relaygate-lookupd stopped" $A
	note "$variant, daemon stopped: relaying answered '$reply'"
	relay_tempfail "relaygate-lookupd stopped, no grant" $B
	local_ok "relaygate-lookupd stopped" $A
	lookupd_start "$socketmap" "$policy"
	# Postfix may wait before it tries a failed endpoint again
	n=0
	while :; do
		smtp_rcpt $A 127.0.0.1 "$port" "$REMOTE" "$REMOTE"
		[ "$code" = 250 ] && break
		case "$code" in
		4*) ;;
		*) fail "$variant: relaygate-lookupd started again: got '$reply'" ;;
		esac
		n=$((n + 1))
		[ $n -lt 20 ] || fail "$variant: relaygate-lookupd started again, still '$reply' after 10 s"
		sleep 0.5
	done
	checks=$((checks + 1))
	relay_denied "relaygate-lookupd started again, no grant" $B
	vsr delete $A

	postfix_stop
	postfix_queue_empty "$variant"
}

scenario policy main.cf-policy \
	"s|check_policy_service unix:/run/relaygate/policy|check_policy_service $policy|" \
	"check_policy_service $policy,"
scenario socketmap main.cf-socketmap \
	"s|socketmap:unix:/run/relaygate/socketmap:relaygate|socketmap:$socketmap:relaygate|" \
	"check_client_access socketmap:$socketmap:relaygate,"
lookupd_logged "decisions" "127\.0\.0\.2"
lookupd_logged "never_relay decision" "127\.0\.0\.5"
pass "IPv6 cases $( [ "$have_ipv6" = yes ] && echo run || echo SKIPPED)"
