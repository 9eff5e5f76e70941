/*
 * test_public.c - the public scope's provider blocks, Elastic IPs, public
 * IPv4 pools, transfer and insights (issue 12 §5-§7; provider.c, eip.c,
 * transfer.c, insights.c): the guide's limits (L838, L9650-L9653, L5991),
 * sequential addresses (L8990), the release and deprovision order
 * (L7000-L7030, L9380), the transfer's refusals (L8338, L8421, L8425) and
 * the insight counts (L3088-L3110), kept as addresses change and checked
 * against a recount (ipam_check) after a long random run of changes.
 */
#include <sqlite3.h>

#include <jansson.h>

#include "watch_fixture.h"

static const char *const regions[] = {"us-east-1", "us-west-2", NULL};

static int64_t pub_scope(ipam *db)
{
	return scope_key(db, "public");
}

static void provider_set(ipam *db, const char *const *cidrs, size_t n)
{
	ipam_err err = {0};
	if (ipam_provider_cidrs_set(db, cidrs, n, &err))
		fail_msg("provider_cidrs_set: %s", err.msg);
}

/* A top-level public pool of `family` with public-ip-source amazon. */
static int64_t amazon_pool(ipam *db, const char *name, int family,
			   const char *locale)
{
	ipam_err err = {0};
	int64_t pool = mkpool(db, pub_scope(db), 0, name);
	if ((family == 6 && ipam_pool_set_family(db, pool, 6, &err)) ||
	    ipam_pool_set_public_ip_source(db, pool, "amazon", &err) ||
	    (locale && ipam_pool_set_locale(db, pool, locale, &err)))
		fail_msg("amazon pool %s: %s", name, err.msg);
	return pool;
}

static const char *by_len(ipam *db, int64_t pool, int len, int want,
			  const char *needle)
{
	static char out[IPAM_CIDR_STRLEN];
	ipam_err err = {0};
	ipam_cidr got;
	int rc = ipam_pool_provision_len(db, pool, len, &got, &err);
	if (rc != want)
		fail_msg("/%d: got %s (%s), expected %s", len,
			 ipam_code_name(rc), err.msg, ipam_code_name(want));
	if (needle && !strstr(err.msg, needle))
		fail_msg("reason '%s' lacks '%s'", err.msg, needle);
	snprintf(out, sizeof(out), "%s", rc ? "" : S(&got));
	return out;
}

/* ---- provider CIDRs ---- */

static void test_provider_set(void **state)
{
	static const char *const good[] = {"2600:1f13::/36", "18.97.0.0/24",
					   "3.0.0.0/16"};
	static const struct {
		const char *cidr, *needle;
	} bad[] = {
		{"10.0.0.0/8", "not global space"},
		{"18.97.0.1/24", "host bits"},
		{"18.97.0.0/33", NULL},
		{"fd12::/16", "not global space"},
		{"", NULL},
	};
	ipam *db = open_watch("us-east-1", regions);
	ipam_strlist list = {0};
	ipam_err err = {0};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_code(ipam_provider_cidrs_set(db, &bad[i].cidr, 1, &err),
			    err, IPAM_EINVAL, bad[i].needle);
	{
		static const char *const overlap[] = {"18.97.0.0/24",
						      "18.97.0.128/25"};
		assert_code(ipam_provider_cidrs_set(db, overlap, 2, &err), err,
			    IPAM_EINVAL,
			    "18.97.0.128/25 overlaps 18.97.0.0/24");
	}
	assert_ok(ipam_provider_cidrs_get(db, &list, &err), err);
	assert_int_equal(list.count, 0);
	provider_set(db, good, 3);
	assert_ok(ipam_provider_cidrs_get(db, &list, &err), err);
	assert_int_equal(list.count, 3);
	assert_string_equal(list.items[0], "3.0.0.0/16");
	assert_string_equal(list.items[1], "18.97.0.0/24");
	assert_string_equal(list.items[2], "2600:1f13::/36");
	ipam_strlist_free(&list);

	/* a set that drops a block a pool holds is refused */
	int64_t pool = amazon_pool(db, "contig", 4, "us-east-1");
	assert_string_equal(by_len(db, pool, 29, 0, NULL), "3.0.0.0/29");
	assert_code(ipam_provider_cidrs_set(db, good, 2, &err), err, IPAM_EBUSY,
		    "3.0.0.0/29 of pool 'contig'");
	close_watch(db);
}

/* The seed's vector 6: /28 refused, /29 and /30 taken, a third block
 * over the quota (L9650-L9651); blocks in address order, skipping what
 * the scope holds. */
