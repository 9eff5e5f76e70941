/*
 * inodes.c - the nodeid table of the low-level FUSE loop (see inodes.h).
 *
 * Slots are indexed by nodeid (1 is the root, which is never forgotten);
 * freed nodeids are reused with a new generation. Two chained hash tables
 * find an inode by path and by the object it shows; both are resized
 * together when they hold as many inodes as buckets. Everything is behind
 * one mutex: the calls are short and never call the kernel or libipam.
 */
#include "inodes.h"

#include "tree.h"

#include "hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t path_hash(const char *path)
{
	return hash_add(HASH_INIT, path, strlen(path));
}

static size_t obj_bucket(const struct inodes *t, ipam_kind kind, int64_t key)
{
	uint64_t h = (uint64_t)key * 0x9e3779b97f4a7c15ull + (uint64_t)kind;
	return (size_t)(h >> 20) & (t->n_buckets - 1);
}

static void unlink_chain(struct inode **chain, struct inode *node, bool by_path)
{
	for (struct inode **p = chain; *p;
	     p = by_path ? &(*p)->path_next : &(*p)->obj_next) {
		if (*p == node) {
			*p = by_path ? node->path_next : node->obj_next;
			return;
		}
	}
}

static void link_node(struct inodes *t, struct inode *node)
{
	size_t b = node->hash & (t->n_buckets - 1);
	node->path_next = t->by_path[b];
	t->by_path[b] = node;
	if (node->obj_key) {
		b = obj_bucket(t, node->obj_kind, node->obj_key);
		node->obj_next = t->by_obj[b];
		t->by_obj[b] = node;
	}
	node->hashed = true;
}

static void unlink_node(struct inodes *t, struct inode *node)
{
	if (!node->hashed)
		return;
	unlink_chain(&t->by_path[node->hash & (t->n_buckets - 1)], node, true);
	if (node->obj_key)
		unlink_chain(&t->by_obj[obj_bucket(t, node->obj_kind,
						   node->obj_key)],
			     node, false);
	node->hashed = false;
	/* its path no longer names it: what it resolved to is not kept */
	free(node->resolved);
	node->resolved = NULL;
}

/* Doubles both hash tables; on ENOMEM they stay as they are (longer
 * chains, still correct). */
static void grow_buckets(struct inodes *t)
{
	size_t n = t->n_buckets * 2;
	struct inode **by_path = calloc(n, sizeof(*by_path));
	struct inode **by_obj = calloc(n, sizeof(*by_obj));
	if (!by_path || !by_obj) {
		free(by_path);
		free(by_obj);
		return;
	}
	free(t->by_path);
	free(t->by_obj);
	t->by_path = by_path;
	t->by_obj = by_obj;
	t->n_buckets = n;
	for (size_t i = 0; i < t->n_slots; i++)
		if (t->slots[i] && t->slots[i]->hashed)
			link_node(t, t->slots[i]);
}

/* Appends ino to a growing array; false when out of memory. */
static bool push_ino(uint64_t **list, size_t *n, size_t *cap, uint64_t ino)
{
	if (*n == *cap) {
		size_t want = *cap ? 2 * *cap : 256;
		uint64_t *grown = realloc(*list, want * sizeof(*grown));
		if (!grown)
			return false;
		*list = grown;
		*cap = want;
	}
	(*list)[(*n)++] = ino;
	return true;
}

static struct inode *new_inode(const char *path, uint64_t parent)
{
	struct inode *node = calloc(1, sizeof(*node));
	if (!node || !(node->path = strdup(path))) {
		free(node);
		return NULL;
	}
	const char *slash = strrchr(path, '/');
	node->name_off = slash ? (size_t)(slash - path) + 1 : 0;
	node->parent = parent;
	node->hash = path_hash(path);
	return node;
}

int inodes_init(struct inodes *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->n_buckets = 1024;
	t->n_slots = 1024;
	t->by_path = calloc(t->n_buckets, sizeof(*t->by_path));
	t->by_obj = calloc(t->n_buckets, sizeof(*t->by_obj));
	t->slots = calloc(t->n_slots, sizeof(*t->slots));
	struct inode *root = new_inode("/", INODES_ROOT);
	if (!t->by_path || !t->by_obj || !t->slots || !root) {
		free(root);
		inodes_free(t);
		return -ENOMEM;
	}
	root->ino = INODES_ROOT;
	root->nlookup = 1;
	root->name_off = 1;
	t->slots[INODES_ROOT] = root;
	link_node(t, root);
	t->count = 1;
	t->next_ino = INODES_ROOT + 1;
	return 0;
}

