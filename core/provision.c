/*
 * provision.c - provisioning CIDRs to pools and deprovisioning them
 * (L1996-L2070, L1407-L1438).
 *
 * A top-level pool takes any CIDR of its family that does not overlap its
 * other CIDRs nor those of the scope's other top-level pools (a scope is
 * one network's space, L211; in the private scope IPv6 must be ULA, or GUA once
 * enable-private-gua is on: L808, L842). A child pool's CIDR must lie free
 * inside a CIDR of its parent and obey the parent's netmask rules; it is
 * allocated in the parent (resource type "ipam-pool", named by the child's
 * id, or "<id>_<cidr>" for the child's further CIDRs) in the same
 * transaction. Deprovisioning is refused while anything is allocated inside.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The rules of the private scope for IPv6 (L806-L843). */
static int private_v6_check(ipam *db, const ipam_cidr *cidr, ipam_err *err)
{
	ipam_cidr ula = {.family = 6, .prefix = 8},
		  gua = {.family = 6, .prefix = 3};
	char text[IPAM_CIDR_STRLEN];
	ipam_info info;
	int rc;

	ula.addr = (ipam_u128)0xfd << 120;
	gua.addr = (ipam_u128)0x2 << 124;
	if (ipam_cidr_contains(&ula, cidr))
		return 0;
	ipam_cidr_format(cidr, text);
	if (!ipam_cidr_contains(&gua, cidr))
		return ipam__fail(err, IPAM_EINVAL,
				  "%s cannot be used in a private scope: IPv6 "
				  "must be ULA (fd00::/8) or GUA (2000::/3)",
				  text);
	if ((rc = ipam__info_load(db, &info, err)))
		return rc;
	if (!info.enable_private_gua)
		return ipam__fail(err, IPAM_EPERM,
				  "%s is a GUA CIDR: set ipam "
				  "enable-private-gua to use it in a private "
				  "scope",
				  text);
	return 0;
}

/* Refuses a CIDR that overlaps one of the pool's provisioned CIDRs. */
static int own_overlap_check(ipam *db, const ipam_pool_info *p,
			     const ipam_cidr *cidr, ipam_err *err)
{
	sqlite3_stmt *stmt = ipam__stmt(db,
					"SELECT start, prefix FROM pool_cidr"
					" WHERE pool_key = ?1 AND start <= ?2"
					" ORDER BY start DESC LIMIT 1",
					err);
	char a[IPAM_CIDR_STRLEN], b[IPAM_CIDR_STRLEN];
	ipam_cidr other;
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	sqlite3_bind_int64(stmt, 1, p->key);
	ipam__bind_addr(stmt, 2, ipam_cidr_last(cidr));
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		other.family = cidr->family;
		other.addr = ipam__blob_to_addr(stmt, 0);
		other.prefix = (uint8_t)sqlite3_column_int(stmt, 1);
		rc = 0;
		if (ipam_cidr_overlaps(&other, cidr)) {
			ipam_cidr_format(cidr, a);
			ipam_cidr_format(&other, b);
			rc = ipam__fail(err, IPAM_EADDRINUSE,
					"%s overlaps %s, already provisioned "
					"to pool '%s'",
					a, b, p->name);
		}
	}
	sqlite3_reset(stmt);
	return rc;
}

/*
 * Refuses a CIDR for a top-level pool that overlaps a CIDR of another
 * top-level pool of its scope: a scope is the space of one network (L211),
 * so one address cannot be provisioned twice in it. The CIDRs of the
 * scope's top-level pools are disjoint, so the one starting last at or
 * before the CIDR's end is the only one that can overlap it.
 */
