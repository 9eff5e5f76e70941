/*
 * test_oom.c - out-of-memory (after SQLite's own test suite).
 *
 * SQLite's allocator (sqlite3_config(SQLITE_CONFIG_MALLOC), set before
 * sqlite3_initialize, hence this separate executable) and jansson's
 * (json_set_alloc_funcs) are wrapped by one allocator that fails the N-th
 * allocation after it is armed - once ("transient"), or that one and every
 * later one until the call returns ("persistent", memory stays short). For
 * each operation, N runs upward from 1 on a fresh database built the same
 * way each time (fixed clock and id seed, so states are comparable byte
 * for byte) until a run meets no failure. Every run must either fail with
 * IPAM_ENOMEM/IPAM_EIO and leave everything a user can see exactly as
 * before, or succeed with exactly the state of an undisturbed run. After
 * a failure, with memory back, the same handle must work: the operation
 * succeeds and gives the undisturbed state.
 */
#include <sqlite3.h>
#include <jansson.h>

#include "fixture.h"

/* ---- the failing allocator ---- */

static sqlite3_mem_methods real_mem;
static long alloc_count; /* allocations since armed */
static long fail_at;	 /* 0: disarmed */
static bool persistent;
static long failures; /* allocations refused since armed */

static bool should_fail(void)
{
	if (!fail_at)
		return false;
	alloc_count++;
	if (alloc_count == fail_at || (persistent && alloc_count > fail_at)) {
		failures++;
		return true;
	}
	return false;
}

static void *oom_malloc(int n)
{
	return should_fail() ? NULL : real_mem.xMalloc(n);
}

static void *oom_realloc(void *p, int n)
{
	return should_fail() ? NULL : real_mem.xRealloc(p, n);
}

static void oom_free(void *p)
{
	real_mem.xFree(p);
}

static int oom_size(void *p)
{
	return real_mem.xSize(p);
}

static int oom_roundup(int n)
{
	return real_mem.xRoundup(n);
}

static int oom_init(void *ctx)
{
	return real_mem.xInit(ctx);
}

static void oom_shutdown(void *ctx)
{
	real_mem.xShutdown(ctx);
}

static void *json_malloc_wrap(size_t n)
{
	return should_fail() ? NULL : malloc(n);
}

static void json_free_wrap(void *p)
{
	free(p);
}

static void arm(long n, bool keep_failing)
{
	alloc_count = 0;
	failures = 0;
	persistent = keep_failing;
	fail_at = n;
}

static void disarm(void)
{
	fail_at = 0;
}

static void install_allocator(void)
{
	sqlite3_mem_methods wrap = {
		.xMalloc = oom_malloc,
		.xFree = oom_free,
		.xRealloc = oom_realloc,
		.xSize = oom_size,
		.xRoundup = oom_roundup,
		.xInit = oom_init,
		.xShutdown = oom_shutdown,
	};
	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem) != SQLITE_OK ||
	    sqlite3_config(SQLITE_CONFIG_MALLOC, &wrap) != SQLITE_OK) {
		fprintf(stderr, "cannot install the failing allocator\n");
		exit(1);
	}
	/* Small allocations would otherwise come from the per-connection
	 * lookaside buffer and never reach the wrapper. */
	sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	json_set_alloc_funcs(json_malloc_wrap, json_free_wrap);
}

/* ---- the scenario ---- */

typedef struct world {
	ipam *db;
	int64_t pools[4]; /* top, a, b, dev */
	int64_t priv;	  /* the private scope */
	char top_id[IPAM_ID_MAX];
} world;

/* The same state every time: top 10.0.0.0/8 with children a (10.1/16,
 * allocations) and b (no CIDR yet), and dev under a. With `warm`, every
 * kind of call the operations make has run once already, so the failures
 * hit stepping rather than statement preparation. */
