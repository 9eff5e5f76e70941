/*
 * test_alloc.c - allocations (SPEC §3.1 allocate, §4): by size and by
 * CIDR, the three strategies on a fragmented pool, preview, names as
 * idempotency keys, the refusals with their codes, release and the
 * merging of freed space, IPv6 pools beyond 64 bits.
 */
#include "fixture.h"
#include "internal.h" /* ipam__write_begin: a call that fails after allocating */

static void set_strategy(ipam *db, int64_t pool, ipam_strategy strategy)
{
	ipam_err err = {0};
	ipam_pool_info p;
	assert_ok(ipam_pool_set_strategy(db, pool, strategy, &err), err);
	assert_ok(ipam_pool_get(db, pool, &p, &err), err);
	assert_int_equal(p.strategy, strategy);
}

static const char *preview(ipam *db, int64_t pool, int len)
{
	static char out[IPAM_CIDR_STRLEN];
	ipam_cidr c;
	ipam_err err = {0};
	if (ipam_pool_preview(db, pool, len, &c, &err))
		fail_msg("preview /%d: %s", len, err.msg);
	snprintf(out, sizeof(out), "%s", S(&c));
	return out;
}

static void test_by_size_sequence(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "p");
	ipam_pool_usage u;
	ipam_err err = {0};
	(void)state;

	prov_ok(db, p, "10.0.0.0/24");
	assert_string_equal(alloc_ok(db, p, "a", 26), "10.0.0.0/26");
	assert_string_equal(alloc_ok(db, p, "b", 28), "10.0.0.64/28");
	assert_string_equal(alloc_ok(db, p, "c", 26), "10.0.0.128/26");
	assert_string_equal(alloc_ok(db, p, "d", 27), "10.0.0.96/27");
	assert_string_equal(alloc_ok(db, p, "e", 32), "10.0.0.80/32");
	assert_string_equal(alloc_ok(db, p, "f", 31), "10.0.0.82/31");
	assert_code(alloc(db, p, "g", 25, NULL, NULL, &err), err, IPAM_ENOSPC,
		    "no free /25 in pool 'p' (largest free block /26)");
	assert_string_equal(alloc_ok(db, p, "g", 26), "10.0.0.192/26");
	u = usage(db, p);
	assert_string_equal(U(u.total), "256");
	assert_string_equal(U(u.assigned), "243");
	assert_string_equal(U(u.available), "13");
	assert_int_equal(u.allocation_count, 7);
	/* free now: .81/32, .84/30, .88/29 */
	assert_int_equal(u.largest_free_prefix, 29);
	assert_code(alloc(db, p, "h", 28, NULL, NULL, &err), err, IPAM_ENOSPC,
		    "no free /28 in pool 'p' (largest free block /29)");
	assert_string_equal(alloc_ok(db, p, "h", 32), "10.0.0.81/32");
	assert_string_equal(alloc_ok(db, p, "i", 29), "10.0.0.88/29");
	assert_string_equal(alloc_ok(db, p, "j", 30), "10.0.0.84/30");
	u = usage(db, p);
	assert_string_equal(U(u.available), "0");
	assert_int_equal(u.largest_free_prefix, -1);
	assert_code(alloc(db, p, "k", 32, NULL, NULL, &err), err, IPAM_ENOSPC,
		    "no free /32 in pool 'p' (no free space)");
	ipam_free(db);
}

static void test_no_cidr_no_allocation(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "p");
	ipam_err err = {0};
	ipam_cidr c;
	(void)state;

	/* L594: a pool with no provisioned CIDR cannot allocate */
	assert_code(alloc(db, p, "a", 24, NULL, NULL, &err), err, IPAM_ENOSPC,
		    "no free /24 in pool 'p': it has no provisioned CIDR");
	assert_code(ipam_pool_preview(db, p, 24, &c, &err), err, IPAM_ENOSPC,
		    "no free /24 in pool 'p'");
	assert_code(alloc(db, p, "a", -1, "10.0.0.0/24", NULL, &err), err,
		    IPAM_EADDRNOTAVAIL,
		    "10.0.0.0/24 is not inside a CIDR of "
		    "pool 'p'");
	assert_int_equal(usage(db, p).allocation_count, 0);
	ipam_free(db);
}

