/*
 * ops_read.c - looking at the tree: getattr, readdir, readlink, access,
 * statfs (the FUSE requests themselves are in lowlevel.c).
 *
 * Times: the mtime, ctime and atime of every file and directory are the
 * change time of the object its content belongs to (node_changed), so they
 * move exactly when a change can have changed what is shown.
 *
 * Ownership and modes follow SPEC §8.5: a scope, pool or allocation
 * directory shows the object's uid, gid and mode; its sub-directories
 * (pools/, tags/, allocations/, preview/) show the same; its files show the
 * object's uid and gid and the directory's mode without execute bits,
 * further limited to r--r--r-- for read-only files. The group and other
 * write bits of a pool are a grant to allocate only (pool_grant). Everything
 * else belongs
 * to root: 0755 directories, 0644 writable, 0444 read-only and 0200
 * write-only files. The size of a file is the size of its content, rendered
 * (or found in the content cache) now. The whole answer of getattr is kept
 * in the path cache while nothing changes, except for files whose size
 * does not follow the IPAM state (see stat_cacheable).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "access.h"
#include "content.h"
#include "errno_map.h"
#include "files.h"
#include "ops.h"
#include "tree.h"

static _Thread_local struct ops_hint *hint;

void ops_hint_set(struct ops_hint *h)
{
	hint = h;
}

int ops_resolve(struct ipamfs *fs, const char *op, const char *path,
		struct node *out)
{
	ipam_err err = {IPAM_OK, ""};
	if (!fs->db)
		return op ? ipamfs_refuse(fs, op, path, EIO,
					  "database not open")
			  : -EIO;
	struct ops_hint *h = hint;
	if (h && strcmp(path, h->path) != 0)
		h = NULL;
	if (h && h->known) {
		*out = h->node;
		return 0;
	}
	int rc = tree_resolve(fs, path, out, &err);
	if (rc == 0 && h) {
		h->node = *out;
		h->resolved = true;
	}
	if (rc == 0)
		return 0;
	if (rc == IPAM_EINVAL) /* a file followed by more components */
		return op ? ipamfs_refuse(fs, op, path, ENOTDIR, "%s", err.msg)
			  : -ENOTDIR;
	/* a storage failure (PostgreSQL: the server away) is reported with
	 * its reason even where a refusal is not (a lookup): the command
	 * that needed the path fails here, before it ran */
	if (!op && rc == IPAM_EIO)
		op = "lookup";
	return op ? ipamfs_fail(fs, op, path, rc, &err) : -errno_from_ipam(rc);
}

static bool file_writable(const struct node *n)
{
	return n->kind == NODE_FILE && (n->attr->flags & ATTR_RW);
}

/*
 * The finer grant of a pool's mode (docs/design/security.md): its group
 * and other write bits let their holders allocate -- write `allocate`,
 * mkdir and rmdir in `allocations/` -- and nothing else. `allocations/`
 * then carries the sticky bit, so each removes only the allocations it
 * owns (as in /tmp); the pool's attribute files, `cidrs`, `tags/` and
 * `pools/` are writable by the pool's owner only. The pool directory itself
 * shows the mode as set (chmod and stat agree).
 */
static unsigned pool_grant(const struct node *n, unsigned mode)
{
	if (n->kind == NODE_POOL)
		return mode;
	if (n->kind == NODE_ALLOCS)
		return mode & 0022 ? mode | S_ISVTX : mode;
	if (n->kind == NODE_FILE && n->dir == NODE_POOL &&
	    (n->attr->flags & ATTR_ALLOCATE))
		return mode;
	return mode & ~0022u;
}

/* A scope's aggregate views: status, status.json, history/, map.svg and
 * maps/ gather every pool and allocation of the scope. */
static bool scope_aggregate(const struct node *n)
{
	if (n->owner != OWNER_SCOPE)
		return false;
	if (n->kind == NODE_HISTORY || n->kind == NODE_MAPS ||
	    (n->kind == NODE_FILE &&
	     (n->dir == NODE_HISTORY || n->dir == NODE_MAPS)))
		return true;
	return n->kind == NODE_FILE && n->dir == NODE_SCOPE &&
	       (!strcmp(n->attr->name, "status") ||
		!strcmp(n->attr->name, "status.json") ||
		!strcmp(n->attr->name, "map.svg"));
}

