/*
 * render.c - what the IPAM looks like from outside: JSON in the shapes of
 * the AWS CLI (describe-ipams, describe-ipam-scopes, describe-ipam-pools,
 * get-ipam-pool-cidrs, get-ipam-pool-allocations), the pool `status` in
 * key=value and JSON form, and the pool `map`.
 *
 * Every view is rendered inside one read transaction, so it is a consistent
 * snapshot. Address counts are JSON numbers while they fit in 53 bits and
 * decimal strings beyond (SPEC §1.7). OwnerId is the owner's numeric uid,
 * ARNs use the AWS layout with that owner.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DUMP_FLAGS                                                             \
	(JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

/* Dumps `root` (reference stolen) as indented JSON plus a newline. The
 * lists that grow with the IPAM are written element by element instead
 * (ipam__jlist), with the same layout. */
static int dump(json_t *root, char **out, size_t *len, ipam_err *err)
{
	ipam__buf buf = {0};
	char *text = root ? json_dumps(root, DUMP_FLAGS) : NULL;
	json_decref(root);
	if (!text)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	ipam__buf_printf(&buf, "%s\n", text);
	free(text);
	return ipam__buf_finish(&buf, out, len, err);
}

static json_t *count_json(ipam_u128 value)
{
	char text[IPAM_U128_STRLEN];
	if (value < ((ipam_u128)1 << 53))
		return json_integer((json_int_t)value);
	ipam_u128_format(value, text);
	return json_string(text);
}

static json_t *cidr_json(const ipam_cidr *cidr)
{
	char text[IPAM_CIDR_STRLEN];
	ipam_cidr_format(cidr, text);
	return json_string(text);
}

static void set_if(json_t *obj, const char *key, const char *value)
{
	if (value && *value)
		json_object_set_new(obj, key, json_string(value));
}

static json_t *arn(const char *kind, uint32_t owner, const char *id)
{
	char text[160];
	snprintf(text, sizeof(text), "arn:aws:ec2::%u:%s/%s", owner, kind, id);
	return json_string(text);
}

static json_t *owner_json(uint32_t uid)
{
	char text[16];
	snprintf(text, sizeof(text), "%u", uid);
	return json_string(text);
}

/* ---- describe-ipams ---- */

static json_t *ipam_object(ipam *db, ipam_err *err)
{
	ipam_info info;
	ipam_strlist locales = {0};
	ipam_scope_info priv, pub;
	json_t *obj, *regions;
	int64_t scopes;

	if (ipam__info_load(db, &info, err) ||
	    ipam__scope_load_name(db, "private", &priv, err) ||
	    ipam__scope_load_name(db, "public", &pub, err) ||
	    ipam_locales_get(db, &locales, err))
		return NULL;
	{
		ipam_stmt *stmt =
			ipam__stmt(db, "SELECT count(*) FROM scope", err);
		if (!stmt) {
			ipam_strlist_free(&locales);
			return NULL;
		}
		scopes = ipam__step_stmt(stmt) == IPAM_ROW
				 ? ipam__col_int64(stmt, 0)
				 : 0;
		ipam__reset(stmt);
	}
	regions = json_array();
	for (size_t i = 0; i < locales.count; i++)
		json_array_append_new(regions, json_pack("{s:s}", "RegionName",
							 locales.items[i]));
	ipam_strlist_free(&locales);
	obj = json_object();
	json_object_set_new(obj, "OwnerId", owner_json(info.owner_uid));
	json_object_set_new(obj, "IpamId", json_string(info.id));
	json_object_set_new(obj, "IpamArn",
			    arn("ipam", info.owner_uid, info.id));
	json_object_set_new(obj, "IpamRegion", json_string(info.home_locale));
	json_object_set_new(obj, "PublicDefaultScopeId", json_string(pub.id));
	json_object_set_new(obj, "PrivateDefaultScopeId", json_string(priv.id));
	json_object_set_new(obj, "ScopeCount", json_integer(scopes));
	set_if(obj, "Description", info.description);
	json_object_set_new(obj, "OperatingRegions", regions);
	json_object_set_new(obj, "State", json_string("create-complete"));
	if (db->byoip_skip) /* the lab switch is shown (issue 12 §2) */
		json_object_set_new(
			obj, "StateMessage",
			json_string("byoip-proof=skip: BYOIP CIDRs are "
				    "provisioned without a proof of ownership "
				    "(lab mount option)"));
	json_object_set_new(obj, "Tags", ipam__tags_json(db, info.id));
	{
		ipam_discovery_info d;
		if (ipam__discovery_load_name(db, "default", &d, err) == 0)
			json_object_set_new(obj, "DefaultResourceDiscoveryId",
					    json_string(d.id));
		else
			ipam__oom = 1; /* the view cannot be whole */
	}
	json_object_set_new(
		obj, "Tier",
		json_string(info.tier == IPAM_TIER_FREE ? "free" : "advanced"));
	json_object_set_new(obj, "EnablePrivateGua",
			    json_boolean(info.enable_private_gua));
	return obj;
}

