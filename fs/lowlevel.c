/*
 * lowlevel.c - the FUSE requests of ipamfs, and what the kernel may cache.
 *
 * ipamfs serves libfuse's low-level API: the kernel names files by nodeid
 * (inodes.c turns them back into paths, and keeps the node each path
 * resolved to until a removal: hint_begin) and the operations of ops_*.c
 * do the work. Being low level is what lets the kernel cache: every name and
 * every attribute goes out with a timeout of IPAMFS_TTL seconds, and each
 * change takes back exactly what it made stale, before its own reply:
 *
 *  - Attributes. Every inode whose attributes the kernel is given (a
 *    generated file's size, the mode a sub-directory takes from its pool,
 *    the change time of every file and directory) is put in the touched
 *    set; every
 *    change expires the whole set (fuse_lowlevel_notify_inval_inode with a
 *    negative offset: attributes only, which never blocks). The set holds
 *    only what was looked at since the previous change, so the cost of
 *    expiring is bounded by the requests that filled it. A reply computed
 *    while a change committed carries a timeout of 0; the kernel drops a
 *    stale GETATTR/LOOKUP answer for an inode expired after the request
 *    was sent (attr_version), and a generated file new to the kernel gets
 *    a timeout of 0 on its first LOOKUP, so no stale size is ever kept.
 *  - Names. Scopes, pools, allocations, resources and discoveries are
 *    dropped from the dcache when libipam reports their rows deleted (the
 *    remove hook), with fuse_lowlevel_notify_inval_entry. That call takes
 *    the directory's lock, so it is skipped for the directories the
 *    kernel holds locked for the request being served (the parent of an
 *    rmdir, whose victim the kernel drops itself) and for the subtree of a
 *    removed directory. Names whose existence follows state libipam does
 *    not report (tags, preview lengths, history queries, by-id links,
 *    resources, which move between scopes with their VPC) and failed
 *    lookups are never cached.
 *  - Other daemons (PostgreSQL, docs/design/pg.md): the listening thread
 *    hears each of their commits with the objects it removed (or "anything
 *    may be gone" when the list did not fit its notification) and takes
 *    back the same (others_changed): every touched attribute, and the
 *    names of the removed objects, within the notification's latency
 *    rather than before a reply. Missed notifications drop every name;
 *    while they cannot be heard (blind) nothing is given any time. Prefix
 *    lists, their targets, verification tokens, ASNs and policies, whose
 *    removal libipam does not report, have no cached name there.
 *
 * READDIRPLUS gives `ls -l` every directory entry with its attributes in
 * the listing; allocations/ is listed with one query. Generated files are
 * listed without attributes: their size costs a rendering.
 */
#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "errno_map.h"
#include "hash.h"
#include "inodes.h"
#include "ipamfs.h"
#include "log.h"
#include "ops.h"
#include "tree.h"

/* Seconds the kernel may keep a name or attributes that no change has
 * taken back. Every change takes back what it affects; the bound only
 * limits the damage of a race the kernel cannot close (an inode evicted
 * and looked up again while its FORGET is on the way). */
#define IPAMFS_TTL 60.0

static struct {
	struct ipamfs *fs;
	struct fuse_session *se;
	struct inodes inodes;
	pthread_mutex_t expire_lock; /* one expiry pass at a time */
	/* bumped by every reported removal: a node kept in the inode table
	 * (inodes_resolved_get) is good for the epoch it was resolved at */
	atomic_uint_fast64_t epoch;
	/* PostgreSQL: the database's newest event when a request last
	 * began; other daemons' changes move it (remote_changes) */
	atomic_int_fast64_t remote_seen;
	bool open_failed;
	/* PostgreSQL: other daemons change the database too */
	bool shared;
	/* PostgreSQL: the thread that hears other daemons' changes */
	pthread_t listener;
	bool listening;
	atomic_bool listen_stop;
} ll;

/* The kernel's name and attribute timeouts: IPAMFS_TTL, each change
 * taking back what it affects — this daemon's own at its reply, another
 * daemon's (PostgreSQL) when the listening thread hears it
 * (others_changed). 0 while that thread cannot hear them (blind). */
static double ttl(void)
{
	return atomic_load(&ll.fs->blind) ? 0 : IPAMFS_TTL;
}

/* What the request being served by this thread made and removed. */
static _Thread_local struct ipamfs_caller caller;
struct removed {
	ipam_kind kind;
	int64_t key;
};
static _Thread_local struct {
	struct removed *list;
	size_t n, cap;
	bool all;	/* the list ran out of memory: anything may be gone */
	bool committed; /* libipam committed a change */
} pending;

struct ipamfs *ipamfs_get(void)
{
	return ll.fs;
}

const struct ipamfs_caller *ipamfs_caller(void)
{
	return &caller;
}

/* ---- libipam hooks: run in the committing thread, core lock held ---- */

static void on_change(void *ctx, int64_t last_event)
{
	pending.committed = true;
	/* PostgreSQL: when the commit's events directly follow the newest
	 * one the daemon had seen, nothing of another daemon's came between,
	 * and the next request need not resolve its kept nodes again
	 * (remote_changes); otherwise the next request does */
	if (ll.shared) {
		int_fast64_t seen = ipam_commit_first_event(ll.fs->db) - 1;
		atomic_compare_exchange_strong(&ll.remote_seen, &seen,
					       last_event);
	}
	watch_changed(ctx, last_event);
}

