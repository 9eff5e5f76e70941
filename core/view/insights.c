/*
 * insights.c - public IP insights (L3071-L3164) and the public IP metrics
 * (L2836-L2845, L2961-L2984).
 *
 * The public addresses are those of the public scope's resources: each
 * Elastic IP (its /32) and each public IPv4 address of a network interface
 * (a /32 of a `network-interface` resource of the public scope, which a
 * describe-network-interfaces feed puts there from its Association). An
 * address's type is what the discovery reported (feed.c: BYOIP, service
 * managed) or, for an EIP made here, where it came from: an Amazon-provided
 * contiguous pool (amazon-owned-contig), a public IPv4 pool or a BYOIP
 * pool (byoip), else amazon-owned-eip; an interface's own public address
 * is an ec2-public-ip. An EIP is associated when it names an instance or
 * interface; an interface's public address always is.
 *
 * The types are exclusive, as AddressType is: "Amazon-owned EIPs" counts
 * amazon-owned-eip only, "Amazon-owned contiguous EIPs" the contiguous
 * ones. The address list walks the public scope's EIPs and interfaces
 * once, one indexed lookup per address for its source: the size of the
 * output. The summary and the insight metrics read kept counts instead
 * (public_count: per scope, region, type and association), so a read
 * costs the number of types, not of addresses. Every resource row adds
 * one public_part row (its addresses all share a type, an association and
 * a region); the schema's triggers mark in public_dirty each EIP or
 * interface whose part may have changed, and ipam__public_settle, at
 * every commit, takes each marked part out of the counts, derives it
 * again with the walk's own code and puts it back. ipam_check recounts
 * by walking and reports any drift.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int ipam__public_sync(ipam *db, const ipam_resource_info *res,
		      const ipam__res_rec *rec, ipam_err *err)
{
	ipam_stmt *stmt;

	if (!strcmp(res->association, rec->association) &&
	    !strcmp(res->address_type, rec->address_type) &&
	    !strcmp(res->service, rec->service))
		return 0;
	stmt = ipam__stmt(db,
			  "UPDATE resource SET association = ?2,"
			  " address_type = ?3, service = ?4 WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, res->key);
	ipam__bind_text(stmt, 2, rec->association, -1);
	ipam__bind_text(stmt, 3, rec->address_type, -1);
	ipam__bind_text(stmt, 4, rec->service, -1);
	return ipam__exec(db, stmt, err);
}

/* The kinds counted, in the order of the guide's "Public IP types". */
enum pub_type {
	PUB_AMAZON_EIP,
	PUB_EC2,
	PUB_BYOIP,
	PUB_SERVICE,
	PUB_SERVICE_BYOIP,
	PUB_CONTIG,
	PUB_TYPES,
};

static const char *const type_words[PUB_TYPES] = {
	"amazon-owned-eip",   "ec2-public-ip",	       "byoip",
	"service-managed-ip", "service-managed-byoip", "amazon-owned-contig",
};

static enum pub_type type_of(const char *word)
{
	for (int t = 0; t < PUB_TYPES; t++)
		if (!strcmp(word, type_words[t]))
			return (enum pub_type)t;
	return PUB_AMAZON_EIP;
}

/* One public address, as the views see it. */
typedef struct pub_addr {
	const ipam_resource_info *res;
	ipam_cidr addr;
	enum pub_type type;
	bool associated;
	bool eip;
	char pool_id[IPAM_RESOURCE_ID_MAX +
		     1]; /* an IPAM or public IPv4 pool */
} pub_addr;

typedef int (*pub_visit)(ipam *db, const pub_addr *a, void *ctx, ipam_err *err);

