/*
 * mount_bench.c - ipamfs through the mount, next to tmpfs and a minimal
 * FUSE filesystem measured in the same run, by the same process.
 *
 * The tree: 100 top-level pools t00..t99 in the private scope, each a /15
 * of 10.0.0.0/8 with 99 child pools c00..c98 (a /24 each): 10 000 pools.
 * t00's allocations/ holds 100 000 entries (its 99 child pools and 99 901
 * custom /32s), t01's 10 000 (99 + 9 901). It is written with the core
 * API (one transaction per top-level pool and per 10 000 allocations)
 * before ipamfs mounts the file - what a user restoring a large IPAM has.
 * --quick builds 10 top-level pools (1 000 pools) and t00/t01 with 10 000
 * and 1 000 entries.
 *
 * The same directories (scopes, pools, every allocations/ entry) and the
 * files the bench touches are made on tmpfs (a fresh directory under
 * /dev/shm). bench/minifs (built next to this program) is mounted twice:
 * with libfuse's defaults (1 s entry and attribute timeouts) - "the
 * minimal FUSE filesystem" - and with timeouts of 0 (minifs-nc), which
 * shows what a FUSE round trip costs once the kernel caches nothing (what
 * ipamfs cost before it let the kernel cache, see docs/bench.md).
 *
 * Measured, wall time (CLOCK_MONOTONIC; the filesystems run in other
 * processes), each figure the median of many short rounds that alternate
 * between the filesystems so that a change of machine load hits them all
 * (ROUNDS for the operations that take 0.1 s or more, LS_ROUNDS for the
 * ls -l passes):
 *
 *  1. cold `ls -l` of the 10 000-entry allocations/: opendir, readdir, and
 *     lstat of "DIR/NAME" for each entry as GNU ls does - the first
 *     operation on the fresh mount; tmpfs's first pass on its new tree;
 *  2. hot stat: the same path, 7 components deep, stat'ed repeatedly;
 *  3. `cat status` of t00 (100 000 allocations): open, read to EOF,
 *     close, repeated; against minifs's small file at the same depth;
 *  4. allocations through the mount, `echo /32 > allocate` (open with
 *     O_TRUNC, one write, close) into t02, against ipam_alloc_create of a
 *     /32 in t02 of a copy of the same database in this process (each its
 *     own transaction, WAL file: the core's persisted rate).
 *
 * and, as context, the same operations at other depths, after a change
 * (which empties ipamfs's caches), `mkdir allocations/NAME`, the core
 * with glibc's malloc defaults, and allocations through a second ipamfs
 * (on another copy of the database) whose glibc keeps freed memory
 * (GLIBC_TUNABLES), as alloc_bench's core does.
 *
 * Prints a table of the four targets (ratio, target, PASS/MISS) and the
 * context figures, with the number of FUSE requests each operation made
 * (counted by the kernel's fuse_request_send tracepoint when it is
 * there). Exits 0 whether targets are met or not; 1 when
 * something failed. Every mount is unmounted at the end, on failure and
 * on SIGINT/SIGTERM; bench/run-mount-bench.sh also cleans up after a
 * crash.
 *
 *   mount_bench [--quick] [--cpu N] [--dir DIR] [--tmpfs DIR]
 *               [--ipamfs PATH] [--minifs PATH]
 *   mount_bench [--quick] --make-db FILE
 *   --cpu     runs this program and the daemons on CPU N only
 *   --dir     where the databases and mount points go (default /tmp)
 *   --tmpfs   a tmpfs directory for the baseline tree (default /dev/shm)
 *   --ipamfs, --minifs   the programs (default: next to this one's
 *             build directory, <builddir>/fs/ipamfs and bench/minifs)
 *   --make-db only writes the tree to FILE (a new file) and exits: for
 *             profiling `ipamfs -f FILE MNT` by hand
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/perf_event.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipam.h"

#define ROUNDS 21	   /* rounds per measurement, median taken */
#define LS_ROUNDS 5	   /* rounds of the ls -l passes */
#define CHILDREN 99	   /* child pools per top-level pool */
#define FILL_BATCH 10000   /* allocations per transaction when filling */
#define MOUNT_TIMEOUT 30.0 /* seconds for a filesystem to appear */
#define SMALL_SIZE 512	   /* bytes of minifs's small file */
#define STAT_PATH "scopes/private/pools/t05/pools/c42/cidrs"
#define STATUS_PATH "scopes/private/pools/t00/status"
#define LS_PATH "scopes/private/pools/t01/allocations"
#define SMALL_STATUS_PATH "scopes/private/pools/t05/pools/c42/status"

struct config {
	bool quick;
	int tops;	     /* top-level pools, CHILDREN children each */
	long big;	     /* allocations/ entries of t00 */
	long listed;	     /* allocations/ entries of t01 */
	long mount_allocs;   /* allocations through the mount (and core) */
	long changes;	     /* samples after a change */
	unsigned watchdog;   /* seconds before giving up */
	int cpu;	     /* >= 0: everything runs on this CPU */
	const char *make_db; /* only write the tree to this file */
};

/* ---- failing, and cleaning up ---- */

/* A filesystem this program started. Read by signal handlers: only
 * async-signal-safe calls touch it there. */
struct mounted {
	char path[PATH_MAX];
	char log[PATH_MAX + 8]; /* the daemon's standard error */
	pid_t pid;
	volatile sig_atomic_t mounted;
};

enum { M_IPAMFS, M_MINIFS, M_MINIFS_NC, M_IPAMFS_KEPT, M_COUNT };
static struct mounted mounts[M_COUNT];
static char fusermount_path[PATH_MAX] = "/usr/bin/fusermount3";
static char work_dir[PATH_MAX];	 /* databases and mount points */
static char tmpfs_dir[PATH_MAX]; /* the tmpfs tree */
static volatile sig_atomic_t cleaning;

/* fork + execv + waitpid of argv (argv[0] a path); the exit status, or
 * -1. quiet: its standard error goes to /dev/null. Async-signal-safe. */
static int run_command(char *const argv[], bool quiet)
{
	int status;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = quiet ? open("/dev/null", O_WRONLY) : -1;
		if (fd >= 0)
			dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int fusermount(const char *flags, const char *path)
{
	char *argv[] = {fusermount_path, (char *)flags, (char *)path, NULL};
	return run_command(argv, true);
}

static void sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* Waits up to `ms` for `pid` to exit; true when it did. */
static bool reap(pid_t pid, long ms)
{
	for (long waited = 0;; waited += 10) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return true;
		if (waited >= ms)
			return false;
		sleep_ms(10);
	}
}

