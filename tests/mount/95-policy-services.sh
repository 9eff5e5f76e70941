#!/bin/bash
# 95-policy-services: SPEC §8.2, what IPAM policies steer besides EIPs
# (L2101-L2104: ALBs, RDS, regional NAT gateways) and resources that ask
# for an address without naming a pool when they are fed (L2090: "When you
# create an AWS resource that needs a public IP address ...").
#  - resources alb-*, db-*, nat-* are alb, rds, nat-gateway; `/32` on their
#    allocate is decided by the writer's policy (nat-gateway by rnat rules);
#    they take /32s of public IPv4 only;
#  - a fed eip/alb/rds/nat-gateway record without ResourceCidr is made in
#    the public scope and asks the policy: the address it gets is managed,
#    in the rule's pool (python3's ipaddress checks it), with an
#    allocate-by-ipam-policy event; a refusal is an
#    allocate-by-ipam-policy-refused event and the feed still applies; the
#    next snapshot keeps what the pool gave; no policy, no address;
#  - hostile feeds (another type without a CIDR, a non-string CIDR) are
#    refused whole.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"

mount_ipamfs -o byoip-proof=skip
expect_ok wrf "$MNT/ipam/operating-locales" 'local\nus-east-1\nus-west-2\n'
PO=$MNT/policies
R=$MNT/scopes/public/resources
mkpool public a 198.51.100.0/24
expect_ok wr "$POOL/locale" us-east-1
A=$POOL
AID=$(idof "$A")
mkpool public w 192.0.2.0/24 # no locale: every locale
W=$POOL
WID=$(idof "$W")

P=$PO/svc
expect_ok mkdir "$P"
expect_ok wrf "$P/rules" "us-east-1 alb $AID\nany nat-gateway $WID\nus-east-1 rds $AID $WID\nus-east-1 eip $AID\n"
expect_file_eq "$P/rules" "$(printf 'us-east-1 alb %s\nany rnat %s\nus-east-1 rds %s %s\nus-east-1 eip %s' "$AID" "$WID" "$AID" "$WID" "$AID")"
expect_ok wr "$P/targets" all
expect_ok wr "$P/enabled" true

# ---- resources of the service types, by hand ----
mkres public alb-1 locale=us-east-1
expect_file_eq "$RES/resource-type" alb
expect_eq "$(wr_readback "$RES/allocate" /32)" 198.51.100.0/32 "an ALB gets its address from the alb rule"
expect_eq "$(wr_readback "$RES/allocate" /32)" 198.51.100.1/32 "and another (an address per zone)"
expect_errno EINVAL wr "$RES/allocate" /24
expect_match "$(errors_last)" "takes one address \\(/32\\)" "a /24 for an ALB is refused"
mkres public nat-1 locale=us-west-2
expect_file_eq "$RES/resource-type" nat-gateway
expect_eq "$(wr_readback "$RES/allocate" /32)" 192.0.2.0/32 "a NAT gateway is steered by the rnat rule"
mkres public db-1 locale=us-east-1
expect_file_eq "$RES/resource-type" rds
expect_eq "$(wr_readback "$RES/allocate" /32)" 198.51.100.2/32 "an RDS instance: the rds rule's first pool"
mkres public db-2 locale=us-west-2
expect_errno EADDRNOTAVAIL wr "$RES/allocate" /32
expect_match "$(errors_last)" "has no rule for rds in locale 'us-west-2'" "no rds rule for us-west-2"
expect_eq "$(wr_readback "$RES/allocate" "$WID /32")" 192.0.2.1/32 "naming a pool overrides the policy"
mkres public eipalloc-9 locale=us-east-1
expect_ok wr "$RES/resource-type" alb
expect_file_eq "$RES/resource-type" alb
expect_ok wr "$RES/resource-type" eip
expect_errno EINVAL wr "$RES/resource-type" lambda
mkdir "$MNT/scopes/private/resources/alb-p" 2>/dev/null
mkpool private priv 10.0.0.0/16
expect_errno EINVAL wr "$MNT/scopes/private/resources/alb-p/allocate" "$(idof "$POOL") /32"
expect_match "$(errors_last)" "takes IPv4 space of the public scope" "an ALB takes public space only"
expect_json "$A/allocations.json" \
	'[.IpamPoolAllocations[] | select(.ResourceId == "alb-1") | .ResourceType] | unique | join(" ")' eip
expect_match "$(t cat "$A/allocations.json" | jq -r '.IpamPoolAllocations[] | select(.ResourceId == "db-1") | .Description')" \
	"^IPAM policy $(rd "$P/id") rule 3\$" "the allocation says which rule gave it"

