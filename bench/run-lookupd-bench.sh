#!/bin/sh
# relaygate-lookupd benchmark (docs/BENCHMARKS.md): socketmap and policy
# queries per second and latency at 1, 8 and 64 connections, side by side
# in one run with lookupd-floor, a server of the same protocols (same
# parsers and event loop) that does no lookup at all. Every command is
# printed before it runs.
#
#   bench/run-lookupd-bench.sh          5 s per measurement
#   SECONDS_EACH=2 bench/run-lookupd-bench.sh
#
# Environment: BUILD (default ./build), BENCH_DIR (where the work
# directory is made; default the build directory), CONNS (default
# "1 8 64"), ENTRIES (store size, default 10000).
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build}
bench_dir=${BENCH_DIR:-$build}
seconds=${SECONDS_EACH:-5}
conns_list=${CONNS:-1 8 64}
entries=${ENTRIES:-10000}

show() {
	printf '+' >&2
	printf ' %s' "$@" >&2
	printf '\n' >&2
}
run() {
	show "$@"
	"$@"
}

[ -f "$build/build.ninja" ] || run meson setup "$build" "$src"
run meson compile -C "$build" relaygate-lookupd vsmtprelay bench/lookupd-floor bench/lookupd-load >/dev/null

work=$(mktemp -d "$bench_dir/lookupd-bench.XXXXXX")
chmod 0755 "$work"
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The store: ENTRIES addresses, 90% fresh, 10% older than the window; the
# keys asked: every stored address and 20% more that are not stored.
now=$(date +%s)
awk -v n="$entries" -v now="$now" 'BEGIN {
	srand(1);
	for (i = 0; i < n; i++) {
		t = (i % 10 == 9) ? now - 4000 : now - int(rand() * 1500);
		printf "10.%d.%d.%d %d\n", int(i / 65536) % 256, int(i / 256) % 256, i % 256, t;
	}
}' > "$work/grants.txt"
run "$build/vsmtprelay" -f "$work/relayers.db" load "$work/grants.txt" >/dev/null
awk -v n="$entries" 'BEGIN {
	srand(2);
	m = n + int(n / 5);
	for (i = 0; i < m; i++) {
		j = i < n ? i : i - n;
		net = i < n ? 10 : 11;
		k[i] = sprintf("%d.%d.%d.%d", net, int(j / 65536) % 256, int(j / 256) % 256, j % 256);
	}
	for (i = m - 1; i > 0; i--) { r = int(rand() * (i + 1)); t = k[i]; k[i] = k[r]; k[r] = t; }
	for (i = 0; i < m; i++) print k[i];
}' > "$work/keys.txt"

base=$((20000 + $$ % 20000))
sm_lookupd=inet:127.0.0.1:$base
po_lookupd=inet:127.0.0.1:$((base + 1))
sm_quiet=inet:127.0.0.1:$((base + 2))
po_quiet=inet:127.0.0.1:$((base + 3))
sm_floor=inet:127.0.0.1:$((base + 4))
po_floor=inet:127.0.0.1:$((base + 5))

cat > "$work/lookupd.conf" <<CONF
relay_db = $work/relayers.db
relay_window = 30m
lookupd_socketmap_listen = $sm_lookupd
lookupd_policy_listen = $po_lookupd
CONF
cat > "$work/quiet.conf" <<CONF
relay_db = $work/relayers.db
relay_window = 30m
lookupd_socketmap_listen = $sm_quiet
lookupd_policy_listen = $po_quiet
lookupd_log_decisions = no
CONF

