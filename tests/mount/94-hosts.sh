#!/bin/bash
# 94-hosts: SPEC §8.5, host records. Allocating a /32 or /128 from a subnet
# pool records a host (as NetBox users record IP addresses); such an
# allocation carries `dns-name` and `mac-address` (docs/tree.md):
#  - set by file or on the allocate line, read back canonical (lowercase
#    name without the final dot, MAC as 02:00:5e:10:00:01), in its
#    one-line allocation.json and in /export.json, so `grep -r web01`
#    over the mount finds the address;
#  - hostile values refused with EINVAL, a reason in /errors, nothing
#    changed: bad labels, long names, control bytes, NUL, non-ASCII, bad
#    MACs, a line over 64 KiB (E2BIG); only single-address allocations carry
#    them; an allocate line with a bad value allocates nothing;
#  - events for every change; export -> import -> export byte-identical.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"

mount_ipamfs
S=$MNT/scopes/private
VPC=vpc-0c0000000000000a1
mkres private "$VPC" locale=local
addcidr "$RES" 10.1.0.0/16
P=$S/pools/plan
expect_ok mkdir "$P"
expect_ok wr "$P/source-resource" "$VPC"
expect_ok wr "$P/cidrs" 10.1.0.0/16
SP=$P/pools/servers
expect_ok mkdir "$SP"
expect_ok wr "$SP/cidrs" 10.1.0.0/24

# ---- a host by file
expect_eq "$(wr_readback "$SP/allocate" "web01 10.1.0.5/32")" 10.1.0.5/32 "allocate a host address"
H=$SP/allocations/web01
expect_eq "$(rd "$H/dns-name")" "" "no DNS name yet (an empty line)"
expect_ok wr "$H/dns-name" WEB01.Example.COM.
expect_file_eq "$H/dns-name" web01.example.com "stored lowercase, without the final dot"
expect_ok wr "$H/mac-address" 02-00-5E-10-00-01
expect_file_eq "$H/mac-address" 02:00:5e:10:00:01 "stored as six lowercase pairs with ':'"
expect_ok wr "$H/mac-address" 0200.5e10.00ff
expect_file_eq "$H/mac-address" 02:00:5e:10:00:ff "the dotted form too"
expect_json "$H/allocation.json" '[.Cidr, .DnsName, .MacAddress, .ResourceType] | join(" ")' \
	"10.1.0.5/32 web01.example.com 02:00:5e:10:00:ff custom"
expect_eq "$(t cat "$H/allocation.json" | wc -l)" 1 "allocation.json is one line"
# "which IP does web01 have" is grep -r over the mount
got=$(t grep -r --include=allocation.json web01.example.com "$MNT")
expect_match "$got" '"Cidr":"10[.]1[.]0[.]5/32".*"DnsName":"web01[.]example[.]com"' "grep -r finds the host's address beside its name"
t grep -rq web01.example.com "$MNT"
check $? "grep -r over the whole mount exits 0 and finds it"

# ---- a host on the allocate line
expect_eq "$(wr_readback "$SP/allocate" "db01 /32 dns-name=db01.example.com mac-address=02:00:5E:10:00:02 description=primary db")" \
	10.1.0.0/32 "allocate a host with its name and MAC in one line"
expect_file_eq "$SP/allocations/db01/dns-name" db01.example.com
expect_file_eq "$SP/allocations/db01/mac-address" 02:00:5e:10:00:02
expect_file_eq "$SP/allocations/db01/description" "primary db"
n0=$(nalloc "$SP")
expect_errno EINVAL wr "$SP/allocate" "bad /32 dns-name=-bad.example.com"
expect_errno EINVAL wr "$SP/allocate" "bad /32 mac-address=02:00:5e"
expect_eq "$(nalloc "$SP")" "$n0" "a refused allocate line allocates nothing"
absent "$SP/allocations/bad" "no allocation 'bad'"

# ---- IPv6: a /128 in an ordinary ULA pool is a host too
mkpool private v6 fd01:3::/48
expect_ok wr "$POOL/allocate" "ns1 fd01:3::53/128 dns-name=ns1.example.net"
expect_file_eq "$POOL/allocations/ns1/dns-name" ns1.example.net "a /128 carries a DNS name"

# ---- only a single address is a host
expect_ok wr "$SP/allocate" "rack1 /28"
expect_errno EINVAL wr "$SP/allocations/rack1/dns-name" rack1.example.com
expect_match "$(errors_last)" "only a host allocation [(]/32, /128[)] has a dns-name" "the reason says why"
expect_errno EINVAL wr "$SP/allocations/rack1/mac-address" 02:00:5e:10:00:03
expect_eq "$(rd "$SP/allocations/rack1/dns-name")" "" "a /28 shows no DNS name"