# ---- fed resources that need an address ----
cat >"$TMPD/snap" <<'EOF'
{"ResourceId":"eipalloc-f1","ResourceRegion":"us-east-1"}
{"ResourceId":"alb-f2","ResourceType":"alb","ResourceCidr":"","ResourceRegion":"us-east-1","ResourceTags":{"env":"prod"}}
{"ResourceId":"db-f3","ResourceRegion":"us-west-2"}
{"ResourceId":"nat-f4","ResourceRegion":"us-west-2"}
{"ResourceId":"eipalloc-f6","ResourceCidr":"203.0.113.7/32","ResourceRegion":"us-east-1"}
EOF
expect_ok feed "$TMPD/snap" "$MNT/discoveries/default/feed"
expect_file_eq "$R/eipalloc-f1/cidrs" 198.51.100.3/32 "a fed EIP without an address got one"
expect_file_eq "$R/alb-f2/cidrs" 198.51.100.4/32 "a fed ALB too"
expect_file_eq "$R/alb-f2/tags/env" prod
expect_file_empty "$R/db-f3/cidrs" "no rule: no address, the feed still applies"
expect_file_eq "$R/nat-f4/cidrs" 192.0.2.2/32
expect_file_eq "$R/eipalloc-f6/cidrs" 203.0.113.7/32 "a fed EIP with its address keeps it"
expect_match "$(rd "$R/eipalloc-f1/status")" "^198.51.100.3/32 managed compliant .* $AID " "managed, in pool a"
expect_file_eq "$R/eipalloc-f1/discovery" default
ev=$(grep '"allocate-by-ipam-policy"' "$MNT/events" | grep '"eipalloc-f1"')
expect_eq "$(jq -r '"\(.name) \(.target) \(.rule) \(.["pool-id"]) \(.cidr)"' <<<"$ev")" \
	"svc all 4 $AID 198.51.100.3/32" "the decision is an event"
ev=$(grep '"allocate-by-ipam-policy-refused"' "$MNT/events" | tail -1)
expect_eq "$(jq -r '"\(.["resource-id"]) \(.code)"' <<<"$ev")" "db-f3 EADDRNOTAVAIL" \
	"the refused decision is an event"
n=$(nalloc "$A")
expect_ok feed "$TMPD/snap" "$MNT/discoveries/default/feed"
expect_file_eq "$R/eipalloc-f1/cidrs" 198.51.100.3/32 "the next snapshot keeps what the pool gave"
expect_file_eq "$R/alb-f2/cidrs" 198.51.100.4/32
expect_eq "$(nalloc "$A")" "$n" "and allocates nothing more"
expect_match "$(t cat "$MNT/scopes/public/history/198.51.100.3_32")" "eipalloc-f1" \
	"the address's history names the fed EIP"

# the oracle: every address a policy gave lies in its pool
for p in "$A" "$W"; do
	prov=$(rd "$p/cidrs")
	bad=$(t cat "$p/allocations.json" | jq -r '.IpamPoolAllocations[].Cidr' |
		python3 -c 'import ipaddress,sys
net = ipaddress.ip_network(sys.argv[1])
print(" ".join(c for c in sys.stdin.read().split() if not ipaddress.ip_network(c).subnet_of(net) or ipaddress.ip_network(c).prefixlen != 32))' "$prov")
	expect_eq "$bad" "" "python ipaddress: every allocation of $(basename "$p") is a /32 of $prov"
done

# no policy for the writer: registered without an address, no decision
expect_ok wr "$P/enabled" false
before=$(grep -c 'allocate-by-ipam-policy' "$MNT/events")
printf '{"ResourceId":"eipalloc-f5","ResourceRegion":"us-east-1"}\n' >"$TMPD/snap5"
expect_ok feed "$TMPD/snap5" "$MNT/discoveries/default/feed"
expect_file_empty "$R/eipalloc-f5/cidrs" "no policy: no address"
expect_eq "$(grep -c 'allocate-by-ipam-policy' "$MNT/events")" "$before" "and no decision"

# hostile feeds: refused whole, nothing applied
i=0
for rec in '{"ResourceId":"vpc-9"}' \
	'{"ResourceId":"i-9","ResourceCidr":""}' \
	'{"ResourceId":"eipalloc-9x","ResourceCidr":7}' \
	'{"ResourceId":"","ResourceType":"eip"}' \
	'{"ResourceId":"alb-9","ResourceType":"lambda"}' \
	'{"ResourceId":"nat-9","ResourceCidr":"192.0.2.300/32"}'; do
	i=$((i + 1))
	printf '{"ResourceId":"eipalloc-ok%d","ResourceRegion":"us-east-1"}\n%s\n' "$i" "$rec" >"$TMPD/bad$i"
	expect_errno EINVAL feed "$TMPD/bad$i" "$MNT/discoveries/default/feed"
	expect_fail t stat "$R/eipalloc-ok$i"
done
finish
