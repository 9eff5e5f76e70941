#!/bin/bash
# 20-resources: SPEC §5.1/§5.2, resources seen by the IPAM
# (scopes/<s>/resources/<id>/, guide L2668-L2745):
#  - registering an unmanaged VPC (mkdir + cidrs) and the per-CIDR status;
#  - overlap with a manual allocation, both ways round (allocation first,
#    resource first); releasing the allocation ends the overlap (L2730);
#  - two VPCs with one CIDR overlap; a subnet inside its VPC does not;
#  - "IPs allocated" (L2733): a /26 subnet in a /24 VPC = 25 %, a subnet's
#    active addresses over its size;
#  - "create a VPC with an IPAM pool" by writing POOL-ID to `allocate`: the
#    console tutorial's pre-prod pool (10.0.0.0/20 under a regional
#    us-east-1 pool, /24 min, default and max, tag environment=pre-prod):
#    refused without the tag with the guide's text (L4298), 10.0.0.0/24 with
#    it (L4351), managed and compliant, an allocation of type vpc;
#  - monitoring=ignored returns the space and sets every status to ignored,
#    EPERM in the public scope (L1226); rmdir releases; mv of a VPC (with
#    its subnets) to another private scope (L2042).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"

mount_ipamfs -o home-locale=us-east-1
expect_ok wr "$MNT/ipam/tier" advanced
expect_ok wrf "$MNT/ipam/operating-locales" 'us-east-1\nus-west-2\n'
R=$MNT/scopes/private/resources
absent "$MNT/clock" "no /clock without -o settable-clock"
expect_eq "$(lsres private)" "" "a new IPAM has no resources"
expect_json "$MNT/scopes/private/resources.json" '.IpamResourceCidrs | length' 0

# ---------------------------------------------------------------------------
# An unmanaged VPC: CIDRs chosen elsewhere, checked only for overlap

V1=vpc-0a1b2c3d4e5f60001
expect_ok mkdir "$R/$V1"
expect_eq "$(t ls "$R/$V1" | tr '\n' ' ')" "allocate association cidrs discovery ip-usage locale monitoring name owner resource-type status status.json tags vpc-id " \
	"ls resources/<id>: the files of §5.1"
expect_file_eq "$R/$V1/resource-type" vpc "the type comes from the id's prefix"
expect_file_eq "$R/$V1/discovery" "" "registered by hand: no discovery"
expect_file_eq "$R/$V1/monitoring" monitored "monitoring defaults to monitored"
expect_file_empty "$R/$V1/cidrs" "a new resource has no CIDR"
expect_file_empty "$R/$V1/status" "no CIDR, no status line"
expect_ok wr "$R/$V1/name" "Shared services"
expect_ok wr "$R/$V1/owner" 123456789012
expect_ok wr "$R/$V1/locale" us-east-1
expect_ok wr "$R/$V1/tags/team" net
expect_ok wr "$R/$V1/cidrs" 10.1.0.0/16
expect_ok wr "$R/$V1/cidrs" +10.2.0.0/16
expect_file_eq "$R/$V1/name" "Shared services"
expect_file_eq "$R/$V1/owner" 123456789012
expect_file_eq "$R/$V1/locale" us-east-1
expect_file_eq "$R/$V1/tags/team" net
expect_file_eq "$R/$V1/cidrs" $'10.1.0.0/16\n10.2.0.0/16'
expect_file_eq "$R/$V1/status" $'10.1.0.0/16 unmanaged unmanaged nonoverlapping - 0\n10.2.0.0/16 unmanaged unmanaged nonoverlapping - 0' \
	"status: one line per CIDR, unmanaged, nonoverlapping, no pool, 0 % in subnets"
expect_json "$R/$V1/status.json" '[.. | objects | select(has("ResourceCidr")) | .ResourceCidr + " " + .ManagementState + " " + .ComplianceStatus + " " + .OverlapStatus] | join(",")' \
	"10.1.0.0/16 unmanaged unmanaged nonoverlapping,10.2.0.0/16 unmanaged unmanaged nonoverlapping"
