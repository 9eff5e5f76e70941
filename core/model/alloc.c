/*
 * alloc.c - allocations and the free-space index that makes them fast.
 *
 * The free space of a pool is kept as the set of maximal aligned free blocks
 * (a buddy system over each provisioned CIDR) in the table free_block,
 * indexed by (pool, prefix, start). Then:
 *
 *  - the lowest aligned free /L is the lowest-addressed free block of
 *    prefix <= L: one index probe per prefix length from /0 to /L (at most
 *    33 or 129 probes, independent of the number of allocations), all in
 *    one statement (probe_all);
 *  - taking a /L out of a free /p block deletes it and inserts the L - p
 *    buddies that stay free;
 *  - releasing inserts the block and merges it with its buddy while the
 *    buddy is free and the merged block stays inside the provisioned CIDR.
 *
 * So every allocation and release costs O(width * log n) in SQLite B-tree
 * work, n being the number of blocks in the pool, and never scans the
 * pool's allocations. See docs/design/allocator.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* /0 to /128: the prefix lengths of the widest family */
#define PREFIX_LENGTHS 129

static ipam_u128 block_size(int family, int prefix)
{
	return (ipam_u128)1 << (ipam_family_width(family) - prefix);
}

static int free_insert(ipam *db, int64_t pool, ipam_u128 start, int prefix,
		       ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"INSERT INTO free_block(pool_key,"
					" start, prefix) VALUES (?1, ?2, ?3)",
					err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	ipam__bind_addr(stmt, 2, start);
	ipam__bind_int(stmt, 3, prefix);
	return ipam__exec(db, stmt, err);
}

static int free_delete(ipam *db, int64_t pool, ipam_u128 start, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"DELETE FROM free_block WHERE"
					" pool_key = ?1 AND start = ?2",
					err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	ipam__bind_addr(stmt, 2, start);
	return ipam__exec(db, stmt, err);
}

/* The prefix of the free block starting exactly at `start` in *prefix:
 * 1 when there is one, 0 when none (*prefix = -1), or an ipam_code. */
static int free_prefix_at(ipam *db, int64_t pool, ipam_u128 start,
			  int *prefix, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT prefix FROM free_block WHERE"
					" pool_key = ?1 AND start = ?2",
					err);
	int rc;
	*prefix = -1;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	ipam__bind_addr(stmt, 2, start);
	rc = ipam__step(db, stmt, err);
	if (rc == IPAM_ROW)
		*prefix = ipam__col_int(stmt, 0);
	ipam__reset(stmt);
	return rc;
}

int ipam__free_add(ipam *db, int64_t pool, const ipam_cidr *block,
		   int merge_limit, ipam_err *err)
{
	ipam_u128 start = block->addr;
	int prefix = block->prefix, buddy_prefix, rc;

	while (prefix > merge_limit) {
		ipam_u128 size = block_size(block->family, prefix);
		ipam_u128 buddy = start ^ size;
		rc = free_prefix_at(db, pool, buddy, &buddy_prefix, err);
		if (rc < 0)
			return rc;
		if (buddy_prefix != prefix)
			break;
		if ((rc = free_delete(db, pool, buddy, err)))
			return rc;
		start &= ~size;
		prefix--;
	}
	return free_insert(db, pool, start, prefix, err);
}

int ipam__free_remove_exact(ipam *db, int64_t pool, const ipam_cidr *block,
			    ipam_err *err)
{
	int prefix, rc = free_prefix_at(db, pool, block->addr, &prefix, err);
	if (rc < 0)
		return rc;
	if (prefix != block->prefix)
		return ipam__fail(err, IPAM_EBUSY, "block is not wholly free");
	return free_delete(db, pool, block->addr, err);
}

/* The free block that contains `want`: 1 found (in *out), 0 none. */
static int free_containing(ipam *db, int64_t pool, const ipam_cidr *want,
			   ipam_cidr *out, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT start, prefix FROM free_block"
					" WHERE pool_key = ?1 AND start <= ?2"
					" ORDER BY start DESC LIMIT 1",
					err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	ipam__bind_addr(stmt, 2, want->addr);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		out->family = want->family;
		out->addr = ipam__blob_to_addr(stmt, 0);
		out->prefix = (uint8_t)ipam__col_int(stmt, 1);
		rc = ipam_cidr_contains(out, want) ? 1 : 0;
	}
	ipam__reset(stmt);
	return rc;
}

int ipam__largest_free(ipam *db, int64_t pool, ipam_cidr *out, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT start, prefix FROM free_block"
					" WHERE pool_key = ?1"
					" ORDER BY prefix, start LIMIT 1",
					err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		out->addr = ipam__blob_to_addr(stmt, 0);
		out->prefix = (uint8_t)ipam__col_int(stmt, 1);
		out->family = 0; /* the caller knows the family */
	}
	ipam__reset(stmt);
	return rc;
}

