/*
 * alloc_bulk.c - many custom allocations of given CIDRs into one pool in
 * one pass: the import's bulk path (docs/design/import.md, "Bulk").
 *
 * The effects are those of ipam__alloc for each row (alloc.c): the rows,
 * the free-space index of docs/design/allocator.md, the usage counters, the
 * overlap index of the scope, an IP-address-history record and a change
 * event per allocation, the members of the prefix-list resolvers that
 * follow the scope's allocations, and the change times of the rows, their
 * pool, scope and IPAM. What changes is how: the rows are sorted by
 * address, so "no overlap" is a check between neighbours; each row must lie
 * inside one maximal free block of the pool (the buddy invariant: an
 * aligned block is free exactly when one free block holds it), found by one
 * merge walk over the free blocks of the batch's address range; each free
 * block that got rows is replaced by the maximal aligned blocks of what is
 * left of it (taking blocks one by one leaves exactly these); the counters
 * move once per batch. Anything the walk cannot prove (an overlap, a row
 * outside the free space, a taken name or id) writes nothing and returns
 * IPAM__BULK_FALLBACK: the caller then goes one by one, and meets the
 * model's own refusal.
 *
 * The rows carry the transaction's change time and one bump per batch does
 * what the per-row change-time triggers do (ipam__changed_bulk), so the
 * caller may hold those triggers (ipam__changed_hold) over a run of
 * batches: a statement that fires a trigger makes SQLite journal every page
 * it touches, which per row was most of an import's time.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "io.h"

typedef struct fblock {
	ipam_u128 start, last;
	int prefix;
} fblock;

static ipam_u128 cidr_last(const ipam_cidr *c)
{
	int width = c->family == 4 ? 32 : 128;
	ipam_u128 host = c->prefix >= width ? 0
			 : width - c->prefix == 128
				 ? ~(ipam_u128)0
				 : (((ipam_u128)1 << (width - c->prefix)) - 1);
	return c->addr | host;
}

/* A row's place in address order. */
typedef struct sort_key {
	ipam_u128 addr;
	int prefix;
	size_t row;
} sort_key;

static int key_cmp(const void *a, const void *b)
{
	const sort_key *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->prefix != y->prefix)
		return x->prefix - y->prefix;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* The free blocks of the pool from the one holding `lo` to `hi`, in
 * address order. */
static int blocks_load(ipam *db, const ipam_pool_info *p, ipam_u128 lo,
		       ipam_u128 hi, fblock **out, size_t *count, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT start, prefix FROM free_block WHERE pool_key = ?1"
		" AND start >= coalesce((SELECT max(start) FROM free_block"
		" WHERE pool_key = ?1 AND start <= ?2), ?2)"
		" AND start <= ?3 ORDER BY start",
		err);
	size_t n = 0, cap = 0;
	fblock *arr = NULL;
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, p->key);
	ipam__bind_addr(stmt, 2, lo);
	ipam__bind_addr(stmt, 3, hi);
	while ((rc = ipam__step(db, stmt, err)) == 1) {
		ipam_cidr c = {.family = (uint8_t)p->family};
		if (n == cap) {
			fblock *g = realloc(arr, (cap = cap ? 2 * cap : 64) *
							 sizeof(*arr));
			if (!g) {
				rc = ipam__fail(err, IPAM_ENOMEM,
						"out of memory");
				break;
			}
			arr = g;
		}
		c.addr = ipam__blob_to_addr(stmt, 0);
		c.prefix = (uint8_t)ipam__col_int(stmt, 1);
		arr[n].start = c.addr;
		arr[n].last = cidr_last(&c);
		arr[n].prefix = c.prefix;
		n++;
	}
	ipam__reset(stmt);
	if (rc) { /* an error, or out of memory (a row left) */
		free(arr);
		return rc == 1 ? IPAM_ENOMEM : rc;
	}
	*out = arr;
	*count = n;
	return 0;
}

/* Inserts the maximal aligned blocks of [from, to] (inclusive; from <= to)
 * as free blocks of the pool. */
