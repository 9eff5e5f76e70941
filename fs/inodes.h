/*
 * inodes.h - the nodeids the kernel holds: which path each names, which
 * object it shows, and which of them carry attributes the kernel caches.
 *
 * The kernel knows a file by the nodeid a LOOKUP (or READDIRPLUS, MKDIR,
 * CREATE) reply gave it, until it FORGETs as many lookups. ipamfs gives
 * the same nodeid to the same path while the kernel holds it, remembers the
 * scope, pool, allocation, resource or discovery a directory shows (so that
 * its cached name can be dropped when the object is deleted), and keeps the
 * set of nodeids whose attributes the kernel may cache (so that they can be
 * expired after a change).
 */
#ifndef IPAMFS_INODES_H
#define IPAMFS_INODES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipam.h"

struct node;

#define INODES_ROOT 1 /* FUSE_ROOT_ID */

struct inode {
	uint64_t ino;
	uint64_t generation; /* bumped each time the slot is reused */
	uint64_t nlookup;
	uint64_t parent;
	char *path;	 /* "/", "/scopes/private" ... */
	size_t name_off; /* the last component, in path */
	uint64_t hash;
	bool hashed;  /* found by its path (false once removed) */
	bool touched; /* in the touched set */
	ipam_kind obj_kind;
	int64_t obj_key; /* 0: shows no object */
	/* the node its path resolved to, valid while the epoch of lowlevel.c
	 * (removals and moves) is resolved_epoch; NULL: none kept */
	struct node *resolved;
	uint64_t resolved_epoch;
	struct inode *path_next, *obj_next;
};

/* Where a cached name lives: what fuse_lowlevel_notify_inval_entry takes. */
struct dentry_ref {
	uint64_t parent;
	char *name;
	char *path;
};

struct inodes {
	pthread_mutex_t lock;
	struct inode **slots; /* by ino; NULL = free */
	size_t n_slots;
	size_t next_ino; /* never used yet from here on */
	uint64_t generations;
	uint64_t *free; /* free inos */
	size_t n_free, cap_free;
	struct inode **by_path, **by_obj;
	size_t n_buckets, count; /* both tables have n_buckets buckets */
	uint64_t *touched;
	size_t n_touched, cap_touched;
};

int inodes_init(struct inodes *t);
void inodes_free(struct inodes *t);

/*
 * The nodeid of `path` (a child of `parent`) with its lookup count raised
 * by one, made when the kernel holds none. *ino and *generation are what the
 * reply carries; *fresh tells whether the kernel held it before (then it
 * may already cache attributes). obj_key != 0 records the object it shows.
 * -ENOMEM on failure.
 */
int inodes_lookup(struct inodes *t, uint64_t parent, const char *path,
		  ipam_kind obj_kind, int64_t obj_key, uint64_t *ino,
		  uint64_t *generation, bool *fresh);

/* The kernel forgot `n` lookups of ino. */
void inodes_forget(struct inodes *t, uint64_t ino, uint64_t n);

/* The nodeid of `path` while the kernel holds it; 0 when it holds none. */
uint64_t inodes_find(struct inodes *t, const char *path);

/* A malloc'd copy of the path of ino, or NULL (unknown ino, or ENOMEM:
 * *err says which). */
char *inodes_path(struct inodes *t, uint64_t ino, int *err);

/*
 * The node ino's path was resolved to at `epoch` (lowlevel.c counts the
 * removals and moves that can make a kept node wrong), into *out; false
 * when none is kept for that epoch. resolved_put keeps one (a copy; out
 * of memory keeps nothing).
 */
bool inodes_resolved_get(struct inodes *t, uint64_t ino, uint64_t epoch,
			 struct node *out);
void inodes_resolved_put(struct inodes *t, uint64_t ino, uint64_t epoch,
			 const struct node *n);

/* The inode of `path` is gone (rmdir, unlink): a later lookup of the same
 * path makes a new nodeid. */
void inodes_unhash(struct inodes *t, const char *path);

/* `from` (and everything under it) is now `to`. -ENOMEM leaves them as
 * they were. */
int inodes_rename(struct inodes *t, const char *from, const char *to,
		  uint64_t new_parent);

/* Marks ino as caching attributes that a change may make stale; false
 * when it could not be marked (out of memory): then the kernel must not
 * cache them. */
bool inodes_touch(struct inodes *t, uint64_t ino);

/* Takes the touched set (a malloc'd array, or NULL when empty): the caller
 * expires each and frees it. */
uint64_t *inodes_take_touched(struct inodes *t, size_t *count);

/*
 * The names the kernel may cache for object (kind, key), or for every
 * object when kind is IPAM_KIND_IPAM: appended to *refs (a growing array
 * of *n_refs, freed with inodes_refs_free). Each is unhashed. -ENOMEM when
 * the list could not grow (what was added stays valid).
 */
int inodes_object_refs(struct inodes *t, ipam_kind kind, int64_t key,
		       struct dentry_ref **refs, size_t *n_refs);
void inodes_refs_free(struct dentry_ref *refs, size_t n_refs);

#endif
