/*
 * export.c - the whole IPAM as one JSON document (SPEC §8.3, /export.json)
 * and the IP address history as another (/export-history.json).
 *
 * The document is an object whose arrays use the AWS CLI shapes
 * (IpamScopes, IpamPools, IpamPoolCidrs, IpamResourceDiscoveries,
 * IpamResources, IpamPoolAllocations, IpamPrefixListResolvers: their
 * settings, rules and targets, not the resolved entries and versions, which
 * are derived, and IpamPolicies: settings, rules, targets, enabled) with
 * the ipamfs fields (Name, Path,
 * Created, Uid, Gid, Mode, AllocationStrategy, Scope, MonitoringState,
 * ResourceCidrs, ...) under their own names. Each array element sits on its
 * own line, in a fixed order (scopes by name, pools by path, CIDRs and
 * allocations by pool path then address, discoveries by name, resources by
 * scope name then id, prefix lists and policies by name), so the same IPAM always exports the same bytes,
 * a diff shows one object per changed line, and the importer (import.c)
 * can read it one element at a time. Everything is read in one read
 * transaction: a consistent snapshot.
 */
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "ipam_prefixlist.h"
#include "internal.h"

/* Compact, ordered JSON of obj on one line (reference stolen). */
static void put_json(ipam__buf *buf, json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)
			 : NULL;
	json_decref(obj);
	if (!text) {
		buf->failed = 1;
		return;
	}
	ipam__buf_add(buf, text, strlen(text));
	free(text);
}

/* A JSON string literal, escaped as jansson does (for the fast paths). */
void ipam__export_string(ipam__buf *buf, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;
	ipam__buf_add(buf, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		const char *esc = NULL;
		char u[7];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		ipam__buf_add(buf, run, (size_t)(s - run));
		switch (c) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		default:
			memcpy(u, "\\u00", 4);
			u[4] = hex[c >> 4];
			u[5] = hex[c & 15];
			u[6] = '\0';
			esc = u;
		}
		ipam__buf_add(buf, esc, strlen(esc));
		run = s + 1;
	}
	ipam__buf_add(buf, run, (size_t)(s - run));
	ipam__buf_add(buf, "\"", 1);
}

static json_t *time_json(int64_t t)
{
	char text[IPAM_TIME_STRLEN];
	ipam_time_format(t, text);
	return json_string(text);
}

static json_t *mode_json(uint32_t mode)
{
	char text[16];
	snprintf(text, sizeof(text), "%04o", mode & 07777);
	return json_string(text);
}

static void set_perm(json_t *obj, ipam_stmt *stmt, int col)
{
	json_object_set_new(obj, "Uid",
			    json_integer(ipam__col_int64(stmt, col)));
	json_object_set_new(obj, "Gid",
			    json_integer(ipam__col_int64(stmt, col + 1)));
	json_object_set_new(
		obj, "Mode",
		mode_json((uint32_t)ipam__col_int64(stmt, col + 2)));
}

static const char *col_text(ipam_stmt *stmt, int col)
{
	const char *s = ipam__col_text(stmt, col);
	return s ? s : "";
}

/* ---- the IPAM ---- */

/* The proof-of-ownership settings as stored: AccountId "" means the
 * owner's uid (OwnerId), as the setting's file says. */
