#!/bin/bash
# 103-advertise-bird.sh - advertising BYOIP CIDRs (L5773, L6775-L6798,
# L7878-L7903, issue 12 §4) and the file a BGP daemon reads: the real BIRD
# 2 (Debian bird2) runs with a configuration that includes
# /advertisements.bird, in a network namespace of its own with a private
# control socket, and `birdc show route all` must list exactly the
# advertisements of /advertisements (prefix and origin ASN) after each
# advertise, swap and withdraw. The lab switch (-o byoip-proof=skip)
# stands for the proofs, which 100-102 check.
. "$(dirname "$0")/lib.sh"
command -v bird >/dev/null && command -v birdc >/dev/null ||
	{ echo "1..0 # SKIP no bird/birdc (bird2)"; exit 77; }
mount_ipamfs -o byoip-proof=skip

# --- BYOIP CIDRs in Regional pools (EC2, a locale), IPv4 and IPv6 --------
expect_ok wrf "$MNT/ipam/operating-locales" 'local\nus-east-1\n'
T=$MNT/scopes/public/pools/top
expect_ok mkdir "$T"
expect_ok wrf "$T/cidrs" '130.137.244.0/24\n130.137.245.0/24\n'
R=$T/pools/us-east-1
expect_ok mkdir "$R"
expect_ok wr "$R/locale" us-east-1
expect_ok wr "$R/aws-service" ec2
expect_ok wrf "$R/cidrs" '130.137.244.0/24\n130.137.245.0/24\n'
V=$MNT/scopes/public/pools/v6
expect_ok mkdir "$V"
expect_ok wr "$V/address-family" ipv6
expect_ok wr "$V/cidrs" 2605:9cc0:409::/48
RV=$V/pools/us-east-1
expect_ok mkdir "$RV"
expect_ok wr "$RV/locale" us-east-1
expect_ok wr "$RV/aws-service" ec2
expect_ok wr "$RV/cidrs" 2605:9cc0:409::/48
expect_ok wr "$RV/allocate" "vpc /56"
expect_ok mkdir "$MNT/asns/64496"
expect_file_eq "$MNT/asns/64496/state" provisioned "the lab switch provisions the ASN"
expect_ok wr "$MNT/asns/64496/cidrs" +130.137.245.0/24
expect_ok wr "$MNT/asns/64496/cidrs" +2605:9cc0:409::/48

# --- refusals (L5487, L5707, L6673, L7508) --------------------------------
expect_file_eq "$RV/publicly-advertisable" true "an IPv6 public pool is advertisable by default"
expect_ok wr "$RV/publicly-advertisable" false
expect_errno EPERM wr "$RV/advertise" 2605:9cc0:409::/48
expect_match "$(errors_last)" "not publicly advertisable" "an IPv6 pool must be publicly advertisable"
expect_ok wr "$RV/publicly-advertisable" true
expect_errno EINVAL wr "$T/advertise" 130.137.245.0/24
expect_match "$(errors_last)" "no locale" "the top-level pool has no locale"
expect_errno ENOENT wr "$R/advertise" 130.137.245.0/25
expect_errno EINVAL wr "$R/advertise" "130.137.245.0/24 asn=1.10"
expect_errno EINVAL wr "$R/advertise" "130.137.245.0/24 as=64496"
expect_errno EINVAL wr "$R/advertise" 130.137.245.0/33
expect_errno EINVAL wr "$R/withdraw" "130.137.245.0/24 asn=64496"
expect_errno_kernel "EACCES|EPERM" wr "$MNT/advertisements" x
P=$MNT/scopes/private/pools/p
expect_ok mkdir "$P"
expect_errno_kernel ENOENT t cat "$P/advertise"

# --- BIRD with the include file --------------------------------------------
B=$TMPD/bird
mkdir "$B"
cat >"$B/bird.conf" <<EOF
router id 192.0.2.1;
protocol device {}
include "$MNT/advertisements.bird";
# an upstream session exporting what ipamfs advertises (it never comes up
# here: the point is that BIRD accepts the filters on the included routes)
protocol bgp upstream {
	local as 65000;
	neighbor 192.0.2.2 as 65001;
	ipv4 { import none; export where proto = "ipamfs4"; };
	ipv6 { import none; export where proto = "ipamfs6"; };
}
EOF
expect_ok bird -p -c "$B/bird.conf"
NS=()
unshare -n true 2>/dev/null && NS=(unshare -n)
"${NS[@]}" bird -f -c "$B/bird.conf" -s "$B/sock" -P "$B/pid" >"$B/log" 2>&1 &
BIRD_JOB=$!
for i in $(seq 1 50); do
	birdc -s "$B/sock" show status >/dev/null 2>&1 && break
	sleep 0.1
