/*
 * test_pool.c - scopes and pools (SPEC §3, §3.2): creating and deleting
 * them, the quotas, provisioning and deprovisioning CIDRs with every
 * refusal and its code, address families, private-scope IPv6, locales and
 * auto-import.
 */
#include "fixture.h"

/* ---- scopes ---- */

static void test_scope_create_and_delete(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	ipam_scope_info sc;
	ipam_strlist names = {0};
	int64_t key = 0;
	(void)state;

	assert_ok(ipam_scope_create(db, "lab", &key, &err), err);
	assert_ok(ipam_scope_get(db, "lab", &sc, &err), err);
	assert_int_equal(sc.key, key);
	assert_false(sc.is_public);
	assert_false(sc.is_default);
	assert_code(ipam_scope_create(db, "lab", NULL, &err), err, IPAM_EEXIST,
		    "scope 'lab' exists");
	assert_code(ipam_scope_create(db, "a/b", NULL, &err), err, IPAM_EINVAL,
		    "contains '/'");
	assert_code(ipam_scope_create(db, "", NULL, &err), err, IPAM_EINVAL,
		    "name is empty");

	/* a scope with a pool cannot go; without, it can */
	mkpool(db, key, 0, "p");
	assert_code(ipam_scope_delete(db, "lab", &err), err, IPAM_ENOTEMPTY,
		    "cannot delete scope 'lab': it has 1 pool");
	{
		int64_t p;
		assert_ok(ipam_pool_lookup(db, key, 0, "p", &p, &err), err);
		assert_ok(ipam_pool_delete(db, p, &err), err);
	}
	assert_ok(ipam_scope_delete(db, "lab", &err), err);
	assert_code(ipam_scope_get(db, "lab", &sc, &err), err, IPAM_ENOENT,
		    "no scope 'lab'");

	/* the default scopes stay */
	assert_code(ipam_scope_delete(db, "private", &err), err, IPAM_EPERM,
		    "cannot delete scope 'private': it is a default scope");
	assert_code(ipam_scope_delete(db, "public", &err), err, IPAM_EPERM,
		    "default scope");
	assert_code(ipam_scope_delete(db, "nope", &err), err, IPAM_ENOENT,
		    "no scope 'nope'");
	assert_ok(ipam_scope_list(db, &names, &err), err);
	assert_int_equal(names.count, 2);
	ipam_strlist_free(&names);
	ipam_free(db);
}

static void test_scopes_quota(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	ipam_strlist names = {0};
	(void)state;

	/* 5 scopes in all, two of them the defaults */
	assert_ok(ipam_scope_create(db, "s1", NULL, &err), err);
	assert_ok(ipam_scope_create(db, "s2", NULL, &err), err);
	assert_ok(ipam_scope_create(db, "s3", NULL, &err), err);
	assert_code(ipam_scope_create(db, "s4", NULL, &err), err, IPAM_EDQUOT,
		    "cannot create scope 's4': quota of 5 scopes reached");
	assert_ok(ipam_scope_list(db, &names, &err), err);
	assert_int_equal(names.count, 5);
	ipam_strlist_free(&names);
	/* raising the quota lets it through; lowering it stops new ones */
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_SCOPES, 6, &err), err);
	assert_ok(ipam_scope_create(db, "s4", NULL, &err), err);
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_SCOPES, 2, &err), err);
	assert_code(ipam_scope_create(db, "s5", NULL, &err), err, IPAM_EDQUOT,
		    NULL);
	assert_ok(ipam_scope_delete(db, "s4", &err), err);
	ipam_free(db);
}

static void test_quota_bounds(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	int64_t v;
	(void)state;

	assert_code(ipam_quota_set(db, IPAM_QUOTA_SCOPES, 0, &err), err,
		    IPAM_EINVAL, "quota scopes must be 1..1000000, not 0");
	assert_code(
		ipam_quota_set(db, IPAM_QUOTA_CIDRS_PER_POOL, 1000001, &err),
		err, IPAM_EINVAL, "quota cidrs-per-pool must be 1..1000000");
	assert_code(ipam_quota_set(db, IPAM_QUOTA_POOL_DEPTH, 65, &err), err,
		    IPAM_EINVAL, "quota pool-depth must be 1..64, not 65");
	assert_code(ipam_quota_set(db, IPAM_QUOTA_COUNT, 3, &err), err,
		    IPAM_EINVAL, "unknown quota");
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_POOL_DEPTH, 64, &err), err);
	assert_ok(ipam_quota_get(db, IPAM_QUOTA_POOL_DEPTH, &v, &err), err);
	assert_int_equal(v, 64);
	assert_string_equal(ipam_quota_name(IPAM_QUOTA_POOLS_PER_SCOPE),
			    "pools-per-scope");
	ipam_free(db);
}

/* ---- pools ---- */

static void test_pool_create_lookup_list(void **state)
{
	ipam *db = open_mem();
	int64_t priv = scope_key(db, "private"), pub = scope_key(db, "public");
	int64_t top, child, found;
	ipam_pool_info p, c;
	ipam_strlist names = {0};
	ipam_err err = {0};
	(void)state;

	top = mktop(db, "top");
	mkpool(db, priv, 0, "alpha");
	child = mkpool(db, priv, top, "child");
	assert_ok(ipam_pool_get(db, top, &p, &err), err);
	assert_string_equal(p.name, "top");
	assert_int_equal(p.depth, 1);
	assert_int_equal(p.parent_key, 0);
	assert_string_equal(p.source_id, "");
	assert_int_equal(p.family, 4);
	assert_false(p.family_locked);
	assert_string_equal(p.locale, "");
	assert_int_equal(p.min_netmask, -1);
	assert_int_equal(p.max_netmask, -1);
	assert_int_equal(p.default_netmask, -1);
	assert_int_equal(p.strategy, IPAM_STRATEGY_FIRST_FIT);
	assert_false(p.is_public);
	assert_int_equal(p.created, FIXTURE_TIME);
	assert_ok(ipam_pool_get(db, child, &c, &err), err);
	assert_int_equal(c.depth, 2);
	assert_int_equal(c.parent_key, top);
	assert_string_equal(c.source_id, p.id);
	assert_string_equal(c.scope_id, p.scope_id);

	assert_ok(ipam_pool_lookup(db, priv, top, "child", &found, &err), err);
	assert_int_equal(found, child);
	assert_code(ipam_pool_lookup(db, priv, 0, "child", &found, &err), err,
		    IPAM_ENOENT, "no pool 'child'");
	assert_ok(ipam_pool_list(db, priv, 0, &names, &err), err);
	assert_int_equal(names.count, 2);
	assert_string_equal(names.items[0], "alpha");
	assert_string_equal(names.items[1], "top");
	ipam_strlist_free(&names);

	/* same name: refused beside it, fine elsewhere */
	assert_code(ipam_pool_create(db, priv, 0, "top", NULL, &err), err,
		    IPAM_EEXIST, "pool 'top' exists");
	mkpool(db, priv, child, "top");
	mkpool(db, pub, 0, "top");
	assert_code(ipam_pool_create(db, priv, 0, "..", NULL, &err), err,
		    IPAM_EINVAL, "name '..' is reserved");
	assert_code(ipam_pool_create(db, priv, 0, "a\nb", NULL, &err), err,
		    IPAM_EINVAL, "control character 0x0a");
	/* a parent in another scope */
	assert_code(ipam_pool_create(db, pub, top, "x", NULL, &err), err,
		    IPAM_EINVAL, "parent pool 'top' is in another scope");
	{
		ipam_scope_info sc;
		assert_ok(ipam_scope_get(db, "private", &sc, &err), err);
		assert_int_equal(sc.pool_count, 4);
	}
	ipam_free(db);
}

