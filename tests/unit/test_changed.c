/*
 * test_changed.c - change times (core/model/changed.c, docs/design/times.md):
 * what each change bumps, and what it leaves alone; one stamp per
 * transaction; stamps that grow strictly under a frozen or rewound clock;
 * the migration of a schema-2 file.
 */
#include "fixture.h"

#include <sqlite3.h>

static int64_t changed(ipam *db, ipam_kind kind, int64_t key)
{
	ipam_err err = {0};
	int64_t t = 0;
	assert_ok(ipam_changed(db, kind, key, &t, &err), err);
	assert_true(t > 0);
	return t;
}

/* The clock the handle reads: tests move it. */
static int64_t clock_now = FIXTURE_TIME;
static int64_t test_clock(void *ctx)
{
	(void)ctx;
	return clock_now;
}

static ipam *open_clocked(void)
{
	ipam_open_opts opts = fixture_opts();
	opts.clock = test_clock;
	clock_now = FIXTURE_TIME;
	return fixture_open(opts); /* in memory, or IPAMFS_TEST_PG_URI */
}

struct tree {
	int64_t scope, top, dev, other, lab;
};

static struct tree build(ipam *db)
{
	struct tree t;
	ipam_err err = {0};
	t.scope = scope_key(db, "private");
	t.top = mktop(db, "top");
	prov_ok(db, t.top, "10.0.0.0/16");
	t.dev = mkpool(db, t.scope, t.top, "dev");
	prov_ok(db, t.dev, "10.0.0.0/20");
	t.other = mktop(db, "other");
	prov_ok(db, t.other, "10.9.0.0/16");
	assert_ok(ipam_scope_create(db, "lab", &t.lab, &err), err);
	return t;
}

static void test_allocation_bumps_its_pool_scope_and_ipam(void **state)
{
	ipam *db = open_clocked();
	struct tree t = build(db);
	(void)state;

	int64_t top = changed(db, IPAM_KIND_POOL, t.top);
	int64_t other = changed(db, IPAM_KIND_POOL, t.other);
	int64_t lab = changed(db, IPAM_KIND_SCOPE, t.lab);
	int64_t dev = changed(db, IPAM_KIND_POOL, t.dev);
	alloc_ok(db, t.dev, "web", 24);
	int64_t now = changed(db, IPAM_KIND_POOL, t.dev);
	assert_true(now > dev);
	assert_int_equal(changed(db, IPAM_KIND_SCOPE, t.scope), now);
	assert_int_equal(changed(db, IPAM_KIND_IPAM, 0), now);
	/* the parent's allocations did not change, nor anything else */
	assert_int_equal(changed(db, IPAM_KIND_POOL, t.top), top);
	assert_int_equal(changed(db, IPAM_KIND_POOL, t.other), other);
	assert_int_equal(changed(db, IPAM_KIND_SCOPE, t.lab), lab);
	ipam_free(db);
}

static void test_child_cidr_bumps_the_parent(void **state)
{
	ipam *db = open_clocked();
	struct tree t = build(db);
	(void)state;

	int64_t other = changed(db, IPAM_KIND_POOL, t.other);
	prov_ok(db, t.dev, "10.0.16.0/20"); /* an allocation in top */
	int64_t now = changed(db, IPAM_KIND_POOL, t.dev);
	assert_int_equal(changed(db, IPAM_KIND_POOL, t.top), now);
	assert_int_equal(changed(db, IPAM_KIND_POOL, t.other), other);
	/* a new child pool shows in its parent's pools/ */
	int64_t kid = mkpool(db, t.scope, t.dev, "kid");
	now = changed(db, IPAM_KIND_POOL, kid);
	assert_int_equal(changed(db, IPAM_KIND_POOL, t.dev), now);
	assert_int_equal(changed(db, IPAM_KIND_POOL, t.other), other);
	ipam_free(db);
}

