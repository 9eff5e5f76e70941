/*
 * store.c - the SQLite side of libipam: opening and validating a database,
 * the schema and its migrations, the prepared-statement cache, and the
 * brackets that make every public call one transaction.
 *
 * A database belongs to ipamfs when its application_id is IPAM_APP_ID; its
 * user_version is the schema version. Opening refuses, without writing a
 * byte, files that are not SQLite, are corrupt, belong to another program
 * or come from a newer ipamfs. An older schema is migrated in one
 * transaction, and a file that fails PRAGMA quick_check is refused.
 * A new database (and its -wal) is created mode 0600; an empty (0-byte)
 * file or a dangling symbolic link is refused rather than set up.
 * Connections run in WAL mode with foreign keys on and hold an exclusive
 * lock on the file from open to close, so a second process (another
 * mount) is refused at once with the pid of the holder. synchronous=FULL
 * by default: a committed transaction is on stable storage before the
 * call returns (ipam_open_opts.sync_normal trades that for speed: then a
 * power cut may lose the newest commits, never corrupt the file, and
 * ipam_sync makes everything committed durable).
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

#define IPAM_APP_ID 0x49504d46 /* "IPMF" */

/*
 * Schema, one entry per version: migrations[i] takes a database from
 * version i to version i + 1. Version 0 is an empty file.
 */
