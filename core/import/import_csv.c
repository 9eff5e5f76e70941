/*
 * import_csv.c - the CSV formats: NetBox's prefix export, phpIPAM's subnet
 * export sheet, and the plain `cidr,name,description,parent,tags` form;
 * and the detection of every import format from the content.
 *
 * CSV is read as RFC 4180 (quoted fields, "" inside quotes, line breaks
 * inside quotes, CRLF or LF); a header whose only separator is ';' (a
 * spreadsheet in a comma-decimal locale) is read with ';'. Column names
 * are matched without case, with spaces as '_' ("Is a pool" = is_a_pool).
 * Each row becomes an ipam__prefix and import_tree.c builds the document.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

typedef struct csv {
	const char *t;
	size_t n, pos, line;
	char sep;
} csv;

/* One record: its fields (malloc'd) and the line it starts on. 1 when a
 * record was read, 0 at the end, <0 on error. */
static int csv_record(csv *c, ipam_strlist *out, size_t *line, ipam_err *err)
{
	ipam__buf f = {0};
	memset(out, 0, sizeof(*out));
	while (c->pos < c->n &&
	       (c->t[c->pos] == '\n' || c->t[c->pos] == '\r')) {
		c->line += c->t[c->pos] == '\n';
		c->pos++;
	}
	if (c->pos >= c->n)
		return 0;
	*line = c->line;
	for (;;) {
		bool quoted = false;
		f.len = 0;
		ipam__buf_add(&f, "", 0);
		if (c->pos < c->n && c->t[c->pos] == '"') {
			quoted = true;
			c->pos++;
			for (;;) {
				if (c->pos >= c->n) {
					free(f.data);
					ipam_strlist_free(out);
					return ipam__fail(err, IPAM_EINVAL,
							  "line %zu: a quoted "
							  "field is not closed",
							  *line);
				}
				char ch = c->t[c->pos++];
				if (ch == '"') {
					if (c->pos < c->n &&
					    c->t[c->pos] == '"') {
						c->pos++;
					} else {
						break;
					}
				}
				c->line += ch == '\n';
				ipam__buf_add(&f, &ch, 1);
			}
		}
		while (c->pos < c->n && c->t[c->pos] != c->sep &&
		       c->t[c->pos] != '\n' && c->t[c->pos] != '\r') {
			if (quoted) {
				free(f.data);
				ipam_strlist_free(out);
				return ipam__fail(err, IPAM_EINVAL,
						  "line %zu: text after a "
						  "quoted field",
						  c->line);
			}
			ipam__buf_add(&f, &c->t[c->pos++], 1);
		}
		ipam__buf_add(&f, "", 1);
		if (f.failed || ipam__strlist_push(out, f.data)) {
			free(f.data);
			ipam_strlist_free(out);
			return ipam__fail(err, IPAM_ENOMEM, "out of memory");
		}
		if (c->pos < c->n && c->t[c->pos] == c->sep) {
			c->pos++;
			continue;
		}
		break;
	}
	free(f.data);
	return 1;
}

/* Trims spaces in place; lowercases when asked and turns spaces to '_'. */
static char *trim(char *s, bool key)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (key)
		for (char *p = s; *p; p++)
			*p = *p == ' ' ? '_' : (char)tolower((unsigned char)*p);
	return s;
}

typedef struct header {
	ipam_strlist cols;
} header;

static int col(const header *h, const char *name)
{
	for (size_t i = 0; i < h->cols.count; i++)
		if (!strcmp(h->cols.items[i], name))
			return (int)i;
	return -1;
}

static int col_any(const header *h, const char *a, const char *b)
{
	int i = col(h, a);
	return i >= 0 || !b ? i : col(h, b);
}

static const char *field(const ipam_strlist *row, int i)
{
	if (i < 0 || (size_t)i >= row->count)
		return "";
	return trim(row->items[i], false);
}

