#!/bin/sh
# Build relaygate if needed and run the relay-store benchmarks
# (docs/BENCHMARKS.md). Every command is printed before it runs.
#
#   bench/run-relaydb-bench.sh              full run (a few minutes)
#   bench/run-relaydb-bench.sh -q           quick run (under a minute)
#   bench/run-relaydb-bench.sh -s a1,p -n 50000   any relaydb-bench options
#
# Environment: BUILD (build directory, default ./build as the Makefile),
# BENCH_DIR (where the work directory is made; default the build directory,
# which must be on a disk filesystem, not tmpfs, and not below a
# world-writable directory, or makemap warns), MESON (default meson).
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build}
bench_dir=${BENCH_DIR:-$build}
meson=${MESON:-meson}

run() {
	printf '+' >&2
	printf ' %s' "$@" >&2
	printf '\n' >&2
	"$@"
}

if [ ! -f "$build/build.ninja" ]; then
	run "$meson" setup "$build" "$src"
fi
run "$meson" compile -C "$build" relaydb-bench vsmtprelay relaygate-recorder

# Numbers from a debug or sanitizer build mean little: say which it is.
buildtype=$("$meson" introspect --buildoptions "$build" 2>/dev/null \
	| tr '{' '\n' | sed -n 's/.*"name": "buildtype".*"value": "\([^"]*\)".*/\1/p' \
	| head -n 1)
sanitize=$("$meson" introspect --buildoptions "$build" 2>/dev/null \
	| tr '{' '\n' | sed -n 's/.*"name": "b_sanitize".*"value": "\([^"]*\)".*/\1/p' \
	| head -n 1)
echo "build: $build (buildtype ${buildtype:-?}, b_sanitize ${sanitize:-?})" >&2
case "${sanitize:-none}" in
none) ;;
*) echo "warning: sanitizer build; use a plain build for real numbers" >&2 ;;
esac

fstype=$(df -PT "$bench_dir" 2>/dev/null | awk 'NR == 2 { print $2 }')
if [ "$fstype" = tmpfs ]; then
	echo "warning: $bench_dir is on tmpfs; set BENCH_DIR to a disk filesystem" >&2
fi

run env VSMTPRELAY="$build/vsmtprelay" "$build/bench/relaydb-bench" \
	-d "$bench_dir" \
	--vsmtprelay "$build/vsmtprelay" \
	--makemap /usr/sbin/makemap \
	--db-verify /usr/bin/db5.3_verify \
	--recorder "$build/relaygate-recorder" \
	"$@"
