/*
 * policy.c - IPAM policies (L2075-L2233, SPEC §8.2): which pools a resource
 * gets its address from when it asks without naming one.
 *
 * A policy holds allocation rules in order, each a locale (or `any`), a
 * resource type and up to 10 pools in order; an overflow setting; targets
 * (the local analogue of accounts and OUs: `user:UID`, `group:GID`, or
 * `all`, the whole IPAM) and an enabled flag. A target has at most one
 * active policy, the enabled one that lists it: enabling a policy (or
 * adding a target to an enabled one) takes its targets from any other
 * enabled policy, as the guide warns (L2189, L2220), with an event on each.
 *
 * A request without a pool (ipam_policy_allocate) is decided as the guide's
 * "How it works" says (L2090-L2095): the actor's active policy (its user
 * target, else its primary group's, else `all`), its first rule whose
 * resource type and locale match the resource, that rule's pools in order.
 * The provider-supplied space the guide falls back to (no rule matched, or
 * every pool exhausted with overflow on; L2077, L2094) is, locally, the
 * space of the `amazon`-source public IPv4 pools: the blocks they took from
 * /ipam/provider-cidrs (provider.c). The fallback tries those pools (and
 * their descendants) of the resource's locale, oldest first, as a rule
 * would; when there are none, or they are full, the request is refused
 * with EADDRNOTAVAIL and the reason says so. With overflow off, exhausted
 * pools refuse with ENOSPC. Each pool is tried in a savepoint, so a pool
 * that refuses leaves nothing behind.
 *
 * Tables (store/sqlite.c): policy, policy_rule (policy_key, line, locale,
 * rtype), policy_pool (policy_key, line, pos, pool_key), policy_target
 * (policy_key, target). The SQL is the seam's portable subset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The resource types of IpamPolicyResourceType, then the local ones. */
static const char *const aws_types[] = {"eip", "alb", "rds", "rnat"};
static const char *const local_types[] = {"vpc", "public-ipv4-pool"};

static bool is_aws_type(const char *type)
{
	for (size_t i = 0; i < sizeof(aws_types) / sizeof(aws_types[0]); i++)
		if (!strcmp(type, aws_types[i]))
			return true;
	return false;
}

/* The canonical type of a rule's word, or NULL. */
static const char *rule_type(const char *word)
{
	if (!strcmp(word, "nat-gateway"))
		return "rnat";
	if (is_aws_type(word))
		return word;
	for (size_t i = 0; i < sizeof(local_types) / sizeof(local_types[0]);
	     i++)
		if (!strcmp(word, local_types[i]))
			return word;
	return NULL;
}

/* The rule type that steers a resource type: a NAT gateway resource
 * (`nat-gateway`) is the rules' `rnat`; the others are their own word. */
static const char *steering_type(const char *resource_type)
{
	return ipam__rtype_of(resource_type) == IPAM__RT_NAT_GATEWAY
		       ? "rnat"
		       : resource_type;
}

struct prule {
	int64_t line;
	char locale[IPAM_LOCALE_MAX + 1];
	char type[24];
	size_t npools;
	int64_t pool_key[IPAM_POLICY_POOLS_CAP];
	char pool_id[IPAM_POLICY_POOLS_CAP][IPAM_ID_MAX];
};

/* ---- objects ---- */

static int policy_load(ipam *db, const char *name, ipam_policy_info *out,
		       ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT key, aws_id, name, description, overflow, enabled,"
		" (SELECT count(*) FROM policy_rule r WHERE r.policy_key ="
		" p.key), (SELECT count(*) FROM policy_target t WHERE"
		" t.policy_key = p.key), created FROM policy p WHERE name = ?1",
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
		ipam__copy_text(out->description, sizeof(out->description),
				stmt, 3);
		out->overflow = ipam__col_int(stmt, 4) != 0;
		out->enabled = ipam__col_int(stmt, 5) != 0;
		out->rules = ipam__col_int64(stmt, 6);
		out->targets = ipam__col_int64(stmt, 7);
		out->created = ipam__col_int64(stmt, 8);
		rc = 0;
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_ENOENT, "no policy '%.80s'", name);
	}
	ipam__reset(stmt);
	return rc;
}

int ipam_policy_get(ipam *db, const char *name, ipam_policy_info *out,
		    ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db, policy_load(db, name, out, err));
}

int ipam_policy_list(ipam *db, ipam_strlist *out, ipam_err *err)
{
	return ipam__names_list(db, "SELECT name FROM policy ORDER BY name",
				out, err);
}

static const ipam__named policy_kind = {
	"policy",
	"ipam-policy-",
	"INSERT INTO policy(aws_id, name, created) VALUES (?1, ?2, ?3)",
	"create-ipam-policy",
	"delete-ipam-policy",
	{
		"DELETE FROM policy_pool WHERE policy_key = ?1",
		"DELETE FROM policy_rule WHERE policy_key = ?1",
		"DELETE FROM policy_target WHERE policy_key = ?1",
		"DELETE FROM policy WHERE key = ?1",
		NULL,
	},
};

static int policy_insert(ipam *db, const char *name, ipam_err *err)
{
	ipam_info info;
	int64_t n = 0;
	int rc = ipam__info_load(db, &info, err);
	if (rc)
		return rc;
	if (info.tier == IPAM_TIER_FREE)
		return ipam__fail(
			err, IPAM_EPERM,
			"IPAM policies need the advanced tier (L2112):"
			" write advanced to /ipam/tier first");
	int64_t quota = 0;
	if ((rc = ipam__count(db, "SELECT count(*) FROM policy", &n, err)) ||
	    (rc = ipam_quota_get(db, IPAM_QUOTA_POLICIES, &quota, err)))
		return rc;
	if (n >= quota)
		return ipam__fail(err, IPAM_EDQUOT,
				  "cannot create policy '%s': quota of %lld"
				  " policies (/ipam/quotas/policies)",
				  name, (long long)quota);
	return ipam__named_insert(db, &policy_kind, name, err);
}

