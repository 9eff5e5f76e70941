/*
 * test_history.c - IP address history (SPEC §7, L2989-L3063, L4904-L5275):
 * the scenarios of the guide's CLI tutorial replayed on a hand-moved
 * clock, exact matching, time windows, "active now", the text and JSON
 * forms, records split by status changes, retention and its purge.
 */
#include "watch_fixture.h"

static const char *const locales[] = {"us-east-1", "us-east-2", "us-west-2",
				      NULL};

#define HEADER                                                                 \
	"SampledStartTime SampledEndTime ResourceCidr ResourceType "           \
	"ResourceId ResourceRegion ResourceOwnerId VpcId "                     \
	"ResourceComplianceStatus ResourceOverlapStatus ResourceName\n"

#define OWNER "123456789012"
#define VPC "vpc-0f5ee7e1ba908a378"

typedef struct tutorial {
	ipam *db;
	int64_t priv, top, use1;
} tutorial;

/*
 * Scenarios 1, 2, 5, 6, 7: at 2021-12-27T20:08:46Z a subnet and a VPC hold
 * 10.2.1.0/24 (the VPC allocated from a us-east-1 pool), a network
 * interface and an instance 10.2.1.155/32. The clock then reads
 * 2021-12-28T00:00:00Z.
 */
static tutorial tutorial_setup(void)
{
	tutorial t;
	int64_t vpc;

	t.db = open_watch("us-east-1", locales);
	t.priv = scope_key(t.db, "private");
	clock_now = T("2021-12-20T00:00:00Z");
	t.top = mktop(t.db, "top");
	prov_ok(t.db, t.top, "10.0.0.0/8");
	t.use1 = mkpool(t.db, t.priv, t.top, "use1");
	pool_locale(t.db, t.use1, "us-east-1");
	prov_ok(t.db, t.use1, "10.2.0.0/16");

	clock_now = T("2021-12-27T20:08:46Z");
	res_make(t.db, t.priv, "subnet-0864c82a42f5bffed", OWNER, "us-east-1",
		 VPC, NULL, "10.2.1.0/24", NULL);
	vpc = res_make(t.db, t.priv, VPC, OWNER, "us-east-1", NULL, NULL, NULL);
	res_alloc_ok(t.db, vpc, t.use1, "10.2.1.0/24", -1);
	res_make(t.db, t.priv, "eni-0b4e53eb1733aba16", OWNER, "us-east-1", VPC,
		 NULL, "10.2.1.155/32", NULL);
	res_make(t.db, t.priv, "i-064da1f79baed14f3", OWNER, "us-east-1", VPC,
		 NULL, "10.2.1.155/32", NULL);
	clock_now = T("2021-12-28T00:00:00Z");
	return t;
}

static const char scenario_5_json[] =
	"{\n"
	"  \"HistoryRecords\": [\n"
	"    {\n"
	"      \"ResourceOwnerId\": \"123456789012\",\n"
	"      \"ResourceRegion\": \"us-east-1\",\n"
	"      \"ResourceType\": \"network-interface\",\n"
	"      \"ResourceId\": \"eni-0b4e53eb1733aba16\",\n"
	"      \"ResourceCidr\": \"10.2.1.155/32\",\n"
	"      \"VpcId\": \"vpc-0f5ee7e1ba908a378\",\n"
	"      \"SampledStartTime\": \"2021-12-27T20:08:46.000000+00:00\"\n"
	"    },\n"
	"    {\n"
	"      \"ResourceOwnerId\": \"123456789012\",\n"
	"      \"ResourceRegion\": \"us-east-1\",\n"
	"      \"ResourceType\": \"instance\",\n"
	"      \"ResourceId\": \"i-064da1f79baed14f3\",\n"
	"      \"ResourceCidr\": \"10.2.1.155/32\",\n"
	"      \"VpcId\": \"vpc-0f5ee7e1ba908a378\",\n"
	"      \"SampledStartTime\": \"2021-12-27T20:08:46.000000+00:00\"\n"
	"    }\n"
	"  ]\n"
	"}\n";

static const char scenario_6_json[] =
	"{\n"
	"  \"HistoryRecords\": [\n"
	"    {\n"
	"      \"ResourceOwnerId\": \"123456789012\",\n"
	"      \"ResourceRegion\": \"us-east-1\",\n"
	"      \"ResourceType\": \"subnet\",\n"
	"      \"ResourceId\": \"subnet-0864c82a42f5bffed\",\n"
	"      \"ResourceCidr\": \"10.2.1.0/24\",\n"
	"      \"VpcId\": \"vpc-0f5ee7e1ba908a378\",\n"
	"      \"SampledStartTime\": \"2021-12-27T20:08:46.000000+00:00\"\n"
	"    },\n"
	"    {\n"
	"      \"ResourceOwnerId\": \"123456789012\",\n"
	"      \"ResourceRegion\": \"us-east-1\",\n"
	"      \"ResourceType\": \"vpc\",\n"
	"      \"ResourceId\": \"vpc-0f5ee7e1ba908a378\",\n"
	"      \"ResourceCidr\": \"10.2.1.0/24\",\n"
	"      \"ResourceComplianceStatus\": \"compliant\",\n"
	"      \"ResourceOverlapStatus\": \"nonoverlapping\",\n"
	"      \"VpcId\": \"vpc-0f5ee7e1ba908a378\",\n"
	"      \"SampledStartTime\": \"2021-12-27T20:08:46.000000+00:00\"\n"
	"    }\n"
	"  ]\n"
	"}\n";

