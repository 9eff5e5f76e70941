/*
 * ipamfs.h - the state of one mount, shared by the FUSE operations.
 */
#ifndef IPAMFS_H
#define IPAMFS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "cache.h"
#include "errlog.h"
#include "ipam.h"
#include "pathcache.h"
#include "watch.h"

/* Writes (command batches) larger than this are refused with E2BIG. */
#define IPAMFS_WRITE_MAX (64u * 1024u)

/* A discovery snapshot written to `feed` through one descriptor larger
 * than this is refused with E2BIG. */
#define IPAMFS_FEED_MAX ((size_t)256u << 20)

/* A document written to /import or /plan through one descriptor larger
 * than this is refused with E2BIG. */
#define IPAMFS_IMPORT_MAX ((size_t)1u << 30)

/* What all the feeds open at once may hold together, by default
 * (-o feed-budget=MIB); a write past it is refused with ENOMEM. */
#define IPAMFS_FEED_BUDGET ((size_t)512u << 20)

/* How many times a command runs when concurrent transactions of other
 * daemons keep undoing it (PostgreSQL serialization failures, EBUSY). */
#define IPAMFS_BUSY_TRIES 8

/* The value of struct ipamfs.clock that means "the system clock". */
#define IPAMFS_CLOCK_SYSTEM INT64_MIN

struct ipamfs {
	ipam *db;		 /* opened in init, closed in destroy */
	char *db_path;		 /* absolute, or a postgresql:// URI */
	char *db_shown;		 /* the URI without its password, or NULL */
	const char *home_locale; /* -o home-locale, NULL = "local" */
	bool sync_normal;	 /* -o sync=normal */
	int64_t mount_time;
	struct errlog errlog;
	struct cache cache;
	struct pathcache paths;
	struct watch watch;
	/* -o settable-clock: /clock exists, and the IPAM's clock is this
	 * one: frozen at `clock` unless it is IPAMFS_CLOCK_SYSTEM. */
	bool settable_clock;
	atomic_int_fast64_t clock;
	/* /backup.db exists: the engine makes backup images (SQLite; not
	 * PostgreSQL, whose tools are pg_dump and its kin) */
	bool backup_image;
	/* -o byoip-proof=skip: BYOIP CIDRs need no proof (labs) */
	bool byoip_skip;
	/* -o default_permissions: the kernel checks the mode bits, and a
	 * resource's owner must be allowed to use a pool it allocates from
	 * (files_resource.c). */
	bool default_permissions;
	/* Bumped after every change made through the mount (and every
	 * refusal), so cached content keyed on it is never stale even for a
	 * change libipam does not log. */
	atomic_uint_fast64_t generation;
	/* PostgreSQL: the daemon cannot hear other daemons' changes (the
	 * listening connection is lost, lowlevel.c): no rendering is
	 * reused, every read asks the database. */
	atomic_bool blind;
	/* Bytes of buffer the open feeds hold (their capacity), at most
	 * feed_budget (docs/design/security.md). */
	atomic_size_t feed_held;
	size_t feed_budget;
};

/* The mount of the calling FUSE operation. */
struct ipamfs *ipamfs_get(void);

/* Who made the FUSE request the calling thread serves. */
struct ipamfs_caller {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	fuse_req_t req; /* for its supplementary groups (access.c) */
};
const struct ipamfs_caller *ipamfs_caller(void);

/*
 * Mounts `fs` at the mountpoint named in args (libfuse's command line:
 * -f, -d, -s, -o ...) and serves it until unmounted (lowlevel.c). fs->db
 * is opened when the kernel's INIT arrives. Returns the exit status.
 */
int ipamfs_serve(struct ipamfs *fs, struct fuse_args *args);
/* Set once the kernel mount exists (a failure after it leaves the
 * database in place). */
extern bool ipamfs_mounted;

/* The key the content and path caches use now (call it before
 * rendering or resolving). */
struct cache_key ipamfs_cache_key(struct ipamfs *fs);

/* The ipam_clock_fn of -o settable-clock (ctx = struct ipamfs *). */
int64_t ipamfs_clock(void *ctx);
/* Freezes the clock at `when`, or lets it run (IPAMFS_CLOCK_SYSTEM). Every
 * cached rendering is dropped: `@now` and /clock depend on it. */
void ipamfs_clock_set(struct ipamfs *fs, int64_t when);

/*
 * Records a refusal of `op` on `path` in /errors (with the caller's pid and
 * uid) and returns -err. The reason is printf-formatted.
 */
int ipamfs_refuse(struct ipamfs *fs, const char *op, const char *path, int err,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The same for a libipam failure: maps the code, logs err->msg. */
int ipamfs_fail(struct ipamfs *fs, const char *op, const char *path, int code,
		const ipam_err *err);

/*
 * Runs fn(fs, ctx, err) as one transaction performed by the caller of the
 * FUSE operation (uid, gid, pid); commits on 0, rolls back otherwise.
 * Returns 0 or -errno, and logs a refusal of `op` on `path`.
 */
typedef int (*ipamfs_change_fn)(struct ipamfs *fs, void *ctx, ipam_err *err);
int ipamfs_change(struct ipamfs *fs, const char *op, const char *path,
		  ipamfs_change_fn fn, void *ctx);
/* The same without the /errors line: returns 0 or an ipam_code with err
 * (a set file tries a set that a later line may still make valid). */
int ipamfs_try_change(struct ipamfs *fs, ipamfs_change_fn fn, void *ctx,
		      ipam_err *err);
/* The same, run again while it fails with IPAM_EBUSY on PostgreSQL (a
 * concurrent change undid it), at most IPAMFS_BUSY_TRIES times; fn must
 * start from ctx as given each time. */
int ipamfs_try_change_retried(struct ipamfs *fs, ipamfs_change_fn fn, void *ctx,
			      ipam_err *err);
int ipamfs_change_retried(struct ipamfs *fs, const char *op, const char *path,
			  ipamfs_change_fn fn, void *ctx);

/* Fills err like libipam does (first error wins) and returns code. */
/* A refusal that is also a change (a BYOIP CIDR's failed-provision
 * record, docs/design/public.md): an apply function fills it and returns
 * 0; ipamfs_try_change commits the transaction and then fails with it.
 * Per thread: one FUSE request runs on one thread. */
extern _Thread_local ipam_err ipamfs_deferred;

int ipamfs_err(ipam_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
