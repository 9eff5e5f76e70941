/*
 * planning.c - resource planning (L8859-L8985): pools that plan the IP
 * space of a VPC, the subnets that take CIDRs from them, the clean-up
 * order, the cascade delete of a pool, and host records.
 *
 * A resource planning pool is a top-level pool whose source is a VPC
 * resource of its scope ("Plan IP space within a VPC", L8921): pool.plan_vpc
 * holds the VPC id. Its CIDRs must lie inside the VPC's CIDRs, and since the
 * VPC's space is already part of the scope's, they are checked for overlap
 * only against the planning pools of the same VPC (provision.c). Its child
 * pools, the subnet pools, copy plan_vpc at creation (pool.c): "the address
 * family, Resource planning configuration, and Locale are automatically
 * inherited from the source pool" (L8939). Only subnets of that VPC take
 * CIDRs from these pools, and only subnets take them: a subnet's CIDR is then
 * managed and compliance-checked like a VPC's (watch.c), and one whose
 * vpc-id later names another VPC is flagged noncompliant.
 *
 * The clean-up order (L8969-L8984) is enforced: a VPC whose space a pool
 * plans cannot be deleted, moved, or lose a CIDR a planning pool holds;
 * `delete-ipam-pool --cascade` (ipam_pool_delete_cascade) removes the
 * planning pool with its subnet pools and leaves the subnets with their
 * CIDRs, unmanaged (L8979).
 *
 * A host record is an allocation of one address (/32, /128) with an
 * optional DNS name and MAC address, validated and stored canonical.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- the VPC of a planning pool ---- */

/* Loads VPC `id` of `scope`: IPAM_ENOENT when absent, IPAM_EINVAL when it
 * is not a VPC. */
static int vpc_load(ipam *db, int64_t scope, const char *id,
		    ipam_resource_info *out, ipam_err *err)
{
	int64_t key = 0;
	int rc = ipam_resource_lookup(db, scope, id, &key, NULL);

	if (rc == IPAM_ENOENT)
		return ipam__fail(err, IPAM_ENOENT,
				  "no resource '%.80s' in the pool's scope", id);
	if (rc || (rc = ipam__resource_load(db, key, out, err)))
		return rc ? rc : IPAM_EIO;
	if (ipam__rtype_of(out->type) != IPAM__RT_VPC)
		return ipam__fail(err, IPAM_EINVAL,
				  "resource '%.80s' is a %s: a pool plans the "
				  "space of a VPC",
				  id, out->type);
	return 0;
}

/* The family of the VPC's CIDRs when they all have one, else 0. */
static int vpc_family(ipam *db, int64_t vpc, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT min(family), max(family) FROM"
					" resource_cidr WHERE resource_key = ?1",
					err);
	int family = 0;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, vpc);
	if (ipam__step(db, stmt, err) == 1 &&
	    ipam__col_int(stmt, 0) == ipam__col_int(stmt, 1))
		family = ipam__col_int(stmt, 0);
	ipam__reset(stmt);
	return family;
}

static int count_of(ipam *db, const char *sql, int64_t key, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, sql, err);
	int64_t n = -1;

	if (!stmt)
		return -1;
	ipam__bind_int64(stmt, 1, key);
	if (ipam__step(db, stmt, err) == 1)
		n = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	return n > 0 ? 1 : (int)n;
}

