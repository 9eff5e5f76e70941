/*
 * tree.c - from a path to the node it names, and back from an id to a path.
 *
 * The tree of SPEC §3 is walked one component at a time: each directory
 * kind knows its fixed sub-directories, its files (files.c) and how to look
 * up a child by name in libipam (scopes, pools at any depth, allocations,
 * tags, by-id ids, preview lengths). The result is a `struct node`: what
 * the path is, the keys of the scope, pool and allocation it lies in, and
 * the object whose permissions it shows.
 *
 * Resolved paths are kept in the path cache (pathcache.c) while nothing
 * changes: a path is resolved from its longest cached prefix, and every
 * prefix resolved on the way is cached too, so the kernel's lookups of
 * /a, /a/b, /a/b/c ... each cost one step at most. Any change invalidates
 * every cached path, so a node is always as current as libipam.
 */
#include "tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
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

unsigned tree_shown(const struct ipamfs *fs, const struct node *n)
{
	unsigned shown = 0;
	if (n->is_public)
		shown |= ATTR_PUBLIC;
	if (fs->settable_clock)
		shown |= ATTR_CLOCK;
	if (fs->backup_image)
		shown |= ATTR_BACKUP;
	if (n->kind == NODE_DISCOVERY && strcmp(n->name, "host") == 0)
		shown |= ATTR_HOST;
	return shown;
}

static bool dir_stable(enum node_kind kind)
{
	switch (kind) {
	case NODE_ROOT:
	case NODE_IPAM:
	case NODE_QUOTAS:
	case NODE_SCOPES:
	case NODE_SCOPE:
	case NODE_POOLS:
	case NODE_POOL:
	case NODE_ALLOCS:
	case NODE_ALLOC:
	case NODE_DISCOVERIES:
	case NODE_DISCOVERY:
		return true;
	default:
		return false;
	}
}

bool tree_node_stable(const struct node *n)
{
	if (n->resource_key || n->plist_key)
		return false;
	return n->kind == NODE_FILE ? dir_stable(n->dir) : dir_stable(n->kind);
}

static int step_file(struct ipamfs *fs, struct node *n, const char *name,
		     ipam_err *err)
{
	const struct attr *a = files_find(n->kind, name, tree_shown(fs, n));
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
	int rc = ipam_pool_lookup(fs->db, n->scope_key, n->pool_key, name, &key,
				  err);
	if (rc)
		return rc;
	n->kind = NODE_POOL;
	n->owner = OWNER_POOL;
	n->pool_key = key;
	n->owner_id[0] = '\0'; /* loaded when needed */
	n->created = 0;
	return 0;
}

static int step_tag(struct ipamfs *fs, struct node *n, const char *name,
		    ipam_err *err)
{
	int rc = n->resource_key ? 0 : load_pool_owner(fs, n, err);
	if (rc)
		return rc;
	char *value = NULL;
	rc = files_tag_get(fs, n, name, &value, err);
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
	       kind == IPAM_KIND_ALLOCATION || kind == IPAM_KIND_DISCOVERY ||
	       kind == IPAM_KIND_PREFIX_LIST || kind == IPAM_KIND_POLICY;
}

static int step_resource(struct ipamfs *fs, struct node *n, const char *name,
			 ipam_err *err)
{
	int64_t key = 0;
	int rc = ipam_resource_lookup(fs->db, n->scope_key, name, &key, err);
	ipam_resource_info *info = rc ? NULL : malloc(sizeof(*info));
	if (rc == 0 && !info)
		rc = ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	if (rc == 0)
		rc = ipam_resource_get(fs->db, key, info, err);
	if (rc == 0) {
		n->kind = NODE_RESOURCE;
		n->resource_key = key;
		n->created = info->created;
	}
	free(info);
	return rc;
}

static int step_discovery(struct ipamfs *fs, struct node *n, const char *name,
			  ipam_err *err)
{
	ipam_discovery_info *info = malloc(sizeof(*info));
	if (!info)
		return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	int rc = ipam_discovery_get(fs->db, name, info, err);
	if (rc == 0) {
		n->kind = NODE_DISCOVERY;
		n->discovery_key = info->key;
		memcpy(n->owner_id, info->id, sizeof(n->owner_id));
		snprintf(n->name, sizeof(n->name), "%s", info->name);
	}
	free(info);
	return rc;
}

/* ---- prefix lists ---- */

