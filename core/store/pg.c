/*
 * pg.c - the PostgreSQL engine of the storage seam (store.h), through
 * libpq. docs/design/pg.md says what works and what does not yet.
 *
 * A connection is one PGconn, opened from a libpq connection string or a
 * postgresql:// URI. Statements are the seam's: the SQL text model code
 * writes (the portable subset of docs/design/store.md) with its `?N` / `?`
 * placeholders rewritten to `$N` once, when prepared. A statement with a
 * plan (SELECT, INSERT, UPDATE, DELETE, WITH) is prepared on the server at
 * its first step (PQprepare, "s<n>") for the parameter types of its binds
 * (int8, text, bytea in binary, or unknown for NULL), up to four such
 * signatures each, then run with PQexecPrepared; a reconnect drops them
 * (prepared again when next run), a finalized statement's are
 * DEALLOCATEd outside a transaction. Transaction statements run with
 * PQexecParams, dialect texts of several statements with PQexec. Rows are
 * read from the result in text format (bytea decoded from its hex form,
 * booleans as 0/1).
 *
 * A COMMIT whose answer is lost with the connection may have committed:
 * the transaction's id was read before it (txid_current_if_assigned), and
 * a new connection asks the server (txid_status): committed is success,
 * aborted the usual EIO, and when the server cannot be asked the EIO says
 * the outcome is unknown (docs/design/pg.md, "Losing the connection").
 *
 * Errors map by SQLSTATE: class 23 (integrity: unique, foreign key, check,
 * the exclusion constraint over allocations) is IPAM_EEXIST; 40001
 * (serialization failure) and 40P01 (deadlock) IPAM_EBUSY, which the
 * caller retries; 53200 (out of memory) IPAM_ENOMEM; XX001/XX002 (data
 * corrupted) IPAM_ESCHEMA; a lost connection (class 08, 57P0x, or the
 * connection found bad) IPAM_EIO, and the next statement outside a
 * transaction reconnects (PQreset, then the session settings again):
 * commands fail with EIO while the server is away and work again when it
 * is back.
 *
 * Other daemons: a transaction that changed rows NOTIFYs the channel
 * `ipamfs` (payload: the newest event) just before its COMMIT, so the
 * notification leaves only if it commits; wait_others LISTENs on a second
 * connection of its own and reports what other connections announced
 * (docs/design/pg.md, "Seeing other daemons' changes"). Reading and
 * creating the schema happen under an advisory lock, so daemons mounting
 * one empty database at once all succeed.
 *
 * The schema is created in one piece at the current schema version
 * (pg_schema below); later versions are migrations in pg_migrations.
 * Its allocation table carries the structural no-overlap guarantee: a
 * `span` numrange of the addresses each allocation covers, computed by a
 * trigger from (start, prefix) and the pool's family, and
 *   EXCLUDE USING gist (pool_key WITH =, span WITH &&)
 * (btree_gist for the `=`), so no client with SQL access, buggy or
 * hostile, can store two overlapping allocations in one pool.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "pg.h"

/* The type oids of the binds and results we use (pg_type.h, stable). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

static const char *in_dialect(const char *sql);
struct pg_store;
static bool pg_ours(struct pg_store *s);
static int control_of(const char *sql);
static bool removals_on(struct pg_store *s);
static int pg_control(struct pg_store *s, int kind, const char *sql,
		      ipam_err *err);

/* The schema version, and the table every write transaction locks
 * (dialect[]): made first, by itself, in an empty database. */
#define PG_META_TABLE                                                          \
	"CREATE TABLE IF NOT EXISTS ipamfs_meta(key text PRIMARY KEY,"         \
	"  value bigint NOT NULL);"

/* The first schema version the PostgreSQL schema below stands for. */
#define PG_BASE_VERSION 6

/*
 * The whole schema at version PG_BASE_VERSION: the tables of
 * sqlite.c's migrations 0..6 in PostgreSQL's types (keys bigint identity,
 * addresses and 128-bit counters bytea of 16 bytes, flags integer 0/1 as
 * the model binds them), plus the allocation span and its exclusion
 * constraint.
 */
static const char *const pg_schema[] = {
	"CREATE EXTENSION IF NOT EXISTS btree_gist;",
	PG_META_TABLE
	/* 16-byte big-endian key -> numeric */
	"CREATE FUNCTION ipam_addr_num(b bytea) RETURNS numeric"
	"  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$"
	"  SELECT sum(get_byte(b, i)::numeric * (256::numeric ^ (15 - i)))"
	"  FROM generate_series(0, length(b) - 1) AS i $$;"
	/* scalar max of two keys, and max() over keys as an aggregate */
	"CREATE FUNCTION ipam_bytea_larger(a bytea, b bytea) RETURNS bytea"
	"  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$"
	"  SELECT CASE WHEN a IS NULL OR b > a THEN b ELSE a END $$;",
	"CREATE AGGREGATE max(bytea) (SFUNC = ipam_bytea_larger,"
	"  STYPE = bytea);",
	"CREATE TABLE ipam("
	"  id bigint PRIMARY KEY CHECK (id = 1),"
	"  aws_id text NOT NULL,"
	"  home_locale text NOT NULL,"
	"  description text NOT NULL DEFAULT '',"
	"  tier text NOT NULL DEFAULT 'advanced',"
	"  private_gua bigint NOT NULL DEFAULT 0,"
	"  owner_uid bigint NOT NULL,"
	"  created bigint NOT NULL,"
	"  id_salt bigint NOT NULL,"
	"  id_counter bigint NOT NULL DEFAULT 0,"
	"  retention_days bigint NOT NULL DEFAULT 1095,"
	"  changed bigint NOT NULL DEFAULT 0);",
	"CREATE TABLE locale(name text PRIMARY KEY);",
	"CREATE TABLE quota(name text PRIMARY KEY, value bigint NOT NULL);",
	"CREATE TABLE scope("
	"  key bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  aws_id text NOT NULL UNIQUE,"
	"  name text NOT NULL UNIQUE,"
	"  is_public bigint NOT NULL,"
	"  is_default bigint NOT NULL,"
	"  description text NOT NULL DEFAULT '',"
	"  created bigint NOT NULL,"
	"  uid bigint NOT NULL, gid bigint NOT NULL, mode bigint NOT NULL,"
	"  n_pools bigint NOT NULL DEFAULT 0,"
	"  changed bigint NOT NULL DEFAULT 0);",
	"CREATE TABLE pool("
	"  key bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  aws_id text NOT NULL UNIQUE,"
	"  scope_key bigint NOT NULL REFERENCES scope(key),"
	"  parent_key bigint REFERENCES pool(key),"
	"  name text NOT NULL,"
	"  depth bigint NOT NULL,"
	"  family bigint NOT NULL,"
	"  family_locked bigint NOT NULL DEFAULT 0,"
	"  locale text NOT NULL DEFAULT '',"
	"  auto_import bigint NOT NULL DEFAULT 0,"
	"  min_netmask bigint NOT NULL DEFAULT -1,"
	"  max_netmask bigint NOT NULL DEFAULT -1,"
	"  default_netmask bigint NOT NULL DEFAULT -1,"
	"  strategy bigint NOT NULL DEFAULT 0,"
	"  description text NOT NULL DEFAULT '',"
	"  advertisable bigint NOT NULL DEFAULT 0,"
	"  aws_service text NOT NULL DEFAULT '',"
	"  public_ip_source text NOT NULL DEFAULT 'byoip',"
	"  total bytea NOT NULL, to_pools bytea NOT NULL,"
	"  assigned bytea NOT NULL,"
	"  n_cidrs bigint NOT NULL DEFAULT 0,"
	"  n_allocs bigint NOT NULL DEFAULT 0,"
	"  n_compliant bigint NOT NULL DEFAULT 0,"
	"  n_noncompliant bigint NOT NULL DEFAULT 0,"
	"  created bigint NOT NULL,"
	"  uid bigint NOT NULL, gid bigint NOT NULL, mode bigint NOT NULL,"
	"  changed bigint NOT NULL DEFAULT 0);",
	"CREATE UNIQUE INDEX pool_name ON pool(scope_key,"
	"  coalesce(parent_key, 0), name);",
	"CREATE INDEX pool_parent ON pool(parent_key);",
	"CREATE INDEX pool_scope ON pool(scope_key);",
	"CREATE TABLE pool_rule_tag("
	"  pool_key bigint NOT NULL REFERENCES pool(key),"
	"  key text NOT NULL, value text NOT NULL,"
	"  PRIMARY KEY (pool_key, key));",
	"CREATE TABLE allocation("
	"  key bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  aws_id text NOT NULL UNIQUE,"
	"  pool_key bigint NOT NULL REFERENCES pool(key),"
	"  name text NOT NULL,"
	"  start bytea NOT NULL CHECK (length(start) = 16),"
	"  prefix bigint NOT NULL CHECK (prefix BETWEEN 0 AND 128),"
	"  resource_type text NOT NULL,"
	"  resource_id text NOT NULL DEFAULT '',"
	"  resource_region text NOT NULL DEFAULT '',"
	"  description text NOT NULL DEFAULT '',"
	"  compliant bigint NOT NULL DEFAULT 1,"
	"  reason text NOT NULL DEFAULT '',"
	"  created bigint NOT NULL,"
	"  uid bigint NOT NULL, gid bigint NOT NULL, mode bigint NOT NULL,"
	"  history_key bigint,"
	"  changed bigint NOT NULL DEFAULT 0,"
	"  span numrange NOT NULL,"
	"  UNIQUE (pool_key, name),"
	"  EXCLUDE USING gist (pool_key WITH =, span WITH &&));",
	"CREATE UNIQUE INDEX allocation_addr ON allocation(pool_key, start);"
	/* the span is the database's, whatever a client writes */
	"CREATE FUNCTION ipam_alloc_span() RETURNS trigger LANGUAGE plpgsql AS $$"
	"DECLARE width int; lo numeric;"
	"BEGIN"
	"  SELECT CASE WHEN family = 4 THEN 32 ELSE 128 END INTO width"
	"    FROM pool WHERE key = NEW.pool_key;"
	"  IF width IS NULL OR NEW.prefix > width THEN"
	"    RAISE EXCEPTION USING ERRCODE = 'check_violation',"
	"      MESSAGE = 'allocation prefix /' || NEW.prefix"
	"        || ' does not fit its pool';"
	"  END IF;"
	"  lo := ipam_addr_num(NEW.start);"
	"  NEW.span := numrange(lo, lo + 2::numeric ^ (width - NEW.prefix),"
	"    '[)');"
	"  RETURN NEW;"
	"END $$;",
	"CREATE TRIGGER allocation_span BEFORE INSERT OR UPDATE ON allocation"
	"  FOR EACH ROW EXECUTE FUNCTION ipam_alloc_span();",
	"CREATE TABLE pool_cidr("
	"  key bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  aws_id text NOT NULL UNIQUE,"
	"  pool_key bigint NOT NULL REFERENCES pool(key),"
	"  start bytea NOT NULL,"
	"  prefix bigint NOT NULL,"
	"  created bigint NOT NULL,"
	"  parent_alloc bigint REFERENCES allocation(key),"
	"  UNIQUE (pool_key, start));",
	"CREATE TABLE free_block("
	"  pool_key bigint NOT NULL REFERENCES pool(key),"
	"  start bytea NOT NULL,"
	"  prefix bigint NOT NULL,"
	"  PRIMARY KEY (pool_key, start));",
	"CREATE INDEX free_block_size ON free_block(pool_key, prefix, start);",
	"CREATE TABLE tag("
	"  object_id text NOT NULL, key text NOT NULL, value text NOT NULL,"
	"  PRIMARY KEY (object_id, key));",
	"CREATE TABLE event("
	"  seq bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  time bigint NOT NULL,"
	"  uid bigint NOT NULL,"
	"  pid bigint NOT NULL,"
	"  action text NOT NULL,"
	"  object_id text NOT NULL,"
	"  detail text NOT NULL);",
	"CREATE TABLE discovery("
	"  key bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  aws_id text NOT NULL UNIQUE,"
	"  name text NOT NULL UNIQUE,"
	"  scope_key bigint NOT NULL REFERENCES scope(key),"
	"  locale text NOT NULL DEFAULT '',"
	"  builtin bigint NOT NULL DEFAULT 0,"
	"  last_feed bigint NOT NULL DEFAULT 0,"
	"  created bigint NOT NULL,"
	"  changed bigint NOT NULL DEFAULT 0,"
	"  snapshot text,"
	"  unmonitored bigint NOT NULL DEFAULT 0);",
	"CREATE TABLE resource("
	"  key bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  scope_key bigint NOT NULL REFERENCES scope(key),"
	"  resource_id text NOT NULL,"
	"  type text NOT NULL,"
	"  name text NOT NULL DEFAULT '',"
	"  locale text NOT NULL DEFAULT '',"
	"  owner text NOT NULL DEFAULT '',"
	"  vpc_id text NOT NULL DEFAULT '',"
	"  active_ips bytea,"
	"  ignored bigint NOT NULL DEFAULT 0,"
	"  discovery_key bigint REFERENCES discovery(key),"
	"  created bigint NOT NULL,"
	"  changed bigint NOT NULL DEFAULT 0,"
	"  UNIQUE (scope_key, resource_id));",
	"CREATE INDEX resource_vpc ON resource(scope_key, vpc_id);",
	"CREATE INDEX resource_discovery ON resource(discovery_key);",
	"CREATE TABLE resource_tag("
	"  resource_key bigint NOT NULL REFERENCES resource(key),"
	"  key text NOT NULL, value text NOT NULL,"
	"  PRIMARY KEY (resource_key, key));",
	"CREATE TABLE resource_cidr("
	"  key bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  resource_key bigint NOT NULL REFERENCES resource(key),"
	"  family bigint NOT NULL,"
	"  start bytea NOT NULL,"
	"  prefix bigint NOT NULL,"
	"  alloc_key bigint REFERENCES allocation(key),"
	"  compliance text NOT NULL DEFAULT '-',"
	"  reason text NOT NULL DEFAULT '',"
	"  overlap text NOT NULL DEFAULT '-',"
	"  history_key bigint,"
	"  UNIQUE (resource_key, family, start, prefix));",
	"CREATE INDEX resource_cidr_alloc ON resource_cidr(alloc_key);",
	"CREATE INDEX resource_cidr_addr ON resource_cidr(family, start);",
	"CREATE TABLE scope_cidr("
	"  scope_key bigint NOT NULL,"
	"  family bigint NOT NULL,"
	"  start bytea NOT NULL,"
	"  prefix bigint NOT NULL,"
	"  kind text NOT NULL,"
	"  owner bigint NOT NULL,"
	"  PRIMARY KEY (scope_key, family, start, prefix, kind, owner));",
	"CREATE TABLE scope_prefix("
	"  scope_key bigint NOT NULL,"
	"  family bigint NOT NULL,"
	"  prefix bigint NOT NULL,"
	"  count bigint NOT NULL,"
	"  PRIMARY KEY (scope_key, family, prefix));",
	"CREATE TABLE history("
	"  key bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  scope_key bigint NOT NULL,"
	"  family bigint NOT NULL,"
	"  start bytea NOT NULL,"
	"  prefix bigint NOT NULL,"
	"  resource_id text NOT NULL,"
	"  resource_type text NOT NULL,"
	"  resource_name text NOT NULL DEFAULT '',"
	"  owner text NOT NULL DEFAULT '',"
	"  region text NOT NULL DEFAULT '',"
	"  vpc_id text NOT NULL DEFAULT '',"
	"  compliance text NOT NULL DEFAULT '',"
	"  overlap text NOT NULL DEFAULT '',"
	"  start_time bigint NOT NULL,"
	"  end_time bigint);",
	"CREATE INDEX history_cidr ON history(scope_key, family, start, prefix,"
	"  start_time);",
	"CREATE INDEX history_end ON history(end_time)"
	"  WHERE end_time IS NOT NULL;",
	"CREATE TABLE prefix_list("
	"  key bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  aws_id text NOT NULL UNIQUE,"
	"  name text NOT NULL UNIQUE,"
	"  family bigint NOT NULL DEFAULT 4,"
	"  description text NOT NULL DEFAULT '',"
	"  version bigint NOT NULL DEFAULT 1,"
	"  oldest bigint NOT NULL DEFAULT 1,"
	"  dirty bigint NOT NULL DEFAULT 0,"
	"  created bigint NOT NULL,"
	"  changed bigint NOT NULL,"
	"  touched bigint NOT NULL DEFAULT 0);",
	"CREATE INDEX prefix_list_dirty ON prefix_list(dirty) WHERE dirty <> 0;",
	"CREATE TABLE pl_rule("
	"  list_key bigint NOT NULL,"
	"  line bigint NOT NULL,"
	"  kind bigint NOT NULL,"
	"  scope_key bigint NOT NULL,"
	"  rtype text NOT NULL,"
	"  text text NOT NULL,"
	"  PRIMARY KEY (list_key, line));",
	"CREATE INDEX pl_rule_scope ON pl_rule(scope_key, kind, rtype);",
	"CREATE TABLE pl_member("
	"  list_key bigint NOT NULL,"
	"  src_kind bigint NOT NULL,"
	"  src_key bigint NOT NULL,"
	"  family bigint NOT NULL,"
	"  start bytea NOT NULL,"
	"  prefix bigint NOT NULL,"
	"  PRIMARY KEY (list_key, src_kind, src_key));",
	"CREATE INDEX pl_member_cidr ON pl_member(list_key, family, start,"
	"  prefix);",
	"CREATE INDEX pl_member_src ON pl_member(src_kind, src_key);",
	"CREATE TABLE pl_entry("
	"  list_key bigint NOT NULL,"
	"  family bigint NOT NULL,"
	"  start bytea NOT NULL,"
	"  prefix bigint NOT NULL,"
	"  PRIMARY KEY (list_key, family, start));",
	"CREATE TABLE pl_diff("
	"  list_key bigint NOT NULL,"
	"  version bigint NOT NULL,"
	"  family bigint NOT NULL,"
	"  start bytea NOT NULL,"
	"  prefix bigint NOT NULL,"
	"  added bigint NOT NULL,"
	"  PRIMARY KEY (list_key, version, family, start, prefix));",
	"CREATE TABLE pl_target("
	"  list_key bigint NOT NULL,"
	"  name text NOT NULL,"
	"  format bigint NOT NULL DEFAULT 0,"
	"  desired bigint NOT NULL DEFAULT 0,"
	"  created bigint NOT NULL,"
	"  PRIMARY KEY (list_key, name));",
};

