/*
 * report.c - views of what IPAM watches: the CIDRs of a resource with their
 * status, get-ipam-resource-cidrs (resources.json), and the scope `status`
 * with the dashboard's counters (L2616-L2655).
 *
 * "IPs allocated" (L2733): for a VPC CIDR, the share of it covered by the
 * VPC's subnets; for a subnet, its active addresses over its IPv4 space; for
 * a public IPv4 pool, the share taken by Elastic IPs. Each is computed from
 * the resources that can contribute, found through indexes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Sums the addresses of the given CIDR rows that lie inside `outer`. */
static int sum_inside(ipam *db, ipam_stmt *stmt, const ipam_cidr *outer,
		      ipam_u128 *sum)
{
	int step;
	while ((step = ipam__step_stmt(stmt)) == IPAM_ROW) {
		ipam_cidr c;
		c.family = (uint8_t)ipam__col_int(stmt, 0);
		c.addr = ipam__blob_to_addr(stmt, 1);
		c.prefix = (uint8_t)ipam__col_int(stmt, 2);
		if (ipam_cidr_contains(outer, &c))
			*sum += ipam_cidr_size(&c);
	}
	ipam__reset(stmt);
	return step == IPAM_DONE ? 0 : ipam__sqlfail(db, NULL);
}

bool ipam__ip_usage(ipam *db, const ipam_resource_info *res,
		    const ipam_cidr *cidr, ipam_u128 *used, ipam_u128 *total)
{
	ipam_stmt *stmt = NULL;

	*used = 0;
	*total = ipam_cidr_size(cidr);
	if (ipam__rtype_of(res->type) == IPAM__RT_SUBNET) {
		if (!res->has_active_ips || cidr->family != 4)
			return false;
		*used = res->active_ips < *total ? res->active_ips : *total;
		return true;
	}
	if (ipam__rtype_of(res->type) == IPAM__RT_VPC) {
		stmt = ipam__stmt(db,
				  "SELECT rc.family, rc.start, rc.prefix FROM"
				  " resource r JOIN resource_cidr rc ON"
				  " rc.resource_key = r.key WHERE"
				  " r.scope_key = ?1 AND r.vpc_id = ?2 AND"
				  " r.type = 'subnet'",
				  NULL);
		if (!stmt)
			return false;
		ipam__bind_int64(stmt, 1, res->scope_key);
		ipam__bind_text(stmt, 2, res->id, -1);
	} else if (ipam__rtype_of(res->type) == IPAM__RT_PUBLIC_IPV4_POOL) {
		stmt = ipam__stmt(db,
				  "SELECT rc.family, rc.start, rc.prefix FROM"
				  " resource_cidr rc JOIN resource r ON"
				  " r.key = rc.resource_key WHERE"
				  " rc.family = ?1 AND rc.start >= ?2 AND"
				  " rc.start <= ?3 AND r.type = 'eip' AND"
				  " r.scope_key = ?4",
				  NULL);
		if (!stmt)
			return false;
		ipam__bind_int(stmt, 1, cidr->family);
		ipam__bind_addr(stmt, 2, cidr->addr);
		ipam__bind_addr(stmt, 3, ipam_cidr_last(cidr));
		ipam__bind_int64(stmt, 4, res->scope_key);
	} else {
		return false;
	}
	return sum_inside(db, stmt, cidr, used) == 0;
}

static const char *management_of(const ipam_resource_info *res, bool managed)
{
	if (!ipam_resource_type_manageable(res->type))
		return "-";
	if (res->ignored)
		return "ignored";
	return managed ? "managed" : "unmanaged";
}

