#!/bin/bash
# 53-rm-r.sh - `rm -rf` on a pool, a resource, an allocation and a scope
# deletes nothing (docs/tree.md "Removing"): rm -r's first step inside an
# object, the unlink of an attribute file, is refused and from then on
# every unlink and rmdir of that rm below the object is refused too, so
# tags, allocations and child pools stay; the reason names `rmdir`. Plain
# `rm tags/KEY` and `rmdir` keep working, from any other process.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"
mount_ipamfs

events() { t cat "$MNT/events" | wc -l; }
state() { # everything under the scopes that rm -r could touch
	t find "$MNT/scopes" -path '*/history' -prune -o -path '*/preview' -prune -o -print | sort
	t cat "$MNT"/scopes/*/pools/*/tags/* "$MNT"/scopes/*/pools/*/pools/*/tags/* 2>/dev/null
}

mkpool private top 10.0.0.0/16
TOP=$POOL
expect_ok wr "$TOP/tags/env" prod
expect_ok wr "$TOP/tags/team" net
expect_ok wr "$TOP/allocate" "web /24"
expect_ok wr "$TOP/allocate" "db /24"
mkpool private top/pools/child /20
CHILD=$POOL
expect_ok wr "$CHILD/tags/env" dev
expect_ok wr "$CHILD/allocate" "c1 /26"
mkres private vpc-0123456789abcdef0
RES=$MNT/scopes/private/resources/vpc-0123456789abcdef0
expect_ok wr "$RES/cidrs" 10.9.0.0/16
expect_ok wr "$RES/tags/Name" prod-vpc
expect_ok wr "$RES/tags/env" prod
expect_ok mkdir "$MNT/scopes/net"
mkpool net p 192.168.0.0/16
expect_ok wr "$POOL/tags/k" v
expect_ok wr "$POOL/allocate" "a1 /24"

s0=$(state)
e0=$(events)

# the issue's reproducers: each rm -rf fails and changes nothing
for dir in "$TOP" "$RES" "$TOP/allocations/web" "$MNT/scopes/net" "$CHILD"; do
	out=$(t rm -rf "$dir" 2>&1)
	rc=$?
	expect_eq "$rc" 1 "rm -rf $(_describe "$dir") fails"
	expect_eq "$(state)" "$s0" "rm -rf $(_describe "$dir") changed nothing in the tree"
	expect_eq "$(events)" "$e0" "rm -rf $(_describe "$dir") logged no change in /events"
done
expect_file_eq "$TOP/tags/env" prod "the pool's tags stay"
expect_file_eq "$RES/tags/Name" prod-vpc "the resource's tags stay"
expect_file_eq "$TOP/allocations/web/cidr" 10.0.0.0/24 "the allocation stays"
expect_file_eq "$CHILD/allocations/c1/cidr" 10.0.16.0/26 "the child pool's allocation stays"
expect_file_eq "$MNT/scopes/net/pools/p/tags/k" v "the scope's pool stays"

# the reasons name rmdir; every refusal is in /errors
t rm -rf "$TOP/allocations/web" 2>/dev/null
expect_match "$(t grep -F 'allocations/web/cidr' "$MNT/errors" | tail -n 1)" \
	"EPERM: only tags can be removed; .rmdir scopes/private/pools/top/allocations/web. releases the allocation" \
	"rm -r allocations/web: /errors says to use rmdir"
t rm -rf "$TOP" 2>/dev/null
expect_match "$(t grep -F 'pools/top/tags/env' "$MNT/errors" | tail -n 1)" \
	"unlink scopes/private/pools/top/tags/env EPERM: rm -r removes nothing inside 'scopes/private/pools/top': an object is removed whole with rmdir" \
	"rm -rf pool: the tag's unlink is refused, naming rmdir"
out=$(t rm -r "$TOP/allocations/web" 2>&1)
expect_match "$out" "Operation not permitted" "rm -r allocations/web prints EPERM"

# rm -r of an object's tags/ directory removes its tags (that is what it
# asks), and plain rm of a tag works from another process right after
expect_ok t rm "$TOP/tags/team"
expect_fail t test -e "$TOP/tags/team"
expect_ok t rm -f "$RES/tags/env"
expect_fail t test -e "$RES/tags/env"

# plain rmdir stays safe: refused while the pool holds anything
expect_errno "ENOTEMPTY|EBUSY" rmdir "$TOP"
expect_ok t test -d "$TOP/allocations/web"
# rmdir works on what is removable
expect_ok rmdir "$TOP/allocations/web"
expect_ok rmdir "$RES"
expect_fail t test -e "$RES"
expect_ok rmdir "$CHILD/allocations/c1"
expect_ok t bash -c 'echo -10.0.16.0/20 > "$1"' x "$CHILD/cidrs"
expect_ok rmdir "$CHILD"

finish
