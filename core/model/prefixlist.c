/*
 * prefixlist.c - prefix-list resolvers (L1018-L1218, SPEC §8.1): the
 * objects, their rules, which inputs each rule matches, their targets and
 * the formats firewalls load. The resolved set itself is kept by
 * plcover.c; the hooks here tell it when an allocation or a resource CIDR
 * starts or stops matching, inside the transaction of that change.
 *
 * Rule lines (one per line, at most 99; `!=` wherever `=` is shown):
 *   static CIDR
 *   pool SCOPE [pool-id=ID] [cidr=CIDR]
 *   resource SCOPE TYPE [resource-id=ID] [owner=OWNER] [region=LOCALE]
 *            [tag:KEY=VALUE] [cidr=CIDR]
 * A pool rule matches the allocations of the scope's pools; conditions are
 * ANDed; cidr= compares the whole CIDR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plist.h"

#define COND_MAX 16

enum rule_kind { RULE_STATIC, RULE_POOL, RULE_RESOURCE };

enum cond_field {
	COND_POOL_ID,
	COND_CIDR,
	COND_RESOURCE_ID,
	COND_OWNER,
	COND_REGION,
	COND_TAG,
};

static const char *const cond_names[] = {
	[COND_POOL_ID] = "pool-id",	    [COND_CIDR] = "cidr",
	[COND_RESOURCE_ID] = "resource-id", [COND_OWNER] = "owner",
	[COND_REGION] = "region",	    [COND_TAG] = "tag:",
};

struct cond {
	enum cond_field field;
	bool negate;
	char key[IPAM_TAG_KEY_MAX + 1]; /* tag: */
	char value[IPAM_TAG_VALUE_MAX + 1];
	ipam_cidr cidr;
};

struct rule {
	enum rule_kind kind;
	ipam_cidr cidr; /* static */
	int64_t scope_key;
	char scope[IPAM_NAME_MAX + 1];
	char type[24];
	struct cond conds[COND_MAX];
	size_t nconds;
};

/* ---- parsing ---- */

static int parse_cond(char *word, enum rule_kind kind, struct cond *c,
		      ipam_err *err)
{
	char *eq = strchr(word, '=');
	if (!eq || eq == word)
		return ipam__fail(err, IPAM_EINVAL,
				  "'%.60s' is not NAME=VALUE or NAME!=VALUE",
				  word);
	c->negate = eq[-1] == '!';
	char *name_end = c->negate ? eq - 1 : eq;
	*name_end = '\0';
	const char *value = eq + 1;
	if (strncmp(word, "tag:", 4) == 0 && kind == RULE_RESOURCE) {
		c->field = COND_TAG;
		int rc = ipam__check_tag(word + 4, value, err);
		if (rc)
			return rc;
		snprintf(c->key, sizeof(c->key), "%s", word + 4);
	} else {
		size_t f;
		for (f = 0; f < COND_TAG; f++)
			if (strcmp(word, cond_names[f]) == 0)
				break;
		bool ok = f == COND_CIDR ||
			  (kind == RULE_POOL && f == COND_POOL_ID) ||
			  (kind == RULE_RESOURCE && f != COND_POOL_ID &&
			   f < COND_TAG);
		if (!ok)
			return ipam__fail(
				err, IPAM_EINVAL,
				"'%.60s' is not a condition of a %s rule (%s)",
				word, kind == RULE_POOL ? "pool" : "resource",
				kind == RULE_POOL ? "pool-id, cidr"
						  : "resource-id, owner, "
						    "region, tag:KEY, cidr");
		c->field = (enum cond_field)f;
	}
	if (!*value)
		return ipam__fail(err, IPAM_EINVAL, "'%s' has no value", word);
	if (c->field == COND_CIDR)
		return ipam_cidr_parse(&c->cidr, value, err);
	if (c->field == COND_REGION) {
		int rc = ipam__check_locale(value, err);
		if (rc)
			return rc;
	}
	if (strlen(value) >= sizeof(c->value))
		return ipam__fail(err, IPAM_EINVAL,
				  "the value of '%s' is too "
				  "long",
				  word);
	snprintf(c->value, sizeof(c->value), "%s", value);
	return 0;
}