static int source_change(ipam *db, int64_t pool, const char *vpc_id,
			 ipam_err *err)
{
	ipam_resource_info vpc;
	ipam_pool_info p;
	ipam_stmt *stmt;
	int family, children, rc = ipam__pool_load(db, pool, &p, err);

	if (rc)
		return rc;
	if (!strcmp(vpc_id, p.plan_vpc))
		return 0;
	if (p.parent_key)
		return ipam__fail(err, IPAM_EPERM,
				  "pool '%s' inherits its resource planning "
				  "from its source pool (L8939)",
				  p.name);
	if (p.family_locked)
		return ipam__fail(err, IPAM_EPERM,
				  "pool '%s' has had a CIDR provisioned: its "
				  "source cannot change",
				  p.name);
	children = count_of(db, "SELECT count(*) FROM pool WHERE parent_key = ?1",
			    pool, err);
	if (children)
		return children < 0 ? IPAM_EIO
				    : ipam__fail(err, IPAM_EPERM,
						 "pool '%s' has child pools: "
						 "its source cannot change",
						 p.name);
	if (*vpc_id && p.auto_import)
		return ipam__fail(err, IPAM_EINVAL,
				  "pool '%s' has auto-import on: a pool that "
				  "plans a VPC's space serves its subnets only",
				  p.name);
	family = p.family;
	/* an import brings pools before resources: its document says the
	 * family and locale, and ipam__plan_import_verify checks the VPC */
	if (*vpc_id && db->importing &&
	    vpc_load(db, p.scope_key, vpc_id, &vpc, NULL) == IPAM_ENOENT) {
		memset(&vpc, 0, sizeof(vpc));
	} else if (*vpc_id) {
		if ((rc = vpc_load(db, p.scope_key, vpc_id, &vpc, err)))
			return rc;
		if (vpc.ignored)
			return ipam__fail(err, IPAM_EINVAL,
					  "VPC '%s' is ignored: set its "
					  "monitoring to monitored first",
					  vpc.id);
		if (*p.locale && strcmp(p.locale, vpc.locale))
			return ipam__fail(err, IPAM_EINVAL,
					  "VPC '%s' is in locale '%s', pool "
					  "'%s' in '%s': a planning pool takes "
					  "its VPC's locale",
					  vpc.id,
					  *vpc.locale ? vpc.locale : "none",
					  p.name, p.locale);
		if ((rc = vpc_family(db, vpc.key, err)) < 0)
			return rc;
		if (rc)
			family = rc;
	}
	stmt = ipam__stmt(db,
			  "UPDATE pool SET plan_vpc = ?2, family = ?3,"
			  " locale = CASE WHEN ?4 = '' THEN locale ELSE ?4 END"
			  " WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	ipam__bind_text(stmt, 2, vpc_id, -1);
	ipam__bind_int(stmt, 3, family);
	ipam__bind_text(stmt, 4, *vpc_id ? vpc.locale : "", -1);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return ipam__event(db, "modify-ipam-pool", p.id,
			   json_pack("{s:o}", "source-resource",
				     json_string(vpc_id)),
			   err);
}

int ipam_pool_set_source_resource(ipam *db, int64_t pool, const char *vpc_id,
				  ipam_err *err)
{
	int rc;

	if (!vpc_id)
		vpc_id = "";
	if (*vpc_id && ipam_resource_type_from_id(vpc_id) &&
	    ipam__rtype_of(ipam_resource_type_from_id(vpc_id)) != IPAM__RT_VPC)
		return ipam__fail(err, IPAM_EINVAL,
				  "'%.80s' is not a VPC id: a pool plans the "
				  "space of a VPC (vpc-...)",
				  vpc_id);
	/* a resource id is a file name (resource.c check_id) */
	if (*vpc_id && (rc = ipam_name_check(vpc_id, err)))
		return rc;
	if ((rc = ipam__check_text("source-resource", vpc_id,
				   IPAM_RESOURCE_ID_MAX, err)) ||
	    (rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(db, source_change(db, pool, vpc_id, err), err);
}

int ipam__plan_cidr_check(ipam *db, const ipam_pool_info *p,
			  const ipam_cidr *cidr, ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN];
	ipam_resource_info vpc;
	ipam_stmt *stmt;
	bool inside = false;
	int step, rc = vpc_load(db, p->scope_key, p->plan_vpc, &vpc, NULL);

	ipam_cidr_format(cidr, text);
	if (rc == IPAM_ENOENT && db->importing)
		return 0; /* ipam__plan_import_verify checks it at the end */
	if (rc)
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot provision %s to pool '%s': VPC '%s' "
				  "whose space it plans is gone",
				  text, p->name, p->plan_vpc);
	stmt = ipam__stmt(db,
			  "SELECT start, prefix FROM resource_cidr WHERE"
			  " resource_key = ?1 AND family = ?2",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, vpc.key);
	ipam__bind_int(stmt, 2, cidr->family);
	while (!inside && (step = ipam__step(db, stmt, err)) == 1) {
		ipam_cidr c = {.family = cidr->family};
		c.addr = ipam__blob_to_addr(stmt, 0);
		c.prefix = (uint8_t)ipam__col_int(stmt, 1);
		inside = ipam_cidr_contains(&c, cidr);
	}
	ipam__reset(stmt);
	if (!inside && step < 0)
		return step;
	if (!inside)
		return ipam__fail(err, IPAM_EADDRNOTAVAIL,
				  "cannot provision %s to pool '%s': it is not "
				  "inside a CIDR of VPC '%s' whose space the "
				  "pool plans",
				  text, p->name, vpc.id);
	return 0;
}

int ipam__plan_allocate_check(ipam *db, const ipam_resource_info *res,
			      const ipam_pool_info *p, ipam_err *err)
{
	bool subnet = ipam__rtype_of(res->type) == IPAM__RT_SUBNET;

	(void)db;
	if (!*p->plan_vpc) {
		if (ipam_resource_type_manageable(res->type))
			return 0;
		return ipam__fail(err, IPAM_EINVAL,
				  "resource '%s' is a %s: only VPCs, EIPs and "
				  "public IPv4 pools get CIDRs from pools%s",
				  res->id, res->type,
				  subnet ? ", subnets from pools that plan "
					   "their VPC's space"
					 : "");
	}
	if (!subnet)
		return ipam__fail(err, IPAM_EINVAL,
				  "pool '%s' plans the space of VPC '%s': only "
				  "its subnets get CIDRs from it, not a %s",
				  p->name, p->plan_vpc, res->type);
	if (strcmp(res->vpc_id, p->plan_vpc))
		return ipam__fail(err, IPAM_EINVAL,
				  "subnet '%s' is %s%s: pool '%s' plans the "
				  "space of VPC '%s' (write its vpc-id first)",
				  res->id, *res->vpc_id ? "in VPC " : "in no VPC",
				  res->vpc_id, p->name, p->plan_vpc);
	return 0;
}

int ipam__plan_vpc_busy(ipam *db, const ipam_resource_info *res,
			const ipam_cidr *cidr, const char *what,
			ipam_err *err)
{
	char name[IPAM_NAME_MAX + 1] = "", text[IPAM_CIDR_STRLEN] = "";
	ipam_stmt *stmt;
	int rc;

	if (ipam__rtype_of(res->type) != IPAM__RT_VPC)
		return 0;
	if (!cidr) {
		stmt = ipam__stmt(db,
				  "SELECT name FROM pool WHERE scope_key = ?1"
				  " AND plan_vpc = ?2 AND parent_key IS NULL"
				  " ORDER BY name LIMIT 1",
				  err);
	} else {
		stmt = ipam__stmt(db,
				  "SELECT o.name FROM pool_cidr c JOIN pool o"
				  " ON o.key = c.pool_key WHERE o.scope_key ="
				  " ?1 AND o.plan_vpc = ?2 AND o.parent_key IS"
				  " NULL AND o.family = ?3 AND c.start >= ?4"
				  " AND c.start <= ?5 ORDER BY o.name LIMIT 1",
				  err);
	}
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, res->scope_key);
	ipam__bind_text(stmt, 2, res->id, -1);
	if (cidr) {
		ipam__bind_int(stmt, 3, cidr->family);
		ipam__bind_addr(stmt, 4, cidr->addr);
		ipam__bind_addr(stmt, 5, ipam_cidr_last(cidr));
		ipam_cidr_format(cidr, text);
	}
	rc = ipam__step(db, stmt, err);
	if (rc == 1)
		ipam__copy_text(name, sizeof(name), stmt, 0);
	ipam__reset(stmt);
	if (rc != 1)
		return rc;
	return ipam__fail(err, IPAM_EBUSY,
			  "cannot %s %s%s%s: resource planning pool '%s' "
			  "plans %s; delete the pool first (cascade-delete "
			  "keeps the subnets)",
			  what, *text ? text : "VPC ", *text ? " of " : "",
			  res->id, name, *text ? "space in it" : "its space");
}

