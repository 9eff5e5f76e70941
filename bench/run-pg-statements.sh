#!/usr/bin/env bash
# run-pg-statements.sh - what one allocation costs the PostgreSQL server:
# statements, plans, and the server's execution and planning time per
# `NAME /28` written to a pool's `allocate` on one PostgreSQL mount,
# counted by pg_stat_statements (docs/bench.md, "Prepared statements").
#
#   bench/run-pg-statements.sh IPAMFS [N] [all|top]
#
# IPAMFS: the daemon binary (e.g. build/fs/ipamfs); N allocations (100);
# `top` counts the statements the daemon sends (its round trips, but the
# PREPAREs), `all` (default) those run inside triggers and functions too.
# A throwaway cluster like tests/pg/pgtmp.sh's (Unix socket, fsync off)
# with pg_stat_statements preloaded; unmounted and removed at the end.
set -u
ipamfs=$(realpath "$1")
n=${2:-100}
track=${3:-all}
bindir=
for d in /usr/lib/postgresql/*/bin; do
	[ -x "$d/initdb" ] && bindir=$d
done
[ -n "$bindir" ] || { echo "no PostgreSQL server installed" >&2; exit 77; }
as_owner() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
	else
		"$@"
	fi
}
dir=$(mktemp -d /tmp/ipam-pg-statements.XXXXXX) || exit 1
chmod 755 "$dir"
[ "$(id -u)" = 0 ] && chown nobody:nogroup "$dir"
mnt=$dir/mnt
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && fusermount3 -u "$mnt"
	as_owner "$bindir/pg_ctl" -D "$dir/data" -w stop -m fast >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT
as_owner "$bindir/initdb" -D "$dir/data" -A trust -U ipamfs -E UTF8 \
	--no-sync >/dev/null 2>&1 || exit 1
as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "-k $dir \
-c listen_addresses='' -c fsync=off -c synchronous_commit=off \
-c full_page_writes=off -c shared_preload_libraries=pg_stat_statements \
-c pg_stat_statements.track=$track -c pg_stat_statements.track_planning=on \
-c pg_stat_statements.max=10000" start >/dev/null || exit 1
q() { psql -X -At -F' ' "host=$dir user=ipamfs dbname=${2:-ipam}" -c "$1"; }
q "CREATE DATABASE ipam" postgres >/dev/null
mkdir "$mnt"
"$ipamfs" "postgresql://ipamfs@/ipam?host=$dir" "$mnt" >/dev/null || exit 1
for _ in $(seq 50); do [ -e "$mnt/README" ] && break; sleep 0.1; done
pool=$mnt/scopes/private/pools/top
mkdir "$pool"
echo "10.0.0.0/8" >"$pool/cidrs"
for i in 1 2 3 4 5; do echo "warm$i /28" >"$pool/allocate"; done
q "CREATE EXTENSION pg_stat_statements" >/dev/null
q "SELECT pg_stat_statements_reset()" >/dev/null
t0=$(date +%s%N)
for i in $(seq "$n"); do echo "a$i /28" >"$pool/allocate" || exit 1; done
t1=$(date +%s%N)
q "SELECT sum(calls), sum(plans), sum(total_exec_time), sum(total_plan_time)
   FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'" |
	awk -v n="$n" -v ns=$((t1 - t0)) '{ printf "per allocation: %.1f statements, %.1f plans; server: execution %.2f ms, planning %.2f ms; wall %.1f ms\n", $1 / n, $2 / n, $3 / n, $4 / n, ns / 1e6 / n }'
echo "most called (calls, plans, statement):"
q "SELECT calls, plans, left(regexp_replace(query, '\s+', ' ', 'g'), 100)
   FROM pg_stat_statements ORDER BY calls DESC LIMIT 10"
