/*
 * test_io.c - storage failures (after SQLite's own I/O error tests).
 *
 * ipam_open takes no VFS name, so this executable registers a shim as the
 * DEFAULT SQLite VFS: it wraps the real one ("unix") and, once armed,
 * fails the N-th xWrite/xSync/xTruncate (once, or that one and all later
 * ones). For each operation N runs upward on a copy of the same file
 * database until a run meets no failure. Every run must fail with
 * IPAM_EIO (or IPAM_ENOMEM) and leave the database as it was - seen from
 * the same handle, after reopening with the real VFS, and in a "crash
 * image" (the database and WAL files copied at the moment of the failure,
 * as a power cut would leave them) - or succeed with the state of an
 * undisturbed run. PRAGMA integrity_check (ipam_check) must pass on every
 * file. A failing checkpoint at close, and a failing creation of a new
 * database, are tested the same way.
 */
#include <sqlite3.h>
#include <sys/stat.h>

#include "fixture.h"

/* ---- the shim ---- */

typedef struct shim_file {
	sqlite3_file base;
	sqlite3_file *real; /* follows this struct in the same block */
} shim_file;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;
static long io_count, io_fail_at, io_failures;
static bool io_persistent;
static bool io_sync_failed; /* the first failure was an xSync */
static bool io_reads;	    /* count (and fail) reads instead of writes */

static bool io_should_fail(void)
{
	if (!io_fail_at)
		return false;
	io_count++;
	if (io_count == io_fail_at ||
	    (io_persistent && io_count > io_fail_at)) {
		io_failures++;
		return true;
	}
	return false;
}

static void io_arm(long n, bool keep_failing)
{
	io_reads = false;
	io_sync_failed = false;
	io_count = 0;
	io_failures = 0;
	io_persistent = keep_failing;
	io_fail_at = n;
}

/* The same for reads: with a cold page cache, reads happen in the middle
 * of a transaction. */
static void io_arm_reads(long n, bool keep_failing)
{
	io_arm(n, keep_failing);
	io_reads = true;
}

static void io_disarm(void)
{
	io_fail_at = 0;
	io_reads = false;
}

#define REAL(f) (((shim_file *)(f))->real)

/* Opens without PRAGMA quick_check, which would read every page into the
 * cache: the operations under test must read from the file. */
static ipam *open_cold(const char *path)
{
	ipam_open_opts opts = fixture_opts();
	ipam_err err = {0};
	ipam *db = NULL;
	opts.create = false;
	opts.skip_check = true;
	if (ipam_open(&db, path, &opts, &err) != 0)
		fail_msg("ipam_open(%s): %s", path, err.msg);
	return db;
}

static int shim_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int shim_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	if (io_reads && io_should_fail())
		return SQLITE_IOERR_READ;
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int shim_write(sqlite3_file *f, const void *buf, int n,
		      sqlite3_int64 off)
{
	if (!io_reads && io_should_fail())
		return SQLITE_IOERR_WRITE;
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int shim_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	if (!io_reads && io_should_fail())
		return SQLITE_IOERR_TRUNCATE;
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int shim_sync(sqlite3_file *f, int flags)
{
	if (!io_reads && io_should_fail()) {
		if (io_failures == 1)
			io_sync_failed = true;
		return SQLITE_IOERR_FSYNC;
	}
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

#include "vfs_forward.h"

static int shim_device_characteristics(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int shim_shm_map(sqlite3_file *f, int page, int size, int extend,
			void volatile **out)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), page, size, extend, out);
}

static int shim_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void shim_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int shim_shm_unmap(sqlite3_file *f, int delete_flag)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag);
}

static int shim_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, out);
}

static int shim_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods shim_methods = {
	.iVersion = 3,
	.xClose = shim_close,
	.xRead = shim_read,
	.xWrite = shim_write,
	.xTruncate = shim_truncate,
	.xSync = shim_sync,
	.xFileSize = shim_file_size,
	.xLock = shim_lock,
	.xUnlock = shim_unlock,
	.xCheckReservedLock = shim_check_reserved,
	.xFileControl = shim_file_control,
	.xSectorSize = shim_sector_size,
	.xDeviceCharacteristics = shim_device_characteristics,
	.xShmMap = shim_shm_map,
	.xShmLock = shim_shm_lock,
	.xShmBarrier = shim_shm_barrier,
	.xShmUnmap = shim_shm_unmap,
	.xFetch = shim_fetch,
	.xUnfetch = shim_unfetch,
};

