/*
 * fixture.h - what the unit tests of libipam share: a fixed clock and id
 * seed (so ids and times are reproducible), an in-memory IPAM per test,
 * short helpers to make pools, provision and allocate, and assertions
 * on an ipam_code together with the reason text.
 *
 * Header-only (static inline) so each test is one file in meson.build.
 */
#ifndef IPAM_TEST_FIXTURE_H
#define IPAM_TEST_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <malloc.h>

#include "ipam.h"

/*
 * Every test opens and frees many databases; with glibc's default trim
 * threshold each of them moves the heap top up and down with brk(2),
 * which costs more than the work itself on a busy machine. Keep the
 * memory instead. (No effect on what is tested.)
 */
__attribute__((constructor)) static void fixture_keep_heap(void)
{
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_TOP_PAD, 16 << 20);
}

/*
 * Under AddressSanitizer every run is several times slower; the loops
 * that open thousands of databases (model, out-of-memory, I/O) do fewer
 * steps (FIXTURE_SLOW), and ASan keeps a 16 MB quarantine of freed memory
 * instead of 256 MB (a use after free is still caught unless 16 MB were
 * freed in between) and records shorter allocation stacks. Options given
 * in ASAN_OPTIONS still win.
 */
#ifdef __SANITIZE_ADDRESS__
#define FIXTURE_SLOW 1
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=16:malloc_context_size=8";
}
#else
#define FIXTURE_SLOW 0
#endif

/* Whether the fixture's IPAMs are in PostgreSQL (IPAMFS_TEST_PG_URI,
 * tests/pg/withdb.sh): every statement is a round trip to a server there,
 * and the loops of many thousand changes take fewer steps. */
static inline bool fixture_on_pg(void)
{
	const char *pg = getenv("IPAMFS_TEST_PG_URI");
	return pg && *pg;
}

/*
 * The next N of a fault-injection loop: every one below `dense`, then
 * every `stride`-th, the residue chosen by `salt` (so that different loops
 * together cover different ones). The long tails repeat the same
 * statements; sampling them keeps the suite fast.
 */
static inline long fixture_next_n(long n, long dense, long stride,
				  unsigned long salt)
{
	if (n + 1 < dense || stride <= 1)
		return n + 1;
	n++;
	while ((unsigned long)n % (unsigned long)stride !=
	       salt % (unsigned long)stride)
		n++;
	return n;
}

/* 2026-11-27T10:00:00Z */
#define FIXTURE_TIME 1795773600LL
#define FIXTURE_SEED 0x5eedULL

static inline int64_t fixture_clock(void *ctx)
{
	return ctx ? *(const int64_t *)ctx : FIXTURE_TIME;
}

static inline ipam_open_opts fixture_opts(void)
{
	ipam_open_opts opts;
	memset(&opts, 0, sizeof(opts));
	opts.create = true;
	opts.clock = fixture_clock;
	opts.id_seed = FIXTURE_SEED;
	return opts;
}

#ifdef IPAMFS_TEST_PQ
#include <libpq-fe.h>
#include <time.h>

/*
 * PostgreSQL (IPAMFS_TEST_PG_URI, a postgresql:///NAME?… URI of an empty
 * database, given by tests/pg/withdb.sh): every IPAM is a database of its
 * own, NAME_N. Creating the schema takes most of a second, so a database
 * is made once per set of the options a new IPAM's rows depend on (seed,
 * home locale, the clock at creation), a copy of its rows kept in schema
 * fixture_snap, and reused by later opens when no handle holds it any
 * more (no backend on it): fixture_snap.reset() puts the rows and the
 * sequences back as they were after creation (a few milliseconds; CREATE
 * DATABASE … TEMPLATE takes longer than the schema). withdb.sh drops the
 * databases at the end.
 */
#define FIXTURE_PG_APP "ipamfs-fixture"
#define FIXTURE_PG_MAX 64

