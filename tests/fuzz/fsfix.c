/*
 * fsfix.c - a mount without FUSE for the fuzz harnesses (see fsfix.h).
 *
 * The fs/ layer is linked without lowlevel.c and main.c: this file gives
 * it the two functions lowlevel.c would (ipamfs_get, ipamfs_caller) and
 * calls the ops_* functions the FUSE loop calls, with paths, so a fuzz
 * input reaches the resolver, the file tables and every control-file
 * parser exactly as a process writing to the mount would.
 *
 * Fuzz input: records separated by the byte 0x1e (ASCII RS). A record is
 * a command line "OP PATH" and, after its '\n', the data:
 *   w  write the data in one write(2)      r  read the file
 *   l  list the directory, stat each entry s  stat
 *   m  mkdir                               d  rmdir
 *   u  unlink                              n  rename PATH to the data
 *   c  chmod to the octal data             t  create (a tag), then write
 *   k  readlink                            W  write the data line by line
 * Unknown ops are ignored. At most 64 records run per input.
 */
#include <sqlite3.h>

#include "fsfix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "sqlite.h"
#include "ops.h"
#include "tree.h"

struct ipamfs fsfix;
/* root, pid 1; no FUSE request (access.c then asks for no groups) */
static struct ipamfs_caller fix_caller = {0, 0, 1, NULL};
static bool fix_ready;
/* The database holding the fixture, serialized once: each reset restores
 * it (sqlite3_deserialize) instead of building the fixture again, which
 * makes the harnesses that change the IPAM about ten times faster. */
static unsigned char *fix_image;
static sqlite3_int64 fix_image_len;
static int64_t fix_last_event;

/* 2026-11-27T10:00:00Z, fixed: runs are reproducible. */
static int64_t fix_clock(void *ctx)
{
	(void)ctx;
	return 1795773600LL;
}

struct ipamfs *ipamfs_get(void)
{
	return &fsfix;
}

const struct ipamfs_caller *ipamfs_caller(void)
{
	return &fix_caller;
}

int fsfix_write(const char *path, const char *data, size_t len)
{
	struct fuse_file_info fi;
	memset(&fi, 0, sizeof(fi));
	fi.flags = O_WRONLY | O_TRUNC;
	int rc = ops_open(path, &fi);
	if (rc)
		return rc;
	int wr = ops_write(data, len, 0, &fi);
	rc = ops_flush(&fi);
	ops_release(&fi);
	return wr < 0 ? wr : rc;
}

int fsfix_read(const char *path)
{
	struct fuse_file_info fi;
	char chunk[4096];
	off_t off = 0;
	int n;
	memset(&fi, 0, sizeof(fi));
	fi.flags = O_RDONLY;
	int rc = ops_open(path, &fi);
	if (rc)
		return rc;
	while ((n = ops_read(chunk, sizeof(chunk), off, &fi)) > 0)
		off += n;
	ops_release(&fi);
	return n < 0 ? n : 0;
}

struct list_ctx {
	const char *dir;
	int count;
};

/* Stats each listed entry as `ls -l` would (the first 200). */
static void list_entry(void *ctx, const char *name)
{
	struct list_ctx *l = ctx;
	char path[4096];
	struct stat st;
	if (l->count++ >= 200)
		return;
	snprintf(path, sizeof(path), "%s/%s", strcmp(l->dir, "/") ? l->dir : "",
		 name);
	ops_stat(path, NULL, &st, NULL);
}

int fsfix_list(const char *path)
{
	struct node n;
	ipam_err err = {IPAM_OK, ""};
	int rc = ops_resolve(&fsfix, NULL, path, &n);
	if (rc)
		return rc;
	if (!node_is_dir(&n))
		return -ENOTDIR;
	struct list_ctx l = {path, 0};
	return tree_list(&fsfix, &n, list_entry, &l, &err) ? -EIO : 0;
}

/* open(O_CREAT) then one write, as `echo V > tags/NEW` does. */
static int create_write(const char *path, const char *data, size_t len)
{
	struct fuse_file_info fi;
	memset(&fi, 0, sizeof(fi));
	fi.flags = O_WRONLY | O_CREAT;
	int rc = ops_create(path, 0644, &fi);
	if (rc)
		return rc;
	int wr = ops_write(data, len, 0, &fi);
	rc = ops_flush(&fi);
	ops_release(&fi);
	return wr < 0 ? wr : rc;
}