static int scope_overlap_check(ipam *db, const ipam_pool_info *p,
			       const ipam_cidr *cidr, ipam_err *err)
{
	sqlite3_stmt *stmt = ipam__stmt(
		db,
		"SELECT c.start, c.prefix, o.name, s.name FROM pool_cidr c"
		" JOIN pool o ON o.key = c.pool_key"
		" JOIN scope s ON s.key = o.scope_key"
		" WHERE o.scope_key = ?1 AND o.parent_key IS NULL"
		" AND o.key != ?2 AND o.family = ?3 AND c.start <= ?4"
		" ORDER BY c.start DESC LIMIT 1",
		err);
	char a[IPAM_CIDR_STRLEN], b[IPAM_CIDR_STRLEN];
	char other_pool[IPAM_NAME_MAX + 1], scope[IPAM_NAME_MAX + 1];
	ipam_cidr other;
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	sqlite3_bind_int64(stmt, 1, p->scope_key);
	sqlite3_bind_int64(stmt, 2, p->key);
	sqlite3_bind_int(stmt, 3, cidr->family);
	ipam__bind_addr(stmt, 4, ipam_cidr_last(cidr));
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		other.family = cidr->family;
		other.addr = ipam__blob_to_addr(stmt, 0);
		other.prefix = (uint8_t)sqlite3_column_int(stmt, 1);
		ipam__copy_text(other_pool, sizeof(other_pool), stmt, 2);
		ipam__copy_text(scope, sizeof(scope), stmt, 3);
		rc = 0;
		if (ipam_cidr_overlaps(&other, cidr)) {
			ipam_cidr_format(cidr, a);
			ipam_cidr_format(&other, b);
			rc = ipam__fail(err, IPAM_EADDRINUSE,
					"cannot provision %s to pool '%s': it "
					"overlaps %s of pool "
					"'scopes/%s/pools/%s' (a scope is one "
					"network's address space)",
					a, p->name, b, scope, other_pool);
		}
	}
	sqlite3_reset(stmt);
	return rc;
}

/* Checks that do not depend on the parent. */
static int provision_checks(ipam *db, const ipam_pool_info *p,
			    const ipam_cidr *cidr, ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN];
	int64_t quota = 0, count = 0;
	sqlite3_stmt *stmt;
	int rc;

	ipam_cidr_format(cidr, text);
	if (cidr->family != p->family)
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot provision %s to pool '%s': the pool "
				  "is %s",
				  text, p->name,
				  p->family == 6 ? "ipv6" : "ipv4");
	if (cidr->family == 6 && cidr->prefix < 8)
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot provision %s: IPv6 CIDRs must be /8 "
				  "or longer",
				  text);
	if (!p->is_public && cidr->family == 6 && !p->parent_key &&
	    (rc = private_v6_check(db, cidr, err)))
		return rc;
	if (p->parent_key) { /* inside the source pool before anything else */
		ipam_cidr container;
		ipam_pool_info parent;
		rc = ipam__pool_cidr_containing(db, p->parent_key, cidr,
						&container, err);
		if (rc == 0 && (rc = ipam__pool_load(db, p->parent_key, &parent,
						     err)) == 0)
			return ipam__fail(
				err, IPAM_EADDRNOTAVAIL,
				"%s is not inside a CIDR of pool '%s'", text,
				parent.name);
		if (rc < 0)
			return rc;
	}
	if ((rc = ipam_quota_get(db, IPAM_QUOTA_CIDRS_PER_POOL, &quota, err)))
		return rc;
	stmt = ipam__stmt(db, "SELECT n_cidrs FROM pool WHERE key = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	sqlite3_bind_int64(stmt, 1, p->key);
	if (ipam__step(db, stmt, err) == 1)
		count = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (count >= quota)
		return ipam__fail(err, IPAM_EDQUOT,
				  "cannot provision %s: pool '%s' has %lld "
				  "CIDR%s (cidrs-per-pool quota)",
				  text, p->name, (long long)count,
				  count == 1 ? "" : "s");
	if ((rc = own_overlap_check(db, p, cidr, err)))
		return rc;
	return p->parent_key ? 0 : scope_overlap_check(db, p, cidr, err);
}

/* Takes the child's CIDR out of the parent; *alloc_key is the allocation. */
static int take_from_parent(ipam *db, const ipam_pool_info *p,
			    const ipam_cidr *cidr, int64_t *alloc_key,
			    ipam_err *err)
{
	char name[IPAM_NAME_MAX + 1], why[160];
	char text[IPAM_CIDR_STRLEN];
	ipam_pool_info parent;
	ipam_alloc_info got;
	int rc = ipam__pool_load(db, p->parent_key, &parent, err);

	if (rc)
		return rc;
	ipam__netmask_violation(&parent, cidr->prefix, why, sizeof(why));
	if (*why) {
		ipam_cidr_format(cidr, text);
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot provision %s from pool '%s': %s",
				  text, parent.name, why);
	}
	/* The child's id names its first block; later ones add the CIDR. */
	if ((rc = ipam__alloc_owner_name(db, parent.key, p->id, cidr, name,
					 err)))
		return rc;
	{
		ipam__alloc_spec spec = {
			.name = name,
			.cidr = cidr,
			.resource_type = "ipam-pool",
			.resource_id = p->id,
			.resource_region = p->locale,
			.check_rules = false,
		};
		rc = ipam__alloc(db, parent.key, &spec, &got, err);
	}
	if (rc == 0)
		*alloc_key = got.key;
	return rc;
}

