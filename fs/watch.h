/*
 * watch.h - poll(2) on /events: who waits, and waking them on a change.
 */
#ifndef IPAMFS_WATCH_H
#define IPAMFS_WATCH_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* One open /events file. */
struct watcher {
	struct watcher *prev, *next;
	struct fuse_pollhandle *ph; /* pending poll, or NULL */
	int64_t seen; /* newest change-log entry its content holds */
};

struct watch {
	pthread_mutex_t lock;
	struct watcher *first;
	int64_t last; /* newest change-log entry, as told by the hook */
};

void watch_init(struct watch *watch, int64_t last);
void watch_free(struct watch *watch);

void watch_add(struct watch *watch, struct watcher *w, int64_t seen);
/* Unlinks w and destroys its pending poll handle. */
void watch_remove(struct watch *watch, struct watcher *w);
void watch_set_seen(struct watch *watch, struct watcher *w, int64_t seen);
int64_t watch_last(struct watch *watch);

/*
 * The poll operation: true when there is something to read (`unread`, or a
 * change newer than w->seen). Otherwise keeps `ph` (replacing an older one)
 * to be notified by watch_changed; a handle not kept is destroyed.
 */
bool watch_poll(struct watch *watch, struct watcher *w,
		struct fuse_pollhandle *ph, bool unread);

/* The libipam change hook (ctx = struct watch *): records the newest entry
 * and notifies every pending poll. Runs with the core lock held, so it
 * only takes the watch mutex and never calls libipam. */
void watch_changed(void *ctx, int64_t last_event);

#endif
