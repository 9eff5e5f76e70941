/*
 * test_store.c - the database under libipam: creating and reopening
 * files, refusing files that are not ours without touching a byte, the
 * change log, transactions (commit, rollback, a failing call inside one)
 * and the change hook.
 */
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

/* ---- creation ---- */

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static unsigned file_mode(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;
}

static void test_new_ipam_defaults(void **state)
{
	ipam *db = open_mem();
	ipam_strlist scopes = {0}, locales = {0};
	ipam_info info;
	ipam_scope_info priv, pub;
	ipam_err err = {0};
	int64_t v;
	(void)state;

	assert_ok(ipam_scope_list(db, &scopes, &err), err);
	assert_int_equal(scopes.count, 2);
	assert_string_equal(scopes.items[0], "private");
	assert_string_equal(scopes.items[1], "public");
	ipam_strlist_free(&scopes);

	assert_ok(ipam_scope_get(db, "private", &priv, &err), err);
	assert_ok(ipam_scope_get(db, "public", &pub, &err), err);
	assert_false(priv.is_public);
	assert_true(priv.is_default);
	assert_true(pub.is_public);
	assert_true(pub.is_default);
	assert_int_equal(priv.pool_count, 0);
	assert_int_equal(strncmp(priv.id, "ipam-scope-", 11), 0);
	assert_int_equal(strlen(priv.id), strlen("ipam-scope-") + 17);
	assert_string_not_equal(priv.id, pub.id);

	assert_ok(ipam_info_get(db, &info, &err), err);
	assert_string_equal(info.home_locale, "local");
	assert_int_equal(info.tier, IPAM_TIER_ADVANCED);
	assert_false(info.enable_private_gua);
	assert_int_equal(info.created, FIXTURE_TIME);
	assert_int_equal(strncmp(info.id, "ipam-", 5), 0);
	assert_int_equal(strlen(info.id), strlen("ipam-") + 17);

	assert_ok(ipam_locales_get(db, &locales, &err), err);
	assert_int_equal(locales.count, 1);
	assert_string_equal(locales.items[0], "local");
	ipam_strlist_free(&locales);

	assert_ok(ipam_quota_get(db, IPAM_QUOTA_SCOPES, &v, &err), err);
	assert_int_equal(v, 5);
	assert_ok(ipam_quota_get(db, IPAM_QUOTA_POOLS_PER_SCOPE, &v, &err),
		  err);
	assert_int_equal(v, 50);
	assert_ok(ipam_quota_get(db, IPAM_QUOTA_CIDRS_PER_POOL, &v, &err), err);
	assert_int_equal(v, 50);
	assert_ok(ipam_quota_get(db, IPAM_QUOTA_POOL_DEPTH, &v, &err), err);
	assert_int_equal(v, 10);

	assert_true(ipam_schema_version() >= 1);
	assert_ok(ipam_check(db, &err), err);
	ipam_free(db);
}

static void test_home_locale_option(void **state)
{
	ipam_open_opts opts = fixture_opts();
	ipam_err err = {0};
	ipam_info info;
	ipam *db = NULL;
	(void)state;

	opts.in_memory = true;
	opts.home_locale = "eu-west-1";
	assert_ok(ipam_open(&db, NULL, &opts, &err), err);
	assert_ok(ipam_info_get(db, &info, &err), err);
	assert_string_equal(info.home_locale, "eu-west-1");
	assert_true(ipam_locale_is_operating(db, "eu-west-1"));
	assert_false(ipam_locale_is_operating(db, "local"));
	ipam_free(db);

	opts.home_locale = "bad locale";
	db = NULL;
	assert_code(ipam_open(&db, NULL, &opts, &err), err, IPAM_EINVAL,
		    "invalid locale 'bad locale'");
	assert_null(db);
}

/* The same seed gives the same ids: tests and benchmarks rely on it. */
static void test_id_seed_is_reproducible(void **state)
{
	ipam *a = open_mem(), *b = open_mem();
	(void)state;
	int64_t pa = mktop(a, "p"), pb = mktop(b, "p");
	assert_string_equal(pool_id(a, pa), pool_id(b, pb));
	assert_int_equal(strncmp(pool_id(a, pa), "ipam-pool-0", 11), 0);
	assert_int_equal(strlen(pool_id(a, pa)), strlen("ipam-pool-") + 17);
	ipam_free(a);
	ipam_free(b);
}