int ipam_render_ipam_json(ipam *db, char **out, size_t *len, ipam_err *err)
{
	json_t *obj;
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	obj = ipam_object(db, err);
	rc = obj ? dump(json_pack("{s:[o]}", "Ipams", obj), out, len, err)
		 : ipam__fail(err, IPAM_EIO, "cannot describe the IPAM");
	return ipam__read_end(db, rc);
}

/* ---- describe-ipam-scopes ---- */

int ipam_render_scopes_json(ipam *db, char **out, size_t *len, ipam_err *err)
{
	ipam_strlist names = {0};
	ipam_scope_info sc;
	ipam_info info;
	json_t *list;
	int rc = ipam__read_begin(db, err);

	if (rc)
		return rc;
	if ((rc = ipam__info_load(db, &info, err)) ||
	    (rc = ipam_scope_list(db, &names, err)))
		return ipam__read_end(db, rc);
	list = json_array();
	for (size_t i = 0; rc == 0 && i < names.count; i++) {
		json_t *obj;
		if ((rc = ipam__scope_load_name(db, names.items[i], &sc, err)))
			break;
		obj = json_object();
		json_object_set_new(obj, "OwnerId", owner_json(info.owner_uid));
		json_object_set_new(obj, "IpamScopeId", json_string(sc.id));
		json_object_set_new(obj, "IpamScopeArn",
				    arn("ipam-scope", info.owner_uid, sc.id));
		json_object_set_new(obj, "IpamArn",
				    arn("ipam", info.owner_uid, info.id));
		json_object_set_new(obj, "IpamRegion",
				    json_string(info.home_locale));
		json_object_set_new(
			obj, "IpamScopeType",
			json_string(sc.is_public ? "public" : "private"));
		json_object_set_new(obj, "IsDefault",
				    json_boolean(sc.is_default));
		set_if(obj, "Description", sc.description);
		json_object_set_new(obj, "PoolCount",
				    json_integer(sc.pool_count));
		json_object_set_new(obj, "State",
				    json_string("create-complete"));
		json_object_set_new(obj, "Tags", ipam__tags_json(db, sc.id));
		json_array_append_new(list, obj);
	}
	ipam_strlist_free(&names);
	if (rc == 0)
		rc = dump(json_pack("{s:o}", "IpamScopes", list), out, len,
			  err);
	else
		json_decref(list);
	return ipam__read_end(db, rc);
}

/* ---- describe-ipam-pools ---- */

static json_t *rule_tags_json(ipam *db, int64_t pool)
{
	ipam_strlist pairs = {0};
	json_t *list = json_array();
	if (ipam_pool_get_required_tags(db, pool, &pairs, NULL)) {
		ipam__oom = 1; /* the view cannot be whole: fail the call */
		return list;
	}
	for (size_t i = 0; i < pairs.count; i++) {
		char *eq = strchr(pairs.items[i], '=');
		*eq = '\0';
		json_array_append_new(list,
				      json_pack("{s:o, s:o}", "Key",
						json_string(pairs.items[i]),
						"Value", json_string(eq + 1)));
	}
	ipam_strlist_free(&pairs);
	return list;
}

/* A resource planning pool's SourceResource (IpamPoolSourceResource):
 * the VPC, its region and owner as they are now. */
static json_t *source_resource_json(ipam *db, const ipam_pool_info *p)
{
	ipam_resource_info vpc;
	int64_t key = 0;
	json_t *obj = json_object();

	json_object_set_new(obj, "ResourceId", json_string(p->plan_vpc));
	json_object_set_new(obj, "ResourceType", json_string("vpc"));
	if (ipam_resource_lookup(db, p->scope_key, p->plan_vpc, &key, NULL) ==
		    0 &&
	    ipam__resource_load(db, key, &vpc, NULL) == 0) {
		set_if(obj, "ResourceRegion", vpc.locale);
		set_if(obj, "ResourceOwner", vpc.owner);
	}
	return obj;
}