expect_ok wr "$R/$V1/cidrs" -10.2.0.0/16
expect_file_eq "$R/$V1/cidrs" 10.1.0.0/16 "-CIDR removes it"
expect_errno EEXIST wr "$R/$V1/cidrs" 10.1.0.0/16
expect_errno ENOENT wr "$R/$V1/cidrs" -10.9.0.0/16
expect_errno EINVAL wr "$R/$V1/cidrs" 10.1.0.1/16
expect_errno EINVAL wr "$R/$V1/cidrs" 10.1.0.0/33
expect_errno EINVAL wr "$R/$V1/monitoring" sometimes
expect_file_eq "$R/$V1/cidrs" 10.1.0.0/16 "refused writes change nothing"
# one write, several lines: all or nothing (§1.5)
expect_errno EINVAL wrf "$R/$V1/cidrs" '+10.3.0.0/16\n10.4.0.1/16\n'
expect_file_eq "$R/$V1/cidrs" 10.1.0.0/16 "a batch with one bad line adds nothing"
expect_ok wrf "$R/$V1/cidrs" '+10.3.0.0/16\n10.4.0.0/16\n-10.1.0.0/16\n'
expect_file_eq "$R/$V1/cidrs" $'10.3.0.0/16\n10.4.0.0/16' "a batch of three lines applies whole"
expect_ok wrf "$R/$V1/cidrs" '-10.3.0.0/16\n-10.4.0.0/16\n10.1.0.0/16\n'
expect_file_eq "$R/$V1/cidrs" 10.1.0.0/16
expect_errno EINVAL mkdir "$R/sg-0123456789abcdef0"
expect_errno EINVAL mkdir "$R/vpc"
expect_errno_kernel EEXIST mkdir "$R/$V1"
expect_eq "$(lsres private)" "$V1" "ls resources/"

# resources.json: the get-ipam-resource-cidrs shape (L2745)
ipam_id=$(rd "$MNT/ipam/id")
priv=$(rd "$MNT/scopes/private/id")
got=$(jqf "$MNT/scopes/private/resources.json" '.IpamResourceCidrs[] | select(.ResourceId == "'$V1'")')
want=$(jq -c -n --arg ipam "$ipam_id" --arg scope "$priv" --arg v "$V1" '{IpamId: $ipam,
	ResourceOwnerId: "123456789012", ResourceRegion: "us-east-1", IpamScopeId: $scope,
	ResourceId: $v, ResourceName: "Shared services", ResourceCidr: "10.1.0.0/16",
	ResourceType: "vpc", ResourceTags: [{Key: "team", Value: "net"}], IpUsage: 0,
	ComplianceStatus: "unmanaged", ManagementState: "unmanaged",
	OverlapStatus: "nonoverlapping", VpcId: $v}')
expect_eq "$(jq -S -c . <<<"$got")" "$(jq -S -c . <<<"$want")" "resources.json: the unmanaged VPC, every field"

# ---------------------------------------------------------------------------
# Overlap with a manual allocation (L2730), both ways round

mkpool private lab 10.8.0.0/16
LAB=$POOL
# the allocation first, then the resource
expect_ok wr "$LAB/allocate" "reserved 10.8.1.0/24"
mkres private vpc-0a1b2c3d4e5f60002 locale=us-east-1
V2=$RES
addcidr "$V2" 10.8.1.0/25
expect_rstatus "$V2" 10.8.1.0/25 "unmanaged unmanaged overlapping - 0"
expect_ok rmdir "$LAB/allocations/reserved"
expect_rstatus "$V2" 10.8.1.0/25 "unmanaged unmanaged nonoverlapping - 0"
# the resource first, then the allocation (containing and contained)
mkres private vpc-0a1b2c3d4e5f60003 locale=us-east-1
V3=$RES
addcidr "$V3" 10.8.2.0/24
expect_rstatus "$V3" 10.8.2.0/24 "unmanaged unmanaged nonoverlapping - 0"
expect_ok wr "$LAB/allocate" "inside 10.8.2.64/26"
expect_rstatus "$V3" 10.8.2.0/24 "unmanaged unmanaged overlapping - 0"
expect_ok rmdir "$LAB/allocations/inside"
expect_rstatus "$V3" 10.8.2.0/24 "unmanaged unmanaged nonoverlapping - 0"
expect_ok wr "$LAB/allocate" "around 10.8.0.0/22"
expect_rstatus "$V3" 10.8.2.0/24 "unmanaged unmanaged overlapping - 0"
expect_rstatus "$V2" 10.8.1.0/25 "unmanaged unmanaged overlapping - 0"
expect_ok rmdir "$LAB/allocations/around"
expect_rstatus "$V3" 10.8.2.0/24 "unmanaged unmanaged nonoverlapping - 0"
expect_rstatus "$V2" 10.8.1.0/25 "unmanaged unmanaged nonoverlapping - 0"
# an allocation next to the CIDR, not on it: no overlap
expect_ok wr "$LAB/allocate" "beside 10.8.3.0/24"
expect_rstatus "$V3" 10.8.2.0/24 "unmanaged unmanaged nonoverlapping - 0"

