/*
 * svg.c - the CIDR map as a picture: a pool's or a scope's address space
 * as a self-contained SVG (`map.svg`, and `maps/<cidr>.svg` to zoom in).
 *
 * The model: a map is a list of items (a pool's provisioned CIDRs and its
 * allocations; or a scope's top-level pool CIDRs and its resource CIDRs). CIDR blocks either nest or lie apart, so the items form
 * a forest: each item's parent is the smallest item holding it (equal
 * CIDRs: a pool's space holds what is allocated from it; two resources
 * with one CIDR are one block of both). A view of CIDR V draws the items
 * directly below the deepest item holding V, and fills what they leave
 * with that item's state (a pool's space: available, cut into the fewest
 * aligned CIDRs as the text `map` lists free blocks).
 *
 * The picture: each view is cut into 2^k rows of equal address span (each
 * at least 256 addresses, at most 16 rows); an address's x is linear in
 * its offset in the row. Blocks narrower than IPAM_MAP_MIN_WIDTH pixels
 * are merged with their neighbours (the merged rectangle shows the worst
 * problem in it, overlapping before noncompliant, else the used state
 * holding most addresses as a band as high as the used share), and the
 * picture says how many were merged. So the size
 * of the SVG is bounded by the pixels, not by the number of allocations.
 * Positions use long double; sizes and addresses are printed exactly from
 * the 128-bit values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define NONE ((size_t)-1)

/* Geometry of the picture, in pixels. */
#define LEFT 190.0  /* row labels live left of this */
#define ROW_H 30.0  /* a row's height */
#define ROW_GAP 3.0 /* between rows */
#define HEAD_H 26.0 /* a section's heading */
#define SECTION_GAP 14.0
#define CHAR_W 6.1	 /* a character of the 10 px monospace font */
#define TOP 88.0	 /* title, links and legend above */
#define MAX_SECTIONS 256 /* sections of map.svg; the rest are counted */

static const struct {
	const char *name, *fill, *ink;
} states[IPAM_MAP_STATES] = {
	[IPAM_MAP_FREE] = {"available", "#d4edc9", "#1b1b1b"},
	[IPAM_MAP_POOL] = {"child pool", "#7e57c2", "#ffffff"},
	[IPAM_MAP_CUSTOM] = {"custom allocation", "#64b5f6", "#1b1b1b"},
	[IPAM_MAP_COMPLIANT] = {"compliant and nonoverlapping", "#2e7d32",
				"#ffffff"},
	[IPAM_MAP_OCCUPIED] = {"occupied", "#1a4f9c", "#ffffff"},
	[IPAM_MAP_OVERLAPPING] = {"overlapping", "#d32f2f", "#ffffff"},
	[IPAM_MAP_NONCOMPLIANT] = {"noncompliant", "#f9a825", "#1b1b1b"},
	[IPAM_MAP_SPACE] = {"pool space", "#a5d6a7", "#1b1b1b"},
	[IPAM_MAP_OUTSIDE] = {"not in a pool", "#eeeeee", "#1b1b1b"},
};

const char *ipam_map_state_name(ipam_map_state state)
{
	return state < IPAM_MAP_STATES ? states[state].name : "?";
}

const char *ipam_map_state_colour(ipam_map_state state)
{
	return state < IPAM_MAP_STATES ? states[state].fill : "#000000";
}

/* ---- layout ---- */

int ipam_map_rows(const ipam_cidr *cidr)
{
	int bits = ipam_family_width(cidr->family) - cidr->prefix;
	int k = bits - 8;
	if (k < 0)
		k = 0;
	if (k > 4)
		k = 4;
	return 1 << k;
}

/* Merged pieces waiting to be wide enough. */
struct bucket {
	int row;
	long double x0, x1;
	long double by_state[IPAM_MAP_STATES];
	size_t block, count;
};

struct rects {
	ipam_map_rect *items;
	size_t n, cap;
	int failed;
};

static ipam_map_rect *rect_push(struct rects *r)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 256;
		ipam_map_rect *grown = realloc(r->items, cap * sizeof(*grown));
		if (!grown) {
			r->failed = 1;
			return NULL;
		}
		r->items = grown;
		r->cap = cap;
	}
	return &r->items[r->n++];
}

static bool is_empty(ipam_map_state state)
{
	return state == IPAM_MAP_FREE || state == IPAM_MAP_OUTSIDE;
}

/*
 * What a merged rectangle shows: a problem (overlapping before
 * noncompliant) at full height, never hidden; else the state holding most
 * of the used addresses, as a band from the bottom whose height is the
 * used share rounded to the nearest quarter (but any use and any free
 * space show); *used is that share. Rounding to the nearest keeps an even
 * mix from alternating between two heights.
 */
static ipam_map_state merged_state(const struct bucket *b, double *used)
{
	long double total = 0, busy = 0;
	int best = -1;
	*used = 1;
	if (b->by_state[IPAM_MAP_OVERLAPPING] > 0)
		return IPAM_MAP_OVERLAPPING;
	if (b->by_state[IPAM_MAP_NONCOMPLIANT] > 0)
		return IPAM_MAP_NONCOMPLIANT;
	for (int s = 0; s < IPAM_MAP_STATES; s++) {
		total += b->by_state[s];
		if (is_empty((ipam_map_state)s))
			continue;
		busy += b->by_state[s];
		if (b->by_state[s] > 0 &&
		    (best < 0 || b->by_state[s] > b->by_state[best]))
			best = s;
	}
	if (best < 0) {
		*used = 0;
		return b->by_state[IPAM_MAP_OUTSIDE] >
				       b->by_state[IPAM_MAP_FREE]
			       ? IPAM_MAP_OUTSIDE
			       : IPAM_MAP_FREE;
	}
	int quarters = (int)(busy * 4 / total + 0.5L);
	if (quarters < 1)
		quarters = 1; /* some use always shows */
	if (quarters > 3 && busy < total)
		quarters = 3; /* and so does some free space */
	*used = quarters / 4.0;
	return (ipam_map_state)best;
}

