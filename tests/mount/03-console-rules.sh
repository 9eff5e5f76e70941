#!/bin/bash
# 03-console-rules: the console tutorial's hierarchy (guide L3490-L4380:
# Global pool 10.0.0.0/16, Regional pools us-west-1 10.0.0.0/18 and
# us-west-2 10.0.64.0/18, Pre-prod pool 10.0.0.0/20 with /24 min, default
# and max and the tag rule environment=pre-prod) and the allocation rules of
# SPEC §3.2: netmask rules refuse new requests (EINVAL), the default netmask
# serves mkdir, rules are not inherited, they bound child-pool CIDRs, a rule
# changed later flags existing allocations noncompliant; and the exact
# status / status.json of a /24 pool holding a /26 (§6.1).
. "$(dirname "$0")/lib.sh"

mount_ipamfs -o home-locale=us-east-1
expect_ok wr "$MNT/ipam/tier" advanced
expect_ok wrf "$MNT/ipam/operating-locales" 'us-east-1\nus-west-1\nus-west-2\n'
expect_file_eq "$MNT/ipam/operating-locales" $'us-east-1\nus-west-1\nus-west-2'
scope=$(rd "$MNT/scopes/private/id")

# Step 3: the top-level pool, locale None
mkpool private global 10.0.0.0/16
GLOBAL=$POOL
expect_ok wr "$GLOBAL/description" "Global pool"
expect_ok wr "$GLOBAL/locale" none
global=$(idof "$GLOBAL")

# Step 4: Regional pools
W1=$GLOBAL/pools/us-west-1
W2=$GLOBAL/pools/us-west-2
expect_ok mkdir "$W1"
expect_ok wr "$W1/locale" us-west-1
expect_ok wr "$W1/description" "Regional pool us-west-1"
expect_ok wr "$W1/cidrs" 10.0.0.0/18
expect_ok mkdir "$W2"
expect_ok wr "$W2/locale" us-west-2
expect_ok wr "$W2/cidrs" 10.0.64.0/18
w1=$(idof "$W1")
# "10.0.0.0/16 (100% available -> 75% available after allocations)", twice
expect_eq "$(status_get "$GLOBAL" percent-allocated)" 50 "global: percent-allocated=50"
expect_eq "$(status_get "$GLOBAL" percent-available)" 50 "global: percent-available=50"
expect_eq "$(status_get "$W1" percent-available)" 100 "us-west-1: percent-available=100"
# locales are write-once
expect_errno EPERM wr "$W1/locale" us-west-2
expect_file_eq "$W1/locale" us-west-1
# an operating locale in use cannot be removed; the tier cannot go to free
expect_errno EBUSY wrf "$MNT/ipam/operating-locales" 'us-east-1\nus-west-1\n'
expect_errno EPERM wr "$MNT/ipam/tier" free

# Step 5: the pre-production development pool with its rules
PRE=$W1/pools/pre-prod
expect_ok mkdir "$PRE"
expect_file_eq "$PRE/locale" us-west-1 "pre-prod inherits the locale us-west-1"
expect_errno EPERM wr "$PRE/locale" us-west-2
expect_ok wr "$PRE/cidrs" 10.0.0.0/20
expect_ok wr "$PRE/allocation-min-netmask-length" 24
expect_ok wr "$PRE/allocation-max-netmask-length" 24
expect_ok wr "$PRE/allocation-default-netmask-length" 24
expect_ok wr "$PRE/allocation-resource-tags" environment=pre-prod
expect_file_eq "$PRE/allocation-min-netmask-length" 24
expect_file_eq "$PRE/allocation-max-netmask-length" 24
expect_file_eq "$PRE/allocation-default-netmask-length" 24
expect_file_eq "$PRE/allocation-resource-tags" environment=pre-prod
expect_json "$PRE/pool.json" '.IpamPools[0].AllocationMinNetmaskLength' 24
expect_json "$PRE/pool.json" '.IpamPools[0].AllocationMaxNetmaskLength' 24
expect_json "$PRE/pool.json" '.IpamPools[0].AllocationDefaultNetmaskLength' 24
expect_json "$PRE/pool.json" '.IpamPools[0].AllocationResourceTags | map(.Key + "=" + .Value) | join(",")' environment=pre-prod
expect_ok wrf "$PRE/allocation-resource-tags" 'team=net\nenvironment=pre-prod\n'
expect_file_eq "$PRE/allocation-resource-tags" $'environment=pre-prod\nteam=net' "required tags: a write replaces the set, sorted"
expect_ok wr "$PRE/allocation-resource-tags" environment=pre-prod
expect_file_eq "$PRE/allocation-resource-tags" environment=pre-prod

