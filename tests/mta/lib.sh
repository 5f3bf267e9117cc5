# lib.sh: shared code of the MTA end-to-end tests and of
# tests/relaydb/mta-compat.sh (sourced, not run).
# Each test sets TEST_NAME, sources this file and gets: fail/pass, tool
# checks that fail (never skip) when something is missing, a private work
# directory that sendmail accepts for maps (root-owned, no group/world
# write anywhere up to /), loopback ports, optional IPv6 test addresses on
# lo, background processes stopped by PID at exit, and SMTP probes with
# swaks that never leave loopback.
set -u

checks=0
pids=""
added_ipv6=""
work=""

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	if [ -n "$work" ]; then
		for log in "$work"/*.log; do
			[ -f "$log" ] || continue
			printf -- '---- last lines of %s\n' "$log" >&2
			tail -n 20 "$log" >&2
		done
	fi
	printf 'not ok - %s\n' "$TEST_NAME"
	exit 1
}

note() {
	printf '# %s\n' "$*"
}

# need_env VAR...: each variable is set (meson test sets them).
need_env() {
	for var in "$@"; do
		eval "value=\${$var:-}"
		[ -n "$value" ] || fail "$var is not set (run through meson test)"
	done
}

# need_tool NAME:PACKAGE...: each program is on PATH.
need_tool() {
	for tool in "$@"; do
		command -v "${tool%%:*}" > /dev/null 2>&1 ||
			fail "${tool%%:*} not found (install the ${tool#*:} package)"
	done
}

# stop_all: the exit trap. Stops what this test started, by PID.
stop_all() {
	status=$?
	for pid in $pids; do
		kill -TERM "$pid" 2> /dev/null
	done
	for pid in $pids; do
		# up to 5 s to exit (a zombie has exited), then SIGKILL; then reap
		n=0
		while kill -0 "$pid" 2> /dev/null && [ $n -lt 50 ]; do
			case "$(sed 's/.*) //; s/ .*//' "/proc/$pid/stat" 2> /dev/null)" in
			Z) break ;;
			esac
			sleep 0.1
			n=$((n + 1))
		done
		kill -KILL "$pid" 2> /dev/null
		wait "$pid" 2> /dev/null
	done
	for addr in $added_ipv6; do
		ip -6 addr del "$addr/128" dev lo 2> /dev/null ||
			printf 'WARNING: could not remove %s from lo\n' "$addr" >&2
	done
	if [ -n "$work" ]; then
		if [ "$status" = 0 ] || [ -z "${RELAYGATE_KEEP_WORK:-}" ]; then
			rm -rf "$work"
		else
			printf 'work directory kept: %s\n' "$work" >&2
		fi
	fi
	exit "$status"
}

# need_root: the MTA tests need root (namespaces, lo addresses, daemons).
need_root() {
	[ "$(id -u)" = 0 ] ||
		fail "must run as root (private namespaces for the MTAs, test addresses on lo)"
}

# path_is_safe DIR: DIR and every directory above it are owned by root
# and not group- or world-writable (what sendmail asks of a map's path).
path_is_safe() {
	dir=$1
	while :; do
		bad=$(find "$dir" -maxdepth 0 \( ! -user root -o -perm /022 \) -print)
		[ -z "$bad" ] || return 1
		[ "$dir" = / ] && return 0
		dir=$(dirname "$dir")
	done
}

# make_work: a fresh work directory in $work, mode 0755, with every
# directory from it up to / owned by root and not group- or
# world-writable (sendmail silently ignores maps in unsafe paths): under
# the build tree when that path is safe, else (a clone under /tmp or
# /var/tmp) under /run/relaygate-tests.
make_work() {
	need_root
	parent=$RELAYGATE_BUILD_ROOT
	if ! path_is_safe "$parent"; then
		parent=/run/relaygate-tests
		mkdir -p -m 0755 "$parent" || fail "mkdir $parent"
		chmod 0755 "$parent" || fail "chmod 0755 $parent"
		path_is_safe "$parent" ||
			fail "neither $RELAYGATE_BUILD_ROOT nor $parent is a safe path for sendmail maps (root-owned, not group/world-writable up to /)"
	fi
	make_work_under "$parent"
	path_is_safe "$work" || fail "$work is not a safe path for sendmail maps"
}

# make_work_under PARENT: a fresh work directory in $work below PARENT,
# mode 0755, removed at exit by stop_all (kept after a failure when
# RELAYGATE_KEEP_WORK is set). Needs no root (make_work does).
make_work_under() {
	work=$(mktemp -d "$1/mta-$TEST_NAME.XXXXXX") ||
		fail "mktemp -d under $1"
	trap stop_all EXIT
	trap 'exit 1' HUP INT TERM
	chmod 755 "$work" || fail "chmod 755 $work"
}

