/*
 * test_watch.c - what IPAM watches (SPEC §5.1-§5.3, L2668-L2745, L596-L616):
 * the management, compliance and overlap words of every resource CIDR and
 * how they follow rules, tags, CIDRs and monitoring; ignoring; auto-import;
 * moving a VPC with its subnets to another private scope.
 */
#include "watch_fixture.h"

static const char *const locales[] = {"us-east-1", "us-east-2", "us-west-2",
				      NULL};

typedef struct env {
	ipam *db;
	int64_t priv, pub, dev;
} env;

/* Home us-east-1; pool "dev" (us-east-1) with 10.0.0.0/16. */
static env setup(void)
{
	env e;
	e.db = open_watch("us-east-1", locales);
	e.priv = scope_key(e.db, "private");
	e.pub = scope_key(e.db, "public");
	e.dev = mktop(e.db, "dev");
	pool_locale(e.db, e.dev, "us-east-1");
	prov_ok(e.db, e.dev, "10.0.0.0/16");
	return e;
}

static int64_t vpc_in(env *e, const char *id, const char *locale, ...)
{
	int64_t key = res_make(e->db, e->priv, id, "111122223333", locale, NULL,
			       NULL, NULL);
	const char *cidr;
	va_list ap;
	va_start(ap, locale);
	while ((cidr = va_arg(ap, const char *)))
		res_cidr(e->db, key, cidr);
	va_end(ap);
	return key;
}

/* ---- the words ---- */

