/*
 * sqlite.c - the SQLite engine of the storage seam (store.h): one file,
 * one handle.
 *
 * A database belongs to ipamfs when its application_id is IPAM_APP_ID; its
 * user_version is the schema version. Opening refuses, without writing a
 * byte, files that are not SQLite, are corrupt, belong to another program
 * or come from a newer ipamfs. An older schema is migrated (store.c runs
 * the migration's transaction; the DDL is here), and a file that fails
 * PRAGMA quick_check is refused.
 * A new database (and its -wal) is created mode 0600; an empty (0-byte)
 * file or a dangling symbolic link is refused rather than set up.
 * Connections run in WAL mode with foreign keys on and hold an exclusive
 * lock on the file from open to close, so a second process (another
 * mount) is refused at once with the pid of the holder. synchronous=FULL
 * by default: a committed transaction is on stable storage before the
 * call returns (ipam_open_opts.sync_normal trades that for speed: then a
 * power cut may lose the newest commits, never corrupt the file, and
 * ipam_sync makes everything committed durable).
 *
 * Engine-specific here and nowhere else: the DDL of every schema version,
 * the PRAGMAs, the lock probe naming the pid of another holder, the
 * change-time TEMP triggers and their ipam_stamp() SQL function, the
 * remove notification (sqlite3_update_hook), integrity check, checkpoint
 * and the backup image (sqlite3_serialize). Tests that swap SQLite's VFS
 * (test_io.c, test_powerloss.c) act below this file: it opens every
 * database through the default VFS.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "sqlite.h"

#define IPAM_APP_ID 0x49504d46 /* "IPMF" */

/* Marks the EIP or interface a resource_cidr row belongs to, or every EIP
 * of the scope of a public IPv4 pool whose CIDRs change (15 -> 16). */
