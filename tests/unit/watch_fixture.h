/*
 * watch_fixture.h - what the unit tests of resources, watching (overlap,
 * compliance, auto-import), discoveries, history and metrics share on top
 * of fixture.h: a clock the test moves by hand, resources in one call, the
 * status of one resource CIDR as one line, history queries as text.
 *
 * Header-only (static inline) like fixture.h; each test file is one
 * executable, so the clock variable is private to it.
 */
#ifndef IPAM_TEST_WATCH_FIXTURE_H
#define IPAM_TEST_WATCH_FIXTURE_H

#include "fixture.h"

#include <sys/wait.h>

/* What the IPAM's clock says; tests assign it. */
static int64_t clock_now = FIXTURE_TIME;

/* The handles open_watch() opened and close_watch() did not close yet:
 * watch_teardown() frees them when a test fails half-way, so that a
 * failing test does not also show up as leaks under the sanitizers. */
static ipam *open_handles[8];

static inline void close_watch(ipam *db)
{
	for (size_t i = 0; i < sizeof(open_handles) / sizeof(*open_handles);
	     i++)
		if (open_handles[i] == db)
			open_handles[i] = NULL;
	ipam_free(db);
}

static inline int watch_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(open_handles) / sizeof(*open_handles);
	     i++) {
		if (open_handles[i])
			ipam_free(open_handles[i]);
		open_handles[i] = NULL;
	}
	return 0;
}

/* Every test of these files runs with the teardown. */
#define WATCH_TEST(f) cmocka_unit_test_teardown(f, watch_teardown)

/* Seconds of an ISO 8601 UTC time ("2021-12-27T20:08:46Z"). */
static inline int64_t T(const char *iso)
{
	int64_t t = 0;
	if (ipam_time_parse(&t, iso))
		fail_msg("bad time in test: %s", iso);
	return t;
}

/* The time in the form the views print. */
static inline const char *TS(int64_t t)
{
	static char ring[8][IPAM_TIME_STRLEN];
	static unsigned next;
	char *out = ring[next++ % 8];
	ipam_time_format(t, out);
	return out;
}

/*
 * A fresh in-memory IPAM on the hand-moved clock (reset to FIXTURE_TIME),
 * with the given home locale (NULL = "local"), the advanced tier and the
 * operating locales `locales` (NULL-terminated, home included or not).
 */
static inline ipam *open_watch(const char *home, const char *const *locales)
{
	ipam_open_opts opts = fixture_opts();
	ipam_err err = {0};
	ipam *db = NULL;
	const char *set[16];
	size_t n = 0;

	clock_now = FIXTURE_TIME;
	opts.clock_ctx = &clock_now;
	opts.home_locale = home;
	db = fixture_open(opts); /* in memory, or IPAMFS_TEST_PG_URI */
	for (size_t i = 0; i < sizeof(open_handles) / sizeof(*open_handles);
	     i++)
		if (!open_handles[i]) {
			open_handles[i] = db;
			break;
		}
	if (ipam_set_tier(db, IPAM_TIER_ADVANCED, &err))
		fail_msg("tier: %s", err.msg);
	set[n++] = home ? home : "local";
	for (size_t i = 0; locales && locales[i] && n < 16; i++)
		if (strcmp(locales[i], set[0]))
			set[n++] = locales[i];
	if (ipam_locales_set(db, set, n, &err))
		fail_msg("locales: %s", err.msg);
	return db;
}

/*
 * Runs call(db, arg) in a child process so that a core bug that aborts
 * (a failed assert()) fails this test only and not the whole file. Returns
 * what call returned (an ipam_code); fails the test when the child dies of
 * a signal.
 */
static inline int in_child(int (*call)(ipam *, void *), ipam *db, void *arg)
{
	int status = 0;
	pid_t pid;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail_msg("fork failed");
	if (pid == 0)
		_exit(-call(db, arg) & 0x7f);
	if (waitpid(pid, &status, 0) != pid)
		fail_msg("waitpid failed");
	if (WIFSIGNALED(status))
		fail_msg("the call died of signal %d (%s)", WTERMSIG(status),
			 WTERMSIG(status) == 6 ? "abort: a failed assert"
					       : "crash");
	return -WEXITSTATUS(status);
}

/* ---- resources ---- */

static inline int64_t res_new(ipam *db, int64_t scope, const char *id)
{
	ipam_err err = {0};
	int64_t key = 0;
	if (ipam_resource_create(db, scope, id, NULL, &key, &err))
		fail_msg("resource_create %s: %s", id, err.msg);
	return key;
}

static inline void res_set(ipam *db, int64_t res, ipam_resource_field field,
			   const char *value)
{
	ipam_err err = {0};
	if (ipam_resource_set(db, res, field, value, &err))
		fail_msg("resource_set %d=%s: %s", (int)field, value, err.msg);
}

static inline void res_cidr(ipam *db, int64_t res, const char *cidr)
{
	ipam_err err = {0};
	ipam_cidr c = C(cidr);
	if (ipam_resource_cidr_add(db, res, &c, &err))
		fail_msg("resource_cidr_add %s: %s", cidr, err.msg);
}