static void test_depth_quota(void **state)
{
	ipam *db = open_mem();
	int64_t priv = scope_key(db, "private"), parent = 0, key = 0;
	ipam_pool_info p;
	ipam_err err = {0};
	char name[16];
	(void)state;

	/* depth 10 is the limit (L455) */
	for (int depth = 1; depth <= 10; depth++) {
		snprintf(name, sizeof(name), "d%d", depth);
		parent = mkpool(db, priv, parent, name);
	}
	assert_ok(ipam_pool_get(db, parent, &p, &err), err);
	assert_int_equal(p.depth, 10);
	assert_code(ipam_pool_create(db, priv, parent, "d11", &key, &err), err,
		    IPAM_EDQUOT,
		    "cannot create pool 'd11': depth 11 exceeds the pool-depth "
		    "quota (10)");
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_POOL_DEPTH, 11, &err), err);
	mkpool(db, priv, parent, "d11");
	ipam_free(db);
}

static void test_pools_per_scope_quota(void **state)
{
	ipam *db = open_mem();
	int64_t priv = scope_key(db, "private"), pub = scope_key(db, "public");
	int64_t top;
	ipam_err err = {0};
	char name[16];
	(void)state;

	/* counts all depths */
	top = mkpool(db, priv, 0, "top");
	for (int i = 1; i < 50; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		mkpool(db, priv, i % 2 ? top : 0, name);
	}
	assert_code(ipam_pool_create(db, priv, top, "c50", NULL, &err), err,
		    IPAM_EDQUOT,
		    "cannot create pool 'c50': the scope has 50 pools "
		    "(pools-per-scope quota)");
	assert_code(ipam_pool_create(db, priv, 0, "c50", NULL, &err), err,
		    IPAM_EDQUOT, NULL);
	/* per scope: the public scope is not full */
	mkpool(db, pub, 0, "c50");
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_POOLS_PER_SCOPE, 51, &err),
		  err);
	mkpool(db, priv, 0, "c50");
	ipam_free(db);
}

/* ---- provisioning ---- */

static void test_provision_top_level(void **state)
{
	ipam *db = open_mem();
	int64_t top = mktop(db, "top");
	ipam_pool_cidr *cidrs;
	ipam_pool_info p;
	ipam_pool_usage u;
	ipam_err err = {0};
	size_t n;
	(void)state;

	prov_ok(db, top, "10.0.0.0/16");
	prov_ok(db, top, "192.168.0.0/24");
	prov_ok(db, top, "10.1.0.0/16"); /* adjacent is fine */
	assert_ok(ipam_pool_cidrs(db, top, &cidrs, &n, &err), err);
	assert_int_equal(n, 3);
	assert_string_equal(S(&cidrs[0].cidr), "10.0.0.0/16");
	assert_string_equal(S(&cidrs[1].cidr), "10.1.0.0/16");
	assert_string_equal(S(&cidrs[2].cidr), "192.168.0.0/24");
	assert_string_equal(cidrs[0].state, "provisioned");
	assert_int_equal(strncmp(cidrs[0].id, "ipam-pool-cidr-", 15), 0);
	assert_int_equal(strlen(cidrs[0].id), strlen("ipam-pool-cidr-") + 32);
	assert_int_equal(cidrs[0].created, FIXTURE_TIME);
	free(cidrs);
	u = usage(db, top);
	assert_string_equal(U(u.total), "131328");
	assert_string_equal(U(u.available), "131328");
	assert_int_equal(u.provisioned_cidrs, 3);
	assert_int_equal(u.largest_free_prefix, 16);

	/* overlapping one of its own CIDRs, in every direction */
	assert_code(prov(db, top, "10.0.0.0/16", &err), err, IPAM_EADDRINUSE,
		    "10.0.0.0/16 overlaps 10.0.0.0/16, already provisioned to "
		    "pool 'top'");
	assert_code(prov(db, top, "10.0.4.0/24", &err), err, IPAM_EADDRINUSE,
		    "10.0.4.0/24 overlaps 10.0.0.0/16");
	assert_code(prov(db, top, "10.0.0.0/8", &err), err, IPAM_EADDRINUSE,
		    "10.0.0.0/8 overlaps 10.1.0.0/16");
	assert_code(prov(db, top, "192.168.0.128/25", &err), err,
		    IPAM_EADDRINUSE, "overlaps 192.168.0.0/24");
	/* wrong family */
	assert_code(prov(db, top, "fd00::/48", &err), err, IPAM_EINVAL,
		    "cannot provision fd00::/48 to pool 'top': the pool is "
		    "ipv4");
	/* the family is fixed once a CIDR was provisioned */
	assert_code(ipam_pool_set_family(db, top, 6, &err), err, IPAM_EPERM,
		    "cannot change the address family of pool 'top': a CIDR "
		    "was provisioned");
	assert_ok(ipam_pool_get(db, top, &p, &err), err);
	assert_true(p.family_locked);
	u = usage(db, top);
	assert_int_equal(u.provisioned_cidrs, 3);
	assert_string_equal(U(u.total), "131328");
	ipam_free(db);
}