static int visit_eip(ipam *db, const ipam_resource_info *res, pub_visit fn,
		     void *ctx, ipam_err *err)
{
	pub_addr a = {.res = res, .eip = true};
	char src[16];
	int rc = ipam__eip_source(db, res, &a.addr, a.pool_id,
				  sizeof(a.pool_id), src, sizeof(src), err);

	if (rc <= 0 || a.addr.family != 4)
		return rc < 0 ? rc : 0;
	if (*res->address_type)
		a.type = type_of(res->address_type);
	else if (!strcmp(src, "amazon"))
		a.type = PUB_CONTIG;
	else if (!strcmp(src, "byoip"))
		a.type = PUB_BYOIP;
	else
		a.type = PUB_AMAZON_EIP;
	a.associated = *res->association != '\0';
	return fn(db, &a, ctx, err);
}

/* An interface's public addresses: its IPv4 /32s in the public scope. */
static int visit_interface(ipam *db, const ipam_resource_info *res,
			   pub_visit fn, void *ctx, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT start FROM resource_cidr"
					" WHERE resource_key = ?1 AND"
					" family = 4 AND prefix = 32"
					" ORDER BY start",
					err);
	ipam_u128 *addrs = NULL;
	size_t n = 0;
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, res->key);
	while ((rc = ipam__step(db, stmt, err)) == 1) {
		ipam_u128 *grown = realloc(addrs, (n + 1) * sizeof(*addrs));
		if (!grown) {
			rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
			break;
		}
		addrs = grown;
		addrs[n++] = ipam__blob_to_addr(stmt, 0);
	}
	ipam__reset(stmt);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		pub_addr a = {.res = res, .associated = true};
		a.addr.family = 4;
		a.addr.prefix = 32;
		a.addr.addr = addrs[i];
		a.type = *res->address_type ? type_of(res->address_type)
					    : PUB_EC2;
		rc = fn(db, &a, ctx, err);
	}
	free(addrs);
	return rc;
}

/* Calls fn for every public address of the scope: EIPs, then interfaces,
 * each by resource id. */
static int walk(ipam *db, int64_t scope, pub_visit fn, void *ctx, ipam_err *err)
{
	static const char *const types[] = {"eip", "network-interface"};
	int rc = 0;

	for (size_t t = 0; rc == 0 && t < 2; t++) {
		ipam_stmt *stmt = ipam__stmt(db,
						"SELECT key FROM resource WHERE"
						" scope_key = ?1 AND type = ?2"
						" ORDER BY resource_id",
						err);
		int64_t *keys = NULL;
		size_t n = 0;
		if (stmt) {
			ipam__bind_int64(stmt, 1, scope);
			ipam__bind_text(stmt, 2, types[t], -1);
		}
		rc = ipam__collect_keys(db, stmt, &keys, &n, err);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			ipam_resource_info res;
			if ((rc = ipam__resource_load(db, keys[i], &res, err)))
				break;
			rc = t == 0 ? visit_eip(db, &res, fn, ctx, err)
				    : visit_interface(db, &res, fn, ctx, err);
		}
		free(keys);
	}
	return rc;
}

/* ---- the kept counts ---- */

/* One resource's part: all its addresses share type, association, region. */
typedef struct part {
	enum pub_type type;
	bool associated;
	int64_t n;
} part;

static int count_part(ipam *db, const pub_addr *a, void *ctx, ipam_err *err)
{
	part *p = ctx;
	(void)db;
	(void)err;
	p->type = a->type;
	p->associated = a->associated;
	p->n++;
	return 0;
}

static int count_add(ipam *db, int64_t scope, const char *locale,
		     const char *type, int associated, int64_t n, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"INSERT INTO public_count(scope_key, locale, type, associated,"
		" n) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (scope_key,"
		" locale, type, associated) DO UPDATE SET"
		" n = public_count.n + excluded.n",
		err);
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, scope);
	ipam__bind_text(stmt, 2, locale, -1);
	ipam__bind_text(stmt, 3, type, -1);
	ipam__bind_int(stmt, 4, associated);
	ipam__bind_int64(stmt, 5, n);
	if ((rc = ipam__exec(db, stmt, err)) || n > 0)
		return rc;
	stmt = ipam__stmt(db,
			  "DELETE FROM public_count WHERE scope_key = ?1 AND"
			  " locale = ?2 AND type = ?3 AND associated = ?4"
			  " AND n = 0",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, scope);
	ipam__bind_text(stmt, 2, locale, -1);
	ipam__bind_text(stmt, 3, type, -1);
	ipam__bind_int(stmt, 4, associated);
	return ipam__exec(db, stmt, err);
}