/*
 * Unmounts every filesystem this program mounted and stops its daemon.
 * In order (fusermount3 -u; the daemon then exits by itself) when
 * nothing is open on the mount; otherwise (a failure or a signal in the
 * middle of an operation) the daemon gets SIGTERM, and libfuse detaches
 * the mount as it exits; SIGKILL and `fusermount3 -uz` if it does not.
 * Async-signal-safe, idempotent.
 */
static void unmount_all(void)
{
	for (int i = 0; i < M_COUNT; i++) {
		struct mounted *m = &mounts[i];
		if (m->mounted && fusermount("-u", m->path) == 0)
			m->mounted = 0;
		if (m->pid > 0 && m->mounted)
			kill(m->pid, SIGTERM);
	}
	for (int i = 0; i < M_COUNT; i++) {
		struct mounted *m = &mounts[i];
		if (m->pid > 0 && !reap(m->pid, 5000)) {
			kill(m->pid, SIGKILL);
			reap(m->pid, 2000);
		}
		m->pid = 0;
		if (m->mounted)
			fusermount("-uz", m->path); /* fails if already gone */
		m->mounted = 0;
	}
}

/* Removes the work and tmpfs directories with `rm -rf --one-file-system`
 * (which does not enter a mount, should one be left). Async-signal-safe;
 * call after unmount_all. */
static void remove_files(void)
{
	char *dirs[] = {tmpfs_dir, work_dir};
	for (int i = 0; i < 2; i++) {
		char *argv[] = {"/bin/rm", "-rf", "--one-file-system", dirs[i],
				NULL};
		if (dirs[i][0])
			run_command(argv, false);
		dirs[i][0] = '\0';
	}
}

static void cleanup_at_exit(void)
{
	if (cleaning)
		return;
	cleaning = 1;
	unmount_all();
	remove_files();
}

static void on_signal(int sig)
{
	static const char msg[] = "mount_bench: signal, unmounting\n";
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing to do */
	}
	cleanup_at_exit();
	if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGALRM)
		_exit(sig == SIGALRM ? 1 : 128 + sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_handlers(void)
{
	static const int sigs[] = {SIGINT,  SIGTERM, SIGHUP,  SIGALRM,
				   SIGSEGV, SIGBUS,  SIGABRT, SIGFPE};
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	atexit(cleanup_at_exit);
}

/* Copies what the daemons wrote to standard error, but for the line
 * libfuse 3.14 always writes ("Ignoring invalid max threads value
 * 4294967295 > max (100000)."). */
static void show_daemon_logs(void)
{
	char line[512];
	for (int i = 0; i < M_COUNT; i++) {
		FILE *f = mounts[i].log[0] ? fopen(mounts[i].log, "r") : NULL;
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (!strstr(line, "Ignoring invalid max threads"))
				fprintf(stderr, "%s: %s", mounts[i].log, line);
		fclose(f);
	}
}

static void die(const char *fmt, ...)
{
	va_list ap;
	fputs("mount_bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	show_daemon_logs();
	exit(1); /* cleanup_at_exit unmounts */
}

/* ---- small helpers ---- */

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (!p)
		die("out of memory");
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

/* snprintf for paths: a path that does not fit is an error. */
static void pathf(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		die("path too long: %s...", out);
}

static void make_dir(const char *path)
{
	if (mkdir(path, 0755) && errno != EEXIST)
		die("mkdir %s: %s", path, strerror(errno));
}

static void write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd))
		die("write %s: %s", path, strerror(errno));
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(const double *values, int n)
{
	double sorted[ROUNDS];
	memcpy(sorted, values, (size_t)n * sizeof(double));
	qsort(sorted, (size_t)n, sizeof(double), compare_double);
	return n % 2 ? sorted[n / 2]
		     : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
}

/* "12.3 us", "4.56 ms", "1.23 s". */
static const char *fmt_time(char *out, size_t size, double seconds)
{
	if (seconds < 1e-3)
		snprintf(out, size, "%.2f us", seconds * 1e6);
	else if (seconds < 1.0)
		snprintf(out, size, "%.2f ms", seconds * 1e3);
	else
		snprintf(out, size, "%.2f s", seconds);
	return out;
}

/* The first three fields of /proc/loadavg. */
static const char *load_average(char *out, size_t size)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double a = 0, b = 0, c = 0;
	if (!f || fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
		snprintf(out, size, "?");
	else
		snprintf(out, size, "%.2f %.2f %.2f", a, b, c);
	if (f)
		fclose(f);
	return out;
}

/* The path of a program next to this one's build directory:
 * <builddir>/bench/mount_bench -> <builddir>/<rel>. */
static void sibling_program(char *out, size_t size, const char *rel)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		die("readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	snprintf(out, size, "%s/%s", dirname(dirname(self)), rel);
}

static void find_fusermount(void)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX];
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		snprintf(dir, sizeof(dir), "%.*s/fusermount3", (int)len, path);
		if (access(dir, X_OK) == 0) {
			snprintf(fusermount_path, sizeof(fusermount_path), "%s",
				 dir);
			return;
		}
		path += len + (path[len] == ':');
	}
	die("fusermount3 not found in PATH");
}

/*
 * glibc returns the top of the heap to the kernel (brk) whenever more
 * than 128 KiB are free there, which SQLite's per-transaction memory
 * triggers on most commits; on this VM each brk costs a TLB flush and
 * dominates a loop of small transactions (see alloc_bench.c). keep=true
 * keeps freed memory, as alloc_bench does; false sets glibc's default
 * values back (the FUSE daemons run with glibc's defaults).
 */
static void keep_freed_memory(bool keep)
{
	mallopt(M_TRIM_THRESHOLD, keep ? 256 << 20 : 128 << 10);
	mallopt(M_TOP_PAD, keep ? 16 << 20 : 128 << 10);
}

/*
 * FUSE requests this thread sends, counted by the kernel's
 * fuse:fuse_request_send tracepoint (Linux 6.13 and later, root or
 * perf_event_paranoid permitting). -1 when unavailable: the counts are
 * then not printed.
 */
static int request_counter = -1;

