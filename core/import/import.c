/*
 * import.c - applies a document to the IPAM as one change (SPEC §8.3,
 * /import and /plan).
 *
 * The document is the shape of /export.json (export.c); the other formats
 * are first turned into that shape by their readers (import_*.c). An
 * ipamfs document is read one array element at a time: a small scanner
 * finds the top-level arrays and the byte span of each element, and only
 * that element is parsed (jansson), so a document of a million
 * allocations is held once (the caller's text) and never as a tree.
 *
 * Order: the IPAM's settings, scopes, pools (parents first), provisioned
 * CIDRs (parents' first), discoveries (settings), resources (their CIDRs,
 * managed ones allocated from the document's pools), allocations, then with
 * "Prune" the deletions, then compliance is re-evaluated for the pools that
 * got allocations. Prefix-list resolvers (matched by name) come after the
 * allocations: their settings, rules and targets; their entries follow.
 * Objects are matched by path; the document's ids and times are adopted by
 * the objects the import creates (and, in an IPAM that has no pool yet, by
 * the IPAM and its default scopes), so export -> import into an empty IPAM
 * -> export gives the same bytes. Every change goes through libipam's own
 * functions (the rules are theirs); an allocation goes through ipam__alloc
 * without the netmask and tag rules, which SPEC §3.2 applies to new
 * requests only: an imported allocation that breaks one is kept and
 * flagged noncompliant. Containment and overlap are always enforced. The
 * new allocations of a pool this import made go in batches through the
 * bulk allocator (alloc_bulk.c), with the same effects; what it cannot
 * prove free goes one by one, for the model's own refusal.
 *
 * A plan runs the same code inside a savepoint that is rolled back.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "io.h"
#include "ipam_prefixlist.h"

/* A pool of the document: its reference (the IpamPoolId it gives) and
 * where it landed. */
typedef struct imp_pool {
	char *ref;
	char *path;
	int64_t key;
	int family;
	int depth;
	bool created;
} imp_pool;

/* A key of the document's top-level object and its value's span. */
struct key_span {
	size_t key, len, start, end;
};

typedef struct imp {
	ipam *db;
	bool plan, prune, fresh;
	ipam__buf lines;
	size_t created, changed, deleted;
	/* the ipamfs text, when reading it by spans */
	const char *text;
	size_t len;
	size_t line_pos, line_no; /* line counting cursor */
	json_t *doc;		  /* or the document a reader built */
	struct key_span *keys;	  /* the top-level keys, scanned once */
	size_t nkeys, capkeys;
	bool scanned;
	imp_pool *pools;
	size_t npools, cappools;
	int64_t *scopes_seen; /* scope keys the document names */
	size_t nscopes;
	int64_t *seen; /* allocation keys (prune) */
	size_t nseen, capseen;
	int64_t *touched; /* pools that got allocations */
	size_t ntouched, captouched;
	struct held_list *target; /* where hold_any keeps elements */
	struct cidr_seen *cidrs;  /* provisioned CIDRs the document names */
	size_t ncidrs, capcidrs;
	json_t *auto_import; /* path -> wanted AutoImport */
	int64_t *made;	     /* child-pool allocations this import made */
	size_t nfresh, capfresh;
	int64_t *res_made; /* resource allocations this import made */
	size_t nres_made, capres_made;
	int64_t *res_seen; /* resource keys the document names (prune) */
	size_t nres_seen, capres_seen;
	int64_t *pl_seen; /* prefix-list keys the document names (prune) */
	size_t npl_seen, cappl_seen;
	int64_t *pol_seen; /* policy keys the document names (prune) */
	size_t npol_seen, cappol_seen;
	struct batch *batch; /* new custom allocations of one pool (bulk) */
} imp;

typedef int (*elem_fn)(imp *im, json_t *elem, size_t line, ipam_err *err);

static const char *const format_names[] = {
	[IPAM_FORMAT_IPAMFS] = "ipamfs",
	[IPAM_FORMAT_AWS] = "aws",
	[IPAM_FORMAT_NETBOX_JSON] = "netbox-json",
	[IPAM_FORMAT_NETBOX_CSV] = "netbox-csv",
	[IPAM_FORMAT_PHPIPAM_CSV] = "phpipam-csv",
	[IPAM_FORMAT_CSV] = "csv",
};

const char *ipam_import_format_name(ipam_import_format format)
{
	return (unsigned)format <= IPAM_FORMAT_CSV ? format_names[format] : "";
}

bool ipam__io_id_ok(const char *id, const char *prefix)
{
	size_t n = strlen(prefix), i;
	if (!id || strncmp(id, prefix, n) != 0)
		return false;
	for (i = n; id[i]; i++)
		if (!isxdigit((unsigned char)id[i]) ||
		    isupper((unsigned char)id[i]))
			return false;
	return i - n == 17 || i - n == 32 ||
	       i - n == 33; /* 33: AWS allocations */
}

/* ---- small helpers ---- */

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *p = realloc(*arr, ncap * size);
	if (!p)
		return IPAM_ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static const char *str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *str_or(json_t *obj, const char *key, const char *dflt)
{
	const char *s = str(obj, key);
	return s ? s : dflt;
}

/* One change line: "+ pool PATH", "~ pool PATH field old -> new". */
static void change(imp *im, char sign, const char *kind, const char *path,
		   const char *what)
{
	ipam__buf_printf(&im->lines, "%c %s%s%s%s%s\n", sign, kind,
			 *path ? " " : "", path, what ? " " : "",
			 what ? what : "");
	if (sign == '+')
		im->created++;
	else if (sign == '-')
		im->deleted++;
	else
		im->changed++;
}

/* "~ KIND PATH FIELD "old" -> "new"" */
static void changed_text(imp *im, const char *kind, const char *path,
			 const char *field, const char *old, const char *now)
{
	ipam__buf b = {0};
	ipam__buf_printf(&b, "%s ", field);
	ipam__export_string(&b, old);
	ipam__buf_add(&b, " -> ", 4);
	ipam__export_string(&b, now);
	ipam__buf_add(&b, "", 1);
	change(im, '~', kind, path, b.failed ? field : b.data);
	free(b.data);
}

/* Prefixes err's message with "line N: " (and the kind). */
static int at_line(size_t line, int rc, ipam_err *err)
{
	char msg[IPAM_ERR_MSG_MAX + 32];
	if (!err || !rc || line == 0 || !strncmp(err->msg, "line ", 5))
		return rc;
	snprintf(msg, sizeof(msg), "line %zu: %s", line, err->msg);
	memcpy(err->msg, msg, sizeof(err->msg) - 1);
	err->msg[sizeof(err->msg) - 1] = '\0';
	return rc;
}

/* Puts "PREFIX: " before the reason already in err (rc is returned). */
static int wrap(ipam_err *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int wrap(ipam_err *err, int rc, const char *fmt, ...)
{
	char prefix[IPAM_ERR_MSG_MAX], msg[2 * IPAM_ERR_MSG_MAX + 4];
	va_list ap;
	if (!err)
		return rc;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s: %s", prefix, err->msg);
	memcpy(err->msg, msg, sizeof(err->msg) - 1);
	err->msg[sizeof(err->msg) - 1] = '\0';
	if (!err->code)
		err->code = rc;
	return rc;
}

static int sql_run(ipam *db, const char *sql, const char *s1, int64_t i2,
		   ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, sql, err);
	if (!stmt)
		return ipam__stmt_error(err);
	if (s1)
		ipam__bind_text(stmt, 1, s1, -1);
	ipam__bind_int64(stmt, 2, i2);
	return ipam__exec(db, stmt, err);
}

/* ---- tags, ids, times, permissions ---- */

/* Makes the object's tags exactly the document's "Tags" (when given). */
static int tags_apply(imp *im, const char *id, json_t *tags, const char *kind,
		      const char *path, bool quiet, ipam_err *err)
{
	ipam_strlist have = {0};
	size_t i;
	json_t *t;
	int rc;
	if (!json_is_array(tags))
		return tags ? ipam__fail(err, IPAM_EINVAL,
					 "%s '%s': Tags is not a list", kind,
					 path)
			    : 0;
	if ((rc = ipam_tag_list(im->db, id, &have, err)))
		return rc;
	json_array_foreach(tags, i, t)
	{
		const char *k = str(t, "Key"), *v = str_or(t, "Value", "");
		char *old = NULL;
		if (!k) {
			rc = ipam__fail(err, IPAM_EINVAL,
					"%s '%s': a tag without a Key", kind,
					path);
			break;
		}
		if (ipam_tag_get(im->db, id, k, &old, NULL) == 0 &&
		    strcmp(old, v) == 0) {
			free(old);
			continue;
		}
		char old_value[IPAM_TAG_VALUE_MAX + 1];
		snprintf(old_value, sizeof(old_value), "%s", old ? old : "");
		free(old);
		if ((rc = ipam_tag_set(im->db, id, k, v, err)))
			break;
		char field[IPAM_TAG_KEY_MAX + 8];
		snprintf(field, sizeof(field), "tags/%s", k);
		if (!quiet)
			changed_text(im, kind, path, field, old_value, v);
	}
	for (size_t j = 0; rc == 0 && j < have.count; j++) {
		bool keep = false;
		json_array_foreach(tags, i, t)
		{
			const char *k = str(t, "Key");
			keep = keep || (k && !strcmp(k, have.items[j]));
		}
		if (keep)
			continue;
		if ((rc = ipam_tag_remove(im->db, id, have.items[j], err)))
			break;
		char field[IPAM_TAG_KEY_MAX + 8];
		snprintf(field, sizeof(field), "tags/%s (removed)",
			 have.items[j]);
		change(im, '~', kind, path, field);
	}
	ipam_strlist_free(&have);
	return rc;
}

static int sql_run2(ipam *db, const char *sql, const char *s1, const char *s2,
		    ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, sql, err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, s1, -1);
	ipam__bind_text(stmt, 2, s2, -1);
	return ipam__exec(db, stmt, err);
}

enum adopt_table {
	T_SCOPE,
	T_POOL,
	T_POOL_CIDR,
	T_ALLOC,
	T_DISCOVERY,
	T_PLIST,
	T_POLICY
};

static const struct {
	const char *prefix, *set_time, *set_id;
} adopt_sql[] = {
	[T_SCOPE] =
		{"ipam-scope-",
		 "UPDATE scope SET created = ?2 WHERE aws_id = ?1",
		 "UPDATE scope SET aws_id = ?1 WHERE aws_id = ?2"
		 " AND NOT EXISTS (SELECT 1 FROM scope WHERE aws_id = ?1)"},
	[T_POOL] = {"ipam-pool-",
		    "UPDATE pool SET created = ?2 WHERE aws_id = ?1",
		    "UPDATE pool SET aws_id = ?1 WHERE aws_id = ?2"
		 " AND NOT EXISTS (SELECT 1 FROM pool WHERE aws_id = ?1)"},
	[T_POOL_CIDR] = {"ipam-pool-cidr-",
			 "UPDATE pool_cidr SET created = ?2 WHERE aws_id = ?1",
			 "UPDATE pool_cidr SET aws_id = ?1 WHERE"
			 " aws_id = ?2 AND NOT EXISTS (SELECT 1 FROM"
			 " pool_cidr WHERE aws_id = ?1)"},
	[T_ALLOC] = {"ipam-pool-alloc-",
		     "UPDATE allocation SET created = ?2 WHERE aws_id = ?1",
		     "UPDATE allocation SET aws_id = ?1 WHERE"
		     " aws_id = ?2 AND NOT EXISTS (SELECT 1 FROM"
		     " allocation WHERE aws_id = ?1)"},
	[T_DISCOVERY] = {"ipam-res-disco-",
			 "UPDATE discovery SET created = ?2 WHERE aws_id = ?1",
			 "UPDATE discovery SET aws_id = ?1 WHERE"
			 " aws_id = ?2 AND NOT EXISTS (SELECT 1 FROM"
			 " discovery WHERE aws_id = ?1)"},
	[T_PLIST] = {"ipam-prefix-list-resolver-",
		     "UPDATE prefix_list SET created = ?2 WHERE aws_id = ?1",
		     "UPDATE prefix_list SET aws_id = ?1 WHERE"
		     " aws_id = ?2 AND NOT EXISTS (SELECT 1 FROM"
		     " prefix_list WHERE aws_id = ?1)"},
	[T_POLICY] = {"ipam-policy-",
		      "UPDATE policy SET created = ?2 WHERE aws_id = ?1",
		      "UPDATE policy SET aws_id = ?1 WHERE"
		      " aws_id = ?2 AND NOT EXISTS (SELECT 1 FROM"
		      " policy WHERE aws_id = ?1)"},
};

/*
 * Gives an object the import created the document's id (when it is
 * ipamfs-shaped and not taken) and creation time; *id follows.
 */
static int adopt(imp *im, enum adopt_table table, char id[IPAM_ID_MAX],
		 json_t *elem, const char *id_field, ipam_err *err)
{
	const char *want = str(elem, id_field), *when = str(elem, "Created");
	int64_t t = 0;
	int rc = 0;
	if (when && ipam_time_parse(&t, when) == 0 &&
	    (rc = sql_run(im->db, adopt_sql[table].set_time, id, t, err)))
		return rc;
	if (!ipam__io_id_ok(want, adopt_sql[table].prefix) || !strcmp(want, id))
		return 0;
	if (table == T_POOL && ipam__io_id_ok(want, "ipam-pool-alloc-"))
		return 0;
	if ((rc = sql_run2(im->db, adopt_sql[table].set_id, want, id, err)))
		return rc;
	if (ipam__changes(im->db) != 1)
		return 0;
	if (table != T_POOL_CIDR &&
	    (rc = sql_run2(im->db,
			   "UPDATE tag SET object_id = ?1 WHERE object_id = ?2",
			   want, id, err)))
		return rc;

	if (table == T_POOL &&
	    (rc = sql_run2(im->db,
			   "UPDATE allocation SET resource_id = ?1 WHERE"
			   " resource_type = 'ipam-pool' AND resource_id = ?2",
			   want, id, err)))
		return rc;
	snprintf(id, IPAM_ID_MAX, "%s", want);
	return 0;
}

/* Uid, Gid and Mode of the document: the mode always, the owner only when
 * root imports (only root gives objects away, as chown). */
static int perm_apply(imp *im, const char *id, json_t *elem, const char *kind,
		      const char *path, bool quiet, ipam_err *err)
{
	ipam_perm have, want;
	json_t *uid = json_object_get(elem, "Uid");
	json_t *gid = json_object_get(elem, "Gid");
	const char *mode = str(elem, "Mode");
	int rc = ipam_perm_get(im->db, id, &have, err);
	if (rc)
		return rc;
	want = have;
	if (im->db->actor.uid == 0) {
		if (json_is_integer(uid))
			want.uid = (uint32_t)json_integer_value(uid);
		if (json_is_integer(gid))
			want.gid = (uint32_t)json_integer_value(gid);
	}
	if (mode) {
		char *end = NULL;
		unsigned long m = strtoul(mode, &end, 8);
		if (!*mode || *end || m > 07777)
			return ipam__fail(err, IPAM_EINVAL,
					  "%s '%s': bad Mode '%.16s'", kind,
					  path, mode);
		want.mode = (uint32_t)m;
	}
	if (!memcmp(&have, &want, sizeof(want)))
		return 0;
	if (!quiet) {
		char what[96];
		snprintf(what, sizeof(what), "owner %u:%u %04o -> %u:%u %04o",
			 have.uid, have.gid, have.mode, want.uid, want.gid,
			 want.mode);
		change(im, '~', kind, path, what);
	}
	return ipam_perm_set(im->db, id, &want, err);
}

/* ---- reading the document: spans of an ipamfs text ---- */

static size_t skip_ws(const char *t, size_t i, size_t n)
{
	while (i < n &&
	       (t[i] == ' ' || t[i] == '\n' || t[i] == '\r' || t[i] == '\t'))
		i++;
	return i;
}

/* The end of the JSON value at t[i] (one past it), or 0 when malformed. */
static size_t skip_value(const char *t, size_t i, size_t n)
{
	int depth = 0;
	do {
		if (i >= n)
			return 0;
		char c = t[i];
		if (c == '"') {
			for (i++; i < n && t[i] != '"'; i++)
				if (t[i] == '\\')
					i++;
			if (i >= n)
				return 0;
			i++;
		} else if (c == '{' || c == '[') {
			depth++;
			i++;
		} else if (c == '}' || c == ']') {
			if (--depth < 0)
				return 0;
			i++;
		} else if (c == ',' || c == ':' || c == ' ' || c == '\n' ||
			   c == '\r' || c == '\t') {
			if (depth == 0)
				return 0;
			i++;
		} else {
			while (i < n && !strchr(",:}] \n\r\t\"{[", t[i]))
				i++;
		}
	} while (depth > 0);
	return i;
}

static size_t line_of(imp *im, size_t pos)
{
	if (pos < im->line_pos) {
		im->line_pos = 0;
		im->line_no = 1;
	}
	for (; im->line_pos < pos; im->line_pos++)
		im->line_no += im->text[im->line_pos] == '\n';
	return im->line_no;
}

static int syntax(imp *im, size_t pos, const char *what, ipam_err *err)
{
	return ipam__fail(err, IPAM_EINVAL,
			  "line %zu: not a valid ipamfs export: %s",
			  line_of(im, pos), what);
}