/* Takes resource `key`'s old part out of the counts. */
static int part_remove(ipam *db, int64_t key, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
				     "SELECT scope_key, locale, type,"
				     " associated, n FROM public_part"
				     " WHERE resource_key = ?1",
				     err);
	char locale[IPAM_LOCALE_MAX + 1], type[32];
	int64_t scope = 0, n = 0;
	int assoc = 0, rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	if ((rc = ipam__step(db, stmt, err)) == 1) {
		scope = ipam__col_int64(stmt, 0);
		ipam__copy_text(locale, sizeof(locale), stmt, 1);
		ipam__copy_text(type, sizeof(type), stmt, 2);
		assoc = ipam__col_int(stmt, 3);
		n = ipam__col_int64(stmt, 4);
	}
	ipam__reset(stmt);
	if (rc != 1)
		return rc;
	if ((rc = count_add(db, scope, locale, type, assoc, -n, err)))
		return rc;
	stmt = ipam__stmt(db, "DELETE FROM public_part WHERE resource_key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	return ipam__exec(db, stmt, err);
}

/* Derives resource `key`'s part again and adds it to the counts. */
static int part_add(ipam *db, int64_t key, ipam_err *err)
{
	ipam_resource_info res;
	part p = {PUB_AMAZON_EIP, false, 0};
	ipam_stmt *stmt;
	ipam_err quiet = {0};
	int rc = ipam__resource_load(db, key, &res, &quiet);

	if (rc == IPAM_ENOENT)
		return 0; /* removed */
	if (rc)
		return ipam__fail(err, rc, "%s", quiet.msg);
	if (!strcmp(res.type, "eip"))
		rc = visit_eip(db, &res, count_part, &p, err);
	else if (!strcmp(res.type, "network-interface"))
		rc = visit_interface(db, &res, count_part, &p, err);
	if (rc || p.n == 0)
		return rc;
	stmt = ipam__stmt(db,
			  "INSERT INTO public_part(resource_key, scope_key,"
			  " locale, type, associated, n)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	ipam__bind_int64(stmt, 2, res.scope_key);
	ipam__bind_text(stmt, 3, res.locale, -1);
	ipam__bind_text(stmt, 4, type_words[p.type], -1);
	ipam__bind_int(stmt, 5, p.associated);
	ipam__bind_int64(stmt, 6, p.n);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return count_add(db, res.scope_key, res.locale, type_words[p.type],
			 p.associated, p.n, err);
}

int ipam__public_settle(ipam *db, ipam_err *err)
{
	int64_t *keys = NULL;
	size_t n = 0;
	int rc = ipam__collect_keys(
		db,
		ipam__stmt(db,
			   "SELECT resource_key FROM public_dirty"
			   " ORDER BY resource_key",
			   err),
		&keys, &n, err);

	for (size_t i = 0; rc == 0 && i < n; i++)
		if ((rc = part_remove(db, keys[i], err)) == 0)
			rc = part_add(db, keys[i], err);
	free(keys);
	if (rc == 0 && n) {
		ipam_stmt *stmt =
			ipam__stmt(db, "DELETE FROM public_dirty", err);
		rc = stmt ? ipam__exec(db, stmt, err) : ipam__stmt_error(err);
	}
	return rc;
}

/* ---- get-ipam-discovered-public-addresses ---- */

typedef struct json_ctx {
	json_t *list;
	char default_id[IPAM_ID_MAX];
	int64_t oldest;
} json_ctx;

static json_t *eip_tags(ipam *db, int64_t resource)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT key, value FROM resource_tag"
					" WHERE resource_key = ?1 ORDER BY key",
					NULL);
	json_t *tags = json_array();

	if (!stmt) {
		ipam__oom = 1;
		return tags;
	}
	ipam__bind_int64(stmt, 1, resource);
	while (ipam__step_stmt(stmt) == IPAM_ROW)
		json_array_append_new(
			tags,
			json_pack("{s:s, s:s}", "Key",
				  ipam__col_text(stmt, 0),
				  "Value",
				  ipam__col_text(stmt, 1)));
	ipam__reset(stmt);
	return tags;
}