static int gap_insert(ipam *db, const ipam_pool_info *p, ipam_u128 from,
		      ipam_u128 to, ipam_err *err)
{
	int width = p->family == 4 ? 32 : 128;
	ipam_stmt *stmt = ipam__stmt(db,
					"INSERT INTO free_block(pool_key,"
					" start, prefix) VALUES (?1, ?2, ?3)",
					err);
	if (!stmt)
		return ipam__stmt_error(err);
	for (;;) {
		int bits = 0; /* host bits of the largest block at from */
		while (bits < width) {
			ipam_u128 size = (ipam_u128)1 << bits;
			ipam_u128 next = size << 1;
			if (bits + 1 == 128 || (from & (next - 1)) ||
			    next - 1 > to - from)
				break;
			bits++;
		}
		ipam__bind_int64(stmt, 1, p->key);
		ipam__bind_addr(stmt, 2, from);
		ipam__bind_int(stmt, 3, width - bits);
		int rc = ipam__exec(db, stmt, err);
		if (rc)
			return rc;
		ipam_u128 last = from + (((ipam_u128)1 << bits) - 1);
		if (last >= to)
			return 0;
		from = last + 1;
	}
}

/* Replaces free block b by what the rows [first, end) of order leave. */
static int block_carve(ipam *db, const ipam_pool_info *p, const fblock *b,
		       const ipam__bulk_row *rows, const size_t *order,
		       size_t first, size_t end, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"DELETE FROM free_block WHERE"
					" pool_key = ?1 AND start = ?2",
					err);
	ipam_u128 at = b->start;
	bool more = true;
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, p->key);
	ipam__bind_addr(stmt, 2, b->start);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	for (size_t i = first; i < end && more; i++) {
		const ipam_cidr *c = &rows[order[i]].cidr;
		ipam_u128 last = cidr_last(c);
		if (c->addr > at &&
		    (rc = gap_insert(db, p, at, c->addr - 1, err)))
			return rc;
		more = last < b->last;
		at = last + 1;
	}
	return more ? gap_insert(db, p, at, b->last, err) : 0;
}

/* Checks the sorted rows against each other and the free blocks, and
 * carves the blocks: IPAM__BULK_FALLBACK when a row is not free. */
static int take_all(ipam *db, const ipam_pool_info *p,
		    const ipam__bulk_row *rows, const size_t *order, size_t n,
		    ipam_err *err)
{
	fblock *blocks = NULL;
	size_t nb = 0, bi = 0, i = 0;
	int rc;
	for (size_t k = 1; k < n; k++)
		if (cidr_last(&rows[order[k - 1]].cidr) >=
		    rows[order[k]].cidr.addr)
			return IPAM__BULK_FALLBACK;
	rc = blocks_load(db, p, rows[order[0]].cidr.addr,
			 cidr_last(&rows[order[n - 1]].cidr), &blocks, &nb,
			 err);
	if (rc)
		return rc;
	while (rc == 0 && i < n) {
		const ipam_cidr *c = &rows[order[i]].cidr;
		size_t first = i;
		while (bi < nb && blocks[bi].last < c->addr)
			bi++;
		if (bi == nb || blocks[bi].start > c->addr) {
			rc = IPAM__BULK_FALLBACK;
			break;
		}
		while (i < n && rows[order[i]].cidr.addr <= blocks[bi].last) {
			if (cidr_last(&rows[order[i]].cidr) > blocks[bi].last)
				break;
			i++;
		}
		if (i < n && rows[order[i]].cidr.addr <= blocks[bi].last) {
			rc = IPAM__BULK_FALLBACK; /* runs past the block */
			break;
		}
		rc = block_carve(db, p, &blocks[bi], rows, order, first, i,
				 err);
		bi++;
	}
	free(blocks);
	return rc;
}

