#!/usr/bin/env bash
# /export.json, /import and /plan (SPEC §8.3): a round trip through an empty
# IPAM is byte-identical; plan shows what import then does; a bad object
# deep in a document larger than the 64 KiB command limit applies nothing
# and close(2) reports the errno (cp, dd); changes, Prune (pools,
# allocations, CIDRs, resources, prefix lists); prefix lists and IPAM
# policies (settings, rules, targets, enabled) carried; concurrent
# readers never see half an import.
. "$(dirname "$0")/lib.sh"
mount_ipamfs
A=$MNT

# ---- an IPAM built through the tree ----
wr "$A/ipam/description" "lab ipam"
wrf "$A/ipam/operating-locales" 'local\neu-west-1\n'
wr "$A/ipam/quotas/pools-per-scope" 60 2>/dev/null
wr "$A/ipam/event-retention-days" 90
t mkdir "$A/scopes/lab"
wr "$A/scopes/lab/description" "the lab"
mkpool private top 10.0.0.0/8
wr "$POOL/description" 'top "level" pool'
wr "$POOL/allocation-max-netmask-length" 24
wr "$POOL/tags/team" net
wr "$POOL/allocation-strategy" best-fit
mkpool private top/pools/dev 10.1.0.0/16
wr "$POOL/locale" local 2>/dev/null
wr "$POOL/allocate" "web 10.1.2.0/24 description=web tier"
wr "$POOL/allocate" "db /26"
t chmod 0640 "$POOL/allocations/db"
mkpool lab eu
wr "$POOL/address-family" ipv6 2>/dev/null
mkpool lab v6 fd01::/48
wr "$POOL/allocate" "a fd01:0:0:1::/64"
TOP_ID=$(rd "$A/scopes/private/pools/top/id")
mkpool private big 172.16.0.0/12
# resources (fields, tags, unmanaged and managed CIDRs, monitoring) and a
# discovery with what its snapshot made
R=$A/scopes/private/resources
t mkdir "$R/vpc-0a1" "$R/subnet-0b2" "$R/vpc-0c3"
wr "$R/vpc-0a1/name" "web vpc"
wr "$R/vpc-0a1/locale" eu-west-1
wr "$R/vpc-0a1/owner" 123456789012
wr "$R/vpc-0a1/tags/env" prod
wr "$R/vpc-0a1/cidrs" 192.168.0.0/16
wr "$R/vpc-0a1/allocate" "$TOP_ID 10.2.0.0/20"
wr "$R/subnet-0b2/vpc-id" vpc-0a1
wr "$R/subnet-0b2/ip-usage" 17
wr "$R/subnet-0b2/cidrs" 192.168.1.0/24
wr "$R/vpc-0c3/cidrs" 10.200.0.0/16
wr "$R/vpc-0c3/monitoring" ignored
t mkdir "$A/discoveries/aws-lab"
wr "$A/discoveries/aws-lab/scope" lab
wr "$A/discoveries/aws-lab/locale" eu-west-1
wrf "$A/discoveries/aws-lab/feed" '[{"ResourceId":"vpc-0d4","ResourceType":"vpc","ResourceCidr":"10.50.0.0/16","ResourceTags":[{"Key":"Name","Value":"seen"}]}]\n'