/*
 * Schema versions after PG_BASE_VERSION, one script each: the PostgreSQL
 * text of sqlite.c's migrations[PG_BASE_VERSION..], in the same order
 * (same tables, columns and indexes; the types as pg_schema uses them).
 */
static const char *const pg_migrations[] = {
	/* 6 -> 7: IPAM policies (model/policy.c) */
	"CREATE TABLE policy("
	"  key bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  aws_id text NOT NULL UNIQUE,"
	"  name text NOT NULL UNIQUE,"
	"  description text NOT NULL DEFAULT '',"
	"  overflow bigint NOT NULL DEFAULT 1,"
	"  enabled bigint NOT NULL DEFAULT 0,"
	"  created bigint NOT NULL,"
	"  changed bigint NOT NULL DEFAULT 0);"
	"CREATE TABLE policy_rule("
	"  policy_key bigint NOT NULL,"
	"  line bigint NOT NULL,"
	"  locale text NOT NULL,"
	"  rtype text NOT NULL,"
	"  PRIMARY KEY (policy_key, line));"
	"CREATE TABLE policy_pool("
	"  policy_key bigint NOT NULL,"
	"  line bigint NOT NULL,"
	"  pos bigint NOT NULL,"
	"  pool_key bigint NOT NULL,"
	"  PRIMARY KEY (policy_key, line, pos));"
	"CREATE INDEX policy_pool_pool ON policy_pool(pool_key);"
	"CREATE TABLE policy_target("
	"  policy_key bigint NOT NULL,"
	"  target text NOT NULL,"
	"  PRIMARY KEY (policy_key, target));"
	"CREATE INDEX policy_target_target ON policy_target(target);",
	/* 7 -> 8: provider CIDRs (provider.c); a resource's association,
	 * public address type and service (insights.c) */
	"CREATE TABLE provider_cidr("
	"  family bigint NOT NULL,"
	"  start bytea NOT NULL,"
	"  prefix bigint NOT NULL,"
	"  PRIMARY KEY (family, start));"
	"ALTER TABLE resource ADD COLUMN association text NOT NULL"
	"  DEFAULT '';"
	"ALTER TABLE resource ADD COLUMN address_type text NOT NULL"
	"  DEFAULT '';"
	"ALTER TABLE resource ADD COLUMN service text NOT NULL"
	"  DEFAULT '';",
	/* 8 -> 9: top-level pool CIDRs in address order (model/provision.c);
	 * the portable pool-name lookup index (pg_schema's unique pool_name
	 * already has this expression; kept for the same index set as
	 * SQLite) */
	"CREATE INDEX pool_cidr_top ON pool_cidr(start)"
	"  WHERE parent_alloc IS NULL;"
	"CREATE INDEX pool_name_portable ON pool(scope_key,"
	"  coalesce(parent_key, 0), name);",
	/* 9 -> 10: resource planning pools and host records (planning.c) */
	"ALTER TABLE pool ADD COLUMN plan_vpc text NOT NULL DEFAULT '';"
	"CREATE INDEX pool_plan_vpc ON pool(scope_key, plan_vpc)"
	"  WHERE plan_vpc <> '';"
	"ALTER TABLE allocation ADD COLUMN dns_name text NOT NULL DEFAULT '';"
	"ALTER TABLE allocation ADD COLUMN mac_address text NOT NULL"
	"  DEFAULT '';",
	/* 10 -> 11: BYOIP (model/byoip.c): proof settings, BYOIP CIDRs,
	 * verification tokens, ASNs, their CIDRs, advertisements (asn.c) */
	"ALTER TABLE ipam ADD COLUMN certificate text NOT NULL DEFAULT '';"
	"ALTER TABLE ipam ADD COLUMN account_id text NOT NULL DEFAULT '';"
	"ALTER TABLE ipam ADD COLUMN dns_resolver text NOT NULL DEFAULT '';"
	"CREATE TABLE byoip_cidr("
	"  key bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  pool_key bigint NOT NULL REFERENCES pool(key),"
	"  family bigint NOT NULL,"
	"  start bytea NOT NULL,"
	"  prefix bigint NOT NULL,"
	"  aws_id text NOT NULL,"
	"  state bigint NOT NULL,"
	"  reason_code text NOT NULL DEFAULT '',"
	"  reason text NOT NULL DEFAULT '',"
	"  method text NOT NULL DEFAULT '',"
	"  changed bigint NOT NULL,"
	"  UNIQUE (pool_key, family, start, prefix));"
	"CREATE TABLE verification_token("
	"  key bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  aws_id text NOT NULL UNIQUE,"
	"  name text NOT NULL UNIQUE,"
	"  token_name text NOT NULL,"
	"  token_value text NOT NULL,"
	"  created bigint NOT NULL,"
	"  not_after bigint NOT NULL);"
	"INSERT INTO quota(name, value) VALUES ('verification-tokens', 100),"
	"  ('asns', 5);"
	"CREATE TABLE asn("
	"  key bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  asn bigint NOT NULL UNIQUE,"
	"  state bigint NOT NULL,"
	"  reason text NOT NULL DEFAULT '',"
	"  created bigint NOT NULL,"
	"  changed bigint NOT NULL);"
	"CREATE TABLE asn_cidr("
	"  asn_key bigint NOT NULL REFERENCES asn(key),"
	"  family bigint NOT NULL,"
	"  start bytea NOT NULL,"
	"  prefix bigint NOT NULL,"
	"  changed bigint NOT NULL,"
	"  PRIMARY KEY (asn_key, family, start, prefix));"
	"CREATE INDEX asn_cidr_by_cidr ON asn_cidr(family, start, prefix);"
	"CREATE TABLE advertisement("
	"  family bigint NOT NULL,"
	"  start bytea NOT NULL,"
	"  prefix bigint NOT NULL,"
	"  pool_key bigint NOT NULL REFERENCES pool(key),"
	"  asn bigint,"
	"  changed bigint NOT NULL,"
	"  PRIMARY KEY (family, start, prefix));",
	/* 11 -> 12: the change log's retention (model/event.c) */
	"ALTER TABLE ipam ADD COLUMN event_retention_days bigint NOT NULL"
	"  DEFAULT 365;"
	"CREATE INDEX event_time ON event(time);",
	/* 12 -> 13: the ASN switch times (asn.c), the provider-block quotas */
	"CREATE TABLE asn_switch("
	"  family bigint NOT NULL,"
	"  start bytea NOT NULL,"
	"  prefix bigint NOT NULL,"
	"  at bigint NOT NULL,"
	"  PRIMARY KEY (family, start, prefix));"
	"INSERT INTO quota(name, value) VALUES ('provider-ipv4-blocks', 2),"
	"  ('provider-ipv6-blocks-per-pool', 1);",
	/* 13 -> 14: prefix-list target sync, the policy quotas */
	"ALTER TABLE pl_target ADD COLUMN sync bigint NOT NULL DEFAULT 1;"
	"ALTER TABLE pl_target ADD COLUMN held text NOT NULL DEFAULT '';"
	"ALTER TABLE pl_target ADD COLUMN held_version bigint NOT NULL"
	"  DEFAULT 0;"
	"INSERT INTO quota(name, value) VALUES ('policies', 10),"
	"  ('policy-targets', 100), ('policy-rule-pools', 10);",
	/* 14 -> 15: change times and the remove notification
	 * (docs/design/pg.md, "Change times"): what sqlite.c's TEMP
	 * triggers do, as permanent triggers. The stamp is the
	 * transaction's setting ipam.stamp, which the driver sets at
	 * BEGIN IMMEDIATE (pg_begin_write); a writer that sets none (an SQL
	 * client, the schema's own creation) bumps nothing, as a program
	 * other than ipamfs writing a SQLite file. ipam_stamp() notes in
	 * ipam.stamped that a change took the stamp (the IPAM's newest
	 * stamp is then stored at commit, dialect[]). An update that
	 * changes no column but `changed` (and history_key, which no file
	 * shows), a bump itself among them, fires nothing. Deleted rows of
	 * the five kinds the remove hook reports go into the session's
	 * temporary table ipam_removed when ipam.removals is on
	 * (pg_set_delete_hook), read back before COMMIT (pg_commit). */
	"CREATE FUNCTION ipam_stamp() RETURNS bigint LANGUAGE plpgsql AS $f$\n"
	"DECLARE v text := current_setting('ipam.stamp', true);\n"
	"BEGIN\n"
	"  IF v IS NULL OR v = '' THEN RETURN NULL; END IF;\n"
	"  IF current_setting('ipam.stamped', true) IS DISTINCT FROM '1' THEN\n"
	"    PERFORM set_config('ipam.stamped', '1', true);\n"
	"  END IF;\n"
	"  RETURN v::bigint;\n"
	"END $f$;\n"
	"CREATE FUNCTION ipam_same(o jsonb, n jsonb) RETURNS boolean\n"
	"  LANGUAGE sql IMMUTABLE AS\n"
	"  $f$SELECT o - 'changed' - 'history_key' = n - 'changed' - 'history_key'$f$;\n"
	"CREATE FUNCTION ipam_bump_ipam(s bigint) RETURNS void LANGUAGE plpgsql AS $f$\n"
	"BEGIN UPDATE ipam SET changed = s WHERE changed IS DISTINCT FROM s; END $f$;\n"
	"CREATE FUNCTION ipam_bump_scope(k bigint, s bigint) RETURNS void\n"
	"  LANGUAGE plpgsql AS $f$\n"
	"BEGIN UPDATE scope SET changed = s WHERE key = k AND changed IS DISTINCT FROM s; END $f$;\n"
	"CREATE FUNCTION ipam_bump_pool(k bigint, s bigint) RETURNS void\n"
	"  LANGUAGE plpgsql AS $f$\n"
	"BEGIN UPDATE pool SET changed = s WHERE key = k AND changed IS DISTINCT FROM s; END $f$;\n"
	"CREATE FUNCTION ipam_bump_pool_scope(k bigint, s bigint) RETURNS void\n"
	"  LANGUAGE plpgsql AS $f$\n"
	"BEGIN\n"
	"  UPDATE pool SET changed = s WHERE key = k AND changed IS DISTINCT FROM s;\n"
	"  UPDATE scope SET changed = s WHERE key = (SELECT scope_key FROM pool WHERE key = k)\n"
	"    AND changed IS DISTINCT FROM s;\n"
	"END $f$;\n",
	/* 15 -> 16: the public IP insight counts, kept (view/insights.c;
	 * the SQLite text says what the triggers mark) */
	"CREATE TABLE public_dirty(resource_key bigint PRIMARY KEY);"
	"CREATE TABLE public_part("
	"  resource_key bigint PRIMARY KEY,"
	"  scope_key bigint NOT NULL,"
	"  locale text NOT NULL,"
	"  type text NOT NULL,"
	"  associated bigint NOT NULL,"
	"  n bigint NOT NULL);"
	"CREATE TABLE public_count("
	"  scope_key bigint NOT NULL,"
	"  locale text NOT NULL,"
	"  type text NOT NULL,"
	"  associated bigint NOT NULL,"
	"  n bigint NOT NULL,"
	"  PRIMARY KEY (scope_key, locale, type, associated));"
	"CREATE FUNCTION ipam_public_mark(k bigint) RETURNS void"
	"  LANGUAGE sql AS $$"
	"  INSERT INTO public_dirty SELECT key FROM resource"
	"    WHERE key = k AND type IN ('eip', 'network-interface')"
	"    ON CONFLICT DO NOTHING;"
	"  INSERT INTO public_dirty SELECT e.key FROM resource p"
	"    JOIN resource e ON e.scope_key = p.scope_key AND e.type = 'eip'"
	"    WHERE p.key = k AND p.type = 'public-ipv4-pool'"
	"    ON CONFLICT DO NOTHING $$;"
	"CREATE FUNCTION ipam_public_res() RETURNS trigger LANGUAGE plpgsql"
	"  AS $$ BEGIN"
	"  IF TG_OP <> 'DELETE' AND NEW.type IN ('eip', 'network-interface')"
	"  THEN INSERT INTO public_dirty VALUES (NEW.key)"
	"    ON CONFLICT DO NOTHING; END IF;"
	"  IF TG_OP <> 'INSERT' AND OLD.type IN ('eip', 'network-interface')"
	"  THEN INSERT INTO public_dirty VALUES (OLD.key)"
	"    ON CONFLICT DO NOTHING; END IF;"
	"  IF TG_OP = 'UPDATE' AND 'public-ipv4-pool' IN (NEW.type, OLD.type)"
	"  THEN INSERT INTO public_dirty SELECT key FROM resource"
	"    WHERE type = 'eip' AND scope_key IN (NEW.scope_key, OLD.scope_key)"
	"    ON CONFLICT DO NOTHING; END IF;"
	"  RETURN NULL; END $$;"
	"CREATE TRIGGER public_res_i AFTER INSERT OR DELETE ON resource"
	"  FOR EACH ROW EXECUTE FUNCTION ipam_public_res();"
	"CREATE TRIGGER public_res_u AFTER UPDATE OF type, scope_key, locale,"
	"  association, address_type ON resource"
	"  FOR EACH ROW EXECUTE FUNCTION ipam_public_res();"
	"CREATE FUNCTION ipam_public_cidr() RETURNS trigger LANGUAGE plpgsql"
	"  AS $$ BEGIN"
	"  IF TG_OP <> 'DELETE' THEN"
	"    PERFORM ipam_public_mark(NEW.resource_key); END IF;"
	"  IF TG_OP <> 'INSERT' THEN"
	"    PERFORM ipam_public_mark(OLD.resource_key); END IF;"
	"  RETURN NULL; END $$;"
	"CREATE TRIGGER public_cidr_i AFTER INSERT OR DELETE ON resource_cidr"
	"  FOR EACH ROW EXECUTE FUNCTION ipam_public_cidr();"
	"CREATE TRIGGER public_cidr_u AFTER UPDATE OF resource_key, family,"
	"  start, prefix, alloc_key ON resource_cidr"
	"  FOR EACH ROW EXECUTE FUNCTION ipam_public_cidr();"
	"CREATE FUNCTION ipam_public_pool() RETURNS trigger LANGUAGE plpgsql"
	"  AS $$ BEGIN"
	"  INSERT INTO public_dirty SELECT c.resource_key FROM allocation a"
	"    JOIN resource_cidr c ON c.alloc_key = a.key"
	"    WHERE a.pool_key = NEW.key ON CONFLICT DO NOTHING;"
	"  RETURN NULL; END $$;"
	"CREATE TRIGGER public_pool_u AFTER UPDATE OF public_ip_source ON pool"
	"  FOR EACH ROW EXECUTE FUNCTION ipam_public_pool();"
	"INSERT INTO public_dirty SELECT key FROM resource"
	"  WHERE type IN ('eip', 'network-interface');",
};
#define PG_MIGRATIONS ((int)(sizeof(pg_migrations) / sizeof(pg_migrations[0])))