/* The allocation row, its history record, overlap-index entry and event. */
static int row_write(ipam *db, const ipam_pool_info *p, ipam__bulk_row *r,
		     bool first, bool refresh, ipam_err *err)
{
	char owner[16], *id = r->made_id;
	int64_t history = 0;
	ipam_stmt *stmt;
	int rc;
	if (r->id)
		snprintf(id, IPAM_ID_MAX, "%s", r->id);
	else if ((rc = ipam__new_id(db, "ipam-pool-alloc-", true, id, err)))
		return rc;
	snprintf(owner, sizeof(owner), "%u", db->actor.uid);
	ipam__hist_rec rec = {
		.scope_key = p->scope_key,
		.cidr = &r->cidr,
		.resource_id = id,
		.resource_type = "custom",
		.name = r->name,
		.owner = owner,
		.region = p->locale,
	};
	if ((rc = first ? ipam__history_open(db, &rec, &history, err)
			: ipam__history_insert(db, &rec, &history, err)))
		return rc;
	stmt = ipam__stmt(
		db,
		"INSERT INTO allocation(aws_id, pool_key, name, start, prefix,"
		" resource_type, description, created, uid, gid, mode,"
		" history_key, changed) VALUES (?1, ?2, ?3, ?4, ?5, 'custom',"
		" ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
		err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, id, -1);
	ipam__bind_int64(stmt, 2, p->key);
	ipam__bind_text(stmt, 3, r->name, -1);
	ipam__bind_addr(stmt, 4, r->cidr.addr);
	ipam__bind_int(stmt, 5, r->cidr.prefix);
	ipam__bind_text(stmt, 6, r->description ? r->description : "", -1);
	ipam__bind_int64(stmt, 7,
			   r->created >= 0 ? r->created : ipam__now(db));
	ipam__bind_int64(stmt, 8, r->uid >= 0 ? r->uid : db->actor.uid);
	ipam__bind_int64(stmt, 9, r->gid >= 0 ? r->gid : db->actor.gid);
	ipam__bind_int(stmt, 10, r->mode >= 0 ? r->mode : IPAM_MODE_NEW);
	ipam__bind_int64(stmt, 11, history);
	ipam__bind_int64(stmt, 12, ipam__changed_stamp(db));
	rc = ipam__exec(db, stmt, err);
	if (rc == IPAM_EEXIST)
		return IPAM__BULK_FALLBACK; /* a taken name or id */
	if (rc)
		return rc;
	r->key = ipam__last_insert_id(db);
	stmt = ipam__stmt(db,
			  "INSERT INTO scope_cidr(scope_key, family, start,"
			  " prefix, kind, owner) VALUES (?1, ?2, ?3, ?4,"
			  " 'custom', ?5)",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, p->scope_key);
	ipam__bind_int(stmt, 2, r->cidr.family);
	ipam__bind_addr(stmt, 3, r->cidr.addr);
	ipam__bind_int(stmt, 4, r->cidr.prefix);
	ipam__bind_int64(stmt, 5, r->key);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	if (refresh &&
	    (rc = ipam__scope_refresh_around(db, p->scope_key, &r->cidr, err)))
		return rc;
	return 0;
}

/* The change event ipam__alloc logs for a row, its detail written as
 * json_dumps writes it (json_pack's keys in their order). */
static int row_event(ipam *db, const ipam_pool_info *p, const ipam__bulk_row *r,
		     ipam__buf *ev, ipam_err *err)
{
	static const char head[] = "{\"pool\":\"",
			  name[] = "\",\"name\":", cidr[] = ",\"cidr\":\"",
			  tail[] = "\",\"resource-type\":\"custom\","
				   "\"resource-id\":\"\"}";
	char text[IPAM_CIDR_STRLEN];
	ipam_cidr_format(&r->cidr, text);
	ev->len = 0;
	ipam__buf_add(ev, head, sizeof(head) - 1);
	ipam__buf_add(ev, p->id, strlen(p->id));
	ipam__buf_add(ev, name, sizeof(name) - 1);
	ipam__export_string(ev, r->name);
	ipam__buf_add(ev, cidr, sizeof(cidr) - 1);
	ipam__buf_add(ev, text, strlen(text));
	ipam__buf_add(ev, tail, sizeof(tail) - 1);
	if (ev->failed)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	return ipam__event_static(db, "allocate-ipam-pool-cidr", r->made_id,
				  ev->data, ev->len, err);
}

