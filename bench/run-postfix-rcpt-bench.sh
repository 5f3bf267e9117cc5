#!/bin/sh
# RCPT decisions per second through a real Postfix (docs/BENCHMARKS.md):
# the same private Postfix instance as tests/mta (the unpacked Debian
# package, a loopback port, no DNS), with each relaygate variant from
# contrib/postfix in turn -- the native hash: map, the policy service and
# the socketmap through relaygate-lookupd -- and, as the reference, no
# relaygate check at all (the client is in mynetworks). The client,
# bench/smtp-rcpt-load.py, connects from 127.0.0.2 (which holds a fresh
# grant) and sends MAIL FROM, 50 RCPT TO to distinct remote recipients,
# RSET, over and over; nothing is queued. Needs root (as the MTA tests).
#
#   bench/run-postfix-rcpt-bench.sh            5 s per run, 1 and 8 connections
#   SECONDS_EACH=10 CONNS="1 8 32" bench/run-postfix-rcpt-bench.sh
set -u

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build}
seconds=${SECONDS_EACH:-5}
conns_list=${CONNS:-1 8}
export VSMTPRELAY="$build/vsmtprelay" RELAYGATE_SOURCE_ROOT="$src" \
	RELAYGATE_BUILD_ROOT="$build" POSTFIX_ROOT="$src/.cache/postfix/root"

meson compile -C "$build" vsmtprelay relaygate-lookupd > /dev/null || exit 1
TEST_NAME=rcpt-bench
. "$src/tests/mta/lib.sh"
. "$src/tests/mta/lib-postfix.sh"
. "$src/tests/mta/lib-lookupd.sh"
make_work
postfix_prepare
port=$(free_port) || fail "no free loopback port"
smport=$(free_port) || fail "no free loopback port"
policy=unix:$work/policy.sock
socketmap=inet:127.0.0.1:$smport

"$VSMTPRELAY" -f "$relayers" add 127.0.0.2 > /dev/null || fail "vsmtprelay add"
lookupd_config "$socketmap" "$policy"
printf 'lookupd_log_decisions = yes\n' >> "$work/relaygate.conf"
lookupd_start "$socketmap" "$policy"

echo "Postfix $("$POSTFIX_ROOT/usr/sbin/postconf" -d -h mail_version 2>/dev/null), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "each run: $seconds s; client from 127.0.0.2 (granted), 50 RCPT per MAIL"
printf '%-28s %5s %10s %8s %8s %9s %8s\n' variant conns rcpt/s p50_us p99_us accepted refused
# run_variant NAME FRAGMENT MYNETWORKS [SED-EXPRESSION...]
run_variant() {
	name=$1 fragment=$2 networks=$3
	shift 3
	postfix_config "$port" "$fragment" "$@"
	sed -i "s|^mynetworks = .*|mynetworks = $networks|" "$pf_conf/main.cf"
	# No mail is ever queued, so no delivery returns flow-control tokens:
	# without this, each MAIL FROM would wait up to 1 s (in_flow_delay).
	printf 'in_flow_delay = 0\n' >> "$pf_conf/main.cf"
	# Every transaction ends with RSET, which smtpd counts as a junk
	# command: past the limit it would sleep a second on each.
	printf 'smtpd_junk_command_limit = 100000000\n' >> "$pf_conf/main.cf"
	postfix_start
	for c in $conns_list; do
		r=$(python3 "$src/bench/smtp-rcpt-load.py" 127.0.0.1 "$port" 127.0.0.2 "$c" "$seconds") ||
			fail "$name: smtp-rcpt-load failed"
		printf '%-28s %5s %10s %8s %8s %9s %8s\n' "$name" "$c" \
			"$(field "$r" rcpt_per_s)" "$(field "$r" p50_us)" "$(field "$r" p99_us)" \
			"$(field "$r" accepted)" "$(field "$r" refused)"
	done
	postfix_stop
}
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

run_variant "reference: mynetworks" main.cf-hash 127.0.0.0/8
run_variant "hash: (native map)" main.cf-hash 127.0.0.1/32
run_variant "policy (relaygate-lookupd)" main.cf-policy 127.0.0.1/32 \
	-e "s|check_policy_service unix:/run/relaygate/policy|check_policy_service $policy|"
run_variant "socketmap (relaygate-lookupd)" main.cf-socketmap 127.0.0.1/32 \
	-e "s|socketmap:unix:/run/relaygate/socketmap:relaygate|socketmap:$socketmap:relaygate|"
echo "relaygate-lookupd decisions logged: $(grep -c decision "$work/lookupd.log")"