static void test_specific_cidr(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "p");
	ipam_alloc_info a;
	ipam_err err = {0};
	(void)state;

	prov_ok(db, p, "10.0.0.0/16");
	prov_ok(db, p, "10.1.0.0/16");
	alloc_cidr_ok(db, p, "lab", "10.0.3.0/24");
	assert_ok(ipam_alloc_get(db, p, "lab", &a, &err), err);
	assert_string_equal(S(&a.cidr), "10.0.3.0/24");
	/* overlapping: inside, around, equal */
	assert_code(alloc(db, p, "x", -1, "10.0.3.128/25", NULL, &err), err,
		    IPAM_EADDRINUSE,
		    "10.0.3.128/25 overlaps allocation 'lab' (10.0.3.0/24) in "
		    "pool 'p'");
	assert_code(alloc(db, p, "x", -1, "10.0.0.0/22", NULL, &err), err,
		    IPAM_EADDRINUSE,
		    "10.0.0.0/22 overlaps allocation 'lab' (10.0.3.0/24)");
	assert_code(alloc(db, p, "x", -1, "10.0.3.0/24", NULL, &err), err,
		    IPAM_EADDRINUSE, "overlaps allocation 'lab'");
	/* not inside one CIDR of the pool */
	assert_code(alloc(db, p, "x", -1, "10.2.0.0/24", NULL, &err), err,
		    IPAM_EADDRNOTAVAIL,
		    "10.2.0.0/24 is not inside a CIDR of pool 'p'");
	assert_code(alloc(db, p, "x", -1, "10.0.0.0/15", NULL, &err), err,
		    IPAM_EADDRNOTAVAIL, "10.0.0.0/15 is not inside");
	assert_code(alloc(db, p, "x", -1, "9.255.255.255/32", NULL, &err), err,
		    IPAM_EADDRNOTAVAIL, NULL);
	/* wrong family */
	assert_code(alloc(db, p, "x", -1, "fd01::/64", NULL, &err), err,
		    IPAM_EINVAL, "pool 'p' is ipv4; the CIDR is ipv6");
	/* the neighbours are free */
	alloc_cidr_ok(db, p, "left", "10.0.2.255/32");
	alloc_cidr_ok(db, p, "right", "10.0.4.0/32");
	alloc_cidr_ok(db, p, "other", "10.1.0.0/16");
	assert_int_equal(usage(db, p).allocation_count, 4);
	/* by size then skips the taken space */
	assert_string_equal(alloc_ok(db, p, "s", 23), "10.0.0.0/23");
	assert_string_equal(alloc_ok(db, p, "t", 24), "10.0.5.0/24");
	ipam_free(db);
}

