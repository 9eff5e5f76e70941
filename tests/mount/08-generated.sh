#!/bin/bash
# 08-generated: generated files are never stale or truncated (SPEC
# principle 9): the size stat(2) reports is the size read returns, right
# after every change; ordinary tools (cp, head -c, dd with small blocks,
# grep -r, find, ls -l) work; an open file is a consistent snapshot taken
# at open; big files (a pool with 400 allocations made by one multi-line
# write) read back whole.
. "$(dirname "$0")/lib.sh"

mount_ipamfs
mkpool private g 10.0.0.0/16
G=$POOL
expect_ok wr "$G/allocate" "web /24"
expect_ok wr "$G/tags/env" prod

sizes_match() { # FILE...: stat size == bytes read, for each
	local f s n bad=0
	for f in "$@"; do
		s=$(t stat -c %s "$f")
		n=$(rd "$f" | wc -c)
		if [ "$s" != "$n" ] || [ "$n" -eq 0 ]; then
			diag "$(_describe "$f"): stat says $s, read gives $n"
			bad=1
		fi
	done
	return $bad
}

files="$MNT/README $MNT/ipam.json $MNT/events $MNT/ipam/id
$MNT/ipam/operating-locales $MNT/scopes/private/id $MNT/scopes/private/type
$G/status $G/status.json $G/pool.json $G/allocations.json $G/cidrs $G/cidrs.json
$G/map $G/id $G/state $G/depth $G/description $G/tags/env $G/preview/26
$G/allocations/web/cidr $G/allocations/web/id $G/allocation-strategy"
# shellcheck disable=SC2086
sizes_match $files
check $? "stat size == bytes read for README, ipam.json, status, pool.json, ... (every file)"
for f in $files; do
	t cp "$f" "$TMPD/copy" && rd "$f" | cmp -s - "$TMPD/copy"
	check $? "cp $(_describe "$f") gives the content cat gives"
done
for f in "$G/pool.json" "$G/status" "$MNT/README"; do
	expect_eq "$(t head -c 10 "$f" | od -An -c)" "$(rd "$f" | head -c 10 | od -An -c)" "head -c 10 $(_describe "$f")"
	expect_eq "$(t dd if="$f" bs=7 status=none | md5sum)" "$(rd "$f" | md5sum)" "dd bs=7 $(_describe "$f") reads the same bytes"
	expect_eq "$(t tail -c 5 "$f" | od -An -c)" "$(rd "$f" | tail -c 5 | od -An -c)" "tail -c 5 $(_describe "$f")"
done
rd "$G/pool.json" | jq -e . >/dev/null
check $? "pool.json parses"

out=$(t grep -r create-complete "$MNT/scopes/private/pools" 2>/dev/null)
expect_match "$out" "$G/state:create-complete" "grep -r finds the pool's state"
out=$(t grep -rl 10.0.0.0/24 "$G" 2>/dev/null)
expect_match "$out" "$G/allocations/web/cidr" "grep -rl finds the allocation's cidr file"
t find "$MNT" >"$TMPD/find.out" 2>"$TMPD/find.err"
check $? "find over the whole mount succeeds"
expect_match "$(grep -c '/state$' "$TMPD/find.out")" '^[1-9]' "find lists state files"
expect_eq "$(t find "$MNT/scopes" -name cidr | wc -l)" 1 "find -name cidr finds the one allocation"
t ls -lR "$MNT/scopes" >/dev/null
check $? "ls -lR works"
t du -s "$MNT" >/dev/null
check $? "du -s works"

# current right after every change, size included
bad=0
for i in $(seq 1 12); do
	wr "$G/allocate" "n$i /28" || bad=1
	n=$(status_get "$G" allocation-count)
	[ "$n" = $((i + 1)) ] || { diag "after allocation $i: allocation-count=$n"; bad=1; }
	sizes_match "$G/status" "$G/status.json" "$G/allocations.json" "$G/map" "$G/pool.json" || bad=1
	[ "$(rd "$G/preview/28")" = "$(rd "$G/preview/28")" ] || bad=1
done
[ $bad -eq 0 ]
check $? "12 allocations: status, sizes and views current after each"
expect_ok wr "$G/description" "now with a description"
sizes_match "$G/description" "$G/pool.json"
check $? "description and pool.json sizes right after a change"
expect_json "$G/pool.json" '.IpamPools[0].Description' "now with a description"
expect_ok rm "$G/tags/env"
expect_json "$G/pool.json" '[.IpamPools[0].Tags[]?] | length' 0

# an open file is a snapshot taken at open
snap=$(t bash -c '
	exec 3<"$1/status" || exit 1
	printf "%s\n" "snap /28" > "$1/allocate" || exit 1
	cat <&3' x "$G")
expect_match "$snap" $'(^|\n)allocation-count=13($|\n)' "a status opened before an allocation reads the state at open"
expect_eq "$(status_get "$G" allocation-count)" 14 "a new open sees the allocation"

# a big file: 400 allocations made by ONE write of 400 lines
for i in $(seq 1 400); do printf 'b%d /32\n' "$i"; done >"$TMPD/400"
mkpool private big 10.1.0.0/16
B=$POOL
expect_ok wr_file "$B/allocate" "$TMPD/400"
expect_eq "$(nalloc "$B")" 400 "one write of 400 lines makes 400 allocations"
expect_file_eq "$B/allocations/b400/cidr" 10.1.1.143/32 "the 400th line got the 400th /32"
expect_json "$B/allocations.json" '.IpamPoolAllocations | length' 400
expect_json "$B/allocations.json" '[.IpamPoolAllocations[].Cidr] | unique | length' 400
sizes_match "$B/allocations.json" "$B/map" "$B/status"
check $? "big allocations.json and map: sizes match"
expect_eq "$(t dd if="$B/allocations.json" bs=4096 status=none | md5sum)" "$(rd "$B/allocations.json" | md5sum)" \
	"allocations.json read in 4 KiB blocks"
expect_eq "$(t dd if="$B/allocations.json" bs=1000 status=none | md5sum)" "$(rd "$B/allocations.json" | md5sum)" \
	"allocations.json read in 1000-byte blocks"
expect_eq "$(status_get "$B" assigned-addresses)" 400 "assigned-addresses=400"

finish
