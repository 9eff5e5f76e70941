/*
 * main.c - the ipamfs program: options, the database check, mounting.
 *
 *   ipamfs [options] DATABASE MOUNTPOINT
 *
 * Before anything is mounted the database is opened once (and created when
 * missing or empty) to refuse a corrupt, foreign or newer file with a clear
 * message and exit status 1; libipam guarantees such a file is not
 * modified. It is then closed and opened again in the init callback, after
 * fuse_main has daemonised (which changes directory to /, hence the
 * absolute path). mount(8) runs `ipamfs DATABASE MOUNTPOINT -o OPTS` for
 * `mount -t fuse.ipamfs` and fstab entries; its generic options (rw,
 * nosuid, nodev, ...) are understood by libfuse.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "ipamfs.h"
#include "ops.h"

#define IPAMFS_VERSION "0.1.0"

struct options {
	char *home_locale;
	int settable_clock;
	char *database;
	int nonopts;
	int help;
	int version;
};

enum { KEY_HELP, KEY_VERSION };

static const struct fuse_opt option_spec[] = {
	{"home-locale=%s", offsetof(struct options, home_locale), 0},
	{"settable-clock", offsetof(struct options, settable_clock), 1},
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END,
};

/* Takes DATABASE (the first non-option) out of the arguments and leaves
 * MOUNTPOINT to libfuse. */
static int option_proc(void *data, const char *arg, int key,
		       struct fuse_args *args)
{
	struct options *opts = data;
	switch (key) {
	case KEY_HELP:
		opts->help = 1;
		return 1;
	case KEY_VERSION:
		opts->version = 1;
		return 1;
	case FUSE_OPT_KEY_NONOPT:
		if (opts->nonopts++ == 0) {
			opts->database = strdup(arg);
			return opts->database ? 0 : -1;
		}
		return 1;
	}
	return 1;
}

static void usage(const char *prog)
{
	printf("usage: %s [options] DATABASE MOUNTPOINT\n\n"
	       "Mounts the IPAM stored in the SQLite file DATABASE (created "
	       "on first\nmount) at MOUNTPOINT.\n\n"
	       "ipamfs options:\n"
	       "    -o home-locale=NAME    home locale of a new IPAM "
	       "(default: local)\n"
	       "    -o settable-clock      /clock: freeze the IPAM's clock "
	       "(tests)\n\n",
	       prog);
}

/* Opens the database once to refuse a bad file before mounting. */
static int check_database(const struct options *opts)
{
	ipam *db = NULL;
	ipam_err err = {IPAM_OK, ""};
	ipam_open_opts open_opts = {0};
	open_opts.create = true;
	open_opts.home_locale = opts->home_locale;
	int rc = ipam_open(&db, opts->database, &open_opts, &err);
	if (rc) {
		fprintf(stderr, "ipamfs: cannot open %s: %s\n", opts->database,
			err.code ? err.msg : ipam_code_name(rc));
		return -1;
	}
	ipam_free(db);
	return 0;
}

/* Opens the database for real: after daemonising, in the FUSE thread. */
static void *ipamfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct ipamfs *fs = fuse_get_context()->private_data;
	ipam_err err = {IPAM_OK, ""};
	ipam_open_opts open_opts = {0};
	/* Generated content changes under the kernel's feet: never cache
	 * names, attributes or data. */
	cfg->use_ino = 0;
	cfg->entry_timeout = 0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->kernel_cache = 0;
	cfg->hard_remove = 1; /* no .fuse_hidden renames: rename is refused */
	if (conn->max_write < 2 * IPAMFS_WRITE_MAX)
		conn->max_write = 2 * IPAMFS_WRITE_MAX; /* see E2BIG whole */
	open_opts.create = true;
	open_opts.home_locale = fs->home_locale;
	if (fs->settable_clock) {
		open_opts.clock = ipamfs_clock;
		open_opts.clock_ctx = fs;
	}
	if (ipam_open(&fs->db, fs->db_path, &open_opts, &err) != 0) {
		syslog(LOG_ERR, "ipamfs: cannot open %s: %s", fs->db_path,
		       err.msg);
		fprintf(stderr, "ipamfs: cannot open %s: %s\n", fs->db_path,
			err.msg);
		fs->db = NULL;
		fuse_exit(fuse_get_context()->fuse);
		return fs;
	}
	fs->mount_time = ipam_now(fs->db);
	watch_changed(&fs->watch, ipam_events_last(fs->db));
	ipam_set_change_hook(fs->db, watch_changed, &fs->watch);
	return fs;
}

