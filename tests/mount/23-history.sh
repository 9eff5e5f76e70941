#!/bin/bash
# 23-history: SPEC §7, IP address history (guide L2989-L3063), replaying
# the scenarios of the CLI history tutorial (L4904-L5275) on a mount with
# -o settable-clock, so every SampledStartTime/SampledEndTime is exact:
#   1  10.2.1.155/32 in a window: an ENI and an instance (L4936)
#   2  10.2.1.0/24 in a window: a subnet and its VPC, compliant (L5012)
#   3  2605:9cc0:409::/56: two VPCs one after the other (L5063)
#   4  10.0.0.0/24 over a day: subnets and overlapping VPCs (L5109);
#      adapted: records split where the overlap status changes (history.md)
#   5  10.2.1.155/32 @now (L5181)   6  10.2.1.0/24 @now: exact match, no
#      /32s (L5216, L5225)   7  54.0.0.9/32: no records (L5259)
# plus: the text form, window edges (a record holds [start, end), the
# window [from, to] both ends included: docs/design/history.md), `ls
# history/`, a status
# change ending a record, a move between scopes (L3007), one snapshot
# never leaving zero-length records, and retention (ipam/
# history-retention-days).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"

# byoip-proof=skip: the public pool of scenario 3 takes its BYOIP CIDR
# without a proof of ownership (a lab; 100-byoip-proof.sh proves them)
mount_ipamfs -o home-locale=us-east-1,settable-clock,byoip-proof=skip
expect_ok wr "$MNT/ipam/tier" advanced
expect_ok wrf "$MNT/ipam/operating-locales" 'us-east-1\nus-east-2\nus-west-2\n'
H=$MNT/scopes/private/history
OWNER=123456789012

# hist PATH: the HistoryRecords of a .json query, keys sorted, records in a
# fixed order (the guide's outputs come in no stated order).
hist() {
	timeout "$TIMEOUT" cat -- "$1" |
		jq -S -c '.HistoryRecords | sort_by(.SampledStartTime, .ResourceType, .ResourceId, .SampledEndTime // "")' 2>&1
}
# want: the same normalisation of a JSON array given on stdin, with its
# times (written as in the guide's text, ...Z) in the AWS CLI's JSON form,
# 2021-12-27T20:08:46.000000+00:00 (L5012ff)
want() {
	jq -S -c 'walk(if type == "string" and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
		then sub("Z$"; ".000000+00:00") else . end)
		| sort_by(.SampledStartTime, .ResourceType, .ResourceId, .SampledEndTime // "")'
}
# aws TIME: a ...Z time in the AWS CLI's JSON form
aws() { printf '%s.000000+00:00' "${1%Z}"; }
# rows PATH: the rows of a text query (without the header line), sorted
rows() {
	timeout "$TIMEOUT" cat -- "$1" | tail -n +2 | sort
}

T=2021-12-27T20:08:46Z
VPC=vpc-0f5ee7e1ba908a378
SUB=subnet-0864c82a42f5bffed
ENI=eni-0b4e53eb1733aba16
INST=i-064da1f79baed14f3
NAT=i-0a7c3e9b5d1f24680

# ---------------------------------------------------------------------------
# The resources of scenarios 1, 2, 5, 6, all seen at 2021-12-27T20:08:46Z

mkpool private east 10.2.0.0/16
EAST=$POOL
east=$(idof "$EAST")
expect_ok wr "$EAST/locale" us-east-1
set_clock $T
mkres private $SUB locale=us-east-1 owner=$OWNER vpc-id=$VPC
addcidr "$RES" 10.2.1.0/24
mkres private $VPC locale=us-east-1 owner=$OWNER
expect_eq "$(wr_readback "$RES/allocate" "$east 10.2.1.0/24")" 10.2.1.0/24 "the VPC gets 10.2.1.0/24 from a us-east-1 pool"
RVPC=$RES
expect_rstatus "$RVPC" 10.2.1.0/24 "managed compliant nonoverlapping $east 100"
mkres private $ENI locale=us-east-1 owner=$OWNER vpc-id=$VPC
addcidr "$RES" 10.2.1.155/32 10.0.0.176/32
mkres private $INST locale=us-east-1 owner=$OWNER vpc-id=$VPC
addcidr "$RES" 10.2.1.155/32
# the NAT gateway case (L4977): the instance's owner is amazon-aws
mkres private $NAT locale=us-east-1 owner=amazon-aws vpc-id=$VPC
addcidr "$RES" 10.0.0.176/32