static const char empty_json[] = "{\n  \"HistoryRecords\": []\n}\n";

/* Scenario 1 (L4936): 10.2.1.155/32 between 2021-12-20T01:00 and
 * 2021-12-27T21:00; Scenario 5 (L5181): the same, active now. */
static void test_scenario_1_and_5_eni_and_instance(void **state)
{
	tutorial t = tutorial_setup();
	(void)state;

	assert_text_free(hist(t.db, t.priv, "10.2.1.155/32",
			      T("2021-12-20T01:00:00Z"),
			      T("2021-12-27T21:00:00Z"), true),
			 scenario_5_json);
	assert_text_free(
		hist(t.db, t.priv, "10.2.1.155/32", clock_now, clock_now, true),
		scenario_5_json);
	assert_text_free(hist(t.db, t.priv, "10.2.1.155/32", clock_now,
			      clock_now, false),
			 HEADER "2021-12-27T20:08:46Z - 10.2.1.155/32 "
				"network-interface eni-0b4e53eb1733aba16 "
				"us-east-1 123456789012 vpc-0f5ee7e1ba908a378 "
				"- - -\n"
				"2021-12-27T20:08:46Z - 10.2.1.155/32 instance "
				"i-064da1f79baed14f3 us-east-1 123456789012 "
				"vpc-0f5ee7e1ba908a378 - - -\n");
	close_watch(t.db);
}

/* Scenario 2 (L5010) and 6 (L5216): the subnet and the VPC, exactly the
 * /24: not the /32s inside it (L5225), not the pool's /16. */
static void test_scenario_2_and_6_exact_match(void **state)
{
	tutorial t = tutorial_setup();
	(void)state;

	assert_text_free(hist(t.db, t.priv, "10.2.1.0/24",
			      T("2021-12-01T00:00:00Z"),
			      T("2021-12-27T23:59:59Z"), true),
			 scenario_6_json);
	assert_text_free(
		hist(t.db, t.priv, "10.2.1.0/24", clock_now, clock_now, true),
		scenario_6_json);
	assert_text_free(
		hist(t.db, t.priv, "10.2.1.0/24", clock_now, clock_now, false),
		HEADER "2021-12-27T20:08:46Z - 10.2.1.0/24 subnet "
		       "subnet-0864c82a42f5bffed us-east-1 "
		       "123456789012 vpc-0f5ee7e1ba908a378 - - -\n"
		       "2021-12-27T20:08:46Z - 10.2.1.0/24 vpc "
		       "vpc-0f5ee7e1ba908a378 us-east-1 123456789012 "
		       "vpc-0f5ee7e1ba908a378 compliant "
		       "nonoverlapping -\n");
	/* A window that ends before the records start. */
	assert_text_free(hist(t.db, t.priv, "10.2.1.0/24",
			      T("2021-12-01T00:00:00Z"),
			      T("2021-12-27T20:00:00Z"), true),
			 empty_json);
	assert_text_free(hist(t.db, t.priv, "10.2.1.0/24",
			      T("2021-12-01T00:00:00Z"),
			      T("2021-12-27T20:00:00Z"), false),
			 HEADER);
	/* Neither a containing nor a contained prefix. */
	assert_int_equal(hist_count(t.db, t.priv, "10.2.1.0/25", ALL_TIME), 0);
	assert_int_equal(hist_count(t.db, t.priv, "10.2.0.0/23", ALL_TIME), 0);
	assert_int_equal(hist_count(t.db, t.priv, "10.2.1.155/32", ALL_TIME),
			 2);
	/* Other scopes have their own history. */
	assert_int_equal(hist_count(t.db, scope_key(t.db, "public"),
				    "10.2.1.0/24", ALL_TIME),
			 0);
	close_watch(t.db);
}

/* Scenario 7 (L5256): an address nobody here holds. */
static void test_scenario_7_nothing(void **state)
{
	tutorial t = tutorial_setup();
	(void)state;

	assert_text_free(
		hist(t.db, t.priv, "54.0.0.9/32", clock_now, clock_now, true),
		empty_json);
	close_watch(t.db);
}

/* `ls history/`: the CIDRs with records, as file names, address order. */
static void test_history_cidrs(void **state)
{
	tutorial t = tutorial_setup();
	ipam_strlist list = {0};
	ipam_err err = {0};
	(void)state;

	assert_ok(ipam_history_cidrs(t.db, t.priv, &list, &err), err);
	/* The child pool's CIDR is an allocation in its parent. */
	assert_int_equal(list.count, 3);
	assert_string_equal(list.items[0], "10.2.0.0_16");
	assert_string_equal(list.items[1], "10.2.1.0_24");
	assert_string_equal(list.items[2], "10.2.1.155_32");
	ipam_strlist_free(&list);
	assert_ok(ipam_history_cidrs(t.db, scope_key(t.db, "public"), &list,
				     &err),
		  err);
	assert_int_equal(list.count, 0);
	ipam_strlist_free(&list);
	close_watch(t.db);
}

