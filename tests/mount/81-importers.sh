#!/usr/bin/env bash
# The importers (SPEC §8.3): the format of a document written to /plan or
# /import is detected from its content. Realistic files of each source
# (tests/data/import/, written from the formats' documentation: the AWS CLI
# outputs, NetBox's CSV export and REST API, phpIPAM's subnet export sheet,
# the plain CSV) are planned, imported and checked in the tree; malformed
# ones are refused with EINVAL naming the line, and apply nothing.
. "$(dirname "$0")/lib.sh"
DATA=$(cd "$(dirname "$0")/../data/import" && pwd)
mount_ipamfs
M=$MNT
P=$M/scopes/private/pools

# fresh IPAM for the next source: a new database on a new mountpoint
fresh() {
	DB=$TMPD/$1.db MNT=$TMPD/$1
	mkdir "$MNT"
	start_ipamfs
	M=$MNT
	P=$M/scopes/private/pools
}

# refused FILE LINE WHAT: importing FILE fails with EINVAL, /errors names
# the line, and the IPAM is unchanged.
refused() {
	local before after
	before=$(rd "$M/export.json")
	expect_errno EINVAL t cp "$1" "$M/import"
	expect_match "$(rd "$M/errors" | tail -1)" "EINVAL: line $2: " "$3: the refusal names line $2"
	after=$(rd "$M/export.json")
	expect_eq "$after" "$before" "$3: nothing applied"
}

# ---- AWS: the CLI outputs concatenated in any order ----
A=$DATA/aws
cat "$A/get-ipam-pool-allocations-prod.json" "$A/describe-ipam-pools.json" \
	"$A/get-ipam-pool-cidrs-lab.json" "$A/describe-ipams.json" \
	"$A/get-ipam-pool-cidrs-corp.json" "$A/describe-ipam-scopes.json" \
	"$A/get-ipam-pool-allocations-corp.json" \
	"$A/get-ipam-pool-cidrs-prod.json" >"$TMPD/aws.json"
t cp "$TMPD/aws.json" "$M/plan"
check $? "AWS stream: plan"
expect_ok grep -qx '+ pool scopes/private/pools/corp/pools/prod-use1' <(rd "$M/plan")
t cp "$TMPD/aws.json" "$M/import"
check $? "AWS stream: import"
expect_match "$(rd "$M/import" | head -1)" '^import: applied \(format aws\)' "/import names the format"
expect_file_eq "$M/ipam/home-locale" us-east-1
expect_file_eq "$M/ipam/id" ipam-08440e7a3acde3908
expect_file_eq "$P/corp/id" ipam-pool-0533048da7d823723
expect_file_eq "$P/corp/cidrs" 10.0.0.0/8
expect_file_eq "$P/corp/pools/prod-use1/cidrs" 10.0.0.0/16
expect_file_eq "$P/corp/pools/prod-use1/locale" us-east-1
expect_file_eq "$P/corp/pools/prod-use1/allocation-default-netmask-length" 24
expect_file_eq "$P/corp/pools/prod-use1/allocation-resource-tags" env=prod
expect_file_eq "$P/corp/pools/prod-use1/tags/cost-center" 4711
expect_file_eq "$P/corp/pools/prod-use1/auto-import" true
expect_file_eq "$M/scopes/lab/pools/ipam-pool-07ccc86aa41bef7ce/cidrs" fd12:3456:789a::/48
expect_file_eq "$P/corp/allocations/ipam-pool-alloc-0f6186d73999e47389266a5d6991e6221/description" "reserved for disaster recovery"
expect_file_eq "$P/corp/pools/prod-use1/allocations/ipam-pool-alloc-01a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6/description" "vpc vpc-0a1b2c3d4e5f67890"
expect_file_eq "$P/corp/allocations/ipam-pool-0a03d430ca3f5c035/id" ipam-pool-alloc-0e6186d73999e47389266a5d6991e6220
# the same stream again changes nothing
t cp "$TMPD/aws.json" "$M/plan"
expect_eq "$(rd "$M/plan")" "" "AWS stream imported twice: nothing to do"
# an allocation outside every described CIDR: refused, line named
fresh aws2
sed 's|"10.0.16.0/20"|"192.0.2.0/24"|' "$A/get-ipam-pool-allocations-prod.json" >"$TMPD/bad-alloc.json"
cat "$A/describe-ipam-scopes.json" "$A/describe-ipam-pools.json" "$A/get-ipam-pool-cidrs-corp.json" \
	"$A/get-ipam-pool-allocations-corp.json" "$A/get-ipam-pool-cidrs-prod.json" \
	"$TMPD/bad-alloc.json" >"$TMPD/aws-bad.json"