/* Splits a rule line into words (in place) and parses it. With db, the
 * scope and pool ids are checked to exist. */
static int parse_rule(ipam *db, char *text, struct rule *r, ipam_err *err)
{
	char *words[COND_MAX + 4], *save = NULL;
	size_t n = 0;
	int rc = 0;
	memset(r, 0, sizeof(*r));
	for (char *w = strtok_r(text, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (n == sizeof(words) / sizeof(words[0]))
			return ipam__fail(err, IPAM_EINVAL,
					  "more than %d conditions", COND_MAX);
		words[n++] = w;
	}
	if (n == 0)
		return ipam__fail(err, IPAM_EINVAL, "empty rule");
	if (strcmp(words[0], "static") == 0) {
		r->kind = RULE_STATIC;
		if (n != 2)
			return ipam__fail(err, IPAM_EINVAL,
					  "a static rule is 'static CIDR'");
		return ipam_cidr_parse(&r->cidr, words[1], err);
	}
	size_t first;
	if (strcmp(words[0], "pool") == 0) {
		r->kind = RULE_POOL;
		first = 2;
	} else if (strcmp(words[0], "resource") == 0) {
		r->kind = RULE_RESOURCE;
		first = 3;
		if (n < 3)
			return ipam__fail(err, IPAM_EINVAL,
					  "a resource rule is 'resource SCOPE "
					  "TYPE [CONDITION...]'");
		if (!ipam_resource_type_valid(words[2]) ||
		    strlen(words[2]) >= sizeof(r->type))
			return ipam__fail(err, IPAM_EINVAL,
					  "unknown resource type '%.40s'",
					  words[2]);
		snprintf(r->type, sizeof(r->type), "%s", words[2]);
	} else {
		return ipam__fail(err, IPAM_EINVAL,
				  "unknown rule type '%.40s' (static, pool or "
				  "resource)",
				  words[0]);
	}
	if (n < 2)
		return ipam__fail(err, IPAM_EINVAL,
				  "a pool rule is 'pool SCOPE [CONDITION...]'");
	snprintf(r->scope, sizeof(r->scope), "%s", words[1]);
	for (size_t i = first; rc == 0 && i < n; i++)
		rc = parse_cond(words[i], r->kind, &r->conds[r->nconds++], err);
	if (rc || !db)
		return rc;
	ipam_scope_info *scope = malloc(sizeof(*scope));
	if (!scope)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	rc = ipam__scope_load_name(db, r->scope, scope, NULL);
	r->scope_key = scope->key;
	free(scope);
	if (rc)
		return ipam__fail(err, IPAM_EINVAL, "no scope '%.80s'",
				  r->scope);
	for (size_t i = 0; i < r->nconds; i++) {
		ipam_kind kind;
		int64_t key = 0;
		if (r->conds[i].field != COND_POOL_ID)
			continue;
		if (ipam_id_lookup(db, r->conds[i].value, &kind, &key, NULL) ||
		    kind != IPAM_KIND_POOL)
			return ipam__fail(err, IPAM_EINVAL, "no pool '%.80s'",
					  r->conds[i].value);
	}
	return 0;
}

/* The canonical line of a parsed rule. */
static void format_rule(const struct rule *r, ipam__buf *out)
{
	char cidr[IPAM_CIDR_STRLEN];
	if (r->kind == RULE_STATIC) {
		ipam_cidr_format(&r->cidr, cidr);
		ipam__buf_printf(out, "static %s", cidr);
		return;
	}
	ipam__buf_printf(out, "%s %s",
			 r->kind == RULE_POOL ? "pool" : "resource", r->scope);
	if (r->kind == RULE_RESOURCE)
		ipam__buf_printf(out, " %s", r->type);
	for (size_t i = 0; i < r->nconds; i++) {
		const struct cond *c = &r->conds[i];
		const char *op = c->negate ? "!=" : "=";
		if (c->field == COND_CIDR) {
			ipam_cidr_format(&c->cidr, cidr);
			ipam__buf_printf(out, " cidr%s%s", op, cidr);
		} else if (c->field == COND_TAG) {
			ipam__buf_printf(out, " tag:%s%s%s", c->key, op,
					 c->value);
		} else {
			ipam__buf_printf(out, " %s%s%s", cond_names[c->field],
					 op, c->value);
		}
	}
}

/* ---- matching ---- */

static bool cidr_equal(const ipam_cidr *a, const ipam_cidr *b)
{
	return ipam_cidr_compare(a, b) == 0;
}

/* What an input offers to the conditions. */
struct input {
	ipam_cidr cidr;
	const char *pool_id;
	int64_t resource_key;
	const char *resource_id, *owner, *region;
};

static int tag_value(ipam *db, int64_t resource, const char *key, char *out,
		     size_t size, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT value FROM resource_tag WHERE"
					" resource_key = ?1 AND key = ?2",
					err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, resource);
	ipam__bind_text(stmt, 2, key, -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1)
		ipam__copy_text(out, size, stmt, 0);
	ipam__reset(stmt);
	return rc;
}

