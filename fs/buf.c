/*
 * buf.c - growable byte buffers and reference-counted rendered content.
 *
 * See buf.h. Growth doubles the capacity; on overflow or out-of-memory the
 * buffer keeps what it has and is marked failed, and later appends are
 * ignored, so callers test buf_failed() once.
 */
#include "buf.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->failed = false;
	if (b->data)
		b->data[0] = '\0';
}

/* Makes room for `extra` more bytes and the NUL. */
static bool buf_grow(struct buf *b, size_t extra)
{
	if (b->failed)
		return false;
	if (extra > SIZE_MAX / 2 - b->len - 1) {
		b->failed = true;
		return false;
	}
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	char *data = realloc(b->data, cap);
	if (!data) {
		b->failed = true;
		return false;
	}
	b->data = data;
	b->cap = cap;
	return true;
}

void buf_append(struct buf *b, const char *data, size_t len)
{
	if (!buf_grow(b, len))
		return;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *text)
{
	buf_append(b, text, strlen(text));
}

void buf_putc(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if (!buf_grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *buf_release(struct buf *b, size_t *len)
{
	if (!b->failed && !b->data)
		buf_grow(b, 0);
	if (b->failed) {
		buf_free(b);
		return NULL;
	}
	char *data = b->data;
	*len = b->len;
	data[b->len] = '\0';
	/* a doubling buffer may be up to twice its text: give back the rest
	 * (for a large one, mremap shrinks it in place) */
	if (b->cap - b->len > 4096) {
		char *shrunk = realloc(data, b->len + 1);
		if (shrunk)
			data = shrunk;
	}
	buf_init(b);
	return data;
}

void buf_adopt(struct buf *b, char *data, size_t len)
{
	free(b->data);
	b->data = data;
	b->len = len;
	b->cap = len + 1;
	b->failed = false;
}

struct blob *blob_new(const char *data, size_t len)
{
	if (len > SIZE_MAX - sizeof(struct blob) - 1)
		return NULL;
	struct blob *blob = malloc(sizeof(*blob) + len + 1);
	if (!blob)
		return NULL;
	atomic_init(&blob->refs, 1);
	blob->len = len;
	blob->data = blob->inline_data;
	if (len)
		memcpy(blob->data, data, len);
	blob->data[len] = '\0';
	return blob;
}

struct blob *blob_adopt(char *data, size_t len)
{
	struct blob *blob = malloc(sizeof(*blob));
	if (!blob) {
		free(data);
		return NULL;
	}
	atomic_init(&blob->refs, 1);
	blob->len = len;
	blob->data = data;
	return blob;
}

struct blob *blob_ref(struct blob *blob)
{
	atomic_fetch_add(&blob->refs, 1);
	return blob;
}

void blob_unref(struct blob *blob)
{
	if (!blob || atomic_fetch_sub(&blob->refs, 1) != 1)
		return;
	bool large = blob->len >= BLOB_LARGE;
	if (blob->data != blob->inline_data)
		free(blob->data);
	free(blob);
	/* what rendering it left in the heap (a large text is mmap'd and
	 * already unmapped: main.c fixes the mmap threshold) */
	if (large)
		malloc_trim(0);
}
