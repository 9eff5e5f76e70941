#!/bin/bash
# 90-prefix-lists: SPEC §8.1, prefix-list resolvers (L1018-L1218).
#  - mkdir/rmdir, id, tags, a resolver without rules makes empty versions (L1068);
#  - the guide's tutorial: "include all VPCs tagged env=prod", version 1 ->
#    2 when vpc-prod-api appears (L1153-L1170); tags, regions and owners
#    followed in the same change; adjacent CIDRs are kept apart as the guide
#    lists them, contained ones are left out;
#  - rule lines refused whole with the line named; 99 rules at most;
#  - `version` grows only when the set changes; versions/<n> keep the last
#    10 sets, each equal to what `entries` showed then;
#  - pool rules follow allocations; a random walk of allocations, releases
#    and static rules checked after every step against python3's ipaddress
#    (the oracle: distinct CIDRs inside no other);
#  - targets: format, desired version (latest / pinned), state; a pinned
#    version outlives the 10 kept; sync disabled keeps the set and takes
#    hand edits (validated, refused whole), enabled tracks again (Step 4,
#    L1216-L1218); metrics in /metrics/ipam.prom.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"

mount_ipamfs
# the fed VPC below is in us-east-1: IPAM monitors operating regions only
expect_ok wrf "$MNT/ipam/operating-locales" 'local\nus-east-1\n'
PL=$MNT/prefix-lists
F=$PL/fw

expect_ok mkdir "$F"
expect_match "$(rd "$F/id")" '^ipam-prefix-list-resolver-[0-9a-f]{17}$' "id"
expect_file_eq "$F/address-family" ipv4
expect_file_eq "$F/version" 1 "a new resolver is at version 1"
expect_file_empty "$F/entries" "no rules: empty entries (L1068)"
expect_eq "$(t ls "$F/versions" | tr '\n' ' ')" "1 " "versions/ holds 1"
expect_file_empty "$F/versions/1" "version 1 is empty"
expect_json "$F/entries.json" '.Entries | length' 0
expect_errno_kernel EEXIST mkdir "$F"
fid=$(rd "$F/id")
expect_match "$(t readlink "$MNT/by-id/$fid")" "prefix-lists/fw$" "by-id links the resolver"
expect_eq "$(t cat "$MNT/by-id/$fid/version")" 1 "... and leads to it"
expect_ok wr "$F/tags/team" netops
expect_file_eq "$F/tags/team" netops "a tag"
expect_eq "$(t ls "$F/tags")" team "ls tags/"
expect_ok t rm "$F/tags/team"
expect_eq "$(t ls "$F/tags" | wc -l)" 0 "rm tags/KEY removes it"

# ---- the guide's tutorial: VPCs tagged env=prod ----
mkres private vpc-prod-web locale=us-east-1 owner=111122223333
addcidr "$RES" 10.1.0.0/16
expect_ok wr "$RES/tags/env" prod
mkres private vpc-prod-db locale=us-east-1 owner=111122223333
addcidr "$RES" 10.2.0.0/16
expect_ok wr "$RES/tags/env" prod
mkres private vpc-dev locale=us-west-2 owner=444455556666
addcidr "$RES" 10.9.0.0/16
expect_ok wr "$RES/tags/env" dev
mkres private subnet-prod locale=us-east-1 owner=111122223333
addcidr "$RES" 10.1.1.0/24
expect_ok wr "$RES/tags/env" prod

expect_ok wr "$F/rules" "resource private vpc tag:env=prod"
expect_file_eq "$F/rules" "resource private vpc tag:env=prod"
expect_eq "$(rd "$F/entries")" $'10.1.0.0/16\n10.2.0.0/16' \
	"version 2 of the guide: the two prod VPCs"
expect_file_eq "$F/version" 2
mkres private vpc-prod-api locale=us-east-1 owner=111122223333
addcidr "$RES" 10.3.0.0/16
expect_file_eq "$F/version" 2 "an untagged VPC changes nothing"
expect_ok wr "$RES/tags/env" prod
expect_eq "$(rd "$F/entries")" $'10.1.0.0/16\n10.2.0.0/16\n10.3.0.0/16' \
	"the new prod VPC is in, 10.2/16 and 10.3/16 kept apart (L1166)"
