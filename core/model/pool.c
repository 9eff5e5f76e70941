/*
 * pool.c - IPAM pools (L537-L620): creation in a scope or under a parent
 * pool, their attributes and rules, provisioning and deprovisioning CIDRs,
 * and the usage counters that make `status` cheap.
 *
 * A child pool's CIDR comes out of its parent: provisioning it allocates the
 * block in the parent (resource type "ipam-pool", named by the child's id)
 * and deprovisioning releases it, in the same transaction. Usage counters
 * (total, allocated to pools, assigned) live in the pool row and change in
 * the transaction that changes the space, so reading them never scans.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const strategy_names[] = {
	[IPAM_STRATEGY_FIRST_FIT] = "first-fit",
	[IPAM_STRATEGY_LAST_FIT] = "last-fit",
	[IPAM_STRATEGY_BEST_FIT] = "best-fit",
};

const char *ipam_strategy_name(ipam_strategy strategy)
{
	return (unsigned)strategy <= IPAM_STRATEGY_BEST_FIT
		       ? strategy_names[strategy]
		       : "first-fit";
}

int ipam_strategy_parse(ipam_strategy *out, const char *text)
{
	for (int i = 0; i <= IPAM_STRATEGY_BEST_FIT; i++) {
		if (!strcmp(text, strategy_names[i])) {
			*out = (ipam_strategy)i;
			return 0;
		}
	}
	return IPAM_EINVAL;
}

int ipam__pool_load(ipam *db, int64_t pool, ipam_pool_info *out, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT p.key, p.scope_key, coalesce(p.parent_key, 0), p.aws_id,"
		" p.name, s.aws_id, coalesce(pp.aws_id, ''), s.is_public,"
		" p.family, p.family_locked, p.depth, p.locale, p.auto_import,"
		" p.min_netmask, p.max_netmask, p.default_netmask, p.strategy,"
		" p.description, p.advertisable, p.aws_service,"
		" p.public_ip_source, p.uid, p.created, p.plan_vpc"
		" FROM pool p JOIN scope s ON s.key = p.scope_key"
		" LEFT JOIN pool pp ON pp.key = p.parent_key WHERE p.key = ?1",
		err);
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	rc = ipam__step(db, stmt, err);
	if (rc == 0)
		rc = ipam__fail(err, IPAM_ENOENT, "no such pool");
	if (rc == 1) {
		memset(out, 0, sizeof(*out));
		out->key = ipam__col_int64(stmt, 0);
		out->scope_key = ipam__col_int64(stmt, 1);
		out->parent_key = ipam__col_int64(stmt, 2);
		ipam__copy_text(out->id, sizeof(out->id), stmt, 3);
		ipam__copy_text(out->name, sizeof(out->name), stmt, 4);
		ipam__copy_text(out->scope_id, sizeof(out->scope_id), stmt, 5);
		ipam__copy_text(out->source_id, sizeof(out->source_id), stmt,
				6);
		out->is_public = ipam__col_int(stmt, 7) != 0;
		out->family = ipam__col_int(stmt, 8);
		out->family_locked = ipam__col_int(stmt, 9) != 0;
		out->depth = ipam__col_int(stmt, 10);
		ipam__copy_text(out->locale, sizeof(out->locale), stmt, 11);
		out->auto_import = ipam__col_int(stmt, 12) != 0;
		out->min_netmask = ipam__col_int(stmt, 13);
		out->max_netmask = ipam__col_int(stmt, 14);
		out->default_netmask = ipam__col_int(stmt, 15);
		out->strategy = (ipam_strategy)ipam__col_int(stmt, 16);
		ipam__copy_text(out->description, sizeof(out->description),
				stmt, 17);
		out->publicly_advertisable = ipam__col_int(stmt, 18) != 0;
		ipam__copy_text(out->aws_service, sizeof(out->aws_service),
				stmt, 19);
		ipam__copy_text(out->public_ip_source,
				sizeof(out->public_ip_source), stmt, 20);
		out->owner_uid = (uint32_t)ipam__col_int64(stmt, 21);
		out->created = ipam__col_int64(stmt, 22);
		ipam__copy_text(out->plan_vpc, sizeof(out->plan_vpc), stmt,
				23);
		rc = 0;
	}
	ipam__reset(stmt);
	return rc;
}

int ipam_pool_get(ipam *db, int64_t pool, ipam_pool_info *out, ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db, ipam__pool_load(db, pool, out, err));
}

static int pool_find(ipam *db, int64_t scope, int64_t parent, const char *name,
		     int64_t *out_key, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT key FROM pool WHERE"
					" scope_key = ?1 AND"
					" coalesce(parent_key, 0) = ?2 AND"
					" name = ?3",
					err);
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, scope);
	ipam__bind_int64(stmt, 2, parent);
	ipam__bind_text(stmt, 3, name, -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		if (out_key)
			*out_key = ipam__col_int64(stmt, 0);
		rc = 0;
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_ENOENT, "no pool '%.80s'", name);
	}
	ipam__reset(stmt);
	return rc;
}

int ipam_pool_lookup(ipam *db, int64_t scope, int64_t parent, const char *name,
		     int64_t *out_key, ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db,
			      pool_find(db, scope, parent, name, out_key, err));
}

int ipam_pool_list(ipam *db, int64_t scope, int64_t parent, ipam_strlist *out,
		   ipam_err *err)
{
	ipam_stmt *stmt;
	int rc = ipam__read_begin(db, err);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "SELECT name FROM pool WHERE scope_key = ?1 AND"
			  " coalesce(parent_key, 0) = ?2 ORDER BY name",
			  err);
	if (stmt) {
		ipam__bind_int64(stmt, 1, scope);
		ipam__bind_int64(stmt, 2, parent);
	}
	return ipam__read_end(db, ipam__collect_text(db, stmt, out, err));
}

/* One integer of a one-row query bound to a key; -1 on error. */
/* The integer `sql` selects for `key` in *out: 0, IPAM_ENOENT when no row,
 * or an ipam_code. */