static void must(int rc, const char *what)
{
	if (rc < 0) {
		struct buf log = BUF_INIT;
		errlog_render(&fsfix.errlog, 0, &log);
		fprintf(stderr, "fsfix: fixture step failed: %s: %s\n%.*s",
			what, strerror(-rc), (int)log.len,
			log.data ? log.data : "");
		abort();
	}
}

#define P "/scopes/private/pools/top"
#define R "/scopes/private/resources/vpc-0a1b2c3d4e5f60001"

/* The state every input starts from: an advanced IPAM with two operating
 * locales, a pool with a child and allocations, an IPv6 pool, a resource
 * with a CIDR, a discovery fed once. */
static void fixture(void)
{
	static const struct {
		char op; /* m: mkdir, w: write */
		const char *path, *data;
	} steps[] = {
		{'w', "/ipam/tier", "advanced\n"},
		{'w', "/ipam/operating-locales", "us-east-1\nus-west-2\n"},
		{'m', P, NULL},
		{'w', P "/locale", "us-east-1\n"},
		{'w', P "/cidrs", "10.0.0.0/8\n"},
		{'w', P "/allocation-default-netmask-length", "24\n"},
		{'m', P "/pools/kid", NULL},
		{'w', P "/pools/kid/cidrs", "10.1.0.0/16\n"},
		{'w', P "/pools/kid/allocate", "web /26 description=web\n"},
		{'m', P "/allocations/db", NULL},
		{'t', P "/tags/team", "net\n"},
		{'w', P "/auto-import", "true\n"},
		{'m', "/scopes/private/pools/six", NULL},
		{'w', "/scopes/private/pools/six/address-family", "ipv6\n"},
		{'w', "/scopes/private/pools/six/cidrs", "fd01:1::/48\n"},
		{'m', "/scopes/lab", NULL},
		{'m', R, NULL},
		{'w', R "/cidrs", "10.2.0.0/16\n"},
		{'t', R "/tags/env", "prod\n"},
		{'w', "/discoveries/default/feed",
		 "{\"ResourceId\":\"subnet-0123456789abcdef0\","
		 "\"ResourceType\":\"subnet\",\"ResourceCidr\":\"10.0.3.0/24\","
		 "\"ResourceRegion\":\"us-east-1\",\"VpcId\":\"vpc-1\"}\n"},
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].op == 'm')
			must(ops_mkdir(steps[i].path, 0755), steps[i].path);
		else if (steps[i].op == 't')
			must(create_write(steps[i].path, steps[i].data,
					  strlen(steps[i].data)),
			     steps[i].path);
		else
			must(fsfix_write(steps[i].path, steps[i].data,
					 strlen(steps[i].data)),
			     steps[i].path);
	}
}

/* Empty caches and /errors for the next input. */
static void fresh_state(void)
{
	if (fix_ready) {
		watch_free(&fsfix.watch);
		pathcache_free(&fsfix.paths);
		cache_free(&fsfix.cache);
		errlog_free(&fsfix.errlog);
	}
	errlog_init(&fsfix.errlog);
	cache_init(&fsfix.cache);
	pathcache_init(&fsfix.paths);
	watch_init(&fsfix.watch, 0);
	atomic_store(&fsfix.clock, IPAMFS_CLOCK_SYSTEM);
	/* generation only grows: nothing cached can be taken for current */
	atomic_fetch_add(&fsfix.generation, 1);
}

/* Puts the fixture's database image back into the open handle. */
static void restore(void)
{
	ipam *db = fsfix.db;
	struct sqlite3 *sql = ipam__sqlite_handle(db->store);
	unsigned char *copy = sqlite3_malloc64((sqlite3_uint64)fix_image_len);
	if (!copy)
		abort();
	memcpy(copy, fix_image, (size_t)fix_image_len);
	/* no statement may hold a read transaction across the swap */
	for (sqlite3_stmt *st = sqlite3_next_stmt(sql, NULL); st;
	     st = sqlite3_next_stmt(sql, st))
		sqlite3_reset(st);
	if (sqlite3_deserialize(
		    sql, "main", copy, fix_image_len, fix_image_len,
		    SQLITE_DESERIALIZE_FREEONCLOSE |
			    SQLITE_DESERIALIZE_RESIZEABLE) != SQLITE_OK) {
		fprintf(stderr, "fsfix: deserialize: %s\n",
			sqlite3_errmsg(sql));
		abort();
	}
	db->last_event = fix_last_event;
	watch_changed(&fsfix.watch, fix_last_event);
}

