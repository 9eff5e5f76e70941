/*
 * watch.c - what IPAM watches: the overlap index of each scope, the status
 * of every resource CIDR (management, compliance, overlap; L2711-L2732) and
 * auto-import (L600-L610).
 *
 * Overlap index. The table scope_cidr holds, per scope, every CIDR that
 * takes part in overlap checks: the CIDRs of manageable resources (VPCs,
 * EIPs, public IPv4 pools) that are not ignored, and custom allocations.
 * A resource CIDR is overlapping when another entry of the same resource
 * type, or a custom allocation, shares an address with it (L2730). A subnet
 * never makes its VPC overlapping: subnets, instances and interfaces are not
 * in the index (their status is "-").
 *
 * The entries that intersect a CIDR c are found without a scan: those that
 * start inside c come from one range probe; those that contain c are its
 * ancestors, aligned blocks at c's address with a shorter prefix, probed
 * once for each prefix length that the scope actually holds (scope_prefix
 * counts them). A change therefore refreshes only the resource CIDRs it
 * intersects.
 *
 * Auto-import. A candidate is an unmanaged, monitored CIDR of a manageable
 * resource. Candidates are tried largest first, then by address, then by
 * resource id, so that among overlapping candidates the largest wins and
 * exact duplicates go to the lowest id; each goes to the deepest pool with
 * auto-import on, the resource's locale and the family, whose free space
 * holds the whole CIDR, and that the resource's owner may allocate from by
 * the pool's mode bits (resource_may_use): a pool's owner who turns
 * auto-import on cannot capture the resources of users it does not serve.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

typedef struct entry {
	char kind[24];
	int64_t owner;
} entry;

typedef struct entry_list {
	entry *items;
	size_t count, cap;
} entry_list;

static int entry_push(entry_list *list, const char *kind, int64_t owner)
{
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 16;
		entry *grown = realloc(list->items, cap * sizeof(*grown));
		if (!grown)
			return IPAM_ENOMEM;
		list->items = grown;
		list->cap = cap;
	}
	snprintf(list->items[list->count].kind, sizeof(list->items[0].kind),
		 "%s", kind);
	list->items[list->count].owner = owner;
	list->count++;
	return 0;
}

static ipam_u128 prefix_mask(int family, int prefix)
{
	int width = ipam_family_width(family);
	ipam_u128 all = width == 128 ? ~(ipam_u128)0
				     : (((ipam_u128)1 << 32) - 1);
	if (prefix == 0)
		return 0;
	return all & ~((((ipam_u128)1) << (width - prefix)) - 1);
}

/* Every index entry that shares an address with `c`. */
static int intersecting(ipam *db, int64_t scope, const ipam_cidr *c,
			entry_list *out, ipam_err *err)
{
	int prefixes[129], n = 0, rc, step;
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT prefix FROM scope_prefix WHERE"
					" scope_key = ?1 AND family = ?2 AND"
					" prefix < ?3 AND count > 0",
					err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, scope);
	ipam__bind_int(stmt, 2, c->family);
	ipam__bind_int(stmt, 3, c->prefix);
	while ((step = ipam__step(db, stmt, err)) == 1 && n < 129)
		prefixes[n++] = ipam__col_int(stmt, 0);
	ipam__reset(stmt);
	if (step < 0)
		return step;
	for (int i = 0; i < n; i++) {
		stmt = ipam__stmt(db,
				  "SELECT kind, owner FROM scope_cidr WHERE"
				  " scope_key = ?1 AND family = ?2 AND"
				  " start = ?3 AND prefix = ?4",
				  err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, scope);
		ipam__bind_int(stmt, 2, c->family);
		ipam__bind_addr(stmt, 3,
				c->addr & prefix_mask(c->family, prefixes[i]));
		ipam__bind_int(stmt, 4, prefixes[i]);
		rc = 0;
		while (rc == 0 && (step = ipam__step(db, stmt, err)) == 1)
			rc = entry_push(
				out, ipam__col_text(stmt, 0),
				ipam__col_int64(stmt, 1));
		ipam__reset(stmt);
		if (rc || step < 0)
			return rc ? ipam__fail(err, rc, "out of memory") : step;
	}
	stmt = ipam__stmt(db,
			  "SELECT kind, owner FROM scope_cidr WHERE"
			  " scope_key = ?1 AND family = ?2 AND start >= ?3 AND"
			  " start <= ?4 AND NOT (start = ?3 AND prefix < ?5)",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, scope);
	ipam__bind_int(stmt, 2, c->family);
	ipam__bind_addr(stmt, 3, c->addr);
	ipam__bind_addr(stmt, 4, ipam_cidr_last(c));
	ipam__bind_int(stmt, 5, c->prefix);
	rc = 0;
	while (rc == 0 && (step = ipam__step(db, stmt, err)) == 1)
		rc = entry_push(out, ipam__col_text(stmt, 0),
				ipam__col_int64(stmt, 1));
	ipam__reset(stmt);
	if (rc)
		return ipam__fail(err, rc, "out of memory");
	return step < 0 ? step : 0;
}

