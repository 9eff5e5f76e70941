/*
 * hash.h - FNV-1a (64 bits) over bytes, for the tables keyed by path
 * (pathcache.c, inodes.c, the stand-in inode numbers of lowlevel.c).
 */
#ifndef IPAMFS_HASH_H
#define IPAMFS_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_INIT 14695981039346656037ull

/* Hash h continued over data[0..len). */
static inline uint64_t hash_add(uint64_t h, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)data[i];
		h *= 1099511628211ull;
	}
	return h;
}

#endif
