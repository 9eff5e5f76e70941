/*
 * store.c - the engine-independent half of the storage seam: the
 * prepared-statement cache, the statement interface of store.h, the
 * brackets that make every public call one transaction (or a savepoint of
 * the caller's), the remove notification, ids, opening a handle and
 * migrating its schema. The engines live beside it (sqlite.c); this file
 * speaks to them only through their driver table (store.h).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#ifdef IPAMFS_HAVE_PG
#include "pg.h"
#endif

/* After the migrations (and the first objects of a new file): an object
 * whose change time is unknown takes the newest time the file knows, so a
 * copy made before the migration is never taken for current. */
static const char changed_fill_sql[] =
	"UPDATE ipam SET changed = 1000000000 * (SELECT max(t) FROM ("
	"  SELECT created AS t FROM ipam UNION ALL"
	"  SELECT coalesce(max(time), 0) FROM event) AS times)"
	"  WHERE changed = 0;"
	"UPDATE scope SET changed = (SELECT changed FROM ipam)"
	"  WHERE changed = 0;"
	"UPDATE pool SET changed = (SELECT changed FROM ipam)"
	"  WHERE changed = 0;"
	"UPDATE allocation SET changed = (SELECT changed FROM ipam)"
	"  WHERE changed = 0;"
	"UPDATE resource SET changed = (SELECT changed FROM ipam)"
	"  WHERE changed = 0;"
	"UPDATE discovery SET changed = (SELECT changed FROM ipam)"
	"  WHERE changed = 0;"
	"UPDATE prefix_list SET touched = (SELECT changed FROM ipam)"
	"  WHERE touched = 0;"
	"UPDATE policy SET changed = (SELECT changed FROM ipam)"
	"  WHERE changed = 0;";

/* The schema version every engine migrates to: each engine has one
 * migration per version (sqlite.c). */
#define SCHEMA_VERSION ipam__sqlite_schema_count()

int ipam_schema_version(void)
{
	return SCHEMA_VERSION;
}

int ipam__sqlfail(ipam *db, ipam_err *err)
{
	return db->store->driver->error(db->store, err);
}

/* The slot of `sql` in a table of `cap` slots (a power of two): where it
 * is, or the empty slot where it belongs. */
static struct ipam_stmt_slot *stmt_slot(struct ipam_stmt_slot *table,
					size_t cap, const char *sql)
{
	uint64_t h = (uint64_t)(uintptr_t)sql * 0x9e3779b97f4a7c15ULL;
	size_t i = (size_t)(h >> 32) & (cap - 1);

	while (table[i].literal && table[i].literal != sql)
		i = (i + 1) & (cap - 1);
	return &table[i];
}

/* Doubles the statement table (kept at most half full). */
static int stmt_grow(ipam *db)
{
	size_t cap = db->cache_cap ? db->cache_cap * 2 : 256;
	struct ipam_stmt_slot *table = calloc(cap, sizeof(*table));

	if (!table)
		return -1;
	for (size_t i = 0; i < db->cache_cap; i++)
		if (db->cache[i].literal)
			*stmt_slot(table, cap, db->cache[i].literal) =
				db->cache[i];
	free(db->cache);
	db->cache = table;
	db->cache_cap = cap;
	return 0;
}

ipam_stmt *ipam__stmt(ipam *db, const char *sql, ipam_err *err)
{
	struct ipam_stmt_slot *slot;
	ipam_stmt *stmt = NULL;
	bool counts;
	int rc;

	if (db->cache_cap) {
		slot = stmt_slot(db->cache, db->cache_cap, sql);
		if (slot->literal) {
			/* a statement naming a kept pool counter reads it
			 * written back (model/alloc.c) */
			if (slot->counts && db->counts.pool &&
			    ipam__counts_flush(db, err) != 0)
				return NULL;
			stmt = slot->stmt;
			ipam__reset(stmt);
			return stmt;
		}
	}
	counts = ipam__counts_named(sql);
	if (counts && db->counts.pool && ipam__counts_flush(db, err) != 0)
		return NULL;
	/* Never evicts: a statement a caller is stepping must stay alive.
	 * The table grows instead (the set of literals is finite). */
	if ((db->cached + 1) * 2 > db->cache_cap && stmt_grow(db) != 0) {
		ipam__oom = 1;
		ipam__fail(err, IPAM_ENOMEM, "out of memory");
		return NULL;
	}
	if ((rc = db->store->driver->prepare(db->store, sql, &stmt, err))) {
		if (rc == IPAM_ENOMEM)
			ipam__oom = 1;
		return NULL;
	}
	slot = stmt_slot(db->cache, db->cache_cap, sql);
	slot->literal = sql;
	slot->stmt = stmt;
	slot->counts = counts;
	db->cached++;
	return stmt;
}

/* ---- the statement interface (store.h) ---- */