static void test_provider_ipv4_blocks(void **state)
{
	static const char *const space[] = {"192.0.2.0/24"};
	ipam *db = open_watch("us-east-1", regions);
	int64_t a = amazon_pool(db, "a", 4, NULL);
	int64_t b = amazon_pool(db, "b", 4, NULL);
	int64_t byoip = mkpool(db, pub_scope(db), 0, "byoip");
	ipam_err err = {0};
	(void)state;

	assert_string_equal(
		by_len(db, a, 29, IPAM_ENOSPC, "none is set for this family"),
		"");
	provider_set(db, space, 1);
	by_len(db, a, 28, IPAM_EINVAL, "must be /29 to /30");
	by_len(db, a, 31, IPAM_EINVAL, "must be /29 to /30");
	assert_code(prov(db, a, "192.0.2.0/29", &err), err, IPAM_EINVAL,
		    "takes a netmask (/LEN), not a CIDR");
	assert_string_equal(by_len(db, a, 30, 0, NULL), "192.0.2.0/30");
	assert_string_equal(by_len(db, b, 29, 0, NULL), "192.0.2.8/29");
	by_len(db, b, 30, IPAM_EDQUOT, "2 Amazon-provided contiguous IPv4");
	/* the limit is a quota: raised, a third block fits; validated */
	assert_code(ipam_quota_set(db, IPAM_QUOTA_PROVIDER_V4_BLOCKS, 0, &err),
		    err, IPAM_EINVAL, "provider-ipv4-blocks must be 1..");
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_PROVIDER_V4_BLOCKS, 3, &err),
		  err);
	assert_string_equal(by_len(db, b, 30, 0, NULL), "192.0.2.4/30");
	by_len(db, b, 30, IPAM_EDQUOT, "provider-ipv4-blocks: 3");
	assert_ok(deprov(db, b, "192.0.2.4/30", &err), err);
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_PROVIDER_V4_BLOCKS, 2, &err),
		  err);
	/* give one back: the lowest free block comes first */
	assert_ok(deprov(db, a, "192.0.2.0/30", &err), err);
	assert_string_equal(by_len(db, b, 30, 0, NULL), "192.0.2.0/30");
	assert_ok(deprov(db, b, "192.0.2.0/30", &err), err);
	assert_ok(deprov(db, b, "192.0.2.8/29", &err), err);
	/* a BYOIP pool holding the start of the space is stepped over */
	prov_ok(db, byoip, "192.0.2.0/24");
	by_len(db, a, 29, IPAM_ENOSPC, "no free /29 for pool 'a'");
	assert_ok(deprov(db, byoip, "192.0.2.0/24", &err), err);
	{
		static const char *const two[] = {"192.0.2.0/24",
						  "198.51.100.0/24"};
		provider_set(db, two, 2);
	}
	prov_ok(db, byoip, "192.0.2.0/24");
	assert_string_equal(by_len(db, a, 29, 0, NULL), "198.51.100.0/29");
	close_watch(db);
}

/* A pending-provision BYOIP CIDR holds no pool CIDR yet, but it holds its
 * space: the provider-block search steps over it as over a provisioned
 * one (two claims cannot meet in one block). */
static void test_provider_steps_over_pending(void **state)
{
	static const char *const space[] = {"192.0.2.0/23"};
	ipam *db = open_watch("us-east-1", regions);
	int64_t a = amazon_pool(db, "a", 4, NULL);
	int64_t byoip = mkpool(db, pub_scope(db), 0, "byoip");
	ipam_cidr pend = C("192.0.2.0/24");
	ipam_byoip_proof none = {NULL, NULL, NULL};
	ipam_err err = {0}, refused = {0};
	ipam_pool_cidr *list = NULL;
	size_t n = 0;
	(void)state;

	provider_set(db, space, 1);
	assert_ok(ipam_pool_provision_proven(db, byoip, &pend, &none, &refused,
					     &err),
		  err);
	assert_ok(ipam_pool_cidrs(db, byoip, &list, &n, &err), err);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].state, "pending-provision");
	free(list);
	assert_string_equal(by_len(db, a, 30, 0, NULL), "192.0.3.0/30");
	assert_string_equal(by_len(db, a, 29, 0, NULL), "192.0.3.8/29");
	close_watch(db);
}

static void test_provider_ipv6_blocks(void **state)
{
	static const char *const space[] = {"2600:1f13::/39"};
	ipam *db = open_watch("us-east-1", regions);
	int64_t nolocale = amazon_pool(db, "n", 6, NULL);
	int64_t west = amazon_pool(db, "west", 6, "us-west-2");
	int64_t east = amazon_pool(db, "east", 6, "us-east-1");
	int64_t third = amazon_pool(db, "third", 6, "us-east-1");
	(void)state;

	provider_set(db, space, 1);
	by_len(db, nolocale, 52, IPAM_EINVAL, "has no locale");
	by_len(db, west, 39, IPAM_EINVAL, "must be /40 to /52");
	by_len(db, west, 53, IPAM_EINVAL, "must be /40 to /52");
	assert_string_equal(by_len(db, west, 52, 0, NULL), "2600:1f13::/52");
	by_len(db, west, 52, IPAM_EDQUOT, "per Regional pool");
	/* the first /40 clear of the /52 */
	assert_string_equal(by_len(db, east, 40, 0, NULL),
			    "2600:1f13:100::/40");
	by_len(db, third, 40, IPAM_ENOSPC, "no free /40");
	assert_string_equal(by_len(db, third, 44, 0, NULL),
			    "2600:1f13:10::/44");
	close_watch(db);
}

/* ---- Elastic IPs ---- */

static const char *eip_ok(ipam *db, const char *source, const char *address,
			  char *id)
{
	static char out[IPAM_CIDR_STRLEN];
	ipam_err err = {0};
	ipam_cidr want, got;
	if (address)
		want = C(address);
	if (ipam_eip_allocate(db, pub_scope(db), source, address ? &want : NULL,
			      false, id, &got, &err))
		fail_msg("eip_allocate %s: %s", source, err.msg);
	snprintf(out, sizeof(out), "%s", S(&got));
	return out;
}

static int eip_fail(ipam *db, const char *source, const char *address,
		    ipam_err *err)
{
	char id[IPAM_RESOURCE_ID_MAX + 1];
	ipam_cidr want, got;
	if (address)
		want = C(address);
	return ipam_eip_allocate(db, pub_scope(db), source,
				 address ? &want : NULL, false, id, &got, err);
}

/* The seed's vector 5: sequential /32s from 192.0.2.0/30, then ENOSPC
 * (L8990, L5643: the network and broadcast addresses too). */
