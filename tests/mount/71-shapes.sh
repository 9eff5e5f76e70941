#!/bin/bash
# 71-shapes.sh - names, types and shapes that scripts read (issue 10 §2):
# every JSON file of a populated tree validates against the output shape of
# its AWS operation in botocore's EC2 model (tests/mount/shapes.py); the
# describe files scopes.json, pools.json, discoveries.json, accounts.json;
# DefaultResourceDiscoveryId; tags/ on the IPAM, scopes, allocations and
# discoveries; a hand-made resource's Name tag, owner and region; AWS
# resource-type words; AWS CLI times in JSON; feed tags with '/', '=', ':';
# an IPAM policy's policy.json, rules.json, targets.json and /policies.json.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"
# byoip-proof=skip: public CIDRs and ASNs need no proof here (a lab;
# 100-byoip-proof.sh proves them); ipam.json then has a StateMessage
mount_ipamfs -o settable-clock,byoip-proof=skip

set_clock 2021-12-27T20:08:46Z
expect_ok wrf "$MNT/ipam/operating-locales" 'local\nus-east-1\n'

# --- tags/ on the IPAM, a scope, a discovery, an allocation -------------
expect_ok wr "$MNT/ipam/tags/team" net
expect_json "$MNT/ipam.json" '.Ipams[0].Tags | tojson' '[{"Key":"team","Value":"net"}]'
expect_ok mkdir "$MNT/scopes/lab"
expect_ok wr "$MNT/scopes/lab/tags/env" dev
expect_json "$MNT/scopes.json" '.IpamScopes[] | select(.IpamScopeId == "'"$(idof "$MNT/scopes/lab")"'") | .Tags | tojson' \
	'[{"Key":"env","Value":"dev"}]'
expect_ok wr "$MNT/discoveries/default/tags/owner" ops
expect_json "$MNT/discoveries.json" '.IpamResourceDiscoveries[] | select(.IpamResourceDiscoveryId == "'"$(idof "$MNT/discoveries/default")"'") | .Tags | tojson' \
	'[{"Key":"owner","Value":"ops"}]'
expect_json "$MNT/ipam.json" '.Ipams[0].DefaultResourceDiscoveryId' "$(idof "$MNT/discoveries/default")"
expect_json "$MNT/discoveries.json" '[.IpamResourceDiscoveries[] | select(.IsDefault)] | length' 1

mkpool private top 10.0.0.0/8
TOP=$POOL
expect_ok wr "$TOP/locale" us-east-1
mkpool private top/pools/dev /16
DEV=$POOL
expect_ok wr "$DEV/allocate" "web /24"
expect_ok wr "$DEV/allocations/web/tags/app" shop
expect_file_eq "$DEV/allocations/web/tags/app" shop
expect_json "$DEV/allocations.json" '.IpamPoolAllocations[0].Tags | tojson' '[{"Key":"app","Value":"shop"}]'
expect_ok rm "$DEV/allocations/web/tags/app"
expect_json "$DEV/allocations.json" '.IpamPoolAllocations[0].Tags | tojson' '[]'
expect_ok wr "$DEV/allocations/web/tags/app" shop
expect_ok wr "$TOP/tags/cost" 42

# --- pools.json of a scope: every pool, all depths ----------------------
expect_json "$MNT/scopes/private/pools.json" '[.IpamPools[].IpamPoolId] | sort | tojson' \
	"$(printf '%s\n' "$(idof "$TOP")" "$(idof "$DEV")" | jq -R . | jq -s -c 'sort')"

