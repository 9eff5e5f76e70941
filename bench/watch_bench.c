/*
 * watch_bench.c - what keeping resource statuses and history up to date
 * costs in a large scope, next to baselines run in the same process.
 *
 * A private scope is filled through one discovery snapshot (JSON lines)
 * with 100 000 VPC CIDRs: 99 000 VPCs with their own /24 from 10.0.0.0 up,
 * and 1 000 more that repeat the /24 of every 99th of them (2 000
 * overlapping CIDRs). The database is a WAL file in /tmp (or --dir).
 *
 *  (a) the complete snapshot again with 1 % changed - 500 VPCs gone, 500
 *      new ones (half of them on an existing /24) - applied with
 *      ipam_discovery_feed, and how much of that is reading the text
 *      (the same snapshot, and its first quarter and half, made to fail
 *      on a bad last line: refused after every line was parsed, before
 *      any change); and, for the same 1 000 changes as single API
 *      calls (ipam_resource_create + ipam_resource_cidr_add, then
 *      ipam_resource_delete; one transaction each, as FUSE writes make
 *      them), the cost per change;
 *  (b) baseline: the overlap status of every resource CIDR of the scope
 *      computed from scratch - all rows of resource_cidr/resource (and the
 *      custom allocations) read over a second SQLite connection to the
 *      same file, sorted, one sweep - and compared with the statuses the
 *      core keeps (they must agree: the bench also checks the core);
 *  (c) ipam_history_query for one CIDR (exact match over the history
 *      index) next to a scan of all history rows for the same CIDR
 *      (SELECT ... FROM history NOT INDEXED).
 *
 * The handle keeps its file locked (locking_mode EXCLUSIVE), so the
 * baselines read the file while the handle is closed. Prints CPU times
 * and the ratios baseline / core; exits 1 when the recomputed overlap
 * statuses disagree with the core's.
 *
 *   watch_bench [--dir DIR] [--count N]
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ipam.h"

#define BASE 0x0a000000u /* 10.0.0.0 */
#define DUP_EVERY 99	 /* every 99th VPC has a twin */

static int64_t bench_clock_now = 1795773600; /* 2026-11-27T10:00:00Z */

static int64_t bench_clock(void *ctx)
{
	return *(const int64_t *)ctx;
}

/* Process CPU time: everything here runs in this one thread (SQLite
 * included), and the figures should not depend on what else the machine
 * is doing. */
static double now_cpu(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "watch_bench: %s: %s\n", what, why);
	exit(1);
}

/* ---- the snapshots ---- */

typedef struct buf {
	char *data;
	size_t len, cap;
} buf;