/* 1 when every condition holds for the input, 0 when one does not. */
static int rule_matches(ipam *db, const struct rule *r, const struct input *in,
			ipam_err *err)
{
	for (size_t i = 0; i < r->nconds; i++) {
		const struct cond *c = &r->conds[i];
		char tag[IPAM_TAG_VALUE_MAX + 1];
		bool eq = false;
		int rc;
		switch (c->field) {
		case COND_CIDR:
			eq = cidr_equal(&c->cidr, &in->cidr);
			break;
		case COND_POOL_ID:
			eq = strcmp(c->value, in->pool_id) == 0;
			break;
		case COND_RESOURCE_ID:
			eq = strcmp(c->value, in->resource_id) == 0;
			break;
		case COND_OWNER:
			eq = strcmp(c->value, in->owner) == 0;
			break;
		case COND_REGION:
			eq = strcmp(c->value, in->region) == 0;
			break;
		case COND_TAG:
			rc = tag_value(db, in->resource_key, c->key, tag,
				       sizeof(tag), err);
			if (rc < 0)
				return rc;
			eq = rc == 1 && strcmp(tag, c->value) == 0;
			break;
		}
		if (eq == c->negate)
			return 0;
	}
	return 1;
}

/* A stored rule (trusted text) with its scope key. */
static int stored_rule(ipam_stmt *stmt, int text_col, int scope_col,
		       struct rule *r, ipam_err *err)
{
	char text[4096];
	ipam__copy_text(text, sizeof(text), stmt, text_col);
	int rc = parse_rule(NULL, text, r, err);
	r->scope_key = ipam__col_int64(stmt, scope_col);
	return rc ? ipam__fail(err, IPAM_EIO, "stored rule damaged") : 0;
}

/* ---- hooks: allocations ---- */

/* The lists holding a member from this source. */
static int lists_with(ipam *db, int src_kind, int64_t src_key, int64_t **out,
		      size_t *n, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT list_key FROM pl_member WHERE"
					" src_kind = ?1 AND src_key = ?2",
					err);
	if (stmt) {
		ipam__bind_int(stmt, 1, src_kind);
		ipam__bind_int64(stmt, 2, src_key);
	}
	return ipam__collect_keys(db, stmt, out, n, err);
}

