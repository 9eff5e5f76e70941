/*
 * ops_file.c - open files: open, create, read, write, truncate, poll,
 * release.
 *
 * A file's content is rendered once, at open, into the open file's handle
 * (shared with the cache, see content.c) and served from there with
 * direct_io, so a reader sees one consistent snapshot of exactly the size
 * getattr reported. Three files differ:
 *   - `allocate` has no content of its own: a read returns the CIDRs that
 *     the writes on the same open file allocated and that were not read
 *     yet (from its own cursor, whatever the file offset the writes left);
 *   - `/events` grows while open: a read at the end of the snapshot
 *     renders again and serves the new lines, and poll(2) wakes when the
 *     IPAM changes;
 *   - `/errors` is not cached;
 *   - a discovery's `feed` (ATTR_STREAM) gathers every write of the open
 *     file, up to IPAMFS_FEED_MAX, and applies the whole snapshot as one
 *     transaction when the descriptor is flushed (close(2) returns its
 *     errno); a later flush applies again only if more was written. A
 *     refused write (NUL byte, too big) spoils the descriptor: nothing is
 *     applied at close, so a partial snapshot never ends resources. All
 *     the feeds open at once share one memory budget (-o feed-budget): a
 *     write that would take the buffers held past it fails with ENOMEM.
 * A write(2) to any other file applies its complete lines (after the
 * unfinished line earlier writes left) as one command batch and one
 * transaction: at most 64 KiB, no NUL byte, split into its non-empty
 * lines; what follows the last newline waits for the next write or the
 * writer's close (flush returns its errno). The whole size is returned or
 * an errno, never a short count; offsets are ignored.
 * A set file (operating-locales, ...) opened without O_APPEND is given all
 * the lines written through the open file so far (`printf 'a\nb\n' > file`
 * in bash writes line by line, and must still set {a, b}); opened
 * O_APPEND, its lines are added to the set as it is.
 * O_TRUNC or ftruncate(fd, 0) with nothing written clears a read-write
 * attribute at the last close (release); command files are never cleared.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>

#include "content.h"
#include "errno_map.h"
#include "files.h"
#include "ops.h"
#include "values.h"

struct handle {
	struct node node;
	char *path;
	pthread_mutex_t lock;
	struct blob *content;	/* NULL for write-only opens and allocate */
	struct buf result;	/* allocate: CIDRs its writes allocated */
	size_t result_read;	/* allocate: how much of it was read */
	struct watcher watcher; /* /events */
	bool watching;
	int64_t events;	    /* /events: change-log entry the content is at */
	size_t served;	    /* /events: end of the furthest read */
	bool created;	    /* a tag this open created (O_CREAT) */
	bool written;	    /* a write succeeded */
	bool wrote;	    /* a write arrived (refused or not) */
	bool append;	    /* opened O_APPEND (set files add) */
	bool truncated;	    /* O_TRUNC or ftruncate(fd, 0): clear at the last
			      close when nothing is written */
	bool unapplied;	    /* set files: the set so far was refused for a
			      reason a later line may cure (EBUSY) */
	struct buf partial; /* the unfinished last line, waiting for its
			       newline or the close */
	uint64_t writer;    /* lock owner (the file table) of the last write:
			       only its own close completes the line */
	struct buf set;	    /* set files: what the successful writes wrote */
	struct buf stream;  /* feed: everything written */
	size_t charged;	    /* feed: bytes of the budget the buffer holds */
	bool pending;	    /* feed: written since the last apply */
	bool answered;	    /* plan: result holds what the last apply said */
	bool spoiled;	    /* feed: a write was refused */
};

static int stream_apply(struct ipamfs *fs, struct handle *h, const char *op);

