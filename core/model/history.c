/*
 * history.c - IP address history (L2989-L3063, L4904-L5275).
 *
 * Every association of a CIDR with a resource, a pool allocation or a
 * status is a record with a start time and, once it ends, an end time.
 * Records are written in the transaction of the change that starts or ends
 * them, with the time of the handle's clock; nothing is sampled. A change of
 * status (management, compliance, overlap) ends the record and starts a new
 * one, so the history shows when a CIDR became noncompliant.
 *
 * Queries match the CIDR exactly (a /24 does not return the /32s inside it,
 * L5225) and return the records whose interval overlaps the window.
 * Retention: each write that ends or starts a record also deletes at most
 * two records that ended before the retention horizon, through an index on
 * end_time; the purge keeps pace with the records being written and never
 * costs a scan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PURGE_BATCH 2

static int purge(ipam *db, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"DELETE FROM history WHERE key IN (SELECT key FROM history"
		" WHERE end_time IS NOT NULL AND end_time < ?1 - 86400 *"
		" (SELECT retention_days FROM ipam WHERE id = 1)"
		" ORDER BY end_time LIMIT ?2)",
		err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, ipam__now(db));
	ipam__bind_int(stmt, 2, PURGE_BATCH);
	return ipam__exec(db, stmt, err);
}

int ipam__history_open(ipam *db, const ipam__hist_rec *r, int64_t *out_key,
		       ipam_err *err)
{
	int rc;
	if (db->history_floor < 0) { /* the first record of this transaction */
		ipam_stmt *max = ipam__stmt(
			db, "SELECT coalesce(max(key), 0) FROM history", err);
		if (!max)
			return ipam__stmt_error(err);
		if ((rc = ipam__step(db, max, err)) == 1)
			db->history_floor = ipam__col_int64(max, 0);
		ipam__reset(max);
		if (rc < 0)
			return rc;
	}
	if ((rc = ipam__history_insert(db, r, out_key, err)))
		return rc;
	return purge(db, err);
}

int ipam__history_insert(ipam *db, const ipam__hist_rec *r, int64_t *out_key,
			 ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"INSERT INTO history(scope_key, family, start, prefix,"
		" resource_id, resource_type, resource_name, owner, region,"
		" vpc_id, compliance, overlap, start_time)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
		"?13)",
		err);
	int rc;

/* the values outlive the step (ipam__exec resets before returning) */
#define TEXT(i, v) ipam__bind_text(stmt, i, (v) ? (v) : "", -1)
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, r->scope_key);
	ipam__bind_int(stmt, 2, r->cidr->family);
	ipam__bind_addr(stmt, 3, r->cidr->addr);
	ipam__bind_int(stmt, 4, r->cidr->prefix);
	TEXT(5, r->resource_id);
	TEXT(6, r->resource_type);
	TEXT(7, r->name);
	TEXT(8, r->owner);
	TEXT(9, r->region);
	TEXT(10, r->vpc_id);
	TEXT(11, r->compliance);
	TEXT(12, r->overlap);
#undef TEXT
	ipam__bind_int64(stmt, 13, ipam__now(db));
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	*out_key = ipam__last_insert_id(db);
	return 0;
}

