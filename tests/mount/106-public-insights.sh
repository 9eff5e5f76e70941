#!/bin/bash
# 106-public-insights.sh - public IP insights (L3071-L3164) and the public
# metrics (L2836-L2845, L2961-L2984), issue 12 §6: the public addresses a
# discovery feed reports (describe-addresses and describe-network-interfaces
# with their Association blocks) and those the pools hold (contiguous EIPs
# of an amazon-source pool, EIPs of a public IPv4 pool) are listed in
# public-addresses.json with their type and association, counted by type
# and usage in public-ip-insights, and exported as metrics; promtool checks
# the file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"
mount_ipamfs -o home-locale=us-east-1,byoip-proof=skip
expect_ok wrf "$MNT/ipam/operating-locales" 'us-east-1\nus-west-2\n'
S=$MNT/scopes/public
R=$S/resources
AA=$S/allocate-address
PA=$S/public-addresses.json
SUM=$S/public-ip-insights
PROM=$MNT/metrics/ipam.prom

expect_file_eq "$SUM" "$(printf '%s=0\n' amazon-owned-eips ec2-public-ips byoip service-managed-ips \
	service-managed-byoip amazon-owned-contiguous-eips associated-amazon-owned-eips \
	unassociated-amazon-owned-eips associated-byoip unassociated-byoip \
	associated-amazon-owned-contiguous-eips unassociated-amazon-owned-contiguous-eips | head -c -1)" \
	"an empty IPAM counts nothing, every line in the guide's order"
expect_json "$PA" '.IpamDiscoveredPublicAddresses | length' 0

# contiguous EIPs: 3 from an Amazon-provided /30, one associated
expect_ok wr "$MNT/ipam/provider-cidrs" 18.97.0.0/24
mkpool public contig
expect_ok wr "$POOL/public-ip-source" amazon
expect_ok wr "$POOL/locale" us-east-1
expect_ok wr "$POOL/cidrs" /30
CID=$(idof "$POOL")
for i in 1 2 3; do wr "$AA" "$CID" || not_ok "EIP $i"; done
C1=$(t jq -r '.Addresses[] | select(.PublicIp == "18.97.0.0") | .AllocationId' "$S/addresses.json")
expect_ok wr "$R/$C1/association" eni-0c0000000000000c1

# BYOIP: a public IPv4 pool from a BYOIP pool, 2 EIPs, one associated
mkpool public byoip 198.51.100.0/24
expect_ok wr "$POOL/locale" us-west-2
PV=ipv4pool-ec2-0b0000000000000b1
mkres public $PV locale=us-west-2
expect_eq "$(wr_readback "$R/$PV/allocate" "$(idof "$POOL") /24")" 198.51.100.0/24 "a public IPv4 pool from the BYOIP pool"
B1=$(wr_readback "$AA" "$PV")
B2=$(wr_readback "$AA" "$PV")
expect_ok wr "$R/${B1% *}/association" i-0b0000000000000b1

# a discovery feed: describe-addresses and describe-network-interfaces
expect_ok feed_text '{"Addresses":[
 {"AllocationId":"eipalloc-0f0000000000000a1","PublicIp":"3.5.0.1","Domain":"vpc","PublicIpv4Pool":"amazon","NetworkBorderGroup":"us-east-1","InstanceId":"i-0f0000000000000a1","AssociationId":"eipassoc-1","NetworkInterfaceOwnerId":"111122223333"},
 {"AllocationId":"eipalloc-0f0000000000000a2","PublicIp":"3.5.0.2","Domain":"vpc","PublicIpv4Pool":"amazon","NetworkBorderGroup":"us-east-1"},
 {"AllocationId":"eipalloc-0f0000000000000a3","PublicIp":"3.5.0.3","Domain":"vpc","PublicIpv4Pool":"amazon","NetworkBorderGroup":"us-west-2"},
 {"AllocationId":"eipalloc-0f0000000000000a4","PublicIp":"3.5.0.4","Domain":"vpc","PublicIpv4Pool":"amazon","NetworkBorderGroup":"us-east-1","ServiceManaged":"alb","NetworkInterfaceId":"eni-0f0000000000000e4"},
 {"AllocationId":"eipalloc-0f0000000000000a5","PublicIp":"203.0.113.5","Domain":"vpc","PublicIpv4Pool":"ipv4pool-ec2-0f00000000000000b","NetworkBorderGroup":"us-east-1"}],