static void open_request_counter(void)
{
	static const char *const ids[] = {
		"/sys/kernel/tracing/events/fuse/fuse_request_send/id",
		"/sys/kernel/debug/tracing/events/fuse/fuse_request_send/id",
	};
	struct perf_event_attr attr;
	long id = -1;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]) && id < 0; i++) {
		FILE *f = fopen(ids[i], "r");
		if (f) {
			if (fscanf(f, "%ld", &id) != 1)
				id = -1;
			fclose(f);
		}
	}
	if (id < 0)
		return;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.size = sizeof(attr);
	attr.config = (uint64_t)id; /* counting only: no sampling */
	request_counter = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1,
				       PERF_FLAG_FD_CLOEXEC);
}

static long requests_sent(void)
{
	uint64_t count;
	if (request_counter < 0 ||
	    read(request_counter, &count, sizeof(count)) != sizeof(count))
		return 0;
	return (long)count;
}

/* ---- the tree, written with the core API before mounting ---- */

/* The allocation names of every top-level pool, for the tmpfs copy. */
struct tree {
	int tops;
	ipam_strlist *allocs; /* [tops] */
	long total_allocs;
	double pool_seconds, fill_seconds; /* building it */
};

static void check(int rc, const ipam_err *err, const char *what)
{
	if (rc)
		die("%s: %s (%s)", what, err->msg, ipam_code_name(rc));
}

static void provision(ipam *db, int64_t pool, const char *text)
{
	ipam_cidr cidr;
	ipam_err err = {0};
	check(ipam_cidr_parse(&cidr, text, &err), &err, text);
	check(ipam_pool_provision(db, pool, &cidr, &err), &err, text);
}

/* Custom /32s named a000000... until `pool` has `target` allocations, in
 * transactions of FILL_BATCH. */
static void fill_pool(ipam *db, int64_t pool, long target)
{
	ipam_pool_usage usage;
	ipam_err err = {0};
	char name[32];
	long serial = 0;

	check(ipam_pool_usage_get(db, pool, &usage, &err), &err, "usage");
	while (usage.allocation_count < target) {
		long batch = target - usage.allocation_count;
		if (batch > FILL_BATCH)
			batch = FILL_BATCH;
		check(ipam_txn_begin(db, NULL, &err), &err, "begin");
		for (long i = 0; i < batch; i++) {
			ipam_alloc_req req = {.name = name, .prefix_len = 32};
			snprintf(name, sizeof(name), "a%06ld", serial++);
			check(ipam_alloc_create(db, pool, &req, NULL, &err),
			      &err, "fill");
		}
		check(ipam_txn_commit(db, &err), &err, "commit");
		usage.allocation_count += batch;
	}
}

static void build_db(const struct config *cfg, const char *path,
		     struct tree *tree)
{
	ipam_open_opts opts = {.create = true, .id_seed = 7};
	ipam_scope_info scope;
	ipam_err err = {0};
	int64_t *tops = calloc((size_t)cfg->tops, sizeof(*tops));
	double t0 = now();
	ipam *db;
	char name[16], text[32];

	if (!tops)
		die("out of memory");
	check(ipam_open(&db, path, &opts, &err), &err, path);
	check(ipam_scope_get(db, "private", &scope, &err), &err, "scope");
	check(ipam_quota_set(db, IPAM_QUOTA_POOLS_PER_SCOPE,
			     cfg->tops * (CHILDREN + 1) + 10, &err),
	      &err, "quota");
	for (int i = 0; i < cfg->tops; i++) {
		check(ipam_txn_begin(db, NULL, &err), &err, "begin");
		snprintf(name, sizeof(name), "t%02d", i);
		check(ipam_pool_create(db, scope.key, 0, name, &tops[i], &err),
		      &err, name);
		snprintf(text, sizeof(text), "10.%d.0.0/15", 2 * i);
		provision(db, tops[i], text);
		for (int j = 0; j < CHILDREN; j++) {
			int64_t child;
			snprintf(name, sizeof(name), "c%02d", j);
			check(ipam_pool_create(db, scope.key, tops[i], name,
					       &child, &err),
			      &err, name);
			snprintf(text, sizeof(text), "10.%d.%d.0/24", 2 * i, j);
			provision(db, child, text);
		}
		check(ipam_txn_commit(db, &err), &err, "commit");
	}
	tree->pool_seconds = now() - t0;
	t0 = now();
	fill_pool(db, tops[0], cfg->big);
	fill_pool(db, tops[1], cfg->listed);
	/* `mkdir allocations/NAME` in t03 allocates its default length. */
	check(ipam_pool_set_netmask(db, tops[3], IPAM_NETMASK_DEFAULT, 32,
				    &err),
	      &err, "default netmask");

	tree->tops = cfg->tops;
	tree->allocs = calloc((size_t)cfg->tops, sizeof(*tree->allocs));
	if (!tree->allocs)
		die("out of memory");
	tree->total_allocs = 0;
	for (int i = 0; i < cfg->tops; i++) {
		check(ipam_alloc_list(db, tops[i], &tree->allocs[i], &err),
		      &err, "list");
		tree->total_allocs += (long)tree->allocs[i].count;
	}
	ipam_free(db);
	free(tops);
	tree->fill_seconds = now() - t0;
	if ((long)tree->allocs[0].count != cfg->big ||
	    (long)tree->allocs[1].count != cfg->listed)
		die("t00/t01 hold %zu/%zu allocations, not %ld/%ld",
		    tree->allocs[0].count, tree->allocs[1].count, cfg->big,
		    cfg->listed);
}

static void free_tree(struct tree *tree)
{
	for (int i = 0; i < tree->tops; i++)
		ipam_strlist_free(&tree->allocs[i]);
	free(tree->allocs);
	tree->allocs = NULL;
}

static void copy_file(const char *from, const char *to)
{
	char buf[1 << 16];
	ssize_t n;
	int in = open(from, O_RDONLY);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (in < 0 || out < 0)
		die("copy %s: %s", from, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			die("copy %s: %s", to, strerror(errno));
	if (n < 0 || close(out))
		die("copy %s: %s", from, strerror(errno));
	close(in);
}

/* One pool directory on tmpfs with the files the bench touches. */
static void tmpfs_pool(const char *dir, const char *cidr)
{
	static const char *const names[] = {"id", "description", "status"};
	char *p;
	make_dir(dir);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		p = join(dir, names[i]);
		write_file(p, "\n", 1);
		free(p);
	}
	p = join(dir, "cidrs");
	write_file(p, cidr, strlen(cidr));
	free(p);
	p = join(dir, "pools");
	make_dir(p);
	free(p);
	p = join(dir, "allocations");
	make_dir(p);
	free(p);
}

