/*
 * alloc_bench.c - how fast the core allocator is with many allocations in
 * one pool, next to a naive allocator run in the same process.
 *
 * One top-level pool holds 10.0.0.0/8. It is filled, inside one explicit
 * transaction (ipam_txn_begin/commit), up to 10^3, 10^4, 10^5 and 10^6
 * existing allocations of one size (/32 or /28); at each level a sample of
 * single-call allocations (each its own transaction, as a FUSE write
 * makes them) is timed, in batches of which the fastest counts. The
 * database is in memory or a WAL file in /tmp.
 *
 * The baseline is the allocator one writes first: to find the lowest free
 * block it scans all allocations of the pool in address order
 * (SELECT ... ORDER BY start) and takes the first aligned gap, over a
 * table of the same shape in the same SQLite library, with the same
 * storage (memory or a WAL file) and one transaction per allocation. Its
 * cost grows with the number of allocations, so at large sizes only a
 * small sample is timed (until SAMPLE requests or NAIVE_BUDGET seconds).
 *
 * Prints a table, the core's cost at 10^6 over its cost at 10^3 (the
 * design goal is <= 2) and the naive/core cost ratio at each size.
 *
 * With glibc's default trim threshold, every transaction moves the heap
 * top up and down with brk(2) (SQLite frees its per-transaction memory
 * at commit) and that syscall traffic, not the allocator, dominates the
 * time on a busy machine. The benchmark therefore keeps freed memory
 * (mallopt M_TRIM_THRESHOLD/M_TOP_PAD) for both allocators; --glibc-default
 * measures without that.
 *
 *   alloc_bench [--quick] [--sample N] [--dir DIR] [--glibc-default]
 *               [--storage memory|file] [--size 32|28]
 *   alloc_bench --durability [--sample N] [--dir DIR]
 *   --quick        10^3..10^5 only
 *   --durability   the cost of durability (issue 8): single-call /28
 *                  allocations per second into a file database with the
 *                  default synchronous=FULL (a commit is synced before the
 *                  call returns) and with sync_normal (ipamfs -o
 *                  sync=normal), alternating rounds, best round of each;
 *                  prints both and the ratio. DIR must be on the disk to
 *                  measure (not tmpfs, where a sync costs nothing).
 */
#include <errno.h>
#include <signal.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ipam.h"

#define POOL_FIRST 0x0a000000u /* 10.0.0.0 */
#define POOL_BITS 24	       /* a /8 */
#define NAIVE_BUDGET 1.5       /* seconds per naive sample at most */
#define NAIVE_MIN 5	       /* requests per naive sample at least */

static double now_wall(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double now_cpu(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "alloc_bench: %s: %s\n", what, why);
	exit(1);
}

static int64_t fixed_clock(void *ctx)
{
	(void)ctx;
	return 1795773600; /* 2026-11-27T10:00:00Z */
}

/* ---- the core ---- */

typedef struct core {
	ipam *db;
	int64_t pool;
	long existing;
	long serial;
} core;

static void core_open(core *c, const char *path)
{
	ipam_open_opts opts = {.create = true,
			       .clock = fixed_clock,
			       .id_seed = 42,
			       .in_memory = path == NULL};
	ipam_scope_info sc;
	ipam_cidr all;
	ipam_err err = {0};

	memset(c, 0, sizeof(*c));
	if (ipam_open(&c->db, path, &opts, &err) ||
	    ipam_scope_get(c->db, "private", &sc, &err) ||
	    ipam_pool_create(c->db, sc.key, 0, "bench", &c->pool, &err) ||
	    ipam_cidr_parse(&all, "10.0.0.0/8", &err) ||
	    ipam_pool_provision(c->db, c->pool, &all, &err))
		die("core setup", err.msg);
}

static void core_alloc(core *c, int prefix)
{
	char name[32];
	ipam_alloc_req req = {.name = name, .prefix_len = prefix};
	ipam_err err = {0};
	snprintf(name, sizeof(name), "a%ld", c->serial++);
	if (ipam_alloc_create(c->db, c->pool, &req, NULL, &err))
		die("core allocation", err.msg);
	c->existing++;
}