/* Scans the top-level object once: the span of each key's value. */
static int scan_keys(imp *im, ipam_err *err)
{
	const char *t = im->text;
	size_t n = im->len, i = skip_ws(t, 0, n);
	im->scanned = true;
	if (i >= n || t[i] != '{')
		return syntax(im, i, "expected '{'", err);
	i = skip_ws(t, i + 1, n);
	if (i < n && t[i] == '}')
		return 0;
	for (;;) {
		size_t k = i, ke = skip_value(t, i, n), vs, ve;
		if (!ke || t[k] != '"')
			return syntax(im, k, "expected a key", err);
		i = skip_ws(t, ke, n);
		if (i >= n || t[i] != ':')
			return syntax(im, i, "expected ':'", err);
		vs = skip_ws(t, i + 1, n);
		ve = skip_value(t, vs, n);
		if (!ve)
			return syntax(im, vs, "malformed value", err);
		if (grow((void **)&im->keys, &im->capkeys, im->nkeys,
			 sizeof(*im->keys)))
			return ipam__fail(err, IPAM_ENOMEM, "out of memory");
		im->keys[im->nkeys++] =
			(struct key_span){k + 1, ke - k - 2, vs, ve};
		i = skip_ws(t, ve, n);
		if (i < n && t[i] == '}')
			return skip_ws(t, i + 1, n) == n
				       ? 0
				       : syntax(im, i + 1,
						"text after the document", err);
		if (i >= n || t[i] != ',')
			return syntax(im, i, "expected ',' or '}'", err);
		i = skip_ws(t, i + 1, n);
	}
}

/* Finds the value of top-level key `key`: its span in start..end (both 0
 * when absent; the last one when the key repeats). */
static int find_key(imp *im, const char *key, size_t *start, size_t *end,
		    ipam_err *err)
{
	int rc = im->scanned ? 0 : scan_keys(im, err);
	*start = *end = 0;
	for (size_t i = 0; rc == 0 && i < im->nkeys; i++)
		if (im->keys[i].len == strlen(key) &&
		    !memcmp(im->text + im->keys[i].key, key, im->keys[i].len)) {
			*start = im->keys[i].start;
			*end = im->keys[i].end;
		}
	return rc;
}

static int parse_span(imp *im, size_t s, size_t e, json_t **out, ipam_err *err)
{
	json_error_t jerr;
	*out = json_loadb(im->text + s, e - s, JSON_DECODE_ANY, &jerr);
	if (!*out)
		return ipam__fail(err, IPAM_EINVAL, "line %zu: bad JSON: %s",
				  line_of(im, s), jerr.text);
	return 0;
}

static int alloc_apply(imp *im, json_t *el, size_t line, ipam_err *err);
static int alloc_fast(imp *im, size_t s, size_t e, size_t line, ipam_err *err);

/* Calls fn for each element of the top-level array `key`. */
static int each(imp *im, const char *key, elem_fn fn, ipam_err *err)
{
	size_t s, e, i;
	int rc;
	if (im->doc) {
		json_t *arr = json_object_get(im->doc, key), *el;
		if (arr && !json_is_array(arr))
			return ipam__fail(err, IPAM_EINVAL, "%s is not a list",
					  key);
		json_array_foreach(arr, i, el)
		{
			json_t *l = json_object_get(el, "SourceLine");
			size_t line = json_is_integer(l)
					      ? (size_t)json_integer_value(l)
					      : 0;
			if ((rc = fn(im, el, line, err)))
				return at_line(line, rc, err);
		}
		return 0;
	}
	if ((rc = find_key(im, key, &s, &e, err)) || s == e)
		return rc;
	if (im->text[s] != '[')
		return syntax(im, s, "expected a list", err);
	i = skip_ws(im->text, s + 1, e);
	if (im->text[i] == ']')
		return 0;
	for (;;) {
		size_t ve = skip_value(im->text, i, e), line;
		json_t *el = NULL;
		if (!ve)
			return syntax(im, i, "malformed element", err);
		line = line_of(im, i);
		if (fn == alloc_apply &&
		    (rc = alloc_fast(im, i, ve, line, err))) {
			if (rc < 0)
				return at_line(line, rc, err);
			goto next;
		}
		if ((rc = parse_span(im, i, ve, &el, err)))
			return rc;
		if (!json_is_object(el))
			rc = ipam__fail(err, IPAM_EINVAL,
					"an element of %s is not an object",
					key);
		else
			rc = fn(im, el, line, err);
		json_decref(el);
		if (rc)
			return at_line(line, rc, err);
	next:
		i = skip_ws(im->text, ve, e);
		if (im->text[i] == ']')
			return 0;
		if (im->text[i] != ',')
			return syntax(im, i, "expected ',' or ']'", err);
		i = skip_ws(im->text, i + 1, e);
	}
}

/* The top-level value of `key` parsed whole (small parts only). */
static int part(imp *im, const char *key, json_t **out, ipam_err *err)
{
	size_t s, e;
	int rc;
	*out = NULL;
	if (im->doc) {
		*out = json_incref(json_object_get(im->doc, key));
		return 0;
	}
	if ((rc = find_key(im, key, &s, &e, err)) || s == e)
		return rc;
	return parse_span(im, s, e, out, err);
}

/* ---- the IPAM ---- */

static int ipam_fresh(imp *im, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		im->db,
		"SELECT (SELECT count(*) FROM pool) + (SELECT count(*) FROM"
		" scope WHERE is_default = 0)",
		err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	rc = ipam__step(im->db, stmt, err);
	if (rc == 1)
		im->fresh = ipam__col_int64(stmt, 0) == 0;
	ipam__reset(stmt);
	return rc < 0 ? rc : 0;
}

/* A set setting of the IPAM (a list of strings) made the document's:
 * `item` reads an element (NULL: not one), get/set are the library's. */
typedef struct set_setting {
	const char *field, *file;
	const char *(*item)(json_t *el);
	int (*get)(ipam *db, ipam_strlist *out, ipam_err *err);
	int (*set)(ipam *db, const char *const *items, size_t n, ipam_err *err);
} set_setting;

static int set_apply(imp *im, const set_setting *st, json_t *list,
		     ipam_err *err)
{
	ipam_strlist have = {0};
	const char **want;
	size_t n = json_array_size(list), i;
	json_t *el;
	bool same;
	int rc;
	if (!json_is_array(list))
		return 0;
	if ((rc = st->get(im->db, &have, err)))
		return rc;
	want = calloc(n + 1, sizeof(*want));
	if (!want) {
		ipam_strlist_free(&have);
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	json_array_foreach(list, i, el)
	{
		want[i] = st->item(el);
		if (!want[i] && rc == 0)
			rc = ipam__fail(err, IPAM_EINVAL,
					"ipam: %s[%zu] is not a string",
					st->field, i);
	}
	same = rc == 0 && have.count == n;
	for (i = 0; same && i < n; i++)
		same = !strcmp(have.items[i], want[i]);
	if (rc == 0 && !same) {
		rc = st->set(im->db, want, n, err);
		if (rc == 0)
			change(im, '~', "ipam", "", st->file);
	}
	free(want);
	ipam_strlist_free(&have);
	return rc;
}

static const char *region_item(json_t *el)
{
	return str_or(el, "RegionName", "");
}

static const char *string_item(json_t *el)
{
	return json_string_value(el);
}

static int ipam_locales_apply(imp *im, json_t *regions, ipam_err *err)
{
	static const set_setting st = {"OperatingRegions", "operating-locales",
				       region_item, ipam_locales_get,
				       ipam_locales_set};
	return set_apply(im, &st, regions, err);
}

/* An IPAM with no pool takes the document's id, home locale and time. */
static int ipam_adopt(imp *im, json_t *obj, ipam_info *info, ipam_err *err)
{
	const char *id = str(obj, "IpamId"), *home = str(obj, "IpamRegion");
	const char *when = str(obj, "Created");
	int64_t t;
	int rc = 0;
	if (!im->fresh)
		return 0;
	if (home && strcmp(home, info->home_locale) &&
	    (rc = ipam_locale_check(home, err)) == 0) {
		rc = sql_run(im->db,
			     "INSERT INTO locale(name) VALUES (?1)"
			     " ON CONFLICT DO NOTHING",
			     home, 0, err);
		if (rc == 0)
			rc = sql_run(im->db, "UPDATE ipam SET home_locale = ?1",
				     home, 0, err);
		if (rc == 0)
			changed_text(im, "ipam", "", "home-locale",
				     info->home_locale, home);
	}
	if (rc == 0 && ipam__io_id_ok(id, "ipam-") && strcmp(id, info->id)) {
		rc = sql_run2(im->db,
			      "UPDATE tag SET object_id = ?1 WHERE"
			      " object_id = ?2",
			      id, info->id, err);
		if (rc == 0)
			rc = sql_run(im->db, "UPDATE ipam SET aws_id = ?1", id,
				     0, err);
	}
	if (rc == 0 && when && ipam_time_parse(&t, when) == 0)
		rc = sql_run(im->db, "UPDATE ipam SET created = ?2", NULL, t,
			     err);
	if (rc == 0 && str(obj, "OwnerId")) {
		char *end = NULL;
		unsigned long uid = strtoul(str(obj, "OwnerId"), &end, 10);
		if (*str(obj, "OwnerId") && !*end && uid <= UINT32_MAX)
			rc = sql_run(im->db, "UPDATE ipam SET owner_uid = ?2",
				     NULL, (int64_t)uid, err);
	}
	return rc;
}

/* ProviderCidrs: the provider CIDRs, set before the pools' CIDRs come. */
static int provider_apply(imp *im, json_t *list, ipam_err *err)
{
	static const set_setting st = {"ProviderCidrs", "provider-cidrs",
				       string_item, ipam_provider_cidrs_get,
				       ipam_provider_cidrs_set};
	return set_apply(im, &st, list, err);
}

/* Certificate, AccountId, DnsResolver: as stored ("" AccountId = the
 * owner's uid), each validated by its setter. */
static int byoip_settings_apply(imp *im, json_t *obj, ipam_err *err)
{
	static const struct {
		const char *field, *file, *same_sql;
		ipam_byoip_setting which;
	} settings[] = {
		{"Certificate", "certificate",
		 "SELECT certificate = ?1 FROM ipam", IPAM_BYOIP_CERTIFICATE},
		{"AccountId", "account-id", "SELECT account_id = ?1 FROM ipam",
		 IPAM_BYOIP_ACCOUNT_ID},
		{"DnsResolver", "dns-resolver",
		 "SELECT dns_resolver = ?1 FROM ipam", IPAM_BYOIP_DNS_RESOLVER},
	};
	ipam_stmt *stmt;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(settings) / sizeof(*settings);
	     i++) {
		json_t *v = json_object_get(obj, settings[i].field);
		bool same = false;
		if (!v)
			continue;
		if (!json_is_string(v))
			return ipam__fail(err, IPAM_EINVAL,
					  "ipam: %s is not a string",
					  settings[i].field);
		if (!(stmt = ipam__stmt(im->db, settings[i].same_sql, err)))
			return ipam__stmt_error(err);
		ipam__bind_text(stmt, 1, json_string_value(v), -1);
		if ((rc = ipam__step(im->db, stmt, err)) == 1)
			same = ipam__col_int(stmt, 0) != 0;
		ipam__reset(stmt);
		if (rc < 0 || same) {
			rc = rc < 0 ? rc : 0;
			continue;
		}
		change(im, '~', "ipam", "", settings[i].file);
		rc = ipam_byoip_setting_set(im->db, settings[i].which,
					    json_string_value(v), err);
		if (rc)
			rc = wrap(err, rc, "ipam: %s", settings[i].field);
	}
	return rc;
}

static int ipam_settings(imp *im, json_t *obj, ipam_info *info, ipam_err *err)
{
	const char *desc = str(obj, "Description"), *tier = str(obj, "Tier");
	json_t *gua = json_object_get(obj, "EnablePrivateGua");
	json_t *quotas = json_object_get(obj, "Quotas");
	int rc = 0;
	if (desc && strcmp(desc, info->description)) {
		changed_text(im, "ipam", "", "description", info->description,
			     desc);
		rc = ipam_set_description(im->db, desc, err);
	}
	if (rc == 0 && tier &&
	    strcmp(tier, info->tier == IPAM_TIER_FREE ? "free" : "advanced")) {
		if (strcmp(tier, "free") && strcmp(tier, "advanced"))
			return ipam__fail(err, IPAM_EINVAL,
					  "ipam: Tier is 'free' or 'advanced'");
		change(im, '~', "ipam", "", "tier");
		rc = ipam_set_tier(im->db,
				   strcmp(tier, "free") ? IPAM_TIER_ADVANCED
							: IPAM_TIER_FREE,
				   err);
	}
	if (rc == 0 && json_is_boolean(gua) &&
	    json_is_true(gua) != info->enable_private_gua) {
		change(im, '~', "ipam", "", "enable-private-gua");
		rc = ipam_set_private_gua(im->db, json_is_true(gua), err);
	}
	for (int r = 0; rc == 0 && r < 2; r++) {
		static const char *const key[] = {"HistoryRetentionDays",
						  "EventRetentionDays"};
		static const char *const file[] = {"history-retention-days",
						   "event-retention-days"};
		json_t *want = json_object_get(obj, key[r]);
		int64_t have = 0;
		if (!json_is_integer(want))
			continue;
		rc = ipam_retention_get(im->db, (ipam_retention)r, &have, err);
		if (rc == 0 && have != json_integer_value(want)) {
			change(im, '~', "ipam", "", file[r]);
			rc = ipam_retention_set(im->db, (ipam_retention)r,
						json_integer_value(want), err);
		}
	}
	if (rc == 0)
		rc = provider_apply(im, json_object_get(obj, "ProviderCidrs"),
				    err);
	if (rc == 0)
		rc = byoip_settings_apply(im, obj, err);
	for (int q = 0; rc == 0 && q < IPAM_QUOTA_COUNT; q++) {
		json_t *v =
			json_object_get(quotas, ipam_quota_name((ipam_quota)q));
		int64_t have = 0;
		if (!json_is_integer(v))
			continue;
		rc = ipam_quota_get(im->db, (ipam_quota)q, &have, err);
		if (rc == 0 && have != json_integer_value(v)) {
			char what[64];
			snprintf(what, sizeof(what), "quotas/%s",
				 ipam_quota_name((ipam_quota)q));
			change(im, '~', "ipam", "", what);
			rc = ipam_quota_set(im->db, (ipam_quota)q,
					    json_integer_value(v), err);
		}
	}
	return rc;
}

static int ipam_apply(imp *im, ipam_err *err)
{
	json_t *obj = NULL;
	ipam_info info;
	int rc = part(im, "Ipam", &obj, err);
	if (rc || !obj)
		return rc;
	if (!json_is_object(obj))
		rc = ipam__fail(err, IPAM_EINVAL, "Ipam is not an object");
	if (rc == 0)
		rc = ipam__info_load(im->db, &info, err);
	if (rc == 0)
		rc = ipam_adopt(im, obj, &info, err);
	if (rc == 0)
		rc = ipam__info_load(im->db, &info, err);
	if (rc == 0)
		rc = ipam_locales_apply(
			im, json_object_get(obj, "OperatingRegions"), err);
	if (rc == 0)
		rc = ipam_settings(im, obj, &info, err);
	if (rc == 0)
		rc = tags_apply(im, info.id, json_object_get(obj, "Tags"),
				"ipam", "", false, err);
	json_decref(obj);
	return rc;
}

/* ---- scopes ---- */

static int scope_apply(imp *im, json_t *el, size_t line, ipam_err *err)
{
	const char *name = str(el, "Name"), *desc = str(el, "Description");
	char path[IPAM_NAME_MAX + 16];
	ipam_scope_info *sc = malloc(sizeof(*sc));
	int64_t key = 0;
	bool made = false;
	int rc;
	if (!sc)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if (!name)
		name = json_is_true(json_object_get(el, "IsDefault"))
			       ? str_or(el, "IpamScopeType", "")
			       : NULL;
	if (!name) {
		free(sc);
		return ipam__fail(err, IPAM_EINVAL, "a scope without a Name");
	}
	snprintf(path, sizeof(path), "scopes/%s", name);
	rc = ipam_scope_get(im->db, name, sc, NULL);
	if (rc == IPAM_ENOENT) {
		if (!strcmp(str_or(el, "IpamScopeType", "private"), "public"))
			rc = ipam__fail(err, IPAM_EPERM,
					"scope '%s': only private scopes can "
					"be created",
					name);
		else
			rc = ipam_scope_create(im->db, name, &key, err);
		if (rc == 0)
			rc = ipam_scope_get_by_key(im->db, key, sc, err);
		made = rc == 0;
		if (made)
			change(im, '+', "scope", path, NULL);
	}
	if (rc == 0 && (made || (im->fresh && sc->is_default)))
		rc = adopt(im, T_SCOPE, sc->id, el, "IpamScopeId", err);
	if (rc == 0 && desc && strcmp(desc, sc->description)) {
		if (!made)
			changed_text(im, "scope", path, "description",
				     sc->description, desc);
		rc = ipam_scope_set_description(im->db, sc->key, desc, err);
	}
	if (rc == 0)
		rc = tags_apply(im, sc->id, json_object_get(el, "Tags"),
				"scope", path, made, err);
	if (rc == 0)
		rc = perm_apply(im, sc->id, el, "scope", path, made, err);
	if (rc == 0) {
		int64_t *p = realloc(im->scopes_seen,
				     (im->nscopes + 1) * sizeof(*p));
		if (!p)
			rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
		else
			(im->scopes_seen = p)[im->nscopes++] = sc->key;
	}
	free(sc);
	(void)line;
	return rc;
}

/* ---- pools ---- */

static int key_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* A document element kept for a later pass (pools and CIDRs: few). */
typedef struct held {
	json_t *el;
	size_t line;
	int depth;
	size_t order;
} held;

struct held_list {
	held *items;
	size_t n, cap;
};
typedef struct held_list held_list;

static int hold(held_list *list, json_t *el, size_t line, ipam_err *err)
{
	if (grow((void **)&list->items, &list->cap, list->n, sizeof(held)))
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	list->items[list->n] = (held){json_incref(el), line, 0, list->n};
	list->n++;
	return 0;
}

static void held_free(held_list *list)
{
	for (size_t i = 0; i < list->n; i++)
		json_decref(list->items[i].el);
	free(list->items);
}