static inline void res_uncidr(ipam *db, int64_t res, const char *cidr)
{
	ipam_err err = {0};
	ipam_cidr c = C(cidr);
	if (ipam_resource_cidr_remove(db, res, &c, &err))
		fail_msg("resource_cidr_remove %s: %s", cidr, err.msg);
}

static inline void res_tag(ipam *db, int64_t res, const char *key,
			   const char *value)
{
	ipam_err err = {0};
	if (ipam_resource_tag_set(db, res, key, value, &err))
		fail_msg("resource_tag_set %s: %s", key, err.msg);
}

static inline void res_del(ipam *db, int64_t res)
{
	ipam_err err = {0};
	if (ipam_resource_delete(db, res, &err))
		fail_msg("resource_delete: %s", err.msg);
}

/*
 * A resource with its attributes set before its CIDRs are added (so each
 * CIDR gets one history record): id, owner, locale, vpc-id, name (NULL or
 * "" = leave unset), then the CIDRs (NULL-terminated).
 */
static inline int64_t res_make(ipam *db, int64_t scope, const char *id,
			       const char *owner, const char *locale,
			       const char *vpc, const char *name, ...)
{
	int64_t key = res_new(db, scope, id);
	const char *cidr;
	va_list ap;
	if (owner && *owner)
		res_set(db, key, IPAM_RESOURCE_OWNER, owner);
	if (locale && *locale)
		res_set(db, key, IPAM_RESOURCE_LOCALE, locale);
	if (vpc && *vpc)
		res_set(db, key, IPAM_RESOURCE_VPC_ID, vpc);
	if (name && *name)
		res_set(db, key, IPAM_RESOURCE_NAME, name);
	va_start(ap, name);
	while ((cidr = va_arg(ap, const char *)))
		res_cidr(db, key, cidr);
	va_end(ap);
	return key;
}

static inline int64_t res_key(ipam *db, int64_t scope, const char *id)
{
	ipam_err err = {0};
	int64_t key = 0;
	if (ipam_resource_lookup(db, scope, id, &key, &err))
		fail_msg("resource_lookup %s: %s", id, err.msg);
	return key;
}

static inline bool res_exists(ipam *db, int64_t scope, const char *id)
{
	int64_t key = 0;
	return ipam_resource_lookup(db, scope, id, &key, NULL) == 0;
}

static inline ipam_resource_info res_info(ipam *db, int64_t res)
{
	ipam_resource_info info;
	ipam_err err = {0};
	if (ipam_resource_get(db, res, &info, &err))
		fail_msg("resource_get: %s", err.msg);
	return info;
}

/* The resource's CIDRs, canonical, one per line (static buffer). */
static inline const char *res_cidrs(ipam *db, int64_t res)
{
	static char out[4096];
	ipam_resource_cidr *rows = NULL;
	size_t n = 0, used = 0;
	ipam_err err = {0};
	if (ipam_resource_cidrs(db, res, &rows, &n, &err))
		fail_msg("resource_cidrs: %s", err.msg);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s\n",
					 S(&rows[i].cidr));
	free(rows);
	return out;
}

/*
 * The status of one CIDR of a resource as
 * "management compliance overlap" (static ring buffer); "absent" when the
 * resource has no such CIDR.
 */
static inline const char *rc_state(ipam *db, int64_t res, const char *cidr)
{
	static char ring[8][64];
	static unsigned next;
	char *out = ring[next++ % 8];
	ipam_resource_cidr *rows = NULL;
	size_t n = 0;
	ipam_err err = {0};
	ipam_cidr want = C(cidr);
	if (ipam_resource_cidrs(db, res, &rows, &n, &err))
		fail_msg("resource_cidrs: %s", err.msg);
	snprintf(out, 64, "absent");
	for (size_t i = 0; i < n; i++)
		if (!ipam_cidr_compare(&rows[i].cidr, &want))
			snprintf(out, 64, "%s %s %s", rows[i].management,
				 rows[i].compliance, rows[i].overlap);
	free(rows);
	return out;
}

/* The whole row of one CIDR (fails when absent). */
static inline ipam_resource_cidr rc_row(ipam *db, int64_t res, const char *cidr)
{
	ipam_resource_cidr *rows = NULL, got;
	size_t n = 0;
	ipam_err err = {0};
	ipam_cidr want = C(cidr);
	bool found = false;
	memset(&got, 0, sizeof(got));
	if (ipam_resource_cidrs(db, res, &rows, &n, &err))
		fail_msg("resource_cidrs: %s", err.msg);
	for (size_t i = 0; i < n; i++)
		if (!ipam_cidr_compare(&rows[i].cidr, &want)) {
			got = rows[i];
			found = true;
		}
	free(rows);
	if (!found)
		fail_msg("resource has no %s", cidr);
	return got;
}

