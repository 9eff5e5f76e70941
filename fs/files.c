/*
 * files.c - the files of each directory: name, mode, how to render the
 * content, how to apply a write.
 *
 * Every attribute of SPEC §3 and §3.1 is one row of a table below (the
 * resources, history, discoveries and metrics of §5-§7 have their tables in
 * files_resource.c and files_discovery.c). Reading
 * renders the whole content from libipam (sysfs style: one value and a
 * newline; booleans `true`/`false`; unset = an empty line). Writing hands
 * the non-empty lines of one write(2) to the row's apply function, which
 * runs inside the transaction ops_write.c opened for the caller:
 *   - value files (description, tier, ...) take exactly one line, or none
 *     to clear;
 *   - set files (operating-locales, allocation-resource-tags) take the
 *     whole new set, one item per line (ops_file.c hands them every line
 *     written through the same open file, so a shell that writes line by
 *     line still sets the whole set);
 *   - command files (cidrs, allocate) run each line as a command.
 * Nothing here knows about FUSE or errno.
 */
#include "files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "ipamfs.h"
#include "readme.h"
#include "values.h"

/* Which value a row shows: the `arg` of the generic renderers. */
enum field {
	F_IPAM_ID,
	F_HOME_LOCALE,
	F_DESCRIPTION,
	F_LOCALES,
	F_PROVIDER_CIDRS,
	F_TIER,
	F_PRIVATE_GUA,
	F_SCOPE_ID,
	F_SCOPE_TYPE,
	F_SCOPE_DEFAULT,
	F_POOL_ID,
	F_STATE,
	F_DEPTH,
	F_SOURCE,
	F_FAMILY,
	F_LOCALE,
	F_AUTO_IMPORT,
	F_MIN_NETMASK,
	F_MAX_NETMASK,
	F_DEFAULT_NETMASK,
	F_STRATEGY,
	F_ADVERTISABLE,
	F_AWS_SERVICE,
	F_IP_SOURCE,
	F_ALLOC_CIDR,
	F_ALLOC_ID,
	F_RESOURCE_TYPE,
	F_RESOURCE_ID,
	F_CREATED,
	F_CIDRS_JSON,
	F_ALLOCS_JSON,
	F_MAP,
	F_STATUS,
	F_STATUS_JSON,
	F_POOL_JSON,
	F_SCOPE_STATUS,
	F_SCOPE_STATUS_JSON,
	F_RESOURCES_JSON,
	F_SCOPE_POOLS_JSON,
	F_MAP_SVG,
	F_ADDRESSES_JSON,
	F_PUBLIC_POOLS_JSON,
	F_PUBLIC_ADDRESSES_JSON,
	F_PUBLIC_SUMMARY,
	F_PUBLIC_SUMMARY_JSON,
};

static void put_netmask(struct buf *out, int len)
{
	if (len >= 0)
		buf_printf(out, "%d", len);
	buf_putc(out, '\n');
}

/* ---- / ---- */

static int render_readme(struct ipamfs *fs, const struct node *n,
			 const struct attr *a, struct buf *out, ipam_err *err)
{
	for (size_t i = 0; ipamfs_readme[i]; i++)
		buf_puts(out, ipamfs_readme[i]);
	return 0;
}

static int render_ipam_json(struct ipamfs *fs, const struct node *n,
			    const struct attr *a, struct buf *out,
			    ipam_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = ipam_render_ipam_json(fs->db, &data, &len, err);
	return put_rendered(out, rc, data, len);
}

/* /scopes.json (describe-ipam-scopes), /discoveries.json
 * (describe-ipam-resource-discoveries). */
static int render_list_json(struct ipamfs *fs, const struct node *n,
			    const struct attr *a, struct buf *out,
			    ipam_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = a->arg ? ipam_render_discoveries_json(fs->db, &data, &len, err)
			: ipam_render_scopes_json(fs->db, &data, &len, err);
	return put_rendered(out, rc, data, len);
}

/* /backup.db: a consistent snapshot of the whole database, taken now
 * (one read transaction): a SQLite file that mounts on its own. */
static int render_backup(struct ipamfs *fs, const struct node *n,
			 const struct attr *a, struct buf *out, ipam_err *err)
{
	unsigned char *data = NULL;
	size_t len = 0;
	int rc = ipam_backup(fs->db, &data, &len, err);
	if (rc == 0)
		buf_append(out, (const char *)data, len);
	free(data);
	return rc;
}

static int render_errors(struct ipamfs *fs, const struct node *n,
			 const struct attr *a, struct buf *out, ipam_err *err)
{
	errlog_render(&fs->errlog, ipamfs_caller()->uid, out);
	return 0;
}

/*
 * The actor uid and the object id of a change-log line
 * {"seq":N,"time":"...","uid":U,"pid":P,"action":"...","id":"ID",...}
 * (core/event.c writes them in that order; the action is a plain word).
 * False when the line is not of that shape.
 */
static bool event_line_who(const char *line, const char *end, uid_t *uid,
			   char id[IPAM_NAME_MAX + 1])
{
	const char *u = memmem(line, (size_t)(end - line), ",\"uid\":", 7);
	const char *p = u ? memmem(u, (size_t)(end - u), ",\"action\":\"", 11)
			  : NULL;
	const char *q =
		p ? memmem(p + 11, (size_t)(end - p - 11), "\",\"id\":\"", 8)
		  : NULL;
	size_t n = 0;
	if (!q)
		return false;
	*uid = (uid_t)strtoul(u + 7, NULL, 10);
	for (q += 8; q < end && *q != '"' && n < IPAM_NAME_MAX; q++) {
		if (*q == '\\' && q + 1 < end)
			q++; /* \" and \\: ids hold no control character */
		id[n++] = *q;
	}
	id[n] = '\0';
	return q < end && *q == '"';
}

/* /events: root sees every change; another reader the changes it made and
 * those of objects it may see (access.c). */
static int render_events(struct ipamfs *fs, const struct node *n,
			 const struct attr *a, struct buf *out, ipam_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = ipam_events_render(fs->db, 0, &data, &len, err);
	struct access who;
	access_init(&who);
	if (rc || who.uid == 0)
		return put_rendered(out, rc, data, len);
	for (const char *line = data; line < data + len;) {
		const char *nl =
			memchr(line, '\n', (size_t)(data + len - line));
		const char *end = nl ? nl + 1 : data + len;
		char id[IPAM_NAME_MAX + 1];
		uid_t actor;
		if (event_line_who(line, end, &actor, id) &&
		    (actor == who.uid || access_object_visible(fs, &who, id)))
			buf_append(out, line, (size_t)(end - line));
		line = end;
	}
	free(data);
	return 0;
}

/* ---- /ipam ---- */

static int render_ipam(struct ipamfs *fs, const struct node *n,
		       const struct attr *a, struct buf *out, ipam_err *err)
{
	ipam_strlist locales = {0, NULL};
	ipam_info *info = malloc(sizeof(*info));
	if (!info)
		return oom(err);
	int rc = ipam_info_get(fs->db, info, err);
	if (rc == 0 && a->arg == F_IPAM_ID)
		put_line(out, info->id);
	else if (rc == 0 && a->arg == F_HOME_LOCALE)
		put_line(out, info->home_locale);
	else if (rc == 0 && a->arg == F_DESCRIPTION)
		put_line(out, info->description);
	else if (rc == 0 && a->arg == F_TIER)
		put_line(out, info->tier == IPAM_TIER_ADVANCED ? "advanced"
							       : "free");
	else if (rc == 0 && a->arg == F_PRIVATE_GUA)
		put_bool(out, info->enable_private_gua);
	else if (rc == 0 &&
		 (a->arg == F_LOCALES || a->arg == F_PROVIDER_CIDRS)) {
		rc = a->arg == F_LOCALES
			     ? ipam_locales_get(fs->db, &locales, err)
			     : ipam_provider_cidrs_get(fs->db, &locales, err);
		for (size_t i = 0; rc == 0 && i < locales.count; i++)
			put_line(out, locales.items[i]);
		ipam_strlist_free(&locales);
	}
	free(info);
	return rc;
}