/* The same directories on tmpfs: scopes, every pool, every allocation. */
static double build_tmpfs(const struct tree *tree, const char *root)
{
	char path[PATH_MAX], cidr[64];
	double t0 = now();
	pathf(path, sizeof(path), "%s/ipam", root);
	make_dir(path);
	pathf(path, sizeof(path), "%s/ipam/tier", root);
	write_file(path, "free\n", 5);
	pathf(path, sizeof(path), "%s/scopes", root);
	make_dir(path);
	pathf(path, sizeof(path), "%s/scopes/private", root);
	make_dir(path);
	pathf(path, sizeof(path), "%s/scopes/private/pools", root);
	make_dir(path);
	for (int i = 0; i < tree->tops; i++) {
		const ipam_strlist *allocs = &tree->allocs[i];
		pathf(path, sizeof(path), "%s/scopes/private/pools/t%02d", root,
		      i);
		snprintf(cidr, sizeof(cidr), "10.%d.0.0/15\n", 2 * i);
		tmpfs_pool(path, cidr);
		for (int j = 0; j < CHILDREN; j++) {
			pathf(path, sizeof(path),
			      "%s/scopes/private/pools/t%02d/pools/c%02d", root,
			      i, j);
			snprintf(cidr, sizeof(cidr), "10.%d.%d.0/24\n", 2 * i,
				 j);
			tmpfs_pool(path, cidr);
		}
		for (size_t k = 0; k < allocs->count; k++) {
			pathf(path, sizeof(path),
			      "%s/scopes/private/pools/t%02d/allocations/%s",
			      root, i, allocs->items[k]);
			make_dir(path);
		}
	}
	return now() - t0;
}

/* ---- mounting ---- */

/* Starts a FUSE daemon in the foreground (argv[0] is its path; `env`, if
 * not NULL, one more NAME=VALUE for it) and waits until `m->path` is a
 * FUSE mount. */
static void mount_fs(struct mounted *m, char *const argv[], char *env)
{
	struct statfs sfs;
	double deadline = now() + MOUNT_TIMEOUT;
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);
		int log = open(m->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
		}
		if (log >= 0)
			dup2(log, 2);
		/* Out of the terminal's process group: a ^C reaches this
		 * program, which unmounts in order, not the daemons. */
		setsid();
		if (env)
			putenv(env);
		execv(argv[0], argv);
		fprintf(stderr, "mount_bench: exec %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	m->pid = pid;
	for (;;) {
		if (statfs(m->path, &sfs) == 0 &&
		    (unsigned long)sfs.f_type == FUSE_SUPER_MAGIC) {
			m->mounted = 1;
			return;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			m->pid = 0;
			die("%s exited before mounting %s", argv[0], m->path);
		}
		if (now() > deadline)
			die("%s: no mount at %s after %.0f s", argv[0], m->path,
			    MOUNT_TIMEOUT);
		sleep_ms(5);
	}
}

/* ---- the operations ---- */

typedef void (*op_fn)(void *arg);

static long read_bytes; /* what the last op_cat read */

static void op_stat(void *arg)
{
	struct stat st;
	if (stat(arg, &st))
		die("stat %s: %s", (const char *)arg, strerror(errno));
}

/* cat: open, read to end of file, close. */
static void op_cat(void *arg)
{
	static char buf[1 << 16];
	ssize_t n;
	long total = 0;
	int fd = open(arg, O_RDONLY);
	if (fd < 0)
		die("open %s: %s", (const char *)arg, strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	if (n < 0 || close(fd))
		die("read %s: %s", (const char *)arg, strerror(errno));
	read_bytes = total;
}

/* echo /32 > allocate, as a shell does it. */
static void op_allocate(void *arg)
{
	int fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (fd < 0)
		die("open %s: %s", (const char *)arg, strerror(errno));
	if (write(fd, "/32\n", 4) != 4)
		die("write %s: %s", (const char *)arg, strerror(errno));
	if (close(fd))
		die("close %s: %s", (const char *)arg, strerror(errno));
}

struct mkdir_arg {
	const char *dir;
	long serial;
};

static void op_mkdir(void *arg)
{
	struct mkdir_arg *a = arg;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/m%06ld", a->dir, a->serial++);
	if (mkdir(path, 0755))
		die("mkdir %s: %s", path, strerror(errno));
}

struct core_arg {
	ipam *db;
	int64_t pool;
};

/* The core's persisted rate: one /32, its own transaction. */
static void op_core_alloc(void *arg)
{
	struct core_arg *a = arg;
	ipam_alloc_req req = {.prefix_len = 32};
	ipam_err err = {0};
	check(ipam_alloc_create(a->db, a->pool, &req, NULL, &err), &err,
	      "core allocation");
}

/* The same with freed memory kept (see keep_freed_memory). */
static void op_core_alloc_kept(void *arg)
{
	keep_freed_memory(true);
	op_core_alloc(arg);
	keep_freed_memory(false);
}

struct ls_result {
	long entries;
	double seconds;
	long requests; /* FUSE requests sent */
};

/*
 * ls -l DIR: readdir and lstat of every entry, as GNU ls does it (it
 * stats "DIR/NAME", so the kernel walks the whole path for each entry);
 * with `at` the entries are stat'ed relative to the open directory
 * (fstatat), as `cd DIR; ls -l` does.
 */
static struct ls_result ls_l(const char *dir, bool at)
{
	struct ls_result r = {0, 0.0, 0};
	long requests = requests_sent();
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	double t0 = now();
	DIR *d = opendir(dir);
	if (!d)
		die("opendir %s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		int rc;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (at) {
			rc = fstatat(dirfd(d), e->d_name, &st,
				     AT_SYMLINK_NOFOLLOW);
		} else {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			rc = lstat(path, &st);
		}
		if (rc)
			die("lstat %s/%s: %s", dir, e->d_name, strerror(errno));
		r.entries++;
	}
	closedir(d);
	r.seconds = now() - t0;
	r.requests = requests_sent() - requests;
	return r;
}

/* ---- measuring ---- */

/* One thing measured: `fn(arg)` on one filesystem. */
struct subject {
	const char *label;
	op_fn fn;
	void *arg;
	double round[ROUNDS]; /* seconds per call */
	double seconds;	      /* median of the rounds */
	long calls;
	long requests; /* FUSE requests sent by the timed calls */
};

#define SUBJECT(l, f, a)                                                       \
	{                                                                      \
		.label = (l), .fn = (f), .arg = (a)                            \
	}