int ipam_policy_create(ipam *db, const char *name, ipam_err *err)
{
	int rc = ipam_name_check(name, err);
	if (rc || (rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(db, policy_insert(db, name, err), err);
}

static int policy_remove(ipam *db, const char *name, ipam_err *err)
{
	ipam_policy_info info;
	int rc = policy_load(db, name, &info, err);
	if (rc)
		return rc;
	if (info.enabled)
		return ipam__fail(err, IPAM_EBUSY,
				  "policy '%s' is enabled: write false to its"
				  " enabled file first",
				  name);
	return ipam__named_remove(db, &policy_kind, info.key, info.id, name,
				  err);
}

int ipam_policy_delete(ipam *db, const char *name, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, policy_remove(db, name, err), err);
}

/* Sets one column (?2) of the policy row (?1) with an event. */
static int set_column(ipam *db, const char *name, const char *sql,
		      json_t *value, const char *field, ipam_err *err)
{
	ipam_policy_info info;
	ipam_stmt *stmt;
	int rc = policy_load(db, name, &info, err);
	if (rc == 0 && !(stmt = ipam__stmt(db, sql, err)))
		rc = ipam__stmt_error(err);
	if (rc == 0) {
		ipam__bind_int64(stmt, 1, info.key);
		if (json_is_string(value))
			ipam__bind_text(stmt, 2, json_string_value(value), -1);
		else
			ipam__bind_int(stmt, 2, json_is_true(value));
		rc = ipam__exec(db, stmt, err);
	}
	if (rc) {
		json_decref(value);
		return rc;
	}
	return ipam__event(db, "modify-ipam-policy", info.id,
			   json_pack("{s:o}", field, value), err);
}

int ipam_policy_set_description(ipam *db, const char *name, const char *text,
				ipam_err *err)
{
	int rc = *text ? ipam__check_text("description", text,
					  IPAM_POLICY_DESC_MAX, err)
		       : 0;
	if (rc || (rc = ipam__write_begin(db, err)))
		return rc;
	rc = set_column(db, name,
			"UPDATE policy SET description = ?2 WHERE key = ?1",
			json_string(text), "description", err);
	return ipam__write_end(db, rc, err);
}

int ipam_policy_set_overflow(ipam *db, const char *name, bool overflow,
			     ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	rc = set_column(db, name,
			"UPDATE policy SET overflow = ?2 WHERE key = ?1",
			json_boolean(overflow), "overflow", err);
	return ipam__write_end(db, rc, err);
}

/* ---- targets ---- */

/* `all`, `user:N` or `group:N` (N a 32-bit number) in canonical form. */
static int target_parse(const char *text, char out[IPAM_POLICY_TARGET_MAX],
			ipam_err *err)
{
	const char *digits = NULL, *kind = NULL;
	if (!strcmp(text, "all")) {
		snprintf(out, IPAM_POLICY_TARGET_MAX, "all");
		return 0;
	}
	if (!strncmp(text, "user:", 5)) {
		kind = "user";
		digits = text + 5;
	} else if (!strncmp(text, "group:", 6)) {
		kind = "group";
		digits = text + 6;
	}
	if (!kind)
		return ipam__fail(err, IPAM_EINVAL,
				  "'%.60s' is not a target (all, user:NAME|UID"
				  " or group:NAME|GID)",
				  text);
	size_t n = strspn(digits, "0123456789");
	if (n == 0 || digits[n] || n > 10)
		return ipam__fail(err, IPAM_EINVAL, "'%.60s' is not a %s id",
				  digits, kind);
	unsigned long long v = strtoull(digits, NULL, 10);
	if (v > 4294967295ULL)
		return ipam__fail(err, IPAM_EINVAL,
				  "%s id %.20s is out of range", kind, digits);
	snprintf(out, IPAM_POLICY_TARGET_MAX, "%s:%llu", kind, v);
	return 0;
}

/* Targets in their order: all, then groups, then users, by number. */
static int target_rank(const char *t, unsigned long long *id)
{
	const char *colon = strchr(t, ':');
	*id = colon ? strtoull(colon + 1, NULL, 10) : 0;
	return !colon ? 0 : t[0] == 'g' ? 1 : 2;
}

static int target_cmp(const void *a, const void *b)
{
	unsigned long long ia, ib;
	int ra = target_rank(*(char *const *)a, &ia);
	int rb = target_rank(*(char *const *)b, &ib);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

static int targets_of(ipam *db, int64_t policy, ipam_strlist *out,
		      ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
				     "SELECT target FROM policy_target"
				     " WHERE policy_key = ?1",
				     err);
	memset(out, 0, sizeof(*out));
	if (stmt)
		ipam__bind_int64(stmt, 1, policy);
	int rc = ipam__collect_text(db, stmt, out, err);
	if (rc == 0 && out->count > 1)
		qsort(out->items, out->count, sizeof(out->items[0]),
		      target_cmp);
	return rc;
}

/* Takes `target` from every other enabled policy (the guide's "replace
 * any active IPAM policies"), with an event on each; appends what it took
 * to `replaced`. */
static int take_target(ipam *db, const ipam_policy_info *p, const char *target,
		       json_t *replaced, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT p.key, p.aws_id, p.name FROM policy_target t JOIN"
		" policy p ON p.key = t.policy_key WHERE t.target = ?1 AND"
		" p.enabled <> 0 AND p.key <> ?2",
		err);
	int64_t other = 0;
	char id[IPAM_ID_MAX] = "", name[IPAM_NAME_MAX + 1] = "";
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, target, -1);
	ipam__bind_int64(stmt, 2, p->key);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		other = ipam__col_int64(stmt, 0);
		ipam__copy_text(id, sizeof(id), stmt, 1);
		ipam__copy_text(name, sizeof(name), stmt, 2);
	}
	ipam__reset(stmt);
	if (rc <= 0)
		return rc;
	stmt = ipam__stmt(db,
			  "DELETE FROM policy_target WHERE policy_key = ?1"
			  " AND target = ?2",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, other);
	ipam__bind_text(stmt, 2, target, -1);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	json_array_append_new(replaced,
			      json_pack("{s:s, s:s, s:s}", "target", target,
					"policy", name, "policy-id", id));
	return ipam__event(db, "disable-ipam-policy", id,
			   json_pack("{s:s, s:s, s:s, s:s}", "name", name,
				     "target", target, "replaced-by", p->name,
				     "replaced-by-id", p->id),
			   err);
}

