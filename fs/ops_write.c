/*
 * ops_write.c - changing the tree: mkdir, rmdir, unlink, rename, chmod,
 * chown, and the operations ipamfs refuses (link, symlink, mknod).
 *
 * configfs style: objects are directories named by the user. mkdir in
 * /scopes creates a scope, in a pools/ directory a pool (top-level or
 * child), in allocations/ an allocation of the pool's default netmask
 * length, in a scope's resources/ a resource (its type from its id), in
 * /discoveries a discovery; rmdir deletes them (libipam refuses while they
 * are in use). unlink removes a tag; rm -r of an object changes nothing
 * (see rm_guard below). rename moves a resource (a VPC and
 * its subnets) to the resources/ directory of another scope, under the
 * same name; nothing else can be renamed. chmod and chown change the
 * owner, group and mode a scope, pool or allocation carries (SPEC §8.5).
 * Each is one transaction by the calling process; every refusal is logged
 * to /errors.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "files.h"
#include "ops.h"

struct mkdir_ctx {
	const struct node *parent;
	const char *name;
	mode_t mode;
};

/* Gives a new object the mode mkdir asked for (libipam creates 0755). */
static int apply_mode(struct ipamfs *fs, const char *id, mode_t mode,
		      ipam_err *err)
{
	ipam_perm perm;
	int rc = ipam_perm_get(fs->db, id, &perm, err);
	if (rc || perm.mode == (mode & 07777))
		return rc;
	perm.mode = mode & 07777;
	return ipam_perm_set(fs->db, id, &perm, err);
}

static int make_scope(struct ipamfs *fs, struct mkdir_ctx *m, ipam_err *err)
{
	int64_t key = 0;
	int rc = ipam_scope_create(fs->db, m->name, &key, err);
	ipam_scope_info *info = rc ? NULL : malloc(sizeof(*info));
	if (rc == 0 && !info)
		rc = ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	if (rc == 0)
		rc = ipam_scope_get_by_key(fs->db, key, info, err);
	if (rc == 0)
		rc = apply_mode(fs, info->id, m->mode, err);
	free(info);
	return rc;
}

static int make_pool(struct ipamfs *fs, struct mkdir_ctx *m, ipam_err *err)
{
	int64_t key = 0;
	int rc = ipam_pool_create(fs->db, m->parent->scope_key,
				  m->parent->pool_key, m->name, &key, err);
	ipam_pool_info *info = rc ? NULL : malloc(sizeof(*info));
	if (rc == 0 && !info)
		rc = ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	if (rc == 0)
		rc = ipam_pool_get(fs->db, key, info, err);
	if (rc == 0)
		rc = apply_mode(fs, info->id, m->mode, err);
	free(info);
	return rc;
}

static int make_alloc(struct ipamfs *fs, struct mkdir_ctx *m, ipam_err *err)
{
	ipam_alloc_req req = {m->name, NULL, -1, NULL};
	ipam_alloc_info *info = malloc(sizeof(*info));
	if (!info)
		return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	int rc =
		ipam_alloc_create(fs->db, m->parent->pool_key, &req, info, err);
	if (rc == 0)
		rc = apply_mode(fs, info->id, m->mode, err);
	free(info);
	return rc;
}

/* Resources and discoveries carry no owner or mode of their own: the
 * mode mkdir asked for is not kept. */
static int do_mkdir(struct ipamfs *fs, void *ctx, ipam_err *err)
{
	struct mkdir_ctx *m = ctx;
	int rc = ipam_name_check(m->name, err);
	if (rc)
		return rc;
	switch (m->parent->kind) {
	case NODE_SCOPES:
		return make_scope(fs, m, err);
	case NODE_POOLS:
		return make_pool(fs, m, err);
	case NODE_RESOURCES:
		return ipam_resource_create(fs->db, m->parent->scope_key,
					    m->name, NULL, NULL, err);
	case NODE_DISCOVERIES:
		return ipam_discovery_create(fs->db, m->name, err);
	case NODE_PLISTS:
		return ipam_plist_create(fs->db, m->name, err);
	case NODE_PLTARGETS:
		return ipam_plist_target_create(fs->db, m->parent->name,
						m->name, err);
	case NODE_TOKENS:
		return ipam_token_create(fs->db, m->name, err);
	case NODE_ASNS:
		return ipam_asn_create(fs->db, m->name, err);
	case NODE_POLICIES:
		return ipam_policy_create(fs->db, m->name, err);
	default:
		return make_alloc(fs, m, err);
	}
}

