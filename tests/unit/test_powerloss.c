/*
 * test_powerloss.c - acknowledged means durable (issue 8 §4).
 *
 * This executable registers a SQLite VFS shim as the default VFS (the way
 * test_io.c does): it wraps the real one ("unix") and keeps, for every
 * file, the image a power cut would leave -- the content as of the last
 * xSync of that file. Writes and truncations since then are recorded and
 * only applied to that durable image when the file is synced; a file never
 * synced does not survive at all.
 *
 * One run: a database at rest is opened through the shim, a workload of
 * allocations, releases and tag changes runs, and at a random cut point
 * (the N-th write, truncate or sync) the power goes: that call and every
 * later one fail, the handle is dropped, and every file is replaced by its
 * durable image (the -shm, never durable, is removed). The database then
 * reopens with the real VFS, PRAGMA integrity_check is ok, and every
 * change acknowledged before the cut is there (allocations with their
 * CIDR and tags, releases gone); of the change in flight, all or nothing.
 *
 * With synchronous=FULL (the default) this holds for every cut point. The
 * same runs with sync_normal must lose an acknowledged change at some cut
 * point (while staying consistent): the test can tell.
 */
#include <sqlite3.h>
#include <sys/stat.h>

#include "fixture.h"

/* ---- what a power cut leaves: per file, the image as of its last sync */

struct pending {
	sqlite3_int64 off; /* a write at off, or a truncation to off */
	size_t len;
	unsigned char *data; /* NULL: a truncation */
};

typedef struct track {
	char path[512];
	bool exists; /* the file survives a cut (it was synced once, or was
			there before the run) */
	unsigned char *image;
	size_t size, cap;
	struct pending *ops;
	size_t n_ops, cap_ops;
} track;

#define MAX_TRACKS 8
static track tracks[MAX_TRACKS];
static size_t n_tracks;

static void image_reserve(track *t, size_t size)
{
	if (size <= t->cap)
		return;
	size_t cap = t->cap ? t->cap : 65536;
	while (cap < size)
		cap *= 2;
	t->image = realloc(t->image, cap);
	assert_non_null(t->image);
	t->cap = cap;
}

static void image_write(track *t, sqlite3_int64 off, const void *data,
			size_t len)
{
	size_t end = (size_t)off + len;
	image_reserve(t, end);
	if ((size_t)off > t->size)
		memset(t->image + t->size, 0, (size_t)off - t->size);
	memcpy(t->image + off, data, len);
	if (end > t->size)
		t->size = end;
}

/* The track of `path`; the first time in a run, its durable image is what
 * the disk holds now. */
static track *track_of(const char *path)
{
	for (size_t i = 0; i < n_tracks; i++)
		if (!strcmp(tracks[i].path, path))
			return &tracks[i];
	assert_true(n_tracks < MAX_TRACKS);
	track *t = &tracks[n_tracks++];
	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", path);
	size_t n = 0;
	unsigned char *bytes = file_bytes(path, &n);
	if (bytes) {
		t->exists = true;
		image_write(t, 0, bytes, n);
		free(bytes);
	}
	return t;
}

static void track_record(track *t, sqlite3_int64 off, const void *data,
			 size_t len)
{
	if (t->n_ops == t->cap_ops) {
		t->cap_ops = t->cap_ops ? t->cap_ops * 2 : 64;
		t->ops = realloc(t->ops, t->cap_ops * sizeof(*t->ops));
		assert_non_null(t->ops);
	}
	struct pending *p = &t->ops[t->n_ops++];
	p->off = off;
	p->len = len;
	p->data = NULL;
	if (data) {
		p->data = malloc(len ? len : 1);
		assert_non_null(p->data);
		memcpy(p->data, data, len);
	}
}

/* xSync: what was written reaches the durable image. */
static void track_sync(track *t)
{
	for (size_t i = 0; i < t->n_ops; i++) {
		struct pending *p = &t->ops[i];
		if (p->data)
			image_write(t, p->off, p->data, p->len);
		else if ((size_t)p->off < t->size)
			t->size = (size_t)p->off;
		free(p->data);
	}
	t->n_ops = 0;
	t->exists = true;
}

