/*
 * test_policy.c - IPAM policies (core/policy.c): rule lines (canonical
 * form, refusals naming the line, nothing changed), targets (user over
 * group over all, enabling replaces the target's active policy), the
 * decision of a request without a pool (rule order, pool order, overflow,
 * no rule, no policy) checked against a model over random pool sizes and
 * random orders, the JSON views, and the guards (pool deletion, rmdir of
 * an enabled policy, quota, free tier).
 */
#include "fixture.h"

static int64_t public_pool(ipam *db, const char *name, const char *cidr,
			   const char *locale)
{
	ipam_err err = {0};
	int64_t p = mkpool(db, scope_key(db, "public"), 0, name);
	if (locale)
		assert_ok(ipam_pool_set_locale(db, p, locale, &err), err);
	prov_ok(db, p, cidr);
	return p;
}

/* Holds all of a /24 pool but its last `keep` addresses (0, 1 or 2). */
static void hold_all_but(ipam *db, int64_t pool, const char *base, int keep)
{
	char name[16], cidr[32];
	int off = 0;
	if (keep == 0) {
		snprintf(cidr, sizeof(cidr), "%s.0/24", base);
		alloc_cidr_ok(db, pool, "hold", cidr);
		return;
	}
	for (int len = 25; len <= 32 && 256 - off > keep; len++) {
		if (256 - off - (1 << (32 - len)) < keep)
			continue;
		snprintf(name, sizeof(name), "hold%d", len);
		snprintf(cidr, sizeof(cidr), "%s.%d/%d", base, off, len);
		alloc_cidr_ok(db, pool, name, cidr);
		off += 1 << (32 - len);
	}
}

static int64_t eip(ipam *db, const char *id, const char *locale)
{
	ipam_err err = {0};
	int64_t key = 0;
	assert_ok(ipam_resource_create(db, scope_key(db, "public"), id, NULL,
				       &key, &err),
		  err);
	if (locale)
		assert_ok(ipam_resource_set(db, key, IPAM_RESOURCE_LOCALE,
					    locale, &err),
			  err);
	return key;
}

static void locales(ipam *db)
{
	const char *const l[] = {"local", "us-east-1", "us-west-2"};
	ipam_err err = {0};
	assert_ok(ipam_locales_set(db, l, 3, &err), err);
}

