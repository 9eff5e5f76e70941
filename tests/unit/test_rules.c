/*
 * test_rules.c - allocation rules and compliance (SPEC §3.2, L552-L620):
 * netmask rules and their bounds, a new allocation that breaks a rule is
 * refused, an existing one that a later rule breaks is kept and flagged
 * noncompliant with the rule named, rules are not inherited and do not
 * apply to child pools' allocations, but bound the CIDRs a child pool may
 * take from its parent.
 */
#include "fixture.h"

static void set_rule(ipam *db, int64_t pool, ipam_netmask_rule rule, int len)
{
	ipam_err err = {0};
	if (ipam_pool_set_netmask(db, pool, rule, len, &err))
		fail_msg("set netmask rule %d to %d: %s", (int)rule, len,
			 err.msg);
}

static void assert_rules(ipam *db, int64_t pool, int min, int max, int def)
{
	ipam_pool_info p;
	ipam_err err = {0};
	assert_ok(ipam_pool_get(db, pool, &p, &err), err);
	assert_int_equal(p.min_netmask, min);
	assert_int_equal(p.max_netmask, max);
	assert_int_equal(p.default_netmask, def);
}

static void test_netmask_bounds(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "p");
	ipam_err err = {0};
	(void)state;

	assert_code(ipam_pool_set_netmask(db, p, IPAM_NETMASK_MIN, 33, &err),
		    err, IPAM_EINVAL,
		    "allocation-min-netmask-length must be 0..32, not 33");
	assert_code(ipam_pool_set_netmask(db, p, IPAM_NETMASK_MAX, -2, &err),
		    err, IPAM_EINVAL,
		    "allocation-max-netmask-length must be 0..32, not -2");
	assert_code(ipam_pool_set_netmask(db, p, (ipam_netmask_rule)7, 8, &err),
		    err, IPAM_EINVAL, "unknown netmask rule");
	set_rule(db, p, IPAM_NETMASK_MIN, 0);
	set_rule(db, p, IPAM_NETMASK_MAX, 32);
	assert_rules(db, p, 0, 32, -1);

	set_rule(db, p, IPAM_NETMASK_MIN, 20);
	set_rule(db, p, IPAM_NETMASK_MAX, 28);
	set_rule(db, p, IPAM_NETMASK_DEFAULT, 24);
	assert_rules(db, p, 20, 28, 24);
	/* min <= default <= max, whichever is written */
	assert_code(ipam_pool_set_netmask(db, p, IPAM_NETMASK_MIN, 29, &err),
		    err, IPAM_EINVAL,
		    "allocation-min-netmask-length 29 is greater than "
		    "allocation-max-netmask-length 28");
	assert_code(ipam_pool_set_netmask(db, p, IPAM_NETMASK_MAX, 19, &err),
		    err, IPAM_EINVAL,
		    "allocation-min-netmask-length 20 is greater than "
		    "allocation-max-netmask-length 19");
	assert_code(
		ipam_pool_set_netmask(db, p, IPAM_NETMASK_DEFAULT, 19, &err),
		err, IPAM_EINVAL,
		"allocation-default-netmask-length 19 is outside min..max");
	assert_code(
		ipam_pool_set_netmask(db, p, IPAM_NETMASK_DEFAULT, 29, &err),
		err, IPAM_EINVAL,
		"allocation-default-netmask-length 29 is outside min..max");
	assert_code(ipam_pool_set_netmask(db, p, IPAM_NETMASK_MIN, 25, &err),
		    err, IPAM_EINVAL,
		    "allocation-default-netmask-length 24 is outside min..max");
	assert_code(ipam_pool_set_netmask(db, p, IPAM_NETMASK_MAX, 23, &err),
		    err, IPAM_EINVAL,
		    "allocation-default-netmask-length 24 is outside min..max");
	assert_rules(db, p, 20, 28, 24);
	set_rule(db, p, IPAM_NETMASK_DEFAULT, 28);
	set_rule(db, p, IPAM_NETMASK_DEFAULT, 20);
	assert_rules(db, p, 20, 28, 20);
	ipam_free(db);
}

/* -1 clears a rule: the pool is back to "no rule", not to /0. */
static void test_netmask_clear(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "p");
	char *json;
	(void)state;

	set_rule(db, p, IPAM_NETMASK_MIN, 16);
	set_rule(db, p, IPAM_NETMASK_MAX, 28);
	set_rule(db, p, IPAM_NETMASK_DEFAULT, 24);
	set_rule(db, p, IPAM_NETMASK_DEFAULT, -1);
	set_rule(db, p, IPAM_NETMASK_MIN, -1);
	set_rule(db, p, IPAM_NETMASK_MAX, -1);
	assert_rules(db, p, -1, -1, -1);
	json = render(db, p, VIEW_POOL);
	assert_null(strstr(json, "NetmaskLength"));
	free(json);
	/* and allocations of any size work again */
	prov_ok(db, p, "10.0.0.0/8");
	assert_string_equal(alloc_ok(db, p, "big", 9), "10.0.0.0/9");
	assert_string_equal(alloc_ok(db, p, "one", 32), "10.128.0.0/32");
	ipam_free(db);
}

