/*
 * values.c - the sysfs conventions of ipamfs in one place: a value is
 * printed with a trailing newline, booleans as true/false, and a written
 * value is the only non-empty line of one write (or the lines of a set),
 * trimmed of blanks.
 */
#include "values.h"

#include <stdlib.h>
#include <string.h>

#include "ipamfs.h"

int oom(ipam_err *err)
{
	return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
}

void put_bool(struct buf *out, bool value)
{
	buf_puts(out, value ? "true\n" : "false\n");
}

void put_line(struct buf *out, const char *text)
{
	buf_puts(out, text);
	buf_putc(out, '\n');
}

/* Appends a buffer a libipam renderer returned, and frees it. */
int put_rendered(struct buf *out, int rc, char *data, size_t len)
{
	if (rc == 0 && out->len == 0 && !out->failed && data)
		buf_adopt(out, data, len); /* the whole content: no copy */
	else if (rc == 0)
		buf_append(out, data, len);
	if (out->data != data)
		free(data);
	return rc;
}

/* ---- parsing written values ---- */

/* Strips blanks (space, tab, CR) at both ends, in place. */
char *trim(char *text)
{
	while (*text == ' ' || *text == '\t' || *text == '\r')
		text++;
	size_t len = strlen(text);
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\t' ||
		       text[len - 1] == '\r'))
		text[--len] = '\0';
	return text;
}

/* The value of a one-value file: its only line, "" for none. */
int single_value(const struct input *in, char **out, ipam_err *err)
{
	static char empty[1];
	if (in->count > 1)
		return ipamfs_err(err, IPAM_EINVAL,
				  "expected one line, got %zu", in->count);
	*out = in->count ? in->lines[0] : empty;
	return 0;
}

/* A trimmed one-value. */
int single_word(const struct input *in, char **out, ipam_err *err)
{
	int rc = single_value(in, out, err);
	if (rc == 0)
		*out = trim(*out);
	return rc;
}

int parse_bool(const struct input *in, bool *out, ipam_err *err)
{
	char *text = NULL;
	int rc = single_word(in, &text, err);
	if (rc)
		return rc;
	if (!strcmp(text, "true") || !strcmp(text, "1"))
		*out = true;
	else if (!strcmp(text, "false") || !strcmp(text, "0"))
		*out = false;
	else
		return ipamfs_err(err, IPAM_EINVAL,
				  "expected true, false, 1 or 0");
	return 0;
}

/* A decimal integer in [min, max], digits only. */
int parse_int(const char *text, int64_t min, int64_t max, int64_t *out,
	      ipam_err *err)
{
	int64_t value = 0;
	size_t len = strlen(text);
	if (len == 0 || len > 18 || strspn(text, "0123456789") != len)
		return ipamfs_err(err, IPAM_EINVAL,
				  "expected a number from %lld to %lld",
				  (long long)min, (long long)max);
	for (size_t i = 0; i < len; i++)
		value = value * 10 + (text[i] - '0');
	if (value < min || value > max)
		return ipamfs_err(
			err, IPAM_EINVAL, "%lld is out of range %lld..%lld",
			(long long)value, (long long)min, (long long)max);
	*out = value;
	return 0;
}

/* The non-blank lines, trimmed, as an array the caller frees (not the
 * strings, which stay in `in`). */
int trimmed_lines(const struct input *in, const char ***out, size_t *count,
		  ipam_err *err)
{
	const char **items = calloc(in->count ? in->count : 1, sizeof(*items));
	if (!items)
		return oom(err);
	*count = 0;
	for (size_t i = 0; i < in->count; i++) {
		char *item = trim(in->lines[i]);
		if (*item)
			items[(*count)++] = item;
	}
	*out = items;
	return 0;
}

int put_strlist(struct buf *out, int rc, ipam_strlist *list)
{
	for (size_t i = 0; rc == 0 && i < list->count; i++)
		put_line(out, list->items[i]);
	ipam_strlist_free(list);
	return rc;
}

int set_lines(ipam *db, const char *name, const struct input *in,
	      lines_setter set, ipam_err *err)
{
	const char **items = NULL;
	size_t count = 0;
	int rc = trimmed_lines(in, &items, &count, err);
	if (rc == 0)
		rc = set(db, name, items, count, err);
	free(items);
	return rc;
}

/* "/LEN" -> LEN. */
int parse_slash_length(const char *text, int *out, ipam_err *err)
{
	int64_t len = 0;
	int rc = text[0] == '/' ? parse_int(text + 1, 0, 128, &len, err)
				: ipamfs_err(err, IPAM_EINVAL, "expected /LEN");
	*out = (int)len;
	return rc;
}
