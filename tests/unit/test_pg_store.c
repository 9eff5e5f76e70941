/*
 * test_pg_store.c - the PostgreSQL engine of the storage seam
 * (core/store/pg.c, docs/design/pg.md) against a throwaway cluster
 * (tests/pg/pgtmp.sh run; suite `pg`): the statement interface, the
 * schema, the structural no-overlap guarantee of allocations, errors
 * mapped to ipam_code (serialization failure, lost connection), the
 * reconnect, and the removals a notification carries to the other
 * daemons. Skipped without IPAMFS_PG_DSN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "pg.h"

static const char *dsn;

/* A fresh database: every test gets its own schema-less database. */
static ipam_store *fresh(const char *name)
{
	ipam_store *admin = NULL, *s = NULL;
	ipam_err err = {0, ""};
	char sql[160], conn[512];

	assert_int_equal(ipam__pg_open(&admin, dsn, &err), 0);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", name);
	assert_int_equal(admin->driver->exec(admin, sql, &err), 0);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	assert_int_equal(admin->driver->exec(admin, sql, &err), 0);
	admin->driver->close(admin, false);
	snprintf(conn, sizeof(conn), "%s dbname=%s", dsn, name);
	assert_int_equal(ipam__pg_open(&s, conn, &err), 0);
	return s;
}

static ipam_store *open_db(const char *name)
{
	ipam_store *s = NULL;
	ipam_err err = {0, ""};
	char conn[512];
	snprintf(conn, sizeof(conn), "%s dbname=%s", dsn, name);
	assert_int_equal(ipam__pg_open(&s, conn, &err), 0);
	return s;
}

static ipam_stmt *prep(ipam_store *s, const char *sql)
{
	ipam_stmt *stmt = NULL;
	ipam_err err = {0, ""};
	int rc = s->driver->prepare(s, sql, &stmt, &err);
	if (rc)
		fail_msg("prepare %s: %s", sql, err.msg);
	return stmt;
}

static int run(ipam_store *s, const char *sql, ipam_err *err)
{
	return s->driver->exec(s, sql, err);
}

/* A schema at the current version, a scope and an IPv4 pool (key 1) and
 * an IPv6 pool (key 2). */
static ipam_store *with_pools(const char *name)
{
	ipam_store *s = fresh(name);
	ipam_err err = {0, ""};
	int64_t version = -1;
	unsigned char zero[16] = {0};
	ipam_stmt *stmt;

	assert_int_equal(s->driver->schema_version(s, &version, &err), 0);
	assert_int_equal(version, 0);
	assert_int_equal(s->driver->migrate(s, 0, ipam_schema_version(), &err),
			 0);
	run(s,
	    "INSERT INTO scope(aws_id, name, is_public, is_default, created,"
	    " uid, gid, mode) VALUES ('ipam-scope-1', 'private', 0, 1, 0, 0,"
	    " 0, 493)",
	    &err);
	stmt = prep(s, "INSERT INTO pool(aws_id, scope_key, name, depth,"
		       " family, total, to_pools, assigned, created, uid, gid,"
		       " mode) VALUES (?1, 1, ?2, 0, ?3, ?4, ?4, ?4, 0, 0, 0,"
		       " 493)");
	for (int i = 0; i < 2; i++) {
		ipam__bind_text(stmt, 1, i ? "ipam-pool-6" : "ipam-pool-4", -1);
		ipam__bind_text(stmt, 2, i ? "v6" : "v4", -1);
		ipam__bind_int(stmt, 3, i ? 6 : 4);
		ipam__bind_blob(stmt, 4, zero, 16);
		assert_int_equal(s->driver->step(stmt, &err), IPAM_DONE);
		ipam__reset(stmt);
	}
	s->driver->finalize(stmt);
	assert_string_equal(err.msg, "");
	return s;
}