static struct handle *handle_of(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

static void handle_free(struct ipamfs *fs, struct handle *h)
{
	if (h->watching)
		watch_remove(&fs->watch, &h->watcher);
	blob_unref(h->content);
	buf_free(&h->result);
	buf_free(&h->set);
	buf_free(&h->partial);
	buf_free(&h->stream);
	atomic_fetch_sub(&fs->feed_held, h->charged);
	pthread_mutex_destroy(&h->lock);
	free(h->path);
	free(h);
}

static int finish_lines(struct ipamfs *fs, struct handle *h, const char *op);

/* A handle for node n, its content rendered when it will be read. */
static int handle_open(struct ipamfs *fs, const char *path,
		       const struct node *n, struct fuse_file_info *fi)
{
	unsigned flags = n->attr->flags;
	bool reading = (fi->flags & O_ACCMODE) != O_WRONLY;
	struct handle *h = calloc(1, sizeof(*h));
	if (!h || !(h->path = strdup(path))) {
		free(h);
		return -ENOMEM;
	}
	h->node = *n;
	pthread_mutex_init(&h->lock, NULL);
	buf_init(&h->result);
	buf_init(&h->set);
	buf_init(&h->partial);
	buf_init(&h->stream);
	h->truncated = (fi->flags & O_TRUNC) && !(flags & ATTR_COMMAND);
	h->append = (fi->flags & O_APPEND) && !(fi->flags & O_TRUNC);
	if (reading && !(flags & ATTR_ALLOCATE)) {
		ipam_err err = {IPAM_OK, ""};
		int rc =
			content_get(fs, path, n, &h->content, &h->events, &err);
		if (rc) {
			handle_free(fs, h);
			return ipamfs_fail(fs, "open", path, rc, &err);
		}
	}
	if (flags & ATTR_EVENTS) {
		watch_add(&fs->watch, &h->watcher, h->events);
		h->watching = true;
	}
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	/* Only a writable open does something at close (an unfinished last
	 * line, a feed): spare the readers the FLUSH round trip (kernels
	 * without FOPEN_NOFLUSH still send it). */
	fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY;
	return 0;
}

int ops_open(const char *path, struct fuse_file_info *fi)
{
	struct ipamfs *fs = ipamfs_get();
	struct node n;
	int rc = ops_resolve(fs, NULL, path, &n);
	if (rc)
		return rc;
	if (n.kind != NODE_FILE)
		return -EISDIR;
	if ((fi->flags & O_ACCMODE) != O_RDONLY && !(n.attr->flags & ATTR_RW))
		return ipamfs_refuse(fs, "open", path, EACCES,
				     "the file is read-only");
	if ((fi->flags & O_ACCMODE) != O_WRONLY && (n.attr->flags & ATTR_WO))
		return ipamfs_refuse(fs, "open", path, EACCES,
				     "the file is write-only");
	return handle_open(fs, path, &n, fi);
}

struct create_ctx {
	const struct node *tags; /* the tags/ directory */
	const char *key;
	bool exclusive; /* O_EXCL */
	bool made;	/* the tag did not exist */
};

/* Creates an empty tag, unless another process just did (then O_EXCL
 * fails and a plain O_CREAT opens it). */
static int create_tag(struct ipamfs *fs, void *ctx, ipam_err *err)
{
	struct create_ctx *c = ctx;
	char *value = NULL;
	int rc = files_tag_get(fs, c->tags, c->key, &value, NULL);
	free(value);
	if (rc == 0)
		return c->exclusive ? ipamfs_err(err, IPAM_EEXIST,
						 "tag '%s' exists", c->key)
				    : 0;
	c->made = true;
	return files_tag_set(fs, c->tags, c->key, "", err);
}

/* O_CREAT of a missing file: only tags can be created (as an empty tag the
 * write that follows fills). */
int ops_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct ipamfs *fs = ipamfs_get();
	struct node parent, n;
	const char *name = NULL;
	ipam_err err = {IPAM_OK, ""};
	if (!fs->db)
		return ipamfs_refuse(fs, "create", path, EIO,
				     "database not open");
	int rc = tree_resolve_parent(fs, path, &parent, &name, &err);
	if (rc)
		return ipamfs_fail(fs, "create", path, rc, &err);
	if (parent.kind != NODE_TAGS && files_has_attrs(parent.kind))
		return ipamfs_refuse(fs, "create", path, EPERM,
				     "files cannot be created here: %s",
				     IPAMFS_IN_PLACE);
	if (parent.kind != NODE_TAGS)
		return ipamfs_refuse(fs, "create", path, EPERM,
				     "files cannot be created here");
	struct create_ctx c = {&parent, name, (fi->flags & O_EXCL) != 0, false};
	rc = ipamfs_change(fs, "create", path, create_tag, &c);
	if (rc)
		return rc;
	rc = ops_resolve(fs, "create", path, &n);
	if (rc == 0)
		rc = handle_open(fs, path, &n, fi);
	if (rc == 0)
		handle_of(fi)->created = c.made;
	return rc;
}

