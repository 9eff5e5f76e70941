#!/bin/bash
# 112-pg-visibility.sh - a change made through one daemon is seen at once
# through another daemon on the same PostgreSQL database (issue 14,
# docs/design/pg.md): the reading daemon keys its caches on the
# database's newest event. Every read of content below is the first after
# the change on the other mount (no polling): stale content fails the
# test. Names and attributes are the kernel's for 60 s and taken back by
# the listening thread when the other daemon's notification arrives: the
# release's name is polled for (up to 2 s; 115-pg-names tests them). Prints
# the latency from a write on A to a read on B showing it (docs/bench.md).
# Runs under tests/pg/pgtmp.sh; skipped (77) without PostgreSQL.
. "$(dirname "$0")/lib.sh"
if [ -z "${IPAMFS_PG_DIR:-}" ]; then
	echo "1..0 # SKIP not under tests/pg/pgtmp.sh"
	exit 77
fi
new_tmpdir
DB="postgresql:///postgres?host=$IPAMFS_PG_DIR&user=ipamfs"
MNT=$TMPD/a
mkdir "$MNT"
start_ipamfs
A=$MNT
MNT=$TMPD/b
mkdir "$MNT"
start_ipamfs
B=$MNT
MNT=$A

mkpool private top 10.0.0.0/16
PA=$A/scopes/private/pools/top
PB=$B/scopes/private/pools/top
# B reads (and caches) everything first
expect_eq "$(status_get "$PB" allocation-count)" 0 "b: no allocation yet"
expect_eq "$(t ls "$PB/allocations" | wc -l)" 0 "b: allocations/ is empty"
t cat "$PB/allocations.json" "$PB/status.json" "$B/scopes/private/pools.json" >/dev/null 2>&1

expect_ok wr "$PA/allocate" "x /24"
expect_eq "$(status_get "$PB" allocation-count)" 1 "b: status shows a's allocation at once"
expect_file_eq "$PB/allocations/x/cidr" 10.0.0.0/24 "b: the allocation's files"
expect_eq "$(t jq -r '.IpamPoolAllocations | map(.Cidr) | join(",")' "$PB/allocations.json")" \
	10.0.0.0/24 "b: allocations.json"
expect_file_eq "$PB/preview/24" 10.0.1.0/24 "b: preview skips a's allocation"
expect_match "$(t tail -n 1 "$B/events")" '"name":"x"' "b: /events shows a's change"

# b changes, a sees it
expect_ok wr "$PB/description" "from b"
expect_file_eq "$PA/description" "from b" "a: b's description"
# a releases, b no longer shows it (name and contents)
expect_ok rmdir "$PA/allocations/x"
expect_eq "$(status_get "$PB" allocation-count)" 0 "b: the release"
for i in $(seq 1 200); do
	t test -e "$PB/allocations/x" || break
	sleep 0.01
done
if t test -e "$PB/allocations/x"; then
	not_ok "b: allocations/x is gone (still there after 2 s)"
else
	ok "b: allocations/x is gone (after $i polls of 10 ms)"
fi

# latency: from a write on a returning to a read on b showing it, and
# the reads that took (median of 20; one read means no delay at all)
lat=$(for i in $(seq 1 20); do
	wr "$PA/allocate" "l$i /28" || exit 1
	s=$(date +%s%N) reads=1
	while [ "$(status_get "$PB" allocation-count)" != "$i" ]; do
		reads=$((reads + 1))
	done
	e=$(date +%s%N)
	echo "$(((e - s) / 1000)) $reads"
done | sort -n)
expect_eq "$(awk '{ print $2 }' <<<"$lat" | sort -u | tr '\n' ' ')" "1 " \
	"20 changes on a: each seen by b's first read"
lat=$(sed -n 10p <<<"$lat")
echo "# write on a returned -> read on b showing it: median ${lat% *} us"
finish
