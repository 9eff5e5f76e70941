/*
 * errlog.h - the /errors ring: the last refused operations, in memory.
 */
#ifndef IPAMFS_ERRLOG_H
#define IPAMFS_ERRLOG_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

#define ERRLOG_LINES 1000

struct errlog {
	pthread_mutex_t lock;
	char *lines[ERRLOG_LINES]; /* each ends with '\n' */
	size_t next;		   /* slot of the next line */
	size_t count;		   /* lines held, <= ERRLOG_LINES */
	int64_t changed; /* ns of the newest line, strictly growing; 0 = none */
};

void errlog_init(struct errlog *log);
void errlog_free(struct errlog *log);

/*
 * Appends `TIME pid=P uid=U OP PATH ENAME: reason`. `when` is seconds since
 * the epoch (the core clock), `path` is shown without its leading '/',
 * `err` is a positive errno. Control characters in path and reason are
 * shown as '?', so one refusal is always one line. Never fails visibly: on
 * out-of-memory the line is lost.
 */
void errlog_add(struct errlog *log, int64_t when, pid_t pid, uid_t uid,
		const char *op, const char *path, int err, const char *reason);

/* When the newest line was added (ns; 0: never). */
int64_t errlog_changed(struct errlog *log);

/* The held lines, oldest first. */
void errlog_render(struct errlog *log, struct buf *out);

#endif