# rules of the pool are checked on every new request
expect_errno EINVAL wr "$PRE/allocate" "small /25"
expect_errno EINVAL wr "$PRE/allocate" "big /23"
expect_errno EINVAL wr "$PRE/allocate" "specific 10.0.1.0/25"
expect_eq "$(nalloc "$PRE")" 0 "refused requests allocate nothing"
# Step 7: the VPC gets the only size allowed, /24 (mkdir: the default)
expect_ok mkdir "$PRE/allocations/example-vpc"
expect_file_eq "$PRE/allocations/example-vpc/cidr" 10.0.0.0/24
expect_ok wr "$PRE/allocate" "second /24"
expect_file_eq "$PRE/allocations/second/cidr" 10.0.1.0/24
expect_ok wr "$PRE/allocate" "third 10.0.5.0/24"
expect_file_eq "$PRE/allocations/third/cidr" 10.0.5.0/24
# rule values are checked: range and min <= default <= max
expect_errno EINVAL wr "$PRE/allocation-min-netmask-length" 25
expect_errno EINVAL wr "$PRE/allocation-default-netmask-length" 20
expect_errno EINVAL wr "$PRE/allocation-max-netmask-length" 33
expect_errno EINVAL wr "$PRE/allocation-max-netmask-length" -1
expect_errno EINVAL wr "$PRE/allocation-max-netmask-length" abc
expect_file_eq "$PRE/allocation-max-netmask-length" 24 "max unchanged after refused writes"
# clearing the default: mkdir has no size to use
expect_ok wr "$PRE/allocation-default-netmask-length" ""
expect_file_eq "$PRE/allocation-default-netmask-length" ""
expect_errno EINVAL mkdir "$PRE/allocations/nosize"
t test -e "$PRE/allocations/nosize"
[ $? -ne 0 ]
check $? "no allocation 'nosize' after the refused mkdir"

# rules are not inherited (L677) and bound what a child pool provisions
expect_ok wr "$W2/allocation-min-netmask-length" 20
expect_ok wr "$W2/allocation-max-netmask-length" 22
C=$W2/pools/child
expect_ok mkdir "$C"
expect_file_eq "$C/allocation-min-netmask-length" "" "child: min netmask not inherited"
expect_file_eq "$C/allocation-max-netmask-length" "" "child: max netmask not inherited"
expect_errno EINVAL wr "$C/cidrs" 10.0.64.0/24
expect_errno EINVAL wr "$C/cidrs" 10.0.64.0/19
expect_errno EINVAL wr "$C/cidrs" /24
expect_errno EINVAL wr "$C/cidrs" /19
expect_ok wr "$C/cidrs" 10.0.64.0/21
# ... and do not apply to the child's own allocations (L620)
expect_ok wr "$C/allocate" "tiny /28"
expect_file_eq "$C/allocations/tiny/cidr" 10.0.64.0/28

# a /24 pool with a /26 allocation: the guide's 25 % / 75 % (§6.1)
D=$W1/pools/dev
expect_ok mkdir "$D"
expect_ok wr "$D/cidrs" 10.0.16.0/24
expect_ok wr "$D/allocate" "vpc /26"
expect_file_eq "$D/allocations/vpc/cidr" 10.0.16.0/26
d=$(idof "$D")
expected="pool-id=$d
scope-id=$scope
source-pool-id=$w1
state=create-complete
locale=us-west-1
address-family=ipv4
pool-depth=3
provisioned-cidrs=1
total-addresses=256
allocated-to-pools-addresses=0
assigned-addresses=64
available-addresses=192
percent-allocated=0
percent-assigned=25
percent-available=75
allocation-count=1
compliant-resource-cidrs=1
noncompliant-resource-cidrs=0"
got=$(rd "$D/status")
expect_eq "$(printf '%s\n' "$got" | sed '$d')" "$expected" "dev (/24 with a /26): cat status, all lines but the last"
expect_match "$(printf '%s\n' "$got" | tail -n 1)" '^largest-free-block=(10\.0\.16\.128)?/25$' \
	"dev: largest-free-block (/25)"
expect_eq "$(printf '%s\n' "$got" | wc -l)" 19 "status has the 19 keys of §6.1"

# status.json carries the same numbers (keys compared without case, - and _)
norm='with_entries(.key |= (ascii_downcase | gsub("[-_]"; ""))) | '
sj=$(rd "$D/status.json")
printf '%s' "$sj" | jq -e . >/dev/null
check $? "status.json is valid JSON"
for kv in totaladdresses=256 assignedaddresses=64 availableaddresses=192 \
	allocatedtopoolsaddresses=0 percentassigned=25 percentavailable=75 \
	percentallocated=0 allocationcount=1 pooldepth=3 poolid="$d"; do
	k=${kv%%=*}
	v=${kv#*=}
	expect_eq "$(printf '%s' "$sj" | jq -r "$norm.$k | tostring")" "$v" "status.json: $k = $v"
done

# a rule changed later: the allocation stays, flagged noncompliant (§3.2)
expect_ok wr "$D/allocation-max-netmask-length" 25
expect_file_eq "$D/allocations/vpc/cidr" 10.0.16.0/26 "the existing allocation is kept"
expect_eq "$(status_get "$D" compliant-resource-cidrs)" 0 "dev: compliant-resource-cidrs=0 after the rule change"
expect_eq "$(status_get "$D" noncompliant-resource-cidrs)" 1 "dev: noncompliant-resource-cidrs=1 after the rule change"
expect_ok wr "$D/allocation-max-netmask-length" ""
expect_eq "$(status_get "$D" noncompliant-resource-cidrs)" 0 "dev: compliant again once the rule is cleared"

finish
