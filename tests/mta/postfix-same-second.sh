#!/bin/sh
# postfix-same-second: OPEN BUG (suite 'open-bug'). A Postfix smtpd notices
# a changed hash: table only when the file's mtime, in whole seconds,
# differs from the one it saw when it opened the table
# (dict_changed_name). When `vsmtprelay add` makes an smtpd reopen the
# table, and `vsmtprelay delete` (or expire) follows in the same second,
# that smtpd keeps relaying for the deleted address until the next change
# or until it exits (max_idle 100 s, max_use 100). This test asserts the
# safe behaviour: after the delete the address is refused. It fails until
# the store's writers make every in-place update move the mtime forward:
# if the mtime after the write is not later than the one before it, set it
# to the one before + 1 s (futimens). Both Postfix (!=) and sendmail (>)
# notice that; simulated with touch, this test then passes.
TEST_NAME=postfix-same-second
. "$(dirname "$0")/lib.sh"
need_env VSMTPRELAY RELAYGATE_SOURCE_ROOT RELAYGATE_BUILD_ROOT POSTFIX_ROOT
[ -x "$VSMTPRELAY" ] || fail "VSMTPRELAY=$VSMTPRELAY is not executable"
. "$(dirname "$0")/lib-postfix.sh"
make_work
postfix_prepare
have_ipv6=no
port=$(free_port) || fail "no free loopback port"
postfix_config "$port" main.cf-hash
"$VSMTPRELAY" -f "$relayers" add 192.0.2.99 1000000000 || fail "vsmtprelay add"
postfix_start

A=127.0.0.2
REMOTE=user@remote.example
expect_rcpt 5 "no grant" $A 127.0.0.1 "$port" "$REMOTE" "$REMOTE"
for round in 1 2 3; do
	next_second
	"$VSMTPRELAY" -f "$relayers" add $A || fail "vsmtprelay add $A"
	expect_rcpt 250 "round $round: fresh grant" $A 127.0.0.1 "$port" "$REMOTE" "$REMOTE"
	"$VSMTPRELAY" -f "$relayers" delete $A || fail "vsmtprelay delete $A"
	expect_rcpt 5 "round $round: grant deleted in the same second as it was added" \
		$A 127.0.0.1 "$port" "$REMOTE" "$REMOTE"
	sleep 1
	expect_rcpt 5 "round $round: grant deleted, one second later" \
		$A 127.0.0.1 "$port" "$REMOTE" "$REMOTE"
done
postfix_stop
pass
