/*
 * test_metrics.c - the scope status (SPEC §6.2, the dashboard of
 * L2616-L2655) and /metrics/ipam.prom (SPEC §6.3, L2799-L2985) for one
 * known setup, line by line.
 *
 * Setup (private scope, home us-east-1):
 *   top 10.0.0.0/8 -> regional (us-east-1) 10.0.0.0/16 -> dev 10.0.0.0/24
 *   vpc-u   managed /26 from dev (10.0.0.0/26), subnets 10.0.0.0/28 (4
 *           active) and 10.0.0.16/28: VpcIPUsage 0.5, SubnetIPUsage 0.25
 *   vpc-o   unmanaged 10.0.0.0/26: overlaps vpc-u
 *   vpc-n   managed 10.0.1.0/24 from regional, noncompliant (max /23)
 *   vpc-i   ignored 10.5.0.0/24
 *   eni-1, eni-2 (10.0.0.5/32, 10.0.0.6/32), i-1 (10.0.0.5/32)
 * public scope: ipv4pool-ec2-0123 198.51.100.0/24 with two EIPs in it.
 * So: top percent-allocated 0.390625 (a /16 of a /8), dev assigned 25.
 */
#include "watch_fixture.h"

typedef struct env {
	ipam *db;
	int64_t priv, pub, top, regional, dev;
	char priv_id[IPAM_ID_MAX], pub_id[IPAM_ID_MAX];
	char top_id[IPAM_ID_MAX], regional_id[IPAM_ID_MAX], dev_id[IPAM_ID_MAX];
} env;

static void scope_id_of(ipam *db, const char *name, char *out)
{
	ipam_scope_info sc;
	ipam_err err = {0};
	if (ipam_scope_get(db, name, &sc, &err))
		fail_msg("scope %s: %s", name, err.msg);
	snprintf(out, IPAM_ID_MAX, "%s", sc.id);
}

static env setup(void)
{
	static const char *const locales[] = {"us-east-1", NULL};
	env e;
	int64_t vpc, s1;
	ipam_err err = {0};

	e.db = open_watch("us-east-1", locales);
	e.priv = scope_key(e.db, "private");
	e.pub = scope_key(e.db, "public");
	scope_id_of(e.db, "private", e.priv_id);
	scope_id_of(e.db, "public", e.pub_id);
	e.top = mktop(e.db, "top");
	prov_ok(e.db, e.top, "10.0.0.0/8");
	e.regional = mkpool(e.db, e.priv, e.top, "regional");
	pool_locale(e.db, e.regional, "us-east-1");
	prov_ok(e.db, e.regional, "10.0.0.0/16");
	e.dev = mkpool(e.db, e.priv, e.regional, "dev");
	prov_ok(e.db, e.dev, "10.0.0.0/24");
	snprintf(e.top_id, IPAM_ID_MAX, "%s", pool_id(e.db, e.top));
	snprintf(e.regional_id, IPAM_ID_MAX, "%s", pool_id(e.db, e.regional));
	snprintf(e.dev_id, IPAM_ID_MAX, "%s", pool_id(e.db, e.dev));

	vpc = res_make(e.db, e.priv, "vpc-u", "111122223333", "us-east-1", NULL,
		       NULL, NULL);
	res_alloc_ok(e.db, vpc, e.dev, NULL, 26);
	s1 = res_make(e.db, e.priv, "subnet-1", "111122223333", "us-east-1",
		      "vpc-u", NULL, "10.0.0.0/28", NULL);
	res_set(e.db, s1, IPAM_RESOURCE_ACTIVE_IPS, "4");
	res_make(e.db, e.priv, "subnet-2", "111122223333", "us-east-1", "vpc-u",
		 NULL, "10.0.0.16/28", NULL);
	res_make(e.db, e.priv, "vpc-o", "111122223333", "us-east-1", NULL, NULL,
		 "10.0.0.0/26", NULL);
	vpc = res_make(e.db, e.priv, "vpc-n", "111122223333", "us-east-1", NULL,
		       NULL, NULL);
	res_alloc_ok(e.db, vpc, e.regional, "10.0.1.0/24", -1);
	pool_netmask(e.db, e.regional, IPAM_NETMASK_MAX, 23);
	vpc = res_make(e.db, e.priv, "vpc-i", "111122223333", "us-east-1", NULL,
		       NULL, "10.5.0.0/24", NULL);
	if (ipam_resource_set_ignored(e.db, vpc, true, &err))
		fail_msg("ignore: %s", err.msg);
	res_make(e.db, e.priv, "eni-1", "111122223333", "us-east-1", "vpc-u",
		 NULL, "10.0.0.5/32", NULL);
	res_make(e.db, e.priv, "eni-2", "111122223333", "us-east-1", "vpc-u",
		 NULL, "10.0.0.6/32", NULL);
	res_make(e.db, e.priv, "i-1", "111122223333", "us-east-1", "vpc-u",
		 NULL, "10.0.0.5/32", NULL);

	res_make(e.db, e.pub, "ipv4pool-ec2-0123", NULL, "us-east-1", NULL,
		 NULL, "198.51.100.0/24", NULL);
	res_make(e.db, e.pub, "eipalloc-1", NULL, "us-east-1", NULL, NULL,
		 "198.51.100.5/32", NULL);
	res_make(e.db, e.pub, "eipalloc-2", NULL, "us-east-1", NULL, NULL,
		 "198.51.100.6/32", NULL);
	return e;
}