/* The rest of a migration too long for one C string (C99 allows 4095
 * characters), run in this order after its entry of pg_migrations: the
 * change-time triggers of 14 -> 15, one function and its trigger each. */
static const struct {
	int to; /* the version the migration makes */
	const char *sql;
} pg_migration_parts[] = {
	{15,
	 "CREATE FUNCTION ipam_bump_alloc(k bigint, s bigint) RETURNS void\n"
	 "  LANGUAGE plpgsql AS $f$\n"
	 "BEGIN UPDATE allocation SET changed = s WHERE key = k AND changed IS DISTINCT FROM s; END $f$;\n"
	 "CREATE FUNCTION ipam_bump_discovery(k bigint, s bigint) RETURNS void\n"
	 "  LANGUAGE plpgsql AS $f$\n"
	 "BEGIN UPDATE discovery SET changed = s WHERE key = k AND changed IS DISTINCT FROM s; END $f$;\n"
	 "CREATE FUNCTION ipam_bump_resource(k bigint, s bigint) RETURNS void\n"
	 "  LANGUAGE plpgsql AS $f$\n"
	 "BEGIN\n"
	 "  UPDATE resource SET changed = s WHERE key = k AND changed IS DISTINCT FROM s;\n"
	 "  UPDATE scope SET changed = s WHERE key = (SELECT scope_key FROM resource WHERE key = k)\n"
	 "    AND changed IS DISTINCT FROM s;\n"
	 "  UPDATE discovery SET changed = s\n"
	 "    WHERE key = (SELECT discovery_key FROM resource WHERE key = k)\n"
	 "    AND changed IS DISTINCT FROM s;\n"
	 "END $f$;\n"
	 "CREATE FUNCTION ipam_bump_pl(k bigint, s bigint) RETURNS void\n"
	 "  LANGUAGE plpgsql AS $f$\n"
	 "BEGIN UPDATE prefix_list SET touched = s WHERE key = k AND touched IS DISTINCT FROM s; END $f$;\n"
	 "CREATE FUNCTION ipam_bump_policy(k bigint, s bigint) RETURNS void\n"
	 "  LANGUAGE plpgsql AS $f$\n"
	 "BEGIN UPDATE policy SET changed = s WHERE key = k AND changed IS DISTINCT FROM s; END $f$;\n"
	 "CREATE FUNCTION ipam_bump_object(id text, s bigint) RETURNS void\n"
	 "  LANGUAGE plpgsql AS $f$\n"
	 "BEGIN\n"
	 "  UPDATE scope SET changed = s WHERE aws_id = id AND changed IS DISTINCT FROM s;\n"
	 "  UPDATE pool SET changed = s WHERE aws_id = id AND changed IS DISTINCT FROM s;\n"
	 "  UPDATE allocation SET changed = s WHERE aws_id = id AND changed IS DISTINCT FROM s;\n"
	 "  UPDATE pool SET changed = s\n"
	 "    WHERE key = (SELECT pool_key FROM allocation WHERE aws_id = id)\n"
	 "    AND changed IS DISTINCT FROM s;\n"
	 "  UPDATE prefix_list SET touched = s WHERE aws_id = id AND touched IS DISTINCT FROM s;\n"
	 "  UPDATE policy SET changed = s WHERE aws_id = id AND changed IS DISTINCT FROM s;\n"
	 "END $f$;\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_event() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  PERFORM ipam_bump_ipam(s);\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_event AFTER INSERT ON event\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_event();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_allocation() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  IF TG_OP = 'DELETE' THEN PERFORM ipam_bump_pool(OLD.pool_key, s); ELSE PERFORM ipam_bump_alloc(NEW.key, s); PERFORM ipam_bump_pool(NEW.pool_key, s); END IF;\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_allocation AFTER INSERT OR UPDATE OR DELETE ON allocation\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_allocation();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_pool() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  IF TG_OP = 'DELETE' THEN PERFORM ipam_bump_pool(OLD.parent_key, s); PERFORM ipam_bump_scope(OLD.scope_key, s); ELSE PERFORM ipam_bump_pool_scope(NEW.key, s); IF TG_OP = 'INSERT' THEN PERFORM ipam_bump_pool(NEW.parent_key, s); ELSIF NEW.name IS DISTINCT FROM OLD.name OR NEW.parent_key IS DISTINCT FROM OLD.parent_key THEN PERFORM ipam_bump_pool(NEW.parent_key, s); PERFORM ipam_bump_pool(OLD.parent_key, s); END IF; END IF;\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_pool AFTER INSERT OR UPDATE OR DELETE ON pool\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_pool();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_pool_cidr() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  IF TG_OP = 'DELETE' THEN PERFORM ipam_bump_pool_scope(OLD.pool_key, s); ELSE PERFORM ipam_bump_pool_scope(NEW.pool_key, s); END IF;\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_pool_cidr AFTER INSERT OR UPDATE OR DELETE ON pool_cidr\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_pool_cidr();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_pool_rule_tag() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  IF TG_OP = 'DELETE' THEN PERFORM ipam_bump_pool_scope(OLD.pool_key, s); ELSE PERFORM ipam_bump_pool_scope(NEW.pool_key, s); END IF;\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_pool_rule_tag AFTER INSERT OR UPDATE OR DELETE ON pool_rule_tag\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_pool_rule_tag();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_tag() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  IF TG_OP = 'DELETE' THEN PERFORM ipam_bump_object(OLD.object_id, s); ELSE PERFORM ipam_bump_object(NEW.object_id, s); END IF;\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_tag AFTER INSERT OR UPDATE OR DELETE ON tag\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_tag();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_resource() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  IF TG_OP <> 'DELETE' THEN PERFORM ipam_bump_resource(NEW.key, s); END IF; IF TG_OP <> 'INSERT' THEN PERFORM ipam_bump_scope(OLD.scope_key, s); PERFORM ipam_bump_discovery(OLD.discovery_key, s); END IF;\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_resource AFTER INSERT OR UPDATE OR DELETE ON resource\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_resource();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_resource_cidr() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  IF TG_OP = 'DELETE' THEN PERFORM ipam_bump_resource(OLD.resource_key, s); ELSE PERFORM ipam_bump_resource(NEW.resource_key, s); END IF;\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_resource_cidr AFTER INSERT OR UPDATE OR DELETE ON resource_cidr\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_resource_cidr();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_resource_tag() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  IF TG_OP = 'DELETE' THEN PERFORM ipam_bump_resource(OLD.resource_key, s); ELSE PERFORM ipam_bump_resource(NEW.resource_key, s); END IF;\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_resource_tag AFTER INSERT OR UPDATE OR DELETE ON resource_tag\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_resource_tag();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_history() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  IF TG_OP = 'DELETE' THEN PERFORM ipam_bump_scope(OLD.scope_key, s); ELSE PERFORM ipam_bump_scope(NEW.scope_key, s); END IF;\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_history AFTER INSERT OR UPDATE OR DELETE ON history\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_history();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_scope() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  PERFORM ipam_bump_scope(NEW.key, s);\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_scope AFTER INSERT OR UPDATE ON scope\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_scope();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_discovery() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  PERFORM ipam_bump_discovery(NEW.key, s);\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_discovery AFTER INSERT OR UPDATE ON discovery\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_discovery();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_prefix_list() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  IF TG_OP = 'INSERT' OR NEW.name IS DISTINCT FROM OLD.name OR NEW.family IS DISTINCT FROM OLD.family OR NEW.description IS DISTINCT FROM OLD.description OR NEW.version IS DISTINCT FROM OLD.version OR NEW.oldest IS DISTINCT FROM OLD.oldest THEN PERFORM ipam_bump_pl(NEW.key, s); END IF;\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_prefix_list AFTER INSERT OR UPDATE ON prefix_list\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_prefix_list();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_pl_rule() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  IF TG_OP = 'DELETE' THEN PERFORM ipam_bump_pl(OLD.list_key, s); ELSE PERFORM ipam_bump_pl(NEW.list_key, s); END IF;\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_pl_rule AFTER INSERT OR UPDATE OR DELETE ON pl_rule\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_pl_rule();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_pl_target() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  IF TG_OP = 'DELETE' THEN PERFORM ipam_bump_pl(OLD.list_key, s); ELSE PERFORM ipam_bump_pl(NEW.list_key, s); END IF;\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_pl_target AFTER INSERT OR UPDATE OR DELETE ON pl_target\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_pl_target();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_policy() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  PERFORM ipam_bump_policy(NEW.key, s);\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_policy AFTER INSERT OR UPDATE ON policy\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_policy();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_policy_rule() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  IF TG_OP = 'DELETE' THEN PERFORM ipam_bump_policy(OLD.policy_key, s); ELSE PERFORM ipam_bump_policy(NEW.policy_key, s); END IF;\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_policy_rule AFTER INSERT OR UPDATE OR DELETE ON policy_rule\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_policy_rule();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_policy_pool() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  IF TG_OP = 'DELETE' THEN PERFORM ipam_bump_policy(OLD.policy_key, s); ELSE PERFORM ipam_bump_policy(NEW.policy_key, s); END IF;\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_policy_pool AFTER INSERT OR UPDATE OR DELETE ON policy_pool\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_policy_pool();\n"},
	{15,
	 "CREATE FUNCTION ipam_ch_policy_target() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "DECLARE s bigint;\n"
	 "BEGIN\n"
	 "  IF TG_OP = 'UPDATE' AND ipam_same(to_jsonb(OLD), to_jsonb(NEW)) THEN RETURN NULL; END IF;\n"
	 "  s := ipam_stamp();\n"
	 "  IF s IS NULL THEN RETURN NULL; END IF;\n"
	 "  IF TG_OP = 'DELETE' THEN PERFORM ipam_bump_policy(OLD.policy_key, s); ELSE PERFORM ipam_bump_policy(NEW.policy_key, s); END IF;\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER ch_policy_target AFTER INSERT OR UPDATE OR DELETE ON policy_target\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_ch_policy_target();\n"},
	{15,
	 "CREATE FUNCTION ipam_removed_row() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "BEGIN\n"
	 "  IF current_setting('ipam.removals', true) = '1' THEN\n"
	 "    INSERT INTO pg_temp.ipam_removed VALUES (TG_TABLE_NAME, OLD.key);\n"
	 "  END IF;\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER rm_allocation AFTER DELETE ON allocation\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_removed_row();\n"
	 "CREATE TRIGGER rm_pool AFTER DELETE ON pool\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_removed_row();\n"
	 "CREATE TRIGGER rm_resource AFTER DELETE ON resource\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_removed_row();\n"
	 "CREATE TRIGGER rm_scope AFTER DELETE ON scope\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_removed_row();\n"
	 "CREATE TRIGGER rm_discovery AFTER DELETE ON discovery\n"
	 "  FOR EACH ROW EXECUTE FUNCTION ipam_removed_row();\n"},
	/* the bulk allocator (model/alloc_bulk.c) gives the keys of its
	 * allocation and history rows itself, as SQLite's next rowids: the
	 * identity sequences follow them */
	{15,
	 "CREATE FUNCTION ipam_keys_allocation() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "BEGIN\n"
	 "  PERFORM setval('allocation_key_seq', m) FROM (SELECT max(key) AS m FROM allocation) x\n"
	 "    WHERE m > (SELECT CASE WHEN is_called THEN last_value ELSE 0 END\n"
	 "               FROM allocation_key_seq);\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER keys_allocation AFTER INSERT ON allocation\n"
	 "  FOR EACH STATEMENT EXECUTE FUNCTION ipam_keys_allocation();\n"},
	{15,
	 "CREATE FUNCTION ipam_keys_history() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	 "BEGIN\n"
	 "  PERFORM setval('history_key_seq', m) FROM (SELECT max(key) AS m FROM history) x\n"
	 "    WHERE m > (SELECT CASE WHEN is_called THEN last_value ELSE 0 END\n"
	 "               FROM history_key_seq);\n"
	 "  RETURN NULL;\n"
	 "END $f$;\n"
	 "CREATE TRIGGER keys_history AFTER INSERT ON history\n"
	 "  FOR EACH STATEMENT EXECUTE FUNCTION ipam_keys_history();\n"}
};