static bool can_make_dirs(enum node_kind kind)
{
	return kind == NODE_SCOPES || kind == NODE_POOLS ||
	       kind == NODE_ALLOCS || kind == NODE_RESOURCES ||
	       kind == NODE_DISCOVERIES || kind == NODE_PLISTS ||
	       kind == NODE_PLTARGETS || kind == NODE_TOKENS ||
	       kind == NODE_ASNS || kind == NODE_POLICIES;
}

int ops_mkdir(const char *path, mode_t mode)
{
	struct ipamfs *fs = ipamfs_get();
	struct node parent;
	const char *name = NULL;
	ipam_err err = {IPAM_OK, ""};
	if (!fs->db)
		return ipamfs_refuse(fs, "mkdir", path, EIO,
				     "database not open");
	int rc = tree_resolve_parent(fs, path, &parent, &name, &err);
	if (rc)
		return ipamfs_fail(fs, "mkdir", path, rc, &err);
	if (!can_make_dirs(parent.kind))
		return ipamfs_refuse(fs, "mkdir", path, EPERM,
				     "directories cannot be created here");
	struct mkdir_ctx m = {&parent, name, mode};
	return ipamfs_change_retried(fs, "mkdir", path, do_mkdir, &m);
}

struct remove_ctx {
	const struct node *n;
	const char *name; /* last component of the path */
};

/*
 * rm -r of an object changes nothing (docs/tree.md "Removing"). rm -r
 * unlinks a directory's files before it descends into its sub-directories
 * (ipamfs lists them first), so its first step inside an object is the
 * unlink of an attribute file such as `id`, which is refused. From then on
 * the same process is refused every unlink and rmdir below that directory
 * (tags/<key>, allocations/<name>, child pools), until it stays away for
 * RM_GUARD_SECONDS: rm -r stops at the refusals and never reaches the
 * rmdir of the object. Another process's `rm tags/k` or `rmdir` is not
 * affected. One mount per process: the table is this file's.
 */
#define RM_GUARDS 16
#define RM_GUARD_SECONDS 30

static struct rm_guard {
	pid_t pid;
	char dir[PATH_MAX];
	time_t until; /* CLOCK_MONOTONIC seconds; 0 = free */
} rm_guards[RM_GUARDS];
static pthread_mutex_t rm_guards_lock = PTHREAD_MUTEX_INITIALIZER;

static time_t monotonic_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Whether path is dir or below it. */
static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || !path[n]);
}

/* The object directory of path that process pid is removing with rm -r
 * (copied to dir), refreshing its guard; false when none. */
static bool rm_guarded(pid_t pid, const char *path, char dir[PATH_MAX])
{
	time_t now = monotonic_now();
	bool found = false;
	pthread_mutex_lock(&rm_guards_lock);
	for (size_t i = 0; i < RM_GUARDS && !found; i++) {
		struct rm_guard *g = &rm_guards[i];
		if (g->until <= now || g->pid != pid ||
		    !path_under(path, g->dir))
			continue;
		g->until = now + RM_GUARD_SECONDS;
		memcpy(dir, g->dir, PATH_MAX);
		found = true;
	}
	pthread_mutex_unlock(&rm_guards_lock);
	return found;
}

/* Process pid is removing directory dir file by file: guard it, unless a
 * guard of the same process already covers it (the oldest guard makes
 * room). */
static void rm_guard(pid_t pid, const char *dir)
{
	time_t now = monotonic_now();
	struct rm_guard *slot = NULL;
	if (strlen(dir) >= PATH_MAX)
		return;
	pthread_mutex_lock(&rm_guards_lock);
	for (size_t i = 0; i < RM_GUARDS && !slot; i++) {
		struct rm_guard *g = &rm_guards[i];
		if (g->until > now && g->pid == pid && path_under(dir, g->dir))
			slot = g;
	}
	if (!slot) {
		slot = &rm_guards[0];
		for (size_t i = 1; i < RM_GUARDS; i++)
			if (rm_guards[i].until < slot->until)
				slot = &rm_guards[i];
		slot->pid = pid;
		strcpy(slot->dir, dir);
	}
	slot->until = now + RM_GUARD_SECONDS;
	pthread_mutex_unlock(&rm_guards_lock);
}

/* Refuses a removal below an object that this process is removing with
 * rm -r. */
static int rm_check(struct ipamfs *fs, const char *op, const char *path)
{
	char dir[PATH_MAX];
	if (!rm_guarded(ipamfs_caller()->pid, path, dir))
		return 0;
	return ipamfs_refuse(fs, op, path, EPERM,
			     "rm -r removes nothing inside '%s': an object "
			     "is removed whole with rmdir",
			     dir + 1);
}

