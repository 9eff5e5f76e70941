/*
 * test_security.c - the core parts of the security model
 * (docs/design/security.md): UTF-8 validation and repair, refusal of text
 * that is not UTF-8 by the API, views over bytes an older version stored,
 * the strict ISO 8601 time parser and its zero-padded format, the limit on
 * tree paths (/by-id links fit PATH_MAX) and auto-import placing a
 * resource only in a pool its owner may allocate from.
 */
#include <sqlite3.h>

#include "watch_fixture.h"

/* ---- UTF-8 ---- */

static void test_utf8_invalid(void **state)
{
	(void)state;
	assert_true(ipam_utf8_invalid("") == (size_t)-1);
	assert_true(ipam_utf8_invalid("plain ascii") == (size_t)-1);
	assert_true(ipam_utf8_invalid("caf\xc3\xa9 \xe2\x9c\x93 "
				      "\xf0\x9f\x8c\x8d") == (size_t)-1);
	assert_true(ipam_utf8_invalid("\xf4\x8f\xbf\xbf") == (size_t)-1);
	assert_int_equal(ipam_utf8_invalid("x\xff"), 1);
	assert_int_equal(ipam_utf8_invalid("ab\xc3"), 2);	/* truncated */
	assert_int_equal(ipam_utf8_invalid("\xc3("), 0);	/* no cont. */
	assert_int_equal(ipam_utf8_invalid("\xc0\xaf"), 0);	/* overlong */
	assert_int_equal(ipam_utf8_invalid("\xe0\x80\xaf"), 0); /* overlong */
	assert_int_equal(ipam_utf8_invalid("\xf0\x80\x80\xaf"),
			 0);					 /* overlong */
	assert_int_equal(ipam_utf8_invalid("a\xed\xa0\x80"), 1); /* surrogate */
	assert_int_equal(ipam_utf8_invalid("\xf4\x90\x80\x80"),
			 0); /* >10FFFF */
	assert_int_equal(ipam_utf8_invalid("\xf5\x80\x80\x80"), 0);
	assert_int_equal(ipam_utf8_invalid("\x80"), 0); /* lone continuation */
}

