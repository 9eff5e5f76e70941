#!/usr/bin/env bash
# run-mount-bench.sh - builds ipamfs outside the source tree and runs
# bench/mount_bench under a time limit. Whatever happens to the bench (a
# crash, a hang, ^C, kill -9), nothing stays mounted afterwards: every FUSE
# mount under its work directory is unmounted here (fusermount3 -u, then
# -uz, each under a timeout) and the directories are removed only once
# nothing is mounted on them.
#
#   bench/run-mount-bench.sh [BUILDDIR] [mount_bench options]
#   bench/run-mount-bench.sh --quick               # < 1 minute
#   bench/run-mount-bench.sh /tmp/mb --cpu 1       # everything on CPU 1
#
# BUILDDIR defaults to /tmp/ipamfs-bench-build (set up on first use, as
# `meson setup BUILDDIR .`, i.e. debugoptimized). MOUNT_BENCH_TIMEOUT
# (seconds, default 1800) bounds the run.
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
ninja -C "$build" fs/ipamfs bench/minifs bench/mount_bench >/dev/null ||
	exit 1

work=$(mktemp -d /tmp/ipam-mount-bench-run.XXXXXX) || exit 1
shm=$(mktemp -d /dev/shm/ipam-mount-bench-run.XXXXXX) || exit 1

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
		echo "run-mount-bench: $work: still mounted, not removed" >&2
	fi
	rm -rf "$shm"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

timeout --foreground -k 30 "${MOUNT_BENCH_TIMEOUT:-1800}" \
	"$build/bench/mount_bench" --dir "$work" --tmpfs "$shm" "$@"
