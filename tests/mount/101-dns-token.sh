#!/bin/bash
# 101-dns-token.sh - the DNS-TXT proof of ownership (L5497-L5629, issue 12
# §2): verification tokens (ipam-ext-res-ver-token-..., an 8-digit name, a
# UUID value, 72 hours on the IPAM clock, quota 100) and a real DNS lookup
# of the TXT records in the CIDR's reverse zone, against a dnsmasq this
# test starts on 127.0.0.1 and names in /ipam/dns-resolver. The records
# are the guide's: one per /24 of an IPv4 CIDR, one per nibble-aligned
# prefix of an IPv6 one (L5600-L5628).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"
command -v dnsmasq >/dev/null || { echo "1..0 # SKIP no dnsmasq (dnsmasq-base)"; exit 77; }
command -v dig >/dev/null || { echo "1..0 # SKIP no dig (dnsutils)"; exit 77; }
mount_ipamfs -o settable-clock
set_clock 2026-11-27T10:00:00Z

# --- the token (L5538-L5565) ---------------------------------------------
TK=$MNT/ipam/verification-tokens
expect_ok mkdir "$TK/lab"
id=$(rd "$TK/lab/id")
name=$(rd "$TK/lab/token-name")
value=$(rd "$TK/lab/token-value")
expect_match "$id" '^ipam-ext-res-ver-token-[0-9a-f]{17}$' "the token's id"
expect_match "$name" '^[0-9]{8}$' "TokenName: 8 digits (L5553)"
expect_eq "$(python3 -c 'import sys, uuid; u = uuid.UUID(sys.argv[1]); print(u.version, str(u) == sys.argv[1])' "$value")" "4 True" \
	"TokenValue: a UUIDv4 (python uuid agrees)"
expect_file_eq "$TK/lab/not-after" 2026-11-30T10:00:00Z "valid 72 hours (L5533)"
expect_file_eq "$TK/lab/status" valid
expect_json "$MNT/ipam/verification-tokens.json" '.IpamExternalResourceVerificationTokens[0].TokenName' "$name"
expect_json "$MNT/ipam/verification-tokens.json" '.IpamExternalResourceVerificationTokens[0].NotAfter' 2026-11-30T10:00:00.000000+00:00
expect_errno_kernel EEXIST mkdir "$TK/lab"

# --- a DNS server with the guide's records --------------------------------
# start_dns RECORD...: dnsmasq on 127.0.0.1:$PORT answering TXT records
# NAME=VALUE, authoritative (NXDOMAIN) for the reverse zones, logging queries
DNS_PID=""
start_dns() {
	local args=() r
	[ -n "$DNS_PID" ] && { kill "$DNS_PID" 2>/dev/null; wait "$DNS_PID" 2>/dev/null; }
	for r in "$@"; do
		args+=("--txt-record=${r%%=*},${r#*=}")
	done
	for try in 1 2 3 4 5; do
		PORT=$((20000 + RANDOM % 30000))
		dnsmasq --keep-in-foreground --conf-file=/dev/null --port="$PORT" \
			--listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
			--local=/in-addr.arpa/ --local=/ip6.arpa/ --log-queries \
			--log-facility="$TMPD/dns.log" --pid-file= --user=root "${args[@]}" &
		DNS_PID=$!
		for i in $(seq 1 50); do
			dig +time=1 +tries=1 -p "$PORT" @127.0.0.1 +short TXT probe.invalid >/dev/null 2>&1 && return 0
			kill -0 "$DNS_PID" 2>/dev/null || break
			sleep 0.1
		done
	done
	echo "Bail out! dnsmasq did not start"
	exit 1
}
rev4() { echo "$name.$1.in-addr.arpa"; }
start_dns "$(rev4 245.137.130)=$value" \
	"$(rev4 12.18.198)=$value" "$(rev4 13.18.198)=$value" "$(rev4 14.18.198)=$value" \
	"$name.0.0.8.b.d.0.1.0.0.2.ip6.arpa=$value" \
	"$(rev4 113.0.203)=not-the-token"
expect_eq "$(dig +short -p "$PORT" @127.0.0.1 TXT "$(rev4 245.137.130)")" "\"$value\"" "dig sees the guide's record (L5585)"

expect_file_eq "$MNT/ipam/dns-resolver" "" "the system's resolvers by default"
expect_errno EINVAL wr "$MNT/ipam/dns-resolver" "localhost:53"
expect_errno EINVAL wr "$MNT/ipam/dns-resolver" "127.0.0.1:65536"
expect_ok wr "$MNT/ipam/dns-resolver" "127.0.0.1:$PORT"