void fsfix_reset(void)
{
	ipam_open_opts opts;
	ipam_err err = {IPAM_OK, ""};

	fresh_state();
	if (fix_image) {
		restore();
		return;
	}
	fsfix.db_path = "/fuzz/ipam.db";
	fsfix.feed_budget = IPAMFS_FEED_BUDGET; /* main.c's default */
	atomic_init(&fsfix.feed_held, 0);
	memset(&opts, 0, sizeof(opts));
	opts.create = true;
	opts.in_memory = true;
	opts.clock = fix_clock;
	opts.id_seed = 0x5eed;
	opts.home_locale = "us-east-1";
	if (ipam_open(&fsfix.db, NULL, &opts, &err) != 0) {
		fprintf(stderr, "fsfix: ipam_open: %s\n", err.msg);
		abort();
	}
	fsfix.mount_time = ipam_now(fsfix.db);
	ipam_set_change_hook(fsfix.db, watch_changed, &fsfix.watch);
	fix_ready = true;
	fixture();
	if (!getenv("FSFIX_NO_SNAPSHOT")) {
		fix_image = sqlite3_serialize(ipam__sqlite_handle(fsfix.db->store), "main",
					      &fix_image_len, 0);
		fix_last_event = fsfix.db->last_event;
		if (!fix_image)
			abort();
		restore(); /* every input, the first too, runs on a restore */
	}
}

/* Whether path is one the FUSE loop can pass to ops_*: absolute, and its
 * components (names the kernel looked up) neither empty nor "." or "..".
 * Anything else cannot come from the kernel; fuzzing it would only find
 * bugs of the harness. */
bool fsfix_kernel_path(const char *path)
{
	if (path[0] != '/')
		return false;
	if (path[1] == '\0')
		return true;
	for (const char *c = path + 1;;) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);
		if (n == 0 || n > 255 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!end)
			return true;
		c = end + 1;
	}
}

/* Runs one record: "OP PATH\nDATA". */
static void run_record(char *rec, size_t len)
{
	char *nl = memchr(rec, '\n', len);
	char *data = nl ? nl + 1 : rec + len;
	size_t dlen = nl ? len - (size_t)(data - rec) : 0;
	struct stat st;
	char link[4096];

	if (nl)
		*nl = '\0';
	if (len < 3 || rec[1] != ' ' || !fsfix_kernel_path(rec + 2))
		return;
	const char *path = rec + 2;
	switch (rec[0]) {
	case 'w':
		fsfix_write(path, data, dlen);
		break;
	case 'W': {
		size_t pos = 0;
		while (pos < dlen) {
			char *end = memchr(data + pos, '\n', dlen - pos);
			size_t n = end ? (size_t)(end - (data + pos)) + 1
				       : dlen - pos;
			fsfix_write(path, data + pos, n);
			pos += n;
		}
		break;
	}
	case 'r':
		fsfix_read(path);
		break;
	case 'l':
		fsfix_list(path);
		break;
	case 's':
		ops_stat(path, NULL, &st, NULL);
		break;
	case 'm':
		ops_mkdir(path, 0755);
		break;
	case 'd':
		ops_rmdir(path);
		break;
	case 'u':
		ops_unlink(path);
		break;
	case 'k':
		ops_readlink(path, link, sizeof(link));
		break;
	case 'n': {
		char *to = strndup(data, dlen);
		char *end = to ? strchr(to, '\n') : NULL;
		if (end)
			*end = '\0';
		if (to && fsfix_kernel_path(to) && strcmp(to, "/"))
			ops_rename(path, to, 0);
		free(to);
		break;
	}
	case 'c':
		ops_chmod(path, (mode_t)strtoul(data, NULL, 8) & 07777, NULL);
		break;
	case 't':
		create_write(path, data, dlen);
		break;
	default:
		break;
	}
}

void fsfix_run(const char *data, size_t size)
{
	char *copy = malloc(size + 1);
	size_t pos = 0;
	int records = 0;
	if (!copy)
		return;
	memcpy(copy, data, size);
	copy[size] = '\0';
	while (pos < size && records++ < 64) {
		char *start = copy + pos;
		char *end = memchr(start, 0x1e, size - pos);
		size_t n = end ? (size_t)(end - start) : size - pos;
		if (n > 0 && memchr(start, '\0', n) == NULL)
			run_record(start, n);
		pos += n + 1;
	}
	free(copy);
}
