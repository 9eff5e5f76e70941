#!/bin/bash
# 105-sequential-eips.sh - the guide's "Allocate sequential Elastic IP
# addresses from an IPAM pool" tutorial end to end (L8986-L9400, issue 12
# §5), and Elastic IPs from a public IPv4 pool provisioned from a BYOIP
# pool (L6900-L6943): an Amazon-provided contiguous /29 (here: the first
# /29 of the provider CIDRs), EIPs allocated from it one /32 at a time in
# sequence, as allocations of type eip, with association state; cleanup in
# the guide's order (disassociate, release, deprovision, delete).
. "$(dirname "$0")/lib.sh"
mount_ipamfs -o home-locale=us-east-1,byoip-proof=skip
expect_ok wrf "$MNT/ipam/operating-locales" 'us-east-1\nus-west-2\n'
expect_ok wr "$MNT/ipam/provider-cidrs" 18.97.0.40/29

S=$MNT/scopes/public
R=$S/resources
AA=$S/allocate-address
# Step 1-2: the pool (L9090-L9160), a /29 by netmask (L9200-L9244)
mkpool public contig
expect_ok wr "$POOL/public-ip-source" amazon
expect_ok wr "$POOL/aws-service" ec2
expect_ok wr "$POOL/locale" us-east-1
expect_ok wr "$POOL/cidrs" /29
expect_json "$POOL/cidrs.json" '.IpamPoolCidrs[0] | "\(.Cidr) \(.State) \(.NetmaskLength)"' "18.97.0.40/29 provisioned 29"
PID=$(idof "$POOL")

# Step 3: allocate-address --ipam-pool-id, sequentially (L9263-L9290, L8990)
exec 3<>"$AA"
got=()
for i in 1 2 3; do
	echo "$PID" >&3
	read -r -t 30 line <&3
	got+=("$line")
done
exec 3>&-
expect_match "${got[0]}" '^eipalloc-[0-9a-f]{17} 18\.97\.0\.40$' "the first EIP is the block's first address (${got[0]})"
expect_eq "${got[1]#* } ${got[2]#* }" "18.97.0.41 18.97.0.42" "then the next ones, in sequence"
E1=${got[0]%% *} E2=${got[1]%% *} E3=${got[2]%% *}
expect_eq "$(wr_readback "$AA" "$PID 18.97.0.45")" "$(ls "$R" | grep -v -e "$E1" -e "$E2" -e "$E3" | head -1) 18.97.0.45" \
	"--address 18.97.0.45 takes that one"
E4=$(ls "$R" | grep -v -e "$E1" -e "$E2" -e "$E3")
expect_errno EADDRINUSE wr "$AA" "$PID 18.97.0.45"
expect_errno EADDRNOTAVAIL wr "$AA" "$PID 18.97.1.1"
expect_errno_each EINVAL "$AA" "$PID 18.97.0.44/31" "$PID 2600:1f13::1" "ipam-pool-0nope" \
	"vpc-0123 18.97.0.1" "$PID 18.97.0.46 extra" "$PID 18.97.0.046"
expect_eq "$(wr_readback "$AA" "$PID")" "$(ls "$R" | grep -v -e "$E1" -e "$E2" -e "$E3" -e "$E4") 18.97.0.43" \
	"the next one fills the gap first"
for a in 44 46 47; do wr "$AA" "$PID" || not_ok "allocate .$a"; done
expect_errno ENOSPC wr "$AA" "$PID"
expect_eq "$(ls "$R" | wc -l)" 8 "eight EIPs: the whole /29, network and broadcast address included (L5643)"

# Step 4: the allocations (L9350-L9367) and describe-addresses
expect_json "$POOL/allocations.json" \
	"[.IpamPoolAllocations[] | select(.ResourceId == \"$E1\") | \"\(.Cidr) \(.ResourceType) \(.ResourceRegion)\"] | .[0]" \
	"18.97.0.40/32 eip us-east-1"
expect_json "$S/addresses.json" ".Addresses[] | select(.AllocationId == \"$E1\") | \"\(.PublicIp) \(.PublicIpv4Pool) \(.NetworkBorderGroup) \(.Domain)\"" \
	"18.97.0.40 $PID us-east-1 vpc"
expect_file_eq "$R/$E1/resource-type" eip
expect_file_eq "$R/$E1/association" ""
expect_match "$(t cat "$MNT/events")" "\"action\":\"create-resource\",\"id\":\"$E1\"" "allocate-address is an event"

# association (to an instance or a network interface)
expect_ok wr "$R/$E1/association" i-0123456789abcdef0
expect_ok wr "$R/$E2/association" eni-0123456789abcdef0
expect_errno_each EINVAL "$R/$E3/association" vpc-0123 "i-1 i-2" ../i-1 eipalloc-1
expect_json "$S/addresses.json" ".Addresses[] | select(.AllocationId == \"$E1\") | .InstanceId" i-0123456789abcdef0
expect_json "$S/addresses.json" ".Addresses[] | select(.AllocationId == \"$E2\") | .NetworkInterfaceId" eni-0123456789abcdef0
mkdir "$R/vpc-0aa" || not_ok "mkdir vpc-0aa"
expect_errno EINVAL wr "$R/vpc-0aa/association" i-0123
expect_match "$(errors_last)" "association applies to Elastic IPs" "only EIPs are associated"