static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file,
		     int flags, int *out_flags)
{
	shim_file *f = (shim_file *)file;
	int rc;
	(void)vfs;
	f->real = (sqlite3_file *)(f + 1);
	memset(f->real, 0, (size_t)real_vfs->szOsFile);
	rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
	f->base.pMethods = f->real->pMethods ? &shim_methods : NULL;
	return rc;
}

static void install_shim(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	if (!real_vfs || real_vfs->iVersion < 2) {
		fprintf(stderr, "no usable default VFS\n");
		exit(1);
	}
	shim_vfs = *real_vfs;
	shim_vfs.zName = "faulty";
	shim_vfs.szOsFile = (int)sizeof(shim_file) + real_vfs->szOsFile;
	shim_vfs.xOpen = shim_open;
	shim_vfs.pNext = NULL;
}

/* Which VFS ipam_open will use. */
static void use_shim(bool on)
{
	sqlite3_vfs_register(on ? &shim_vfs : real_vfs, 1);
}

/* The next N of a loop: all of them, or under the sanitizers (where
 * each run is much slower) all up to 8, then every third. */
static long next_n(long n)
{
	return fixture_next_n(n, FIXTURE_SLOW ? 8 : 1000000, 3, 0);
}

/* ---- files ---- */

static char dir[64];
static int test_number; /* files of one test never meet another's */

static void path_of(char *out, const char *name)
{
	snprintf(out, 256, "%s/%d-%s", dir, test_number, name);
}