int ipam__stmt_error(const ipam_err *err)
{
	if (err && err->code)
		return err->code;
	return ipam__oom ? IPAM_ENOMEM : IPAM_EIO;
}

/* A bind that ran out of memory leaves a parameter unset: the statement
 * must not run (ipam__step refuses while the flag is up). Binding an index
 * the statement does not have is IPAM_EINVAL and changes nothing (generic
 * helpers such as import.c's sql_run bind more than some statements
 * use). */
static int bound(int rc)
{
	if (rc == IPAM_ENOMEM)
		ipam__oom = 1;
	return rc;
}

int ipam__bind_int64(ipam_stmt *stmt, int idx, int64_t value)
{
	return bound(stmt->driver->bind_int64(stmt, idx, value));
}

int ipam__bind_int(ipam_stmt *stmt, int idx, int value)
{
	return bound(stmt->driver->bind_int64(stmt, idx, value));
}

int ipam__bind_text(ipam_stmt *stmt, int idx, const char *text, int n)
{
	return bound(stmt->driver->bind_text(stmt, idx, text, n));
}

int ipam__bind_blob(ipam_stmt *stmt, int idx, const void *blob, int n)
{
	return bound(stmt->driver->bind_blob(stmt, idx, blob, n));
}

int ipam__bind_null(ipam_stmt *stmt, int idx)
{
	return bound(stmt->driver->bind_null(stmt, idx));
}

int64_t ipam__col_int64(ipam_stmt *stmt, int col)
{
	return stmt->driver->col_int64(stmt, col);
}

int ipam__col_int(ipam_stmt *stmt, int col)
{
	return (int)stmt->driver->col_int64(stmt, col);
}

const char *ipam__col_text(ipam_stmt *stmt, int col)
{
	const char *text = stmt->driver->col_text(stmt, col);
	if (!text && stmt->driver->col_type(stmt, col) != IPAM_COL_NULL)
		ipam__oom = 1;
	return text;
}

const void *ipam__col_blob(ipam_stmt *stmt, int col)
{
	return stmt->driver->col_blob(stmt, col);
}

int ipam__col_bytes(ipam_stmt *stmt, int col)
{
	return stmt->driver->col_bytes(stmt, col);
}

ipam_coltype ipam__col_type(ipam_stmt *stmt, int col)
{
	return stmt->driver->col_type(stmt, col);
}

int ipam__step_stmt(ipam_stmt *stmt)
{
	return stmt->driver->step(stmt, NULL);
}

void ipam__reset(ipam_stmt *stmt)
{
	stmt->driver->reset(stmt);
}

int64_t ipam__changes(ipam *db)
{
	return db->store->driver->changes(db->store);
}

int64_t ipam__last_insert_id(ipam *db)
{
	return db->store->driver->last_insert_id(db->store);
}

int ipam__step(ipam *db, ipam_stmt *stmt, ipam_err *err)
{
	/* A value that never reached the engine (a failed bind) or never
	 * came back: running the statement would act on NULL. */
	if (ipam__oom)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	/* Inside a bracket the engine must still hold the transaction; after
	 * an I/O or memory error it may have rolled it back by itself (SQLite
	 * does), and a statement run now would commit on its own. */
	if ((db->depth > 0 || db->txn_open) &&
	    !db->store->driver->in_transaction(db->store))
		return ipam__fail(err, IPAM_EIO,
				  "the transaction was rolled back after a "
				  "storage failure");
	return stmt->driver->step(stmt, err);
}

int ipam__exec(ipam *db, ipam_stmt *stmt, ipam_err *err)
{
	int rc = ipam__step(db, stmt, err);
	ipam__reset(stmt);
	return rc < 0 ? rc : 0;
}

int ipam__exec_sql(ipam *db, const char *sql, ipam_err *err)
{
	return db->store->driver->exec(db->store, sql, err);
}

int ipam__collect_text(ipam *db, ipam_stmt *stmt, ipam_strlist *out,
		       ipam_err *err)
{
	int rc = 0, step = 0;

	memset(out, 0, sizeof(*out));
	if (!stmt)
		return err && err->code ? err->code : IPAM_EIO;
	while (rc == 0 && (step = ipam__step(db, stmt, err)) == 1)
		rc = ipam__strlist_push(out, ipam__col_text(stmt, 0));
	ipam__reset(stmt);
	if (rc)
		rc = ipam__fail(err, rc, "out of memory");
	else if (step < 0)
		rc = step;
	if (rc)
		ipam_strlist_free(out);
	return rc;
}