static const char fixture_pg_snapshot[] =
	"CREATE SCHEMA fixture_snap;"
	"DO $$ DECLARE t text; BEGIN"
	"  FOR t IN SELECT tablename FROM pg_tables"
	"      WHERE schemaname = 'public' LOOP"
	"    EXECUTE format('CREATE TABLE fixture_snap.%I AS"
	"      SELECT * FROM public.%I', t, t);"
	"  END LOOP; END $$;"
	"CREATE TABLE fixture_snap.fixture_seqs AS SELECT sequencename,"
	"  last_value FROM pg_sequences WHERE schemaname = 'public';"
	"CREATE FUNCTION fixture_snap.reset() RETURNS void LANGUAGE plpgsql"
	" AS $$ DECLARE t text; q record; BEGIN"
	"  SET LOCAL session_replication_role = replica;"
	"  FOR t IN SELECT tablename FROM pg_tables"
	"      WHERE schemaname = 'public' LOOP"
	"    EXECUTE format('DELETE FROM public.%I', t);"
	"    IF to_regclass(format('fixture_snap.%I', t)) IS NOT NULL THEN"
	"      EXECUTE format('INSERT INTO public.%I"
	"        SELECT * FROM fixture_snap.%I', t, t);"
	"    END IF;"
	"  END LOOP;"
	"  FOR q IN SELECT * FROM fixture_snap.fixture_seqs LOOP"
	"    PERFORM setval(format('public.%I', q.sequencename),"
	"      coalesce(q.last_value, 1), q.last_value IS NOT NULL);"
	"  END LOOP; END $$;";

struct fixture_pg {
	PGconn *admin;
	char base[64];  /* NAME */
	char host[512]; /* everything after NAME (the query) */
	int ndb;
	struct {
		char name[80];
		PGconn *conn; /* ours, to reset it */
		uint64_t seed;
		int64_t clock;
		char locale[64];
	} db[FIXTURE_PG_MAX];
};

static inline PGconn *fixture_pg_connect(struct fixture_pg *pg,
					 const char *name)
{
	char info[1024];
	snprintf(info, sizeof(info),
		 "postgresql:///%.100s%.512s&application_name=" FIXTURE_PG_APP,
		 name, pg->host);
	PGconn *c = PQconnectdb(info);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("%s: %s", info, PQerrorMessage(c));
	PQsetNoticeProcessor(c, NULL, NULL);
	return c;
}

static inline struct fixture_pg *fixture_pg(const char *uri)
{
	static struct fixture_pg pg;
	if (pg.admin)
		return &pg;
	const char *p = strstr(uri, ":///");
	const char *q = p ? strchr(p + 4, '?') : NULL;
	if (!p || !q || (size_t)(q - p - 4) >= sizeof(pg.base))
		fail_msg("IPAMFS_TEST_PG_URI %s: not postgresql:///NAME?…", uri);
	snprintf(pg.base, sizeof(pg.base), "%.*s", (int)(q - p - 4), p + 4);
	snprintf(pg.host, sizeof(pg.host), "%s", q);
	pg.admin = fixture_pg_connect(&pg, pg.base);
	return &pg;
}