# Scenario 1
got=$(hist "$H/10.2.1.155_32@2021-12-20T01:00:00Z..2021-12-27T21:00:00Z.json")
expect_eq "$got" "$(want <<EOF
[
 {"ResourceOwnerId": "$OWNER", "ResourceRegion": "us-east-1", "ResourceType": "network-interface",
  "ResourceId": "$ENI", "ResourceCidr": "10.2.1.155/32", "VpcId": "$VPC", "SampledStartTime": "$T"},
 {"ResourceOwnerId": "$OWNER", "ResourceRegion": "us-east-1", "ResourceType": "instance",
  "ResourceId": "$INST", "ResourceCidr": "10.2.1.155/32", "VpcId": "$VPC", "SampledStartTime": "$T"}
]
EOF
)" "scenario 1: 10.2.1.155/32 from 2021-12-20T01:00 to 2021-12-27T21:00: the ENI and the instance"
got=$(hist "$H/10.0.0.176_32.json")
expect_eq "$got" "$(want <<EOF
[
 {"ResourceOwnerId": "$OWNER", "ResourceRegion": "us-east-1", "ResourceType": "network-interface",
  "ResourceId": "$ENI", "ResourceCidr": "10.0.0.176/32", "VpcId": "$VPC", "SampledStartTime": "$T"},
 {"ResourceOwnerId": "amazon-aws", "ResourceRegion": "us-east-1", "ResourceType": "instance",
  "ResourceId": "$NAT", "ResourceCidr": "10.0.0.176/32", "VpcId": "$VPC", "SampledStartTime": "$T"}
]
EOF
)" "the NAT gateway example: the instance's ResourceOwnerId is amazon-aws"

# Scenario 2
S2=$(want <<EOF
[
 {"ResourceOwnerId": "$OWNER", "ResourceRegion": "us-east-1", "ResourceType": "subnet",
  "ResourceId": "$SUB", "ResourceCidr": "10.2.1.0/24", "VpcId": "$VPC", "SampledStartTime": "$T"},
 {"ResourceOwnerId": "$OWNER", "ResourceRegion": "us-east-1", "ResourceType": "vpc",
  "ResourceId": "$VPC", "ResourceCidr": "10.2.1.0/24", "ResourceComplianceStatus": "compliant",
  "ResourceOverlapStatus": "nonoverlapping", "VpcId": "$VPC", "SampledStartTime": "$T"}
]
EOF
)
expect_eq "$(hist "$H/10.2.1.0_24@2021-12-01T00:00:00Z..2021-12-27T23:59:59Z.json")" "$S2" \
	"scenario 2: 10.2.1.0/24 in December: the subnet and its compliant VPC"
expect_eq "$(rows "$H/10.2.1.0_24@2021-12-01T00:00:00Z..2021-12-27T23:59:59Z")" \
	"$T - 10.2.1.0/24 subnet $SUB us-east-1 $OWNER $VPC - - -
$T - 10.2.1.0/24 vpc $VPC us-east-1 $OWNER $VPC compliant nonoverlapping -" \
	"scenario 2, text form: one row per record, - for what is not set"
expect_match "$(rd "$H/10.2.1.0_24" | head -n 1)" '^SampledStartTime SampledEndTime ResourceCidr ResourceType ResourceId' \
	"the text form starts with a header line"
expect_json "$H/10.2.1.0_24.json" '.HistoryRecords | length' 2
expect_eq "$(t stat -c %s "$H/10.2.1.0_24.json")" "$(rd "$H/10.2.1.0_24.json" | wc -c)" "stat reports the size of a query's result"

# window edges: the window [from, to] includes both ends
expect_json "$H/10.2.1.155_32@2021-12-01T00:00:00Z..2021-12-27T20:08:45Z.json" '.HistoryRecords | length' 0
expect_json "$H/10.2.1.155_32@2021-12-01T00:00:00Z..2021-12-27T20:08:46Z.json" '.HistoryRecords | length' 2
expect_json "$H/10.2.1.155_32@2030-01-01T00:00:00Z..2030-01-02T00:00:00Z.json" '.HistoryRecords | length' 2
# malformed queries are refused (lookups are not logged in /errors)
expect_errno_kernel "EINVAL|ENOENT" rd "$H/10.2.1.155_32@2021-12-28T00:00:00Z..2021-12-27T00:00:00Z.json"
expect_errno_kernel "EINVAL|ENOENT" rd "$H/10.2.1.155_32@yesterday.json"
expect_errno_kernel "EINVAL|ENOENT" rd "$H/10.2.1.1_24.json"