/*
 * Takes the aligned block `want` out of the free block `from` that contains
 * it: `from` goes, and each half not on the way down to `want` stays free.
 */
static int free_take(ipam *db, int64_t pool, const ipam_cidr *from,
		     const ipam_cidr *want, ipam_err *err)
{
	ipam_u128 start = from->addr;
	int rc = free_delete(db, pool, from->addr, err);

	for (int q = from->prefix + 1; rc == 0 && q <= want->prefix; q++) {
		ipam_u128 half = block_size(want->family, q);
		if (want->addr >= start + half) {
			rc = free_insert(db, pool, start, q, err);
			start += half;
		} else {
			rc = free_insert(db, pool, start + half, q, err);
		}
	}
	return rc;
}

int ipam__pool_cidr_containing(ipam *db, int64_t pool, const ipam_cidr *cidr,
			       ipam_cidr *out, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT start, prefix FROM pool_cidr"
					" WHERE pool_key = ?1 AND start <= ?2"
					" ORDER BY start DESC LIMIT 1",
					err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	ipam__bind_addr(stmt, 2, cidr->addr);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		out->family = cidr->family;
		out->addr = ipam__blob_to_addr(stmt, 0);
		out->prefix = (uint8_t)ipam__col_int(stmt, 1);
		rc = ipam_cidr_contains(out, cidr) ? 1 : 0;
	}
	ipam__reset(stmt);
	return rc;
}

/*
 * The lowest (or, `highest`, the highest) free block of each prefix length
 * from 0 to `prefix_len`, in one statement: a probe of the size index per
 * length, as many as the family has lengths at most, whatever the number of
 * blocks (one round trip on PostgreSQL). starts[p] is the block's start
 * where has[p].
 */
static int probe_all(ipam *db, int64_t pool, int prefix_len, bool highest,
		     ipam_u128 *starts, bool *has, ipam_err *err)
{
#define PROBE_SQL(order)                                                      \
	"WITH RECURSIVE len(n) AS (SELECT 0 UNION ALL"                       \
	" SELECT n + 1 FROM len WHERE n < ?2)"                               \
	" SELECT n, s FROM (SELECT n, (SELECT start FROM free_block"         \
	" WHERE pool_key = ?1 AND prefix = len.n ORDER BY start " order      \
	" LIMIT 1) AS s FROM len) AS probe WHERE s IS NOT NULL"
	ipam_stmt *stmt = highest ? ipam__stmt(db, PROBE_SQL("DESC"), err)
				  : ipam__stmt(db, PROBE_SQL("ASC"), err);
#undef PROBE_SQL
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	for (int p = 0; p <= prefix_len; p++)
		has[p] = false;
	ipam__bind_int64(stmt, 1, pool);
	ipam__bind_int(stmt, 2, prefix_len);
	while ((rc = ipam__step(db, stmt, err)) == 1) {
		int p = ipam__col_int(stmt, 0);
		if (p < 0 || p > prefix_len)
			continue;
		starts[p] = ipam__blob_to_addr(stmt, 1);
		has[p] = true;
	}
	ipam__reset(stmt);
	return rc;
}

/* The number of CIDRs provisioned to a pool (0 on a storage error: the
 * message is then only less precise). */
static int64_t count_cidrs(ipam *db, int64_t pool)
{
	ipam_stmt *stmt =
		ipam__stmt(db, "SELECT n_cidrs FROM pool WHERE key = ?1", NULL);
	int64_t n = 0;
	if (!stmt)
		return 0;
	ipam__bind_int64(stmt, 1, pool);
	if (ipam__step(db, stmt, NULL) == 1)
		n = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	return n;
}

/* The ENOSPC refusal, naming the largest free block. */
static int no_space(ipam *db, const ipam_pool_info *pool, int prefix_len,
		    ipam_err *err)
{
	ipam_cidr largest;
	int rc = ipam__largest_free(db, pool->key, &largest, err);
	if (rc < 0)
		return rc;
	if (rc == 0 && count_cidrs(db, pool->key) == 0)
		return ipam__fail(err, IPAM_ENOSPC,
				  "no free /%d in pool '%s': it has no "
				  "provisioned CIDR",
				  prefix_len, pool->name);
	if (rc == 0)
		return ipam__fail(err, IPAM_ENOSPC,
				  "no free /%d in pool '%s' (no free space)",
				  prefix_len, pool->name);
	return ipam__fail(err, IPAM_ENOSPC,
			  "no free /%d in pool '%s' (largest free block /%d)",
			  prefix_len, pool->name, largest.prefix);
}

