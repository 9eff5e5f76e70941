#!/bin/bash
# 70-validation.sh - address validation of the guide (issue 10 §1, §5):
# private ULA is fd00::/8 outside fd00::/16, /9 to /60 (L842, L1589,
# L2018); a top-level private IPv6 pool takes a ULA block by netmask alone;
# the public scope refuses non-global space, naming the range, and allows
# the documentation ranges; BYOIP limits (L5763, L6223). Oracle for the
# non-global ranges: python3's ipaddress.
. "$(dirname "$0")/lib.sh"
mount_ipamfs

P=$MNT/scopes/private/pools
mkpool private ula
expect_ok wr "$P/ula/address-family" ipv6
expect_errno EINVAL wr "$P/ula/cidrs" fd00::/16
expect_match "$(errors_last)" "fd00::/16 overlaps fd00::/16, the ULA range Amazon reserves" "the reason names fd00::/16"
expect_errno EINVAL wr "$P/ula/cidrs" fd00:1234::/48
expect_errno EINVAL wr "$P/ula/cidrs" fd81::/61
expect_match "$(errors_last)" "must be /9 to /60" "the reason gives the ULA netmasks"
expect_errno EINVAL wr "$P/ula/cidrs" fd00::/8
expect_file_empty "$P/ula/cidrs"
expect_ok wr "$P/ula/cidrs" fd80::/9
expect_ok wr "$P/ula/cidrs" -fd80::/9

# ULA by netmask: three /48s, each a fresh RFC 4193 block
for i in 1 2 3; do
	expect_ok wr "$P/ula/cidrs" /48
done
got=$(rd "$P/ula/cidrs")
expect_eq "$(wc -l <<<"$got")" 3 "three ULA /48s by netmask"
expect_eq "$(python3 -c '
import ipaddress, sys
nets = [ipaddress.ip_network(l) for l in sys.stdin.read().split()]
ula, amazon = ipaddress.ip_network("fd00::/8"), ipaddress.ip_network("fd00::/16")
ok = all(n.prefixlen == 48 and n.subnet_of(ula) and not n.overlaps(amazon) for n in nets)
ok = ok and all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
print("ok" if ok else "bad: %s" % nets)' <<<"$got")" ok "ULA blocks inside fd00::/8, outside fd00::/16, disjoint (python3 ipaddress)"
mkpool private ula2
expect_ok wr "$P/ula2/address-family" ipv6
expect_ok wr "$P/ula2/cidrs" /60
expect_eq "$(python3 -c '
import ipaddress, sys
a = [ipaddress.ip_network(l) for l in sys.argv[1].split()]
b = ipaddress.ip_network(sys.argv[2])
print("ok" if not any(b.overlaps(x) for x in a) else "overlap")' "$got" "$(rd "$P/ula2/cidrs")")" ok \
	"another pool's ULA block by netmask does not overlap the scope's"
expect_errno EINVAL wr "$P/ula2/cidrs" /61
mkpool private v4 10.0.0.0/16
expect_errno EINVAL wr "$P/v4/cidrs" /16

# The public scope: non-global space refused, named; documentation allowed
Q=$MNT/scopes/public/pools
mkpool public p4
mkpool public p6
expect_ok wr "$Q/p6/address-family" ipv6
for c in 10.0.0.0/16 172.16.5.0/24 192.168.0.0/24 100.64.0.0/24 127.0.0.0/24 \
	169.254.1.0/24 224.0.0.0/24 0.0.0.0/8; do
	expect_errno EINVAL wr "$Q/p4/cidrs" "$c"
	want=$(python3 -c 'import ipaddress, sys; n = ipaddress.ip_network(sys.argv[1]); print("global" if n.is_global and not n.is_multicast else "not global")' "$c")
	expect_eq "$want" "not global" "python3 ipaddress agrees $c is not global"
	expect_match "$(errors_last)" "$c cannot be used in the public scope: it overlaps [0-9./]+, .*not global space" \
		"the reason for $c names the range"
done
expect_match "$(errors_last)" "0.0.0.0/8, 'this network'" "the range's name is given"
for c in fd12::/48 fe80::/64 ff02::/16 ::1/128; do
	expect_errno EINVAL wr "$Q/p6/cidrs" "$c"
done
for c in 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24 8.8.0.0/16; do
	expect_ok wr "$Q/p4/cidrs" "$c"
done
expect_ok wr "$Q/p6/cidrs" 2001:db8::/32
# accepted, and waiting for their proof of ownership (BYOIP, issue 12);
# provisioned at once on a lab mount (-o byoip-proof=skip: the soak's)
if jq -e '.Ipams[0].StateMessage // "" | startswith("byoip-proof=skip")' "$MNT/ipam.json" >/dev/null; then
	expect_file_eq "$Q/p4/cidrs" $'8.8.0.0/16\n192.0.2.0/24\n198.51.100.0/24\n203.0.113.0/24' "documentation and global space accepted (lab)"
else
	expect_file_eq "$Q/p4/cidrs" $'8.8.0.0/16 pending-provision\n192.0.2.0/24 pending-provision\n198.51.100.0/24 pending-provision\n203.0.113.0/24 pending-provision' "documentation and global space accepted"
fi
# BYOIP: IPv4 /24 or shorter; advertisable IPv6 /48 or shorter
mkpool public b4
expect_errno EINVAL wr "$Q/b4/cidrs" 1.1.1.0/25
expect_match "$(errors_last)" "the most specific IPv4 BYOIP CIDR is /24" "BYOIP IPv4 /24 (L5763)"
mkpool public b6
expect_ok wr "$Q/b6/address-family" ipv6
expect_ok wr "$Q/b6/publicly-advertisable" true
expect_errno EINVAL wr "$Q/b6/cidrs" 2600:1f00::/52
expect_match "$(errors_last)" "publicly advertisable IPv6 BYOIP CIDR is /48" "BYOIP advertisable IPv6 /48 (L6223)"
expect_ok wr "$Q/b6/cidrs" 2600:1f00::/48
finish