static void test_ipv6_netmask_range(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "p");
	ipam_err err = {0};
	(void)state;

	assert_ok(ipam_pool_set_family(db, p, 6, &err), err);
	set_rule(db, p, IPAM_NETMASK_MIN, 48);
	set_rule(db, p, IPAM_NETMASK_MAX, 128);
	set_rule(db, p, IPAM_NETMASK_DEFAULT, 56);
	assert_rules(db, p, 48, 128, 56);
	assert_code(ipam_pool_set_netmask(db, p, IPAM_NETMASK_MAX, 129, &err),
		    err, IPAM_EINVAL,
		    "allocation-max-netmask-length must be 0..128, not 129");
	ipam_free(db);
}

/* Going back to IPv4 must not leave IPv6-sized rules behind: they would
 * be out of range (SPEC §3.1: 0-32) and make the pool unusable. */
static void test_family_change_keeps_rules_in_range(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "p");
	ipam_pool_info info;
	ipam_err err = {0};
	int rc;
	(void)state;

	assert_ok(ipam_pool_set_family(db, p, 6, &err), err);
	set_rule(db, p, IPAM_NETMASK_MAX, 64);
	set_rule(db, p, IPAM_NETMASK_DEFAULT, 64);
	rc = ipam_pool_set_family(db, p, 4, &err);
	assert_ok(ipam_pool_get(db, p, &info, &err), err);
	if (rc == 0) {
		/* accepted: then every rule must fit an IPv4 pool */
		assert_int_equal(info.family, 4);
		if (info.max_netmask > 32 || info.default_netmask > 32)
			fail_msg("ipv4 pool kept netmask rules max=%d "
				 "default=%d",
				 info.max_netmask, info.default_netmask);
	} else {
		assert_int_equal(rc, IPAM_EINVAL);
		assert_int_equal(info.family, 6);
	}
	ipam_free(db);
}

static void test_new_allocation_must_obey(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "p");
	ipam_err err = {0};
	ipam_cidr got;
	(void)state;

	prov_ok(db, p, "10.0.0.0/16");
	/* no size and no default */
	assert_code(alloc(db, p, "x", -1, NULL, NULL, &err), err, IPAM_EINVAL,
		    "pool 'p' has no allocation-default-netmask-length: give a "
		    "size");
	assert_code(ipam_pool_preview(db, p, -1, &got, &err), err, IPAM_EINVAL,
		    "has no allocation-default-netmask-length");
	assert_code(alloc(db, p, "x", 33, NULL, NULL, &err), err, IPAM_EINVAL,
		    "netmask /33 is out of range for an ipv4 pool (0..32)");

	set_rule(db, p, IPAM_NETMASK_MIN, 24);
	set_rule(db, p, IPAM_NETMASK_MAX, 28);
	set_rule(db, p, IPAM_NETMASK_DEFAULT, 26);
	assert_code(alloc(db, p, "x", 23, NULL, NULL, &err), err, IPAM_EINVAL,
		    "cannot allocate /23 from pool 'p': netmask /23 is shorter "
		    "than allocation-min-netmask-length 24");
	assert_code(alloc(db, p, "x", 29, NULL, NULL, &err), err, IPAM_EINVAL,
		    "cannot allocate /29 from pool 'p': netmask /29 is longer "
		    "than allocation-max-netmask-length 28");
	assert_code(alloc(db, p, "x", -1, "10.0.5.0/29", NULL, &err), err,
		    IPAM_EINVAL,
		    "cannot allocate /29 from pool 'p': netmask /29 is longer");
	assert_code(alloc(db, p, "x", -1, "10.0.4.0/22", NULL, &err), err,
		    IPAM_EINVAL, "netmask /22 is shorter");
	assert_code(ipam_pool_preview(db, p, 30, &got, &err), err, IPAM_EINVAL,
		    "netmask /30 is longer than allocation-max-netmask-length "
		    "28");
	assert_int_equal(usage(db, p).allocation_count, 0);
	assert_string_equal(U(usage(db, p).assigned), "0");

	/* the edges and the default are fine */
	assert_string_equal(alloc_ok(db, p, "d", -1), "10.0.0.0/26");
	assert_string_equal(alloc_ok(db, p, "min", 24), "10.0.1.0/24");
	assert_string_equal(alloc_ok(db, p, "max", 28), "10.0.0.64/28");
	alloc_cidr_ok(db, p, "spec", "10.0.2.0/25");
	assert_int_equal(usage(db, p).allocation_count, 4);
	assert_int_equal(usage(db, p).compliant, 4);
	ipam_free(db);
}