/* The child pool and a manual allocation have records of their own. */
static void test_pool_and_manual_allocation_records(void **state)
{
	tutorial t = tutorial_setup();
	ipam_alloc_info a;
	ipam_err err = {0};
	char want[1024];
	int64_t t1 = T("2021-12-28T08:00:00Z");
	(void)state;

	alloc_cidr_ok(t.db, t.use1, "lab", "10.2.200.0/24");
	assert_ok(ipam_alloc_get(t.db, t.use1, "lab", &a, &err), err);
	clock_now = t1;
	assert_ok(ipam_alloc_release(t.db, t.use1, "lab", &err), err);
	snprintf(want, sizeof(want),
		 HEADER "2021-12-28T00:00:00Z 2021-12-28T08:00:00Z "
			"10.2.200.0/24 custom %s us-east-1 0 - - - lab\n",
		 a.id);
	assert_text_free(hist(t.db, t.priv, "10.2.200.0/24", ALL_TIME, false),
			 want);
	snprintf(want, sizeof(want),
		 HEADER "2021-12-20T00:00:00Z - 10.2.0.0/16 ipam-pool %s - 0 - "
			"- - -\n",
		 pool_id(t.db, t.use1));
	assert_text_free(hist(t.db, t.priv, "10.2.0.0/16", ALL_TIME, false),
			 want);
	close_watch(t.db);
}

/*
 * Scenario 3 (L5058): 2605:9cc0:409::/56 held by one VPC from
 * 2021-12-23T20:02:00Z to 20:12:59Z, then by another from
 * 2021-12-27T15:11:00Z, both in us-east-2, outside the home region.
 */
static void test_scenario_3_ipv6_two_vpcs(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t pub = scope_key(db, "public");
	int64_t top, use2, first, second;
	ipam_strlist list = {0};
	ipam_err err = {0};
	(void)state;

	clock_now = T("2021-12-01T00:00:00Z");
	top = mkpool(db, pub, 0, "v6top");
	assert_ok(ipam_pool_set_family(db, top, 6, &err), err);
	prov_ok(db, top, "2605:9cc0:400::/40");
	use2 = mkpool(db, pub, top, "v6use2");
	pool_locale(db, use2, "us-east-2");
	prov_ok(db, use2, "2605:9cc0:400::/44");

	clock_now = T("2021-12-23T20:02:00Z");
	first = res_make(db, pub, "vpc-01d967bf3b923f72c", OWNER, "us-east-2",
			 NULL, "First example VPC", NULL);
	res_alloc_ok(db, first, use2, "2605:9cc0:409::/56", -1);
	clock_now = T("2021-12-23T20:12:59Z");
	res_del(db, first);
	clock_now = T("2021-12-27T15:11:00Z");
	second = res_make(db, pub, "vpc-03e62c7eca81cb652", OWNER, "us-east-2",
			  NULL, "Second example VPC", NULL);
	res_alloc_ok(db, second, use2, "2605:9cc0:409::/56", -1);
	clock_now = T("2021-12-28T00:00:00Z");

	assert_text_free(
		hist(db, pub, "2605:9cc0:409::/56", T("2021-12-01T01:00:00Z"),
		     T("2021-12-27T23:59:59Z"), true),
		"{\n"
		"  \"HistoryRecords\": [\n"
		"    {\n"
		"      \"ResourceOwnerId\": \"123456789012\",\n"
		"      \"ResourceRegion\": \"us-east-2\",\n"
		"      \"ResourceType\": \"vpc\",\n"
		"      \"ResourceId\": \"vpc-01d967bf3b923f72c\",\n"
		"      \"ResourceCidr\": \"2605:9cc0:409::/56\",\n"
		"      \"ResourceName\": \"First example VPC\",\n"
		"      \"ResourceComplianceStatus\": \"compliant\",\n"
		"      \"ResourceOverlapStatus\": \"nonoverlapping\",\n"
		"      \"VpcId\": \"vpc-01d967bf3b923f72c\",\n"
		"      \"SampledStartTime\": "
		"\"2021-12-23T20:02:00.000000+00:00\",\n"
		"      \"SampledEndTime\": "
		"\"2021-12-23T20:12:59.000000+00:00\"\n"
		"    },\n"
		"    {\n"
		"      \"ResourceOwnerId\": \"123456789012\",\n"
		"      \"ResourceRegion\": \"us-east-2\",\n"
		"      \"ResourceType\": \"vpc\",\n"
		"      \"ResourceId\": \"vpc-03e62c7eca81cb652\",\n"
		"      \"ResourceCidr\": \"2605:9cc0:409::/56\",\n"
		"      \"ResourceName\": \"Second example VPC\",\n"
		"      \"ResourceComplianceStatus\": \"compliant\",\n"
		"      \"ResourceOverlapStatus\": \"nonoverlapping\",\n"
		"      \"VpcId\": \"vpc-03e62c7eca81cb652\",\n"
		"      \"SampledStartTime\": "
		"\"2021-12-27T15:11:00.000000+00:00\"\n"
		"    }\n"
		"  ]\n"
		"}\n");
	/* Windows: active now, between the two, inside the first. */
	assert_text_free(
		hist(db, pub, "2605:9cc0:409::/56", clock_now, clock_now,
		     false),
		HEADER "2021-12-27T15:11:00Z - 2605:9cc0:409::/56 vpc "
		       "vpc-03e62c7eca81cb652 us-east-2 123456789012 "
		       "vpc-03e62c7eca81cb652 compliant nonoverlapping Second "
		       "example VPC\n");
	assert_int_equal(hist_count(db, pub, "2605:9cc0:409::/56",
				    T("2021-12-24T00:00:00Z"),
				    T("2021-12-25T00:00:00Z")),
			 0);
	assert_text_free(
		hist(db, pub, "2605:9cc0:409::/56", T("2021-12-23T20:05:00Z"),
		     T("2021-12-23T20:06:00Z"), false),
		HEADER "2021-12-23T20:02:00Z 2021-12-23T20:12:59Z "
		       "2605:9cc0:409::/56 vpc vpc-01d967bf3b923f72c us-east-2 "
		       "123456789012 vpc-01d967bf3b923f72c compliant "
		       "nonoverlapping First example VPC\n");
	assert_ok(ipam_history_cidrs(db, pub, &list, &err), err);
	assert_int_equal(list.count, 2);
	assert_string_equal(list.items[0], "2605:9cc0:400::_44");
	assert_string_equal(list.items[1], "2605:9cc0:409::_56");
	ipam_strlist_free(&list);
	close_watch(db);
}