/*
 * The same rows, INSERTed CHUNK at a time (one statement of CHUNK rows
 * keeps SQLite's cursors open across them: about half the cost of a row
 * each), for a scope whose overlap index moves no resource CIDR (no
 * refresh per row). The keys are given: each table's next rowids in
 * order, what one-row INSERTs would get. A statement of many rows would
 * make SQLite journal the pages it touches, to undo it alone on a
 * constraint error; OR FAIL (history, overlap index, events: no foreign
 * key) needs no such journal, and any error undoes the whole batch anyway
 * (the caller's savepoint). The allocations keep the plain INSERT: their
 * pool's foreign key makes a statement journal necessary, and a taken
 * name or id must fail as it does.
 */
#define CHUNK 16
#define X2(v) v "," v
#define X4(v) X2(v) "," X2(v)
#define X8(v) X4(v) "," X4(v)
#define X16(v) X8(v) "," X8(v)
#define HIST_COLS                                                              \
	"INSERT OR FAIL INTO history(key, scope_key, family, start, prefix,"   \
	" resource_id, resource_type, resource_name, owner, region,"           \
	" start_time) VALUES "
#define HIST_ROW "(?,?,?,?,?,?,'custom',?,?,?,?)"
#define ALLOC_COLS                                                             \
	"INSERT INTO allocation(key, aws_id, pool_key, name, start, prefix,"   \
	" resource_type, description, created, uid, gid, mode, history_key,"   \
	" changed) VALUES "
#define ALLOC_ROW "(?,?,?,?,?,?,'custom',?,?,?,?,?,?,?)"
#define SCOPE_COLS                                                             \
	"INSERT OR FAIL INTO scope_cidr(scope_key, family, start, prefix, "    \
	"kind,"                                                                \
	" owner) VALUES "
#define SCOPE_ROW "(?,?,?,?,'custom',?)"
#define EVENT_COLS                                                             \
	"INSERT OR FAIL INTO event(time, uid, pid, action, object_id, "        \
	"detail) VALUES "
#define EVENT_ROW "(?,?,?,'allocate-ipam-pool-cidr',?,?)"

static const char *const chunk_sql[4][2] = {
	{HIST_COLS HIST_ROW, HIST_COLS X16(HIST_ROW)},
	{ALLOC_COLS ALLOC_ROW, ALLOC_COLS X16(ALLOC_ROW)},
	{SCOPE_COLS SCOPE_ROW, SCOPE_COLS X16(SCOPE_ROW)},
	{EVENT_COLS EVENT_ROW, EVENT_COLS X16(EVENT_ROW)},
};
enum { T_HIST, T_ALLOC, T_SCOPE, T_EVENT };
static const int chunk_cols[4] = {10, 13, 5, 5};

typedef struct chunk_ctx {
	const ipam_pool_info *p;
	ipam__bulk_row *rows;
	const size_t *order; /* NULL: the caller's order */
	int64_t history0, now, stamp;
	const char *owner;
	ipam__buf *ev; /* the events' details, one after the other */
	size_t *ev_at; /* where each row's detail starts in ev (n + 1) */
} chunk_ctx;