show "$build/relaygate-lookupd" -F -c "$work/lookupd.conf"
"$build/relaygate-lookupd" -F -c "$work/lookupd.conf" 2>"$work/lookupd.log" &
pid_lookupd=$!
pids="$pids $!"
show "$build/relaygate-lookupd" -F -c "$work/quiet.conf"
"$build/relaygate-lookupd" -F -c "$work/quiet.conf" 2>"$work/quiet.log" &
pid_quiet=$!
pids="$pids $!"
show "$build/bench/lookupd-floor" socketmap "$sm_floor"
"$build/bench/lookupd-floor" socketmap "$sm_floor" &
pid_sm_floor=$!
pids="$pids $!"
show "$build/bench/lookupd-floor" policy "$po_floor"
"$build/bench/lookupd-floor" policy "$po_floor" &
pid_po_floor=$!
pids="$pids $!"
sleep 1

echo
echo "store: $entries entries (90% fresh), keys: $(wc -l < "$work/keys.txt") (1 in 6 not stored)"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "each measurement: $seconds s after 0.5 s warm-up; client: bench/lookupd-load (one request in flight per connection)"
echo "lookupd = relaygate-lookupd logging every decision to a file (-F, stderr redirected);"
echo "quiet = the same with lookupd_log_decisions = no; floor = lookupd-floor (no lookup)"
echo "cpu = user+system CPU time of the server process per query (less noisy than qps)"
echo
printf '%-9s %5s | %8s %6s %6s %6s | %8s %6s %6s %6s | %8s %6s %6s %6s | %5s %5s | %5s %5s\n' \
	proto conns floor/s p50us p99us cpuus lookupd/s p50us p99us cpuus \
	quiet/s p50us p99us cpuus f/l f/q cpu_l cpu_q
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# measure PID ENDPOINT: run the load, print "result cpu_us_per_query"
measure() {
	t0=$(ticks "$1")
	r=$("$build/bench/lookupd-load" $proto "$2" "$c" "$seconds" "$work/keys.txt")
	t1=$(ticks "$1")
	n=$(field "$r" queries)
	printf '%s cpu_us=%s\n' "$r" "$(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$n" \
		'BEGIN { printf "%.2f", t / hz * 1e6 / (n > 0 ? n : 1) }')"
}
for proto in socketmap policy; do
	if [ $proto = socketmap ]; then
		floor=$sm_floor lookupd=$sm_lookupd quiet=$sm_quiet pid_floor=$pid_sm_floor
	else
		floor=$po_floor lookupd=$po_lookupd quiet=$po_quiet pid_floor=$pid_po_floor
	fi
	for c in $conns_list; do
		f=$(measure $pid_floor "$floor")
		l=$(measure $pid_lookupd "$lookupd")
		q=$(measure $pid_quiet "$quiet")
		fq=$(field "$f" qps) lq=$(field "$l" qps) qq=$(field "$q" qps)
		fc=$(field "$f" cpu_us) lc=$(field "$l" cpu_us) qc=$(field "$q" cpu_us)
		printf '%-9s %5s | %8s %6s %6s %6s | %8s %6s %6s %6s | %8s %6s %6s %6s | %5s %5s | %5s %5s\n' \
			$proto "$c" "$fq" "$(field "$f" p50_us)" "$(field "$f" p99_us)" "$fc" \
			"$lq" "$(field "$l" p50_us)" "$(field "$l" p99_us)" "$lc" \
			"$qq" "$(field "$q" p50_us)" "$(field "$q" p99_us)" "$qc" \
			"$(awk -v a="$fq" -v b="$lq" 'BEGIN { printf "%.2f", a / b }')" \
			"$(awk -v a="$fq" -v b="$qq" 'BEGIN { printf "%.2f", a / b }')" \
			"$(awk -v a="$lc" -v b="$fc" 'BEGIN { printf "%.2f", a / b }')" \
			"$(awk -v a="$qc" -v b="$fc" 'BEGIN { printf "%.2f", a / b }')"
		echo "  lookupd answers: ok=$(field "$l" answers_ok) other=$(field "$l" answers_other)" >&2
	done
done
echo "f/l, f/q: floor qps over lookupd, quiet qps; cpu_l, cpu_q: server CPU per query over the floor's"
echo
echo "lookupd log lines: $(wc -l < "$work/lookupd.log")"