# ---- hostile values: EINVAL, a reason, nothing changed
long_label=$(printf 'a%.0s' {1..64})
label63=$(printf 'b%.0s' {1..63})
long_name="$label63.$label63.$label63.$label63" # 255 characters
expect_errno_each EINVAL "$H/dns-name" \
	-web.example.com web-.example.com web..example.com . .web \
	"$long_label.example.com" "$long_name" "web 01" web_01 'wéb.example.com' \
	'web/01' "$(printf 'web\001')" '*.example.com' 'web01.example.com..'
expect_file_eq "$H/dns-name" web01.example.com "refused names changed nothing"
expect_errno EINVAL wrf "$H/dns-name" 'web\0evil\n'
head -c 100000 /dev/zero | tr '\0' a >"$TMPD/line100k"
expect_errno E2BIG wr_file "$H/dns-name" "$TMPD/line100k"
expect_file_eq "$H/dns-name" web01.example.com "still unchanged"
expect_ok wr "$H/dns-name" "$label63.example.com"
expect_file_eq "$H/dns-name" "$label63.example.com" "a 63-character label is fine"
expect_errno_each EINVAL "$H/mac-address" \
	02:00:5e:10:00 02:00:5e:10:00:01:02 02:00:5e:10:00:0g 02:00-5e:10:00:01 \
	0200.5e10.00011 020005e10001 02:00:5e:10:00:1 ' 02:00:5e:10:00:01x' \
	'02.00.5e.10.00.01' "$(printf '02:00:5e:10:00:\00101')"
expect_file_eq "$H/mac-address" 02:00:5e:10:00:ff "refused MACs changed nothing"
# an empty write clears
expect_ok wr "$H/mac-address" ""
expect_eq "$(rd "$H/mac-address")" "" "an empty write clears the MAC"
expect_json "$H/allocation.json" 'has("MacAddress")' false

# ---- events
expect_match "$(t grep modify-ipam-pool-allocation "$MNT/events" | tail -n 1)" '"mac-address":""' "clearing is an event"
hid=$(rd "$H/id")
expect_eq "$(t grep -F "\"$hid\"" "$MNT/events" | grep -c '"dns-name":"web01.example.com"')" 1 \
	"setting web01's name is one event (the same value again is none)"
n0=$(t cat "$MNT/events" | wc -l)
expect_ok wr "$H/dns-name" "$label63.example.com"
expect_eq "$(t cat "$MNT/events" | wc -l)" "$n0" "writing the value it has logs nothing"

# ---- export -> import -> export
expect_ok wr "$H/dns-name" web01.example.com
E1=$TMPD/e1.json
rd "$MNT/export.json" >"$E1"
expect_ok jq -e '.IpamPoolAllocations[] | select(.Name == "db01") | .DnsName == "db01.example.com" and .MacAddress == "02:00:5e:10:00:02"' "$E1"
expect_ok jq -e '.IpamPoolAllocations[] | select(.Name == "rack1") | (has("DnsName") or has("MacAddress")) | not' "$E1"
bad=$(jq -c '(.IpamPoolAllocations[] | select(.Name == "db01") | .MacAddress) = "zz:00:5e:10:00:02"' "$E1")
DB=$TMPD/b.db MNT=$TMPD/b
mkdir "$MNT"
start_ipamfs
t cp "$E1" "$MNT/import"
check $? "import into an empty IPAM"
rd "$MNT/export.json" >"$TMPD/e2.json"
cmp -s "$E1" "$TMPD/e2.json"
check $? "export -> import -> export is byte-identical"
expect_file_eq "$MNT/scopes/private/pools/plan/pools/servers/allocations/db01/mac-address" 02:00:5e:10:00:02 "the MAC came through"
DB=$TMPD/c.db MNT=$TMPD/c
mkdir "$MNT"
start_ipamfs
printf '%s\n' "$bad" >"$TMPD/bad.json"
expect_errno EINVAL t cp "$TMPD/bad.json" "$MNT/import"
expect_match "$(errors_last)" "mac-address 'zz:00:5e:10:00:02' is not an EUI-48 address" "a bad MAC in a document is refused"
expect_eq "$(t ls "$MNT/scopes/private/pools")" "" "and nothing is imported"

finish