static void on_remove(void *ctx, ipam_kind kind, int64_t key)
{
	(void)ctx;
	/* right after the commit, before the core lock is released: no
	 * request can take a kept node for the removed object from here on */
	atomic_fetch_add(&ll.epoch, 1);
	if (kind == IPAM_KIND_IPAM || pending.all) {
		pending.all = true;
		return;
	}
	if (pending.n == pending.cap) {
		size_t cap = pending.cap ? 2 * pending.cap : 16;
		struct removed *grown =
			realloc(pending.list, cap * sizeof(*grown));
		if (!grown) {
			pending.all = true;
			return;
		}
		pending.list = grown;
		pending.cap = cap;
	}
	pending.list[pending.n].kind = kind;
	pending.list[pending.n].key = key;
	pending.n++;
}

/* ---- one request ---- */

struct op {
	fuse_req_t req;
	uint64_t generation; /* of the mount when the request began */
	uint64_t locked[2];  /* directories the kernel holds locked for it */
	const char *gone;    /* rmdir: the directory removed */
};

static uint64_t generation_now(void)
{
	return atomic_load(&ll.fs->generation);
}

/* On a database other daemons change (PostgreSQL): when its newest event
 * moved since the last request, what they changed may have removed
 * objects whose nodes this daemon keeps, so every kept node is resolved
 * again (the epoch, as a removal of our own does). One index lookup per
 * request (docs/design/pg.md). */
static void remote_changes(void)
{
	if (!ll.shared || !ll.fs->db)
		return;
	int64_t newest = ipam_events_last(ll.fs->db);
	if (atomic_exchange(&ll.remote_seen, newest) != newest ||
	    atomic_load(&ll.fs->blind))
		atomic_fetch_add(&ll.epoch, 1);
}

static void op_begin(struct op *op, fuse_req_t req, uint64_t locked,
		     uint64_t locked2)
{
	remote_changes();
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	caller.uid = ctx->uid;
	caller.gid = ctx->gid;
	caller.pid = ctx->pid;
	caller.req = req;
	op->req = req;
	op->generation = generation_now();
	op->locked[0] = locked;
	op->locked[1] = locked2;
	op->gone = NULL;
}

/* Expires the attributes of every touched inode. Serialised, so that a
 * request that changed something replies only after every expiry started
 * before it is done. */
static void expire_touched(void)
{
	size_t count = 0;
	pthread_mutex_lock(&ll.expire_lock);
	uint64_t *list = inodes_take_touched(&ll.inodes, &count);
	for (size_t i = 0; i < count; i++)
		fuse_lowlevel_notify_inval_inode(ll.se, list[i], -1, 0);
	pthread_mutex_unlock(&ll.expire_lock);
	free(list);
}

static bool path_under(const char *path, const char *dir)
{
	size_t len = strlen(dir);
	return strncmp(path, dir, len) == 0 && path[len] == '/';
}

/* Drops the cached names of what this request's commits deleted. */
static void drop_removed(const struct op *op)
{
	struct dentry_ref *refs = NULL;
	size_t n_refs = 0;
	if (pending.all)
		inodes_object_refs(&ll.inodes, IPAM_KIND_IPAM, 0, &refs,
				   &n_refs);
	for (size_t i = 0; !pending.all && i < pending.n; i++)
		inodes_object_refs(&ll.inodes, pending.list[i].kind,
				   pending.list[i].key, &refs, &n_refs);
	/* Freed here rather than kept: libfuse ends idle worker threads, and
	 * a thread-local buffer would leak with its thread. */
	free(pending.list);
	pending.list = NULL;
	pending.n = pending.cap = 0;
	pending.all = false;
	for (size_t i = 0; i < n_refs; i++) {
		const struct dentry_ref *r = &refs[i];
		if (r->parent == op->locked[0] || r->parent == op->locked[1] ||
		    (op->gone && path_under(r->path, op->gone)))
			continue;
		fuse_lowlevel_notify_inval_entry(ll.se, r->parent, r->name,
						 strlen(r->name));
	}
	inodes_refs_free(refs, n_refs);
}

/* What other daemons' changes removed, as one wait of the listening
 * thread heard them (the remove hook's list, for their commits). */
struct others {
	struct removed *list;
	size_t n, cap;
	bool all; /* anything may be gone (or the list ran out of memory) */
};

static void other_removed(void *ctx, ipam_kind kind, int64_t key)
{
	struct others *o = ctx;
	if (kind == IPAM_KIND_IPAM || o->all) {
		o->all = true;
		return;
	}
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 16;
		struct removed *grown = realloc(o->list, cap * sizeof(*grown));
		if (!grown) {
			o->all = true;
			return;
		}
		o->list = grown;
		o->cap = cap;
	}
	o->list[o->n].kind = kind;
	o->list[o->n].key = key;
	o->n++;
}

/*
 * Another daemon changed the database (or may have: o->all, also when
 * notifications were missed or can no longer be heard). What a change of
 * our own makes stale is dropped the same way: kept nodes (the epoch),
 * renderings (the generation), the attributes the kernel holds (the
 * touched set), the names of the objects removed (every object's name for
 * `all`), and poll(2) watchers of /events are woken. Generated files are
 * direct_io (no page cache). Runs in the listening thread, which holds no
 * lock of a request while it drops names: fuse_lowlevel_notify_inval_entry
 * takes the directory's lock, and so waits for a request that holds it
 * (a LOOKUP of that directory, which then has its name dropped after its
 * reply) but is never waited for by one (docs/design/pg.md).
 */