static int apply_ipam(struct ipamfs *fs, const struct node *n,
		      const struct attr *a, const struct input *in,
		      struct buf *result, ipam_err *err)
{
	char *text = NULL;
	bool on;
	int rc;
	switch (a->arg) {
	case F_DESCRIPTION:
		rc = single_value(in, &text, err);
		return rc ? rc : ipam_set_description(fs->db, text, err);
	case F_TIER:
		rc = single_word(in, &text, err);
		if (rc)
			return rc;
		if (strcmp(text, "free") && strcmp(text, "advanced"))
			return ipamfs_err(err, IPAM_EINVAL,
					  "expected free or advanced");
		return ipam_set_tier(fs->db,
				     text[0] == 'f' ? IPAM_TIER_FREE
						    : IPAM_TIER_ADVANCED,
				     err);
	case F_PRIVATE_GUA:
		rc = parse_bool(in, &on, err);
		return rc ? rc : ipam_set_private_gua(fs->db, on, err);
	}
	return ipamfs_err(err, IPAM_EPERM, "read-only");
}

static int apply_locales(struct ipamfs *fs, const struct node *n,
			 const struct attr *a, const struct input *in,
			 struct buf *result, ipam_err *err)
{
	const char **items = NULL;
	size_t count = 0;
	int rc = trimmed_lines(in, &items, &count, err);
	if (rc == 0)
		rc = a->arg == F_LOCALES
			     ? ipam_locales_set(fs->db, items, count, err)
			     : ipam_provider_cidrs_set(fs->db, items, count,
						       err);
	free(items);
	return rc;
}

/* history-retention-days, event-retention-days: a->arg is the
 * ipam_retention */
static int render_retention(struct ipamfs *fs, const struct node *n,
			    const struct attr *a, struct buf *out,
			    ipam_err *err)
{
	int64_t days = 0;
	int rc = ipam_retention_get(fs->db, (ipam_retention)a->arg, &days,
				    err);
	if (rc == 0)
		buf_printf(out, "%lld\n", (long long)days);
	return rc;
}

static int apply_retention(struct ipamfs *fs, const struct node *n,
			   const struct attr *a, const struct input *in,
			   struct buf *result, ipam_err *err)
{
	char *text = NULL;
	int64_t days = 0;
	int rc = single_word(in, &text, err);
	if (rc == 0)
		rc = parse_int(text, 1, 36500, &days, err);
	return rc ? rc
		  : ipam_retention_set(fs->db, (ipam_retention)a->arg, days,
				       err);
}

/* ---- /ipam: the BYOIP proof settings (docs/design/public.md) ---- */

static int render_byoip_setting(struct ipamfs *fs, const struct node *n,
				const struct attr *a, struct buf *out,
				ipam_err *err)
{
	char *value = NULL;
	int rc = ipam_byoip_setting_get(fs->db, (ipam_byoip_setting)a->arg,
					&value, err);
	if (rc == 0) {
		size_t len = strlen(value);
		buf_append(out, value, len);
		if (len == 0 || value[len - 1] != '\n')
			buf_putc(out, '\n');
	}
	free(value);
	return rc;
}

/* The certificate is a PEM block of many lines, taken whole (a set file:
 * a shell writing it line by line is given every line so far; until the
 * END line arrives the write waits, EBUSY being curable); the account id
 * and the resolver are one word. */
static int apply_byoip_setting(struct ipamfs *fs, const struct node *n,
			       const struct attr *a, const struct input *in,
			       struct buf *result, ipam_err *err)
{
	char *text = NULL;
	int rc;
	if (a->arg != IPAM_BYOIP_CERTIFICATE) {
		rc = single_word(in, &text, err);
		return rc ? rc
			  : ipam_byoip_setting_set(
				    fs->db, (ipam_byoip_setting)a->arg, text,
				    err);
	}
	struct buf pem = BUF_INIT;
	bool ended = false;
	for (size_t i = 0; i < in->count; i++) {
		char *line = trim(in->lines[i]);
		if (!*line)
			continue;
		buf_printf(&pem, "%s\n", line);
		ended = strncmp(line, "-----END ", 9) == 0;
	}
	buf_putc(&pem, '\0');
	if (buf_failed(&pem))
		rc = oom(err);
	else if (pem.len > 1 && !ended &&
		 strncmp(pem.data, "-----BEGIN ", 11) == 0)
		rc = ipamfs_err(err, IPAM_EBUSY,
				"the PEM certificate has no -----END "
				"CERTIFICATE----- line");
	else
		rc = ipam_byoip_setting_set(fs->db, IPAM_BYOIP_CERTIFICATE,
					    pem.data, err);
	buf_free(&pem);
	return rc;
}

static int render_tokens_json(struct ipamfs *fs, const struct node *n,
			      const struct attr *a, struct buf *out,
			      ipam_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = ipam_render_tokens_json(fs->db, &data, &len, err);
	return put_rendered(out, rc, data, len);
}

/* /ipam/verification-tokens/<name>/ */
enum token_field { T_ID, T_NAME, T_VALUE, T_NOT_AFTER, T_STATUS, T_STATE };

static int render_token(struct ipamfs *fs, const struct node *n,
			const struct attr *a, struct buf *out, ipam_err *err)
{
	char when[IPAM_TIME_STRLEN];
	ipam_token_info t;
	int rc = ipam_token_get(fs->db, n->name, &t, err);
	if (rc)
		return rc;
	switch ((enum token_field)a->arg) {
	case T_ID:
		put_line(out, t.id);
		break;
	case T_NAME:
		put_line(out, t.token_name);
		break;
	case T_VALUE:
		put_line(out, t.token_value);
		break;
	case T_NOT_AFTER:
		ipam_time_format(t.not_after, when);
		put_line(out, when);
		break;
	case T_STATUS:
		put_line(out, t.expired ? "expired" : "valid");
		break;
	case T_STATE:
		put_line(out, "create-complete");
		break;
	}
	return 0;
}

/* ---- /asns, /advertisements (docs/design/public.md) ---- */

enum public_view {
	V_ASNS_JSON,
	V_ADVERTS,
	V_ADVERTS_BIRD,
	V_BYOIP_JSON,
	V_WITHDRAW, /* the withdraw file: renders nothing */
};

static int render_public_view(struct ipamfs *fs, const struct node *n,
			      const struct attr *a, struct buf *out,
			      ipam_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = IPAM_EINVAL;
	switch ((enum public_view)a->arg) {
	case V_ASNS_JSON:
		rc = ipam_render_asns_json(fs->db, &data, &len, err);
		break;
	case V_ADVERTS:
	case V_ADVERTS_BIRD:
		rc = ipam_render_advertisements(
			fs->db, n->dir == NODE_POOL ? n->pool_key : 0,
			a->arg == V_ADVERTS_BIRD, &data, &len, err);
		break;
	case V_BYOIP_JSON:
		rc = ipam_render_byoip_cidrs_json(fs->db, &data, &len, err);
		break;
	case V_WITHDRAW:
		return 0;
	}
	return put_rendered(out, rc, data, len);
}

static uint32_t node_asn(const struct node *n)
{
	return (uint32_t)strtoul(n->name, NULL, 10);
}

enum asn_field { A_STATE, A_REASON };

static int render_asn(struct ipamfs *fs, const struct node *n,
		      const struct attr *a, struct buf *out, ipam_err *err)
{
	ipam_asn_info info;
	int rc = ipam_asn_get(fs->db, node_asn(n), &info, err);
	if (rc)
		return rc;
	put_line(out, a->arg == A_STATE ? ipam_byoip_state_name(info.state)
					: info.reason);
	return 0;
}

