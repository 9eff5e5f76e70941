/*
 * files_resource.c - the files of a resource directory
 * (scopes/<s>/resources/<id>/, SPEC §5.1) and of the IP address history
 * queries (scopes/<s>/history/<CIDR>[@WINDOW][.json], SPEC §7).
 *
 * A resource's attributes are one value per file like a pool's; `cidrs`
 * registers CIDRs chosen elsewhere (unmanaged), `allocate` gets one from a
 * pool (managed) and, read on the same open file, returns what it got.
 * Nothing here knows about FUSE or errno.
 */
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "ipamfs.h"
#include "values.h"

/* Which value a row shows: the `arg` of render_resource. */
enum resource_field {
	R_TYPE,
	R_NAME,
	R_LOCALE,
	R_OWNER,
	R_VPC_ID,
	R_IP_USAGE,
	R_ASSOCIATION,
	R_MONITORING,
	R_DISCOVERY,
	R_STATUS,
	R_STATUS_JSON,
};

static void put_resource_field(struct buf *out, const ipam_resource_info *r,
			       int field)
{
	char count[IPAM_U128_STRLEN];
	switch (field) {
	case R_TYPE:
		put_line(out, r->type);
		break;
	case R_NAME:
		put_line(out, r->name);
		break;
	case R_LOCALE:
		put_line(out, r->locale);
		break;
	case R_OWNER:
		put_line(out, r->owner);
		break;
	case R_VPC_ID:
		put_line(out, r->vpc_id);
		break;
	case R_IP_USAGE:
		count[0] = '\0';
		if (r->has_active_ips)
			ipam_u128_format(r->active_ips, count);
		put_line(out, count);
		break;
	case R_ASSOCIATION:
		put_line(out, r->association);
		break;
	case R_MONITORING:
		put_line(out, r->ignored ? "ignored" : "monitored");
		break;
	case R_DISCOVERY:
		put_line(out, r->discovery);
		break;
	}
}

static int render_resource(struct ipamfs *fs, const struct node *n,
			   const struct attr *a, struct buf *out, ipam_err *err)
{
	ipam_resource_info *info = malloc(sizeof(*info));
	if (!info)
		return oom(err);
	int rc = ipam_resource_get(fs->db, n->resource_key, info, err);
	if (rc == 0)
		put_resource_field(out, info, a->arg);
	free(info);
	return rc;
}

static int render_resource_status(struct ipamfs *fs, const struct node *n,
				  const struct attr *a, struct buf *out,
				  ipam_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = ipam_render_resource_status(fs->db, n->resource_key,
					     a->arg == R_STATUS_JSON, &data,
					     &len, err);
	return put_rendered(out, rc, data, len);
}

static const ipam_resource_field set_fields[] = {
	[R_TYPE] = IPAM_RESOURCE_TYPE,
	[R_NAME] = IPAM_RESOURCE_NAME,
	[R_LOCALE] = IPAM_RESOURCE_LOCALE,
	[R_OWNER] = IPAM_RESOURCE_OWNER,
	[R_VPC_ID] = IPAM_RESOURCE_VPC_ID,
	[R_IP_USAGE] = IPAM_RESOURCE_ACTIVE_IPS,
	[R_ASSOCIATION] = IPAM_RESOURCE_ASSOCIATION,
};

/* name is free text (kept as written); the others are one word. */
static int apply_resource(struct ipamfs *fs, const struct node *n,
			  const struct attr *a, const struct input *in,
			  struct buf *result, ipam_err *err)
{
	char *text = NULL;
	int rc = a->arg == R_NAME ? single_value(in, &text, err)
				  : single_word(in, &text, err);
	if (rc)
		return rc;
	if (a->arg == R_MONITORING) {
		if (strcmp(text, "monitored") && strcmp(text, "ignored"))
			return ipamfs_err(err, IPAM_EINVAL,
					  "expected monitored or ignored");
		return ipam_resource_set_ignored(fs->db, n->resource_key,
						 text[0] == 'i', err);
	}
	return ipam_resource_set(fs->db, n->resource_key, set_fields[a->arg],
				 text, err);
}

/* ---- cidrs ---- */