static void others_changed(struct others *o)
{
	struct dentry_ref *refs = NULL;
	size_t n_refs = 0;
	atomic_fetch_add(&ll.epoch, 1);
	/* before the names are collected: a LOOKUP whose inode is not in the
	 * table yet sees the generation moved and gives its name no time */
	atomic_fetch_add(&ll.fs->generation, 1);
	if (o->all)
		inodes_object_refs(&ll.inodes, IPAM_KIND_IPAM, 0, &refs,
				   &n_refs);
	for (size_t i = 0; !o->all && i < o->n; i++)
		inodes_object_refs(&ll.inodes, o->list[i].kind, o->list[i].key,
				   &refs, &n_refs);
	expire_touched();
	/* unmounting: the requests that hold directories may never be
	 * answered, and the kernel drops every name anyway */
	for (size_t i = 0; i < n_refs && !atomic_load(&ll.listen_stop); i++)
		fuse_lowlevel_notify_inval_entry(ll.se, refs[i].parent,
						 refs[i].name,
						 strlen(refs[i].name));
	inodes_refs_free(refs, n_refs);
	o->n = 0;
	o->all = false;
	watch_changed(&ll.fs->watch, ipam_events_last(ll.fs->db));
}

/* The listening thread: waits for other daemons' changes, and notes when
 * they can no longer be heard (the daemon is then blind: nothing cached
 * is served, ipamfs.c) and when they can again. */
static void *listen_others(void *arg)
{
	struct ipamfs *fs = arg;
	bool lost = false;
	struct others o = {NULL, 0, 0, false};
	while (!atomic_load(&ll.listen_stop)) {
		ipam_err err = {IPAM_OK, ""};
		int rc = ipam_wait_others(fs->db, 200, other_removed, &o, &err);
		if (rc == 1 || rc == 2) {
			if (lost || rc == 2)
				log_msg(LOG_NOTICE,
					"listening to other daemons' changes "
					"again; everything cached is dropped");
			/* missed notifications: anything may be gone */
			o.all = o.all || lost || rc == 2;
			lost = false;
			atomic_store(&fs->blind, false);
			others_changed(&o);
		} else if (rc < 0 && rc != IPAM_EINVAL && !lost) {
			log_msg(LOG_WARNING,
				"%s; until it is back, nothing cached is "
				"served",
				err.msg);
			lost = true;
			atomic_store(&fs->blind, true);
			o.all = true;
			others_changed(&o);
		} else if (rc == IPAM_EINVAL) {
			break;
		}
	}
	free(o.list);
	return NULL;
}

/* Before a reply: what the request changed reaches the kernel's caches. */
static void op_settle(const struct op *op)
{
	if (generation_now() == op->generation && !pending.committed &&
	    !pending.n && !pending.all)
		return;
	pending.committed = false;
	expire_touched();
	drop_removed(op);
}

static void reply_err(const struct op *op, int rc)
{
	op_settle(op);
	fuse_reply_err(op->req, rc < 0 ? -rc : rc);
}

/* ---- names and attributes ---- */

/* Whether the kernel may cache the name of n (see the top of the file). */
static bool name_cacheable(const struct node *n)
{
	/* A resource also leaves its directory when it moves to another
	 * scope with the VPC it lies in, in the same rename (the directory
	 * is locked then). */
	if (n->kind == NODE_LINK || n->kind == NODE_RESOURCE)
		return false;
	/* Objects whose removal libipam does not report (the kernel drops
	 * them at this daemon's own rmdir): another daemon's would leave
	 * their names here. Their files are found again under them. */
	if (ll.shared && (n->kind == NODE_PLIST || n->kind == NODE_PLTARGET ||
			  n->kind == NODE_TOKEN || n->kind == NODE_ASN ||
			  n->kind == NODE_POLICY))
		return false;
	return n->kind != NODE_FILE ||
	       (n->dir != NODE_TAGS && n->dir != NODE_PREVIEW &&
		n->dir != NODE_HISTORY && n->dir != NODE_MAPS);
}

/* The object a directory node shows, for the remove hook; key 0 = none. */
static int64_t object_of(const struct node *n, ipam_kind *kind)
{
	switch (n->kind) {
	case NODE_SCOPE:
		*kind = IPAM_KIND_SCOPE;
		return n->scope_key;
	case NODE_POOL:
		*kind = IPAM_KIND_POOL;
		return n->pool_key;
	case NODE_ALLOC:
		*kind = IPAM_KIND_ALLOCATION;
		return n->alloc_key;
	case NODE_RESOURCE:
		*kind = IPAM_KIND_RESOURCE;
		return n->resource_key;
	case NODE_DISCOVERY:
		*kind = IPAM_KIND_DISCOVERY;
		return n->discovery_key;
	default:
		*kind = IPAM_KIND_IPAM;
		return 0;
	}
}

/* How long the kernel may keep the attributes of n just computed (at
 * generation `before`) for inode ino. */
static double attr_timeout(const struct node *n, uint64_t ino, bool fresh,
			   uint64_t before)
{
	if (!ops_stat_cacheable(n))
		return 0;
	if (n->kind == NODE_FILE && fresh)
		return 0; /* not protected by attr_version: see the top */
	if (!inodes_touch(&ll.inodes, ino))
		return 0; /* every time and size may move with a change */
	return generation_now() == before ? ttl() : 0;
}

/*
 * An entry for `path` in directory `parent` (its lookup count taken): the
 * attributes in *st, computed at generation `before`, of node n.
 */
static int make_entry(uint64_t parent, const char *path, const struct node *n,
		      const struct stat *st, uint64_t before,
		      struct fuse_entry_param *e)
{
	ipam_kind kind;
	int64_t key = object_of(n, &kind);
	bool fresh = false;
	uint64_t ino = 0, generation = 0;
	int rc = inodes_lookup(&ll.inodes, parent, path, kind, key, &ino,
			       &generation, &fresh);
	if (rc)
		return rc;
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->generation = generation;
	e->attr = *st;
	e->attr.st_ino = ino;
	e->attr_timeout = attr_timeout(n, ino, fresh, before);
	e->entry_timeout =
		name_cacheable(n) && generation_now() == before ? ttl() : 0;
	return 0;
}

