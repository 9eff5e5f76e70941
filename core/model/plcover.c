/*
 * plcover.c - the resolved set of a prefix-list resolver, kept current
 * incrementally (docs/design/prefixlist.md).
 *
 * A resolver's inputs are its members: one row per static rule line,
 * allocation or resource CIDR that some rule of the resolver matches
 * (pl_member). Its entries (pl_entry) are the distinct members that lie
 * inside no other member: a CIDR listed twice is listed once, a CIDR
 * inside another is left out (a firewall set with intervals refuses
 * overlapping elements), and adjacent CIDRs are NOT merged -- the guide's
 * version 2 (L1166) lists 10.2.0.0/16 and 10.3.0.0/16 apart, as a
 * managed prefix list keeps the CIDRs it is given. Entries are disjoint, so
 * the entry containing an address is the one with the greatest start at
 * or below it.
 *
 * Adding or removing one member changes the entries in O(prefix length)
 * indexed steps (plus the entries it covers or the members it uncovers),
 * never in proportion to the size of the set. Every entry added or removed is
 * noted in pl_diff under the resolver's next version, netted (an entry
 * added then removed in one transaction leaves no trace); when the
 * transaction commits, ipam__plist_settle makes that version current only
 * if its diff is not empty. Older versions are the current set with the
 * later diffs undone.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "plist.h"

/* ---- CIDR steps ---- */

/* c cut to a shorter prefix p. */
static ipam_cidr truncated(const ipam_cidr *c, int p)
{
	ipam_cidr t = *c;
	int host = ipam_family_width(c->family) - p;
	if (host >= 128)
		t.addr = 0;
	else
		t.addr &= ~(((ipam_u128)1 << host) - 1);
	t.prefix = (uint8_t)p;
	return t;
}

static ipam_cidr col_cidr(ipam_stmt *stmt, int col)
{
	ipam_cidr c;
	c.family = (uint8_t)ipam__col_int(stmt, col);
	c.addr = ipam__blob_to_addr(stmt, col + 1);
	c.prefix = (uint8_t)ipam__col_int(stmt, col + 2);
	return c;
}

/* Runs a statement that returns CIDRs (family, start, prefix) into a
 * malloc'd array. */
static int collect_cidrs(ipam *db, ipam_stmt *stmt, ipam_cidr **out,
			 size_t *count, ipam_err *err)
{
	size_t cap = 0;
	int rc;
	*out = NULL;
	*count = 0;
	while ((rc = ipam__step(db, stmt, err)) == 1) {
		if (*count == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			ipam_cidr *grown = realloc(*out, ncap * sizeof(**out));
			if (!grown) {
				rc = ipam__fail(err, IPAM_ENOMEM,
						"out of memory");
				break;
			}
			*out = grown;
			cap = ncap;
		}
		(*out)[(*count)++] = col_cidr(stmt, 0);
	}
	ipam__reset(stmt);
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*count = 0;
		return rc;
	}
	return 0;
}

/* ---- entries and their diff ---- */

/* Notes that entry c was added (or removed) under the next version. */
static int diff_note(ipam *db, int64_t list, const ipam_cidr *c, bool added,
		     ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"DELETE FROM pl_diff WHERE list_key = ?1 AND version ="
		" (SELECT version + 1 FROM prefix_list WHERE key = ?1) AND"
		" family = ?2 AND start = ?3 AND prefix = ?4 AND added = ?5",
		err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, list);
	ipam__bind_cidr(stmt, 2, c);
	ipam__bind_int(stmt, 5, !added);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	if (ipam__changes(db) == 0) {
		stmt = ipam__stmt(db,
				  "INSERT INTO pl_diff(list_key, version,"
				  " family, start, prefix, added) SELECT ?1,"
				  " version + 1, ?2, ?3, ?4, ?5 FROM"
				  " prefix_list WHERE key = ?1",
				  err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, list);
		ipam__bind_cidr(stmt, 2, c);
		ipam__bind_int(stmt, 5, added);
		if ((rc = ipam__exec(db, stmt, err)))
			return rc;
	}
	stmt = ipam__stmt(db,
			  "UPDATE prefix_list SET dirty = 1 WHERE key = ?1"
			  " AND dirty = 0",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, list);
	return ipam__exec(db, stmt, err);
}