static char *scope_status(ipam *db, int64_t scope, bool json)
{
	char *out = NULL;
	size_t len = 0;
	ipam_err err = {0};
	if (ipam_render_scope_status(db, scope, json, &out, &len, &err))
		fail_msg("scope status: %s", err.msg);
	assert_int_equal(strlen(out), len);
	return out;
}

static char *metrics(ipam *db)
{
	char *out = NULL;
	size_t len = 0;
	ipam_err err = {0};
	if (ipam_render_metrics(db, &out, &len, &err))
		fail_msg("metrics: %s", err.msg);
	assert_int_equal(strlen(out), len);
	return out;
}

/* Fails unless `prom` has `line` as a whole line. */
static void assert_line(const char *prom, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = prom; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len == n && !strncmp(p, line, n))
			return;
		p = nl ? nl + 1 : NULL;
	}
	fail_msg("no line '%s' in:\n%s", line, prom);
}

/* ---- scope status ---- */

static void test_scope_status_private(void **state)
{
	env e = setup();
	char want[4096];
	(void)state;

	snprintf(want, sizeof(want),
		 "scope-id=%s\n"
		 "type=private\n"
		 "pool-count=3\n"
		 "resource-cidrs=9\n"
		 "vpc-cidrs=4\n"
		 "subnet-cidrs=2\n"
		 "eip-cidrs=0\n"
		 "public-ipv4-pool-cidrs=0\n"
		 "instance-cidrs=1\n"
		 "network-interface-cidrs=2\n"
		 "managed-cidrs=2\n"
		 "unmanaged-cidrs=1\n"
		 "ignored-cidrs=1\n"
		 "compliant-cidrs=1\n"
		 "noncompliant-cidrs=1\n"
		 "overlapping-cidrs=2\n"
		 "nonoverlapping-cidrs=1\n"
		 "pool.%s.percent-allocated=0.390625\n"
		 "pool.%s.percent-assigned=0\n"
		 "pool.%s.percent-available=99.609375\n"
		 "pool.%s.percent-allocated=0.390625\n"
		 "pool.%s.percent-assigned=0.390625\n"
		 "pool.%s.percent-available=99.21875\n"
		 "pool.%s.percent-allocated=0\n"
		 "pool.%s.percent-assigned=25\n"
		 "pool.%s.percent-available=75\n",
		 e.priv_id, e.top_id, e.top_id, e.top_id, e.regional_id,
		 e.regional_id, e.regional_id, e.dev_id, e.dev_id, e.dev_id);
	assert_text_free(scope_status(e.db, e.priv, false), want);
	close_watch(e.db);
}

