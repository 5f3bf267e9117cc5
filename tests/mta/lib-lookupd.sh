# lib-lookupd.sh: run relaygate-lookupd for the MTA tests (sourced after
# lib.sh and make_work). Contract used (DESIGN.md and issue 3):
#   relaygate-lookupd -F -c CONF   foreground, one log line per decision
#                                  on stderr
#   relaygate-lookupd -t -c CONF   check the configuration, exit 0 if fine
#   CONF keys: relay_db, relay_window, never_relay,
#              lookupd_socketmap_listen, lookupd_policy_listen (unix:/path
#              or inet:127.0.0.1:PORT, comma-separated), lookupd_user
#              (empty: keep the uid)
# The daemon is stopped by PID at exit (lib.sh).

LOOKUPD=${RELAYGATE_BUILD_ROOT:-}/relaygate-lookupd

# lookupd_config SOCKETMAP_LISTEN POLICY_LISTEN [NEVER_RELAY]: write
# $work/relaygate.conf for the store $work/relayers.db, window 30m.
lookupd_config() {
	[ -x "$LOOKUPD" ] || fail "$LOOKUPD missing (relaygate-lookupd is not built)"
	{
		printf 'relay_db = %s\n' "$work/relayers.db"
		printf 'relay_window = 30m\n'
		if [ -n "${3:-}" ]; then
			printf 'never_relay = %s\n' "$3"
		fi
		printf 'lookupd_socketmap_listen = %s\n' "$1"
		printf 'lookupd_policy_listen = %s\n' "$2"
		printf 'lookupd_user =\n'
	} > "$work/relaygate.conf"
	"$LOOKUPD" -t -c "$work/relaygate.conf" > "$work/lookupd-t.out" 2>&1 ||
		fail "relaygate-lookupd -t rejects its configuration: $(cat "$work/lookupd-t.out")
$(cat "$work/relaygate.conf")"
	checks=$((checks + 1))
}

# lookupd_wait ENDPOINT: wait until a unix:/path or inet:ADDR:PORT accepts.
lookupd_wait() {
	case "$1" in
	unix:*) wait_unix "${1#unix:}" "$lookupd_pid" relaygate-lookupd ;;
	inet:*)
		hostport=${1#inet:}
		wait_tcp "${hostport%:*}" "${hostport##*:}" "$lookupd_pid" relaygate-lookupd
		;;
	*) fail "lookupd_wait: bad endpoint $1" ;;
	esac
}

# lookupd_start ENDPOINT...: start the daemon in the foreground (PID in
# $lookupd_pid, stderr in $work/lookupd.log) and wait for each endpoint.
lookupd_start() {
	start_bg "$work/lookupd.log" "$LOOKUPD" -F -c "$work/relaygate.conf"
	lookupd_pid=$last_pid
	for endpoint in "$@"; do
		lookupd_wait "$endpoint"
	done
}

# lookupd_stop: stop the daemon by PID and wait for it.
lookupd_stop() {
	stop_bg "$lookupd_pid"
}

# lookupd_logged WHAT PATTERN: the daemon's stderr has a line matching
# PATTERN (grep -E), i.e. it logged the decision.
lookupd_logged() {
	grep -Eq "$2" "$work/lookupd.log" ||
		fail "$1: relaygate-lookupd logged no line matching '$2':
$(tail -n 20 "$work/lookupd.log")"
	checks=$((checks + 1))
}