#define PUBLIC_MARK(row)                                                       \
	"INSERT OR IGNORE INTO public_dirty SELECT key FROM resource"          \
	" WHERE key = " row ".resource_key"                                    \
	" AND type IN ('eip', 'network-interface');"                           \
	"INSERT OR IGNORE INTO public_dirty SELECT e.key FROM resource p"      \
	" JOIN resource e ON e.scope_key = p.scope_key AND e.type = 'eip'"     \
	" WHERE p.key = " row ".resource_key AND p.type = 'public-ipv4-pool';"

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
	/* 6 -> 7: IPAM policies (model/policy.c): ordered allocation rules (a locale
	 * and a resource type) with their ordered pools, targets, overflow */
	"CREATE TABLE policy("
	"  key INTEGER PRIMARY KEY,"
	"  aws_id TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL UNIQUE,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  overflow INTEGER NOT NULL DEFAULT 1,"
	"  enabled INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  changed INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE policy_rule("
	"  policy_key INTEGER NOT NULL,"
	"  line INTEGER NOT NULL,"
	"  locale TEXT NOT NULL,"
	"  rtype TEXT NOT NULL,"
	"  PRIMARY KEY (policy_key, line)) WITHOUT ROWID;"
	"CREATE TABLE policy_pool("
	"  policy_key INTEGER NOT NULL,"
	"  line INTEGER NOT NULL,"
	"  pos INTEGER NOT NULL,"
	"  pool_key INTEGER NOT NULL,"
	"  PRIMARY KEY (policy_key, line, pos)) WITHOUT ROWID;"
	"CREATE INDEX policy_pool_pool ON policy_pool(pool_key);"
	"CREATE TABLE policy_target("
	"  policy_key INTEGER NOT NULL,"
	"  target TEXT NOT NULL,"
	"  PRIMARY KEY (policy_key, target)) WITHOUT ROWID;"
	"CREATE INDEX policy_target_target ON policy_target(target);",
	/* 7 -> 8: provider CIDRs, the space amazon-source public pools take
	 * blocks from (provider.c); an Elastic IP's association (the
	 * instance or interface it is associated with, '' when none; an
	 * interface's instance); the public address type and service a
	 * discovery reports (insights.c; '' = derived) */
	"CREATE TABLE provider_cidr("
	"  family INTEGER NOT NULL,"
	"  start BLOB NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  PRIMARY KEY (family, start)) WITHOUT ROWID;"
	"ALTER TABLE resource ADD COLUMN association TEXT NOT NULL"
	"  DEFAULT '';"
	"ALTER TABLE resource ADD COLUMN address_type TEXT NOT NULL"
	"  DEFAULT '';"
	"ALTER TABLE resource ADD COLUMN service TEXT NOT NULL"
	"  DEFAULT '';",
	/* 8 -> 9: the CIDRs of top-level pools (a child pool's CIDRs have
	 * their allocation in the parent) in address order, for the check
	 * that a scope holds an address once (model/provision.c) */
	"CREATE INDEX pool_cidr_top ON pool_cidr(start)"
	"  WHERE parent_alloc IS NULL;"
	/* the pool lookups by name are written with coalesce (portable
	 * SQL): an expression index serves only the same expression, so
	 * pool_name (ifnull) no longer did and every lookup scanned the
	 * scope's pools (an import of 10^4 pools took 13 CPU s) */
	"CREATE INDEX pool_name_portable ON pool(scope_key,"
	"  coalesce(parent_key, 0), name);",
	/* 9 -> 10: resource planning pools and host records (planning.c):
	 * the VPC a planning pool and its subnet pools plan, a host's DNS
	 * name and MAC */
	"ALTER TABLE pool ADD COLUMN plan_vpc TEXT NOT NULL DEFAULT '';"
	"CREATE INDEX pool_plan_vpc ON pool(scope_key, plan_vpc)"
	"  WHERE plan_vpc <> '';"
	"ALTER TABLE allocation ADD COLUMN dns_name TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE allocation ADD COLUMN mac_address TEXT NOT NULL"
	"  DEFAULT '';",
	/* 10 -> 11: BYOIP (issue 12 §1-§4, model/byoip.c): the ownership-proof
	 * settings and the lifecycle of the public scope's BYOIP CIDRs */
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
	/* 11 -> 12: the change log's retention (model/event.c) */
	"ALTER TABLE ipam ADD COLUMN event_retention_days INTEGER NOT NULL"
	"  DEFAULT 365;"
	"CREATE INDEX event_time ON event(time);",
	/* 12 -> 13 (issue 12 follow-up): when each CIDR last switched from
	 * the router's own AS to a brought ASN (asn.c, the once-an-hour limit
	 * of L5291), and the provider-block limits as quotas (provider.c) */
	"CREATE TABLE asn_switch("
	"  family INTEGER NOT NULL,"
	"  start BLOB NOT NULL,"
	"  prefix INTEGER NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  PRIMARY KEY (family, start, prefix)) WITHOUT ROWID;"
	"INSERT INTO quota(name, value) VALUES ('provider-ipv4-blocks', 2),"
	"  ('provider-ipv6-blocks-per-pool', 1);",
	/* 13 -> 14: prefix-list targets whose sync is off keep the CIDRs
	 * edited by hand (pltarget.c: `sync`, `held` canonical CIDR lines,
	 * `held_version` the version served when sync was turned off); the
	 * IPAM policy limits become quotas (policy.c, L9658-L9664) */
	"ALTER TABLE pl_target ADD COLUMN sync INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE pl_target ADD COLUMN held TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE pl_target ADD COLUMN held_version INTEGER NOT NULL"
	"  DEFAULT 0;"
	"INSERT INTO quota(name, value) VALUES ('policies', 10),"
	"  ('policy-targets', 100), ('policy-rule-pools', 10);",
	/* 14 -> 15: nothing on SQLite (its change-time triggers are TEMP,
	 * made at every open); PostgreSQL's permanent ones (pg.c) */
	"SELECT 1;",
	/* 15 -> 16: the public IP insight counts, kept (view/insights.c).
	 * The triggers mark each EIP or network interface whose count may
	 * have changed (its row, its CIDRs, its pool's source; every EIP of
	 * a scope whose public IPv4 pool CIDRs change); the commit settles
	 * the marked ones (ipam__public_settle). Every existing one starts
	 * marked: the migration's own settle is the backfill. */
	"CREATE TABLE public_dirty(resource_key INTEGER PRIMARY KEY);"
	"CREATE TABLE public_part("
	"  resource_key INTEGER PRIMARY KEY,"
	"  scope_key INTEGER NOT NULL,"
	"  locale TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  associated INTEGER NOT NULL,"
	"  n INTEGER NOT NULL);"
	"CREATE TABLE public_count("
	"  scope_key INTEGER NOT NULL,"
	"  locale TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  associated INTEGER NOT NULL,"
	"  n INTEGER NOT NULL,"
	"  PRIMARY KEY (scope_key, locale, type, associated)) WITHOUT ROWID;"
	"CREATE TRIGGER public_res_i AFTER INSERT ON resource"
	"  WHEN NEW.type IN ('eip', 'network-interface') BEGIN"
	"  INSERT OR IGNORE INTO public_dirty VALUES (NEW.key); END;"
	"CREATE TRIGGER public_res_u AFTER UPDATE OF type, scope_key, locale,"
	"  association, address_type ON resource BEGIN"
	"  INSERT OR IGNORE INTO public_dirty SELECT NEW.key"
	"    WHERE NEW.type IN ('eip', 'network-interface')"
	"    OR OLD.type IN ('eip', 'network-interface');"
	"  INSERT OR IGNORE INTO public_dirty SELECT key FROM resource"
	"    WHERE type = 'eip' AND scope_key IN (NEW.scope_key, OLD.scope_key)"
	"    AND 'public-ipv4-pool' IN (NEW.type, OLD.type); END;"
	"CREATE TRIGGER public_res_d AFTER DELETE ON resource"
	"  WHEN OLD.type IN ('eip', 'network-interface') BEGIN"
	"  INSERT OR IGNORE INTO public_dirty VALUES (OLD.key); END;"
	"CREATE TRIGGER public_cidr_i AFTER INSERT ON resource_cidr BEGIN "
	PUBLIC_MARK("NEW") " END;"
	"CREATE TRIGGER public_cidr_u AFTER UPDATE OF resource_key, family,"
	"  start, prefix, alloc_key ON resource_cidr BEGIN "
	PUBLIC_MARK("NEW") PUBLIC_MARK("OLD") " END;"
	"CREATE TRIGGER public_cidr_d AFTER DELETE ON resource_cidr BEGIN "
	PUBLIC_MARK("OLD") " END;"
	"CREATE TRIGGER public_pool_u AFTER UPDATE OF public_ip_source ON pool"
	"  BEGIN INSERT OR IGNORE INTO public_dirty SELECT c.resource_key"
	"  FROM allocation a JOIN resource_cidr c ON c.alloc_key = a.key"
	"  WHERE a.pool_key = NEW.key; END;"
	"INSERT INTO public_dirty SELECT key FROM resource"
	"  WHERE type IN ('eip', 'network-interface');",
};