int ipam__collect_keys(ipam *db, ipam_stmt *stmt, int64_t **out, size_t *count,
		       ipam_err *err)
{
	int64_t *list = NULL;
	size_t n = 0, cap = 0;
	int step;

	*out = NULL;
	*count = 0;
	if (!stmt)
		return err && err->code ? err->code : IPAM_EIO;
	while ((step = ipam__step(db, stmt, err)) == 1) {
		if (n == cap) {
			int64_t *grown;
			cap = cap ? cap * 2 : 16;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				step = ipam__fail(err, IPAM_ENOMEM,
						  "out of memory");
				break;
			}
			list = grown;
		}
		list[n++] = ipam__col_int64(stmt, 0);
	}
	ipam__reset(stmt);
	if (step < 0) {
		free(list);
		return step;
	}
	*out = list;
	*count = n;
	return 0;
}

static int64_t system_clock(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL);
}

int64_t ipam__now(ipam *db)
{
	return db->clock(db->clock_ctx);
}

int64_t ipam_now(ipam *db)
{
	return ipam__now(db);
}

/* ---- call brackets ---- */

_Thread_local int ipam__oom;

static const char *const control_sql[] = {
	"BEGIN",
	"BEGIN IMMEDIATE",
	"COMMIT",
	"ROLLBACK",
	"SAVEPOINT ipam_call",
	"RELEASE ipam_call",
	"ROLLBACK TO ipam_call",
	"SELECT coalesce(max(seq), 0) FROM event",
};

/* Runs a transaction-control statement through the statement cache (the
 * brackets run several per call: parsing them each time would cost more
 * than many of the calls themselves). They are prepared when the handle
 * opens, so undoing a transaction never needs memory. */
static int control(ipam *db, const char *sql, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, sql, err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	/* Straight to the engine: undoing must work when ipam__oom is up. */
	rc = stmt->driver->step(stmt, err);
	ipam__reset(stmt);
	return rc < 0 ? rc : 0;
}

/* An engine may roll a transaction back by itself after some I/O and
 * memory errors (SQLite does): then no transaction is open any more. */
static bool in_transaction(ipam *db)
{
	return db->store->driver->in_transaction(db->store);
}

/* Undoes the whole transaction, whatever state SQLite is in. */
static void forget_removals(ipam *db)
{
	db->stamp = 0;
	db->n_removed = 0;
	db->removed_lost = 0;
}

static void rollback_all(ipam *db)
{
	if (in_transaction(db) && control(db, "ROLLBACK", NULL) &&
	    in_transaction(db))
		db->store->driver->exec(db->store, "ROLLBACK", NULL);
	db->events_logged = 0;
	db->ids = IDS_OFF;
	memset(&db->counts, 0, sizeof(db->counts));
	forget_removals(db);
}

/* The tables whose rows the remove hook reports, and their kinds. */
static const struct {
	const char *table;
	ipam_kind kind;
} removal_tables[] = {
	{"allocation", IPAM_KIND_ALLOCATION}, {"pool", IPAM_KIND_POOL},
	{"resource", IPAM_KIND_RESOURCE},     {"scope", IPAM_KIND_SCOPE},
	{"discovery", IPAM_KIND_DISCOVERY},
};

/* The engine's delete hook: remembers the deleted rows of removal_tables.
 * A savepoint rolled back inside the transaction leaves its rows in the
 * list: reporting a row that still exists only costs the kernel a lookup. */
static void note_removal(void *ctx, const char *table, int64_t rowid)
{
	ipam *db = ctx;
	if (db->removed_lost)
		return;
	for (size_t i = 0;
	     i < sizeof(removal_tables) / sizeof(removal_tables[0]); i++) {
		if (strcmp(table, removal_tables[i].table) != 0)
			continue;
		if (db->n_removed == db->cap_removed) {
			size_t cap = db->cap_removed ? 2 * db->cap_removed : 16;
			struct ipam_removal *grown =
				realloc(db->removed, cap * sizeof(*grown));
			if (!grown) {
				db->removed_lost = 1;
				return;
			}
			db->removed = grown;
			db->cap_removed = cap;
		}
		db->removed[db->n_removed].kind = removal_tables[i].kind;
		db->removed[db->n_removed].key = rowid;
		db->n_removed++;
		return;
	}
}

/* After COMMIT: tells the remove hook what the transaction deleted. */
static void report_removals(ipam *db)
{
	if (db->remove_hook && db->removed_lost)
		db->remove_hook(db->remove_ctx, IPAM_KIND_IPAM, 0);
	else if (db->remove_hook)
		for (size_t i = 0; i < db->n_removed; i++)
			db->remove_hook(db->remove_ctx, db->removed[i].kind,
					db->removed[i].key);
	forget_removals(db);
}

/* Before COMMIT: the sequence number of the newest change, read inside the
 * transaction so that a failure here fails the commit. */