static int take_all(ipam *db, const ipam_policy_info *p, json_t *replaced,
		    ipam_err *err)
{
	ipam_strlist targets;
	int rc = targets_of(db, p->key, &targets, err);
	for (size_t i = 0; rc == 0 && i < targets.count; i++)
		rc = take_target(db, p, targets.items[i], replaced, err);
	ipam_strlist_free(&targets);
	return rc;
}

static json_t *strlist_json(const ipam_strlist *list)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < list->count; i++)
		json_array_append_new(arr, json_string(list->items[i]));
	return arr;
}

static int targets_replace(ipam *db, const char *name, const char **lines,
			   size_t count, bool append, ipam_err *err)
{
	ipam_policy_info info;
	ipam_strlist now = {0};
	json_t *replaced;
	int rc = policy_load(db, name, &info, err);
	if (rc)
		return rc;
	if (!append &&
	    (rc = ipam__exec_key(db, "DELETE FROM policy_target WHERE policy_key = ?1",
			  info.key, err)))
		return rc;
	for (size_t i = 0; i < count; i++) {
		char target[IPAM_POLICY_TARGET_MAX];
		ipam_err why = {IPAM_OK, ""};
		ipam_stmt *stmt;
		if ((rc = target_parse(lines[i], target, &why)))
			return ipam__fail(err, rc, "line %zu: %s", i + 1,
					  why.msg);
		stmt = ipam__stmt(db,
				  "INSERT INTO policy_target(policy_key,"
				  " target) VALUES (?1, ?2) ON CONFLICT DO"
				  " NOTHING",
				  err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, info.key);
		ipam__bind_text(stmt, 2, target, -1);
		if ((rc = ipam__exec(db, stmt, err)))
			return rc;
	}
	int64_t quota = 0;
	if ((rc = ipam_quota_get(db, IPAM_QUOTA_POLICY_TARGETS, &quota, err)) ||
	    (rc = targets_of(db, info.key, &now, err)))
		return rc;
	if ((int64_t)now.count > quota) {
		rc = ipam__fail(err, IPAM_EDQUOT,
				"%zu targets: quota of %lld targets per policy"
				" (/ipam/quotas/policy-targets)",
				now.count, (long long)quota);
		ipam_strlist_free(&now);
		return rc;
	}
	replaced = json_array();
	if (info.enabled)
		rc = take_all(db, &info, replaced, err);
	if (rc == 0)
		rc = ipam__event(db, "modify-ipam-policy-targets", info.id,
				 json_pack("{s:o, s:o}", "targets",
					   strlist_json(&now), "replaced",
					   json_incref(replaced)),
				 err);
	json_decref(replaced);
	ipam_strlist_free(&now);
	return rc;
}

int ipam_policy_set_targets(ipam *db, const char *name, const char **lines,
			    size_t count, bool append, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(
		db, targets_replace(db, name, lines, count, append, err), err);
}

int ipam_policy_targets(ipam *db, const char *name, ipam_strlist *out,
			ipam_err *err)
{
	ipam_policy_info info;
	int rc = ipam__read_begin(db, err);
	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	rc = policy_load(db, name, &info, err);
	if (rc == 0)
		rc = targets_of(db, info.key, out, err);
	return ipam__read_end(db, rc);
}

static int enable(ipam *db, const char *name, bool enabled, ipam_err *err)
{
	ipam_policy_info info;
	ipam_strlist targets = {0};
	json_t *replaced;
	int rc = policy_load(db, name, &info, err);
	if (rc || info.enabled == enabled)
		return rc;
	if (enabled && info.targets == 0)
		return ipam__fail(err, IPAM_EINVAL,
				  "policy '%s' has no targets: write all,"
				  " user:NAME or group:NAME to its targets"
				  " file first",
				  name);
	if ((rc = ipam__exec_key(db,
			  enabled ? "UPDATE policy SET enabled = 1 WHERE key"
				    " = ?1"
				  : "UPDATE policy SET enabled = 0 WHERE key"
				    " = ?1",
			  info.key, err)))
		return rc;
	if (!enabled)
		return ipam__event(db, "disable-ipam-policy", info.id,
				   json_pack("{s:s}", "name", name), err);
	info.enabled = true;
	replaced = json_array();
	rc = take_all(db, &info, replaced, err);
	if (rc == 0)
		rc = targets_of(db, info.key, &targets, err);
	if (rc == 0)
		rc = ipam__event(db, "enable-ipam-policy", info.id,
				 json_pack("{s:s, s:o, s:o}", "name", name,
					   "targets", strlist_json(&targets),
					   "replaced", json_incref(replaced)),
				 err);
	json_decref(replaced);
	ipam_strlist_free(&targets);
	return rc;
}