/* `message=M signature=S`: the signed message naming the ASN. */
static int apply_asn_proof(struct ipamfs *fs, const struct node *n,
			   const struct attr *a, const struct input *in,
			   struct buf *result, ipam_err *err)
{
	const char *message = NULL, *signature = NULL;
	for (size_t i = 0; i < in->count; i++) {
		char *rest = in->lines[i];
		for (;;) {
			rest += strspn(rest, " \t");
			if (!*rest)
				break;
			char *word = rest;
			rest += strcspn(rest, " \t");
			if (*rest)
				*rest++ = '\0';
			if (strncmp(word, "message=", 8) == 0 && !message)
				message = word + 8;
			else if (strncmp(word, "signature=", 10) == 0 &&
				 !signature)
				signature = word + 10;
			else
				return ipamfs_err(err, IPAM_EINVAL,
						  "'%.40s': expected "
						  "message=M signature=S",
						  word);
		}
	}
	if (!message || !signature)
		return ipamfs_err(err, IPAM_EINVAL,
				  "expected message=M signature=S");
	return ipam_asn_prove(fs->db, node_asn(n), message, signature,
			      &ipamfs_deferred, err);
}

static int render_asn_cidrs(struct ipamfs *fs, const struct node *n,
			    const struct attr *a, struct buf *out,
			    ipam_err *err)
{
	ipam_strlist list = {0};
	int rc = ipam_asn_cidrs(fs->db, node_asn(n), &list, err);
	for (size_t i = 0; rc == 0 && i < list.count; i++)
		put_line(out, list.items[i]);
	ipam_strlist_free(&list);
	return rc;
}

/* `+CIDR` (or `CIDR`) associates, `-CIDR` disassociates. */
static int apply_asn_cidrs(struct ipamfs *fs, const struct node *n,
			   const struct attr *a, const struct input *in,
			   struct buf *result, ipam_err *err)
{
	for (size_t i = 0; i < in->count; i++) {
		char *line = trim(in->lines[i]);
		bool on = *line != '-';
		ipam_cidr cidr;
		if (!*line)
			continue;
		if (*line == '+' || *line == '-')
			line = trim(line + 1);
		int rc = ipam_cidr_parse(&cidr, line, err);
		if (rc == 0)
			rc = ipam_asn_associate(fs->db, node_asn(n), &cidr, on,
						err);
		if (rc)
			return rc;
	}
	return 0;
}

