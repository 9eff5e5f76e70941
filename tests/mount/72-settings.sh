#!/bin/bash
# 72-settings.sh - IPAM settings of the guide (issue 10 §3): the home locale
# is always an operating locale (L4451-L4478); the free tier is refused
# while private scope pools or additional scopes exist (L1928-L1934); a
# discovered resource of a region that is not operating is not monitored
# (not applied, counted in `unmonitored`) and comes in when its region is
# added (L394, L1971).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"
mount_ipamfs -o home-locale=us-east-1

L=$MNT/ipam/operating-locales
expect_ok wr "$L" us-west-2
expect_file_eq "$L" $'us-east-1\nus-west-2' "passing us-west-2 alone keeps the home Region"
expect_json "$MNT/ipam.json" '[.Ipams[0].OperatingRegions[].RegionName] | join(",")' "us-east-1,us-west-2"
printf 'eu-west-1\n' | t cat >"$L"
expect_file_eq "$L" $'eu-west-1\nus-east-1' "a whole set without the home locale keeps it"
expect_ok wr "$L" us-east-1

# free tier
T=$MNT/ipam/tier
mkpool private top 10.0.0.0/16
expect_errno EPERM wr "$T" free
expect_match "$(errors_last)" "private scope pool 'top' exists" "the reason names the private pool"
expect_file_eq "$T" advanced
expect_ok wr "$MNT/scopes/private/pools/top/cidrs" -10.0.0.0/16
expect_ok rmdir "$MNT/scopes/private/pools/top"
expect_ok mkdir "$MNT/scopes/lab"
expect_errno EPERM wr "$T" free
expect_match "$(errors_last)" "non-default scope 'lab' exists" "the reason names the scope"
expect_ok rmdir "$MNT/scopes/lab"
mkpool public pub 198.51.100.0/24
expect_ok wr "$T" free
expect_file_eq "$T" free "public scope pools are allowed in the free tier"
expect_errno EPERM mkdir "$MNT/scopes/lab2"
expect_errno EPERM mkdir "$MNT/scopes/private/pools/p"
expect_ok wr "$T" advanced

# a non-operating region is not monitored
D=$MNT/discoveries/default
R=$MNT/scopes/private/resources
expect_ok feed_text '{"ResourceId":"vpc-0e1","ResourceCidr":"10.201.0.0/16","ResourceRegion":"us-east-1"}
{"ResourceId":"vpc-0e2","ResourceCidr":"10.202.0.0/16","ResourceRegion":"eu-central-1"}
{"ResourceId":"vpc-0e3","ResourceCidr":"10.203.0.0/16","ResourceRegion":"eu-central-1"}
{"EndOfSnapshot":true}' "$D/feed"
expect_eq "$(lsres private)" "vpc-0e1" "only the operating region's VPC is monitored"
expect_file_eq "$D/unmonitored" 2 "two records of eu-central-1 are counted apart"
expect_json "$MNT/scopes/private/resources.json" '.IpamResourceCidrs | length' 1
expect_ok wrf "$L" 'us-east-1\neu-central-1\n'
expect_eq "$(lsres private)" "vpc-0e1 vpc-0e2 vpc-0e3" "adding the region brings its resources in"
expect_file_eq "$D/unmonitored" 0
expect_file_eq "$R/vpc-0e2/cidrs" 10.202.0.0/16
expect_json "$MNT/scopes/private/history/10.202.0.0_16.json" '.HistoryRecords | length' 1
expect_ok wr "$L" us-east-1
expect_eq "$(lsres private)" "vpc-0e1" "removing the region takes them out again"
expect_json "$MNT/scopes/private/history/10.202.0.0_16.json" '.HistoryRecords[0].SampledEndTime | type' string
expect_file_eq "$D/unmonitored" 2
finish
