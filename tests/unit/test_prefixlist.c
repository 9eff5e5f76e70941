/*
 * test_prefixlist.c - prefix-list resolvers (core/model/prefixlist.c,
 * plcover.c, pltarget.c): the kept entries against a brute-force
 * resolution after every change (random static rules, allocations made
 * and released, nested pools), versions that do not move when a
 * transaction's changes cancel out, rule refusals naming the line, and
 * the nft/ipset renderings.
 */
#include "fixture.h"

/* The distinct CIDRs of in[] that lie inside no other, sorted. */
static size_t brute(const ipam_cidr *in, size_t n, ipam_cidr *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		bool drop = false;
		for (size_t j = 0; j < n && !drop; j++) {
			int cmp = ipam_cidr_compare(&in[i], &in[j]);
			if (cmp == 0 && j < i)
				drop = true; /* a duplicate: keep the first */
			else if (cmp != 0 && ipam_cidr_contains(&in[j], &in[i]))
				drop = true;
		}
		if (!drop)
			out[k++] = in[i];
	}
	for (size_t i = 1; i < k; i++)
		for (size_t j = i;
		     j > 0 && ipam_cidr_compare(&out[j - 1], &out[j]) > 0;
		     j--) {
			ipam_cidr t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return k;
}

static void assert_entries(ipam *db, const char *list, const ipam_cidr *want,
			   size_t n)
{
	ipam_cidr *got = NULL;
	size_t count = 0;
	ipam_err err = {0};
	assert_ok(ipam_plist_entries(db, list, 0, &got, &count, &err), err);
	if (count != n)
		fail_msg("%zu entries, expected %zu", count, n);
	for (size_t i = 0; i < n; i++)
		if (ipam_cidr_compare(&got[i], &want[i]))
			fail_msg("entry %zu: %s, expected %s", i, S(&got[i]),
				 S(&want[i]));
	free(got);
}

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Random nested static rules, rewritten 40 times. */
static void test_static_random(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	unsigned seed = 7;
	assert_ok(ipam_plist_create(db, "fw", &err), err);
	for (int round = 0; round < 40; round++) {
		ipam_cidr in[24], want[24];
		char line[24][48];
		const char *lines[24];
		size_t n = 1 + rnd(&seed) % 24;
		for (size_t i = 0; i < n; i++) {
			int len = 16 + (int)(rnd(&seed) % 9);
			unsigned addr = 0x0a000000u | (rnd(&seed) & 0xffffu);
			addr &= ~((1u << (32 - len)) - 1);
			in[i].family = 4;
			in[i].prefix = (uint8_t)len;
			in[i].addr = addr;
			snprintf(line[i], sizeof(line[i]), "static %s",
				 S(&in[i]));
			lines[i] = line[i];
		}
		assert_ok(ipam_plist_set_rules(db, "fw", lines, n, &err), err);
		assert_entries(db, "fw", want, brute(in, n, want));
	}
	ipam_free(db);
}

/* Allocations made and released in a pool and its child, with a static
 * rule over part of them: entries follow each single change. */
static void test_allocations_follow(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	int64_t top = mktop(db, "top");
	prov_ok(db, top, "10.0.0.0/16");
	int64_t kid = mkpool(db, scope_key(db, "private"), top, "kid");
	prov_ok(db, kid, "10.0.64.0/18");
	const char *rules[] = {"static 10.0.64.0/22", "pool private"};
	assert_ok(ipam_plist_create(db, "fw", &err), err);
	assert_ok(ipam_plist_set_rules(db, "fw", rules, 2, &err), err);
	char names[200][16];
	bool live[200] = {false};
	unsigned seed = 3;
	for (int step = 0; step < 200; step++) {
		ipam_alloc_req req = {.name = names[step],
				      .prefix_len = 24 + (int)(rnd(&seed) % 5)};
		snprintf(names[step], sizeof(names[step]), "a%d", step);
		if (rnd(&seed) % 3 && step > 0) {
			int v = (int)(rnd(&seed) % (unsigned)step);
			if (live[v]) {
				int64_t pool = v % 2 ? kid : top;
				assert_ok(ipam_alloc_release(db, pool, names[v],
							     &err),
					  err);
				live[v] = false;
			}
		} else {
			live[step] = ipam_alloc_create(db, step % 2 ? kid : top,
						       &req, NULL, NULL) == 0;
		}
		/* the inputs: the static rule, the child pool's CIDR in top,
		 * and every live allocation */
		ipam_cidr in[210], want[210];
		size_t n = 0;
		in[n++] = C("10.0.64.0/22");
		in[n++] = C("10.0.64.0/18");
		for (int i = 0; i <= step; i++) {
			ipam_alloc_info info;
			if (live[i] &&
			    ipam_alloc_get(db, i % 2 ? kid : top, names[i],
					   &info, NULL) == 0)
				in[n++] = info.cidr;
		}
		assert_entries(db, "fw", want, brute(in, n, want));
	}
	ipam_free(db);
}