static void test_cidrs_per_pool_quota(void **state)
{
	ipam *db = open_mem();
	int64_t top = mktop(db, "top");
	ipam_err err = {0};
	char cidr[32];
	(void)state;

	for (int i = 0; i < 50; i++) {
		snprintf(cidr, sizeof(cidr), "10.%d.0.0/16", i);
		prov_ok(db, top, cidr);
	}
	assert_code(prov(db, top, "10.50.0.0/16", &err), err, IPAM_EDQUOT,
		    "cannot provision 10.50.0.0/16: pool 'top' has 50 CIDRs "
		    "(cidrs-per-pool quota)");
	assert_int_equal(usage(db, top).provisioned_cidrs, 50);
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_CIDRS_PER_POOL, 2, &err), err);
	/* lowering below the current use stops only new ones */
	assert_code(prov(db, top, "10.50.0.0/16", &err), err, IPAM_EDQUOT,
		    "has 50 CIDRs");
	assert_ok(deprov(db, top, "10.7.0.0/16", &err), err);
	assert_int_equal(usage(db, top).provisioned_cidrs, 49);
	ipam_free(db);
}

static void test_family_rules(void **state)
{
	ipam *db = open_mem();
	int64_t priv = scope_key(db, "private");
	int64_t v6 = mktop(db, "v6"), child;
	ipam_pool_info p;
	ipam_err err = {0};
	(void)state;

	assert_code(ipam_pool_set_family(db, v6, 5, &err), err, IPAM_EINVAL,
		    "address family must be ipv4 or ipv6");
	assert_ok(ipam_pool_set_family(db, v6, 6, &err), err);
	child = mkpool(db, priv, v6, "child");
	assert_ok(ipam_pool_get(db, child, &p, &err), err);
	assert_int_equal(p.family, 6); /* inherited */
	assert_code(ipam_pool_set_family(db, child, 4, &err), err, IPAM_EPERM,
		    "pool 'child' inherits its address family");
	/* setting the same family is not a change */
	assert_ok(ipam_pool_set_family(db, child, 6, &err), err);
	assert_code(ipam_pool_set_family(db, v6, 4, &err), err, IPAM_EBUSY,
		    "it has child pools");
	assert_code(prov(db, v6, "10.0.0.0/8", &err), err, IPAM_EINVAL,
		    "the pool is ipv6");
	prov_ok(db, v6, "fd01:1234::/48");
	assert_code(prov(db, child, "10.0.0.0/8", &err), err, IPAM_EINVAL,
		    "cannot provision 10.0.0.0/8 to pool 'child': the pool is "
		    "ipv6");
	ipam_free(db);
}

static void test_private_scope_ipv6(void **state)
{
	ipam *db = open_mem();
	int64_t ula = mktop(db, "ula"), gua = mktop(db, "gua");
	int64_t pub = mkpool(db, scope_key(db, "public"), 0, "pub");
	ipam_info info;
	ipam_err err = {0};
	(void)state;

	assert_ok(ipam_pool_set_family(db, ula, 6, &err), err);
	assert_ok(ipam_pool_set_family(db, gua, 6, &err), err);
	assert_ok(ipam_pool_set_family(db, pub, 6, &err), err);

	/* ULA is fd00::/8 (L808) */
	prov_ok(db, ula, "fd01:1234::/52");
	assert_code(prov(db, ula, "fc00::/16", &err), err, IPAM_EINVAL,
		    "fc00::/16 cannot be used in a private scope: IPv6 must be "
		    "ULA (fd00::/8 outside fd00::/16) or GUA (2000::/3)");
	assert_code(prov(db, ula, "fe80::/64", &err), err, IPAM_EINVAL,
		    "fe80::/64 cannot be used in a private scope");
	assert_code(prov(db, ula, "fc00::/7", &err), err, IPAM_EINVAL,
		    "IPv6 CIDRs must be /8 or longer");
	/* GUA needs enable-private-gua (L842) */
	assert_code(prov(db, gua, "2001:db8::/32", &err), err, IPAM_EPERM,
		    "2001:db8::/32 is a GUA CIDR: set ipam enable-private-gua "
		    "to use it in a private scope");
	assert_int_equal(usage(db, gua).provisioned_cidrs, 0);
	assert_ok(ipam_set_private_gua(db, true, &err), err);
	assert_ok(ipam_info_get(db, &info, &err), err);
	assert_true(info.enable_private_gua);
	prov_ok(db, gua, "2001:db8::/32");
	assert_int_equal(usage(db, gua).provisioned_cidrs, 1);
	/* and it cannot be switched off while a GUA CIDR is in use */
	assert_code(ipam_set_private_gua(db, false, &err), err, IPAM_EBUSY,
		    "cannot disable private GUA: pool 'gua' holds a GUA CIDR");
	assert_ok(deprov(db, gua, "2001:db8::/32", &err), err);
	assert_ok(ipam_set_private_gua(db, false, &err), err);

	/* the public scope takes GUA without the switch */
	prov_ok(db, pub, "2600:1f00::/40");
	ipam_free(db);
}

