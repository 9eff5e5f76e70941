/*
 * ipamfs.c - what every FUSE operation shares: the mount's state, the
 * transaction bracket of a change, and the logging of refusals.
 *
 * A change through the mount is one libipam transaction performed by the
 * process that asked for it (uid, gid and pid from the FUSE context), so
 * the change log names it and what it creates belongs to it. Whatever is
 * refused, by libipam or by the FUSE layer itself, is logged to /errors
 * with its reason before the errno goes back to the kernel.
 */
#include "ipamfs.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errno_map.h"

struct cache_key ipamfs_cache_key(struct ipamfs *fs)
{
	struct cache_key key;
	/* blind to other daemons' changes: nothing rendered is known to
	 * be current, so no key matches an earlier one */
	key.generation = atomic_load(&fs->blind)
				 ? atomic_fetch_add(&fs->generation, 1) + 1
				 : atomic_load(&fs->generation);
	key.events = ipam_events_last(fs->db);
	key.clock = 0;
	return key;
}

int64_t ipamfs_clock(void *ctx)
{
	struct ipamfs *fs = ctx;
	int64_t frozen = atomic_load(&fs->clock);
	return frozen != IPAMFS_CLOCK_SYSTEM ? frozen : (int64_t)time(NULL);
}

void ipamfs_clock_set(struct ipamfs *fs, int64_t when)
{
	atomic_store(&fs->clock, when);
	atomic_fetch_add(&fs->generation, 1);
}

int ipamfs_err(ipam_err *err, int code, const char *fmt, ...)
{
	if (!err || err->code != IPAM_OK)
		return code;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

static void log_refusal(struct ipamfs *fs, const char *op, const char *path,
			int err, const char *reason)
{
	const struct ipamfs_caller *ctx = ipamfs_caller();
	int64_t now = fs->db ? ipam_now(fs->db) : fs->mount_time;
	errlog_add(&fs->errlog, now, ctx->pid, ctx->uid, op, path, err, reason);
	atomic_fetch_add(&fs->generation, 1);
}

int ipamfs_refuse(struct ipamfs *fs, const char *op, const char *path, int err,
		  const char *fmt, ...)
{
	char reason[IPAM_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	log_refusal(fs, op, path, err, reason);
	return -err;
}

int ipamfs_fail(struct ipamfs *fs, const char *op, const char *path, int code,
		const ipam_err *err)
{
	int e = errno_from_ipam(code);
	log_refusal(fs, op, path, e, err && err->code ? err->msg : NULL);
	/* a refusal is the caller's business; a storage failure the
	 * operator's (the journal or syslog rate-limits a failing disk) */
	if (code == IPAM_EIO)
		log_msg(LOG_ERR, "storage error: %s %s: %s", op, path,
			err && err->code ? err->msg : "I/O error");
	return -e;
}

_Thread_local ipam_err ipamfs_deferred;

int ipamfs_try_change(struct ipamfs *fs, ipamfs_change_fn fn, void *ctx,
		      ipam_err *err)
{
	const struct ipamfs_caller *fc = ipamfs_caller();
	ipam_actor actor = {fc->uid, fc->gid, fc->pid};
	if (!fs->db)
		return ipamfs_err(err, IPAM_EIO, "database not open");
	int rc = ipam_txn_begin(fs->db, &actor, err);
	if (rc)
		return rc;
	ipamfs_deferred.code = IPAM_OK;
	ipamfs_deferred.msg[0] = '\0';
	rc = fn(fs, ctx, err);
	if (rc == 0)
		rc = ipam_txn_commit(fs->db, err);
	else
		ipam_txn_rollback(fs->db);
	atomic_fetch_add(&fs->generation, 1);
	/* committed, and refused all the same: a failed-provision record */
	if (rc == 0 && ipamfs_deferred.code != IPAM_OK) {
		if (err && err->code == IPAM_OK)
			*err = ipamfs_deferred;
		rc = ipamfs_deferred.code;
	}
	return rc;
}

/*
 * On PostgreSQL two daemons' transactions may conflict: the loser's
 * serialization failure is IPAM_EBUSY and nothing of it was applied, so
 * the change runs again (fn must start from ctx as given: it only reads
 * it, or resets what it fills), a bounded number of times with a short
 * random pause that grows, and the reason says how often when it keeps
 * failing (docs/design/pg.md). SQLite's EBUSY (another process held the
 * file past the busy timeout) is not retried.
 */
int ipamfs_try_change_retried(struct ipamfs *fs, ipamfs_change_fn fn, void *ctx,
			      ipam_err *err)
{
	int rc, attempt = 0;
	for (;;) {
		rc = ipamfs_try_change(fs, fn, ctx, err);
		/* only the engine's conflict (pg.c's "concurrent change"):
		 * the model's own EBUSY ("deprovision it first", an object
		 * in use) is a refusal, the same at every attempt */
		if (rc != IPAM_EBUSY || !fs->db_shown ||
		    !strstr(err->msg, "concurrent change, try again") ||
		    ++attempt >= IPAMFS_BUSY_TRIES)
			break;
		struct timespec pause = {0, 1000000L * attempt +
						    random() % 1000000L};
		nanosleep(&pause, NULL);
		*err = (ipam_err){IPAM_OK, ""};
	}
	if (rc == IPAM_EBUSY && attempt >= IPAMFS_BUSY_TRIES &&
	    strstr(err->msg, "concurrent change, try again")) {
		char was[IPAM_ERR_MSG_MAX];
		snprintf(was, sizeof(was), "%s", err->msg);
		err->code = IPAM_OK;
		ipamfs_err(err, IPAM_EBUSY,
			   "%.150s (%d attempts, each undone by a concurrent "
			   "change)",
			   was, attempt);
	}
	return rc;
}

int ipamfs_change_retried(struct ipamfs *fs, const char *op, const char *path,
			  ipamfs_change_fn fn, void *ctx)
{
	ipam_err err = {IPAM_OK, ""};
	int rc = ipamfs_try_change_retried(fs, fn, ctx, &err);
	return rc ? ipamfs_fail(fs, op, path, rc, &err) : 0;
}

int ipamfs_change(struct ipamfs *fs, const char *op, const char *path,
		  ipamfs_change_fn fn, void *ctx)
{
	ipam_err err = {IPAM_OK, ""};
	int rc = ipamfs_try_change(fs, fn, ctx, &err);
	return rc ? ipamfs_fail(fs, op, path, rc, &err) : 0;
}