/*
 * Draws the waiting pieces. Pieces too narrow to see are widened to
 * min_width (into the piece after them, or back from the row's end), so
 * a lone small block, an overlapping /32 in a /8, still shows. Returns
 * where the drawing ends.
 */
static long double flush(struct rects *r, struct bucket *b,
			 const ipam_map_block *blocks, double min_width)
{
	if (b->count == 0)
		return 0;
	double used = 1;
	ipam_map_state state = b->count == 1 ? blocks[b->block].state
					     : merged_state(b, &used);
	if (b->x1 - b->x0 < min_width) {
		b->x1 = b->x0 + min_width;
		if (b->x1 > IPAM_MAP_WIDTH) {
			b->x1 = IPAM_MAP_WIDTH;
			b->x0 = IPAM_MAP_WIDTH - min_width;
		}
	}
	long double end = b->x1;
	ipam_map_rect *last = r->n ? &r->items[r->n - 1] : NULL;
	if (last && last->count > 1 && b->count > 1 && last->row == b->row &&
	    last->state == state && last->used == used &&
	    last->x + last->width >= (double)b->x0 - 1e-6) {
		last->width = (double)b->x1 - last->x;
		last->count += b->count;
	} else if ((last = rect_push(r))) {
		*last = (ipam_map_rect){
			b->row,	 (double)b->x0, (double)(b->x1 - b->x0),
			state,	 used,		b->block,
			b->count};
	}
	memset(b, 0, sizeof(*b));
	return end;
}

/* One block's part of one row. */
static void piece(struct rects *r, struct bucket *b,
		  const ipam_map_block *blocks, double min_width, int row,
		  long double x0, long double x1, size_t block)
{
	if (b->count && b->row != row)
		flush(r, b, blocks, min_width);
	if (x1 - x0 >= min_width) {
		long double end = flush(r, b, blocks, min_width);
		if (end > x0)
			x0 = end; /* the widened pieces before took it */
		ipam_map_rect *rect = rect_push(r);
		if (rect)
			*rect = (ipam_map_rect){row,
						(double)x0,
						(double)(x1 - x0),
						blocks[block].state,
						1,
						block,
						1};
		return;
	}
	if (b->count == 0) {
		b->row = row;
		b->x0 = x0;
		b->block = block;
	}
	b->x1 = x1;
	b->by_state[blocks[block].state] += x1 - x0;
	b->count++;
	if (b->x1 - b->x0 >= min_width)
		flush(r, b, blocks, min_width);
}

int ipam_map_layout(const ipam_cidr *view, const ipam_map_block *blocks,
		    size_t count, double min_width, ipam_map_rect **out,
		    size_t *n_rects, ipam_err *err)
{
	int rows = ipam_map_rows(view);
	int shift = ipam_family_width(view->family) - view->prefix;
	struct rects r = {NULL, 0, 0, 0};
	struct bucket b;
	ipam_u128 first = view->addr, last = ipam_cidr_last(view);

	for (int k = rows; k > 1; k >>= 1)
		shift--; /* a row spans 2^(host bits - log2 rows) */
	ipam_u128 span = (ipam_u128)1 << shift;
	long double scale = IPAM_MAP_WIDTH / (long double)span;
	memset(&b, 0, sizeof(b));
	for (size_t i = 0; i < count && !r.failed; i++) {
		ipam_u128 a = blocks[i].first > first ? blocks[i].first : first;
		ipam_u128 z = blocks[i].last < last ? blocks[i].last : last;
		while (a <= z && !r.failed) {
			ipam_u128 row = (a - first) >> shift;
			ipam_u128 row_start = first + (row << shift);
			ipam_u128 row_last = row_start + (span - 1);
			ipam_u128 e = z < row_last ? z : row_last;
			piece(&r, &b, blocks, min_width, (int)row,
			      (long double)(a - row_start) * scale,
			      ((long double)(e - row_start) + 1) * scale, i);
			if (e == z)
				break;
			a = e + 1;
		}
	}
	flush(&r, &b, blocks, min_width);
	if (r.failed) {
		free(r.items);
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	*out = r.items;
	*n_rects = r.n;
	return 0;
}

/* ---- the model: items and their forest ---- */

struct item {
	ipam_cidr cidr;
	ipam_map_state state;
	int rank;     /* on equal CIDRs the lower rank holds the higher */
	char *holder; /* who holds it (malloc'd), or NULL */
	size_t parent, child, next;
	size_t holders; /* resources sharing the CIDR */
	bool dead;	/* merged into the item before it */
};

struct map {
	struct item *items;
	size_t n, cap;
	size_t roots; /* first root; the others follow by `next` */
	bool scope;
	const ipam_cidr *view; /* load only what meets it (NULL: all) */
	char title[IPAM_NAME_MAX + IPAM_ID_MAX + 16];
};

static void map_free(struct map *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->items[i].holder);
	free(m->items);
}