/* Seconds per call: batches of `batch` calls until `min_time` passed. */
static double one_round(struct subject *s, long batch, double min_time,
			long *calls)
{
	long requests = requests_sent();
	double t0 = now(), t;
	long n = 0;
	do {
		for (long i = 0; i < batch; i++)
			s->fn(s->arg);
		n += batch;
		t = now() - t0;
	} while (t < min_time);
	s->requests += requests_sent() - requests;
	*calls += n;
	return t / (double)n;
}

/* ROUNDS rounds over all subjects in turn (after `warmup` calls each);
 * each subject's figure is its median round. */
static void measure(struct subject *s, int count, long batch, double min_time,
		    long warmup)
{
	for (int i = 0; i < count; i++)
		for (long k = 0; k < warmup; k++)
			s[i].fn(s[i].arg);
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < count; i++)
			s[i].round[r] =
				one_round(&s[i], batch, min_time, &s[i].calls);
	for (int i = 0; i < count; i++)
		s[i].seconds = median(s[i].round, ROUNDS);
}

/* "allocation-count=N" of a status text, or -1. */
static long status_count(const char *path)
{
	char buf[8192], *p;
	ssize_t n;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "allocation-count=");
	return p ? atol(p + strlen("allocation-count=")) : -1;
}

/* ---- the measurements ---- */

/* The filesystems compared; ipamfs-kept is only used for allocations. */
enum {
	FS_IPAMFS,
	FS_TMPFS,
	FS_MINIFS,
	FS_MINIFS_NC,
	FS_COUNT,
	FS_IPAMFS_KEPT = FS_COUNT,
	FS_ALL
};
static const char *fs_root[FS_ALL];

/* The paths made by at(), freed at the end. */
#define MAX_PATHS 64
static char *paths[MAX_PATHS];
static int path_count;

/* A path on one filesystem; valid until free_paths(). */
static char *at(int fs, const char *rel)
{
	if (path_count == MAX_PATHS)
		die("more than %d paths", MAX_PATHS);
	return paths[path_count++] = join(fs_root[fs], rel);
}

static void free_paths(void)
{
	while (path_count > 0)
		free(paths[--path_count]);
}

struct results {
	struct ls_result cold[FS_COUNT]; /* first ls -l pass */
	struct ls_result warm[FS_COUNT]; /* later passes: median time */
	struct ls_result warm_at[2];	 /* ipamfs, tmpfs: fstatat */
	struct subject stat[7];
	double status_first; /* the first cat of t00/status */
	long status_size, status_first_requests;
	struct subject cat[6];
	struct subject after[3]; /* right after a change */
	struct subject alloc[5];
};

/* 1. ls -l of the big allocations/: the first operation on each fresh
 * mount, then LS_ROUNDS more passes. */
static void measure_ls(const struct config *cfg, struct results *res)
{
	static const char *const dirs[FS_COUNT] = {
		LS_PATH, LS_PATH, "d/d/d/d/dir", "d/d/d/d/dir"};
	double warm[FS_COUNT][LS_ROUNDS], warm_at[2][LS_ROUNDS];
	char *path[FS_COUNT];
	for (int f = 0; f < FS_COUNT; f++) {
		path[f] = at(f, dirs[f]);
		res->cold[f] = ls_l(path[f], false);
		if (res->cold[f].entries != cfg->listed)
			die("ls -l %s: %ld entries, not %ld", path[f],
			    res->cold[f].entries, cfg->listed);
	}
	for (int r = 0; r < LS_ROUNDS; r++) {
		for (int f = 0; f < FS_COUNT; f++) {
			res->warm[f] = ls_l(path[f], false);
			warm[f][r] = res->warm[f].seconds;
		}
		for (int f = 0; f < 2; f++) {
			res->warm_at[f] = ls_l(path[f], true);
			warm_at[f][r] = res->warm_at[f].seconds;
		}
	}
	/* The requests are those of the last pass. */
	for (int f = 0; f < FS_COUNT; f++)
		res->warm[f].seconds = median(warm[f], LS_ROUNDS);
	for (int f = 0; f < 2; f++)
		res->warm_at[f].seconds = median(warm_at[f], LS_ROUNDS);
}

/* 2. hot stat, 7 and 2 components deep. */
static void measure_stat(struct results *res)
{
	struct subject s[] = {
		SUBJECT("ipamfs", op_stat, at(FS_IPAMFS, STAT_PATH)),
		SUBJECT("tmpfs", op_stat, at(FS_TMPFS, STAT_PATH)),
		SUBJECT("minifs", op_stat, at(FS_MINIFS, "d/d/d/d/d/d/small")),
		SUBJECT("minifs-nc", op_stat,
			at(FS_MINIFS_NC, "d/d/d/d/d/d/small")),
		SUBJECT("ipamfs", op_stat, at(FS_IPAMFS, "ipam/tier")),
		SUBJECT("tmpfs", op_stat, at(FS_TMPFS, "ipam/tier")),
		SUBJECT("minifs-nc", op_stat, at(FS_MINIFS_NC, "d/small")),
	};
	_Static_assert(sizeof(s) == sizeof(res->stat), "subjects");
	measure(s, 7, 50, 0.03, 100);
	memcpy(res->stat, s, sizeof(s));
}

/* 3. cat status: the first read renders it, later ones come from
 * ipamfs's content cache. tmpfs gets a copy of the same bytes. */
static void measure_cat(struct results *res)
{
	static char text[1 << 16];
	char *status = at(FS_IPAMFS, STATUS_PATH);
	long requests = requests_sent();
	double t0 = now();
	op_cat(status);
	res->status_first = now() - t0;
	res->status_first_requests = requests_sent() - requests;
	res->status_size = read_bytes;

	int fd = open(status, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof(text));
	if (n <= 0)
		die("read %s: %s", status, strerror(errno));
	close(fd);
	write_file(at(FS_TMPFS, STATUS_PATH), text, (size_t)n);

	struct subject s[] = {
		SUBJECT("ipamfs", op_cat, status),
		SUBJECT("minifs", op_cat, at(FS_MINIFS, "d/d/d/d/small")),
		SUBJECT("minifs-nc", op_cat, at(FS_MINIFS_NC, "d/d/d/d/small")),
		SUBJECT("tmpfs", op_cat, at(FS_TMPFS, STATUS_PATH)),
		SUBJECT("minifs", op_cat, at(FS_MINIFS, "small")),
		SUBJECT("ipamfs", op_cat, at(FS_IPAMFS, SMALL_STATUS_PATH)),
	};
	_Static_assert(sizeof(s) == sizeof(res->cat), "subjects");
	measure(s, 6, 20, 0.03, 20);
	memcpy(res->cat, s, sizeof(s));
}