/* Up to `target` allocations, all in one transaction. */
static void core_fill(core *c, long target, int prefix)
{
	ipam_err err = {0};
	if (ipam_txn_begin(c->db, NULL, &err))
		die("core fill", err.msg);
	while (c->existing < target)
		core_alloc(c, prefix);
	if (ipam_txn_commit(c->db, &err))
		die("core fill", err.msg);
}

/* ---- the naive allocator ---- */

typedef struct naive {
	sqlite3 *db;
	sqlite3_stmt *scan, *insert;
	long existing;
	long serial;
} naive;

static void naive_exec(naive *n, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(n->db, sql, NULL, NULL, &msg) != SQLITE_OK)
		die(sql, msg ? msg : "?");
}

static void naive_open(naive *n, const char *path)
{
	memset(n, 0, sizeof(*n));
	if (sqlite3_open(path ? path : ":memory:", &n->db) != SQLITE_OK)
		die("naive open", sqlite3_errmsg(n->db));
	if (path)
		naive_exec(n, "PRAGMA journal_mode = WAL");
	naive_exec(n, "PRAGMA synchronous = NORMAL;"
		      "CREATE TABLE allocation("
		      "  key INTEGER PRIMARY KEY,"
		      "  aws_id TEXT NOT NULL UNIQUE,"
		      "  pool_key INTEGER NOT NULL,"
		      "  name TEXT NOT NULL,"
		      "  start BLOB NOT NULL,"
		      "  prefix INTEGER NOT NULL,"
		      "  resource_type TEXT NOT NULL,"
		      "  description TEXT NOT NULL DEFAULT '',"
		      "  created INTEGER NOT NULL,"
		      "  UNIQUE (pool_key, name));"
		      "CREATE UNIQUE INDEX allocation_addr"
		      "  ON allocation(pool_key, start);");
	if (sqlite3_prepare_v2(n->db,
			       "SELECT start, prefix FROM allocation"
			       " WHERE pool_key = 1 ORDER BY start",
			       -1, &n->scan, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(n->db,
			       "INSERT INTO allocation(aws_id, pool_key, name,"
			       " start, prefix, resource_type, created)"
			       " VALUES (?1, 1, ?2, ?3, ?4, 'custom', ?5)",
			       -1, &n->insert, NULL) != SQLITE_OK)
		die("naive prepare", sqlite3_errmsg(n->db));
}

static void naive_close(naive *n)
{
	sqlite3_finalize(n->scan);
	sqlite3_finalize(n->insert);
	sqlite3_close(n->db);
}

static void put_start(unsigned char blob[16], uint32_t addr)
{
	memset(blob, 0, 16);
	blob[12] = (unsigned char)(addr >> 24);
	blob[13] = (unsigned char)(addr >> 16);
	blob[14] = (unsigned char)(addr >> 8);
	blob[15] = (unsigned char)addr;
}

static uint32_t get_start(sqlite3_stmt *stmt)
{
	const unsigned char *b = sqlite3_column_blob(stmt, 0);
	return (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
	       (uint32_t)b[14] << 8 | b[15];
}

static void naive_insert(naive *n, uint32_t start, int prefix)
{
	char id[64], name[32];
	unsigned char blob[16];
	n->serial++;
	snprintf(id, sizeof(id), "ipam-pool-alloc-%032lx",
		 (unsigned long)n->serial * 0x9e3779b97f4a7c15UL);
	snprintf(name, sizeof(name), "a%ld", n->serial);
	put_start(blob, start);
	sqlite3_bind_text(n->insert, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(n->insert, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(n->insert, 3, blob, 16, SQLITE_TRANSIENT);
	sqlite3_bind_int(n->insert, 4, prefix);
	sqlite3_bind_int64(n->insert, 5, 1795773600);
	if (sqlite3_step(n->insert) != SQLITE_DONE)
		die("naive insert", sqlite3_errmsg(n->db));
	sqlite3_reset(n->insert);
	n->existing++;
}

/* The first aligned free block of `prefix`: scans every allocation of
 * the pool in address order. */
static uint32_t naive_find(naive *n, int prefix)
{
	uint64_t size = 1ull << (32 - prefix);
	uint64_t cursor = POOL_FIRST, end = POOL_FIRST + (1ull << POOL_BITS);
	uint64_t candidate = cursor;
	while (sqlite3_step(n->scan) == SQLITE_ROW) {
		uint64_t start = get_start(n->scan);
		uint64_t stop =
			start + (1ull << (32 - sqlite3_column_int(n->scan, 1)));
		candidate = (cursor + size - 1) & ~(size - 1);
		if (candidate + size <= start)
			break;
		if (stop > cursor)
			cursor = stop;
		candidate = (cursor + size - 1) & ~(size - 1);
	}
	sqlite3_reset(n->scan);
	if (candidate + size > end)
		die("naive allocation", "pool full");
	return (uint32_t)candidate;
}

static void naive_alloc(naive *n, int prefix)
{
	naive_exec(n, "BEGIN IMMEDIATE");
	naive_insert(n, naive_find(n, prefix), prefix);
	naive_exec(n, "COMMIT");
}

/* The same layout the core's first fit makes: contiguous from the start
 * of the pool. */
static void naive_fill(naive *n, long target, int prefix)
{
	naive_exec(n, "BEGIN IMMEDIATE");
	while (n->existing < target)
		naive_insert(n,
			     POOL_FIRST + (uint32_t)n->existing *
						  (1u << (32 - prefix)),
			     prefix);
	naive_exec(n, "COMMIT");
}

/* ---- measuring ---- */

typedef struct result {
	const char *storage;
	int prefix;
	long existing;
	long core_n, naive_n;
	double core_wall, core_cpu; /* seconds per allocation */
	double naive_wall, naive_cpu;
	double fill; /* seconds to fill both up to this level */
} result;

/*
 * The core's sample is timed in BATCHES batches and the fastest batch
 * counts: on a shared machine interference only ever adds time, so the
 * minimum is the estimate least disturbed by it (the naive samples are
 * too small to split and are averaged).
 */
#define BATCHES 4

static void measure(result *r, core *c, naive *n, int prefix, long sample)
{
	long batch = sample / BATCHES > 0 ? sample / BATCHES : 1;
	double w0, c0;
	long i;

	r->existing = c->existing;
	r->core_wall = r->core_cpu = 1e9;
	for (int b = 0; b < BATCHES; b++) {
		double wall, cpu;
		w0 = now_wall();
		c0 = now_cpu();
		for (i = 0; i < batch; i++)
			core_alloc(c, prefix);
		wall = (now_wall() - w0) / (double)batch;
		cpu = (now_cpu() - c0) / (double)batch;
		if (wall < r->core_wall)
			r->core_wall = wall;
		if (cpu < r->core_cpu)
			r->core_cpu = cpu;
	}
	r->core_n = batch * BATCHES;

	w0 = now_wall();
	c0 = now_cpu();
	for (i = 0; i < sample; i++) {
		naive_alloc(n, prefix);
		if (i + 1 >= NAIVE_MIN && now_wall() - w0 > NAIVE_BUDGET) {
			i++;
			break;
		}
	}
	r->naive_wall = (now_wall() - w0) / (double)i;
	r->naive_cpu = (now_cpu() - c0) / (double)i;
	r->naive_n = i;
}

/* Where the files are, so that an interrupted run removes them. */
static char dir[256], core_path[300], naive_path[300];
static char suffixed[6][310];

static void on_signal(int sig)
{
	/* unlink, rmdir and _exit are async-signal-safe */
	for (int i = 0; i < 6; i++)
		if (suffixed[i][0])
			unlink(suffixed[i]);
	rmdir(dir);
	_exit(128 + sig);
}

static void remove_on_signal(void)
{
	static const char *const ends[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(suffixed[i], sizeof(suffixed[i]), "%s%s", core_path,
			 ends[i]);
		snprintf(suffixed[3 + i], sizeof(suffixed[i]), "%s%s",
			 naive_path, ends[i]);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
}

static void remove_db(const char *path)
{
	char p[512];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static void print_row(const result *r)
{
	printf("%-7s /%-3d %9ld %11.0f %9.1f %9.1f %11.0f %10.1f %6ld %9.0f "
	       "%7.1f\n",
	       r->storage, r->prefix, r->existing, 1.0 / r->core_wall,
	       r->core_wall * 1e6, r->core_cpu * 1e6, 1.0 / r->naive_wall,
	       r->naive_wall * 1e6, r->naive_n, r->naive_wall / r->core_wall,
	       r->fill);
	fflush(stdout);
}

/* Single-call allocations per second (best of `rounds` rounds of
 * `sample`), into a fresh file database with or without sync_normal. */
static double durable_rate(const char *path, bool sync_normal, long sample,
			   int round)
{
	ipam_open_opts opts = {.create = true, .sync_normal = sync_normal};
	ipam_err err = {IPAM_OK, ""};
	ipam_alloc_req req = {NULL, NULL, 28, NULL};
	ipam_alloc_info info;
	ipam_cidr top;
	ipam *db = NULL;
	int64_t pool = 0;
	char name[32];
	double t0;

	remove_db(path);
	if (ipam_open(&db, path, &opts, &err) ||
	    ipam_pool_create(db, 1, 0, "bench", &pool, &err) ||
	    ipam_cidr_parse(&top, "10.0.0.0/8", &err) ||
	    ipam_pool_provision(db, pool, &top, &err))
		die("setup", err.msg);
	t0 = now_wall();
	for (long i = 0; i < sample; i++) {
		snprintf(name, sizeof(name), "r%d-%ld", round, i);
		req.name = name;
		if (ipam_alloc_create(db, pool, &req, &info, &err))
			die("allocate", err.msg);
	}
	double rate = (double)sample / (now_wall() - t0);
	ipam_free(db);
	remove_db(path);
	return rate;
}

/* --durability: FULL against NORMAL, side by side. */
static int durability(const char *base, long sample)
{
	double best[2] = {0, 0};
	char path[300];
	snprintf(dir, sizeof(dir), "%s/ipam-bench-XXXXXX", base);
	if (!mkdtemp(dir))
		die("mkdtemp", strerror(errno));
	snprintf(path, sizeof(path), "%s/durability.db", dir);
	for (int round = 0; round < 3; round++)
		for (int normal = 0; normal < 2; normal++) {
			double r = durable_rate(path, normal, sample, round);
			if (r > best[normal])
				best[normal] = r;
		}
	rmdir(dir);
	printf("single-call /28 allocations into a file database in %s "
	       "(%ld per round, best of 3):\n",
	       base, sample);
	printf("  %-34s %10.0f allocations/s\n", "synchronous=FULL (default)",
	       best[0]);
	printf("  %-34s %10.0f allocations/s\n",
	       "synchronous=NORMAL (-o sync=normal)", best[1]);
	printf("  cost of durability: NORMAL/FULL = %.1fx\n",
	       best[1] / best[0]);
	return 0;
}

int main(int argc, char **argv)
{
	static const long all_levels[] = {1000, 10000, 100000, 1000000};
	static const int prefixes[] = {32, 28};
	const char *base = "/tmp";
	long sample = 2000;
	int nlevels = 4;
	result results[2][2][4];
	double t_start = now_wall();
	bool tune_malloc = true;
	bool durable = false;
	const char *only_storage = NULL;
	int only_size = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			nlevels = 3;
		else if (!strcmp(argv[i], "--glibc-default"))
			tune_malloc = false;
		else if (!strcmp(argv[i], "--durability"))
			durable = true;
		else if (!strcmp(argv[i], "--storage") && i + 1 < argc)
			only_storage = argv[++i];
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			only_size = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--sample") && i + 1 < argc)
			sample = atol(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			base = argv[++i];
		else {
			fprintf(stderr,
				"usage: %s [--quick] [--sample N] "
				"[--dir DIR] [--glibc-default]\n"
				"       [--durability]\n"
				"       [--storage memory|file] "
				"[--size 32|28]\n",
				argv[0]);
			return 2;
		}
	}
	if (sample < NAIVE_MIN)
		sample = NAIVE_MIN;
	if (durable)
		return durability(base, sample);
	if (tune_malloc) {
		mallopt(M_TRIM_THRESHOLD, 256 << 20);
		mallopt(M_TOP_PAD, 16 << 20);
	}
	snprintf(dir, sizeof(dir), "%s/ipam-bench-XXXXXX", base);
	if (!mkdtemp(dir))
		die("mkdtemp", strerror(errno));
	snprintf(core_path, sizeof(core_path), "%s/core.db", dir);
	snprintf(naive_path, sizeof(naive_path), "%s/naive.db", dir);
	remove_on_signal();

	printf("core allocator: %ld single-call allocations timed at each "
	       "size, the fastest of %d batches counts\n"
	       "(naive: until %d or %.1f s, averaged)\n"
	       "pool 10.0.0.0/8, filled in one transaction; us = "
	       "microseconds per allocation (wall, and CPU for the core); "
	       "fill s = seconds to fill\n"
	       "both allocators up to the size (core: one transaction)\n"
	       "malloc: %s\n\n",
	       sample, BATCHES, (int)sample, NAIVE_BUDGET,
	       tune_malloc ? "freed memory kept (M_TRIM_THRESHOLD 256 MiB)"
			   : "glibc defaults");
	printf("%-7s %-4s %9s %11s %9s %9s %11s %10s %6s %9s %7s\n", "storage",
	       "size", "existing", "core/s", "core us", "core cpu", "naive/s",
	       "naive us", "naive#", "naive/core", "fill s");
	memset(results, 0, sizeof(results));
	for (int s = 0; s < 2; s++) {
		for (int p = 0; p < 2; p++) {
			bool file = s == 1;
			core c;
			naive n;
			if ((only_storage &&
			     strcmp(only_storage, file ? "file" : "memory")) ||
			    (only_size && only_size != prefixes[p]))
				continue;
			if (file) {
				remove_db(core_path);
				remove_db(naive_path);
			}
			core_open(&c, file ? core_path : NULL);
			naive_open(&n, file ? naive_path : NULL);
			for (int l = 0; l < nlevels; l++) {
				result *r = &results[s][p][l];
				double t0 = now_wall();
				core_fill(&c, all_levels[l], prefixes[p]);
				naive_fill(&n, all_levels[l], prefixes[p]);
				r->fill = now_wall() - t0;
				r->storage = file ? "file" : "memory";
				r->prefix = prefixes[p];
				measure(r, &c, &n, prefixes[p], sample);
				print_row(r);
			}
			ipam_free(c.db);
			naive_close(&n);
			if (file) {
				remove_db(core_path);
				remove_db(naive_path);
			}
		}
	}
	rmdir(dir);

	printf("\ncore cost at %ld over cost at %ld existing (goal <= 2):\n",
	       all_levels[nlevels - 1], all_levels[0]);
	for (int s = 0; s < 2; s++)
		for (int p = 0; p < 2; p++) {
			const result *lo = &results[s][p][0];
			const result *hi = &results[s][p][nlevels - 1];
			if (!lo->storage)
				continue;
			double wall = hi->core_wall / lo->core_wall;
			double cpu = hi->core_cpu / lo->core_cpu;
			printf("  %-6s /%d: %.2f (wall), %.2f (cpu)  %s\n",
			       lo->storage, lo->prefix, wall, cpu,
			       cpu <= 2.0 ? "ok" : "OVER");
		}
	printf("\nnaive/core cost ratio (wall):\n");
	for (int s = 0; s < 2; s++)
		for (int p = 0; p < 2; p++) {
			if (!results[s][p][0].storage)
				continue;
			printf("  %-6s /%d:", results[s][p][0].storage,
			       results[s][p][0].prefix);
			for (int l = 0; l < nlevels; l++)
				printf("  %ld: %.1fx",
				       results[s][p][l].existing,
				       results[s][p][l].naive_wall /
					       results[s][p][l].core_wall);
			printf("\n");
		}
	printf("\ntotal run time %.0f s\n", now_wall() - t_start);
	return 0;
}
