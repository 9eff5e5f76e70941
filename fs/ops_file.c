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
 *     applied at close, so a partial snapshot never ends resources.
 * One write(2) to any other file is one command batch and one transaction
 * (ipamfs_change): at most 64 KiB, no NUL byte, split into its non-empty
 * lines. The whole size is returned or an errno, never a short count;
 * offsets are ignored.
 * A set file (operating-locales, ...) is given all the lines written
 * through the open file so far: `printf 'a\nb\n' > file` in bash writes
 * line by line, and must still set {a, b}.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "errno_map.h"
#include "files.h"
#include "ops.h"

struct handle {
	struct node node;
	char *path;
	pthread_mutex_t lock;
	struct blob *content;	/* NULL for write-only opens and allocate */
	struct buf result;	/* allocate: CIDRs its writes allocated */
	size_t result_read;	/* allocate: how much of it was read */
	struct watcher watcher; /* /events */
	bool watching;
	int64_t events;	   /* /events: change-log entry the content is at */
	size_t served;	   /* /events: end of the furthest read */
	bool created;	   /* a tag this open created (O_CREAT) */
	bool written;	   /* a write succeeded */
	struct buf set;	   /* set files: what the successful writes wrote */
	struct buf stream; /* feed: everything written */
	bool pending;	   /* feed: written since the last apply */
	bool answered;	   /* plan: result holds what the last apply said */
	bool spoiled;	   /* feed: a write was refused */
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
	buf_free(&h->stream);
	pthread_mutex_destroy(&h->lock);
	free(h->path);
	free(h);
}

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
	buf_init(&h->stream);
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
	/* Only a stream file does something at close: spare the others the
	 * FLUSH round trip (kernels without FOPEN_NOFLUSH still send it). */
	fi->noflush = !(flags & ATTR_STREAM);
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

/* Records the outcome of a write. `echo BAD > tags/new`: when the first
 * write to a tag this open created fails, the tag goes too. */
static void write_done(struct ipamfs *fs, struct handle *h, int rc)
{
	pthread_mutex_lock(&h->lock);
	bool undo = rc != 0 && h->created && !h->written;
	if (rc == 0)
		h->written = true;
	if (undo)
		h->created = false;
	pthread_mutex_unlock(&h->lock);
	if (undo)
		ipamfs_change(fs, "write", h->path, remove_tag, &h->node);
}

bool ops_open_size(struct fuse_file_info *fi, off_t *size)
{
	struct handle *h = fi ? handle_of(fi) : NULL;
	if (!h || !h->content || h->watching)
		return false;
	*size = (off_t)h->content->len;
	return true;
}

static int serve(const char *data, size_t len, char *out, size_t size,
		 size_t offset)
{
	if (offset >= len)
		return 0;
	size_t n = len - offset < size ? len - offset : size;
	memcpy(out, data + offset, n);
	return (int)n;
}

/* /events read at the end of its snapshot: takes the newer log if it
 * extends the snapshot (the log only grows while the mount lives). */
static void events_refresh(struct ipamfs *fs, struct handle *h)
{
	if (ipam_events_last(fs->db) <= h->events)
		return;
	struct blob *fresh = NULL;
	int64_t events = 0;
	if (content_get(fs, h->path, &h->node, &fresh, &events, NULL))
		return;
	struct blob *old = h->content;
	if (fresh->len >= old->len &&
	    memcmp(fresh->data, old->data, old->len) == 0) {
		h->content = fresh;
		h->events = events;
		watch_set_seen(&fs->watch, &h->watcher, events);
		fresh = old;
	}
	blob_unref(fresh);
}

