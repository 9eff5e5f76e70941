/*
 * ipam.c - the IPAM itself: its id, home locale, description, tier, the
 * private-GUA switch, the set of operating locales and the quotas.
 *
 * There is exactly one IPAM per database. Its home locale is fixed at
 * creation and always stays an operating locale (L392, L417).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const quota_names[IPAM_QUOTA_COUNT] = {
	[IPAM_QUOTA_SCOPES] = "scopes",
	[IPAM_QUOTA_POOLS_PER_SCOPE] = "pools-per-scope",
	[IPAM_QUOTA_CIDRS_PER_POOL] = "cidrs-per-pool",
	[IPAM_QUOTA_POOL_DEPTH] = "pool-depth",
	[IPAM_QUOTA_VERIFICATION_TOKENS] = "verification-tokens",
	[IPAM_QUOTA_ASNS] = "asns",
	[IPAM_QUOTA_PROVIDER_V4_BLOCKS] = "provider-ipv4-blocks",
	[IPAM_QUOTA_PROVIDER_V6_BLOCKS] = "provider-ipv6-blocks-per-pool",
	[IPAM_QUOTA_POLICIES] = "policies",
	[IPAM_QUOTA_POLICY_TARGETS] = "policy-targets",
	[IPAM_QUOTA_POLICY_RULE_POOLS] = "policy-rule-pools",
};

const char *ipam_quota_name(ipam_quota quota)
{
	return (unsigned)quota < IPAM_QUOTA_COUNT ? quota_names[quota] : "";
}

int ipam__info_load(ipam *db, ipam_info *out, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT aws_id, home_locale, description, tier, private_gua,"
		" owner_uid, created FROM ipam WHERE id = 1",
		err);
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		memset(out, 0, sizeof(*out));
		ipam__copy_text(out->id, sizeof(out->id), stmt, 0);
		ipam__copy_text(out->home_locale, sizeof(out->home_locale),
				stmt, 1);
		ipam__copy_text(out->description, sizeof(out->description),
				stmt, 2);
		out->tier = strcmp(ipam__col_text(stmt, 3),
				   "free")
				    ? IPAM_TIER_ADVANCED
				    : IPAM_TIER_FREE;
		out->enable_private_gua = ipam__col_int(stmt, 4) != 0;
		out->owner_uid = (uint32_t)ipam__col_int64(stmt, 5);
		out->created = ipam__col_int64(stmt, 6);
		rc = 0;
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_EIO, "the IPAM row is missing");
	}
	ipam__reset(stmt);
	return rc;
}

int ipam_info_get(ipam *db, ipam_info *out, ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db, ipam__info_load(db, out, err));
}

/* Sets one column of the IPAM row and logs modify-ipam. */
static int set_column(ipam *db, const char *sql, const char *field,
		      json_t *value, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, sql, err);
	ipam_info info;
	int rc;

	if (!stmt) {
		json_decref(value);
		return ipam__stmt_error(err);
	}
	if (json_is_string(value))
		ipam__bind_text(stmt, 1, json_string_value(value), -1);
	else
		ipam__bind_int64(stmt, 1, json_is_true(value));
	rc = ipam__exec(db, stmt, err);
	if (rc == 0)
		rc = ipam__info_load(db, &info, err);
	if (rc == 0)
		return ipam__event(db, "modify-ipam", info.id,
				   json_pack("{s:o}", field, value), err);
	json_decref(value);
	return rc;
}

int ipam_set_description(ipam *db, const char *text, ipam_err *err)
{
	int rc = ipam__check_text("description", text, IPAM_DESC_MAX, err);
	if (rc)
		return rc;
	if ((rc = ipam__write_begin(db, err)))
		return rc;
	rc = set_column(db, "UPDATE ipam SET description = ?1", "description",
			json_string(text), err);
	return ipam__write_end(db, rc, err);
}

/*
 * What the free tier does not allow (L1928-L1934), in the order the guide
 * lists it: private scope pools, non-default private scopes, pools with a
 * locale other than the home locale (L673). Each query returns the first
 * offender, and the reason names it.
 */
static const struct {
	const char *sql;
	const char *why;
} free_tier_blockers[] = {
	{"SELECT pool.name FROM pool JOIN scope ON scope.key = pool.scope_key"
	 " WHERE scope.is_public = 0 ORDER BY pool.key LIMIT 1",
	 "private scope pool '%s' exists (delete private scope pools first)"},
	{"SELECT name FROM scope WHERE is_default = 0 ORDER BY key LIMIT 1",
	 "non-default scope '%s' exists (delete it first)"},
	{"SELECT pool.name || ''' uses locale ''' || pool.locale FROM pool,"
	 " ipam WHERE pool.locale <> '' AND pool.locale <> ipam.home_locale"
	 " ORDER BY pool.key LIMIT 1",
	 "pool '%s', not the home locale"},
};