static void test_later_rule_flags_noncompliant(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "p");
	ipam_alloc_info a;
	ipam_pool_usage u;
	ipam_err err = {0};
	char *status;
	(void)state;

	prov_ok(db, p, "10.0.0.0/16");
	assert_string_equal(alloc_ok(db, p, "small", 28), "10.0.0.0/28");
	assert_string_equal(alloc_ok(db, p, "big", 20), "10.0.16.0/20");
	assert_string_equal(alloc_ok(db, p, "mid", 24), "10.0.1.0/24");
	assert_ok(ipam_alloc_get(db, p, "small", &a, &err), err);
	assert_true(a.compliant);
	assert_string_equal(a.compliance_reason, "");

	/* the rule changes after the fact: kept, flagged, rule named */
	set_rule(db, p, IPAM_NETMASK_MAX, 26);
	assert_ok(ipam_alloc_get(db, p, "small", &a, &err), err);
	assert_false(a.compliant);
	assert_string_equal(a.compliance_reason,
			    "netmask /28 is longer than "
			    "allocation-max-netmask-length 26");
	assert_string_equal(S(&a.cidr), "10.0.0.0/28");
	u = usage(db, p);
	assert_int_equal(u.allocation_count, 3);
	assert_int_equal(u.compliant, 2);
	assert_int_equal(u.noncompliant, 1);
	status = render(db, p, VIEW_STATUS);
	assert_string_equal(status_value(status, "compliant-resource-cidrs"),
			    "2");
	assert_string_equal(status_value(status, "noncompliant-resource-cidrs"),
			    "1");
	free(status);

	set_rule(db, p, IPAM_NETMASK_MIN, 22);
	assert_ok(ipam_alloc_get(db, p, "big", &a, &err), err);
	assert_false(a.compliant);
	assert_string_equal(a.compliance_reason,
			    "netmask /20 is shorter than "
			    "allocation-min-netmask-length 22");
	assert_ok(ipam_alloc_get(db, p, "mid", &a, &err), err);
	assert_true(a.compliant);
	u = usage(db, p);
	assert_int_equal(u.compliant, 1);
	assert_int_equal(u.noncompliant, 2);

	/* releasing a noncompliant one moves the right counter */
	assert_ok(ipam_alloc_release(db, p, "big", &err), err);
	u = usage(db, p);
	assert_int_equal(u.compliant, 1);
	assert_int_equal(u.noncompliant, 1);
	assert_int_equal(u.allocation_count, 2);

	/* loosening the rule makes it compliant again */
	set_rule(db, p, IPAM_NETMASK_MAX, 28);
	assert_ok(ipam_alloc_get(db, p, "small", &a, &err), err);
	assert_true(a.compliant);
	assert_string_equal(a.compliance_reason, "");
	u = usage(db, p);
	assert_int_equal(u.compliant, 2);
	assert_int_equal(u.noncompliant, 0);

	/* and so does clearing it */
	set_rule(db, p, IPAM_NETMASK_MAX, 26);
	assert_int_equal(usage(db, p).noncompliant, 1);
	set_rule(db, p, IPAM_NETMASK_MAX, -1);
	assert_ok(ipam_alloc_get(db, p, "small", &a, &err), err);
	assert_true(a.compliant);
	assert_int_equal(usage(db, p).noncompliant, 0);
	/* a new /28 is as welcome as the old one */
	assert_string_equal(alloc_ok(db, p, "small2", 28), "10.0.0.16/28");
	assert_int_equal(usage(db, p).compliant, 3);
	ipam_free(db);
}