static void test_missing_file_without_create(void **state)
{
	char dir[64], path[128];
	ipam_open_opts opts = fixture_opts();
	ipam_err err = {0};
	ipam *db = (ipam *)1;
	(void)state;

	tmp_dir(dir);
	snprintf(path, sizeof(path), "%s/none.db", dir);
	opts.create = false;
	assert_code(ipam_open(&db, path, &opts, &err), err, IPAM_ENOENT,
		    "does not exist");
	assert_null(db);
	assert_false(file_exists(path));

	/* an empty file is not set up as a new IPAM, even when asked (it may
	 * be a database truncated by accident): refused, left as it is */
	write_bytes(path, "", 0);
	for (int create = 0; create < 2; create++) {
		opts.create = create;
		memset(&err, 0, sizeof(err));
		assert_code(ipam_open(&db, path, &opts, &err), err,
			    IPAM_ESCHEMA, "is an empty file, not an IPAM");
		assert_null(db);
		assert_true(file_exists(path));
		assert_int_equal(file_size(path), 0);
	}
	/* a missing file is created when asked, 0600 */
	unlink(path);
	db = open_file(path, true);
	assert_int_equal(mktop(db, "p") > 0, 1);
	ipam_free(db);
	db = open_file(path, false);
	ipam_free(db);
	tmp_dir_remove(dir);
}

/* ---- reopening ---- */

static void build_state(ipam *db, int64_t pools[3])
{
	ipam_err err = {0};
	ipam_alloc_info a;
	const char *locales[] = {"local", "us-east-1"};

	assert_ok(ipam_locales_set(db, locales, 2, &err), err);
	pools[0] = mktop(db, "top");
	pools[1] = mkpool(db, scope_key(db, "private"), pools[0], "region");
	pools[2] = mkpool(db, scope_key(db, "private"), pools[1], "dev");
	prov_ok(db, pools[0], "10.0.0.0/8");
	prov_ok(db, pools[0], "172.16.0.0/12");
	assert_ok(ipam_pool_set_locale(db, pools[1], "us-east-1", &err), err);
	prov_ok(db, pools[1], "10.0.0.0/16");
	prov_ok(db, pools[2], "10.0.0.0/24");
	assert_ok(ipam_pool_set_netmask(db, pools[2], IPAM_NETMASK_DEFAULT, 28,
					&err),
		  err);
	assert_ok(ipam_pool_set_description(db, pools[2], "dev pool", &err),
		  err);
	assert_ok(ipam_pool_set_strategy(db, pools[2], IPAM_STRATEGY_BEST_FIT,
					 &err),
		  err);
	assert_string_equal(alloc_ok(db, pools[2], "web", 26), "10.0.0.0/26");
	assert_string_equal(alloc_ok(db, pools[2], "db", -1), "10.0.0.64/28");
	alloc_cidr_ok(db, pools[2], "lab", "10.0.0.128/25");
	assert_ok(ipam_tag_set(db, pool_id(db, pools[2]), "env", "dev", &err),
		  err);
	assert_ok(ipam_alloc_get(db, pools[2], "web", &a, &err), err);
	assert_ok(ipam_tag_set(db, a.id, "owner", "alice", &err), err);
	/* db (/28) becomes noncompliant */
	assert_ok(ipam_pool_set_netmask(db, pools[2], IPAM_NETMASK_DEFAULT, -1,
					&err),
		  err);
	assert_ok(
		ipam_pool_set_netmask(db, pools[2], IPAM_NETMASK_MAX, 27, &err),
		err);
	assert_ok(ipam_alloc_release(db, pools[2], "lab", &err), err);
}

static void test_reopen_restores_everything(void **state)
{
	char dir[64], path[128];
	int64_t pools[3];
	ipam_cidr next_before, got;
	ipam_err err = {0};
	ipam_pool_usage u;
	char *before, *after;
	int64_t last;
	ipam *db;
	(void)state;

	tmp_dir(dir);
	snprintf(path, sizeof(path), "%s/ipam.db", dir);
	db = open_file(path, true);
	build_state(db, pools);
	before = digest(db, pools, 3);
	last = ipam_events_last(db);
	assert_ok(ipam_pool_preview(db, pools[2], 27, &next_before, &err), err);
	ipam_free(db);

	db = open_file(path, false);
	after = digest(db, pools, 3);
	assert_string_equal(after, before);
	assert_int_equal(ipam_events_last(db), last);
	/* the sanity of what the digest saw, in numbers */
	u = usage(db, pools[2]);
	assert_string_equal(U(u.total), "256");
	assert_string_equal(U(u.assigned), "80");
	assert_int_equal(u.allocation_count, 2);
	assert_int_equal(u.compliant, 1);
	assert_int_equal(u.noncompliant, 1);
	assert_int_equal(u.largest_free_prefix, 25);
	assert_contains(after, "\"action\":\"release-ipam-pool-allocation\"");
	assert_contains(after, "env=dev");
	assert_contains(after, "owner=alice");
	assert_contains(after, "alloc db ");
	assert_contains(after, " custom 0 'netmask /28 is longer than "
			       "allocation-max-netmask-length 27'");
	/* the free-space index and the id counter survived too */
	assert_ok(ipam_pool_preview(db, pools[2], 27, &got, &err), err);
	assert_string_equal(S(&got), S(&next_before));
	assert_string_equal(alloc_ok(db, pools[2], "more", 27),
			    S(&next_before));
	/* best fit: the free /27 beside db, not the free /25 */
	assert_string_equal(S(&got), "10.0.0.96/27");
	assert_ok(ipam_check(db, &err), err);
	ipam_free(db);
	free(before);
	free(after);
	tmp_dir_remove(dir);
}