static void set_text(json_t *obj, const char *key, const char *value)
{
	if (value && *value)
		json_object_set_new(obj, key, json_string(value));
}

static int address_json(ipam *db, const pub_addr *a, void *ctx, ipam_err *err)
{
	json_ctx *c = ctx;
	const ipam_resource_info *r = a->res;
	char ip[IPAM_CIDR_STRLEN], when[IPAM_TIME_STRLEN];
	ipam_discovery_info d = {0};
	int64_t sampled = r->created;
	const char *disco = c->default_id;
	json_t *obj = json_object();

	if (*r->discovery &&
	    ipam_discovery_get(db, r->discovery, &d, NULL) == 0) {
		disco = d.id;
		if (d.last_feed)
			sampled = d.last_feed;
	}
	if (!c->oldest || sampled < c->oldest)
		c->oldest = sampled;
	ipam_cidr_format(&a->addr, ip);
	*strchr(ip, '/') = '\0';
	set_text(obj, "IpamResourceDiscoveryId", disco);
	set_text(obj, "AddressRegion", r->locale);
	json_object_set_new(obj, "Address", json_string(ip));
	set_text(obj, "AddressOwnerId", r->owner);
	if (a->eip)
		json_object_set_new(obj, "AddressAllocationId",
				    json_string(r->id));
	json_object_set_new(
		obj, "AssociationStatus",
		json_string(a->associated ? "associated" : "disassociated"));
	json_object_set_new(obj, "AddressType",
			    json_string(type_words[a->type]));
	if (a->type == PUB_SERVICE || a->type == PUB_SERVICE_BYOIP)
		json_object_set_new(
			obj, "Service",
			json_string(*r->service ? r->service : "other"));
	set_text(obj, "VpcId", r->vpc_id);
	if (!strncmp(a->pool_id, "ipv4pool-ec2-", 13))
		json_object_set_new(obj, "PublicIpv4PoolId",
				    json_string(a->pool_id));
	if (!a->eip) {
		json_object_set_new(obj, "NetworkInterfaceId",
				    json_string(r->id));
		set_text(obj, "InstanceId", r->association);
	} else if (!strncmp(r->association, "eni-", 4)) {
		json_object_set_new(obj, "NetworkInterfaceId",
				    json_string(r->association));
	} else {
		set_text(obj, "InstanceId", r->association);
	}
	if (a->eip)
		json_object_set_new(
			obj, "Tags",
			json_pack("{s:o}", "EipTags", eip_tags(db, r->key)));
	set_text(obj, "NetworkBorderGroup", r->locale);
	ipam_time_format_aws(sampled, when);
	json_object_set_new(obj, "SampleTime", json_string(when));
	json_array_append_new(c->list, obj);
	return 0;
}

static int default_discovery_id(ipam *db, char out[IPAM_ID_MAX], ipam_err *err)
{
	ipam_discovery_info d;
	int rc = ipam_discovery_get(db, "default", &d, err);
	if (rc == 0)
		snprintf(out, IPAM_ID_MAX, "%s", d.id);
	return rc;
}