static void test_scope_status_public_json(void **state)
{
	env e = setup();
	char want[4096];
	(void)state;

	snprintf(want, sizeof(want),
		 "scope-id=%s\n"
		 "type=public\n"
		 "pool-count=0\n"
		 "resource-cidrs=3\n"
		 "vpc-cidrs=0\n"
		 "subnet-cidrs=0\n"
		 "eip-cidrs=2\n"
		 "public-ipv4-pool-cidrs=1\n"
		 "instance-cidrs=0\n"
		 "network-interface-cidrs=0\n"
		 "managed-cidrs=0\n"
		 "unmanaged-cidrs=3\n"
		 "ignored-cidrs=0\n"
		 "compliant-cidrs=0\n"
		 "noncompliant-cidrs=0\n"
		 "overlapping-cidrs=0\n"
		 "nonoverlapping-cidrs=3\n",
		 e.pub_id);
	assert_text_free(scope_status(e.db, e.pub, false), want);
	snprintf(want, sizeof(want),
		 "{\n"
		 "  \"scope-id\": \"%s\",\n"
		 "  \"type\": \"private\",\n"
		 "  \"pool-count\": 3,\n"
		 "  \"resource-cidrs\": 9,\n"
		 "  \"vpc-cidrs\": 4,\n"
		 "  \"subnet-cidrs\": 2,\n"
		 "  \"eip-cidrs\": 0,\n"
		 "  \"public-ipv4-pool-cidrs\": 0,\n"
		 "  \"instance-cidrs\": 1,\n"
		 "  \"network-interface-cidrs\": 2,\n"
		 "  \"managed-cidrs\": 2,\n"
		 "  \"unmanaged-cidrs\": 1,\n"
		 "  \"ignored-cidrs\": 1,\n"
		 "  \"compliant-cidrs\": 1,\n"
		 "  \"noncompliant-cidrs\": 1,\n"
		 "  \"overlapping-cidrs\": 2,\n"
		 "  \"nonoverlapping-cidrs\": 1,\n"
		 "  \"pools\": {\n"
		 "    \"%s\": {\n"
		 "      \"name\": \"top\",\n"
		 "      \"percent-allocated\": 0.390625,\n"
		 "      \"percent-assigned\": 0,\n"
		 "      \"percent-available\": 99.609375\n"
		 "    },\n"
		 "    \"%s\": {\n"
		 "      \"name\": \"regional\",\n"
		 "      \"percent-allocated\": 0.390625,\n"
		 "      \"percent-assigned\": 0.390625,\n"
		 "      \"percent-available\": 99.21875\n"
		 "    },\n"
		 "    \"%s\": {\n"
		 "      \"name\": \"dev\",\n"
		 "      \"percent-allocated\": 0,\n"
		 "      \"percent-assigned\": 25,\n"
		 "      \"percent-available\": 75\n"
		 "    }\n"
		 "  }\n"
		 "}\n",
		 e.priv_id, e.top_id, e.regional_id, e.dev_id);
	assert_text_free(scope_status(e.db, e.priv, true), want);
	close_watch(e.db);
}

/* The counters follow the changes (never stale, SPEC §5.2). */
static void test_scope_status_follows(void **state)
{
	env e = setup();
	char *status;
	ipam_err err = {0};
	(void)state;

	res_del(e.db, res_key(e.db, e.priv, "vpc-o"));
	pool_netmask(e.db, e.regional, IPAM_NETMASK_MAX, -1);
	assert_ok(ipam_resource_set_ignored(
			  e.db, res_key(e.db, e.priv, "vpc-i"), false, &err),
		  err);
	status = scope_status(e.db, e.priv, false);
	assert_string_equal(status_value(status, "resource-cidrs"), "8");
	assert_string_equal(status_value(status, "managed-cidrs"), "2");
	assert_string_equal(status_value(status, "unmanaged-cidrs"), "1");
	assert_string_equal(status_value(status, "ignored-cidrs"), "0");
	assert_string_equal(status_value(status, "compliant-cidrs"), "2");
	assert_string_equal(status_value(status, "noncompliant-cidrs"), "0");
	assert_string_equal(status_value(status, "overlapping-cidrs"), "0");
	assert_string_equal(status_value(status, "nonoverlapping-cidrs"), "3");
	free(status);
	close_watch(e.db);
}

/* ---- metrics ---- */

static const char *const families[] = {
	"ipam_total_active_ips",
	"ipam_pool_percent_allocated",
	"ipam_pool_percent_assigned",
	"ipam_pool_percent_available",
	"ipam_pool_compliant_resource_cidrs",
	"ipam_pool_noncompliant_resource_cidrs",
	"ipam_scope_compliant_resource_cidrs",
	"ipam_scope_noncompliant_resource_cidrs",
	"ipam_scope_managed_resource_cidrs",
	"ipam_scope_unmanaged_resource_cidrs",
	"ipam_scope_overlapping_resource_cidrs",
	"ipam_vpc_ip_usage",
	"ipam_subnet_ip_usage",
	"ipam_public_ipv4_pool_ip_usage",
};

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c == ':' || (!first && c >= '0' && c <= '9');
}

