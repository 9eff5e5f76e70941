#!/bin/bash
# 93-planning: SPEC §8.5, the guide's tutorial "Plan VPC IP address space for
# subnet IP allocations" (L8859-L8985) end to end, with the refusals it
# implies (docs/design/planning.md):
#  - Step 1: a VPC with a manually allocated 10.0.0.0/20, discovered
#    (fed as a discovery snapshot);
#  - Step 2: a resource planning pool: source-resource = the VPC, locale and
#    family from the VPC, its CIDR inside the VPC's (python's ipaddress is the
#    oracle), SourceResource in pool.json; it may overlap the scope's ordinary
#    pools but not another planning pool of the same VPC;
#  - Step 3: dev and prod subnet pools inherit family, planning and locale;
#  - Step 4: subnets take /28s by pool and netmask ("IPAM-allocated"), appear
#    beneath their pools, are managed and compliance-checked (tags, locale,
#    netmask, their VPC); only subnets of that VPC, only from such pools;
#  - Step 5: the clean-up order: the VPC cannot go (or lose the CIDR) while
#    a planning pool plans it; cascade delete removes the planning pool and
#    its subnet pools and leaves the subnets with their CIDRs, unmanaged;
#    then the subnets, then the VPC. Events and history follow every step.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"

mount_ipamfs
S=$MNT/scopes/private
expect_ok wrf "$MNT/ipam/operating-locales" 'local\nus-east-1\nus-west-2\n'
VPC=vpc-0a1b2c3d4e5f60001
DEVSN=subnet-0d0000000000000d1
PRODSN=subnet-0d0000000000000d2

# the scope's ordinary plan: a top-level pool holding all of 10.0.0.0/8
mkpool private top 10.0.0.0/8

# ---- Step 1: a VPC with a manually allocated CIDR, discovered (L8906)
feed_text '{"ResourceId":"'$VPC'","ResourceType":"vpc","ResourceCidr":"10.0.0.0/20","ResourceRegion":"us-east-1","ResourceOwnerId":"123456789012","ResourceTags":[{"Key":"Name","Value":"tutorial-vpc"}]}' \
	"$MNT/discoveries/default/feed"
check $? "the tutorial VPC is fed to the default discovery"
V=$S/resources/$VPC
expect_file_eq "$V/cidrs" 10.0.0.0/20 "the VPC is discovered with 10.0.0.0/20"
expect_file_eq "$V/name" tutorial-vpc "its Name tag"
expect_rstatus4 "$V" 10.0.0.0/20 "unmanaged unmanaged nonoverlapping -"

# ---- Step 2: the resource planning pool
P=$S/pools/resource-planning-pool
expect_ok mkdir "$P"
expect_ok wr "$P/tags/Name" Resource-planning-pool
expect_eq "$(rd "$P/source-resource")" "" "a new pool plans within the scope (empty line)"
expect_errno ENOENT wr "$P/source-resource" vpc-0ffffffffffffffff
expect_errno EINVAL wr "$P/source-resource" subnet-0d0000000000000d1
expect_errno EINVAL wr "$P/source-resource" "$(printf 'vpc-\001x')"
expect_ok wr "$P/source-resource" "$VPC"
expect_file_eq "$P/source-resource" "$VPC" "Plan IP space within a VPC (L8921)"
expect_file_eq "$P/locale" us-east-1 "the planning pool takes the VPC's locale"
expect_file_eq "$P/address-family" ipv4 "... and its address family"
expect_file_eq "$P/source" scope "its source is the IPAM scope (L8919)"
# the CIDR must lie in the VPC's (L8922)
expect_errno EADDRNOTAVAIL wr "$P/cidrs" 10.0.16.0/20
expect_errno EADDRNOTAVAIL wr "$P/cidrs" 10.0.0.0/19
expect_errno EINVAL wr "$P/cidrs" 10.0.0.0/33
expect_errno EINVAL wr "$P/cidrs" 10.0.0.1/20
expect_ok wr "$P/cidrs" 10.0.0.0/20
expect_file_eq "$P/cidrs" 10.0.0.0/20 "the VPC's CIDR is provisioned to the planning pool"
expect_json "$P/cidrs.json" '.IpamPoolCidrs | map(.Cidr + " " + .State) | join(",")' "10.0.0.0/20 provisioned"
expect_json "$P/pool.json" '.IpamPools[0].SourceResource | [.ResourceId, .ResourceType, .ResourceRegion, .ResourceOwner] | join(" ")' \
	"$VPC vpc us-east-1 123456789012"