static int map_add(struct map *m, const ipam_cidr *cidr, ipam_map_state state,
		   int rank, const char *holder, ipam_err *err)
{
	if (m->view && !ipam_cidr_overlaps(m->view, cidr))
		return 0;
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 64;
		struct item *grown = realloc(m->items, cap * sizeof(*grown));
		if (!grown)
			return ipam__fail(err, IPAM_ENOMEM, "out of memory");
		m->items = grown;
		m->cap = cap;
	}
	struct item *it = &m->items[m->n];
	memset(it, 0, sizeof(*it));
	it->cidr = *cidr;
	it->state = state;
	it->rank = rank;
	it->holders = 1;
	if (holder && *holder && !(it->holder = ipam__strdup(holder)))
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	m->n++;
	return 0;
}

static int item_compare(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = ipam_cidr_compare(&x->cidr, &y->cidr);
	return c ? c : x->rank - y->rank;
}

/* Of two states of one block, the one to show. */
static ipam_map_state worse(ipam_map_state a, ipam_map_state b)
{
	if (a == IPAM_MAP_OVERLAPPING || b == IPAM_MAP_OVERLAPPING)
		return IPAM_MAP_OVERLAPPING;
	if (a == IPAM_MAP_NONCOMPLIANT || b == IPAM_MAP_NONCOMPLIANT)
		return IPAM_MAP_NONCOMPLIANT;
	return a;
}

/* Two resources with one CIDR: one block naming both. */
static int merge_into(struct item *keep, struct item *dup, ipam_err *err)
{
	keep->state = worse(keep->state, dup->state);
	keep->holders++;
	dup->dead = true;
	if (!dup->holder)
		return 0;
	size_t len = (keep->holder ? strlen(keep->holder) + 2 : 0) +
		     strlen(dup->holder) + 1;
	char *joined = malloc(len);
	if (!joined)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	snprintf(joined, len, "%s%s%s", keep->holder ? keep->holder : "",
		 keep->holder ? ", " : "", dup->holder);
	free(keep->holder);
	keep->holder = joined;
	return 0;
}

/*
 * Sorts the items: they arrive as a few sorted runs (each query reads in
 * address order), so a natural merge sort takes O(n) per pass and a pass
 * halves the runs; a general sort would be O(n log n) on 10^5 items.
 */
static int map_sort(struct map *m, ipam_err *err)
{
	struct item *tmp = NULL;
	if (m->n < 2)
		return 0;
	for (;;) {
		size_t out = 0, runs = 0, i = 0;
		while (i < m->n) {
			size_t a = i, b = i + 1;
			while (b < m->n && item_compare(&m->items[b - 1],
							&m->items[b]) <= 0)
				b++;
			size_t c = b, e = b < m->n ? b + 1 : b;
			while (e < m->n && item_compare(&m->items[e - 1],
							&m->items[e]) <= 0)
				e++;
			runs++;
			if (b == m->n && runs == 1) {
				free(tmp);
				return 0; /* one run: sorted */
			}
			if (!tmp && !(tmp = malloc(m->n * sizeof(*tmp))))
				return ipam__fail(err, IPAM_ENOMEM,
						  "out of memory");
			while (a < b || c < e)
				tmp[out++] =
					c >= e || (a < b &&
						   item_compare(&m->items[a],
								&m->items[c]) <=
							   0)
						? m->items[a++]
						: m->items[c++];
			i = e;
		}
		memcpy(m->items, tmp, m->n * sizeof(*tmp));
	}
}

/* Sorts the items and links each to its parent, children in address
 * order. A stack of the open ancestors makes it one pass. */
static int map_build(struct map *m, ipam_err *err)
{
	size_t *stack = malloc((m->n + 1) * sizeof(*stack));
	size_t depth = 0;
	int rc = 0;

	if (!stack)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if ((rc = map_sort(m, err))) {
		free(stack);
		return rc;
	}
	for (size_t i = 0; i < m->n && rc == 0; i++) {
		struct item *it = &m->items[i];
		it->parent = it->child = it->next = NONE;
		while (depth &&
		       !ipam_cidr_contains(&m->items[stack[depth - 1]].cidr,
					   &it->cidr))
			depth--;
		struct item *top = depth ? &m->items[stack[depth - 1]] : NULL;
		if (top && top->rank == it->rank && top->rank > 0 &&
		    ipam_cidr_compare(&top->cidr, &it->cidr) == 0) {
			rc = merge_into(top, it, err);
			continue;
		}
		it->parent = top ? stack[depth - 1] : NONE;
		stack[depth++] = i;
	}
	free(stack);
	m->roots = NONE;
	for (size_t i = m->n; i-- > 0;) {
		struct item *it = &m->items[i];
		if (it->dead)
			continue;
		size_t *head = it->parent == NONE ? &m->roots
						  : &m->items[it->parent].child;
		it->next = *head;
		*head = i;
	}
	return rc;
}

/* The deepest item holding `view`, or NONE. */
static size_t map_container(const struct map *m, const ipam_cidr *view)
{
	size_t found = NONE, cur = m->roots;
	while (cur != NONE) {
		const struct item *it = &m->items[cur];
		if (ipam_cidr_contains(&it->cidr, view)) {
			found = cur;
			cur = it->child;
		} else {
			cur = it->next;
		}
	}
	return found;
}