static const char *const migrations[] = {
	/* 0 -> 1: the IPAM, scopes, pools, CIDRs, allocations */
	"CREATE TABLE ipam("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  aws_id TEXT NOT NULL,"
	"  home_locale TEXT NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  tier TEXT NOT NULL DEFAULT 'advanced',"
	"  private_gua INTEGER NOT NULL DEFAULT 0,"
	"  owner_uid INTEGER NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  id_salt INTEGER NOT NULL,"
	"  id_counter INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE locale(name TEXT PRIMARY KEY) WITHOUT ROWID;"
	"CREATE TABLE quota(name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
	"  WITHOUT ROWID;"
	"CREATE TABLE scope("
	"  key INTEGER PRIMARY KEY,"
	"  aws_id TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL UNIQUE,"
	"  is_public INTEGER NOT NULL,"
	"  is_default INTEGER NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL,"
	"  uid INTEGER NOT NULL, gid INTEGER NOT NULL, mode INTEGER NOT NULL);"
	"CREATE TABLE pool("
	"  key INTEGER PRIMARY KEY,"
	"  aws_id TEXT NOT NULL UNIQUE,"
	"  scope_key INTEGER NOT NULL REFERENCES scope(key),"
	"  parent_key INTEGER REFERENCES pool(key),"
	"  name TEXT NOT NULL,"
	"  depth INTEGER NOT NULL,"
	"  family INTEGER NOT NULL,"
	"  family_locked INTEGER NOT NULL DEFAULT 0,"
	"  locale TEXT NOT NULL DEFAULT '',"
	"  auto_import INTEGER NOT NULL DEFAULT 0,"
	"  min_netmask INTEGER NOT NULL DEFAULT -1,"
	"  max_netmask INTEGER NOT NULL DEFAULT -1,"
	"  default_netmask INTEGER NOT NULL DEFAULT -1,"
	"  strategy INTEGER NOT NULL DEFAULT 0,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  advertisable INTEGER NOT NULL DEFAULT 0,"
	"  aws_service TEXT NOT NULL DEFAULT '',"
	"  public_ip_source TEXT NOT NULL DEFAULT 'byoip',"
	"  total BLOB NOT NULL, to_pools BLOB NOT NULL, assigned BLOB NOT NULL,"
	"  n_cidrs INTEGER NOT NULL DEFAULT 0,"
	"  n_allocs INTEGER NOT NULL DEFAULT 0,"
	"  n_compliant INTEGER NOT NULL DEFAULT 0,"
	"  n_noncompliant INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  uid INTEGER NOT NULL, gid INTEGER NOT NULL, mode INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX pool_name ON pool(scope_key, ifnull(parent_key, "
	"0),"
	"  name);"
	"CREATE INDEX pool_parent ON pool(parent_key);"
	"CREATE INDEX pool_scope ON pool(scope_key);"
	"CREATE TABLE pool_rule_tag("
	"  pool_key INTEGER NOT NULL REFERENCES pool(key),"
	"  key TEXT NOT NULL, value TEXT NOT NULL,"
	"  PRIMARY KEY (pool_key, key)) WITHOUT ROWID;"
	"CREATE TABLE allocation("
	"  key INTEGER PRIMARY KEY,"
	"  aws_id TEXT NOT NULL UNIQUE,"
	"  pool_key INTEGER NOT NULL REFERENCES pool(key),"
	"  name TEXT NOT NULL,"
	"  start BLOB NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  resource_type TEXT NOT NULL,"
	"  resource_id TEXT NOT NULL DEFAULT '',"
	"  resource_region TEXT NOT NULL DEFAULT '',"
	"  description TEXT NOT NULL DEFAULT '',"
	"  compliant INTEGER NOT NULL DEFAULT 1,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL,"
	"  uid INTEGER NOT NULL, gid INTEGER NOT NULL, mode INTEGER NOT NULL,"
	"  UNIQUE (pool_key, name));"
	"CREATE UNIQUE INDEX allocation_addr ON allocation(pool_key, start);"
	"CREATE TABLE pool_cidr("
	"  key INTEGER PRIMARY KEY,"
	"  aws_id TEXT NOT NULL UNIQUE,"
	"  pool_key INTEGER NOT NULL REFERENCES pool(key),"
	"  start BLOB NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  parent_alloc INTEGER REFERENCES allocation(key),"
	"  UNIQUE (pool_key, start));"
	"CREATE TABLE free_block("
	"  pool_key INTEGER NOT NULL REFERENCES pool(key),"
	"  start BLOB NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  PRIMARY KEY (pool_key, start)) WITHOUT ROWID;"
	"CREATE INDEX free_block_size ON free_block(pool_key, prefix, start);"
	"CREATE TABLE tag("
	"  object_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
	"  PRIMARY KEY (object_id, key)) WITHOUT ROWID;"
	"CREATE TABLE event("
	"  seq INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  uid INTEGER NOT NULL,"
	"  pid INTEGER NOT NULL,"
	"  action TEXT NOT NULL,"
	"  object_id TEXT NOT NULL,"
	"  detail TEXT NOT NULL);",

	/* 1 -> 2: resources, overlap index, discoveries, history */
	"ALTER TABLE ipam ADD COLUMN retention_days INTEGER NOT NULL"
	"  DEFAULT 1095;"
	"ALTER TABLE scope ADD COLUMN n_pools INTEGER NOT NULL DEFAULT 0;"
	"UPDATE scope SET n_pools = (SELECT count(*) FROM pool"
	"  WHERE pool.scope_key = scope.key);"
	"CREATE TABLE discovery("
	"  key INTEGER PRIMARY KEY,"
	"  aws_id TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL UNIQUE,"
	"  scope_key INTEGER NOT NULL REFERENCES scope(key),"
	"  locale TEXT NOT NULL DEFAULT '',"
	"  builtin INTEGER NOT NULL DEFAULT 0,"
	"  last_feed INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE resource("
	"  key INTEGER PRIMARY KEY,"
	"  scope_key INTEGER NOT NULL REFERENCES scope(key),"
	"  resource_id TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  locale TEXT NOT NULL DEFAULT '',"
	"  owner TEXT NOT NULL DEFAULT '',"
	"  vpc_id TEXT NOT NULL DEFAULT '',"
	"  active_ips BLOB,"
	"  ignored INTEGER NOT NULL DEFAULT 0,"
	"  discovery_key INTEGER REFERENCES discovery(key),"
	"  created INTEGER NOT NULL,"
	"  UNIQUE (scope_key, resource_id));"
	"CREATE INDEX resource_vpc ON resource(scope_key, vpc_id);"
	"CREATE INDEX resource_discovery ON resource(discovery_key);"
	"CREATE TABLE resource_tag("
	"  resource_key INTEGER NOT NULL REFERENCES resource(key),"
	"  key TEXT NOT NULL, value TEXT NOT NULL,"
	"  PRIMARY KEY (resource_key, key)) WITHOUT ROWID;"
	"CREATE TABLE resource_cidr("
	"  key INTEGER PRIMARY KEY,"
	"  resource_key INTEGER NOT NULL REFERENCES resource(key),"
	"  family INTEGER NOT NULL,"
	"  start BLOB NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  alloc_key INTEGER REFERENCES allocation(key),"
	"  compliance TEXT NOT NULL DEFAULT '-',"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  overlap TEXT NOT NULL DEFAULT '-',"
	"  history_key INTEGER,"
	"  UNIQUE (resource_key, family, start, prefix));"
	"CREATE INDEX resource_cidr_alloc ON resource_cidr(alloc_key);"
	"CREATE INDEX resource_cidr_addr ON resource_cidr(family, start);"
	"CREATE TABLE scope_cidr("
	"  scope_key INTEGER NOT NULL,"
	"  family INTEGER NOT NULL,"
	"  start BLOB NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  owner INTEGER NOT NULL,"
	"  PRIMARY KEY (scope_key, family, start, prefix, kind, owner))"
	"  WITHOUT ROWID;"
	"CREATE TABLE scope_prefix("
	"  scope_key INTEGER NOT NULL,"
	"  family INTEGER NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  PRIMARY KEY (scope_key, family, prefix)) WITHOUT ROWID;"
	"CREATE TABLE history("
	"  key INTEGER PRIMARY KEY,"
	"  scope_key INTEGER NOT NULL,"
	"  family INTEGER NOT NULL,"
	"  start BLOB NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  resource_id TEXT NOT NULL,"
	"  resource_type TEXT NOT NULL,"
	"  resource_name TEXT NOT NULL DEFAULT '',"
	"  owner TEXT NOT NULL DEFAULT '',"
	"  region TEXT NOT NULL DEFAULT '',"
	"  vpc_id TEXT NOT NULL DEFAULT '',"
	"  compliance TEXT NOT NULL DEFAULT '',"
	"  overlap TEXT NOT NULL DEFAULT '',"
	"  start_time INTEGER NOT NULL,"
	"  end_time INTEGER);"
	"CREATE INDEX history_cidr ON history(scope_key, family, start, prefix,"
	"  start_time);"
	"CREATE INDEX history_end ON history(end_time)"
	"  WHERE end_time IS NOT NULL;"
	"ALTER TABLE allocation ADD COLUMN history_key INTEGER;",

	/* 2 -> 3: change times (changed.c), in nanoseconds */
	"ALTER TABLE ipam ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE scope ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE pool ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE allocation ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE resource ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE discovery ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;",
	/* 3 -> 4: prefix-list resolvers (prefixlist.c, plcover.c, pltarget.c) */
	"CREATE TABLE prefix_list("
	"  key INTEGER PRIMARY KEY,"
	"  aws_id TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL UNIQUE,"
	"  family INTEGER NOT NULL DEFAULT 4,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  version INTEGER NOT NULL DEFAULT 1,"
	"  oldest INTEGER NOT NULL DEFAULT 1,"
	"  dirty INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  changed INTEGER NOT NULL);"
	"CREATE INDEX prefix_list_dirty ON prefix_list(dirty) WHERE dirty;"
	"CREATE TABLE pl_rule("
	"  list_key INTEGER NOT NULL,"
	"  line INTEGER NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  scope_key INTEGER NOT NULL,"
	"  rtype TEXT NOT NULL,"
	"  text TEXT NOT NULL,"
	"  PRIMARY KEY (list_key, line)) WITHOUT ROWID;"
	"CREATE INDEX pl_rule_scope ON pl_rule(scope_key, kind, rtype);"
	"CREATE TABLE pl_member("
	"  list_key INTEGER NOT NULL,"
	"  src_kind INTEGER NOT NULL,"
	"  src_key INTEGER NOT NULL,"
	"  family INTEGER NOT NULL,"
	"  start BLOB NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  PRIMARY KEY (list_key, src_kind, src_key)) WITHOUT ROWID;"
	"CREATE INDEX pl_member_cidr ON pl_member(list_key, family, start,"
	"  prefix);"
	"CREATE INDEX pl_member_src ON pl_member(src_kind, src_key);"
	"CREATE TABLE pl_entry("
	"  list_key INTEGER NOT NULL,"
	"  family INTEGER NOT NULL,"
	"  start BLOB NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  PRIMARY KEY (list_key, family, start)) WITHOUT ROWID;"
	"CREATE TABLE pl_diff("
	"  list_key INTEGER NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  family INTEGER NOT NULL,"
	"  start BLOB NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  added INTEGER NOT NULL,"
	"  PRIMARY KEY (list_key, version, family, start, prefix))"
	"  WITHOUT ROWID;"
	"CREATE TABLE pl_target("
	"  list_key INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  format INTEGER NOT NULL DEFAULT 0,"
	"  desired INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  PRIMARY KEY (list_key, name)) WITHOUT ROWID;",
	/* 4 -> 5: a prefix list's change time (changed.c; `changed` above is
	 * when its latest version was made, in seconds) */
	"ALTER TABLE prefix_list"
	"  ADD COLUMN touched INTEGER"
	"  NOT NULL DEFAULT 0;",
	/* 5 -> 6: allocations name their resource type in the words of
	 * IpamPoolAllocationResourceType */
	"UPDATE allocation SET resource_type = 'ec2-public-ipv4-pool'"
	"  WHERE resource_type = 'public-ipv4-pool';"
	/* a discovery keeps its last snapshot, re-applied when the operating
	 * locales change, and counts the records of other regions */
	"ALTER TABLE discovery ADD COLUMN snapshot TEXT;"
	"ALTER TABLE discovery ADD COLUMN unmonitored INTEGER NOT NULL"
	"  DEFAULT 0;",
	/* BYOIP (issue 12, byoip.c): the ownership-proof settings and the
	 * lifecycle of the public scope's BYOIP CIDRs */
	"ALTER TABLE ipam ADD COLUMN certificate TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE ipam ADD COLUMN account_id TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE ipam ADD COLUMN dns_resolver TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE byoip_cidr("
	"  key INTEGER PRIMARY KEY,"
	"  pool_key INTEGER NOT NULL REFERENCES pool(key),"
	"  family INTEGER NOT NULL,"
	"  start BLOB NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  aws_id TEXT NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  reason_code TEXT NOT NULL DEFAULT '',"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  method TEXT NOT NULL DEFAULT '',"
	"  changed INTEGER NOT NULL,"
	"  UNIQUE (pool_key, family, start, prefix));"
	"CREATE TABLE verification_token("
	"  key INTEGER PRIMARY KEY,"
	"  aws_id TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL UNIQUE,"
	"  token_name TEXT NOT NULL,"
	"  token_value TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL);"
	"INSERT INTO quota(name, value) VALUES ('verification-tokens', 100),"
	"  ('asns', 5);"
	/* ASNs (BYOASN), their CIDR associations, advertisements (asn.c) */
	"CREATE TABLE asn("
	"  key INTEGER PRIMARY KEY,"
	"  asn INTEGER NOT NULL UNIQUE,"
	"  state INTEGER NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL,"
	"  changed INTEGER NOT NULL);"
	"CREATE TABLE asn_cidr("
	"  asn_key INTEGER NOT NULL REFERENCES asn(key),"
	"  family INTEGER NOT NULL,"
	"  start BLOB NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  changed INTEGER NOT NULL,"
	"  PRIMARY KEY (asn_key, family, start, prefix)) WITHOUT ROWID;"
	"CREATE INDEX asn_cidr_by_cidr ON asn_cidr(family, start, prefix);"
	"CREATE TABLE advertisement("
	"  family INTEGER NOT NULL,"
	"  start BLOB NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  pool_key INTEGER NOT NULL REFERENCES pool(key),"
	"  asn INTEGER,"
	"  changed INTEGER NOT NULL,"
	"  PRIMARY KEY (family, start, prefix)) WITHOUT ROWID;",
};

