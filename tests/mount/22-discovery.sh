#!/bin/bash
# 22-discovery: SPEC §5.3, resource discoveries (guide L2337-L2580) and
# auto-import (L600-L610):
#  - /discoveries: `default` and `host` built in, mkdir/rmdir of others,
#    their files (id, scope, locale, last-feed, resources.json, feed);
#  - a snapshot written to `feed` is applied whole when the file is closed:
#    JSON lines of the discovered-resource shape, and the unmodified output
#    of `aws ec2 describe-vpcs`, `describe-subnets`, `describe-addresses`
#    (tests/cases/feeds/); snapshots larger than 64 KiB, in one write or in
#    many;
#  - a resource missing from the next complete snapshot (a document, or
#    JSON lines ending with {"EndOfSnapshot":true}) ends: its directory goes,
#    its history record gets the exact end time (settable clock);
#  - a malformed snapshot fails close(2) with EINVAL, names the bad record
#    in /errors, and changes nothing;
#  - auto-import: the largest of overlapping candidates wins, exact
#    duplicates go to the lowest resource id, locales must match, ignored
#    resources are never taken, freed space is offered again;
#  - `echo 1 > discoveries/host/refresh` reads this machine (eni-host-lo).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"

mount_ipamfs -o home-locale=us-east-1,settable-clock
expect_ok wr "$MNT/ipam/tier" advanced
expect_ok wrf "$MNT/ipam/operating-locales" 'us-east-1\nus-east-2\nus-west-2\n'
D=$MNT/discoveries
R=$MNT/scopes/private/resources
T1=2021-12-27T20:08:46Z
T2=2021-12-28T15:34:00Z
# the same times in the AWS CLI's JSON form (L5012ff)
J1=2021-12-27T20:08:46.000000+00:00
J2=2021-12-28T15:34:00.000000+00:00
set_clock $T1
expect_file_eq "$MNT/clock" $T1 "the clock is frozen at $T1"

# ---------------------------------------------------------------------------
# The built-in discoveries and their files

expect_eq "$(t ls "$D" | tr '\n' ' ')" "default host " "ls discoveries: default host"
expect_eq "$(t ls "$D/default" | tr '\n' ' ')" "accounts.json feed id last-feed locale resources.json scope tags unmonitored " "ls discoveries/default"
expect_eq "$(t ls "$D/host" | tr '\n' ' ')" "accounts.json feed id last-feed locale refresh resources.json scope tags unmonitored " "ls discoveries/host has refresh"
did=$(rd "$D/default/id")
expect_match "$did" '^ipam-res-disco-[0-9a-f]+$' "discoveries/default/id"
expect_match "$(t readlink "$MNT/by-id/$did")" 'discoveries/default$' "by-id/<discovery id> points to it"
expect_file_eq "$D/default/scope" private "scope defaults to private"
expect_file_eq "$D/default/locale" "" "locale defaults to none (empty)"
expect_file_eq "$D/default/last-feed" "" "never fed: last-feed is empty"
expect_json "$D/default/resources.json" '(.IpamResourceCidrs // .IpamDiscoveredResourceCidrs) | length' 0
expect_errno EPERM rmdir "$D/default"
expect_errno EPERM rmdir "$D/host"
expect_errno "ENOENT|EACCES|EPERM|EINVAL" wr "$D/default/refresh" 1

# ---------------------------------------------------------------------------
# JSON lines (the get-ipam-discovered-resource-cidrs shape)

