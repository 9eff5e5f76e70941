/*
 * test_discovery.c - resource discoveries (SPEC §5.3, L2337-L2580): the
 * built-in ones, snapshots as JSON lines and as the unmodified output of
 * `aws ec2 describe-vpcs`, `describe-subnets` and `describe-addresses`,
 * what a snapshot adds, updates and ends, all-or-nothing refusals,
 * ownership, moving a discovery to another scope, auto-import of what a
 * snapshot brings, and the `host` discovery over rtnetlink.
 *
 * The AWS documents are written with ' for " (so they stay readable here)
 * and turned into JSON by aws_doc().
 */
#include "watch_fixture.h"

static const char *const locales[] = {"us-east-1", "us-east-2", NULL};

/* The line that makes a JSON-lines feed a complete snapshot. */
#define EOS "{\"EndOfSnapshot\":true}\n"

/* A copy of `text` with every ' turned into "; the caller frees. */
static char *aws_doc(const char *quoted)
{
	char *out = strdup(quoted);
	assert_non_null(out);
	for (char *p = out; *p; p++)
		if (*p == '\'')
			*p = '"';
	return out;
}

static void feed_doc_ok(ipam *db, const char *disco, const char *quoted)
{
	char *doc = aws_doc(quoted);
	feed_ok(db, disco, doc);
	free(doc);
}

static ipam_discovery_info disco_info(ipam *db, const char *name)
{
	ipam_discovery_info d;
	ipam_err err = {0};
	if (ipam_discovery_get(db, name, &d, &err))
		fail_msg("discovery_get %s: %s", name, err.msg);
	return d;
}

static void disco_new(ipam *db, const char *name)
{
	ipam_err err = {0};
	if (ipam_discovery_create(db, name, &err))
		fail_msg("discovery_create %s: %s", name, err.msg);
}

static char *scope_resources_json(ipam *db, int64_t scope)
{
	char *out = NULL;
	size_t len = 0;
	ipam_err err = {0};
	if (ipam_render_resources_json(db, scope, 0, &out, &len, &err))
		fail_msg("resources json: %s", err.msg);
	return out;
}

static const char *tag_of(ipam *db, int64_t res, const char *key)
{
	static char value[IPAM_TAG_VALUE_MAX + 1];
	char *got = NULL;
	ipam_err err = {0};
	if (ipam_resource_tag_get(db, res, key, &got, &err))
		return "(none)";
	snprintf(value, sizeof(value), "%s", got);
	free(got);
	return value;
}

/* `aws ec2 describe-vpcs`: one VPC with two associated IPv4 CIDRs, one
 * disassociated and an IPv6 block, and a default VPC. */
static const char describe_vpcs[] =
	"{\n"
	"    'Vpcs': [\n"
	"        {\n"
	"            'CidrBlock': '10.0.0.0/16',\n"
	"            'DhcpOptionsId': 'dopt-19edf471',\n"
	"            'State': 'available',\n"
	"            'VpcId': 'vpc-0e9801d129EXAMPLE',\n"
	"            'OwnerId': '111122223333',\n"
	"            'InstanceTenancy': 'default',\n"
	"            'Ipv6CidrBlockAssociationSet': [\n"
	"                {\n"
	"                    'AssociationId': "
	"'vpc-cidr-assoc-0c9e2a1bEXAMPLE',\n"
	"                    'Ipv6CidrBlock': '2600:1f16:115:200::/56',\n"
	"                    'Ipv6CidrBlockState': {\n"
	"                        'State': 'associated'\n"
	"                    },\n"
	"                    'NetworkBorderGroup': 'us-east-2',\n"
	"                    'Ipv6Pool': 'Amazon'\n"
	"                }\n"
	"            ],\n"
	"            'CidrBlockAssociationSet': [\n"
	"                {\n"
	"                    'AssociationId': "
	"'vpc-cidr-assoc-062c64cfafEXAMPLE',\n"
	"                    'CidrBlock': '10.0.0.0/16',\n"
	"                    'CidrBlockState': {\n"
	"                        'State': 'associated'\n"
	"                    }\n"
	"                },\n"
	"                {\n"
	"                    'AssociationId': "
	"'vpc-cidr-assoc-0a5a3b1c2dEXAMPLE',\n"
	"                    'CidrBlock': '10.1.0.0/16',\n"
	"                    'CidrBlockState': {\n"
	"                        'State': 'associated'\n"
	"                    }\n"
	"                },\n"
	"                {\n"
	"                    'AssociationId': "
	"'vpc-cidr-assoc-0bbbbbbbbbEXAMPLE',\n"
	"                    'CidrBlock': '10.2.0.0/16',\n"
	"                    'CidrBlockState': {\n"
	"                        'State': 'disassociated'\n"
	"                    }\n"
	"                }\n"
	"            ],\n"
	"            'IsDefault': false,\n"
	"            'Tags': [\n"
	"                {\n"
	"                    'Key': 'Name',\n"
	"                    'Value': 'Production'\n"
	"                },\n"
	"                {\n"
	"                    'Key': 'environment',\n"
	"                    'Value': 'prod'\n"
	"                }\n"
	"            ]\n"
	"        },\n"
	"        {\n"
	"            'CidrBlock': '172.31.0.0/16',\n"
	"            'DhcpOptionsId': 'dopt-19edf471',\n"
	"            'State': 'available',\n"
	"            'VpcId': 'vpc-06e4ab6c6cEXAMPLE',\n"
	"            'OwnerId': '222222222222',\n"
	"            'InstanceTenancy': 'default',\n"
	"            'CidrBlockAssociationSet': [\n"
	"                {\n"
	"                    'AssociationId': "
	"'vpc-cidr-assoc-00b17b4eddEXAMPLE',\n"
	"                    'CidrBlock': '172.31.0.0/16',\n"
	"                    'CidrBlockState': {\n"
	"                        'State': 'associated'\n"
	"                    }\n"
	"                }\n"
	"            ],\n"
	"            'IsDefault': true\n"
	"        }\n"
	"    ]\n"
	"}\n";

/* `aws ec2 describe-subnets`: 187 free of a /24 (plus the 5 AWS keeps)
 * is 64 in use, 25 %; a default subnet with nothing in use. */
static const char describe_subnets[] =
	"{\n"
	"    'Subnets': [\n"
	"        {\n"
	"            'AvailabilityZone': 'us-east-2c',\n"
	"            'AvailabilityZoneId': 'use2-az3',\n"
	"            'AvailableIpAddressCount': 187,\n"
	"            'CidrBlock': '10.0.1.0/24',\n"
	"            'DefaultForAz': false,\n"
	"            'MapPublicIpOnLaunch': false,\n"
	"            'State': 'available',\n"
	"            'SubnetId': 'subnet-0bb1c79de3EXAMPLE',\n"
	"            'VpcId': 'vpc-0e9801d129EXAMPLE',\n"
	"            'OwnerId': '111122223333',\n"
	"            'AssignIpv6AddressOnCreation': false,\n"
	"            'Ipv6CidrBlockAssociationSet': [\n"
	"                {\n"
	"                    'AssociationId': "
	"'subnet-cidr-assoc-0a1b2cEXAMPLE',\n"
	"                    'Ipv6CidrBlock': '2600:1f16:115:200::/64',\n"
	"                    'Ipv6CidrBlockState': {\n"
	"                        'State': 'associated'\n"
	"                    }\n"
	"                }\n"
	"            ],\n"
	"            'Tags': [\n"
	"                {\n"
	"                    'Key': 'Name',\n"
	"                    'Value': 'prod-a'\n"
	"                }\n"
	"            ],\n"
	"            'SubnetArn': 'arn:aws:ec2:us-east-2:111122223333:subnet/"
	"subnet-0bb1c79de3EXAMPLE',\n"
	"            'EnableDns64': false,\n"
	"            'Ipv6Native': false,\n"
	"            'PrivateDnsNameOptionsOnLaunch': {\n"
	"                'HostnameType': 'ip-name',\n"
	"                'EnableResourceNameDnsARecord': false,\n"
	"                'EnableResourceNameDnsAAAARecord': false\n"
	"            }\n"
	"        },\n"
	"        {\n"
	"            'AvailabilityZone': 'us-east-2a',\n"
	"            'AvailabilityZoneId': 'use2-az1',\n"
	"            'AvailableIpAddressCount': 4091,\n"
	"            'CidrBlock': '172.31.0.0/20',\n"
	"            'DefaultForAz': true,\n"
	"            'MapPublicIpOnLaunch': true,\n"
	"            'State': 'available',\n"
	"            'SubnetId': 'subnet-0a9d8c7b6aEXAMPLE',\n"
	"            'VpcId': 'vpc-06e4ab6c6cEXAMPLE',\n"
	"            'OwnerId': '222222222222',\n"
	"            'AssignIpv6AddressOnCreation': false,\n"
	"            'Ipv6CidrBlockAssociationSet': [],\n"
	"            'SubnetArn': 'arn:aws:ec2:us-east-2:222222222222:subnet/"
	"subnet-0a9d8c7b6aEXAMPLE',\n"
	"            'EnableDns64': false,\n"
	"            'Ipv6Native': false\n"
	"        }\n"
	"    ]\n"
	"}\n";

