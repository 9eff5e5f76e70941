/*
 * access.c - the confidentiality rule of the shared views
 * (docs/design/security.md).
 *
 * The per-object directories show their owner, group and mode, and with
 * -o default_permissions the kernel refuses to enter a pool that the
 * caller may not search. The views that gather objects from everywhere --
 * /by-id, /events -- are filtered here the same way: an object is shown to
 * a reader who may search every directory on the way to it. Root (uid 0)
 * sees everything, as the kernel lets it. A scope's aggregate views
 * (status, status.json, history/) are not filtered but restricted to the
 * scope's owner while the scope holds anything others may not search
 * (access_scope_open; ops_read.c).
 */
#include "access.h"

#include <stdlib.h>
#include <string.h>

#include "ipamfs.h"

void access_init(struct access *a)
{
	const struct ipamfs_caller *c = ipamfs_caller();
	memset(a, 0, sizeof(*a));
	a->uid = c->uid;
	a->gid = c->gid;
	a->ngroups = -1;
}

/* The supplementary groups of the caller, asked once (the kernel does not
 * send them: libfuse reads /proc/PID/status). */
static void load_groups(struct access *a)
{
	const struct ipamfs_caller *c = ipamfs_caller();
	int n = c->req ? fuse_req_getgroups(c->req, ACCESS_GROUPS, a->groups)
		       : 0;
	a->ngroups = n < 0 ? 0 : n > ACCESS_GROUPS ? ACCESS_GROUPS : n;
}

bool access_may_search(struct access *a, const ipam_perm *perm)
{
	if (a->uid == 0)
		return true;
	if (perm->uid == a->uid)
		return perm->mode & 0100;
	if (perm->gid == a->gid)
		return perm->mode & 0010;
	if (a->ngroups < 0)
		load_groups(a);
	for (int i = 0; i < a->ngroups; i++)
		if (a->groups[i] == perm->gid)
			return perm->mode & 0010;
	return perm->mode & 0001;
}

static bool id_searchable(struct ipamfs *fs, struct access *a, const char *id)
{
	ipam_perm perm;
	return ipam_perm_get(fs->db, id, &perm, NULL) == 0 &&
	       access_may_search(a, &perm);
}

/* Whether the reader may search the scope, every pool down to `pool` and
 * the pool itself; remembered for the rest of the rendering. */
static bool pool_visible(struct ipamfs *fs, struct access *a, int64_t pool)
{
	for (size_t i = 0; i < a->nmemo; i++)
		if (a->memo[i].pool == pool)
			return a->memo[i].visible;
	ipam_pool_info *p = malloc(sizeof(*p));
	bool visible = false;
	if (p && ipam_pool_get(fs->db, pool, p, NULL) == 0) {
		ipam_scope_info sc;
		visible = id_searchable(fs, a, p->id);
		if (visible && p->parent_key)
			visible = pool_visible(fs, a, p->parent_key);
		else if (visible)
			visible = ipam_scope_get_by_key(fs->db, p->scope_key,
							&sc, NULL) == 0 &&
				  id_searchable(fs, a, sc.id);
	}
	free(p);
	if (a->nmemo < ACCESS_MEMO) {
		a->memo[a->nmemo].pool = pool;
		a->memo[a->nmemo++].visible = visible;
	}
	return visible;
}

/* A resource id: visible when it is a resource of a scope the reader may
 * search. */
static bool resource_visible(struct ipamfs *fs, struct access *a,
			     const char *id)
{
	ipam_strlist scopes = {0, NULL};
	bool visible = false;
	if (ipam_scope_list(fs->db, &scopes, NULL))
		return false;
	for (size_t i = 0; !visible && i < scopes.count; i++) {
		ipam_scope_info sc;
		int64_t key;
		visible = ipam_scope_get(fs->db, scopes.items[i], &sc, NULL) ==
				  0 &&
			  ipam_resource_lookup(fs->db, sc.key, id, &key,
					       NULL) == 0 &&
			  id_searchable(fs, a, sc.id);
	}
	ipam_strlist_free(&scopes);
	return visible;
}

bool access_object_visible(struct ipamfs *fs, struct access *a,
			   const char *object_id)
{
	ipam_kind kind;
	int64_t key = 0;
	if (a->uid == 0)
		return true;
	if (ipam_id_lookup(fs->db, object_id, &kind, &key, NULL) != 0)
		return resource_visible(fs, a, object_id);
	switch (kind) {
	case IPAM_KIND_IPAM:
	case IPAM_KIND_DISCOVERY:
	case IPAM_KIND_PREFIX_LIST:
	case IPAM_KIND_POLICY:
		return true;
	case IPAM_KIND_SCOPE:
		return id_searchable(fs, a, object_id);
	case IPAM_KIND_POOL:
		return pool_visible(fs, a, key);
	case IPAM_KIND_ALLOCATION: {
		ipam_alloc_info al;
		return ipam_alloc_get_by_key(fs->db, key, &al, NULL) == 0 &&
		       pool_visible(fs, a, al.pool_key) &&
		       id_searchable(fs, a, object_id);
	}
	default:
		return false;
	}
}

bool access_scope_open(struct ipamfs *fs, int64_t scope)
{
	bool open = false;
	return ipam_scope_searchable(fs->db, scope, &open, NULL) == 0 && open;
}
