/*
 * import_tree.c - the document of a list of prefixes (NetBox, phpIPAM,
 * plain CSV), built by containment.
 *
 * Per scope, the prefixes are sorted by address; each one's parent is its
 * explicit parent (phpIPAM master subnet, CSV `parent`), or else the
 * smallest prefix that contains it. A prefix is a pool when it is marked
 * as one (NetBox container or is_pool), has children, or has no parent (a
 * top-level pool); otherwise it is an allocation of its parent pool. A
 * pool under another pool is its child pool, its prefix provisioned from
 * the parent. The document's references are paths (not ipamfs ids), so
 * every object gets a new id.
 */
#include <stdlib.h>
#include <string.h>

#include "io.h"

json_t *ipam__doc_new(void)
{
	return json_pack("{s:i, s:[], s:[], s:[], s:[]}", "IpamfsExport",
			 IPAM_EXPORT_VERSION, "IpamScopes", "IpamPools",
			 "IpamPoolCidrs", "IpamPoolAllocations");
}

void ipam__doc_add(json_t *doc, const char *key, json_t *elem)
{
	json_t *arr = json_object_get(doc, key);
	if (!arr) {
		arr = json_array();
		json_object_set_new(doc, key, arr);
	}
	json_array_append_new(arr, elem);
}

void ipam__prefixes_free(ipam__prefix *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++) {
		free(list[i].scope);
		free(list[i].name);
		free(list[i].description);
		free(list[i].parent);
		json_decref(list[i].tags);
	}
	free(list);
}

typedef struct node {
	ipam__prefix *p;
	struct node *parent;
	size_t children;
	bool pool;
	char *path; /* pools */
} node;

static int node_cmp(const void *a, const void *b)
{
	const node *x = a, *y = b;
	int c = strcmp(x->p->scope, y->p->scope);
	return c ? c : ipam_cidr_compare(&x->p->cidr, &y->p->cidr);
}

static int fail_line(ipam_err *err, size_t line, const char *fmt, const char *a,
		     const char *b)
{
	char msg[IPAM_ERR_MSG_MAX];
	snprintf(msg, sizeof(msg), fmt, a, b);
	return ipam__fail(err, IPAM_EINVAL, "line %zu: %s", line, msg);
}

/* The explicit parent of n: a prefix of the same scope whose CIDR text or
 * name is n's parent. */
static node *explicit_parent(node *nodes, size_t count, node *n)
{
	ipam_cidr c;
	bool is_cidr = ipam_cidr_parse(&c, n->p->parent, NULL) == 0;
	for (size_t i = 0; i < count; i++) {
		if (strcmp(nodes[i].p->scope, n->p->scope) || &nodes[i] == n)
			continue;
		if (is_cidr ? ipam_cidr_compare(&c, &nodes[i].p->cidr) == 0
			    : !strcmp(nodes[i].p->name, n->p->parent))
			return &nodes[i];
	}
	return NULL;
}

/* Parents by containment (a stack over the sorted prefixes). */
static int link_parents(node *nodes, size_t n, ipam_err *err)
{
	node **stack = calloc(n + 1, sizeof(*stack));
	size_t depth = 0;
	if (!stack)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		node *x = &nodes[i];
		char a[IPAM_CIDR_STRLEN], b[IPAM_CIDR_STRLEN];
		if (i && !node_cmp(&nodes[i - 1], x)) {
			ipam_cidr_format(&x->p->cidr, a);
			free(stack);
			return fail_line(err, x->p->line,
					 "%s appears twice in scope '%s'", a,
					 x->p->scope);
		}
		while (depth &&
		       (strcmp(stack[depth - 1]->p->scope, x->p->scope) ||
			!ipam_cidr_contains(&stack[depth - 1]->p->cidr,
					    &x->p->cidr)))
			depth--;
		x->parent = depth ? stack[depth - 1] : NULL;
		if (x->p->parent && *x->p->parent) {
			node *e = explicit_parent(nodes, n, x);
			if (!e) {
				free(stack);
				return fail_line(err, x->p->line,
						 "parent '%s' is not in the "
						 "file%s",
						 x->p->parent, "");
			}
			if (!ipam_cidr_contains(&e->p->cidr, &x->p->cidr)) {
				ipam_cidr_format(&x->p->cidr, a);
				ipam_cidr_format(&e->p->cidr, b);
				free(stack);
				return fail_line(err, x->p->line,
						 "%s does not lie inside its "
						 "parent %s",
						 a, b);
			}
			x->parent = e;
		}
		stack[depth++] = x;
	}
	free(stack);
	return 0;
}

static void name_of(const ipam__prefix *p, char out[IPAM_NAME_MAX + 1])
{
	if (p->name && *p->name)
		snprintf(out, IPAM_NAME_MAX + 1, "%s", p->name);
	else
		ipam_cidr_format_filename(&p->cidr, out);
}

static json_t *tags_array(json_t *tags)
{
	json_t *list = json_array(), *v;
	const char *k;
	json_object_foreach(tags, k, v) json_array_append_new(
		list, json_pack("{s:s, s:s}", "Key", k, "Value",
				json_string_value(v)));
	return list;
}