static int cidr_rows(ipam *db, const ipam_resource_info *res,
		     ipam_resource_cidr **out, size_t *count, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT rc.family, rc.start, rc.prefix, rc.compliance,"
		" rc.reason, rc.overlap, coalesce(p.aws_id, '') FROM"
		" resource_cidr rc LEFT JOIN allocation a ON a.key ="
		" rc.alloc_key LEFT JOIN pool p ON p.key = a.pool_key"
		" WHERE rc.resource_key = ?1 ORDER BY rc.family, rc.start,"
		" rc.prefix",
		err);
	ipam_resource_cidr *list = NULL;
	size_t n = 0;
	int step;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, res->key);
	while ((step = ipam__step(db, stmt, err)) == 1) {
		ipam_resource_cidr *grown =
			realloc(list, (n + 1) * sizeof(*list));
		ipam_resource_cidr *r;
		if (!grown) {
			step = ipam__fail(err, IPAM_ENOMEM, "out of memory");
			break;
		}
		list = grown;
		r = &list[n++];
		memset(r, 0, sizeof(*r));
		r->cidr.family = (uint8_t)ipam__col_int(stmt, 0);
		r->cidr.addr = ipam__blob_to_addr(stmt, 1);
		r->cidr.prefix = (uint8_t)ipam__col_int(stmt, 2);
		ipam__copy_text(r->compliance, sizeof(r->compliance), stmt, 3);
		ipam__copy_text(r->reason, sizeof(r->reason), stmt, 4);
		ipam__copy_text(r->overlap, sizeof(r->overlap), stmt, 5);
		ipam__copy_text(r->pool_id, sizeof(r->pool_id), stmt, 6);
		snprintf(r->management, sizeof(r->management), "%s",
			 management_of(res, *r->pool_id != '\0'));
	}
	ipam__reset(stmt);
	if (step < 0) {
		free(list);
		return step;
	}
	/* The usage queries reuse statements: run them after the scan. */
	for (size_t i = 0; i < n; i++) {
		ipam_u128 used, total;
		if (ipam__ip_usage(db, res, &list[i].cidr, &used, &total))
			ipam_percent_format(used, total, list[i].ip_usage);
	}
	*out = list;
	*count = n;
	return 0;
}

int ipam_resource_cidrs(ipam *db, int64_t resource, ipam_resource_cidr **out,
			size_t *count, ipam_err *err)
{
	ipam_resource_info res;
	int rc = ipam__read_begin(db, err);

	*out = NULL;
	*count = 0;
	if (rc)
		return rc;
	if ((rc = ipam__resource_load(db, resource, &res, err)))
		return ipam__read_end(db, rc);
	return ipam__read_end(db, cidr_rows(db, &res, out, count, err));
}

