/*
 * files.h - the attribute and generated files of every directory.
 */
#ifndef IPAMFS_FILES_H
#define IPAMFS_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "ipam.h"
#include "tree.h"

struct ipamfs;

enum attr_flag {
	ATTR_RW = 1 << 0,       /* writable (0644); else read-only (0444) */
	ATTR_PUBLIC = 1 << 1,   /* only in pools of the public scope */
	ATTR_NOCACHE = 1 << 2,  /* content does not follow the IPAM state */
	ATTR_ALLOCATE = 1 << 3, /* reads return what this open file's writes
				   allocated */
	ATTR_EVENTS = 1 << 4,   /* /events: poll(2), grows while open */
	ATTR_SET = 1 << 5,      /* a set: each write applies all the lines
				   written through the same open file */
};

/* One write(2), split: the non-empty lines (NUL-terminated, without their
 * '\n'). */
struct input {
	char **lines;
	size_t count;
};

struct attr;

/* Renders the file's content into out; 0 or an ipam_code with err. */
typedef int (*attr_render_fn)(struct ipamfs *fs, const struct node *n,
			      const struct attr *a, struct buf *out,
			      ipam_err *err);
/* Applies one write inside the caller's transaction; `result` collects
 * what an allocate write returns. 0 or an ipam_code with err. */
typedef int (*attr_apply_fn)(struct ipamfs *fs, const struct node *n,
			     const struct attr *a, const struct input *in,
			     struct buf *result, ipam_err *err);

struct attr {
	const char *name;
	unsigned flags;
	int arg; /* per-entry argument (quota, netmask rule) */
	attr_render_fn render;
	attr_apply_fn apply; /* NULL for read-only files */
};

/* The file `name` of directory kind `dir` (NULL when none; public-only
 * files are visible only when is_public). */
const struct attr *files_find(enum node_kind dir, const char *name,
			      bool is_public);

/* Calls add(ctx, name) for each file of directory kind `dir`. */
void files_list(enum node_kind dir, bool is_public,
		void (*add)(void *ctx, const char *name), void *ctx);

/* The file of tags/<key> and of preview/<len>. */
extern const struct attr files_tag;
extern const struct attr files_preview;

#endif