static void test_tags_and_descriptions(void **state)
{
	ipam *db = open_clocked();
	struct tree t = build(db);
	ipam_err err = {0};
	(void)state;

	int64_t dev = changed(db, IPAM_KIND_POOL, t.dev);
	int64_t scope = changed(db, IPAM_KIND_SCOPE, t.scope);
	assert_ok(ipam_tag_set(db, pool_id(db, t.top), "team", "net", &err),
		  err);
	int64_t now = changed(db, IPAM_KIND_POOL, t.top);
	assert_true(now > scope);
	/* no file of the scope shows a pool's tags */
	assert_int_equal(changed(db, IPAM_KIND_SCOPE, t.scope), scope);
	assert_int_equal(changed(db, IPAM_KIND_POOL, t.dev), dev);
	assert_ok(ipam_pool_set_description(db, t.dev, "dev pool", &err), err);
	assert_true(changed(db, IPAM_KIND_POOL, t.dev) > now);
	assert_int_equal(changed(db, IPAM_KIND_POOL, t.top), now);
	ipam_free(db);
}

static void test_resources(void **state)
{
	ipam *db = open_clocked();
	struct tree t = build(db);
	ipam_err err = {0};
	int64_t res = 0;
	(void)state;

	int64_t lab = changed(db, IPAM_KIND_SCOPE, t.lab);
	assert_ok(
		ipam_resource_create(db, t.scope, "vpc-0a1", NULL, &res, &err),
		err);
	int64_t made = changed(db, IPAM_KIND_RESOURCE, res);
	assert_int_equal(changed(db, IPAM_KIND_SCOPE, t.scope), made);
	ipam_cidr c = C("10.5.0.0/24");
	assert_ok(ipam_resource_cidr_add(db, res, &c, &err), err);
	int64_t now = changed(db, IPAM_KIND_RESOURCE, res);
	assert_true(now > made);
	assert_int_equal(changed(db, IPAM_KIND_SCOPE, t.scope), now);
	assert_int_equal(changed(db, IPAM_KIND_SCOPE, t.lab), lab);
	assert_ok(ipam_resource_delete(db, res, &err), err);
	assert_true(changed(db, IPAM_KIND_SCOPE, t.scope) > now);
	assert_code(ipam_changed(db, IPAM_KIND_RESOURCE, res, &now, &err), err,
		    IPAM_ENOENT, "no such object");
	ipam_free(db);
}

static void test_stamps_grow_whatever_the_clock(void **state)
{
	ipam *db = open_clocked();
	struct tree t = build(db);
	(void)state;

	/* a frozen clock: every change still gets a later time */
	int64_t a = changed(db, IPAM_KIND_IPAM, 0);
	assert_true(a >= FIXTURE_TIME * 1000000000LL);
	alloc_ok(db, t.dev, "a", 28);
	int64_t b = changed(db, IPAM_KIND_IPAM, 0);
	alloc_ok(db, t.dev, "b", 28);
	int64_t c = changed(db, IPAM_KIND_IPAM, 0);
	assert_true(a < b && b < c);
	/* a clock set back an hour */
	clock_now = FIXTURE_TIME - 3600;
	alloc_ok(db, t.dev, "c", 28);
	assert_true(changed(db, IPAM_KIND_IPAM, 0) > c);
	/* a clock that moves on: the new second */
	clock_now = FIXTURE_TIME + 60;
	alloc_ok(db, t.dev, "d", 28);
	assert_int_equal(changed(db, IPAM_KIND_POOL, t.dev),
			 (FIXTURE_TIME + 60) * 1000000000LL);
	ipam_free(db);
}