/* Resolves `path` and makes its entry. */
/*
 * The node an inode's path names, from the inode table while no removal
 * happened since it was resolved (tree_node_stable nodes only): a request
 * about an inode the kernel holds does not resolve its path component by
 * component again after each change. hint_begin before the ops_* call,
 * hint_end after it.
 */
static void hint_begin(struct ops_hint *h, uint64_t *epoch, uint64_t ino,
		       const char *path)
{
	h->path = path;
	h->resolved = false;
	*epoch = atomic_load(&ll.epoch); /* before resolving */
	h->known = path && inodes_resolved_get(&ll.inodes, ino, *epoch,
					       &h->node);
	ops_hint_set(path ? h : NULL);
}

static void hint_end(struct ops_hint *h, uint64_t epoch, uint64_t ino)
{
	ops_hint_set(NULL);
	if (h->resolved && tree_node_stable(&h->node))
		inodes_resolved_put(&ll.inodes, ino, epoch, &h->node);
}

static int lookup_entry(uint64_t parent, const char *path,
			struct fuse_entry_param *e)
{
	struct stat st;
	struct node n;
	struct ops_hint hint;
	uint64_t epoch;
	uint64_t before = generation_now();
	/* a name the kernel dropped (its entry timed out, or a change took
	 * it back) whose inode it still holds: the node is kept there */
	hint_begin(&hint, &epoch, inodes_find(&ll.inodes, path), path);
	int rc = ops_stat(path, NULL, &st, &n);
	ops_hint_set(NULL);
	if (rc == 0)
		rc = make_entry(parent, path, &n, &st, before, e);
	if (rc == 0)
		hint_end(&hint, epoch, e->ino);
	return rc;
}

/* "DIR/NAME" (malloc'd, NULL when out of memory). */
static char *join_path(const char *dir, const char *name)
{
	size_t dlen = strcmp(dir, "/") == 0 ? 0 : strlen(dir);
	size_t nlen = strlen(name);
	char *path = malloc(dlen + nlen + 2);
	if (path) {
		memcpy(path, dir, dlen);
		path[dlen] = '/';
		memcpy(path + dlen + 1, name, nlen + 1);
	}
	return path;
}

/* The path of NAME in directory nodeid `parent`. */
static char *child_path(uint64_t parent, const char *name, int *rc)
{
	char *dir = inodes_path(&ll.inodes, parent, rc);
	char *path = dir ? join_path(dir, name) : NULL;
	if (dir && !path)
		*rc = -ENOMEM;
	free(dir);
	return path;
}

static void reply_new_entry(struct op *op, uint64_t parent, const char *path,
			    int rc)
{
	struct fuse_entry_param e;
	op_settle(op);
	if (rc == 0)
		rc = lookup_entry(parent, path, &e);
	if (rc)
		fuse_reply_err(op->req, -rc);
	else if (fuse_reply_entry(op->req, &e) != 0)
		inodes_forget(&ll.inodes, e.ino, 1);
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct op op;
	int rc;
	op_begin(&op, req, parent, 0);
	char *path = child_path(parent, name, &rc);
	if (path)
		reply_new_entry(&op, parent, path, 0);
	else
		reply_err(&op, rc);
	free(path);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inodes_forget(&ll.inodes, ino, nlookup);
	fuse_reply_none(req);
}

static void ll_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		inodes_forget(&ll.inodes, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct op op;
	struct stat st;
	struct node n;
	int rc;
	struct ops_hint hint;
	uint64_t epoch;
	op_begin(&op, req, ino, 0);
	char *path = inodes_path(&ll.inodes, ino, &rc);
	uint64_t before = generation_now();
	hint_begin(&hint, &epoch, ino, path);
	if (path)
		rc = ops_stat(path, fi, &st, &n);
	hint_end(&hint, epoch, ino);
	free(path);
	if (rc) {
		reply_err(&op, rc);
		return;
	}
	st.st_ino = ino;
	double timeout = fi ? 0 : attr_timeout(&n, ino, false, before);
	op_settle(&op);
	fuse_reply_attr(req, &st, timeout);
}

