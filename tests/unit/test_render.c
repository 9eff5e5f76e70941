/*
 * test_render.c - what users read (SPEC §1.7, §3.1, §6.1): the pool
 * `status` in key=value and JSON form with the guide's numbers, the
 * tutorial hierarchy 10.0.0.0/8 -> /16 -> /24, the AWS CLI shapes of
 * describe-ipams, describe-ipam-scopes, describe-ipam-pools,
 * get-ipam-pool-cidrs and get-ipam-pool-allocations, the `map`, and
 * counts beyond 53 and 64 bits.
 */
#include "fixture.h"

#include <jansson.h>

typedef struct tutorial {
	ipam *db;
	int64_t top, region, dev;
	char top_id[IPAM_ID_MAX], region_id[IPAM_ID_MAX], dev_id[IPAM_ID_MAX];
	char scope_id[IPAM_ID_MAX];
} tutorial;

/* top 10.0.0.0/8 -> region (us-east-1) 10.0.0.0/16 -> dev 10.0.0.0/24,
 * and a /26 "vpc" allocated in dev. */
static void tutorial_build(tutorial *t)
{
	const char *locales[] = {"local", "us-east-1"};
	ipam_alloc_req req = {
		.name = "vpc", .prefix_len = 26, .description = "my vpc"};
	ipam_scope_info sc;
	ipam_alloc_info got;
	ipam_err err = {0};
	int64_t priv;

	t->db = open_mem();
	priv = scope_key(t->db, "private");
	assert_ok(ipam_locales_set(t->db, locales, 2, &err), err);
	t->top = mktop(t->db, "top");
	t->region = mkpool(t->db, priv, t->top, "region");
	assert_ok(ipam_pool_set_locale(t->db, t->region, "us-east-1", &err),
		  err);
	t->dev = mkpool(t->db, priv, t->region, "dev");
	prov_ok(t->db, t->top, "10.0.0.0/8");
	prov_ok(t->db, t->region, "10.0.0.0/16");
	prov_ok(t->db, t->dev, "10.0.0.0/24");
	assert_ok(ipam_alloc_create(t->db, t->dev, &req, &got, &err), err);
	assert_string_equal(S(&got.cidr), "10.0.0.0/26");
	snprintf(t->top_id, IPAM_ID_MAX, "%s", pool_id(t->db, t->top));
	snprintf(t->region_id, IPAM_ID_MAX, "%s", pool_id(t->db, t->region));
	snprintf(t->dev_id, IPAM_ID_MAX, "%s", pool_id(t->db, t->dev));
	assert_ok(ipam_scope_get(t->db, "private", &sc, &err), err);
	snprintf(t->scope_id, IPAM_ID_MAX, "%s", sc.id);
}

/* The guide: a /8 with one /16 child -> percent-allocated=0.390625. */
static void test_status_top_pool(void **state)
{
	tutorial t;
	char l0[80], l1[80];
	char *status;
	(void)state;

	tutorial_build(&t);
	snprintf(l0, sizeof(l0), "pool-id=%s", t.top_id);
	snprintf(l1, sizeof(l1), "scope-id=%s", t.scope_id);
	{
		const char *want[] = {
			l0,
			l1,
			"source-pool-id=",
			"state=create-complete",
			"locale=none",
			"address-family=ipv4",
			"pool-depth=1",
			"provisioned-cidrs=1",
			"total-addresses=16777216",
			"allocated-to-pools-addresses=65536",
			"assigned-addresses=0",
			"available-addresses=16711680",
			"percent-allocated=0.390625",
			"percent-assigned=0",
			"percent-available=99.609375",
			"allocation-count=1",
			"compliant-resource-cidrs=0",
			"noncompliant-resource-cidrs=0",
			"largest-free-block=10.128.0.0/9",
		};
		status = render(t.db, t.top, VIEW_STATUS);
		assert_status(status, want, sizeof(want) / sizeof(want[0]));
		free(status);
	}
	ipam_free(t.db);
}