int ipam_render_public_addresses_json(ipam *db, int64_t scope, char **out,
				      size_t *len, ipam_err *err)
{
	json_ctx c = {.list = json_array()};
	int rc = ipam__read_begin(db, err);

	if (rc) {
		json_decref(c.list);
		return rc;
	}
	if ((rc = default_discovery_id(db, c.default_id, err)) == 0)
		rc = walk(db, scope, address_json, &c, err);
	if (rc == 0) {
		ipam__buf buf = {0};
		json_t *root = json_pack(
			"{s:o}", "IpamDiscoveredPublicAddresses", c.list);
		char *text;
		c.list = NULL;
		if (root && c.oldest) {
			char when[IPAM_TIME_STRLEN];
			ipam_time_format_aws(c.oldest, when);
			json_object_set_new(root, "OldestSampleTime",
					    json_string(when));
		}
		text = root ? json_dumps(root,
					 JSON_INDENT(2) | JSON_PRESERVE_ORDER)
			    : NULL;
		json_decref(root);
		if (!text)
			rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
		else {
			ipam__buf_printf(&buf, "%s\n", text);
			free(text);
			rc = ipam__buf_finish(&buf, out, len, err);
		}
	}
	json_decref(c.list);
	return ipam__read_end(db, rc);
}

/* ---- the summary and the metrics ---- */

typedef struct counts {
	int64_t by_type[PUB_TYPES];
	int64_t associated[PUB_TYPES];
} counts;

static int count_one(ipam *db, const pub_addr *a, void *ctx, ipam_err *err)
{
	counts *c = ctx;
	c->by_type[a->type]++;
	if (a->associated)
		c->associated[a->type]++;
	return 0;
}

/* The summary's lines, in the guide's order (L3088-L3110). */
static const struct {
	const char *key;
	enum pub_type type;
	int usage; /* 0 all, 1 associated, 2 unassociated */
} summary_lines[] = {
	{"amazon-owned-eips", PUB_AMAZON_EIP, 0},
	{"ec2-public-ips", PUB_EC2, 0},
	{"byoip", PUB_BYOIP, 0},
	{"service-managed-ips", PUB_SERVICE, 0},
	{"service-managed-byoip", PUB_SERVICE_BYOIP, 0},
	{"amazon-owned-contiguous-eips", PUB_CONTIG, 0},
	{"associated-amazon-owned-eips", PUB_AMAZON_EIP, 1},
	{"unassociated-amazon-owned-eips", PUB_AMAZON_EIP, 2},
	{"associated-byoip", PUB_BYOIP, 1},
	{"unassociated-byoip", PUB_BYOIP, 2},
	{"associated-amazon-owned-contiguous-eips", PUB_CONTIG, 1},
	{"unassociated-amazon-owned-contiguous-eips", PUB_CONTIG, 2},
};

static int64_t line_value(const counts *c, size_t i)
{
	enum pub_type t = summary_lines[i].type;
	switch (summary_lines[i].usage) {
	case 1:
		return c->associated[t];
	case 2:
		return c->by_type[t] - c->associated[t];
	default:
		return c->by_type[t];
	}
}

/* Per region (the Region dimension, L2984): the insight counters. */
typedef struct region_counts {
	char region[IPAM_LOCALE_MAX + 1];
	counts c;
} region_counts;

typedef struct region_ctx {
	region_counts *list;
	size_t n;
} region_ctx;

static counts *region_slot(region_ctx *rc, const char *region, ipam_err *err)
{
	size_t i = 0;
	while (i < rc->n && strcmp(rc->list[i].region, region))
		i++;
	if (i == rc->n) {
		region_counts *grown =
			realloc(rc->list, (rc->n + 1) * sizeof(*grown));
		if (!grown) {
			ipam__fail(err, IPAM_ENOMEM, "out of memory");
			return NULL;
		}
		rc->list = grown;
		memset(&grown[i], 0, sizeof(grown[i]));
		snprintf(grown[i].region, sizeof(grown[i].region), "%s",
			 region);
		rc->n++;
	}
	return &rc->list[i].c;
}