static void build(world *w, bool warm)
{
	ipam_err err = {0};
	int64_t priv;

	w->db = open_mem();
	priv = w->priv = scope_key(w->db, "private");
	w->pools[0] = mktop(w->db, "top");
	w->pools[1] = mkpool(w->db, priv, w->pools[0], "a");
	w->pools[2] = mkpool(w->db, priv, w->pools[0], "b");
	w->pools[3] = mkpool(w->db, priv, w->pools[1], "dev");
	prov_ok(w->db, w->pools[0], "10.0.0.0/8");
	prov_ok(w->db, w->pools[1], "10.1.0.0/16");
	alloc_ok(w->db, w->pools[1], "x", 24);
	alloc_ok(w->db, w->pools[1], "y", 26);
	assert_ok(ipam_tag_set(w->db, pool_id(w->db, w->pools[1]), "k", "v",
			       &err),
		  err);
	snprintf(w->top_id, sizeof(w->top_id), "%s",
		 pool_id(w->db, w->pools[0]));
	if (warm) {
		prov_ok(w->db, w->pools[3], "10.1.128.0/17");
		alloc_ok(w->db, w->pools[3], "w", 28);
		assert_ok(ipam_alloc_release(w->db, w->pools[3], "w", &err),
			  err);
		assert_ok(deprov(w->db, w->pools[3], "10.1.128.0/17", &err),
			  err);
		assert_ok(ipam_pool_set_netmask(w->db, w->pools[3],
						IPAM_NETMASK_MAX, 30, &err),
			  err);
		free(digest(w->db, w->pools, 4));
	}
}

typedef int (*op_fn)(world *w, ipam_err *err);

static int op_provision_child(world *w, ipam_err *err)
{
	return prov(w->db, w->pools[2], "10.2.0.0/16", err);
}

static int op_alloc_by_size(world *w, ipam_err *err)
{
	return alloc(w->db, w->pools[1], "z", 20, NULL, NULL, err);
}

static int op_alloc_cidr(world *w, ipam_err *err)
{
	return alloc(w->db, w->pools[1], "z", -1, "10.1.64.0/18", NULL, err);
}

static int op_release(world *w, ipam_err *err)
{
	return ipam_alloc_release(w->db, w->pools[1], "x", err);
}

static int op_netmask(world *w, ipam_err *err)
{
	/* flags y (/26) noncompliant */
	return ipam_pool_set_netmask(w->db, w->pools[1], IPAM_NETMASK_MAX, 25,
				     err);
}

static int op_tag(world *w, ipam_err *err)
{
	return ipam_tag_set(w->db, w->top_id, "env", "prod", err);
}

/* Several calls in one transaction: all or nothing. */
static int op_transaction(world *w, ipam_err *err)
{
	ipam_actor who = {.uid = 7, .gid = 7, .pid = 7};
	int rc = ipam_txn_begin(w->db, &who, err);
	if (rc)
		return rc;
	if ((rc = prov(w->db, w->pools[2], "10.2.0.0/16", err)) ||
	    (rc = alloc(w->db, w->pools[2], "t1", 24, NULL, NULL, err)) ||
	    (rc = ipam_alloc_release(w->db, w->pools[1], "y", err))) {
		ipam_txn_rollback(w->db);
		return rc;
	}
	return ipam_txn_commit(w->db, err);
}

static const struct {
	const char *name;
	op_fn op;
} ops[] = {
	{"provision-child", op_provision_child},
	{"allocate-by-size", op_alloc_by_size},
	{"allocate-cidr", op_alloc_cidr},
	{"release", op_release},
	{"netmask-recheck", op_netmask},
	{"transaction", op_transaction},
	{"tag", op_tag},
};

static char *world_digest(world *w)
{
	return digest_light(w->db, w->pools, 4);
}

/* What went wrong, the first case of each kind, for one report. */
enum problem {
	P_WRONG_CODE,	 /* a failure that is not ENOMEM/EIO */
	P_CODE_MISMATCH, /* returned one code, err says another */
	P_STATE_CHANGED, /* failed, but the state is not as before */
	P_WRONG_SUCCESS, /* succeeded, but not with the undisturbed state */
	P_DEAD_HANDLE,	 /* with memory back, the handle does not work */
	P_COUNT
};

