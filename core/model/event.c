/*
 * event.c - the change log: one row per change, written in the same
 * transaction as the change itself, with the time of the handle's clock and
 * the actor of the transaction. Rendered as JSON lines, oldest first:
 *
 *   {"seq":7,"time":"2026-11-27T10:00:00Z","uid":0,"pid":42,
 *    "action":"allocate-ipam-pool-cidr","id":"ipam-pool-alloc-...",...}
 *
 * Actions are named after the AWS API call that makes the same change.
 *
 * Retention (/ipam/event-retention-days, default 365): each new row
 * deletes at most the two oldest rows (by time, through the index
 * event_time) that are past the horizon, so the purge keeps pace with the
 * log and never scans. The newest row is never deleted: seq, which readers
 * and caches key on, never goes back (SQLite gives a new row max(seq) + 1).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PURGE_BATCH 2

static int purge(ipam *db, int64_t newest, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"DELETE FROM event WHERE seq IN (SELECT seq FROM event"
		" WHERE time < ?3 - 86400 * (SELECT event_retention_days"
		" FROM ipam WHERE id = 1) AND seq < ?1 ORDER BY time LIMIT ?2)",
		err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, newest);
	ipam__bind_int(stmt, 2, PURGE_BATCH);
	ipam__bind_int64(stmt, 3, ipam__now(db));
	return ipam__exec(db, stmt, err);
}

int ipam__event(ipam *db, const char *action, const char *object_id,
		json_t *detail, ipam_err *err)
{
	char *text;
	int rc;

	/* NULL is what a json_pack that ran out of memory gives: refuse to
	 * log a change without what it changed. */
	text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	json_decref(detail);
	if (!text)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	rc = ipam__event_static(db, action, object_id, text, strlen(text), err);
	free(text);
	return rc;
}

int ipam__event_static(ipam *db, const char *action, const char *object_id,
		       const char *text, size_t len, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"INSERT INTO event(time, uid, pid, action, object_id,"
		" detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, ipam__now(db));
	ipam__bind_int64(stmt, 2, db->actor.uid);
	ipam__bind_int64(stmt, 3, db->actor.pid);
	ipam__bind_text(stmt, 4, action, -1);
	ipam__bind_text(stmt, 5, object_id, -1);
	ipam__bind_text(stmt, 6, text, (int)len);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	db->events_logged++;
	return purge(db, ipam__last_insert_id(db), err);
}

/*
 * On a database other processes write too (PostgreSQL: other daemons,
 * other hosts), the newest event is the database's, not only this
 * handle's: read between calls (one index lookup), so what a reader keys
 * its caches on moves with every change whoever made it
 * (docs/design/pg.md). A failure keeps the value known.
 */
static void refresh_last_event(ipam *db)
{
	ipam_stmt *stmt;
	if (strcmp(db->store->driver->name, "postgresql") || db->depth ||
	    db->txn_open)
		return;
	stmt = ipam__stmt(db, "SELECT coalesce(max(seq), 0) FROM event", NULL);
	if (stmt && stmt->driver->step(stmt, NULL) == 1 &&
	    ipam__col_int64(stmt, 0) > db->last_event)
		db->last_event = ipam__col_int64(stmt, 0);
	if (stmt)
		ipam__reset(stmt);
}

int64_t ipam_events_last(ipam *db)
{
	int64_t last;
	pthread_mutex_lock(&db->lock);
	refresh_last_event(db);
	last = db->last_event;
	pthread_mutex_unlock(&db->lock);
	return last;
}

int64_t ipam_events_known(ipam *db)
{
	int64_t last;
	pthread_mutex_lock(&db->lock);
	last = db->last_event;
	pthread_mutex_unlock(&db->lock);
	return last;
}

/*
 * The stored detail object of a change. Bytes that are not UTF-8 (stored by
 * an older version or another program) become U+FFFD rather than losing
 * the detail; a detail that is not a JSON object at all is kept whole as
 * {"detail-text": TEXT}, so no change is ever shown without what it did.
 */
static json_t *event_detail(const char *text)
{
	json_t *detail;
	char *fixed;
	if (!text)
		return NULL;
	detail = json_loads(text, 0, NULL);
	if (json_is_object(detail))
		return detail;
	json_decref(detail);
	fixed = ipam_utf8_fix(text);
	detail = fixed ? json_loads(fixed, 0, NULL) : NULL;
	if (!json_is_object(detail)) {
		json_decref(detail);
		detail = json_pack("{s:o}", "detail-text", json_string(text));
	}
	free(fixed);
	return detail;
}

/* One change-log row as a JSON line. */
static int render_row(ipam_stmt *stmt, ipam__buf *buf)
{
	char when[IPAM_TIME_STRLEN];
	json_t *line, *detail;
	char *text;
	int rc;

	ipam_time_format(ipam__col_int64(stmt, 1), when);
	detail = event_detail(ipam__col_text(stmt, 6));
	line = json_pack(
		"{s:I, s:s, s:I, s:I, s:o, s:o}", "seq",
		(json_int_t)ipam__col_int64(stmt, 0), "time", when, "uid",
		(json_int_t)ipam__col_int64(stmt, 2), "pid",
		(json_int_t)ipam__col_int64(stmt, 3), "action",
		json_string(ipam__col_text(stmt, 4)), "id",
		json_string(ipam__col_text(stmt, 5)));
	if (line && detail)
		json_object_update_missing(line, detail);
	json_decref(detail);
	text = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER)
		    : NULL;
	json_decref(line);
	if (!text)
		return IPAM_ENOMEM;
	rc = ipam__buf_printf(buf, "%s\n", text);
	free(text);
	return rc;
}

int ipam_events_render(ipam *db, size_t limit, char **out, size_t *len,
		       ipam_err *err)
{
	ipam_stmt *stmt;
	ipam__buf buf = {0};
	int rc = ipam__read_begin(db, err), step;

	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "SELECT seq, time, uid, pid, action, object_id, "
			  "detail FROM event WHERE seq > ?1 ORDER BY seq",
			  err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	ipam__bind_int64(stmt, 1,
			   limit && (int64_t)limit < db->last_event
				   ? db->last_event - (int64_t)limit
				   : 0);
	while ((step = ipam__step(db, stmt, err)) == 1)
		if (render_row(stmt, &buf)) {
			step = ipam__fail(err, IPAM_ENOMEM, "out of memory");
			break;
		}
	ipam__reset(stmt);
	rc = step < 0 ? step : ipam__buf_finish(&buf, out, len, err);
	if (step < 0)
		free(buf.data);
	return ipam__read_end(db, rc);
}
