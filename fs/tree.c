/*
 * tree.c - from a path to the node it names, and back from an id to a path.
 *
 * The tree of SPEC §3 is walked one component at a time: each directory
 * kind knows its fixed sub-directories, its files (files.c) and how to look
 * up a child by name in libipam (scopes, pools at any depth, allocations,
 * tags, by-id ids, preview lengths). The result is a `struct node`: what
 * the path is, the keys of the scope, pool and allocation it lies in, and
 * the object whose permissions it shows. Nothing is cached: every
 * operation resolves its path again, so a node is as current as libipam.
 */
#include "tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "ipamfs.h"

/* Copies the component at *p into name and advances *p past it. Returns
 * its length, 0 at the end of the path, or IPAM_NAME_MAX + 1 when it is
 * longer than any name (then name holds a cut copy). */
static size_t next_component(const char **p, char name[IPAM_NAME_MAX + 1])
{
	const char *s = *p;
	while (*s == '/')
		s++;
	size_t len = strcspn(s, "/");
	size_t copy = len > IPAM_NAME_MAX ? IPAM_NAME_MAX : len;
	memcpy(name, s, copy);
	name[copy] = '\0';
	*p = s + len;
	return len > IPAM_NAME_MAX ? IPAM_NAME_MAX + 1 : len;
}

static int not_found(ipam_err *err, const char *name)
{
	return ipamfs_err(err, IPAM_ENOENT, "'%s' does not exist", name);
}

static int step_file(struct node *n, const char *name, ipam_err *err)
{
	const struct attr *a = files_find(n->kind, name, n->is_public);
	if (!a)
		return not_found(err, name);
	n->dir = n->kind;
	n->kind = NODE_FILE;
	n->attr = a;
	return 0;
}

/* Loads the id and creation time of the pool a node lies in. */
static int load_pool_owner(struct ipamfs *fs, struct node *n, ipam_err *err)
{
	if (n->owner != OWNER_POOL || n->owner_id[0])
		return 0;
	ipam_pool_info *info = malloc(sizeof(*info));
	if (!info)
		return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	int rc = ipam_pool_get(fs->db, n->pool_key, info, err);
	if (rc == 0) {
		memcpy(n->owner_id, info->id, sizeof(n->owner_id));
		n->created = info->created;
	}
	free(info);
	return rc;
}

static int step_scope(struct ipamfs *fs, struct node *n, const char *name,
		      ipam_err *err)
{
	ipam_scope_info *info = malloc(sizeof(*info));
	if (!info)
		return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	int rc = ipam_scope_get(fs->db, name, info, err);
	if (rc == 0) {
		n->kind = NODE_SCOPE;
		n->owner = OWNER_SCOPE;
		n->scope_key = info->key;
		n->is_public = info->is_public;
		memcpy(n->owner_id, info->id, sizeof(n->owner_id));
		n->created = info->created;
	}
	free(info);
	return rc;
}

static int step_pool(struct ipamfs *fs, struct node *n, const char *name,
		     ipam_err *err)
{
	int64_t key = 0;
	int rc = ipam_pool_lookup(fs->db, n->scope_key, n->pool_key, name,
				  &key, err);
	if (rc)
		return rc;
	n->kind = NODE_POOL;
	n->owner = OWNER_POOL;
	n->pool_key = key;
	n->owner_id[0] = '\0'; /* loaded when needed */
	n->created = 0;
	return 0;
}

static int step_pool_dir(struct node *n, const char *name, ipam_err *err)
{
	if (strcmp(name, "pools") == 0)
		n->kind = NODE_POOLS;
	else if (strcmp(name, "tags") == 0)
		n->kind = NODE_TAGS;
	else if (strcmp(name, "allocations") == 0)
		n->kind = NODE_ALLOCS;
	else if (strcmp(name, "preview") == 0)
		n->kind = NODE_PREVIEW;
	else
		return step_file(n, name, err);
	return 0;
}

static int step_tag(struct ipamfs *fs, struct node *n, const char *name,
		    ipam_err *err)
{
	int rc = load_pool_owner(fs, n, err);
	if (rc)
		return rc;
	char *value = NULL;
	rc = ipam_tag_get(fs->db, n->owner_id, name, &value, err);
	free(value);
	if (rc)
		return rc;
	n->dir = NODE_TAGS;
	n->kind = NODE_FILE;
	n->attr = &files_tag;
	strcpy(n->name, name);
	return 0;
}