static void tracks_reset(void)
{
	for (size_t i = 0; i < n_tracks; i++) {
		for (size_t j = 0; j < tracks[i].n_ops; j++)
			free(tracks[i].ops[j].data);
		free(tracks[i].ops);
		free(tracks[i].image);
	}
	n_tracks = 0;
}

/* The power cut: every file becomes its durable image. */
static void power_cut(void)
{
	for (size_t i = 0; i < n_tracks; i++) {
		track *t = &tracks[i];
		if (t->exists)
			write_bytes(t->path, t->image, t->size);
		else
			unlink(t->path);
	}
}

/* ---- the shim ---- */

typedef struct shim_file {
	sqlite3_file base;
	track *track; /* NULL for files without a name (temporary) */
	sqlite3_file *real;
} shim_file;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;
static long io_count, io_cut_at;
static bool io_dead; /* the power is off */

/* Counts a write, truncate or sync; true when the power is (now) off. */
static bool power_off(void)
{
	if (io_dead)
		return true;
	io_count++;
	if (io_cut_at && io_count >= io_cut_at)
		io_dead = true;
	return io_dead;
}

#define REAL(f) (((shim_file *)(f))->real)
#define TRACK(f) (((shim_file *)(f))->track)

static int shim_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int shim_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int shim_write(sqlite3_file *f, const void *buf, int n,
		      sqlite3_int64 off)
{
	if (power_off())
		return SQLITE_IOERR_WRITE;
	if (TRACK(f))
		track_record(TRACK(f), off, buf, (size_t)n);
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int shim_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	if (power_off())
		return SQLITE_IOERR_TRUNCATE;
	if (TRACK(f))
		track_record(TRACK(f), size, NULL, 0);
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int shim_sync(sqlite3_file *f, int flags)
{
	if (power_off())
		return SQLITE_IOERR_FSYNC;
	/* Simulated: the durable image is the test's; the real disk need not
	 * be flushed (that would only make the test slow). */
	(void)flags;
	if (TRACK(f))
		track_sync(TRACK(f));
	return SQLITE_OK;
}

#include "vfs_forward.h"

/* No SQLITE_IOCAP_* promises (atomic writes, safe append, powersafe
 * overwrite): a cut may leave any unsynced write undone. */
static int shim_device_characteristics(sqlite3_file *f)
{
	(void)f;
	return 0;
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

static const sqlite3_io_methods shim_methods = {
	.iVersion = 2, /* no memory-mapped reads: every read goes through */
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
};

static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file,
		     int flags, int *out_flags)
{
	shim_file *f = (shim_file *)file;
	int rc;
	(void)vfs;
	f->real = (sqlite3_file *)(f + 1);
	memset(f->real, 0, (size_t)real_vfs->szOsFile);
	f->track = NULL;
	/* the durable image is read before SQLite opens (and maybe creates)
	 * the file */
	if (name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)))
		f->track = track_of(name);
	rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
	f->base.pMethods = f->real->pMethods ? &shim_methods : NULL;
	return rc;
}

/* A deleted file is gone for good (the cut cannot bring it back). */
static int shim_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	if (power_off())
		return SQLITE_IOERR_DELETE;
	for (size_t i = 0; i < n_tracks; i++) {
		if (!strcmp(tracks[i].path, name)) {
			tracks[i].exists = false;
			tracks[i].size = 0;
			for (size_t j = 0; j < tracks[i].n_ops; j++)
				free(tracks[i].ops[j].data);
			tracks[i].n_ops = 0;
		}
	}
	return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static void install_shim(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	if (!real_vfs || real_vfs->iVersion < 2) {
		fprintf(stderr, "no usable default VFS\n");
		exit(1);
	}
	shim_vfs = *real_vfs;
	shim_vfs.zName = "powerloss";
	shim_vfs.szOsFile = (int)sizeof(shim_file) + real_vfs->szOsFile;
	shim_vfs.xOpen = shim_open;
	shim_vfs.xDelete = shim_delete;
	shim_vfs.pNext = NULL;
}

static void use_shim(bool on)
{
	sqlite3_vfs_register(on ? &shim_vfs : real_vfs, 1);
}

/* ---- the workload and what it acknowledged ---- */

#define STEPS 24