# ---------------------------------------------------------------------------
# Scenario 3: 2605:9cc0:409::/56, two VPCs in us-east-2 one after the other
# (a public-scope pool: the guide queries another scope for it)

expect_ok mkdir "$MNT/scopes/public/pools/v6"
expect_ok wr "$MNT/scopes/public/pools/v6/address-family" ipv6
expect_ok wr "$MNT/scopes/public/pools/v6/locale" us-east-2
expect_ok wr "$MNT/scopes/public/pools/v6/cidrs" 2605:9cc0:400::/44
v6=$(idof "$MNT/scopes/public/pools/v6")
V31=vpc-01d967bf3b923f72c
V32=vpc-03e62c7eca81cb652
set_clock 2021-12-23T20:02:00Z
mkres public $V31 locale=us-east-2 owner=$OWNER "name=First example VPC"
expect_eq "$(wr_readback "$RES/allocate" "$v6 2605:9cc0:409::/56")" 2605:9cc0:409::/56 "the first VPC gets 2605:9cc0:409::/56"
set_clock 2021-12-23T20:12:59Z
expect_ok rmdir "$RES"
set_clock 2021-12-27T15:11:00Z
mkres public $V32 locale=us-east-2 owner=$OWNER "name=Second example VPC"
expect_eq "$(wr_readback "$RES/allocate" "$v6 2605:9cc0:409::/56")" 2605:9cc0:409::/56 "the second VPC gets the same /56"
PH=$MNT/scopes/public/history
S3=$(want <<EOF
[
 {"ResourceOwnerId": "$OWNER", "ResourceRegion": "us-east-2", "ResourceType": "vpc",
  "ResourceId": "$V31", "ResourceCidr": "2605:9cc0:409::/56", "ResourceName": "First example VPC",
  "ResourceComplianceStatus": "compliant", "ResourceOverlapStatus": "nonoverlapping", "VpcId": "$V31",
  "SampledStartTime": "2021-12-23T20:02:00Z", "SampledEndTime": "2021-12-23T20:12:59Z"},
 {"ResourceOwnerId": "$OWNER", "ResourceRegion": "us-east-2", "ResourceType": "vpc",
  "ResourceId": "$V32", "ResourceCidr": "2605:9cc0:409::/56", "ResourceName": "Second example VPC",
  "ResourceComplianceStatus": "compliant", "ResourceOverlapStatus": "nonoverlapping", "VpcId": "$V32",
  "SampledStartTime": "2021-12-27T15:11:00Z"}
]
EOF
)
expect_eq "$(hist "$PH/2605:9cc0:409::_56@2021-12-01T01:00:00Z..2021-12-27T23:59:59Z.json")" "$S3" \
	"scenario 3: the first VPC from 20:02:00 to 20:12:59, the second from 2021-12-27T15:11:00"
expect_eq "$(hist "$PH/2605:9cc0:0409:0000::_56.json")" "$S3" "an uncompressed IPv6 name is the same query"
expect_eq "$(rows "$PH/2605:9cc0:409::_56@2021-12-23T20:12:58Z..2021-12-24T00:00:00Z" | awk '{ print $1, $2, $5 }')" \
	"2021-12-23T20:02:00Z 2021-12-23T20:12:59Z $V31" "a window starting in the record's last second has it"
expect_json "$PH/2605:9cc0:409::_56@2021-12-23T20:12:59Z..2021-12-24T00:00:00Z.json" '.HistoryRecords | length' 0
expect_json "$PH/2605:9cc0:409::_56@2021-12-23T19:00:00Z..2021-12-23T20:02:00Z.json" '.HistoryRecords | map(.ResourceId) | join(" ")' $V31
expect_eq "$(t ls "$PH" | tr '\n' ' ')" "2605:9cc0:409::_56 " "ls scopes/public/history"
expect_json "$H/2605:9cc0:409::_56.json" '.HistoryRecords | length' 0

