#!/bin/bash
# 108-public-export.sh - the public scope's state through /export.json and
# /import (issue 12 follow-up): BYOIP records in every resting state (with
# their failure reason and proof method), ASNs and their CIDR associations,
# advertisements, verification tokens, the certificate, account id and
# resolver, the provider-block quotas. Export -> import into an empty IPAM
# -> export is byte-identical and the imported state is live (the same
# /advertisements and BIRD file, a pending CIDR still blocks an overlap);
# forged documents (a pending CIDR said provisioned, a private ASN, an
# association of an unproven ASN, a token that never expires, ...) are
# refused with the reason in /errors and nothing applied. Then the guide's
# once-an-hour limit on switching to a brought ASN (L5291) on the clock.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"
command -v openssl >/dev/null || { echo "1..0 # SKIP no openssl"; exit 77; }
mount_ipamfs -o settable-clock
set_clock 2026-11-27T10:00:00Z

K=$TMPD/keys
mkdir "$K"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/private-key.pem" 2>/dev/null
openssl req -new -x509 -key "$K/private-key.pem" -days 365 -subj /CN=byoip -out "$K/certificate.pem" 2>/dev/null
sign() {
	local text_message=$2
	(cd "$K" && echo -n $text_message | openssl dgst -sha256 -sigopt \
		rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-1 -sign "$1" -keyform \
		PEM | openssl base64 | tr -- '+=/' '-_~' | tr -d "\n")
}
msg() { echo "1|aws|111122223333|$1|20261231|SHA256|RSAPSS"; }
prove() { local m; m=$(msg "$2"); wr "$1" "$2 message=$m signature=$(sign private-key.pem "$m")"; }

A=$MNT
expect_ok wr "$A/ipam/account-id" 111122223333
expect_ok wr_file "$A/ipam/certificate" "$K/certificate.pem"
expect_ok wr "$A/ipam/dns-resolver" 127.0.0.1:5353
expect_ok wrf "$A/ipam/operating-locales" 'local\nus-east-1\n'
expect_ok wr "$A/ipam/quotas/provider-ipv4-blocks" 3
T=$A/scopes/public/pools/top
expect_ok mkdir "$T"
expect_ok prove "$T/cidrs" 130.137.245.0/24
expect_ok prove "$T/cidrs" 130.137.246.0/24
expect_ok wr "$T/cidrs" -130.137.246.0/24
expect_ok wr "$T/cidrs" 198.51.100.0/24
m=$(msg 130.137.240.0/24)
expect_errno EINVAL wr "$T/cidrs" "203.0.113.0/24 message=$m signature=$(sign private-key.pem "$m")"
expect_file_eq "$T/cidrs" $'130.137.245.0/24\n130.137.246.0/24 deprovisioned\n198.51.100.0/24 pending-provision\n203.0.113.0/24 failed-provision'
R=$T/pools/us-east-1
expect_ok mkdir "$R"
expect_ok wr "$R/locale" us-east-1
expect_ok wr "$R/aws-service" ec2
expect_ok wr "$R/cidrs" 130.137.245.0/24
expect_ok mkdir "$A/asns/64496" "$A/asns/64497"
m=$(msg 64496)
expect_ok wr "$A/asns/64496/proof" "message=$m signature=$(sign private-key.pem "$m")"
expect_ok wr "$A/asns/64496/cidrs" +130.137.245.0/24
expect_ok wr "$R/advertise" "130.137.245.0/24 asn=64496"
expect_ok mkdir "$A/ipam/verification-tokens/lab"
ev=$(rd "$A/events" | jq -c 'select(.action == "associate-ipam-byoasn") | [.id, .asn, .cidr, .state]')
expect_eq "$ev" '["'"$(idof "$T")"'",64496,"130.137.245.0/24","associated"]' "an association is an event of the pool that holds the CIDR"

E1=$TMPD/e1.json
rd "$A/export.json" >"$E1"
expect_ok jq -e '[.ByoipCidrs[] | "\(.Cidr) \(.State) \(.ProofMethod)"] == ["130.137.245.0/24 provisioned x509", "130.137.246.0/24 deprovisioned x509", "198.51.100.0/24 pending-provision ", "203.0.113.0/24 failed-provision x509"]' "$E1"
expect_ok jq -e '.ByoipCidrs[] | select(.State == "failed-provision") | .FailureReason.Code == "cidr-not-available" and (.FailureReason.Message | test("130.137.240.0/24"))' "$E1"
expect_ok jq -e '[.Byoasns[] | "\(.Asn) \(.State) \(.Cidrs)"] == ["64496 provisioned [\"130.137.245.0/24\"]", "64497 pending-provision []"]' "$E1"
expect_ok jq -e '.Advertisements == [{"Cidr":"130.137.245.0/24","IpamPoolId":"'"$(idof "$R")"'","Asn":"64496"}]' "$E1"
expect_ok jq -e '.VerificationTokens[0].Name == "lab" and (.VerificationTokens[0].TokenValue | test("^[0-9a-f-]{36}$"))' "$E1"
expect_ok jq -e '.Ipam.AccountId == "111122223333" and .Ipam.DnsResolver == "127.0.0.1:5353" and (.Ipam.Certificate | startswith("-----BEGIN CERTIFICATE-----")) and .Ipam.Quotas["provider-ipv4-blocks"] == 3 and .Ipam.Quotas["provider-ipv6-blocks-per-pool"] == 1' "$E1"

