#!/bin/bash
# 13-kernel-cache: the kernel caches ipamfs's names and attributes (entry
# and attribute timeouts, READDIRPLUS), and every change takes back what it
# made stale before the command that made it returns. Each check looks at
# a path the kernel has just cached (stat twice, ls -l), changes the IPAM
# through another path, and compares what stat says with what a read says
# and with what the kernel says once its caches are dropped
# (/proc/sys/vm/drop_caches, which also exercises FORGET).
. "$(dirname "$0")/lib.sh"

mount_ipamfs
mkpool private k 10.0.0.0/16
K=$POOL

drop_caches() { sync; echo 2 >/proc/sys/vm/drop_caches; }

# warm FILE...: stat each twice (the second answer is cached).
warm() {
	local f
	for f in "$@"; do
		t stat "$f" >/dev/null 2>&1
		t stat "$f" >/dev/null 2>&1
	done
}

sizes_match() { # FILE...: stat size == bytes read, for each
	local f s n bad=0
	for f in "$@"; do
		s=$(t stat -c %s "$f")
		n=$(rd "$f" | wc -c)
		if [ "$s" != "$n" ]; then
			diag "$(_describe "$f"): stat says $s, read gives $n"
			bad=1
		fi
	done
	return $bad
}

# same_after_drop WHAT CMD...: CMD prints the same before and after the
# kernel's caches are dropped.
same_after_drop() {
	local what=$1 before after
	shift
	before=$("$@" 2>&1)
	drop_caches
	after=$("$@" 2>&1)
	expect_eq "$before" "$after" "$what: the cached answer is the fresh one"
}

# ---------------------------------------------------------------------------
# Sizes: a change through one file expires the size of every other

gen="$K/status $K/status.json $K/allocations.json $K/map $K/pool.json
$K/cidrs $K/cidrs.json $MNT/ipam.json $MNT/metrics/ipam.prom
$MNT/scopes/private/status $MNT/errors"
# shellcheck disable=SC2086
warm $gen
expect_ok wr "$K/allocate" "web /24"
# shellcheck disable=SC2086
sizes_match $gen
check $? "after an allocation through allocate: stat size == bytes read everywhere"
# shellcheck disable=SC2086
warm $gen
expect_ok wr "$K/cidrs" 10.1.0.0/16
# shellcheck disable=SC2086
sizes_match $gen
check $? "after a provision through cidrs: stat size == bytes read everywhere"
# shellcheck disable=SC2086
warm $gen
expect_errno EINVAL wr "$K/cidrs" 10.0.0.0/33
sizes_match "$MNT/errors"
check $? "after a refusal: the size of /errors is its new size"
same_after_drop "stat -c %s of status, allocations.json, errors" \
	t stat -c '%n %s' "$K/status" "$K/allocations.json" "$MNT/errors"

# ---------------------------------------------------------------------------
# Modes: chmod of a pool changes what its files and sub-directories show

warm "$K/status" "$K/pools" "$K/allocations/web/cidr" "$K/tags"
expect_eq "$(t stat -c %a "$K/status")" 444 "status is 0444 under a 0755 pool"
expect_ok chmod 0750 "$K"
expect_eq "$(t stat -c %a "$K/status")" 440 "after chmod 0750 of the pool, status shows 0440"
expect_eq "$(t stat -c %a "$K/pools")" 750 "and pools/ shows 0750"
expect_ok chmod 0755 "$K"
expect_eq "$(t stat -c %a "$K/pools")" 755 "chmod back: pools/ shows 0755 again"
same_after_drop "modes under the pool" t stat -c '%n %a' "$K" "$K/pools" "$K/status" "$K/tags"

# ---------------------------------------------------------------------------
# Names: what disappears through another path is gone from the dcache

expect_ok mkdir "$K/pools/c"
expect_ok wr "$K/pools/c/cidrs" 10.0.128.0/24
t ls -l "$K/allocations" >/dev/null # READDIRPLUS: every entry cached
child=$(t grep -l '^10.0.128.0/24$' "$K"/allocations/*/cidr)
child=${child%/cidr}
expect_match "$child" "allocations/" "the child pool's CIDR is an allocation of k"
warm "$child" "$child/cidr" "$K/pools/c/status"
expect_ok wr "$K/pools/c/cidrs" -10.0.128.0/24
expect_errno_kernel ENOENT stat "$child"
expect_errno_kernel ENOENT stat "$child/cidr"
expect_eq "$(nalloc "$K")" 1 "k has one allocation left (web)"

warm "$K/pools/c" "$K/pools/c/id"
old_id=$(idof "$K/pools/c")
expect_ok rmdir "$K/pools/c"
expect_errno_kernel ENOENT stat "$K/pools/c/id"
expect_ok mkdir "$K/pools/c"
new_id=$(idof "$K/pools/c")
expect_match "$new_id" '^ipam-pool-' "the pool made again under the same name has an id"
[ "$new_id" != "$old_id" ]
check $? "and it is a new pool (new id), not the cached one"
expect_file_empty "$K/pools/c/cidrs"

# an allocation released and made again under the same name
expect_ok wr "$K/allocate" "db /26"
warm "$K/allocations/db/cidr"
first=$(rd "$K/allocations/db/cidr")
expect_ok rmdir "$K/allocations/db"
expect_errno_kernel ENOENT stat "$K/allocations/db/cidr"
expect_ok wr "$K/allocate" "db /28"
expect_match "$(rd "$K/allocations/db/cidr")" '/28$' "db made again is a /28 (was $first)"
sizes_match "$K/allocations/db/cidr"
check $? "its cidr file has the new size"

# a scope removed and made again
expect_ok mkdir "$MNT/scopes/lab"
warm "$MNT/scopes/lab/id" "$MNT/scopes/lab/pools"
lab1=$(idof "$MNT/scopes/lab")
expect_ok rmdir "$MNT/scopes/lab"
expect_errno_kernel ENOENT stat "$MNT/scopes/lab/pools"
expect_ok mkdir "$MNT/scopes/lab"
[ "$(idof "$MNT/scopes/lab")" != "$lab1" ]
check $? "a scope made again under the same name is a new scope"

# a tag removed by its key, then set again
expect_ok wr "$K/tags/env" prod
warm "$K/tags/env"
expect_ok rm "$K/tags/env"
expect_errno_kernel ENOENT stat "$K/tags/env"
expect_ok wr "$K/tags/env" dev
expect_file_eq "$K/tags/env" dev "the tag set again reads its new value"

same_after_drop "ls -l of allocations/" t ls -ln "$K/allocations"

# ---------------------------------------------------------------------------
# A reader racing a writer never keeps a stale size once the writer is done

(
	for _ in $(seq 1 60); do
		wr "$K/allocate" /30 || exit 1
	done
) &
writer=$!
while kill -0 "$writer" 2>/dev/null; do
	t stat -c %s "$K/status" "$K/allocations.json" "$K/map" >/dev/null
	rd "$K/status" >/dev/null
done
wait "$writer"
check $? "60 allocations made while another process stats and reads"
sizes_match "$K/status" "$K/allocations.json" "$K/map" "$K/pool.json"
check $? "after the race: stat size == bytes read"
expect_eq "$(nalloc "$K")" 62 "62 allocations listed (web, db and 60 /30s)"

finish