int ipam__pg_schema_count(void)
{
	return PG_BASE_VERSION + PG_MIGRATIONS;
}

/* ---- connection ---- */

typedef struct pg_store {
	ipam_store base;
	PGconn *conn;
	int64_t changes;     /* rows of the last command */
	int code;	     /* the last error's ipam_code */
	char message[256];   /* and its text */
	ipam_store_delete_fn on_delete;
	void *delete_ctx;
	ipam_store_stamp_fn stamp; /* the change-time stamp (pg_session) */
	void *stamp_ctx;
	bool removals;  /* ipam_removed exists, ipam.removals is on */
	bool write_txn; /* in a transaction begun by BEGIN IMMEDIATE */
	char *dsn;	    /* for the listening connection */
	bool wrote;	    /* the open transaction changed rows */
	bool unset;	    /* made again, pg_setup not yet run on it */
	bool has_event;	    /* the event table exists (NOTIFY's payload) */
	bool schema_locked; /* holds the schema's advisory lock */
	/* the server process of `conn`: notifications it sent are ours */
	atomic_int own_pid;
	/* the listening connection (LISTEN ipamfs), used by wait_others
	 * alone, from one thread; listened: it has been made once */
	PGconn *listen;
	bool listened;
	/* server-side prepared statements (pg_ready): the session they
	 * belong to (moved at every reconnect, which drops them all), the
	 * number of the last name given ("s<n>"), and the DEALLOCATEs of
	 * finalized statements, sent at the next point outside a
	 * transaction (pg_unprepare_flush) */
	uint64_t session;
	unsigned long names;
	uint64_t lastval_session; /* "lastval" is prepared in session - 1 */
	pid_t pid; /* the process that opened it (a forked child shares the
		    * connection: it runs statements unnamed, pg_ours) */
	char *unprepare;
	size_t unprepare_len, unprepare_cap;
	/* test hook (ipam__pg_test_drop_after_commit): cut the connection
	 * right after the next COMMIT is sent */
	bool drop_after_commit;
} pg_store;

/* The channel every change is announced on (NOTIFY), and the key of the
 * advisory lock held while a connection reads and creates the schema. */
#define PG_CHANNEL "ipamfs"
#define PG_SCHEMA_LOCK "4969504d4653" /* "IPMFS" */

typedef struct pg_param {
	int kind; /* 0 unset/NULL, 1 int, 2 text, 3 blob */
	char *data;
	int len;
	char num[24];
} pg_param;

/* The signatures (parameter types) a statement keeps prepared at once. */
#define PG_VARIANTS 4
/* Runs of a server statement before it is prepared again. PostgreSQL
 * plans a prepared statement for its values five times, then may keep one
 * generic plan for good, made for the table sizes of that moment: on a new
 * database, a plan made while `allocation` was empty looked names up
 * through the exclusion constraint's GiST index (pool, span) and filtered
 * them, a scan of the whole pool per lookup, 15 s per batch of 2 000
 * allocations into a pool of 10 000 (docs/bench.md). Prepared again, the
 * statement is planned for the sizes the tables have grown to; the cost is
 * about 6 plans per PG_REPLAN_RUNS runs. */
#define PG_REPLAN_RUNS 500

typedef struct pg_stmt {
	ipam_stmt base;
	pg_store *store;
	char *sql;   /* with $N placeholders */
	int nparams; /* the largest N */
	pg_param *params;
	PGresult *res;
	int row, rows;
	unsigned char **blobs; /* decoded bytea of the current row */
	size_t *blob_len;
	int ncols;
	int control; /* CONTROL_*: a transaction statement run by pg_control */
	/* server-side prepared variants (pg_ready): up to PG_VARIANTS
	 * signatures (the parameter types of the binds), each a statement
	 * "s<id>" of session `session`; id 0 is a free slot */
	bool plannable; /* SELECT, INSERT, UPDATE, DELETE, WITH: prepared */
	uint64_t session;
	unsigned long ids[PG_VARIANTS];
	unsigned runs[PG_VARIANTS]; /* since the variant was prepared */
	Oid *sigs;  /* PG_VARIANTS * nparams types */
	int victim; /* the slot the next new signature takes */
} pg_stmt;

/* The transaction statements the driver runs its own way (pg_control). */
enum { CONTROL_NONE, CONTROL_BEGIN_WRITE, CONTROL_COMMIT, CONTROL_ROLLBACK };

#define PS(s) ((pg_store *)(s))
#define PT(s) ((pg_stmt *)(s))

static const ipam_store_driver pg_driver;

/* Remembers and reports an error (code and text). */
static int pg_fail(pg_store *s, int code, const char *text, ipam_err *err)
{
	size_t n;
	s->code = code;
	snprintf(s->message, sizeof(s->message), "%s", text ? text : "");
	n = strlen(s->message);
	while (n && (s->message[n - 1] == '\n' || s->message[n - 1] == ' '))
		s->message[--n] = '\0';
	switch (code) {
	case IPAM_ENOMEM:
		return ipam__fail(err, code, "out of memory");
	case IPAM_EEXIST:
		return ipam__fail(err, code, "constraint failed: %s",
				  s->message);
	case IPAM_EBUSY:
		return ipam__fail(err, code,
				  "concurrent change, try again: %s",
				  s->message);
	case IPAM_ESCHEMA:
		return ipam__fail(err, code, "the database is damaged: %s",
				  s->message);
	case IPAM_EINVAL:
		return ipam__fail(err, code, "%s", s->message);
	default:
		return ipam__fail(err, code, "storage failure: %s",
				  s->message);
	}
}

/* The ipam_code of a SQLSTATE. */
static int sqlstate_code(const char *state)
{
	if (!state || strlen(state) != 5)
		return IPAM_EIO;
	if (!strncmp(state, "23", 2))
		return IPAM_EEXIST;
	if (!strcmp(state, "40001") || !strcmp(state, "40P01") ||
	    !strcmp(state, "55P03"))
		return IPAM_EBUSY;
	if (!strcmp(state, "53200"))
		return IPAM_ENOMEM;
	if (!strcmp(state, "XX001") || !strcmp(state, "XX002"))
		return IPAM_ESCHEMA;
	return IPAM_EIO;
}

