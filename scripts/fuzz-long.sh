#!/bin/sh
# fuzz-long.sh: run every libFuzzer target of a fuzz build for a long time
# and report executions and findings per target.
#
#   scripts/fuzz-long.sh [SECONDS [BUILDDIR]]
#
# SECONDS defaults to 600, BUILDDIR to $FUZZ_BUILD_DIR or "build-fuzz" (made
# with: CC=clang meson setup -Dfuzz=true -Db_sanitize=address,undefined
# -Db_lundef=false build-fuzz). The targets run side by side, so the whole
# run takes about SECONDS. Each grows its own corpus under
# BUILDDIR/fuzz-long/corpus/TARGET (seeded from tests/fuzz/corpus, kept
# between runs, never written into the source tree); crashes, leaks and
# timeouts are saved in BUILDDIR/fuzz-long/findings/TARGET. Exit status: 0
# when every target ran clean, 1 when one found something or failed, 64 on
# bad usage.
set -u

seconds=${1:-600}
build=${2:-${FUZZ_BUILD_DIR:-build-fuzz}}
case $seconds in
''|*[!0-9]*)
	echo "usage: $0 [SECONDS [BUILDDIR]]" >&2
	exit 64
	;;
esac
source_root=$(cd "$(dirname "$0")/.." && pwd)
fuzz_dir=$build/tests/fuzz
if [ ! -d "$fuzz_dir" ]; then
	echo "fuzz-long: $fuzz_dir not found: configure BUILDDIR with -Dfuzz=true" >&2
	exit 64
fi
ninja -C "$build" >/dev/null || { echo "fuzz-long: build failed" >&2; exit 1; }

out=$build/fuzz-long
targets=
pids=
# on ^C stop the fuzzers this script started, by their process ids
trap 'for pair in $pids; do kill "${pair#*:}" 2>/dev/null; done; exit 130' INT TERM
for exe in "$fuzz_dir"/fuzz-*; do
	if [ ! -f "$exe" ] || [ ! -x "$exe" ]; then
		continue
	fi
	name=$(basename "$exe")
	targets="$targets $name"
	mkdir -p "$out/corpus/$name" "$out/findings/$name" "$out/logs"
	seeds=$source_root/tests/fuzz/corpus/$name
	[ -d "$seeds" ] && cp -R "$seeds"/. "$out/corpus/$name"/
	extra=
	case $name in
	fuzz-config) extra="-max_len=9000" ;;
	fuzz-relaydb-text) extra="-max_len=4096" ;;
	fuzz-passwd-file) extra="-max_len=16384" ;;
	fuzz-maildir-size-cache) extra="-max_len=8192" ;;
	fuzz-mail-location) extra="-max_len=5000" ;;
	esac
	dict=$source_root/tests/fuzz/${name#fuzz-}.dict
	[ -f "$dict" ] && extra="$extra -dict=$dict"
	ls "$out/findings/$name" | sort > "$out/logs/$name.before"
	echo "fuzz-long: $name for ${seconds}s"
	# shellcheck disable=SC2086 # $extra holds separate flags
	"$exe" -max_total_time="$seconds" -print_final_stats=1 \
		-error_exitcode=1 -timeout_exitcode=1 -timeout=10 \
		-artifact_prefix="$out/findings/$name/" $extra \
		"$out/corpus/$name" > "$out/logs/$name.log" 2>&1 &
	pids="$pids $name:$!"
done
if [ -z "$targets" ]; then
	echo "fuzz-long: no fuzz-* targets in $fuzz_dir" >&2
	exit 64
fi
for pair in $pids; do
	wait "${pair#*:}"
	echo "$?" > "$out/logs/${pair%%:*}.status"
done

printf '\n%-20s %14s %10s %8s %9s %7s\n' target executions exec/s corpus findings status
found=0
for name in $targets; do
	status=$(cat "$out/logs/$name.status")
	log=$out/logs/$name.log
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	corpus=$(ls "$out/corpus/$name" | wc -l)
	new=$(ls "$out/findings/$name" | sort | comm -13 "$out/logs/$name.before" -)
	count=$(printf '%s' "$new" | grep -c . || true)
	printf '%-20s %14s %10s %8s %9s %7s\n' "$name" "${execs:-?}" \
		"${rate:-?}" "$corpus" "$count" "$status"
	if [ "$count" -gt 0 ] || [ "$status" -ne 0 ]; then
		found=1
		printf '%s\n' "$new" | sed "s|^|    $out/findings/$name/|"
	fi
done
echo "logs: $out/logs"
exit $found