expect_file_eq "$F/version" 3 "the tag made version 3"
expect_eq "$(rd "$F/versions/2")" $'10.1.0.0/16\n10.2.0.0/16' \
	"versions/2 is still the guide's version 1 set"
expect_json "$F/entries.json" '[.Entries[].Cidr] | join(",")' \
	"10.1.0.0/16,10.2.0.0/16,10.3.0.0/16"
expect_json "$F/entries.json" '.Version' 3
V=$MNT/scopes/private/resources
expect_ok wr "$V/vpc-prod-api/tags/env" dev
expect_eq "$(rd "$F/entries")" $'10.1.0.0/16\n10.2.0.0/16' \
	"a retagged VPC leaves in the same change"
expect_file_eq "$F/version" 4

# ---- conditions: region, owner, not-equals, cidr ----
expect_ok wr "$F/rules" "resource private vpc region!=us-east-1"
expect_file_eq "$F/entries" 10.9.0.0/16 "region!= selects the us-west-2 VPC"
expect_ok wr "$F/rules" "resource private vpc owner=111122223333 cidr!=10.2.0.0/16"
expect_eq "$(rd "$F/entries")" $'10.1.0.0/16\n10.3.0.0/16' "owner= and cidr!="
expect_ok wr "$F/rules" "resource private subnet tag:env=prod"
expect_file_eq "$F/entries" 10.1.1.0/24 "a subnet rule"
expect_ok wr "$V/subnet-prod/locale" eu-west-1
expect_ok wr "$F/rules" "resource private subnet region=eu-west-1"
expect_file_eq "$F/entries" 10.1.1.0/24 "a region change is followed"
expect_ok wr "$V/subnet-prod/locale" us-east-1
expect_file_empty "$F/entries" "... both ways"
wrf "$F/rules" 'resource private vpc tag:env=prod\nresource private subnet tag:env=prod\n'
expect_eq "$(rd "$F/entries")" $'10.1.0.0/16\n10.2.0.0/16' \
	"a subnet inside a listed VPC is left out"
expect_ok t rmdir "$V/vpc-prod-web"
expect_eq "$(rd "$F/entries")" $'10.1.1.0/24\n10.2.0.0/16' \
	"the VPC gone, the subnet it held is listed"

# ---- a fed resource: its tags follow each snapshot ----
feed() { # ENV: one snapshot with vpc-fed tagged env=ENV
	printf '{"ResourceId":"vpc-fed","ResourceType":"vpc","ResourceCidr":"10.77.0.0/16","ResourceRegion":"us-east-1","ResourceOwnerId":"111122223333","ResourceTags":{"env":"%s"}}\n' "$1" > "$TMPD/snap"
	t cp "$TMPD/snap" "$MNT/discoveries/default/feed"
}
expect_ok feed prod
expect_match "$(rd "$F/entries")" "10.77.0.0/16" "a fed VPC tagged prod is in"
expect_ok feed dev
expect_eq "$(rd "$F/entries" | grep -c 10.77.0.0/16)" 0 "the next snapshot retags it: out"

# ---- version grows only when the set changes ----
v=$(rd "$F/version")
wrf "$F/rules" 'resource private subnet tag:env=prod\nresource private vpc tag:env=prod\n'
expect_file_eq "$F/version" "$v" "the same set from other rules: no new version"
expect_ok wr "$F/description" "prod networks"
expect_file_eq "$F/version" "$v" "a description: no new version"

# ---- refusals ----
before=$(rd "$F/rules")
expect_errno EINVAL wrf "$F/rules" 'static 192.168.0.0/24\nstatic 10.0.0.1/8\n'
expect_match "$(t tail -n 1 "$MNT/errors")" "line 2: " "/errors names line 2"
expect_errno EINVAL wrf "$F/rules" 'bogus private\n'
expect_match "$(t tail -n 1 "$MNT/errors")" "line 1: unknown rule type 'bogus'" "unknown rule type"
expect_errno EINVAL wr "$F/rules" "pool nosuchscope"
expect_errno EINVAL wr "$F/rules" "pool private owner=1"
expect_errno EINVAL wr "$F/rules" "resource private toaster"
expect_errno EINVAL wr "$F/rules" "resource private vpc region=mars/1"
expect_errno EINVAL wr "$F/rules" "pool private pool-id=ipam-pool-00000000000000000"
expect_errno EINVAL wr "$F/rules" "static 2001:db8::/32"
expect_errno EINVAL wr "$F/rules" "static 10.0.0.0/8 extra"
seq 1 100 | awk '{ print "static 10.0.0.0/" 8 + NR % 25 }' > "$TMPD/r100"
expect_errno EDQUOT wr_file "$F/rules" "$TMPD/r100"
expect_file_eq "$F/rules" "$before" "refused writes changed nothing"
head -n 99 "$TMPD/r100" > "$TMPD/r99"
expect_ok wr_file "$F/rules" "$TMPD/r99"
expect_file_eq "$F/entries" 10.0.0.0/8 "99 nested rules: the outermost only"