int ipam_policy_set_enabled(ipam *db, const char *name, bool enabled,
			    ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, enable(db, name, enabled, err), err);
}

/* The enabled policy of a canonical target: 1 with its name, 0 none. */
static int active_of(ipam *db, const char *target, char *name, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT p.name FROM policy_target t JOIN policy p ON p.key ="
		" t.policy_key WHERE t.target = ?1 AND p.enabled <> 0",
		err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, target, -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1)
		ipam__copy_text(name, IPAM_NAME_MAX + 1, stmt, 0);
	ipam__reset(stmt);
	return rc;
}

int ipam_policy_active(ipam *db, const char *target, char *out, ipam_err *err)
{
	char canon[IPAM_POLICY_TARGET_MAX];
	int rc = target_parse(target, canon, err);
	if (rc || (rc = ipam__read_begin(db, err)))
		return rc;
	*out = '\0';
	rc = active_of(db, canon, out, err);
	if (rc == 0)
		rc = ipam__fail(err, IPAM_ENOENT, "no policy is enabled for %s",
				canon);
	return ipam__read_end(db, rc < 0 ? rc : 0);
}

/* ---- rules ---- */

/* Every rule of a policy with its pools, in order (malloc'd). */
static int rules_load(ipam *db, int64_t policy, struct prule **out, size_t *n,
		      ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT r.line, r.locale, r.rtype, pp.pool_key, p.aws_id"
		" FROM policy_rule r JOIN policy_pool pp ON pp.policy_key ="
		" r.policy_key AND pp.line = r.line JOIN pool p ON p.key ="
		" pp.pool_key WHERE r.policy_key = ?1 ORDER BY r.line, pp.pos",
		err);
	struct prule *rules = NULL;
	size_t count = 0, cap = 0;
	int rc;
	*out = NULL;
	*n = 0;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, policy);
	while ((rc = ipam__step(db, stmt, err)) == 1) {
		int64_t line = ipam__col_int64(stmt, 0);
		if (count == 0 || rules[count - 1].line != line) {
			if (count == cap) {
				cap = cap ? cap * 2 : 8;
				struct prule *g =
					realloc(rules, cap * sizeof(*g));
				if (!g) {
					rc = ipam__fail(err, IPAM_ENOMEM,
							"out of memory");
					break;
				}
				rules = g;
			}
			struct prule *r = &rules[count++];
			memset(r, 0, sizeof(*r));
			r->line = line;
			ipam__copy_text(r->locale, sizeof(r->locale), stmt, 1);
			ipam__copy_text(r->type, sizeof(r->type), stmt, 2);
		}
		struct prule *r = &rules[count - 1];
		if (r->npools < IPAM_POLICY_POOLS_CAP) {
			r->pool_key[r->npools] = ipam__col_int64(stmt, 3);
			ipam__copy_text(r->pool_id[r->npools],
					sizeof(r->pool_id[0]), stmt, 4);
			r->npools++;
		}
	}
	ipam__reset(stmt);
	if (rc < 0) {
		free(rules);
		return rc;
	}
	*out = rules;
	*n = count;
	return 0;
}

static void rule_line(const struct prule *r, ipam__buf *out)
{
	ipam__buf_printf(out, "%s %s", r->locale, r->type);
	for (size_t i = 0; i < r->npools; i++)
		ipam__buf_printf(out, " %s", r->pool_id[i]);
}

/* Parses and checks one rule line (in place) against the IPAM; at most
 * `max_pools` pools (the policy-rule-pools quota). */