/* `aws ec2 describe-addresses`: an associated Elastic IP and a free one. */
static const char describe_addresses[] =
	"{\n"
	"    'Addresses': [\n"
	"        {\n"
	"            'InstanceId': 'i-1234567890abcdef0',\n"
	"            'PublicIp': '198.51.100.0',\n"
	"            'AllocationId': 'eipalloc-12345678',\n"
	"            'AssociationId': 'eipassoc-12345678',\n"
	"            'Domain': 'vpc',\n"
	"            'NetworkInterfaceId': 'eni-12345678',\n"
	"            'NetworkInterfaceOwnerId': '123456789012',\n"
	"            'PrivateIpAddress': '10.0.1.241',\n"
	"            'PublicIpv4Pool': 'amazon',\n"
	"            'NetworkBorderGroup': 'us-east-1',\n"
	"            'Tags': [\n"
	"                {\n"
	"                    'Key': 'Name',\n"
	"                    'Value': 'web'\n"
	"                }\n"
	"            ]\n"
	"        },\n"
	"        {\n"
	"            'PublicIp': '203.0.113.25',\n"
	"            'AllocationId': 'eipalloc-87654321',\n"
	"            'Domain': 'vpc',\n"
	"            'PublicIpv4Pool': 'amazon',\n"
	"            'NetworkBorderGroup': 'us-east-2'\n"
	"        }\n"
	"    ]\n"
	"}\n";

/* ---- the discoveries themselves ---- */

static void test_builtins(void **state)
{
	ipam *db = open_watch(NULL, NULL);
	ipam_strlist list = {0};
	ipam_discovery_info d;
	ipam_kind kind;
	int64_t key = 0;
	ipam_err err = {0};
	(void)state;

	assert_ok(ipam_discovery_list(db, &list, &err), err);
	assert_int_equal(list.count, 2);
	assert_string_equal(list.items[0], "default");
	assert_string_equal(list.items[1], "host");
	ipam_strlist_free(&list);
	d = disco_info(db, "default");
	assert_string_equal(d.name, "default");
	assert_string_equal(d.scope, "private");
	assert_int_equal(d.scope_key, scope_key(db, "private"));
	assert_int_equal(strncmp(d.id, "ipam-res-disco-", 15), 0);
	assert_string_equal(d.locale, "");
	assert_int_equal(d.resources, 0);
	assert_int_equal(d.last_feed, 0);
	assert_ok(ipam_id_lookup(db, d.id, &kind, &key, &err), err);
	assert_int_equal(kind, IPAM_KIND_DISCOVERY);
	assert_int_equal(key, d.key);
	assert_string_not_equal(disco_info(db, "host").id, d.id);

	assert_code(ipam_discovery_delete(db, "default", &err), err, IPAM_EPERM,
		    "discovery 'default' is built in and cannot be deleted");
	assert_code(ipam_discovery_delete(db, "host", &err), err, IPAM_EPERM,
		    "discovery 'host' is built in");
	assert_code(ipam_discovery_get(db, "nope", &d, &err), err, IPAM_ENOENT,
		    "no discovery 'nope'");
	close_watch(db);
}

static void test_create_delete(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	ipam_strlist list = {0};
	ipam_err err = {0};
	int64_t t1 = T("2026-04-01T00:00:00Z");
	(void)state;

	disco_new(db, "aws");
	assert_code(ipam_discovery_create(db, "aws", &err), err, IPAM_EEXIST,
		    "discovery 'aws' exists");
	assert_code(ipam_discovery_create(db, "a/b", &err), err, IPAM_EINVAL,
		    NULL);
	assert_code(ipam_discovery_create(db, "", &err), err, IPAM_EINVAL,
		    NULL);
	assert_ok(ipam_discovery_list(db, &list, &err), err);
	assert_int_equal(list.count, 3);
	assert_string_equal(list.items[0], "aws");
	ipam_strlist_free(&list);

	/* Deleting one ends what it sees. */
	feed_ok(db, "aws",
		"{\"ResourceId\":\"vpc-1\",\"ResourceCidr\":\"10.0.0.0/"
		"24\"}\n");
	assert_int_equal(disco_info(db, "aws").resources, 1);
	clock_now = t1;
	assert_ok(ipam_discovery_delete(db, "aws", &err), err);
	assert_false(res_exists(db, priv, "vpc-1"));
	assert_text_free(
		hist(db, priv, "10.0.0.0/24", ALL_TIME, false),
		"SampledStartTime SampledEndTime ResourceCidr ResourceType "
		"ResourceId ResourceRegion ResourceOwnerId VpcId "
		"ResourceComplianceStatus ResourceOverlapStatus ResourceName\n"
		"2026-11-27T10:00:00Z 2026-04-01T00:00:00Z 10.0.0.0/24 vpc "
		"vpc-1 "
		"us-east-1 - vpc-1 unmanaged nonoverlapping -\n");
	assert_code(ipam_discovery_delete(db, "aws", &err), err, IPAM_ENOENT,
		    "no discovery 'aws'");
	assert_ok(ipam_discovery_list(db, &list, &err), err);
	assert_int_equal(list.count, 2);
	ipam_strlist_free(&list);
	close_watch(db);
}

/* ---- snapshots ---- */