# ---- >> adds a rule, > replaces them (set file) ----
expect_ok wr "$F/rules" "static 172.16.0.0/12"
echo "static 192.168.0.0/16" >> "$F/rules"
expect_eq "$(rd "$F/rules")" $'static 172.16.0.0/12\nstatic 192.168.0.0/16' ">> adds a rule"
expect_eq "$(rd "$F/entries")" $'172.16.0.0/12\n192.168.0.0/16' "... and its CIDR"

# ---- pool rules: a random walk against python3's ipaddress ----
mkpool private top 10.0.0.0/16
TOP=$POOL
mkpool private top/pools/kid 10.0.64.0/18
KID=$POOL
kid=$(idof "$KID")
P=$PL/pools
expect_ok mkdir "$P"
oracle() { # the distinct CIDRs of stdin inside no other, sorted
	python3 -c '
import ipaddress, sys
nets = {ipaddress.ip_network(l.strip()) for l in sys.stdin if l.strip()}
keep = [n for n in nets if not any(o != n and n.subnet_of(o) for o in nets)]
print("\n".join(str(n) for n in sorted(keep)))'
}
inputs() { # what the rules of $P match now
	sed -n 's/^static //p' "$TMPD/static"
	t cat "$TOP"/allocations/*/cidr "$KID"/allocations/*/cidr 2>/dev/null
}
: > "$TMPD/static"
RANDOM=90
walk_ok=0
for step in $(seq 1 30); do
	case $((RANDOM % 4)) in
	0 | 1)
		wr "$KID/allocate" "a$step /$((22 + RANDOM % 7))" >/dev/null 2>&1 ||
			wr "$TOP/allocate" "a$step /$((20 + RANDOM % 9))" >/dev/null 2>&1
		;;
	2)
		victim=$(t ls "$KID/allocations" | shuf -n 1 --random-source=<(yes $step))
		[ -n "$victim" ] && t rmdir "$KID/allocations/$victim"
		;;
	3)
		for i in 1 2 3; do
			echo "static 10.0.$((RANDOM % 128)).0/$((17 + RANDOM % 8))" |
				python3 -c 'import ipaddress,sys; w=sys.stdin.read().split(); print(w[0], ipaddress.ip_network(w[1], strict=False))'
		done > "$TMPD/static"
		printf 'pool private\n' >> "$TMPD/static"
		wr_file "$P/rules" "$TMPD/static" || echo "Bail out! rules"
		;;
	esac
	[ -s "$TMPD/static" ] || { printf 'pool private\n' > "$TMPD/static"; wr_file "$P/rules" "$TMPD/static"; }
	want=$(inputs | oracle)
	got=$(rd "$P/entries")
	if [ "$got" != "$want" ]; then
		expect_eq "$got" "$want" "random walk step $step"
		walk_ok=1
		break
	fi
