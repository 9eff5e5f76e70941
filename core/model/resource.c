/*
 * resource.c - resources seen by the IPAM (L2668-L2745): VPCs, subnets,
 * Elastic IPs, public IPv4 pools, instances and network interfaces, their
 * attributes, tags and CIDRs.
 *
 * A CIDR registered with a resource is unmanaged; one the resource got from
 * a pool (ipam_resource_allocate, or auto-import) is managed and holds an
 * allocation in that pool named by the resource id. Ignoring a resource
 * returns its pool space and takes its CIDRs out of compliance and overlap
 * checks (L2714); it is not allowed in the public scope (L1226). Every change
 * refreshes, through watch.c, only the statuses it can affect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * The one table of types: the word (stored and shown), whether a resource
 * may have it (ipam_resource_type_valid), whether IPAM manages its CIDRs
 * (L2711: VPCs, Elastic IPs and public IPv4 pools), and its word in each
 * ipam_type_shape (NULL: none; checked against botocore's EC2 model by
 * tests/mount/71-shapes.sh).
 */
static const struct {
	const char *word;
	bool resource, manageable;
	const char *aws[3];
} rtypes[] = {
	[IPAM__RT_UNKNOWN] = {"", false, false, {NULL, NULL, NULL}},
	[IPAM__RT_CUSTOM] = {"custom", false, false, {NULL, NULL, "custom"}},
	[IPAM__RT_IPAM_POOL] = {"ipam-pool",
				false,
				false,
				{NULL, NULL, "ipam-pool"}},
	[IPAM__RT_VPC] = {"vpc", true, true, {"vpc", "vpc", "vpc"}},
	[IPAM__RT_SUBNET] = {"subnet",
			     true,
			     false,
			     {"subnet", "subnet", "subnet"}},
	[IPAM__RT_EIP] = {"eip", true, true, {"eip", "eip", "eip"}},
	[IPAM__RT_PUBLIC_IPV4_POOL] = {"public-ipv4-pool",
				       true,
				       true,
				       {"public-ipv4-pool", NULL,
					"ec2-public-ipv4-pool"}},
	[IPAM__RT_INSTANCE] = {"instance",
			       true,
			       false,
			       {NULL, "instance", NULL}},
	[IPAM__RT_NETWORK_INTERFACE] = {"network-interface",
					true,
					false,
					{"eni", "network-interface", NULL}},
	[IPAM__RT_EC2_PUBLIC_IPV4_POOL] = {"ec2-public-ipv4-pool",
					   false,
					   false,
					   {NULL, NULL,
					    "ec2-public-ipv4-pool"}},
	/* An ALB's, an RDS instance's or a NAT gateway's public addresses
	 * are (service-managed) Elastic IPs in AWS: the shapes say eip. */
	[IPAM__RT_ALB] = {"alb", true, true, {"eip", "eip", "eip"}},
	[IPAM__RT_RDS] = {"rds", true, true, {"eip", "eip", "eip"}},
	[IPAM__RT_NAT_GATEWAY] = {"nat-gateway",
				  true,
				  true,
				  {"eip", "eip", "eip"}},
};

bool ipam__rtype_takes_eips(ipam__rtype type)
{
	return type == IPAM__RT_EIP || type == IPAM__RT_ALB ||
	       type == IPAM__RT_RDS || type == IPAM__RT_NAT_GATEWAY;
}

#define N_RTYPES (sizeof(rtypes) / sizeof(rtypes[0]))

ipam__rtype ipam__rtype_of(const char *word)
{
	if (word && *word)
		for (size_t i = 1; i < N_RTYPES; i++)
			if (!strcmp(word, rtypes[i].word))
				return (ipam__rtype)i;
	return IPAM__RT_UNKNOWN;
}

/* The resource id prefixes of AWS and the type each names. */
static const struct {
	const char *prefix;
	ipam__rtype type;
} id_types[] = {
	{"vpc-", IPAM__RT_VPC},
	{"subnet-", IPAM__RT_SUBNET},
	{"eipalloc-", IPAM__RT_EIP},
	{"eip-", IPAM__RT_EIP},
	{"ipv4pool-ec2-", IPAM__RT_PUBLIC_IPV4_POOL},
	{"i-", IPAM__RT_INSTANCE},
	{"eni-", IPAM__RT_NETWORK_INTERFACE},
	{"alb-", IPAM__RT_ALB},
	{"db-", IPAM__RT_RDS},
	{"nat-", IPAM__RT_NAT_GATEWAY},
};

bool ipam_resource_type_valid(const char *type)
{
	return rtypes[ipam__rtype_of(type)].resource;
}

const char *ipam_resource_type_aws(const char *type, ipam_type_shape shape)
{
	if ((unsigned)shape >= 3)
		return NULL;
	return rtypes[ipam__rtype_of(type)].aws[shape];
}

bool ipam_resource_type_manageable(const char *type)
{
	return rtypes[ipam__rtype_of(type)].manageable;
}

const char *ipam_resource_type_from_id(const char *id)
{
	for (size_t i = 0; i < sizeof(id_types) / sizeof(id_types[0]); i++)
		if (!strncmp(id, id_types[i].prefix,
			     strlen(id_types[i].prefix)))
			return rtypes[id_types[i].type].word;
	return NULL;
}

int ipam__resource_load(ipam *db, int64_t key, ipam_resource_info *out,
			ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT r.key, r.scope_key, r.resource_id, r.type, r.name,"
		" r.locale, r.owner, r.vpc_id, r.active_ips, r.ignored,"
		" coalesce(d.name, ''), r.created, r.association,"
		" r.address_type, r.service FROM resource r"
		" LEFT JOIN discovery d ON d.key = r.discovery_key"
		" WHERE r.key = ?1",
		err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		memset(out, 0, sizeof(*out));
		out->key = ipam__col_int64(stmt, 0);
		out->scope_key = ipam__col_int64(stmt, 1);
		ipam__copy_text(out->id, sizeof(out->id), stmt, 2);
		ipam__copy_text(out->type, sizeof(out->type), stmt, 3);
		ipam__copy_text(out->name, sizeof(out->name), stmt, 4);
		ipam__copy_text(out->locale, sizeof(out->locale), stmt, 5);
		ipam__copy_text(out->owner, sizeof(out->owner), stmt, 6);
		ipam__copy_text(out->vpc_id, sizeof(out->vpc_id), stmt, 7);
		out->has_active_ips = ipam__col_type(stmt, 8) !=
				      IPAM_COL_NULL;
		out->active_ips = out->has_active_ips ? ipam__col_u128(stmt, 8)
						      : 0;
		out->ignored = ipam__col_int(stmt, 9) != 0;
		ipam__copy_text(out->discovery, sizeof(out->discovery), stmt,
				10);
		out->created = ipam__col_int64(stmt, 11);
		ipam__copy_text(out->association, sizeof(out->association),
				stmt, 12);
		ipam__copy_text(out->address_type, sizeof(out->address_type),
				stmt, 13);
		ipam__copy_text(out->service, sizeof(out->service), stmt, 14);
		rc = 0;
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_ENOENT, "no such resource");
	}
	ipam__reset(stmt);
	return rc;
}