/* Owner, group and mode bits of node n. */
static void node_perm(struct ipamfs *fs, const struct node *n, ipam_perm *perm)
{
	ipam_perm owner = {0, 0, 0755};
	if (n->owner != OWNER_NONE &&
	    ipam_perm_get(fs->db, n->owner_id, &owner, NULL) != 0)
		owner = (ipam_perm){0, 0, 0755};
	*perm = owner;
	if (n->kind == NODE_LINK)
		perm->mode = 0777;
	else if (n->kind == NODE_FILE && (n->attr->flags & ATTR_BACKUP))
		perm->mode = owner.mode & 0400;
	else if (n->kind == NODE_FILE && (n->attr->flags & ATTR_WO))
		perm->mode = owner.mode & 0222;
	else if (n->kind == NODE_FILE)
		perm->mode = (owner.mode & 0666) &
			     (file_writable(n) ? 0666 : 0444);
	else
		perm->mode = owner.mode & 07777;
	if (n->owner == OWNER_POOL && n->kind != NODE_LINK)
		perm->mode = pool_grant(n, perm->mode);
	/* they would show what a pool or allocation hides from others:
	 * the scope's owner's only, then (docs/design/security.md) */
	if (scope_aggregate(n) && !access_scope_open(fs, n->scope_key))
		perm->mode &= 0700;
}

/* The size of a file or link as a reader will see it. */
static off_t node_size(struct ipamfs *fs, const char *path,
		       const struct node *n)
{
	if (n->kind == NODE_LINK) {
		struct buf target = BUF_INIT;
		int rc = tree_object_path(fs, n->name, &target, NULL);
		off_t size = rc == 0 ? (off_t)target.len + 3 : 0;
		buf_free(&target);
		return size;
	}
	if (n->attr->flags & ATTR_ALLOCATE)
		return 0;
	/* a snapshot is taken at open; fstat(2) on the open file gives the
	 * exact size of that one */
	if (n->attr->flags & ATTR_BACKUP)
		return (off_t)ipam_backup_size(fs->db);
	struct blob *content = NULL;
	if (content_get(fs, path, n, &content, NULL, NULL) != 0)
		return 0; /* open will report why */
	off_t size = (off_t)content->len;
	blob_unref(content);
	return size;
}

/*
 * The change time of node n (ns; 0 = unknown): that of the nearest object
 * whose change time covers its content (docs/tree.md, "Times"). /errors
 * moves with its lines, and a file whose content follows the clock moves
 * with the clock.
 */
static int64_t node_changed(struct ipamfs *fs, const struct node *n)
{
	ipam_kind kind = IPAM_KIND_IPAM;
	int64_t key = 0, changed = 0;
	bool file = n->kind == NODE_FILE;
	if (file && n->dir == NODE_ROOT && strcmp(n->attr->name, "errors") == 0)
		return errlog_changed(&fs->errlog);
	if (n->kind == NODE_LINK) {
		/* /by-id: the global change time */
	} else if (n->alloc_key) {
		kind = IPAM_KIND_ALLOCATION;
		key = n->alloc_key;
	} else if (n->pool_key) {
		kind = IPAM_KIND_POOL;
		key = n->pool_key;
	} else if (n->resource_key) {
		kind = IPAM_KIND_RESOURCE;
		key = n->resource_key;
	} else if (n->discovery_key) {
		kind = IPAM_KIND_DISCOVERY;
		key = n->discovery_key;
	} else if (n->scope_key) {
		kind = IPAM_KIND_SCOPE;
		key = n->scope_key;
	} else if (n->plist_key) {
		kind = IPAM_KIND_PREFIX_LIST;
		key = n->plist_key;
	} else if (n->policy_key) {
		kind = IPAM_KIND_POLICY;
		key = n->policy_key;
	}
	if (ipam_changed(fs->db, kind, key, &changed, NULL) != 0)
		changed = 0;
	if (file && (n->attr->flags & (ATTR_CLOCKED | ATTR_CLOCK))) {
		int64_t now = ipam_now(fs->db) * 1000000000LL;
		changed = now > changed ? now : changed;
	}
	return changed;
}

