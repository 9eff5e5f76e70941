/*
 * tag.c - what every object has, addressed by its AWS-style id: tags
 * (key/value pairs, L1467 "Tags"), owner/group/mode (permissions as
 * sharing, SPEC §8.5), and the lookup from an id to the object it names.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The table that holds objects of an id, chosen by the id's prefix. */
static const char *table_of(const char *id, ipam_kind *kind)
{
	if (!strncmp(id, "ipam-scope-", 11)) {
		*kind = IPAM_KIND_SCOPE;
		return "scope";
	}
	if (!strncmp(id, "ipam-pool-alloc-", 16)) {
		*kind = IPAM_KIND_ALLOCATION;
		return "allocation";
	}
	if (!strncmp(id, "ipam-pool-cidr-", 15))
		return NULL;
	if (!strncmp(id, "ipam-res-disco-", 15)) {
		*kind = IPAM_KIND_DISCOVERY;
		return "discovery";
	}
	if (!strncmp(id, "ipam-prefix-list-resolver-", 26)) {
		*kind = IPAM_KIND_PREFIX_LIST;
		return "prefix_list";
	}
	if (!strncmp(id, "ipam-policy-", 12)) {
		*kind = IPAM_KIND_POLICY;
		return "policy";
	}
	if (!strncmp(id, "ipam-pool-", 10)) {
		*kind = IPAM_KIND_POOL;
		return "pool";
	}
	if (!strncmp(id, "ipam-", 5)) {
		*kind = IPAM_KIND_IPAM;
		return "ipam";
	}
	return NULL;
}

static int lookup(ipam *db, const char *id, ipam_kind *kind, int64_t *key,
		  ipam_err *err)
{
	static const char *const sql[] = {
		[IPAM_KIND_IPAM] = "SELECT id FROM ipam WHERE aws_id = ?1",
		[IPAM_KIND_SCOPE] = "SELECT key FROM scope WHERE aws_id = ?1",
		[IPAM_KIND_POOL] = "SELECT key FROM pool WHERE aws_id = ?1",
		[IPAM_KIND_ALLOCATION] =
			"SELECT key FROM allocation WHERE aws_id = ?1",
		[IPAM_KIND_DISCOVERY] =
			"SELECT key FROM discovery WHERE aws_id = ?1",
		[IPAM_KIND_PREFIX_LIST] =
			"SELECT key FROM prefix_list WHERE aws_id = ?1",
		[IPAM_KIND_POLICY] = "SELECT key FROM policy WHERE aws_id = ?1",
	};
	ipam_kind k = IPAM_KIND_IPAM;
	ipam_stmt *stmt;
	int rc;

	if (!table_of(id, &k))
		return ipam__fail(err, IPAM_ENOENT, "no object '%.80s'", id);
	stmt = ipam__stmt(db, sql[k], err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, id, -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		if (kind)
			*kind = k;
		if (key)
			*key = ipam__col_int64(stmt, 0);
		rc = 0;
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_ENOENT, "no object '%.80s'", id);
	}
	ipam__reset(stmt);
	return rc;
}

int ipam_id_lookup(ipam *db, const char *object_id, ipam_kind *kind,
		   int64_t *key, ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db, lookup(db, object_id, kind, key, err));
}

int ipam_id_list(ipam *db, ipam_strlist *out, ipam_err *err)
{
	int rc = ipam__read_begin(db, err);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	return ipam__read_end(
		db,
		ipam__collect_text(
			db,
			ipam__stmt(db,
				   "SELECT aws_id FROM scope UNION ALL"
				   " SELECT aws_id FROM pool UNION ALL"
				   " SELECT aws_id FROM allocation UNION ALL"
				   " SELECT aws_id FROM discovery UNION ALL"
				   " SELECT aws_id FROM prefix_list UNION ALL"
				   " SELECT aws_id FROM policy ORDER BY 1",
				   err),
			out, err));
}