"NetworkInterfaces":[
 {"NetworkInterfaceId":"eni-0f0000000000000e1","AvailabilityZone":"us-east-1a","OwnerId":"111122223333","VpcId":"vpc-0f1","InterfaceType":"interface","RequesterManaged":false,
  "Attachment":{"InstanceId":"i-0f0000000000000e1"},"PrivateIpAddresses":[{"PrivateIpAddress":"10.0.0.5"}],
  "Association":{"PublicIp":"3.6.0.1","IpOwnerId":"amazon"}},
 {"NetworkInterfaceId":"eni-0f0000000000000e2","AvailabilityZone":"us-east-1b","OwnerId":"111122223333","VpcId":"vpc-0f1","InterfaceType":"nat_gateway","RequesterManaged":true,
  "PrivateIpAddresses":[{"PrivateIpAddress":"10.0.0.6"}],"Association":{"PublicIp":"3.6.0.2","IpOwnerId":"amazon"}},
 {"NetworkInterfaceId":"eni-0f0000000000000e3","AvailabilityZone":"us-east-1a","OwnerId":"111122223333","VpcId":"vpc-0f1","InterfaceType":"interface",
  "PrivateIpAddresses":[{"PrivateIpAddress":"10.0.0.7"}],"Association":{"PublicIp":"3.6.0.3","IpOwnerId":"amazon","AllocationId":"eipalloc-0f0000000000000a6"}},
 {"NetworkInterfaceId":"eni-0f0000000000000e5","AvailabilityZone":"us-east-1a","OwnerId":"111122223333","VpcId":"vpc-0f1","InterfaceType":"interface",
  "PrivateIpAddresses":[{"PrivateIpAddress":"10.0.0.8"}],"Association":{"PublicIp":"203.0.113.9","IpOwnerId":"111122223333"}}]}' \
	"$MNT/discoveries/default/feed"
expect_file_eq "$MNT/scopes/private/resources/eni-0f0000000000000e1/cidrs" 10.0.0.5/32 "the interface's private address stays private"
expect_file_eq "$R/eni-0f0000000000000e1/cidrs" 3.6.0.1/32 "its public address is in the public scope"
expect_file_eq "$R/eipalloc-0f0000000000000a6/association" eni-0f0000000000000e3 "an EIP on an interface is that EIP, associated"

# public-addresses.json: python counts what jq reads, against the setup
pa_line() { t jq -r ".IpamDiscoveredPublicAddresses[] | select(.Address == \"$1\") | \"\(.AddressType) \(.AssociationStatus) \(.Service // \"-\") \(.PublicIpv4PoolId // \"-\") \(.InstanceId // \"-\") \(.NetworkInterfaceId // \"-\")\"" "$PA"; }
expect_eq "$(pa_line 18.97.0.0)" "amazon-owned-contig associated - - - eni-0c0000000000000c1" "a contiguous EIP, associated"
expect_eq "$(pa_line 18.97.0.1)" "amazon-owned-contig disassociated - - - -" "a contiguous EIP, not associated"
expect_eq "$(pa_line 198.51.100.0)" "byoip associated - $PV i-0b0000000000000b1 -" "a BYOIP EIP of the public IPv4 pool"
expect_eq "$(pa_line 3.5.0.1)" "amazon-owned-eip associated - - i-0f0000000000000a1 -" "a discovered Amazon EIP"
expect_eq "$(pa_line 3.5.0.4)" "service-managed-ip associated load-balancer - - eni-0f0000000000000e4" "ServiceManaged alb"
expect_eq "$(pa_line 203.0.113.5)" "byoip disassociated - - - -" "an EIP of a BYOIP public IPv4 pool elsewhere"
expect_eq "$(pa_line 3.6.0.1)" "ec2-public-ip associated - - i-0f0000000000000e1 eni-0f0000000000000e1" "an EC2 public IP"
expect_eq "$(pa_line 3.6.0.2)" "service-managed-ip associated nat-gateway - - eni-0f0000000000000e2" "a NAT gateway's address"
expect_eq "$(pa_line 3.6.0.3)" "amazon-owned-eip associated - - - eni-0f0000000000000e3" "an EIP associated with an interface"
expect_eq "$(pa_line 203.0.113.9)" "byoip associated - - - eni-0f0000000000000e5" "a BYOIP address on an interface"
expect_json "$PA" '.IpamDiscoveredPublicAddresses | length' 14
expect_json "$PA" '[.IpamDiscoveredPublicAddresses[] | select(.Address == "3.5.0.3") | .AddressRegion] | .[0]' us-west-2