L=$(( $(cat "$A/describe-ipam-scopes.json" "$A/describe-ipam-pools.json" "$A/get-ipam-pool-cidrs-corp.json" \
	"$A/get-ipam-pool-allocations-corp.json" "$A/get-ipam-pool-cidrs-prod.json" | wc -l) + 1 ))
refused "$TMPD/aws-bad.json" "$L" "AWS allocation outside its pools"
# a truncated document
head -c 300 "$A/describe-ipam-pools.json" >"$TMPD/aws-trunc.json"
expect_errno EINVAL t cp "$TMPD/aws-trunc.json" "$M/import"

# ---- NetBox CSV ----
fresh netbox
wr "$M/ipam/enable-private-gua" true
t cp "$DATA/netbox/prefixes.csv" "$M/import"
check $? "NetBox CSV: import"
expect_match "$(rd "$M/import" | head -1)" '^import: applied \(format netbox-csv\)' "format netbox-csv detected"
N8=$P/10.0.0.0_8
expect_file_eq "$N8/cidrs" 10.0.0.0/8
expect_file_eq "$N8/description" "Corporate supernet"
expect_file_eq "$N8/pools/10.10.0.0_16/tags/tenant" "Acme Corp"
expect_file_eq "$N8/pools/10.10.0.0_16/tags/role" "Production"
expect_file_eq "$N8/pools/10.10.0.0_16/tags/netbox-tags" "dc,prod"
expect_file_eq "$N8/pools/10.10.0.0_16/allocations/10.10.1.0_24/description" "Web servers [status=active role=Production tenant=Acme Corp vlan=web-vlan netbox-tags=prod]"
expect_file_eq "$N8/pools/10.10.0.0_16/allocations/10.10.2.0_24/cidr" 10.10.2.0/24
expect_errno_kernel ENOENT t ls "$N8/pools/10.10.0.0_16/allocations/10.10.3.0_24"
expect_file_eq "$N8/pools/10.10.0.0_16/pools/10.10.8.0_22/allocations/10.10.8.0_24/cidr" 10.10.8.0/24
expect_file_eq "$N8/allocations/10.20.0.0_16/cidr" 10.20.0.0/16
expect_file_eq "$M/scopes/MGMT/pools/172.16.0.0_12/allocations/172.16.1.0_24/cidr" 172.16.1.0/24
expect_file_eq "$P/2001:db8::_32/allocations/2001:db8:10::_48/cidr" 2001:db8:10::/48
fresh netbox2
sed '4s|10.10.1.0/24|10.10.1.0/33|' "$DATA/netbox/prefixes.csv" >"$TMPD/nb-bad.csv"
refused "$TMPD/nb-bad.csv" 4 "NetBox CSV with a bad prefix"
wr "$M/ipam/enable-private-gua" true
sed '7s|,active,|,planned,|' "$DATA/netbox/prefixes.csv" >"$TMPD/nb-bad2.csv"
refused "$TMPD/nb-bad2.csv" 7 "NetBox CSV with an unknown status"