/* An allocation made and released in one transaction makes no version;
 * versions before keep their sets. */
static void test_versions(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	ipam_plist_info info;
	int64_t top = mktop(db, "top");
	prov_ok(db, top, "10.0.0.0/16");
	const char *rule = "pool private";
	assert_ok(ipam_plist_create(db, "fw", &err), err);
	assert_ok(ipam_plist_set_rules(db, "fw", &rule, 1, &err), err);
	assert_ok(ipam_plist_get(db, "fw", &info, &err), err);
	assert_int_equal(info.version, 1); /* empty, as before the rule */
	ipam_alloc_req req = {.name = "x", .prefix_len = 24};
	assert_ok(ipam_txn_begin(db, NULL, &err), err);
	assert_ok(ipam_alloc_create(db, top, &req, NULL, &err), err);
	assert_ok(ipam_alloc_release(db, top, "x", &err), err);
	assert_ok(ipam_txn_commit(db, &err), err);
	assert_ok(ipam_plist_get(db, "fw", &info, &err), err);
	assert_int_equal(info.version, 1);
	for (int i = 0; i < 12; i++) {
		char name[8];
		snprintf(name, sizeof(name), "n%d", i);
		req.name = name;
		assert_ok(ipam_alloc_create(db, top, &req, NULL, &err), err);
	}
	assert_ok(ipam_plist_get(db, "fw", &info, &err), err);
	assert_int_equal(info.version, 13);
	assert_int_equal(info.oldest, 4);
	ipam_cidr *got = NULL;
	size_t count = 0;
	assert_ok(ipam_plist_entries(db, "fw", 5, &got, &count, &err), err);
	assert_int_equal(count, 4); /* version v holds v - 1 allocations */
	assert_string_equal(S(&got[3]), "10.0.3.0/24");
	free(got);
	assert_code(ipam_plist_entries(db, "fw", 3, &got, &count, &err), err,
		    IPAM_ENOENT, "keeps versions 4 to 13");
	ipam_free(db);
}

static void test_refusals(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	const char *bad[] = {"static 10.0.0.0/8", "pool private",
			     "resource private vpc tag:env"};
	assert_ok(ipam_plist_create(db, "fw", &err), err);
	assert_code(ipam_plist_set_rules(db, "fw", bad, 3, &err), err,
		    IPAM_EINVAL, "line 3: ");
	const char *many[100];
	for (int i = 0; i < 100; i++)
		many[i] = "static 10.0.0.0/8";
	assert_code(ipam_plist_set_rules(db, "fw", many, 100, &err), err,
		    IPAM_EDQUOT, "at most 99");
	ipam_strlist rules;
	assert_ok(ipam_plist_rules(db, "fw", &rules, &err), err);
	assert_int_equal(rules.count, 0);
	ipam_strlist_free(&rules);
	ipam_free(db);
}

static void test_render(void **state)
{
	ipam_cidr set[2] = {C("0.0.0.0/0"), C("10.0.0.0/8")};
	char *out = NULL;
	size_t len = 0;
	ipam_err err = {0};
	assert_ok(ipam_plist_render("web-1", 4, IPAM_PLIST_IPSET, 1, set, 1,
				    &out, &len, &err),
		  err);
	assert_string_equal(out, "create pl_web_1 hash:net family inet "
				 "maxelem 65536 -exist\n"
				 "flush pl_web_1\n"
				 "add pl_web_1 0.0.0.0/1\n"
				 "add pl_web_1 128.0.0.0/1\n");
	free(out);
	assert_ok(ipam_plist_render("web-1", 4, IPAM_PLIST_NFT, 1, set + 1, 1,
				    &out, &len, &err),
		  err);
	assert_non_null(strstr(out, "add element inet ipamfs pl_web_1 {\n"
				    "\t10.0.0.0/8\n}\n"));
	free(out);
}

/* Target sync (Step 4, L1216-L1218): off keeps what the target serves,
 * which may then be edited by hand (validated), while the resolver moves
 * on; on serves the tracked version again. Nothing refused changes it. */
