#!/bin/bash
# 92-policies: SPEC §8.2, IPAM policies (L2075-L2233).
#  - mkdir/rmdir, id, by-id, tags, the defaults (disabled, overflow on);
#  - the guide's steps: create (Step 1), allocation rules (Step 2: locale,
#    resource type, pools in order), enable for targets (Step 3), "test your
#    policy" (Step 4, L2195ff): EIPs that ask for /32 without a pool get it
#    from the rule's first pool, then the next when it is exhausted; a pool
#    named in the request overrides the policy (L2108, L2228); exhausted
#    pools fall back to provider-supplied space (amazon-source pools of
#    the resource's locale), else refuse with EADDRNOTAVAIL
#    or ENOSPC (overflow off); no rule -> EADDRNOTAVAIL; no policy ->
#    EINVAL; every CIDR checked with python3's ipaddress against its pool;
#  - targets: user over group over all; enabling replaces the target's
#    active policy (the guide's warning), with an event on the loser;
#  - policy.json / rules.json / targets.json / policies.json in the shapes
#    of describe-ipam-policies, get-ipam-policy-allocation-rules and
#    get-ipam-policy-organization-targets (71 validates them);
#  - bad input refused whole with errno and /errors, nothing changed;
#  - events name policy, rule and pool; the allocation's description too;
#  - a fresh mount of the same database keeps everything; export -> import
#    into an empty IPAM -> export is byte-identical with policies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"

mount_ipamfs -o allow_other,byoip-proof=skip
expect_ok wrf "$MNT/ipam/operating-locales" 'local\nus-east-1\nus-west-2\n'
PO=$MNT/policies
PP=$MNT/scopes/public/pools

# two public IPv4 pools in us-east-1 and one without a locale; A and B keep two
# free addresses each (/24 is the most specific BYOIP CIDR)
mkpub() { # mkpub NAME CIDR LOCALE: a public pool with all but the last /31 held
	local name=$1 cidr=$2 base=${2%.0/24} len
	mkpool public "$name"
	expect_ok wr "$POOL/locale" "$3"
	expect_ok wr "$POOL/cidrs" "$cidr"
	local off=0
	for len in 25 26 27 28 29 30 31; do
		expect_ok wr "$POOL/allocate" "hold$len $base.$off/$len"
		off=$((off + (1 << (32 - len))))
	done
}
mkpub a 198.51.100.0/24 us-east-1
A=$POOL
AID=$(idof "$A")
mkpub b 203.0.113.0/24 us-east-1
B=$POOL
BID=$(idof "$B")
mkpool public west 192.0.2.0/24 # no locale: it serves every locale
W=$POOL
WID=$(idof "$W")
mkpool private priv 10.0.0.0/16
PRIVID=$(idof "$POOL")

# ---- Step 1: create ----
P1=$PO/edge
expect_ok mkdir "$P1"
expect_match "$(rd "$P1/id")" '^ipam-policy-[0-9a-f]{17}$' "id"
P1ID=$(rd "$P1/id")
expect_match "$(t readlink "$MNT/by-id/$P1ID")" "policies/edge$" "by-id links the policy"
expect_ok grep -qx "$P1ID" <(t ls "$MNT/by-id")
expect_file_eq "$P1/enabled" false "a new policy is disabled"
expect_file_eq "$P1/overflow" true "overflow is on by default (L2077)"
expect_file_empty "$P1/rules" "no rules (L2124)"
expect_file_empty "$P1/targets" "no targets"
expect_errno_kernel EEXIST mkdir "$P1"
expect_ok wr "$P1/description" "BYOIP first"
expect_file_eq "$P1/description" "BYOIP first"
expect_ok wr "$P1/tags/team" netops
expect_file_eq "$P1/tags/team" netops "a tag"
expect_json "$P1/policy.json" '.IpamPolicies[0].IpamPolicyId' "$P1ID"
expect_json "$P1/policy.json" '[.IpamPolicies[0].Tags[] | "\(.Key)=\(.Value)"] | join(",")' \
	"Name=edge,team=netops"
expect_json "$P1/policy.json" '.IpamPolicies[0].IpamId' "$(rd "$MNT/ipam/id")"

