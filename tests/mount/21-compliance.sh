#!/bin/bash
# 21-compliance: SPEC §3.2, §5.2 and §6.2, the compliance walk-through.
# Managed VPC CIDRs are compliant while they keep their pool's rules; a
# rule added after the allocation flags them noncompliant with the broken
# rule named in `status` (netmask, then locale, then tags: L611-L616,
# L2722); a tag added or a locale restored makes them compliant again. The
# pool's compliant/noncompliant counters (§6.1) and the scope's dashboard
# counters (§6.2, L2616-L2655) follow every change, exactly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"

mount_ipamfs -o home-locale=us-east-1
expect_ok wr "$MNT/ipam/tier" advanced
expect_ok wrf "$MNT/ipam/operating-locales" 'us-east-1\nus-west-2\n'
R=$MNT/scopes/private/resources
priv=$(rd "$MNT/scopes/private/id")

mkpool private top 10.0.0.0/8
TOP=$POOL
top=$(idof "$TOP")
EAST=$TOP/pools/east
expect_ok mkdir "$EAST"
expect_ok wr "$EAST/locale" us-east-1
expect_ok wr "$EAST/cidrs" 10.0.0.0/16
east=$(idof "$EAST")
DEV=$EAST/pools/dev
expect_ok mkdir "$DEV"
expect_ok wr "$DEV/cidrs" 10.0.0.0/20
dev=$(idof "$DEV")

# pool_counts: "compliant noncompliant" of dev's status
pool_counts() {
	echo "$(status_get "$DEV" compliant-resource-cidrs) $(status_get "$DEV" noncompliant-resource-cidrs)"
}
# scope_counts: "compliant noncompliant" of the private scope's status
scope_counts() {
	echo "$(scope_get private compliant-cidrs) $(scope_get private noncompliant-cidrs)"
}

# The resources: two managed VPCs (A /24, B /26), one unmanaged VPC (C)
# inside A, an unmanaged VPC elsewhere (D), an ignored one (E), a subnet of
# A, an instance and an interface; one manual allocation in dev.
A=vpc-0c0ffee000000000a
B=vpc-0c0ffee000000000b
mkres private $A locale=us-east-1 owner=111122223333 "name=VPC A"
RA=$RES
expect_ok wr "$RA/tags/team" net
expect_eq "$(wr_readback "$RA/allocate" "$dev /24")" 10.0.0.0/24 "A gets 10.0.0.0/24 from dev"
mkres private $B locale=us-east-1 owner=111122223333
RB=$RES
expect_eq "$(wr_readback "$RB/allocate" "$dev /26")" 10.0.1.0/26 "B gets 10.0.1.0/26 from dev"
expect_ok wr "$DEV/allocate" "manual 10.0.15.0/24"
mkres private vpc-0c0ffee000000000c locale=us-east-1
RC=$RES
addcidr "$RC" 10.0.0.128/25
mkres private vpc-0c0ffee000000000d locale=us-west-2
RD=$RES
addcidr "$RD" 192.168.0.0/16
mkres private vpc-0c0ffee000000000e locale=us-east-1
RE=$RES
addcidr "$RE" 172.31.0.0/16
expect_ok wr "$RE/monitoring" ignored
mkres private subnet-0c0ffee00000000a1 locale=us-east-1 vpc-id=$A
addcidr "$RES" 10.0.0.0/26
mkres private i-0c0ffee00000000a2 locale=us-east-1 vpc-id=$A
addcidr "$RES" 10.0.0.10/32
mkres private eni-0c0ffee00000000a3 locale=us-east-1 vpc-id=$A
addcidr "$RES" 10.0.0.10/32

expect_rstatus "$RA" 10.0.0.0/24 "managed compliant overlapping $dev 25"
expect_rstatus "$RB" 10.0.1.0/26 "managed compliant nonoverlapping $dev 0"
expect_rstatus "$RC" 10.0.0.128/25 "unmanaged unmanaged overlapping - 0"
expect_rstatus "$RD" 192.168.0.0/16 "unmanaged unmanaged nonoverlapping - 0"
expect_rstatus4 "$RE" 172.31.0.0/16 "ignored ignored ignored -"
expect_eq "$(pool_counts)" "3 0" "dev: 3 compliant (A, B, manual), 0 noncompliant"
expect_eq "$(scope_counts)" "2 0" "scope: 2 compliant, 0 noncompliant"