static const char *const problem_names[P_COUNT] = {
	"wrong code",
	"code mismatch",
	"state changed after a failure",
	"success with a different state",
	"handle unusable afterwards",
};

typedef struct report {
	char first[P_COUNT][2048];
	long count[P_COUNT];
} report;

static void note(report *r, enum problem p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void note(report *r, enum problem p, const char *fmt, ...)
{
	va_list ap;
	if (r->count[p]++)
		return;
	va_start(ap, fmt);
	vsnprintf(r->first[p], sizeof(r->first[p]), fmt, ap);
	va_end(ap);
}

/* Fails the test with every kind of problem met (those in `mask`). */
static void report_check(const report *r, unsigned mask)
{
	text t = {0};
	text_add(&t, "");
	for (int p = 0; p < P_COUNT; p++)
		if ((mask & (1u << p)) && r->count[p])
			text_addf(&t, "%s (%ld runs), first: %s\n",
				  problem_names[p], r->count[p], r->first[p]);
	if (t.len)
		fail_msg("%s", t.data);
	free(t.data);
}

/* A short form of the first line where two digests differ. */
static void first_difference(const char *a, const char *b, char *out,
			     size_t size)
{
	size_t i = 0, line = 0;
	while (a[i] && a[i] == b[i])
		i++;
	line = i;
	while (line > 0 && a[line - 1] != '\n')
		line--;
	snprintf(out, size, "want '%.*s' got '%.*s'",
		 (int)strcspn(a + line, "\n"), a + line,
		 (int)strcspn(b + line, "\n"), b + line);
}

/* The next N to try: every one up to 60, then every sixth (under the
 * sanitizers, where each run is much slower: up to 30, then every 12th). */
static long next_n(long n, size_t salt)
{
	return fixture_next_n(n, FIXTURE_SLOW ? 30 : 60, FIXTURE_SLOW ? 12 : 6,
			      salt);
}

static void run_op(size_t which, bool warm, bool keep_failing, report *r)
{
	world w;
	ipam_err err = {0};
	char *before, *after, *now, diff[1024];
	const char *name = ops[which].name;
	long n, failed_runs = 0;

	build(&w, warm);
	before = world_digest(&w);
	assert_ok(ops[which].op(&w, &err), err);
	after = world_digest(&w);
	assert_string_not_equal(before, after);
	ipam_free(w.db);

	for (n = 1; n < 100000; n = next_n(n, which + warm)) {
		int rc;
		build(&w, warm);
		memset(&err, 0, sizeof(err));
		arm(n, keep_failing);
		rc = ops[which].op(&w, &err);
		disarm();
		if (failures == 0) {
			/* ran to the end without meeting the failure */
			assert_ok(rc, err);
			now = world_digest(&w);
			assert_string_equal(now, after);
			free(now);
			ipam_free(w.db);
			break;
		}
		if (rc == 0) {
			now = world_digest(&w);
			if (strcmp(now, after)) {
				first_difference(after, now, diff,
						 sizeof(diff));
				note(r, P_WRONG_SUCCESS,
				     "%s: allocation %ld failed, the call "
				     "succeeded: %s",
				     name, n, diff);
			}
			free(now);
			ipam_free(w.db);
			continue;
		}
		failed_runs++;
		if (rc != IPAM_ENOMEM && rc != IPAM_EIO)
			note(r, P_WRONG_CODE, "%s: allocation %ld: got %s (%s)",
			     name, n, ipam_code_name(rc), err.msg);
		if (err.code != rc)
			note(r, P_CODE_MISMATCH,
			     "%s: allocation %ld: returned %s, err says %s "
			     "(%s)",
			     name, n, ipam_code_name(rc),
			     ipam_code_name(err.code), err.msg);
		/* memory is back: the handle must read the old state and
		 * then do the operation */
		{
			ipam_pool_usage u;
			memset(&err, 0, sizeof(err));
			if (ipam_pool_usage_get(w.db, w.pools[0], &u, &err)) {
				note(r, P_DEAD_HANDLE,
				     "%s: after failing at allocation %ld "
				     "(%s), reading fails: %s",
				     name, n,
				     keep_failing ? "persistent" : "once",
				     err.msg);
				ipam_free(w.db);
				continue;
			}
		}
		now = world_digest(&w);
		if (strcmp(now, before)) {
			first_difference(before, now, diff, sizeof(diff));
			note(r, P_STATE_CHANGED,
			     "%s: allocation %ld failed (%s) and: %s", name, n,
			     ipam_code_name(rc), diff);
		}
		free(now);
		memset(&err, 0, sizeof(err));
		if (ops[which].op(&w, &err)) {
			note(r, P_DEAD_HANDLE,
			     "%s: after failing at allocation %ld, the retry "
			     "fails: %s",
			     name, n, err.msg);
		} else {
			now = world_digest(&w);
			if (strcmp(now, after)) {
				first_difference(after, now, diff,
						 sizeof(diff));
				note(r, P_STATE_CHANGED,
				     "%s: after failing at allocation %ld, "
				     "the retry gives: %s",
				     name, n, diff);
			}
			free(now);
			assert_ok(ipam_check(w.db, &err), err);
		}
		ipam_free(w.db);
	}
	assert_true(n > 1);
	assert_true(failed_runs > 0);
	free(before);
	free(after);
}

#define ALL_BUT_MISMATCH (((1u << P_COUNT) - 1) & ~(1u << P_CODE_MISMATCH))

#define NOPS (sizeof(ops) / sizeof(ops[0]))

/* Fail once, cold statement cache. Shared by two tests. Under the
 * sanitizers only the operations that write the most. */
static const report *cold_report(void)
{
	static const size_t fewer[] = {0, 1, 3, 5};
	static report r;
	static bool done;
	if (!done) {
		size_t n = FIXTURE_SLOW ? sizeof(fewer) / sizeof(fewer[0])
					: NOPS;
		for (size_t i = 0; i < n; i++)
			run_op(FIXTURE_SLOW ? fewer[i] : i, false, false, &r);
		done = true;
	}
	return &r;
}

static void test_oom_transient_cold(void **state)
{
	(void)state;
	report_check(cold_report(), ALL_BUT_MISMATCH);
}

static void test_oom_transient_warm(void **state)
{
	static const size_t some[] = {0, 3, 5};
	static const size_t fewer[] = {0};
	report r = {0};
	(void)state;
	const size_t *which = FIXTURE_SLOW ? fewer : some;
	size_t n = FIXTURE_SLOW ? 1 : sizeof(some) / sizeof(some[0]);
	for (size_t i = 0; i < n; i++)
		run_op(which[i], true, false, &r);
	report_check(&r, ALL_BUT_MISMATCH);
}

/* Memory stays short until the call returns: the call's own clean-up
 * meets failures too. */
static void test_oom_persistent_warm(void **state)
{
	static const size_t some[] = {0, 1, 3, 5};
	size_t n = FIXTURE_SLOW ? 2 : sizeof(some) / sizeof(some[0]);
	report r = {0};
	(void)state;
	for (size_t i = 0; i < n; i++)
		run_op(some[i], true, true, &r);
	report_check(&r, ALL_BUT_MISMATCH);
}

/* The code returned is the code in err (the FUSE layer maps the first,
 * /errors shows the second). */
static void test_oom_code_agrees_with_reason(void **state)
{
	(void)state;
	report_check(cold_report(), 1u << P_CODE_MISMATCH);
}

/* A failing call inside a transaction undoes only itself, even when it
 * fails for lack of memory: the calls before it stay, later ones join,
 * and the caller's commit applies exactly those. Where that cannot be
 * kept, the transaction must fail as a whole (later calls or the commit
 * fail, nothing is applied) - never a part of it. */
static void test_oom_inside_transaction(void **state)
{
	world w;
	ipam_err err = {0};
	char *want, *before, *now;
	long n, failed = 0;
	(void)state;

	/* what "first call, then the third" gives, undisturbed */
	build(&w, true);
	before = world_digest(&w);
	assert_ok(ipam_txn_begin(w.db, NULL, &err), err);
	assert_ok(prov(w.db, w.pools[2], "10.2.0.0/16", &err), err);
	assert_ok(ipam_alloc_release(w.db, w.pools[1], "y", &err), err);
	assert_ok(ipam_txn_commit(w.db, &err), err);
	want = world_digest(&w);
	ipam_free(w.db);

	for (n = 1; n < 100000; n = next_n(n, 0)) {
		int rc, rc3, commit;
		const char *expect;
		build(&w, true);
		assert_ok(ipam_txn_begin(w.db, NULL, &err), err);
		assert_ok(prov(w.db, w.pools[2], "10.2.0.0/16", &err), err);
		arm(n, false);
		rc = alloc(w.db, w.pools[1], "z", 20, NULL, NULL, &err);
		disarm();
		memset(&err, 0, sizeof(err));
		if (failures == 0) {
			assert_ok(rc, err);
			ipam_txn_rollback(w.db);
			ipam_free(w.db);
			break;
		}
		if (rc == 0) {
			ipam_txn_rollback(w.db);
			ipam_free(w.db);
			continue;
		}
		failed++;
		rc3 = ipam_alloc_release(w.db, w.pools[1], "y", &err);
		commit = ipam_txn_commit(w.db, &err);
		expect = rc3 == 0 && commit == 0 ? want : before;
		now = world_digest(&w);
		if (strcmp(now, expect)) {
			char diff[1024];
			first_difference(expect, now, diff, sizeof(diff));
			fail_msg("allocation %ld failed inside a transaction; "
				 "the next call %s, the commit %s (%s), and "
				 "the state: %s",
				 n, rc3 ? "failed" : "worked",
				 commit ? "failed" : "worked", err.msg, diff);
		}
		free(now);
		ipam_free(w.db);
	}
	assert_true(n > 1);
	assert_true(failed > 0);
	free(want);
	free(before);
}

/* Creating an IPAM makes about 50 000 allocations, most of them SQLite
 * parsing the DDL of one migration after another: the first 2 000 (opening,
 * the first tables, the meta data) as every other loop, then every 53rd,
 * the residue moving along, so the test stays at about 1 300 opens as
 * migrations are added. */
static long next_open_n(long n)
{
	return n < 2000 ? next_n(n, 1) : n + 53;
}

/* Opening (and creating) under memory pressure: fails cleanly with a
 * memory or I/O code - never claims the database is not ours - and leaks
 * nothing (the sanitizer build checks that). */
static void test_oom_open(void **state)
{
	long n;
	(void)state;
	for (n = 1; n < 1000000; n = next_open_n(n)) {
		ipam_open_opts opts = fixture_opts();
		ipam_err err = {0};
		ipam *db = NULL;
		int rc;
		opts.in_memory = true;
		arm(n, false);
		rc = ipam_open(&db, NULL, &opts, &err);
		disarm();
		if (failures == 0) {
			assert_ok(rc, err);
			ipam_free(db);
			break;
		}
		if (rc == 0) {
			/* recovered: it must be a complete IPAM */
			ipam_strlist scopes = {0};
			assert_ok(ipam_scope_list(db, &scopes, &err), err);
			assert_int_equal(scopes.count, 2);
			ipam_strlist_free(&scopes);
			ipam_free(db);
			continue;
		}
		assert_null(db);
		if (rc != IPAM_ENOMEM && rc != IPAM_EIO)
			fail_msg("open: allocation %ld failed: got %s (%s)", n,
				 ipam_code_name(rc), err.msg);
	}
	assert_true(n > 1);
}

/* Views under memory pressure: an error, or the complete text - never a
 * wrong or truncated one. */
static const char *const view_names[] = {
	"status", "status.json", "allocations.json", "cidrs.json",
	"map",	  "pool.json",	 "events",
};

static int render_view(world *w, int v, char **out, size_t *len, ipam_err *err)
{
	switch (v) {
	case 0:
		return ipam_render_pool_status(w->db, w->pools[1], false, out,
					       len, err);
	case 1:
		return ipam_render_pool_status(w->db, w->pools[1], true, out,
					       len, err);
	case 2:
		return ipam_render_pool_allocations_json(w->db, w->pools[1],
							 out, len, err);
	case 3:
		return ipam_render_pool_cidrs_json(w->db, w->pools[1], out, len,
						   err);
	case 4:
		return ipam_render_pool_map(w->db, w->pools[1], out, len, err);
	case 5:
		return ipam_render_pool_json(w->db, w->pools[1], out, len, err);
	default:
		return ipam_events_render(w->db, 0, out, len, err);
	}
}

static void test_oom_views(void **state)
{
	world w;
	char *want[7] = {0};
	text problems = {0};
	(void)state;

	text_add(&problems, "");
	build(&w, true);
	for (int v = 0; v < 7; v++) {
		size_t len;
		ipam_err err = {0};
		assert_ok(render_view(&w, v, &want[v], &len, &err), err);
	}
	for (int v = 0; v < 7; v++) {
		long n;
		bool noted = false;
		for (n = 1; n < 100000; n = next_n(n, (size_t)v)) {
			char *out = NULL;
			size_t len = 0;
			ipam_err err = {0};
			int rc;
			arm(n, false);
			rc = render_view(&w, v, &out, &len, &err);
			disarm();
			if (rc == 0 && strcmp(out, want[v]) && !noted) {
				char diff[1024];
				first_difference(want[v], out, diff,
						 sizeof(diff));
				text_addf(&problems,
					  "%s: allocation %ld failed and the "
					  "call succeeded with a different "
					  "text: %s\n",
					  view_names[v], n, diff);
				noted = true;
			} else if (rc != 0 && rc != IPAM_ENOMEM &&
				   rc != IPAM_EIO && !noted) {
				text_addf(&problems, "%s: allocation %ld: %s\n",
					  view_names[v], n, ipam_code_name(rc));
				noted = true;
			}
			if (rc == 0)
				free(out);
			else if (out && !noted) {
				text_addf(&problems,
					  "%s: allocation %ld: failed but "
					  "*out was set\n",
					  view_names[v], n);
				noted = true;
			}
			if (failures == 0)
				break;
		}
		assert_true(n > 1);
	}
	for (int v = 0; v < 7; v++)
		free(want[v]);
	ipam_free(w.db);
	if (problems.len)
		fail_msg("%s", problems.data);
	free(problems.data);
}

/* With arguments, only the tests whose names contain one of them: meson
 * runs the slow groups as separate tests, each with its own timeout, on
 * both cores (tests/unit/meson.build). */
int main(int argc, char **argv)
{
	const struct CMUnitTest all[] = {
		cmocka_unit_test(test_oom_transient_cold),
		cmocka_unit_test(test_oom_transient_warm),
		cmocka_unit_test(test_oom_persistent_warm),
		cmocka_unit_test(test_oom_code_agrees_with_reason),
		cmocka_unit_test(test_oom_inside_transaction),
		cmocka_unit_test(test_oom_open),
		cmocka_unit_test(test_oom_views),
	};
	struct CMUnitTest chosen[sizeof(all) / sizeof(all[0])];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		bool take = argc < 2;
		for (int a = 1; a < argc && !take; a++)
			take = strstr(all[i].name, argv[a]) != NULL;
		if (take)
			chosen[n++] = all[i];
	}
	if (n == 0) {
		fprintf(stderr, "no test matches\n");
		return 1;
	}
	install_allocator();
	return _cmocka_run_group_tests("test_oom", chosen, n, NULL, NULL);
}