static int provision(ipam *db, int64_t pool, const ipam_cidr *cidr,
		     ipam_err *err)
{
	char id[IPAM_ID_MAX], text[IPAM_CIDR_STRLEN];
	ipam_pool_info p;
	sqlite3_stmt *stmt;
	int64_t alloc_key = 0;
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc || (rc = provision_checks(db, &p, cidr, err)))
		return rc;
	if (p.parent_key &&
	    (rc = take_from_parent(db, &p, cidr, &alloc_key, err)))
		return rc;
	if ((rc = ipam__new_id(db, "ipam-pool-cidr-", true, id, err)))
		return rc;
	stmt = ipam__stmt(db,
			  "INSERT INTO pool_cidr(aws_id, pool_key, start,"
			  " prefix, created, parent_alloc)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, nullif(?6, 0))",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, pool);
	ipam__bind_addr(stmt, 3, cidr->addr);
	sqlite3_bind_int(stmt, 4, cidr->prefix);
	sqlite3_bind_int64(stmt, 5, ipam__now(db));
	sqlite3_bind_int64(stmt, 6, alloc_key);
	if ((rc = ipam__exec(db, stmt, err)) ||
	    (rc = ipam__free_add(db, pool, cidr, cidr->prefix, err)) ||
	    (rc = ipam__pool_count(db, pool, "total", ipam_cidr_size(cidr), +1,
				   err)))
		return rc;
	stmt = ipam__stmt(db,
			  "UPDATE pool SET n_cidrs = n_cidrs + 1,"
			  " family_locked = 1 WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	sqlite3_bind_int64(stmt, 1, pool);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	ipam_cidr_format(cidr, text);
	if ((rc = ipam__event(
		     db, "provision-ipam-pool-cidr", p.id,
		     json_pack("{s:s, s:s}", "cidr", text, "cidr-id", id),
		     err)))
		return rc;
	return ipam__auto_import_pool(db, pool, err);
}

int ipam_pool_provision(ipam *db, int64_t pool, const ipam_cidr *cidr,
			ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, provision(db, pool, cidr, err), err);
}

static int provision_len(ipam *db, int64_t pool, int prefix_len, ipam_cidr *out,
			 ipam_err *err)
{
	ipam_pool_info p, parent;
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc)
		return rc;
	if (!p.parent_key)
		return ipam__fail(err, IPAM_EINVAL,
				  "pool '%s' is a top-level pool: provision a "
				  "CIDR, not a netmask",
				  p.name);
	if (prefix_len < 0 || prefix_len > ipam_family_width(p.family))
		return ipam__fail(err, IPAM_EINVAL,
				  "netmask /%d is out of range for an %s pool",
				  prefix_len, p.family == 6 ? "ipv6" : "ipv4");
	if ((rc = ipam__pool_load(db, p.parent_key, &parent, err)) ||
	    (rc = ipam__alloc_find(db, &parent, prefix_len, out, err)))
		return rc;
	return provision(db, pool, out, err);
}

int ipam_pool_provision_len(ipam *db, int64_t pool, int prefix_len,
			    ipam_cidr *out, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(
		db, provision_len(db, pool, prefix_len, out, err), err);
}

/* Refuses while allocations lie inside `cidr`, naming up to three. */
static int busy_check(ipam *db, const ipam_pool_info *p, const ipam_cidr *cidr,
		      ipam_err *err)
{
	sqlite3_stmt *stmt = ipam__stmt(db,
					"SELECT name FROM allocation WHERE"
					" pool_key = ?1 AND start >= ?2 AND"
					" start <= ?3 ORDER BY start LIMIT 4",
					err);
	char names[160] = "", text[IPAM_CIDR_STRLEN];
	int n = 0, rc;

	if (!stmt)
		return ipam__stmt_error(err);
	sqlite3_bind_int64(stmt, 1, p->key);
	ipam__bind_addr(stmt, 2, cidr->addr);
	ipam__bind_addr(stmt, 3, ipam_cidr_last(cidr));
	while ((rc = ipam__step(db, stmt, err)) == 1) {
		size_t used = strlen(names);
		if (n++ == 3) {
			snprintf(names + used, sizeof(names) - used, ", ...");
			break;
		}
		snprintf(names + used, sizeof(names) - used, "%s'%.40s'",
			 n > 1 ? ", " : "", sqlite3_column_text(stmt, 0));
	}
	sqlite3_reset(stmt);
	if (rc < 0)
		return rc;
	if (n == 0)
		return 0;
	ipam_cidr_format(cidr, text);
	return ipam__fail(err, IPAM_EBUSY,
			  "cannot deprovision %s from pool '%s': allocations "
			  "%s are inside it",
			  text, p->name, names);
}