static int csv_open(csv *c, const char *text, size_t len, header *h,
		    ipam_err *err)
{
	size_t line = 0, eol;
	int rc;
	memset(c, 0, sizeof(*c));
	c->t = text;
	c->n = len;
	c->line = 1;
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		c->pos = 3;
	eol = c->pos;
	while (eol < len && text[eol] != '\n')
		eol++;
	c->sep = memchr(text + c->pos, ',', eol - c->pos) ||
				 !memchr(text + c->pos, ';', eol - c->pos)
			 ? ','
			 : ';';
	rc = csv_record(c, &h->cols, &line, err);
	if (rc <= 0)
		return rc ? rc : ipam__fail(err, IPAM_EINVAL, "no header line");
	for (size_t i = 0; i < h->cols.count; i++) {
		char *k = trim(h->cols.items[i], true);
		memmove(h->cols.items[i], k, strlen(k) + 1);
	}
	return 0;
}

/* ---- detection ---- */

static bool json_has_key(const char *text, size_t len, const char *key)
{
	char quoted[64];
	int n = snprintf(quoted, sizeof(quoted), "\"%s\"", key);
	if (!text || n <= 0)
		return false;
	return memmem(text, len, quoted, (size_t)n) != NULL;
}

static int detect_json(const char *text, size_t len, ipam_import_format *out,
		       ipam_err *err)
{
	static const char *const aws_keys[] = {"Ipams", "IpamScopes",
					       "IpamPools", "IpamPoolCidrs",
					       "IpamPoolAllocations"};
	bool aws = false;
	if (json_has_key(text, len, "IpamfsExport")) {
		*out = IPAM_FORMAT_IPAMFS;
		return 0;
	}
	for (size_t i = 0; i < sizeof(aws_keys) / sizeof(aws_keys[0]); i++)
		aws = aws || json_has_key(text, len, aws_keys[i]);
	bool netbox = json_has_key(text, len, "results") &&
		      (json_has_key(text, len, "prefix") ||
		       json_has_key(text, len, "rd"));
	if (aws && netbox)
		return ipam__fail(err, IPAM_EINVAL,
				  "ambiguous JSON: it has both AWS IPAM keys "
				  "and NetBox's \"results\"");
	if (aws || netbox) {
		*out = aws ? IPAM_FORMAT_AWS : IPAM_FORMAT_NETBOX_JSON;
		return 0;
	}
	return ipam__fail(err, IPAM_EINVAL,
			  "unknown JSON document: expected an ipamfs export "
			  "(\"IpamfsExport\"), the output of aws ec2 "
			  "describe-ipams/describe-ipam-scopes/"
			  "describe-ipam-pools/get-ipam-pool-cidrs/"
			  "get-ipam-pool-allocations, or NetBox's "
			  "/api/ipam/prefixes/ (\"results\")");
}

static int detect_csv(const char *text, size_t len, ipam_import_format *out,
		      ipam_err *err)
{
	csv c;
	header h = {{0}};
	int rc = csv_open(&c, text, len, &h, NULL);
	int found = 0;
	if (rc == 0) {
		if (col(&h, "prefix") >= 0) {
			*out = IPAM_FORMAT_NETBOX_CSV;
			found++;
		}
		if (col(&h, "section") >= 0 && col(&h, "subnet") >= 0) {
			*out = IPAM_FORMAT_PHPIPAM_CSV;
			found++;
		}
		if (col(&h, "cidr") >= 0) {
			*out = IPAM_FORMAT_CSV;
			found++;
		}
	}
	ipam_strlist_free(&h.cols);
	if (found == 1)
		return 0;
	return ipam__fail(err, IPAM_EINVAL,
			  found ? "ambiguous CSV header: it has the columns "
				  "of more than one format (NetBox 'prefix', "
				  "phpIPAM 'Section'+'Subnet', plain 'cidr')"
				: "unknown document: expected an ipamfs export "
				  "or AWS/NetBox JSON, or a CSV whose header "
				  "names NetBox's 'prefix', phpIPAM's "
				  "'Section' and 'Subnet', or 'cidr' (plain "
				  "cidr,name,description,parent,tags)");
}

int ipam__detect_format(const char *text, size_t len, ipam_import_format *out,
			ipam_err *err)
{
	size_t i = 0;
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len && isspace((unsigned char)text[i]))
		i++;
	if (i == len)
		return ipam__fail(err, IPAM_EINVAL,
				  "empty document: expected an ipamfs export, "
				  "AWS or NetBox JSON, or a CSV");
	if (memchr(text, '\0', len))
		return ipam__fail(err, IPAM_EINVAL,
				  "the document contains a NUL byte");
	if (text[i] == '{' || text[i] == '[')
		return detect_json(text + i, len - i, out, err);
	return detect_csv(text, len, out, err);
}

