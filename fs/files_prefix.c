/*
 * files_prefix.c - the files of a prefix-list resolver
 * (/prefix-lists/<name>/, SPEC §8.1), of its versions/<n> and of its
 * targets/<name>/. Everything is rendered from libipam's kept set; nothing
 * here resolves rules. Nothing here knows about FUSE or errno.
 */
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "ipamfs.h"
#include "values.h"

enum plist_field {
	P_ID,
	P_FAMILY,
	P_DESCRIPTION,
	P_VERSION,
	P_LAST_CHANGE,
};

static int render_plist(struct ipamfs *fs, const struct node *n,
			const struct attr *a, struct buf *out, ipam_err *err)
{
	char when[IPAM_TIME_STRLEN];
	ipam_plist_info *info = malloc(sizeof(*info));
	if (!info)
		return oom(err);
	int rc = ipam_plist_get(fs->db, n->name, info, err);
	if (rc == 0) {
		switch (a->arg) {
		case P_ID:
			put_line(out, info->id);
			break;
		case P_FAMILY:
			put_line(out, info->family == 6 ? "ipv6" : "ipv4");
			break;
		case P_DESCRIPTION:
			put_line(out, info->description);
			break;
		case P_VERSION:
			buf_printf(out, "%lld\n", (long long)info->version);
			break;
		case P_LAST_CHANGE:
			ipam_time_format(info->changed, when);
			put_line(out, when);
			break;
		}
	}
	free(info);
	return rc;
}

static int apply_plist(struct ipamfs *fs, const struct node *n,
		       const struct attr *a, const struct input *in,
		       struct buf *result, ipam_err *err)
{
	char *text = NULL;
	int rc = a->arg == P_DESCRIPTION ? single_value(in, &text, err)
					 : single_word(in, &text, err);
	if (rc)
		return rc;
	if (a->arg == P_DESCRIPTION)
		return ipam_plist_set_description(fs->db, n->name, text, err);
	if (strcmp(text, "ipv4") && strcmp(text, "ipv6"))
		return ipamfs_err(err, IPAM_EINVAL,
				  "address family is ipv4 or ipv6");
	return ipam_plist_set_family(fs->db, n->name, text[3] == '6' ? 6 : 4,
				     err);
}

static int render_rules(struct ipamfs *fs, const struct node *n,
			const struct attr *a, struct buf *out, ipam_err *err)
{
	ipam_strlist rules = {0, NULL};
	return put_strlist(out, ipam_plist_rules(fs->db, n->name, &rules, err),
			   &rules);
}

static int apply_rules(struct ipamfs *fs, const struct node *n,
		       const struct attr *a, const struct input *in,
		       struct buf *result, ipam_err *err)
{
	return set_lines(fs->db, n->name, in, ipam_plist_set_rules, err);
}

/* The set of `version` (0 = latest) in `format`. */
static int render_set(struct ipamfs *fs, const char *list, int64_t version,
		      ipam_plist_format format, struct buf *out, ipam_err *err)
{
	ipam_cidr *cidrs = NULL;
	size_t count = 0;
	char *data = NULL;
	size_t len = 0;
	ipam_plist_info *info = malloc(sizeof(*info));
	if (!info)
		return oom(err);
	int rc = ipam_plist_get(fs->db, list, info, err);
	if (rc == 0)
		rc = ipam_plist_entries(fs->db, list, version, &cidrs, &count,
					err);
	if (rc == 0)
		rc = ipam_plist_render(list, info->family, format,
				       version ? version : info->version, cidrs,
				       count, &data, &len, err);
	free(cidrs);
	free(info);
	return put_rendered(out, rc, data, len);
}

static int render_entries(struct ipamfs *fs, const struct node *n,
			  const struct attr *a, struct buf *out, ipam_err *err)
{
	return render_set(fs, n->name, 0, (ipam_plist_format)a->arg, out, err);
}

const struct attr files_plist_table[] = {
	RO("id", render_plist, P_ID),
	RW("address-family", render_plist, apply_plist, P_FAMILY),
	RW("description", render_plist, apply_plist, P_DESCRIPTION),
	{"rules", ATTR_RW | ATTR_SET, 0, render_rules, apply_rules},
	RO("entries", render_entries, IPAM_PLIST_LINES),
	RO("entries.json", render_entries, IPAM_PLIST_JSON),
	RO("entries.nft", render_entries, IPAM_PLIST_NFT),
	RO("entries.ipset", render_entries, IPAM_PLIST_IPSET),
	RO("version", render_plist, P_VERSION),
	RO("last-change", render_plist, P_LAST_CHANGE),
	{NULL, 0, 0, NULL, NULL},
};

/* versions/<n>: the CIDR lines of a kept version. */
static int render_version(struct ipamfs *fs, const struct node *n,
			  const struct attr *a, struct buf *out, ipam_err *err)
{
	return render_set(fs, n->name, n->plist_version, IPAM_PLIST_LINES, out,
			  err);
}

const struct attr files_plversion = RO("version", render_version, 0);

/* ---- targets/<name>/ ---- */

enum target_field {
	T_FORMAT,
	T_DESIRED,
	T_VERSION,
	T_STATE,
	T_ENTRIES,
	T_SYNC,
};