static int count_of(ipam *db, const char *sql, int64_t key, int64_t *out,
		    ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, sql, err);
	int rc;
	*out = 0;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	rc = ipam__step(db, stmt, err);
	if (rc == IPAM_ROW)
		*out = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	return rc < 0		 ? rc
	       : rc == IPAM_DONE ? ipam__fail(err, IPAM_ENOENT, "no such object")
				 : 0;
}

/* Keeps scope.n_pools, which path resolution reads on every lookup of a
 * scope, without counting the scope's pools each time. */
static int scope_pools_add(ipam *db, int64_t scope, int delta, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db, "UPDATE scope SET n_pools = n_pools + ?2 WHERE key = ?1",
		err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, scope);
	ipam__bind_int(stmt, 2, delta);
	return ipam__exec(db, stmt, err);
}

int ipam__path_check(ipam *db, const ipam_pool_info *p, const char *below,
		     const char *name, ipam_err *err)
{
	/* "scopes/" S "/pools/" + per level NAME "/pools/", then BELOW "/"
	 * NAME: shallow pools cannot reach the limit, spare them the query */
	size_t level = IPAM_NAME_MAX + 7, len = 0;
	if ((size_t)p->depth * level + 2 * level + 16 <= IPAM_PATH_MAX)
		return 0;
	ipam_stmt *stmt = ipam__stmt(
		db,
		"WITH RECURSIVE up(key, len) AS ("
		" SELECT parent_key, length(CAST(name AS BLOB)) FROM pool"
		" WHERE key = ?1 UNION ALL SELECT p.parent_key,"
		" length(CAST(p.name AS BLOB)) + 7 FROM pool p"
		" JOIN up ON p.key = up.key)"
		" SELECT (SELECT sum(len) FROM up) + (SELECT"
		" length(CAST(s.name AS BLOB)) + 14 FROM scope s JOIN pool p"
		" ON p.scope_key = s.key WHERE p.key = ?1)",
		err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, p->key);
	int rc = ipam__step(db, stmt, err);
	if (rc == 1)
		len = (size_t)ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	if (rc < 0)
		return rc;
	len += 1 + strlen(below) + 1 + strlen(name);
	if (len > IPAM_PATH_MAX)
		return ipam__fail(err, IPAM_ENAMETOOLONG,
				  "the path of %s '%.64s' under pool '%.64s' "
				  "would be %zu bytes long (at most %d, so "
				  "that its /by-id link can be read)",
				  strcmp(below, "pools") ? "allocation"
							 : "pool",
				  name, p->name, len, IPAM_PATH_MAX);
	return 0;
}