# ---------------------------------------------------------------------------
# Two VPCs with one CIDR overlap (L5133); ignoring one ends it

mkres private vpc-0a1b2c3d4e5f60004 locale=us-east-1
V4=$RES
mkres private vpc-0a1b2c3d4e5f60005 locale=us-west-2
V5=$RES
addcidr "$V4" 172.16.0.0/24
expect_rstatus "$V4" 172.16.0.0/24 "unmanaged unmanaged nonoverlapping - 0"
addcidr "$V5" 172.16.0.0/24
expect_rstatus "$V4" 172.16.0.0/24 "unmanaged unmanaged overlapping - 0"
expect_rstatus "$V5" 172.16.0.0/24 "unmanaged unmanaged overlapping - 0"
expect_ok wr "$V5/monitoring" ignored
expect_file_eq "$V5/monitoring" ignored
expect_rstatus4 "$V5" 172.16.0.0/24 "ignored ignored ignored -"
expect_rstatus "$V4" 172.16.0.0/24 "unmanaged unmanaged nonoverlapping - 0"
expect_ok wr "$V5/monitoring" monitored
expect_rstatus "$V4" 172.16.0.0/24 "unmanaged unmanaged overlapping - 0"
expect_rstatus "$V5" 172.16.0.0/24 "unmanaged unmanaged overlapping - 0"
expect_ok wr "$V5/cidrs" -172.16.0.0/24
expect_rstatus "$V4" 172.16.0.0/24 "unmanaged unmanaged nonoverlapping - 0"

# ---------------------------------------------------------------------------
# A subnet inside its VPC: not an overlap (L5230); IPs allocated (L2733)

mkres private vpc-0a1b2c3d4e5f60006 locale=us-east-1 owner=123456789012
V6=$RES
v6=vpc-0a1b2c3d4e5f60006
addcidr "$V6" 10.20.0.0/24
mkres private subnet-0a1b2c3d4e5f60061 locale=us-east-1 owner=123456789012 vpc-id=$v6
S61=$RES
expect_file_eq "$S61/resource-type" subnet
expect_file_eq "$S61/vpc-id" $v6
addcidr "$S61" 10.20.0.0/26
expect_rstatus "$V6" 10.20.0.0/24 "unmanaged unmanaged nonoverlapping - 25"
expect_rstatus "$S61" 10.20.0.0/26 "- - - - -"
expect_ok wr "$S61/ip-usage" 16
expect_file_eq "$S61/ip-usage" 16
expect_rstatus "$S61" 10.20.0.0/26 "- - - - 25"
mkres private subnet-0a1b2c3d4e5f60062 locale=us-east-1 vpc-id=$v6
S62=$RES
addcidr "$S62" 10.20.0.64/26 10.20.0.128/27
expect_rstatus "$V6" 10.20.0.0/24 "unmanaged unmanaged nonoverlapping - 62.5"
expect_ok wr "$S62/ip-usage" 1
expect_rstatus "$S62" 10.20.0.64/26 "- - - - 1.5625"
expect_rstatus "$V6" 10.20.0.0/24 "unmanaged unmanaged nonoverlapping - 62.5"
expect_ok wr "$S62/cidrs" -10.20.0.128/27
expect_rstatus "$V6" 10.20.0.0/24 "unmanaged unmanaged nonoverlapping - 50"
expect_errno EINVAL wr "$S61/ip-usage" lots
expect_errno EINVAL wr "$S61/allocate" "$(idof "$LAB") /28"
got=$(jqf "$MNT/scopes/private/resources.json" '.IpamResourceCidrs[] | select(.ResourceId == "subnet-0a1b2c3d4e5f60061")')
expect_eq "$(jq -c '[.ResourceType, .ResourceCidr, .VpcId, .IpUsage, has("ComplianceStatus"), has("ManagementState"), has("OverlapStatus")]' <<<"$got")" \
	"[\"subnet\",\"10.20.0.0/26\",\"$v6\",0.25,false,false,false]" \
	"resources.json: a subnet has VpcId and IpUsage 0.25, and no management, compliance or overlap"