/*
 * Scenario 4 (L5111): 10.0.0.0/24 "in the last 24 hours" - subnets and
 * unmanaged VPCs in three regions, overlapping each other and two /16
 * VPCs; two of them removed at 2021-12-28T15:34:00Z. Records are returned
 * in start order.
 */
static void test_scenario_4_unmanaged_overlapping(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t sub1, vpc3;
	(void)state;

	clock_now = T("2021-12-01T00:00:00Z");
	res_make(db, priv, "vpc-042b8a44f64267d67", OWNER, "us-east-2", NULL,
		 NULL, "10.0.0.0/16", NULL);
	res_make(db, priv, "vpc-03298ba16756a8736", OWNER, "us-east-1", NULL,
		 NULL, "10.0.0.0/16", NULL);
	clock_now = T("2021-12-11T16:35:59Z");
	sub1 = res_make(db, priv, "subnet-0d1b8f899725aa72d", OWNER,
			"us-east-2", "vpc-042b8a44f64267d67", "Example name",
			"10.0.0.0/24", NULL);
	res_make(db, priv, "vpc-0a8347f594bea5901", OWNER, "us-west-2", NULL,
		 "Example name", "10.0.0.0/24", NULL);
	clock_now = T("2021-12-14T21:07:22Z");
	res_make(db, priv, "subnet-0af7eadb0798e9148", OWNER, "us-east-1",
		 "vpc-03298ba16756a8736", "Example name", "10.0.0.0/24", NULL);
	clock_now = T("2021-12-27T20:07:59Z");
	vpc3 = res_make(db, priv, "vpc-09754dfd85911abec", OWNER, "us-east-2",
			NULL, "Example name", "10.0.0.0/24", NULL);
	clock_now = T("2021-12-28T15:34:00Z");
	res_del(db, sub1);
	res_del(db, vpc3);
	clock_now = T("2021-12-29T00:00:00Z");

	assert_text_free(hist(db, priv, "10.0.0.0/24",
			      T("2021-12-27T00:00:00Z"), clock_now, true),
			 "{\n"
			 "  \"HistoryRecords\": [\n"
			 "    {\n"
			 "      \"ResourceOwnerId\": \"123456789012\",\n"
			 "      \"ResourceRegion\": \"us-east-2\",\n"
			 "      \"ResourceType\": \"subnet\",\n"
			 "      \"ResourceId\": \"subnet-0d1b8f899725aa72d\",\n"
			 "      \"ResourceCidr\": \"10.0.0.0/24\",\n"
			 "      \"ResourceName\": \"Example name\",\n"
			 "      \"VpcId\": \"vpc-042b8a44f64267d67\",\n"
			 "      \"SampledStartTime\": "
			 "\"2021-12-11T16:35:59.000000+00:00\",\n"
			 "      \"SampledEndTime\": "
			 "\"2021-12-28T15:34:00.000000+00:00\"\n"
			 "    },\n"
			 "    {\n"
			 "      \"ResourceOwnerId\": \"123456789012\",\n"
			 "      \"ResourceRegion\": \"us-west-2\",\n"
			 "      \"ResourceType\": \"vpc\",\n"
			 "      \"ResourceId\": \"vpc-0a8347f594bea5901\",\n"
			 "      \"ResourceCidr\": \"10.0.0.0/24\",\n"
			 "      \"ResourceName\": \"Example name\",\n"
			 "      \"ResourceComplianceStatus\": \"unmanaged\",\n"
			 "      \"ResourceOverlapStatus\": \"overlapping\",\n"
			 "      \"VpcId\": \"vpc-0a8347f594bea5901\",\n"
			 "      \"SampledStartTime\": "
			 "\"2021-12-11T16:35:59.000000+00:00\"\n"
			 "    },\n"
			 "    {\n"
			 "      \"ResourceOwnerId\": \"123456789012\",\n"
			 "      \"ResourceRegion\": \"us-east-1\",\n"
			 "      \"ResourceType\": \"subnet\",\n"
			 "      \"ResourceId\": \"subnet-0af7eadb0798e9148\",\n"
			 "      \"ResourceCidr\": \"10.0.0.0/24\",\n"
			 "      \"ResourceName\": \"Example name\",\n"
			 "      \"VpcId\": \"vpc-03298ba16756a8736\",\n"
			 "      \"SampledStartTime\": "
			 "\"2021-12-14T21:07:22.000000+00:00\"\n"
			 "    },\n"
			 "    {\n"
			 "      \"ResourceOwnerId\": \"123456789012\",\n"
			 "      \"ResourceRegion\": \"us-east-2\",\n"
			 "      \"ResourceType\": \"vpc\",\n"
			 "      \"ResourceId\": \"vpc-09754dfd85911abec\",\n"
			 "      \"ResourceCidr\": \"10.0.0.0/24\",\n"
			 "      \"ResourceName\": \"Example name\",\n"
			 "      \"ResourceComplianceStatus\": \"unmanaged\",\n"
			 "      \"ResourceOverlapStatus\": \"overlapping\",\n"
			 "      \"VpcId\": \"vpc-09754dfd85911abec\",\n"
			 "      \"SampledStartTime\": "
			 "\"2021-12-27T20:07:59.000000+00:00\",\n"
			 "      \"SampledEndTime\": "
			 "\"2021-12-28T15:34:00.000000+00:00\"\n"
			 "    }\n"
			 "  ]\n"
			 "}\n");
	/* After the removal only two are active. */
	assert_int_equal(
		hist_count(db, priv, "10.0.0.0/24", clock_now, clock_now), 2);
	close_watch(db);
}

