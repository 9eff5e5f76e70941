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

/* fd00::/8, the ULA space a private scope may use, and fd00::/16 inside
 * it, which Amazon reserves (L842, L1589). */
static const ipam_cidr ula_space = {
	.family = 6, .prefix = 8, .addr = (ipam_u128)0xfd << 120};
static const ipam_cidr ula_reserved = {
	.family = 6, .prefix = 16, .addr = (ipam_u128)0xfd00 << 112};

/* ULA netmasks a private pool may be given (L2018). */
enum { ULA_MIN_PREFIX = 9, ULA_MAX_PREFIX = 60 };

/* The ULA rules: inside fd00::/8, outside fd00::/16, /9 to /60. */
static int ula_check(const ipam_cidr *cidr, ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN];

	ipam_cidr_format(cidr, text);
	if (ipam_cidr_overlaps(&ula_reserved, cidr))
		return ipam__fail(err, IPAM_EINVAL,
				  "%s overlaps fd00::/16, the ULA range "
				  "Amazon reserves",
				  text);
	if (cidr->prefix < ULA_MIN_PREFIX || cidr->prefix > ULA_MAX_PREFIX)
		return ipam__fail(err, IPAM_EINVAL,
				  "%s: a private IPv6 ULA CIDR must be /%d to "
				  "/%d",
				  text, ULA_MIN_PREFIX, ULA_MAX_PREFIX);
	return 0;
}

/* The rules of the private scope for IPv6 (L806-L843). */
static int private_v6_check(ipam *db, const ipam_cidr *cidr, ipam_err *err)
{
	ipam_cidr gua = {.family = 6, .prefix = 3};
	char text[IPAM_CIDR_STRLEN];
	ipam_info info;
	int rc;

	gua.addr = (ipam_u128)0x2 << 124;
	if (ipam_cidr_contains(&ula_space, cidr))
		return ula_check(cidr, err);
	ipam_cidr_format(cidr, text);
	if (!ipam_cidr_contains(&gua, cidr))
		return ipam__fail(err, IPAM_EINVAL,
				  "%s cannot be used in a private scope: IPv6 "
				  "must be ULA (fd00::/8 outside fd00::/16) "
				  "or GUA (2000::/3)",
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

/*
 * The public scope holds globally routable space only: a CIDR that meets
 * one of the special-purpose ranges below (RFC 6890 and its IPv6 registry)
 * is refused with the range's name. The documentation ranges (192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) stay allowed: they exist
 * for examples and tests.
 */
static const struct {
	const char *cidr;
	const char *what;
} non_global[] = {
	{"0.0.0.0/8", "'this network' (RFC 791)"},
	{"10.0.0.0/8", "private-use (RFC 1918)"},
	{"100.64.0.0/10", "shared address space, CGNAT (RFC 6598)"},
	{"127.0.0.0/8", "loopback (RFC 1122)"},
	{"169.254.0.0/16", "link-local (RFC 3927)"},
	{"172.16.0.0/12", "private-use (RFC 1918)"},
	{"192.168.0.0/16", "private-use (RFC 1918)"},
	{"224.0.0.0/4", "multicast (RFC 5771)"},
	{"240.0.0.0/4", "reserved (RFC 1112)"},
	{"::/128", "the unspecified address (RFC 4291)"},
	{"::1/128", "loopback (RFC 4291)"},
	{"fc00::/7", "unique local, ULA (RFC 4193)"},
	{"fe80::/10", "link-local (RFC 4291)"},
	{"ff00::/8", "multicast (RFC 4291)"},
};

int ipam__public_space_check(const ipam_cidr *cidr, ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN];

	for (size_t i = 0; i < sizeof(non_global) / sizeof(non_global[0]);
	     i++) {
		ipam_cidr range;
		if (ipam_cidr_parse(&range, non_global[i].cidr, NULL) ||
		    !ipam_cidr_overlaps(&range, cidr))
			continue;
		ipam_cidr_format(cidr, text);
		return ipam__fail(err, IPAM_EINVAL,
				  "%s cannot be used in the public scope: it "
				  "overlaps %s, %s, which is not global space",
				  text, non_global[i].cidr, non_global[i].what);
	}
	return 0;
}

/*
 * BYOIP limits of the public scope for the top-level and Regional pools
 * (depth 1 and 2): IPv4 /24 or shorter (L5763), IPv6 /48 or shorter when
 * publicly advertisable and /60 or shorter when not (L6223). Pools below
 * a Regional pool may hold smaller blocks.
 */
static int byoip_check(const ipam_pool_info *p, const ipam_cidr *cidr,
		       ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN];
	int most = cidr->family == 4 ? 24 : p->publicly_advertisable ? 48 : 60;

	if (p->depth > 2 || strcmp(p->public_ip_source, "byoip") ||
	    cidr->prefix <= most)
		return 0;
	ipam_cidr_format(cidr, text);
	return ipam__fail(err, IPAM_EINVAL,
			  "cannot provision %s to pool '%s': the most "
			  "specific %s BYOIP CIDR is /%d",
			  text, p->name,
			  cidr->family == 4 ? "IPv4"
			  : p->publicly_advertisable
				  ? "publicly advertisable IPv6"
				  : "IPv6 (not publicly advertisable)",
			  most);
}

