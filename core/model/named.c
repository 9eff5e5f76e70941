/*
 * named.c - what the objects known by a name of their own (prefix-list
 * resolvers, IPAM policies) share: listing them by name, creating one with
 * a fresh id and its creation event, and removing one with the rows that
 * hang off its key, its tags and its deletion event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int ipam__names_list(ipam *db, const char *sql, ipam_strlist *out,
		     ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	return ipam__read_end(
		db, ipam__collect_text(db, ipam__stmt(db, sql, err), out, err));
}

int ipam__exec_key(ipam *db, const char *sql, int64_t key, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, sql, err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	return ipam__exec(db, stmt, err);
}

int ipam__count(ipam *db, const char *sql, int64_t *out, ipam_err *err)
{
	return ipam__count_key(db, sql, 0, out, err);
}

int ipam__count_key(ipam *db, const char *sql, int64_t key, int64_t *out,
		    ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, sql, err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	if (strstr(sql, "?1"))
		ipam__bind_int64(stmt, 1, key);
	rc = ipam__step(db, stmt, err);
	if (rc == 1)
		*out = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	if (rc == 0)
		rc = ipam__fail(err, IPAM_EIO, "a count returned no row");
	return rc < 0 ? rc : 0;
}

int ipam__named_insert(ipam *db, const ipam__named *kind, const char *name,
		       ipam_err *err)
{
	char id[IPAM_ID_MAX];
	ipam_stmt *stmt;
	int rc = ipam__new_id(db, kind->id_prefix, false, id, err);
	if (rc)
		return rc;
	if (!(stmt = ipam__stmt(db, kind->insert, err)))
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, id, -1);
	ipam__bind_text(stmt, 2, name, -1);
	ipam__bind_int64(stmt, 3, ipam__now(db));
	rc = ipam__exec(db, stmt, NULL);
	if (rc == IPAM_EEXIST)
		return ipam__fail(err, IPAM_EEXIST, "%s '%s' exists",
				  kind->what, name);
	if (rc)
		return ipam__fail(err, rc, "cannot create %s '%s'", kind->what,
				  name);
	return ipam__event(db, kind->created, id,
			   json_pack("{s:o}", "name", json_string(name)), err);
}

int ipam__named_remove(ipam *db, const ipam__named *kind, int64_t key,
		       const char *id, const char *name, ipam_err *err)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && kind->remove[i]; i++)
		rc = ipam__exec_key(db, kind->remove[i], key, err);
	if (rc || (rc = ipam__tags_drop(db, id, err)))
		return rc;
	return ipam__event(db, kind->deleted, id,
			   json_pack("{s:o}", "name", json_string(name)), err);
}