static void test_eip_sequential(void **state)
{
	static const char *const space[] = {"192.0.2.0/30"};
	ipam *db = open_watch("us-east-1", regions);
	int64_t pool = amazon_pool(db, "contig", 4, "us-east-1");
	char id[IPAM_RESOURCE_ID_MAX + 1], pid[IPAM_ID_MAX];
	ipam_err err = {0};
	(void)state;

	provider_set(db, space, 1);
	by_len(db, pool, 30, 0, NULL);
	snprintf(pid, sizeof(pid), "%s", pool_id(db, pool));
	assert_string_equal(eip_ok(db, pid, NULL, id), "192.0.2.0/32");
	assert_true(!strncmp(id, "eipalloc-", 9));
	{
		ipam_resource_info r =
			res_info(db, res_key(db, pub_scope(db), id));
		assert_string_equal(r.type, "eip");
		assert_string_equal(r.locale, "us-east-1");
	}
	assert_string_equal(eip_ok(db, pid, NULL, id), "192.0.2.1/32");
	assert_string_equal(eip_ok(db, pid, "192.0.2.3/32", id),
			    "192.0.2.3/32");
	assert_string_equal(eip_ok(db, pid, NULL, id), "192.0.2.2/32");
	assert_code(eip_fail(db, pid, NULL, &err), err, IPAM_ENOSPC, NULL);
	assert_code(eip_fail(db, pid, "192.0.2.0/31", &err), err, IPAM_EINVAL,
		    "one IPv4 address (/32)");
	assert_code(eip_fail(db, "vpc-0123", NULL, &err), err, IPAM_EINVAL,
		    "(ipam-pool-...) or a public IPv4 pool id");
	assert_int_equal(usage(db, pool).assigned, 4);
	close_watch(db);
}

/* The seed's vector 7: a public IPv4 pool takes /24 to /32 (L5991); its
 * address counts are 256, then 255 after one EIP (L6014, L6040). */
static void test_public_ipv4_pool(void **state)
{
	ipam *db = open_watch("us-east-1", regions);
	int64_t pub = pub_scope(db);
	int64_t byoip = mkpool(db, pub, 0, "byoip");
	int64_t pv, eip;
	char id[IPAM_RESOURCE_ID_MAX + 1], *out = NULL;
	ipam_cidr want = C("198.51.100.0/23"), got;
	ipam_err err = {0};
	size_t len = 0;
	(void)state;

	pool_locale(db, byoip, "us-east-1");
	prov_ok(db, byoip, "198.51.100.0/23");
	pv = res_make(db, pub, "ipv4pool-ec2-0123", NULL, "us-east-1", NULL,
		      NULL, NULL);
	assert_code(ipam_resource_allocate(db, pv, byoip, NULL, 23, &got, &err),
		    err, IPAM_EINVAL, "takes /24 to /32 (L5991)");
	assert_code(
		ipam_resource_allocate(db, pv, byoip, &want, -1, &got, &err),
		err, IPAM_EINVAL, "not a /23");
	assert_string_equal(res_alloc_ok(db, pv, byoip, NULL, 24),
			    "198.51.100.0/24");
	assert_string_equal(res_alloc_ok(db, pv, byoip, NULL, 27),
			    "198.51.101.0/27");
	assert_ok(ipam_render_public_ipv4_pools_json(db, pub, &out, &len, &err),
		  err);
	assert_non_null(strstr(out, "\"TotalAddressCount\": 288"));
	assert_non_null(strstr(out, "\"TotalAvailableAddressCount\": 288"));
	free(out);
	assert_string_equal(eip_ok(db, "ipv4pool-ec2-0123", NULL, id),
			    "198.51.100.0/32");
	eip = res_key(db, pub, id);
	assert_ok(ipam_render_public_ipv4_pools_json(db, pub, &out, &len, &err),
		  err);
	assert_non_null(strstr(out,
			       "\"AddressCount\": 256,\n"
			       "          \"AvailableAddressCount\": 255"));
	free(out);
	assert_string_equal(
		eip_ok(db, "ipv4pool-ec2-0123", "198.51.101.31/32", id),
		"198.51.101.31/32");
	assert_code(eip_fail(db, "ipv4pool-ec2-0123", "198.51.101.31/32", &err),
		    err, IPAM_EADDRINUSE, "is Elastic IP");
	assert_code(eip_fail(db, "ipv4pool-ec2-0123", "198.51.101.32/32", &err),
		    err, IPAM_EADDRNOTAVAIL, "not in public IPv4 pool");
	assert_string_equal(eip_ok(db, "ipv4pool-ec2-0123", NULL, id),
			    "198.51.100.1/32");

	/* release order: disassociate, release, deprovision (L7000-L7030) */
	assert_code(ipam_resource_set(db, eip, IPAM_RESOURCE_ASSOCIATION,
				      "vpc-1", &err),
		    err, IPAM_EINVAL,
		    "instance (i-...) or a network interface");
	assert_code(ipam_resource_set(db, pv, IPAM_RESOURCE_ASSOCIATION, "i-1",
				      &err),
		    err, IPAM_EINVAL, "association applies to Elastic IPs");
	res_set(db, eip, IPAM_RESOURCE_ASSOCIATION, "eni-0a1");
	assert_string_equal(res_info(db, eip).association, "eni-0a1");
	assert_code(ipam_resource_delete(db, eip, &err), err, IPAM_EBUSY,
		    "associated with 'eni-0a1'");
	{
		ipam_cidr block = C("198.51.100.0/24");
		assert_code(ipam_resource_cidr_remove(db, pv, &block, &err),
			    err, IPAM_EBUSY, "(198.51.100.0/32) is inside it");
	}
	assert_code(ipam_resource_delete(db, pv, &err), err, IPAM_EBUSY,
		    "release it first");
	assert_code(deprov(db, byoip, "198.51.100.0/23", &err), err, IPAM_EBUSY,
		    NULL);
	res_set(db, eip, IPAM_RESOURCE_ASSOCIATION, "");
	res_del(db, eip);
	close_watch(db);
}