static void sql(const char *path, const char *script)
{
	sqlite3 *s = NULL;
	char *msg = NULL;
	assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
	if (sqlite3_exec(s, script, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", script, msg);
	sqlite3_close(s);
}

/* A schema-2 file (no change times) opens with every time at the newest
 * time it recorded. */
static void test_migration_from_schema_2(void **state)
{
	char dir[64], path[128];
	(void)state;
	tmp_dir(dir);
	snprintf(path, sizeof(path), "%s/v2.db", dir);
	ipam *db = open_file(path, true);
	int64_t top = mktop(db, "top");
	prov_ok(db, top, "10.0.0.0/16");
	ipam_free(db);
	sql(path, "PRAGMA journal_mode = DELETE;"
		  /* what 15 -> 16 adds (the kept public IP counts), first:
		   * its triggers name resource columns dropped below */
		  "DROP TRIGGER public_res_i; DROP TRIGGER public_res_u;"
		  "DROP TRIGGER public_res_d; DROP TRIGGER public_cidr_i;"
		  "DROP TRIGGER public_cidr_u; DROP TRIGGER public_cidr_d;"
		  "DROP TRIGGER public_pool_u; DROP TABLE public_dirty;"
		  "DROP TABLE public_part; DROP TABLE public_count;"
		  "ALTER TABLE ipam DROP COLUMN changed;"
		  "ALTER TABLE scope DROP COLUMN changed;"
		  "ALTER TABLE pool DROP COLUMN changed;"
		  "ALTER TABLE allocation DROP COLUMN changed;"
		  "ALTER TABLE resource DROP COLUMN changed;"
		  "ALTER TABLE discovery DROP COLUMN changed;"
		  /* and what later versions add (prefix lists, 3 -> 4 and 4 -> 5) */
		  "DROP TABLE prefix_list; DROP TABLE pl_rule;"
		  "DROP TABLE pl_member; DROP TABLE pl_entry;"
		  "DROP TABLE pl_diff; DROP TABLE pl_target;"
		  /* and what 5 -> 6 adds */
		  "ALTER TABLE discovery DROP COLUMN snapshot;"
		  "ALTER TABLE discovery DROP COLUMN unmonitored;"
		  /* and what 6 -> 7 adds (IPAM policies) */
		  "DROP TABLE policy; DROP TABLE policy_rule;"
		  "DROP TABLE policy_pool; DROP TABLE policy_target;"
		  /* and what 7 -> 8 adds (the public scope, issue 12 §5-§6) */
		  "DROP TABLE provider_cidr;"
		  "ALTER TABLE resource DROP COLUMN association;"
		  "ALTER TABLE resource DROP COLUMN address_type;"
		  "ALTER TABLE resource DROP COLUMN service;"
		  /* and what 8 -> 9 adds */
		  "DROP INDEX pool_cidr_top; DROP INDEX pool_name_portable;"
		  /* and what 9 -> 10 adds (resource planning, planning.c) */
		  "DROP INDEX pool_plan_vpc;"
		  "ALTER TABLE pool DROP COLUMN plan_vpc;"
		  "ALTER TABLE allocation DROP COLUMN dns_name;"
		  "ALTER TABLE allocation DROP COLUMN mac_address;"
		  /* and what 10 -> 11 adds (BYOIP, issue 12 §1-§4) */
		  "ALTER TABLE ipam DROP COLUMN certificate;"
		  "ALTER TABLE ipam DROP COLUMN account_id;"
		  "ALTER TABLE ipam DROP COLUMN dns_resolver;"
		  "DROP TABLE byoip_cidr; DROP TABLE verification_token;"
		  "DROP TABLE asn_cidr; DROP TABLE asn; DROP TABLE advertisement;"
		  "DELETE FROM quota WHERE name IN ('verification-tokens',"
		  " 'asns');"
		  /* and what 11 -> 12 adds (the change log's retention) */
		  "ALTER TABLE ipam DROP COLUMN event_retention_days;"
		  "DROP INDEX event_time;"
		  /* and what 12 -> 13 adds (ASN switches, provider quotas) */
		  "DROP TABLE asn_switch;"
		  "DELETE FROM quota WHERE name IN ('provider-ipv4-blocks',"
		  " 'provider-ipv6-blocks-per-pool');"
		  /* and what 13 -> 14 adds (policy quotas; the target sync
		   * columns went with pl_target above) */
		  "DELETE FROM quota WHERE name IN ('policies',"
		  " 'policy-targets', 'policy-rule-pools');"
		  "UPDATE event SET time = time + 7;"
		  "PRAGMA user_version = 2;");
	db = open_file(path, false);
	int64_t want = (FIXTURE_TIME + 7) * 1000000000LL;
	assert_int_equal(changed(db, IPAM_KIND_IPAM, 0), want);
	assert_int_equal(changed(db, IPAM_KIND_POOL, top), want);
	assert_int_equal(changed(db, IPAM_KIND_SCOPE, scope_key(db, "public")),
			 want);
	alloc_ok(db, top, "web", 24); /* the triggers work on it */
	assert_true(changed(db, IPAM_KIND_POOL, top) > want);
	ipam_free(db);
	tmp_dir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allocation_bumps_its_pool_scope_and_ipam),
		cmocka_unit_test(test_child_cidr_bumps_the_parent),
		cmocka_unit_test(test_tags_and_descriptions),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_stamps_grow_whatever_the_clock),
		cmocka_unit_test(test_migration_from_schema_2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