static int drop_source(ipam *db, int src_kind, int64_t src_key, ipam_err *err)
{
	int64_t *lists = NULL;
	size_t n = 0;
	int rc = lists_with(db, src_kind, src_key, &lists, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = ipam__plist_member_remove(db, lists[i], src_kind, src_key,
					       err);
	free(lists);
	return rc;
}

/*
 * Offers one input to the rules of `kind` in its scope (of one list when
 * `only` is not 0): adds it to each list a rule matches and, unless
 * `only`, removes it from the lists that hold it and no longer match.
 */
static int offer(ipam *db, enum rule_kind kind, int64_t scope, const char *type,
		 const struct input *in, int src_kind, int64_t src_key,
		 int64_t only, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT r.list_key, r.text, r.scope_key FROM pl_rule r JOIN"
		" prefix_list l ON l.key = r.list_key WHERE r.scope_key = ?1"
		" AND r.kind = ?2 AND r.rtype = ?3 AND l.family = ?4 AND"
		" (?5 = 0 OR r.list_key = ?5) ORDER BY r.list_key, r.line",
		err);
	int64_t *match = NULL, *held = NULL;
	size_t nmatch = 0, nheld = 0, cap = 0;
	int rc;
	struct rule *r = malloc(sizeof(*r));
	if (!r)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if (!stmt) {
		free(r);
		return ipam__stmt_error(err);
	}
	ipam__bind_int64(stmt, 1, scope);
	ipam__bind_int(stmt, 2, kind);
	ipam__bind_text(stmt, 3, type, -1);
	ipam__bind_int(stmt, 4, in->cidr.family);
	ipam__bind_int64(stmt, 5, only);
	while ((rc = ipam__step(db, stmt, err)) == 1) {
		int64_t list = ipam__col_int64(stmt, 0);
		if (nmatch && match[nmatch - 1] == list)
			continue;
		if ((rc = stored_rule(stmt, 1, 2, r, err)) ||
		    (rc = rule_matches(db, r, in, err)) < 0)
			break;
		if (rc == 0)
			continue;
		if (nmatch == cap) {
			cap = cap ? cap * 2 : 8;
			int64_t *g = realloc(match, cap * sizeof(*g));
			if (!g) {
				rc = ipam__fail(err, IPAM_ENOMEM,
						"out of memory");
				break;
			}
			match = g;
		}
		match[nmatch++] = list;
	}
	ipam__reset(stmt);
	free(r);
	for (size_t i = 0; rc == 0 && i < nmatch; i++)
		rc = ipam__plist_member_add(db, match[i], src_kind, src_key,
					    &in->cidr, err);
	if (rc == 0 && !only)
		rc = lists_with(db, src_kind, src_key, &held, &nheld, err);
	for (size_t i = 0; rc == 0 && i < nheld; i++) {
		bool keep = false;
		for (size_t j = 0; j < nmatch; j++)
			keep = keep || match[j] == held[i];
		if (!keep)
			rc = ipam__plist_member_remove(db, held[i], src_kind,
						       src_key, err);
	}
	free(match);
	free(held);
	return rc < 0 ? rc : 0;
}

/* An allocation's input; 0 when loaded, 1 when it does not exist. */
static int alloc_input(ipam *db, int64_t key, struct input *in, char *pool_id,
		       size_t size, int64_t *scope, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT p.family, a.start, a.prefix,"
					" p.aws_id, p.scope_key FROM allocation"
					" a JOIN pool p ON p.key = a.pool_key"
					" WHERE a.key = ?1",
					err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		memset(in, 0, sizeof(*in));
		in->cidr.family = (uint8_t)ipam__col_int(stmt, 0);
		in->cidr.addr = ipam__blob_to_addr(stmt, 1);
		in->cidr.prefix = (uint8_t)ipam__col_int(stmt, 2);
		ipam__copy_text(pool_id, size, stmt, 3);
		in->pool_id = pool_id;
		*scope = ipam__col_int64(stmt, 4);
	}
	ipam__reset(stmt);
	return rc < 0 ? rc : rc == 0;
}

int ipam__plist_watches_allocs(ipam *db, int64_t scope, int family,
			       ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT 1 FROM pl_rule r JOIN prefix_list l ON l.key ="
		" r.list_key WHERE r.scope_key = ?1 AND r.kind = ?2"
		" AND r.rtype = '' AND l.family = ?3 LIMIT 1",
		err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, scope);
	ipam__bind_int(stmt, 2, RULE_POOL);
	ipam__bind_int(stmt, 3, family);
	rc = ipam__step(db, stmt, err);
	ipam__reset(stmt);
	return rc;
}

int ipam__plist_alloc(ipam *db, int64_t alloc_key, bool present, ipam_err *err)
{
	char pool_id[IPAM_ID_MAX];
	struct input in;
	int64_t scope = 0;
	if (!present)
		return drop_source(db, PLIST_SRC_ALLOCATION, alloc_key, err);
	int rc = alloc_input(db, alloc_key, &in, pool_id, sizeof(pool_id),
			     &scope, err);
	if (rc)
		return rc < 0 ? rc : 0;
	return offer(db, RULE_POOL, scope, "", &in, PLIST_SRC_ALLOCATION,
		     alloc_key, 0, err);
}