int ipam__alloc_find(ipam *db, const ipam_pool_info *pool, int prefix_len,
		     ipam_cidr *out, ipam_err *err)
{
	ipam_u128 starts[PREFIX_LENGTHS], best = 0;
	bool has[PREFIX_LENGTHS], found = false;
	bool last = pool->strategy == IPAM_STRATEGY_LAST_FIT;
	int rc;

	if (prefix_len < 0 || prefix_len > ipam_family_width(pool->family))
		return ipam__fail(err, IPAM_EINVAL, "no such prefix length /%d",
				  prefix_len);
	rc = probe_all(db, pool->key, prefix_len, last, starts, has, err);
	if (rc < 0)
		return rc;
	if (pool->strategy == IPAM_STRATEGY_BEST_FIT) {
		for (int p = prefix_len; p >= 0 && !found; p--) {
			if (has[p]) {
				best = starts[p];
				found = true;
			}
		}
	} else {
		for (int p = 0; p <= prefix_len; p++) {
			ipam_u128 start = starts[p];
			if (!has[p])
				continue;
			if (last)
				start += block_size(pool->family, p) -
					 block_size(pool->family, prefix_len);
			if (!found || (last ? start > best : start < best))
				best = start;
			found = true;
		}
	}
	if (!found)
		return no_space(db, pool, prefix_len, err);
	out->family = (uint8_t)pool->family;
	out->prefix = (uint8_t)prefix_len;
	out->addr = best;
	return 0;
}

/* The pool-depth quota's largest value. */
#define POOL_PATH_MAX_DEPTH 64

/* "top/pools/child": the path of a pool below its scope's pools/, as
 * the tree shows it (a child pool's block in its parent is named by the
 * child's id, which says little in a message). */
static void pool_path(ipam *db, int64_t key, char *out, size_t size)
{
	char *names[POOL_PATH_MAX_DEPTH];
	size_t n = 0, len = 0;
	ipam_pool_info *p = malloc(sizeof(*p));

	out[0] = '\0';
	while (p && key && n < POOL_PATH_MAX_DEPTH &&
	       ipam__pool_load(db, key, p, NULL) == 0) {
		names[n++] = strdup(p->name);
		key = p->parent_key;
	}
	while (n > 0) {
		char *name = names[--n];
		if (name && len < size)
			len += (size_t)snprintf(out + len, size - len, "%s%s",
						len ? "/pools/" : "", name);
		free(name);
	}
	free(p);
}

/* Why `want` cannot be taken: outside the pool or overlapping. */
static int refuse_cidr(ipam *db, const ipam_pool_info *pool,
		       const ipam_cidr *want, ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN], other[IPAM_CIDR_STRLEN];
	char path[256];
	ipam_cidr container, held;
	ipam_stmt *stmt;
	int rc = ipam__pool_cidr_containing(db, pool->key, want, &container,
					    err);

	ipam_cidr_format(want, text);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return ipam__fail(err, IPAM_EADDRNOTAVAIL,
				  "%s is not inside a CIDR of pool '%s'", text,
				  pool->name);
	/* The allocation that starts at or before the end of `want`, or the
	 * first inside it, is the one in the way; a child pool's block is
	 * named by the child's path. */
	stmt = ipam__stmt(db,
			  "SELECT a.name, a.start, a.prefix, c.key"
			  " FROM allocation a LEFT JOIN pool c"
			  " ON a.resource_type = 'ipam-pool'"
			  " AND c.aws_id = a.resource_id"
			  " WHERE a.pool_key = ?1 AND a.start <= ?2"
			  " ORDER BY a.start DESC LIMIT 1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool->key);
	ipam__bind_addr(stmt, 2, ipam_cidr_last(want));
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		int64_t child = ipam__col_int64(stmt, 3);
		held.family = want->family;
		held.addr = ipam__blob_to_addr(stmt, 1);
		held.prefix = (uint8_t)ipam__col_int(stmt, 2);
		ipam_cidr_format(&held, other);
		if (child) {
			pool_path(db, child, path, sizeof(path));
			rc = ipam__fail(err, IPAM_EADDRINUSE,
					"%s overlaps %s of child pool '%s' in "
					"pool '%s'",
					text, other, path, pool->name);
		} else {
			rc = ipam__fail(err, IPAM_EADDRINUSE,
					"%s overlaps allocation '%s' (%s) in "
					"pool '%s'",
					text, ipam__col_text(stmt, 0),
					other, pool->name);
		}
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_EADDRINUSE,
				"%s overlaps an allocation in pool '%s'", text,
				pool->name);
	}
	ipam__reset(stmt);
	return rc;
}

static int alloc_name_taken(ipam *db, int64_t pool, const char *name,
			    ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT 1 FROM allocation WHERE"
					" pool_key = ?1 AND name = ?2",
					err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	ipam__bind_text(stmt, 2, name, -1);
	rc = ipam__step(db, stmt, err);
	ipam__reset(stmt);
	return rc;
}

