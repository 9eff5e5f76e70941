/*
 * provider.c - provider-supplied blocks: the local analogue of
 * "Amazon-provided" public space (L772-L838, L8986-L9401).
 *
 * AWS hands an Amazon-owned pool a block of its own space. Locally that
 * space is what the operator's upstream (an ISP, an RIR allocation, a lab
 * range) gave them: the set of provider CIDRs (/ipam/provider-cidrs). A
 * top-level public pool whose public-ip-source is `amazon` takes its CIDRs
 * only by netmask: the first aligned block of that length, in address
 * order, inside a provider CIDR and outside every CIDR provisioned to a
 * top-level pool of the public scope. The guide's limits hold (L838,
 * L9651-L9653): IPv4 /29 or /30, at most 2 such blocks in the IPAM
 * (contiguous EIP space); IPv6 /40 to /52, one block per Regional pool,
 * which must have a locale (L772).
 *
 * The set is small (an operator lists a handful of delegations) and the
 * search asks the scope's top-level CIDRs and its CIDRs pending provision,
 * which are disjoint (provision.c and byoip.c refuse overlaps in a scope),
 * for the one that can meet each candidate:
 * each step skips past one provisioned CIDR, so a pick costs one indexed
 * query per CIDR in its way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The block counts are quotas (/ipam/quotas/provider-ipv4-blocks, 2 per
 * IPAM, L9650; provider-ipv6-blocks-per-pool, 1 per Regional pool, L838,
 * L9653): the guide marks them adjustable. The netmask ranges are not: the
 * guide gives them as the acceptable sizes. */
enum {
	PROVIDER_V4_MIN = 29, /* L9651: between /29 and /30 */
	PROVIDER_V4_MAX = 30,
	PROVIDER_V6_MIN = 40, /* L838: between /40 and /52 */
	PROVIDER_V6_MAX = 52,
	PROVIDER_CIDRS_MAX = 1000,
};

bool ipam__pool_is_provider(const ipam_pool_info *p)
{
	return p->is_public && !p->parent_key &&
	       !strcmp(p->public_ip_source, "amazon");
}

int ipam_provider_cidrs_get(ipam *db, ipam_strlist *out, ipam_err *err)
{
	ipam_stmt *stmt;
	int rc = ipam__read_begin(db, err), step;

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "SELECT family, start, prefix FROM provider_cidr"
			  " ORDER BY family, start",
			  err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	while (rc == 0 && (step = ipam__step(db, stmt, err)) == 1) {
		char text[IPAM_CIDR_STRLEN];
		ipam_cidr c = {.family = (uint8_t)ipam__col_int(stmt, 0)};
		c.addr = ipam__blob_to_addr(stmt, 1);
		c.prefix = (uint8_t)ipam__col_int(stmt, 2);
		ipam_cidr_format(&c, text);
		rc = ipam__strlist_push(out, text);
	}
	ipam__reset(stmt);
	if (rc == 0 && step < 0)
		rc = step;
	if (rc)
		ipam_strlist_free(out);
	return ipam__read_end(db, rc);
}

static int cidr_order(const void *a, const void *b)
{
	const ipam_cidr *x = a, *y = b;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Parses and checks the new set: canonical CIDRs of global space, no two
 * meeting. *out is malloc'd, sorted. */
static int provider_parse(const char *const *items, size_t count,
			  ipam_cidr **out, ipam_err *err)
{
	ipam_cidr *list;
	char a[IPAM_CIDR_STRLEN], b[IPAM_CIDR_STRLEN];
	int rc = 0;

	*out = NULL;
	if (count > PROVIDER_CIDRS_MAX)
		return ipam__fail(err, IPAM_EINVAL,
				  "provider-cidrs: %zu CIDRs, at most %d",
				  count, PROVIDER_CIDRS_MAX);
	list = calloc(count ? count : 1, sizeof(*list));
	if (!list)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < count; i++) {
		rc = ipam_cidr_parse(&list[i], items[i], err);
		if (rc == 0)
			rc = ipam__public_space_check(&list[i], err);
	}
	if (rc == 0)
		qsort(list, count, sizeof(*list), cidr_order);
	for (size_t i = 1; rc == 0 && i < count; i++)
		if (ipam_cidr_overlaps(&list[i - 1], &list[i])) {
			ipam_cidr_format(&list[i - 1], a);
			ipam_cidr_format(&list[i], b);
			rc = ipam__fail(err, IPAM_EINVAL,
					"provider-cidrs: %s overlaps %s", b, a);
		}
	if (rc)
		free(list);
	else
		*out = list;
	return rc;
}