/* Checks the quotas a new pool at `depth` in `scope` must fit. */
static int pool_quotas(ipam *db, int64_t scope, int depth, const char *name,
		       ipam_err *err)
{
	int64_t per_scope = 0, max_depth = 0, count;
	int rc =
		ipam_quota_get(db, IPAM_QUOTA_POOLS_PER_SCOPE, &per_scope, err);

	if (rc == 0)
		rc = ipam_quota_get(db, IPAM_QUOTA_POOL_DEPTH, &max_depth, err);
	if (rc)
		return rc;
	if (depth > max_depth)
		return ipam__fail(err, IPAM_EDQUOT,
				  "cannot create pool '%s': depth %d exceeds "
				  "the pool-depth quota (%lld)",
				  name, depth, (long long)max_depth);
	rc = count_of(db, "SELECT n_pools FROM scope WHERE key = ?1", scope,
		      &count, err);
	if (rc)
		return rc;
	if (count >= per_scope)
		return ipam__fail(err, IPAM_EDQUOT,
				  "cannot create pool '%s': the scope has "
				  "%lld pool%s (pools-per-scope quota)",
				  name, (long long)count,
				  count == 1 ? "" : "s");
	return 0;
}

static int pool_insert(ipam *db, int64_t scope, int64_t parent,
		       const char *name, int64_t *out_key, ipam_err *err)
{
	ipam_pool_info up;
	ipam_scope_info sc;
	char id[IPAM_ID_MAX];
	unsigned char zero[16] = {0};
	ipam_stmt *stmt;
	int depth = 1, rc = ipam_scope_get_by_key(db, scope, &sc, err);
	ipam_info info;

	if (rc || (rc = ipam__info_load(db, &info, err)))
		return rc;
	if (!sc.is_public && info.tier == IPAM_TIER_FREE)
		return ipam__fail(err, IPAM_EPERM,
				  "cannot create pool '%s': the free tier has "
				  "no private scope pools (set ipam tier to "
				  "advanced)",
				  name);
	if (parent) {
		if ((rc = ipam__pool_load(db, parent, &up, err)))
			return rc;
		if (up.scope_key != scope)
			return ipam__fail(err, IPAM_EINVAL,
					  "parent pool '%s' is in another "
					  "scope",
					  up.name);
		depth = up.depth + 1;
	}
	if (pool_find(db, scope, parent, name, NULL, NULL) == 0)
		return ipam__fail(err, IPAM_EEXIST, "pool '%s' exists", name);
	if (parent && (rc = ipam__path_check(db, &up, "pools", name, err)))
		return rc;
	if ((rc = pool_quotas(db, scope, depth, name, err)) ||
	    (rc = ipam__new_id(db, "ipam-pool-", false, id, err)))
		return rc;
	stmt = ipam__stmt(db,
			  "INSERT INTO pool(aws_id, scope_key, parent_key,"
			  " name, depth, family, locale, total, to_pools,"
			  " assigned, created, uid, gid, mode, advertisable,"
			  " plan_vpc)"
			  " VALUES (?1, ?2, nullif(?3, 0), ?4, ?5, ?6, ?7,"
			  " ?8, ?8, ?8, ?9, ?10, ?11, ?13, ?12, ?14)",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, id, -1);
	ipam__bind_int64(stmt, 2, scope);
	ipam__bind_int64(stmt, 3, parent);
	ipam__bind_text(stmt, 4, name, -1);
	ipam__bind_int(stmt, 5, depth);
	ipam__bind_int(stmt, 6, parent ? up.family : 4);
	ipam__bind_text(stmt, 7, parent ? up.locale : "", -1);
	ipam__bind_blob(stmt, 8, zero, 16);
	ipam__bind_int64(stmt, 9, ipam__now(db));
	ipam__bind_int64(stmt, 10, db->actor.uid);
	ipam__bind_int64(stmt, 11, db->actor.gid);
	ipam__bind_int(stmt, 12, sc.is_public);
	ipam__bind_int(stmt, 13, IPAM_MODE_NEW);
	/* a subnet pool inherits its source's resource planning (L8939) */
	ipam__bind_text(stmt, 14, parent ? up.plan_vpc : "", -1);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	if (out_key)
		*out_key = ipam__last_insert_id(db);
	if ((rc = scope_pools_add(db, scope, +1, err)))
		return rc;
	return ipam__event(db, "create-ipam-pool", id,
			   json_pack("{s:s, s:s, s:s, s:i}", "name", name,
				     "scope", sc.id, "source",
				     parent ? up.id : "scope", "depth", depth),
			   err);
}