static void test_child_provisioning(void **state)
{
	ipam *db = open_mem();
	int64_t priv = scope_key(db, "private");
	int64_t top = mktop(db, "top");
	int64_t a = mkpool(db, priv, top, "a"), b = mkpool(db, priv, top, "b");
	ipam_alloc_info info;
	ipam_strlist names = {0};
	ipam_pool_usage u;
	ipam_err err = {0};
	char id_b[IPAM_ID_MAX], name[128];
	(void)state;

	prov_ok(db, top, "10.0.0.0/16");
	prov_ok(db, top, "10.9.0.0/24");
	/* outside every CIDR of the parent */
	assert_code(prov(db, a, "10.1.0.0/24", &err), err, IPAM_EADDRNOTAVAIL,
		    "10.1.0.0/24 is not inside a CIDR of pool 'top'");
	/* larger than the parent's CIDR */
	assert_code(prov(db, a, "10.0.0.0/15", &err), err, IPAM_EADDRNOTAVAIL,
		    NULL);
	/* covering a CIDR of the parent but not inside one */
	assert_code(prov(db, a, "10.8.0.0/13", &err), err, IPAM_EADDRNOTAVAIL,
		    NULL);
	prov_ok(db, a, "10.0.0.0/24");
	/* overlapping the parent's block for a: named by a's path */
	assert_code(
		prov(db, b, "10.0.0.0/25", &err), err, IPAM_EADDRINUSE,
		"10.0.0.0/25 overlaps 10.0.0.0/24 of child pool 'top/pools/a' "
		"in pool 'top'");
	assert_code(
		prov(db, b, "10.0.0.0/23", &err), err, IPAM_EADDRINUSE,
		"10.0.0.0/23 overlaps 10.0.0.0/24 of child pool 'top/pools/a'");
	/* overlapping a custom allocation of the parent */
	alloc_cidr_ok(db, top, "hold", "10.0.2.0/24");
	assert_code(prov(db, b, "10.0.2.128/25", &err), err, IPAM_EADDRINUSE,
		    "10.0.2.128/25 overlaps allocation 'hold' (10.0.2.0/24) in "
		    "pool 'top'");
	prov_ok(db, b, "10.0.1.0/24");
	/* a second CIDR of b in the parent's second CIDR */
	prov_ok(db, b, "10.9.0.0/25");
	snprintf(id_b, sizeof(id_b), "%s", pool_id(db, b));

	/* the parent shows each child CIDR as an ipam-pool allocation */
	assert_ok(ipam_alloc_list(db, top, &names, &err), err);
	assert_int_equal(names.count, 4);
	assert_string_equal(names.items[0], pool_id(db, a));
	assert_string_equal(names.items[1], id_b);
	assert_string_equal(names.items[2], "hold");
	snprintf(name, sizeof(name), "%s_10.9.0.0_25", id_b);
	assert_string_equal(names.items[3], name);
	ipam_strlist_free(&names);
	assert_ok(ipam_alloc_get(db, top, id_b, &info, &err), err);
	assert_string_equal(info.resource_type, "ipam-pool");
	assert_string_equal(info.resource_id, id_b);
	assert_string_equal(S(&info.cidr), "10.0.1.0/24");
	assert_true(info.compliant);
	u = usage(db, top);
	assert_string_equal(U(u.total), "65792");
	assert_string_equal(U(u.allocated_to_pools), "640");
	assert_string_equal(U(u.assigned), "256");
	assert_string_equal(U(u.available), "64896");
	assert_int_equal(u.allocation_count, 4);
	/* only custom and resource allocations count for compliance */
	assert_int_equal(u.compliant, 1);
	assert_int_equal(u.noncompliant, 0);

	/* they cannot be released, only deprovisioned from the child */
	assert_code(ipam_alloc_release(db, top, id_b, &err), err, IPAM_EPERM,
		    "is held by ipam-pool");
	assert_code(ipam_alloc_release(db, top, "nope", &err), err, IPAM_ENOENT,
		    "no allocation 'nope'");
	assert_ok(deprov(db, b, "10.0.1.0/24", &err), err);
	u = usage(db, top);
	assert_string_equal(U(u.allocated_to_pools), "384");
	assert_int_equal(u.allocation_count, 3);
	/* the space is free in the parent again */
	alloc_cidr_ok(db, top, "again", "10.0.1.0/24");
	ipam_free(db);
}

/* A scope holds an address once: a top-level CIDR overlapping another
 * top-level pool's of the scope is refused, whatever lies between them in
 * address order (other scopes' CIDRs, child pools' CIDRs, the other
 * family); other scopes may hold the same addresses. */
static void test_scope_holds_address_once(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	int64_t priv = scope_key(db, "private"), lab = 0;
	(void)state;
	assert_ok(ipam_scope_create(db, "lab", &lab, &err), err);
	int64_t one = mktop(db, "one"), two = mktop(db, "two"),
		six = mktop(db, "six"), other = mkpool(db, lab, 0, "other");
	int64_t kid = mkpool(db, priv, one, "kid");
	prov_ok(db, one, "10.0.0.0/16");
	prov_ok(db, kid, "10.0.1.0/24");
	prov_ok(db, kid, "10.0.200.0/24");
	prov_ok(db, other, "10.0.0.0/8"); /* another scope: allowed */
	assert_ok(ipam_pool_set_family(db, six, 6, &err), err);
	prov_ok(db, six, "fd01::/48");
	/* the nearest top-level CIDR below is lab's or a child's: still
	 * found */
	assert_code(prov(db, two, "10.0.200.0/24", &err), err, IPAM_EADDRINUSE,
		    "cannot provision 10.0.200.0/24 to pool 'two': it overlaps "
		    "10.0.0.0/16 of pool 'scopes/private/pools/one'");
	assert_code(prov(db, two, "10.0.0.0/8", &err), err, IPAM_EADDRINUSE,
		    "overlaps 10.0.0.0/16 of pool 'scopes/private/pools/one'");
	prov_ok(db, two, "10.1.0.0/16"); /* adjacent */
	assert_code(prov(db, one, "10.1.128.0/17", &err), err, IPAM_EADDRINUSE,
		    "overlaps 10.1.0.0/16 of pool 'scopes/private/pools/two'");
	prov_ok(db, two, "9.255.255.0/24"); /* below everything */
	assert_code(prov(db, six, "10.0.0.0/24", &err), err, IPAM_EINVAL,
		    "the pool is ipv6");
	ipam_free(db);
}

static void test_provision_len(void **state)
{
	ipam *db = open_mem();
	int64_t priv = scope_key(db, "private");
	int64_t top = mktop(db, "top");
	int64_t region = mkpool(db, priv, top, "region");
	ipam_cidr got;
	ipam_err err = {0};
	(void)state;

	assert_code(ipam_pool_provision_len(db, top, 16, &got, &err), err,
		    IPAM_EINVAL,
		    "pool 'top' is a top-level pool: provision a "
		    "CIDR, not a netmask");
	assert_code(ipam_pool_provision_len(db, region, 16, &got, &err), err,
		    IPAM_ENOSPC,
		    "no free /16 in pool 'top': it has no provisioned CIDR");
	prov_ok(db, top, "10.0.0.0/8");
	alloc_cidr_ok(db, top, "first", "10.0.0.0/16");
	assert_ok(ipam_pool_provision_len(db, region, 16, &got, &err), err);
	assert_string_equal(S(&got), "10.1.0.0/16");
	assert_ok(ipam_pool_provision_len(db, region, 12, &got, &err), err);
	assert_string_equal(S(&got), "10.16.0.0/12");
	assert_code(ipam_pool_provision_len(db, region, 33, &got, &err), err,
		    IPAM_EINVAL,
		    "netmask /33 is out of range for an ipv4 pool");
	assert_code(ipam_pool_provision_len(db, region, 7, &got, &err), err,
		    IPAM_ENOSPC,
		    "no free /7 in pool 'top' (largest free block "
		    "/9)");
	/* the parent's strategy chooses */
	assert_ok(ipam_pool_set_strategy(db, top, IPAM_STRATEGY_LAST_FIT, &err),
		  err);
	assert_ok(ipam_pool_provision_len(db, region, 16, &got, &err), err);
	assert_string_equal(S(&got), "10.255.0.0/16");
	assert_int_equal(usage(db, region).provisioned_cidrs, 3);
	ipam_free(db);
}

