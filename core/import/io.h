/*
 * io.h - what export.c, import.c and the format readers (import_*.c)
 * share: the JSON string writer, the document the readers build and the
 * helpers they use to build it.
 *
 * Every reader turns its source into an ipamfs document (the shape of
 * /export.json, as a jansson tree): {"IpamScopes": [...], "IpamPools":
 * [...], "IpamPoolCidrs": [...], "IpamPoolAllocations": [...]}. Pools and
 * allocations name their pool by "IpamPoolId"; an id that is not an
 * ipamfs-shaped id ("ipam-pool-" and hex) only links the document's parts
 * and a new id is made. Each element may carry "SourceLine" (the line of
 * the source it came from) for the refusal messages.
 */
#ifndef IPAM_IO_H
#define IPAM_IO_H

#include "internal.h"

/* A JSON string literal of s, escaped as jansson does. */
void ipam__export_string(ipam__buf *buf, const char *s);

/* Whether id is "<prefix>" then 17 or 32 lowercase hex digits. */
bool ipam__io_id_ok(const char *id, const char *prefix);

/* A new empty document. */
json_t *ipam__doc_new(void);
/* Appends elem (stolen) to the document's array `key`. */
void ipam__doc_add(json_t *doc, const char *key, json_t *elem);

/* The readers: 0 and *out (a document), or IPAM_EINVAL naming the line. */
int ipam__read_aws(const char *text, size_t len, json_t **out, ipam_err *err);
int ipam__read_netbox_json(const char *text, size_t len, json_t **out,
			   ipam_err *err);
int ipam__read_csv(ipam_import_format fmt, const char *text, size_t len,
		   json_t **out, ipam_err *err);
/* Which format `text` is in; IPAM_EINVAL when none or several fit. */
int ipam__detect_format(const char *text, size_t len, ipam_import_format *out,
			ipam_err *err);

/* Builds pools and allocations from prefixes by containment (NetBox,
 * phpIPAM, plain CSV): see import_tree.c. */
typedef struct ipam__prefix {
	ipam_cidr cidr;
	char *scope;	   /* scope name */
	char *name;	   /* "" = derived from the CIDR */
	char *description; /* may be NULL */
	char *parent;	   /* explicit parent CIDR text or name, or NULL */
	bool is_pool;	   /* a container (pool) rather than a leaf */
	bool force_leaf;   /* never a pool, even with children */
	json_t *tags;	   /* object key -> string, or NULL */
	size_t line;
} ipam__prefix;
int ipam__prefixes_to_doc(ipam__prefix *list, size_t n, json_t **out,
			  ipam_err *err);
void ipam__prefixes_free(ipam__prefix *list, size_t n);

#endif