static void test_status_region_pool(void **state)
{
	tutorial t;
	char l0[80], l1[80], l2[80];
	char *status;
	(void)state;

	tutorial_build(&t);
	snprintf(l0, sizeof(l0), "pool-id=%s", t.region_id);
	snprintf(l1, sizeof(l1), "scope-id=%s", t.scope_id);
	snprintf(l2, sizeof(l2), "source-pool-id=%s", t.top_id);
	{
		const char *want[] = {
			l0,
			l1,
			l2,
			"state=create-complete",
			"locale=us-east-1",
			"address-family=ipv4",
			"pool-depth=2",
			"provisioned-cidrs=1",
			"total-addresses=65536",
			"allocated-to-pools-addresses=256",
			"assigned-addresses=0",
			"available-addresses=65280",
			"percent-allocated=0.390625",
			"percent-assigned=0",
			"percent-available=99.609375",
			"allocation-count=1",
			"compliant-resource-cidrs=0",
			"noncompliant-resource-cidrs=0",
			"largest-free-block=10.0.128.0/17",
		};
		status = render(t.db, t.region, VIEW_STATUS);
		assert_status(status, want, sizeof(want) / sizeof(want[0]));
		free(status);
	}
	ipam_free(t.db);
}

/* The guide: a /24 with a /26 VPC -> assigned 25 %, available 75 %. */
static void test_status_dev_pool(void **state)
{
	tutorial t;
	char l0[80], l1[80], l2[80];
	char *status;
	(void)state;

	tutorial_build(&t);
	snprintf(l0, sizeof(l0), "pool-id=%s", t.dev_id);
	snprintf(l1, sizeof(l1), "scope-id=%s", t.scope_id);
	snprintf(l2, sizeof(l2), "source-pool-id=%s", t.region_id);
	{
		const char *want[] = {
			l0,
			l1,
			l2,
			"state=create-complete",
			"locale=us-east-1",
			"address-family=ipv4",
			"pool-depth=3",
			"provisioned-cidrs=1",
			"total-addresses=256",
			"allocated-to-pools-addresses=0",
			"assigned-addresses=64",
			"available-addresses=192",
			"percent-allocated=0",
			"percent-assigned=25",
			"percent-available=75",
			"allocation-count=1",
			"compliant-resource-cidrs=1",
			"noncompliant-resource-cidrs=0",
			"largest-free-block=10.0.0.128/25",
		};
		status = render(t.db, t.dev, VIEW_STATUS);
		assert_status(status, want, sizeof(want) / sizeof(want[0]));
		free(status);
	}
	ipam_free(t.db);
}

static void test_status_json(void **state)
{
	tutorial t;
	char want[2048];
	char *json;
	(void)state;

	tutorial_build(&t);
	snprintf(want, sizeof(want),
		 "{\n"
		 "  \"pool-id\": \"%s\",\n"
		 "  \"scope-id\": \"%s\",\n"
		 "  \"source-pool-id\": null,\n"
		 "  \"state\": \"create-complete\",\n"
		 "  \"locale\": \"none\",\n"
		 "  \"address-family\": \"ipv4\",\n"
		 "  \"pool-depth\": 1,\n"
		 "  \"provisioned-cidrs\": 1,\n"
		 "  \"total-addresses\": 16777216,\n"
		 "  \"allocated-to-pools-addresses\": 65536,\n"
		 "  \"assigned-addresses\": 0,\n"
		 "  \"available-addresses\": 16711680,\n"
		 "  \"percent-allocated\": 0.390625,\n"
		 "  \"percent-assigned\": 0,\n"
		 "  \"percent-available\": 99.609375,\n"
		 "  \"allocation-count\": 1,\n"
		 "  \"compliant-resource-cidrs\": 0,\n"
		 "  \"noncompliant-resource-cidrs\": 0,\n"
		 "  \"largest-free-block\": \"10.128.0.0/9\"\n"
		 "}\n",
		 t.top_id, t.scope_id);
	json = render(t.db, t.top, VIEW_STATUS_JSON);
	assert_string_equal(json, want);
	free(json);

	json = render(t.db, t.dev, VIEW_STATUS_JSON);
	assert_contains(json, "  \"percent-assigned\": 25,\n");
	assert_contains(json, "  \"percent-available\": 75,\n");
	assert_contains(json, "  \"source-pool-id\": \"");
	free(json);
	ipam_free(t.db);
}

