/*
 * pltarget.c - the targets of a prefix-list resolver (Step 2, L1124-L1150)
 * and the formats firewalls load (SPEC §8.1).
 *
 * A target is the local analogue of a managed prefix list: a format and a
 * desired version, 0 for "always track latest" or a kept version number
 * ("track specific version"). A pinned version stays readable while a
 * target holds it, as the guide retains versions its targets reference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plist.h"

static const char *const format_names[] = {
	[IPAM_PLIST_LINES] = "entries",
	[IPAM_PLIST_JSON] = "json",
	[IPAM_PLIST_NFT] = "nft",
	[IPAM_PLIST_IPSET] = "ipset",
};

int ipam_plist_format_parse(const char *text)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]);
	     i++)
		if (strcmp(text, format_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *ipam_plist_format_name(ipam_plist_format format)
{
	return format_names[format];
}

/* ---- formats ---- */

/* "pl_" and the name with every byte outside [A-Za-z0-9_] as '_', cut to
 * 31 bytes (ipset's limit; nft takes it as is). */
static void set_name(const char *name, char out[32])
{
	size_t n = 3;
	memcpy(out, "pl_", 3);
	for (const char *p = name; *p && n < 31; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_';
		out[n++] = ok ? c : '_';
	}
	out[n] = '\0';
}

static void render_nft(ipam__buf *b, const char *set, int family,
		       const ipam_cidr *cidrs, size_t count)
{
	char text[IPAM_CIDR_STRLEN];
	ipam__buf_printf(b,
			 "# ipamfs prefix list %s: nft -f loads it atomically\n"
			 "add table inet ipamfs\n"
			 "add set inet ipamfs %s { type %s; flags interval; }\n"
			 "flush set inet ipamfs %s\n",
			 set, set, family == 6 ? "ipv6_addr" : "ipv4_addr",
			 set);
	if (count == 0)
		return;
	ipam__buf_printf(b, "add element inet ipamfs %s {", set);
	for (size_t i = 0; i < count; i++) {
		ipam_cidr_format(&cidrs[i], text);
		ipam__buf_printf(b, "%s\n\t%s", i ? "," : "", text);
	}
	ipam__buf_printf(b, "\n}\n");
}

/* hash:net takes prefixes 1..32 (1..128): /0 is written as its halves.
 * `-exist` keeps an existing set of the same name (whose maxelem was fixed
 * when it was made), `flush` empties it, then every entry is added. */
static void render_ipset(ipam__buf *b, const char *set, int family,
			 const ipam_cidr *cidrs, size_t count)
{
	char text[IPAM_CIDR_STRLEN];
	size_t zeros = 0;
	for (size_t i = 0; i < count; i++)
		zeros += cidrs[i].prefix == 0;
	/* maxelem: ipset's default 65536, or room for every line */
	ipam__buf_printf(b,
			 "create %s hash:net family %s maxelem %zu -exist\n"
			 "flush %s\n",
			 set, family == 6 ? "inet6" : "inet",
			 count + zeros > 65536 ? count + zeros : (size_t)65536,
			 set);
	for (size_t i = 0; i < count; i++) {
		ipam_cidr half[2] = {cidrs[i], cidrs[i]};
		size_t n = 1;
		if (cidrs[i].prefix == 0) {
			half[0].prefix = half[1].prefix = 1;
			half[1].addr = (ipam_u128)1
				       << (ipam_family_width(family) - 1);
			n = 2;
		}
		for (size_t j = 0; j < n; j++) {
			ipam_cidr_format(&half[j], text);
			ipam__buf_printf(b, "add %s %s\n", set, text);
		}
	}
}

