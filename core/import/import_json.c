/*
 * import_json.c - the JSON formats of other systems: the AWS CLI's IPAM
 * outputs and NetBox's REST API.
 *
 * AWS: the unmodified output of `aws ec2 describe-ipams`,
 * `describe-ipam-scopes`, `describe-ipam-pools`, `get-ipam-pool-cidrs
 * --ipam-pool-id ID` and `get-ipam-pool-allocations --ipam-pool-id ID`,
 * concatenated in any order (docs/aws-export.sh). The last two do not say
 * which pool they describe, so the reader works it out from the content: a
 * child pool's CIDR is the allocation of resource type `ipam-pool` whose
 * ResourceId is the child; a CIDR list holding a child's CIDR, or holding
 * the allocation of one of a pool's children, is that pool's; else the
 * only pool of the family still without CIDRs. An allocation belongs to
 * the deepest pool whose CIDRs contain it. What cannot be told apart is
 * refused, naming the line.
 *
 * NetBox: the JSON of /api/ipam/prefixes/?limit=0 (and of /api/ipam/vrfs/,
 * whose descriptions and route distinguishers describe the scopes), one
 * or more documents concatenated; the prefixes go to import_tree.c.
 */
#include <stdlib.h>
#include <string.h>

#include "io.h"

typedef int (*doc_fn)(void *ctx, json_t *doc, size_t line, ipam_err *err);

/* Calls fn for every JSON value of a concatenated stream. */
static int each_doc(const char *text, size_t len, doc_fn fn, void *ctx,
		    ipam_err *err)
{
	size_t i = 0, line = 1, counted = 0;
	while (i < len) {
		json_error_t jerr;
		json_t *doc;
		int rc;
		while (i < len && strchr(" \t\r\n", text[i]))
			i++;
		if (i >= len)
			break;
		for (; counted < i; counted++)
			line += text[counted] == '\n';
		doc = json_loadb(text + i, len - i, JSON_DISABLE_EOF_CHECK,
				 &jerr);
		if (!doc)
			return ipam__fail(
				err, IPAM_EINVAL, "line %zu: bad JSON: %s",
				line + (size_t)jerr.line - 1, jerr.text);
		rc = fn(ctx, doc, line, err);
		json_decref(doc);
		if (rc)
			return rc;
		i += (size_t)jerr.position;
	}
	return 0;
}

static const char *str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *tag_value(json_t *obj, const char *key)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(obj, "Tags"), i, t)
	{
		const char *k = str(t, "Key");
		if (k && !strcmp(k, key))
			return str(t, "Value");
	}
	return NULL;
}

/* ---- AWS ---- */

typedef struct aws_list {
	json_t *items; /* array */
	size_t line;
	char *pool; /* the pool it was found to describe */
} aws_list;

typedef struct aws {
	json_t *ipam;
	json_t *scopes; /* id -> object */
	json_t *pools;	/* id -> object (with "_line") */
	aws_list *cidrs, *allocs;
	size_t ncidrs, nallocs;
	json_t *pool_cidrs; /* pool id -> [cidr text] */
	json_t *names;	    /* pool id -> path */
} aws;

static int aws_push(aws_list **arr, size_t *n, json_t *items, size_t line)
{
	aws_list *p = realloc(*arr, (*n + 1) * sizeof(*p));
	if (!p)
		return IPAM_ENOMEM;
	*arr = p;
	p[*n] = (aws_list){json_incref(items), line, NULL};
	(*n)++;
	return 0;
}