int ipam_tag_list(ipam *db, const char *object_id, ipam_strlist *out,
		  ipam_err *err)
{
	ipam_stmt *stmt;
	int rc = ipam__read_begin(db, err);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	if ((rc = lookup(db, object_id, NULL, NULL, err)))
		return ipam__read_end(db, rc);
	stmt = ipam__stmt(db,
			  "SELECT key FROM tag WHERE object_id = ?1"
			  " ORDER BY key",
			  err);
	if (stmt)
		ipam__bind_text(stmt, 1, object_id, -1);
	return ipam__read_end(db, ipam__collect_text(db, stmt, out, err));
}

int ipam_tag_get(ipam *db, const char *object_id, const char *key, char **out,
		 ipam_err *err)
{
	ipam_stmt *stmt;
	int rc = ipam__read_begin(db, err);

	*out = NULL;
	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "SELECT value FROM tag WHERE object_id = ?1"
			  " AND key = ?2",
			  err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	ipam__bind_text(stmt, 1, object_id, -1);
	ipam__bind_text(stmt, 2, key, -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		*out = ipam__strdup(ipam__col_text(stmt, 0));
		rc = *out ? 0 : ipam__fail(err, IPAM_ENOMEM, "out of memory");
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_ENOENT, "no tag '%.64s' on %s", key,
				object_id);
	}
	ipam__reset(stmt);
	return ipam__read_end(db, rc);
}