static json_t *byoip_settings_json(ipam *db, json_t *obj, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db, "SELECT certificate, account_id, dns_resolver FROM ipam",
		err);
	int rc;
	if (!stmt) {
		json_decref(obj);
		return NULL;
	}
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		json_object_set_new(obj, "Certificate",
				    json_string(col_text(stmt, 0)));
		json_object_set_new(obj, "AccountId",
				    json_string(col_text(stmt, 1)));
		json_object_set_new(obj, "DnsResolver",
				    json_string(col_text(stmt, 2)));
	}
	ipam__reset(stmt);
	if (rc != 1) {
		if (rc == 0)
			ipam__fail(err, IPAM_EIO, "the ipam row is missing");
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static json_t *ipam_part(ipam *db, ipam_err *err)
{
	ipam_info info;
	ipam_strlist locales = {0};
	json_t *obj, *regions, *quotas;
	int64_t retention = 0, event_retention = 0;

	if (ipam__info_load(db, &info, err) ||
	    ipam_locales_get(db, &locales, err) ||
	    ipam_retention_get(db, IPAM_RETAIN_HISTORY, &retention, err) ||
	    ipam_retention_get(db, IPAM_RETAIN_EVENTS, &event_retention,
			       err)) {
		ipam_strlist_free(&locales);
		return NULL;
	}
	obj = json_object();
	regions = json_array();
	for (size_t i = 0; i < locales.count; i++)
		json_array_append_new(regions, json_pack("{s:s}", "RegionName",
							 locales.items[i]));
	ipam_strlist_free(&locales);
	quotas = json_object();
	for (int q = 0; q < IPAM_QUOTA_COUNT; q++) {
		int64_t v = 0;
		if (ipam_quota_get(db, (ipam_quota)q, &v, err)) {
			json_decref(quotas);
			json_decref(regions);
			json_decref(obj);
			return NULL;
		}
		json_object_set_new(quotas, ipam_quota_name((ipam_quota)q),
				    json_integer(v));
	}
	json_object_set_new(obj, "IpamId", json_string(info.id));
	json_object_set_new(obj, "IpamRegion", json_string(info.home_locale));
	json_object_set_new(obj, "Description", json_string(info.description));
	json_object_set_new(obj, "OperatingRegions", regions);
	json_object_set_new(
		obj, "Tier",
		json_string(info.tier == IPAM_TIER_FREE ? "free" : "advanced"));
	json_object_set_new(obj, "EnablePrivateGua",
			    json_boolean(info.enable_private_gua));
	json_object_set_new(obj, "Tags", ipam__tags_json(db, info.id));
	json_object_set_new(obj, "OwnerId",
			    json_sprintf("%u", (unsigned)info.owner_uid));
	json_object_set_new(obj, "Created", time_json(info.created));
	json_object_set_new(obj, "HistoryRetentionDays",
			    json_integer(retention));
	json_object_set_new(obj, "EventRetentionDays",
			    json_integer(event_retention));
	json_object_set_new(obj, "Quotas", quotas);
	if (ipam_provider_cidrs_get(db, &locales, err)) {
		json_decref(obj);
		return NULL;
	}
	regions = json_array();
	for (size_t i = 0; i < locales.count; i++)
		json_array_append_new(regions, json_string(locales.items[i]));
	ipam_strlist_free(&locales);
	json_object_set_new(obj, "ProviderCidrs", regions);
	return byoip_settings_json(db, obj, err);
}

/* ---- scopes ---- */

static int scopes_part(ipam *db, ipam__buf *buf, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT aws_id, name, is_public, is_default, description,"
		" created, uid, gid, mode FROM scope ORDER BY name",
		err);
	int step;
	const char *sep = "\n";
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__buf_add(buf, "\"IpamScopes\": [", 15);
	while ((step = ipam__step(db, stmt, err)) == 1) {
		const char *id = col_text(stmt, 0);
		json_t *obj = json_object();
		json_object_set_new(obj, "IpamScopeId", json_string(id));
		json_object_set_new(obj, "IpamScopeType",
				    json_string(ipam__col_int(stmt, 2)
							? "public"
							: "private"));
		json_object_set_new(obj, "IsDefault",
				    json_boolean(ipam__col_int(stmt, 3)));
		json_object_set_new(obj, "Description",
				    json_string(col_text(stmt, 4)));
		json_object_set_new(obj, "Tags", ipam__tags_json(db, id));
		json_object_set_new(obj, "Name",
				    json_string(col_text(stmt, 1)));
		json_object_set_new(obj, "Created",
				    time_json(ipam__col_int64(stmt, 5)));
		set_perm(obj, stmt, 6);
		ipam__buf_add(buf, sep, strlen(sep));
		put_json(buf, obj);
		sep = ",\n";
	}
	ipam__reset(stmt);
	ipam__buf_add(buf, "\n],\n", 4);
	return step < 0 ? step : 0;
}

/* ---- pools, in path order ---- */

typedef struct export_pool {
	int64_t key, parent;
	int family;
	char *path; /* scopes/S/pools/A/pools/B */
	char *id;
	char *name, *scope; /* until the path is built */
} export_pool;

static int pool_cmp(const void *a, const void *b)
{
	return strcmp(((const export_pool *)a)->path,
		      ((const export_pool *)b)->path);
}

static int key_cmp(const void *a, const void *b)
{
	int64_t x = ((const export_pool *)a)->key;
	int64_t y = ((const export_pool *)b)->key;
	return (x > y) - (x < y);
}

/* Builds the path of pools[i] and of its ancestors (pools sorted by key). */
static int pool_path(export_pool *pools, size_t n, export_pool *p, int depth)
{
	char *path = NULL;
	int len;
	if (p->path)
		return 0;
	if (depth > 128)
		return IPAM_EIO;
	if (p->parent) {
		export_pool key = {.key = p->parent};
		export_pool *q =
			bsearch(&key, pools, n, sizeof(*pools), key_cmp);
		int rc = q ? pool_path(pools, n, q, depth + 1) : IPAM_EIO;
		if (rc)
			return rc;
		len = asprintf(&path, "%s/pools/%s", q->path, p->name);
	} else {
		len = asprintf(&path, "scopes/%s/pools/%s", p->scope, p->name);
	}
	if (len < 0)
		return IPAM_ENOMEM;
	p->path = path;
	return 0;
}

static void pools_free(export_pool *pools, size_t n)
{
	for (size_t i = 0; pools && i < n; i++) {
		free(pools[i].path);
		free(pools[i].id);
		free(pools[i].name);
		free(pools[i].scope);
	}
	free(pools);
}

static int pools_read(ipam *db, ipam_stmt *stmt, export_pool **out,
		      size_t *count, ipam_err *err)
{
	export_pool *pools = NULL;
	size_t n = 0, cap = 0;
	int step;
	while ((step = ipam__step(db, stmt, err)) == 1) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			export_pool *np = realloc(pools, ncap * sizeof(*np));
			if (!np) {
				step = IPAM_ENOMEM;
				break;
			}
			pools = np;
			cap = ncap;
		}
		export_pool *p = &pools[n++];
		memset(p, 0, sizeof(*p));
		p->key = ipam__col_int64(stmt, 0);
		p->parent = ipam__col_int64(stmt, 1);
		p->family = ipam__col_int(stmt, 2);
		p->id = ipam__strdup(col_text(stmt, 3));
		p->scope = ipam__strdup(col_text(stmt, 4));
		p->name = ipam__strdup(col_text(stmt, 5));
		if (!p->id || !p->scope || !p->name) {
			step = IPAM_ENOMEM;
			break;
		}
	}
	ipam__reset(stmt);
	*out = pools;
	*count = n;
	return step < 0 ? step : 0;
}