static void test_feed_json_lines(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t vpc, subnet, inst;
	ipam_resource_info info;
	ipam_discovery_info d;
	(void)state;

	disco_new(db, "aws");
	clock_now = T("2026-06-01T12:00:00Z");
	/* Two lines of one resource are two CIDRs; CRLF, blank lines and
	 * unknown fields are fine; tags in both forms. */
	feed_ok(db, "aws",
		"{\"ResourceId\":\"vpc-0a1\",\"ResourceType\":\"vpc\","
		"\"ResourceCidr\":\"10.0.0.0/"
		"16\",\"ResourceRegion\":\"us-east-1\","
		"\"ResourceOwnerId\":\"111122223333\",\"ResourceTags\":"
		"[{\"Key\":\"Name\",\"Value\":\"core\"},{\"Key\":\"env\","
		"\"Value\":\"prod\"}],\"IpamResourceDiscoveryId\":\"x\"}\r\n"
		"\n"
		"{\"ResourceId\":\"vpc-0a1\",\"ResourceType\":\"vpc\","
		"\"ResourceCidr\":\"10.1.0.0/"
		"16\",\"ResourceRegion\":\"us-east-1\","
		"\"ResourceOwnerId\":\"111122223333\",\"ResourceTags\":"
		"[{\"Key\":\"Name\",\"Value\":\"core\"},{\"Key\":\"env\","
		"\"Value\":\"prod\"}]}\n"
		"{\"ResourceId\":\"subnet-0b2\",\"ResourceCidr\":\"10.0.1.0/"
		"24\","
		"\"VpcId\":\"vpc-0a1\",\"ResourceRegion\":\"us-east-1\","
		"\"IpUsage\":0.25,\"ResourceTags\":{\"tier\":\"web\"}}\n"
		"{\"ResourceId\":\"i-0c3\",\"ResourceCidr\":\"10.0.1.10/32\","
		"\"VpcId\":\"vpc-0a1\",\"ResourceName\":\"bastion\"}\n");
	assert_string_equal(res_ids(db, priv), "i-0c3\nsubnet-0b2\nvpc-0a1\n");
	vpc = res_key(db, priv, "vpc-0a1");
	subnet = res_key(db, priv, "subnet-0b2");
	inst = res_key(db, priv, "i-0c3");

	info = res_info(db, vpc);
	assert_string_equal(info.type, "vpc");
	assert_string_equal(info.name, "core"); /* the Name tag */
	assert_string_equal(info.owner, "111122223333");
	assert_string_equal(info.locale, "us-east-1");
	assert_string_equal(info.discovery, "aws");
	assert_int_equal(info.created, T("2026-06-01T12:00:00Z"));
	assert_string_equal(tag_of(db, vpc, "env"), "prod");
	assert_string_equal(res_cidrs(db, vpc), "10.0.0.0/16\n10.1.0.0/16\n");
	assert_string_equal(rc_state(db, vpc, "10.0.0.0/16"),
			    "unmanaged unmanaged nonoverlapping");
	/* The subnet covers 256 of the first /16. */
	assert_string_equal(rc_row(db, vpc, "10.0.0.0/16").ip_usage,
			    "0.390625");
	assert_string_equal(rc_row(db, vpc, "10.1.0.0/16").ip_usage, "0");

	info = res_info(db, subnet);
	assert_string_equal(info.type, "subnet");
	assert_string_equal(info.vpc_id, "vpc-0a1");
	assert_true(info.has_active_ips);
	assert_string_equal(U(info.active_ips), "64");
	assert_string_equal(tag_of(db, subnet, "tier"), "web");
	assert_string_equal(rc_row(db, subnet, "10.0.1.0/24").ip_usage, "25");

	info = res_info(db, inst);
	assert_string_equal(info.type, "instance");
	assert_string_equal(info.name, "bastion");
	assert_string_equal(info.locale, "us-east-1"); /* the home locale */

	d = disco_info(db, "aws");
	assert_int_equal(d.resources, 3);
	assert_int_equal(d.last_feed, T("2026-06-01T12:00:00Z"));
	close_watch(db);
}

static void test_feed_describe_vpcs(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t prod, dflt;
	ipam_resource_info info;
	ipam_err err = {0};
	(void)state;

	disco_new(db, "vpcs");
	/* describe-vpcs has no region: the discovery's locale is used. */
	assert_ok(ipam_discovery_set_locale(db, "vpcs", "us-east-2", &err),
		  err);
	assert_code(ipam_discovery_set_locale(db, "vpcs", "us east", &err), err,
		    IPAM_EINVAL, NULL);
	assert_string_equal(disco_info(db, "vpcs").locale, "us-east-2");
	feed_doc_ok(db, "vpcs", describe_vpcs);
	assert_string_equal(res_ids(db, priv),
			    "vpc-06e4ab6c6cEXAMPLE\nvpc-0e9801d129EXAMPLE\n");
	prod = res_key(db, priv, "vpc-0e9801d129EXAMPLE");
	dflt = res_key(db, priv, "vpc-06e4ab6c6cEXAMPLE");
	/* Associated CIDRs only. */
	/* Associated CIDRs only; the Amazon IPv6 block is public space: the
	 * same VPC in the public scope (L3647). */
	assert_string_equal(res_cidrs(db, prod), "10.0.0.0/16\n"
						 "10.1.0.0/16\n");
	assert_string_equal(res_cidrs(db, res_key(db, scope_key(db, "public"),
						  "vpc-0e9801d129EXAMPLE")),
			    "2600:1f16:115:200::/56\n");
	info = res_info(db, prod);
	assert_string_equal(info.type, "vpc");
	assert_string_equal(info.name, "Production");
	assert_string_equal(info.owner, "111122223333");
	assert_string_equal(info.locale, "us-east-2");
	assert_string_equal(info.vpc_id, "vpc-0e9801d129EXAMPLE");
	assert_string_equal(tag_of(db, prod, "environment"), "prod");
	assert_string_equal(res_cidrs(db, dflt), "172.31.0.0/16\n");
	info = res_info(db, dflt);
	assert_string_equal(info.owner, "222222222222");
	assert_string_equal(info.name, "");
	assert_string_equal(info.locale, "us-east-2");
	close_watch(db);
}

static void test_feed_describe_subnets(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t a, b;
	ipam_resource_info info;
	(void)state;

	disco_new(db, "subnets");
	feed_doc_ok(db, "subnets", describe_subnets);
	assert_string_equal(res_ids(db, priv), "subnet-0a9d8c7b6aEXAMPLE\n"
					       "subnet-0bb1c79de3EXAMPLE\n");
	a = res_key(db, priv, "subnet-0bb1c79de3EXAMPLE");
	b = res_key(db, priv, "subnet-0a9d8c7b6aEXAMPLE");
	info = res_info(db, a);
	assert_string_equal(info.type, "subnet");
	assert_string_equal(info.vpc_id, "vpc-0e9801d129EXAMPLE");
	assert_string_equal(info.owner, "111122223333");
	assert_string_equal(info.locale, "us-east-2"); /* zone less letter */
	assert_string_equal(info.name, "prod-a");
	assert_string_equal(U(info.active_ips), "64");
	assert_string_equal(res_cidrs(db, a), "10.0.1.0/24\n");
	assert_string_equal(res_cidrs(db, res_key(db, scope_key(db, "public"),
						  "subnet-0bb1c79de3EXAMPLE")),
			    "2600:1f16:115:200::/64\n");
	assert_res_status(db, a, "10.0.1.0/24 - - - - 25\n");
	info = res_info(db, b);
	assert_string_equal(U(info.active_ips), "0");
	assert_string_equal(info.vpc_id, "vpc-06e4ab6c6cEXAMPLE");
	assert_res_status(db, b, "172.31.0.0/20 - - - - 0\n");
	close_watch(db);
}

/*
 * describe-subnets keeps a disassociated IPv6 block in the list for a
 * while, with Ipv6CidrBlockState.State "disassociated" (describe-vpcs
 * likewise; the VPC path skips those). The subnet no longer has it.
 */
static void test_feed_subnet_disassociated_ipv6(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	(void)state;

	feed_doc_ok(db, "default",
		    "{'Subnets': [{'AvailabilityZone': 'us-east-1b',"
		    " 'CidrBlock': '10.0.2.0/24', 'SubnetId': 'subnet-0f1e',"
		    " 'VpcId': 'vpc-0e98', 'OwnerId': '111122223333',"
		    " 'Ipv6CidrBlockAssociationSet': [{'AssociationId':"
		    " 'subnet-cidr-assoc-01', 'Ipv6CidrBlock':"
		    " '2600:1f16:115:2ff::/64', 'Ipv6CidrBlockState':"
		    " {'State': 'disassociated'}}]}]}");
	assert_string_equal(res_cidrs(db, res_key(db, priv, "subnet-0f1e")),
			    "10.0.2.0/24\n");
	close_watch(db);
}

static void test_feed_describe_addresses(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t pub = scope_key(db, "public");
	int64_t a, b, c;
	ipam_resource_info info;
	ipam_err err = {0};
	(void)state;

	disco_new(db, "eips");
	assert_ok(ipam_discovery_set_scope(db, "eips", "public", &err), err);
	assert_string_equal(disco_info(db, "eips").scope, "public");
	feed_doc_ok(db, "eips", describe_addresses);
	assert_string_equal(res_ids(db, pub),
			    "eipalloc-12345678\neipalloc-87654321\n");
	a = res_key(db, pub, "eipalloc-12345678");
	b = res_key(db, pub, "eipalloc-87654321");
	info = res_info(db, a);
	assert_string_equal(info.type, "eip");
	assert_string_equal(info.locale, "us-east-1");
	assert_string_equal(info.owner, "123456789012");
	assert_string_equal(info.name, "web");
	assert_string_equal(res_cidrs(db, a), "198.51.100.0/32\n");
	assert_string_equal(rc_state(db, a, "198.51.100.0/32"),
			    "unmanaged unmanaged nonoverlapping");
	info = res_info(db, b);
	assert_string_equal(info.locale, "us-east-2");
	assert_string_equal(info.owner, "");
	assert_string_equal(res_cidrs(db, b), "203.0.113.25/32\n");

	/* An EC2-Classic address has no AllocationId: named by its IP. */
	feed_doc_ok(db, "eips",
		    "{'Addresses': [{'PublicIp': '198.51.100.9', 'Domain':"
		    " 'standard', 'InstanceId': 'i-0abc'}]}");
	assert_string_equal(res_ids(db, pub), "eip-198.51.100.9\n");
	c = res_key(db, pub, "eip-198.51.100.9");
	assert_string_equal(res_info(db, c).type, "eip");
	assert_string_equal(res_info(db, c).locale, "us-east-1");
	close_watch(db);
}