/* 0 when the IPAM may move to the free tier, else IPAM_EPERM naming what
 * stands in the way. */
int ipam__free_tier_check(ipam *db, ipam_err *err)
{
	for (size_t i = 0;
	     i < sizeof(free_tier_blockers) / sizeof(free_tier_blockers[0]);
	     i++) {
		ipam_stmt *stmt =
			ipam__stmt(db, free_tier_blockers[i].sql, err);
		char what[IPAM_NAME_MAX + IPAM_LOCALE_MAX + 32] = "";
		int rc;
		if (!stmt)
			return ipam__stmt_error(err);
		rc = ipam__step(db, stmt, err);
		if (rc == 1)
			ipam__copy_text(what, sizeof(what), stmt, 0);
		ipam__reset(stmt);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			char why[IPAM_ERR_MSG_MAX];
			snprintf(why, sizeof(why), free_tier_blockers[i].why,
				 what);
			return ipam__fail(err, IPAM_EPERM,
					  "cannot move to the free tier: %s",
					  why);
		}
	}
	return 0;
}

static int tier_change(ipam *db, ipam_tier tier, ipam_err *err)
{
	int rc;
	if (tier == IPAM_TIER_FREE && (rc = ipam__free_tier_check(db, err)))
		return rc;
	return set_column(
		db, "UPDATE ipam SET tier = ?1", "tier",
		json_string(tier == IPAM_TIER_FREE ? "free" : "advanced"), err);
}

int ipam_set_tier(ipam *db, ipam_tier tier, ipam_err *err)
{
	int rc;
	if (tier != IPAM_TIER_FREE && tier != IPAM_TIER_ADVANCED)
		return ipam__fail(err, IPAM_EINVAL, "unknown tier");
	if ((rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(db, tier_change(db, tier, err), err);
}

static int private_gua_change(ipam *db, bool enable, ipam_err *err)
{
	if (!enable) {
		/* GUA = 2000::/3: first byte 0x20..0x3f of the 16-byte key. */
		ipam_stmt *stmt = ipam__stmt(
			db,
			"SELECT pool.name FROM pool_cidr"
			" JOIN pool ON pool.key = pool_cidr.pool_key"
			" JOIN scope ON scope.key = pool.scope_key"
			" WHERE scope.is_public = 0 AND pool.family = 6"
			" AND pool_cidr.start >= ?1 AND pool_cidr.start < ?2"
			" LIMIT 1",
			err);
		int rc;
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_addr(stmt, 1, (ipam_u128)0x20 << 120);
		ipam__bind_addr(stmt, 2, (ipam_u128)0x40 << 120);
		rc = ipam__step(db, stmt, err);
		if (rc == 1)
			rc = ipam__fail(err, IPAM_EBUSY,
					"cannot disable private GUA: pool '%s' "
					"holds a GUA CIDR",
					ipam__col_text(stmt, 0));
		ipam__reset(stmt);
		if (rc)
			return rc;
	}
	return set_column(db, "UPDATE ipam SET private_gua = ?1",
			  "enable-private-gua", json_boolean(enable), err);
}

int ipam_set_private_gua(ipam *db, bool enable, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, private_gua_change(db, enable, err), err);
}

int ipam_locales_get(ipam *db, ipam_strlist *out, ipam_err *err)
{
	int rc = ipam__read_begin(db, err);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	return ipam__read_end(
		db, ipam__collect_text(db,
				       ipam__stmt(db,
						  "SELECT name FROM locale"
						  " ORDER BY name",
						  err),
				       out, err));
}

bool ipam_locale_is_operating(ipam *db, const char *locale)
{
	ipam_stmt *stmt;
	bool found = false;

	if (ipam__read_begin(db, NULL))
		return false;
	stmt = ipam__stmt(db, "SELECT 1 FROM locale WHERE name = ?1", NULL);
	if (stmt) {
		ipam__bind_text(stmt, 1, locale, -1);
		found = ipam__step_stmt(stmt) == IPAM_ROW;
		ipam__reset(stmt);
	}
	ipam__read_end(db, 0);
	return found;
}

/* Validates the new set, then swaps it in with the pools' locales checked
 * against it. */
static int locales_replace(ipam *db, const char *const *locales, size_t count,
			   ipam_err *err)
{
	ipam_info info;
	ipam_stmt *stmt;
	bool has_home = false;
	json_t *list = json_array();
	int rc = ipam__info_load(db, &info, err);

	for (size_t i = 0; rc == 0 && i < count; i++) {
		rc = ipam__check_locale(locales[i], err);
		if (rc == 0 && !strcmp(locales[i], info.home_locale))
			has_home = true;
	}
	if (rc == 0)
		rc = ipam__exec_sql(db,
				    "CREATE TEMP TABLE IF NOT EXISTS new_locale"
				    "(name TEXT PRIMARY KEY);"
				    "DELETE FROM new_locale;",
				    err);
	/* The home locale is always kept, as AWS does (SPEC §3, L4451-L4478):
	 * a set without it gets it first. */
	for (size_t i = has_home ? 1 : 0; rc == 0 && i <= count; i++) {
		const char *name = i ? locales[i - 1] : info.home_locale;
		stmt = ipam__stmt(db,
				  "INSERT INTO new_locale(name)"
				  " VALUES (?1) ON CONFLICT DO NOTHING",
				  err);
		if (!stmt)
			rc = ipam__stmt_error(err);
		else {
			ipam__bind_text(stmt, 1, name, -1);
			rc = ipam__exec(db, stmt, err);
		}
		json_array_append_new(list, json_string(name));
	}
	if (rc == 0) {
		stmt = ipam__stmt(db,
				  "SELECT name, locale FROM pool WHERE locale"
				  " <> '' AND locale NOT IN"
				  " (SELECT name FROM new_locale) LIMIT 1",
				  err);
		if (!stmt)
			rc = ipam__stmt_error(err);
		else if ((rc = ipam__step(db, stmt, err)) == 1)
			rc = ipam__fail(err, IPAM_EBUSY,
					"cannot remove locale '%s': pool '%s' "
					"uses it",
					ipam__col_text(stmt, 1),
					ipam__col_text(stmt, 0));
		if (stmt)
			ipam__reset(stmt);
	}
	if (rc == 0)
		rc = ipam__exec_sql(db,
				    "DELETE FROM locale;"
				    "INSERT INTO locale SELECT name FROM"
				    " new_locale;"
				    "DELETE FROM new_locale;",
				    err);
	if (rc == 0 &&
	    (rc = ipam__event(db, "modify-ipam", info.id,
			      json_pack("{s:o}", "operating-locales", list),
			      err)) == 0)
		return ipam__discoveries_reapply(db, err);
	if (rc)
		json_decref(list);
	return rc;
}

int ipam_locales_set(ipam *db, const char *const *locales, size_t count,
		     ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, locales_replace(db, locales, count, err),
			       err);
}