# ---------------------------------------------------------------------------
# Scenario 4: 10.0.0.0/24, subnets and VPCs over some weeks. The guide's
# VPCs are "overlapping" from the start; here each record keeps one status,
# so the VPC seen alone first is nonoverlapping until the second one comes.

set_clock 2021-12-11T16:35:59Z
mkres private subnet-0d1b8f899725aa72d locale=us-east-2 owner=$OWNER "name=Example name" vpc-id=vpc-042b8a44f64267d67
addcidr "$RES" 10.0.0.0/24
S4A=$RES
mkres private vpc-0a8347f594bea5901 locale=us-west-2 owner=$OWNER "name=Example name"
addcidr "$RES" 10.0.0.0/24
V4A=$RES
set_clock 2021-12-14T21:07:22Z
mkres private subnet-0af7eadb0798e9148 locale=us-east-1 owner=$OWNER "name=Example name" vpc-id=vpc-03298ba16756a8736
addcidr "$RES" 10.0.0.0/24
set_clock 2021-12-27T20:07:59Z
mkres private vpc-09754dfd85911abec locale=us-east-2 owner=$OWNER "name=Example name"
addcidr "$RES" 10.0.0.0/24
V4B=$RES
expect_rstatus "$V4A" 10.0.0.0/24 "unmanaged unmanaged overlapping - 0"
set_clock 2021-12-28T15:34:00Z
expect_ok rmdir "$S4A"
expect_ok rmdir "$V4B"
expect_rstatus "$V4A" 10.0.0.0/24 "unmanaged unmanaged nonoverlapping - 0"

rec4() { # type id region vpc compliance overlap start end
	printf '{"ResourceOwnerId":"%s","ResourceRegion":"%s","ResourceType":"%s","ResourceId":"%s","ResourceCidr":"10.0.0.0/24","ResourceName":"Example name"' \
		$OWNER "$3" "$1" "$2"
	[ "$5" != - ] && printf ',"ResourceComplianceStatus":"%s","ResourceOverlapStatus":"%s"' "$5" "$6"
	printf ',"VpcId":"%s","SampledStartTime":"%s"' "$4" "$7"
	[ "$8" != - ] && printf ',"SampledEndTime":"%s"' "$8"
	printf '}\n'
}
S4_ALL=$( {
	rec4 subnet subnet-0d1b8f899725aa72d us-east-2 vpc-042b8a44f64267d67 - - 2021-12-11T16:35:59Z 2021-12-28T15:34:00Z
	rec4 vpc vpc-0a8347f594bea5901 us-west-2 vpc-0a8347f594bea5901 unmanaged nonoverlapping 2021-12-11T16:35:59Z 2021-12-27T20:07:59Z
	rec4 subnet subnet-0af7eadb0798e9148 us-east-1 vpc-03298ba16756a8736 - - 2021-12-14T21:07:22Z -
	rec4 vpc vpc-09754dfd85911abec us-east-2 vpc-09754dfd85911abec unmanaged overlapping 2021-12-27T20:07:59Z 2021-12-28T15:34:00Z
	rec4 vpc vpc-0a8347f594bea5901 us-west-2 vpc-0a8347f594bea5901 unmanaged overlapping 2021-12-27T20:07:59Z 2021-12-28T15:34:00Z
	rec4 vpc vpc-0a8347f594bea5901 us-west-2 vpc-0a8347f594bea5901 unmanaged nonoverlapping 2021-12-28T15:34:00Z -
} | jq -s -c .)
expect_eq "$(hist "$H/10.0.0.0_24@2021-12-27T00:00:00Z..2021-12-28T00:00:00Z.json")" \
	"$(jq -c '[.[] | select(.SampledStartTime <= "2021-12-28T00:00:00Z" and (.SampledEndTime // "9") >= "2021-12-27T00:00:00Z")]' <<<"$S4_ALL" | want)" \
	"scenario 4: 10.0.0.0/24 on 2021-12-27: five records"