bool ops_stat_cacheable(const struct node *n)
{
	/* a link is not: whether it exists depends on the reader (access.c) */
	return (n->kind != NODE_FILE && n->kind != NODE_LINK) ||
	       (n->kind == NODE_FILE &&
		!(n->attr->flags &
		  (ATTR_NOCACHE | ATTR_EVENTS | ATTR_CLOCKED)));
}

void ops_dir_stat(struct ipamfs *fs, const ipam_perm *perm, int64_t changed,
		  struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_uid = perm->uid;
	st->st_gid = perm->gid;
	st->st_mode = S_IFDIR | (perm->mode & 07777);
	st->st_nlink = 2;
	st->st_blksize = 4096;
	struct timespec when = {(time_t)fs->mount_time, 0};
	if (changed > 0) {
		when.tv_sec = (time_t)(changed / 1000000000LL);
		when.tv_nsec = (long)(changed % 1000000000LL);
	}
	st->st_atim = st->st_mtim = st->st_ctim = when;
}

int ops_stat(const char *path, struct fuse_file_info *fi, struct stat *st,
	     struct node *out)
{
	struct ipamfs *fs = ipamfs_get();
	struct node n;
	off_t open_size = 0;
	bool open = fi && ops_open_size(fi, &open_size);
	if (!fs->db)
		return -EIO;
	struct cache_key key = ipamfs_cache_key(fs);
	if (!open &&
	    pathcache_get(&fs->paths, path, strlen(path), key, out, st))
		return 0;
	int rc = ops_resolve(fs, NULL, path, &n);
	if (rc)
		return rc;
	ipam_perm perm;
	node_perm(fs, &n, &perm);
	ops_dir_stat(fs, &perm, node_changed(fs, &n), st);
	if (!node_is_dir(&n)) {
		st->st_mode = (n.kind == NODE_LINK ? S_IFLNK : S_IFREG) |
			      perm.mode;
		st->st_nlink = 1;
		st->st_size = open ? open_size : node_size(fs, path, &n);
		st->st_blocks = (st->st_size + 511) / 512;
	}
	if (!open && ops_stat_cacheable(&n))
		pathcache_put(&fs->paths, path, strlen(path), key, &n, st);
	if (out)
		*out = n;
	return 0;
}

int ops_readlink(const char *path, char *out, size_t size)
{
	struct ipamfs *fs = ipamfs_get();
	struct node n;
	ipam_err err = {IPAM_OK, ""};
	int rc = ops_resolve(fs, NULL, path, &n);
	if (rc)
		return rc;
	if (n.kind != NODE_LINK)
		return -EINVAL;
	if (size == 0)
		return -EINVAL;
	struct buf target = BUF_INIT;
	buf_puts(&target, "../");
	rc = tree_object_path(fs, n.name, &target, &err);
	if (rc == 0 && target.len >= size - 1) {
		/* only a database from before the path limit (IPAM_PATH_MAX)
		 * can hold one: say so rather than a cut target */
		buf_free(&target);
		return -ENAMETOOLONG;
	}
	if (rc == 0) {
		memcpy(out, target.data, target.len);
		out[target.len] = '\0';
	}
	buf_free(&target);
	return rc ? -errno_from_ipam(rc) : 0;
}

/* Used only without -o default_permissions (the kernel checks otherwise):
 * refuses what no mode bit could allow. */
int ops_access(const char *path, int mask)
{
	struct ipamfs *fs = ipamfs_get();
	struct node n;
	int rc = ops_resolve(fs, NULL, path, &n);
	if (rc)
		return rc;
	if (n.kind == NODE_FILE && (mask & W_OK) && !file_writable(&n))
		return -EACCES;
	if (n.kind == NODE_FILE && (mask & R_OK) && (n.attr->flags & ATTR_WO))
		return -EACCES;
	if (n.kind == NODE_FILE && (mask & X_OK))
		return -EACCES;
	return 0;
}

int ops_statfs(struct statvfs *st)
{
	memset(st, 0, sizeof(*st));
	st->f_bsize = 4096;
	st->f_frsize = 4096;
	st->f_namemax = IPAM_NAME_MAX;
	return 0;
}