static int apply_setattr(const char *path, const struct stat *attr, int to_set,
			 struct fuse_file_info *fi)
{
	int rc = 0;
	if (to_set & FUSE_SET_ATTR_MODE)
		rc = ops_chmod(path, attr->st_mode, fi);
	if (rc == 0 && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
		rc = ops_chown(
			path,
			(to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1,
			(to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1,
			fi);
	if (rc == 0 && (to_set & FUSE_SET_ATTR_SIZE))
		rc = ops_truncate(path, attr->st_size, fi);
	if (rc == 0 &&
	    (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
		       FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW))) {
		struct timespec tv[2] = {attr->st_atim, attr->st_mtim};
		rc = ops_utimens(path, tv, fi);
	}
	return rc;
}

static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct op op;
	struct stat st;
	struct node n;
	int rc;
	op_begin(&op, req, ino, 0);
	char *path = inodes_path(&ll.inodes, ino, &rc);
	if (path)
		rc = apply_setattr(path, attr, to_set, fi);
	op_settle(&op);
	uint64_t before = generation_now();
	if (rc == 0)
		rc = ops_stat(path, fi, &st, &n);
	free(path);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	st.st_ino = ino;
	fuse_reply_attr(req, &st,
			fi ? 0 : attr_timeout(&n, ino, false, before));
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct op op;
	char target[PATH_MAX + 1];
	int rc;
	op_begin(&op, req, ino, 0);
	char *path = inodes_path(&ll.inodes, ino, &rc);
	if (path)
		rc = ops_readlink(path, target, sizeof(target));
	free(path);
	op_settle(&op);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_readlink(req, target);
}

/* mkdir, mknod, symlink and link: the operation, then the new entry. */
typedef int (*make_fn)(const char *path, const void *arg, mode_t mode);

static void make_child(fuse_req_t req, fuse_ino_t parent, const char *name,
		       make_fn fn, const void *arg, mode_t mode)
{
	struct op op;
	int rc;
	op_begin(&op, req, parent, 0);
	char *path = child_path(parent, name, &rc);
	if (path) {
		rc = fn(path, arg, mode);
		reply_new_entry(&op, parent, path, rc);
	} else {
		reply_err(&op, rc);
	}
	free(path);
}

static int make_dir(const char *path, const void *arg, mode_t mode)
{
	(void)arg;
	return ops_mkdir(path, mode);
}

static int make_node(const char *path, const void *arg, mode_t mode)
{
	return ops_mknod(path, mode, *(const dev_t *)arg);
}

static int make_symlink(const char *path, const void *arg, mode_t mode)
{
	(void)mode;
	return ops_symlink(arg, path);
}

static int make_link(const char *path, const void *arg, mode_t mode)
{
	(void)mode;
	return ops_link(arg, path);
}

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	make_child(req, parent, name, make_dir, NULL, mode);
}

static void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	make_child(req, parent, name, make_node, &rdev, mode);
}

static void ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	make_child(req, parent, name, make_symlink, link, 0);
}

static void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	int rc;
	char *from = inodes_path(&ll.inodes, ino, &rc);
	if (!from) {
		fuse_reply_err(req, -rc);
		return;
	}
	make_child(req, newparent, newname, make_link, from, 0);
	free(from);
}

/* unlink and rmdir: the kernel drops the name itself. */
static void remove_child(fuse_req_t req, fuse_ino_t parent, const char *name,
			 int (*fn)(const char *path), bool dir)
{
	struct op op;
	int rc;
	op_begin(&op, req, parent, 0);
	char *path = child_path(parent, name, &rc);
	if (path) {
		rc = fn(path);
		if (rc == 0)
			inodes_unhash(&ll.inodes, path);
		op.gone = dir ? path : NULL;
	}
	reply_err(&op, rc);
	free(path);
}

static void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_child(req, parent, name, ops_unlink, false);
}

static void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_child(req, parent, name, ops_rmdir, true);
}

static void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct op op;
	int rc;
	op_begin(&op, req, parent, newparent);
	char *from = child_path(parent, name, &rc);
	char *to = from ? child_path(newparent, newname, &rc) : NULL;
	if (to)
		rc = ops_rename(from, to, flags);
	if (to && rc == 0 && strcmp(from, to) != 0) {
		inodes_unhash(&ll.inodes, to);
		rc = inodes_rename(&ll.inodes, from, to, newparent);
	}
	reply_err(&op, rc);
	free(from);
	free(to);
}

/* ---- open files ---- */

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct op op;
	int rc;
	struct ops_hint hint;
	uint64_t epoch;
	op_begin(&op, req, ino, 0);
	char *path = inodes_path(&ll.inodes, ino, &rc);
	hint_begin(&hint, &epoch, ino, path);
	if (path)
		rc = ops_open(path, fi);
	hint_end(&hint, epoch, ino);
	free(path);
	op_settle(&op);
	if (rc)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_open(req, fi) != 0)
		ops_release(fi); /* interrupted: nobody will close it */
}

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct op op;
	struct fuse_entry_param e;
	int rc;
	op_begin(&op, req, parent, 0);
	char *path = child_path(parent, name, &rc);
	if (path)
		rc = ops_create(path, mode, fi);
	op_settle(&op);
	if (rc == 0) {
		rc = lookup_entry(parent, path, &e);
		if (rc)
			ops_release(fi);
	}
	free(path);
	if (rc)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_create(req, &e, fi) != 0) {
		ops_release(fi);
		inodes_forget(&ll.inodes, e.ino, 1);
	}
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct op op;
	op_begin(&op, req, ino, 0);
	struct read_slice slice;
	int rc = ops_read_slice(size, off, fi, &slice);
	op_settle(&op);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else /* straight from the rendered content: writev, no copy */
		fuse_reply_buf(req, slice.data, (size_t)rc);
	blob_unref(slice.hold);
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct op op;
	op_begin(&op, req, ino, 0);
	int rc = ops_write(buf, size, off, fi);
	op_settle(&op);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, (size_t)rc);
}

static void ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct op op;
	op_begin(&op, req, ino, 0);
	reply_err(&op, ops_flush(fi));
}

static void ll_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct op op;
	op_begin(&op, req, ino, 0);
	ops_release(fi);
	reply_err(&op, 0);
}

/* Every change is committed before write(2) returns. */
/*
 * fsync(2) and fsyncdir: every change acknowledged so far is made
 * durable. With -o sync=full (the default) each one already is when its
 * write returns; with sync=normal this checkpoints the WAL (synced) into
 * the database (synced). Any file or directory of the mount will do: the
 * whole IPAM is one database.
 */
static void sync_all(fuse_req_t req)
{
	struct ipamfs *fs = ll.fs;
	ipam_err err = {IPAM_OK, ""};
	int rc = fs->db ? ipam_sync(fs->db, &err) : IPAM_EIO;
	if (rc) {
		log_msg(LOG_ERR, "fsync: storage error: %s",
			err.code ? err.msg : ipam_code_name(rc));
		fuse_reply_err(req, errno_from_ipam(rc));
		return;
	}
	fuse_reply_err(req, 0);
}