expect_json "$MNT/scopes/private/resources.json" '.IpamResourceCidrs[] | select(.ResourceId == "'$v6'") | .IpUsage' 0.5

# ---------------------------------------------------------------------------
# "Create a VPC with an IPAM pool": the console tutorial's pre-prod pool

mkpool private global 10.0.0.0/16
GLOBAL=$POOL
expect_ok wr "$GLOBAL/locale" none
EAST=$GLOBAL/pools/us-east-1
expect_ok mkdir "$EAST"
expect_ok wr "$EAST/locale" us-east-1
expect_ok wr "$EAST/cidrs" 10.0.0.0/18
PRE=$EAST/pools/pre-prod
expect_ok mkdir "$PRE"
expect_ok wr "$PRE/cidrs" 10.0.0.0/20
expect_ok wr "$PRE/allocation-min-netmask-length" 24
expect_ok wr "$PRE/allocation-max-netmask-length" 24
expect_ok wr "$PRE/allocation-default-netmask-length" 24
expect_ok wr "$PRE/allocation-resource-tags" environment=pre-prod
pre=$(idof "$PRE")

EX=vpc-07701f4fcc6549b8d
mkres private $EX locale=us-east-1 owner=320805250157 "name=Example VPC"
VX=$RES
expect_ok wr "$VX/tags/Name" "Example VPC"
# Step 7: without the tag environment=pre-prod the VPC is refused
expect_errno EINVAL wr "$VX/allocate" "$pre"
expect_match "$(errors_last)" 'The resource is missing one or more of the resource tags required by the IPAM pool' \
	"/errors: the guide's text for the missing tag (L4298)"
expect_eq "$(nalloc "$PRE")" 0 "the refused request allocated nothing"
expect_file_empty "$VX/cidrs" "the refused VPC has no CIDR"
# the other rules of the pool are checked too
expect_ok wr "$VX/tags/environment" pre-prod
expect_errno EINVAL wr "$VX/allocate" "$pre /25"
expect_errno EINVAL wr "$VX/allocate" "$pre 10.0.4.0/23"
expect_errno "ENOENT|EINVAL" wr "$VX/allocate" "ipam-pool-0123456789abcdef0"
expect_errno EINVAL wr "$VX/allocate" "$(idof "$LAB") nonsense"
mkres private vpc-0a1b2c3d4e5f60009 locale=us-west-2
expect_ok wr "$RES/tags/environment" pre-prod
expect_errno EINVAL wr "$RES/allocate" "$pre"
expect_eq "$(nalloc "$PRE")" 0 "refused requests allocated nothing"
# with the tag: 10.0.0.0/24, read back on the same open file (L4351)
expect_eq "$(wr_readback "$VX/allocate" "$pre")" 10.0.0.0/24 "allocate $pre: 10.0.0.0/24 read back"
expect_file_eq "$VX/cidrs" 10.0.0.0/24
expect_rstatus "$VX" 10.0.0.0/24 "managed compliant nonoverlapping $pre 0"
expect_eq "$(t ls "$PRE/allocations")" $EX "the pool's allocation is named by the VPC id"
expect_file_eq "$PRE/allocations/$EX/resource-type" vpc
expect_file_eq "$PRE/allocations/$EX/resource-id" $EX
expect_file_eq "$PRE/allocations/$EX/cidr" 10.0.0.0/24
expect_errno EPERM rmdir "$PRE/allocations/$EX"
expect_json "$PRE/allocations.json" '.IpamPoolAllocations | map(select(.ResourceId == "'$EX'") | [.Cidr, .ResourceType, .ResourceRegion] | join(" ")) | join(",")' \
	"10.0.0.0/24 vpc us-east-1"
