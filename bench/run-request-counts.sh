#!/usr/bin/env bash
# run-request-counts.sh - what the daemon does for one command, counted
# rather than timed (docs/design/fs.md, "The node kept in the inode
# table"): SQL statements run (sqlite3_step), paths resolved (tree_resolve)
# and of those resolved component by component from the database
# (resolve_path), for commands on the mount bench's tree, warm and right
# after a change. Counts do not depend on the machine's load, times do.
#
#   bench/run-request-counts.sh [BUILDDIR] [--quick] [--ipamfs PATH]
#
# Needs root and perf with uprobes; the probes it adds are removed again.
# --ipamfs counts another build (a "before"); it needs its symbols.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=/tmp/ipamfs-bench-build
quick=
ipamfs=
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	build=$1
	shift
fi
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=--quick ;;
	--ipamfs) ipamfs=$2; shift ;;
	*) echo "run-request-counts: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
command -v perf >/dev/null || { echo "run-request-counts: needs perf" >&2; exit 77; }
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$top" >/dev/null || exit 1
fi
ninja -C "$build" fs/ipamfs bench/mount_bench >/dev/null || exit 1
ipamfs=$(readlink -f "${ipamfs:-$build/fs/ipamfs}")
sqlite=$(ldd "$ipamfs" | awk '/libsqlite3/ { print $3 }')

work=$(mktemp -d /tmp/ipam-request-counts.XXXXXX) || exit 1
mnt=$work/mnt
pid=
group=ipamfs_counts$$
cleanup() {
	if grep -q " $mnt " /proc/self/mounts; then
		timeout 10 fusermount3 -u "$mnt" 2>/dev/null ||
			timeout 10 fusermount3 -uz "$mnt"
	fi
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	perf probe -q -d "$group:*" 2>/dev/null
	grep -q " $mnt " /proc/self/mounts || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

perf probe -q -x "$sqlite" -a "$group:step=sqlite3_step" &&
	perf probe -q -x "$ipamfs" -a "$group:resolve=tree_resolve" &&
	perf probe -q -x "$ipamfs" -a "$group:walk=resolve_path" || exit 1

"$build/bench/mount_bench" $quick --make-db "$work/ipam.db" >/dev/null ||
	exit 1
mkdir "$mnt"
"$ipamfs" -f "$work/ipam.db" "$mnt" 2>/dev/null &
pid=$!
for _ in $(seq 100); do
	[ -d "$mnt/scopes" ] && break
	sleep 0.1
done
[ -d "$mnt/scopes" ] || { echo "not mounted" >&2; exit 1; }

P=$mnt/scopes/private/pools
change() { echo "change $RANDOM" >"$P/t09/description"; }
count() {
	perf stat -x, -e "$group:step" -e "$group:resolve" -e "$group:walk" \
		-p "$pid" -- bash -c "$1" 2>&1 >/dev/null |
		awk -F, '{ printf "%8s", $1 }'
}
row() { # LABEL SETUP COMMAND
	eval "$2"
	printf '%-46s' "$1"
	count "$3"
	echo
}
echo "$ipamfs"
printf '%-46s%8s%8s%8s\n' command SQL paths walks
# every name looked up once: the kernel holds them all
cat "$P/t00/status" "$P/t05/pools/c42/status" >/dev/null
stat "$P/t05/pools/c42/cidrs" >/dev/null
echo /32 >"$P/t02/allocate"
row "cat t00/status, warm" "cat $P/t00/status >/dev/null" "cat $P/t00/status"
row "cat t00/status, right after a change" change "cat $P/t00/status"
row "cat t05/pools/c42/status, right after a change" change \
	"cat $P/t05/pools/c42/status"
row "stat t05/pools/c42/cidrs, right after a change" change \
	"stat $P/t05/pools/c42/cidrs"
row "echo /32 > t02/allocate" : "echo /32 > $P/t02/allocate"
row "echo /32 > t02/allocate, after a change" change \
	"echo /32 > $P/t02/allocate"
row "echo d > t09/description" : "echo d > $P/t09/description"