int ipam__alloc_owner_name(ipam *db, int64_t pool, const char *owner,
			   const ipam_cidr *cidr, char out[IPAM_NAME_MAX + 1],
			   ipam_err *err)
{
	char file[IPAM_CIDR_STRLEN];
	int rc = alloc_name_taken(db, pool, owner, err);

	if (rc < 0)
		return rc;
	ipam_cidr_format_filename(cidr, file);
	if (rc == 1)
		snprintf(out, IPAM_NAME_MAX + 1, "%s_%s", owner, file);
	else
		snprintf(out, IPAM_NAME_MAX + 1, "%s", owner);
	return 0;
}

/* Resolves the size of a by-size request: explicit, default, rules. */
static int request_prefix(const ipam_pool_info *pool, int prefix_len,
			  bool check_rules, ipam_err *err)
{
	char why[160];
	int width = ipam_family_width(pool->family);

	if (prefix_len < 0) {
		if (pool->default_netmask < 0)
			return ipam__fail(err, IPAM_EINVAL,
					  "pool '%s' has no "
					  "allocation-default-netmask-length: "
					  "give a size",
					  pool->name);
		prefix_len = pool->default_netmask;
	}
	if (prefix_len > width)
		return ipam__fail(err, IPAM_EINVAL,
				  "netmask /%d is out of range for an %s pool "
				  "(0..%d)",
				  prefix_len,
				  ipam_family_name(pool->family), width);
	if (check_rules) {
		ipam__netmask_violation(pool, prefix_len, why, sizeof(why));
		if (*why)
			return ipam__fail(err, IPAM_EINVAL,
					  "cannot allocate /%d from pool '%s': "
					  "%s",
					  prefix_len, pool->name, why);
	}
	return prefix_len;
}

int ipam__alloc_resolve(ipam *db, const ipam_pool_info *pool,
			const ipam__alloc_spec *spec, ipam_cidr *got,
			ipam_err *err)
{
	char why[160];
	int rc;

	if (!spec->cidr) {
		rc = request_prefix(pool, spec->prefix_len, spec->check_rules,
				    err);
		return rc < 0 ? rc : ipam__alloc_find(db, pool, rc, got, err);
	}
	*got = *spec->cidr;
	if (got->family != pool->family)
		return ipam__fail(err, IPAM_EINVAL,
				  "pool '%s' is %s; the CIDR is %s", pool->name,
				  ipam_family_name(pool->family),
				  ipam_family_name(got->family));
	if (spec->check_rules) {
		ipam__netmask_violation(pool, got->prefix, why, sizeof(why));
		if (*why)
			return ipam__fail(err, IPAM_EINVAL,
					  "cannot allocate /%d from pool '%s': "
					  "%s",
					  got->prefix, pool->name, why);
	}
	return 0;
}

/* Chooses and takes the block of a request; *got is what was taken. */
static int take_space(ipam *db, const ipam_pool_info *pool,
		      const ipam__alloc_spec *spec, ipam_cidr *got,
		      ipam_err *err)
{
	ipam_cidr from;
	int rc = ipam__alloc_resolve(db, pool, spec, got, err);

	if (rc)
		return rc;
	rc = free_containing(db, pool->key, got, &from, err);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return refuse_cidr(db, pool, got, err);
	return free_take(db, pool->key, &from, got, err);
}

static int alloc_insert(ipam *db, const ipam_pool_info *pool,
			const ipam__alloc_spec *spec, const char *name,
			const char *id, const ipam_cidr *cidr, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"INSERT INTO allocation(aws_id, pool_key, name, start, prefix,"
		" resource_type, resource_id, resource_region, description,"
		" created, uid, gid, mode)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		" ?13)",
		err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, id, -1);
	ipam__bind_int64(stmt, 2, pool->key);
	ipam__bind_text(stmt, 3, name, -1);
	ipam__bind_addr(stmt, 4, cidr->addr);
	ipam__bind_int(stmt, 5, cidr->prefix);
	ipam__bind_text(stmt, 6, spec->resource_type, -1);
	ipam__bind_text(stmt, 7, spec->resource_id ? spec->resource_id : "", -1);
	ipam__bind_text(stmt, 8,
			spec->resource_region ? spec->resource_region : "", -1);
	ipam__bind_text(stmt, 9, spec->description ? spec->description : "", -1);
	ipam__bind_int64(stmt, 10, ipam__now(db));
	ipam__bind_int64(stmt, 11, db->actor.uid);
	ipam__bind_int64(stmt, 12, db->actor.gid);
	ipam__bind_int(stmt, 13, IPAM_MODE_NEW);
	return ipam__exec(db, stmt, err);
}