static void bind_row(ipam_stmt *stmt, int table, int b, const chunk_ctx *x,
		     size_t i, ipam *db)
{
	ipam__bulk_row *r = &x->rows[x->order ? x->order[i] : i];
	switch (table) {
	case T_HIST:
		ipam__bind_int64(stmt, b + 1, x->history0 + (int64_t)i);
		ipam__bind_int64(stmt, b + 2, x->p->scope_key);
		ipam__bind_int(stmt, b + 3, r->cidr.family);
		ipam__bind_addr(stmt, b + 4, r->cidr.addr);
		ipam__bind_int(stmt, b + 5, r->cidr.prefix);
		ipam__bind_text(stmt, b + 6, r->made_id, -1);
		ipam__bind_text(stmt, b + 7, r->name, -1);
		ipam__bind_text(stmt, b + 8, x->owner, -1);
		ipam__bind_text(stmt, b + 9, x->p->locale, -1);
		ipam__bind_int64(stmt, b + 10, x->now);
		break;
	case T_ALLOC:
		ipam__bind_int64(stmt, b + 1, r->key);
		ipam__bind_text(stmt, b + 2, r->made_id, -1);
		ipam__bind_int64(stmt, b + 3, x->p->key);
		ipam__bind_text(stmt, b + 4, r->name, -1);
		ipam__bind_addr(stmt, b + 5, r->cidr.addr);
		ipam__bind_int(stmt, b + 6, r->cidr.prefix);
		ipam__bind_text(stmt, b + 7,
				r->description ? r->description : "", -1);
		ipam__bind_int64(stmt, b + 8,
				   r->created >= 0 ? r->created : x->now);
		ipam__bind_int64(stmt, b + 9,
				   r->uid >= 0 ? r->uid : db->actor.uid);
		ipam__bind_int64(stmt, b + 10,
				   r->gid >= 0 ? r->gid : db->actor.gid);
		ipam__bind_int(stmt, b + 11, r->mode >= 0 ? r->mode : IPAM_MODE_NEW);
		ipam__bind_int64(stmt, b + 12, x->history0 + (int64_t)i);
		ipam__bind_int64(stmt, b + 13, x->stamp);
		break;
	case T_SCOPE:
		ipam__bind_int64(stmt, b + 1, x->p->scope_key);
		ipam__bind_int(stmt, b + 2, r->cidr.family);
		ipam__bind_addr(stmt, b + 3, r->cidr.addr);
		ipam__bind_int(stmt, b + 4, r->cidr.prefix);
		ipam__bind_int64(stmt, b + 5, r->key);
		break;
	default: /* T_EVENT */
		ipam__bind_int64(stmt, b + 1, x->now);
		ipam__bind_int64(stmt, b + 2, db->actor.uid);
		ipam__bind_int64(stmt, b + 3, db->actor.pid);
		ipam__bind_text(stmt, b + 4, r->made_id, -1);
		ipam__bind_text(stmt, b + 5, x->ev->data + x->ev_at[i],
				(int)(x->ev_at[i + 1] - x->ev_at[i]));
		break;
	}
}

/* Rows [first, n) of x into `table`, CHUNK per statement while they last. */
static int insert_rows(ipam *db, int table, const chunk_ctx *x, size_t first,
		       size_t n, ipam_err *err)
{
	for (size_t i = first; i < n;) {
		size_t k = n - i >= CHUNK ? CHUNK : 1;
		ipam_stmt *stmt =
			ipam__stmt(db, chunk_sql[table][k == CHUNK], err);
		int rc;
		if (!stmt)
			return ipam__stmt_error(err);
		for (size_t j = 0; j < k; j++)
			bind_row(stmt, table, (int)j * chunk_cols[table], x,
				 i + j, db);
		if ((rc = ipam__exec(db, stmt, err)))
			return rc == IPAM_EEXIST && table == T_ALLOC
				       ? IPAM__BULK_FALLBACK /* a taken name or id */
				       : rc;
		i += k;
	}
	return 0;
}

/* The event detail of row r appended to ev (as row_event writes it). */
static void event_detail(const ipam_pool_info *p, const ipam__bulk_row *r,
			 ipam__buf *ev)
{
	static const char head[] = "{\"pool\":\"",
			  name[] = "\",\"name\":", cidr[] = ",\"cidr\":\"",
			  tail[] = "\",\"resource-type\":\"custom\","
				   "\"resource-id\":\"\"}";
	char text[IPAM_CIDR_STRLEN];
	ipam_cidr_format(&r->cidr, text);
	ipam__buf_add(ev, head, sizeof(head) - 1);
	ipam__buf_add(ev, p->id, strlen(p->id));
	ipam__buf_add(ev, name, sizeof(name) - 1);
	ipam__export_string(ev, r->name);
	ipam__buf_add(ev, cidr, sizeof(cidr) - 1);
	ipam__buf_add(ev, text, strlen(text));
	ipam__buf_add(ev, tail, sizeof(tail) - 1);
}

