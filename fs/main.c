/*
 * main.c - the ipamfs program: options, the database check, mounting.
 *
 *   ipamfs [options] DATABASE MOUNTPOINT
 *
 * Before anything is mounted the mountpoint is checked (an ipamfs mount
 * there already is refused) and the database is opened once (and created
 * when missing, saying so on stderr) to refuse a corrupt, damaged,
 * foreign, newer or busy file with a clear message and exit status 1;
 * libipam guarantees such a file is not modified. It is then closed and
 * opened again in the init callback, after ipamfs_serve (lowlevel.c) has
 * daemonised (which changes directory to /, hence the absolute path). A
 * database created here is removed again when the mount then fails.
 * mount(8) runs `ipamfs DATABASE MOUNTPOINT -o OPTS` for `mount -t
 * fuse.ipamfs` and fstab entries; its generic options (rw, nosuid, nodev,
 * ...) are understood by libfuse. -o allow_other always comes with
 * default_permissions (the kernel then checks every access against the
 * mode bits the tree shows).
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "ipamfs.h"
#include "log.h"
#include "ops.h"

#define IPAMFS_VERSION "0.1.0"

struct options {
	char *home_locale;
	char *sync;
	int settable_clock;
	int default_permissions;
	char *feed_budget;
	char *byoip_proof;
	char *database;
	char *mountpoint;
	int nonopts;
	int help;
	int version;
};

enum { KEY_HELP, KEY_VERSION, KEY_DEFAULT_PERMISSIONS };

static const struct fuse_opt option_spec[] = {
	{"home-locale=%s", offsetof(struct options, home_locale), 0},
	{"sync=%s", offsetof(struct options, sync), 0},
	{"settable-clock", offsetof(struct options, settable_clock), 1},
	{"feed-budget=%s", offsetof(struct options, feed_budget), 0},
	{"byoip-proof=%s", offsetof(struct options, byoip_proof), 0},
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("default_permissions", KEY_DEFAULT_PERMISSIONS),
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
	case KEY_DEFAULT_PERMISSIONS: /* noted, and passed on to libfuse */
		opts->default_permissions = 1;
		return 1;
	case FUSE_OPT_KEY_NONOPT:
		if (opts->nonopts++ == 0) {
			opts->database = strdup(arg);
			return opts->database ? 0 : -1;
		}
		if (opts->nonopts == 2 && !(opts->mountpoint = strdup(arg)))
			return -1;
		return 1;
	}
	return 1;
}

static void usage(const char *prog)
{
	printf("usage: %s [options] DATABASE MOUNTPOINT\n\n"
	       "Mounts the IPAM stored in the SQLite file DATABASE (created "
	       "on first\nmount) at MOUNTPOINT. DATABASE may be a "
	       "postgresql:// URI instead: the IPAM\nin that PostgreSQL "
	       "database (created when the database is empty).\n\n"
	       "ipamfs options:\n"
	       "    -o home-locale=NAME    home locale of a new IPAM "
	       "(default: local)\n"
	       "    -o sync=full|normal    full (default): a change is on "
	       "stable storage\n"
	       "                           before its write(2) returns; "
	       "normal: a power\n"
	       "                           cut may lose the newest changes "
	       "(fsync(2) on\n"
	       "                           any file of the mount makes them "
	       "durable)\n"
	       "    -o settable-clock      /clock: freeze the IPAM's clock "
	       "(tests)\n"
	       "    -o feed-budget=MIB     memory all open feeds may hold "
	       "together (default 512)\n"
	       "    -o byoip-proof=skip    labs: BYOIP CIDRs need no proof "
	       "of ownership\n"
	       "                           (default: verify)\n\n",
	       prog);
}

/* A postgresql:// (or postgres://) URI names a PostgreSQL database
 * (docs/design/pg.md); anything else is a SQLite file. */
static bool is_pg_uri(const char *db)
{
	return !strncmp(db, "postgresql://", 13) ||
	       !strncmp(db, "postgres://", 11);
}

/*
 * The name a PostgreSQL mount shows (fsname, the log): the URI without
 * the password of its user info (postgresql://user:secret@host/db shows
 * postgresql://user@host/db). Put passwords in ~/.pgpass or a
 * passfile= parameter instead.
 */
static char *pg_display_name(const char *uri)
{
	char *out = strdup(uri);
	char *auth = out ? strstr(out, "://") : NULL;
	if (!auth)
		return out;
	auth += 3;
	size_t len = strcspn(auth, "/?");
	char *at = memchr(auth, '@', len);
	char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon)
		memmove(colon, at, strlen(at) + 1);
	return out;
}