/* Every pool with its path, sorted by path. */
static int pools_load(ipam *db, export_pool **out, size_t *count, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT p.key, coalesce(p.parent_key, 0), p.family, p.aws_id,"
		" s.name, p.name FROM pool p JOIN scope s ON s.key ="
		" p.scope_key ORDER BY p.key",
		err);
	export_pool *pools = NULL;
	size_t n = 0;
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	rc = pools_read(db, stmt, &pools, &n, err);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pool_path(pools, n, &pools[i], 0);
	if (rc) {
		pools_free(pools, n);
		if (rc == IPAM_ENOMEM)
			return ipam__fail(err, rc, "out of memory");
		return rc == IPAM_EIO
			       ? ipam__fail(err, rc, "the pool tree is broken")
			       : rc;
	}
	if (n > 1) /* qsort's base must not be NULL, even for none */
		qsort(pools, n, sizeof(*pools), pool_cmp);
	*out = pools;
	*count = n;
	return 0;
}

static json_t *rule_tags_json(ipam *db, int64_t pool)
{
	ipam_strlist pairs = {0};
	json_t *list = json_array();
	if (ipam_pool_get_required_tags(db, pool, &pairs, NULL)) {
		ipam__oom = 1;
		return list;
	}
	for (size_t i = 0; i < pairs.count; i++) {
		char *eq = strchr(pairs.items[i], '=');
		if (!eq)
			continue;
		*eq = '\0';
		json_array_append_new(list, json_pack("{s:s, s:s}", "Key",
						      pairs.items[i], "Value",
						      eq + 1));
	}
	ipam_strlist_free(&pairs);
	return list;
}

static void set_netmask(json_t *obj, const char *key, int len)
{
	if (len >= 0)
		json_object_set_new(obj, key, json_integer(len));
}

static int pool_one(ipam *db, const export_pool *ep, ipam__buf *buf,
		    ipam_err *err)
{
	ipam_pool_info p;
	ipam_perm perm;
	json_t *obj;
	int rc = ipam__pool_load(db, ep->key, &p, err);
	if (rc || (rc = ipam_perm_get(db, p.id, &perm, err)))
		return rc;
	obj = json_object();
	json_object_set_new(obj, "IpamPoolId", json_string(p.id));
	if (p.source_id[0])
		json_object_set_new(obj, "SourceIpamPoolId",
				    json_string(p.source_id));
	json_object_set_new(obj, "IpamScopeId", json_string(p.scope_id));
	json_object_set_new(obj, "IpamScopeType",
			    json_string(p.is_public ? "public" : "private"));
	json_object_set_new(obj, "Locale",
			    json_string(p.locale[0] ? p.locale : "None"));
	json_object_set_new(obj, "PoolDepth", json_integer(p.depth));
	json_object_set_new(obj, "Description", json_string(p.description));
	json_object_set_new(obj, "AutoImport", json_boolean(p.auto_import));
	json_object_set_new(obj, "AddressFamily",
			    json_string(ipam_family_name(p.family)));
	set_netmask(obj, "AllocationMinNetmaskLength", p.min_netmask);
	set_netmask(obj, "AllocationMaxNetmaskLength", p.max_netmask);
	set_netmask(obj, "AllocationDefaultNetmaskLength", p.default_netmask);
	json_object_set_new(obj, "AllocationResourceTags",
			    rule_tags_json(db, p.key));
	json_object_set_new(obj, "Tags", ipam__tags_json(db, p.id));
	if (p.is_public) {
		json_object_set_new(obj, "PubliclyAdvertisable",
				    json_boolean(p.publicly_advertisable));
		if (p.aws_service[0])
			json_object_set_new(obj, "AwsService",
					    json_string(p.aws_service));
		json_object_set_new(obj, "PublicIpSource",
				    json_string(p.public_ip_source));
	}
	/* a resource planning pool; its subnet pools inherit it */
	if (!p.parent_key && p.plan_vpc[0])
		json_object_set_new(obj, "SourceResource",
				    json_pack("{s:s, s:s}", "ResourceId",
					      p.plan_vpc, "ResourceType",
					      "vpc"));
	json_object_set_new(obj, "Name", json_string(p.name));
	json_object_set_new(obj, "Path", json_string(ep->path));
	json_object_set_new(obj, "AllocationStrategy",
			    json_string(ipam_strategy_name(p.strategy)));
	json_object_set_new(obj, "FamilyLocked", json_boolean(p.family_locked));
	json_object_set_new(obj, "Created", time_json(p.created));
	json_object_set_new(obj, "Uid", json_integer(perm.uid));
	json_object_set_new(obj, "Gid", json_integer(perm.gid));
	json_object_set_new(obj, "Mode", mode_json(perm.mode));
	put_json(buf, obj);
	return 0;
}

static int pools_part(ipam *db, const export_pool *pools, size_t n,
		      ipam__buf *buf, ipam_err *err)
{
	int rc = 0;
	ipam__buf_add(buf, "\"IpamPools\": [", 14);
	for (size_t i = 0; i < n && rc == 0; i++) {
		ipam__buf_add(buf, i ? ",\n" : "\n", i ? 2 : 1);
		rc = pool_one(db, &pools[i], buf, err);
	}
	ipam__buf_add(buf, "\n],\n", 4);
	return rc;
}

static int cidrs_part(ipam *db, const export_pool *pools, size_t n,
		      ipam__buf *buf, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT start, prefix, aws_id, created FROM pool_cidr"
		" WHERE pool_key = ?1 ORDER BY start",
		err);
	const char *sep = "\n";
	int step = 0;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__buf_add(buf, "\"IpamPoolCidrs\": [", 18);
	for (size_t i = 0; i < n && step >= 0; i++) {
		ipam__bind_int64(stmt, 1, pools[i].key);
		while ((step = ipam__step(db, stmt, err)) == 1) {
			ipam_cidr c = {.family = (uint8_t)pools[i].family};
			char text[IPAM_CIDR_STRLEN];
			c.addr = ipam__blob_to_addr(stmt, 0);
			c.prefix = (uint8_t)ipam__col_int(stmt, 1);
			ipam_cidr_format(&c, text);
			ipam__buf_add(buf, sep, strlen(sep));
			put_json(
				buf,
				json_pack("{s:s, s:s, s:s, s:s, s:i, s:o}",
					  "IpamPoolId", pools[i].id, "Cidr",
					  text, "IpamPoolCidrId",
					  col_text(stmt, 2), "State",
					  "provisioned", "NetmaskLength",
					  (int)c.prefix, "Created",
					  time_json(ipam__col_int64(stmt, 3))));
			sep = ",\n";
		}
		ipam__reset(stmt);
	}
	ipam__buf_add(buf, "\n],\n", 4);
	return step < 0 ? step : 0;
}