/* Pools first (paths need parents' paths), parents before children: the
 * sorted order already puts a container before what it contains. */
static int emit_pool(json_t *doc, node *x, ipam_err *err)
{
	char name[IPAM_NAME_MAX + 1], text[IPAM_CIDR_STRLEN];
	json_t *pool;
	int len;
	name_of(x->p, name);
	if (x->parent)
		len = asprintf(&x->path, "%s/pools/%s", x->parent->path, name);
	else
		len = asprintf(&x->path, "scopes/%s/pools/%s", x->p->scope,
			       name);
	if (len < 0)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	pool = json_pack("{s:s, s:s, s:s, s:i}", "IpamPoolId", x->path, "Path",
			 x->path, "AddressFamily",
			 ipam_family_name(x->p->cidr.family), "SourceLine",
			 (json_int_t)x->p->line);
	if (x->p->description)
		json_object_set_new(pool, "Description",
				    json_string(x->p->description));
	if (x->p->tags)
		json_object_set_new(pool, "Tags", tags_array(x->p->tags));
	ipam__doc_add(doc, "IpamPools", pool);
	ipam_cidr_format(&x->p->cidr, text);
	ipam__doc_add(doc, "IpamPoolCidrs",
		      json_pack("{s:s, s:s, s:i}", "IpamPoolId", x->path,
				"Cidr", text, "SourceLine",
				(json_int_t)x->p->line));
	return 0;
}

/* An allocation's description carries what it cannot hold as tags. */
static json_t *alloc_description(const ipam__prefix *p)
{
	ipam__buf b = {0};
	const char *k;
	json_t *v;
	const char *sep = p->description && *p->description ? " [" : "[";
	if (p->description)
		ipam__buf_printf(&b, "%s", p->description);
	if (p->tags && json_object_size(p->tags)) {
		ipam__buf_printf(&b, "%s", sep);
		sep = "";
		json_object_foreach(p->tags, k, v)
		{
			const char *s = json_string_value(v);
			ipam__buf_printf(&b, "%s%s%s%s", sep, k, *s ? "=" : "",
					 s);
			sep = " ";
		}
		ipam__buf_printf(&b, "]");
	}
	json_t *out = json_string(b.data ? b.data : "");
	free(b.data);
	return out;
}

static int emit_alloc(json_t *doc, node *x)
{
	char name[IPAM_NAME_MAX + 1], text[IPAM_CIDR_STRLEN];
	name_of(x->p, name);
	ipam_cidr_format(&x->p->cidr, text);
	ipam__doc_add(doc, "IpamPoolAllocations",
		      json_pack("{s:s, s:s, s:s, s:s, s:o, s:i}", "IpamPoolId",
				x->parent->path, "Cidr", text, "ResourceType",
				"custom", "Name", name, "Description",
				alloc_description(x->p), "SourceLine",
				(json_int_t)x->p->line));
	return 0;
}

static int emit_scopes(json_t *doc, node *nodes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i && !strcmp(nodes[i].p->scope, nodes[i - 1].p->scope))
			continue;
		if (!strcmp(nodes[i].p->scope, "private"))
			continue;
		ipam__doc_add(doc, "IpamScopes",
			      json_pack("{s:s, s:s}", "Name", nodes[i].p->scope,
					"IpamScopeType", "private"));
	}
	return 0;
}

int ipam__prefixes_to_doc(ipam__prefix *list, size_t n, json_t **out,
			  ipam_err *err)
{
	node *nodes = calloc(n + 1, sizeof(*nodes));
	json_t *doc = ipam__doc_new();
	int rc = 0;
	if (!nodes || !doc) {
		free(nodes);
		json_decref(doc);
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		nodes[i].p = &list[i];
	qsort(nodes, n, sizeof(*nodes), node_cmp);
	rc = link_parents(nodes, n, err);
	/* explicit parents were found by pointer into the sorted array */
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (nodes[i].parent)
			nodes[i].parent->children++;
	for (size_t i = 0; rc == 0 && i < n; i++)
		nodes[i].pool = !nodes[i].p->force_leaf &&
				(nodes[i].p->is_pool || nodes[i].children ||
				 !nodes[i].parent);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		node *x = &nodes[i];
		if (!x->parent && !x->pool) {
			char a[IPAM_CIDR_STRLEN];
			ipam_cidr_format(&x->p->cidr, a);
			rc = fail_line(err, x->p->line,
				       "%s is not a pool and lies in no pool "
				       "of scope '%s'",
				       a, x->p->scope);
		} else if (x->parent && !x->parent->pool) {
			char a[IPAM_CIDR_STRLEN];
			ipam_cidr_format(&x->p->cidr, a);
			rc = fail_line(err, x->p->line,
				       "%s lies in a prefix that is not a "
				       "pool%s",
				       a, "");
		}
	}
	if (rc == 0)
		emit_scopes(doc, nodes, n);
	/* parents come first in the sorted order */
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (nodes[i].pool)
			rc = emit_pool(doc, &nodes[i], err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (!nodes[i].pool)
			rc = emit_alloc(doc, &nodes[i]);
	for (size_t i = 0; i < n; i++)
		free(nodes[i].path);
	free(nodes);
	if (rc) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}
