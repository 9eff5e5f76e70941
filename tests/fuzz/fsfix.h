/*
 * fsfix.h - a mount without FUSE for the fuzz harnesses: the fs/ layer
 * (path resolver, file tables, control-file parsers) over an in-memory
 * IPAM, driven through the same ops_* functions the FUSE loop calls.
 */
#ifndef IPAMFS_FUZZ_FSFIX_H
#define IPAMFS_FUZZ_FSFIX_H

#include <stdbool.h>
#include <stddef.h>

#include "ipamfs.h"

/* The mount, re-created (fresh in-memory database, fixture pools, empty
 * caches and /errors) by fsfix_reset. */
extern struct ipamfs fsfix;

/* A fresh mount holding the fixture (see fsfix.c). Aborts when the
 * fixture cannot be built: that is a bug, not an input. */
void fsfix_reset(void);

/* One write(2) of data to path through open/write/flush/release, as
 * `cat FILE > path` does; returns 0 or -errno. */
int fsfix_write(const char *path, const char *data, size_t len);

/* Reads the whole file (discarding it); 0 or -errno. */
int fsfix_read(const char *path);

/* Lists a directory (resolving every entry); 0 or -errno. */
int fsfix_list(const char *path);

/* Whether the FUSE loop could pass path to ops_*: absolute, every
 * component 1..255 bytes and neither "." nor "..". */
bool fsfix_kernel_path(const char *path);

/* Runs the commands of a fuzz input (format in fsfix.c). */
void fsfix_run(const char *data, size_t size);

#endif