static void ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	sync_all(req);
}

static void ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	sync_all(req);
}

static void ll_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	unsigned revents = 0;
	(void)ino;
	int rc = ops_poll(fi, ph, &revents);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_poll(req, revents);
}

/* ---- directories ---- */

/* An entry of a listing taken at opendir. */
struct dirent_info {
	size_t name;	    /* offset in listing.names */
	unsigned char type; /* DT_DIR, DT_REG, DT_LNK; DT_UNKNOWN: resolve */
	bool known;	    /* what follows is filled (allocations) */
	int64_t key;
	int64_t changed; /* ns */
	ipam_perm perm;
};

struct listing {
	char *path;
	struct dirent_info *entries;
	size_t count, cap;
	char *names;
	size_t names_len, names_cap;
	unsigned char child_type; /* of every entry tree_list gives */
	int failed;
};

static struct dirent_info *listing_add(struct listing *l, const char *name,
				       unsigned char type)
{
	size_t len = strlen(name) + 1;
	if (l->failed)
		return NULL;
	if (l->count == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct dirent_info *grown =
			realloc(l->entries, cap * sizeof(*grown));
		if (!grown)
			goto fail;
		l->entries = grown;
		l->cap = cap;
	}
	if (l->names_len + len > l->names_cap) {
		size_t cap = l->names_cap ? 2 * l->names_cap : 1024;
		while (cap < l->names_len + len)
			cap *= 2;
		char *grown = realloc(l->names, cap);
		if (!grown)
			goto fail;
		l->names = grown;
		l->names_cap = cap;
	}
	struct dirent_info *d = &l->entries[l->count++];
	memset(d, 0, sizeof(*d));
	d->name = l->names_len;
	d->type = type;
	memcpy(l->names + l->names_len, name, len);
	l->names_len += len;
	return d;
fail:
	l->failed = -ENOMEM;
	return NULL;
}

static void listing_free(struct listing *l)
{
	if (!l)
		return;
	free(l->path);
	free(l->entries);
	free(l->names);
	free(l);
}

static void list_name(void *ctx, const char *name)
{
	struct listing *l = ctx;
	listing_add(l, name, l->child_type);
}

static int list_alloc(void *ctx, const ipam_alloc_entry *a)
{
	struct listing *l = ctx;
	struct dirent_info *d = listing_add(l, a->name, DT_DIR);
	if (!d)
		return IPAM_ENOMEM;
	d->known = true;
	d->key = a->key;
	d->changed = a->changed;
	d->perm = (ipam_perm){a->uid, a->gid, a->mode};
	return 0;
}

/* The type every child of a directory of kind `kind` has, or DT_UNKNOWN
 * when it holds both files and directories. */
static unsigned char child_type(enum node_kind kind)
{
	switch (kind) {
	case NODE_SCOPES:
	case NODE_POOLS:
	case NODE_ALLOCS:
	case NODE_RESOURCES:
	case NODE_DISCOVERIES:
	case NODE_PLISTS:
	case NODE_PLTARGETS:
	case NODE_TOKENS:
	case NODE_ASNS:
	case NODE_POLICIES:
		return DT_DIR;
	case NODE_BYID:
		return DT_LNK;
	case NODE_TAGS:
	case NODE_PREVIEW:
	case NODE_HISTORY:
	case NODE_METRICS:
	case NODE_MAPS:
	case NODE_PLVERSIONS:
		return DT_REG;
	default:
		return DT_UNKNOWN;
	}
}

static int list_dir(const char *path, struct listing **out)
{
	struct ipamfs *fs = ll.fs;
	struct node n;
	ipam_err err = {IPAM_OK, ""};
	int rc = ops_resolve(fs, NULL, path, &n);
	if (rc)
		return rc;
	if (!node_is_dir(&n))
		return -ENOTDIR;
	struct listing *l = calloc(1, sizeof(*l));
	if (!l || !(l->path = strdup(path))) {
		free(l);
		return -ENOMEM;
	}
	l->child_type = child_type(n.kind);
	listing_add(l, ".", DT_DIR);
	listing_add(l, "..", DT_DIR);
	if (n.kind == NODE_ALLOCS)
		rc = ipam_alloc_entries(fs->db, n.pool_key, list_alloc, l,
					&err);
	else
		rc = tree_list(fs, &n, list_name, l, &err);
	rc = rc ? -errno_from_ipam(rc) : l->failed;
	if (rc) {
		listing_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct op op;
	struct listing *l = NULL;
	int rc;
	struct ops_hint hint;
	uint64_t epoch;
	op_begin(&op, req, ino, 0);
	char *path = inodes_path(&ll.inodes, ino, &rc);
	hint_begin(&hint, &epoch, ino, path);
	if (path)
		rc = list_dir(path, &l);
	hint_end(&hint, epoch, ino);
	free(path);
	op_settle(&op);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)l;
	if (fuse_reply_open(req, fi) != 0)
		listing_free(l);
}

