#!/bin/bash
# 01-basics: the tree after the first mount (SPEC §2, §3), a remount of the
# same database, and the refusal to mount files that are not an ipamfs
# database (corrupt, not SQLite, another application's SQLite, newer schema)
# without modifying them.
. "$(dirname "$0")/lib.sh"

mount_ipamfs

# --- the tree --------------------------------------------------------------
for f in README ipam.json errors events ipam/id ipam/home-locale \
	ipam/description ipam/operating-locales ipam/tier \
	ipam/enable-private-gua; do
	t test -f "$MNT/$f"
	check $? "$f is a regular file"
done
for d in ipam ipam/quotas scopes by-id scopes/private scopes/public \
	scopes/private/pools scopes/public/pools; do
	t test -d "$MNT/$d"
	check $? "$d/ is a directory"
done

readme=$(rd "$MNT/README")
[ -n "$readme" ]
check $? "README is not empty"

rd "$MNT/ipam.json" | jq -e . >/dev/null
check $? "ipam.json is valid JSON"

ipam_id=$(rd "$MNT/ipam/id")
expect_match "$ipam_id" '^ipam-[0-9a-f]{17}$' "ipam/id is an AWS-style id ($ipam_id)"
expect_json "$MNT/ipam.json" '.Ipams | length' 1
expect_json "$MNT/ipam.json" '.Ipams[0].IpamId' "$ipam_id"
expect_json "$MNT/ipam.json" '.Ipams[0].IpamRegion' local
expect_json "$MNT/ipam.json" '.Ipams[0].State' create-complete
expect_json "$MNT/ipam.json" '.Ipams[0].ScopeCount' 2
expect_json "$MNT/ipam.json" '[.Ipams[0].OperatingRegions[].RegionName] | join(",")' local

expect_file_eq "$MNT/ipam/home-locale" local
expect_file_eq "$MNT/ipam/operating-locales" local
expect_file_eq "$MNT/ipam/description" ""
expect_file_eq "$MNT/ipam/enable-private-gua" false
expect_match "$(rd "$MNT/ipam/tier")" '^(free|advanced)$' "ipam/tier is free or advanced"
expect_file_eq "$MNT/ipam/quotas/scopes" 5
expect_file_eq "$MNT/ipam/quotas/pools-per-scope" 50
expect_file_eq "$MNT/ipam/quotas/cidrs-per-pool" 50
expect_file_eq "$MNT/ipam/quotas/pool-depth" 10

expect_eq "$(t ls "$MNT/scopes" | tr '\n' ' ')" "private public " "ls scopes"
expect_eq "$(t ls -A "$MNT/scopes/private/pools" | wc -l)" 0 "no pools yet"
expect_eq "$(rd "$MNT/errors" | wc -c)" 0 "errors is empty on a new IPAM"

for s in private public; do
	S=$MNT/scopes/$s
	expect_file_eq "$S/type" "$s"
	expect_file_eq "$S/is-default" true
	sid=$(idof "$S")
	expect_match "$sid" '^ipam-scope-[0-9a-f]{17}$' "scopes/$s/id is an AWS-style id"
	key=$([ $s = private ] && echo PrivateDefaultScopeId || echo PublicDefaultScopeId)
	expect_json "$MNT/ipam.json" ".Ipams[0].$key" "$sid"
	t test -L "$MNT/by-id/$sid"
	check $? "by-id/$sid is a symlink"
	expect_file_eq "$MNT/by-id/$sid/type" "$s" "by-id/<$s scope id>/type resolves"
	expect_file_eq "$MNT/by-id/$sid/id" "$sid" "by-id/<$s scope id>/id resolves"
	t stat -L "$MNT/by-id/$sid" >/dev/null
	check $? "stat -L by-id/<$s scope id>"
done
pub=$(idof "$MNT/scopes/public")
priv=$(idof "$MNT/scopes/private")
[ "$pub" != "$priv" ]
check $? "the two scopes have distinct ids"