static int rule_parse(ipam *db, char *text, int64_t max_pools,
		      struct prule *r, ipam_err *err)
{
	char *words[IPAM_POLICY_POOLS_CAP + 2], *save = NULL;
	size_t n = 0;
	memset(r, 0, sizeof(*r));
	for (char *w = strtok_r(text, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (n == sizeof(words) / sizeof(words[0]) ||
		    (n >= 2 && (int64_t)n - 2 >= max_pools))
			return ipam__fail(err, IPAM_EDQUOT,
					  "more than %lld pools in one rule"
					  " (L9664, /ipam/quotas/"
					  "policy-rule-pools)",
					  (long long)max_pools);
		words[n++] = w;
	}
	if (n < 3)
		return ipam__fail(err, IPAM_EINVAL,
				  "a rule is 'LOCALE RESOURCE-TYPE POOL-ID"
				  " [POOL-ID...]'");
	if (strcmp(words[0], "any")) {
		int rc = ipam__check_locale(words[0], err);
		if (rc)
			return rc;
		if (!ipam_locale_is_operating(db, words[0]))
			return ipam__fail(err, IPAM_EINVAL,
					  "locale '%s' is not an operating"
					  " locale of the IPAM (or any)",
					  words[0]);
	}
	snprintf(r->locale, sizeof(r->locale), "%s", words[0]);
	const char *type = rule_type(words[1]);
	if (!type)
		return ipam__fail(err, IPAM_EINVAL,
				  "unknown resource type '%.40s' (eip, alb,"
				  " rds, rnat or nat-gateway, vpc,"
				  " public-ipv4-pool)",
				  words[1]);
	snprintf(r->type, sizeof(r->type), "%s", type);
	for (size_t i = 2; i < n; i++) {
		ipam_kind kind;
		int64_t key = 0;
		ipam_pool_info p;
		int rc;
		if (ipam_id_lookup(db, words[i], &kind, &key, NULL) ||
		    kind != IPAM_KIND_POOL)
			return ipam__fail(err, IPAM_EINVAL,
					  "no pool '%.80s' (pools are named"
					  " by id)",
					  words[i]);
		for (size_t j = 0; j < r->npools; j++)
			if (r->pool_key[j] == key)
				return ipam__fail(err, IPAM_EINVAL,
						  "pool '%s' is listed twice",
						  words[i]);
		if ((rc = ipam__pool_load(db, key, &p, err)))
			return rc;
		if (is_aws_type(type) && (!p.is_public || p.family != 4))
			return ipam__fail(err, IPAM_EINVAL,
					  "pool '%s' is not a public IPv4 pool"
					  " (a %s rule steers public IPv4"
					  " addresses, L2077)",
					  p.name, type);
		if (*p.locale && strcmp(r->locale, "any") &&
		    strcmp(p.locale, r->locale))
			return ipam__fail(err, IPAM_EINVAL,
					  "pool '%s' allocates only in locale"
					  " '%s', not '%s'",
					  p.name, p.locale, r->locale);
		r->pool_key[r->npools] = key;
		snprintf(r->pool_id[r->npools], sizeof(r->pool_id[0]), "%s",
			 p.id);
		r->npools++;
	}
	return 0;
}

static int rule_store(ipam *db, int64_t policy, const struct prule *r,
		      ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
				     "INSERT INTO policy_rule(policy_key,"
				     " line, locale, rtype) VALUES (?1, ?2,"
				     " ?3, ?4)",
				     err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, policy);
	ipam__bind_int64(stmt, 2, r->line);
	ipam__bind_text(stmt, 3, r->locale, -1);
	ipam__bind_text(stmt, 4, r->type, -1);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	for (size_t i = 0; i < r->npools; i++) {
		stmt = ipam__stmt(db,
				  "INSERT INTO policy_pool(policy_key, line,"
				  " pos, pool_key) VALUES (?1, ?2, ?3, ?4)",
				  err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, policy);
		ipam__bind_int64(stmt, 2, r->line);
		ipam__bind_int64(stmt, 3, (int64_t)i + 1);
		ipam__bind_int64(stmt, 4, r->pool_key[i]);
		if ((rc = ipam__exec(db, stmt, err)))
			return rc;
	}
	return 0;
}

static int rules_replace(ipam *db, const char *name, const char **lines,
			 size_t count, ipam_err *err)
{
	ipam_policy_info info;
	struct prule *rules;
	int64_t max_pools = 0;
	int rc = policy_load(db, name, &info, err);
	if (rc || (rc = ipam_quota_get(db, IPAM_QUOTA_POLICY_RULE_POOLS,
				       &max_pools, err)))
		return rc;
	if (count > IPAM_POLICY_RULES_MAX)
		return ipam__fail(err, IPAM_EDQUOT,
				  "%zu rules: a policy takes at most %d", count,
				  IPAM_POLICY_RULES_MAX);
	if ((rc = ipam__exec_key(db, "DELETE FROM policy_pool WHERE policy_key = ?1",
			  info.key, err)) ||
	    (rc = ipam__exec_key(db, "DELETE FROM policy_rule WHERE policy_key = ?1",
			  info.key, err)))
		return rc;
	rules = calloc(count ? count : 1, sizeof(*rules));
	if (!rules)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < count; i++) {
		ipam_err why = {IPAM_OK, ""};
		char *copy = ipam__strdup(lines[i]);
		if (!copy) {
			rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
			break;
		}
		rc = rule_parse(db, copy, max_pools, &rules[i], &why);
		free(copy);
		for (size_t j = 0; rc == 0 && j < i; j++)
			if (!strcmp(rules[j].locale, rules[i].locale) &&
			    !strcmp(rules[j].type, rules[i].type))
				rc = ipam__fail(&why, IPAM_EINVAL,
						"the rule of line %zu has %s"
						" in locale %s already",
						j + 1, rules[i].type,
						rules[i].locale);
		if (rc) {
			rc = ipam__fail(err, rc, "line %zu: %s", i + 1,
					why.msg);
			break;
		}
		rules[i].line = (int64_t)i + 1;
		rc = rule_store(db, info.key, &rules[i], err);
	}
	free(rules);
	if (rc)
		return rc;
	return ipam__event(db, "modify-ipam-policy-allocation-rules", info.id,
			   json_pack("{s:s, s:I}", "name", name, "rules",
				     (json_int_t)count),
			   err);
}

int ipam_policy_set_rules(ipam *db, const char *name, const char **lines,
			  size_t count, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, rules_replace(db, name, lines, count, err),
			       err);
}

int ipam_policy_rules(ipam *db, const char *name, ipam_strlist *out,
		      ipam_err *err)
{
	ipam_policy_info info;
	struct prule *rules = NULL;
	size_t n = 0;
	int rc = ipam__read_begin(db, err);
	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	if ((rc = policy_load(db, name, &info, err)) == 0)
		rc = rules_load(db, info.key, &rules, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		ipam__buf line = {0};
		char *text = NULL;
		size_t len = 0;
		rule_line(&rules[i], &line);
		if ((rc = ipam__buf_finish(&line, &text, &len, err)) == 0) {
			rc = ipam__strlist_push(out, text)
				     ? ipam__fail(err, IPAM_ENOMEM,
						  "out of memory")
				     : 0;
			free(text);
		}
	}
	free(rules);
	if (rc)
		ipam_strlist_free(out);
	return ipam__read_end(db, rc);
}