/* Refuses a CIDR that overlaps one of the pool's provisioned CIDRs. */
static int own_overlap_check(ipam *db, const ipam_pool_info *p,
			     const ipam_cidr *cidr, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT start, prefix FROM pool_cidr"
					" WHERE pool_key = ?1 AND start <= ?2"
					" ORDER BY start DESC LIMIT 1",
					err);
	char a[IPAM_CIDR_STRLEN], b[IPAM_CIDR_STRLEN];
	ipam_cidr other;
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, p->key);
	ipam__bind_addr(stmt, 2, ipam_cidr_last(cidr));
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		other.family = cidr->family;
		other.addr = ipam__blob_to_addr(stmt, 0);
		other.prefix = (uint8_t)ipam__col_int(stmt, 1);
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
	ipam__reset(stmt);
	return rc;
}

/*
 * Refuses a CIDR for a top-level pool that overlaps a CIDR of another
 * top-level pool of its scope: a scope is the space of one network (L211),
 * so one address cannot be provisioned twice in it. Resource planning pools
 * are apart: their space is a VPC's, already part of the scope's, and they
 * compete only with the planning pools of the same VPC ("each CIDR can be
 * assigned to one pool at a time", L8886). The CIDRs of the
 * scope's top-level pools are disjoint, so the one starting last at or
 * before the CIDR's end is the only one that can overlap it: a walk down
 * the index of top-level CIDRs (pool_cidr_top) from there, which passes
 * only other scopes' CIDRs, never every pool of the scope.
 */
static int scope_overlap_check(ipam *db, const ipam_pool_info *p,
			       const ipam_cidr *cidr, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT c.start, c.prefix, o.name, s.name FROM pool_cidr c"
		" CROSS JOIN pool o ON o.key = c.pool_key"
		" JOIN scope s ON s.key = o.scope_key"
		" WHERE c.parent_alloc IS NULL AND c.start <= ?4"
		" AND o.scope_key = ?1 AND o.parent_key IS NULL"
		" AND o.key != ?2 AND o.family = ?3 AND o.plan_vpc = ?5"
		" ORDER BY c.start DESC LIMIT 1",
		err);
	char a[IPAM_CIDR_STRLEN], b[IPAM_CIDR_STRLEN];
	char other_pool[IPAM_NAME_MAX + 1], scope[IPAM_NAME_MAX + 1];
	ipam_cidr other;
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, p->scope_key);
	ipam__bind_int64(stmt, 2, p->key);
	ipam__bind_int(stmt, 3, cidr->family);
	ipam__bind_addr(stmt, 4, ipam_cidr_last(cidr));
	ipam__bind_text(stmt, 5, p->plan_vpc, -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		other.family = cidr->family;
		other.addr = ipam__blob_to_addr(stmt, 0);
		other.prefix = (uint8_t)ipam__col_int(stmt, 1);
		ipam__copy_text(other_pool, sizeof(other_pool), stmt, 2);
		ipam__copy_text(scope, sizeof(scope), stmt, 3);
		rc = 0;
		if (ipam_cidr_overlaps(&other, cidr)) {
			ipam_cidr_format(cidr, a);
			ipam_cidr_format(&other, b);
			rc = ipam__fail(err, IPAM_EADDRINUSE,
					"cannot provision %s to pool '%s': it "
					"overlaps %s of pool "
					"'scopes/%s/pools/%s' (%s)",
					a, p->name, b, scope, other_pool,
					*p->plan_vpc
						? "each CIDR of a VPC is "
						  "planned by one pool at a "
						  "time"
						: "a scope is one network's "
						  "address space");
		}
	}
	ipam__reset(stmt);
	return rc;
}

