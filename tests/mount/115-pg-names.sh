#!/bin/bash
# 115-pg-names.sh - the kernel keeps names and attributes of a PostgreSQL
# mount (60 s, as on SQLite), and another daemon's change takes back what
# it made stale (issue 14, docs/design/pg.md, "Seeing other daemons'
# changes"): mount B stats a name first (its kernel then holds it), mount
# A removes the object, and B's `stat` of the name fails within the bound
# (polled every 10 ms up to 2 s; the time is printed). The same for a
# pool, a discovery removed with 2000 resources in one transaction (a
# list too long for one notification: "anything may be gone"), a resource
# moved to another scope (a rename), a prefix list (whose removal libipam
# does not report: not cached on a shared database), and a chmod on A
# seen in B's `stat`.
# (Mutation check: with the removals of the notifications ignored on B,
# fs/lowlevel.c other_removed doing nothing, the allocation, pool and
# discovery checks fail.)
# Runs under tests/pg/pgtmp.sh; skipped (77) without PostgreSQL.
. "$(dirname "$0")/lib.sh"
if [ -z "${IPAMFS_PG_DIR:-}" ]; then
	echo "1..0 # SKIP not under tests/pg/pgtmp.sh"
	exit 77
fi
new_tmpdir
DB="postgresql:///postgres?host=$IPAMFS_PG_DIR&user=ipamfs"
two_mounts
# feed SNAPSHOT FEEDFILE: the snapshot is applied at the close (1700
# resources take 15-25 s on PostgreSQL)
feed() { timeout 120 bash -c 'cat "$1" > "$2"' feed "$1" "$2"; }

# gone_within PATH WHAT: polls B's `stat --cached=always PATH` (every 10
# ms, up to 2 s) until it fails: statx(AT_STATX_DONT_SYNC) answers from
# the attributes the kernel holds, even expired ones, without asking the
# daemon, so it fails only once B's kernel dropped the name (a plain
# `stat` of a name whose attributes expired asks the daemon, which finds
# nothing: it would fail with the name still held). ok with the time it
# took, not ok if it never did; then a plain stat fails too.
gone_within() {
	local path=$1 what=$2 s e i
	s=$(date +%s%N)
	for i in $(seq 1 200); do
		if ! stat --cached=always "$path" >/dev/null 2>&1; then
			e=$(date +%s%N)
			ok "$what: gone from b after $(((e - s) / 1000000)) ms"
			expect_errno_kernel ENOENT stat "$path"
			return 0
		fi
		sleep 0.01
	done
	not_ok "$what: still held by b's kernel after 2 s"
}

# held PATH WHAT: B stats it (twice: the kernel keeps it from the first)
held() {
	expect_ok stat "$1"
	expect_ok stat "$1"
}

mkpool private top 10.0.0.0/16
PA=$A/scopes/private/pools/top
PB=$B/scopes/private/pools/top
expect_ok wr "$PA/allocate" "x /24"
expect_ok wr "$PA/allocate" "y /24"
expect_ok mkdir "$PA/pools/kid"
expect_ok wr "$PA/pools/kid/cidrs" 10.0.128.0/20

# --- an allocation released on a (rmdir), b held its name and files
held "$PB/allocations/x"
held "$PB/allocations/x/cidr"
expect_ok rmdir "$PA/allocations/x"
gone_within "$PB/allocations/x" "released allocation"
expect_errno_kernel ENOENT stat "$PB/allocations/x/cidr"
expect_eq "$(t ls "$PB/allocations" | grep -cx x)" 0 "b: ls allocations/ after the release"
# the same name made again on a: b finds it (failed lookups are not kept)
expect_ok wr "$PA/allocate" "x /24"
expect_ok stat "$PB/allocations/x"

# --- a child pool deleted on a
held "$PB/pools/kid"
held "$PB/pools/kid/status"
expect_ok wr "$PA/pools/kid/cidrs" -10.0.128.0/20
expect_ok rmdir "$PA/pools/kid"
gone_within "$PB/pools/kid" "deleted pool"