/* The allocations of one pool, written by hand: this is the bulk of a
 * large export and jansson would build an object per row. */
static int allocs_of(ipam *db, ipam_stmt *stmt, const export_pool *p,
		     ipam__buf *buf, const char **sep, ipam_err *err)
{
	int step;
	ipam__bind_int64(stmt, 1, p->key);
	while ((step = ipam__step(db, stmt, err)) == 1) {
		ipam_cidr c = {.family = (uint8_t)p->family};
		char text[IPAM_CIDR_STRLEN], when[IPAM_TIME_STRLEN];
		c.addr = ipam__blob_to_addr(stmt, 0);
		c.prefix = (uint8_t)ipam__col_int(stmt, 1);
		ipam_cidr_format(&c, text);
		ipam_time_format(ipam__col_int64(stmt, 8), when);
		ipam__buf_printf(buf,
				 "%s{\"IpamPoolId\":\"%s\",\"Cidr\":\"%s\","
				 "\"IpamPoolAllocationId\":\"%s\","
				 "\"ResourceType\":",
				 *sep, p->id, text, col_text(stmt, 2));
		ipam__export_string(buf, col_text(stmt, 3));
		ipam__buf_add(buf, ",\"ResourceId\":", 14);
		ipam__export_string(buf, col_text(stmt, 4));
		ipam__buf_add(buf, ",\"ResourceRegion\":", 18);
		ipam__export_string(buf, col_text(stmt, 5));
		ipam__buf_add(buf, ",\"Description\":", 15);
		ipam__export_string(buf, col_text(stmt, 6));
		ipam__buf_add(buf, ",\"Name\":", 8);
		ipam__export_string(buf, col_text(stmt, 7));
		/* a host record's fields, only when set */
		if (*col_text(stmt, 12)) {
			ipam__buf_add(buf, ",\"DnsName\":", 11);
			ipam__export_string(buf, col_text(stmt, 12));
		}
		if (*col_text(stmt, 13)) {
			ipam__buf_add(buf, ",\"MacAddress\":", 14);
			ipam__export_string(buf, col_text(stmt, 13));
		}
		ipam__buf_printf(
			buf,
			",\"Created\":\"%s\",\"Uid\":%lld,\"Gid\":%lld,"
			"\"Mode\":\"%04llo\"}",
			when, (long long)ipam__col_int64(stmt, 9),
			(long long)ipam__col_int64(stmt, 10),
			(unsigned long long)ipam__col_int64(stmt, 11) & 07777);
		*sep = ",\n";
	}
	ipam__reset(stmt);
	return step < 0 ? step : 0;
}

static int allocs_part(ipam *db, const export_pool *pools, size_t n,
		       ipam__buf *buf, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT start, prefix, aws_id, resource_type, resource_id,"
		" resource_region, description, name, created, uid, gid, mode,"
		" dns_name, mac_address"
		" FROM allocation WHERE pool_key = ?1 ORDER BY start",
		err);
	const char *sep = "\n";
	int rc = 0;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__buf_add(buf, "\"IpamPoolAllocations\": [", 24);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = allocs_of(db, stmt, &pools[i], buf, &sep, err);
	ipam__buf_add(buf, "\n]", 2);
	return rc;
}

/* ---- discoveries: their settings, not what they saw ---- */

static int discoveries_part(ipam *db, ipam__buf *buf, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT d.aws_id, d.name, s.name, d.locale, d.created"
		" FROM discovery d JOIN scope s ON s.key = d.scope_key"
		" ORDER BY d.name",
		err);
	int step;
	const char *sep = "\n";
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__buf_add(buf, "\"IpamResourceDiscoveries\": [", 28);
	while ((step = ipam__step(db, stmt, err)) == 1) {
		const char *name = col_text(stmt, 1);
		ipam__buf_add(buf, sep, strlen(sep));
		put_json(buf,
			 json_pack("{s:o, s:b, s:o, s:o, s:o, s:o}",
				   "IpamResourceDiscoveryId",
				   json_string(col_text(stmt, 0)), "IsDefault",
				   !strcmp(name, "default"), "Name",
				   json_string(name), "Scope",
				   json_string(col_text(stmt, 2)), "Locale",
				   json_string(col_text(stmt, 3)), "Created",
				   time_json(ipam__col_int64(stmt, 4))));
		sep = ",\n";
	}
	ipam__reset(stmt);
	ipam__buf_add(buf, "\n],\n", 4);
	return step < 0 ? step : 0;
}

/* ---- resources, by scope name and id ---- */

/* ResourceTags as get-ipam-resource-cidrs has them, sorted by key. */
static json_t *resource_tags_json(ipam *db, int64_t key, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
				     "SELECT key, value FROM resource_tag"
				     " WHERE resource_key = ?1 ORDER BY key",
				     err);
	json_t *list = json_array();
	if (!stmt) {
		json_decref(list);
		return NULL;
	}
	ipam__bind_int64(stmt, 1, key);
	while (ipam__step(db, stmt, err) == 1)
		json_array_append_new(
			list, json_pack("{s:o, s:o}", "Key",
					json_string(col_text(stmt, 0)), "Value",
					json_string(col_text(stmt, 1))));
	ipam__reset(stmt);
	return err && err->code ? (json_decref(list), NULL) : list;
}

