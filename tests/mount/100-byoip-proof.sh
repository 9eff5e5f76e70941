#!/bin/bash
# 100-byoip-proof.sh - the guide's BYOIP tutorials with the CLI, IPv4
# (L6388-L7030) and IPv6 (L7480-L7700), with the X.509 proof of ownership
# verified for real (issue 12 §1-§2): a key and certificate made with the
# openssl CLI, messages signed exactly as the guide signs them
# (L5329-L5331), every bad variant refused (wrong CIDR, wrong account,
# expired date, bad signature, another key, garbage) and recorded as
# failed-provision with its reason; pending-provision while no proof has
# come; the states in cidrs, cidrs.json and /events; the lab switch.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"
command -v openssl >/dev/null || { echo "1..0 # SKIP no openssl"; exit 77; }
mount_ipamfs -o settable-clock
set_clock 2026-11-27T10:00:00Z

K=$TMPD/keys
mkdir "$K"
# the key and the self-signed certificate of the RDAP record
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/private-key.pem" 2>/dev/null
openssl req -new -x509 -key "$K/private-key.pem" -days 365 -subj /CN=byoip -out "$K/certificate.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/other-key.pem" 2>/dev/null

# sign KEY MESSAGE: the guide's command (L5329-L5331), verbatim
sign() {
	local text_message=$2
	(cd "$K" && echo -n $text_message | openssl dgst -sha256 -sigopt \
		rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-1 -sign "$1" -keyform \
		PEM | openssl base64 | tr -- '+=/' '-_~' | tr -d "\n")
}

# --- the operator's certificate and account -------------------------------
expect_file_eq "$MNT/ipam/account-id" "$(id -u)" "the account id defaults to the owner's uid (OwnerId)"
expect_errno EINVAL wr "$MNT/ipam/account-id" "4708 89052444"
expect_ok wr "$MNT/ipam/account-id" 470889052444
expect_file_eq "$MNT/ipam/certificate" "" "no certificate yet"
expect_errno EINVAL wr "$MNT/ipam/certificate" "not a certificate"
expect_errno EINVAL wr_file "$MNT/ipam/certificate" "$K/private-key.pem"
cat "$K/certificate.pem" "$K/certificate.pem" >"$K/two.pem"
expect_errno EINVAL wr_file "$MNT/ipam/certificate" "$K/two.pem"
expect_match "$(errors_last)" "more than one certificate" "one certificate, the RDAP record's"
expect_ok wr_file "$MNT/ipam/certificate" "$K/certificate.pem"
expect_eq "$(rd "$MNT/ipam/certificate")" "$(cat "$K/certificate.pem")" "the certificate reads back"
expect_eq "$(openssl x509 -in <(rd "$MNT/ipam/certificate") -noout -fingerprint -sha256)" \
	"$(openssl x509 -in "$K/certificate.pem" -noout -fingerprint -sha256)" "openssl reads the stored certificate"
expect_json "$MNT/ipam.json" '.Ipams[0].StateMessage' null
expect_ok wrf "$MNT/ipam/operating-locales" 'local\nus-east-1\n'

# --- Step 3: the top-level IPv4 pool (L6488) ------------------------------
T=$MNT/scopes/public/pools/ipv4-top
expect_ok mkdir "$T"
expect_ok wr "$T/description" "top-level IPv4 pool"
expect_file_eq "$T/public-ip-source" byoip