# prefix-list resolvers: settings, tags, rules, targets (not their entries)
PA=$A/prefix-lists/fw
t mkdir "$PA"
wr "$PA/description" "edge firewall"
wr "$PA/tags/team" netops
wrf "$PA/rules" "pool private pool-id=$TOP_ID\nresource private vpc tag:env=prod\nstatic 198.51.100.0/24\n"
t mkdir "$PA/targets/edge" "$PA/targets/pinned"
wr "$PA/targets/edge/format" nft
wr "$PA/targets/pinned/desired-version" 1
# an IPAM policy: settings, rules (pools by id), targets, enabled
PO=$A/policies/edge
t mkdir "$PO"
wr "$PO/description" "vpcs from top"
wr "$PO/rules" "any vpc $TOP_ID"
wr "$PO/targets" all
wr "$PO/overflow" false
wr "$PO/enabled" true
E1=$TMPD/e1.json
rd "$A/export.json" >"$E1"
rd "$A/export.json" >"$TMPD/e1b.json"
expect_same "$E1" "$TMPD/e1b.json" "two exports of the same IPAM are byte-identical"
expect_ok jq -e '.IpamPools | length == 5' "$E1"
expect_ok jq -e '[.IpamPoolAllocations[] | select(.Name == "web")][0].Description == "web tier"' "$E1"
expect_ok jq -e '.IpamPoolCidrs | map(.Cidr) | index("fd01::/48") != null' "$E1"
expect_ok jq -e '.IpamResources[] | select(.ResourceId == "vpc-0a1") | .ResourceName == "web vpc" and .ResourceRegion == "eu-west-1" and .ResourceOwnerId == "123456789012" and .ResourceTags == [{"Key":"env","Value":"prod"}] and (.ResourceCidrs | length == 2)' "$E1"
expect_ok jq -e --arg top "$TOP_ID" '.IpamResources[] | select(.ResourceId == "vpc-0a1") | .ResourceCidrs[] | select(.ManagementState == "managed") | .IpamPoolId == $top and .ResourceCidr == "10.2.0.0/20"' "$E1"
expect_ok jq -e '.IpamResources[] | select(.ResourceId == "subnet-0b2") | .VpcId == "vpc-0a1" and .ActiveIps == "17" and .ResourceType == "subnet"' "$E1"
expect_ok jq -e '.IpamResources[] | select(.ResourceId == "vpc-0c3") | .MonitoringState == "ignored"' "$E1"
expect_ok jq -e '.IpamResources[] | select(.ResourceId == "vpc-0d4") | .Scope == "lab" and .Discovery == "aws-lab"' "$E1"
expect_ok jq -e '.IpamResourceDiscoveries[] | select(.Name == "aws-lab") | .Scope == "lab" and .Locale == "eu-west-1" and (.IpamResourceDiscoveryId | startswith("ipam-res-disco-"))' "$E1"