/* ---- rows to prefixes ---- */

typedef struct plist {
	ipam__prefix *items;
	size_t n, cap;
} plist;

static ipam__prefix *plist_add(plist *l)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		ipam__prefix *p = realloc(l->items, ncap * sizeof(*p));
		if (!p)
			return NULL;
		l->items = p;
		l->cap = ncap;
	}
	memset(&l->items[l->n], 0, sizeof(l->items[0]));
	return &l->items[l->n++];
}

static void tag(ipam__prefix *p, const char *key, const char *value)
{
	if (!value || !*value)
		return;
	if (!p->tags)
		p->tags = json_object();
	json_object_set_new(p->tags, key, json_string(value));
}

/* "Global", "" -> private; a VRF/section name otherwise (a scope name). */
static char *scope_name(const char *vrf)
{
	if (!*vrf || !strcasecmp(vrf, "global"))
		return ipam__strdup("private");
	return ipam__strdup(vrf);
}

static bool truthy(const char *s)
{
	return !strcasecmp(s, "true") || !strcmp(s, "1") ||
	       !strcasecmp(s, "yes") || !strcasecmp(s, "y");
}

static int bad_cidr(size_t line, const char *text, const char *why,
		    ipam_err *err)
{
	return ipam__fail(err, IPAM_EINVAL, "line %zu: bad prefix '%.64s': %s",
			  line, text, why);
}

typedef int (*row_fn)(const header *h, const ipam_strlist *row, size_t line,
		      plist *out, ipam_err *err);

static int row_netbox(const header *h, const ipam_strlist *row, size_t line,
		      plist *out, ipam_err *err)
{
	const char *text = field(row, col(h, "prefix"));
	const char *status = field(row, col(h, "status"));
	ipam_err why = {IPAM_OK, ""};
	ipam_cidr c;
	ipam__prefix *p;
	if (ipam_cidr_parse(&c, text, &why))
		return bad_cidr(line, text, why.msg, err);
	if (*status && strcasecmp(status, "container") &&
	    strcasecmp(status, "active") && strcasecmp(status, "reserved") &&
	    strcasecmp(status, "deprecated"))
		return ipam__fail(
			err, IPAM_EINVAL,
			"line %zu: unknown status '%.32s' (container, "
			"active, reserved, deprecated)",
			line, status);
	if (!strcasecmp(status, "deprecated"))
		return 0; /* not in use: not imported */
	if (!(p = plist_add(out)))
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	p->cidr = c;
	p->line = line;
	p->scope = scope_name(field(row, col(h, "vrf")));
	p->name = ipam__strdup("");
	p->description = ipam__strdup(field(row, col(h, "description")));
	p->is_pool = !strcasecmp(status, "container") ||
		     truthy(field(row, col_any(h, "is_pool", "is_a_pool")));
	tag(p, "status", status);
	tag(p, "role", field(row, col(h, "role")));
	tag(p, "tenant", field(row, col(h, "tenant")));
	tag(p, "site", field(row, col_any(h, "site", "scope")));
	tag(p, "vlan", field(row, col(h, "vlan")));
	tag(p, "netbox-tags", field(row, col(h, "tags")));
	if (!p->scope || !p->name || !p->description)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	return 0;
}

static int row_phpipam(const header *h, const ipam_strlist *row, size_t line,
		       plist *out, ipam_err *err)
{
	const char *section = field(row, col(h, "section"));
	const char *subnet = field(row, col(h, "subnet"));
	const char *mask = field(row, col(h, "mask"));
	const char *master = field(row, col(h, "master_subnet"));
	char text[IPAM_CIDR_STRLEN + 8];
	ipam_err why = {IPAM_OK, ""};
	ipam_cidr c, m;
	ipam__prefix *p;
	if (strchr(subnet, '/') || !*mask)
		snprintf(text, sizeof(text), "%s", subnet);
	else
		snprintf(text, sizeof(text), "%s/%s", subnet, mask);
	if (ipam_cidr_parse(&c, text, &why))
		return bad_cidr(line, text, why.msg, err);
	if (!*section)
		return ipam__fail(err, IPAM_EINVAL,
				  "line %zu: a subnet without a Section", line);
	if (!(p = plist_add(out)))
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	p->cidr = c;
	p->line = line;
	p->scope = ipam__strdup(section);
	p->name = ipam__strdup("");
	p->description = ipam__strdup(field(row, col(h, "description")));
	/* "/" is a root subnet; a folder name is not a subnet */
	p->parent = ipam__strdup(ipam_cidr_parse(&m, master, NULL) == 0 ? master
									: "");
	tag(p, "vlan", field(row, col(h, "vlan")));
	tag(p, "vrf", field(row, col(h, "vrf")));
	if (!p->scope || !p->name || !p->description || !p->parent)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	return 0;
}