static void test_utf8_fix(void **state)
{
	char *s;
	(void)state;
	s = ipam_utf8_fix("ok \xc3\xa9");
	assert_string_equal(s, "ok \xc3\xa9");
	free(s);
	s = ipam_utf8_fix("a\xff"
			  "b\xc3");
	assert_string_equal(s, "a\xef\xbf\xbd"
			       "b\xef\xbf\xbd");
	assert_true(ipam_utf8_invalid(s) == (size_t)-1);
	free(s);
	s = ipam_utf8_fix("\xed\xa0\x80");
	assert_string_equal(s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
}

/* Every way in refuses text that is not UTF-8 with EINVAL and a reason
 * that says so; nothing is stored. */
static void test_api_refuses_bad_utf8(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	int64_t key;
	int64_t pool = mktop(db, "p");
	(void)state;

	assert_code(ipam_pool_create(db, scope_key(db, "private"), 0, "x\xff",
				     &key, &err),
		    err, IPAM_EINVAL, "not valid UTF-8");
	assert_code(ipam_pool_set_description(db, pool, "d\xc3", &err), err,
		    IPAM_EINVAL, "not valid UTF-8 (byte 0xc3 at offset 1)");
	assert_code(ipam_tag_set(db, pool_id(db, pool), "k\xff", "v", &err),
		    err, IPAM_EINVAL, "tag key is not valid UTF-8");
	assert_code(
		ipam_tag_set(db, pool_id(db, pool), "k", "\xed\xa0\x80", &err),
		err, IPAM_EINVAL, "tag value is not valid UTF-8");
	assert_code(ipam_name_check("\xc0\xaf", &err), err, IPAM_EINVAL,
		    "not valid UTF-8");
	assert_ok(ipam_name_check("caf\xc3\xa9", &err), err);
	ipam_free(db);
}

/* Bytes an older version stored: the change log, the JSON and text views
 * render them as U+FFFD and keep every field. */
static void test_views_survive_stored_bytes(void **state)
{
	char dir[64], path[128];
	ipam_err err = {0};
	sqlite3 *s;
	char *out = NULL;
	size_t len = 0;
	(void)state;

	tmp_dir(dir);
	snprintf(path, sizeof(path), "%s/ipam.db", dir);
	ipam *db = open_file(path, true);
	int64_t pool = mktop(db, "p");
	prov_ok(db, pool, "10.0.0.0/16");
	assert_ok(ipam_pool_set_description(db, pool, "descMARK", &err), err);
	assert_ok(ipam_tag_set(db, pool_id(db, pool), "kMARK", "vMARK", &err),
		  err);
	ipam_free(db);

	assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(
			s,
			"UPDATE pool SET description = replace(description,"
			" 'MARK', CAST(X'FFC3' AS TEXT));"
			"UPDATE tag SET key = replace(key, 'MARK',"
			" CAST(X'FF' AS TEXT)), value = replace(value,"
			" 'MARK', CAST(X'FF' AS TEXT));"
			"UPDATE event SET detail = replace(detail, 'MARK',"
			" CAST(X'FF' AS TEXT));",
			NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(s);

	db = open_file(path, false);
	assert_ok(ipam_events_render(db, 0, &out, &len, &err), err);
	assert_true(ipam_utf8_invalid(out) == (size_t)-1);
	assert_contains(out, "\"description\":\"desc\xef\xbf\xbd\"");
	assert_contains(out, "\"key\":\"k\xef\xbf\xbd\"");
	free(out);
	assert_ok(ipam_render_pool_json(db, pool, &out, &len, &err), err);
	assert_contains(out,
			"\"Description\": \"desc\xef\xbf\xbd\xef\xbf\xbd\"");
	assert_contains(out, "\"Key\": \"k\xef\xbf\xbd\"");
	assert_contains(out, "\"Value\": \"v\xef\xbf\xbd\"");
	free(out);
	ipam_free(db);
	tmp_dir_remove(dir);
}

/* ---- times ---- */

static void test_time_parse_strict(void **state)
{
	int64_t t = 0;
	char when[IPAM_TIME_STRLEN];
	(void)state;

	assert_int_equal(ipam_time_parse(&t, "1970-01-01T00:00:00Z"), 0);
	assert_int_equal(t, 0);
	assert_int_equal(ipam_time_parse(&t, "2024-02-29T12:00:00Z"), 0);
	assert_int_equal(ipam_time_parse(&t, "2000-02-29T00:00:00+00:00"), 0);
	assert_int_equal(ipam_time_parse(&t, "9999-12-31T23:59:59Z"), 0);
	assert_int_equal(t, 253402300799LL);
	/* no Feb 29 outside leap years (1900 and 2100 are not) */
	assert_int_equal(ipam_time_parse(&t, "2023-02-29T00:00:00Z"),
			 IPAM_EINVAL);
	assert_int_equal(ipam_time_parse(&t, "2100-02-29T00:00:00Z"),
			 IPAM_EINVAL);
	assert_int_equal(ipam_time_parse(&t, "2026-04-31T00:00:00Z"),
			 IPAM_EINVAL);
	assert_int_equal(ipam_time_parse(&t, "2026-06-31T00:00:00Z"),
			 IPAM_EINVAL);
	/* no leap second: Unix time has none */
	assert_int_equal(ipam_time_parse(&t, "2026-12-31T23:59:60Z"),
			 IPAM_EINVAL);
	/* years before 1970 are not Unix times */
	assert_int_equal(ipam_time_parse(&t, "0000-01-01T00:00:00Z"),
			 IPAM_EINVAL);
	assert_int_equal(ipam_time_parse(&t, "0999-01-01T00:00:00Z"),
			 IPAM_EINVAL);
	assert_int_equal(ipam_time_parse(&t, "1969-12-31T23:59:59Z"),
			 IPAM_EINVAL);

	/* the format pads to 4 digits and clamps to what parses back */
	ipam_time_format(-62135596800LL, when); /* year 1 */
	assert_string_equal(when, "1970-01-01T00:00:00Z");
	ipam_time_format(253402300800LL, when); /* year 10000 */
	assert_string_equal(when, "9999-12-31T23:59:59Z");
	for (int64_t s = 0; s < 253402300799LL; s += 86399LL * 997) {
		ipam_time_format(s, when);
		assert_int_equal(strlen(when), 20);
		assert_int_equal(ipam_time_parse(&t, when), 0);
		assert_int_equal(t, s);
	}
}

/* ---- paths ---- */

/* A chain of pools with 240-byte names: the 17th would have a path of
 * 21 + 240 + 16 * 247 = 4213 bytes below the root (over 4092). */
static void test_path_limit(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	char name[241], longname[251];
	int64_t scope = scope_key(db, "private"), parent = 0, key = 0;
	int depth = 0;
	(void)state;

	memset(name, 'n', 240);
	name[240] = '\0';
	memset(longname, 'a', 250);
	longname[250] = '\0';
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_POOL_DEPTH, 30, &err), err);
	for (;;) {
		int rc = ipam_pool_create(db, scope, parent, name, &key, &err);
		if (rc) {
			assert_code(rc, err, IPAM_ENAMETOOLONG,
				    "would be 4213 bytes long (at most 4092");
			break;
		}
		prov_ok(db, key, "10.0.0.0/16");
		parent = key;
		depth++;
	}
	assert_int_equal(depth, 16);
	ipam_alloc_req req = {.name = longname, .prefix_len = 24};
	ipam_alloc_info got;
	assert_code(ipam_alloc_create(db, parent, &req, &got, &err), err,
		    IPAM_ENAMETOOLONG, "allocation");
	req.name = "a";
	assert_ok(ipam_alloc_create(db, parent, &req, &got, &err), err);
	assert_int_equal(usage(db, parent).allocation_count, 1);
	ipam_free(db);
}

