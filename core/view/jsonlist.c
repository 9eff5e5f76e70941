/*
 * jsonlist.c - a large JSON list written one element at a time.
 *
 * The list views (allocations.json, history records, resource CIDRs...)
 * grow with the IPAM: building the whole document as one jansson tree and
 * dumping it costs the tree (hundreds of bytes per value), the dumped text
 * and its copies at once, several times the file's size
 * (docs/design/views.md). Here each element is built as a small jansson
 * value, dumped into the output buffer at once and freed, so a rendering
 * holds the text and one element. The layout is json_dumps's for the
 * whole document with JSON_INDENT(2) (the tests compare byte for byte):
 * jansson writes a value the same way at any depth except that each line
 * break is followed by two spaces per level, so an element dumped on its
 * own gets the spaces of its depth added after every line break (JSON
 * strings never contain a raw line break).
 */
#include <string.h>

#include "internal.h"

struct indent_ctx {
	ipam__buf *buf;
	const char *pad;
	size_t pad_len;
};

/* json_dump_callback's sink: the text, with `pad` after each line break. */
static int put_indented(const char *text, size_t n, void *data)
{
	struct indent_ctx *ctx = data;
	while (n) {
		const char *nl = memchr(text, '\n', n);
		size_t part = nl ? (size_t)(nl - text) + 1 : n;
		if (ipam__buf_add(ctx->buf, text, part) ||
		    (nl && ipam__buf_add(ctx->buf, ctx->pad, ctx->pad_len)))
			return -1;
		text += part;
		n -= part;
	}
	return 0;
}

void ipam__jlist_begin(ipam__jlist *l, ipam__buf *buf, const char *key,
		       size_t flags)
{
	l->buf = buf;
	l->flags = flags;
	l->count = 0;
	l->keyed = key != NULL;
	if (key) {
		/* the key is a constant name: nothing to escape */
		ipam__buf_add(buf, "{\n  \"", 5);
		ipam__buf_add(buf, key, strlen(key));
		ipam__buf_add(buf, "\": [", 4);
	} else {
		ipam__buf_add(buf, "[", 1);
	}
}

void ipam__jlist_add(ipam__jlist *l, json_t *elem)
{
	/* an element sits at depth 2 under a key, at depth 1 alone */
	static const char pad[] = "    ";
	struct indent_ctx ctx = {l->buf, pad, l->keyed ? 4 : 2};
	if (!elem) { /* a value jansson could not build: out of memory */
		l->buf->failed = 1;
		return;
	}
	ipam__buf_add(l->buf, l->count ? ",\n" : "\n", l->count ? 2 : 1);
	ipam__buf_add(l->buf, pad, ctx.pad_len);
	if (json_dump_callback(elem, put_indented, &ctx,
			       l->flags | JSON_ENCODE_ANY) != 0)
		l->buf->failed = 1;
	json_decref(elem);
	l->count++;
}

void ipam__jlist_end(ipam__jlist *l)
{
	if (l->keyed)
		ipam__buf_add(l->buf, l->count ? "\n  ]\n}\n" : "]\n}\n",
			      l->count ? 7 : 4);
	else
		ipam__buf_add(l->buf, l->count ? "\n]\n" : "]\n",
			      l->count ? 3 : 2);
}