int ipam__history_close(ipam *db, int64_t key, ipam_err *err)
{
	ipam_stmt *stmt;
	int rc;
	if (!key)
		return 0;
	/* A record opened in this same transaction that would end where it
	 * started is a state nobody could observe (a status that lived only
	 * inside the transaction): it goes, and the record before it, which
	 * ended at this instant, stands. */
	if (db->history_floor >= 0 && key > db->history_floor) {
		stmt = ipam__stmt(db,
				  "DELETE FROM history WHERE key = ?1 AND"
				  " end_time IS NULL AND start_time = ?2",
				  err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, key);
		ipam__bind_int64(stmt, 2, ipam__now(db));
		if ((rc = ipam__exec(db, stmt, err)))
			return rc;
	}
	stmt = ipam__stmt(db,
			  "UPDATE history SET end_time = ?2 WHERE key = ?1"
			  " AND end_time IS NULL",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	ipam__bind_int64(stmt, 2, ipam__now(db));
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return purge(db, err);
}

/* The two retention settings: the column that holds each, its name in
 * /ipam, events and the export document. */
static const struct {
	const char *name, *get, *set; /* the statements are cached by
				       * address: literals, not built text */
} retention[] = {
	[IPAM_RETAIN_HISTORY] = {"history-retention-days",
				 "SELECT retention_days FROM ipam WHERE id = 1",
				 "UPDATE ipam SET retention_days = ?1"},
	[IPAM_RETAIN_EVENTS] = {
		"event-retention-days",
		"SELECT event_retention_days FROM ipam WHERE id = 1",
		"UPDATE ipam SET event_retention_days = ?1"},
};

static int retention_known(ipam_retention which, ipam_err *err)
{
	if ((unsigned)which < sizeof(retention) / sizeof(retention[0]))
		return 0;
	return ipam__fail(err, IPAM_EINVAL, "unknown retention setting %d",
			  (int)which);
}

int ipam_retention_get(ipam *db, ipam_retention which, int64_t *out,
		       ipam_err *err)
{
	ipam_stmt *stmt;
	int rc;
	if ((rc = retention_known(which, err)) ||
	    (rc = ipam__read_begin(db, err)))
		return rc;
	stmt = ipam__stmt(db, retention[which].get, err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		*out = ipam__col_int64(stmt, 0);
		rc = 0;
	}
	ipam__reset(stmt);
	return ipam__read_end(db, rc);
}

static int retention_change(ipam *db, ipam_retention which, int64_t days,
			    ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, retention[which].set, err);
	ipam_info info;
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, days);
	if ((rc = ipam__exec(db, stmt, err)) ||
	    (rc = ipam__info_load(db, &info, err)))
		return rc;
	return ipam__event(db, "modify-ipam", info.id,
			   json_pack("{s:I}", retention[which].name,
				     (json_int_t)days),
			   err);
}

