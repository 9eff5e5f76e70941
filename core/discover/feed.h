/*
 * feed.h - discovery snapshots as resource records, shared by the feed
 * parser (feed.c), the host scanner (netlink.c) and discovery.c.
 */
#ifndef IPAM_FEED_H
#define IPAM_FEED_H

#include "internal.h"

typedef struct ipam__feed {
	ipam__res_rec *recs;
	size_t count, cap;
	json_t *index; /* resource id -> position in recs */
	bool complete; /* a whole snapshot: what it does not list ends */
} ipam__feed;

/* The record of resource `id`, appended (zeroed, id set) when new. */
ipam__res_rec *ipam__feed_record(ipam__feed *feed, const char *id,
				 ipam_err *err);

/* Parses a snapshot; records without a region get `region`. */
int ipam__feed_parse(ipam__feed *feed, const char *text, size_t len,
		     const char *region, ipam_err *err);
void ipam__feed_free(ipam__feed *feed);
/* Whether an address type and a service are words a feed writes
 * (IpamPublicAddressType, IpamPublicAddressAwsService; "" for none). */
bool ipam__feed_words_known(const char *address_type, const char *service);

/* This machine's interface addresses (network-interface resources, one
 * /32 or /128 each) and connected prefixes (subnets), over rtnetlink. */
int ipam__host_scan(ipam__feed *feed, const char *region, ipam_err *err);

#endif /* IPAM_FEED_H */