/*
 * The window [from, to] is inclusive at both ends: a record of [t1, t2)
 * meets [x, t1] and [t2 - 1, x], not [x, t1 - 1] nor [t2 + 1, x]. (Its
 * end instant t2 itself: test_active_now_right_after_removal.)
 */
static void test_window_edges(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t t1 = T("2026-05-01T00:00:00Z"), t2 = T("2026-05-02T00:00:00Z");
	int64_t vpc;
	(void)state;

	clock_now = t1;
	vpc = res_make(db, priv, "vpc-1", NULL, "us-east-1", NULL, NULL,
		       "10.0.0.0/24", NULL);
	clock_now = t2;
	res_del(db, vpc);
	clock_now = t2 + 86400;
	assert_int_equal(hist_count(db, priv, "10.0.0.0/24", t1 - 10, t1), 1);
	assert_int_equal(hist_count(db, priv, "10.0.0.0/24", t1 - 10, t1 - 1),
			 0);
	assert_int_equal(hist_count(db, priv, "10.0.0.0/24", t1 + 5, t1 + 6),
			 1);
	assert_int_equal(hist_count(db, priv, "10.0.0.0/24", t1 - 5, t2 + 5),
			 1);
	assert_int_equal(hist_count(db, priv, "10.0.0.0/24", t2 - 1, t2 + 10),
			 1);
	assert_int_equal(hist_count(db, priv, "10.0.0.0/24", t2 + 1, t2 + 10),
			 0);
	/* Ended: not active now. */
	assert_int_equal(
		hist_count(db, priv, "10.0.0.0/24", clock_now, clock_now), 0);
	close_watch(db);
}

/*
 * "Active now" (SPEC §7 @now, from = to = now) right after a change in
 * the same second: the record that just ended is not active. A record is
 * the half-open interval [start, end) (history.md: "records whose
 * interval [start, end or inf) meets the window [from, to]"). (Core bug:
 * ipam_history_query matches end_time >= from, so a resource removed at
 * second t is still returned by a @now query at t, with its end time,
 * and by any window that starts at t.)
 */
static void test_active_now_right_after_removal(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t a, b;
	(void)state;

	clock_now = T("2026-05-01T00:00:00Z");
	a = res_make(db, priv, "vpc-a", NULL, "us-east-1", NULL, NULL,
		     "10.0.0.0/24", NULL);
	clock_now = T("2026-05-01T00:10:00Z");
	res_del(db, a);
	b = res_make(db, priv, "vpc-b", NULL, "us-east-1", NULL, NULL,
		     "10.0.0.0/24", NULL);
	assert_text_free(
		hist(db, priv, "10.0.0.0/24", clock_now, clock_now, false),
		HEADER "2026-05-01T00:10:00Z - 10.0.0.0/24 vpc vpc-b us-east-1 "
		       "0 vpc-b unmanaged nonoverlapping -\n");
	/* Later, a window that starts at the end instant: vpc-a's
	 * [00:00, 00:10) does not meet it. */
	clock_now += 3600;
	res_del(db, b);
	assert_int_equal(hist_count(db, priv, "10.0.0.0/24",
				    T("2026-05-01T00:10:00Z"),
				    T("2026-05-01T00:20:00Z")),
			 1);
	close_watch(db);
}