int ipam_pool_create(ipam *db, int64_t scope, int64_t parent, const char *name,
		     int64_t *out_key, ipam_err *err)
{
	int rc = ipam_name_check(name, err);
	if (rc)
		return rc;
	if ((rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(
		db, pool_insert(db, scope, parent, name, out_key, err), err);
}

int ipam__pool_remove(ipam *db, int64_t pool, ipam_err *err)
{
	ipam_pool_info p;
	ipam_stmt *stmt;
	int64_t n;
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc)
		return rc;
	rc = count_of(db, "SELECT count(*) FROM pool WHERE parent_key = ?1",
		      pool, &n, err);
	if (rc == 0 && n != 0)
		rc = ipam__fail(err, IPAM_ENOTEMPTY,
				"cannot delete pool '%s': it has "
				"%lld child pool%s",
				p.name, (long long)n, n == 1 ? "" : "s");
	if (rc == 0)
		rc = ipam__policy_pool_check(db, &p, err);
	if (rc == 0)
		rc = count_of(db, "SELECT n_cidrs FROM pool WHERE key = ?1",
			      pool, &n, err);
	if (rc == 0 && n != 0)
		rc = ipam__fail(err, IPAM_EBUSY,
				"cannot delete pool '%s': it has "
				"%lld provisioned CIDR%s; deprovision "
				"%s first",
				p.name, (long long)n, n == 1 ? "" : "s",
				n == 1 ? "it" : "them");
	if (rc)
		return rc;
	stmt = ipam__stmt(db, "DELETE FROM pool_rule_tag WHERE pool_key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	if ((rc = ipam__exec(db, stmt, err)) ||
	    (rc = ipam__byoip_pool_drop(db, pool, err)))
		return rc;
	stmt = ipam__stmt(db, "DELETE FROM pool WHERE key = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	if ((rc = ipam__exec(db, stmt, err)) ||
	    (rc = scope_pools_add(db, p.scope_key, -1, err)) ||
	    (rc = ipam__tags_drop(db, p.id, err)))
		return rc;
	return ipam__event(db, "delete-ipam-pool", p.id,
			   json_pack("{s:o}", "name", json_string(p.name)),
			   err);
}

int ipam_pool_delete(ipam *db, int64_t pool, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, ipam__pool_remove(db, pool, err), err);
}

/* ---- attributes ---- */

/*
 * Runs an UPDATE of one pool column (?1 = key, ?2 = value) and logs it.
 * The column gets `stored` (NULL: the JSON value itself, a string or a
 * boolean); the change log gets `value` (reference stolen).
 */
static int pool_update(ipam *db, const ipam_pool_info *p, const char *sql,
		       const char *field, json_t *value, const int64_t *stored,
		       ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, sql, err);
	int rc;

	if (!stmt) {
		json_decref(value);
		return ipam__stmt_error(err);
	}
	ipam__bind_int64(stmt, 1, p->key);
	if (stored)
		ipam__bind_int64(stmt, 2, *stored);
	else if (json_is_string(value))
		ipam__bind_text(stmt, 2, json_string_value(value), -1);
	else
		ipam__bind_int(stmt, 2, json_is_true(value));
	if ((rc = ipam__exec(db, stmt, err))) {
		json_decref(value);
		return rc;
	}
	return ipam__event(db, "modify-ipam-pool", p->id,
			   json_pack("{s:o}", field, value), err);
}

int ipam_pool_set_description(ipam *db, int64_t pool, const char *text,
			      ipam_err *err)
{
	ipam_pool_info p;
	int rc = ipam__check_text("description", text, IPAM_DESC_MAX, err);

	if (rc || (rc = ipam__write_begin(db, err)))
		return rc;
	rc = ipam__pool_load(db, pool, &p, err);
	if (rc == 0)
		rc = pool_update(db, &p,
				 "UPDATE pool SET description = ?2"
				 " WHERE key = ?1",
				 "description", json_string(text), NULL, err);
	return ipam__write_end(db, rc, err);
}