static void test_names(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "p");
	ipam_alloc_req req = {.prefix_len = 28};
	ipam_alloc_info a, b;
	ipam_strlist names = {0};
	ipam_pool_usage u;
	ipam_err err = {0};
	int64_t last;
	char longname[IPAM_NAME_MAX + 2];
	(void)state;

	prov_ok(db, p, "10.0.0.0/24");
	assert_string_equal(alloc_ok(db, p, "web", 26), "10.0.0.0/26");
	last = ipam_events_last(db);
	/* the name is the idempotency key: nothing is allocated */
	assert_code(alloc(db, p, "web", 28, NULL, NULL, &err), err, IPAM_EEXIST,
		    "allocation 'web' exists in pool 'p'");
	assert_code(alloc(db, p, "web", -1, "10.0.0.128/25", NULL, &err), err,
		    IPAM_EEXIST, "allocation 'web' exists");
	u = usage(db, p);
	assert_int_equal(u.allocation_count, 1);
	assert_string_equal(U(u.assigned), "64");
	assert_int_equal(ipam_events_last(db), last);
	assert_string_equal(preview(db, p, 28), "10.0.0.64/28");

	/* reserved and malformed names */
	assert_code(alloc(db, p, "ipam-x", 28, NULL, NULL, &err), err,
		    IPAM_EINVAL,
		    "allocation name 'ipam-x': names starting with 'ipam-' are "
		    "reserved");
	assert_code(alloc(db, p, "a/b", 28, NULL, NULL, &err), err, IPAM_EINVAL,
		    "name 'a/b' contains '/'");
	assert_code(alloc(db, p, "", 28, NULL, NULL, &err), err, IPAM_EINVAL,
		    "name is empty");
	assert_code(alloc(db, p, ".", 28, NULL, NULL, &err), err, IPAM_EINVAL,
		    "name '.' is reserved");
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_code(alloc(db, p, longname, 28, NULL, NULL, &err), err,
		    IPAM_EINVAL, "name is 256 bytes long (at most 255)");
	longname[IPAM_NAME_MAX] = '\0';
	alloc_ok(db, p, longname, 32);
	/* "ipam" alone or "ipamx" is a user name */
	alloc_ok(db, p, "ipam", 32);
	alloc_ok(db, p, "ipamx", 32);
	assert_int_equal(usage(db, p).allocation_count, 4);

	/* no name: the allocation id is the name */
	assert_ok(ipam_alloc_create(db, p, &req, &a, &err), err);
	assert_string_equal(a.name, a.id);
	assert_int_equal(strncmp(a.id, "ipam-pool-alloc-", 16), 0);
	assert_int_equal(strlen(a.id), strlen("ipam-pool-alloc-") + 32);
	assert_ok(ipam_alloc_create(db, p, &req, &b, &err), err);
	assert_string_not_equal(a.id, b.id);
	assert_ok(ipam_alloc_get(db, p, a.id, &b, &err), err);
	assert_string_equal(S(&b.cidr), S(&a.cidr));

	/* the list is in address order */
	assert_ok(ipam_alloc_list(db, p, &names, &err), err);
	assert_int_equal(names.count, 6);
	assert_string_equal(names.items[0], "web");
	assert_string_equal(names.items[1], longname);
	assert_string_equal(names.items[2], "ipam");
	assert_string_equal(names.items[3], "ipamx");
	ipam_strlist_free(&names);
	ipam_free(db);
}

static void test_allocation_fields(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "p");
	ipam_alloc_req req = {
		.name = "db", .prefix_len = 27, .description = "database net"};
	ipam_alloc_info made, got, by_key;
	ipam_err err = {0};
	ipam_kind kind;
	int64_t key;
	(void)state;

	prov_ok(db, p, "192.168.10.0/24");
	assert_ok(ipam_alloc_create(db, p, &req, &made, &err), err);
	assert_ok(ipam_alloc_get(db, p, "db", &got, &err), err);
	assert_int_equal(got.key, made.key);
	assert_int_equal(got.pool_key, p);
	assert_string_equal(got.name, "db");
	assert_string_equal(got.id, made.id);
	assert_string_equal(S(&got.cidr), "192.168.10.0/27");
	assert_string_equal(got.resource_type, "custom");
	assert_string_equal(got.resource_id, "");
	assert_string_equal(got.description, "database net");
	assert_true(got.compliant);
	assert_int_equal(got.created, FIXTURE_TIME);
	assert_int_equal(got.owner_uid, made.owner_uid);
	assert_ok(ipam_id_lookup(db, got.id, &kind, &key, &err), err);
	assert_int_equal(kind, IPAM_KIND_ALLOCATION);
	assert_int_equal(key, got.key);
	assert_ok(ipam_alloc_get_by_key(db, key, &by_key, &err), err);
	assert_string_equal(by_key.name, "db");

	req.name = "bad";
	req.description = "two\nlines";
	assert_code(ipam_alloc_create(db, p, &req, NULL, &err), err,
		    IPAM_EINVAL, "description must be a single line");
	/* out may be NULL */
	req.description = NULL;
	assert_ok(ipam_alloc_create(db, p, &req, NULL, &err), err);
	assert_ok(ipam_alloc_get(db, p, "bad", &got, &err), err);
	assert_string_equal(S(&got.cidr), "192.168.10.32/27");
	assert_string_equal(got.description, "");
	ipam_free(db);
}

