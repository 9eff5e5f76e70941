#!/bin/bash
# 107-transfer.sh - the guide's "Transfer a BYOIP IPv4 CIDR to IPAM"
# tutorial end to end (L8336-L8858, issue 12 §7): a BYOIP CIDR that a
# public IPv4 pool holds outside IPAM moves into a top-level pool of the
# public scope, keeping its Elastic IPs; the refusals of L8338, L8421,
# L8425; the cleanup in the guide's order (L7000-L7030, L8790-L8858).
. "$(dirname "$0")/lib.sh"
mount_ipamfs -o home-locale=us-east-1,byoip-proof=skip
expect_ok wrf "$MNT/ipam/operating-locales" 'us-east-1\nus-west-2\n'

S=$MNT/scopes/public
R=$S/resources
MV=$S/move-byoip-cidr-to-ipam
PV=ipv4pool-ec2-0019eed22a684e0b3
CIDR=130.137.249.0/24

# Before: the BYOIP CIDR in a public IPv4 pool outside IPAM, with EIPs
mkdir "$R/$PV" || { echo "Bail out! mkdir $PV"; exit 1; }
expect_ok wr "$R/$PV/locale" us-west-2
expect_ok wr "$R/$PV/owner" 111122223333
expect_ok wr "$R/$PV/cidrs" "$CIDR"
e1=$(wr_readback "$S/allocate-address" "$PV")
e2=$(wr_readback "$S/allocate-address" "$PV 130.137.249.255")
expect_eq "${e1#* } ${e2#* }" "130.137.249.0 130.137.249.255" "two EIPs, the first and the last address (L8625)"
before=$(t jq -c '[.Addresses[] | {AllocationId, PublicIp, PublicIpv4Pool}]' "$S/addresses.json")

# Step 3: a top-level pool with the CIDR's locale and aws-service ec2
mkpool public byoip-top
T=$POOL
expect_ok wr "$T/locale" us-west-2
TID=$(idof "$T")
# refusals (each changes nothing)
expect_errno EINVAL wr "$MV" "$CIDR $TID"
expect_match "$(errors_last)" "aws-service must be ec2 \(L8425\)" "aws-service ec2 is required"
expect_ok wr "$T/aws-service" ec2
expect_ok wr "$T/cidrs" 198.51.100.0/24
mkdir "$T/pools/regional" || not_ok "mkdir regional"
expect_errno EINVAL wr "$MV" "$CIDR $(idof "$T/pools/regional")"
expect_match "$(errors_last)" "only to a top-level pool \(L8421\)" "only a top-level pool"
mkpool public east
expect_ok wr "$POOL/locale" us-east-1
expect_ok wr "$POOL/aws-service" ec2
expect_errno EINVAL wr "$MV" "$CIDR $(idof "$POOL")"
expect_match "$(errors_last)" "public IPv4 pool '$PV' is in 'us-west-2' \(L8421\)" "the locale must match"
expect_errno EINVAL wr "$MV" "2600:1f13::/48 $TID"
expect_match "$(errors_last)" "IPv6 CIDR cannot be moved to IPAM \(L8338\)" "no IPv6"
expect_errno ENOENT wr "$MV" "130.137.250.0/24 $TID"
expect_errno_each EINVAL "$MV" "$CIDR" "$CIDR ipam-pool-0nope" "130.137.249.1/24 $TID" "$CIDR $TID extra"
expect_file_eq "$T/cidrs" 198.51.100.0/24 "refusals provisioned nothing"
expect_eq "$(ls "$T/allocations")" "" "and allocated nothing"

# Step 5: move-byoip-cidr-to-ipam
expect_eq "$(wr_readback "$MV" "$CIDR $TID")" "$CIDR complete-transfer" "the CIDR is transferred (L8680-L8686)"
expect_file_eq "$T/cidrs" $'130.137.249.0/24\n198.51.100.0/24' "provisioned to the pool"
expect_json "$T/cidrs.json" ".IpamPoolCidrs[] | select(.Cidr == \"$CIDR\") | .State" provisioned
# Step 6: the allocation of L8700-L8712
expect_json "$T/allocations.json" ".IpamPoolAllocations[] | select(.Cidr == \"$CIDR\") | \"\(.ResourceId) \(.ResourceType) \(.ResourceOwner)\"" \
	"$PV ec2-public-ipv4-pool 111122223333"