int ops_read(char *out, size_t size, off_t offset, struct fuse_file_info *fi)
{
	struct ipamfs *fs = ipamfs_get();
	struct handle *h = handle_of(fi);
	int n = 0;
	if (size > INT32_MAX)
		size = INT32_MAX;
	if (h->node.attr->flags & ATTR_STREAM)
		stream_apply(fs, h, "read"); /* a plan read where written */
	pthread_mutex_lock(&h->lock);
	if (h->answered) {
		n = serve(h->result.data, h->result.len, out, size,
			  (size_t)offset);
	} else if (h->node.attr->flags & ATTR_ALLOCATE) {
		n = serve(h->result.data, h->result.len, out, size,
			  h->result_read);
		h->result_read += (size_t)n;
	} else if (h->content) {
		if (h->watching && (size_t)offset >= h->content->len)
			events_refresh(fs, h);
		n = serve(h->content->data, h->content->len, out, size,
			  (size_t)offset);
		if ((size_t)offset + (size_t)n > h->served)
			h->served = (size_t)offset + (size_t)n;
	} else {
		n = -EBADF;
	}
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* One write being applied. */
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

/* The text one write applies: the write itself, or for a set file all
 * that the earlier writes through this open file wrote, then this one.
 * NULL on out-of-memory. */
static char *write_text(struct handle *h, const char *data, size_t size,
			size_t *len)
{
	struct buf text = BUF_INIT;
	if (h->node.attr->flags & ATTR_SET) {
		pthread_mutex_lock(&h->lock);
		buf_append(&text, h->set.data, h->set.len);
		pthread_mutex_unlock(&h->lock);
	}
	buf_append(&text, data, size);
	if (buf_failed(&text) || !text.data) {
		buf_free(&text);
		return NULL;
	}
	*len = text.len;
	return text.data;
}

/* After a successful write: the CIDRs allocate returns, the set so far. */
static void write_keep(struct handle *h, const char *data, size_t size,
		       const struct buf *result)
{
	pthread_mutex_lock(&h->lock);
	if (h->node.attr->flags & ATTR_ALLOCATE)
		buf_append(&h->result, result->data, result->len);
	if (h->node.attr->flags & ATTR_SET) {
		buf_append(&h->set, data, size);
		if (data[size - 1] != '\n') /* a write ends a line */
			buf_putc(&h->set, '\n');
	}
	pthread_mutex_unlock(&h->lock);
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

int ops_write(const char *data, size_t size, off_t offset,
	      struct fuse_file_info *fi)
{
	struct ipamfs *fs = ipamfs_get();
	struct handle *h = handle_of(fi);
	size_t len = 0;
	if ((h->node.attr->flags & ATTR_STREAM) && size > 0)
		return stream_write(fs, h, data, size);
	int rc = write_check(fs, h, data, size);
	if (rc || size == 0)
		return rc;
	char *text = write_text(h, data, size, &len);
	if (!text)
		return -ENOMEM;
	if (len > IPAMFS_WRITE_MAX)
		rc = ipamfs_refuse(fs, "write", h->path, E2BIG,
				   "the set written is over %u bytes",
				   IPAMFS_WRITE_MAX);
	struct write_ctx w = {h, {NULL, 0}, BUF_INIT};
	if (rc == 0)
		rc = split_lines(text, len, &w.in);
	if (rc == 0)
		rc = ipamfs_change(fs, "write", h->path, apply_write, &w);
	write_done(fs, h, rc);
	if (rc == 0)
		write_keep(h, data, size, &w.result);
	buf_free(&w.result);
	free(w.in.lines);
	free(text);
	return rc ? rc : (int)size;
}

/* O_TRUNC and truncate(2) on a writable file do nothing: writes are
 * commands, not content. */
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
	return 0;
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

/* close(2) of a descriptor (or of one of its duplicates). */
int ops_flush(struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	if (!(h->node.attr->flags & ATTR_STREAM))
		return 0;
	return stream_apply(ipamfs_get(), h, "close");
}

int ops_release(struct fuse_file_info *fi)
{
	struct ipamfs *fs = ipamfs_get();
	struct handle *h = handle_of(fi);
	if (h->node.attr->flags & ATTR_STREAM)
		stream_apply(fs, h, "release"); /* no flush came: logged */
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