static int newest_event(ipam *db, int64_t *out, ipam_err *err)
{
	ipam_stmt *stmt;
	int rc;
	*out = db->last_event;
	if (!db->events_logged)
		return 0;
	stmt = ipam__stmt(db, "SELECT coalesce(max(seq), 0) FROM event", err);
	if (!stmt)
		return err && err->code ? err->code : IPAM_EIO;
	rc = ipam__step(db, stmt, err);
	if (rc == 1)
		*out = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	return rc < 0 ? rc : 0;
}

/*
 * The code a call returns agrees with the reason it gives, and a column
 * that could not be read (sqlite3_column_* gives NULL when out of memory)
 * turns the call into IPAM_ENOMEM, so no decision is made on a value that
 * was never read.
 */
static int settle(int rc, ipam_err *err)
{
	/* The flag stays up until the outermost bracket ends: a nested call
	 * whose error its caller ignores must not hide it. */
	if (ipam__oom) {
		if (err) {
			err->code = IPAM_ENOMEM;
			snprintf(err->msg, sizeof(err->msg), "out of memory");
		}
		return IPAM_ENOMEM;
	}
	if (rc && err && err->code && err->code != rc)
		return err->code;
	return rc;
}

static int ids_flush(ipam *db, ipam_err *err);

/* Commits the outermost transaction, or undoes it on any failure. */
static int finish_transaction(ipam *db, int rc, ipam_err *err)
{
	int64_t newest = db->last_event;
	bool changed = db->events_logged > 0;

	rc = settle(rc, err);
	if (rc == 0 && !in_transaction(db))
		rc = ipam__fail(err, IPAM_EIO,
				"the transaction was rolled back after a "
				"storage failure");
	if (rc == 0 && changed)
		rc = settle(ipam__plist_settle(db, err), err);
	if (rc == 0)
		rc = settle(ipam__public_settle(db, err), err);
	if (rc == 0)
		rc = settle(ipam__counts_flush(db, err), err);
	if (rc == 0)
		rc = settle(ids_flush(db, err), err);
	if (rc == 0)
		rc = ipam__changed_flush(db, err);
	if (rc == 0)
		rc = newest_event(db, &newest, err);
	if (rc == 0 && control(db, "COMMIT", err) != 0)
		rc = err && err->code ? err->code : IPAM_EIO;
	if (rc) {
		rollback_all(db);
		ipam__oom = 0;
		return rc;
	}
	ipam__oom = 0;
	db->commit_first = newest - db->events_logged + 1;
	db->events_logged = 0;
	db->ids = IDS_OFF;
	ipam__changed_committed(db);
	if (changed) {
		db->last_event = newest;
		if (db->hook)
			db->hook(db->hook_ctx, db->last_event);
	}
	report_removals(db);
	return 0;
}

int ipam__write_begin(ipam *db, ipam_err *err)
{
	int rc;
	pthread_mutex_lock(&db->lock);
	if (db->depth == 0 && !db->txn_open) {
		ipam__oom = 0;
		/* before BEGIN: an engine may take the transaction's stamp
		 * there (PostgreSQL's pg_control) */
		forget_removals(db);
		rc = control(db, "BEGIN IMMEDIATE", err);
		if (rc == 0) {
			db->actor = db->default_actor;
			db->events_logged = 0;
			db->history_floor = -1;
			db->ids = IDS_UNREAD;
		}
	} else if (!in_transaction(db)) {
		rc = ipam__fail(err, IPAM_EIO,
				"the transaction was rolled back after a "
				"storage failure");
	} else {
		/* what the kept pool counters are when the savepoint begins
		 * (restored if it is rolled back); nested deeper than there
		 * is room for, they are written back first */
		rc = 0;
		if (db->depth >= IPAM__COUNTS_DEPTH)
			rc = ipam__counts_flush(db, err);
		else
			db->counts_saved[db->depth] = db->counts;
		if (rc == 0)
			rc = control(db, "SAVEPOINT ipam_call", err);
	}
	if (rc) {
		pthread_mutex_unlock(&db->lock);
		return rc;
	}
	db->depth++;
	return 0;
}