static void remove_db(const char *path)
{
	char p[300];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static void copy_file(const char *from, const char *to)
{
	size_t n;
	unsigned char *data = file_bytes(from, &n);
	if (!data) {
		unlink(to);
		return;
	}
	write_bytes(to, data, n);
	free(data);
}

/* The database and its WAL as they are on disk right now. */
static void crash_image(const char *from, const char *to)
{
	char a[300], b[300];
	remove_db(to);
	copy_file(from, to);
	snprintf(a, sizeof(a), "%s-wal", from);
	snprintf(b, sizeof(b), "%s-wal", to);
	copy_file(a, b);
}

/* ---- the scenario ---- */

typedef struct world {
	ipam *db;
	int64_t pools[3]; /* top, a, b */
} world;

static void build(world *w, const char *path, bool big)
{
	int64_t priv;
	remove_db(path);
	w->db = open_file(path, true);
	priv = scope_key(w->db, "private");
	w->pools[0] = mktop(w->db, "top");
	w->pools[1] = mkpool(w->db, priv, w->pools[0], "a");
	w->pools[2] = mkpool(w->db, priv, w->pools[0], "b");
	prov_ok(w->db, w->pools[0], "10.0.0.0/8");
	prov_ok(w->db, w->pools[1], "10.1.0.0/16");
	alloc_ok(w->db, w->pools[1], "x", 24);
	alloc_ok(w->db, w->pools[1], "y", 26);
	/* enough rows that one call does not bring every page into the
	 * cache: later calls still read from the file */
	if (big) {
		ipam_err err = {0};
		int64_t filler = mkpool(w->db, priv, w->pools[0], "filler");
		char name[16];
		prov_ok(w->db, filler, "10.200.0.0/16");
		assert_ok(ipam_txn_begin(w->db, NULL, &err), err);
		for (int i = 0; i < 400; i++) {
			snprintf(name, sizeof(name), "f%d", i);
			alloc_ok(w->db, filler, name, 32);
			alloc_ok(w->db, w->pools[1], name, 30);
		}
		assert_ok(ipam_txn_commit(w->db, &err), err);
	}
}

static char *world_digest(world *w)
{
	return digest_light(w->db, w->pools, 3);
}

/* Opens `path` read back through the real VFS and returns its digest;
 * the file must pass the integrity check. */
static char *digest_of_file(const char *path, const int64_t *pools)
{
	world w;
	ipam_err err = {0};
	char *d;
	use_shim(false);
	w.db = open_file(path, false);
	memcpy(w.pools, pools, sizeof(w.pools));
	assert_ok(ipam_check(w.db, &err), err);
	d = world_digest(&w);
	ipam_free(w.db);
	use_shim(true);
	return d;
}

typedef int (*op_fn)(world *w, ipam_err *err);

static int op_alloc(world *w, ipam_err *err)
{
	return alloc(w->db, w->pools[1], "z", 20, NULL, NULL, err);
}

static int op_transaction(world *w, ipam_err *err)
{
	int rc = ipam_txn_begin(w->db, NULL, err);
	if (rc)
		return rc;
	if ((rc = prov(w->db, w->pools[2], "10.2.0.0/16", err)) ||
	    (rc = alloc(w->db, w->pools[2], "t", 24, NULL, NULL, err)) ||
	    (rc = ipam_alloc_release(w->db, w->pools[1], "y", err)) ||
	    (rc = ipam_pool_set_netmask(w->db, w->pools[1], IPAM_NETMASK_MAX,
					25, err))) {
		ipam_txn_rollback(w->db);
		return rc;
	}
	return ipam_txn_commit(w->db, err);
}

static const struct {
	const char *name;
	op_fn op;
} ops[] = {
	{"allocate", op_alloc},
	{"transaction", op_transaction},
};

static void first_difference(const char *a, const char *b, char *out,
			     size_t size)
{
	size_t i = 0, line;
	while (a[i] && a[i] == b[i])
		i++;
	line = i;
	while (line > 0 && a[line - 1] != '\n')
		line--;
	snprintf(out, size, "want '%.*s' got '%.*s'",
		 (int)strcspn(a + line, "\n"), a + line,
		 (int)strcspn(b + line, "\n"), b + line);
}

#define EXPECT_SAME(want, got, ...)                                            \
	do {                                                                   \
		if (strcmp((want), (got))) {                                   \
			char diff_[1024];                                      \
			first_difference((want), (got), diff_, sizeof(diff_)); \
			fail_msg(__VA_ARGS__);                                 \
		}                                                              \
	} while (0)

static void run_op(size_t which, bool keep_failing, bool reads)
{
	char base[256], work[256], crash[256];
	const char *name = ops[which].name;
	world w;
	ipam_err err = {0};
	char *before, *after, *now;
	const char *want;
	int64_t pools[3];
	long n, failed = 0;

	path_of(base, "base.db");
	path_of(work, "work.db");
	path_of(crash, "crash.db");
	use_shim(false);
	build(&w, base, false);
	memcpy(pools, w.pools, sizeof(pools));
	ipam_free(w.db);
	copy_file(base, work);
	w.db = open_cold(work);
	before = world_digest(&w);
	assert_ok(ops[which].op(&w, &err), err);
	after = world_digest(&w);
	ipam_free(w.db);
	use_shim(true);

	for (n = 1; n < 10000; n = next_n(n)) {
		int rc;
		remove_db(work);
		copy_file(base, work);
		w.db = open_cold(work);
		memcpy(w.pools, pools, sizeof(pools));
		memset(&err, 0, sizeof(err));
		if (reads)
			io_arm_reads(n, keep_failing);
		else
			io_arm(n, keep_failing);
		rc = ops[which].op(&w, &err);
		io_disarm();
		crash_image(work, crash);
		if (io_failures == 0) {
			assert_ok(rc, err);
			ipam_free(w.db);
			break;
		}
		if (rc) {
			failed++;
			if (rc != IPAM_EIO && rc != IPAM_ENOMEM)
				fail_msg("%s: write %ld failed: got %s (%s)",
					 name, n, ipam_code_name(rc), err.msg);
		}
		/* the same handle */
		now = world_digest(&w);
		EXPECT_SAME(rc ? before : after, now,
			    "%s: write/sync %ld failed (%s), the handle "
			    "shows: %s",
			    name, n, rc ? ipam_code_name(rc) : "succeeded",
			    diff_);
		free(now);
		ipam_free(w.db);
		/* reopened with the real VFS */
		now = digest_of_file(work, pools);
		EXPECT_SAME(rc ? before : after, now,
			    "%s: write/sync %ld failed (%s), the file then "
			    "shows: %s",
			    name, n, rc ? ipam_code_name(rc) : "succeeded",
			    diff_);
		free(now);
		/* as a power cut would have left it. A commit whose WAL sync
		 * failed (synchronous=FULL syncs at every commit) is reported
		 * failed, but its frames were written: whether they reached
		 * the disk is unknown, so the image may show it done, never a
		 * part of it. */
		now = digest_of_file(crash, pools);
		want = rc ? before : after;
		if (rc && io_sync_failed && strcmp(now, after) == 0)
			want = after;
		EXPECT_SAME(want, now,
			    "%s: write/sync %ld failed (%s), the crash image "
			    "shows: %s",
			    name, n, rc ? ipam_code_name(rc) : "succeeded",
			    diff_);
		free(now);
	}
	use_shim(false);
	assert_true(n > 1);
	assert_true(failed > 0);
	free(before);
	free(after);
}

static void test_io_failure_once(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		run_op(i, false, false);
}

static void test_io_failure_persistent(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		run_op(i, true, false);
}

static void test_io_read_failure(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		run_op(i, false, true);
		run_op(i, true, true);
	}
}