static void buf_printf(buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void buf_printf(buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (b->cap - b->len < 512) {
		b->cap = b->cap ? b->cap * 2 : 1 << 20;
		b->data = realloc(b->data, b->cap);
		if (!b->data)
			die("snapshot", "out of memory");
	}
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void cidr_of(uint32_t index, char out[32])
{
	uint32_t a = BASE + index * 256u;
	snprintf(out, 32, "%u.%u.%u.0/24", a >> 24, (a >> 16) & 0xff,
		 (a >> 8) & 0xff);
}

static void line(buf *b, const char *id, uint32_t index)
{
	char cidr[32];
	cidr_of(index, cidr);
	buf_printf(b,
		   "{\"ResourceId\":\"%s\",\"ResourceType\":\"vpc\","
		   "\"ResourceCidr\":\"%s\",\"ResourceRegion\":\"us-east-1\","
		   "\"ResourceOwnerId\":\"111122223333\"}\n",
		   id, cidr);
}

/* Is regular VPC i one of those the changed snapshot drops? */
static bool dropped(uint32_t i, uint32_t regular, uint32_t changes)
{
	uint32_t step = regular / (changes / 2);
	return i % step == 7 && i / step < changes / 2;
}

/*
 * The snapshot: `regular` VPCs vpc-<i> on /24 number i, regular/99 twins
 * vpc-dup-<j> on the /24 of vpc-<99 j>; changed: `changes`/2 of the
 * regular ones left out and `changes`/2 new vpc-new-<k>, even k on fresh
 * space, odd k on an existing /24.
 */
static buf snapshot(uint32_t regular, uint32_t changes, bool changed)
{
	buf b = {0};
	char id[32];
	for (uint32_t i = 0; i < regular; i++) {
		if (changed && dropped(i, regular, changes))
			continue;
		snprintf(id, sizeof(id), "vpc-%06u", i);
		line(&b, id, i);
	}
	for (uint32_t j = 0; j * DUP_EVERY < regular; j++) {
		snprintf(id, sizeof(id), "vpc-dup-%05u", j);
		line(&b, id, j * DUP_EVERY);
	}
	for (uint32_t k = 0; changed && k < changes / 2; k++) {
		snprintf(id, sizeof(id), "vpc-new-%05u", k);
		line(&b, id, k % 2 ? k * 37 + 1 : regular + k);
	}
	return b;
}

/* ---- (b) the baseline: overlap of every resource CIDR from scratch ---- */

typedef struct item {
	ipam_u128 start, end;
	int family;
	int kind;    /* index into kinds[], or -1 for a custom allocation */
	bool stored; /* the status the core keeps: overlapping? */
	bool overlapping; /* recomputed */
} item;

static const char *const kinds[] = {"vpc", "eip", "public-ipv4-pool"};

static ipam_u128 blob_addr(sqlite3_stmt *stmt, int col)
{
	const unsigned char *b = sqlite3_column_blob(stmt, col);
	ipam_u128 v = 0;
	for (int i = 0; b && i < 16; i++)
		v = (v << 8) | b[i];
	return v;
}

static ipam_u128 last_of(ipam_u128 start, int family, int prefix)
{
	int width = family == 6 ? 128 : 32;
	if (width - prefix >= 128)
		return ~(ipam_u128)0;
	return start + (((ipam_u128)1 << (width - prefix)) - 1);
}

/* One sorted run (one kind plus the custom allocations): an interval
 * overlaps an earlier one iff the largest earlier end reaches its start,
 * a later one iff the next start lies within it. */
static void sweep(item **run, size_t n)
{
	ipam_u128 max_end = 0;
	int family = 0;
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		item *it = run[i];
		if (it->family != family) {
			family = it->family;
			any = false;
		}
		if (any && max_end >= it->start)
			it->overlapping = true;
		if (i + 1 < n && run[i + 1]->family == it->family &&
		    run[i + 1]->start <= it->end)
			it->overlapping = true;
		if (!any || it->end > max_end)
			max_end = it->end;
		any = true;
	}
}

static int run_order(const void *pa, const void *pb)
{
	const item *a = *(item *const *)pa, *b = *(item *const *)pb;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return 0;
}

typedef struct recompute {
	size_t cidrs, overlapping, mismatches;
} recompute;

static recompute full_recompute(sqlite3 *sql, int64_t scope)
{
	static const char *const rows_sql =
		"SELECT r.type, rc.family, rc.start, rc.prefix, rc.overlap"
		" FROM resource_cidr rc JOIN resource r ON r.key ="
		" rc.resource_key WHERE r.scope_key = ?1 AND r.ignored = 0"
		" AND r.type IN ('vpc', 'eip', 'public-ipv4-pool')";
	static const char *const custom_sql =
		"SELECT p.family, a.start, a.prefix FROM allocation a JOIN pool"
		" p ON p.key = a.pool_key WHERE p.scope_key = ?1 AND"
		" a.resource_type = 'custom'";
	recompute out = {0};
	sqlite3_stmt *stmt;
	item *items = NULL, **run;
	size_t n = 0, cap = 0, ncustom = 0;

	for (int pass = 0; pass < 2; pass++) {
		if (sqlite3_prepare_v2(sql, pass ? custom_sql : rows_sql, -1,
				       &stmt, NULL))
			die("baseline", sqlite3_errmsg(sql));
		sqlite3_bind_int64(stmt, 1, scope);
		while (sqlite3_step(stmt) == SQLITE_ROW) {
			item *it;
			int col = pass ? 0 : 1;
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				items = realloc(items, cap * sizeof(*items));
				if (!items)
					die("baseline", "out of memory");
			}
			it = &items[n++];
			memset(it, 0, sizeof(*it));
			it->family = sqlite3_column_int(stmt, col);
			it->start = blob_addr(stmt, col + 1);
			it->end = last_of(it->start, it->family,
					  sqlite3_column_int(stmt, col + 2));
			if (pass) {
				it->kind = -1;
				ncustom++;
				continue;
			}
			it->kind = 0;
			for (int k = 0; k < 3; k++)
				if (!strcmp((const char *)sqlite3_column_text(
						    stmt, 0),
					    kinds[k]))
					it->kind = k;
			it->stored = !strcmp(
				(const char *)sqlite3_column_text(stmt, 4),
				"overlapping");
		}
		sqlite3_finalize(stmt);
	}
	run = malloc((n ? n : 1) * sizeof(*run));
	if (!run)
		die("baseline", "out of memory");
	for (int k = 0; k < 3; k++) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (items[i].kind == k || items[i].kind < 0)
				run[m++] = &items[i];
		qsort(run, m, sizeof(*run), run_order);
		sweep(run, m);
	}
	for (size_t i = 0; i < n; i++) {
		if (items[i].kind < 0)
			continue;
		out.cidrs++;
		out.overlapping += items[i].overlapping;
		out.mismatches += items[i].overlapping != items[i].stored;
	}
	free(run);
	free(items);
	(void)ncustom;
	return out;
}

