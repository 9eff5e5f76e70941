/*
 * errno_map.h - the one place where an ipam_code becomes an errno.
 */
#ifndef IPAMFS_ERRNO_MAP_H
#define IPAMFS_ERRNO_MAP_H

/* The positive errno of an ipam_code (0 for IPAM_OK, EIO for codes the
 * table does not know). */
int errno_from_ipam(int code);

/* "ENOSPC", "EACCES", ... for a positive errno; never NULL. */
const char *errno_name(int err);

#endif