/* Refuses when a block an amazon-source pool holds would leave the set
 * (such blocks are few: two IPv4, one per Regional IPv6 pool). */
static int provider_in_use_check(ipam *db, const ipam_cidr *list, size_t count,
				 ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT c.start, c.prefix, p.family, p.name FROM pool_cidr c"
		" JOIN pool p ON p.key = c.pool_key"
		" JOIN scope s ON s.key = p.scope_key"
		" WHERE s.is_public = 1 AND p.parent_key IS NULL"
		" AND p.public_ip_source = 'amazon'",
		err);
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	while ((rc = ipam__step(db, stmt, err)) == 1) {
		char text[IPAM_CIDR_STRLEN];
		bool inside = false;
		ipam_cidr c = {.family = (uint8_t)ipam__col_int(stmt, 2)};
		c.addr = ipam__blob_to_addr(stmt, 0);
		c.prefix = (uint8_t)ipam__col_int(stmt, 1);
		for (size_t i = 0; !inside && i < count; i++)
			inside = ipam_cidr_contains(&list[i], &c);
		if (inside)
			continue;
		ipam_cidr_format(&c, text);
		rc = ipam__fail(err, IPAM_EBUSY,
				"provider-cidrs: %s of pool '%s' would no "
				"longer be inside a provider CIDR",
				text, ipam__col_text(stmt, 3));
		break;
	}
	ipam__reset(stmt);
	return rc;
}

static int provider_replace(ipam *db, const ipam_cidr *list, size_t count,
			    ipam_err *err)
{
	json_t *texts = json_array();
	ipam_info info;
	int rc = provider_in_use_check(db, list, count, err);

	if (rc == 0)
		rc = ipam__exec_sql(db, "DELETE FROM provider_cidr", err);
	for (size_t i = 0; rc == 0 && i < count; i++) {
		char text[IPAM_CIDR_STRLEN];
		ipam_stmt *stmt = ipam__stmt(
			db,
			"INSERT INTO provider_cidr(family, start, prefix)"
			" VALUES (?1, ?2, ?3)",
			err);
		if (!stmt) {
			rc = ipam__stmt_error(err);
			break;
		}
		ipam__bind_cidr(stmt, 1, &list[i]);
		rc = ipam__exec(db, stmt, err);
		ipam_cidr_format(&list[i], text);
		json_array_append_new(texts, json_string(text));
	}
	if (rc == 0 && (rc = ipam__info_load(db, &info, err)) == 0)
		return ipam__event(db, "modify-ipam", info.id,
				   json_pack("{s:o}", "provider-cidrs", texts),
				   err);
	json_decref(texts);
	return rc;
}

int ipam_provider_cidrs_set(ipam *db, const char *const *cidrs, size_t count,
			    ipam_err *err)
{
	ipam_cidr *list = NULL;
	int rc = provider_parse(cidrs, count, &list, err);

	if (rc)
		return rc;
	if ((rc = ipam__write_begin(db, err)) == 0)
		rc = ipam__write_end(db, provider_replace(db, list, count, err),
				     err);
	free(list);
	return rc;
}

/* Counts the blocks the limits count: IPv4 blocks of every amazon-source
 * pool of the IPAM, IPv6 blocks of this pool. */
static int provider_blocks(ipam *db, const ipam_pool_info *p, int64_t *out,
			   ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT count(*) FROM pool_cidr c JOIN pool p"
		" ON p.key = c.pool_key JOIN scope s ON s.key = p.scope_key"
		" WHERE s.is_public = 1 AND p.parent_key IS NULL"
		" AND p.public_ip_source = 'amazon' AND p.family = ?1"
		" AND (?1 = 4 OR p.key = ?2)",
		err);
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int(stmt, 1, p->family);
	ipam__bind_int64(stmt, 2, p->key);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		*out = ipam__col_int64(stmt, 0);
		rc = 0;
	}
	ipam__reset(stmt);
	return rc;
}