static void set_rules(ipam *db, const char *policy, const char *rules)
{
	const char *lines[8];
	char copy[1024], *save = NULL;
	size_t n = 0;
	ipam_err err = {0};
	snprintf(copy, sizeof(copy), "%s", rules);
	for (char *l = strtok_r(copy, "\n", &save); l && n < 8;
	     l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	assert_ok(ipam_policy_set_rules(db, policy, lines, n, &err), err);
}

static char *joined(ipam *db, const char *policy, bool targets)
{
	static char out[2048];
	ipam_strlist list = {0};
	ipam_err err = {0};
	out[0] = '\0';
	assert_ok(targets ? ipam_policy_targets(db, policy, &list, &err)
			  : ipam_policy_rules(db, policy, &list, &err),
		  err);
	for (size_t i = 0; i < list.count; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s",
			 i ? "|" : "", list.items[i]);
	ipam_strlist_free(&list);
	return out;
}

static void enable_for(ipam *db, const char *policy, const char *target)
{
	ipam_err err = {0};
	const char *t[] = {target};
	assert_ok(ipam_policy_set_targets(db, policy, t, 1, false, &err), err);
	assert_ok(ipam_policy_set_enabled(db, policy, true, &err), err);
}

static void test_rules(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	ipam_policy_info info;
	char want[512], bad[1024];
	locales(db);
	int64_t a = public_pool(db, "a", "198.51.100.0/24", "us-east-1");
	int64_t b = public_pool(db, "b", "203.0.113.0/24", "us-east-1");
	int64_t priv = mktop(db, "priv");
	char aid[IPAM_ID_MAX], bid[IPAM_ID_MAX], pid[IPAM_ID_MAX];
	snprintf(aid, sizeof(aid), "%s", pool_id(db, a));
	snprintf(bid, sizeof(bid), "%s", pool_id(db, b));
	snprintf(pid, sizeof(pid), "%s", pool_id(db, priv));
	assert_ok(ipam_policy_create(db, "edge", &err), err);
	assert_code(ipam_policy_create(db, "edge", &err), err, IPAM_EEXIST,
		    "exists");
	assert_code(ipam_policy_create(db, "a/b", &err), err, IPAM_EINVAL,
		    NULL);
	assert_ok(ipam_policy_get(db, "edge", &info, &err), err);
	assert_true(info.overflow);
	assert_false(info.enabled);
	assert_int_equal(strncmp(info.id, "ipam-policy-", 12), 0);

	snprintf(want, sizeof(want),
		 "us-east-1  eip\t%s %s\nany nat-gateway %s", aid, bid, bid);
	set_rules(db, "edge", want);
	snprintf(want, sizeof(want), "us-east-1 eip %s %s|any rnat %s", aid,
		 bid, bid);
	assert_string_equal(joined(db, "edge", false), want);

	struct {
		const char *fmt;
		int code;
		const char *needle;
	} refused[] = {
		{"us-east-1 eip", IPAM_EINVAL, "line 2: a rule is"},
		{"us-east-1 lambda %1$s", IPAM_EINVAL, "unknown resource type"},
		{"mars-1 eip %1$s", IPAM_EINVAL, "not an operating locale"},
		{"us-west-2 eip %1$s", IPAM_EINVAL, "allocates only in locale"},
		{"us-east-1 eip %1$s %1$s", IPAM_EINVAL, "listed twice"},
		{"us-east-1 eip %2$s", IPAM_EINVAL, "not a public IPv4 pool"},
		{"us-east-1 eip ipam-pool-00000000000000000", IPAM_EINVAL,
		 "no pool"},
		{"us-east-1 eip %1$s %1$s %1$s %1$s %1$s %1$s %1$s %1$s %1$s"
		 " %1$s %1$s",
		 IPAM_EDQUOT, "more than 10 pools"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const char *lines[2] = {"any alb ", bad};
		char first[128];
		snprintf(first, sizeof(first), "any alb %s", aid);
		lines[0] = first;
		snprintf(bad, sizeof(bad), refused[i].fmt, aid, pid);
		assert_code(ipam_policy_set_rules(db, "edge", lines, 2, &err),
			    err, refused[i].code, refused[i].needle);
		assert_string_equal(joined(db, "edge", false), want);
	}
	{
		char l1[128], l2[128];
		const char *lines[] = {l1, l2};
		snprintf(l1, sizeof(l1), "us-east-1 eip %s", aid);
		snprintf(l2, sizeof(l2), "us-east-1 eip %s", bid);
		assert_code(ipam_policy_set_rules(db, "edge", lines, 2, &err),
			    err, IPAM_EINVAL, "line 2: the rule of line 1");
	}
	/* a pool a rule names cannot be deleted; after the rule goes, it can */
	assert_code(ipam_pool_delete(db, b, &err), err, IPAM_EBUSY,
		    "rule 1 of policy 'edge'");
	assert_ok(ipam_policy_set_rules(db, "edge", NULL, 0, &err), err);
	assert_string_equal(joined(db, "edge", false), "");
	assert_ok(deprov(db, b, "203.0.113.0/24", &err), err);
	assert_ok(ipam_pool_delete(db, b, &err), err);
	ipam_free(db);
}

static void test_targets(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	char name[IPAM_NAME_MAX + 1];
	const char *t[] = {"user:1000", "group:0020", "all", "user:1000"};
	assert_ok(ipam_policy_create(db, "p1", &err), err);
	assert_ok(ipam_policy_create(db, "p2", &err), err);
	assert_code(ipam_policy_set_enabled(db, "p1", true, &err), err,
		    IPAM_EINVAL, "no targets");
	assert_ok(ipam_policy_set_targets(db, "p1", t, 4, false, &err), err);
	assert_string_equal(joined(db, "p1", true), "all|group:20|user:1000");
	const char *bad[] = {"all", "user:4294967296"};
	assert_code(ipam_policy_set_targets(db, "p1", bad, 2, false, &err), err,
		    IPAM_EINVAL, "line 2: user id");
	const char *bad2[] = {"ou-123"};
	assert_code(ipam_policy_set_targets(db, "p1", bad2, 1, true, &err), err,
		    IPAM_EINVAL, "not a target");
	assert_string_equal(joined(db, "p1", true), "all|group:20|user:1000");
	assert_code(ipam_policy_active(db, "all", name, &err), err, IPAM_ENOENT,
		    "no policy is enabled for all");
	assert_ok(ipam_policy_set_enabled(db, "p1", true, &err), err);
	assert_ok(ipam_policy_active(db, "group:20", name, &err), err);
	assert_string_equal(name, "p1");
	/* p2 takes user:1000 when enabled: the guide's "replace" */
	const char *t2[] = {"user:1000", "user:7"};
	assert_ok(ipam_policy_set_targets(db, "p2", t2, 2, false, &err), err);
	assert_string_equal(joined(db, "p1", true), "all|group:20|user:1000");
	assert_ok(ipam_policy_set_enabled(db, "p2", true, &err), err);
	assert_string_equal(joined(db, "p1", true), "all|group:20");
	assert_ok(ipam_policy_active(db, "user:1000", name, &err), err);
	assert_string_equal(name, "p2");
	/* appending to an enabled policy takes the target too */
	const char *t3[] = {"user:7"};
	assert_ok(ipam_policy_set_targets(db, "p1", t3, 1, true, &err), err);
	assert_string_equal(joined(db, "p2", true), "user:1000");
	assert_code(ipam_policy_delete(db, "p2", &err), err, IPAM_EBUSY,
		    "enabled");
	assert_ok(ipam_policy_set_enabled(db, "p2", false, &err), err);
	assert_code(ipam_policy_active(db, "user:1000", name, &err), err,
		    IPAM_ENOENT, NULL);
	assert_ok(ipam_policy_delete(db, "p2", &err), err);
	assert_code(ipam_policy_get(db, "p2", &(ipam_policy_info){0}, &err),
		    err, IPAM_ENOENT, NULL);
	/* the events say who replaced whom */
	char *ev = NULL;
	size_t len = 0;
	assert_ok(ipam_events_render(db, 100, &ev, &len, &err), err);
	assert_contains(ev, "\"action\":\"disable-ipam-policy\"");
	assert_contains(ev, "\"target\":\"user:1000\",\"replaced-by\":\"p2\"");
	free(ev);
	ipam_free(db);
}

/* The model: pools in the rule's order with `left` free /32s each. */
static void test_steering_model(void **state)
{
	unsigned seed = 11;
	for (int round = 0; round < 12; round++) {
		ipam *db = open_mem();
		ipam_err err = {0};
		ipam_policy_choice got;
		const char *bases[] = {"198.51.100", "203.0.113", "192.0.2"};
		const char *cidrs[] = {"198.51.100.0/24", "203.0.113.0/24",
				       "192.0.2.0/24"};
		int64_t pools[3];
		int left[3], order[3] = {0, 1, 2};
		char ids[3][IPAM_ID_MAX], rule[256];
		locales(db);
		for (int i = 0; i < 3; i++) {
			char name[8];
			snprintf(name, sizeof(name), "p%d", i);
			pools[i] = public_pool(db, name, cidrs[i],
					       i == 2 ? NULL : "us-east-1");
			seed = seed * 1103515245u + 12345u;
			left[i] = (int)((seed >> 8) % 3); /* 0, 1 or 2 */
			hold_all_but(db, pools[i], bases[i], left[i]);
			snprintf(ids[i], sizeof(ids[i]), "%s",
				 pool_id(db, pools[i]));
		}
		for (int i = 2; i > 0; i--) { /* a random order */
			seed = seed * 1103515245u + 12345u;
			int j = (int)((seed >> 8) % (unsigned)(i + 1));
			int tmp = order[i];
			order[i] = order[j];
			order[j] = tmp;
		}
		snprintf(rule, sizeof(rule), "us-east-1 eip %s %s %s",
			 ids[order[0]], ids[order[1]], ids[order[2]]);
		assert_ok(ipam_policy_create(db, "pol", &err), err);
		set_rules(db, "pol", rule);
		bool overflow = round % 2;
		assert_ok(ipam_policy_set_overflow(db, "pol", overflow, &err),
			  err);
		enable_for(db, "pol", "all");
		for (int req = 0; req < 8; req++) {
			char id[32];
			snprintf(id, sizeof(id), "eipalloc-%02d%02d", round,
				 req);
			int64_t r = eip(db, id, "us-east-1");
			int expect = -1;
			for (int k = 0; k < 3 && expect < 0; k++)
				if (left[order[k]] > 0)
					expect = order[k];
			int rc = ipam_policy_allocate(db, r, NULL, 32, &got,
						      &err);
			if (expect < 0) {
				if (rc == 0)
					fail_msg("round %d req %d: got %s from"
						 " %s (left %d %d %d)",
						 round, req, S(&got.cidr),
						 got.pool_id, left[0], left[1],
						 left[2]);
				assert_code(rc, err,
					    overflow ? IPAM_EADDRNOTAVAIL
						     : IPAM_ENOSPC,
					    "every pool is exhausted");
				ipam_resource_cidr *cl = NULL;
				size_t ncl = 9;
				assert_ok(ipam_resource_cidrs(db, r, &cl, &ncl,
							      &err),
					  err);
				assert_int_equal(ncl, 0);
				free(cl);
				continue;
			}
			assert_ok(rc, err);
			if (getenv("POLICY_TRACE"))
				print_message("round %d req %d: %s from %s"
					      " (expect %d, left %d %d %d,"
					      " order %d %d %d)\n",
					      round, req, S(&got.cidr),
					      got.pool_id, expect, left[0],
					      left[1], left[2], order[0],
					      order[1], order[2]);
			assert_string_equal(got.pool_id, ids[expect]);
			assert_string_equal(got.policy, "pol");
			assert_string_equal(got.target, "all");
			assert_int_equal(got.rule, 1);
			char last[32];
			snprintf(last, sizeof(last), "%s.%d/32", bases[expect],
				 256 - left[expect]);
			assert_string_equal(S(&got.cidr), last);
			left[expect]--;
			ipam_alloc_info al;
			assert_ok(ipam_alloc_get(db, pools[expect], id, &al,
						 &err),
				  err);
			assert_contains(al.description, "rule 1");
		}
		ipam_free(db);
	}
}

static void test_decisions(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	ipam_policy_choice got;
	char rules[512];
	locales(db);
	int64_t a = public_pool(db, "a", "198.51.100.0/24", "us-east-1");
	int64_t w = public_pool(db, "w", "192.0.2.0/24", NULL);
	int64_t e1 = eip(db, "eipalloc-1", "us-east-1");
	int64_t e2 = eip(db, "eipalloc-2", "us-west-2");
	assert_code(ipam_policy_allocate(db, e1, NULL, 32, &got, &err), err,
		    IPAM_EINVAL, "no IPAM policy is enabled for uid 0");
	assert_ok(ipam_policy_create(db, "all", &err), err);
	assert_ok(ipam_policy_create(db, "ops", &err), err);
	snprintf(rules, sizeof(rules), "us-east-1 eip %s", pool_id(db, a));
	set_rules(db, "all", rules);
	snprintf(rules, sizeof(rules), "any eip %s", pool_id(db, w));
	set_rules(db, "ops", rules);
	enable_for(db, "all", "all");
	enable_for(db, "ops", "group:50");
	/* uid 0 gid 0: the policy of all; no rule for us-west-2 */
	assert_ok(ipam_policy_allocate(db, e1, NULL, 32, &got, &err), err);
	assert_string_equal(S(&got.cidr), "198.51.100.0/32");
	assert_code(ipam_policy_allocate(db, e2, NULL, 32, &got, &err), err,
		    IPAM_EADDRNOTAVAIL, "has no rule for eip in locale");
	/* gid 50: its group's policy, whose rule has locale any */
	ipam_actor who = {1234, 50, 1};
	ipam_set_default_actor(db, &who);
	assert_ok(ipam_policy_allocate(db, e2, NULL, 32, &got, &err), err);
	assert_string_equal(S(&got.cidr), "192.0.2.0/32");
	assert_string_equal(got.target, "group:50");
	/* a user target beats the group's */
	assert_ok(ipam_policy_create(db, "me", &err), err);
	snprintf(rules, sizeof(rules), "any eip %s", pool_id(db, a));
	set_rules(db, "me", rules);
	enable_for(db, "me", "user:1234");
	int64_t e3 = eip(db, "eipalloc-3", "us-east-1");
	assert_ok(ipam_policy_allocate(db, e3, NULL, 32, &got, &err), err);
	assert_string_equal(got.policy, "me");
	assert_string_equal(S(&got.cidr), "198.51.100.1/32");
	/* a specific CIDR; a pool's own refusal is passed on */
	int64_t e4 = eip(db, "eipalloc-4", "us-east-1");
	ipam_cidr want = C("198.51.100.9/32");
	assert_ok(ipam_policy_allocate(db, e4, &want, -1, &got, &err), err);
	assert_string_equal(S(&got.cidr), "198.51.100.9/32");
	int64_t e5 = eip(db, "eipalloc-5", "us-east-1");
	want = C("198.51.100.9/32");
	assert_code(ipam_policy_allocate(db, e5, &want, -1, &got, &err), err,
		    IPAM_EADDRINUSE, "rule 1 gave no address");
	assert_code(ipam_policy_allocate(db, e5, NULL, 33, &got, &err), err,
		    IPAM_EINVAL, "gave no address");
	ipam_actor root = {0, 0, 1};
	ipam_set_default_actor(db, &root);
	/* the JSON views */
	char *json = NULL;
	size_t len = 0;
	assert_ok(ipam_policy_json(db, NULL, IPAM_POLICY_DESCRIBE, &json, &len,
				   &err),
		  err);
	int n = 0;
	for (const char *p = json; (p = strstr(p, "\"IpamPolicyId\"")); p++)
		n++;
	assert_int_equal(n, 3);
	assert_contains(json, "\"State\": \"create-complete\"");
	free(json);
	assert_ok(ipam_policy_json(db, "ops", IPAM_POLICY_RULES, &json, &len,
				   &err),
		  err);
	assert_contains(json, "\"Locale\": \"any\"");
	assert_contains(json, pool_id(db, w));
	free(json);
	assert_ok(ipam_policy_json(db, "ops", IPAM_POLICY_TARGETS, &json, &len,
				   &err),
		  err);
	assert_contains(json, "\"OrganizationTargetId\": \"group:50\"");
	free(json);
	ipam_free(db);
}

/* The policy limits are quotas (/ipam/quotas/policies, policy-targets,
 * policy-rule-pools): the guide's defaults, changed, checked, and lowering
 * below use only stops new ones. */
static void test_limits(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	char name[16];
	int64_t v = 0;
	struct {
		ipam_quota q;
		const char *name;
		int64_t dflt;
	} quotas[] = {
		{IPAM_QUOTA_POLICIES, "policies", 10},
		{IPAM_QUOTA_POLICY_TARGETS, "policy-targets", 100},
		{IPAM_QUOTA_POLICY_RULE_POOLS, "policy-rule-pools", 10},
	};
	for (size_t i = 0; i < sizeof(quotas) / sizeof(quotas[0]); i++) {
		assert_string_equal(ipam_quota_name(quotas[i].q),
				    quotas[i].name);
		assert_ok(ipam_quota_get(db, quotas[i].q, &v, &err), err);
		assert_int_equal(v, quotas[i].dflt);
		assert_code(ipam_quota_set(db, quotas[i].q, 0, &err), err,
			    IPAM_EINVAL, "must be 1..");
	}
	assert_code(ipam_quota_set(db, IPAM_QUOTA_POLICY_RULE_POOLS,
				   IPAM_POLICY_POOLS_CAP + 1, &err),
		    err, IPAM_EINVAL, "must be 1..100");
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		assert_ok(ipam_policy_create(db, name, &err), err);
	}
	assert_code(ipam_policy_create(db, "one-more", &err), err, IPAM_EDQUOT,
		    "quota of 10 policies");
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_POLICIES, 12, &err), err);
	assert_ok(ipam_policy_create(db, "p10", &err), err);
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_POLICIES, 3, &err), err);
	assert_code(ipam_policy_create(db, "one-more", &err), err, IPAM_EDQUOT,
		    "quota of 3 policies");
	for (int i = 0; i <= 10; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		assert_ok(ipam_policy_delete(db, name, &err), err);
	}
	assert_ok(ipam_policy_create(db, "p", &err), err);

	/* targets */
	const char *t3[] = {"all", "user:1", "group:2"};
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_POLICY_TARGETS, 2, &err), err);
	assert_code(ipam_policy_set_targets(db, "p", t3, 3, false, &err), err,
		    IPAM_EDQUOT, "quota of 2 targets");
	assert_string_equal(joined(db, "p", true), "");
	assert_ok(ipam_policy_set_targets(db, "p", t3, 2, false, &err), err);
	assert_code(ipam_policy_set_targets(db, "p", t3 + 2, 1, true, &err),
		    err, IPAM_EDQUOT, "quota of 2 targets");
	assert_string_equal(joined(db, "p", true), "all|user:1");

	/* pools of one rule */
	locales(db);
	char l1[256];
	int64_t pa = public_pool(db, "a", "198.51.100.0/24", "us-east-1");
	int64_t pb = public_pool(db, "b", "203.0.113.0/24", "us-east-1");
	char aid[IPAM_ID_MAX], bid[IPAM_ID_MAX];
	snprintf(aid, sizeof(aid), "%s", pool_id(db, pa));
	snprintf(bid, sizeof(bid), "%s", pool_id(db, pb));
	snprintf(l1, sizeof(l1), "us-east-1 eip %s %s", aid, bid);
	const char *lines[] = {l1};
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_POLICY_RULE_POOLS, 1, &err),
		  err);
	assert_code(ipam_policy_set_rules(db, "p", lines, 1, &err), err,
		    IPAM_EDQUOT, "more than 1 pools");
	assert_string_equal(joined(db, "p", false), "");
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_POLICY_RULE_POOLS, 2, &err),
		  err);
	set_rules(db, "p", l1);
	assert_string_equal(joined(db, "p", false), l1);

	ipam_free(db);
	db = open_mem();
	assert_ok(ipam_set_tier(db, IPAM_TIER_FREE, &err), err);
	assert_code(ipam_policy_create(db, "p", &err), err, IPAM_EPERM,
		    "advanced tier");
	ipam_free(db);
}

