#!/bin/bash
# 91-prefix-formats: SPEC §8.1, what firewalls read. entries.nft must be
# accepted by the real `nft -c -f` and, loaded with `nft -f` in a private
# network namespace (unshare -n), hold exactly the entries; entries.ipset
# must load with the real `ipset restore` there and hold exactly the
# entries (a /0 as its two halves). IPv4 and IPv6, empty lists, reloads
# (a shrunk list leaves no stale element), and a target's nft format.
. "$(dirname "$0")/lib.sh"

for tool in nft ipset unshare python3; do
	if ! command -v "$tool" >/dev/null; then
		echo "1..0 # SKIP $tool is not installed (.ci/deps --test installs it)"
		exit 77
	fi
done
NS_OK=0
unshare -n true 2>/dev/null && NS_OK=1

mount_ipamfs
PL=$MNT/prefix-lists

# nft_elements FILE...: load the files in order in a fresh namespace, print
# the elements of the set, one CIDR per line, sorted.
nft_elements() {
	local set=$1
	shift
	unshare -n sh -c 'for f; do nft -f "$f" || exit 1; done; nft -j list set inet ipamfs "$0"' "$set" "$@" |
		python3 -c '
import ipaddress, json, sys
out = []
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("set", {}).get("elem", []):
        if isinstance(e, dict) and "prefix" in e:
            out.append(ipaddress.ip_network("%s/%d" % (e["prefix"]["addr"], e["prefix"]["len"])))
        elif isinstance(e, dict) and "range" in e:
            a, b = (ipaddress.ip_address(x) for x in e["range"])
            out.extend(ipaddress.summarize_address_range(a, b))
        else:
            out.append(ipaddress.ip_network(e))
print("\n".join(str(n) for n in sorted(out)))'
}
# ipset_members FILE...: the same with ipset restore.
ipset_members() {
	local set=$1
	shift
	unshare -n sh -c 'for f; do ipset restore < "$f" || exit 1; done; ipset list "$0"' "$set" "$@" |
		sed -n '/^Members:/,$p' | sed 1d | sed '/^$/d' | sort -V
}

check_list() { # NAME SETNAME FAMILY-WORD: every format of the list holds entries
	local L=$PL/$1 set=$2
	rd "$L/entries.nft" > "$TMPD/$1.nft"
	rd "$L/entries.ipset" > "$TMPD/$1.ipset"
	want=$(rd "$L/entries" | sort -V)
	expect_ok nft -c -f "$TMPD/$1.nft"
	if [ $NS_OK = 1 ]; then
		expect_eq "$(nft_elements "$set" "$TMPD/$1.nft" | sort -V)" "$want" \
			"$1: nft -f in a namespace holds exactly the entries"
		expect_eq "$(ipset_members "$set" "$TMPD/$1.ipset" | python3 -c '
import ipaddress, sys
nets = [ipaddress.ip_network(l.strip()) for l in sys.stdin if l.strip()]
print("\n".join(str(n) for n in ipaddress.collapse_addresses(nets)))' | sort -V)" \
			"$(printf '%s\n' "$want" | sed '/^$/d' | python3 -c '
import ipaddress, sys
nets = [ipaddress.ip_network(l.strip()) for l in sys.stdin if l.strip()]
print("\n".join(str(n) for n in ipaddress.collapse_addresses(nets)))' | sort -V)" \
			"$1: ipset restore in a namespace covers exactly the entries"
		expect_eq "$(ipset_members "$set" "$TMPD/$1.ipset" | wc -l)" \
			"$(grep -c '^add ' "$TMPD/$1.ipset")" \
			"$1: one ipset member per add line"
	fi
}

if [ $NS_OK = 0 ]; then
	diag "unshare -n is not permitted here: only nft -c checks run"
fi

expect_ok mkdir "$PL/v4"
expect_file_empty "$PL/v4/entries"
check_list v4 pl_v4
wrf "$PL/v4/rules" 'static 10.1.0.0/16\nstatic 10.2.0.0/16\nstatic 10.3.0.0/16\nstatic 10.3.4.0/24\nstatic 192.168.7.0/25\nstatic 192.168.7.128/25\nstatic 203.0.113.9/32\n'
expect_eq "$(rd "$PL/v4/entries" | wc -l)" 6 "six entries (one contained)"
check_list v4 pl_v4
if [ $NS_OK = 1 ]; then
	cp "$TMPD/v4.nft" "$TMPD/v4-big.nft"
	cp "$TMPD/v4.ipset" "$TMPD/v4-big.ipset"
	expect_ok wr "$PL/v4/rules" "static 10.9.0.0/16"
	rd "$PL/v4/entries.nft" > "$TMPD/v4-small.nft"
	rd "$PL/v4/entries.ipset" > "$TMPD/v4-small.ipset"
	expect_eq "$(nft_elements pl_v4 "$TMPD/v4-big.nft" "$TMPD/v4-small.nft")" 10.9.0.0/16 \
		"nft: reloading the shrunk list leaves no stale element"
	expect_eq "$(ipset_members pl_v4 "$TMPD/v4-big.ipset" "$TMPD/v4-small.ipset")" 10.9.0.0/16 \
		"ipset: reloading the shrunk list leaves no stale member"
fi
expect_ok wr "$PL/v4/rules" "static 0.0.0.0/0"
expect_eq "$(grep '^add ' <(rd "$PL/v4/entries.ipset"))" \
	$'add pl_v4 0.0.0.0/1\nadd pl_v4 128.0.0.0/1' "ipset: /0 as its two halves"
check_list v4 pl_v4

expect_ok mkdir "$PL/v6.edge"
expect_ok wr "$PL/v6.edge/address-family" ipv6
wrf "$PL/v6.edge/rules" 'static 2001:db8::/48\nstatic 2001:db8:1::/48\nstatic 2001:db8::/64\nstatic fd00::1/128\n'
expect_eq "$(rd "$PL/v6.edge/entries")" $'2001:db8::/48\n2001:db8:1::/48\nfd00::1/128' "IPv6 entries"
expect_match "$(rd "$PL/v6.edge/entries.nft")" "type ipv6_addr" "nft: an ipv6_addr set"
expect_match "$(rd "$PL/v6.edge/entries.ipset")" "family inet6" "ipset: family inet6"
check_list v6.edge pl_v6_edge

# a target in nft format, pinned
T=$PL/v6.edge/targets/fw1
expect_ok mkdir "$T"
expect_ok wr "$T/format" nft
v=$(rd "$PL/v6.edge/version")
expect_ok wr "$T/desired-version" "$v"
expect_ok wr "$PL/v6.edge/rules" "static 2001:db8:9::/48"
rd "$T/entries" > "$TMPD/t.nft"
expect_ok nft -c -f "$TMPD/t.nft"
if [ $NS_OK = 1 ]; then
	expect_eq "$(nft_elements pl_v6_edge "$TMPD/t.nft")" \
		$'2001:db8::/48\n2001:db8:1::/48\nfd00::1/128' \
		"the pinned target's nft file holds its version"
fi
finish