static int step_alloc(struct ipamfs *fs, struct node *n, const char *name,
		      ipam_err *err)
{
	ipam_alloc_info *info = malloc(sizeof(*info));
	if (!info)
		return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	int rc = ipam_alloc_get(fs->db, n->pool_key, name, info, err);
	if (rc == 0) {
		n->kind = NODE_ALLOC;
		n->owner = OWNER_ALLOC;
		n->alloc_key = info->key;
		memcpy(n->owner_id, info->id, sizeof(n->owner_id));
		n->created = info->created;
		strcpy(n->name, name);
	}
	free(info);
	return rc;
}

/* "0".."128" without sign, spaces or leading zeros; -1 otherwise. */
static int parse_length(const char *text)
{
	size_t len = strlen(text);
	if (len == 0 || len > 3 || (len > 1 && text[0] == '0'))
		return -1;
	int value = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		value = value * 10 + (text[i] - '0');
	}
	return value <= 128 ? value : -1;
}

static int step_preview(struct ipamfs *fs, struct node *n, const char *name,
			ipam_err *err)
{
	int len = parse_length(name);
	int lo = 0, hi = -1;
	if (len < 0)
		return not_found(err, name);
	int rc = tree_preview_range(fs, n->pool_key, &lo, &hi, err);
	if (rc)
		return rc;
	if (len < lo || len > hi)
		return not_found(err, name);
	n->dir = NODE_PREVIEW;
	n->kind = NODE_FILE;
	n->attr = &files_preview;
	n->prefix_len = len;
	return 0;
}

/* The kinds of object /by-id links to (others have no directory yet). */
static bool tree_kind_shown(ipam_kind kind)
{
	return kind == IPAM_KIND_SCOPE || kind == IPAM_KIND_POOL ||
	       kind == IPAM_KIND_ALLOCATION;
}

static int step_byid(struct ipamfs *fs, struct node *n, const char *name,
		     ipam_err *err)
{
	ipam_kind kind;
	int64_t key = 0;
	int rc = ipam_id_lookup(fs->db, name, &kind, &key, err);
	if (rc)
		return rc;
	if (!tree_kind_shown(kind))
		return not_found(err, name);
	n->kind = NODE_LINK;
	strcpy(n->name, name);
	return 0;
}

static int step_fixed(struct node *n, const char *name, ipam_err *err)
{
	if (n->kind == NODE_ROOT && strcmp(name, "ipam") == 0)
		n->kind = NODE_IPAM;
	else if (n->kind == NODE_ROOT && strcmp(name, "scopes") == 0)
		n->kind = NODE_SCOPES;
	else if (n->kind == NODE_ROOT && strcmp(name, "by-id") == 0)
		n->kind = NODE_BYID;
	else if (n->kind == NODE_IPAM && strcmp(name, "quotas") == 0)
		n->kind = NODE_QUOTAS;
	else if (n->kind == NODE_SCOPE && strcmp(name, "pools") == 0)
		n->kind = NODE_POOLS; /* pool_key stays 0: top level */
	else
		return step_file(n, name, err);
	return 0;
}

/* Moves node n one component down, to `name`. */
static int step_lookup(struct ipamfs *fs, struct node *n, const char *name,
		       ipam_err *err)
{
	switch (n->kind) {
	case NODE_BYID:
		return step_byid(fs, n, name, err);
	case NODE_SCOPES:
		return step_scope(fs, n, name, err);
	case NODE_POOLS:
		return step_pool(fs, n, name, err);
	case NODE_POOL:
		return step_pool_dir(n, name, err);
	case NODE_TAGS:
		return step_tag(fs, n, name, err);
	case NODE_ALLOCS:
		return step_alloc(fs, n, name, err);
	case NODE_PREVIEW:
		return step_preview(fs, n, name, err);
	default:
		return step_fixed(n, name, err);
	}
}

/* Like step_lookup, but a name libipam finds malformed is simply absent:
 * IPAM_EINVAL is kept for "not a directory". */
static int step(struct ipamfs *fs, struct node *n, const char *name,
		ipam_err *err)
{
	if (n->kind == NODE_FILE || n->kind == NODE_LINK)
		return ipamfs_err(err, IPAM_EINVAL, "'%s': not a directory",
				  name);
	int rc = step_lookup(fs, n, name, err);
	if (rc == IPAM_EINVAL) {
		if (err)
			err->code = IPAM_ENOENT;
		rc = IPAM_ENOENT;
	}
	return rc;
}