int ipam__plan_import_verify(ipam *db, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT key FROM pool WHERE plan_vpc"
					" <> '' AND parent_key IS NULL ORDER"
					" BY key",
					err);
	int64_t *pools = NULL;
	size_t n = 0;
	bool importing = db->importing;
	int rc = ipam__collect_keys(db, stmt, &pools, &n, err);

	db->importing = false;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		ipam_pool_cidr *cidrs = NULL;
		ipam_resource_info vpc;
		ipam_pool_info p;
		size_t count = 0;
		if ((rc = ipam__pool_load(db, pools[i], &p, err)) ||
		    (rc = vpc_load(db, p.scope_key, p.plan_vpc, &vpc, err)))
			break;
		rc = ipam_pool_cidrs(db, pools[i], &cidrs, &count, err);
		for (size_t j = 0; rc == 0 && j < count; j++)
			rc = ipam__plan_cidr_check(db, &p, &cidrs[j].cidr, err);
		free(cidrs);
		if (rc)
			ipam__fail(err, rc, "resource planning pool '%s'",
				   p.name);
	}
	db->importing = importing;
	free(pools);
	return rc;
}

/* ---- cascade delete ---- */

static int collect(ipam *db, const char *sql, int64_t key, int64_t **out,
		   size_t *n, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, sql, err);
	if (stmt)
		ipam__bind_int64(stmt, 1, key);
	return ipam__collect_keys(db, stmt, out, n, err);
}