/* ---- auto-import ---- */

static const char *const locales[] = {"us-east-1", NULL};

/* A pool of uid 1000 (0755) takes the resources of uid 1000 only; with
 * 0757 those of others too. An owner that is no uid (an AWS account) is
 * the scope's owner, root. */
static void test_auto_import_owner(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private"), pool = mktop(db, "dev");
	ipam_perm perm = {1000, 1000, 0755};
	ipam_err err = {0};
	(void)state;

	pool_locale(db, pool, "us-east-1");
	prov_ok(db, pool, "10.0.0.0/16");
	assert_ok(ipam_perm_set(db, pool_id(db, pool), &perm, &err), err);
	int64_t mine = res_make(db, priv, "vpc-1", "1000", "us-east-1", NULL,
				NULL, "10.0.1.0/24", NULL);
	int64_t other = res_make(db, priv, "vpc-2", "2000", "us-east-1", NULL,
				 NULL, "10.0.2.0/24", NULL);
	int64_t aws = res_make(db, priv, "vpc-3", "111122223333", "us-east-1",
			       NULL, NULL, "10.0.3.0/24", NULL);
	pool_auto_import(db, pool, true);
	assert_string_equal(rc_state(db, mine, "10.0.1.0/24"),
			    "managed compliant nonoverlapping");
	assert_string_equal(rc_state(db, other, "10.0.2.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	assert_string_equal(rc_state(db, aws, "10.0.3.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	assert_int_equal(usage(db, pool).allocation_count, 1);

	perm.mode = 0757;
	assert_ok(ipam_perm_set(db, pool_id(db, pool), &perm, &err), err);
	pool_auto_import(db, pool, false);
	pool_auto_import(db, pool, true);
	assert_string_equal(rc_state(db, other, "10.0.2.0/24"),
			    "managed compliant nonoverlapping");
	assert_string_equal(rc_state(db, aws, "10.0.3.0/24"),
			    "managed compliant nonoverlapping");
	close_watch(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_utf8_fix),
		cmocka_unit_test(test_api_refuses_bad_utf8),
		cmocka_unit_test(test_views_survive_stored_bytes),
		cmocka_unit_test(test_time_parse_strict),
		cmocka_unit_test(test_path_limit),
		cmocka_unit_test_teardown(test_auto_import_owner,
					  watch_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
