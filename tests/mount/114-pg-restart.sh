#!/bin/bash
# 114-pg-restart.sh - two daemons on one PostgreSQL database (issue 14,
# docs/design/pg.md): a change on mount a wakes a poll(2) watcher of
# /events on mount b (LISTEN/NOTIFY) and is seen by b's first read; then
# the server stops and starts again under load: while it is away, writes
# fail with EIO and /errors says why, reads are not served from caches,
# nothing is half-applied (every acknowledged allocation is there, the
# counters agree with the rows, nothing overlaps), and both mounts recover
# by themselves (the watcher of b is woken again after the restart).
# Runs under tests/pg/pgtmp.sh; skipped (77) without PostgreSQL.
. "$(dirname "$0")/lib.sh"
if [ -z "${IPAMFS_PG_DIR:-}" ] || ! command -v psql >/dev/null; then
	echo "1..0 # SKIP not under tests/pg/pgtmp.sh, or no psql"
	exit 77
fi
URI="postgresql:///postgres?host=$IPAMFS_PG_DIR&user=ipamfs"
PGTMP=$(dirname "$0")/../pg/pgtmp.sh
sql() { timeout "$TIMEOUT" psql -X -At "$URI" -c "$1"; }

new_tmpdir
DB=$URI
two_mounts
mkpool private top 10.0.0.0/12
PA=$A/scopes/private/pools/top
PB=$B/scopes/private/pools/top

# A poll(2) watcher of B's /events: reads to the end, is not readable
# while nothing changes, then wakes; prints the time it woke and the
# newest line it then read.
cat >"$TMPD/watch.py" <<'EOF'
import os, select, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
while os.read(fd, 65536):
    pass
p = select.poll()
p.register(fd, select.POLLIN)
print("idle:%d" % len(p.poll(1000)), flush=True)
ev = p.poll(10000)
woke = time.time()
data = b""
while True:
    chunk = os.read(fd, 65536)
    if not chunk:
        break
    data += chunk
last = data.decode().strip().split("\n")[-1] if data else ""
print("woke:%d %.6f %s" % (len(ev), woke, last), flush=True)
EOF
watch_b() { # NAME: a change on a, the watcher on b
	timeout 30 python3 "$TMPD/watch.py" "$B/events" >"$TMPD/watch.out" 2>&1 &
	local wp=$! i
	for i in $(seq 1 100); do
		grep -q '^idle:' "$TMPD/watch.out" && break
		sleep 0.1
	done
	local s
	s=$(date +%s.%N)
	expect_ok wr "$PA/allocate" "$1 /28"
	wait $wp
	local out
	out=$(cat "$TMPD/watch.out")
	expect_match "$out" '(^|'$'\n'')idle:0' "b's /events watcher sleeps while nothing changes ($1)"
	expect_match "$out" "woke:1 .*\"name\":\"$1\"" "a change on a wakes b's /events watcher, which reads it ($1)"
	echo "# a's write began -> b's watcher woke: $(awk -v s="$s" '/^woke/ { printf "%.1f ms", ($2 - s) * 1000 }' <<<"$out")"
}
watch_b first

# visibility without polling: b's first read after each write on a
for i in 1 2 3 4 5; do
	wr "$PA/allocate" "v$i /28" || break
	[ "$(status_get "$PB" allocation-count)" = $((1 + i)) ] || break
done
expect_eq "$i" 5 "b's first read after each of 5 writes on a shows it"

# ---- the server stops and starts again under load ----
cat >"$TMPD/writer.py" <<'EOF'
import os, sys, time
pool, prefix, stop, log = sys.argv[1:5]
i = 0
with open(log, "a") as out:
    while not os.path.exists(stop) and i < 5000:
        i += 1
        name = "%s%d" % (prefix, i)
        try:
            fd = os.open(pool + "/allocate", os.O_WRONLY)
            try:
                os.write(fd, ("%s /28\n" % name).encode())
            finally:
                os.close(fd)
            out.write("ok %s\n" % name)
        except OSError as e:
            out.write("err %d %s\n" % (e.errno, name))
            time.sleep(0.02)
        out.flush()
EOF
: >"$TMPD/log"
python3 "$TMPD/writer.py" "$PA" a "$TMPD/stop" "$TMPD/log" &
w1=$!
python3 "$TMPD/writer.py" "$PB" b "$TMPD/stop" "$TMPD/log" &
w2=$!
for i in $(seq 1 100); do
	[ "$(grep -c '^ok' "$TMPD/log")" -ge 20 ] && break
	sleep 0.05