int ipam_plist_render(const char *name, int family, ipam_plist_format format,
		      int64_t version, const ipam_cidr *cidrs, size_t count,
		      char **out, size_t *len, ipam_err *err)
{
	ipam__buf b = {NULL, 0, 0, 0};
	char text[IPAM_CIDR_STRLEN], set[32];
	set_name(name, set);
	switch (format) {
	case IPAM_PLIST_LINES:
		for (size_t i = 0; i < count; i++) {
			ipam_cidr_format(&cidrs[i], text);
			ipam__buf_printf(&b, "%s\n", text);
		}
		break;
	case IPAM_PLIST_JSON:
		/* get-ipam-prefix-list-resolver-version-entries */
		ipam__buf_printf(&b, "{\n  \"Entries\": [");
		for (size_t i = 0; i < count; i++) {
			ipam_cidr_format(&cidrs[i], text);
			ipam__buf_printf(&b,
					 "%s\n    {\n      \"Cidr\": \"%s\"\n"
					 "    }",
					 i ? "," : "", text);
		}
		ipam__buf_printf(&b, "%s],\n  \"Version\": %lld\n}\n",
				 count ? "\n  " : "", (long long)version);
		break;
	case IPAM_PLIST_NFT:
		render_nft(&b, set, family, cidrs, count);
		break;
	case IPAM_PLIST_IPSET:
		render_ipset(&b, set, family, cidrs, count);
		break;
	}
	if (!b.data && !b.failed)
		return (*out = calloc(1, 1))
			       ? (*len = 0, 0)
			       : ipam__fail(err, IPAM_ENOMEM, "out of memory");
	return ipam__buf_finish(&b, out, len, err);
}

/* ---- targets ---- */

static int list_key(ipam *db, const char *name, int64_t *key, int64_t *version,
		    int64_t *oldest, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
				     "SELECT key, version, oldest FROM"
				     " prefix_list WHERE name = ?1",
				     err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, name, -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		*key = ipam__col_int64(stmt, 0);
		*version = ipam__col_int64(stmt, 1);
		*oldest = ipam__col_int64(stmt, 2);
	}
	ipam__reset(stmt);
	if (rc == 0)
		return ipam__fail(err, IPAM_ENOENT, "no prefix list '%.80s'",
				  name);
	return rc < 0 ? rc : 0;
}

int ipam_plist_target_list(ipam *db, const char *name, ipam_strlist *out,
			   ipam_err *err)
{
	int64_t key = 0, v = 0, o = 0;
	int rc = ipam__read_begin(db, err);
	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	rc = list_key(db, name, &key, &v, &o, err);
	if (rc == 0) {
		ipam_stmt *stmt = ipam__stmt(db,
					     "SELECT name FROM pl_target"
					     " WHERE list_key = ?1 ORDER"
					     " BY name",
					     err);
		if (stmt)
			ipam__bind_int64(stmt, 1, key);
		rc = ipam__collect_text(db, stmt, out, err);
	}
	return ipam__read_end(db, rc);
}

/* A target's row (inside a transaction): *list the resolver's key,
 * *latest its latest version, *held (when not NULL) a malloc'd copy of the
 * CIDR lines it keeps while its sync is off. */
static int target_load(ipam *db, const char *name, const char *target,
		       int64_t *list, int64_t *latest, ipam_plist_target *out,
		       char **held, ipam_err *err)
{
	int64_t oldest = 0;
	int rc = list_key(db, name, list, latest, &oldest, err);
	ipam_stmt *stmt;
	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "SELECT name, format, desired, created, sync,"
			  " held_version, held FROM pl_target WHERE"
			  " list_key = ?1 AND name = ?2",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, *list);
	ipam__bind_text(stmt, 2, target, -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		memset(out, 0, sizeof(*out));
		ipam__copy_text(out->name, sizeof(out->name), stmt, 0);
		out->format = (ipam_plist_format)ipam__col_int(stmt, 1);
		out->desired = ipam__col_int64(stmt, 2);
		out->created = ipam__col_int64(stmt, 3);
		out->sync = ipam__col_int(stmt, 4) != 0;
		out->held_version = ipam__col_int64(stmt, 5);
		out->tracked = !out->sync     ? out->held_version
			       : out->desired ? out->desired
					      : *latest;
		rc = 0;
		if (held) {
			const char *text = ipam__col_text(stmt, 6);
			*held = ipam__strdup(text ? text : "");
			if (!*held)
				rc = ipam__fail(err, IPAM_ENOMEM,
						"out of memory");
		}
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_ENOENT, "no target '%.80s'", target);
	}
	ipam__reset(stmt);
	return rc;
}

