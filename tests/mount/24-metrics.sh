#!/bin/bash
# 24-metrics: SPEC §6.3, /metrics/ipam.prom: every CloudWatch IPAM metric of
# the guide (L2799-L2985) in the Prometheus text format, with the guide's
# dimensions as labels. For a known setup every family has its HELP and
# TYPE lines and exactly the expected samples and values:
#   TotalActiveIpCount (L2808), pool PercentAllocated/Assigned/Available and
#   (Non)compliantResourceCidrs (L2812-L2821: a /8 with a /16 child is
#   0.390625 % allocated, a /24 with a /26 VPC 25 % assigned), scope
#   Compliant/Noncompliant/Managed/Unmanaged/OverlappingResourceCidrs
#   (L2823-L2834), VpcIPUsage, SubnetIPUsage, PublicIPv4PoolIPUsage
#   (L2916, L2934, L2951: quotients, per address family).
# Then `promtool check metrics` must accept the file (skipped when promtool
# is not installed: `apt-get install prometheus`).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"

mount_ipamfs -o home-locale=us-east-1
PROM=$MNT/metrics/ipam.prom
expect_eq "$(t ls "$MNT/metrics" | tr '\n' ' ')" "ipam.prom " "ls metrics/"
O=111122223333

mkpool private top 10.0.0.0/8
TOP=$POOL
expect_ok wr "$TOP/locale" none
REG=$TOP/pools/regional
expect_ok mkdir "$REG"
expect_ok wr "$REG/locale" us-east-1
expect_ok wr "$REG/cidrs" 10.0.0.0/16
DEV=$REG/pools/dev
expect_ok mkdir "$DEV"
expect_ok wr "$DEV/cidrs" 10.0.0.0/24
top=$(idof "$TOP")
reg=$(idof "$REG")
dev=$(idof "$DEV")
priv=$(rd "$MNT/scopes/private/id")
pub=$(rd "$MNT/scopes/public/id")

VA=vpc-0d00000000000000a
VB=vpc-0d00000000000000b
VC=vpc-0d00000000000000c
VD=vpc-0d00000000000000d
SA=subnet-0d0000000000000a1
SD=subnet-0d0000000000000d1
ENI=eni-0d0000000000000e1
POOLR=ipv4pool-ec2-0d0000000000000f1
mkres private $VA locale=us-east-1 owner=$O
expect_eq "$(wr_readback "$RES/allocate" "$dev /26")" 10.0.0.0/26 "a VPC /26 from dev (L3386)"
mkres private $SA locale=us-east-1 owner=$O vpc-id=$VA ip-usage=4
addcidr "$RES" 10.0.0.0/28
mkres private $VB locale=us-east-1 owner=$O
addcidr "$RES" 192.168.0.0/24
mkres private $VC locale=us-east-1 owner=$O
addcidr "$RES" 192.168.0.0/24
mkres private $VD locale=us-east-1 owner=$O
addcidr "$RES" fd00:1::/56
mkres private $SD locale=us-east-1 owner=$O vpc-id=$VD
addcidr "$RES" fd00:1::/64
mkres private $ENI locale=us-east-1 owner=$O vpc-id=$VA
addcidr "$RES" 10.0.0.4/32 10.0.0.5/32 fd00:1::10/128
mkres private i-0d0000000000000e2 locale=us-east-1 owner=$O vpc-id=$VA
addcidr "$RES" 10.0.0.4/32
mkres public $POOLR locale=us-east-1 owner=$O
addcidr "$RES" 203.0.113.0/24
mkres public eipalloc-0d0000000000000f2 locale=us-east-1 owner=$O
addcidr "$RES" 203.0.113.5/32
mkres public eipalloc-0d0000000000000f3 locale=us-east-1 owner=$O
addcidr "$RES" 203.0.113.6/32