static int render_resource_cidrs(struct ipamfs *fs, const struct node *n,
				 const struct attr *a, struct buf *out,
				 ipam_err *err)
{
	ipam_resource_cidr *rows = NULL;
	size_t count = 0;
	int rc = ipam_resource_cidrs(fs->db, n->resource_key, &rows, &count,
				     err);
	for (size_t i = 0; rc == 0 && i < count; i++) {
		char text[IPAM_CIDR_STRLEN];
		ipam_cidr_format(&rows[i].cidr, text);
		put_line(out, text);
	}
	free(rows);
	return rc;
}

/* `CIDR` or `+CIDR` registers an unmanaged CIDR, `-CIDR` removes one. */
static int apply_resource_cidrs(struct ipamfs *fs, const struct node *n,
				const struct attr *a, const struct input *in,
				struct buf *result, ipam_err *err)
{
	for (size_t i = 0; i < in->count; i++) {
		char *line = trim(in->lines[i]);
		char op = '+';
		ipam_cidr cidr;
		if (!*line)
			continue;
		if (*line == '+' || *line == '-')
			op = *line++;
		int rc = ipam_cidr_parse(&cidr, trim(line), err);
		if (rc == 0 && op == '-')
			rc = ipam_resource_cidr_remove(fs->db, n->resource_key,
						       &cidr, err);
		else if (rc == 0)
			rc = ipam_resource_cidr_add(fs->db, n->resource_key,
						    &cidr, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- allocate: `POOL-ID [/LEN|CIDR]` ---- */

static int pool_by_id(struct ipamfs *fs, const char *id, int64_t *out,
		      ipam_err *err)
{
	ipam_kind kind;
	if (ipam_id_lookup(fs->db, id, &kind, out, NULL) != 0 ||
	    kind != IPAM_KIND_POOL)
		return ipamfs_err(err, IPAM_EINVAL,
				  "'%.80s' is not the id of a pool", id);
	return 0;
}

/* The RAM rule (L563, L2289) with default_permissions: the resource's
 * owner must be allowed to use the pool, whoever writes the request
 * (ipam_resource_may_use_pool; EACCES). Without default_permissions the
 * mode bits are not enforced at all, and neither is this. */
static int owner_may_use(struct ipamfs *fs, int64_t resource, int64_t pool,
			 ipam_err *err)
{
	if (!fs->default_permissions)
		return 0;
	return ipam_resource_may_use_pool(fs->db, resource, pool, err);
}

/* `/LEN` or `CIDR` without a pool: the active IPAM policy of the writer
 * chooses the pool (SPEC §8.2). */
static int apply_policy_alloc(struct ipamfs *fs, int64_t resource,
			      const char *spec, struct buf *result,
			      ipam_err *err)
{
	int prefix_len = -1;
	ipam_cidr cidr;
	const ipam_cidr *want = NULL;
	ipam_policy_choice *got = malloc(sizeof(*got));
	int rc = got ? 0 : oom(err);
	if (rc == 0 && spec[0] == '/')
		rc = parse_slash_length(spec, &prefix_len, err);
	else if (rc == 0 && strspn(spec, "0123456789") == strlen(spec))
		rc = ipamfs_err(err, IPAM_EINVAL,
				"'%.8s' is not a size: write /%.8s (expected"
				" [POOL-ID] /LEN|CIDR)",
				spec, spec);
	else if (rc == 0 && (rc = ipam_cidr_parse(&cidr, spec, err)) == 0)
		want = &cidr;
	if (rc == 0)
		rc = ipam_policy_allocate(fs->db, resource, want, prefix_len,
					  got, err);
	if (rc == 0) {
		char text[IPAM_CIDR_STRLEN];
		ipam_cidr_format(&got->cidr, text);
		put_line(result, text);
	}
	free(got);
	return rc;
}

static int apply_resource_alloc_line(struct ipamfs *fs, int64_t resource,
				     char *line, struct buf *result,
				     ipam_err *err)
{
	char *words[3] = {NULL, NULL, NULL};
	size_t count = 0;
	for (char *save = NULL, *w = strtok_r(line, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save))
		words[count < 3 ? count++ : 2] = w;
	if (count == 0 || count > 2)
		return ipamfs_err(err, IPAM_EINVAL,
				  "expected [POOL-ID] /LEN|CIDR");
	int64_t pool = 0;
	int prefix_len = -1;
	ipam_cidr cidr, got;
	const ipam_cidr *want = NULL;
	if (count == 1 && strncmp(words[0], "ipam-pool-", 10))
		return apply_policy_alloc(fs, resource, words[0], result, err);
	int rc = pool_by_id(fs, words[0], &pool, err);
	if (rc == 0 && words[1] && strlen(words[1]) <= 3 &&
	    strspn(words[1], "0123456789") == strlen(words[1]))
		rc = ipamfs_err(err, IPAM_EINVAL,
				"'%s' is not a size: write /%s (expected "
				"POOL-ID [/LEN|CIDR])",
				words[1], words[1]);
	else if (rc == 0 && words[1] && words[1][0] == '/')
		rc = parse_slash_length(words[1], &prefix_len, err);
	else if (rc == 0 && words[1] &&
		 (rc = ipam_cidr_parse(&cidr, words[1], err)) == 0)
		want = &cidr;
	if (rc == 0)
		rc = owner_may_use(fs, resource, pool, err);
	if (rc == 0)
		rc = ipam_resource_allocate(fs->db, resource, pool, want,
					    prefix_len, &got, err);
	if (rc == 0) {
		char text[IPAM_CIDR_STRLEN];
		ipam_cidr_format(&got, text);
		put_line(result, text);
	}
	return rc;
}

static int apply_resource_allocate(struct ipamfs *fs, const struct node *n,
				   const struct attr *a, const struct input *in,
				   struct buf *result, ipam_err *err)
{
	for (size_t i = 0; i < in->count; i++) {
		char *line = trim(in->lines[i]);
		if (!*line)
			continue;
		int rc = apply_resource_alloc_line(fs, n->resource_key, line,
						   result, err);
		if (rc)
			return rc;
	}
	return buf_failed(result) ? oom(err) : 0;
}

static int render_nothing(struct ipamfs *fs, const struct node *n,
			  const struct attr *a, struct buf *out, ipam_err *err)
{
	return 0;
}

const struct attr files_resource_table[] = {
	RW("resource-type", render_resource, apply_resource, R_TYPE),
	RW("name", render_resource, apply_resource, R_NAME),
	RW("locale", render_resource, apply_resource, R_LOCALE),
	RW("owner", render_resource, apply_resource, R_OWNER),
	RW("vpc-id", render_resource, apply_resource, R_VPC_ID),
	RW("ip-usage", render_resource, apply_resource, R_IP_USAGE),
	RW("monitoring", render_resource, apply_resource, R_MONITORING),
	RW("association", render_resource, apply_resource, R_ASSOCIATION),
	{"cidrs", ATTR_RW | ATTR_COMMAND, 0, render_resource_cidrs,
	 apply_resource_cidrs},
	{"allocate", ATTR_RW | ATTR_ALLOCATE | ATTR_COMMAND | ATTR_NOCACHE, 0,
	 render_nothing, apply_resource_allocate},
	RO("status", render_resource_status, R_STATUS),
	RO("status.json", render_resource_status, R_STATUS_JSON),
	RO("discovery", render_resource, R_DISCOVERY),
	{NULL, 0, 0, NULL, NULL},
};

/* ---- history ---- */

/* a->arg: 1 for JSON. A `@now` query asks the clock at each rendering. */
static int render_history(struct ipamfs *fs, const struct node *n,
			  const struct attr *a, struct buf *out, ipam_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int64_t from = n->history_from, to = n->history_to;
	if (a->flags & ATTR_CLOCKED)
		from = to = ipam_now(fs->db);
	int rc = ipam_history_query(fs->db, n->scope_key, &n->history_cidr,
				    from, to, a->arg != 0, &data, &len, err);
	return put_rendered(out, rc, data, len);
}

const struct attr files_history[2][2] = {
	{RO("", render_history, 0), RO("", render_history, 1)},
	{{"", ATTR_CLOCKED, 0, render_history, NULL},
	 {"", ATTR_CLOCKED, 1, render_history, NULL}},
};