static int remove_tag(struct ipamfs *fs, void *ctx, ipam_err *err)
{
	const struct node *n = ctx;
	return files_tag_remove(fs, n, n->name, err);
}

bool ops_open_size(struct fuse_file_info *fi, off_t *size)
{
	struct handle *h = fi ? handle_of(fi) : NULL;
	if (!h || !h->content || h->watching)
		return false;
	*size = (off_t)h->content->len;
	return true;
}

/* The slice [offset, offset + size) of data[0..len): its length, and in
 * *at where it starts. */
static size_t slice(size_t len, size_t size, size_t offset, size_t *at)
{
	*at = offset < len ? offset : len;
	return len - *at < size ? len - *at : size;
}

/* A read of a small answer (a command's result): a copy of the slice, so
 * that the reply does not hold the handle's lock. */
static int serve(const char *data, size_t len, size_t size, size_t offset,
		 struct read_slice *out)
{
	size_t at, n = slice(len, size, offset, &at);
	out->hold = blob_new(data ? data + at : "", n);
	if (!out->hold)
		return -ENOMEM;
	out->data = out->hold->data;
	return (int)n;
}

/* Where the lines of `log` (JSON lines in seq order, each starting
 * {"seq":N) begin to have a seq above `seen`. */
static size_t events_after(const struct blob *log, int64_t seen)
{
	static const char head[] = "{\"seq\":";
	size_t at = 0;
	while (at < log->len) {
		const char *line = log->data + at;
		const char *end = memchr(line, '\n', log->len - at);
		if (!strncmp(line, head, sizeof(head) - 1) &&
		    strtoll(line + sizeof(head) - 1, NULL, 10) > seen)
			break;
		at = end ? (size_t)(end - log->data) + 1 : log->len;
	}
	return at;
}

/* /events read at the end of its snapshot: the open file grows by the
 * lines logged since (those after the snapshot's newest event). The log
 * itself may have lost old lines meanwhile (event-retention-days): what
 * the reader already has stays as it was read. */
static void events_refresh(struct ipamfs *fs, struct handle *h)
{
	if (ipam_events_last(fs->db) <= h->events)
		return;
	struct blob *fresh = NULL, *grown;
	int64_t events = 0;
	if (content_get(fs, h->path, &h->node, &fresh, &events, NULL))
		return;
	struct blob *old = h->content;
	if (fresh->len >= old->len &&
	    memcmp(fresh->data, old->data, old->len) == 0) {
		grown = fresh; /* the usual case: the log only grew */
		blob_ref(grown);
	} else {
		size_t at = events_after(fresh, h->events);
		size_t len = old->len + (fresh->len - at);
		char *data = malloc(len + 1);
		grown = NULL;
		if (data) {
			memcpy(data, old->data, old->len);
			memcpy(data + old->len, fresh->data + at,
			       fresh->len - at);
			data[len] = '\0';
			grown = blob_adopt(data, len);
		}
	}
	blob_unref(fresh);
	if (!grown)
		return; /* out of memory: the next read tries again */
	h->content = grown;
	h->events = events;
	watch_set_seen(&fs->watch, &h->watcher, events);
	blob_unref(old);
}