int ipam_quota_get(ipam *db, ipam_quota quota, int64_t *out, ipam_err *err)
{
	ipam_stmt *stmt;
	int rc;

	if ((unsigned)quota >= IPAM_QUOTA_COUNT)
		return ipam__fail(err, IPAM_EINVAL, "unknown quota");
	if ((rc = ipam__read_begin(db, err)))
		return rc;
	stmt = ipam__stmt(db, "SELECT value FROM quota WHERE name = ?1", err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	ipam__bind_text(stmt, 1, quota_names[quota], -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		*out = ipam__col_int64(stmt, 0);
		rc = 0;
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_EIO, "quota '%s' is missing",
				quota_names[quota]);
	}
	ipam__reset(stmt);
	return ipam__read_end(db, rc);
}

static int quota_change(ipam *db, ipam_quota quota, int64_t value,
			ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db, "UPDATE quota SET value = ?2 WHERE name = ?1", err);
	ipam_info info;
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, quota_names[quota], -1);
	ipam__bind_int64(stmt, 2, value);
	if ((rc = ipam__exec(db, stmt, err)) ||
	    (rc = ipam__info_load(db, &info, err)))
		return rc;
	return ipam__event(db, "modify-ipam", info.id,
			   json_pack("{s:s, s:I}", "quota", quota_names[quota],
				     "value", (json_int_t)value),
			   err);
}

int ipam_quota_set(ipam *db, ipam_quota quota, int64_t value, ipam_err *err)
{
	int64_t max = quota == IPAM_QUOTA_POOL_DEPTH	    ? 64
		      : quota == IPAM_QUOTA_POLICY_RULE_POOLS ? IPAM_POLICY_POOLS_CAP
							      : 1000000;
	int rc;

	if ((unsigned)quota >= IPAM_QUOTA_COUNT)
		return ipam__fail(err, IPAM_EINVAL, "unknown quota");
	if (value < 1 || value > max)
		return ipam__fail(
			err, IPAM_EINVAL, "quota %s must be 1..%lld, not %lld",
			quota_names[quota], (long long)max, (long long)value);
	if ((rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(db, quota_change(db, quota, value, err), err);
}