int ipam_resource_get(ipam *db, int64_t resource, ipam_resource_info *out,
		      ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db, ipam__resource_load(db, resource, out, err));
}

static int resource_find(ipam *db, int64_t scope, const char *id,
			 int64_t *out_key, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT key FROM resource WHERE"
					" scope_key = ?1 AND resource_id = ?2",
					err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, scope);
	ipam__bind_text(stmt, 2, id, -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		if (out_key)
			*out_key = ipam__col_int64(stmt, 0);
		rc = 0;
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_ENOENT, "no resource '%.80s'", id);
	}
	ipam__reset(stmt);
	return rc;
}

int ipam_resource_lookup(ipam *db, int64_t scope, const char *id,
			 int64_t *out_key, ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db, resource_find(db, scope, id, out_key, err));
}

/* Runs a query bound to one key and collects column 0 as text. */
static int collect_text(ipam *db, const char *sql, int64_t key,
			ipam_strlist *out, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, sql, err);
	if (stmt)
		ipam__bind_int64(stmt, 1, key);
	return ipam__collect_text(db, stmt, out, err);
}

/* Runs a query bound to one key and collects column 0 as integers. */
static int collect_keys(ipam *db, const char *sql, int64_t key, int64_t **out,
			size_t *count, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, sql, err);
	if (stmt)
		ipam__bind_int64(stmt, 1, key);
	return ipam__collect_keys(db, stmt, out, count, err);
}

int ipam_resource_list(ipam *db, int64_t scope, ipam_strlist *out,
		       ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db,
			      collect_text(db,
					   "SELECT resource_id FROM resource"
					   " WHERE scope_key = ?1"
					   " ORDER BY resource_id",
					   scope, out, err));
}

static int check_id(const char *id, ipam_err *err)
{
	int rc = ipam_name_check(id, err);
	if (rc)
		return rc;
	if (strlen(id) > IPAM_RESOURCE_ID_MAX)
		return ipam__fail(err, IPAM_EINVAL,
				  "resource id is longer than %d bytes",
				  IPAM_RESOURCE_ID_MAX);
	return 0;
}

/* Inserts a resource row; type NULL = from the id's prefix. */
static int resource_insert(ipam *db, int64_t scope, int64_t discovery,
			   const char *id, const char *type, int64_t *out_key,
			   ipam_err *err)
{
	ipam_scope_info sc;
	ipam_stmt *stmt;
	char owner[16];
	int rc = check_id(id, err);

	if (rc)
		return rc;
	if (!type && !(type = ipam_resource_type_from_id(id)))
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot tell the type of resource '%.64s' "
				  "from its id: use a vpc-, subnet-, eipalloc-,"
				  " ipv4pool-ec2-, i- or eni- id",
				  id);
	if (!ipam_resource_type_valid(type))
		return ipam__fail(err, IPAM_EINVAL,
				  "unknown resource type '%.40s'", type);
	if ((rc = ipam_scope_get_by_key(db, scope, &sc, err)))
		return rc;
	if (resource_find(db, scope, id, NULL, NULL) == 0)
		return ipam__fail(err, IPAM_EEXIST,
				  "resource '%s' exists in scope '%s'", id,
				  sc.name);
	/* A resource made by hand is owned by the uid that made it, as a
	 * pool is (ResourceOwnerId; the RAM rule of L563 checks it). A
	 * discovered one takes the owner its records give. */
	snprintf(owner, sizeof(owner), "%u", db->actor.uid);
	stmt = ipam__stmt(db,
			  "INSERT INTO resource(scope_key, resource_id, type,"
			  " discovery_key, created, owner)"
			  " VALUES (?1, ?2, ?3, nullif(?4, 0), ?5, ?6)",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, scope);
	ipam__bind_text(stmt, 2, id, -1);
	ipam__bind_text(stmt, 3, type, -1);
	ipam__bind_int64(stmt, 4, discovery);
	ipam__bind_int64(stmt, 5, ipam__now(db));
	ipam__bind_text(stmt, 6, discovery ? "" : owner, -1);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	if (out_key)
		*out_key = ipam__last_insert_id(db);
	return ipam__event(
		db, "create-resource", id,
		json_pack("{s:s, s:s}", "scope", sc.id, "type", type), err);
}

int ipam_resource_create(ipam *db, int64_t scope, const char *id,
			 const char *type, int64_t *out_key, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(
		db, resource_insert(db, scope, 0, id, type, out_key, err), err);
}

/* ---- resource CIDRs ---- */

static bool in_overlap_index(const ipam_resource_info *res)
{
	return ipam_resource_type_manageable(res->type) && !res->ignored;
}

/* Adds a CIDR row (managed when alloc != 0) and computes its status. */
static int rc_insert(ipam *db, const ipam_resource_info *res,
		     const ipam_cidr *cidr, int64_t alloc, int64_t *out_key,
		     ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN];
	ipam_stmt *stmt =
		ipam__stmt(db,
			   "INSERT INTO resource_cidr(resource_key,"
			   " family, start, prefix, alloc_key)"
			   " VALUES (?1, ?2, ?3, ?4, nullif(?5, 0))",
			   err);
	int64_t key;
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, res->key);
	ipam__bind_int(stmt, 2, cidr->family);
	ipam__bind_addr(stmt, 3, cidr->addr);
	ipam__bind_int(stmt, 4, cidr->prefix);
	ipam__bind_int64(stmt, 5, alloc);
	rc = ipam__exec(db, stmt, NULL);
	ipam_cidr_format(cidr, text);
	if (rc == IPAM_EEXIST)
		return ipam__fail(err, IPAM_EEXIST,
				  "resource '%s' already has %s", res->id,
				  text);
	if (rc)
		return ipam__fail(err, rc, "cannot add %s to '%s'", text,
				  res->id);
	key = ipam__last_insert_id(db);
	if (out_key)
		*out_key = key;
	if (in_overlap_index(res))
		rc = ipam__scope_cidr_add(db, res->scope_key, cidr, res->type,
					  key, err);
	else
		rc = ipam__rc_refresh(db, key, err);
	return rc;
}