/* The refusal of rm -r's first step inside an object. */
static int refuse_unlink(struct ipamfs *fs, const char *path,
			 const struct node *n)
{
	char dir[PATH_MAX];
	size_t len = (size_t)(strrchr(path, '/') - path);
	if (len >= sizeof(dir))
		len = sizeof(dir) - 1;
	memcpy(dir, path, len);
	dir[len] = '\0';
	rm_guard(ipamfs_caller()->pid, dir);
	switch (n->dir) {
	case NODE_ALLOC:
		return ipamfs_refuse(fs, "unlink", path, EPERM,
				     "only tags can be removed; `rmdir %s` "
				     "releases the allocation (rm -r removes "
				     "nothing)",
				     dir + 1);
	case NODE_SCOPE:
	case NODE_POOL:
	case NODE_RESOURCE:
	case NODE_DISCOVERY:
		return ipamfs_refuse(fs, "unlink", path, EPERM,
				     "only tags can be removed; `rmdir %s` "
				     "removes the object (rm -r removes "
				     "nothing)",
				     dir + 1);
	default:
		return ipamfs_refuse(fs, "unlink", path, EPERM,
				     "only tags can be removed");
	}
}

static int do_rmdir(struct ipamfs *fs, void *ctx, ipam_err *err)
{
	struct remove_ctx *r = ctx;
	switch (r->n->kind) {
	case NODE_SCOPE:
		return ipam_scope_delete(fs->db, r->name, err);
	case NODE_POOL:
		return ipam_pool_delete(fs->db, r->n->pool_key, err);
	case NODE_RESOURCE:
		return ipam_resource_delete(fs->db, r->n->resource_key, err);
	case NODE_DISCOVERY:
		return ipam_discovery_delete(fs->db, r->n->name, err);
	case NODE_PLIST:
		return ipam_plist_delete(fs->db, r->n->name, err);
	case NODE_PLTARGET:
		return ipam_plist_target_delete(fs->db, r->n->name,
						r->n->plist_target, err);
	case NODE_TOKEN:
		return ipam_token_delete(fs->db, r->n->name, err);
	case NODE_ASN:
		return ipam_asn_deprovision(fs->db,
					    (uint32_t)strtoul(r->n->name, NULL,
							      10),
					    err);
	case NODE_POLICY:
		return ipam_policy_delete(fs->db, r->n->name, err);
	default:
		return ipam_alloc_release(fs->db, r->n->pool_key, r->n->name,
					  err);
	}
}

int ops_rmdir(const char *path)
{
	struct ipamfs *fs = ipamfs_get();
	struct node n;
	int rc = ops_resolve(fs, "rmdir", path, &n);
	if (rc || (rc = rm_check(fs, "rmdir", path)))
		return rc;
	if (!node_is_dir(&n))
		return ipamfs_refuse(fs, "rmdir", path, ENOTDIR,
				     "not a directory");
	if (n.kind != NODE_SCOPE && n.kind != NODE_POOL &&
	    n.kind != NODE_ALLOC && n.kind != NODE_RESOURCE &&
	    n.kind != NODE_DISCOVERY && n.kind != NODE_PLIST &&
	    n.kind != NODE_PLTARGET && n.kind != NODE_TOKEN &&
	    n.kind != NODE_ASN && n.kind != NODE_POLICY)
		return ipamfs_refuse(fs, "rmdir", path, EPERM,
				     "this directory cannot be removed");
	struct remove_ctx r = {&n, strrchr(path, '/') + 1};
	return ipamfs_change_retried(fs, "rmdir", path, do_rmdir, &r);
}

static int do_unlink(struct ipamfs *fs, void *ctx, ipam_err *err)
{
	struct remove_ctx *r = ctx;
	return files_tag_remove(fs, r->n, r->n->name, err);
}

int ops_unlink(const char *path)
{
	struct ipamfs *fs = ipamfs_get();
	struct node n;
	int rc = ops_resolve(fs, "unlink", path, &n);
	if (rc || (rc = rm_check(fs, "unlink", path)))
		return rc;
	if (node_is_dir(&n))
		return ipamfs_refuse(fs, "unlink", path, EISDIR,
				     "a directory (use rmdir)");
	if (n.kind != NODE_FILE || n.dir != NODE_TAGS)
		return refuse_unlink(fs, path, &n);
	struct remove_ctx r = {&n, NULL};
	return ipamfs_change(fs, "unlink", path, do_unlink, &r);
}

struct perm_ctx {
	const struct node *n;
	uid_t caller;
	bool chown;
	uid_t uid; /* (uid_t)-1: unchanged */
	gid_t gid; /* (gid_t)-1: unchanged */
	mode_t mode;
};

