/*
 * feed.c - reading discovery snapshots (L2337-L2580) into resource records.
 *
 * Accepted inputs:
 *  - JSON lines, one resource CIDR per line:
 *    {"ResourceId","ResourceType","ResourceCidr","ResourceRegion",
 *     "ResourceOwnerId","VpcId","ResourceTags","IpUsage","ResourceName"}
 *    (the shape of get-ipam-discovered-resource-cidrs); several lines with
 *    one ResourceId give that resource several CIDRs. ResourceType may be
 *    left out when the id's prefix tells it; IpUsage is the fraction of a
 *    subnet's IPv4 space in use (0..1).
 *  - a JSON array of such records;
 *  - the unmodified JSON output of `aws ec2 describe-vpcs`,
 *    `describe-subnets`, `describe-addresses` and
 *    `describe-network-interfaces` (one document may hold several).
 * Completeness (SPEC principle 14): a whole JSON document (a describe-*
 * output, a JSON array of records) is a complete snapshot; JSON lines add
 * and update, and are a complete snapshot only when the last line is
 * {"EndOfSnapshot":true}. A writer that dies mid-stream leaves either a
 * truncated document (refused whole) or lines without the marker (nothing
 * ends).
 * ResourceTags is [{"Key","Value"}] (AWS) or {"key":"value"}; a "Name" tag
 * names the resource when ResourceName is absent. Unknown fields are
 * ignored; a malformed record refuses the whole snapshot, naming it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"

static const char *text_of(json_t *value)
{
	const char *s = json_string_value(value);
	return s ? s : "";
}

void ipam__feed_free(ipam__feed *feed)
{
	for (size_t i = 0; i < feed->count; i++) {
		free(feed->recs[i].cidrs);
		json_decref(feed->recs[i].tags);
	}
	free(feed->recs);
	json_decref(feed->index);
	memset(feed, 0, sizeof(*feed));
}

ipam__res_rec *ipam__feed_record(ipam__feed *feed, const char *id,
				 ipam_err *err)
{
	ipam__res_rec *rec;
	json_t *at;

	if (!feed->index && !(feed->index = json_object()))
		goto oom;
	at = json_object_get(feed->index, id);
	if (at)
		return &feed->recs[json_integer_value(at)];
	if (feed->count == feed->cap) {
		size_t cap = feed->cap ? feed->cap * 2 : 64;
		ipam__res_rec *grown =
			realloc(feed->recs, cap * sizeof(*grown));
		if (!grown)
			goto oom;
		feed->recs = grown;
		feed->cap = cap;
	}
	if (json_object_set_new(feed->index, id,
				json_integer((json_int_t)feed->count)))
		goto oom;
	rec = &feed->recs[feed->count++];
	memset(rec, 0, sizeof(*rec));
	snprintf(rec->id, sizeof(rec->id), "%s", id);
	return rec;
oom:
	ipam__fail(err, IPAM_ENOMEM, "out of memory");
	return NULL;
}

static int add_cidr(ipam__res_rec *rec, const char *text, const char *where,
		    ipam_err *err)
{
	ipam_cidr c, *grown;
	ipam_err why = {0};
	if (ipam_cidr_parse(&c, text, &why))
		return ipam__fail(err, IPAM_EINVAL, "%s: %s", where, why.msg);
	for (size_t i = 0; i < rec->ncidrs; i++)
		if (!ipam_cidr_compare(&rec->cidrs[i], &c))
			return 0;
	grown = realloc(rec->cidrs, (rec->ncidrs + 1) * sizeof(*grown));
	if (!grown)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	rec->cidrs = grown;
	rec->cidrs[rec->ncidrs++] = c;
	return 0;
}

/* A string field, refused when present but not a string or longer than
 * `max`; an absent one leaves *out as it is (records start empty). */