/* The key of the resource's row for `cidr`; IPAM_ENOENT. */
static int rc_find(ipam *db, const ipam_resource_info *res,
		   const ipam_cidr *cidr, int64_t *key, int64_t *alloc,
		   ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN];
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT key, coalesce(alloc_key, 0) FROM"
					" resource_cidr WHERE resource_key = ?1"
					" AND family = ?2 AND start = ?3 AND"
					" prefix = ?4",
					err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, res->key);
	ipam__bind_int(stmt, 2, cidr->family);
	ipam__bind_addr(stmt, 3, cidr->addr);
	ipam__bind_int(stmt, 4, cidr->prefix);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		*key = ipam__col_int64(stmt, 0);
		if (alloc)
			*alloc = ipam__col_int64(stmt, 1);
		rc = 0;
	} else if (rc == 0) {
		ipam_cidr_format(cidr, text);
		rc = ipam__fail(err, IPAM_ENOENT, "resource '%s' has no %s",
				res->id, text);
	}
	ipam__reset(stmt);
	return rc;
}

/* Gives a managed CIDR's space back to its pool; it stays unmanaged. */
static int rc_unmanage(ipam *db, int64_t rc_key, int64_t alloc, ipam_err *err)
{
	ipam_stmt *stmt;
	int rc;
	if (!alloc)
		return 0;
	stmt = ipam__stmt(db,
			  "UPDATE resource_cidr SET alloc_key = NULL"
			  " WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, rc_key);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return ipam__alloc_free(db, alloc, err);
}

/* Removes one resource CIDR: index, allocation, history, row. */
static int rc_delete(ipam *db, const ipam_resource_info *res, int64_t rc_key,
		     ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT family, start, prefix,"
					" coalesce(alloc_key, 0),"
					" coalesce(history_key, 0) FROM"
					" resource_cidr WHERE key = ?1",
					err);
	int64_t alloc = 0, history = 0;
	ipam_cidr c = {0};
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, rc_key);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		c.family = (uint8_t)ipam__col_int(stmt, 0);
		c.addr = ipam__blob_to_addr(stmt, 1);
		c.prefix = (uint8_t)ipam__col_int(stmt, 2);
		alloc = ipam__col_int64(stmt, 3);
		history = ipam__col_int64(stmt, 4);
	}
	ipam__reset(stmt);
	if (rc <= 0)
		return rc < 0 ? rc : ipam__fail(err, IPAM_ENOENT, "no CIDR");
	if (in_overlap_index(res) &&
	    (rc = ipam__scope_cidr_remove(db, res->scope_key, &c, res->type,
					  rc_key, err)))
		return rc;
	if ((rc = rc_unmanage(db, rc_key, alloc, err)) ||
	    (rc = ipam__history_close(db, history, err)) ||
	    (rc = ipam__plist_rc_gone(db, rc_key, err)))
		return rc;
	stmt = ipam__stmt(db, "DELETE FROM resource_cidr WHERE key = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, rc_key);
	return ipam__exec(db, stmt, err);
}

/* The event of a resource CIDR's change. */
static int cidr_event(ipam *db, const char *action,
		      const ipam_resource_info *res, const ipam_cidr *cidr,
		      ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN];
	ipam_cidr_format(cidr, text);
	return ipam__event(db, action, res->id,
			   json_pack("{s:s}", "cidr", text), err);
}

/* The release orders of the guide, before a resource (cidr NULL) or one
 * of its CIDRs goes: an associated EIP is disassociated first, a public
 * IPv4 pool's EIPs are released first (L7000-L7030, L9380); a VPC goes
 * after the resource planning pools of its space (L8969-L8984). */
static int release_checks(ipam *db, const ipam_resource_info *res,
			  const ipam_cidr *cidr, ipam_err *err)
{
	int rc;
	if (!cidr && ipam__rtype_of(res->type) == IPAM__RT_EIP &&
	    *res->association)
		return ipam__fail(err, IPAM_EBUSY,
				  "cannot release '%s': it is associated with "
				  "'%s' (disassociate it first)",
				  res->id, res->association);
	if ((rc = ipam__eip_pool_busy(db, res, cidr, err)))
		return rc;
	return ipam__plan_vpc_busy(db, res, cidr, cidr ? "remove" : "delete",
				   err);
}

static int cidr_add(ipam *db, int64_t resource, const ipam_cidr *cidr,
		    ipam_err *err)
{
	ipam_resource_info res;
	int64_t key;
	int rc = ipam__resource_load(db, resource, &res, err);

	if (rc || (rc = rc_insert(db, &res, cidr, 0, &key, err)) ||
	    (rc = ipam__auto_import(db, &key, 1, err)))
		return rc;
	return cidr_event(db, "add-resource-cidr", &res, cidr, err);
}

int ipam_resource_cidr_add(ipam *db, int64_t resource, const ipam_cidr *cidr,
			   ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, cidr_add(db, resource, cidr, err), err);
}

static int cidr_remove(ipam *db, int64_t resource, const ipam_cidr *cidr,
		       ipam_err *err)
{
	ipam_resource_info res;
	int64_t key;
	int rc = ipam__resource_load(db, resource, &res, err);

	if (rc || (rc = rc_find(db, &res, cidr, &key, NULL, err)) ||
	    (rc = release_checks(db, &res, cidr, err)) ||
	    (rc = rc_delete(db, &res, key, err)))
		return rc;
	return cidr_event(db, "remove-resource-cidr", &res, cidr, err);
}

int ipam_resource_cidr_remove(ipam *db, int64_t resource, const ipam_cidr *cidr,
			      ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, cidr_remove(db, resource, cidr, err), err);
}

/* The checks of "create a VPC with an IPAM pool" before any space moves. */
static int allocate_checks(ipam *db, const ipam_resource_info *res,
			   const ipam_pool_info *p, bool import, ipam_err *err)
{
	char tag[IPAM_TAG_KEY_MAX + IPAM_TAG_VALUE_MAX + 2];
	int rc;

	if ((rc = ipam__plan_allocate_check(db, res, p, err)))
		return rc;
	if (res->ignored)
		return ipam__fail(err, IPAM_EINVAL,
				  "resource '%s' is ignored: set monitoring to "
				  "monitored first",
				  res->id);
	if (p->scope_key != res->scope_key)
		return ipam__fail(err, IPAM_EINVAL,
				  "pool '%s' is not in the scope of resource "
				  "'%s'",
				  p->name, res->id);
	/* an imported CIDR that breaks a rule is kept and flagged
	 * noncompliant (SPEC §3.2), as the allocation was when exported */
	if (import)
		return 0;
	if (*p->locale && strcmp(p->locale, res->locale))
		return ipam__fail(err, IPAM_EINVAL,
				  "resource '%s' is in locale '%s'; pool '%s' "
				  "allocates only in locale '%s'",
				  res->id, *res->locale ? res->locale : "none",
				  p->name, p->locale);
	rc = ipam__rule_tag_missing(db, p->key, res->key, tag, sizeof(tag),
				    err);
	if (rc == 1)
		rc = ipam__fail(err, IPAM_EINVAL,
				"The resource is missing one or more of the "
				"resource tags required by the IPAM pool "
				"(pool '%s' requires '%s')",
				p->name, tag);
	return rc;
}