/* Only root gives objects away; the owner (or root) changes the mode. */
static int do_perm(struct ipamfs *fs, void *ctx, ipam_err *err)
{
	struct perm_ctx *p = ctx;
	ipam_perm perm;
	int rc = ipam_perm_get(fs->db, p->n->owner_id, &perm, err);
	if (rc)
		return rc;
	ipam_perm want = perm;
	if (p->chown) {
		if (p->uid != (uid_t)-1)
			want.uid = p->uid;
		if (p->gid != (gid_t)-1)
			want.gid = p->gid;
		if (p->caller != 0 &&
		    (want.uid != perm.uid || want.gid != perm.gid))
			return ipamfs_err(err, IPAM_EPERM,
					  "only root can change the owner or "
					  "group of '%s'",
					  p->n->owner_id);
	} else {
		want.mode = p->mode & 07777;
		if (p->caller != 0 && p->caller != perm.uid)
			return ipamfs_err(err, IPAM_EPERM,
					  "only the owner (uid %lu) or root "
					  "can change the mode of '%s'",
					  (unsigned long)perm.uid,
					  p->n->owner_id);
	}
	if (memcmp(&want, &perm, sizeof(want)) == 0)
		return 0;
	return ipam_perm_set(fs->db, p->n->owner_id, &want, err);
}

static int change_perm(const char *op, const char *path, struct perm_ctx *p)
{
	struct ipamfs *fs = ipamfs_get();
	struct node n;
	int rc = ops_resolve(fs, op, path, &n);
	if (rc)
		return rc;
	if (n.kind != NODE_SCOPE && n.kind != NODE_POOL && n.kind != NODE_ALLOC)
		return ipamfs_refuse(fs, op, path, EPERM,
				     "only scopes, pools and allocations "
				     "carry an owner and a mode");
	p->n = &n;
	p->caller = ipamfs_caller()->uid;
	return ipamfs_change_retried(fs, op, path, do_perm, p);
}

int ops_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct perm_ctx p = {NULL, 0, false, (uid_t)-1, (gid_t)-1, mode};
	return change_perm("chmod", path, &p);
}

int ops_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	struct perm_ctx p = {NULL, 0, true, uid, gid, 0};
	return change_perm("chown", path, &p);
}

/* touch(1) works; times are those of the objects and are not set. */
int ops_utimens(const char *path, const struct timespec tv[2],
		struct fuse_file_info *fi)
{
	struct node n;
	return ops_resolve(ipamfs_get(), NULL, path, &n);
}

int ops_symlink(const char *target, const char *path)
{
	return ipamfs_refuse(ipamfs_get(), "symlink", path, EPERM,
			     "symbolic links cannot be created");
}

int ops_link(const char *from, const char *path)
{
	return ipamfs_refuse(ipamfs_get(), "link", path, EPERM,
			     "hard links cannot be created");
}

struct move_ctx {
	int64_t resource;
	int64_t scope;
};

static int do_move(struct ipamfs *fs, void *ctx, ipam_err *err)
{
	struct move_ctx *m = ctx;
	return ipam_resource_move(fs->db, m->resource, m->scope, err);
}

/* `mv scopes/a/resources/vpc-1 scopes/b/resources/`: the only rename. */
int ops_rename(const char *from, const char *to, unsigned int flags)
{
	struct ipamfs *fs = ipamfs_get();
	struct node n, parent;
	const char *name = NULL;
	ipam_err err = {IPAM_OK, ""};
	int rc = ops_resolve(fs, "rename", from, &n);
	if (rc)
		return rc;
	if (n.kind == NODE_FILE)
		return ipamfs_refuse(fs, "rename", from, EPERM,
				     "files cannot be renamed: %s",
				     IPAMFS_IN_PLACE);
	if (n.kind != NODE_RESOURCE || (flags & ~(unsigned)RENAME_NOREPLACE))
		return ipamfs_refuse(fs, "rename", from, EPERM,
				     "only a resource can be moved, to the "
				     "resources/ directory of another scope "
				     "(not to '%s')",
				     to + 1);
	rc = tree_resolve_parent(fs, to, &parent, &name, &err);
	if (rc)
		return ipamfs_fail(fs, "rename", from, rc, &err);
	if (parent.kind != NODE_RESOURCES ||
	    strcmp(name, strrchr(from, '/') + 1) != 0)
		return ipamfs_refuse(fs, "rename", from, EPERM,
				     "a resource moves to the resources/ "
				     "directory of another scope and keeps "
				     "its id (not to '%s')",
				     to + 1);
	if (parent.scope_key == n.scope_key)
		return 0; /* onto itself */
	struct move_ctx m = {n.resource_key, parent.scope_key};
	return ipamfs_change_retried(fs, "rename", from, do_move, &m);
}

int ops_mknod(const char *path, mode_t mode, dev_t dev)
{
	return ipamfs_refuse(ipamfs_get(), "mknod", path, EPERM,
			     "files cannot be created here");
}