t stat -f "$MNT" >/dev/null
check $? "statfs works"

# --- a remount keeps everything -------------------------------------------
mkpool private top 10.0.0.0/16
TOP=$POOL
expect_ok wr "$TOP/description" "kept across remounts"
expect_ok wr "$TOP/allocate" "web /24"
expect_ok wr "$TOP/tags/env" prod
top_id=$(idof "$TOP")
snapshot() {
	rd "$MNT/ipam.json"
	rd "$MNT/ipam/id"
	rd "$MNT/scopes/private/id"
	rd "$MNT/scopes/public/id"
	rd "$TOP/pool.json"
	rd "$TOP/cidrs.json"
	rd "$TOP/allocations.json"
	rd "$TOP/status"
	rd "$TOP/allocations/web/cidr"
	rd "$TOP/allocations/web/id"
	t ls "$MNT/by-id"
}
before=$(snapshot)
unmount_ipamfs
# home-locale is used only at creation: a later -o home-locale changes nothing
start_ipamfs -o home-locale=eu-west-1
after=$(snapshot)
expect_eq "$after" "$before" "remount: ipam.json, ids, pool, cidrs, allocations, status unchanged"
expect_file_eq "$MNT/ipam/home-locale" local "remount with -o home-locale: home-locale unchanged"
expect_file_eq "$TOP/description" "kept across remounts"
expect_file_eq "$TOP/tags/env" prod
expect_file_eq "$TOP/allocations/web/cidr" 10.0.0.0/24
expect_file_eq "$MNT/by-id/$top_id/id" "$top_id" "by-id/<pool id> after remount"
unmount_ipamfs