done
[ $walk_ok = 0 ] && ok "30 random steps: entries = python3 oracle after each"
expect_ok wr "$P/rules" "pool private pool-id=$kid"
want=$(t cat "$KID"/allocations/*/cidr 2>/dev/null | oracle)
expect_eq "$(rd "$P/entries")" "$want" "pool-id= takes only that pool's allocations"
expect_ok wr "$KID/allocate" "fresh 10.0.127.0/28"
expect_match "$(rd "$P/entries")" "10.0.127.0/28" "a new allocation is in at once"
expect_ok t rmdir "$KID/allocations/fresh"
expect_eq "$(rd "$P/entries" | grep -c 10.0.127.0/28)" 0 "its release takes it out"

# ---- change times (SPEC principle 12): the list's files move with it ----
mtime() { t stat -c %.9Y "$1"; }
later() { [ "$(echo "$1 > $2" | bc)" = 1 ]; }
m0=$(mtime "$P/entries")
d0=$(mtime "$P")
o0=$(mtime "$F/entries")
expect_ok wr "$P/rules" "pool private pool-id=$kid
static 192.0.2.0/24"
m1=$(mtime "$P/rules")
later "$m1" "$m0" && ok "a rules write moves rules' mtime ($m0 -> $m1)" || not_ok "rules mtime stayed $m0 -> $m1"
expect_eq "$(mtime "$P")" "$m1" "... and the list directory's"
expect_eq "$(mtime "$F/entries")" "$o0" "another list keeps its time"
t touch -d @0 "$TMPD/plstamp" && t touch "$TMPD/plstamp"
sleep 0.01
expect_ok wr "$KID/allocate" "late 10.0.127.0/28"
m2=$(mtime "$P/entries")
later "$m2" "$m1" && ok "an allocation entering entries moves its mtime ($m1 -> $m2)" || not_ok "entries mtime stayed $m1 -> $m2"
newer=$(cd "$MNT" && t find prefix-lists -newer "$TMPD/plstamp" | sort)
expect_eq "$(grep -cx "prefix-lists/pools/entries" <<<"$newer")" 1 "find -newer sees the list's entries"
expect_eq "$(grep -c "^prefix-lists/fw" <<<"$newer")" 0 "find -newer sees nothing of an untouched list"
expect_ok t rmdir "$KID/allocations/late"
later "$(mtime "$P/version")" "$m2" && ok "the release moves it again" || not_ok "release left the mtime at $m2"

# ---- the last 10 versions, each as it was ----
R=$PL/hist
expect_ok mkdir "$R"
expect_ok wr "$R/rules" "pool private pool-id=$(idof "$TOP")"
declare -A seen
for i in $(seq 1 12); do
	wr "$TOP/allocate" "h$i 10.0.$((200 + i)).0/24" >/dev/null
	seen[$(rd "$R/version")]=$(rd "$R/entries")
done
last=$(rd "$R/version")
expect_eq "$(t ls "$R/versions" | sort -n | tr '\n' ' ')" \
	"$(seq $((last - 9)) "$last" | tr '\n' ' ')" "versions/ keeps the last 10"
bad=0
for v in $(seq $((last - 9)) "$last"); do
	[ "$(rd "$R/versions/$v")" == "${seen[$v]}" ] || bad=$v
done
expect_eq "$bad" 0 "each kept version reads as entries did then"
expect_fail rd "$R/versions/$((last - 10))"
expect_fail rd "$R/versions/0$last"

# ---- targets ----
T=$R/targets/edge
expect_ok mkdir "$T"
expect_file_eq "$T/format" entries
expect_file_eq "$T/desired-version" latest
expect_file_eq "$T/version" "$last"
expect_file_eq "$T/state" in-sync
expect_eq "$(rd "$T/entries")" "$(rd "$R/entries")" "a latest target serves entries"
pin=$((last - 5))
expect_ok wr "$T/desired-version" "$pin"
expect_file_eq "$T/state" behind-latest
expect_eq "$(rd "$T/entries")" "${seen[$pin]}" "a pinned target serves its version"
expect_ok wr "$T/format" json
expect_json "$T/entries" '.Version' "$pin"
expect_errno EINVAL wr "$T/format" xml
expect_errno EINVAL wr "$T/desired-version" 999
expect_errno EINVAL wr "$T/desired-version" "$((last - 10))"
for i in $(seq 13 24); do
	wr "$TOP/allocate" "h$i 10.0.$((200 + i)).0/24" >/dev/null
done
expect_match "$(t ls "$R/versions" | sort -n | head -n 1)" "^$pin\$" \
	"a pinned version is kept past the last 10"
expect_json "$T/entries" '[.Entries[].Cidr] | join(" ")' "$(echo ${seen[$pin]})"
expect_ok wr "$T/desired-version" latest
expect_file_eq "$T/state" in-sync
expect_eq "$(t ls "$R/versions" | wc -l)" 10 "unpinned: back to 10 kept"

# ---- sync (Step 4, L1216-L1218): off, edited by hand, on again ----
expect_file_eq "$T/sync" enabled
expect_errno EPERM wr "$T/entries" 192.0.2.0/24
expect_ok wr "$T/format" entries
latest=$(rd "$R/entries")
expect_ok wr "$T/sync" disabled
expect_file_eq "$T/sync" disabled
expect_file_eq "$T/state" sync-disabled
expect_file_eq "$T/version" "$(rd "$R/version")"
expect_eq "$(rd "$T/entries")" "$latest" "sync off: it keeps what it served"
expect_ok wrf "$T/entries" '198.51.100.0/24
10.9.0.0/16
10.9.0.0/16
'
expect_eq "$(rd "$T/entries" | tr '\n' ' ')" "10.9.0.0/16 198.51.100.0/24 " \
	"a hand edit: sorted, each CIDR once"
expect_ok t bash -c "echo 192.0.2.0/24 >> '$T/entries'"
expect_eq "$(rd "$T/entries" | tr '\n' ' ')" \
	"10.9.0.0/16 192.0.2.0/24 198.51.100.0/24 " "'>>' adds"
wr "$TOP/allocate" "s1 10.0.250.0/24" >/dev/null
expect_eq "$(rd "$T/entries" | tr '\n' ' ')" \
	"10.9.0.0/16 192.0.2.0/24 198.51.100.0/24 " \
	"the resolver moves on; the hand-edited target does not"
before=$(rd "$T/entries")
# hostile: each refused whole, the entries unchanged
expect_errno EINVAL wrf "$T/entries" '10.9.0.0/16
10.0.0.1/8
'
expect_errno EINVAL wrf "$T/entries" '10.9.0.0/16
10.0.0.0/33
'
expect_errno EINVAL wrf "$T/entries" '010.1.0.0/16
'
expect_errno EINVAL wrf "$T/entries" '10.9.0.0/16 junk
'
expect_errno EINVAL wrf "$T/entries" '2001:db8::/32
'
expect_errno EINVAL wrf "$T/entries" '10.9.0.0/16
10.9.4.0/24
'
expect_errno EINVAL wrf "$T/entries" 'static 10.0.0.0/8
'
expect_errno EINVAL wrf "$T/entries" '\xff\xfe/24
'
expect_errno EINVAL wr "$T/sync" maybe
expect_errno EINVAL wr "$T/sync" ''
expect_ok wr "$T/format" nft
expect_errno EINVAL wr "$T/entries" 10.1.0.0/16
expect_match "$(rd "$T/entries")" 'pl_hist' "nft of the hand-edited set"
expect_ok wr "$T/format" entries
expect_eq "$(rd "$T/entries")" "$before" "refused edits changed nothing"
expect_match "$(rd "$MNT/export.json")" \
	'"Sync":false,"Entries":\["10.9.0.0/16","192.0.2.0/24","198.51.100.0/24"\]' \
	"export.json carries the hand edits"
expect_ok wr "$T/sync" enabled
expect_file_eq "$T/state" in-sync
expect_eq "$(rd "$T/entries")" "$(rd "$R/entries")" "sync on: the resolver's again"
expect_match "$(rd "$MNT/events")" 'modify-ipam-prefix-list-resolver-target' \
	"sync changes are events"
expect_ok t rmdir "$T"
expect_errno_kernel ENOENT rd "$T/state"

# ---- metrics, whole-tree readers, removal ----
n=$(rd "$R/entries" | wc -l)
id=$(idof "$R")
expect_match "$(rd "$MNT/metrics/ipam.prom")" \
	"ipam_prefix_list_resolver_entries\\{prefix_list_resolver_id=\"$id\",name=\"hist\",address_family=\"ipv4\"\\} $n" \
	"metrics: entries"
expect_match "$(rd "$MNT/metrics/ipam.prom")" \
	"ipam_prefix_list_resolver_version\\{prefix_list_resolver_id=\"$id\",[^}]*\\} $(rd "$R/version")" \
	"metrics: version"
rd "$MNT/metrics/ipam.prom" > "$TMPD/ipam.prom"
out=$(promtool check metrics < "$TMPD/ipam.prom" 2>&1)
expect_eq "$?" 0 "promtool check metrics accepts the resolver metrics"
[ -n "$out" ] && diag "$out"
expect_ok t tar cf /dev/null -C "$MNT" prefix-lists
expect_ok t rmdir "$R"
expect_errno_kernel ENOENT rd "$R/entries"
finish
