/*
 * access.h - what the caller of a FUSE request may read in the shared views
 * (/by-id, /events, a scope's status and history), as the kernel would
 * decide with -o default_permissions (docs/design/security.md).
 */
#ifndef IPAMFS_ACCESS_H
#define IPAMFS_ACCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipam.h"

struct ipamfs;

#define ACCESS_GROUPS 64
#define ACCESS_MEMO 64

/* A reader: its credentials and what was decided for it so far. */
struct access {
	uid_t uid;
	gid_t gid;
	gid_t groups[ACCESS_GROUPS];
	int ngroups; /* -1 until asked */
	struct {
		int64_t pool;
		bool visible;
	} memo[ACCESS_MEMO];
	size_t nmemo;
};

/* The caller of the request this thread serves. */
void access_init(struct access *a);

/* Whether the reader may search a directory of owner/group/mode perm. */
bool access_may_search(struct access *a, const ipam_perm *perm);

/*
 * Whether the reader may search every directory from the root down to the
 * directory of the object `object_id` (scope, pool or allocation: its
 * scope, every ancestor pool and their pools/ and allocations/
 * sub-directories, the object itself), so could read its files. The IPAM
 * and discoveries are everyone's; root sees all. An id that names no
 * object (deleted, or a resource id) is resolved as a resource of a scope
 * the reader may search; else it is not visible.
 */
bool access_object_visible(struct ipamfs *fs, struct access *a,
			   const char *object_id);

/* Whether every pool and allocation of a scope can be searched by others
 * (o+x): the scope-wide views (status, history/) are everyone's only then.
 * False on a storage error. */
bool access_scope_open(struct ipamfs *fs, int64_t scope);

#endif