VPC=vpc-0f5ee7e1ba908a378
SUB=subnet-0864c82a42f5bffed
ENI=eni-0b4e53eb1733aba16
INST=i-064da1f79baed14f3
cat >"$TMPD/snap1.jsonl" <<EOF
{"ResourceId":"$VPC","ResourceType":"vpc","ResourceCidr":"10.2.0.0/16","ResourceRegion":"us-east-1","ResourceOwnerId":"123456789012","VpcId":"$VPC","ResourceTags":[{"Key":"Name","Value":"Core VPC"},{"Key":"team","Value":"net"}],"IpUsage":0.00390625}
{"ResourceId":"$VPC","ResourceType":"vpc","ResourceCidr":"10.3.0.0/16","ResourceRegion":"us-east-1","ResourceOwnerId":"123456789012","VpcId":"$VPC","ResourceTags":[{"Key":"Name","Value":"Core VPC"},{"Key":"team","Value":"net"}],"IpUsage":0}
{"ResourceId":"$SUB","ResourceType":"subnet","ResourceCidr":"10.2.1.0/24","ResourceRegion":"us-east-1","ResourceOwnerId":"123456789012","VpcId":"$VPC","ResourceTags":{"tier":"app"},"IpUsage":0.25,"ResourceName":"app subnet"}
{"ResourceId":"$ENI","ResourceType":"network-interface","ResourceCidr":"10.2.1.155/32","ResourceRegion":"us-east-1","ResourceOwnerId":"123456789012","VpcId":"$VPC"}
{"ResourceId":"$INST","ResourceType":"instance","ResourceCidr":"10.2.1.155/32","ResourceRegion":"us-east-1","ResourceOwnerId":"123456789012","VpcId":"$VPC"}
EOF
expect_ok feed "$TMPD/snap1.jsonl" "$D/default/feed"
expect_eq "$(lsres private)" "$ENI $INST $SUB $VPC" "the snapshot's four resources appear"
expect_file_eq "$D/default/last-feed" $T1 "last-feed is the time of the snapshot"
expect_file_eq "$R/$VPC/resource-type" vpc
expect_file_eq "$R/$VPC/cidrs" $'10.2.0.0/16\n10.3.0.0/16' "two lines of one id: one VPC with two CIDRs"
expect_file_eq "$R/$VPC/name" "Core VPC" "the Name tag names the VPC"
expect_file_eq "$R/$VPC/owner" 123456789012
expect_file_eq "$R/$VPC/locale" us-east-1
expect_file_eq "$R/$VPC/tags/team" net
expect_file_eq "$R/$VPC/discovery" default "the resource knows its discovery"
expect_rstatus "$R/$VPC" 10.2.0.0/16 "unmanaged unmanaged nonoverlapping - 0.390625"
expect_rstatus "$R/$VPC" 10.3.0.0/16 "unmanaged unmanaged nonoverlapping - 0"
expect_file_eq "$R/$SUB/name" "app subnet" "ResourceName names the subnet"
expect_file_eq "$R/$SUB/vpc-id" $VPC
expect_file_eq "$R/$SUB/tags/tier" app "ResourceTags as an object"
expect_file_eq "$R/$SUB/ip-usage" 64 "IpUsage 0.25 of a /24: 64 active addresses"
expect_rstatus "$R/$SUB" 10.2.1.0/24 "- - - - 25"
expect_file_eq "$R/$ENI/resource-type" network-interface
expect_file_eq "$R/$ENI/cidrs" 10.2.1.155/32
expect_file_eq "$R/$INST/resource-type" instance
expect_file_eq "$R/$INST/vpc-id" $VPC
rj=$(rd "$D/default/resources.json")
expect_eq "$(jq -c '[(.IpamResourceCidrs // .IpamDiscoveredResourceCidrs)[] | .ResourceId + " " + .ResourceCidr] | sort' <<<"$rj")" \
	"[\"$ENI 10.2.1.155/32\",\"$SUB 10.2.1.0/24\",\"$VPC 10.2.0.0/16\",\"$VPC 10.3.0.0/16\"]" \
	"discoveries/default/resources.json: every resource CIDR it sees (an instance has none of its own in the AWS shape)"
expect_json "$MNT/scopes/private/resources.json" '[.IpamResourceCidrs[] | select(.ResourceId == "'$SUB'") | .IpUsage, .ResourceName, (.ResourceTags | map(.Key + "=" + .Value) | join(","))] | map(tostring) | join(" ")' \
	"0.25 app subnet tier=app"

# ---------------------------------------------------------------------------
# describe-vpcs, describe-subnets, describe-addresses, unmodified

