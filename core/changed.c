/*
 * changed.c - change times: when each object last changed what it shows.
 *
 * The ipam, scope, pool, allocation, resource and discovery rows carry a
 * `changed` column, a stamp in nanoseconds since the epoch (schema 3); the
 * prefix_list rows carry it as `touched` (schema 5: their `changed` is when
 * the latest version was made, in seconds). It
 * is bumped in the transaction of every change by TEMP triggers that this
 * connection creates at open, so no code path that writes a row can forget
 * it, and no other program opening the file needs our SQL function.
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

/* SQL function ipam_stamp(): the stamp of the current transaction. It runs
 * no SQL (it is called inside the statements of the change): the newest
 * stamp given is kept in the handle (db->last_stamp), the database's only
 * writer. */
static void sql_stamp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	ipam *db = sqlite3_user_data(ctx);
	(void)argc;
	(void)argv;
	if (db->stamp == 0)
		db->stamp = next_stamp(db, db->last_stamp);
	sqlite3_result_int64(ctx, db->stamp);
}

/* Sets the stamp, writing nothing when the row has it already. */
#define BUMP(table, where)                                                     \
	"UPDATE " table " SET changed = ipam_stamp() WHERE " where             \
	" AND changed IS NOT ipam_stamp();"
#define BUMP_PL(where)                                                         \
	"UPDATE prefix_list SET touched = ipam_stamp() WHERE " where           \
	" AND touched IS NOT ipam_stamp();"
#define BUMP_POOL(k)                                                           \
	BUMP("pool", "key = " k)                                               \
	BUMP("scope", "key = (SELECT scope_key FROM pool WHERE key = " k ")")
#define BUMP_RESOURCE(k)                                                       \
	BUMP("resource", "key = " k)                                           \
	BUMP("scope",                                                          \
	     "key = (SELECT scope_key FROM resource WHERE key = " k ")")       \
	BUMP("discovery",                                                      \
	     "key = (SELECT discovery_key FROM resource WHERE key = " k ")")
#define ALLOC_POOL(row)                                                        \
	"(SELECT pool_key FROM allocation WHERE aws_id = " row ".object_id)"
/* Triggers on every insert, update (except of `changed` alone) and delete
 * of `table`, running `ins_upd` with NEW and `del` with OLD. */
#define ON_ALL(name, table, ins_upd, del)                                      \
	"CREATE TEMP TRIGGER IF NOT EXISTS " name "_i AFTER INSERT ON " table  \
	" BEGIN " ins_upd " END",                                              \
		"CREATE TEMP TRIGGER IF NOT EXISTS " name                      \
		"_u AFTER UPDATE ON " table " BEGIN " ins_upd " END",          \
		"CREATE TEMP TRIGGER IF NOT EXISTS " name                      \
		"_d AFTER DELETE ON " table " BEGIN " del " END"
#define TRIGGER(name, when, body)                                              \
	"CREATE TEMP TRIGGER IF NOT EXISTS " name " AFTER " when               \
	" BEGIN " body " END"
/* "UPDATE OF @ ON t": every column of t but `changed`, filled in at setup
 * (update_columns). A bump, which sets `changed` alone, then fires no
 * trigger: trigger programs stay flat, which keeps a change cheap. */
#define ANY_UPDATE(table) "UPDATE OF @ ON " table