/* A pool with nothing: no free block, percentages 0. */
static void test_status_empty_pool(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "empty");
	char *status, *json;
	(void)state;

	status = render(db, p, VIEW_STATUS);
	assert_string_equal(status_value(status, "total-addresses"), "0");
	assert_string_equal(status_value(status, "percent-available"), "0");
	assert_string_equal(status_value(status, "provisioned-cidrs"), "0");
	assert_contains(status, "\nlargest-free-block=\n");
	free(status);
	json = render(db, p, VIEW_STATUS_JSON);
	assert_contains(json, "\"largest-free-block\": null\n");
	free(json);
	ipam_free(db);
}

/* 100*num/den, 6 decimals, half-up, trailing zeros dropped. */
static void test_status_percent_rounding(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "p");
	char *status, *json;
	(void)state;

	prov_ok(db, p, "10.0.0.0/24");
	prov_ok(db, p, "10.0.1.0/25");
	alloc_cidr_ok(db, p, "third", "10.0.1.0/25"); /* 128 of 384 */
	status = render(db, p, VIEW_STATUS);
	assert_string_equal(status_value(status, "total-addresses"), "384");
	assert_string_equal(status_value(status, "percent-assigned"),
			    "33.333333");
	assert_string_equal(status_value(status, "percent-available"),
			    "66.666667");
	assert_string_equal(status_value(status, "largest-free-block"),
			    "10.0.0.0/24");
	free(status);
	json = render(db, p, VIEW_STATUS_JSON);
	assert_contains(json, "\"percent-assigned\": 33.333333,\n");
	assert_contains(json, "\"percent-available\": 66.666667,\n");
	free(json);
	ipam_free(db);
}

static void test_allocations_json(void **state)
{
	tutorial t;
	ipam_alloc_info vpc, child;
	ipam_err err = {0};
	char want[1024];
	char *json;
	(void)state;

	tutorial_build(&t);
	assert_ok(ipam_alloc_get(t.db, t.dev, "vpc", &vpc, &err), err);
	snprintf(want, sizeof(want),
		 "{\n"
		 "  \"IpamPoolAllocations\": [\n"
		 "    {\n"
		 "      \"Cidr\": \"10.0.0.0/26\",\n"
		 "      \"IpamPoolAllocationId\": \"%s\",\n"
		 "      \"Description\": \"my vpc\",\n"
		 "      \"ResourceType\": \"custom\",\n"
		 "      \"ResourceOwner\": \"%u\",\n"
		 "      \"Tags\": []\n"
		 "    }\n"
		 "  ]\n"
		 "}\n",
		 vpc.id, vpc.owner_uid);
	json = render(t.db, t.dev, VIEW_ALLOCATIONS);
	assert_string_equal(json, want);
	free(json);

	/* the region's allocation is the dev pool's CIDR */
	assert_ok(ipam_alloc_get(t.db, t.region, t.dev_id, &child, &err), err);
	snprintf(want, sizeof(want),
		 "{\n"
		 "  \"IpamPoolAllocations\": [\n"
		 "    {\n"
		 "      \"Cidr\": \"10.0.0.0/24\",\n"
		 "      \"IpamPoolAllocationId\": \"%s\",\n"
		 "      \"ResourceId\": \"%s\",\n"
		 "      \"ResourceType\": \"ipam-pool\",\n"
		 "      \"ResourceRegion\": \"us-east-1\",\n"
		 "      \"ResourceOwner\": \"%u\",\n"
		 "      \"Tags\": []\n"
		 "    }\n"
		 "  ]\n"
		 "}\n",
		 child.id, t.dev_id, child.owner_uid);
	json = render(t.db, t.region, VIEW_ALLOCATIONS);
	assert_string_equal(json, want);
	free(json);

	/* none: an empty list */
	{
		int64_t p = mktop(t.db, "none");
		json = render(t.db, p, VIEW_ALLOCATIONS);
		assert_string_equal(json,
				    "{\n  \"IpamPoolAllocations\": []\n}\n");
		free(json);
	}
	ipam_free(t.db);
}