expect_ok mkdir "$D/vpcs"
expect_match "$(rd "$D/vpcs/id")" '^ipam-res-disco-[0-9a-f]+$' "a new discovery has an id"
expect_ok wr "$D/vpcs/locale" us-east-2
expect_file_eq "$D/vpcs/locale" us-east-2
expect_errno EINVAL wr "$D/vpcs/locale" "not a locale!"
expect_errno "ENOENT|EINVAL" wr "$D/vpcs/scope" nosuchscope
expect_ok feed "$FEEDS/describe-vpcs.json" "$D/vpcs/feed"
P1=vpc-0a60eb65b4f4ab7d1
P2=vpc-06e4ab6c6c3b23ae3
expect_file_eq "$R/$P1/cidrs" $'10.0.0.0/16\n10.1.0.0/16' "describe-vpcs: both associated CIDRs"
expect_file_eq "$R/$P2/cidrs" 172.31.0.0/16 "describe-vpcs: a disassociated CIDR is left out"
expect_file_eq "$R/$P1/name" "Production VPC"
expect_file_eq "$R/$P1/tags/environment" prod
expect_file_eq "$R/$P1/owner" 111122223333
expect_file_eq "$R/$P1/locale" us-east-2 "describe-vpcs has no Region: the discovery's locale"
expect_file_eq "$R/$P1/discovery" vpcs
expect_file_eq "$R/$P2/name" "" "a VPC without a Name tag has no name"
expect_json "$D/vpcs/resources.json" '(.IpamResourceCidrs // .IpamDiscoveredResourceCidrs) | length' 3

expect_ok mkdir "$D/subnets"
expect_ok feed "$FEEDS/describe-subnets.json" "$D/subnets/feed"
SA=subnet-0bb1c79de3f5a8c41
SB=subnet-0d6ec4a6c5e1f7b12
expect_file_eq "$R/$SA/cidrs" 10.0.0.0/26
expect_file_eq "$R/$SA/locale" us-east-2 "a subnet's Region is its zone us-east-2a less the letter"
expect_file_eq "$R/$SA/vpc-id" $P1
expect_file_eq "$R/$SA/name" "Production app subnet"
expect_file_eq "$R/$SA/ip-usage" 16 "64 addresses, 43 available, 5 kept by AWS: 16 active"
expect_rstatus "$R/$SA" 10.0.0.0/26 "- - - - 25"
expect_file_eq "$R/$SB/ip-usage" 0 "251 available of 256, 5 kept: 0 active"
expect_rstatus "$R/$SB" 10.0.1.0/24 "- - - - 0"
expect_rstatus "$R/$P1" 10.0.0.0/16 "unmanaged unmanaged nonoverlapping - 0.488281"
expect_file_eq "$R/$P1/discovery" vpcs "the VPC still belongs to the discovery 'vpcs'"

expect_ok mkdir "$D/eips"
expect_ok wr "$D/eips/scope" public
expect_file_eq "$D/eips/scope" public
expect_ok feed "$FEEDS/describe-addresses.json" "$D/eips/feed"
E1=eipalloc-0b5ebb7ad8c1a2f30
E2=eipalloc-09f3a1c2d4e5b6a78
PR=$MNT/scopes/public/resources
expect_eq "$(lsres public)" "$E2 $E1" "describe-addresses: two EIPs in the public scope"
expect_file_eq "$PR/$E1/resource-type" eip
expect_file_eq "$PR/$E1/cidrs" 198.51.100.7/32
expect_file_eq "$PR/$E1/locale" us-east-1 "an EIP's Region is its NetworkBorderGroup"
expect_file_eq "$PR/$E1/name" web
expect_file_eq "$PR/$E2/cidrs" 203.0.113.25/32
expect_file_eq "$PR/$E2/locale" us-west-2
expect_rstatus4 "$PR/$E1" 198.51.100.7/32 "unmanaged unmanaged nonoverlapping -"
absent "$R/$E1" "the EIPs are not in the private scope"

# ---------------------------------------------------------------------------
# Scope of a discovery: what it sees moves with it

expect_ok mkdir "$MNT/scopes/lab"
expect_ok wr "$D/vpcs/scope" lab
expect_eq "$(lsres lab)" "$P2 $P1" "the discovery's VPCs moved to lab"
absent "$R/$P1" "and left the private scope"
expect_ok wr "$D/vpcs/scope" private
expect_eq "$(lsres lab)" "" "back in private"

