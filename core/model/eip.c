/*
 * eip.c - Elastic IPs and public IPv4 pools of the public scope
 * (L6900-L6943, L9250-L9367): allocate-address, association, the release
 * order, and the views describe-addresses and describe-public-ipv4-pools.
 *
 * Both are resources (resource.c): an EIP is an `eip` resource holding one
 * /32, a public IPv4 pool a `public-ipv4-pool` resource holding the blocks
 * it got from a BYOIP pool (ipam_resource_allocate: an allocation of type
 * ec2-public-ipv4-pool, L6939). allocate-address makes a new `eipalloc-`
 * resource and gives it an address:
 *  - from an IPAM pool (an Amazon-provided contiguous block, L9263): a /32
 *    allocation of type eip (L9359-L9362), the pool's first free /32 with
 *    its first-fit strategy, so addresses come in sequence (L8990);
 *  - from a public IPv4 pool: the lowest /32 of its blocks that no EIP of
 *    the scope holds (an unmanaged CIDR of the EIP: IPAM sees the pool's
 *    block, not its addresses, L6932-L6943).
 * The search in a public IPv4 pool steps over the EIPs at the start of
 * each block, one indexed lookup each; a public IPv4 pool block is /24 or
 * smaller (L5991), so that is at most 256 lookups.
 *
 * An EIP is released (rmdir) only when unassociated (L9380-L9386); a
 * public IPv4 pool gives a block back only when no EIP is inside
 * (L7000-L7030).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int ipam__eip_association_check(const ipam_resource_info *res,
				const char *value, ipam_err *err)
{
	const char *type;
	ipam__rtype rt;

	if (ipam__rtype_of(res->type) != IPAM__RT_EIP)
		return ipam__fail(err, IPAM_EINVAL,
				  "association applies to Elastic IPs; "
				  "resource '%s' is a %s",
				  res->id, res->type);
	if (!*value)
		return 0;
	type = ipam_resource_type_from_id(value);
	rt = ipam__rtype_of(type);
	if ((rt != IPAM__RT_INSTANCE && rt != IPAM__RT_NETWORK_INTERFACE) ||
	    strspn(value,
		   "abcdefghijklmnopqrstuvwxyz"
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != strlen(value) ||
	    strlen(value) > IPAM_RESOURCE_ID_MAX)
		return ipam__fail(err, IPAM_EINVAL,
				  "an Elastic IP is associated with an "
				  "instance (i-...) or a network interface "
				  "(eni-...), not '%.64s'",
				  value);
	return 0;
}

int ipam__eip_block_check(const ipam_resource_info *res,
			  const ipam_pool_info *p, const ipam_cidr *block,
			  ipam_err *err)
{
	ipam__rtype type = ipam__rtype_of(res->type);
	bool eip = ipam__rtype_takes_eips(type);
	const char *what = type == IPAM__RT_EIP	  ? "Elastic IP"
			   : type == IPAM__RT_ALB ? "load balancer"
			   : type == IPAM__RT_RDS ? "RDS instance"
			   : type == IPAM__RT_NAT_GATEWAY ? "NAT gateway"
							  : "public IPv4 pool";

	if (!eip && type != IPAM__RT_PUBLIC_IPV4_POOL)
		return 0;
	if (!p->is_public || block->family != 4)
		return ipam__fail(err, IPAM_EINVAL,
				  "%s '%s' takes IPv4 space of the public "
				  "scope, not space of %s pool '%s'",
				  what, res->id,
				  p->is_public ? "IPv6" : "private", p->name);
	if (eip && block->prefix != 32)
		return ipam__fail(err, IPAM_EINVAL,
				  "%s '%s' takes one address (/32) at a time,"
				  " not a /%d",
				  what, res->id, block->prefix);
	if (!eip && block->prefix < 24)
		return ipam__fail(err, IPAM_EINVAL,
				  "public IPv4 pool '%s' takes /24 to /32 "
				  "(L5991), not a /%d",
				  res->id, block->prefix);
	return 0;
}

/* The first EIP of the scope inside `cidr`: 1 with its id and address. */
static int eip_inside(ipam *db, int64_t scope, const ipam_cidr *cidr,
		      ipam_u128 from, char id[IPAM_RESOURCE_ID_MAX + 1],
		      ipam_u128 *addr, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT r.resource_id, c.start FROM resource_cidr c"
		" JOIN resource r ON r.key = c.resource_key"
		" WHERE c.family = ?1 AND c.start >= ?2 AND c.start <= ?3"
		" AND r.scope_key = ?4 AND r.type = 'eip'"
		" ORDER BY c.start LIMIT 1",
		err);
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int(stmt, 1, cidr->family);
	ipam__bind_addr(stmt, 2, from);
	ipam__bind_addr(stmt, 3, ipam_cidr_last(cidr));
	ipam__bind_int64(stmt, 4, scope);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		if (id)
			ipam__copy_text(id, IPAM_RESOURCE_ID_MAX + 1, stmt, 0);
		if (addr)
			*addr = ipam__blob_to_addr(stmt, 1);
	}
	ipam__reset(stmt);
	return rc;
}

