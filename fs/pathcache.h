/*
 * pathcache.h - resolved paths: from a path to the node it names and the
 * attributes getattr reports, valid while the IPAM does not change.
 */
#ifndef IPAMFS_PATHCACHE_H
#define IPAMFS_PATHCACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "cache.h"
#include "tree.h"

#define PATHCACHE_BUCKETS 4096 /* a power of two */
#define PATHCACHE_MAX 8192     /* entries; more empties the cache */

struct pathcache_entry;

struct pathcache {
	pthread_mutex_t lock;
	struct cache_key key; /* the state every entry was resolved at */
	struct pathcache_entry **buckets;
	size_t count;
};

void pathcache_init(struct pathcache *pc);
void pathcache_free(struct pathcache *pc);

/*
 * Looks up path[0..len) as resolved at `key` (the key now). On a hit copies
 * the node into *node (when not NULL) and returns true; when `st` is not
 * NULL a hit also needs the attributes, copied into *st.
 */
bool pathcache_get(struct pathcache *pc, const char *path, size_t len,
		   struct cache_key key, struct node *node, struct stat *st);

/*
 * Remembers that path[0..len) resolves to *node at `key`, read BEFORE the
 * resolution began, and (st not NULL) that getattr reports *st for it. A
 * key newer than the cache's empties the cache first; an older one is
 * ignored.
 */
void pathcache_put(struct pathcache *pc, const char *path, size_t len,
		   struct cache_key key, const struct node *node,
		   const struct stat *st);

#endif