/* ---- (c) history ---- */

static size_t history_scan(sqlite3 *sql, int64_t scope, const char *cidr_text)
{
	ipam_cidr c;
	unsigned char blob[16];
	ipam_u128 a;
	sqlite3_stmt *stmt;
	size_t rows = 0;
	if (ipam_cidr_parse(&c, cidr_text, NULL))
		die("history", "bad CIDR");
	a = c.addr;
	for (int i = 15; i >= 0; i--, a >>= 8)
		blob[i] = (unsigned char)(a & 0xff);
	if (sqlite3_prepare_v2(
		    sql,
		    "SELECT resource_id, resource_type, resource_name, owner,"
		    " region, vpc_id, compliance, overlap, start_time, end_time"
		    " FROM history NOT INDEXED WHERE scope_key = ?1 AND"
		    " family = ?2 AND start = ?3 AND prefix = ?4"
		    " ORDER BY start_time, key",
		    -1, &stmt, NULL))
		die("history scan", sqlite3_errmsg(sql));
	sqlite3_bind_int64(stmt, 1, scope);
	sqlite3_bind_int(stmt, 2, c.family);
	sqlite3_bind_blob(stmt, 3, blob, 16, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 4, c.prefix);
	while (sqlite3_step(stmt) == SQLITE_ROW)
		rows++;
	sqlite3_finalize(stmt);
	return rows;
}

