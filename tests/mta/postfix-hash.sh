#!/bin/sh
# postfix-hash: a real Postfix (3.7, private instance, smtpd on a loopback
# port) with contrib/postfix/main.cf-hash reads the relay store written by
# vsmtprelay as its own hash: table (keys without NUL; Postfix tries the
# NUL form first, then this one). Proves:
#  - relaying to a remote domain is refused (5xx) without a grant, accepted
#    after `vsmtprelay add`, refused after `vsmtprelay delete`; a grant for
#    one address never lets another IPv4 address relay;
#  - Postfix checks presence only: a grant 4000 s old still relays until
#    `vsmtprelay expire 30` removes it (which is why the fragment says to
#    pair it with expiry);
#  - IPv6 (when test addresses can be added to lo): the RFC 5952 key is
#    found; another address does not relay, except one whose compressed
#    form extends the granted one by ":group" (Postfix's documented IPv6
#    prefix matching; asserted so the README stays true);
#  - local delivery is accepted throughout, also while the store is broken;
#  - classic relay tricks (percent hack, source route, bang path, quoted
#    local part, IP literal, trailing dot) are refused for an address
#    without a grant, with a remote, a local and an empty sender;
#  - a missing, corrupt or truncated store answers 4xx (never 2xx) for
#    relaying; after the store is back, `postfix reload` (SIGHUP to the
#    master) restores relaying;
#  - a message from the address without a grant to a local user and every
#    trick at once is queued for the local user only (a granted relay, as
#    control, is queued for the remote one); nothing is left in the queue.
# Never skips, except the IPv6 cases when lo cannot get test addresses.
TEST_NAME=postfix-hash
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-postfix.sh"
. "$(dirname "$0")/lib-relay.sh"
relay_test_prepare postfix

# Postfix's smtpd notices a changed table by its mtime in whole seconds
# (dict_changed_name): an update in the same second as the smtpd opened the
# table, after an earlier update in that second, goes unnoticed until the
# next change or until that smtpd exits. Every update here therefore
# starts in a new second (see the README's Postfix caveats).
vsr_each_in_new_second=yes

postfix_config "$port" main.cf-hash
grep -q "check_client_access hash:$work/relayers," "$pf_conf/main.cf" ||
	fail "could not set the store path in main.cf-hash (did its line change?)"
checks=$((checks + 1))

# The store exists before Postfix starts (see relayers.db(5)).
vsr add 192.0.2.99 1000000000
postfix_start

# ---- 1. grant life cycle ------------------------------------------------------
check_fresh_grant "" $A $B
check_grant_deleted "" $A
vsr add $A $(($(date +%s) - 4000))
relay_ok "grant 4000 s old (hash: checks presence only)" $A
vsr expire 30
relay_denied "grant 4000 s old after vsmtprelay expire 30" $A
vsr add $A $(($(date +%s) - 60))
vsr expire 30
relay_ok "grant 60 s old kept by vsmtprelay expire 30" $A
vsr delete $A

if [ "$have_ipv6" = yes ]; then
	check_fresh_grant "IPv6, " $IPV6_CLIENT $IPV6_CLIENT2 $IPV6_SERVER
	relay_denied "IPv4 while only IPv6 has a grant" $A
	# KNOWN LIMITATION of hash: (access(5), "net:work:addr"): the lookup
	# of NET::5:6 also tries NET::5.
	relay_ok "IPv6 prefix matching: $IPV6_CLIENT_EXT rides on the grant of $IPV6_CLIENT" \
		$IPV6_CLIENT_EXT $IPV6_SERVER
	note "KNOWN LIMITATION (documented in contrib/postfix): with hash:, a grant for $IPV6_CLIENT also lets $IPV6_CLIENT_EXT relay"
	check_grant_deleted "IPv6, " $IPV6_CLIENT $IPV6_SERVER
	relay_denied "IPv6, grant deleted, longer address" $IPV6_CLIENT_EXT $IPV6_SERVER
fi

# ---- 2. relay tricks from an address without a grant -------------------------
check_relay_tricks

# ---- 3. broken store: 4xx for relaying, local delivery unaffected -------------
# (removed, not renamed: an smtpd notices a table whose file was unlinked,
# while a renamed file is still the same open file)
next_second
cp -p "$relayers" "$work/relayers.saved" && rm "$relayers" ||
	fail "copy and remove $relayers"
check_store_broken 4 missing
next_second
head -c 16384 /dev/urandom > "$relayers"
check_store_broken 4 "full of random bytes"
next_second
head -c 100 "$work/relayers.saved" > "$relayers"
check_store_broken 4 "truncated to 100 bytes"
next_second
rm -f "$relayers"
cp -p "$work/relayers.saved" "$relayers" || fail "copy the store back"
grep -q 'relayers is unavailable\|relayers.db: ' "$work/postfix.log" ||
	fail "Postfix did not log the broken store"
# an smtpd that opened a broken table keeps it until it exits: reload
kill -HUP "$pf_pid" || fail "kill -HUP $pf_pid (postfix reload)"
relay_ok_within 10 "store restored and Postfix reloaded" $A
relay_denied "store restored, no grant" $B

postfix_stop
postfix_queue_empty "end of test"
pass "IPv6 cases $( [ "$have_ipv6" = yes ] && echo run || echo SKIPPED)"