/* The CIDRs of resource `key`, IPv4 only, address order (*out malloc'd). */
static int v4_cidrs(ipam *db, int64_t key, ipam_cidr **out, size_t *count,
		    ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT start, prefix FROM"
					" resource_cidr WHERE resource_key = ?1"
					" AND family = 4 ORDER BY start",
					err);
	ipam_cidr *list = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	*count = 0;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	while ((rc = ipam__step(db, stmt, err)) == 1) {
		ipam_cidr *grown = realloc(list, (n + 1) * sizeof(*list));
		if (!grown) {
			rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
			break;
		}
		list = grown;
		list[n].family = 4;
		list[n].addr = ipam__blob_to_addr(stmt, 0);
		list[n].prefix = (uint8_t)ipam__col_int(stmt, 1);
		n++;
	}
	ipam__reset(stmt);
	if (rc < 0) {
		free(list);
		return rc;
	}
	*out = list;
	*count = n;
	return 0;
}

int ipam__eip_pool_busy(ipam *db, const ipam_resource_info *res,
			const ipam_cidr *cidr, ipam_err *err)
{
	char id[IPAM_RESOURCE_ID_MAX + 1], a[IPAM_CIDR_STRLEN];
	char b[IPAM_CIDR_STRLEN];
	ipam_cidr *list = NULL, one;
	size_t n = 0;
	int rc = 0;

	if (ipam__rtype_of(res->type) != IPAM__RT_PUBLIC_IPV4_POOL)
		return 0;
	if (cidr) {
		one = *cidr;
		list = &one;
		n = 1;
	} else if ((rc = v4_cidrs(db, res->key, &list, &n, err))) {
		return rc;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		ipam_cidr eip = {.family = list[i].family,
				 .prefix = list[i].family == 4 ? 32 : 128};
		rc = eip_inside(db, res->scope_key, &list[i], list[i].addr, id,
				&eip.addr, err);
		if (rc == 1) {
			ipam_cidr_format(&list[i], a);
			ipam_cidr_format(&eip, b);
			rc = ipam__fail(err, IPAM_EBUSY,
					"cannot deprovision %s from public "
					"IPv4 pool '%s': Elastic IP '%s' (%s) "
					"is inside it (release it first)",
					a, res->id, id, b);
		}
	}
	if (!cidr)
		free(list);
	return rc;
}

/* The lowest /32 of the public IPv4 pool's blocks no EIP holds, or the
 * given address when it is in a block and free. */
static int pool_address(ipam *db, const ipam_resource_info *pool,
			const ipam_cidr *want, ipam_cidr *out, ipam_err *err)
{
	char id[IPAM_RESOURCE_ID_MAX + 1], text[IPAM_CIDR_STRLEN];
	ipam_cidr *list = NULL;
	size_t n = 0;
	int rc = v4_cidrs(db, pool->key, &list, &n, err), found = 0;

	if (rc)
		return rc;
	out->family = 4;
	out->prefix = 32;
	for (size_t i = 0; rc == 0 && !found && i < n; i++) {
		ipam_u128 at = list[i].addr, taken = 0;
		if (want) {
			if (!ipam_cidr_contains(&list[i], want))
				continue;
			rc = eip_inside(db, pool->scope_key, want, want->addr,
					id, NULL, err);
			if (rc == 1)
				rc = ipam__fail(
					err, IPAM_EADDRINUSE,
					"%s is Elastic IP '%s' already",
					(ipam_cidr_format(want, text), text),
					id);
			out->addr = want->addr;
			found = rc == 0;
			break;
		}
		while ((rc = eip_inside(db, pool->scope_key, &list[i], at, NULL,
					&taken, err)) == 1 &&
		       taken == at && at < ipam_cidr_last(&list[i]))
			at++;
		if (rc == 1 && taken == at) /* the block is full */
			rc = 0;
		else if (rc >= 0) {
			out->addr = at;
			found = 1;
			rc = 0;
		}
	}
	free(list);
	if (rc)
		return rc;
	if (!found && want)
		return ipam__fail(err, IPAM_EADDRNOTAVAIL,
				  "%s is not in public IPv4 pool '%s'",
				  (ipam_cidr_format(want, text), text),
				  pool->id);
	if (!found)
		return ipam__fail(err, IPAM_ENOSPC,
				  "public IPv4 pool '%s' has no free address",
				  pool->id);
	return 0;
}