# export -> import into an empty IPAM -> export: the provider CIDRs, the
# Amazon-provided block, the EIPs and their associations come back
rd "$MNT/export.json" >"$TMPD/e1.json"
expect_ok jq -e --arg e "$E1" '.Ipam.ProviderCidrs == ["18.97.0.40/29"] and ([.IpamResources[] | select(.ResourceId == $e) | .Association] == ["i-0123456789abcdef0"])' "$TMPD/e1.json"
A=$MNT
DB=$TMPD/b.db MNT=$TMPD/b
mkdir "$MNT"
start_ipamfs
t cp "$TMPD/e1.json" "$MNT/import"
check $? "cp export.json to /import of an empty IPAM"
rd "$MNT/export.json" >"$TMPD/e2.json"
expect_eq "$(cmp "$TMPD/e1.json" "$TMPD/e2.json" && echo same)" same "the round trip is byte-identical"
expect_file_eq "$MNT/scopes/public/resources/$E2/association" eni-0123456789abcdef0
MNT=$A

# Cleanup (L9376-L9400): disassociate, release, deprovision, delete
expect_errno EBUSY rmdir "$R/$E1"
expect_match "$(errors_last)" "associated with 'i-0123456789abcdef0' \(disassociate it first\)" "release waits for the disassociation"
expect_ok wr "$R/$E1/association" ""
expect_file_eq "$R/$E1/association" ""
expect_ok rmdir "$R/$E1"
expect_errno EBUSY wr "$POOL/cidrs" -18.97.0.40/29
expect_ok wr "$R/$E2/association" ""
for e in $(ls "$R" | grep eipalloc); do rmdir "$R/$e" || not_ok "release $e"; done
expect_ok wr "$POOL/cidrs" -18.97.0.40/29
expect_ok rmdir "$POOL"

# a public IPv4 pool from a BYOIP pool (L6900-L6943), EIPs from it
mkpool public byoip 198.51.100.0/24
expect_ok wr "$POOL/locale" us-east-1
expect_ok wr "$POOL/aws-service" ec2
BID=$(idof "$POOL")
PV=ipv4pool-ec2-0123456789abcdef0
mkdir "$R/$PV" || not_ok "mkdir $PV"
expect_ok wr "$R/$PV/locale" us-east-1
expect_errno EINVAL wr "$R/$PV/allocate" "$BID /23"
expect_match "$(errors_last)" "takes /24 to /32 \(L5991\)" "a public IPv4 pool block is /24 to /32"
expect_eq "$(wr_readback "$R/$PV/allocate" "$BID /24")" 198.51.100.0/24 "provision-public-ipv4-pool-cidr --netmask-length 24"
expect_json "$POOL/allocations.json" '.IpamPoolAllocations[0] | "\(.Cidr) \(.ResourceType) \(.ResourceId)"' \
	"198.51.100.0/24 ec2-public-ipv4-pool $PV"
expect_json "$S/public-ipv4-pools.json" '.PublicIpv4Pools[0] | "\(.PoolId) \(.TotalAddressCount) \(.TotalAvailableAddressCount) \(.PoolAddressRanges[0].FirstAddress) \(.PoolAddressRanges[0].LastAddress) \(.NetworkBorderGroup)"' \
	"$PV 256 256 198.51.100.0 198.51.100.255 us-east-1"
a1=$(wr_readback "$AA" "$PV")
a2=$(wr_readback "$AA" "$PV")
expect_eq "${a1#* } ${a2#* }" "198.51.100.0 198.51.100.1" "EIPs from the public IPv4 pool, lowest first"
expect_eq "$(wr_readback "$AA" "$PV 198.51.100.7")" "$(ls "$R" | grep eipalloc | grep -v -e "${a1% *}" -e "${a2% *}") 198.51.100.7" "a chosen address"
expect_errno EADDRINUSE wr "$AA" "$PV 198.51.100.7"
expect_errno EADDRNOTAVAIL wr "$AA" "$PV 198.51.101.7"
expect_json "$S/public-ipv4-pools.json" '.PublicIpv4Pools[0] | "\(.TotalAddressCount) \(.TotalAvailableAddressCount) \(.PoolAddressRanges[0].AvailableAddressCount)"' \
	"256 253 253"
expect_json "$S/addresses.json" ".Addresses[] | select(.AllocationId == \"${a1% *}\") | \"\(.PublicIp) \(.PublicIpv4Pool)\"" \
	"198.51.100.0 $PV"
expect_eq "$(ls "$POOL/allocations")" "$PV" "IPAM sees the public IPv4 pool's block, not its addresses (L6932)"
# the guide's deprovision order (L7000-L7030)
expect_errno EBUSY wr "$R/$PV/cidrs" -198.51.100.0/24
expect_match "$(errors_last)" "Elastic IP '${a1% *}' \(198.51.100.0/32\) is inside it" "the reason names the EIP"
expect_errno EBUSY rmdir "$R/$PV"
expect_errno EBUSY wr "$POOL/cidrs" -198.51.100.0/24
for e in $(ls "$R" | grep eipalloc); do rmdir "$R/$e" || not_ok "release $e"; done
expect_ok wr "$R/$PV/cidrs" -198.51.100.0/24
expect_eq "$(ls "$POOL/allocations")" "" "the block went back to the BYOIP pool"
expect_ok rmdir "$R/$PV"
expect_ok wr "$POOL/cidrs" -198.51.100.0/24
# no EIPs in the private scope
[ -e "$MNT/scopes/private/allocate-address" ] && not_ok "allocate-address in the private scope" || ok "allocate-address is a public-scope file"
finish