static int cascade(ipam *db, int64_t pool, ipam_err *err)
{
	int64_t *keys = NULL;
	size_t n = 0;
	ipam_pool_cidr *cidrs = NULL;
	int rc;

	/* nothing freed below may be taken again by this pool */
	ipam_stmt *stmt = ipam__stmt(
		db, "UPDATE pool SET auto_import = 0 WHERE key = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	if ((rc = ipam__exec(db, stmt, err)) ||
	    (rc = collect(db,
			  "SELECT key FROM pool WHERE parent_key = ?1"
			  " ORDER BY name",
			  pool, &keys, &n, err)))
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = cascade(db, keys[i], err);
	free(keys);
	keys = NULL;
	if (rc || (rc = collect(db,
				"SELECT key FROM allocation WHERE pool_key ="
				" ?1 ORDER BY start",
				pool, &keys, &n, err)))
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		bool found = false;
		rc = ipam__resource_unmanage_alloc(db, keys[i], &found, err);
		if (rc == 0 && !found)
			rc = ipam__alloc_free(db, keys[i], err);
	}
	free(keys);
	if (rc)
		return rc;
	{
		ipam_stmt *c = ipam__stmt(db,
					     "SELECT start, prefix FROM"
					     " pool_cidr WHERE pool_key = ?1"
					     " ORDER BY start",
					     err);
		ipam_pool_info p;
		size_t count = 0;
		int step;
		if (!c)
			return ipam__stmt_error(err);
		if ((rc = ipam__pool_load(db, pool, &p, err)))
			return rc;
		ipam__bind_int64(c, 1, pool);
		while ((step = ipam__step(db, c, err)) == 1) {
			ipam_pool_cidr *grown =
				realloc(cidrs, (count + 1) * sizeof(*cidrs));
			if (!grown) {
				step = ipam__fail(err, IPAM_ENOMEM,
						  "out of memory");
				break;
			}
			cidrs = grown;
			memset(&cidrs[count], 0, sizeof(cidrs[count]));
			cidrs[count].cidr.family = (uint8_t)p.family;
			cidrs[count].cidr.addr = ipam__blob_to_addr(c, 0);
			cidrs[count].cidr.prefix =
				(uint8_t)ipam__col_int(c, 1);
			count++;
		}
		ipam__reset(c);
		rc = step < 0 ? step : 0;
		for (size_t i = 0; rc == 0 && i < count; i++)
			rc = ipam__pool_deprovision(db, pool, &cidrs[i].cidr,
						    err);
		free(cidrs);
	}
	return rc ? rc : ipam__pool_remove(db, pool, err);
}

static int cascade_top(ipam *db, int64_t pool, ipam_err *err)
{
	ipam_pool_info p;
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc || (rc = ipam__event(db, "delete-ipam-pool-cascade", p.id,
				    json_pack("{s:o}", "name",
					      json_string(p.name)),
				    err)))
		return rc;
	return cascade(db, pool, err);
}

int ipam_pool_delete_cascade(ipam *db, int64_t pool, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, cascade_top(db, pool, err), err);
}

/* ---- host records ---- */

/* RFC 1123 host name: labels of 1-63 letters, digits and '-' (not at either
 * end), separated by dots, 253 characters at most; one final dot is
 * dropped; stored lowercase. */
static int dns_name_check(const char *value, char *out, ipam_err *err)
{
	size_t len = strlen(value), label = 0;

	if (len && value[len - 1] == '.')
		len--;
	if (len > IPAM_DNS_NAME_MAX)
		return ipam__fail(err, IPAM_EINVAL,
				  "dns-name is %zu characters long: at most "
				  "%d",
				  len, IPAM_DNS_NAME_MAX);
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)value[i] : '.';
		if (c == '.') {
			if (label == 0 || value[i - 1] == '-')
				return ipam__fail(
					err, IPAM_EINVAL,
					"dns-name '%.80s': %s at offset %zu",
					value,
					label ? "a label ends with '-'"
					      : "an empty label",
					i);
			label = 0;
			if (i < len)
				out[i] = '.';
			continue;
		}
		if (!(isascii(c) && (isalnum(c) || c == '-')))
			return ipam__fail(err, IPAM_EINVAL,
					  "dns-name: byte 0x%02x at offset %zu "
					  "is not a letter, digit, '-' or '.'",
					  c, i);
		if (label == 0 && c == '-')
			return ipam__fail(err, IPAM_EINVAL,
					  "dns-name '%.80s': a label starts "
					  "with '-' at offset %zu",
					  value, i);
		if (++label > 63)
			return ipam__fail(err, IPAM_EINVAL,
					  "dns-name: a label is longer than 63 "
					  "characters (at offset %zu)",
					  i);
		out[i] = (char)tolower(c);
	}
	out[len] = '\0';
	return 0;
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* EUI-48 as six pairs separated by ':' or '-' (one separator throughout),
 * or three groups of four hex digits separated by '.' (0200.5e10.0001). */