/* import_id: NULL for an allocation by hand (every rule checked); else
 * an import's, which skips the netmask, locale and tag rules and takes
 * that allocation id when it is not "" (the caller checked it is free). */
static int resource_allocate(ipam *db, int64_t resource, int64_t pool,
			     const ipam_cidr *cidr, int prefix_len,
			     ipam_cidr *out, const char *import_id,
			     const char *description, ipam_err *err)
{
	char name[IPAM_NAME_MAX + 1];
	ipam_resource_info res;
	ipam_pool_info p;
	ipam_alloc_info got;
	ipam_cidr want;
	int64_t rc_key = 0, old_alloc = 1;
	ipam__alloc_spec spec = {
		.cidr = cidr,
		.prefix_len = prefix_len,
		.check_rules = !import_id,
		.id = import_id && *import_id ? import_id : NULL,
		.description = description,
	};
	int rc = ipam__resource_load(db, resource, &res, err);

	if (rc || (rc = ipam__pool_load(db, pool, &p, err)) ||
	    (rc = allocate_checks(db, &res, &p, import_id != NULL, err)))
		return rc;
	/* By size, the block is chosen first: its name may need it, and it
	 * may be a CIDR the resource already holds unmanaged. */
	if (!import_id && (cidr || prefix_len >= 0)) { /* before the search */
		ipam_cidr shape = {.family = (uint8_t)p.family,
				   .prefix = (uint8_t)prefix_len};
		if ((rc = ipam__eip_block_check(&res, &p, cidr ? cidr : &shape,
						err)))
			return rc;
	}
	if ((rc = ipam__alloc_resolve(db, &p, &spec, &want, err)) ||
	    (!import_id && (rc = ipam__eip_block_check(&res, &p, &want, err))))
		return rc;
	if (rc_find(db, &res, &want, &rc_key, &old_alloc, NULL) == 0 &&
	    old_alloc)
		return ipam__fail(err, IPAM_EEXIST,
				  "that CIDR of '%s' is already managed",
				  res.id);
	if ((rc = ipam__alloc_owner_name(db, pool, res.id, &want, name, err)))
		return rc;
	spec.name = name;
	spec.cidr = &want;
	spec.resource_type =
		ipam_resource_type_aws(res.type, IPAM_SHAPE_ALLOCATION);
	spec.resource_id = res.id;
	spec.resource_region = res.locale;
	if ((rc = ipam__alloc(db, pool, &spec, &got, err)))
		return rc;
	if (old_alloc == 0) { /* an unmanaged row for this CIDR: manage it */
		ipam_stmt *stmt =
			ipam__stmt(db,
				   "UPDATE resource_cidr SET"
				   " alloc_key = ?2 WHERE key = ?1",
				   err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, rc_key);
		ipam__bind_int64(stmt, 2, got.key);
		if ((rc = ipam__exec(db, stmt, err)) ||
		    (rc = ipam__rc_refresh(db, rc_key, err)))
			return rc;
	} else if ((rc = rc_insert(db, &res, &got.cidr, got.key, NULL, err))) {
		return rc;
	}
	if (out)
		*out = got.cidr;
	return 0;
}

int ipam_resource_allocate(ipam *db, int64_t resource, int64_t pool,
			   const ipam_cidr *cidr, int prefix_len,
			   ipam_cidr *out, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db,
			       resource_allocate(db, resource, pool, cidr,
						 prefix_len, out, NULL, NULL,
						 err),
			       err);
}

int ipam__resource_allocate(ipam *db, int64_t resource, int64_t pool,
			    const ipam_cidr *cidr, int prefix_len,
			    const char *description, ipam_cidr *out,
			    ipam_err *err)
{
	return resource_allocate(db, resource, pool, cidr, prefix_len, out,
				 NULL, description, err);
}

int ipam__resource_import_cidr(ipam *db, int64_t resource, int64_t pool,
			       const ipam_cidr *cidr, const char *alloc_id,
			       ipam_err *err)
{
	return resource_allocate(db, resource, pool, cidr, -1, NULL,
				 alloc_id ? alloc_id : "", NULL, err);
}

/* ---- monitoring, move, delete ---- */

#define RC_OF_RESOURCE                                                         \
	"SELECT key FROM resource_cidr WHERE resource_key = ?1"                \
	" ORDER BY family, start, prefix"

static int rc_index(ipam *db, const ipam_resource_info *res, int64_t rc_key,
		    bool add, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT family, start, prefix FROM"
					" resource_cidr WHERE key = ?1",
					err);
	ipam_cidr c = {0};
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, rc_key);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		c.family = (uint8_t)ipam__col_int(stmt, 0);
		c.addr = ipam__blob_to_addr(stmt, 1);
		c.prefix = (uint8_t)ipam__col_int(stmt, 2);
	}
	ipam__reset(stmt);
	if (rc <= 0)
		return rc;
	return add ? ipam__scope_cidr_add(db, res->scope_key, &c, res->type,
					  rc_key, err)
		   : ipam__scope_cidr_remove(db, res->scope_key, &c, res->type,
					     rc_key, err);
}

static int set_ignored(ipam *db, int64_t resource, bool ignored, ipam_err *err)
{
	ipam_resource_info res;
	ipam_scope_info sc;
	ipam_stmt *stmt;
	int64_t *keys = NULL;
	size_t n = 0;
	int rc = ipam__resource_load(db, resource, &res, err);

	if (rc || res.ignored == ignored)
		return rc;
	if ((rc = ipam_scope_get_by_key(db, res.scope_key, &sc, err)))
		return rc;
	if (sc.is_public)
		return ipam__fail(err, IPAM_EPERM,
				  "resources in the public scope cannot be "
				  "ignored");
	if ((rc = collect_keys(db, RC_OF_RESOURCE, resource, &keys, &n, err)))
		return rc;
	for (size_t i = 0; rc == 0 && ignored && i < n; i++) {
		int64_t k, alloc = 0;
		stmt = ipam__stmt(db,
				  "SELECT coalesce(alloc_key, 0) FROM"
				  " resource_cidr WHERE key = ?1",
				  err);
		if (!stmt) {
			rc = ipam__stmt_error(err);
			break;
		}
		ipam__bind_int64(stmt, 1, keys[i]);
		if (ipam__step(db, stmt, err) == 1)
			alloc = ipam__col_int64(stmt, 0);
		ipam__reset(stmt);
		k = keys[i];
		if (ipam_resource_type_manageable(res.type))
			rc = rc_index(db, &res, k, false, err);
		if (rc == 0)
			rc = rc_unmanage(db, k, alloc, err);
	}
	if (rc == 0) {
		stmt = ipam__stmt(db,
				  "UPDATE resource SET ignored = ?2"
				  " WHERE key = ?1",
				  err);
		if (!stmt)
			rc = ipam__stmt_error(err);
		else {
			ipam__bind_int64(stmt, 1, resource);
			ipam__bind_int(stmt, 2, ignored);
			rc = ipam__exec(db, stmt, err);
		}
		res.ignored = ignored;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (!ignored && ipam_resource_type_manageable(res.type))
			rc = rc_index(db, &res, keys[i], true, err);
		else
			rc = ipam__rc_refresh(db, keys[i], err);
	}
	if (rc == 0 && !ignored)
		rc = ipam__auto_import(db, keys, n, err);
	free(keys);
	if (rc)
		return rc;
	return ipam__event(db, "modify-ipam-resource-cidr", res.id,
			   json_pack("{s:s}", "monitoring",
				     ignored ? "ignored" : "monitored"),
			   err);
}