# ---------------------------------------------------------------------------
# Malformed snapshots: close(2) fails with EINVAL, nothing changes

before_scope=$(rd "$MNT/scopes/private/resources.json")
before_disc=$(rd "$D/default/resources.json")
printf '%s\n' "$(head -n 2 "$TMPD/snap1.jsonl")" '{"ResourceId": "vpc-0bad", "ResourceCidr": ' >"$TMPD/bad1"
expect_errno EINVAL feed "$TMPD/bad1" "$D/default/feed"
expect_match "$(errors_last)" 'line 3' "/errors names the bad line 3"
printf '%s\n' '{"ResourceId":"vpc-0bad0000000000001","ResourceType":"vpc","ResourceCidr":"10.9.0.1/16"}' >"$TMPD/bad2"
expect_errno EINVAL feed "$TMPD/bad2" "$D/default/feed"
printf '%s\n' '{"ResourceId":"sg-0bad0000000000001","ResourceCidr":"10.9.0.0/16"}' >"$TMPD/bad3"
expect_errno EINVAL feed "$TMPD/bad3" "$D/default/feed"
printf '%s\n' '{"ResourceId":"subnet-0bad000000000001","ResourceType":"subnet","ResourceCidr":"10.9.0.0/24","IpUsage":1.5}' >"$TMPD/bad4"
expect_errno EINVAL feed "$TMPD/bad4" "$D/default/feed"
printf '%s\n' '{"Vpcs": {"VpcId": "vpc-0bad0000000000001"}}' >"$TMPD/bad5"
expect_errno EINVAL feed "$TMPD/bad5" "$D/default/feed"
printf '%s\n' '{"Vpcs": [{"VpcId": "vpc-0bad0000000000001", "CidrBlockAssociationSet": [{"CidrBlock": "10.9.0.0/99", "CidrBlockState": {"State": "associated"}}]}]}' >"$TMPD/bad6"
expect_errno EINVAL feed "$TMPD/bad6" "$D/default/feed"
printf '%s\n' '{"Reservations": []}' >"$TMPD/bad7"
expect_errno EINVAL feed "$TMPD/bad7" "$D/default/feed"
out=$(feed "$TMPD/bad1" "$D/default/feed" 2>&1)
rc=$?
[ $rc -ne 0 ] && [ -n "$out" ]
check $? "cat bad > feed prints an error and exits non-zero (exit $rc: $out)"
expect_eq "$(rd "$MNT/scopes/private/resources.json")" "$before_scope" "after the refused snapshots: the scope is unchanged"
expect_eq "$(rd "$D/default/resources.json")" "$before_disc" "after the refused snapshots: the discovery is unchanged"
expect_file_eq "$D/default/last-feed" $T1 "a refused snapshot does not change last-feed"
# opening the feed without writing (touch, : >) applies no snapshot
expect_ok t bash -c ': > "$1"' x "$D/default/feed"
expect_eq "$(rd "$D/default/resources.json")" "$before_disc" "open and close without a write: nothing ends"

# A resource owned by another discovery refuses the snapshot (EEXIST)
expect_ok mkdir "$D/other"
expect_errno EEXIST feed_text '{"ResourceId":"'$ENI'","ResourceType":"network-interface","ResourceCidr":"10.2.1.156/32"}' "$D/other/feed"
expect_file_eq "$R/$ENI/cidrs" 10.2.1.155/32 "the ENI is unchanged"
expect_file_eq "$R/$ENI/discovery" default "the ENI still belongs to default"

# ---------------------------------------------------------------------------
# The next snapshot drops the ENI: it ends, at the exact time (§7)