/* Allocates family/addr/prefix in pool (1: v4, 2: v6) with a fresh name. */
static int allocate(ipam_store *s, int64_t pool, ipam_u128 addr, int prefix,
		    ipam_err *err)
{
	static int serial;
	char name[32];
	ipam_stmt *stmt = prep(
		s, "INSERT INTO allocation(aws_id, pool_key, name, start,"
		   " prefix, resource_type, created, uid, gid, mode)"
		   " VALUES (?1, ?2, ?1, ?3, ?4, 'custom', 0, 0, 0, 493)");
	int rc;
	snprintf(name, sizeof(name), "ipam-pool-alloc-%d", ++serial);
	ipam__bind_text(stmt, 1, name, -1);
	ipam__bind_int64(stmt, 2, pool);
	ipam__bind_addr(stmt, 3, addr);
	ipam__bind_int(stmt, 4, prefix);
	rc = s->driver->step(stmt, err);
	s->driver->finalize(stmt);
	return rc;
}

static void test_placeholders(void **state)
{
	int n = 0;
	char *out;
	(void)state;
	out = ipam__pg_placeholders("SELECT ?1, '?', ?2, ?, \"a?\" WHERE x = ?1",
				    &n);
	assert_string_equal(out,
			    "SELECT $1, '?', $2, $3, \"a?\" WHERE x = $1");
	assert_int_equal(n, 3);
	free(out);
	/* SQLite's ordered inner join: a plain JOIN; a real CROSS JOIN and
	 * quoted text stay */
	out = ipam__pg_placeholders(
		"SELECT 1 FROM a CROSS JOIN b o ON o.k = a.k CROSS JOIN c"
		" CROSS JOIN d ON d.k = 1 WHERE 'CROSS JOIN e ON' = ?",
		&n);
	assert_string_equal(
		out, "SELECT 1 FROM a JOIN b o ON o.k = a.k CROSS JOIN c"
		     " JOIN d ON d.k = 1 WHERE 'CROSS JOIN e ON' = $1");
	free(out);
	out = ipam__pg_placeholders("SELECT 1", &n);
	assert_string_equal(out, "SELECT 1");
	assert_int_equal(n, 0);
	free(out);
}

static void test_schema_and_values(void **state)
{
	ipam_store *s = with_pools("t_values");
	ipam_err err = {0, ""};
	int64_t version = 0;
	unsigned char key[16];
	ipam_stmt *stmt;
	(void)state;

	assert_int_equal(s->driver->schema_version(s, &version, &err), 0);
	assert_int_equal(version, ipam_schema_version());
	assert_int_equal(ipam__pg_schema_count(), ipam_schema_version());

	/* int64, text, a 16-byte key and NULL round-trip */
	stmt = prep(s, "SELECT ?1, ?2, ?3, ?4, key FROM pool WHERE"
		       " name = ?2 ORDER BY key");
	ipam__bind_int64(stmt, 1, -9007199254740993LL);
	ipam__bind_text(stmt, 2, "v6", -1);
	ipam__addr_to_blob(((ipam_u128)0xfd00 << 112) | 0xff, key);
	ipam__bind_blob(stmt, 3, key, 16);
	ipam__bind_null(stmt, 4);
	assert_int_equal(s->driver->step(stmt, &err), IPAM_ROW);
	assert_int_equal(ipam__col_int64(stmt, 0), -9007199254740993LL);
	assert_string_equal(ipam__col_text(stmt, 1), "v6");
	assert_int_equal(ipam__col_type(stmt, 2), IPAM_COL_BLOB);
	assert_int_equal(ipam__col_bytes(stmt, 2), 16);
	assert_memory_equal(ipam__col_blob(stmt, 2), key, 16);
	assert_true(ipam__col_u128(stmt, 2) ==
		    (((ipam_u128)0xfd00 << 112) | 0xff));
	assert_int_equal(ipam__col_type(stmt, 3), IPAM_COL_NULL);
	assert_null(ipam__col_text(stmt, 3));
	assert_int_equal(ipam__col_int64(stmt, 4), 2);
	assert_int_equal(s->driver->step(stmt, &err), IPAM_DONE);
	s->driver->finalize(stmt);

	/* a second open sees the version and migrates nothing */
	s->driver->close(s, false);
	s = open_db("t_values");
	assert_int_equal(s->driver->schema_version(s, &version, &err), 0);
	assert_int_equal(version, ipam_schema_version());
	/* changes and the key of the last insert */
	assert_int_equal(run(s, "INSERT INTO locale(name) VALUES ('a'), ('b')",
			     &err),
			 0);
	assert_int_equal(s->driver->changes(s), 2);
	assert_int_equal(allocate(s, 1, 0x0a000000, 24, &err), IPAM_DONE);
	assert_int_equal(s->driver->last_insert_id(s), 1);
	s->driver->close(s, false);
}