int ops_read_slice(size_t size, off_t offset, struct fuse_file_info *fi,
		   struct read_slice *out)
{
	struct ipamfs *fs = ipamfs_get();
	struct handle *h = handle_of(fi);
	int n = 0;
	out->data = "";
	out->hold = NULL;
	if (size > INT32_MAX)
		size = INT32_MAX;
	if (h->node.attr->flags & ATTR_STREAM)
		stream_apply(fs, h, "read"); /* a plan read where written */
	pthread_mutex_lock(&h->lock);
	if (h->answered) {
		n = serve(h->result.data, h->result.len, size, (size_t)offset,
			  out);
	} else if (h->node.attr->flags & ATTR_ALLOCATE) {
		if (h->partial.len) /* a read ends the line being written */
			n = finish_lines(fs, h, "read");
		if (n == 0)
			n = serve(h->result.data, h->result.len, size,
				  h->result_read, out);
		if (n > 0)
			h->result_read += (size_t)n;
	} else if (h->content) {
		if (h->watching && (size_t)offset >= h->content->len)
			events_refresh(fs, h);
		/* the rendered content itself, held for the reply */
		size_t at;
		n = (int)slice(h->content->len, size, (size_t)offset, &at);
		out->hold = blob_ref(h->content);
		out->data = h->content->data + at;
		if ((size_t)offset + (size_t)n > h->served)
			h->served = (size_t)offset + (size_t)n;
	} else {
		n = -EBADF;
	}
	pthread_mutex_unlock(&h->lock);
	return n;
}

int ops_read(char *out, size_t size, off_t offset, struct fuse_file_info *fi)
{
	struct read_slice s;
	int n = ops_read_slice(size, offset, fi, &s);
	if (n > 0)
		memcpy(out, s.data, (size_t)n);
	blob_unref(s.hold);
	return n;
}

/* One batch of lines being applied. */
struct write_ctx {
	struct handle *h;
	struct input in;
	struct buf result;
};

static int apply_write(struct ipamfs *fs, void *ctx, ipam_err *err)
{
	struct write_ctx *w = ctx;
	const struct attr *a = w->h->node.attr;
	return a->apply(fs, &w->h->node, a, &w->in, &w->result, err);
}

/* Splits text (NUL-terminated, modified in place) into its non-empty
 * lines; a '\r' before a '\n' is dropped. */
static int split_lines(char *text, size_t len, struct input *in)
{
	size_t max = 1;
	for (size_t i = 0; i < len; i++)
		max += text[i] == '\n';
	in->lines = calloc(max, sizeof(*in->lines));
	in->count = 0;
	if (!in->lines)
		return -ENOMEM;
	for (char *line = text, *end; line; line = end) {
		end = strchr(line, '\n');
		if (end)
			*end++ = '\0';
		size_t n = strlen(line);
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n)
			in->lines[in->count++] = line;
	}
	return 0;
}

/* One attempt at a batch: its lines split from the text again (the
 * split is in place). */
struct batch {
	ipamfs_change_fn fn;
	struct write_ctx *w;
	const struct buf *all;
};

static int run_batch(struct ipamfs *fs, void *ctx, ipam_err *err)
{
	struct batch *b = ctx;
	struct write_ctx *w = b->w;
	struct buf text = BUF_INIT;
	int rc;
	buf_append(&text, b->all->data, b->all->len);
	free(w->in.lines);
	w->in = (struct input){NULL, 0};
	w->result.len = 0;
	if (buf_failed(&text) || split_lines(text.data, text.len, &w->in))
		rc = ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	else
		rc = b->fn(fs, w, err);
	/* the lines point into text: the batch is done with them */
	free(w->in.lines);
	w->in = (struct input){NULL, 0};
	buf_free(&text);
	return rc;
}

/* Runs the lines of `all` as one transaction (fn over w), the whole batch
 * again from its text when a concurrent change undid it (PostgreSQL:
 * ipamfs_try_change_retried). */
static int run_lines(struct ipamfs *fs, ipamfs_change_fn fn,
		     struct write_ctx *w, const struct buf *all, ipam_err *err)
{
	struct batch b = {fn, w, all};
	return ipamfs_try_change_retried(fs, run_batch, &b, err);
}