/* What a target serves, in its format. */
static int render_target_set(struct ipamfs *fs, const struct node *n,
			     const ipam_plist_target *t,
			     const ipam_plist_info *info, struct buf *out,
			     ipam_err *err)
{
	ipam_cidr *cidrs = NULL;
	size_t count = 0, len = 0;
	int64_t version = 0;
	char *data = NULL;
	int rc = ipam_plist_target_entries(fs->db, n->name, n->plist_target,
					   &cidrs, &count, &version, err);
	if (rc == 0)
		rc = ipam_plist_render(n->name, info->family, t->format,
				       version, cidrs, count, &data, &len, err);
	free(cidrs);
	return put_rendered(out, rc, data, len);
}

static int render_target(struct ipamfs *fs, const struct node *n,
			 const struct attr *a, struct buf *out, ipam_err *err)
{
	ipam_plist_target *t = malloc(sizeof(*t));
	ipam_plist_info *info = malloc(sizeof(*info));
	int rc = t && info ? 0 : oom(err);
	if (rc == 0)
		rc = ipam_plist_get(fs->db, n->name, info, err);
	if (rc == 0)
		rc = ipam_plist_target_get(fs->db, n->name, n->plist_target, t,
					   err);
	if (rc == 0) {
		switch (a->arg) {
		case T_FORMAT:
			put_line(out, ipam_plist_format_name(t->format));
			break;
		case T_DESIRED:
			if (t->desired)
				buf_printf(out, "%lld\n",
					   (long long)t->desired);
			else
				put_line(out, "latest");
			break;
		case T_VERSION:
			buf_printf(out, "%lld\n", (long long)t->tracked);
			break;
		case T_STATE:
			put_line(out, !t->sync ? "sync-disabled"
				      : t->tracked == info->version
					      ? "in-sync"
					      : "behind-latest");
			break;
		case T_ENTRIES:
			rc = render_target_set(fs, n, t, info, out, err);
			break;
		case T_SYNC:
			put_line(out, t->sync ? "enabled" : "disabled");
			break;
		}
	}
	free(t);
	free(info);
	return rc;
}

static int apply_target(struct ipamfs *fs, const struct node *n,
			const struct attr *a, const struct input *in,
			struct buf *result, ipam_err *err)
{
	char *text = NULL;
	int64_t version = 0;
	int rc = single_word(in, &text, err);
	if (rc)
		return rc;
	if (a->arg == T_SYNC) {
		if (strcmp(text, "enabled") && strcmp(text, "disabled"))
			return ipamfs_err(err, IPAM_EINVAL,
					  "sync is enabled or disabled");
		return ipam_plist_target_set_sync(
			fs->db, n->name, n->plist_target, text[0] == 'e', err);
	}
	if (a->arg == T_FORMAT) {
		int format = ipam_plist_format_parse(text);
		if (format < 0)
			return ipamfs_err(err, IPAM_EINVAL,
					  "format is entries, json, nft or "
					  "ipset");
		return ipam_plist_target_set_format(
			fs->db, n->name, n->plist_target,
			(ipam_plist_format)format, err);
	}
	if (strcmp(text, "latest") &&
	    parse_int(text, 1, INT64_MAX, &version, NULL))
		return ipamfs_err(err, IPAM_EINVAL,
				  "desired version is 'latest' or a version "
				  "number");
	return ipam_plist_target_set_desired(fs->db, n->name, n->plist_target,
					     version, err);
}

/* A hand edit of a target whose sync is off: CIDR lines, whatever the
 * format shows (`>>` reads the file back, so it needs the plain format). */
static int apply_target_entries(struct ipamfs *fs, const struct node *n,
				const struct attr *a, const struct input *in,
				struct buf *result, ipam_err *err)
{
	const char **items = NULL;
	size_t count = 0;
	ipam_plist_target *t = malloc(sizeof(*t));
	int rc = t ? 0 : oom(err);
	if (rc == 0)
		rc = ipam_plist_target_get(fs->db, n->name, n->plist_target, t,
					   err);
	if (rc == 0 && !t->sync && t->format != IPAM_PLIST_LINES)
		rc = ipamfs_err(err, IPAM_EINVAL,
				"target '%s' shows format %s: hand edits are"
				" CIDR lines, written while its format is"
				" entries",
				n->plist_target,
				ipam_plist_format_name(t->format));
	free(t);
	if (rc == 0)
		rc = trimmed_lines(in, &items, &count, err);
	if (rc == 0)
		rc = ipam_plist_target_set_entries(
			fs->db, n->name, n->plist_target,
			(const char *const *)items, count, err);
	free(items);
	return rc;
}

const struct attr files_pltarget_table[] = {
	RW("format", render_target, apply_target, T_FORMAT),
	RW("desired-version", render_target, apply_target, T_DESIRED),
	RW("sync", render_target, apply_target, T_SYNC),
	RO("version", render_target, T_VERSION),
	RO("state", render_target, T_STATE),
	{"entries", ATTR_RW | ATTR_SET, T_ENTRIES, render_target,
	 apply_target_entries},
	{NULL, 0, 0, NULL, NULL},
};