/* After the migrations (and the first objects of a new file): an object
 * whose change time is unknown takes the newest time the file knows, so a
 * copy made before the migration is never taken for current. */
static const char changed_fill_sql[] =
	"UPDATE ipam SET changed = 1000000000 * max(created,"
	"  ifnull((SELECT max(time) FROM event), 0)) WHERE changed = 0;"
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
	"  WHERE touched = 0;";

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

int ipam_schema_version(void)
{
	return SCHEMA_VERSION;
}

int ipam__sqlfail(ipam *db, ipam_err *err)
{
	int rc = sqlite3_errcode(db->sql);
	if (rc == SQLITE_NOMEM)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	return ipam__fail(err, IPAM_EIO, "storage failure: %s",
			  sqlite3_errmsg(db->sql));
}

/* The slot of `sql` in a table of `cap` slots (a power of two): where it
 * is, or the empty slot where it belongs. */
static struct ipam_stmt_slot *stmt_slot(struct ipam_stmt_slot *table,
					size_t cap, const char *sql)
{
	uint64_t h = (uint64_t)(uintptr_t)sql * 0x9e3779b97f4a7c15ULL;
	size_t i = (size_t)(h >> 32) & (cap - 1);

	while (table[i].sql && table[i].sql != sql)
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
		if (db->cache[i].sql)
			*stmt_slot(table, cap, db->cache[i].sql) = db->cache[i];
	free(db->cache);
	db->cache = table;
	db->cache_cap = cap;
	return 0;
}