/* The guide's size, locale and count limits for a block of /len. */
static int provider_limits(ipam *db, const ipam_pool_info *p, int len,
			   ipam_err *err)
{
	bool v4 = p->family == 4;
	int min = v4 ? PROVIDER_V4_MIN : PROVIDER_V6_MIN;
	int max = v4 ? PROVIDER_V4_MAX : PROVIDER_V6_MAX;
	int64_t have = 0, limit = 0;
	int rc = ipam_quota_get(db,
				v4 ? IPAM_QUOTA_PROVIDER_V4_BLOCKS
				   : IPAM_QUOTA_PROVIDER_V6_BLOCKS,
				&limit, err);

	if (rc)
		return rc;
	if (len < min || len > max)
		return ipam__fail(err, IPAM_EINVAL,
				  "/%d: an Amazon-provided %s block of pool "
				  "'%s' must be /%d to /%d",
				  len, v4 ? "IPv4" : "IPv6", p->name, min, max);
	if (!v4 && !*p->locale)
		return ipam__fail(err, IPAM_EINVAL,
				  "pool '%s' has no locale: an Amazon-provided "
				  "IPv6 block goes to a Regional pool",
				  p->name);
	if ((rc = provider_blocks(db, p, &have, err)))
		return rc;
	if (have >= limit)
		return ipam__fail(
			err, IPAM_EDQUOT,
			v4 ? "pool '%s': the IPAM holds %lld Amazon-provided "
			     "contiguous IPv4 blocks already (quota "
			     "provider-ipv4-blocks: %lld)"
			   : "pool '%s' holds %lld Amazon-provided IPv6 "
			     "blocks already (quota "
			     "provider-ipv6-blocks-per-pool: %lld per "
			     "Regional pool)",
			p->name, (long long)have, (long long)limit);
	return 0;
}

/* The top-level public CIDR of the family that can meet `cand` (the one
 * starting last at or before its end): 1 and *out when it meets it. The
 * CIDRs pending provision (byoip.c) count: they hold no pool CIDR yet but
 * reserve their space, and are disjoint from the provisioned ones and
 * from each other as those are (ipam__byoip_overlap_check), so the one
 * starting last of the union is still the only one that can meet. */
static int scope_block_at(ipam *db, const ipam_pool_info *p,
			  const ipam_cidr *cand, ipam_cidr *out, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT start, prefix FROM (SELECT c.start, c.prefix"
		" FROM pool_cidr c JOIN pool o ON o.key = c.pool_key"
		" WHERE o.scope_key = ?1 AND o.parent_key IS NULL"
		" AND o.family = ?2 AND c.start <= ?3"
		" ORDER BY c.start DESC LIMIT 1) AS held"
		" UNION ALL SELECT start, prefix FROM (SELECT b.start,"
		" b.prefix FROM byoip_cidr b JOIN pool o ON o.key = b.pool_key"
		" WHERE o.scope_key = ?1 AND b.family = ?2 AND b.state = ?4"
		" AND b.start <= ?3 ORDER BY b.start DESC LIMIT 1) AS pending"
		" ORDER BY start DESC LIMIT 1",
		err);
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, p->scope_key);
	ipam__bind_int(stmt, 2, cand->family);
	ipam__bind_addr(stmt, 3, ipam_cidr_last(cand));
	ipam__bind_int(stmt, 4, IPAM_BYOIP_PENDING_PROVISION);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		out->family = cand->family;
		out->addr = ipam__blob_to_addr(stmt, 0);
		out->prefix = (uint8_t)ipam__col_int(stmt, 1);
		rc = ipam_cidr_overlaps(out, cand) ? 1 : 0;
	}
	ipam__reset(stmt);
	return rc;
}

