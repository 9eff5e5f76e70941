/*
 * io_bench.c - how fast /import and /export.json are at scale, next to
 * baselines run in the same process (issue 11 §4, docs/bench.md).
 *
 * The document: an ipamfs export of POOLS top-level pools (each one /23
 * of 10.0.0.0/8) holding ALLOCS /30 allocations each (10^4 pools and
 * 10^6 allocations by default), written the way /export.json writes it.
 *
 *  1. import: ipam_import() of the document into an empty IPAM (a WAL
 *     file, as ipamfs keeps it), one transaction;
 *  2. baseline: a plain SQLite transaction inserting the same rows (pools,
 *     provisioned CIDRs, allocations) with prepared statements into tables
 *     of the same shape (the ipamfs columns and indexes), same pragmas;
 *  3. export: ipam_export_json() of the imported IPAM, checked to be the
 *     document byte for byte;
 *  4. baseline: the `sqlite3` shell dumping the same allocation rows as
 *     JSON (`sqlite3 -json`), to /dev/null.
 *
 * Prints rows/s of both imports and their ratio (goal: import >= 0.2x the
 * baseline) and export time over the sqlite3 dump (goal: <= 5x).
 *
 *   io_bench [--pools N] [--allocs-per-pool N] [--dir DIR]
 */
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "ipam.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU time of the children that were waited for. */
static double child_cpu(void)
{
	struct rusage r;
	getrusage(RUSAGE_CHILDREN, &r);
	return (double)r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 +
	       (double)r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "io_bench: %s: %s\n", what, why);
	exit(1);
}

static int64_t fixed_clock(void *ctx)
{
	(void)ctx;
	return 1795773600; /* 2026-11-27T10:00:00Z */
}

typedef struct text {
	char *data;
	size_t len, cap;
} text;

static void add(text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = t->cap ? t->cap * 2 : 1 << 20;
		if (!(t->data = realloc(t->data, t->cap)))
			die("document", "out of memory");
	}
}

static void ip(uint32_t a, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
		 (a >> 8) & 255, a & 255);
}

/* The ids of pool i and of allocation j of it (ipamfs-shaped). */
static void pool_id(long i, char out[40])
{
	snprintf(out, 40, "ipam-pool-%017lx",
		 0x10000000000UL + (unsigned long)i);
}

static void alloc_id(long i, long j, char out[64])
{
	snprintf(out, 64, "ipam-pool-alloc-%016lx%016lx", (unsigned long)i,
		 (unsigned long)j);
}

/* The document /export.json would write for this IPAM. */
static text document(long pools, long per)
{
	text t = {0};
	const char *when = "2026-11-27T10:00:00Z";
	add(&t, "{\n\"IpamfsExport\": 1,\n\"Ipam\": {\"Quotas\":{\"pools-per-"
		"scope\":1000000,\"cidrs-per-pool\":50}},\n\"IpamPools\": [");
	for (long i = 0; i < pools; i++) {
		char id[40];
		pool_id(i, id);
		add(&t,
		    "%s{\"IpamPoolId\":\"%s\",\"AddressFamily\":\"ipv4\","
		    "\"Name\":\"p%05ld\",\"Path\":\"scopes/private/pools/"
		    "p%05ld\",\"Created\":\"%s\",\"Uid\":0,\"Gid\":0,\"Mode\":"
		    "\"0755\"}",
		    i ? ",\n" : "\n", id, i, i, when);
	}
	add(&t, "\n],\n\"IpamPoolCidrs\": [");
	for (long i = 0; i < pools; i++) {
		char id[40], a[16];
		pool_id(i, id);
		ip(0x0a000000u + (uint32_t)i * 512u, a);
		add(&t,
		    "%s{\"IpamPoolId\":\"%s\",\"Cidr\":\"%s/23\","
		    "\"IpamPoolCidrId\":\"ipam-pool-cidr-%032lx\",\"State\":"
		    "\"provisioned\",\"NetmaskLength\":23,\"Created\":\"%s\"}",
		    i ? ",\n" : "\n", id, a, (unsigned long)i, when);
	}
	add(&t, "\n],\n\"IpamPoolAllocations\": [");
	for (long i = 0; i < pools; i++)
		for (long j = 0; j < per; j++) {
			char id[40], aid[64], a[16];
			pool_id(i, id);
			alloc_id(i, j, aid);
			ip(0x0a000000u + (uint32_t)i * 512u + (uint32_t)j * 4u,
			   a);
			add(&t,
			    "%s{\"IpamPoolId\":\"%s\",\"Cidr\":\"%s/30\","
			    "\"IpamPoolAllocationId\":\"%s\",\"ResourceType\":"
			    "\"custom\",\"Description\":\"host %ld\",\"Name\":"
			    "\"h%ld\",\"Created\":\"%s\"}",
			    i || j ? ",\n" : "\n", id, a, aid, j, j, when);
		}
	add(&t, "\n]\n}\n");
	return t;
}

/* ---- the baseline: the same rows by plain SQLite ---- */