/*
 * A call that fails on a read error inside an explicit transaction undoes
 * only itself (ipam.h): the calls before it stay, later calls join the
 * same transaction, and the caller's commit applies exactly those. Where
 * that cannot be kept, the transaction must fail as a whole: the later
 * calls or the commit fail and nothing of it is applied. Never a part.
 */
static void test_io_read_failure_inside_transaction(void **state)
{
	char base[256], work[256];
	world w;
	ipam_err err = {0};
	char *want, *before, *now;
	int64_t pools[3];
	long n, failed = 0;
	(void)state;

	path_of(base, "base.db");
	path_of(work, "work.db");
	use_shim(false);
	build(&w, base, true);
	memcpy(pools, w.pools, sizeof(pools));
	ipam_free(w.db);
	copy_file(base, work);
	w.db = open_cold(work);
	before = world_digest(&w);
	assert_ok(ipam_txn_begin(w.db, NULL, &err), err);
	assert_ok(prov(w.db, w.pools[2], "10.2.0.0/16", &err), err);
	assert_ok(ipam_alloc_release(w.db, w.pools[1], "y", &err), err);
	assert_ok(ipam_txn_commit(w.db, &err), err);
	want = world_digest(&w);
	ipam_free(w.db);

	use_shim(true);
	for (n = 1; n < 10000; n = next_n(n)) {
		int rc, rc3, commit;
		const char *expect;
		remove_db(work);
		copy_file(base, work);
		w.db = open_cold(work);
		memcpy(w.pools, pools, sizeof(pools));
		assert_ok(ipam_txn_begin(w.db, NULL, &err), err);
		assert_ok(prov(w.db, w.pools[2], "10.2.0.0/16", &err), err);
		io_arm_reads(n, false);
		rc = alloc(w.db, w.pools[1], "z", 20, NULL, NULL, &err);
		io_disarm();
		memset(&err, 0, sizeof(err));
		if (io_failures == 0) {
			assert_ok(rc, err);
			ipam_txn_rollback(w.db);
			ipam_free(w.db);
			break;
		}
		if (rc == 0) {
			/* it got over the failure: nothing to see */
			ipam_txn_rollback(w.db);
			ipam_free(w.db);
			continue;
		}
		failed++;
		rc3 = ipam_alloc_release(w.db, w.pools[1], "y", &err);
		commit = ipam_txn_commit(w.db, &err);
		expect = rc3 == 0 && commit == 0 ? want : before;
		now = world_digest(&w);
		EXPECT_SAME(expect, now,
			    "read %ld failed inside a transaction; the next "
			    "call %s, the commit %s, and the handle shows: %s",
			    n, rc3 ? "failed" : "worked",
			    commit ? "failed" : "worked", diff_);
		free(now);
		ipam_free(w.db);
		now = digest_of_file(work, pools);
		EXPECT_SAME(expect, now,
			    "read %ld failed inside a transaction; the next "
			    "call %s, the commit %s, and the file shows: %s",
			    n, rc3 ? "failed" : "worked",
			    commit ? "failed" : "worked", diff_);
		free(now);
	}
	use_shim(false);
	assert_true(n > 1);
	assert_true(failed > 0);
	free(want);
	free(before);
}

/* After a storage failure the handle goes on working once the disk
 * does. */