/* What step i did, once acknowledged. */
struct acked {
	bool done;
	char name[16];
	char cidr[IPAM_CIDR_STRLEN];
	bool released; /* a later step released it */
	bool tagged;   /* a later step tagged it env=step<i> */
};

static char dir[64];
static int64_t pool;
static int inflight; /* the step the cut interrupted (STEPS: none) */

/* Step i: allocations, with a release and a tag every few steps. Returns
 * the call's code; fills *a on success. */
static int step(ipam *db, int i, struct acked *log, ipam_err *err)
{
	if (i % 4 == 3 && log[i - 2].done && !log[i - 2].released) {
		int rc = ipam_alloc_release(db, pool, log[i - 2].name, err);
		if (rc == 0)
			log[i - 2].released = true;
		return rc;
	}
	if (i % 4 == 2 && log[i - 1].done) {
		ipam_alloc_info ai;
		int rc = ipam_alloc_get(db, pool, log[i - 1].name, &ai, err);
		if (rc == 0)
			rc = ipam_tag_set(db, ai.id, "env", "prod", err);
		if (rc == 0)
			log[i - 1].tagged = true;
		return rc;
	}
	ipam_alloc_info ai;
	ipam_alloc_req req = {NULL, NULL, 27 - (i % 3), NULL};
	snprintf(log[i].name, sizeof(log[i].name), "s%d", i);
	req.name = log[i].name;
	int rc = ipam_alloc_create(db, pool, &req, &ai, err);
	if (rc == 0) {
		log[i].done = true;
		ipam_cidr_format(&ai.cidr, log[i].cidr);
	}
	return rc;
}

/* Opens `path` (which holds the base state) and runs the workload until a
 * call fails; returns the number of writes and syncs it made. */
static long run(const char *path, bool sync_normal, long cut_at,
		struct acked *log)
{
	ipam_open_opts opts = fixture_opts();
	ipam_err err = {0};
	ipam *db = NULL;
	long count;

	opts.create = false;
	opts.sync_normal = sync_normal;
	memset(log, 0, sizeof(*log) * STEPS);
	tracks_reset();
	io_dead = false;
	io_count = 0;
	io_cut_at = 0;
	use_shim(true);
	if (ipam_open(&db, path, &opts, &err) != 0)
		fail_msg("open: %s", err.msg);
	io_count = 0;
	io_cut_at = cut_at;
	inflight = STEPS;
	for (int i = 0; i < STEPS; i++) {
		memset(&err, 0, sizeof(err));
		if (step(db, i, log, &err) != 0) {
			inflight = i;
			if (!io_dead)
				fail_msg("step %d failed with the power on: %s",
					 i, err.msg);
			break;
		}
	}
	count = io_count;
	ipam_free(db); /* with the power off: nothing of it reaches disk */
	use_shim(false);
	return count;
}

/* After the cut: integrity, and every acknowledged change. Returns the
 * number of acknowledged changes missing (0 is the promise). */
static int verify(const char *path, const struct acked *log, bool *bad)
{
	ipam_open_opts opts = fixture_opts();
	ipam_err err = {0};
	ipam *db = NULL;
	int lost = 0;

	opts.create = false;
	*bad = false;
	if (ipam_open(&db, path, &opts, &err) != 0)
		fail_msg("reopen after the cut: %s", err.msg);
	if (ipam_check(db, &err) != 0)
		fail_msg("integrity after the cut: %s", err.msg);
	for (int i = 0; i < STEPS; i++) {
		ipam_alloc_info ai;
		char cidr[IPAM_CIDR_STRLEN], *tag = NULL;
		if (!log[i].done)
			continue;
		memset(&err, 0, sizeof(err));
		int rc = ipam_alloc_get(db, pool, log[i].name, &ai, &err);
		if (log[i].released) {
			lost += rc == 0; /* an acknowledged release undone */
			if (rc == 0 && getenv("POWERLOSS_DEBUG"))
				fprintf(stderr, "lost: release of %s\n",
					log[i].name);
			continue;
		}
		/* the release in flight at the cut: all or nothing */
		if (rc != 0 && inflight < STEPS && inflight % 4 == 3 &&
		    inflight - 2 == i)
			continue;
		if (rc != 0) {
			if (getenv("POWERLOSS_DEBUG"))
				fprintf(stderr, "lost: step %d alloc %s\n", i,
					log[i].name);
			lost++;
			continue;
		}
		ipam_cidr_format(&ai.cidr, cidr);
		if (strcmp(cidr, log[i].cidr))
			*bad = true; /* never acceptable */
		if (log[i].tagged) {
			rc = ipam_tag_get(db, ai.id, "env", &tag, &err);
			lost += rc != 0;
			if (rc != 0 && getenv("POWERLOSS_DEBUG"))
				fprintf(stderr, "lost: tag of %s\n",
					log[i].name);
			free(tag);
		}
	}
	ipam_free(db);
	return lost;
}

