/*
 * files_io.c - the root's data files: /export.json, /export-history.json,
 * /import and /plan (SPEC §8.3, docs/design/import.md).
 *
 * The exports are rendered at open from one snapshot. /import and /plan
 * are stream files (ATTR_STREAM, see ops_file.c): everything written
 * through one descriptor is kept and applied when it is flushed, so
 * close(2) returns the errno of a refused import (cp and dd report it).
 * /plan makes the same import and undoes it. What the last import did
 * (or why it was refused) is what /import reads back; the last plan is
 * what /plan reads back, and a read on the descriptor that wrote the
 * document returns that document's plan at once.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "ipamfs.h"

/* The status of /import is kept to this size (a plan is kept whole). */
#define IO_STATUS_MAX ((size_t)1 << 20)

/* What the last import and plan of this mount said. */
static pthread_mutex_t io_lock = PTHREAD_MUTEX_INITIALIZER;
static struct buf io_last[2] = {BUF_INIT, BUF_INIT};

/* Takes a malloc'd rendering as the buffer's content (no copy). */
static int adopt(struct buf *out, int rc, char *data, size_t len)
{
	if (rc || out->len) {
		if (rc == 0)
			buf_append(out, data, len);
		free(data);
		return rc;
	}
	buf_free(out);
	out->data = data;
	out->len = len;
	out->cap = len + 1;
	return 0;
}

int files_io_render(struct ipamfs *fs, const struct node *n,
		    const struct attr *a, struct buf *out, ipam_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc;
	switch (a->arg) {
	case IO_EXPORT:
		rc = ipam_export_json(fs->db, &data, &len, err);
		return adopt(out, rc, data, len);
	case IO_HISTORY:
		rc = ipam_export_history_json(fs->db, &data, &len, err);
		return adopt(out, rc, data, len);
	default:
		pthread_mutex_lock(&io_lock);
		buf_append(out, io_last[a->arg - IO_IMPORT].data,
			   io_last[a->arg - IO_IMPORT].len);
		pthread_mutex_unlock(&io_lock);
		return 0;
	}
}

/* The text /import reads back after an import. */
static void import_status(struct buf *out, int rc, const ipam_err *err,
			  const ipam_import_result *res)
{
	const char *fmt = ipam_import_format_name(res->format);
	if (rc)
		buf_printf(out,
			   "import: refused %s (format %s), nothing applied: "
			   "%s\n",
			   ipam_code_name(rc), fmt, err->msg);
	else
		buf_printf(out,
			   "import: applied (format %s): %zu created, %zu "
			   "changed, %zu deleted\n",
			   fmt, res->created, res->changed, res->deleted);
	if (res->changes_len <= IO_STATUS_MAX) {
		buf_append(out, res->changes, res->changes_len);
		return;
	}
	const char *cut = res->changes + IO_STATUS_MAX;
	while (cut > res->changes && cut[-1] != '\n')
		cut--;
	buf_append(out, res->changes, (size_t)(cut - res->changes));
	buf_printf(out, "... (more changes: the first %zu bytes are shown)\n",
		   (size_t)(cut - res->changes));
}

/* The whole document, as the one "line" a stream file is given. */
int files_io_apply(struct ipamfs *fs, const struct node *n,
		   const struct attr *a, const struct input *in,
		   struct buf *result, ipam_err *err)
{
	const char *text = in->count ? in->lines[0] : "";
	bool plan = a->arg == IO_PLAN;
	ipam_import_result res;
	struct buf status = BUF_INIT;
	int rc = ipam_import(fs->db, text, strlen(text), plan, &res, err);
	if (plan)
		buf_append(&status, res.changes, res.changes_len);
	else
		import_status(&status, rc, err, &res);
	ipam_import_result_free(&res);
	buf_append(result, status.data, status.len);
	pthread_mutex_lock(&io_lock);
	buf_free(&io_last[plan]);
	io_last[plan] = status;
	pthread_mutex_unlock(&io_lock);
	return rc;
}