/* ipam_render_resource_status text; the caller frees. */
static inline char *res_status(ipam *db, int64_t res, bool json)
{
	char *out = NULL;
	size_t len = 0;
	ipam_err err = {0};
	if (ipam_render_resource_status(db, res, json, &out, &len, &err))
		fail_msg("resource status: %s", err.msg);
	assert_int_equal(strlen(out), len);
	return out;
}

static inline void assert_res_status(ipam *db, int64_t res, const char *want)
{
	char *got = res_status(db, res, false);
	if (strcmp(got, want))
		fail_msg("resource status is\n%s\nexpected\n%s", got, want);
	free(got);
}

/* ---- pools ---- */

static inline void pool_locale(ipam *db, int64_t pool, const char *locale)
{
	ipam_err err = {0};
	if (ipam_pool_set_locale(db, pool, locale, &err))
		fail_msg("pool_set_locale %s: %s", locale, err.msg);
}

static inline void pool_netmask(ipam *db, int64_t pool, ipam_netmask_rule r,
				int len)
{
	ipam_err err = {0};
	if (ipam_pool_set_netmask(db, pool, r, len, &err))
		fail_msg("pool_set_netmask %d=%d: %s", (int)r, len, err.msg);
}

static inline void pool_tags(ipam *db, int64_t pool, const char *const *pairs,
			     size_t n)
{
	ipam_err err = {0};
	if (ipam_pool_set_required_tags(db, pool, pairs, n, &err))
		fail_msg("pool_set_required_tags: %s", err.msg);
}

static inline void pool_auto_import(ipam *db, int64_t pool, bool on)
{
	ipam_err err = {0};
	if (ipam_pool_set_auto_import(db, pool, on, &err))
		fail_msg("pool_set_auto_import: %s", err.msg);
}

/* Allocates from `pool` to the resource: cidr, or /len when cidr is NULL;
 * returns the CIDR it got (static ring buffer). */
static inline const char *res_alloc_ok(ipam *db, int64_t res, int64_t pool,
				       const char *cidr, int len)
{
	static char ring[8][IPAM_CIDR_STRLEN];
	static unsigned next;
	char *out = ring[next++ % 8];
	ipam_err err = {0};
	ipam_cidr want, got;
	if (cidr)
		want = C(cidr);
	if (ipam_resource_allocate(db, res, pool, cidr ? &want : NULL, len,
				   &got, &err))
		fail_msg("resource_allocate %s /%d: %s", cidr ? cidr : "", len,
			 err.msg);
	snprintf(out, IPAM_CIDR_STRLEN, "%s", S(&got));
	return out;
}

/* ---- history ---- */

#define ALL_TIME 0, INT64_MAX

/* ipam_history_query; the caller frees. */
static inline char *hist(ipam *db, int64_t scope, const char *cidr,
			 int64_t from, int64_t to, bool json)
{
	char *out = NULL;
	size_t len = 0;
	ipam_err err = {0};
	ipam_cidr c = C(cidr);
	if (ipam_history_query(db, scope, &c, from, to, json, &out, &len, &err))
		fail_msg("history_query %s: %s", cidr, err.msg);
	assert_int_equal(strlen(out), len);
	return out;
}

/* Number of records (lines after the header of the text form). */
static inline int hist_count(ipam *db, int64_t scope, const char *cidr,
			     int64_t from, int64_t to)
{
	char *rows = hist(db, scope, cidr, from, to, false);
	int n = -1;
	for (const char *p = rows; *p; p++)
		n += *p == '\n';
	free(rows);
	return n;
}

static inline void assert_text(const char *got, const char *want)
{
	if (strcmp(got, want))
		fail_msg("got:\n%s\nexpected:\n%s", got, want);
}

/* Owns and frees `got`. */
static inline void assert_text_free(char *got, const char *want)
{
	if (strcmp(got, want)) {
		fprintf(stderr, "got:\n%s\nexpected:\n%s\n", got, want);
		free(got);
		fail_msg("text differs");
	}
	free(got);
}

/* ---- discoveries ---- */

static inline int feed(ipam *db, const char *disco, const char *snapshot,
		       ipam_err *err)
{
	return ipam_discovery_feed(db, disco, snapshot, strlen(snapshot), err);
}

static inline void feed_ok(ipam *db, const char *disco, const char *snapshot)
{
	ipam_err err = {0};
	if (feed(db, disco, snapshot, &err))
		fail_msg("feed %s: %s", disco, err.msg);
}

/* The ids of a scope's resources, one per line (static buffer). */
static inline const char *res_ids(ipam *db, int64_t scope)
{
	static char out[8192];
	ipam_strlist list = {0};
	ipam_err err = {0};
	size_t used = 0;
	if (ipam_resource_list(db, scope, &list, &err))
		fail_msg("resource_list: %s", err.msg);
	out[0] = '\0';
	for (size_t i = 0; i < list.count; i++)
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s\n",
					 list.items[i]);
	ipam_strlist_free(&list);
	return out;
}

#endif /* IPAM_TEST_WATCH_FIXTURE_H */