sqlite3_stmt *ipam__stmt(ipam *db, const char *sql, ipam_err *err)
{
	struct ipam_stmt_slot *slot;
	sqlite3_stmt *stmt = NULL;

	if (db->cache_cap) {
		slot = stmt_slot(db->cache, db->cache_cap, sql);
		if (slot->sql) {
			stmt = slot->stmt;
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			return stmt;
		}
	}
	/* Never evicts: a statement a caller is stepping must stay alive.
	 * The table grows instead (the set of literals is finite). */
	if ((db->cached + 1) * 2 > db->cache_cap && stmt_grow(db) != 0) {
		ipam__fail(err, IPAM_ENOMEM, "out of memory");
		return NULL;
	}
	if (sqlite3_prepare_v3(db->sql, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &stmt, NULL) != SQLITE_OK) {
		ipam__sqlfail(db, err);
		return NULL;
	}
	slot = stmt_slot(db->cache, db->cache_cap, sql);
	slot->sql = sql;
	slot->stmt = stmt;
	db->cached++;
	return stmt;
}

int ipam__step(ipam *db, sqlite3_stmt *stmt, ipam_err *err)
{
	int rc;

	/* A value that never reached SQLite (a failed bind) or never came
	 * back: running the statement would act on NULL. */
	if (ipam__oom)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	/* Inside a bracket SQLite must still hold the transaction; after an
	 * I/O or memory error it may have rolled it back by itself, and a
	 * statement run now would commit on its own. */
	if ((db->depth > 0 || db->txn_open) && sqlite3_get_autocommit(db->sql))
		return ipam__fail(err, IPAM_EIO,
				  "the transaction was rolled back after a "
				  "storage failure");
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT)
		return ipam__fail(err, IPAM_EEXIST, "constraint failed: %s",
				  sqlite3_errmsg(db->sql));
	return ipam__sqlfail(db, err);
}

int ipam__exec(ipam *db, sqlite3_stmt *stmt, ipam_err *err)
{
	int rc = ipam__step(db, stmt, err);
	sqlite3_reset(stmt);
	return rc < 0 ? rc : 0;
}

int ipam__exec_sql(ipam *db, const char *sql, ipam_err *err)
{
	if (sqlite3_exec(db->sql, sql, NULL, NULL, NULL) != SQLITE_OK)
		return ipam__sqlfail(db, err);
	return 0;
}

int ipam__collect_text(ipam *db, sqlite3_stmt *stmt, ipam_strlist *out,
		       ipam_err *err)
{
	int rc = 0, step = 0;

	memset(out, 0, sizeof(*out));
	if (!stmt)
		return err && err->code ? err->code : IPAM_EIO;
	while (rc == 0 && (step = ipam__step(db, stmt, err)) == 1)
		rc = ipam__strlist_push(
			out, (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_reset(stmt);
	if (rc)
		rc = ipam__fail(err, rc, "out of memory");
	else if (step < 0)
		rc = step;
	if (rc)
		ipam_strlist_free(out);
	return rc;
}

int ipam__collect_keys(ipam *db, sqlite3_stmt *stmt, int64_t **out,
		       size_t *count, ipam_err *err)
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
		list[n++] = sqlite3_column_int64(stmt, 0);
	}
	sqlite3_reset(stmt);
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
	"SELECT ifnull(max(seq), 0) FROM event",
};