/* Is `db` (absolute) served by an ipamfs mount? (fsname is the path.) */
static bool db_mounted(const char *db)
{
	char line[8192];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - fuse.ipamfs ");
		char *src = sep ? sep + strlen(" - fuse.ipamfs ") : NULL;
		size_t n = src ? strcspn(src, " ") : 0;
		found = src && n == strlen(db) && !strncmp(src, db, n);
	}
	fclose(f);
	return found;
}

/*
 * Opens the database once to refuse a bad file before mounting; *created
 * is set when it did not exist. A database another process holds is
 * refused at once when an ipamfs mount serves it; a holder without a
 * mount (a daemon whose mount just went away and that is closing the
 * file) is waited for, up to 5 s.
 */
static int check_database(const struct options *opts, bool sync_normal,
			  bool *created)
{
	ipam *db = NULL;
	ipam_err err = {IPAM_OK, ""};
	ipam_open_opts open_opts = {0};
	struct stat st;
	char *real;
	int rc;

	/* a PostgreSQL IPAM is created in an empty database, never dropped */
	*created = !is_pg_uri(opts->database) &&
		   lstat(opts->database, &st) != 0 && errno == ENOENT;
	open_opts.create = true;
	open_opts.home_locale = opts->home_locale;
	open_opts.sync_normal = sync_normal;
	for (int tries = 0;; tries++) {
		memset(&err, 0, sizeof(err));
		rc = ipam_open(&db, opts->database, &open_opts, &err);
		if (rc != IPAM_EBUSY || tries >= 50 ||
		    is_pg_uri(opts->database))
			break;
		real = realpath(opts->database, NULL);
		bool mounted = real && db_mounted(real);
		free(real);
		if (mounted)
			break;
		nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
	}
	if (rc) {
		char *name = is_pg_uri(opts->database)
				     ? pg_display_name(opts->database)
				     : NULL;
		fprintf(stderr, "ipamfs: cannot open %s: %s\n",
			name ? name : opts->database,
			err.code ? err.msg : ipam_code_name(rc));
		free(name);
		return -1;
	}
	ipam_free(db);
	if (*created)
		fprintf(stderr, "ipamfs: created a new IPAM in %s\n",
			opts->database);
	return 0;
}

/* Removes a database check_database created (and its side files). */
static void remove_created(const char *path)
{
	char side[PATH_MAX + 8];
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	fprintf(stderr, "ipamfs: the mount failed; removed the new %s again\n",
		path);
}

/* Refuses a mountpoint that is already an ipamfs mount (a second daemon
 * would hide the first, which serves on unseen). */
static int check_mountpoint(const char *mountpoint)
{
	char line[8192], *real = realpath(mountpoint, NULL);
	int rc = 0;
	FILE *f;

	if (!real)
		return 0; /* libfuse says why */
	f = fopen("/proc/self/mountinfo", "re");
	while (f && rc == 0 && fgets(line, sizeof(line), f)) {
		char mnt[4096];
		/* id parent maj:min root mountpoint ... - type source */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 &&
		    strcmp(mnt, real) == 0 && strstr(line, " - fuse.ipamfs "))
			rc = -1;
	}
	if (f)
		fclose(f);
	if (rc)
		fprintf(stderr,
			"ipamfs: %s is already an ipamfs mount; unmount it "
			"first\n",
			mountpoint);
	free(real);
	return rc;
}

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
	/* Without default_permissions nobody but ipamfs's own checks stands
	 * between other users and the tree: with allow_other, the kernel
	 * must check the mode bits. */
	if (rc == 0 && has_option(args, "allow_other") &&
	    !has_option(args, "default_permissions"))
		rc = fuse_opt_add_opt(&opt, "default_permissions");
	if (rc == 0 && opt)
		rc = fuse_opt_add_arg(args, "-o") ||
		     fuse_opt_add_arg(args, opt);
	free(opt);
	return rc ? -1 : 0;
}

/* -h / -V: our text, then libfuse's. */
static int show_info(const struct options *opts, const char *prog)
{
	if (opts->help)
		usage(prog);
	else
		printf("ipamfs version %s\n", IPAMFS_VERSION);
	fflush(stdout);
	if (opts->help) {
		fuse_cmdline_help();
		fuse_lowlevel_help();
	} else {
		fuse_lowlevel_version();
	}
	return 0;
}

/* -o feed-budget=MIB: 1 to 65536 MiB; the default when absent. */
static int parse_feed_budget(const char *text, size_t *out)
{
	char *end = NULL;
	unsigned long mib;
	*out = IPAMFS_FEED_BUDGET;
	if (!text)
		return 0;
	errno = 0;
	mib = strtoul(text, &end, 10);
	if (errno || end == text || *end || mib < 1 || mib > 65536 ||
	    text[0] == '-') {
		fprintf(stderr,
			"ipamfs: -o feed-budget=%s: expected a number of MiB "
			"from 1 to 65536\n",
			text);
		return -1;
	}
	*out = (size_t)mib << 20;
	return 0;
}