# ---- Step 2: allocation rules ----
expect_ok wr "$P1/rules" "us-east-1 eip $AID $BID"
expect_file_eq "$P1/rules" "us-east-1 eip $AID $BID" "the rule, canonical"
expect_ok wrf "$P1/rules" "us-east-1 eip $AID $BID\nus-east-1 nat-gateway $BID\nany alb $AID\n"
expect_eq "$(rd "$P1/rules")" "$(printf 'us-east-1 eip %s %s\nus-east-1 rnat %s\nany alb %s' "$AID" "$BID" "$BID" "$AID")" \
	"three rules in order; nat-gateway is rnat"
expect_json "$P1/rules.json" '[.IpamPolicyDocuments[] | "\(.Locale) \(.ResourceType) \([.AllocationRules[].SourceIpamPoolId] | join(" "))"] | join(",")' \
	"us-east-1 eip $AID $BID,us-east-1 rnat $BID,any alb $AID"

# ---- bad rules: refused whole, nothing changed ----
before=$(rd "$P1/rules")
expect_errno EINVAL wr "$P1/rules" "us-east-1 eip"
expect_errno EINVAL wr "$P1/rules" "us-east-1 lambda $AID"
expect_errno EINVAL wr "$P1/rules" "us-east-1 eip ipam-pool-00000000000000000"
expect_errno EINVAL wr "$P1/rules" "us-east-1 eip $PRIVID"
expect_errno EINVAL wr "$P1/rules" "mars-1 eip $AID"
expect_errno EINVAL wr "$P1/rules" "us-west-2 eip $AID"
expect_errno EINVAL wr "$P1/rules" "us-east-1 eip $AID $AID"
expect_errno EINVAL wrf "$P1/rules" "us-east-1 eip $AID\nus-east-1 eip $BID\n"
expect_errno EDQUOT wr "$P1/rules" "us-east-1 eip $(for i in $(seq 11); do printf '%s ' "$AID"; done)"
expect_errno EINVAL wr "$P1/rules" "us-east-1 eip ../$AID"
expect_errno EINVAL wrf "$P1/rules" "us-east-1 eip $AID\\0x"
expect_errno E2BIG wrf "$P1/rules" "us-east-1 eip $(head -c 70000 /dev/zero | tr '\0' a)\n"
expect_match "$(errors_last)" "EINVAL|E2BIG" "/errors has the reason"
expect_eq "$(rd "$P1/rules")" "$before" "refused writes changed nothing"
expect_match "$(grep -c 'line 2: the rule of line 1 has eip in locale us-east-1' "$MNT/errors")" '^[1-9]' \
	"the refused line is named"

# ---- no policy yet: a request without a pool is refused ----
mkres public eipalloc-0000000000000001 locale=us-east-1
E1=$RES
expect_errno EINVAL wr "$E1/allocate" "/32"
expect_match "$(errors_last)" "no IPAM policy is enabled" "the reason names the missing policy"

# ---- Step 3: enable ----
expect_errno EINVAL wr "$P1/enabled" true
expect_file_eq "$P1/enabled" false "no targets: enabling is refused"
expect_errno EINVAL wr "$P1/targets" "user:no-such-user-92"
expect_errno EINVAL wr "$P1/targets" "user:99999999999"
expect_errno EINVAL wr "$P1/targets" "ou-123"
expect_errno EINVAL wr "$P1/enabled" maybe
expect_ok wr "$P1/targets" all
expect_ok wr "$P1/enabled" true
expect_file_eq "$P1/enabled" true
expect_json "$P1/targets.json" '.OrganizationTargets[0].OrganizationTargetId' all
expect_match "$(grep '"enable-ipam-policy"' "$MNT/events" | tail -1)" "\"id\":\"$P1ID\"" "enable-ipam-policy event"
expect_errno EBUSY t rmdir "$P1"
expect_errno EBUSY t rmdir "$A"
expect_match "$(errors_last)" "rule 1 of policy .edge. sends requests to it" "a pool a rule names stays"

# ---- Step 4: test your policy ----
got1=$(wr_readback "$E1/allocate" "/32")
expect_eq "$got1" 198.51.100.254/32 "the first EIP takes the first pool's first free address"
expect_file_eq "$E1/cidrs" 198.51.100.254/32
expect_json "$A/allocations.json" \
	'[.IpamPoolAllocations[] | select(.ResourceId == "eipalloc-0000000000000001") | .Description][0]' \
	"IPAM policy $P1ID rule 1"