/* Checks that do not depend on the parent. */
int ipam__provision_checks(ipam *db, const ipam_pool_info *p,
			   const ipam_cidr *cidr, ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN];
	int64_t quota = 0, count = 0;
	ipam_stmt *stmt;
	int rc;

	ipam_cidr_format(cidr, text);
	if (cidr->family != p->family)
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot provision %s to pool '%s': the pool "
				  "is %s",
				  text, p->name,
				  ipam_family_name(p->family));
	if (cidr->family == 6 && cidr->prefix < 8)
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot provision %s: IPv6 CIDRs must be /8 "
				  "or longer",
				  text);
	/* a resource planning pool takes the VPC's space, whatever it is */
	if (!p->is_public && cidr->family == 6 && !p->parent_key &&
	    !*p->plan_vpc && (rc = private_v6_check(db, cidr, err)))
		return rc;
	if (!p->parent_key && *p->plan_vpc &&
	    (rc = ipam__plan_cidr_check(db, p, cidr, err)))
		return rc;
	if (p->is_public && ((rc = ipam__public_space_check(cidr, err)) ||
			     (rc = byoip_check(p, cidr, err))))
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
	ipam__bind_int64(stmt, 1, p->key);
	if (ipam__step(db, stmt, err) == 1)
		count = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	if (count >= quota)
		return ipam__fail(err, IPAM_EDQUOT,
				  "cannot provision %s: pool '%s' has %lld "
				  "CIDR%s (cidrs-per-pool quota)",
				  text, p->name, (long long)count,
				  count == 1 ? "" : "s");
	if ((rc = own_overlap_check(db, p, cidr, err)) ||
	    (rc = ipam__byoip_overlap_check(db, p, cidr, err)))
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

int ipam__provision(ipam *db, int64_t pool, const ipam_cidr *cidr,
		    const char *given_id, ipam_err *err)
{
	char id[IPAM_ID_MAX], text[IPAM_CIDR_STRLEN];
	ipam_pool_info p;
	ipam_stmt *stmt;
	int64_t alloc_key = 0;
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc || (rc = ipam__provision_checks(db, &p, cidr, err)))
		return rc;
	if (p.parent_key &&
	    (rc = take_from_parent(db, &p, cidr, &alloc_key, err)))
		return rc;
	if (given_id)
		snprintf(id, sizeof(id), "%s", given_id);
	else if ((rc = ipam__new_id(db, "ipam-pool-cidr-", true, id, err)))
		return rc;
	stmt = ipam__stmt(db,
			  "INSERT INTO pool_cidr(aws_id, pool_key, start,"
			  " prefix, created, parent_alloc)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, nullif(?6, 0))",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, id, -1);
	ipam__bind_int64(stmt, 2, pool);
	ipam__bind_addr(stmt, 3, cidr->addr);
	ipam__bind_int(stmt, 4, cidr->prefix);
	ipam__bind_int64(stmt, 5, ipam__now(db));
	ipam__bind_int64(stmt, 6, alloc_key);
	if ((rc = ipam__exec(db, stmt, err)) ||
	    (rc = ipam__free_add(db, pool, cidr, cidr->prefix, err)) ||
	    (rc = ipam__pool_count(db, pool, IPAM__COUNT_TOTAL, ipam_cidr_size(cidr), +1,
				   err)))
		return rc;
	stmt = ipam__stmt(db,
			  "UPDATE pool SET n_cidrs = n_cidrs + 1,"
			  " family_locked = 1 WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
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

/* A CIDR typed by a user (typed) or restored by an import: an
 * amazon-source pool takes only netmasks from users (provider.c). */
static int provision_given(ipam *db, int64_t pool, const ipam_cidr *cidr,
			   bool typed, ipam_err *err)
{
	ipam_pool_info p;
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc || (rc = ipam__provider_check(db, &p, cidr, typed, err)))
		return rc;
	return ipam__provision(db, pool, cidr, NULL, err);
}

int ipam_pool_provision(ipam *db, int64_t pool, const ipam_cidr *cidr,
			ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, provision_given(db, pool, cidr, true, err),
			       err);
}

int ipam__pool_provision_restore(ipam *db, int64_t pool, const ipam_cidr *cidr,
				 ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, provision_given(db, pool, cidr, false, err),
			       err);
}

/* 1 when `cidr` shares an address with a CIDR provisioned to any pool of
 * the scope or with a resource CIDR of the scope, 0 when not. Scans the
 * scope's CIDRs of the family that start at or below `cidr`'s end: it is
 * called only to pick a ULA block by netmask, a rare command. */