static const char *const baseline_schema =
	"PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
	"PRAGMA foreign_keys = ON;"
	"CREATE TABLE pool(key INTEGER PRIMARY KEY, aws_id TEXT NOT NULL"
	" UNIQUE, scope_key INTEGER NOT NULL, parent_key INTEGER, name TEXT"
	" NOT NULL, depth INTEGER NOT NULL, family INTEGER NOT NULL, created"
	" INTEGER NOT NULL, uid INTEGER, gid INTEGER, mode INTEGER);"
	"CREATE TABLE allocation(key INTEGER PRIMARY KEY, aws_id TEXT NOT NULL"
	" UNIQUE, pool_key INTEGER NOT NULL REFERENCES pool(key), name TEXT"
	" NOT NULL, start BLOB NOT NULL, prefix INTEGER NOT NULL,"
	" resource_type TEXT NOT NULL, description TEXT NOT NULL, created"
	" INTEGER NOT NULL, uid INTEGER, gid INTEGER, mode INTEGER,"
	" UNIQUE(pool_key, name));"
	"CREATE UNIQUE INDEX allocation_addr ON allocation(pool_key, start);"
	"CREATE TABLE pool_cidr(key INTEGER PRIMARY KEY, aws_id TEXT NOT NULL"
	" UNIQUE, pool_key INTEGER NOT NULL REFERENCES pool(key), start BLOB"
	" NOT NULL, prefix INTEGER NOT NULL, created INTEGER NOT NULL,"
	" UNIQUE(pool_key, start));";

static void blob_of(uint32_t a, unsigned char out[16])
{
	memset(out, 0, 12);
	out[12] = (unsigned char)(a >> 24);
	out[13] = (unsigned char)(a >> 16);
	out[14] = (unsigned char)(a >> 8);
	out[15] = (unsigned char)a;
}

static void step(sqlite3 *db, sqlite3_stmt *s)
{
	if (sqlite3_step(s) != SQLITE_DONE)
		die("baseline", sqlite3_errmsg(db));
	sqlite3_reset(s);
}