# --- Step 4: provision 130.137.245.0/24, first with every bad proof -------
CIDR=130.137.245.0/24
good="1|aws|470889052444|$CIDR|20261231|SHA256|RSAPSS"
sig=$(sign private-key.pem "$good")
expect_match "$sig" '^[A-Za-z0-9~_-]+$' "the signature is in the guide's alphabet"
state() { jq -r --arg c "$2" '.IpamPoolCidrs[] | select(.Cidr == $c) | .State' "$1/cidrs.json"; }
reason() { jq -r --arg c "$2" '.IpamPoolCidrs[] | select(.Cidr == $c) | .FailureReason.Message' "$1/cidrs.json"; }
# bad WANT MESSAGE SIGNATURE REASON-RE
bad() {
	expect_errno "$1" wr "$T/cidrs" "$CIDR message=$2 signature=$3"
	expect_eq "$(state "$T" "$CIDR")" failed-provision "failed-provision after $1"
	expect_match "$(reason "$T" "$CIDR")" "$4" "FailureReason names why ($1)"
	expect_json "$T/cidrs.json" '.IpamPoolCidrs[0].FailureReason.Code' cidr-not-available
	expect_file_eq "$T/cidrs" "$CIDR failed-provision"
}
m="1|aws|470889052444|130.137.246.0/24|20261231|SHA256|RSAPSS"
bad EINVAL "$m" "$(sign private-key.pem "$m")" "names '130.137.246.0/24', not $CIDR"
m="1|aws|111122223333|$CIDR|20261231|SHA256|RSAPSS"
bad EINVAL "$m" "$(sign private-key.pem "$m")" "account '111122223333'"
m="1|aws|470889052444|$CIDR|20261126|SHA256|RSAPSS"
bad EKEYEXPIRED "$m" "$(sign private-key.pem "$m")" "expired on 20261126"
bad EACCES "$good" "$(sign private-key.pem "${good/20261231/20261230}")" "does not verify"
bad EACCES "$good" "$(sign other-key.pem "$good")" "does not verify"
bad EINVAL "$good" 'W3gdQ9PZ*HLjPm' "not base64"
bad EINVAL "$good" "$(printf %s "$sig" | tr -- '-_~' '+=/')" "bad character"
bad EINVAL "1|aws|470889052444|$CIDR" "$sig" "is not 1\|aws"
expect_errno EINVAL wr "$T/cidrs" "$CIDR message=$good dns-token=ipam-ext-res-ver-token-0"
expect_errno EINVAL wr "$T/cidrs" "$CIDR message=$good signature=$sig signature=$sig"
expect_errno EINVAL wr "$T/cidrs" "$CIDR colour=blue"
expect_errno EINVAL wr "$T/cidrs" "-$CIDR message=$good"

# --- without a proof: pending-provision, holding no space ----------------
expect_ok wr "$T/cidrs" "$CIDR"
expect_file_eq "$T/cidrs" "$CIDR pending-provision"
expect_eq "$(state "$T" "$CIDR")" pending-provision "State pending-provision (L6622)"
pending_id=$(jq -r '.IpamPoolCidrs[0].IpamPoolCidrId' "$T/cidrs.json")
expect_errno ENOSPC wr "$T/allocate" "early /28"
expect_ok mkdir "$MNT/scopes/public/pools/other"
expect_errno EADDRINUSE wr "$MNT/scopes/public/pools/other/cidrs" 130.137.244.0/23
expect_match "$(errors_last)" "pending provision in pool 'ipv4-top'" "the reason names the pending pool"
# the proof arrives: provisioned, same id
expect_ok wr "$T/cidrs" "$CIDR message=$good signature=$sig"
expect_file_eq "$T/cidrs" "$CIDR"
expect_eq "$(state "$T" "$CIDR")" provisioned "State provisioned (L6646)"
expect_json "$T/cidrs.json" '.IpamPoolCidrs[0].IpamPoolCidrId' "$pending_id"
expect_json "$T/cidrs.json" '.IpamPoolCidrs[0].FailureReason' null
expect_errno EEXIST wr "$T/cidrs" "$CIDR message=$good signature=$sig"
# a message dated today is still good
t2=$MNT/scopes/public/pools/today
expect_ok mkdir "$t2"
m="1|aws|470889052444|198.51.100.0/24|20261127|SHA256|RSAPSS"
expect_ok wr "$t2/cidrs" "198.51.100.0/24 message=$m signature=$(sign private-key.pem "$m")"
expect_eq "$(state "$t2" 198.51.100.0/24)" provisioned "a message dated today is not past"

# the change log has every transition
ev=$(rd "$MNT/events" | jq -c 'select(.action == "byoip-cidr-state") | select(.cidr == "'$CIDR'") | [.from, .to]' | tail -n 3 | tr '\n' ' ')
expect_eq "$ev" '["pending-provision","failed-provision"] ["","pending-provision"] ["pending-provision","provisioned"] ' \
	"/events: failed; a new record pending; provisioned" ||
	diag "$(rd "$MNT/events" | tail -n 5)"

# --- Step 5-6: the Regional pool takes it without a proof (L6581) ---------
R=$T/pools/us-east-1
expect_ok mkdir "$R"
expect_ok wr "$R/locale" us-east-1
expect_ok wr "$R/aws-service" ec2
expect_errno EINVAL wr "$R/cidrs" "$CIDR message=$good signature=$sig"
expect_match "$(errors_last)" "takes no proof" "a Regional pool takes no proof"
expect_ok wr "$R/cidrs" "$CIDR"
expect_eq "$(state "$R" "$CIDR")" provisioned "the Regional pool's CIDR is provisioned at once"
expect_ok wr "$R/allocate" "eips /28"
expect_file_eq "$R/allocations/eips/cidr" 130.137.245.0/28