static inline void fixture_pg_sql(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%.200s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

/* The index of a database of options k that no handle holds, or -1. */
static inline int fixture_pg_free(struct fixture_pg *pg, uint64_t seed,
				  int64_t clock, const char *locale)
{
	PGresult *r = PQexec(pg->admin,
			     "SELECT DISTINCT datname FROM pg_stat_activity"
			     " WHERE datname IS NOT NULL AND application_name"
			     " <> '" FIXTURE_PG_APP "'");
	int found = -1;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("pg_stat_activity: %s", PQerrorMessage(pg->admin));
	for (int i = 0; found < 0 && i < pg->ndb; i++) {
		bool held = false;
		if (pg->db[i].seed != seed || pg->db[i].clock != clock ||
		    strcmp(pg->db[i].locale, locale))
			continue;
		for (int k = 0; !held && k < PQntuples(r); k++)
			held = !strcmp(PQgetvalue(r, k, 0), pg->db[i].name);
		if (!held)
			found = i;
	}
	PQclear(r);
	return found;
}

static inline ipam *fixture_open_pg(const char *uri, ipam_open_opts opts)
{
	struct fixture_pg *pg = fixture_pg(uri);
	char sql[256], db_uri[1024];
	ipam_err err = {0};
	ipam *db = NULL;
	int64_t clock = opts.clock ? opts.clock(opts.clock_ctx) : 0;
	const char *locale = opts.home_locale ? opts.home_locale : "";
	int i = -1;

	if (!opts.create || strlen(locale) >= sizeof(pg->db[0].locale))
		fail_msg("fixture_open on PostgreSQL: create, locale < 64");
	/* a handle just freed leaves its backend a moment longer: wait a
	 * little for one before making another database */
	for (int tries = 0; i < 0 && tries < 20; tries++) {
		i = fixture_pg_free(pg, opts.id_seed, clock, locale);
		if (i < 0) {
			bool any = false;
			for (int k = 0; !any && k < pg->ndb; k++)
				any = pg->db[k].seed == opts.id_seed &&
				      pg->db[k].clock == clock &&
				      !strcmp(pg->db[k].locale, locale);
			if (!any)
				break;
			nanosleep(&(struct timespec){0, 10000000}, NULL);
		}
	}
	if (i >= 0) {
		fixture_pg_sql(pg->db[i].conn, "SELECT fixture_snap.reset()");
	} else {
		if (pg->ndb == FIXTURE_PG_MAX)
			fail_msg("more than %d PostgreSQL IPAMs at once",
				 FIXTURE_PG_MAX);
		i = pg->ndb++;
		snprintf(pg->db[i].name, sizeof(pg->db[i].name), "%.60s_%d",
			 pg->base, i);
		snprintf(sql, sizeof(sql), "CREATE DATABASE %.79s",
			 pg->db[i].name);
		fixture_pg_sql(pg->admin, sql);
		snprintf(db_uri, sizeof(db_uri), "postgresql:///%.100s%.512s",
			 pg->db[i].name, pg->host);
		if (ipam_open(&db, db_uri, &opts, &err) != 0)
			fail_msg("ipam_open(%s): %s", db_uri, err.msg);
		ipam_free(db);
		pg->db[i].conn = fixture_pg_connect(pg, pg->db[i].name);
		fixture_pg_sql(pg->db[i].conn, fixture_pg_snapshot);
		pg->db[i].seed = opts.id_seed;
		pg->db[i].clock = clock;
		snprintf(pg->db[i].locale, sizeof(pg->db[i].locale), "%s",
			 locale);
	}
	snprintf(db_uri, sizeof(db_uri), "postgresql:///%.100s%.512s",
		 pg->db[i].name, pg->host);
	if (ipam_open(&db, db_uri, &opts, &err) != 0)
		fail_msg("ipam_open(%s): %s", db_uri, err.msg);
	return db;
}
#endif

/*
 * A fresh in-memory IPAM with the fixed clock and seed. With
 * IPAMFS_TEST_PG_URI set (tests/pg/withdb.sh), a fresh IPAM in a
 * PostgreSQL database of its own instead (above).
 */
static inline ipam *fixture_open(ipam_open_opts opts)
{
	ipam_err err = {0};
	ipam *db = NULL;
	const char *pg = getenv("IPAMFS_TEST_PG_URI");
	if (pg && *pg) {
#ifdef IPAMFS_TEST_PQ
		return fixture_open_pg(pg, opts);
#else
		fail_msg("IPAMFS_TEST_PG_URI: built without libpq");
#endif
	}
	opts.in_memory = true;
	if (ipam_open(&db, NULL, &opts, &err) != 0)
		fail_msg("ipam_open(in_memory): %s", err.msg);
	return db;
}

static inline ipam *open_mem(void)
{
	return fixture_open(fixture_opts());
}

/* rc must be `code`, the err must carry the same code and its reason must
 * contain `needle` (NULL: any reason). */
#define assert_code(rc, e, want, needle)                                       \
	do {                                                                   \
		int rc_ = (rc);                                                \
		const char *needle_ = (needle);                                \
		if (rc_ != (want))                                             \
			fail_msg("got %s (%s), expected %s",                   \
				 ipam_code_name(rc_), (e).msg,                 \
				 ipam_code_name(want));                        \
		assert_int_equal((e).code, (want));                            \
		if (needle_ && !strstr((e).msg, needle_))                      \
			fail_msg("reason '%s' lacks '%s'", (e).msg, needle_);  \
		memset(&(e), 0, sizeof(e));                                    \
	} while (0)

#define assert_ok(rc, e)                                                       \
	do {                                                                   \
		int rc_ = (rc);                                                \
		if (rc_ != 0)                                                  \
			fail_msg("got %s: %s", ipam_code_name(rc_), (e).msg);  \
	} while (0)

static inline ipam_cidr C(const char *text)
{
	ipam_cidr c;
	ipam_err err = {0};
	if (ipam_cidr_parse(&c, text, &err) != 0)
		fail_msg("bad CIDR in test: %s: %s", text, err.msg);
	return c;
}

/* Canonical text of a CIDR in one of a few rotating static buffers. */
static inline const char *S(const ipam_cidr *c)
{
	static char ring[8][IPAM_CIDR_STRLEN];
	static unsigned next;
	char *out = ring[next++ % 8];
	ipam_cidr_format(c, out);
	return out;
}

static inline const char *U(ipam_u128 v)
{
	static char ring[8][IPAM_U128_STRLEN];
	static unsigned next;
	char *out = ring[next++ % 8];
	ipam_u128_format(v, out);
	return out;
}

static inline int64_t scope_key(ipam *db, const char *name)
{
	ipam_scope_info sc;
	ipam_err err = {0};
	if (ipam_scope_get(db, name, &sc, &err))
		fail_msg("scope %s: %s", name, err.msg);
	return sc.key;
}

static inline int64_t mkpool(ipam *db, int64_t scope, int64_t parent,
			     const char *name)
{
	ipam_err err = {0};
	int64_t key = 0;
	if (ipam_pool_create(db, scope, parent, name, &key, &err))
		fail_msg("pool_create %s: %s", name, err.msg);
	return key;
}

/* A top-level private IPv4 pool. */
static inline int64_t mktop(ipam *db, const char *name)
{
	return mkpool(db, scope_key(db, "private"), 0, name);
}

static inline int prov(ipam *db, int64_t pool, const char *cidr, ipam_err *err)
{
	ipam_cidr c = C(cidr);
	return ipam_pool_provision(db, pool, &c, err);
}

static inline void prov_ok(ipam *db, int64_t pool, const char *cidr)
{
	ipam_err err = {0};
	if (prov(db, pool, cidr, &err))
		fail_msg("provision %s: %s", cidr, err.msg);
}

static inline int deprov(ipam *db, int64_t pool, const char *cidr,
			 ipam_err *err)
{
	ipam_cidr c = C(cidr);
	return ipam_pool_deprovision(db, pool, &c, err);
}

/* By size (len) when cidr is NULL, else that CIDR. The CIDR it got is
 * written to got (may be NULL). */
static inline int alloc(ipam *db, int64_t pool, const char *name, int len,
			const char *cidr, char *got, ipam_err *err)
{
	ipam_alloc_req req;
	ipam_alloc_info info;
	ipam_cidr c;
	int rc;
	memset(&req, 0, sizeof(req));
	req.name = name;
	req.prefix_len = len;
	if (cidr) {
		c = C(cidr);
		req.cidr = &c;
	}
	rc = ipam_alloc_create(db, pool, &req, &info, err);
	if (got)
		snprintf(got, IPAM_CIDR_STRLEN, "%s", rc ? "" : S(&info.cidr));
	return rc;
}

/* Allocates by size and returns the CIDR text (static ring buffer). */
static inline const char *alloc_ok(ipam *db, int64_t pool, const char *name,
				   int len)
{
	static char ring[8][IPAM_CIDR_STRLEN];
	static unsigned next;
	char *out = ring[next++ % 8];
	ipam_err err = {0};
	if (alloc(db, pool, name, len, NULL, out, &err))
		fail_msg("allocate %s /%d: %s", name ? name : "(anon)", len,
			 err.msg);
	return out;
}

static inline void alloc_cidr_ok(ipam *db, int64_t pool, const char *name,
				 const char *cidr)
{
	ipam_err err = {0};
	char got[IPAM_CIDR_STRLEN];
	if (alloc(db, pool, name, -1, cidr, got, &err))
		fail_msg("allocate %s %s: %s", name ? name : "(anon)", cidr,
			 err.msg);
	assert_string_equal(got, cidr);
}

static inline ipam_pool_usage usage(ipam *db, int64_t pool)
{
	ipam_pool_usage u;
	ipam_err err = {0};
	if (ipam_pool_usage_get(db, pool, &u, &err))
		fail_msg("usage: %s", err.msg);
	return u;
}

static inline const char *pool_id(ipam *db, int64_t pool)
{
	static char ring[4][IPAM_ID_MAX];
	static unsigned next;
	char *out = ring[next++ % 4];
	ipam_pool_info p;
	ipam_err err = {0};
	if (ipam_pool_get(db, pool, &p, &err))
		fail_msg("pool_get: %s", err.msg);
	snprintf(out, IPAM_ID_MAX, "%s", p.id);
	return out;
}

/* Renders one view; the caller frees. */
enum view {
	VIEW_STATUS,
	VIEW_STATUS_JSON,
	VIEW_ALLOCATIONS,
	VIEW_CIDRS,
	VIEW_MAP,
	VIEW_POOL,
};

static inline char *render(ipam *db, int64_t pool, enum view v)
{
	char *out = NULL;
	size_t len = 0;
	ipam_err err = {0};
	int rc = IPAM_EINVAL;
	switch (v) {
	case VIEW_STATUS:
		rc = ipam_render_pool_status(db, pool, false, &out, &len, &err);
		break;
	case VIEW_STATUS_JSON:
		rc = ipam_render_pool_status(db, pool, true, &out, &len, &err);
		break;
	case VIEW_ALLOCATIONS:
		rc = ipam_render_pool_allocations_json(db, pool, &out, &len,
						       &err);
		break;
	case VIEW_CIDRS:
		rc = ipam_render_pool_cidrs_json(db, pool, &out, &len, &err);
		break;
	case VIEW_MAP:
		rc = ipam_render_pool_map(db, pool, &out, &len, &err);
		break;
	case VIEW_POOL:
		rc = ipam_render_pool_json(db, pool, &out, &len, &err);
		break;
	}
	if (rc)
		fail_msg("render %d: %s", (int)v, err.msg);
	assert_int_equal(strlen(out), len);
	return out;
}

/* The value of `key=` in a status text, copied into a static buffer. */
static inline const char *status_value(const char *status, const char *key)
{
	static char value[128];
	size_t klen = strlen(key);
	const char *line = status;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		if (n > klen && !strncmp(line, key, klen) &&
		    line[klen] == '=') {
			snprintf(value, sizeof(value), "%.*s",
				 (int)(n - klen - 1), line + klen + 1);
			return value;
		}
		line = nl ? nl + 1 : NULL;
	}
	fail_msg("no %s in status:\n%s", key, status);
	return NULL;
}