int ipam_plist_target_get(ipam *db, const char *name, const char *target,
			  ipam_plist_target *out, ipam_err *err)
{
	int64_t key = 0, version = 0;
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db, target_load(db, name, target, &key, &version,
					      out, NULL, err));
}

/* The event of a change of target `target` of resolver `list`. */
static int target_event(ipam *db, int64_t list, const char *target,
			const char *action, json_t *value, ipam_err *err)
{
	char id[IPAM_ID_MAX] = "";
	ipam_stmt *stmt = ipam__stmt(
		db, "SELECT aws_id FROM prefix_list WHERE key = ?1", err);
	if (!stmt) {
		json_decref(value);
		return ipam__stmt_error(err);
	}
	ipam__bind_int64(stmt, 1, list);
	if (ipam__step(db, stmt, err) == 1)
		ipam__copy_text(id, sizeof(id), stmt, 0);
	ipam__reset(stmt);
	return ipam__event(db,
			   !strcmp(action, "create")
				   ? "create-ipam-prefix-list-resolver-target"
			   : !strcmp(action, "delete")
				   ? "delete-ipam-prefix-list-resolver-target"
				   : "modify-ipam-prefix-list-resolver-target",
			   id,
			   json_pack("{s:o, s:s, s:o}", "target",
				     json_string(target), "change", action,
				     "value", value),
			   err);
}

static int target_exec(ipam *db, const char *name, const char *target,
		       const char *sql, int64_t value, const char *action,
		       ipam_err *err)
{
	int64_t key = 0, version = 0, oldest = 0;
	int rc = list_key(db, name, &key, &version, &oldest, err);
	ipam_stmt *stmt;
	if (rc)
		return rc;
	if (!strcmp(action, "desired") && value &&
	    (value < oldest || value > version))
		return ipam__fail(err, IPAM_EINVAL,
				  "version %lld is not kept (versions %lld to "
				  "%lld; 'latest' tracks the newest)",
				  (long long)value, (long long)oldest,
				  (long long)version);
	stmt = ipam__stmt(db, sql, err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	ipam__bind_text(stmt, 2, target, -1);
	ipam__bind_int64(stmt, 3, value);
	rc = ipam__exec(db, stmt, NULL);
	if (rc == IPAM_EEXIST)
		return ipam__fail(err, IPAM_EEXIST, "target '%s' exists",
				  target);
	if (rc)
		return ipam__fail(err, rc, "cannot change target '%s'", target);
	if (ipam__changes(db) == 0)
		return ipam__fail(err, IPAM_ENOENT, "no target '%.80s'",
				  target);
	if ((rc = ipam__plist_prune(db, key, err)))
		return rc;
	return target_event(db, key, target, action,
			    json_integer((json_int_t)value), err);
}

int ipam_plist_target_create(ipam *db, const char *name, const char *target,
			     ipam_err *err)
{
	int rc = ipam_name_check(target, err);
	if (rc || (rc = ipam__write_begin(db, err)))
		return rc;
	rc = target_exec(db, name, target,
			 "INSERT INTO pl_target(list_key, name, created)"
			 " VALUES (?1, ?2, ?3)",
			 ipam__now(db), "create", err);
	return ipam__write_end(db, rc, err);
}

int ipam_plist_target_delete(ipam *db, const char *name, const char *target,
			     ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	rc = target_exec(db, name, target,
			 "DELETE FROM pl_target WHERE list_key = ?1 AND name ="
			 " ?2 AND ?3 = ?3",
			 0, "delete", err);
	return ipam__write_end(db, rc, err);
}

int ipam_plist_target_set_format(ipam *db, const char *name, const char *target,
				 ipam_plist_format format, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	rc = target_exec(db, name, target,
			 "UPDATE pl_target SET format = ?3 WHERE list_key = ?1"
			 " AND name = ?2",
			 format, "format", err);
	return ipam__write_end(db, rc, err);
}

int ipam_plist_target_set_desired(ipam *db, const char *name,
				  const char *target, int64_t version,
				  ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	rc = target_exec(db, name, target,
			 "UPDATE pl_target SET desired = ?3 WHERE list_key = ?1"
			 " AND name = ?2",
			 version, "desired", err);
	return ipam__write_end(db, rc, err);
}

/* ---- sync (Step 4, L1216-L1218) ---- */

static int cidr_order(const void *a, const void *b)
{
	const ipam_cidr *x = a, *y = b;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (x->prefix > y->prefix) - (x->prefix < y->prefix);
}

/* The CIDR lines of a set, malloc'd ("" for none). */
static int set_text(const ipam_cidr *set, size_t n, char **out, ipam_err *err)
{
	ipam__buf b = {NULL, 0, 0, 0};
	char text[IPAM_CIDR_STRLEN];
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		ipam_cidr_format(&set[i], text);
		ipam__buf_printf(&b, "%s\n", text);
	}
	if (!b.data && !b.failed)
		return (*out = calloc(1, 1))
			       ? 0
			       : ipam__fail(err, IPAM_ENOMEM, "out of memory");
	return ipam__buf_finish(&b, out, &len, err);
}