/* A database holding someone else's tables is not ours to fill. */
static void test_foreign_schema(void **state)
{
	ipam_store *s = fresh("t_foreign");
	ipam_err err = {0, ""};
	int64_t version = -1;
	(void)state;
	assert_int_equal(run(s, "CREATE TABLE accounts(id int)", &err), 0);
	assert_int_equal(s->driver->schema_version(s, &version, &err),
			 IPAM_ESCHEMA);
	assert_non_null(strstr(err.msg, "another program"));
	s->driver->close(s, false);
}

/* No two allocations of one pool overlap, whoever writes them. */
static void test_no_overlap(void **state)
{
	ipam_store *s = with_pools("t_overlap");
	ipam_err err = {0, ""};
	(void)state;

	assert_int_equal(allocate(s, 1, 0x0a000000, 24, &err), IPAM_DONE);
	/* inside, around, and the same block under another start */
	assert_int_equal(allocate(s, 1, 0x0a000080, 25, &err), IPAM_EEXIST);
	assert_non_null(strstr(err.msg, "conflicting key value"));
	err = (ipam_err){0, ""};
	assert_int_equal(allocate(s, 1, 0x0a000000, 16, &err), IPAM_EEXIST);
	err = (ipam_err){0, ""};
	/* neighbours are fine, and the same CIDR in another pool */
	assert_int_equal(allocate(s, 1, 0x0a000100, 24, &err), IPAM_DONE);
	assert_int_equal(allocate(s, 1, 0x09ffff00, 24, &err), IPAM_DONE);
	/* IPv6: 2^64-address blocks, exact numeric ranges */
	assert_int_equal(allocate(s, 2, (ipam_u128)0xfd01 << 112, 64, &err),
			 IPAM_DONE);
	assert_int_equal(allocate(s, 2,
				  ((ipam_u128)0xfd01 << 112) |
					  ((ipam_u128)1 << 63),
				  65, &err),
			 IPAM_EEXIST);
	err = (ipam_err){0, ""};
	assert_int_equal(allocate(s, 2,
				  ((ipam_u128)0xfd01 << 112) |
					  ((ipam_u128)1 << 64),
				  64, &err),
			 IPAM_DONE);
	/* a hostile client: raw SQL with a made-up span is recomputed and
	 * refused */
	assert_int_equal(
		run(s,
		    "INSERT INTO allocation(aws_id, pool_key, name, start,"
		    " prefix, resource_type, created, uid, gid, mode, span)"
		    " VALUES ('x', 1, 'x', '\\x0000000000000000000000000a000010',"
		    " 28, 'custom', 0, 0, 0, 493, numrange(1, 2))",
		    &err),
		IPAM_EEXIST);
	err = (ipam_err){0, ""};
	/* moving an allocation onto another is refused too */
	assert_int_equal(run(s,
			     "UPDATE allocation SET start ="
			     " '\\x0000000000000000000000000a000100'"
			     " WHERE start = '\\x0000000000000000000000000a"
			     "000000'",
			     &err),
			 IPAM_EEXIST);
	err = (ipam_err){0, ""};
	/* a prefix that does not fit the pool's family */
	assert_int_equal(allocate(s, 1, 0x0b000000, 33, &err), IPAM_EEXIST);
	s->driver->close(s, false);
}

/* Two connections writing what the other read: SERIALIZABLE lets one
 * commit, the other fails with IPAM_EBUSY (the caller retries). */