/* Plain CSV tags: "k=v;k2=v2" (or separated by spaces). */
static int plain_tags(ipam__prefix *p, const char *text, size_t line,
		      ipam_err *err)
{
	char *copy = ipam__strdup(text), *save = NULL;
	if (!copy)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	for (char *t = strtok_r(copy, "; ", &save); t;
	     t = strtok_r(NULL, "; ", &save)) {
		char *eq = strchr(t, '=');
		if (eq)
			*eq = '\0';
		if (!*t) {
			free(copy);
			return ipam__fail(err, IPAM_EINVAL,
					  "line %zu: a tag without a key "
					  "(tags are key=value;key=value)",
					  line);
		}
		if (!p->tags)
			p->tags = json_object();
		json_object_set_new(p->tags, t, json_string(eq ? eq + 1 : ""));
	}
	free(copy);
	return 0;
}

static int row_plain(const header *h, const ipam_strlist *row, size_t line,
		     plist *out, ipam_err *err)
{
	const char *text = field(row, col(h, "cidr"));
	const char *name = field(row, col(h, "name"));
	const char *scope = field(row, col(h, "scope"));
	ipam_err why = {IPAM_OK, ""};
	ipam_cidr c;
	ipam__prefix *p;
	if (ipam_cidr_parse(&c, text, &why))
		return bad_cidr(line, text, why.msg, err);
	if (*name && ipam_name_check(name, &why))
		return ipam__fail(err, IPAM_EINVAL, "line %zu: name: %s", line,
				  why.msg);
	if (!(p = plist_add(out)))
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	p->cidr = c;
	p->line = line;
	p->scope = ipam__strdup(*scope ? scope : "private");
	p->name = ipam__strdup(name);
	p->description = ipam__strdup(field(row, col(h, "description")));
	p->parent = ipam__strdup(field(row, col(h, "parent")));
	if (!p->scope || !p->name || !p->description || !p->parent)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	return plain_tags(p, field(row, col(h, "tags")), line, err);
}

int ipam__read_csv(ipam_import_format fmt, const char *text, size_t len,
		   json_t **out, ipam_err *err)
{
	row_fn fn = fmt == IPAM_FORMAT_NETBOX_CSV    ? row_netbox
		    : fmt == IPAM_FORMAT_PHPIPAM_CSV ? row_phpipam
						     : row_plain;
	csv c;
	header h = {{0}};
	plist list = {0};
	ipam_strlist row;
	size_t line = 0;
	int rc = csv_open(&c, text, len, &h, err);
	/* a writer killed mid-copy leaves a cut line: apply nothing of it */
	if (rc == 0 && len && text[len - 1] != '\n')
		rc = ipam__fail(err, IPAM_EINVAL,
				"the last line does not end with a newline: "
				"the document may be cut short");
	while (rc == 0) {
		int got = csv_record(&c, &row, &line, err);
		if (got <= 0) {
			rc = got;
			break;
		}
		bool blank = row.count == 1 && !*trim(row.items[0], false);
		if (!blank && row.count > h.cols.count)
			rc = ipam__fail(err, IPAM_EINVAL,
					"line %zu: %zu fields, the header has "
					"%zu",
					line, row.count, h.cols.count);
		else if (!blank)
			rc = fn(&h, &row, line, &list, err);
		ipam_strlist_free(&row);
	}
	if (rc == 0)
		rc = ipam__prefixes_to_doc(list.items, list.n, out, err);
	ipam__prefixes_free(list.items, list.n);
	ipam_strlist_free(&h.cols);
	return rc;
}