/* ---- files that are not ours ---- */

/* Opening `path` must fail with ESCHEMA (reason containing `needle`) and
 * leave the file byte for byte as it was. */
static void assert_refused_untouched(const char *path, const char *needle)
{
	size_t n0, n1;
	unsigned char *b0 = file_bytes(path, &n0), *b1;
	ipam_open_opts opts = fixture_opts();
	ipam_err err = {0};
	ipam *db = (ipam *)1;

	assert_non_null(b0);
	for (int create = 0; create < 2; create++) {
		opts.create = create;
		memset(&err, 0, sizeof(err));
		assert_code(ipam_open(&db, path, &opts, &err), err,
			    IPAM_ESCHEMA, needle);
		assert_null(db);
		b1 = file_bytes(path, &n1);
		assert_int_equal(n1, n0);
		assert_memory_equal(b1, b0, n0);
		free(b1);
	}
	free(b0);
}

static void sql_exec(const char *path, const char *sql)
{
	sqlite3 *s = NULL;
	char *msg = NULL;
	assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
	if (sqlite3_exec(s, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	assert_int_equal(sqlite3_close(s), SQLITE_OK);
}

static void test_refuses_non_sqlite_file(void **state)
{
	char dir[64], path[128];
	(void)state;
	tmp_dir(dir);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	write_bytes(path, "these are my notes, not a database\n", 35);
	assert_refused_untouched(path, "is not a SQLite database");
	/* shorter than a SQLite header */
	write_bytes(path, "SQLite", 6);
	assert_refused_untouched(path, "is not a SQLite database");
	tmp_dir_remove(dir);
}

static void test_refuses_other_programs_database(void **state)
{
	char dir[64], path[128];
	(void)state;
	tmp_dir(dir);
	snprintf(path, sizeof(path), "%s/other.db", dir);
	sql_exec(path, "CREATE TABLE contacts(name TEXT, phone TEXT);"
		       "INSERT INTO contacts VALUES ('ann', '555');");
	assert_refused_untouched(path, "SQLite database of another program "
				       "(application_id 0)");
	sql_exec(path, "PRAGMA application_id = 1234");
	assert_refused_untouched(path, "(application_id 1234)");
	tmp_dir_remove(dir);
}

static void test_refuses_newer_schema(void **state)
{
	char dir[64], path[128], want[96], sql[64];
	int v = ipam_schema_version();
	ipam *db;
	(void)state;
	tmp_dir(dir);
	snprintf(path, sizeof(path), "%s/ipam.db", dir);
	db = open_file(path, true);
	mktop(db, "p");
	ipam_free(db);
	/* the file carries the schema version this library writes */
	{
		sqlite3 *s = NULL;
		sqlite3_stmt *stmt = NULL;
		assert_int_equal(
			sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL),
			SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(s, "PRAGMA user_version",
						    -1, &stmt, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(stmt, 0), v);
		sqlite3_finalize(stmt);
		sqlite3_close(s);
	}
	/* a newer ipamfs wrote this file */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 5);
	sql_exec(path, sql);
	snprintf(want, sizeof(want),
		 "has schema version %d, newer than this ipamfs (%d)", v + 5,
		 v);
	assert_refused_untouched(path, want);
	/* ours, but no schema at all */
	sql_exec(path, "PRAGMA user_version = 0");
	assert_refused_untouched(path, "has no ipamfs schema");
	/* back to the right version, it opens again with its pool */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	sql_exec(path, sql);
	db = open_file(path, false);
	{
		ipam_strlist names = {0};
		ipam_err err = {0};
		assert_ok(ipam_pool_list(db, scope_key(db, "private"), 0,
					 &names, &err),
			  err);
		assert_int_equal(names.count, 1);
		assert_string_equal(names.items[0], "p");
		ipam_strlist_free(&names);
	}
	ipam_free(db);
	tmp_dir_remove(dir);
}

static void test_refuses_corrupt_database(void **state)
{
	char dir[64], path[128];
	unsigned char page[4096];
	(void)state;
	tmp_dir(dir);
	snprintf(path, sizeof(path), "%s/corrupt.db", dir);
	/* the SQLite magic followed by garbage */
	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = (unsigned char)(i * 7 + 3);
	memcpy(page, "SQLite format 3", 16);
	write_bytes(path, page, sizeof(page));
	assert_refused_untouched(path, "");
	tmp_dir_remove(dir);
}

/* A new database and its WAL are readable by their owner only, whatever
 * the umask: they hold every pool, whatever the pools' modes. */
static void test_new_file_is_private(void **state)
{
	char dir[64], path[128], wal[160];
	mode_t old = umask(022);
	ipam *db;
	(void)state;
	tmp_dir(dir);
	snprintf(path, sizeof(path), "%s/ipam.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	db = open_file(path, true);
	mktop(db, "p"); /* something in the WAL */
	assert_int_equal(file_mode(path), 0600);
	assert_true(file_exists(wal));
	assert_int_equal(file_mode(wal), 0600);
	ipam_free(db);
	umask(old);
	tmp_dir_remove(dir);
}

/* A symbolic link to nowhere is refused: following it would create its
 * target (as whoever mounts, often root). */
static void test_refuses_dangling_symlink(void **state)
{
	char dir[64], path[128], target[128];
	ipam_open_opts opts = fixture_opts();
	ipam_err err = {0};
	ipam *db = (ipam *)1;
	struct stat st;
	(void)state;
	tmp_dir(dir);
	snprintf(path, sizeof(path), "%s/link.db", dir);
	snprintf(target, sizeof(target), "%s/target.db", dir);
	assert_int_equal(symlink(target, path), 0);
	assert_code(ipam_open(&db, path, &opts, &err), err, IPAM_ENOENT,
		    "is a dangling symbolic link");
	assert_null(db);
	assert_false(file_exists(target));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* a link to a database is fine */
	db = open_file(target, true);
	ipam_free(db);
	db = open_file(path, false);
	ipam_free(db);
	tmp_dir_remove(dir);
}

/* A database with a damaged page deep inside (the header and schema
 * intact) is refused by PRAGMA quick_check at open, without a byte
 * written; the same file undamaged opens. */
static void test_refuses_damaged_pages(void **state)
{
	char dir[64], path[128], good[128];
	unsigned char *bytes;
	size_t n, pages, refused = 0;
	ipam *db;
	(void)state;
	tmp_dir(dir);
	snprintf(good, sizeof(good), "%s/good.db", dir);
	snprintf(path, sizeof(path), "%s/damaged.db", dir);
	db = open_file(good, true);
	int64_t p = mktop(db, "p");
	prov_ok(db, p, "10.0.0.0/8");
	for (int i = 0; i < 300; i++) {
		char name[32];
		snprintf(name, sizeof(name), "allocation-%d", i);
		alloc_ok(db, p, name, 24);
	}
	ipam_free(db);
	bytes = file_bytes(good, &n);
	assert_non_null(bytes);
	pages = n / 4096;
	assert_true(pages > 8);
	/* every fourth page from the third on, one at a time: its b-tree
	 * header and first cells overwritten */
	for (size_t pg = 2; pg < pages; pg += 4) {
		unsigned char *copy = malloc(n);
		assert_non_null(copy);
		memcpy(copy, bytes, n);
		memset(copy + pg * 4096, 0x5a, 64);
		write_bytes(path, copy, n);
		free(copy);
		assert_refused_untouched(path, "damaged");
		refused++;
	}
	assert_true(refused > 2);
	db = open_file(good, false);
	ipam_free(db);
	free(bytes);
	tmp_dir_remove(dir);
}

/* One database, one user: while a process has it open, another is
 * refused at once with the pid of the holder, and the file is untouched;
 * once the holder is gone it opens. In the same process a second handle
 * is refused too. */
static void test_second_user_refused(void **state)
{
	char dir[64], path[128], want[160];
	int ready[2], go[2];
	ipam_open_opts opts = fixture_opts();
	ipam_err err = {0};
	ipam *db = NULL, *other = (ipam *)1;
	char c = 0;
	pid_t child;
	int status;
	(void)state;
	tmp_dir(dir);
	snprintf(path, sizeof(path), "%s/ipam.db", dir);
	db = open_file(path, true);
	ipam_free(db);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		ipam_open_opts o = fixture_opts();
		ipam_err e = {0};
		ipam *mine = NULL;
		if (ipam_open(&mine, path, &o, &e) != 0)
			_exit(2);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		ipam_free(mine);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	for (int create = 0; create < 2; create++) {
		opts.create = create;
		memset(&err, 0, sizeof(err));
		snprintf(want, sizeof(want), "database is in use by %s pid %d",
			 "test_store", (int)child);
		assert_code(ipam_open(&other, path, &opts, &err), err,
			    IPAM_EBUSY, want);
		assert_null(other);
	}
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	db = open_file(path, false);
	memset(&err, 0, sizeof(err));
	other = (ipam *)1;
	assert_code(ipam_open(&other, path, &opts, &err), err, IPAM_EBUSY,
		    "database is in use");
	assert_null(other);
	ipam_free(db);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	tmp_dir_remove(dir);
}

/* Values a hand edit (sqlite3) can leave in a sound file: a prefix longer
 * than the family allows, a family that is neither 4 nor 6. Rendering and
 * reading must answer (anything) rather than abort the daemon: an assert
 * states an invariant, never a limit that input (the file) can reach. */
static void test_tampered_values_do_not_abort(void **state)
{
	static const char *const edits[] = {
		"UPDATE allocation SET prefix = 200",
		"UPDATE pool SET family = 9",
		"UPDATE allocation SET prefix = 255; UPDATE pool SET family = "
		"0",
	};
	char dir[64], path[128];
	(void)state;
	tmp_dir(dir);
	snprintf(path, sizeof(path), "%s/ipam.db", dir);
	for (size_t e = 0; e < sizeof(edits) / sizeof(edits[0]); e++) {
		ipam_err err = {0};
		ipam_pool_usage u;
		ipam_alloc_info ai;
		ipam_cidr got;
		char *out = NULL;
		size_t len = 0;
		unlink(path);
		ipam *db = open_file(path, true);
		int64_t p = mktop(db, "p");
		prov_ok(db, p, "10.0.0.0/16");
		alloc_ok(db, p, "a", 24);
		ipam_free(db);
		sql_exec(path, edits[e]);
		db = open_file(path, false);
		(void)ipam_alloc_get(db, p, "a", &ai, &err);
		if (ipam_render_pool_allocations_json(db, p, &out, &len,
						      &err) == 0)
			free(out);
		if (ipam_render_pool_status(db, p, true, &out, &len, &err) == 0)
			free(out);
		if (ipam_render_pool_map(db, p, &out, &len, &err) == 0)
			free(out);
		(void)ipam_pool_usage_get(db, p, &u, &err);
		(void)ipam_pool_preview(db, p, 28, &got, &err);
		if (ipam_render_metrics(db, &out, &len, &err) == 0)
			free(out);
		ipam_free(db);
	}
	tmp_dir_remove(dir);
}

/* ---- the change log ---- */

static void test_events_record_changes(void **state)
{
	ipam *db = open_mem();
	ipam_info info;
	ipam_err err = {0};
	char *out, want[512], seq[32];
	size_t len;
	int64_t p, base;
	(void)state;

	/* the first entry of a new IPAM is its creation */
	assert_ok(ipam_info_get(db, &info, &err), err);
	base = ipam_events_last(db);
	assert_true(base >= 1);
	assert_ok(ipam_events_render(db, 0, &out, &len, &err), err);
	snprintf(want, sizeof(want),
		 "{\"seq\":1,\"time\":\"2026-11-27T10:00:00Z\",\"uid\":%u,"
		 "\"pid\":%d,\"action\":\"create-ipam\",\"id\":\"%s\","
		 "\"home-locale\":\"local\"}\n",
		 (unsigned)getuid(), (int)getpid(), info.id);
	assert_int_equal(strncmp(out, want, strlen(want)), 0);
	free(out);

	p = mktop(db, "top");
	prov_ok(db, p, "10.0.0.0/16");
	assert_string_equal(alloc_ok(db, p, "a", 24), "10.0.0.0/24");
	assert_int_equal(ipam_events_last(db), base + 3);
	/* refused calls leave no trace */
	assert_int_not_equal(alloc(db, p, "a", 24, NULL, NULL, &err), 0);
	assert_int_equal(ipam_events_last(db), base + 3);

	assert_ok(ipam_events_render(db, 2, &out, &len, &err), err);
	/* the newest two, oldest first */
	snprintf(seq, sizeof(seq), "{\"seq\":%lld,", (long long)base + 2);
	assert_int_equal(strncmp(out, seq, strlen(seq)), 0);
	assert_contains(out, "\"action\":\"provision-ipam-pool-cidr\"");
	assert_contains(out, "\"cidr\":\"10.0.0.0/16\"");
	snprintf(seq, sizeof(seq), "{\"seq\":%lld,", (long long)base + 3);
	assert_contains(out, seq);
	assert_contains(out, "\"action\":\"allocate-ipam-pool-cidr\"");
	assert_contains(out, "\"name\":\"a\",\"cidr\":\"10.0.0.0/24\","
			     "\"resource-type\":\"custom\"");
	snprintf(seq, sizeof(seq), "{\"seq\":%lld,", (long long)base + 1);
	assert_null(strstr(out, seq));
	{
		int lines = 0;
		for (const char *c = out; *c; c++)
			lines += *c == '\n';
		assert_int_equal(lines, 2);
	}
	free(out);
	ipam_free(db);
}

/* ---- transactions ---- */

static void test_txn_rollback_leaves_nothing(void **state)
{
	ipam *db = open_mem();
	int64_t top = mktop(db, "top"), child, pools[2];
	ipam_err err = {0};
	ipam_actor who = {.uid = 1000, .gid = 1000, .pid = 77};
	char *before, *after;
	(void)state;

	prov_ok(db, top, "10.0.0.0/8");
	pools[0] = top;
	pools[1] = top + 1000; /* not a pool yet: the digest says so */
	before = digest(db, pools, 1);

	assert_ok(ipam_txn_begin(db, &who, &err), err);
	child = mkpool(db, scope_key(db, "private"), top, "child");
	prov_ok(db, child, "10.1.0.0/16");
	assert_string_equal(alloc_ok(db, child, "x", 24), "10.1.0.0/24");
	assert_string_equal(alloc_ok(db, top, "y", 16), "10.0.0.0/16");
	assert_ok(ipam_tag_set(db, pool_id(db, top), "k", "v", &err), err);
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_POOL_DEPTH, 3, &err), err);
	/* inside the transaction the changes are visible */
	assert_string_equal(U(usage(db, top).allocated_to_pools), "65536");
	ipam_txn_rollback(db);

	after = digest(db, pools, 1);
	assert_string_equal(after, before);
	{
		int64_t k;
		assert_code(ipam_pool_lookup(db, scope_key(db, "private"), top,
					     "child", &k, &err),
			    err, IPAM_ENOENT, "no pool 'child'");
	}
	/* the handle works normally afterwards */
	assert_string_equal(alloc_ok(db, top, "y", 16), "10.0.0.0/16");
	free(before);
	free(after);
	ipam_free(db);
}

