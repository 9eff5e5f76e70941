/*
 * test_model.c - the allocator against a brute-force model.
 *
 * A window of 8192 addresses (10.0.0.0/19, or fd01:abcd::/115, in a child pool, for IPv6)
 * is modelled as one owner slot per address plus the list of provisioned
 * CIDRs. A fixed-seed random walk of allocations (by size and by CIDR),
 * releases, provisions and deprovisions runs against one pool; every
 * step's result (CIDR or exact error code) is predicted by the model, and
 * after every step the pool's map (each provisioned CIDR, then every
 * allocation and maximal aligned free block in address order), its usage
 * counters and a preview are compared with what the model computes by
 * scanning. Every 64 steps the allocations are also read back one by one
 * and checked for overlap and containment without the model.
 */
#include "fixture.h"

#define WINDOW_BITS 13
#define WINDOW (1u << WINDOW_BITS) /* addresses in the window */
#define WINDOW_PREFIX (32 - WINDOW_BITS)
#define MAX_CIDRS 64
#define MAX_ALLOCS WINDOW

typedef struct block {
	uint32_t start; /* offset in the window */
	int prefix;	/* IPv4-style prefix, 19..32 */
	int name;	/* allocations: the number in the name "a<n>" */
} block;

typedef struct model {
	int family;
	ipam_u128 base;
	int shift; /* prefix offset: 0 for IPv4, 96 for IPv6 */
	ipam_strategy strategy;
	int owner[WINDOW];	       /* 0 free, else index + 1 into allocs */
	uint32_t used_sum[WINDOW + 1]; /* prefix sums of used slots */
	block cidrs[MAX_CIDRS];
	int ncidrs;
	block allocs[MAX_ALLOCS];
	int nallocs;
	int next_name;
	uint64_t rng;
	ipam *db;
	int64_t pool;
	char name[16];
} model;

static uint64_t next_rand(model *m)
{
	/* xorshift64* */
	m->rng ^= m->rng >> 12;
	m->rng ^= m->rng << 25;
	m->rng ^= m->rng >> 27;
	return m->rng * 0x2545f4914f6cdd1dULL;
}

static uint32_t rnd(model *m, uint32_t n)
{
	return (uint32_t)(next_rand(m) >> 33) % n;
}

static uint32_t size_of(int prefix)
{
	return 1u << (32 - prefix);
}

static ipam_cidr to_cidr(const model *m, uint32_t start, int prefix)
{
	ipam_cidr c = {.family = (uint8_t)m->family,
		       .prefix = (uint8_t)(prefix + m->shift)};
	c.addr = m->base + start;
	return c;
}

static void recount(model *m)
{
	m->used_sum[0] = 0;
	for (uint32_t i = 0; i < WINDOW; i++)
		m->used_sum[i + 1] = m->used_sum[i] + (m->owner[i] != 0);
}

static uint32_t used_in(const model *m, uint32_t start, uint32_t size)
{
	return m->used_sum[start + size] - m->used_sum[start];
}

/* The provisioned CIDR that wholly contains the block, or -1. */
static int cidr_containing(const model *m, uint32_t start, int prefix)
{
	for (int i = 0; i < m->ncidrs; i++) {
		const block *c = &m->cidrs[i];
		if (c->prefix <= prefix && start >= c->start &&
		    start < c->start + size_of(c->prefix))
			return i;
	}
	return -1;
}

