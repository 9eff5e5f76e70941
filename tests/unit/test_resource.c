/*
 * test_resource.c - resources (SPEC §5.1, L2668-L2745): creation by id
 * prefix, refused ids, attributes, tags, CIDRs, and "create a VPC with an
 * IPAM pool" (ipam_resource_allocate) with its locale, tag and netmask
 * checks, ending with the console tutorial's pre-prod pool (L4298, L4351).
 */
#include "watch_fixture.h"

static const char *const east[] = {"us-east-1", "us-west-2", NULL};

/* ---- creation ---- */

static void test_create_type_from_id_prefix(void **state)
{
	static const struct {
		const char *id, *type;
		bool manageable;
	} cases[] = {
		{"vpc-0a1b2c3d4e5f60718", "vpc", true},
		{"subnet-0864c82a42f5bffed", "subnet", false},
		{"eipalloc-12345678", "eip", true},
		{"eip-198.51.100.7", "eip", true},
		{"ipv4pool-ec2-0123456789abcdef0", "public-ipv4-pool", true},
		{"i-064da1f79baed14f3", "instance", false},
		{"eni-0b4e53eb1733aba16", "network-interface", false},
	};
	ipam *db = open_watch(NULL, NULL);
	int64_t priv = scope_key(db, "private");
	(void)state;

	clock_now = T("2026-01-02T03:04:05Z");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t key = res_new(db, priv, cases[i].id);
		ipam_resource_info info = res_info(db, key);
		assert_string_equal(ipam_resource_type_from_id(cases[i].id),
				    cases[i].type);
		assert_true(ipam_resource_type_valid(cases[i].type));
		assert_int_equal(ipam_resource_type_manageable(cases[i].type),
				 cases[i].manageable);
		assert_string_equal(info.id, cases[i].id);
		assert_string_equal(info.type, cases[i].type);
		assert_int_equal(info.scope_key, priv);
		assert_int_equal(info.created, T("2026-01-02T03:04:05Z"));
		assert_string_equal(info.name, "");
		assert_string_equal(info.locale, "");
		assert_string_equal(info.discovery, "");
		assert_false(info.ignored);
		assert_false(info.has_active_ips);
		assert_int_equal(res_key(db, priv, cases[i].id), key);
	}
	assert_null(ipam_resource_type_from_id("igw-0a1b"));
	assert_null(ipam_resource_type_from_id("vpc"));
	assert_false(ipam_resource_type_valid("router"));
	assert_false(ipam_resource_type_valid("ipam-pool"));
	/* Listed sorted by id. */
	assert_string_equal(res_ids(db, priv),
			    "eip-198.51.100.7\n"
			    "eipalloc-12345678\n"
			    "eni-0b4e53eb1733aba16\n"
			    "i-064da1f79baed14f3\n"
			    "ipv4pool-ec2-0123456789abcdef0\n"
			    "subnet-0864c82a42f5bffed\n"
			    "vpc-0a1b2c3d4e5f60718\n");
	close_watch(db);
}

static void test_create_explicit_type(void **state)
{
	ipam *db = open_watch(NULL, NULL);
	int64_t priv = scope_key(db, "private"), key = 0;
	ipam_err err = {0};
	(void)state;

	/* Any id is fine when the type is given. */
	assert_ok(ipam_resource_create(db, priv, "lab-router-1", "instance",
				       &key, &err),
		  err);
	assert_string_equal(res_info(db, key).type, "instance");
	/* The given type wins over the prefix. */
	assert_ok(ipam_resource_create(db, priv, "vpc-but-a-subnet", "subnet",
				       &key, &err),
		  err);
	assert_string_equal(res_info(db, key).type, "subnet");
	close_watch(db);
}

