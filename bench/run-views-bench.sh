#!/usr/bin/env bash
# run-views-bench.sh - the memory of large views (docs/design/views.md):
# the daemon's resident memory while the big list files of the mount
# bench's tree are read, and after their readers close, next to jq's own
# peak memory for the same file.
#
#   bench/run-views-bench.sh [BUILDDIR] [--quick] [--ipamfs PATH]
#
# The tree is mount_bench's (--make-db): t00 holds 100 000 allocations
# (--quick: 10 000), 10 000 pools (--quick: 1 000). For each file:
#   size       the file's size
#   first      peak RSS growth of the daemon over its RSS before the read
#              (VmHWM, reset through /proc/PID/clear_refs) for one reader
#              (stat, open, read to EOF, close), as a multiple of the size
#   after 3    RSS after three sequential readers have closed
#   after +6   RSS after six more concurrent readers have closed
#   jq         jq's own peak RSS parsing the same file (/usr/bin/time -v),
#              as a multiple of the size
# and the daemon's RSS at mount. --ipamfs runs another build (a "before").
# Everything mounted is unmounted on exit.
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
	*) echo "run-views-bench: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$top" >/dev/null || exit 1
fi
ninja -C "$build" fs/ipamfs bench/mount_bench >/dev/null || exit 1
ipamfs=${ipamfs:-$build/fs/ipamfs}

work=$(mktemp -d /tmp/ipam-views-bench.XXXXXX) || exit 1
mnt=$work/mnt
pid=
cleanup() {
	if grep -q " $mnt " /proc/self/mounts; then
		timeout 10 fusermount3 -u "$mnt" 2>/dev/null ||
			timeout 10 fusermount3 -uz "$mnt"
	fi
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	grep -q " $mnt " /proc/self/mounts || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$build/bench/mount_bench" $quick --make-db "$work/ipam.db" >/dev/null ||
	exit 1
mkdir "$mnt"
"$ipamfs" -f "$work/ipam.db" "$mnt" &
pid=$!
for _ in $(seq 100); do
	grep -q " $mnt " /proc/self/mounts && break
	sleep 0.1
done
grep -q " $mnt " /proc/self/mounts || { echo "not mounted" >&2; exit 1; }

kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
settle() { sleep 0.3; }

settle
base=$(kib "$pid" VmRSS)
echo "daemon RSS at mount: $(mib "$base") MiB ($(basename "$ipamfs"): $ipamfs)"
printf '%-44s %8s %7s %9s %9s %9s %6s\n' file "size MiB" first \
	"after 3" "after +6" "jq MiB" jq/size
P=scopes/private/pools/t00
for f in $P/allocations.json /export.json scopes/private/pools.json \
	$P/cidrs.json; do
	settle
	before=$(kib "$pid" VmRSS)
	echo 5 >"/proc/$pid/clear_refs"
	size=$(stat -c %s "$mnt/$f") || exit 1
	cat "$mnt/$f" >"$work/copy" || exit 1
	peak=$(kib "$pid" VmHWM)
	cat "$mnt/$f" >/dev/null
	cat "$mnt/$f" >/dev/null
	settle
	after3=$(kib "$pid" VmRSS)
	readers=()
	for _ in 1 2 3 4 5 6; do
		cat "$mnt/$f" >/dev/null &
		readers+=($!)
	done
	wait "${readers[@]}"
	settle
	after9=$(kib "$pid" VmRSS)
	jq=$(/usr/bin/time -f %M jq . "$work/copy" 2>&1 >/dev/null | tail -1)
	first=- jqr=-
	if [ "$size" -ge 1048576 ]; then # ratios of tiny files say nothing
		first=$(ratio $(((peak - before) * 1024)) "$size")x
		jqr=$(ratio $((jq * 1024)) "$size")x
	fi
	printf '%-44s %8s %7s %9s %9s %9s %6s\n' "$f" \
		"$(mib $((size / 1024)))" "$first" \
		"$(mib "$after3")" "$(mib "$after9")" "$(mib "$jq")" "$jqr"
done