static void ll_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	(void)ino;
	listing_free((struct listing *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static mode_t type_mode(unsigned char type)
{
	return type == DT_DIR ? S_IFDIR : type == DT_LNK ? S_IFLNK : S_IFREG;
}

/* A stand-in inode number for an entry listed without attributes. */
static ino_t listed_ino(const char *dir, const char *name)
{
	uint64_t h = hash_add(HASH_INIT, dir, strlen(dir));
	h = hash_add(h, "/", 1);
	h = hash_add(h, name, strlen(name));
	return (ino_t)((uint32_t)h | 0x80000000u);
}

/* The file type of an entry of a directory holding both kinds. */
static mode_t listed_mode(const struct listing *l, const char *name)
{
	struct node n;
	char *path = name[0] == '.' ? NULL : join_path(l->path, name);
	mode_t mode = S_IFDIR;
	if (path && ops_resolve(ll.fs, NULL, path, &n) == 0 && !node_is_dir(&n))
		mode = n.kind == NODE_LINK ? S_IFLNK : S_IFREG;
	free(path);
	return mode;
}

/*
 * The entry READDIRPLUS gives for d: with attributes (and a lookup
 * counted) for a directory, without (ino 0) for files, links and what
 * vanished since opendir.
 */
static void plus_entry(fuse_ino_t dir, const struct listing *l,
		       const struct dirent_info *d, const char *name,
		       struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->attr.st_mode = type_mode(d->type);
	e->attr.st_ino = listed_ino(l->path, name);
	if (d->type == DT_LNK || d->type == DT_REG || name[0] == '.')
		return; /* "." and "..": the kernel counts no lookup */
	char *path = join_path(l->path, name);
	if (!path)
		return;
	struct node n;
	struct stat st;
	uint64_t before = generation_now();
	int rc;
	if (d->known) {
		memset(&n, 0, sizeof(n));
		n.kind = NODE_ALLOC;
		n.owner = OWNER_ALLOC;
		n.alloc_key = d->key;
		ops_dir_stat(ll.fs, &d->perm, d->changed, &st);
		rc = 0;
	} else {
		/* resolve first: the size of a file costs a rendering */
		rc = ops_resolve(ll.fs, NULL, path, &n);
		if (rc == 0 && node_is_dir(&n))
			rc = ops_stat(path, NULL, &st, &n);
	}
	if (rc == 0 && node_is_dir(&n)) {
		struct fuse_entry_param full;
		if (make_entry(dir, path, &n, &st, before, &full) == 0)
			*e = full; /* else listed without attributes */
	} else if (rc == 0) {
		e->attr.st_mode = n.kind == NODE_LINK ? S_IFLNK : S_IFREG;
	}
	free(path);
}

static void read_dir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi, bool plus)
{
	struct op op;
	struct listing *l = (struct listing *)(uintptr_t)fi->fh;
	char *buf = malloc(size ? size : 1);
	size_t used = 0;
	op_begin(&op, req, ino, 0);
	if (!buf) {
		reply_err(&op, -ENOMEM);
		return;
	}
	for (size_t i = off > 0 ? (size_t)off : 0; i < l->count; i++) {
		const struct dirent_info *d = &l->entries[i];
		const char *name = l->names + d->name;
		size_t need =
			plus ? fuse_add_direntry_plus(req, NULL, 0, name, NULL,
						      0)
			     : fuse_add_direntry(req, NULL, 0, name, NULL, 0);
		if (used + need > size)
			break;
		struct fuse_entry_param e;
		if (plus) {
			plus_entry(ino, l, d, name, &e);
			fuse_add_direntry_plus(req, buf + used, size - used,
					       name, &e, (off_t)i + 1);
		} else {
			memset(&e, 0, sizeof(e));
			e.attr.st_mode = type_mode(d->type);
			if (d->type == DT_UNKNOWN)
				e.attr.st_mode = listed_mode(l, name);
			e.attr.st_ino = listed_ino(l->path, name);
			fuse_add_direntry(req, buf + used, size - used, name,
					  &e.attr, (off_t)i + 1);
		}
		used += need;
	}
	op_settle(&op);
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	read_dir(req, ino, size, off, fi, false);
}

static void ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	read_dir(req, ino, size, off, fi, true);
}

/* ---- the rest ---- */

static void ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st;
	(void)ino;
	ops_statfs(&st);
	fuse_reply_statfs(req, &st);
}

static void ll_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct op op;
	int rc;
	op_begin(&op, req, ino, 0);
	char *path = inodes_path(&ll.inodes, ino, &rc);
	if (path)
		rc = ops_access(path, mask);
	free(path);
	reply_err(&op, rc);
}

/* Opens the database for real: after daemonising, when INIT arrives. */
static void ll_init(void *userdata, struct fuse_conn_info *conn)
{
	struct ipamfs *fs = userdata;
	ipam_err err = {IPAM_OK, ""};
	ipam_open_opts open_opts = {0};
	if (conn->capable & FUSE_CAP_READDIRPLUS) {
		conn->want |= FUSE_CAP_READDIRPLUS;
		conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO; /* every pass */
	}
	if (conn->max_write < 2 * IPAMFS_WRITE_MAX)
		conn->max_write = 2 * IPAMFS_WRITE_MAX; /* see E2BIG whole */
	open_opts.create = true;
	open_opts.home_locale = fs->home_locale;
	open_opts.sync_normal = fs->sync_normal;
	open_opts.skip_check = true; /* main.c's check_database just ran it */
	if (fs->settable_clock) {
		open_opts.clock = ipamfs_clock;
		open_opts.clock_ctx = fs;
	}
	if (ipam_open(&fs->db, fs->db_path, &open_opts, &err) != 0) {
		log_msg(LOG_ERR, "cannot open %s: %s; unmounting",
			fs->db_shown ? fs->db_shown : fs->db_path, err.msg);
		fs->db = NULL;
		ll.open_failed = true;
		fuse_session_exit(ll.se);
		return;
	}
	fs->mount_time = ipam_now(fs->db);
	ipam_byoip_set_skip(fs->db, fs->byoip_skip);
	watch_changed(&fs->watch, ipam_events_last(fs->db));
	ipam_set_change_hook(fs->db, on_change, &fs->watch);
	ipam_set_remove_hook(fs->db, on_remove, NULL);
	ll.shared = ipam_shared(fs->db);
	if (ll.shared) {
		atomic_store(&ll.listen_stop, false);
		ll.listening = pthread_create(&ll.listener, NULL, listen_others,
					      fs) == 0;
		if (!ll.listening) {
			/* cannot hear others: never reuse a rendering */
			log_msg(LOG_WARNING, "cannot start the thread that "
					     "hears other daemons' changes");
			atomic_store(&fs->blind, true);
		}
	}
	log_msg(LOG_INFO, "serving %s (sync=%s)",
		fs->db_shown ? fs->db_shown : fs->db_path,
		fs->sync_normal ? "normal" : "full");
}