int tree_resolve(struct ipamfs *fs, const char *path, struct node *out,
		 ipam_err *err)
{
	char name[IPAM_NAME_MAX + 1];
	memset(out, 0, sizeof(*out));
	out->kind = NODE_ROOT;
	const char *p = path;
	size_t len;
	while ((len = next_component(&p, name)) > 0) {
		if (len > IPAM_NAME_MAX)
			return ipamfs_err(err, IPAM_ENOENT,
					  "name too long to exist");
		int rc = step(fs, out, name, err);
		if (rc)
			return rc;
	}
	return load_pool_owner(fs, out, err);
}

int tree_resolve_parent(struct ipamfs *fs, const char *path,
			struct node *parent, const char **name,
			ipam_err *err)
{
	const char *slash = strrchr(path, '/');
	if (!slash || !slash[1])
		return ipamfs_err(err, IPAM_EINVAL, "no name in path");
	size_t len = (size_t)(slash - path);
	char *dir = strndup(path, len);
	if (!dir)
		return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	int rc = tree_resolve(fs, dir, parent, err);
	free(dir);
	*name = slash + 1;
	return rc;
}

/* ---- listing ---- */

static int list_strings(ipam_strlist *list, tree_add_fn add, void *ctx)
{
	for (size_t i = 0; i < list->count; i++)
		add(ctx, list->items[i]);
	ipam_strlist_free(list);
	return 0;
}

/* /by-id: the ids of scopes, pools and allocations. */
static int list_ids(struct ipamfs *fs, tree_add_fn add, void *ctx,
		    ipam_err *err)
{
	ipam_strlist list = {0, NULL};
	int rc = ipam_id_list(fs->db, &list, err);
	for (size_t i = 0; rc == 0 && i < list.count; i++) {
		ipam_kind kind;
		int64_t key = 0;
		if (ipam_id_lookup(fs->db, list.items[i], &kind, &key, NULL) ==
			    0 &&
		    tree_kind_shown(kind))
			add(ctx, list.items[i]);
	}
	ipam_strlist_free(&list);
	return rc;
}

static int list_preview(struct ipamfs *fs, const struct node *n,
			tree_add_fn add, void *ctx, ipam_err *err)
{
	int lo = 0, hi = -1;
	int rc = tree_preview_range(fs, n->pool_key, &lo, &hi, err);
	for (int len = lo; rc == 0 && len <= hi; len++) {
		char name[8];
		snprintf(name, sizeof(name), "%d", len);
		add(ctx, name);
	}
	return rc;
}

/* The sub-directories every directory kind always has. */
static void list_fixed(enum node_kind kind, tree_add_fn add, void *ctx)
{
	static const char *const root[] = {"ipam", "scopes", "by-id", NULL};
	static const char *const ipam_dir[] = {"quotas", NULL};
	static const char *const scope[] = {"pools", NULL};
	static const char *const pool[] = {"tags", "allocations", "preview",
					   "pools", NULL};
	const char *const *names = kind == NODE_ROOT    ? root
				   : kind == NODE_IPAM  ? ipam_dir
				   : kind == NODE_SCOPE ? scope
				   : kind == NODE_POOL  ? pool
							: NULL;
	for (size_t i = 0; names && names[i]; i++)
		add(ctx, names[i]);
}

int tree_list(struct ipamfs *fs, const struct node *n, tree_add_fn add,
	      void *ctx, ipam_err *err)
{
	ipam_strlist list = {0, NULL};
	int rc = 0;
	files_list(n->kind, n->is_public, add, ctx);
	list_fixed(n->kind, add, ctx);
	switch (n->kind) {
	case NODE_BYID:
		return list_ids(fs, add, ctx, err);
	case NODE_SCOPES:
		rc = ipam_scope_list(fs->db, &list, err);
		break;
	case NODE_POOLS:
		rc = ipam_pool_list(fs->db, n->scope_key, n->pool_key, &list,
				    err);
		break;
	case NODE_TAGS:
		rc = ipam_tag_list(fs->db, n->owner_id, &list, err);
		break;
	case NODE_ALLOCS:
		rc = ipam_alloc_list(fs->db, n->pool_key, &list, err);
		break;
	case NODE_PREVIEW:
		return list_preview(fs, n, add, ctx, err);
	default:
		return 0;
	}
	if (rc) {
		ipam_strlist_free(&list);
		return rc;
	}
	return list_strings(&list, add, ctx);
}