/* Stores sync, held lines and held version of a target. */
static int held_store(ipam *db, int64_t list, const char *target, bool sync,
		      const char *held, int64_t held_version, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
				     "UPDATE pl_target SET sync = ?3, held ="
				     " ?4, held_version = ?5 WHERE list_key ="
				     " ?1 AND name = ?2",
				     err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, list);
	ipam__bind_text(stmt, 2, target, -1);
	ipam__bind_int(stmt, 3, sync);
	ipam__bind_text(stmt, 4, held, -1);
	ipam__bind_int64(stmt, 5, held_version);
	return ipam__exec(db, stmt, err);
}

static int sync_change(ipam *db, const char *name, const char *target,
		       bool sync, ipam_err *err)
{
	ipam_plist_target t;
	int64_t key = 0, latest = 0;
	ipam_cidr *set = NULL;
	size_t n = 0;
	char *text = NULL;
	int rc = target_load(db, name, target, &key, &latest, &t, NULL, err);
	if (rc || t.sync == sync)
		return rc;
	/* off: what it serves now becomes its own */
	if (!sync && (rc = ipam__plist_version_set(db, key, latest, t.tracked,
						   &set, &n, err)) == 0)
		rc = set_text(set, n, &text, err);
	free(set);
	if (rc == 0)
		rc = held_store(db, key, target, sync, sync ? "" : text,
				sync ? 0 : t.tracked, err);
	free(text);
	if (rc == 0 && sync)
		rc = ipam__plist_prune(db, key, err);
	if (rc)
		return rc;
	return target_event(db, key, target, "sync",
			    json_string(sync ? "enabled" : "disabled"), err);
}

int ipam_plist_target_set_sync(ipam *db, const char *name, const char *target,
			       bool sync, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, sync_change(db, name, target, sync, err),
			       err);
}

/* Parses a hand-edited set: strict CIDRs of `family`, sorted, each once,
 * none overlapping another (an nftables interval set refuses that). */