static void test_txn_failing_call_undoes_only_itself(void **state)
{
	ipam *db = open_mem();
	int64_t top = mktop(db, "top");
	ipam_err err = {0};
	ipam_actor who = {.uid = 4242, .gid = 4242, .pid = 99};
	ipam_strlist names = {0};
	ipam_pool_usage u;
	char *events;
	size_t len;
	int64_t last;
	(void)state;

	prov_ok(db, top, "10.0.0.0/16");
	{
		const char *tags[] = {"env=prod"};
		assert_ok(ipam_pool_set_required_tags(db, top, tags, 1, &err),
			  err);
	}
	last = ipam_events_last(db);
	assert_ok(ipam_txn_begin(db, &who, &err), err);
	assert_string_equal(alloc_ok(db, top, "a", 24), "10.0.0.0/24");
	memset(&err, 0, sizeof(err));
	assert_code(alloc(db, top, "a", 20, NULL, NULL, &err), err, IPAM_EEXIST,
		    "allocation 'a' exists in pool 'top'");
	memset(&err, 0, sizeof(err));
	assert_code(alloc(db, top, "b", -1, "10.1.0.0/24", NULL, &err), err,
		    IPAM_EADDRNOTAVAIL, "10.1.0.0/24 is not inside a CIDR");
	memset(&err, 0, sizeof(err));
	assert_code(alloc(db, top, "c", -1, "10.0.0.128/25", NULL, &err), err,
		    IPAM_EADDRINUSE, "overlaps allocation 'a' (10.0.0.0/24)");
	/* a call that fails half-way: the old required tags are deleted and
	 * one new tag is stored before the duplicate is refused */
	{
		const char *dup[] = {"team=a", "team=b"};
		memset(&err, 0, sizeof(err));
		assert_code(ipam_pool_set_required_tags(db, top, dup, 2, &err),
			    err, IPAM_EINVAL,
			    "required tag 'team' given twice");
	}
	assert_string_equal(alloc_ok(db, top, "b", 24), "10.0.1.0/24");
	/* nothing is visible to the hook or the log counter before commit */
	assert_int_equal(ipam_events_last(db), last);
	assert_ok(ipam_txn_commit(db, &err), err);
	assert_int_equal(ipam_events_last(db), last + 2);

	assert_ok(ipam_alloc_list(db, top, &names, &err), err);
	assert_int_equal(names.count, 2);
	assert_string_equal(names.items[0], "a");
	assert_string_equal(names.items[1], "b");
	ipam_strlist_free(&names);
	assert_ok(ipam_pool_get_required_tags(db, top, &names, &err), err);
	assert_int_equal(names.count, 1);
	assert_string_equal(names.items[0], "env=prod");
	ipam_strlist_free(&names);
	u = usage(db, top);
	assert_string_equal(U(u.assigned), "512");
	assert_int_equal(u.allocation_count, 2);
	assert_int_equal(u.compliant, 2);
	/* the changes were made by the transaction's actor */
	assert_ok(ipam_events_render(db, 2, &events, &len, &err), err);
	assert_contains(events, "\"uid\":4242,\"pid\":99,\"action\":"
				"\"allocate-ipam-pool-cidr\"");
	free(events);
	{
		ipam_alloc_info a;
		assert_ok(ipam_alloc_get(db, top, "b", &a, &err), err);
		assert_int_equal(a.owner_uid, 4242);
	}
	ipam_free(db);
}

