#!/bin/sh
# withdb.sh - runs one test against a database of its own in the cluster of
# tests/pg/pgtmp.sh (docs/design/pg.md, "The suite on PostgreSQL").
#
#   tests/pg/pgtmp.sh run meson test -C build --suite pg-all
#   tests/pg/withdb.sh CMD...      (under pgtmp.sh: IPAMFS_PG_DIR is set)
#
# Creates an empty database with a fresh name, runs CMD with
# IPAMFS_TEST_PG_URI (the unit fixture, tests/unit/fixture.h) and
# IPAMFS_TEST_DB (the mount scripts, tests/mount/lib.sh) naming it, then
# drops it and every database CMD made with its name as prefix (the
# fixture's clones). CMD's exit status; 77 (skipped) outside pgtmp.sh.
#
#   withdb.sh --skip "REASON"      a test that cannot run on PostgreSQL:
#                                  prints the reason and exits 77
set -u
if [ "${1:-}" = --skip ]; then
	echo "1..0 # SKIP on PostgreSQL: $2"
	exit 77
fi
if [ -z "${IPAMFS_PG_DIR:-}" ]; then
	echo "1..0 # SKIP not under tests/pg/pgtmp.sh (no IPAMFS_PG_DIR)"
	exit 77
fi
admin="postgresql:///postgres?host=$IPAMFS_PG_DIR&user=ipamfs"
name="t$$_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
psql -qX "$admin" -c "CREATE DATABASE $name" >/dev/null || exit 1
IPAMFS_TEST_PG_URI="postgresql:///$name?host=$IPAMFS_PG_DIR&user=ipamfs"
IPAMFS_TEST_DB=$IPAMFS_TEST_PG_URI
export IPAMFS_TEST_PG_URI IPAMFS_TEST_DB
status=0
"$@" || status=$?
# the test's databases (and the fixture's clones and templates, named
# ${name}_…); a daemon still connected is disconnected (FORCE)
for db in $(psql -qXAt "$admin" -c \
	"SELECT datname FROM pg_database WHERE datname LIKE '${name}%'"); do
	psql -qX "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
		>/dev/null 2>&1
done
exit $status