/* A status change ends the record and starts another (history.md). */
static void test_status_changes_split_records(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t pool = mktop(db, "dev"), vpc;
	int64_t t0 = T("2026-01-01T00:00:00Z"), t1 = T("2026-01-02T00:00:00Z");
	int64_t t2 = T("2026-01-03T00:00:00Z"), t3 = T("2026-01-04T00:00:00Z");
	int64_t t4 = T("2026-01-05T00:00:00Z");
	ipam_err err = {0};
	char want[2048];
	(void)state;

	pool_locale(db, pool, "us-east-1");
	prov_ok(db, pool, "10.0.0.0/16");
	clock_now = t0;
	vpc = res_make(db, priv, "vpc-1", OWNER, "us-east-1", NULL, "one",
		       NULL);
	res_alloc_ok(db, vpc, pool, "10.0.0.0/24", -1);
	clock_now = t1;
	pool_netmask(db, pool, IPAM_NETMASK_MIN, 25);
	clock_now = t2;
	res_set(db, vpc, IPAM_RESOURCE_NAME, "renamed");
	clock_now = t3;
	assert_ok(ipam_resource_set_ignored(db, vpc, true, &err), err);
	clock_now = t4;
	res_del(db, vpc);
	snprintf(want, sizeof(want),
		 HEADER "%s %s 10.0.0.0/24 vpc vpc-1 us-east-1 " OWNER " vpc-1 "
			"compliant nonoverlapping one\n"
			"%s %s 10.0.0.0/24 vpc vpc-1 us-east-1 " OWNER " vpc-1 "
			"noncompliant nonoverlapping one\n"
			"%s %s 10.0.0.0/24 vpc vpc-1 us-east-1 " OWNER " vpc-1 "
			"noncompliant nonoverlapping renamed\n"
			"%s %s 10.0.0.0/24 vpc vpc-1 us-east-1 " OWNER " vpc-1 "
			"ignored ignored renamed\n",
		 TS(t0), TS(t1), TS(t1), TS(t2), TS(t2), TS(t3), TS(t3),
		 TS(t4));
	assert_text_free(hist(db, priv, "10.0.0.0/24", ALL_TIME, false), want);
	close_watch(db);
}

/* A change that does not alter a CIDR's status adds no record. */
static void test_no_record_without_change(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t vpc = res_make(db, priv, "vpc-1", NULL, "us-east-1", NULL, NULL,
			       "10.0.0.0/24", NULL);
	(void)state;

	clock_now += 60;
	res_tag(db, vpc, "team", "net");
	res_set(db, vpc, IPAM_RESOURCE_ACTIVE_IPS, "3");
	res_make(db, priv, "vpc-2", NULL, "us-east-1", NULL, NULL,
		 "10.0.1.0/24", NULL); /* adjacent */
	assert_int_equal(hist_count(db, priv, "10.0.0.0/24", ALL_TIME), 1);
	close_watch(db);
}

/*
 * Writing an attribute the value it already has is no change: no record
 * ends, none starts. (Core bug: set_field() restarts the history of every
 * CIDR of the resource on any write of name, owner, locale, vpc-id or
 * type, even when the value is the same, so `echo same > name` splits the
 * records.)
 */
static void test_same_value_no_new_record(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t vpc = res_make(db, priv, "vpc-1", OWNER, "us-east-1", NULL,
			       "same", "10.0.0.0/24", NULL);
	(void)state;

	clock_now += 60;
	res_set(db, vpc, IPAM_RESOURCE_NAME, "same");
	res_set(db, vpc, IPAM_RESOURCE_OWNER, OWNER);
	res_set(db, vpc, IPAM_RESOURCE_LOCALE, "us-east-1");
	res_set(db, vpc, IPAM_RESOURCE_TYPE, "vpc");
	assert_int_equal(hist_count(db, priv, "10.0.0.0/24", ALL_TIME), 1);
	close_watch(db);
}

static void test_retention_setting(void **state)
{
	ipam *db = open_watch(NULL, NULL);
	ipam_err err = {0};
	int64_t days = 0;
	(void)state;

	assert_ok(ipam_retention_get(db, IPAM_RETAIN_HISTORY, &days, &err), err);
	assert_int_equal(days, 1095);
	assert_code(ipam_retention_set(db, IPAM_RETAIN_HISTORY, 0, &err), err, IPAM_EINVAL,
		    "history retention must be 1..36500 days, not 0");
	assert_code(ipam_retention_set(db, IPAM_RETAIN_HISTORY, 36501, &err), err,
		    IPAM_EINVAL, "not 36501");
	assert_code(ipam_retention_set(db, IPAM_RETAIN_HISTORY, -5, &err), err, IPAM_EINVAL,
		    NULL);
	assert_ok(ipam_retention_get(db, IPAM_RETAIN_HISTORY, &days, &err), err);
	assert_int_equal(days, 1095);
	assert_ok(ipam_retention_set(db, IPAM_RETAIN_HISTORY, 1, &err), err);
	assert_ok(ipam_retention_get(db, IPAM_RETAIN_HISTORY, &days, &err), err);
	assert_int_equal(days, 1);
	assert_ok(ipam_retention_set(db, IPAM_RETAIN_HISTORY, 36500, &err), err);
	assert_ok(ipam_retention_get(db, IPAM_RETAIN_HISTORY, &days, &err), err);
	assert_int_equal(days, 36500);
	close_watch(db);
}

/* Three years (L2991): an ended record is kept 1095 days, then purged by
 * a later write; an active one is never purged. */