/* ---- hooks: resource CIDRs ---- */

struct rc_input {
	struct input in;
	int64_t scope;
	char type[24];
	char id[IPAM_RESOURCE_ID_MAX + 1];
	char owner[IPAM_RESOURCE_ID_MAX + 1];
	char region[IPAM_LOCALE_MAX + 1];
};

#define RC_INPUT_SQL                                                           \
	"SELECT c.key, c.family, c.start, c.prefix, r.key, r.scope_key,"       \
	" r.type, r.resource_id, r.owner, r.locale FROM resource_cidr c"       \
	" JOIN resource r ON r.key = c.resource_key"

static void rc_input_row(ipam_stmt *stmt, struct rc_input *x)
{
	memset(x, 0, sizeof(*x));
	x->in.cidr.family = (uint8_t)ipam__col_int(stmt, 1);
	x->in.cidr.addr = ipam__blob_to_addr(stmt, 2);
	x->in.cidr.prefix = (uint8_t)ipam__col_int(stmt, 3);
	x->in.resource_key = ipam__col_int64(stmt, 4);
	x->scope = ipam__col_int64(stmt, 5);
	ipam__copy_text(x->type, sizeof(x->type), stmt, 6);
	ipam__copy_text(x->id, sizeof(x->id), stmt, 7);
	ipam__copy_text(x->owner, sizeof(x->owner), stmt, 8);
	ipam__copy_text(x->region, sizeof(x->region), stmt, 9);
	x->in.resource_id = x->id;
	x->in.owner = x->owner;
	x->in.region = x->region;
	x->in.pool_id = "";
}

int ipam__plist_rc(ipam *db, int64_t rc_key, ipam_err *err)
{
	ipam_stmt *stmt =
		ipam__stmt(db, RC_INPUT_SQL " WHERE c.key = ?1", err);
	struct rc_input *x = malloc(sizeof(*x));
	int rc;
	if (!x)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if (!stmt) {
		free(x);
		return ipam__stmt_error(err);
	}
	ipam__bind_int64(stmt, 1, rc_key);
	rc = ipam__step(db, stmt, err);
	if (rc == 1)
		rc_input_row(stmt, x);
	ipam__reset(stmt);
	if (rc == 1)
		rc = offer(db, RULE_RESOURCE, x->scope, x->type, &x->in,
			   PLIST_SRC_RESOURCE, rc_key, 0, err);
	else if (rc == 0)
		rc = drop_source(db, PLIST_SRC_RESOURCE, rc_key, err);
	free(x);
	return rc;
}

int ipam__plist_rc_gone(ipam *db, int64_t rc_key, ipam_err *err)
{
	return drop_source(db, PLIST_SRC_RESOURCE, rc_key, err);
}

/* ---- objects ---- */

static int plist_load(ipam *db, const char *name, ipam_plist_info *out,
		      ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT key, aws_id, name, family, description, version,"
		" oldest, (SELECT count(*) FROM pl_entry e WHERE e.list_key ="
		" l.key), created, changed FROM prefix_list l WHERE name = ?1",
		err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, name, -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		memset(out, 0, sizeof(*out));
		out->key = ipam__col_int64(stmt, 0);
		ipam__copy_text(out->id, sizeof(out->id), stmt, 1);
		ipam__copy_text(out->name, sizeof(out->name), stmt, 2);
		out->family = ipam__col_int(stmt, 3);
		ipam__copy_text(out->description, sizeof(out->description),
				stmt, 4);
		out->version = ipam__col_int64(stmt, 5);
		out->oldest = ipam__col_int64(stmt, 6);
		out->entries = ipam__col_int64(stmt, 7);
		out->created = ipam__col_int64(stmt, 8);
		out->changed = ipam__col_int64(stmt, 9);
		rc = 0;
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_ENOENT, "no prefix list '%.80s'",
				name);
	}
	ipam__reset(stmt);
	return rc;
}

int ipam_plist_get(ipam *db, const char *name, ipam_plist_info *out,
		   ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db, plist_load(db, name, out, err));
}

