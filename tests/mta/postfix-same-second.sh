#!/bin/sh
# postfix-same-second: a Postfix smtpd notices a changed hash: table only
# when the file's mtime, in whole seconds, differs from the one it saw
# when it opened the table (dict_changed_name). When `vsmtprelay add`
# makes an smtpd reopen the table, and `vsmtprelay delete` (or expire)
# follows in the same second, that smtpd would keep relaying for the
# deleted address until the next change or until it exits (max_idle
# 100 s, max_use 100). The store's writers therefore move the mtime of
# every in-place update forward (page_commit_mark_changed: the time before
# + 1 s when it did not grow); both Postfix (!=) and sendmail (>) notice
# that. This test asserts the safe behaviour: after the delete the address
# is refused. (Once an open bug; fixed in the store.)
TEST_NAME=postfix-same-second
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-postfix.sh"
. "$(dirname "$0")/lib-relay.sh"
relay_test_prepare postfix ipv4-only
postfix_config "$port" main.cf-hash
vsr add 192.0.2.99 1000000000
postfix_start

relay_denied "no grant" $A
for round in 1 2 3; do
	next_second
	vsr add $A
	relay_ok "round $round: fresh grant" $A
	vsr delete $A
	relay_denied "round $round: grant deleted in the same second as it was added" $A
	sleep 1
	relay_denied "round $round: grant deleted, one second later" $A
done
postfix_stop
pass