#define SCHEMA_COUNT ((int)(sizeof(migrations) / sizeof(migrations[0])))

int ipam__sqlite_schema_count(void)
{
	return SCHEMA_COUNT;
}

/*
 * The change-time triggers (docs/design/times.md, core/model/changed.c
 * says what bumps what). TEMP triggers made by each connection at open, so
 * no code path that writes a row can forget its stamp, and no other
 * program opening the file needs our SQL function ipam_stamp().
 */
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
			       BUMP("pool", "key = " ALLOC_POOL("NEW")) BUMP_PL(
				       "aws_id = NEW.object_id")
				       BUMP("policy", "aws_id = NEW.object_id"),
	       BUMP("scope", "aws_id = OLD.object_id")
		       BUMP("pool", "aws_id = OLD.object_id") BUMP(
			       "allocation", "aws_id = OLD.object_id")
			       BUMP("pool", "key = " ALLOC_POOL("OLD"))
				       BUMP_PL("aws_id = OLD.object_id")
					       BUMP("policy",
						    "aws_id = OLD.object_id")),
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
	/* IPAM policies: the row, its rules, pools and targets */
	TRIGGER("ch_policy_i", "INSERT ON policy",
		BUMP("policy", "key = NEW.key")),
	TRIGGER("ch_policy_u", ANY_UPDATE("policy"),
		BUMP("policy", "key = NEW.key")),
	ON_ALL("ch_policy_rule", "policy_rule",
	       BUMP("policy", "key = NEW.policy_key"),
	       BUMP("policy", "key = OLD.policy_key")),
	ON_ALL("ch_policy_pool", "policy_pool",
	       BUMP("policy", "key = NEW.policy_key"),
	       BUMP("policy", "key = OLD.policy_key")),
	ON_ALL("ch_policy_target", "policy_target",
	       BUMP("policy", "key = NEW.policy_key"),
	       BUMP("policy", "key = OLD.policy_key")),
};