int ipam_plist_list(ipam *db, ipam_strlist *out, ipam_err *err)
{
	return ipam__names_list(
		db, "SELECT name FROM prefix_list ORDER BY name", out, err);
}

static const ipam__named plist_kind = {
	"prefix list",
	"ipam-prefix-list-resolver-",
	"INSERT INTO prefix_list(aws_id, name, created, changed) VALUES"
	" (?1, ?2, ?3, ?3)",
	"create-ipam-prefix-list-resolver",
	"delete-ipam-prefix-list-resolver",
	{
		"DELETE FROM pl_rule WHERE list_key = ?1",
		"DELETE FROM pl_member WHERE list_key = ?1",
		"DELETE FROM pl_entry WHERE list_key = ?1",
		"DELETE FROM pl_diff WHERE list_key = ?1",
		"DELETE FROM pl_target WHERE list_key = ?1",
		"DELETE FROM prefix_list WHERE key = ?1",
		NULL,
	},
};

int ipam_plist_create(ipam *db, const char *name, ipam_err *err)
{
	int rc = ipam_name_check(name, err);
	if (rc || (rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(
		db, ipam__named_insert(db, &plist_kind, name, err), err);
}

static int plist_remove(ipam *db, const char *name, ipam_err *err)
{
	ipam_plist_info info;
	int rc = plist_load(db, name, &info, err);
	if (rc)
		return rc;
	return ipam__named_remove(db, &plist_kind, info.key, info.id, name,
				  err);
}

int ipam_plist_delete(ipam *db, const char *name, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, plist_remove(db, name, err), err);
}

/* Drops every member and offers every input of the scopes the rules name
 * again (a rules write, a family change). */
static int recompute(ipam *db, const ipam_plist_info *info, ipam_err *err);

static int set_column(ipam *db, const char *name, const char *sql,
		      const char *text, int value, const char *action,
		      ipam_err *err)
{
	ipam_plist_info info;
	int rc = plist_load(db, name, &info, err);
	ipam_stmt *stmt;
	if (rc)
		return rc;
	stmt = ipam__stmt(db, sql, err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, info.key);
	if (text)
		ipam__bind_text(stmt, 2, text, -1);
	else
		ipam__bind_int(stmt, 2, value);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	if (!text && value != info.family) {
		info.family = value;
		if ((rc = recompute(db, &info, err)))
			return rc;
	}
	return ipam__event(
		db, action, info.id,
		text ? json_pack("{s:o}", "description", json_string(text))
		     : json_pack("{s:i}", "address-family", value),
		err);
}

int ipam_plist_set_family(ipam *db, const char *name, int family, ipam_err *err)
{
	int rc;
	if (family != 4 && family != 6)
		return ipam__fail(err, IPAM_EINVAL,
				  "address family is ipv4 or ipv6");
	if ((rc = ipam__write_begin(db, err)))
		return rc;
	rc = set_column(db, name,
			"UPDATE prefix_list SET family = ?2 WHERE key = ?1",
			NULL, family, "modify-ipam-prefix-list-resolver", err);
	return ipam__write_end(db, rc, err);
}

int ipam_plist_set_description(ipam *db, const char *name, const char *text,
			       ipam_err *err)
{
	int rc = *text ? ipam__check_text("description", text,
					  IPAM_PLIST_DESC_MAX, err)
		       : 0;
	if (rc || (rc = ipam__write_begin(db, err)))
		return rc;
	rc = set_column(db, name,
			"UPDATE prefix_list SET description = ?2 WHERE key ="
			" ?1",
			text, 0, "modify-ipam-prefix-list-resolver", err);
	return ipam__write_end(db, rc, err);
}

/* ---- rules ---- */

static int members_clear(ipam *db, int64_t list, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT src_kind, src_key FROM"
					" pl_member WHERE list_key = ?1",
					err);
	int64_t(*src)[2] = NULL;
	size_t n = 0, cap = 0;
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, list);
	while ((rc = ipam__step(db, stmt, err)) == 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			void *g = realloc(src, cap * sizeof(*src));
			if (!g) {
				rc = ipam__fail(err, IPAM_ENOMEM,
						"out of memory");
				break;
			}
			src = g;
		}
		src[n][0] = ipam__col_int64(stmt, 0);
		src[n][1] = ipam__col_int64(stmt, 1);
		n++;
	}
	ipam__reset(stmt);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = ipam__plist_member_remove(db, list, (int)src[i][0],
					       src[i][1], err);
	free(src);
	return rc < 0 ? rc : 0;
}

