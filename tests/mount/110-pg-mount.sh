#!/bin/bash
# 110-pg-mount.sh - an IPAM in PostgreSQL, mounted (issue 14,
# docs/design/pg.md): DATABASE is a postgresql:// URI. Runs under
# tests/pg/pgtmp.sh (a throwaway cluster, IPAMFS_PG_DIR its socket
# directory); skipped (77) without PostgreSQL. Allocations and reads as
# on SQLite, the rows checked with psql, a remount keeps everything, a
# password never shows in the mount table, a database that does not exist
# is refused before mounting.
. "$(dirname "$0")/lib.sh"
if [ -z "${IPAMFS_PG_DIR:-}" ] || ! command -v psql >/dev/null; then
	echo "1..0 # SKIP not under tests/pg/pgtmp.sh, or no psql"
	exit 77
fi
URI="postgresql:///postgres?host=$IPAMFS_PG_DIR&user=ipamfs"
sql() { timeout "$TIMEOUT" psql -X -q -At "$URI" -c "$1"; }

new_tmpdir
DB=$URI
start_ipamfs
expect_eq "$(db_of_mount "$MNT")" "$URI" "the mount's source is the URI"
expect_eq "$(sql "SELECT value FROM ipamfs_meta WHERE key = 'schema_version'")" \
	"$(sql "SELECT max(value) FROM ipamfs_meta")" "the schema is created in the empty database"
expect_eq "$(t ls "$MNT/scopes" | tr '\n' ' ')" "private public " "the default scopes"

# IPv4: first fit, a given CIDR, refusals, release
mkpool private top 10.0.0.0/16
A=$POOL
for n in a b c; do expect_ok wr "$A/allocate" "$n /24"; done
expect_file_eq "$A/allocations/a/cidr" 10.0.0.0/24
expect_file_eq "$A/allocations/b/cidr" 10.0.1.0/24
expect_file_eq "$A/allocations/c/cidr" 10.0.2.0/24
expect_ok wr "$A/allocate" "d 10.0.8.0/28"
expect_errno EADDRINUSE wr "$A/allocate" "x 10.0.1.128/25"
expect_errno EEXIST wr "$A/allocate" "a /24"
expect_errno EINVAL wr "$A/allocate" "x 10.0.0.0/33"
expect_ok rmdir "$A/allocations/b"
expect_file_eq "$A/preview/24" 10.0.1.0/24 "the released /24 is free again"
expect_eq "$(status_get "$A" allocation-count)" 3 "status: allocation-count"
expect_eq "$(status_get "$A" assigned-addresses)" $((256 + 256 + 16)) "status: assigned-addresses"
# the rows in PostgreSQL, and the structural span of each
expect_eq "$(sql "SELECT string_agg(name || '=' || prefix, ',' ORDER BY name) FROM allocation WHERE resource_type = 'custom'")" \
	"a=24,c=24,d=28" "the allocation rows in PostgreSQL"
expect_eq "$(sql "SELECT (upper(span) - lower(span))::bigint FROM allocation WHERE name = 'd'")" 16 "the span of a /28 covers 16 addresses"
expect_match "$(t tail -n 2 "$MNT/events")" '"action":"release-ipam-pool-allocation"|"action":"allocate-ipam-pool-cidr"' "events are logged"

# IPv6
mkpool private v6 fd12:3456:789a::/56
expect_ok wr "$POOL/allocate" "n /64"
expect_ok wr "$POOL/allocate" "m /60"
expect_file_eq "$POOL/allocations/n/cidr" fd12:3456:789a::/64
expect_file_eq "$POOL/allocations/m/cidr" fd12:3456:789a:10::/60
expect_errno EINVAL wr "$POOL/allocate" "x ::/129"

# a remount (a new daemon, a new connection) serves the same IPAM
unmount_ipamfs
start_ipamfs
expect_file_eq "$A/allocations/d/cidr" 10.0.8.0/28 "after a remount"
expect_eq "$(status_get "$A" allocation-count)" 3 "allocation-count after a remount"
unmount_ipamfs

# a password in the URI is not shown (mount table, log)
DB="postgresql://ipamfs:s3cret@/postgres?host=$IPAMFS_PG_DIR"
start_ipamfs
expect_eq "$(db_of_mount "$MNT")" "postgresql://ipamfs@/postgres?host=$IPAMFS_PG_DIR" \
	"the mount's source leaves the password out"
expect_file_eq "$A/allocations/a/cidr" 10.0.0.0/24 "the user:password form connects"
unmount_ipamfs

# a database that does not exist: refused before mounting, exit 1
out=$(timeout "$TIMEOUT" "$IPAMFS" "postgresql:///nope?host=$IPAMFS_PG_DIR&user=ipamfs" "$MNT" 2>&1)
rc=$?
expect_eq "$rc" 1 "a missing database: exit status 1"
expect_match "$out" 'cannot open postgresql:///nope.*database "nope" does not exist' "and says why"
if _is_mounted "$MNT"; then not_ok "nothing is mounted"; else ok "nothing is mounted"; fi
finish
