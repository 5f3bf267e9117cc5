# lib-relay.sh: what the relay tests (sendmail-native, sendmail-socketmap,
# postfix-hash, postfix-lookupd, postfix-same-second) share: their set-up,
# vsmtprelay on the test store, and the relay checks they all make (grant
# life cycle, relay tricks, what gets queued, broken store, stopped
# relaygate-lookupd). Sourced after lib.sh and lib-sendmail.sh or
# lib-postfix.sh (and lib-lookupd.sh for the lookupd checks); the MTA
# library provides MTA_DOMAIN (its local domain), queue_clear and
# queued_rcpts. Every check counts in $checks and fails the test with the
# description it was given.

REMOTE=user@remote.example
A=127.0.0.2
B=127.0.0.3
# put before every check's description (postfix-lookupd: "policy: ")
check_prefix=""
# vsr: a configuration file for vsmtprelay (vsr_use_own_config), and
# whether each call starts in a new second (postfix-hash)
vsr_config=""
vsr_each_in_new_second=no

# relay_test_prepare sendmail|postfix [ipv4-only]: the environment meson
# test sets, a work directory, the MTA's files (sendmail_prepare or
# postfix_prepare), IPv6 test addresses unless ipv4-only, a free port for
# the MTA in $port and the local recipient in $LOCAL.
relay_test_prepare() {
	need_env VSMTPRELAY RELAYGATE_SOURCE_ROOT RELAYGATE_BUILD_ROOT
	[ "$1" = postfix ] && need_env POSTFIX_ROOT
	[ -x "$VSMTPRELAY" ] || fail "VSMTPRELAY=$VSMTPRELAY is not executable"
	make_work
	"$1"_prepare
	if [ "${2:-}" = ipv4-only ]; then
		have_ipv6=no
	else
		setup_ipv6
	fi
	port=$(free_port) || fail "no free loopback port"
	LOCAL=root@$MTA_DOMAIN
}

# vsr_use_own_config: vsmtprelay reads $work/vsmtprelay.conf (no
# never_relay), so that it can store a grant for an address that the
# never_relay of relaygate-lookupd's configuration lists.
vsr_use_own_config() {
	printf 'relay_window = 30m\n' > "$work/vsmtprelay.conf"
	vsr_config=$work/vsmtprelay.conf
}

# vsr ARGUMENT...: vsmtprelay on the test store ($relayers); the test
# fails when it fails.
vsr() {
	[ "$vsr_each_in_new_second" = yes ] && next_second
	vsr_args="$*"
	if [ -n "$vsr_config" ]; then
		set -- -c "$vsr_config" -f "$relayers" "$@"
	else
		set -- -f "$relayers" "$@"
	fi
	"$VSMTPRELAY" "$@" > "$work/vsr.out" 2>&1 ||
		fail "vsmtprelay $vsr_args: exit $?: $(cat "$work/vsr.out")"
}

# relay_denied WHAT CLIENT [SERVER]: a remote recipient from CLIENT is
# refused with 5xx (SERVER: the MTA's address, 127.0.0.1 by default).
relay_denied() {
	expect_rcpt 5 "$check_prefix$1" "$2" "${3:-127.0.0.1}" "$port" "$REMOTE" "$REMOTE"
}

# relay_ok WHAT CLIENT [SERVER]: a remote recipient is accepted (250).
relay_ok() {
	expect_rcpt 250 "$check_prefix$1" "$2" "${3:-127.0.0.1}" "$port" "$REMOTE" "$REMOTE"
}

# relay_tempfail WHAT CLIENT [SERVER]: a remote recipient gets 4xx.
relay_tempfail() {
	expect_rcpt 4 "$check_prefix$1" "$2" "${3:-127.0.0.1}" "$port" "$REMOTE" "$REMOTE"
}

# local_ok WHAT CLIENT [SERVER]: a local recipient is accepted (250).
local_ok() {
	expect_rcpt 250 "$check_prefix$1: local delivery" "$2" "${3:-127.0.0.1}" "$port" "$REMOTE" "$LOCAL"
}

# relay_ok_within SECONDS WHAT CLIENT: a remote recipient is accepted
# (250) within SECONDS; until then 4xx are tolerated (an MTA that waits
# before it opens a table or an endpoint again), 5xx never.
relay_ok_within() {
	tries=0
	while :; do
		smtp_rcpt "$3" 127.0.0.1 "$port" "$REMOTE" "$REMOTE"
		[ "$code" = 250 ] && break
		case "$code" in
		4*) ;;
		*) fail "$check_prefix$2: got '$reply'" ;;
		esac
		tries=$((tries + 1))
		[ $tries -lt $(($1 * 2)) ] || fail "$check_prefix$2: still '$reply' after $1 s"
		sleep 0.5
	done
	checks=$((checks + 1))
}

# check_fresh_grant LABEL CLIENT OTHER [SERVER]: without a grant CLIENT
# may not relay; after `vsr add CLIENT` it may, OTHER still may not; local
# delivery works for both throughout. LABEL starts each description.
check_fresh_grant() {
	relay_denied "${1}no grant" "$2" "${4:-}"
	local_ok "${1}no grant" "$2" "${4:-}"
	vsr add "$2"
	relay_ok "${1}fresh grant" "$2" "${4:-}"
	relay_denied "${1}grant for $2 only" "$3" "${4:-}"
	local_ok "${1}grant for $2 only" "$3" "${4:-}"
}