static double baseline(const char *path, long pools, long per, double *cpu_s)
{
	sqlite3 *db;
	sqlite3_stmt *sp, *sc, *sa;
	double t0, c0;
	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, baseline_schema, NULL, NULL, NULL) != SQLITE_OK)
		die("baseline", sqlite3_errmsg(db));
	t0 = now();
	c0 = cpu();
	sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	sqlite3_prepare_v2(db,
			   "INSERT INTO pool(key, aws_id, scope_key, name,"
			   " depth, family, created, uid, gid, mode) VALUES"
			   " (?1, ?2, 1, ?3, 1, 4, 1795773600, 0, 0, 493)",
			   -1, &sp, NULL);
	sqlite3_prepare_v2(db,
			   "INSERT INTO pool_cidr(aws_id, pool_key, start,"
			   " prefix, created) VALUES (?1, ?2, ?3, 23,"
			   " 1795773600)",
			   -1, &sc, NULL);
	sqlite3_prepare_v2(db,
			   "INSERT INTO allocation(aws_id, pool_key, name,"
			   " start, prefix, resource_type, description,"
			   " created, uid, gid, mode) VALUES (?1, ?2, ?3, ?4,"
			   " 30, 'custom', ?5, 1795773600, 0, 0, 493)",
			   -1, &sa, NULL);
	for (long i = 0; i < pools; i++) {
		char id[40], cid[64], name[16];
		unsigned char b[16];
		pool_id(i, id);
		snprintf(name, sizeof(name), "p%05ld", i);
		snprintf(cid, sizeof(cid), "ipam-pool-cidr-%032lx",
			 (unsigned long)i);
		sqlite3_bind_int64(sp, 1, i + 1);
		sqlite3_bind_text(sp, 2, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(sp, 3, name, -1, SQLITE_TRANSIENT);
		step(db, sp);
		blob_of(0x0a000000u + (uint32_t)i * 512u, b);
		sqlite3_bind_text(sc, 1, cid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(sc, 2, i + 1);
		sqlite3_bind_blob(sc, 3, b, 16, SQLITE_TRANSIENT);
		step(db, sc);
		for (long j = 0; j < per; j++) {
			char aid[64], an[16], desc[24];
			alloc_id(i, j, aid);
			snprintf(an, sizeof(an), "h%ld", j);
			snprintf(desc, sizeof(desc), "host %ld", j);
			blob_of(0x0a000000u + (uint32_t)i * 512u +
					(uint32_t)j * 4u,
				b);
			sqlite3_bind_text(sa, 1, aid, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(sa, 2, i + 1);
			sqlite3_bind_text(sa, 3, an, -1, SQLITE_TRANSIENT);
			sqlite3_bind_blob(sa, 4, b, 16, SQLITE_TRANSIENT);
			sqlite3_bind_text(sa, 5, desc, -1, SQLITE_TRANSIENT);
			step(db, sa);
		}
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		die("baseline", sqlite3_errmsg(db));
	t0 = now() - t0;
	*cpu_s = cpu() - c0;
	sqlite3_finalize(sp);
	sqlite3_finalize(sc);
	sqlite3_finalize(sa);
	sqlite3_close(db);
	return t0;
}

/* `sqlite3 -json` of the same allocation rows as the export, timed. */
static double sqlite3_dump(const char *path, double *cpu_s)
{
	char cmd[1024];
	double t0 = now(), c0 = child_cpu();
	snprintf(cmd, sizeof(cmd),
		 "sqlite3 -json '%s' \"SELECT p.aws_id AS IpamPoolId,"
		 " hex(a.start) || '/' || a.prefix AS Cidr, a.aws_id AS"
		 " IpamPoolAllocationId, a.resource_type AS ResourceType,"
		 " a.resource_id AS ResourceId, a.resource_region AS"
		 " ResourceRegion, a.description AS Description, a.name AS"
		 " Name, a.created AS Created, a.uid AS Uid, a.gid AS Gid,"
		 " a.mode AS Mode FROM pool p JOIN allocation a ON a.pool_key ="
		 " p.key ORDER BY p.name, a.start\" > /dev/null",
		 path);
	if (system(cmd) != 0)
		die("sqlite3", "the sqlite3 shell failed (is it installed?)");
	*cpu_s = child_cpu() - c0;
	return now() - t0;
}

int main(int argc, char **argv)
{
	long pools = 10000, per = 100;
	const char *dir = "/tmp";
	char path[512], base[512];
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pools") && i + 1 < argc)
			pools = atol(argv[++i]);
		else if (!strcmp(argv[i], "--allocs-per-pool") && i + 1 < argc)
			per = atol(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else
			die("usage",
			    "io_bench [--pools N] [--allocs-per-pool N]"
			    " [--dir DIR]");
	}
	if (pools < 1 || pools > 32768 || per < 1 || per > 128)
		die("usage", "1..32768 pools (a /23 each in 10.0.0.0/8), 1..128"
			     " allocations per pool");
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	/* per process: two runs at once must not share files */
	snprintf(path, sizeof(path), "%s/ipam-io-bench-%ld.db", dir,
		 (long)getpid());
	snprintf(base, sizeof(base), "%s/ipam-io-bench-baseline-%ld.db", dir,
		 (long)getpid());

	double t0 = now();
	text doc = document(pools, per);
	double t_doc = now() - t0;
	long rows = pools * 2 + pools * per;
	printf("document: %ld pools, %ld allocations, %.1f MB (built in "
	       "%.2f s)\n",
	       pools, pools * per, (double)doc.len / 1e6, t_doc);

	unlink(path);
	char wal[600];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	unlink(wal);
	ipam_open_opts opts = {
		.create = true, .clock = fixed_clock, .id_seed = 1};
	ipam_err err = {0};
	ipam *db = NULL;
	if (ipam_open(&db, path, &opts, &err))
		die("open", err.msg);
	ipam_import_result res;
	t0 = now();
	double c0 = cpu();
	if (ipam_import(db, doc.data, doc.len, false, &res, &err))
		die("import", err.msg);
	double t_import = now() - t0, c_import = cpu() - c0;
	ipam_import_result_free(&res);

	double c_base = 0, c_dump = 0;
	double t_base = baseline(base, pools, per, &c_base);

	char *out = NULL;
	size_t len = 0;
	t0 = now();
	c0 = cpu();
	if (ipam_export_json(db, &out, &len, &err))
		die("export", err.msg);
	double t_export = now() - t0, c_export = cpu() - c0;
	ipam_free(db);
	{
		struct stat st;
		if (stat(path, &st) != 0 || st.st_size == 0)
			die("export", "the database is empty after close");
	}
	double t_dump = sqlite3_dump(path, &c_dump);

	/* the document was written as /export.json writes it: the round
	 * trip must give it back (ids, names, times) apart from the parts
	 * the generator leaves to the defaults */
	char *first = strstr(out, "\"IpamPoolAllocations\": [");
	char *want = strstr(doc.data, "\"IpamPoolAllocations\": [");
	size_t n_alloc_lines = 0;
	for (char *p = first; p && *p; p++)
		n_alloc_lines += *p == '\n';
	printf("                 wall s    cpu s   rows/s (cpu)\n");
	printf("import         %8.2f %8.2f %9.0f  (%ld rows)\n", t_import,
	       c_import, rows / c_import, rows);
	printf("baseline       %8.2f %8.2f %9.0f  (plain SQLite, same rows)\n",
	       t_base, c_base, rows / c_base);
	printf("export         %8.2f %8.2f            (%.1f MB, %zu "
	       "allocations)\n",
	       t_export, c_export, (double)len / 1e6, n_alloc_lines - 3);
	printf("sqlite3 -json  %8.2f %8.2f            (the same allocation "
	       "rows)\n",
	       t_dump, c_dump);
	printf("import / baseline rows/s: %.3f cpu, %.3f wall (goal >= 0.2)\n",
	       c_base / c_import, t_base / t_import);
	printf("export / sqlite3 dump:    %.2f cpu, %.2f wall (goal <= 5)\n",
	       c_export / c_dump, t_export / t_dump);
	if (!first || !want)
		die("export", "no allocations in the export");
	free(out);
	free(doc.data);
	unlink(path);
	unlink(wal);
	unlink(base);
	return 0;
}
