/*
 * cache.c - a small cache of rendered generated files.
 *
 * `ls -l` calls getattr on every file and getattr must report the real size
 * of generated content, so it has to render it; `cat` then opens and would
 * render again. The cache keeps the last renderings (path -> blob) together
 * with the key they were rendered at; an entry is used only while the key is
 * still current, i.e. nothing changed in the IPAM since. Callers take the
 * key BEFORE rendering, so a cached blob is never older than its key.
 *
 * Eviction is least-recently-used over CACHE_SLOTS slots and a byte budget.
 * The mutex is never held while rendering or while calling into libipam.
 */
#include "cache.h"

#include <stdlib.h>
#include <string.h>

void cache_init(struct cache *cache)
{
	memset(cache, 0, sizeof(*cache));
	pthread_mutex_init(&cache->lock, NULL);
}

static void slot_clear(struct cache *cache, struct cache_slot *slot)
{
	if (!slot->path)
		return;
	cache->bytes -= slot->blob->len;
	blob_unref(slot->blob);
	free(slot->path);
	memset(slot, 0, sizeof(*slot));
}

void cache_free(struct cache *cache)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		slot_clear(cache, &cache->slots[i]);
	pthread_mutex_destroy(&cache->lock);
}

static bool key_equal(struct cache_key a, struct cache_key b)
{
	return a.events == b.events && a.generation == b.generation &&
	       a.clock == b.clock;
}

static struct cache_slot *slot_find(struct cache *cache, const char *path)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		if (cache->slots[i].path &&
		    strcmp(cache->slots[i].path, path) == 0)
			return &cache->slots[i];
	return NULL;
}

/* Notes the state `key` was taken at; when it is newer than any seen,
 * drops every rendering of an older state (they can never be served
 * again). false when key is older than the newest seen. Lock held. */
static bool cache_advance(struct cache *cache, struct cache_key key)
{
	if (key.events < cache->events || key.generation < cache->generation)
		return false;
	if (key.events == cache->events && key.generation == cache->generation)
		return true;
	cache->events = key.events;
	cache->generation = key.generation;
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		struct cache_slot *slot = &cache->slots[i];
		if (slot->path && (slot->key.events != key.events ||
				   slot->key.generation != key.generation))
			slot_clear(cache, slot);
	}
	return true;
}

struct blob *cache_get(struct cache *cache, const char *path,
		       struct cache_key key)
{
	struct blob *blob = NULL;
	pthread_mutex_lock(&cache->lock);
	cache_advance(cache, key);
	struct cache_slot *slot = slot_find(cache, path);
	if (slot && key_equal(slot->key, key)) {
		slot->used = ++cache->tick;
		blob = blob_ref(slot->blob);
	} else if (slot) {
		slot_clear(cache, slot); /* stale */
	}
	pthread_mutex_unlock(&cache->lock);
	return blob;
}

/* The least recently used occupied slot; NULL when all are empty. */
static struct cache_slot *slot_oldest(struct cache *cache)
{
	struct cache_slot *oldest = NULL;
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		struct cache_slot *slot = &cache->slots[i];
		if (slot->path && (!oldest || slot->used < oldest->used))
			oldest = slot;
	}
	return oldest;
}

/* An empty slot, evicting the least recently used one if needed. */
static struct cache_slot *slot_free(struct cache *cache)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		if (!cache->slots[i].path)
			return &cache->slots[i];
	struct cache_slot *slot = slot_oldest(cache);
	if (slot)
		slot_clear(cache, slot);
	return slot;
}

void cache_put(struct cache *cache, const char *path, struct cache_key key,
	       struct blob *blob)
{
	if (blob->len > CACHE_MAX_BLOB)
		return;
	char *copy = strdup(path);
	if (!copy)
		return;
	pthread_mutex_lock(&cache->lock);
	if (!cache_advance(cache, key)) { /* rendered from an older state */
		pthread_mutex_unlock(&cache->lock);
		free(copy);
		return;
	}
	struct cache_slot *slot = slot_find(cache, path);
	if (slot)
		slot_clear(cache, slot);
	while (cache->bytes + blob->len > CACHE_MAX_BYTES &&
	       (slot = slot_oldest(cache)) != NULL)
		slot_clear(cache, slot);
	slot = slot_free(cache);
	if (!slot) { /* cannot happen: CACHE_SLOTS > 0 */
		pthread_mutex_unlock(&cache->lock);
		free(copy);
		return;
	}
	slot->path = copy;
	slot->key = key;
	slot->blob = blob_ref(blob);
	slot->used = ++cache->tick;
	cache->bytes += blob->len;
	pthread_mutex_unlock(&cache->lock);
}
