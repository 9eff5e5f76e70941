/*
 * transfer.c - move-byoip-cidr-to-ipam (L8336-L8713): a BYOIP IPv4 CIDR
 * that a public IPv4 pool holds outside IPAM moves into a top-level IPAM
 * pool of the public scope.
 *
 * Outside IPAM, the CIDR is an unmanaged CIDR of a `public-ipv4-pool`
 * resource (registered by hand or by a discovery). The move provisions it
 * to the pool and turns the public IPv4 pool's CIDR into a managed one: an
 * allocation of the whole CIDR of type ec2-public-ipv4-pool owned by the
 * public IPv4 pool (L8700-L8712). The Elastic IPs inside stay as they are
 * ("no impact on existing allocations", L8342). The CIDR's BYOIP
 * lifecycle record (byoip.c) is `provisioned` with method `transfer`: it
 * was proven when it was brought to EC2. The guide's states
 * pending-transfer -> complete-transfer collapse to the second: the move
 * is one transaction.
 *
 * Refused as the guide refuses: an IPv6 CIDR (L8338), a pool that is not
 * top-level (L8421), not of aws-service ec2 (L8425), of another locale
 * than the public IPv4 pool's Region (L8421).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* The public IPv4 pool of the scope holding `cidr` exactly: 1 with its key
 * and whether that CIDR is managed already, 0 none. */
static int holder(ipam *db, int64_t scope, const ipam_cidr *cidr, int64_t *key,
		  bool *managed, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT r.key, c.alloc_key IS NOT NULL FROM resource_cidr c"
		" JOIN resource r ON r.key = c.resource_key"
		" WHERE c.family = ?1 AND c.start = ?2 AND c.prefix = ?3"
		" AND r.scope_key = ?4 AND r.type = 'public-ipv4-pool'"
		" ORDER BY c.alloc_key IS NOT NULL LIMIT 1",
		err);
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_cidr(stmt, 1, cidr);
	ipam__bind_int64(stmt, 4, scope);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		*key = ipam__col_int64(stmt, 0);
		*managed = ipam__col_int(stmt, 1) != 0;
	}
	ipam__reset(stmt);
	return rc;
}

/* The guide's conditions on the target pool. */
static int target_check(const ipam_pool_info *p, const ipam_resource_info *res,
			const char *text, ipam_err *err)
{
	if (p->parent_key)
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot move %s to pool '%s': a BYOIP CIDR "
				  "moves only to a top-level pool (L8421)",
				  text, p->name);
	if (p->family != 4)
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot move %s to pool '%s': the pool is "
				  "ipv6",
				  text, p->name);
	if (strcmp(p->aws_service, "ec2"))
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot move %s to pool '%s': its "
				  "aws-service must be ec2 (L8425)",
				  text, p->name);
	if (strcmp(p->public_ip_source, "byoip"))
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot move %s to pool '%s': its "
				  "public-ip-source is %s, not byoip",
				  text, p->name, p->public_ip_source);
	if (strcmp(p->locale, res->locale))
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot move %s to pool '%s': the pool's "
				  "locale is '%s', public IPv4 pool '%s' is in "
				  "'%s' (L8421)",
				  text, p->name,
				  *p->locale ? p->locale : "none", res->id,
				  *res->locale ? res->locale : "none");
	return 0;
}

static int move(ipam *db, int64_t scope, const ipam_cidr *cidr,
		const char *pool_id, bool check_owner, ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN], id[IPAM_ID_MAX];
	ipam_scope_info sc;
	ipam_resource_info res;
	ipam_pool_info p;
	ipam_kind kind;
	int64_t pool = 0, res_key = 0;
	bool managed = false;
	int rc = ipam_scope_get_by_key(db, scope, &sc, err);

	if (rc)
		return rc;
	ipam_cidr_format(cidr, text);
	if (!sc.is_public)
		return ipam__fail(err, IPAM_EINVAL,
				  "BYOIP CIDRs move to pools of the public "
				  "scope, not of scope '%s'",
				  sc.name);
	if (cidr->family != 4)
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot move %s: an IPv6 CIDR cannot be "
				  "moved to IPAM (L8338)",
				  text);
	if (ipam_id_lookup(db, pool_id, &kind, &pool, NULL) ||
	    kind != IPAM_KIND_POOL)
		return ipam__fail(err, IPAM_EINVAL,
				  "'%.80s' is not the id of a pool", pool_id);
	if ((rc = ipam__pool_load(db, pool, &p, err)))
		return rc;
	if (p.scope_key != scope)
		return ipam__fail(err, IPAM_EINVAL,
				  "pool '%s' is not in scope '%s'", p.name,
				  sc.name);
	rc = holder(db, scope, cidr, &res_key, &managed, err);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return ipam__fail(err, IPAM_ENOENT,
				  "no public IPv4 pool of scope '%s' holds %s",
				  sc.name, text);
	if ((rc = ipam__resource_load(db, res_key, &res, err)))
		return rc;
	if (managed)
		return ipam__fail(err, IPAM_EEXIST,
				  "%s of public IPv4 pool '%s' is in IPAM "
				  "already",
				  text, res.id);
	if ((rc = target_check(&p, &res, text, err)) ||
	    (check_owner &&
	     (rc = ipam_resource_may_use_pool(db, res_key, pool, err))) ||
	    (rc = ipam__new_id(db, "ipam-pool-cidr-", true, id, err)) ||
	    (rc = ipam__provision(db, pool, cidr, id, err)) ||
	    (rc = ipam__byoip_move(db, &p, cidr, id, IPAM_BYOIP_PROVISIONED,
				   "transfer", NULL, err)) ||
	    (rc = ipam_resource_allocate(db, res_key, pool, cidr, -1, NULL,
					 err)))
		return rc;
	return ipam__event(db, "move-byoip-cidr-to-ipam", p.id,
			   json_pack("{s:s, s:s, s:s}", "cidr", text,
				     "public-ipv4-pool", res.id, "state",
				     "complete-transfer"),
			   err);
}

int ipam_byoip_move_to_ipam(ipam *db, int64_t scope, const ipam_cidr *cidr,
			    const char *pool_id, bool check_owner,
			    ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(
		db, move(db, scope, cidr, pool_id, check_owner, err), err);
}
