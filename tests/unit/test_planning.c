/*
 * test_planning.c - resource planning (SPEC §8.5, L8859-L8985,
 * core/planning.c): a pool whose source is a VPC, its subnet pools,
 * subnets taking CIDRs from them under the pool rules, the refusals of the
 * clean-up order, cascade delete, host records (DNS name, MAC address) and
 * the round trip through export and import.
 */
#include "watch_fixture.h"

static const char *const east[] = {"us-east-1", "us-west-2", NULL};
#define VPC "vpc-0a1b2c3d4e5f60001"

/* A scope with a VPC of 10.0.0.0/20 in us-east-1, a planning pool of it
 * with the whole /20 and a dev subnet pool of 10.0.0.0/24. */
typedef struct plan {
	ipam *db;
	int64_t scope, vpc, pool, dev;
} plan;

static plan plan_new(void)
{
	plan p;
	ipam_err err = {0};
	p.db = open_watch(NULL, east);
	p.scope = scope_key(p.db, "private");
	p.vpc = res_new(p.db, p.scope, VPC);
	res_set(p.db, p.vpc, IPAM_RESOURCE_LOCALE, "us-east-1");
	res_cidr(p.db, p.vpc, "10.0.0.0/20");
	p.pool = mkpool(p.db, p.scope, 0, "plan");
	assert_ok(ipam_pool_set_source_resource(p.db, p.pool, VPC, &err), err);
	prov_ok(p.db, p.pool, "10.0.0.0/20");
	p.dev = mkpool(p.db, p.scope, p.pool, "dev");
	prov_ok(p.db, p.dev, "10.0.0.0/24");
	return p;
}

static int64_t subnet(plan *p, const char *id, const char *vpc)
{
	int64_t key = res_new(p->db, p->scope, id);
	res_set(p->db, key, IPAM_RESOURCE_LOCALE, "us-east-1");
	if (vpc)
		res_set(p->db, key, IPAM_RESOURCE_VPC_ID, vpc);
	return key;
}

static ipam_pool_info pool_info(ipam *db, int64_t pool)
{
	ipam_pool_info info;
	ipam_err err = {0};
	assert_ok(ipam_pool_get(db, pool, &info, &err), err);
	return info;
}

static void test_source_resource(void **state)
{
	ipam_err err = {0};
	plan p = plan_new();
	int64_t other = mkpool(p.db, p.scope, 0, "other");
	int64_t sub = subnet(&p, "subnet-0d1", VPC);
	ipam_pool_info info = pool_info(p.db, p.pool);
	(void)state;

	assert_string_equal(info.plan_vpc, VPC);
	assert_string_equal(info.locale, "us-east-1");
	assert_int_equal(info.family, 4);
	info = pool_info(p.db, p.dev);
	assert_string_equal(info.plan_vpc, VPC);
	assert_string_equal(info.locale, "us-east-1");
	/* refusals */
	assert_code(ipam_pool_set_source_resource(p.db, other, "vpc-0ff", &err),
		    err, IPAM_ENOENT, "no resource 'vpc-0ff'");
	assert_code(ipam_pool_set_source_resource(p.db, other, "subnet-0d1",
						  &err),
		    err, IPAM_EINVAL, "not a VPC id");
	assert_code(ipam_pool_set_source_resource(p.db, other, "x/y", &err),
		    err, IPAM_EINVAL, NULL);
	(void)sub;
	assert_code(ipam_pool_set_source_resource(p.db, p.dev, "", &err), err,
		    IPAM_EPERM, "inherits");
	assert_code(ipam_pool_set_source_resource(p.db, p.pool, "", &err), err,
		    IPAM_EPERM, "has had a CIDR");
	assert_code(ipam_pool_set_auto_import(p.db, p.pool, true, &err), err,
		    IPAM_EINVAL, "auto-import (of VPCs and EIPs) does not apply");
	pool_locale(p.db, other, "us-east-1");
	pool_auto_import(p.db, other, true);
	assert_code(ipam_pool_set_source_resource(p.db, other, VPC, &err), err,
		    IPAM_EINVAL, "has auto-import on");
	pool_auto_import(p.db, other, false);
	other = mkpool(p.db, p.scope, 0, "other2");
	pool_locale(p.db, other, "us-west-2");
	assert_code(ipam_pool_set_source_resource(p.db, other, VPC, &err), err,
		    IPAM_EINVAL, "takes its VPC's locale");
	close_watch(p.db);
}