/* ---- connection and statements ---- */

typedef struct sq_store {
	ipam_store base;
	sqlite3 *sql;
	char *path;   /* NULL in memory */
	bool created; /* this connection made the file */
	bool sync_normal;
	ipam_store_delete_fn on_delete;
	void *delete_ctx;
	ipam_store_stamp_fn stamp;
	void *stamp_ctx;
} sq_store;

typedef struct sq_stmt {
	ipam_stmt base;
	sqlite3_stmt *st;
	sq_store *store;
} sq_stmt;

#define SQ(s) ((sq_store *)(s))
#define ST(s) (((sq_stmt *)(s))->st)

/* The ipam_code of a SQLite result code. */
static int sq_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return IPAM_ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return IPAM_EBUSY;
	case SQLITE_CONSTRAINT:
		return IPAM_EEXIST;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return IPAM_ESCHEMA;
	default:
		return IPAM_EIO;
	}
}

/* Fills err from a SQLite result code and the connection's message. */
static int sq_fail(sq_store *s, int rc, ipam_err *err)
{
	int code = sq_code(rc);
	switch (code) {
	case IPAM_ENOMEM:
		return ipam__fail(err, code, "out of memory");
	case IPAM_EEXIST:
		return ipam__fail(err, code, "constraint failed: %s",
				  sqlite3_errmsg(s->sql));
	case IPAM_EBUSY:
		return ipam__fail(err, code, "database is in use: %s",
				  sqlite3_errmsg(s->sql));
	case IPAM_ESCHEMA:
		return ipam__fail(err, code, "the database is damaged: %s",
				  sqlite3_errmsg(s->sql));
	default:
		return ipam__fail(err, code, "storage failure: %s",
				  sqlite3_errmsg(s->sql));
	}
}

static int sq_error(ipam_store *store, ipam_err *err)
{
	return sq_fail(SQ(store), sqlite3_errcode(SQ(store)->sql), err);
}

static void sq_close(ipam_store *store, bool discard)
{
	sq_store *s = SQ(store);
	if (!s)
		return;
	if (s->sql)
		sqlite3_close(s->sql);
	if (discard && s->created && s->path) {
		/* leave nothing behind that we created */
		char side[4096];
		unlink(s->path);
		snprintf(side, sizeof(side), "%s-wal", s->path);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", s->path);
		unlink(side);
	}
	free(s->path);
	free(s);
}