static int held_cmp(const void *a, const void *b)
{
	const held *x = a, *y = b;
	if (x->depth != y->depth)
		return x->depth - y->depth;
	return (x->order > y->order) - (x->order < y->order);
}

static int ref_cmp(const void *a, const void *b)
{
	return strcmp(((const imp_pool *)a)->ref, ((const imp_pool *)b)->ref);
}

static imp_pool *pool_ref(imp *im, const char *ref)
{
	imp_pool key = {.ref = (char *)ref};
	return ref ? bsearch(&key, im->pools, im->npools, sizeof(imp_pool),
			     ref_cmp)
		   : NULL;
}

/* Depth of "scopes/S/pools/A/pools/B" (2), or -1 when malformed. */
static int path_depth(const char *path)
{
	int depth = 0;
	const char *p;
	if (!path || strncmp(path, "scopes/", 7))
		return -1;
	p = strchr(path + 7, '/');
	while (p) {
		if (strncmp(p, "/pools/", 7) || !p[7] || p[7] == '/')
			return -1;
		depth++;
		p = strchr(p + 7, '/');
	}
	return depth ? depth : -1;
}

/* Finds (or, when create, makes) the pool at `path`. *made tells. */
static int pool_find(imp *im, const char *path, int64_t *scope_out,
		     int64_t *out, bool *made, ipam_err *err)
{
	char *copy = ipam__strdup(path), *save = NULL, *tok;
	ipam_scope_info *sc = malloc(sizeof(*sc));
	int64_t parent = 0, key = 0;
	int rc = 0;
	*made = false;
	if (!copy || !sc) {
		free(copy);
		free(sc);
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	strtok_r(copy, "/", &save);	  /* scopes */
	tok = strtok_r(NULL, "/", &save); /* S */
	rc = ipam_scope_get(im->db, tok, sc, NULL);
	if (rc)
		rc = ipam__fail(err, rc == IPAM_ENOENT ? IPAM_EINVAL : rc,
				"pool '%s': no scope '%s'", path, tok);
	while (rc == 0 && strtok_r(NULL, "/", &save)) {
		tok = strtok_r(NULL, "/", &save);
		char *more = save && *save ? save : NULL;
		rc = ipam_pool_lookup(im->db, sc->key, parent, tok, &key, NULL);
		if (rc == IPAM_ENOENT && !more) {
			rc = ipam_pool_create(im->db, sc->key, parent, tok,
					      &key, err);
			*made = rc == 0;
		} else if (rc) {
			rc = ipam__fail(err,
					rc == IPAM_ENOENT ? IPAM_EINVAL : rc,
					"pool '%s': its parent '%s' is not in "
					"the IPAM or earlier in the document",
					path, tok);
		}
		parent = key;
		if (!more)
			break;
	}
	*scope_out = sc->key;
	*out = key;
	free(copy);
	free(sc);
	return rc;
}

static int netmask_of(json_t *el, const char *key)
{
	json_t *v = json_object_get(el, key);
	return json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

static int pool_netmasks(imp *im, const ipam_pool_info *p, json_t *el,
			 const char *path, bool made, ipam_err *err)
{
	int want[3] = {netmask_of(el, "AllocationMinNetmaskLength"),
		       netmask_of(el, "AllocationMaxNetmaskLength"),
		       netmask_of(el, "AllocationDefaultNetmaskLength")};
	int have[3] = {p->min_netmask, p->max_netmask, p->default_netmask};
	static const char *const names[3] = {
		"allocation-min-netmask-length",
		"allocation-max-netmask-length",
		"allocation-default-netmask-length"};
	int rc;
	if (!memcmp(want, have, sizeof(want)))
		return 0;
	/* default first out, then bounds, then default: never min > max */
	if ((rc = ipam_pool_set_netmask(im->db, p->key, IPAM_NETMASK_DEFAULT,
					-1, err)) ||
	    (rc = ipam_pool_set_netmask(im->db, p->key, IPAM_NETMASK_MIN, -1,
					err)) ||
	    (rc = ipam_pool_set_netmask(im->db, p->key, IPAM_NETMASK_MAX,
					want[1], err)) ||
	    (rc = ipam_pool_set_netmask(im->db, p->key, IPAM_NETMASK_MIN,
					want[0], err)) ||
	    (rc = ipam_pool_set_netmask(im->db, p->key, IPAM_NETMASK_DEFAULT,
					want[2], err)))
		return rc;
	for (int i = 0; i < 3 && !made; i++)
		if (want[i] != have[i]) {
			char what[96];
			snprintf(what, sizeof(what), "%s %d -> %d", names[i],
				 have[i], want[i]);
			change(im, '~', "pool", path, what);
		}
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int pool_rule_tags(imp *im, int64_t pool, json_t *list, const char *path,
			  bool made, ipam_err *err)
{
	ipam_strlist have = {0}, want = {0};
	size_t i;
	json_t *t;
	bool same;
	int rc;
	if (!json_is_array(list))
		return 0;
	json_array_foreach(list, i, t)
	{
		char *pair = NULL;
		if (asprintf(&pair, "%s=%s", str_or(t, "Key", ""),
			     str_or(t, "Value", "")) < 0 ||
		    ipam__strlist_push(&want, pair)) {
			free(pair);
			ipam_strlist_free(&want);
			return ipam__fail(err, IPAM_ENOMEM, "out of memory");
		}
		free(pair);
	}
	if (want.count)
		qsort(want.items, want.count, sizeof(char *), str_cmp);
	rc = ipam_pool_get_required_tags(im->db, pool, &have, err);
	same = rc == 0 && have.count == want.count;
	for (i = 0; same && i < want.count; i++)
		same = !strcmp(have.items[i], want.items[i]);
	if (rc == 0 && !same) {
		rc = ipam_pool_set_required_tags(
			im->db, pool, (const char *const *)want.items,
			want.count, err);
		if (!made)
			change(im, '~', "pool", path,
			       "allocation-resource-tags");
	}
	ipam_strlist_free(&have);
	ipam_strlist_free(&want);
	return rc;
}

static int pool_public(imp *im, const ipam_pool_info *p, json_t *el,
		       const char *path, bool made, ipam_err *err)
{
	json_t *adv = json_object_get(el, "PubliclyAdvertisable");
	const char *svc = str(el, "AwsService"),
		   *src = str(el, "PublicIpSource");
	int rc = 0;
	if (!p->is_public)
		return 0;
	if (json_is_boolean(adv) &&
	    json_is_true(adv) != p->publicly_advertisable) {
		if (!made)
			change(im, '~', "pool", path, "publicly-advertisable");
		rc = ipam_pool_set_publicly_advertisable(
			im->db, p->key, json_is_true(adv), err);
	}
	if (rc == 0 && svc && strcmp(svc, p->aws_service)) {
		if (!made)
			changed_text(im, "pool", path, "aws-service",
				     p->aws_service, svc);
		rc = ipam_pool_set_aws_service(im->db, p->key, svc, err);
	}
	if (rc == 0 && src && strcmp(src, p->public_ip_source)) {
		if (!made)
			changed_text(im, "pool", path, "public-ip-source",
				     p->public_ip_source, src);
		rc = ipam_pool_set_public_ip_source(im->db, p->key, src, err);
	}
	return rc;
}

/* Family, locale, description, strategy of a pool. */
static int pool_settings(imp *im, const ipam_pool_info *p, json_t *el,
			 const char *path, bool made, ipam_err *err)
{
	const char *fam = str(el, "AddressFamily"), *loc = str(el, "Locale");
	const char *desc = str(el, "Description");
	const char *strat = str(el, "AllocationStrategy");
	int rc = 0;
	if (fam) {
		int want = !strcmp(fam, "ipv6")	  ? 6
			   : !strcmp(fam, "ipv4") ? 4
						  : 0;
		if (!want)
			return ipam__fail(err, IPAM_EINVAL,
					  "pool '%s': AddressFamily is ipv4 "
					  "or ipv6, not '%.16s'",
					  path, fam);
		if (want != p->family) {
			if (!made)
				changed_text(im, "pool", path, "address-family",
					     ipam_family_name(p->family), fam);
			rc = ipam_pool_set_family(im->db, p->key, want, err);
		}
	}
	if (rc == 0 && loc) {
		const char *want = !strcmp(loc, "None") ? "" : loc;
		if (strcmp(want, p->locale)) {
			if (!made)
				changed_text(im, "pool", path, "locale",
					     p->locale, want);
			rc = ipam_pool_set_locale(im->db, p->key, want, err);
		}
	}
	if (rc == 0 && desc && strcmp(desc, p->description)) {
		if (!made)
			changed_text(im, "pool", path, "description",
				     p->description, desc);
		rc = ipam_pool_set_description(im->db, p->key, desc, err);
	}
	if (rc == 0 && strat &&
	    strcmp(strat, ipam_strategy_name(p->strategy))) {
		ipam_strategy s;
		if (ipam_strategy_parse(&s, strat))
			return ipam__fail(err, IPAM_EINVAL,
					  "pool '%s': unknown "
					  "AllocationStrategy '%.32s'",
					  path, strat);
		if (!made)
			changed_text(im, "pool", path, "allocation-strategy",
				     ipam_strategy_name(p->strategy), strat);
		rc = ipam_pool_set_strategy(im->db, p->key, s, err);
	}
	return rc;
}

/* A resource planning pool's VPC ("SourceResource": {"ResourceId"}); a
 * child pool inherits its parent's and its document has none. */
static int pool_source_resource(imp *im, const ipam_pool_info *p, json_t *el,
				const char *path, bool made, ipam_err *err)
{
	json_t *src = json_object_get(el, "SourceResource");
	const char *want = src ? str(src, "ResourceId") : "";
	if (src && !want)
		return ipam__fail(err, IPAM_EINVAL,
				  "pool '%s': SourceResource without a "
				  "ResourceId",
				  path);
	if (p->parent_key || !strcmp(want, p->plan_vpc))
		return 0;
	if (!made)
		changed_text(im, "pool", path, "source-resource", p->plan_vpc,
			     want);
	return ipam_pool_set_source_resource(im->db, p->key, want, err);
}

static int pool_record(imp *im, json_t *el, const char *path,
		       const ipam_pool_info *p, bool made, ipam_err *err)
{
	const char *ref = str(el, "IpamPoolId");
	if (grow((void **)&im->pools, &im->cappools, im->npools,
		 sizeof(imp_pool)))
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	imp_pool *ip = &im->pools[im->npools];
	ip->ref = ipam__strdup(ref ? ref : path);
	ip->path = ipam__strdup(path);
	ip->key = p->key;
	ip->family = p->family;
	ip->depth = p->depth;
	ip->created = made;
	if (!ip->ref || !ip->path) {
		free(ip->ref);
		free(ip->path);
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	im->npools++;
	return 0;
}

static int pool_apply(imp *im, json_t *el, ipam_err *err)
{
	const char *path = str(el, "Path");
	ipam_pool_info *p = malloc(sizeof(*p));
	int64_t scope = 0, key = 0;
	bool made = false;
	int rc;
	if (!p)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	rc = pool_find(im, path, &scope, &key, &made, err);
	if (rc == 0 && made)
		change(im, '+', "pool", path, NULL);
	if (rc == 0)
		rc = ipam_pool_get(im->db, key, p, err);
	if (rc == 0 && made)
		rc = adopt(im, T_POOL, p->id, el, "IpamPoolId", err);
	if (rc == 0)
		rc = pool_settings(im, p, el, path, made, err);
	if (rc == 0)
		rc = ipam_pool_get(im->db, key, p, err);
	if (rc == 0)
		rc = pool_netmasks(im, p, el, path, made, err);
	if (rc == 0)
		rc = pool_rule_tags(
			im, key, json_object_get(el, "AllocationResourceTags"),
			path, made, err);
	if (rc == 0)
		rc = pool_public(im, p, el, path, made, err);
	if (rc == 0)
		rc = pool_source_resource(im, p, el, path, made, err);
	if (rc == 0)
		rc = tags_apply(im, p->id, json_object_get(el, "Tags"), "pool",
				path, made, err);
	if (rc == 0)
		rc = perm_apply(im, p->id, el, "pool", path, made, err);
	if (rc == 0)
		rc = pool_record(im, el, path, p, made, err);
	free(p);
	return rc;
}

static int hold_any(imp *im, json_t *el, size_t line, ipam_err *err)
{
	return hold(im->target, el, line, err);
}

static int pools_apply(imp *im, ipam_err *err)
{
	held_list list = {0};
	int rc;
	im->target = &list;
	rc = each(im, "IpamPools", hold_any, err);
	for (size_t i = 0; rc == 0 && i < list.n; i++) {
		held *h = &list.items[i];
		h->depth = path_depth(str(h->el, "Path"));
		if (h->depth < 0)
			rc = at_line(
				h->line,
				ipam__fail(err, IPAM_EINVAL,
					   "a pool without a Path "
					   "'scopes/SCOPE/pools/NAME', "
					   "'.../pools/CHILD' for a child"),
				err);
	}
	if (rc == 0 && list.n)
		qsort(list.items, list.n, sizeof(held), held_cmp);
	for (size_t i = 0; rc == 0 && i < list.n; i++) {
		json_t *ai = json_object_get(list.items[i].el, "AutoImport");
		rc = at_line(list.items[i].line,
			     pool_apply(im, list.items[i].el, err), err);
		if (rc == 0 && json_is_boolean(ai))
			json_object_set(im->auto_import,
					im->pools[im->npools - 1].path, ai);
	}
	held_free(&list);
	if (rc == 0 && im->npools) {
		qsort(im->pools, im->npools, sizeof(imp_pool), ref_cmp);
		for (size_t i = 1; i < im->npools; i++)
			if (!strcmp(im->pools[i].ref, im->pools[i - 1].ref))
				return ipam__fail(err, IPAM_EINVAL,
						  "two pools have the id or "
						  "path '%s'",
						  im->pools[i].ref);
	}
	return rc;
}

/* Enabling auto-import comes after the CIDRs (it may take resources'
 * CIDRs into the pool at once). */
static int auto_import_apply(imp *im, ipam_err *err)
{
	for (size_t i = 0; i < im->npools; i++) {
		json_t *want =
			json_object_get(im->auto_import, im->pools[i].path);
		ipam_pool_info p;
		int rc;
		if (!want)
			continue;
		if ((rc = ipam__pool_load(im->db, im->pools[i].key, &p, err)))
			return rc;
		if (p.auto_import == json_is_true(want))
			continue;
		if (!im->pools[i].created)
			change(im, '~', "pool", im->pools[i].path,
			       json_is_true(want)
				       ? "auto-import false -> true"
				       : "auto-import true -> false");
		if ((rc = ipam_pool_set_auto_import(im->db, im->pools[i].key,
						    json_is_true(want), err)))
			return wrap(err, rc, "pool '%s'", im->pools[i].path);
	}
	return 0;
}

/* ---- provisioned CIDRs ---- */

struct cidr_seen {
	int64_t pool;
	ipam_cidr cidr;
};

static int cidr_seen_cmp(const void *a, const void *b)
{
	const struct cidr_seen *x = a, *y = b;
	if (x->pool != y->pool)
		return (x->pool > y->pool) - (x->pool < y->pool);
	return ipam_cidr_compare(&x->cidr, &y->cidr);
}

static int elem_pool(imp *im, json_t *el, const char *what, imp_pool **out,
		     ipam_err *err)
{
	const char *ref = str(el, "IpamPoolId");
	*out = pool_ref(im, ref);
	if (!*out)
		return ipam__fail(err, IPAM_EINVAL,
				  "%s: IpamPoolId '%.80s' is not a pool of the "
				  "document",
				  what, ref ? ref : "(none)");
	return 0;
}

static int elem_cidr(imp_pool *p, json_t *el, const char *what, ipam_cidr *out,
		     ipam_err *err)
{
	const char *text = str(el, "Cidr");
	ipam_err why = {IPAM_OK, ""};
	if (!text || ipam_cidr_parse(out, text, &why))
		return ipam__fail(err, IPAM_EINVAL, "%s in pool '%s': %s", what,
				  p->path, text ? why.msg : "no Cidr");
	if (out->family != p->family)
		return ipam__fail(err, IPAM_EINVAL, "%s %s: pool '%s' is IPv%d",
				  what, text, p->path, p->family);
	return 0;
}

/* The key and id of row (pool, start, prefix) of a table; 1 found. */
static int cidr_row(imp *im, bool alloc, int64_t pool, const ipam_cidr *c,
		    char id[IPAM_ID_MAX], ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		im->db,
		alloc ? "SELECT aws_id FROM allocation WHERE pool_key = ?1 AND"
			" start = ?2 AND prefix = ?3"
		      : "SELECT aws_id FROM pool_cidr WHERE pool_key = ?1 AND"
			" start = ?2 AND prefix = ?3",
		err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	ipam__bind_addr(stmt, 2, c->addr);
	ipam__bind_int(stmt, 3, c->prefix);
	rc = ipam__step(im->db, stmt, err);
	if (rc == 1)
		ipam__copy_text(id, IPAM_ID_MAX, stmt, 0);
	ipam__reset(stmt);
	return rc;
}

static int note_key(int64_t **arr, size_t *n, size_t *cap, int64_t key,
		    ipam_err *err);

/* Remembers the allocation a child pool's new CIDR made in its parent. */
static int note_parent_alloc(imp *im, int64_t pool, const ipam_cidr *c,
			     ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		im->db,
		"SELECT a.key FROM pool p JOIN allocation a ON a.pool_key ="
		" p.parent_key AND a.start = ?2 AND a.prefix = ?3 WHERE"
		" p.key = ?1",
		err);
	int64_t key = 0;
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	ipam__bind_addr(stmt, 2, c->addr);
	ipam__bind_int(stmt, 3, c->prefix);
	rc = ipam__step(im->db, stmt, err);
	if (rc == 1)
		key = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	if (rc < 0)
		return rc;
	return key ? note_key(&im->made, &im->nfresh, &im->capfresh, key, err)
		   : 0;
}

static int cidr_apply(imp *im, json_t *el, ipam_err *err)
{
	imp_pool *p;
	ipam_cidr c;
	char id[IPAM_ID_MAX], text[IPAM_CIDR_STRLEN];
	int rc = elem_pool(im, el, "a provisioned CIDR", &p, err);
	if (rc || (rc = elem_cidr(p, el, "provisioned CIDR", &c, err)))
		return rc;
	if (grow((void **)&im->cidrs, &im->capcidrs, im->ncidrs,
		 sizeof(*im->cidrs)))
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	im->cidrs[im->ncidrs++] = (struct cidr_seen){p->key, c};
	rc = cidr_row(im, false, p->key, &c, id, err);
	if (rc)
		return rc < 0 ? rc : 0;
	ipam_cidr_format(&c, text);
	if ((rc = ipam__pool_provision_restore(im->db, p->key, &c, err)))
		return wrap(err, rc, "cannot provision %s to pool '%s'", text,
			    p->path);
	change(im, '+', "cidr", p->path, text);
	if ((rc = cidr_row(im, false, p->key, &c, id, err)) != 1)
		return rc < 0 ? rc : ipam__fail(err, IPAM_EIO, "lost a CIDR");
	if ((rc = adopt(im, T_POOL_CIDR, id, el, "IpamPoolCidrId", err)))
		return rc;
	return note_parent_alloc(im, p->key, &c, err);
}

static int cidrs_apply(imp *im, ipam_err *err)
{
	held_list list = {0};
	int rc;
	im->target = &list;
	rc = each(im, "IpamPoolCidrs", hold_any, err);
	for (size_t i = 0; rc == 0 && i < list.n; i++) {
		imp_pool *p = pool_ref(im, str(list.items[i].el, "IpamPoolId"));
		list.items[i].depth = p ? p->depth : 0;
	}
	if (rc == 0 && list.n)
		qsort(list.items, list.n, sizeof(held), held_cmp);
	for (size_t i = 0; rc == 0 && i < list.n; i++)
		rc = at_line(list.items[i].line,
			     cidr_apply(im, list.items[i].el, err), err);
	held_free(&list);
	if (rc == 0 && im->ncidrs)
		qsort(im->cidrs, im->ncidrs, sizeof(*im->cidrs), cidr_seen_cmp);
	if (rc == 0 && im->nfresh)
		qsort(im->made, im->nfresh, sizeof(int64_t), key_cmp);
	return rc;
}

/* ---- the public scope's state (docs/design/public.md) ----
 *
 * What an import trusts: the document is the operator's own data, as for
 * every other object, but not a way around the checks a proof-less write
 * meets. A CIDR is provisioned only when IpamPoolCidrs provisions it (its
 * record cannot say provisioned otherwise, nor anything else when it is);
 * a pending CIDR must be clear of the scope as a new one is; an ASN must
 * be public; an association needs a provisioned ASN and a provisioned CIDR
 * of the public scope, an advertisement every rule of advertise-byoip-cidr
 * (libipam's own functions decide); a token's words and its 72 hours are
 * checked; the asns and verification-tokens quotas hold afterwards.
 */

static int state_word(const char *what, const char *word, ipam_byoip_state *out,
		      ipam_err *err)
{
	for (int s = IPAM_BYOIP_PENDING_PROVISION;
	     s <= IPAM_BYOIP_DEPROVISIONED; s++)
		if (word &&
		    !strcmp(word, ipam_byoip_state_name((ipam_byoip_state)s))) {
			*out = (ipam_byoip_state)s;
			return 0;
		}
	return ipam__fail(err, IPAM_EINVAL, "%s: State '%.40s' is not a state",
			  what, word ? word : "(none)");
}

/* A time field; `dflt` when absent. */
static int time_field(json_t *el, const char *key, const char *what,
		      int64_t dflt, int64_t *out, ipam_err *err)
{
	json_t *v = json_object_get(el, key);
	*out = dflt;
	if (!v)
		return 0;
	if (!json_is_string(v) || ipam_time_parse(out, json_string_value(v)))
		return ipam__fail(err, IPAM_EINVAL, "%s: %s is not a time",
				  what, key);
	return 0;
}

/* An optional string field ("" when absent), at most max - 1 bytes. */
static int text_field(json_t *el, const char *key, const char *what, size_t max,
		      const char **out, ipam_err *err)
{
	json_t *v = json_object_get(el, key);
	*out = "";
	if (!v)
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) >= max)
		return ipam__fail(err, IPAM_EINVAL,
				  "%s: %s is not a string of at most %zu "
				  "bytes",
				  what, key, max - 1);
	*out = json_string_value(v);
	return 0;
}

static int byoip_rec_apply(imp *im, json_t *el, size_t line, ipam_err *err)
{
	ipam__byoip_doc doc = {.code = "", .reason = ""};
	ipam__byoip_rec have;
	char text[IPAM_CIDR_STRLEN], what[IPAM_CIDR_STRLEN + 32];
	json_t *why = json_object_get(el, "FailureReason");
	const char *id = str(el, "IpamPoolCidrId");
	imp_pool *p;
	int rc = elem_pool(im, el, "a BYOIP record", &p, err);
	(void)line;
	if (rc || (rc = elem_cidr(p, el, "BYOIP record", &doc.cidr, err)))
		return rc;
	ipam_cidr_format(&doc.cidr, text);
	snprintf(what, sizeof(what), "BYOIP record %s", text);
	if (why && !json_is_object(why))
		return ipam__fail(err, IPAM_EINVAL,
				  "%s: FailureReason is not an object", what);
	if ((rc = state_word(what, str(el, "State"), &doc.state, err)) ||
	    (rc = text_field(why, "Code", what, 64, &doc.code, err)) ||
	    (rc = text_field(why, "Message", what, IPAM_ERR_MSG_MAX,
			     &doc.reason, err)) ||
	    (rc = text_field(el, "ProofMethod", what, 16, &doc.method, err)) ||
	    (rc = time_field(el, "Changed", what, ipam__now(im->db),
			     &doc.changed, err)))
		return rc;
	doc.id = ipam__io_id_ok(id, "ipam-pool-cidr-") ? id : "";
	if ((rc = ipam__byoip_get(im->db, p->key, &doc.cidr, &have, err)) < 0)
		return rc;
	if ((rc = ipam__byoip_restore(im->db, p->key, &doc, err)))
		return wrap(err, rc, "pool '%s'", p->path);
	if (!have.key || have.state != doc.state) {
		snprintf(what, sizeof(what), "%s %s", text,
			 ipam_byoip_state_name(doc.state));
		change(im, have.key ? '~' : '+', "byoip-cidr", p->path, what);
	}
	return 0;
}

static int asn_apply(imp *im, json_t *el, size_t line, ipam_err *err)
{
	const char *text = str(el, "Asn"), *reason;
	char what[48];
	json_t *cidrs = json_object_get(el, "Cidrs"), *c;
	ipam_byoip_state state;
	ipam_strlist had = {0};
	ipam_err ignored = {0};
	int64_t created, changed;
	uint32_t asn = 0;
	size_t i;
	int rc;
	(void)line;
	if (!text)
		return ipam__fail(err, IPAM_EINVAL,
				  "an ASN: Asn is not a string");
	snprintf(what, sizeof(what), "ASN %.20s", text);
	if ((rc = ipam_asn_parse(text, &asn, err)) ||
	    (rc = state_word(what, str(el, "State"), &state, err)) ||
	    (rc = text_field(el, "StatusMessage", what, IPAM_ERR_MSG_MAX,
			     &reason, err)) ||
	    (rc = time_field(el, "Created", what, ipam__now(im->db), &created,
			     err)) ||
	    (rc = time_field(el, "Changed", what, created, &changed, err)))
		return rc;
	if (cidrs && !json_is_array(cidrs))
		return ipam__fail(err, IPAM_EINVAL, "%s: Cidrs is not a list",
				  what);
	/* the live ASN's associations before, for the change lines */
	if (ipam_asn_cidrs(im->db, asn, &had, &ignored) == 0 && !had.count)
		ipam_strlist_free(&had);
	if ((rc = ipam__asn_restore(im->db, text, state, reason, created,
				    changed, err)))
		return rc;
	json_array_foreach(cidrs, i, c)
	{
		ipam_cidr cidr;
		ipam_err why = {IPAM_OK, ""};
		char line_text[IPAM_CIDR_STRLEN + 16];
		bool known = false;
		if (!json_is_string(c) ||
		    ipam_cidr_parse(&cidr, json_string_value(c), &why)) {
			rc = ipam__fail(
				err, IPAM_EINVAL, "%s: Cidrs[%zu]: %s", what, i,
				json_is_string(c) ? why.msg : "not a string");
			break;
		}
		ipam_cidr_format(&cidr, line_text);
		for (size_t k = 0; k < had.count && !known; k++)
			known = !strncmp(had.items[k], line_text,
					 strlen(line_text)) &&
				had.items[k][strlen(line_text)] == ' ';
		if ((rc = ipam_asn_associate(im->db, asn, &cidr, true, err))) {
			rc = wrap(err, rc, "%s", what);
			break;
		}
		if (!known)
			change(im, '+', "asn-cidr", what + 4, line_text);
	}
	ipam_strlist_free(&had);
	if (rc == 0 && json_array_size(cidrs))
		rc = ipam__asn_set_changed(im->db, asn, changed, err);
	return rc;
}

static int advert_apply(imp *im, json_t *el, size_t line, ipam_err *err)
{
	const char *origin = str(el, "Asn");
	char text[IPAM_CIDR_STRLEN];
	ipam_cidr c;
	ipam_stmt *stmt;
	imp_pool *p;
	uint32_t asn = 0;
	bool same = false;
	int rc = elem_pool(im, el, "an advertisement", &p, err);
	(void)line;
	if (rc || (rc = elem_cidr(p, el, "advertisement", &c, err)))
		return rc;
	ipam_cidr_format(&c, text);
	if (!origin)
		return ipam__fail(err, IPAM_EINVAL,
				  "advertisement %s: Asn is \"AWS\" or an ASN",
				  text);
	if (strcmp(origin, "AWS") && (rc = ipam_asn_parse(origin, &asn, err)))
		return wrap(err, rc, "advertisement %s", text);
	if (!(stmt = ipam__stmt(im->db,
				"SELECT 1 FROM advertisement WHERE family = ?1"
				" AND start = ?2 AND prefix = ?3 AND"
				" pool_key = ?4 AND coalesce(asn, -1) = ?5",
				err)))
		return ipam__stmt_error(err);
	ipam__bind_cidr(stmt, 1, &c);
	ipam__bind_int64(stmt, 4, p->key);
	ipam__bind_int64(stmt, 5, strcmp(origin, "AWS") ? (int64_t)asn : -1);
	rc = ipam__step(im->db, stmt, err);
	same = rc == 1;
	ipam__reset(stmt);
	if (rc < 0 || same)
		return rc < 0 ? rc : 0;
	if ((rc = ipam_advertise(im->db, p->key, &c,
				 strcmp(origin, "AWS") ? (int64_t)asn : -1,
				 err)))
		return wrap(err, rc, "advertisement of %s", text);
	change(im, '+', "advertisement", p->path, text);
	return 0;
}

static int token_apply(imp *im, json_t *el, size_t line, ipam_err *err)
{
	ipam_token_info t, have;
	const char *name = str(el, "Name"), *tn, *tv;
	const char *id = str(el, "IpamExternalResourceVerificationTokenId");
	int rc;
	(void)line;
	memset(&t, 0, sizeof(t));
	if (!name || strlen(name) >= sizeof(t.name))
		return ipam__fail(err, IPAM_EINVAL,
				  "a verification token: Name is not a name");
	if ((rc = text_field(el, "TokenName", name, sizeof(t.token_name), &tn,
			     err)) ||
	    (rc = text_field(el, "TokenValue", name, sizeof(t.token_value), &tv,
			     err)) ||
	    (rc = time_field(el, "Created", name, ipam__now(im->db), &t.created,
			     err)) ||
	    (rc = time_field(el, "NotAfter", name, 0, &t.not_after, err)))
		return rc;
	snprintf(t.name, sizeof(t.name), "%s", name);
	snprintf(t.token_name, sizeof(t.token_name), "%s", tn);
	snprintf(t.token_value, sizeof(t.token_value), "%s", tv);
	if (ipam__io_id_ok(id, "ipam-ext-res-ver-token-"))
		snprintf(t.id, sizeof(t.id), "%s", id);
	if ((rc = ipam__token_load(im->db, "name", name, &have, err)) < 0)
		return rc;
	if ((rc = ipam__token_restore(im->db, &t, err)))
		return rc;
	if (rc == 0 && (!*have.id || strcmp(have.token_value, t.token_value)))
		change(im, *have.id ? '~' : '+', "verification-token", name,
		       NULL);
	return 0;
}

static int public_apply(imp *im, ipam_err *err)
{
	int rc;
	if ((rc = each(im, "VerificationTokens", token_apply, err)) ||
	    (rc = each(im, "ByoipCidrs", byoip_rec_apply, err)) ||
	    (rc = each(im, "Byoasns", asn_apply, err)) ||
	    (rc = each(im, "Advertisements", advert_apply, err)))
		return rc;
	return ipam__public_quota_check(im->db, err);
}

/* ---- allocations (streamed) ---- */

typedef struct alloc_row {
	int64_t key;
	ipam_cidr cidr;
	char id[IPAM_ID_MAX];
	char type[32];
	char description[IPAM_DESC_MAX + 1];
} alloc_row;

static int alloc_lookup(imp *im, const imp_pool *p, const char *name,
			alloc_row *out, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		im->db,
		"SELECT key, start, prefix, aws_id, resource_type, description"
		" FROM allocation WHERE pool_key = ?1 AND name = ?2",
		err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, p->key);
	ipam__bind_text(stmt, 2, name, -1);
	rc = ipam__step(im->db, stmt, err);
	if (rc == 1) {
		out->key = ipam__col_int64(stmt, 0);
		out->cidr.family = (uint8_t)p->family;
		out->cidr.addr = ipam__blob_to_addr(stmt, 1);
		out->cidr.prefix = (uint8_t)ipam__col_int(stmt, 2);
		ipam__copy_text(out->id, sizeof(out->id), stmt, 3);
		ipam__copy_text(out->type, sizeof(out->type), stmt, 4);
		ipam__copy_text(out->description, sizeof(out->description),
				stmt, 5);
	}
	ipam__reset(stmt);
	return rc;
}