static json_t *pool_object(ipam *db, const ipam_pool_info *p,
			   const ipam_info *info)
{
	json_t *obj = json_object();
	json_object_set_new(obj, "OwnerId", owner_json(p->owner_uid));
	json_object_set_new(obj, "IpamPoolId", json_string(p->id));
	if (*p->source_id)
		json_object_set_new(obj, "SourceIpamPoolId",
				    json_string(p->source_id));
	json_object_set_new(obj, "IpamPoolArn",
			    arn("ipam-pool", p->owner_uid, p->id));
	json_object_set_new(obj, "IpamScopeArn",
			    arn("ipam-scope", info->owner_uid, p->scope_id));
	json_object_set_new(obj, "IpamScopeType",
			    json_string(p->is_public ? "public" : "private"));
	json_object_set_new(obj, "IpamArn",
			    arn("ipam", info->owner_uid, info->id));
	json_object_set_new(obj, "IpamRegion", json_string(info->home_locale));
	json_object_set_new(obj, "Locale",
			    json_string(*p->locale ? p->locale : "None"));
	json_object_set_new(obj, "PoolDepth", json_integer(p->depth));
	json_object_set_new(obj, "State", json_string("create-complete"));
	set_if(obj, "Description", p->description);
	json_object_set_new(obj, "AutoImport", json_boolean(p->auto_import));
	if (p->is_public) {
		json_object_set_new(obj, "PubliclyAdvertisable",
				    json_boolean(p->publicly_advertisable));
		set_if(obj, "AwsService", p->aws_service);
		set_if(obj, "PublicIpSource", p->public_ip_source);
	}
	json_object_set_new(obj, "AddressFamily",
			    json_string(ipam_family_name(p->family)));
	if (p->min_netmask >= 0)
		json_object_set_new(obj, "AllocationMinNetmaskLength",
				    json_integer(p->min_netmask));
	if (p->max_netmask >= 0)
		json_object_set_new(obj, "AllocationMaxNetmaskLength",
				    json_integer(p->max_netmask));
	if (p->default_netmask >= 0)
		json_object_set_new(obj, "AllocationDefaultNetmaskLength",
				    json_integer(p->default_netmask));
	json_object_set_new(obj, "AllocationResourceTags",
			    rule_tags_json(db, p->key));
	json_object_set_new(obj, "Tags", ipam__tags_json(db, p->id));
	if (!p->parent_key && *p->plan_vpc)
		json_object_set_new(obj, "SourceResource",
				    source_resource_json(db, p));
	return obj;
}

int ipam_render_pool_json(ipam *db, int64_t pool, char **out, size_t *len,
			  ipam_err *err)
{
	ipam_pool_info p;
	ipam_info info;
	int rc = ipam__read_begin(db, err);

	if (rc)
		return rc;
	if ((rc = ipam__pool_load(db, pool, &p, err)) ||
	    (rc = ipam__info_load(db, &info, err)))
		return ipam__read_end(db, rc);
	rc = dump(json_pack("{s:[o]}", "IpamPools", pool_object(db, &p, &info)),
		  out, len, err);
	return ipam__read_end(db, rc);
}

/* describe-ipam-pools of every pool of a scope, all depths, by depth then
 * name: what scripts read first to find a pool's id. */
int ipam_render_scope_pools_json(ipam *db, int64_t scope, char **out,
				 size_t *len, ipam_err *err)
{
	ipam_stmt *stmt;
	ipam_info info;
	int64_t *keys = NULL;
	size_t n = 0;
	ipam__buf buf = {0};
	ipam__jlist list;
	int rc = ipam__read_begin(db, err);

	if (rc)
		return rc;
	if ((rc = ipam__info_load(db, &info, err)))
		return ipam__read_end(db, rc);
	stmt = ipam__stmt(db,
			  "SELECT key FROM pool WHERE scope_key = ?1"
			  " ORDER BY depth, name, key",
			  err);
	if (stmt)
		ipam__bind_int64(stmt, 1, scope);
	if ((rc = ipam__collect_keys(db, stmt, &keys, &n, err)))
		return ipam__read_end(db, rc);
	ipam__jlist_begin(&list, &buf, "IpamPools", DUMP_FLAGS);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		ipam_pool_info p;
		if ((rc = ipam__pool_load(db, keys[i], &p, err)) == 0)
			ipam__jlist_add(&list, pool_object(db, &p, &info));
	}
	free(keys);
	if (rc) {
		free(buf.data);
		return ipam__read_end(db, rc);
	}
	ipam__jlist_end(&list);
	return ipam__read_end(db, ipam__buf_finish(&buf, out, len, err));
}

/* ---- describe-ipam-resource-discoveries ---- */

int ipam_render_discoveries_json(ipam *db, char **out, size_t *len,
				 ipam_err *err)
{
	ipam_strlist names = {0}, locales = {0};
	ipam_info info;
	json_t *list;
	int rc = ipam__read_begin(db, err);

	if (rc)
		return rc;
	if ((rc = ipam__info_load(db, &info, err)) ||
	    (rc = ipam_discovery_list(db, &names, err)))
		return ipam__read_end(db, rc);
	if ((rc = ipam_locales_get(db, &locales, err))) {
		ipam_strlist_free(&names);
		return ipam__read_end(db, rc);
	}
	list = json_array();
	for (size_t i = 0; rc == 0 && i < names.count; i++) {
		ipam_discovery_info d;
		json_t *obj, *regions = json_array();
		if ((rc = ipam__discovery_load_name(db, names.items[i], &d,
						    err))) {
			json_decref(regions);
			break;
		}
		for (size_t j = 0; j < locales.count; j++)
			json_array_append_new(regions,
					      json_pack("{s:s}", "RegionName",
							locales.items[j]));
		obj = json_object();
		json_object_set_new(obj, "OwnerId", owner_json(info.owner_uid));
		json_object_set_new(obj, "IpamResourceDiscoveryId",
				    json_string(d.id));
		json_object_set_new(
			obj, "IpamResourceDiscoveryArn",
			arn("ipam-resource-discovery", info.owner_uid, d.id));
		json_object_set_new(obj, "IpamResourceDiscoveryRegion",
				    json_string(info.home_locale));
		json_object_set_new(obj, "Description", json_string(d.name));
		json_object_set_new(obj, "OperatingRegions", regions);
		json_object_set_new(obj, "IsDefault",
				    json_boolean(!strcmp(d.name, "default")));
		json_object_set_new(obj, "State",
				    json_string("create-complete"));
		json_object_set_new(obj, "Tags", ipam__tags_json(db, d.id));
		json_array_append_new(list, obj);
	}
	ipam_strlist_free(&names);
	ipam_strlist_free(&locales);
	if (rc) {
		json_decref(list);
		return ipam__read_end(db, rc);
	}
	rc = dump(json_pack("{s:o}", "IpamResourceDiscoveries", list), out, len,
		  err);
	return ipam__read_end(db, rc);
}

