#!/bin/bash
# 111-pg-two-daemons.sh - two ipamfs daemons on one PostgreSQL database
# (issue 14, docs/design/pg.md), as two hosts would run them: both mounts
# allocate from one pool at the same time. Every allocation succeeds (the
# write transactions take turns; a serialization failure is retried), the
# CIDRs are distinct and do not overlap (python's ipaddress is the
# oracle), both mounts count exactly what was allocated, and a name both
# race for is given once. Runs under tests/pg/pgtmp.sh; skipped (77)
# without PostgreSQL.
. "$(dirname "$0")/lib.sh"
if [ -z "${IPAMFS_PG_DIR:-}" ] || ! command -v psql >/dev/null; then
	echo "1..0 # SKIP not under tests/pg/pgtmp.sh, or no psql"
	exit 77
fi
URI="postgresql:///postgres?host=$IPAMFS_PG_DIR&user=ipamfs"
N=${PG_RACE_N:-40}

new_tmpdir
DB=$URI
MNT=$TMPD/a
mkdir "$MNT"
start_ipamfs
A=$MNT
MNT=$TMPD/b
mkdir "$MNT"
start_ipamfs
B=$MNT
MNT=$A

mkpool private top 10.0.0.0/16
PA=$A/scopes/private/pools/top
PB=$B/scopes/private/pools/top
expect_eq "$(t cat "$PB/cidrs")" 10.0.0.0/16 "mount b sees the pool mount a made"

# N allocations through each mount, at the same time, one command each
race() { # MOUNT-POOL PREFIX
	local i fails=0
	for i in $(seq 1 "$N"); do
		wr "$1/allocate" "$2$i /28" 2>/dev/null || fails=$((fails + 1))
	done
	echo "$fails" >"$TMPD/fails-$2"
}
race "$PA" a &
ra=$!
race "$PB" b &
rb=$!
wait "$ra" "$rb"
expect_eq "$(cat "$TMPD/fails-a") $(cat "$TMPD/fails-b")" "0 0" \
	"every allocation of both mounts succeeded"

cidrs=$(for m in "$PA" "$PB"; do
	for i in $(seq 1 "$N"); do
		t cat "$m/allocations/a$i/cidr" "$m/allocations/b$i/cidr"
	done
done)
expect_eq "$(python3 -c '
import ipaddress, sys
nets = [ipaddress.ip_network(l) for l in sys.stdin.read().split()]
half = len(nets) // 2
a, b = nets[:half], nets[half:]
assert a == b, "the two mounts disagree"
s = sorted(set(a))
top = ipaddress.ip_network("10.0.0.0/16")
bad = [str(x) for x, y in zip(s, s[1:]) if x.overlaps(y)]
bad += [str(x) for x in s if not x.subnet_of(top) or x.prefixlen != 28]
print(len(a), len(s), "ok" if not bad else bad)
' <<<"$cidrs")" "$((2 * N)) $((2 * N)) ok" \
	"$((2 * N)) distinct, non-overlapping /28s, the same through both mounts"
expect_eq "$(status_get "$PA" allocation-count) $(status_get "$PB" allocation-count)" \
	"$((2 * N)) $((2 * N))" "allocation-count is exact on both mounts"
expect_eq "$(status_get "$PB" assigned-addresses)" $((2 * N * 16)) \
	"assigned-addresses is exact"
expect_eq "$(timeout "$TIMEOUT" psql -X -At "$URI" -c \
	"SELECT count(*) FROM allocation a JOIN allocation b ON a.pool_key = b.pool_key AND a.key < b.key AND a.span && b.span")" \
	0 "PostgreSQL holds no two overlapping allocations"

# one name, both mounts at once: exactly one gets it
wr "$PA/allocate" "same /28" 2>/dev/null &
pa=$!
wr "$PB/allocate" "same /28" 2>/dev/null &
pb=$!
ok_a=0 ok_b=0
wait "$pa" && ok_a=1
wait "$pb" && ok_b=1
expect_eq "$((ok_a + ok_b))" 1 "a name both race for is given once"
expect_match "$(t tail -n 1 "$A/errors") $(t tail -n 1 "$B/errors")" "EEXIST: allocation 'same' exists" \
	"the loser is told EEXIST"
expect_eq "$(status_get "$PA" allocation-count)" $((2 * N + 1)) "and counted once"
finish