/*
 * The pool counters an allocation or a release moves (`assigned`, or
 * `to_pools` for a child pool's block; `n_allocs`, `n_compliant`,
 * `n_noncompliant`) are kept in the handle for the pool a write
 * transaction works in, and written back to its row in one UPDATE:
 *
 *  - before any statement whose text names one of them (ipam__stmt asks
 *    ipam__counts_named), so every reader in the transaction sees them
 *    exact;
 *  - before COMMIT, and when another pool's counters are needed;
 *  - a savepoint rolled back restores what was kept when it began
 *    (store.c), and the database undoes a write-back made inside it.
 *
 * So a batch of allocations into one pool updates the pool's row once, not
 * once per line. On PostgreSQL this is what keeps a batch linear: every
 * version of a row a transaction updated stays until it ends and is walked
 * by each later read of that row (the foreign-key check of every new
 * allocation reads it), and versions made in savepoints also carry
 * multixacts; 2 000 allocations in one write took 26.6 s with a row update
 * per allocation against 7.2 s without (docs/bench.md).
 */
static const char *const counter_words[] = {
	"assigned", "to_pools", "n_allocs", "n_compliant", "n_noncompliant",
};

bool ipam__counts_named(const char *sql)
{
	for (size_t i = 0; i < sizeof(counter_words) / sizeof(*counter_words);
	     i++)
		if (strstr(sql, counter_words[i]))
			return true;
	return false;
}

int ipam__counts_flush(ipam *db, ipam_err *err)
{
	const struct ipam__counts *c = &db->counts;
	ipam_stmt *stmt;
	int rc;

	if (!c->pool || db->counts_flushing)
		return 0;
	db->counts_flushing = true;
	stmt = ipam__stmt(db,
			  "UPDATE pool SET assigned = ?2, to_pools = ?3,"
			  " n_allocs = n_allocs + ?4,"
			  " n_compliant = n_compliant + ?5,"
			  " n_noncompliant = n_noncompliant + ?6"
			  " WHERE key = ?1",
			  err);
	if (!stmt) {
		db->counts_flushing = false;
		return ipam__stmt_error(err);
	}
	ipam__bind_int64(stmt, 1, c->pool);
	ipam__bind_u128(stmt, 2, c->assigned);
	ipam__bind_u128(stmt, 3, c->to_pools);
	ipam__bind_int64(stmt, 4, c->n_allocs);
	ipam__bind_int64(stmt, 5, c->n_compliant);
	ipam__bind_int64(stmt, 6, c->n_noncompliant);
	rc = ipam__exec(db, stmt, err);
	db->counts_flushing = false;
	if (rc == 0)
		memset(&db->counts, 0, sizeof(db->counts));
	return rc;
}

/* Moves the counters of `pool` by one allocation of `size` addresses
 * (delta +1) or one release (-1). */
static int alloc_counters(ipam *db, int64_t pool, bool to_pool,
			  ipam_u128 size, int delta, bool compliant,
			  ipam_err *err)
{
	struct ipam__counts *c = &db->counts;
	int rc;

	if (c->pool != pool) {
		ipam_stmt *stmt;
		if ((rc = ipam__counts_flush(db, err)))
			return rc;
		stmt = ipam__stmt(db,
				  "SELECT assigned, to_pools FROM pool"
				  " WHERE key = ?1",
				  err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, pool);
		rc = ipam__step(db, stmt, err);
		if (rc == 1) {
			c->assigned = ipam__col_u128(stmt, 0);
			c->to_pools = ipam__col_u128(stmt, 1);
			c->pool = pool;
		}
		ipam__reset(stmt);
		if (rc != 1)
			return rc < 0 ? rc
				      : ipam__fail(err, IPAM_ENOENT, "no pool");
	}
	if (to_pool)
		c->to_pools = delta > 0 ? c->to_pools + size
					: c->to_pools - size;
	else
		c->assigned = delta > 0 ? c->assigned + size
					: c->assigned - size;
	c->n_allocs += delta;
	/* a child pool's block counts in no compliance counter */
	if (!to_pool && compliant)
		c->n_compliant += delta;
	else if (!to_pool)
		c->n_noncompliant += delta;
	return 0;
}

/*
 * What watch.c and history.c need of a new allocation: custom allocations
 * join the scope's overlap index (a resource CIDR may overlap a manual
 * allocation, L2730), and custom and child-pool allocations get a history
 * record of their own (a resource's allocation is recorded with the
 * resource CIDR).
 */