static int get_string(json_t *obj, const char *key, char *out, size_t max,
		      const char *where, ipam_err *err)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v)) /* absent: what an earlier line said stays */
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) >= max ||
	    strpbrk(json_string_value(v), "\n\r"))
		return ipam__fail(err, IPAM_EINVAL,
				  "%s: %s must be a single-line string of at "
				  "most %zu bytes",
				  where, key, max - 1);
	strcpy(out, json_string_value(v));
	return 0;
}

/* Tags in either form; the Name tag names the resource. */
static int get_tags(json_t *obj, const char *key, ipam__res_rec *rec,
		    const char *where, ipam_err *err)
{
	json_t *tags = json_object_get(obj, key), *item, *v;
	const char *k;
	size_t i;

	if (!tags || json_is_null(tags))
		return 0;
	if (!rec->tags && !(rec->tags = json_object()))
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if (json_is_array(tags)) {
		json_array_foreach(tags, i, item)
		{
			json_t *kk = json_object_get(item, "Key");
			json_t *vv = json_object_get(item, "Value");
			if (!json_is_string(kk) || !json_is_string(vv))
				return ipam__fail(err, IPAM_EINVAL,
						  "%s: tags need Key and Value "
						  "strings",
						  where);
			json_object_set(rec->tags, json_string_value(kk), vv);
		}
	} else if (json_is_object(tags)) {
		json_object_foreach(tags, k, v)
		{
			if (!json_is_string(v))
				return ipam__fail(err, IPAM_EINVAL,
						  "%s: tag '%.40s' is not a "
						  "string",
						  where, k);
			json_object_set(rec->tags, k, v);
		}
	} else {
		return ipam__fail(err, IPAM_EINVAL, "%s: bad %s", where, key);
	}
	json_object_foreach(rec->tags, k, v)
	{
		int rc = ipam__check_tag(k, json_string_value(v), err);
		if (rc)
			return rc;
	}
	v = json_object_get(rec->tags, "Name");
	if (!*rec->name && v &&
	    strlen(json_string_value(v)) < sizeof(rec->name))
		strcpy(rec->name, json_string_value(v));
	return 0;
}

/* Fills the common fields of a record and checks them. */
static int finish(ipam__res_rec *rec, const char *type, const char *region,
		  const char *where, ipam_err *err)
{
	const char *t = *type ? type : ipam_resource_type_from_id(rec->id);
	int rc = ipam_name_check(rec->id, err);
	if (rc)
		return rc;
	if (!t || !ipam_resource_type_valid(t))
		return ipam__fail(err, IPAM_EINVAL,
				  "%s: unknown resource type '%.40s'", where,
				  *type ? type : "(none)");
	if (*rec->type && strcmp(rec->type, t))
		return ipam__fail(err, IPAM_EINVAL,
				  "%s: resource '%s' has two types", where,
				  rec->id);
	snprintf(rec->type, sizeof(rec->type), "%s", t);
	if (!*rec->region)
		snprintf(rec->region, sizeof(rec->region), "%s", region);
	return *rec->region ? ipam__check_locale(rec->region, err) : 0;
}