# free_port: print a TCP port on 127.0.0.1 that nobody listens on now
# (use: port=$(free_port) || fail ...).
free_port() {
	perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
		    LocalPort => 0, Listen => 1, ReuseAddr => 1) or die "$!\n";
		print $s->sockport, "\n";'
}

# wait_listening PID WHAT WHERE PERL-CONNECT ARG...: wait up to 20 s until
# the perl code PERL-CONNECT connects (it exits 1 while it cannot) to
# WHERE, given to it as ARG..., failing early when process PID (WHAT)
# died.
wait_listening() {
	wait_pid=$1 wait_what=$2 wait_where=$3 wait_connect=$4
	shift 4
	n=0
	while ! perl -e "$wait_connect" "$@" 2> /dev/null; do
		kill -0 "$wait_pid" 2> /dev/null ||
			fail "$wait_what died before listening on $wait_where"
		n=$((n + 1))
		[ $n -lt 200 ] || fail "$wait_what is not listening on $wait_where after 20 s"
		sleep 0.1
	done
}

# wait_tcp ADDR PORT PID WHAT: wait up to 20 s until ADDR:PORT accepts
# connections, failing early when process PID died.
wait_tcp() {
	wait_listening "$3" "$4" "$1 port $2" 'use IO::Socket::IP;
		IO::Socket::IP->new(PeerHost => $ARGV[0], PeerPort => $ARGV[1],
		    Timeout => 1) or exit 1;' "$1" "$2"
}

# wait_unix PATH PID WHAT: wait up to 20 s until the socket PATH accepts.
wait_unix() {
	wait_listening "$2" "$3" "$1" 'use IO::Socket::UNIX;
		IO::Socket::UNIX->new(Peer => $ARGV[0]) or exit 1;' "$1"
}

# wait_mta_ports PID WHAT: wait for the MTA's SMTP port $port on
# 127.0.0.1, and on $IPV6_SERVER when have_ipv6=yes.
wait_mta_ports() {
	wait_tcp 127.0.0.1 "$port" "$1" "$2"
	if [ "${have_ipv6:-no}" = yes ]; then
		wait_tcp "$IPV6_SERVER" "$port" "$1" "$2"
	fi
}

# ns_prepare: files for ns(): a hosts file with a qualified name for this
# host and an nsswitch.conf that resolves host names from files only.
ns_prepare() {
	need_tool unshare:util-linux mount:mount
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tmta.example.test mta\n::1\tlocalhost ip6-localhost\n' \
		> "$work/hosts"
	printf '%s:\tfiles\n' passwd group shadow hosts networks protocols \
		services ethers rpc netgroup > "$work/nsswitch.conf"
}

# ns COMMAND...: run COMMAND in private mount and UTS namespaces where
# /etc/hosts and /etc/nsswitch.conf are the files of ns_prepare (so the
# libc resolver never asks DNS) and the host name is mta.example.test.
# `unshare ... sh -c "$NS_SCRIPT" sh HOSTS NSSWITCH COMMAND... &` keeps
# the PID of COMMAND in $! (sh execs it).
NS_SCRIPT='mount --bind "$1" /etc/hosts &&
	mount --bind "$2" /etc/nsswitch.conf &&
	hostname mta.example.test || exit 71
	shift 2
	exec "$@"'
ns() {
	unshare --mount --uts sh -c "$NS_SCRIPT" sh \
		"$work/hosts" "$work/nsswitch.conf" "$@"
}

# start_bg LOG COMMAND...: run COMMAND in the background, its output
# appended to LOG; remember its PID in $pids and $last_pid.
start_bg() {
	log=$1
	shift
	"$@" >> "$log" 2>&1 &
	last_pid=$!
	pids="$pids $last_pid"
}

# start_bg_in_ns LOG COMMAND...: start_bg in the namespaces of ns() (not
# through ns(): $last_pid must be the PID of COMMAND itself, which the
# exit trap and stop_bg signal).
start_bg_in_ns() {
	log=$1
	shift
	start_bg "$log" unshare --mount --uts sh -c "$NS_SCRIPT" sh \
		"$work/hosts" "$work/nsswitch.conf" "$@"
}

# stop_bg PID: stop a process of start_bg by PID (SIGTERM), wait for it
# and forget it.
stop_bg() {
	kill -TERM "$1" 2> /dev/null
	wait "$1" 2> /dev/null
	pids=$(printf '%s\n' $pids | grep -vx "$1" | tr '\n' ' ')
}

