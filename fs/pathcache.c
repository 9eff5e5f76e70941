/*
 * pathcache.c - a hash map from path to resolved node and attributes.
 *
 * The kernel caches names and attributes (lowlevel.c), but after a change
 * it asks again for the attributes of what it looked at, and each request
 * names a full path: resolving it one libipam read transaction per
 * component cost ~250 k instructions for a 7-component path. This cache
 * keeps what a path resolved to, its owner, mode and size.
 *
 * Correctness first: every entry was made at one cache key (the newest
 * change-log entry of the core, and the mount's generation counter that
 * every change and refusal through the mount bumps), read before the
 * resolution began, and is served only while the key is still the same.
 * Any change anywhere therefore invalidates every entry: the first lookup
 * at a newer key empties the cache. The database is opened with an
 * exclusive lock, so no other process can change it behind the key.
 *
 * Entries of files whose size does not follow that key (/errors, /events,
 * history `@now`, /clock, allocate) carry no attributes (the caller decides,
 * see ops_read.c). The cache holds at most PATHCACHE_MAX entries; inserting
 * more empties it (a working set that large is rebuilt at the same cost as
 * before the cache existed).
 */
#include "pathcache.h"

#include "hash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pathcache_entry {
	struct pathcache_entry *next;
	uint64_t hash;
	struct node node;
	bool has_stat;
	struct stat st;
	size_t len;
	char path[]; /* len bytes and a NUL */
};

static uint64_t hash_path(const char *path, size_t len)
{
	return hash_add(HASH_INIT, path, len);
}

void pathcache_init(struct pathcache *pc)
{
	memset(pc, 0, sizeof(*pc));
	pthread_mutex_init(&pc->lock, NULL);
	pc->key.events = -1; /* matches nothing */
	/* Without buckets (out of memory) the cache is simply always empty. */
	pc->buckets = calloc(PATHCACHE_BUCKETS, sizeof(*pc->buckets));
}

static void clear(struct pathcache *pc)
{
	if (!pc->buckets || pc->count == 0)
		return;
	for (size_t i = 0; i < PATHCACHE_BUCKETS; i++) {
		struct pathcache_entry *e = pc->buckets[i];
		while (e) {
			struct pathcache_entry *next = e->next;
			free(e);
			e = next;
		}
		pc->buckets[i] = NULL;
	}
	pc->count = 0;
}

void pathcache_free(struct pathcache *pc)
{
	clear(pc);
	free(pc->buckets);
	pthread_mutex_destroy(&pc->lock);
	memset(pc, 0, sizeof(*pc));
}

static bool key_equal(struct cache_key a, struct cache_key b)
{
	return a.events == b.events && a.generation == b.generation &&
	       a.clock == b.clock;
}

/* Both counters only grow, so b is newer when neither is smaller. */
static bool key_newer(struct cache_key a, struct cache_key b)
{
	return b.events >= a.events && b.generation >= a.generation &&
	       !key_equal(a, b);
}

static struct pathcache_entry **slot_of(struct pathcache *pc, const char *path,
					size_t len, uint64_t hash)
{
	size_t bucket = hash & (PATHCACHE_BUCKETS - 1);
	struct pathcache_entry **e = &pc->buckets[bucket];
	while (*e && ((*e)->hash != hash || (*e)->len != len ||
		      memcmp((*e)->path, path, len) != 0))
		e = &(*e)->next;
	return e;
}

bool pathcache_get(struct pathcache *pc, const char *path, size_t len,
		   struct cache_key key, struct node *node, struct stat *st)
{
	bool hit = false;
	uint64_t hash = hash_path(path, len);
	pthread_mutex_lock(&pc->lock);
	if (pc->buckets && key_equal(pc->key, key)) {
		struct pathcache_entry *e = *slot_of(pc, path, len, hash);
		hit = e && (!st || e->has_stat);
		if (hit && node)
			*node = e->node;
		if (hit && st)
			*st = e->st;
	} else if (pc->buckets && key_newer(pc->key, key)) {
		clear(pc);
		pc->key = key;
	}
	pthread_mutex_unlock(&pc->lock);
	return hit;
}

void pathcache_put(struct pathcache *pc, const char *path, size_t len,
		   struct cache_key key, const struct node *node,
		   const struct stat *st)
{
	uint64_t hash = hash_path(path, len);
	pthread_mutex_lock(&pc->lock);
	if (!pc->buckets ||
	    (!key_equal(pc->key, key) && !key_newer(pc->key, key))) {
		pthread_mutex_unlock(&pc->lock);
		return; /* resolved at an older state */
	}
	if (!key_equal(pc->key, key)) {
		clear(pc);
		pc->key = key;
	}
	struct pathcache_entry **slot = slot_of(pc, path, len, hash);
	struct pathcache_entry *e = *slot;
	if (!e) {
		if (pc->count >= PATHCACHE_MAX) {
			clear(pc);
			slot = slot_of(pc, path, len, hash);
		}
		e = malloc(sizeof(*e) + len + 1);
		if (!e) {
			pthread_mutex_unlock(&pc->lock);
			return;
		}
		e->next = NULL;
		e->hash = hash;
		e->has_stat = false;
		e->len = len;
		memcpy(e->path, path, len);
		e->path[len] = '\0';
		*slot = e;
		pc->count++;
	}
	e->node = *node;
	if (st) {
		e->st = *st;
		e->has_stat = true;
	}
	pthread_mutex_unlock(&pc->lock);
}