/* One JSON line of the discovered-resource shape. */
static int parse_line(ipam__feed *feed, json_t *obj, const char *region,
		      const char *where, ipam_err *err)
{
	char id[IPAM_RESOURCE_ID_MAX + 1] = "", type[24] = "";
	char cidr[IPAM_CIDR_STRLEN] = "";
	ipam__res_rec *rec;
	json_t *usage;
	size_t before;
	int rc;

	if (!json_is_object(obj))
		return ipam__fail(err, IPAM_EINVAL, "%s: not a JSON object",
				  where);
	if ((rc = get_string(obj, "ResourceId", id, sizeof(id), where, err)) ||
	    (rc = get_string(obj, "ResourceType", type, sizeof(type), where,
			     err)) ||
	    (rc = get_string(obj, "ResourceCidr", cidr, sizeof(cidr), where,
			     err)))
		return rc;
	/* a resource of a type IPAM policies steer may come without its
	 * address: it needs one (ipam__policy_ask) */
	const char *t = *type ? type : ipam_resource_type_from_id(id);
	bool wants = !*cidr && *id && ipam__rtype_takes_eips(ipam__rtype_of(t));
	if (!*id || (!*cidr && !wants))
		return ipam__fail(err, IPAM_EINVAL,
				  "%s: ResourceId and ResourceCidr are "
				  "required (ResourceCidr may be left out for"
				  " eip, alb, rds and nat-gateway, which then"
				  " ask their IPAM policy for an address)",
				  where);
	if (!(rec = ipam__feed_record(feed, id, err)))
		return IPAM_ENOMEM;
	if ((rc = get_string(obj, "ResourceRegion", rec->region,
			     sizeof(rec->region), where, err)) ||
	    (rc = get_string(obj, "ResourceOwnerId", rec->owner,
			     sizeof(rec->owner), where, err)) ||
	    (rc = get_string(obj, "VpcId", rec->vpc_id, sizeof(rec->vpc_id),
			     where, err)) ||
	    (rc = get_string(obj, "ResourceName", rec->name, sizeof(rec->name),
			     where, err)) ||
	    (rc = get_tags(obj, "ResourceTags", rec, where, err)))
		return rc;
	before = rec->ncidrs;
	rec->wants_address = rec->wants_address || wants;
	if ((*cidr && (rc = add_cidr(rec, cidr, where, err))) ||
	    (rc = finish(rec, type, region, where, err)))
		return rc;
	usage = json_object_get(obj, "IpUsage");
	if (usage && !json_is_null(usage) && rec->ncidrs > before) {
		ipam_cidr *c = &rec->cidrs[rec->ncidrs - 1];
		double f = json_number_value(usage);
		if (!json_is_number(usage) || !(f >= 0 && f <= 1))
			return ipam__fail(err, IPAM_EINVAL,
					  "%s: IpUsage must be a number from "
					  "0 to 1",
					  where);
		if (c->family == 4) {
			rec->has_active_ips = true;
			rec->active_ips += (ipam_u128)floor(
				f * (double)ipam_cidr_size(c) + 0.5);
		}
	}
	return 0;
}

/* The CIDR in field `key` of obj, when there is one. */
static int add_cidr_field(ipam__res_rec *rec, json_t *obj, const char *key,
			  const char *where, ipam_err *err)
{
	char cidr[IPAM_CIDR_STRLEN] = "";
	int rc = get_string(obj, key, cidr, sizeof(cidr), where, err);
	return rc || !*cidr ? rc : add_cidr(rec, cidr, where, err);
}

/* The CIDRs of an association set (CidrBlockAssociationSet and its IPv6
 * twin) that are associated: an item without a state counts as one. */
static int add_associated(ipam__res_rec *rec, json_t *obj, const char *set_key,
			  const char *cidr_key, const char *state_key,
			  const char *where, ipam_err *err)
{
	json_t *set = json_object_get(obj, set_key), *item;
	size_t i;
	int rc;
	json_array_foreach(set, i, item)
	{
		json_t *state = json_object_get(
			json_object_get(item, state_key), "State");
		if (state && strcmp(text_of(state), "associated"))
			continue;
		if ((rc = add_cidr_field(rec, item, cidr_key, where, err)))
			return rc;
	}
	return 0;
}

static int add_ipv6_set(ipam__res_rec *rec, json_t *obj, const char *where,
			ipam_err *err)
{
	return add_associated(rec, obj, "Ipv6CidrBlockAssociationSet",
			      "Ipv6CidrBlock", "Ipv6CidrBlockState", where,
			      err);
}