/* The first free aligned /len inside provider CIDR `range`: 1 found. */
static int first_free_in(ipam *db, const ipam_pool_info *p,
			 const ipam_cidr *range, int len, ipam_cidr *out,
			 ipam_err *err)
{
	ipam_u128 size = (ipam_u128)1
			 << (ipam_family_width(range->family) - len);
	ipam_u128 end = ipam_cidr_last(range);
	ipam_cidr cand = {.family = range->family,
			  .addr = range->addr,
			  .prefix = (uint8_t)len};

	if (range->prefix > len)
		return 0;
	for (;;) {
		ipam_cidr taken;
		ipam_u128 next;
		int rc = scope_block_at(db, p, &cand, &taken, err);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			*out = cand;
			return 1;
		}
		next = ipam_cidr_last(&taken);
		if (next >= end)
			return 0;
		/* past the taken block, up to the next multiple of size */
		next = (next + 1 + size - 1) & ~(size - 1);
		if (next == 0 || next > end || next + (size - 1) > end)
			return 0;
		cand.addr = next;
	}
}

int ipam__provider_pick(ipam *db, const ipam_pool_info *p, int len,
			ipam_cidr *out, ipam_err *err)
{
	ipam_stmt *stmt;
	ipam_cidr *ranges = NULL;
	size_t n = 0;
	int rc = provider_limits(db, p, len, err), step = 0, found = 0;

	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "SELECT start, prefix FROM provider_cidr"
			  " WHERE family = ?1 ORDER BY start",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int(stmt, 1, p->family);
	while ((step = ipam__step(db, stmt, err)) == 1) {
		ipam_cidr *grown = realloc(ranges, (n + 1) * sizeof(*ranges));
		if (!grown) {
			step = ipam__fail(err, IPAM_ENOMEM, "out of memory");
			break;
		}
		ranges = grown;
		ranges[n].family = (uint8_t)p->family;
		ranges[n].addr = ipam__blob_to_addr(stmt, 0);
		ranges[n].prefix = (uint8_t)ipam__col_int(stmt, 1);
		n++;
	}
	ipam__reset(stmt);
	if (step < 0) {
		free(ranges);
		return step;
	}
	for (size_t i = 0; found == 0 && i < n; i++)
		found = first_free_in(db, p, &ranges[i], len, out, err);
	free(ranges);
	if (found < 0)
		return found;
	if (found == 0)
		return ipam__fail(err, IPAM_ENOSPC,
				  "no free /%d for pool '%s' in the provider "
				  "CIDRs (/ipam/provider-cidrs)%s",
				  len, p->name,
				  n ? "" : ": none is set for this family");
	return 0;
}

int ipam__provider_check(ipam *db, const ipam_pool_info *p,
			 const ipam_cidr *cidr, bool typed, ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN];
	ipam_stmt *stmt;
	int rc;

	if (!ipam__pool_is_provider(p))
		return 0;
	ipam_cidr_format(cidr, text);
	if (typed)
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot provision %s to pool '%s': its "
				  "public-ip-source is amazon, so it takes a "
				  "netmask (/LEN), not a CIDR",
				  text, p->name);
	if (cidr->family != p->family)
		return 0; /* provision_checks names it */
	if ((rc = provider_limits(db, p, cidr->prefix, err)))
		return rc;
	stmt = ipam__stmt(db,
			  "SELECT start, prefix FROM provider_cidr"
			  " WHERE family = ?1 AND start <= ?2"
			  " ORDER BY start DESC LIMIT 1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int(stmt, 1, cidr->family);
	ipam__bind_addr(stmt, 2, cidr->addr);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		ipam_cidr range = {.family = cidr->family};
		range.addr = ipam__blob_to_addr(stmt, 0);
		range.prefix = (uint8_t)ipam__col_int(stmt, 1);
		rc = ipam_cidr_contains(&range, cidr) ? 0 : 2;
	} else if (rc == 0)
		rc = 2;
	ipam__reset(stmt);
	if (rc == 2)
		rc = ipam__fail(err, IPAM_EADDRNOTAVAIL,
				"cannot provision %s to pool '%s': it is not "
				"inside a provider CIDR (/ipam/provider-cidrs)",
				text, p->name);
	return rc;
}