/* ---- loading a pool's and a scope's items ---- */

static int load_pool(ipam *db, int64_t pool, struct map *m, ipam_err *err)
{
	ipam_pool_info *info = malloc(sizeof(*info));
	ipam_pool_cidr *cidrs = NULL;
	size_t n = 0;
	int rc = info ? ipam__pool_load(db, pool, info, err)
		      : ipam__fail(err, IPAM_ENOMEM, "out of memory");

	if (rc == 0)
		snprintf(m->title, sizeof(m->title), "pool %s (%s)", info->name,
			 info->id);
	if (rc == 0)
		rc = ipam_pool_cidrs(db, pool, &cidrs, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = map_add(m, &cidrs[i].cidr, IPAM_MAP_SPACE, 0, NULL, err);
	int family = n ? cidrs[0].cidr.family : 4;
	free(cidrs);
	free(info);
	if (rc || n == 0)
		return rc;

	ipam_stmt *allocs = ipam__stmt(
		db,
		"SELECT a.start, a.prefix, a.resource_type, CASE"
		" a.resource_type WHEN 'custom' THEN a.name WHEN 'ipam-pool'"
		" THEN coalesce((SELECT p.name FROM pool p WHERE p.aws_id ="
		" a.resource_id), a.name) ELSE a.resource_id END, a.compliant,"
		" a.resource_type NOT IN ('custom', 'ipam-pool') AND EXISTS"
		" (SELECT 1 FROM resource_cidr rc WHERE rc.alloc_key = a.key"
		" AND rc.overlap = 'overlapping') FROM allocation a"
		" WHERE a.pool_key = ?1 AND a.start <= ?2 ORDER BY a.start",
		err);
	if (!allocs)
		return ipam__stmt_error(err);
	ipam__bind_int64(allocs, 1, pool);
	ipam__bind_addr(allocs, 2,
			m->view ? ipam_cidr_last(m->view) : ~(ipam_u128)0);
	while (rc == 0 && (rc = ipam__step(db, allocs, err)) == 1) {
		ipam_cidr c = {ipam__blob_to_addr(allocs, 0), (uint8_t)family,
			       (uint8_t)ipam__col_int(allocs, 1)};
		const char *type = ipam__col_text(allocs, 2);
		ipam__rtype rtype = ipam__rtype_of(type);
		ipam_map_state state =
			rtype == IPAM__RT_CUSTOM      ? IPAM_MAP_CUSTOM
			: rtype == IPAM__RT_IPAM_POOL ? IPAM_MAP_POOL
			: ipam__col_int(allocs, 5)    ? IPAM_MAP_OVERLAPPING
			: ipam__col_int(allocs, 4)    ? IPAM_MAP_COMPLIANT
						      : IPAM_MAP_NONCOMPLIANT;
		rc = map_add(m, &c, state, 1,
			     ipam__col_text(allocs, 3), err);
	}
	ipam__reset(allocs);
	return rc < 0 ? rc : 0;
}

static ipam_map_state resource_state(const char *compliance,
				     const char *overlap)
{
	if (!strcmp(overlap, "overlapping"))
		return IPAM_MAP_OVERLAPPING;
	switch (ipam__compliance_of(compliance)) {
	case IPAM__COMP_NONCOMPLIANT:
		return IPAM_MAP_NONCOMPLIANT;
	case IPAM__COMP_COMPLIANT:
		return IPAM_MAP_COMPLIANT;
	default:
		return IPAM_MAP_OCCUPIED;
	}
}

static int load_scope(ipam *db, int64_t scope, struct map *m, ipam_err *err)
{
	ipam_scope_info *info = malloc(sizeof(*info));
	int rc = info ? ipam_scope_get_by_key(db, scope, info, err)
		      : ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if (rc == 0)
		snprintf(m->title, sizeof(m->title), "scope %s (%s)",
			 info->name, info->id);
	free(info);
	if (rc)
		return rc;

	ipam_stmt *pools = ipam__stmt(
		db,
		"SELECT pc.start, pc.prefix, p.family, p.name FROM pool_cidr pc"
		" JOIN pool p ON p.key = pc.pool_key WHERE p.scope_key = ?1"
		" AND p.parent_key IS NULL",
		err);
	if (!pools)
		return ipam__stmt_error(err);
	ipam__bind_int64(pools, 1, scope);
	while (rc == 0 && (rc = ipam__step(db, pools, err)) == 1) {
		ipam_cidr c = {ipam__blob_to_addr(pools, 0),
			       (uint8_t)ipam__col_int(pools, 2),
			       (uint8_t)ipam__col_int(pools, 1)};
		rc = map_add(m, &c, IPAM_MAP_SPACE, 0,
			     ipam__col_text(pools, 3), err);
	}
	ipam__reset(pools);
	if (rc < 0)
		return rc;

	ipam_stmt *res = ipam__stmt(
		db,
		"SELECT rc.family, rc.start, rc.prefix, rc.compliance,"
		" rc.overlap, r.resource_id FROM resource_cidr rc JOIN"
		" resource r ON r.key = rc.resource_key WHERE r.scope_key ="
		" ?1 AND r.ignored = 0 ORDER BY rc.family, rc.start",
		err);
	if (!res)
		return ipam__stmt_error(err);
	ipam__bind_int64(res, 1, scope);
	rc = 0;
	while (rc == 0 && (rc = ipam__step(db, res, err)) == 1) {
		ipam_cidr c = {ipam__blob_to_addr(res, 1),
			       (uint8_t)ipam__col_int(res, 0),
			       (uint8_t)ipam__col_int(res, 2)};
		ipam_map_state state = resource_state(
			ipam__col_text(res, 3),
			ipam__col_text(res, 4));
		rc = map_add(m, &c, state, 1,
			     ipam__col_text(res, 5), err);
	}
	ipam__reset(res);
	return rc < 0 ? rc : 0;
}

/* Loads and links the map of a pool or a scope (inside a read). */
static int map_load(ipam *db, int64_t pool, int64_t scope,
		    const ipam_cidr *view, struct map *m, ipam_err *err)
{
	memset(m, 0, sizeof(*m));
	m->scope = pool == 0;
	m->view = view;
	int rc = pool ? load_pool(db, pool, m, err)
		      : load_scope(db, scope, m, err);
	if (rc == 0)
		rc = map_build(m, err);
	return rc;
}

/* ---- the blocks of one view ---- */

struct view {
	ipam_cidr cidr;
	size_t container; /* NONE: in no block */
	ipam_map_block *blocks;
	size_t *origin;	 /* the item a block draws, NONE for filler */
	ipam_cidr *free; /* filler that is free space: its CIDR */
	size_t n, cap;
	size_t merged; /* blocks merged into wider rectangles */
};

static int view_push(struct view *v, ipam_u128 first, ipam_u128 last,
		     ipam_map_state state, size_t origin,
		     const ipam_cidr *free_cidr)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 64;
		ipam_map_block *b = realloc(v->blocks, cap * sizeof(*b));
		if (b)
			v->blocks = b;
		size_t *o = b ? realloc(v->origin, cap * sizeof(*o)) : NULL;
		if (o)
			v->origin = o;
		ipam_cidr *f = o ? realloc(v->free, cap * sizeof(*f)) : NULL;
		if (!f)
			return IPAM_ENOMEM;
		v->free = f;
		v->cap = cap;
	}
	v->blocks[v->n] = (ipam_map_block){first, last, state};
	v->origin[v->n] = origin;
	v->free[v->n] = free_cidr ? *free_cidr : (ipam_cidr){0, 0, 0};
	v->n++;
	return 0;
}