static void test_txn_begin_twice(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	(void)state;
	assert_ok(ipam_txn_begin(db, NULL, &err), err);
	assert_code(ipam_txn_begin(db, NULL, &err), err, IPAM_EINVAL,
		    "a transaction is already open");
	mktop(db, "p");
	assert_ok(ipam_txn_commit(db, &err), err);
	{
		int64_t k;
		assert_ok(ipam_pool_lookup(db, scope_key(db, "private"), 0, "p",
					   &k, &err),
			  err);
	}
	ipam_free(db);
}

/* ---- the change hook ---- */

typedef struct hook_log {
	int calls;
	int64_t last;
	const char *path; /* the database; NULL: copy nothing */
	char copy[160];	  /* where the hook copies it */
} hook_log;

static void copy_file(const char *from, const char *to)
{
	size_t n;
	unsigned char *data = file_bytes(from, &n);
	unlink(to);
	if (data)
		write_bytes(to, data, n);
	free(data);
}

/* The hook runs after the commit: the database files as they are on
 * disk while it runs (the handle keeps them locked, so they are copied)
 * already hold the change. */
static void hook(void *ctx, int64_t last_event)
{
	hook_log *log = ctx;
	char from[200], to[200];
	log->calls++;
	log->last = last_event;
	if (log->path) {
		copy_file(log->path, log->copy);
		snprintf(from, sizeof(from), "%s-wal", log->path);
		snprintf(to, sizeof(to), "%s-wal", log->copy);
		copy_file(from, to);
	}
}