static int step_plist(struct ipamfs *fs, struct node *n, const char *name,
		      ipam_err *err)
{
	ipam_plist_info *info = malloc(sizeof(*info));
	if (!info)
		return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	int rc = ipam_plist_get(fs->db, name, info, err);
	if (rc == 0) {
		n->kind = NODE_PLIST;
		n->plist_key = info->key; /* its change time */
		n->created = info->created;
		memcpy(n->owner_id, info->id, sizeof(n->owner_id)); /* tags */
		snprintf(n->name, sizeof(n->name), "%s", info->name);
	}
	free(info);
	return rc;
}

/* /ipam/verification-tokens/<name> */
static int step_token(struct ipamfs *fs, struct node *n, const char *name,
		      ipam_err *err)
{
	ipam_token_info info;
	int rc = ipam_token_get(fs->db, name, &info, err);
	if (rc == 0) {
		n->kind = NODE_TOKEN;
		n->created = info.created;
		memcpy(n->owner_id, info.id, sizeof(n->owner_id));
		snprintf(n->name, sizeof(n->name), "%s", info.name);
	}
	return rc;
}

/* /asns/<asn>: the decimal ASN, canonical (no leading zero) */
static int step_asn(struct ipamfs *fs, struct node *n, const char *name,
		    ipam_err *err)
{
	ipam_asn_info info;
	uint32_t asn;
	int rc = ipam_asn_parse(name, &asn, err);
	if (rc == 0)
		rc = ipam_asn_get(fs->db, asn, &info, err);
	if (rc == 0) {
		n->kind = NODE_ASN;
		n->created = info.created;
		snprintf(n->name, sizeof(n->name), "%u", asn);
	}
	return rc;
}

static int step_policy(struct ipamfs *fs, struct node *n, const char *name,
		       ipam_err *err)
{
	ipam_policy_info *info = malloc(sizeof(*info));
	if (!info)
		return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	int rc = ipam_policy_get(fs->db, name, info, err);
	if (rc == 0) {
		n->kind = NODE_POLICY;
		n->policy_key = info->key; /* its change time */
		n->created = info->created;
		memcpy(n->owner_id, info->id, sizeof(n->owner_id)); /* tags */
		snprintf(n->name, sizeof(n->name), "%s", info->name);
	}
	free(info);
	return rc;
}

/* versions/<n>: a kept version, "1".."N" without leading zeros. */
static int step_plversion(struct ipamfs *fs, struct node *n, const char *name,
			  ipam_err *err)
{
	ipam_plist_info *info = malloc(sizeof(*info));
	int64_t v = 0;
	if (!info)
		return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	int rc = ipam_plist_get(fs->db, n->name, info, err);
	if (rc == 0 &&
	    (name[0] == '0' || strlen(name) > 18 ||
	     strspn(name, "0123456789") != strlen(name) ||
	     (v = strtoll(name, NULL, 10)) < info->oldest || v > info->version))
		rc = not_found(err, name);
	free(info);
	if (rc)
		return rc;
	n->dir = NODE_PLVERSIONS;
	n->kind = NODE_FILE;
	n->attr = &files_plversion;
	n->plist_version = v;
	return 0;
}

static int step_pltarget(struct ipamfs *fs, struct node *n, const char *name,
			 ipam_err *err)
{
	ipam_plist_target *t = malloc(sizeof(*t));
	if (!t)
		return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	int rc = ipam_plist_target_get(fs->db, n->name, name, t, err);
	if (rc == 0) {
		n->kind = NODE_PLTARGET;
		n->created = t->created;
		snprintf(n->plist_target, sizeof(n->plist_target), "%s", name);
	}
	free(t);
	return rc;
}

static int list_plversions(struct ipamfs *fs, const struct node *n,
			   tree_add_fn add, void *ctx, ipam_err *err)
{
	ipam_plist_info *info = malloc(sizeof(*info));
	if (!info)
		return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	int rc = ipam_plist_get(fs->db, n->name, info, err);
	for (int64_t v = rc ? 1 : info->oldest; rc == 0 && v <= info->version;
	     v++) {
		char text[24];
		snprintf(text, sizeof(text), "%lld", (long long)v);
		add(ctx, text);
	}
	free(info);
	return rc;
}

/* ---- history/<CIDR>[@WINDOW][.json] ---- */

