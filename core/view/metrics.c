/*
 * metrics.c - every CloudWatch metric of the guide (L2799-L2985) in the
 * Prometheus text exposition format, so node_exporter's textfile collector
 * or any scraper can read /metrics/ipam.prom as it is.
 *
 * Names are the CloudWatch names in snake case under `ipam_`; the guide's
 * dimensions become labels (scope_id, pool_id, locale, address_family,
 * resource_id, plus the owner, region and VPC of resource metrics). Pool
 * percentages are 0..100 like CloudWatch's; the *_ip_usage metrics are the
 * guide's quotients (0..1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Appends a label value with \, " and newline escaped. */
static void label(ipam__buf *buf, const char *name, const char *value,
		  bool first)
{
	ipam__buf_printf(buf, "%s%s=\"", first ? "" : ",", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			ipam__buf_printf(buf, "\\%c", *p);
		else if (*p == '\n')
			ipam__buf_add(buf, "\\n", 2);
		else
			ipam__buf_add(buf, p, 1);
	}
	ipam__buf_add(buf, "\"", 1);
}

static void header(ipam__buf *buf, const char *name, const char *help)
{
	ipam__buf_printf(buf, "# HELP %s %s\n# TYPE %s gauge\n", name, help,
			 name);
}

/* A ratio (the guide's quotients) with 9 significant digits. */
static void ratio(ipam__buf *buf, ipam_u128 used, ipam_u128 total)
{
	double v = total ? (double)used / (double)total : 0;
	ipam__buf_printf(buf, "} %.9g\n", v);
}

static int collect(ipam *db, const char *sql, int64_t **out, size_t *n,
		   ipam_err *err)
{
	return ipam__collect_keys(db, ipam__stmt(db, sql, err), out, n, err);
}

static int pool_metrics(ipam *db, ipam__buf *buf, ipam_err *err)
{
	static const char *const names[5] = {
		"ipam_pool_percent_allocated", "ipam_pool_percent_assigned",
		"ipam_pool_percent_available",
		"ipam_pool_compliant_resource_cidrs",
		"ipam_pool_noncompliant_resource_cidrs"};
	static const char *const help[5] = {
		"PercentAllocated: percentage of the pool's space allocated to "
		"other pools",
		"PercentAssigned: percentage of the pool's space allocated to "
		"resources and manual allocations",
		"PercentAvailable: percentage of the pool's space not "
		"allocated",
		"CompliantResourceCidrs: managed CIDRs that comply with the "
		"pool's rules",
		"NoncompliantResourceCidrs: managed CIDRs that break a rule of "
		"the pool"};
	int64_t *pools;
	size_t n;
	int rc = collect(db, "SELECT key FROM pool ORDER BY key", &pools, &n,
			 err);

	for (int m = 0; rc == 0 && m < 5; m++) {
		header(buf, names[m], help[m]);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			ipam_pool_info p;
			ipam_pool_usage u;
			char pct[IPAM_PERCENT_STRLEN];
			if ((rc = ipam__pool_load(db, pools[i], &p, err)) ||
			    (rc = ipam_pool_usage_get(db, pools[i], &u, err)))
				break;
			ipam__buf_printf(buf, "%s{", names[m]);
			label(buf, "scope_id", p.scope_id, true);
			label(buf, "pool_id", p.id, false);
			label(buf, "locale", *p.locale ? p.locale : "none",
			      false);
			label(buf, "address_family",
			      ipam_family_name(p.family), false);
			if (m < 3) {
				ipam_u128 part = m == 0	  ? u.allocated_to_pools
						 : m == 1 ? u.assigned
							  : u.available;
				ipam_percent_format(part, u.total, pct);
				ipam__buf_printf(buf, "} %s\n", pct);
			} else {
				ipam__buf_printf(
					buf, "} %lld\n",
					(long long)(m == 3 ? u.compliant
							   : u.noncompliant));
			}
		}
	}
	free(pools);
	return rc;
}