static int prefix_count(ipam *db, int64_t scope, const ipam_cidr *c, int delta,
			ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"INSERT INTO scope_prefix(scope_key, family, prefix, count)"
		" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (scope_key, family, prefix)"
		" DO UPDATE SET count = scope_prefix.count + excluded.count",
		err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, scope);
	ipam__bind_int(stmt, 2, c->family);
	ipam__bind_int(stmt, 3, c->prefix);
	ipam__bind_int(stmt, 4, delta);
	return ipam__exec(db, stmt, err);
}

/* Refreshes the resource CIDRs among the entries intersecting `c`. */
static int refresh_around(ipam *db, int64_t scope, const ipam_cidr *c,
			  ipam_err *err)
{
	entry_list list = {0};
	int rc = intersecting(db, scope, c, &list, err);
	for (size_t i = 0; rc == 0 && i < list.count; i++)
		if (ipam__rtype_of(list.items[i].kind) != IPAM__RT_CUSTOM)
			rc = ipam__rc_refresh(db, list.items[i].owner, err);
	free(list.items);
	return rc;
}

/* Binds ?1..?6 of a statement on one scope_cidr row. */
static void bind_entry(ipam_stmt *stmt, int64_t scope, const ipam_cidr *cidr,
		       const char *kind, int64_t owner)
{
	ipam__bind_int64(stmt, 1, scope);
	ipam__bind_cidr(stmt, 2, cidr);
	ipam__bind_text(stmt, 5, kind, -1);
	ipam__bind_int64(stmt, 6, owner);
}

int ipam__scope_cidr_add(ipam *db, int64_t scope, const ipam_cidr *cidr,
			 const char *kind, int64_t owner, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"INSERT INTO scope_cidr(scope_key,"
					" family, start, prefix, kind, owner)"
					" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
					err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	bind_entry(stmt, scope, cidr, kind, owner);
	if ((rc = ipam__exec(db, stmt, err)) ||
	    (rc = prefix_count(db, scope, cidr, +1, err)) ||
	    (rc = refresh_around(db, scope, cidr, err)))
		return rc;
	return ipam__rtype_of(kind) != IPAM__RT_CUSTOM
		       ? ipam__plist_rc(db, owner, err)
		       : 0;
}

/* For the bulk allocator (alloc_bulk.c): the scope_prefix count and the
 * refresh of the resource CIDRs around c, which ipam__scope_cidr_add does
 * for one entry. */
int ipam__scope_prefix_add(ipam *db, int64_t scope, const ipam_cidr *c,
			   int delta, ipam_err *err)
{
	return prefix_count(db, scope, c, delta, err);
}

int ipam__scope_refresh_around(ipam *db, int64_t scope, const ipam_cidr *c,
			       ipam_err *err)
{
	return refresh_around(db, scope, c, err);
}