/* The newest change-log entry in the copy the hook took. */
static int64_t last_event_in_copy(const hook_log *log)
{
	ipam *db = open_file(log->copy, false);
	int64_t last = ipam_events_last(db);
	ipam_free(db);
	return last;
}

static void test_change_hook_after_commit_only(void **state)
{
	char dir[64], path[128];
	hook_log log = {0};
	ipam_err err = {0};
	int64_t top, base;
	ipam *db;
	(void)state;

	tmp_dir(dir);
	snprintf(path, sizeof(path), "%s/ipam.db", dir);
	db = open_file(path, true);
	base = ipam_events_last(db);
	log.path = path;
	snprintf(log.copy, sizeof(log.copy), "%s/seen.db", dir);
	ipam_set_change_hook(db, hook, &log);

	top = mktop(db, "top");
	assert_int_equal(log.calls, 1);
	assert_int_equal(log.last, ipam_events_last(db));
	assert_int_equal(log.last, base + 1);
	assert_int_equal(last_event_in_copy(&log), base + 1);

	/* refused calls and reads change nothing */
	assert_int_not_equal(ipam_pool_create(db, scope_key(db, "private"), 0,
					      "top", NULL, &err),
			     0);
	assert_int_not_equal(alloc(db, top, "a", 24, NULL, NULL, &err), 0);
	free(render(db, top, VIEW_STATUS));
	assert_int_equal(log.calls, 1);

	/* a transaction: one call, after commit */
	assert_ok(ipam_txn_begin(db, NULL, &err), err);
	prov_ok(db, top, "10.0.0.0/16");
	alloc_ok(db, top, "a", 24);
	alloc_ok(db, top, "b", 24);
	assert_int_equal(log.calls, 1);
	assert_ok(ipam_txn_commit(db, &err), err);
	assert_int_equal(log.calls, 2);
	assert_int_equal(log.last, base + 4);
	assert_int_equal(last_event_in_copy(&log), base + 4);

	/* rolled back: no call */
	assert_ok(ipam_txn_begin(db, NULL, &err), err);
	alloc_ok(db, top, "c", 24);
	ipam_txn_rollback(db);
	assert_int_equal(log.calls, 2);
	assert_int_equal(ipam_events_last(db), base + 4);

	/* a transaction that changed nothing: no call */
	assert_ok(ipam_txn_begin(db, NULL, &err), err);
	assert_int_not_equal(alloc(db, top, "a", 24, NULL, NULL, &err), 0);
	assert_ok(ipam_txn_commit(db, &err), err);
	assert_int_equal(log.calls, 2);

	ipam_set_change_hook(db, NULL, NULL);
	alloc_ok(db, top, "d", 24);
	assert_int_equal(log.calls, 2);
	ipam_free(db);
	tmp_dir_remove(dir);
}