static int note_key(int64_t **arr, size_t *n, size_t *cap, int64_t key,
		    ipam_err *err)
{
	if (*n && (*arr)[*n - 1] == key)
		return 0;
	if (grow((void **)arr, cap, *n, sizeof(int64_t)))
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	(*arr)[(*n)++] = key;
	return 0;
}

/* The document's id for a new allocation when it is ipamfs-shaped and
 * not taken, else NULL (a new one is made). */
static const char *alloc_id_free(imp *im, json_t *el, ipam_err *err)
{
	const char *want = str(el, "IpamPoolAllocationId");
	ipam_stmt *stmt;
	int rc;
	if (!ipam__io_id_ok(want, "ipam-pool-alloc-"))
		return NULL;
	stmt = ipam__stmt(im->db, "SELECT 1 FROM allocation WHERE aws_id = ?1",
			  err);
	if (!stmt)
		return NULL;
	ipam__bind_text(stmt, 1, want, -1);
	rc = ipam__step(im->db, stmt, err);
	ipam__reset(stmt);
	return rc == 0 ? want : NULL;
}

/* Creation time, owner and mode of an allocation this import made, in one
 * statement (the owner only when root imports, as chown). */
static int alloc_stamp(imp *im, int64_t key, json_t *el, ipam_err *err)
{
	const char *when = str(el, "Created"), *mode = str(el, "Mode");
	json_t *uid = json_object_get(el, "Uid"),
	       *gid = json_object_get(el, "Gid");
	bool root = im->db->actor.uid == 0;
	int64_t t = 0;
	unsigned long m = 0;
	char *end = NULL;
	ipam_stmt *stmt;
	if (mode) {
		m = strtoul(mode, &end, 8);
		if (!*mode || *end || m > 07777)
			return ipam__fail(err, IPAM_EINVAL, "bad Mode '%.16s'",
					  mode);
	}
	if (!(when && ipam_time_parse(&t, when) == 0) && !mode &&
	    !(root && (json_is_integer(uid) || json_is_integer(gid))))
		return 0;
	stmt = ipam__stmt(
		im->db,
		"UPDATE allocation SET created = coalesce(?2, created),"
		" uid = coalesce(?3, uid), gid = coalesce(?4, gid),"
		" mode = coalesce(?5, mode) WHERE key = ?1",
		err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	if (when && ipam_time_parse(&t, when) == 0)
		ipam__bind_int64(stmt, 2, t);
	if (root && json_is_integer(uid))
		ipam__bind_int64(stmt, 3, json_integer_value(uid));
	if (root && json_is_integer(gid))
		ipam__bind_int64(stmt, 4, json_integer_value(gid));
	if (mode)
		ipam__bind_int64(stmt, 5, (int64_t)m);
	return ipam__exec(im->db, stmt, err);
}

/* A new custom allocation as the document has it. */
static int alloc_create(imp *im, const imp_pool *p, json_t *el,
			const char *name, const ipam_cidr *c, const char *desc,
			const char *apath, ipam_err *err)
{
	ipam__alloc_spec spec = {
		name, c,     -1,  desc && *desc ? desc : NULL, "custom", NULL,
		NULL, false, NULL};
	ipam_alloc_info *info = malloc(sizeof(*info));
	char text[IPAM_CIDR_STRLEN];
	int rc;
	if (!info)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	ipam_cidr_format(c, text);
	rc = ipam_name_check(name, err);
	if (rc == 0 && !strncmp(name, "ipam-", 5) &&
	    !ipam__io_id_ok(name, "ipam-pool-alloc-"))
		rc = ipam__fail(err, IPAM_EINVAL,
				"names starting with 'ipam-' are reserved");
	if (rc == 0) {
		spec.id = alloc_id_free(im, el, err);
		rc = err && err->code ? err->code : 0;
	}
	if (rc == 0)
		rc = ipam__alloc(im->db, p->key, &spec, info, err);
	if (rc)
		rc = wrap(err, rc, "allocation '%s' %s", apath, text);
	if (rc == 0) {
		change(im, '+', "allocation", apath, text);
		rc = alloc_stamp(im, info->key, el, err);
	}
	if (rc == 0 && im->prune)
		rc = note_key(&im->seen, &im->nseen, &im->capseen, info->key,
			      err);
	free(info);
	return rc;
}

/* An existing custom allocation made to match the document. */
static int alloc_update(imp *im, const imp_pool *p, json_t *el,
			const char *name, const ipam_cidr *c, const char *desc,
			alloc_row *have, const char *apath, ipam_err *err)
{
	int rc = 0;
	if (ipam_cidr_compare(c, &have->cidr)) {
		char from[IPAM_CIDR_STRLEN], to[IPAM_CIDR_STRLEN], what[160];
		ipam__alloc_spec spec = {
			name,	  c,
			-1,	  *have->description ? have->description : NULL,
			"custom", NULL,
			NULL,	  false,
			have->id};
		ipam_alloc_info info;
		ipam_cidr_format(&have->cidr, from);
		ipam_cidr_format(c, to);
		snprintf(what, sizeof(what), "cidr %s -> %s", from, to);
		change(im, '~', "allocation", apath, what);
		if ((rc = ipam__alloc_free(im->db, have->key, err)) ||
		    (rc = ipam__alloc(im->db, p->key, &spec, &info, err)))
			return wrap(err, rc, "allocation '%s' %s", apath, to);
		have->key = info.key;
	}
	if (desc && strcmp(desc, have->description)) {
		changed_text(im, "allocation", apath, "description",
			     have->description, desc);
		if ((rc = sql_run(im->db,
				  "UPDATE allocation SET description = ?1"
				  " WHERE key = ?2",
				  desc, have->key, err)))
			return rc;
	}
	if ((rc = perm_apply(im, have->id, el, "allocation", apath, false,
			     err)))
		return rc;
	return im->prune ? note_key(&im->seen, &im->nseen, &im->capseen,
				    have->key, err)
			 : 0;
}

static bool key_in(const int64_t *keys, size_t n, int64_t key);

/* The allocation a child pool's CIDR made in its parent: when this import
 * made it, it takes the document's id, time, region and mode. */
static int child_alloc(imp *im, const imp_pool *p, json_t *el, const char *name,
		       const ipam_cidr *c, const char *apath, ipam_err *err)
{
	alloc_row have;
	const char *region = str(el, "ResourceRegion");
	int rc = alloc_lookup(im, p, name, &have, err);
	if (rc < 0)
		return rc;
	if (rc == 0 || ipam_cidr_compare(c, &have.cidr))
		return ipam__fail(err, IPAM_EINVAL,
				  "allocation '%s' of a child pool: no child "
				  "pool CIDR of the document holds it",
				  apath);
	if (!key_in(im->made, im->nfresh, have.key))
		return 0;
	if ((rc = adopt(im, T_ALLOC, have.id, el, "IpamPoolAllocationId", err)))
		return rc;
	if (region && (rc = sql_run2(im->db,
				     "UPDATE allocation SET resource_region ="
				     " ?2 WHERE aws_id = ?1",
				     have.id, region, err)))
		return rc;
	return perm_apply(im, have.id, el, "allocation", apath, true, err);
}

/* ---- discoveries (settings only) and resources ---- */

/* A discovery of the document, matched by name: created when missing,
 * its scope and locale made the document's. What it saw is not
 * exported: its next snapshot brings it. */
static int discovery_apply(imp *im, json_t *el, size_t line, ipam_err *err)
{
	const char *name = str(el, "Name"), *scope = str(el, "Scope"),
		   *locale = str(el, "Locale");
	char path[IPAM_NAME_MAX + 16];
	ipam_discovery_info *d = malloc(sizeof(*d));
	bool made = false;
	int rc;
	(void)line;
	if (!d)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if (!name) {
		free(d);
		return ipam__fail(err, IPAM_EINVAL,
				  "a discovery without a Name");
	}
	snprintf(path, sizeof(path), "discoveries/%s", name);
	rc = ipam_discovery_get(im->db, name, d, NULL);
	if (rc == IPAM_ENOENT) {
		rc = ipam_discovery_create(im->db, name, err);
		if (rc == 0)
			rc = ipam_discovery_get(im->db, name, d, err);
		made = rc == 0;
		if (made)
			change(im, '+', "discovery", path, NULL);
	}
	if (rc == 0 && (made || im->fresh))
		rc = adopt(im, T_DISCOVERY, d->id, el,
			   "IpamResourceDiscoveryId", err);
	if (rc == 0 && scope && strcmp(scope, d->scope)) {
		if (!made)
			changed_text(im, "discovery", path, "scope", d->scope,
				     scope);
		rc = ipam_discovery_set_scope(im->db, name, scope, err);
	}
	if (rc == 0 && locale && strcmp(locale, d->locale)) {
		if (!made)
			changed_text(im, "discovery", path, "locale", d->locale,
				     locale);
		rc = ipam_discovery_set_locale(im->db, name, locale, err);
	}
	free(d);
	return rc ? wrap(err, rc, "discovery '%s'", name) : 0;
}

static const struct {
	const char *key;
	ipam_resource_field field;
	const char *label;
} res_fields[] = {
	{"ResourceName", IPAM_RESOURCE_NAME, "name"},
	{"ResourceRegion", IPAM_RESOURCE_LOCALE, "locale"},
	{"ResourceOwnerId", IPAM_RESOURCE_OWNER, "owner"},
	{"VpcId", IPAM_RESOURCE_VPC_ID, "vpc-id"},
	{"ActiveIps", IPAM_RESOURCE_ACTIVE_IPS, "active-ips"},
	{"Association", IPAM_RESOURCE_ASSOCIATION, "association"},
};

static const char *res_field_now(const ipam_resource_info *r,
				 ipam_resource_field f, char buf[48])
{
	switch (f) {
	case IPAM_RESOURCE_NAME:
		return r->name;
	case IPAM_RESOURCE_LOCALE:
		return r->locale;
	case IPAM_RESOURCE_OWNER:
		return r->owner;
	case IPAM_RESOURCE_VPC_ID:
		return r->vpc_id;
	case IPAM_RESOURCE_ACTIVE_IPS:
		if (!r->has_active_ips)
			return "";
		ipam_u128_format(r->active_ips, buf);
		return buf;
	case IPAM_RESOURCE_ASSOCIATION:
		return r->association;
	default:
		return "";
	}
}

/* Name, locale, owner, vpc-id and active IPs as the document has them. */
static int resource_fields(imp *im, const ipam_resource_info *r, json_t *el,
			   const char *path, bool made, ipam_err *err)
{
	for (size_t i = 0; i < sizeof(res_fields) / sizeof(res_fields[0]);
	     i++) {
		const char *want = str(el, res_fields[i].key);
		char buf[IPAM_U128_STRLEN];
		const char *now = res_field_now(r, res_fields[i].field, buf);
		int rc;
		if (!want || !strcmp(want, now))
			continue;
		if (!made)
			changed_text(im, "resource", path, res_fields[i].label,
				     now, want);
		if ((rc = ipam_resource_set(im->db, r->key, res_fields[i].field,
					    want, err)))
			return rc;
	}
	return 0;
}

/* A feed's type and service of a public address (feed.c's words),
 * AddressType and Service of the document; absent: left as they are. The
 * resource is read again: the fields before may have changed its
 * association. */
static int resource_public(imp *im, ipam_resource_info *r, json_t *el,
			   const char *path, bool made, ipam_err *err)
{
	const char *type = str(el, "AddressType"), *svc = str(el, "Service");
	ipam__res_rec rec;
	int rc;
	if (!type && !svc)
		return 0;
	if ((rc = ipam_resource_get(im->db, r->key, r, err)))
		return rc;
	type = type ? type : r->address_type;
	svc = svc ? svc : r->service;
	if (!ipam__feed_words_known(type, ""))
		return ipam__fail(err, IPAM_EINVAL,
				  "AddressType '%.40s' is not byoip,"
				  " ec2-public-ip, service-managed-ip or"
				  " service-managed-byoip",
				  type);
	if (!ipam__feed_words_known("", svc))
		return ipam__fail(err, IPAM_EINVAL,
				  "Service '%.40s' is not a public address"
				  " service word",
				  svc);
	if (!strcmp(type, r->address_type) && !strcmp(svc, r->service))
		return 0;
	if (!made && strcmp(type, r->address_type))
		changed_text(im, "resource", path, "address-type",
			     r->address_type, type);
	if (!made && strcmp(svc, r->service))
		changed_text(im, "resource", path, "service", r->service,
			     svc);
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.association, sizeof(rec.association), "%s",
		 r->association);
	snprintf(rec.address_type, sizeof(rec.address_type), "%s", type);
	snprintf(rec.service, sizeof(rec.service), "%s", svc);
	return ipam__public_sync(im->db, r, &rec, err);
}