/* `>>` on a set file: the set as it is, then the lines written, each item
 * once (the set's own apply function checks the whole). Runs inside the
 * transaction, so the set cannot change between the read and the write. */
static int apply_add(struct ipamfs *fs, void *ctx, ipam_err *err)
{
	struct write_ctx *w = ctx;
	const struct attr *a = w->h->node.attr;
	struct buf now = BUF_INIT;
	struct input all = {NULL, 0};
	int rc = a->render(fs, &w->h->node, a, &now, err);
	buf_putc(&now, '\n');
	if (rc == 0 && buf_failed(&now))
		rc = ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	if (rc == 0 && split_lines(now.data, now.len, &all))
		rc = ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	size_t most = all.count + w->in.count + 1;
	char **lines = rc ? NULL : realloc(all.lines, most * sizeof(*lines));
	if (rc == 0 && !lines)
		rc = ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	if (rc == 0) {
		all.lines = lines;
		for (size_t i = 0; i < w->in.count; i++) {
			char *item = trim(w->in.lines[i]);
			bool dup = false;
			for (size_t j = 0; j < all.count && !dup; j++)
				dup = !strcmp(trim(all.lines[j]), item);
			if (!dup)
				all.lines[all.count++] = item;
		}
		rc = a->apply(fs, &w->h->node, a, &all, &w->result, err);
	}
	free(all.lines);
	buf_free(&now);
	return rc;
}

/* The checks of SPEC §1.5 and §9 before a write reaches libipam. */
static int write_check(struct ipamfs *fs, struct handle *h, const char *data,
		       size_t size)
{
	if (!(h->node.attr->flags & ATTR_RW))
		return ipamfs_refuse(fs, "write", h->path, EACCES,
				     "the file is read-only");
	if (size > IPAMFS_WRITE_MAX)
		return ipamfs_refuse(fs, "write", h->path, E2BIG,
				     "write of %zu bytes is over the %u byte "
				     "limit of one command batch",
				     size, IPAMFS_WRITE_MAX);
	if (memchr(data, '\0', size))
		return ipamfs_refuse(fs, "write", h->path, EINVAL,
				     "write contains a NUL byte");
	return 0;
}

/* A refusal a later line written through the same open file may cure:
 * `printf 'b\na\n' > operating-locales` while a pool uses `a` is refused
 * after its first line only. */
static bool curable(const struct handle *h, int code)
{
	return (h->node.attr->flags & ATTR_SET) && !h->append &&
	       code == IPAM_EBUSY;
}

/* Applies complete lines (text[0..len), modified) written through h, as
 * one transaction, under h->lock. A set file opened without O_APPEND is
 * given every line written through h so far (`>` replaces, even when the
 * shell writes one line per write), with O_APPEND it adds. `final`: the
 * close, when a refusal can no longer wait for a later line. */
static int apply_lines(struct ipamfs *fs, struct handle *h, const char *op,
		       const char *text, size_t len, bool final)
{
	unsigned flags = h->node.attr->flags;
	bool replace_set = (flags & ATTR_SET) && !h->append;
	struct buf all = BUF_INIT;
	if (replace_set)
		buf_append(&all, h->set.data, h->set.len);
	buf_append(&all, text, len);
	buf_putc(&all, '\n');
	if (buf_failed(&all)) {
		buf_free(&all);
		return ipamfs_refuse(fs, op, h->path, ENOMEM, "out of memory");
	}
	if (all.len - 1 > IPAMFS_WRITE_MAX) {
		buf_free(&all);
		return ipamfs_refuse(fs, op, h->path, E2BIG, "%s over %u bytes",
				     replace_set ? "the set written is"
						 : "a command batch is",
				     IPAMFS_WRITE_MAX);
	}
	struct write_ctx w = {h, {NULL, 0}, BUF_INIT};
	ipam_err err = {IPAM_OK, ""};
	ipamfs_change_fn fn = (flags & ATTR_SET) && h->append ? apply_add
							      : apply_write;
	int rc = run_lines(fs, fn, &w, &all, &err);
	if (rc && curable(h, rc) && !final) {
		h->unapplied = true; /* kept: the next line or the close */
		rc = 0;
	} else if (rc) {
		if (final) /* refused for good */
			h->unapplied = false;
		rc = ipamfs_fail(fs, op, h->path, rc, &err);
	} else {
		h->unapplied = false;
	}
	if (rc == 0 && (flags & ATTR_ALLOCATE))
		buf_append(&h->result, w.result.data, w.result.len);
	if (rc == 0 && replace_set && len) {
		buf_append(&h->set, text, len);
		buf_putc(&h->set, '\n');
	}
	buf_free(&w.result);
	free(w.in.lines);
	buf_free(&all);
	return rc;
}