/* Sets (value != NULL) or removes (value == NULL) one tag. */
static int tag_change(ipam *db, const char *object_id, const char *key,
		      const char *value, ipam_err *err)
{
	ipam_stmt *stmt;
	int rc = lookup(db, object_id, NULL, NULL, err);

	if (rc)
		return rc;
	if (value) {
		stmt = ipam__stmt(db,
				  "INSERT INTO tag(object_id, key, value)"
				  " VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE"
				  " SET value = excluded.value",
				  err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_text(stmt, 3, value, -1);
	} else {
		stmt = ipam__stmt(db,
				  "DELETE FROM tag WHERE object_id = ?1"
				  " AND key = ?2",
				  err);
		if (!stmt)
			return ipam__stmt_error(err);
	}
	ipam__bind_text(stmt, 1, object_id, -1);
	ipam__bind_text(stmt, 2, key, -1);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	if (!value && ipam__changes(db) == 0)
		return ipam__fail(err, IPAM_ENOENT, "no tag '%.64s' on %s", key,
				  object_id);
	return ipam__event(db, value ? "create-tags" : "delete-tags", object_id,
			   value ? json_pack("{s:o, s:o}", "key",
					     json_string(key), "value",
					     json_string(value))
				 : json_pack("{s:o}", "key", json_string(key)),
			   err);
}

int ipam_tag_set(ipam *db, const char *object_id, const char *key,
		 const char *value, ipam_err *err)
{
	int rc = ipam__check_tag(key, value, err);
	if (rc)
		return rc;
	if ((rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(db, tag_change(db, object_id, key, value, err),
			       err);
}

int ipam_tag_remove(ipam *db, const char *object_id, const char *key,
		    ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, tag_change(db, object_id, key, NULL, err),
			       err);
}

int ipam__tags_drop(ipam *db, const char *object_id, ipam_err *err)
{
	ipam_stmt *stmt =
		ipam__stmt(db, "DELETE FROM tag WHERE object_id = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, object_id, -1);
	return ipam__exec(db, stmt, err);
}

/* [{"Key":..,"Value":..}] of an object, sorted by key. */
json_t *ipam__tags_json(ipam *db, const char *object_id)
{
	json_t *tags = json_array();
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT key, value FROM tag WHERE"
					" object_id = ?1 ORDER BY key",
					NULL);
	int step;
	if (!stmt || !tags) {
		ipam__oom = 1; /* the view cannot be whole: fail the call */
		return tags;
	}
	ipam__bind_text(stmt, 1, object_id, -1);
	while ((step = ipam__step_stmt(stmt)) == IPAM_ROW)
		json_array_append_new(
			tags,
			json_pack("{s:o, s:o}", "Key",
				  json_string(ipam__col_text(
					  stmt, 0)),
				  "Value",
				  json_string(ipam__col_text(
					  stmt, 1))));
	if (step != IPAM_DONE)
		ipam__oom = 1;
	ipam__reset(stmt);
	return tags;
}

int ipam_perm_get(ipam *db, const char *object_id, ipam_perm *out,
		  ipam_err *err)
{
	static const char *const sql[] = {
		[IPAM_KIND_SCOPE] = "SELECT uid, gid, mode FROM scope"
				    " WHERE aws_id = ?1",
		[IPAM_KIND_POOL] = "SELECT uid, gid, mode FROM pool"
				   " WHERE aws_id = ?1",
		[IPAM_KIND_ALLOCATION] = "SELECT uid, gid, mode FROM"
					 " allocation WHERE aws_id = ?1",
	};
	ipam_kind kind = IPAM_KIND_IPAM;
	ipam_stmt *stmt;
	int rc;

	if (!table_of(object_id, &kind) || kind == IPAM_KIND_IPAM ||
	    kind == IPAM_KIND_DISCOVERY)
		return ipam__fail(err, IPAM_ENOENT, "no permissions on '%.80s'",
				  object_id);
	if ((rc = ipam__read_begin(db, err)))
		return rc;
	stmt = ipam__stmt(db, sql[kind], err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	ipam__bind_text(stmt, 1, object_id, -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		out->uid = (uint32_t)ipam__col_int64(stmt, 0);
		out->gid = (uint32_t)ipam__col_int64(stmt, 1);
		out->mode = (uint32_t)ipam__col_int64(stmt, 2);
		rc = 0;
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_ENOENT, "no object '%.80s'",
				object_id);
	}
	ipam__reset(stmt);
	return ipam__read_end(db, rc);
}

static int perm_change(ipam *db, const char *object_id, const ipam_perm *p,
		       ipam_err *err)
{
	static const char *const sql[] = {
		[IPAM_KIND_SCOPE] = "UPDATE scope SET uid = ?2, gid = ?3,"
				    " mode = ?4 WHERE aws_id = ?1",
		[IPAM_KIND_POOL] = "UPDATE pool SET uid = ?2, gid = ?3,"
				   " mode = ?4 WHERE aws_id = ?1",
		[IPAM_KIND_ALLOCATION] = "UPDATE allocation SET uid = ?2,"
					 " gid = ?3, mode = ?4 WHERE"
					 " aws_id = ?1",
	};
	ipam_kind kind = IPAM_KIND_IPAM;
	ipam_stmt *stmt;
	int rc;

	if (!table_of(object_id, &kind) || kind == IPAM_KIND_IPAM ||
	    kind == IPAM_KIND_DISCOVERY)
		return ipam__fail(err, IPAM_EPERM,
				  "'%.80s' has no permissions to change",
				  object_id);
	stmt = ipam__stmt(db, sql[kind], err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, object_id, -1);
	ipam__bind_int64(stmt, 2, p->uid);
	ipam__bind_int64(stmt, 3, p->gid);
	ipam__bind_int64(stmt, 4, p->mode & 07777);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	if (ipam__changes(db) == 0)
		return ipam__fail(err, IPAM_ENOENT, "no object '%.80s'",
				  object_id);
	return ipam__event(db, "modify-permissions", object_id,
			   json_pack("{s:I, s:I, s:I}", "owner",
				     (json_int_t)p->uid, "group",
				     (json_int_t)p->gid, "mode",
				     (json_int_t)(p->mode & 07777)),
			   err);
}

int ipam_perm_set(ipam *db, const char *object_id, const ipam_perm *perm,
		  ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, perm_change(db, object_id, perm, err), err);
}