static void test_provision_inside_vpc(void **state)
{
	ipam_err err = {0};
	plan p = plan_new();
	int64_t top = mkpool(p.db, p.scope, 0, "top");
	int64_t second = mkpool(p.db, p.scope, 0, "second");
	(void)state;

	/* an ordinary pool may hold the same space: planning is apart */
	prov_ok(p.db, top, "10.0.0.0/8");
	assert_ok(ipam_pool_set_source_resource(p.db, second, VPC, &err), err);
	assert_code(prov(p.db, second, "10.0.16.0/24", &err), err,
		    IPAM_EADDRNOTAVAIL, "not inside a CIDR of VPC");
	assert_code(prov(p.db, second, "10.0.4.0/24", &err), err,
		    IPAM_EADDRINUSE, "one pool at a time");
	/* a second VPC CIDR gives room to a second planning pool */
	res_cidr(p.db, p.vpc, "10.0.32.0/20");
	prov_ok(p.db, second, "10.0.32.0/21");
	/* ... and the VPC cannot lose it while planned */
	{
		ipam_cidr c = C("10.0.32.0/20");
		assert_code(ipam_resource_cidr_remove(p.db, p.vpc, &c, &err),
			    err, IPAM_EBUSY, "pool 'second' plans space in it");
	}
	assert_code(ipam_resource_delete(p.db, p.vpc, &err), err, IPAM_EBUSY,
		    "delete the pool first");
	close_watch(p.db);
}

static void test_subnet_allocation(void **state)
{
	ipam_err err = {0};
	plan p = plan_new();
	int64_t dev = subnet(&p, "subnet-0d1", VPC);
	int64_t stray = subnet(&p, "subnet-0d2", NULL);
	int64_t top = mkpool(p.db, p.scope, 0, "top");
	ipam_cidr want = C("10.0.0.0/28");
	ipam_pool_usage u;
	(void)state;

	prov_ok(p.db, top, "172.16.0.0/12");
	assert_string_equal(res_alloc_ok(p.db, dev, p.dev, NULL, 28),
			    "10.0.0.0/28");
	assert_string_equal(rc_state(p.db, dev, "10.0.0.0/28"),
			    "managed compliant -");
	assert_ok(ipam_pool_usage_get(p.db, p.dev, &u, &err), err);
	assert_string_equal(U(u.assigned), "16");
	assert_int_equal(u.compliant, 1);
	/* only subnets of that VPC, only from planning pools */
	assert_code(ipam_resource_allocate(p.db, stray, p.dev, NULL, 28, NULL,
					   &err),
		    err, IPAM_EINVAL, "in no VPC");
	assert_code(ipam_resource_allocate(p.db, dev, top, NULL, 28, NULL,
					   &err),
		    err, IPAM_EINVAL, "subnets from pools that plan");
	assert_code(ipam_resource_allocate(p.db, p.vpc, p.dev, NULL, 28, NULL,
					   &err),
		    err, IPAM_EINVAL, "not a vpc");
	assert_code(ipam_resource_allocate(p.db, dev, p.dev, &want, -1, NULL,
					   &err),
		    err, IPAM_EEXIST, "already managed");
	/* the netmask rule; compliance follows the vpc-id */
	pool_netmask(p.db, p.dev, IPAM_NETMASK_MIN, 27);
	assert_string_equal(rc_state(p.db, dev, "10.0.0.0/28"),
			    "managed compliant -");
	pool_netmask(p.db, p.dev, IPAM_NETMASK_MAX, 27);
	assert_string_equal(rc_state(p.db, dev, "10.0.0.0/28"),
			    "managed noncompliant -");
	pool_netmask(p.db, p.dev, IPAM_NETMASK_MAX, -1);
	res_set(p.db, dev, IPAM_RESOURCE_VPC_ID, "vpc-0other");
	assert_string_equal(rc_row(p.db, dev, "10.0.0.0/28").reason,
			    "vpc-id 'vpc-0other' is not VPC '" VPC
			    "' whose space the pool plans");
	res_set(p.db, dev, IPAM_RESOURCE_VPC_ID, VPC);
	assert_string_equal(rc_state(p.db, dev, "10.0.0.0/28"),
			    "managed compliant -");
	/* the VPC stays nonoverlapping: neither subnets nor hosts count */
	assert_int_equal(alloc(p.db, p.dev, "host", 32, NULL, NULL, &err), 0);
	assert_string_equal(rc_state(p.db, p.vpc, "10.0.0.0/20"),
			    "unmanaged unmanaged nonoverlapping");
	close_watch(p.db);
}