static int max_key(ipam *db, const char *sql, int64_t *out, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, sql, err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	rc = ipam__step(db, stmt, err);
	if (rc == 1)
		*out = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	return rc < 0 ? rc : rc == 0 ? ipam__fail(err, IPAM_EIO, "no max") : 0;
}

static int rows_write_chunked(ipam *db, const ipam_pool_info *p,
			      ipam__bulk_row *rows, const size_t *order,
			      size_t n, ipam_err *err)
{
	char owner[16];
	int64_t alloc0 = 0;
	ipam__buf ev = {0};
	size_t *ev_at = malloc((n + 1) * sizeof(*ev_at));
	chunk_ctx x = {.p = p,
		       .rows = rows,
		       .order = order,
		       .now = ipam__now(db),
		       .stamp = ipam__changed_stamp(db),
		       .owner = owner,
		       .ev = &ev,
		       .ev_at = ev_at};
	int rc = ev_at ? 0 : ipam__fail(err, IPAM_ENOMEM, "out of memory");
	snprintf(owner, sizeof(owner), "%u", db->actor.uid);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		ipam__bulk_row *r = &rows[order[i]];
		if (r->id)
			snprintf(r->made_id, IPAM_ID_MAX, "%s", r->id);
		else
			rc = ipam__new_id(db, "ipam-pool-alloc-", true,
					  r->made_id, err);
	}
	/* the first history record as ipam__history_open writes it (the
	 * transaction's first key noted, the purge step), the rest after */
	if (rc == 0) {
		const ipam__bulk_row *r = &rows[order[0]];
		ipam__hist_rec rec = {
			.scope_key = p->scope_key,
			.cidr = &r->cidr,
			.resource_id = r->made_id,
			.resource_type = "custom",
			.name = r->name,
			.owner = owner,
			.region = p->locale,
		};
		rc = ipam__history_open(db, &rec, &x.history0, err);
	}
	if (rc == 0)
		rc = insert_rows(db, T_HIST, &x, 1, n, err);
	if (rc == 0)
		rc = max_key(db, "SELECT coalesce(max(key), 0) FROM allocation",
			     &alloc0, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rows[order[i]].key = alloc0 + 1 + (int64_t)i;
	if (rc == 0)
		rc = insert_rows(db, T_ALLOC, &x, 0, n, err);
	if (rc == 0)
		rc = insert_rows(db, T_SCOPE, &x, 0, n, err);
	/* the events in the caller's order, as one by one */
	x.order = NULL;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		ev_at[i] = ev.len;
		event_detail(p, &rows[i], &ev);
	}
	if (rc == 0 && ev.failed)
		rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if (rc == 0) {
		ev_at[n] = ev.len;
		rc = insert_rows(db, T_EVENT, &x, 0, n, err);
	}
	if (rc == 0)
		db->events_logged += (int)n;
	free(ev.data);
	free(ev_at);
	return rc;
}

/* Whether the scope has resource CIDRs whose overlap status a new entry
 * of its overlap index may change. */
static int scope_has_resources(ipam *db, int64_t scope, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT 1 FROM resource r JOIN resource_cidr rc"
		" ON rc.resource_key = r.key WHERE r.scope_key = ?1 LIMIT 1",
		err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, scope);
	rc = ipam__step(db, stmt, err);
	ipam__reset(stmt);
	return rc;
}