static int family_change(ipam *db, int64_t pool, int family, ipam_err *err)
{
	ipam_pool_info p;
	int64_t children;
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc)
		return rc;
	if (family == p.family)
		return 0;
	if (p.parent_key)
		return ipam__fail(err, IPAM_EPERM,
				  "pool '%s' inherits its address family from "
				  "its source pool",
				  p.name);
	if (p.family_locked)
		return ipam__fail(err, IPAM_EPERM,
				  "cannot change the address family of pool "
				  "'%s': a CIDR was provisioned",
				  p.name);
	if (family == 4 && (p.min_netmask > 32 || p.max_netmask > 32 ||
			    p.default_netmask > 32))
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot make pool '%s' ipv4: its netmask "
				  "rules go beyond /32",
				  p.name);
	rc = count_of(db, "SELECT count(*) FROM pool WHERE parent_key = ?1",
		      pool, &children, err);
	if (rc)
		return rc;
	if (children)
		return ipam__fail(err, IPAM_EBUSY,
				  "cannot change the address family of pool "
				  "'%s': it has child pools",
				  p.name);
	{
		int64_t stored = family;
		return pool_update(db, &p,
				   "UPDATE pool SET family = ?2 WHERE key = ?1",
				   "address-family",
				   json_string(ipam_family_name(family)),
				   &stored, err);
	}
}