/*
 * Takes from the feeds' shared budget what the buffer of h will grow to
 * when `size` more bytes are appended (buf.c doubles from 256 bytes), so
 * that the memory all open feeds hold together stays within
 * fs->feed_budget. False when it would not.
 */
static bool feed_charge(struct ipamfs *fs, struct handle *h, size_t size)
{
	size_t need = h->stream.len + size + 1;
	size_t cap = h->stream.cap ? h->stream.cap : 256;
	while (cap < need)
		cap *= 2;
	size_t more = cap > h->charged ? cap - h->charged : 0;
	size_t held = atomic_load(&fs->feed_held);
	do {
		if (more > fs->feed_budget || held > fs->feed_budget - more)
			return false;
	} while (!atomic_compare_exchange_weak(&fs->feed_held, &held,
					       held + more));
	h->charged += more;
	return true;
}

/* The most a stream file takes through one descriptor. */
static size_t stream_max(const struct handle *h)
{
	return h->node.attr->apply == files_io_apply ? IPAMFS_IMPORT_MAX
						     : IPAMFS_FEED_MAX;
}

/* A write to `feed`, /import or /plan: kept until the descriptor is
 * flushed. */
static int stream_write(struct ipamfs *fs, struct handle *h, const char *data,
			size_t size)
{
	int rc = 0;
	pthread_mutex_lock(&h->lock);
	if (h->spoiled)
		rc = ipamfs_refuse(fs, "write", h->path, EIO,
				   "an earlier write of this snapshot was "
				   "refused");
	else if (memchr(data, '\0', size))
		rc = ipamfs_refuse(fs, "write", h->path, EINVAL,
				   "write contains a NUL byte; nothing of "
				   "this snapshot will be applied");
	else if (size > stream_max(h) - h->stream.len)
		rc = ipamfs_refuse(fs, "write", h->path, E2BIG,
				   "a document over %zu bytes; nothing of it "
				   "will be applied",
				   stream_max(h));
	else if (!feed_charge(fs, h, size))
		rc = ipamfs_refuse(fs, "write", h->path, ENOMEM,
				   "the feeds open at once would hold over "
				   "%zu MiB (-o feed-budget); nothing of this "
				   "snapshot will be applied",
				   fs->feed_budget >> 20);
	if (rc == 0) {
		buf_append(&h->stream, data, size);
		if (buf_failed(&h->stream))
			rc = ipamfs_refuse(fs, "write", h->path, ENOMEM,
					   "out of memory holding the "
					   "snapshot");
	}
	if (rc)
		h->spoiled = true;
	else
		h->pending = true;
	pthread_mutex_unlock(&h->lock);
	return rc ? rc : (int)size;
}

/* One write under h->lock: the unfinished line kept from earlier writes,
 * then data; the complete lines apply (one transaction), what follows the
 * last newline waits. A refused write leaves no unfinished line: the line
 * it was part of is refused with it. */