/* Free: 10.0.0.0/26, 10.0.0.80/28, 10.0.0.160/27 (SPEC §3.1 strategies). */
static int64_t fragmented(ipam *db, const char *name)
{
	/* each in a scope of its own: a scope holds an address once */
	ipam_err err = {0};
	int64_t scope = 0;
	if (ipam_scope_create(db, name, &scope, &err))
		fail_msg("scope_create %s: %s", name, err.msg);
	int64_t p = mkpool(db, scope, 0, name);
	prov_ok(db, p, "10.0.0.0/24");
	alloc_cidr_ok(db, p, "a", "10.0.0.64/28");
	alloc_cidr_ok(db, p, "b", "10.0.0.96/27");
	alloc_cidr_ok(db, p, "c", "10.0.0.128/27");
	alloc_cidr_ok(db, p, "d", "10.0.0.192/26");
	return p;
}

static void test_strategies(void **state)
{
	static const struct {
		int len;
		const char *first, *last, *best;
	} cases[] = {
		{26, "10.0.0.0/26", "10.0.0.0/26", "10.0.0.0/26"},
		{27, "10.0.0.0/27", "10.0.0.160/27", "10.0.0.160/27"},
		{28, "10.0.0.0/28", "10.0.0.176/28", "10.0.0.80/28"},
		{29, "10.0.0.0/29", "10.0.0.184/29", "10.0.0.80/29"},
		{32, "10.0.0.0/32", "10.0.0.191/32", "10.0.0.80/32"},
	};
	ipam *db = open_mem();
	int64_t first = fragmented(db, "first");
	int64_t last = fragmented(db, "last");
	int64_t best = fragmented(db, "best");
	ipam_err err = {0};
	char name[16];
	(void)state;

	set_strategy(db, last, IPAM_STRATEGY_LAST_FIT);
	set_strategy(db, best, IPAM_STRATEGY_BEST_FIT);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(preview(db, first, cases[i].len),
				    cases[i].first);
		assert_string_equal(preview(db, last, cases[i].len),
				    cases[i].last);
		assert_string_equal(preview(db, best, cases[i].len),
				    cases[i].best);
	}
	/* allocating follows the preview, each step on the new state */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t pools[] = {first, last, best};
		snprintf(name, sizeof(name), "n%zu", i);
		for (int k = 0; k < 3; k++) {
			char want[IPAM_CIDR_STRLEN];
			snprintf(want, sizeof(want), "%s",
				 preview(db, pools[k], 28));
			assert_string_equal(alloc_ok(db, pools[k], name, 28),
					    want);
		}
	}
	assert_code(alloc(db, first, "big", 25, NULL, NULL, &err), err,
		    IPAM_ENOSPC, "no free /25 in pool 'first'");
	assert_code(alloc(db, last, "big", 25, NULL, NULL, &err), err,
		    IPAM_ENOSPC, "no free /25 in pool 'last'");
	assert_code(alloc(db, best, "big", 25, NULL, NULL, &err), err,
		    IPAM_ENOSPC, "no free /25 in pool 'best'");
	ipam_free(db);
}