# --- a hand-made resource: Name tag, owner, region, AWS type words ------
R=$MNT/scopes/private/resources
mkres private vpc-0a1 locale=us-east-1
expect_ok wr "$R/vpc-0a1/tags/Name" IPAM-VPC
expect_file_eq "$R/vpc-0a1/name" IPAM-VPC "the Name tag names a hand-made resource"
expect_ok wr "$R/vpc-0a1/allocate" "$(idof "$TOP") /24"
rjq() { jq -c "[.IpamResourceCidrs[] | select(.ResourceId == \"$1\")][0] | $2" "$MNT/scopes/private/resources.json"; }
expect_eq "$(rjq vpc-0a1 .ResourceName)" '"IPAM-VPC"' "ResourceName from the Name tag"
expect_eq "$(rjq vpc-0a1 .ResourceOwnerId)" "\"$(id -u)\"" "ResourceOwnerId: the maker's uid"
H=$MNT/scopes/private/history
cidr=$(head -n 1 <(rd "$R/vpc-0a1/cidrs"))
expect_json "$H/${cidr/\//_}@now.json" '.HistoryRecords[0].ResourceName' IPAM-VPC
expect_json "$H/${cidr/\//_}@now.json" '.HistoryRecords[0].SampledStartTime' 2021-12-27T20:08:46.000000+00:00
expect_match "$(rd "$H/${cidr/\//_}@now" | tail -n 1)" '^2021-12-27T20:08:46Z ' "text history keeps Z"
mkres private vpc-0a2
addcidr "$R/vpc-0a2" 172.16.0.0/16
expect_eq "$(rjq vpc-0a2 .ResourceRegion)" "\"$(rd "$MNT/ipam/home-locale")\"" "ResourceRegion: the home locale when unset"
mkres private eni-0a3 locale=us-east-1
addcidr "$R/eni-0a3" 10.9.0.5/32
expect_eq "$(rjq eni-0a3 .ResourceType)" '"eni"' "a network interface is 'eni' in get-ipam-resource-cidrs"
mkres private i-0a4 locale=us-east-1
addcidr "$R/i-0a4" 10.9.0.6/32
expect_eq "$(rjq i-0a4 .ResourceId)" null "an instance has no resource CIDR of its own in the AWS shape"
expect_json "$H/10.9.0.6_32.json" '.HistoryRecords[0].ResourceType' instance
mkres private subnet-0a5 locale=us-east-1 vpc-id=vpc-0a1
addcidr "$R/subnet-0a5" "${cidr%/*}/26"
# resource planning (L8859): a pool of vpc-0a1's space (SourceResource in
# describe-ipam-pools), a subnet pool, a subnet's allocation ("subnet" in
# IpamPoolAllocationResourceType), a host record (allocation.json is ipamfs's)
PLAN=$MNT/scopes/private/pools/plan
expect_ok mkdir "$PLAN"
expect_ok wr "$PLAN/source-resource" vpc-0a1
expect_ok wr "$PLAN/cidrs" "$cidr"
expect_ok mkdir "$PLAN/pools/sn"
expect_ok wr "$PLAN/pools/sn/cidrs" "/25"
mkres private subnet-0a6 locale=us-east-1 vpc-id=vpc-0a1
expect_ok wr "$R/subnet-0a6/allocate" "$(idof "$PLAN/pools/sn") /28"
expect_ok wr "$PLAN/pools/sn/allocate" "web01 /32 dns-name=web01.example.com mac-address=02:00:5e:10:00:01"
expect_json "$PLAN/pool.json" '.IpamPools[0].SourceResource.ResourceType' vpc
expect_json "$PLAN/pools/sn/allocations.json" '[.IpamPoolAllocations[].ResourceType] | sort | join(" ")' "custom subnet"
expect_eq "$(rjq subnet-0a6 '[.ManagementState, .ComplianceStatus]')" '["managed","compliant"]' "a subnet from a planning pool is managed"

# --- public scope: an ec2-public-ipv4-pool allocation -------------------
mkpool public pub 198.51.100.0/24
PUB=$POOL
expect_ok wr "$PUB/locale" us-east-1
PR=$MNT/scopes/public/resources
mkres public ipv4pool-ec2-0b1 locale=us-east-1
expect_ok wr "$PR/ipv4pool-ec2-0b1/allocate" "$(idof "$PUB") /28"
expect_json "$PUB/allocations.json" '.IpamPoolAllocations[0].ResourceType' ec2-public-ipv4-pool
expect_file_eq "$PUB/allocations/ipv4pool-ec2-0b1/resource-type" ec2-public-ipv4-pool
# an EIP from it (describe-addresses, describe-public-ipv4-pools,
# get-ipam-discovered-public-addresses)
expect_match "$(wr_readback "$MNT/scopes/public/allocate-address" ipv4pool-ec2-0b1)" '^eipalloc-[0-9a-f]{17} 198\.51\.100\.0$' "an EIP"

# --- an IPAM policy steers an EIP to the public pool (SPEC §8.2) --------
PO=$MNT/policies/edge
expect_ok mkdir "$PO"
expect_ok wr "$PO/rules" "us-east-1 eip $(idof "$PUB")"
expect_ok wr "$PO/targets" all
expect_ok wr "$PO/enabled" true
expect_ok wr "$PO/tags/team" net
mkres public eipalloc-0b2 locale=us-east-1
expect_eq "$(wr_readback "$PR/eipalloc-0b2/allocate" /32)" 198.51.100.16/32 "the policy gives the EIP an address"
expect_json "$PUB/allocations.json" '[.IpamPoolAllocations[] | select(.ResourceId == "eipalloc-0b2") | .ResourceType][0]' eip
expect_json "$PO/rules.json" '.IpamPolicyDocuments[0].ResourceType' eip
expect_json "$MNT/policies.json" '.IpamPolicies[0].State' create-complete

# --- BYOIP: an ASN, a token, a failed proof, an advertisement ----------
expect_ok mkdir "$MNT/asns/64496"
expect_ok mkdir "$MNT/ipam/verification-tokens/t1"
expect_ok wr "$PUB/aws-service" ec2
expect_ok wr "$MNT/asns/64496/cidrs" +198.51.100.0/24
expect_ok wr "$PUB/advertise" "198.51.100.0/24 asn=64496"
mkpool public proof
expect_errno EACCES wr "$POOL/cidrs" "192.0.2.0/24 message=1|aws|$(rd "$MNT/ipam/account-id")|192.0.2.0/24|20991231|SHA256|RSAPSS signature=AAAA"
expect_json "$POOL/cidrs.json" '.IpamPoolCidrs[0].FailureReason.Code' cidr-not-available
expect_json "$MNT/byoip-cidrs.json" '.ByoipCidrs[0].State' advertised
expect_match "$(jq -r '.Ipams[0].StateMessage' "$MNT/ipam.json")" "^byoip-proof=skip" "ipam.json shows the lab switch"

# --- a discovery snapshot with AWS tag keys -----------------------------
D=$MNT/discoveries/default
expect_ok feed_text '{"ResourceId":"vpc-0c1","ResourceType":"vpc","ResourceCidr":"10.50.0.0/16","ResourceRegion":"us-east-1","ResourceOwnerId":"123456789012","ResourceTags":{"kubernetes.io/cluster/prod":"owned","a=b":"c","aws:x:y":"z"}}' "$D/feed"
expect_json "$D/resources.json" '.IpamDiscoveredResourceCidrs[0].ResourceTags | map(.Key) | sort | join(" ")' \
	"a=b aws:x:y kubernetes.io/cluster/prod"
expect_eq "$(t ls "$R/vpc-0c1/tags" | tr '\n' ' ')" "a=b aws:x:y kubernetes.io%2Fcluster%2Fprod " \
	"tags/ shows '/' as %2F"
expect_file_eq "$R/vpc-0c1/tags/kubernetes.io%2Fcluster%2Fprod" owned
expect_ok wr "$R/vpc-0c1/tags/k8s.io%2Frole" web
expect_json "$MNT/scopes/private/resources.json" \
	'[.IpamResourceCidrs[] | select(.ResourceId == "vpc-0c1") | .ResourceTags[] | select(.Key == "k8s.io/role") | .Value][0]' web
expect_json "$D/resources.json" '.IpamDiscoveredResourceCidrs[0].SampleTime' 2021-12-27T20:08:46.000000+00:00
expect_json "$D/accounts.json" '.IpamDiscoveredAccounts | tojson' \
	'[{"AccountId":"123456789012","DiscoveryRegion":"us-east-1","LastAttemptedDiscoveryTime":"2021-12-27T20:08:46.000000+00:00","LastSuccessfulDiscoveryTime":"2021-12-27T20:08:46.000000+00:00"}]'
expect_ok wr "$D/tags/owner" ops

# --- the botocore oracle over the whole tree ----------------------------
out=$(timeout 120 python3 "$(dirname "$0")/shapes.py" "$MNT" 2>&1)
rc=$?
if [ $rc -eq 77 ]; then
	# .ci/deps --test installs a recent botocore: CI runs the oracle
	ok "every JSON file has the shape of its AWS operation # SKIP no botocore >= 1.35 for python3 ($out)"
	finish
fi
expect_eq "$rc" 0 "every JSON file has the shape of its AWS operation"
[ $rc -eq 0 ] || diag "$out"
expect_match "$(tail -n 1 <<<"$out")" "^[0-9]+ JSON files checked, 0 problems" "the shape check ran over the tree"
diag "$(tail -n 1 <<<"$out")"
finish