static int aws_doc(void *ctx, json_t *doc, size_t line, ipam_err *err)
{
	aws *a = ctx;
	json_t *v, *el;
	size_t i;
	bool known = false;
	if ((v = json_object_get(doc, "Ipams"))) {
		known = true;
		if (json_array_size(v) > 1)
			return ipam__fail(err, IPAM_EINVAL,
					  "line %zu: %zu IPAMs: import one at "
					  "a time (describe-ipams --ipam-ids)",
					  line, json_array_size(v));
		if (json_array_size(v))
			json_object_set(a->ipam, "ipam", json_array_get(v, 0));
	}
	json_array_foreach(json_object_get(doc, "IpamScopes"), i, el)
	{
		const char *id = str(el, "IpamScopeId");
		if (!id)
			return ipam__fail(err, IPAM_EINVAL,
					  "line %zu: a scope without "
					  "IpamScopeId",
					  line);
		json_object_set(a->scopes, id, el);
	}
	known = known || json_object_get(doc, "IpamScopes");
	json_array_foreach(json_object_get(doc, "IpamPools"), i, el)
	{
		const char *id = str(el, "IpamPoolId");
		if (!id)
			return ipam__fail(err, IPAM_EINVAL,
					  "line %zu: a pool without IpamPoolId",
					  line);
		json_t *copy = json_deep_copy(el);
		json_object_set_new(copy, "_line",
				    json_integer((json_int_t)line));
		json_object_set_new(a->pools, id, copy);
	}
	known = known || json_object_get(doc, "IpamPools");
	if ((v = json_object_get(doc, "IpamPoolCidrs"))) {
		known = true;
		if (aws_push(&a->cidrs, &a->ncidrs, v, line))
			return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	if ((v = json_object_get(doc, "IpamPoolAllocations"))) {
		known = true;
		if (aws_push(&a->allocs, &a->nallocs, v, line))
			return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	if (!known)
		return ipam__fail(err, IPAM_EINVAL,
				  "line %zu: a JSON document without Ipams, "
				  "IpamScopes, IpamPools, IpamPoolCidrs or "
				  "IpamPoolAllocations",
				  line);
	return 0;
}

/* The scope id at the end of an ARN ("arn:...:ipam-scope/ID"). */
static const char *scope_of(json_t *pool)
{
	const char *id = str(pool, "IpamScopeId");
	const char *arn = str(pool, "IpamScopeArn");
	if (id)
		return id;
	if (arn && strrchr(arn, '/'))
		return strrchr(arn, '/') + 1;
	return NULL;
}

static const char *aws_scope_name(aws *a, const char *id)
{
	json_t *s = json_object_get(a->scopes, id);
	return str(s, "_name");
}

/* Scope names: default ones by type, others by their Name tag or id. */
static int aws_name_scopes(aws *a, json_t *doc, ipam_err *err)
{
	const char *id;
	json_t *s;
	json_object_foreach(a->scopes, id, s)
	{
		const char *name = tag_value(s, "Name");
		if (json_is_true(json_object_get(s, "IsDefault")))
			name = str(s, "IpamScopeType");
		if (!name || ipam_name_check(name, NULL))
			name = id;
		json_object_set_new(s, "_name", json_string(name));
		json_t *el = json_pack(
			"{s:s, s:s, s:s, s:b}", "Name", name, "IpamScopeId", id,
			"IpamScopeType",
			str(s, "IpamScopeType") ? str(s, "IpamScopeType")
						: "private",
			"IsDefault",
			json_is_true(json_object_get(s, "IsDefault")));
		if (str(s, "Description"))
			json_object_set_new(el, "Description",
					    json_string(str(s, "Description")));
		if (json_object_get(s, "Tags"))
			json_object_set(el, "Tags", json_object_get(s, "Tags"));
		ipam__doc_add(doc, "IpamScopes", el);
	}
	(void)err;
	return 0;
}

/* The path of a pool (its parents' first). */
static const char *aws_path(aws *a, const char *id, int depth, ipam_err *err)
{
	json_t *p = json_object_get(a->pools, id);
	const char *have = str(json_object_get(a->names, id), NULL);
	json_t *known = json_object_get(a->names, id);
	const char *src, *name, *scope;
	char *path = NULL;
	(void)have;
	if (known)
		return json_string_value(known);
	if (!p || depth > 64) {
		ipam__fail(err, IPAM_EINVAL,
			   "pool '%s' is named as a source but not described "
			   "(add describe-ipam-pools)",
			   id);
		return NULL;
	}
	name = tag_value(p, "Name");
	if (!name || ipam_name_check(name, NULL))
		name = id;
	src = str(p, "SourceIpamPoolId");
	if (src && *src) {
		const char *parent = aws_path(a, src, depth + 1, err);
		if (!parent)
			return NULL;
		if (asprintf(&path, "%s/pools/%s", parent, name) < 0)
			path = NULL;
	} else {
		scope = scope_of(p) ? aws_scope_name(a, scope_of(p)) : NULL;
		if (!scope) {
			ipam__fail(err, IPAM_EINVAL,
				   "line %lld: pool '%s': its scope is not "
				   "described (add describe-ipam-scopes)",
				   (long long)json_integer_value(
					   json_object_get(p, "_line")),
				   id);
			return NULL;
		}
		if (asprintf(&path, "scopes/%s/pools/%s", scope, name) < 0)
			path = NULL;
	}
	if (!path) {
		ipam__fail(err, IPAM_ENOMEM, "out of memory");
		return NULL;
	}
	json_object_set_new(a->names, id, json_string(path));
	free(path);
	return json_string_value(json_object_get(a->names, id));
}

static int aws_pools(aws *a, json_t *doc, ipam_err *err)
{
	static const char *const keys[] = {"AddressFamily",
					   "Locale",
					   "Description",
					   "AutoImport",
					   "AllocationMinNetmaskLength",
					   "AllocationMaxNetmaskLength",
					   "AllocationDefaultNetmaskLength",
					   "AllocationResourceTags",
					   "Tags",
					   "PubliclyAdvertisable",
					   "AwsService",
					   "PublicIpSource"};
	const char *id;
	json_t *p;
	json_object_foreach(a->pools, id, p)
	{
		const char *path = aws_path(a, id, 0, err);
		json_t *el;
		if (!path)
			return IPAM_EINVAL;
		el = json_pack("{s:s, s:s, s:O}", "IpamPoolId", id, "Path",
			       path, "SourceLine", json_object_get(p, "_line"));
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (json_object_get(p, keys[i]))
				json_object_set(el, keys[i],
						json_object_get(p, keys[i]));
		ipam__doc_add(doc, "IpamPools", el);
	}
	return 0;
}

static int family_of(json_t *pool)
{
	const char *f = str(pool, "AddressFamily");
	return f && !strcmp(f, "ipv6") ? 6 : 4;
}

/* Child pool CIDRs: allocations of type ipam-pool name their child. */
static void aws_child_cidrs(aws *a)
{
	for (size_t d = 0; d < a->nallocs; d++) {
		size_t i;
		json_t *el;
		json_array_foreach(a->allocs[d].items, i, el)
		{
			const char *type = str(el, "ResourceType");
			const char *child = str(el, "ResourceId");
			json_t *list;
			if (!type ||
			    (ipam__rtype_of(type) != IPAM__RT_IPAM_POOL) ||
			    !child || !str(el, "Cidr"))
				continue;
			list = json_object_get(a->pool_cidrs, child);
			if (!list)
				json_object_set_new(a->pool_cidrs, child,
						    list = json_array());
			json_array_append_new(list,
					      json_string(str(el, "Cidr")));
		}
	}
}

static bool list_has(json_t *list, const char *cidr)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) if (!strcmp(json_string_value(v),
						   cidr)) return true;
	return false;
}