ev=$(grep '"allocate-by-ipam-policy"' "$MNT/events" | tail -1)
expect_eq "$(jq -r '"\(.id) \(.rule) \(.["pool-id"]) \(.["resource-id"]) \(.cidr) \(.target)"' <<<"$ev")" \
	"$P1ID 1 $AID eipalloc-0000000000000001 198.51.100.254/32 all" "the event names policy, rule and pool"
# naming a pool overrides the policy
mkres public eipalloc-0000000000000002 locale=us-east-1
expect_eq "$(wr_readback "$RES/allocate" "$BID /32")" 203.0.113.254/32 "a pool named in the request wins (L2108)"
expect_json "$B/allocations.json" \
	'[.IpamPoolAllocations[] | select(.ResourceId == "eipalloc-0000000000000002") | .Description // ""][0]' ""
mkres public eipalloc-0000000000000003 locale=us-east-1
expect_eq "$(wr_readback "$RES/allocate" "/32")" 198.51.100.255/32 "the second EIP: the rest of pool a"
mkres public eipalloc-0000000000000004 locale=us-east-1
expect_eq "$(wr_readback "$RES/allocate" "/32")" 203.0.113.255/32 "pool a exhausted: the next pool of the rule"
E4=$RES
mkres public eipalloc-0000000000000005 locale=us-east-1
E5=$RES
expect_errno EADDRNOTAVAIL wr "$E5/allocate" "/32"
expect_match "$(errors_last)" "every pool is exhausted .pools .*, overflow is on; the fallback is provider-supplied space, and no amazon-source public IPv4 pool of locale us-east-1 holds any" \
	"overflow on, no provider space yet: the reason"
# provider-supplied space: an amazon-source pool takes a block of the
# upstream's space (/ipam/provider-cidrs); overflow then falls back to it
expect_ok wr "$MNT/ipam/provider-cidrs" 18.97.0.0/24
mkpool public upstream
UP=$POOL
expect_ok wr "$UP/public-ip-source" amazon
expect_ok wr "$UP/locale" us-west-2
expect_ok wr "$UP/cidrs" /30
expect_errno EADDRNOTAVAIL wr "$E5/allocate" "/32"
expect_match "$(errors_last)" "no amazon-source public IPv4 pool of locale us-east-1" "only the resource's locale's provider space"
mkpool public upstream-east
UPE=$POOL
expect_ok wr "$UPE/public-ip-source" amazon
expect_ok wr "$UPE/locale" us-east-1
expect_ok wr "$UPE/cidrs" /30
UPE_CIDR=$(rd "$UPE/cidrs")
got=$(wr_readback "$E5/allocate" "/32")
expect_eq "$(python3 -c "import ipaddress,sys; print(ipaddress.ip_network(sys.argv[1]).subnet_of(ipaddress.ip_network(sys.argv[2])))" "$got" "$UPE_CIDR")" True \
	"overflow: the EIP takes a provider-supplied address ($got in $UPE_CIDR)"
ev=$(grep '"allocate-by-ipam-policy"' "$MNT/events" | tail -1)
expect_eq "$(jq -r '"\(.rule) \(.["provider-supplied"]) \(.["resource-id"]) \(.cidr)"' <<<"$ev")" \
	"0 true eipalloc-0000000000000005 $got" "the event says the address is provider-supplied (rule 0)"
expect_ok t rmdir "$E5"
mkres public eipalloc-0000000000000005 locale=us-east-1
E5=$RES
expect_ok wr "$P1/overflow" false
expect_errno ENOSPC wr "$E5/allocate" "/32"
expect_match "$(errors_last)" "every pool is exhausted and overflow is off" "overflow off: the reason"
expect_file_empty "$E5/cidrs" "refused requests left nothing"
# a specific CIDR: the first pool of the rule that holds it free
expect_ok t rmdir "$E4"
expect_eq "$(wr_readback "$E5/allocate" "203.0.113.255/32")" 203.0.113.255/32 "a CIDR without a pool: the rule's pool that has it"
# no rule for the resource's locale or type
mkres public eipalloc-0000000000000006 locale=local
expect_errno EADDRNOTAVAIL wr "$RES/allocate" "/32"
expect_match "$(errors_last)" "has no rule for eip in locale 'local'; the fallback is provider-supplied space" "no rule: the default, named"
E6=$RES
# the default for a locale with provider space: the provider-supplied pool
mkres public eipalloc-0000000000000007 locale=us-west-2
expect_eq "$(wr_readback "$RES/allocate" "/32")" \
	"$(python3 -c 'import ipaddress,sys; print("%s/32" % ipaddress.ip_network(sys.argv[1]).network_address)' "$(rd "$UP/cidrs")")" \
	"no rule for us-west-2: the default gives the first address of its provider-supplied pool"