expect_eq "$(hist "$H/10.0.0.0_24.json")" "$(want <<<"$S4_ALL")" "10.0.0.0/24, all time: six records"
expect_eq "$(rows "$H/10.0.0.0_24@2021-12-27T00:00:00Z..2021-12-28T00:00:00Z" | grep -c .)" 5 "scenario 4, text form: five rows"
expect_eq "$(rows "$H/10.0.0.0_24@2021-12-27T00:00:00Z..2021-12-28T00:00:00Z" | grep vpc-09754dfd85911abec)" \
	"2021-12-27T20:07:59Z 2021-12-28T15:34:00Z 10.0.0.0/24 vpc vpc-09754dfd85911abec us-east-2 $OWNER vpc-09754dfd85911abec unmanaged overlapping Example name" \
	"scenario 4, text form: the ended VPC's row, its name last"

# ---------------------------------------------------------------------------
# Scenarios 5, 6, 7: what is associated now

set_clock 2021-12-29T00:00:00Z
S5=$(want <<EOF
[
 {"ResourceOwnerId": "$OWNER", "ResourceRegion": "us-east-1", "ResourceType": "network-interface",
  "ResourceId": "$ENI", "ResourceCidr": "10.2.1.155/32", "VpcId": "$VPC", "SampledStartTime": "$T"},
 {"ResourceOwnerId": "$OWNER", "ResourceRegion": "us-east-1", "ResourceType": "instance",
  "ResourceId": "$INST", "ResourceCidr": "10.2.1.155/32", "VpcId": "$VPC", "SampledStartTime": "$T"}
]
EOF
)
expect_eq "$(hist "$H/10.2.1.155_32@now.json")" "$S5" "scenario 5: 10.2.1.155/32 now: the ENI and the instance"
expect_eq "$(rows "$H/10.2.1.155_32@now" | awk '{ print $4, $5 }')" "instance $INST
network-interface $ENI" "scenario 5, text form"
expect_eq "$(hist "$H/10.2.1.0_24@now.json")" "$S2" "scenario 6: 10.2.1.0/24 now: the subnet and the VPC, not the /32s in it"
expect_eq "$(timeout "$TIMEOUT" cat "$H/54.0.0.9_32.json" | jq -c .)" '{"HistoryRecords":[]}' \
	"scenario 7: 54.0.0.9/32: no records"
expect_eq "$(rows "$H/54.0.0.9_32" | grep -c .)" 0 "scenario 7, text form: only the header"
expect_eq "$(hist "$H/10.0.0.0_24@now.json" | jq -r 'map(.ResourceId) | join(" ")')" \
	"subnet-0af7eadb0798e9148 vpc-0a8347f594bea5901" "10.0.0.0/24 now: the subnet and the VPC left"
expect_eq "$(t ls "$H" | tr '\n' ' ')" "10.0.0.0_24 10.0.0.176_32 10.2.1.0_24 10.2.1.155_32 " \
	"ls history/: the CIDRs with records"
absent "$H/10.2.1.0_24/x" "a history entry is not a directory"

# ---------------------------------------------------------------------------
# A status change ends a record and starts the next one

T5=2021-12-29T12:00:00Z
set_clock $T5
expect_ok wr "$EAST/allocation-max-netmask-length" 23
expect_match "$(rstatus "$RVPC" 10.2.1.0/24)" "^10\\.2\\.1\\.0/24 managed noncompliant " "the VPC is noncompliant at $T5"
expect_eq "$(hist "$H/10.2.1.0_24.json" | jq -c 'map(select(.ResourceType == "vpc") | [.ResourceComplianceStatus, .SampledStartTime, .SampledEndTime])')" \
	"[[\"compliant\",\"$(aws $T)\",\"$(aws $T5)\"],[\"noncompliant\",\"$(aws $T5)\",null]]" \
	"the VPC's history: compliant until $T5, noncompliant since"
set_clock 2021-12-30T00:00:00Z
expect_eq "$(hist "$H/10.2.1.0_24@now.json" | jq -r 'map(.ResourceType + ":" + (.ResourceComplianceStatus // "-")) | join(" ")')" \
	"subnet:- vpc:noncompliant" "10.2.1.0/24 now: the subnet and the noncompliant VPC"

# A move to another scope ends the record here and starts one there (L3007)
T6=2021-12-30T08:00:00Z
set_clock $T6
expect_ok mkdir "$MNT/scopes/lab"
expect_ok t mv "$V4A" "$MNT/scopes/lab/resources/"
# a record is [start, end): at $T6 the VPC is no longer here
expect_eq "$(hist "$H/10.0.0.0_24@now.json" | jq -r 'map(.ResourceId) | join(" ")')" \
	"subnet-0af7eadb0798e9148" "after the move, private has only the subnet now"