int ipam_render_resource_status(ipam *db, int64_t resource, bool json,
				char **out, size_t *len, ipam_err *err)
{
	ipam_resource_info res;
	ipam_resource_cidr *rows = NULL;
	ipam__buf buf = {0};
	json_t *list = NULL;
	size_t n = 0;
	int rc = ipam__read_begin(db, err);

	if (rc)
		return rc;
	if ((rc = ipam__resource_load(db, resource, &res, err)) ||
	    (rc = cidr_rows(db, &res, &rows, &n, err)))
		return ipam__read_end(db, rc);
	if (json)
		list = json_array();
	for (size_t i = 0; i < n; i++) {
		char text[IPAM_CIDR_STRLEN];
		const ipam_resource_cidr *r = &rows[i];
		ipam_cidr_format(&r->cidr, text);
		if (json) {
			json_t *obj = json_pack(
				"{s:s, s:s, s:s, s:s, s:o}", "ResourceCidr",
				text, "ManagementState", r->management,
				"ComplianceStatus", r->compliance,
				"OverlapStatus", r->overlap, "ComplianceReason",
				json_string(r->reason));
			if (*r->pool_id)
				json_object_set_new(obj, "IpamPoolId",
						    json_string(r->pool_id));
			if (*r->ip_usage)
				json_object_set_new(obj, "IpsAllocatedPercent",
						    json_string(r->ip_usage));
			json_array_append_new(list, obj);
		} else {
			ipam__buf_printf(&buf, "%s %s %s %s %s %s%s%s\n", text,
					 r->management, r->compliance,
					 r->overlap,
					 *r->pool_id ? r->pool_id : "-",
					 *r->ip_usage ? r->ip_usage : "-",
					 *r->reason ? " " : "", r->reason);
		}
	}
	free(rows);
	if (json) {
		char *text =
			json_dumps(list, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_decref(list);
		if (text)
			ipam__buf_printf(&buf, "%s\n", text);
		else
			buf.failed = 1;
		free(text);
	}
	return ipam__read_end(db, ipam__buf_finish(&buf, out, len, err));
}

/* The resource's tags as an IpamResourceTagList. */
static json_t *resource_tags_json(ipam *db, const ipam_resource_info *res)
{
	ipam_strlist keys = {0};
	json_t *tags = json_array();

	if (ipam_resource_tag_list(db, res->key, &keys, NULL)) {
		ipam__oom = 1; /* the view cannot be whole: fail the call */
		return tags;
	}
	for (size_t i = 0; i < keys.count; i++) {
		char *value = NULL;
		if (ipam_resource_tag_get(db, res->key, keys.items[i], &value,
					  NULL) == 0)
			json_array_append_new(
				tags, json_pack("{s:o, s:o}", "Key",
						json_string(keys.items[i]),
						"Value", json_string(value)));
		free(value);
	}
	ipam_strlist_free(&keys);
	return tags;
}

/* What one entry is rendered for: a scope (get-ipam-resource-cidrs) or a
 * discovery (get-ipam-discovered-resource-cidrs). */
typedef struct resource_view {
	const ipam_info *info;
	const char *scope_id;
	const ipam_discovery_info *discovery; /* NULL: the scope's view */
} resource_view;

/*
 * One IpamResourceCidr, or one IpamDiscoveredResourceCidr when the view is
 * a discovery's (that shape has no management, compliance, overlap, pool or
 * name, and has the discovery id and the sample time). A resource that
 * registered no owner or region (made by hand) shows the uid that made it
 * and the IPAM's home locale. NULL for a type the shape has no word for
 * (instances: their addresses are their interfaces').
 */
static json_t *resource_cidr_json(ipam *db, const resource_view *v,
				  const ipam_resource_info *res,
				  const ipam_resource_cidr *r)
{
	char text[IPAM_CIDR_STRLEN], owner[16];
	const char *type =
		ipam_resource_type_aws(res->type, IPAM_SHAPE_RESOURCE_CIDR);
	json_t *obj;
	ipam_u128 used, total;

	if (!type)
		return NULL;
	obj = json_object();
	ipam_cidr_format(&r->cidr, text);
	snprintf(owner, sizeof(owner), "%u", v->info->owner_uid);
	if (v->discovery)
		json_object_set_new(obj, "IpamResourceDiscoveryId",
				    json_string(v->discovery->id));
	else
		json_object_set_new(obj, "IpamId", json_string(v->info->id));
	json_object_set_new(obj, "ResourceOwnerId",
			    json_string(*res->owner || *res->discovery
						? res->owner
						: owner));
	json_object_set_new(
		obj, "ResourceRegion",
		json_string(*res->locale ? res->locale : v->info->home_locale));
	if (!v->discovery) {
		json_object_set_new(obj, "IpamScopeId",
				    json_string(v->scope_id));
		if (*r->pool_id)
			json_object_set_new(obj, "IpamPoolId",
					    json_string(r->pool_id));
	}
	json_object_set_new(obj, "ResourceId", json_string(res->id));
	if (*res->name && !v->discovery)
		json_object_set_new(obj, "ResourceName",
				    json_string(res->name));
	json_object_set_new(obj, "ResourceCidr", json_string(text));
	json_object_set_new(obj, "ResourceType", json_string(type));
	json_object_set_new(obj, "ResourceTags", resource_tags_json(db, res));
	if (ipam__ip_usage(db, res, &r->cidr, &used, &total) && total)
		json_object_set_new(obj, "IpUsage",
				    json_real((double)used / (double)total));
	if (ipam_resource_type_manageable(res->type) && !v->discovery) {
		json_object_set_new(obj, "ComplianceStatus",
				    json_string(r->compliance));
		json_object_set_new(obj, "ManagementState",
				    json_string(r->management));
		json_object_set_new(obj, "OverlapStatus",
				    json_string(r->overlap));
	}
	if (*res->vpc_id || (ipam__rtype_of(res->type) == IPAM__RT_VPC))
		json_object_set_new(
			obj, "VpcId",
			json_string(*res->vpc_id ? res->vpc_id : res->id));
	if (v->discovery && (ipam__rtype_of(res->type) == IPAM__RT_SUBNET))
		json_object_set_new(obj, "SubnetId", json_string(res->id));
	if (v->discovery && v->discovery->last_feed) {
		char when[IPAM_TIME_STRLEN];
		ipam_time_format_aws(v->discovery->last_feed, when);
		json_object_set_new(obj, "SampleTime", json_string(when));
	}
	return obj;
}

int ipam_render_resources_json(ipam *db, int64_t scope, int64_t discovery,
			       char **out, size_t *len, ipam_err *err)
{
	ipam_stmt *stmt;
	ipam_info info;
	ipam_discovery_info disco;
	int64_t *keys = NULL;
	size_t n = 0;
	ipam__buf buf = {0};
	ipam__jlist list;
	int rc = ipam__read_begin(db, err);

	if (rc)
		return rc;
	/* A discovery's view has the shape of
	 * get-ipam-discovered-resource-cidrs. */
	ipam__jlist_begin(&list, &buf,
			  discovery ? "IpamDiscoveredResourceCidrs"
				    : "IpamResourceCidrs",
			  JSON_INDENT(2) | JSON_PRESERVE_ORDER |
				  JSON_REAL_PRECISION(15));
	if ((rc = ipam__info_load(db, &info, err)) ||
	    (discovery &&
	     (rc = ipam__discovery_load_key(db, discovery, &disco, err))))
		goto done;
	stmt = discovery
		       ? ipam__stmt(db,
				    "SELECT key FROM resource WHERE"
				    " discovery_key = ?1 ORDER BY resource_id",
				    err)
		       : ipam__stmt(db,
				    "SELECT key FROM resource WHERE"
				    " scope_key = ?1 ORDER BY resource_id",
				    err);
	if (stmt)
		ipam__bind_int64(stmt, 1, discovery ? discovery : scope);
	rc = ipam__collect_keys(db, stmt, &keys, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		ipam_resource_info res;
		ipam_scope_info sc;
		ipam_resource_cidr *rows = NULL;
		size_t nrows = 0;
		if ((rc = ipam__resource_load(db, keys[i], &res, err)) ||
		    (rc = ipam_scope_get_by_key(db, res.scope_key, &sc, err)) ||
		    (rc = cidr_rows(db, &res, &rows, &nrows, err)))
			break;
		for (size_t j = 0; j < nrows; j++) {
			resource_view v = {.info = &info,
					   .scope_id = sc.id,
					   .discovery = discovery ? &disco
								  : NULL};
			json_t *obj =
				resource_cidr_json(db, &v, &res, &rows[j]);
			if (obj)
				ipam__jlist_add(&list, obj);
		}
		free(rows);
	}
done:
	free(keys);
	if (rc) {
		free(buf.data);
		return ipam__read_end(db, rc);
	}
	ipam__jlist_end(&list);
	return ipam__read_end(db, ipam__buf_finish(&buf, out, len, err));
}

/* ---- scope status ---- */

typedef struct scope_counts {
	int64_t by_type[6];
	int64_t managed, unmanaged, ignored;
	int64_t compliant, noncompliant;
	int64_t overlapping, nonoverlapping;
	int64_t total;
} scope_counts;

static const char *const count_types[6] = {"vpc",      "subnet",
					   "eip",      "public-ipv4-pool",
					   "instance", "network-interface"};

static int scope_count(ipam *db, int64_t scope, scope_counts *c, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT r.type, r.ignored, rc.alloc_key IS NOT NULL,"
		" rc.compliance, rc.overlap, count(*) FROM resource_cidr rc"
		" JOIN resource r ON r.key = rc.resource_key WHERE"
		" r.scope_key = ?1 GROUP BY 1, 2, 3, 4, 5",
		err);
	int step;

	memset(c, 0, sizeof(*c));
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, scope);
	while ((step = ipam__step(db, stmt, err)) == 1) {
		const char *type = ipam__col_text(stmt, 0);
		const char *comp = ipam__col_text(stmt, 3);
		const char *over = ipam__col_text(stmt, 4);
		int64_t n = ipam__col_int64(stmt, 5);
		c->total += n;
		for (int i = 0; i < 6; i++)
			if (!strcmp(type, count_types[i]))
				c->by_type[i] += n;
		if (!ipam_resource_type_manageable(type))
			continue;
		if (ipam__col_int(stmt, 1))
			c->ignored += n;
		else if (ipam__col_int(stmt, 2))
			c->managed += n;
		else
			c->unmanaged += n;
		c->compliant += !strcmp(comp, "compliant") ? n : 0;
		c->noncompliant += !strcmp(comp, "noncompliant") ? n : 0;
		c->overlapping += !strcmp(over, "overlapping") ? n : 0;
		c->nonoverlapping += !strcmp(over, "nonoverlapping") ? n : 0;
	}
	ipam__reset(stmt);
	return step < 0 ? step : 0;
}

