#!/bin/bash
# 73-public-discovery.sh - a discovery puts public space in the public scope
# (L3647) and private space in its own scope (L1267), issue 10 §4: EIPs of
# describe-addresses, a VPC's Amazon or BYOIP IPv6 block of describe-vpcs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"
mount_ipamfs -o home-locale=us-east-1
expect_ok wrf "$MNT/ipam/operating-locales" 'us-east-1\nus-east-2\nus-west-2\n'

D=$MNT/discoveries/default
R=$MNT/scopes/private/resources
PR=$MNT/scopes/public/resources
expect_file_eq "$D/scope" private
expect_ok feed "$FEEDS/describe-addresses.json" "$D/feed"
E1=eipalloc-0b5ebb7ad8c1a2f30
E2=eipalloc-09f3a1c2d4e5b6a78
expect_eq "$(lsres public)" "$E2 $E1" "describe-addresses: the EIPs are in the public scope"
expect_eq "$(lsres private)" "" "and not in the private scope"
expect_file_eq "$PR/$E1/cidrs" 198.51.100.7/32
expect_file_eq "$PR/$E1/discovery" default

# a dual-stack VPC: its IPv4 in private, its Amazon IPv6 block in public
expect_ok feed_text '{"Vpcs":[{"VpcId":"vpc-0d1","OwnerId":"111122223333","CidrBlock":"10.0.0.0/16",
 "CidrBlockAssociationSet":[{"CidrBlock":"10.0.0.0/16","CidrBlockState":{"State":"associated"}}],
 "Ipv6CidrBlockAssociationSet":[{"Ipv6CidrBlock":"2600:1f16:115:200::/56","Ipv6Pool":"Amazon","Ipv6CidrBlockState":{"State":"associated"}}],
 "Tags":[{"Key":"Name","Value":"dual"}]}]}' "$D/feed"
expect_file_eq "$R/vpc-0d1/cidrs" 10.0.0.0/16 "the VPC's private IPv4 stays private"
expect_file_eq "$PR/vpc-0d1/cidrs" 2600:1f16:115:200::/56 "its Amazon IPv6 block is in the public scope"
expect_file_eq "$PR/vpc-0d1/name" dual
expect_eq "$(lsres public)" "vpc-0d1" "the new snapshot replaced the EIPs"
expect_json "$D/resources.json" '[.IpamDiscoveredResourceCidrs[].ResourceCidr] | sort | join(" ")' \
	"10.0.0.0/16 2600:1f16:115:200::/56"
expect_json "$MNT/scopes/public/resources.json" '.IpamResourceCidrs[0].ResourceCidr' 2600:1f16:115:200::/56
# ULA stays private
expect_ok feed_text '{"ResourceId":"vpc-0d2","ResourceCidr":"fd12:3456::/56"}
{"EndOfSnapshot":true}' "$D/feed"
expect_file_eq "$R/vpc-0d2/cidrs" fd12:3456::/56 "ULA is private space"
expect_eq "$(lsres public)" "" "nothing public now"
# the discovery's scope chooses where private space goes; public stays
expect_ok feed_text '{"ResourceId":"vpc-0d3","ResourceCidr":"10.9.0.0/16"}
{"ResourceId":"vpc-0d3","ResourceCidr":"2600:1f16:115:300::/56"}
{"EndOfSnapshot":true}' "$D/feed"
expect_ok mkdir "$MNT/scopes/lab"
expect_ok wr "$D/scope" lab
expect_eq "$(lsres lab)" "vpc-0d3" "private space moved to lab"
expect_file_eq "$PR/vpc-0d3/cidrs" 2600:1f16:115:300::/56 "public space stayed public"
expect_ok feed_text '{"ResourceId":"vpc-0d3","ResourceCidr":"10.9.0.0/16"}
{"EndOfSnapshot":true}' "$D/feed"
expect_eq "$(lsres public)" "" "a snapshot without the public block ends it"
expect_ok wr "$D/scope" private
expect_ok rmdir "$MNT/scopes/lab"
finish