/* Compares a status text with the expected lines ("key=value"), in
 * order, and nothing more. */
static inline void assert_status(const char *status, const char *const *want,
				 size_t n)
{
	const char *line = status;
	for (size_t i = 0; i < n; i++) {
		const char *nl = strchr(line, '\n');
		if (!nl)
			fail_msg("status ends before line %zu '%s':\n%s", i,
				 want[i], status);
		if ((size_t)(nl - line) != strlen(want[i]) ||
		    strncmp(line, want[i], strlen(want[i])))
			fail_msg("status line %zu is '%.*s', expected '%s'", i,
				 (int)(nl - line), line, want[i]);
		line = nl + 1;
	}
	if (*line)
		fail_msg("status has extra lines: %s", line);
}

/* Fails unless `hay` contains `needle`. */
static inline void assert_contains(const char *hay, const char *needle)
{
	if (!hay)
		fail_msg("no text to find '%s' in", needle);
	else if (!strstr(hay, needle))
		fail_msg("'%s' not found in:\n%s", needle, hay);
}

/* ---- temporary files ---- */

#include <dirent.h>
#include <unistd.h>

/* A new empty directory under /tmp, written to dir (size >= 64). */
/*
 * A fresh directory for database files: on tmpfs (/dev/shm) when there is
 * one. Databases sync every commit (synchronous=FULL); on a disk that
 * costs milliseconds per commit and says nothing the tests check
 * (test_powerloss.c simulates what a sync makes durable).
 */