static int count_region(ipam *db, const pub_addr *a, void *ctx, ipam_err *err)
{
	counts *c = region_slot(ctx, a->res->locale, err);
	return c ? count_one(db, a, c, err) : IPAM_ENOMEM;
}

static int region_order(const void *a, const void *b)
{
	return strcmp(((const region_counts *)a)->region,
		      ((const region_counts *)b)->region);
}

/* The kept counts of `scope`, by region in byte order. An explicit
 * transaction (ipam_begin) may hold changes not yet settled: settle
 * them first, within it. */
static int kept_counts(ipam *db, int64_t scope, region_ctx *r, ipam_err *err)
{
	ipam_stmt *stmt;
	int rc = 0;

	if (db->txn_open && (rc = ipam__public_settle(db, err)))
		return rc;
	stmt = ipam__stmt(db,
			  "SELECT locale, type, associated, n FROM public_count"
			  " WHERE scope_key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, scope);
	while ((rc = ipam__step(db, stmt, err)) == 1) {
		char locale[IPAM_LOCALE_MAX + 1], type[32];
		counts *c;
		enum pub_type t;
		int64_t n;
		ipam__copy_text(locale, sizeof(locale), stmt, 0);
		ipam__copy_text(type, sizeof(type), stmt, 1);
		t = type_of(type);
		n = ipam__col_int64(stmt, 3);
		if (!(c = region_slot(r, locale, err))) {
			rc = IPAM_ENOMEM;
			break;
		}
		c->by_type[t] += n;
		if (ipam__col_int(stmt, 2))
			c->associated[t] += n;
	}
	ipam__reset(stmt);
	if (rc == 0 && r->n)
		qsort(r->list, r->n, sizeof(*r->list), region_order);
	return rc;
}

/* ipam_check: the kept counts of every scope against a recount. */
int ipam__public_check(ipam *db, ipam_err *err)
{
	int64_t *scopes = NULL;
	size_t n = 0;
	int rc = ipam__collect_keys(
		db, ipam__stmt(db, "SELECT key FROM scope ORDER BY key", err),
		&scopes, &n, err);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		region_ctx kept = {NULL, 0}, walked = {NULL, 0};
		if ((rc = kept_counts(db, scopes[i], &kept, err)) == 0 &&
		    (rc = walk(db, scopes[i], count_region, &walked, err)) ==
			    0) {
			if (walked.n)
				qsort(walked.list, walked.n,
				      sizeof(*walked.list), region_order);
			if (kept.n != walked.n ||
			    (kept.n && memcmp(kept.list, walked.list,
					      kept.n * sizeof(*kept.list))))
				rc = ipam__fail(err, IPAM_EIO,
						"public IP counts of scope %lld"
						" drifted from a recount (%zu"
						" regions kept, %zu counted)",
						(long long)scopes[i], kept.n,
						walked.n);
		}
		free(kept.list);
		free(walked.list);
	}
	free(scopes);
	return rc;
}

int ipam_render_public_ip_summary(ipam *db, int64_t scope, bool json,
				  char **out, size_t *len, ipam_err *err)
{
	counts c = {{0}, {0}};
	region_ctx r = {NULL, 0};
	ipam__buf buf = {0};
	int rc = ipam__read_begin(db, err);

	if (rc)
		return rc;
	rc = kept_counts(db, scope, &r, err);
	for (size_t i = 0; i < r.n; i++)
		for (int t = 0; t < PUB_TYPES; t++) {
			c.by_type[t] += r.list[i].c.by_type[t];
			c.associated[t] += r.list[i].c.associated[t];
		}
	free(r.list);
	if (rc)
		return ipam__read_end(db, rc);
	ipam__buf_printf(&buf, "%s", json ? "{\n" : "");
	for (size_t i = 0; i < sizeof(summary_lines) / sizeof(summary_lines[0]);
	     i++)
		ipam__buf_printf(
			&buf, json ? "  \"%s\": %lld%s\n" : "%s=%lld\n",
			summary_lines[i].key, (long long)line_value(&c, i),
			i + 1 < sizeof(summary_lines) / sizeof(summary_lines[0])
				? ","
				: "");
	if (json)
		ipam__buf_printf(&buf, "}\n");
	return ipam__read_end(db, ipam__buf_finish(&buf, out, len, err));
}

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