/* Filler from `first` to `last`. Free space of a pool is cut into the
 * fewest aligned CIDRs (as the text `map` lists free blocks), each of
 * which can be labelled and zoomed into. */
static int view_fill(struct view *v, int family, ipam_u128 first,
		     ipam_u128 last, ipam_map_state fill)
{
	ipam_cidr parts[2 * 128];
	if (fill != IPAM_MAP_FREE)
		return view_push(v, first, last, fill, NONE, NULL);
	size_t n = ipam_range_split(family, first, last, parts, 2 * 128);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = view_push(v, parts[i].addr, ipam_cidr_last(&parts[i]),
			       fill, NONE, &parts[i]);
	return rc;
}

/* Lists the blocks of view v: the items right below its container, and
 * filler in the container's state between them. */
static int view_blocks(const struct map *m, struct view *v, ipam_err *err)
{
	size_t cur;
	int rc = 0, family = v->cidr.family;
	v->container = map_container(m, &v->cidr);
	size_t head = v->container == NONE ? m->roots
					   : m->items[v->container].child;
	ipam_map_state fill = IPAM_MAP_OUTSIDE;
	if (v->container != NONE) {
		fill = m->items[v->container].state;
		if (fill == IPAM_MAP_SPACE)
			fill = IPAM_MAP_FREE;
	}
	ipam_u128 pos = v->cidr.addr, last = ipam_cidr_last(&v->cidr);
	bool done = false;
	for (cur = head; rc == 0 && cur != NONE && !done;
	     cur = m->items[cur].next) {
		const struct item *it = &m->items[cur];
		if (!ipam_cidr_contains(&v->cidr, &it->cidr))
			continue;
		if (it->cidr.addr > pos)
			rc = view_fill(v, family, pos, it->cidr.addr - 1, fill);
		ipam_u128 end = ipam_cidr_last(&it->cidr);
		if (rc == 0)
			rc = view_push(v, it->cidr.addr, end, it->state, cur,
				       NULL);
		done = end == last;
		pos = end + 1;
	}
	if (rc == 0 && !done)
		rc = view_fill(v, family, pos, last, fill);
	return rc ? ipam__fail(err, IPAM_ENOMEM, "out of memory") : 0;
}

static void view_free(struct view *v)
{
	free(v->blocks);
	free(v->origin);
	free(v->free);
}

/* ---- writing SVG ---- */

static void put_escaped(ipam__buf *buf, const char *text)
{
	for (const char *p = text; *p; p++) {
		switch (*p) {
		case '&':
			ipam__buf_add(buf, "&amp;", 5);
			break;
		case '<':
			ipam__buf_add(buf, "&lt;", 4);
			break;
		case '>':
			ipam__buf_add(buf, "&gt;", 4);
			break;
		case '"':
			ipam__buf_add(buf, "&quot;", 6);
			break;
		default:
			/* XML 1.0 forbids most control characters. */
			if ((unsigned char)*p >= 0x20 || *p == '\t')
				ipam__buf_add(buf, p, 1);
		}
	}
}

static void put_count(ipam__buf *buf, ipam_u128 count)
{
	char text[IPAM_U128_STRLEN];
	ipam_u128_format(count, text);
	ipam__buf_printf(buf, "%s address%s", text, count == 1 ? "" : "es");
}

