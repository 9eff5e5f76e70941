/*
 * test_errlog.c - the /errors rings of the FUSE layer (fs/errlog.c): one
 * ring of the last ERRLOG_LINES lines per uid, so one user's flood never
 * erases another's lines; a reader sees its own uid's lines, root every
 * uid's merged in the order they were added; past ERRLOG_UIDS uids the
 * non-root uid with the oldest newest line gives its ring up; bytes that
 * are not UTF-8 and control characters are shown safely.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errlog.h"
#include "ipam.h"

/* The number of lines of what `reader` sees that contain `needle`. */
static size_t count(struct errlog *log, uid_t reader, const char *needle)
{
	struct buf out = BUF_INIT;
	size_t n = 0;
	errlog_render(log, reader, &out);
	for (char *p = out.data; p && (p = strstr(p, needle)); p++)
		n++;
	buf_free(&out);
	return n;
}

static char *view(struct errlog *log, uid_t reader)
{
	struct buf out = BUF_INIT;
	errlog_render(log, reader, &out);
	char *s = strdup(out.data ? out.data : "");
	buf_free(&out);
	return s;
}

static void test_rings_per_uid(void **state)
{
	struct errlog log;
	(void)state;
	errlog_init(&log);
	errlog_add(&log, 0, 1, 0, "write", "/ipam/tier", EINVAL, "root-1");
	for (int i = 0; i < 3 * ERRLOG_LINES; i++)
		errlog_add(&log, 0, 2, 1000, "write", "/a", EINVAL, "flood");
	errlog_add(&log, 0, 1, 0, "write", "/ipam/tier", EINVAL, "root-2");
	assert_int_equal(count(&log, 0, "root-"), 2);
	assert_int_equal(count(&log, 0, "flood"), ERRLOG_LINES);
	assert_int_equal(count(&log, 1000, "flood"), ERRLOG_LINES);
	assert_int_equal(count(&log, 1000, "root-"), 0);
	assert_int_equal(count(&log, 2000, "\n"), 0);
	/* root's view is in the order the lines were added */
	char *s = view(&log, 0);
	char *r1 = strstr(s, "root-1"), *f = strstr(s, "flood");
	char *r2 = strstr(s, "root-2");
	assert_true(r1 && f && r2 && r1 < f && f < r2);
	assert_null(strstr(r2, "flood"));
	free(s);
	errlog_free(&log);
}

static void test_rings_evicted_oldest(void **state)
{
	struct errlog log;
	char reason[32];
	(void)state;
	errlog_init(&log);
	errlog_add(&log, 0, 1, 0, "write", "/x", EINVAL, "root");
	for (uid_t u = 1; u <= ERRLOG_UIDS + 5; u++) {
		snprintf(reason, sizeof(reason), "user-%u;", (unsigned)u);
		errlog_add(&log, 0, 1, u, "write", "/x", EINVAL, reason);
	}
	/* root's ring stays; the oldest users gave theirs up */
	assert_int_equal(count(&log, 0, "root"), 1);
	assert_int_equal(count(&log, 1, "user-1;"), 0);
	assert_int_equal(count(&log, 6, "user-6;"), 0);
	assert_int_equal(count(&log, 7, "user-7;"), 1);
	assert_int_equal(count(&log, ERRLOG_UIDS + 5, "user-"), 1);
	assert_int_equal(count(&log, 0, "user-"), ERRLOG_UIDS - 1);
	errlog_free(&log);
}

static void test_line_is_safe_text(void **state)
{
	struct errlog log;
	(void)state;
	errlog_init(&log);
	errlog_add(&log, 0, 7, 5, "mkdir", "/scopes/x\xff\ny", EINVAL,
		   "bad \xc3 name\r");
	char *s = view(&log, 5);
	assert_string_equal(s, "1970-01-01T00:00:00Z pid=7 uid=5 mkdir "
			       "scopes/x\xef\xbf\xbd?y EINVAL: bad "
			       "\xef\xbf\xbd name?\n");
	free(s);
	errlog_free(&log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rings_per_uid),
		cmocka_unit_test(test_rings_evicted_oldest),
		cmocka_unit_test(test_line_is_safe_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