int ipam__policy_pool_check(ipam *db, const ipam_pool_info *p, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT pol.name, pp.line FROM policy_pool pp JOIN policy pol"
		" ON pol.key = pp.policy_key WHERE pp.pool_key = ?1 ORDER BY"
		" pol.name, pp.line LIMIT 1",
		err);
	char name[IPAM_NAME_MAX + 1] = "";
	int64_t line = 0;
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, p->key);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		ipam__copy_text(name, sizeof(name), stmt, 0);
		line = ipam__col_int64(stmt, 1);
	}
	ipam__reset(stmt);
	if (rc <= 0)
		return rc;
	return ipam__fail(err, IPAM_EBUSY,
			  "cannot delete pool '%s': rule %lld of policy '%s'"
			  " sends requests to it (rewrite that rule first)",
			  p->name, (long long)line, name);
}

/* ---- JSON views ---- */

static json_t *describe_one(ipam *db, const ipam_info *im,
			    const ipam_policy_info *p)
{
	char arn[IPAM_ID_MAX + 64], owner[16];
	json_t *tags = ipam__tags_json(db, p->id), *t;
	bool named = false;
	size_t i;
	snprintf(owner, sizeof(owner), "%u", im->owner_uid);
	snprintf(arn, sizeof(arn), "arn:aws:ec2::%u:ipam-policy/%s",
		 im->owner_uid, p->id);
	json_array_foreach(tags, i, t)
	{
		const char *key = json_string_value(json_object_get(t, "Key"));
		named = named || (key && !strcmp(key, "Name"));
	}
	if (!named && tags) /* the directory's name, as the console's Name */
		json_array_insert_new(tags, 0,
				      json_pack("{s:s, s:s}", "Key", "Name",
						"Value", p->name));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "OwnerId",
			 owner, "IpamPolicyId", p->id, "IpamPolicyArn", arn,
			 "IpamPolicyRegion", im->home_locale, "State",
			 "create-complete", "Tags", tags ? tags : json_array(),
			 "IpamId", im->id);
}

static int view_rules(ipam *db, const ipam_policy_info *p, json_t *docs,
		      ipam_err *err)
{
	struct prule *rules = NULL;
	size_t n = 0;
	int rc = rules_load(db, p->key, &rules, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		json_t *pools = json_array();
		/* the AWS shape has words only for its four types: the rules
		 * of local types are in `rules` and export.json */
		if (!is_aws_type(rules[i].type)) {
			json_decref(pools);
			continue;
		}
		for (size_t j = 0; j < rules[i].npools; j++)
			json_array_append_new(
				pools, json_pack("{s:s}", "SourceIpamPoolId",
						 rules[i].pool_id[j]));
		json_array_append_new(
			docs,
			json_pack("{s:s, s:s, s:s, s:o}", "IpamPolicyId", p->id,
				  "Locale", rules[i].locale, "ResourceType",
				  rules[i].type, "AllocationRules", pools));
	}
	free(rules);
	return rc;
}

static int view(ipam *db, const char *name, ipam_policy_view which,
		json_t **out, ipam_err *err)
{
	ipam_info im;
	ipam_strlist names = {0}, targets = {0};
	ipam_policy_info p;
	json_t *list = json_array();
	int rc = ipam__info_load(db, &im, err);
	if (rc == 0 && name)
		rc = ipam__strlist_push(&names, name)
			     ? ipam__fail(err, IPAM_ENOMEM, "out of memory")
			     : 0;
	else if (rc == 0)
		rc = ipam__collect_text(
			db,
			ipam__stmt(db, "SELECT name FROM policy ORDER BY name",
				   err),
			&names, err);
	for (size_t i = 0; rc == 0 && i < names.count; i++) {
		if ((rc = policy_load(db, names.items[i], &p, err)))
			break;
		if (which == IPAM_POLICY_DESCRIBE) {
			json_array_append_new(list, describe_one(db, &im, &p));
		} else if (which == IPAM_POLICY_RULES) {
			rc = view_rules(db, &p, list, err);
		} else if ((rc = targets_of(db, p.key, &targets, err)) == 0) {
			for (size_t j = 0; j < targets.count; j++)
				json_array_append_new(
					list, json_pack("{s:s}",
							"OrganizationTargetId",
							targets.items[j]));
			ipam_strlist_free(&targets);
		}
	}
	ipam_strlist_free(&names);
	if (rc) {
		json_decref(list);
		return rc;
	}
	*out = json_pack("{s:o}",
			 which == IPAM_POLICY_DESCRIBE ? "IpamPolicies"
			 : which == IPAM_POLICY_RULES  ? "IpamPolicyDocuments"
						       : "OrganizationTargets",
			 list);
	return 0;
}

int ipam_policy_json(ipam *db, const char *name, ipam_policy_view which,
		     char **out, size_t *len, ipam_err *err)
{
	json_t *root = NULL;
	int rc = ipam__read_begin(db, err);
	*out = NULL;
	*len = 0;
	if (rc)
		return rc;
	rc = view(db, name, which, &root, err);
	if (rc == 0) {
		char *text =
			json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		ipam__buf buf = {0};
		json_decref(root);
		if (!text)
			rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
		else
			ipam__buf_printf(&buf, "%s\n", text);
		free(text);
		if (rc == 0)
			rc = ipam__buf_finish(&buf, out, len, err);
		else
			free(buf.data);
	}
	return ipam__read_end(db, rc);
}

/* ---- allocating by policy ---- */

struct active {
	char target[IPAM_POLICY_TARGET_MAX];
	ipam_policy_info info;
};

