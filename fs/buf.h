/*
 * buf.h - growable byte buffers and shared rendered content.
 *
 * `struct buf` is the string builder every renderer of ipamfs writes into:
 * appends never fail visibly, a failed allocation only marks the buffer, and
 * the caller checks buf_failed() once at the end (so a render function is a
 * straight list of appends). `struct blob` is immutable rendered content
 * with a reference count: the cache and every open file that serves it hold
 * one reference each, so a big file is rendered once and never copied.
 */
#ifndef IPAMFS_BUF_H
#define IPAMFS_BUF_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated while len > 0; may be NULL when empty */
	size_t len;
	size_t cap;
	bool failed; /* an allocation failed; content is incomplete */
};

#define BUF_INIT                                                               \
	{                                                                      \
		NULL, 0, 0, false                                              \
	}

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_append(struct buf *b, const char *data, size_t len);
void buf_puts(struct buf *b, const char *text);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline bool buf_failed(const struct buf *b)
{
	return b->failed;
}

/* Hands the text of b to the caller (*len bytes and a NUL, malloc'd; an
 * empty buffer gives "") and leaves b empty; NULL when b failed or on
 * out-of-memory (b is then freed). */
char *buf_release(struct buf *b, size_t *len);
/* Makes b hold `data` (malloc'd, len bytes and a NUL), freeing what it held:
 * a rendering handed over without a copy. */
void buf_adopt(struct buf *b, char *data, size_t len);

struct blob {
	atomic_uint refs;
	size_t len;
	char *data; /* len bytes and a NUL */
	char inline_data[]; /* data when the blob was made by blob_new */
};

/* A new blob holding a copy of data[0..len) (one reference); NULL on
 * out-of-memory. */
struct blob *blob_new(const char *data, size_t len);
/* A blob that takes `data` (malloc'd, len bytes and a NUL) without copying
 * it; NULL on out-of-memory, data is then freed. */
struct blob *blob_adopt(char *data, size_t len);
/* Content at least this big is "large": freeing it gives the memory back to
 * the system at once (malloc_trim, docs/design/views.md). */
#define BLOB_LARGE (1u << 20)
struct blob *blob_ref(struct blob *blob);
/* Drops one reference; frees on the last. NULL is ignored. */
void blob_unref(struct blob *blob);

#endif