set_clock $T2
mkres private vpc-0aaaaaaaaaaaaaaa1 locale=us-east-1
addcidr "$RES" 10.4.0.0/16
grep -v "$ENI" "$TMPD/snap1.jsonl" >"$TMPD/snap2.jsonl"
echo '{"ResourceId":"vpc-0aaaaaaaaaaaaaaa1","ResourceType":"vpc","ResourceCidr":"10.4.0.0/16","ResourceRegion":"us-east-1"}' >>"$TMPD/snap2.jsonl"
# JSON lines end what they lack only with the end-of-snapshot line
echo '{"EndOfSnapshot":true}' >>"$TMPD/snap2.jsonl"
expect_ok feed "$TMPD/snap2.jsonl" "$D/default/feed"
absent "$R/$ENI" "the dropped ENI is gone"
expect_file_eq "$R/vpc-0aaaaaaaaaaaaaaa1/discovery" default "a resource registered by hand is adopted"
expect_file_eq "$D/default/last-feed" $T2
h=$(rd "$MNT/scopes/private/history/10.2.1.155_32.json")
expect_eq "$(jq -c '[.HistoryRecords[] | [.ResourceId, .SampledStartTime, .SampledEndTime]] | sort' <<<"$h")" \
	"[[\"$ENI\",\"$J1\",\"$J2\"],[\"$INST\",\"$J1\",null]]" \
	"history of 10.2.1.155/32: the ENI ended at $T2, the instance is active"
expect_json "$MNT/scopes/private/history/10.2.0.0_16.json" '[.HistoryRecords[] | .SampledEndTime] | map(tostring) | join(",")' null
# a describe-* document with an empty list ends everything of its discovery
expect_ok feed_text '{"Vpcs": []}' "$D/vpcs/feed"
absent "$R/$P1" "an empty describe-vpcs ends the discovery's VPCs"
expect_json "$D/vpcs/resources.json" '(.IpamResourceCidrs // .IpamDiscoveredResourceCidrs) | length' 0
expect_json "$MNT/scopes/private/history/10.0.0.0_16.json" '[.HistoryRecords[] | select(.ResourceId == "'$P1'") | .SampledEndTime] | sort | last' $J2
expect_file_eq "$R/$SA/vpc-id" $P1 "the subnets of another discovery stay"

# rmdir of a discovery ends what it sees
expect_ok rmdir "$D/subnets"
absent "$R/$SA" "rmdir discoveries/subnets ended its subnets"
absent "$D/subnets" "the discovery is gone"

# ---------------------------------------------------------------------------
# Large snapshots: over 64 KiB in one write (cat) and in 4 KiB writes (dd)

for i in $(seq 1 700); do
	printf '{"ResourceId":"eni-%017x","ResourceType":"network-interface","ResourceCidr":"10.77.%d.%d/32","ResourceRegion":"us-east-1","ResourceOwnerId":"123456789012"}\n' \
		"$i" $((i / 256)) $((i % 256))
done >"$TMPD/big.jsonl"
expect_eq "$([ "$(stat -c %s "$TMPD/big.jsonl")" -gt 65536 ] && echo big)" big "the big snapshot is over 64 KiB"
expect_ok mkdir "$D/big"
expect_ok feed "$TMPD/big.jsonl" "$D/big/feed"
expect_json "$D/big/resources.json" '(.IpamResourceCidrs // .IpamDiscoveredResourceCidrs) | length' 700
expect_file_eq "$R/eni-000000000000002bc/cidrs" 10.77.2.188/32 "the 700th ENI"
{ head -n 350 "$TMPD/big.jsonl"; echo '{"EndOfSnapshot":true}'; } >"$TMPD/half.jsonl"
expect_ok t dd if="$TMPD/half.jsonl" of="$D/big/feed" bs=4096 status=none
expect_json "$D/big/resources.json" '(.IpamResourceCidrs // .IpamDiscoveredResourceCidrs) | length' 350
absent "$R/eni-000000000000002bc" "a snapshot in 4 KiB writes is applied whole: the 700th ENI ended"
expect_ok rmdir "$D/big"

# ---------------------------------------------------------------------------
# Auto-import (L600-L610)