/* The CIDRs: ResourceCidr and ManagementState as AWS has them, and for a
 * managed one the pool and the allocation it holds. */
static json_t *resource_cidrs_json(ipam *db, int64_t key, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT rc.family, rc.start, rc.prefix, a.aws_id, p.aws_id"
		" FROM resource_cidr rc"
		" LEFT JOIN allocation a ON a.key = rc.alloc_key"
		" LEFT JOIN pool p ON p.key = a.pool_key"
		" WHERE rc.resource_key = ?1"
		" ORDER BY rc.family, rc.start, rc.prefix",
		err);
	json_t *list = json_array();
	if (!stmt) {
		json_decref(list);
		return NULL;
	}
	ipam__bind_int64(stmt, 1, key);
	while (ipam__step(db, stmt, err) == 1) {
		ipam_cidr c = {.family = (uint8_t)ipam__col_int(stmt, 0)};
		char text[IPAM_CIDR_STRLEN];
		json_t *o;
		c.addr = ipam__blob_to_addr(stmt, 1);
		c.prefix = (uint8_t)ipam__col_int(stmt, 2);
		ipam_cidr_format(&c, text);
		o = json_pack("{s:s}", "ResourceCidr", text);
		if (ipam__col_type(stmt, 3) == IPAM_COL_NULL) {
			json_object_set_new(o, "ManagementState",
					    json_string("unmanaged"));
		} else {
			json_object_set_new(o, "ManagementState",
					    json_string("managed"));
			json_object_set_new(o, "IpamPoolId",
					    json_string(col_text(stmt, 4)));
			json_object_set_new(o, "IpamPoolAllocationId",
					    json_string(col_text(stmt, 3)));
		}
		json_array_append_new(list, o);
	}
	ipam__reset(stmt);
	return err && err->code ? (json_decref(list), NULL) : list;
}

static int resources_part(ipam *db, ipam__buf *buf, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT r.key, s.aws_id, s.name, r.resource_id, r.type,"
		" r.name, r.locale, r.owner, r.vpc_id, r.ignored,"
		" coalesce(d.name, ''), r.created, r.active_ips, r.association,"
		" r.address_type, r.service"
		" FROM resource r JOIN scope s ON s.key = r.scope_key"
		" LEFT JOIN discovery d ON d.key = r.discovery_key"
		" ORDER BY s.name, r.resource_id",
		err);
	int step, rc = 0;
	const char *sep = "\n";
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__buf_add(buf, "\"IpamResources\": [", 18);
	while ((step = ipam__step(db, stmt, err)) == 1) {
		int64_t key = ipam__col_int64(stmt, 0);
		json_t *tags = resource_tags_json(db, key, err);
		json_t *cidrs = tags ? resource_cidrs_json(db, key, err) : NULL;
		json_t *o;
		if (!cidrs) {
			json_decref(tags);
			rc = err && err->code ? err->code : IPAM_ENOMEM;
			break;
		}
		/* texts from the database go in as "o" (ipam__json_str) */
#define COL(i) json_string(col_text(stmt, i))
		o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
			      " s:s, s:o, s:o}",
			      "IpamScopeId", COL(1), "Scope", COL(2),
			      "ResourceId", COL(3), "ResourceType", COL(4),
			      "ResourceName", COL(5), "ResourceRegion", COL(6),
			      "ResourceOwnerId", COL(7), "VpcId", COL(8),
			      "ResourceTags", tags, "MonitoringState",
			      ipam__col_int(stmt, 9) ? "ignored" : "monitored",
			      "Discovery", COL(10), "Created",
			      time_json(ipam__col_int64(stmt, 11)));
#undef COL
		if (o && ipam__col_type(stmt, 12) != IPAM_COL_NULL) {
			char text[IPAM_U128_STRLEN];
			ipam_u128_format(ipam__col_u128(stmt, 12), text);
			json_object_set_new(o, "ActiveIps", json_string(text));
		}
		if (o && *col_text(stmt, 13))
			json_object_set_new(o, "Association",
					    json_string(col_text(stmt, 13)));
		/* what a feed said of a public address (feed.c) */
		if (o && *col_text(stmt, 14))
			json_object_set_new(o, "AddressType",
					    json_string(col_text(stmt, 14)));
		if (o && *col_text(stmt, 15))
			json_object_set_new(o, "Service",
					    json_string(col_text(stmt, 15)));
		if (o)
			json_object_set_new(o, "ResourceCidrs", cidrs);
		else
			json_decref(cidrs);
		ipam__buf_add(buf, sep, strlen(sep));
		put_json(buf, o);
		sep = ",\n";
	}
	ipam__reset(stmt);
	ipam__buf_add(buf, "\n],\n", 4);
	return rc ? rc : step < 0 ? step : 0;
}

/* ---- prefix-list resolvers: settings, rules, targets ---- */

/* The CIDRs a target whose sync is off keeps (its hand edits). */
static json_t *held_json(ipam *db, const char *list, const char *target,
			 ipam_err *err)
{
	ipam_cidr *set = NULL;
	size_t n = 0;
	int64_t v = 0;
	char text[IPAM_CIDR_STRLEN];
	json_t *arr;
	if (ipam_plist_target_entries(db, list, target, &set, &n, &v, err))
		return NULL;
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		ipam_cidr_format(&set[i], text);
		json_array_append_new(arr, json_string(text));
	}
	free(set);
	return arr;
}