/* describe-vpcs: the associated CIDRs, or CidrBlock without a set. */
static int parse_vpc(ipam__feed *feed, json_t *vpc, const char *region,
		     const char *where, ipam_err *err)
{
	char id[IPAM_RESOURCE_ID_MAX + 1] = "";
	ipam__res_rec *rec;
	int rc = get_string(vpc, "VpcId", id, sizeof(id), where, err);

	if (rc)
		return rc;
	if (!*id)
		return ipam__fail(err, IPAM_EINVAL, "%s: no VpcId", where);
	if (!(rec = ipam__feed_record(feed, id, err)))
		return IPAM_ENOMEM;
	snprintf(rec->vpc_id, sizeof(rec->vpc_id), "%s", id);
	if ((rc = get_string(vpc, "OwnerId", rec->owner, sizeof(rec->owner),
			     where, err)) ||
	    (rc = get_tags(vpc, "Tags", rec, where, err)) ||
	    (rc = add_associated(rec, vpc, "CidrBlockAssociationSet",
				 "CidrBlock", "CidrBlockState", where, err)))
		return rc;
	if (!json_array_size(json_object_get(vpc, "CidrBlockAssociationSet")) &&
	    (rc = add_cidr_field(rec, vpc, "CidrBlock", where, err)))
		return rc;
	if ((rc = add_ipv6_set(rec, vpc, where, err)))
		return rc;
	return finish(rec, "vpc", region, where, err);
}

/* describe-subnets: the region is the availability zone less its letter. */
static int parse_subnet(ipam__feed *feed, json_t *subnet, const char *region,
			const char *where, ipam_err *err)
{
	char id[IPAM_RESOURCE_ID_MAX + 1] = "", cidr[IPAM_CIDR_STRLEN] = "";
	char zone[64] = "";
	json_t *avail;
	ipam__res_rec *rec;
	int rc = get_string(subnet, "SubnetId", id, sizeof(id), where, err);

	if (rc)
		return rc;
	if (!*id)
		return ipam__fail(err, IPAM_EINVAL, "%s: no SubnetId", where);
	if (!(rec = ipam__feed_record(feed, id, err)))
		return IPAM_ENOMEM;
	if ((rc = get_string(subnet, "VpcId", rec->vpc_id, sizeof(rec->vpc_id),
			     where, err)) ||
	    (rc = get_string(subnet, "OwnerId", rec->owner, sizeof(rec->owner),
			     where, err)) ||
	    (rc = get_string(subnet, "AvailabilityZone", zone, sizeof(zone),
			     where, err)) ||
	    (rc = get_tags(subnet, "Tags", rec, where, err)) ||
	    (rc = get_string(subnet, "CidrBlock", cidr, sizeof(cidr), where,
			     err)))
		return rc;
	if (*zone) {
		size_t n = strlen(zone);
		while (n > 0 && zone[n - 1] >= 'a' && zone[n - 1] <= 'z')
			n--;
		zone[n] = '\0';
		snprintf(rec->region, sizeof(rec->region), "%s", zone);
	}
	if (*cidr && (rc = add_cidr(rec, cidr, where, err)))
		return rc;
	avail = json_object_get(subnet, "AvailableIpAddressCount");
	if (*cidr && json_is_integer(avail)) {
		/* AWS keeps 5 addresses of every subnet for itself. */
		ipam_u128 size = ipam_cidr_size(&rec->cidrs[rec->ncidrs - 1]);
		ipam_u128 free_ips = (ipam_u128)json_integer_value(avail) + 5;
		rec->has_active_ips = true;
		rec->active_ips = free_ips < size ? size - free_ips : 0;
	}
	if ((rc = add_ipv6_set(rec, subnet, where, err)))
		return rc;
	return finish(rec, "subnet", region, where, err);
}

/* The IpamPublicAddressAwsService word of describe-addresses'
 * ServiceManaged (alb, nlb, rnat, rds) or of describe-network-interfaces'
 * InterfaceType of a requester-managed interface; "other" otherwise. */