int ipam__write_end(ipam *db, int rc, ipam_err *err)
{
	rc = settle(rc, err);
	db->depth--;
	if (db->depth == 0 && !db->txn_open) {
		rc = finish_transaction(db, rc, err);
	} else if (rc != 0) {
		if (in_transaction(db)) {
			control(db, "ROLLBACK TO ipam_call", NULL);
			control(db, "RELEASE ipam_call", NULL);
		}
		if (db->depth < IPAM__COUNTS_DEPTH)
			db->counts = db->counts_saved[db->depth];
		else
			memset(&db->counts, 0, sizeof(db->counts));
	} else if (control(db, "RELEASE ipam_call", err) != 0) {
		rc = settle(IPAM_EIO, err);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int ipam__read_begin(ipam *db, ipam_err *err)
{
	pthread_mutex_lock(&db->lock);
	if (db->depth == 0 && !db->txn_open) {
		int rc;
		ipam__oom = 0;
		rc = control(db, "BEGIN", err);
		if (rc) {
			pthread_mutex_unlock(&db->lock);
			return rc;
		}
	}
	db->depth++;
	return 0;
}

int ipam__read_end(ipam *db, int rc)
{
	rc = settle(rc, NULL);
	db->depth--;
	if (db->depth == 0 && !db->txn_open) {
		if (in_transaction(db))
			control(db, "COMMIT", NULL);
		ipam__oom = 0;
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int ipam_txn_begin(ipam *db, const ipam_actor *who, ipam_err *err)
{
	int rc;
	pthread_mutex_lock(&db->lock);
	if (db->txn_open || db->depth) {
		pthread_mutex_unlock(&db->lock);
		return ipam__fail(err, IPAM_EINVAL,
				  "a transaction is already open");
	}
	ipam__oom = 0;
	forget_removals(db); /* before BEGIN, as in ipam__write_begin */
	rc = control(db, "BEGIN IMMEDIATE", err);
	if (rc) {
		pthread_mutex_unlock(&db->lock);
		return rc;
	}
	db->txn_open = 1;
	db->events_logged = 0;
	db->history_floor = -1;
	db->ids = IDS_UNREAD;
	db->actor = who ? *who : db->default_actor;
	return 0; /* the lock stays held until commit or rollback */
}

int ipam_txn_commit(ipam *db, ipam_err *err)
{
	int rc = finish_transaction(db, 0, err);
	db->txn_open = 0;
	pthread_mutex_unlock(&db->lock);
	return rc;
}

void ipam_txn_rollback(ipam *db)
{
	rollback_all(db);
	ipam__oom = 0;
	db->txn_open = 0;
	pthread_mutex_unlock(&db->lock);
}

void ipam_set_default_actor(ipam *db, const ipam_actor *who)
{
	pthread_mutex_lock(&db->lock);
	db->default_actor = *who;
	pthread_mutex_unlock(&db->lock);
}

void ipam_set_change_hook(ipam *db, ipam_change_hook hook, void *ctx)
{
	pthread_mutex_lock(&db->lock);
	db->hook = hook;
	db->hook_ctx = ctx;
	pthread_mutex_unlock(&db->lock);
}

int64_t ipam_commit_first_event(ipam *db)
{
	pthread_mutex_lock(&db->lock);
	int64_t first = db->commit_first;
	pthread_mutex_unlock(&db->lock);
	return first;
}

bool ipam_shared(ipam *db)
{
	return db->store->driver->wait_others != NULL;
}

/* What ipam_wait_others hands the engine: the caller's hook, which takes
 * kinds where the engine names tables. */
struct others_removed {
	ipam_remove_hook hook;
	void *ctx;
};

/* The engine's report of a row another connection deleted (table NULL:
 * anything may be gone), as the caller's remove hook takes it. A table
 * that is none of removal_tables (a newer sender's) may be anything. */
static void other_removal(void *ctx, const char *table, int64_t key)
{
	struct others_removed *r = ctx;
	for (size_t i = 0;
	     table && i < sizeof(removal_tables) / sizeof(removal_tables[0]);
	     i++) {
		if (strcmp(table, removal_tables[i].table) == 0) {
			r->hook(r->ctx, removal_tables[i].kind, key);
			return;
		}
	}
	r->hook(r->ctx, IPAM_KIND_IPAM, 0);
}

int ipam_wait_others(ipam *db, int timeout_ms, ipam_remove_hook removed,
		     void *ctx, ipam_err *err)
{
	int64_t last = 0;
	int rc;
	struct others_removed r = {removed, ctx};
	if (!db->store->driver->wait_others)
		return ipam__fail(err, IPAM_EINVAL,
				  "no other writers of this database");
	/* without the core lock: the engine's waiting connection is its
	 * own, and the handle's closes only after the waiting thread ended */
	rc = db->store->driver->wait_others(db->store, timeout_ms, &last,
					    removed ? other_removal : NULL, &r,
					    err);
	if (rc == 1 && last > 0) {
		pthread_mutex_lock(&db->lock);
		if (last > db->last_event)
			db->last_event = last;
		pthread_mutex_unlock(&db->lock);
	}
	return rc;
}

void ipam_set_remove_hook(ipam *db, ipam_remove_hook hook, void *ctx)
{
	pthread_mutex_lock(&db->lock);
	db->remove_hook = hook;
	db->remove_ctx = ctx;
	forget_removals(db);
	/* a shared database's engine always needs the rows deleted: its
	 * notifications carry them to the other writers */
	db->store->driver->set_delete_hook(
		db->store, hook || ipam_shared(db) ? note_removal : NULL, db);
	pthread_mutex_unlock(&db->lock);
}

int ipam_check(ipam *db, ipam_err *err)
{
	int rc;
	pthread_mutex_lock(&db->lock);
	rc = db->store->driver->check(db->store, err);
	if (rc == 0 && (rc = ipam__read_begin(db, err)) == 0)
		rc = ipam__read_end(db, ipam__public_check(db, err));
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* ---- ids ---- */

static uint64_t splitmix64(uint64_t x)
{
	uint64_t z = x + 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * The id counter and the salt, as the IPAM's row holds them. In a write
 * transaction of the brackets the counter is read once and then kept in
 * the handle, written back once before COMMIT (ids_flush): a batch of
 * many changes updates the IPAM's row once, not once per id (on
 * PostgreSQL every version of a row the transaction wrote is walked by
 * its next reads of that row). Elsewhere (the migration that creates the
 * IPAM) each id is an UPDATE of the row, as before.
 */
static int id_counter_read(ipam *db, uint64_t *counter, uint64_t *salt,
			   ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db, "SELECT id_counter, id_salt FROM ipam WHERE id = 1", err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		*counter = (uint64_t)ipam__col_int64(stmt, 0);
		*salt = (uint64_t)ipam__col_int64(stmt, 1);
	}
	ipam__reset(stmt);
	if (rc == 1)
		return 0;
	return rc < 0 ? rc : ipam__fail(err, IPAM_EIO, "no IPAM row");
}

/* Before COMMIT: the kept id counter back into the IPAM's row. */
static int ids_flush(ipam *db, ipam_err *err)
{
	ipam_stmt *stmt;
	if (db->ids != IDS_KEPT)
		return 0;
	stmt = ipam__stmt(db, "UPDATE ipam SET id_counter = ?1 WHERE id = 1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, (int64_t)db->id_counter);
	return ipam__exec(db, stmt, err);
}

/*
 * Ids are a per-database counter run through a bijective mixer keyed by a
 * per-database salt: unique by construction, random-looking like AWS ids,
 * reproducible when the salt is fixed (ipam_open_opts.id_seed).
 */
int ipam__new_id(ipam *db, const char *prefix, bool long_id,
		 char out[IPAM_ID_MAX], ipam_err *err)
{
	uint64_t counter = 0, salt = 0, a;
	int rc;

	if (db->ids == IDS_OFF) {
		/* UPDATE, then SELECT: UPDATE ... RETURNING builds and drops
		 * an ephemeral table on every call (malloc churn that glibc
		 * trims with brk(2) each time; see docs/bench.md). */
		ipam_stmt *stmt = ipam__stmt(db,
					     "UPDATE ipam SET id_counter ="
					     " id_counter + 1 WHERE id = 1",
					     err);
		if (!stmt)
			return ipam__stmt_error(err);
		if ((rc = ipam__exec(db, stmt, err)) ||
		    (rc = id_counter_read(db, &counter, &salt, err)))
			return rc;
	} else {
		if (db->ids == IDS_UNREAD) {
			if ((rc = id_counter_read(db, &db->id_counter,
						  &db->id_salt, err)))
				return rc;
			db->ids = IDS_KEPT;
		}
		counter = ++db->id_counter;
		salt = db->id_salt;
	}
	a = splitmix64(counter ^ salt);
	if (long_id)
		snprintf(out, IPAM_ID_MAX, "%s%016llx%016llx", prefix,
			 (unsigned long long)a,
			 (unsigned long long)splitmix64(a ^ salt));
	else
		snprintf(out, IPAM_ID_MAX, "%s0%016llx", prefix,
			 (unsigned long long)a);
	return 0;
}

/* ---- opening ---- */

int ipam__random(void *out, size_t len, ipam_err *err)
{
	ssize_t got = getrandom(out, len, 0);
	if (got < 0 || (size_t)got != len)
		return ipam__fail(err, IPAM_EIO,
				  "cannot read random bytes: getrandom failed");
	return 0;
}

static uint64_t fresh_salt(const ipam_open_opts *opts)
{
	uint64_t salt = 0;
	if (opts && opts->id_seed)
		return opts->id_seed;
	if (getrandom(&salt, sizeof(salt), 0) != sizeof(salt)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		salt = splitmix64((uint64_t)ts.tv_nsec ^
				  ((uint64_t)ts.tv_sec << 30) ^
				  ((uint64_t)getpid() << 48));
	}
	return salt;
}

/* Fills a new database: the IPAM row, its locale, quotas, two scopes. */
static int initialise(ipam *db, const ipam_open_opts *opts, ipam_err *err)
{
	const char *home = opts && opts->home_locale ? opts->home_locale
						     : "local";
	char id[IPAM_ID_MAX], ipam_id[IPAM_ID_MAX];
	ipam_stmt *stmt;
	int64_t now = ipam__now(db);
	uint64_t salt = fresh_salt(opts);
	int rc = ipam__check_locale(home, err);

	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "INSERT INTO ipam(id, aws_id, home_locale, owner_uid,"
			  " created, id_salt) VALUES (1, '', ?1, ?2, ?3, ?4)",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, home, -1);
	ipam__bind_int64(stmt, 2, getuid());
	ipam__bind_int64(stmt, 3, now);
	ipam__bind_int64(stmt, 4, (int64_t)salt);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	if ((rc = ipam__new_id(db, "ipam-", false, ipam_id, err)))
		return rc;
	stmt = ipam__stmt(db, "UPDATE ipam SET aws_id = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, ipam_id, -1);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	stmt = ipam__stmt(db, "INSERT INTO locale(name) VALUES (?1)", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, home, -1);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	rc = ipam__exec_sql(db,
			    "INSERT INTO quota(name, value) VALUES"
			    " ('scopes', 5), ('pools-per-scope', 50),"
			    " ('cidrs-per-pool', 50), ('pool-depth', 10)",
			    err);
	for (int pub = 0; pub < 2 && rc == 0; pub++) {
		rc = ipam__new_id(db, "ipam-scope-", false, id, err);
		if (rc)
			break;
		stmt = ipam__stmt(db,
				  "INSERT INTO scope(aws_id, name, is_public,"
				  " is_default, created, uid, gid, mode)"
				  " VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7)",
				  err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_text(stmt, 1, id, -1);
		ipam__bind_text(stmt, 2, pub ? "public" : "private", -1);
		ipam__bind_int(stmt, 3, pub);
		ipam__bind_int64(stmt, 4, now);
		ipam__bind_int64(stmt, 5, getuid());
		ipam__bind_int64(stmt, 6, getgid());
		ipam__bind_int(stmt, 7, IPAM_MODE_NEW);
		rc = ipam__exec(db, stmt, err);
	}
	if (rc == 0) {
		json_t *d = json_pack("{s:s}", "home-locale", home);
		rc = ipam__event(db, "create-ipam", ipam_id, d, err);
	}
	return rc;
}

/* Brings the schema from `version` to SCHEMA_VERSION in one transaction;
 * version 0 also initialises the IPAM. */
static int migrate(ipam *db, int64_t version, const ipam_open_opts *opts,
		   ipam_err *err)
{
	int rc = ipam__exec_sql(db, "BEGIN IMMEDIATE", err);

	if (rc == 0)
		rc = db->store->driver->migrate(db->store, version,
						SCHEMA_VERSION, err);
	if (rc == 0 && version == 0)
		rc = initialise(db, opts, err);
	if (rc == 0 && version < 2)
		rc = ipam__discovery_builtins(db, err);
	if (rc == 0 && version < 3)
		rc = ipam__exec_sql(db, changed_fill_sql, err);
	if (rc == 0) /* the kept public IP counts a migration marked */
		rc = ipam__public_settle(db, err);
	if (rc == 0)
		rc = ipam__counts_flush(db, err);
	if (rc == 0)
		rc = ipam__exec_sql(db, "COMMIT", err);
	if (rc)
		db->store->driver->exec(db->store, "ROLLBACK", NULL);
	return rc;
}

/*
 * jansson reports a failed allocation inside json_pack or json_object_set
 * only through return values that are easy to lose, and a JSON view or a
 * change-log entry missing a field is a wrong answer, not an error. So
 * libipam chains jansson's allocator (whatever it is when the first
 * handle opens) and raises ipam__oom when it fails: the call then ends in
 * IPAM_ENOMEM and its transaction is undone.
 */
static json_malloc_t jansson_malloc;

static void *watched_malloc(size_t size)
{
	void *p = jansson_malloc(size);
	if (!p)
		ipam__oom = 1;
	return p;
}

static void watch_jansson(void)
{
	static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
	json_malloc_t current;
	json_free_t release;

	pthread_mutex_lock(&once);
	json_get_alloc_funcs(&current, &release);
	if (current != watched_malloc) {
		jansson_malloc = current;
		json_set_alloc_funcs(watched_malloc, release);
	}
	pthread_mutex_unlock(&once);
}

static void recursive_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
}

static void close_store(ipam *db, bool discard);

/* A postgresql:// (or postgres://) URI names a PostgreSQL database
 * (docs/design/pg.md); anything else is a SQLite file. */
static bool is_pg_uri(const char *path)
{
	return path && (!strncmp(path, "postgresql://", 13) ||
			!strncmp(path, "postgres://", 11));
}

static int open_engine(ipam_store **out, const ipam_store_open *how,
		       ipam_err *err)
{
	if (!how->in_memory && is_pg_uri(how->path)) {
#ifdef IPAMFS_HAVE_PG
		return ipam__pg_open(out, how->path, err);
#else
		*out = NULL;
		return ipam__fail(err, IPAM_EINVAL,
				  "'%s': this ipamfs is built without "
				  "PostgreSQL (libpq)",
				  how->path);
#endif
	}
	return ipam__sqlite_open(out, how, err);
}

/* The stamp of the current transaction, for the engine's ipam_stamp()
 * (changed.c computes it). */
static int64_t stamp_of(void *ctx)
{
	return ipam__changed_stamp(ctx);
}

int ipam_open(ipam **out, const char *path, const ipam_open_opts *opts,
	      ipam_err *err)
{
	ipam_store_open how = {
		.path = path,
		.create = opts && opts->create,
		.in_memory = opts && opts->in_memory,
		.skip_check = opts && opts->skip_check,
		.sync_normal = opts && opts->sync_normal,
		.home_locale = opts ? opts->home_locale : NULL,
	};
	int64_t version = 0;
	ipam *db;
	int rc;

	*out = NULL;
	watch_jansson();
	ipam__oom = 0;
	db = calloc(1, sizeof(*db));
	if (!db)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	recursive_mutex_init(&db->lock);
	db->clock = opts && opts->clock ? opts->clock : system_clock;
	db->clock_ctx = opts ? opts->clock_ctx : NULL;
	db->default_actor.uid = getuid();
	db->default_actor.gid = getgid();
	db->default_actor.pid = getpid();
	db->actor = db->default_actor;

	rc = open_engine(&db->store, &how, err);
	if (rc == 0)
		rc = db->store->driver->schema_version(db->store, &version,
						       err);
	if (rc == 0 && version < SCHEMA_VERSION)
		rc = migrate(db, version, opts, err);
	if (rc)
		goto fail;
	/* before the statements below are prepared: the engine's
	 * per-connection schema (SQLite's TEMP triggers) would expire them */
	if ((rc = db->store->driver->session(db->store, stamp_of, db, err)) ||
	    (rc = ipam__changed_load(db, err)))
		goto fail;
	/* other writers learn what this handle's transactions delete from
	 * its notifications (ipam_wait_others): the engine reads the rows
	 * back whether or not a remove hook is set */
	if (ipam_shared(db))
		db->store->driver->set_delete_hook(db->store, note_removal, db);
	for (size_t i = 0; i < sizeof(control_sql) / sizeof(control_sql[0]);
	     i++) {
		if (!ipam__stmt(db, control_sql[i], err)) {
			rc = ipam__stmt_error(err);
			goto fail;
		}
	}
	{
		ipam_stmt *stmt = ipam__stmt(
			db, "SELECT coalesce(max(seq), 0) FROM event", err);
		if (!stmt) {
			rc = ipam__stmt_error(err);
			goto fail;
		}
		if (ipam__step(db, stmt, NULL) == IPAM_ROW)
			db->last_event = ipam__col_int64(stmt, 0);
		ipam__reset(stmt);
	}
	*out = db;
	return 0;
fail:
	if (db->store)
		close_store(db, true);
	ipam_free(db);
	return rc;
}

/* Makes every committed change durable (a no-op for an engine whose
 * commits are durable already). */
int ipam_sync(ipam *db, ipam_err *err)
{
	int rc = 0;
	pthread_mutex_lock(&db->lock);
	if (db->txn_open || db->depth)
		rc = ipam__fail(err, IPAM_EINVAL, "a transaction is open");
	else
		rc = db->store->driver->sync(db->store, err);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* A consistent copy of the whole database as of now (one read
 * transaction), in malloc'd memory: a database that opens (and mounts) on
 * its own. */
int ipam_backup(ipam *db, unsigned char **out, size_t *len, ipam_err *err)
{
	int rc = ipam__read_begin(db, err);

	*out = NULL;
	*len = 0;
	if (rc)
		return rc;
	rc = db->store->driver->backup(db->store, out, len, err);
	rc = ipam__read_end(db, rc);
	if (rc) {
		free(*out);
		*out = NULL;
		*len = 0;
	}
	return rc;
}

/* What ipam_backup would return now. */
int64_t ipam_backup_size(ipam *db)
{
	int64_t size;
	pthread_mutex_lock(&db->lock);
	size = db->store->driver->size(db->store);
	pthread_mutex_unlock(&db->lock);
	return size;
}

/* Finalizes the cached statements and closes the connection (`discard`:
 * removing a database the open created). */
static void close_store(ipam *db, bool discard)
{
	for (size_t i = 0; i < db->cache_cap; i++)
		if (db->cache[i].literal)
			db->store->driver->finalize(db->cache[i].stmt);
	free(db->cache);
	db->cache = NULL;
	db->cache_cap = db->cached = 0;
	if (db->store)
		db->store->driver->close(db->store, discard);
	db->store = NULL;
}

void ipam_free(ipam *db)
{
	if (!db)
		return;
	if (db->store)
		close_store(db, false);
	pthread_mutex_destroy(&db->lock);
	free(db->removed);
	free(db);
}