static int mac_check(const char *value, char *out, ipam_err *err)
{
	unsigned char bytes[6];
	size_t len = strlen(value), nib = 0;
	char sep = 0;

	if (len == 17 && (value[2] == ':' || value[2] == '-'))
		sep = value[2];
	else if (len == 14 && value[4] == '.')
		sep = '.';
	else
		goto bad;
	for (size_t i = 0; i < len; i++) {
		bool at_sep = sep == '.' ? i % 5 == 4 : i % 3 == 2;
		int h = hex_value((unsigned char)value[i]);
		if (at_sep) {
			if (value[i] != sep)
				goto bad;
			continue;
		}
		if (h < 0)
			goto bad;
		if (nib % 2 == 0)
			bytes[nib / 2] = (unsigned char)(h << 4);
		else
			bytes[nib / 2] |= (unsigned char)h;
		nib++;
	}
	if (nib != 12)
		goto bad;
	snprintf(out, IPAM_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		 bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]);
	return 0;
bad:
	return ipam__fail(err, IPAM_EINVAL,
			  "mac-address '%.40s' is not an EUI-48 address "
			  "(02:00:5e:10:00:01, 02-00-5e-10-00-01 or "
			  "0200.5e10.0001)",
			  value);
}

int ipam_host_value_check(ipam_host_field field, const char *value, char *out,
			  ipam_err *err)
{
	int rc = ipam__check_utf8(field == IPAM_HOST_DNS_NAME ? "dns-name"
							     : "mac-address",
				  value, err);
	if (rc)
		return rc;
	if (!*value) {
		*out = '\0';
		return 0;
	}
	switch (field) {
	case IPAM_HOST_DNS_NAME:
		return dns_name_check(value, out, err);
	case IPAM_HOST_MAC_ADDRESS:
		return mac_check(value, out, err);
	}
	return ipam__fail(err, IPAM_EINVAL, "unknown host field");
}

static int host_change(ipam *db, int64_t pool, const char *name,
		       ipam_host_field field, const char *value,
		       ipam_err *err)
{
	static const char *const sql[] = {
		[IPAM_HOST_DNS_NAME] = "UPDATE allocation SET dns_name = ?2"
				       " WHERE key = ?1",
		[IPAM_HOST_MAC_ADDRESS] = "UPDATE allocation SET"
					  " mac_address = ?2 WHERE key = ?1",
	};
	static const char *const names[] = {
		[IPAM_HOST_DNS_NAME] = "dns-name",
		[IPAM_HOST_MAC_ADDRESS] = "mac-address",
	};
	ipam_alloc_info a;
	ipam_stmt *stmt;
	int rc = ipam_alloc_get(db, pool, name, &a, err);
	const char *old;

	if (rc)
		return rc;
	if (a.cidr.prefix != ipam_family_width(a.cidr.family)) {
		char text[IPAM_CIDR_STRLEN];
		ipam_cidr_format(&a.cidr, text);
		return ipam__fail(err, IPAM_EINVAL,
				  "allocation '%s' is %s: only a host "
				  "allocation (/32, /128) has a %s",
				  a.name, text, names[field]);
	}
	old = field == IPAM_HOST_DNS_NAME ? a.dns_name : a.mac_address;
	if (!strcmp(old, value))
		return 0;
	if (!(stmt = ipam__stmt(db, sql[field], err)))
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, a.key);
	ipam__bind_text(stmt, 2, value, -1);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return ipam__event(db, "modify-ipam-pool-allocation", a.id,
			   json_pack("{s:o, s:o}", "name", json_string(a.name),
				     names[field], json_string(value)),
			   err);
}

int ipam_alloc_set_host(ipam *db, int64_t pool, const char *name,
			ipam_host_field field, const char *value,
			ipam_err *err)
{
	char canon[IPAM_DNS_NAME_MAX + 1];
	int rc;

	if ((unsigned)field > IPAM_HOST_MAC_ADDRESS)
		return ipam__fail(err, IPAM_EINVAL, "unknown host field");
	if ((rc = ipam_host_value_check(field, value, canon, err)) ||
	    (rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(db,
			       host_change(db, pool, name, field, canon, err),
			       err);
}