int ipam__scope_cidr_remove(ipam *db, int64_t scope, const ipam_cidr *cidr,
			    const char *kind, int64_t owner, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"DELETE FROM scope_cidr WHERE"
					" scope_key = ?1 AND family = ?2 AND"
					" start = ?3 AND prefix = ?4 AND"
					" kind = ?5 AND owner = ?6",
					err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	bind_entry(stmt, scope, cidr, kind, owner);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	if (ipam__changes(db) == 0)
		return 0;
	if ((rc = prefix_count(db, scope, cidr, -1, err)) ||
	    ((ipam__rtype_of(kind) != IPAM__RT_CUSTOM) &&
	     (rc = ipam__plist_rc_gone(db, owner, err))))
		return rc;
	return refresh_around(db, scope, cidr, err);
}

/* ---- status of one resource CIDR ---- */

static const char *const compliance_words[] = {
	[IPAM__COMP_NONE] = "-",
	[IPAM__COMP_COMPLIANT] = "compliant",
	[IPAM__COMP_NONCOMPLIANT] = "noncompliant",
	[IPAM__COMP_UNMANAGED] = "unmanaged",
	[IPAM__COMP_IGNORED] = "ignored",
};

#define N_COMPLIANCE (sizeof(compliance_words) / sizeof(compliance_words[0]))

ipam__compliance ipam__compliance_of(const char *word)
{
	if (word)
		for (size_t i = 1; i < N_COMPLIANCE; i++)
			if (!strcmp(word, compliance_words[i]))
				return (ipam__compliance)i;
	return IPAM__COMP_NONE;
}

const char *ipam__compliance_name(ipam__compliance status)
{
	return (size_t)status < N_COMPLIANCE ? compliance_words[status] : "-";
}

typedef struct rc_row {
	int64_t key, resource, alloc, history;
	ipam_cidr cidr;
	ipam__compliance compliance;
	char reason[160], overlap[16];
	ipam_resource_info res;
} rc_row;

static int rc_load(ipam *db, int64_t key, rc_row *out, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT resource_key, family, start, prefix,"
		" coalesce(alloc_key, 0), compliance, reason, overlap,"
		" coalesce(history_key, 0) FROM resource_cidr WHERE key = ?1",
		err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		out->key = key;
		out->resource = ipam__col_int64(stmt, 0);
		out->cidr.family = (uint8_t)ipam__col_int(stmt, 1);
		out->cidr.addr = ipam__blob_to_addr(stmt, 2);
		out->cidr.prefix = (uint8_t)ipam__col_int(stmt, 3);
		out->alloc = ipam__col_int64(stmt, 4);
		out->compliance = ipam__compliance_of(ipam__col_text(stmt, 5));
		ipam__copy_text(out->reason, sizeof(out->reason), stmt, 6);
		ipam__copy_text(out->overlap, sizeof(out->overlap), stmt, 7);
		out->history = ipam__col_int64(stmt, 8);
		rc = 0;
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_ENOENT, "no such resource CIDR");
	}
	ipam__reset(stmt);
	if (rc == 0)
		rc = ipam__resource_load(db, out->resource, &out->res, err);
	return rc;
}

/* Is the resource CIDR `row` overlapping another entry of its scope? */
static int overlapping(ipam *db, const rc_row *row, bool *out, ipam_err *err)
{
	entry_list list = {0};
	int rc = intersecting(db, row->res.scope_key, &row->cidr, &list, err);
	*out = false;
	for (size_t i = 0; rc == 0 && i < list.count && !*out; i++) {
		const entry *e = &list.items[i];
		bool self = e->owner == row->key &&
			    !strcmp(e->kind, row->res.type);
		if (!self && (!strcmp(e->kind, row->res.type) ||
			      (ipam__rtype_of(e->kind) == IPAM__RT_CUSTOM)))
			*out = true;
	}
	free(list.items);
	return rc;
}

