#!/bin/bash
# 02-cli-tutorial: "Getting started with IPAM using the AWS CLI" (guide
# L3181-L3480) end to end through the tree: an IPAM operating in us-east-1
# and us-west-2, a top-level pool 10.0.0.0/8, Regional pools (us-east-1
# 10.0.0.0/16 as in the guide, us-west-2 10.1.0.0/16), a development pool
# 10.0.0.0/24, a /26 "VPC" allocation, the JSON views in the AWS CLI shapes,
# the utilization numbers (SPEC §6.1), and the cleanup in reverse order with
# the DependencyViolation refusals.
. "$(dirname "$0")/lib.sh"

mount_ipamfs -o home-locale=us-east-1

# aws ec2 create-ipam --description "My IPAM" --operating-regions ...
expect_ok wr "$MNT/ipam/tier" advanced
expect_file_eq "$MNT/ipam/tier" advanced
expect_ok wr "$MNT/ipam/description" "My IPAM"
expect_ok wrf "$MNT/ipam/operating-locales" 'us-west-2\nus-east-1\n'
expect_file_eq "$MNT/ipam/operating-locales" $'us-east-1\nus-west-2' "operating-locales sorted"
expect_json "$MNT/ipam.json" '.Ipams[0].Description' "My IPAM"
expect_json "$MNT/ipam.json" '[.Ipams[0].OperatingRegions[].RegionName] | sort | join(",")' "us-east-1,us-west-2"
expect_json "$MNT/ipam.json" '.Ipams[0].IpamRegion' us-east-1
# the home locale is always kept (SPEC §3; L4451-L4478: passing us-west-2
# alone gives both)
expect_ok wr "$MNT/ipam/operating-locales" us-west-2
expect_file_eq "$MNT/ipam/operating-locales" $'us-east-1\nus-west-2' "a set without the home locale keeps it"

# PrivateDefaultScopeId
scope=$(rd "$MNT/scopes/private/id")
expect_json "$MNT/ipam.json" '.Ipams[0].PrivateDefaultScopeId' "$scope"

# Create a top-level IPv4 pool
TOP=$MNT/scopes/private/pools/top
expect_ok mkdir "$TOP"
expect_ok wr "$TOP/address-family" ipv4
expect_ok wr "$TOP/description" "Top-level pool"
top=$(idof "$TOP")
expect_match "$top" '^ipam-pool-[0-9a-f]{17}$' "pool id is an AWS-style id"
expect_json "$TOP/pool.json" '.IpamPools[0].State' create-complete
expect_file_eq "$TOP/state" create-complete
expect_file_eq "$TOP/depth" 1
expect_file_eq "$TOP/source" scope
expect_ok wr "$TOP/cidrs" 10.0.0.0/8
expect_json "$TOP/cidrs.json" '.IpamPoolCidrs[] | select(.Cidr=="10.0.0.0/8") | .State' provisioned
expect_json "$TOP/cidrs.json" '.IpamPoolCidrs[0].NetmaskLength' 8
expect_file_eq "$TOP/cidrs" 10.0.0.0/8
expect_json "$TOP/pool.json" '.IpamPools | length' 1
expect_json "$TOP/pool.json" '.IpamPools[0].IpamPoolId' "$top"
expect_json "$TOP/pool.json" '.IpamPools[0].PoolDepth' 1
expect_json "$TOP/pool.json" '.IpamPools[0].AddressFamily' ipv4
expect_json "$TOP/pool.json" '.IpamPools[0].Description' "Top-level pool"
expect_json "$TOP/pool.json" '.IpamPools[0].SourceIpamPoolId // ""' ""

# Create a Regional IPv4 pool (us-east-1, as in the guide)
EAST=$TOP/pools/us-east-1
expect_ok mkdir "$EAST"
expect_ok wr "$EAST/locale" us-east-1
expect_ok wr "$EAST/description" "Regional pool in us-east-1"
east=$(idof "$EAST")
expect_file_eq "$EAST/address-family" ipv4 "a child pool inherits the address family"
expect_file_eq "$EAST/source" "$top"
expect_file_eq "$EAST/depth" 2
expect_ok wr "$EAST/cidrs" 10.0.0.0/16
expect_json "$EAST/cidrs.json" '.IpamPoolCidrs[] | select(.Cidr=="10.0.0.0/16") | .State' provisioned
expect_json "$EAST/pool.json" '.IpamPools[0].IpamPoolId' "$east"
expect_json "$EAST/pool.json" '.IpamPools[0].SourceIpamPoolId' "$top"
expect_json "$EAST/pool.json" '.IpamPools[0].PoolDepth' 2
expect_json "$EAST/pool.json" '.IpamPools[0].Locale' us-east-1
expect_json "$EAST/pool.json" '.IpamPools[0].AddressFamily' ipv4
expect_json "$EAST/pool.json" '.IpamPools[0].State' create-complete
expect_json "$EAST/pool.json" '.IpamPools[0].Description' "Regional pool in us-east-1"