/* ---- transfer ---- */

static void test_transfer(void **state)
{
	ipam *db = open_watch("us-east-1", regions);
	int64_t pub = pub_scope(db);
	int64_t top = mkpool(db, pub, 0, "top");
	int64_t child, east, pv;
	ipam_cidr cidr = C("130.137.249.0/24"), six = C("2600:1f13::/48");
	char id[IPAM_RESOURCE_ID_MAX + 1], tid[IPAM_ID_MAX];
	ipam_err err = {0};
	(void)state;

	pool_locale(db, top, "us-west-2");
	snprintf(tid, sizeof(tid), "%s", pool_id(db, top));
	pv = res_make(db, pub, "ipv4pool-ec2-0019", NULL, "us-west-2", NULL,
		      NULL, NULL);
	res_cidr(db, pv, "130.137.249.0/24");
	eip_ok(db, "ipv4pool-ec2-0019", "130.137.249.255/32", id);
	assert_code(ipam_byoip_move_to_ipam(db, pub, &cidr, tid, false, &err),
		    err, IPAM_EINVAL, "aws-service must be ec2 (L8425)");
	assert_ok(ipam_pool_set_aws_service(db, top, "ec2", &err), err);
	prov_ok(db, top, "198.51.100.0/24");
	child = mkpool(db, pub, top, "regional");
	assert_code(ipam_byoip_move_to_ipam(db, pub, &cidr, pool_id(db, child),
					    false, &err),
		    err, IPAM_EINVAL, "only to a top-level pool (L8421)");
	east = mkpool(db, pub, 0, "east");
	pool_locale(db, east, "us-east-1");
	assert_ok(ipam_pool_set_aws_service(db, east, "ec2", &err), err);
	assert_code(ipam_byoip_move_to_ipam(db, pub, &cidr, pool_id(db, east),
					    false, &err),
		    err, IPAM_EINVAL, "is in 'us-west-2' (L8421)");
	assert_code(ipam_byoip_move_to_ipam(db, pub, &six, tid, false, &err),
		    err, IPAM_EINVAL,
		    "IPv6 CIDR cannot be moved to IPAM (L8338)");
	{
		ipam_cidr other = C("130.137.250.0/24");
		assert_code(ipam_byoip_move_to_ipam(db, pub, &other, tid, false,
						    &err),
			    err, IPAM_ENOENT, "no public IPv4 pool");
	}
	assert_code(ipam_byoip_move_to_ipam(db, scope_key(db, "private"), &cidr,
					    tid, false, &err),
		    err, IPAM_EINVAL, "public scope");
	assert_int_equal(usage(db, top).total, 256);

	assert_ok(ipam_byoip_move_to_ipam(db, pub, &cidr, tid, false, &err),
		  err);
	assert_int_equal(usage(db, top).total, 512);
	assert_int_equal(usage(db, top).assigned, 256);
	assert_string_equal(rc_state(db, pv, "130.137.249.0/24"),
			    "managed compliant nonoverlapping");
	assert_true(res_exists(db, pub, id)); /* its EIP stays */
	assert_code(ipam_byoip_move_to_ipam(db, pub, &cidr, tid, false, &err),
		    err, IPAM_EEXIST, "in IPAM already");
	assert_code(deprov(db, top, "130.137.249.0/24", &err), err, IPAM_EBUSY,
		    NULL);
	close_watch(db);
}

/* ---- insights ---- */

/* The export with eipalloc-0aa's AddressType and Service set as given,
 * imported into a new IPAM: the code; on success *summary is its public
 * IP summary. */
static int import_typed(const char *doc, const char *type, const char *svc,
			char **summary, ipam_err *err)
{
	json_t *root = json_loads(doc, 0, NULL), *r;
	ipam_open_opts opts = fixture_opts();
	ipam_import_result res;
	size_t i, len;
	char *body;
	ipam *copy;
	int rc;
	assert_non_null(root);
	json_array_foreach(json_object_get(root, "IpamResources"), i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "ResourceId")),
			   "eipalloc-0aa"))
			continue;
		json_object_set_new(r, "AddressType", json_string(type));
		json_object_set_new(r, "Service", json_string(svc));
	}
	body = json_dumps(root, 0);
	json_decref(root);
	opts.id_seed = FIXTURE_SEED + 1;
	copy = fixture_open(opts);
	memset(&res, 0, sizeof(res));
	rc = ipam_import(copy, body, strlen(body), false, &res, err);
	ipam_import_result_free(&res); /* a refused import's too */
	if (rc == 0) {
		assert_ok(ipam_render_public_ip_summary(copy, pub_scope(copy),
							false, summary, &len,
							err),
			  *err);
	} else {
		ipam_strlist ids = {0};
		ipam_err e = {0};
		assert_ok(ipam_resource_list(copy, pub_scope(copy), &ids, &e),
			  e);
		assert_int_equal(ids.count, 0); /* nothing applied */
		ipam_strlist_free(&ids);
	}
	free(body);
	ipam_free(copy);
	return rc;
}

/* What a feed said of an address (AddressType, Service) goes through
 * export and import, checked word by word. */