static int sq_exec(ipam_store *store, const char *script, ipam_err *err)
{
	int rc = sqlite3_exec(SQ(store)->sql, script, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : sq_fail(SQ(store), rc, err);
}

static bool sq_in_transaction(ipam_store *store)
{
	return sqlite3_get_autocommit(SQ(store)->sql) == 0;
}

static int64_t sq_changes(ipam_store *store)
{
	return sqlite3_changes(SQ(store)->sql);
}

static int64_t sq_last_insert_id(ipam_store *store)
{
	return sqlite3_last_insert_rowid(SQ(store)->sql);
}

static const ipam_store_driver sqlite_driver;

static int sq_prepare(ipam_store *store, const char *sql, ipam_stmt **out,
		      ipam_err *err)
{
	sq_stmt *stmt = calloc(1, sizeof(*stmt));
	int rc;

	*out = NULL;
	if (!stmt)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	rc = sqlite3_prepare_v3(SQ(store)->sql, sql, -1,
				SQLITE_PREPARE_PERSISTENT, &stmt->st, NULL);
	if (rc != SQLITE_OK) {
		free(stmt);
		return sq_fail(SQ(store), rc, err);
	}
	stmt->base.driver = &sqlite_driver;
	stmt->store = SQ(store);
	*out = &stmt->base;
	return 0;
}

static void sq_finalize(ipam_stmt *stmt)
{
	if (!stmt)
		return;
	sqlite3_finalize(ST(stmt));
	free(stmt);
}

static int sq_step(ipam_stmt *stmt, ipam_err *err)
{
	int rc = sqlite3_step(ST(stmt));
	if (rc == SQLITE_ROW)
		return IPAM_ROW;
	if (rc == SQLITE_DONE)
		return IPAM_DONE;
	/* the connection's code: step's own is the generic SQLITE_ERROR in
	 * some builds */
	return sq_fail(((sq_stmt *)stmt)->store,
		       sqlite3_errcode(((sq_stmt *)stmt)->store->sql), err);
}

static void sq_reset(ipam_stmt *stmt)
{
	sqlite3_reset(ST(stmt));
	sqlite3_clear_bindings(ST(stmt));
}

static int sq_bound(int rc)
{
	return rc == SQLITE_OK	    ? 0
	       : rc == SQLITE_NOMEM ? IPAM_ENOMEM
				    : IPAM_EINVAL;
}

static int sq_bind_int64(ipam_stmt *stmt, int idx, int64_t value)
{
	return sq_bound(sqlite3_bind_int64(ST(stmt), idx, value));
}

static int sq_bind_text(ipam_stmt *stmt, int idx, const char *text, int n)
{
	return sq_bound(
		sqlite3_bind_text(ST(stmt), idx, text, n, SQLITE_TRANSIENT));
}

static int sq_bind_blob(ipam_stmt *stmt, int idx, const void *blob, int n)
{
	return sq_bound(
		sqlite3_bind_blob(ST(stmt), idx, blob, n, SQLITE_TRANSIENT));
}

static int sq_bind_null(ipam_stmt *stmt, int idx)
{
	return sq_bound(sqlite3_bind_null(ST(stmt), idx));
}

static int64_t sq_col_int64(ipam_stmt *stmt, int col)
{
	return sqlite3_column_int64(ST(stmt), col);
}

static const char *sq_col_text(ipam_stmt *stmt, int col)
{
	return (const char *)sqlite3_column_text(ST(stmt), col);
}

static const void *sq_col_blob(ipam_stmt *stmt, int col)
{
	return sqlite3_column_blob(ST(stmt), col);
}

static int sq_col_bytes(ipam_stmt *stmt, int col)
{
	return sqlite3_column_bytes(ST(stmt), col);
}

static ipam_coltype sq_col_type(ipam_stmt *stmt, int col)
{
	switch (sqlite3_column_type(ST(stmt), col)) {
	case SQLITE_INTEGER:
		return IPAM_COL_INT;
	case SQLITE_FLOAT:
		return IPAM_COL_FLOAT;
	case SQLITE_TEXT:
		return IPAM_COL_TEXT;
	case SQLITE_BLOB:
		return IPAM_COL_BLOB;
	default:
		return IPAM_COL_NULL;
	}
}

/* ---- schema ---- */

/* One integer from a PRAGMA or query, with the refusal of a file that is
 * not a usable database. */
static int pragma_int(sq_store *s, const char *sql, int64_t *out, ipam_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(s->sql, sql, -1, &stmt, NULL);
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
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return ipam__fail(err, IPAM_EBUSY, "database is in use");
	if (rc == SQLITE_CORRUPT)
		return ipam__fail(err, IPAM_ESCHEMA,
				  "the database is damaged: %s",
				  sqlite3_errstr(rc));
	return ipam__fail(err, IPAM_ESCHEMA, "not a usable database: %s",
			  sqlite3_errstr(rc));
}

static int sq_schema_version(ipam_store *store, int64_t *out, ipam_err *err)
{
	return pragma_int(SQ(store), "PRAGMA user_version", out, err);
}

static int sq_migrate(ipam_store *store, int64_t version, int64_t to,
		      ipam_err *err)
{
	char sql[64];
	int rc = 0;

	if (to > SCHEMA_COUNT)
		return ipam__fail(err, IPAM_ESCHEMA,
				  "no schema version %lld for SQLite",
				  (long long)to);
	for (int64_t v = version; rc == 0 && v < to; v++)
		rc = sq_exec(store, migrations[v], err);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %lld", (long long)to);
	if (rc == 0)
		rc = sq_exec(store, sql, err);
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", IPAM_APP_ID);
	if (rc == 0)
		rc = sq_exec(store, sql, err);
	return rc;
}

/* SQL function ipam_stamp(): the stamp of the current transaction. It runs
 * no SQL (it is called inside the statements of the change). */
static void sql_stamp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	sq_store *s = sqlite3_user_data(ctx);
	(void)argc;
	(void)argv;
	sqlite3_result_int64(ctx, s->stamp(s->stamp_ctx));
}