expect_json "$H/10.0.0.0_24.json" '[.HistoryRecords[] | select(.ResourceId == "vpc-0a8347f594bea5901") | .SampledEndTime] | sort | last' "$(aws $T6)"
expect_eq "$(hist "$MNT/scopes/lab/history/10.0.0.0_24.json" | jq -c 'map([.ResourceId, .ResourceOverlapStatus, .SampledStartTime, .SampledEndTime])')" \
	"[[\"vpc-0a8347f594bea5901\",\"nonoverlapping\",\"$(aws $T6)\",null]]" "lab's history: the VPC since $T6"
expect_eq "$(t ls "$MNT/scopes/lab/history" | tr '\n' ' ')" "10.0.0.0_24 " "ls scopes/lab/history"

# One snapshot, two new overlapping VPCs: each gets one record, overlapping
# (no zero-length record of a state that never committed)
T7=2021-12-31T00:00:00Z
set_clock $T7
feed_text '{"ResourceId":"vpc-0b0000000000000a1","ResourceType":"vpc","ResourceCidr":"10.9.9.0/24","ResourceRegion":"us-east-1"}
{"ResourceId":"vpc-0b0000000000000b2","ResourceType":"vpc","ResourceCidr":"10.9.9.0/24","ResourceRegion":"us-east-1"}' "$MNT/discoveries/default/feed"
check $? "feed two overlapping VPCs in one snapshot"
expect_eq "$(hist "$H/10.9.9.0_24.json" | jq -c 'map([.ResourceId, .ResourceOverlapStatus, .SampledStartTime, .SampledEndTime])')" \
	"[[\"vpc-0b0000000000000a1\",\"overlapping\",\"$(aws $T7)\",null],[\"vpc-0b0000000000000b2\",\"overlapping\",\"$(aws $T7)\",null]]" \
	"one record per VPC, overlapping from $T7"

# An association made and ended in two transactions at one instant of the
# clock did exist (others could see it): it keeps its record (§7 "every
# association"; only states inside one transaction are dropped, history.md)
expect_ok mkdir "$MNT/scopes/private/resources/eni-0b00000000000000e"
expect_ok wr "$MNT/scopes/private/resources/eni-0b00000000000000e/cidrs" 10.9.8.7/32
expect_json "$H/10.9.8.7_32@now.json" '.HistoryRecords | map(.ResourceId) | join(" ")' eni-0b00000000000000e
expect_ok rmdir "$MNT/scopes/private/resources/eni-0b00000000000000e"
expect_eq "$(hist "$H/10.9.8.7_32.json" | jq -c 'map([.ResourceId, .SampledStartTime, .SampledEndTime])')" \
	"[[\"eni-0b00000000000000e\",\"$(aws $T7)\",\"$(aws $T7)\"]]" "the ENI seen for an instant keeps its record"

# ---------------------------------------------------------------------------
# Retention: 1095 days by default; records that ended before the horizon go

expect_file_eq "$MNT/ipam/history-retention-days" 1095
expect_errno EINVAL wr "$MNT/ipam/history-retention-days" 0
expect_errno EINVAL wr "$MNT/ipam/history-retention-days" 36501
expect_errno EINVAL wr "$MNT/ipam/history-retention-days" soon
expect_ok wr "$MNT/ipam/history-retention-days" 30
mkpool private scratch 10.99.0.0/24
SCR=$POOL
expect_file_eq "$MNT/ipam/history-retention-days" 30
# 20 days later nothing is old enough
set_clock 2022-01-20T00:00:00Z
for i in 1 2 3; do
	wr "$SCR/allocate" "r$i /28" && t rmdir "$SCR/allocations/r$i" || not_ok "allocate and release r$i"
done
expect_eq "$(hist "$H/10.0.0.0_24.json" | jq length)" 6 "within 30 days: 10.0.0.0/24 keeps its 6 records"
# 40 days later every record that ended before 2021-12-31 goes, a few per write
set_clock 2022-02-10T00:00:00Z
for i in $(seq 1 12); do
	wr "$SCR/allocate" "s$i /28" && t rmdir "$SCR/allocations/s$i" || not_ok "allocate and release s$i"
done
expect_eq "$(hist "$H/10.0.0.0_24.json" | jq -c 'map(.ResourceId)')" '["subnet-0af7eadb0798e9148"]' \
	"past the horizon: only the active record of 10.0.0.0/24 is left"
