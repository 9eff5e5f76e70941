/*
 * content.h - the content of a file of the tree, rendered once.
 */
#ifndef IPAMFS_CONTENT_H
#define IPAMFS_CONTENT_H

#include <stdint.h>

#include "buf.h"
#include "ipam.h"
#include "tree.h"

struct ipamfs;

/*
 * The content of file node `n` (at `path`): the cached rendering when
 * nothing changed since it was made, else a fresh one (cached unless the
 * file is ATTR_NOCACHE). *out is a new reference; *events (may be NULL)
 * receives the change-log entry the content is at least as new as.
 * 0 or an ipam_code with err.
 */
int content_get(struct ipamfs *fs, const char *path, const struct node *n,
		struct blob **out, int64_t *events, ipam_err *err);

#endif