static void test_deprovision(void **state)
{
	ipam *db = open_mem();
	int64_t top = mktop(db, "top");
	int64_t child = mkpool(db, scope_key(db, "private"), top, "child");
	ipam_pool_usage u;
	ipam_err err = {0};
	(void)state;

	prov_ok(db, top, "10.0.0.0/16");
	prov_ok(db, top, "10.1.0.0/16");
	prov_ok(db, child, "10.0.128.0/17");
	alloc_cidr_ok(db, top, "a", "10.0.0.0/24");
	alloc_cidr_ok(db, top, "b", "10.0.1.0/24");
	alloc_cidr_ok(db, top, "c", "10.0.2.0/24");
	alloc_cidr_ok(db, top, "d", "10.0.3.0/24");
	alloc_cidr_ok(db, top, "e", "10.1.0.0/24");

	/* the reason names the blocking allocations, in address order */
	assert_code(deprov(db, top, "10.0.0.0/16", &err), err, IPAM_EBUSY,
		    "cannot deprovision 10.0.0.0/16 from pool 'top': "
		    "allocations 'a', 'b', 'c', ... are inside it");
	assert_ok(ipam_alloc_release(db, top, "a", &err), err);
	assert_ok(ipam_alloc_release(db, top, "c", &err), err);
	assert_code(deprov(db, top, "10.0.0.0/16", &err), err, IPAM_EBUSY,
		    "allocations 'b', 'd', '");
	assert_code(deprov(db, top, "10.1.0.0/16", &err), err, IPAM_EBUSY,
		    "cannot deprovision 10.1.0.0/16 from pool 'top': "
		    "allocations 'e' are inside it");
	/* not provisioned here, exactly */
	assert_code(deprov(db, top, "10.2.0.0/16", &err), err, IPAM_ENOENT,
		    "10.2.0.0/16 is not provisioned to pool 'top'");
	assert_code(deprov(db, top, "10.1.0.0/17", &err), err, IPAM_ENOENT,
		    "10.1.0.0/17 is not provisioned to pool 'top'");
	/* a child's CIDR blocks it too, until the child gives it back */
	assert_ok(ipam_alloc_release(db, top, "b", &err), err);
	assert_ok(ipam_alloc_release(db, top, "d", &err), err);
	assert_code(deprov(db, top, "10.0.0.0/16", &err), err, IPAM_EBUSY,
		    "are inside it");
	assert_ok(deprov(db, child, "10.0.128.0/17", &err), err);
	assert_ok(deprov(db, top, "10.0.0.0/16", &err), err);
	u = usage(db, top);
	assert_string_equal(U(u.total), "65536");
	assert_string_equal(U(u.assigned), "256");
	assert_int_equal(u.provisioned_cidrs, 1);
	assert_int_equal(u.allocation_count, 1);
	/* the space can come back */
	prov_ok(db, top, "10.0.0.0/16");
	assert_string_equal(alloc_ok(db, top, "z", 16), "10.0.0.0/16");
	ipam_free(db);
}

static void test_pool_delete(void **state)
{
	ipam *db = open_mem();
	int64_t priv = scope_key(db, "private");
	int64_t top = mktop(db, "top"), child = mkpool(db, priv, top, "child");
	ipam_pool_info p;
	ipam_err err = {0};
	(void)state;

	assert_ok(ipam_tag_set(db, pool_id(db, child), "k", "v", &err), err);
	prov_ok(db, top, "10.0.0.0/16");
	assert_code(ipam_pool_delete(db, top, &err), err, IPAM_ENOTEMPTY,
		    "cannot delete pool 'top': it has 1 child pool");
	prov_ok(db, child, "10.0.0.0/24");
	alloc_ok(db, child, "x", 28);
	assert_code(ipam_pool_delete(db, child, &err), err, IPAM_EBUSY,
		    "cannot delete pool 'child': it has 1 provisioned CIDR; "
		    "deprovision it first");
	assert_ok(ipam_alloc_release(db, child, "x", &err), err);
	assert_ok(deprov(db, child, "10.0.0.0/24", &err), err);
	{
		char id[IPAM_ID_MAX];
		snprintf(id, sizeof(id), "%s", pool_id(db, child));
		assert_ok(ipam_pool_delete(db, child, &err), err);
		assert_code(ipam_pool_get(db, child, &p, &err), err,
			    IPAM_ENOENT, "no such pool");
		/* the id names nothing any more */
		{
			ipam_strlist keys = {0};
			assert_code(ipam_tag_list(db, id, &keys, &err), err,
				    IPAM_ENOENT, NULL);
		}
	}
	assert_code(ipam_pool_delete(db, top, &err), err, IPAM_EBUSY,
		    "it has 1 provisioned CIDR;");
	prov_ok(db, top, "10.1.0.0/16");
	assert_code(ipam_pool_delete(db, top, &err), err, IPAM_EBUSY,
		    "it has 2 provisioned CIDRs; deprovision them first");
	assert_ok(deprov(db, top, "10.1.0.0/16", &err), err);
	assert_ok(deprov(db, top, "10.0.0.0/16", &err), err);
	assert_ok(ipam_pool_delete(db, top, &err), err);
	assert_code(ipam_pool_delete(db, top, &err), err, IPAM_ENOENT, NULL);
	{
		ipam_scope_info sc;
		assert_ok(ipam_scope_get(db, "private", &sc, &err), err);
		assert_int_equal(sc.pool_count, 0);
	}
	ipam_free(db);
}

/* ---- locales and auto-import (L592, L600) ---- */