/* The active policy of the actor: its user, its group, then all. */
static int actor_policy(ipam *db, struct active *out, ipam_err *err)
{
	char name[IPAM_NAME_MAX + 1];
	snprintf(out->target, sizeof(out->target), "user:%u", db->actor.uid);
	int rc = active_of(db, out->target, name, err);
	if (rc == 0) {
		snprintf(out->target, sizeof(out->target), "group:%u",
			 db->actor.gid);
		rc = active_of(db, out->target, name, err);
	}
	if (rc == 0) {
		snprintf(out->target, sizeof(out->target), "all");
		rc = active_of(db, out->target, name, err);
	}
	if (rc <= 0)
		return rc;
	return policy_load(db, name, &out->info, err) ? IPAM_EIO : 1;
}

/* Tries the pools of rule r in order; 0 with *got and the pool index.
 * Else the first error that is not IPAM_ENOSPC (a rule of the pool
 * refused), or IPAM_ENOSPC when every pool is exhausted; `why` collects
 * each pool's reason, `ids` the pool ids. */
static int try_pools(ipam *db, int64_t resource, const struct prule *r,
		     const struct active *a, const ipam_cidr *cidr,
		     int prefix_len, ipam_cidr *got, size_t *which,
		     ipam__buf *why, ipam__buf *ids, ipam_err *err)
{
	char desc[IPAM_ID_MAX + 48];
	int other = 0;
	snprintf(desc, sizeof(desc), "IPAM policy %s rule %lld", a->info.id,
		 (long long)r->line);
	for (size_t i = 0; i < r->npools; i++) {
		ipam_err e = {IPAM_OK, ""};
		int rc = ipam__write_begin(db, &e);
		if (rc == 0)
			rc = ipam__resource_allocate(db, resource,
						     r->pool_key[i], cidr,
						     prefix_len, desc, got, &e);
		rc = ipam__write_end(db, rc, &e);
		if (rc == 0) {
			*which = i;
			return 0;
		}
		if (rc == IPAM_ENOMEM || rc == IPAM_EIO)
			return ipam__fail(err, rc, "%s", e.msg);
		ipam__buf_printf(why, "%s%s: %s", i ? "; " : "", r->pool_id[i],
				 e.msg);
		ipam__buf_printf(ids, "%s%s", i ? ", " : "", r->pool_id[i]);
		if (rc != IPAM_ENOSPC && !other)
			other = rc;
	}
	return other ? other : IPAM_ENOSPC;
}

/*
 * The provider-supplied space as a rule (line 0): the public IPv4 pools of
 * the resource's locale (any locale when it has none) that are, or descend
 * from, an `amazon`-source top-level pool, oldest first. Only the AWS
 * resource types (public IPv4 addresses) fall back to it.
 */
static int provider_rule(ipam *db, const ipam_resource_info *res,
			 const char *type, struct prule *out, ipam_err *err)
{
	ipam_stmt *stmt;
	int rc;
	memset(out, 0, sizeof(*out));
	snprintf(out->locale, sizeof(out->locale), "%s", res->locale);
	snprintf(out->type, sizeof(out->type), "%s", type);
	if (!is_aws_type(type))
		return 0;
	stmt = ipam__stmt(
		db,
		"WITH RECURSIVE tree(key) AS (SELECT p.key FROM pool p JOIN"
		" scope s ON s.key = p.scope_key WHERE s.is_public <> 0 AND"
		" coalesce(p.parent_key, 0) = 0 AND p.public_ip_source ="
		" 'amazon' AND p.family = 4 UNION ALL SELECT c.key FROM pool c"
		" JOIN tree t ON c.parent_key = t.key)"
		" SELECT p.key, p.aws_id FROM pool p JOIN tree t ON t.key ="
		" p.key WHERE ?1 = '' OR p.locale = ?1 ORDER BY p.key",
		err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, res->locale, -1);
	while ((rc = ipam__step(db, stmt, err)) == 1 &&
	       out->npools < IPAM_POLICY_POOLS_CAP) {
		out->pool_key[out->npools] = ipam__col_int64(stmt, 0);
		ipam__copy_text(out->pool_id[out->npools],
				sizeof(out->pool_id[0]), stmt, 1);
		out->npools++;
	}
	ipam__reset(stmt);
	return rc < 0 ? rc : 0;
}

/* The guide's fallback to provider-supplied space (`why`: the reason the
 * policy's own pools gave nothing). */
static int provider_fallback(ipam *db, int64_t resource,
			     const ipam_resource_info *res, const char *type,
			     const struct active *a, const ipam_cidr *cidr,
			     int prefix_len, struct prule *pr,
			     ipam_policy_choice *out, size_t *which,
			     const char *why, ipam_err *err)
{
	ipam__buf reasons = {0}, ids = {0};
	int rc = provider_rule(db, res, type, pr, err);
	if (rc)
		return rc;
	if (pr->npools == 0)
		return ipam__fail(err, IPAM_EADDRNOTAVAIL,
				  "%s; the fallback is provider-supplied space,"
				  " and no amazon-source public IPv4 pool%s%s"
				  " holds any (see /ipam/provider-cidrs)",
				  why, *res->locale ? " of locale " : "",
				  res->locale);
	rc = try_pools(db, resource, pr, a, cidr, prefix_len, &out->cidr,
		       which, &reasons, &ids, err);
	if (rc && rc != IPAM_ENOMEM && rc != IPAM_EIO) {
		ipam__buf_add(&reasons, "", 1);
		rc = reasons.failed
			     ? ipam__fail(err, IPAM_ENOMEM, "out of memory")
			     : ipam__fail(err, IPAM_EADDRNOTAVAIL,
					  "%s; the provider-supplied space gave"
					  " none either: %s",
					  why, reasons.data);
	}
	free(reasons.data);
	free(ids.data);
	return rc;
}