static int scope_metrics(ipam *db, ipam__buf *buf, ipam_err *err)
{
	static const char *const names[5] = {
		"ipam_scope_compliant_resource_cidrs",
		"ipam_scope_noncompliant_resource_cidrs",
		"ipam_scope_managed_resource_cidrs",
		"ipam_scope_unmanaged_resource_cidrs",
		"ipam_scope_overlapping_resource_cidrs"};
	static const char *const help[5] = {
		"CompliantResourceCidrs: resource CIDRs that comply with the "
		"rules of the scope's pools",
		"NoncompliantResourceCidrs: resource CIDRs that break a rule "
		"of "
		"the scope's pools",
		"ManagedResourceCidrs: CIDRs of manageable resources allocated "
		"from a pool of the scope",
		"UnmanagedResourceCidrs: CIDRs of manageable resources not "
		"managed by IPAM",
		"OverlappingResourceCidrs: resource CIDRs that overlap in the "
		"scope"};
	static const char *const sql[5] = {
		"SELECT count(*) FROM resource_cidr rc JOIN resource r ON"
		" r.key = rc.resource_key WHERE r.scope_key = ?1 AND"
		" rc.family = ?2 AND rc.compliance = 'compliant'",
		"SELECT count(*) FROM resource_cidr rc JOIN resource r ON"
		" r.key = rc.resource_key WHERE r.scope_key = ?1 AND"
		" rc.family = ?2 AND rc.compliance = 'noncompliant'",
		"SELECT count(*) FROM resource_cidr rc JOIN resource r ON"
		" r.key = rc.resource_key WHERE r.scope_key = ?1 AND"
		" rc.family = ?2 AND rc.alloc_key IS NOT NULL",
		"SELECT count(*) FROM resource_cidr rc JOIN resource r ON"
		" r.key = rc.resource_key WHERE r.scope_key = ?1 AND"
		" rc.family = ?2 AND rc.compliance = 'unmanaged'",
		"SELECT count(*) FROM resource_cidr rc JOIN resource r ON"
		" r.key = rc.resource_key WHERE r.scope_key = ?1 AND"
		" rc.family = ?2 AND rc.overlap = 'overlapping'",
	};
	int64_t *scopes;
	size_t n;
	int rc = collect(db, "SELECT key FROM scope ORDER BY key", &scopes, &n,
			 err);

	for (int m = 0; rc == 0 && m < 5; m++) {
		header(buf, names[m], help[m]);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			ipam_scope_info sc;
			if ((rc = ipam_scope_get_by_key(db, scopes[i], &sc,
							err)))
				break;
			for (int family = 4; family <= 6; family += 2) {
				ipam_stmt *stmt =
					ipam__stmt(db, sql[m], err);
				int64_t count = 0;
				if (!stmt) {
					rc = ipam__stmt_error(err);
					break;
				}
				ipam__bind_int64(stmt, 1, scopes[i]);
				ipam__bind_int(stmt, 2, family);
				if (ipam__step(db, stmt, err) == 1)
					count = ipam__col_int64(stmt, 0);
				ipam__reset(stmt);
				ipam__buf_printf(buf, "%s{", names[m]);
				label(buf, "scope_id", sc.id, true);
				label(buf, "address_family",
				      ipam_family_name(family), false);
				ipam__buf_printf(buf, "} %lld\n",
						 (long long)count);
			}
		}
	}
	free(scopes);
	return rc;
}

/* VpcIPUsage, SubnetIPUsage and PublicIPv4PoolIPUsage, per resource and
 * family, over all its CIDRs of that family (L2877). */
static int resource_metrics(ipam *db, ipam__buf *buf, const char *type,
			    const char *name, const char *help, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT key FROM resource WHERE"
					" type = ?1 AND ignored = 0"
					" ORDER BY scope_key, resource_id",
					err);
	int64_t *keys = NULL;
	size_t n = 0;
	int rc;

	if (stmt)
		ipam__bind_text(stmt, 1, type, -1);
	if ((rc = ipam__collect_keys(db, stmt, &keys, &n, err)))
		return rc;
	header(buf, name, help);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		ipam_resource_info res;
		ipam_resource_cidr *rows = NULL;
		ipam_scope_info sc;
		size_t nrows = 0;
		if ((rc = ipam__resource_load(db, keys[i], &res, err)) ||
		    (rc = ipam_scope_get_by_key(db, res.scope_key, &sc, err)) ||
		    (rc = ipam_resource_cidrs(db, keys[i], &rows, &nrows, err)))
			break;
		for (int family = 4; family <= 6; family += 2) {
			ipam_u128 used = 0, total = 0;
			bool any = false;
			for (size_t j = 0; j < nrows; j++) {
				ipam_u128 u, t;
				if (rows[j].cidr.family != family ||
				    !ipam__ip_usage(db, &res, &rows[j].cidr, &u,
						    &t))
					continue;
				used += u;
				total += t;
				any = true;
			}
			if (!any)
				continue;
			ipam__buf_printf(buf, "%s{", name);
			label(buf, "address_family",
			      ipam_family_name(family), true);
			label(buf, "owner_id", res.owner, false);
			label(buf, "region", res.locale, false);
			label(buf, "scope_id", sc.id, false);
			label(buf, "resource_id", res.id, false);
			if (ipam__rtype_of(type) == IPAM__RT_VPC)
				label(buf, "vpc_id", res.id, false);
			else if (ipam__rtype_of(type) == IPAM__RT_SUBNET) {
				label(buf, "subnet_id", res.id, false);
				label(buf, "vpc_id", res.vpc_id, false);
			} else {
				label(buf, "public_ipv4_pool_id", res.id,
				      false);
			}
			ratio(buf, used, total);
		}
		free(rows);
	}
	free(keys);
	return rc;
}

