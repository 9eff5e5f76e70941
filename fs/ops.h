/*
 * ops.h - the FUSE operations of ipamfs, by the file that implements them.
 */
#ifndef IPAMFS_OPS_H
#define IPAMFS_OPS_H

#include "ipamfs.h"
#include "tree.h"

/* ops_read.c: looking at the tree */
/* getattr: what `path` is (*out, when not NULL) and its attributes; with
 * an open file fi, the size of what that descriptor serves. */
int ops_stat(const char *path, struct fuse_file_info *fi, struct stat *st,
	     struct node *out);
/* Whether the attributes of n stay true until the IPAM changes: not for
 * /errors, /events, /clock, history `@now` and allocate. */
bool ops_stat_cacheable(const struct node *n);
/* The attributes of a directory owned by `perm`, made at `created`. */
void ops_dir_stat(struct ipamfs *fs, const ipam_perm *perm, int64_t changed,
		  struct stat *st);
int ops_readlink(const char *path, char *out, size_t size);
int ops_access(const char *path, int mask);
int ops_statfs(struct statvfs *st);

/* ops_file.c: open files */
int ops_open(const char *path, struct fuse_file_info *fi);
int ops_create(const char *path, mode_t mode, struct fuse_file_info *fi);
/*
 * What lowlevel.c knows of the inode a request is about (set for the
 * request by this thread, NULL otherwise): ops_resolve of exactly `path`
 * takes `node` when `known`, and otherwise hands what it resolved back in
 * `node` with `resolved` set, for the inode table to keep.
 */
struct ops_hint {
	const char *path;
	bool known, resolved;
	struct node node;
};
void ops_hint_set(struct ops_hint *hint);

int ops_read(char *out, size_t size, off_t offset, struct fuse_file_info *fi);
/* A read without a copy: out->data points at the n bytes returned (< 0: an
 * errno), inside content that out->hold keeps alive until blob_unref. */
struct read_slice {
	const char *data;
	struct blob *hold;
};
int ops_read_slice(size_t size, off_t offset, struct fuse_file_info *fi,
		   struct read_slice *out);
int ops_write(const char *data, size_t size, off_t offset,
	      struct fuse_file_info *fi);
int ops_truncate(const char *path, off_t size, struct fuse_file_info *fi);
int ops_flush(struct fuse_file_info *fi);
int ops_release(struct fuse_file_info *fi);
int ops_poll(struct fuse_file_info *fi, struct fuse_pollhandle *ph,
	     unsigned *reventsp);
/* The size of what open file fi serves (fstat on it), when fixed. */
bool ops_open_size(struct fuse_file_info *fi, off_t *size);

/* ops_write.c: changing the tree */
int ops_mkdir(const char *path, mode_t mode);
int ops_rmdir(const char *path);
int ops_unlink(const char *path);
int ops_chmod(const char *path, mode_t mode, struct fuse_file_info *fi);
int ops_chown(const char *path, uid_t uid, gid_t gid,
	      struct fuse_file_info *fi);
int ops_utimens(const char *path, const struct timespec tv[2],
		struct fuse_file_info *fi);
int ops_symlink(const char *target, const char *path);
int ops_link(const char *from, const char *path);
int ops_rename(const char *from, const char *to, unsigned int flags);
int ops_mknod(const char *path, mode_t mode, dev_t dev);

/* Resolves `path` for an operation; on failure returns -errno (logged as
 * a refusal of `op` when op is not NULL). */
int ops_resolve(struct ipamfs *fs, const char *op, const char *path,
		struct node *out);

#endif