# the top pool now shows the Regional pool as an allocation
expect_json "$TOP/allocations.json" '.IpamPoolAllocations | length' 1
expect_json "$TOP/allocations.json" '.IpamPoolAllocations[0].Cidr' 10.0.0.0/16
expect_json "$TOP/allocations.json" '.IpamPoolAllocations[0].ResourceType' ipam-pool
expect_json "$TOP/allocations.json" '.IpamPoolAllocations[0].ResourceId' "$east"
expect_match "$(rd "$TOP/allocations.json" | jq -r '.IpamPoolAllocations[0].IpamPoolAllocationId')" \
	'^ipam-pool-alloc-[0-9a-f]+$' "IpamPoolAllocationId is an AWS-style id"
expect_eq "$(t ls "$TOP/allocations")" "$east" "allocations/ of the top pool: named by the child id"
expect_file_eq "$TOP/allocations/$east/cidr" 10.0.0.0/16
expect_file_eq "$TOP/allocations/$east/resource-type" ipam-pool
expect_file_eq "$TOP/allocations/$east/resource-id" "$east"

# utilization: a /16 of a /8
expect_eq "$(status_get "$TOP" percent-allocated)" 0.390625 "top: percent-allocated=0.390625"
expect_eq "$(status_get "$TOP" percent-assigned)" 0 "top: percent-assigned=0"
expect_eq "$(status_get "$TOP" percent-available)" 99.609375 "top: percent-available=99.609375"
expect_eq "$(status_get "$TOP" total-addresses)" 16777216 "top: total-addresses"
expect_eq "$(status_get "$TOP" allocated-to-pools-addresses)" 65536 "top: allocated-to-pools-addresses"
expect_eq "$(status_get "$TOP" available-addresses)" 16711680 "top: available-addresses"
expect_eq "$(status_get "$TOP" pool-depth)" 1 "top: pool-depth"
expect_eq "$(status_get "$TOP" source-pool-id)" "" "top: source-pool-id is empty"

# the second Regional pool, us-west-2
WEST=$TOP/pools/us-west-2
expect_ok mkdir "$WEST"
expect_ok wr "$WEST/locale" us-west-2
expect_ok wr "$WEST/cidrs" 10.1.0.0/16
west=$(idof "$WEST")
expect_json "$WEST/pool.json" '.IpamPools[0].Locale' us-west-2
expect_eq "$(status_get "$TOP" percent-allocated)" 0.78125 "top with two /16 children: percent-allocated=0.78125"
expect_eq "$(t ls "$TOP/allocations" | sort | tr '\n' ' ')" "$(printf '%s\n' "$east" "$west" | sort | tr '\n' ' ')" "allocations/ lists both child pools"
expect_json "$TOP/allocations.json" '[.IpamPoolAllocations[] | .Cidr + "=" + .ResourceId] | sort | join(" ")' \
	"10.0.0.0/16=$east 10.1.0.0/16=$west"
# a locale outside the operating locales is refused
DUMMY=$TOP/pools/eu
expect_ok mkdir "$DUMMY"
expect_errno EINVAL wr "$DUMMY/locale" eu-central-1
expect_ok rmdir "$DUMMY"

# Create a development pool (--locale us-east-1, as the guide insists)
DEV=$EAST/pools/dev
expect_ok mkdir "$DEV"
expect_ok wr "$DEV/locale" us-east-1
expect_ok wr "$DEV/description" "Development pool"
dev=$(idof "$DEV")
expect_ok wr "$DEV/cidrs" 10.0.0.0/24
expect_json "$DEV/cidrs.json" '.IpamPoolCidrs[] | select(.Cidr=="10.0.0.0/24") | .State' provisioned
expect_json "$DEV/pool.json" '.IpamPools[0].PoolDepth' 3
expect_json "$DEV/pool.json" '.IpamPools[0].SourceIpamPoolId' "$east"
expect_json "$DEV/pool.json" '.IpamPools[0].Locale' us-east-1
expect_file_eq "$DEV/locale" us-east-1

# the Regional pool's full status (SPEC §6.1 order)
expected="pool-id=$east
scope-id=$scope
source-pool-id=$top
state=create-complete
locale=us-east-1
address-family=ipv4
pool-depth=2
provisioned-cidrs=1
total-addresses=65536
allocated-to-pools-addresses=256
assigned-addresses=0
available-addresses=65280
percent-allocated=0.390625
percent-assigned=0
percent-available=99.609375
allocation-count=1
compliant-resource-cidrs=0
noncompliant-resource-cidrs=0"
got=$(rd "$EAST/status")
expect_eq "$(printf '%s\n' "$got" | sed '$d')" "$expected" "us-east-1: cat status (all but the last line)"
expect_match "$(printf '%s\n' "$got" | tail -n 1)" '^largest-free-block=(10\.0\.128\.0)?/17$' \
	"us-east-1: last line largest-free-block (/17)"