/* The pool a get-ipam-pool-cidrs output describes, or NULL. */
static const char *aws_cidrs_owner(aws *a, aws_list *l, bool *ambiguous)
{
	const char *id, *only = NULL;
	json_t *p, *el;
	size_t i, candidates = 0;
	int family = 4;
	json_array_foreach(l->items, i, el)
	{
		const char *c = str(el, "Cidr");
		json_t *list;
		if (c && strchr(c, ':'))
			family = 6;
		json_object_foreach(a->pool_cidrs, id, list)
		{
			json_t *pool = json_object_get(a->pools, id);
			if (c && list_has(list, c) && pool &&
			    str(pool, "SourceIpamPoolId"))
				return id;
		}
	}
	/* a parent holds its children's CIDRs */
	json_array_foreach(l->items, i, el)
	{
		ipam_cidr outer, inner;
		const char *c = str(el, "Cidr");
		json_t *list;
		if (!c || ipam_cidr_parse(&outer, c, NULL))
			continue;
		json_object_foreach(a->pool_cidrs, id, list)
		{
			json_t *child = json_object_get(a->pools, id), *v;
			size_t j;
			const char *src = str(child, "SourceIpamPoolId");
			json_array_foreach(list, j, v)
			{
				if (src && *src &&
				    !ipam_cidr_parse(&inner,
						     json_string_value(v),
						     NULL) &&
				    ipam_cidr_contains(&outer, &inner))
					return src;
			}
		}
	}
	json_object_foreach(a->pools, id, p)
	{
		bool taken = false;
		for (size_t d = 0; d < a->ncidrs; d++)
			taken = taken || (a->cidrs[d].pool &&
					  !strcmp(a->cidrs[d].pool, id));
		if (taken || family_of(p) != family ||
		    json_object_get(a->pool_cidrs, id))
			continue;
		candidates++;
		only = id;
	}
	*ambiguous = candidates > 1;
	return candidates == 1 ? only : NULL;
}