static void test_cascade_delete(void **state)
{
	ipam_err err = {0};
	plan p = plan_new();
	int64_t dev = subnet(&p, "subnet-0d1", VPC);
	int64_t prod = mkpool(p.db, p.scope, p.pool, "prod");
	int64_t deep = mkpool(p.db, p.scope, prod, "deep");
	int64_t top = mkpool(p.db, p.scope, 0, "top");
	int64_t key = 0;
	(void)state;

	prov_ok(p.db, top, "10.0.0.0/8");
	prov_ok(p.db, prod, "10.0.1.0/24");
	prov_ok(p.db, deep, "10.0.1.128/25");
	assert_string_equal(res_alloc_ok(p.db, dev, p.dev, NULL, 28),
			    "10.0.0.0/28");
	alloc_ok(p.db, p.dev, "host", 32);
	alloc_ok(p.db, deep, "h2", 32);
	assert_code(ipam_pool_delete(p.db, p.pool, &err), err, IPAM_ENOTEMPTY,
		    NULL);
	assert_ok(ipam_pool_delete_cascade(p.db, p.pool, &err), err);
	assert_int_equal(ipam_pool_lookup(p.db, p.scope, 0, "plan", &key, NULL),
			 IPAM_ENOENT);
	assert_int_equal(ipam_pool_lookup(p.db, p.scope, 0, "top", &key, NULL),
			 0);
	assert_string_equal(res_cidrs(p.db, dev), "10.0.0.0/28\n");
	assert_string_equal(rc_state(p.db, dev, "10.0.0.0/28"), "- - -");
	/* now the VPC goes */
	res_del(p.db, dev);
	assert_ok(ipam_resource_delete(p.db, p.vpc, &err), err);
	/* an ordinary pool with a VPC allocation: the VPC stays, unmanaged */
	{
		int64_t vpc2 = res_new(p.db, p.scope, "vpc-0b2");
		assert_string_equal(res_alloc_ok(p.db, vpc2, top, NULL, 16),
				    "10.0.0.0/16");
		assert_ok(ipam_pool_delete_cascade(p.db, top, &err), err);
		assert_string_equal(rc_state(p.db, vpc2, "10.0.0.0/16"),
				    "unmanaged unmanaged nonoverlapping");
	}
	close_watch(p.db);
}

