/*
 * changed.c - change times: when each object last changed what it shows.
 *
 * The ipam, scope, pool, allocation, resource and discovery rows carry a
 * `changed` column, a stamp in nanoseconds since the epoch (schema 3); the
 * prefix_list rows carry it as `touched` (schema 5: their `changed` is when
 * the latest version was made, in seconds). It
 * is bumped in the transaction of every change by triggers of the engine
 * (SQLite: TEMP triggers that each connection creates at open, in
 * store/sqlite.c), so no code path that writes a row can forget it, and
 * no other program opening the file needs our SQL function. The triggers
 * call ipam_stamp(), which the engine answers with ipam__changed_stamp().
 *
 * The stamp of a transaction is computed once, at its first bump: the IPAM
 * clock (with the real nanoseconds when it shows the system's second), but at
 * least one nanosecond past the newest stamp stored (ipam.changed, kept as
 * the maximum of every stamp). Stamps therefore grow strictly from one
 * change to the next even when the clock is set, stands still or goes back,
 * so a copy taken between two changes always sees a different time (tools
 * that compare whole seconds see it when the second differs, as on any
 * filesystem with nanosecond times).
 *
 * What bumps what (docs/tree.md, "Times"):
 *  - every change-log line (every change): the ipam row;
 *  - an allocation row or its tags: the allocation and its pool (adding or
 *    releasing one also updates the pool's counters, which bumps the
 *    scope; no file of the scope shows the rest);
 *  - a pool row, its CIDRs or allocation rules: the pool and its scope; its
 *    tags: the pool; a pool created, deleted, renamed or moved: also its
 *    parent;
 *  - a resource row, its CIDRs or tags: the resource, its scope and the
 *    discovery that saw it (before and after the change);
 *  - a history row, a scope row or a scope's tags: the scope;
 *  - a discovery row: the discovery;
 *  - a prefix list's name, family, description, version (its resolved
 *    entries changed: a new version is made only then) or oldest version,
 *    its rules, targets or tags: the prefix list. Its `dirty` flag and the
 *    bookkeeping of members bump nothing.
 * Derived tables (free blocks, the scope's CIDR index and prefix counts)
 * change only together with one of these rows.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* The stamp a change made now gets, `last` being the newest stamp given:
 * the clock, with the real nanoseconds when it runs with the system's (the
 * system clock, or a settable clock left running: time(2) reads a coarse
 * clock that may still show the previous second, hence the one second of
 * slack), and never at or before `last`. */
static int64_t next_stamp(ipam *db, int64_t last)
{
	const int64_t ns = 1000000000LL;
	int64_t seconds = ipam__now(db);
	int64_t now = seconds * ns;
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) == 0 &&
	    (int64_t)ts.tv_sec - seconds <= 1 &&
	    seconds - (int64_t)ts.tv_sec <= 1)
		now = (int64_t)ts.tv_sec * ns + ts.tv_nsec;
	return now > last ? now : last + 1;
}

int64_t ipam__changed_stamp(ipam *db)
{
	if (db->stamp == 0)
		db->stamp = next_stamp(db, db->last_stamp);
	return db->stamp;
}

/*
 * The import's bulk allocator holds the per-row work of the rows it writes
 * (an allocation, its history record and its change event inserted) and
 * does it itself, once per batch: each row carries the stamp, and
 * ipam__changed_bulk bumps the pool, scope and IPAM (docs/design/import.md,
 * "Change times without per-row triggers"). A statement that fires a
 * trigger makes SQLite journal every page it touches: per allocation row
 * that was most of an import's time.
 */
int ipam__changed_hold(ipam *db, ipam_err *err)
{
	int rc;
	if (db->changed_held)
		return 0;
	rc = db->store->driver->hold_row_triggers(db->store, true, err);
	if (rc == 0)
		db->changed_held = 1;
	return rc;
}