/* 4. Right after a change, which empties ipamfs's caches: a description
 * is written (not timed) before each operation. */
static void measure_after_change(const struct config *cfg, struct results *res)
{
	char *desc = at(FS_IPAMFS, "scopes/private/pools/t09/description");
	struct subject s[] = {
		SUBJECT("stat", op_stat, at(FS_IPAMFS, STAT_PATH)),
		SUBJECT("cat", op_cat, at(FS_IPAMFS, STATUS_PATH)),
		SUBJECT("cat", op_cat, at(FS_IPAMFS, SMALL_STATUS_PATH)),
	};
	_Static_assert(sizeof(s) == sizeof(res->after), "subjects");
	for (int i = 0; i < 3; i++) {
		double sum = 0;
		for (long k = 0; k < cfg->changes; k++) {
			char line[32];
			int len =
				snprintf(line, sizeof(line), "change %ld\n", k);
			double t0;
			long requests;
			write_file(desc, line, (size_t)len);
			requests = requests_sent();
			t0 = now();
			s[i].fn(s[i].arg);
			sum += now() - t0;
			s[i].requests += requests_sent() - requests;
		}
		s[i].seconds = sum / (double)cfg->changes;
		s[i].calls = cfg->changes;
	}
	memcpy(res->after, s, sizeof(s));
}

/* 5. Allocations through the mount (allocate, and mkdir as context) and
 * in the core on a copy of the database, alternating; then checks that
 * the mount made exactly as many as it reported. */
static void measure_allocations(const struct config *cfg, const char *core_path,
				struct results *res)
{
	ipam_open_opts opts = {0};
	ipam_scope_info scope;
	ipam_err err = {0};
	struct core_arg core = {0};
	struct mkdir_arg mk = {
		at(FS_IPAMFS, "scopes/private/pools/t03/allocations"), 0};
	long count;

	check(ipam_open(&core.db, core_path, &opts, &err), &err, core_path);
	check(ipam_scope_get(core.db, "private", &scope, &err), &err, "scope");
	check(ipam_pool_lookup(core.db, scope.key, 0, "t02", &core.pool, &err),
	      &err, "t02");
	struct subject s[] = {
		SUBJECT("ipamfs", op_allocate,
			at(FS_IPAMFS, "scopes/private/pools/t02/allocate")),
		SUBJECT("core", op_core_alloc, &core),
		SUBJECT("ipamfs", op_mkdir, &mk),
		SUBJECT("core", op_core_alloc_kept, &core),
		SUBJECT("ipamfs-kept", op_allocate,
			at(FS_IPAMFS_KEPT,
			   "scopes/private/pools/t02/allocate")),
	};
	_Static_assert(sizeof(s) == sizeof(res->alloc), "subjects");
	measure(s, 5, cfg->mount_allocs / ROUNDS, 0.0, 0);
	ipam_free(core.db);
	memcpy(res->alloc, s, sizeof(s));

	count = status_count(at(FS_IPAMFS, "scopes/private/pools/t02/status"));
	if (count != CHILDREN + s[0].calls)
		die("t02 has %ld allocations after %ld through the mount",
		    count, s[0].calls);
	count = status_count(
		at(FS_IPAMFS_KEPT, "scopes/private/pools/t02/status"));
	if (count != CHILDREN + s[4].calls)
		die("ipamfs-kept t02 has %ld allocations after %ld", count,
		    s[4].calls);
}

/* ---- the report ---- */

static void print_target(const char *what, double value, double baseline,
			 const char *baseline_name, double limit, bool at_most,
			 bool rate)
{
	char v[32], b[64], limit_text[16];
	/* For a rate the ratio is value/baseline of calls per second. */
	double ratio = rate ? baseline / value : value / baseline;
	bool pass = at_most ? ratio <= limit : ratio >= limit;
	if (rate) {
		snprintf(v, sizeof(v), "%.0f/s", 1.0 / value);
		snprintf(b, sizeof(b), "%s %.0f/s", baseline_name,
			 1.0 / baseline);
	} else {
		char t[32];
		fmt_time(v, sizeof(v), value);
		snprintf(b, sizeof(b), "%s %s", baseline_name,
			 fmt_time(t, sizeof(t), baseline));
	}
	snprintf(limit_text, sizeof(limit_text), "%s %g",
		 at_most ? "<=" : ">=", limit);
	printf("%-42s %-11s %-22s %8.2f  %-7s %s\n", what, v, b, ratio,
	       limit_text, pass ? "PASS" : "MISS");
}

static void print_targets(const struct config *cfg, const struct results *r)
{
	char ls[64], cat[64];
	snprintf(ls, sizeof(ls), "cold ls -l allocations/ (%ld entries)",
		 cfg->listed);
	snprintf(cat, sizeof(cat), "cat status (%ld allocations)", cfg->big);
	printf("%-42s %-11s %-22s %8s  %-7s %s\n", "target", "ipamfs",
	       "baseline", "ratio", "target", "result");
	print_target("hot stat (7 components)", r->stat[0].seconds,
		     r->stat[1].seconds, "tmpfs", 1.5, true, false);
	print_target(ls, r->cold[FS_IPAMFS].seconds, r->cold[FS_TMPFS].seconds,
		     "tmpfs", 3.0, true, false);
	print_target(cat, r->cat[0].seconds, r->cat[1].seconds, "minifs", 2.0,
		     true, false);
	/* The core at its best: freed memory kept, as alloc_bench runs it
	 * (with glibc's defaults it is slower: see the context). */
	print_target("allocations/s through the mount", r->alloc[0].seconds,
		     r->alloc[3].seconds, "core", 0.3, false, true);
}

/* One line of context: time per call, calls, FUSE requests per call. */
static void print_row(const char *what, double seconds, long calls,
		      long requests)
{
	char t[32];
	printf("  %-58s %10s", what, fmt_time(t, sizeof(t), seconds));
	if (request_counter >= 0 && calls > 0)
		printf(" %7.1f", (double)requests / (double)calls);
	if (calls > 0)
		printf("  (%ld)", calls);
	printf("\n");
}

static void print_subject(const char *what, const struct subject *s)
{
	print_row(what, s->seconds, s->calls, s->requests);
}

static void print_ls(const char *what, const struct ls_result *r)
{
	print_row(what, r->seconds, r->entries, r->requests);
}