mkpool private auto 10.50.0.0/16
AUTO=$POOL
auto=$(idof "$AUTO")
expect_ok wr "$AUTO/locale" us-east-1
expect_ok wr "$AUTO/auto-import" true
expect_ok mkdir "$D/import"
expect_ok wr "$D/import/locale" us-east-1
VA=vpc-0a0000000000000a1
VB=vpc-0a0000000000000b2
VC=vpc-0a0000000000000c3
VD=vpc-0a0000000000000d4
VE=vpc-0a0000000000000e5
VF=vpc-0a0000000000000f6
VG=vpc-0a000000000000017
VH=vpc-0a000000000000028
cat >"$TMPD/import.jsonl" <<EOF
{"ResourceId":"$VB","ResourceType":"vpc","ResourceCidr":"10.50.0.0/24","ResourceRegion":"us-east-1"}
{"ResourceId":"$VA","ResourceType":"vpc","ResourceCidr":"10.50.0.0/20","ResourceRegion":"us-east-1"}
{"ResourceId":"$VD","ResourceType":"vpc","ResourceCidr":"10.50.16.0/24","ResourceRegion":"us-east-1"}
{"ResourceId":"$VC","ResourceType":"vpc","ResourceCidr":"10.50.16.0/24","ResourceRegion":"us-east-1"}
{"ResourceId":"$VE","ResourceType":"vpc","ResourceCidr":"10.50.32.0/24","ResourceRegion":"us-west-2"}
{"ResourceId":"$VF","ResourceType":"vpc","ResourceCidr":"10.60.0.0/24","ResourceRegion":"us-east-1"}
{"ResourceId":"$VG","ResourceType":"vpc","ResourceCidr":"10.50.48.0/24"}
{"ResourceId":"$VH","ResourceType":"vpc","ResourceCidr":"10.70.1.0/24","ResourceRegion":"us-west-2"}
{"ResourceId":"subnet-0a0000000000000a8","ResourceType":"subnet","ResourceCidr":"10.50.64.0/24","VpcId":"$VA"}
EOF
expect_ok feed "$TMPD/import.jsonl" "$D/import/feed"
expect_rstatus "$R/$VA" 10.50.0.0/20 "managed compliant overlapping $auto 0"
expect_rstatus "$R/$VB" 10.50.0.0/24 "unmanaged unmanaged overlapping - 0"
expect_rstatus "$R/$VC" 10.50.16.0/24 "managed compliant overlapping $auto 0"
expect_rstatus "$R/$VD" 10.50.16.0/24 "unmanaged unmanaged overlapping - 0"
expect_rstatus "$R/$VE" 10.50.32.0/24 "unmanaged unmanaged nonoverlapping - 0"
expect_rstatus "$R/$VF" 10.60.0.0/24 "unmanaged unmanaged nonoverlapping - 0"
expect_file_eq "$R/$VG/locale" us-east-1 "no ResourceRegion: the discovery's locale"
expect_rstatus "$R/$VG" 10.50.48.0/24 "managed compliant nonoverlapping $auto 0"
expect_rstatus "$R/subnet-0a0000000000000a8" 10.50.64.0/24 "- - - - -"
# the import is part of the snapshot's transaction: one record, managed
expect_json "$MNT/scopes/private/history/10.50.0.0_20.json" '.HistoryRecords | map([.ResourceId, .ResourceComplianceStatus, .ResourceOverlapStatus, .SampledStartTime, .SampledEndTime] | map(tostring) | join(" ")) | join(",")' \
	"$VA compliant overlapping $J2 null"
expect_json "$AUTO/allocations.json" '[.IpamPoolAllocations[] | .ResourceId + " " + .ResourceType + " " + .Cidr] | sort | join(",")' \
	"$(printf '%s\n' "$VA vpc 10.50.0.0/20" "$VC vpc 10.50.16.0/24" "$VG vpc 10.50.48.0/24" | sort | paste -sd,)"