static int eip_allocate(ipam *db, int64_t scope, const char *source,
			const ipam_cidr *address, bool check_owner,
			char *out_id, ipam_cidr *out, ipam_err *err)
{
	ipam_scope_info sc;
	ipam_resource_info src;
	ipam_pool_info p;
	ipam_kind kind;
	int64_t key = 0, eip = 0;
	char id[IPAM_ID_MAX];
	bool from_pool = !strncmp(source, "ipam-pool-", 10);
	int rc = ipam_scope_get_by_key(db, scope, &sc, err);

	if (rc)
		return rc;
	if (!sc.is_public)
		return ipam__fail(err, IPAM_EINVAL,
				  "Elastic IPs are allocated in the public "
				  "scope, not in scope '%s'",
				  sc.name);
	if (address && (address->family != 4 || address->prefix != 32))
		return ipam__fail(err, IPAM_EINVAL,
				  "an Elastic IP is one IPv4 address (/32)");
	if (from_pool) {
		if (ipam_id_lookup(db, source, &kind, &key, NULL) ||
		    kind != IPAM_KIND_POOL ||
		    (rc = ipam__pool_load(db, key, &p, err)) ||
		    p.scope_key != scope)
			return rc ? rc
				  : ipam__fail(err, IPAM_EINVAL,
					       "'%.80s' is not a pool of the "
					       "public scope",
					       source);
		if (p.family != 4)
			return ipam__fail(err, IPAM_EINVAL,
					  "pool '%s' is ipv6: Elastic IPs "
					  "are IPv4",
					  p.name);
		if (!*p.locale)
			return ipam__fail(err, IPAM_EINVAL,
					  "pool '%s' has no locale: Elastic "
					  "IPs come from a pool with a locale "
					  "(L9263)",
					  p.name);
	} else if (!strncmp(source, "ipv4pool-ec2-", 13)) {
		if (ipam_resource_lookup(db, scope, source, &key, NULL) ||
		    (rc = ipam__resource_load(db, key, &src, err)) ||
		    ipam__rtype_of(src.type) != IPAM__RT_PUBLIC_IPV4_POOL)
			return rc ? rc
				  : ipam__fail(err, IPAM_EINVAL,
					       "'%.80s' is not a public IPv4 "
					       "pool of the public scope",
					       source);
		if ((rc = pool_address(db, &src, address, out, err)))
			return rc;
	} else {
		return ipam__fail(err, IPAM_EINVAL,
				  "allocate-address takes an IPAM pool id "
				  "(ipam-pool-...) or a public IPv4 pool id "
				  "(ipv4pool-ec2-...), not '%.80s'",
				  source);
	}
	if ((rc = ipam__new_id(db, "eipalloc-", false, id, err)) ||
	    (rc = ipam_resource_create(db, scope, id, "eip", &eip, err)) ||
	    (rc = ipam_resource_set(db, eip, IPAM_RESOURCE_LOCALE,
				    from_pool ? p.locale : src.locale, err)))
		return rc;
	if (from_pool && check_owner &&
	    (rc = ipam_resource_may_use_pool(db, eip, key, err)))
		return rc;
	rc = from_pool ? ipam_resource_allocate(db, eip, key, address,
						address ? -1 : 32, out, err)
		       : ipam_resource_cidr_add(db, eip, out, err);
	if (rc == 0)
		snprintf(out_id, IPAM_RESOURCE_ID_MAX + 1, "%s", id);
	return rc;
}

int ipam_eip_allocate(ipam *db, int64_t scope, const char *source,
		      const ipam_cidr *address, bool check_owner, char *out_id,
		      ipam_cidr *out, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db,
			       eip_allocate(db, scope, source, address,
					    check_owner, out_id, out, err),
			       err);
}

/* ---- views ---- */

static json_t *tags_of(ipam *db, int64_t resource)
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

static int dump_list(const char *member, json_t *list, char **out, size_t *len,
		     ipam_err *err)
{
	ipam__buf buf = {0};
	json_t *root = json_pack("{s:o}", member, list);
	char *text =
		root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)
		     : NULL;
	json_decref(root);
	if (!text)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	ipam__buf_printf(&buf, "%s\n", text);
	free(text);
	return ipam__buf_finish(&buf, out, len, err);
}