/* The counters of the pool and the scope's prefix counts, once. */
static int counters(ipam *db, const ipam_pool_info *p,
		    const ipam__bulk_row *rows, size_t n, ipam_err *err)
{
	ipam_u128 sum = 0;
	int64_t per_prefix[129] = {0};
	ipam_stmt *stmt;
	int rc;
	for (size_t i = 0; i < n; i++) {
		sum += ipam_cidr_size(&rows[i].cidr);
		per_prefix[rows[i].cidr.prefix]++;
	}
	for (int l = 0; l <= 128; l++) {
		ipam_cidr c = {.family = (uint8_t)p->family,
			       .prefix = (uint8_t)l};
		if (per_prefix[l] &&
		    (rc = ipam__scope_prefix_add(db, p->scope_key, &c,
						 (int)per_prefix[l], err)))
			return rc;
	}
	if ((rc = ipam__pool_count(db, p->key, IPAM__COUNT_ASSIGNED, sum, +1, err)))
		return rc;
	stmt = ipam__stmt(db,
			  "UPDATE pool SET n_allocs = n_allocs + ?2,"
			  " n_compliant = n_compliant + ?2 WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, p->key);
	ipam__bind_int64(stmt, 2, (int64_t)n);
	return ipam__exec(db, stmt, err);
}

static int bulk(ipam *db, const ipam_pool_info *p, ipam__bulk_row *rows,
		const size_t *order, size_t n, ipam_err *err)
{
	int refresh = scope_has_resources(db, p->scope_key, err);
	int lists = refresh < 0 ? 0
				: ipam__plist_watches_allocs(db, p->scope_key,
							     p->family, err);
	int rc = refresh < 0 ? refresh : lists < 0 ? lists : 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (rows[i].cidr.family != p->family)
			return IPAM__BULK_FALLBACK;
		rc = ipam__path_check(db, p, "allocations", rows[i].name, err);
	}
	if (rc || (rc = take_all(db, p, rows, order, n, err)))
		return rc;
	ipam__buf ev = {0};
	if (refresh == 0)
		rc = rows_write_chunked(db, p, rows, order, n, err);
	for (size_t i = 0; rc == 0 && refresh == 1 && i < n; i++)
		rc = row_write(db, p, &rows[order[i]], i == 0, true, err);
	/* the prefix lists that follow the scope's allocations (rarely any) */
	for (size_t i = 0; rc == 0 && lists == 1 && i < n; i++)
		rc = ipam__plist_alloc(db, rows[order[i]].key, true, err);
	/* the events in the caller's order, as one by one */
	for (size_t i = 0; rc == 0 && refresh == 1 && i < n; i++)
		rc = row_event(db, p, &rows[i], &ev, err);
	free(ev.data);
	if (rc == 0)
		rc = counters(db, p, rows, n, err);
	/* the change times the per-row triggers give (changed.c) */
	return rc ? rc : ipam__changed_bulk(db, p->key, p->scope_key, err);
}

int ipam__alloc_bulk(ipam *db, int64_t pool, ipam__bulk_row *rows, size_t n,
		     ipam_err *err)
{
	ipam_pool_info p;
	size_t *order;
	sort_key *keys;
	int events = db->events_logged;
	int rc;
	if (n == 0)
		return 0;
	if ((rc = ipam__pool_load(db, pool, &p, err)))
		return rc;
	order = malloc(n * sizeof(*order));
	keys = malloc(n * sizeof(*keys));
	if (!order || !keys) {
		free(order);
		free(keys);
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		keys[i] = (sort_key){rows[i].cidr.addr, rows[i].cidr.prefix, i};
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (size_t i = 0; i < n; i++)
		order[i] = keys[i].row;
	free(keys);
	if ((rc = ipam__exec_sql(db, "SAVEPOINT ipam_bulk", err)) == 0) {
		rc = bulk(db, &p, rows, order, n, err);
		if (rc)
			ipam__exec_sql(db, "ROLLBACK TO ipam_bulk", NULL);
		ipam__exec_sql(db, "RELEASE ipam_bulk", NULL);
	}
	if (rc == IPAM__BULK_FALLBACK) {
		db->events_logged = events;
		if (err) {
			err->code = IPAM_OK;
			err->msg[0] = '\0';
		}
	}
	free(order);
	return rc;
}