static int aws_cidrs(aws *a, json_t *doc, ipam_err *err)
{
	bool progress = true;
	while (progress) {
		progress = false;
		for (size_t d = 0; d < a->ncidrs; d++) {
			bool ambiguous = false;
			const char *owner;
			if (a->cidrs[d].pool)
				continue;
			owner = aws_cidrs_owner(a, &a->cidrs[d], &ambiguous);
			if (!owner)
				continue;
			if (!(a->cidrs[d].pool = ipam__strdup(owner)))
				return ipam__fail(err, IPAM_ENOMEM,
						  "out of memory");
			json_t *list = json_object_get(a->pool_cidrs, owner);
			if (!list)
				json_object_set_new(a->pool_cidrs, owner,
						    list = json_array());
			size_t i;
			json_t *el;
			json_array_foreach(
				a->cidrs[d].items, i,
				el) if (str(el, "Cidr") &&
					!list_has(list, str(el, "Cidr")))
				json_array_append_new(
					list, json_string(str(el, "Cidr")));
			progress = true;
		}
	}
	for (size_t d = 0; d < a->ncidrs; d++) {
		size_t i;
		json_t *el;
		if (!a->cidrs[d].pool)
			return ipam__fail(
				err, IPAM_EINVAL,
				"line %zu: cannot tell which pool these CIDRs "
				"belong to: get-ipam-pool-cidrs does not say; "
				"add the parent pool's "
				"get-ipam-pool-allocations, or import one "
				"top-level pool per family at a time",
				a->cidrs[d].line);
		json_array_foreach(a->cidrs[d].items, i, el)
		{
			const char *state = str(el, "State");
			if (state && strcmp(state, "provisioned"))
				continue; /* pending/failed: not held */
			json_t *c = json_pack(
				"{s:s, s:s, s:i}", "IpamPoolId",
				a->cidrs[d].pool, "Cidr",
				str(el, "Cidr") ? str(el, "Cidr") : "",
				"SourceLine", (json_int_t)a->cidrs[d].line);
			if (str(el, "IpamPoolCidrId"))
				json_object_set_new(
					c, "IpamPoolCidrId",
					json_string(str(el, "IpamPoolCidrId")));
			ipam__doc_add(doc, "IpamPoolCidrs", c);
		}
	}
	return 0;
}