# a consistent snapshot taken at open
got=$(t bash -c 'exec 3<"$1/export.json"; mkdir "$1/scopes/private/pools/late" || exit 1
	cat <&3; rmdir "$1/scopes/private/pools/late"' x "$A")
expect_eq "$got" "$(cat "$E1")" "an export read after a change made since its open is the snapshot of the open"

# ---- round trip into an empty IPAM ----
DB=$TMPD/b.db MNT=$TMPD/b
mkdir "$MNT"
start_ipamfs
B=$MNT
t cp "$E1" "$B/plan"
check $? "cp export.json to /plan of an empty IPAM"
rd "$B/plan" >"$TMPD/plan.txt"
expect_ok grep -qx '+ pool scopes/private/pools/top/pools/dev' "$TMPD/plan.txt"
expect_ok grep -qx '+ allocation scopes/private/pools/top/pools/dev/allocations/web 10.1.2.0/24' "$TMPD/plan.txt"
expect_ok grep -qx "~ ipam event-retention-days" "$TMPD/plan.txt"
expect_eq "$(t ls "$B/scopes/private/pools")" "" "the plan applied nothing"
t cp "$E1" "$B/import"
check $? "cp export.json to /import"
rd "$B/export.json" >"$TMPD/e2.json"
expect_same "$E1" "$TMPD/e2.json" "export -> import into an empty IPAM -> export is byte-identical"
rd "$B/import" >"$TMPD/status.txt"
expect_match "$(head -1 "$TMPD/status.txt")" '^import: applied \(format ipamfs\): 25 created, 4 changed, 0 deleted$' "/import reads back what it did"
expect_eq "$(tail -n +2 "$TMPD/status.txt")" "$(cat "$TMPD/plan.txt")" "the plan lists what the import then did"
expect_file_eq "$B/scopes/private/pools/top/pools/dev/allocations/web/description" "web tier"
expect_ok grep -qx '+ resource scopes/private/resources/vpc-0a1' "$TMPD/plan.txt"
expect_ok grep -qx '+ discovery discoveries/aws-lab' "$TMPD/plan.txt"
expect_ok grep -qx "+ resource-cidr scopes/private/resources/vpc-0a1 10.2.0.0/20 managed $TOP_ID" "$TMPD/plan.txt"
expect_ok grep -qx '+ prefix-list fw' "$TMPD/plan.txt"
expect_ok grep -qx '+ policy edge' "$TMPD/plan.txt"
expect_eq "$(rd "$B/policies/edge/id")" "$(rd "$PO/id")" "an imported policy keeps its id"
expect_file_eq "$B/policies/edge/rules" "any vpc $TOP_ID" "... its rules, pools by id"
expect_file_eq "$B/policies/edge/enabled" true "... enabled"
expect_file_eq "$B/policies/edge/overflow" false
PB=$B/prefix-lists/fw
expect_eq "$(rd "$PB/entries")" "$(rd "$PA/entries")" "an imported prefix list resolves the same entries"
expect_eq "$(rd "$PB/id")" "$(rd "$PA/id")" "... keeps its id"
expect_file_eq "$PB/targets/edge/format" nft
expect_file_eq "$PB/targets/pinned/desired-version" 1
expect_file_eq "$PB/version" 2 "versions restart at 1: the import's entries are version 2"
RB=$B/scopes/private/resources
expect_file_eq "$RB/vpc-0a1/owner" 123456789012
expect_file_eq "$RB/vpc-0a1/tags/env" prod
expect_file_eq "$RB/vpc-0c3/monitoring" ignored
expect_file_eq "$B/scopes/lab/resources/vpc-0d4/discovery" aws-lab
expect_file_eq "$B/discoveries/aws-lab/scope" lab
expect_eq "$(t cut -d' ' -f1,2,5 "$RB/vpc-0a1/status")" "$(t cut -d' ' -f1,2,5 "$R/vpc-0a1/status")" "the managed and unmanaged CIDRs of a resource come back with their pool"
t cp "$E1" "$B/plan"
expect_eq "$(rd "$B/plan")" "" "the same document again: an empty plan"

# ---- changes and Prune ----
jq -c '.Prune = true
	| .IpamPoolAllocations |= map(select(.Name != "a")
		| if .Name == "web" then .Description = "web v2" | .Cidr = "10.1.3.0/24" else . end)
	| .IpamPoolAllocations += [{"IpamPoolId": (.IpamPools[] | select(.Name == "dev") | .IpamPoolId), "Cidr": "10.1.9.0/24", "Name": "new", "ResourceType": "custom"}]' \
	"$E1" >"$TMPD/change.json"
t cp "$TMPD/change.json" "$B/plan"
cat >"$TMPD/want.txt" <<'EOF'
~ allocation scopes/private/pools/top/pools/dev/allocations/web cidr 10.1.2.0/24 -> 10.1.3.0/24
~ allocation scopes/private/pools/top/pools/dev/allocations/web description "web tier" -> "web v2"
+ allocation scopes/private/pools/top/pools/dev/allocations/new 10.1.9.0/24
- allocation scopes/lab/pools/v6/allocations/a
EOF
expect_eq "$(rd "$B/plan")" "$(cat "$TMPD/want.txt")" "plan of changes, an addition and a prune"
t cp "$TMPD/change.json" "$B/import"
check $? "import of the changes"
expect_file_eq "$B/scopes/private/pools/top/pools/dev/allocations/web/cidr" 10.1.3.0/24
expect_eq "$(rd "$B/import" | tail -n +2)" "$(cat "$TMPD/want.txt")" "the import did what the plan said"
expect_errno_kernel ENOENT t ls "$B/scopes/lab/pools/v6/allocations/a"
expect_eq "$(jq -r '.IpamPoolAllocations[] | select(.Name == "web") | .IpamPoolAllocationId' "$TMPD/change.json")" \
	"$(t cat "$B/scopes/private/pools/top/pools/dev/allocations/web/id")" "a moved allocation keeps its id"

# ---- changes of prefix lists (matched by name) ----
jq -c '.IpamPrefixListResolvers |= map(if .Name == "fw" then .Rules = ["static 203.0.113.0/24"] | .Description = "v2" | .Targets[0].Format = "ipset" else . end)
	| .IpamPrefixListResolvers += [{"Name":"new","AddressFamily":"ipv6","Rules":["static 2001:db8::/32"]}]' \
	"$E1" >"$TMPD/pl.json"
t cp "$TMPD/pl.json" "$B/plan"
cat >"$TMPD/want.txt" <<EOF
~ prefix-list fw description "edge firewall" -> "v2"
~ prefix-list fw rules "pool private pool-id=$TOP_ID\nresource private vpc tag:env=prod\nstatic 198.51.100.0/24" -> "static 203.0.113.0/24"
~ prefix-list fw/targets/edge format "nft" -> "ipset"
+ prefix-list new
EOF
expect_eq "$(rd "$B/plan" | grep '^. prefix-list')" "$(cat "$TMPD/want.txt")" "plan of prefix-list changes"
t cp "$TMPD/pl.json" "$B/import"
check $? "import of prefix-list changes"
expect_file_eq "$PB/entries" 203.0.113.0/24
expect_file_eq "$PB/targets/edge/format" ipset
expect_file_eq "$B/prefix-lists/new/address-family" ipv6
expect_file_eq "$B/prefix-lists/new/entries" 2001:db8::/32
t rmdir "$B/prefix-lists/new"

# ---- changes of policies (matched by name) ----
jq -c '.IpamPolicies |= map(if .Name == "edge" then .Overflow = true | .Targets = ["user:1000"] else . end)' \
	"$E1" >"$TMPD/po.json"
t cp "$TMPD/po.json" "$B/plan"
cat >"$TMPD/want.txt" <<EOF
~ policy edge overflow "false" -> "true"
~ policy edge targets "all" -> "user:1000"
EOF
expect_eq "$(rd "$B/plan" | grep '^. policy')" "$(cat "$TMPD/want.txt")" "plan of policy changes"
t cp "$TMPD/po.json" "$B/import"
check $? "import of policy changes"
expect_file_eq "$B/policies/edge/targets" user:1000
expect_file_eq "$B/policies/edge/overflow" true

# ---- changes of resources and discoveries (matched by scope + id, name) ----
jq -c '.IpamResources |= map(if .ResourceId == "vpc-0a1" then .ResourceName = "web vpc 2" | .ResourceTags = [{"Key":"env","Value":"dev"}] | .ResourceCidrs += [{"ResourceCidr":"192.169.0.0/16","ManagementState":"unmanaged"}] else . end)
	| .IpamResources += [{"Scope":"private","ResourceId":"eipalloc-0e5","ResourceCidrs":[{"ResourceCidr":"10.3.0.0/32","ManagementState":"managed","IpamPoolId":(.IpamPools[] | select(.Name == "top") | .IpamPoolId)}]}]
	| .IpamResourceDiscoveries |= map(if .Name == "aws-lab" then .Locale = "us-east-1" else . end)' \
	"$E1" >"$TMPD/res.json"
t cp "$TMPD/res.json" "$B/plan"
cat >"$TMPD/want.txt" <<EOF
~ discovery discoveries/aws-lab locale "eu-west-1" -> "us-east-1"
~ resource scopes/private/resources/vpc-0a1 name "web vpc" -> "web vpc 2"
~ resource scopes/private/resources/vpc-0a1 tags/env "prod" -> "dev"
+ resource-cidr scopes/private/resources/vpc-0a1 192.169.0.0/16
+ resource scopes/private/resources/eipalloc-0e5
+ resource-cidr scopes/private/resources/eipalloc-0e5 10.3.0.0/32 managed $TOP_ID
EOF
expect_eq "$(rd "$B/plan" | grep -E '^. (resource|discovery)')" "$(cat "$TMPD/want.txt")" "plan of resource and discovery changes"
t cp "$TMPD/res.json" "$B/import"
check $? "import of resource and discovery changes"
expect_file_eq "$RB/vpc-0a1/name" "web vpc 2"
expect_file_eq "$RB/vpc-0a1/tags/env" dev
expect_file_eq "$B/discoveries/aws-lab/locale" us-east-1
expect_match "$(t cat "$RB/eipalloc-0e5/status")" '^10\.3\.0\.0/32 managed ' "a new resource's managed CIDR is allocated from the pool"
expect_match "$(t ls "$B/scopes/private/pools/top/allocations")" 'eipalloc-0e5' "and is an allocation of the pool"
t cp "$E1" "$B/import"
check $? "the original document again"
expect_file_eq "$RB/vpc-0a1/tags/env" prod

# ---- Prune covers resources (and their CIDRs) and prefix lists (and their targets) ----
jq -c '.Prune = true | .IpamResources |= map(select(.ResourceId != "subnet-0b2"))
	| .IpamPrefixListResolvers |= map(.Targets |= map(select(.Name != "pinned")))' \
	"$E1" >"$TMPD/prune.json"
t mkdir "$B/prefix-lists/gone"
t cp "$TMPD/prune.json" "$B/plan"
cat >"$TMPD/want.txt" <<'EOF'
- resource-cidr scopes/private/resources/vpc-0a1 192.169.0.0/16
- prefix-list fw/targets/pinned
- allocation scopes/private/pools/top/pools/dev/allocations/new
- resource scopes/private/resources/eipalloc-0e5
- resource scopes/private/resources/subnet-0b2
- prefix-list gone
EOF
expect_eq "$(rd "$B/plan")" "$(cat "$TMPD/want.txt")" "plan of a prune of resources, a resource CIDR, a target and a prefix list"
expect_ok t ls -d "$RB/subnet-0b2" "$B/prefix-lists/gone" "$PB/targets/pinned"
t cp "$TMPD/prune.json" "$B/import"
check $? "import with Prune of resources and prefix lists"
expect_eq "$(rd "$B/import" | tail -n +2)" "$(cat "$TMPD/want.txt")" "the import pruned what the plan said"
expect_errno_kernel ENOENT t ls "$RB/subnet-0b2"
expect_errno_kernel ENOENT t ls "$RB/eipalloc-0e5"
expect_errno_kernel ENOENT t ls "$B/prefix-lists/gone"
expect_eq "$(t ls "$B/scopes/private/pools/top/allocations" | grep -c eipalloc)" 0 "a pruned resource's managed CIDR gives its allocation back"
expect_eq "$(t cut -d' ' -f1,2 "$RB/vpc-0a1/status" | sort | tr '\n' ,)" "10.2.0.0/20 managed,192.168.0.0/16 unmanaged," "a resource keeps the CIDRs the document lists"
expect_eq "$(t ls "$PB/targets")" "edge" "a list keeps the targets the document lists"
expect_eq "$(rd "$PB/entries")" "$(rd "$PA/entries")" "and its entries"
t cp "$TMPD/prune.json" "$B/plan"
expect_eq "$(rd "$B/plan")" "" "the pruned IPAM is the document: an empty plan"
# a document without IpamResources and IpamPrefixListResolvers covers neither
t mkdir "$B/prefix-lists/kept"
jq -c 'del(.IpamResources) | del(.IpamPrefixListResolvers)' "$TMPD/prune.json" >"$TMPD/bare.json"
t cp "$TMPD/bare.json" "$B/import"
check $? "import with Prune of a document without resources and prefix lists"
expect_eq "$(rd "$B/import" | tail -n +2)" "" "... deletes none of them"
expect_ok t ls -d "$RB/vpc-0a1" "$B/prefix-lists/kept"
t rmdir "$B/prefix-lists/kept"
t cp "$E1" "$B/import"
check $? "the original document again"
expect_ok t ls -d "$RB/subnet-0b2" "$PB/targets/pinned"

# ---- a bad object deep in a large document: nothing applied ----
N=6000
big_doc() { # FILE N BAD: N /28 allocations in pool big; BAD: the 5990th overlaps
	local pid
	pid=$(jq -r '.IpamPools[] | select(.Name == "big") | .IpamPoolId' "$E1")
	{
		sed '$d' "$E1" | sed '$d'
		awk -v n="$2" -v pid="$pid" -v bad="$3" 'BEGIN {
			for (i = 0; i < n; i++) {
				j = (bad && i == n - 10) ? 7 : i
				a = 16 * j
				printf ",\n{\"IpamPoolId\":\"%s\",\"Cidr\":\"172.%d.%d.%d/28\",\"Name\":\"h%d\",\"ResourceType\":\"custom\"}",
					pid, 16 + int(a / 65536), int(a / 256) % 256, a % 256, i
			}
			printf "\n]\n}\n"
		}'
	} >"$1"
}
big_doc "$TMPD/bad.json" $N 1
expect_ok test "$(stat -c %s "$TMPD/bad.json")" -gt 65536
rd "$B/export.json" >"$TMPD/before.json"
expect_errno EADDRINUSE t cp "$TMPD/bad.json" "$B/import"
BADLINE=$(grep -n '"Name":"h5990"' "$TMPD/bad.json" | cut -d: -f1)
expect_match "$(rd "$B/errors" | tail -1)" "line $BADLINE: allocation 'scopes/private/pools/big/allocations/h5990' 172\.16\.0\.112/28" "/errors names the line and the object"
expect_match "$(rd "$B/import" | head -1)" "^import: refused EADDRINUSE \(format ipamfs\), nothing applied: line $BADLINE" "/import reads back the refusal"
rd "$B/export.json" >"$TMPD/after.json"
expect_same "$TMPD/before.json" "$TMPD/after.json" "a refused import changed nothing"
expect_errno EADDRINUSE t dd if="$TMPD/bad.json" of="$B/import" bs=64k status=none
t cp "$TMPD/bad.json" "$B/plan"
expect_match "$(rd "$B/plan" | tail -1)" "^! refused EADDRINUSE: line $BADLINE: " "the plan shows the refusal an import would meet"
rd "$B/export.json" >"$TMPD/after2.json"
expect_same "$TMPD/before.json" "$TMPD/after2.json" "neither did the refused dd nor the plan"

