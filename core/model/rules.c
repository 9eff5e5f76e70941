/*
 * rules.c - allocation rules and compliance (L552-L620).
 *
 * A new allocation that breaks a netmask rule is refused before it is made
 * (alloc.c asks ipam__netmask_violation). An allocation that was fine when
 * made but breaks a rule set later is kept and flagged noncompliant with the
 * broken rule named; ipam__pool_recheck re-evaluates a pool's allocations
 * whenever one of its rules changes. Rules are not inherited (L677) and do
 * not apply to the allocations that hold child pools (L620).
 *
 * Netmask rules apply to every custom and resource allocation; the tag and
 * locale rules apply to resources only (a custom allocation has no tags and
 * no locale). Custom allocations are re-evaluated here in one statement;
 * resource CIDRs through watch.c, which also records their history.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

int ipam__rule_tag_missing(ipam *db, int64_t pool, int64_t resource, char *out,
			   size_t size, ipam_err *err)
{
	ipam_stmt *stmt =
		ipam__stmt(db,
			   "SELECT r.key, r.value FROM pool_rule_tag r WHERE"
			   " r.pool_key = ?1 AND NOT EXISTS (SELECT 1 FROM"
			   " resource_tag t WHERE t.resource_key = ?2 AND"
			   " t.key = r.key AND t.value = r.value)"
			   " ORDER BY r.key LIMIT 1",
			   err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	ipam__bind_int64(stmt, 2, resource);
	rc = ipam__step(db, stmt, err);
	if (rc == 1)
		snprintf(out, size, "%s=%s", ipam__col_text(stmt, 0),
			 ipam__col_text(stmt, 1));
	ipam__reset(stmt);
	return rc;
}

void ipam__netmask_violation(const ipam_pool_info *pool, int prefix, char *out,
			     size_t size)
{
	*out = '\0';
	if (pool->min_netmask >= 0 && prefix < pool->min_netmask)
		snprintf(out, size,
			 "netmask /%d is shorter than "
			 "allocation-min-netmask-length %d",
			 prefix, pool->min_netmask);
	else if (pool->max_netmask >= 0 && prefix > pool->max_netmask)
		snprintf(out, size,
			 "netmask /%d is longer than "
			 "allocation-max-netmask-length %d",
			 prefix, pool->max_netmask);
}

/* An allocation's compliance with the netmask rules of pool p, and the
 * reason when it does not comply. */
#define COMPLIANCE_SQL                                                         \
	"SELECT CASE"                                                          \
	"  WHEN p.min_netmask >= 0 AND allocation.prefix < p.min_netmask"      \
	"  THEN 0 WHEN p.max_netmask >= 0 AND"                                 \
	"  allocation.prefix > p.max_netmask THEN 0 ELSE 1 END,"               \
	" CASE"                                                                \
	"  WHEN p.min_netmask >= 0 AND allocation.prefix < p.min_netmask"      \
	"  THEN printf('netmask /%d is shorter than "                          \
	"allocation-min-netmask-length %d', allocation.prefix,"                \
	"  p.min_netmask)"                                                     \
	"  WHEN p.max_netmask >= 0 AND allocation.prefix > p.max_netmask"      \
	"  THEN printf('netmask /%d is longer than "                           \
	"allocation-max-netmask-length %d', allocation.prefix,"                \
	"  p.max_netmask)"                                                     \
	"  ELSE '' END"                                                        \
	" FROM pool p WHERE p.key = allocation.pool_key"

int ipam__pool_recheck(ipam *db, int64_t pool, ipam_err *err)
{
	/* only the rows whose compliance changes are written: a pool of
	 * 10^5 allocations is not rewritten for a rule that moves none */
	ipam_stmt *stmt = ipam__stmt(
		db,
		"UPDATE allocation SET (compliant, reason) = (" COMPLIANCE_SQL
		") WHERE pool_key = ?1 AND resource_type = 'custom'"
		" AND (compliant, reason) IS NOT (" COMPLIANCE_SQL ")",
		err);
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	if ((rc = ipam__exec(db, stmt, err)) ||
	    (rc = ipam__pool_refresh_resources(db, pool, err)))
		return rc;
	stmt = ipam__stmt(
		db,
		"UPDATE pool SET"
		" n_compliant = (SELECT count(*) FROM allocation WHERE"
		"  pool_key = ?1 AND resource_type <> 'ipam-pool' AND"
		"  compliant = 1),"
		" n_noncompliant = (SELECT count(*) FROM allocation WHERE"
		"  pool_key = ?1 AND resource_type <> 'ipam-pool' AND"
		"  compliant = 0)"
		" WHERE key = ?1",
		err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	return ipam__exec(db, stmt, err);
}