/* The relative file name of the zoom into `cidr`. */
static void put_href(ipam__buf *buf, const char *base, const ipam_cidr *cidr)
{
	char name[IPAM_CIDR_STRLEN];
	ipam_cidr_format_filename(cidr, name);
	ipam__buf_printf(buf, "<a href=\"%s%s.svg\">", base, name);
}

/* The block a single rectangle draws: its tooltip, and its label when
 * the rectangle is wide enough. */
static void put_block(ipam__buf *buf, const struct map *m, const struct view *v,
		      const ipam_map_rect *r, double x, double y)
{
	const ipam_map_block *b = &v->blocks[r->block];
	size_t origin = v->origin[r->block];
	const struct item *it = origin == NONE ? NULL : &m->items[origin];
	char text[IPAM_CIDR_STRLEN], to[IPAM_CIDR_STRLEN];

	const ipam_cidr *free_cidr =
		v->free[r->block].family ? &v->free[r->block] : NULL;
	ipam__buf_printf(buf, "<title>");
	if (it || free_cidr) {
		ipam_cidr_format(it ? &it->cidr : free_cidr, text);
		ipam__buf_printf(buf, "%s ", text);
		if (it && it->holder) {
			put_escaped(buf, it->holder);
			ipam__buf_printf(buf, " ");
		}
	} else {
		ipam_addr_format(v->cidr.family, b->first, text);
		ipam_addr_format(v->cidr.family, b->last, to);
		ipam__buf_printf(buf, "%s - %s ", text, to);
	}
	ipam__buf_printf(buf, "(%s, ", states[b->state].name);
	put_count(buf, b->last - b->first + 1);
	ipam__buf_printf(buf, ")</title>");
	if (!it && !free_cidr)
		return;
	/* Labels start at the left and keep off the lower right corner. */
	double room = r->width - 6;
	if ((double)strlen(text) * CHAR_W > room)
		return;
	ipam__buf_printf(buf,
			 "<text x=\"%.2f\" y=\"%.0f\" fill=\"%s\">%s</text>",
			 x + 3, y + 12, states[b->state].ink, text);
	if (it && it->holder && (double)strlen(it->holder) * CHAR_W <= room) {
		ipam__buf_printf(buf,
				 "<text x=\"%.2f\" y=\"%.0f\" fill=\"%s\">",
				 x + 3, y + 24, states[b->state].ink);
		put_escaped(buf, it->holder);
		ipam__buf_printf(buf, "</text>");
	}
}

static void put_rect(ipam__buf *buf, const struct map *m, struct view *v,
		     const ipam_map_rect *r, double top, const char *base)
{
	double x = LEFT + r->x, y = top + r->row * (ROW_H + ROW_GAP);
	size_t origin = v->origin[r->block];
	bool link = r->count == 1 &&
		    (origin != NONE || v->free[r->block].family);
	if (link)
		put_href(buf, base,
			 origin != NONE ? &m->items[origin].cidr
					: &v->free[r->block]);
	/* A merged rectangle partly used: the empty state, then the band. */
	ipam_map_state back = r->used < 1 && r->state != IPAM_MAP_OUTSIDE
				      ? IPAM_MAP_FREE
				      : r->state;
	ipam__buf_printf(buf,
			 "<g><rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" "
			 "height=\"%.0f\" fill=\"%s\"/>",
			 x, y, r->width, ROW_H, states[back].fill);
	if (r->used > 0 && r->used < 1)
		ipam__buf_printf(buf,
				 "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
				 "height=\"%.1f\" fill=\"%s\"/>",
				 x, y + ROW_H * (1 - r->used), r->width,
				 ROW_H * r->used, states[r->state].fill);
	if (r->count == 1) {
		put_block(buf, m, v, r, x, y);
	} else {
		char from[IPAM_CIDR_STRLEN], to[IPAM_CIDR_STRLEN];
		const ipam_map_block *b = &v->blocks[r->block];
		ipam_addr_format(v->cidr.family, b->first, from);
		ipam_addr_format(v->cidr.family,
				 v->blocks[r->block + r->count - 1].last, to);
		ipam__buf_printf(buf,
				 "<title>%zu blocks %s-%s: %s, %g%%</title>",
				 r->count, from, to, states[r->state].name,
				 r->used * 100);
		v->merged += r->count;
	}
	ipam__buf_printf(buf, "</g>%s\n", link ? "</a>" : "");
}

/* The span of one row of a view, as a CIDR of row `row`. */
static ipam_cidr row_cidr(const ipam_cidr *view, int rows, int row)
{
	int k = 0;
	while ((1 << k) < rows)
		k++;
	ipam_cidr c = *view;
	c.prefix = (uint8_t)(view->prefix + k);
	int shift = ipam_family_width(view->family) - c.prefix;
	c.addr = view->addr + ((ipam_u128)row << shift);
	return c;
}