static void test_serialization(void **state)
{
	ipam_store *a = with_pools("t_serial"), *b = open_db("t_serial");
	ipam_err err = {0, ""};
	int ra, rb;
	(void)state;

	assert_int_equal(run(a, "BEGIN", &err), 0);
	assert_int_equal(run(b, "BEGIN", &err), 0);
	assert_true(a->driver->in_transaction(a));
	assert_int_equal(run(a, "SELECT count(*) FROM allocation", &err), 0);
	assert_int_equal(run(b, "SELECT count(*) FROM allocation", &err), 0);
	assert_int_equal(allocate(a, 1, 0x0a000000, 24, &err), IPAM_DONE);
	assert_int_equal(allocate(b, 1, 0x0a010000, 24, &err), IPAM_DONE);
	ra = run(a, "COMMIT", &err);
	err = (ipam_err){0, ""};
	rb = run(b, "COMMIT", &err);
	assert_int_equal(ra, 0);
	assert_int_equal(rb, IPAM_EBUSY);
	assert_non_null(strstr(err.msg, "try again"));
	assert_false(b->driver->in_transaction(b));
	a->driver->close(a, false);
	b->driver->close(b, false);
}

/* The connection dies: the statement fails with IPAM_EIO, the next one
 * reconnects. */
static void test_reconnect(void **state)
{
	ipam_store *a = with_pools("t_reconnect"), *b = open_db("t_reconnect");
	ipam_err err = {0, ""};
	ipam_stmt *stmt;
	(void)state;

	assert_int_equal(
		run(b,
		    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
		    " WHERE datname = 't_reconnect' AND pid <> pg_backend_pid()",
		    &err),
		0);
	stmt = prep(a, "SELECT count(*) FROM pool");
	assert_int_equal(a->driver->step(stmt, &err), IPAM_EIO);
	assert_non_null(strstr(err.msg, "storage failure"));
	ipam__reset(stmt);
	err = (ipam_err){0, ""};
	assert_int_equal(a->driver->step(stmt, &err), IPAM_ROW);
	assert_int_equal(ipam__col_int64(stmt, 0), 2);
	a->driver->finalize(stmt);
	a->driver->close(a, false);
	b->driver->close(b, false);
}

/* What wait_others reported removed: "allocation:7" ..., "*" for
 * anything. */
struct heard {
	char text[4096];
	int calls;
};

static void heard_removed(void *ctx, const char *table, int64_t key)
{
	struct heard *h = ctx;
	size_t n = strlen(h->text);
	h->calls++;
	snprintf(h->text + n, sizeof(h->text) - n, "%s%s:%lld", n ? " " : "",
		 table ? table : "*", (long long)key);
}

static void own_removed(void *ctx, const char *table, int64_t key)
{
	(void)table;
	(void)key;
	(*(int *)ctx)++;
}

/* Runs a control statement the driver handles itself (pg_control). */
static void control(ipam_store *s, const char *sql)
{
	ipam_stmt *stmt = prep(s, sql);
	ipam_err err = {0, ""};
	if (s->driver->step(stmt, &err) != IPAM_DONE)
		fail_msg("%s: %s", sql, err.msg);
	s->driver->finalize(stmt);
}

/* Waits for b's next notification (up to 5 s): wait_others' result, and
 * what it reported removed in *h. */
static int hear(ipam_store *b, struct heard *h)
{
	ipam_err err = {0, ""};
	int64_t last = 0;
	int rc = 0;
	memset(h, 0, sizeof(*h));
	for (int i = 0; i < 50 && rc == 0; i++)
		rc = b->driver->wait_others(b, 100, &last, heard_removed, h,
					    &err);
	return rc;
}

/* Another connection's write transaction names the rows it deleted in
 * its notification (docs/design/pg.md, "Seeing other daemons' changes");
 * a list too long for one payload, or a payload that is not a list of
 * ours, says "anything may be gone". */