/* Unmounting: closes the database (every open file was released). */
static void ipamfs_destroy(void *private_data)
{
	struct ipamfs *fs = private_data;
	if (!fs || !fs->db)
		return;
	ipam_set_change_hook(fs->db, NULL, NULL);
	ipam_free(fs->db);
	fs->db = NULL;
}

const struct fuse_operations ipamfs_ops = {
	.getattr = ops_getattr,
	.readlink = ops_readlink,
	.mknod = ops_mknod,
	.mkdir = ops_mkdir,
	.unlink = ops_unlink,
	.rmdir = ops_rmdir,
	.symlink = ops_symlink,
	.rename = ops_rename,
	.link = ops_link,
	.chmod = ops_chmod,
	.chown = ops_chown,
	.truncate = ops_truncate,
	.open = ops_open,
	.read = ops_read,
	.write = ops_write,
	.statfs = ops_statfs,
	.flush = ops_flush,
	.release = ops_release,
	.fsync = ops_fsync,
	.readdir = ops_readdir,
	.init = ipamfs_init,
	.destroy = ipamfs_destroy,
	.access = ops_access,
	.create = ops_create,
	.utimens = ops_utimens,
	.poll = ops_poll,
};

static bool has_option(const struct fuse_args *args, const char *name)
{
	for (int i = 1; i < args->argc; i++)
		if (strstr(args->argv[i], name))
			return true;
	return false;
}

/* fsname (the "device" mount(8) shows) is the database; the type shows as
 * fuse.ipamfs. */
static int add_mount_names(struct fuse_args *args, const char *db_path)
{
	char *opt = NULL;
	int rc = 0;
	if (!has_option(args, "fsname=")) {
		char *name = malloc(strlen(db_path) + sizeof("fsname="));
		if (!name)
			return -1;
		strcpy(name, "fsname=");
		strcat(name, db_path);
		rc = fuse_opt_add_opt_escaped(&opt, name);
		free(name);
	}
	if (rc == 0 && !has_option(args, "subtype="))
		rc = fuse_opt_add_opt(&opt, "subtype=ipamfs");
	if (rc == 0 && opt)
		rc = fuse_opt_add_arg(args, "-o") ||
		     fuse_opt_add_arg(args, opt);
	free(opt);
	return rc ? -1 : 0;
}

/* -h / -V: our text, then libfuse's. */
static int show_info(struct fuse_args *args, const struct options *opts,
		     const char *prog)
{
	if (opts->help) {
		usage(prog);
		args->argv[0][0] = '\0';
	} else {
		printf("ipamfs version %s\n", IPAMFS_VERSION);
	}
	fflush(stdout); /* before libfuse runs fusermount3 -V */
	return fuse_main(args->argc, args->argv, &ipamfs_ops, NULL);
}

static int run(struct fuse_args *args, struct options *opts)
{
	struct ipamfs fs;
	memset(&fs, 0, sizeof(fs));
	fs.home_locale = opts->home_locale;
	fs.settable_clock = opts->settable_clock != 0;
	atomic_init(&fs.clock, IPAMFS_CLOCK_SYSTEM);
	fs.db_path = realpath(opts->database, NULL);
	if (!fs.db_path || add_mount_names(args, fs.db_path)) {
		fprintf(stderr, "ipamfs: cannot open %s: %s\n",
			opts->database, strerror(errno));
		free(fs.db_path);
		return 1;
	}
	errlog_init(&fs.errlog);
	cache_init(&fs.cache);
	pathcache_init(&fs.paths);
	watch_init(&fs.watch, 0);
	atomic_init(&fs.generation, 0);
	int ret = fuse_main(args->argc, args->argv, &ipamfs_ops, &fs);
	ipamfs_destroy(&fs); /* in case init ran but destroy did not */
	watch_free(&fs.watch);
	pathcache_free(&fs.paths);
	cache_free(&fs.cache);
	errlog_free(&fs.errlog);
	free(fs.db_path);
	return ret;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct options opts;
	int ret = 1;
	memset(&opts, 0, sizeof(opts));
	if (fuse_opt_parse(&args, &opts, option_spec, option_proc) == -1)
		goto out;
	if (opts.help || opts.version) {
		ret = show_info(&args, &opts, argv[0]);
	} else if (opts.nonopts < 2) {
		fprintf(stderr, "ipamfs: usage: %s [options] DATABASE "
				"MOUNTPOINT\n",
			argv[0]);
	} else if (check_database(&opts) == 0) {
		ret = run(&args, &opts);
	}
out:
	fuse_opt_free_args(&args);
	free(opts.home_locale);
	free(opts.database);
	return ret;
}