/* The deepest pool whose CIDRs contain `text`. */
static const char *aws_alloc_pool(aws *a, const char *text)
{
	ipam_cidr c, pc;
	const char *id, *best = NULL;
	json_t *list;
	int best_depth = -1;
	if (!text || ipam_cidr_parse(&c, text, NULL))
		return NULL;
	json_object_foreach(a->pool_cidrs, id, list)
	{
		size_t j;
		json_t *v;
		json_t *p = json_object_get(a->pools, id);
		json_t *d = json_object_get(p, "PoolDepth");
		int depth = json_is_integer(d) ? (int)json_integer_value(d) : 1;
		json_array_foreach(list, j, v)
		{
			if (ipam_cidr_parse(&pc, json_string_value(v), NULL) ||
			    !ipam_cidr_contains(&pc, &c) ||
			    ipam_cidr_compare(&pc, &c) == 0)
				continue;
			if (depth > best_depth) {
				best = id;
				best_depth = depth;
			}
		}
	}
	return best;
}

/* The allocation a child pool's CIDR makes in its parent: listed under
 * the parent, named by the child's id (as ipamfs names it), so that the
 * import gives it the AWS id. */
static void aws_child_alloc(aws *a, json_t *doc, json_t *el, size_t line)
{
	const char *child = str(el, "ResourceId");
	json_t *cp = json_object_get(a->pools, child ? child : "");
	const char *parent = str(cp, "SourceIpamPoolId");
	json_t *out;
	if (!parent || !json_object_get(a->pools, parent) || !str(el, "Cidr"))
		return;
	out = json_pack("{s:s, s:s, s:s, s:s, s:i}", "IpamPoolId", parent,
			"Cidr", str(el, "Cidr"), "ResourceType", "ipam-pool",
			"Name", child, "SourceLine", (json_int_t)line);
	if (str(el, "IpamPoolAllocationId"))
		json_object_set_new(
			out, "IpamPoolAllocationId",
			json_string(str(el, "IpamPoolAllocationId")));
	ipam__doc_add(doc, "IpamPoolAllocations", out);
}

static int aws_allocs(aws *a, json_t *doc, ipam_err *err)
{
	for (size_t d = 0; d < a->nallocs; d++) {
		size_t i;
		json_t *el;
		json_array_foreach(a->allocs[d].items, i, el)
		{
			const char *type = str(el, "ResourceType");
			const char *cidr = str(el, "Cidr");
			const char *rid = str(el, "ResourceId");
			const char *id = str(el, "IpamPoolAllocationId");
			const char *pool;
			char desc[IPAM_DESC_MAX + 1];
			if (type &&
			    (ipam__rtype_of(type) == IPAM__RT_IPAM_POOL)) {
				aws_child_alloc(a, doc, el, a->allocs[d].line);
				continue; /* made by the child's CIDR */
			}
			pool = aws_alloc_pool(a, cidr);
			if (!pool)
				return ipam__fail(err, IPAM_EINVAL,
						  "line %zu: allocation %s "
						  "lies in no described pool "
						  "CIDR",
						  a->allocs[d].line,
						  cidr ? cidr : "(no Cidr)");
			if (type && (ipam__rtype_of(type) != IPAM__RT_CUSTOM) &&
			    rid)
				snprintf(desc, sizeof(desc), "%s%s%s %s",
					 str(el, "Description")
						 ? str(el, "Description")
						 : "",
					 str(el, "Description") ? " " : "",
					 type, rid);
			else
				snprintf(desc, sizeof(desc), "%s",
					 str(el, "Description")
						 ? str(el, "Description")
						 : "");
			json_t *out = json_pack(
				"{s:s, s:s, s:s, s:s, s:i}", "IpamPoolId", pool,
				"Cidr", cidr, "ResourceType", "custom",
				"Description", desc, "SourceLine",
				(json_int_t)a->allocs[d].line);
			if (id) {
				json_object_set_new(out, "IpamPoolAllocationId",
						    json_string(id));
				json_object_set_new(out, "Name",
						    json_string(id));
			}
			ipam__doc_add(doc, "IpamPoolAllocations", out);
		}
	}
	return 0;
}