expect_eq "$(status_get "$AUTO" assigned-addresses)" 4608 "auto: /20 + two /24 assigned"
expect_eq "$(status_get "$AUTO" compliant-resource-cidrs)" 3 "auto: 3 compliant imported CIDRs"
# ignored: the space goes back and the next candidate takes it; an ignored
# VPC is never imported again, not even by the same snapshot
expect_ok wr "$R/$VA/monitoring" ignored
expect_rstatus4 "$R/$VA" 10.50.0.0/20 "ignored ignored ignored -"
expect_rstatus "$R/$VB" 10.50.0.0/24 "managed compliant nonoverlapping $auto 0"
expect_ok feed "$TMPD/import.jsonl" "$D/import/feed"
expect_rstatus4 "$R/$VA" 10.50.0.0/20 "ignored ignored ignored -"
expect_rstatus "$R/$VB" 10.50.0.0/24 "managed compliant nonoverlapping $auto 0"
expect_ok wr "$R/$VA/monitoring" monitored
expect_rstatus "$R/$VA" 10.50.0.0/20 "unmanaged unmanaged overlapping - 0"
expect_rstatus "$R/$VB" 10.50.0.0/24 "managed compliant overlapping $auto 0"
# the winner of a duplicate dropped: its space goes to the other one
{ grep -v "$VC" "$TMPD/import.jsonl"; echo '{"EndOfSnapshot":true}'; } >"$TMPD/import2.jsonl"
expect_ok feed "$TMPD/import2.jsonl" "$D/import/feed"
absent "$R/$VC" "$VC ended"
absent "$AUTO/allocations/$VC" "its allocation was released"
expect_rstatus "$R/$VD" 10.50.16.0/24 "managed compliant nonoverlapping $auto 0"
# auto-import switched on later takes what is there
mkpool private west 10.70.0.0/16
expect_ok wr "$POOL/locale" us-west-2
expect_rstatus "$R/$VH" 10.70.1.0/24 "unmanaged unmanaged nonoverlapping - 0"
expect_ok wr "$POOL/auto-import" true
expect_rstatus "$R/$VH" 10.70.1.0/24 "managed compliant nonoverlapping $(idof "$POOL") 0"
expect_rstatus "$R/$VE" 10.50.32.0/24 "unmanaged unmanaged nonoverlapping - 0"
# ... a pool with auto-import on takes what is in a CIDR provisioned later
mkpool private later
expect_ok wr "$POOL/locale" us-west-2
expect_ok wr "$POOL/auto-import" true
mkres private vpc-0a000000000000039 locale=us-west-2
addcidr "$RES" 10.90.0.0/24
expect_rstatus "$RES" 10.90.0.0/24 "unmanaged unmanaged nonoverlapping - 0"
expect_ok wr "$POOL/cidrs" 10.90.0.0/16
expect_rstatus "$RES" 10.90.0.0/24 "managed compliant nonoverlapping $(idof "$POOL") 0"
# ... and a VPC given a locale becomes a candidate
mkres private vpc-0a00000000000004a
addcidr "$RES" 10.90.1.0/24
expect_rstatus "$RES" 10.90.1.0/24 "unmanaged unmanaged nonoverlapping - 0"
expect_ok wr "$RES/locale" us-west-2
expect_rstatus "$RES" 10.90.1.0/24 "managed compliant nonoverlapping $(idof "$POOL") 0"

# ---------------------------------------------------------------------------
# The host: this machine's interfaces over netlink

expect_ok wr "$D/host/refresh" 1
expect_file_eq "$R/eni-host-lo/resource-type" network-interface
expect_eq "$(rd "$R/eni-host-lo/cidrs" | grep -x 127.0.0.1/32)" 127.0.0.1/32 "eni-host-lo has 127.0.0.1/32"
expect_file_eq "$R/eni-host-lo/discovery" host
expect_match "$(rd "$D/host/resources.json" | jq -c '[(.IpamResourceCidrs // .IpamDiscoveredResourceCidrs)[] | .ResourceId]')" '"eni-host-lo"' \
	"discoveries/host/resources.json lists eni-host-lo"
expect_file_eq "$D/host/last-feed" $T2 "the refresh is recorded as a snapshot"
expect_ok wr "$D/host/refresh" 1
expect_eq "$(rd "$R/eni-host-lo/cidrs" | grep -c -x 127.0.0.1/32)" 1 "a second refresh changes nothing"

# back to real time
expect_ok wr "$MNT/clock" system
expect_match "$(rd "$MNT/clock")" '^20[2-9][0-9]-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' "echo system > clock: real time again"
expect_eq "$([ "$(rd "$MNT/clock")" \> 2024 ] && echo now)" now "the clock is no longer in 2021"
expect_errno EINVAL wr "$MNT/clock" yesterday

finish