static int scope_overlap(ipam *db, int64_t scope, const ipam_cidr *cidr,
			 ipam_err *err)
{
	static const char *const sql[] = {
		"SELECT c.start, c.prefix FROM pool_cidr c JOIN pool p ON"
		" p.key = c.pool_key WHERE p.scope_key = ?1 AND"
		" p.family = ?2 AND c.start <= ?3",
		"SELECT c.start, c.prefix FROM resource_cidr c JOIN resource r"
		" ON r.key = c.resource_key WHERE r.scope_key = ?1 AND"
		" c.family = ?2 AND c.start <= ?3",
	};
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < 2; i++) {
		ipam_stmt *stmt = ipam__stmt(db, sql[i], err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, scope);
		ipam__bind_int(stmt, 2, cidr->family);
		ipam__bind_addr(stmt, 3, ipam_cidr_last(cidr));
		while ((rc = ipam__step(db, stmt, err)) == 1) {
			ipam_cidr other = {.family = cidr->family};
			other.addr = ipam__blob_to_addr(stmt, 0);
			other.prefix = (uint8_t)ipam__col_int(stmt, 1);
			if (ipam_cidr_overlaps(&other, cidr))
				break;
		}
		ipam__reset(stmt);
	}
	return rc;
}

/*
 * "Add ULA CIDR by netmask" (L842): a block of /prefix_len under fd00::/8
 * with RFC 4193 pseudo-random bits (getrandom(2)) after fd, outside
 * fd00::/16 and meeting nothing provisioned or seen in the scope. Tries
 * up to 128 random draws, then ENOSPC.
 */
static int ula_pick(ipam *db, const ipam_pool_info *p, int prefix_len,
		    ipam_cidr *out, ipam_err *err)
{
	if (prefix_len < ULA_MIN_PREFIX || prefix_len > ULA_MAX_PREFIX)
		return ipam__fail(err, IPAM_EINVAL,
				  "/%d: a private IPv6 ULA CIDR must be /%d to "
				  "/%d",
				  prefix_len, ULA_MIN_PREFIX, ULA_MAX_PREFIX);
	for (int tries = 0; tries < 128; tries++) {
		ipam_u128 bits = 0, host;
		int rc;
		if ((rc = ipam__random(&bits, sizeof(bits), err)))
			return rc;
		host = ((ipam_u128)1 << (128 - prefix_len)) - 1;
		out->family = 6;
		out->prefix = (uint8_t)prefix_len;
		out->addr = ula_space.addr |
			    (bits & ~((ipam_u128)0xff << 120) & ~host);
		if (ipam_cidr_overlaps(&ula_reserved, out))
			continue;
		rc = scope_overlap(db, p->scope_key, out, err);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return 0;
	}
	return ipam__fail(err, IPAM_ENOSPC,
			  "no free ULA /%d found for pool '%s' outside "
			  "fd00::/16 and the scope's CIDRs",
			  prefix_len, p->name);
}

static int provision_len(ipam *db, int64_t pool, int prefix_len, ipam_cidr *out,
			 ipam_err *err)
{
	ipam_pool_info p, parent;
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc)
		return rc;
	if (ipam__pool_is_provider(&p)) {
		if ((rc = ipam__provider_pick(db, &p, prefix_len, out, err)))
			return rc;
		return ipam__provision(db, pool, out, NULL, err);
	}
	if (!p.parent_key && !p.is_public && p.family == 6) {
		if ((rc = ula_pick(db, &p, prefix_len, out, err)))
			return rc;
		return ipam__provision(db, pool, out, NULL, err);
	}
	if (!p.parent_key)
		return ipam__fail(err, IPAM_EINVAL,
				  "pool '%s' is a top-level pool: provision a "
				  "CIDR, not a netmask (only a private IPv6 "
				  "pool takes a ULA CIDR by netmask, an "
				  "amazon-source public pool a provider block)",
				  p.name);
	if (prefix_len < 0 || prefix_len > ipam_family_width(p.family))
		return ipam__fail(err, IPAM_EINVAL,
				  "netmask /%d is out of range for an %s pool",
				  prefix_len, ipam_family_name(p.family));
	if ((rc = ipam__pool_load(db, p.parent_key, &parent, err)) ||
	    (rc = ipam__alloc_find(db, &parent, prefix_len, out, err)))
		return rc;
	return ipam__provision(db, pool, out, NULL, err);
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
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT name FROM allocation WHERE"
					" pool_key = ?1 AND start >= ?2 AND"
					" start <= ?3 ORDER BY start LIMIT 4",
					err);
	char names[160] = "", text[IPAM_CIDR_STRLEN];
	int n = 0, rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, p->key);
	ipam__bind_addr(stmt, 2, cidr->addr);
	ipam__bind_addr(stmt, 3, ipam_cidr_last(cidr));
	while ((rc = ipam__step(db, stmt, err)) == 1) {
		size_t used = strlen(names);
		if (n++ == 3) {
			snprintf(names + used, sizeof(names) - used, ", ...");
			break;
		}
		snprintf(names + used, sizeof(names) - used, "%s'%.40s'",
			 n > 1 ? ", " : "", ipam__col_text(stmt, 0));
	}
	ipam__reset(stmt);
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