static int write_lines(struct ipamfs *fs, struct handle *h, const char *data,
		       size_t size)
{
	const char *nl = NULL;
	for (size_t i = size; i > 0 && !nl; i--)
		if (data[i - 1] == '\n')
			nl = data + i - 1;
	size_t tail = nl ? size - (size_t)(nl + 1 - data) : size;
	if (h->partial.len + tail > IPAMFS_WRITE_MAX) {
		buf_reset(&h->partial);
		return ipamfs_refuse(fs, "write", h->path, E2BIG,
				     "a line over %u bytes", IPAMFS_WRITE_MAX);
	}
	int rc = 0;
	if (nl) {
		struct buf line = BUF_INIT;
		buf_append(&line, h->partial.data, h->partial.len);
		buf_append(&line, data, (size_t)(nl - data));
		buf_reset(&h->partial);
		rc = buf_failed(&line) ? ipamfs_refuse(fs, "write", h->path,
						       ENOMEM, "out of memory")
				       : apply_lines(fs, h, "write", line.data,
						     line.len, false);
		buf_free(&line);
	}
	if (rc == 0 && tail) {
		buf_append(&h->partial, data + size - tail, tail);
		if (buf_failed(&h->partial)) {
			buf_reset(&h->partial);
			rc = ipamfs_refuse(fs, "write", h->path, ENOMEM,
					   "out of memory");
		}
	}
	return rc;
}

/* Records the outcome of a write. `echo BAD > tags/new`: when the first
 * write to a tag this open created fails, the tag goes too. Under
 * h->lock. */
static void write_done(struct ipamfs *fs, struct handle *h, int rc)
{
	bool undo = rc != 0 && h->created && !h->written;
	if (rc == 0)
		h->written = true;
	if (undo) {
		h->created = false;
		ipamfs_change(fs, "write", h->path, remove_tag, &h->node);
	}
}

int ops_write(const char *data, size_t size, off_t offset,
	      struct fuse_file_info *fi)
{
	struct ipamfs *fs = ipamfs_get();
	struct handle *h = handle_of(fi);
	if ((h->node.attr->flags & ATTR_STREAM) && size > 0)
		return stream_write(fs, h, data, size);
	pthread_mutex_lock(&h->lock);
	h->wrote = true; /* even if refused: O_TRUNC no longer clears */
	pthread_mutex_unlock(&h->lock);
	int rc = write_check(fs, h, data, size);
	if (rc || size == 0)
		return rc;
	pthread_mutex_lock(&h->lock);
	h->writer = fi->lock_owner;
	rc = write_lines(fs, h, data, size);
	write_done(fs, h, rc);
	pthread_mutex_unlock(&h->lock);
	return rc ? rc : (int)size;
}

/* What a close completes, under h->lock: the unfinished last line (a
 * final line without a newline is complete at close), or a set a refusal
 * kept waiting for a line that did not come. */
static int finish_lines(struct ipamfs *fs, struct handle *h, const char *op)
{
	int rc = 0;
	if (h->partial.len) {
		struct buf line = h->partial;
		buf_init(&h->partial);
		rc = apply_lines(fs, h, op, line.data, line.len, true);
		buf_free(&line);
		write_done(fs, h, rc);
	} else if (h->unapplied) {
		rc = apply_lines(fs, h, op, "", 0, true);
	}
	return rc;
}

/* `: > description`, `truncate -s0 description`: a read-write attribute
 * given nothing is cleared (an empty value, an empty set). Command files
 * are not: their writes are commands, not content. */
static int clear_value(struct ipamfs *fs, void *ctx, ipam_err *err)
{
	const struct node *n = ctx;
	struct input none = {NULL, 0};
	struct buf result = BUF_INIT;
	int rc = n->attr->apply(fs, n, n->attr, &none, &result, err);
	buf_free(&result);
	return rc;
}

static bool clearable(const struct node *n)
{
	return n->kind == NODE_FILE && (n->attr->flags & ATTR_RW) &&
	       !(n->attr->flags & (ATTR_COMMAND | ATTR_STREAM | ATTR_WO));
}

/* truncate(2) to 0 clears a read-write attribute (ftruncate on an open
 * file: at its last close, unless something is written first); any other
 * size, and any size on a command file, does nothing. */
