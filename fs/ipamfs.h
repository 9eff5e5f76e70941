/*
 * ipamfs.h - the state of one mount, shared by the FUSE operations.
 */
#ifndef IPAMFS_H
#define IPAMFS_H

#define FUSE_USE_VERSION 31
#include <fuse.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cache.h"
#include "errlog.h"
#include "ipam.h"
#include "watch.h"

/* Writes (command batches) larger than this are refused with E2BIG. */
#define IPAMFS_WRITE_MAX (64u * 1024u)

struct ipamfs {
	ipam *db;             /* opened in init, closed in destroy */
	char *db_path;        /* absolute */
	const char *home_locale; /* -o home-locale, NULL = "local" */
	int64_t mount_time;
	struct errlog errlog;
	struct cache cache;
	struct watch watch;
	/* Bumped after every change made through the mount (and every
	 * refusal), so cached content keyed on it is never stale even for a
	 * change libipam does not log. */
	atomic_uint_fast64_t generation;
};

/* The mount of the calling FUSE operation. */
struct ipamfs *ipamfs_get(void);

/* The key the content cache uses now (call it before rendering). */
struct cache_key ipamfs_cache_key(struct ipamfs *fs);

/*
 * Records a refusal of `op` on `path` in /errors (with the caller's pid and
 * uid) and returns -err. The reason is printf-formatted.
 */
int ipamfs_refuse(struct ipamfs *fs, const char *op, const char *path,
		  int err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The same for a libipam failure: maps the code, logs err->msg. */
int ipamfs_fail(struct ipamfs *fs, const char *op, const char *path,
		int code, const ipam_err *err);

/*
 * Runs fn(fs, ctx, err) as one transaction performed by the caller of the
 * FUSE operation (uid, gid, pid); commits on 0, rolls back otherwise.
 * Returns 0 or -errno, and logs a refusal of `op` on `path`.
 */
typedef int (*ipamfs_change_fn)(struct ipamfs *fs, void *ctx,
				ipam_err *err);
int ipamfs_change(struct ipamfs *fs, const char *op, const char *path,
		  ipamfs_change_fn fn, void *ctx);

/* Fills err like libipam does (first error wins) and returns code. */
int ipamfs_err(ipam_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The fuse_operations of ipamfs (ops_read.c, ops_write.c). */
extern const struct fuse_operations ipamfs_ops;

#endif