/* Makes the resource's tags exactly the document's ResourceTags. */
static int resource_tags(imp *im, int64_t res, json_t *tags, const char *path,
			 bool made, ipam_err *err)
{
	ipam_strlist have = {0};
	size_t i;
	json_t *t;
	int rc;
	if (!json_is_array(tags))
		return tags ? ipam__fail(err, IPAM_EINVAL,
					 "ResourceTags is not a list")
			    : 0;
	if ((rc = ipam_resource_tag_list(im->db, res, &have, err)))
		return rc;
	json_array_foreach(tags, i, t)
	{
		const char *k = str(t, "Key"), *v = str_or(t, "Value", "");
		char *old = NULL;
		if (!k) {
			rc = ipam__fail(err, IPAM_EINVAL,
					"a resource tag without a Key");
			break;
		}
		if (ipam_resource_tag_get(im->db, res, k, &old, NULL) == 0 &&
		    !strcmp(old, v)) {
			free(old);
			continue;
		}
		if (!made) {
			char field[IPAM_TAG_KEY_MAX + 8];
			snprintf(field, sizeof(field), "tags/%s", k);
			changed_text(im, "resource", path, field,
				     old ? old : "", v);
		}
		free(old);
		if ((rc = ipam_resource_tag_set(im->db, res, k, v, err)))
			break;
	}
	for (size_t j = 0; rc == 0 && j < have.count; j++) {
		bool keep = false;
		json_array_foreach(tags, i, t)
		{
			const char *k = str(t, "Key");
			keep = keep || (k && !strcmp(k, have.items[j]));
		}
		if (keep)
			continue;
		char field[IPAM_TAG_KEY_MAX + 16];
		snprintf(field, sizeof(field), "tags/%s (removed)",
			 have.items[j]);
		change(im, '~', "resource", path, field);
		rc = ipam_resource_tag_remove(im->db, res, have.items[j], err);
	}
	ipam_strlist_free(&have);
	return rc;
}

/* Notes the allocation the resource's managed CIDR c got. */
static int note_res_alloc(imp *im, int64_t res, const ipam_cidr *c,
			  ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		im->db,
		"SELECT alloc_key FROM resource_cidr WHERE resource_key = ?1"
		" AND family = ?2 AND start = ?3 AND prefix = ?4",
		err);
	int64_t key = 0;
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, res);
	ipam__bind_cidr(stmt, 2, c);
	rc = ipam__step(im->db, stmt, err);
	if (rc == 1)
		key = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	if (rc < 0)
		return rc;
	return key ? note_key(&im->res_made, &im->nres_made, &im->capres_made,
			      key, err)
		   : 0;
}

/* One CIDR of ResourceCidrs: added when the resource lacks it, unmanaged
 * or managed (allocated from the document's pool with the document's
 * allocation id). A CIDR the resource holds is left as it is. */
static int resource_cidr(imp *im, int64_t res, const ipam_resource_cidr *have,
			 size_t nhave, json_t *el, const char *path,
			 ipam_err *err)
{
	const char *text = str(el, "ResourceCidr");
	bool managed =
		!strcmp(str_or(el, "ManagementState", "unmanaged"), "managed");
	ipam_err why = {IPAM_OK, ""};
	ipam_cidr c;
	imp_pool *p = NULL;
	int rc;
	if (!text || ipam_cidr_parse(&c, text, &why))
		return ipam__fail(err, IPAM_EINVAL, "ResourceCidr: %s",
				  text ? why.msg : "missing");
	for (size_t i = 0; i < nhave; i++)
		if (!ipam_cidr_compare(&c, &have[i].cidr) &&
		    (!managed || !strcmp(have[i].management, "managed")))
			return 0;
	if (managed && !(p = pool_ref(im, str(el, "IpamPoolId"))))
		return ipam__fail(err, IPAM_EINVAL,
				  "managed CIDR %s: IpamPoolId '%.80s' is not "
				  "a pool of the document",
				  text, str_or(el, "IpamPoolId", "(none)"));
	if (managed) {
		char what[IPAM_CIDR_STRLEN + IPAM_ID_MAX + 16];
		snprintf(what, sizeof(what), "%s managed %s", text, p->ref);
		change(im, '+', "resource-cidr", path, what);
	} else {
		change(im, '+', "resource-cidr", path, text);
	}
	if (!managed)
		return ipam_resource_cidr_add(im->db, res, &c, err);
	const char *id = alloc_id_free(im, el, err);
	if (err && err->code)
		return err->code;
	rc = ipam__resource_import_cidr(im->db, res, p->key, &c, id, err);
	return rc ? rc : note_res_alloc(im, res, &c, err);
}

static int resource_cidrs(imp *im, int64_t res, json_t *list, const char *path,
			  ipam_err *err)
{
	ipam_resource_cidr *have = NULL;
	size_t nhave = 0, i;
	json_t *el;
	int rc;
	if (!list)
		return 0;
	if (!json_is_array(list))
		return ipam__fail(err, IPAM_EINVAL,
				  "ResourceCidrs is not a list");
	if ((rc = ipam_resource_cidrs(im->db, res, &have, &nhave, err)))
		return rc;
	json_array_foreach(list, i, el)
	{
		if ((rc = resource_cidr(im, res, have, nhave, el, path, err)))
			break;
	}
	/* Prune: the CIDRs it has beyond the document's go (a managed one
	 * gives its allocation back) */
	for (size_t k = 0; rc == 0 && im->prune && k < nhave; k++) {
		char text[IPAM_CIDR_STRLEN];
		bool listed = false;
		ipam_cidr c;
		json_array_foreach(list, i, el)
		{
			const char *t = str(el, "ResourceCidr");
			listed = listed ||
				 (t && ipam_cidr_parse(&c, t, NULL) == 0 &&
				  !ipam_cidr_compare(&c, &have[k].cidr));
		}
		if (listed)
			continue;
		ipam_cidr_format(&have[k].cidr, text);
		change(im, '-', "resource-cidr", path, text);
		rc = ipam_resource_cidr_remove(im->db, res, &have[k].cidr, err);
	}
	free(have);
	return rc;
}