# Create a VPC using an IPAM pool CIDR: --ipv4-netmask-length 26
got=$(wr_readback "$DEV/allocate" "IPAM-VPC /26 description=IPAM-VPC")
expect_eq "$got" 10.0.0.0/26 "allocate /26 from dev: the read on the same fd returns the CIDR"
expect_file_eq "$DEV/allocations/IPAM-VPC/cidr" 10.0.0.0/26
expect_file_eq "$DEV/allocations/IPAM-VPC/resource-type" custom
expect_file_eq "$DEV/allocations/IPAM-VPC/description" IPAM-VPC
# get-ipam-pool-allocations --ipam-pool-id dev
expect_json "$DEV/allocations.json" '.IpamPoolAllocations | length' 1
expect_json "$DEV/allocations.json" '.IpamPoolAllocations[0].Cidr' 10.0.0.0/26
expect_json "$DEV/allocations.json" '.IpamPoolAllocations[0].ResourceType' custom
expect_json "$DEV/allocations.json" '.IpamPoolAllocations[0].Description' IPAM-VPC
expect_json "$DEV/allocations.json" '.IpamPoolAllocations[0].IpamPoolAllocationId' \
	"$(rd "$DEV/allocations/IPAM-VPC/id")"
expect_eq "$(status_get "$DEV" percent-assigned)" 25 "dev: percent-assigned=25"
expect_eq "$(status_get "$DEV" percent-available)" 75 "dev: percent-available=75"
# "you can't allocate a /25 CIDR from a /24 pool" once a /26 is taken
expect_errno ENOSPC wr "$DEV/allocate" "big /24"

# The same create-vpc as a resource: --tag-specifications Name=IPAM-VPC
# (L3371ff); the Name tag is the VPC's name (ResourceName), and
# describe-vpcs --filters Name=tag:Name,Values=IPAM-VPC finds it
VPC=$MNT/scopes/private/resources/vpc-0ipamtutorial01
expect_ok mkdir "$VPC"
expect_ok wr "$VPC/locale" us-east-1
expect_ok wr "$VPC/tags/Name" IPAM-VPC
expect_eq "$(wr_readback "$VPC/allocate" "$dev /26")" 10.0.0.64/26 "create-vpc --ipv4-netmask-length 26: the VPC gets a /26 of dev"
expect_json "$MNT/scopes/private/resources.json" \
	'.IpamResourceCidrs[] | select(.ResourceTags[] | .Key == "Name" and .Value == "IPAM-VPC") | [.ResourceName, .ResourceType, .ResourceCidr, .ManagementState, .IpamPoolId] | join(" ")' \
	"IPAM-VPC vpc 10.0.0.64/26 managed $dev"
expect_json "$DEV/allocations.json" '.IpamPoolAllocations[] | select(.ResourceId == "vpc-0ipamtutorial01") | .ResourceType + " " + .Cidr' \
	"vpc 10.0.0.64/26"
expect_ok rmdir "$VPC"
expect_json "$DEV/allocations.json" '.IpamPoolAllocations | length' 1

# Clean up in reverse order, with the DependencyViolation refusals first
expect_errno ENOTEMPTY rmdir "$TOP"
expect_errno EBUSY rmdir "$DEV"
expect_errno EBUSY wr "$EAST/cidrs" -10.0.0.0/16
expect_errno EBUSY wr "$DEV/cidrs" -10.0.0.0/24
expect_ok rmdir "$DEV/allocations/IPAM-VPC"
expect_ok wr "$DEV/cidrs" -10.0.0.0/24
expect_file_empty "$DEV/cidrs" "dev: no CIDR left"
expect_eq "$(t ls -A "$EAST/allocations" | wc -l)" 0 "deprovisioning dev's CIDR frees it in us-east-1"
expect_ok rmdir "$DEV"
t test -e "$MNT/by-id/$dev"
[ $? -ne 0 ]
check $? "by-id/<dev id> is gone after rmdir"
expect_ok wr "$EAST/cidrs" -10.0.0.0/16
expect_ok rmdir "$EAST"
expect_ok wr "$WEST/cidrs" -10.1.0.0/16
expect_ok rmdir "$WEST"
expect_eq "$(status_get "$TOP" percent-allocated)" 0 "top: percent-allocated=0 after the cleanup"
expect_ok wr "$TOP/cidrs" -10.0.0.0/8
expect_ok rmdir "$TOP"
expect_eq "$(t ls -A "$MNT/scopes/private/pools" | wc -l)" 0 "no pool left"

finish