/* Targets of a list, by name: Name, Format, DesiredVersion (0 = latest),
 * and when its sync is off, Sync false with the Entries it keeps. */
static json_t *plist_targets_json(ipam *db, const char *list, ipam_err *err)
{
	ipam_strlist names = {0};
	json_t *arr = json_array();
	int rc = ipam_plist_target_list(db, list, &names, err);
	for (size_t i = 0; rc == 0 && i < names.count; i++) {
		ipam_plist_target t;
		json_t *obj, *held = NULL;
		rc = ipam_plist_target_get(db, list, names.items[i], &t, err);
		if (rc == 0 && !t.sync &&
		    !(held = held_json(db, list, t.name, err)))
			rc = IPAM_EIO;
		if (rc)
			break;
		obj = json_pack("{s:s, s:s, s:I}", "Name", t.name, "Format",
				ipam_plist_format_name(t.format),
				"DesiredVersion", (json_int_t)t.desired);
		if (held) {
			json_object_set_new(obj, "Sync", json_false());
			json_object_set_new(obj, "Entries", held);
		}
		json_array_append_new(arr, obj);
	}
	ipam_strlist_free(&names);
	if (rc) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* One list as its line of IpamPrefixListResolvers (NULL on error). */
static json_t *plist_json(ipam *db, const char *name, ipam_err *err)
{
	ipam_plist_info *info = malloc(sizeof(*info));
	ipam_strlist rules = {0};
	json_t *obj = NULL, *arr, *targets = NULL;
	if (!info) {
		ipam__fail(err, IPAM_ENOMEM, "out of memory");
		return NULL;
	}
	if (ipam_plist_get(db, name, info, err) == 0 &&
	    ipam_plist_rules(db, name, &rules, err) == 0 &&
	    (targets = plist_targets_json(db, name, err))) {
		arr = json_array();
		for (size_t i = 0; i < rules.count; i++)
			json_array_append_new(arr, json_string(rules.items[i]));
		obj = json_object();
		json_object_set_new(obj, "PrefixListResolverId",
				    json_string(info->id));
		json_object_set_new(obj, "Name", json_string(info->name));
		json_object_set_new(
			obj, "AddressFamily",
			json_string(ipam_family_name(info->family)));
		json_object_set_new(obj, "Description",
				    json_string(info->description));
		json_object_set_new(obj, "Tags", ipam__tags_json(db, info->id));
		json_object_set_new(obj, "Rules", arr);
		json_object_set_new(obj, "Targets", targets);
		json_object_set_new(obj, "Created", time_json(info->created));
	}
	ipam_strlist_free(&rules);
	free(info);
	return obj;
}

static int plists_part(ipam *db, ipam__buf *buf, ipam_err *err)
{
	ipam_strlist names = {0};
	const char *sep = "\n";
	int rc = ipam_plist_list(db, &names, err);
	ipam__buf_add(buf, "\"IpamPrefixListResolvers\": [", 28);
	for (size_t i = 0; rc == 0 && i < names.count; i++) {
		json_t *obj = plist_json(db, names.items[i], err);
		if (!obj) {
			rc = err && err->code ? err->code : IPAM_ENOMEM;
			break;
		}
		ipam__buf_add(buf, sep, strlen(sep));
		put_json(buf, obj);
		sep = ",\n";
	}
	ipam_strlist_free(&names);
	ipam__buf_add(buf, "\n],\n", 4);
	return rc;
}

/* ---- IPAM policies: settings, rules, targets ---- */

static json_t *lines_json(const ipam_strlist *list)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < list->count; i++)
		json_array_append_new(arr, json_string(list->items[i]));
	return arr;
}

/* One policy as its line of IpamPolicies (NULL on error). */
static json_t *policy_json(ipam *db, const char *name, ipam_err *err)
{
	ipam_policy_info *info = malloc(sizeof(*info));
	ipam_strlist rules = {0}, targets = {0};
	json_t *obj = NULL;
	if (!info) {
		ipam__fail(err, IPAM_ENOMEM, "out of memory");
		return NULL;
	}
	if (ipam_policy_get(db, name, info, err) == 0 &&
	    ipam_policy_rules(db, name, &rules, err) == 0 &&
	    ipam_policy_targets(db, name, &targets, err) == 0) {
		obj = json_object();
		json_object_set_new(obj, "IpamPolicyId", json_string(info->id));
		json_object_set_new(obj, "Name", json_string(info->name));
		json_object_set_new(obj, "Description",
				    json_string(info->description));
		json_object_set_new(obj, "Overflow",
				    json_boolean(info->overflow));
		json_object_set_new(obj, "Enabled",
				    json_boolean(info->enabled));
		json_object_set_new(obj, "Tags", ipam__tags_json(db, info->id));
		json_object_set_new(obj, "Rules", lines_json(&rules));
		json_object_set_new(obj, "Targets", lines_json(&targets));
		json_object_set_new(obj, "Created", time_json(info->created));
	}
	ipam_strlist_free(&rules);
	ipam_strlist_free(&targets);
	free(info);
	return obj;
}

static int policies_part(ipam *db, ipam__buf *buf, ipam_err *err)
{
	ipam_strlist names = {0};
	const char *sep = "\n";
	int rc = ipam_policy_list(db, &names, err);
	ipam__buf_add(buf, "\"IpamPolicies\": [", 17);
	for (size_t i = 0; rc == 0 && i < names.count; i++) {
		json_t *obj = policy_json(db, names.items[i], err);
		if (!obj) {
			rc = err && err->code ? err->code : IPAM_ENOMEM;
			break;
		}
		ipam__buf_add(buf, sep, strlen(sep));
		put_json(buf, obj);
		sep = ",\n";
	}
	ipam_strlist_free(&names);
	ipam__buf_add(buf, "\n],\n", 4);
	return rc;
}