static const struct {
	const char *kind, *word;
} service_map[] = {
	{"alb", "load-balancer"},
	{"nlb", "load-balancer"},
	{"network_load_balancer", "load-balancer"},
	{"gateway_load_balancer", "load-balancer"},
	{"load_balancer", "load-balancer"},
	{"rnat", "nat-gateway"},
	{"nat_gateway", "nat-gateway"},
	{"rds", "relational-database-service"},
	{"global_accelerator_managed", "global-accelerator"},
	{"vpn", "site-to-site-vpn"},
	{"redshift", "redshift"},
	{"dms", "database-migration-service"},
	{"ecs", "elastic-container-service"},
};

static const char *service_word(const char *kind)
{
	for (size_t i = 0; i < sizeof(service_map) / sizeof(service_map[0]);
	     i++)
		if (!strcmp(kind, service_map[i].kind))
			return service_map[i].word;
	return "other";
}

bool ipam__feed_words_known(const char *address_type, const char *service)
{
	static const char *const types[] = {"", "byoip", "ec2-public-ip",
					    "service-managed-ip",
					    "service-managed-byoip"};
	bool type_ok = false,
	     service_ok = !strcmp(service, "") || !strcmp(service, "other");
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		type_ok = type_ok || !strcmp(address_type, types[i]);
	for (size_t i = 0; i < sizeof(service_map) / sizeof(service_map[0]);
	     i++)
		service_ok = service_ok ||
			     !strcmp(service, service_map[i].word);
	return type_ok && service_ok;
}

/* describe-addresses: an Elastic IP is its /32. Its association (the
 * instance, else the interface), its type (BYOIP when its PublicIpv4Pool
 * is a public IPv4 pool, service-managed with ServiceManaged) feed the
 * public IP insights. */
static int parse_address(ipam__feed *feed, json_t *addr, const char *region,
			 const char *where, ipam_err *err)
{
	char id[IPAM_RESOURCE_ID_MAX + 1] = "", ip[64] = "";
	char cidr[IPAM_CIDR_STRLEN + 8];
	ipam__res_rec *rec;
	int rc = get_string(addr, "AllocationId", id, sizeof(id), where, err);

	if (rc ||
	    (rc = get_string(addr, "PublicIp", ip, sizeof(ip), where, err)))
		return rc;
	if (!*ip)
		return ipam__fail(err, IPAM_EINVAL, "%s: no PublicIp", where);
	if (!*id)
		snprintf(id, sizeof(id), "eip-%s", ip);
	if (!(rec = ipam__feed_record(feed, id, err)))
		return IPAM_ENOMEM;
	snprintf(cidr, sizeof(cidr), "%s/32", ip);
	if ((rc = get_string(addr, "NetworkBorderGroup", rec->region,
			     sizeof(rec->region), where, err)) ||
	    (rc = get_string(addr, "NetworkInterfaceOwnerId", rec->owner,
			     sizeof(rec->owner), where, err)) ||
	    (rc = get_tags(addr, "Tags", rec, where, err)) ||
	    (rc = add_cidr(rec, cidr, where, err)))
		return rc;
	{
		char pool[IPAM_RESOURCE_ID_MAX + 1] = "", managed[32] = "";
		if ((rc = get_string(addr, "NetworkInterfaceId",
				     rec->association, sizeof(rec->association),
				     where, err)) ||
		    (rc = get_string(addr, "InstanceId", rec->association,
				     sizeof(rec->association), where, err)) ||
		    (rc = get_string(addr, "PublicIpv4Pool", pool, sizeof(pool),
				     where, err)) ||
		    (rc = get_string(addr, "ServiceManaged", managed,
				     sizeof(managed), where, err)))
			return rc;
		bool byoip = !strncmp(pool, "ipv4pool-ec2-", 13);
		if (*managed) {
			snprintf(rec->service, sizeof(rec->service), "%s",
				 service_word(managed));
			snprintf(rec->address_type, sizeof(rec->address_type),
				 "%s",
				 byoip ? "service-managed-byoip"
				       : "service-managed-ip");
		} else if (byoip) {
			snprintf(rec->address_type, sizeof(rec->address_type),
				 "byoip");
		}
	}
	return finish(rec, "eip", region, where, err);
}

