/*
 * minifs.c - the smallest useful FUSE 3 filesystem: the "minimal FUSE"
 * baseline of bench/mount_bench.c.
 *
 * Like libfuse's example/hello.c (high-level API, paths, one callback per
 * operation), it serves
 *
 *     /small          a read-only file of SIZE bytes ("minifs\n" repeated)
 *     /dir/           a directory of N read-only empty files e00000 ...
 *     /d/             a directory holding the same three entries again,
 *                     so that /d/d/d/d/small is the same file 5 levels
 *                     deep (at most MAX_DEPTH levels of d)
 *
 * and nothing else; every answer is computed from the path in a few
 * instructions, so what a client measures is the cost of a FUSE round trip
 * (kernel, /dev/fuse, libfuse), not of the filesystem. It keeps libfuse's
 * defaults: entry and attribute timeouts of 1 s, page cache dropped at each
 * open (no kernel_cache). mount_bench also mounts it a second time with
 * `-o entry_timeout=0,attr_timeout=0,negative_timeout=0`, the settings
 * ipamfs uses, to show what disabling the kernel's caches costs by itself.
 *
 *   minifs [-f] [-o entries=N] [-o size=BYTES] [FUSE options] MOUNTPOINT
 */
#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_MAX (1 << 20)
#define MAX_DEPTH 16

static struct minifs_options {
	unsigned entries;
	unsigned size;
} options = {.entries = 10000, .size = 512};

static char *small_content;

static const struct fuse_opt option_spec[] = {
	{"entries=%u", offsetof(struct minifs_options, entries), 1},
	{"size=%u", offsetof(struct minifs_options, size), 1},
	FUSE_OPT_END,
};

enum kind { NOT_FOUND, ROOT, SMALL, ENTRIES, ENTRY };

/* What `path` names: any number (up to MAX_DEPTH) of leading "/d", then
 * nothing (a directory like the root), "/small", "/dir" or "/dir/eNNNNN"
 * with NNNNN below options.entries. */
static enum kind classify(const char *path)
{
	char *end;
	long i;
	for (int depth = 0;
	     !strncmp(path, "/d", 2) && (path[2] == '/' || path[2] == '\0');
	     depth++) {
		if (depth == MAX_DEPTH)
			return NOT_FOUND;
		path += 2;
	}
	if (!strcmp(path, "") || !strcmp(path, "/"))
		return ROOT;
	if (!strcmp(path, "/small"))
		return SMALL;
	if (!strcmp(path, "/dir"))
		return ENTRIES;
	if (strncmp(path, "/dir/e", 6) || path[6] < '0' || path[6] > '9')
		return NOT_FOUND;
	i = strtol(path + 6, &end, 10);
	if (*end != '\0' || end - (path + 6) != 5 || i >= (long)options.entries)
		return NOT_FOUND;
	return ENTRY;
}

static int minifs_getattr(const char *path, struct stat *st,
			  struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	switch (classify(path)) {
	case ROOT:
	case ENTRIES:
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	case SMALL:
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = options.size;
		return 0;
	case ENTRY:
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		return 0;
	case NOT_FOUND:
		break;
	}
	return -ENOENT;
}

static int minifs_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
			  off_t offset, struct fuse_file_info *fi,
			  enum fuse_readdir_flags flags)
{
	(void)offset;
	(void)fi;
	(void)flags;
	switch (classify(path)) {
	case ROOT:
		fill(buf, ".", NULL, 0, 0);
		fill(buf, "..", NULL, 0, 0);
		fill(buf, "small", NULL, 0, 0);
		fill(buf, "dir", NULL, 0, 0);
		fill(buf, "d", NULL, 0, 0);
		return 0;
	case ENTRIES:
		fill(buf, ".", NULL, 0, 0);
		fill(buf, "..", NULL, 0, 0);
		for (unsigned i = 0; i < options.entries; i++) {
			char name[16];
			snprintf(name, sizeof(name), "e%05u", i);
			fill(buf, name, NULL, 0, 0);
		}
		return 0;
	case SMALL:
	case ENTRY:
		return -ENOTDIR;
	case NOT_FOUND:
		break;
	}
	return -ENOENT;
}

static int minifs_open(const char *path, struct fuse_file_info *fi)
{
	enum kind kind = classify(path);
	if (kind != SMALL && kind != ENTRY)
		return kind == NOT_FOUND ? -ENOENT : -EISDIR;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	return 0;
}

static int minifs_read(const char *path, char *buf, size_t size, off_t offset,
		       struct fuse_file_info *fi)
{
	(void)fi;
	if (classify(path) != SMALL || offset >= (off_t)options.size)
		return 0; /* the entries are empty */
	if ((size_t)offset + size > options.size)
		size = options.size - (size_t)offset;
	memcpy(buf, small_content + offset, size);
	return (int)size;
}

static const struct fuse_operations minifs_ops = {
	.getattr = minifs_getattr,
	.readdir = minifs_readdir,
	.open = minifs_open,
	.read = minifs_read,
};

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	int ret;

	if (fuse_opt_parse(&args, &options, option_spec, NULL) == -1)
		return 1;
	if (options.entries > 100000 || options.size > SMALL_MAX) {
		fprintf(stderr, "minifs: entries <= 100000, size <= %d\n",
			SMALL_MAX);
		return 1;
	}
	small_content = malloc(options.size + 1);
	if (!small_content)
		return 1;
	for (unsigned i = 0; i < options.size; i++)
		small_content[i] = "minifs\n"[i % 7];
	ret = fuse_main(args.argc, args.argv, &minifs_ops, NULL);
	fuse_opt_free_args(&args);
	free(small_content);
	return ret;
}
