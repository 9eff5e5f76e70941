#!/bin/bash
# 113-pg-kill.sh - two daemons on one PostgreSQL database, as two hosts
# (issue 14, docs/design/pg.md): both mount an EMPTY database at the same
# instant and both succeed (the schema is created once, under an advisory
# lock); then four writers allocate through both mounts and one daemon is
# killed with SIGKILL in the middle of the stream. Nothing acknowledged is
# lost: every allocation whose write returned success is there, through
# the surviving mount and in PostgreSQL, nothing overlaps (python's
# ipaddress is the oracle), the counters are exact (the pool's
# allocation-count and assigned-addresses against the rows), the other
# mount keeps working, and the killed one mounts again and agrees.
# Runs under tests/pg/pgtmp.sh; skipped (77) without PostgreSQL.
. "$(dirname "$0")/lib.sh"
if [ -z "${IPAMFS_PG_DIR:-}" ] || ! command -v psql >/dev/null; then
	echo "1..0 # SKIP not under tests/pg/pgtmp.sh, or no psql"
	exit 77
fi
URI="postgresql:///postgres?host=$IPAMFS_PG_DIR&user=ipamfs"
sql() { timeout "$TIMEOUT" psql -X -At "$URI" -c "$1"; }

new_tmpdir
DB=$URI
A=$TMPD/a B=$TMPD/b
mkdir "$A" "$B"

# ---- two daemons, one empty database, at the same instant ----
"$IPAMFS" -f "$DB" "$A" >>"$TMPD/ipamfs-a.log" 2>&1 &
PID_A=$!
"$IPAMFS" -f "$DB" "$B" >>"$TMPD/ipamfs-b.log" 2>&1 &
PID_B=$!
FG_PIDS+=("$PID_A" "$PID_B")
MOUNTS+=("$A" "$B")
if wait_mounted "$A" && wait_mounted "$B"; then
	ok "two daemons mounting one empty database at once both succeed"
else
	not_ok "two daemons mounting one empty database at once both succeed"
	diag "$(cat "$TMPD"/ipamfs-*.log)"
	exit 1
fi
expect_eq "$(sql "SELECT count(*) FROM ipamfs_meta WHERE key = 'schema_version'") $(sql 'SELECT count(*) FROM ipam')" \
	"1 1" "one schema, one IPAM"
expect_eq "$(t ls "$A/scopes" | tr '\n' ' ')" "$(t ls "$B/scopes" | tr '\n' ' ')" \
	"both mounts show the same scopes"

MNT=$A
mkpool private top 10.0.0.0/12
PA=$A/scopes/private/pools/top
PB=$B/scopes/private/pools/top

# ---- four writers, two per mount; mount a's daemon is killed ----
# each writer notes a name only after its write returned success
writer() { # POOL NAME-PREFIX
	local i fails=0
	for i in $(seq 1 400); do
		[ -e "$TMPD/stop" ] && break
		if wr "$1/allocate" "$2$i /28" 2>/dev/null; then
			echo "$2$i" >>"$TMPD/acked"
			fails=0
		else
			fails=$((fails + 1))
			[ $fails -ge 3 ] && break # the mount is gone
		fi
	done
}
: >"$TMPD/acked"
writer "$PA" a &
w1=$!
writer "$PA" c &
w2=$!
writer "$PB" b &
w3=$!
writer "$PB" d &
w4=$!
# kill a's daemon mid-stream: once some writes of each side are acked
for i in $(seq 1 200); do
	[ "$(grep -c '^[ac]' "$TMPD/acked")" -ge 15 ] &&
		[ "$(grep -c '^[bd]' "$TMPD/acked")" -ge 15 ] && break
	sleep 0.05
done
kill -9 "$PID_A"
wait "$PID_A" 2>/dev/null
wait_pid_gone "$PID_A"
killed_at=$(wc -l <"$TMPD/acked")
wait "$w1" "$w2"
# b's writers go on for a while after the kill, then stop between writes
sleep 1
touch "$TMPD/stop"
wait "$w3" "$w4"
timeout 10 fusermount3 -uz "$A" 2>/dev/null

acked=$(sort -u "$TMPD/acked")
n_acked=$(wc -l <<<"$acked")
expect_eq "$([ "$killed_at" -ge 30 ] && [ "$n_acked" -gt "$killed_at" ] && echo yes)" yes \
	"writes were acked before the kill ($killed_at) and b went on after it ($n_acked)"

# every acknowledged allocation is there, through b and in PostgreSQL
missing=0
for n in $acked; do
	t test -e "$PB/allocations/$n/cidr" || missing=$((missing + 1))
done
expect_eq "$missing" 0 "every acknowledged allocation is present through b"
rows=$(sql "SELECT a.name FROM allocation a JOIN pool p ON p.key = a.pool_key WHERE p.name = 'top' ORDER BY 1")
expect_eq "$(comm -23 <(echo "$acked") <(echo "$rows" | sort) | wc -l)" 0 \
	"every acknowledged allocation is a row of PostgreSQL"
# at most one write per writer of a was in flight when a was killed: it
# may have committed without its acknowledgement reaching the writer
extra=$(comm -13 <(echo "$acked") <(echo "$rows" | sort))
[ -n "$extra" ] && diag "present, not acknowledged: $(echo $extra)"
expect_eq "$(printf '%s' "$extra" | grep -c '^[bd]')" 0 \
	"no allocation b's writers were not told about"
expect_eq "$([ "$(printf '%s' "$extra" | grep -c .)" -le 2 ] && echo yes)" yes \
	"at most the two writes in flight on a are present unacknowledged"

n_rows=$(grep -c . <<<"$rows")
cidrs=$(sql "SELECT a.name FROM allocation a JOIN pool p ON p.key = a.pool_key WHERE p.name = 'top'" |
	while read -r n; do t cat "$PB/allocations/$n/cidr"; done)
expect_eq "$(python3 -c '
import ipaddress, sys
nets = [ipaddress.ip_network(l) for l in sys.stdin.read().split()]
s = sorted(set(nets))
top = ipaddress.ip_network("10.0.0.0/12")
bad = [str(x) for x, y in zip(s, s[1:]) if x.overlaps(y)]
bad += [str(x) for x in s if not x.subnet_of(top) or x.prefixlen != 28]
print(len(nets), len(s), "ok" if not bad else bad)
' <<<"$cidrs")" "$n_rows $n_rows ok" \
	"$n_rows distinct, non-overlapping /28s inside the pool"
expect_eq "$(status_get "$PB" allocation-count) $(status_get "$PB" assigned-addresses)" \
	"$n_rows $((n_rows * 16))" "b's counters are exact"
expect_eq "$(sql "SELECT n_allocs FROM pool WHERE name = 'top'")" "$n_rows" \
	"the pool's stored counter agrees with its rows"
expect_eq "$(sql "SELECT count(*) FROM allocation a JOIN allocation b ON a.pool_key = b.pool_key AND a.key < b.key AND a.span && b.span")" \
	0 "PostgreSQL holds no two overlapping allocations"

# ---- b keeps working, a mounts again ----
expect_ok wr "$PB/allocate" "after /28"
MNT=$A
start_ipamfs
expect_eq "$(status_get "$PA" allocation-count)" $((n_rows + 1)) \
	"the killed daemon's mount comes back and counts the same"
expect_ok wr "$PA/allocate" "again /28"
expect_eq "$(status_get "$PB" allocation-count)" $((n_rows + 2)) \
	"and its new allocation is seen through b"
finish