/* The CIDRs of resource `id` of the public scope, space-separated. */
static const char *cidrs_of(ipam *db, const char *id)
{
	static char out[256];
	ipam_err err = {0};
	int64_t key = 0;
	ipam_resource_cidr *rcs = NULL;
	size_t n = 0;
	out[0] = '\0';
	assert_ok(ipam_resource_lookup(db, scope_key(db, "public"), id, &key,
				       &err),
		  err);
	assert_ok(ipam_resource_cidrs(db, key, &rcs, &n, &err), err);
	for (size_t i = 0; i < n; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s",
			 i ? " " : "", S(&rcs[i].cidr));
	free(rcs);
	return out;
}

/* ALBs, RDS instances and NAT gateways (L2101-L2104) are resources that
 * ask their policy for public IPv4 addresses as EIPs do; nat-gateway is
 * steered by rnat rules. */
static void test_service_types(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	ipam_policy_choice got;
	char rules[512];
	locales(db);
	int64_t a = public_pool(db, "a", "198.51.100.0/24", "us-east-1");
	int64_t w = public_pool(db, "w", "192.0.2.0/24", NULL);
	assert_ok(ipam_policy_create(db, "svc", &err), err);
	snprintf(rules, sizeof(rules),
		 "us-east-1 alb %s\nany nat-gateway %s\nus-east-1 rds %s %s",
		 pool_id(db, a), pool_id(db, w), pool_id(db, a),
		 pool_id(db, w));
	set_rules(db, "svc", rules);
	enable_for(db, "svc", "all");
	int64_t alb = eip(db, "alb-1", "us-east-1");
	int64_t nat = eip(db, "nat-1", "us-west-2");
	int64_t rds = eip(db, "db-1", "us-east-1");
	int64_t rds2 = eip(db, "db-2", "us-west-2");
	ipam_resource_info info;
	assert_ok(ipam_resource_get(db, alb, &info, &err), err);
	assert_string_equal(info.type, "alb");
	assert_ok(ipam_resource_get(db, nat, &info, &err), err);
	assert_string_equal(info.type, "nat-gateway");
	assert_ok(ipam_resource_get(db, rds, &info, &err), err);
	assert_string_equal(info.type, "rds");
	assert_ok(ipam_policy_allocate(db, alb, NULL, 32, &got, &err), err);
	assert_string_equal(S(&got.cidr), "198.51.100.0/32");
	assert_int_equal(got.rule, 1);
	/* an ALB has an address per zone: a second request gives another */
	assert_ok(ipam_policy_allocate(db, alb, NULL, 32, &got, &err), err);
	assert_string_equal(cidrs_of(db, "alb-1"),
			    "198.51.100.0/32 198.51.100.1/32");
	assert_ok(ipam_policy_allocate(db, nat, NULL, 32, &got, &err), err);
	assert_string_equal(S(&got.cidr), "192.0.2.0/32");
	assert_int_equal(got.rule, 2);
	assert_ok(ipam_policy_allocate(db, rds, NULL, 32, &got, &err), err);
	assert_int_equal(got.rule, 3);
	assert_string_equal(got.pool_id, pool_id(db, a));
	assert_code(ipam_policy_allocate(db, rds2, NULL, 32, &got, &err), err,
		    IPAM_EADDRNOTAVAIL, "has no rule for rds in locale");
	assert_code(ipam_policy_allocate(db, alb, NULL, 24, &got, &err), err,
		    IPAM_EINVAL, "takes one address (/32)");
	/* a private pool is refused to them, named or not */
	int64_t priv = mktop(db, "top");
	prov_ok(db, priv, "10.0.0.0/16");
	int64_t palb = 0;
	assert_ok(ipam_resource_create(db, scope_key(db, "private"), "alb-p",
				       NULL, &palb, &err),
		  err);
	assert_code(ipam_resource_allocate(db, palb, priv, NULL, 32, NULL,
					   &err),
		    err, IPAM_EINVAL, "takes IPv4 space of the public scope");
	ipam_free(db);
}