static void test_strategy_sequences(void **state)
{
	ipam *db = open_mem();
	int64_t last = fragmented(db, "last"), best = fragmented(db, "best");
	(void)state;

	set_strategy(db, last, IPAM_STRATEGY_LAST_FIT);
	set_strategy(db, best, IPAM_STRATEGY_BEST_FIT);
	assert_string_equal(alloc_ok(db, last, "x1", 28), "10.0.0.176/28");
	assert_string_equal(alloc_ok(db, last, "x2", 28), "10.0.0.160/28");
	assert_string_equal(alloc_ok(db, last, "x3", 28), "10.0.0.80/28");
	assert_string_equal(alloc_ok(db, last, "x4", 28), "10.0.0.48/28");
	assert_string_equal(alloc_ok(db, last, "x5", 27), "10.0.0.0/27");

	assert_string_equal(alloc_ok(db, best, "y1", 28), "10.0.0.80/28");
	assert_string_equal(alloc_ok(db, best, "y2", 28), "10.0.0.160/28");
	assert_string_equal(alloc_ok(db, best, "y3", 28), "10.0.0.176/28");
	assert_string_equal(alloc_ok(db, best, "y4", 27), "10.0.0.0/27");
	assert_string_equal(alloc_ok(db, best, "y5", 29), "10.0.0.32/29");
	assert_string_equal(alloc_ok(db, best, "y6", 28), "10.0.0.48/28");

	/* across CIDRs: the highest and the lowest win */
	{
		int64_t multi = mktop(db, "multi");
		prov_ok(db, multi, "10.9.0.0/24");
		prov_ok(db, multi, "10.1.0.0/24");
		prov_ok(db, multi, "10.5.0.0/23");
		assert_string_equal(alloc_ok(db, multi, "lo", 24),
				    "10.1.0.0/24");
		set_strategy(db, multi, IPAM_STRATEGY_LAST_FIT);
		assert_string_equal(alloc_ok(db, multi, "hi", 24),
				    "10.9.0.0/24");
		assert_string_equal(alloc_ok(db, multi, "hi2", 24),
				    "10.5.1.0/24");
		set_strategy(db, multi, IPAM_STRATEGY_BEST_FIT);
		assert_string_equal(alloc_ok(db, multi, "b", 25),
				    "10.5.0.0/25");
	}
	ipam_free(db);
}

static void test_strategy_names(void **state)
{
	ipam_strategy s = IPAM_STRATEGY_FIRST_FIT;
	ipam *db = open_mem();
	int64_t p = mktop(db, "p");
	int64_t base = ipam_events_last(db);
	ipam_err err = {0};
	char *json;
	(void)state;

	assert_string_equal(ipam_strategy_name(IPAM_STRATEGY_FIRST_FIT),
			    "first-fit");
	assert_string_equal(ipam_strategy_name(IPAM_STRATEGY_LAST_FIT),
			    "last-fit");
	assert_string_equal(ipam_strategy_name(IPAM_STRATEGY_BEST_FIT),
			    "best-fit");
	assert_int_equal(ipam_strategy_parse(&s, "best-fit"), 0);
	assert_int_equal(s, IPAM_STRATEGY_BEST_FIT);
	assert_int_equal(ipam_strategy_parse(&s, "last-fit"), 0);
	assert_int_equal(s, IPAM_STRATEGY_LAST_FIT);
	assert_int_equal(ipam_strategy_parse(&s, "worst-fit"), IPAM_EINVAL);
	assert_int_equal(ipam_strategy_parse(&s, "First-fit"), IPAM_EINVAL);
	assert_code(ipam_pool_set_strategy(db, p, (ipam_strategy)3, &err), err,
		    IPAM_EINVAL, "unknown strategy");
	set_strategy(db, p, IPAM_STRATEGY_LAST_FIT);
	set_strategy(db, p, IPAM_STRATEGY_FIRST_FIT);
	set_strategy(db, p, IPAM_STRATEGY_BEST_FIT);
	assert_int_equal(ipam_events_last(db), base + 3);
	{
		char *events;
		size_t len;
		assert_ok(ipam_events_render(db, 1, &events, &len, &err), err);
		assert_contains(events, "\"allocation-strategy\":\"best-fit\"");
		free(events);
	}
	json = render(db, p, VIEW_POOL);
	assert_contains(json, "\"AddressFamily\": \"ipv4\"");
	free(json);
	ipam_free(db);
}