if [[ $DB == postgres*://* ]]; then
	# PostgreSQL (suite pg-all): amcheck verifies every B-tree index of
	# the IPAM's schema, and that it holds every row of its table
	# (heapallindexed), as far as PRAGMA integrity_check does on a file
	ic=$(psql -XqAt "$DB" -c "CREATE EXTENSION IF NOT EXISTS amcheck" \
		-c "SELECT count(*) || ' ' || (SELECT count(*) FROM pg_index i
		    JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a
		    ON a.oid = c.relam WHERE a.amname = 'btree'
		    AND c.relnamespace = current_schema()::regnamespace)
		  FROM (SELECT bt_index_check(c.oid, true) FROM pg_index i
		    JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a
		    ON a.oid = c.relam WHERE a.amname = 'btree'
		    AND c.relnamespace = current_schema()::regnamespace) x" 2>&1)
	n=${ic%% *}
	expect_eq "$ic" "$n $n" "amcheck of every index after a clean unmount ($ic)"
	expect_ok test "${n:-0}" -gt 20
elif command -v sqlite3 >/dev/null; then
	sqlite3 "$DB" 'PRAGMA integrity_check' >"$TMPD/ic" 2>&1
	expect_eq "$(cat "$TMPD/ic")" ok "PRAGMA integrity_check after a clean unmount"
else
	echo "# skip integrity_check: no sqlite3"
fi

# --- a new IPAM with -o home-locale ----------------------------------------
DB=$TMPD/second.db
start_ipamfs -o home-locale=us-east-1
expect_file_eq "$MNT/ipam/home-locale" us-east-1 "-o home-locale=us-east-1 at creation"
expect_file_eq "$MNT/ipam/operating-locales" us-east-1 "operating-locales holds the home locale"
expect_json "$MNT/ipam.json" '.Ipams[0].IpamRegion' us-east-1
[ "$(rd "$MNT/ipam/id")" != "$ipam_id" ]
check $? "a second database has another IPAM id"
unmount_ipamfs

# --- through mount(8), as from /etc/fstab ----------------------------------
if [ -x /sbin/mount.fuse3 ] || [ -x /usr/sbin/mount.fuse3 ]; then
	DB=$TMPD/fstab.db
	out=$(timeout "$TIMEOUT" mount -t fuse "$IPAMFS#$DB" "$MNT" -o nosuid,nodev,home-locale=eu-west-1 2>&1)
	check $? "mount -t fuse 'ipamfs#DB' MNT -o nosuid,nodev,home-locale=eu-west-1 $out"
	MOUNTS+=("$MNT")
	wait_mounted "$MNT"
	expect_eq "$(awk -v m="$MNT" '$2 == m { print $3 }' /proc/mounts)" fuse.ipamfs "the mount type is fuse.ipamfs"
	expect_file_eq "$MNT/ipam/home-locale" eu-west-1 "mount(8) passes -o home-locale"
	pid=$(db_holder "$DB")
	timeout 10 umount "$MNT"
	check $? "umount"
	! _is_mounted "$MNT"
	check $? "unmounted by umount"
	wait_pid_gone "$pid"
	check $? "the daemon (pid $pid) exits after umount"
else
	echo "# skip mount(8): no mount.fuse3"
fi

# --- files that are not an ipamfs database are refused, untouched ----------
refuse_mount() { # NAME: $TMPD/NAME must be refused and left byte-identical
	local f=$TMPD/$1 out rc
	cp -p "$f" "$f.orig"
	local listing
	listing=$(ls -A "$TMPD")
	out=$(timeout "$TIMEOUT" "$IPAMFS" "$f" "$MNT" 2>&1)
	rc=$?
	if _is_mounted "$MNT"; then
		not_ok "$1: ipamfs mounted it"
		timeout 10 fusermount3 -u "$MNT" || timeout 10 fusermount3 -uz "$MNT"
	else
		ok "$1: not mounted"
	fi
	[ $rc -ne 0 ] && [ $rc -ne 124 ]
	check $? "$1: ipamfs exits non-zero (exit $rc)"
	[ -n "$out" ]
	check $? "$1: ipamfs says why: $(printf '%s' "$out" | head -n 1)"
	cmp -s "$f" "$f.orig"
	check $? "$1: the file is byte-identical"
	expect_eq "$(ls -A "$TMPD")" "$listing" "$1: no file created next to it (-wal, -shm, -journal)"
	rm -f "$f.orig"
}

head -c 4096 /dev/urandom >"$TMPD/random.db"
refuse_mount random.db
# an empty (0-byte) file: perhaps a database truncated by accident; it is
# not silently set up as a new IPAM (issue 8)
: >"$TMPD/empty.db"
refuse_mount empty.db

printf 'this is not a database\n' >"$TMPD/text.db"
refuse_mount text.db

if command -v sqlite3 >/dev/null; then
	sqlite3 "$TMPD/other.db" 'CREATE TABLE x(a); INSERT INTO x VALUES (1);'
	refuse_mount other.db
fi

# a real ipamfs database with its middle pages damaged
cp "$TMPD/ipam.db" "$TMPD/damaged.db"
size=$(stat -c %s "$TMPD/damaged.db")
if [ "$size" -ge 8192 ]; then
	dd if=/dev/urandom of="$TMPD/damaged.db" bs=1 seek=100 count=3900 conv=notrunc status=none
	refuse_mount damaged.db
fi

# a newer schema: if the version lives in PRAGMA user_version
cp "$TMPD/ipam.db" "$TMPD/newer.db"
v=$(sqlite3 "$TMPD/newer.db" 'PRAGMA user_version' 2>/dev/null)
if [ "${v:-0}" -gt 0 ]; then
	sqlite3 "$TMPD/newer.db" "PRAGMA user_version = $((v + 1000))"
	refuse_mount newer.db
else
	echo "# skip newer schema: PRAGMA user_version is $v"
fi

out=$(timeout "$TIMEOUT" "$IPAMFS" "$TMPD/no/such/dir/x.db" "$MNT" 2>&1)
rc=$?
[ $rc -ne 0 ] && ! _is_mounted "$MNT"
check $? "a database in a missing directory is refused (exit $rc)"

finish