static void import_address_type(ipam *db)
{
	ipam_err err = {0};
	char *doc = NULL, *out = NULL;
	size_t len;
	assert_ok(ipam_export_json(db, &doc, &len, &err), err);
	assert_ok(import_typed(doc, "service-managed-ip", "nat-gateway", &out,
			       &err),
		  err);
	assert_non_null(strstr(out, "amazon-owned-eips=0\n"));
	assert_non_null(strstr(out, "service-managed-ips=1\n"));
	free(out);
	assert_code(import_typed(doc, "bogus", "", &out, &err), err,
		    IPAM_EINVAL, "AddressType 'bogus' is not byoip");
	assert_code(import_typed(doc, "byoip", "coffee", &out, &err), err,
		    IPAM_EINVAL, "Service 'coffee' is not");
	assert_code(import_typed(doc, "byoip\nx", "", &out, &err), err,
		    IPAM_EINVAL, NULL);
	free(doc);
}

static void test_summary_counts(void **state)
{
	static const char *const space[] = {"192.0.2.0/29"};
	ipam *db = open_watch("us-east-1", regions);
	int64_t pub = pub_scope(db);
	int64_t pool = amazon_pool(db, "contig", 4, "us-east-1");
	int64_t eni, manual;
	char id[IPAM_RESOURCE_ID_MAX + 1], pid[IPAM_ID_MAX], *out = NULL;
	ipam_err err = {0};
	size_t len = 0;
	(void)state;

	provider_set(db, space, 1);
	by_len(db, pool, 29, 0, NULL);
	snprintf(pid, sizeof(pid), "%s", pool_id(db, pool));
	eip_ok(db, pid, NULL, id);
	res_set(db, res_key(db, pub, id), IPAM_RESOURCE_ASSOCIATION, "i-1");
	eip_ok(db, pid, NULL, id);
	/* an EIP registered by hand: Amazon-owned */
	manual = res_make(db, pub, "eipalloc-0aa", NULL, "us-east-1", NULL,
			  NULL, NULL);
	res_cidr(db, manual, "3.5.0.1/32");
	/* an interface's own public address: an EC2 public IP */
	eni = res_make(db, pub, "eni-0bb", NULL, "us-east-1", NULL, NULL, NULL);
	res_cidr(db, eni, "3.6.0.1/32");
	assert_ok(
		ipam_render_public_ip_summary(db, pub, false, &out, &len, &err),
		err);
	assert_text(out, "amazon-owned-eips=1\n"
			 "ec2-public-ips=1\n"
			 "byoip=0\n"
			 "service-managed-ips=0\n"
			 "service-managed-byoip=0\n"
			 "amazon-owned-contiguous-eips=2\n"
			 "associated-amazon-owned-eips=0\n"
			 "unassociated-amazon-owned-eips=1\n"
			 "associated-byoip=0\n"
			 "unassociated-byoip=0\n"
			 "associated-amazon-owned-contiguous-eips=1\n"
			 "unassociated-amazon-owned-contiguous-eips=1\n");
	free(out);
	assert_ok(ipam_render_public_addresses_json(db, pub, &out, &len, &err),
		  err);
	assert_non_null(strstr(out, "\"AddressType\": \"ec2-public-ip\""));
	assert_non_null(strstr(out, "\"OldestSampleTime\""));
	free(out);
	assert_ok(ipam_render_metrics(db, &out, &len, &err), err);
	assert_non_null(strstr(out, "ipam_amazon_owned_contig_ips{"));
	assert_non_null(strstr(out, ",region=\"us-east-1\"} 1\n"));
	free(out);
	import_address_type(db);
	close_watch(db);
}

/* ---- the kept counts against a recount ---- */

static uint64_t rnd_state;

static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((rnd_state >> 33) % n);
}

/* ipam_check compares the kept counts (public_count) of every scope with
 * a recount by the address walk; a drift is IPAM_EIO. */
static void counts_agree(ipam *db, unsigned step, const char *op)
{
	ipam_err err = {0};
	if (ipam_check(db, &err))
		fail_msg("step %u (%s): %s", step, op, err.msg);
}

/* One describe-addresses + describe-network-interfaces snapshot of a few
 * random EIPs (some service managed, some of a public IPv4 pool) and
 * interfaces with a public address (some an EIP). */
static char *random_feed(void)
{
	static const char *const managed[] = {"", "alb", "nat-gateway"};
	static const char *const pools[] = {"", "amazon", "ipv4pool-ec2-0999"};
	size_t cap = 8192, len = 0;
	char *doc = malloc(cap);
	unsigned n = rnd(4), m = rnd(4);

	assert_non_null(doc);
	len += (size_t)snprintf(doc + len, cap - len, "{\"Addresses\": [");
	for (unsigned i = 0; i < n; i++) {
		unsigned a = rnd(8);
		const char *sm = managed[rnd(3)], *pool = pools[rnd(3)];
		len += (size_t)snprintf(
			doc + len, cap - len,
			"%s{\"PublicIp\": \"3.7.0.%u\", \"AllocationId\":"
			" \"eipalloc-f%u\", \"Domain\": \"vpc\","
			" \"NetworkBorderGroup\": \"%s\"%s%s%s%s%s%s%s}",
			i ? ", " : "", a, a, rnd(2) ? "us-east-1" : "us-west-2",
			rnd(2) ? ", \"InstanceId\": \"i-0f1\"" : "",
			*sm ? ", \"ServiceManaged\": \"" : "", sm,
			*sm ? "\"" : "",
			*pool ? ", \"PublicIpv4Pool\": \"" : "", pool,
			*pool ? "\"" : "");
	}
	len += (size_t)snprintf(doc + len, cap - len,
				"], \"NetworkInterfaces\": [");
	for (unsigned i = 0; i < m; i++) {
		unsigned e = rnd(6);
		bool eip = rnd(3) == 0;
		char alloc[48] = "";
		if (eip)
			snprintf(alloc, sizeof(alloc),
				 ", \"AllocationId\": \"eipalloc-g%u\"", e);
		len += (size_t)snprintf(
			doc + len, cap - len,
			"%s{\"NetworkInterfaceId\": \"eni-f%u\","
			" \"AvailabilityZone\": \"%s\", \"VpcId\": \"vpc-0f1\","
			" \"InterfaceType\": \"%s\", \"PrivateIpAddresses\":"
			" [{\"PrivateIpAddress\": \"10.9.0.%u\"}],"
			" \"Association\": {\"PublicIp\": \"3.8.0.%u\","
			" \"IpOwnerId\": \"amazon\"%s}}",
			i ? ", " : "", e, rnd(2) ? "us-east-1a" : "us-west-2b",
			rnd(2) ? "interface" : "nat_gateway", e, e, alloc);
	}
	snprintf(doc + len, cap - len, "]}");
	return doc;
}

