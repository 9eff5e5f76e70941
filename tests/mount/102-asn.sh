#!/bin/bash
# 102-asn.sh - the guide's BYOASN tutorial, command line (L5279-L5444,
# issue 12 §3): an ASN brought with the same signed message as a CIDR
# (verified with the certificate, refused when it names another ASN, is
# past or is signed by another key), its states, quota 5, validation of
# 2- and 4-byte ASNs (asdot refused), many-to-many associations with BYOIP
# CIDRs, and the guide's clean-up order: withdraw, disassociate,
# deprovision (refused before).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"
command -v openssl >/dev/null || { echo "1..0 # SKIP no openssl"; exit 77; }
mount_ipamfs -o settable-clock
set_clock 2026-11-27T10:00:00Z

K=$TMPD/keys
mkdir "$K"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/private-key.pem" 2>/dev/null
openssl req -new -x509 -key "$K/private-key.pem" -days 365 -subj /CN=byoasn -out "$K/certificate.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/other-key.pem" 2>/dev/null
sign() {
	local text_message=$2
	(cd "$K" && echo -n $text_message | openssl dgst -sha256 -sigopt \
		rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-1 -sign "$1" -keyform \
		PEM | openssl base64 | tr -- '+=/' '-_~' | tr -d "\n")
}
expect_ok wr "$MNT/ipam/account-id" 111122223333
expect_ok wr_file "$MNT/ipam/certificate" "$K/certificate.pem"
expect_ok wrf "$MNT/ipam/operating-locales" 'local\nus-east-1\n'

# --- the BYOIP CIDR in a Regional pool with EC2 and a locale (L5340) ------
T=$MNT/scopes/public/pools/top
expect_ok mkdir "$T"
m="1|aws|111122223333|130.137.245.0/24|20261231|SHA256|RSAPSS"
expect_ok wr "$T/cidrs" "130.137.245.0/24 message=$m signature=$(sign private-key.pem "$m")"
m="1|aws|111122223333|130.137.244.0/24|20261231|SHA256|RSAPSS"
expect_ok wr "$T/cidrs" "130.137.244.0/24 message=$m signature=$(sign private-key.pem "$m")"
R=$T/pools/us-east-1
expect_ok mkdir "$R"
expect_ok wr "$R/locale" us-east-1
expect_ok wr "$R/aws-service" ec2
expect_ok wr "$R/cidrs" 130.137.245.0/24
expect_ok wr "$R/cidrs" 130.137.244.0/24

# --- ASN numbers: 2- and 4-byte, asplain only -----------------------------
A=$MNT/asns
for bad in 0 23456 64512 65534 65535 4200000000 4294967295 4294967296 1.10 AS12345 012345 -5 12a; do
	expect_errno EINVAL mkdir "$A/$bad"
done
expect_match "$(grep 'asns/1.10' <(rd "$MNT/errors"))" "1.10 is 65546" "asdot is refused with its asplain value"
expect_match "$(grep 'asns/64512' <(rd "$MNT/errors"))" "private use" "a private ASN is refused (the guide wants a public one)"

# --- 1. provision 12345 (L5369) -------------------------------------------
expect_ok mkdir "$A/12345"
expect_file_eq "$A/12345/state" pending-provision
expect_json "$MNT/asns.json" '.Byoasns[0] | "\(.Asn) \(.State)"' "12345 pending-provision"
# refused proofs: another ASN, past, another key, garbage; each recorded
m="1|aws|111122223333|12346|20261231|SHA256|RSAPSS"
expect_errno EINVAL wr "$A/12345/proof" "message=$m signature=$(sign private-key.pem "$m")"
expect_file_eq "$A/12345/state" failed-provision
expect_match "$(rd "$A/12345/failure-reason")" "names '12346', not 12345" "failure-reason says why"
expect_json "$MNT/asns.json" '.Byoasns[0].StatusMessage | test("12346")' true
m="1|aws|111122223333|12345|20261126|SHA256|RSAPSS"
expect_errno EKEYEXPIRED wr "$A/12345/proof" "message=$m signature=$(sign private-key.pem "$m")"
m="1|aws|111122223333|12345|20261231|SHA256|RSAPSS"
expect_errno EACCES wr "$A/12345/proof" "message=$m signature=$(sign other-key.pem "$m")"
expect_errno EINVAL wr "$A/12345/proof" "message=$m signature=@@@@"
expect_errno EINVAL wr "$A/12345/proof" "message=$m"
expect_errno EINVAL wr "$A/12345/proof" "signature=x message=$m colour=blue"
expect_file_eq "$A/12345/state" failed-provision
# associating needs a provisioned ASN
expect_errno EINVAL wr "$A/12345/cidrs" +130.137.245.0/24
expect_ok wr "$A/12345/proof" "message=$m signature=$(sign private-key.pem "$m")"
expect_file_eq "$A/12345/state" provisioned "2. ProvisionStatus provisioned"
expect_file_eq "$A/12345/failure-reason" ""
expect_errno EEXIST wr "$A/12345/proof" "message=$m signature=$(sign private-key.pem "$m")"
ev=$(rd "$MNT/events" | jq -c 'select(.action == "byoasn-state") | .to' | tr '\n' ' ')
expect_match "$ev" '"failed-provision".*"provisioned" $' "/events has the ASN's transitions"