/* key=value or JSON field; value is text, json typed. */
static void put(ipam__buf *buf, json_t *obj, const char *key, const char *value,
		json_t *typed)
{
	if (obj)
		json_object_set_new(obj, key, typed);
	else {
		ipam__buf_printf(buf, "%s=%s\n", key, value);
		json_decref(typed);
	}
}

static void put_count(ipam__buf *buf, json_t *obj, const char *key, int64_t n)
{
	char text[32];
	snprintf(text, sizeof(text), "%lld", (long long)n);
	put(buf, obj, key, text, json_integer(n));
}

/* The three percentages of every pool of the scope, in name order. */
static int scope_pools(ipam *db, int64_t scope, ipam__buf *buf, json_t *obj,
		       ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT key FROM pool WHERE"
					" scope_key = ?1 ORDER BY depth, name",
					err);
	int64_t *keys = NULL;
	size_t n = 0;
	json_t *pools = obj ? json_object() : NULL;
	int rc = 0;

	if (!stmt) {
		json_decref(pools);
		return ipam__stmt_error(err);
	}
	ipam__bind_int64(stmt, 1, scope);
	rc = ipam__collect_keys(db, stmt, &keys, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		ipam_pool_info p;
		ipam_pool_usage u;
		char a[IPAM_PERCENT_STRLEN], s[IPAM_PERCENT_STRLEN],
			v[IPAM_PERCENT_STRLEN];
		if ((rc = ipam__pool_load(db, keys[i], &p, err)) ||
		    (rc = ipam_pool_usage_get(db, keys[i], &u, err)))
			break;
		ipam_percent_format(u.allocated_to_pools, u.total, a);
		ipam_percent_format(u.assigned, u.total, s);
		ipam_percent_format(u.available, u.total, v);
		if (pools)
			json_object_set_new(pools, p.id,
					    json_pack("{s:s, s:o, s:o, s:o}",
						      "name", p.name,
						      "percent-allocated",
						      ipam__percent_json(a),
						      "percent-assigned",
						      ipam__percent_json(s),
						      "percent-available",
						      ipam__percent_json(v)));
		else
			ipam__buf_printf(buf,
					 "pool.%s.percent-allocated=%s\n"
					 "pool.%s.percent-assigned=%s\n"
					 "pool.%s.percent-available=%s\n",
					 p.id, a, p.id, s, p.id, v);
	}
	free(keys);
	if (pools) {
		if (rc == 0)
			json_object_set_new(obj, "pools", pools);
		else
			json_decref(pools);
	}
	return rc;
}

