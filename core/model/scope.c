/*
 * scope.c - scopes, the top-level containers of IP space (L211). Every IPAM
 * has a default private and a default public scope that cannot be removed;
 * more private scopes may be added (L1289) up to the `scopes` quota, and
 * removed while they hold no pools (L1402).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SCOPE_COLUMNS                                                          \
	"SELECT key, aws_id, name, is_public, is_default, description,"        \
	" n_pools,"                                                            \
	" created FROM scope "

static void scope_row(ipam_stmt *stmt, ipam_scope_info *out)
{
	memset(out, 0, sizeof(*out));
	out->key = ipam__col_int64(stmt, 0);
	ipam__copy_text(out->id, sizeof(out->id), stmt, 1);
	ipam__copy_text(out->name, sizeof(out->name), stmt, 2);
	out->is_public = ipam__col_int(stmt, 3) != 0;
	out->is_default = ipam__col_int(stmt, 4) != 0;
	ipam__copy_text(out->description, sizeof(out->description), stmt, 5);
	out->pool_count = ipam__col_int64(stmt, 6);
	out->created = ipam__col_int64(stmt, 7);
}

/* Runs a one-row scope query bound to either a name or a key. */
static int scope_fetch(ipam *db, ipam_stmt *stmt, ipam_scope_info *out,
		       const char *what, ipam_err *err)
{
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		scope_row(stmt, out);
		rc = 0;
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_ENOENT, "no scope '%s'", what);
	}
	ipam__reset(stmt);
	return rc;
}

int ipam__scope_load_name(ipam *db, const char *name, ipam_scope_info *out,
			  ipam_err *err)
{
	ipam_stmt *stmt =
		ipam__stmt(db, SCOPE_COLUMNS "WHERE name = ?1", err);
	if (stmt)
		ipam__bind_text(stmt, 1, name, -1);
	return scope_fetch(db, stmt, out, name, err);
}

int ipam_scope_get(ipam *db, const char *name, ipam_scope_info *out,
		   ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db, ipam__scope_load_name(db, name, out, err));
}

int ipam_scope_get_by_key(ipam *db, int64_t key, ipam_scope_info *out,
			  ipam_err *err)
{
	ipam_stmt *stmt;
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	stmt = ipam__stmt(db, SCOPE_COLUMNS "WHERE key = ?1", err);
	if (stmt)
		ipam__bind_int64(stmt, 1, key);
	return ipam__read_end(db, scope_fetch(db, stmt, out, "(by key)", err));
}

int ipam_scope_searchable(ipam *db, int64_t scope, bool *out, ipam_err *err)
{
	ipam_stmt *stmt;
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "SELECT (SELECT mode & 1 FROM scope WHERE key = ?1) <> 0"
			  " AND NOT EXISTS (SELECT 1 FROM pool WHERE"
			  " scope_key = ?1 AND mode & 1 = 0) AND NOT EXISTS"
			  " (SELECT 1 FROM allocation a JOIN pool p ON"
			  " p.key = a.pool_key WHERE p.scope_key = ?1 AND"
			  " a.mode & 1 = 0)",
			  err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	ipam__bind_int64(stmt, 1, scope);
	rc = ipam__step(db, stmt, err);
	*out = rc == 1 && ipam__col_int(stmt, 0);
	ipam__reset(stmt);
	return ipam__read_end(db, rc < 0 ? rc : 0);
}

int ipam_scope_list(ipam *db, ipam_strlist *out, ipam_err *err)
{
	int rc = ipam__read_begin(db, err);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	return ipam__read_end(
		db, ipam__collect_text(db,
				       ipam__stmt(db,
						  "SELECT name FROM scope"
						  " ORDER BY name",
						  err),
				       out, err));
}