/* The discovery that sees the resource, by name ("" none). */
static int resource_discovery(imp *im, const ipam_resource_info *r,
			      const char *want, const char *path, bool made,
			      ipam_err *err)
{
	ipam_stmt *stmt;
	if (!want || !strcmp(want, r->discovery))
		return 0;
	if (!made)
		changed_text(im, "resource", path, "discovery", r->discovery,
			     want);
	stmt = ipam__stmt(im->db,
			  "UPDATE resource SET discovery_key = (SELECT key"
			  " FROM discovery WHERE name = ?1) WHERE key = ?2",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	if (*want) {
		ipam_discovery_info d;
		int rc = ipam_discovery_get(im->db, want, &d, err);
		if (rc) {
			ipam__reset(stmt);
			return rc;
		}
	}
	ipam__bind_text(stmt, 1, want, -1);
	ipam__bind_int64(stmt, 2, r->key);
	return ipam__exec(im->db, stmt, err);
}

static const char *keytext(int64_t key, char buf[24])
{
	snprintf(buf, 24, "%lld", (long long)key);
	return buf;
}

/* A resource of the document, matched by scope name and resource id. */
static int resource_apply(imp *im, json_t *el, size_t line, ipam_err *err)
{
	const char *scope = str(el, "Scope"), *id = str(el, "ResourceId"),
		   *mon = str(el, "MonitoringState"),
		   *when = str(el, "Created");
	char path[IPAM_NAME_MAX + IPAM_RESOURCE_ID_MAX + 32], kbuf[24];
	ipam_resource_info *r = malloc(sizeof(*r));
	ipam_scope_info *sc = malloc(sizeof(*sc));
	int64_t key = 0, t = 0;
	bool made = false;
	int rc = 0;
	(void)line;
	if (!r || !sc)
		rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
	else if (!scope || !id)
		rc = ipam__fail(err, IPAM_EINVAL,
				"a resource without a Scope or ResourceId");
	else if (mon && strcmp(mon, "monitored") && strcmp(mon, "ignored"))
		rc = ipam__fail(err, IPAM_EINVAL,
				"resource '%s': MonitoringState is monitored "
				"or ignored",
				id);
	if (rc == 0) {
		snprintf(path, sizeof(path), "scopes/%s/resources/%s", scope,
			 id);
		rc = ipam_scope_get(im->db, scope, sc, err);
	}
	if (rc == 0) {
		rc = ipam_resource_lookup(im->db, sc->key, id, &key, NULL);
		if (rc == IPAM_ENOENT) {
			rc = ipam_resource_create(im->db, sc->key, id,
						  str(el, "ResourceType"), &key,
						  err);
			made = rc == 0;
			if (made)
				change(im, '+', "resource", path, NULL);
			if (made && when && ipam_time_parse(&t, when) == 0)
				rc = sql_run(im->db,
					     "UPDATE resource SET created = ?2"
					     " WHERE key = CAST(?1 AS INTEGER)",
					     keytext(key, kbuf), t, err);
		}
	}
	if (rc == 0 && im->prune)
		rc = note_key(&im->res_seen, &im->nres_seen, &im->capres_seen,
			      key, err);
	if (rc == 0)
		rc = ipam_resource_get(im->db, key, r, err);
	if (rc == 0)
		rc = resource_discovery(im, r, str(el, "Discovery"), path, made,
					err);
	if (rc == 0)
		rc = resource_fields(im, r, el, path, made, err);
	if (rc == 0)
		rc = resource_public(im, r, el, path, made, err);
	if (rc == 0)
		rc = resource_tags(im, key, json_object_get(el, "ResourceTags"),
				   path, made, err);
	/* CIDRs before monitoring: an ignored resource gets none */
	if (rc == 0 && (!mon || !strcmp(mon, "monitored")) && r->ignored) {
		change(im, '~', "resource", path, "monitoring monitored");
		rc = ipam_resource_set_ignored(im->db, key, false, err);
	}
	if (rc == 0)
		rc = resource_cidrs(im, key,
				    json_object_get(el, "ResourceCidrs"), path,
				    err);
	if (rc == 0 && mon && !strcmp(mon, "ignored") && !r->ignored) {
		if (!made)
			change(im, '~', "resource", path, "monitoring ignored");
		rc = ipam_resource_set_ignored(im->db, key, true, err);
	}
	free(r);
	free(sc);
	return rc ? wrap(err, rc, "resource '%s'", id ? id : "?") : 0;
}

/* An allocation that a resource's managed CIDR holds: the resource made it
 * (above); when this import did, it takes the document's time, owner,
 * mode and description. */
static int resource_alloc(imp *im, const imp_pool *p, json_t *el,
			  const char *name, const ipam_cidr *c, ipam_err *err)
{
	alloc_row have;
	const char *desc = str(el, "Description");
	int rc = alloc_lookup(im, p, name, &have, err);
	if (rc <= 0)
		return rc;
	if (ipam_cidr_compare(c, &have.cidr) ||
	    !key_in(im->res_made, im->nres_made, have.key))
		return 0;
	if (desc && strcmp(desc, have.description) &&
	    (rc = sql_run(im->db,
			  "UPDATE allocation SET description = ?1"
			  " WHERE key = ?2",
			  desc, have.key, err)))
		return rc;
	return alloc_stamp(im, have.key, el, err);
}

static int resources_apply(imp *im, ipam_err *err)
{
	int rc = each(im, "IpamResourceDiscoveries", discovery_apply, err);
	if (rc == 0)
		rc = each(im, "IpamResources", resource_apply, err);
	if (rc == 0 && im->nres_made)
		qsort(im->res_made, im->nres_made, sizeof(int64_t), key_cmp);
	return rc;
}

/* A custom allocation matched by name: created or changed. */
static int custom_apply(imp *im, const imp_pool *p, json_t *el,
			const char *name, const ipam_cidr *c, const char *desc,
			const char *apath, ipam_err *err)
{
	alloc_row have;
	int rc = note_key(&im->touched, &im->ntouched, &im->captouched, p->key,
			  err);
	if (rc == 0)
		rc = alloc_lookup(im, p, name, &have, err);
	if (rc == 0)
		rc = alloc_create(im, p, el, name, c, desc, apath, err);
	else if (rc == 1)
		rc = alloc_update(im, p, el, name, c, desc, &have, apath, err);
	return rc;
}

/* ---- the bulk path: new custom allocations of a pool this import made ---- */

#define BATCH_MAX 4096

struct batch_row {
	json_t *el;    /* holds the strings of r, or: */
	char *strings; /* they, read without jansson (alloc_fast) */
	size_t line;
	size_t s, e; /* the element's span in the text (el NULL) */
};

struct batch {
	imp_pool *p;
	ipam__bulk_row rows[BATCH_MAX];
	struct batch_row meta[BATCH_MAX];
	size_t n;
};

static void batch_clear(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		json_decref(b->meta[i].el);
		free(b->meta[i].strings);
	}
	b->n = 0;
	b->p = NULL;
}

/* Whether the element can go in a batch: what the one-by-one path checks
 * before allocating passes (name, reserved prefix, Mode, owner), so only
 * the allocator itself can refuse it. */
static bool batch_fits(imp *im, json_t *el, const char *name)
{
	const char *mode = str(el, "Mode");
	json_t *uid = json_object_get(el, "Uid"),
	       *gid = json_object_get(el, "Gid");
	char *end = NULL;
	if (ipam_name_check(name, NULL) ||
	    (!strncmp(name, "ipam-", 5) &&
	     !ipam__io_id_ok(name, "ipam-pool-alloc-")))
		return false;
	if (mode) {
		unsigned long m = strtoul(mode, &end, 8);
		if (!*mode || *end || m > 07777)
			return false;
	}
	if (im->db->actor.uid == 0 &&
	    ((json_is_integer(uid) && json_integer_value(uid) < 0) ||
	     (json_is_integer(gid) && json_integer_value(gid) < 0)))
		return false;
	return true;
}

/* The row as alloc_create then alloc_stamp would make it. */
static void batch_row_of(imp *im, json_t *el, const char *name,
			 const ipam_cidr *c, const char *desc,
			 ipam__bulk_row *r)
{
	const char *when = str(el, "Created"), *mode = str(el, "Mode"),
		   *want = str(el, "IpamPoolAllocationId");
	json_t *uid = json_object_get(el, "Uid"),
	       *gid = json_object_get(el, "Gid");
	bool root = im->db->actor.uid == 0;
	int64_t t = 0;
	*r = (ipam__bulk_row){.cidr = *c,
			      .name = name,
			      .description = desc,
			      .created = -1,
			      .uid = -1,
			      .gid = -1,
			      .mode = -1};
	if (ipam__io_id_ok(want, "ipam-pool-alloc-"))
		r->id = want; /* when taken, the insert fails: one by one */
	if (when && ipam_time_parse(&t, when) == 0)
		r->created = t;
	if (root && json_is_integer(uid))
		r->uid = json_integer_value(uid);
	if (root && json_is_integer(gid))
		r->gid = json_integer_value(gid);
	if (mode)
		r->mode = (int)strtoul(mode, NULL, 8);
}

static int batch_flush(imp *im, ipam_err *err);

/* Before any write but a batch's: the change-time triggers back; rc
 * unless that fails. */
static int bulk_end(imp *im, int rc, ipam_err *err)
{
	int made = ipam__changed_resume(im->db, rc ? NULL : err);
	return rc ? rc : made;
}

static int batch_add(imp *im, imp_pool *p, json_t *el, const char *name,
		     const ipam_cidr *c, const char *desc, size_t line,
		     ipam_err *err)
{
	struct batch *b = im->batch;
	int rc;
	if (!b && !(b = im->batch = calloc(1, sizeof(*b))))
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if ((b->n && b->p != p) || b->n == BATCH_MAX) {
		if ((rc = batch_flush(im, err)))
			return rc;
	}
	b->p = p;
	batch_row_of(im, el, name, c, desc && *desc ? desc : NULL,
		     &b->rows[b->n]);
	b->meta[b->n] = (struct batch_row){json_incref(el), NULL, line, 0, 0};
	b->n++;
	return 0;
}

/* Applies the batch in one pass, or, when the bulk allocator cannot prove
 * every row free, one by one (which meets the model's refusal). */
static int batch_flush(imp *im, ipam_err *err)
{
	struct batch *b = im->batch;
	imp_pool *p;
	int rc;
	if (!b || !b->n)
		return 0;
	p = b->p;
	/* no per-row change-time triggers while batches go in (the bulk
	 * path stamps its rows): bulk_end makes them again */
	rc = ipam__changed_hold(im->db, err);
	if (rc == 0)
		rc = ipam__alloc_bulk(im->db, p->key, b->rows, b->n, err);
	if (rc == IPAM__BULK_FALLBACK) {
		int made = bulk_end(im, 0, err);
		rc = made ? made : rc;
	}
	if (rc == 0) {
		rc = note_key(&im->touched, &im->ntouched, &im->captouched,
			      p->key, err);
		for (size_t i = 0; rc == 0 && i < b->n; i++) {
			char text[IPAM_CIDR_STRLEN];
			ipam_cidr_format(&b->rows[i].cidr, text);
			/* change() of "PATH/allocations/NAME" */
			ipam__buf_printf(&im->lines,
					 "+ allocation %s/allocations/%s %s\n",
					 p->path, b->rows[i].name, text);
			im->created++;
			if (im->prune)
				rc = note_key(&im->seen, &im->nseen,
					      &im->capseen, b->rows[i].key,
					      err);
		}
	} else if (rc == IPAM__BULK_FALLBACK) {
		rc = 0;
		for (size_t i = 0; rc == 0 && i < b->n; i++) {
			ipam__bulk_row *r = &b->rows[i];
			char *apath = NULL;
			if (asprintf(&apath, "%s/allocations/%s", p->path,
				     r->name) < 0)
				rc = ipam__fail(err, IPAM_ENOMEM,
						"out of memory");
			else if (!b->meta[i].el &&
				 (rc = parse_span(im, b->meta[i].s,
						  b->meta[i].e, &b->meta[i].el,
						  err)))
				;
			else
				rc = custom_apply(im, p, b->meta[i].el, r->name,
						  &r->cidr, r->description,
						  apath, err);
			free(apath);
			if (rc)
				rc = at_line(b->meta[i].line, rc, err);
		}
	}
	batch_clear(b);
	return rc;
}

static int alloc_apply(imp *im, json_t *el, size_t line, ipam_err *err);

/*
 * ---- allocation elements read without jansson ----
 *
 * An element of IpamPoolAllocations as an export writes it (a flat object
 * of the known members, strings of printable ASCII without escapes,
 * integers for Uid and Gid) that goes in a batch is read here: its strings
 * are copied to the batch's arena, and no JSON object is built (that was a
 * sixth of an import's time). Anything else -- another member, an escape,
 * a byte outside printable ASCII, a duplicate member, a value of another
 * type, or an element the batch would not take -- goes the general way
 * (jansson, alloc_apply), which reads it and refuses it as before.
 */
struct fast_el {
	const char *pool, *cidr, *name, *desc, *id, *type, *created, *mode;
	long long uid, gid;
	bool has_uid, has_gid;
	char *strings; /* one block for them all (malloc'd) */
};

/* The element at t[s, e) as a fast_el: 1 read, 0 not of the simple kind,
 * IPAM_ENOMEM. */
static int fast_read(const char *t, size_t s, size_t e, struct fast_el *f)
{
	static const char *const names[] = {"IpamPoolId",
					    "Cidr",
					    "Name",
					    "Description",
					    "IpamPoolAllocationId",
					    "ResourceType",
					    "Created",
					    "Mode",
					    "ResourceId",
					    "ResourceRegion",
					    "Uid",
					    "Gid"};
	enum { NSTR = 8, NNAMES = sizeof(names) / sizeof(names[0]) };
	size_t at[NSTR] = {0}, len[NSTR] = {0}, total = 0;
	unsigned seen = 0;
	size_t i = skip_ws(t, s, e);
	*f = (struct fast_el){0};
	if (i >= e || t[i] != '{')
		return 0;
	for (i = skip_ws(t, i + 1, e); i >= e || t[i] != '}';) {
		size_t k, m;
		if (i >= e || t[i] != '"')
			return 0;
		for (k = ++i; i < e && t[i] != '"'; i++)
			if (t[i] < 0x20 || t[i] > 0x7e || t[i] == '\\')
				return 0;
		if (i >= e)
			return 0;
		for (m = 0; m < NNAMES; m++)
			if (strlen(names[m]) == i - k &&
			    !memcmp(t + k, names[m], i - k))
				break;
		if (m == NNAMES || (seen >> m) & 1)
			return 0;
		seen |= 1u << m;
		i = skip_ws(t, i + 1, e);
		if (i >= e || t[i] != ':')
			return 0;
		i = skip_ws(t, i + 1, e);
		if (m >= 10) { /* Uid, Gid: an integer */
			long long v = 0;
			bool neg = i < e && t[i] == '-';
			size_t d = neg ? ++i : i;
			while (i < e && t[i] >= '0' && t[i] <= '9' &&
			       i - d < 12)
				v = v * 10 + (t[i++] - '0');
			if (i == d ||
			    (i < e && strchr("0123456789.eE", t[i])) ||
			    (t[d] == '0' && i - d > 1))
				return 0;
			*(m == 10 ? &f->uid : &f->gid) = neg ? -v : v;
			*(m == 10 ? &f->has_uid : &f->has_gid) = true;
		} else {
			if (i >= e || t[i] != '"')
				return 0;
			for (k = ++i; i < e && t[i] != '"'; i++)
				if (t[i] < 0x20 || t[i] > 0x7e || t[i] == '\\')
					return 0;
			if (i >= e)
				return 0;
			if (m < NSTR) {
				at[m] = k;
				len[m] = i - k;
				total += i - k + 1;
			}
			i++;
		}
		i = skip_ws(t, i, e);
		if (i < e && t[i] == ',')
			i = skip_ws(t, i + 1, e);
		else if (i >= e || t[i] != '}')
			return 0;
	}
	if (skip_ws(t, i + 1, e) != e)
		return 0;
	if (!(f->strings = malloc(total + 1)))
		return IPAM_ENOMEM;
	const char **slot[NSTR] = {&f->pool, &f->cidr, &f->name,    &f->desc,
				   &f->id,   &f->type, &f->created, &f->mode};
	char *o = f->strings;
	for (size_t m = 0; m < NSTR; m++) {
		if (!((seen >> m) & 1))
			continue;
		memcpy(o, t + at[m], len[m]);
		o[len[m]] = '\0';
		*slot[m] = o;
		o += len[m] + 1;
	}
	return 1;
}

/* 1 when the element at [s, e) went in the batch as alloc_apply would
 * have put it there, 0 when alloc_apply is to read it, or an error. */
static int alloc_fast(imp *im, size_t s, size_t e, size_t line, ipam_err *err)
{
	struct batch *b = im->batch;
	struct fast_el f;
	imp_pool *p;
	ipam_cidr c;
	char *end = NULL;
	int rc;
	if (!b && !(b = im->batch = calloc(1, sizeof(*b))))
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if ((rc = fast_read(im->text, s, e, &f)) != 1)
		return rc < 0 ? ipam__fail(err, rc, "out of memory") : 0;
	if (!f.name)
		f.name = f.id;
	bool root = im->db->actor.uid == 0;
	unsigned long mode = f.mode ? strtoul(f.mode, &end, 8) : 0;
	/* what alloc_apply checks before batching, batch_fits included */
	if (!(p = pool_ref(im, f.pool)) || !p->created || !f.cidr ||
	    ipam_cidr_parse(&c, f.cidr, NULL) || c.family != p->family ||
	    !f.name || (f.type && strcmp(f.type, "custom")) ||
	    (f.desc && *f.desc &&
	     ipam__check_text("description", f.desc, IPAM_DESC_MAX, NULL)) ||
	    ipam_name_check(f.name, NULL) ||
	    (!strncmp(f.name, "ipam-", 5) &&
	     !ipam__io_id_ok(f.name, "ipam-pool-alloc-")) ||
	    (f.mode && (!*f.mode || *end || mode > 07777)) ||
	    (root && ((f.has_uid && f.uid < 0) || (f.has_gid && f.gid < 0)))) {
		free(f.strings);
		return 0;
	}
	if (((b->n && b->p != p) || b->n == BATCH_MAX) &&
	    (rc = batch_flush(im, err))) {
		free(f.strings);
		return rc;
	}
	/* the row as batch_row_of makes it */
	ipam__bulk_row *r = &b->rows[b->n];
	int64_t t = 0;
	*r = (ipam__bulk_row){.cidr = c,
			      .name = f.name,
			      .description = f.desc && *f.desc ? f.desc : NULL,
			      .created = -1,
			      .uid = -1,
			      .gid = -1,
			      .mode = f.mode ? (int)mode : -1};
	if (ipam__io_id_ok(f.id, "ipam-pool-alloc-"))
		r->id = f.id;
	if (f.created && ipam_time_parse(&t, f.created) == 0)
		r->created = t;
	if (root && f.has_uid)
		r->uid = f.uid;
	if (root && f.has_gid)
		r->gid = f.gid;
	b->p = p;
	b->meta[b->n] = (struct batch_row){NULL, f.strings, line, s, e};
	b->n++;
	return 1;
}

/* The allocations; a refused element may come after a batched row that
 * the model refuses first (document order decides). */
static int allocs_apply(imp *im, ipam_err *err)
{
	int rc = each(im, "IpamPoolAllocations", alloc_apply, err);
	ipam_err first = {IPAM_OK, ""};
	if (rc == 0)
		return bulk_end(im, batch_flush(im, err), err);
	if (im->batch && im->batch->n && batch_flush(im, &first)) {
		if (err)
			*err = first;
		rc = first.code;
	}
	return bulk_end(im, rc, err);
}

/* A host record's DnsName and MacAddress (absent: none). */
static int host_apply(imp *im, const imp_pool *p, json_t *el, const char *name,
		      const char *apath, ipam_err *err)
{
	static const char *const keys[] = {"DnsName", "MacAddress"};
	static const char *const files[] = {"dns-name", "mac-address"};
	ipam_alloc_info *a = malloc(sizeof(*a));
	int rc;
	if (!a)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	rc = ipam_alloc_get(im->db, p->key, name, a, NULL);
	for (int f = 0; rc == 0 && f < 2; f++) {
		json_t *v = json_object_get(el, keys[f]);
		const char *want = json_is_string(v) ? json_string_value(v)
						     : "";
		const char *have = f ? a->mac_address : a->dns_name;
		if (v && !json_is_string(v))
			rc = ipam__fail(err, IPAM_EINVAL,
					"allocation '%s': %s is not a string",
					apath, keys[f]);
		else if (strcmp(want, have)) {
			changed_text(im, "allocation", apath, files[f], have,
				     want);
			rc = ipam_alloc_set_host(im->db, p->key, name,
						 (ipam_host_field)f, want, err);
			if (rc)
				wrap(err, rc, "allocation '%s'", apath);
		}
	}
	free(a);
	return rc == IPAM_ENOENT ? 0 : rc;
}