/* One document may carry several describe-* lists. */
static void test_feed_combined_document(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	(void)state;

	feed_doc_ok(db, "default",
		    "{'Vpcs': [{'VpcId': 'vpc-1', 'CidrBlock': '10.0.0.0/16',"
		    " 'OwnerId': '1'}], 'Subnets': [{'SubnetId': 'subnet-1',"
		    " 'VpcId': 'vpc-1', 'CidrBlock': '10.0.0.0/24',"
		    " 'AvailabilityZone': 'us-east-1a'}]}");
	assert_string_equal(res_ids(db, priv), "subnet-1\nvpc-1\n");
	/* No association set: the VPC's CidrBlock. */
	assert_string_equal(res_cidrs(db, res_key(db, priv, "vpc-1")),
			    "10.0.0.0/16\n");
	assert_string_equal(
		rc_row(db, res_key(db, priv, "vpc-1"), "10.0.0.0/16").ip_usage,
		"0.390625");
	close_watch(db);
}

/* A snapshot is complete: what it no longer lists ends, at the time of the
 * snapshot; what it lists unchanged writes nothing. */
static void test_snapshot_replaces(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t t1 = T("2026-07-01T08:00:00Z"), t2 = T("2026-07-01T09:30:00Z");
	int64_t t3 = T("2026-07-01T10:00:00Z");
	static const char first[] =
		"{\"ResourceId\":\"vpc-a\",\"ResourceCidr\":\"10.0.0.0/24\","
		"\"ResourceName\":\"a\"}\n"
		"{\"ResourceId\":\"vpc-b\",\"ResourceCidr\":\"10.0.1.0/24\"}\n";
	char want[1024];
	(void)state;

	disco_new(db, "aws");
	clock_now = t1;
	feed_ok(db, "aws", first);
	clock_now = t2;
	feed_ok(db, "aws", first); /* the same again */
	assert_int_equal(hist_count(db, priv, "10.0.0.0/24", ALL_TIME), 1);
	assert_int_equal(hist_count(db, priv, "10.0.1.0/24", ALL_TIME), 1);
	assert_int_equal(disco_info(db, "aws").last_feed, t2);

	clock_now = t3;
	feed_ok(db, "aws",
		"{\"ResourceId\":\"vpc-a\",\"ResourceCidr\":\"10.0.0.0/24\","
		"\"ResourceName\":\"a\"}\n" EOS);
	assert_false(res_exists(db, priv, "vpc-b"));
	assert_true(res_exists(db, priv, "vpc-a"));
	assert_int_equal(disco_info(db, "aws").resources, 1);
	snprintf(want, sizeof(want),
		 "SampledStartTime SampledEndTime ResourceCidr ResourceType "
		 "ResourceId ResourceRegion ResourceOwnerId VpcId "
		 "ResourceComplianceStatus ResourceOverlapStatus ResourceName\n"
		 "%s %s 10.0.1.0/24 vpc vpc-b us-east-1 - vpc-b unmanaged "
		 "nonoverlapping -\n",
		 TS(t1), TS(t3));
	assert_text_free(hist(db, priv, "10.0.1.0/24", ALL_TIME, false), want);
	assert_int_equal(hist_count(db, priv, "10.0.0.0/24", t3, t3), 1);

	/* An empty snapshot: the discovery sees nothing any more. */
	feed_ok(db, "aws", EOS);
	assert_string_equal(res_ids(db, priv), "");
	close_watch(db);
}

/*
 * Several lines of one resource: a later line that leaves a field out
 * does not erase what an earlier line said. (Core bug: get_string()
 * clears the field when the key is absent, so the second line below
 * resets the region to the default and drops name and owner.)
 */
static void test_feed_lines_merge_fields(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	ipam_resource_info info;
	(void)state;

	feed_ok(db, "default",
		"{\"ResourceId\":\"vpc-a\",\"ResourceCidr\":\"10.0.0.0/24\","
		"\"ResourceRegion\":\"us-east-2\",\"ResourceName\":\"core\","
		"\"ResourceOwnerId\":\"111122223333\"}\n"
		"{\"ResourceId\":\"vpc-a\",\"ResourceCidr\":\"10.0.1.0/"
		"24\"}\n");
	info = res_info(db, res_key(db, priv, "vpc-a"));
	assert_string_equal(res_cidrs(db, info.key),
			    "10.0.0.0/24\n10.0.1.0/24\n");
	assert_string_equal(info.locale, "us-east-2");
	assert_string_equal(info.name, "core");
	assert_string_equal(info.owner, "111122223333");
	close_watch(db);
}

/*
 * A snapshot is applied as one change at one instant: no record may show
 * a state that existed only half-way through it. The first snapshot of
 * two VPCs on the same /24 gives each one record, "overlapping"; a
 * snapshot that drops both ends exactly those two records. (Core bug:
 * the first VPC is inserted and recorded "nonoverlapping", the second
 * one's insertion ends that record at once, leaving a zero-length
 * "nonoverlapping" record; on removal the one left last is refreshed to
 * "nonoverlapping" for zero seconds.)
 */
static void test_snapshot_no_intermediate_records(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t t1 = T("2026-09-01T00:00:00Z"), t2 = T("2026-09-02T00:00:00Z");
	char want[1024];
	(void)state;

	clock_now = t1;
	feed_ok(db, "default",
		"{\"ResourceId\":\"vpc-x\",\"ResourceCidr\":\"10.5.0.0/24\"}\n"
		"{\"ResourceId\":\"vpc-y\",\"ResourceCidr\":\"10.5.0.0/"
		"24\"}\n");
	clock_now = t2;
	feed_ok(db, "default", "[]");
	snprintf(want, sizeof(want),
		 "SampledStartTime SampledEndTime ResourceCidr ResourceType "
		 "ResourceId ResourceRegion ResourceOwnerId VpcId "
		 "ResourceComplianceStatus ResourceOverlapStatus ResourceName\n"
		 "%s %s 10.5.0.0/24 vpc vpc-x us-east-1 - vpc-x unmanaged "
		 "overlapping -\n"
		 "%s %s 10.5.0.0/24 vpc vpc-y us-east-1 - vpc-y unmanaged "
		 "overlapping -\n",
		 TS(t1), TS(t2), TS(t1), TS(t2));
	assert_text_free(hist(db, priv, "10.5.0.0/24", ALL_TIME, false), want);
	close_watch(db);
}

/*
 * A dying writer never ends anything (SPEC principle 14): JSON lines
 * without the end-of-snapshot line add and update only; with it, or as a
 * JSON array, the snapshot is complete and what it lacks ends.
 */