static inline void tmp_dir(char *dir)
{
	strcpy(dir, "/dev/shm/ipam-unit-XXXXXX");
	if (mkdtemp(dir))
		return;
	strcpy(dir, "/tmp/ipam-unit-XXXXXX");
	if (!mkdtemp(dir))
		fail_msg("mkdtemp failed");
}

/* Removes the directory and the files in it (no subdirectories). */
static inline void tmp_dir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* The whole file in a malloc'd buffer (NULL when absent). */
static inline unsigned char *file_bytes(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = NULL;
	size_t cap = 0, n = 0, got;
	*len = 0;
	if (!f)
		return NULL;
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			data = realloc(data, cap);
			assert_non_null(data);
		}
		got = fread(data + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	*len = n;
	return data;
}

static inline void write_bytes(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static inline bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Opens (create) a file IPAM with the fixture clock and seed. */
static inline ipam *open_file(const char *path, bool create)
{
	ipam_open_opts opts = fixture_opts();
	ipam_err err = {0};
	ipam *db = NULL;
	opts.create = create;
	if (ipam_open(&db, path, &opts, &err) != 0)
		fail_msg("ipam_open(%s): %s", path, err.msg);
	return db;
}

/* ---- a digest of everything a user can see ---- */

typedef struct text {
	char *data;
	size_t len;
} text;

static inline void text_add(text *t, const char *s)
{
	size_t n = strlen(s);
	t->data = realloc(t->data, t->len + n + 1);
	assert_non_null(t->data);
	memcpy(t->data + t->len, s, n + 1);
	t->len += n;
}

static inline void text_addf(text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void text_addf(text *t, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	text_add(t, buf);
}

static inline void text_add_owned(text *t, char *s)
{
	text_add(t, s);
	free(s);
}

static inline void text_tags(ipam *db, text *t, const char *id)
{
	ipam_strlist keys = {0};
	ipam_err err = {0};
	if (ipam_tag_list(db, id, &keys, &err))
		fail_msg("tag_list %s: %s", id, err.msg);
	for (size_t i = 0; i < keys.count; i++) {
		char *value = NULL;
		if (ipam_tag_get(db, id, keys.items[i], &value, &err))
			fail_msg("tag_get: %s", err.msg);
		text_addf(t, "tag %s %s=%s\n", id, keys.items[i], value);
		free(value);
	}
	ipam_strlist_free(&keys);
}

/*
 * Everything the IPAM shows about itself and about the given pools, as
 * one text: the IPAM, scopes, quotas, locales, every id, each pool's
 * JSON, status, CIDRs, allocations (with compliance), map and tags, and
 * the whole change log. Two equal digests mean a user cannot tell the
 * states apart. The caller frees.
 *
 * digest_light() leaves out the JSON views that are rendered from the
 * same rows as the text ones (for loops that take thousands of digests).
 */
static inline char *digest_of(ipam *db, const int64_t *pools, size_t npools,
			      bool full)
{
	text t = {0};
	char *out;
	size_t len;
	ipam_err err = {0};
	ipam_strlist list = {0};

	text_add(&t, "");
	if (full) {
		if (ipam_render_ipam_json(db, &out, &len, &err))
			fail_msg("ipam json: %s", err.msg);
		text_add_owned(&t, out);
		if (ipam_render_scopes_json(db, &out, &len, &err))
			fail_msg("scopes json: %s", err.msg);
		text_add_owned(&t, out);
		for (int q = 0; q < IPAM_QUOTA_COUNT; q++) {
			int64_t v = 0;
			if (ipam_quota_get(db, (ipam_quota)q, &v, &err))
				fail_msg("quota: %s", err.msg);
			text_addf(&t, "quota %s=%lld\n",
				  ipam_quota_name((ipam_quota)q), (long long)v);
		}
		if (ipam_locales_get(db, &list, &err))
			fail_msg("locales: %s", err.msg);
		for (size_t i = 0; i < list.count; i++)
			text_addf(&t, "locale %s\n", list.items[i]);
		ipam_strlist_free(&list);
	}
	if (ipam_id_list(db, &list, &err))
		fail_msg("ids: %s", err.msg);
	for (size_t i = 0; i < list.count; i++)
		text_addf(&t, "id %s\n", list.items[i]);
	ipam_strlist_free(&list);
	for (size_t p = 0; p < npools; p++) {
		ipam_pool_info info;
		if (ipam_pool_get(db, pools[p], &info, &err)) {
			text_addf(&t, "pool %lld: %s\n", (long long)pools[p],
				  ipam_code_name(err.code));
			err.code = 0;
			continue;
		}
		text_addf(&t,
			  "pool %s %s family=%d locked=%d locale=%s "
			  "rules=%d/%d/%d strategy=%d\n",
			  info.id, info.name, info.family, info.family_locked,
			  info.locale, info.min_netmask, info.max_netmask,
			  info.default_netmask, (int)info.strategy);
		if (full) {
			text_add_owned(&t, render(db, pools[p], VIEW_POOL));
			text_add_owned(&t,
				       render(db, pools[p], VIEW_STATUS_JSON));
			text_add_owned(&t, render(db, pools[p], VIEW_CIDRS));
			text_add_owned(&t,
				       render(db, pools[p], VIEW_ALLOCATIONS));
		}
		text_add_owned(&t, render(db, pools[p], VIEW_STATUS));
		text_add_owned(&t, render(db, pools[p], VIEW_MAP));
		text_tags(db, &t, info.id);
		if (ipam_alloc_list(db, pools[p], &list, &err))
			fail_msg("alloc_list: %s", err.msg);
		for (size_t i = 0; i < list.count; i++) {
			ipam_alloc_info a;
			if (ipam_alloc_get(db, pools[p], list.items[i], &a,
					   &err))
				fail_msg("alloc_get: %s", err.msg);
			text_addf(&t,
				  "alloc %s %s %s %s %d '%s' uid=%u t=%lld\n",
				  a.name, a.id, S(&a.cidr), a.resource_type,
				  a.compliant, a.compliance_reason, a.owner_uid,
				  (long long)a.created);
			if (full)
				text_tags(db, &t, a.id);
		}
		ipam_strlist_free(&list);
	}
	if (ipam_events_render(db, 0, &out, &len, &err))
		fail_msg("events: %s", err.msg);
	text_add_owned(&t, out);
	text_addf(&t, "last-event %lld\n", (long long)ipam_events_last(db));
	return t.data;
}

static inline char *digest(ipam *db, const int64_t *pools, size_t npools)
{
	return digest_of(db, pools, npools, true);
}

static inline char *digest_light(ipam *db, const int64_t *pools, size_t npools)
{
	return digest_of(db, pools, npools, false);
}

#endif /* IPAM_TEST_FIXTURE_H */