static int64_t count_of(sqlite3 *sql, const char *query)
{
	sqlite3_stmt *stmt;
	int64_t n = -1;
	if (sqlite3_prepare_v2(sql, query, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return n;
}

/* ---- main ---- */

static sqlite3 *open_sql(const char *path)
{
	sqlite3 *sql = NULL;
	if (sqlite3_open_v2(path, &sql, SQLITE_OPEN_READONLY, NULL))
		die("sqlite3_open", sqlite3_errmsg(sql));
	return sql;
}

static void feed_or_die(ipam *db, const char *name, const buf *b)
{
	ipam_err err = {0};
	if (ipam_discovery_feed(db, name, b->data, b->len, &err))
		die("feed", err.msg);
}

int main(int argc, char **argv)
{
	const char *dir = "/tmp";
	uint32_t total = 100000, regular, changes;
	char path[512], side[600], cidr[32], id[32];
	ipam_open_opts opts;
	ipam_err err = {0};
	ipam *db = NULL;
	sqlite3 *sql = NULL;
	buf first, second;
	int64_t scope;
	double t0, t_first, t_apply, t_parse, t_parse_part[3], t_api, t_base,
		t_query, t_scan;
	recompute before, after;
	size_t hist_rows = 0, scan_rows = 0, parse_lines[3];
	ipam_scope_info sc;
	int reps_query = 2000, reps_scan = 20;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			total = (uint32_t)strtoul(argv[++i], NULL, 10);
		else {
			fprintf(stderr,
				"usage: watch_bench [--dir DIR] [--count N]\n");
			return 2;
		}
	}
	/* total = regular + regular / 99 (rounded up) */
	regular = (uint32_t)((uint64_t)total * DUP_EVERY / (DUP_EVERY + 1));
	changes = total / 100;
	snprintf(path, sizeof(path), "%s/ipam-watch-bench.db", dir);
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);

	memset(&opts, 0, sizeof(opts));
	opts.create = true;
	opts.home_locale = "us-east-1";
	opts.clock = bench_clock;
	opts.clock_ctx = &bench_clock_now;
	opts.id_seed = 0xbe7c4;
	if (ipam_open(&db, path, &opts, &err))
		die("open", err.msg);
	if (ipam_scope_get(db, "private", &sc, &err))
		die("scope", err.msg);
	scope = sc.key;
	if (ipam_discovery_create(db, "aws", &err))
		die("discovery", err.msg);

	first = snapshot(regular, changes, false);
	second = snapshot(regular, changes, true);
	printf("watch_bench: %s\n", path);

	t0 = now_cpu();
	feed_or_die(db, "aws", &first);
	t_first = now_cpu() - t0;
	/* The handle keeps the file locked (locking_mode EXCLUSIVE): the
	 * baselines read it while the handle is closed. */
	ipam_free(db);
	db = NULL;
	sql = open_sql(path);
	printf("scope: %lld resource CIDRs, %lld overlapping; first snapshot "
	       "(%zu bytes): %.3f s\n",
	       (long long)count_of(sql, "SELECT count(*) FROM resource_cidr"),
	       (long long)count_of(sql, "SELECT count(*) FROM resource_cidr"
					" WHERE overlap = 'overlapping'"),
	       first.len, t_first);
	/* (b) on the state before the change */
	t0 = now_cpu();
	before = full_recompute(sql, scope);
	t_base = now_cpu() - t0;
	sqlite3_close(sql);

	/* (a) the 1 % snapshot */
	opts.create = false;
	if (ipam_open(&db, path, &opts, &err))
		die("reopen", err.msg);
	bench_clock_now += 3600;
	t0 = now_cpu();
	feed_or_die(db, "aws", &second);
	t_apply = now_cpu() - t0;
	/* How much of that is reading the snapshot: the same text with a bad
	 * last line is refused after every line was parsed, before any
	 * change. Also for its first quarter and half, to show how reading
	 * grows with the number of records. */
	for (int part = 4; part >= 1; part /= 2) {
		buf bad = {0};
		ipam_err why = {0};
		size_t lines = 0, cut = 0, want;
		for (size_t i = 0; i < second.len; i++)
			lines += second.data[i] == '\n';
		want = lines / (size_t)part;
		for (lines = 0; cut < second.len && lines < want; cut++)
			lines += second.data[cut] == '\n';
		bad.data = malloc(cut + 64);
		if (!bad.data)
			die("snapshot", "out of memory");
		memcpy(bad.data, second.data, cut);
		bad.len = cut;
		bad.len += (size_t)sprintf(bad.data + bad.len,
					   "{\"ResourceId\":\"vpc-bad\"}\n");
		t0 = now_cpu();
		if (ipam_discovery_feed(db, "aws", bad.data, bad.len, &why) !=
		    IPAM_EINVAL)
			die("parse only", "the bad snapshot was not refused");
		t_parse_part[part == 4	 ? 0
			     : part == 2 ? 1
					 : 2] = now_cpu() - t0;
		parse_lines[part == 4 ? 0 : part == 2 ? 1 : 2] = want;
		free(bad.data);
	}
	t_parse = t_parse_part[2];

	/* (a') the same number of changes as single API calls */
	bench_clock_now += 3600;
	t0 = now_cpu();
	for (uint32_t k = 0; k < changes / 2; k++) {
		int64_t key = 0;
		ipam_cidr c;
		snprintf(id, sizeof(id), "vpc-api-%05u", k);
		cidr_of(k % 2 ? k * 53 + 3 : regular + changes + k, cidr);
		if (ipam_resource_create(db, scope, id, NULL, &key, &err) ||
		    ipam_cidr_parse(&c, cidr, &err) ||
		    ipam_resource_cidr_add(db, key, &c, &err))
			die("api add", err.msg);
	}
	for (uint32_t k = 0; k < changes / 2; k++) {
		int64_t key = 0;
		snprintf(id, sizeof(id), "vpc-api-%05u", k);
		if (ipam_resource_lookup(db, scope, id, &key, &err) ||
		    ipam_resource_delete(db, key, &err))
			die("api delete", err.msg);
	}
	t_api = now_cpu() - t0;

	/* (c) one CIDR's history: vpc-000198's /24 (its twin vpc-dup-00002
	 * too, and the statuses they went through). */
	cidr_of(2 * DUP_EVERY, cidr);
	t0 = now_cpu();
	for (int r = 0; r < reps_query; r++) {
		ipam_cidr c;
		char *out = NULL;
		size_t len = 0;
		if (ipam_cidr_parse(&c, cidr, &err) ||
		    ipam_history_query(db, scope, &c, 0, INT64_MAX, false, &out,
				       &len, &err))
			die("history query", err.msg);
		hist_rows = 0;
		for (size_t i = 0; i < len; i++)
			hist_rows += out[i] == '\n';
		hist_rows--; /* the header */
		free(out);
	}
	t_query = (now_cpu() - t0) / reps_query;
	ipam_free(db);

	sql = open_sql(path);
	after = full_recompute(sql, scope);
	t0 = now_cpu();
	for (int r = 0; r < reps_scan; r++)
		scan_rows = history_scan(sql, scope, cidr);
	t_scan = (now_cpu() - t0) / reps_scan;

	printf("\n(a) snapshot with 1%% changed (%u gone, %u new, %zu "
	       "bytes): %.3f s\n",
	       changes / 2, changes / 2, second.len, t_apply);
	printf("    reading it alone (the same text refused by a bad last "
	       "line): %.3f s = %.0f %% of the apply\n",
	       t_parse, 100 * t_parse / t_apply);
	printf("    reading the first %zu / %zu / %zu lines: %.3f / %.3f / "
	       "%.3f s\n",
	       parse_lines[0], parse_lines[1], parse_lines[2], t_parse_part[0],
	       t_parse_part[1], t_parse_part[2]);
	printf("(a') the same %u changes as single API calls: %.3f s, "
	       "%.1f us per change\n",
	       changes, t_api, t_api / changes * 1e6);
	printf("(b) baseline full overlap recompute of %zu CIDRs: %.3f s "
	       "(%zu overlapping, %zu disagree with the core)\n",
	       before.cidrs, t_base, before.overlapping, before.mismatches);
	printf("    after the snapshot: %zu CIDRs, %zu overlapping, %zu "
	       "disagree with the core\n",
	       after.cidrs, after.overlapping, after.mismatches);
	printf("    ratio full recompute / snapshot apply: %.4f (the snapshot "
	       "costs %.0fx the full recompute)\n",
	       t_base / t_apply, t_apply / t_base);
	printf("    ratio full recompute / one API change: %.0f\n",
	       t_base / (t_api / changes));
	printf("(c) history of %s (%zu records, %lld rows in history): "
	       "query %.1f us, full scan %.1f us (%zu rows), ratio %.0f\n",
	       cidr, hist_rows,
	       (long long)count_of(sql, "SELECT count(*) FROM history"),
	       t_query * 1e6, t_scan * 1e6, scan_rows, t_scan / t_query);

	sqlite3_close(sql);
	free(first.data);
	free(second.data);
	return before.mismatches || after.mismatches ? 1 : 0;
}