/* The base state: a pool with a CIDR, at rest (checkpointed, no WAL). */
static void make_base(const char *base)
{
	char side[300];
	unlink(base);
	snprintf(side, sizeof(side), "%s-wal", base);
	unlink(side);
	ipam *db = open_file(base, true);
	pool = mktop(db, "p");
	prov_ok(db, pool, "10.0.0.0/16");
	ipam_free(db);
}

static void restore(const char *from, const char *to)
{
	char side[300];
	size_t n;
	unsigned char *data = file_bytes(from, &n);
	assert_non_null(data);
	write_bytes(to, data, n);
	free(data);
	snprintf(side, sizeof(side), "%s-wal", to);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", to);
	unlink(side);
}

/* Runs `runs` cut points spread over the whole workload (the first ones
 * all, the rest drawn at random); returns the acknowledged changes lost
 * over all runs. */
static int cut_many(bool sync_normal, int runs, int *points)
{
	char base[128], work[128], shm[160];
	struct acked log[STEPS];
	long total;
	int lost = 0;
	unsigned seed = 0x1eaf;

	snprintf(base, sizeof(base), "%s/base.db", dir);
	snprintf(work, sizeof(work), "%s/work.db", dir);
	snprintf(shm, sizeof(shm), "%s-shm", work);
	make_base(base);
	restore(base, work);
	total = run(work, sync_normal, 0, log); /* the undisturbed run */
	assert_true(total > STEPS);
	*points = 0;
	for (int r = 0; r < runs; r++) {
		long cut = r < 16 ? r + 1 : 1 + (long)(rand_r(&seed) % total);
		bool bad;
		restore(base, work);
		run(work, sync_normal, cut, log);
		power_cut();
		unlink(shm);
		int l = verify(work, log, &bad);
		if (bad)
			fail_msg("cut at %ld of %ld: an allocation changed its "
				 "CIDR",
				 cut, total);
		if (l && !sync_normal)
			fail_msg(
				"cut at write/sync %ld of %ld: %d acknowledged "
				"change(s) lost with synchronous=FULL",
				cut, total, l);
		lost += l;
		(*points)++;
	}
	tracks_reset();
	return lost;
}

static void test_full_keeps_every_acknowledged_change(void **state)
{
	int points = 0;
	(void)state;
	/* POWERLOSS_RUNS=N for a longer run than the suite's */
	const char *env = getenv("POWERLOSS_RUNS");
	int runs = env ? atoi(env) : FIXTURE_SLOW ? 60 : 300;
	int lost = cut_many(false, runs > 0 ? runs : 1, &points);
	assert_int_equal(lost, 0);
	printf("# synchronous=FULL: %d cut points, every acknowledged change "
	       "kept, integrity ok\n",
	       points);
}

/* The test can tell: with synchronous=NORMAL a cut loses acknowledged
 * changes (the WAL is not synced at commit), yet the file stays sound. */
static void test_normal_can_lose_but_stays_sound(void **state)
{
	int points = 0;
	(void)state;
	int lost = cut_many(true, FIXTURE_SLOW ? 30 : 100, &points);
	printf("# synchronous=NORMAL: %d cut points, %d acknowledged changes "
	       "lost, integrity ok\n",
	       points, lost);
	assert_true(lost > 0);
}

static int setup(void **state)
{
	(void)state;
	tmp_dir(dir); /* tmpfs when there is one: the verification's own
			 syncs are real */
	install_shim();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	use_shim(false);
	tmp_dir_remove(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_keeps_every_acknowledged_change),
		cmocka_unit_test(test_normal_can_lose_but_stays_sound),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