int ipam__eip_source(ipam *db, const ipam_resource_info *res, ipam_cidr *addr,
		     char *pool_id, size_t size, char *ip_source,
		     size_t src_size, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT c.family, c.start, c.prefix, coalesce(p.aws_id, ''),"
		" coalesce(p.public_ip_source, '') FROM resource_cidr c"
		" LEFT JOIN allocation a ON a.key = c.alloc_key"
		" LEFT JOIN pool p ON p.key = a.pool_key"
		" WHERE c.resource_key = ?1 ORDER BY c.family, c.start"
		" LIMIT 1",
		err);
	int rc;

	*pool_id = *ip_source = '\0';
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, res->key);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		addr->family = (uint8_t)ipam__col_int(stmt, 0);
		addr->addr = ipam__blob_to_addr(stmt, 1);
		addr->prefix = (uint8_t)ipam__col_int(stmt, 2);
		ipam__copy_text(pool_id, size, stmt, 3);
		ipam__copy_text(ip_source, src_size, stmt, 4);
	}
	ipam__reset(stmt);
	if (rc != 1 || *pool_id)
		return rc;
	/* not from an IPAM pool: the public IPv4 pool holding it, if any */
	stmt = ipam__stmt(db,
			  "SELECT r.resource_id, c.start, c.prefix FROM"
			  " resource_cidr c JOIN resource r"
			  " ON r.key = c.resource_key WHERE c.family = ?1"
			  " AND c.start <= ?2 AND r.scope_key = ?3"
			  " AND r.type = 'public-ipv4-pool'"
			  " ORDER BY c.start DESC LIMIT 1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int(stmt, 1, addr->family);
	ipam__bind_addr(stmt, 2, addr->addr);
	ipam__bind_int64(stmt, 3, res->scope_key);
	if ((rc = ipam__step(db, stmt, err)) == 1) {
		ipam_cidr block = {.family = addr->family};
		block.addr = ipam__blob_to_addr(stmt, 1);
		block.prefix = (uint8_t)ipam__col_int(stmt, 2);
		if (ipam_cidr_contains(&block, addr)) {
			ipam__copy_text(pool_id, size, stmt, 0);
			snprintf(ip_source, src_size, "byoip");
		}
	}
	ipam__reset(stmt);
	return rc < 0 ? rc : 1;
}

static json_t *address_json(ipam *db, const ipam_resource_info *res,
			    ipam_err *err, int *rc)
{
	char pool_id[IPAM_RESOURCE_ID_MAX + 1], src[16];
	char ip[IPAM_CIDR_STRLEN];
	ipam_cidr addr = {0};
	json_t *obj;

	*rc = ipam__eip_source(db, res, &addr, pool_id, sizeof(pool_id), src,
			       sizeof(src), err);
	if (*rc <= 0)
		return NULL;
	*rc = 0;
	ipam_cidr_format(&addr, ip);
	*strchr(ip, '/') = '\0';
	obj = json_object();
	json_object_set_new(obj, "AllocationId", json_string(res->id));
	if (!strncmp(res->association, "i-", 2))
		json_object_set_new(obj, "InstanceId",
				    json_string(res->association));
	if (!strncmp(res->association, "eni-", 4))
		json_object_set_new(obj, "NetworkInterfaceId",
				    json_string(res->association));
	json_object_set_new(obj, "Domain", json_string("vpc"));
	json_object_set_new(obj, "Tags", tags_of(db, res->key));
	json_object_set_new(obj, "PublicIpv4Pool",
			    json_string(*pool_id ? pool_id : "amazon"));
	if (*res->locale)
		json_object_set_new(obj, "NetworkBorderGroup",
				    json_string(res->locale));
	json_object_set_new(obj, "PublicIp", json_string(ip));
	return obj;
}

/* The keys of the scope's resources of `type`, by id. */
static int keys_of_type(ipam *db, int64_t scope, const char *type,
			int64_t **keys, size_t *n, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT key FROM resource WHERE"
					" scope_key = ?1 AND type = ?2"
					" ORDER BY resource_id",
					err);
	if (stmt) {
		ipam__bind_int64(stmt, 1, scope);
		ipam__bind_text(stmt, 2, type, -1);
	}
	return ipam__collect_keys(db, stmt, keys, n, err);
}