/* ---- the public scope's state (docs/design/public.md) ---- */

typedef json_t *(*row_json_fn)(ipam *db, ipam_stmt *stmt, ipam_err *err);

/* "KEY": [ one element a row of `sql` ], the element made by `fn`. */
static int rows_part(ipam *db, ipam__buf *buf, const char *key, const char *sql,
		     row_json_fn fn, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, sql, err);
	const char *sep = "\n";
	int step;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__buf_printf(buf, "\"%s\": [", key);
	while ((step = ipam__step(db, stmt, err)) == 1) {
		json_t *obj = fn(db, stmt, err);
		if (!obj) {
			step = err && err->code ? err->code : IPAM_ENOMEM;
			break;
		}
		ipam__buf_add(buf, sep, strlen(sep));
		put_json(buf, obj);
		sep = ",\n";
	}
	ipam__reset(stmt);
	ipam__buf_add(buf, "\n],\n", 4);
	return step < 0 ? step : 0;
}

static json_t *cidr_json(ipam_stmt *stmt, int col)
{
	char text[IPAM_CIDR_STRLEN];
	ipam_cidr c = {.family = (uint8_t)ipam__col_int(stmt, col)};
	c.addr = ipam__blob_to_addr(stmt, col + 1);
	c.prefix = (uint8_t)ipam__col_int(stmt, col + 2);
	ipam_cidr_format(&c, text);
	return json_string(text);
}

static json_t *byoip_row(ipam *db, ipam_stmt *stmt, ipam_err *err)
{
	json_t *obj = json_object();
	(void)db;
	(void)err;
	json_object_set_new(obj, "IpamPoolId", json_string(col_text(stmt, 0)));
	json_object_set_new(obj, "Cidr", cidr_json(stmt, 1));
	json_object_set_new(obj, "IpamPoolCidrId",
			    json_string(col_text(stmt, 4)));
	json_object_set_new(obj, "State",
			    json_string(ipam_byoip_state_name(
				    (ipam_byoip_state)ipam__col_int(stmt, 5))));
	if (*col_text(stmt, 6))
		json_object_set_new(obj, "FailureReason",
				    json_pack("{s:s, s:s}", "Code",
					      col_text(stmt, 6), "Message",
					      col_text(stmt, 7)));
	json_object_set_new(obj, "ProofMethod", json_string(col_text(stmt, 8)));
	json_object_set_new(obj, "Changed",
			    time_json(ipam__col_int64(stmt, 9)));
	return obj;
}

static json_t *asn_row(ipam *db, ipam_stmt *stmt, ipam_err *err)
{
	ipam_stmt *cs = ipam__stmt(db,
				   "SELECT family, start, prefix FROM asn_cidr"
				   " WHERE asn_key = ?1 ORDER BY family,"
				   " start, prefix",
				   err);
	json_t *obj, *cidrs = json_array();
	int step;
	if (!cs) {
		json_decref(cidrs);
		return NULL;
	}
	ipam__bind_int64(cs, 1, ipam__col_int64(stmt, 0));
	while ((step = ipam__step(db, cs, err)) == 1)
		json_array_append_new(cidrs, cidr_json(cs, 0));
	ipam__reset(cs);
	if (step < 0) {
		json_decref(cidrs);
		return NULL;
	}
	obj = json_object();
	json_object_set_new(
		obj, "Asn",
		json_sprintf("%lld", (long long)ipam__col_int64(stmt, 1)));
	json_object_set_new(obj, "State",
			    json_string(ipam_byoip_state_name(
				    (ipam_byoip_state)ipam__col_int(stmt, 2))));
	json_object_set_new(obj, "StatusMessage",
			    json_string(col_text(stmt, 3)));
	json_object_set_new(obj, "Created",
			    time_json(ipam__col_int64(stmt, 4)));
	json_object_set_new(obj, "Changed",
			    time_json(ipam__col_int64(stmt, 5)));
	json_object_set_new(obj, "Cidrs", cidrs);
	return obj;
}

static json_t *advert_row(ipam *db, ipam_stmt *stmt, ipam_err *err)
{
	(void)db;
	(void)err;
	return json_pack(
		"{s:o, s:s, s:o}", "Cidr", cidr_json(stmt, 0), "IpamPoolId",
		col_text(stmt, 3), "Asn",
		ipam__col_int64(stmt, 4) < 0
			? json_string("AWS")
			: json_sprintf("%lld",
				       (long long)ipam__col_int64(stmt, 4)));
}

static json_t *token_row(ipam *db, ipam_stmt *stmt, ipam_err *err)
{
	(void)db;
	(void)err;
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}",
			 "IpamExternalResourceVerificationTokenId",
			 col_text(stmt, 0), "Name", col_text(stmt, 1),
			 "TokenName", col_text(stmt, 2), "TokenValue",
			 col_text(stmt, 3), "Created",
			 time_json(ipam__col_int64(stmt, 4)), "NotAfter",
			 time_json(ipam__col_int64(stmt, 5)));
}

/* ByoipCidrs (every lifecycle record, deprovisioned ones too), Byoasns
 * (with their CIDR associations), Advertisements, VerificationTokens. */