# samples FAMILY LABEL...: the samples of FAMILY as `k=v,k=v value` lines
# with only the given labels, sorted by name, values as numbers (%.15g),
# lines sorted.
samples() {
	local fam=$1
	shift
	timeout "$TIMEOUT" cat "$PROM" | perl -e '
		my ($fam, @keep) = @ARGV;
		my %keep = map { $_ => 1 } @keep;
		my @out;
		while (my $l = <STDIN>) {
			chomp $l;
			next if $l =~ /^#/ || $l eq "";
			$l =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/ or do { push @out, "UNPARSED $l"; next };
			my ($name, $labels, $value) = ($1, $2 // "", $3);
			next unless $name eq $fam;
			my %l;
			while ($labels =~ /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g) { $l{$1} = $2 }
			my @kv = map { "$_=" . ($l{$_} // "MISSING") } sort grep { $keep{$_} } @keep;
			push @out, join(",", @kv) . " " . sprintf("%.15g", $value);
		}
		print "$_\n" for sort @out;' "$fam" "$@"
}
# want LINES: the expected lines in the same form, sorted
want() { sort; }

# ---------------------------------------------------------------------------
# HELP and TYPE of every family

families="ipam_total_active_ips
ipam_pool_percent_allocated ipam_pool_percent_assigned ipam_pool_percent_available
ipam_pool_compliant_resource_cidrs ipam_pool_noncompliant_resource_cidrs
ipam_scope_compliant_resource_cidrs ipam_scope_noncompliant_resource_cidrs
ipam_scope_managed_resource_cidrs ipam_scope_unmanaged_resource_cidrs
ipam_scope_overlapping_resource_cidrs
ipam_vpc_ip_usage ipam_subnet_ip_usage ipam_public_ipv4_pool_ip_usage"
prom=$(rd "$PROM")
expect_eq "$(t stat -c %s "$PROM")" "$(printf '%s\n' "$prom" | wc -c)" "stat reports the size of what a read returns"
for f in $families; do
	expect_eq "$(grep -c "^# HELP $f .\\+" <<<"$prom") $(grep -c -x "# TYPE $f gauge" <<<"$prom")" "1 1" "$f: one HELP with a text, one TYPE gauge"
	first_sample=$(grep -n -E "^$f(\\{| )" <<<"$prom" | head -n 1 | cut -d: -f1)
	type_line=$(grep -n -x "# TYPE $f gauge" <<<"$prom" | cut -d: -f1)
	[ -n "$type_line" ] && { [ -z "$first_sample" ] || [ "$type_line" -lt "$first_sample" ]; }
	check $? "$f: TYPE comes before its samples"
done
# every sample belongs to a family with a TYPE line, and nothing is unparsed
expect_eq "$(grep -v '^#' <<<"$prom" | grep -v -E '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eE]+$' | head -n 3)" "" \
	"every sample line is NAME{LABELS} VALUE"
untyped=$(grep -v '^#' <<<"$prom" | sed -E 's/[{ ].*//' | sort -u | while read -r n; do
	grep -q -x "# TYPE $n [a-z]*" <<<"$prom" || echo "$n"
done)
expect_eq "$untyped" "" "every family has a TYPE line"

# ---------------------------------------------------------------------------
# Values

expect_eq "$(samples ipam_total_active_ips)" " 3" \
	"ipam_total_active_ips 3 (three addresses of network interfaces, IPv4 and IPv6)"

pool_samples() { samples "$1" scope_id pool_id locale address_family; }
pl() { printf 'address_family=ipv4,locale=%s,pool_id=%s,scope_id=%s %s\n' "$2" "$1" "$priv" "$3"; }
expect_eq "$(pool_samples ipam_pool_percent_allocated)" "$( { pl $top none 0.390625; pl $reg us-east-1 0.390625; pl $dev us-east-1 0; } | want)" \
	"ipam_pool_percent_allocated: /16 of /8, /24 of /16, 0"
expect_eq "$(pool_samples ipam_pool_percent_assigned)" "$( { pl $top none 0; pl $reg us-east-1 0; pl $dev us-east-1 25; } | want)" \
	"ipam_pool_percent_assigned: dev 25 (a /26 VPC in a /24)"
expect_eq "$(pool_samples ipam_pool_percent_available)" "$( { pl $top none 99.609375; pl $reg us-east-1 99.609375; pl $dev us-east-1 75; } | want)" \
	"ipam_pool_percent_available"
expect_eq "$(pool_samples ipam_pool_compliant_resource_cidrs)" "$( { pl $top none 0; pl $reg us-east-1 0; pl $dev us-east-1 1; } | want)" \
	"ipam_pool_compliant_resource_cidrs: dev 1"
expect_eq "$(pool_samples ipam_pool_noncompliant_resource_cidrs)" "$( { pl $top none 0; pl $reg us-east-1 0; pl $dev us-east-1 0; } | want)" \
	"ipam_pool_noncompliant_resource_cidrs: 0"

scope_samples() { samples "$1" scope_id address_family; }
sl() { # private-v4 private-v6 public-v4 public-v6
	printf 'address_family=ipv4,scope_id=%s %s\naddress_family=ipv6,scope_id=%s %s\n' "$priv" "$1" "$priv" "$2"
	printf 'address_family=ipv4,scope_id=%s %s\naddress_family=ipv6,scope_id=%s %s\n' "$pub" "$3" "$pub" "$4"
}
expect_eq "$(scope_samples ipam_scope_compliant_resource_cidrs)" "$(sl 1 0 0 0 | want)" "ipam_scope_compliant_resource_cidrs"
expect_eq "$(scope_samples ipam_scope_noncompliant_resource_cidrs)" "$(sl 0 0 0 0 | want)" "ipam_scope_noncompliant_resource_cidrs"
expect_eq "$(scope_samples ipam_scope_managed_resource_cidrs)" "$(sl 1 0 0 0 | want)" "ipam_scope_managed_resource_cidrs"
expect_eq "$(scope_samples ipam_scope_unmanaged_resource_cidrs)" "$(sl 2 1 3 0 | want)" \
	"ipam_scope_unmanaged_resource_cidrs: two IPv4 VPCs and one IPv6 VPC; a public IPv4 pool and two EIPs"
expect_eq "$(scope_samples ipam_scope_overlapping_resource_cidrs)" "$(sl 2 0 0 0 | want)" \
	"ipam_scope_overlapping_resource_cidrs: the two VPCs with 192.168.0.0/24"

rl() { # family scope id value
	printf 'address_family=%s,owner_id=%s,region=us-east-1,resource_id=%s,scope_id=%s %s\n' "$1" $O "$3" "$2" "$4"
}
expect_eq "$(samples ipam_vpc_ip_usage address_family owner_id region resource_id scope_id)" \
	"$( { rl ipv4 $priv $VA 0.25; rl ipv4 $priv $VB 0; rl ipv4 $priv $VC 0; rl ipv6 $priv $VD 0.00390625; } | want)" \
	"ipam_vpc_ip_usage: /28 subnet of a /26 VPC = 0.25, a /64 of a /56 = 1/256"
expect_eq "$(samples ipam_vpc_ip_usage resource_id vpc_id | sed -n "/resource_id=$VA/p")" "resource_id=$VA,vpc_id=$VA 0.25" \
	"ipam_vpc_ip_usage has the VpcID dimension"
expect_eq "$(samples ipam_subnet_ip_usage address_family owner_id region resource_id scope_id vpc_id)" \
	"address_family=ipv4,owner_id=$O,region=us-east-1,resource_id=$SA,scope_id=$priv,vpc_id=$VA 0.25" \
	"ipam_subnet_ip_usage: 4 active of 16 = 0.25; no IPv6 subnet usage (L2733)"
expect_eq "$(samples ipam_public_ipv4_pool_ip_usage owner_id region resource_id scope_id)" \
	"owner_id=$O,region=us-east-1,resource_id=$POOLR,scope_id=$pub 0.0078125" \
	"ipam_public_ipv4_pool_ip_usage: two EIPs of 256 addresses"

# The metrics follow the IPAM: ignoring VPC C ends the overlap and its
# sample; a rule makes A noncompliant; more active IPs raise the subnet's
expect_ok wr "$MNT/scopes/private/resources/$VC/monitoring" ignored
expect_ok wr "$DEV/allocation-max-netmask-length" 24
expect_ok wr "$MNT/scopes/private/resources/$SA/ip-usage" 12
expect_eq "$(scope_samples ipam_scope_overlapping_resource_cidrs)" "$(sl 0 0 0 0 | want)" "after ignoring C: nothing overlaps"
expect_eq "$(scope_samples ipam_scope_unmanaged_resource_cidrs)" "$(sl 1 1 3 0 | want)" "after ignoring C: one unmanaged IPv4 VPC"
expect_eq "$(scope_samples ipam_scope_noncompliant_resource_cidrs)" "$(sl 1 0 0 0 | want)" "A breaks the new rule: 1 noncompliant"
expect_eq "$(scope_samples ipam_scope_compliant_resource_cidrs)" "$(sl 0 0 0 0 | want)" "0 compliant"
expect_eq "$(pool_samples ipam_pool_noncompliant_resource_cidrs | grep "pool_id=$dev")" "$(pl $dev us-east-1 1)" "dev: 1 noncompliant"
expect_eq "$(samples ipam_vpc_ip_usage resource_id | grep -c "$VC")" 0 "no usage sample for the ignored VPC"
expect_eq "$(samples ipam_subnet_ip_usage resource_id)" "resource_id=$SA 0.75" "subnet usage 12 of 16 = 0.75"

# ---------------------------------------------------------------------------
# promtool (Debian package prometheus)

if command -v promtool >/dev/null; then
	rd "$PROM" >"$TMPD/ipam.prom"
	out=$(promtool check metrics <"$TMPD/ipam.prom" 2>&1)
	rc=$?
	# exit 1: the text does not parse; exit 3: lint problems (names, HELP)
	[ $rc -ne 1 ] && ! grep -q 'error while linting' <<<"$out"
	check $? "promtool parses ipam.prom (exit $rc)"
	expect_eq "$rc" 0 "promtool check metrics: no lint problem"
	[ $rc -ne 0 ] && diag "$out"
else
	TESTS_RUN=$((TESTS_RUN + 1))
	echo "ok $TESTS_RUN - promtool check metrics # SKIP promtool not installed (apt-get install prometheus)"
fi

finish