static void test_host_values(void **state)
{
	static const struct {
		ipam_host_field field;
		const char *in, *out; /* out NULL: refused */
	} cases[] = {
		{IPAM_HOST_DNS_NAME, "Web01.Example.COM.", "web01.example.com"},
		{IPAM_HOST_DNS_NAME, "a", "a"},
		{IPAM_HOST_DNS_NAME, "1a-b.c", "1a-b.c"},
		{IPAM_HOST_DNS_NAME, "", ""},
		{IPAM_HOST_DNS_NAME, "-a.b", NULL},
		{IPAM_HOST_DNS_NAME, "a-.b", NULL},
		{IPAM_HOST_DNS_NAME, "a..b", NULL},
		{IPAM_HOST_DNS_NAME, ".", NULL},
		{IPAM_HOST_DNS_NAME, "a b", NULL},
		{IPAM_HOST_DNS_NAME, "a_b", NULL},
		{IPAM_HOST_DNS_NAME, "w\xc3\xa9" "b", NULL},
		{IPAM_HOST_DNS_NAME, "\xff", NULL},
		{IPAM_HOST_MAC_ADDRESS, "02:00:5E:10:00:01", "02:00:5e:10:00:01"},
		{IPAM_HOST_MAC_ADDRESS, "02-00-5e-10-00-01", "02:00:5e:10:00:01"},
		{IPAM_HOST_MAC_ADDRESS, "0200.5E10.0001", "02:00:5e:10:00:01"},
		{IPAM_HOST_MAC_ADDRESS, "", ""},
		{IPAM_HOST_MAC_ADDRESS, "02:00:5e:10:00", NULL},
		{IPAM_HOST_MAC_ADDRESS, "02:00-5e:10:00:01", NULL},
		{IPAM_HOST_MAC_ADDRESS, "02:00:5e:10:00:0g", NULL},
		{IPAM_HOST_MAC_ADDRESS, "0200.5e10.00011", NULL},
		{IPAM_HOST_MAC_ADDRESS, "020.05e10.0001", NULL},
		{IPAM_HOST_MAC_ADDRESS, "02:00:5e:10:00:01:02", NULL},
	};
	char out[IPAM_DNS_NAME_MAX + 1], label[64], name[300];
	ipam_err err = {0};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = ipam_host_value_check(cases[i].field, cases[i].in, out,
					       &err);
		if (cases[i].out) {
			if (rc)
				fail_msg("'%s' refused: %s", cases[i].in,
					 err.msg);
			assert_string_equal(out, cases[i].out);
		} else {
			assert_code(rc, err, IPAM_EINVAL, NULL);
		}
	}
	/* 63-character labels are fine, 64 are not; 253 characters at most */
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(name, sizeof(name), "%s.%s.%s.%.61s", label, label, label,
		 label);
	assert_int_equal(strlen(name), 253);
	assert_ok(ipam_host_value_check(IPAM_HOST_DNS_NAME, name, out, &err),
		  err);
	snprintf(name, sizeof(name), "%s.%s.%s.%.62s", label, label, label,
		 label);
	assert_code(ipam_host_value_check(IPAM_HOST_DNS_NAME, name, out, &err),
		    err, IPAM_EINVAL, "at most 253");
	snprintf(name, sizeof(name), "%sa.b", label);
	assert_code(ipam_host_value_check(IPAM_HOST_DNS_NAME, name, out, &err),
		    err, IPAM_EINVAL, "longer than 63");
}