static int alloc_watch(ipam *db, const ipam_pool_info *p, int64_t key,
		       const char *name, const ipam__alloc_spec *spec,
		       const ipam_cidr *got, ipam_err *err)
{
	bool custom = ipam__rtype_of(spec->resource_type) == IPAM__RT_CUSTOM;
	char owner[16], rid[IPAM_ID_MAX];
	int64_t history = 0;
	ipam_stmt *stmt;
	int rc;

	if (!custom &&
	    (ipam__rtype_of(spec->resource_type) != IPAM__RT_IPAM_POOL))
		return 0;
	snprintf(owner, sizeof(owner), "%u", db->actor.uid);
	if (custom) {
		stmt = ipam__stmt(db,
				  "SELECT aws_id FROM allocation"
				  " WHERE key = ?1",
				  err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, key);
		rid[0] = '\0';
		if (ipam__step(db, stmt, err) == 1)
			ipam__copy_text(rid, sizeof(rid), stmt, 0);
		ipam__reset(stmt);
	}
	{
		ipam__hist_rec rec = {
			.scope_key = p->scope_key,
			.cidr = got,
			.resource_id = custom ? rid : spec->resource_id,
			.resource_type = spec->resource_type,
			.name = custom ? name : "",
			.owner = owner,
			.region = p->locale,
		};
		if ((rc = ipam__history_open(db, &rec, &history, err)))
			return rc;
	}
	stmt = ipam__stmt(db,
			  "UPDATE allocation SET history_key = ?2"
			  " WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	ipam__bind_int64(stmt, 2, history);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	/* inside a VPC's planned space a custom allocation (a host) is part
	 * of the VPC, not a CIDR that overlaps it */
	return custom && !*p->plan_vpc
		       ? ipam__scope_cidr_add(db, p->scope_key, got, "custom",
					      key, err)
		       : 0;
}

/* Undoes alloc_watch for an allocation that goes. */
static int alloc_unwatch(ipam *db, const ipam_alloc_info *a, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT coalesce(a.history_key, 0),"
					" p.scope_key, p.plan_vpc <> ''"
					" FROM allocation a JOIN"
					" pool p ON p.key = a.pool_key"
					" WHERE a.key = ?1",
					err);
	int64_t history = 0, scope = 0;
	bool planned = false;
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, a->key);
	if ((rc = ipam__step(db, stmt, err)) == 1) {
		history = ipam__col_int64(stmt, 0);
		scope = ipam__col_int64(stmt, 1);
		planned = ipam__col_int(stmt, 2) != 0;
	}
	ipam__reset(stmt);
	if (rc < 0 || (rc = ipam__history_close(db, history, err)))
		return rc;
	if (ipam__rtype_of(a->resource_type) != IPAM__RT_CUSTOM || planned)
		return 0;
	return ipam__scope_cidr_remove(db, scope, &a->cidr, "custom", a->key,
				       err);
}

int ipam__alloc(ipam *db, int64_t pool, const ipam__alloc_spec *spec,
		ipam_alloc_info *out, ipam_err *err)
{
	ipam_pool_info p;
	ipam_cidr got;
	char id[IPAM_ID_MAX], text[IPAM_CIDR_STRLEN];
	const char *name = spec->name;
	bool to_pool = ipam__rtype_of(spec->resource_type) ==
		       IPAM__RT_IPAM_POOL;
	int64_t key;
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc)
		return rc;
	if (spec->id)
		snprintf(id, sizeof(id), "%s", spec->id);
	else if ((rc = ipam__new_id(db, "ipam-pool-alloc-", true, id, err)))
		return rc;
	if (!name)
		name = id;
	rc = alloc_name_taken(db, pool, name, err);
	if (rc)
		return rc < 0 ? rc
			      : ipam__fail(err, IPAM_EEXIST,
					   "allocation '%s' exists in pool "
					   "'%s'",
					   name, p.name);
	if ((rc = ipam__path_check(db, &p, "allocations", name, err)))
		return rc;
	if ((rc = take_space(db, &p, spec, &got, err)) ||
	    (rc = alloc_insert(db, &p, spec, name, id, &got, err)))
		return rc;
	key = ipam__last_insert_id(db);
	if ((rc = alloc_counters(db, pool, to_pool, ipam_cidr_size(&got), +1,
				 true, err)))
		return rc;
	if ((rc = alloc_watch(db, &p, key, name, spec, &got, err)) ||
	    (rc = ipam__plist_alloc(db, key, true, err)))
		return rc;
	ipam_cidr_format(&got, text);
	if ((rc = ipam__event(
		     db, "allocate-ipam-pool-cidr", id,
		     json_pack("{s:s, s:o, s:s, s:s, s:o}", "pool", p.id,
			       "name", json_string(name), "cidr", text,
			       "resource-type", spec->resource_type,
			       "resource-id",
			       json_string(spec->resource_id ? spec->resource_id
							     : "")),
		     err)))
		return rc;
	if (out) {
		memset(out, 0, sizeof(*out));
		out->key = key;
		out->pool_key = pool;
		snprintf(out->name, sizeof(out->name), "%s", name);
		snprintf(out->id, sizeof(out->id), "%s", id);
		out->cidr = got;
		snprintf(out->resource_type, sizeof(out->resource_type), "%s",
			 spec->resource_type);
		snprintf(out->resource_id, sizeof(out->resource_id), "%s",
			 spec->resource_id ? spec->resource_id : "");
		snprintf(out->resource_region, sizeof(out->resource_region),
			 "%s",
			 spec->resource_region ? spec->resource_region : "");
		snprintf(out->description, sizeof(out->description), "%s",
			 spec->description ? spec->description : "");
		out->compliant = true;
		out->owner_uid = db->actor.uid;
		out->created = ipam__now(db);
	}
	return 0;
}