static void aws_ipam(aws *a, json_t *doc)
{
	static const char *const keys[] = {
		"IpamId", "IpamRegion",	 "OperatingRegions",
		"Tier",	  "Description", "EnablePrivateGua",
		"Tags"};
	json_t *src = json_object_get(a->ipam, "ipam"), *el;
	if (!src)
		return;
	el = json_object();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_get(src, keys[i]))
			json_object_set(el, keys[i],
					json_object_get(src, keys[i]));
	json_object_set_new(doc, "Ipam", el);
}

static void aws_free(aws *a)
{
	for (size_t i = 0; i < a->ncidrs; i++) {
		json_decref(a->cidrs[i].items);
		free(a->cidrs[i].pool);
	}
	for (size_t i = 0; i < a->nallocs; i++)
		json_decref(a->allocs[i].items);
	free(a->cidrs);
	free(a->allocs);
	json_decref(a->ipam);
	json_decref(a->scopes);
	json_decref(a->pools);
	json_decref(a->pool_cidrs);
	json_decref(a->names);
}

int ipam__read_aws(const char *text, size_t len, json_t **out, ipam_err *err)
{
	aws a = {json_object(), json_object(), json_object(), NULL, NULL, 0, 0,
		 json_object(), json_object()};
	json_t *doc = ipam__doc_new();
	int rc = each_doc(text, len, aws_doc, &a, err);
	if (rc == 0) {
		aws_ipam(&a, doc);
		aws_child_cidrs(&a);
		rc = aws_name_scopes(&a, doc, err);
	}
	if (rc == 0)
		rc = aws_pools(&a, doc, err);
	if (rc == 0)
		rc = aws_cidrs(&a, doc, err);
	if (rc == 0)
		rc = aws_allocs(&a, doc, err);
	aws_free(&a);
	if (rc) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

/* ---- NetBox ---- */

typedef struct netbox {
	ipam__prefix *items;
	size_t n, cap;
	json_t *vrfs; /* name -> description */
} netbox;

/* A nested object's "name" (or "slug", or the string itself). */
static const char *nb_name(json_t *v, const char *key)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_object(v)) {
		const char *s = str(v, key);
		return s ? s : str(v, "name");
	}
	return "";
}

static void nb_tag(ipam__prefix *p, const char *key, const char *value)
{
	if (!value || !*value)
		return;
	if (!p->tags)
		p->tags = json_object();
	json_object_set_new(p->tags, key, json_string(value));
}

