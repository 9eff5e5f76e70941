/*
 * content.c - rendering a generated file once, through the cache.
 *
 * getattr needs the exact size of a file and open needs its content; both
 * come from here. The cache key (the newest change-log entry and the
 * mount's generation counter) is read before rendering, so content is
 * never older than the key it is cached under, and a cached rendering is
 * served only while that key is still current. A file whose content
 * depends on the time (ATTR_CLOCKED: history `@now`) also keys on the
 * IPAM clock's current second. Files whose content does not
 * follow the IPAM state (/errors, allocate) bypass the cache.
 * Every text file is valid UTF-8: bytes that are not (stored by an older
 * version, which did not refuse them) are shown as U+FFFD
 * (docs/design/security.md); only ATTR_BINARY files are served as stored.
 */
#include "content.h"

#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "ipamfs.h"

int content_get(struct ipamfs *fs, const char *path, const struct node *n,
		struct blob **out, int64_t *events, ipam_err *err)
{
	const struct attr *a = n->attr;
	bool cacheable = !(a->flags & ATTR_NOCACHE) &&
			 !((a->flags & ATTR_READER) && ipamfs_caller()->uid);
	struct cache_key key = ipamfs_cache_key(fs);
	if (a->flags & ATTR_CLOCKED)
		key.clock = ipam_now(fs->db);
	if (events)
		*events = key.events;
	*out = cacheable ? cache_get(&fs->cache, path, key) : NULL;
	if (*out)
		return 0;
	struct buf text = BUF_INIT;
	int rc = a->render(fs, n, a, &text, err);
	if (rc == 0 && buf_failed(&text))
		rc = ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	if (rc == 0 && !(a->flags & ATTR_BINARY) && text.data &&
	    strlen(text.data) == text.len &&
	    ipam_utf8_invalid(text.data) != (size_t)-1) {
		char *fixed = ipam_utf8_fix(text.data);
		if (!fixed)
			rc = ipamfs_err(err, IPAM_ENOMEM, "out of memory");
		buf_reset(&text);
		if (fixed)
			buf_puts(&text, fixed);
		free(fixed);
	}
	if (rc == 0) {
		size_t len = 0;
		char *data = buf_release(&text, &len);
		*out = data ? blob_adopt(data, len) : NULL;
		if (!*out)
			rc = ipamfs_err(err, IPAM_ENOMEM, "out of memory");
	}
	buf_free(&text);
	if (rc == 0 && cacheable)
		cache_put(&fs->cache, path, key, *out);
	return rc;
}