static void test_host_records(void **state)
{
	ipam_err err = {0};
	plan p = plan_new();
	ipam_alloc_info a;
	char *json = NULL, *events = NULL;
	size_t len = 0;
	(void)state;

	alloc_cidr_ok(p.db, p.dev, "web01", "10.0.0.5/32");
	alloc_ok(p.db, p.dev, "rack", 28);
	assert_ok(ipam_alloc_set_host(p.db, p.dev, "web01", IPAM_HOST_DNS_NAME,
				      "WEB01.example.com", &err),
		  err);
	assert_ok(ipam_alloc_set_host(p.db, p.dev, "web01",
				      IPAM_HOST_MAC_ADDRESS, "0200.5e10.0001",
				      &err),
		  err);
	assert_ok(ipam_alloc_get(p.db, p.dev, "web01", &a, &err), err);
	assert_string_equal(a.dns_name, "web01.example.com");
	assert_string_equal(a.mac_address, "02:00:5e:10:00:01");
	assert_code(ipam_alloc_set_host(p.db, p.dev, "rack", IPAM_HOST_DNS_NAME,
					"rack.example.com", &err),
		    err, IPAM_EINVAL, "only a host allocation");
	assert_code(ipam_alloc_set_host(p.db, p.dev, "nope", IPAM_HOST_DNS_NAME,
					"x", &err),
		    err, IPAM_ENOENT, NULL);
	assert_code(ipam_alloc_set_host(p.db, p.dev, "web01",
					IPAM_HOST_MAC_ADDRESS, "zz", &err),
		    err, IPAM_EINVAL, "EUI-48");
	assert_ok(ipam_alloc_get(p.db, p.dev, "web01", &a, &err), err);
	assert_string_equal(a.mac_address, "02:00:5e:10:00:01");
	assert_ok(ipam_render_allocation_json(p.db, p.dev, "web01", &json, &len,
					      &err),
		  err);
	assert_non_null(strstr(json, "\"Cidr\":\"10.0.0.5/32\""));
	assert_non_null(strstr(json, "\"DnsName\":\"web01.example.com\""));
	assert_non_null(strstr(json, "\"MacAddress\":\"02:00:5e:10:00:01\""));
	assert_int_equal(strchr(json, '\n') - json, (long)len - 1);
	free(json);
	assert_ok(ipam_events_render(p.db, 0, &events, &len, &err), err);
	assert_non_null(strstr(events, "\"dns-name\":\"web01.example.com\""));
	free(events);
	close_watch(p.db);
}

static void test_export_import_round_trip(void **state)
{
	ipam_err err = {0};
	plan p = plan_new();
	int64_t dev = subnet(&p, "subnet-0d1", VPC);
	char *first = NULL, *second = NULL;
	size_t n1 = 0, n2 = 0;
	ipam *copy;
	(void)state;

	assert_string_equal(res_alloc_ok(p.db, dev, p.dev, NULL, 28),
			    "10.0.0.0/28");
	alloc_cidr_ok(p.db, p.dev, "web01", "10.0.0.200/32");
	assert_ok(ipam_alloc_set_host(p.db, p.dev, "web01", IPAM_HOST_DNS_NAME,
				      "web01.example.com", &err),
		  err);
	assert_ok(ipam_export_json(p.db, &first, &n1, &err), err);
	assert_non_null(strstr(first, "\"SourceResource\""));
	assert_non_null(strstr(first, "\"DnsName\":\"web01.example.com\""));
	copy = open_watch(NULL, east);
	assert_ok(ipam_import(copy, first, n1, false, NULL, &err), err);
	assert_ok(ipam_export_json(copy, &second, &n2, &err), err);
	assert_int_equal(n1, n2);
	assert_memory_equal(first, second, n1);
	free(second);
	close_watch(copy);
	/* the VPC lacking the pool's CIDR: refused whole */
	{
		char *bad = strdup(first),
		     *at = strstr(bad, "\"ResourceCidr\":\"10.0.0.0/20\"");
		ipam_err why = {0};
		assert_non_null(at);
		memcpy(at + 16, "10.0.0.0/21", 11);
		copy = open_watch(NULL, east);
		assert_code(ipam_import(copy, bad, strlen(bad), false, NULL,
					&why),
			    why, IPAM_EADDRNOTAVAIL, "not inside a CIDR of VPC");
		close_watch(copy);
		free(bad);
	}
	free(first);
	close_watch(p.db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		WATCH_TEST(test_source_resource),
		WATCH_TEST(test_provision_inside_vpc),
		WATCH_TEST(test_subnet_allocation),
		WATCH_TEST(test_cascade_delete),
		cmocka_unit_test(test_host_values),
		WATCH_TEST(test_host_records),
		WATCH_TEST(test_export_import_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
