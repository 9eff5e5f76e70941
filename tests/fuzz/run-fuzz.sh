#!/bin/bash
# run-fuzz.sh HARNESS CORPUS: the CI run of one libFuzzer harness. Runs
# every file of the seed corpus CORPUS (hand-written seeds, seeds taken
# from tests/cases, and the inputs of crashes found and fixed: each is a
# regression test), then fuzzes for FUZZ_SECONDS (default 15) more. New
# inputs go to a temporary directory, never into the source tree. Fails on
# any crash, sanitizer report, leak or timeout (10 s per input).
#
#   FUZZ_SECONDS=1800 bash tests/fuzz/run-fuzz.sh build-fuzz/tests/fuzz/fuzz_cidr tests/fuzz/corpus/cidr
set -u
harness=$(realpath "${1:?usage: run-fuzz.sh HARNESS CORPUS}") || exit 1
corpus=$(realpath "${2:?usage: run-fuzz.sh HARNESS CORPUS}") || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/ipamfs-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir new
# Every seed and regression input, one by one, first: a failure names it.
if ! "$harness" -timeout=10 -rss_limit_mb=2048 "$corpus"/* >seeds.log 2>&1; then
	cat seeds.log
	echo "not ok: $(basename "$harness") failed on a corpus input"
	exit 1
fi
echo "ok: $(basename "$harness") ran $(ls "$corpus" | wc -l) corpus inputs"
"$harness" -max_total_time="${FUZZ_SECONDS:-15}" -timeout=10 \
	-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" \
	new "$corpus" >fuzz.log 2>&1
rc=$?
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' fuzz.log
if [ $rc -ne 0 ]; then
	tail -n 60 fuzz.log
	for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		[ -f "$f" ] && { echo "input $f:"; od -c "$f" | head -20; }
	done
	echo "not ok: $(basename "$harness") found a failure"
	exit 1
fi
echo "ok: $(basename "$harness") fuzzed ${FUZZ_SECONDS:-15} s"