/* A CIDR in file-name form, or a bare address meaning /32 or /128. */
static int history_cidr(const char *text, ipam_cidr *out, ipam_err *err)
{
	char full[IPAM_CIDR_STRLEN + 8];
	if (strchr(text, '_'))
		return ipam_cidr_parse_filename(out, text, err);
	if (strlen(text) >= IPAM_CIDR_STRLEN || strchr(text, '/'))
		return ipamfs_err(err, IPAM_EINVAL, "not a CIDR or address");
	snprintf(full, sizeof(full), "%s/%d", text,
		 strchr(text, ':') ? 128 : 32);
	return ipam_cidr_parse(out, full, err);
}

/*
 * One end of a window: empty for an open end; a date YYYY-MM-DD, which
 * starts at 00:00:00Z and, as an end, includes its whole day (ends at
 * 23:59:59Z); or an ISO 8601 UTC time, with optional fractional seconds as
 * the AWS CLI prints them (2021-12-27T00:00:00.000Z, truncated).
 */
static int window_end(const char *text, bool end, int64_t *out)
{
	char full[32];
	size_t len = strlen(text);
	if (len == 0) {
		*out = end ? INT64_MAX : 0;
		return 0;
	}
	if (len == 10) { /* a date */
		snprintf(full, sizeof(full), "%sT00:00:00Z", text);
		if (ipam_time_parse(out, full))
			return IPAM_EINVAL;
		if (end)
			*out += 86400 - 1;
		return 0;
	}
	const char *dot = strchr(text, '.');
	if (dot && len < sizeof(full) && dot - text == 19) {
		size_t digits = strspn(dot + 1, "0123456789");
		if (digits == 0 || digits > 9 || strcmp(dot + 1 + digits, "Z"))
			return IPAM_EINVAL;
		snprintf(full, sizeof(full), "%.19sZ", text);
		text = full;
	}
	return ipam_time_parse(out, text) ? IPAM_EINVAL : 0;
}

/* `now` or `START..END` (docs/tree.md, "history"): either end may be
 * open, a date or an ISO 8601 UTC time. */
static int history_window(char *text, struct node *n, ipam_err *err)
{
	char *dots = strstr(text, "..");
	if (!dots)
		return ipamfs_err(err, IPAM_EINVAL,
				  "a window is 'now' or START..END");
	*dots = '\0';
	if (window_end(text, false, &n->history_from) ||
	    window_end(dots + 2, true, &n->history_to))
		return ipamfs_err(err, IPAM_EINVAL,
				  "window ends must be dates like 2021-12-01, "
				  "ISO 8601 UTC times like "
				  "2021-12-01T00:00:00Z, or empty (open)");
	if (n->history_from > n->history_to)
		return ipamfs_err(err, IPAM_EINVAL,
				  "the window ends before it starts");
	return 0;
}

static int history_parse(char *name, struct node *n, bool *now, bool *json,
			 ipam_err *err)
{
	size_t len = strlen(name);
	*json = len > 5 && strcmp(name + len - 5, ".json") == 0;
	if (*json)
		name[len - 5] = '\0';
	char *at = strchr(name, '@');
	if (at)
		*at++ = '\0';
	int rc = history_cidr(name, &n->history_cidr, err);
	*now = at && strcmp(at, "now") == 0;
	n->history_from = 0;
	n->history_to = INT64_MAX;
	if (rc == 0 && at && !*now)
		rc = history_window(at, n, err);
	return rc;
}

/* Any well-formed name is a query: it resolves to a generated file. */
static int step_history(struct ipamfs *fs, struct node *n, const char *name,
			ipam_err *err)
{
	char text[IPAM_NAME_MAX + 1];
	ipam_err why = {IPAM_OK, ""};
	bool now = false, json = false;
	snprintf(text, sizeof(text), "%s", name);
	if (history_parse(text, n, &now, &json, &why))
		return ipamfs_err(err, IPAM_ENOENT,
				  "'%s' is not CIDR[@now|@START..END][.json]: "
				  "%s",
				  name, why.msg);
	n->dir = NODE_HISTORY;
	n->kind = NODE_FILE;
	n->attr = &files_history[now][json];
	return 0;
}

/* maps/<CIDR>.svg: a zoom into any CIDR that lies inside a block of the
 * map of the pool (pool_key) or, in a scope, of the scope. */