static const char *const triggers[] = {
	TRIGGER("ch_event", "INSERT ON event", BUMP("ipam", "1")),
	/* allocations */
	/* an allocation added or released also changes its pool's counters,
	 * whose update bumps the scope; no file of the scope shows the rest */
	TRIGGER("ch_alloc_i", "INSERT ON allocation",
		BUMP("allocation", "key = NEW.key")
			BUMP("pool", "key = NEW.pool_key")),
	TRIGGER("ch_alloc_u", ANY_UPDATE("allocation"),
		BUMP("allocation", "key = NEW.key")
			BUMP("pool", "key = NEW.pool_key")),
	TRIGGER("ch_alloc_d", "DELETE ON allocation",
		BUMP("pool", "key = OLD.pool_key")),
	/* pools */
	TRIGGER("ch_pool_i", "INSERT ON pool",
		BUMP_POOL("NEW.key") BUMP("pool", "key = NEW.parent_key")),
	TRIGGER("ch_pool_u", ANY_UPDATE("pool"), BUMP_POOL("NEW.key")),
	TRIGGER("ch_pool_m", "UPDATE OF name, parent_key ON pool",
		BUMP("pool", "key = NEW.parent_key")
			BUMP("pool", "key = OLD.parent_key")),
	TRIGGER("ch_pool_d", "DELETE ON pool",
		BUMP("pool", "key = OLD.parent_key")
			BUMP("scope", "key = OLD.scope_key")),
	ON_ALL("ch_pool_cidr", "pool_cidr", BUMP_POOL("NEW.pool_key"),
	       BUMP_POOL("OLD.pool_key")),
	ON_ALL("ch_pool_rule", "pool_rule_tag", BUMP_POOL("NEW.pool_key"),
	       BUMP_POOL("OLD.pool_key")),
	/* tags of scopes, pools and allocations */
	ON_ALL("ch_tag", "tag",
	       BUMP("scope", "aws_id = NEW.object_id")
		       BUMP("pool", "aws_id = NEW.object_id") BUMP(
			       "allocation", "aws_id = NEW.object_id")
			       BUMP("pool", "key = " ALLOC_POOL("NEW"))
				       BUMP_PL("aws_id = NEW.object_id"),
	       BUMP("scope", "aws_id = OLD.object_id")
		       BUMP("pool", "aws_id = OLD.object_id") BUMP(
			       "allocation", "aws_id = OLD.object_id")
			       BUMP("pool", "key = " ALLOC_POOL("OLD"))
				       BUMP_PL("aws_id = OLD.object_id")),
	/* resources */
	TRIGGER("ch_res_i", "INSERT ON resource", BUMP_RESOURCE("NEW.key")),
	TRIGGER("ch_res_u", ANY_UPDATE("resource"),
		BUMP_RESOURCE("NEW.key") BUMP("scope", "key = OLD.scope_key")
			BUMP("discovery", "key = OLD.discovery_key")),
	TRIGGER("ch_res_d", "DELETE ON resource",
		BUMP("scope", "key = OLD.scope_key")
			BUMP("discovery", "key = OLD.discovery_key")),
	ON_ALL("ch_res_cidr", "resource_cidr",
	       BUMP_RESOURCE("NEW.resource_key"),
	       BUMP_RESOURCE("OLD.resource_key")),
	ON_ALL("ch_res_tag", "resource_tag", BUMP_RESOURCE("NEW.resource_key"),
	       BUMP_RESOURCE("OLD.resource_key")),
	/* history, scopes, discoveries */
	ON_ALL("ch_history", "history", BUMP("scope", "key = NEW.scope_key"),
	       BUMP("scope", "key = OLD.scope_key")),
	TRIGGER("ch_scope_i", "INSERT ON scope",
		BUMP("scope", "key = NEW.key")),
	TRIGGER("ch_scope_u", ANY_UPDATE("scope"),
		BUMP("scope", "key = NEW.key")),
	TRIGGER("ch_disc_i", "INSERT ON discovery",
		BUMP("discovery", "key = NEW.key")),
	TRIGGER("ch_disc_u", ANY_UPDATE("discovery"),
		BUMP("discovery", "key = NEW.key")),
	/* prefix lists: settling sets `version` and `dirty` on every list
	 * it looked at, so compare values, not the columns set */
	TRIGGER("ch_pl_i", "INSERT ON prefix_list", BUMP_PL("key = NEW.key")),
	TRIGGER("ch_pl_u",
		"UPDATE ON prefix_list WHEN NEW.name IS NOT OLD.name"
		" OR NEW.family IS NOT OLD.family"
		" OR NEW.description IS NOT OLD.description"
		" OR NEW.version IS NOT OLD.version"
		" OR NEW.oldest IS NOT OLD.oldest",
		BUMP_PL("key = NEW.key")),
	ON_ALL("ch_pl_rule", "pl_rule", BUMP_PL("key = NEW.list_key"),
	       BUMP_PL("key = OLD.list_key")),
	ON_ALL("ch_pl_target", "pl_target", BUMP_PL("key = NEW.list_key"),
	       BUMP_PL("key = OLD.list_key")),
};

/*
 * `sql` with its "@" replaced by the columns of the table named after
 * " ON " that follows it, except `changed` and `history_key` (a link to the
 * history row, which no file shows) (sqlite3_malloc'd; NULL when out of
 * memory or when the table cannot be read).
 */
static char *update_columns(ipam *db, const char *sql)
{
	const char *at = strchr(sql, '@');
	if (!at)
		return sqlite3_mprintf("%s", sql);
	char table[32];
	if (sscanf(at, "@ ON %31[a-z_]", table) != 1)
		return NULL;
	char *pragma = sqlite3_mprintf("PRAGMA table_info(%s)", table);
	ipam_stmt *stmt = NULL;
	char *cols = NULL;
	bool failed = !pragma || sqlite3_prepare_v2(db->sql, pragma, -1, &stmt,
						    NULL) != SQLITE_OK;
	while (!failed && ipam__step_stmt(stmt) == IPAM_ROW) {
		const char *name = ipam__col_text(stmt, 1);
		if (!name) {
			failed = true;
		} else if (strcmp(name, "changed") != 0 &&
			   strcmp(name, "history_key") != 0) {
			char *more = sqlite3_mprintf("%s%s%s", cols ? cols : "",
						     cols ? ", " : "", name);
			sqlite3_free(cols);
			cols = more;
			failed = !more;
		}
	}
	sqlite3_finalize(stmt);
	sqlite3_free(pragma);
	char *out = failed || !cols
			    ? NULL
			    : sqlite3_mprintf("%.*s%s%s", (int)(at - sql), sql,
					      cols, at + 1);
	sqlite3_free(cols);
	return out;
}

int ipam__changed_ready(ipam *db, ipam_err *err)
{
	if (db->changed_ready)
		return 0;
	if (sqlite3_create_function(db->sql, "ipam_stamp", 0, SQLITE_UTF8, db,
				    sql_stamp, NULL, NULL) != SQLITE_OK)
		return ipam__sqlfail(db, err);
	/* Each trigger in its own statement and no transaction around them:
	 * a failure (out of memory) leaves nothing open. */
	int rc = 0;
	for (size_t i = 0;
	     rc == 0 && i < sizeof(triggers) / sizeof(triggers[0]); i++) {
		char *sql = update_columns(db, triggers[i]);
		if (!sql)
			rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
		else if (sqlite3_exec(db->sql, sql, NULL, NULL, NULL) !=
			 SQLITE_OK)
			rc = ipam__sqlfail(db, err);
		sqlite3_free(sql);
	}
	if (rc == 0)
		db->changed_ready = 1;
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
	ipam_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(db->sql, "SELECT changed FROM ipam", -1,
				    &stmt, NULL);
	if (rc == SQLITE_OK)
		rc = ipam__step_stmt(stmt);
	if (rc == IPAM_ROW)
		db->last_stamp = ipam__col_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return rc == IPAM_ROW ? 0 : ipam__sqlfail(db, err);
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
