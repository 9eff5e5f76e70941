#!/bin/bash
# 104-provider-blocks.sh - provider-supplied blocks, the local analogue of
# Amazon-provided public space (issue 12 §5, L772-L838, L8986-L9244): the
# operator lists its upstream's space in /ipam/provider-cidrs; a `/LEN`
# provision of an amazon-source pool takes the first free aligned block of
# it within the guide's limits (contiguous IPv4 /29-/30, 2 blocks per IPAM,
# L9650-L9651; IPv6 /40-/52, one block per Regional pool, L838, L9653); a
# typed CIDR is refused. python's ipaddress is the oracle of "first free
# aligned block".
. "$(dirname "$0")/lib.sh"
mount_ipamfs -o home-locale=us-east-1,byoip-proof=skip
expect_ok wrf "$MNT/ipam/operating-locales" 'us-east-1\nus-west-2\n'

PC=$MNT/ipam/provider-cidrs
PUB=$MNT/scopes/public/pools
expect_file_empty "$PC" "no provider CIDRs at first"

# bad sets change nothing
expect_errno_each EINVAL "$PC" 10.0.0.0/8 18.97.0.1/24 18.97.0.0/33 \
	2600:1f13::/129 18.97.0.0/024 'not-a-cidr' 192.168.1.0/24 fd12::/16
expect_errno EINVAL wrf "$PC" '18.97.0.0/24\n18.97.0.128/25\n'
expect_match "$(errors_last)" "18.97.0.128/25 overlaps 18.97.0.0/24" "the reason names both"
expect_errno EINVAL wrf "$PC" '18.97.0.0/24\x00\n'
expect_errno EINVAL wr "$PC" "$(head -c 5000 /dev/zero | tr '\0' 1)"
expect_file_empty "$PC" "refused sets changed nothing"

expect_ok wrf "$PC" '2600:1f13::/36\n18.97.0.0/24\n'
expect_file_eq "$PC" $'18.97.0.0/24\n2600:1f13::/36' "canonical, IPv4 first, address order"
expect_match "$(t cat "$MNT/events" | tail -n 1)" '"modify-ipam".*"provider-cidrs":\["18.97.0.0/24","2600:1f13::/36"\]' \
	"the change is an event"

# the guide's Amazon-provided contiguous IPv4 pool (L9090-L9244)
mkpool public contig
expect_ok wr "$POOL/public-ip-source" amazon
expect_ok wr "$POOL/aws-service" ec2
expect_ok wr "$POOL/locale" us-east-1
expect_json "$POOL/pool.json" '.IpamPools[0].PublicIpSource' amazon
expect_errno EINVAL wr "$POOL/cidrs" 18.97.0.40/29
expect_match "$(errors_last)" "public-ip-source is amazon, so it takes a netmask" "a typed CIDR is refused"
expect_errno_each EINVAL "$POOL/cidrs" /28 /31 /32 /24 /0
expect_file_empty "$POOL/cidrs" "refusals provisioned nothing"
expect_ok wr "$POOL/cidrs" /29
expect_file_eq "$POOL/cidrs" 18.97.0.0/29 "the first aligned /29 of the provider space"
expect_json "$POOL/cidrs.json" '.IpamPoolCidrs[0] | "\(.Cidr) \(.State) \(.NetmaskLength)"' "18.97.0.0/29 provisioned 29"
mkpool public contig2
expect_ok wr "$POOL/public-ip-source" amazon
expect_ok wr "$POOL/cidrs" /30
expect_file_eq "$POOL/cidrs" 18.97.0.8/30 "the next free aligned /30"
expect_errno EDQUOT wr "$POOL/cidrs" /30
expect_match "$(errors_last)" "2 Amazon-provided contiguous IPv4 blocks" "two blocks per IPAM (L9650)"
expect_errno EDQUOT wr "$PUB/contig/cidrs" /29
# the limit is a quota (adjustable, L9650): validated, raised, lowered back
expect_file_eq "$MNT/ipam/quotas/provider-ipv4-blocks" 2
expect_errno_each EINVAL "$MNT/ipam/quotas/provider-ipv4-blocks" 0 -1 abc 1000001
expect_file_eq "$MNT/ipam/quotas/provider-ipv6-blocks-per-pool" 1
expect_ok wr "$MNT/ipam/quotas/provider-ipv4-blocks" 3
expect_ok wr "$POOL/cidrs" /30
expect_file_eq "$POOL/cidrs" $'18.97.0.8/30\n18.97.0.12/30' "a third block within the raised quota"
expect_errno EDQUOT wr "$POOL/cidrs" /30
expect_match "$(errors_last)" "provider-ipv4-blocks: 3" "the reason names the quota"
expect_ok wr "$POOL/cidrs" -18.97.0.12/30
expect_ok wr "$MNT/ipam/quotas/provider-ipv4-blocks" 2
# a freed block is taken again first
expect_ok wr "$PUB/contig/cidrs" -18.97.0.0/29
expect_ok wr "$POOL/cidrs" /30
expect_file_eq "$POOL/cidrs" $'18.97.0.0/30\n18.97.0.8/30' "the lowest free block first"
# a BYOIP pool of the scope holds space the search steps over
expect_ok wrf "$PC" '18.97.0.0/24\n203.0.113.0/24\n2600:1f13::/36\n'
expect_ok wr "$POOL/cidrs" -18.97.0.8/30
expect_ok wr "$POOL/cidrs" -18.97.0.0/30
mkpool public byoip 18.97.0.0/24
expect_ok wr "$PUB/contig/cidrs" /29
expect_file_eq "$PUB/contig/cidrs" 203.0.113.0/29 "a provider CIDR held by a BYOIP pool is skipped"
expect_ok wr "$PUB/byoip/cidrs" -18.97.0.0/24
# a set that drops space a pool holds is refused
expect_errno EBUSY bash -c 'printf "18.97.0.0/24\n" | cat >"$1"' x "$PC"
expect_match "$(errors_last)" "203.0.113.0/29 of pool 'contig'" "the reason names the block and pool"
expect_file_eq "$PC" $'18.97.0.0/24\n203.0.113.0/24\n2600:1f13::/36'

