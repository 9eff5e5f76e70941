#!/usr/bin/env bash
# run-pg-bench.sh - allocations/s on SQLite and on PostgreSQL with 1, 2 and
# 4 daemons, and the cross-mount visibility latency (bench/pg_bench.py,
# docs/bench.md), on a throwaway cluster of tests/pg/pgtmp.sh. Whatever
# happens to the bench, nothing stays mounted afterwards: every FUSE mount
# under its work directory is unmounted (fusermount3 -u, then -uz).
#
#   bench/run-pg-bench.sh [BUILDDIR] [pg_bench.py options]
#   bench/run-pg-bench.sh build --allocs 50 --rounds 20   # quick
#
# BUILDDIR defaults to /tmp/ipamfs-bench-build (set up on first use,
# debugoptimized). Skipped (77) without PostgreSQL's server binaries.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=/tmp/ipamfs-bench-build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	build=$1
	shift
fi
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$top" >/dev/null || exit 1
fi
ninja -C "$build" fs/ipamfs >/dev/null || exit 1
ipamfs=$(cd "$build" && pwd)/fs/ipamfs

work=$(mktemp -d /tmp/ipam-pg-bench.XXXXXX) || exit 1
chmod 755 "$work"
mounts_under() {
	awk -v dir="$1/" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts
}
cleanup() {
	local m
	for m in $(mounts_under "$work"); do
		timeout 10 fusermount3 -u "$m" 2>/dev/null ||
			timeout 10 fusermount3 -uz "$m"
	done
	if [ -z "$(mounts_under "$work")" ]; then
		rm -rf "$work"
	else
		echo "run-pg-bench: $work: still mounted, not removed" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

timeout "${PG_BENCH_TIMEOUT:-900}" "$top/tests/pg/pgtmp.sh" run \
	python3 "$top/bench/pg_bench.py" "$ipamfs" "$work" "$@"