/* The public IP insight metrics (L2961-L2984), by IPAM and Region. */
static int insight_metrics(ipam *db, int64_t scope, const char *ipam_id,
			   ipam__buf *buf, ipam_err *err)
{
	static const struct {
		const char *name, *help;
		enum pub_type type;
		int usage;
	} m[] = {
		{"ipam_amazon_owned_elastic_ips",
		 "AmazonOwnedElasticIPs: Amazon-owned Elastic IP addresses",
		 PUB_AMAZON_EIP, 0},
		{"ipam_associated_amazon_owned_elastic_ips",
		 "AssociatedAmazonOwnedElasticIPs: Amazon-owned Elastic IP "
		 "addresses associated with resources",
		 PUB_AMAZON_EIP, 1},
		{"ipam_associated_bring_your_own_ips",
		 "AssociatedBringYourOwnIPs: BYOIP public IPv4 addresses "
		 "associated with resources",
		 PUB_BYOIP, 1},
		{"ipam_bring_your_own_ips",
		 "BringYourOwnIPs: public IPv4 addresses brought with BYOIP",
		 PUB_BYOIP, 0},
		{"ipam_ec2_public_ips",
		 "EC2PublicIPs: public IPv4 addresses assigned to EC2 "
		 "instances",
		 PUB_EC2, 0},
		{"ipam_service_managed_bring_your_own_ips",
		 "ServiceManagedBringYourOwnIPs: BYOIP public IPv4 addresses "
		 "managed by a service",
		 PUB_SERVICE_BYOIP, 0},
		{"ipam_service_managed_ips",
		 "ServiceManagedIPs: public IPv4 addresses managed by a "
		 "service",
		 PUB_SERVICE, 0},
		{"ipam_unassociated_amazon_owned_elastic_ips",
		 "UnassociatedAmazonOwnedElasticIPs: Amazon-owned Elastic IP "
		 "addresses not associated",
		 PUB_AMAZON_EIP, 2},
		{"ipam_unassociated_bring_your_own_ips",
		 "UnassociatedBringYourOwnIPs: BYOIP public IPv4 addresses not "
		 "associated",
		 PUB_BYOIP, 2},
	};
	region_ctx r = {NULL, 0};
	int rc = kept_counts(db, scope, &r, err);

	for (size_t k = 0; rc == 0 && k < sizeof(m) / sizeof(m[0]); k++) {
		ipam__buf_printf(buf, "# HELP %s %s\n# TYPE %s gauge\n",
				 m[k].name, m[k].help, m[k].name);
		for (size_t i = 0; i < r.n; i++) {
			const counts *c = &r.list[i].c;
			int64_t v = m[k].usage == 1 ? c->associated[m[k].type]
				    : m[k].usage == 2
					    ? c->by_type[m[k].type] -
						      c->associated[m[k].type]
					    : c->by_type[m[k].type];
			ipam__buf_printf(buf, "%s{", m[k].name);
			label(buf, "ipam_id", ipam_id, true);
			label(buf, "region", r.list[i].region, false);
			ipam__buf_printf(buf, "} %lld\n", (long long)v);
		}
	}
	free(r.list);
	return rc;
}

/* The public IP metrics (L2836-L2845): per Amazon-provided contiguous
 * IPv4 pool, its addresses, those allocated, and its EIPs by
 * association. */
