#!/bin/bash
# 61-node-exporter: the metrics of a live mount through the real
# node_exporter (Debian prometheus-node-exporter, textfile collector pointed
# at the mount's metrics/ directory, on a free loopback port), and the
# contrib/ files that use them (issue 15): the Prometheus alert rules
# (promtool check rules, promtool test rules with series that fire and do
# not, then the rules evaluated by promtool over the series node_exporter
# served from this mount) and the Grafana dashboard (valid JSON, every
# expression valid PromQL for promtool, every metric it names present in
# ipam.prom).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"

for tool in prometheus-node-exporter promtool curl jq python3; do
	command -v $tool >/dev/null || {
		echo "Bail out! $tool is missing (.ci/deps --test installs it)"
		exit 1
	}
done
CONTRIB=${SRCDIR:-$(dirname "$0")}/../../contrib
RULES=$CONTRIB/prometheus/ipamfs.rules.yml
DASH=$CONTRIB/grafana/ipamfs.json

# ---- the files alone
expect_ok promtool check rules "$RULES"
expect_ok bash -c 'cd "$1" && promtool test rules ipamfs.rules.test.yml' _ "$CONTRIB/prometheus"

mount_ipamfs
W=$TMPD/work
mkdir -p "$W"

# The guide's examples: a /24 with a /26 VPC is 25 % assigned (SPEC 6.1);
# a rule added later makes a second VPC noncompliant; two VPCs overlap.
mkpool private top 10.0.0.0/8
mkpool private top/pools/dev 10.0.0.0/24
DEV=$POOL
dev=$(idof "$DEV")
mkres private vpc-0a
expect_eq "$(wr_readback "$RES/allocate" "$dev /26")" 10.0.0.0/26 "vpc-0a gets 10.0.0.0/26"
mkres private vpc-0b
expect_eq "$(wr_readback "$RES/allocate" "$dev /27")" 10.0.0.64/27 "vpc-0b gets 10.0.0.64/27"
expect_ok wr "$DEV/allocation-max-netmask-length" 26
mkres private vpc-0c
addcidr "$RES" 192.168.0.0/24
mkres private vpc-0d
addcidr "$RES" 192.168.0.0/25
priv=$(idof "$MNT/scopes/private")
t cat "$MNT/metrics/ipam.prom" >"$W/ipam.prom"
expect_match "$(cat "$W/ipam.prom")" "ipam_pool_percent_assigned\{[^}]*pool_id=\"$dev\"[^}]*\} 37.5" \
	"ipam.prom: dev is 37.5 % assigned"

# ---- node_exporter on a free loopback port
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
prometheus-node-exporter --web.listen-address="127.0.0.1:$PORT" \
	--collector.disable-defaults --collector.textfile \
	--collector.textfile.directory="$MNT/metrics" >"$W/exporter.log" 2>&1 &
EXPORTER=$!
got=""
for i in $(seq 1 100); do
	got=$(curl -fsS "http://127.0.0.1:$PORT/metrics" 2>/dev/null) && break
	kill -0 $EXPORTER 2>/dev/null || break
	sleep 0.1
done
printf '%s\n' "$got" >"$W/scraped.txt"
expect_match "$got" $'\nnode_textfile_scrape_error 0\n' "node_exporter read the mount's metrics/ without error"
expect_match "$got" 'node_textfile_mtime_seconds\{file="[^"]*ipam.prom"\}' "node_exporter names ipam.prom"