static void test_status_words_by_type(void **state)
{
	env e = setup();
	int64_t vpc = vpc_in(&e, "vpc-u", "us-east-1", "10.1.0.0/24", NULL);
	int64_t subnet = res_make(e.db, e.priv, "subnet-1", NULL, "us-east-1",
				  "vpc-u", NULL, "10.1.0.0/26", NULL);
	int64_t inst = res_make(e.db, e.priv, "i-1", NULL, "us-east-1", "vpc-u",
				NULL, "10.1.0.5/32", NULL);
	int64_t eni = res_make(e.db, e.priv, "eni-1", NULL, "us-east-1",
			       "vpc-u", NULL, "10.1.0.5/32", NULL);
	int64_t eip = res_make(e.db, e.priv, "eipalloc-1", NULL, "us-east-1",
			       NULL, NULL, "198.51.100.7/32", NULL);
	int64_t managed = vpc_in(&e, "vpc-m", "us-east-1", NULL);
	int64_t ignored = vpc_in(&e, "vpc-i", "us-east-1", "10.2.0.0/24", NULL);
	ipam_err err = {0};
	char want[1024];
	(void)state;

	res_set(e.db, subnet, IPAM_RESOURCE_ACTIVE_IPS, "16");
	res_alloc_ok(e.db, managed, e.dev, "10.0.0.0/24", -1);
	assert_ok(ipam_resource_set_ignored(e.db, ignored, true, &err), err);

	assert_string_equal(rc_state(e.db, vpc, "10.1.0.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	assert_string_equal(rc_state(e.db, subnet, "10.1.0.0/26"), "- - -");
	assert_string_equal(rc_state(e.db, inst, "10.1.0.5/32"), "- - -");
	assert_string_equal(rc_state(e.db, eni, "10.1.0.5/32"), "- - -");
	assert_string_equal(rc_state(e.db, eip, "198.51.100.7/32"),
			    "unmanaged unmanaged nonoverlapping");
	assert_string_equal(rc_state(e.db, managed, "10.0.0.0/24"),
			    "managed compliant nonoverlapping");
	assert_string_equal(rc_state(e.db, ignored, "10.2.0.0/24"),
			    "ignored ignored ignored");

	/* Text: CIDR management compliance overlap pool ip-usage [reason]. A
	 * VPC's usage is the share its subnets cover (64 of 256); a subnet's
	 * its active addresses (16 of 64). */
	assert_res_status(
		e.db, vpc,
		"10.1.0.0/24 unmanaged unmanaged nonoverlapping - 25\n");
	assert_res_status(e.db, subnet, "10.1.0.0/26 - - - - 25\n");
	assert_res_status(e.db, inst, "10.1.0.5/32 - - - - -\n");
	assert_res_status(e.db, eni, "10.1.0.5/32 - - - - -\n");
	assert_res_status(e.db, ignored,
			  "10.2.0.0/24 ignored ignored ignored - 0\n");
	snprintf(want, sizeof(want),
		 "10.0.0.0/24 managed compliant nonoverlapping %s 0\n",
		 pool_id(e.db, e.dev));
	assert_res_status(e.db, managed, want);
	snprintf(want, sizeof(want),
		 "[\n"
		 "  {\n"
		 "    \"ResourceCidr\": \"10.0.0.0/24\",\n"
		 "    \"ManagementState\": \"managed\",\n"
		 "    \"ComplianceStatus\": \"compliant\",\n"
		 "    \"OverlapStatus\": \"nonoverlapping\",\n"
		 "    \"ComplianceReason\": \"\",\n"
		 "    \"IpamPoolId\": \"%s\",\n"
		 "    \"IpsAllocatedPercent\": \"0\"\n"
		 "  }\n"
		 "]\n",
		 pool_id(e.db, e.dev));
	assert_text_free(res_status(e.db, managed, true), want);
	assert_text_free(res_status(e.db, inst, true),
			 "[\n"
			 "  {\n"
			 "    \"ResourceCidr\": \"10.1.0.5/32\",\n"
			 "    \"ManagementState\": \"-\",\n"
			 "    \"ComplianceStatus\": \"-\",\n"
			 "    \"OverlapStatus\": \"-\",\n"
			 "    \"ComplianceReason\": \"\"\n"
			 "  }\n"
			 "]\n");
	close_watch(e.db);
}

/* ---- compliance follows rules and tags ---- */

static void test_noncompliant_after_rule_change(void **state)
{
	env e = setup();
	static const char *const rule[] = {"environment=prod"};
	int64_t vpc = vpc_in(&e, "vpc-m", "us-east-1", NULL);
	ipam_resource_cidr row;
	ipam_alloc_info a;
	ipam_pool_usage u;
	ipam_err err = {0};
	char want[512];
	(void)state;

	res_alloc_ok(e.db, vpc, e.dev, "10.0.0.0/24", -1);
	u = usage(e.db, e.dev);
	assert_int_equal(u.compliant, 1);
	assert_int_equal(u.noncompliant, 0);

	/* A netmask rule set later: kept, flagged (L569). */
	pool_netmask(e.db, e.dev, IPAM_NETMASK_MIN, 25);
	row = rc_row(e.db, vpc, "10.0.0.0/24");
	assert_string_equal(row.management, "managed");
	assert_string_equal(row.compliance, "noncompliant");
	assert_string_equal(row.overlap, "nonoverlapping");
	assert_string_equal(row.reason, "netmask /24 is shorter than "
					"allocation-min-netmask-length 25");
	snprintf(want, sizeof(want),
		 "10.0.0.0/24 managed noncompliant nonoverlapping %s 0 netmask "
		 "/24 is shorter than allocation-min-netmask-length 25\n",
		 pool_id(e.db, e.dev));
	assert_res_status(e.db, vpc, want);
	assert_ok(ipam_alloc_get(e.db, e.dev, "vpc-m", &a, &err), err);
	assert_false(a.compliant);
	assert_string_equal(a.compliance_reason, row.reason);
	u = usage(e.db, e.dev);
	assert_int_equal(u.compliant, 0);
	assert_int_equal(u.noncompliant, 1);
	assert_string_equal(U(u.assigned), "256"); /* still there */

	pool_netmask(e.db, e.dev, IPAM_NETMASK_MIN, -1);
	assert_string_equal(rc_state(e.db, vpc, "10.0.0.0/24"),
			    "managed compliant nonoverlapping");
	assert_int_equal(usage(e.db, e.dev).compliant, 1);

	pool_netmask(e.db, e.dev, IPAM_NETMASK_MAX, 20);
	assert_string_equal(rc_row(e.db, vpc, "10.0.0.0/24").reason,
			    "netmask /24 is longer than "
			    "allocation-max-netmask-length 20");
	pool_netmask(e.db, e.dev, IPAM_NETMASK_MAX, -1);

	/* A tag rule set later (L615), then the tag added. */
	pool_tags(e.db, e.dev, rule, 1);
	row = rc_row(e.db, vpc, "10.0.0.0/24");
	assert_string_equal(row.compliance, "noncompliant");
	assert_string_equal(row.reason,
			    "missing required tag 'environment=prod'");
	assert_int_equal(usage(e.db, e.dev).noncompliant, 1);
	res_tag(e.db, vpc, "environment", "test");
	assert_string_equal(rc_state(e.db, vpc, "10.0.0.0/24"),
			    "managed noncompliant nonoverlapping");
	res_tag(e.db, vpc, "environment", "prod");
	row = rc_row(e.db, vpc, "10.0.0.0/24");
	assert_string_equal(row.compliance, "compliant");
	assert_string_equal(row.reason, "");
	u = usage(e.db, e.dev);
	assert_int_equal(u.compliant, 1);
	assert_int_equal(u.noncompliant, 0);
	/* The tag removed again. */
	assert_ok(ipam_resource_tag_remove(e.db, vpc, "environment", &err),
		  err);
	assert_string_equal(rc_state(e.db, vpc, "10.0.0.0/24"),
			    "managed noncompliant nonoverlapping");
	res_tag(e.db, vpc, "environment", "prod");

	/* The resource moves to another region (L2722). */
	res_set(e.db, vpc, IPAM_RESOURCE_LOCALE, "us-west-2");
	row = rc_row(e.db, vpc, "10.0.0.0/24");
	assert_string_equal(row.compliance, "noncompliant");
	assert_string_equal(row.reason, "locale 'us-west-2' is not the pool's "
					"locale 'us-east-1'");
	res_set(e.db, vpc, IPAM_RESOURCE_LOCALE, "us-east-1");
	assert_string_equal(rc_state(e.db, vpc, "10.0.0.0/24"),
			    "managed compliant nonoverlapping");
	u = usage(e.db, e.dev);
	assert_int_equal(u.compliant, 1);
	assert_int_equal(u.noncompliant, 0);
	close_watch(e.db);
}

/* Rules of a pool apply to its own allocations only (L620, L677). */
static void test_rules_not_inherited(void **state)
{
	env e = setup();
	int64_t child = mkpool(e.db, e.priv, e.dev, "child");
	int64_t vpc = vpc_in(&e, "vpc-c", "us-east-1", NULL);
	(void)state;

	prov_ok(e.db, child, "10.0.0.0/20");
	res_alloc_ok(e.db, vpc, child, "10.0.0.0/24", -1);
	pool_netmask(e.db, e.dev, IPAM_NETMASK_MIN, 25);
	assert_string_equal(rc_state(e.db, vpc, "10.0.0.0/24"),
			    "managed compliant nonoverlapping");
	pool_netmask(e.db, child, IPAM_NETMASK_MIN, 25);
	assert_string_equal(rc_state(e.db, vpc, "10.0.0.0/24"),
			    "managed noncompliant nonoverlapping");
	assert_int_equal(usage(e.db, child).noncompliant, 1);
	assert_int_equal(usage(e.db, e.dev).noncompliant, 0);
	close_watch(e.db);
}

/* ---- overlap ---- */

static void test_overlap_with_manual_allocation(void **state)
{
	env e = setup();
	int64_t lab = mktop(e.db, "lab"); /* no locale */
	int64_t inside, around, beside, eip;
	ipam_err err = {0};
	(void)state;

	prov_ok(e.db, lab, "10.8.0.0/15");
	alloc_cidr_ok(e.db, lab, "manual", "10.8.1.0/24");
	/* A resource CIDR inside a manual allocation (L2730). */
	inside = vpc_in(&e, "vpc-in", "us-east-1", "10.8.1.128/25", NULL);
	assert_string_equal(rc_state(e.db, inside, "10.8.1.128/25"),
			    "unmanaged unmanaged overlapping");
	/* A manual allocation made inside an existing resource CIDR. */
	around = vpc_in(&e, "vpc-around", "us-east-1", "10.9.0.0/16", NULL);
	assert_string_equal(rc_state(e.db, around, "10.9.0.0/16"),
			    "unmanaged unmanaged nonoverlapping");
	alloc_cidr_ok(e.db, lab, "inner", "10.9.5.0/26");
	assert_string_equal(rc_state(e.db, around, "10.9.0.0/16"),
			    "unmanaged unmanaged overlapping");
	beside = vpc_in(&e, "vpc-beside", "us-east-1", "10.8.2.0/24", NULL);
	assert_string_equal(rc_state(e.db, beside, "10.8.2.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	/* An Elastic IP in a VPC's range is not an overlap of the VPC. */
	eip = res_make(e.db, e.priv, "eipalloc-9", NULL, "us-east-1", NULL,
		       NULL, "10.8.2.7/32", NULL);
	assert_string_equal(rc_state(e.db, beside, "10.8.2.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	assert_string_equal(rc_state(e.db, eip, "10.8.2.7/32"),
			    "unmanaged unmanaged nonoverlapping");

	assert_ok(ipam_alloc_release(e.db, lab, "manual", &err), err);
	assert_string_equal(rc_state(e.db, inside, "10.8.1.128/25"),
			    "unmanaged unmanaged nonoverlapping");
	assert_ok(ipam_alloc_release(e.db, lab, "inner", &err), err);
	assert_string_equal(rc_state(e.db, around, "10.9.0.0/16"),
			    "unmanaged unmanaged nonoverlapping");
	close_watch(e.db);
}

/* L5133-L5160: two unmanaged VPCs in different regions, same /24. */
static void test_overlap_two_unmanaged_vpcs(void **state)
{
	env e = setup();
	int64_t a = vpc_in(&e, "vpc-a", "us-east-2", "10.0.0.0/24", NULL);
	int64_t b, c, subnet;
	(void)state;

	assert_string_equal(rc_state(e.db, a, "10.0.0.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	b = vpc_in(&e, "vpc-b", "us-west-2", "10.0.0.0/24", NULL);
	assert_string_equal(rc_state(e.db, a, "10.0.0.0/24"),
			    "unmanaged unmanaged overlapping");
	assert_string_equal(rc_state(e.db, b, "10.0.0.0/24"),
			    "unmanaged unmanaged overlapping");
	/* A subnet with its VPC's very CIDR does not make it overlap (L5230). */
	c = vpc_in(&e, "vpc-c", "us-east-1", "10.5.0.0/24", NULL);
	subnet = res_make(e.db, e.priv, "subnet-c", NULL, "us-east-1", "vpc-c",
			  NULL, "10.5.0.0/24", NULL);
	res_make(e.db, e.priv, "subnet-c2", NULL, "us-east-1", "vpc-c", NULL,
		 "10.5.0.128/25", NULL);
	assert_string_equal(rc_state(e.db, c, "10.5.0.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	assert_string_equal(rc_state(e.db, subnet, "10.5.0.0/24"), "- - -");

	/* Removing one makes the other nonoverlapping again. */
	res_del(e.db, b);
	assert_string_equal(rc_state(e.db, a, "10.0.0.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	b = vpc_in(&e, "vpc-b", "us-west-2", "10.0.0.0/24", NULL);
	assert_string_equal(rc_state(e.db, a, "10.0.0.0/24"),
			    "unmanaged unmanaged overlapping");
	res_uncidr(e.db, a, "10.0.0.0/24");
	assert_string_equal(rc_state(e.db, b, "10.0.0.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	close_watch(e.db);
}

static void test_overlap_partial_and_families(void **state)
{
	env e = setup();
	int64_t d = vpc_in(&e, "vpc-d", "us-east-1", "10.6.0.0/23", NULL);
	int64_t f = vpc_in(&e, "vpc-f", "us-east-1", "fd00:1::/48", NULL);
	int64_t g, x, y, z;
	(void)state;

	/* Containment in either direction, and partial via another one. */
	x = vpc_in(&e, "vpc-x", "us-east-1", "10.6.1.0/24", NULL);
	assert_string_equal(rc_state(e.db, d, "10.6.0.0/23"),
			    "unmanaged unmanaged overlapping");
	assert_string_equal(rc_state(e.db, x, "10.6.1.0/24"),
			    "unmanaged unmanaged overlapping");
	/* Adjacent is not overlapping. */
	y = vpc_in(&e, "vpc-y", "us-east-1", "10.6.2.0/24", NULL);
	assert_string_equal(rc_state(e.db, y, "10.6.2.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	/* A whole-space /0 overlaps everything of its family only. */
	z = vpc_in(&e, "vpc-z", "us-east-1", "0.0.0.0/0", NULL);
	assert_string_equal(rc_state(e.db, y, "10.6.2.0/24"),
			    "unmanaged unmanaged overlapping");
	assert_string_equal(rc_state(e.db, f, "fd00:1::/48"),
			    "unmanaged unmanaged nonoverlapping");
	res_del(e.db, z);
	assert_string_equal(rc_state(e.db, y, "10.6.2.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	g = vpc_in(&e, "vpc-g", "us-east-1", "fd00:1:0:100::/56", NULL);
	assert_string_equal(rc_state(e.db, f, "fd00:1::/48"),
			    "unmanaged unmanaged overlapping");
	assert_string_equal(rc_state(e.db, g, "fd00:1:0:100::/56"),
			    "unmanaged unmanaged overlapping");
	/* One resource's own CIDRs overlapping each other count too. */
	res_cidr(e.db, y, "10.6.2.0/25");
	assert_string_equal(rc_state(e.db, y, "10.6.2.0/24"),
			    "unmanaged unmanaged overlapping");
	close_watch(e.db);
}

/* A managed VPC and an unmanaged one on the same space (the guide's
 * warning of L606). */
static void test_overlap_managed_and_unmanaged(void **state)
{
	env e = setup();
	int64_t m = vpc_in(&e, "vpc-m", "us-east-1", NULL);
	int64_t u = vpc_in(&e, "vpc-u", "us-east-1", "10.0.0.0/24", NULL);
	(void)state;

	res_alloc_ok(e.db, m, e.dev, NULL, 23);
	assert_string_equal(rc_state(e.db, m, "10.0.0.0/23"),
			    "managed compliant overlapping");
	assert_string_equal(rc_state(e.db, u, "10.0.0.0/24"),
			    "unmanaged unmanaged overlapping");
	res_uncidr(e.db, m, "10.0.0.0/23");
	assert_string_equal(rc_state(e.db, u, "10.0.0.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	assert_string_equal(U(usage(e.db, e.dev).assigned), "0");
	close_watch(e.db);
}

/* ---- ignoring ---- */

static void test_ignore(void **state)
{
	env e = setup();
	int64_t m = vpc_in(&e, "vpc-m", "us-east-1", NULL);
	int64_t o = vpc_in(&e, "vpc-o", "us-east-1", NULL);
	int64_t p = res_make(e.db, e.pub, "vpc-p", NULL, "us-east-1", NULL,
			     NULL, "198.51.100.0/24", NULL);
	ipam_alloc_info a;
	ipam_err err = {0};
	ipam_cidr got;
	ipam_pool_usage u;
	(void)state;

	res_alloc_ok(e.db, m, e.dev, "10.0.0.0/24", -1);
	pool_netmask(e.db, e.dev, IPAM_NETMASK_MIN, 25); /* noncompliant */
	res_cidr(e.db, o, "10.0.0.0/25");
	assert_string_equal(rc_state(e.db, o, "10.0.0.0/25"),
			    "unmanaged unmanaged overlapping");
	assert_int_equal(usage(e.db, e.dev).noncompliant, 1);

	assert_ok(ipam_resource_set_ignored(e.db, m, true, &err), err);
	assert_true(res_info(e.db, m).ignored);
	assert_string_equal(rc_state(e.db, m, "10.0.0.0/24"),
			    "ignored ignored ignored");
	assert_res_status(e.db, m, "10.0.0.0/24 ignored ignored ignored - 0\n");
	/* Its space went back to the pool (L2714). */
	assert_code(ipam_alloc_get(e.db, e.dev, "vpc-m", &a, &err), err,
		    IPAM_ENOENT, NULL);
	u = usage(e.db, e.dev);
	assert_string_equal(U(u.assigned), "0");
	assert_int_equal(u.noncompliant, 0);
	assert_int_equal(u.compliant, 0);
	/* Not evaluated for overlap: the other is alone now. */
	assert_string_equal(rc_state(e.db, o, "10.0.0.0/25"),
			    "unmanaged unmanaged nonoverlapping");
	/* Ignoring twice is no change; an ignored VPC gets nothing. */
	assert_ok(ipam_resource_set_ignored(e.db, m, true, &err), err);
	assert_code(
		ipam_resource_allocate(e.db, m, e.dev, NULL, 25, &got, &err),
		err, IPAM_EINVAL, "resource 'vpc-m' is ignored");
	/* New CIDRs of an ignored resource are ignored too. */
	res_cidr(e.db, m, "10.0.0.0/26");
	assert_string_equal(rc_state(e.db, m, "10.0.0.0/26"),
			    "ignored ignored ignored");
	assert_string_equal(rc_state(e.db, o, "10.0.0.0/25"),
			    "unmanaged unmanaged nonoverlapping");

	/* Monitored again: unmanaged (the space is not taken back), and
	 * both overlap again. */
	assert_ok(ipam_resource_set_ignored(e.db, m, false, &err), err);
	assert_string_equal(rc_state(e.db, m, "10.0.0.0/24"),
			    "unmanaged unmanaged overlapping");
	assert_string_equal(rc_state(e.db, o, "10.0.0.0/25"),
			    "unmanaged unmanaged overlapping");
	assert_int_equal(usage(e.db, e.dev).allocation_count, 0);

	/* Not in the public scope (L1226). */
	assert_code(ipam_resource_set_ignored(e.db, p, true, &err), err,
		    IPAM_EPERM,
		    "resources in the public scope cannot be ignored");
	assert_false(res_info(e.db, p).ignored);
	close_watch(e.db);
}

/* A subnet can be ignored too; it shows "-" like before. */
static void test_ignore_subnet(void **state)
{
	env e = setup();
	int64_t s = res_make(e.db, e.priv, "subnet-1", NULL, "us-east-1",
			     "vpc-1", NULL, "10.3.0.0/24", NULL);
	ipam_err err = {0};
	(void)state;

	assert_ok(ipam_resource_set_ignored(e.db, s, true, &err), err);
	assert_true(res_info(e.db, s).ignored);
	assert_string_equal(rc_state(e.db, s, "10.3.0.0/24"), "- - -");
	close_watch(e.db);
}

/* ---- auto-import (L600-L610) ---- */

static void test_auto_import_largest_wins(void **state)
{
	env e = setup();
	int64_t a = vpc_in(&e, "vpc-a", "us-east-1", "10.0.0.0/24", NULL);
	int64_t b = vpc_in(&e, "vpc-b", "us-east-1", "10.0.0.0/23", NULL);
	int64_t c = vpc_in(&e, "vpc-c", "us-east-1", "10.0.1.0/25", NULL);
	ipam_alloc_info info;
	ipam_err err = {0};
	(void)state;

	pool_auto_import(e.db, e.dev, true);
	assert_string_equal(rc_state(e.db, b, "10.0.0.0/23"),
			    "managed compliant overlapping");
	assert_string_equal(rc_state(e.db, a, "10.0.0.0/24"),
			    "unmanaged unmanaged overlapping");
	assert_string_equal(rc_state(e.db, c, "10.0.1.0/25"),
			    "unmanaged unmanaged overlapping");
	assert_ok(ipam_alloc_get(e.db, e.dev, "vpc-b", &info, &err), err);
	assert_string_equal(S(&info.cidr), "10.0.0.0/23");
	assert_string_equal(info.resource_type, "vpc");
	assert_string_equal(info.resource_id, "vpc-b");
	assert_int_equal(usage(e.db, e.dev).allocation_count, 1);
	close_watch(e.db);
}

static void test_auto_import_duplicates_lowest_id(void **state)
{
	env e = setup();
	int64_t z = vpc_in(&e, "vpc-z", "us-east-1", "10.0.4.0/24", NULL);
	int64_t y = vpc_in(&e, "vpc-y", "us-east-1", "10.0.4.0/24", NULL);
	int64_t m = vpc_in(&e, "vpc-m", "us-east-1", "10.0.4.0/24", NULL);
	(void)state;

	pool_auto_import(e.db, e.dev, true);
	assert_string_equal(rc_state(e.db, m, "10.0.4.0/24"),
			    "managed compliant overlapping");
	assert_string_equal(rc_state(e.db, y, "10.0.4.0/24"),
			    "unmanaged unmanaged overlapping");
	assert_string_equal(rc_state(e.db, z, "10.0.4.0/24"),
			    "unmanaged unmanaged overlapping");
	close_watch(e.db);
}

/* L606-L609: a VPC with 10.0.0.0/26 allocated in the pool; one with
 * 10.0.0.0/23 covering it cannot be imported. */
static void test_auto_import_blocked_by_allocation(void **state)
{
	env e = setup();
	int64_t m = vpc_in(&e, "vpc-m", "us-east-1", NULL);
	int64_t big, manual;
	(void)state;

	res_alloc_ok(e.db, m, e.dev, "10.0.0.0/26", -1);
	alloc_cidr_ok(e.db, e.dev, "manual", "10.0.8.0/24");
	pool_auto_import(e.db, e.dev, true);
	big = vpc_in(&e, "vpc-big", "us-east-1", "10.0.0.0/23", NULL);
	manual = vpc_in(&e, "vpc-man", "us-east-1", "10.0.8.0/24", NULL);
	assert_string_equal(rc_state(e.db, big, "10.0.0.0/23"),
			    "unmanaged unmanaged overlapping");
	assert_string_equal(rc_state(e.db, manual, "10.0.8.0/24"),
			    "unmanaged unmanaged overlapping");
	assert_string_equal(rc_state(e.db, m, "10.0.0.0/26"),
			    "managed compliant overlapping");
	assert_int_equal(usage(e.db, e.dev).allocation_count, 2);
	close_watch(e.db);
}

static void test_auto_import_locale_must_match(void **state)
{
	env e = setup();
	int64_t west, none, outside;
	(void)state;

	pool_auto_import(e.db, e.dev, true);
	west = vpc_in(&e, "vpc-w", "us-west-2", "10.0.9.0/24", NULL);
	none = res_make(e.db, e.priv, "vpc-n", NULL, NULL, NULL, NULL,
			"10.0.10.0/24", NULL);
	outside = vpc_in(&e, "vpc-o", "us-east-1", "10.1.0.0/24", NULL);
	assert_string_equal(rc_state(e.db, west, "10.0.9.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	assert_string_equal(rc_state(e.db, none, "10.0.10.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	assert_string_equal(rc_state(e.db, outside, "10.1.0.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	assert_int_equal(usage(e.db, e.dev).allocation_count, 0);
	/* Given the pool's locale, it is imported at once. */
	res_set(e.db, none, IPAM_RESOURCE_LOCALE, "us-east-1");
	assert_string_equal(rc_state(e.db, none, "10.0.10.0/24"),
			    "managed compliant nonoverlapping");
	/* A new CIDR in range is imported when it is added. */
	res_cidr(e.db, outside, "10.0.11.0/24");
	assert_string_equal(rc_state(e.db, outside, "10.0.11.0/24"),
			    "managed compliant nonoverlapping");
	assert_int_equal(usage(e.db, e.dev).allocation_count, 2);
	close_watch(e.db);
}

/* Imported regardless of the rules, then flagged (L602). */
static void test_auto_import_then_flagged(void **state)
{
	env e = setup();
	static const char *const rule[] = {"team=net"};
	int64_t big, small;
	ipam_resource_cidr row;
	(void)state;

	pool_netmask(e.db, e.dev, IPAM_NETMASK_MIN, 24);
	pool_tags(e.db, e.dev, rule, 1);
	pool_auto_import(e.db, e.dev, true);
	big = vpc_in(&e, "vpc-big", "us-east-1", "10.0.16.0/20", NULL);
	row = rc_row(e.db, big, "10.0.16.0/20");
	assert_string_equal(row.management, "managed");
	assert_string_equal(row.compliance, "noncompliant");
	assert_string_equal(row.reason, "netmask /20 is shorter than "
					"allocation-min-netmask-length 24");
	small = vpc_in(&e, "vpc-small", "us-east-1", "10.0.1.0/24", NULL);
	row = rc_row(e.db, small, "10.0.1.0/24");
	assert_string_equal(row.management, "managed");
	assert_string_equal(row.compliance, "noncompliant");
	assert_string_equal(row.reason, "missing required tag 'team=net'");
	assert_int_equal(usage(e.db, e.dev).noncompliant, 2);
	res_tag(e.db, small, "team", "net");
	assert_string_equal(rc_state(e.db, small, "10.0.1.0/24"),
			    "managed compliant nonoverlapping");
	assert_int_equal(usage(e.db, e.dev).noncompliant, 1);
	assert_int_equal(usage(e.db, e.dev).compliant, 1);
	close_watch(e.db);
}

static void test_auto_import_never_ignored(void **state)
{
	env e = setup();
	int64_t i = vpc_in(&e, "vpc-i", "us-east-1", "10.0.10.0/24", NULL);
	ipam_err err = {0};
	(void)state;

	assert_ok(ipam_resource_set_ignored(e.db, i, true, &err), err);
	pool_auto_import(e.db, e.dev, true);
	assert_string_equal(rc_state(e.db, i, "10.0.10.0/24"),
			    "ignored ignored ignored");
	assert_int_equal(usage(e.db, e.dev).allocation_count, 0);
	/* Monitoring it again makes it a candidate again. */
	assert_ok(ipam_resource_set_ignored(e.db, i, false, &err), err);
	assert_string_equal(rc_state(e.db, i, "10.0.10.0/24"),
			    "managed compliant nonoverlapping");
	/* Ignoring a managed, imported one returns the space and it is not
	 * imported again (L2714). */
	assert_ok(ipam_resource_set_ignored(e.db, i, true, &err), err);
	assert_string_equal(rc_state(e.db, i, "10.0.10.0/24"),
			    "ignored ignored ignored");
	assert_int_equal(usage(e.db, e.dev).allocation_count, 0);
	close_watch(e.db);
}

static void test_auto_import_when_space_frees(void **state)
{
	env e = setup();
	int64_t q, m, w;
	ipam_err err = {0};
	(void)state;

	alloc_cidr_ok(e.db, e.dev, "manual", "10.0.12.0/24");
	pool_auto_import(e.db, e.dev, true);
	q = vpc_in(&e, "vpc-q", "us-east-1", "10.0.12.0/24", NULL);
	assert_string_equal(rc_state(e.db, q, "10.0.12.0/24"),
			    "unmanaged unmanaged overlapping");
	assert_ok(ipam_alloc_release(e.db, e.dev, "manual", &err), err);
	assert_string_equal(rc_state(e.db, q, "10.0.12.0/24"),
			    "managed compliant nonoverlapping");

	/* A managed VPC goes; the one waiting behind it is imported. */
	m = vpc_in(&e, "vpc-m", "us-east-1", "10.0.20.0/24", NULL);
	w = vpc_in(&e, "vpc-w", "us-east-1", "10.0.20.0/25", NULL);
	assert_string_equal(rc_state(e.db, m, "10.0.20.0/24"),
			    "managed compliant overlapping");
	assert_string_equal(rc_state(e.db, w, "10.0.20.0/25"),
			    "unmanaged unmanaged overlapping");
	res_del(e.db, m);
	assert_string_equal(rc_state(e.db, w, "10.0.20.0/25"),
			    "managed compliant nonoverlapping");
	close_watch(e.db);
}

/* The deepest pool with auto-import that can hold the CIDR takes it. */
static void test_auto_import_deepest_pool(void **state)
{
	env e = setup();
	int64_t child = mkpool(e.db, e.priv, e.dev, "child");
	int64_t in_child_cidr, in_parent;
	ipam_alloc_info a;
	ipam_err err = {0};
	(void)state;

	prov_ok(e.db, child, "10.0.0.0/20");
	pool_auto_import(e.db, e.dev, true);
	pool_auto_import(e.db, child, true);
	in_child_cidr = vpc_in(&e, "vpc-c", "us-east-1", "10.0.1.0/24", NULL);
	in_parent = vpc_in(&e, "vpc-p", "us-east-1", "10.0.32.0/24", NULL);
	assert_string_equal(rc_row(e.db, in_child_cidr, "10.0.1.0/24").pool_id,
			    pool_id(e.db, child));
	assert_string_equal(rc_row(e.db, in_parent, "10.0.32.0/24").pool_id,
			    pool_id(e.db, e.dev));
	assert_ok(ipam_alloc_get(e.db, child, "vpc-c", &a, &err), err);
	assert_ok(ipam_alloc_get(e.db, e.dev, "vpc-p", &a, &err), err);
	close_watch(e.db);
}

/* ---- moving a VPC (L2042) ---- */

static void test_move_vpc_with_subnets(void **state)
{
	env e = setup();
	int64_t lab = 0, vpc, o, s1;
	ipam_err err = {0};
	int64_t t0 = T("2026-03-01T10:00:00Z"), t1 = T("2026-03-01T11:00:00Z");
	int64_t t2 = T("2026-03-01T12:00:00Z");
	char want[2048];
	(void)state;

	assert_ok(ipam_scope_create(e.db, "lab", &lab, &err), err);
	clock_now = t0;
	vpc = res_make(e.db, e.priv, "vpc-m", "111122223333", "us-east-1", NULL,
		       "moving", "10.1.0.0/16", NULL);
	s1 = res_make(e.db, e.priv, "subnet-m1", "111122223333", "us-east-1",
		      "vpc-m", NULL, "10.1.0.0/24", NULL);
	res_make(e.db, e.priv, "subnet-m2", "111122223333", "us-east-1",
		 "vpc-m", NULL, "10.1.1.0/24", NULL);
	res_make(e.db, e.priv, "subnet-x", "111122223333", "us-east-1",
		 "vpc-other", NULL, "10.2.0.0/24", NULL);
	res_make(e.db, e.priv, "i-m", "111122223333", "us-east-1", "vpc-m",
		 NULL, "10.1.0.9/32", NULL);
	clock_now = t1;
	o = res_make(e.db, e.priv, "vpc-o", "111122223333", "us-east-1", NULL,
		     NULL, "10.1.0.0/16", NULL);
	assert_string_equal(rc_state(e.db, vpc, "10.1.0.0/16"),
			    "unmanaged unmanaged overlapping");

	clock_now = t2;
	assert_ok(ipam_resource_move(e.db, vpc, lab, &err), err);
	assert_string_equal(res_ids(e.db, e.priv), "i-m\nsubnet-x\nvpc-o\n");
	assert_string_equal(res_ids(e.db, lab),
			    "subnet-m1\nsubnet-m2\nvpc-m\n");
	assert_int_equal(res_info(e.db, vpc).scope_key, lab);
	assert_int_equal(res_info(e.db, s1).scope_key, lab);
	assert_int_equal(res_key(e.db, lab, "vpc-m"), vpc);
	/* Overlap is per scope. */
	assert_string_equal(rc_state(e.db, vpc, "10.1.0.0/16"),
			    "unmanaged unmanaged nonoverlapping");
	assert_string_equal(rc_state(e.db, o, "10.1.0.0/16"),
			    "unmanaged unmanaged nonoverlapping");

	/* History: the records end in the old scope and start in the new
	 * one, at the time of the move (L3007). */
	snprintf(want, sizeof(want),
		 "SampledStartTime SampledEndTime ResourceCidr ResourceType "
		 "ResourceId ResourceRegion ResourceOwnerId VpcId "
		 "ResourceComplianceStatus ResourceOverlapStatus ResourceName\n"
		 "%s %s 10.1.0.0/16 vpc vpc-m us-east-1 111122223333 vpc-m "
		 "unmanaged nonoverlapping moving\n"
		 "%s %s 10.1.0.0/16 vpc vpc-m us-east-1 111122223333 vpc-m "
		 "unmanaged overlapping moving\n"
		 "%s %s 10.1.0.0/16 vpc vpc-o us-east-1 111122223333 vpc-o "
		 "unmanaged overlapping -\n"
		 "%s - 10.1.0.0/16 vpc vpc-o us-east-1 111122223333 vpc-o "
		 "unmanaged nonoverlapping -\n",
		 TS(t0), TS(t1), TS(t1), TS(t2), TS(t1), TS(t2), TS(t2));
	assert_text_free(hist(e.db, e.priv, "10.1.0.0/16", ALL_TIME, false),
			 want);
	snprintf(want, sizeof(want),
		 "SampledStartTime SampledEndTime ResourceCidr ResourceType "
		 "ResourceId ResourceRegion ResourceOwnerId VpcId "
		 "ResourceComplianceStatus ResourceOverlapStatus ResourceName\n"
		 "%s - 10.1.0.0/16 vpc vpc-m us-east-1 111122223333 vpc-m "
		 "unmanaged nonoverlapping moving\n",
		 TS(t2));
	assert_text_free(hist(e.db, lab, "10.1.0.0/16", ALL_TIME, false), want);
	snprintf(want, sizeof(want),
		 "SampledStartTime SampledEndTime ResourceCidr ResourceType "
		 "ResourceId ResourceRegion ResourceOwnerId VpcId "
		 "ResourceComplianceStatus ResourceOverlapStatus ResourceName\n"
		 "%s %s 10.1.0.0/24 subnet subnet-m1 us-east-1 111122223333 "
		 "vpc-m - - -\n",
		 TS(t0), TS(t2));
	assert_text_free(hist(e.db, e.priv, "10.1.0.0/24", ALL_TIME, false),
			 want);
	assert_int_equal(hist_count(e.db, lab, "10.1.0.0/24", t2, t2), 1);
	assert_int_equal(hist_count(e.db, lab, "10.1.1.0/24", t2, t2), 1);
	/* The instance stayed. */
	assert_int_equal(hist_count(e.db, e.priv, "10.1.0.9/32", t2, t2), 1);

	/* And back again. */
	assert_ok(ipam_resource_move(e.db, vpc, e.priv, &err), err);
	assert_string_equal(res_ids(e.db, lab), "");
	assert_string_equal(rc_state(e.db, o, "10.1.0.0/16"),
			    "unmanaged unmanaged overlapping");
	close_watch(e.db);
}

static void test_move_refused(void **state)
{
	env e = setup();
	int64_t lab = 0, managed, subnet, pubvpc, dup;
	ipam_err err = {0};
	(void)state;

	assert_ok(ipam_scope_create(e.db, "lab", &lab, &err), err);
	managed = vpc_in(&e, "vpc-k", "us-east-1", NULL);
	res_alloc_ok(e.db, managed, e.dev, "10.0.0.0/24", -1);
	res_cidr(e.db, managed, "10.7.0.0/24");
	assert_code(ipam_resource_move(e.db, managed, lab, &err), err,
		    IPAM_EBUSY,
		    "VPC 'vpc-k' has CIDRs allocated from a pool: release them "
		    "before the move");
	assert_int_equal(res_info(e.db, managed).scope_key, e.priv);
	assert_string_equal(rc_state(e.db, managed, "10.0.0.0/24"),
			    "managed compliant nonoverlapping");

	subnet = res_make(e.db, e.priv, "subnet-x", NULL, NULL, "vpc-k", NULL,
			  "10.0.0.0/25", NULL);
	assert_code(ipam_resource_move(e.db, subnet, lab, &err), err,
		    IPAM_EPERM,
		    "only VPCs move between scopes ('subnet-x' is a subnet)");
	assert_code(ipam_resource_move(e.db, managed, e.pub, &err), err,
		    IPAM_EPERM, "VPCs move only between private scopes");
	pubvpc = res_make(e.db, e.pub, "vpc-pub", NULL, NULL, NULL, NULL,
			  "198.51.100.0/24", NULL);
	assert_code(ipam_resource_move(e.db, pubvpc, lab, &err), err,
		    IPAM_EPERM, "VPCs move only between private scopes");
	assert_code(ipam_resource_move(e.db, managed, 999, &err), err,
		    IPAM_ENOENT, NULL);

	dup = vpc_in(&e, "vpc-dup", "us-east-1", "10.9.0.0/24", NULL);
	res_new(e.db, lab, "vpc-dup");
	assert_code(ipam_resource_move(e.db, dup, lab, &err), err, IPAM_EEXIST,
		    "scope 'lab' already has resource 'vpc-dup'");
	assert_int_equal(res_info(e.db, dup).scope_key, e.priv);
	/* To its own scope: nothing to do. */
	assert_ok(ipam_resource_move(e.db, dup, e.priv, &err), err);
	close_watch(e.db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		WATCH_TEST(test_status_words_by_type),
		WATCH_TEST(test_noncompliant_after_rule_change),
		WATCH_TEST(test_rules_not_inherited),
		WATCH_TEST(test_overlap_with_manual_allocation),
		WATCH_TEST(test_overlap_two_unmanaged_vpcs),
		WATCH_TEST(test_overlap_partial_and_families),
		WATCH_TEST(test_overlap_managed_and_unmanaged),
		WATCH_TEST(test_ignore),
		WATCH_TEST(test_ignore_subnet),
		WATCH_TEST(test_auto_import_largest_wins),
		WATCH_TEST(test_auto_import_duplicates_lowest_id),
		WATCH_TEST(test_auto_import_blocked_by_allocation),
		WATCH_TEST(test_auto_import_locale_must_match),
		WATCH_TEST(test_auto_import_then_flagged),
		WATCH_TEST(test_auto_import_never_ignored),
		WATCH_TEST(test_auto_import_when_space_frees),
		WATCH_TEST(test_auto_import_deepest_pool),
		WATCH_TEST(test_move_vpc_with_subnets),
		WATCH_TEST(test_move_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
