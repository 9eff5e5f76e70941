/*
 * errlog.c - the /errors ring of refused operations.
 *
 * A refused write, mkdir, rmdir, chmod... fails with an errno, which a shell
 * prints without the reason. The reason (the core's message or ours) goes
 * here, one line per refusal, so `cat /errors` explains the last failures.
 * Each uid has its own ring of the newest ERRLOG_LINES lines, so a user
 * who floods the log erases only their own lines; a reader sees their own
 * uid's ring, root sees all of them merged (docs/design/security.md). The
 * rings are in memory only: not persisted, empty at every mount. A mutex
 * protects them; no other lock is ever taken while holding it.
 */
#include "errlog.h"

#include <stdlib.h>
#include <string.h>

#include "errno_map.h"
#include "ipam.h"

/* Paths longer than this are cut (a line must stay readable). */
#define ERRLOG_PATH_MAX 4096

void errlog_init(struct errlog *log)
{
	memset(log, 0, sizeof(*log));
	pthread_mutex_init(&log->lock, NULL);
}

static void ring_free(struct errlog_ring *ring)
{
	if (!ring)
		return;
	for (size_t i = 0; i < ERRLOG_LINES; i++)
		free(ring->lines[i]);
	free(ring);
}

void errlog_free(struct errlog *log)
{
	for (size_t i = 0; i < ERRLOG_UIDS; i++)
		ring_free(log->rings[i]);
	pthread_mutex_destroy(&log->lock);
	memset(log, 0, sizeof(*log));
}

/* Appends at most `max` bytes of text with control characters as '?' and
 * bytes that are not UTF-8 as U+FFFD. */
static void put_clean(struct buf *b, const char *text, size_t max)
{
	size_t n = strnlen(text, max);
	char *cut = strndup(text, n);
	char *fixed = cut ? ipam_utf8_fix(cut) : NULL;
	free(cut);
	if (!fixed) {
		b->failed = true;
		return;
	}
	for (const char *p = fixed; *p; p++) {
		unsigned char c = (unsigned char)*p;
		buf_putc(b, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
	free(fixed);
	if (text[n])
		buf_puts(b, "...");
}

/* The ring of uid, made (or taken over) when it has none; NULL when out of
 * memory. Called with the lock held. */
static struct errlog_ring *ring_of(struct errlog *log, uid_t uid)
{
	size_t victim = ERRLOG_UIDS;
	uint64_t oldest = UINT64_MAX;
	for (size_t i = 0; i < ERRLOG_UIDS; i++)
		if (log->rings[i] && log->rings[i]->uid == uid)
			return log->rings[i];
	for (size_t i = 0; i < ERRLOG_UIDS && victim == ERRLOG_UIDS; i++)
		if (!log->rings[i])
			victim = i;
	for (size_t i = 0; i < ERRLOG_UIDS && oldest; i++) {
		const struct errlog_ring *r = log->rings[i];
		if (victim != ERRLOG_UIDS && !log->rings[victim])
			break; /* a free slot */
		uint64_t last =
			r->seq[(r->next + ERRLOG_LINES - 1) % ERRLOG_LINES];
		if (r->uid != 0 && last < oldest)
			victim = i, oldest = last;
	}
	if (victim == ERRLOG_UIDS)
		return NULL;
	ring_free(log->rings[victim]);
	log->rings[victim] = calloc(1, sizeof(struct errlog_ring));
	if (log->rings[victim])
		log->rings[victim]->uid = uid;
	return log->rings[victim];
}

void errlog_add(struct errlog *log, int64_t when, pid_t pid, uid_t uid,
		const char *op, const char *path, int err, const char *reason)
{
	char stamp[IPAM_TIME_STRLEN];
	ipam_time_format(when, stamp);
	struct buf line = BUF_INIT;
	buf_printf(&line, "%s pid=%ld uid=%lu %s ", stamp, (long)pid,
		   (unsigned long)uid, op);
	while (*path == '/')
		path++;
	put_clean(&line, *path ? path : ".", ERRLOG_PATH_MAX);
	buf_printf(&line, " %s: ", errno_name(err));
	put_clean(&line, reason && *reason ? reason : "refused", 1024);
	buf_putc(&line, '\n');
	if (buf_failed(&line)) {
		buf_free(&line);
		return;
	}
	pthread_mutex_lock(&log->lock);
	struct errlog_ring *r = ring_of(log, uid);
	if (r) {
		free(r->lines[r->next]);
		r->lines[r->next] = line.data;
		r->seq[r->next] = ++log->seq;
		r->next = (r->next + 1) % ERRLOG_LINES;
		if (r->count < ERRLOG_LINES)
			r->count++;
		log->changed = when * 1000000000LL > log->changed
				       ? when * 1000000000LL
				       : log->changed + 1;
	} else {
		free(line.data);
	}
	pthread_mutex_unlock(&log->lock);
}

/* The slot of the i-th oldest line of ring r. */
static size_t ring_slot(const struct errlog_ring *r, size_t i)
{
	return (r->next + ERRLOG_LINES - r->count + i) % ERRLOG_LINES;
}

void errlog_render(struct errlog *log, uid_t reader, struct buf *out)
{
	size_t pos[ERRLOG_UIDS] = {0};
	pthread_mutex_lock(&log->lock);
	for (;;) { /* a merge of the rings the reader may see, by seq */
		size_t best = ERRLOG_UIDS;
		uint64_t best_seq = UINT64_MAX;
		for (size_t i = 0; i < ERRLOG_UIDS; i++) {
			const struct errlog_ring *r = log->rings[i];
			if (!r || pos[i] == r->count ||
			    (reader != 0 && r->uid != reader))
				continue;
			uint64_t s = r->seq[ring_slot(r, pos[i])];
			if (s < best_seq)
				best = i, best_seq = s;
		}
		if (best == ERRLOG_UIDS)
			break;
		const struct errlog_ring *r = log->rings[best];
		buf_puts(out, r->lines[ring_slot(r, pos[best]++)]);
	}
	pthread_mutex_unlock(&log->lock);
}

int64_t errlog_changed(struct errlog *log)
{
	pthread_mutex_lock(&log->lock);
	int64_t changed = log->changed;
	pthread_mutex_unlock(&log->lock);
	return changed;
}