static void test_create_refused(void **state)
{
	ipam *db = open_watch(NULL, NULL);
	int64_t priv = scope_key(db, "private"), pub = scope_key(db, "public");
	int64_t key = 0;
	ipam_err err = {0};
	char longid[200];
	(void)state;

	assert_code(ipam_resource_create(db, priv, "", NULL, &key, &err), err,
		    IPAM_EINVAL, NULL);
	assert_code(ipam_resource_create(db, priv, "vpc-a/b", NULL, &key, &err),
		    err, IPAM_EINVAL, NULL);
	assert_code(ipam_resource_create(db, priv, ".", "vpc", &key, &err), err,
		    IPAM_EINVAL, NULL);
	assert_code(ipam_resource_create(db, priv, "..", "vpc", &key, &err),
		    err, IPAM_EINVAL, NULL);
	assert_code(
		ipam_resource_create(db, priv, "vpc-a\nb", NULL, &key, &err),
		err, IPAM_EINVAL, NULL);
	memset(longid, 'a', sizeof(longid));
	memcpy(longid, "vpc-", 4);
	longid[IPAM_RESOURCE_ID_MAX + 1] = '\0'; /* 129 bytes */
	assert_code(ipam_resource_create(db, priv, longid, NULL, &key, &err),
		    err, IPAM_EINVAL, "longer than 128 bytes");
	longid[IPAM_RESOURCE_ID_MAX] = '\0'; /* 128 bytes: fine */
	assert_ok(ipam_resource_create(db, priv, longid, NULL, &key, &err),
		  err);
	assert_code(
		ipam_resource_create(db, priv, "igw-0a1b", NULL, &key, &err),
		err, IPAM_EINVAL,
		"cannot tell the type of resource 'igw-0a1b' from its id");
	assert_code(
		ipam_resource_create(db, priv, "vpc-1", "router", &key, &err),
		err, IPAM_EINVAL, "unknown resource type 'router'");
	assert_code(ipam_resource_create(db, 999, "vpc-1", NULL, &key, &err),
		    err, IPAM_ENOENT, NULL);

	res_new(db, priv, "vpc-1");
	assert_code(ipam_resource_create(db, priv, "vpc-1", NULL, &key, &err),
		    err, IPAM_EEXIST,
		    "resource 'vpc-1' exists in scope 'private'");
	/* The same id in another scope is another resource. */
	assert_ok(ipam_resource_create(db, pub, "vpc-1", NULL, &key, &err),
		  err);
	assert_int_not_equal(key, res_key(db, priv, "vpc-1"));
	close_watch(db);
}

static void test_lookup_and_delete(void **state)
{
	ipam *db = open_watch(NULL, NULL);
	int64_t priv = scope_key(db, "private"), key = 0;
	int64_t vpc = res_new(db, priv, "vpc-1");
	ipam_resource_info info;
	ipam_err err = {0};
	(void)state;

	res_new(db, priv, "vpc-2");
	assert_code(ipam_resource_lookup(db, priv, "vpc-3", &key, &err), err,
		    IPAM_ENOENT, "no resource 'vpc-3'");
	res_del(db, vpc);
	assert_code(ipam_resource_get(db, vpc, &info, &err), err, IPAM_ENOENT,
		    NULL);
	assert_code(ipam_resource_delete(db, vpc, &err), err, IPAM_ENOENT,
		    NULL);
	assert_string_equal(res_ids(db, priv), "vpc-2\n");
	close_watch(db);
}

/*
 * A scope that still holds resources cannot be removed; the refusal says
 * so (ENOTEMPTY, as for a scope with pools). (Core bug: scope_remove()
 * checks only pools; the DELETE then trips the resource table's foreign
 * key and the caller gets EEXIST "constraint failed: FOREIGN KEY
 * constraint failed" - `rmdir scopes/lab` prints "File exists".)
 */
static void test_scope_with_resources_not_removed(void **state)
{
	ipam *db = open_watch(NULL, NULL);
	int64_t lab = 0;
	ipam_err err = {0};
	(void)state;

	assert_ok(ipam_scope_create(db, "lab", &lab, &err), err);
	res_new(db, lab, "vpc-1");
	assert_code(ipam_scope_delete(db, "lab", &err), err, IPAM_ENOTEMPTY,
		    "lab");
	assert_true(res_exists(db, lab, "vpc-1"));
	close_watch(db);
}

/* ---- attributes ---- */