/*
 * describe-network-interfaces: an interface holds its private addresses
 * (/32, /128) and the public IPv4 address of its Association. A public
 * address that is an Elastic IP (Association.AllocationId) is that EIP,
 * associated with the interface, not the interface's; any other is an EC2
 * public IP, BYOIP when Association.IpOwnerId is not "amazon", and
 * service-managed on a requester-managed interface (L3080-L3110).
 */
static int parse_interface(ipam__feed *feed, json_t *eni, const char *region,
			   const char *where, ipam_err *err)
{
	char id[IPAM_RESOURCE_ID_MAX + 1] = "", zone[IPAM_LOCALE_MAX + 8] = "";
	char ip[64] = "", alloc[IPAM_RESOURCE_ID_MAX + 1] = "";
	char ip_owner[IPAM_RESOURCE_ID_MAX + 1] = "", kind[40] = "";
	char cidr[IPAM_CIDR_STRLEN + 8];
	json_t *assoc = json_object_get(eni, "Association"), *list, *item;
	json_t *attach = json_object_get(eni, "Attachment");
	bool managed = json_is_true(json_object_get(eni, "RequesterManaged"));
	ipam__res_rec *rec;
	size_t i;
	int rc = get_string(eni, "NetworkInterfaceId", id, sizeof(id), where,
			    err);

	if (rc)
		return rc;
	if (!*id)
		return ipam__fail(err, IPAM_EINVAL, "%s: no NetworkInterfaceId",
				  where);
	if (!(rec = ipam__feed_record(feed, id, err)))
		return IPAM_ENOMEM;
	if ((rc = get_string(eni, "OwnerId", rec->owner, sizeof(rec->owner),
			     where, err)) ||
	    (rc = get_string(eni, "VpcId", rec->vpc_id, sizeof(rec->vpc_id),
			     where, err)) ||
	    (rc = get_string(eni, "AvailabilityZone", zone, sizeof(zone), where,
			     err)) ||
	    (rc = get_string(eni, "InterfaceType", kind, sizeof(kind), where,
			     err)) ||
	    (rc = get_tags(eni, "TagSet", rec, where, err)))
		return rc;
	if (json_is_object(attach) &&
	    (rc = get_string(attach, "InstanceId", rec->association,
			     sizeof(rec->association), where, err)))
		return rc;
	if (*zone) {
		size_t n = strlen(zone);
		while (n > 0 && zone[n - 1] >= 'a' && zone[n - 1] <= 'z')
			n--;
		zone[n] = '\0';
		snprintf(rec->region, sizeof(rec->region), "%s", zone);
	}
	list = json_object_get(eni, "PrivateIpAddresses");
	json_array_foreach(list, i, item)
	{
		char priv[64] = "";
		if ((rc = get_string(item, "PrivateIpAddress", priv,
				     sizeof(priv), where, err)))
			return rc;
		snprintf(cidr, sizeof(cidr), "%s/32", priv);
		if (*priv && (rc = add_cidr(rec, cidr, where, err)))
			return rc;
	}
	list = json_object_get(eni, "Ipv6Addresses");
	json_array_foreach(list, i, item)
	{
		char v6[64] = "";
		if ((rc = get_string(item, "Ipv6Address", v6, sizeof(v6), where,
				     err)))
			return rc;
		snprintf(cidr, sizeof(cidr), "%s/128", v6);
		if (*v6 && (rc = add_cidr(rec, cidr, where, err)))
			return rc;
	}
	if (json_is_object(assoc) &&
	    ((rc = get_string(assoc, "PublicIp", ip, sizeof(ip), where, err)) ||
	     (rc = get_string(assoc, "AllocationId", alloc, sizeof(alloc),
			      where, err)) ||
	     (rc = get_string(assoc, "IpOwnerId", ip_owner, sizeof(ip_owner),
			      where, err))))
		return rc;
	if ((rc = finish(rec, "network-interface", region, where, err)) || !*ip)
		return rc;
	snprintf(cidr, sizeof(cidr), "%s/32", ip);
	if (*alloc) { /* an Elastic IP associated with this interface */
		char eni_region[IPAM_LOCALE_MAX + 1], owner[sizeof(rec->owner)];
		snprintf(eni_region, sizeof(eni_region), "%s", rec->region);
		snprintf(owner, sizeof(owner), "%s", rec->owner);
		if (!(rec = ipam__feed_record(feed, alloc, err)))
			return IPAM_ENOMEM;
		snprintf(rec->association, sizeof(rec->association), "%s", id);
		if (!*rec->region)
			snprintf(rec->region, sizeof(rec->region), "%s",
				 eni_region);
		if (!*rec->owner)
			snprintf(rec->owner, sizeof(rec->owner), "%s", owner);
		if (!rec->ncidrs && (rc = add_cidr(rec, cidr, where, err)))
			return rc;
		return finish(rec, "eip", region, where, err);
	}
	bool byoip = *ip_owner && strcmp(ip_owner, "amazon");
	if (managed) {
		snprintf(rec->service, sizeof(rec->service), "%s",
			 service_word(kind));
		snprintf(rec->address_type, sizeof(rec->address_type), "%s",
			 byoip ? "service-managed-byoip"
			       : "service-managed-ip");
	} else {
		snprintf(rec->address_type, sizeof(rec->address_type), "%s",
			 byoip ? "byoip" : "ec2-public-ip");
	}
	return add_cidr(rec, cidr, where, err);
}