/* A fed EIP, ALB, RDS instance or NAT gateway without a ResourceCidr needs
 * an address: it is made in the public scope and asks the writer's
 * policy; a refusal is an event, not a failed feed; the next snapshot keeps
 * what the pool gave; no policy, no decision. */
static void test_fed(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	char rules[512], *ev = NULL;
	size_t len = 0;
	locales(db);
	int64_t a = public_pool(db, "a", "198.51.100.0/24", "us-east-1");
	assert_ok(ipam_policy_create(db, "svc", &err), err);
	snprintf(rules, sizeof(rules), "us-east-1 eip %s\nus-east-1 alb %s",
		 pool_id(db, a), pool_id(db, a));
	set_rules(db, "svc", rules);
	enable_for(db, "svc", "all");
	const char *snap =
		"{\"ResourceId\":\"eipalloc-f1\",\"ResourceRegion\":"
		"\"us-east-1\"}\n"
		"{\"ResourceId\":\"alb-f2\",\"ResourceType\":\"alb\","
		"\"ResourceCidr\":\"\",\"ResourceRegion\":\"us-east-1\"}\n"
		"{\"ResourceId\":\"db-f3\",\"ResourceRegion\":\"us-west-2\"}\n"
		"{\"ResourceId\":\"eipalloc-f4\",\"ResourceCidr\":"
		"\"203.0.113.7/32\",\"ResourceRegion\":\"us-east-1\"}\n";
	assert_ok(ipam_discovery_feed(db, "default", snap, strlen(snap), &err),
		  err);
	assert_string_equal(cidrs_of(db, "eipalloc-f1"), "198.51.100.0/32");
	assert_string_equal(cidrs_of(db, "alb-f2"), "198.51.100.1/32");
	assert_string_equal(cidrs_of(db, "db-f3"), ""); /* no rds rule */
	assert_string_equal(cidrs_of(db, "eipalloc-f4"), "203.0.113.7/32");
	assert_ok(ipam_events_render(db, 100, &ev, &len, &err), err);
	assert_contains(ev, "allocate-by-ipam-policy");
	assert_contains(ev, "\"resource-id\":\"eipalloc-f1\"");
	assert_contains(ev, "allocate-by-ipam-policy-refused");
	assert_contains(ev, "has no rule for rds in locale 'us-west-2'");
	free(ev);
	/* again: the addresses stay, nothing more is allocated */
	assert_ok(ipam_discovery_feed(db, "default", snap, strlen(snap), &err),
		  err);
	assert_string_equal(cidrs_of(db, "eipalloc-f1"), "198.51.100.0/32");
	assert_string_equal(cidrs_of(db, "alb-f2"), "198.51.100.1/32");
	/* no policy for the writer: registered without an address */
	ipam_actor who = {1234, 50, 1};
	ipam_set_default_actor(db, &who);
	assert_ok(ipam_policy_set_enabled(db, "svc", false, &err), err);
	const char *more = "{\"ResourceId\":\"eipalloc-f5\",\"ResourceRegion\":"
			   "\"us-east-1\"}\n";
	assert_ok(ipam_discovery_feed(db, "default", more, strlen(more), &err),
		  err);
	assert_string_equal(cidrs_of(db, "eipalloc-f5"), "");
	/* hostile: only the steered types may come without a CIDR */
	const char *bad[] = {
		"{\"ResourceId\":\"vpc-9\"}\n",
		"{\"ResourceId\":\"i-9\",\"ResourceCidr\":\"\"}\n",
		"{\"ResourceId\":\"eipalloc-9\",\"ResourceCidr\":7}\n",
		"{\"ResourceId\":\"\",\"ResourceType\":\"eip\"}\n",
		"{\"ResourceId\":\"x-9\",\"ResourceType\":\"lambda\"}\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ipam_discovery_feed(db, "default", bad[i],
						     strlen(bad[i]), &err),
				 IPAM_EINVAL);
	ipam_set_default_actor(db, &(ipam_actor){0, 0, 1});
	ipam_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_steering_model),
		cmocka_unit_test(test_decisions),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_service_types),
		cmocka_unit_test(test_fed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
