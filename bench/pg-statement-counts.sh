#!/usr/bin/env bash
# pg-statement-counts.sh - what one daemon asks PostgreSQL for, counted
# rather than timed (docs/bench.md, "Kernel timeouts back on PostgreSQL"):
# the statements the server logs (log_statement = all) for one
# `echo "aN /28" > pools/top/allocate` (20 of them, after a warm-up) and
# for one `stat` of `allocations/w/cidr` 7 levels down (200, warm). Counts
# do not depend on the machine's load, times do.
#
#   tests/pg/pgtmp.sh run bench/pg-statement-counts.sh IPAMFS
#
# IPAMFS is the daemon to count (another build's for a "before").
set -u
ipamfs=$1
dir=${IPAMFS_PG_DIR:?run under tests/pg/pgtmp.sh}
psql -X -q -At "postgresql:///postgres?host=$dir&user=ipamfs" \
	-c "CREATE DATABASE counts" \
	-c "ALTER DATABASE counts SET log_statement = 'all'" || exit 1
uri="postgresql:///counts?host=$dir&user=ipamfs"
work=$(mktemp -d /tmp/ipam-pg-counts.XXXXXX) || exit 1
trap 'fusermount3 -u "$work/m" 2>/dev/null; rm -rf "$work"' EXIT
mkdir "$work/m"
"$ipamfs" "$uri" "$work/m" || exit 1
for _ in $(seq 50); do [ -e "$work/m/README" ] && break; sleep 0.2; done
pool=$work/m/scopes/private/pools/top
mkdir "$pool" && echo 10.0.0.0/8 >"$pool/cidrs" && echo "w /28" >"$pool/allocate" ||
	exit 1
stat "$pool/allocations/w/cidr" >/dev/null
logged() { grep -cE "LOG:  (statement|execute)" "$dir/server.log"; }
sleep 0.5
n0=$(logged)
for i in $(seq 1 20); do echo "a$i /28" >"$pool/allocate"; done
sleep 0.3
n1=$(logged)
for i in $(seq 1 200); do stat "$pool/allocations/w/cidr" >/dev/null; done
sleep 0.3
n2=$(logged)
echo "statements per allocation (echo > allocate, 20): $(((n1 - n0) / 20))"
echo "statements per stat of allocations/w/cidr (200, warm):" \
	"$(awk -v n=$((n2 - n1)) 'BEGIN { printf "%.2f", n / 200 }')"
