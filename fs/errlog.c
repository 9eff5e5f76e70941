/*
 * errlog.c - the /errors ring of refused operations.
 *
 * A refused write, mkdir, rmdir, chmod... fails with an errno, which a shell
 * prints without the reason. The reason (the core's message or ours) goes
 * here, one line per refusal, so `cat /errors` explains the last failures.
 * The ring keeps the newest ERRLOG_LINES lines in memory only: it is not
 * persisted and starts empty at every mount. A mutex protects it; no other
 * lock is ever taken while holding it.
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

void errlog_free(struct errlog *log)
{
	for (size_t i = 0; i < ERRLOG_LINES; i++)
		free(log->lines[i]);
	pthread_mutex_destroy(&log->lock);
	memset(log, 0, sizeof(*log));
}

/* Appends at most `max` bytes of text with control characters as '?'. */
static void put_clean(struct buf *b, const char *text, size_t max)
{
	size_t n = strnlen(text, max);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		buf_putc(b, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
	if (text[n])
		buf_puts(b, "...");
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
	free(log->lines[log->next]);
	log->lines[log->next] = line.data;
	log->next = (log->next + 1) % ERRLOG_LINES;
	log->changed = when * 1000000000LL > log->changed ? when * 1000000000LL
							  : log->changed + 1;
	if (log->count < ERRLOG_LINES)
		log->count++;
	pthread_mutex_unlock(&log->lock);
}

void errlog_render(struct errlog *log, struct buf *out)
{
	pthread_mutex_lock(&log->lock);
	size_t first = (log->next + ERRLOG_LINES - log->count) % ERRLOG_LINES;
	for (size_t i = 0; i < log->count; i++)
		buf_puts(out, log->lines[(first + i) % ERRLOG_LINES]);
	pthread_mutex_unlock(&log->lock);
}

int64_t errlog_changed(struct errlog *log)
{
	pthread_mutex_lock(&log->lock);
	int64_t changed = log->changed;
	pthread_mutex_unlock(&log->lock);
	return changed;
}