int ipam_resource_set_ignored(ipam *db, int64_t resource, bool ignored,
			      ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, set_ignored(db, resource, ignored, err),
			       err);
}

/* Takes a resource's CIDRs out of its scope (ending their history) or puts
 * them into its (new) scope. */
static int scope_leave_or_join(ipam *db, int64_t resource, bool join,
			       ipam_err *err)
{
	ipam_resource_info res;
	int64_t *keys = NULL;
	size_t n = 0;
	int rc = ipam__resource_load(db, resource, &res, err);

	if (rc ||
	    (rc = collect_keys(db, RC_OF_RESOURCE, resource, &keys, &n, err)))
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (in_overlap_index(&res))
			rc = rc_index(db, &res, keys[i], join, err);
		else if (join)
			rc = ipam__rc_refresh(db, keys[i], err);
		if (rc == 0 && !join) {
			ipam_stmt *stmt =
				ipam__stmt(db,
					   "SELECT coalesce(history_key, 0) FROM"
					   " resource_cidr WHERE key = ?1",
					   err);
			int64_t h = 0;
			if (!stmt) {
				rc = ipam__stmt_error(err);
				break;
			}
			ipam__bind_int64(stmt, 1, keys[i]);
			if (ipam__step(db, stmt, err) == 1)
				h = ipam__col_int64(stmt, 0);
			ipam__reset(stmt);
			rc = ipam__history_close(db, h, err);
			stmt = ipam__stmt(db,
					  "UPDATE resource_cidr SET"
					  " history_key = NULL WHERE key = ?1",
					  err);
			if (rc == 0 && stmt) {
				ipam__bind_int64(stmt, 1, keys[i]);
				rc = ipam__exec(db, stmt, err);
			}
		}
	}
	if (rc == 0 && join)
		rc = ipam__auto_import(db, keys, n, err);
	free(keys);
	return rc;
}

static int move(ipam *db, int64_t resource, int64_t scope, ipam_err *err)
{
	ipam_resource_info res;
	ipam_scope_info from, to;
	int64_t *members = NULL, busy = 0;
	size_t n = 0;
	ipam_stmt *stmt;
	int rc = ipam__resource_load(db, resource, &res, err);

	if (rc || (rc = ipam_scope_get_by_key(db, res.scope_key, &from, err)) ||
	    (rc = ipam_scope_get_by_key(db, scope, &to, err)))
		return rc;
	if (scope == res.scope_key)
		return 0;
	if (ipam__rtype_of(res.type) != IPAM__RT_VPC)
		return ipam__fail(err, IPAM_EPERM,
				  "only VPCs move between scopes ('%s' is a "
				  "%s)",
				  res.id, res.type);
	if (from.is_public || to.is_public)
		return ipam__fail(err, IPAM_EPERM,
				  "VPCs move only between private scopes");
	if ((rc = ipam__plan_vpc_busy(db, &res, NULL, "move", err)))
		return rc;
	stmt = ipam__stmt(
		db,
		"SELECT count(*) FROM resource_cidr rc JOIN resource r"
		" ON r.key = rc.resource_key WHERE rc.alloc_key IS NOT"
		" NULL AND r.key = ?1",
		err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, resource);
	if (ipam__step(db, stmt, err) == 1)
		busy = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	if (busy)
		return ipam__fail(err, IPAM_EBUSY,
				  "VPC '%s' has CIDRs allocated from a pool: "
				  "release them before the move",
				  res.id);
	/* The VPC and the subnets that name it move together (L2045). */
	stmt = ipam__stmt(
		db,
		"SELECT key FROM resource WHERE key = ?1 OR"
		" (scope_key = ?2 AND vpc_id = ?3 AND type = 'subnet')",
		err);
	if (stmt) {
		ipam__bind_int64(stmt, 1, resource);
		ipam__bind_int64(stmt, 2, res.scope_key);
		ipam__bind_text(stmt, 3, res.id, -1);
	}
	if ((rc = ipam__collect_keys(db, stmt, &members, &n, err)))
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		ipam_resource_info m;
		if ((rc = ipam__resource_load(db, members[i], &m, err)))
			break;
		if (resource_find(db, scope, m.id, NULL, NULL) == 0)
			rc = ipam__fail(err, IPAM_EEXIST,
					"scope '%s' already has resource '%s'",
					to.name, m.id);
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = scope_leave_or_join(db, members[i], false, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		stmt = ipam__stmt(db,
				  "UPDATE resource SET scope_key = ?2"
				  " WHERE key = ?1",
				  err);
		if (!stmt) {
			rc = ipam__stmt_error(err);
			break;
		}
		ipam__bind_int64(stmt, 1, members[i]);
		ipam__bind_int64(stmt, 2, scope);
		rc = ipam__exec(db, stmt, err);
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = scope_leave_or_join(db, members[i], true, err);
	free(members);
	if (rc)
		return rc;
	return ipam__event(db, "modify-ipam-resource-cidr", res.id,
			   json_pack("{s:s, s:s}", "from-scope", from.id,
				     "to-scope", to.id),
			   err);
}

int ipam__resource_rescope(ipam *db, int64_t resource, int64_t scope,
			   ipam_err *err)
{
	ipam_resource_info res;
	ipam_scope_info to;
	ipam_stmt *stmt;
	int64_t *keys = NULL;
	size_t n = 0;
	int rc = ipam__resource_load(db, resource, &res, err);

	if (rc || res.scope_key == scope)
		return rc;
	if ((rc = ipam_scope_get_by_key(db, scope, &to, err)))
		return rc;
	if (resource_find(db, scope, res.id, NULL, NULL) == 0)
		return ipam__fail(err, IPAM_EEXIST,
				  "scope '%s' already has resource '%s'",
				  to.name, res.id);
	/* Out of the old scope's index first, so that the space it gives
	 * back is not imported for it again. */
	if ((rc = scope_leave_or_join(db, resource, false, err)) ||
	    (rc = collect_keys(db,
			       "SELECT key FROM resource_cidr WHERE"
			       " resource_key = ?1 AND alloc_key IS NOT NULL",
			       resource, &keys, &n, err)))
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		stmt = ipam__stmt(db,
				  "SELECT alloc_key FROM resource_cidr"
				  " WHERE key = ?1",
				  err);
		int64_t alloc = 0;
		if (!stmt) {
			rc = ipam__stmt_error(err);
			break;
		}
		ipam__bind_int64(stmt, 1, keys[i]);
		if (ipam__step(db, stmt, err) == 1)
			alloc = ipam__col_int64(stmt, 0);
		ipam__reset(stmt);
		rc = rc_unmanage(db, keys[i], alloc, err);
	}
	free(keys);
	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "UPDATE resource SET scope_key = ?2"
			  " WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, resource);
	ipam__bind_int64(stmt, 2, scope);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return scope_leave_or_join(db, resource, true, err);
}

