/*
 * files_policy.c - the files of an IPAM policy (/policies/<name>/, SPEC
 * §8.2) and /policies.json. Targets are written with user and group names
 * or numbers; libipam keeps numbers (user:UID, group:GID), which is what
 * the files show. Nothing here decides an allocation: that is
 * ipam_policy_allocate, called by a resource's allocate file.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "ipamfs.h"
#include "values.h"

enum policy_field {
	F_ID,
	F_DESCRIPTION,
	F_OVERFLOW,
	F_ENABLED,
};

static int render_policy(struct ipamfs *fs, const struct node *n,
			 const struct attr *a, struct buf *out, ipam_err *err)
{
	ipam_policy_info *info = malloc(sizeof(*info));
	if (!info)
		return oom(err);
	int rc = ipam_policy_get(fs->db, n->name, info, err);
	if (rc == 0) {
		switch (a->arg) {
		case F_ID:
			put_line(out, info->id);
			break;
		case F_DESCRIPTION:
			put_line(out, info->description);
			break;
		case F_OVERFLOW:
			put_bool(out, info->overflow);
			break;
		case F_ENABLED:
			put_bool(out, info->enabled);
			break;
		}
	}
	free(info);
	return rc;
}

static int apply_policy(struct ipamfs *fs, const struct node *n,
			const struct attr *a, const struct input *in,
			struct buf *result, ipam_err *err)
{
	char *text = NULL;
	bool value = false;
	int rc;
	if (a->arg == F_DESCRIPTION) {
		rc = single_value(in, &text, err);
		return rc ? rc
			  : ipam_policy_set_description(fs->db, n->name, text,
							err);
	}
	if ((rc = parse_bool(in, &value, err)))
		return rc;
	if (a->arg == F_OVERFLOW)
		return ipam_policy_set_overflow(fs->db, n->name, value, err);
	return ipam_policy_set_enabled(fs->db, n->name, value, err);
}

static int render_lines(struct ipamfs *fs, const struct node *n,
			const struct attr *a, struct buf *out, ipam_err *err)
{
	ipam_strlist list = {0, NULL};
	return put_strlist(
		out,
		a->arg ? ipam_policy_targets(fs->db, n->name, &list, err)
		       : ipam_policy_rules(fs->db, n->name, &list, err),
		&list);
}

static int apply_rules(struct ipamfs *fs, const struct node *n,
		       const struct attr *a, const struct input *in,
		       struct buf *result, ipam_err *err)
{
	return set_lines(fs->db, n->name, in, ipam_policy_set_rules, err);
}

/* `user:NAME` and `group:NAME` as libipam's `user:UID`, `group:GID` (into
 * out, IPAM_POLICY_TARGET_MAX bytes); other text is passed on as it is
 * (libipam checks it). */
static int target_number(const char *text, char *out, ipam_err *err)
{
	bool user = !strncmp(text, "user:", 5);
	bool group = !strncmp(text, "group:", 6);
	const char *name = user ? text + 5 : group ? text + 6 : NULL;
	char scratch[4096];
	if (!name || !*name || strspn(name, "0123456789") == strlen(name)) {
		snprintf(out, IPAM_POLICY_TARGET_MAX, "%.23s", text);
		return strlen(text) < IPAM_POLICY_TARGET_MAX
			       ? 0
			       : ipamfs_err(err, IPAM_EINVAL,
					    "'%.60s' is not a target (all,"
					    " user:NAME|UID or group:NAME|GID)",
					    text);
	}
	if (user) {
		struct passwd pw, *found = NULL;
		getpwnam_r(name, &pw, scratch, sizeof(scratch), &found);
		if (!found)
			return ipamfs_err(err, IPAM_EINVAL, "no user '%.60s'",
					  name);
		snprintf(out, IPAM_POLICY_TARGET_MAX, "user:%u",
			 (unsigned)found->pw_uid);
		return 0;
	}
	struct group gr, *found = NULL;
	getgrnam_r(name, &gr, scratch, sizeof(scratch), &found);
	if (!found)
		return ipamfs_err(err, IPAM_EINVAL, "no group '%.60s'", name);
	snprintf(out, IPAM_POLICY_TARGET_MAX, "group:%u",
		 (unsigned)found->gr_gid);
	return 0;
}

static int apply_targets(struct ipamfs *fs, const struct node *n,
			 const struct attr *a, const struct input *in,
			 struct buf *result, ipam_err *err)
{
	const char **items = NULL;
	char(*numbers)[IPAM_POLICY_TARGET_MAX] = NULL;
	size_t count = 0;
	int rc = trimmed_lines(in, &items, &count, err);
	if (rc == 0 && count && !(numbers = calloc(count, sizeof(*numbers))))
		rc = oom(err);
	for (size_t i = 0; rc == 0 && i < count; i++) {
		ipam_err why = {IPAM_OK, ""};
		if ((rc = target_number(items[i], numbers[i], &why)))
			rc = ipamfs_err(err, rc, "line %zu: %s", i + 1,
					why.msg);
		items[i] = numbers[i];
	}
	if (rc == 0)
		rc = ipam_policy_set_targets(fs->db, n->name, items, count,
					     false, err);
	free(numbers);
	free(items);
	return rc;
}

int files_policy_json(struct ipamfs *fs, const struct node *n,
		      const struct attr *a, struct buf *out, ipam_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = ipam_policy_json(
		fs->db,
		n->kind == NODE_POLICY || n->dir == NODE_POLICY ? n->name
								: NULL,
		(ipam_policy_view)a->arg, &data, &len, err);
	return put_rendered(out, rc, data, len);
}

const struct attr files_policy_table[] = {
	RO("id", render_policy, F_ID),
	RW("description", render_policy, apply_policy, F_DESCRIPTION),
	RW("overflow", render_policy, apply_policy, F_OVERFLOW),
	RW("enabled", render_policy, apply_policy, F_ENABLED),
	{"rules", ATTR_RW | ATTR_SET, 0, render_lines, apply_rules},
	{"targets", ATTR_RW | ATTR_SET, 1, render_lines, apply_targets},
	RO("policy.json", files_policy_json, IPAM_POLICY_DESCRIBE),
	RO("rules.json", files_policy_json, IPAM_POLICY_RULES),
	RO("targets.json", files_policy_json, IPAM_POLICY_TARGETS),
	{NULL, 0, 0, NULL, NULL},
};