static void target_is(ipam *db, const char *want, int64_t want_version)
{
	ipam_cidr *got = NULL;
	size_t n = 0;
	int64_t v = 0;
	char line[512] = "";
	ipam_err err = {0};
	assert_ok(
		ipam_plist_target_entries(db, "fw", "edge", &got, &n, &v, &err),
		err);
	for (size_t i = 0; i < n; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
			 "%s%s", i ? " " : "", S(&got[i]));
	free(got);
	assert_string_equal(line, want);
	assert_int_equal(v, want_version);
}

static void test_target_sync(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	ipam_plist_target t;
	int64_t top = mktop(db, "top");
	prov_ok(db, top, "10.0.0.0/16");
	const char *rule = "pool private";
	assert_ok(ipam_plist_create(db, "fw", &err), err);
	assert_ok(ipam_plist_set_rules(db, "fw", &rule, 1, &err), err);
	assert_ok(ipam_plist_target_create(db, "fw", "edge", &err), err);
	alloc_cidr_ok(db, top, "a", "10.0.1.0/24"); /* version 2 */
	target_is(db, "10.0.1.0/24", 2);
	const char *hand[] = {"192.0.2.0/24", "10.9.0.0/16", "10.9.0.0/16"};
	assert_code(
		ipam_plist_target_set_entries(db, "fw", "edge", hand, 3, &err),
		err, IPAM_EPERM, "write disabled to its sync file");

	assert_ok(ipam_plist_target_set_sync(db, "fw", "edge", false, &err),
		  err);
	assert_ok(ipam_plist_target_get(db, "fw", "edge", &t, &err), err);
	assert_false(t.sync);
	assert_int_equal(t.held_version, 2);
	alloc_cidr_ok(db, top, "b", "10.0.2.0/24"); /* version 3 */
	target_is(db, "10.0.1.0/24", 2);	    /* it does not follow */
	assert_ok(
		ipam_plist_target_set_entries(db, "fw", "edge", hand, 3, &err),
		err);
	target_is(db, "10.9.0.0/16 192.0.2.0/24", 2);

	struct {
		const char *line;
		int code;
		const char *needle;
	} bad[] = {
		{"10.0.0.1/8", IPAM_EINVAL, "line 2: "},
		{"10.0.0.0/33", IPAM_EINVAL, "line 2: "},
		{"", IPAM_EINVAL, "line 2: "},
		{"10.0.0.0 /8", IPAM_EINVAL, "line 2: "},
		{"2001:db8::/32", IPAM_EINVAL, "not an IPv4 CIDR"},
		{"10.9.4.0/24", IPAM_EINVAL,
		 "10.9.4.0/24 overlaps 10.9.0.0/16"},
		{"010.1.0.0/16", IPAM_EINVAL, "line 2: "},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *two[] = {"10.9.0.0/16", bad[i].line};
		assert_code(ipam_plist_target_set_entries(db, "fw", "edge", two,
							  2, &err),
			    err, bad[i].code, bad[i].needle);
		target_is(db, "10.9.0.0/16 192.0.2.0/24", 2);
	}
	/* the same CIDR in another form is one entry */
	const char *v6[] = {"2001:DB8::/32"};
	assert_ok(ipam_plist_set_family(db, "fw", 6, &err), err);
	assert_ok(ipam_plist_target_set_entries(db, "fw", "edge", v6, 1, &err),
		  err);
	target_is(db, "2001:db8::/32", 2);
	assert_ok(ipam_plist_set_family(db, "fw", 4, &err), err);
	assert_ok(
		ipam_plist_target_set_entries(db, "fw", "edge", NULL, 0, &err),
		err);
	target_is(db, "", 2);

	/* on again: the tracked version, which the resolver has moved to */
	assert_ok(ipam_plist_target_set_sync(db, "fw", "edge", true, &err),
		  err);
	ipam_plist_info info;
	assert_ok(ipam_plist_get(db, "fw", &info, &err), err);
	target_is(db, "10.0.1.0/24 10.0.2.0/24", info.version);
	assert_ok(ipam_plist_target_get(db, "fw", "edge", &t, &err), err);
	assert_true(t.sync);
	assert_int_equal(t.tracked, info.version);
	/* pinned, then off: it keeps the pinned version's set */
	assert_ok(ipam_plist_target_set_desired(db, "fw", "edge", 2, &err),
		  err);
	assert_ok(ipam_plist_target_set_sync(db, "fw", "edge", false, &err),
		  err);
	target_is(db, "10.0.1.0/24", 2);
	assert_code(ipam_plist_target_set_sync(db, "fw", "nope", false, &err),
		    err, IPAM_ENOENT, "no target");
	ipam_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_random),
		cmocka_unit_test(test_allocations_follow),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_target_sync),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
