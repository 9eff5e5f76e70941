/*
 * files_discovery.c - the files of a resource discovery
 * (/discoveries/<name>/, SPEC §5.3) and of /metrics (SPEC §6.3).
 *
 * `feed` takes a whole snapshot, which can be far bigger than one command
 * batch: ops_file.c gathers every write of one open file (ATTR_STREAM) and
 * hands the text to apply_feed once, when the descriptor is flushed. The
 * built-in `host` discovery also has `refresh` (ATTR_HOST). Both read back
 * what the last snapshot left (`feed`: its time and the resources it holds;
 * `refresh`: its time), so whole-tree readers (tar, rsync, grep -r) can
 * read every file. Nothing here knows about FUSE or errno.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "ipamfs.h"
#include "values.h"

enum discovery_field {
	D_ID,
	D_SCOPE,
	D_LOCALE,
	D_LAST_FEED,
	D_FEED,	   /* feed: what the last snapshot left */
	D_REFRESH, /* refresh: when it was last done */
	D_UNMONITORED,
};

static int render_discovery(struct ipamfs *fs, const struct node *n,
			    const struct attr *a, struct buf *out,
			    ipam_err *err)
{
	char when[IPAM_TIME_STRLEN] = "";
	ipam_discovery_info *info = malloc(sizeof(*info));
	if (!info)
		return oom(err);
	int rc = ipam_discovery_get(fs->db, n->name, info, err);
	if (rc == 0 && a->arg == D_ID)
		put_line(out, info->id);
	else if (rc == 0 && a->arg == D_SCOPE)
		put_line(out, info->scope);
	else if (rc == 0 && a->arg == D_LOCALE)
		put_line(out, info->locale);
	else if (rc == 0 && a->arg == D_UNMONITORED) {
		snprintf(when, sizeof(when), "%lld",
			 (long long)info->unmonitored);
		put_line(out, when);
	} else if (rc == 0) {
		if (info->last_feed)
			ipam_time_format(info->last_feed, when);
		if (a->arg == D_FEED)
			buf_printf(out, "last-feed=%s\nresources=%lld\n", when,
				   (long long)info->resources);
		else
			put_line(out, when);
	}
	free(info);
	return rc;
}

/* A scope that does not exist is a bad value (EINVAL), not a missing
 * file. */
static int apply_discovery(struct ipamfs *fs, const struct node *n,
			   const struct attr *a, const struct input *in,
			   struct buf *result, ipam_err *err)
{
	char *text = NULL;
	int rc = single_word(in, &text, err);
	if (rc)
		return rc;
	if (a->arg == D_LOCALE)
		return ipam_discovery_set_locale(fs->db, n->name, text, err);
	ipam_scope_info *scope = malloc(sizeof(*scope));
	if (!scope)
		return oom(err);
	rc = ipam_scope_get(fs->db, text, scope, NULL);
	free(scope);
	if (rc)
		return ipamfs_err(err, IPAM_EINVAL, "no scope '%.80s'", text);
	return ipam_discovery_set_scope(fs->db, n->name, text, err);
}

static int render_discovery_resources(struct ipamfs *fs, const struct node *n,
				      const struct attr *a, struct buf *out,
				      ipam_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = a->arg ? ipam_render_discovered_accounts_json(
				  fs->db, n->discovery_key, &data, &len, err)
			: ipam_render_resources_json(fs->db, 0,
						     n->discovery_key, &data,
						     &len, err);
	return put_rendered(out, rc, data, len);
}

/* The whole snapshot, as one line holding everything written (see
 * ops_file.c: a stream file's text is not split into lines). */
static int apply_feed(struct ipamfs *fs, const struct node *n,
		      const struct attr *a, const struct input *in,
		      struct buf *result, ipam_err *err)
{
	const char *text = in->count ? in->lines[0] : "";
	return ipam_discovery_feed(fs->db, n->name, text, strlen(text), err);
}

static int apply_refresh(struct ipamfs *fs, const struct node *n,
			 const struct attr *a, const struct input *in,
			 struct buf *result, ipam_err *err)
{
	char *text = NULL;
	int rc = single_word(in, &text, err);
	if (rc == 0 && strcmp(text, "1") != 0)
		rc = ipamfs_err(err, IPAM_EINVAL,
				"write 1 to read this machine's addresses");
	return rc ? rc : ipam_discovery_host_refresh(fs->db, err);
}

static int render_metrics(struct ipamfs *fs, const struct node *n,
			  const struct attr *a, struct buf *out, ipam_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = ipam_render_metrics(fs->db, &data, &len, err);
	return put_rendered(out, rc, data, len);
}

const struct attr files_discovery_table[] = {
	RO("id", render_discovery, D_ID),
	RW("scope", render_discovery, apply_discovery, D_SCOPE),
	RW("locale", render_discovery, apply_discovery, D_LOCALE),
	RO("last-feed", render_discovery, D_LAST_FEED),
	RO("unmonitored", render_discovery, D_UNMONITORED),
	RO("resources.json", render_discovery_resources, 0),
	RO("accounts.json", render_discovery_resources, 1),
	{"feed", ATTR_RW | ATTR_STREAM, D_FEED, render_discovery, apply_feed},
	{"refresh", ATTR_RW | ATTR_HOST | ATTR_COMMAND, D_REFRESH,
	 render_discovery, apply_refresh},
	{NULL, 0, 0, NULL, NULL},
};

const struct attr files_metrics_table[] = {
	RO("ipam.prom", render_metrics, 0),
	{NULL, 0, 0, NULL, NULL},
};