/* Why a managed CIDR breaks its pool's rules, or "" (L611-L616). */
static int evaluate(ipam *db, const rc_row *row, char *why, size_t size,
		    ipam_err *err)
{
	char tag[IPAM_TAG_KEY_MAX + IPAM_TAG_VALUE_MAX + 2];
	ipam_alloc_info a;
	ipam_pool_info p;
	int rc = ipam_alloc_get_by_key(db, row->alloc, &a, err);

	*why = '\0';
	if (rc || (rc = ipam__pool_load(db, a.pool_key, &p, err)))
		return rc;
	ipam__netmask_violation(&p, a.cidr.prefix, why, size);
	if (*why)
		return 0;
	/* a subnet's CIDR lies in its VPC's (L8955): one moved to another
	 * VPC since holds space its VPC does not have */
	if (*p.plan_vpc && strcmp(p.plan_vpc, row->res.vpc_id)) {
		snprintf(why, size,
			 "vpc-id '%.50s' is not VPC '%.50s' whose space the "
			 "pool plans",
			 *row->res.vpc_id ? row->res.vpc_id : "none",
			 p.plan_vpc);
		return 0;
	}
	if (*p.locale && strcmp(p.locale, row->res.locale)) {
		snprintf(why, size,
			 "locale '%.60s' is not the pool's locale '%.60s'",
			 *row->res.locale ? row->res.locale : "none", p.locale);
		return 0;
	}
	rc = ipam__rule_tag_missing(db, p.key, row->resource, tag, sizeof(tag),
				    err);
	if (rc < 0)
		return rc;
	/* A reason longer than `why` is cut, like every reason stored. */
	if (rc == 1 &&
	    snprintf(why, size, "missing required tag '%s'", tag) >= (int)size)
		why[size - 1] = '\0';
	return 0;
}

/* Mirrors a managed CIDR's compliance onto its allocation and pool. */
static int mirror(ipam *db, int64_t alloc, bool compliant, const char *why,
		  ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"UPDATE pool SET n_compliant = n_compliant + ?2,"
		" n_noncompliant = n_noncompliant - ?2 WHERE key ="
		" (SELECT pool_key FROM allocation WHERE key = ?1 AND"
		" compliant <> ?3)",
		err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, alloc);
	ipam__bind_int(stmt, 2, compliant ? 1 : -1);
	ipam__bind_int(stmt, 3, compliant);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	stmt = ipam__stmt(db,
			  "UPDATE allocation SET compliant = ?2, reason = ?3"
			  " WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, alloc);
	ipam__bind_int(stmt, 2, compliant);
	ipam__bind_text(stmt, 3, why, -1);
	return ipam__exec(db, stmt, err);
}