/* Why the connection is lost: libpq's first line, without its
 * severity. */
static void lost_why(pg_store *s, char *why, size_t size)
{
	const char *m = PQerrorMessage(s->conn);
	size_t n;
	if (!strncmp(m, "FATAL:", 6) || !strncmp(m, "ERROR:", 6))
		m += 6;
	m += strspn(m, " ");
	n = strcspn(m, "\n");
	snprintf(why, size, "%.*s", (int)n, m);
	n = strlen(why);
	while (n && why[n - 1] == ' ')
		why[--n] = '\0';
	if (!n)
		snprintf(why, size, "the server closed it");
}

/* The error of a failed result (or of the connection when there is no
 * result). Frees nothing. */
static int pg_result_fail(pg_store *s, PGresult *res, ipam_err *err)
{
	if (PQstatus(s->conn) == CONNECTION_BAD || s->unset) {
		char why[120], text[220];
		lost_why(s, why, sizeof(why));
		snprintf(text, sizeof(text),
			 "the connection to PostgreSQL is lost (%s); "
			 "nothing is applied, the next command connects "
			 "again",
			 why);
		return pg_fail(s, IPAM_EIO, text, err);
	}
	if (!res)
		return pg_fail(s, IPAM_ENOMEM, PQerrorMessage(s->conn), err);
	return pg_fail(s,
		       sqlstate_code(PQresultErrorField(res, PG_DIAG_SQLSTATE)),
		       PQresultErrorMessage(res), err);
}

/* What every connection of ours runs first: every transaction
 * SERIALIZABLE (concurrent writers on other hosts either serialize or fail
 * with 40001, IPAM_EBUSY, never interleave); notices (CREATE ... IF NOT
 * EXISTS) are not for the user. */
static int pg_setup(PGconn *conn)
{
	PGresult *res = PQexec(conn, "SET default_transaction_isolation ="
				     " 'serializable';"
				     "SET client_min_messages = warning");
	int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	return ok ? 0 : -1;
}

/* Outside a transaction, a lost connection is made again: commands fail
 * with EIO while the server is away and work when it is back. The new
 * session gets the settings of the first (pg_setup), or is dropped again
 * (the statement then fails with EIO). */
static void pg_revive(pg_store *s)
{
	if (PQstatus(s->conn) == CONNECTION_BAD) {
		PQreset(s->conn);
		/* a new session: the server statements of the old one are
		 * gone (prepared again when next run; never DEALLOCATEd) */
		s->session++;
		s->unprepare_len = 0;
		s->unset = true;
		s->wrote = false; /* the server rolled it back: no news */
	}
	if (s->unset && PQstatus(s->conn) == CONNECTION_OK) {
		s->unset = pg_setup(s->conn) != 0;
		atomic_store(&s->own_pid, PQbackendPID(s->conn));
		/* the new session's remove notification (its temporary
		 * table and setting went with the old one) */
		if (!s->unset && s->on_delete)
			s->removals = removals_on(s);
	}
}

/* The session's side of the remove notification (pg_set_delete_hook):
 * the table the rm_* triggers fill, then the setting that turns them on
 * (never the setting without the table). Whether it worked. */
static bool removals_on(pg_store *s)
{
	PGresult *res = PQexec(s->conn,
			       "CREATE TEMP TABLE IF NOT EXISTS ipam_removed("
			       "tbl text NOT NULL, key bigint NOT NULL);"
			       "SELECT set_config('ipam.removals', '1', false)");
	bool ok = res && PQresultStatus(res) == PGRES_TUPLES_OK;
	PQclear(res);
	return ok;
}

/* Whether the event table exists yet (the payload names its newest row;
 * the schema's creation runs before it does). */
static bool event_table(pg_store *s)
{
	if (!s->has_event) {
		PGresult *res = PQexec(
			s->conn, "SELECT to_regclass('event') IS NOT NULL");
		s->has_event = res && PQresultStatus(res) == PGRES_TUPLES_OK &&
			       *PQgetvalue(res, 0, 0) == 't';
		PQclear(res);
	}
	return s->has_event;
}

/*
 * The payload of a notification (docs/design/pg.md, "Seeing other
 * daemons' changes"): the newest event's sequence number, then one
 * ` <t><key>` per row the transaction deleted from a table the remove
 * hook reports, <t> the table's first letter (pg_removed_tables), or ` *`
 * when the list would not fit: NOTIFY refuses a payload of 8000 bytes.
 * Read back, handed to the hook and announced in one round trip, with
 * the transaction's id (before_commit):
 */
static const char pg_announce_removed_sql[] =
	"WITH r AS (DELETE FROM ipam_removed RETURNING tbl, key),"
	" p AS (SELECT coalesce(string_agg(' ' || left(tbl, 1) || key, ''),"
	" '') AS s FROM r),"
	" n AS (SELECT pg_notify('" PG_CHANNEL "',"
	" (SELECT CAST(coalesce(max(seq), 0) AS text) FROM event) ||"
	/* 7900 + up to 20 digits and " *" < 8000 */
	" CASE WHEN octet_length(p.s) > 7900"
	" THEN ' *' ELSE p.s END) AS sent FROM p)"
	/* the rows, then the transaction id (before_commit), from n: its
	 * one row is what sends the notification */
	" SELECT tbl, key FROM r"
	" UNION ALL SELECT NULL, txid_current_if_assigned() FROM n";

/* The tables of ipam_removed (the rm_* triggers of migration 15) by the
 * letter the payload gives them. */
static const char *const pg_removed_tables[] = {
	"allocation", "discovery", "pool", "resource", "scope",
};

/* Announces a committed change to the other daemons: NOTIFY inside the
 * transaction, so it is delivered when (and only if) it commits. The
 * payload is the newest event, without a list (before_commit sends the
 * payload with one at the COMMIT of a write transaction; the rows a
 * statement outside a transaction deleted go with the next one), or
 * ` *` when the session does not collect its removals. */
static int pg_announce(pg_store *s, ipam_err *err)
{
	PGresult *res;
	int rc = 0;
	event_table(s);
	/* without the session's removal rows (no remove notification, or
	 * none yet: the schema's creation), what it deleted is unknown */
	if (s->removals && s->on_delete)
		res = PQexec(s->conn,
			     s->has_event
				     ? "SELECT pg_notify('" PG_CHANNEL "',"
				       " CAST(coalesce(max(seq), 0) AS text))"
				       " FROM event"
				     : "SELECT pg_notify('" PG_CHANNEL
				       "', '0')");
	else
		res = PQexec(s->conn,
			     s->has_event
				     ? "SELECT pg_notify('" PG_CHANNEL "',"
				       " CAST(coalesce(max(seq), 0) AS text)"
				       " || ' *') FROM event"
				     : "SELECT pg_notify('" PG_CHANNEL
				       "', '0 *')");
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = pg_result_fail(s, res, err);
	PQclear(res);
	return rc;
}

/* Before a command runs: COMMIT of a transaction that changed rows
 * announces it first. 0, or the announcement's error (the COMMIT then
 * does not run, and the caller rolls back). */
static int before_command(pg_store *s, const char *sql, ipam_err *err)
{
	if (!strcmp(sql, "COMMIT") && s->wrote &&
	    PQtransactionStatus(s->conn) == PQTRANS_INTRANS)
		return pg_announce(s, err);
	return 0;
}

/* After a command succeeded: whether it changed rows (then the
 * transaction must be announced; outside a transaction, right away). */
static void after_command(pg_store *s, const char *sql, PGresult *res)
{
	const char *status = PQcmdStatus(res);
	if (!strcmp(sql, "COMMIT") || !strcmp(sql, "ROLLBACK")) {
		s->wrote = false;
		return;
	}
	if ((!strncmp(status, "INSERT", 6) || !strncmp(status, "UPDATE", 6) ||
	     !strncmp(status, "DELETE", 6) || !strncmp(status, "MERGE", 5)) &&
	    strtoll(PQcmdTuples(res), NULL, 10) > 0)
		s->wrote = true;
	if (s->wrote && PQtransactionStatus(s->conn) == PQTRANS_IDLE) {
		pg_announce(s, NULL);
		s->wrote = false;
	}
}

static void pg_close(ipam_store *store, bool discard)
{
	pg_store *s = PS(store);
	(void)discard; /* a server database is never removed */
	if (!s)
		return;
	if (s->conn)
		PQfinish(s->conn);
	if (s->listen)
		PQfinish(s->listen);
	free(s->unprepare);
	free(s->dsn);
	free(s);
}

static int pg_exec(ipam_store *store, const char *script, ipam_err *err)
{
	pg_store *s = PS(store);
	PGresult *res;
	int rc = 0;

	if (control_of(script))
		return pg_control(s, control_of(script), in_dialect(script),
				  err);
	if (PQtransactionStatus(s->conn) == PQTRANS_IDLE ||
	    PQtransactionStatus(s->conn) == PQTRANS_UNKNOWN)
		pg_revive(s);
	if (s->unset)
		return pg_result_fail(s, NULL, err);
	if ((rc = before_command(s, script, err)))
		return rc;
	res = PQexec(s->conn, in_dialect(script));
	if (!res || (PQresultStatus(res) != PGRES_COMMAND_OK &&
		     PQresultStatus(res) != PGRES_TUPLES_OK)) {
		rc = pg_result_fail(s, res, err);
	} else {
		s->changes = strtoll(PQcmdTuples(res), NULL, 10);
		after_command(s, script, res);
	}
	PQclear(res);
	return rc;
}

static int pg_error(ipam_store *store, ipam_err *err)
{
	pg_store *s = PS(store);
	if (!s->code)
		return pg_result_fail(s, NULL, err);
	return pg_fail(s, s->code, s->message, err);
}

static bool pg_in_transaction(ipam_store *store)
{
	PGTransactionStatusType t = PQtransactionStatus(PS(store)->conn);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR ||
	       t == PQTRANS_ACTIVE;
}

static int64_t pg_changes(ipam_store *store)
{
	return PS(store)->changes;
}

/* The key the last INSERT gave its row: the identity columns are
 * sequences, and lastval() is the newest value this session took. */
static int64_t pg_last_insert_id(ipam_store *store)
{
	pg_store *s = PS(store);
	PGresult *res = NULL;
	int64_t key = 0;

	/* one server statement "lastval" per session (it follows many
	 * INSERTs): prepared at the first call, right after an INSERT that
	 * succeeded (the transaction is not aborted) */
	if (pg_ours(s) && s->lastval_session != s->session + 1) {
		res = PQprepare(s->conn, "lastval", "SELECT lastval()", 0,
				NULL);
		if (res && PQresultStatus(res) == PGRES_COMMAND_OK)
			s->lastval_session = s->session + 1;
		PQclear(res);
	}
	res = pg_ours(s) && s->lastval_session == s->session + 1
		      ? PQexecPrepared(s->conn, "lastval", 0, NULL, NULL, NULL,
				       0)
		      : PQexec(s->conn, "SELECT lastval()");
	if (res && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1)
		key = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return key;
}

/* ---- statements ---- */

/* Does `p` (unquoted text) start SQLite's `CROSS JOIN t [alias] ON`, an
 * inner join whose order SQLite's planner keeps (a hint)? PostgreSQL
 * refuses ON after CROSS JOIN; a plain JOIN is the same join there. */
static bool cross_join_on(const char *sql, const char *p)
{
	if (strncmp(p, "CROSS JOIN ", 11) || (p > sql && p[-1] != ' '))
		return false;
	p += 11;
	for (int word = 0; word < 3; word++) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, "ON ", 3))
			return word > 0;
		p += strcspn(p, " ");
	}
	return false;
}

/* `sql` with `?N` as `$N` and each bare `?` as the next number (SQLite's
 * rule: one more than the largest so far), and `CROSS JOIN t ON` as
 * `JOIN t ON`; quoted text is left alone. *count: the largest number.
 * NULL when out of memory. */