static void test_locale_rules(void **state)
{
	ipam *db = open_mem();
	int64_t priv = scope_key(db, "private");
	int64_t top = mktop(db, "top"), child, late;
	const char *locales[] = {"local", "us-east-1", "us-west-2"};
	ipam_pool_info p;
	ipam_err err = {0};
	(void)state;

	assert_code(
		ipam_pool_set_locale(db, top, "us-east-1", &err), err,
		IPAM_EINVAL,
		"locale 'us-east-1' is not an operating locale of the IPAM");
	assert_ok(ipam_locales_set(db, locales, 3, &err), err);
	child = mkpool(db, priv, top, "early"); /* before the parent's locale */
	assert_ok(ipam_pool_set_locale(db, top, "us-east-1", &err), err);
	assert_ok(ipam_pool_get(db, top, &p, &err), err);
	assert_string_equal(p.locale, "us-east-1");

	/* write once */
	assert_code(ipam_pool_set_locale(db, top, "us-west-2", &err), err,
		    IPAM_EPERM,
		    "locale of pool 'top' is already 'us-east-1' and cannot be "
		    "changed");
	assert_code(ipam_pool_set_locale(db, top, "none", &err), err,
		    IPAM_EPERM, "cannot be changed");
	assert_code(ipam_pool_set_locale(db, top, "", &err), err, IPAM_EPERM,
		    "cannot be changed");
	assert_ok(ipam_pool_set_locale(db, top, "us-east-1", &err), err);

	/* a new child inherits it */
	late = mkpool(db, priv, top, "late");
	assert_ok(ipam_pool_get(db, late, &p, &err), err);
	assert_string_equal(p.locale, "us-east-1");
	/* an older child may take only the parent's locale */
	assert_code(ipam_pool_set_locale(db, child, "us-west-2", &err), err,
		    IPAM_EINVAL,
		    "locale of pool 'early' must be its source pool's locale "
		    "'us-east-1'");
	assert_ok(ipam_pool_get(db, child, &p, &err), err);
	assert_string_equal(p.locale, "");
	assert_ok(ipam_pool_set_locale(db, child, "us-east-1", &err), err);
	/* "none" on an unset pool is no change */
	{
		int64_t other = mktop(db, "other");
		assert_ok(ipam_pool_set_locale(db, other, "none", &err), err);
		assert_code(ipam_pool_set_locale(db, other, "bad locale", &err),
			    err, IPAM_EINVAL, "invalid locale 'bad locale'");
		/* a parent cannot take a locale its children contradict */
		int64_t kid = mkpool(db, priv, other, "kid");
		assert_ok(ipam_pool_set_locale(db, kid, "us-west-2", &err),
			  err);
		assert_code(ipam_pool_set_locale(db, other, "us-east-1", &err),
			    err, IPAM_EINVAL,
			    "child pool 'kid' has locale 'us-west-2'");
	}
	/* a locale in use cannot leave the operating set */
	{
		const char *fewer[] = {"local", "us-west-2"};
		assert_code(ipam_locales_set(db, fewer, 2, &err), err,
			    IPAM_EBUSY, "cannot remove locale 'us-east-1'");
		/* a set without the home locale keeps it (L4451-L4478) */
		const char *nohome[] = {"us-east-1", "us-west-2"};
		ipam_strlist got = {0};
		assert_ok(ipam_locales_set(db, nohome, 2, &err), err);
		assert_ok(ipam_locales_get(db, &got, &err), err);
		assert_int_equal(got.count, 3);
		assert_string_equal(got.items[0], "local");
		assert_string_equal(got.items[1], "us-east-1");
		assert_string_equal(got.items[2], "us-west-2");
		ipam_strlist_free(&got);
	}
	ipam_free(db);
}

static void test_free_tier_locale(void **state)
{
	ipam *db = open_mem();
	int64_t pub = scope_key(db, "public");
	int64_t top = mkpool(db, pub, 0, "top"),
		other = mkpool(db, pub, 0, "other");
	const char *locales[] = {"local", "us-east-1"};
	ipam_err err = {0};
	(void)state;

	assert_ok(ipam_locales_set(db, locales, 2, &err), err);
	assert_ok(ipam_set_tier(db, IPAM_TIER_FREE, &err), err);
	assert_code(ipam_pool_set_locale(db, top, "us-east-1", &err), err,
		    IPAM_EPERM,
		    "free tier pools can only use the home locale 'local'");
	assert_ok(ipam_pool_set_locale(db, top, "local", &err), err);
	assert_ok(ipam_set_tier(db, IPAM_TIER_ADVANCED, &err), err);
	assert_ok(ipam_pool_set_locale(db, other, "us-east-1", &err), err);
	assert_code(ipam_set_tier(db, IPAM_TIER_FREE, &err), err, IPAM_EPERM,
		    "cannot move to the free tier: pool 'other' uses locale "
		    "'us-east-1', not the home locale");
	ipam_free(db);
}

/* L1928-L1934: no private scope pools, no additional scopes in the free
 * tier; the switch is refused while they exist, and they cannot be made
 * while it is on. */
static void test_free_tier_private(void **state)
{
	ipam *db = open_mem();
	int64_t top = mktop(db, "top");
	ipam_info info;
	ipam_err err = {0};
	(void)state;

	assert_code(ipam_set_tier(db, IPAM_TIER_FREE, &err), err, IPAM_EPERM,
		    "cannot move to the free tier: private scope pool 'top' "
		    "exists");
	assert_ok(ipam_pool_delete(db, top, &err), err);
	assert_ok(ipam_scope_create(db, "lab", NULL, &err), err);
	assert_code(ipam_set_tier(db, IPAM_TIER_FREE, &err), err, IPAM_EPERM,
		    "cannot move to the free tier: non-default scope 'lab' "
		    "exists");
	assert_ok(ipam_info_get(db, &info, &err), err);
	assert_int_equal(info.tier, IPAM_TIER_ADVANCED);
	assert_ok(ipam_scope_delete(db, "lab", &err), err);
	assert_ok(ipam_set_tier(db, IPAM_TIER_FREE, &err), err);
	assert_code(ipam_scope_create(db, "lab", NULL, &err), err, IPAM_EPERM,
		    "the free tier has only the default scopes");
	assert_code(ipam_pool_create(db, scope_key(db, "private"), 0, "p", NULL,
				     &err),
		    err, IPAM_EPERM,
		    "the free tier has no private scope pools");
	mkpool(db, scope_key(db, "public"), 0, "pub");
	ipam_free(db);
}

/* L842, L1589, L2018: ULA is fd00::/8 outside fd00::/16, /9 to /60; a
 * top-level private IPv6 pool takes a ULA block by netmask alone. */
