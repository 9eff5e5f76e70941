/*
 * values.h - reading written values and printing values, shared by the
 * tables of files (files.c, files_resource.c, files_discovery.c).
 */
#ifndef IPAMFS_VALUES_H
#define IPAMFS_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "files.h"
#include "ipam.h"

/* Fills err with "out of memory" and returns IPAM_ENOMEM. */
int oom(ipam_err *err);

/* `true`/`false` and a newline. */
void put_bool(struct buf *out, bool value);
/* text and a newline. */
void put_line(struct buf *out, const char *text);
/* Appends a buffer a libipam renderer returned (when rc is 0) and frees
 * it; returns rc. When it is the whole content so far, `out` takes the
 * buffer itself instead (libipam's text is malloc'd and NUL-terminated:
 * ipam__buf_finish), so a large view is never copied. */
int put_rendered(struct buf *out, int rc, char *data, size_t len);

/* Strips blanks (space, tab, CR) at both ends, in place. */
char *trim(char *text);
/* The value of a one-value file: its only line, "" for none; IPAM_EINVAL
 * for more than one line. */
int single_value(const struct input *in, char **out, ipam_err *err);
/* The same, trimmed. */
int single_word(const struct input *in, char **out, ipam_err *err);
/* true/false/1/0. */
int parse_bool(const struct input *in, bool *out, ipam_err *err);
/* A decimal integer in [min, max], digits only. */
int parse_int(const char *text, int64_t min, int64_t max, int64_t *out,
	      ipam_err *err);
/* "/LEN" with LEN in 0..128. */
int parse_slash_length(const char *text, int *out, ipam_err *err);
/* The non-blank lines, trimmed, as an array the caller frees (not the
 * strings, which stay in `in`). */
int trimmed_lines(const struct input *in, const char ***out, size_t *count,
		  ipam_err *err);
/* Each item of a list libipam filled (when rc is 0) as a line; frees the
 * list; returns rc. */
int put_strlist(struct buf *out, int rc, ipam_strlist *list);
/* The libipam setters of a named object's lines (rules of a prefix list or
 * of a policy): `set(db, name, lines, count, err)`. */
typedef int (*lines_setter)(ipam *db, const char *name, const char **lines,
			    size_t count, ipam_err *err);
/* Gives the trimmed non-blank lines written to `set` for object `name`. */
int set_lines(ipam *db, const char *name, const struct input *in,
	      lines_setter set, ipam_err *err);

#endif