static int entry_put(ipam *db, int64_t list, const ipam_cidr *c, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"INSERT INTO pl_entry(list_key, family,"
					" start, prefix) VALUES (?1, ?2, ?3,"
					" ?4)",
					err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, list);
	ipam__bind_cidr(stmt, 2, c);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return diff_note(db, list, c, true, err);
}

static int entry_del(ipam *db, int64_t list, const ipam_cidr *c, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"DELETE FROM pl_entry WHERE list_key ="
					" ?1 AND family = ?2 AND start = ?3 AND"
					" prefix = ?4",
					err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, list);
	ipam__bind_cidr(stmt, 2, c);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return diff_note(db, list, c, false, err);
}

/* 1 with *out = the entry containing address c->addr, 0 when none. */
static int entry_at(ipam *db, int64_t list, const ipam_cidr *c, ipam_cidr *out,
		    ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT family, start, prefix FROM"
					" pl_entry WHERE list_key = ?1 AND"
					" family = ?2 AND start <= ?3 ORDER BY"
					" start DESC LIMIT 1",
					err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, list);
	ipam__bind_int(stmt, 2, c->family);
	ipam__bind_addr(stmt, 3, c->addr);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		*out = col_cidr(stmt, 0);
		if (!ipam_cidr_contains(out, c) &&
		    !(out->addr == c->addr && out->prefix == c->prefix))
			rc = 0;
	}
	ipam__reset(stmt);
	return rc;
}

static int entry_is(ipam *db, int64_t list, const ipam_cidr *c, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT 1 FROM pl_entry WHERE list_key"
					" = ?1 AND family = ?2 AND start = ?3"
					" AND prefix = ?4",
					err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, list);
	ipam__bind_cidr(stmt, 2, c);
	rc = ipam__step(db, stmt, err);
	ipam__reset(stmt);
	return rc;
}

/* Member c is new: unless an entry holds it already, it replaces the
 * entries inside it. */
static int cover_add(ipam *db, int64_t list, const ipam_cidr *c, ipam_err *err)
{
	ipam_cidr held, *inside = NULL;
	size_t n = 0;
	int rc = entry_at(db, list, c, &held, err);
	if (rc)
		return rc < 0 ? rc : 0; /* already covered */
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT family, start, prefix FROM"
					" pl_entry WHERE list_key = ?1 AND"
					" family = ?2 AND start >= ?3 AND"
					" start <= ?4",
					err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, list);
	ipam__bind_int(stmt, 2, c->family);
	ipam__bind_addr(stmt, 3, c->addr);
	ipam__bind_addr(stmt, 4, ipam_cidr_last(c));
	rc = collect_cidrs(db, stmt, &inside, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = entry_del(db, list, &inside[i], err);
	free(inside);
	return rc ? rc : entry_put(db, list, c, err);
}

/* 1 when some member of the list is c or contains it. */
static int member_covers(ipam *db, int64_t list, const ipam_cidr *c,
			 ipam_err *err)
{
	ipam_stmt *stmt;
	int rc = 0;
	for (int p = c->prefix; rc == 0 && p >= 0; p--) {
		ipam_cidr anc = truncated(c, p);
		stmt = ipam__stmt(db,
				  "SELECT 1 FROM pl_member WHERE list_key = ?1"
				  " AND family = ?2 AND start = ?3 AND"
				  " prefix = ?4 LIMIT 1",
				  err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, list);
		ipam__bind_cidr(stmt, 2, &anc);
		rc = ipam__step(db, stmt, err);
		ipam__reset(stmt);
	}
	return rc;
}

