/*
 * netlink.c - the `host` discovery: this machine's interface addresses and
 * connected prefixes, read with one RTM_GETADDR dump over rtnetlink (no
 * shelling out to ip(8)).
 *
 * Each interface becomes a network-interface resource "eni-host-<ifname>"
 * holding its addresses as /32 or /128; each connected prefix becomes a
 * subnet "subnet-host-<ifname>-<cidr>" named after the interface.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "feed.h"

static int request_dump(int fd)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
	} req;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	req.nh.nlmsg_type = RTM_GETADDR;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = 1;
	req.ifa.ifa_family = AF_UNSPEC;
	return sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel,
		      sizeof(kernel)) < 0
		       ? -1
		       : 0;
}

/* Adds cidr to the record `id` of `type`, creating it when new. */
static int add(ipam__feed *feed, const char *id, const char *type,
	       const char *name, const ipam_cidr *cidr, const char *region,
	       ipam_err *err)
{
	ipam__res_rec *rec = ipam__feed_record(feed, id, err);
	ipam_cidr *list;

	if (!rec)
		return IPAM_ENOMEM;
	if (!*rec->type) {
		snprintf(rec->type, sizeof(rec->type), "%s", type);
		snprintf(rec->name, sizeof(rec->name), "%s", name);
		snprintf(rec->region, sizeof(rec->region), "%s", region);
		snprintf(rec->owner, sizeof(rec->owner), "host");
	}
	for (size_t i = 0; i < rec->ncidrs; i++)
		if (!ipam_cidr_compare(&rec->cidrs[i], cidr))
			return 0;
	list = realloc(rec->cidrs, (rec->ncidrs + 1) * sizeof(*list));
	if (!list)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	rec->cidrs = list;
	rec->cidrs[rec->ncidrs++] = *cidr;
	return 0;
}

/* One RTM_NEWADDR message: the address and its connected prefix. */
static int take_address(ipam__feed *feed, struct nlmsghdr *nh,
			const char *region, ipam_err *err)
{
	struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	int len = (int)IFA_PAYLOAD(nh);
	const unsigned char *addr = NULL;
	char ifname[IF_NAMESIZE + 1] = "", id[IPAM_RESOURCE_ID_MAX + 1];
	char file[IPAM_CIDR_STRLEN];
	ipam_cidr host = {0}, net;
	int width, rc;

	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 0;
	for (struct rtattr *rta = IFA_RTA(ifa); RTA_OK(rta, len);
	     rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == IFA_LOCAL ||
		    (rta->rta_type == IFA_ADDRESS && !addr))
			addr = RTA_DATA(rta);
	}
	if (!addr || !if_indextoname(ifa->ifa_index, ifname))
		return 0;
	host.family = ifa->ifa_family == AF_INET ? 4 : 6;
	width = ipam_family_width(host.family);
	for (int i = 0; i < width / 8; i++)
		host.addr = (host.addr << 8) | addr[i];
	host.prefix = (uint8_t)width;
	net = host;
	net.prefix = ifa->ifa_prefixlen <= width ? ifa->ifa_prefixlen : width;
	if (net.prefix < width)
		net.addr &= ~((((ipam_u128)1) << (width - net.prefix)) - 1);
	if (net.prefix == 0)
		net.addr = 0;
	snprintf(id, sizeof(id), "eni-host-%s", ifname);
	if ((rc = add(feed, id, "network-interface", ifname, &host, region,
		      err)))
		return rc;
	ipam_cidr_format_filename(&net, file);
	snprintf(id, sizeof(id), "subnet-host-%s-%s", ifname, file);
	return add(feed, id, "subnet", ifname, &net, region, err);
}

int ipam__host_scan(ipam__feed *feed, const char *region, ipam_err *err)
{
	char buf[16384];
	bool done = false;
	int rc = 0,
	    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	memset(feed, 0, sizeof(*feed));
	if (fd < 0)
		return ipam__fail(err, IPAM_EIO, "cannot open rtnetlink: %s",
				  strerror(errno));
	if (request_dump(fd) < 0) {
		rc = ipam__fail(err, IPAM_EIO, "rtnetlink request failed: %s",
				strerror(errno));
	}
	while (rc == 0 && !done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = ipam__fail(err, IPAM_EIO,
					"rtnetlink read failed: %s",
					n < 0 ? strerror(errno) : "closed");
			break;
		}
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf;
		     rc == 0 && NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR)
				rc = ipam__fail(err, IPAM_EIO,
						"rtnetlink refused the dump");
			else if (nh->nlmsg_type == RTM_NEWADDR)
				rc = take_address(feed, nh, region, err);
		}
	}
	close(fd);
	if (rc)
		ipam__feed_free(feed);
	return rc;
}
