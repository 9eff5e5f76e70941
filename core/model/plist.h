/*
 * plist.h - what prefixlist.c and plcover.c share (prefix-list resolvers,
 * docs/design/prefixlist.md).
 */
#ifndef IPAM_PLIST_H
#define IPAM_PLIST_H

#include "internal.h"

/* What a member of a resolver comes from (pl_member.src_kind). */
enum plist_src {
	PLIST_SRC_STATIC = 0,	  /* src_key: the rule's line */
	PLIST_SRC_ALLOCATION = 1, /* src_key: allocation.key */
	PLIST_SRC_RESOURCE = 2,	  /* src_key: resource_cidr.key */
};

/* Adds a member (no-op when it is one) / removes it (no-op when it is
 * not), updating the entries and the pending diff. */
int ipam__plist_member_add(ipam *db, int64_t list, int src_kind,
			   int64_t src_key, const ipam_cidr *c, ipam_err *err);
int ipam__plist_member_remove(ipam *db, int64_t list, int src_kind,
			      int64_t src_key, ipam_err *err);
/* Recomputes which versions are kept and drops older diffs. */
int ipam__plist_prune(ipam *db, int64_t list, ipam_err *err);
/* The sorted set of `version` (oldest <= version <= current). */
int ipam__plist_version_set(ipam *db, int64_t list, int64_t current,
			    int64_t version, ipam_cidr **out, size_t *count,
			    ipam_err *err);

#endif