static int deprovision(ipam *db, int64_t pool, const ipam_cidr *cidr,
		       ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN], id[IPAM_ID_MAX];
	ipam_pool_info p;
	sqlite3_stmt *stmt;
	int64_t cidr_key = 0, parent_alloc = 0;
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc)
		return rc;
	ipam_cidr_format(cidr, text);
	stmt = ipam__stmt(db,
			  "SELECT key, ifnull(parent_alloc, 0), aws_id FROM"
			  " pool_cidr WHERE pool_key = ?1 AND start = ?2 AND"
			  " prefix = ?3",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	sqlite3_bind_int64(stmt, 1, pool);
	ipam__bind_addr(stmt, 2, cidr->addr);
	sqlite3_bind_int(stmt, 3, cidr->prefix);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		cidr_key = sqlite3_column_int64(stmt, 0);
		parent_alloc = sqlite3_column_int64(stmt, 1);
		ipam__copy_text(id, sizeof(id), stmt, 2);
	}
	sqlite3_reset(stmt);
	if (rc <= 0)
		return rc < 0 ? rc
			      : ipam__fail(err, IPAM_ENOENT,
					   "%s is not provisioned to pool "
					   "'%s'",
					   text, p.name);
	if (cidr->family != p.family)
		return ipam__fail(err, IPAM_EINVAL, "wrong address family");
	if ((rc = busy_check(db, &p, cidr, err)) ||
	    (rc = ipam__free_remove_exact(db, pool, cidr, err)))
		return rc;
	stmt = ipam__stmt(db, "DELETE FROM pool_cidr WHERE key = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	sqlite3_bind_int64(stmt, 1, cidr_key);
	if ((rc = ipam__exec(db, stmt, err)) ||
	    (rc = ipam__pool_count(db, pool, "total", ipam_cidr_size(cidr), -1,
				   err)))
		return rc;
	stmt = ipam__stmt(db,
			  "UPDATE pool SET n_cidrs = n_cidrs - 1"
			  " WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	sqlite3_bind_int64(stmt, 1, pool);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	if (parent_alloc && (rc = ipam__alloc_free(db, parent_alloc, err)))
		return rc;
	return ipam__event(db, "deprovision-ipam-pool-cidr", p.id,
			   json_pack("{s:s, s:s}", "cidr", text, "cidr-id", id),
			   err);
}

int ipam_pool_deprovision(ipam *db, int64_t pool, const ipam_cidr *cidr,
			  ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, deprovision(db, pool, cidr, err), err);
}

int ipam_pool_cidrs(ipam *db, int64_t pool, ipam_pool_cidr **out, size_t *count,
		    ipam_err *err)
{
	ipam_pool_info p;
	sqlite3_stmt *stmt;
	ipam_pool_cidr *list = NULL;
	size_t n = 0;
	int rc = ipam__read_begin(db, err), step = 0;

	*out = NULL;
	*count = 0;
	if (rc)
		return rc;
	if ((rc = ipam__pool_load(db, pool, &p, err)))
		return ipam__read_end(db, rc);
	stmt = ipam__stmt(db,
			  "SELECT start, prefix, aws_id, created FROM pool_cidr"
			  " WHERE pool_key = ?1 ORDER BY start",
			  err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	sqlite3_bind_int64(stmt, 1, pool);
	while (rc == 0 && (step = ipam__step(db, stmt, err)) == 1) {
		ipam_pool_cidr *grown = realloc(list, (n + 1) * sizeof(*list));
		if (!grown) {
			rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
			break;
		}
		list = grown;
		memset(&list[n], 0, sizeof(list[n]));
		list[n].cidr.family = (uint8_t)p.family;
		list[n].cidr.addr = ipam__blob_to_addr(stmt, 0);
		list[n].cidr.prefix = (uint8_t)sqlite3_column_int(stmt, 1);
		ipam__copy_text(list[n].id, sizeof(list[n].id), stmt, 2);
		snprintf(list[n].state, sizeof(list[n].state), "provisioned");
		list[n].created = sqlite3_column_int64(stmt, 3);
		n++;
	}
	sqlite3_reset(stmt);
	if (rc == 0 && step < 0)
		rc = step;
	if (rc) {
		free(list);
		return ipam__read_end(db, rc);
	}
	*out = list;
	*count = n;
	return ipam__read_end(db, 0);
}