static void test_preview_allocates_nothing(void **state)
{
	ipam *db = open_mem();
	int64_t p = fragmented(db, "p");
	ipam_pool_usage before, after;
	int64_t last = ipam_events_last(db);
	char *map0, *map1;
	ipam_err err = {0};
	ipam_cidr c;
	(void)state;

	before = usage(db, p);
	map0 = render(db, p, VIEW_MAP);
	for (int len = 24; len <= 32; len++) {
		int rc = ipam_pool_preview(db, p, len, &c, &err);
		if (len < 26)
			assert_code(rc, err, IPAM_ENOSPC, NULL);
		else
			assert_ok(rc, err);
	}
	assert_string_equal(preview(db, p, 27), "10.0.0.0/27");
	assert_string_equal(preview(db, p, 27), "10.0.0.0/27");
	after = usage(db, p);
	map1 = render(db, p, VIEW_MAP);
	assert_string_equal(map1, map0);
	assert_int_equal(after.allocation_count, before.allocation_count);
	assert_string_equal(U(after.assigned), U(before.assigned));
	assert_int_equal(ipam_events_last(db), last);
	/* the default length */
	assert_code(ipam_pool_preview(db, p, -1, &c, &err), err, IPAM_EINVAL,
		    "has no allocation-default-netmask-length");
	assert_ok(ipam_pool_set_netmask(db, p, IPAM_NETMASK_DEFAULT, 29, &err),
		  err);
	assert_string_equal(preview(db, p, -1), "10.0.0.0/29");
	assert_string_equal(alloc_ok(db, p, "d29", -1), "10.0.0.0/29");
	assert_string_equal(preview(db, p, -1), "10.0.0.8/29");
	free(map0);
	free(map1);
	ipam_free(db);
}

/*
 * The counters an allocation moves are kept in the handle for the
 * transaction and written back before any statement that reads them
 * (model/alloc.c): exact inside the transaction, across pools, after a
 * failed call, after a nested call undone after it allocated, and after a
 * rollback of the whole transaction; ipam_check recounts them.
 */
static void test_kept_counters(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "p"), q = mktop(db, "q");
	ipam_pool_usage u;
	ipam_err err = {0};
	(void)state;

	prov_ok(db, p, "10.0.0.0/24");
	prov_ok(db, q, "10.1.0.0/24");
	assert_ok(ipam_txn_begin(db, NULL, &err), err);
	assert_string_equal(alloc_ok(db, p, "a", 26), "10.0.0.0/26");
	assert_string_equal(alloc_ok(db, p, "b", 28), "10.0.0.64/28");
	u = usage(db, p); /* read inside the transaction */
	assert_string_equal(U(u.assigned), "80");
	assert_int_equal(u.allocation_count, 2);
	assert_int_equal(u.compliant, 2);
	/* refused calls change nothing kept */
	assert_code(alloc(db, p, "a", 28, NULL, NULL, &err), err, IPAM_EEXIST,
		    "allocation 'a' exists in pool 'p'");
	assert_code(alloc(db, p, "c", 24, NULL, NULL, &err), err, IPAM_ENOSPC,
		    "no free /24 in pool 'p' (largest free block /25)");
	/* another pool: p's are written back, q's kept */
	assert_string_equal(alloc_ok(db, q, "x", 25), "10.1.0.0/25");
	assert_ok(ipam_alloc_release(db, p, "b", &err), err);
	assert_string_equal(U(usage(db, q).assigned), "128");
	/* a call that allocated, then failed: undone with its savepoint */
	assert_ok(ipam__write_begin(db, &err), err);
	assert_string_equal(alloc_ok(db, p, "d", 27), "10.0.0.64/27");
	assert_string_equal(alloc_ok(db, q, "y", 26), "10.1.0.128/26");
	assert_int_equal(ipam__write_end(db, IPAM_EINVAL, NULL), IPAM_EINVAL);
	u = usage(db, p);
	assert_string_equal(U(u.assigned), "64");
	assert_int_equal(u.allocation_count, 1);
	assert_string_equal(U(usage(db, q).assigned), "128");
	assert_ok(ipam_txn_commit(db, &err), err);
	assert_ok(ipam_check(db, &err), err);
	assert_string_equal(U(usage(db, p).assigned), "64");
	assert_int_equal(usage(db, q).allocation_count, 1);
	/* a rollback of the whole transaction leaves them as they were */
	assert_ok(ipam_txn_begin(db, NULL, &err), err);
	for (int i = 0; i < 20; i++) {
		char name[8];
		snprintf(name, sizeof(name), "r%d", i);
		alloc_ok(db, p, name, 32);
	}
	assert_int_equal(usage(db, p).allocation_count, 21);
	ipam_txn_rollback(db);
	u = usage(db, p);
	assert_string_equal(U(u.assigned), "64");
	assert_int_equal(u.allocation_count, 1);
	/* and a batch committed: one write-back, exact counts */
	assert_ok(ipam_txn_begin(db, NULL, &err), err);
	for (int i = 0; i < 20; i++) {
		char name[8];
		snprintf(name, sizeof(name), "s%d", i);
		alloc_ok(db, p, name, 32);
	}
	assert_ok(ipam_txn_commit(db, &err), err);
	u = usage(db, p);
	assert_string_equal(U(u.assigned), "84");
	assert_int_equal(u.allocation_count, 21);
	assert_ok(ipam_check(db, &err), err);
	ipam_free(db);
}