/*
 * The kept insight counts after a long random run of every change that
 * moves them: EIPs allocated from an Amazon-provided contiguous pool, a
 * BYOIP pool and two public IPv4 pools, or registered by hand; interfaces
 * with public addresses; associations; removals; CIDRs added and removed
 * (a public IPv4 pool's CIDR turns the EIPs in it into BYOIP ones); a
 * pool's public IP source; discovery snapshots that add, change (service
 * managed, pool) and remove EIPs and interfaces; an export imported into
 * a new IPAM. After every step the counts equal a recount, failed steps
 * included (they change nothing).
 */
static void test_kept_counts_random(void **state)
{
	static const char *const space[] = {"192.0.2.0/29"};
	static const char *const assoc[] = {"", "i-0a1", "eni-0a2"};
	static const char *const op_names[] = {
		"eip contig",  "eip byoip pool", "eip pv",     "eip pv2",
		"eip by hand", "interface",	 "associate",  "remove",
		"pv2 cidr",    "locale",	 "iface cidr", "feed",
		"pool source",
	};
	ipam *db = open_watch("us-east-1", regions);
	int64_t pub = pub_scope(db);
	int64_t contig = amazon_pool(db, "contig", 4, "us-east-1");
	int64_t byoip = mkpool(db, pub, 0, "byoip");
	int64_t pv, pv2;
	char ids[256][IPAM_RESOURCE_ID_MAX + 1], contig_id[IPAM_ID_MAX],
		byoip_id[IPAM_ID_MAX], *out = NULL;
	size_t nids = 0, len = 0;
	unsigned done = 0, seq = 0;
	ipam_err err = {0};
	(void)state;

	rnd_state = getenv("IPAM_TEST_SEED")
			    ? strtoull(getenv("IPAM_TEST_SEED"), NULL, 10)
			    : 12;
	provider_set(db, space, 1);
	by_len(db, contig, 29, 0, NULL);
	snprintf(contig_id, sizeof(contig_id), "%s", pool_id(db, contig));
	pool_locale(db, byoip, "us-east-1");
	prov_ok(db, byoip, "198.51.100.0/23");
	snprintf(byoip_id, sizeof(byoip_id), "%s", pool_id(db, byoip));
	pv = res_make(db, pub, "ipv4pool-ec2-0123", NULL, "us-east-1", NULL,
		      NULL, NULL);
	res_alloc_ok(db, pv, byoip, "198.51.100.0/26", -1);
	/* its CIDRs come later, over EIPs registered by hand */
	pv2 = res_make(db, pub, "ipv4pool-ec2-0456", NULL, "us-west-2", NULL,
		       NULL, NULL);
	counts_agree(db, 0, "setup");

	for (unsigned step = 1; step <= 600; step++) {
		unsigned op = rnd(13);
		char id[IPAM_RESOURCE_ID_MAX + 1] = "";
		int64_t key = 0;
		ipam_cidr c, got;
		int rc = 0;
		if (op == 8 && step < 100) /* EIPs by hand first */
			op = 4;
		memset(&err, 0, sizeof(err));
		switch (op) {
		case 0:
		case 1:
		case 2:
		case 3: {
			const char *src = op == 0   ? contig_id
					  : op == 1 ? byoip_id
					  : op == 2 ? "ipv4pool-ec2-0123"
						    : "ipv4pool-ec2-0456";
			rc = ipam_eip_allocate(db, pub, src, NULL, false, id,
					       &got, &err);
			break;
		}
		case 4: {
			static const char *const nets[] = {"3.5.0", "203.0.113",
							   "203.0.113"};
			char cidr[32];
			snprintf(id, sizeof(id), "eipalloc-h%u", seq++);
			snprintf(cidr, sizeof(cidr), "%s.%u/32", nets[rnd(3)],
				 rnd(32));
			c = C(cidr);
			if ((rc = ipam_resource_create(db, pub, id, NULL, &key,
						       &err)) == 0) {
				if (rnd(2))
					rc = ipam_resource_set(
						db, key, IPAM_RESOURCE_LOCALE,
						"us-west-2", &err);
				if (rc == 0)
					rc = ipam_resource_cidr_add(db, key, &c,
								    &err);
			}
			break;
		}
		case 5: {
			snprintf(id, sizeof(id), "eni-h%u", seq++);
			rc = ipam_resource_create(db, pub, id, NULL, &key,
						  &err);
			for (unsigned k = rnd(3) + 1; rc == 0 && k; k--) {
				char cidr[32];
				snprintf(cidr, sizeof(cidr), "3.6.%u.%u/32",
					 rnd(4), rnd(64));
				c = C(cidr);
				rc = ipam_resource_cidr_add(db, key, &c, &err);
				if (rc == IPAM_EEXIST)
					rc = 0;
			}
			break;
		}
		case 6:
		case 7:
		case 9:
		case 10:
			if (!nids || ipam_resource_lookup(
					     db, pub, ids[rnd((unsigned)nids)],
					     &key, NULL))
				break;
			if (op == 6)
				rc = ipam_resource_set(
					db, key, IPAM_RESOURCE_ASSOCIATION,
					assoc[rnd(3)], &err);
			else if (op == 7) {
				if (rnd(2))
					ipam_resource_set(
						db, key,
						IPAM_RESOURCE_ASSOCIATION, "",
						NULL);
				rc = ipam_resource_delete(db, key, &err);
			} else if (op == 9)
				rc = ipam_resource_set(
					db, key, IPAM_RESOURCE_LOCALE,
					rnd(2) ? "us-east-1" : "us-west-2",
					&err);
			else if (rnd(2)) {
				char cidr[32];
				snprintf(cidr, sizeof(cidr), "3.6.%u.%u/32",
					 rnd(4), rnd(64));
				c = C(cidr);
				rc = ipam_resource_cidr_add(db, key, &c, &err);
			} else { /* one of its CIDRs */
				ipam_resource_cidr *list = NULL;
				size_t n = 0;
				rc = ipam_resource_cidrs(db, key, &list, &n,
							 &err);
				if (rc == 0 && n)
					rc = ipam_resource_cidr_remove(
						db, key,
						&list[rnd((unsigned)n)].cidr,
						&err);
				free(list);
			}
			break;
		case 8:
			c = C(rnd(2) ? "203.0.113.0/28" : "203.0.113.16/28");
			rc = ipam_resource_cidr_add(db, pv2, &c, &err);
			if (rc == IPAM_EEXIST)
				rc = ipam_resource_cidr_remove(db, pv2, &c,
							       &err);
			break;
		case 11: {
			char *doc = random_feed();
			rc = ipam_discovery_feed(db, "default", doc,
						 strlen(doc), &err);
			free(doc);
			break;
		}
		case 12:
			rc = ipam_pool_set_public_ip_source(
				db, byoip, rnd(2) ? "amazon" : "byoip", &err);
			break;
		}
		if (rc == 0)
			done++;
		if (rc == 0 && *id && nids < 256)
			snprintf(ids[nids++], sizeof(ids[0]), "%s", id);
		counts_agree(db, step, op_names[op]);
	}
	/* most steps did something; the run ends with addresses counted */
	assert_true(done > 300);
	assert_ok(
		ipam_render_public_ip_summary(db, pub, false, &out, &len, &err),
		err);
	{
		unsigned kinds = 0;
		for (char *line = out; line && *line;
		     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
			if (strncmp(strchr(line, '='), "=0\n", 3))
				kinds++;
		assert_true(kinds >= 4); /* of the summary's 12 lines */
	}
	free(out);

	/* an export imported into a new IPAM (another id seed: the import
	 * keeps the document's ids) is counted as it is written, and counts
	 * the same as the original: the export carries what a feed said of
	 * an address (AddressType, Service) */
	{
		ipam_open_opts opts = fixture_opts();
		ipam_import_result res;
		char *doc = NULL, *want = NULL;
		ipam *copy;
		memset(&err, 0, sizeof(err));
		assert_ok(ipam_render_public_ip_summary(db, pub, false, &want,
							&len, &err),
			  err);
		assert_ok(ipam_export_json(db, &doc, &len, &err), err);
		close_watch(db);
		opts.id_seed = FIXTURE_SEED + 1;
		copy = fixture_open(opts);
		assert_ok(
			ipam_import(copy, doc, strlen(doc), false, &res, &err),
			err);
		ipam_import_result_free(&res);
		counts_agree(copy, 601, "import");
		assert_ok(ipam_render_public_ip_summary(copy, pub_scope(copy),
							false, &out, &len,
							&err),
			  err);
		assert_null(strstr(out, "ec2-public-ips=0\n"));
		assert_string_equal(out, want);
		free(out);
		free(want);
		free(doc);
		ipam_free(copy);
	}
}

/* A drift (here a count changed behind libipam's back) is what ipam_check
 * reports, naming the scope. */
static void test_kept_counts_drift(void **state)
{
	char dir[64], path[128];
	ipam *db;
	ipam_err err = {0};
	sqlite3 *s = NULL;
	int64_t eni;
	(void)state;

	tmp_dir(dir);
	snprintf(path, sizeof(path), "%s/drift.db", dir);
	db = open_file(path, true);
	eni = res_make(db, scope_key(db, "public"), "eni-0bb", NULL,
		       "us-east-1", NULL, NULL, "3.6.0.1/32", NULL);
	(void)eni;
	assert_ok(ipam_check(db, &err), err);
	ipam_free(db);
	assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
	assert_int_equal(sqlite3_exec(s, "UPDATE public_count SET n = n + 1",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(s);
	db = open_file(path, false);
	assert_code(ipam_check(db, &err), err, IPAM_EIO,
		    "drifted from a recount");
	ipam_free(db);
	tmp_dir_remove(dir);
}

/* Inside an explicit transaction a read sees the transaction's own
 * changes; a rollback takes them back, marks included. */
static void test_kept_counts_in_transaction(void **state)
{
	ipam *db = open_watch("us-east-1", regions);
	int64_t pub = pub_scope(db);
	ipam_actor who = {.uid = 0, .gid = 0, .pid = 1};
	ipam_err err = {0};
	char *out = NULL;
	size_t len = 0;
	(void)state;

	for (int commit = 0; commit < 2; commit++) {
		assert_ok(ipam_txn_begin(db, &who, &err), err);
		res_make(db, pub, commit ? "eni-0c" : "eni-0r", NULL,
			 "us-east-1", NULL, NULL, "3.6.0.1/32", "3.6.0.2/32",
			 NULL);
		assert_ok(ipam_render_public_ip_summary(db, pub, false, &out,
							&len, &err),
			  err);
		assert_non_null(strstr(out, "ec2-public-ips=2\n"));
		free(out);
		if (commit)
			assert_ok(ipam_txn_commit(db, &err), err);
		else
			ipam_txn_rollback(db);
		assert_ok(ipam_render_public_ip_summary(db, pub, false, &out,
							&len, &err),
			  err);
		assert_non_null(strstr(out, commit ? "ec2-public-ips=2\n"
						   : "ec2-public-ips=0\n"));
		free(out);
		assert_ok(ipam_check(db, &err), err);
	}
	close_watch(db);
}

/* A file from before the kept counts (the version before the last) gets
 * them at open: the migration marks every EIP and interface and migrate()
 * settles them (the backfill). */
static void test_kept_counts_backfill(void **state)
{
	static const char *const space[] = {"192.0.2.0/29"};
	char dir[64], path[128], id[IPAM_RESOURCE_ID_MAX + 1], pid[IPAM_ID_MAX],
		*before = NULL, *after = NULL;
	ipam_open_opts opts = fixture_opts();
	ipam *db = NULL;
	ipam_err err = {0};
	sqlite3 *s = NULL;
	size_t len = 0;
	int64_t pool;
	(void)state;

	tmp_dir(dir);
	snprintf(path, sizeof(path), "%s/v13.db", dir);
	opts.home_locale = "us-east-1";
	assert_ok(ipam_open(&db, path, &opts, &err), err);
	assert_ok(ipam_set_tier(db, IPAM_TIER_ADVANCED, &err), err);
	pool = amazon_pool(db, "contig", 4, "us-east-1");
	provider_set(db, space, 1);
	by_len(db, pool, 29, 0, NULL);
	snprintf(pid, sizeof(pid), "%s", pool_id(db, pool));
	eip_ok(db, pid, NULL, id);
	res_set(db, res_key(db, pub_scope(db), id), IPAM_RESOURCE_ASSOCIATION,
		"i-1");
	eip_ok(db, pid, NULL, id);
	res_make(db, pub_scope(db), "eni-0bb", NULL, "us-east-1", NULL, NULL,
		 "3.6.0.1/32", "3.6.0.2/32", NULL);
	assert_ok(ipam_render_public_ip_summary(db, pub_scope(db), false,
						&before, &len, &err),
		  err);
	assert_non_null(strstr(before, "ec2-public-ips=2\n"));
	assert_non_null(strstr(before, "\namazon-owned-contiguous-eips=2\n"));
	ipam_free(db);
	assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(s,
			     "DROP TRIGGER public_res_i; DROP TRIGGER"
			     " public_res_u; DROP TRIGGER public_res_d;"
			     " DROP TRIGGER public_cidr_i; DROP TRIGGER"
			     " public_cidr_u; DROP TRIGGER public_cidr_d;"
			     " DROP TRIGGER public_pool_u; DROP TABLE"
			     " public_dirty; DROP TABLE public_part;"
			     " DROP TABLE public_count;",
			     NULL, NULL, NULL),
		SQLITE_OK);
	{ /* the version before the kept counts' migration (the last) */
		sqlite3_stmt *st = NULL;
		char set[64];
		assert_int_equal(sqlite3_prepare_v2(s, "PRAGMA user_version",
						    -1, &st, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		snprintf(set, sizeof(set), "PRAGMA user_version = %d",
			 sqlite3_column_int(st, 0) - 1);
		sqlite3_finalize(st);
		assert_int_equal(sqlite3_exec(s, set, NULL, NULL, NULL),
				 SQLITE_OK);
	}
	sqlite3_close(s);
	opts.create = false;
	db = NULL;
	assert_ok(ipam_open(&db, path, &opts, &err), err);
	assert_ok(ipam_check(db, &err), err);
	assert_ok(ipam_render_public_ip_summary(db, pub_scope(db), false,
						&after, &len, &err),
		  err);
	assert_string_equal(after, before);
	free(before);
	free(after);
	ipam_free(db);
	tmp_dir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_provider_set, watch_teardown),
		cmocka_unit_test_teardown(test_provider_ipv4_blocks,
					  watch_teardown),
		cmocka_unit_test_teardown(test_provider_steps_over_pending,
					  watch_teardown),
		cmocka_unit_test_teardown(test_provider_ipv6_blocks,
					  watch_teardown),
		cmocka_unit_test_teardown(test_eip_sequential, watch_teardown),
		cmocka_unit_test_teardown(test_public_ipv4_pool,
					  watch_teardown),
		cmocka_unit_test_teardown(test_transfer, watch_teardown),
		cmocka_unit_test_teardown(test_summary_counts, watch_teardown),
		cmocka_unit_test_teardown(test_kept_counts_random,
					  watch_teardown),
		cmocka_unit_test_teardown(test_kept_counts_in_transaction,
					  watch_teardown),
		cmocka_unit_test(test_kept_counts_drift),
		cmocka_unit_test(test_kept_counts_backfill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