/* Stores a new status and starts the history record that goes with it. */
static int rc_store(ipam *db, rc_row *row, ipam__compliance compliance,
		    const char *why, const char *overlap, ipam_err *err)
{
	/* a subnet with a CIDR from a planning pool is managed too (it has
	 * a compliance status), but is never checked for overlap */
	bool overlap_checked = ipam_resource_type_manageable(row->res.type);
	bool manageable = overlap_checked || row->alloc;
	const char *vpc = ipam__rtype_of(row->res.type) == IPAM__RT_VPC
				  ? row->res.id
				  : row->res.vpc_id;
	ipam__hist_rec rec = {
		.scope_key = row->res.scope_key,
		.cidr = &row->cidr,
		.resource_id = row->res.id,
		.resource_type = row->res.type,
		.name = row->res.name,
		.owner = row->res.owner,
		.region = row->res.locale,
		.vpc_id = vpc,
		.compliance = manageable ? ipam__compliance_name(compliance)
					 : "",
		.overlap = overlap_checked ? overlap : "",
	};
	ipam_stmt *stmt;
	int64_t history = 0;
	int rc = ipam__history_close(db, row->history, err);

	if (rc || (rc = ipam__history_open(db, &rec, &history, err)))
		return rc;
	stmt = ipam__stmt(db,
			  "UPDATE resource_cidr SET compliance = ?2,"
			  " reason = ?3, overlap = ?4, history_key = ?5"
			  " WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, row->key);
	ipam__bind_text(stmt, 2, ipam__compliance_name(compliance), -1);
	ipam__bind_text(stmt, 3, why, -1);
	ipam__bind_text(stmt, 4, overlap, -1);
	ipam__bind_int64(stmt, 5, history);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	if (row->alloc)
		return mirror(db, row->alloc,
			      compliance == IPAM__COMP_COMPLIANT, why, err);
	return 0;
}

static int refresh(ipam *db, int64_t rc_key, bool restart, ipam_err *err)
{
	rc_row row;
	ipam__compliance compliance = IPAM__COMP_NONE;
	const char *overlap = "-";
	char why[160] = "";
	int rc = rc_load(db, rc_key, &row, err);

	if (rc)
		return rc;
	if (ipam_resource_type_manageable(row.res.type) || row.alloc) {
		if (row.res.ignored) {
			compliance = IPAM__COMP_IGNORED;
			overlap = "ignored";
		} else {
			bool over;
			/* a managed subnet is not in the overlap index: its
			 * pool keeps it apart from its VPC's other subnets */
			if (ipam_resource_type_manageable(row.res.type)) {
				if ((rc = overlapping(db, &row, &over, err)))
					return rc;
				overlap = over ? "overlapping"
					       : "nonoverlapping";
			}
			compliance = IPAM__COMP_UNMANAGED;
			if (row.alloc) {
				if ((rc = evaluate(db, &row, why, sizeof(why),
						   err)))
					return rc;
				compliance = *why ? IPAM__COMP_NONCOMPLIANT
						  : IPAM__COMP_COMPLIANT;
			}
		}
	}
	if (!restart && row.history && compliance == row.compliance &&
	    !strcmp(overlap, row.overlap) && !strcmp(why, row.reason))
		return 0;
	return rc_store(db, &row, compliance, why, overlap, err);
}

/* Prefix-list resolvers follow the resource CIDR too (its resource's
 * type, owner, region or tags may have changed). */
int ipam__rc_refresh(ipam *db, int64_t rc_key, ipam_err *err)
{
	int rc = refresh(db, rc_key, false, err);
	return rc ? rc : ipam__plist_rc(db, rc_key, err);
}

int ipam__rc_restart(ipam *db, int64_t rc_key, ipam_err *err)
{
	int rc = refresh(db, rc_key, true, err);
	return rc ? rc : ipam__plist_rc(db, rc_key, err);
}

/* ---- auto-import ---- */

typedef struct candidate {
	int64_t key;
	ipam_cidr cidr;
	char id[IPAM_RESOURCE_ID_MAX + 1];
} candidate;

static int candidate_order(const void *pa, const void *pb)
{
	const candidate *a = pa, *b = pb;
	if (a->cidr.prefix != b->cidr.prefix)
		return a->cidr.prefix < b->cidr.prefix ? -1 : 1;
	if (a->cidr.addr != b->cidr.addr)
		return a->cidr.addr < b->cidr.addr ? -1 : 1;
	return strcmp(a->id, b->id);
}

/*
 * The local uid a resource belongs to: its owner (ResourceOwnerId) when
 * that is a uid, as account ids are in ipamfs (/ipam/account-id defaults
 * to the IPAM owner's uid); otherwise (an AWS account number, or none) the
 * owner of the resource's scope.
 */
static int resource_uid(ipam *db, const ipam_resource_info *res, uint32_t *out,
			ipam_err *err)
{
	char *end = NULL;
	unsigned long long v = strtoull(res->owner, &end, 10);
	if (res->owner[0] >= '0' && res->owner[0] <= '9' && !*end &&
	    v <= UINT32_MAX) {
		*out = (uint32_t)v;
		return 0;
	}
	ipam_stmt *stmt =
		ipam__stmt(db, "SELECT uid FROM scope WHERE key = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, res->scope_key);
	int rc = ipam__step(db, stmt, err);
	*out = rc == 1 ? (uint32_t)ipam__col_int64(stmt, 0) : 0;
	ipam__reset(stmt);
	return rc < 0 ? rc : 0;
}

/* Whether uid is a member of gid (primary or supplementary, from the
 * system's user and group databases). */
static bool uid_in_group(uint32_t uid, uint32_t gid)
{
	struct passwd pw, *found = NULL;
	char text[4096];
	gid_t groups[256];
	int n = 256;
	if (getpwuid_r((uid_t)uid, &pw, text, sizeof(text), &found) || !found)
		return false;
	if (pw.pw_gid == gid)
		return true;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		n = 256; /* more groups than that: the first 256 */
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/*
 * Whether a resource owned by uid may be placed in a pool of owner pool_uid,
 * group pool_gid and mode `mode`: the write bit of the class uid falls in
 * (owner, group, other), as the kernel would check a write to its
 * `allocate`. Root is no exception: its resources go only to pools whose
 * bits let root's class write (its own pools by default).
 */
static bool resource_may_use(uint32_t uid, uint32_t pool_uid, uint32_t pool_gid,
			     unsigned mode)
{
	if (uid == pool_uid)
		return mode & 0200;
	if (uid_in_group(uid, pool_gid))
		return mode & 0020;
	return mode & 0002;
}

/*
 * The RAM rule for an explicit request (L563, L2289): the resource's owner
 * (resource_uid) must be allowed to use the pool by its mode bits, the same
 * rule as auto-import. IPAM_EACCES naming both when not.
 */
int ipam_resource_may_use_pool(ipam *db, int64_t resource, int64_t pool,
			       ipam_err *err)
{
	ipam_resource_info res;
	ipam_pool_info p;
	ipam_perm perm;
	uint32_t owner = 0;
	int rc = ipam__read_begin(db, err);

	if (rc)
		return rc;
	if ((rc = ipam__resource_load(db, resource, &res, err)) ||
	    (rc = ipam__pool_load(db, pool, &p, err)) ||
	    (rc = ipam_perm_get(db, p.id, &perm, err)) ||
	    (rc = resource_uid(db, &res, &owner, err)))
		return ipam__read_end(db, rc);
	if (!resource_may_use(owner, perm.uid, perm.gid, perm.mode))
		rc = ipam__fail(err, IPAM_EACCES,
				"resource '%.64s' is owned by uid %u, which "
				"may not use pool '%.64s' (its owner must be "
				"allowed to use the pool)",
				res.id, owner, p.name);
	return ipam__read_end(db, rc);
}

/* Gives one candidate to the deepest auto-import pool that can hold it. */
static int import_one(ipam *db, int64_t rc_key, ipam_err *err)
{
	char name[IPAM_NAME_MAX + 1];
	int64_t pools[64];
	size_t npools = 0;
	ipam_stmt *stmt;
	rc_row row;
	uint32_t owner = 0;
	int rc = rc_load(db, rc_key, &row, err), step;

	if (rc)
		return rc;
	if (row.alloc || row.res.ignored || !*row.res.locale ||
	    !ipam_resource_type_manageable(row.res.type))
		return 0;
	if ((rc = resource_uid(db, &row.res, &owner, err)))
		return rc;
	stmt = ipam__stmt(db,
			  "SELECT key, uid, gid, mode FROM pool WHERE"
			  " scope_key = ?1 AND auto_import = 1 AND family = ?2"
			  " AND locale = ?3 AND plan_vpc = ''"
			  " ORDER BY depth DESC, key LIMIT 64",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, row.res.scope_key);
	ipam__bind_int(stmt, 2, row.cidr.family);
	ipam__bind_text(stmt, 3, row.res.locale, -1);
	while ((step = ipam__step(db, stmt, err)) == 1)
		if (resource_may_use(owner,
				     (uint32_t)ipam__col_int64(stmt, 1),
				     (uint32_t)ipam__col_int64(stmt, 2),
				     (unsigned)ipam__col_int(stmt, 3)))
			pools[npools++] = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	if (step < 0)
		return step;
	for (size_t i = 0; i < npools; i++) {
		ipam_alloc_info got;
		ipam__alloc_spec spec = {
			.cidr = &row.cidr,
			.resource_type = ipam_resource_type_aws(
				row.res.type, IPAM_SHAPE_ALLOCATION),
			.resource_id = row.res.id,
			.resource_region = row.res.locale,
			.check_rules = false,
		};
		ipam_err quiet = {0};
		if ((rc = ipam__alloc_owner_name(db, pools[i], row.res.id,
						 &row.cidr, name, err)))
			return rc;
		spec.name = name;
		/* Space taken or outside the pool: not this pool (L601). */
		rc = ipam__alloc(db, pools[i], &spec, &got, &quiet);
		if (rc == IPAM_EADDRINUSE || rc == IPAM_EADDRNOTAVAIL)
			continue;
		if (rc)
			return ipam__fail(err, rc, "%s", quiet.msg);
		stmt = ipam__stmt(db,
				  "UPDATE resource_cidr SET alloc_key = ?2"
				  " WHERE key = ?1",
				  err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, rc_key);
		ipam__bind_int64(stmt, 2, got.key);
		if ((rc = ipam__exec(db, stmt, err)))
			return rc;
		return ipam__rc_refresh(db, rc_key, err);
	}
	return 0;
}

int ipam__auto_import(ipam *db, const int64_t *rc_keys, size_t count,
		      ipam_err *err)
{
	candidate *list;
	int rc = 0;

	if (count == 0)
		return 0;
	list = calloc(count, sizeof(*list));
	if (!list)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < count; i++) {
		rc_row row;
		if ((rc = rc_load(db, rc_keys[i], &row, err)))
			break;
		list[i].key = rc_keys[i];
		list[i].cidr = row.cidr;
		snprintf(list[i].id, sizeof(list[i].id), "%s", row.res.id);
	}
	if (rc == 0)
		qsort(list, count, sizeof(*list), candidate_order);
	for (size_t i = 0; rc == 0 && i < count; i++)
		rc = import_one(db, list[i].key, err);
	free(list);
	return rc;
}

/* Tries the candidates that intersect any of `cidrs` in `scope`. */
static int import_around(ipam *db, int64_t scope, const ipam_cidr *cidrs,
			 size_t n, ipam_err *err)
{
	entry_list found = {0};
	int64_t *keys = NULL;
	size_t nkeys = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = intersecting(db, scope, &cidrs[i], &found, err);
	if (rc == 0 && found.count) {
		keys = malloc(found.count * sizeof(*keys));
		if (!keys)
			rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	for (size_t i = 0; rc == 0 && i < found.count; i++)
		if (ipam__rtype_of(found.items[i].kind) != IPAM__RT_CUSTOM)
			keys[nkeys++] = found.items[i].owner;
	free(found.items);
	if (rc == 0)
		rc = ipam__auto_import(db, keys, nkeys, err);
	free(keys);
	return rc;
}

int ipam__auto_import_pool(ipam *db, int64_t pool, ipam_err *err)
{
	ipam_pool_info p;
	ipam_pool_cidr *cidrs = NULL;
	size_t n = 0;
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc || !p.auto_import || !*p.locale)
		return rc;
	if ((rc = ipam_pool_cidrs(db, pool, &cidrs, &n, err)))
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = import_around(db, p.scope_key, &cidrs[i].cidr, 1, err);
	free(cidrs);
	return rc;
}

int ipam__auto_import_freed(ipam *db, int64_t pool, const ipam_cidr *cidr,
			    ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT p.scope_key FROM pool p WHERE"
					" p.key = ?1 AND EXISTS (SELECT 1 FROM"
					" pool q WHERE q.scope_key ="
					" p.scope_key AND q.auto_import = 1)",
					err);
	int64_t scope = 0;
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	rc = ipam__step(db, stmt, err);
	if (rc == 1)
		scope = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	if (rc <= 0)
		return rc;
	return import_around(db, scope, cidr, 1, err);
}

int ipam__pool_refresh_resources(ipam *db, int64_t pool, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT rc.key FROM resource_cidr rc"
					" JOIN allocation a ON a.key ="
					" rc.alloc_key WHERE a.pool_key = ?1",
					err);
	int64_t *keys = NULL;
	size_t n = 0;
	int rc;

	if (stmt)
		ipam__bind_int64(stmt, 1, pool);
	rc = ipam__collect_keys(db, stmt, &keys, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = ipam__rc_refresh(db, keys[i], err);
	free(keys);
	return rc;
}