done
# a file and a directory of b held open across the outage: fstat(2)
# reaches the daemon by inode (no lookup), where a kept node and a cached
# rendering would answer without the database
cat >"$TMPD/held.py" <<'EOF2'
import os, sys, time
f = os.open(sys.argv[1] + "/status", os.O_RDONLY)
d = os.open(sys.argv[1], os.O_RDONLY)
os.fstat(f), os.fstat(d)
print("ready", flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
out = []
for fd in (f, d):
    try:
        os.fstat(fd)
        out.append("ok")
    except OSError as e:
        out.append(str(e.errno))
print(" ".join(out), flush=True)
EOF2
timeout 60 python3 "$TMPD/held.py" "$PB" "$TMPD/fstat-now" >"$TMPD/held.out" 2>&1 &
hp=$!
for i in $(seq 1 100); do
	grep -q '^ready' "$TMPD/held.out" && break
	sleep 0.1
done
"$PGTMP" halt "$IPAMFS_PG_DIR"
sleep 0.5
touch "$TMPD/fstat-now"
wait $hp
expect_eq "$(tail -n 1 "$TMPD/held.out")" "5 5" \
	"fstat of b's status and pool directory held open: EIO, not a cached answer"
expect_eq "$(timeout "$TIMEOUT" python3 -c '
import os, sys
try:
    fd = os.open(sys.argv[1], os.O_WRONLY)
    os.write(fd, b"outage /28\n")
    os.close(fd)
    print("ok")
except OSError as e:
    print(e.errno)
' "$PA/allocate")" 5 "a write while the server is away fails with EIO"
expect_match "$(t tail -n 1 "$A/errors")" \
	" (write scopes/private/pools/top/allocate|lookup scopes/[a-z/]*) EIO: storage failure: the connection to PostgreSQL is lost \(.*\); nothing is applied, the next command connects again" \
	"/errors says the connection to PostgreSQL is lost, and what happens next"
if t cat "$PB/status" >/dev/null 2>&1; then
	not_ok "b's status is not served from a cache while the server is away"
else
	ok "b's status is not served from a cache while the server is away"
fi
expect_errno_kernel EIO t ls "$PB/allocations"
sleep 0.5
"$PGTMP" resume "$IPAMFS_PG_DIR"
# both mounts recover by themselves: the next commands work
back=no
for i in $(seq 1 50); do
	if wr "$PA/allocate" "back /28" 2>/dev/null; then
		back=yes
		break
	fi
	sleep 0.1
done
expect_eq "$back" yes "a's commands work again once the server is back"
sleep 0.5
touch "$TMPD/stop"
wait "$w1" "$w2"
expect_eq "$(grep '^err' "$TMPD/log" | awk '{ print $2 }' | sort -u | tr '\n' ' ')" "5 " \
	"the writers' failures during the outage were EIO, and only EIO"
expect_eq "$([ "$(grep -c '^err' "$TMPD/log")" -gt 0 ] && echo yes)" yes \
	"writes did fail during the outage ($(grep -c '^err' "$TMPD/log") of $(wc -l <"$TMPD/log"))"
expect_eq "$(awk 'f && /^ok/ { n++ } /^err/ { f = 1 } END { print (n > 0) }' "$TMPD/log")" 1 \
	"the writers' writes succeed again after the outage"

# nothing half-applied, nothing acknowledged lost
rows=$(sql "SELECT a.name FROM allocation a JOIN pool p ON p.key = a.pool_key WHERE p.name = 'top' ORDER BY 1")
acked=$(awk '/^ok/ { print $2 }' "$TMPD/log" | sort)
expect_eq "$(comm -23 <(echo "$acked") <(echo "$rows" | sort) | grep -c .)" 0 \
	"every acknowledged allocation is a row of PostgreSQL"
# a write cut off between its COMMIT and the reply: the daemon asks the
# server what became of the transaction (txid_status) once it can reach
# it again (for about 3 s), so a committed one is acknowledged, an
# aborted one fails with "nothing is applied"; only when the server could
# not be asked does the reason say the outcome is unknown. So every
# present, unacknowledged row is such a write: one per writer at most,
# and no more than the reasons saying "unknown"
extra=$(comm -13 <(echo "$acked") <(echo "$rows" | sort) | grep -v '^\(first\|v[0-9]\|back\)$')
failed=$(awk '/^err/ { print $3 }' "$TMPD/log" | sort)
unknown=$(timeout "$TIMEOUT" cat "$A/errors" "$B/errors" | grep -c 'whether the change is applied is unknown')
[ -n "$extra" ] && diag "present, not acknowledged: $(echo $extra)"
diag "writes whose outcome was unknown: $unknown"
expect_eq "$(comm -23 <(echo "$extra" | sort) <(echo "$failed") | grep -c .)" 0 \
	"every unacknowledged row is a write that failed with the connection"
expect_eq "$([ "$(printf '%s' "$extra" | grep -c .)" -le "$unknown" ] && echo yes)" yes \
	"every unacknowledged row is a write whose /errors reason says its outcome is unknown"
expect_eq "$([ "$(printf '%s' "$extra" | grep -c .)" -le 2 ] && echo yes)" yes \
	"at most one such write per writer"
n_rows=$(grep -c . <<<"$rows")
expect_eq "$(status_get "$PA" allocation-count) $(status_get "$PB" allocation-count) $(status_get "$PB" assigned-addresses)" \
	"$n_rows $n_rows $((n_rows * 16))" "both mounts' counters are exact"
expect_eq "$(sql "SELECT n_allocs FROM pool WHERE name = 'top'")" "$n_rows" \
	"the pool's stored counter agrees with its rows"
expect_eq "$(sql "SELECT count(*) FROM allocation a JOIN allocation b ON a.pool_key = b.pool_key AND a.key < b.key AND a.span && b.span")" \
	0 "PostgreSQL holds no two overlapping allocations"
expect_eq "$(sql "SELECT count(*) FROM allocation a JOIN pool p ON p.key = a.pool_key WHERE p.name = 'top' AND NOT EXISTS (SELECT 1 FROM event e WHERE e.object_id = a.aws_id)")" \
	0 "every allocation has its change event"

# b listens again: a's change wakes its watcher after the restart
watch_b after
finish