static int nb_prefix(netbox *nb, json_t *el, size_t line, ipam_err *err)
{
	const char *text = str(el, "prefix");
	const char *status = nb_name(json_object_get(el, "status"), "value");
	json_t *vrf = json_object_get(el, "vrf");
	ipam_err why = {IPAM_OK, ""};
	ipam_cidr c;
	ipam__prefix *p;
	if (!text || ipam_cidr_parse(&c, text, &why))
		return ipam__fail(err, IPAM_EINVAL,
				  "line %zu: prefix '%.64s': %s", line,
				  text ? text : "", text ? why.msg : "missing");
	if (!strcmp(status, "deprecated"))
		return 0;
	if (*status && strcmp(status, "container") &&
	    strcmp(status, "active") && strcmp(status, "reserved"))
		return ipam__fail(err, IPAM_EINVAL,
				  "line %zu: prefix %s: unknown status "
				  "'%.32s'",
				  line, text, status);
	if (nb->n == nb->cap) {
		size_t ncap = nb->cap ? nb->cap * 2 : 64;
		ipam__prefix *np = realloc(nb->items, ncap * sizeof(*np));
		if (!np)
			return ipam__fail(err, IPAM_ENOMEM, "out of memory");
		nb->items = np;
		nb->cap = ncap;
	}
	p = &nb->items[nb->n++];
	memset(p, 0, sizeof(*p));
	p->cidr = c;
	p->line = line;
	p->scope = ipam__strdup(json_is_object(vrf) ? nb_name(vrf, "name")
						    : "private");
	p->name = ipam__strdup("");
	p->description = ipam__strdup(
		str(el, "description") ? str(el, "description") : "");
	p->is_pool = !strcmp(status, "container") ||
		     json_is_true(json_object_get(el, "is_pool"));
	nb_tag(p, "status", status);
	nb_tag(p, "role", nb_name(json_object_get(el, "role"), "name"));
	nb_tag(p, "tenant", nb_name(json_object_get(el, "tenant"), "name"));
	nb_tag(p, "site",
	       nb_name(json_object_get(el, json_object_get(el, "site")
						   ? "site"
						   : "scope"),
		       "name"));
	nb_tag(p, "vlan", nb_name(json_object_get(el, "vlan"), "name"));
	size_t i;
	json_t *t;
	ipam__buf tags = {0};
	json_array_foreach(json_object_get(el, "tags"), i, t) ipam__buf_printf(
		&tags, "%s%s", i ? "," : "", nb_name(t, "slug"));
	if (tags.data)
		nb_tag(p, "netbox-tags", tags.data);
	free(tags.data);
	if (!p->scope || !p->name || !p->description)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	return 0;
}

static int nb_doc(void *ctx, json_t *doc, size_t line, ipam_err *err)
{
	netbox *nb = ctx;
	json_t *list = json_is_array(doc) ? doc
					  : json_object_get(doc, "results");
	size_t i;
	json_t *el;
	if (!json_is_array(list))
		return ipam__fail(err, IPAM_EINVAL,
				  "line %zu: a JSON document without "
				  "\"results\" (expected NetBox's "
				  "/api/ipam/prefixes/ or /api/ipam/vrfs/)",
				  line);
	json_array_foreach(list, i, el)
	{
		int rc;
		if (json_object_get(el, "prefix"))
			rc = nb_prefix(nb, el, line, err);
		else if (str(el, "name") && json_object_get(el, "rd"))
			rc = json_object_set_new(
				     nb->vrfs, str(el, "name"),
				     json_string(
					     str(el, "description") &&
							     *str(el,
								  "description")
						     ? str(el, "description")
					     : str(el, "rd") ? str(el, "rd")
							     : ""))
				     ? IPAM_ENOMEM
				     : 0;
		else
			rc = ipam__fail(err, IPAM_EINVAL,
					"line %zu: result %zu is neither a "
					"prefix nor a VRF",
					line, i + 1);
		if (rc)
			return rc;
	}
	return 0;
}

int ipam__read_netbox_json(const char *text, size_t len, json_t **out,
			   ipam_err *err)
{
	netbox nb = {NULL, 0, 0, json_object()};
	json_t *doc = NULL, *v;
	const char *name;
	int rc = each_doc(text, len, nb_doc, &nb, err);
	if (rc == 0)
		rc = ipam__prefixes_to_doc(nb.items, nb.n, &doc, err);
	if (rc == 0) {
		json_t *scopes = json_object_get(doc, "IpamScopes"), *s;
		size_t i;
		json_array_foreach(scopes, i, s)
		{
			const char *d = str(nb.vrfs, str(s, "Name"));
			json_t *desc = json_object_get(nb.vrfs, str(s, "Name"));
			(void)d;
			if (desc)
				json_object_set(s, "Description", desc);
			json_object_del(nb.vrfs, str(s, "Name"));
		}
		json_object_foreach(nb.vrfs, name, v)
			ipam__doc_add(doc, "IpamScopes",
				      json_pack("{s:s, s:s, s:O}", "Name", name,
						"IpamScopeType", "private",
						"Description", v));
	}
	ipam__prefixes_free(nb.items, nb.n);
	json_decref(nb.vrfs);
	if (rc) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}
