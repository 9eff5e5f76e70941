#!/bin/bash
# 10-concurrency: allocation is atomic and race-free (SPEC §4): 8 processes
# make 200 allocations each from one pool at the same time, half of them by
# `echo "NAME /28" > allocate`, half by `mkdir allocations/NAME` (the
# default /28). Every one must succeed; the 1600 CIDRs must be distinct and
# non-overlapping, the pool's status must count them, and first fit must
# leave the pool packed from its start (no hole, no leak).
. "$(dirname "$0")/lib.sh"

WRITERS=8
PER_WRITER=200
TOTAL=$((WRITERS * PER_WRITER))

mount_ipamfs
mkpool private conc 10.0.0.0/16
P=$POOL
expect_ok wr "$P/allocation-default-netmask-length" 28

writer() { # K: allocations wK-1 .. wK-200; prints the number of failures
	local k=$1 i fails=0
	for i in $(seq 1 $PER_WRITER); do
		if [ $((k % 2)) -eq 0 ]; then
			printf "%s\n" "w$k-$i /28" 2>>"$TMPD/err.$k" >"$P/allocate" || fails=$((fails + 1))
		else
			mkdir "$P/allocations/w$k-$i" 2>>"$TMPD/err.$k" || fails=$((fails + 1))
		fi
	done
	echo "$fails" >"$TMPD/fails.$k"
}
export -f writer
export P TMPD PER_WRITER

start=$(date +%s)
pids=()
for k in $(seq 1 $WRITERS); do
	timeout 240 bash -c "writer $k" &
	pids+=($!)
done
rc=0
for p in "${pids[@]}"; do
	wait "$p" || rc=1
done
elapsed=$(($(date +%s) - start))
echo "# $TOTAL allocations by $WRITERS writers in ${elapsed}s"
expect_eq "$rc" 0 "all writers finished in time"
fails=0
for k in $(seq 1 $WRITERS); do
	f=$(cat "$TMPD/fails.$k" 2>/dev/null || echo "$PER_WRITER")
	fails=$((fails + f))
	[ -s "$TMPD/err.$k" ] && diag "writer $k: $(head -n 3 "$TMPD/err.$k")"
done
expect_eq "$fails" 0 "no allocation failed"

expect_eq "$(nalloc "$P")" "$TOTAL" "ls allocations: $TOTAL entries"
expect_eq "$(status_get "$P" allocation-count)" "$TOTAL" "status: allocation-count=$TOTAL"
expect_eq "$(status_get "$P" assigned-addresses)" $((TOTAL * 16)) "status: assigned-addresses=$((TOTAL * 16))"
rd "$P/allocations.json" | jq -r '.IpamPoolAllocations[].Cidr' >"$TMPD/cidrs"
expect_eq "$(wc -l <"$TMPD/cidrs")" "$TOTAL" "allocations.json: $TOTAL allocations"
expect_eq "$(sort -u "$TMPD/cidrs" | wc -l)" "$TOTAL" "all CIDRs distinct"

# no overlap: as integer ranges sorted by start, each starts after the last ends
overlaps=$(awk -F'[./]' '{
	start = (($1 * 256 + $2) * 256 + $3) * 256 + $4
	printf "%d %d\n", start, start + 2 ^ (32 - $5) - 1
}' "$TMPD/cidrs" | sort -n | awk 'NR > 1 && $1 <= prev { n++ } { prev = $2 } END { print n + 0 }')
expect_eq "$overlaps" 0 "no two CIDRs overlap"
outside=$(grep -cv '^10\.0\.' "$TMPD/cidrs")
expect_eq "$outside" 0 "every CIDR lies in 10.0.0.0/16"
# first fit under any interleaving: the 1600 /28 are exactly the first 1600
packed=$(awk -F'[./]' '{ print (($3 * 256 + $4) / 16) }' "$TMPD/cidrs" | sort -n | awk '$1 != NR - 1 { bad++ } END { print bad + 0 }')
expect_eq "$packed" 0 "the pool is packed from its start: 10.0.0.0 .. 10.0.99.240"
expect_file_eq "$P/preview/28" 10.0.100.0/28 "the next /28 follows the last"

# every name maps to its own CIDR
missing=0
for k in 1 $WRITERS; do
	for i in 1 $PER_WRITER; do
		t test -f "$P/allocations/w$k-$i/cidr" || missing=$((missing + 1))
	done
done
expect_eq "$missing" 0 "sampled allocation directories exist"

# concurrent releases and re-allocations keep the counts exact
rel() {
	local k=$1 i
	for i in $(seq 1 50); do
		rmdir "$P/allocations/w$k-$i" 2>>"$TMPD/rel.$k" || echo fail >>"$TMPD/rel.$k"
	done
}
export -f rel
pids=()
for k in $(seq 1 $WRITERS); do
	timeout 120 bash -c "rel $k" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
expect_eq "$(cat "$TMPD"/rel.* 2>/dev/null | wc -l)" 0 "400 concurrent releases succeed"
expect_eq "$(status_get "$P" allocation-count)" $((TOTAL - 400)) "status: allocation-count after the releases"
expect_eq "$(nalloc "$P")" $((TOTAL - 400)) "ls allocations after the releases"

# child pools taking /24 from a parent (cidrs "/24") race with allocations
# of /24 in that parent: 4 x 20 of each, none overlapping
mkpool private race 10.1.0.0/16
R=$POOL
for k in 1 2 3 4; do expect_ok mkdir "$R/pools/c$k"; done
export R
child() {
	local k=$1 i
	for i in $(seq 1 20); do
		printf '/24\n' 2>>"$TMPD/race.$k" >"$R/pools/c$k/cidrs" || echo fail >>"$TMPD/race.$k"
	done
}
parent() {
	local k=$1 i
	for i in $(seq 1 20); do
		printf '%s\n' "r$k-$i /24" 2>>"$TMPD/race.p$k" >"$R/allocate" || echo fail >>"$TMPD/race.p$k"
	done
}
export -f child parent
pids=()
for k in 1 2 3 4; do
	timeout 120 bash -c "child $k" &
	pids+=($!)
	timeout 120 bash -c "parent $k" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
expect_eq "$(cat "$TMPD"/race.* 2>/dev/null | wc -l)" 0 "80 child /24 and 80 parent /24 requests all succeed"
rd "$R/allocations.json" | jq -r '.IpamPoolAllocations[].Cidr' >"$TMPD/race-cidrs"
expect_eq "$(wc -l <"$TMPD/race-cidrs")" 160 "the parent holds 160 allocations"
expect_eq "$(sort -u "$TMPD/race-cidrs" | wc -l)" 160 "all distinct"
expect_json "$R/allocations.json" '[.IpamPoolAllocations[] | select(.ResourceType == "ipam-pool")] | length' 80
for k in 1 2 3 4; do
	expect_eq "$(rd "$R/pools/c$k/cidrs" | wc -l)" 20 "child c$k holds 20 CIDRs"
done
expect_eq "$(status_get "$R" allocated-to-pools-addresses)" $((80 * 256)) "allocated-to-pools-addresses=20480"
expect_eq "$(status_get "$R" assigned-addresses)" $((80 * 256)) "assigned-addresses=20480"

finish