static void test_ula_rules(void **state)
{
	ipam *db = open_mem();
	int64_t ula = mktop(db, "ula"), other = mktop(db, "other");
	int64_t v4 = mktop(db, "v4");
	ipam_pool_cidr *cidrs;
	ipam_cidr got, seen[16];
	size_t n;
	ipam_err err = {0};
	(void)state;

	assert_ok(ipam_pool_set_family(db, ula, 6, &err), err);
	assert_ok(ipam_pool_set_family(db, other, 6, &err), err);
	assert_code(prov(db, ula, "fd00::/16", &err), err, IPAM_EINVAL,
		    "fd00::/16 overlaps fd00::/16, the ULA range Amazon "
		    "reserves");
	assert_code(prov(db, ula, "fd00:1::/48", &err), err, IPAM_EINVAL,
		    "overlaps fd00::/16");
	assert_code(prov(db, ula, "fd00::/9", &err), err, IPAM_EINVAL,
		    "overlaps fd00::/16");
	assert_code(prov(db, ula, "fd81::/61", &err), err, IPAM_EINVAL,
		    "fd81::/61: a private IPv6 ULA CIDR must be /9 to /60");
	assert_code(prov(db, ula, "fd00::/8", &err), err, IPAM_EINVAL,
		    "overlaps fd00::/16");
	assert_int_equal(usage(db, ula).provisioned_cidrs, 0);
	prov_ok(db, ula, "fd80::/9");
	prov_ok(db, other, "fd01::/60");
	/* by netmask: random blocks, inside fd00::/8, outside fd00::/16 and
	 * everything in the scope, never the same twice */
	for (int i = 0; i < 16; i++) {
		int64_t p = i < 8 ? other : ula;
		if (i == 8)
			assert_ok(deprov(db, ula, "fd80::/9", &err), err);
		assert_ok(ipam_pool_provision_len(db, p, 48, &got, &err), err);
		assert_int_equal(got.prefix, 48);
		assert_true(got.addr >> 120 == 0xfd);
		assert_true((got.addr >> 112 & 0xff) != 0);
		for (int j = 0; j < i; j++)
			assert_false(ipam_cidr_overlaps(&seen[j], &got));
		seen[i] = got;
	}
	assert_ok(ipam_pool_cidrs(db, other, &cidrs, &n, &err), err);
	assert_int_equal(n, 9);
	free(cidrs);
	/* /9: fd80::/9 is the only one, and the scope holds a /48 in it
	 * (the random ones above miss it together once in 256 runs) */
	prov_ok(db, other, "fdff:ffff:ff00::/48");
	assert_code(ipam_pool_provision_len(db, ula, 9, &got, &err), err,
		    IPAM_ENOSPC, "no free ULA /9");
	assert_code(ipam_pool_provision_len(db, ula, 61, &got, &err), err,
		    IPAM_EINVAL,
		    "/61: a private IPv6 ULA CIDR must be /9 to /60");
	/* IPv4 and public pools still need a CIDR at the top level */
	assert_code(ipam_pool_provision_len(db, v4, 16, &got, &err), err,
		    IPAM_EINVAL, "provision a CIDR, not a netmask");
	ipam_free(db);
}

/* Public scope: no special-purpose (non-global) space, documentation ranges
 * allowed; BYOIP limits (L5763, L6223). */
static void test_public_space(void **state)
{
	ipam *db = open_mem();
	int64_t pubs = scope_key(db, "public");
	int64_t p4 = mkpool(db, pubs, 0, "p4"), p6 = mkpool(db, pubs, 0, "p6");
	static const char *const refused4[][2] = {
		{"10.0.0.0/16", "10.0.0.0/8, private-use (RFC 1918)"},
		{"172.20.0.0/16", "172.16.0.0/12, private-use (RFC 1918)"},
		{"192.168.1.0/24", "192.168.0.0/16, private-use"},
		{"100.64.0.0/16", "100.64.0.0/10, shared address space, CGNAT"},
		{"127.0.0.0/24", "127.0.0.0/8, loopback"},
		{"169.254.0.0/24", "169.254.0.0/16, link-local"},
		{"224.0.0.0/24", "224.0.0.0/4, multicast"},
		{"0.0.0.0/8", "0.0.0.0/8"},
		{"0.0.0.0/0", "0.0.0.0/8"},
	};
	static const char *const refused6[][2] = {
		{"fd12::/48", "fc00::/7, unique local, ULA"},
		{"fe80::/48", "fe80::/10, link-local"},
		{"ff00::/8", "ff00::/8, multicast"},
		{"::/16", "::/128, the unspecified address"},
	};
	ipam_err err = {0};
	(void)state;

	assert_ok(ipam_pool_set_family(db, p6, 6, &err), err);
	for (size_t i = 0; i < sizeof(refused4) / sizeof(refused4[0]); i++)
		assert_code(prov(db, p4, refused4[i][0], &err), err,
			    IPAM_EINVAL, refused4[i][1]);
	for (size_t i = 0; i < sizeof(refused6) / sizeof(refused6[0]); i++)
		assert_code(prov(db, p6, refused6[i][0], &err), err,
			    IPAM_EINVAL, refused6[i][1]);
	assert_int_equal(usage(db, p4).provisioned_cidrs, 0);
	/* documentation ranges and global space are fine */
	prov_ok(db, p4, "192.0.2.0/24");
	prov_ok(db, p4, "198.51.100.0/24");
	prov_ok(db, p4, "203.0.113.0/24");
	prov_ok(db, p4, "1.2.0.0/16");
	prov_ok(db, p6, "2001:db8::/32");
	/* BYOIP: IPv4 /24 or shorter, advertisable IPv6 /48 or shorter */
	assert_code(prov(db, p4, "8.8.8.0/25", &err), err, IPAM_EINVAL,
		    "the most specific IPv4 BYOIP CIDR is /24");
	assert_ok(ipam_pool_set_publicly_advertisable(db, p6, true, &err), err);
	assert_code(prov(db, p6, "2600:1f00::/52", &err), err, IPAM_EINVAL,
		    "the most specific publicly advertisable IPv6 BYOIP CIDR "
		    "is /48");
	prov_ok(db, p6, "2600:1f00::/48");
	assert_ok(ipam_pool_set_publicly_advertisable(db, p6, false, &err),
		  err);
	prov_ok(db, p6, "2600:1f01::/56");
	assert_code(prov(db, p6, "2600:1f02::/64", &err), err, IPAM_EINVAL,
		    "is /60");
	ipam_free(db);
}

static void test_auto_import_needs_locale(void **state)
{
	ipam *db = open_mem();
	int64_t top = mktop(db, "top");
	ipam_pool_info p;
	ipam_err err = {0};
	(void)state;

	assert_code(ipam_pool_set_auto_import(db, top, true, &err), err,
		    IPAM_EINVAL,
		    "auto-import needs a locale: pool 'top' has none");
	assert_ok(ipam_pool_get(db, top, &p, &err), err);
	assert_false(p.auto_import);
	assert_ok(ipam_pool_set_auto_import(db, top, false, &err), err);
	assert_ok(ipam_pool_set_locale(db, top, "local", &err), err);
	assert_ok(ipam_pool_set_auto_import(db, top, true, &err), err);
	assert_ok(ipam_pool_get(db, top, &p, &err), err);
	assert_true(p.auto_import);
	ipam_free(db);
}