/* A pool's `advertise`: `CIDR [asn=ASN]`; `withdraw`: `CIDR`. */
static int apply_advertise(struct ipamfs *fs, const struct node *n,
			   const struct attr *a, const struct input *in,
			   struct buf *result, ipam_err *err)
{
	for (size_t i = 0; i < in->count; i++) {
		char *line = trim(in->lines[i]), *rest;
		int64_t asn = -1;
		ipam_cidr cidr;
		int rc;
		if (!*line)
			continue;
		rest = line + strcspn(line, " \t");
		if (*rest)
			*rest++ = '\0';
		rest = trim(rest);
		if ((rc = ipam_cidr_parse(&cidr, line, err)))
			return rc;
		if (a->arg == V_WITHDRAW) {
			if (*rest)
				return ipamfs_err(err, IPAM_EINVAL,
						  "'%.40s': withdraw takes a "
						  "CIDR only",
						  rest);
			rc = ipam_withdraw(fs->db, n->pool_key, &cidr, err);
		} else {
			if (*rest && strncmp(rest, "asn=", 4))
				return ipamfs_err(err, IPAM_EINVAL,
						  "'%.40s': expected CIDR "
						  "[asn=ASN]",
						  rest);
			if (*rest && strcmp(rest + 4, "AWS")) {
				uint32_t value;
				if ((rc = ipam_asn_parse(rest + 4, &value,
							 err)))
					return rc;
				asn = value;
			}
			rc = ipam_advertise(fs->db, n->pool_key, &cidr, asn,
					    err);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- /clock (-o settable-clock) ---- */

static int render_clock(struct ipamfs *fs, const struct node *n,
			const struct attr *a, struct buf *out, ipam_err *err)
{
	char text[IPAM_TIME_STRLEN];
	ipam_time_format(ipam_now(fs->db), text);
	put_line(out, text);
	return 0;
}

/* An ISO time freezes the clock at it; `system` lets it run again. */
static int apply_clock(struct ipamfs *fs, const struct node *n,
		       const struct attr *a, const struct input *in,
		       struct buf *result, ipam_err *err)
{
	char *text = NULL;
	int64_t when = 0;
	int rc = single_word(in, &text, err);
	if (rc)
		return rc;
	if (strcmp(text, "system") == 0) {
		ipamfs_clock_set(fs, IPAMFS_CLOCK_SYSTEM);
		return 0;
	}
	if (ipam_time_parse(&when, text) || when == IPAMFS_CLOCK_SYSTEM)
		return ipamfs_err(err, IPAM_EINVAL,
				  "expected an ISO 8601 UTC time "
				  "(2026-11-27T10:00:00Z) or 'system'");
	ipamfs_clock_set(fs, when);
	return 0;
}

/* ---- /ipam/quotas ---- */

static int render_quota(struct ipamfs *fs, const struct node *n,
			const struct attr *a, struct buf *out, ipam_err *err)
{
	int64_t value = 0;
	int rc = ipam_quota_get(fs->db, (ipam_quota)a->arg, &value, err);
	if (rc == 0)
		buf_printf(out, "%lld\n", (long long)value);
	return rc;
}

static int apply_quota(struct ipamfs *fs, const struct node *n,
		       const struct attr *a, const struct input *in,
		       struct buf *result, ipam_err *err)
{
	char *text = NULL;
	int64_t value = 0;
	int rc = single_word(in, &text, err);
	if (rc == 0)
		rc = parse_int(text, 0, 1000000000, &value, err);
	return rc ? rc : ipam_quota_set(fs->db, (ipam_quota)a->arg, value, err);
}

/* ---- /scopes/<s> ---- */

static int render_scope(struct ipamfs *fs, const struct node *n,
			const struct attr *a, struct buf *out, ipam_err *err)
{
	ipam_scope_info *info = malloc(sizeof(*info));
	if (!info)
		return oom(err);
	int rc = ipam_scope_get_by_key(fs->db, n->scope_key, info, err);
	if (rc == 0 && a->arg == F_SCOPE_ID)
		put_line(out, info->id);
	else if (rc == 0 && a->arg == F_SCOPE_TYPE)
		put_line(out, info->is_public ? "public" : "private");
	else if (rc == 0 && a->arg == F_DESCRIPTION)
		put_line(out, info->description);
	else if (rc == 0 && a->arg == F_SCOPE_DEFAULT)
		put_bool(out, info->is_default);
	free(info);
	return rc;
}

/* Views libipam renders whole: status, status.json, resources.json. */
static int render_scope_view(struct ipamfs *fs, const struct node *n,
			     const struct attr *a, struct buf *out,
			     ipam_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc;
	if (a->arg == F_RESOURCES_JSON)
		rc = ipam_render_resources_json(fs->db, n->scope_key, 0, &data,
						&len, err);
	else if (a->arg == F_SCOPE_POOLS_JSON)
		rc = ipam_render_scope_pools_json(fs->db, n->scope_key, &data,
						  &len, err);
	else if (a->arg == F_ADDRESSES_JSON)
		rc = ipam_render_addresses_json(fs->db, n->scope_key, &data,
						&len, err);
	else if (a->arg == F_PUBLIC_ADDRESSES_JSON)
		rc = ipam_render_public_addresses_json(fs->db, n->scope_key,
						       &data, &len, err);
	else if (a->arg == F_PUBLIC_SUMMARY || a->arg == F_PUBLIC_SUMMARY_JSON)
		rc = ipam_render_public_ip_summary(
			fs->db, n->scope_key, a->arg == F_PUBLIC_SUMMARY_JSON,
			&data, &len, err);
	else if (a->arg == F_PUBLIC_POOLS_JSON)
		rc = ipam_render_public_ipv4_pools_json(fs->db, n->scope_key,
							&data, &len, err);
	else
		rc = ipam_render_scope_status(fs->db, n->scope_key,
					      a->arg == F_SCOPE_STATUS_JSON,
					      &data, &len, err);
	return put_rendered(out, rc, data, len);
}

static int apply_scope(struct ipamfs *fs, const struct node *n,
		       const struct attr *a, const struct input *in,
		       struct buf *result, ipam_err *err)
{
	char *text = NULL;
	int rc = single_value(in, &text, err);
	return rc ? rc
		  : ipam_scope_set_description(fs->db, n->scope_key, text, err);
}

/* allocate-address: `SOURCE-ID [ADDRESS]` per line, SOURCE-ID an IPAM
 * pool (ipam-pool-...) or public IPv4 pool (ipv4pool-ec2-...) id; each
 * line returns `EIPALLOC-ID ADDRESS` on the same open file. */
static int apply_allocate_address(struct ipamfs *fs, const struct node *n,
				  const struct attr *a, const struct input *in,
				  struct buf *result, ipam_err *err)
{
	for (size_t i = 0; i < in->count; i++) {
		char *words[3] = {NULL, NULL, NULL}, *save = NULL;
		char id[IPAM_RESOURCE_ID_MAX + 1], text[IPAM_CIDR_STRLEN + 4];
		ipam_cidr want, got;
		size_t count = 0;
		int rc = 0;
		for (char *w = strtok_r(in->lines[i], " \t", &save); w;
		     w = strtok_r(NULL, " \t", &save))
			words[count < 3 ? count++ : 2] = w;
		if (count == 0)
			continue;
		if (count > 2)
			return ipamfs_err(err, IPAM_EINVAL,
					  "expected 'SOURCE-ID [ADDRESS]', "
					  "got a third word '%.40s'",
					  words[2]);
		if (count == 2) {
			snprintf(text, sizeof(text), "%s%s", words[1],
				 strchr(words[1], '/') ? "" : "/32");
			rc = ipam_cidr_parse(&want, text, err);
		}
		if (rc == 0)
			rc = ipam_eip_allocate(fs->db, n->scope_key, words[0],
					       count == 2 ? &want : NULL,
					       fs->default_permissions, id,
					       &got, err);
		if (rc)
			return rc;
		ipam_cidr_format(&got, text);
		*strchr(text, '/') = '\0';
		buf_printf(result, "%s %s\n", id, text);
	}
	return buf_failed(result) ? oom(err) : 0;
}

/* move-byoip-cidr-to-ipam: `CIDR POOL-ID` per line; each line returns
 * `CIDR complete-transfer` on the same open file. */
static int apply_move_byoip(struct ipamfs *fs, const struct node *n,
			    const struct attr *a, const struct input *in,
			    struct buf *result, ipam_err *err)
{
	for (size_t i = 0; i < in->count; i++) {
		char *words[3] = {NULL, NULL, NULL}, *save = NULL;
		char text[IPAM_CIDR_STRLEN];
		ipam_cidr cidr;
		size_t count = 0;
		int rc;
		for (char *w = strtok_r(in->lines[i], " \t", &save); w;
		     w = strtok_r(NULL, " \t", &save))
			words[count < 3 ? count++ : 2] = w;
		if (count == 0)
			continue;
		if (count != 2)
			return ipamfs_err(err, IPAM_EINVAL,
					  "expected 'CIDR POOL-ID'");
		if ((rc = ipam_cidr_parse(&cidr, words[0], err)) ||
		    (rc = ipam_byoip_move_to_ipam(fs->db, n->scope_key, &cidr,
						  words[1],
						  fs->default_permissions,
						  err)))
			return rc;
		ipam_cidr_format(&cidr, text);
		buf_printf(result, "%s complete-transfer\n", text);
	}
	return buf_failed(result) ? oom(err) : 0;
}

/* ---- pools ---- */

static void put_pool_field(struct buf *out, const ipam_pool_info *info,
			   int field)
{
	switch (field) {
	case F_POOL_ID:
		put_line(out, info->id);
		break;
	case F_STATE:
		put_line(out, "create-complete");
		break;
	case F_DEPTH:
		buf_printf(out, "%d\n", info->depth);
		break;
	case F_SOURCE:
		put_line(out, info->parent_key ? info->source_id : "scope");
		break;
	case F_DESCRIPTION:
		put_line(out, info->description);
		break;
	case F_FAMILY:
		put_line(out, info->family == 6 ? "ipv6" : "ipv4");
		break;
	case F_LOCALE:
		put_line(out, info->locale[0] ? info->locale : "none");
		break;
	case F_AUTO_IMPORT:
		put_bool(out, info->auto_import);
		break;
	case F_MIN_NETMASK:
		put_netmask(out, info->min_netmask);
		break;
	case F_MAX_NETMASK:
		put_netmask(out, info->max_netmask);
		break;
	case F_DEFAULT_NETMASK:
		put_netmask(out, info->default_netmask);
		break;
	case F_STRATEGY:
		put_line(out, ipam_strategy_name(info->strategy));
		break;
	case F_ADVERTISABLE:
		put_bool(out, info->publicly_advertisable);
		break;
	case F_AWS_SERVICE:
		put_line(out, info->aws_service);
		break;
	case F_IP_SOURCE:
		put_line(out, info->public_ip_source);
		break;
	}
}

static int render_pool(struct ipamfs *fs, const struct node *n,
		       const struct attr *a, struct buf *out, ipam_err *err)
{
	ipam_pool_info *info = malloc(sizeof(*info));
	if (!info)
		return oom(err);
	int rc = ipam_pool_get(fs->db, n->pool_key, info, err);
	if (rc == 0)
		put_pool_field(out, info, a->arg);
	free(info);
	return rc;
}

/* The views libipam renders whole. */
static int render_pool_view(struct ipamfs *fs, const struct node *n,
			    const struct attr *a, struct buf *out,
			    ipam_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = IPAM_EINVAL;
	int64_t pool = n->pool_key;
	switch (a->arg) {
	case F_CIDRS_JSON:
		rc = ipam_render_pool_cidrs_json(fs->db, pool, &data, &len,
						 err);
		break;
	case F_ALLOCS_JSON:
		rc = ipam_render_pool_allocations_json(fs->db, pool, &data,
						       &len, err);
		break;
	case F_MAP:
		rc = ipam_render_pool_map(fs->db, pool, &data, &len, err);
		break;
	case F_STATUS:
	case F_STATUS_JSON:
		rc = ipam_render_pool_status(fs->db, pool,
					     a->arg == F_STATUS_JSON, &data,
					     &len, err);
		break;
	case F_POOL_JSON:
		rc = ipam_render_pool_json(fs->db, pool, &data, &len, err);
		break;
	}
	return put_rendered(out, rc, data, len);
}

static int render_required_tags(struct ipamfs *fs, const struct node *n,
				const struct attr *a, struct buf *out,
				ipam_err *err)
{
	ipam_strlist tags = {0, NULL};
	int rc = ipam_pool_get_required_tags(fs->db, n->pool_key, &tags, err);
	for (size_t i = 0; rc == 0 && i < tags.count; i++)
		put_line(out, tags.items[i]);
	ipam_strlist_free(&tags);
	return rc;
}

static int render_cidrs(struct ipamfs *fs, const struct node *n,
			const struct attr *a, struct buf *out, ipam_err *err)
{
	ipam_pool_cidr *cidrs = NULL;
	size_t count = 0;
	int rc = ipam_pool_cidrs(fs->db, n->pool_key, &cidrs, &count, err);
	for (size_t i = 0; rc == 0 && i < count; i++) {
		char text[IPAM_CIDR_STRLEN];
		ipam_cidr_format(&cidrs[i].cidr, text);
		if (strcmp(cidrs[i].state, "provisioned")) {
			/* a BYOIP CIDR on its way (docs/tree.md) */
			buf_printf(out, "%s %s\n", text, cidrs[i].state);
			continue;
		}
		put_line(out, text);
	}
	free(cidrs);
	return rc;
}

static int render_nothing(struct ipamfs *fs, const struct node *n,
			  const struct attr *a, struct buf *out, ipam_err *err)
{
	return 0;
}

static int parse_family(const char *text, int *out, ipam_err *err)
{
	if (!strcmp(text, "ipv4"))
		*out = 4;
	else if (!strcmp(text, "ipv6"))
		*out = 6;
	else
		return ipamfs_err(err, IPAM_EINVAL, "expected ipv4 or ipv6");
	return 0;
}

/* An empty value clears a netmask rule. */
static int apply_netmask(struct ipamfs *fs, int64_t pool, int field,
			 const char *text, ipam_err *err)
{
	int64_t len = -1;
	if (*text) {
		int rc = parse_int(text, 0, 128, &len, err);
		if (rc)
			return rc;
	}
	ipam_netmask_rule rule = field == F_MIN_NETMASK ? IPAM_NETMASK_MIN
				 : field == F_MAX_NETMASK
					 ? IPAM_NETMASK_MAX
					 : IPAM_NETMASK_DEFAULT;
	return ipam_pool_set_netmask(fs->db, pool, rule, (int)len, err);
}

/* Fields whose value is one word (trimmed). */
static int apply_pool_word(struct ipamfs *fs, int64_t pool, int field,
			   const char *text, ipam_err *err)
{
	int family = 0;
	ipam_strategy strategy;
	switch (field) {
	case F_FAMILY: {
		int rc = parse_family(text, &family, err);
		return rc ? rc
			  : ipam_pool_set_family(fs->db, pool, family, err);
	}
	case F_LOCALE:
		return ipam_pool_set_locale(fs->db, pool, text, err);
	case F_MIN_NETMASK:
	case F_MAX_NETMASK:
	case F_DEFAULT_NETMASK:
		return apply_netmask(fs, pool, field, text, err);
	case F_STRATEGY:
		if (ipam_strategy_parse(&strategy, text))
			return ipamfs_err(err, IPAM_EINVAL,
					  "expected first-fit, last-fit or "
					  "best-fit");
		return ipam_pool_set_strategy(fs->db, pool, strategy, err);
	case F_AWS_SERVICE:
		return ipam_pool_set_aws_service(fs->db, pool, text, err);
	case F_IP_SOURCE:
		return ipam_pool_set_public_ip_source(fs->db, pool, text, err);
	}
	return ipamfs_err(err, IPAM_EPERM, "read-only");
}

static int apply_pool(struct ipamfs *fs, const struct node *n,
		      const struct attr *a, const struct input *in,
		      struct buf *result, ipam_err *err)
{
	char *text = NULL;
	bool on;
	int rc;
	switch (a->arg) {
	case F_DESCRIPTION:
		rc = single_value(in, &text, err);
		return rc ? rc
			  : ipam_pool_set_description(fs->db, n->pool_key, text,
						      err);
	case F_AUTO_IMPORT:
		rc = parse_bool(in, &on, err);
		return rc ? rc
			  : ipam_pool_set_auto_import(fs->db, n->pool_key, on,
						      err);
	case F_ADVERTISABLE:
		rc = parse_bool(in, &on, err);
		return rc ? rc
			  : ipam_pool_set_publicly_advertisable(
				    fs->db, n->pool_key, on, err);
	}
	rc = single_word(in, &text, err);
	return rc ? rc : apply_pool_word(fs, n->pool_key, a->arg, text, err);
}

static int apply_required_tags(struct ipamfs *fs, const struct node *n,
			       const struct attr *a, const struct input *in,
			       struct buf *result, ipam_err *err)
{
	const char **items = NULL;
	size_t count = 0;
	int rc = trimmed_lines(in, &items, &count, err);
	if (rc == 0)
		rc = ipam_pool_set_required_tags(fs->db, n->pool_key, items,
						 count, err);
	free(items);
	return rc;
}

/* ---- commands: cidrs and allocate ---- */

/* `10.0.0.0/16`, `+10.0.0.0/16`, `-10.0.0.0/16` or `/16` (`+/16`). */
static int apply_cidr_line(struct ipamfs *fs, int64_t pool, char *line,
			   ipam_err *err)
{
	char op = '+';
	if (*line == '+' || *line == '-')
		op = *line++;
	line = trim(line);
	ipam_cidr cidr;
	if (*line == '/') {
		int len = 0;
		if (op == '-')
			return ipamfs_err(err, IPAM_EINVAL,
					  "'-%s': deprovision needs a CIDR",
					  line);
		int rc = parse_slash_length(line, &len, err);
		return rc ? rc
			  : ipam_pool_provision_len(fs->db, pool, len, &cidr,
						    err);
	}
	/* the CIDR, then (provision only) a proof: message=M signature=S
	 * or dns-token=ID (docs/design/public.md) */
	char *rest = line + strcspn(line, " \t");
	ipam_byoip_proof proof = {NULL, NULL, NULL};
	if (*rest)
		*rest++ = '\0';
	int rc = ipam_cidr_parse(&cidr, line, err);
	if (rc)
		return rc;
	for (;;) {
		rest += strspn(rest, " \t");
		if (!*rest)
			break;
		char *word = rest;
		rest += strcspn(rest, " \t");
		if (*rest)
			*rest++ = '\0';
		const char **slot = NULL;
		if (strncmp(word, "message=", 8) == 0)
			slot = &proof.message, word += 8;
		else if (strncmp(word, "signature=", 10) == 0)
			slot = &proof.signature, word += 10;
		else if (strncmp(word, "dns-token=", 10) == 0)
			slot = &proof.dns_token, word += 10;
		if (!slot || *slot || op == '-')
			return ipamfs_err(
				err, IPAM_EINVAL,
				op == '-' ? "'-CIDR' takes nothing after the CIDR"
				: slot	  ? "'%.40s' is given twice"
					  : "'%.40s': expected message=, "
					    "signature= or dns-token= after the "
					    "CIDR",
				word);
		*slot = word;
	}
	if (proof.dns_token && (proof.message || proof.signature))
		return ipamfs_err(err, IPAM_EINVAL,
				  "give either message= and signature= or "
				  "dns-token=, not both");
	if (op == '-')
		return ipam_pool_deprovision(fs->db, pool, &cidr, err);
	return ipam_pool_provision_proven(fs->db, pool, &cidr, &proof,
					  &ipamfs_deferred, err);
}

static int apply_cidrs(struct ipamfs *fs, const struct node *n,
		       const struct attr *a, const struct input *in,
		       struct buf *result, ipam_err *err)
{
	for (size_t i = 0; i < in->count; i++) {
		char *line = trim(in->lines[i]);
		if (!*line)
			continue;
		int rc = apply_cidr_line(fs, n->pool_key, line, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* A parsed `[NAME] [CIDR-or-/LEN] [dns-name=NAME] [mac-address=MAC]
 * [description=TEXT]`. */
struct alloc_cmd {
	char *name;
	char *spec;
	char *description;
	char *host[2]; /* by ipam_host_field */
};

static const char *const host_keys[2] = {
	[IPAM_HOST_DNS_NAME] = "dns-name=",
	[IPAM_HOST_MAC_ADDRESS] = "mac-address=",
};

/* Takes a `dns-name=` or `mac-address=` word; true when it was one. */
static bool host_option(char *word, struct alloc_cmd *cmd)
{
	for (int f = 0; f < 2; f++) {
		size_t n = strlen(host_keys[f]);
		if (strncmp(word, host_keys[f], n) == 0) {
			cmd->host[f] = word + n;
			return true;
		}
	}
	return false;
}

/* Whether a word is a bare prefix length (`24`: a size missing its
 * '/'). */
static bool is_length(const char *word)
{
	size_t n = strlen(word);
	return n > 0 && n <= 3 && strspn(word, "0123456789") == n &&
	       atoi(word) <= 128;
}

/* Splits an allocate line. `description=` takes the rest of the line; of
 * the words before it, the one with a '/' is the CIDR or length (names
 * never contain '/'), the other the name. */
static int parse_alloc_line(char *line, struct alloc_cmd *cmd, ipam_err *err)
{
	static const char key[] = "description=";
	char *words[2];
	size_t count = 0;
	memset(cmd, 0, sizeof(*cmd));
	for (;;) {
		line += strspn(line, " \t");
		if (!*line)
			break;
		if (strncmp(line, key, sizeof(key) - 1) == 0) {
			cmd->description = line + sizeof(key) - 1;
			break;
		}
		char *word = line;
		line += strcspn(line, " \t");
		if (*line)
			*line++ = '\0';
		if (host_option(word, cmd))
			continue;
		if (count == 2)
			return ipamfs_err(err, IPAM_EINVAL,
					  "expected [NAME] CIDR-or-/LEN "
					  "[description=TEXT]");
		words[count++] = word;
	}
	for (size_t i = 0; i < count; i++) {
		char **slot = strchr(words[i], '/') ? &cmd->spec : &cmd->name;
		if (*slot && slot == &cmd->name && is_length(words[i]))
			return ipamfs_err(err, IPAM_EINVAL,
					  "'%s' is not a size: write /%s "
					  "(expected [NAME] CIDR-or-/LEN "
					  "[description=TEXT])",
					  words[i], words[i]);
		if (*slot || (i == 0 && count == 2 && slot == &cmd->spec))
			return ipamfs_err(err, IPAM_EINVAL,
					  "expected [NAME] CIDR-or-/LEN "
					  "[description=TEXT]");
		*slot = words[i];
	}
	return 0;
}

static int apply_alloc_line(struct ipamfs *fs, int64_t pool, char *line,
			    struct buf *result, ipam_err *err)
{
	struct alloc_cmd cmd;
	ipam_cidr cidr;
	ipam_alloc_req req = {NULL, NULL, -1, NULL};
	int rc = parse_alloc_line(line, &cmd, err);
	if (rc)
		return rc;
	if (cmd.spec && cmd.spec[0] == '/')
		rc = parse_slash_length(cmd.spec, &req.prefix_len, err);
	else if (cmd.spec && (rc = ipam_cidr_parse(&cidr, cmd.spec, err)) == 0)
		req.cidr = &cidr;
	if (rc)
		return rc;
	req.name = cmd.name;
	req.description = cmd.description;
	ipam_alloc_info *info = malloc(sizeof(*info));
	if (!info)
		return oom(err);
	rc = ipam_alloc_create(fs->db, pool, &req, info, err);
	for (int f = 0; rc == 0 && f < 2; f++)
		if (cmd.host[f])
			rc = ipam_alloc_set_host(fs->db, pool, info->name,
						 (ipam_host_field)f,
						 cmd.host[f], err);
	if (rc == 0) {
		char text[IPAM_CIDR_STRLEN];
		ipam_cidr_format(&info->cidr, text);
		put_line(result, text);
	}
	free(info);
	return rc;
}

static int apply_allocate(struct ipamfs *fs, const struct node *n,
			  const struct attr *a, const struct input *in,
			  struct buf *result, ipam_err *err)
{
	for (size_t i = 0; i < in->count; i++) {
		char *line = trim(in->lines[i]);
		if (!*line)
			continue;
		int rc = apply_alloc_line(fs, n->pool_key, line, result, err);
		if (rc)
			return rc;
	}
	return buf_failed(result) ? oom(err) : 0;
}

/* ---- allocations, tags, preview ---- */

static int render_alloc(struct ipamfs *fs, const struct node *n,
			const struct attr *a, struct buf *out, ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN > IPAM_TIME_STRLEN ? IPAM_CIDR_STRLEN
						      : IPAM_TIME_STRLEN];
	ipam_alloc_info *info = malloc(sizeof(*info));
	if (!info)
		return oom(err);
	int rc = ipam_alloc_get(fs->db, n->pool_key, n->name, info, err);
	if (rc == 0 && a->arg == F_ALLOC_CIDR) {
		ipam_cidr_format(&info->cidr, text);
		put_line(out, text);
	} else if (rc == 0 && a->arg == F_ALLOC_ID) {
		put_line(out, info->id);
	} else if (rc == 0 && a->arg == F_RESOURCE_TYPE) {
		put_line(out, info->resource_type);
	} else if (rc == 0 && a->arg == F_RESOURCE_ID) {
		put_line(out, info->resource_id);
	} else if (rc == 0 && a->arg == F_DESCRIPTION) {
		put_line(out, info->description);
	} else if (rc == 0 && a->arg == F_CREATED) {
		ipam_time_format(info->created, text);
		put_line(out, text);
	}
	free(info);
	return rc;
}

/*
 * Tag keys and file names. AWS tag keys may hold '/' (kubernetes.io/cluster/
 * NAME), which a file name cannot: the file name of a key writes '/' as
 * "%2F" and '%' as "%25"; the key of a file name reads "%2F" (or "%2f") as
 * '/' and "%25" as '%', any other '%' as itself.
 */
static void tag_key_of_name(const char *name, char key[IPAM_NAME_MAX + 1])
{
	size_t o = 0;
	for (const char *p = name; *p && o < IPAM_NAME_MAX; p++) {
		if (p[0] == '%' && p[1] == '2' &&
		    (p[2] == 'F' || p[2] == 'f')) {
			key[o++] = '/';
			p += 2;
		} else if (p[0] == '%' && p[1] == '2' && p[2] == '5') {
			key[o++] = '%';
			p += 2;
		} else {
			key[o++] = *p;
		}
	}
	key[o] = '\0';
}

/* Rewrites each key of `list` as its file name. */
static int tag_names_of_keys(ipam_strlist *list, ipam_err *err)
{
	for (size_t i = 0; i < list->count; i++) {
		const char *k = list->items[i];
		size_t extra = 0;
		for (const char *p = k; *p; p++)
			extra += *p == '/' || *p == '%' ? 2 : 0;
		if (!extra)
			continue;
		char *name = malloc(strlen(k) + extra + 1), *o = name;
		if (!name)
			return ipamfs_err(err, IPAM_ENOMEM, "out of memory");
		for (const char *p = k; *p; p++) {
			if (*p == '/' || *p == '%') {
				*o++ = '%';
				*o++ = '2';
				*o++ = *p == '/' ? 'F' : '5';
			} else {
				*o++ = *p;
			}
		}
		*o = '\0';
		free(list->items[i]);
		list->items[i] = name;
	}
	return 0;
}

/* A tags/ node belongs to a resource when it has a resource key, else to
 * the object (IPAM, scope, pool, allocation, discovery) whose id is the
 * node's owner id. `name` is a file name (see tag_key_of_name). */
int files_tag_get(struct ipamfs *fs, const struct node *n, const char *name,
		  char **out, ipam_err *err)
{
	char key[IPAM_NAME_MAX + 1];
	tag_key_of_name(name, key);
	return n->resource_key
		       ? ipam_resource_tag_get(fs->db, n->resource_key, key,
					       out, err)
		       : ipam_tag_get(fs->db, n->owner_id, key, out, err);
}

int files_tag_set(struct ipamfs *fs, const struct node *n, const char *name,
		  const char *value, ipam_err *err)
{
	char key[IPAM_NAME_MAX + 1];
	tag_key_of_name(name, key);
	return n->resource_key
		       ? ipam_resource_tag_set(fs->db, n->resource_key, key,
					       value, err)
		       : ipam_tag_set(fs->db, n->owner_id, key, value, err);
}

int files_tag_remove(struct ipamfs *fs, const struct node *n, const char *name,
		     ipam_err *err)
{
	char key[IPAM_NAME_MAX + 1];
	tag_key_of_name(name, key);
	return n->resource_key ? ipam_resource_tag_remove(
					 fs->db, n->resource_key, key, err)
			       : ipam_tag_remove(fs->db, n->owner_id, key, err);
}

int files_tag_list(struct ipamfs *fs, const struct node *n, ipam_strlist *out,
		   ipam_err *err)
{
	int rc = n->resource_key ? ipam_resource_tag_list(
					   fs->db, n->resource_key, out, err)
				 : ipam_tag_list(fs->db, n->owner_id, out, err);
	if (rc == 0 && (rc = tag_names_of_keys(out, err)))
		ipam_strlist_free(out);
	return rc;
}

static int render_tag(struct ipamfs *fs, const struct node *n,
		      const struct attr *a, struct buf *out, ipam_err *err)
{
	char *value = NULL;
	int rc = files_tag_get(fs, n, n->name, &value, err);
	if (rc == 0)
		put_line(out, value);
	free(value);
	return rc;
}

static int apply_tag(struct ipamfs *fs, const struct node *n,
		     const struct attr *a, const struct input *in,
		     struct buf *result, ipam_err *err)
{
	char *value = NULL;
	int rc = single_value(in, &value, err);
	return rc ? rc : files_tag_set(fs, n, n->name, value, err);
}

static int render_preview(struct ipamfs *fs, const struct node *n,
			  const struct attr *a, struct buf *out, ipam_err *err)
{
	ipam_cidr cidr;
	ipam_err why = {IPAM_OK, ""};
	int rc = ipam_pool_preview(fs->db, n->pool_key, n->prefix_len, &cidr,
				   &why);
	if (rc == IPAM_ENOSPC) { /* no such block now: an empty value */
		buf_putc(out, '\n');
		return 0;
	}
	if (rc) {
		if (err && !err->code)
			*err = why;
		return rc;
	}
	char text[IPAM_CIDR_STRLEN];
	ipam_cidr_format(&cidr, text);
	put_line(out, text);
	return 0;
}

/* map.svg of a pool or a scope, and maps/<CIDR>.svg (SPEC §3.1). */
static int render_map_svg(struct ipamfs *fs, const struct node *n,
			  const struct attr *a, struct buf *out, ipam_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int64_t scope = n->pool_key ? 0 : n->scope_key;
	const ipam_cidr *view = n->dir == NODE_MAPS ? &n->map_view : NULL;
	int rc = ipam_render_map_svg(fs->db, n->pool_key, scope, view, &data,
				     &len, err);
	return put_rendered(out, rc, data, len);
}

const struct attr files_map_view = {"", 0, 0, render_map_svg, NULL};

const struct attr files_tag = {"", ATTR_RW, 0, render_tag, apply_tag};
const struct attr files_preview = {"", 0, 0, render_preview, NULL};

/* ---- the tables ---- */

static const struct attr root_files[] = {
	RO("README", render_readme, 0),
	RO("ipam.json", render_ipam_json, 0),
	{"backup.db", ATTR_NOCACHE | ATTR_BINARY | ATTR_BACKUP, 0, render_backup, NULL},
	RO("scopes.json", render_list_json, 0),
	RO("discoveries.json", render_list_json, 1),
	RO("policies.json", files_policy_json, IPAM_POLICY_DESCRIBE),
	{"errors", ATTR_NOCACHE, 0, render_errors, NULL},
	{"events", ATTR_EVENTS | ATTR_READER, 0, render_events, NULL},
	{"clock", ATTR_RW | ATTR_CLOCK | ATTR_NOCACHE, 0, render_clock,
	 apply_clock},
	RO("export.json", files_io_render, IO_EXPORT),
	RO("export-history.json", files_io_render, IO_HISTORY),
	{"import", ATTR_RW | ATTR_STREAM | ATTR_NOCACHE, IO_IMPORT,
	 files_io_render, files_io_apply},
	{"plan", ATTR_RW | ATTR_STREAM | ATTR_NOCACHE, IO_PLAN, files_io_render,
	 files_io_apply},
	RO("asns.json", render_public_view, V_ASNS_JSON),
	RO("advertisements", render_public_view, V_ADVERTS),
	RO("advertisements.bird", render_public_view, V_ADVERTS_BIRD),
	RO("byoip-cidrs.json", render_public_view, V_BYOIP_JSON),
	{NULL, 0, 0, NULL, NULL},
};

static const struct attr ipam_files[] = {
	RO("id", render_ipam, F_IPAM_ID),
	RO("home-locale", render_ipam, F_HOME_LOCALE),
	RW("description", render_ipam, apply_ipam, F_DESCRIPTION),
	{"operating-locales", ATTR_RW | ATTR_SET, F_LOCALES, render_ipam,
	 apply_locales},
	{"provider-cidrs", ATTR_RW | ATTR_SET, F_PROVIDER_CIDRS, render_ipam,
	 apply_locales},
	RW("tier", render_ipam, apply_ipam, F_TIER),
	RW("enable-private-gua", render_ipam, apply_ipam, F_PRIVATE_GUA),
	RW("history-retention-days", render_retention, apply_retention,
	   IPAM_RETAIN_HISTORY),
	RW("event-retention-days", render_retention, apply_retention,
	   IPAM_RETAIN_EVENTS),
	{"certificate", ATTR_RW | ATTR_SET, IPAM_BYOIP_CERTIFICATE,
	 render_byoip_setting, apply_byoip_setting},
	RW("account-id", render_byoip_setting, apply_byoip_setting,
	   IPAM_BYOIP_ACCOUNT_ID),
	RW("dns-resolver", render_byoip_setting, apply_byoip_setting,
	   IPAM_BYOIP_DNS_RESOLVER),
	RO("verification-tokens.json", render_tokens_json, 0),
	{NULL, 0, 0, NULL, NULL},
};

static const struct attr quota_files[] = {
	RW("scopes", render_quota, apply_quota, IPAM_QUOTA_SCOPES),
	RW("pools-per-scope", render_quota, apply_quota,
	   IPAM_QUOTA_POOLS_PER_SCOPE),
	RW("cidrs-per-pool", render_quota, apply_quota,
	   IPAM_QUOTA_CIDRS_PER_POOL),
	RW("pool-depth", render_quota, apply_quota, IPAM_QUOTA_POOL_DEPTH),
	RW("verification-tokens", render_quota, apply_quota,
	   IPAM_QUOTA_VERIFICATION_TOKENS),
	RW("asns", render_quota, apply_quota, IPAM_QUOTA_ASNS),
	RW("provider-ipv4-blocks", render_quota, apply_quota,
	   IPAM_QUOTA_PROVIDER_V4_BLOCKS),
	RW("provider-ipv6-blocks-per-pool", render_quota, apply_quota,
	   IPAM_QUOTA_PROVIDER_V6_BLOCKS),
	RW("policies", render_quota, apply_quota, IPAM_QUOTA_POLICIES),
	RW("policy-targets", render_quota, apply_quota,
	   IPAM_QUOTA_POLICY_TARGETS),
	RW("policy-rule-pools", render_quota, apply_quota,
	   IPAM_QUOTA_POLICY_RULE_POOLS),
	{NULL, 0, 0, NULL, NULL},
};

static const struct attr token_files[] = {
	RO("id", render_token, T_ID),
	RO("token-name", render_token, T_NAME),
	RO("token-value", render_token, T_VALUE),
	RO("not-after", render_token, T_NOT_AFTER),
	RO("status", render_token, T_STATUS),
	RO("state", render_token, T_STATE),
	{NULL, 0, 0, NULL, NULL},
};

static const struct attr scope_files[] = {
	RO("id", render_scope, F_SCOPE_ID),
	RO("type", render_scope, F_SCOPE_TYPE),
	RW("description", render_scope, apply_scope, F_DESCRIPTION),
	RO("is-default", render_scope, F_SCOPE_DEFAULT),
	RO("status", render_scope_view, F_SCOPE_STATUS),
	RO("status.json", render_scope_view, F_SCOPE_STATUS_JSON),
	RO("resources.json", render_scope_view, F_RESOURCES_JSON),
	RO("pools.json", render_scope_view, F_SCOPE_POOLS_JSON),
	RO("map.svg", render_map_svg, F_MAP_SVG),
	{"addresses.json", ATTR_PUBLIC, F_ADDRESSES_JSON, render_scope_view,
	 NULL},
	{"public-ipv4-pools.json", ATTR_PUBLIC, F_PUBLIC_POOLS_JSON,
	 render_scope_view, NULL},
	{"public-addresses.json", ATTR_PUBLIC, F_PUBLIC_ADDRESSES_JSON,
	 render_scope_view, NULL},
	{"public-ip-insights", ATTR_PUBLIC, F_PUBLIC_SUMMARY, render_scope_view,
	 NULL},
	{"public-ip-insights.json", ATTR_PUBLIC, F_PUBLIC_SUMMARY_JSON,
	 render_scope_view, NULL},
	{"allocate-address",
	 ATTR_RW | ATTR_ALLOCATE | ATTR_COMMAND | ATTR_NOCACHE | ATTR_PUBLIC, 0,
	 render_nothing, apply_allocate_address},
	{"move-byoip-cidr-to-ipam",
	 ATTR_RW | ATTR_ALLOCATE | ATTR_COMMAND | ATTR_NOCACHE | ATTR_PUBLIC, 0,
	 render_nothing, apply_move_byoip},
	{NULL, 0, 0, NULL, NULL},
};

static const struct attr pool_files[] = {
	RO("id", render_pool, F_POOL_ID),
	RO("state", render_pool, F_STATE),
	RO("depth", render_pool, F_DEPTH),
	RO("source", render_pool, F_SOURCE),
	RW("description", render_pool, apply_pool, F_DESCRIPTION),
	RW("address-family", render_pool, apply_pool, F_FAMILY),
	RW("locale", render_pool, apply_pool, F_LOCALE),
	RW("auto-import", render_pool, apply_pool, F_AUTO_IMPORT),
	RW("allocation-min-netmask-length", render_pool, apply_pool,
	   F_MIN_NETMASK),
	RW("allocation-max-netmask-length", render_pool, apply_pool,
	   F_MAX_NETMASK),
	RW("allocation-default-netmask-length", render_pool, apply_pool,
	   F_DEFAULT_NETMASK),
	{"allocation-resource-tags", ATTR_RW | ATTR_SET, 0,
	 render_required_tags, apply_required_tags},
	RW("allocation-strategy", render_pool, apply_pool, F_STRATEGY),
	{"cidrs", ATTR_RW | ATTR_COMMAND, 0, render_cidrs, apply_cidrs},
	RO("cidrs.json", render_pool_view, F_CIDRS_JSON),
	{"allocate", ATTR_RW | ATTR_ALLOCATE | ATTR_COMMAND | ATTR_NOCACHE, 0,
	 render_nothing, apply_allocate},
	RO("allocations.json", render_pool_view, F_ALLOCS_JSON),
	RO("map", render_pool_view, F_MAP),
	RO("map.svg", render_map_svg, F_MAP_SVG),
	RO("status", render_pool_view, F_STATUS),
	RO("status.json", render_pool_view, F_STATUS_JSON),
	RO("pool.json", render_pool_view, F_POOL_JSON),
	RW("source-resource", files_render_source_resource,
	   files_apply_source_resource, 0),
	{"delete", ATTR_RW | ATTR_COMMAND | ATTR_NOCACHE, 0, render_nothing,
	 files_apply_pool_delete},
	{"publicly-advertisable", ATTR_RW | ATTR_PUBLIC, F_ADVERTISABLE,
	 render_pool, apply_pool},
	{"aws-service", ATTR_RW | ATTR_PUBLIC, F_AWS_SERVICE, render_pool,
	 apply_pool},
	{"public-ip-source", ATTR_RW | ATTR_PUBLIC, F_IP_SOURCE, render_pool,
	 apply_pool},
	{"advertise", ATTR_RW | ATTR_PUBLIC | ATTR_COMMAND, V_ADVERTS,
	 render_public_view, apply_advertise},
	{"withdraw", ATTR_RW | ATTR_PUBLIC | ATTR_COMMAND, V_WITHDRAW,
	 render_nothing,
	 apply_advertise},
	{NULL, 0, 0, NULL, NULL},
};

static const struct attr asn_files[] = {
	RO("state", render_asn, A_STATE),
	RO("failure-reason", render_asn, A_REASON),
	{"proof", ATTR_RW | ATTR_COMMAND, 0, render_nothing, apply_asn_proof},
	{"cidrs", ATTR_RW | ATTR_COMMAND, 0, render_asn_cidrs,
	 apply_asn_cidrs},
	{NULL, 0, 0, NULL, NULL},
};

static const struct attr alloc_files[] = {
	RO("cidr", render_alloc, F_ALLOC_CIDR),
	RO("id", render_alloc, F_ALLOC_ID),
	RO("resource-type", render_alloc, F_RESOURCE_TYPE),
	RO("resource-id", render_alloc, F_RESOURCE_ID),
	RO("description", render_alloc, F_DESCRIPTION),
	RO("created", render_alloc, F_CREATED),
	RW("dns-name", files_render_host, files_apply_host,
	   IPAM_HOST_DNS_NAME),
	RW("mac-address", files_render_host, files_apply_host,
	   IPAM_HOST_MAC_ADDRESS),
	RO("allocation.json", files_render_alloc_json, 0),
	{NULL, 0, 0, NULL, NULL},
};

static const struct attr *table_of(enum node_kind dir)
{
	switch (dir) {
	case NODE_ROOT:
		return root_files;
	case NODE_IPAM:
		return ipam_files;
	case NODE_QUOTAS:
		return quota_files;
	case NODE_TOKEN:
		return token_files;
	case NODE_ASN:
		return asn_files;
	case NODE_SCOPE:
		return scope_files;
	case NODE_POOL:
		return pool_files;
	case NODE_ALLOC:
		return alloc_files;
	case NODE_RESOURCE:
		return files_resource_table;
	case NODE_DISCOVERY:
		return files_discovery_table;
	case NODE_METRICS:
		return files_metrics_table;
	case NODE_PLIST:
		return files_plist_table;
	case NODE_PLTARGET:
		return files_pltarget_table;
	case NODE_POLICY:
		return files_policy_table;
	default:
		return NULL;
	}
}

bool files_has_attrs(enum node_kind dir)
{
	return table_of(dir) != NULL;
}

static bool visible(const struct attr *a, unsigned shown)
{
	unsigned conditions = a->flags & ATTR_CONDITIONAL;
	return (conditions & shown) == conditions;
}

const struct attr *files_find(enum node_kind dir, const char *name,
			      unsigned shown)
{
	const struct attr *table = table_of(dir);
	for (size_t i = 0; table && table[i].name; i++)
		if (strcmp(table[i].name, name) == 0 &&
		    visible(&table[i], shown))
			return &table[i];
	return NULL;
}

void files_list(enum node_kind dir, unsigned shown,
		void (*add)(void *ctx, const char *name), void *ctx)
{
	const struct attr *table = table_of(dir);
	for (size_t i = 0; table && table[i].name; i++)
		if (visible(&table[i], shown))
			add(ctx, table[i].name);
}