static void test_release_merges(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "p");
	ipam_pool_usage u;
	ipam_err err = {0};
	char name[8];
	(void)state;

	prov_ok(db, p, "10.0.0.0/28");
	for (int i = 0; i < 16; i++) {
		char want[32];
		snprintf(name, sizeof(name), "h%d", i);
		snprintf(want, sizeof(want), "10.0.0.%d/32", i);
		assert_string_equal(alloc_ok(db, p, name, 32), want);
	}
	assert_int_equal(usage(db, p).largest_free_prefix, -1);
	/* release in a scattered order; the space merges back to a /28 */
	{
		static const int order[] = {5,	12, 0,	7, 3, 9,  14, 1,
					    10, 6,  15, 2, 8, 13, 4,  11};
		static const int largest[] = {32, 32, 32, 32, 32, 32, 32, 31,
					      31, 31, 31, 30, 30, 30, 29, 28};
		for (int i = 0; i < 16; i++) {
			snprintf(name, sizeof(name), "h%d", order[i]);
			assert_ok(ipam_alloc_release(db, p, name, &err), err);
			u = usage(db, p);
			assert_int_equal(u.largest_free_prefix, largest[i]);
			assert_int_equal(u.allocation_count, 15 - i);
		}
	}
	assert_code(ipam_alloc_release(db, p, "h0", &err), err, IPAM_ENOENT,
		    "no allocation 'h0'");
	assert_string_equal(alloc_ok(db, p, "all", 28), "10.0.0.0/28");
	{
		char *map = render(db, p, VIEW_MAP);
		assert_string_equal(map, "10.0.0.0/28 provisioned\n"
					 "  10.0.0.0/28 custom all\n");
		free(map);
	}
	/* merging never crosses into another provisioned CIDR */
	prov_ok(db, p, "10.0.0.16/28");
	assert_ok(ipam_alloc_release(db, p, "all", &err), err);
	u = usage(db, p);
	assert_int_equal(u.largest_free_prefix, 28);
	assert_code(alloc(db, p, "x", 27, NULL, NULL, &err), err, IPAM_ENOSPC,
		    "no free /27 in pool 'p' (largest free block /28)");
	assert_code(alloc(db, p, "x", -1, "10.0.0.0/27", NULL, &err), err,
		    IPAM_EADDRNOTAVAIL, "10.0.0.0/27 is not inside a CIDR");
	ipam_free(db);
}