static void test_removals_announced(void **state)
{
	ipam_store *a = with_pools("t_removals"), *b = open_db("t_removals");
	ipam_err err = {0, ""};
	struct heard h;
	int64_t last = 0, k1, k2;
	int own = 0;
	ipam_u128 addr = 0;
	(void)state;

	/* b listens (the first call makes its connection) */
	assert_int_equal(
		b->driver->wait_others(b, 0, &last, heard_removed, &h, &err),
		0);
	a->driver->set_delete_hook(a, own_removed, &own);
	control(a, "BEGIN IMMEDIATE");
	for (int i = 0; i < 3; i++) {
		addr = 0x0a000000u + 256u * (unsigned)i;
		assert_int_equal(allocate(a, 1, addr, 24, &err), 0);
	}
	control(a, "COMMIT");
	assert_int_equal(hear(b, &h), 1);
	assert_string_equal(h.text, ""); /* inserts remove nothing */
	k1 = a->driver->last_insert_id(a) - 2;
	k2 = k1 + 2;
	control(a, "BEGIN IMMEDIATE");
	{
		char sql[128];
		snprintf(sql, sizeof(sql),
			 "DELETE FROM allocation WHERE key IN (%lld, %lld)",
			 (long long)k1, (long long)k2);
		assert_int_equal(run(a, sql, &err), 0);
	}
	control(a, "COMMIT");
	assert_int_equal(own, 2); /* a's own hook, as before */
	assert_int_equal(hear(b, &h), 1);
	{
		char want[64], want2[64];
		snprintf(want, sizeof(want), "allocation:%lld allocation:%lld",
			 (long long)k1, (long long)k2);
		snprintf(want2, sizeof(want2),
			 "allocation:%lld allocation:%lld", (long long)k2,
			 (long long)k1);
		if (strcmp(h.text, want) && strcmp(h.text, want2))
			fail_msg("heard '%s', want '%s'", h.text, want);
	}
	/* a rollback announces nothing */
	control(a, "BEGIN IMMEDIATE");
	assert_int_equal(run(a, "DELETE FROM allocation", &err), 0);
	control(a, "ROLLBACK");
	/* 1500 rows deleted at once: more than a payload holds */
	control(a, "BEGIN IMMEDIATE");
	for (int i = 0; i < 1500; i++) {
		addr = 0x0b000000u + 256u * (unsigned)i;
		assert_int_equal(allocate(a, 1, addr, 24, &err), 0);
	}
	control(a, "COMMIT");
	assert_int_equal(hear(b, &h), 1);
	assert_string_equal(h.text, "");
	control(a, "BEGIN IMMEDIATE");
	assert_int_equal(run(a, "DELETE FROM allocation", &err), 0);
	control(a, "COMMIT");
	assert_int_equal(hear(b, &h), 1);
	assert_string_equal(h.text, "*:0");
	assert_int_equal(own, 2 + 1501);
	/* other programs' payloads: a plain number removes nothing; what is
	 * not a list of ours may have removed anything */
	assert_int_equal(run(a, "NOTIFY ipamfs, '12'", &err), 0);
	assert_int_equal(hear(b, &h), 1);
	assert_int_equal(h.calls, 0);
	assert_int_equal(run(a, "NOTIFY ipamfs, '12 p3 s4 d5 r6'", &err), 0);
	assert_int_equal(hear(b, &h), 1);
	assert_string_equal(h.text, "pool:3 scope:4 discovery:5 resource:6");
	const char *hostile[] = {
		"12 x3",  "12 a", "12 a0",  "12 a-1",
		"12 a1x", "junk", "12  a1", "12 a99999999999999999999",
		"12 a1 *"};
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		char sql[128];
		snprintf(sql, sizeof(sql), "NOTIFY ipamfs, '%s'", hostile[i]);
		assert_int_equal(run(a, sql, &err), 0);
		assert_int_equal(hear(b, &h), 1);
		if (!strstr(h.text, "*:0"))
			fail_msg("payload '%s': heard '%s'", hostile[i],
				 h.text);
	}
	a->driver->close(a, false);
	b->driver->close(b, false);
}

/* How many server statements the session of `s` has prepared with the
 * text `text` (all of them when NULL). */
static int64_t server_stmts(ipam_store *s, const char *text)
{
	ipam_err err = {0, ""};
	ipam_stmt *q = prep(s, text ? "SELECT count(*) FROM"
				      " pg_prepared_statements"
				      " WHERE statement = ?1"
				    : "SELECT count(*) FROM"
				      " pg_prepared_statements");
	int64_t n;
	if (text)
		ipam__bind_text(q, 1, text, -1);
	assert_int_equal(s->driver->step(q, &err), IPAM_ROW);
	n = ipam__col_int64(q, 0);
	s->driver->finalize(q);
	return n;
}