/* The heading of a view: its CIDR, what holds it, its size. */
static void put_heading(ipam__buf *buf, const struct map *m,
			const struct view *v, double top)
{
	char text[IPAM_CIDR_STRLEN];
	ipam_cidr_format(&v->cidr, text);
	ipam__buf_printf(buf, "<text x=\"8\" y=\"%.0f\" font-size=\"13\">%s",
			 top + 17, text);
	if (v->container != NONE) {
		const struct item *it = &m->items[v->container];
		if (ipam_cidr_compare(&it->cidr, &v->cidr)) {
			ipam_cidr_format(&it->cidr, text);
			ipam__buf_printf(buf, " in %s", text);
		}
		ipam__buf_printf(buf, " - %s",
				 it->state != IPAM_MAP_SPACE
					 ? states[it->state].name
				 : m->scope ? "pool"
					    : "provisioned");
		if (it->holder) {
			ipam__buf_printf(buf, " ");
			put_escaped(buf, it->holder);
		}
	} else {
		ipam__buf_printf(buf, " - %s", states[IPAM_MAP_OUTSIDE].name);
	}
	ipam__buf_printf(buf, " - ");
	put_count(buf, ipam_cidr_size(&v->cidr));
	ipam__buf_printf(buf, "</text>\n");
}

/* One section: heading, row labels, the rectangles. Returns its height. */
static int put_view(ipam__buf *buf, const struct map *m, struct view *v,
		    double top, const char *base, double *height, ipam_err *err)
{
	ipam_map_rect *rects = NULL;
	size_t n = 0;
	int rows = ipam_map_rows(&v->cidr);
	int rc = view_blocks(m, v, err);
	if (rc == 0)
		rc = ipam_map_layout(&v->cidr, v->blocks, v->n,
				     IPAM_MAP_MIN_WIDTH, &rects, &n, err);
	if (rc)
		return rc;
	put_heading(buf, m, v, top);
	double body = top + HEAD_H;
	for (int r = 0; rows > 1 && r < rows; r++) {
		char text[IPAM_CIDR_STRLEN];
		ipam_cidr c = row_cidr(&v->cidr, rows, r);
		ipam_cidr_format(&c, text);
		put_href(buf, base, &c);
		ipam__buf_printf(buf,
				 "<text x=\"8\" y=\"%.0f\" fill=\"#1a4f9c\">"
				 "%s</text></a>\n",
				 body + r * (ROW_H + ROW_GAP) + 19, text);
	}
	for (size_t i = 0; i < n; i++)
		put_rect(buf, m, v, &rects[i], body, base);
	free(rects);
	*height = HEAD_H + rows * (ROW_H + ROW_GAP) + SECTION_GAP;
	return 0;
}

static void put_legend(ipam__buf *buf, bool scope)
{
	static const ipam_map_state pool_states[] = {
		IPAM_MAP_FREE,	       IPAM_MAP_POOL,
		IPAM_MAP_CUSTOM,       IPAM_MAP_COMPLIANT,
		IPAM_MAP_NONCOMPLIANT, IPAM_MAP_OVERLAPPING};
	static const ipam_map_state scope_states[] = {
		IPAM_MAP_FREE,	      IPAM_MAP_COMPLIANT,    IPAM_MAP_OCCUPIED,
		IPAM_MAP_OVERLAPPING, IPAM_MAP_NONCOMPLIANT, IPAM_MAP_SPACE,
		IPAM_MAP_OUTSIDE};
	const ipam_map_state *list = scope ? scope_states : pool_states;
	size_t n = scope ? 7 : 6;
	double x = 8;
	for (size_t i = 0; i < n; i++) {
		const char *name = states[list[i]].name;
		ipam__buf_printf(buf,
				 "<rect x=\"%.0f\" y=\"56\" width=\"14\" "
				 "height=\"14\" fill=\"%s\" stroke=\"#555\"/>"
				 "<text x=\"%.0f\" y=\"67\">%s</text>\n",
				 x, states[list[i]].fill, x + 19, name);
		x += 19 + (double)strlen(name) * CHAR_W + 16;
	}
}

/* Where a zoom leads back to: a CIDR up to 4 bits shorter that still lies
 * in the top block holding it, or NULL for map.svg itself. */
static void put_zoom_out(ipam__buf *buf, const struct map *m,
			 const ipam_cidr *view)
{
	size_t top = map_container(m, view);
	while (top != NONE && m->items[top].parent != NONE)
		top = m->items[top].parent;
	ipam__buf_printf(buf, "<a href=\"../map.svg\"><text x=\"8\" "
			      "y=\"40\" fill=\"#1a4f9c\">whole map</text></a>");
	if (top == NONE || m->items[top].cidr.prefix >= view->prefix) {
		ipam__buf_printf(buf, "\n");
		return;
	}
	ipam_cidr up = *view;
	int prefix = up.prefix - 4;
	if (prefix < m->items[top].cidr.prefix)
		prefix = m->items[top].cidr.prefix;
	up.prefix = (uint8_t)prefix;
	int host = ipam_family_width(up.family) - prefix;
	if (host >= 128)
		up.addr = 0;
	else
		up.addr &= ~(((ipam_u128)1 << host) - 1);
	char text[IPAM_CIDR_STRLEN];
	ipam_cidr_format(&up, text);
	put_href(buf, "", &up);
	ipam__buf_printf(buf,
			 "<text x=\"110\" y=\"40\" fill=\"#1a4f9c\">zoom out "
			 "to %s</text></a>\n",
			 text);
}