expect_json "$S/pools/top/pool.json" '.IpamPools[0] | has("SourceResource")' false
expect_errno EPERM wr "$P/source-resource" ""
# "Each CIDR can be assigned to one pool at a time" (L8886); the planning
# pool overlaps the scope's ordinary pool `top`, which is allowed
P2=$S/pools/second-planning-pool
expect_ok mkdir "$P2"
expect_ok wr "$P2/source-resource" "$VPC"
expect_errno EADDRINUSE wr "$P2/cidrs" 10.0.8.0/21
expect_match "$(errors_last)" "one pool at a time" "the reason names the rule"
expect_ok rmdir "$P2"
# an ordinary top-level pool still may not overlap `top`
expect_ok mkdir "$S/pools/other"
expect_errno EADDRINUSE wr "$S/pools/other/cidrs" 10.0.0.0/20
expect_ok rmdir "$S/pools/other"

# ---- Step 3: subnet pools inherit family, planning and locale (L8939)
DEV=$P/pools/dev-subnet-pool
PROD=$P/pools/prod-subnet-pool
expect_ok mkdir "$DEV"
expect_ok mkdir "$PROD"
for sp in "$DEV" "$PROD"; do
	expect_file_eq "$sp/address-family" ipv4 "$(_describe "$sp") inherits the family"
	expect_file_eq "$sp/locale" us-east-1 "$(_describe "$sp") inherits the locale"
	expect_file_eq "$sp/source-resource" "$VPC" "$(_describe "$sp") inherits the planning"
	expect_errno EPERM wr "$sp/source-resource" ""
done
expect_ok wr "$DEV/tags/Name" dev-subnet-pool
expect_ok wr "$PROD/tags/Name" prod-subnet-pool
expect_ok wr "$DEV/cidrs" 10.0.0.0/24
# the guide's "10.0.0.1/24" (L8878) has host bits set: the next /24 it is
expect_errno EINVAL wr "$PROD/cidrs" 10.0.0.1/24
expect_ok wr "$PROD/cidrs" 10.0.1.0/24
expect_errno EADDRNOTAVAIL wr "$PROD/cidrs" 10.0.16.0/24
expect_json "$DEV/pool.json" '.IpamPools[0] | [.SourceIpamPoolId, (has("SourceResource"))] | map(tostring) | join(" ")' \
	"$(idof "$P") false"
DEV_ID=$(idof "$DEV")
PROD_ID=$(idof "$PROD")

# ---- Step 4: subnets take CIDRs from the subnet pools (L8951-L8963)
mkres private "$DEVSN" vpc-id=$VPC locale=us-east-1 name=tutorial-subnet
D=$RES
mkres private "$PRODSN" vpc-id=$VPC locale=us-east-1 name=tutorial-subnet-prod
PR=$RES
expect_ok wr "$PR/tags/env" prod
expect_ok wr "$D/allocate" "$DEV_ID /28"
expect_file_eq "$D/cidrs" 10.0.0.0/28 "the dev subnet gets the dev pool's first /28"
expect_ok wr "$PR/allocate" "$PROD_ID /28"
expect_file_eq "$PR/cidrs" 10.0.1.0/28 "the prod subnet gets the prod pool's first /28"
expect_rstatus4 "$D" 10.0.0.0/28 "managed compliant - $DEV_ID"
expect_rstatus4 "$PR" 10.0.1.0/28 "managed compliant - $PROD_ID"
# the oracle: every subnet CIDR lies in its VPC's
for c in 10.0.0.0/28 10.0.1.0/28; do
	python3 -c 'import ipaddress,sys; sys.exit(0 if ipaddress.ip_network(sys.argv[1]).subnet_of(ipaddress.ip_network(sys.argv[2])) else 1)' "$c" 10.0.0.0/20
	check $? "$c lies inside the VPC's 10.0.0.0/20 (python ipaddress)"
done
# the subnets appear beneath their subnet pools (L8963)
expect_json "$DEV/allocations.json" '.IpamPoolAllocations | map([.Cidr, .ResourceType, .ResourceId, .ResourceRegion] | join(" ")) | join(",")' \
	"10.0.0.0/28 subnet $DEVSN us-east-1"