#define ALLOC_COLUMNS                                                          \
	"SELECT a.key, a.pool_key, a.name, a.aws_id, a.start, a.prefix,"       \
	" a.resource_type, a.resource_id, a.resource_region,"                  \
	" a.description, a.compliant, a.reason, a.uid, a.created, p.family,"   \
	" a.dns_name, a.mac_address"                                            \
	" FROM allocation a JOIN pool p ON p.key = a.pool_key "

static void alloc_row(ipam_stmt *stmt, ipam_alloc_info *out)
{
	memset(out, 0, sizeof(*out));
	out->key = ipam__col_int64(stmt, 0);
	out->pool_key = ipam__col_int64(stmt, 1);
	ipam__copy_text(out->name, sizeof(out->name), stmt, 2);
	ipam__copy_text(out->id, sizeof(out->id), stmt, 3);
	out->cidr.addr = ipam__blob_to_addr(stmt, 4);
	out->cidr.prefix = (uint8_t)ipam__col_int(stmt, 5);
	out->cidr.family = (uint8_t)ipam__col_int(stmt, 14);
	ipam__copy_text(out->resource_type, sizeof(out->resource_type), stmt,
			6);
	ipam__copy_text(out->resource_id, sizeof(out->resource_id), stmt, 7);
	ipam__copy_text(out->resource_region, sizeof(out->resource_region),
			stmt, 8);
	ipam__copy_text(out->description, sizeof(out->description), stmt, 9);
	out->compliant = ipam__col_int(stmt, 10) != 0;
	ipam__copy_text(out->compliance_reason, sizeof(out->compliance_reason),
			stmt, 11);
	out->owner_uid = (uint32_t)ipam__col_int64(stmt, 12);
	out->created = ipam__col_int64(stmt, 13);
	ipam__copy_text(out->dns_name, sizeof(out->dns_name), stmt, 15);
	ipam__copy_text(out->mac_address, sizeof(out->mac_address), stmt, 16);
}

static int alloc_fetch(ipam *db, ipam_stmt *stmt, ipam_alloc_info *out,
		       const char *what, ipam_err *err)
{
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		alloc_row(stmt, out);
		rc = 0;
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_ENOENT, "no allocation '%.80s'",
				what);
	}
	ipam__reset(stmt);
	return rc;
}

static int alloc_load_key(ipam *db, int64_t key, ipam_alloc_info *out,
			  ipam_err *err)
{
	ipam_stmt *stmt =
		ipam__stmt(db, ALLOC_COLUMNS "WHERE a.key = ?1", err);
	if (stmt)
		ipam__bind_int64(stmt, 1, key);
	return alloc_fetch(db, stmt, out, "(by key)", err);
}

static int alloc_load_name(ipam *db, int64_t pool, const char *name,
			   ipam_alloc_info *out, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db, ALLOC_COLUMNS "WHERE a.pool_key = ?1 AND a.name = ?2", err);
	if (stmt) {
		ipam__bind_int64(stmt, 1, pool);
		ipam__bind_text(stmt, 2, name, -1);
	}
	return alloc_fetch(db, stmt, out, name, err);
}