/* TotalActiveIpCount: addresses held by network interfaces. */
static int active_ips(ipam *db, ipam__buf *buf, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT rc.family, rc.start, rc.prefix"
					" FROM resource_cidr rc JOIN resource r"
					" ON r.key = rc.resource_key WHERE"
					" r.type = 'network-interface' AND"
					" r.ignored = 0",
					err);
	char text[IPAM_U128_STRLEN];
	ipam_u128 total = 0;
	int step;

	if (!stmt)
		return ipam__stmt_error(err);
	while ((step = ipam__step(db, stmt, err)) == 1) {
		ipam_cidr c;
		c.family = (uint8_t)ipam__col_int(stmt, 0);
		c.addr = ipam__blob_to_addr(stmt, 1);
		c.prefix = (uint8_t)ipam__col_int(stmt, 2);
		total += ipam_cidr_size(&c);
	}
	ipam__reset(stmt);
	if (step < 0)
		return step;
	header(buf, "ipam_total_active_ips",
	       "TotalActiveIpCount: IP addresses associated with network "
	       "interfaces");
	ipam_u128_format(total, text);
	ipam__buf_printf(buf, "ipam_total_active_ips %s\n", text);
	return 0;
}

/* Prefix-list resolvers (the guide's resolver metrics, L2847-L2855):
 * entries of the latest version, its number and when it was made. */
static int plist_metrics(ipam *db, ipam__buf *buf, ipam_err *err)
{
	static const char *const names[3] = {
		"ipam_prefix_list_resolver_entries",
		"ipam_prefix_list_resolver_version",
		"ipam_prefix_list_resolver_last_change_timestamp_seconds"};
	static const char *const help[3] = {
		"CIDRs in the resolver's latest version",
		"the resolver's latest version number",
		"when the resolver's latest version was created"};
	for (int m = 0; m < 3; m++) {
		ipam_stmt *stmt = ipam__stmt(
			db,
			"SELECT aws_id, name, family, (SELECT count(*) FROM"
			" pl_entry e WHERE e.list_key = l.key), version,"
			" changed FROM prefix_list l ORDER BY name",
			err);
		int rc;
		if (!stmt)
			return ipam__stmt_error(err);
		header(buf, names[m], help[m]);
		while ((rc = ipam__step(db, stmt, err)) == 1) {
			char id[IPAM_ID_MAX], name[IPAM_NAME_MAX + 1];
			ipam__copy_text(id, sizeof(id), stmt, 0);
			ipam__copy_text(name, sizeof(name), stmt, 1);
			ipam__buf_printf(buf, "%s{", names[m]);
			label(buf, "prefix_list_resolver_id", id, true);
			label(buf, "name", name, false);
			label(buf, "address_family",
			      ipam__col_int(stmt, 2) == 6 ? "ipv6"
							       : "ipv4",
			      false);
			ipam__buf_printf(
				buf, "} %lld\n",
				(long long)ipam__col_int64(stmt, 3 + m));
		}
		ipam__reset(stmt);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int ipam_render_metrics(ipam *db, char **out, size_t *len, ipam_err *err)
{
	ipam__buf buf = {0};
	int rc = ipam__read_begin(db, err);

	if (rc)
		return rc;
	if ((rc = active_ips(db, &buf, err)) ||
	    (rc = pool_metrics(db, &buf, err)) ||
	    (rc = scope_metrics(db, &buf, err)) ||
	    (rc = resource_metrics(db, &buf, "vpc", "ipam_vpc_ip_usage",
				   "VpcIPUsage: IPs in the VPC's subnets over "
				   "IPs in the VPC",
				   err)) ||
	    (rc = resource_metrics(db, &buf, "subnet", "ipam_subnet_ip_usage",
				   "SubnetIPUsage: active IPs over IPs in the "
				   "subnet's IPv4 CIDR",
				   err)) ||
	    (rc = resource_metrics(db, &buf, "public-ipv4-pool",
				   "ipam_public_ipv4_pool_ip_usage",
				   "PublicIPv4PoolIPUsage: EIPs from the pool "
				   "over IPs in the pool",
				   err)) ||
	    (rc = plist_metrics(db, &buf, err)) ||
	    (rc = ipam__public_metrics(db, &buf, err))) {
		free(buf.data);
		return ipam__read_end(db, rc);
	}
	return ipam__read_end(db, ipam__buf_finish(&buf, out, len, err));
}
