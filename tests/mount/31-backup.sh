#!/bin/bash
# 31-backup: /backup.db, the online backup (issue 8 §5). While a writer
# allocates in 4-line batches (one transaction each), `cp backup.db` is
# taken several times; every copy passes PRAGMA integrity_check, mounts
# again, and holds a consistent state: whole batches only, as many as
# were acknowledged before the copy began at least and no more than when
# it ended (plus the one in flight), each with the CIDR the live mount
# gave it. Also: the file is read-only, owner-only, and a copy of a copy
# mounts too.
. "$(dirname "$0")/lib.sh"

if ! command -v sqlite3 >/dev/null; then
	echo "1..0 # SKIP no sqlite3"
	exit 77
fi

mount_ipamfs
mkpool private p 10.0.0.0/12
P=$POOL
expect_eq "$(t stat -c '%a %s' "$MNT/backup.db" | awk '{ print $1, ($2 > 0) }')" "400 1" "backup.db: mode 0400, size of the database"
expect_errno_kernel "EACCES|EPERM" bash -c 'echo x > "$1"' x "$MNT/backup.db"

# the writer: batches of 4 allocations in one write(2) each; a batch is
# logged in acked once its write returned
: >"$TMPD/acked"
timeout 120 bash -c '
	for b in $(seq 1 100000); do
		printf "b%s-1 /28\nb%s-2 /28\nb%s-3 /28\nb%s-4 /28\n" $b $b $b $b >"$3"
		dd if="$3" of="$1" bs=1M count=1 status=none 2>/dev/null || break
		echo "$b" >>"$2"
	done' x "$P/allocate" "$TMPD/acked" "$TMPD/batch" &
writer=$!

mkdir "$TMPD/m2"
copies=0
for i in 1 2 3 4 5; do
	sleep 0.3
	lo=$(wc -l <"$TMPD/acked")
	t cp "$MNT/backup.db" "$TMPD/copy$i.db"
	check $? "copy $i: cp backup.db while the writer runs"
	hi=$(wc -l <"$TMPD/acked")
	expect_eq "$(sqlite3 "$TMPD/copy$i.db" 'PRAGMA integrity_check' 2>&1)" ok "copy $i: integrity_check"
	chmod 600 "$TMPD/copy$i.db"
	if ! timeout "$TIMEOUT" "$IPAMFS" "$TMPD/copy$i.db" "$TMPD/m2" >>"$TMPD/ipamfs.log" 2>&1; then
		not_ok "copy $i mounts"
		continue
	fi
	MOUNTS+=("$TMPD/m2")
	wait_mounted "$TMPD/m2"
	ok "copy $i mounts"
	Q=$TMPD/m2/${P#"$MNT"/}
	n=$(nalloc "$Q")
	[ $((n % 4)) -eq 0 ] && [ $((n / 4)) -ge "$lo" ] && [ $((n / 4)) -le $((hi + 1)) ]
	check $? "copy $i: $n allocations = whole batches, between $lo and $((hi + 1)) acknowledged"
	expect_eq "$(status_get "$Q" allocation-count)" "$n" "copy $i: status agrees"
	expect_json "$Q/allocations.json" '.IpamPoolAllocations | length' "$n"
	# the last batch of the copy has the CIDRs the live mount gave it
	last=$((n / 4))
	if [ "$last" -gt 0 ]; then
		expect_eq "$(rd "$Q/allocations/b$last-4/cidr")" "$(rd "$P/allocations/b$last-4/cidr")" \
			"copy $i: batch $last has the CIDRs of the live mount"
	fi
	unmount_ipamfs "$TMPD/m2"
	copies=$((copies + 1))
done
kill "$writer" 2>/dev/null
wait "$writer" 2>/dev/null
expect_eq "$copies" 5 "five consistent copies taken under writes"
[ "$(wc -l <"$TMPD/acked")" -gt 5 ]
check $? "the writer made progress meanwhile ($(wc -l <"$TMPD/acked") batches)"

# a copy of a quiet IPAM equals it, and the copy's backup.db mounts too
n=$(nalloc "$P")
expect_eq "$(t stat -c %s "$MNT/backup.db")" "$(t cat "$MNT/backup.db" | wc -c)" "at rest, stat's size is the size of the copy"
t tar -cf "$TMPD/all.tar" -C "$MNT" ./README ./ipam.json ./backup.db ./ipam
check $? "tar of the mount's top files and backup.db exits 0 (no 'file changed as we read it')"
expect_eq "$(tar -xOf "$TMPD/all.tar" ./backup.db | head -c 15)" "SQLite format 3" "tar holds the snapshot"
t cp "$MNT/backup.db" "$TMPD/quiet.db"
unmount_ipamfs
DB=$TMPD/quiet.db
start_ipamfs
expect_eq "$(nalloc "$P")" "$n" "a copy taken at rest has every allocation"
t cp "$MNT/backup.db" "$TMPD/second.db"
unmount_ipamfs
expect_eq "$(sqlite3 "$TMPD/second.db" 'SELECT count(*) FROM allocation' 2>&1)" "$(sqlite3 "$TMPD/quiet.db" 'SELECT count(*) FROM allocation' 2>&1)" "a backup of a restored backup holds the same"

finish