static int cmp_block(const void *a, const void *b)
{
	const block *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* ---- the model's answers ---- */

/* Calls emit(block, is_free) for the canonical decomposition of a CIDR:
 * maximal aligned free blocks and allocations, in address order. */
typedef void (*emit_fn)(model *m, uint32_t start, int prefix, int alloc,
			void *ctx);

static void decompose(model *m, uint32_t start, int prefix, emit_fn emit,
		      void *ctx)
{
	uint32_t size = size_of(prefix);
	uint32_t used = used_in(m, start, size);
	int o = m->owner[start];
	if (used == 0) {
		emit(m, start, prefix, -1, ctx);
		return;
	}
	if (o && m->allocs[o - 1].start == start &&
	    m->allocs[o - 1].prefix == prefix) {
		emit(m, start, prefix, o - 1, ctx);
		return;
	}
	assert_true(prefix < 32);
	decompose(m, start, prefix + 1, emit, ctx);
	decompose(m, start + size / 2, prefix + 1, emit, ctx);
}

static void emit_map(model *m, uint32_t start, int prefix, int alloc, void *ctx)
{
	ipam_cidr c = to_cidr(m, start, prefix);
	if (alloc < 0)
		text_addf(ctx, "  %s free\n", S(&c));
	else
		text_addf(ctx, "  %s custom a%d\n", S(&c),
			  m->allocs[alloc].name);
}

typedef struct fit {
	int want; /* requested prefix */
	int found;
	uint32_t start;
	int block_prefix; /* best fit: prefix of the chosen free block */
	int largest;	  /* smallest prefix of any free block, or 33 */
} fit;

static void emit_fit(model *m, uint32_t start, int prefix, int alloc, void *ctx)
{
	fit *f = ctx;
	if (alloc >= 0)
		return;
	if (prefix < f->largest)
		f->largest = prefix;
	if (prefix > f->want)
		return;
	switch (m->strategy) {
	case IPAM_STRATEGY_FIRST_FIT:
		if (!f->found || start < f->start)
			f->start = start;
		break;
	case IPAM_STRATEGY_LAST_FIT: {
		uint32_t s = start + size_of(prefix) - size_of(f->want);
		if (!f->found || s > f->start)
			f->start = s;
		break;
	}
	case IPAM_STRATEGY_BEST_FIT:
		if (!f->found || prefix > f->block_prefix ||
		    (prefix == f->block_prefix && start < f->start)) {
			f->start = start;
			f->block_prefix = prefix;
		}
		break;
	}
	f->found = 1;
}

static fit model_fit(model *m, int want)
{
	fit f = {.want = want, .largest = 33};
	for (int i = 0; i < m->ncidrs; i++)
		decompose(m, m->cidrs[i].start, m->cidrs[i].prefix, emit_fit,
			  &f);
	return f;
}

/* First fit by brute force, without the decomposition: the lowest
 * aligned block inside one provisioned CIDR with every address free. */
static int model_first_fit_scan(model *m, int want, uint32_t *out)
{
	uint32_t size = size_of(want);
	for (uint32_t s = 0; s < WINDOW; s += size) {
		if (cidr_containing(m, s, want) >= 0 &&
		    used_in(m, s, size) == 0) {
			*out = s;
			return 1;
		}
	}
	return 0;
}

static char *model_map(model *m)
{
	text t = {0};
	text_add(&t, "");
	for (int i = 0; i < m->ncidrs; i++) {
		ipam_cidr c = to_cidr(m, m->cidrs[i].start, m->cidrs[i].prefix);
		text_addf(&t, "%s provisioned\n", S(&c));
		decompose(m, m->cidrs[i].start, m->cidrs[i].prefix, emit_map,
			  &t);
	}
	return t.data;
}

/* ---- changes to the model ---- */

static void model_take(model *m, uint32_t start, int prefix, int name)
{
	block *a = &m->allocs[m->nallocs];
	a->start = start;
	a->prefix = prefix;
	a->name = name;
	m->nallocs++;
	for (uint32_t i = start; i < start + size_of(prefix); i++) {
		assert_int_equal(m->owner[i], 0);
		m->owner[i] = m->nallocs;
	}
	recount(m);
}

static void model_release(model *m, int idx)
{
	block *a = &m->allocs[idx];
	for (uint32_t i = a->start; i < a->start + size_of(a->prefix); i++)
		m->owner[i] = 0;
	m->nallocs--;
	if (idx != m->nallocs) {
		*a = m->allocs[m->nallocs];
		for (uint32_t i = a->start; i < a->start + size_of(a->prefix);
		     i++)
			m->owner[i] = idx + 1;
	}
	recount(m);
}

/* ---- the steps ---- */

static int core_alloc(model *m, int name, int prefix, const ipam_cidr *cidr,
		      ipam_cidr *got, ipam_err *err)
{
	ipam_alloc_req req = {.prefix_len = prefix + m->shift, .cidr = cidr};
	ipam_alloc_info info;
	int rc;
	snprintf(m->name, sizeof(m->name), "a%d", name);
	req.name = m->name;
	rc = ipam_alloc_create(m->db, m->pool, &req, &info, err);
	if (rc == 0)
		*got = info.cidr;
	return rc;
}

static int random_prefix(model *m)
{
	/* mostly small blocks, sometimes large ones */
	static const int choices[] = {32, 32, 32, 31, 31, 30, 30, 29, 29, 28,
				      28, 27, 27, 26, 26, 25, 24, 23, 22, 20};
	return choices[rnd(m, sizeof(choices) / sizeof(choices[0]))];
}

static void step_alloc_by_size(model *m)
{
	int want = random_prefix(m);
	fit f = model_fit(m, want);
	ipam_err err = {0};
	ipam_cidr got;
	int name = m->next_name++;
	int rc = core_alloc(m, name, want, NULL, &got, &err);

	if (m->strategy == IPAM_STRATEGY_FIRST_FIT) {
		uint32_t scan;
		int found = model_first_fit_scan(m, want, &scan);
		assert_int_equal(found, f.found);
		if (found)
			assert_int_equal(scan, f.start);
	}
	if (!f.found) {
		assert_code(rc, err, IPAM_ENOSPC, "no free /");
		return;
	}
	assert_ok(rc, err);
	{
		ipam_cidr want_cidr = to_cidr(m, f.start, want);
		assert_string_equal(S(&got), S(&want_cidr));
	}
	model_take(m, f.start, want, name);
}

static void step_alloc_cidr(model *m)
{
	int prefix = 20 + (int)rnd(m, 13);
	uint32_t size = size_of(prefix);
	uint32_t start = rnd(m, WINDOW / size) * size;
	/* mostly inside a provisioned CIDR, where it may succeed */
	if (m->ncidrs && rnd(m, 4)) {
		const block *c = &m->cidrs[rnd(m, (uint32_t)m->ncidrs)];
		if (prefix < c->prefix)
			prefix = c->prefix +
				 (int)rnd(m, 33 - (uint32_t)c->prefix);
		size = size_of(prefix);
		start = c->start + rnd(m, size_of(c->prefix) / size) * size;
	}
	ipam_cidr want = to_cidr(m, start, prefix), got;
	ipam_err err = {0};
	int name = m->next_name++;
	int rc = core_alloc(m, name, prefix, &want, &got, &err);

	if (cidr_containing(m, start, prefix) < 0) {
		assert_code(rc, err, IPAM_EADDRNOTAVAIL, "is not inside");
	} else if (used_in(m, start, size)) {
		assert_code(rc, err, IPAM_EADDRINUSE, "overlaps allocation 'a");
	} else {
		assert_ok(rc, err);
		assert_string_equal(S(&got), S(&want));
		model_take(m, start, prefix, name);
	}
}

static void release_one(model *m, int idx)
{
	ipam_err err = {0};
	snprintf(m->name, sizeof(m->name), "a%d", m->allocs[idx].name);
	assert_ok(ipam_alloc_release(m->db, m->pool, m->name, &err), err);
	model_release(m, idx);
}

static void step_release(model *m)
{
	if (m->nallocs == 0)
		return;
	release_one(m, (int)rnd(m, (uint32_t)m->nallocs));
}

static void step_provision(model *m)
{
	int prefix = 20 + (int)rnd(m, 6);
	uint32_t size = size_of(prefix);
	uint32_t start = rnd(m, WINDOW / size) * size;
	ipam_cidr c = to_cidr(m, start, prefix);
	ipam_err err = {0};
	int rc = ipam_pool_provision(m->db, m->pool, &c, &err);
	bool overlap = false;

	for (int i = 0; i < m->ncidrs; i++) {
		const block *o = &m->cidrs[i];
		if (start < o->start + size_of(o->prefix) &&
		    o->start < start + size)
			overlap = true;
	}
	if (m->ncidrs >= 50) {
		assert_code(rc, err, IPAM_EDQUOT, "cidrs-per-pool quota");
	} else if (overlap) {
		assert_code(rc, err, IPAM_EADDRINUSE, "already provisioned");
	} else {
		assert_ok(rc, err);
		m->cidrs[m->ncidrs].start = start;
		m->cidrs[m->ncidrs].prefix = prefix;
		m->ncidrs++;
		qsort(m->cidrs, (size_t)m->ncidrs, sizeof(block), cmp_block);
	}
}

static void deprovision_one(model *m, int idx)
{
	block c = m->cidrs[idx];
	ipam_cidr cidr = to_cidr(m, c.start, c.prefix);
	ipam_err err = {0};
	int rc = ipam_pool_deprovision(m->db, m->pool, &cidr, &err);
	if (used_in(m, c.start, size_of(c.prefix))) {
		assert_code(rc, err, IPAM_EBUSY, "are inside it");
		return;
	}
	assert_ok(rc, err);
	m->cidrs[idx] = m->cidrs[--m->ncidrs];
	qsort(m->cidrs, (size_t)m->ncidrs, sizeof(block), cmp_block);
}

static void step_deprovision(model *m)
{
	if (m->ncidrs)
		deprovision_one(m, (int)rnd(m, (uint32_t)m->ncidrs));
}

/* Releases everything in one CIDR, checking after each release, then
 * deprovisions it. */
static void check(model *m);
static void step_drain(model *m)
{
	int idx;
	block c;
	if (!m->ncidrs)
		return;
	idx = (int)rnd(m, (uint32_t)m->ncidrs);
	c = m->cidrs[idx];
	for (int i = m->nallocs - 1; i >= 0; i--) {
		if (m->allocs[i].start >= c.start &&
		    m->allocs[i].start < c.start + size_of(c.prefix)) {
			release_one(m, i);
			check(m);
		}
	}
	deprovision_one(m, idx);
}

static void step_bad(model *m)
{
	ipam_err err = {0};
	if (rnd(m, 2)) {
		snprintf(m->name, sizeof(m->name), "a%d", m->next_name + 7);
		assert_code(ipam_alloc_release(m->db, m->pool, m->name, &err),
			    err, IPAM_ENOENT, "no allocation");
	} else {
		/* a CIDR that is not exactly provisioned */
		int prefix = 27 + (int)rnd(m, 6);
		uint32_t size = size_of(prefix);
		uint32_t start = rnd(m, WINDOW / size) * size;
		ipam_cidr c = to_cidr(m, start, prefix);
		for (int i = 0; i < m->ncidrs; i++)
			if (m->cidrs[i].start == start &&
			    m->cidrs[i].prefix == prefix)
				return;
		assert_code(ipam_pool_deprovision(m->db, m->pool, &c, &err),
			    err, IPAM_ENOENT, "is not provisioned to pool");
	}
}

/* ---- checks ---- */

static void check(model *m)
{
	char *want = model_map(m), *got = render(m->db, m->pool, VIEW_MAP);
	ipam_pool_usage u = usage(m->db, m->pool);
	ipam_u128 total = 0, assigned = 0;
	fit f;
	int probe;
	ipam_cidr c;
	ipam_err err = {0};
	int rc;

	if (strcmp(want, got))
		fail_msg(
			"map differs from the model\n--- model\n%s--- core\n%s",
			want, got);
	free(want);
	free(got);
	for (int i = 0; i < m->ncidrs; i++)
		total += (ipam_u128)size_of(m->cidrs[i].prefix);
	for (int i = 0; i < m->nallocs; i++)
		assigned += (ipam_u128)size_of(m->allocs[i].prefix);
	assert_string_equal(U(u.total), U(total));
	assert_string_equal(U(u.assigned), U(assigned));
	assert_string_equal(U(u.available), U(total - assigned));
	assert_string_equal(U(u.allocated_to_pools), "0");
	assert_int_equal(u.allocation_count, m->nallocs);
	assert_int_equal(u.provisioned_cidrs, m->ncidrs);
	assert_int_equal(u.compliant, m->nallocs);
	assert_int_equal(u.noncompliant, 0);
	f = model_fit(m, 32);
	assert_int_equal(u.largest_free_prefix,
			 f.largest == 33 ? -1 : f.largest + m->shift);

	/* a preview for a random size is what the model would choose */
	probe = random_prefix(m);
	f = model_fit(m, probe);
	rc = ipam_pool_preview(m->db, m->pool, probe + m->shift, &c, &err);
	if (f.found) {
		ipam_cidr expect = to_cidr(m, f.start, probe);
		assert_ok(rc, err);
		assert_string_equal(S(&c), S(&expect));
	} else {
		assert_code(rc, err, IPAM_ENOSPC, NULL);
	}
}

/* Without the model: the allocations, read back, are disjoint and each
 * inside one provisioned CIDR. */
static void check_core_alone(model *m)
{
	ipam_strlist names = {0};
	ipam_pool_cidr *cidrs;
	size_t ncidrs;
	ipam_err err = {0};
	ipam_u128 prev_end = 0;
	bool first = true;

	assert_ok(ipam_pool_cidrs(m->db, m->pool, &cidrs, &ncidrs, &err), err);
	assert_ok(ipam_alloc_list(m->db, m->pool, &names, &err), err);
	assert_int_equal(names.count, (size_t)m->nallocs);
	for (size_t i = 0; i < names.count; i++) {
		ipam_alloc_info a;
		bool inside = false;
		assert_ok(ipam_alloc_get(m->db, m->pool, names.items[i], &a,
					 &err),
			  err);
		if (!first && a.cidr.addr <= prev_end)
			fail_msg("%s overlaps or is out of order", S(&a.cidr));
		first = false;
		prev_end = ipam_cidr_last(&a.cidr);
		for (size_t k = 0; k < ncidrs; k++)
			inside |= ipam_cidr_contains(&cidrs[k].cidr, &a.cidr);
		if (!inside)
			fail_msg("%s is outside every provisioned CIDR",
				 S(&a.cidr));
	}
	ipam_strlist_free(&names);
	free(cidrs);
}

static void run_model(int family, ipam_strategy strategy, uint64_t seed,
		      int steps)
{
	model *m = calloc(1, sizeof(*m));
	ipam_err err = {0};
	int counts[7] = {0};

	assert_non_null(m);
	m->family = family;
	m->strategy = strategy;
	m->rng = seed;
	m->db = open_mem();
	m->pool = mktop(m->db, "model");
	if (family == 6) {
		/* ULA top-level CIDRs are /9 to /60 (L2018): the model's
		 * small blocks live in a child pool of a ULA /48 */
		int64_t top = m->pool;
		m->base = ((ipam_u128)0xfd01abcdULL << 96);
		m->shift = 96;
		assert_ok(ipam_pool_set_family(m->db, top, 6, &err), err);
		prov_ok(m->db, top, "fd01:abcd::/48");
		m->pool = mkpool(m->db, scope_key(m->db, "private"), top,
				 "model");
	} else {
		m->base = 0x0a000000; /* 10.0.0.0 */
	}
	assert_ok(ipam_pool_set_strategy(m->db, m->pool, strategy, &err), err);
	recount(m);
	/* start with some space */
	for (int i = 0; i < 3; i++)
		step_provision(m);
	check(m);
	for (int step = 0; step < steps; step++) {
		uint32_t r = rnd(m, 100);
		int kind = r < 42   ? 0
			   : r < 56 ? 1
			   : r < 78 ? 2
			   : r < 87 ? 3
			   : r < 93 ? 4
			   : r < 95 ? 5
				    : 6;
		counts[kind]++;
		switch (kind) {
		case 0:
			step_alloc_by_size(m);
			break;
		case 1:
			step_alloc_cidr(m);
			break;
		case 2:
			step_release(m);
			break;
		case 3:
			step_provision(m);
			break;
		case 4:
			step_deprovision(m);
			break;
		case 5:
			step_drain(m);
			break;
		default:
			step_bad(m);
			break;
		}
		check(m);
		if (step % 64 == 63)
			check_core_alone(m);
	}
	/* the walk did exercise every kind of step */
	for (int k = 0; k < 7; k++)
		assert_true(counts[k] > steps / 100);
	(void)m->nallocs;
	ipam_free(m->db);
	free(m);
}

/* Fewer steps under the sanitizers, which make each one much slower, and
 * on PostgreSQL (IPAMFS_TEST_PG_URI, tests/pg/withdb.sh), where every
 * statement of the checks after each step is a round trip to the server:
 * the full walk takes minutes there; a sixteenth of it exercises every
 * kind of step still (the counts checked at the end). */
static int steps(int n)
{
	if (fixture_on_pg())
		n /= 16;
	return FIXTURE_SLOW ? n / 3 : n;
}
#define STEPS(n) steps(n)

static void test_model_first_fit(void **state)
{
	(void)state;
	run_model(4, IPAM_STRATEGY_FIRST_FIT, 0x1234567887654321ULL,
		  STEPS(3000));
}

static void test_model_last_fit(void **state)
{
	(void)state;
	run_model(4, IPAM_STRATEGY_LAST_FIT, 0x9e3779b97f4a7c15ULL,
		  STEPS(1500));
}

static void test_model_best_fit(void **state)
{
	(void)state;
	run_model(4, IPAM_STRATEGY_BEST_FIT, 0xdeadbeefcafef00dULL,
		  STEPS(1500));
}

static void test_model_ipv6_first_fit(void **state)
{
	(void)state;
	run_model(6, IPAM_STRATEGY_FIRST_FIT, 0x0123456789abcdefULL,
		  STEPS(1500));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_first_fit),
		cmocka_unit_test(test_model_last_fit),
		cmocka_unit_test(test_model_best_fit),
		cmocka_unit_test(test_model_ipv6_first_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
