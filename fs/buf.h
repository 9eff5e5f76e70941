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

struct blob {
	atomic_uint refs;
	size_t len;
	char data[]; /* len bytes and a NUL */
};

/* A new blob holding a copy of data[0..len) (one reference); NULL on
 * out-of-memory. */
struct blob *blob_new(const char *data, size_t len);
struct blob *blob_ref(struct blob *blob);
/* Drops one reference; frees on the last. NULL is ignored. */
void blob_unref(struct blob *blob);

#endif