static int contig_metrics(ipam *db, const char *ipam_id, ipam__buf *buf,
			  ipam_err *err)
{
	static const char *const names[5] = {
		"ipam_amazon_owned_contig_ips",
		"ipam_allocated_amazon_owned_contig_ips",
		"ipam_unallocated_amazon_owned_contig_ips",
		"ipam_associated_amazon_owned_contig_ips",
		"ipam_unassociated_amazon_owned_contig_ips"};
	static const char *const help[5] = {
		"AmazonOwnedContigIPs: addresses in CIDRs provisioned to "
		"Amazon-provided contiguous public IPv4 pools",
		"AllocatedAmazonOwnedContigIPs: addresses allocated from the "
		"pool",
		"UnallocatedAmazonOwnedContigIPs: addresses of the pool not "
		"allocated",
		"AssociatedAmazonOwnedContigIPs: EIPs from the pool associated "
		"with a network interface or instance",
		"UnassociatedAmazonOwnedContigIPs: EIPs from the pool not "
		"associated"};
	int64_t *pools = NULL;
	size_t n = 0;
	int rc = ipam__collect_keys(
		db,
		ipam__stmt(db,
			   "SELECT p.key FROM pool p JOIN scope s"
			   " ON s.key = p.scope_key WHERE s.is_public = 1"
			   " AND p.parent_key IS NULL AND p.family = 4"
			   " AND p.public_ip_source = 'amazon' ORDER BY p.key",
			   err),
		&pools, &n, err);

	for (int k = 0; rc == 0 && k < 5; k++) {
		ipam__buf_printf(buf, "# HELP %s %s\n# TYPE %s gauge\n",
				 names[k], help[k], names[k]);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			ipam_pool_info p;
			ipam_pool_usage u;
			ipam_stmt *stmt;
			int64_t eips = 0, assoc = 0;
			ipam_u128 v = 0;
			char num[IPAM_U128_STRLEN];
			if ((rc = ipam__pool_load(db, pools[i], &p, err)) ||
			    (rc = ipam_pool_usage_get(db, pools[i], &u, err)))
				break;
			stmt = ipam__stmt(
				db,
				"SELECT count(*), coalesce(sum(CASE WHEN r.association"
				" <> '' THEN 1 ELSE 0 END), 0) FROM allocation a JOIN"
				" resource_cidr c ON c.alloc_key = a.key JOIN"
				" resource r ON r.key = c.resource_key WHERE"
				" a.pool_key = ?1 AND r.type = 'eip'",
				err);
			if (!stmt) {
				rc = ipam__stmt_error(err);
				break;
			}
			ipam__bind_int64(stmt, 1, pools[i]);
			if ((rc = ipam__step(db, stmt, err)) == 1) {
				eips = ipam__col_int64(stmt, 0);
				assoc = ipam__col_int64(stmt, 1);
				rc = 0;
			}
			ipam__reset(stmt);
			if (rc)
				break;
			v = k == 0   ? u.total
			    : k == 1 ? u.total - u.available
			    : k == 2 ? u.available
			    : k == 3 ? (ipam_u128)assoc
				     : (ipam_u128)(eips - assoc);
			ipam_u128_format(v, num);
			ipam__buf_printf(buf, "%s{", names[k]);
			label(buf, "ipam_id", ipam_id, true);
			label(buf, "ipam_pool_id", p.id, false);
			label(buf, "locale", *p.locale ? p.locale : "none",
			      false);
			ipam__buf_printf(buf, "} %s\n", num);
		}
	}
	free(pools);
	return rc;
}

int ipam__public_metrics(ipam *db, ipam__buf *buf, ipam_err *err)
{
	ipam_info info;
	ipam_scope_info sc;
	int rc = ipam__info_load(db, &info, err);

	if (rc || (rc = ipam__scope_load_name(db, "public", &sc, err)))
		return rc;
	if ((rc = contig_metrics(db, info.id, buf, err)))
		return rc;
	return insight_metrics(db, sc.key, info.id, buf, err);
}