int ipam_resource_move(ipam *db, int64_t resource, int64_t scope, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, move(db, resource, scope, err), err);
}

int ipam__resource_remove(ipam *db, int64_t resource, ipam_err *err)
{
	ipam_resource_info res;
	ipam_stmt *stmt;
	int64_t *keys = NULL;
	size_t n = 0;
	int rc = ipam__resource_load(db, resource, &res, err);

	if (rc ||
	    (rc = collect_keys(db, RC_OF_RESOURCE, resource, &keys, &n, err)))
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = rc_delete(db, &res, keys[i], err);
	free(keys);
	if (rc)
		return rc;
	stmt = ipam__stmt(
		db, "DELETE FROM resource_tag WHERE resource_key = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, resource);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	stmt = ipam__stmt(db, "DELETE FROM resource WHERE key = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, resource);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return ipam__event(db, "delete-resource", res.id, json_object(), err);
}

static int resource_delete(ipam *db, int64_t resource, ipam_err *err)
{
	ipam_resource_info res;
	int rc = ipam__resource_load(db, resource, &res, err);

	if (rc || (rc = release_checks(db, &res, NULL, err)))
		return rc;
	return ipam__resource_remove(db, resource, err);
}

int ipam_resource_delete(ipam *db, int64_t resource, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, resource_delete(db, resource, err), err);
}

int ipam__resource_unmanage_alloc(ipam *db, int64_t alloc, bool *found,
				  ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT rc.key, r.resource_id FROM"
					" resource_cidr rc JOIN resource r ON"
					" r.key = rc.resource_key WHERE"
					" rc.alloc_key = ?1",
					err);
	char id[IPAM_RESOURCE_ID_MAX + 1] = "";
	int64_t key = 0;
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, alloc);
	if ((rc = ipam__step(db, stmt, err)) == 1) {
		key = ipam__col_int64(stmt, 0);
		ipam__copy_text(id, sizeof(id), stmt, 1);
	}
	ipam__reset(stmt);
	*found = rc == 1;
	if (rc != 1)
		return rc;
	if ((rc = rc_unmanage(db, key, alloc, err)) ||
	    (rc = ipam__rc_refresh(db, key, err)))
		return rc;
	return ipam__event(db, "modify-ipam-resource-cidr", id,
			   json_pack("{s:s}", "management", "unmanaged"), err);
}

/* ---- attributes and tags ---- */

/* Refreshes every CIDR of a resource; restart = new history records. */
static int refresh_all(ipam *db, int64_t resource, bool restart, ipam_err *err)
{
	int64_t *keys = NULL;
	size_t n = 0;
	int rc = collect_keys(db, RC_OF_RESOURCE, resource, &keys, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = restart ? ipam__rc_restart(db, keys[i], err)
			     : ipam__rc_refresh(db, keys[i], err);
	free(keys);
	return rc;
}

static int field_check(const ipam_resource_info *res, ipam_resource_field field,
		       const char *value, int64_t ncidrs, ipam_u128 *count,
		       ipam_err *err)
{
	switch (field) {
	case IPAM_RESOURCE_TYPE:
		if (!ipam_resource_type_valid(value))
			return ipam__fail(err, IPAM_EINVAL,
					  "unknown resource type '%.40s'",
					  value);
		if (ncidrs && strcmp(value, res->type))
			return ipam__fail(err, IPAM_EBUSY,
					  "resource '%s' has CIDRs: its type "
					  "cannot change",
					  res->id);
		return 0;
	case IPAM_RESOURCE_LOCALE:
		return *value ? ipam__check_locale(value, err) : 0;
	case IPAM_RESOURCE_ACTIVE_IPS:
		if (*value && ipam_u128_parse(count, value))
			return ipam__fail(err, IPAM_EINVAL,
					  "ip-usage must be a count of "
					  "addresses, not '%.40s'",
					  value);
		return 0;
	case IPAM_RESOURCE_NAME:
		return ipam__check_text("name", value, IPAM_TAG_VALUE_MAX, err);
	case IPAM_RESOURCE_OWNER:
	case IPAM_RESOURCE_VPC_ID:
		return ipam__check_text("value", value, IPAM_RESOURCE_ID_MAX,
					err);
	case IPAM_RESOURCE_ASSOCIATION:
		return ipam__eip_association_check(res, value, err);
	}
	return ipam__fail(err, IPAM_EINVAL, "unknown resource field");
}

/* Whether `value` is what the field holds already. */
static bool field_unchanged(const ipam_resource_info *res,
			    ipam_resource_field field, const char *value,
			    ipam_u128 count)
{
	switch (field) {
	case IPAM_RESOURCE_TYPE:
		return !strcmp(res->type, value);
	case IPAM_RESOURCE_NAME:
		return !strcmp(res->name, value);
	case IPAM_RESOURCE_LOCALE:
		return !strcmp(res->locale, value);
	case IPAM_RESOURCE_OWNER:
		return !strcmp(res->owner, value);
	case IPAM_RESOURCE_VPC_ID:
		return !strcmp(res->vpc_id, value);
	case IPAM_RESOURCE_ACTIVE_IPS:
		return *value ? res->has_active_ips && res->active_ips == count
			      : !res->has_active_ips;
	case IPAM_RESOURCE_ASSOCIATION:
		return !strcmp(res->association, value);
	}
	return false;
}

static int set_field(ipam *db, int64_t resource, ipam_resource_field field,
		     const char *value, ipam_err *err)
{
	static const char *const sql[] = {
		[IPAM_RESOURCE_TYPE] = "UPDATE resource SET type = ?2"
				       " WHERE key = ?1",
		[IPAM_RESOURCE_NAME] = "UPDATE resource SET name = ?2"
				       " WHERE key = ?1",
		[IPAM_RESOURCE_LOCALE] = "UPDATE resource SET locale = ?2"
					 " WHERE key = ?1",
		[IPAM_RESOURCE_OWNER] = "UPDATE resource SET owner = ?2"
					" WHERE key = ?1",
		[IPAM_RESOURCE_VPC_ID] = "UPDATE resource SET vpc_id = ?2"
					 " WHERE key = ?1",
		[IPAM_RESOURCE_ACTIVE_IPS] = "UPDATE resource SET"
					     " active_ips = ?2 WHERE key = ?1",
		[IPAM_RESOURCE_ASSOCIATION] = "UPDATE resource SET"
					      " association = ?2"
					      " WHERE key = ?1",
	};
	static const char *const names[] = {
		"resource-type", "name",     "locale",	   "owner",
		"vpc-id",	 "ip-usage", "association"};
	ipam_resource_info res;
	ipam_u128 count = 0;
	int64_t *keys = NULL;
	size_t n = 0;
	ipam_stmt *stmt;
	int rc = ipam__resource_load(db, resource, &res, err);

	if (rc ||
	    (rc = collect_keys(db, RC_OF_RESOURCE, resource, &keys, &n, err)))
		return rc;
	free(keys);
	if ((rc = field_check(&res, field, value, (int64_t)n, &count, err)))
		return rc;
	if (field_unchanged(&res, field, value, count))
		return 0; /* no change, no new history record */
	if (!(stmt = ipam__stmt(db, sql[field], err)))
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, resource);
	if (field == IPAM_RESOURCE_ACTIVE_IPS && *value)
		ipam__bind_u128(stmt, 2, count);
	else if (field == IPAM_RESOURCE_ACTIVE_IPS)
		ipam__bind_null(stmt, 2);
	else
		ipam__bind_text(stmt, 2, value, -1);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	/* an association is no attribute of the address's history record */
	if (field != IPAM_RESOURCE_ACTIVE_IPS &&
	    field != IPAM_RESOURCE_ASSOCIATION &&
	    (rc = refresh_all(db, resource, true, err)))
		return rc;
	if (field == IPAM_RESOURCE_LOCALE) { /* it may now fit a pool */
		if ((rc = collect_keys(db, RC_OF_RESOURCE, resource, &keys, &n,
				       err)))
			return rc;
		rc = ipam__auto_import(db, keys, n, err);
		free(keys);
		if (rc)
			return rc;
	}
	return ipam__event(db, "modify-resource", res.id,
			   json_pack("{s:s}", names[field], value), err);
}