expect_eq "$(hist "$H/10.2.1.0_24.json" | jq -c 'map([.ResourceType, .ResourceComplianceStatus])')" '[["subnet",null],["vpc","noncompliant"]]' \
	"10.2.1.0/24: the ended compliant record is purged, the active ones stay"
expect_eq "$(hist "$PH/2605:9cc0:409::_56.json" | jq -c 'map(.ResourceId)')" "[\"$V32\"]" \
	"the public scope's ended record is purged too"
expect_eq "$(hist "$MNT/scopes/lab/history/10.0.0.0_24.json" | jq length)" 1 "lab keeps its active record"

# ---------------------------------------------------------------------------
# The change log's retention: 365 days by default; a few expired lines go
# with each new one, oldest first; seq goes on

expect_file_eq "$MNT/ipam/event-retention-days" 365
for bad in 0 36501 -1 soon "7 8" "1e3" ""; do
	expect_errno EINVAL wr "$MNT/ipam/event-retention-days" "$bad"
done
expect_file_eq "$MNT/ipam/event-retention-days" 365
expect_ok wr "$MNT/ipam/event-retention-days" 1
expect_eq "$(rd "$MNT/events" | tail -n 1 | jq -c '[.action, ."event-retention-days"]')" '["modify-ipam",1]' \
	"the setting is a modify-ipam event"
expect_eq "$(rd "$MNT/ipam.json" | jq -c '.Ipams[0] | has("EventRetentionDays")')" false \
	"ipam.json keeps the AWS shape (the setting is ipamfs's own)"
# lines older than a day before 2022-02-20 (those of 2021 and early 2022;
# the mount's first lines, of today's system clock, are in the future)
old() { rd "$MNT/events" | jq -s 'map(select(.time < "2022-02-19")) | length'; }
future=$(rd "$MNT/events" | jq -s 'map(select(.time > "2026")) | length')
n_old=$(old)
last=$(rd "$MNT/events" | tail -n 1 | jq .seq)
# a reader that keeps /events open (tail -f, a poller) through the purge
timeout 90 python3 - "$MNT/events" "$TMPD/tail.out" <<'PY' &
import select, sys, time
f = open(sys.argv[1])
f.read()
out = open(sys.argv[2], "w")
end = time.time() + 80
while time.time() < end:
    p = select.poll()
    p.register(f, select.POLLIN)
    p.poll(500)
    data = f.read()
    if data:
        out.write(data)
        out.flush()
        if "final-marker" in data:
            break
PY
TAILER=$!
sleep 0.5
set_clock 2022-02-20T00:00:00Z
wr "$SCR/allocate" "e1 /28" || not_ok "allocate e1"
expect_eq "$(old)" "$((n_old - 2))" "one new line takes the two oldest expired lines away"
for i in $(seq 1 $((n_old / 2 + 1))); do
	wr "$SCR/description" "pass $i" || not_ok "write $i"
done
expect_eq "$(old)" 0 "every expired line is gone"
expect_eq "$(rd "$MNT/events" | jq -s 'map(select(.time > "2026")) | length')" "$future" \
	"lines in the future (the clock was set back) are not expired"
expect_eq "$(rd "$MNT/events" | tail -n 1 | jq ".seq > $last")" true "seq goes on"
wr "$SCR/description" "final-marker" || not_ok "write the marker"
wait "$TAILER"
expect_eq "$(jq -s "length > 2 and map(.seq) == [range($last + 1; $last + 1 + length)]" "$TMPD/tail.out")" true \
	"an open /events got every line logged while old lines were purged, in order"
expect_match "$(tail -n 1 "$TMPD/tail.out")" "final-marker" "up to the last one"
expect_eq "$(rd "$MNT/export.json" 2>/dev/null | jq .Ipam.EventRetentionDays)" 1 "exported"
expect_errno EINVAL wr "$MNT/ipam/event-retention-days" 0
expect_file_eq "$MNT/ipam/event-retention-days" 1

# the history survives a remount
unmount_ipamfs
start_ipamfs -o settable-clock,byoip-proof=skip
expect_eq "$(hist "$H/10.2.1.155_32.json" | jq length)" 2 "after a remount: 10.2.1.155/32 has its 2 records"

finish
