/*
 * tree.h - paths of the mounted tree and the node each one names.
 */
#ifndef IPAMFS_TREE_H
#define IPAMFS_TREE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "ipam.h"

struct ipamfs;
struct attr;

enum node_kind {
	/* directories */
	NODE_ROOT,	  /* / */
	NODE_IPAM,	  /* /ipam */
	NODE_QUOTAS,	  /* /ipam/quotas */
	NODE_BYID,	  /* /by-id */
	NODE_SCOPES,	  /* /scopes */
	NODE_SCOPE,	  /* /scopes/<s> */
	NODE_POOLS,	  /* .../pools (of a scope or of a pool) */
	NODE_POOL,	  /* .../pools/<p> */
	NODE_TAGS,	  /* <pool>/tags and <resource>/tags */
	NODE_ALLOCS,	  /* <pool>/allocations */
	NODE_ALLOC,	  /* <pool>/allocations/<a> */
	NODE_PREVIEW,	  /* <pool>/preview */
	NODE_RESOURCES,	  /* /scopes/<s>/resources */
	NODE_RESOURCE,	  /* /scopes/<s>/resources/<id> */
	NODE_HISTORY,	  /* /scopes/<s>/history */
	NODE_DISCOVERIES, /* /discoveries */
	NODE_DISCOVERY,	  /* /discoveries/<name> */
	NODE_METRICS,	  /* /metrics */
	NODE_MAPS,	  /* <pool>/maps and /scopes/<s>/maps */
	NODE_PLISTS,	  /* /prefix-lists */
	NODE_PLIST,	  /* /prefix-lists/<name> (name) */
	NODE_PLVERSIONS,  /* <list>/versions */
	NODE_PLTARGETS,	  /* <list>/targets */
	NODE_PLTARGET,	  /* <list>/targets/<t> (plist_target) */
	NODE_TOKENS,	  /* /ipam/verification-tokens */
	NODE_TOKEN,	  /* /ipam/verification-tokens/<name> (name) */
	NODE_ASNS,	  /* /asns */
	NODE_ASN,	  /* /asns/<asn> (name: the ASN in decimal) */
	NODE_POLICIES,	  /* /policies */
	NODE_POLICY,	  /* /policies/<name> (name, policy_key) */
	/* leaves */
	NODE_FILE, /* an attribute or generated file: node.attr */
	NODE_LINK, /* /by-id/<id> */
};

/* The object whose owner, group and mode a node shows (SPEC §8.5). */
enum node_owner {
	OWNER_NONE, /* root-owned: /, /ipam, /scopes, /by-id ... */
	OWNER_SCOPE,
	OWNER_POOL,
	OWNER_ALLOC,
};

struct node {
	enum node_kind kind;
	enum node_owner owner;
	const struct attr *attr; /* NODE_FILE */
	enum node_kind dir;	 /* NODE_FILE: the kind of its directory */
	int64_t scope_key;	 /* 0 = none */
	int64_t pool_key;	 /* NODE_POOLS: the parent pool, 0 = top */
	int64_t alloc_key;
	bool is_public;		    /* in the public scope */
	char owner_id[IPAM_ID_MAX]; /* id of the owner object */
	int64_t created;	    /* the owner's creation time; 0 = unknown */
	int prefix_len;		    /* preview/<len> */
	int64_t resource_key;	/* a resource and what lies in it; 0 = none */
	int64_t discovery_key;	/* a discovery and its files */
	ipam_cidr history_cidr; /* history/<CIDR>[@WINDOW][.json] */
	int64_t history_from;	/* the window; unused for @now */
	int64_t history_to;
	ipam_cidr map_view; /* maps/<CIDR>.svg */
	/* tag key, allocation name, by-id id, discovery name, prefix list */
	char name[IPAM_NAME_MAX + 1];
	int64_t plist_key;		      /* a prefix list; 0 = none */
	int64_t plist_version;		      /* versions/<n> */
	char plist_target[IPAM_NAME_MAX + 1]; /* targets/<t> */
	int64_t policy_key;		      /* a policy; 0 = none */
};

static inline bool node_is_dir(const struct node *n)
{
	return n->kind < NODE_FILE;
}

/*
 * Resolves an absolute path, from the path cache when nothing changed
 * since it was last resolved. IPAM_ENOENT when nothing is there (also for
 * components longer than any name can be; a malformed history query is
 * also logged to /errors), IPAM_EINVAL with "not a directory" when a leaf
 * is followed by more components, other codes from libipam.
 */
int tree_resolve(struct ipamfs *fs, const char *path, struct node *out,
		 ipam_err *err);

/*
 * Whether what `n` names depends only on objects whose removal libipam
 * reports (scopes, pools, allocations, discoveries) and on nothing else
 * that changes: a scope, pool, allocation or discovery directory, the
 * fixed directories, and their attribute files. Such a node, once
 * resolved, stays what its path names until a removal (lowlevel.c keeps
 * it in the inode table). Not: tags, preview lengths, history queries
 * and windows, maps, by-id links, prefix lists, resources (which move
 * between scopes).
 */
bool tree_node_stable(const struct node *n);

/* The conditional files (ATTR_PUBLIC, ATTR_CLOCK, ATTR_HOST) directory
 * node `n` shows. */
unsigned tree_shown(const struct ipamfs *fs, const struct node *n);

/*
 * Resolves the directory of `path` into *parent and points *name at the
 * last component (inside `path`). Used by mkdir and create.
 */
int tree_resolve_parent(struct ipamfs *fs, const char *path,
			struct node *parent, const char **name, ipam_err *err);

/* Calls add(ctx, name) for every entry of directory node `n`, sorted as
 * libipam returns them (static entries first). */
typedef void (*tree_add_fn)(void *ctx, const char *name);
int tree_list(struct ipamfs *fs, const struct node *n, tree_add_fn add,
	      void *ctx, ipam_err *err);

/* The path, relative to the root, of the object named by an id:
 * "scopes/private/pools/top/allocations/web". */
int tree_object_path(struct ipamfs *fs, const char *object_id, struct buf *out,
		     ipam_err *err);

/* Lengths `ls preview/` shows: [*lo, *hi]; *lo > *hi when none. */
int tree_preview_range(struct ipamfs *fs, int64_t pool, int *lo, int *hi,
		       ipam_err *err);

#endif