static void test_cidrs_json(void **state)
{
	tutorial t;
	ipam_pool_cidr *cidrs;
	ipam_err err = {0};
	char want[1024];
	char *json;
	size_t n;
	(void)state;

	tutorial_build(&t);
	prov_ok(t.db, t.top, "172.16.0.0/12");
	assert_ok(ipam_pool_cidrs(t.db, t.top, &cidrs, &n, &err), err);
	assert_int_equal(n, 2);
	snprintf(want, sizeof(want),
		 "{\n"
		 "  \"IpamPoolCidrs\": [\n"
		 "    {\n"
		 "      \"Cidr\": \"10.0.0.0/8\",\n"
		 "      \"State\": \"provisioned\",\n"
		 "      \"IpamPoolCidrId\": \"%s\",\n"
		 "      \"NetmaskLength\": 8\n"
		 "    },\n"
		 "    {\n"
		 "      \"Cidr\": \"172.16.0.0/12\",\n"
		 "      \"State\": \"provisioned\",\n"
		 "      \"IpamPoolCidrId\": \"%s\",\n"
		 "      \"NetmaskLength\": 12\n"
		 "    }\n"
		 "  ]\n"
		 "}\n",
		 cidrs[0].id, cidrs[1].id);
	free(cidrs);
	json = render(t.db, t.top, VIEW_CIDRS);
	assert_string_equal(json, want);
	free(json);
	ipam_free(t.db);
}

static void test_pool_json(void **state)
{
	tutorial t;
	ipam_info info;
	ipam_err err = {0};
	const char *tags[] = {"env=dev"};
	char want[4096];
	char *json;
	(void)state;

	tutorial_build(&t);
	assert_ok(ipam_info_get(t.db, &info, &err), err);
	assert_ok(
		ipam_pool_set_netmask(t.db, t.dev, IPAM_NETMASK_MIN, 24, &err),
		err);
	assert_ok(
		ipam_pool_set_netmask(t.db, t.dev, IPAM_NETMASK_MAX, 28, &err),
		err);
	assert_ok(ipam_pool_set_netmask(t.db, t.dev, IPAM_NETMASK_DEFAULT, 26,
					&err),
		  err);
	assert_ok(ipam_pool_set_required_tags(t.db, t.dev, tags, 1, &err), err);
	assert_ok(ipam_tag_set(t.db, t.dev_id, "team", "net", &err), err);
	assert_ok(ipam_pool_set_description(t.db, t.dev, "dev pool", &err),
		  err);
	snprintf(want, sizeof(want),
		 "{\n"
		 "  \"IpamPools\": [\n"
		 "    {\n"
		 "      \"OwnerId\": \"%u\",\n"
		 "      \"IpamPoolId\": \"%s\",\n"
		 "      \"SourceIpamPoolId\": \"%s\",\n"
		 "      \"IpamPoolArn\": \"arn:aws:ec2::%u:ipam-pool/%s\",\n"
		 "      \"IpamScopeArn\": \"arn:aws:ec2::%u:ipam-scope/%s\",\n"
		 "      \"IpamScopeType\": \"private\",\n"
		 "      \"IpamArn\": \"arn:aws:ec2::%u:ipam/%s\",\n"
		 "      \"IpamRegion\": \"local\",\n"
		 "      \"Locale\": \"us-east-1\",\n"
		 "      \"PoolDepth\": 3,\n"
		 "      \"State\": \"create-complete\",\n"
		 "      \"Description\": \"dev pool\",\n"
		 "      \"AutoImport\": false,\n"
		 "      \"AddressFamily\": \"ipv4\",\n"
		 "      \"AllocationMinNetmaskLength\": 24,\n"
		 "      \"AllocationMaxNetmaskLength\": 28,\n"
		 "      \"AllocationDefaultNetmaskLength\": 26,\n"
		 "      \"AllocationResourceTags\": [\n"
		 "        {\n"
		 "          \"Key\": \"env\",\n"
		 "          \"Value\": \"dev\"\n"
		 "        }\n"
		 "      ],\n"
		 "      \"Tags\": [\n"
		 "        {\n"
		 "          \"Key\": \"team\",\n"
		 "          \"Value\": \"net\"\n"
		 "        }\n"
		 "      ]\n"
		 "    }\n"
		 "  ]\n"
		 "}\n",
		 info.owner_uid, t.dev_id, t.region_id, info.owner_uid,
		 t.dev_id, info.owner_uid, t.scope_id, info.owner_uid, info.id);
	json = render(t.db, t.dev, VIEW_POOL);
	assert_string_equal(json, want);
	free(json);
	/* a top-level pool has no source; no locale reads "None" */
	json = render(t.db, t.top, VIEW_POOL);
	assert_null(strstr(json, "SourceIpamPoolId"));
	assert_contains(json, "\"Locale\": \"None\",\n");
	assert_null(strstr(json, "NetmaskLength"));
	free(json);
	ipam_free(t.db);
}