static void print_rate(const char *what, const struct subject *s)
{
	char t[32];
	printf("  %-58s %10s", what, fmt_time(t, sizeof(t), s->seconds));
	if (request_counter >= 0)
		printf(" %7.1f", (double)s->requests / (double)s->calls);
	printf("  (%ld)  %.0f/s\n", s->calls, 1.0 / s->seconds);
}

static void print_context(const struct config *cfg, const struct results *r)
{
	static const char *const fs_name[FS_COUNT] = {"ipamfs", "tmpfs",
						      "minifs", "minifs-nc"};
	char what[96];

	printf("\ncontext: medians of %d rounds (ls -l: of %d passes); "
	       "minifs = libfuse defaults (1 s timeouts),\nminifs-nc = "
	       "timeouts 0 (nothing cached); req = FUSE requests per call "
	       "(per entry for ls), (N) = calls (entries)\n",
	       ROUNDS, LS_ROUNDS);
	printf("  %-58s %10s %7s\n", "", "time",
	       request_counter >= 0 ? "req" : "");
	printf(" ls -l of a %ld-entry directory 5 components deep "
	       "(readdir, lstat DIR/NAME):\n",
	       cfg->listed);
	for (int f = 0; f < FS_COUNT; f++) {
		snprintf(what, sizeof(what), "%s first pass", fs_name[f]);
		print_ls(what, &r->cold[f]);
	}
	for (int f = 0; f < FS_COUNT; f++) {
		snprintf(what, sizeof(what), "%s later passes", fs_name[f]);
		print_ls(what, &r->warm[f]);
	}
	print_ls("ipamfs later passes, fstatat(DIR, NAME) = `cd DIR; ls -l`",
		 &r->warm_at[0]);
	print_ls("tmpfs later passes, fstatat(DIR, NAME)", &r->warm_at[1]);

	printf(" hot stat:\n");
	print_subject("ipamfs " STAT_PATH, &r->stat[0]);
	print_subject("tmpfs, the same path", &r->stat[1]);
	print_subject("minifs d/d/d/d/d/d/small (7 components)", &r->stat[2]);
	print_subject("minifs-nc, the same path", &r->stat[3]);
	print_subject("ipamfs ipam/tier (2 components)", &r->stat[4]);
	print_subject("tmpfs ipam/tier", &r->stat[5]);
	print_subject("minifs-nc d/small (2 components)", &r->stat[6]);

	printf(" cat (open, read to end of file, close):\n");
	snprintf(what, sizeof(what),
		 "ipamfs t00/status, first read (%ld bytes)", r->status_size);
	print_row(what, r->status_first, 1, r->status_first_requests);
	print_subject("ipamfs t00/status, again (5 components)", &r->cat[0]);
	snprintf(what, sizeof(what),
		 "minifs d/d/d/d/small (%d bytes, 5 components)", SMALL_SIZE);
	print_subject(what, &r->cat[1]);
	print_subject("minifs-nc, the same path", &r->cat[2]);
	print_subject("tmpfs copy of t00/status", &r->cat[3]);
	print_subject("minifs small (1 component)", &r->cat[4]);
	print_subject("ipamfs t05/pools/c42/status (no allocations)",
		      &r->cat[5]);

	printf(" ipamfs right after a change (a description written before "
	       "each; mean):\n");
	print_subject("stat " STAT_PATH, &r->after[0]);
	print_subject("cat t00/status", &r->after[1]);
	print_subject("cat t05/pools/c42/status", &r->after[2]);

	printf(" allocations of a /32, one transaction each:\n");
	print_rate("ipamfs echo /32 > t02/allocate", &r->alloc[0]);
	print_rate("core ipam_alloc_create, t02 of a copy, freed memory kept",
		   &r->alloc[3]);
	print_rate("core, the same with glibc's malloc defaults", &r->alloc[1]);
	print_rate("ipamfs mkdir t03/allocations/NAME", &r->alloc[2]);
	print_rate("ipamfs, daemon keeping freed memory (GLIBC_TUNABLES)",
		   &r->alloc[4]);
}

/* ---- main ---- */

static void parse_args(int argc, char **argv, struct config *cfg,
		       const char **base, const char **shm, char *ipamfs,
		       char *minifs)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			cfg->quick = true;
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			*base = argv[++i];
		else if (!strcmp(argv[i], "--tmpfs") && i + 1 < argc)
			*shm = argv[++i];
		else if (!strcmp(argv[i], "--ipamfs") && i + 1 < argc)
			snprintf(ipamfs, PATH_MAX, "%s", argv[++i]);
		else if (!strcmp(argv[i], "--minifs") && i + 1 < argc)
			snprintf(minifs, PATH_MAX, "%s", argv[++i]);
		else if (!strcmp(argv[i], "--cpu") && i + 1 < argc)
			cfg->cpu = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--make-db") && i + 1 < argc)
			cfg->make_db = argv[++i];
		else {
			fprintf(stderr,
				"usage: %s [--quick] [--cpu N] [--dir DIR] "
				"[--tmpfs DIR] [--ipamfs PATH]\n"
				"       [--minifs PATH]\n"
				"       %s [--quick] --make-db FILE\n",
				argv[0], argv[0]);
			exit(2);
		}
	}
	if (cfg->quick) {
		cfg->tops = 10;
		cfg->big = 10000;
		cfg->listed = 1000;
		cfg->mount_allocs = 1000;
		cfg->changes = 20;
		cfg->watchdog = 300;
	} else {
		cfg->tops = 100;
		cfg->big = 100000;
		cfg->listed = 10000;
		cfg->mount_allocs = 3000;
		cfg->changes = 50;
		cfg->watchdog = 1800;
	}
}

/* The work directory (databases, mount points) and the tmpfs
 * directory, both new. */