int ipam_pool_set_family(ipam *db, int64_t pool, int family, ipam_err *err)
{
	int rc;
	if (family != 4 && family != 6)
		return ipam__fail(err, IPAM_EINVAL,
				  "address family must be ipv4 or ipv6");
	if ((rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(db, family_change(db, pool, family, err), err);
}

/* The checks of L592, L667, L673 and the parent rule of SPEC §3.2. */
static int locale_change(ipam *db, int64_t pool, const char *locale,
			 ipam_err *err)
{
	ipam_pool_info p, up;
	ipam_info info;
	ipam_stmt *stmt;
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc)
		return rc;
	if (!strcmp(locale, p.locale))
		return 0;
	if (!*locale)
		return ipam__fail(err, IPAM_EPERM,
				  "locale of pool '%s' is '%s' and cannot be "
				  "changed",
				  p.name, p.locale);
	if (*p.locale)
		return ipam__fail(err, IPAM_EPERM,
				  "locale of pool '%s' is already '%s' and "
				  "cannot be changed",
				  p.name, p.locale);
	if ((rc = ipam__check_locale(locale, err)) ||
	    (rc = ipam__info_load(db, &info, err)))
		return rc;
	if (!ipam_locale_is_operating(db, locale))
		return ipam__fail(err, IPAM_EINVAL,
				  "locale '%s' is not an operating locale of "
				  "the IPAM",
				  locale);
	if (info.tier == IPAM_TIER_FREE && strcmp(locale, info.home_locale))
		return ipam__fail(err, IPAM_EPERM,
				  "free tier pools can only use the home "
				  "locale '%s'",
				  info.home_locale);
	if (p.parent_key) {
		if ((rc = ipam__pool_load(db, p.parent_key, &up, err)))
			return rc;
		if (*up.locale && strcmp(up.locale, locale))
			return ipam__fail(err, IPAM_EINVAL,
					  "locale of pool '%s' must be its "
					  "source pool's locale '%s'",
					  p.name, up.locale);
	}
	stmt = ipam__stmt(db,
			  "SELECT name, locale FROM pool WHERE parent_key = ?1"
			  " AND locale <> '' AND locale <> ?2 LIMIT 1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	ipam__bind_text(stmt, 2, locale, -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1)
		rc = ipam__fail(err, IPAM_EINVAL,
				"child pool '%s' has locale '%s'",
				ipam__col_text(stmt, 0),
				ipam__col_text(stmt, 1));
	ipam__reset(stmt);
	if (rc)
		return rc;
	if ((rc = pool_update(db, &p,
			      "UPDATE pool SET locale = ?2 WHERE key = ?1",
			      "locale", json_string(locale), NULL, err)))
		return rc;
	return ipam__pool_recheck(db, pool, err);
}

int ipam_pool_set_locale(ipam *db, int64_t pool, const char *locale,
			 ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	if (!strcmp(locale, "none") || !strcmp(locale, "None"))
		locale = "";
	return ipam__write_end(db, locale_change(db, pool, locale, err), err);
}

static int auto_import_change(ipam *db, int64_t pool, bool on, ipam_err *err)
{
	ipam_pool_info p;
	int rc = ipam__pool_load(db, pool, &p, err);
	if (rc)
		return rc;
	if (on && !*p.locale)
		return ipam__fail(err, IPAM_EINVAL,
				  "auto-import needs a locale: pool '%s' has "
				  "none",
				  p.name);
	if (on && *p.plan_vpc) /* planning.c: it serves subnets only */
		return ipam__fail(err, IPAM_EINVAL,
				  "pool '%s' plans the space of VPC '%s': "
				  "auto-import (of VPCs and EIPs) does not "
				  "apply",
				  p.name, p.plan_vpc);
	if ((rc = pool_update(db, &p,
			      "UPDATE pool SET auto_import = ?2 WHERE key = ?1",
			      "auto-import", json_boolean(on), NULL, err)))
		return rc;
	return on ? ipam__auto_import_pool(db, pool, err) : 0;
}

int ipam_pool_set_auto_import(ipam *db, int64_t pool, bool on, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, auto_import_change(db, pool, on, err), err);
}

static int netmask_change(ipam *db, int64_t pool, ipam_netmask_rule rule,
			  int len, ipam_err *err)
{
	static const char *const names[] = {
		"allocation-min-netmask-length",
		"allocation-max-netmask-length",
		"allocation-default-netmask-length",
	};
	static const char *const sql[] = {
		"UPDATE pool SET min_netmask = ?2 WHERE key = ?1",
		"UPDATE pool SET max_netmask = ?2 WHERE key = ?1",
		"UPDATE pool SET default_netmask = ?2 WHERE key = ?1",
	};
	ipam_pool_info p;
	int v[3], rc = ipam__pool_load(db, pool, &p, err);
	int width;

	if (rc)
		return rc;
	width = ipam_family_width(p.family);
	if (len < -1 || len > width)
		return ipam__fail(err, IPAM_EINVAL, "%s must be 0..%d, not %d",
				  names[rule], width, len);
	v[IPAM_NETMASK_MIN] = p.min_netmask;
	v[IPAM_NETMASK_MAX] = p.max_netmask;
	v[IPAM_NETMASK_DEFAULT] = p.default_netmask;
	v[rule] = len;
	if (v[0] >= 0 && v[1] >= 0 && v[0] > v[1])
		return ipam__fail(err, IPAM_EINVAL,
				  "allocation-min-netmask-length %d is greater "
				  "than allocation-max-netmask-length %d",
				  v[0], v[1]);
	if (v[2] >= 0 &&
	    ((v[0] >= 0 && v[2] < v[0]) || (v[1] >= 0 && v[2] > v[1])))
		return ipam__fail(err, IPAM_EINVAL,
				  "allocation-default-netmask-length %d is "
				  "outside min..max",
				  v[2]);
	{
		int64_t stored = len;
		rc = pool_update(db, &p, sql[rule], names[rule],
				 len < 0 ? json_string("") : json_integer(len),
				 &stored, err);
	}
	if (rc)
		return rc;
	return ipam__pool_recheck(db, pool, err);
}

int ipam_pool_set_netmask(ipam *db, int64_t pool, ipam_netmask_rule rule,
			  int len, ipam_err *err)
{
	int rc;
	if ((unsigned)rule > IPAM_NETMASK_DEFAULT)
		return ipam__fail(err, IPAM_EINVAL, "unknown netmask rule");
	if ((rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(db, netmask_change(db, pool, rule, len, err),
			       err);
}

int ipam_pool_set_strategy(ipam *db, int64_t pool, ipam_strategy strategy,
			   ipam_err *err)
{
	ipam_pool_info p;
	int rc;

	if ((unsigned)strategy > IPAM_STRATEGY_BEST_FIT)
		return ipam__fail(err, IPAM_EINVAL, "unknown strategy");
	if ((rc = ipam__write_begin(db, err)))
		return rc;
	rc = ipam__pool_load(db, pool, &p, err);
	if (rc == 0)
		rc = pool_update(db, &p,
				 "UPDATE pool SET strategy = ?2 WHERE key = ?1",
				 "allocation-strategy",
				 json_string(ipam_strategy_name(strategy)),
				 &(int64_t){strategy}, err);
	return ipam__write_end(db, rc, err);
}

/* Splits "key=value" into the two buffers; IPAM_EINVAL when malformed. */
static int split_pair(const char *pair, char *key, char *value, ipam_err *err)
{
	const char *eq = strchr(pair, '=');
	size_t klen = eq ? (size_t)(eq - pair) : 0;
	if (!eq || klen == 0 || klen > IPAM_TAG_KEY_MAX ||
	    strlen(eq + 1) > IPAM_TAG_VALUE_MAX)
		return ipam__fail(err, IPAM_EINVAL,
				  "invalid required tag '%.64s': expected "
				  "key=value",
				  pair);
	memcpy(key, pair, klen);
	key[klen] = '\0';
	strcpy(value, eq + 1);
	return ipam__check_tag(key, value, err);
}

static int rule_tags_replace(ipam *db, int64_t pool, const char *const *pairs,
			     size_t count, ipam_err *err)
{
	char key[IPAM_TAG_KEY_MAX + 1], value[IPAM_TAG_VALUE_MAX + 1];
	ipam_pool_info p;
	ipam_stmt *stmt;
	json_t *list = json_array();
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc == 0) {
		stmt = ipam__stmt(
			db, "DELETE FROM pool_rule_tag WHERE pool_key = ?1",
			err);
		if (!stmt)
			rc = ipam__stmt_error(err);
		else {
			ipam__bind_int64(stmt, 1, pool);
			rc = ipam__exec(db, stmt, err);
		}
	}
	for (size_t i = 0; rc == 0 && i < count; i++) {
		if ((rc = split_pair(pairs[i], key, value, err)))
			break;
		stmt = ipam__stmt(db,
				  "INSERT INTO pool_rule_tag(pool_key, key,"
				  " value) VALUES (?1, ?2, ?3)",
				  err);
		if (!stmt) {
			rc = ipam__stmt_error(err);
			break;
		}
		ipam__bind_int64(stmt, 1, pool);
		ipam__bind_text(stmt, 2, key, -1);
		ipam__bind_text(stmt, 3, value, -1);
		rc = ipam__exec(db, stmt, NULL);
		if (rc == IPAM_EEXIST)
			rc = ipam__fail(err, IPAM_EINVAL,
					"required tag '%s' given twice", key);
		else if (rc)
			rc = ipam__fail(err, rc, "cannot store required tag");
		json_array_append_new(list, json_string(pairs[i]));
	}
	if (rc == 0)
		rc = ipam__event(
			db, "modify-ipam-pool", p.id,
			json_pack("{s:O}", "allocation-resource-tags", list),
			err);
	json_decref(list);
	return rc ? rc : ipam__pool_recheck(db, pool, err);
}

int ipam_pool_set_required_tags(ipam *db, int64_t pool,
				const char *const *pairs, size_t count,
				ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(
		db, rule_tags_replace(db, pool, pairs, count, err), err);
}

int ipam_pool_get_required_tags(ipam *db, int64_t pool, ipam_strlist *out,
				ipam_err *err)
{
	ipam_stmt *stmt;
	char pair[IPAM_TAG_KEY_MAX + IPAM_TAG_VALUE_MAX + 2];
	int rc = ipam__read_begin(db, err), step = 0;

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "SELECT key, value FROM pool_rule_tag"
			  " WHERE pool_key = ?1 ORDER BY key",
			  err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	ipam__bind_int64(stmt, 1, pool);
	while (rc == 0 && (step = ipam__step(db, stmt, err)) == 1) {
		snprintf(pair, sizeof(pair), "%s=%s",
			 ipam__col_text(stmt, 0),
			 ipam__col_text(stmt, 1));
		rc = ipam__strlist_push(out, pair);
	}
	ipam__reset(stmt);
	if (rc == 0 && step < 0)
		rc = step;
	if (rc)
		ipam_strlist_free(out);
	return ipam__read_end(db, rc);
}

/* Loads a pool and refuses when it is not in the public scope. */
static int public_pool(ipam *db, int64_t pool, ipam_pool_info *p,
		       const char *what, ipam_err *err)
{
	int rc = ipam__pool_load(db, pool, p, err);
	if (rc == 0 && !p->is_public)
		rc = ipam__fail(err, IPAM_EPERM,
				"%s applies only to public-scope pools", what);
	return rc;
}

int ipam_pool_set_publicly_advertisable(ipam *db, int64_t pool, bool on,
					ipam_err *err)
{
	ipam_pool_info p;
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	rc = public_pool(db, pool, &p, "publicly-advertisable", err);
	if (rc == 0)
		rc = pool_update(db, &p,
				 "UPDATE pool SET advertisable = ?2"
				 " WHERE key = ?1",
				 "publicly-advertisable", json_boolean(on),
				 NULL, err);
	return ipam__write_end(db, rc, err);
}

int ipam_pool_set_aws_service(ipam *db, int64_t pool, const char *service,
			      ipam_err *err)
{
	ipam_pool_info p;
	int rc;
	if (*service && strcmp(service, "ec2"))
		return ipam__fail(err, IPAM_EINVAL,
				  "aws-service must be empty or 'ec2'");
	if ((rc = ipam__write_begin(db, err)))
		return rc;
	rc = public_pool(db, pool, &p, "aws-service", err);
	if (rc == 0)
		rc = pool_update(db, &p,
				 "UPDATE pool SET aws_service = ?2"
				 " WHERE key = ?1",
				 "aws-service", json_string(service), NULL,
				 err);
	return ipam__write_end(db, rc, err);
}

int ipam_pool_set_public_ip_source(ipam *db, int64_t pool, const char *src,
				   ipam_err *err)
{
	ipam_pool_info p;
	int rc;
	if (strcmp(src, "byoip") && strcmp(src, "amazon"))
		return ipam__fail(err, IPAM_EINVAL,
				  "public-ip-source must be 'byoip' or "
				  "'amazon'");
	if ((rc = ipam__write_begin(db, err)))
		return rc;
	rc = public_pool(db, pool, &p, "public-ip-source", err);
	if (rc == 0 && p.family_locked && strcmp(src, p.public_ip_source))
		rc = ipam__fail(err, IPAM_EPERM,
				"public-ip-source of pool '%s' cannot change "
				"after a CIDR was provisioned",
				p.name);
	if (rc == 0)
		rc = pool_update(db, &p,
				 "UPDATE pool SET public_ip_source = ?2"
				 " WHERE key = ?1",
				 "public-ip-source", json_string(src), NULL,
				 err);
	return ipam__write_end(db, rc, err);
}

/* ---- usage counters ---- */

/* The statements that read and write each counter (literals: the
 * statement cache is keyed by their address). */
static const struct {
	const char *get, *set;
} counter_sql[] = {
	[IPAM__COUNT_TOTAL] = {"SELECT total FROM pool WHERE key = ?1",
			       "UPDATE pool SET total = ?2 WHERE key = ?1"},
	[IPAM__COUNT_ASSIGNED] = {"SELECT assigned FROM pool WHERE key = ?1",
				  "UPDATE pool SET assigned = ?2 WHERE key = ?1"},
};

int ipam__pool_count(ipam *db, int64_t pool, ipam__counter counter,
		     ipam_u128 amount, int sign, ipam_err *err)
{
	const char *get, *set;
	ipam_stmt *stmt;
	ipam_u128 value;
	int rc;

	if ((unsigned)counter >= sizeof(counter_sql) / sizeof(counter_sql[0]))
		return ipam__fail(err, IPAM_EINVAL, "no such pool counter %d",
				  (int)counter);
	get = counter_sql[counter].get;
	set = counter_sql[counter].set;
	if (!(stmt = ipam__stmt(db, get, err)))
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	rc = ipam__step(db, stmt, err);
	value = rc == 1 ? ipam__col_u128(stmt, 0) : 0;
	ipam__reset(stmt);
	if (rc != 1)
		return rc < 0 ? rc : ipam__fail(err, IPAM_ENOENT, "no pool");
	value = sign > 0 ? value + amount : value - amount;
	if (!(stmt = ipam__stmt(db, set, err)))
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	ipam__bind_u128(stmt, 2, value);
	return ipam__exec(db, stmt, err);
}

int ipam_pool_usage_get(ipam *db, int64_t pool, ipam_pool_usage *out,
			ipam_err *err)
{
	ipam_stmt *stmt;
	ipam_cidr largest;
	int rc = ipam__read_begin(db, err);

	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	stmt = ipam__stmt(db,
			  "SELECT total, to_pools, assigned, n_cidrs, n_allocs,"
			  " n_compliant, n_noncompliant FROM pool"
			  " WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	ipam__bind_int64(stmt, 1, pool);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		out->total = ipam__col_u128(stmt, 0);
		out->allocated_to_pools = ipam__col_u128(stmt, 1);
		out->assigned = ipam__col_u128(stmt, 2);
		out->available =
			out->total - out->allocated_to_pools - out->assigned;
		out->provisioned_cidrs = ipam__col_int64(stmt, 3);
		out->allocation_count = ipam__col_int64(stmt, 4);
		out->compliant = ipam__col_int64(stmt, 5);
		out->noncompliant = ipam__col_int64(stmt, 6);
		rc = 0;
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_ENOENT, "no such pool");
	}
	ipam__reset(stmt);
	if (rc == 0) {
		rc = ipam__largest_free(db, pool, &largest, err);
		out->largest_free_prefix = rc == 1 ? largest.prefix : -1;
		rc = rc < 0 ? rc : 0;
	}
	return ipam__read_end(db, rc);
}