static void test_public_attributes(void **state)
{
	ipam *db = open_mem();
	int64_t priv = mktop(db, "priv");
	int64_t pub = mkpool(db, scope_key(db, "public"), 0, "pub");
	ipam_pool_info p;
	ipam_err err = {0};
	(void)state;

	assert_code(ipam_pool_set_publicly_advertisable(db, priv, true, &err),
		    err, IPAM_EPERM,
		    "publicly-advertisable applies only to public-scope pools");
	assert_code(ipam_pool_set_aws_service(db, pub, "s3", &err), err,
		    IPAM_EINVAL, "aws-service must be empty or 'ec2'");
	assert_ok(ipam_pool_set_publicly_advertisable(db, pub, true, &err),
		  err);
	assert_ok(ipam_pool_set_aws_service(db, pub, "ec2", &err), err);
	assert_ok(ipam_pool_set_public_ip_source(db, pub, "amazon", &err), err);
	assert_ok(ipam_pool_get(db, pub, &p, &err), err);
	assert_true(p.is_public);
	assert_true(p.publicly_advertisable);
	assert_string_equal(p.aws_service, "ec2");
	assert_string_equal(p.public_ip_source, "amazon");
	/* an amazon-source pool takes a provider block by netmask only */
	assert_code(prov(db, pub, "198.51.100.0/24", &err), err, IPAM_EINVAL,
		    "public-ip-source is amazon, so it takes a netmask");
	{
		static const char *const provider[] = {"198.51.100.0/24"};
		ipam_cidr got;
		assert_ok(ipam_provider_cidrs_set(db, provider, 1, &err), err);
		assert_ok(ipam_pool_provision_len(db, pub, 29, &got, &err),
			  err);
		assert_string_equal(S(&got), "198.51.100.0/29");
	}
	assert_code(ipam_pool_set_public_ip_source(db, pub, "byoip", &err), err,
		    IPAM_EPERM,
		    "public-ip-source of pool 'pub' cannot change after a CIDR "
		    "was provisioned");
	assert_code(ipam_pool_set_public_ip_source(db, pub, "x", &err), err,
		    IPAM_EINVAL, NULL);
	ipam_free(db);
}

static void test_descriptions_and_tags(void **state)
{
	ipam *db = open_mem();
	int64_t top = mktop(db, "top");
	char long_text[IPAM_DESC_MAX + 2];
	ipam_pool_info p;
	ipam_strlist keys = {0};
	ipam_err err = {0};
	char *value = NULL;
	const char *id;
	(void)state;

	assert_ok(ipam_pool_set_description(db, top, "core network", &err),
		  err);
	assert_ok(ipam_pool_get(db, top, &p, &err), err);
	assert_string_equal(p.description, "core network");
	assert_code(ipam_pool_set_description(db, top, "two\nlines", &err), err,
		    IPAM_EINVAL, "description must be a single line");
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	assert_code(ipam_pool_set_description(db, top, long_text, &err), err,
		    IPAM_EINVAL,
		    "description is 1025 bytes long (at most 1024)");

	id = pool_id(db, top);
	assert_ok(ipam_tag_set(db, id, "env", "prod", &err), err);
	assert_ok(ipam_tag_set(db, id, "cost-center", "42", &err), err);
	assert_ok(ipam_tag_set(db, id, "env", "dev", &err), err);
	assert_ok(ipam_tag_list(db, id, &keys, &err), err);
	assert_int_equal(keys.count, 2);
	assert_string_equal(keys.items[0], "cost-center");
	assert_string_equal(keys.items[1], "env");
	ipam_strlist_free(&keys);
	assert_ok(ipam_tag_get(db, id, "env", &value, &err), err);
	assert_string_equal(value, "dev");
	free(value);
	/* AWS tag keys: '/', '=', ':' allowed, control characters not */
	assert_ok(
		ipam_tag_set(db, id, "kubernetes.io/cluster/a=b:c", "x", &err),
		err);
	assert_ok(ipam_tag_remove(db, id, "kubernetes.io/cluster/a=b:c", &err),
		  err);
	assert_code(ipam_tag_set(db, id, "a\tb", "x", &err), err, IPAM_EINVAL,
		    "no control characters");
	assert_code(ipam_tag_remove(db, id, "nope", &err), err, IPAM_ENOENT,
		    "no tag 'nope'");
	assert_ok(ipam_tag_remove(db, id, "env", &err), err);
	assert_code(ipam_tag_get(db, id, "env", &value, &err), err, IPAM_ENOENT,
		    NULL);
	assert_code(
		ipam_tag_set(db, "ipam-pool-0123456789abcdef0", "k", "v", &err),
		err, IPAM_ENOENT, "no object 'ipam-pool-0123456789abcdef0'");
	{
		ipam_kind kind;
		int64_t key;
		assert_ok(ipam_id_lookup(db, id, &kind, &key, &err), err);
		assert_int_equal(kind, IPAM_KIND_POOL);
		assert_int_equal(key, top);
	}
	ipam_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scope_create_and_delete),
		cmocka_unit_test(test_scopes_quota),
		cmocka_unit_test(test_quota_bounds),
		cmocka_unit_test(test_pool_create_lookup_list),
		cmocka_unit_test(test_depth_quota),
		cmocka_unit_test(test_pools_per_scope_quota),
		cmocka_unit_test(test_provision_top_level),
		cmocka_unit_test(test_cidrs_per_pool_quota),
		cmocka_unit_test(test_family_rules),
		cmocka_unit_test(test_private_scope_ipv6),
		cmocka_unit_test(test_child_provisioning),
		cmocka_unit_test(test_provision_len),
		cmocka_unit_test(test_scope_holds_address_once),
		cmocka_unit_test(test_deprovision),
		cmocka_unit_test(test_pool_delete),
		cmocka_unit_test(test_locale_rules),
		cmocka_unit_test(test_free_tier_locale),
		cmocka_unit_test(test_free_tier_private),
		cmocka_unit_test(test_ula_rules),
		cmocka_unit_test(test_public_space),
		cmocka_unit_test(test_auto_import_needs_locale),
		cmocka_unit_test(test_public_attributes),
		cmocka_unit_test(test_descriptions_and_tags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