int ipam__alloc_free(ipam *db, int64_t alloc_key, ipam_err *err)
{
	ipam_alloc_info a;
	ipam_cidr container;
	ipam_stmt *stmt;
	char text[IPAM_CIDR_STRLEN];
	bool to_pool;
	int rc = alloc_load_key(db, alloc_key, &a, err);

	if (rc)
		return rc;
	to_pool = ipam__rtype_of(a.resource_type) == IPAM__RT_IPAM_POOL;
	rc = ipam__pool_cidr_containing(db, a.pool_key, &a.cidr, &container,
					err);
	if (rc <= 0)
		return rc < 0 ? rc
			      : ipam__fail(err, IPAM_EIO,
					   "allocation '%s' lies outside its "
					   "pool",
					   a.name);
	if ((rc = ipam__free_add(db, a.pool_key, &a.cidr, container.prefix,
				 err)) ||
	    (rc = alloc_unwatch(db, &a, err)) ||
	    (rc = ipam__plist_alloc(db, alloc_key, false, err)))
		return rc;
	stmt = ipam__stmt(db, "DELETE FROM allocation WHERE key = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, alloc_key);
	if ((rc = ipam__exec(db, stmt, err)) ||
	    (rc = alloc_counters(db, a.pool_key, to_pool,
				 ipam_cidr_size(&a.cidr), -1, a.compliant,
				 err)) ||
	    (rc = ipam__tags_drop(db, a.id, err)))
		return rc;
	ipam_cidr_format(&a.cidr, text);
	if ((rc = ipam__event(db, "release-ipam-pool-allocation", a.id,
			      json_pack("{s:o, s:s}", "name",
					json_string(a.name), "cidr", text),
			      err)))
		return rc;
	return to_pool ? 0
		       : ipam__auto_import_freed(db, a.pool_key, &a.cidr, err);
}

/* ---- public calls ---- */

int ipam_alloc_create(ipam *db, int64_t pool, const ipam_alloc_req *req,
		      ipam_alloc_info *out, ipam_err *err)
{
	ipam__alloc_spec spec = {
		.name = req->name,
		.cidr = req->cidr,
		.prefix_len = req->prefix_len,
		.description = req->description,
		.resource_type = "custom",
		.check_rules = true,
	};
	int rc;

	if (req->name) {
		if ((rc = ipam_name_check(req->name, err)))
			return rc;
		if (!strncmp(req->name, "ipam-", 5))
			return ipam__fail(err, IPAM_EINVAL,
					  "allocation name '%.64s': names "
					  "starting with 'ipam-' are reserved",
					  req->name);
	}
	if (req->description &&
	    (rc = ipam__check_text("description", req->description,
				   IPAM_DESC_MAX, err)))
		return rc;
	if ((rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(db, ipam__alloc(db, pool, &spec, out, err), err);
}

static int alloc_release(ipam *db, int64_t pool, const char *name,
			 ipam_err *err)
{
	ipam_alloc_info a;
	int rc = alloc_load_name(db, pool, name, &a, err);
	if (rc)
		return rc;
	if (ipam__rtype_of(a.resource_type) != IPAM__RT_CUSTOM)
		return ipam__fail(err, IPAM_EPERM,
				  "allocation '%s' is held by %s %s; only "
				  "custom allocations can be released",
				  a.name, a.resource_type, a.resource_id);
	return ipam__alloc_free(db, a.key, err);
}

int ipam_alloc_release(ipam *db, int64_t pool, const char *name, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, alloc_release(db, pool, name, err), err);
}

int ipam_alloc_get(ipam *db, int64_t pool, const char *name,
		   ipam_alloc_info *out, ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db, alloc_load_name(db, pool, name, out, err));
}

int ipam_alloc_get_by_key(ipam *db, int64_t key, ipam_alloc_info *out,
			  ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db, alloc_load_key(db, key, out, err));
}

int ipam_alloc_list(ipam *db, int64_t pool, ipam_strlist *out, ipam_err *err)
{
	ipam_stmt *stmt;
	int rc = ipam__read_begin(db, err);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "SELECT name FROM allocation WHERE pool_key = ?1"
			  " ORDER BY start",
			  err);
	if (stmt)
		ipam__bind_int64(stmt, 1, pool);
	return ipam__read_end(db, ipam__collect_text(db, stmt, out, err));
}

int ipam_alloc_entries(ipam *db, int64_t pool, ipam_alloc_entry_fn fn,
		       void *ctx, ipam_err *err)
{
	ipam_stmt *stmt;
	ipam_alloc_entry e;
	int rc = ipam__read_begin(db, err);

	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "SELECT key, name, aws_id, created, uid, gid, mode,"
			  " changed FROM allocation WHERE pool_key = ?1"
			  " ORDER BY start",
			  err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	ipam__bind_int64(stmt, 1, pool);
	while ((rc = ipam__step(db, stmt, err)) == 1) {
		e.key = ipam__col_int64(stmt, 0);
		ipam__copy_text(e.name, sizeof(e.name), stmt, 1);
		ipam__copy_text(e.id, sizeof(e.id), stmt, 2);
		e.created = ipam__col_int64(stmt, 3);
		e.uid = (uint32_t)ipam__col_int64(stmt, 4);
		e.gid = (uint32_t)ipam__col_int64(stmt, 5);
		e.mode = (uint32_t)ipam__col_int64(stmt, 6) & 07777;
		e.changed = ipam__col_int64(stmt, 7);
		if (ipam__oom) {
			rc = IPAM_ENOMEM;
			break;
		}
		if ((rc = fn(ctx, &e)) != 0) {
			ipam__fail(err, rc, "stopped");
			break;
		}
	}
	ipam__reset(stmt);
	return ipam__read_end(db, rc);
}

int ipam_pool_preview(ipam *db, int64_t pool, int prefix_len, ipam_cidr *out,
		      ipam_err *err)
{
	ipam_pool_info p;
	int rc = ipam__read_begin(db, err);

	if (rc)
		return rc;
	rc = ipam__pool_load(db, pool, &p, err);
	if (rc == 0) {
		rc = request_prefix(&p, prefix_len, true, err);
		if (rc >= 0)
			rc = ipam__alloc_find(db, &p, rc, out, err);
	}
	return ipam__read_end(db, rc);
}