/* Unmounting: closes the database (every open file was released). */
static void ll_destroy(void *userdata)
{
	struct ipamfs *fs = userdata;
	if (!fs || !fs->db)
		return;
	if (ll.listening) {
		atomic_store(&ll.listen_stop, true);
		pthread_join(ll.listener, NULL);
		ll.listening = false;
	}
	ipam_set_remove_hook(fs->db, NULL, NULL);
	ipam_set_change_hook(fs->db, NULL, NULL);
	ipam_free(fs->db);
	fs->db = NULL;
	log_msg(LOG_INFO, "closed %s",
		fs->db_shown ? fs->db_shown : fs->db_path);
}

static const struct fuse_lowlevel_ops ll_ops = {
	.init = ll_init,
	.destroy = ll_destroy,
	.lookup = ll_lookup,
	.forget = ll_forget,
	.forget_multi = ll_forget_multi,
	.getattr = ll_getattr,
	.setattr = ll_setattr,
	.readlink = ll_readlink,
	.mknod = ll_mknod,
	.mkdir = ll_mkdir,
	.unlink = ll_unlink,
	.rmdir = ll_rmdir,
	.symlink = ll_symlink,
	.rename = ll_rename,
	.link = ll_link,
	.open = ll_open,
	.read = ll_read,
	.write = ll_write,
	.flush = ll_flush,
	.release = ll_release,
	.fsync = ll_fsync,
	.fsyncdir = ll_fsyncdir,
	.opendir = ll_opendir,
	.readdir = ll_readdir,
	.readdirplus = ll_readdirplus,
	.releasedir = ll_releasedir,
	.statfs = ll_statfs,
	.access = ll_access,
	.create = ll_create,
	.poll = ll_poll,
};

bool ipamfs_mounted;

int ipamfs_serve(struct ipamfs *fs, struct fuse_args *args)
{
	struct fuse_cmdline_opts opts;
	struct fuse_loop_config *config = NULL;
	int ret = 1;
	memset(&opts, 0, sizeof(opts));
	if (fuse_parse_cmdline(args, &opts) != 0)
		return 1;
	if (!opts.mountpoint) {
		fprintf(stderr, "ipamfs: no mountpoint given\n");
		goto out;
	}
	if (inodes_init(&ll.inodes) != 0) {
		fprintf(stderr, "ipamfs: out of memory\n");
		goto out;
	}
	pthread_mutex_init(&ll.expire_lock, NULL);
	ll.fs = fs;
	ll.se = fuse_session_new(args, &ll_ops, sizeof(ll_ops), fs);
	if (!ll.se)
		goto out_inodes;
	if (fuse_set_signal_handlers(ll.se) != 0)
		goto out_session;
	if (fuse_session_mount(ll.se, opts.mountpoint) != 0)
		goto out_signals;
	ipamfs_mounted = true;
	if (fuse_daemonize(opts.foreground) != 0) {
		log_msg(LOG_ERR, "cannot daemonise; unmounting");
		goto out_unmount;
	}
	log_daemonized(!opts.foreground);
	log_msg(LOG_NOTICE, "mounted %s on %s",
		fs->db_shown ? fs->db_shown : fs->db_path, opts.mountpoint);
	if (opts.singlethread) {
		ret = fuse_session_loop(ll.se);
	} else {
		config = fuse_loop_cfg_create();
		if (config) {
			fuse_loop_cfg_set_clone_fd(config, opts.clone_fd);
			fuse_loop_cfg_set_max_threads(config, opts.max_threads);
			fuse_loop_cfg_set_idle_threads(config,
						       opts.max_idle_threads);
			ret = fuse_session_loop_mt(ll.se, config);
			fuse_loop_cfg_destroy(config);
		}
	}
	/* libfuse returns the number of the signal that ended the loop:
	 * SIGTERM (systemctl stop), SIGINT and SIGHUP are a clean stop. */
	if (ret == SIGTERM || ret == SIGINT || ret == SIGHUP) {
		log_msg(LOG_NOTICE, "stopping on signal %d", ret);
		ret = 0;
	} else if (ret != 0 && !ll.open_failed) {
		log_msg(LOG_ERR, "the FUSE session failed (%d); unmounting",
			ret);
	}
	ret = ret != 0 || ll.open_failed ? 1 : 0;
	/* The kernel is done with us: release the database first, before
	 * the unmount and the teardown, so that whoever waits for it (a
	 * remount, a backup of the file) waits as little as possible. */
	ll_destroy(fs);
out_unmount:
	fuse_session_unmount(ll.se);
	log_msg(LOG_NOTICE, "unmounted %s", opts.mountpoint);
out_signals:
	fuse_remove_signal_handlers(ll.se);
out_session:
	fuse_session_destroy(ll.se);
	ll.se = NULL;
out_inodes:
	pthread_mutex_destroy(&ll.expire_lock);
	inodes_free(&ll.inodes);
out:
	free(opts.mountpoint);
	return ret;
}