expect_file_eq "$DEV/allocations/$DEVSN/resource-type" subnet "allocations/<subnet> in the dev pool"
expect_json "$S/resources.json" '.IpamResourceCidrs | map(select(.ResourceId == "'$DEVSN'")) | .[0] | [.ResourceCidr, .ManagementState, .ComplianceStatus, .IpamPoolId, .VpcId] | join(" ")' \
	"10.0.0.0/28 managed compliant $DEV_ID $VPC"
expect_eq "$(status_get "$DEV" assigned-addresses) $(status_get "$P" allocated-to-pools-addresses)" "16 512" \
	"the dev pool assigns 16 addresses; the planning pool gave 512 to its subnet pools"
# the VPC is not made overlapping by its subnets
expect_rstatus4 "$V" 10.0.0.0/20 "unmanaged unmanaged nonoverlapping -"

# refusals: only subnets, only of that VPC, only from planning pools, rules
mkres private subnet-0d0000000000000d3 locale=us-east-1
expect_errno EINVAL wr "$RES/allocate" "$DEV_ID /28"
expect_match "$(errors_last)" "in no VPC: pool 'dev-subnet-pool' plans the space of VPC '$VPC'" "a subnet needs its vpc-id"
expect_ok wr "$RES/vpc-id" vpc-0ffffffffffffffff
expect_errno EINVAL wr "$RES/allocate" "$DEV_ID /28"
expect_ok wr "$RES/vpc-id" "$VPC"
expect_ok wr "$RES/locale" us-west-2
expect_errno EINVAL wr "$RES/allocate" "$DEV_ID /28"
expect_match "$(errors_last)" "locale 'us-west-2'" "the locale rule holds for subnets"
expect_ok wr "$RES/locale" us-east-1
expect_errno EINVAL wr "$RES/allocate" "$(idof "$S/pools/top") /28"
expect_match "$(errors_last)" "subnets from pools that plan their VPC's space" "a subnet takes no CIDR from an ordinary pool"
expect_errno EINVAL wr "$V/allocate" "$DEV_ID /28"
expect_match "$(errors_last)" "only its subnets get CIDRs from it, not a vpc" "a VPC takes no CIDR from a planning pool"
expect_ok wr "$PROD/allocation-resource-tags" env=prod
expect_errno EINVAL wr "$RES/allocate" "$PROD_ID /28"
expect_match "$(errors_last)" "missing one or more of the resource tags" "the tag rule holds for subnets (L4298)"
expect_ok wr "$DEV/allocation-min-netmask-length" 27
expect_errno EINVAL wr "$RES/allocate" "$DEV_ID /26"
expect_errno EADDRINUSE wr "$RES/allocate" "$DEV_ID 10.0.0.0/28"
expect_eq "$(t cat "$RES/cidrs")" "" "nothing was allocated to the refused subnet"
expect_ok rmdir "$RES"
# compliance follows the subnet: a tag removed, a vpc-id changed
expect_ok t rm "$PR/tags/env"
expect_rstatus "$PR" 10.0.1.0/28 "managed noncompliant - $PROD_ID - missing required tag 'env=prod'"
expect_eq "$(status_get "$PROD" noncompliant-resource-cidrs)" 1 "the prod pool counts it noncompliant"
expect_ok wr "$PR/tags/env" prod
expect_rstatus4 "$PR" 10.0.1.0/28 "managed compliant - $PROD_ID"
expect_ok wr "$D/vpc-id" vpc-0ffffffffffffffff
expect_match "$(rstatus "$D" 10.0.0.0/28)" "managed noncompliant - $DEV_ID .* vpc-id 'vpc-0ffffffffffffffff' is not VPC '$VPC'" \
	"a subnet moved to another VPC is noncompliant"
expect_ok wr "$D/vpc-id" "$VPC"
expect_rstatus4 "$D" 10.0.0.0/28 "managed compliant - $DEV_ID"
# SubnetIPUsage (L8967): 13 of the /28's 16 addresses
expect_ok wr "$D/ip-usage" 13
expect_match "$(t grep "resource_id=\"$DEVSN\"" "$MNT/metrics/ipam.prom")" "} 0[.]8125$" "SubnetIPUsage of the dev subnet is 0.8125 (13 of 16)"