# check_window LABEL CLIENT [SERVER]: with the window of 30 minutes, a
# grant 4000 s old does not relay (local delivery still works), one 1700 s
# old does.
check_window() {
	vsr add "$2" $(($(date +%s) - 4000))
	relay_denied "${1}grant 4000 s old" "$2" "${3:-}"
	local_ok "${1}grant 4000 s old" "$2" "${3:-}"
	vsr add "$2" $(($(date +%s) - 1700))
	relay_ok "${1}grant 1700 s old" "$2" "${3:-}"
}

# check_grant_deleted LABEL CLIENT [SERVER]: after `vsr delete CLIENT`,
# CLIENT may not relay; local delivery still works.
check_grant_deleted() {
	vsr delete "$2"
	relay_denied "${1}grant deleted" "$2" "${3:-}"
	local_ok "${1}grant deleted" "$2" "${3:-}"
}

# check_relay_tricks: with a fresh grant for $A (which must not leak), the
# classic relay tricks (percent hack, source route, bang path, quoted
# local part, IP literal, trailing dot, unqualified percent hack and bang
# path) from $B are refused with 5xx, with a remote, a local and an empty
# sender. Then what really gets queued: the tricks with a local recipient
# from $B queue for the local one only; a granted relay from $A (control)
# for the remote one. The queue is left empty.
check_relay_tricks() {
	vsr add $A
	for from in "$REMOTE" "$LOCAL" "<>"; do
		for to in "user%remote.example@$MTA_DOMAIN" \
			"@$MTA_DOMAIN:user@remote.example" \
			"remote.example!user@$MTA_DOMAIN" \
			"\"user@remote.example\"@$MTA_DOMAIN" \
			"user@[192.0.2.1]" \
			"user@remote.example." \
			"user%remote.example" \
			"remote.example!user"; do
			smtp_rcpt $B 127.0.0.1 "$port" "$from" "$to"
			case "$code" in
			5*) ;;
			*) fail "${check_prefix}relay trick <$to> from $B (sender <$from>) got '$reply', expected 5xx" ;;
			esac
			checks=$((checks + 1))
		done
	done
	relay_ok "fresh grant while tricks were tried" $A
	queue_clear
	smtp_send $B 127.0.0.1 "$port" "<>" "$LOCAL,user%remote.example@$MTA_DOMAIN,@$MTA_DOMAIN:user@remote.example,remote.example!user@$MTA_DOMAIN,\"user@remote.example\"@$MTA_DOMAIN,user@[192.0.2.1],user@remote.example."
	expect_queued "${check_prefix}tricks from $B with a local recipient" "$LOCAL"
	queue_clear
	smtp_send $A 127.0.0.1 "$port" "$REMOTE" "$REMOTE"
	expect_queued "${check_prefix}relayed message from $A (control)" "$REMOTE"
	queue_clear
}

# check_store_broken CLASS WHAT: with the store broken (WHAT says how),
# relaying from $A (granted before) and from $B (never granted) gets
# CLASS (4 or 451), local delivery from $A 250.
check_store_broken() {
	expect_rcpt "$1" "${check_prefix}store $2: relaying" $A 127.0.0.1 "$port" "$REMOTE" "$REMOTE"
	expect_rcpt "$1" "${check_prefix}store $2: relaying, no grant" $B 127.0.0.1 "$port" "$REMOTE" "$REMOTE"
	note "${check_prefix}store $2: relaying answered '$reply'"
	local_ok "store $2" $A
}

# check_lookupd_store_broken: relaygate-lookupd answers "temporary
# failure" for a store full of random bytes and a missing one: relaying
# from $A (granted) gets 4xx, local delivery 250; with the store back, $A
# relays again.
check_lookupd_store_broken() {
	cp -p "$relayers" "$work/relayers.saved" || fail "cp $relayers"
	head -c 16384 /dev/urandom > "$relayers"
	check_store_broken 4 "full of random bytes"
	rm -f "$relayers"
	check_store_broken 4 missing
	cp -p "$work/relayers.saved" "$relayers" || fail "copy the store back"
	relay_ok "store restored" $A
}

# check_lookupd_stopped SECONDS ENDPOINT...: while relaygate-lookupd is
# stopped, relaying gets 4xx (from $A, granted, and from $B), local
# delivery 250; started again (listening on ENDPOINT...), $A relays
# within SECONDS (0: at once) and $B still does not.
check_lookupd_stopped() {
	grace=$1
	shift
	lookupd_stop
	relay_tempfail "relaygate-lookupd stopped" $A
	note "${check_prefix}relaygate-lookupd stopped: relaying answered '$reply'"
	relay_tempfail "relaygate-lookupd stopped, no grant" $B
	local_ok "relaygate-lookupd stopped" $A
	lookupd_start "$@"
	relay_ok_within "$grace" "relaygate-lookupd started again" $A
	relay_denied "relaygate-lookupd started again, no grant" $B
}