/* One of the describe-* documents. 1 = recognised, 0 = not. */
static int parse_aws(ipam__feed *feed, json_t *doc, const char *region,
		     ipam_err *err)
{
	static const struct {
		const char *key;
		int (*parse)(ipam__feed *, json_t *, const char *, const char *,
			     ipam_err *);
	} kinds[] = {
		{"Vpcs", parse_vpc},
		{"Subnets", parse_subnet},
		{"Addresses", parse_address},
		{"NetworkInterfaces", parse_interface},
	};
	bool found = false;
	char where[64];

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		json_t *list = json_object_get(doc, kinds[k].key), *item;
		size_t i;
		if (!list)
			continue;
		if (!json_is_array(list))
			return ipam__fail(err, IPAM_EINVAL, "%s is not a list",
					  kinds[k].key);
		found = true;
		json_array_foreach(list, i, item)
		{
			int rc;
			snprintf(where, sizeof(where), "%s[%zu]", kinds[k].key,
				 i);
			if (!json_is_object(item))
				return ipam__fail(err, IPAM_EINVAL,
						  "%s: not an object", where);
			if ((rc = kinds[k].parse(feed, item, region, where,
						 err)))
				return rc;
		}
	}
	return found ? 1 : 0;
}

/* The end-of-snapshot line of a JSON-lines feed: 1 when obj is
 * {"EndOfSnapshot":true}, 0 when it is no such marker, or an error. */
static int end_marker(json_t *obj, const char *where, ipam_err *err)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, "EndOfSnapshot")
					: NULL;
	if (!v)
		return 0;
	if (!json_is_true(v) || json_object_size(obj) != 1)
		return ipam__fail(err, IPAM_EINVAL,
				  "%s: the end-of-snapshot line is exactly "
				  "{\"EndOfSnapshot\":true}",
				  where);
	return 1;
}

/* A JSON array of discovered-resource records: a complete snapshot. */
static int parse_array(ipam__feed *feed, json_t *doc, const char *region,
		       ipam_err *err)
{
	json_t *item;
	size_t i;
	char where[32];

	json_array_foreach(doc, i, item)
	{
		int rc;
		snprintf(where, sizeof(where), "[%zu]", i);
		if ((rc = parse_line(feed, item, region, where, err)))
			return rc;
	}
	feed->complete = true;
	return 0;
}