static void test_incomplete_stream_ends_nothing(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	(void)state;

	feed_ok(db, "default",
		"{\"ResourceId\":\"vpc-a\",\"ResourceCidr\":\"10.0.0.0/24\"}\n"
		"{\"ResourceId\":\"vpc-b\",\"ResourceCidr\":\"10.0.1.0/24\"}\n"
		"{\"ResourceId\":\"vpc-c\",\"ResourceCidr\":\"10.0.2.0/"
		"24\"}\n");
	/* the first line of a stream, then the writer died */
	feed_ok(db, "default",
		"{\"ResourceId\":\"vpc-a\",\"ResourceCidr\":\"10.0.0.0/24\","
		"\"ResourceName\":\"renamed\"}\n");
	assert_string_equal(res_ids(db, priv), "vpc-a\nvpc-b\nvpc-c\n");
	assert_int_equal(hist_count(db, priv, "10.0.1.0/24", ALL_TIME), 1);
	/* nothing at all: nothing ends */
	feed_ok(db, "default", "");
	assert_string_equal(res_ids(db, priv), "vpc-a\nvpc-b\nvpc-c\n");
	/* the end-of-snapshot line: vpc-b and vpc-c end */
	feed_ok(db, "default",
		"{\"ResourceId\":\"vpc-a\",\"ResourceCidr\":\"10.0.0.0/24\"}\n"
		"\n" EOS "\n");
	assert_string_equal(res_ids(db, priv), "vpc-a\n");
	/* a JSON array is a complete snapshot */
	feed_ok(db, "default",
		"[{\"ResourceId\":\"vpc-d\",\"ResourceCidr\":\"10.0.3.0/"
		"24\"}]");
	assert_string_equal(res_ids(db, priv), "vpc-d\n");
	feed_ok(db, "default", "[]");
	assert_string_equal(res_ids(db, priv), "");
	close_watch(db);
}

/*
 * Moving a discovery with two overlapping VPCs to another scope: they
 * overlap before and after the move; no record says otherwise. (Same bug:
 * in the old scope the VPC left behind last is recorded "nonoverlapping"
 * from t2 to t2; in the new scope the VPC that arrives first is recorded
 * "nonoverlapping" from t2 to t2.)
 */
static void test_set_scope_no_intermediate_records(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private"), lab = 0;
	int64_t t0 = T("2026-09-01T00:00:00Z"), t1 = T("2026-09-01T01:00:00Z");
	int64_t t2 = T("2026-09-02T00:00:00Z");
	ipam_err err = {0};
	char want[1024];
	(void)state;

	assert_ok(ipam_scope_create(db, "lab", &lab, &err), err);
	clock_now = t0;
	feed_ok(db, "default",
		"{\"ResourceId\":\"vpc-x\",\"ResourceCidr\":\"10.5.0.0/"
		"24\"}\n");
	clock_now = t1;
	feed_ok(db, "default",
		"{\"ResourceId\":\"vpc-x\",\"ResourceCidr\":\"10.5.0.0/24\"}\n"
		"{\"ResourceId\":\"vpc-y\",\"ResourceCidr\":\"10.5.0.0/"
		"24\"}\n");
	clock_now = t2;
	assert_ok(ipam_discovery_set_scope(db, "default", "lab", &err), err);
	assert_string_equal(
		rc_state(db, res_key(db, lab, "vpc-x"), "10.5.0.0/24"),
		"unmanaged unmanaged overlapping");
	snprintf(want, sizeof(want),
		 "SampledStartTime SampledEndTime ResourceCidr ResourceType "
		 "ResourceId ResourceRegion ResourceOwnerId VpcId "
		 "ResourceComplianceStatus ResourceOverlapStatus ResourceName\n"
		 "%s %s 10.5.0.0/24 vpc vpc-x us-east-1 - vpc-x unmanaged "
		 "nonoverlapping -\n"
		 "%s %s 10.5.0.0/24 vpc vpc-x us-east-1 - vpc-x unmanaged "
		 "overlapping -\n"
		 "%s %s 10.5.0.0/24 vpc vpc-y us-east-1 - vpc-y unmanaged "
		 "overlapping -\n",
		 TS(t0), TS(t1), TS(t1), TS(t2), TS(t1), TS(t2));
	assert_text_free(hist(db, priv, "10.5.0.0/24", ALL_TIME, false), want);
	snprintf(want, sizeof(want),
		 "SampledStartTime SampledEndTime ResourceCidr ResourceType "
		 "ResourceId ResourceRegion ResourceOwnerId VpcId "
		 "ResourceComplianceStatus ResourceOverlapStatus ResourceName\n"
		 "%s - 10.5.0.0/24 vpc vpc-x us-east-1 - vpc-x unmanaged "
		 "overlapping -\n"
		 "%s - 10.5.0.0/24 vpc vpc-y us-east-1 - vpc-y unmanaged "
		 "overlapping -\n",
		 TS(t2), TS(t2));
	assert_text_free(hist(db, lab, "10.5.0.0/24", ALL_TIME, false), want);
	close_watch(db);
}

/*
 * The same CIDR of a subnet on two lines (two concatenated exports) is
 * one CIDR with one usage. (Core bug: parse_line() adds IpUsage x size to
 * the active addresses for every line, after add_cidr() dropped the
 * duplicate CIDR: 0.25 twice gives 128 of 256 active, 50 %.)
 */
static void test_feed_duplicate_line_counts_once(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private"), subnet;
	(void)state;

	feed_ok(db, "default",
		"{\"ResourceId\":\"subnet-1\",\"ResourceCidr\":\"10.0.0.0/24\","
		"\"IpUsage\":0.25}\n"
		"{\"ResourceId\":\"subnet-1\",\"ResourceCidr\":\"10.0.0.0/24\","
		"\"IpUsage\":0.25}\n");
	subnet = res_key(db, priv, "subnet-1");
	assert_string_equal(res_cidrs(db, subnet), "10.0.0.0/24\n");
	assert_string_equal(U(res_info(db, subnet).active_ips), "64");
	assert_string_equal(rc_row(db, subnet, "10.0.0.0/24").ip_usage, "25");
	close_watch(db);
}

/*
 * A resource changes CIDR and name in one snapshot: the old CIDR's record
 * ends, the new CIDR's starts with the new name. No record may claim that
 * the old CIDR was held under the new name. (Core bug: the attributes are
 * synced first and restart the old CIDR's record with the new name, which
 * the CIDR sync then ends at once, leaving a zero-length record
 * "10.0.0.0/24 ... a2 [t2, t2]".)
 */
static void test_snapshot_cidr_and_name_change(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t t1 = T("2026-07-01T08:00:00Z"), t4 = T("2026-07-01T11:00:00Z");
	char want[1024];
	(void)state;

	clock_now = t1;
	feed_ok(db, "default",
		"{\"ResourceId\":\"vpc-a\",\"ResourceCidr\":\"10.0.0.0/24\","
		"\"ResourceName\":\"a\"}\n");
	clock_now = t4;
	feed_ok(db, "default",
		"{\"ResourceId\":\"vpc-a\",\"ResourceCidr\":\"10.0.2.0/24\","
		"\"ResourceName\":\"a2\"}\n");
	snprintf(want, sizeof(want),
		 "SampledStartTime SampledEndTime ResourceCidr ResourceType "
		 "ResourceId ResourceRegion ResourceOwnerId VpcId "
		 "ResourceComplianceStatus ResourceOverlapStatus ResourceName\n"
		 "%s - 10.0.2.0/24 vpc vpc-a us-east-1 - vpc-a unmanaged "
		 "nonoverlapping a2\n",
		 TS(t4));
	assert_text_free(hist(db, priv, "10.0.2.0/24", ALL_TIME, false), want);
	snprintf(want, sizeof(want),
		 "SampledStartTime SampledEndTime ResourceCidr ResourceType "
		 "ResourceId ResourceRegion ResourceOwnerId VpcId "
		 "ResourceComplianceStatus ResourceOverlapStatus ResourceName\n"
		 "%s %s 10.0.0.0/24 vpc vpc-a us-east-1 - vpc-a unmanaged "
		 "nonoverlapping a\n",
		 TS(t1), TS(t4));
	assert_text_free(hist(db, priv, "10.0.0.0/24", ALL_TIME, false), want);
	close_watch(db);
}

/* A type change under the same id starts the resource over. */
static void test_snapshot_type_change(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	(void)state;

	feed_ok(db, "default",
		"{\"ResourceId\":\"res-1\",\"ResourceType\":\"instance\","
		"\"ResourceCidr\":\"10.0.0.5/32\"}\n");
	clock_now += 10;
	feed_ok(db, "default",
		"{\"ResourceId\":\"res-1\",\"ResourceType\":\"network-"
		"interface\","
		"\"ResourceCidr\":\"10.0.0.5/32\"}\n");
	assert_string_equal(res_info(db, res_key(db, priv, "res-1")).type,
			    "network-interface");
	assert_int_equal(hist_count(db, priv, "10.0.0.5/32", ALL_TIME), 2);
	assert_int_equal(hist_count(db, priv, "10.0.0.5/32", clock_now + 1,
				    clock_now + 1),
			 1);
	close_watch(db);
}