done
expect_ok birdc -s "$B/sock" show status

# bird_routes: "PREFIX ORIGIN" per route of the ipamfs protocols, sorted;
# ORIGIN is the first AS of the path, AWS when the path is empty
bird_routes() {
	timeout "$TIMEOUT" birdc -s "$B/sock" show route all |
		awk '/^[0-9a-f:.]+\/[0-9]+ / { if (p != "") print p, (o == "" ? "AWS" : o); p = $1; o = "" }
		     /BGP.as_path:/ { o = $2 }
		     END { if (p != "") print p, (o == "" ? "AWS" : o) }' | sort
}
ipamfs_routes() { rd "$MNT/advertisements" | sort; }
reconfigure() {
	expect_ok bird -p -c "$B/bird.conf"
	local out
	out=$(timeout "$TIMEOUT" birdc -s "$B/sock" configure 2>&1)
	expect_match "$out" "Reconfigured|Reconfiguration in progress" "birdc configure: $1"
}
same() {
	local b i
	b=$(bird_routes)
	i=$(ipamfs_routes)
	expect_eq "$b" "$i" "BIRD's routes are ipamfs's advertisements: $1"
}

expect_file_empty "$MNT/advertisements" "nothing is advertised by default (L5773)"
same "none at first"

# advertise from the ASN, from the router's own AS, and IPv6
expect_ok wr "$R/advertise" "130.137.245.0/24 asn=64496"
expect_ok wr "$R/advertise" 130.137.244.0/24
expect_ok wr "$RV/advertise" "2605:9cc0:409::/48 asn=64496"
expect_eq "$(ipamfs_routes | tr '\n' ' ')" "130.137.244.0/24 AWS 130.137.245.0/24 64496 2605:9cc0:409::/48 64496 " \
	"/advertisements: CIDR ASN"
reconfigure "after advertising"
same "after advertising"
expect_match "$(timeout "$TIMEOUT" birdc -s "$B/sock" show route protocol ipamfs6)" "2605:9cc0:409::/48" "the IPv6 route is in ipamfs6"

# the file changes the moment an advertisement does
before=$(rd "$MNT/advertisements.bird")
expect_ok wr "$R/advertise" "130.137.245.0/24 asn=AWS"
after=$(rd "$MNT/advertisements.bird")
[ "$before" != "$after" ] && ok "advertisements.bird changed with the swap" || not_ok "advertisements.bird changed with the swap"
reconfigure "after the swap to the Amazon ASN"
same "after the swap to the Amazon ASN"

# withdraw: provisioned again; BIRD drops the route
expect_ok wr "$R/withdraw" 130.137.244.0/24
expect_ok wr "$RV/withdraw" 2605:9cc0:409::/48
reconfigure "after withdrawing"
same "after withdrawing"
expect_eq "$(bird_routes)" "130.137.245.0/24 AWS" "one route left"
expect_json "$MNT/byoip-cidrs.json" '[.ByoipCidrs[] | select(.Cidr == "130.137.244.0/24") | .State][0]' provisioned
expect_json "$MNT/byoip-cidrs.json" '[.ByoipCidrs[] | select(.Cidr == "130.137.245.0/24") | .State][0]' advertised
ev=$(rd "$MNT/events" | jq -r 'select(.action == "advertise-byoip-cidr" or .action == "withdraw-byoip-cidr") | "\(.action) \(.cidr)"' | tail -n 3 | tr '\n' ';')
expect_eq "$ev" "advertise-byoip-cidr 130.137.245.0/24;withdraw-byoip-cidr 130.137.244.0/24;withdraw-byoip-cidr 2605:9cc0:409::/48;" \
	"/events: advertise and withdraw"
expect_ok wr "$R/withdraw" 130.137.245.0/24
reconfigure "after the last withdraw"
same "nothing advertised"

timeout "$TIMEOUT" birdc -s "$B/sock" down >/dev/null 2>&1
wait "$BIRD_JOB" 2>/dev/null
finish