/* Offers every allocation (pool rule) or resource CIDR (resource rule) of
 * the rule's scope to list `list`. */
static int offer_scope(ipam *db, int64_t list, int family, const struct rule *r,
		       ipam_err *err)
{
	ipam_stmt *stmt;
	int64_t *keys = NULL;
	size_t n = 0;
	int rc;
	if (r->kind == RULE_POOL) {
		stmt = ipam__stmt(db,
				  "SELECT a.key FROM allocation a JOIN pool p"
				  " ON p.key = a.pool_key WHERE p.scope_key ="
				  " ?1 AND p.family = ?2",
				  err);
	} else {
		stmt = ipam__stmt(db,
				  "SELECT c.key FROM resource_cidr c JOIN"
				  " resource r ON r.key = c.resource_key"
				  " WHERE r.scope_key = ?1 AND c.family = ?2"
				  " AND r.type = ?3",
				  err);
		if (stmt)
			ipam__bind_text(stmt, 3, r->type, -1);
	}
	if (stmt) {
		ipam__bind_int64(stmt, 1, r->scope_key);
		ipam__bind_int(stmt, 2, family);
	}
	rc = ipam__collect_keys(db, stmt, &keys, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (r->kind == RULE_POOL) {
			char pool_id[IPAM_ID_MAX];
			struct input in;
			int64_t scope = 0;
			rc = alloc_input(db, keys[i], &in, pool_id,
					 sizeof(pool_id), &scope, err);
			if (rc == 0)
				rc = offer(db, RULE_POOL, scope, "", &in,
					   PLIST_SRC_ALLOCATION, keys[i], list,
					   err);
			else if (rc > 0)
				rc = 0;
			continue;
		}
		struct rc_input x;
		stmt = ipam__stmt(db, RC_INPUT_SQL " WHERE c.key = ?1", err);
		if (!stmt) {
			rc = ipam__stmt_error(err);
			break;
		}
		ipam__bind_int64(stmt, 1, keys[i]);
		rc = ipam__step(db, stmt, err);
		if (rc == 1)
			rc_input_row(stmt, &x);
		ipam__reset(stmt);
		if (rc == 1)
			rc = offer(db, RULE_RESOURCE, x.scope, x.type, &x.in,
				   PLIST_SRC_RESOURCE, keys[i], list, err);
	}
	free(keys);
	return rc < 0 ? rc : 0;
}

static int recompute(ipam *db, const ipam_plist_info *info, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT line, text, scope_key FROM"
					" pl_rule WHERE list_key = ?1 ORDER BY"
					" line",
					err);
	struct rule *rules = NULL;
	int64_t *lines = NULL;
	size_t n = 0;
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	rules = calloc(IPAM_PLIST_RULES_MAX, sizeof(*rules));
	lines = calloc(IPAM_PLIST_RULES_MAX, sizeof(*lines));
	if (!rules || !lines) {
		free(rules);
		free(lines);
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	ipam__bind_int64(stmt, 1, info->key);
	while ((rc = ipam__step(db, stmt, err)) == 1 &&
	       n < IPAM_PLIST_RULES_MAX) {
		lines[n] = ipam__col_int64(stmt, 0);
		if ((rc = stored_rule(stmt, 1, 2, &rules[n++], err)))
			break;
	}
	ipam__reset(stmt);
	if (rc >= 0)
		rc = members_clear(db, info->key, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (rules[i].kind != RULE_STATIC)
			rc = offer_scope(db, info->key, info->family, &rules[i],
					 err);
		else if (rules[i].cidr.family == info->family)
			rc = ipam__plist_member_add(db, info->key,
						    PLIST_SRC_STATIC, lines[i],
						    &rules[i].cidr, err);
	}
	free(rules);
	free(lines);
	return rc;
}