static int step_map(struct ipamfs *fs, struct node *n, const char *name,
		    ipam_err *err)
{
	char text[IPAM_NAME_MAX + 1];
	size_t len = strlen(name);
	if (len <= 4 || strcmp(name + len - 4, ".svg") != 0)
		return not_found(err, name);
	snprintf(text, sizeof(text), "%.*s", (int)(len - 4), name);
	if (ipam_cidr_parse_filename(&n->map_view, text, NULL))
		return not_found(err, name);
	int rc = ipam_map_view_check(fs->db, n->pool_key,
				     n->pool_key ? 0 : n->scope_key,
				     &n->map_view, err);
	if (rc)
		return rc;
	n->dir = NODE_MAPS;
	n->kind = NODE_FILE;
	n->attr = &files_map_view;
	return 0;
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

/* The fixed sub-directories: (parent kind, name) -> kind. */
static const struct {
	enum node_kind parent;
	const char *name;
	enum node_kind kind;
} fixed_dirs[] = {
	{NODE_ROOT, "ipam", NODE_IPAM},
	{NODE_ROOT, "scopes", NODE_SCOPES},
	{NODE_ROOT, "by-id", NODE_BYID},
	{NODE_ROOT, "discoveries", NODE_DISCOVERIES},
	{NODE_ROOT, "metrics", NODE_METRICS},
	{NODE_ROOT, "prefix-lists", NODE_PLISTS},
	{NODE_PLIST, "tags", NODE_TAGS},
	{NODE_PLIST, "versions", NODE_PLVERSIONS},
	{NODE_PLIST, "targets", NODE_PLTARGETS},
	{NODE_ROOT, "policies", NODE_POLICIES},
	{NODE_POLICY, "tags", NODE_TAGS},
	{NODE_IPAM, "quotas", NODE_QUOTAS},
	{NODE_IPAM, "verification-tokens", NODE_TOKENS},
	{NODE_ROOT, "asns", NODE_ASNS},
	{NODE_SCOPE, "pools", NODE_POOLS}, /* pool_key stays 0: top level */
	{NODE_SCOPE, "resources", NODE_RESOURCES},
	{NODE_SCOPE, "history", NODE_HISTORY},
	{NODE_POOL, "tags", NODE_TAGS},
	{NODE_POOL, "allocations", NODE_ALLOCS},
	{NODE_POOL, "preview", NODE_PREVIEW},
	{NODE_POOL, "pools", NODE_POOLS},
	{NODE_RESOURCE, "tags", NODE_TAGS},
	{NODE_IPAM, "tags", NODE_TAGS},
	{NODE_SCOPE, "tags", NODE_TAGS},
	{NODE_ALLOC, "tags", NODE_TAGS},
	{NODE_DISCOVERY, "tags", NODE_TAGS},
	{NODE_POOL, "maps", NODE_MAPS},
	{NODE_SCOPE, "maps", NODE_MAPS},
};

static int load_ipam_id(struct ipamfs *fs, struct node *n, ipam_err *err)
{
	ipam_info *info = malloc(sizeof(*info));
	if (!info)
		return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	int rc = ipam_info_get(fs->db, info, err);
	if (rc == 0)
		memcpy(n->owner_id, info->id, sizeof(n->owner_id));
	free(info);
	return rc;
}

static int step_fixed(struct ipamfs *fs, struct node *n, const char *name,
		      ipam_err *err)
{
	for (size_t i = 0; i < sizeof(fixed_dirs) / sizeof(fixed_dirs[0]);
	     i++) {
		if (fixed_dirs[i].parent == n->kind &&
		    strcmp(fixed_dirs[i].name, name) == 0) {
			n->kind = fixed_dirs[i].kind;
			/* /ipam's tags are the IPAM's: its id names them */
			return n->kind == NODE_IPAM ? load_ipam_id(fs, n, err)
						    : 0;
		}
	}
	return step_file(fs, n, name, err);
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
	case NODE_RESOURCES:
		return step_resource(fs, n, name, err);
	case NODE_HISTORY:
		return step_history(fs, n, name, err);
	case NODE_DISCOVERIES:
		return step_discovery(fs, n, name, err);
	case NODE_TAGS:
		return step_tag(fs, n, name, err);
	case NODE_ALLOCS:
		return step_alloc(fs, n, name, err);
	case NODE_PREVIEW:
		return step_preview(fs, n, name, err);
	case NODE_MAPS:
		return step_map(fs, n, name, err);
	case NODE_PLISTS:
		return step_plist(fs, n, name, err);
	case NODE_PLVERSIONS:
		return step_plversion(fs, n, name, err);
	case NODE_PLTARGETS:
		return step_pltarget(fs, n, name, err);
	case NODE_TOKENS:
		return step_token(fs, n, name, err);
	case NODE_ASNS:
		return step_asn(fs, n, name, err);
	case NODE_POLICIES:
		return step_policy(fs, n, name, err);
	default:
		return step_fixed(fs, n, name, err);
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

/* The length of the longest proper prefix of path[0..len) that is in the
 * path cache (its node in *out), or 0 (then *out is the root). */
static size_t cached_prefix(struct ipamfs *fs, const char *path, size_t len,
			    struct cache_key key, struct node *out)
{
	size_t end = len;
	for (;;) {
		while (end > 0 && path[end - 1] != '/')
			end--;
		while (end > 0 && path[end - 1] == '/')
			end--;
		if (end == 0)
			break;
		if (pathcache_get(&fs->paths, path, end, key, out, NULL))
			return end;
	}
	memset(out, 0, sizeof(*out));
	out->kind = NODE_ROOT;
	return 0;
}

/* A malformed history query is a failed lookup (ENOENT) that the user did
 * not see explained: its reason goes to /errors. */
static void log_bad_query(struct ipamfs *fs, const char *path,
			  enum node_kind dir, int rc, const ipam_err *err)
{
	if (dir == NODE_HISTORY && rc == IPAM_ENOENT)
		ipamfs_refuse(fs, "lookup", path, ENOENT, "%s",
			      err->code ? err->msg : "no such query");
}

static int resolve_path(struct ipamfs *fs, const char *path, struct node *out,
			ipam_err *err)
{
	char name[IPAM_NAME_MAX + 1];
	ipam_err local = {IPAM_OK, ""};
	struct cache_key key = ipamfs_cache_key(fs);
	size_t total = strlen(path);
	if (!err)
		err = &local;
	if (pathcache_get(&fs->paths, path, total, key, out, NULL))
		return 0;
	const char *p = path + cached_prefix(fs, path, total, key, out);
	size_t len;
	while ((len = next_component(&p, name)) > 0) {
		if (len > IPAM_NAME_MAX)
			return ipamfs_err(err, IPAM_ENOENT,
					  "name too long to exist");
		enum node_kind dir = out->kind;
		int rc = step(fs, out, name, err);
		if (rc == 0)
			rc = load_pool_owner(fs, out, err);
		if (rc) {
			log_bad_query(fs, path, dir, rc, err);
			return rc;
		}
		pathcache_put(&fs->paths, path, (size_t)(p - path), key, out,
			      NULL);
	}
	return 0;
}

/* A /by-id link exists for a reader who may see its object (access.c);
 * the path cache holds what exists for anyone. */
int tree_resolve(struct ipamfs *fs, const char *path, struct node *out,
		 ipam_err *err)
{
	int rc = resolve_path(fs, path, out, err);
	struct access a;
	if (rc || out->kind != NODE_LINK)
		return rc;
	access_init(&a);
	if (!access_object_visible(fs, &a, out->name))
		return ipamfs_err(err ? err : &(ipam_err){IPAM_OK, ""},
				  IPAM_ENOENT, "no object '%s'", out->name);
	return 0;
}

int tree_resolve_parent(struct ipamfs *fs, const char *path,
			struct node *parent, const char **name, ipam_err *err)
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

/* /by-id: the ids of scopes, pools, allocations and discoveries. */
static int list_ids(struct ipamfs *fs, tree_add_fn add, void *ctx,
		    ipam_err *err)
{
	ipam_strlist list = {0, NULL};
	struct access a;
	int rc = ipam_id_list(fs->db, &list, err);
	access_init(&a);
	for (size_t i = 0; rc == 0 && i < list.count; i++) {
		ipam_kind kind;
		int64_t key = 0;
		if (ipam_id_lookup(fs->db, list.items[i], &kind, &key, NULL) ==
			    0 &&
		    tree_kind_shown(kind) &&
		    access_object_visible(fs, &a, list.items[i]))
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
	for (size_t i = 0; i < sizeof(fixed_dirs) / sizeof(fixed_dirs[0]); i++)
		if (fixed_dirs[i].parent == kind)
			add(ctx, fixed_dirs[i].name);
}

int tree_list(struct ipamfs *fs, const struct node *n, tree_add_fn add,
	      void *ctx, ipam_err *err)
{
	ipam_strlist list = {0, NULL};
	int rc = 0;
	files_list(n->kind, tree_shown(fs, n), add, ctx);
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
		rc = files_tag_list(fs, n, &list, err);
		break;
	case NODE_RESOURCES:
		rc = ipam_resource_list(fs->db, n->scope_key, &list, err);
		break;
	case NODE_HISTORY:
		rc = ipam_history_cidrs(fs->db, n->scope_key, &list, err);
		break;
	case NODE_DISCOVERIES:
		rc = ipam_discovery_list(fs->db, &list, err);
		break;
	case NODE_ALLOCS:
		rc = ipam_alloc_list(fs->db, n->pool_key, &list, err);
		break;
	case NODE_PREVIEW:
		return list_preview(fs, n, add, ctx, err);
	case NODE_MAPS:
		rc = ipam_map_views(fs->db, n->pool_key,
				    n->pool_key ? 0 : n->scope_key, &list, err);
		break;
	case NODE_PLISTS:
		rc = ipam_plist_list(fs->db, &list, err);
		break;
	case NODE_PLVERSIONS:
		return list_plversions(fs, n, add, ctx, err);
	case NODE_PLTARGETS:
		rc = ipam_plist_target_list(fs->db, n->name, &list, err);
		break;
	case NODE_TOKENS:
		rc = ipam_token_list(fs->db, &list, err);
		break;
	case NODE_ASNS:
		rc = ipam_asn_list(fs->db, &list, err);
		break;
	case NODE_POLICIES:
		rc = ipam_policy_list(fs->db, &list, err);
		break;
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
static int pool_path(struct ipamfs *fs, int64_t key, struct buf *out, int depth,
		     ipam_err *err)
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

/* "discoveries/<name>" of the discovery with key `key` (libipam finds
 * discoveries by name only, so the few there are are searched). */
static int discovery_path(struct ipamfs *fs, int64_t key, struct buf *out,
			  ipam_err *err)
{
	ipam_strlist names = {0, NULL};
	ipam_discovery_info *info = malloc(sizeof(*info));
	int rc = info ? ipam_discovery_list(fs->db, &names, err)
		      : ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	bool found = false;
	for (size_t i = 0; rc == 0 && !found && i < names.count; i++) {
		if (ipam_discovery_get(fs->db, names.items[i], info, NULL) ==
			    0 &&
		    info->key == key) {
			buf_printf(out, "discoveries/%s", info->name);
			found = true;
		}
	}
	if (rc == 0 && !found)
		rc = ipamfs_err(err, IPAM_ENOENT, "no such discovery");
	ipam_strlist_free(&names);
	free(info);
	return rc;
}

/* "prefix-lists/<name>" of the resolver with key `key` (found by name,
 * as discoveries are). */
static int plist_path(struct ipamfs *fs, int64_t key, struct buf *out,
		      ipam_err *err)
{
	ipam_strlist names = {0, NULL};
	ipam_plist_info *info = malloc(sizeof(*info));
	int rc = info ? ipam_plist_list(fs->db, &names, err)
		      : ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	bool found = false;
	for (size_t i = 0; rc == 0 && !found && i < names.count; i++) {
		if (ipam_plist_get(fs->db, names.items[i], info, NULL) == 0 &&
		    info->key == key) {
			buf_printf(out, "prefix-lists/%s", info->name);
			found = true;
		}
	}
	if (rc == 0 && !found)
		rc = ipamfs_err(err, IPAM_ENOENT, "no such prefix list");
	ipam_strlist_free(&names);
	free(info);
	return rc;
}

/* "policies/<name>" of the policy with key `key`. */
static int policy_path(struct ipamfs *fs, int64_t key, struct buf *out,
		       ipam_err *err)
{
	ipam_strlist names = {0, NULL};
	ipam_policy_info *info = malloc(sizeof(*info));
	int rc = info ? ipam_policy_list(fs->db, &names, err)
		      : ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	bool found = false;
	for (size_t i = 0; rc == 0 && !found && i < names.count; i++) {
		if (ipam_policy_get(fs->db, names.items[i], info, NULL) == 0 &&
		    info->key == key) {
			buf_printf(out, "policies/%s", info->name);
			found = true;
		}
	}
	if (rc == 0 && !found)
		rc = ipamfs_err(err, IPAM_ENOENT, "no such policy");
	ipam_strlist_free(&names);
	free(info);
	return rc;
}

int tree_object_path(struct ipamfs *fs, const char *object_id, struct buf *out,
		     ipam_err *err)
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
	case IPAM_KIND_DISCOVERY:
		rc = discovery_path(fs, key, out, err);
		break;
	case IPAM_KIND_PREFIX_LIST:
		rc = plist_path(fs, key, out, err);
		break;
	case IPAM_KIND_POLICY:
		rc = policy_path(fs, key, out, err);
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
