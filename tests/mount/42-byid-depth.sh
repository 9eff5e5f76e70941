#!/bin/bash
# 42-byid-depth: /by-id links of deep pools with long names (issue 8 §7).
# A pool or allocation whose path below the mount root would make its
# /by-id link longer than PATH_MAX is refused at creation (ENAMETOOLONG,
# with a reason), so every link that exists can be read (readlink returns
# it whole, stat's size is its length) and followed.
. "$(dirname "$0")/lib.sh"

mount_ipamfs
expect_ok wr "$MNT/ipam/quotas/pool-depth" 30
N=$(printf 'n%.0s' $(seq 1 240)) # a 240-byte name
L=$(printf 'a%.0s' $(seq 1 250))
# One shell walks down with relative paths (the absolute path of a deep
# pool is longer than PATH_MAX: the kernel would refuse it before ipamfs
# sees it), creating a chain of pools until ipamfs refuses one; it prints
# the ids on its way, then allocates in the deepest pool.
timeout 120 bash -c '
	cd "$1/scopes/private/pools" || exit 1
	mkdir "$2" && cd "$2" && echo 10.0.0.0/8 >cidrs || exit 1
	echo "id $(cat id) scopes/private/pools/$2"
	rel=scopes/private/pools/$2
	for d in $(seq 2 25); do
		if ! msg=$(mkdir "pools/$2" 2>&1); then
			echo "refused $d $msg"
			break
		fi
		cd "pools/$2" && echo 10.0.0.0/8 >cidrs || exit 1
		rel=$rel/pools/$2
		echo "id $(cat id) $rel"
	done
	echo "a /24" >allocate && echo "alloc $(cat allocations/a/id) $rel/allocations/a"
	msg=$( { echo "$3 /24" >allocate; } 2>&1) || echo "alloc-refused $msg"
	msg=$(mkdir "allocations/$3" 2>&1) || echo "mkdir-refused $msg"
	echo "nalloc $(ls allocations | wc -l)"
' walk "$MNT" "$N" "$L" >"$TMPD/walk" 2>&1
refused=$(sed -n 's/^refused //p' "$TMPD/walk")
expect_eq "$(errno_from_text "$refused")" ENAMETOOLONG "a pool too deep to be shown is refused at mkdir (${refused%% *})"
expect_match "$(rd "$MNT/errors" | grep ENAMETOOLONG | head -n 1)" \
	"mkdir .* ENAMETOOLONG: the path of pool 'n+' under pool 'n+' would be [0-9]+ bytes long \(at most 4092" \
	"/errors says why"
# every link reads whole, stat's size is its length, it leads to the object
bad=0
n=0
while read -r kind id rel; do
	case $kind in id | alloc) ;; *) continue ;; esac
	n=$((n + 1))
	link=$(cd "$MNT/by-id" && t readlink "$id")
	size=$(cd "$MNT/by-id" && t stat -c %s "$id")
	got=$(cd "$MNT/by-id" && t cat "$id/id" 2>&1)
	if [ "$link" != "../$rel" ] || [ "$size" -ne $((${#rel} + 3)) ] || [ "$got" != "$id" ]; then
		bad=$((bad + 1))
		diag "$id: readlink ${#link} bytes, stat $size, want $((${#rel} + 3)); followed: ${got:0:80}"
	fi
done <"$TMPD/walk"
expect_match "$n" '^1[0-9]$' "$n pools and an allocation were made"
expect_eq "$bad" 0 "every /by-id link reads whole, stat's size is its length, and it leads to its object"
# allocations: a short name fits, a long one does not; nothing is allocated
# by the refusals
expect_eq "$(errno_from_text "$(sed -n 's/^alloc-refused //p' "$TMPD/walk")")" ENAMETOOLONG \
	"an allocation whose path would be too long is refused (allocate)"
expect_eq "$(errno_from_text "$(sed -n 's/^mkdir-refused //p' "$TMPD/walk")")" ENAMETOOLONG \
	"an allocation whose path would be too long is refused (mkdir)"
expect_eq "$(sed -n 's/^nalloc //p' "$TMPD/walk")" 1 "the refused allocations took nothing"
finish