static void test_ipam_and_scopes_json(void **state)
{
	ipam *db = open_mem();
	ipam_info info;
	ipam_scope_info priv, pub;
	ipam_err err = {0};
	ipam_discovery_info dflt;
	char want[4096];
	char *json;
	size_t len;
	(void)state;

	mktop(db, "a");
	mktop(db, "b");
	assert_ok(ipam_set_description(db, "lab IPAM", &err), err);
	assert_ok(ipam_info_get(db, &info, &err), err);
	assert_ok(ipam_scope_get(db, "private", &priv, &err), err);
	assert_ok(ipam_scope_get(db, "public", &pub, &err), err);
	assert_ok(ipam_discovery_get(db, "default", &dflt, &err), err);
	snprintf(want, sizeof(want),
		 "{\n"
		 "  \"Ipams\": [\n"
		 "    {\n"
		 "      \"OwnerId\": \"%u\",\n"
		 "      \"IpamId\": \"%s\",\n"
		 "      \"IpamArn\": \"arn:aws:ec2::%u:ipam/%s\",\n"
		 "      \"IpamRegion\": \"local\",\n"
		 "      \"PublicDefaultScopeId\": \"%s\",\n"
		 "      \"PrivateDefaultScopeId\": \"%s\",\n"
		 "      \"ScopeCount\": 2,\n"
		 "      \"Description\": \"lab IPAM\",\n"
		 "      \"OperatingRegions\": [\n"
		 "        {\n"
		 "          \"RegionName\": \"local\"\n"
		 "        }\n"
		 "      ],\n"
		 "      \"State\": \"create-complete\",\n"
		 "      \"Tags\": [],\n"
		 "      \"DefaultResourceDiscoveryId\": \"%s\",\n"
		 "      \"Tier\": \"advanced\",\n"
		 "      \"EnablePrivateGua\": false\n"
		 "    }\n"
		 "  ]\n"
		 "}\n",
		 info.owner_uid, info.id, info.owner_uid, info.id, pub.id,
		 priv.id, dflt.id);
	assert_ok(ipam_render_ipam_json(db, &json, &len, &err), err);
	assert_string_equal(json, want);
	free(json);

	assert_ok(ipam_scope_set_description(db, priv.key, "corp", &err), err);
	assert_ok(ipam_render_scopes_json(db, &json, &len, &err), err);
	snprintf(want, sizeof(want),
		 "    {\n"
		 "      \"OwnerId\": \"%u\",\n"
		 "      \"IpamScopeId\": \"%s\",\n"
		 "      \"IpamScopeArn\": \"arn:aws:ec2::%u:ipam-scope/%s\",\n"
		 "      \"IpamArn\": \"arn:aws:ec2::%u:ipam/%s\",\n"
		 "      \"IpamRegion\": \"local\",\n"
		 "      \"IpamScopeType\": \"private\",\n"
		 "      \"IsDefault\": true,\n"
		 "      \"Description\": \"corp\",\n"
		 "      \"PoolCount\": 2,\n"
		 "      \"State\": \"create-complete\",\n"
		 "      \"Tags\": []\n"
		 "    },\n",
		 info.owner_uid, priv.id, info.owner_uid, priv.id,
		 info.owner_uid, info.id);
	assert_contains(json, want);
	assert_contains(json, "\"IpamScopeType\": \"public\",\n"
			      "      \"IsDefault\": true,\n"
			      "      \"PoolCount\": 0,\n");
	free(json);
	ipam_free(db);
}