# the plan goes into /export.json (checked through a round trip at the end)
E1=$TMPD/e1.json
rd "$MNT/export.json" >"$E1"
expect_ok jq -e --arg vpc "$VPC" '.IpamPools[] | select(.Name == "resource-planning-pool") | .SourceResource == {"ResourceId": $vpc, "ResourceType": "vpc"}' "$E1"
expect_ok jq -e '[.IpamPools[] | select(has("SourceResource"))] | length == 1' "$E1"
expect_ok jq -e --arg dev "$DEV_ID" '.IpamResources[] | select(.ResourceId == "'$DEVSN'") | .ResourceCidrs == [{"ResourceCidr": "10.0.0.0/28", "ManagementState": "managed", "IpamPoolId": $dev, "IpamPoolAllocationId": .ResourceCidrs[0].IpamPoolAllocationId}]' "$E1"

# ---- Step 5: clean-up (L8969-L8984)
expect_errno EBUSY rmdir "$V"
expect_match "$(errors_last)" "resource planning pool 'resource-planning-pool' plans its space" "the VPC goes after its planning pool"
expect_errno EBUSY wr "$V/cidrs" -10.0.0.0/20
expect_errno ENOTEMPTY rmdir "$P"
expect_errno EINVAL wr "$P/delete" yes
expect_file_eq "$P/cidrs" 10.0.0.0/20 "a refused delete changes nothing"
ev0=$(t cat "$MNT/events" | wc -l)
expect_ok wr "$P/delete" cascade
absent "$P" "cascade delete removes the planning pool"
absent "$DEV" "... and its subnet pools"
expect_eq "$(t ls "$S/pools")" top "only the ordinary pool is left"
expect_file_eq "$D/cidrs" 10.0.0.0/28 "the dev subnet keeps its CIDR (L8979)"
expect_file_eq "$PR/cidrs" 10.0.1.0/28 "the prod subnet keeps its CIDR"
expect_rstatus4 "$D" 10.0.0.0/28 "- - - -"
expect_json "$S/resources.json" '.IpamResourceCidrs | map(select(.ResourceId == "'$DEVSN'")) | .[0] | has("IpamPoolId")' false
evs=$(t cat "$MNT/events" | tail -n +$((ev0 + 1)))
expect_eq "$(jq -r .action <<<"$evs" | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')" \
	"delete-ipam-pool=3 delete-ipam-pool-cascade=1 deprovision-ipam-pool-cidr=3 modify-ipam-resource-cidr=2 release-ipam-pool-allocation=4 " \
	"the cascade logs every object it removes"
# history: the dev subnet's managed record ended, an unmanaged one began
expect_json "$S/history/10.0.0.0_28.json" '.HistoryRecords | map(select(.ResourceId == "'$DEVSN'")) | map((.ResourceComplianceStatus // "-") + "/" + (if .SampledEndTime then "ended" else "active" end)) | sort | join(",")' \
	"-/active,compliant/ended,compliant/ended,noncompliant/ended"
expect_ok rmdir "$D"
expect_ok rmdir "$PR"
expect_ok rmdir "$V"
absent "$V" "the VPC goes last"
expect_eq "$(status_get "$S/pools/top" available-addresses)" 16777216 "the ordinary pool never lent any of it"

# ---- export -> import into an empty IPAM -> export is byte-identical
DB=$TMPD/b.db MNT=$TMPD/b
mkdir "$MNT"
start_ipamfs
t cp "$E1" "$MNT/import"
check $? "the planned IPAM imports into an empty one"
rd "$MNT/export.json" >"$TMPD/e2.json"
cmp -s "$E1" "$TMPD/e2.json"
check $? "export -> import -> export is byte-identical"
diff "$E1" "$TMPD/e2.json" | head -10 | while IFS= read -r l; do diag "$l"; done
B=$MNT/scopes/private
expect_rstatus4 "$B/resources/$DEVSN" 10.0.0.0/28 "managed compliant - $DEV_ID"
expect_file_eq "$B/pools/resource-planning-pool/pools/dev-subnet-pool/source-resource" "$VPC" "the imported subnet pool inherits the VPC"
# an import whose planning pool holds space outside its VPC is refused whole
jq '(.IpamResources[] | select(.ResourceId == "'$VPC'") | .ResourceCidrs) = [{"ResourceCidr": "10.0.0.0/21", "ManagementState": "unmanaged"}]' "$E1" >"$TMPD/bad.json"
DB=$TMPD/c.db MNT=$TMPD/c
mkdir "$MNT"
start_ipamfs
expect_errno EADDRNOTAVAIL t cp "$TMPD/bad.json" "$MNT/import"
expect_match "$(errors_last)" "not inside a CIDR of VPC '$VPC'" "the refusal names the VPC"
expect_eq "$(t ls "$MNT/scopes/private/pools")" "" "a refused import changes nothing"

finish