int ipam_render_addresses_json(ipam *db, int64_t scope, char **out, size_t *len,
			       ipam_err *err)
{
	int64_t *keys = NULL;
	size_t n = 0;
	json_t *list = json_array();
	int rc = ipam__read_begin(db, err);

	if (rc) {
		json_decref(list);
		return rc;
	}
	rc = keys_of_type(db, scope, "eip", &keys, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		ipam_resource_info res;
		json_t *obj;
		if ((rc = ipam__resource_load(db, keys[i], &res, err)))
			break;
		obj = address_json(db, &res, err, &rc);
		if (obj)
			json_array_append_new(list, obj);
	}
	free(keys);
	if (rc) {
		json_decref(list);
		return ipam__read_end(db, rc);
	}
	return ipam__read_end(db, dump_list("Addresses", list, out, len, err));
}

/* Counts the EIPs of the scope in `block` by walking the address index
 * over the block's range. */
static int eips_in(ipam *db, int64_t scope, const ipam_cidr *block,
		   int64_t *out, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT count(*) FROM resource_cidr c JOIN resource r"
		" ON r.key = c.resource_key WHERE c.family = ?1"
		" AND c.start >= ?2 AND c.start <= ?3 AND r.scope_key = ?4"
		" AND r.type = 'eip'",
		err);
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int(stmt, 1, block->family);
	ipam__bind_addr(stmt, 2, block->addr);
	ipam__bind_addr(stmt, 3, ipam_cidr_last(block));
	ipam__bind_int64(stmt, 4, scope);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		*out = ipam__col_int64(stmt, 0);
		rc = 0;
	}
	ipam__reset(stmt);
	return rc;
}

static int pool_json(ipam *db, const ipam_resource_info *res, json_t **out,
		     ipam_err *err)
{
	ipam_cidr *blocks = NULL;
	size_t n = 0;
	int64_t total = 0, avail = 0;
	json_t *ranges = json_array(), *obj;
	int rc = v4_cidrs(db, res->key, &blocks, &n, err);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		char first[IPAM_CIDR_STRLEN], last[IPAM_CIDR_STRLEN];
		ipam_cidr edge = {.family = 4, .prefix = 32};
		int64_t count = (int64_t)ipam_cidr_size(&blocks[i]), used = 0;
		if ((rc = eips_in(db, res->scope_key, &blocks[i], &used, err)))
			break;
		edge.addr = blocks[i].addr;
		ipam_cidr_format(&edge, first);
		edge.addr = ipam_cidr_last(&blocks[i]);
		ipam_cidr_format(&edge, last);
		*strchr(first, '/') = *strchr(last, '/') = '\0';
		json_array_append_new(
			ranges,
			json_pack("{s:s, s:s, s:I, s:I}", "FirstAddress", first,
				  "LastAddress", last, "AddressCount",
				  (json_int_t)count, "AvailableAddressCount",
				  (json_int_t)(count - used)));
		total += count;
		avail += count - used;
	}
	free(blocks);
	if (rc) {
		json_decref(ranges);
		return rc;
	}
	obj = json_object();
	json_object_set_new(obj, "PoolId", json_string(res->id));
	if (*res->name)
		json_object_set_new(obj, "Description", json_string(res->name));
	json_object_set_new(obj, "PoolAddressRanges", ranges);
	json_object_set_new(obj, "TotalAddressCount", json_integer(total));
	json_object_set_new(obj, "TotalAvailableAddressCount",
			    json_integer(avail));
	if (*res->locale)
		json_object_set_new(obj, "NetworkBorderGroup",
				    json_string(res->locale));
	json_object_set_new(obj, "Tags", tags_of(db, res->key));
	*out = obj;
	return 0;
}

int ipam_render_public_ipv4_pools_json(ipam *db, int64_t scope, char **out,
				       size_t *len, ipam_err *err)
{
	int64_t *keys = NULL;
	size_t n = 0;
	json_t *list = json_array();
	int rc = ipam__read_begin(db, err);

	if (rc) {
		json_decref(list);
		return rc;
	}
	rc = keys_of_type(db, scope, "public-ipv4-pool", &keys, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		ipam_resource_info res;
		json_t *obj = NULL;
		if ((rc = ipam__resource_load(db, keys[i], &res, err)) ||
		    (rc = pool_json(db, &res, &obj, err)))
			break;
		json_array_append_new(list, obj);
	}
	free(keys);
	if (rc) {
		json_decref(list);
		return ipam__read_end(db, rc);
	}
	return ipam__read_end(
		db, dump_list("PublicIpv4Pools", list, out, len, err));
}