int ipam_retention_set(ipam *db, ipam_retention which, int64_t days,
		       ipam_err *err)
{
	int rc;
	if ((rc = retention_known(which, err)))
		return rc;
	if (days < 1 || days > 36500)
		return ipam__fail(err, IPAM_EINVAL,
				  "%s retention must be 1..36500 days, "
				  "not %lld",
				  which == IPAM_RETAIN_HISTORY ? "history"
							       : "event",
				  (long long)days);
	if ((rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(db, retention_change(db, which, days, err),
			       err);
}

int ipam_history_cidrs(ipam *db, int64_t scope, ipam_strlist *out,
		       ipam_err *err)
{
	ipam_stmt *stmt;
	char name[IPAM_CIDR_STRLEN];
	int rc = ipam__read_begin(db, err), step = 0;

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	stmt = ipam__stmt(
		db,
		"SELECT DISTINCT family, start, prefix FROM history"
		" WHERE scope_key = ?1 ORDER BY family, start, prefix",
		err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	ipam__bind_int64(stmt, 1, scope);
	while (rc == 0 && (step = ipam__step(db, stmt, err)) == 1) {
		ipam_cidr c;
		c.family = (uint8_t)ipam__col_int(stmt, 0);
		c.addr = ipam__blob_to_addr(stmt, 1);
		c.prefix = (uint8_t)ipam__col_int(stmt, 2);
		ipam_cidr_format_filename(&c, name);
		rc = ipam__strlist_push(out, name);
	}
	ipam__reset(stmt);
	if (rc == 0 && step < 0)
		rc = step;
	if (rc)
		ipam_strlist_free(out);
	return ipam__read_end(db, rc);
}

/* One IpamAddressHistoryRecord, or NULL for a record of a type that shape
 * has no word for (custom allocations, child pools, public IPv4 pools:
 * the text table keeps them). Times in the AWS CLI's form. */
static json_t *record_json(ipam_stmt *stmt, const char *cidr)
{
	char when[IPAM_TIME_STRLEN];
	const char *type = ipam_resource_type_aws(
		ipam__col_text(stmt, 1), IPAM_SHAPE_HISTORY);
	json_t *obj;

	if (!type)
		return NULL;
	obj = json_object();
#define COL(i) (ipam__col_text(stmt, i))
	json_object_set_new(obj, "ResourceOwnerId", json_string(COL(3)));
	json_object_set_new(obj, "ResourceRegion", json_string(COL(4)));
	json_object_set_new(obj, "ResourceType", json_string(type));
	json_object_set_new(obj, "ResourceId", json_string(COL(0)));
	json_object_set_new(obj, "ResourceCidr", json_string(cidr));
	if (*COL(2))
		json_object_set_new(obj, "ResourceName", json_string(COL(2)));
	if (*COL(6))
		json_object_set_new(obj, "ResourceComplianceStatus",
				    json_string(COL(6)));
	if (*COL(7))
		json_object_set_new(obj, "ResourceOverlapStatus",
				    json_string(COL(7)));
	if (*COL(5))
		json_object_set_new(obj, "VpcId", json_string(COL(5)));
#undef COL
	ipam_time_format_aws(ipam__col_int64(stmt, 8), when);
	json_object_set_new(obj, "SampledStartTime", json_string(when));
	if (ipam__col_type(stmt, 9) != IPAM_COL_NULL) {
		ipam_time_format_aws(ipam__col_int64(stmt, 9), when);
		json_object_set_new(obj, "SampledEndTime", json_string(when));
	}
	return obj;
}

/*
 * One field of the text table: "-" when empty; '%', control characters
 * and (unless it is the last field, which is the rest of the line) spaces
 * and tabs written %XX, so that every row splits on blanks into the same
 * columns and is one line.
 */
static void put_field(ipam__buf *buf, const char *text, bool last)
{
	if (!text || !*text) {
		ipam__buf_printf(buf, "-%s", last ? "\n" : " ");
		return;
	}
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (*c == '%' || *c < 0x20 || *c == 0x7f ||
		    (*c == ' ' && !last))
			ipam__buf_printf(buf, "%%%02X", *c);
		else
			ipam__buf_printf(buf, "%c", *c);
	}
	ipam__buf_printf(buf, "%s", last ? "\n" : " ");
}

/* One row of the text table (docs/tree.md, "history"). */
static void record_text(ipam_stmt *stmt, const char *cidr, ipam__buf *buf)
{
	char from[IPAM_TIME_STRLEN], to[IPAM_TIME_STRLEN] = "-";
	static const int order[] = {1, 0, 4, 3, 5, 6, 7, 2};
	ipam_time_format(ipam__col_int64(stmt, 8), from);
	if (ipam__col_type(stmt, 9) != IPAM_COL_NULL)
		ipam_time_format(ipam__col_int64(stmt, 9), to);
	ipam__buf_printf(buf, "%s %s %s ", from, to, cidr);
	for (int i = 0; i < 8; i++)
		put_field(buf,
			  ipam__col_text(stmt, order[i]),
			  i == 7);
}

int ipam_history_query(ipam *db, int64_t scope, const ipam_cidr *cidr,
		       int64_t from, int64_t to, bool json, char **out,
		       size_t *len, ipam_err *err)
{
	ipam_stmt *stmt;
	char text[IPAM_CIDR_STRLEN];
	ipam__buf buf = {0};
	ipam__jlist list;
	int rc = ipam__read_begin(db, err), step;

	if (rc)
		return rc;
	ipam_cidr_format(cidr, text);
	stmt = ipam__stmt(
		db,
		"SELECT resource_id, resource_type, resource_name, owner,"
		" region, vpc_id, compliance, overlap, start_time, end_time"
		" FROM history WHERE scope_key = ?1 AND family = ?2 AND"
		" start = ?3 AND prefix = ?4 AND start_time <= ?6 AND"
		" (end_time IS NULL OR end_time > ?5)"
		" ORDER BY start_time, key",
		err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	ipam__bind_int64(stmt, 1, scope);
	ipam__bind_cidr(stmt, 2, cidr);
	ipam__bind_int64(stmt, 5, from);
	ipam__bind_int64(stmt, 6, to);
	if (json)
		ipam__jlist_begin(&list, &buf, "HistoryRecords",
				  JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	else
		ipam__buf_printf(&buf,
				 "SampledStartTime SampledEndTime ResourceCidr"
				 " ResourceType ResourceId ResourceRegion"
				 " ResourceOwnerId VpcId"
				 " ResourceComplianceStatus"
				 " ResourceOverlapStatus ResourceName\n");
	while ((step = ipam__step(db, stmt, err)) == 1) {
		json_t *rec = json ? record_json(stmt, text) : NULL;
		if (rec) /* NULL: a type this shape has no name for */
			ipam__jlist_add(&list, rec);
		else if (!json)
			record_text(stmt, text, &buf);
	}
	ipam__reset(stmt);
	if (step < 0) {
		free(buf.data);
		return ipam__read_end(db, step);
	}
	if (json)
		ipam__jlist_end(&list);
	return ipam__read_end(db, ipam__buf_finish(&buf, out, len, err));
}