# --- clean-up in the guide's order (L7000-L7030) --------------------------
expect_errno EBUSY wr "$T/cidrs" "-$CIDR"
expect_ok rmdir "$R/allocations/eips"
expect_ok wr "$R/cidrs" "-$CIDR"
expect_ok wr "$T/cidrs" "-$CIDR"
expect_eq "$(state "$T" "$CIDR")" deprovisioned "State deprovisioned (L7028)"
expect_file_eq "$T/cidrs" "$CIDR deprovisioned"
ev=$(rd "$MNT/events" | jq -c 'select(.action == "byoip-cidr-state") | select(.cidr == "'$CIDR'") | .to' | tail -n 2 | tr '\n' ' ')
expect_eq "$ev" '"pending-deprovision" "deprovisioned" ' "/events: pending-deprovision -> deprovisioned (L7007)"
expect_ok rmdir "$R"
# provisioned again later: a new record
expect_ok wr "$T/cidrs" "$CIDR message=$good signature=$sig"
expect_eq "$(state "$T" "$CIDR")" provisioned "provisioned again"
[ "$(jq -r '.IpamPoolCidrs[0].IpamPoolCidrId' "$T/cidrs.json")" != "$pending_id" ] &&
	ok "a new provision has a new IpamPoolCidrId" || not_ok "a new provision has a new IpamPoolCidrId"

# --- IPv6 with the CLI (L7480-L7700): a /48 to an advertisable pool -------
V=$MNT/scopes/public/pools/ipv6-top
mkpool public ipv6-top
expect_ok wr "$V/address-family" ipv6
V6=2605:9cc0:409::/48
m6="1|aws|470889052444|$V6|20261231|SHA256|RSAPSS"
m="1|aws|470889052444|2605:9cc0:0409::/48|20261231|SHA256|RSAPSS"
expect_errno EINVAL wr "$V/cidrs" "$V6 message=$m signature=$(sign private-key.pem "$m")"
expect_match "$(errors_last)" "names '2605:9cc0:0409::/48', not 2605:9cc0:409::/48" "the message names the canonical CIDR"
expect_ok wr "$V/cidrs" "2605:9cc0:0409:0::/48 message=$m6 signature=$(sign private-key.pem "$m6")"
expect_eq "$(state "$V" "$V6")" provisioned "the IPv6 /48 is provisioned"
RV=$V/pools/us-east-1
expect_ok mkdir "$RV"
expect_ok wr "$RV/locale" us-east-1
expect_ok wr "$RV/aws-service" ec2
expect_ok wr "$RV/publicly-advertisable" true
expect_ok wr "$RV/cidrs" "$V6"
expect_ok wr "$RV/allocate" "vpc /56"
expect_file_eq "$RV/allocations/vpc/cidr" 2605:9cc0:409::/56 "the VPC's /56 (L7826)"

# --- the certificate is the one the proof is checked against -------------
openssl req -new -x509 -key "$K/other-key.pem" -days 365 -subj /CN=other -out "$K/other.pem" 2>/dev/null
expect_ok wr_file "$MNT/ipam/certificate" "$K/other.pem"
m="1|aws|470889052444|192.0.2.0/24|20261231|SHA256|RSAPSS"
expect_errno EACCES wr "$t2/cidrs" "192.0.2.0/24 message=$m signature=$(sign private-key.pem "$m")"
expect_ok wr "$t2/cidrs" "192.0.2.0/24 message=$m signature=$(sign other-key.pem "$m")"
expect_ok truncate -s0 "$MNT/ipam/certificate"
expect_file_eq "$MNT/ipam/certificate" ""
m="1|aws|470889052444|203.0.113.0/24|20261231|SHA256|RSAPSS"
expect_errno EACCES wr "$t2/cidrs" "203.0.113.0/24 message=$m signature=$(sign other-key.pem "$m")"
expect_match "$(errors_last)" "no certificate" "without a certificate nothing verifies"

# --- the lab switch: off by default, shown in ipam.json -------------------
unmount_ipamfs
expect_fail "$IPAMFS" -o byoip-proof=maybe "$DB" "$MNT"
start_ipamfs -o byoip-proof=skip
expect_match "$(jq -r '.Ipams[0].StateMessage' "$MNT/ipam.json")" '^byoip-proof=skip' "ipam.json shows the lab switch"
expect_ok wr "$t2/cidrs" 203.0.113.0/24
expect_eq "$(state "$t2" 203.0.113.0/24)" provisioned "with the lab switch no proof is needed"
expect_eq "$(state "$T" "$CIDR")" provisioned "the states survive a remount"
finish