typedef struct {
	int calls;
	ipam_kind kind[16];
	int64_t key[16];
} remove_log;

static void on_remove(void *ctx, ipam_kind kind, int64_t key)
{
	remove_log *log = ctx;
	if (log->calls < 16) {
		log->kind[log->calls] = kind;
		log->key[log->calls] = key;
	}
	log->calls++;
}

static int64_t alloc_key(ipam *db, int64_t pool, const char *name)
{
	ipam_alloc_info info;
	ipam_err err = {0};
	assert_ok(ipam_alloc_get(db, pool, name, &info, &err), err);
	return info.key;
}

static void test_remove_hook_reports_deleted_rows(void **state)
{
	ipam *db = open_mem();
	remove_log log = {0};
	ipam_err err = {0};
	(void)state;

	int64_t top = mktop(db, "top");
	prov_ok(db, top, "10.0.0.0/16");
	alloc_ok(db, top, "a", 24);
	alloc_ok(db, top, "b", 24);
	int64_t a = alloc_key(db, top, "a"), b = alloc_key(db, top, "b");
	ipam_set_remove_hook(db, on_remove, &log);

	/* creating and changing reports nothing */
	alloc_ok(db, top, "c", 24);
	assert_int_equal(log.calls, 0);

	/* a release: one call, after the commit */
	assert_ok(ipam_alloc_release(db, top, "a", &err), err);
	assert_int_equal(log.calls, 1);
	assert_int_equal(log.kind[0], IPAM_KIND_ALLOCATION);
	assert_int_equal(log.key[0], a);

	/* rolled back: nothing */
	assert_ok(ipam_txn_begin(db, NULL, &err), err);
	assert_ok(ipam_alloc_release(db, top, "b", &err), err);
	ipam_txn_rollback(db);
	assert_int_equal(log.calls, 1);

	/* a refused call inside a committed transaction: nothing of it */
	assert_ok(ipam_txn_begin(db, NULL, &err), err);
	assert_int_not_equal(ipam_alloc_release(db, top, "nope", &err), 0);
	assert_ok(ipam_txn_commit(db, &err), err);
	assert_int_equal(log.calls, 1);

	/* a pool deleted with its CIDR released from its parent */
	int64_t child = mkpool(db, scope_key(db, "private"), top, "child");
	prov_ok(db, child, "10.0.128.0/24");
	ipam_alloc_info parent_alloc;
	ipam_strlist names;
	assert_ok(ipam_alloc_list(db, top, &names, &err), err);
	assert_int_equal(names.count, 3); /* b, c and the child's CIDR */
	assert_ok(ipam_alloc_get(db, top, names.items[2], &parent_alloc, &err),
		  err);
	ipam_strlist_free(&names);
	log.calls = 0;
	assert_int_equal(deprov(db, child, "10.0.128.0/24", &err), 0);
	assert_int_equal(log.calls, 1);
	assert_int_equal(log.kind[0], IPAM_KIND_ALLOCATION);
	assert_int_equal(log.key[0], parent_alloc.key);
	assert_ok(ipam_pool_delete(db, child, &err), err);
	assert_int_equal(log.calls, 2);
	assert_int_equal(log.kind[1], IPAM_KIND_POOL);
	assert_int_equal(log.key[1], child);

	/* turned off */
	ipam_set_remove_hook(db, NULL, NULL);
	assert_ok(ipam_alloc_release(db, top, "b", &err), err);
	assert_int_equal(log.calls, 2);
	(void)b;
	ipam_free(db);
}