expect_match "$(t cat "$R/$PV/status")" "^$CIDR managed compliant nonoverlapping $TID" "the public IPv4 pool's CIDR is managed now"
expect_eq "$(t jq -c '[.Addresses[] | {AllocationId, PublicIp, PublicIpv4Pool}]' "$S/addresses.json")" "$before" \
	"no impact on existing allocations (L8342)"
expect_match "$(t cat "$MNT/events" | grep move-byoip)" "\"cidr\":\"$CIDR\",\"public-ipv4-pool\":\"$PV\",\"state\":\"complete-transfer\"" "the move is an event"
expect_errno EEXIST wr "$MV" "$CIDR $TID"
t python3 "$SRCDIR/shapes.py" "$MNT" >/dev/null 2>&1 # (71-shapes checks shapes)

# Step 7: cleanup in the guide's order
expect_errno EBUSY wr "$T/cidrs" "-$CIDR"
expect_errno EBUSY wr "$R/$PV/cidrs" "-$CIDR"
for e in "${e1% *}" "${e2% *}"; do expect_ok rmdir "$R/$e"; done
expect_ok wr "$R/$PV/cidrs" "-$CIDR"
expect_json "$S/public-ipv4-pools.json" '.PublicIpv4Pools[0] | "\(.TotalAddressCount) \(.PoolAddressRanges | length)"' "0 0"
expect_eq "$(ls "$T/allocations")" "" "the pool's allocation went with it"
expect_ok wr "$T/cidrs" "-$CIDR"
expect_file_eq "$T/cidrs" $'130.137.249.0/24 deprovisioned\n198.51.100.0/24' "deprovisioned (L7028)"

# the RAM rule (L563, L8560-L8600) with default_permissions: the owner of
# the public IPv4 pool (the BYOIP account) and of a new EIP (who asks) must
# be allowed to use the pool, whoever writes the request
if [ "$(id -u)" -eq 0 ]; then
	DB=$TMPD/c.db MNT=$TMPD/c
	mkdir "$MNT"
	start_ipamfs -o allow_other,default_permissions,byoip-proof=skip
	expect_ok wrf "$MNT/ipam/operating-locales" 'us-east-1\nus-west-2\n'
	S=$MNT/scopes/public R=$S/resources
	mkpool public top
	expect_ok wr "$POOL/locale" us-west-2
	expect_ok wr "$POOL/aws-service" ec2
	mkdir "$R/$PV" && wr "$R/$PV/locale" us-west-2 && wr "$R/$PV/owner" 65534 && wr "$R/$PV/cidrs" "$CIDR" ||
		not_ok "a public IPv4 pool owned by 65534"
	expect_errno EACCES wr "$S/move-byoip-cidr-to-ipam" "$CIDR $(idof "$POOL")"
	expect_match "$(errors_last)" "owned by uid 65534, which may not use pool 'top'" "the BYOIP owner must be allowed to use the pool"
	expect_ok chmod 757 "$POOL"
	expect_eq "$(wr_readback "$S/move-byoip-cidr-to-ipam" "$CIDR $(idof "$POOL")")" "$CIDR complete-transfer" "once the pool is shared with it"
	expect_ok wr "$MNT/ipam/provider-cidrs" 18.97.0.0/24
	mkpool public contig
	expect_ok wr "$POOL/public-ip-source" amazon
	expect_ok wr "$POOL/locale" us-east-1
	expect_ok wr "$POOL/cidrs" /30
	expect_ok chmod 555 "$POOL"
	expect_errno EACCES wr "$S/allocate-address" "$(idof "$POOL")"
	expect_eq "$(t ls "$R" | grep -c eipalloc)" 0 "the refused EIP was not made"
	expect_ok chmod 755 "$POOL"
	expect_match "$(wr_readback "$S/allocate-address" "$(idof "$POOL")")" ' 18\.97\.0\.0$' "root's EIP from root's pool"
fi
finish