/*
 * `sql` with its "@" replaced by the columns of the table named after
 * " ON " that follows it, except `changed` and `history_key` (a link to the
 * history row, which no file shows) (sqlite3_malloc'd; NULL when out of
 * memory or when the table cannot be read).
 */
static char *update_columns(sq_store *s, const char *sql)
{
	const char *at = strchr(sql, '@');
	if (!at)
		return sqlite3_mprintf("%s", sql);
	char table[32];
	if (sscanf(at, "@ ON %31[a-z_]", table) != 1)
		return NULL;
	char *pragma = sqlite3_mprintf("PRAGMA table_info(%s)", table);
	sqlite3_stmt *stmt = NULL;
	char *cols = NULL;
	bool failed = !pragma || sqlite3_prepare_v2(s->sql, pragma, -1, &stmt,
						    NULL) != SQLITE_OK;
	while (!failed && sqlite3_step(stmt) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(stmt, 1);
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

static int sq_session(ipam_store *store, ipam_store_stamp_fn stamp, void *ctx,
		      ipam_err *err)
{
	sq_store *s = SQ(store);
	int rc;

	s->stamp = stamp;
	s->stamp_ctx = ctx;
	rc = sqlite3_create_function(s->sql, "ipam_stamp", 0, SQLITE_UTF8, s,
				     sql_stamp, NULL, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, err);
	/* Each trigger in its own statement and no transaction around them:
	 * a failure (out of memory) leaves nothing open. */
	rc = 0;
	for (size_t i = 0;
	     rc == 0 && i < sizeof(triggers) / sizeof(triggers[0]); i++) {
		char *sql = update_columns(s, triggers[i]);
		if (!sql)
			rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
		else
			rc = sq_exec(store, sql, err);
		sqlite3_free(sql);
	}
	return rc;
}

/* The triggers of the rows the bulk allocator writes (an allocation, its
 * history record, its change event inserted), which it stands in for
 * while it holds them (model/changed.c, docs/design/import.md). */
static const char *const held_names[] = {"ch_alloc_i", "ch_history_i",
					 "ch_event"};

static int sq_hold_row_triggers(ipam_store *store, bool hold, ipam_err *err)
{
	int rc = 0;
	for (size_t i = 0;
	     rc == 0 && i < sizeof(held_names) / sizeof(held_names[0]); i++) {
		char head[64];
		const char *sql = NULL;
		snprintf(head, sizeof(head), "IF NOT EXISTS %s ",
			 held_names[i]);
		for (size_t k = 0;
		     !sql && k < sizeof(triggers) / sizeof(triggers[0]); k++)
			if (strstr(triggers[k], head))
				sql = triggers[k];
		if (!hold && !sql)
			return ipam__fail(err, IPAM_EIO, "no trigger %s",
					  held_names[i]);
		if (hold) {
			char drop[64];
			snprintf(drop, sizeof(drop),
				 "DROP TRIGGER IF EXISTS temp.%s",
				 held_names[i]);
			rc = sq_exec(store, drop, err);
		} else {
			rc = sq_exec(store, sql, err);
		}
	}
	return rc;
}

/* sqlite3_update_hook: hands deleted rows to the seam's hook. */
static void note_delete(void *ctx, int op, const char *dbname,
			const char *table, sqlite3_int64 rowid)
{
	sq_store *s = ctx;
	(void)dbname;
	if (op == SQLITE_DELETE && s->on_delete)
		s->on_delete(s->delete_ctx, table, rowid);
}

static void sq_set_delete_hook(ipam_store *store, ipam_store_delete_fn fn,
			       void *ctx)
{
	sq_store *s = SQ(store);
	s->on_delete = fn;
	s->delete_ctx = ctx;
	sqlite3_update_hook(s->sql, fn ? note_delete : NULL, s);
}

/* ---- whole database ---- */

static int sq_check(ipam_store *store, ipam_err *err)
{
	sq_store *s = SQ(store);
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(s->sql, "PRAGMA integrity_check", -1, &stmt,
				    NULL);

	if (rc != SQLITE_OK) {
		rc = sq_fail(s, rc, err);
	} else if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		rc = sq_fail(s, sqlite3_errcode(s->sql), err);
	} else {
		const char *res = (const char *)sqlite3_column_text(stmt, 0);
		rc = 0;
		if (!res || strcmp(res, "ok"))
			rc = ipam__fail(err, IPAM_EIO, "integrity check: %s",
					res ? res : "no answer");
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* With synchronous=FULL (the default) each commit already is durable;
 * with sync_normal the WAL is written but not synced at commit: a full
 * checkpoint syncs the WAL, copies it into the database and syncs that. */
static int sq_sync(ipam_store *store, ipam_err *err)
{
	sq_store *s = SQ(store);
	int rc;
	if (!s->sync_normal)
		return 0;
	rc = sqlite3_wal_checkpoint_v2(s->sql, NULL, SQLITE_CHECKPOINT_FULL,
				       NULL, NULL);
	return rc == SQLITE_OK ? 0 : sq_fail(s, rc, err);
}

/* The pages as the handle sees them, WAL included: a SQLite file that
 * opens (and mounts) on its own. */
static int sq_backup(ipam_store *store, unsigned char **out, size_t *len,
		     ipam_err *err)
{
	sqlite3_int64 size = 0;
	unsigned char *image, *copy = NULL;
	int rc = 0;

	image = sqlite3_serialize(SQ(store)->sql, "main", &size, 0);
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
	*out = copy;
	*len = rc ? 0 : (size_t)size;
	return rc;
}

/* Pages in use, including those only in the WAL yet. */
static int64_t sq_size(ipam_store *store)
{
	int64_t pages = 0, page_size = 0;
	if (pragma_int(SQ(store), "PRAGMA page_count", &pages, NULL) ||
	    pragma_int(SQ(store), "PRAGMA page_size", &page_size, NULL))
		return 0;
	return pages * page_size;
}

static const ipam_store_driver sqlite_driver = {
	.name = "sqlite",
	.close = sq_close,
	.exec = sq_exec,
	.error = sq_error,
	.in_transaction = sq_in_transaction,
	.changes = sq_changes,
	.last_insert_id = sq_last_insert_id,
	.prepare = sq_prepare,
	.finalize = sq_finalize,
	.step = sq_step,
	.reset = sq_reset,
	.bind_int64 = sq_bind_int64,
	.bind_text = sq_bind_text,
	.bind_blob = sq_bind_blob,
	.bind_null = sq_bind_null,
	.col_int64 = sq_col_int64,
	.col_text = sq_col_text,
	.col_blob = sq_col_blob,
	.col_bytes = sq_col_bytes,
	.col_type = sq_col_type,
	.schema_version = sq_schema_version,
	.migrate = sq_migrate,
	.session = sq_session,
	.hold_row_triggers = sq_hold_row_triggers,
	.set_delete_hook = sq_set_delete_hook,
	.check = sq_check,
	.sync = sq_sync,
	.backup = sq_backup,
	.size = sq_size,
};

struct sqlite3 *ipam__sqlite_handle(ipam_store *store)
{
	return store && store->driver == &sqlite_driver ? SQ(store)->sql : NULL;
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

/* Checks what the file holds before anything is written to it. */
static int validate(sq_store *s, const char *path, int64_t *version,
		    ipam_err *err)
{
	int64_t app_id = 0, tables = 0;
	int rc = pragma_int(s, "PRAGMA application_id", &app_id, err);

	if (rc == 0)
		rc = pragma_int(s, "PRAGMA user_version", version, err);
	if (rc == 0)
		rc = pragma_int(s, "SELECT count(*) FROM sqlite_master",
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
	if (*version > SCHEMA_COUNT)
		return ipam__fail(err, IPAM_ESCHEMA,
				  "'%s' has schema version %lld, newer than "
				  "this ipamfs (%d): upgrade ipamfs",
				  path, (long long)*version, SCHEMA_COUNT);
	if (*version < 1)
		return ipam__fail(err, IPAM_ESCHEMA,
				  "'%s' has no ipamfs schema", path);
	return 0;
}

/* PRAGMA quick_check, before anything is written: a damaged file is
 * refused rather than written to (the allocator would trust a damaged
 * free-space index). */
static int quick_check(sq_store *s, const char *path, ipam_err *err)
{
	sqlite3_stmt *stmt = NULL;
	const char *res;
	int rc = sqlite3_prepare_v2(s->sql, "PRAGMA quick_check(1)", -1, &stmt,
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
			path, res ? res : sqlite3_errmsg(s->sql));
	sqlite3_finalize(stmt);
	return rc;
}

/* Makes the handle the file's only user for its whole life: WAL with an
 * exclusive lock taken now (not at the first write), so a second mount is
 * refused at open. The WAL index then lives in memory and a transaction
 * costs no lock system calls. */
static int take_file(sq_store *s, const char *path, ipam_err *err)
{
	int rc = sq_exec(&s->base, "PRAGMA locking_mode = EXCLUSIVE", err);
	if (rc == 0)
		rc = sq_exec(&s->base, "PRAGMA journal_mode = WAL", err);
	if (rc == 0)
		rc = sq_exec(&s->base, "BEGIN EXCLUSIVE; COMMIT", err);
	if (rc == IPAM_EBUSY) {
		pid_t pid = lock_holder(path);
		if (err)
			err->code = IPAM_OK;
		rc = in_use(path, pid, err);
	}
	return rc;
}

/* Opens the SQLite connection and checks, then takes, the file. */
static int open_connection(sq_store *s, const ipam_store_open *how,
			   ipam_err *err)
{
	const char *path = how->path;
	int64_t version = 0;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX;
	int rc;

	if (sqlite3_open_v2(how->in_memory ? ":memory:" : path, &s->sql, flags,
			    NULL) != SQLITE_OK)
		return ipam__fail(err, IPAM_EIO, "cannot open '%s': %s", path,
				  s->sql ? sqlite3_errmsg(s->sql)
					 : "out of memory");
	sqlite3_extended_result_codes(s->sql, 0);
	/* Only the instant of another process's open can be waited out: a
	 * mount holds its lock for good. */
	sqlite3_busy_timeout(s->sql, 1000);
	rc = validate(s, path, &version, err);
	if (rc == IPAM_EBUSY) {
		if (err)
			err->code = IPAM_OK;
		rc = in_use(path, lock_holder(path), err);
	}
	if (rc == 0 && !how->in_memory)
		rc = take_file(s, path, err);
	if (rc == 0 && version > 0 && !how->skip_check)
		rc = quick_check(s, path, err);
	/* From here on the file is ours. */
	if (rc == 0)
		rc = sq_exec(&s->base,
			     s->sync_normal ? "PRAGMA foreign_keys = ON;"
					      "PRAGMA synchronous = NORMAL;"
					    : "PRAGMA foreign_keys = ON;"
					      "PRAGMA synchronous = FULL;",
			     err);
	return rc;
}

/* Refuses what the path names before SQLite sees it; *create is set when
 * a new database is to be made. */
static int check_path(const ipam_store_open *how, bool *create, ipam_err *err)
{
	const char *path = how->path;
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
	if (kind == 0 && !how->create)
		return ipam__fail(err, IPAM_ENOENT, "'%s' does not exist",
				  path);
	if (kind == 1 && (pid = lock_holder(path)) != 0)
		return in_use(path, pid, err);
	if (kind == 0) {
		int rc = ipam__check_locale(
			how->home_locale ? how->home_locale : "local", err);
		if (rc)
			return rc;
		*create = true;
	}
	return 0;
}

int ipam__sqlite_open(ipam_store **out, const ipam_store_open *how,
		      ipam_err *err)
{
	bool create = false;
	sq_store *s;
	int rc;

	*out = NULL;
	if (!how->in_memory && (rc = check_path(how, &create, err)))
		return rc;
	if (create && (rc = create_file(how->path, err)))
		return rc;
	s = calloc(1, sizeof(*s));
	if (s && !how->in_memory && !(s->path = ipam__strdup(how->path))) {
		free(s);
		s = NULL;
	}
	if (!s) {
		if (create)
			unlink(how->path);
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	s->base.driver = &sqlite_driver;
	s->created = create;
	s->sync_normal = how->sync_normal;
	rc = open_connection(s, how, err);
	if (rc) {
		sq_close(&s->base, true);
		return rc;
	}
	*out = &s->base;
	return 0;
}