static void test_whole_ipv4_space(void **state)
{
	ipam *db = open_mem();
	int64_t p = mkpool(db, scope_key(db, "private"), 0, "all");
	ipam_pool_usage u;
	char *status;
	(void)state;

	prov_ok(db, p, "0.0.0.0/0");
	u = usage(db, p);
	assert_string_equal(U(u.total), "4294967296");
	assert_int_equal(u.largest_free_prefix, 0);
	assert_string_equal(alloc_ok(db, p, "low", 1), "0.0.0.0/1");
	assert_string_equal(alloc_ok(db, p, "top", 32), "128.0.0.0/32");
	u = usage(db, p);
	assert_string_equal(U(u.assigned), "2147483649");
	assert_string_equal(U(u.available), "2147483647");
	status = render(db, p, VIEW_STATUS);
	/* 50.0000000232..., rounded to 6 decimals */
	assert_string_equal(status_value(status, "percent-assigned"), "50");
	assert_string_equal(status_value(status, "percent-available"), "50");
	assert_string_equal(status_value(status, "largest-free-block"),
			    "192.0.0.0/2");
	free(status);
	ipam_free(db);
}

static void test_ipv6_allocations(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "v6");
	ipam_pool_usage u;
	ipam_err err = {0};
	(void)state;

	assert_ok(ipam_pool_set_family(db, p, 6, &err), err);
	prov_ok(db, p, "fd01:1234::/52");
	u = usage(db, p);
	/* 2^76, well beyond 64 bits */
	assert_string_equal(U(u.total), "75557863725914323419136");
	assert_int_equal(u.largest_free_prefix, 52);
	assert_string_equal(alloc_ok(db, p, "a", 56), "fd01:1234::/56");
	assert_string_equal(alloc_ok(db, p, "b", 56), "fd01:1234:0:100::/56");
	assert_string_equal(alloc_ok(db, p, "c", 64), "fd01:1234:0:200::/64");
	assert_string_equal(alloc_ok(db, p, "d", 128), "fd01:1234:0:201::/128");
	assert_string_equal(alloc_ok(db, p, "e", 127),
			    "fd01:1234:0:201::2/127");
	alloc_cidr_ok(db, p, "f", "fd01:1234:0:f00::/56");
	assert_code(alloc(db, p, "g", -1, "fd01:1234:0:f80::/57", NULL, &err),
		    err, IPAM_EADDRINUSE,
		    "fd01:1234:0:f80::/57 overlaps allocation 'f' "
		    "(fd01:1234:0:f00::/56) in pool 'v6'");
	assert_code(alloc(db, p, "g", -1, "fd01:1234:1000::/56", NULL, &err),
		    err, IPAM_EADDRNOTAVAIL,
		    "is not inside a CIDR of pool 'v6'");
	assert_code(alloc(db, p, "g", -1, "10.0.0.0/8", NULL, &err), err,
		    IPAM_EINVAL, "pool 'v6' is ipv6; the CIDR is ipv4");
	assert_code(alloc(db, p, "g", 129, NULL, NULL, &err), err, IPAM_EINVAL,
		    "netmask /129 is out of range for an ipv6 pool (0..128)");
	assert_code(alloc(db, p, "g", 51, NULL, NULL, &err), err, IPAM_ENOSPC,
		    "no free /51 in pool 'v6' (largest free block /54)");
	u = usage(db, p);
	/* 3 * 2^72 + 2^64 + 1 + 2 */
	assert_string_equal(U(u.assigned), "14185546192682645192707");
	assert_string_equal(U(u.available), "61372317533231678226429");
	assert_int_equal(u.allocation_count, 6);
	ipam_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_size_sequence),
		cmocka_unit_test(test_no_cidr_no_allocation),
		cmocka_unit_test(test_specific_cidr),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_allocation_fields),
		cmocka_unit_test(test_strategies),
		cmocka_unit_test(test_strategy_sequences),
		cmocka_unit_test(test_strategy_names),
		cmocka_unit_test(test_preview_allocates_nothing),
		cmocka_unit_test(test_release_merges),
		cmocka_unit_test(test_kept_counters),
		cmocka_unit_test(test_whole_ipv4_space),
		cmocka_unit_test(test_ipv6_allocations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
