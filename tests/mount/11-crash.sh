#!/bin/bash
# 11-crash: durability and atomicity across a daemon crash (SPEC principles
# 5 and 6): a foreground ipamfs is killed with SIGKILL in the middle of a
# stream of allocations; after a remount every allocation whose write was
# acknowledged is there with the CIDR it was given, nothing is half made
# (directory count, status and allocations.json agree), a multi-line write
# is all there or not at all, and SQLite's integrity check passes.
. "$(dirname "$0")/lib.sh"

new_tmpdir
start_ipamfs_fg
mkpool private crash 10.0.0.0/16
P=$POOL
REL=${P#"$MNT"/}

# the i-th /28 of 10.0.0.0/16 (first fit, one writer)
nth28() { echo "10.0.$(((($1 - 1) * 16) / 256)).$(((($1 - 1) * 16) % 256))/28"; }

kill_daemon_when() { # FILE LINES: SIGKILL the daemon once FILE has LINES lines
	local i
	for i in $(seq 1 200); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && break
		sleep 0.05
	done
	kill -9 "$IPAMFS_PID"
	wait "$IPAMFS_PID" 2>/dev/null
	FG_PIDS=()
	timeout 10 fusermount3 -uz "$MNT" 2>/dev/null
}

# --- round 1: single allocations, CIDR read back on the same fd ------------
: >"$TMPD/acked"
timeout 60 bash -c '
	for i in $(seq 1 100000); do
		exec 3<>"$1" 2>/dev/null || break
		printf "%s\n" "c$i /28" >&3 2>/dev/null || break
		c=""
		IFS= read -r c <&3 2>/dev/null
		echo "c$i $c" >>"$2"
		exec 3>&-
	done' x "$MNT/$REL/allocate" "$TMPD/acked" &
writer=$!
kill_daemon_when "$TMPD/acked" 100
wait "$writer"
acked=$(wc -l <"$TMPD/acked")
echo "# $acked allocations acknowledged before the kill"
[ "$acked" -ge 100 ]
check $? "at least 100 allocations were acknowledged before the kill"

start_ipamfs
n=$(nalloc "$P")
[ "$n" -eq "$acked" ] || [ "$n" -eq $((acked + 1)) ]
check $? "after the crash: $n allocations for $acked acknowledged (at most one more in flight)"
bad=0
badcidr=0
while read -r name cidr; do
	i=${name#c}
	got=$(rd "$P/allocations/$name/cidr" 2>/dev/null)
	if [ "$got" != "$(nth28 "$i")" ]; then
		bad=$((bad + 1))
		[ $bad -le 3 ] && diag "$name: cidr '$got', expected $(nth28 "$i")"
	fi
	if [ -n "$cidr" ] && [ "$cidr" != "$got" ]; then
		badcidr=$((badcidr + 1))
	fi
done <"$TMPD/acked"
expect_eq "$bad" 0 "every acknowledged allocation is present with its first-fit CIDR"
expect_eq "$badcidr" 0 "every CIDR read back before the crash is the one stored"
expect_eq "$(status_get "$P" allocation-count)" "$n" "status allocation-count matches ls allocations"
expect_json "$P/allocations.json" '.IpamPoolAllocations | length' "$n"
expect_json "$P/allocations.json" '[.IpamPoolAllocations[].Cidr] | unique | length' "$n"
expect_file_eq "$P/preview/28" "$(nth28 $((n + 1)))" "the next /28 follows the last one stored"
unmount_ipamfs

# --- round 2: 20-line writes are all or nothing across the crash -----------
start_ipamfs_fg
: >"$TMPD/batches"
timeout 60 bash -c '
	for b in $(seq 1 100000); do
		for j in $(seq 1 20); do printf "m%s-%s /30\n" "$b" "$j"; done >"$3"
		# one write(2): dd, not printf (bash line-buffers its stdout)
		dd if="$3" of="$1" bs=64k count=1 status=none 2>/dev/null || break
		echo "$b" >>"$2"
	done' x "$MNT/$REL/allocate" "$TMPD/batches" "$TMPD/batch" &
writer=$!
kill_daemon_when "$TMPD/batches" 20
wait "$writer"
batches=$(wc -l <"$TMPD/batches")
echo "# $batches batches of 20 acknowledged before the kill"

start_ipamfs
t ls "$P/allocations" | grep '^m' >"$TMPD/m-names"
m=$(wc -l <"$TMPD/m-names")
expect_eq "$((m % 20))" 0 "multi-line writes: $m allocations, a multiple of 20 (no write half applied)"
[ "$m" -ge $((batches * 20)) ] && [ "$m" -le $(((batches + 1) * 20)) ]
check $? "every acknowledged batch is there ($batches batches, $m allocations)"
partial=$(sed 's/^m\([0-9]*\)-.*/\1/' "$TMPD/m-names" | sort -n | uniq -c | awk '$1 != 20' | wc -l)
expect_eq "$partial" 0 "each batch is whole"
total=$(nalloc "$P")
expect_eq "$(status_get "$P" allocation-count)" "$total" "status allocation-count matches ls allocations"
expect_ok wr "$P/allocate" "after /28"
unmount_ipamfs

if command -v sqlite3 >/dev/null; then
	sqlite3 "$DB" 'PRAGMA integrity_check' >"$TMPD/ic" 2>&1
	expect_eq "$(cat "$TMPD/ic")" ok "PRAGMA integrity_check"
else
	echo "# skip integrity_check: no sqlite3"
fi

finish