char *ipam__pg_placeholders(const char *sql, int *count)
{
	size_t len = strlen(sql);
	char *out = malloc(len * 4 + 1), *o = out;
	int largest = 0;
	char quote = 0;

	*count = 0;
	if (!out)
		return NULL;
	for (const char *p = sql; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
			*o++ = *p;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
			*o++ = *p;
		} else if (*p == 'C' && cross_join_on(sql, p)) {
			p += strlen("CROSS"); /* and the loop skips its space */
		} else if (*p == '?') {
			int n = 0;
			while (p[1] >= '0' && p[1] <= '9')
				n = n * 10 + (*++p - '0');
			if (n == 0)
				n = largest + 1;
			if (n > largest)
				largest = n;
			o += sprintf(o, "$%d", n);
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	*count = largest;
	return out;
}

static void clear_row(pg_stmt *t)
{
	for (int i = 0; t->blobs && i < t->ncols; i++) {
		if (t->blobs[i])
			PQfreemem(t->blobs[i]);
		t->blobs[i] = NULL;
	}
}

static void clear_result(pg_stmt *t)
{
	clear_row(t);
	free(t->blobs);
	free(t->blob_len);
	t->blobs = NULL;
	t->blob_len = NULL;
	t->ncols = 0;
	PQclear(t->res);
	t->res = NULL;
	t->row = -1;
	t->rows = 0;
}

/*
 * The statements whose SQLite text has no portable form, and their
 * PostgreSQL text (docs/design/store.md, "Statements that are still
 * engine-specific"). Looked up by text when prepared.
 */
static const struct {
	const char *sqlite, *pg;
} dialect[] = {
	/* a write transaction: SQLite takes its write lock at BEGIN
	 * IMMEDIATE. Here the daemons' write transactions queue on a lock
	 * of ipamfs_meta in a self-conflicting mode that plain reads
	 * (ACCESS SHARE) do not conflict with. LOCK TABLE takes no
	 * snapshot, so the transaction's snapshot is taken after the wait
	 * and sees the previous writer's commit: two daemons allocating
	 * at once take turns instead of failing each other with
	 * serialization errors. SERIALIZABLE still guards against writers
	 * that do not take the lock (SQL clients). */
	{"BEGIN IMMEDIATE",
	 "BEGIN; LOCK TABLE ipamfs_meta IN SHARE ROW EXCLUSIVE MODE"},
	/* the IPAM's newest stamp, stored at commit (model/changed.c): the
	 * stamp is set at every BEGIN IMMEDIATE here (pg_control), so only
	 * when a change took it (ipam_stamp() noted it in ipam.stamped);
	 * a write transaction that changed nothing leaves the time alone */
	/* the path-length check (model/pool.c): a name's length in bytes */
	{"WITH RECURSIVE up(key, len) AS ("
	 " SELECT parent_key, length(CAST(name AS BLOB)) FROM pool"
	 " WHERE key = ?1 UNION ALL SELECT p.parent_key,"
	 " length(CAST(p.name AS BLOB)) + 7 FROM pool p"
	 " JOIN up ON p.key = up.key)"
	 " SELECT (SELECT sum(len) FROM up) + (SELECT"
	 " length(CAST(s.name AS BLOB)) + 14 FROM scope s JOIN pool p"
	 " ON p.scope_key = s.key WHERE p.key = ?1)",
	 "WITH RECURSIVE up(key, len) AS ("
	 " SELECT parent_key, octet_length(name) FROM pool"
	 " WHERE key = ?1 UNION ALL SELECT p.parent_key,"
	 " octet_length(p.name) + 7 FROM pool p"
	 " JOIN up ON p.key = up.key)"
	 " SELECT (SELECT sum(len) FROM up) + (SELECT"
	 " octet_length(s.name) + 14 FROM scope s JOIN pool p"
	 " ON p.scope_key = s.key WHERE p.key = ?1)"},
	{"UPDATE ipam SET changed = ?1 WHERE changed < ?1",
	 "UPDATE ipam SET changed = ?1 WHERE changed < ?1"
	 " AND current_setting('ipam.stamped', true) = '1'"},
};

static int control_of(const char *sql)
{
	return !strcmp(sql, "BEGIN IMMEDIATE") ? CONTROL_BEGIN_WRITE
	       : !strcmp(sql, "COMMIT")	       ? CONTROL_COMMIT
	       : !strcmp(sql, "ROLLBACK")      ? CONTROL_ROLLBACK
					       : CONTROL_NONE;
}

/* Runs a simple query that returns no rows we need. */
static int pg_simple(pg_store *s, const char *sql, ipam_err *err)
{
	PGresult *res = PQexec(s->conn, sql);
	int rc = 0;
	if (!res || (PQresultStatus(res) != PGRES_COMMAND_OK &&
		     PQresultStatus(res) != PGRES_TUPLES_OK))
		rc = pg_result_fail(s, res, err);
	PQclear(res);
	return rc;
}

/*
 * Before the COMMIT of a write transaction: its transaction id, *xid (-1
 * when it has none: it wrote nothing), for pg_commit to ask about when
 * the COMMIT's answer is lost; and the rows deleted in it that the
 * remove hook reports, read back from ipam_removed and handed to the
 * hook. One round trip: with the remove hook on, the id is a row of the
 * same query (tbl NULL), and a transaction that changed rows sends its
 * notification, with the rows, in it too (pg_announce_removed_sql).
 */
static int before_commit(pg_store *s, int64_t *xid, ipam_err *err)
{
	bool hook = s->removals && s->on_delete;
	bool announce = hook && s->wrote && event_table(s);
	PGresult *res;
	int rc;

	*xid = -1;
	if (!hook && !s->wrote)
		return 0;
	res = PQexec(s->conn,
		     announce ? pg_announce_removed_sql
		     : hook   ? "WITH d AS (DELETE FROM ipam_removed"
				" RETURNING tbl, key) SELECT tbl, key FROM d"
				" UNION ALL SELECT NULL,"
				" txid_current_if_assigned()"
			      : "SELECT NULL, txid_current_if_assigned()");
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = pg_result_fail(s, res, err);
		PQclear(res);
		return rc;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		if (PQgetisnull(res, i, 0)) {
			if (!PQgetisnull(res, i, 1))
				*xid = strtoll(PQgetvalue(res, i, 1), NULL, 10);
			continue;
		}
		s->on_delete(s->delete_ctx, PQgetvalue(res, i, 0),
			     strtoll(PQgetvalue(res, i, 1), NULL, 10));
	}
	PQclear(res);
	if (announce)
		s->wrote = false; /* sent: before_command sends nothing */
	return 0;
}

/* What became of transaction `xid` whose COMMIT's answer was lost,
 * asked on a new connection (txid_status): 1 committed, 0 not (aborted:
 * by the server, or with its connection), -1 unknown (the server cannot
 * be reached or cannot tell within about 3 s: a server restarting
 * answers within that time, a transaction still finishing its COMMIT on
 * the old connection ends within it). */
static int commit_outcome(pg_store *s, int64_t xid)
{
	char sql[64];
	snprintf(sql, sizeof(sql), "SELECT txid_status(%lld)", (long long)xid);
	for (int tries = 0; tries < 300; tries++) {
		PGresult *res;
		const char *v;
		int outcome = -1;
		if (tries) {
			struct timespec pause = {0, 10 * 1000 * 1000};
			nanosleep(&pause, NULL);
		}
		pg_revive(s);
		if (s->unset)
			continue; /* not reachable (yet) */
		res = PQexec(s->conn, sql);
		if (PQstatus(s->conn) == CONNECTION_BAD) {
			PQclear(res);
			continue; /* lost again: the server is going away */
		}
		if (!res || PQresultStatus(res) != PGRES_TUPLES_OK ||
		    PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
			PQclear(res);
			return -1; /* or an xid too old to tell */
		}
		v = PQgetvalue(res, 0, 0);
		if (!strcmp(v, "committed"))
			outcome = 1;
		else if (!strcmp(v, "aborted"))
			outcome = 0;
		PQclear(res);
		/* "in progress": the old session has not finished it yet */
		if (outcome >= 0)
			return outcome;
	}
	return -1;
}

/*
 * COMMIT (`sql`) of a transaction whose id is `xid` (-1: none). When the
 * connection is lost before its answer, the transaction may have
 * committed: a new connection asks the server (commit_outcome).
 * Committed, the change is there and the COMMIT succeeded; rolled back,
 * the usual EIO, nothing applied; when the server cannot tell, EIO that
 * says so, and how to find out.
 */
static int pg_commit(pg_store *s, const char *sql, int64_t xid, ipam_err *err)
{
	PGresult *res, *last = NULL;
	char why[64], text[256];
	int rc = 0, outcome;

	if (PQsendQuery(s->conn, sql)) {
		if (s->drop_after_commit) {
			s->drop_after_commit = false;
			shutdown(PQsocket(s->conn), SHUT_RDWR);
		}
		while ((res = PQgetResult(s->conn))) {
			PQclear(last);
			last = res;
		}
		if (last && PQresultStatus(last) == PGRES_COMMAND_OK &&
		    PQstatus(s->conn) == CONNECTION_OK) {
			PQclear(last);
			return 0;
		}
	}
	if (PQstatus(s->conn) != CONNECTION_BAD || xid < 0) {
		rc = pg_result_fail(s, last, err);
		PQclear(last);
		return rc;
	}
	PQclear(last);
	lost_why(s, why, sizeof(why));
	outcome = commit_outcome(s, xid);
	if (outcome == 1)
		return 0;
	if (outcome == 0)
		snprintf(text, sizeof(text),
			 "the connection to PostgreSQL is lost (%s); "
			 "nothing is applied, the next command connects "
			 "again",
			 why);
	else
		snprintf(text, sizeof(text),
			 "the connection to PostgreSQL is lost after COMMIT "
			 "was sent (%s): whether the change is applied is "
			 "unknown (look, or ask the server: SELECT "
			 "txid_status(%lld))",
			 why, (long long)xid);
	return pg_fail(s, IPAM_EIO, text, err);
}

void ipam__pg_test_drop_after_commit(ipam_store *store)
{
	PS(store)->drop_after_commit = true;
}

/*
 * BEGIN IMMEDIATE, COMMIT and ROLLBACK (`sql` their PostgreSQL text):
 * a write transaction gets the change-time stamp of the model in its
 * setting ipam.stamp, in the same round trip (the triggers of schema 12
 * read it); before its COMMIT, the rows deleted in it that the remove
 * hook reports are read back from ipam_removed and handed to the hook.
 */
static int pg_control(pg_store *s, int kind, const char *sql, ipam_err *err)
{
	int64_t xid = -1;
	int rc;
	if (kind == CONTROL_BEGIN_WRITE) {
		char text[256];
		if (!pg_in_transaction(&s->base))
			pg_revive(s);
		if (s->unset)
			return pg_result_fail(s, NULL, err);
		if (s->stamp)
			snprintf(text, sizeof(text),
				 "%s; SELECT set_config('ipam.stamp', '%lld',"
				 " true)",
				 sql, (long long)s->stamp(s->stamp_ctx));
		else
			snprintf(text, sizeof(text), "%s", sql);
		rc = pg_simple(s, text, err);
		s->write_txn = rc == 0;
		return rc;
	}
	if (kind == CONTROL_COMMIT && s->write_txn &&
	    (rc = before_commit(s, &xid, err)))
		return rc;
	s->write_txn = false;
	/* a COMMIT of a transaction that changed rows announces it first
	 * (before_command); neither a COMMIT nor a ROLLBACK leaves news */
	if ((rc = before_command(s, sql, err)) == 0)
		rc = kind == CONTROL_COMMIT ? pg_commit(s, sql, xid, err)
					    : pg_simple(s, sql, err);
	s->wrote = false;
	return rc;
}

static const char *in_dialect(const char *sql)
{
	for (size_t i = 0; i < sizeof(dialect) / sizeof(dialect[0]); i++)
		if (!strcmp(sql, dialect[i].sqlite))
			return dialect[i].pg;
	return sql;
}

static int pg_prepare(ipam_store *store, const char *sql, ipam_stmt **out,
		      ipam_err *err)
{
	pg_stmt *t = calloc(1, sizeof(*t));

	if (t)
		t->control = control_of(sql);
	sql = in_dialect(sql);
	*out = NULL;
	if (!t || !(t->sql = ipam__pg_placeholders(sql, &t->nparams)) ||
	    (t->nparams &&
	     !(t->params = calloc((size_t)t->nparams, sizeof(*t->params))))) {
		if (t)
			free(t->sql);
		free(t);
		return pg_fail(PS(store), IPAM_ENOMEM, "out of memory", err);
	}
	/* SQLite's INSERT OR FAIL (model/alloc_bulk.c: no statement
	 * journal) is a plain INSERT here: a failed statement is undone
	 * whole */
	if (!strncmp(t->sql, "INSERT OR FAIL ", 15))
		memmove(t->sql + 7, t->sql + 15, strlen(t->sql + 15) + 1);
	/* statements with a plan are prepared on the server (pg_ready);
	 * transaction and savepoint statements, and dialect texts of
	 * several statements, run as before */
	t->plannable = !strchr(t->sql, ';') &&
		       (!strncmp(t->sql, "SELECT ", 7) ||
			!strncmp(t->sql, "INSERT ", 7) ||
			!strncmp(t->sql, "UPDATE ", 7) ||
			!strncmp(t->sql, "DELETE ", 7) ||
			!strncmp(t->sql, "WITH ", 5));
	if (t->plannable && t->nparams &&
	    !(t->sigs = calloc((size_t)t->nparams * PG_VARIANTS,
			       sizeof(*t->sigs)))) {
		free(t->params);
		free(t->sql);
		free(t);
		return pg_fail(PS(store), IPAM_ENOMEM, "out of memory", err);
	}
	t->base.driver = &pg_driver;
	t->store = PS(store);
	t->row = -1;
	*out = &t->base;
	return 0;
}