# The scope status, every counter exact (the dashboard, L2616-L2655)
scope_head() {
	rd "$MNT/scopes/private/status" | grep -v '^pool\.'
}
scope_pools() {
	rd "$MNT/scopes/private/status" | grep '^pool\.' | LC_ALL=C sort
}
want_head() { # compliant noncompliant
	cat <<EOF
scope-id=$priv
type=private
pool-count=3
resource-cidrs=8
vpc-cidrs=5
subnet-cidrs=1
eip-cidrs=0
public-ipv4-pool-cidrs=0
instance-cidrs=1
network-interface-cidrs=1
managed-cidrs=2
unmanaged-cidrs=2
ignored-cidrs=1
compliant-cidrs=$1
noncompliant-cidrs=$2
overlapping-cidrs=2
nonoverlapping-cidrs=2
EOF
}
want_pools=$(LC_ALL=C sort <<EOF
pool.$top.percent-allocated=0.390625
pool.$top.percent-assigned=0
pool.$top.percent-available=99.609375
pool.$east.percent-allocated=6.25
pool.$east.percent-assigned=0
pool.$east.percent-available=93.75
pool.$dev.percent-allocated=0
pool.$dev.percent-assigned=14.0625
pool.$dev.percent-available=85.9375
EOF
)
expect_eq "$(scope_head)" "$(want_head 2 0)" "scope status: every counter"
expect_eq "$(scope_pools)" "$want_pools" "scope status: the three percentages of each pool"
expect_eq "$(rd "$MNT/scopes/private/status" | head -n 17 | tail -n 1)" "nonoverlapping-cidrs=2" \
	"scope status: the counters come first, in the documented order"
sj=$(rd "$MNT/scopes/private/status.json")
expect_eq "$(jq -r '[."scope-id", .type, ."pool-count", ."resource-cidrs", ."vpc-cidrs", ."managed-cidrs", ."unmanaged-cidrs", ."ignored-cidrs", ."compliant-cidrs", ."overlapping-cidrs"] | map(tostring) | join(" ")' <<<"$sj")" \
	"$priv private 3 8 5 2 2 1 2 2" "scope status.json: the same counters"
expect_eq "$(jq -r '[.. | objects | select(has("percent-assigned")) | ."percent-assigned"] | map(tostring) | sort | join(" ")' <<<"$sj")" \
	"0 0 14.0625" "scope status.json: the pools' percent-assigned"

pub=$(rd "$MNT/scopes/public/id")
expect_eq "$(rd "$MNT/scopes/public/status" | head -n 4 | tr '\n' ' ')" "scope-id=$pub type=public pool-count=0 resource-cidrs=0 " \
	"public scope status: empty"

# 1. A rule changed after the allocation: max netmask /24 breaks B's /26
expect_ok wr "$DEV/allocation-max-netmask-length" 24
line=$(rstatus "$RB" 10.0.1.0/26)
expect_match "$line" "^10\\.0\\.1\\.0/26 managed noncompliant nonoverlapping $dev 0 .*allocation-max-netmask-length" \
	"B: noncompliant, the reason names allocation-max-netmask-length"
expect_match "$line" "/26" "B: the reason names the CIDR's /26"
expect_match "$(rd "$RB/status.json")" 'allocation-max-netmask-length' "B: status.json carries the reason"
expect_rstatus "$RA" 10.0.0.0/24 "managed compliant overlapping $dev 25"
expect_eq "$(pool_counts)" "2 1" "dev: 2 compliant, 1 noncompliant"
expect_eq "$(scope_counts)" "1 1" "scope: 1 compliant, 1 noncompliant"
expect_eq "$(scope_head)" "$(want_head 1 1)" "scope status after the rule change: every counter"
expect_json "$MNT/scopes/private/resources.json" '.IpamResourceCidrs[] | select(.ResourceId == "'$B'") | .ComplianceStatus' noncompliant
expect_file_eq "$RB/cidrs" 10.0.1.0/26 "the noncompliant CIDR is kept"
expect_file_eq "$DEV/allocations/$B/cidr" 10.0.1.0/26 "its allocation is kept"
# ... and a new request that breaks the rule is refused (§3.2)
mkres private vpc-0c0ffee000000000f locale=us-east-1
expect_errno EINVAL wr "$RES/allocate" "$dev /26"
expect_ok rmdir "$RES"

# 2. A tag rule: A lacks environment=dev (B still breaks the netmask first)
expect_ok wr "$DEV/allocation-resource-tags" environment=dev
line=$(rstatus "$RA" 10.0.0.0/24)
expect_match "$line" "^10\\.0\\.0\\.0/24 managed noncompliant overlapping $dev 25 .*environment" \
	"A: noncompliant, the reason names the tag environment"
expect_match "$(rstatus "$RB" 10.0.1.0/26)" "allocation-max-netmask-length" "B: the netmask rule is still named first"
expect_eq "$(pool_counts)" "1 2" "dev: the manual allocation has no tags to check: 1 compliant, 2 noncompliant"
expect_eq "$(scope_counts)" "0 2" "scope: 0 compliant, 2 noncompliant"
expect_eq "$(scope_head)" "$(want_head 0 2)" "scope status with two noncompliant CIDRs: every counter"