/* Runs a transaction-control statement through the statement cache (the
 * brackets run several per call: parsing them each time would cost more
 * than many of the calls themselves). They are prepared when the handle
 * opens, so undoing a transaction never needs memory. */
static int control(ipam *db, const char *sql, ipam_err *err)
{
	sqlite3_stmt *stmt = ipam__stmt(db, sql, err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	/* Straight to SQLite: undoing must work when ipam__oom is up. */
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	return ipam__sqlfail(db, err);
}

/* SQLite rolls a transaction back by itself after some I/O and memory
 * errors: then no transaction is open any more. */
static bool in_transaction(ipam *db)
{
	return sqlite3_get_autocommit(db->sql) == 0;
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
		sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
	db->events_logged = 0;
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

/* sqlite3_update_hook: remembers the deleted rows of removal_tables. A
 * savepoint rolled back inside the transaction leaves its rows in the list:
 * reporting a row that still exists only costs the kernel a lookup. */
static void note_removal(void *ctx, int op, const char *dbname,
			 const char *table, sqlite3_int64 rowid)
{
	ipam *db = ctx;
	(void)dbname;
	if (op != SQLITE_DELETE || db->removed_lost)
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
	sqlite3_stmt *stmt;
	int rc;
	*out = db->last_event;
	if (!db->events_logged)
		return 0;
	stmt = ipam__stmt(db, "SELECT ifnull(max(seq), 0) FROM event", err);
	if (!stmt)
		return err && err->code ? err->code : IPAM_EIO;
	rc = ipam__step(db, stmt, err);
	if (rc == 1)
		*out = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
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
	db->events_logged = 0;
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
		rc = control(db, "BEGIN IMMEDIATE", err);
		forget_removals(db);
		if (rc == 0) {
			db->actor = db->default_actor;
			db->events_logged = 0;
			db->history_floor = -1;
		}
	} else if (!in_transaction(db)) {
		rc = ipam__fail(err, IPAM_EIO,
				"the transaction was rolled back after a "
				"storage failure");
	} else {
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
	rc = control(db, "BEGIN IMMEDIATE", err);
	forget_removals(db);
	if (rc) {
		pthread_mutex_unlock(&db->lock);
		return rc;
	}
	db->txn_open = 1;
	db->events_logged = 0;
	db->history_floor = -1;
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

void ipam_set_remove_hook(ipam *db, ipam_remove_hook hook, void *ctx)
{
	pthread_mutex_lock(&db->lock);
	db->remove_hook = hook;
	db->remove_ctx = ctx;
	forget_removals(db);
	sqlite3_update_hook(db->sql, hook ? note_removal : NULL, db);
	pthread_mutex_unlock(&db->lock);
}

int ipam_check(ipam *db, ipam_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int rc = 0;

	pthread_mutex_lock(&db->lock);
	if (sqlite3_prepare_v2(db->sql, "PRAGMA integrity_check", -1, &stmt,
			       NULL) != SQLITE_OK) {
		rc = ipam__sqlfail(db, err);
	} else if (sqlite3_step(stmt) != SQLITE_ROW) {
		rc = ipam__sqlfail(db, err);
	} else {
		const char *res = (const char *)sqlite3_column_text(stmt, 0);
		if (!res || strcmp(res, "ok"))
			rc = ipam__fail(err, IPAM_EIO, "integrity check: %s",
					res ? res : "no answer");
	}
	sqlite3_finalize(stmt);
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
 * Ids are a per-database counter run through a bijective mixer keyed by a
 * per-database salt: unique by construction, random-looking like AWS ids,
 * reproducible when the salt is fixed (ipam_open_opts.id_seed).
 */
int ipam__new_id(ipam *db, const char *prefix, bool long_id,
		 char out[IPAM_ID_MAX], ipam_err *err)
{
	/* UPDATE, then SELECT: UPDATE ... RETURNING builds and drops an
	 * ephemeral table on every call (malloc churn that glibc trims with
	 * brk(2) each time; see docs/bench.md). */
	sqlite3_stmt *stmt = ipam__stmt(
		db, "UPDATE ipam SET id_counter = id_counter + 1 WHERE id = 1",
		err);
	uint64_t counter, salt, a;
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	stmt = ipam__stmt(
		db, "SELECT id_counter, id_salt FROM ipam WHERE id = 1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	rc = ipam__step(db, stmt, err);
	if (rc != 1) {
		sqlite3_reset(stmt);
		return rc < 0 ? rc : ipam__fail(err, IPAM_EIO, "no IPAM row");
	}
	counter = (uint64_t)sqlite3_column_int64(stmt, 0);
	salt = (uint64_t)sqlite3_column_int64(stmt, 1);
	sqlite3_reset(stmt);
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

/* Reads the first 16 bytes: 1 = SQLite header, 0 = missing, 2 = an empty
 * (0-byte) file, -1 = something else, -2 = a dangling symbolic link. */
static int sniff_file(const char *path, bool *exists)
{
	char head[16];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*exists = fd >= 0 || errno != ENOENT;
	if (fd < 0) {
		if (errno == ENOENT && lstat(path, &st) == 0) {
			*exists = true;
			return -2;
		}
		return 0;
	}
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n == 0)
		return 2;
	if (n == 16 && !memcmp(head, "SQLite format 3", 16))
		return 1;
	return -1;
}

/*
 * The pid of another process holding SQLite's lock on the file at `path`
 * (the shared-lock range SQLite's unix VFS locks), 0 when none does. An
 * ipamfs mount holds it for its whole life. A lock held by this process
 * does not show (POSIX locks never conflict with their owner).
 */
static pid_t lock_holder(const char *path)
{
	struct flock fl = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0x40000000; /* SQLite's PENDING_BYTE */
	fl.l_len = 512 + 2;	 /* PENDING, RESERVED and the shared range */
	if (fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type == F_UNLCK)
		fl.l_pid = 0;
	/* Closing drops this process's POSIX locks on the file: we hold none
	 * yet (sqlite3_open_v2 comes later). */
	close(fd);
	return fl.l_pid;
}

/* The refusal for a database another process has open. */
static int in_use(const char *path, pid_t pid, ipam_err *err)
{
	char comm[64] = "", file[64];
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%d/comm", (int)pid);
	f = fopen(file, "re");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
		comm[strcspn(comm, "\n")] = '\0';
	}
	if (pid > 0)
		return ipam__fail(err, IPAM_EBUSY,
				  "'%s': database is in use by %s pid %d", path,
				  comm[0] ? comm : "process", (int)pid);
	return ipam__fail(err, IPAM_EBUSY, "'%s': database is in use", path);
}

/* Creates the file of a new database, 0600 (its -wal and -shm get the
 * same mode from SQLite). Refuses to follow anything that appeared. */
static int create_file(const char *path, ipam_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return ipam__fail(err, errno == ENOENT ? IPAM_ENOENT : IPAM_EIO,
				  "cannot create '%s': %s", path,
				  strerror(errno));
	close(fd);
	return 0;
}

static int pragma_int(ipam *db, const char *sql, int64_t *out, ipam_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(db->sql, sql, -1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int64(stmt, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(stmt);
	if (rc == SQLITE_OK)
		return 0;
	if (rc == SQLITE_NOMEM)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if (rc == SQLITE_BUSY)
		return ipam__fail(err, IPAM_EBUSY, "database is in use");
	if (rc == SQLITE_CORRUPT)
		return ipam__fail(err, IPAM_ESCHEMA,
				  "the database is damaged: %s",
				  sqlite3_errstr(rc));
	return ipam__fail(err, IPAM_ESCHEMA, "not a usable database: %s",
			  sqlite3_errstr(rc));
}

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
	if (getrandom(&salt, sizeof(salt), 0) != sizeof(salt))
		sqlite3_randomness(sizeof(salt), &salt);
	return salt;
}

/* Fills a new database: the IPAM row, its locale, quotas, two scopes. */
static int initialise(ipam *db, const ipam_open_opts *opts, ipam_err *err)
{
	const char *home = opts && opts->home_locale ? opts->home_locale
						     : "local";
	char id[IPAM_ID_MAX], ipam_id[IPAM_ID_MAX];
	sqlite3_stmt *stmt;
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
	ipam__bind_text(stmt, 1, home, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, getuid());
	sqlite3_bind_int64(stmt, 3, now);
	sqlite3_bind_int64(stmt, 4, (int64_t)salt);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	if ((rc = ipam__new_id(db, "ipam-", false, ipam_id, err)))
		return rc;
	stmt = ipam__stmt(db, "UPDATE ipam SET aws_id = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, ipam_id, -1, SQLITE_TRANSIENT);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	stmt = ipam__stmt(db, "INSERT INTO locale(name) VALUES (?1)", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, home, -1, SQLITE_STATIC);
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
				  " VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, 493)",
				  err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
		ipam__bind_text(stmt, 2, pub ? "public" : "private", -1,
				SQLITE_STATIC);
		sqlite3_bind_int(stmt, 3, pub);
		sqlite3_bind_int64(stmt, 4, now);
		sqlite3_bind_int64(stmt, 5, getuid());
		sqlite3_bind_int64(stmt, 6, getgid());
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
	char sql[64];

	for (int64_t v = version; rc == 0 && v < SCHEMA_VERSION; v++)
		rc = ipam__exec_sql(db, migrations[v], err);
	if (rc == 0 && version == 0)
		rc = initialise(db, opts, err);
	if (rc == 0 && version < 2)
		rc = ipam__discovery_builtins(db, err);
	if (rc == 0 && version < 3)
		rc = ipam__exec_sql(db, changed_fill_sql, err);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
	if (rc == 0)
		rc = ipam__exec_sql(db, sql, err);
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", IPAM_APP_ID);
	if (rc == 0)
		rc = ipam__exec_sql(db, sql, err);
	if (rc == 0)
		rc = ipam__exec_sql(db, "COMMIT", err);
	if (rc)
		sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Checks what the file holds before anything is written to it. */
static int validate(ipam *db, const char *path, int64_t *version, ipam_err *err)
{
	int64_t app_id = 0, tables = 0;
	int rc = pragma_int(db, "PRAGMA application_id", &app_id, err);

	if (rc == 0)
		rc = pragma_int(db, "PRAGMA user_version", version, err);
	if (rc == 0)
		rc = pragma_int(db, "SELECT count(*) FROM sqlite_master",
				&tables, err);
	if (rc)
		return rc;
	if (app_id == 0 && *version == 0 && tables == 0)
		return 0; /* an empty SQLite file: ours to initialise */
	if (app_id != IPAM_APP_ID)
		return ipam__fail(err, IPAM_ESCHEMA,
				  "'%s' is a SQLite database of another "
				  "program (application_id %lld)",
				  path, (long long)app_id);
	if (*version > SCHEMA_VERSION)
		return ipam__fail(err, IPAM_ESCHEMA,
				  "'%s' has schema version %lld, newer than "
				  "this ipamfs (%d): upgrade ipamfs",
				  path, (long long)*version, SCHEMA_VERSION);
	if (*version < 1)
		return ipam__fail(err, IPAM_ESCHEMA,
				  "'%s' has no ipamfs schema", path);
	return 0;
}

/* PRAGMA quick_check, before anything is written: a damaged file is
 * refused rather than written to (the allocator would trust a damaged
 * free-space index). */
static int quick_check(ipam *db, const char *path, ipam_err *err)
{
	sqlite3_stmt *stmt = NULL;
	const char *res;
	int rc = sqlite3_prepare_v2(db->sql, "PRAGMA quick_check(1)", -1, &stmt,
				    NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_NOMEM) {
		sqlite3_finalize(stmt);
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		sqlite3_finalize(stmt);
		return ipam__fail(err, IPAM_EBUSY, "'%s': database is in use",
				  path);
	}
	res = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(stmt, 0)
			       : NULL;
	if (res && strcmp(res, "ok") == 0) {
		sqlite3_finalize(stmt);
		return 0;
	}
	rc = ipam__fail(err, IPAM_ESCHEMA,
			"'%s' is damaged (quick_check: %s); restore a backup "
			"or repair it with sqlite3 .recover",
			path, res ? res : sqlite3_errmsg(db->sql));
	sqlite3_finalize(stmt);
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

/* Makes the handle the file's only user for its whole life: WAL with an
 * exclusive lock taken now (not at the first write), so a second mount is
 * refused at open. The WAL index then lives in memory and a transaction
 * costs no lock system calls. */
static int take_file(ipam *db, const char *path, ipam_err *err)
{
	int rc = ipam__exec_sql(db, "PRAGMA locking_mode = EXCLUSIVE", err);
	if (rc == 0)
		rc = ipam__exec_sql(db, "PRAGMA journal_mode = WAL", err);
	if (rc == 0)
		rc = ipam__exec_sql(db, "BEGIN EXCLUSIVE; COMMIT", err);
	if (rc == IPAM_EIO && sqlite3_errcode(db->sql) == SQLITE_BUSY) {
		pid_t pid = lock_holder(path);
		if (err)
			err->code = IPAM_OK;
		rc = in_use(path, pid, err);
	}
	return rc;
}

/* Opens the SQLite connection and checks, then takes, the file. */
static int open_connection(ipam *db, const char *path, bool mem, int flags,
			   const ipam_open_opts *opts, ipam_err *err)
{
	int64_t version = 0;
	int rc;

	if (sqlite3_open_v2(mem ? ":memory:" : path, &db->sql, flags, NULL) !=
	    SQLITE_OK)
		return ipam__fail(err, IPAM_EIO, "cannot open '%s': %s", path,
				  db->sql ? sqlite3_errmsg(db->sql)
					  : "out of memory");
	sqlite3_extended_result_codes(db->sql, 0);
	/* Only the instant of another process's open can be waited out: a
	 * mount holds its lock for good. */
	sqlite3_busy_timeout(db->sql, 1000);
	rc = validate(db, path, &version, err);
	if (rc == IPAM_EBUSY) {
		if (err)
			err->code = IPAM_OK;
		rc = in_use(path, lock_holder(path), err);
	}
	if (rc == 0 && !mem)
		rc = take_file(db, path, err);
	if (rc == 0 && version > 0 && !(opts && opts->skip_check))
		rc = quick_check(db, path, err);
	/* From here on the file is ours. */
	if (rc == 0)
		rc = ipam__exec_sql(db,
				    db->sync_normal
					    ? "PRAGMA foreign_keys = ON;"
					      "PRAGMA synchronous = NORMAL;"
					    : "PRAGMA foreign_keys = ON;"
					      "PRAGMA synchronous = FULL;",
				    err);
	if (rc == 0 && version < SCHEMA_VERSION)
		rc = migrate(db, version, opts, err);
	return rc;
}

/* Refuses what the path names before SQLite sees it; *create is set when
 * a new database is to be made. */
static int check_path(const char *path, const ipam_open_opts *opts,
		      bool *create, ipam_err *err)
{
	bool exists = false;
	int kind = sniff_file(path, &exists);
	pid_t pid;

	*create = false;
	if (kind == -1)
		return ipam__fail(err, IPAM_ESCHEMA,
				  "'%s' is not a SQLite database", path);
	if (kind == -2)
		return ipam__fail(err, IPAM_ENOENT,
				  "'%s' is a dangling symbolic link: refusing "
				  "to create its target",
				  path);
	if (kind == 2)
		return ipam__fail(err, IPAM_ESCHEMA,
				  "'%s' is an empty file, not an IPAM "
				  "(remove it to create a new IPAM there)",
				  path);
	if (kind == 0 && !(opts && opts->create))
		return ipam__fail(err, IPAM_ENOENT, "'%s' does not exist",
				  path);
	if (kind == 1 && (pid = lock_holder(path)) != 0)
		return in_use(path, pid, err);
	if (kind == 0) {
		int rc = ipam__check_locale(
			opts->home_locale ? opts->home_locale : "local", err);
		if (rc)
			return rc;
		*create = true;
	}
	return 0;
}

int ipam_open(ipam **out, const char *path, const ipam_open_opts *opts,
	      ipam_err *err)
{
	bool mem = opts && opts->in_memory, create = false;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX;
	ipam *db;
	int rc;

	*out = NULL;
	watch_jansson();
	ipam__oom = 0;
	if (!mem && (rc = check_path(path, opts, &create, err)))
		return rc;
	if (create && (rc = create_file(path, err)))
		return rc;
	db = calloc(1, sizeof(*db));
	if (!db) {
		rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
		goto fail;
	}
	recursive_mutex_init(&db->lock);
	db->clock = opts && opts->clock ? opts->clock : system_clock;
	db->clock_ctx = opts ? opts->clock_ctx : NULL;
	db->sync_normal = opts && opts->sync_normal;
	db->default_actor.uid = getuid();
	db->default_actor.gid = getgid();
	db->default_actor.pid = getpid();
	db->actor = db->default_actor;

	rc = open_connection(db, path, mem, flags, opts, err);
	if (rc)
		goto fail;
	/* before the statements below are prepared: making the triggers
	 * changes the schema, which would expire them */
	if ((rc = ipam__changed_ready(db, err)) ||
	    (rc = ipam__changed_load(db, err)))
		goto fail;
	for (size_t i = 0; i < sizeof(control_sql) / sizeof(control_sql[0]);
	     i++) {
		if (!ipam__stmt(db, control_sql[i], err)) {
			rc = IPAM_EIO;
			goto fail;
		}
	}
	{
		sqlite3_stmt *stmt = ipam__stmt(
			db, "SELECT ifnull(max(seq), 0) FROM event", err);
		if (!stmt) {
			rc = IPAM_EIO;
			goto fail;
		}
		if (sqlite3_step(stmt) == SQLITE_ROW)
			db->last_event = sqlite3_column_int64(stmt, 0);
		sqlite3_reset(stmt);
	}
	*out = db;
	return 0;
fail:
	ipam_free(db);
	if (create) { /* leave nothing behind that we created */
		char side[4096];
		unlink(path);
		snprintf(side, sizeof(side), "%s-wal", path);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", path);
		unlink(side);
	}
	return rc;
}

/* Makes every committed change durable. With synchronous=FULL (the
 * default) each commit already is; with sync_normal the WAL is written
 * but not synced at commit: a full checkpoint syncs the WAL, copies it
 * into the database and syncs that. */
int ipam_sync(ipam *db, ipam_err *err)
{
	int rc = 0;
	pthread_mutex_lock(&db->lock);
	if (db->txn_open || db->depth)
		rc = ipam__fail(err, IPAM_EINVAL, "a transaction is open");
	else if (db->sync_normal &&
		 sqlite3_wal_checkpoint_v2(db->sql, NULL,
					   SQLITE_CHECKPOINT_FULL, NULL,
					   NULL) != SQLITE_OK)
		rc = ipam__sqlfail(db, err);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* A consistent copy of the whole database file as of now (one read
 * transaction), in malloc'd memory: a SQLite file that opens (and mounts)
 * on its own. */
int ipam_backup(ipam *db, unsigned char **out, size_t *len, ipam_err *err)
{
	sqlite3_int64 size = 0;
	unsigned char *image, *copy = NULL;
	int rc = ipam__read_begin(db, err);

	*out = NULL;
	*len = 0;
	if (rc)
		return rc;
	image = sqlite3_serialize(db->sql, "main", &size, 0);
	if (!image)
		rc = ipam__fail(err, IPAM_ENOMEM,
				"out of memory for a %lld-byte snapshot",
				(long long)size);
	else if (!(copy = malloc(size ? (size_t)size : 1)))
		rc = ipam__fail(err, IPAM_ENOMEM,
				"out of memory for a %lld-byte snapshot",
				(long long)size);
	if (copy)
		memcpy(copy, image, (size_t)size);
	sqlite3_free(image);
	rc = ipam__read_end(db, rc);
	if (rc == 0) {
		*out = copy;
		*len = (size_t)size;
	} else {
		free(copy);
	}
	return rc;
}

/* The size of the database file (pages in use, including those only in
 * the WAL yet): what ipam_backup would return now. */
int64_t ipam_backup_size(ipam *db)
{
	int64_t pages = 0, page_size = 0;
	pthread_mutex_lock(&db->lock);
	if (pragma_int(db, "PRAGMA page_count", &pages, NULL) ||
	    pragma_int(db, "PRAGMA page_size", &page_size, NULL))
		pages = 0;
	pthread_mutex_unlock(&db->lock);
	return pages * page_size;
}

void ipam_free(ipam *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->cache_cap; i++)
		if (db->cache[i].sql)
			sqlite3_finalize(db->cache[i].stmt);
	free(db->cache);
	if (db->sql)
		sqlite3_close(db->sql);
	pthread_mutex_destroy(&db->lock);
	free(db->removed);
	free(db);
}