int ipam__pool_deprovision(ipam *db, int64_t pool, const ipam_cidr *cidr,
			   ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN], id[IPAM_ID_MAX];
	ipam_pool_info p;
	ipam_stmt *stmt;
	int64_t cidr_key = 0, parent_alloc = 0;
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc)
		return rc;
	ipam_cidr_format(cidr, text);
	stmt = ipam__stmt(db,
			  "SELECT key, coalesce(parent_alloc, 0), aws_id FROM"
			  " pool_cidr WHERE pool_key = ?1 AND start = ?2 AND"
			  " prefix = ?3",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	ipam__bind_addr(stmt, 2, cidr->addr);
	ipam__bind_int(stmt, 3, cidr->prefix);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		cidr_key = ipam__col_int64(stmt, 0);
		parent_alloc = ipam__col_int64(stmt, 1);
		ipam__copy_text(id, sizeof(id), stmt, 2);
	}
	ipam__reset(stmt);
	if (rc == 0 && ipam__byoip_pool(&p))
		return ipam__byoip_drop_unprovisioned(db, &p, cidr, err);
	if (rc <= 0)
		return rc < 0 ? rc
			      : ipam__fail(err, IPAM_ENOENT,
					   "%s is not provisioned to pool "
					   "'%s'",
					   text, p.name);
	if (cidr->family != p.family)
		return ipam__fail(err, IPAM_EINVAL, "wrong address family");
	if ((rc = busy_check(db, &p, cidr, err)) ||
	    (p.is_public &&
	     (rc = ipam__public_deprovision_check(db, &p, cidr, err))) ||
	    (rc = ipam__free_remove_exact(db, pool, cidr, err)))
		return rc;
	stmt = ipam__stmt(db, "DELETE FROM pool_cidr WHERE key = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, cidr_key);
	if ((rc = ipam__exec(db, stmt, err)) ||
	    (rc = ipam__pool_count(db, pool, IPAM__COUNT_TOTAL, ipam_cidr_size(cidr), -1,
				   err)))
		return rc;
	stmt = ipam__stmt(db,
			  "UPDATE pool SET n_cidrs = n_cidrs - 1"
			  " WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	if (parent_alloc && (rc = ipam__alloc_free(db, parent_alloc, err)))
		return rc;
	if ((rc = ipam__event(db, "deprovision-ipam-pool-cidr", p.id,
			      json_pack("{s:s, s:s}", "cidr", text, "cidr-id",
					id),
			      err)))
		return rc;
	return ipam__byoip_pool(&p) ? ipam__byoip_deprovisioned(db, &p, cidr,
								 id, err)
				    : 0;
}

int ipam_pool_deprovision(ipam *db, int64_t pool, const ipam_cidr *cidr,
			  ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, ipam__pool_deprovision(db, pool, cidr, err),
			       err);
}

int ipam_pool_cidrs(ipam *db, int64_t pool, ipam_pool_cidr **out, size_t *count,
		    ipam_err *err)
{
	ipam_pool_info p;
	ipam_stmt *stmt;
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
	ipam__bind_int64(stmt, 1, pool);
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
		list[n].cidr.prefix = (uint8_t)ipam__col_int(stmt, 1);
		ipam__copy_text(list[n].id, sizeof(list[n].id), stmt, 2);
		snprintf(list[n].state, sizeof(list[n].state), "provisioned");
		list[n].created = ipam__col_int64(stmt, 3);
		n++;
	}
	ipam__reset(stmt);
	if (rc == 0 && step < 0)
		rc = step;
	if (rc == 0 && ipam__byoip_pool(&p))
		rc = ipam__byoip_cidrs_add(db, &p, &list, &n, err);
	if (rc) {
		free(list);
		return ipam__read_end(db, rc);
	}
	*out = list;
	*count = n;
	return ipam__read_end(db, 0);
}