/* One sample line: name{labels} value, the value a number. */
static void check_sample(const char *line, size_t n)
{
	size_t i = 0;
	char value[64];
	char *end;
	if (!n || !name_char(line[0], true))
		fail_msg("bad sample '%.*s'", (int)n, line);
	while (i < n && name_char(line[i], false))
		i++;
	if (i < n && line[i] == '{') {
		bool quoted = false;
		for (i++; i < n && (quoted || line[i] != '}'); i++) {
			if (line[i] == '\\' && quoted)
				i++;
			else if (line[i] == '"')
				quoted = !quoted;
		}
		if (i == n)
			fail_msg("unclosed labels '%.*s'", (int)n, line);
		i++;
	}
	if (i >= n || line[i] != ' ' || n - i - 1 >= sizeof(value))
		fail_msg("bad sample '%.*s'", (int)n, line);
	snprintf(value, sizeof(value), "%.*s", (int)(n - i - 1), line + i + 1);
	strtod(value, &end);
	if (!*value || *end)
		fail_msg("value '%s' is not a number in '%.*s'", value, (int)n,
			 line);
}

static void test_metrics_format(void **state)
{
	env e = setup();
	char *prom = metrics(e.db);
	char help[128], type[128];
	(void)state;

	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		int helps = 0, types = 0;
		snprintf(help, sizeof(help), "# HELP %s ", families[f]);
		snprintf(type, sizeof(type), "# TYPE %s gauge", families[f]);
		for (const char *p = prom; *p;) {
			const char *nl = strchr(p, '\n');
			size_t len = (size_t)(nl - p);
			assert_non_null(nl);
			helps += !strncmp(p, help, strlen(help));
			types += len == strlen(type) &&
				 !strncmp(p, type, strlen(type));
			p = nl + 1;
		}
		if (helps != 1 || types != 1)
			fail_msg("%s: %d HELP, %d TYPE lines", families[f],
				 helps, types);
	}
	for (const char *p = prom; *p;) {
		const char *nl = strchr(p, '\n');
		if (*p != '#')
			check_sample(p, (size_t)(nl - p));
		else if (strncmp(p, "# HELP ", 7) && strncmp(p, "# TYPE ", 7))
			fail_msg("bad comment '%.*s'", (int)(nl - p), p);
		p = nl + 1;
	}
	free(prom);
	close_watch(e.db);
}