expect_eq "$(status_get "$PRE" assigned-addresses)" 256 "pre-prod: assigned-addresses=256"
expect_eq "$(status_get "$PRE" percent-assigned)" 6.25 "pre-prod: percent-assigned=6.25"
expect_eq "$(status_get "$PRE" compliant-resource-cidrs)" 1 "pre-prod: compliant-resource-cidrs=1"
expect_eq "$(status_get "$PRE" noncompliant-resource-cidrs)" 0 "pre-prod: noncompliant-resource-cidrs=0"
got=$(jqf "$MNT/scopes/private/resources.json" '.IpamResourceCidrs[] | select(.ResourceId == "'$EX'")')
expect_eq "$(jq -c '[.IpamPoolId, .ResourceName, .ResourceCidr, .ManagementState, .ComplianceStatus, .OverlapStatus, .ResourceOwnerId, .ResourceRegion]' <<<"$got")" \
	"[\"$pre\",\"Example VPC\",\"10.0.0.0/24\",\"managed\",\"compliant\",\"nonoverlapping\",\"320805250157\",\"us-east-1\"]" \
	"resources.json: the managed VPC with its pool"
expect_eq "$(jq -c '.ResourceTags | sort_by(.Key)' <<<"$got")" '[{"Key":"Name","Value":"Example VPC"},{"Key":"environment","Value":"pre-prod"}]' \
	"resources.json: ResourceTags in the AWS form"
# the next VPC gets the next /24; a specific CIDR works too
mkres private vpc-0a1b2c3d4e5f60007 locale=us-east-1
V7=$RES
expect_ok wr "$V7/tags/environment" pre-prod
expect_eq "$(wr_readback "$V7/allocate" "$pre 10.0.5.0/24")" 10.0.5.0/24 "allocate a specific CIDR"
expect_errno EADDRINUSE wr "$V7/allocate" "$pre 10.0.0.0/24"
expect_eq "$(status_get "$PRE" assigned-addresses)" 512 "pre-prod: assigned-addresses=512"
# -CIDR of a managed CIDR releases its allocation
expect_ok wr "$V7/cidrs" -10.0.5.0/24
absent "$PRE/allocations/vpc-0a1b2c3d4e5f60007" "-CIDR of a managed CIDR releases the allocation"
expect_eq "$(status_get "$PRE" assigned-addresses)" 256 "pre-prod: assigned-addresses=256 again"

# ---------------------------------------------------------------------------
# monitoring = ignored: the space goes back to the pool (L2714)

expect_ok wr "$VX/monitoring" ignored
expect_rstatus4 "$VX" 10.0.0.0/24 "ignored ignored ignored -"
expect_eq "$(status_get "$PRE" assigned-addresses)" 0 "ignored: the pool's assigned-addresses drops to 0"
expect_eq "$(status_get "$PRE" compliant-resource-cidrs)" 0 "ignored: no compliant CIDR left in the pool"
expect_eq "$(nalloc "$PRE")" 0 "ignored: the allocation is gone"
expect_file_eq "$PRE/preview/24" 10.0.0.0/24 "the returned /24 is free again"
expect_json "$MNT/scopes/private/resources.json" '.IpamResourceCidrs[] | select(.ResourceId == "'$EX'") | [.ManagementState, .ComplianceStatus, .OverlapStatus] | join(" ")' \
	"ignored ignored ignored"
expect_errno EINVAL wr "$VX/allocate" "$pre"
expect_ok wr "$VX/monitoring" monitored
expect_rstatus "$VX" 10.0.0.0/24 "unmanaged unmanaged nonoverlapping - 0"
# managing the same CIDR again (an unmanaged CIDR becomes managed)
expect_eq "$(wr_readback "$VX/allocate" "$pre 10.0.0.0/24")" 10.0.0.0/24 "allocate its own unmanaged CIDR"
expect_rstatus "$VX" 10.0.0.0/24 "managed compliant nonoverlapping $pre 0"
expect_eq "$(status_get "$PRE" assigned-addresses)" 256 "managed again: assigned-addresses=256"

# not in the public scope (L1226)
mkres public eipalloc-0a1b2c3d4e5f60010 locale=us-east-1
EIP=$RES
expect_file_eq "$EIP/resource-type" eip
addcidr "$EIP" 203.0.113.10/32
expect_rstatus4 "$EIP" 203.0.113.10/32 "unmanaged unmanaged nonoverlapping -"
expect_errno EPERM wr "$EIP/monitoring" ignored
expect_file_eq "$EIP/monitoring" monitored "the public-scope EIP stays monitored"
mkres public ipv4pool-ec2-0a1b2c3d4e5f60011 locale=us-east-1
expect_file_eq "$RES/resource-type" public-ipv4-pool
addcidr "$RES" 203.0.113.0/24
expect_rstatus "$RES" 203.0.113.0/24 "unmanaged unmanaged nonoverlapping - 0.390625"
expect_rstatus4 "$EIP" 203.0.113.10/32 "unmanaged unmanaged nonoverlapping -"
mkres private i-0a1b2c3d4e5f60012
expect_file_eq "$RES/resource-type" instance
mkres private eni-0a1b2c3d4e5f60013
expect_file_eq "$RES/resource-type" network-interface