# the summary equals what python counts from public-addresses.json
want=$(t cat "$PA" | python3 -c '
import json, sys
rows = json.load(sys.stdin)["IpamDiscoveredPublicAddresses"]
def n(t, a=None):
    return sum(1 for r in rows if r["AddressType"] == t and (a is None or (r["AssociationStatus"] == "associated") == a))
out = [("amazon-owned-eips", n("amazon-owned-eip")), ("ec2-public-ips", n("ec2-public-ip")),
       ("byoip", n("byoip")), ("service-managed-ips", n("service-managed-ip")),
       ("service-managed-byoip", n("service-managed-byoip")), ("amazon-owned-contiguous-eips", n("amazon-owned-contig"))]
for t, k in (("amazon-owned-eip", "amazon-owned-eips"), ("byoip", "byoip"), ("amazon-owned-contig", "amazon-owned-contiguous-eips")):
    out += [("associated-" + k, n(t, True)), ("unassociated-" + k, n(t, False))]
print("\n".join("%s=%d" % kv for kv in out))')
expect_file_eq "$SUM" "$want" "public-ip-insights counts what public-addresses.json lists"
expect_eq "$(t cat "$SUM" | head -6 | tr '\n' ' ')" \
	"amazon-owned-eips=4 ec2-public-ips=1 byoip=4 service-managed-ips=2 service-managed-byoip=0 amazon-owned-contiguous-eips=3 " \
	"by type (L3088-L3094)"
expect_json "$SUM.json" '."unassociated-amazon-owned-contiguous-eips"' 2

# metrics
prom_val() { t cat "$PROM" | awk -v k="$1" '$1 == k { print $2 }'; }
CL="{ipam_id=\"$(t cat "$MNT/ipam/id")\",ipam_pool_id=\"$CID\",locale=\"us-east-1\"}"
expect_eq "$(prom_val "ipam_amazon_owned_contig_ips$CL") $(prom_val "ipam_allocated_amazon_owned_contig_ips$CL") $(prom_val "ipam_unallocated_amazon_owned_contig_ips$CL")" \
	"4 3 1" "AmazonOwnedContigIPs, Allocated-, Unallocated- (L2841-L2843)"
expect_eq "$(prom_val "ipam_associated_amazon_owned_contig_ips$CL") $(prom_val "ipam_unassociated_amazon_owned_contig_ips$CL")" \
	"1 2" "Associated-, UnassociatedAmazonOwnedContigIPs (L2844-L2845)"
RL="{ipam_id=\"$(t cat "$MNT/ipam/id")\",region=\"us-east-1\"}"
expect_eq "$(prom_val "ipam_amazon_owned_elastic_ips$RL") $(prom_val "ipam_associated_amazon_owned_elastic_ips$RL") $(prom_val "ipam_unassociated_amazon_owned_elastic_ips$RL")" \
	"3 2 1" "Amazon-owned EIPs in us-east-1 (L2966-L2984)"
expect_eq "$(prom_val "ipam_ec2_public_ips$RL") $(prom_val "ipam_service_managed_ips$RL") $(prom_val "ipam_bring_your_own_ips$RL")" \
	"1 2 2" "EC2 public, service-managed, BYOIP IPs in us-east-1"
RW="{ipam_id=\"$(t cat "$MNT/ipam/id")\",region=\"us-west-2\"}"
expect_eq "$(prom_val "ipam_bring_your_own_ips$RW") $(prom_val "ipam_associated_bring_your_own_ips$RW") $(prom_val "ipam_unassociated_bring_your_own_ips$RW")" \
	"2 1 1" "the public IPv4 pool's EIPs in us-west-2"
if command -v promtool >/dev/null; then
	out=$(t cat "$PROM" | promtool check metrics 2>&1)
	expect_eq "$?" 0 "promtool check metrics accepts ipam.prom"
	[ -n "$out" ] && diag "$out"
else
	ok "promtool check metrics # SKIP no promtool"
fi

# a change moves the counts: disassociate, release
expect_ok wr "$R/$C1/association" ""
expect_match "$(t cat "$SUM")" "associated-amazon-owned-contiguous-eips=0" "disassociated"
expect_ok rmdir "$R/$C1"
expect_match "$(t cat "$SUM")" "amazon-owned-contiguous-eips=2" "released"
finish