/* ---- paths of objects (by-id) ---- */

/* Pool trees are at most 64 deep (the depth quota's limit); a longer chain
 * can only be a damaged database. */
#define POOL_CHAIN_MAX 128

/* Appends "scopes/<scope>/pools/<a>/pools/<b>..." of pool `key`. */
static int pool_path(struct ipamfs *fs, int64_t key, struct buf *out,
		     int depth, ipam_err *err)
{
	if (depth > POOL_CHAIN_MAX)
		return ipamfs_err(err, IPAM_EIO, "pool chain too deep");
	ipam_pool_info *info = malloc(sizeof(*info));
	if (!info)
		return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	int rc = ipam_pool_get(fs->db, key, info, err);
	if (rc == 0 && info->parent_key) {
		rc = pool_path(fs, info->parent_key, out, depth + 1, err);
	} else if (rc == 0) {
		ipam_scope_info *scope = malloc(sizeof(*scope));
		rc = scope ? ipam_scope_get_by_key(fs->db, info->scope_key,
						   scope, err)
			   : ipamfs_err(err, IPAM_ENOMEM, "out of memory");
		if (rc == 0)
			buf_printf(out, "scopes/%s", scope->name);
		free(scope);
	}
	if (rc == 0)
		buf_printf(out, "/pools/%s", info->name);
	free(info);
	return rc;
}

static int scope_path(struct ipamfs *fs, int64_t key, struct buf *out,
		      ipam_err *err)
{
	ipam_scope_info *scope = malloc(sizeof(*scope));
	if (!scope)
		return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	int rc = ipam_scope_get_by_key(fs->db, key, scope, err);
	if (rc == 0)
		buf_printf(out, "scopes/%s", scope->name);
	free(scope);
	return rc;
}

static int alloc_path(struct ipamfs *fs, int64_t key, struct buf *out,
		      ipam_err *err)
{
	ipam_alloc_info *alloc = malloc(sizeof(*alloc));
	if (!alloc)
		return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	int rc = ipam_alloc_get_by_key(fs->db, key, alloc, err);
	if (rc == 0)
		rc = pool_path(fs, alloc->pool_key, out, 0, err);
	if (rc == 0)
		buf_printf(out, "/allocations/%s", alloc->name);
	free(alloc);
	return rc;
}

int tree_object_path(struct ipamfs *fs, const char *object_id,
		     struct buf *out, ipam_err *err)
{
	ipam_kind kind;
	int64_t key = 0;
	int rc = ipam_id_lookup(fs->db, object_id, &kind, &key, err);
	if (rc)
		return rc;
	switch (kind) {
	case IPAM_KIND_SCOPE:
		rc = scope_path(fs, key, out, err);
		break;
	case IPAM_KIND_POOL:
		rc = pool_path(fs, key, out, 0, err);
		break;
	case IPAM_KIND_ALLOCATION:
		rc = alloc_path(fs, key, out, err);
		break;
	default:
		return not_found(err, object_id);
	}
	if (rc == 0 && buf_failed(out))
		rc = ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	return rc;
}

/* ---- preview lengths ---- */

int tree_preview_range(struct ipamfs *fs, int64_t pool, int *lo, int *hi,
		       ipam_err *err)
{
	*lo = 1;
	*hi = 0;
	ipam_pool_info *info = malloc(sizeof(*info));
	if (!info)
		return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	ipam_pool_cidr *cidrs = NULL;
	size_t count = 0;
	int rc = ipam_pool_get(fs->db, pool, info, err);
	if (rc == 0)
		rc = ipam_pool_cidrs(fs->db, pool, &cidrs, &count, err);
	if (rc == 0 && count > 0) {
		int shortest = 128;
		for (size_t i = 0; i < count; i++)
			if (cidrs[i].cidr.prefix < shortest)
				shortest = cidrs[i].cidr.prefix;
		*lo = shortest;
		*hi = ipam_family_width(cidrs[0].cidr.family);
		if (info->min_netmask > *lo)
			*lo = info->min_netmask;
		if (info->max_netmask >= 0 && info->max_netmask < *hi)
			*hi = info->max_netmask;
	}
	free(cidrs);
	free(info);
	return rc;
}