# --- quota 5 (L5335), a setting --------------------------------------------
expect_file_eq "$MNT/ipam/quotas/asns" 5
for n in 12346 12347 12348 12349; do expect_ok mkdir "$A/$n"; done
expect_errno EDQUOT mkdir "$A/12350"
expect_match "$(errors_last)" "asns quota" "the reason names the quota"
expect_ok wr "$MNT/ipam/quotas/asns" 6
expect_ok mkdir "$A/12350"
expect_eq "$(t ls "$A" | tr '\n' ' ')" "12345 12346 12347 12348 12349 12350 " "ls /asns"
for n in 12346 12347 12348 12349 12350; do expect_ok rmdir "$A/$n"; done
expect_ok wr "$MNT/ipam/quotas/asns" 5

# --- 3. associate (many to many, L5343) -----------------------------------
m="1|aws|111122223333|64496|20261231|SHA256|RSAPSS"
expect_ok mkdir "$A/64496"
expect_ok wr "$A/64496/proof" "message=$m signature=$(sign private-key.pem "$m")"
expect_ok wr "$A/12345/cidrs" +130.137.245.0/24
expect_ok wr "$A/12345/cidrs" 130.137.244.0/24
expect_ok wr "$A/64496/cidrs" +130.137.245.0/24
expect_errno EINVAL wr "$A/12345/cidrs" +192.0.2.0/24
expect_match "$(errors_last)" "no pool of the public scope has it" "only provisioned public CIDRs"
expect_errno EINVAL wr "$A/12345/cidrs" "+130.137.245.0/33"
expect_errno ENOENT wr "$A/64496/cidrs" -130.137.244.0/24
expect_eq "$(rd "$A/12345/cidrs" | tr '\n' ' ')" "130.137.244.0/24 associated 130.137.245.0/24 associated " "12345 is associated with both"
bj() { jq -c --arg c "$1" "[.ByoipCidrs[] | select(.Cidr == \$c)][0] | $2" "$MNT/byoip-cidrs.json"; }
expect_eq "$(bj 130.137.245.0/24 '[.AsnAssociations[] | "\(.Asn) \(.State)"]')" '["12345 associated","64496 associated"]' \
	"4. describe-byoip-cidrs: both ASNs associated"
expect_eq "$(bj 130.137.245.0/24 .State)" '"provisioned"' "not advertised yet (L5773)"
expect_eq "$(bj 130.137.245.0/24 .NetworkBorderGroup)" '"us-east-1"' "NetworkBorderGroup: the locale"

# --- 5. advertise with the ASN; 6. associated -> advertised ---------------
expect_errno ENOENT wr "$R/advertise" "130.137.245.0/24 asn=12346"
expect_errno EINVAL wr "$R/advertise" "130.137.244.0/24 asn=64496"
expect_match "$(errors_last)" "not associated" "an ASN advertises only what it is associated with (L5378)"
expect_ok wr "$R/advertise" "130.137.245.0/24 asn=12345"
expect_eq "$(rd "$A/12345/cidrs" | tr '\n' ' ')" "130.137.244.0/24 associated 130.137.245.0/24 advertised " \
	"6. the ASN's state is advertised (L5396)"
expect_eq "$(bj 130.137.245.0/24 .State)" '"advertised"' "describe-byoip-cidrs: advertised"
expect_file_eq "$R/advertise" "130.137.245.0/24 12345"
# refusals while advertising (L5413-L5431)
expect_errno EBUSY rmdir "$A/12345"
expect_errno EBUSY wr "$A/12345/cidrs" -130.137.245.0/24
expect_errno EBUSY wr "$R/cidrs" -130.137.245.0/24
# swap to the Amazon ASN and back (L5350, L5413)
expect_ok wr "$R/advertise" "130.137.245.0/24 asn=AWS"
expect_file_eq "$R/advertise" "130.137.245.0/24 AWS"
expect_eq "$(rd "$A/12345/cidrs" | tr '\n' ' ')" "130.137.244.0/24 associated 130.137.245.0/24 associated " "back to associated"
expect_ok wr "$R/advertise" "130.137.245.0/24 asn=64496"
expect_file_eq "$R/advertise" "130.137.245.0/24 64496"

# --- clean-up (L5407-L5444) ------------------------------------------------
expect_ok wr "$R/withdraw" 130.137.245.0/24
expect_file_empty "$R/advertise"
expect_errno ENOENT wr "$R/withdraw" 130.137.245.0/24
expect_errno EBUSY rmdir "$A/12345"
expect_match "$(errors_last)" "associated with 2 CIDRs" "deprovision names the associations"
expect_ok wrf "$A/12345/cidrs" '-130.137.245.0/24\n-130.137.244.0/24\n'
expect_ok wr "$A/64496/cidrs" -130.137.245.0/24
expect_file_empty "$A/12345/cidrs"
expect_ok rmdir "$A/12345"
expect_errno_kernel ENOENT t cat "$A/12345/state"
expect_json "$MNT/asns.json" '[.Byoasns[] | select(.Asn == "12345") | .State][0]' deprovisioned
set_clock 2026-12-04T10:00:01Z
expect_json "$MNT/asns.json" '[.Byoasns[] | select(.Asn == "12345")] | length' 0 "a deprovisioned ASN is gone after 7 days (L5360)"
expect_ok wr "$R/cidrs" -130.137.245.0/24
expect_ok wr "$T/cidrs" -130.137.245.0/24
expect_json "$T/cidrs.json" '[.IpamPoolCidrs[] | select(.Cidr == "130.137.245.0/24") | .State][0]' deprovisioned "5. the deprovisioning is confirmed"
finish