# --- provisioning with the token (L6610-L6613) ---------------------------
T=$MNT/scopes/public/pools/top
expect_ok mkdir "$T"
state() { jq -r --arg c "$2" '.IpamPoolCidrs[] | select(.Cidr == $c) | .State' "$1/cidrs.json"; }
reason() { jq -r --arg c "$2" '.IpamPoolCidrs[] | select(.Cidr == $c) | .FailureReason.Message' "$1/cidrs.json"; }
: >"$TMPD/dns.log"
expect_ok wr "$T/cidrs" "130.137.245.0/24 dns-token=$id"
expect_eq "$(state "$T" 130.137.245.0/24)" provisioned "the /24 is proven by its TXT record"
expect_match "$(cat "$TMPD/dns.log")" "query\[TXT\] $name\.245\.137\.130\.in-addr\.arpa from 127\.0\.0\.1" \
	"ipamfs asked the DNS server for the record"

# a /22: four records, one per /24 (L5606-L5610); the fourth is missing
expect_errno EACCES wr "$T/cidrs" "198.18.12.0/22 dns-token=$id"
expect_match "$(reason "$T" 198.18.12.0/22)" "no TXT record at $name\.15\.18\.198\.in-addr\.arpa" \
	"FailureReason names the missing record"
for o in 12 13 14; do
	expect_match "$(cat "$TMPD/dns.log")" "query\[TXT\] $name\.$o\.18\.198\.in-addr\.arpa" "the /22's record .$o was asked"
done
# a record with another value
expect_errno EACCES wr "$T/cidrs" "203.0.113.0/24 dns-token=$id"
expect_match "$(reason "$T" 203.0.113.0/24)" "do not hold the token value" "a record with another value proves nothing"
# by the token's name as well as its id
start_dns "$(rev4 245.137.130)=$value" \
	"$(rev4 12.18.198)=$value" "$(rev4 13.18.198)=$value" "$(rev4 14.18.198)=$value" "$(rev4 15.18.198)=$value" \
	"$name.0.0.8.b.d.0.1.0.0.2.ip6.arpa=$value"
expect_ok wr "$MNT/ipam/dns-resolver" "127.0.0.1:$PORT"
expect_ok wr "$T/cidrs" "198.18.12.0/22 dns-token=lab"
expect_eq "$(state "$T" 198.18.12.0/22)" provisioned "the /22 with all four records"

# IPv6: 2001:db8::/40 has one record (L5617)
V=$MNT/scopes/public/pools/v6
expect_ok mkdir "$V"
expect_ok wr "$V/address-family" ipv6
# 2001:db8:80::/42 needs four /44 records (L5619): none is there
expect_errno EACCES wr "$V/cidrs" "2001:db8:80::/42 dns-token=$id"
expect_match "$(reason "$V" 2001:db8:80::/42)" "$name\.8\.0\.0\.8\.b\.d\.0\.1\.0\.0\.2\.ip6\.arpa" "the first /44 record is asked"
# a failed CIDR holds nothing: the /40 around it is proven by its record
expect_ok wr "$V/cidrs" "2001:db8::/40 dns-token=$id"
expect_eq "$(state "$V" 2001:db8::/40)" provisioned "the IPv6 /40 by its nibble record"

# --- 72 hours (L5533): the token expires on the IPAM clock ---------------
expect_errno EINVAL wr "$T/cidrs" "192.0.2.0/24 dns-token=ipam-ext-res-ver-token-00000000000000000"
set_clock 2026-11-30T10:00:01Z
expect_file_eq "$TK/lab/status" expired
expect_json "$MNT/ipam/verification-tokens.json" '.IpamExternalResourceVerificationTokens[0].Status' expired
expect_errno EKEYEXPIRED wr "$T/cidrs" "192.0.2.0/24 dns-token=$id"
expect_eq "$(state "$T" 192.0.2.0/24)" failed-provision "an expired token fails the provision"

# --- quota 100 (L5534), a setting ----------------------------------------
expect_file_eq "$MNT/ipam/quotas/verification-tokens" 100
expect_ok wr "$MNT/ipam/quotas/verification-tokens" 2
expect_ok mkdir "$TK/second"
expect_errno EDQUOT mkdir "$TK/third"
expect_match "$(errors_last)" "delete expired ones" "the reason says what to do (L5565)"
expect_ok rmdir "$TK/lab"
expect_ok mkdir "$TK/third"
expect_eq "$(t ls "$TK" | tr '\n' ' ')" "second third " "ls lists the tokens"
expect_errno_kernel ENOENT rmdir "$TK/lab"
kill "$DNS_PID" 2>/dev/null
wait "$DNS_PID" 2>/dev/null
finish