static void make_dirs(const char *base, const char *shm)
{
	static const char *const names[M_COUNT] = {"ipamfs", "minifs",
						   "minifs-nc", "ipamfs-kept"};
	struct statfs sfs;
	snprintf(work_dir, sizeof(work_dir), "%s/ipam-mount-bench-XXXXXX",
		 base);
	if (!mkdtemp(work_dir))
		die("mkdtemp %s: %s", work_dir, strerror(errno));
	snprintf(tmpfs_dir, sizeof(tmpfs_dir), "%s/ipam-mount-bench-XXXXXX",
		 shm);
	if (!mkdtemp(tmpfs_dir))
		die("mkdtemp %s: %s", tmpfs_dir, strerror(errno));
	if (statfs(tmpfs_dir, &sfs) || sfs.f_type != TMPFS_MAGIC)
		fprintf(stderr, "mount_bench: warning: %s is not tmpfs\n",
			tmpfs_dir);
	for (int i = 0; i < M_COUNT; i++) {
		pathf(mounts[i].path, PATH_MAX, "%s/%s", work_dir, names[i]);
		pathf(mounts[i].log, sizeof(mounts[i].log), "%s.log",
		      mounts[i].path);
		make_dir(mounts[i].path);
	}
	fs_root[FS_IPAMFS] = mounts[M_IPAMFS].path;
	fs_root[FS_TMPFS] = tmpfs_dir;
	fs_root[FS_MINIFS] = mounts[M_MINIFS].path;
	fs_root[FS_MINIFS_NC] = mounts[M_MINIFS_NC].path;
	fs_root[FS_IPAMFS_KEPT] = mounts[M_IPAMFS_KEPT].path;
}

/*
 * ipamfs on the database, minifs with the defaults and with timeouts 0,
 * and ipamfs on a copy of the database with glibc told to keep freed
 * memory as alloc_bench does (only its allocation rate is measured).
 */
static void mount_all(const struct config *cfg, char *ipamfs, char *minifs,
		      char *db_path, char *kept_db_path)
{
	static char tunables[] = "GLIBC_TUNABLES=glibc.malloc.trim_threshold="
				 "268435456:glibc.malloc.top_pad=16777216";
	char opts[64];
	char *ipam_argv[] = {ipamfs, "-f", db_path, mounts[M_IPAMFS].path,
			     NULL};
	char *mini_argv[] = {minifs, "-f", "-o", opts, mounts[M_MINIFS].path,
			     NULL};
	char *nc_argv[] = {minifs,
			   "-f",
			   "-o",
			   opts,
			   "-o",
			   "entry_timeout=0,attr_timeout=0,negative_timeout=0",
			   mounts[M_MINIFS_NC].path,
			   NULL};
	char *kept_argv[] = {ipamfs, "-f", kept_db_path,
			     mounts[M_IPAMFS_KEPT].path, NULL};
	snprintf(opts, sizeof(opts), "entries=%ld,size=%d", cfg->listed,
		 SMALL_SIZE);
	mount_fs(&mounts[M_IPAMFS], ipam_argv, NULL);
	mount_fs(&mounts[M_MINIFS], mini_argv, NULL);
	mount_fs(&mounts[M_MINIFS_NC], nc_argv, NULL);
	mount_fs(&mounts[M_IPAMFS_KEPT], kept_argv, tunables);
}

int main(int argc, char **argv)
{
	struct config cfg = {.cpu = -1};
	const char *base = "/tmp", *shm = "/dev/shm";
	char ipamfs[PATH_MAX], minifs[PATH_MAX];
	char db_path[PATH_MAX + 16], core_path[PATH_MAX + 16];
	char kept_path[PATH_MAX + 16];
	static struct results res;
	char load[64];
	struct tree tree;
	double t0, t_start = now(), tmpfs_seconds, mount_seconds;

	sibling_program(ipamfs, sizeof(ipamfs), "fs/ipamfs");
	sibling_program(minifs, sizeof(minifs), "bench/minifs");
	parse_args(argc, argv, &cfg, &base, &shm, ipamfs, minifs);
	if (cfg.make_db) {
		/* The tree alone, e.g. to profile `ipamfs -f` on it. */
		keep_freed_memory(true);
		build_db(&cfg, cfg.make_db, &tree);
		printf("%s: %d pools, %ld allocations\n", cfg.make_db,
		       cfg.tops * (CHILDREN + 1), tree.total_allocs);
		free_tree(&tree);
		return 0;
	}
	if (access(ipamfs, X_OK) || access(minifs, X_OK))
		die("cannot run %s or %s (--ipamfs, --minifs)", ipamfs, minifs);
	if (access("/dev/fuse", R_OK | W_OK))
		die("no /dev/fuse");
	find_fusermount();
	if (cfg.cpu >= 0) {
		/* The daemons, forked from here, inherit it. */
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cfg.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			die("cpu %d: %s", cfg.cpu, strerror(errno));
	}
	open_request_counter();
	setvbuf(stdout, NULL, _IOLBF, 0);
	install_handlers();
	alarm(cfg.watchdog);
	make_dirs(base, shm);
	snprintf(db_path, sizeof(db_path), "%s/ipam.db", work_dir);
	snprintf(core_path, sizeof(core_path), "%s/core.db", work_dir);
	snprintf(kept_path, sizeof(kept_path), "%s/kept.db", work_dir);

	printf("ipamfs mount bench%s: %ld CPUs online, %s, load average "
	       "%s\nbuilding %d pools...\n",
	       cfg.quick ? " --quick" : "", sysconf(_SC_NPROCESSORS_ONLN),
	       cfg.cpu >= 0 ? "all on one CPU (--cpu)" : "not pinned",
	       load_average(load, sizeof(load)), cfg.tops * (CHILDREN + 1));
	keep_freed_memory(true);
	build_db(&cfg, db_path, &tree);
	copy_file(db_path, core_path);
	copy_file(db_path, kept_path);
	tmpfs_seconds = build_tmpfs(&tree, tmpfs_dir);
	keep_freed_memory(false);
	t0 = now();
	mount_all(&cfg, ipamfs, minifs, db_path, kept_path);
	mount_seconds = now() - t0;
	printf("tree: %d pools (%d top-level, %d children each), %ld "
	       "allocations (t00/allocations/ %ld entries, t01/allocations/ "
	       "%ld);\nbuilt with the core API (pools %.1f s, allocations "
	       "%.1f s), on tmpfs in %.1f s; 4 mounts in %.2f s\n\n",
	       cfg.tops * (CHILDREN + 1), cfg.tops, CHILDREN, tree.total_allocs,
	       cfg.big, cfg.listed, tree.pool_seconds, tree.fill_seconds,
	       tmpfs_seconds, mount_seconds);

	measure_ls(&cfg, &res);
	measure_stat(&res);
	measure_cat(&res);
	measure_after_change(&cfg, &res);
	measure_allocations(&cfg, core_path, &res);

	print_targets(&cfg, &res);
	print_context(&cfg, &res);
	printf("\ntotal run time %.0f s, load average %s\n", now() - t_start,
	       load_average(load, sizeof(load)));
	free_paths();
	free_tree(&tree);
	unmount_all(); /* the daemons' last words, e.g. a sanitizer's */
	show_daemon_logs();
	return 0;
}