void inodes_free(struct inodes *t)
{
	for (size_t i = 0; t->slots && i < t->n_slots; i++) {
		if (t->slots[i]) {
			free(t->slots[i]->path);
			free(t->slots[i]->resolved);
			free(t->slots[i]);
		}
	}
	free(t->slots);
	free(t->by_path);
	free(t->by_obj);
	free(t->free);
	free(t->touched);
	pthread_mutex_destroy(&t->lock);
	memset(t, 0, sizeof(*t));
}

static struct inode *find_path(struct inodes *t, const char *path,
			       uint64_t hash)
{
	for (struct inode *n = t->by_path[hash & (t->n_buckets - 1)]; n;
	     n = n->path_next)
		if (n->hash == hash && strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

/* A free nodeid for node (the slot array grows as needed). */
static int place(struct inodes *t, struct inode *node)
{
	if (t->n_free) {
		node->ino = t->free[--t->n_free];
	} else {
		if (t->next_ino == t->n_slots) {
			size_t n = t->n_slots * 2;
			struct inode **grown =
				realloc(t->slots, n * sizeof(*grown));
			if (!grown)
				return -ENOMEM;
			memset(grown + t->n_slots, 0,
			       (n - t->n_slots) * sizeof(*grown));
			t->slots = grown;
			t->n_slots = n;
		}
		node->ino = t->next_ino++;
	}
	t->slots[node->ino] = node;
	t->count++;
	return 0;
}

int inodes_lookup(struct inodes *t, uint64_t parent, const char *path,
		  ipam_kind obj_kind, int64_t obj_key, uint64_t *ino,
		  uint64_t *generation, bool *fresh)
{
	uint64_t hash = path_hash(path);
	pthread_mutex_lock(&t->lock);
	struct inode *node = find_path(t, path, hash);
	*fresh = node == NULL;
	if (node && node->obj_key != obj_key) {
		/* Another object under the same name: a new nodeid. */
		unlink_node(t, node);
		node = NULL;
		*fresh = true;
	}
	if (!node) {
		node = new_inode(path, parent);
		if (!node || place(t, node) != 0) {
			if (node)
				free(node->path);
			free(node);
			pthread_mutex_unlock(&t->lock);
			return -ENOMEM;
		}
		node->obj_kind = obj_kind;
		node->obj_key = obj_key;
		node->generation = ++t->generations; /* unique per mount */
		link_node(t, node);
		if (t->count > t->n_buckets)
			grow_buckets(t);
	}
	node->nlookup++;
	*ino = node->ino;
	*generation = node->generation;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

void inodes_forget(struct inodes *t, uint64_t ino, uint64_t n)
{
	pthread_mutex_lock(&t->lock);
	struct inode *node = ino < t->n_slots ? t->slots[ino] : NULL;
	if (node && ino != INODES_ROOT) {
		node->nlookup = node->nlookup > n ? node->nlookup - n : 0;
		if (node->nlookup == 0) {
			unlink_node(t, node);
			t->slots[ino] = NULL;
			t->count--;
			/* without memory the nodeid is not used again */
			push_ino(&t->free, &t->n_free, &t->cap_free, ino);
			free(node->path);
			free(node->resolved);
			free(node);
		}
	}
	pthread_mutex_unlock(&t->lock);
}

char *inodes_path(struct inodes *t, uint64_t ino, int *err)
{
	char *path = NULL;
	pthread_mutex_lock(&t->lock);
	struct inode *node = ino < t->n_slots ? t->slots[ino] : NULL;
	*err = node ? 0 : -ESTALE;
	if (node && !(path = strdup(node->path)))
		*err = -ENOMEM;
	pthread_mutex_unlock(&t->lock);
	return path;
}

uint64_t inodes_find(struct inodes *t, const char *path)
{
	pthread_mutex_lock(&t->lock);
	struct inode *node = find_path(t, path, path_hash(path));
	uint64_t ino = node ? node->ino : 0;
	pthread_mutex_unlock(&t->lock);
	return ino;
}

bool inodes_resolved_get(struct inodes *t, uint64_t ino, uint64_t epoch,
			 struct node *out)
{
	bool hit = false;
	pthread_mutex_lock(&t->lock);
	struct inode *node = ino < t->n_slots ? t->slots[ino] : NULL;
	if (node && node->resolved && node->resolved_epoch == epoch) {
		*out = *node->resolved;
		hit = true;
	}
	pthread_mutex_unlock(&t->lock);
	return hit;
}

void inodes_resolved_put(struct inodes *t, uint64_t ino, uint64_t epoch,
			 const struct node *n)
{
	pthread_mutex_lock(&t->lock);
	struct inode *node = ino < t->n_slots ? t->slots[ino] : NULL;
	if (node && !node->resolved)
		node->resolved = malloc(sizeof(*node->resolved));
	if (node && node->resolved) {
		*node->resolved = *n;
		node->resolved_epoch = epoch;
	}
	pthread_mutex_unlock(&t->lock);
}

void inodes_unhash(struct inodes *t, const char *path)
{
	pthread_mutex_lock(&t->lock);
	struct inode *node = find_path(t, path, path_hash(path));
	if (node)
		unlink_node(t, node);
	pthread_mutex_unlock(&t->lock);
}

static bool under(const char *path, const char *dir, size_t dir_len)
{
	return strncmp(path, dir, dir_len) == 0 &&
	       (path[dir_len] == '\0' || path[dir_len] == '/');
}

int inodes_rename(struct inodes *t, const char *from, const char *to,
		  uint64_t new_parent)
{
	size_t from_len = strlen(from), to_len = strlen(to);
	int rc = 0;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n_slots && rc == 0; i++) {
		struct inode *node = t->slots[i];
		if (!node || !node->hashed ||
		    !under(node->path, from, from_len))
			continue;
		size_t rest = strlen(node->path + from_len);
		char *path = malloc(to_len + rest + 1);
		if (!path) {
			rc = -ENOMEM;
			break;
		}
		memcpy(path, to, to_len);
		memcpy(path + to_len, node->path + from_len, rest + 1);
		unlink_node(t, node);
		free(node->path);
		node->path = path;
		node->hash = path_hash(path);
		node->name_off = (size_t)(strrchr(path, '/') - path) + 1;
		if (node->path[to_len] == '\0')
			node->parent = new_parent;
		link_node(t, node);
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

bool inodes_touch(struct inodes *t, uint64_t ino)
{
	bool marked = false;
	pthread_mutex_lock(&t->lock);
	struct inode *node = ino < t->n_slots ? t->slots[ino] : NULL;
	if (node && !node->touched)
		node->touched = push_ino(&t->touched, &t->n_touched,
					 &t->cap_touched, ino);
	marked = node && node->touched;
	pthread_mutex_unlock(&t->lock);
	return marked;
}

uint64_t *inodes_take_touched(struct inodes *t, size_t *count)
{
	pthread_mutex_lock(&t->lock);
	uint64_t *list = t->touched;
	*count = t->n_touched;
	for (size_t i = 0; i < t->n_touched; i++) {
		uint64_t ino = t->touched[i];
		if (ino < t->n_slots && t->slots[ino])
			t->slots[ino]->touched = false;
	}
	t->touched = NULL;
	t->n_touched = t->cap_touched = 0;
	pthread_mutex_unlock(&t->lock);
	if (*count == 0) {
		free(list);
		return NULL;
	}
	return list;
}

static int add_ref(struct dentry_ref **refs, size_t *n_refs,
		   const struct inode *node)
{
	struct dentry_ref *grown =
		realloc(*refs, (*n_refs + 1) * sizeof(**refs));
	if (!grown)
		return -ENOMEM;
	*refs = grown;
	struct dentry_ref *r = &grown[*n_refs];
	r->parent = node->parent;
	r->path = strdup(node->path);
	r->name = r->path ? r->path + node->name_off : NULL;
	if (!r->path)
		return -ENOMEM;
	(*n_refs)++;
	return 0;
}

int inodes_object_refs(struct inodes *t, ipam_kind kind, int64_t key,
		       struct dentry_ref **refs, size_t *n_refs)
{
	int rc = 0;
	pthread_mutex_lock(&t->lock);
	if (kind == IPAM_KIND_IPAM) {
		for (size_t i = 0; i < t->n_slots && rc == 0; i++) {
			struct inode *node = t->slots[i];
			if (node && node->hashed && node->obj_key &&
			    (rc = add_ref(refs, n_refs, node)) == 0)
				unlink_node(t, node);
		}
	} else {
		struct inode *node = t->by_obj[obj_bucket(t, kind, key)];
		while (node && rc == 0) {
			struct inode *next = node->obj_next;
			if (node->obj_kind == kind && node->obj_key == key &&
			    (rc = add_ref(refs, n_refs, node)) == 0)
				unlink_node(t, node);
			node = next;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void inodes_refs_free(struct dentry_ref *refs, size_t n_refs)
{
	for (size_t i = 0; i < n_refs; i++)
		free(refs[i].path);
	free(refs);
}