static int run(struct fuse_args *args, struct options *opts, bool sync_normal)
{
	struct ipamfs fs;
	memset(&fs, 0, sizeof(fs));
	fs.home_locale = opts->home_locale;
	fs.sync_normal = sync_normal;
	fs.settable_clock = opts->settable_clock != 0;
	/* a PostgreSQL database has no backup image (pg_dump) */
	fs.backup_image = !is_pg_uri(opts->database);
	/* allow_other brings default_permissions (mount_options) */
	fs.default_permissions = opts->default_permissions != 0 ||
				 has_option(args, "allow_other");
	atomic_init(&fs.clock, IPAMFS_CLOCK_SYSTEM);
	if (parse_feed_budget(opts->feed_budget, &fs.feed_budget))
		return 1;
	if (opts->byoip_proof && strcmp(opts->byoip_proof, "skip") &&
	    strcmp(opts->byoip_proof, "verify")) {
		fprintf(stderr,
			"ipamfs: byoip-proof=%s: expected 'verify' (the "
			"default) or 'skip'\n",
			opts->byoip_proof);
		return 1;
	}
	fs.byoip_skip = opts->byoip_proof && !strcmp(opts->byoip_proof, "skip");
	atomic_init(&fs.feed_held, 0);
	/* a URI is passed on whole (the daemon opens it again), shown
	 * without its password */
	fs.db_path = is_pg_uri(opts->database) ? strdup(opts->database)
					       : realpath(opts->database, NULL);
	char *shown = fs.db_path && is_pg_uri(fs.db_path)
			      ? pg_display_name(fs.db_path)
			      : NULL;
	fs.db_shown = shown;
	if (!fs.db_path || add_mount_names(args, shown ? shown : fs.db_path)) {
		free(shown);
		fprintf(stderr, "ipamfs: cannot open %s: %s\n", opts->database,
			strerror(errno));
		free(fs.db_path);
		return 1;
	}
	errlog_init(&fs.errlog);
	cache_init(&fs.cache);
	pathcache_init(&fs.paths);
	watch_init(&fs.watch, 0);
	atomic_init(&fs.generation, 0);
	int ret = ipamfs_serve(&fs, args);
	if (fs.db) /* the session ended without calling destroy */
		ipam_free(fs.db);
	watch_free(&fs.watch);
	pathcache_free(&fs.paths);
	cache_free(&fs.cache);
	errlog_free(&fs.errlog);
	free(fs.db_path);
	free(fs.db_shown);
	return ret;
}

/*
 * Large renderings (docs/design/views.md) are mmap'd so that freeing one
 * gives its memory back at once. glibc's default threshold moves up to
 * 32 MiB after the first large free, and the heap then keeps every big
 * view that was ever read; a fixed threshold (which mallopt sets, ending
 * the adjustment) keeps them out of it. GLIBC_TUNABLES still wins.
 */
static void malloc_setup(void)
{
	const char *tunables = getenv("GLIBC_TUNABLES");
	if (!tunables || !strstr(tunables, "mmap_threshold"))
		mallopt(M_MMAP_THRESHOLD, 256 * 1024);
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct options opts;
	int ret = 1;
	memset(&opts, 0, sizeof(opts));
	malloc_setup();
	if (fuse_opt_parse(&args, &opts, option_spec, option_proc) == -1)
		goto out;
	if (opts.help || opts.version) {
		ret = show_info(&opts, argv[0]);
	} else if (opts.nonopts < 2) {
		fprintf(stderr,
			"ipamfs: usage: %s [options] DATABASE "
			"MOUNTPOINT\n",
			argv[0]);
	} else if (opts.sync && strcmp(opts.sync, "full") &&
		   strcmp(opts.sync, "normal")) {
		fprintf(stderr,
			"ipamfs: -o sync=%s: expected sync=full or "
			"sync=normal\n",
			opts.sync);
	} else if (check_mountpoint(opts.mountpoint) == 0) {
		bool sync_normal = opts.sync && !strcmp(opts.sync, "normal");
		bool created = false;
		log_open();
		if (check_database(&opts, sync_normal, &created) == 0) {
			ret = run(&args, &opts, sync_normal);
			if (ret != 0 && created && !ipamfs_mounted)
				remove_created(opts.database);
		}
	}
out:
	fuse_opt_free_args(&args);
	free(opts.home_locale);
	free(opts.sync);
	free(opts.feed_budget);
	free(opts.byoip_proof);
	free(opts.database);
	free(opts.mountpoint);
	return ret;
}