typedef struct {
	int count;
	char names[4][IPAM_NAME_MAX + 1];
	uint32_t mode[4];
	int stop_at;
} entry_log;

static int on_entry(void *ctx, const ipam_alloc_entry *e)
{
	entry_log *log = ctx;
	if (log->count == log->stop_at)
		return IPAM_EINVAL;
	if (log->count < 4) {
		snprintf(log->names[log->count], sizeof(log->names[0]), "%s",
			 e->name);
		log->mode[log->count] = e->mode;
	}
	log->count++;
	return 0;
}

static void test_alloc_entries_lists_like_alloc_list(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	entry_log log = {0};
	(void)state;

	int64_t top = mktop(db, "top");
	prov_ok(db, top, "10.0.0.0/16");
	alloc_cidr_ok(db, top, "z", "10.0.0.0/24");
	alloc_cidr_ok(db, top, "a", "10.0.1.0/24");
	alloc_cidr_ok(db, top, "m", "10.0.2.0/24");
	log.stop_at = -1;
	assert_ok(ipam_alloc_entries(db, top, on_entry, &log, &err), err);
	assert_int_equal(log.count, 3);
	assert_string_equal(log.names[0], "z"); /* address order */
	assert_string_equal(log.names[1], "a");
	assert_string_equal(log.names[2], "m");
	assert_int_equal(log.mode[0], 0755);

	/* the callback stops the walk with its code */
	memset(&log, 0, sizeof(log));
	log.stop_at = 1;
	assert_int_equal(ipam_alloc_entries(db, top, on_entry, &log, &err),
			 IPAM_EINVAL);
	assert_int_equal(log.count, 1);
	ipam_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_ipam_defaults),
		cmocka_unit_test(test_home_locale_option),
		cmocka_unit_test(test_id_seed_is_reproducible),
		cmocka_unit_test(test_missing_file_without_create),
		cmocka_unit_test(test_reopen_restores_everything),
		cmocka_unit_test(test_refuses_non_sqlite_file),
		cmocka_unit_test(test_refuses_other_programs_database),
		cmocka_unit_test(test_refuses_newer_schema),
		cmocka_unit_test(test_refuses_corrupt_database),
		cmocka_unit_test(test_new_file_is_private),
		cmocka_unit_test(test_refuses_dangling_symlink),
		cmocka_unit_test(test_refuses_damaged_pages),
		cmocka_unit_test(test_second_user_refused),
		cmocka_unit_test(test_tampered_values_do_not_abort),
		cmocka_unit_test(test_events_record_changes),
		cmocka_unit_test(test_txn_rollback_leaves_nothing),
		cmocka_unit_test(test_txn_failing_call_undoes_only_itself),
		cmocka_unit_test(test_txn_begin_twice),
		cmocka_unit_test(test_change_hook_after_commit_only),
		cmocka_unit_test(test_remove_hook_reports_deleted_rows),
		cmocka_unit_test(test_alloc_entries_lists_like_alloc_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