static int rules_replace(ipam *db, const char *name, const char **lines,
			 size_t count, ipam_err *err)
{
	ipam_plist_info info;
	int rc = plist_load(db, name, &info, err);
	ipam_stmt *stmt;
	if (rc)
		return rc;
	if (count > IPAM_PLIST_RULES_MAX)
		return ipam__fail(err, IPAM_EDQUOT,
				  "%zu rules: a resolver takes at most %d",
				  count, IPAM_PLIST_RULES_MAX);
	stmt = ipam__stmt(db, "DELETE FROM pl_rule WHERE list_key = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, info.key);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	for (size_t i = 0; i < count; i++) {
		struct rule r;
		ipam_err why = {IPAM_OK, ""};
		ipam__buf text = {NULL, 0, 0, 0};
		char *copy = ipam__strdup(lines[i]);
		size_t len = 0;
		char *canon = NULL;
		if (!copy)
			return ipam__fail(err, IPAM_ENOMEM, "out of memory");
		rc = parse_rule(db, copy, &r, &why);
		free(copy);
		if (rc == 0 && r.kind == RULE_STATIC &&
		    r.cidr.family != info.family)
			rc = ipam__fail(&why, IPAM_EINVAL,
					"%s is not an IPv%d CIDR (the "
					"resolver's address family)",
					lines[i] + 7, info.family);
		if (rc)
			return ipam__fail(err, rc, "line %zu: %s", i + 1,
					  why.msg);
		format_rule(&r, &text);
		if ((rc = ipam__buf_finish(&text, &canon, &len, err)))
			return rc;
		stmt = ipam__stmt(db,
				  "INSERT INTO pl_rule(list_key, line, kind,"
				  " scope_key, rtype, text) VALUES (?1, ?2,"
				  " ?3, ?4, ?5, ?6)",
				  err);
		if (!stmt) {
			free(canon);
			return ipam__stmt_error(err);
		}
		ipam__bind_int64(stmt, 1, info.key);
		ipam__bind_int64(stmt, 2, (int64_t)i + 1);
		ipam__bind_int(stmt, 3, r.kind);
		ipam__bind_int64(stmt, 4, r.scope_key);
		ipam__bind_text(stmt, 5, r.type, -1);
		ipam__bind_text(stmt, 6, canon, -1);
		free(canon);
		if ((rc = ipam__exec(db, stmt, err)))
			return rc;
	}
	if ((rc = recompute(db, &info, err)))
		return rc;
	return ipam__event(db, "modify-ipam-prefix-list-resolver", info.id,
			   json_pack("{s:I}", "rules", (json_int_t)count), err);
}

int ipam_plist_set_rules(ipam *db, const char *name, const char **lines,
			 size_t count, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, rules_replace(db, name, lines, count, err),
			       err);
}

int ipam_plist_rules(ipam *db, const char *name, ipam_strlist *out,
		     ipam_err *err)
{
	ipam_plist_info info;
	int rc = ipam__read_begin(db, err);
	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	rc = plist_load(db, name, &info, err);
	if (rc == 0) {
		ipam_stmt *stmt = ipam__stmt(db,
						"SELECT text FROM pl_rule"
						" WHERE list_key = ?1 ORDER"
						" BY line",
						err);
		if (stmt)
			ipam__bind_int64(stmt, 1, info.key);
		rc = ipam__collect_text(db, stmt, out, err);
	}
	return ipam__read_end(db, rc);
}

int ipam_plist_entries(ipam *db, const char *name, int64_t version,
		       ipam_cidr **out, size_t *count, ipam_err *err)
{
	ipam_plist_info info;
	int rc = ipam__read_begin(db, err);
	*out = NULL;
	*count = 0;
	if (rc)
		return rc;
	rc = plist_load(db, name, &info, err);
	if (rc == 0 && version == 0)
		version = info.version;
	if (rc == 0 && (version < info.oldest || version > info.version))
		rc = ipam__fail(err, IPAM_ENOENT,
				"prefix list '%s' keeps versions %lld to %lld",
				name, (long long)info.oldest,
				(long long)info.version);
	if (rc == 0)
		rc = ipam__plist_version_set(db, info.key, info.version,
					     version, out, count, err);
	return ipam__read_end(db, rc);
}