/* JSON lines: each adds or updates a resource; the stream is a complete
 * snapshot only when its last line is {"EndOfSnapshot":true}, which a
 * writer that dies early never wrote. */
static int parse_lines(ipam__feed *feed, const char *text, size_t len,
		       const char *region, const char *doc_error, ipam_err *err)
{
	json_error_t jerr;
	json_t *doc;
	size_t pos = 0, line = 0;
	int rc = 0;

	while (pos < len && rc == 0) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		char where[32];
		pos += n + (nl ? 1 : 0);
		line++;
		while (n && (start[n - 1] == '\r' || start[n - 1] == ' ' ||
			     start[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		snprintf(where, sizeof(where), "line %zu", line);
		if (feed->complete)
			return ipam__fail(err, IPAM_EINVAL,
					  "%s: a line after the "
					  "end-of-snapshot line",
					  where);
		doc = json_loadb(start, n, JSON_REJECT_DUPLICATES, &jerr);
		if (!doc && line == 1 && doc_error)
			rc = ipam__fail(err, IPAM_EINVAL,
					"neither a complete JSON document (%s)"
					" nor JSON lines (line 1: %s); "
					"nothing was applied",
					doc_error, jerr.text);
		else if (!doc)
			rc = ipam__fail(err, IPAM_EINVAL, "%s: %s", where,
					jerr.text);
		else if ((rc = end_marker(doc, where, err)) == 1)
			feed->complete = true, rc = 0;
		else if (rc == 0)
			rc = parse_line(feed, doc, region, where, err);
		json_decref(doc);
	}
	return rc;
}

int ipam__feed_parse(ipam__feed *feed, const char *text, size_t len,
		     const char *region, ipam_err *err)
{
	json_error_t jerr;
	json_t *doc;
	char doc_error[JSON_ERROR_TEXT_LENGTH + 32] = "";
	size_t lead = 0;
	int rc = 0;

	memset(feed, 0, sizeof(*feed));
	if (memchr(text, '\0', len))
		return ipam__fail(err, IPAM_EINVAL,
				  "the snapshot contains a NUL byte");
	while (lead < len && strchr(" \t\r\n", text[lead]))
		lead++;
	/* A whole document first: the describe-* outputs are one object, a
	 * JSON array of records is a list. Both are complete snapshots. */
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc && json_is_array(doc)) {
		rc = parse_array(feed, doc, region, err);
		json_decref(doc);
		if (rc)
			ipam__feed_free(feed);
		return rc;
	}
	if (doc && json_is_object(doc) && !json_object_get(doc, "ResourceId") &&
	    !json_object_get(doc, "EndOfSnapshot")) {
		rc = parse_aws(feed, doc, region, err);
		json_decref(doc);
		if (rc == 0)
			rc = ipam__fail(
				err, IPAM_EINVAL,
				"unknown snapshot: expected JSON lines, "
				"a JSON array of records or "
				"describe-vpcs/-subnets/-addresses "
				"output");
		if (rc < 0)
			ipam__feed_free(feed);
		else
			feed->complete = true;
		return rc < 0 ? rc : 0;
	}
	json_decref(doc);
	if (!doc && lead < len && text[lead] == '[')
		return ipam__fail(err, IPAM_EINVAL,
				  "an incomplete or malformed JSON array "
				  "(line %d: %s); nothing was applied",
				  jerr.line, jerr.text);
	if (!doc && memchr(text, '\n', len) && lead < len && text[lead] == '{')
		snprintf(doc_error, sizeof(doc_error), "line %d: %.*s",
			 jerr.line, JSON_ERROR_TEXT_LENGTH - 1, jerr.text);
	rc = parse_lines(feed, text, len, region, *doc_error ? doc_error : NULL,
			 err);
	if (rc)
		ipam__feed_free(feed);
	return rc;
}