static void test_io_handle_recovers(void **state)
{
	char base[256], work[256];
	world w;
	ipam_err err = {0};
	char *after, *now;
	int64_t pools[3];
	(void)state;

	path_of(base, "base.db");
	path_of(work, "work.db");
	use_shim(false);
	build(&w, base, false);
	memcpy(pools, w.pools, sizeof(pools));
	ipam_free(w.db);
	copy_file(base, work);
	w.db = open_cold(work);
	assert_ok(op_transaction(&w, &err), err);
	assert_ok(op_alloc(&w, &err), err);
	after = world_digest(&w);
	ipam_free(w.db);

	use_shim(true);
	for (long n = 1; n < 10000; n = next_n(n)) {
		int rc1, rc2;
		remove_db(work);
		copy_file(base, work);
		w.db = open_cold(work);
		memcpy(w.pools, pools, sizeof(pools));
		io_arm(n, true);
		rc1 = op_transaction(&w, &err);
		io_disarm();
		memset(&err, 0, sizeof(err));
		if (io_failures == 0) {
			assert_ok(rc1, err);
			ipam_free(w.db);
			break;
		}
		if (rc1 && (rc1 = op_transaction(&w, &err)))
			fail_msg("write %ld failed; with the disk back the "
				 "transaction fails again: %s",
				 n, err.msg);
		rc2 = op_alloc(&w, &err);
		if (rc2)
			fail_msg("write %ld failed; with the disk back an "
				 "allocation fails: %s",
				 n, err.msg);
		now = world_digest(&w);
		assert_string_equal(now, after);
		free(now);
		ipam_free(w.db);
		now = digest_of_file(work, pools);
		assert_string_equal(now, after);
		free(now);
	}
	use_shim(false);
	free(after);
}

/* Committed changes survive a checkpoint that fails when the handle is
 * closed. */
static void test_io_failing_checkpoint_at_close(void **state)
{
	char base[256], work[256];
	world w;
	ipam_err err = {0};
	char *after = NULL, *now;
	int64_t pools[3];
	long n;
	(void)state;

	path_of(base, "base.db");
	path_of(work, "work.db");
	use_shim(false);
	build(&w, base, false);
	memcpy(pools, w.pools, sizeof(pools));
	ipam_free(w.db);

	use_shim(true);
	for (n = 1; n < 10000; n = next_n(n)) {
		remove_db(work);
		copy_file(base, work);
		w.db = open_cold(work);
		memcpy(w.pools, pools, sizeof(pools));
		assert_ok(op_transaction(&w, &err), err);
		if (!after)
			after = world_digest(&w);
		io_arm(n, false);
		ipam_free(w.db);
		io_disarm();
		now = digest_of_file(work, pools);
		assert_string_equal(now, after);
		free(now);
		if (io_failures == 0)
			break;
	}
	use_shim(false);
	assert_true(n > 1);
	free(after);
}

/* A creation that fails leaves nothing that a second try cannot use. */
static void test_io_failing_creation(void **state)
{
	char path[256];
	long n;
	(void)state;

	path_of(path, "new.db");
	use_shim(true);
	for (n = 1; n < 10000; n = next_n(n)) {
		ipam_open_opts opts = fixture_opts();
		ipam_err err = {0};
		ipam *db = NULL;
		int rc;
		remove_db(path);
		io_arm(n, false);
		rc = ipam_open(&db, path, &opts, &err);
		io_disarm();
		if (io_failures == 0) {
			assert_ok(rc, err);
			ipam_free(db);
			break;
		}
		if (rc == 0) {
			ipam_free(db);
		} else {
			assert_null(db);
			if (rc != IPAM_EIO && rc != IPAM_ENOMEM)
				fail_msg("creation, write %ld failed: got %s "
					 "(%s)",
					 n, ipam_code_name(rc), err.msg);
		}
		/* a second try (or a reopen) gives a complete IPAM */
		db = open_file(path, true);
		{
			ipam_strlist scopes = {0};
			assert_ok(ipam_scope_list(db, &scopes, &err), err);
			assert_int_equal(scopes.count, 2);
			ipam_strlist_free(&scopes);
			assert_ok(ipam_check(db, &err), err);
		}
		ipam_free(db);
	}
	use_shim(false);
	assert_true(n > 1);
}

static int setup_dir(void **state)
{
	(void)state;
	tmp_dir(dir);
	return 0;
}

/* Each test: its own file names, and the real VFS as the default even
 * when the previous test stopped half-way. */
static int setup_test(void **state)
{
	(void)state;
	test_number++;
	io_disarm();
	use_shim(false);
	return 0;
}

static int remove_dir(void **state)
{
	(void)state;
	tmp_dir_remove(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_io_failure_once, setup_test),
		cmocka_unit_test_setup(test_io_failure_persistent, setup_test),
		cmocka_unit_test_setup(test_io_read_failure, setup_test),
		cmocka_unit_test_setup(test_io_read_failure_inside_transaction,
				       setup_test),
		cmocka_unit_test_setup(test_io_handle_recovers, setup_test),
		cmocka_unit_test_setup(test_io_failing_checkpoint_at_close,
				       setup_test),
		cmocka_unit_test_setup(test_io_failing_creation, setup_test),
	};
	install_shim();
	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