/* The type the server gave ?1 of `stmt` (SELECT pg_typeof(?1)::text),
 * bound by `bind`. */
static void expect_type(ipam_store *s, ipam_stmt *stmt, const char *type)
{
	ipam_err err = {0, ""};
	assert_int_equal(s->driver->step(stmt, &err), IPAM_ROW);
	assert_string_equal(ipam__col_text(stmt, 0), type);
	assert_int_equal(s->driver->step(stmt, &err), IPAM_DONE);
	ipam__reset(stmt);
}

/* Statements with a plan are prepared on the server once per signature
 * (the types of their binds) and session, never run with other types,
 * DEALLOCATEd when finalized, prepared again after a reconnect; errors
 * map as before, a failed PREPARE aborting a transaction as the
 * statement would. */
static void test_prepared(void **state)
{
	ipam_store *a = with_pools("t_prepared"), *b = open_db("t_prepared");
	const char *typeof_sql = "SELECT pg_typeof($1)::text";
	unsigned char blob[3] = {1, 0, 2};
	ipam_err err = {0, ""};
	ipam_stmt *stmt, *dup;
	(void)state;

	stmt = prep(a, "SELECT pg_typeof(?1)::text");
	for (int i = 0; i < 3; i++) {
		ipam__bind_int64(stmt, 1, i);
		expect_type(a, stmt, "bigint");
	}
	assert_int_equal(server_stmts(a, typeof_sql), 1);
	ipam__bind_text(stmt, 1, "x", -1);
	expect_type(a, stmt, "text");
	ipam__bind_int64(stmt, 1, 7);
	expect_type(a, stmt, "bigint");
	ipam__bind_blob(stmt, 1, blob, 3);
	expect_type(a, stmt, "bytea");
	assert_int_equal(server_stmts(a, typeof_sql), 3);
	/* a parameter the text never names, bound NULL, is text */
	dup = prep(a, "SELECT ?1 + 1, ?3");
	ipam__bind_int64(dup, 1, 41);
	ipam__bind_int64(dup, 3, 5);
	assert_int_equal(a->driver->step(dup, &err), IPAM_ROW);
	assert_int_equal(ipam__col_int64(dup, 0), 42);
	a->driver->finalize(dup);

	/* after a reconnect: prepared again in the new session */
	assert_int_equal(
		run(b,
		    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
		    " WHERE datname = 't_prepared' AND pid <> pg_backend_pid()",
		    &err),
		0);
	ipam__bind_text(stmt, 1, "x", -1);
	assert_int_equal(a->driver->step(stmt, &err), IPAM_EIO);
	ipam__reset(stmt);
	err = (ipam_err){0, ""};
	ipam__bind_text(stmt, 1, "x", -1);
	expect_type(a, stmt, "text");
	ipam__bind_int64(stmt, 1, 1);
	expect_type(a, stmt, "bigint");
	assert_int_equal(server_stmts(a, typeof_sql), 2);
	/* more signatures than a statement keeps (4): the oldest goes */
	dup = prep(a, "SELECT pg_typeof(?1)::text || ' ' || pg_typeof(?2)");
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 5; i++) {
			if (i % 3 == 0)
				ipam__bind_int64(dup, 1, i);
			else if (i % 3 == 1)
				ipam__bind_text(dup, 1, "t", -1);
			else
				ipam__bind_blob(dup, 1, blob, 3);
			if (i < 3)
				ipam__bind_int64(dup, 2, i);
			else
				ipam__bind_text(dup, 2, "u", -1);
			expect_type(
				a, dup,
				(const char *[]){"bigint bigint", "text bigint",
						 "bytea bigint", "bigint text",
						 "text text"}[i]);
		}
	assert_int_equal(server_stmts(a, "SELECT pg_typeof($1)::text || ' ' || "
					 "pg_typeof($2)"),
			 4);
	a->driver->finalize(dup);
	/* a constraint refused at the first run and at a later one */
	dup = prep(a, "INSERT INTO locale(name) VALUES (?1)");
	for (int i = 0; i < 3; i++) {
		ipam__bind_text(dup, 1, "us-east-1", -1);
		err = (ipam_err){0, ""};
		assert_int_equal(a->driver->step(dup, &err),
				 i ? IPAM_EEXIST : IPAM_DONE);
		ipam__reset(dup);
	}
	a->driver->finalize(dup);
	/* a statement the server refuses to prepare, in a transaction:
	 * the transaction is aborted as before, ROLLBACK ends it */
	assert_int_equal(run(a, "BEGIN", &err), 0);
	dup = prep(a, "SELECT no_such_column FROM pool");
	err = (ipam_err){0, ""};
	assert_int_equal(a->driver->step(dup, &err), IPAM_EIO);
	assert_non_null(strstr(err.msg, "no_such_column"));
	a->driver->finalize(dup);
	ipam__bind_int64(stmt, 1, 3);
	err = (ipam_err){0, ""};
	assert_int_equal(a->driver->step(stmt, &err), IPAM_EIO);
	assert_non_null(strstr(err.msg, "aborted"));
	ipam__reset(stmt);
	assert_int_equal(run(a, "ROLLBACK", &err), 0);
	ipam__bind_int64(stmt, 1, 3);
	expect_type(a, stmt, "bigint");

	/* finalized: DEALLOCATEd at the next statement outside a
	 * transaction, nothing left but the counting statement itself */
	a->driver->finalize(stmt);
	assert_int_equal(server_stmts(a, NULL), 1);
	a->driver->close(a, false);
	b->driver->close(b, false);
}

