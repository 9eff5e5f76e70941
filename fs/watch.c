/*
 * watch.c - poll(2) support for /events.
 *
 * A process that polls an open /events file sleeps until the IPAM changes.
 * The kernel hands us a poll handle with each poll request; when nothing is
 * new we keep it in the watcher of that open file, and the libipam change
 * hook (called after every commit that changed something) notifies and
 * drops all kept handles. Recording the newest entry and registering a
 * handle happen under the same mutex, so a change can never slip between
 * "nothing new" and "handle registered".
 *
 * Lock order: the hook runs with the core lock held and takes the watch
 * mutex; nothing here calls libipam, so no path takes them the other way.
 */
#include "watch.h"

#include <string.h>

void watch_init(struct watch *watch, int64_t last)
{
	memset(watch, 0, sizeof(*watch));
	pthread_mutex_init(&watch->lock, NULL);
	watch->last = last;
}

void watch_free(struct watch *watch)
{
	pthread_mutex_lock(&watch->lock);
	for (struct watcher *w = watch->first; w; w = w->next) {
		if (w->ph)
			fuse_pollhandle_destroy(w->ph);
		w->ph = NULL;
	}
	watch->first = NULL;
	pthread_mutex_unlock(&watch->lock);
	pthread_mutex_destroy(&watch->lock);
}

void watch_add(struct watch *watch, struct watcher *w, int64_t seen)
{
	pthread_mutex_lock(&watch->lock);
	w->ph = NULL;
	w->seen = seen;
	w->prev = NULL;
	w->next = watch->first;
	if (watch->first)
		watch->first->prev = w;
	watch->first = w;
	pthread_mutex_unlock(&watch->lock);
}

void watch_remove(struct watch *watch, struct watcher *w)
{
	pthread_mutex_lock(&watch->lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		watch->first = w->next;
	if (w->next)
		w->next->prev = w->prev;
	if (w->ph)
		fuse_pollhandle_destroy(w->ph);
	w->ph = NULL;
	w->prev = w->next = NULL;
	pthread_mutex_unlock(&watch->lock);
}

void watch_set_seen(struct watch *watch, struct watcher *w, int64_t seen)
{
	pthread_mutex_lock(&watch->lock);
	w->seen = seen;
	pthread_mutex_unlock(&watch->lock);
}

int64_t watch_last(struct watch *watch)
{
	pthread_mutex_lock(&watch->lock);
	int64_t last = watch->last;
	pthread_mutex_unlock(&watch->lock);
	return last;
}

bool watch_poll(struct watch *watch, struct watcher *w,
		struct fuse_pollhandle *ph, bool unread)
{
	pthread_mutex_lock(&watch->lock);
	bool ready = unread || watch->last > w->seen;
	if (ph && !ready) {
		if (w->ph)
			fuse_pollhandle_destroy(w->ph);
		w->ph = ph;
		ph = NULL;
	}
	pthread_mutex_unlock(&watch->lock);
	if (ph)
		fuse_pollhandle_destroy(ph);
	return ready;
}

void watch_changed(void *ctx, int64_t last_event)
{
	struct watch *watch = ctx;
	pthread_mutex_lock(&watch->lock);
	if (last_event > watch->last)
		watch->last = last_event;
	for (struct watcher *w = watch->first; w; w = w->next) {
		if (!w->ph)
			continue;
		fuse_lowlevel_notify_poll(w->ph);
		fuse_pollhandle_destroy(w->ph);
		w->ph = NULL;
	}
	pthread_mutex_unlock(&watch->lock);
}