static int held_parse(const char *const *lines, size_t count, int family,
		      ipam_cidr **out, size_t *n, ipam_err *err)
{
	ipam_cidr *set = calloc(count ? count : 1, sizeof(*set));
	size_t k = 0;
	int rc = set ? 0 : ipam__fail(err, IPAM_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < count; i++) {
		ipam_err why = {IPAM_OK, ""};
		if ((rc = ipam_cidr_parse(&set[i], lines[i], &why)))
			rc = ipam__fail(err, rc, "line %zu: %s", i + 1,
					why.msg);
		else if (set[i].family != family)
			rc = ipam__fail(err, IPAM_EINVAL,
					"line %zu: %s is not an IPv%d CIDR (the"
					" prefix list's address family)",
					i + 1, lines[i], family);
	}
	if (rc == 0)
		qsort(set, count, sizeof(*set), cidr_order);
	for (size_t i = 0; rc == 0 && i < count; i++) {
		char a[IPAM_CIDR_STRLEN], b[IPAM_CIDR_STRLEN];
		if (k && !cidr_order(&set[k - 1], &set[i]))
			continue; /* the same CIDR twice */
		if (k && ipam_cidr_overlaps(&set[k - 1], &set[i])) {
			ipam_cidr_format(&set[k - 1], a);
			ipam_cidr_format(&set[i], b);
			rc = ipam__fail(err, IPAM_EINVAL,
					"%s overlaps %s (a prefix list's"
					" entries do not overlap)",
					b, a);
			break;
		}
		set[k++] = set[i];
	}
	if (rc) {
		free(set);
		return rc;
	}
	*out = set;
	*n = k;
	return 0;
}

static int entries_change(ipam *db, const char *name, const char *target,
			  const char *const *lines, size_t count, ipam_err *err)
{
	ipam_plist_target t;
	ipam_plist_info info;
	int64_t key = 0, latest = 0;
	ipam_cidr *set = NULL;
	size_t n = 0;
	char *text = NULL;
	int rc = target_load(db, name, target, &key, &latest, &t, NULL, err);
	if (rc == 0 && t.sync)
		rc = ipam__fail(err, IPAM_EPERM,
				"target '%s' follows the resolver: write"
				" disabled to its sync file before editing its"
				" entries (L1216)",
				target);
	if (rc == 0)
		rc = ipam_plist_get(db, name, &info, err);
	if (rc == 0)
		rc = held_parse(lines, count, info.family, &set, &n, err);
	if (rc == 0)
		rc = set_text(set, n, &text, err);
	free(set);
	if (rc == 0)
		rc = held_store(db, key, target, false, text, t.held_version,
				err);
	free(text);
	if (rc)
		return rc;
	return target_event(db, key, target, "entries",
			    json_integer((json_int_t)n), err);
}

int ipam_plist_target_set_entries(ipam *db, const char *name,
				  const char *target, const char *const *lines,
				  size_t count, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(
		db, entries_change(db, name, target, lines, count, err), err);
}

int ipam_plist_target_entries(ipam *db, const char *name, const char *target,
			      ipam_cidr **out, size_t *count, int64_t *version,
			      ipam_err *err)
{
	ipam_plist_target t;
	int64_t key = 0, latest = 0;
	char *held = NULL;
	int rc = ipam__read_begin(db, err);
	*out = NULL;
	*count = 0;
	if (rc)
		return rc;
	rc = target_load(db, name, target, &key, &latest, &t, &held, err);
	if (rc == 0)
		*version = t.tracked;
	if (rc == 0 && t.sync) {
		rc = ipam__plist_version_set(db, key, latest, t.tracked, out,
					     count, err);
	} else if (rc == 0) {
		/* the kept lines, canonical and sorted when stored */
		size_t n = 0, cap = 0;
		ipam_cidr *set = NULL;
		char *save = NULL;
		for (char *l = strtok_r(held, "\n", &save); rc == 0 && l;
		     l = strtok_r(NULL, "\n", &save)) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				ipam_cidr *g = realloc(set, cap * sizeof(*g));
				if (!g) {
					rc = ipam__fail(err, IPAM_ENOMEM,
							"out of memory");
					break;
				}
				set = g;
			}
			rc = ipam_cidr_parse(&set[n++], l, err);
		}
		if (rc)
			free(set);
		else {
			*out = set;
			*count = n;
		}
	}
	free(held);
	return ipam__read_end(db, rc);
}
