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
. "$(dirname "$0")/lib-postfix.sh"
. "$(dirname "$0")/lib-lookupd.sh"
. "$(dirname "$0")/lib-relay.sh"
relay_test_prepare postfix
smport=$(free_port) || fail "no free loopback port"
policy=unix:$work/policy.sock
socketmap=inet:127.0.0.1:$smport
vsr_use_own_config
N=127.0.0.5

lookupd_config "$socketmap" "$policy" \
	"0.0.0.0/8, 224.0.0.0/4, 255.255.255.255/32, ::/128, ff00::/8, $N/32"
vsr add 192.0.2.99 1000000000
lookupd_start "$socketmap" "$policy"

# scenario VARIANT FRAGMENT SED-EXPRESSION CHECK-LINE: one Postfix
# configuration from start to stop.
scenario() {
	variant=$1
	check_prefix="$variant: "
	postfix_config "$port" "$2" -e "$3"
	grep -q "$4" "$pf_conf/main.cf" ||
		fail "$variant: could not set the endpoint in $2 (did its line change?)"
	checks=$((checks + 1))
	postfix_start

	check_fresh_grant "" $A $B
	check_window "" $A
	check_grant_deleted "" $A
	vsr add $N
	relay_denied "fresh grant for never_relay address $N" $N
	vsr delete $N

	if [ "$have_ipv6" = yes ]; then
		check_fresh_grant "IPv6, " $IPV6_CLIENT $IPV6_CLIENT2 $IPV6_SERVER
		relay_denied "IPv6, longer address $IPV6_CLIENT_EXT (no prefix matching)" \
			$IPV6_CLIENT_EXT $IPV6_SERVER
		check_window "IPv6, " $IPV6_CLIENT $IPV6_SERVER
		check_grant_deleted "IPv6, " $IPV6_CLIENT $IPV6_SERVER
	fi

	check_relay_tricks
	check_lookupd_store_broken
	# Postfix may wait before it tries a failed endpoint again
	check_lookupd_stopped 10 "$socketmap" "$policy"
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