struct refusal {
	const char *text, *reason;
};

/* A malformed record refuses the whole snapshot, naming it; nothing
 * changes. */
static void test_malformed_refuses_all(void **state)
{
	static const struct refusal cases[] = {
		{"{\"ResourceId\":\"vpc-c\",\"ResourceCidr\":\"10.0.5.0/24\"}\n"
		 "{\"ResourceId\":\"vpc-d\",\"ResourceCidr\":\"10.0.6.0/24\"}\n"
		 "{\"ResourceId\":\"vpc-e\",\"ResourceCidr\":\"10.0.0.1/"
		 "24\"}\n",
		 "line 3: "},
		{"{\"ResourceId\":\"vpc-c\",\"ResourceCidr\":\"10.0.5.0/24\"}\n"
		 "{\"ResourceId\":\"vpc-d\",\"ResourceCidr\":\n",
		 "line 2: "},
		{"{\"ResourceId\":\"vpc-c\"}\n{\"ResourceId\":\"vpc-d\"}\n",
		 "line 1: ResourceId and ResourceCidr are required"},
		{"{\"ResourceId\":\"vpc-c\",\"ResourceCidr\":\"10.0.5.0/24\"}\n"
		 "{\"ResourceId\":\"rtr-1\",\"ResourceCidr\":\"10.0.6.0/"
		 "24\"}\n",
		 "line 2: unknown resource type '(none)'"},
		{"{\"ResourceId\":\"x-1\",\"ResourceType\":\"router\","
		 "\"ResourceCidr\":\"10.0.6.0/24\"}\n{}\n",
		 "line 1: unknown resource type 'router'"},
		{"{\"ResourceId\":\"subnet-9\",\"ResourceCidr\":\"10.0.6.0/"
		 "24\","
		 "\"IpUsage\":1.5}\n{}\n",
		 "line 1: IpUsage must be a number from 0 to 1"},
		{"{\"ResourceId\":\"vpc-c\",\"ResourceCidr\":\"10.0.5.0/24\"}\n"
		 "{\"ResourceId\":\"vpc-c\",\"ResourceType\":\"subnet\","
		 "\"ResourceCidr\":\"10.0.6.0/24\"}\n",
		 "line 2: resource 'vpc-c' has two types"},
		{"{\"ResourceId\":\"vpc-c\",\"ResourceCidr\":\"10.0.5.0/24\","
		 "\"ResourceTags\":{\"a\":1}}\n{}\n",
		 "line 1: tag 'a' is not a string"},
		{"{\"ResourceId\":\"vpc-c\",\"ResourceCidr\":\"10.0.5.0/24\","
		 "\"ResourceRegion\":\"us east\"}\n{}\n",
		 "invalid locale 'us east'"},
		{"{\"ResourceId\":\"vpc-c\",\"ResourceCidr\":10}\n{}\n",
		 "line 1: ResourceCidr must be a single-line string"},
		{"[1, 2]\n", "[0]: not a JSON object"},
		{"[{\"ResourceId\":\"vpc-c\",\"ResourceCidr\":\"10.0.5.0/"
		 "24\"},\n"
		 "{\"ResourceId\":\"vpc-d\",",
		 "an incomplete or malformed JSON array"},
		{"{\n  \"Vpcs\": [\n    {\"VpcId\": \"vpc-c\",",
		 "neither a complete JSON document"},
		{EOS "{\"ResourceId\":\"vpc-c\",\"ResourceCidr\":\"10.0.5.0/"
		     "24\"}\n",
		 "line 2: a line after the end-of-snapshot line"},
		{"{\"EndOfSnapshot\":false}\n",
		 "exactly {\"EndOfSnapshot\":true}"},
		{"{\"EndOfSnapshot\":true,\"ResourceId\":\"vpc-c\"}\n",
		 "exactly {\"EndOfSnapshot\":true}"},
		{"{\"Vpcs\": [{\"VpcId\": \"vpc-c\", \"CidrBlock\": "
		 "\"10.0.5.0/24\"}, {\"CidrBlock\": \"10.0.6.0/24\"}]}",
		 "Vpcs[1]: no VpcId"},
		{"{\"Vpcs\": [{\"VpcId\": \"vpc-c\", \"CidrBlock\": "
		 "\"10.0.5.0/33\"}]}",
		 "Vpcs[0]: "},
		{"{\"Subnets\": [{\"VpcId\": \"vpc-c\"}]}",
		 "Subnets[0]: no SubnetId"},
		{"{\"Addresses\": [{\"AllocationId\": \"eipalloc-1\"}]}",
		 "Addresses[0]: no PublicIp"},
		{"{\"Vpcs\": {}}", "Vpcs is not a list"},
		{"{\"Reservations\": []}", "unknown snapshot"},
	};
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	ipam_err err = {0};
	char *before, *after;
	int64_t last_event, last_feed;
	(void)state;

	feed_ok(db, "default",
		"{\"ResourceId\":\"vpc-a\",\"ResourceCidr\":\"10.0.0.0/24\"}\n"
		"{\"ResourceId\":\"vpc-b\",\"ResourceCidr\":\"10.0.1.0/"
		"24\"}\n");
	before = scope_resources_json(db, priv);
	last_event = ipam_events_last(db);
	last_feed = disco_info(db, "default").last_feed;
	clock_now += 100;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = feed(db, "default", cases[i].text, &err);
		if (rc != IPAM_EINVAL || !strstr(err.msg, cases[i].reason))
			fail_msg("case %zu: got %s '%s', expected EINVAL '%s'",
				 i, ipam_code_name(rc), err.msg,
				 cases[i].reason);
		memset(&err, 0, sizeof(err));
		after = scope_resources_json(db, priv);
		assert_string_equal(after, before);
		free(after);
		assert_string_equal(res_ids(db, priv), "vpc-a\nvpc-b\n");
		assert_int_equal(ipam_events_last(db), last_event);
		assert_int_equal(disco_info(db, "default").last_feed,
				 last_feed);
	}
	/* A NUL byte. */
	assert_code(ipam_discovery_feed(db, "default", "{}\0{}", 5, &err), err,
		    IPAM_EINVAL, "NUL byte");
	assert_code(feed(db, "nope", "", &err), err, IPAM_ENOENT, NULL);
	assert_int_equal(hist_count(db, priv, "10.0.1.0/24", ALL_TIME), 1);
	free(before);
	close_watch(db);
}

/* A resource another discovery sees refuses the snapshot; one registered
 * by hand is adopted. */
static void test_ownership(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	int64_t hand;
	ipam_err err = {0};
	(void)state;

	disco_new(db, "a");
	disco_new(db, "b");
	feed_ok(db, "a",
		"{\"ResourceId\":\"vpc-1\",\"ResourceCidr\":\"10.0.0.0/"
		"24\"}\n");
	assert_code(feed(db, "b",
			 "{\"ResourceId\":\"vpc-2\",\"ResourceCidr\":"
			 "\"10.0.2.0/24\"}\n"
			 "{\"ResourceId\":\"vpc-1\",\"ResourceCidr\":"
			 "\"10.0.1.0/24\"}\n",
			 &err),
		    err, IPAM_EEXIST,
		    "resource 'vpc-1' is seen by another discovery");
	assert_false(res_exists(db, priv, "vpc-2"));
	assert_string_equal(res_cidrs(db, res_key(db, priv, "vpc-1")),
			    "10.0.0.0/24\n");
	assert_int_equal(disco_info(db, "b").resources, 0);
	assert_int_equal(disco_info(db, "b").last_feed, 0);

	hand = res_make(db, priv, "vpc-h", NULL, "us-east-1", NULL, NULL,
			"10.0.9.0/24", NULL);
	assert_string_equal(res_info(db, hand).discovery, "");
	/* the same owner (a hand-made resource is owned by its maker's uid,
	 * 0 here): adopting it starts no new record */
	feed_ok(db, "b",
		"{\"ResourceId\":\"vpc-h\",\"ResourceCidr\":\"10.0.9.0/"
		"24\",\"ResourceOwnerId\":\"0\"}\n");
	assert_int_equal(res_key(db, priv, "vpc-h"), hand);
	assert_string_equal(res_info(db, hand).discovery, "b");
	assert_int_equal(hist_count(db, priv, "10.0.9.0/24", ALL_TIME), 1);
	feed_ok(db, "b", EOS);
	assert_false(res_exists(db, priv, "vpc-h"));
	close_watch(db);
}