/*
 * get-ipam-discovered-accounts, the local analogue: an "account" is each
 * distinct (ResourceOwnerId, ResourceRegion) of the resources a discovery
 * sees (the owner a feed gives, the uid of a hand-adopted one), and its
 * discovery times are the discovery's last snapshot.
 */
int ipam_render_discovered_accounts_json(ipam *db, int64_t discovery,
					 char **out, size_t *len, ipam_err *err)
{
	ipam_discovery_info d;
	ipam_info info;
	ipam_stmt *stmt;
	json_t *list;
	int rc = ipam__read_begin(db, err), step;

	if (rc)
		return rc;
	if ((rc = ipam__info_load(db, &info, err)) ||
	    (rc = ipam__discovery_load_key(db, discovery, &d, err)))
		return ipam__read_end(db, rc);
	stmt = ipam__stmt(db,
			  "SELECT DISTINCT owner, CASE WHEN locale = '' THEN"
			  " ?2 ELSE locale END AS region FROM resource WHERE"
			  " discovery_key = ?1 ORDER BY owner, region",
			  err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	ipam__bind_int64(stmt, 1, discovery);
	ipam__bind_text(stmt, 2, *d.locale ? d.locale : info.home_locale, -1);
	list = json_array();
	while ((step = ipam__step(db, stmt, err)) == 1) {
		json_t *obj = json_object();
		json_object_set_new(
			obj, "AccountId",
			json_string(
				ipam__col_text(stmt, 0)));
		json_object_set_new(
			obj, "DiscoveryRegion",
			json_string(
				ipam__col_text(stmt, 1)));
		if (d.last_feed) {
			char when[IPAM_TIME_STRLEN];
			ipam_time_format_aws(d.last_feed, when);
			json_object_set_new(obj, "LastAttemptedDiscoveryTime",
					    json_string(when));
			json_object_set_new(obj, "LastSuccessfulDiscoveryTime",
					    json_string(when));
		}
		json_array_append_new(list, obj);
	}
	ipam__reset(stmt);
	if (step < 0) {
		json_decref(list);
		return ipam__read_end(db, step);
	}
	rc = dump(json_pack("{s:o}", "IpamDiscoveredAccounts", list), out, len,
		  err);
	return ipam__read_end(db, rc);
}

/* ---- get-ipam-pool-cidrs ---- */

int ipam_render_pool_cidrs_json(ipam *db, int64_t pool, char **out, size_t *len,
				ipam_err *err)
{
	ipam_pool_cidr *cidrs;
	size_t n;
	ipam__buf buf = {0};
	ipam__jlist list;
	int rc = ipam__read_begin(db, err);

	if (rc)
		return rc;
	if ((rc = ipam_pool_cidrs(db, pool, &cidrs, &n, err)))
		return ipam__read_end(db, rc);
	ipam__jlist_begin(&list, &buf, "IpamPoolCidrs", DUMP_FLAGS);
	for (size_t i = 0; i < n; i++) {
		json_t *item = json_pack(
			"{s:o, s:s, s:s, s:i}", "Cidr", cidr_json(&cidrs[i].cidr),
			"State", cidrs[i].state, "IpamPoolCidrId", cidrs[i].id,
			"NetmaskLength", (int)cidrs[i].cidr.prefix);
		/* failed-provision: why (IpamPoolCidrFailureReason) */
		if (item && *cidrs[i].failure_code)
			json_object_set_new(
				item, "FailureReason",
				json_pack("{s:s, s:s}", "Code",
					  cidrs[i].failure_code, "Message",
					  cidrs[i].failure_reason));
		ipam__jlist_add(&list, item);
	}
	free(cidrs);
	ipam__jlist_end(&list);
	return ipam__read_end(db, ipam__buf_finish(&buf, out, len, err));
}

/* ---- get-ipam-pool-allocations ---- */

int ipam_render_pool_allocations_json(ipam *db, int64_t pool, char **out,
				      size_t *len, ipam_err *err)
{
	ipam_pool_info p;
	ipam_stmt *stmt;
	ipam__buf buf = {0};
	ipam__jlist list;
	int rc = ipam__read_begin(db, err), step;

	if (rc)
		return rc;
	if ((rc = ipam__pool_load(db, pool, &p, err)))
		return ipam__read_end(db, rc);
	stmt = ipam__stmt(db,
			  "SELECT start, prefix, aws_id, description,"
			  " resource_id, resource_type, resource_region, uid,"
			  " coalesce((SELECT r.owner FROM resource_cidr c"
			  "  JOIN resource r ON r.key = c.resource_key"
			  "  WHERE c.alloc_key = allocation.key"
			  "  AND r.owner <> '' LIMIT 1), '')"
			  " FROM allocation WHERE pool_key = ?1 ORDER BY start",
			  err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	ipam__bind_int64(stmt, 1, pool);
	ipam__jlist_begin(&list, &buf, "IpamPoolAllocations", DUMP_FLAGS);
	while ((step = ipam__step(db, stmt, err)) == 1) {
		ipam_cidr c = {.family = (uint8_t)p.family};
		json_t *obj = json_object();
		c.addr = ipam__blob_to_addr(stmt, 0);
		c.prefix = (uint8_t)ipam__col_int(stmt, 1);
		json_object_set_new(obj, "Cidr", cidr_json(&c));
		json_object_set_new(
			obj, "IpamPoolAllocationId",
			json_string(
				ipam__col_text(stmt, 2)));
		set_if(obj, "Description",
		       ipam__col_text(stmt, 3));
		set_if(obj, "ResourceId",
		       ipam__col_text(stmt, 4));
		json_object_set_new(
			obj, "ResourceType",
			json_string(
				ipam__col_text(stmt, 5)));
		set_if(obj, "ResourceRegion",
		       ipam__col_text(stmt, 6));
		/* a resource's allocation is its owner's (L8708-L8712) */
		const char *owner = ipam__col_text(stmt, 8);
		json_object_set_new(
			obj, "ResourceOwner",
			owner && *owner
				? json_string(owner)
				: owner_json((uint32_t)ipam__col_int64(
					  stmt, 7)));
		json_object_set_new(
			obj, "Tags",
			ipam__tags_json(db, ipam__col_text(
						    stmt, 2)));
		ipam__jlist_add(&list, obj);
	}
	ipam__reset(stmt);
	if (step < 0) {
		free(buf.data);
		return ipam__read_end(db, step);
	}
	ipam__jlist_end(&list);
	return ipam__read_end(db, ipam__buf_finish(&buf, out, len, err));
}

/*
 * One allocation as one line of JSON: the members of IpamPoolAllocation,
 * then a host record's DnsName and MacAddress (ipamfs's own, shapes.md).
 * One line, so that `grep -r web01` shows the name beside its CIDR.
 */
int ipam_render_allocation_json(ipam *db, int64_t pool, const char *name,
				char **out, size_t *len, ipam_err *err)
{
	ipam_alloc_info a;
	ipam__buf buf = {0};
	json_t *obj;
	char *text;
	int rc = ipam__read_begin(db, err);

	if (rc)
		return rc;
	if ((rc = ipam_alloc_get(db, pool, name, &a, err)))
		return ipam__read_end(db, rc);
	obj = json_object();
	json_object_set_new(obj, "Cidr", cidr_json(&a.cidr));
	json_object_set_new(obj, "IpamPoolAllocationId", json_string(a.id));
	set_if(obj, "Description", a.description);
	set_if(obj, "ResourceId", a.resource_id);
	json_object_set_new(obj, "ResourceType", json_string(a.resource_type));
	set_if(obj, "ResourceRegion", a.resource_region);
	json_object_set_new(obj, "ResourceOwner", owner_json(a.owner_uid));
	set_if(obj, "DnsName", a.dns_name);
	set_if(obj, "MacAddress", a.mac_address);
	text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (!text)
		return ipam__read_end(db, ipam__fail(err, IPAM_ENOMEM,
						     "out of memory"));
	ipam__buf_printf(&buf, "%s\n", text);
	free(text);
	return ipam__read_end(db, ipam__buf_finish(&buf, out, len, err));
}

/* ---- status ---- */

enum { STATUS_FIELDS = 19 };

/* The SPEC §6.1 fields in order, as text and as typed JSON. */
static int status_fields(ipam *db, int64_t pool, const char *keys[],
			 char values[][IPAM_PERCENT_STRLEN], json_t *json[],
			 ipam_err *err)
{
	ipam_pool_info p;
	ipam_pool_usage u;
	ipam_cidr largest;
	int rc, i = 0;

	if ((rc = ipam__pool_load(db, pool, &p, err)) ||
	    (rc = ipam_pool_usage_get(db, pool, &u, err)))
		return rc;
#define FIELD(k, j, ...)                                                       \
	do {                                                                   \
		keys[i] = (k);                                                 \
		snprintf(values[i], IPAM_PERCENT_STRLEN, __VA_ARGS__);         \
		json[i] = (j);                                                 \
		i++;                                                           \
	} while (0)
	FIELD("pool-id", json_string(p.id), "%s", p.id);
	FIELD("scope-id", json_string(p.scope_id), "%s", p.scope_id);
	FIELD("source-pool-id",
	      *p.source_id ? json_string(p.source_id) : json_null(), "%s",
	      p.source_id);
	FIELD("state", json_string("create-complete"), "create-complete");
	FIELD("locale", json_string(*p.locale ? p.locale : "none"), "%s",
	      *p.locale ? p.locale : "none");
	FIELD("address-family", json_string(ipam_family_name(p.family)),
	      "%s", ipam_family_name(p.family));
	FIELD("pool-depth", json_integer(p.depth), "%d", p.depth);
	FIELD("provisioned-cidrs", json_integer(u.provisioned_cidrs), "%lld",
	      (long long)u.provisioned_cidrs);
#undef FIELD
	{
		const ipam_u128 counts[] = {u.total, u.allocated_to_pools,
					    u.assigned, u.available};
		static const char *const names[] = {
			"total-addresses", "allocated-to-pools-addresses",
			"assigned-addresses", "available-addresses"};
		for (int k = 0; k < 4; k++, i++) {
			keys[i] = names[k];
			ipam_u128_format(counts[k], values[i]);
			json[i] = count_json(counts[k]);
		}
	}
	{
		const ipam_u128 parts[] = {u.allocated_to_pools, u.assigned,
					   u.available};
		static const char *const names[] = {"percent-allocated",
						    "percent-assigned",
						    "percent-available"};
		for (int k = 0; k < 3; k++, i++) {
			keys[i] = names[k];
			ipam_percent_format(parts[k], u.total, values[i]);
			json[i] = ipam__percent_json(values[i]);
		}
	}
	keys[i] = "allocation-count";
	snprintf(values[i], IPAM_PERCENT_STRLEN, "%lld",
		 (long long)u.allocation_count);
	json[i++] = json_integer(u.allocation_count);
	keys[i] = "compliant-resource-cidrs";
	snprintf(values[i], IPAM_PERCENT_STRLEN, "%lld",
		 (long long)u.compliant);
	json[i++] = json_integer(u.compliant);
	keys[i] = "noncompliant-resource-cidrs";
	snprintf(values[i], IPAM_PERCENT_STRLEN, "%lld",
		 (long long)u.noncompliant);
	json[i++] = json_integer(u.noncompliant);
	keys[i] = "largest-free-block";
	values[i][0] = '\0';
	json[i] = json_null();
	rc = ipam__largest_free(db, pool, &largest, err);
	if (rc < 0) {
		for (int k = 0; k < i; k++)
			json_decref(json[k]);
		json_decref(json[i]);
		return rc;
	}
	if (rc == 1) {
		largest.family = (uint8_t)p.family;
		ipam_cidr_format(&largest, values[i]);
		json_decref(json[i]);
		json[i] = json_string(values[i]);
	}
	return 0;
}

int ipam_render_pool_status(ipam *db, int64_t pool, bool as_json, char **out,
			    size_t *len, ipam_err *err)
{
	const char *keys[STATUS_FIELDS];
	char values[STATUS_FIELDS][IPAM_PERCENT_STRLEN];
	json_t *json[STATUS_FIELDS] = {0};
	ipam__buf buf = {0};
	int rc = ipam__read_begin(db, err);

	if (rc)
		return rc;
	if ((rc = status_fields(db, pool, keys, values, json, err)))
		return ipam__read_end(db, rc);
	if (as_json) {
		json_t *obj = json_object();
		for (int i = 0; i < STATUS_FIELDS; i++)
			json_object_set_new(obj, keys[i], json[i]);
		rc = dump(obj, out, len, err);
	} else {
		for (int i = 0; i < STATUS_FIELDS; i++) {
			ipam__buf_printf(&buf, "%s=%s\n", keys[i], values[i]);
			json_decref(json[i]);
		}
		rc = ipam__buf_finish(&buf, out, len, err);
	}
	return ipam__read_end(db, rc);
}

/* ---- map ---- */

/* Lists the allocations and free blocks inside one provisioned CIDR, merged
 * in address order. */
static int map_cidr(ipam *db, int64_t pool, const ipam_cidr *cidr,
		    ipam__buf *buf, ipam_err *err)
{
	ipam_stmt *allocs = ipam__stmt(
		db,
		"SELECT start, prefix, resource_type, name, resource_id FROM"
		" allocation WHERE pool_key = ?1 AND start >= ?2 AND"
		" start <= ?3 ORDER BY start",
		err);
	ipam_stmt *frees = ipam__stmt(db,
					 "SELECT start, prefix FROM free_block"
					 " WHERE pool_key = ?1 AND start >= ?2"
					 " AND start <= ?3 ORDER BY start",
					 err);
	char text[IPAM_CIDR_STRLEN];
	int ra, rf;

	if (!allocs || !frees)
		return ipam__stmt_error(err);
	ipam__bind_int64(allocs, 1, pool);
	ipam__bind_addr(allocs, 2, cidr->addr);
	ipam__bind_addr(allocs, 3, ipam_cidr_last(cidr));
	ipam__bind_int64(frees, 1, pool);
	ipam__bind_addr(frees, 2, cidr->addr);
	ipam__bind_addr(frees, 3, ipam_cidr_last(cidr));
	ra = ipam__step(db, allocs, err);
	rf = ipam__step(db, frees, err);
	while (ra == 1 || rf == 1) {
		ipam_cidr c = {.family = cidr->family};
		bool take_alloc =
			ra == 1 &&
			(rf != 1 || ipam__blob_to_addr(allocs, 0) <
					    ipam__blob_to_addr(frees, 0));
		ipam_stmt *s = take_alloc ? allocs : frees;
		c.addr = ipam__blob_to_addr(s, 0);
		c.prefix = (uint8_t)ipam__col_int(s, 1);
		ipam_cidr_format(&c, text);
		if (take_alloc) {
			const char *rid =
				ipam__col_text(s, 4);
			ipam__buf_printf(buf, "  %s %s %s%s%s\n", text,
					 ipam__col_text(s, 2),
					 ipam__col_text(s, 3),
					 *rid ? " " : "", rid);
			ra = ipam__step(db, allocs, err);
		} else {
			ipam__buf_printf(buf, "  %s free\n", text);
			rf = ipam__step(db, frees, err);
		}
	}
	ipam__reset(allocs);
	ipam__reset(frees);
	return ra < 0 ? ra : rf < 0 ? rf : 0;
}

int ipam_render_pool_map(ipam *db, int64_t pool, char **out, size_t *len,
			 ipam_err *err)
{
	ipam_pool_cidr *cidrs;
	ipam__buf buf = {0};
	char text[IPAM_CIDR_STRLEN];
	size_t n;
	int rc = ipam__read_begin(db, err);

	if (rc)
		return rc;
	if ((rc = ipam_pool_cidrs(db, pool, &cidrs, &n, err)))
		return ipam__read_end(db, rc);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		ipam_cidr_format(&cidrs[i].cidr, text);
		ipam__buf_printf(&buf, "%s provisioned\n", text);
		rc = map_cidr(db, pool, &cidrs[i].cidr, &buf, err);
	}
	free(cidrs);
	if (rc) {
		free(buf.data);
		return ipam__read_end(db, rc);
	}
	return ipam__read_end(db, ipam__buf_finish(&buf, out, len, err));
}

/* ---- describe-ipam-external-resource-verification-tokens ---- */

int ipam_render_tokens_json(ipam *db, char **out, size_t *len, ipam_err *err)
{
	ipam_stmt *stmt;
	ipam_info info;
	json_t *list;
	int rc = ipam__read_begin(db, err), step;

	if (rc)
		return rc;
	if ((rc = ipam__info_load(db, &info, err)))
		return ipam__read_end(db, rc);
	stmt = ipam__stmt(db,
			  "SELECT name FROM verification_token ORDER BY name",
			  err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	list = json_array();
	while ((step = ipam__step(db, stmt, err)) == 1) {
		char name[IPAM_NAME_MAX + 1], when[IPAM_TIME_STRLEN];
		ipam_token_info t;
		json_t *obj;
		ipam__copy_text(name, sizeof(name), stmt, 0);
		/* another statement: the cursor above stays where it is */
		if (ipam__token_load(db, "name", name, &t, err) != 1)
			continue;
		ipam_time_format_aws(t.not_after, when);
		obj = json_object();
		json_object_set_new(obj,
				    "IpamExternalResourceVerificationTokenId",
				    json_string(t.id));
		json_object_set_new(
			obj, "IpamExternalResourceVerificationTokenArn",
			arn("ipam-external-resource-verification-token",
			    info.owner_uid, t.id));
		json_object_set_new(obj, "IpamId", json_string(info.id));
		json_object_set_new(obj, "IpamArn",
				    arn("ipam", info.owner_uid, info.id));
		json_object_set_new(obj, "IpamRegion",
				    json_string(info.home_locale));
		json_object_set_new(obj, "TokenValue",
				    json_string(t.token_value));
		json_object_set_new(obj, "TokenName",
				    json_string(t.token_name));
		json_object_set_new(obj, "NotAfter", json_string(when));
		json_object_set_new(obj, "Status",
				    json_string(t.expired ? "expired"
							  : "valid"));
		json_object_set_new(obj, "Tags", json_array());
		json_object_set_new(obj, "State",
				    json_string("create-complete"));
		json_array_append_new(list, obj);
	}
	ipam__reset(stmt);
	if (step < 0) {
		json_decref(list);
		return ipam__read_end(db, step);
	}
	rc = dump(json_pack("{s:o}", "IpamExternalResourceVerificationTokens",
			    list),
		  out, len, err);
	return ipam__read_end(db, rc);
}

/* ---- describe-ipam-byoasn ---- */

int ipam_render_asns_json(ipam *db, char **out, size_t *len, ipam_err *err)
{
	ipam_stmt *stmt;
	ipam_info info;
	json_t *list;
	int rc = ipam__read_begin(db, err), step;

	if (rc)
		return rc;
	if ((rc = ipam__info_load(db, &info, err)))
		return ipam__read_end(db, rc);
	/* deprovisioned ASNs are shown for 7 days (L5360) */
	stmt = ipam__stmt(db,
			  "SELECT asn, state, reason FROM asn WHERE state != ?1"
			  " OR changed >= ?2 ORDER BY asn",
			  err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	ipam__bind_int(stmt, 1, IPAM_BYOIP_DEPROVISIONED);
	ipam__bind_int64(stmt, 2, ipam__now(db) - 7 * 86400);
	list = json_array();
	while ((step = ipam__step(db, stmt, err)) == 1) {
		char asn[16];
		json_t *obj = json_object();
		const char *reason = ipam__col_text(stmt, 2);
		snprintf(asn, sizeof(asn), "%lld",
			 (long long)ipam__col_int64(stmt, 0));
		json_object_set_new(obj, "Asn", json_string(asn));
		json_object_set_new(obj, "IpamId", json_string(info.id));
		if (reason && *reason)
			json_object_set_new(obj, "StatusMessage",
					    json_string(reason));
		json_object_set_new(
			obj, "State",
			json_string(ipam_byoip_state_name(
				(ipam_byoip_state)ipam__col_int(stmt, 1))));
		json_array_append_new(list, obj);
	}
	ipam__reset(stmt);
	if (step < 0) {
		json_decref(list);
		return ipam__read_end(db, step);
	}
	rc = dump(json_pack("{s:o}", "Byoasns", list), out, len, err);
	return ipam__read_end(db, rc);
}

/* ---- describe-byoip-cidrs ---- */

static json_t *asn_associations(ipam *db, const ipam_cidr *c, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT a.asn FROM asn_cidr c JOIN asn a ON a.key = c.asn_key"
		" WHERE c.family = ?1 AND c.start = ?2 AND c.prefix = ?3"
		" ORDER BY a.asn",
		err);
	char text[IPAM_CIDR_STRLEN];
	json_t *list = json_array();

	if (!stmt)
		return list;
	ipam_cidr_format(c, text);
	ipam__bind_int(stmt, 1, c->family);
	ipam__bind_addr(stmt, 2, c->addr);
	ipam__bind_int(stmt, 3, c->prefix);
	while (ipam__step(db, stmt, err) == 1) {
		char asn[16];
		snprintf(asn, sizeof(asn), "%lld",
			 (long long)ipam__col_int64(stmt, 0));
		json_array_append_new(list,
				      json_pack("{s:s, s:s, s:s}", "Asn", asn,
						"Cidr", text, "State",
						"associated"));
	}
	ipam__reset(stmt);
	return list;
}

int ipam_render_byoip_cidrs_json(ipam *db, char **out, size_t *len,
				 ipam_err *err)
{
	ipam_stmt *stmt;
	json_t *list;
	int rc = ipam__read_begin(db, err), step;

	if (rc)
		return rc;
	stmt = ipam__stmt(
		db,
		"SELECT p.family, c.start, c.prefix, p.locale, p.advertisable,"
		" a.pool_key IS NOT NULL, p.description FROM pool_cidr c"
		" JOIN pool p ON p.key = c.pool_key JOIN scope s ON"
		" s.key = p.scope_key LEFT JOIN advertisement a ON"
		" a.family = p.family AND a.start = c.start AND"
		" a.prefix = c.prefix AND a.pool_key = p.key"
		" WHERE s.is_public <> 0 AND p.locale != ''"
		/* a CIDR provisioned to a pool and its child: listed once, as
		 * the deepest pool has it (where it is advertised) */
		" AND NOT EXISTS (SELECT 1 FROM pool q JOIN pool_cidr d ON"
		" d.pool_key = q.key WHERE q.parent_key = p.key AND"
		" q.locale != '' AND d.start = c.start AND d.prefix = c.prefix)"
		" ORDER BY p.family, c.start, c.prefix",
		err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	list = json_array();
	while ((step = ipam__step(db, stmt, err)) == 1) {
		ipam_cidr c = {.family = (uint8_t)ipam__col_int(stmt, 0)};
		char text[IPAM_CIDR_STRLEN];
		const char *state = "provisioned";
		json_t *obj = json_object();
		c.addr = ipam__blob_to_addr(stmt, 1);
		c.prefix = (uint8_t)ipam__col_int(stmt, 2);
		ipam_cidr_format(&c, text);
		if (ipam__col_int(stmt, 5))
			state = "advertised";
		else if (c.family == 6 && !ipam__col_int(stmt, 4))
			state = "provisioned-not-publicly-advertisable";
		json_object_set_new(obj, "Cidr", json_string(text));
		if (ipam__col_text(stmt, 6) && *ipam__col_text(stmt, 6))
			json_object_set_new(
				obj, "Description",
				json_string(ipam__col_text(
					stmt, 6)));
		json_object_set_new(obj, "AsnAssociations",
				    asn_associations(db, &c, err));
		json_object_set_new(obj, "StatusMessage",
				    json_string(strcmp(state, "advertised")
							? "Cidr successfully "
							  "provisioned"
							: "Cidr advertised"));
		json_object_set_new(obj, "State", json_string(state));
		json_object_set_new(obj, "NetworkBorderGroup",
				    json_string(ipam__col_text(
								stmt, 3)));
		json_array_append_new(list, obj);
	}
	ipam__reset(stmt);
	if (step < 0) {
		json_decref(list);
		return ipam__read_end(db, step);
	}
	rc = dump(json_pack("{s:o}", "ByoipCidrs", list), out, len, err);
	return ipam__read_end(db, rc);
}
