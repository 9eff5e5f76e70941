/*
 * cache.h - rendered content of generated files, keyed by path and by the
 * state of the IPAM it was rendered from.
 */
#ifndef IPAMFS_CACHE_H
#define IPAMFS_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

#define CACHE_SLOTS 64
#define CACHE_MAX_BYTES (64u << 20) /* all slots together */
#define CACHE_MAX_BLOB (16u << 20)  /* bigger content is not kept */

/* What a rendering depends on: the newest change-log entry of the core
 * and the FUSE layer's own generation counter; for files that depend on
 * the time (history `@now`), also the IPAM clock's second (else 0). */
struct cache_key {
	int64_t events;
	uint64_t generation;
	int64_t clock;
};

struct cache_slot {
	char *path; /* NULL = empty slot */
	struct cache_key key;
	struct blob *blob;
	uint64_t used; /* tick of the last hit, for eviction */
};

struct cache {
	pthread_mutex_t lock;
	struct cache_slot slots[CACHE_SLOTS];
	uint64_t tick;
	size_t bytes;
	/* the newest state seen: a change drops every rendering of an older
	 * one at once, so that no stale content stays in memory */
	int64_t events;
	uint64_t generation;
};

void cache_init(struct cache *cache);
void cache_free(struct cache *cache);

/* A new reference to the content of `path` rendered at `key`, or NULL. */
struct blob *cache_get(struct cache *cache, const char *path,
		       struct cache_key key);

/* Remembers `blob` (takes its own reference) as the content of `path` at
 * `key`, replacing an older entry of the same path. */
void cache_put(struct cache *cache, const char *path, struct cache_key key,
	       struct blob *blob);

#endif