static int alloc_apply(imp *im, json_t *el, size_t line, ipam_err *err)
{
	imp_pool *p;
	ipam_cidr c;
	const char *type = str_or(el, "ResourceType", "custom");
	const char *name = str(el, "Name"), *desc = str(el, "Description");
	char *apath = NULL;
	int rc = elem_pool(im, el, "an allocation", &p, err);
	if (rc || (rc = elem_cidr(p, el, "allocation", &c, err)))
		return rc;
	if (!name)
		name = str(el, "IpamPoolAllocationId");
	if (!name)
		return ipam__fail(err, IPAM_EINVAL,
				  "an allocation in pool '%s' without a Name "
				  "or IpamPoolAllocationId",
				  p->path);
	if (desc && *desc &&
	    ipam__check_text("description", desc, IPAM_DESC_MAX, err))
		return rc = IPAM_EINVAL;
	if ((ipam__rtype_of(type) == IPAM__RT_CUSTOM) && p->created &&
	    !json_object_get(el, "DnsName") &&
	    !json_object_get(el, "MacAddress") && batch_fits(im, el, name))
		return batch_add(im, p, el, name, &c, desc, line, err);
	if (asprintf(&apath, "%s/allocations/%s", p->path, name) < 0)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if ((rc = batch_flush(im, err)) || (rc = bulk_end(im, 0, err))) {
		;
	} else if (ipam__rtype_of(type) == IPAM__RT_CUSTOM) {
		rc = custom_apply(im, p, el, name, &c, desc, apath, err);
	} else if (ipam__rtype_of(type) == IPAM__RT_IPAM_POOL) {
		rc = child_alloc(im, p, el, name, &c, apath, err);
	} else {
		/* made with their resources (IpamResources) */
		rc = resource_alloc(im, p, el, name, &c, err);
	}
	if (rc == 0 && strcmp(type, "ipam-pool"))
		rc = host_apply(im, p, el, name, apath, err);
	free(apath);
	return rc;
}

/* ---- prune ---- */

static bool key_in(const int64_t *keys, size_t n, int64_t key)
{
	return n && bsearch(&key, keys, n, sizeof(int64_t), key_cmp);
}

/* Rows (key, name/path text, and a CIDR) a prune query returns. */
typedef struct prune_row {
	int64_t key;
	char *text;
	ipam_cidr cidr;
} prune_row;

static void rows_free(prune_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].text);
	free(rows);
}

/* Custom allocations of the document's pools that it does not name. */
static int prune_allocs(imp *im, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		im->db,
		"SELECT key, name FROM allocation WHERE pool_key = ?1 AND"
		" resource_type = 'custom' ORDER BY start",
		err);
	if (!stmt)
		return ipam__stmt_error(err);
	if (im->nseen)
		qsort(im->seen, im->nseen, sizeof(int64_t), key_cmp);
	for (size_t i = 0; i < im->npools; i++) {
		prune_row *rows = NULL;
		size_t n = 0, cap = 0;
		int step, rc = 0;
		ipam__bind_int64(stmt, 1, im->pools[i].key);
		while ((step = ipam__step(im->db, stmt, err)) == 1) {
			int64_t key = ipam__col_int64(stmt, 0);
			if (key_in(im->seen, im->nseen, key))
				continue;
			if (grow((void **)&rows, &cap, n, sizeof(*rows))) {
				step = IPAM_ENOMEM;
				break;
			}
			rows[n].key = key;
			rows[n].text = ipam__strdup(ipam__col_text(stmt, 1));
			n++;
		}
		ipam__reset(stmt);
		if (step < 0)
			rc = step == IPAM_ENOMEM
				     ? ipam__fail(err, step, "out of memory")
				     : step;
		for (size_t j = 0; rc == 0 && j < n; j++) {
			char what[IPAM_NAME_MAX + 16];
			snprintf(what, sizeof(what), "%s",
				 rows[j].text ? rows[j].text : "?");
			ipam__buf_printf(&im->lines,
					 "- allocation %s/allocations/%s\n",
					 im->pools[i].path, what);
			im->deleted++;
			rc = ipam__alloc_free(im->db, rows[j].key, err);
		}
		rows_free(rows, n);
		if (rc)
			return rc;
	}
	return 0;
}

/* Pools of the document's scopes that it does not name, deepest first:
 * their custom allocations released, CIDRs deprovisioned, then deleted. */