/* The members strictly inside c, each once, the outermost only. */
static int members_inside(ipam *db, int64_t list, const ipam_cidr *c,
			  ipam_cidr **out, size_t *count, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT family, start, prefix FROM"
					" pl_member WHERE list_key = ?1 AND"
					" family = ?2 AND start >= ?3 AND"
					" start <= ?4 AND prefix > ?5 ORDER BY"
					" start, prefix",
					err);
	size_t kept = 0;
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, list);
	ipam__bind_int(stmt, 2, c->family);
	ipam__bind_addr(stmt, 3, c->addr);
	ipam__bind_addr(stmt, 4, ipam_cidr_last(c));
	ipam__bind_int(stmt, 5, c->prefix);
	rc = collect_cidrs(db, stmt, out, count, err);
	for (size_t i = 0; rc == 0 && i < *count; i++)
		if (kept == 0 ||
		    !(ipam_cidr_contains(&(*out)[kept - 1], &(*out)[i]) ||
		      (*out)[kept - 1].addr == (*out)[i].addr))
			(*out)[kept++] = (*out)[i];
	if (rc == 0)
		*count = kept;
	return rc;
}

/* Member c is gone: unless another member is or holds it, its entry
 * gives way to the outermost members inside it. */
static int cover_remove(ipam *db, int64_t list, const ipam_cidr *c,
			ipam_err *err)
{
	ipam_cidr *inner = NULL;
	size_t n = 0;
	int rc = member_covers(db, list, c, err);
	if (rc)
		return rc < 0 ? rc : 0;
	rc = entry_is(db, list, c, err);
	if (rc <= 0)
		return rc < 0 ? rc
			      : ipam__fail(err, IPAM_EIO,
					   "prefix list entries damaged");
	if ((rc = entry_del(db, list, c, err)))
		return rc;
	rc = members_inside(db, list, c, &inner, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = entry_put(db, list, &inner[i], err);
	free(inner);
	return rc;
}

/* ---- members ---- */

int ipam__plist_member_add(ipam *db, int64_t list, int src_kind,
			   int64_t src_key, const ipam_cidr *c, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"INSERT INTO pl_member("
					"list_key, src_kind, src_key, family,"
					" start, prefix) VALUES (?1, ?2, ?3,"
					" ?4, ?5, ?6) ON CONFLICT DO NOTHING",
					err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, list);
	ipam__bind_int(stmt, 2, src_kind);
	ipam__bind_int64(stmt, 3, src_key);
	ipam__bind_cidr(stmt, 4, c);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	if (ipam__changes(db) == 0)
		return 0;
	return cover_add(db, list, c, err);
}

int ipam__plist_member_remove(ipam *db, int64_t list, int src_kind,
			      int64_t src_key, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"DELETE FROM pl_member WHERE list_key ="
					" ?1 AND src_kind = ?2 AND src_key = ?3"
					" RETURNING family, start, prefix",
					err);
	ipam_cidr c;
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, list);
	ipam__bind_int(stmt, 2, src_kind);
	ipam__bind_int64(stmt, 3, src_key);
	rc = ipam__step(db, stmt, err);
	if (rc == 1)
		c = col_cidr(stmt, 0);
	if (rc == 1 && (rc = ipam__step(db, stmt, err)) == 0)
		rc = 1;
	ipam__reset(stmt);
	if (rc <= 0)
		return rc;
	return cover_remove(db, list, &c, err);
}

/* ---- versions ---- */

int ipam__plist_settle(ipam *db, ipam_err *err)
{
	int64_t *keys = NULL;
	size_t n = 0;
	int rc = ipam__collect_keys(db,
				    ipam__stmt(db,
					       "SELECT key FROM prefix_list"
					       " WHERE dirty = 1",
					       err),
				    &keys, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		ipam_stmt *stmt = ipam__stmt(
			db,
			"UPDATE prefix_list AS l SET dirty = 0,"
			" changed = CASE WHEN EXISTS (SELECT 1 FROM pl_diff d"
			" WHERE d.list_key = l.key AND d.version = l.version"
			" + 1) THEN ?2 ELSE l.changed END,"
			" version = l.version + CASE WHEN EXISTS (SELECT 1"
			" FROM pl_diff d WHERE d.list_key = l.key AND"
			" d.version = l.version + 1) THEN 1 ELSE 0 END"
			" WHERE l.key = ?1",
			err);
		if (!stmt)
			rc = ipam__stmt_error(err);
		else {
			ipam__bind_int64(stmt, 1, keys[i]);
			ipam__bind_int64(stmt, 2, ipam__now(db));
			rc = ipam__exec(db, stmt, err);
		}
		if (rc == 0)
			rc = ipam__plist_prune(db, keys[i], err);
	}
	free(keys);
	return rc;
}