int ipam__changed_resume(ipam *db, ipam_err *err)
{
	int rc;
	if (!db->changed_held)
		return 0;
	rc = db->store->driver->hold_row_triggers(db->store, false, err);
	if (rc == 0)
		db->changed_held = 0;
	return rc;
}

int ipam__changed_bulk(ipam *db, int64_t pool, int64_t scope, ipam_err *err)
{
	/* what the held triggers do per row for the pool (an allocation),
	 * the scope (a history record) and the IPAM (an event); the rows
	 * carry the stamp already */
	static const char *const sql[] = {
		"UPDATE pool SET changed = ?2 WHERE key = ?1"
		" AND changed <> ?2",
		"UPDATE scope SET changed = ?2 WHERE key = ?1"
		" AND changed <> ?2",
		"UPDATE ipam SET changed = ?2 WHERE ?1 >= 0"
		" AND changed <> ?2",
	};
	const int64_t keys[] = {pool, scope, 0};
	int64_t stamp = ipam__changed_stamp(db);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(sql) / sizeof(sql[0]); i++) {
		ipam_stmt *stmt = ipam__stmt(db, sql[i], err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, keys[i]);
		ipam__bind_int64(stmt, 2, stamp);
		rc = ipam__exec(db, stmt, err);
	}
	return rc;
}

int ipam__changed_flush(ipam *db, ipam_err *err)
{
	if (db->stamp == 0)
		return 0;
	ipam_stmt *stmt = ipam__stmt(
		db, "UPDATE ipam SET changed = ?1 WHERE changed < ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, db->stamp);
	return ipam__exec(db, stmt, err);
}

void ipam__changed_committed(ipam *db)
{
	if (db->stamp > db->last_stamp)
		db->last_stamp = db->stamp;
}

int ipam__changed_load(ipam *db, ipam_err *err)
{
	/* one statement in autocommit mode: no transaction to leave open */
	ipam_stmt *stmt = ipam__stmt(db, "SELECT changed FROM ipam", err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	rc = ipam__step(db, stmt, err);
	if (rc == IPAM_ROW)
		db->last_stamp = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	return rc < 0 ? rc
	       : rc == IPAM_DONE ? ipam__fail(err, IPAM_ESCHEMA, "no IPAM row")
				 : 0;
}

int ipam_changed(ipam *db, ipam_kind kind, int64_t key, int64_t *out,
		 ipam_err *err)
{
	static const char *const sql[] = {
		[IPAM_KIND_IPAM] = "SELECT changed FROM ipam WHERE ? >= 0",
		[IPAM_KIND_SCOPE] = "SELECT changed FROM scope WHERE key = ?",
		[IPAM_KIND_POOL] = "SELECT changed FROM pool WHERE key = ?",
		[IPAM_KIND_ALLOCATION] =
			"SELECT changed FROM allocation WHERE key = ?",
		[IPAM_KIND_DISCOVERY] =
			"SELECT changed FROM discovery WHERE key = ?",
		[IPAM_KIND_RESOURCE] =
			"SELECT changed FROM resource WHERE key = ?",
		[IPAM_KIND_PREFIX_LIST] =
			"SELECT touched FROM prefix_list WHERE key = ?",
		[IPAM_KIND_POLICY] = "SELECT changed FROM policy WHERE key = ?",
	};
	*out = 0;
	if ((unsigned)kind >= sizeof(sql) / sizeof(sql[0]))
		return ipam__fail(err, IPAM_EINVAL, "no such kind of object");
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	ipam_stmt *stmt = ipam__stmt(db, sql[kind], err);
	if (!stmt) {
		rc = ipam__stmt_error(err);
	} else {
		ipam__bind_int64(stmt, 1, key);
		rc = ipam__step(db, stmt, err);
		if (rc == 1)
			*out = ipam__col_int64(stmt, 0);
		rc = rc < 0    ? rc
		     : rc == 0 ? ipam__fail(err, IPAM_ENOENT, "no such object")
			       : 0;
		ipam__reset(stmt);
	}
	return ipam__read_end(db, rc);
}