# --- a chmod on a: b's stat shows the new mode (attributes expire)
held "$PB/allocations/y"
expect_eq "$(stat -c %a "$PB/allocations/y")" 755 "b: allocation mode before"
expect_ok chmod 0700 "$PA/allocations/y"
s=$(date +%s%N) seen=
for i in $(seq 1 200); do
	if [ "$(stat -c %a "$PB/allocations/y")" = 700 ]; then
		seen=$((($(date +%s%N) - s) / 1000000))
		break
	fi
	sleep 0.01
done
if [ -n "$seen" ]; then
	ok "chmod on a: b's stat shows 700 after $seen ms"
else
	not_ok "chmod on a: b's stat still $(stat -c %a "$PB/allocations/y") after 2 s"
fi

# --- a resource moved to another scope on a (the one rename of the
# tree): b held a file under its old path
expect_ok mkdir "$A/scopes/other"
expect_ok mkdir "$A/scopes/private/resources/vpc-0123456789abcdef0"
held "$B/scopes/private/resources/vpc-0123456789abcdef0/resource-type"
expect_ok mv "$A/scopes/private/resources/vpc-0123456789abcdef0" "$A/scopes/other/resources/"
gone_within "$B/scopes/private/resources/vpc-0123456789abcdef0/resource-type" "moved resource (old path)"
expect_ok stat "$B/scopes/other/resources/vpc-0123456789abcdef0/resource-type"

# --- a prefix list deleted on a (no removal report: never cached here)
expect_ok mkdir "$A/prefix-lists/pl"
held "$B/prefix-lists/pl"
expect_ok rmdir "$A/prefix-lists/pl"
gone_within "$B/prefix-lists/pl" "deleted prefix list"

# --- a list too long for one notification: a discovery with 1700
# resources deleted in one transaction (NOTIFY's payload holds < 8000
# bytes, about 1300 rows of 4-digit keys): b is told "anything may be
# gone" (a psql LISTENing beside it sees the payload end in " *")
expect_ok wrf "$A/ipam/operating-locales" 'us-east-1\n'
expect_ok mkdir "$A/discoveries/many"
python3 - "$TMPD/many.jsonl" <<'EOF2'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(1700):
        print('{"ResourceId":"eni-%017x","ResourceType":"network-interface",'
              '"ResourceCidr":"10.9.%d.%d/32","ResourceRegion":"us-east-1",'
              '"ResourceOwnerId":"123456789012"}' % (i, i // 250, i % 250),
              file=f)
EOF2
expect_ok feed "$TMPD/many.jsonl" "$A/discoveries/many/feed"
expect_eq "$(t sed -n 's/^resources=//p' "$A/discoveries/many/feed")" 1700 \
	"a: the discovery sees 1700 resources"
held "$B/discoveries/many"
held "$B/discoveries/many/last-feed"
held "$PB/allocations/y"
if command -v psql >/dev/null; then
	{
		echo "LISTEN ipamfs;"
		for i in $(seq 1 600); do
			[ -e "$TMPD/listen.stop" ] && break
			sleep 0.1
			echo "SELECT 1;"
		done
	} | timeout 90 psql -X -At "$DB" >"$TMPD/listen.out" 2>&1 &
	lp=$!
	sleep 0.5
fi
s=$(date +%s%N)
expect_ok rmdir "$A/discoveries/many"
diag "rmdir of the discovery took $((($(date +%s%N) - s) / 1000000)) ms"
gone_within "$B/discoveries/many" "discovery removed with 1700 resources"
expect_ok stat "$PB/allocations/y"
if [ -n "${lp:-}" ]; then
	sleep 0.3
	touch "$TMPD/listen.stop"
	wait $lp
	expect_match "$(grep -o 'payload "[^"]*"' "$TMPD/listen.out" | tail -n 1)" \
		'^payload "[0-9]+ \*"$' "the notification of the removal says: anything may be gone"
fi
finish