static void test_retention_three_years(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t old;
	(void)state;

	clock_now = T("2020-01-01T00:00:00Z");
	old = res_make(db, priv, "vpc-old", NULL, "us-east-1", NULL, NULL,
		       "10.0.5.0/24", NULL);
	res_make(db, priv, "vpc-live", NULL, "us-east-1", NULL, NULL,
		 "10.0.6.0/24", NULL);
	clock_now = T("2020-01-02T00:00:00Z");
	res_del(db, old);

	clock_now = T("2022-12-30T00:00:00Z");
	res_make(db, priv, "i-w1", NULL, NULL, NULL, NULL, "10.9.0.1/32", NULL);
	assert_int_equal(hist_count(db, priv, "10.0.5.0/24", ALL_TIME), 1);

	/* 2020-01-02 + 1095 days = 2023-01-01. */
	clock_now = T("2023-01-01T00:00:00Z");
	res_make(db, priv, "i-w2", NULL, NULL, NULL, NULL, "10.9.0.2/32", NULL);
	assert_int_equal(hist_count(db, priv, "10.0.5.0/24", ALL_TIME), 1);
	clock_now = T("2023-01-01T00:00:01Z");
	/* A read purges nothing. */
	assert_int_equal(hist_count(db, priv, "10.0.5.0/24", ALL_TIME), 1);
	res_make(db, priv, "i-w3", NULL, NULL, NULL, NULL, "10.9.0.3/32", NULL);
	assert_int_equal(hist_count(db, priv, "10.0.5.0/24", ALL_TIME), 0);
	assert_int_equal(hist_count(db, priv, "10.0.6.0/24", ALL_TIME), 1);
	close_watch(db);
}

/* The purge keeps pace with writes: each write that starts a record
 * deletes at most two expired ones, oldest end first (history.md). */
static void test_retention_purge_pace(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t base = T("2026-02-01T00:00:00Z"), keys[5];
	static const char *const cidrs[5] = {"10.1.0.1/32", "10.1.0.2/32",
					     "10.1.0.3/32", "10.1.0.4/32",
					     "10.1.0.5/32"};
	ipam_err err = {0};
	char id[16];
	int left;
	(void)state;

	assert_ok(ipam_retention_set(db, IPAM_RETAIN_HISTORY, 1, &err), err);
	clock_now = base;
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "i-%d", i);
		keys[i] = res_make(db, priv, id, NULL, NULL, NULL, NULL,
				   cidrs[i], NULL);
	}
	for (int i = 4; i >= 0; i--) { /* i-4 ends first */
		clock_now = base + 3600 * (5 - i);
		res_del(db, keys[i]);
	}
	clock_now = base + 3 * 86400;
	for (int w = 0; w < 3; w++) {
		snprintf(id, sizeof(id), "i-w%d", w);
		res_make(db, priv, id, NULL, NULL, NULL, NULL,
			 w == 0	  ? "10.2.0.1/32"
			 : w == 1 ? "10.2.0.2/32"
				  : "10.2.0.3/32",
			 NULL);
		left = 0;
		for (int i = 0; i < 5; i++)
			left += hist_count(db, priv, cidrs[i], ALL_TIME);
		assert_int_equal(left, w == 0 ? 3 : w == 1 ? 1 : 0);
		if (w == 0) { /* the two that ended first went first */
			assert_int_equal(
				hist_count(db, priv, cidrs[4], ALL_TIME), 0);
			assert_int_equal(
				hist_count(db, priv, cidrs[3], ALL_TIME), 0);
			assert_int_equal(
				hist_count(db, priv, cidrs[0], ALL_TIME), 1);
		}
	}
	close_watch(db);
}