static void test_fields(void **state)
{
	ipam *db = open_watch(NULL, NULL);
	int64_t priv = scope_key(db, "private");
	int64_t subnet = res_new(db, priv, "subnet-1");
	ipam_resource_info info;
	ipam_err err = {0};
	(void)state;

	res_set(db, subnet, IPAM_RESOURCE_NAME, "web tier (a)");
	res_set(db, subnet, IPAM_RESOURCE_LOCALE, "us-east-1");
	res_set(db, subnet, IPAM_RESOURCE_OWNER, "123456789012");
	res_set(db, subnet, IPAM_RESOURCE_VPC_ID, "vpc-1");
	res_set(db, subnet, IPAM_RESOURCE_ACTIVE_IPS, "12");
	info = res_info(db, subnet);
	assert_string_equal(info.name, "web tier (a)");
	assert_string_equal(info.locale, "us-east-1");
	assert_string_equal(info.owner, "123456789012");
	assert_string_equal(info.vpc_id, "vpc-1");
	assert_true(info.has_active_ips);
	assert_string_equal(U(info.active_ips), "12");

	/* A locale need not be an operating one, but must be well formed. */
	res_set(db, subnet, IPAM_RESOURCE_LOCALE, "eu-central-2");
	assert_code(ipam_resource_set(db, subnet, IPAM_RESOURCE_LOCALE,
				      "us east 1", &err),
		    err, IPAM_EINVAL, "invalid locale 'us east 1'");
	assert_code(ipam_resource_set(db, subnet, IPAM_RESOURCE_LOCALE, "none",
				      &err),
		    err, IPAM_EINVAL, NULL);
	assert_code(ipam_resource_set(db, subnet, IPAM_RESOURCE_ACTIVE_IPS,
				      "twelve", &err),
		    err, IPAM_EINVAL, "ip-usage must be a count of addresses");
	assert_code(ipam_resource_set(db, subnet, IPAM_RESOURCE_ACTIVE_IPS,
				      "-1", &err),
		    err, IPAM_EINVAL, NULL);
	assert_code(ipam_resource_set(db, subnet, IPAM_RESOURCE_NAME,
				      "two\nlines", &err),
		    err, IPAM_EINVAL, NULL);
	assert_code(ipam_resource_set(db, subnet, (ipam_resource_field)42, "x",
				      &err),
		    err, IPAM_EINVAL, "unknown resource field");
	info = res_info(db, subnet);
	assert_string_equal(info.locale, "eu-central-2");
	assert_string_equal(U(info.active_ips), "12");
	assert_string_equal(info.name, "web tier (a)");

	/* "" clears. */
	res_set(db, subnet, IPAM_RESOURCE_LOCALE, "");
	res_set(db, subnet, IPAM_RESOURCE_ACTIVE_IPS, "");
	res_set(db, subnet, IPAM_RESOURCE_NAME, "");
	info = res_info(db, subnet);
	assert_string_equal(info.locale, "");
	assert_string_equal(info.name, "");
	assert_false(info.has_active_ips);
	assert_code(ipam_resource_set(db, 4242, IPAM_RESOURCE_NAME, "x", &err),
		    err, IPAM_ENOENT, NULL);
	close_watch(db);
}

static void test_type_change(void **state)
{
	ipam *db = open_watch(NULL, NULL);
	int64_t priv = scope_key(db, "private");
	int64_t key = 0;
	ipam_err err = {0};
	(void)state;

	assert_ok(ipam_resource_create(db, priv, "thing-1", "instance", &key,
				       &err),
		  err);
	/* Without CIDRs the type may change. */
	res_set(db, key, IPAM_RESOURCE_TYPE, "network-interface");
	assert_string_equal(res_info(db, key).type, "network-interface");
	assert_code(
		ipam_resource_set(db, key, IPAM_RESOURCE_TYPE, "gateway", &err),
		err, IPAM_EINVAL, "unknown resource type 'gateway'");
	res_set(db, key, IPAM_RESOURCE_TYPE, "vpc");
	res_cidr(db, key, "10.0.0.0/24");
	assert_code(
		ipam_resource_set(db, key, IPAM_RESOURCE_TYPE, "subnet", &err),
		err, IPAM_EBUSY,
		"resource 'thing-1' has CIDRs: its type cannot change");
	/* Setting the type it has is no change. */
	res_set(db, key, IPAM_RESOURCE_TYPE, "vpc");
	assert_string_equal(res_info(db, key).type, "vpc");
	res_uncidr(db, key, "10.0.0.0/24");
	res_set(db, key, IPAM_RESOURCE_TYPE, "subnet");
	assert_string_equal(res_info(db, key).type, "subnet");
	close_watch(db);
}

static void test_tags(void **state)
{
	ipam *db = open_watch(NULL, NULL);
	int64_t priv = scope_key(db, "private");
	int64_t vpc = res_new(db, priv, "vpc-1");
	ipam_strlist keys = {0};
	ipam_err err = {0};
	char *value = NULL;
	(void)state;

	res_tag(db, vpc, "team", "net");
	res_tag(db, vpc, "environment", "pre-prod");
	res_tag(db, vpc, "team", "platform"); /* replaces */
	assert_ok(ipam_resource_tag_list(db, vpc, &keys, &err), err);
	assert_int_equal(keys.count, 2);
	assert_string_equal(keys.items[0], "environment");
	assert_string_equal(keys.items[1], "team");
	ipam_strlist_free(&keys);
	assert_ok(ipam_resource_tag_get(db, vpc, "team", &value, &err), err);
	assert_string_equal(value, "platform");
	free(value);
	value = NULL;
	assert_code(ipam_resource_tag_get(db, vpc, "owner", &value, &err), err,
		    IPAM_ENOENT, "no tag 'owner'");
	assert_null(value);
	assert_ok(ipam_resource_tag_set(db, vpc, "kubernetes.io/cluster/x",
					"owned", &err),
		  err);
	assert_ok(ipam_resource_tag_remove(db, vpc, "kubernetes.io/cluster/x",
					   &err),
		  err);
	assert_code(ipam_resource_tag_set(db, vpc, "a\x01", "c", &err), err,
		    IPAM_EINVAL, NULL);
	assert_code(ipam_resource_tag_set(db, vpc, "", "c", &err), err,
		    IPAM_EINVAL, NULL);
	assert_code(ipam_resource_tag_set(db, vpc, "k", "two\nlines", &err),
		    err, IPAM_EINVAL, NULL);
	assert_ok(ipam_resource_tag_remove(db, vpc, "team", &err), err);
	assert_code(ipam_resource_tag_remove(db, vpc, "team", &err), err,
		    IPAM_ENOENT, "no tag 'team' on 'vpc-1'");
	assert_ok(ipam_resource_tag_list(db, vpc, &keys, &err), err);
	assert_int_equal(keys.count, 1);
	assert_string_equal(keys.items[0], "environment");
	ipam_strlist_free(&keys);
	close_watch(db);
}