/* Whether the row `id` of commit_t is there, asked on another
 * connection. */
static int64_t committed_rows(ipam_store *b, int64_t id)
{
	ipam_err err = {0, ""};
	ipam_stmt *q = prep(b, "SELECT count(*) FROM commit_t WHERE id = ?1");
	int64_t n;
	ipam__bind_int64(q, 1, id);
	assert_int_equal(b->driver->step(q, &err), IPAM_ROW);
	n = ipam__col_int64(q, 0);
	b->driver->finalize(q);
	return n;
}

/* A write transaction whose COMMIT is sent and whose connection is then
 * cut before the answer (the test hook): the driver asks a new
 * connection what became of the transaction (txid_status). Committed by
 * the server: the COMMIT succeeds. Refused by the server at COMMIT (a
 * deferred foreign key): EIO, nothing applied. The server not to be
 * asked (about 3 s): EIO, the outcome unknown, the transaction named. */
static void test_commit_outcome(void **state)
{
	ipam_store *a = with_pools("t_outcome"), *b = open_db("t_outcome");
	ipam_err err = {0, ""};
	ipam_stmt *ins;
	(void)state;

	assert_int_equal(run(a,
			     "CREATE TABLE commit_t(id bigint PRIMARY KEY,"
			     " ref bigint REFERENCES commit_t(id)"
			     " DEFERRABLE INITIALLY DEFERRED)",
			     &err),
			 0);
	ins = prep(a, "INSERT INTO commit_t(id, ref) VALUES (?1, ?2)");

	/* committed, its answer lost: success, the row is there */
	assert_int_equal(run(a, "BEGIN IMMEDIATE", &err), 0);
	ipam__bind_int64(ins, 1, 1);
	ipam__bind_null(ins, 2);
	assert_int_equal(a->driver->step(ins, &err), IPAM_DONE);
	ipam__reset(ins);
	ipam__pg_test_drop_after_commit(a);
	assert_int_equal(run(a, "COMMIT", &err), 0);
	assert_string_equal(err.msg, "");
	assert_false(a->driver->in_transaction(a));
	assert_int_equal(committed_rows(b, 1), 1);

	/* refused at COMMIT, its answer lost: EIO, nothing applied */
	assert_int_equal(run(a, "BEGIN IMMEDIATE", &err), 0);
	ipam__bind_int64(ins, 1, 2);
	ipam__bind_int64(ins, 2, 99); /* no row 99: fails at COMMIT */
	assert_int_equal(a->driver->step(ins, &err), IPAM_DONE);
	ipam__reset(ins);
	ipam__pg_test_drop_after_commit(a);
	assert_int_equal(run(a, "COMMIT", &err), IPAM_EIO);
	assert_non_null(strstr(err.msg, "the connection to PostgreSQL is "
					"lost"));
	assert_non_null(strstr(err.msg, "nothing is applied"));
	assert_int_equal(committed_rows(b, 2), 0);

	/* committed, its answer lost, and the server cannot be asked (it
	 * refuses new connections to the database for a while): EIO
	 * that says the outcome is unknown and names the transaction; the
	 * server, asked later, says committed */
	{
		ipam_store *admin = NULL;
		char *named;
		long long xid;
		char sql[80];
		ipam_stmt *q;
		err = (ipam_err){0, ""};
		assert_int_equal(ipam__pg_open(&admin, dsn, &err), 0);
		assert_int_equal(run(a, "BEGIN IMMEDIATE", &err), 0);
		ipam__bind_int64(ins, 1, 5);
		ipam__bind_null(ins, 2);
		assert_int_equal(a->driver->step(ins, &err), IPAM_DONE);
		ipam__reset(ins);
		assert_int_equal(run(admin,
				     "ALTER DATABASE t_outcome"
				     " ALLOW_CONNECTIONS false",
				     &err),
				 0);
		ipam__pg_test_drop_after_commit(a);
		assert_int_equal(run(a, "COMMIT", &err), IPAM_EIO);
		assert_non_null(strstr(err.msg, "whether the change is "
						"applied is unknown"));
		named = strstr(err.msg, "txid_status(");
		assert_non_null(named);
		xid = strtoll(named + strlen("txid_status("), NULL, 10);
		assert_true(xid > 0);
		err = (ipam_err){0, ""};
		assert_int_equal(run(admin,
				     "ALTER DATABASE t_outcome"
				     " ALLOW_CONNECTIONS true",
				     &err),
				 0);
		snprintf(sql, sizeof(sql), "SELECT txid_status(%lld)", xid);
		q = prep(b, sql);
		assert_int_equal(b->driver->step(q, &err), IPAM_ROW);
		assert_string_equal(ipam__col_text(q, 0), "committed");
		b->driver->finalize(q);
		assert_int_equal(committed_rows(b, 5), 1);
		admin->driver->close(admin, false);
	}

	/* the same without the hook: the server's own refusal */
	err = (ipam_err){0, ""};
	assert_int_equal(run(a, "BEGIN IMMEDIATE", &err), 0);
	ipam__bind_int64(ins, 1, 3);
	ipam__bind_int64(ins, 2, 99);
	assert_int_equal(a->driver->step(ins, &err), IPAM_DONE);
	ipam__reset(ins);
	assert_int_equal(run(a, "COMMIT", &err), IPAM_EEXIST);
	assert_int_equal(committed_rows(b, 3), 0);

	/* and the connection works on */
	err = (ipam_err){0, ""};
	assert_int_equal(run(a, "BEGIN IMMEDIATE", &err), 0);
	ipam__bind_int64(ins, 1, 4);
	ipam__bind_int64(ins, 2, 1);
	assert_int_equal(a->driver->step(ins, &err), IPAM_DONE);
	ipam__reset(ins);
	assert_int_equal(run(a, "COMMIT", &err), 0);
	assert_int_equal(committed_rows(b, 4), 1);
	a->driver->finalize(ins);
	a->driver->close(a, false);
	b->driver->close(b, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholders),
		cmocka_unit_test(test_schema_and_values),
		cmocka_unit_test(test_foreign_schema),
		cmocka_unit_test(test_no_overlap),
		cmocka_unit_test(test_serialization),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_prepared),
		cmocka_unit_test(test_commit_outcome),
		cmocka_unit_test(test_removals_announced),
	};
	dsn = getenv("IPAMFS_PG_DSN");
	if (!dsn || !*dsn) {
		fprintf(stderr, "test_pg_store: IPAMFS_PG_DSN not set "
				"(run through tests/pg/pgtmp.sh run)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
