#!/bin/sh
# relaygate-pop3d benchmark (docs/BENCHMARKS.md, issue 4): the same POP3
# scenarios against Dovecot in its default mode (a login process per
# connection), Dovecot with reused login processes, and relaygate-pop3d, one
# server at a time, in one run on one machine. It uses the shared harness
# (../shared/bench: mailbench.c, gen-maildirs.py, dovecot-setup.sh) and
# prints one table with the ratios and the issue's targets. Every command
# is printed before it runs. Run as root (Dovecot's master needs it, and the
# Maildirs belong to uid 5000).
#
#   bench/run-pop3d-bench.sh            RUNS=3 runs of DUR=5 s per measurement
#   QUICK=1 bench/run-pop3d-bench.sh    RUNS=1 DUR=3 HOLD=4
#
# Environment: BUILD (default ./build), SHARED_BENCH (default
# ../shared/bench from the top of the repository), BENCH_DIR (where the
# work directory is made, default /tmp; the users nobody and 5000 must be
# able to reach it), RUNS, DUR (seconds per timed run), CONC (default
# "1 4 16", pop3-login), TLS_CONC (default 4, pop3s logins), RETR_CONC
# (default 4), IDLE_CONNS (default 50), HOLD (seconds the idle connections
# are held, default 8), SERVERS (default "dovecot-default dovecot-perf
# relaygate"), WARMUP=0 (measure cold: no untimed RETR pass over every
# mailbox before a server's runs), OUT (a directory to keep raw.txt and
# table.txt in), KEEP=1 (keep the work directory).
#
# Scenarios, as in ../shared/bench/run-bench.sh, one mailbench process each:
#   pop3-login   connect, USER, PASS, STAT, QUIT; sessions/s at each CONC
#   pop3s-login  the same over implicit TLS (pop3s), TLS_CONC clients
#   pop3-retr    login, RETR every message of a 100-message box, QUIT
#   retr-big     one session, RETR 1..10000 of biguser's box
#   retr-big-pipelined  the same with the RETR commands pipelined
#                (bench/pop3-pipelined-retr.py): what the server can send
#                rather than loopback round trips
#   idle-mem     IDLE_CONNS POP3 connections logged in and held: summed PSS
#                of the server's process tree (/proc/PID/smaps_rollup)
#                before and during, per connection
# "cpu" columns: user+system CPU time of the server's whole process tree
# (exited children included through their parents' counters) per session
# or per MB; it depends much less than rates on the other jobs of a shared
# machine. relaygate-pop3d records a grant in relay_db (in the work
# directory) on every login: that write is part of its numbers.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build}
shared=${SHARED_BENCH:-$src/../shared/bench}
if [ "${QUICK:-0}" = 1 ]; then
	runs=${RUNS:-1} dur=${DUR:-3} hold=${HOLD:-4}
else
	runs=${RUNS:-3} dur=${DUR:-5} hold=${HOLD:-8}
fi
conc_list=${CONC:-1 4 16}
tls_conc_list=${TLS_CONC:-4}
retr_conc=${RETR_CONC:-4}
idle_conns=${IDLE_CONNS:-50}
servers=${SERVERS:-dovecot-default dovecot-perf relaygate}