static void test_map(void **state)
{
	ipam *db = open_mem();
	int64_t p = mktop(db, "p");
	int64_t c = mkpool(db, scope_key(db, "private"), p, "c");
	char want[1024];
	char *map;
	(void)state;

	prov_ok(db, p, "10.0.0.0/24");
	prov_ok(db, p, "192.168.0.0/30");
	prov_ok(db, c, "10.0.0.128/26");
	alloc_cidr_ok(db, p, "gw", "10.0.0.1/32");
	alloc_cidr_ok(db, p, "last", "192.168.0.3/32");
	snprintf(want, sizeof(want),
		 "10.0.0.0/24 provisioned\n"
		 "  10.0.0.0/32 free\n"
		 "  10.0.0.1/32 custom gw\n"
		 "  10.0.0.2/31 free\n"
		 "  10.0.0.4/30 free\n"
		 "  10.0.0.8/29 free\n"
		 "  10.0.0.16/28 free\n"
		 "  10.0.0.32/27 free\n"
		 "  10.0.0.64/26 free\n"
		 "  10.0.0.128/26 ipam-pool %s %s\n"
		 "  10.0.0.192/26 free\n"
		 "192.168.0.0/30 provisioned\n"
		 "  192.168.0.0/31 free\n"
		 "  192.168.0.2/32 free\n"
		 "  192.168.0.3/32 custom last\n",
		 pool_id(db, c), pool_id(db, c));
	map = render(db, p, VIEW_MAP);
	assert_string_equal(map, want);
	free(map);
	map = render(db, c, VIEW_MAP);
	assert_string_equal(map, "10.0.0.128/26 provisioned\n"
				 "  10.0.0.128/26 free\n");
	free(map);
	ipam_free(db);
}

/* Counts are JSON numbers up to 2^53 - 1 and decimal strings beyond. */
static void test_big_counts(void **state)
{
	ipam *db = open_mem();
	int64_t p52 = mktop(db, "p52"), p44 = mktop(db, "p44");
	int64_t ula = mktop(db, "ula"), priv = scope_key(db, "private");
	int64_t p75, p76;
	ipam_err err = {0};
	char *status, *json;
	(void)state;

	assert_ok(ipam_pool_set_family(db, p52, 6, &err), err);
	assert_ok(ipam_pool_set_family(db, p44, 6, &err), err);
	assert_ok(ipam_pool_set_family(db, ula, 6, &err), err);
	/* ULA top-level CIDRs are /9 to /60: the small ones are children */
	prov_ok(db, ula, "fd02::/16");
	p75 = mkpool(db, priv, ula, "p75");
	p76 = mkpool(db, priv, ula, "p76");
	prov_ok(db, p52, "fd01:1234::/52");
	prov_ok(db, p44, "fd01:ab00::/44");
	prov_ok(db, p75, "fd02:1::/75");
	prov_ok(db, p76, "fd02:2::/76");
	assert_string_equal(alloc_ok(db, p52, "a", 56), "fd01:1234::/56");
	assert_string_equal(alloc_ok(db, p52, "b", 56), "fd01:1234:0:100::/56");

	status = render(db, p52, VIEW_STATUS);
	assert_string_equal(status_value(status, "address-family"), "ipv6");
	assert_string_equal(status_value(status, "total-addresses"),
			    "75557863725914323419136");
	assert_string_equal(status_value(status, "assigned-addresses"),
			    "9444732965739290427392");
	assert_string_equal(status_value(status, "available-addresses"),
			    "66113130760175032991744");
	assert_string_equal(status_value(status, "percent-assigned"), "12.5");
	assert_string_equal(status_value(status, "percent-available"), "87.5");
	assert_string_equal(status_value(status, "largest-free-block"),
			    "fd01:1234:0:800::/53");
	free(status);
	json = render(db, p52, VIEW_STATUS_JSON);
	assert_contains(json,
			"\"total-addresses\": \"75557863725914323419136\",");
	assert_contains(json, "\"assigned-addresses\": "
			      "\"9444732965739290427392\",");
	assert_contains(json, "\"percent-assigned\": 12.5,");
	free(json);

	status = render(db, p44, VIEW_STATUS);
	assert_string_equal(status_value(status, "total-addresses"),
			    "19342813113834066795298816");
	free(status);

	/* 2^53 does not fit a JSON number exactly: a string */
	json = render(db, p75, VIEW_STATUS_JSON);
	assert_contains(json, "\"total-addresses\": \"9007199254740992\",");
	free(json);
	json = render(db, p76, VIEW_STATUS_JSON);
	assert_contains(json, "\"total-addresses\": 4503599627370496,");
	free(json);
	ipam_free(db);
}