# ---- into an empty IPAM ----
DB=$TMPD/b.db MNT=$TMPD/b
mkdir "$MNT"
start_ipamfs -o settable-clock
B=$MNT
set_clock 2026-11-27T10:00:00Z
rd "$B/export.json" >"$TMPD/empty.json"
# forged documents: refused, the reason in /errors, nothing applied
forge() { # ERRNO REASON-RE JQ-FILTER
	jq "$3" "$E1" >"$TMPD/forged.json"
	expect_errno "$1" t cp "$TMPD/forged.json" "$B/import"
	expect_match "$(errors_last)" "$2" "forged ($3): $2"
}
forge EINVAL 'is not provisioned to pool' '(.ByoipCidrs[] | select(.State == "pending-provision") | .State) = "provisioned"'
forge EINVAL 'is provisioned to pool' '(.ByoipCidrs[] | select(.State == "provisioned") | .State) = "failed-provision" | (.ByoipCidrs[] | select(.Cidr == "130.137.245.0/24") | .FailureReason) = {"Code":"cidr-not-available","Message":"x"}'
forge EINVAL 'no state a record rests in' '(.ByoipCidrs[] | select(.State == "pending-provision") | .State) = "pending-deprovision"'
forge EINVAL 'ProofMethod' '(.ByoipCidrs[0].ProofMethod) = "trust me"'
forge EADDRINUSE 'overlaps|pending' '(.ByoipCidrs[] | select(.State == "pending-provision") | .Cidr) = "130.137.244.0/23"'
forge EINVAL 'not a public ASN' '(.Byoasns[1].Asn) = "65000"'
forge EINVAL 'asplain' '(.Byoasns[1].Asn) = "1.10"'
forge EINVAL 'not provisioned' '(.Byoasns[1].Cidrs) = ["130.137.245.0/24"]'
forge EINVAL 'not associated' '(.Advertisements[0].Asn) = "64497"'
forge EINVAL '72 hours' '(.VerificationTokens[0].NotAfter) = "2099-01-01T00:00:00Z"'
forge EINVAL 'UUID' '(.VerificationTokens[0].TokenValue) = "0"'
forge EINVAL 'Certificate' '(.Ipam.Certificate) = "not a certificate"'
forge EDQUOT 'asns quota' '(.Ipam.Quotas.asns) = 1'
forge EINVAL 'provider-ipv4-blocks must be' '(.Ipam.Quotas["provider-ipv4-blocks"]) = 0'
rd "$B/export.json" >"$TMPD/after.json"
expect_same "$TMPD/empty.json" "$TMPD/after.json" "refused imports applied nothing"

t cp "$E1" "$B/import"
check $? "cp export.json to /import"
expect_match "$(rd "$B/import")" '\+ byoip-cidr scopes/public/pools/top 198.51.100.0/24 pending-provision' "/import lists the records"
rd "$B/export.json" >"$TMPD/e2.json"
expect_same "$E1" "$TMPD/e2.json" "export -> import -> export is byte-identical with the public state"
expect_eq "$(rd "$B/advertisements")" "$(rd "$A/advertisements")" "the same advertisements"
expect_eq "$(rd "$B/advertisements.bird")" "$(rd "$A/advertisements.bird")" "the same BIRD include"
expect_file_eq "$B/scopes/public/pools/top/cidrs" "$(rd "$T/cidrs")"
expect_file_eq "$B/asns/64496/cidrs" "130.137.245.0/24 advertised"
expect_file_eq "$B/ipam/verification-tokens/lab/token-value" "$(rd "$A/ipam/verification-tokens/lab/token-value")"
expect_ok mkdir "$B/scopes/public/pools/other"
expect_errno EADDRINUSE wr "$B/scopes/public/pools/other/cidrs" 198.51.100.0/23
expect_match "$(errors_last)" "pending provision in pool 'top'" "an imported pending CIDR still holds its space"
expect_ok rmdir "$B/scopes/public/pools/other"
t cp "$E1" "$B/import"
expect_eq "$(rd "$B/import" | tail -n +2)" "" "a second import changes nothing"
ev=$(rd "$B/events" | jq -c 'select(.action == "byoip-cidr-state" and .import == true) | .to' | tr '\n' ' ')
expect_eq "$ev" '"provisioned" "deprovisioned" "pending-provision" "failed-provision" ' "/events has the imported records"

# ---- L5291: from the AWS ASN to a brought one once an hour ----
RB=$B/scopes/public/pools/top/pools/us-east-1
expect_ok wr "$RB/advertise" "130.137.245.0/24 asn=AWS"
expect_ok wr "$RB/advertise" "130.137.245.0/24 asn=64496"
expect_ok wr "$RB/advertise" "130.137.245.0/24 asn=AWS"
expect_errno EBUSY wr "$RB/advertise" "130.137.245.0/24 asn=64496"
expect_match "$(errors_last)" "before 2026-11-27T11:00:00Z: once an hour" "the reason names when"
expect_file_eq "$B/advertisements" "130.137.245.0/24 AWS"
set_clock 2026-11-27T10:59:59Z
expect_errno EBUSY wr "$RB/advertise" "130.137.245.0/24 asn=64496"
set_clock 2026-11-27T11:00:00Z
expect_ok wr "$RB/advertise" "130.137.245.0/24 asn=64496"
expect_file_eq "$B/advertisements" "130.137.245.0/24 64496"
finish