# Every sample of ipam.prom is served, with its value (node_exporter sorts
# the labels: compare the label sets).
samples() { # FILE: "name{sorted labels} value" of the ipam_ samples
	python3 - "$1" <<'PY'
import re, sys
for line in open(sys.argv[1]):
    m = re.match(r'(ipam_[a-z0-9_]+)(?:\{(.*)\})? (\S+)$', line.strip())
    if m:
        labels = sorted(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        print(m.group(1), labels, float(m.group(3)))
PY
}
want=$(samples "$W/ipam.prom" | sort)
have=$(samples "$W/scraped.txt" | sort)
expect_eq "$have" "$want" "node_exporter serves every ipam_ sample of ipam.prom, same labels and values"
expect_match "$(wc -l <<<"$want")" '^[1-9][0-9]+$' "ipam.prom has samples ($(wc -l <<<"$want"))"
kill $EXPORTER
wait $EXPORTER 2>/dev/null
expect_fail curl -fsS "http://127.0.0.1:$PORT/metrics"

# ---- the alerts over what node_exporter served from this mount
series() { # NAME: the scraped series of NAME with a value > 0, one per line
	grep "^$1{" "$W/scraped.txt" | awk '$2 > 0'
}
expect_eq "$(series ipam_scope_noncompliant_resource_cidrs)" \
	"ipam_scope_noncompliant_resource_cidrs{address_family=\"ipv4\",scope_id=\"$priv\"} 1" "one noncompliant CIDR served"
expect_eq "$(series ipam_scope_overlapping_resource_cidrs)" \
	"ipam_scope_overlapping_resource_cidrs{address_family=\"ipv4\",scope_id=\"$priv\"} 2" "two overlapping CIDRs served"
{
	echo "rule_files: [$RULES]"
	echo "evaluation_interval: 1m"
	echo "tests:"
	echo "  - interval: 1m"
	echo "    input_series:"
	grep '^ipam_' "$W/scraped.txt" | while read -r s v; do
		printf "      - series: '%s'\n        values: '%sx10'\n" "$s" "$v"
	done
	echo "    alert_rule_test:"
	for a in IpamNoncompliantResourceCidrs:1:noncompliant IpamOverlappingResourceCidrs:2:overlapping; do
		IFS=: read -r name n word <<<"$a"
		case $word in
		noncompliant) d="Resource CIDRs in scope $priv (ipv4) break their pool's allocation rules; \`status\` of each resource names the rule." ;;
		overlapping) d="Resource CIDRs in scope $priv (ipv4) overlap; the scope's map.svg shows them in red." ;;
		esac
		cat <<YML
      - eval_time: 5m
        alertname: $name
        exp_alerts:
          - exp_labels: {severity: warning, scope_id: $priv, address_family: ipv4}
            exp_annotations:
              summary: "$n $word resource CIDRs in scope $priv"
              description: "$d"
YML
	done
	# dev is 62.5 % available: not nearly exhausted
	printf '      - eval_time: 9m\n        alertname: IpamPoolNearlyExhausted\n        exp_alerts: []\n'
} >"$W/live.test.yml"
expect_ok promtool test rules "$W/live.test.yml"

# ---- the dashboard
expect_ok jq -e '.title == "ipamfs" and (.panels | length) >= 8' "$DASH"
exprs=$(jq -r '.panels[].targets[].expr' "$DASH")
expect_match "$(wc -l <<<"$exprs")" '^[1-9][0-9]*$' "the dashboard has queries"
missing=""
for m in $(grep -o 'ipam_[a-z0-9_]*' <<<"$exprs" | sort -u); do
	grep -q "^# TYPE $m gauge$" "$W/ipam.prom" || missing="$missing $m"
done
expect_eq "$missing" "" "every metric the dashboard queries is in ipam.prom"
# each query (dashboard variables bound to "all") as a recording rule:
# promtool parses it
{
	echo "groups:"
	echo "  - name: dashboard"
	echo "    rules:"
	i=0
	while IFS= read -r e; do
		i=$((i + 1))
		e=${e//\$scope/.*}
		e=${e//\$pool/.*}
		printf "      - record: dashboard:q%d\n        expr: '%s'\n" $i "${e//\'/\'\'}"
	done <<<"$exprs"
} >"$W/dashboard.rules.yml"
expect_ok promtool check rules "$W/dashboard.rules.yml"

finish