int ipam_render_scope_status(ipam *db, int64_t scope, bool json, char **out,
			     size_t *len, ipam_err *err)
{
	ipam_scope_info sc;
	scope_counts c;
	ipam__buf buf = {0};
	json_t *obj = json ? json_object() : NULL;
	char key[64];
	int rc = ipam__read_begin(db, err);

	if (rc) {
		json_decref(obj);
		return rc;
	}
	if ((rc = ipam_scope_get_by_key(db, scope, &sc, err)) ||
	    (rc = scope_count(db, scope, &c, err)))
		goto fail;
	put(&buf, obj, "scope-id", sc.id, json_string(sc.id));
	put(&buf, obj, "type", sc.is_public ? "public" : "private",
	    json_string(sc.is_public ? "public" : "private"));
	put_count(&buf, obj, "pool-count", sc.pool_count);
	put_count(&buf, obj, "resource-cidrs", c.total);
	for (int i = 0; i < 6; i++) {
		snprintf(key, sizeof(key), "%s-cidrs", count_types[i]);
		put_count(&buf, obj, key, c.by_type[i]);
	}
	put_count(&buf, obj, "managed-cidrs", c.managed);
	put_count(&buf, obj, "unmanaged-cidrs", c.unmanaged);
	put_count(&buf, obj, "ignored-cidrs", c.ignored);
	put_count(&buf, obj, "compliant-cidrs", c.compliant);
	put_count(&buf, obj, "noncompliant-cidrs", c.noncompliant);
	put_count(&buf, obj, "overlapping-cidrs", c.overlapping);
	put_count(&buf, obj, "nonoverlapping-cidrs", c.nonoverlapping);
	if ((rc = scope_pools(db, scope, &buf, obj, err)))
		goto fail;
	if (obj) {
		char *text =
			json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
						JSON_REAL_PRECISION(15));
		json_decref(obj);
		obj = NULL;
		if (text)
			ipam__buf_printf(&buf, "%s\n", text);
		else
			buf.failed = 1;
		free(text);
	}
	return ipam__read_end(db, ipam__buf_finish(&buf, out, len, err));
fail:
	json_decref(obj);
	free(buf.data);
	return ipam__read_end(db, rc);
}