/* set_scope moves what the discovery sees, with its history. */
static void test_set_scope(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private"), lab = 0, pool, vpc;
	int64_t t1 = T("2026-08-01T00:00:00Z"), t2 = T("2026-08-02T00:00:00Z");
	ipam_err err = {0};
	char want[1024];
	(void)state;

	assert_ok(ipam_scope_create(db, "lab", &lab, &err), err);
	pool = mktop(db, "dev");
	pool_locale(db, pool, "us-east-1");
	prov_ok(db, pool, "10.0.0.0/16");
	pool_auto_import(db, pool, true);
	disco_new(db, "aws");
	clock_now = t1;
	feed_ok(db, "aws",
		"{\"ResourceId\":\"vpc-1\",\"ResourceCidr\":\"10.0.0.0/"
		"24\"}\n");
	vpc = res_key(db, priv, "vpc-1");
	assert_string_equal(rc_state(db, vpc, "10.0.0.0/24"),
			    "managed compliant nonoverlapping");
	clock_now = t2;
	assert_code(ipam_discovery_set_scope(db, "aws", "nope", &err), err,
		    IPAM_ENOENT, NULL);
	assert_ok(ipam_discovery_set_scope(db, "aws", "lab", &err), err);
	assert_string_equal(disco_info(db, "aws").scope, "lab");
	assert_string_equal(res_ids(db, priv), "");
	assert_int_equal(res_key(db, lab, "vpc-1"), vpc);
	/* Its pool space went back; in the new scope it is unmanaged. It was
	 * imported in the snapshot that brought it: no record shows it
	 * unmanaged for no time at all. */
	assert_int_equal(usage(db, pool).allocation_count, 0);
	assert_string_equal(rc_state(db, vpc, "10.0.0.0/24"),
			    "unmanaged unmanaged nonoverlapping");
	snprintf(want, sizeof(want),
		 "SampledStartTime SampledEndTime ResourceCidr ResourceType "
		 "ResourceId ResourceRegion ResourceOwnerId VpcId "
		 "ResourceComplianceStatus ResourceOverlapStatus ResourceName\n"
		 "%s %s 10.0.0.0/24 vpc vpc-1 us-east-1 - vpc-1 compliant "
		 "nonoverlapping -\n",
		 TS(t1), TS(t2));
	assert_text_free(hist(db, priv, "10.0.0.0/24", ALL_TIME, false), want);
	snprintf(want, sizeof(want),
		 "SampledStartTime SampledEndTime ResourceCidr ResourceType "
		 "ResourceId ResourceRegion ResourceOwnerId VpcId "
		 "ResourceComplianceStatus ResourceOverlapStatus ResourceName\n"
		 "%s - 10.0.0.0/24 vpc vpc-1 us-east-1 - vpc-1 unmanaged "
		 "nonoverlapping -\n",
		 TS(t2));
	assert_text_free(hist(db, lab, "10.0.0.0/24", ALL_TIME, false), want);
	/* Later snapshots apply in the new scope. */
	feed_ok(db, "aws",
		"{\"ResourceId\":\"vpc-2\",\"ResourceCidr\":\"10.0.1.0/"
		"24\"}\n" EOS);
	assert_string_equal(res_ids(db, lab), "vpc-2\n");
	assert_string_equal(res_ids(db, priv), "");
	close_watch(db);
}

/* What a snapshot brings is offered to auto-import in one batch. */
static void test_feed_auto_import(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private"), pool;
	(void)state;

	pool = mktop(db, "dev");
	pool_locale(db, pool, "us-east-1");
	prov_ok(db, pool, "10.0.0.0/16");
	pool_auto_import(db, pool, true);
	feed_ok(db, "default",
		"{\"ResourceId\":\"vpc-a\",\"ResourceCidr\":\"10.0.0.0/24\"}\n"
		"{\"ResourceId\":\"vpc-b\",\"ResourceCidr\":\"10.0.0.0/23\"}\n"
		"{\"ResourceId\":\"vpc-d\",\"ResourceCidr\":\"10.0.8.0/24\"}\n"
		"{\"ResourceId\":\"vpc-c\",\"ResourceCidr\":\"10.0.8.0/24\"}\n"
		"{\"ResourceId\":\"vpc-w\",\"ResourceCidr\":\"10.0.9.0/24\","
		"\"ResourceRegion\":\"us-east-2\"}\n");
	assert_string_equal(
		rc_state(db, res_key(db, priv, "vpc-b"), "10.0.0.0/23"),
		"managed compliant overlapping");
	assert_string_equal(
		rc_state(db, res_key(db, priv, "vpc-a"), "10.0.0.0/24"),
		"unmanaged unmanaged overlapping");
	assert_string_equal(
		rc_state(db, res_key(db, priv, "vpc-c"), "10.0.8.0/24"),
		"managed compliant overlapping");
	assert_string_equal(
		rc_state(db, res_key(db, priv, "vpc-d"), "10.0.8.0/24"),
		"unmanaged unmanaged overlapping");
	assert_string_equal(
		rc_state(db, res_key(db, priv, "vpc-w"), "10.0.9.0/24"),
		"unmanaged unmanaged nonoverlapping");
	/* vpc-b goes: the space it frees goes to the one waiting. */
	feed_ok(db, "default",
		"{\"ResourceId\":\"vpc-a\",\"ResourceCidr\":\"10.0.0.0/24\"}\n"
		"{\"ResourceId\":\"vpc-d\",\"ResourceCidr\":\"10.0.8.0/24\"}\n"
		"{\"ResourceId\":\"vpc-c\",\"ResourceCidr\":\"10.0.8.0/24\"}\n"
		"{\"ResourceId\":\"vpc-w\",\"ResourceCidr\":\"10.0.9.0/24\","
		"\"ResourceRegion\":\"us-east-2\"}\n" EOS);
	assert_string_equal(
		rc_state(db, res_key(db, priv, "vpc-a"), "10.0.0.0/24"),
		"managed compliant nonoverlapping");
	assert_int_equal(usage(db, pool).allocation_count, 2);
	close_watch(db);
}

/* get-ipam-resource-cidrs of one discovery. */
static void test_resources_json(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	ipam_info info;
	ipam_discovery_info d;
	ipam_err err = {0};
	char *out = NULL, want[4096];
	size_t len = 0;
	(void)state;

	assert_ok(ipam_info_get(db, &info, &err), err);
	feed_ok(db, "default",
		"{\"ResourceId\":\"vpc-1\",\"ResourceCidr\":\"10.0.0.0/24\","
		"\"ResourceOwnerId\":\"111122223333\",\"ResourceTags\":"
		"{\"Name\":\"core\"}}\n"
		"{\"ResourceId\":\"subnet-1\",\"ResourceCidr\":\"10.0.0.0/26\","
		"\"VpcId\":\"vpc-1\",\"IpUsage\":0.25}\n");
	d = disco_info(db, "default");
	assert_ok(ipam_render_resources_json(db, 0, d.key, &out, &len, &err),
		  err);
	{
		char when[IPAM_TIME_STRLEN];
		/* the shape of get-ipam-discovered-resource-cidrs: no
		 * IPAM, scope, pool, name or status; the sample time */
		ipam_time_format_aws(d.last_feed, when);
		snprintf(want, sizeof(want),
			 "{\n"
			 "  \"IpamDiscoveredResourceCidrs\": [\n"
			 "    {\n"
			 "      \"IpamResourceDiscoveryId\": \"%s\",\n"
			 "      \"ResourceOwnerId\": \"\",\n"
			 "      \"ResourceRegion\": \"us-east-1\",\n"
			 "      \"ResourceId\": \"subnet-1\",\n"
			 "      \"ResourceCidr\": \"10.0.0.0/26\",\n"
			 "      \"ResourceType\": \"subnet\",\n"
			 "      \"ResourceTags\": [],\n"
			 "      \"IpUsage\": 0.25,\n"
			 "      \"VpcId\": \"vpc-1\",\n"
			 "      \"SubnetId\": \"subnet-1\",\n"
			 "      \"SampleTime\": \"%s\"\n"
			 "    },\n"
			 "    {\n"
			 "      \"IpamResourceDiscoveryId\": \"%s\",\n"
			 "      \"ResourceOwnerId\": \"111122223333\",\n"
			 "      \"ResourceRegion\": \"us-east-1\",\n"
			 "      \"ResourceId\": \"vpc-1\",\n"
			 "      \"ResourceCidr\": \"10.0.0.0/24\",\n"
			 "      \"ResourceType\": \"vpc\",\n"
			 "      \"ResourceTags\": [\n"
			 "        {\n"
			 "          \"Key\": \"Name\",\n"
			 "          \"Value\": \"core\"\n"
			 "        }\n"
			 "      ],\n"
			 "      \"IpUsage\": 0.25,\n"
			 "      \"VpcId\": \"vpc-1\",\n"
			 "      \"SampleTime\": \"%s\"\n"
			 "    }\n"
			 "  ]\n"
			 "}\n",
			 d.id, when, d.id, when);
	}
	assert_text_free(out, want);
	close_watch(db);
}