static void test_metrics_samples(void **state)
{
	env e = setup();
	char *prom = metrics(e.db);
	char line[512];
	(void)state;

	assert_line(prom,
		    "# HELP ipam_pool_percent_allocated PercentAllocated: "
		    "percentage of the pool's space allocated to other "
		    "pools");
	assert_line(prom, "# TYPE ipam_pool_percent_allocated gauge");
	assert_line(prom, "ipam_total_active_ips 2");

#define POOL(metric, id, locale, value)                                        \
	snprintf(line, sizeof(line),                                           \
		 metric "{scope_id=\"%s\",pool_id=\"%s\",locale=\"" locale     \
			"\",address_family=\"ipv4\"} " value,                  \
		 e.priv_id, id);                                               \
	assert_line(prom, line)

	POOL("ipam_pool_percent_allocated", e.top_id, "none", "0.390625");
	POOL("ipam_pool_percent_assigned", e.top_id, "none", "0");
	POOL("ipam_pool_percent_available", e.top_id, "none", "99.609375");
	POOL("ipam_pool_percent_allocated", e.regional_id, "us-east-1",
	     "0.390625");
	POOL("ipam_pool_percent_assigned", e.regional_id, "us-east-1",
	     "0.390625");
	POOL("ipam_pool_percent_available", e.regional_id, "us-east-1",
	     "99.21875");
	POOL("ipam_pool_percent_allocated", e.dev_id, "us-east-1", "0");
	POOL("ipam_pool_percent_assigned", e.dev_id, "us-east-1", "25");
	POOL("ipam_pool_percent_available", e.dev_id, "us-east-1", "75");
	POOL("ipam_pool_compliant_resource_cidrs", e.dev_id, "us-east-1", "1");
	POOL("ipam_pool_noncompliant_resource_cidrs", e.dev_id, "us-east-1",
	     "0");
	POOL("ipam_pool_compliant_resource_cidrs", e.regional_id, "us-east-1",
	     "0");
	POOL("ipam_pool_noncompliant_resource_cidrs", e.regional_id,
	     "us-east-1", "1");
#undef POOL

#define SCOPE(metric, id, family, value)                                       \
	snprintf(line, sizeof(line),                                           \
		 metric "{scope_id=\"%s\",address_family=\"" family            \
			"\"} " value,                                          \
		 id);                                                          \
	assert_line(prom, line)

	SCOPE("ipam_scope_compliant_resource_cidrs", e.priv_id, "ipv4", "1");
	SCOPE("ipam_scope_noncompliant_resource_cidrs", e.priv_id, "ipv4", "1");
	SCOPE("ipam_scope_managed_resource_cidrs", e.priv_id, "ipv4", "2");
	SCOPE("ipam_scope_unmanaged_resource_cidrs", e.priv_id, "ipv4", "1");
	SCOPE("ipam_scope_overlapping_resource_cidrs", e.priv_id, "ipv4", "2");
	SCOPE("ipam_scope_overlapping_resource_cidrs", e.priv_id, "ipv6", "0");
	SCOPE("ipam_scope_unmanaged_resource_cidrs", e.pub_id, "ipv4", "3");
	SCOPE("ipam_scope_managed_resource_cidrs", e.pub_id, "ipv4", "0");
#undef SCOPE

	snprintf(line, sizeof(line),
		 "ipam_vpc_ip_usage{address_family=\"ipv4\",owner_id="
		 "\"111122223333\",region=\"us-east-1\",scope_id=\"%s\","
		 "resource_id=\"vpc-u\",vpc_id=\"vpc-u\"} 0.5",
		 e.priv_id);
	assert_line(prom, line);
	snprintf(line, sizeof(line),
		 "ipam_vpc_ip_usage{address_family=\"ipv4\",owner_id="
		 "\"111122223333\",region=\"us-east-1\",scope_id=\"%s\","
		 "resource_id=\"vpc-o\",vpc_id=\"vpc-o\"} 0",
		 e.priv_id);
	assert_line(prom, line);
	snprintf(line, sizeof(line),
		 "ipam_subnet_ip_usage{address_family=\"ipv4\",owner_id="
		 "\"111122223333\",region=\"us-east-1\",scope_id=\"%s\","
		 "resource_id=\"subnet-1\",subnet_id=\"subnet-1\",vpc_id="
		 "\"vpc-u\"} 0.25",
		 e.priv_id);
	assert_line(prom, line);
	snprintf(line, sizeof(line),
		 "ipam_public_ipv4_pool_ip_usage{address_family=\"ipv4\","
		 "owner_id=\"0\",region=\"us-east-1\",scope_id=\"%s\","
		 "resource_id=\"ipv4pool-ec2-0123\",public_ipv4_pool_id="
		 "\"ipv4pool-ec2-0123\"} 0.0078125",
		 e.pub_id);
	assert_line(prom, line);
	/* Ignored resources and subnets without a known usage: no sample. */
	assert_null(strstr(prom, "resource_id=\"vpc-i\""));
	assert_null(strstr(prom, "resource_id=\"subnet-2\""));
	free(prom);
	close_watch(e.db);
}

/* Label values are escaped. */
static void test_metrics_label_escaping(void **state)
{
	ipam *db = open_watch(NULL, NULL);
	int64_t priv = scope_key(db, "private");
	char *prom;
	(void)state;

	res_make(db, priv, "vpc-q", "a\"b\\c", "local", NULL, NULL,
		 "10.0.0.0/24", NULL);
	prom = metrics(db);
	assert_contains(prom, "owner_id=\"a\\\"b\\\\c\"");
	free(prom);
	close_watch(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		WATCH_TEST(test_scope_status_private),
		WATCH_TEST(test_scope_status_public_json),
		WATCH_TEST(test_scope_status_follows),
		WATCH_TEST(test_metrics_format),
		WATCH_TEST(test_metrics_samples),
		WATCH_TEST(test_metrics_label_escaping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