static void clear_params(pg_stmt *t)
{
	for (int i = 0; i < t->nparams; i++) {
		free(t->params[i].data);
		memset(&t->params[i], 0, sizeof(t->params[i]));
	}
}

/* A server statement of the session no longer needed: its DEALLOCATE
 * is sent at the next statement outside a transaction
 * (pg_unprepare_flush), never inside one (an error there would abort
 * it). Out of memory, it stays until the connection ends. */
static void unprepare_later(pg_store *s, unsigned long id)
{
	char text[40];
	int n = snprintf(text, sizeof(text), "DEALLOCATE s%lu;", id);
	if (s->unprepare_len + (size_t)n + 1 > s->unprepare_cap) {
		size_t cap = s->unprepare_cap ? s->unprepare_cap * 2 : 256;
		char *more = realloc(s->unprepare, cap);
		if (!more)
			return;
		s->unprepare = more;
		s->unprepare_cap = cap;
	}
	memcpy(s->unprepare + s->unprepare_len, text, (size_t)n + 1);
	s->unprepare_len += (size_t)n;
}

/* Whether the server statements are this process's to make and drop: a
 * child forked with the connection (tests/unit/watch_fixture.h's
 * in_child runs a call in one while the parent waits) runs its
 * statements unnamed, as before prepared statements, and leaves the
 * parent's alone. */
static bool pg_ours(pg_store *s)
{
	return getpid() == s->pid;
}

/* Sends the DEALLOCATEs queued, when no transaction is open. */
static void pg_unprepare_flush(pg_store *s)
{
	PGresult *res;
	if (!s->unprepare_len || !pg_ours(s) ||
	    PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		return;
	res = PQexec(s->conn, s->unprepare);
	PQclear(res);
	s->unprepare_len = 0;
}

static void pg_finalize(ipam_stmt *stmt)
{
	pg_stmt *t = PT(stmt);
	if (!t)
		return;
	if (t->session == t->store->session && pg_ours(t->store) &&
	    PQstatus(t->store->conn) == CONNECTION_OK)
		for (int i = 0; i < PG_VARIANTS; i++)
			if (t->ids[i])
				unprepare_later(t->store, t->ids[i]);
	clear_result(t);
	clear_params(t);
	free(t->sigs);
	free(t->params);
	free(t->sql);
	free(t);
}

/*
 * The server statement of `t` for the parameter types `types`: one of
 * its variants of this session with exactly these types, else prepared
 * now (PQprepare, name "s<n>") in the slot of the oldest variant, whose
 * statement is DEALLOCATEd later. A statement is never run with types
 * other than those of its binds. *id: the statement's number. A failed
 * PREPARE reports the error the statement itself would have (the server
 * parses and plans it either way) and, inside a transaction, aborts it
 * just as the statement would.
 */
static int pg_ready(pg_stmt *t, const Oid *types, unsigned long *id,
		    ipam_err *err)
{
	pg_store *s = t->store;
	size_t size = (size_t)t->nparams * sizeof(*types);
	char name[24];
	PGresult *res;
	int slot;

	if (t->session != s->session) {
		memset(t->ids, 0, sizeof(t->ids));
		t->session = s->session;
	}
	for (slot = 0; slot < PG_VARIANTS; slot++)
		if (t->ids[slot] &&
		    (!size ||
		     !memcmp(t->sigs + slot * t->nparams, types, size)))
			break;
	if (slot < PG_VARIANTS && ++t->runs[slot] < PG_REPLAN_RUNS) {
		*id = t->ids[slot];
		return 0;
	}
	if (slot == PG_VARIANTS) { /* a new signature: the oldest's slot */
		slot = t->victim;
		t->victim = (t->victim + 1) % PG_VARIANTS;
	}
	if (t->ids[slot]) {
		unprepare_later(s, t->ids[slot]);
		t->ids[slot] = 0;
	}
	snprintf(name, sizeof(name), "s%lu", s->names + 1);
	res = PQprepare(s->conn, name, t->sql, t->nparams, types);
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		int rc = pg_result_fail(s, res, err);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	*id = t->ids[slot] = ++s->names;
	t->runs[slot] = 0;
	if (size)
		memcpy(t->sigs + slot * t->nparams, types, size);
	return 0;
}

/* Does `sql` (with $N placeholders) name $n? */
static bool names_param(const char *sql, int n)
{
	char name[16];
	size_t len = (size_t)snprintf(name, sizeof(name), "$%d", n);
	for (const char *p = strstr(sql, name); p; p = strstr(p + 1, name))
		if (p[len] < '0' || p[len] > '9')
			return true;
	return false;
}

/* Runs the statement with its binds (the first step). */
static int run(pg_stmt *t, ipam_err *err)
{
	pg_store *s = t->store;
	int n = t->nparams;
	Oid types[n ? n : 1];
	const char *values[n ? n : 1];
	int lengths[n ? n : 1], formats[n ? n : 1];
	ExecStatusType status;

	for (int i = 0; i < n; i++) {
		pg_param *p = &t->params[i];
		types[i] = p->kind == 1	  ? OID_INT8
			   : p->kind == 2 ? OID_TEXT
			   : p->kind == 3 ? OID_BYTEA
					  : 0;
		/* a NULL the text never names (SQL that numbers its binds
		 * and leaves one out): a type, or PostgreSQL refuses it */
		if (!p->kind && !names_param(t->sql, i + 1))
			types[i] = OID_TEXT;
		values[i] = p->kind == 1 ? p->num : p->kind ? p->data : NULL;
		lengths[i] = p->len;
		formats[i] = p->kind == 3;
	}
	/* text that is not UTF-8: a UTF8 database refuses it (22021) and
	 * the whole transaction with it. No row can hold such text, so a
	 * query finds nothing, as on SQLite, where nothing stored equals
	 * it; a change is refused, and the transaction goes on */
	for (int i = 0; i < n; i++) {
		if (t->params[i].kind != 2 ||
		    ipam_utf8_invalid(t->params[i].data) == (size_t)-1)
			continue;
		if (strncmp(t->sql, "SELECT ", 7) != 0)
			return pg_fail(s, IPAM_EINVAL,
				       "text that is not valid UTF-8 (PostgreSQL"
				       " stores UTF-8 only)",
				       err);
		t->res = PQmakeEmptyPGresult(s->conn, PGRES_COMMAND_OK);
		t->rows = 0;
		return t->res ? 0 : pg_fail(s, IPAM_ENOMEM, "out of memory", err);
	}
	if (t->control) {
		int rc = pg_control(s, t->control, t->sql, err);
		if (rc)
			return rc;
		t->res = PQmakeEmptyPGresult(s->conn, PGRES_COMMAND_OK);
		t->rows = 0;
		return t->res ? 0 : pg_fail(s, IPAM_ENOMEM, "out of memory", err);
	}
	if (!pg_in_transaction(&s->base))
		pg_revive(s);
	{
		int rc = s->unset ? pg_result_fail(s, NULL, err)
				  : before_command(s, t->sql, err);
		if (rc)
			return rc;
	}
	pg_unprepare_flush(s);
	/* a dialect text of several statements (no parameters) runs as
	 * one simple query: the result is the last statement's; a
	 * statement with a plan runs prepared (pg_ready), others (the
	 * transaction and savepoint statements) unnamed as before */
	if (t->plannable && pg_ours(s)) {
		unsigned long id = 0;
		char name[24];
		int rc = pg_ready(t, types, &id, err);
		if (rc)
			return rc;
		snprintf(name, sizeof(name), "s%lu", id);
		t->res = PQexecPrepared(s->conn, name, n, values, lengths,
					formats, 0);
	} else if (n == 0 && strchr(t->sql, ';')) {
		t->res = PQexec(s->conn, t->sql);
	} else {
		t->res = PQexecParams(s->conn, t->sql, n, types, values,
				      lengths, formats, 0);
	}
	status = t->res ? PQresultStatus(t->res) : PGRES_FATAL_ERROR;
	if (status == PGRES_TUPLES_OK) {
		t->rows = PQntuples(t->res);
		t->ncols = PQnfields(t->res);
		t->blobs = calloc((size_t)t->ncols + 1, sizeof(*t->blobs));
		t->blob_len =
			calloc((size_t)t->ncols + 1, sizeof(*t->blob_len));
		if (!t->blobs || !t->blob_len) {
			clear_result(t);
			return pg_fail(s, IPAM_ENOMEM, "out of memory", err);
		}
		s->changes = t->rows;
		after_command(s, t->sql, t->res);
		return 0;
	}
	if (status == PGRES_COMMAND_OK) {
		s->changes = strtoll(PQcmdTuples(t->res), NULL, 10);
		t->rows = 0;
		after_command(s, t->sql, t->res);
		return 0;
	}
	{
		int rc = pg_result_fail(s, t->res, err);
		clear_result(t);
		return rc;
	}
}

static int pg_step(ipam_stmt *stmt, ipam_err *err)
{
	pg_stmt *t = PT(stmt);
	if (!t->res) {
		int rc = run(t, err);
		if (rc)
			return rc;
	}
	clear_row(t);
	if (t->row + 1 < t->rows) {
		t->row++;
		return IPAM_ROW;
	}
	t->row = t->rows;
	return IPAM_DONE;
}

static void pg_reset(ipam_stmt *stmt)
{
	clear_result(PT(stmt));
	clear_params(PT(stmt));
}

static pg_param *param(pg_stmt *t, int idx)
{
	if (idx < 1 || idx > t->nparams)
		return NULL;
	free(t->params[idx - 1].data);
	memset(&t->params[idx - 1], 0, sizeof(t->params[idx - 1]));
	return &t->params[idx - 1];
}

static int pg_bind_int64(ipam_stmt *stmt, int idx, int64_t value)
{
	pg_param *p = param(PT(stmt), idx);
	if (!p)
		return IPAM_EINVAL;
	p->kind = 1;
	snprintf(p->num, sizeof(p->num), "%lld", (long long)value);
	return 0;
}

static int pg_bind_bytes(ipam_stmt *stmt, int idx, const void *data, int n,
			 int kind)
{
	pg_param *p = param(PT(stmt), idx);
	if (!p)
		return IPAM_EINVAL;
	if (!data)
		return 0; /* NULL */
	if (n < 0)
		n = (int)strlen(data);
	p->data = malloc((size_t)n + 1);
	if (!p->data)
		return IPAM_ENOMEM;
	memcpy(p->data, data, (size_t)n);
	p->data[n] = '\0';
	p->len = n;
	p->kind = kind;
	return 0;
}

static int pg_bind_text(ipam_stmt *stmt, int idx, const char *text, int n)
{
	return pg_bind_bytes(stmt, idx, text, n, 2);
}

static int pg_bind_blob(ipam_stmt *stmt, int idx, const void *blob, int n)
{
	return pg_bind_bytes(stmt, idx, blob ? blob : "", n, 3);
}

static int pg_bind_null(ipam_stmt *stmt, int idx)
{
	return param(PT(stmt), idx) ? 0 : IPAM_EINVAL;
}

/* The current row's value of column `col`, or NULL. */
static const char *value(pg_stmt *t, int col)
{
	if (!t->res || t->row < 0 || t->row >= t->rows || col < 0 ||
	    col >= t->ncols || PQgetisnull(t->res, t->row, col))
		return NULL;
	return PQgetvalue(t->res, t->row, col);
}

static int64_t pg_col_int64(ipam_stmt *stmt, int col)
{
	const char *v = value(PT(stmt), col);
	if (!v)
		return 0;
	if (PQftype(PT(stmt)->res, col) == OID_BOOL)
		return *v == 't';
	return strtoll(v, NULL, 10);
}

static const char *pg_col_text(ipam_stmt *stmt, int col)
{
	return value(PT(stmt), col);
}

static const void *pg_col_blob(ipam_stmt *stmt, int col)
{
	pg_stmt *t = PT(stmt);
	const char *v = value(t, col);
	if (!v)
		return NULL;
	if (PQftype(t->res, col) != OID_BYTEA) {
		t->blob_len[col] = strlen(v);
		return v;
	}
	if (!t->blobs[col]) {
		t->blobs[col] = PQunescapeBytea((const unsigned char *)v,
						&t->blob_len[col]);
		if (!t->blobs[col])
			return NULL; /* out of memory */
	}
	return t->blobs[col];
}

static int pg_col_bytes(ipam_stmt *stmt, int col)
{
	pg_stmt *t = PT(stmt);
	if (!value(t, col))
		return 0;
	if (!pg_col_blob(stmt, col))
		return 0;
	return (int)t->blob_len[col];
}

static ipam_coltype pg_col_type(ipam_stmt *stmt, int col)
{
	pg_stmt *t = PT(stmt);
	if (!value(t, col))
		return IPAM_COL_NULL;
	switch (PQftype(t->res, col)) {
	case OID_BOOL:
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
		return IPAM_COL_INT;
	case OID_FLOAT4:
	case OID_FLOAT8:
	case OID_NUMERIC:
		return IPAM_COL_FLOAT;
	case OID_BYTEA:
		return IPAM_COL_BLOB;
	default:
		return IPAM_COL_TEXT;
	}
}

/* ---- schema ---- */

static void pg_schema_unlock(pg_store *s);
static int schema_version(pg_store *s, int64_t *out, ipam_err *err);

/* Daemons mounting one empty database at the same instant: one reads and
 * creates the schema while the others wait on the advisory lock, then
 * find it made. The lock is released here when the schema is current,
 * else in pg_session, after ipam_open's migration committed (or with the
 * connection). */
static int pg_schema_version(ipam_store *store, int64_t *out, ipam_err *err)
{
	pg_store *s = PS(store);
	int rc;

	*out = 0;
	if (!s->schema_locked) {
		rc = pg_exec(store,
			     "SELECT pg_advisory_lock(x'" PG_SCHEMA_LOCK
			     "'::bigint)",
			     err);
		if (rc)
			return rc;
		s->schema_locked = true;
	}
	rc = schema_version(s, out, err);
	if (rc || *out == ipam__pg_schema_count())
		pg_schema_unlock(s);
	return rc;
}

static int schema_version(pg_store *s, int64_t *out, ipam_err *err)
{
	ipam_store *store = &s->base;
	PGresult *res = PQexec(s->conn,
			       "SELECT to_regclass('ipamfs_meta') IS NOT NULL,"
			       " (SELECT count(*) FROM pg_tables WHERE"
			       " schemaname = current_schema())");
	int rc = 0;

	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = pg_result_fail(s, res, err);
		PQclear(res);
		return rc;
	}
	if (*PQgetvalue(res, 0, 0) != 't') {
		long long tables = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		PQclear(res);
		if (tables > 0)
			return ipam__fail(err, IPAM_ESCHEMA,
					  "the PostgreSQL schema holds %lld "
					  "tables of another program",
					  tables);
		/* empty: ours to fill. The table the write transactions
		 * lock (dialect[]) must exist before the first of them,
		 * the one that creates the schema */
		return pg_exec(store, PG_META_TABLE, err);
	}
	PQclear(res);
	res = PQexec(s->conn, "SELECT value FROM ipamfs_meta"
			      " WHERE key = 'schema_version'");
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = pg_result_fail(s, res, err);
	else if (PQntuples(res) > 1)
		rc = ipam__fail(err, IPAM_ESCHEMA, "no ipamfs schema version");
	else if (PQntuples(res) == 0) /* made above, the schema not yet */
		*out = 0;
	else
		*out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (rc == 0 && *out > ipam__pg_schema_count())
		rc = ipam__fail(err, IPAM_ESCHEMA,
				"the database has schema version %lld, newer "
				"than this ipamfs (%d): upgrade ipamfs",
				(long long)*out, ipam__pg_schema_count());
	return rc;
}

