#!/bin/sh
# pgtmp.sh - a throwaway PostgreSQL cluster for the tests (docs/design/pg.md).
#
#   DSN=$(tests/pg/pgtmp.sh start DIR)   # initdb + pg_ctl in DIR, prints a DSN
#   tests/pg/pgtmp.sh stop DIR           # stops it and removes DIR
#   tests/pg/pgtmp.sh run CMD...         # start, run CMD with IPAMFS_PG_DSN
#                                        # set, stop; CMD's exit status
#   tests/pg/pgtmp.sh halt DIR           # the server stops (fast: clients
#   tests/pg/pgtmp.sh resume DIR         # are cut off), and starts again
#
# The cluster runs as an unprivileged user (nobody when started by root:
# PostgreSQL refuses to run as root), listens on a Unix socket in DIR only
# (no TCP), trusts local connections, and skips fsync (a test cluster).
# Many connections and predicate locks: the suite on PostgreSQL (pg-all)
# runs tests in parallel, some with transactions of 10^4 changes, and
# SERIALIZABLE keeps every transaction that overlaps a running one; when
# they outnumber their shared memory (10 per connection slot) PostgreSQL
# summarizes them and then fails unrelated transactions with
# serialization errors (seen with 100 and 1000 connections while one test
# held a transaction of minutes).
# Exit 77 (skipped) when PostgreSQL's server binaries are not installed.
set -eu

bindir=
for d in /usr/lib/postgresql/*/bin; do
	[ -x "$d/initdb" ] && bindir=$d
done
if [ -z "$bindir" ] && command -v initdb >/dev/null 2>&1; then
	bindir=$(dirname "$(command -v initdb)")
fi
if [ -z "$bindir" ]; then
	echo "pgtmp: no PostgreSQL server (initdb) installed" >&2
	exit 77
fi

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
	else
		"$@"
	fi
}

start() {
	dir=$1
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown nobody:nogroup "$dir"
	as_owner "$bindir/initdb" -D "$dir/data" -A trust -U ipamfs -E UTF8 \
		--no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
		-o "-k $dir -c listen_addresses='' -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off \
-c max_connections=3000 -c max_pred_locks_per_transaction=256" start >/dev/null ||
		{ cat "$dir/server.log" >&2; exit 1; }
	echo "host=$dir user=ipamfs dbname=postgres"
}

stop() {
	dir=$1
	[ -d "$dir/data" ] &&
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop \
			>/dev/null 2>&1 || true
	rm -rf "$dir"
}

case ${1:-} in
start) start "$2" ;;
stop) stop "$2" ;;
restart)
	as_owner "$bindir/pg_ctl" -D "$2/data" -m immediate -w stop >/dev/null
	as_owner "$bindir/pg_ctl" -D "$2/data" -l "$2/server.log" -w \
		-o "-k $2 -c listen_addresses='' -c fsync=off" start >/dev/null
	;;
halt)
	as_owner "$bindir/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null
	;;
resume)
	as_owner "$bindir/pg_ctl" -D "$2/data" -l "$2/server.log" -w \
		-o "-k $2 -c listen_addresses='' -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off" start >/dev/null
	;;
run)
	shift
	dir=$(mktemp -d /tmp/ipamfs-pg.XXXXXX)
	trap 'stop "$dir"' EXIT INT TERM
	IPAMFS_PG_DSN=$(start "$dir")
	IPAMFS_PG_DIR=$dir
	export IPAMFS_PG_DSN IPAMFS_PG_DIR
	status=0
	"$@" || status=$?
	exit $status
	;;
*)
	echo "usage: pgtmp.sh start DIR | stop DIR | restart DIR | halt DIR | resume DIR | run CMD..." >&2
	exit 2
	;;
esac