static int policy_allocate(ipam *db, int64_t resource, const ipam_cidr *cidr,
			   int prefix_len, ipam_policy_choice *out,
			   ipam_err *err)
{
	ipam_resource_info res;
	struct active a;
	struct prule *rules = NULL, *r = NULL, provider;
	size_t n = 0, which = 0;
	ipam__buf why = {0}, ids = {0};
	const char *reasons = NULL;
	char because[640];
	int rc = ipam__resource_load(db, resource, &res, err);
	if (rc)
		return rc;
	if ((rc = actor_policy(db, &a, err)) <= 0)
		return rc < 0 ? rc
			      : ipam__fail(err, IPAM_EINVAL,
					   "resource '%s' names no pool and no"
					   " IPAM policy is enabled for uid"
					   " %u, gid %u or all (write POOL-ID"
					   " [/LEN|CIDR])",
					   res.id, db->actor.uid,
					   db->actor.gid);
	if ((rc = rules_load(db, a.info.key, &rules, &n, err)))
		return rc;
	const char *type = steering_type(res.type);
	for (size_t i = 0; !r && i < n; i++)
		if (!strcmp(rules[i].type, type) &&
		    (!strcmp(rules[i].locale, "any") ||
		     !strcmp(rules[i].locale, res.locale)))
			r = &rules[i];
	memset(out, 0, sizeof(*out));
	if (!r) {
		/* the guide's default: provider-supplied space */
		snprintf(because, sizeof(because),
			 "policy '%.64s' (for %.64s) has no rule for %.24s in"
			 " locale '%.64s'",
			 a.info.name, a.target, type,
			 *res.locale ? res.locale : "none");
		r = &provider;
		rc = provider_fallback(db, resource, &res, type, &a, cidr,
				       prefix_len, r, out, &which, because,
				       err);
		goto decided;
	}
	rc = try_pools(db, resource, r, &a, cidr, prefix_len, &out->cidr,
		       &which, &why, &ids, err);
	if (rc && rc != IPAM_ENOMEM && rc != IPAM_EIO) {
		ipam__buf_add(&why, "", 1);
		ipam__buf_add(&ids, "", 1);
		reasons = why.failed || ids.failed ? NULL : why.data;
		if (!reasons)
			rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
		else if (rc != IPAM_ENOSPC)
			ipam__fail(err, rc,
				   "policy '%s' rule %lld gave no address: %s",
				   a.info.name, (long long)r->line, reasons);
		else if (a.info.overflow) {
			snprintf(because, sizeof(because),
				 "policy '%.64s' rule %lld: every pool is"
				 " exhausted (pools %.400s), overflow is on",
				 a.info.name, (long long)r->line, ids.data);
			r = &provider;
			rc = provider_fallback(db, resource, &res, type, &a,
					       cidr, prefix_len, r, out,
					       &which, because, err);
		} else
			ipam__fail(err, IPAM_ENOSPC,
				   "policy '%s' rule %lld: every pool is"
				   " exhausted and overflow is off (pools %s)",
				   a.info.name, (long long)r->line, ids.data);
	}
decided:
	free(why.data);
	free(ids.data);
	if (rc == 0) {
		char text[IPAM_CIDR_STRLEN];
		snprintf(out->policy, sizeof(out->policy), "%s", a.info.name);
		snprintf(out->policy_id, sizeof(out->policy_id), "%s",
			 a.info.id);
		snprintf(out->target, sizeof(out->target), "%s", a.target);
		out->rule = (int)r->line;
		snprintf(out->pool_id, sizeof(out->pool_id), "%s",
			 r->pool_id[which]);
		ipam_cidr_format(&out->cidr, text);
		rc = ipam__event(
			db, "allocate-by-ipam-policy", a.info.id,
			json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:b}",
				  "name", a.info.name, "target", a.target,
				  "rule", (json_int_t)r->line, "pool-id",
				  out->pool_id, "resource-id", res.id,
				  "resource-type", res.type, "cidr", text,
				  "provider-supplied", r == &provider),
			err);
	}
	free(rules);
	return rc;
}

int ipam_policy_allocate(ipam *db, int64_t resource, const ipam_cidr *cidr,
			 int prefix_len, ipam_policy_choice *out, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(
		db, policy_allocate(db, resource, cidr, prefix_len, out, err),
		err);
}

int ipam__policy_ask(ipam *db, int64_t resource, ipam_err *err)
{
	ipam_policy_choice got;
	ipam_resource_info res;
	ipam_err why = {IPAM_OK, ""};
	struct active a;
	int rc = ipam__resource_load(db, resource, &res, err);
	if (rc)
		return rc;
	/* no policy for the writer: the default, nothing to decide */
	if ((rc = actor_policy(db, &a, err)) <= 0)
		return rc;
	rc = ipam__write_begin(db, &why);
	if (rc == 0)
		rc = policy_allocate(db, resource, NULL, 32, &got, &why);
	rc = ipam__write_end(db, rc, &why);
	if (rc == 0 || rc == IPAM_ENOMEM || rc == IPAM_EIO)
		return rc ? ipam__fail(err, rc, "%s", why.msg) : 0;
	/* refused: the resource stays without an address, and says why */
	return ipam__event(db, "allocate-by-ipam-policy-refused", a.info.id,
			   json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name",
				     a.info.name, "target", a.target,
				     "resource-id", res.id, "resource-type",
				     res.type, "code", ipam_code_name(rc),
				     "reason", why.msg),
			   err);
}