static void test_rules_and_child_pools(void **state)
{
	ipam *db = open_mem();
	int64_t priv = scope_key(db, "private");
	int64_t top = mktop(db, "top");
	int64_t child = mkpool(db, priv, top, "child");
	ipam_pool_info c;
	ipam_pool_usage u;
	ipam_alloc_info a;
	ipam_err err = {0};
	(void)state;

	prov_ok(db, top, "10.0.0.0/8");
	set_rule(db, top, IPAM_NETMASK_MIN, 12);
	set_rule(db, top, IPAM_NETMASK_MAX, 20);
	/* the parent's rules bound the child's CIDRs */
	assert_code(prov(db, child, "10.0.0.0/24", &err), err, IPAM_EINVAL,
		    "cannot provision 10.0.0.0/24 from pool 'top': netmask /24 "
		    "is longer than allocation-max-netmask-length 20");
	assert_code(prov(db, child, "10.0.0.0/10", &err), err, IPAM_EINVAL,
		    "cannot provision 10.0.0.0/10 from pool 'top': netmask /10 "
		    "is shorter than allocation-min-netmask-length 12");
	{
		ipam_cidr got;
		assert_code(ipam_pool_provision_len(db, child, 24, &got, &err),
			    err, IPAM_EINVAL, "netmask /24 is longer");
	}
	assert_int_equal(usage(db, child).provisioned_cidrs, 0);
	prov_ok(db, child, "10.0.0.0/16");

	/* rules are not inherited (L677) */
	assert_ok(ipam_pool_get(db, child, &c, &err), err);
	assert_int_equal(c.min_netmask, -1);
	assert_int_equal(c.max_netmask, -1);
	assert_string_equal(alloc_ok(db, child, "host", 32), "10.0.0.0/32");
	assert_string_equal(alloc_ok(db, child, "net", 17), "10.0.128.0/17");

	/* and do not apply to the child's allocation in the parent (L620) */
	set_rule(db, top, IPAM_NETMASK_MIN, 8);
	set_rule(db, top, IPAM_NETMASK_MAX, 8);
	assert_ok(ipam_alloc_get(db, top, pool_id(db, child), &a, &err), err);
	assert_true(a.compliant);
	u = usage(db, top);
	assert_int_equal(u.compliant, 0);
	assert_int_equal(u.noncompliant, 0);
	assert_int_equal(u.allocation_count, 1);
	/* the child's own allocations are judged by the child's rules */
	set_rule(db, child, IPAM_NETMASK_MAX, 24);
	u = usage(db, child);
	assert_int_equal(u.compliant, 1);
	assert_int_equal(u.noncompliant, 1);
	assert_ok(ipam_alloc_get(db, child, "host", &a, &err), err);
	assert_string_equal(a.compliance_reason,
			    "netmask /32 is longer than "
			    "allocation-max-netmask-length 24");
	ipam_free(db);
}

static void test_required_tags(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "p");
	const char *tags[] = {"team=net", "env=prod"};
	const char *bad[] = {"novalue"};
	const char *empty_key[] = {"=x"};
	ipam_strlist got = {0};
	ipam_err err = {0};
	char *json;
	(void)state;

	assert_ok(ipam_pool_set_required_tags(db, p, tags, 2, &err), err);
	assert_ok(ipam_pool_get_required_tags(db, p, &got, &err), err);
	assert_int_equal(got.count, 2);
	assert_string_equal(got.items[0], "env=prod");
	assert_string_equal(got.items[1], "team=net");
	ipam_strlist_free(&got);
	json = render(db, p, VIEW_POOL);
	assert_contains(json, "\"AllocationResourceTags\": [\n"
			      "        {\n"
			      "          \"Key\": \"env\",\n"
			      "          \"Value\": \"prod\"\n"
			      "        },\n"
			      "        {\n"
			      "          \"Key\": \"team\",\n"
			      "          \"Value\": \"net\"\n"
			      "        }\n"
			      "      ]");
	free(json);

	assert_code(ipam_pool_set_required_tags(db, p, bad, 1, &err), err,
		    IPAM_EINVAL,
		    "invalid required tag 'novalue': expected key=value");
	assert_code(ipam_pool_set_required_tags(db, p, empty_key, 1, &err), err,
		    IPAM_EINVAL, "invalid required tag '=x'");
	/* refused writes keep the old set */
	assert_ok(ipam_pool_get_required_tags(db, p, &got, &err), err);
	assert_int_equal(got.count, 2);
	ipam_strlist_free(&got);
	/* tag rules do not apply to custom allocations (they have no tags) */
	prov_ok(db, p, "10.0.0.0/24");
	assert_string_equal(alloc_ok(db, p, "c", 26), "10.0.0.0/26");
	assert_int_equal(usage(db, p).compliant, 1);
	/* an empty set clears */
	assert_ok(ipam_pool_set_required_tags(db, p, NULL, 0, &err), err);
	assert_ok(ipam_pool_get_required_tags(db, p, &got, &err), err);
	assert_int_equal(got.count, 0);
	ipam_strlist_free(&got);
	ipam_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netmask_bounds),
		cmocka_unit_test(test_netmask_clear),
		cmocka_unit_test(test_ipv6_netmask_range),
		cmocka_unit_test(test_family_change_keeps_rules_in_range),
		cmocka_unit_test(test_new_allocation_must_obey),
		cmocka_unit_test(test_later_rule_flags_noncompliant),
		cmocka_unit_test(test_rules_and_child_pools),
		cmocka_unit_test(test_required_tags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