static int public_part(ipam *db, ipam__buf *buf, ipam_err *err)
{
	static const struct {
		const char *key, *sql;
		row_json_fn fn;
	} parts[] = {
		{"ByoipCidrs",
		 "SELECT p.aws_id, b.family, b.start, b.prefix, b.aws_id,"
		 " b.state, b.reason_code, b.reason, b.method, b.changed"
		 " FROM byoip_cidr b JOIN pool p ON p.key = b.pool_key"
		 " ORDER BY p.aws_id, b.family, b.start, b.prefix",
		 byoip_row},
		{"Byoasns",
		 "SELECT key, asn, state, reason, created, changed FROM asn"
		 " ORDER BY asn",
		 asn_row},
		{"Advertisements",
		 "SELECT a.family, a.start, a.prefix, p.aws_id,"
		 " coalesce(a.asn, -1) FROM advertisement a"
		 " JOIN pool p ON p.key = a.pool_key"
		 " ORDER BY a.family, a.start, a.prefix",
		 advert_row},
		{"VerificationTokens",
		 "SELECT aws_id, name, token_name, token_value, created,"
		 " not_after FROM verification_token ORDER BY name",
		 token_row},
	};
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(parts) / sizeof(*parts); i++)
		rc = rows_part(db, buf, parts[i].key, parts[i].sql, parts[i].fn,
			       err);
	return rc;
}

static int export_all(ipam *db, ipam__buf *buf, ipam_err *err)
{
	export_pool *pools = NULL;
	size_t n = 0;
	json_t *head = ipam_part(db, err);
	int rc;
	if (!head)
		return err && err->code ? err->code : IPAM_ENOMEM;
	ipam__buf_printf(buf, "{\n\"IpamfsExport\": %d,\n\"Ipam\": ",
			 IPAM_EXPORT_VERSION);
	put_json(buf, head);
	ipam__buf_add(buf, ",\n", 2);
	if ((rc = scopes_part(db, buf, err)) ||
	    (rc = pools_load(db, &pools, &n, err)))
		return rc;
	/* the allocations, the bulk, last */
	if ((rc = pools_part(db, pools, n, buf, err)) == 0 &&
	    (rc = cidrs_part(db, pools, n, buf, err)) == 0 &&
	    (rc = public_part(db, buf, err)) == 0 &&
	    (rc = discoveries_part(db, buf, err)) == 0 &&
	    (rc = resources_part(db, buf, err)) == 0 &&
	    (rc = plists_part(db, buf, err)) == 0 &&
	    (rc = policies_part(db, buf, err)) == 0)
		rc = allocs_part(db, pools, n, buf, err);
	pools_free(pools, n);
	ipam__buf_add(buf, "\n}\n", 3);
	return rc;
}

int ipam_export_json(ipam *db, char **out, size_t *len, ipam_err *err)
{
	ipam__buf buf = {0};
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	rc = export_all(db, &buf, err);
	if (rc == 0 && ipam__oom)
		rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if (rc)
		free(buf.data);
	else
		rc = ipam__buf_finish(&buf, out, len, err);
	return ipam__read_end(db, rc);
}

/* ---- history ---- */

static int history_all(ipam *db, ipam__buf *buf, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT s.aws_id, h.family, h.start, h.prefix, h.resource_id,"
		" h.resource_type, h.resource_name, h.owner, h.region,"
		" h.vpc_id, h.compliance, h.overlap, h.start_time,"
		" h.end_time FROM history h JOIN scope s ON s.key ="
		" h.scope_key ORDER BY s.name, h.family, h.start, h.prefix,"
		" h.start_time, h.key",
		err);
	const char *sep = "\n";
	int step;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__buf_add(buf, "{\n\"HistoryRecords\": [", 21);
	while ((step = ipam__step(db, stmt, err)) == 1) {
		ipam_cidr c;
		char text[IPAM_CIDR_STRLEN];
		json_t *obj = json_object();
		c.family = (uint8_t)ipam__col_int(stmt, 1);
		c.addr = ipam__blob_to_addr(stmt, 2);
		c.prefix = (uint8_t)ipam__col_int(stmt, 3);
		ipam_cidr_format(&c, text);
		json_object_set_new(obj, "IpamScopeId",
				    json_string(col_text(stmt, 0)));
		json_object_set_new(obj, "ResourceCidr", json_string(text));
		json_object_set_new(obj, "ResourceId",
				    json_string(col_text(stmt, 4)));
		json_object_set_new(obj, "ResourceType",
				    json_string(col_text(stmt, 5)));
		json_object_set_new(obj, "ResourceName",
				    json_string(col_text(stmt, 6)));
		json_object_set_new(obj, "ResourceOwnerId",
				    json_string(col_text(stmt, 7)));
		json_object_set_new(obj, "ResourceRegion",
				    json_string(col_text(stmt, 8)));
		json_object_set_new(obj, "VpcId",
				    json_string(col_text(stmt, 9)));
		json_object_set_new(obj, "ResourceComplianceStatus",
				    json_string(col_text(stmt, 10)));
		json_object_set_new(obj, "ResourceOverlapStatus",
				    json_string(col_text(stmt, 11)));
		json_object_set_new(obj, "SampledStartTime",
				    time_json(ipam__col_int64(stmt, 12)));
		if (ipam__col_type(stmt, 13) != IPAM_COL_NULL)
			json_object_set_new(
				obj, "SampledEndTime",
				time_json(ipam__col_int64(stmt, 13)));
		ipam__buf_add(buf, sep, strlen(sep));
		put_json(buf, obj);
		sep = ",\n";
	}
	ipam__reset(stmt);
	ipam__buf_add(buf, "\n]\n}\n", 5);
	return step < 0 ? step : 0;
}

int ipam_export_history_json(ipam *db, char **out, size_t *len, ipam_err *err)
{
	ipam__buf buf = {0};
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	rc = history_all(db, &buf, err);
	if (rc)
		free(buf.data);
	else
		rc = ipam__buf_finish(&buf, out, len, err);
	return ipam__read_end(db, rc);
}