int ipam_resource_set(ipam *db, int64_t resource, ipam_resource_field field,
		      const char *value, ipam_err *err)
{
	int rc;
	if ((unsigned)field > IPAM_RESOURCE_ASSOCIATION)
		return ipam__fail(err, IPAM_EINVAL, "unknown resource field");
	if ((rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(db, set_field(db, resource, field, value, err),
			       err);
}

int ipam_resource_tag_list(ipam *db, int64_t resource, ipam_strlist *out,
			   ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db, collect_text(db,
					       "SELECT key FROM resource_tag"
					       " WHERE resource_key = ?1"
					       " ORDER BY key",
					       resource, out, err));
}

int ipam_resource_tag_get(ipam *db, int64_t resource, const char *key,
			  char **out, ipam_err *err)
{
	ipam_stmt *stmt;
	int rc = ipam__read_begin(db, err);

	*out = NULL;
	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "SELECT value FROM resource_tag WHERE"
			  " resource_key = ?1 AND key = ?2",
			  err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	ipam__bind_int64(stmt, 1, resource);
	ipam__bind_text(stmt, 2, key, -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		*out = ipam__strdup(ipam__col_text(stmt, 0));
		rc = *out ? 0 : ipam__fail(err, IPAM_ENOMEM, "out of memory");
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_ENOENT, "no tag '%.64s'", key);
	}
	ipam__reset(stmt);
	return ipam__read_end(db, rc);
}

/* Sets (value) or removes (NULL) one tag and re-evaluates compliance. */
static int tag_change(ipam *db, int64_t resource, const char *key,
		      const char *value, ipam_err *err)
{
	ipam_resource_info res;
	ipam_stmt *stmt;
	int rc = ipam__resource_load(db, resource, &res, err);

	if (rc)
		return rc;
	stmt = value ? ipam__stmt(db,
				  "INSERT INTO resource_tag(resource_key, key,"
				  " value) VALUES (?1, ?2, ?3) ON CONFLICT"
				  " (resource_key, key) DO UPDATE"
				  " SET value = excluded.value",
				  err)
		     : ipam__stmt(db,
				  "DELETE FROM resource_tag WHERE"
				  " resource_key = ?1 AND key = ?2",
				  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, resource);
	ipam__bind_text(stmt, 2, key, -1);
	if (value)
		ipam__bind_text(stmt, 3, value, -1);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	if (!value && ipam__changes(db) == 0)
		return ipam__fail(err, IPAM_ENOENT, "no tag '%.64s' on '%s'",
				  key, res.id);
	if ((rc = refresh_all(db, resource, false, err)))
		return rc;
	/* The Name tag is the name of a resource made by hand, as it is of
	 * a discovered one (L3371ff): ResourceName in JSON and history. */
	if (!strcmp(key, "Name") && !*res.discovery &&
	    (rc = set_field(db, resource, IPAM_RESOURCE_NAME,
			    value ? value : "", err)))
		return rc;
	return ipam__event(db, value ? "create-tags" : "delete-tags", res.id,
			   value ? json_pack("{s:o, s:o}", "key",
					     json_string(key), "value",
					     json_string(value))
				 : json_pack("{s:o}", "key", json_string(key)),
			   err);
}

int ipam_resource_tag_set(ipam *db, int64_t resource, const char *key,
			  const char *value, ipam_err *err)
{
	int rc = ipam__check_tag(key, value, err);
	if (rc || (rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(db, tag_change(db, resource, key, value, err),
			       err);
}

int ipam_resource_tag_remove(ipam *db, int64_t resource, const char *key,
			     ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, tag_change(db, resource, key, NULL, err),
			       err);
}

/* ---- discovered resources ---- */

/* Makes the resource's tags equal to rec's; 1 when something changed. */
static int sync_tags(ipam *db, int64_t resource, json_t *tags, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT key, value FROM resource_tag"
					" WHERE resource_key = ?1",
					err);
	size_t have = 0;
	bool same = true;
	const char *k;
	json_t *v;
	int step, rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, resource);
	while ((step = ipam__step(db, stmt, err)) == 1) {
		json_t *want =
			tags ? json_object_get(
				       tags, ipam__col_text(
						     stmt, 0))
			     : NULL;
		have++;
		if (!want || strcmp(json_string_value(want),
				    ipam__col_text(stmt, 1)))
			same = false;
	}
	ipam__reset(stmt);
	if (step < 0)
		return step;
	if (same && have == (tags ? json_object_size(tags) : 0))
		return 0;
	stmt = ipam__stmt(
		db, "DELETE FROM resource_tag WHERE resource_key = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, resource);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	json_object_foreach(tags, k, v)
	{
		stmt = ipam__stmt(db,
				  "INSERT INTO resource_tag(resource_key, key,"
				  " value) VALUES (?1, ?2, ?3)",
				  err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, resource);
		ipam__bind_text(stmt, 2, k, -1);
		ipam__bind_text(stmt, 3, json_string_value(v), -1);
		if ((rc = ipam__exec(db, stmt, err)))
			return rc;
	}
	return 1;
}

