#!/bin/sh
# run-fuzz.sh TARGET CORPUS SECONDS ARTIFACT_DIR [LIBFUZZER_ARGS...]
# Run one libFuzzer target for SECONDS (FUZZ_SECONDS in the environment
# wins: `FUZZ_SECONDS=600 make check-fuzz`) on a copy of the seed corpus CORPUS
# in a temporary directory (new inputs never land in the source tree).
# Crashes are saved under ARTIFACT_DIR; the exit status is libFuzzer's.
set -u
if [ $# -lt 4 ]; then
	echo "usage: $0 TARGET CORPUS SECONDS ARTIFACT_DIR [ARGS...]" >&2
	exit 64
fi
target=$1 corpus=$2 seconds=${FUZZ_SECONDS:-$3} artifacts=$4
shift 4
work=$(mktemp -d "${TMPDIR:-/tmp}/relaygate-fuzz.XXXXXX") || exit 75
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
cp -R "$corpus"/. "$work"/ || exit 75
mkdir -p "$artifacts" || exit 75
# libFuzzer's default failure status is 77, which meson reads as "skipped"
"$target" -max_total_time="$seconds" -print_final_stats=1 \
	-error_exitcode=1 -timeout_exitcode=1 \
	-artifact_prefix="$artifacts/" "$@" "$work"
status=$?
[ $status -eq 77 ] && status=1
if [ $status -ne 0 ]; then
	echo "run-fuzz: $target failed with status $status;" \
	     "reproduce with: $target $artifacts/<crash-file>" >&2
fi
exit $status