show() {
	printf '+' >&2
	printf ' %s' "$@" >&2
	printf '\n' >&2
}
run() {
	show "$@"
	"$@"
}
die() {
	echo "run-pop3d-bench: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "run as root (Dovecot's master and the uid 5000 Maildirs need it)"
for f in mailbench.c gen-maildirs.py dovecot-setup.sh; do
	[ -f "$shared/$f" ] || die "$shared/$f missing (set SHARED_BENCH)"
done
shared=$(cd "$shared" && pwd)
command -v dovecot >/dev/null || die "dovecot not installed (dovecot-core dovecot-pop3d)"

[ -f "$build/build.ninja" ] || run meson setup "$build" "$src"
run meson compile -C "$build" relaygate-pop3d vsmtprelay >/dev/null

work=$(mktemp -d "${BENCH_DIR:-/tmp}/pop3d-bench.XXXXXX")
chmod 0755 "$work"
relaygate_pid=""
dovecot_running=""
cleanup() {
	if [ -n "$relaygate_pid" ]; then
		kill "$relaygate_pid" 2>/dev/null || true
		wait "$relaygate_pid" 2>/dev/null || true
	fi
	if [ -n "$dovecot_running" ] && [ -f "$work/dovecot/run/master.pid" ]; then
		"$shared/dovecot-setup.sh" "$work" stop >/dev/null 2>&1 || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "work directory kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The load generator, built here from the shared source.
run cc -O2 -pthread -o "$work/mailbench" "$shared/mailbench.c" -lssl -lcrypto
mb=$work/mailbench

# The data: user001..user100 with 100 messages of about 4 KiB, biguser with
# 10,000; files owned by 5000:5000, LF line ends as an MTA delivers them.
run python3 "$shared/gen-maildirs.py" "$work" >/dev/null
grep -v '^biguser[ :]' "$work/users.txt" > "$work/small-users.txt"
grep '^biguser[ :]' "$work/users.txt" > "$work/big-user.txt"

# Every directory above the Maildirs must be searchable by uid 5000 (the
# sessions) and by nobody (relaygate's login processes, Dovecot's
# unprivileged processes).
d=$work
while [ "$d" != / ]; do
	for who in 5000 65534; do
		setpriv --reuid=$who --regid=$who --clear-groups test -x "$d" \
			|| die "$d cannot be searched by uid $who: set BENCH_DIR elsewhere"
	done
	d=$(dirname "$d")
done

# Free loopback ports: 2 for relaygate, 4 for each Dovecot mode.
port_free() {
	python3 -c 'import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}
next_port=$((21000 + $$ % 20000))
free_port() {
	while ! port_free $next_port; do next_port=$((next_port + 1)); done
	port=$next_port
	next_port=$((next_port + 1))
}

# relaygate-pop3d's configuration: the generated Dovecot passwd-file is
# used as it is (user:{PLAIN}pass:5000:5000::home::).
run openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=localhost \
	-keyout "$work/pop3d-key.pem" -out "$work/pop3d-cert.pem" 2>/dev/null
chmod 600 "$work/pop3d-key.pem"
free_port; rg_pop3=$port
free_port; rg_pop3s=$port
cat > "$work/relaygate.conf" <<CONF
relay_db = $work/relayers.db
passwd_file = $work/dovecot-passwd
mail_location = maildir:~/Maildir
pop3_listen = 127.0.0.1:$rg_pop3
pop3s_listen = 127.0.0.1:$rg_pop3s
tls_cert = $work/pop3d-cert.pem
tls_key = $work/pop3d-key.pem
login_user = nobody
pop3_max_connections = 4000
pop3_max_connections_per_ip = 1000
CONF
run "$build/relaygate-pop3d" -t -c "$work/relaygate.conf"

# tree PID: "procs=N pss_kB=N cpu_ticks=N" over PID and all its descendants;
# cpu_ticks counts the children that exited and were waited for.
tree() {
	python3 - "$1" <<'EOF'
import os, sys
root = int(sys.argv[1])
kids, stat = {}, {}
for p in os.listdir('/proc'):
    if not p.isdigit():
        continue
    try:
        with open(f'/proc/{p}/stat') as f:
            s = f.read()
    except OSError:
        continue
    fields = s[s.rindex(')') + 2:].split()
    kids.setdefault(int(fields[1]), []).append(int(p))
    stat[int(p)] = sum(int(x) for x in fields[11:15])
todo, seen = [root], []
while todo:
    p = todo.pop(); seen.append(p); todo += kids.get(p, [])
pss = cpu = 0
for p in seen:
    cpu += stat.get(p, 0)
    try:
        with open(f'/proc/{p}/smaps_rollup') as f:
            for l in f:
                if l.startswith('Pss:'):
                    pss += int(l.split()[1])
    except OSError:
        pass
print(f"procs={len(seen)} pss_kB={pss} cpu_ticks={cpu}")
EOF
}
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

raw=$work/raw.txt
: > "$raw"
hz=$(getconf CLK_TCK)

# measure SERVER LABEL mailbench-args...: RUNS timed runs, one raw line each
measure() {
	server=$1 label=$2
	shift 2
	for r in $(seq "$runs"); do
		t0=$(field "$(tree "$server_pid")" cpu_ticks)
		show "$mb" -h 127.0.0.1 "$@"
		line=$(timeout $((dur + 120)) "$mb" -h 127.0.0.1 "$@") || true
		t1=$(field "$(tree "$server_pid")" cpu_ticks)
		echo "server=$server label=$label run=$r cpu_s=$(awk -v t=$((t1 - t0)) -v hz="$hz" \
			'BEGIN { printf "%.3f", t / hz }') $line" | tee -a "$raw"
		sleep 1
	done
}

# measure_pipelined SERVER PORT: retr-big with the RETR commands pipelined
# (bench/pop3-pipelined-retr.py), RUNS times
measure_pipelined() {
	for r in $(seq "$runs"); do
		t0=$(field "$(tree "$server_pid")" cpu_ticks)
		show python3 "$src/bench/pop3-pipelined-retr.py" 127.0.0.1 "$2" biguser pass
		line=$(timeout 300 python3 "$src/bench/pop3-pipelined-retr.py" 127.0.0.1 "$2" biguser pass) || true
		t1=$(field "$(tree "$server_pid")" cpu_ticks)
		echo "server=$1 label=retr-big-pipelined run=$r cpu_s=$(awk -v t=$((t1 - t0)) -v hz="$hz" \
			'BEGIN { printf "%.3f", t / hz }') $line" | tee -a "$raw"
		sleep 1
	done
}

# idle_mem SERVER PORT: IDLE_CONNS logged-in connections held HOLD s
idle_mem() {
	for r in $(seq "$runs"); do
		before=$(tree "$server_pid")
		log=$work/idle.$1.$r.log
		show "$mb" -h 127.0.0.1 -m pop3-idle -p "$2" -L "$work/small-users.txt" -c "$idle_conns" -d "$hold"
		timeout $((hold + 120)) "$mb" -h 127.0.0.1 -m pop3-idle -p "$2" \
			-L "$work/small-users.txt" -c "$idle_conns" -d "$hold" > "$log" &
		mbpid=$!
		for _ in $(seq 600); do grep -q established "$log" 2>/dev/null && break; sleep 0.1; done
		sleep 2
		during=$(tree "$server_pid")
		wait "$mbpid" || true
		est=$(grep established "$log" | sed 's/.*open=\([0-9]*\) errors=\([0-9]*\).*/open=\1 errors=\2/')
		echo "server=$1 label=idle-mem run=$r $est before_pss_kB=$(field "$before" pss_kB)" \
			"during_pss_kB=$(field "$during" pss_kB) before_procs=$(field "$before" procs)" \
			"during_procs=$(field "$during" procs)" | tee -a "$raw"
		sleep 1
	done
}

# warm_up POP3_PORT: one untimed RETR pass over every mailbox, so that each
# server is measured with its caches and indexes built (Dovecot writes
# dovecot.index* into the Maildirs on first access) and the files in the
# page cache, whichever server ran before it.
warm_up() {
	[ "${WARMUP:-1}" = 1 ] || return 0
	show "$mb" -h 127.0.0.1 -m pop3-retr -p "$1" -L "$work/small-users.txt" -c 4 -n 100 "(warm-up)"
	timeout 600 "$mb" -h 127.0.0.1 -m pop3-retr -p "$1" -L "$work/small-users.txt" -c 4 -n 100 >&2 || true
	show "$mb" -h 127.0.0.1 -m pop3-retr -p "$1" -L "$work/big-user.txt" -c 1 -n 1 "(warm-up)"
	timeout 600 "$mb" -h 127.0.0.1 -m pop3-retr -p "$1" -L "$work/big-user.txt" -c 1 -n 1 >&2 || true
	sleep 1
}

# scenarios SERVER POP3_PORT POP3S_PORT
scenarios() {
	warm_up "$2"
	for c in $conc_list; do
		measure "$1" "pop3-login c=$c" -m pop3-login -p "$2" -L "$work/small-users.txt" -c "$c" -d "$dur"
	done
	for c in $tls_conc_list; do
		measure "$1" "pop3s-login c=$c" -m pop3-login -S -p "$3" -L "$work/small-users.txt" -c "$c" -d "$dur"
	done
	measure "$1" "pop3-retr c=$retr_conc" -m pop3-retr -p "$2" -L "$work/small-users.txt" -c "$retr_conc" -d "$dur"
	measure "$1" "retr-big c=1" -m pop3-retr -p "$2" -L "$work/big-user.txt" -c 1 -n 1
	measure_pipelined "$1" "$2"
	idle_mem "$1" "$2"
}

echo "start: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$work/start.txt"
for server in $servers; do
	case $server in
	dovecot-default|dovecot-perf)
		[ $server = dovecot-perf ] && mode=performance || mode=secure
		free_port; p3=$port
		free_port; i3=$port
		free_port; p3s=$port
		free_port; i3s=$port
		show env LOGIN_MODE=$mode POP3_PORT=$p3 IMAP_PORT=$i3 POP3S_PORT=$p3s IMAPS_PORT=$i3s \
			"$shared/dovecot-setup.sh" "$work" start
		dovecot_running=1
		LOGIN_MODE=$mode POP3_PORT=$p3 IMAP_PORT=$i3 POP3S_PORT=$p3s IMAPS_PORT=$i3s \
			"$shared/dovecot-setup.sh" "$work" start >&2
		server_pid=$(cat "$work/dovecot/run/master.pid")
		sleep 1
		scenarios $server $p3 $p3s
		run "$shared/dovecot-setup.sh" "$work" stop >&2
		dovecot_running=""
		# the master takes its children along; wait for the ports
		for _ in $(seq 100); do port_free $p3 && port_free $p3s && break; sleep 0.1; done
		;;
	relaygate)
		show "$build/relaygate-pop3d" -F -c "$work/relaygate.conf"
		"$build/relaygate-pop3d" -F -c "$work/relaygate.conf" 2>"$work/relaygate-pop3d.log" &
		relaygate_pid=$!
		server_pid=$relaygate_pid
		for _ in $(seq 50); do port_free $rg_pop3 || break; sleep 0.1; done
		sleep 1
		scenarios relaygate $rg_pop3 $rg_pop3s
		run kill "$relaygate_pid"
		wait "$relaygate_pid" 2>/dev/null || true
		relaygate_pid=""
		;;
	*) die "unknown server $server" ;;
	esac
done
echo "end: $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$work/end.txt"

if [ -f "$work/relaygate-pop3d.log" ]; then
	logins=$(grep -c 'event=login ' "$work/relaygate-pop3d.log" || true)
	granted=$(grep 'event=login ' "$work/relaygate-pop3d.log" | grep -c 'grant=recorded' || true)
	echo "relaygate-pop3d: $logins logins logged, $granted with grant=recorded;" \
		"grant-failed: $(grep -c 'event=grant-failed' "$work/relaygate-pop3d.log" || true);" \
		"store: $("$build/vsmtprelay" -f "$work/relayers.db" dump 2>/dev/null | grep -c '^127\.0\.0\.1[[:space:]]' || true) entry for 127.0.0.1"
	echo "relaygate-pop3d: other log lines, by event and reason:"
	grep -v 'event=login \|event=logout \|event=start\|event=stop' "$work/relaygate-pop3d.log" \
		| sed -n 's/.*\(event=[^ ]*\).*\( reason=[^ ]*\).*/\1\2/p; t; s/.*\(event=[^ ]*\).*/\1/p' \
		| sort | uniq -c | sort -rn | head -10 || true
fi

echo
echo "runs per measurement: $runs, $dur s each (median shown); idle: $idle_conns connections held $hold s"
python3 - "$raw" <<'EOF' | tee "$work/table.txt"
import sys, statistics, collections
rows = collections.OrderedDict()
servers = []
for line in open(sys.argv[1]):
    kv = dict(p.split('=', 1) for p in line.split() if '=' in p)
    label = line.split('label=', 1)[1].split(' run=')[0]
    s = kv['server']
    if s not in servers:
        servers.append(s)
    rows.setdefault(label, {}).setdefault(s, []).append(kv)

def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None

def value(label, rs):
    """(main value, cpu value, errors) for one server's runs."""
    if label == 'idle-mem':
        per = [(float(r['during_pss_kB']) - float(r['before_pss_kB'])) / max(int(r.get('open', 0)), 1)
               for r in rs if 'during_pss_kB' in r]
        return med(per), None, sum(int(r.get('errors', 0)) for r in rs)
    errs = sum(int(r.get('errors', 1)) for r in rs)
    if 'retr' in label:
        v = [float(r['payload_MB_per_s']) for r in rs if 'payload_MB_per_s' in r]
        c = [float(r['cpu_s']) * 1000 / float(r['payload_MB']) for r in rs
             if float(r.get('payload_MB', 0)) > 0]
    else:
        v = [float(r['sessions_per_s']) for r in rs if 'sessions_per_s' in r]
        c = [float(r['cpu_s']) * 1000 / int(r['sessions']) for r in rs if int(r.get('sessions', 0)) > 0]
    return med(v), med(c), errs

names = {'dovecot-default': 'dovecot', 'dovecot-perf': 'dc-perf', 'relaygate': 'relaygate'}
unit = lambda l: 'KiB PSS/conn' if l == 'idle-mem' else ('MB/s' if 'retr' in l else 'sessions/s')
cpu_unit = lambda l: 'cpu ms/MB' if 'retr' in l else 'cpu ms/sess'
def fmt(v, d=1):
    return '-' if v is None else f'{v:.{d}f}'

hdr = f"{'scenario':<19} {'unit':<13}"
for s in servers:
    hdr += f" {names.get(s, s):>10}"
ratios = [(s, names.get(s, s)) for s in ('dovecot-default', 'dovecot-perf') if s in servers]
if 'relaygate' in servers:
    for s, n in ratios:
        hdr += f" {'rg/' + n:>11}"
    hdr += '  target'
print(hdr)
verdicts = []
for label, per in rows.items():
    vals = {s: value(label, per[s]) for s in servers if s in per}
    for which, u in ((0, unit(label)), (1, None if label == 'idle-mem' else cpu_unit(label))):
        if u is None:
            continue
        line = f"{label if which == 0 else '':<19} {u:<13}"
        for s in servers:
            line += f" {fmt(vals[s][which]) if s in vals else '-':>10}"
        if 'relaygate' in vals:
            rg = vals['relaygate'][which]
            rs = {}
            for s, n in ratios:
                b = vals.get(s, (None, None))[which]
                rs[s] = rg / b if rg is not None and b else None
                line += f" {fmt(rs[s], 2) + 'x' if rs[s] is not None else '-':>11}"
            if which == 0:
                if label.startswith('pop3-login') or label.startswith('pop3s-login'):
                    want = {'dovecot-default': 10, 'dovecot-perf': 4}
                    ok = all(rs.get(s) is not None and rs[s] >= w for s, w in want.items() if s in rs)
                    t = '>=10x default, >=4x perf'
                elif 'retr' in label:
                    ok = all(r is not None and r >= 3 for r in rs.values())
                    t = '>=3x'
                else:
                    ok = all(r is not None and r <= 0.25 for r in rs.values())
                    t = '<=0.25x'
                if len(rs) < 2 or None in rs.values():
                    verdict = 'n/a'
                else:
                    verdict = 'MET' if ok else 'MISSED'
                line += f"  {t}: {verdict}"
        print(line)
errs = {s: 0 for s in servers}
for label, per in rows.items():
    for s in servers:
        if s in per:
            errs[s] += value(label, per[s])[2]
print('client errors (all runs): ' + ', '.join(f'{names.get(s, s)} {e}' for s, e in errs.items()))
EOF
cat "$work/end.txt"
if [ -n "${OUT:-}" ]; then
	mkdir -p "$OUT"
	cp "$work/raw.txt" "$work/table.txt" "$work/start.txt" "$work/end.txt" "$OUT/"
	[ -f "$work/relaygate-pop3d.log" ] && grep -v 'event=login \|event=logout ' \
		"$work/relaygate-pop3d.log" > "$OUT/relaygate-pop3d.events" || true
	echo "raw results: $OUT/raw.txt"
fi