/* Updates the plain attributes; 1 when one of them changed. */
static int sync_fields(ipam *db, const ipam_resource_info *res,
		       const ipam__res_rec *rec, ipam_err *err)
{
	ipam_stmt *stmt;
	int rc;
	bool same = !strcmp(res->name, rec->name) &&
		    !strcmp(res->locale, rec->region) &&
		    !strcmp(res->owner, rec->owner) &&
		    !strcmp(res->vpc_id, rec->vpc_id) &&
		    res->has_active_ips == rec->has_active_ips &&
		    res->active_ips == rec->active_ips;
	if (same)
		return 0;
	stmt = ipam__stmt(db,
			  "UPDATE resource SET name = ?2, locale = ?3,"
			  " owner = ?4, vpc_id = ?5, active_ips = ?6"
			  " WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, res->key);
	ipam__bind_text(stmt, 2, rec->name, -1);
	ipam__bind_text(stmt, 3, rec->region, -1);
	ipam__bind_text(stmt, 4, rec->owner, -1);
	ipam__bind_text(stmt, 5, rec->vpc_id, -1);
	if (rec->has_active_ips)
		ipam__bind_u128(stmt, 6, rec->active_ips);
	else
		ipam__bind_null(stmt, 6);
	rc = ipam__exec(db, stmt, err);
	return rc ? rc : 1;
}

static bool rec_has(const ipam__res_rec *rec, const ipam_cidr *c)
{
	for (size_t i = 0; i < rec->ncidrs; i++)
		if (!ipam_cidr_compare(&rec->cidrs[i], c))
			return true;
	return false;
}

/* Removes the CIDRs rec no longer has and adds the new ones. */
static int sync_cidrs(ipam *db, const ipam_resource_info *res,
		      const ipam__res_rec *rec, int64_t **fresh, size_t *nfresh,
		      ipam_err *err)
{
	ipam_stmt *stmt =
		ipam__stmt(db,
			   "SELECT key, family, start, prefix FROM"
			   " resource_cidr WHERE resource_key = ?1 AND"
			   " (?2 = 0 OR alloc_key IS NULL)",
			   err);
	ipam_cidr *have = NULL;
	int64_t *keys = NULL;
	size_t n = 0;
	int rc = 0, step;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, res->key);
	/* a record that needs an address keeps what a pool gave it */
	ipam__bind_int(stmt, 2, rec->wants_address && rec->ncidrs == 0);
	while ((step = ipam__step(db, stmt, err)) == 1) {
		ipam_cidr *h = realloc(have, (n + 1) * sizeof(*h));
		int64_t *k = h ? realloc(keys, (n + 1) * sizeof(*k)) : NULL;
		if (h)
			have = h;
		if (!k) {
			step = ipam__fail(err, IPAM_ENOMEM, "out of memory");
			break;
		}
		keys = k;
		keys[n] = ipam__col_int64(stmt, 0);
		have[n].family = (uint8_t)ipam__col_int(stmt, 1);
		have[n].addr = ipam__blob_to_addr(stmt, 2);
		have[n].prefix = (uint8_t)ipam__col_int(stmt, 3);
		n++;
	}
	ipam__reset(stmt);
	if (step < 0)
		rc = step;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (!rec_has(rec, &have[i]))
			rc = rc_delete(db, res, keys[i], err);
	for (size_t i = 0; rc == 0 && i < rec->ncidrs; i++) {
		bool known = false;
		int64_t key, *grown;
		for (size_t j = 0; j < n && !known; j++)
			known = !ipam_cidr_compare(&have[j], &rec->cidrs[i]);
		if (known)
			continue;
		if ((rc = rc_insert(db, res, &rec->cidrs[i], 0, &key, err)))
			break;
		grown = realloc(*fresh, (*nfresh + 1) * sizeof(**fresh));
		if (!grown) {
			rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
			break;
		}
		*fresh = grown;
		(*fresh)[(*nfresh)++] = key;
	}
	free(have);
	free(keys);
	return rc;
}

int ipam__resource_apply(ipam *db, int64_t scope, int64_t discovery,
			 const ipam__res_rec *rec, int64_t *out_key,
			 int64_t **fresh, size_t *nfresh, ipam_err *err)
{
	ipam_resource_info res;
	ipam_stmt *stmt;
	int64_t key, owner = 0;
	int rc = resource_find(db, scope, rec->id, &key, NULL), changed;

	if (rc == 0) {
		stmt = ipam__stmt(
			db,
			"SELECT coalesce(discovery_key, 0) FROM resource"
			" WHERE key = ?1",
			err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, key);
		if (ipam__step(db, stmt, err) == 1)
			owner = ipam__col_int64(stmt, 0);
		ipam__reset(stmt);
		if (owner && owner != discovery)
			return ipam__fail(err, IPAM_EEXIST,
					  "resource '%s' is seen by another "
					  "discovery",
					  rec->id);
		if ((rc = ipam__resource_load(db, key, &res, err)))
			return rc;
		if (strcmp(res.type, rec->type)) {
			/* A new kind of thing under an old id: start over. */
			if ((rc = ipam__resource_remove(db, key, err)))
				return rc;
			owner = -1;
		}
	}
	if (rc == IPAM_ENOENT || owner == -1) {
		if ((rc = resource_insert(db, scope, discovery, rec->id,
					  rec->type, &key, err)))
			return rc;
	} else if (owner ==
		   0) { /* registered by hand: the discovery adopts it */
		stmt = ipam__stmt(db,
				  "UPDATE resource SET discovery_key = ?2"
				  " WHERE key = ?1",
				  err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, key);
		ipam__bind_int64(stmt, 2, discovery);
		if ((rc = ipam__exec(db, stmt, err)))
			return rc;
	}
	*out_key = key;
	/* Attributes and tags first, so that new CIDRs start their history
	 * with them; CIDRs already there are refreshed when they changed. */
	if ((rc = ipam__resource_load(db, key, &res, err)))
		return rc;
	if ((changed = sync_fields(db, &res, rec, err)) < 0 ||
	    (rc = ipam__public_sync(db, &res, rec, err)))
		return changed < 0 ? changed : rc;
	if ((rc = sync_tags(db, key, rec->tags, err)) < 0)
		return rc;
	if ((changed || rc) && (rc = refresh_all(db, key, changed != 0, err)))
		return rc;
	if ((rc = ipam__resource_load(db, key, &res, err)))
		return rc;
	return sync_cidrs(db, &res, rec, fresh, nfresh, err);
}