/* ---- CIDRs ---- */

static void test_cidr_add_remove(void **state)
{
	ipam *db = open_watch(NULL, NULL);
	int64_t priv = scope_key(db, "private");
	int64_t vpc = res_new(db, priv, "vpc-1");
	ipam_cidr c;
	ipam_err err = {0};
	(void)state;

	res_cidr(db, vpc, "10.0.1.0/24");
	res_cidr(db, vpc, "fd00:1::/56");
	res_cidr(db, vpc, "10.0.0.0/24");
	res_cidr(db, vpc, "10.0.0.0/16");
	/* Address order: family, address, shorter prefix first. */
	assert_string_equal(res_cidrs(db, vpc), "10.0.0.0/16\n"
						"10.0.0.0/24\n"
						"10.0.1.0/24\n"
						"fd00:1::/56\n");
	c = C("10.0.1.0/24");
	assert_code(ipam_resource_cidr_add(db, vpc, &c, &err), err, IPAM_EEXIST,
		    "resource 'vpc-1' already has 10.0.1.0/24");
	c = C("10.9.0.0/24");
	assert_code(ipam_resource_cidr_remove(db, vpc, &c, &err), err,
		    IPAM_ENOENT, "resource 'vpc-1' has no 10.9.0.0/24");
	assert_code(ipam_resource_cidr_add(db, 777, &c, &err), err, IPAM_ENOENT,
		    NULL);
	res_uncidr(db, vpc, "10.0.0.0/16");
	res_uncidr(db, vpc, "fd00:1::/56");
	assert_string_equal(res_cidrs(db, vpc), "10.0.0.0/24\n10.0.1.0/24\n");
	/* A registered CIDR is unmanaged; the two do not overlap. */
	assert_string_equal(rc_state(db, vpc, "10.0.0.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	close_watch(db);
}

/* ---- create a VPC with an IPAM pool ---- */

typedef struct alloc_env {
	ipam *db;
	int64_t priv, pool;
} alloc_env;

/* Pool "dev": us-east-1, 10.0.0.0/16, netmask /20../28 default /24. */
static alloc_env alloc_setup(void)
{
	alloc_env e;
	e.db = open_watch("us-east-1", east);
	e.priv = scope_key(e.db, "private");
	e.pool = mktop(e.db, "dev");
	pool_locale(e.db, e.pool, "us-east-1");
	prov_ok(e.db, e.pool, "10.0.0.0/16");
	pool_netmask(e.db, e.pool, IPAM_NETMASK_MIN, 20);
	pool_netmask(e.db, e.pool, IPAM_NETMASK_MAX, 28);
	pool_netmask(e.db, e.pool, IPAM_NETMASK_DEFAULT, 24);
	return e;
}

static void test_allocate_success(void **state)
{
	alloc_env e = alloc_setup();
	int64_t vpc = res_make(e.db, e.priv, "vpc-a", "111122223333",
			       "us-east-1", NULL, "alpha", NULL);
	ipam_alloc_info a;
	ipam_pool_usage u;
	ipam_resource_cidr row;
	ipam_err err = {0};
	char want[512];
	(void)state;

	/* Default length, first fit. */
	assert_string_equal(res_alloc_ok(e.db, vpc, e.pool, NULL, -1),
			    "10.0.0.0/24");
	row = rc_row(e.db, vpc, "10.0.0.0/24");
	assert_string_equal(row.management, "managed");
	assert_string_equal(row.compliance, "compliant");
	assert_string_equal(row.overlap, "nonoverlapping");
	assert_string_equal(row.pool_id, pool_id(e.db, e.pool));
	assert_string_equal(row.reason, "");
	/* The allocation in the pool is named by the resource id. */
	assert_ok(ipam_alloc_get(e.db, e.pool, "vpc-a", &a, &err), err);
	assert_string_equal(S(&a.cidr), "10.0.0.0/24");
	assert_string_equal(a.resource_type, "vpc");
	assert_string_equal(a.resource_id, "vpc-a");
	assert_string_equal(a.resource_region, "us-east-1");
	assert_true(a.compliant);
	/* A second CIDR of the same VPC: by size, then a given one. */
	assert_string_equal(res_alloc_ok(e.db, vpc, e.pool, NULL, 26),
			    "10.0.1.0/26");
	assert_string_equal(res_alloc_ok(e.db, vpc, e.pool, "10.0.8.0/22", -1),
			    "10.0.8.0/22");
	assert_ok(ipam_alloc_get(e.db, e.pool, "vpc-a_10.0.1.0_26", &a, &err),
		  err);
	assert_string_equal(a.resource_id, "vpc-a");
	assert_ok(ipam_alloc_get(e.db, e.pool, "vpc-a_10.0.8.0_22", &a, &err),
		  err);
	u = usage(e.db, e.pool);
	assert_string_equal(U(u.assigned), "1344"); /* 256 + 64 + 1024 */
	assert_int_equal(u.compliant, 3);
	assert_int_equal(u.noncompliant, 0);
	snprintf(want, sizeof(want),
		 "10.0.0.0/24 managed compliant nonoverlapping %s 0\n"
		 "10.0.1.0/26 managed compliant nonoverlapping %s 0\n"
		 "10.0.8.0/22 managed compliant nonoverlapping %s 0\n",
		 pool_id(e.db, e.pool), pool_id(e.db, e.pool),
		 pool_id(e.db, e.pool));
	assert_res_status(e.db, vpc, want);

	/* What the system allocated cannot be released by hand (L2273). */
	assert_code(ipam_alloc_release(e.db, e.pool, "vpc-a", &err), err,
		    IPAM_EPERM, NULL);
	/* Removing the CIDR releases it; removing the resource the rest. */
	res_uncidr(e.db, vpc, "10.0.1.0/26");
	assert_code(ipam_alloc_get(e.db, e.pool, "vpc-a_10.0.1.0_26", &a, &err),
		    err, IPAM_ENOENT, NULL);
	assert_string_equal(U(usage(e.db, e.pool).assigned), "1280");
	res_del(e.db, vpc);
	u = usage(e.db, e.pool);
	assert_string_equal(U(u.assigned), "0");
	assert_int_equal(u.allocation_count, 0);
	assert_int_equal(u.compliant, 0);
	close_watch(e.db);
}

static void test_allocate_locale_mismatch(void **state)
{
	alloc_env e = alloc_setup();
	int64_t west = res_make(e.db, e.priv, "vpc-w", NULL, "us-west-2", NULL,
				NULL, NULL);
	int64_t none = res_new(e.db, e.priv, "vpc-n");
	ipam_err err = {0};
	ipam_cidr got;
	(void)state;

	assert_code(ipam_resource_allocate(e.db, west, e.pool, NULL, 24, &got,
					   &err),
		    err, IPAM_EINVAL,
		    "resource 'vpc-w' is in locale 'us-west-2'; pool 'dev' "
		    "allocates only in locale 'us-east-1'");
	assert_code(ipam_resource_allocate(e.db, none, e.pool, NULL, 24, &got,
					   &err),
		    err, IPAM_EINVAL, "resource 'vpc-n' is in locale 'none'");
	/* Nothing was taken. */
	assert_int_equal(usage(e.db, e.pool).allocation_count, 0);
	assert_string_equal(res_cidrs(e.db, west), "");
	close_watch(e.db);
}

static void test_allocate_missing_tag(void **state)
{
	alloc_env e = alloc_setup();
	static const char *const rule[] = {"environment=prod", "team=net"};
	int64_t vpc = res_make(e.db, e.priv, "vpc-t", NULL, "us-east-1", NULL,
			       NULL, NULL);
	ipam_err err = {0};
	ipam_cidr got;
	(void)state;

	pool_tags(e.db, e.pool, rule, 2);
	assert_code(
		ipam_resource_allocate(e.db, vpc, e.pool, NULL, -1, &got, &err),
		err, IPAM_EINVAL,
		"The resource is missing one or more of the resource tags "
		"required by the IPAM pool");
	res_tag(e.db, vpc, "environment", "prod");
	res_tag(e.db, vpc, "team", "security"); /* wrong value */
	assert_code(
		ipam_resource_allocate(e.db, vpc, e.pool, NULL, -1, &got, &err),
		err, IPAM_EINVAL, "requires 'team=net'");
	assert_int_equal(usage(e.db, e.pool).allocation_count, 0);
	res_tag(e.db, vpc, "team", "net");
	assert_string_equal(res_alloc_ok(e.db, vpc, e.pool, NULL, -1),
			    "10.0.0.0/24");
	assert_string_equal(rc_state(e.db, vpc, "10.0.0.0/24"),
			    "managed compliant nonoverlapping");
	close_watch(e.db);
}

static void test_allocate_netmask_rule(void **state)
{
	alloc_env e = alloc_setup();
	int64_t vpc = res_make(e.db, e.priv, "vpc-m", NULL, "us-east-1", NULL,
			       NULL, NULL);
	ipam_err err = {0};
	ipam_cidr got, want = C("10.0.0.0/29");
	(void)state;

	assert_code(
		ipam_resource_allocate(e.db, vpc, e.pool, NULL, 16, &got, &err),
		err, IPAM_EINVAL,
		"netmask /16 is shorter than allocation-min-netmask-length "
		"20");
	assert_code(
		ipam_resource_allocate(e.db, vpc, e.pool, &want, -1, &got,
				       &err),
		err, IPAM_EINVAL,
		"netmask /29 is longer than allocation-max-netmask-length 28");
	assert_int_equal(usage(e.db, e.pool).allocation_count, 0);
	assert_string_equal(res_cidrs(e.db, vpc), "");
	close_watch(e.db);
}

static void test_allocate_refusals(void **state)
{
	alloc_env e = alloc_setup();
	int64_t pub = scope_key(e.db, "public");
	int64_t subnet = res_make(e.db, e.priv, "subnet-s", NULL, "us-east-1",
				  NULL, NULL, NULL);
	int64_t inst = res_make(e.db, e.priv, "i-1", NULL, "us-east-1", NULL,
				NULL, NULL);
	int64_t far = res_make(e.db, pub, "vpc-far", NULL, "us-east-1", NULL,
			       NULL, NULL);
	int64_t vpc = res_make(e.db, e.priv, "vpc-x", NULL, "us-east-1", NULL,
			       NULL, NULL);
	ipam_err err = {0};
	ipam_cidr got, want = C("10.0.0.0/24"), outside = C("10.9.0.0/24");
	(void)state;

	assert_code(ipam_resource_allocate(e.db, subnet, e.pool, NULL, 24, &got,
					   &err),
		    err, IPAM_EINVAL,
		    "resource 'subnet-s' is a subnet: only VPCs, EIPs and "
		    "public IPv4 pools get CIDRs from pools");
	assert_code(ipam_resource_allocate(e.db, inst, e.pool, NULL, 24, &got,
					   &err),
		    err, IPAM_EINVAL, "is a instance");
	assert_code(
		ipam_resource_allocate(e.db, far, e.pool, NULL, 24, &got, &err),
		err, IPAM_EINVAL,
		"pool 'dev' is not in the scope of resource 'vpc-far'");
	assert_code(ipam_resource_allocate(e.db, vpc, e.pool, &outside, -1,
					   &got, &err),
		    err, IPAM_EADDRNOTAVAIL, NULL);
	assert_string_equal(res_alloc_ok(e.db, vpc, e.pool, "10.0.0.0/24", -1),
			    "10.0.0.0/24");
	assert_code(ipam_resource_allocate(e.db, vpc, e.pool, &want, -1, &got,
					   &err),
		    err, IPAM_EEXIST,
		    "that CIDR of 'vpc-x' is already managed");
	assert_code(
		ipam_resource_allocate(e.db, vpc, 999, NULL, 24, &got, &err),
		err, IPAM_ENOENT, NULL);
	assert_string_equal(res_cidrs(e.db, subnet), "");
	assert_int_equal(usage(e.db, e.pool).allocation_count, 1);
	close_watch(e.db);
}

struct by_size {
	int64_t res, pool;
	int len;
};

static int allocate_by_size(ipam *db, void *arg)
{
	struct by_size *r = arg;
	ipam_cidr got;
	ipam_err err = {0};
	int rc = ipam_resource_allocate(db, r->res, r->pool, NULL, r->len, &got,
					&err);
	if (rc != err.code)
		return IPAM_EIO;
	return rc;
}

/*
 * A VPC that already holds an allocation in the pool asks for another
 * block by size that the pool cannot give (too large for the rules, or no
 * such free block, or no default length): the request must be refused
 * with EINVAL / ENOSPC, not abort. (Core bug: resource_allocate names the
 * allocation after a preview CIDR that was never filled in, family 0, and
 * ipam_addr_format asserts.)
 */
static void test_allocate_second_by_size_refused(void **state)
{
	alloc_env e = alloc_setup();
	int64_t vpc = res_make(e.db, e.priv, "vpc-x", NULL, "us-east-1", NULL,
			       NULL, NULL);
	struct by_size too_large = {vpc, e.pool, 12};
	struct by_size no_room = {vpc, e.pool, 20};
	struct by_size no_default = {vpc, e.pool, -1};
	(void)state;

	assert_string_equal(res_alloc_ok(e.db, vpc, e.pool, "10.0.0.0/24", -1),
			    "10.0.0.0/24");
	assert_int_equal(in_child(allocate_by_size, e.db, &too_large),
			 IPAM_EINVAL);
	/* Fill the pool's /16 but the first /20, which holds the /24 (the
	 * pool's rules allow /20 to /28). */
	for (int i = 1; i < 16; i++) {
		char name[16], cidr[32];
		snprintf(name, sizeof(name), "fill%d", i);
		snprintf(cidr, sizeof(cidr), "10.0.%d.0/20", i * 16);
		alloc_cidr_ok(e.db, e.pool, name, cidr);
	}
	assert_int_equal(in_child(allocate_by_size, e.db, &no_room),
			 IPAM_ENOSPC);
	pool_netmask(e.db, e.pool, IPAM_NETMASK_DEFAULT, -1);
	assert_int_equal(in_child(allocate_by_size, e.db, &no_default),
			 IPAM_EINVAL);
	close_watch(e.db);
}

/* A CIDR registered by hand, then allocated from a pool by that CIDR: the
 * same row becomes managed. */
static void test_allocate_registered_cidr(void **state)
{
	alloc_env e = alloc_setup();
	int64_t vpc = res_make(e.db, e.priv, "vpc-r", NULL, "us-east-1", NULL,
			       NULL, "10.0.4.0/24", NULL);
	(void)state;

	assert_string_equal(rc_state(e.db, vpc, "10.0.4.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	assert_string_equal(res_alloc_ok(e.db, vpc, e.pool, "10.0.4.0/24", -1),
			    "10.0.4.0/24");
	assert_string_equal(res_cidrs(e.db, vpc), "10.0.4.0/24\n");
	assert_string_equal(rc_state(e.db, vpc, "10.0.4.0/24"),
			    "managed compliant nonoverlapping");
	assert_string_equal(U(usage(e.db, e.pool).assigned), "256");
	close_watch(e.db);
}

/*
 * The same by size: the first free /24 of the pool is the VPC's own
 * registered 10.0.0.0/24. Asking for "a /24" must succeed (it either
 * manages the registered row, as the by-CIDR request does, or takes
 * another block); it must not fail because the resource already has that
 * CIDR.
 */
static void test_allocate_by_size_onto_registered_cidr(void **state)
{
	alloc_env e = alloc_setup();
	int64_t vpc = res_make(e.db, e.priv, "vpc-r", NULL, "us-east-1", NULL,
			       NULL, "10.0.0.0/24", NULL);
	ipam_err err = {0};
	ipam_cidr got;
	(void)state;

	assert_ok(
		ipam_resource_allocate(e.db, vpc, e.pool, NULL, 24, &got, &err),
		err);
	assert_string_equal(rc_state(e.db, vpc, S(&got)),
			    "managed compliant nonoverlapping");
	close_watch(e.db);
}

/*
 * The console tutorial (L4240-L4351): pre-prod pool 10.0.0.0/20 in
 * us-west-1 with min/default/max /24 and the required tag
 * environment=pre-prod. A VPC without the tag is refused with the guide's
 * text; with it, it gets 10.0.0.0/24.
 */
static void test_console_tutorial_pre_prod(void **state)
{
	static const char *const locales[] = {"us-west-1", NULL};
	static const char *const rule[] = {"environment=pre-prod"};
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t top = mktop(db, "top-level");
	int64_t region = mkpool(db, priv, top, "regional");
	int64_t preprod, vpc;
	ipam_err err = {0};
	ipam_cidr got;
	ipam_alloc_info a;
	char *status;
	(void)state;

	prov_ok(db, top, "10.0.0.0/8");
	pool_locale(db, region, "us-west-1");
	prov_ok(db, region, "10.0.0.0/16");
	preprod = mkpool(db, priv, region, "pre-prod");
	assert_ok(ipam_pool_set_locale(db, preprod, "us-west-1", &err), err);
	prov_ok(db, preprod, "10.0.0.0/20");
	pool_netmask(db, preprod, IPAM_NETMASK_MIN, 24);
	pool_netmask(db, preprod, IPAM_NETMASK_MAX, 24);
	pool_netmask(db, preprod, IPAM_NETMASK_DEFAULT, 24);
	pool_tags(db, preprod, rule, 1);

	vpc = res_make(db, priv, "vpc-07701f4fcc6549b8d", "320805250157",
		       "us-west-1", NULL, NULL, NULL);
	res_tag(db, vpc, "Name", "Example VPC");
	assert_code(
		ipam_resource_allocate(db, vpc, preprod, NULL, -1, &got, &err),
		err, IPAM_EINVAL,
		"The resource is missing one or more of the resource tags "
		"required by the IPAM pool");
	assert_int_equal(usage(db, preprod).allocation_count, 0);

	res_tag(db, vpc, "environment", "pre-prod");
	assert_ok(
		ipam_resource_allocate(db, vpc, preprod, NULL, -1, &got, &err),
		err);
	assert_string_equal(S(&got), "10.0.0.0/24");
	assert_ok(
		ipam_alloc_get(db, preprod, "vpc-07701f4fcc6549b8d", &a, &err),
		err);
	assert_string_equal(a.resource_type, "vpc");
	assert_string_equal(rc_state(db, vpc, "10.0.0.0/24"),
			    "managed compliant nonoverlapping");
	status = render(db, preprod, VIEW_STATUS);
	assert_string_equal(status_value(status, "percent-assigned"), "6.25");
	assert_string_equal(status_value(status, "compliant-resource-cidrs"),
			    "1");
	assert_string_equal(status_value(status, "noncompliant-resource-cidrs"),
			    "0");
	free(status);
	close_watch(db);
}

/* The words of each AWS shape (IpamResourceType,
 * IpamAddressHistoryResourceType, IpamPoolAllocationResourceType). */
static void test_aws_type_words(void **state)
{
	(void)state;
	assert_string_equal(ipam_resource_type_aws("network-interface",
						   IPAM_SHAPE_RESOURCE_CIDR),
			    "eni");
	assert_string_equal(
		ipam_resource_type_aws("network-interface", IPAM_SHAPE_HISTORY),
		"network-interface");
	assert_null(
		ipam_resource_type_aws("instance", IPAM_SHAPE_RESOURCE_CIDR));
	assert_string_equal(ipam_resource_type_aws("public-ipv4-pool",
						   IPAM_SHAPE_ALLOCATION),
			    "ec2-public-ipv4-pool");
	assert_null(ipam_resource_type_aws("custom", IPAM_SHAPE_HISTORY));
	assert_string_equal(ipam_resource_type_aws("vpc", IPAM_SHAPE_HISTORY),
			    "vpc");
	assert_null(ipam_resource_type_aws("bogus", IPAM_SHAPE_ALLOCATION));
}

/* A resource made by hand is owned by its maker's uid; its Name tag is
 * its name (L3371ff). */
static void test_owner_and_name_tag(void **state)
{
	ipam *db = open_watch(NULL, NULL);
	int64_t priv = scope_key(db, "private"), vpc;
	ipam_actor who = {.uid = 1234, .gid = 1234, .pid = 1};
	ipam_resource_info info;
	ipam_err err = {0};
	(void)state;

	assert_ok(ipam_txn_begin(db, &who, &err), err);
	assert_ok(ipam_resource_create(db, priv, "vpc-1", NULL, &vpc, &err),
		  err);
	assert_ok(ipam_txn_commit(db, &err), err);
	assert_ok(ipam_resource_get(db, vpc, &info, &err), err);
	assert_string_equal(info.owner, "1234");
	assert_ok(ipam_resource_tag_set(db, vpc, "Name", "IPAM-VPC", &err),
		  err);
	assert_ok(ipam_resource_get(db, vpc, &info, &err), err);
	assert_string_equal(info.name, "IPAM-VPC");
	assert_ok(ipam_resource_tag_remove(db, vpc, "Name", &err), err);
	assert_ok(ipam_resource_get(db, vpc, &info, &err), err);
	assert_string_equal(info.name, "");
	close_watch(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		WATCH_TEST(test_create_type_from_id_prefix),
		WATCH_TEST(test_aws_type_words),
		WATCH_TEST(test_owner_and_name_tag),
		WATCH_TEST(test_create_explicit_type),
		WATCH_TEST(test_create_refused),
		WATCH_TEST(test_lookup_and_delete),
		WATCH_TEST(test_scope_with_resources_not_removed),
		WATCH_TEST(test_fields),
		WATCH_TEST(test_type_change),
		WATCH_TEST(test_tags),
		WATCH_TEST(test_cidr_add_remove),
		WATCH_TEST(test_allocate_success),
		WATCH_TEST(test_allocate_locale_mismatch),
		WATCH_TEST(test_allocate_missing_tag),
		WATCH_TEST(test_allocate_netmask_rule),
		WATCH_TEST(test_allocate_refusals),
		WATCH_TEST(test_allocate_second_by_size_refused),
		WATCH_TEST(test_allocate_registered_cidr),
		WATCH_TEST(test_allocate_by_size_onto_registered_cidr),
		WATCH_TEST(test_console_tutorial_pre_prod),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