/* oldest = max(1, min(version - kept, the lowest desired version)), in
 * portable SQL (no scalar max/min: docs/design/store.md) */
#define PL_KEEP "(l.version - ?2)"
#define PL_WANT                                                                \
	"coalesce((SELECT min(t.desired) FROM pl_target t WHERE"               \
	" t.list_key = l.key AND t.desired > 0), l.version)"
#define PL_LOWER                                                               \
	"(CASE WHEN " PL_KEEP " < " PL_WANT " THEN " PL_KEEP " ELSE " PL_WANT  \
	" END)"

int ipam__plist_prune(ipam *db, int64_t list, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
				     "UPDATE prefix_list AS l SET oldest ="
				     " CASE WHEN " PL_LOWER " < 1 THEN 1 ELSE "
				     PL_LOWER " END WHERE l.key = ?1",
				     err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, list);
	ipam__bind_int(stmt, 2, IPAM_PLIST_VERSIONS_KEPT - 1);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	stmt = ipam__stmt(db,
			  "DELETE FROM pl_diff WHERE list_key = ?1 AND"
			  " version <= (SELECT oldest FROM prefix_list WHERE"
			  " key = ?1)",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, list);
	return ipam__exec(db, stmt, err);
}

static int cidr_cmp(const void *a, const void *b)
{
	return ipam_cidr_compare(a, b);
}

/*
 * The set of version `version` (<= current): the current entries, with
 * each CIDR that a later diff touches taken as its first such diff says it
 * was before (added later = absent then; removed later = present then).
 */
int ipam__plist_version_set(ipam *db, int64_t list, int64_t current,
			    int64_t version, ipam_cidr **out, size_t *count,
			    ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT family, start, prefix FROM"
					" pl_entry WHERE list_key = ?1 ORDER"
					" BY family, start",
					err);
	ipam_cidr *cur = NULL;
	size_t n = 0;
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, list);
	if ((rc = collect_cidrs(db, stmt, &cur, &n, err)))
		return rc;
	*out = cur;
	*count = n;
	if (version >= current)
		return 0;
	stmt = ipam__stmt(db,
			  "SELECT family, start, prefix, added FROM pl_diff"
			  " WHERE list_key = ?1 AND version > ?2 ORDER BY"
			  " family, start, prefix, version",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, list);
	ipam__bind_int64(stmt, 2, version);
	size_t cap = n, keep = n;
	ipam_cidr last = {0, 0, 0};
	bool have_last = false;
	while ((rc = ipam__step(db, stmt, err)) == 1) {
		ipam_cidr c = col_cidr(stmt, 0);
		bool added = ipam__col_int(stmt, 3) != 0;
		if (have_last && ipam_cidr_compare(&c, &last) == 0)
			continue; /* only the first diff of a CIDR counts */
		last = c;
		have_last = true;
		ipam_cidr *at = bsearch(&c, cur, keep, sizeof(*cur), cidr_cmp);
		if (added && at) {
			at->prefix = 255; /* absent then: dropped below */
		} else if (!added && !at) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				ipam_cidr *g = realloc(cur, cap * sizeof(*g));
				if (!g) {
					rc = ipam__fail(err, IPAM_ENOMEM,
							"out of memory");
					break;
				}
				cur = g;
			}
			cur[n++] = c;
		}
	}
	ipam__reset(stmt);
	size_t k = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (cur[i].prefix != 255)
			cur[k++] = cur[i];
	if (rc < 0) {
		free(cur);
		*out = NULL;
		*count = 0;
		return rc;
	}
	qsort(cur, k, sizeof(*cur), cidr_cmp);
	*out = cur;
	*count = k;
	return 0;
}