int ops_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct ipamfs *fs = ipamfs_get();
	struct node n;
	int rc = ops_resolve(fs, "truncate", path, &n);
	if (rc)
		return rc;
	if (node_is_dir(&n))
		return ipamfs_refuse(fs, "truncate", path, EISDIR,
				     "a directory");
	if (n.kind != NODE_FILE || !(n.attr->flags & ATTR_RW))
		return ipamfs_refuse(fs, "truncate", path, EACCES,
				     "the file is read-only");
	if (size != 0 || !clearable(&n))
		return 0;
	struct handle *h = fi ? handle_of(fi) : NULL;
	if (h) {
		pthread_mutex_lock(&h->lock);
		if (!h->wrote)
			h->truncated = true;
		pthread_mutex_unlock(&h->lock);
		return 0;
	}
	return ipamfs_change(fs, "truncate", path, clear_value, &n);
}

/* Applies what was written to a stream file since its last apply, as one
 * transaction; 0 when there is nothing new. Runs under h->lock, so the
 * same text is never applied twice. */
static int stream_apply(struct ipamfs *fs, struct handle *h, const char *op)
{
	int rc = 0;
	pthread_mutex_lock(&h->lock);
	if (h->pending && !h->spoiled) {
		static char empty[1];
		char *text = h->stream.data ? h->stream.data : empty;
		struct write_ctx w = {h, {&text, 1}, BUF_INIT};
		h->pending = false;
		rc = ipamfs_change(fs, op, h->path, apply_write, &w);
		buf_free(&h->result);
		h->result = w.result; /* /plan: read back on this descriptor */
		h->result_read = 0;
		h->answered = true;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

/* close(2) of a descriptor (or of one of its duplicates): its errno is
 * what close returns. Only the writer's own close completes what it left
 * unfinished: `{ printf 'db'; sleep 1; printf '01 /28\n'; } > allocate`
 * gives sleep a duplicate, and its exit must not end the line. The kernel
 * names the file table of the writing and of the closing process (the
 * lock owner of direct_io writes and of FLUSH). */
int ops_flush(struct fuse_file_info *fi)
{
	struct ipamfs *fs = ipamfs_get();
	struct handle *h = handle_of(fi);
	int rc = 0;
	if (h->node.attr->flags & ATTR_STREAM)
		return stream_apply(fs, h, "close");
	pthread_mutex_lock(&h->lock);
	if (fi->lock_owner == h->writer)
		rc = finish_lines(fs, h, "close");
	pthread_mutex_unlock(&h->lock);
	return rc;
}

/* The last close. A shell flushes its descriptor before it writes (`echo
 * x > f` opens, dup2s and closes the original), so the clearing of an
 * O_TRUNC open that wrote nothing waits for this; its refusal can only be
 * logged. */
int ops_release(struct fuse_file_info *fi)
{
	struct ipamfs *fs = ipamfs_get();
	struct handle *h = handle_of(fi);
	if (h->node.attr->flags & ATTR_STREAM) {
		stream_apply(fs, h, "release"); /* no flush came: logged */
	} else {
		pthread_mutex_lock(&h->lock);
		finish_lines(fs, h, "release");
		if (h->truncated && !h->wrote && clearable(&h->node))
			ipamfs_change(fs, "release", h->path, clear_value,
				      &h->node);
		pthread_mutex_unlock(&h->lock);
	}
	handle_free(fs, h);
	return 0;
}

int ops_poll(struct fuse_file_info *fi, struct fuse_pollhandle *ph,
	     unsigned *reventsp)
{
	struct ipamfs *fs = ipamfs_get();
	struct handle *h = handle_of(fi);
	if (!h->watching) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		*reventsp = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
		return 0;
	}
	pthread_mutex_lock(&h->lock);
	bool unread = h->content && h->served < h->content->len;
	pthread_mutex_unlock(&h->lock);
	bool ready = watch_poll(&fs->watch, &h->watcher, ph, unread);
	*reventsp = ready ? POLLIN | POLLRDNORM : 0;
	return 0;
}
