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
	ATTR_RW = 1 << 0,	/* writable (0644); else read-only (0444) */
	ATTR_PUBLIC = 1 << 1,	/* only in pools of the public scope */
	ATTR_NOCACHE = 1 << 2,	/* content does not follow the IPAM state */
	ATTR_ALLOCATE = 1 << 3, /* reads return what this open file's writes
				   allocated */
	ATTR_EVENTS = 1 << 4,	/* /events: poll(2), grows while open */
	ATTR_SET = 1 << 5,	/* a set: a write through an O_APPEND open
				   adds its lines, any other write applies
				   all the lines written through the same
				   open file (`>` replaces) */
	ATTR_WO = 1 << 6,	/* with ATTR_RW: write-only (0200) */
	ATTR_STREAM = 1 << 7,	/* writes accumulate; the whole text is
				   applied when the descriptor is flushed
				   (discovery feed) */
	ATTR_CLOCK = 1 << 8,	/* only with -o settable-clock */
	ATTR_HOST = 1 << 9,	/* only in the `host` discovery */
	ATTR_CLOCKED = 1 << 10, /* content depends on the IPAM clock too */
	ATTR_BINARY = 1 << 11,	/* content is bytes, not text: never
				   repaired to UTF-8 (content.c) */
	ATTR_READER = 1 << 12,	/* content depends on who reads (access.c):
				   cached for root only */
	ATTR_COMMAND = 1 << 13, /* each line is a command (cidrs, allocate,
				   refresh): O_TRUNC and truncate(2) do
				   nothing */
	ATTR_BACKUP = 1 << 14,	/* /backup.db: owner-only (0400), its size
				   the database's, its content a snapshot
				   taken at open; SQLite only: shown when
				   struct ipamfs.backup_image) */
};

/* The flags that make a file conditional: it is shown only when the
 * directory shows all of its conditional flags (tree_shown). */
#define ATTR_CONDITIONAL (ATTR_PUBLIC | ATTR_CLOCK | ATTR_HOST | ATTR_BACKUP)

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

/* The file `name` of directory kind `dir` (NULL when none; a conditional
 * file is visible only when `shown` holds all its conditional flags). */
const struct attr *files_find(enum node_kind dir, const char *name,
			      unsigned shown);

/* Calls add(ctx, name) for each file of directory kind `dir`. */
void files_list(enum node_kind dir, unsigned shown,
		void (*add)(void *ctx, const char *name), void *ctx);

/* Whether directories of kind `dir` hold attribute files. */
bool files_has_attrs(enum node_kind dir);

/* Why sed -i and editors that save through a new file and rename(2) fail,
 * and what works instead (docs/tree.md "Editing"). */
#define IPAMFS_IN_PLACE                                                        \
	"an attribute is changed by writing it in place (echo VALUE > FILE); " \
	"sed -i and editors that save a new file and rename it cannot, use "   \
	"v=$(sed EXPR FILE) && printf '%s\\n' \"$v\" > FILE"

/* The file of tags/<key> and of preview/<len>. */
extern const struct attr files_tag;
extern const struct attr files_preview;
/* The file of maps/<CIDR>.svg (node.map_view). */
extern const struct attr files_map_view;

/* The files of history/<CIDR>[@WINDOW][.json]: [now][json]. */
extern const struct attr files_history[2][2];

/* The tables of files_resource.c and files_discovery.c. */
extern const struct attr files_resource_table[];
extern const struct attr files_discovery_table[];
extern const struct attr files_metrics_table[];
/* files_prefix.c: a prefix list, versions/<n>, a target. */
extern const struct attr files_plist_table[];
extern const struct attr files_plversion;
extern const struct attr files_pltarget_table[];
/* files_policy.c: a policy; its JSON views (arg: ipam_policy_view), also
 * /policies.json (every policy). */
extern const struct attr files_policy_table[];
int files_policy_json(struct ipamfs *fs, const struct node *n,
		      const struct attr *a, struct buf *out, ipam_err *err);

/* files_planning.c: a pool's source-resource and delete, an allocation's
 * host record (attr arg: ipam_host_field) and allocation.json. */
int files_render_source_resource(struct ipamfs *fs, const struct node *n,
				 const struct attr *a, struct buf *out,
				 ipam_err *err);
int files_apply_source_resource(struct ipamfs *fs, const struct node *n,
				const struct attr *a, const struct input *in,
				struct buf *result, ipam_err *err);
int files_apply_pool_delete(struct ipamfs *fs, const struct node *n,
			    const struct attr *a, const struct input *in,
			    struct buf *result, ipam_err *err);
int files_render_host(struct ipamfs *fs, const struct node *n,
		      const struct attr *a, struct buf *out, ipam_err *err);
int files_apply_host(struct ipamfs *fs, const struct node *n,
		     const struct attr *a, const struct input *in,
		     struct buf *result, ipam_err *err);
int files_render_alloc_json(struct ipamfs *fs, const struct node *n,
			    const struct attr *a, struct buf *out,
			    ipam_err *err);

/* files_io.c: /export.json, /export-history.json, /import, /plan (the
 * attr's arg is one of these). */
enum io_file { IO_EXPORT, IO_HISTORY, IO_IMPORT, IO_PLAN };
int files_io_render(struct ipamfs *fs, const struct node *n,
		    const struct attr *a, struct buf *out, ipam_err *err);
int files_io_apply(struct ipamfs *fs, const struct node *n,
		   const struct attr *a, const struct input *in,
		   struct buf *result, ipam_err *err);

/* Tags of the object a tags/ node (or a tag file) belongs to: a pool's
 * (by its id) or a resource's (node.resource_key). */
int files_tag_get(struct ipamfs *fs, const struct node *n, const char *key,
		  char **out, ipam_err *err);
int files_tag_set(struct ipamfs *fs, const struct node *n, const char *key,
		  const char *value, ipam_err *err);
int files_tag_remove(struct ipamfs *fs, const struct node *n, const char *key,
		     ipam_err *err);
int files_tag_list(struct ipamfs *fs, const struct node *n, ipam_strlist *out,
		   ipam_err *err);

/* Entries of the file tables (files.c, files_resource.c,
 * files_discovery.c): a read-only file and a writable one. */
/* clang-format off */
#define RO(name, render, arg) {name, 0, arg, render, NULL}
#define RW(name, render, apply, arg) {name, ATTR_RW, arg, render, apply}
/* clang-format on */

#endif
