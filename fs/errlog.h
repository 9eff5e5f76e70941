/*
 * errlog.h - the /errors rings: the last refused operations, in memory,
 * one ring per uid.
 */
#ifndef IPAMFS_ERRLOG_H
#define IPAMFS_ERRLOG_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

/* Lines each uid's ring holds: one user's refusals never push out
 * another's. */
#define ERRLOG_LINES 1000
/* Rings held at once; a new uid past this takes the ring of the non-root
 * uid whose newest line is the oldest (making uids takes root). */
#define ERRLOG_UIDS 32

struct errlog_ring {
	uid_t uid;
	char *lines[ERRLOG_LINES];  /* each ends with '\n' */
	uint64_t seq[ERRLOG_LINES]; /* the log-wide order of each line */
	size_t next;		    /* slot of the next line */
	size_t count;		    /* lines held, <= ERRLOG_LINES */
};

struct errlog {
	pthread_mutex_t lock;
	struct errlog_ring *rings[ERRLOG_UIDS]; /* NULL = unused */
	uint64_t seq;				/* of the last line added */
	int64_t changed; /* ns of the newest line of any ring, strictly
			  * growing; 0 = none */
};

void errlog_init(struct errlog *log);
void errlog_free(struct errlog *log);

/*
 * Appends `TIME pid=P uid=U OP PATH ENAME: reason` to uid's ring. `when` is
 * seconds since the epoch (the core clock), `path` is shown without its
 * leading '/', `err` is a positive errno. Control characters in path and
 * reason are shown as '?' (so one refusal is always one line) and bytes
 * that are not UTF-8 as U+FFFD. Never fails visibly: on out-of-memory the
 * line is lost.
 */
void errlog_add(struct errlog *log, int64_t when, pid_t pid, uid_t uid,
		const char *op, const char *path, int err, const char *reason);

/* When the newest line of any ring was added (ns; 0: never): the time
 * of /errors for every reader. */
int64_t errlog_changed(struct errlog *log);

/* The lines `reader` may see, oldest first: its own uid's ring; root
 * (uid 0) sees every ring, merged in the order the lines were added. */
void errlog_render(struct errlog *log, uid_t reader, struct buf *out);

#endif