/* The seq of each line of /events, in order (at most 64). */
static int event_seqs(ipam *db, int64_t *seq)
{
	ipam_err err = {0};
	char *doc = NULL, *line;
	size_t len = 0;
	int n = 0;
	assert_ok(ipam_events_render(db, 0, &doc, &len, &err), err);
	for (line = doc; line && *line && n < 64; n++) {
		assert_non_null(strstr(line, "{\"seq\":"));
		seq[n] = strtoll(line + strlen("{\"seq\":"), NULL, 10);
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	free(doc);
	return n;
}

/* The change log keeps event-retention-days (default 365): each new event
 * deletes at most the two oldest expired ones; the newest is never
 * deleted, so seq never goes back; a setting out of range is refused. */
static void test_event_retention(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t base = FIXTURE_TIME, seq[64], first, last;
	ipam_err err = {0};
	int64_t days = 0;
	char id[16];
	int n, was;
	(void)state;

	assert_ok(ipam_retention_get(db, IPAM_RETAIN_EVENTS, &days, &err),
		  err);
	assert_int_equal(days, 365);
	assert_code(ipam_retention_set(db, IPAM_RETAIN_EVENTS, 0, &err), err,
		    IPAM_EINVAL, "event retention must be 1..36500 days, not 0");
	assert_code(ipam_retention_set(db, IPAM_RETAIN_EVENTS, 36501, &err),
		    err, IPAM_EINVAL, NULL);
	assert_code(ipam_retention_set(db, (ipam_retention)7, 5, &err), err,
		    IPAM_EINVAL, "unknown retention setting 7");
	/* the two settings are two values, read one after the other */
	assert_ok(ipam_retention_set(db, IPAM_RETAIN_HISTORY, 30, &err), err);
	assert_ok(ipam_retention_get(db, IPAM_RETAIN_HISTORY, &days, &err),
		  err);
	assert_int_equal(days, 30);
	assert_ok(ipam_retention_get(db, IPAM_RETAIN_EVENTS, &days, &err),
		  err);
	assert_int_equal(days, 365);

	clock_now = base;
	assert_ok(ipam_retention_set(db, IPAM_RETAIN_EVENTS, 1, &err), err);
	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "i-%d", i);
		res_make(db, priv, id, NULL, NULL, NULL, NULL, "10.1.0.1/32",
			 NULL);
	}
	was = event_seqs(db, seq);
	first = seq[0];
	last = seq[was - 1];
	assert_true(was >= 5);

	/* a day later exactly: nothing has expired yet */
	clock_now = base + 86400;
	res_make(db, priv, "i-a", NULL, NULL, NULL, NULL, "10.1.0.2/32", NULL);
	n = event_seqs(db, seq);
	assert_int_equal(seq[0], first);
	assert_true(n > was);

	/* two days later: every write takes the two oldest expired away */
	clock_now = base + 2 * 86400;
	was = n;
	assert_ok(ipam_retention_set(db, IPAM_RETAIN_EVENTS, 1, &err), err);
	n = event_seqs(db, seq);
	assert_int_equal(seq[0], first + 2);
	assert_int_equal(n, was - 1); /* +1 written, -2 purged */
	for (int i = 0; i < 64 && seq[0] <= last; i++) {
		assert_ok(ipam_retention_set(db, IPAM_RETAIN_EVENTS, 1, &err),
			  err);
		n = event_seqs(db, seq);
	}
	/* every event of the first day is gone, in seq order */
	assert_true(seq[0] > last);
	for (int i = 1; i < n; i++)
		assert_true(seq[i] > seq[i - 1]);

	/* the clock set back: the lines of now are in the future and stay;
	 * an expired line behind them still goes */
	clock_now = base + 3 * 86400;
	assert_ok(ipam_retention_set(db, IPAM_RETAIN_EVENTS, 1, &err), err);
	clock_now = base - 5 * 86400;
	assert_ok(ipam_retention_set(db, IPAM_RETAIN_EVENTS, 1, &err), err);
	was = event_seqs(db, seq);
	first = seq[was - 1]; /* the line of base - 5 days */
	clock_now = base - 3 * 86400;
	assert_ok(ipam_retention_set(db, IPAM_RETAIN_EVENTS, 1, &err), err);
	n = event_seqs(db, seq);
	assert_int_equal(n, was); /* +1, and the line of base - 5 days */
	for (int i = 0; i < n; i++)
		assert_true(seq[i] != first);
	assert_true(seq[0] > last);

	/* a month later: twenty writes drain every older line (each adds
	 * one and takes two), and seq goes on from where it was */
	last = seq[n - 1];
	assert_true(n < 20);
	clock_now = base + 30 * 86400;
	for (int i = 0; i < 20; i++)
		assert_ok(ipam_retention_set(db, IPAM_RETAIN_EVENTS, 1, &err),
			  err);
	n = event_seqs(db, seq);
	assert_int_equal(n, 20);
	assert_int_equal(seq[0], last + 1);
	assert_int_equal(ipam_events_last(db), seq[19]);
	close_watch(db);
}

/* A CIDR that is ignored keeps its history (L1226-L1233). */
static void test_ignored_keeps_history(void **state)
{
	tutorial t = tutorial_setup();
	int64_t vpc = res_key(t.db, t.priv, VPC);
	ipam_err err = {0};
	char *json;
	(void)state;

	assert_ok(ipam_resource_set_ignored(t.db, vpc, true, &err), err);
	json = hist(t.db, t.priv, "10.2.1.0/24", clock_now, clock_now, true);
	assert_contains(json, "\"ResourceComplianceStatus\": \"ignored\"");
	assert_contains(json, "\"ResourceOverlapStatus\": \"ignored\"");
	free(json);
	assert_int_equal(hist_count(t.db, t.priv, "10.2.1.0/24", ALL_TIME), 3);
	close_watch(t.db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		WATCH_TEST(test_scenario_1_and_5_eni_and_instance),
		WATCH_TEST(test_scenario_2_and_6_exact_match),
		WATCH_TEST(test_scenario_7_nothing),
		WATCH_TEST(test_history_cidrs),
		WATCH_TEST(test_pool_and_manual_allocation_records),
		WATCH_TEST(test_scenario_3_ipv6_two_vpcs),
		WATCH_TEST(test_scenario_4_unmanaged_overlapping),
		WATCH_TEST(test_window_edges),
		WATCH_TEST(test_active_now_right_after_removal),
		WATCH_TEST(test_status_changes_split_records),
		WATCH_TEST(test_no_record_without_change),
		WATCH_TEST(test_same_value_no_new_record),
		WATCH_TEST(test_retention_setting),
		WATCH_TEST(test_retention_three_years),
		WATCH_TEST(test_retention_purge_pace),
		WATCH_TEST(test_event_retention),
		WATCH_TEST(test_ignored_keeps_history),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