expect_ok t rmdir "$RES"
RES=$E6
expect_errno EINVAL wr "$RES/allocate" "32"
expect_errno EINVAL wr "$RES/allocate" "/129"
expect_errno EINVAL wr "$E5/allocate" "/33"
expect_match "$(errors_last)" "rule 1 gave no address: ipam-pool-" "a pool's own refusal is passed on, pool by pool"
expect_errno EINVAL wr "$RES/allocate" "198.51.100.1/24"

# the oracle: every policy-given CIDR lies in the pool its allocation is in
for p in "$A" "$B"; do
	prov=$(rd "$p/cidrs")
	bad=$(t cat "$p/allocations.json" | jq -r '.IpamPoolAllocations[].Cidr' |
		python3 -c 'import ipaddress,sys
net = ipaddress.ip_network(sys.argv[1])
print(" ".join(c for c in sys.stdin.read().split() if not ipaddress.ip_network(c).subnet_of(net)))' "$prov")
	expect_eq "$bad" "" "python ipaddress: every allocation of $(basename "$p") lies in $prov"
done

# ---- targets: user over group over all; enabling replaces ----
P2=$PO/west
expect_ok mkdir "$P2"
expect_ok wr "$P2/rules" "any eip $WID"
expect_ok wrf "$P2/targets" 'user:1000\ngroup:2000\n'
expect_ok wr "$P2/enabled" true
expect_eq "$(rd "$P2/targets" | tr '\n' ' ')" "group:2000 user:1000 " "targets sorted: groups, then users"
expect_ok wr "$P2/targets" "user:root"
expect_file_eq "$P2/targets" "user:0" "names become numbers"
expect_ok wrf "$P2/targets" 'user:1000\ngroup:2000\n'
as() { timeout "$TIMEOUT" setpriv --reuid="$1" --regid="$2" --clear-groups "${@:3}"; }
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && [ -z "${IPAMFS_SOAK_MNT:-}" ]; then
	# the public scope's mode lets every user write its resources' files
	expect_ok t chmod 0777 "$MNT/scopes/public"
	mkres public eipalloc-0000000000000007 locale=us-east-1
	expect_eq "$(as 1000 1000 bash -c 'exec 3<>"$1"; echo /32 >&3; cat <&3' x "$RES/allocate")" 192.0.2.0/32 \
		"uid 1000: its user target's policy (any locale)"
	mkres public eipalloc-0000000000000008 locale=us-east-1
	expect_eq "$(as 3000 2000 bash -c 'exec 3<>"$1"; echo /32 >&3; cat <&3' x "$RES/allocate")" 192.0.2.1/32 \
		"gid 2000: its group target's policy"
	mkres public eipalloc-0000000000000009 locale=us-east-1
	out=$(as 3000 3000 bash -c 'echo /32 > "$1"' x "$RES/allocate" 2>&1)
	expect_match "$out" "No space left on device" "another user: the policy of all (edge, exhausted, overflow off)"
	expect_match "$(errors_last)" " uid=3000 .* ENOSPC: policy 'edge' rule 1" "... by the policy of all"
	expect_ok t chmod 0755 "$MNT/scopes/public"
else
	ok "# SKIP as-user checks need root, setpriv and a mount of this script"
fi
# a third policy takes user:1000 from west
P3=$PO/third
expect_ok mkdir "$P3"
expect_ok wr "$P3/rules" "us-east-1 eip $BID"
expect_ok wr "$P3/targets" "user:1000"
expect_ok wr "$P3/enabled" true
expect_file_eq "$P2/targets" "group:2000" "enabling third replaced west on user:1000 (L2189)"
ev=$(grep '"disable-ipam-policy"' "$MNT/events" | tail -1)
expect_eq "$(jq -r '"\(.name) \(.target) \(.["replaced-by"])"' <<<"$ev")" "west user:1000 third" \
	"the replaced policy's event names the target and the winner"
expect_json "$MNT/policies.json" '[.IpamPolicies[].IpamPolicyId] | length' 3

# ---- quotas (L9658-L9664: /ipam/quotas/), names ----
Q=$MNT/ipam/quotas
expect_file_eq "$Q/policies" 10
expect_file_eq "$Q/policy-targets" 100
expect_file_eq "$Q/policy-rule-pools" 10
for i in $(seq 4 10); do t mkdir "$PO/q$i" || echo "mkdir q$i failed"; done
expect_errno EDQUOT t mkdir "$PO/q11"
expect_ok wr "$Q/policies" 11
expect_ok t mkdir "$PO/q11"
expect_errno EDQUOT t mkdir "$PO/q12"
expect_ok wr "$Q/policies" 3 # below use: allowed, it only stops new ones
expect_file_eq "$Q/policies" 3
expect_errno EDQUOT t mkdir "$PO/q12"
for i in $(seq 4 11); do t rmdir "$PO/q$i"; done
expect_errno EDQUOT t mkdir "$PO/q4"
expect_ok wr "$Q/policies" 10
expect_ok wr "$Q/policy-targets" 1
expect_errno EDQUOT wrf "$P3/targets" 'user:1000\ngroup:7\n'
expect_file_eq "$P3/targets" "user:1000" "a refused targets write changes nothing"
expect_ok wr "$Q/policy-targets" 100
expect_ok wr "$Q/policy-rule-pools" 1
expect_errno EDQUOT wr "$P3/rules" "us-east-1 eip $BID $AID"
expect_file_eq "$P3/rules" "us-east-1 eip $BID"
expect_ok wr "$Q/policy-rule-pools" 2
expect_ok wr "$P3/rules" "us-east-1 eip $BID $AID"
expect_ok wr "$P3/rules" "us-east-1 eip $BID"
expect_ok wr "$Q/policy-rule-pools" 10
for v in 0 -1 101 abc '' '10 10' 1e3 0x5; do
	expect_errno EINVAL wr "$Q/policy-rule-pools" "$v"
done
for v in 0 1000001 x; do
	expect_errno EINVAL wr "$Q/policies" "$v"
	expect_errno EINVAL wr "$Q/policy-targets" "$v"
done
expect_file_eq "$Q/policy-rule-pools" 10 "refused quota writes change nothing"
expect_match "$(rd "$MNT/export.json")" '"policies":10,"policy-targets":100,"policy-rule-pools":10' \
	"export.json carries the policy quotas"
expect_errno_kernel ENOENT t rmdir "$PO/nope"
expect_eq "$(t ls "$PO" | tr '\n' ' ')" "edge third west " "ls policies/"

# ---- a fresh mount of the same database ----
exported=$(rd "$MNT/export.json")
if [ -z "${IPAMFS_SOAK_MNT:-}" ]; then
	unmount_ipamfs
	start_ipamfs -o allow_other,byoip-proof=skip
	expect_file_eq "$P1/rules" "$before" "rules survive a remount"
	expect_file_eq "$P1/enabled" true
	expect_file_eq "$P1/overflow" false
	expect_file_eq "$P2/targets" "group:2000"
	expect_ok t rmdir "$E1"
	mkres public eipalloc-000000000000000a locale=us-east-1
	expect_eq "$(wr_readback "$RES/allocate" "/32")" 198.51.100.254/32 "the fresh mount steers by the same policy"
	exported=$(rd "$MNT/export.json")
	expect_match "$(jq -c '.IpamPolicies[0] | [.Name, .Overflow, .Enabled, .Rules, .Targets]' <<<"$exported")" \
		"^\\[\"edge\",false,true,\\[\"us-east-1 eip $AID $BID\"" "export.json carries the policies"
	# export -> import into an empty IPAM -> export: byte-identical
	unmount_ipamfs
	DB=$TMPD/fresh.db
	start_ipamfs -o byoip-proof=skip
	printf '%s\n' "$exported" >"$TMPD/export.json"
	expect_ok dd if="$TMPD/export.json" of="$MNT/import" bs=1M status=none
	expect_eq "$(rd "$MNT/export.json")" "$exported" "export -> import -> export is byte-identical"
	expect_file_eq "$P1/enabled" true "imported: enabled"
	expect_file_eq "$P3/targets" "user:1000"
fi

# ---- cleanup (the soak mount is shared) ----
for p in edge west third; do
	wr "$PO/$p/enabled" false
	t rmdir "$PO/$p"
done
expect_eq "$(t ls "$PO" | wc -l)" 0 "rmdir removes disabled policies"
finish