# IPv6: a Regional pool, /40 to /52, one block per pool
mkpool public v6
expect_ok wr "$POOL/address-family" ipv6
expect_ok wr "$POOL/public-ip-source" amazon
expect_errno EINVAL wr "$POOL/cidrs" /52
expect_match "$(errors_last)" "has no locale" "Amazon-provided IPv6 goes to a Regional pool (L772)"
expect_ok wr "$POOL/locale" us-west-2
expect_errno_each EINVAL "$POOL/cidrs" /39 /53 /56 2600:1f13::/52
expect_ok wr "$POOL/cidrs" /52
expect_file_eq "$POOL/cidrs" 2600:1f13::/52
expect_errno EDQUOT wr "$POOL/cidrs" /48
expect_match "$(errors_last)" "per Regional pool" "one block per Regional pool (L9653)"
mkpool public v6b
expect_ok wr "$POOL/address-family" ipv6
expect_ok wr "$POOL/public-ip-source" amazon
expect_ok wr "$POOL/locale" us-east-1
expect_ok wr "$POOL/cidrs" /40
want=$(python3 -c '
import ipaddress as ip
taken = ip.ip_network("2600:1f13::/52")
print(next(n for n in ip.ip_network("2600:1f13::/36").subnets(new_prefix=40) if not n.overlaps(taken)))')
expect_file_eq "$POOL/cidrs" "$want" "the first /40 clear of the /52 (python ipaddress)"
mkpool public v6c
expect_ok wr "$POOL/address-family" ipv6
expect_ok wr "$POOL/public-ip-source" amazon
expect_ok wr "$POOL/locale" us-east-1
expect_ok wrf "$PC" '18.97.0.0/24
203.0.113.0/24
2600:1f13::/39
'
expect_errno ENOSPC wr "$POOL/cidrs" /40
expect_match "$(errors_last)" "no free /40 for pool 'v6c' in the provider CIDRs" "ENOSPC names the pool"

# a BYOIP pool still takes typed CIDRs, and no netmask at top level
mkpool public b2 198.51.100.0/24
expect_errno EINVAL wr "$POOL/cidrs" /24

# export and import carry the set
expect_json "$MNT/export.json" '.Ipam.ProviderCidrs | join(" ")' "18.97.0.0/24 203.0.113.0/24 2600:1f13::/39"
t cat "$MNT/export.json" >"$TMPD/export.json"
expect_ok wrf "$PC" '18.97.0.0/24
203.0.113.0/24
2600:1f13::/36
'
expect_ok wr_file "$MNT/import" "$TMPD/export.json"
expect_file_eq "$PC" $'18.97.0.0/24
203.0.113.0/24
2600:1f13::/39' "import set it back"
finish