# ---- NetBox REST JSON (prefixes and VRFs) ----
fresh nbjson
cat "$DATA/netbox/prefixes.json" "$DATA/netbox/vrfs.json" >"$TMPD/nb.json"
t cp "$TMPD/nb.json" "$M/import"
check $? "NetBox JSON: import"
expect_match "$(rd "$M/import" | head -1)" '^import: applied \(format netbox-json\)' "format netbox-json detected"
expect_file_eq "$M/scopes/MGMT/description" "Out-of-band management"
expect_file_eq "$M/scopes/GUEST/type" private
expect_file_eq "$P/10.0.0.0_8/pools/10.10.0.0_16/tags/site" AMS1
expect_file_eq "$P/10.0.0.0_8/pools/10.10.0.0_16/allocations/10.10.1.0_24/description" "Web servers [status=active site=AMS1 vlan=web]"
expect_file_eq "$M/scopes/MGMT/pools/172.16.0.0_12/allocations/172.16.1.0_24/cidr" 172.16.1.0/24
sed 's|"prefix": "172.16.1.0/24"|"prefix": "172.16.1.1/24"|' "$DATA/netbox/prefixes.json" >"$TMPD/nb-bad.json"
fresh nbjson2
refused "$TMPD/nb-bad.json" 1 "NetBox JSON with host bits set"

# ---- phpIPAM subnet export sheet as CSV ----
fresh php
wr "$M/ipam/enable-private-gua" true
t cp "$DATA/phpipam/subnets.csv" "$M/plan"
expect_ok grep -qx '+ scope scopes/Customers' <(rd "$M/plan")
t cp "$DATA/phpipam/subnets.csv" "$M/import"
check $? "phpIPAM CSV: import"
expect_match "$(rd "$M/import" | head -1)" '^import: applied \(format phpipam-csv\)' "format phpipam-csv detected"
expect_file_eq "$M/scopes/Customers/pools/192.168.0.0_16/description" "Customer space"
expect_file_eq "$M/scopes/Customers/pools/192.168.0.0_16/allocations/192.168.20.0_24/description" "Customer B, Ltd [vlan=120]"
expect_file_eq "$M/scopes/IPv6/pools/2001:db8:100::_48/allocations/2001:db8:100:1::_64/cidr" 2001:db8:100:1::/64
expect_file_eq "$M/scopes/Infrastructure/pools/10.200.0.0_16/allocations/10.200.1.0_24/cidr" 10.200.1.0/24
fresh php2
sed '3s|192.168.0.0/16|192.168.99.0/24|' "$DATA/phpipam/subnets.csv" >"$TMPD/php-bad.csv"
refused "$TMPD/php-bad.csv" 3 "phpIPAM CSV whose master subnet is missing"

# ---- plain CSV ----
fresh csv
t cp "$DATA/csv/plan.csv" "$M/import"
check $? "plain CSV: import"
expect_file_eq "$P/site-a/tags/owner" neteng
expect_file_eq "$P/site-a/pools/servers/tags/env" prod
expect_file_eq "$P/site-a/pools/servers/allocations/web/cidr" 10.50.1.0/24
expect_file_eq "$P/site-a/pools/servers/allocations/db/description" "Database tier [tier=db]"
expect_file_eq "$P/site-a/allocations/printers/description" "Printers, floor 2"
fresh csv2
printf 'cidr,name,description,parent,tags\n10.60.0.0/16,a,,,\n10.60.1.0/24,b,,a,\n10.61.0.0/24,c,,a,\n' >"$TMPD/csv-bad.csv"
refused "$TMPD/csv-bad.csv" 4 "plain CSV: a row outside its parent"
printf 'cidr,name\n10.60.0.0/16,"a\n' >"$TMPD/csv-bad2.csv"
refused "$TMPD/csv-bad2.csv" 2 "plain CSV: an unclosed quote"

# ---- unknown and ambiguous content ----
printf 'address,mask\n10.0.0.0,8\n' >"$TMPD/unknown.csv"
expect_errno EINVAL t cp "$TMPD/unknown.csv" "$M/import"
expect_match "$(rd "$M/errors" | tail -1)" "expected an ipamfs export.*'prefix'.*'cidr'" "an unknown CSV names what was expected"
printf 'cidr,prefix\n10.0.0.0/8,10.0.0.0/8\n' >"$TMPD/ambiguous.csv"
expect_errno EINVAL t cp "$TMPD/ambiguous.csv" "$M/import"
expect_match "$(rd "$M/errors" | tail -1)" "ambiguous CSV header" "an ambiguous CSV is refused"
finish