static int pg_migrate(ipam_store *store, int64_t version, int64_t to,
		      ipam_err *err)
{
	char sql[128];
	int rc = 0;

	if (to > ipam__pg_schema_count())
		return ipam__fail(err, IPAM_ESCHEMA,
				  "no schema version %lld for PostgreSQL",
				  (long long)to);
	if (version == 0) {
		for (size_t i = 0;
		     rc == 0 && i < sizeof(pg_schema) / sizeof(pg_schema[0]); i++)
			rc = pg_exec(store, pg_schema[i], err);
		version = PG_BASE_VERSION;
	} else if (version < PG_BASE_VERSION) {
		return ipam__fail(err, IPAM_ESCHEMA,
				  "schema version %lld predates PostgreSQL "
				  "support",
				  (long long)version);
	}
	for (int64_t v = version; rc == 0 && v < to; v++) {
		rc = pg_exec(store, pg_migrations[v - PG_BASE_VERSION], err);
		for (size_t i = 0; rc == 0 && i < sizeof(pg_migration_parts) /
							   sizeof(pg_migration_parts[0]);
		     i++)
			if (pg_migration_parts[i].to == v + 1)
				rc = pg_exec(store, pg_migration_parts[i].sql,
					     err);
	}
	snprintf(sql, sizeof(sql),
		 "INSERT INTO ipamfs_meta VALUES ('schema_version', %lld)"
		 " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		 (long long)to);
	if (rc == 0)
		rc = pg_exec(store, sql, err);
	return rc;
}

/* The schema is read, created and migrated (ipam_open): other daemons
 * opening the same database may go on (the lock pg_schema_version took). */
static void pg_schema_unlock(pg_store *s)
{
	PGresult *res;
	if (!s->schema_locked)
		return;
	res = PQexec(s->conn, "SELECT pg_advisory_unlock(x'" PG_SCHEMA_LOCK
			      "'::bigint)");
	PQclear(res);
	s->schema_locked = false; /* or the connection, and the lock, is gone */
}

static int pg_session(ipam_store *store, ipam_store_stamp_fn stamp,
		      void *ctx, ipam_err *err)
{
	pg_schema_unlock(PS(store));
	(void)err;
	PS(store)->stamp = stamp;
	PS(store)->stamp_ctx = ctx;
	return 0;
}

/* The triggers keep running while the bulk allocator stamps its rows
 * itself: both write the same stamp (the transaction's). */
static int pg_hold_row_triggers(ipam_store *store, bool hold, ipam_err *err)
{
	(void)store;
	(void)hold;
	(void)err;
	return 0;
}

/* The remove notification: the schema's rm_* triggers write the deleted
 * rows into the session's temporary table ipam_removed while the
 * session's ipam.removals is on; pg_control reads them before COMMIT.
 * The table is made first, so the setting is never on without it. */
static void pg_set_delete_hook(ipam_store *store, ipam_store_delete_fn fn,
			       void *ctx)
{
	pg_store *s = PS(store);
	s->on_delete = fn;
	s->delete_ctx = ctx;
	if (fn && !s->removals)
		s->removals = removals_on(s);
	else if (!fn && s->removals)
		s->removals = pg_simple(s,
					"SELECT set_config('ipam.removals',"
					" '0', false)",
					NULL) != 0;
}

/* ---- whole database ---- */

static int pg_check(ipam_store *store, ipam_err *err)
{
	return pg_exec(store, "SELECT 1 FROM ipamfs_meta LIMIT 1", err);
}

static int pg_sync(ipam_store *store, ipam_err *err)
{
	(void)store;
	(void)err;
	return 0; /* a commit is durable on the server */
}

static int pg_backup(ipam_store *store, unsigned char **out, size_t *len,
		     ipam_err *err)
{
	(void)store;
	*out = NULL;
	*len = 0;
	return ipam__fail(err, IPAM_EINVAL,
			  "no backup image of a PostgreSQL database: use "
			  "pg_dump");
}

static int64_t pg_size(ipam_store *store)
{
	(void)store;
	return 0;
}

/* ---- other daemons' changes ---- */

static void quiet(void *arg, const char *message);

/* The listening connection: made (again) and LISTENing, or why not. */
static int listen_connect(pg_store *s, ipam_err *err)
{
	PGresult *res;
	int ok;
	s->listen = PQconnectdb(s->dsn);
	if (!s->listen)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	/* the server's goodbye (FATAL: terminating connection) is not for
	 * the daemon's stderr: the lost connection is reported */
	PQsetNoticeProcessor(s->listen, quiet, NULL);
	res = PQstatus(s->listen) == CONNECTION_OK
		      ? PQexec(s->listen, "LISTEN " PG_CHANNEL)
		      : NULL;
	ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (ok && PQsetnonblocking(s->listen, 1) == 0)
		return 0;
	{
		char why[160];
		size_t n;
		snprintf(why, sizeof(why), "%s", PQerrorMessage(s->listen));
		n = strlen(why);
		while (n && (why[n - 1] == '\n' || why[n - 1] == ' '))
			why[--n] = '\0';
		PQfinish(s->listen);
		s->listen = NULL;
		return ipam__fail(err, IPAM_EIO,
				  "cannot listen for other daemons' changes: "
				  "%s",
				  n ? why : "the server is away");
	}
}

/* Hands the removal list of a payload (pg_announce_removed_sql) to
 * `removed`: each row by its table, or NULL (anything may be gone) for
 * ` *`, and for what is not a list of ours (a hostile or newer sender). */
static void payload_removed(const char *payload, ipam_store_delete_fn removed,
			    void *ctx)
{
	const char *p = payload + strspn(payload, "0123456789");
	while (*p == ' ') {
		const char *table = NULL;
		char *end = NULL;
		long long key = 0;
		for (size_t i = 0; i < sizeof(pg_removed_tables) /
					       sizeof(pg_removed_tables[0]);
		     i++)
			if (p[1] && p[1] == pg_removed_tables[i][0])
				table = pg_removed_tables[i];
		if (table && p[2] >= '1' && p[2] <= '9') {
			errno = 0;
			key = strtoll(p + 2, &end, 10);
		}
		if (!table || !end || errno || (*end && *end != ' ')) {
			removed(ctx, NULL, 0);
			return;
		}
		removed(ctx, table, key);
		p = end;
	}
	if (*p)
		removed(ctx, NULL, 0);
}

static int pg_wait_others(ipam_store *store, int timeout_ms, int64_t *last,
			  ipam_store_delete_fn removed, void *ctx,
			  ipam_err *err)
{
	pg_store *s = PS(store);
	struct pollfd fd;
	PGnotify *note;
	int found = 0, rc;

	*last = 0;
	if (!s->listen) {
		bool again = s->listened;
		if ((rc = listen_connect(s, err))) {
			/* the server is away: try again after the timeout */
			poll(NULL, 0, timeout_ms);
			return rc;
		}
		s->listened = true;
		if (again)
			return 2;
	}
	fd.fd = PQsocket(s->listen);
	fd.events = POLLIN;
	fd.revents = 0;
	if (fd.fd < 0 || (poll(&fd, 1, timeout_ms) < 0 && errno != EINTR) ||
	    PQconsumeInput(s->listen) == 0) {
		PQfinish(s->listen);
		s->listen = NULL;
		return ipam__fail(err, IPAM_EIO,
				  "the connection to PostgreSQL is lost");
	}
	while ((note = PQnotifies(s->listen))) {
		if (note->be_pid != atomic_load(&s->own_pid)) {
			int64_t seq = strtoll(note->extra, NULL, 10);
			found = 1;
			if (seq > *last)
				*last = seq;
			if (removed)
				payload_removed(note->extra, removed, ctx);
		}
		PQfreemem(note);
	}
	/* a server that shut down closes the socket: readable, and
	 * PQconsumeInput notices only at the next read */
	if (!found && (fd.revents & (POLLHUP | POLLERR))) {
		PQfinish(s->listen);
		s->listen = NULL;
		return ipam__fail(err, IPAM_EIO,
				  "the connection to PostgreSQL is lost");
	}
	return found;
}

static const ipam_store_driver pg_driver = {
	.name = "postgresql",
	.close = pg_close,
	.exec = pg_exec,
	.error = pg_error,
	.in_transaction = pg_in_transaction,
	.changes = pg_changes,
	.last_insert_id = pg_last_insert_id,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.step = pg_step,
	.reset = pg_reset,
	.bind_int64 = pg_bind_int64,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.bind_null = pg_bind_null,
	.col_int64 = pg_col_int64,
	.col_text = pg_col_text,
	.col_blob = pg_col_blob,
	.col_bytes = pg_col_bytes,
	.col_type = pg_col_type,
	.schema_version = pg_schema_version,
	.migrate = pg_migrate,
	.session = pg_session,
	.hold_row_triggers = pg_hold_row_triggers,
	.set_delete_hook = pg_set_delete_hook,
	.check = pg_check,
	.sync = pg_sync,
	.backup = pg_backup,
	.size = pg_size,
	.wait_others = pg_wait_others,
};

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

int ipam__pg_open(ipam_store **out, const char *dsn, ipam_err *err)
{
	pg_store *s;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	s->base.driver = &pg_driver;
	s->conn = PQconnectdb(dsn);
	if (!s->conn) {
		free(s);
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		int rc = ipam__fail(err, IPAM_EIO,
				    "cannot connect to PostgreSQL: %s",
				    PQerrorMessage(s->conn));
		pg_close(&s->base, false);
		return rc;
	}
	PQsetNoticeProcessor(s->conn, quiet, NULL);
	s->dsn = strdup(dsn);
	if (!s->dsn) {
		pg_close(&s->base, false);
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	atomic_store(&s->own_pid, PQbackendPID(s->conn));
	s->pid = getpid();
	if (pg_setup(s->conn) != 0) {
		int rc = ipam__fail(err, IPAM_EIO,
				    "cannot set up the session: %s",
				    PQerrorMessage(s->conn));
		pg_close(&s->base, false);
		return rc;
	}
	*out = &s->base;
	return 0;
}