# 3. The tag added: A is compliant again
expect_ok wr "$RA/tags/environment" dev
expect_rstatus "$RA" 10.0.0.0/24 "managed compliant overlapping $dev 25"
expect_eq "$(pool_counts)" "2 1" "dev: 2 compliant, 1 noncompliant after the tag"
expect_eq "$(scope_counts)" "1 1" "scope: 1 compliant, 1 noncompliant after the tag"
# a wrong value, a removed tag: noncompliant; the right value: compliant
expect_ok wr "$RA/tags/environment" prod
expect_match "$(rstatus "$RA" 10.0.0.0/24)" "^10\\.0\\.0\\.0/24 managed noncompliant .*environment" "A: environment=prod is noncompliant"
expect_ok t rm "$RA/tags/environment"
absent "$RA/tags/environment" "the tag is removed"
expect_match "$(rstatus "$RA" 10.0.0.0/24)" "^10\\.0\\.0\\.0/24 managed noncompliant " "A: without the tag, noncompliant"
expect_eq "$(pool_counts)" "1 2" "dev: 1 compliant, 2 noncompliant without A's tag"
expect_ok wr "$RA/tags/environment" dev
expect_rstatus "$RA" 10.0.0.0/24 "managed compliant overlapping $dev 25"

# 4. The netmask rule cleared: B now lacks the tag; given the tag, compliant
expect_ok wr "$DEV/allocation-max-netmask-length" ""
expect_match "$(rstatus "$RB" 10.0.1.0/26)" "^10\\.0\\.1\\.0/26 managed noncompliant nonoverlapping $dev 0 .*environment" \
	"B: next broken rule, the tag"
expect_ok wr "$RB/tags/environment" dev
expect_rstatus "$RB" 10.0.1.0/26 "managed compliant nonoverlapping $dev 0"
expect_eq "$(pool_counts)" "3 0" "dev: all 3 compliant again"
expect_eq "$(scope_head)" "$(want_head 2 0)" "scope status: all compliant again"

# 5. The locale (L616): a VPC in another Region than its pool's locale
expect_ok wr "$RA/locale" us-west-2
line=$(rstatus "$RA" 10.0.0.0/24)
expect_match "$line" "^10\\.0\\.0\\.0/24 managed noncompliant overlapping $dev 25 .*us-west-2" \
	"A in us-west-2: noncompliant, the reason names its locale"
expect_match "$line" "us-east-1" "the reason names the pool's locale us-east-1"
expect_eq "$(pool_counts)" "2 1" "dev: 2 compliant, 1 noncompliant (locale)"
expect_ok wr "$RA/locale" us-east-1
expect_rstatus "$RA" 10.0.0.0/24 "managed compliant overlapping $dev 25"

# 6. Ignoring a noncompliant VPC takes it out of every count
expect_ok wr "$DEV/allocation-resource-tags" environment=prod
expect_eq "$(pool_counts)" "1 2" "dev: environment=prod required: 1 compliant, 2 noncompliant"
expect_ok wr "$RB/monitoring" ignored
expect_rstatus4 "$RB" 10.0.1.0/26 "ignored ignored ignored -"
expect_eq "$(pool_counts)" "1 1" "dev: B ignored, its allocation returned: 1 compliant, 1 noncompliant"
expect_eq "$(status_get "$DEV" allocation-count)" 2 "dev: 2 allocations (A and manual)"
expect_eq "$(scope_get private managed-cidrs) $(scope_get private ignored-cidrs) $(scope_counts)" "1 2 0 1" \
	"scope: managed 1, ignored 2, compliant 0, noncompliant 1"
# the rules cleared: every managed CIDR compliant
expect_ok wr "$DEV/allocation-resource-tags" ""
expect_file_empty "$DEV/allocation-resource-tags" "required tags cleared"
expect_eq "$(pool_counts)" "2 0" "dev: no rules, 2 compliant"
expect_rstatus "$RA" 10.0.0.0/24 "managed compliant overlapping $dev 25"

# 7. Overlap follows the CIDRs: C removed, A is nonoverlapping
expect_ok rmdir "$RC"
expect_rstatus "$RA" 10.0.0.0/24 "managed compliant nonoverlapping $dev 25"
expect_eq "$(scope_get private overlapping-cidrs) $(scope_get private nonoverlapping-cidrs)" "0 2" \
	"scope: overlapping 0, nonoverlapping 2 (A and D)"
expect_eq "$(scope_get private resource-cidrs) $(scope_get private vpc-cidrs)" "7 4" "scope: 7 resource CIDRs, 4 of VPCs"

finish