# IPv6 test addresses (documentation prefix, only on lo), in a /64 of its
# own for each run so that parallel runs never remove each other's
# addresses. setup_ipv6 sets have_ipv6=yes when the server and client
# addresses are usable; it adds only the ones that are missing and removes
# those at exit.
IPV6_NET=2001:db8:7e5:$(printf '%x' $(($$ % 65535 + 1)))
IPV6_SERVER=$IPV6_NET::1
IPV6_CLIENT=$IPV6_NET::5
IPV6_CLIENT2=$IPV6_NET::6
# compressed form = IPV6_CLIENT's + ":6" (Postfix's IPv6 prefix matching)
IPV6_CLIENT_EXT=$IPV6_NET::5:6
setup_ipv6() {
	have_ipv6=no
	if [ "${RELAYGATE_NO_IPV6:-}" ]; then
		note "SKIPPED: IPv6 cases (RELAYGATE_NO_IPV6 is set)"
		printf 'SKIPPED: IPv6 cases (RELAYGATE_NO_IPV6 is set)\n' >&2
		return
	fi
	for addr in $IPV6_SERVER $IPV6_CLIENT $IPV6_CLIENT2 $IPV6_CLIENT_EXT; do
		if ip -6 addr show dev lo 2> /dev/null | grep -q "inet6 $addr/"; then
			continue
		fi
		if ! err=$(ip -6 addr add "$addr/128" dev lo nodad 2>&1); then
			note "SKIPPED: IPv6 cases: cannot add $addr to lo: $err"
			printf 'SKIPPED: IPv6 cases: cannot add %s to lo: %s\n' "$addr" "$err" >&2
			return
		fi
		added_ipv6="$added_ipv6 $addr"
	done
	perl -MIO::Socket::INET6 -e 1 2> /dev/null ||
		fail "swaks needs IO::Socket::INET6 for IPv6 (install libio-socket-inet6-perl)"
	have_ipv6=yes
}

# smtp_rcpt CLIENT SERVER PORT FROM TO [swaks options]: one SMTP session
# from source address CLIENT up to RCPT (or further with options). Sets
# $reply (the server's reply line to RCPT) and $code (its 3 digits).
smtp_rcpt() {
	client=$1 server=$2 port=$3 from=$4 to=$5
	shift 5
	swaks --server "$server" --port "$port" --local-interface "$client" \
		--helo client.example --from "$from" --to "$to" \
		--quit-after RCPT --timeout 20 "$@" > "$work/swaks.out" 2>&1
	reply=$(awk '
		/^ *-> RCPT TO:/ { want = 1; next }
		want && /^ *<[-*~]* +/ { sub(/^ *<[-*~]* +/, ""); print; exit }
		' "$work/swaks.out")
	code=$(printf '%s' "$reply" | sed -n 's/^\([0-9][0-9][0-9]\)[ -].*/\1/p')
	[ -n "$code" ] || fail "no RCPT reply from $server port $port (client $client, from <$from>, to <$to>):
$(cat "$work/swaks.out")"
}

# smtp_send CLIENT SERVER PORT FROM TO,TO...: a whole session with a test
# message; the server must accept the message (some recipients may be
# refused).
smtp_send() {
	swaks --server "$2" --port "$3" --local-interface "$1" \
		--helo client.example --from "$4" --to "$5" --timeout 20 \
		> "$work/swaks.out" 2>&1
	awk '/^ *-> \.$/ { want = 1; next } want { print; exit }' "$work/swaks.out" |
		grep -q '^<- *250 ' ||
		fail "message from $1 to <$5> not accepted:
$(cat "$work/swaks.out")"
}

# expect_queued WHAT RECIPIENT...: the queued recipients (queued_rcpts of
# the MTA's library) are exactly RECIPIENT..., in any order.
expect_queued() {
	what=$1
	shift
	printf '%s\n' "$@" | sort > "$work/queued.want"
	queued_rcpts | sort > "$work/queued.got"
	diff -u "$work/queued.want" "$work/queued.got" > "$work/queued.diff" ||
		fail "$what: queued recipients differ from the expected:
$(cat "$work/queued.diff")"
	checks=$((checks + 1))
}

# expect_rcpt CLASS WHAT CLIENT SERVER PORT FROM TO: the RCPT reply code
# starts with CLASS (2, 4 or 5) or equals it (e.g. 550).
expect_rcpt() {
	class=$1 what=$2
	shift 2
	smtp_rcpt "$@"
	case "$code" in
	"$class"*) ;;
	*) fail "$what: RCPT TO:<$5> from $1 (sender <$4>) got '$reply', expected ${class}xx" ;;
	esac
	checks=$((checks + 1))
}

# next_second: sleep until the wall clock enters a new second.
next_second() {
	perl -MTime::HiRes=time,sleep -e 'my $t = time; sleep(int($t) + 1.01 - $t);'
}

# pass: the TAP-style success line.
pass() {
	printf 'ok - %s: %d checks%s\n' "$TEST_NAME" "$checks" "${1:+, $1}"
	exit 0
}