# ---- concurrent readers never see half an import ----
big_doc "$TMPD/good.json" $N 0
(
	while [ ! -e "$TMPD/stop" ]; do
		ls "$B/scopes/private/pools/big/allocations" 2>/dev/null | wc -l
	done
) >"$TMPD/counts" &
READER=$!
t cp "$TMPD/good.json" "$B/import"
check $? "import of $N allocations (a document over 64 KiB)"
sleep 0.2
touch "$TMPD/stop"
wait $READER
expect_eq "$(sort -u "$TMPD/counts" | grep -vx 0 | grep -vx $N)" "" "readers saw 0 or $N allocations, never a part"
expect_eq "$(t ls "$B/scopes/private/pools/big/allocations" | wc -l)" "$N" "all $N allocations are there"

# ---- the plan is read back on the descriptor that wrote it ----
got=$(t bash -c 'exec 3<>"$1"; cat "$2" >&3; cat <&3' x "$B/plan" "$E1")
expect_eq "$got" "" "read on the same descriptor: the plan of what was written"

# ---- what import refuses ----
expect_errno EINVAL wrf "$B/import" 'hello world\n'
expect_match "$(rd "$B/import")" "refused EINVAL.*expected an ipamfs export" "unknown content is named"
expect_errno EINVAL wrf "$B/import" '{"IpamfsExport":1,"IpamPools":[{"Path":"scopes/nope/pools/x"}]}'
expect_match "$(rd "$B/errors" | tail -1)" "no scope 'nope'" "a pool in a missing scope"
expect_errno EINVAL wrf "$B/import" '{"IpamfsExport":1,\n"IpamPools":[\n{"Path":"scopes/private/pools/x",}]}'
expect_match "$(rd "$B/errors" | tail -1)" "line 3: " "malformed JSON names its line"
finish