static void put_head(ipam__buf *buf, double width, double height,
		     const struct map *m, const ipam_cidr *view)
{
	char text[IPAM_CIDR_STRLEN] = "";
	if (view)
		ipam_cidr_format(view, text);
	ipam__buf_printf(
		buf,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
		"width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
		"font-family=\"monospace\" font-size=\"10\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
		"<title>",
		width, height, width, height);
	put_escaped(buf, m->title);
	ipam__buf_printf(buf,
			 "%s%s</title>\n<text x=\"8\" y=\"22\" "
			 "font-size=\"15\" font-weight=\"bold\">",
			 view ? " " : "", text);
	put_escaped(buf, m->title);
	ipam__buf_printf(buf, "%s%s</text>\n", view ? ": " : "", text);
}

/* One section per top block (map.svg), or the one of a zoom. */
static int put_sections(ipam__buf *buf, struct map *m, const ipam_cidr *view,
			double *y, size_t *merged, size_t *left_out,
			ipam_err *err)
{
	size_t shown = 0, cur = view ? NONE : m->roots;
	int rc = 0;
	if (!view && cur == NONE)
		return 0; /* nothing provisioned */
	do {
		if (!view && shown == MAX_SECTIONS) {
			(*left_out)++;
			cur = m->items[cur].next;
			continue;
		}
		struct view v = {.cidr = view ? *view : m->items[cur].cidr,
				 .container = NONE};
		double height = 0;
		rc = put_view(buf, m, &v, *y, view ? "" : "maps/", &height,
			      err);
		*merged += v.merged;
		*y += height;
		shown++;
		view_free(&v);
		if (!view)
			cur = m->items[cur].next;
	} while (rc == 0 && cur != NONE);
	return rc;
}

static int render(ipam *db, int64_t pool, int64_t scope, const ipam_cidr *view,
		  ipam__buf *buf, ipam_err *err)
{
	struct map m;
	ipam__buf body = {0};
	double y = TOP;
	size_t merged = 0, left_out = 0;
	int rc = map_load(db, pool, scope, view, &m, err);

	if (rc == 0 && view && map_container(&m, view) == NONE) {
		char text[IPAM_CIDR_STRLEN];
		ipam_cidr_format(view, text);
		rc = ipam__fail(err, IPAM_ENOENT, "%s is in no block of %s",
				text, m.title);
	}
	if (rc == 0)
		rc = put_sections(&body, &m, view, &y, &merged, &left_out, err);
	if (rc == 0) {
		put_head(buf, LEFT + IPAM_MAP_WIDTH + 10, y + 24, &m, view);
		if (view)
			put_zoom_out(buf, &m, view);
		put_legend(buf, m.scope);
		if (!view && m.roots == NONE)
			ipam__buf_printf(buf,
					 "<text x=\"8\" y=\"%.0f\">"
					 "nothing provisioned</text>\n",
					 TOP + 16);
		ipam__buf_printf(buf, "<text x=\"8\" y=\"%.0f\">", y + 8);
		if (merged)
			ipam__buf_printf(buf,
					 "%zu blocks narrower than %.0f px are "
					 "drawn merged (hover for ranges; "
					 "zoom in to see them apart). ",
					 merged, IPAM_MAP_MIN_WIDTH);
		if (left_out)
			ipam__buf_printf(buf,
					 "%zu more top-level blocks are not "
					 "drawn; open maps/CIDR.svg. ",
					 left_out);
		ipam__buf_printf(buf, "Click a block or a row to zoom in."
				      "</text>\n");
		ipam__buf_add(buf, body.data ? body.data : "", body.len);
		ipam__buf_printf(buf, "</svg>\n");
	}
	free(body.data);
	map_free(&m);
	return rc;
}

int ipam_render_map_svg(ipam *db, int64_t pool, int64_t scope,
			const ipam_cidr *view, char **out, size_t *len,
			ipam_err *err)
{
	ipam__buf buf = {0};
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	rc = render(db, pool, scope, view, &buf, err);
	if (rc) {
		free(buf.data);
		return ipam__read_end(db, rc);
	}
	return ipam__read_end(db, ipam__buf_finish(&buf, out, len, err));
}

int ipam_map_view_check(ipam *db, int64_t pool, int64_t scope,
			const ipam_cidr *view, ipam_err *err)
{
	struct map m;
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	rc = map_load(db, pool, scope, view, &m, err);
	if (rc == 0 && map_container(&m, view) == NONE)
		rc = ipam__fail(err, IPAM_ENOENT, "no block holds that view");
	map_free(&m);
	return ipam__read_end(db, rc);
}

static int push_view(ipam_strlist *out, const ipam_cidr *cidr)
{
	char name[IPAM_CIDR_STRLEN + 4];
	ipam_cidr_format_filename(cidr, name);
	strcat(name, ".svg");
	return ipam__strlist_push(out, name);
}

int ipam_map_views(ipam *db, int64_t pool, int64_t scope, ipam_strlist *out,
		   ipam_err *err)
{
	struct map m;
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	rc = map_load(db, pool, scope, NULL, &m, err);
	out->count = 0;
	out->items = NULL;
	for (size_t cur = m.roots; rc == 0 && cur != NONE;
	     cur = m.items[cur].next) {
		const ipam_cidr *c = &m.items[cur].cidr;
		int rows = ipam_map_rows(c);
		if (push_view(out, c))
			rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
		for (int r = 0; rc == 0 && rows > 1 && r < rows; r++) {
			ipam_cidr row = row_cidr(c, rows, r);
			if (push_view(out, &row))
				rc = ipam__fail(err, IPAM_ENOMEM,
						"out of memory");
		}
	}
	map_free(&m);
	if (rc)
		ipam_strlist_free(out);
	return ipam__read_end(db, rc);
}