/* The list views are written element by element (core/jsonlist.c): byte
 * for byte what jansson writes for the whole document, checked against
 * jansson itself (parse, dump again) on lists of 0, 1 and many elements
 * with nested objects, empty lists inside, escapes and UTF-8. */
static void assert_jansson_layout(const char *doc_text)
{
	json_error_t jerr;
	json_t *doc = json_loads(doc_text, 0, &jerr);
	char *again;
	assert_non_null(doc);
	again = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
					JSON_REAL_PRECISION(15));
	json_decref(doc);
	assert_non_null(again);
	assert_int_equal(strlen(doc_text), strlen(again) + 1);
	assert_memory_equal(doc_text, again, strlen(again));
	assert_string_equal(doc_text + strlen(again), "\n");
	free(again);
}

static void test_list_views_layout(void **state)
{
	tutorial t;
	ipam_err err = {0};
	char *json, *pools;
	size_t len;
	int64_t priv;
	(void)state;

	tutorial_build(&t);
	/* no element: "[]" */
	json = render(t.db, mktop(t.db, "empty"), VIEW_ALLOCATIONS);
	assert_contains(json, "\"IpamPoolAllocations\": []");
	assert_jansson_layout(json);
	free(json);
	/* many, with tags, escapes and UTF-8 in descriptions */
	for (int i = 0; i < 20; i++) {
		char name[16], desc[64];
		ipam_alloc_req req = {.name = name, .prefix_len = 30,
				      .description = desc};
		ipam_alloc_info got;
		snprintf(name, sizeof(name), "a%02d", i);
		snprintf(desc, sizeof(desc), "q\"uote\\ t\u00e9st \u2603 %d", i);
		assert_ok(ipam_alloc_create(t.db, t.dev, &req, &got, &err),
			  err);
		if (i % 3 == 0)
			assert_ok(ipam_tag_set(t.db, got.id, "team", "n\u00e9t",
					       &err),
				  err);
	}
	json = render(t.db, t.dev, VIEW_ALLOCATIONS);
	assert_contains(json, "\\\"uote\\\\ t\u00e9st");
	assert_jansson_layout(json);
	free(json);
	json = render(t.db, t.top, VIEW_CIDRS);
	assert_jansson_layout(json);
	free(json);
	priv = scope_key(t.db, "private");
	assert_ok(ipam_render_scope_pools_json(t.db, priv, &pools, &len, &err),
		  err);
	assert_int_equal(strlen(pools), len);
	assert_jansson_layout(pools);
	free(pools);
	ipam_free(t.db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_top_pool),
		cmocka_unit_test(test_status_region_pool),
		cmocka_unit_test(test_status_dev_pool),
		cmocka_unit_test(test_status_json),
		cmocka_unit_test(test_status_empty_pool),
		cmocka_unit_test(test_status_percent_rounding),
		cmocka_unit_test(test_allocations_json),
		cmocka_unit_test(test_cidrs_json),
		cmocka_unit_test(test_list_views_layout),
		cmocka_unit_test(test_pool_json),
		cmocka_unit_test(test_ipam_and_scopes_json),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_big_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