# ---------------------------------------------------------------------------
# rmdir releases the resource's allocations

mkres private vpc-0a1b2c3d4e5f60008 locale=us-east-1
V8=$RES
expect_ok wr "$V8/tags/environment" pre-prod
expect_eq "$(wr_readback "$V8/allocate" "$pre")" 10.0.1.0/24 "the next VPC gets 10.0.1.0/24"
expect_eq "$(nalloc "$PRE")" 2 "two VPC allocations in pre-prod"
expect_ok rmdir "$V8"
absent "$V8" "the resource is gone"
absent "$PRE/allocations/vpc-0a1b2c3d4e5f60008" "rmdir released its allocation"
expect_eq "$(status_get "$PRE" assigned-addresses)" 256 "pre-prod: assigned-addresses=256 after rmdir"
expect_json "$MNT/scopes/private/resources.json" '[.IpamResourceCidrs[] | select(.ResourceId == "vpc-0a1b2c3d4e5f60008")] | length' 0

# ---------------------------------------------------------------------------
# mv: a VPC moves to another private scope with its subnets (L2042)

expect_ok mkdir "$MNT/scopes/lab"
lab=$(rd "$MNT/scopes/lab/id")
expect_ok t mv "$V6" "$MNT/scopes/lab/resources/"
expect_eq "$(lsres lab)" "subnet-0a1b2c3d4e5f60061 subnet-0a1b2c3d4e5f60062 $v6" "the VPC moved with both subnets"
absent "$V6" "the VPC left the private scope"
absent "$S61" "its subnet left the private scope"
L6=$MNT/scopes/lab/resources/$v6
expect_file_eq "$L6/cidrs" 10.20.0.0/24
expect_rstatus "$L6" 10.20.0.0/24 "unmanaged unmanaged nonoverlapping - 50"
expect_json "$MNT/scopes/lab/resources.json" '[.IpamResourceCidrs[] | .IpamScopeId] | unique | join(",")' "$lab"
expect_json "$MNT/scopes/lab/resources.json" '.IpamResourceCidrs | length' 3
# refused: a managed VPC (EBUSY), a subnet alone, the public scope (EPERM)
expect_errno EBUSY t mv "$VX" "$MNT/scopes/lab/resources/"
expect_file_eq "$VX/cidrs" 10.0.0.0/24 "the managed VPC stayed"
expect_errno EPERM t mv "$MNT/scopes/lab/resources/subnet-0a1b2c3d4e5f60061" "$R/"
expect_errno EPERM t mv "$L6" "$MNT/scopes/public/resources/"
expect_errno "EPERM|EINVAL" t mv "$L6" "$MNT/scopes/lab/resources/vpc-0a1b2c3d4e5f6dead"
# and back
expect_ok t mv "$L6" "$R/"
expect_eq "$(lsres lab)" "" "lab is empty again"
expect_rstatus "$V6" 10.20.0.0/24 "unmanaged unmanaged nonoverlapping - 50"

# the scope status counts what is in the scope (exact counts: 21-compliance)
expect_eq "$(scope_get lab resource-cidrs)" 0 "lab: resource-cidrs=0"
expect_match "$(scope_get private resource-cidrs)" '^[0-9]+$' "private: resource-cidrs is a count"

# remounting keeps everything
unmount_ipamfs
start_ipamfs
expect_file_eq "$VX/cidrs" 10.0.0.0/24 "after a remount: the VPC's CIDR"
expect_rstatus "$VX" 10.0.0.0/24 "managed compliant nonoverlapping $pre 0"
expect_rstatus "$V3" 10.8.2.0/24 "unmanaged unmanaged nonoverlapping - 0"
expect_file_eq "$S61/ip-usage" 16 "after a remount: ip-usage"

finish