static int scope_insert(ipam *db, const char *name, int64_t *out_key,
			ipam_err *err)
{
	ipam_scope_info existing;
	int64_t quota = 0, count = 0;
	char id[IPAM_ID_MAX];
	ipam_stmt *stmt;
	int rc = ipam__scope_load_name(db, name, &existing, NULL);

	ipam_info info;

	if (rc == 0)
		return ipam__fail(err, IPAM_EEXIST, "scope '%s' exists", name);
	if ((rc = ipam__info_load(db, &info, err)))
		return rc;
	if (info.tier == IPAM_TIER_FREE)
		return ipam__fail(err, IPAM_EPERM,
				  "cannot create scope '%s': the free tier has "
				  "only the default scopes (set ipam tier to "
				  "advanced)",
				  name);
	if ((rc = ipam_quota_get(db, IPAM_QUOTA_SCOPES, &quota, err)))
		return rc;
	stmt = ipam__stmt(db, "SELECT count(*) FROM scope", err);
	if (!stmt)
		return ipam__stmt_error(err);
	if (ipam__step(db, stmt, err) == 1)
		count = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	if (count >= quota)
		return ipam__fail(err, IPAM_EDQUOT,
				  "cannot create scope '%s': quota of %lld "
				  "scopes reached",
				  name, (long long)quota);
	if ((rc = ipam__new_id(db, "ipam-scope-", false, id, err)))
		return rc;
	stmt = ipam__stmt(db,
			  "INSERT INTO scope(aws_id, name, is_public,"
			  " is_default, created, uid, gid, mode)"
			  " VALUES (?1, ?2, 0, 0, ?3, ?4, ?5, ?6)",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, id, -1);
	ipam__bind_text(stmt, 2, name, -1);
	ipam__bind_int64(stmt, 3, ipam__now(db));
	ipam__bind_int64(stmt, 4, db->actor.uid);
	ipam__bind_int64(stmt, 5, db->actor.gid);
	ipam__bind_int(stmt, 6, IPAM_MODE_NEW);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	if (out_key)
		*out_key = ipam__last_insert_id(db);
	return ipam__event(
		db, "create-ipam-scope", id,
		json_pack("{s:s, s:s}", "name", name, "type", "private"), err);
}

int ipam_scope_create(ipam *db, const char *name, int64_t *out_key,
		      ipam_err *err)
{
	int rc = ipam_name_check(name, err);
	if (rc)
		return rc;
	if ((rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(db, scope_insert(db, name, out_key, err), err);
}

static int scope_remove(ipam *db, const char *name, ipam_err *err)
{
	ipam_scope_info scope;
	ipam_stmt *stmt;
	int rc = ipam__scope_load_name(db, name, &scope, err);

	if (rc)
		return rc;
	if (scope.is_default)
		return ipam__fail(err, IPAM_EPERM,
				  "cannot delete scope '%s': it is a default "
				  "scope",
				  name);
	if (scope.pool_count)
		return ipam__fail(err, IPAM_ENOTEMPTY,
				  "cannot delete scope '%s': it has %lld "
				  "pool%s",
				  name, (long long)scope.pool_count,
				  scope.pool_count == 1 ? "" : "s");
	stmt = ipam__stmt(db,
			  "SELECT (SELECT count(*) FROM resource WHERE"
			  " scope_key = ?1), (SELECT name FROM discovery WHERE"
			  " scope_key = ?1 LIMIT 1)",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, scope.key);
	if ((rc = ipam__step(db, stmt, err)) == 1) {
		int64_t resources = ipam__col_int64(stmt, 0);
		const char *feeder = ipam__col_text(stmt, 1);
		rc = 0;
		if (resources)
			rc = ipam__fail(err, IPAM_ENOTEMPTY,
					"cannot delete scope '%s': it has "
					"%lld resource%s",
					name, (long long)resources,
					resources == 1 ? "" : "s");
		else if (feeder)
			rc = ipam__fail(err, IPAM_EBUSY,
					"cannot delete scope '%s': discovery "
					"'%s' feeds it",
					name, feeder);
	}
	ipam__reset(stmt);
	if (rc)
		return rc;
	stmt = ipam__stmt(db, "DELETE FROM scope WHERE key = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, scope.key);
	if ((rc = ipam__exec(db, stmt, err)) ||
	    (rc = ipam__tags_drop(db, scope.id, err)))
		return rc;
	return ipam__event(db, "delete-ipam-scope", scope.id,
			   json_pack("{s:o}", "name", json_string(name)), err);
}

int ipam_scope_delete(ipam *db, const char *name, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, scope_remove(db, name, err), err);
}

static int scope_describe(ipam *db, int64_t key, const char *text,
			  ipam_err *err)
{
	ipam_stmt *stmt =
		ipam__stmt(db,
			   "UPDATE scope SET description = ?2 WHERE key = ?1"
			   " RETURNING aws_id",
			   err);
	char id[IPAM_ID_MAX];
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	ipam__bind_text(stmt, 2, text, -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1)
		ipam__copy_text(id, sizeof(id), stmt, 0);
	ipam__reset(stmt);
	if (rc == 0)
		return ipam__fail(err, IPAM_ENOENT, "no such scope");
	if (rc < 0)
		return rc;
	return ipam__event(db, "modify-ipam-scope", id,
			   json_pack("{s:s}", "description", text), err);
}

int ipam_scope_set_description(ipam *db, int64_t scope, const char *text,
			       ipam_err *err)
{
	int rc = ipam__check_text("description", text, IPAM_DESC_MAX, err);
	if (rc)
		return rc;
	if ((rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(db, scope_describe(db, scope, text, err), err);
}