static int prune_pool(imp *im, int64_t pool, ipam_err *err)
{
	ipam_pool_cidr *cidrs = NULL;
	size_t n = 0;
	ipam_strlist names = {0};
	int rc = ipam_alloc_list(im->db, pool, &names, err);
	for (size_t i = 0; rc == 0 && i < names.count; i++) {
		ipam_alloc_info a;
		rc = ipam_alloc_get(im->db, pool, names.items[i], &a, err);
		if (rc == 0 &&
		    (ipam__rtype_of(a.resource_type) == IPAM__RT_CUSTOM))
			rc = ipam__alloc_free(im->db, a.key, err);
	}
	ipam_strlist_free(&names);
	if (rc == 0)
		rc = ipam_pool_cidrs(im->db, pool, &cidrs, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = ipam_pool_deprovision(im->db, pool, &cidrs[i].cidr, err);
	free(cidrs);
	return rc ? rc : ipam_pool_delete(im->db, pool, err);
}

static int prune_pools(imp *im, ipam_err *err)
{
	int64_t *kept = malloc((im->npools + 1) * sizeof(int64_t));
	ipam_stmt *stmt;
	int rc = 0;
	if (!kept)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	for (size_t i = 0; i < im->npools; i++)
		kept[i] = im->pools[i].key;
	qsort(kept, im->npools, sizeof(int64_t), key_cmp);
	stmt = ipam__stmt(im->db,
			  "SELECT key FROM pool WHERE scope_key = ?1"
			  " ORDER BY depth DESC, key",
			  err);
	for (size_t s = 0; stmt && rc == 0 && s < im->nscopes; s++) {
		int64_t *gone = NULL;
		size_t n = 0, cap = 0;
		int step;
		ipam__bind_int64(stmt, 1, im->scopes_seen[s]);
		while ((step = ipam__step(im->db, stmt, err)) == 1) {
			int64_t key = ipam__col_int64(stmt, 0);
			if (!key_in(kept, im->npools, key) &&
			    note_key(&gone, &n, &cap, key, err)) {
				step = IPAM_ENOMEM;
				break;
			}
		}
		ipam__reset(stmt);
		rc = step < 0 ? step : 0;
		for (size_t i = 0; rc == 0 && i < n; i++) {
			ipam_pool_info p;
			rc = ipam__pool_load(im->db, gone[i], &p, err);
			if (rc == 0) {
				ipam__buf_printf(&im->lines,
						 "- pool %s (id %s)\n", p.name,
						 p.id);
				im->deleted++;
				rc = prune_pool(im, gone[i], err);
				if (rc)
					rc = wrap(err, rc,
						  "cannot delete pool "
						  "'%s'",
						  p.name);
			}
		}
		free(gone);
	}
	free(kept);
	return stmt ? rc : ipam__stmt_error(err);
}

/* CIDRs of the document's pools that it does not name. */
static int prune_cidrs(imp *im, ipam_err *err)
{
	for (size_t i = 0; i < im->npools; i++) {
		ipam_pool_cidr *cidrs = NULL;
		size_t n = 0;
		int rc = ipam_pool_cidrs(im->db, im->pools[i].key, &cidrs, &n,
					 err);
		for (size_t j = 0; rc == 0 && j < n; j++) {
			struct cidr_seen key = {im->pools[i].key,
						cidrs[j].cidr};
			char text[IPAM_CIDR_STRLEN];
			if (im->ncidrs && bsearch(&key, im->cidrs, im->ncidrs,
						  sizeof(key), cidr_seen_cmp))
				continue;
			ipam_cidr_format(&cidrs[j].cidr, text);
			change(im, '-', "cidr", im->pools[i].path, text);
			rc = ipam_pool_deprovision(im->db, im->pools[i].key,
						   &cidrs[j].cidr, err);
			if (rc)
				rc = wrap(err, rc,
					  "cannot deprovision %s "
					  "from pool '%s'",
					  text, im->pools[i].path);
		}
		free(cidrs);
		if (rc)
			return rc;
	}
	return 0;
}

/* Whether the document has top-level key `key` (a list it covers). */
static int has_part(imp *im, const char *key, bool *out, ipam_err *err)
{
	size_t s, e;
	int rc = 0;
	if (im->doc)
		*out = json_object_get(im->doc, key) != NULL;
	else if ((rc = find_key(im, key, &s, &e, err)) == 0)
		*out = s != e;
	return rc;
}

/* Resources of the document's scopes that it does not name, when it has
 * IpamResources: removed (their managed CIDRs give their allocations
 * back, their history records end). */
static int prune_resources(imp *im, ipam_err *err)
{
	bool covered = false;
	int rc = has_part(im, "IpamResources", &covered, err);
	ipam_stmt *stmt;
	if (rc || !covered)
		return rc;
	if (im->nres_seen)
		qsort(im->res_seen, im->nres_seen, sizeof(int64_t), key_cmp);
	stmt = ipam__stmt(im->db,
			  "SELECT r.key, s.name || '/resources/' ||"
			  " r.resource_id FROM resource r JOIN scope s"
			  " ON s.key = r.scope_key WHERE r.scope_key = ?1"
			  " ORDER BY r.resource_id",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	for (size_t i = 0; rc == 0 && i < im->nscopes; i++) {
		prune_row *rows = NULL;
		size_t n = 0, cap = 0;
		int step;
		ipam__bind_int64(stmt, 1, im->scopes_seen[i]);
		while ((step = ipam__step(im->db, stmt, err)) == 1) {
			int64_t key = ipam__col_int64(stmt, 0);
			if (key_in(im->res_seen, im->nres_seen, key))
				continue;
			if (grow((void **)&rows, &cap, n, sizeof(*rows))) {
				step = IPAM_ENOMEM;
				break;
			}
			rows[n].key = key;
			rows[n].text = ipam__strdup(ipam__col_text(stmt, 1));
			n++;
		}
		ipam__reset(stmt);
		if (step < 0)
			rc = step == IPAM_ENOMEM
				     ? ipam__fail(err, step, "out of memory")
				     : step;
		for (size_t j = 0; rc == 0 && j < n; j++) {
			char path[IPAM_NAME_MAX + IPAM_RESOURCE_ID_MAX + 32];
			snprintf(path, sizeof(path), "scopes/%s",
				 rows[j].text ? rows[j].text : "?");
			change(im, '-', "resource", path, NULL);
			rc = ipam_resource_delete(im->db, rows[j].key, err);
			if (rc)
				rc = wrap(err, rc, "cannot remove resource %s",
					  path);
		}
		rows_free(rows, n);
	}
	return rc;
}

/* Prefix lists the document does not name, when it has
 * IpamPrefixListResolvers: deleted (with their targets). */
static int prune_plists(imp *im, ipam_err *err)
{
	bool covered = false;
	ipam_strlist names = {0};
	int rc = has_part(im, "IpamPrefixListResolvers", &covered, err);
	if (rc || !covered)
		return rc;
	if (im->npl_seen)
		qsort(im->pl_seen, im->npl_seen, sizeof(int64_t), key_cmp);
	rc = ipam_plist_list(im->db, &names, err);
	for (size_t i = 0; rc == 0 && i < names.count; i++) {
		ipam_plist_info info;
		rc = ipam_plist_get(im->db, names.items[i], &info, err);
		if (rc || key_in(im->pl_seen, im->npl_seen, info.key))
			continue;
		change(im, '-', "prefix-list", names.items[i], NULL);
		rc = ipam_plist_delete(im->db, names.items[i], err);
		if (rc)
			rc = wrap(err, rc, "cannot delete prefix list '%s'",
				  names.items[i]);
	}
	ipam_strlist_free(&names);
	return rc;
}

/* Policies the document does not name, when it has IpamPolicies:
 * deleted with their rules and targets (an enabled one is disabled first,
 * as rmdir asks). Before the pools are pruned, whose deletion a rule
 * naming them would refuse. */
static int prune_policies(imp *im, ipam_err *err)
{
	bool covered = false;
	ipam_strlist names = {0};
	int rc = has_part(im, "IpamPolicies", &covered, err);
	if (rc || !covered)
		return rc;
	if (im->npol_seen)
		qsort(im->pol_seen, im->npol_seen, sizeof(int64_t), key_cmp);
	rc = ipam_policy_list(im->db, &names, err);
	for (size_t i = 0; rc == 0 && i < names.count; i++) {
		ipam_policy_info info;
		rc = ipam_policy_get(im->db, names.items[i], &info, err);
		if (rc || key_in(im->pol_seen, im->npol_seen, info.key))
			continue;
		change(im, '-', "policy", names.items[i], NULL);
		if (info.enabled)
			rc = ipam_policy_set_enabled(im->db, names.items[i],
						     false, err);
		if (rc == 0)
			rc = ipam_policy_delete(im->db, names.items[i], err);
		if (rc)
			rc = wrap(err, rc, "cannot delete policy '%s'",
				  names.items[i]);
	}
	ipam_strlist_free(&names);
	return rc;
}

/* ---- the whole import ---- */

static int recheck(imp *im, ipam_err *err)
{
	int rc = 0;
	if (im->ntouched)
		qsort(im->touched, im->ntouched, sizeof(int64_t), key_cmp);
	for (size_t i = 0; rc == 0 && i < im->ntouched; i++)
		if (i == 0 || im->touched[i] != im->touched[i - 1])
			rc = ipam__pool_recheck(im->db, im->touched[i], err);
	return rc;
}

static int prune_flag(imp *im, ipam_err *err)
{
	json_t *v = NULL;
	int rc = part(im, "Prune", &v, err);
	if (rc == 0 && v && !json_is_boolean(v))
		rc = ipam__fail(err, IPAM_EINVAL, "Prune is true or false");
	im->prune = json_is_true(v);
	json_decref(v);
	return rc;
}

static int scopes_apply(imp *im, ipam_err *err)
{
	return each(im, "IpamScopes", scope_apply, err);
}

/* ---- prefix-list resolvers: settings, rules, targets ---- */

/* The rules of the document's "Rules" (a list of lines) when they differ
 * from the list's: set, with one change line. */
static int plist_rules(imp *im, const char *name, json_t *rules, bool made,
		       ipam_err *err)
{
	ipam_strlist have = {0};
	ipam__buf was = {0}, now = {0};
	size_t n = json_array_size(rules), i;
	const char **lines = NULL;
	json_t *v;
	int rc = 0;
	if (!json_is_array(rules))
		return rules ? ipam__fail(err, IPAM_EINVAL,
					  "Rules is not a list of lines")
			     : 0;
	lines = calloc(n + 1, sizeof(*lines));
	if (!lines)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	json_array_foreach(rules, i, v)
	{
		lines[i] = json_string_value(v);
		if (!lines[i])
			rc = ipam__fail(err, IPAM_EINVAL,
					"Rules holds a line that is not a"
					" string");
		else
			ipam__buf_printf(&now, "%s%s", i ? "\n" : "", lines[i]);
	}
	if (rc == 0)
		rc = ipam_plist_rules(im->db, name, &have, err);
	for (i = 0; rc == 0 && i < have.count; i++)
		ipam__buf_printf(&was, "%s%s", i ? "\n" : "", have.items[i]);
	ipam__buf_add(&was, "", 1);
	ipam__buf_add(&now, "", 1);
	if (rc == 0 && (was.failed || now.failed))
		rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if (rc == 0 && strcmp(was.data, now.data)) {
		if (!made)
			changed_text(im, "prefix-list", name, "rules", was.data,
				     now.data);
		rc = ipam_plist_set_rules(im->db, name, lines, n, err);
	}
	ipam_strlist_free(&have);
	free(was.data);
	free(now.data);
	free(lines);
	return rc;
}

/* The sync of a target made the document's: `Sync` false with the
 * `Entries` it keeps (CIDR strings, checked as a hand edit is), or true /
 * absent (it follows the resolver). */
static int plist_target_sync(imp *im, const char *name, const char *tname,
			     const char *path, json_t *el, bool quiet,
			     ipam_err *err)
{
	json_t *sync = json_object_get(el, "Sync");
	json_t *entries = json_object_get(el, "Entries");
	ipam_plist_target t;
	const char **lines = NULL;
	size_t n = 0;
	int rc;
	if (sync && !json_is_boolean(sync))
		return ipam__fail(err, IPAM_EINVAL,
				  "target '%s': Sync is true or false", tname);
	bool want = !sync || json_is_true(sync);
	if (entries && (want || !json_is_array(entries)))
		return ipam__fail(err, IPAM_EINVAL,
				  "target '%s': Entries is a list of CIDRs, of"
				  " a target whose Sync is false",
				  tname);
	if ((rc = ipam_plist_target_get(im->db, name, tname, &t, err)))
		return rc;
	if (t.sync != want) {
		if (!quiet)
			changed_text(im, "prefix-list", path, "sync",
				     t.sync ? "enabled" : "disabled",
				     want ? "enabled" : "disabled");
		rc = ipam_plist_target_set_sync(im->db, name, tname, want, err);
	}
	if (rc || want)
		return rc;
	n = json_array_size(entries);
	lines = calloc(n ? n : 1, sizeof(*lines));
	if (!lines)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (!(lines[i] = json_string_value(json_array_get(entries, i))))
			rc = ipam__fail(err, IPAM_EINVAL,
					"target '%s': Entries[%zu] is not a"
					" string",
					tname, i);
	ipam_cidr *was = NULL, *now = NULL;
	size_t nwas = 0, nnow = 0;
	int64_t v = 0;
	if (rc == 0 && entries)
		rc = ipam_plist_target_entries(im->db, name, tname, &was, &nwas,
					       &v, err);
	if (rc == 0 && entries)
		rc = ipam_plist_target_set_entries(im->db, name, tname, lines,
						   n, err);
	if (rc == 0 && entries)
		rc = ipam_plist_target_entries(im->db, name, tname, &now, &nnow,
					       &v, err);
	bool same = nwas == nnow;
	for (size_t i = 0; same && i < nnow; i++)
		same = was[i].family == now[i].family &&
		       was[i].addr == now[i].addr &&
		       was[i].prefix == now[i].prefix;
	if (rc == 0 && entries && !quiet && !same)
		change(im, '~', "prefix-list", path, "entries");
	free(was);
	free(now);
	free(lines);
	if (rc)
		rc = wrap(err, rc, "target '%s'", tname);
	return rc;
}

/* One target of the document: created, its format and desired version
 * made the document's. Versions restart at 1 in another IPAM: a pinned
 * version this IPAM does not keep is tracked as the latest, and said. */
static int plist_target(imp *im, const char *name, json_t *el, bool made,
			ipam_err *err)
{
	const char *tname = str(el, "Name"), *fmt = str(el, "Format");
	json_t *want = json_object_get(el, "DesiredVersion");
	int format = fmt ? ipam_plist_format_parse(fmt) : -1;
	ipam_plist_target t;
	char path[2 * IPAM_NAME_MAX + 16];
	if (!tname)
		return ipam__fail(err, IPAM_EINVAL, "a target without a Name");
	if (fmt && format < 0)
		return ipam__fail(err, IPAM_EINVAL,
				  "target '%s': unknown Format '%s'", tname,
				  fmt);
	snprintf(path, sizeof(path), "%s/targets/%s", name, tname);
	int rc = ipam_plist_target_get(im->db, name, tname, &t, NULL);
	bool fresh = rc == IPAM_ENOENT;
	if (fresh) {
		rc = ipam_plist_target_create(im->db, name, tname, err);
		if (rc == 0)
			rc = ipam_plist_target_get(im->db, name, tname, &t,
						   err);
		if (rc == 0 && !made)
			change(im, '+', "prefix-list", path, NULL);
	}
	if (rc == 0 && fmt && (ipam_plist_format)format != t.format) {
		if (!fresh && !made)
			changed_text(im, "prefix-list", path, "format",
				     ipam_plist_format_name(t.format), fmt);
		rc = ipam_plist_target_set_format(
			im->db, name, tname, (ipam_plist_format)format, err);
	}
	json_int_t v = json_is_integer(want) ? json_integer_value(want) : 0;
	if (rc == 0 && want && (!json_is_integer(want) || v < 0))
		return ipam__fail(err, IPAM_EINVAL,
				  "target '%s': DesiredVersion is a version"
				  " number or 0 (the latest)",
				  tname);
	if (rc == 0 && v != t.desired) {
		rc = ipam_plist_target_set_desired(im->db, name, tname, v,
						   NULL);
		if (rc == IPAM_ENOENT || rc == IPAM_EINVAL) {
			/* not kept here: versions restart at 1 */
			change(im, '~', "prefix-list", path,
			       "desired: version not kept here, tracks the"
			       " latest");
			rc = v == 0 || t.desired == 0
				     ? 0
				     : ipam_plist_target_set_desired(
					       im->db, name, tname, 0, err);
		} else if (rc == 0 && !fresh && !made) {
			char what[64];
			snprintf(what, sizeof(what), "desired %lld -> %lld",
				 (long long)t.desired, (long long)v);
			change(im, '~', "prefix-list", path, what);
		} else if (rc) {
			rc = ipam__fail(err, rc,
					"target '%s': cannot pin"
					" version %lld",
					tname, (long long)v);
		}
	}
	if (rc == 0)
		rc = plist_target_sync(im, name, tname, path, el, fresh || made,
				       err);
	return rc;
}

/* Prune: the targets of list `name` that `targets` does not name go. */
static int prune_targets(imp *im, const char *name, json_t *targets,
			 ipam_err *err)
{
	ipam_strlist have = {0};
	int rc = ipam_plist_target_list(im->db, name, &have, err);
	for (size_t k = 0; rc == 0 && k < have.count; k++) {
		char path[2 * IPAM_NAME_MAX + 16];
		bool listed = false;
		size_t i;
		json_t *t;
		json_array_foreach(targets, i, t)
		{
			const char *tname = str(t, "Name");
			listed = listed ||
				 (tname && !strcmp(tname, have.items[k]));
		}
		if (listed)
			continue;
		snprintf(path, sizeof(path), "%s/targets/%s", name,
			 have.items[k]);
		change(im, '-', "prefix-list", path, NULL);
		rc = ipam_plist_target_delete(im->db, name, have.items[k], err);
	}
	ipam_strlist_free(&have);
	return rc;
}

/* A resolver of the document, matched by name: created when missing (with
 * the document's id and creation time), its family, description, tags,
 * rules and targets made the document's. Its entries and versions are not
 * in the document: they follow from the rules. */
static int plist_apply(imp *im, json_t *el, size_t line, ipam_err *err)
{
	const char *name = str(el, "Name"), *fam = str(el, "AddressFamily"),
		   *desc = str(el, "Description");
	json_t *targets = json_object_get(el, "Targets"), *t;
	ipam_plist_info *info = malloc(sizeof(*info));
	bool made = false;
	size_t i;
	int rc, family = 0;
	(void)line;
	if (!info)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if (!name) {
		free(info);
		return ipam__fail(err, IPAM_EINVAL,
				  "a prefix list without a Name");
	}
	if (fam)
		family = !strcmp(fam, "ipv4")	? 4
			 : !strcmp(fam, "ipv6") ? 6
						: -1;
	rc = family < 0 ? ipam__fail(err, IPAM_EINVAL,
				     "AddressFamily is ipv4 or ipv6")
			: ipam_plist_get(im->db, name, info, NULL);
	if (rc == IPAM_ENOENT) {
		rc = ipam_plist_create(im->db, name, err);
		if (rc == 0)
			rc = ipam_plist_get(im->db, name, info, err);
		made = rc == 0;
		if (made)
			change(im, '+', "prefix-list", name, NULL);
	}
	if (rc == 0 && im->prune)
		rc = note_key(&im->pl_seen, &im->npl_seen, &im->cappl_seen,
			      info->key, err);
	if (rc == 0 && (made || im->fresh))
		rc = adopt(im, T_PLIST, info->id, el, "PrefixListResolverId",
			   err);
	if (rc == 0 && family && family != info->family) {
		if (!made)
			changed_text(im, "prefix-list", name, "address-family",
				     ipam_family_name(info->family), fam);
		rc = ipam_plist_set_family(im->db, name, family, err);
	}
	if (rc == 0 && desc && strcmp(desc, info->description)) {
		if (!made)
			changed_text(im, "prefix-list", name, "description",
				     info->description, desc);
		rc = ipam_plist_set_description(im->db, name, desc, err);
	}
	if (rc == 0)
		rc = tags_apply(im, info->id, json_object_get(el, "Tags"),
				"prefix-list", name, made, err);
	if (rc == 0)
		rc = plist_rules(im, name, json_object_get(el, "Rules"), made,
				 err);
	if (rc == 0 && targets && !json_is_array(targets))
		rc = ipam__fail(err, IPAM_EINVAL, "Targets is not a list");
	json_array_foreach(targets, i, t)
	{
		if (rc == 0)
			rc = plist_target(im, name, t, made, err);
	}
	if (rc == 0 && im->prune && targets)
		rc = prune_targets(im, name, targets, err);
	free(info);
	return rc ? wrap(err, rc, "prefix list '%s'", name) : 0;
}

/* ---- IPAM policies: settings, rules, targets, enabled ---- */

/* The document's "Rules" or "Targets" (a list of lines) when they differ
 * from the policy's: set, with one change line. */
static int policy_lines(imp *im, const char *name, json_t *want, bool targets,
			bool made, ipam_err *err)
{
	const char *field = targets ? "targets" : "rules";
	ipam_strlist have = {0};
	ipam__buf was = {0}, now = {0};
	size_t n = json_array_size(want), i;
	const char **lines = NULL;
	json_t *v;
	int rc = 0;
	if (!json_is_array(want))
		return want ? ipam__fail(err, IPAM_EINVAL,
					 "%s is not a list of lines",
					 targets ? "Targets" : "Rules")
			    : 0;
	lines = calloc(n + 1, sizeof(*lines));
	if (!lines)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	json_array_foreach(want, i, v)
	{
		lines[i] = json_string_value(v);
		if (!lines[i])
			rc = ipam__fail(err, IPAM_EINVAL,
					"%s holds a line that is not a string",
					targets ? "Targets" : "Rules");
		else
			ipam__buf_printf(&now, "%s%s", i ? "\n" : "", lines[i]);
	}
	if (rc == 0)
		rc = targets ? ipam_policy_targets(im->db, name, &have, err)
			     : ipam_policy_rules(im->db, name, &have, err);
	for (i = 0; rc == 0 && i < have.count; i++)
		ipam__buf_printf(&was, "%s%s", i ? "\n" : "", have.items[i]);
	ipam__buf_add(&was, "", 1);
	ipam__buf_add(&now, "", 1);
	if (rc == 0 && (was.failed || now.failed))
		rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if (rc == 0 && strcmp(was.data, now.data)) {
		if (!made)
			changed_text(im, "policy", name, field, was.data,
				     now.data);
		rc = targets ? ipam_policy_set_targets(im->db, name, lines, n,
						       false, err)
			     : ipam_policy_set_rules(im->db, name, lines, n,
						     err);
	}
	ipam_strlist_free(&have);
	free(was.data);
	free(now.data);
	free(lines);
	return rc;
}

/* A bool setting of the document made the policy's. */
static int policy_flag(imp *im, const char *name, json_t *want, bool have,
		       bool made, const char *field,
		       int (*set)(ipam *, const char *, bool, ipam_err *),
		       ipam_err *err)
{
	if (!want)
		return 0;
	if (!json_is_boolean(want))
		return ipam__fail(err, IPAM_EINVAL, "%s is true or false",
				  field);
	if (json_is_true(want) == have)
		return 0;
	if (!made)
		changed_text(im, "policy", name, field, have ? "true" : "false",
			     have ? "false" : "true");
	return set(im->db, name, json_is_true(want), err);
}

/* A policy of the document, matched by name: created when missing (with
 * the document's id and creation time), its description, overflow, tags,
 * rules (pools by id) and targets made the document's, then enabled or
 * disabled as the document says. */
static int policy_apply(imp *im, json_t *el, size_t line, ipam_err *err)
{
	const char *name = str(el, "Name"), *desc = str(el, "Description");
	ipam_policy_info *info = malloc(sizeof(*info));
	bool made = false;
	int rc;
	(void)line;
	if (!info)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if (!name) {
		free(info);
		return ipam__fail(err, IPAM_EINVAL, "a policy without a Name");
	}
	rc = ipam_policy_get(im->db, name, info, NULL);
	if (rc == IPAM_ENOENT) {
		rc = ipam_policy_create(im->db, name, err);
		if (rc == 0)
			rc = ipam_policy_get(im->db, name, info, err);
		made = rc == 0;
		if (made)
			change(im, '+', "policy", name, NULL);
	}
	if (rc == 0 && im->prune)
		rc = note_key(&im->pol_seen, &im->npol_seen, &im->cappol_seen,
			      info->key, err);
	if (rc == 0 && (made || im->fresh))
		rc = adopt(im, T_POLICY, info->id, el, "IpamPolicyId", err);
	if (rc == 0 && desc && strcmp(desc, info->description)) {
		if (!made)
			changed_text(im, "policy", name, "description",
				     info->description, desc);
		rc = ipam_policy_set_description(im->db, name, desc, err);
	}
	/* disabled while its rules and targets change, enabled last */
	if (rc == 0 && json_is_false(json_object_get(el, "Enabled")))
		rc = policy_flag(im, name, json_object_get(el, "Enabled"),
				 info->enabled, made, "enabled",
				 ipam_policy_set_enabled, err);
	if (rc == 0)
		rc = policy_flag(im, name, json_object_get(el, "Overflow"),
				 info->overflow, made, "overflow",
				 ipam_policy_set_overflow, err);
	if (rc == 0)
		rc = tags_apply(im, info->id, json_object_get(el, "Tags"),
				"policy", name, made, err);
	if (rc == 0)
		rc = policy_lines(im, name, json_object_get(el, "Rules"), false,
				  made, err);
	if (rc == 0)
		rc = policy_lines(im, name, json_object_get(el, "Targets"),
				  true, made, err);
	if (rc == 0 && !json_is_false(json_object_get(el, "Enabled")))
		rc = policy_flag(im, name, json_object_get(el, "Enabled"),
				 info->enabled, made, "enabled",
				 ipam_policy_set_enabled, err);
	free(info);
	return rc ? wrap(err, rc, "policy '%s'", name) : 0;
}

static int apply_all(imp *im, ipam_err *err)
{
	int rc;
	if ((rc = prune_flag(im, err)) || (rc = ipam_fresh(im, err)) ||
	    (rc = ipam_apply(im, err)) || (rc = scopes_apply(im, err)) ||
	    (rc = pools_apply(im, err)) || (rc = cidrs_apply(im, err)) ||
	    (rc = public_apply(im, err)) || (rc = resources_apply(im, err)) ||
	    (rc = allocs_apply(im, err)) ||
	    (rc = each(im, "IpamPrefixListResolvers", plist_apply, err)) ||
	    (rc = each(im, "IpamPolicies", policy_apply, err)))
		return rc;
	if (im->prune &&
	    ((rc = prune_policies(im, err)) || (rc = prune_allocs(im, err)) ||
	     (rc = prune_resources(im, err)) || (rc = prune_pools(im, err)) ||
	     (rc = prune_cidrs(im, err)) || (rc = prune_plists(im, err))))
		return rc;
	if ((rc = auto_import_apply(im, err)) ||
	    (rc = ipam__plan_import_verify(im->db, err)))
		return rc;
	return recheck(im, err);
}

static void imp_free(imp *im)
{
	for (size_t i = 0; i < im->npools; i++) {
		free(im->pools[i].ref);
		free(im->pools[i].path);
	}
	free(im->pools);
	free(im->scopes_seen);
	free(im->seen);
	free(im->touched);
	free(im->cidrs);
	free(im->made);
	free(im->res_made);
	free(im->res_seen);
	free(im->pl_seen);
	free(im->pol_seen);
	if (im->batch)
		batch_clear(im->batch);
	free(im->batch);
	free(im->keys);
	json_decref(im->auto_import);
	json_decref(im->doc);
}

/* Reads a foreign format into a document. */
static int read_doc(imp *im, ipam_import_format fmt, ipam_err *err)
{
	switch (fmt) {
	case IPAM_FORMAT_IPAMFS:
		return 0;
	case IPAM_FORMAT_AWS:
		return ipam__read_aws(im->text, im->len, &im->doc, err);
	case IPAM_FORMAT_NETBOX_JSON:
		return ipam__read_netbox_json(im->text, im->len, &im->doc, err);
	default:
		return ipam__read_csv(fmt, im->text, im->len, &im->doc, err);
	}
}

/* The work, inside the caller's transaction or a savepoint of ours that a
 * plan always undoes. */
static int import_run(imp *im, ipam_import_format fmt, ipam_err *err)
{
	ipam *db = im->db;
	int events = db->events_logged;
	int64_t floor = db->history_floor;
	size_t removed = db->n_removed;
	int rc = ipam__exec_sql(db, "SAVEPOINT ipam_import", err);
	if (rc)
		return rc;
	rc = read_doc(im, fmt, err);
	db->importing = true;
	if (rc == 0)
		rc = apply_all(im, err);
	/* the triggers are back after every allocation (allocs_apply); the
	 * rollback below would bring them back too */
	rc = bulk_end(im, rc, err);
	db->importing = false;
	if (rc == 0 && ipam__oom)
		rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if (rc || im->plan) {
		ipam__exec_sql(db, "ROLLBACK TO ipam_import", NULL);
		db->events_logged = events;
		db->history_floor = floor;
		db->n_removed = removed;
	}
	ipam__exec_sql(db, "RELEASE ipam_import", NULL);
	return rc;
}

int ipam_import(ipam *db, const char *text, size_t len, bool plan,
		ipam_import_result *out, ipam_err *err)
{
	imp im = {.db = db, .plan = plan, .text = text, .len = len};
	ipam_import_format fmt = IPAM_FORMAT_IPAMFS;
	int rc;
	im.line_no = 1;
	im.auto_import = json_object();
	if (out)
		memset(out, 0, sizeof(*out));
	rc = ipam__detect_format(text, len, &fmt, err);
	if (rc == 0)
		rc = ipam__write_begin(db, err);
	if (rc == 0) {
		rc = import_run(&im, fmt, err);
		/* the savepoint already undid a refusal or a plan */
		rc = ipam__write_end(db, rc, err);
	}
	if (rc)
		ipam__buf_printf(&im.lines, "! refused %s: %s\n",
				 ipam_code_name(rc), err ? err->msg : "");
	if (out) {
		out->format = fmt;
		out->created = im.created;
		out->changed = im.changed;
		out->deleted = im.deleted;
		out->changes = im.lines.failed ? NULL : im.lines.data;
		out->changes_len = im.lines.failed ? 0 : im.lines.len;
		if (im.lines.failed)
			free(im.lines.data);
	} else {
		free(im.lines.data);
	}
	imp_free(&im);
	return rc;
}

void ipam_import_result_free(ipam_import_result *result)
{
	if (!result)
		return;
	free(result->changes);
	result->changes = NULL;
	result->changes_len = 0;
}
