/*
 * errno_map.c - the table that turns libipam's error codes into errno.
 *
 * libipam speaks in ipam_code (SPEC §9 plus ENOENT, ENOMEM and ESCHEMA);
 * the kernel wants errno. This table is the only place in ipamfs where one
 * becomes the other: every FUSE operation returns -errno_from_ipam(rc).
 * A database that is not ours (ESCHEMA) looks like a storage failure (EIO)
 * to a process using the mount.
 */
#include "errno_map.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "ipam.h"

static const struct {
	ipam_code code;
	int err;
} errno_table[] = {
	{IPAM_OK, 0},
	{IPAM_EINVAL, EINVAL},
	{IPAM_ENOSPC, ENOSPC},
	{IPAM_EADDRINUSE, EADDRINUSE},
	{IPAM_EADDRNOTAVAIL, EADDRNOTAVAIL},
	{IPAM_EEXIST, EEXIST},
	{IPAM_ENOTEMPTY, ENOTEMPTY},
	{IPAM_EBUSY, EBUSY},
	{IPAM_EPERM, EPERM},
	{IPAM_EACCES, EACCES},
	{IPAM_EDQUOT, EDQUOT},
	{IPAM_E2BIG, E2BIG},
	{IPAM_EIO, EIO},
	{IPAM_ENOENT, ENOENT},
	{IPAM_ENOMEM, ENOMEM},
	{IPAM_ESCHEMA, EIO},
	{IPAM_ENAMETOOLONG, ENAMETOOLONG},
	{IPAM_EKEYEXPIRED, EKEYEXPIRED},
};

int errno_from_ipam(int code)
{
	for (size_t i = 0; i < sizeof(errno_table) / sizeof(errno_table[0]);
	     i++)
		if ((int)errno_table[i].code == code)
			return errno_table[i].err;
	return EIO;
}

const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);
	return name ? name : "EIO";
}