/* Public space goes to the public scope, private space to the discovery's
 * scope, under the same resource id (L3647, L1267). */
static void test_feed_public_space(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private"), pub = scope_key(db, "public");
	ipam_err err = {0};
	(void)state;

	feed_ok(db, "default",
		"{\"ResourceId\":\"vpc-1\",\"ResourceCidr\":\"10.0.0.0/16\"}\n"
		"{\"ResourceId\":\"vpc-1\",\"ResourceCidr\":"
		"\"2600:1f16::/56\"}\n"
		"{\"ResourceId\":\"eipalloc-1\",\"ResourceCidr\":"
		"\"198.51.100.7/32\"}\n"
		"{\"ResourceId\":\"vpc-2\",\"ResourceCidr\":\"fd12::/56\"}\n"
		"{\"EndOfSnapshot\":true}\n");
	assert_string_equal(res_ids(db, priv), "vpc-1\nvpc-2\n");
	assert_string_equal(res_ids(db, pub), "eipalloc-1\nvpc-1\n");
	assert_string_equal(res_cidrs(db, res_key(db, priv, "vpc-1")),
			    "10.0.0.0/16\n");
	assert_string_equal(res_cidrs(db, res_key(db, pub, "vpc-1")),
			    "2600:1f16::/56\n");
	assert_int_equal(disco_info(db, "default").resources, 4);
	/* the discovery's scope moves its private space only */
	assert_ok(ipam_scope_create(db, "lab", NULL, &err), err);
	assert_ok(ipam_discovery_set_scope(db, "default", "lab", &err), err);
	assert_string_equal(res_ids(db, scope_key(db, "lab")),
			    "vpc-1\nvpc-2\n");
	assert_string_equal(res_ids(db, pub), "eipalloc-1\nvpc-1\n");
	/* a snapshot without the public block ends it */
	feed_ok(db, "default",
		"{\"ResourceId\":\"vpc-1\",\"ResourceCidr\":"
		"\"10.0.0.0/16\"}\n{\"EndOfSnapshot\":true}\n");
	assert_string_equal(res_ids(db, pub), "");
	close_watch(db);
}

/* Records of a region that is not operating are not applied but counted;
 * a change of the operating locales applies the last snapshot again
 * (L394, L1971). */
static void test_feed_operating_regions(void **state)
{
	ipam *db = open_watch("us-east-1", locales);
	int64_t priv = scope_key(db, "private");
	const char *more[] = {"us-east-1", "eu-west-1"};
	const char *less[] = {"us-east-1"};
	ipam_err err = {0};
	(void)state;

	feed_ok(db, "default",
		"{\"ResourceId\":\"vpc-1\",\"ResourceCidr\":\"10.1.0.0/16\","
		"\"ResourceRegion\":\"us-east-1\"}\n"
		"{\"ResourceId\":\"vpc-2\",\"ResourceCidr\":\"10.2.0.0/16\","
		"\"ResourceRegion\":\"eu-west-1\"}\n"
		"{\"EndOfSnapshot\":true}\n");
	assert_string_equal(res_ids(db, priv), "vpc-1\n");
	assert_int_equal(disco_info(db, "default").unmonitored, 1);
	assert_ok(ipam_locales_set(db, more, 2, &err), err);
	assert_string_equal(res_ids(db, priv), "vpc-1\nvpc-2\n");
	assert_int_equal(disco_info(db, "default").unmonitored, 0);
	assert_int_equal(hist_count(db, priv, "10.2.0.0/16", ALL_TIME), 1);
	assert_ok(ipam_locales_set(db, less, 1, &err), err);
	assert_string_equal(res_ids(db, priv), "vpc-1\n");
	assert_int_equal(disco_info(db, "default").unmonitored, 1);
	close_watch(db);
}

/* The host discovery: lo is eni-host-lo with 127.0.0.1/32, whatever else
 * the machine has. */
static void test_host_refresh(void **state)
{
	ipam *db = open_watch(NULL, NULL);
	int64_t priv = scope_key(db, "private");
	int64_t lo, net;
	ipam_resource_info info;
	ipam_err err = {0};
	(void)state;

	assert_ok(ipam_discovery_host_refresh(db, &err), err);
	lo = res_key(db, priv, "eni-host-lo");
	info = res_info(db, lo);
	assert_string_equal(info.type, "network-interface");
	assert_string_equal(info.name, "lo");
	assert_string_equal(info.owner, "host");
	assert_string_equal(info.discovery, "host");
	assert_string_equal(info.locale, "local");
	assert_string_equal(rc_state(db, lo, "127.0.0.1/32"), "- - -");
	net = res_key(db, priv, "subnet-host-lo-127.0.0.0_8");
	assert_string_equal(res_info(db, net).type, "subnet");
	assert_string_equal(rc_state(db, net, "127.0.0.0/8"), "- - -");
	assert_true(disco_info(db, "host").resources >= 2);
	assert_int_equal(disco_info(db, "host").last_feed, clock_now);

	/* Again: the same resources, no new records. */
	clock_now += 60;
	assert_ok(ipam_discovery_host_refresh(db, &err), err);
	assert_int_equal(res_key(db, priv, "eni-host-lo"), lo);
	assert_int_equal(hist_count(db, priv, "127.0.0.1/32", ALL_TIME), 1);
	assert_int_equal(hist_count(db, priv, "127.0.0.0/8", ALL_TIME), 1);
	close_watch(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		WATCH_TEST(test_builtins),
		WATCH_TEST(test_create_delete),
		WATCH_TEST(test_feed_json_lines),
		WATCH_TEST(test_feed_describe_vpcs),
		WATCH_TEST(test_feed_describe_subnets),
		WATCH_TEST(test_feed_subnet_disassociated_ipv6),
		WATCH_TEST(test_feed_describe_addresses),
		WATCH_TEST(test_feed_combined_document),
		WATCH_TEST(test_snapshot_replaces),
		WATCH_TEST(test_snapshot_cidr_and_name_change),
		WATCH_TEST(test_snapshot_type_change),
		WATCH_TEST(test_feed_lines_merge_fields),
		WATCH_TEST(test_feed_duplicate_line_counts_once),
		WATCH_TEST(test_snapshot_no_intermediate_records),
		WATCH_TEST(test_set_scope_no_intermediate_records),
		WATCH_TEST(test_malformed_refuses_all),
		WATCH_TEST(test_ownership),
		WATCH_TEST(test_set_scope),
		WATCH_TEST(test_feed_auto_import),
		WATCH_TEST(test_incomplete_stream_ends_nothing),
		WATCH_TEST(test_resources_json),
		WATCH_TEST(test_host_refresh),
		WATCH_TEST(test_feed_public_space),
		WATCH_TEST(test_feed_operating_regions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
