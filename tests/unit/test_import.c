/*
 * test_import.c - export and import of libipam (export.c, import*.c):
 * round trip, plan, atomic refusal, prune, rules on imported allocations,
 * format detection and the CSV readers; prefix-list resolvers (settings,
 * rules, targets) go along.
 */
#include <jansson.h>

#include "fixture.h"
#include "ipam_prefixlist.h"

static char *export_of(ipam *db)
{
	char *out = NULL;
	size_t len = 0;
	ipam_err err = {0};
	assert_ok(ipam_export_json(db, &out, &len, &err), err);
	assert_int_equal(strlen(out), len);
	return out;
}

static int import_text(ipam *db, const char *doc, bool plan,
		       ipam_import_result *res, ipam_err *err)
{
	return ipam_import(db, doc, strlen(doc), plan, res, err);
}

/* An IPAM with a bit of everything the export carries. */
static ipam *sample(void)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	int64_t top = mktop(db, "top"), dev;
	const char *pairs[] = {"env=prod"};
	assert_ok(ipam_set_description(db, "lab", &err), err);
	prov_ok(db, top, "10.0.0.0/8");
	dev = mkpool(db, scope_key(db, "private"), top, "dev");
	prov_ok(db, dev, "10.1.0.0/16");
	alloc_cidr_ok(db, dev, "web", "10.1.2.0/24");
	alloc_cidr_ok(db, dev, "tiny", "10.1.3.0/28");
	assert_ok(ipam_pool_set_netmask(db, dev, IPAM_NETMASK_MAX, 24, &err),
		  err);
	assert_ok(ipam_pool_set_required_tags(db, top, pairs, 1, &err), err);
	assert_ok(ipam_tag_set(db, pool_id(db, top), "team", "net \"x\"", &err),
		  err);
	const char *rules[] = {"pool private", "static 192.0.2.0/24"};
	ipam_plist_info info;
	assert_ok(ipam_plist_create(db, "fw", &err), err);
	assert_ok(ipam_plist_set_description(db, "fw", "edge", &err), err);
	assert_ok(ipam_plist_set_rules(db, "fw", rules, 2, &err), err);
	assert_ok(ipam_plist_get(db, "fw", &info, &err), err);
	assert_ok(ipam_tag_set(db, info.id, "team", "netops", &err), err);
	assert_ok(ipam_plist_target_create(db, "fw", "edge", &err), err);
	assert_ok(ipam_plist_target_set_format(db, "fw", "edge", IPAM_PLIST_NFT,
					       &err),
		  err);
	return db;
}

/* The entries of list `name`, one CIDR a line. */
static char *plist_text(ipam *db, const char *name)
{
	ipam_cidr *c = NULL;
	size_t n = 0;
	ipam_err err = {0};
	assert_ok(ipam_plist_entries(db, name, 0, &c, &n, &err), err);
	char *out = calloc(n + 1, IPAM_CIDR_STRLEN + 1), *at = out;
	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		ipam_cidr_format(&c[i], at);
		at += strlen(at);
		*at++ = '\n';
	}
	free(c);
	return out;
}

static void test_round_trip(void **state)
{
	ipam *a = sample(), *b;
	ipam_import_result res;
	ipam_err err = {0};
	char *e1 = export_of(a), *e2, *e3;
	ipam_open_opts opts = fixture_opts();
	/* another IPAM: other ids */
	opts.in_memory = true;
	opts.id_seed = 42;
	assert_ok(ipam_open(&b, NULL, &opts, &err), err);
	e3 = export_of(b);
	assert_ok(import_text(b, e1, true, &res, &err), err);
	assert_non_null(strstr(res.changes,
			       "+ pool scopes/private/pools/top/pools/dev\n"));
	assert_non_null(strstr(res.changes, "+ prefix-list fw\n"));
	ipam_import_result_free(&res);
	e2 = export_of(b);
	assert_string_equal(e2, e3); /* the plan changed nothing */
	free(e2);
	assert_ok(import_text(b, e1, false, &res, &err), err);
	assert_int_equal(res.format, IPAM_FORMAT_IPAMFS);
	assert_int_equal(res.deleted, 0);
	ipam_import_result_free(&res);
	e2 = export_of(b);
	assert_string_equal(e1, e2);
	/* the rule broken after the fact is still flagged after the import */
	int64_t top = 0, dev = 0;
	assert_ok(ipam_pool_lookup(b, scope_key(b, "private"), 0, "top", &top,
				   &err),
		  err);
	assert_ok(ipam_pool_lookup(b, scope_key(b, "private"), top, "dev", &dev,
				   &err),
		  err);
	assert_int_equal(usage(b, dev).noncompliant, 1);
	/* the resolver resolves the same entries; a rule changed since shows
	 * in the plan */
	char *pa = plist_text(a, "fw"), *pb = plist_text(b, "fw");
	assert_string_equal(pa, pb);
	assert_non_null(strstr(pb, "192.0.2.0/24\n"));
	const char *other[] = {"static 198.51.100.0/24"};
	assert_ok(ipam_plist_set_rules(b, "fw", other, 1, &err), err);
	assert_ok(import_text(b, e1, true, &res, &err), err);
	assert_string_equal(res.changes,
			    "~ prefix-list fw rules \"static 198.51.100.0/24\""
			    " -> \"pool private\\nstatic 192.0.2.0/24\"\n");
	ipam_import_result_free(&res);
	free(pa);
	free(pb);
	free(e1);
	free(e2);
	free(e3);
	ipam_free(a);
	ipam_free(b);
}

/* Resources (fields, tags, CIDRs, monitoring, a managed CIDR that broke a
 * rule after it was made) and discoveries survive the round trip; the
 * managed CIDR is an allocation of its pool again, still noncompliant. */
static void test_resources(void **state)
{
	ipam *a = sample(), *b;
	ipam_import_result res;
	ipam_err err = {0};
	ipam_open_opts opts = fixture_opts();
	int64_t priv = scope_key(a, "private"), top = 0, vpc = 0, eip = 0;
	ipam_cidr c, got;
	ipam_resource_cidr *rcs = NULL;
	size_t n = 0;
	char *e1, *e2;
	(void)state;
	assert_ok(ipam_pool_lookup(a, priv, 0, "top", &top, &err), err);
	assert_ok(ipam_resource_create(a, priv, "vpc-1", NULL, &vpc, &err),
		  err);
	assert_ok(ipam_resource_set(a, vpc, IPAM_RESOURCE_NAME, "web", &err),
		  err);
	assert_ok(ipam_resource_set(a, vpc, IPAM_RESOURCE_OWNER, "1234", &err),
		  err);
	assert_ok(ipam_resource_tag_set(a, vpc, "env", "prod", &err), err);
	c = C("10.2.0.0/16");
	assert_ok(ipam_resource_allocate(a, vpc, top, &c, -1, &got, &err), err);
	assert_ok(ipam_resource_tag_remove(a, vpc, "env", &err), err);
	c = C("192.168.0.0/16");
	assert_ok(ipam_resource_cidr_add(a, vpc, &c, &err), err);
	assert_ok(ipam_resource_create(a, priv, "eip-2", NULL, &eip, &err),
		  err);
	assert_ok(ipam_resource_set_ignored(a, eip, true, &err), err);
	assert_ok(ipam_discovery_create(a, "aws", &err), err);
	assert_ok(ipam_discovery_set_locale(a, "aws", "eu-west-1", &err), err);
	e1 = export_of(a);
	assert_non_null(strstr(e1, "\"ResourceId\":\"vpc-1\""));
	assert_non_null(strstr(e1, "\"Name\":\"aws\""));

	opts.in_memory = true;
	opts.id_seed = 42;
	assert_ok(ipam_open(&b, NULL, &opts, &err), err);
	assert_ok(import_text(b, e1, false, &res, &err), err);
	assert_non_null(strstr(res.changes,
			       "+ resource scopes/private/resources/vpc-1\n"));
	assert_non_null(strstr(res.changes, "+ discovery discoveries/aws\n"));
	ipam_import_result_free(&res);
	e2 = export_of(b);
	assert_string_equal(e1, e2);
	free(e2);
	/* the managed CIDR holds space in its pool, flagged noncompliant */
	assert_ok(ipam_resource_lookup(b, scope_key(b, "private"), "vpc-1",
				       &vpc, &err),
		  err);
	assert_ok(ipam_resource_cidrs(b, vpc, &rcs, &n, &err), err);
	assert_int_equal(n, 2);
	assert_string_equal(rcs[0].management, "managed");
	assert_string_equal(rcs[0].compliance, "noncompliant");
	assert_string_equal(rcs[1].management, "unmanaged");
	free(rcs);
	assert_ok(ipam_pool_lookup(b, scope_key(b, "private"), 0, "top", &top,
				   &err),
		  err);
	assert_code(alloc(b, top, "x", -1, "10.2.0.0/24", NULL, &err), err,
		    IPAM_EADDRINUSE, NULL);
	/* the same document again changes nothing */
	assert_ok(import_text(b, e1, true, &res, &err), err);
	assert_int_equal(res.created + res.changed + res.deleted, 0);
	ipam_import_result_free(&res);
	free(e1);
	ipam_free(a);
	ipam_free(b);
}

/* Only the lines of ipam_events_render that allocate (their detail). */
static char *events_of(ipam *db)
{
	char *out = NULL, *keep, *k;
	size_t len = 0;
	ipam_err err = {0};
	assert_ok(ipam_events_render(db, 0, &out, &len, &err), err);
	keep = k = calloc(1, len + 1);
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, "allocate-ipam-pool-cidr"))
			k += sprintf(k, "%s\n", strstr(line, "\"name\""));
	free(out);
	return keep;
}

static int count_of(const char *hay, const char *what)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, what)); p++)
		n++;
	return n;
}

/* The free lines of a pool's map: its free-space index, in address
 * order (one line per maximal free block). */
static char *free_lines(ipam *db, int64_t pool)
{
	char *map = NULL, *out, *o;
	size_t len = 0;
	ipam_err err = {0};
	assert_ok(ipam_render_pool_map(db, pool, &map, &len, &err), err);
	out = o = calloc(1, len + 1);
	for (char *line = strtok(map, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, " free"))
			o += sprintf(o, "%s\n", line);
	free(map);
	return out;
}

/* The history of `cidr` in scope private, as the text table. */
static char *history_of(ipam *db, const char *cidr)
{
	ipam_cidr c;
	ipam_err err = {0};
	char *out = NULL;
	size_t len = 0;
	assert_ok(ipam_cidr_parse(&c, cidr, &err), err);
	assert_ok(ipam_history_query(db, scope_key(db, "private"), &c, 0,
				     INT64_MAX, false, &out, &len, &err),
		  err);
	return out;
}

/* Every allocation's change time must be `want` (ipam_alloc_entries). */
static int changed_is(void *ctx, const ipam_alloc_entry *e)
{
	return e->changed == *(const int64_t *)ctx ? 0 : IPAM_EIO;
}

/* The change times of the pool, its scope, the IPAM and the prefix list
 * `fw` equal the newest allocation's; every allocation of the pool has
 * that time when `all`. */
static void times_follow(ipam *db, int64_t pool, bool all)
{
	ipam_err err = {0};
	ipam_strlist names = {0};
	ipam_alloc_info last;
	ipam_plist_info fw;
	int64_t t_alloc = 0, t_pool = 0, t_scope = 0, t_ipam = 0, t_fw = 0;
	assert_ok(ipam_alloc_list(db, pool, &names, &err), err);
	assert_true(names.count > 0);
	/* the newest allocation: the one made last has the greatest key */
	int64_t newest = 0;
	for (size_t i = 0; i < names.count; i++) {
		assert_ok(ipam_alloc_get(db, pool, names.items[i], &last, &err),
			  err);
		if (last.key > newest)
			newest = last.key;
	}
	ipam_strlist_free(&names);
	assert_ok(
		ipam_changed(db, IPAM_KIND_ALLOCATION, newest, &t_alloc, &err),
		err);
	assert_ok(ipam_changed(db, IPAM_KIND_POOL, pool, &t_pool, &err), err);
	assert_ok(ipam_changed(db, IPAM_KIND_SCOPE, scope_key(db, "private"),
			       &t_scope, &err),
		  err);
	assert_ok(ipam_changed(db, IPAM_KIND_IPAM, 0, &t_ipam, &err), err);
	assert_ok(ipam_plist_get(db, "fw", &fw, &err), err);
	assert_ok(ipam_changed(db, IPAM_KIND_PREFIX_LIST, fw.key, &t_fw, &err),
		  err);
	assert_true(t_alloc > 0);
	assert_true(t_pool == t_alloc);
	assert_true(t_scope == t_alloc);
	assert_true(t_ipam == t_alloc);
	assert_true(t_fw == t_alloc);
	if (all)
		assert_ok(ipam_alloc_entries(db, pool, changed_is, &t_alloc,
					     &err),
			  err);
}

/*
 * The bulk path (alloc_bulk.c) leaves exactly the allocator state that
 * single allocations of the same CIDRs leave: free-space index (the map's
 * free blocks), counters, and the blocks the next allocations get; the
 * change log, the history records, the overlap index, the prefix lists
 * that follow the scope and the change times (the rows of one import all
 * carry its time, as its pool, scope and IPAM do).
 */
static void test_bulk_equals_single(void **state)
{
	ipam *a = open_mem(), *b = open_mem();
	ipam_import_result res;
	ipam_err err = {0};
	char *doc = NULL;
	size_t doclen = 0;
	FILE *f = open_memstream(&doc, &doclen);
	int64_t pa = 0, pb = mktop(b, "p");
	char cidrs[400][IPAM_CIDR_STRLEN];
	uint32_t at = 0;
	int n = 0;
	const char *rules[] = {"pool private"};
	(void)state;
	/* a prefix list that follows every allocation of the scope */
	for (int k = 0; k < 2; k++) {
		ipam *db = k ? b : a;
		assert_ok(ipam_plist_create(db, "fw", &err), err);
		assert_ok(ipam_plist_set_rules(db, "fw", rules, 1, &err), err);
	}
	prov_ok(b, pb, "10.0.0.0/16");
	prov_ok(b, pb, "10.9.0.0/23");
	/* blocks of /22 to /32, aligned, with gaps of 0-2 blocks */
	for (int i = 0; n < 400; i++) {
		int len = 22 + (i * 7) % 11;
		uint32_t size = 1u << (32 - len);
		at = (at + size - 1) & ~(size - 1);
		at += size * (uint32_t)(i % 3);
		if (at + size > 65536)
			break;
		snprintf(cidrs[n++], IPAM_CIDR_STRLEN, "10.0.%u.%u/%d", at >> 8,
			 at & 255, len);
		at += size;
	}
	snprintf(cidrs[n++], IPAM_CIDR_STRLEN, "10.9.1.128/25");
	snprintf(cidrs[n++], IPAM_CIDR_STRLEN, "10.9.0.0/24");
	fprintf(f,
		"{\"IpamfsExport\": 1,\n\"IpamPools\": [\n"
		"{\"IpamPoolId\": \"p\", \"Path\": \"scopes/private/pools/p\","
		" \"AddressFamily\": \"ipv4\"}],\n"
		"\"IpamPoolCidrs\": [\n"
		"{\"IpamPoolId\": \"p\", \"Cidr\": \"10.0.0.0/16\"},\n"
		"{\"IpamPoolId\": \"p\", \"Cidr\": \"10.9.0.0/23\"}],\n"
		"\"IpamPoolAllocations\": [");
	/* the document in another order than the addresses: odd ones first */
	for (int k = 0; k < 2; k++)
		for (int i = k; i < n; i += 2) {
			fprintf(f,
				"%s\n{\"IpamPoolId\": \"p\", \"Cidr\": "
				"\"%s\", \"Name\": \"a%d\"}",
				k || i > 1 ? "," : "", cidrs[i], i);
		}
	fprintf(f, "]}\n");
	fclose(f);
	for (int k = 0; k < 2; k++)
		for (int i = k; i < n; i += 2) {
			char name[16];
			snprintf(name, sizeof(name), "a%d", i);
			alloc_cidr_ok(b, pb, name, cidrs[i]);
		}
	assert_ok(import_text(a, doc, false, &res, &err), err);
	assert_int_equal(res.created, (size_t)n + 3);
	ipam_import_result_free(&res);
	free(doc);
	assert_ok(
		ipam_pool_lookup(a, scope_key(a, "private"), 0, "p", &pa, &err),
		err);
	char *fa = free_lines(a, pa), *fb = free_lines(b, pb);
	assert_string_equal(fa, fb);
	free(fa);
	free(fb);
	ipam_pool_usage ua = usage(a, pa), ub = usage(b, pb);
	assert_true(ua.total == ub.total && ua.assigned == ub.assigned &&
		    ua.available == ub.available);
	assert_int_equal(ua.allocation_count, n);
	assert_int_equal(ua.allocation_count, ub.allocation_count);
	assert_int_equal(ua.compliant, ub.compliant);
	assert_int_equal(ua.largest_free_prefix, ub.largest_free_prefix);
	/* one change-log event per allocation, with the same detail */
	char *ea = events_of(a), *eb = events_of(b);
	assert_int_equal(count_of(ea, "\n"), count_of(eb, "\n"));
	assert_int_equal(count_of(ea, "\n"), n);
	assert_string_equal(ea, eb);
	free(ea);
	free(eb);
	/* the prefix list holds the same entries */
	char *la = plist_text(a, "fw"), *lb = plist_text(b, "fw");
	assert_int_equal(count_of(la, "\n"), n);
	assert_string_equal(la, lb);
	free(la);
	free(lb);
	/* one open history record per allocation, with its name */
	for (int i = 0; i < n; i += 37) {
		char name[24];
		snprintf(name, sizeof(name), " a%d\n", i);
		for (int k = 0; k < 2; k++) {
			char *h = history_of(k ? b : a, cidrs[i]);
			assert_int_equal(count_of(h, "\n"), 2); /* head, row */
			assert_non_null(strstr(h, " - "));	/* open */
			assert_non_null(strstr(h, " custom "));
			assert_non_null(strstr(h, name));
			free(h);
		}
	}
	/* change times: the import's one time everywhere; one by one, the
	 * last allocation's time on its pool, scope, IPAM and list */
	times_follow(a, pa, true);
	times_follow(b, pb, false);
	/* the next allocations land on the same blocks */
	for (int len = 32; len >= 20; len--) {
		char ga[IPAM_CIDR_STRLEN], gb[IPAM_CIDR_STRLEN];
		int ra = alloc(a, pa, NULL, len, NULL, ga, &err);
		int rb = alloc(b, pb, NULL, len, NULL, gb, &err);
		assert_int_equal(ra, rb);
		assert_string_equal(ga, gb);
	}
	/* the change-time triggers are back after the import */
	times_follow(a, pa, false);
	ipam_free(a);
	ipam_free(b);
}

/* A batch that the bulk path cannot prove (an id taken elsewhere) goes
 * one by one, with the change-time triggers back: the rows, their pool,
 * scope, IPAM and prefix list carry the import's time. */
static void test_bulk_fallback_times(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	ipam_import_result res;
	ipam_alloc_info old;
	const char *rules[] = {"pool private"};
	int64_t top = mktop(db, "old"), p = 0;
	char *doc = NULL;
	(void)state;
	assert_ok(ipam_plist_create(db, "fw", &err), err);
	assert_ok(ipam_plist_set_rules(db, "fw", rules, 1, &err), err);
	prov_ok(db, top, "10.0.0.0/16");
	alloc_cidr_ok(db, top, "x", "10.0.1.0/24");
	assert_ok(ipam_alloc_get(db, top, "x", &old, &err), err);
	assert_true(
		asprintf(&doc,
			 "{\"IpamfsExport\": 1,\n\"IpamPools\": [\n"
			 "{\"IpamPoolId\": \"p\", \"Path\": "
			 "\"scopes/private/pools/new\", \"AddressFamily\":"
			 " \"ipv4\"}],\n\"IpamPoolCidrs\": [\n"
			 "{\"IpamPoolId\": \"p\", \"Cidr\": "
			 "\"192.168.0.0/16\"}],\n\"IpamPoolAllocations\": [\n"
			 "{\"IpamPoolId\": \"p\", \"Cidr\": "
			 "\"192.168.1.0/24\", \"Name\": \"a\"},\n"
			 "{\"IpamPoolId\": \"p\", \"Cidr\": "
			 "\"192.168.2.0/24\", \"Name\": \"b\","
			 " \"IpamPoolAllocationId\": \"%s\"}]}\n",
			 old.id) > 0);
	assert_ok(import_text(db, doc, false, &res, &err), err);
	assert_int_equal(res.created, 4);
	ipam_import_result_free(&res);
	free(doc);
	assert_ok(ipam_pool_lookup(db, scope_key(db, "private"), 0, "new", &p,
				   &err),
		  err);
	times_follow(db, p, true);
	char *l = plist_text(db, "fw");
	assert_string_equal(l, "10.0.1.0/24\n192.168.1.0/24\n192.168.2.0/24\n");
	free(l);
	ipam_free(db);
}

/* An allocation element read without jansson (alloc_fast: the export's
 * flat form) and the same element in a form only jansson reads (an escape
 * in its name, a member the import does not know) give the same IPAM. */
static void test_fast_equals_general(void **state)
{
	ipam *src = sample(), *a = open_mem(), *b = open_mem();
	ipam_import_result res;
	ipam_err err = {0};
	char *doc, *other, *o;
	const char *at;
	size_t len;
	(void)state;
	for (int i = 0; i < 40; i++) {
		char name[16], cidr[32];
		int64_t top = 0, dev = 0;
		assert_ok(ipam_pool_lookup(src, scope_key(src, "private"), 0,
					   "top", &top, &err),
			  err);
		assert_ok(ipam_pool_lookup(src, scope_key(src, "private"), top,
					   "dev", &dev, &err),
			  err);
		snprintf(name, sizeof(name), "h%d", i);
		snprintf(cidr, sizeof(cidr), "10.1.%d.0/24", 100 + i);
		alloc_cidr_ok(src, dev, name, cidr);
	}
	doc = export_of(src);
	len = strlen(doc);
	/* every allocation's name begins with an escape; every other gets a
	 * member of its own */
	other = o = calloc(1, 2 * len + 1);
	assert_non_null(other);
	at = strstr(doc, "\"IpamPoolAllocations\"");
	assert_non_null(at);
	memcpy(o, doc, (size_t)(at - doc));
	o += at - doc;
	for (int k = 0; *at; k++) {
		if (!strncmp(at, "\"Name\":\"", 8)) {
			o += sprintf(o, "\"Name\":\"\\u%04x", (unsigned)at[8]);
			at += 9;
		} else if (!strncmp(at, "{\"IpamPoolId\"", 13) && k % 2) {
			o += sprintf(o, "{\"Ipamfs\":[1],");
			at++;
		} else {
			*o++ = *at++;
		}
	}
	assert_ok(import_text(a, doc, false, &res, &err), err);
	ipam_import_result_free(&res);
	assert_ok(import_text(b, other, false, &res, &err), err);
	ipam_import_result_free(&res);
	char *ea = export_of(a), *eb = export_of(b);
	assert_string_equal(ea, doc);
	assert_string_equal(eb, doc);
	free(ea);
	free(eb);
	free(doc);
	free(other);
	ipam_free(src);
	ipam_free(a);
	ipam_free(b);
}

/* A batched row that the model refuses comes before a later element that
 * fails to read: the first in document order is the refusal. */
static void test_bulk_refusal_order(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	ipam_import_result res;
	const char *doc =
		"{\"IpamfsExport\": 1,\n"
		"\"IpamPools\": [\n"
		"{\"IpamPoolId\": \"p\", \"Path\": \"scopes/private/pools/n\","
		" \"AddressFamily\": \"ipv4\"}],\n"
		"\"IpamPoolCidrs\": [\n"
		"{\"IpamPoolId\": \"p\", \"Cidr\": \"192.168.0.0/16\"}],\n"
		"\"IpamPoolAllocations\": [\n"
		"{\"IpamPoolId\": \"p\", \"Cidr\": \"192.168.1.0/24\", "
		"\"Name\": "
		"\"a\"},\n"
		"{\"IpamPoolId\": \"p\", \"Cidr\": \"192.168.9.0/24\", "
		"\"Name\": "
		"\"b\"},\n"
		"{\"IpamPoolId\": \"p\", \"Cidr\": \"192.168.1.0/25\", "
		"\"Name\": "
		"\"c\"},\n"
		"{\"IpamPoolId\": \"p\", \"Cidr\": \"192.168.300.0/24\", "
		"\"Name\": \"d\"}]}\n";
	(void)state;
	assert_code(import_text(db, doc, false, &res, &err), err,
		    IPAM_EADDRINUSE, "line 9: allocation");
	ipam_import_result_free(&res);
	assert_int_equal(ipam_pool_lookup(db, scope_key(db, "private"), 0, "n",
					  &(int64_t){0}, &err),
			 IPAM_ENOENT);
	ipam_free(db);
}

static void test_refusal_applies_nothing(void **state)
{
	ipam *db = sample();
	ipam_err err = {0};
	ipam_import_result res;
	char *before = export_of(db), *after;
	const char *doc =
		"{\"IpamfsExport\": 1,\n"
		"\"IpamPools\": [\n"
		"{\"IpamPoolId\": \"p\", \"Path\": "
		"\"scopes/private/pools/new\","
		" \"AddressFamily\": \"ipv4\"}],\n"
		"\"IpamPoolCidrs\": [\n"
		"{\"IpamPoolId\": \"p\", \"Cidr\": \"192.168.0.0/16\"}],\n"
		"\"IpamPoolAllocations\": [\n"
		"{\"IpamPoolId\": \"p\", \"Cidr\": \"192.168.1.0/24\", "
		"\"Name\": "
		"\"a\"},\n"
		"{\"IpamPoolId\": \"p\", \"Cidr\": \"192.168.1.128/25\", "
		"\"Name\": "
		"\"b\"}]}\n";
	assert_code(import_text(db, doc, false, &res, &err), err,
		    IPAM_EADDRINUSE, NULL);
	assert_non_null(strstr(res.changes, "! refused EADDRINUSE: line 8: "));
	ipam_import_result_free(&res);
	after = export_of(db);
	assert_string_equal(before, after);
	free(after);
	/* the plan meets the same refusal */
	assert_code(import_text(db, doc, true, &res, &err), err,
		    IPAM_EADDRINUSE, "line 8: allocation");
	assert_non_null(
		strstr(res.changes, "+ pool scopes/private/pools/new\n"));
	ipam_import_result_free(&res);
	after = export_of(db);
	assert_string_equal(before, after);
	free(after);
	free(before);
	ipam_free(db);
}

static void test_prune(void **state)
{
	ipam *db = sample();
	ipam_err err = {0};
	ipam_import_result res;
	char *doc = export_of(db), *pruned;
	json_t *root = json_loads(doc, 0, NULL), *allocs, *el;
	int64_t top = 0, dev = 0;
	size_t i;
	/* the same document with Prune and without "tiny" */
	assert_non_null(root);
	allocs = json_object_get(root, "IpamPoolAllocations");
	json_array_foreach(allocs, i, el)
	{
		if (!strcmp(json_string_value(json_object_get(el, "Name")),
			    "tiny")) {
			json_array_remove(allocs, i);
			break;
		}
	}
	json_object_set_new(root, "Prune", json_true());
	pruned = json_dumps(root, 0);
	json_decref(root);
	assert_ok(import_text(db, pruned, false, &res, &err), err);
	assert_string_equal(
		res.changes,
		"- allocation scopes/private/pools/top/pools/dev/allocations/"
		"tiny\n");
	ipam_import_result_free(&res);
	assert_ok(ipam_pool_lookup(db, scope_key(db, "private"), 0, "top", &top,
				   &err),
		  err);
	assert_ok(ipam_pool_lookup(db, scope_key(db, "private"), top, "dev",
				   &dev, &err),
		  err);
	assert_int_equal(usage(db, dev).noncompliant, 0);
	free(pruned);
	free(doc);
	ipam_free(db);
}

/* Removes from list `key` of root the element whose `field` is `value`. */
static void drop_elem(json_t *root, const char *key, const char *field,
		      const char *value)
{
	json_t *arr = json_object_get(root, key), *el;
	size_t i;
	json_array_foreach(arr, i, el)
	{
		const char *v = json_string_value(json_object_get(el, field));
		if (v && !strcmp(v, value)) {
			json_array_remove(arr, i);
			return;
		}
	}
	fail_msg("no %s %s in %s", field, value, key);
}

static void add_resource(ipam *db, const char *id, const char *const *cidrs,
			 size_t n)
{
	ipam_err err = {0};
	int64_t key = 0;
	assert_ok(ipam_resource_create(db, scope_key(db, "private"), id, NULL,
				       &key, &err),
		  err);
	for (size_t i = 0; i < n; i++) {
		ipam_cidr c;
		assert_ok(ipam_cidr_parse(&c, cidrs[i], &err), err);
		assert_ok(ipam_resource_cidr_add(db, key, &c, &err), err);
	}
}

/* Prune covers resources (in the document's scopes), their CIDRs and
 * prefix lists with their targets, when the document has those lists;
 * the plan says each deletion; a document without them deletes none. */
static void test_prune_resources_and_lists(void **state)
{
	ipam *db = sample();
	ipam_err err = {0};
	ipam_import_result res;
	const char *c1[] = {"192.0.2.0/24", "198.51.100.0/24"};
	const char *c2[] = {"203.0.113.0/24"};
	int64_t key = 0;
	ipam_resource_cidr *rcs = NULL;
	size_t n = 0;
	ipam_strlist names = {0};
	(void)state;
	add_resource(db, "vpc-1", c1, 2);
	add_resource(db, "vpc-2", c2, 1);
	assert_ok(ipam_plist_create(db, "old", &err), err);
	assert_ok(ipam_plist_target_create(db, "fw", "extra", &err), err);
	char *doc = export_of(db), *txt;
	json_t *root = json_loads(doc, 0, NULL), *el;
	size_t i;
	assert_non_null(root);
	/* without the lists, a pruning document deletes none of them */
	json_t *bare = json_deep_copy(root);
	json_object_del(bare, "IpamResources");
	json_object_del(bare, "IpamPrefixListResolvers");
	json_object_set_new(bare, "Prune", json_true());
	txt = json_dumps(bare, 0);
	json_decref(bare);
	assert_ok(import_text(db, txt, true, &res, &err), err);
	assert_string_equal(res.changes ? res.changes : "", "");
	ipam_import_result_free(&res);
	free(txt);
	/* with them: vpc-2, a CIDR of vpc-1, list "old", target "extra" go */
	drop_elem(root, "IpamResources", "ResourceId", "vpc-2");
	drop_elem(root, "IpamPrefixListResolvers", "Name", "old");
	json_array_foreach(json_object_get(root, "IpamResources"), i, el)
		drop_elem(el, "ResourceCidrs", "ResourceCidr",
			  "198.51.100.0/24");
	json_array_foreach(json_object_get(root, "IpamPrefixListResolvers"), i,
			   el) drop_elem(el, "Targets", "Name", "extra");
	json_object_set_new(root, "Prune", json_true());
	txt = json_dumps(root, 0);
	json_decref(root);
	const char *want = "- resource-cidr scopes/private/resources/vpc-1 "
			   "198.51.100.0/24\n"
			   "- prefix-list fw/targets/extra\n"
			   "- resource scopes/private/resources/vpc-2\n"
			   "- prefix-list old\n";
	assert_ok(import_text(db, txt, true, &res, &err), err);
	assert_string_equal(res.changes ? res.changes : "", want);
	assert_int_equal(res.deleted, 4);
	ipam_import_result_free(&res);
	assert_ok(ipam_resource_lookup(db, scope_key(db, "private"), "vpc-2",
				       &key, &err),
		  err); /* the plan applied nothing */
	assert_ok(import_text(db, txt, false, &res, &err), err);
	assert_string_equal(res.changes ? res.changes : "", want);
	ipam_import_result_free(&res);
	assert_int_equal(ipam_resource_lookup(db, scope_key(db, "private"),
					      "vpc-2", &key, &err),
			 IPAM_ENOENT);
	assert_ok(ipam_resource_lookup(db, scope_key(db, "private"), "vpc-1",
				       &key, &err),
		  err);
	assert_ok(ipam_resource_cidrs(db, key, &rcs, &n, &err), err);
	assert_int_equal(n, 1);
	assert_string_equal(S(&rcs[0].cidr), "192.0.2.0/24");
	free(rcs);
	assert_ok(ipam_plist_list(db, &names, &err), err);
	assert_int_equal(names.count, 1);
	assert_string_equal(names.items[0], "fw");
	ipam_strlist_free(&names);
	assert_ok(ipam_plist_target_list(db, "fw", &names, &err), err);
	assert_int_equal(names.count, 1);
	assert_string_equal(names.items[0], "edge");
	ipam_strlist_free(&names);
	/* the document is now what the IPAM holds: nothing more to do */
	assert_ok(import_text(db, txt, true, &res, &err), err);
	assert_string_equal(res.changes ? res.changes : "", "");
	ipam_import_result_free(&res);
	free(txt);
	free(doc);
	ipam_free(db);
}

/* A target whose sync is off carries its hand edits (Sync, Entries) through
 * export and import; a pruning document with IpamPolicies removes the
 * policies it does not name (an enabled one too); bad Sync or Entries
 * refuse the whole import. */
static void test_sync_and_policy_prune(void **state)
{
	ipam *a = sample(), *b;
	ipam_import_result res;
	ipam_err err = {0};
	ipam_open_opts opts = fixture_opts();
	const char *hand[] = {"203.0.113.0/24", "10.9.0.0/16"};
	const char *all[] = {"all"};
	(void)state;
	assert_ok(ipam_plist_target_create(a, "fw", "held", &err), err);
	assert_ok(ipam_plist_target_set_sync(a, "fw", "held", false, &err),
		  err);
	assert_ok(ipam_plist_target_set_entries(a, "fw", "held", hand, 2, &err),
		  err);
	assert_ok(ipam_policy_create(a, "p1", &err), err);
	assert_ok(ipam_policy_create(a, "p2", &err), err);
	assert_ok(ipam_policy_set_targets(a, "p2", all, 1, false, &err), err);
	assert_ok(ipam_policy_set_enabled(a, "p2", true, &err), err);
	char *e1 = export_of(a), *e2;
	assert_non_null(strstr(e1, "\"Sync\":false,\"Entries\":[\"10.9.0.0/"
				   "16\",\"203.0.113.0/24\"]"));
	opts.in_memory = true;
	opts.id_seed = 42;
	assert_ok(ipam_open(&b, NULL, &opts, &err), err);
	assert_ok(import_text(b, e1, false, &res, &err), err);
	ipam_import_result_free(&res);
	e2 = export_of(b);
	assert_string_equal(e1, e2);
	free(e2);
	ipam_plist_target t;
	assert_ok(ipam_plist_target_get(b, "fw", "held", &t, &err), err);
	assert_false(t.sync);
	ipam_cidr *set = NULL;
	size_t n = 0;
	int64_t v = 0;
	assert_ok(
		ipam_plist_target_entries(b, "fw", "held", &set, &n, &v, &err),
		err);
	assert_int_equal(n, 2);
	assert_string_equal(S(&set[0]), "10.9.0.0/16");
	free(set);
	/* the same document again changes nothing */
	assert_ok(import_text(b, e1, true, &res, &err), err);
	assert_string_equal(res.changes ? res.changes : "", "");
	ipam_import_result_free(&res);

	/* hostile: nothing applies */
	struct {
		const char *from, *to, *needle;
	} bad[] = {
		{"\"Sync\": false", "\"Sync\": \"no\"",
		 "Sync is true or false"},
		{"\"10.9.0.0/16\"", "\"10.9.0.1/16\"", "line 1"},
		{"\"10.9.0.0/16\"", "\"2001:db8::/32\"", "not an IPv4"},
		{"\"10.9.0.0/16\"", "\"203.0.113.128/25\"", "overlaps"},
		{"\"10.9.0.0/16\"", "17", "not a string"},
	};
	char *before = export_of(b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *root = json_loads(e1, 0, NULL);
		char *txt = json_dumps(root, JSON_INDENT(2)), *at;
		json_decref(root);
		at = strstr(txt, bad[i].from);
		assert_non_null(at);
		size_t cut = strlen(bad[i].from), len = strlen(txt);
		char *doc = malloc(len + strlen(bad[i].to) + 1);
		memcpy(doc, txt, (size_t)(at - txt));
		strcpy(doc + (at - txt), bad[i].to);
		strcat(doc, at + cut);
		free(txt);
		assert_code(import_text(b, doc, false, &res, &err), err,
			    IPAM_EINVAL, bad[i].needle);
		ipam_import_result_free(&res);
		free(doc);
		e2 = export_of(b);
		assert_string_equal(before, e2);
		free(e2);
	}
	free(before);

	/* prune: p2 (enabled) is not in the document */
	json_t *root = json_loads(e1, 0, NULL);
	drop_elem(root, "IpamPolicies", "Name", "p2");
	json_object_set_new(root, "Prune", json_true());
	char *txt = json_dumps(root, 0);
	json_decref(root);
	assert_ok(import_text(b, txt, true, &res, &err), err);
	assert_string_equal(res.changes ? res.changes : "", "- policy p2\n");
	ipam_import_result_free(&res);
	assert_ok(import_text(b, txt, false, &res, &err), err);
	ipam_import_result_free(&res);
	ipam_strlist names = {0};
	assert_ok(ipam_policy_list(b, &names, &err), err);
	assert_int_equal(names.count, 1);
	assert_string_equal(names.items[0], "p1");
	ipam_strlist_free(&names);
	/* without IpamPolicies, a pruning document removes none */
	root = json_loads(e1, 0, NULL);
	json_object_del(root, "IpamPolicies");
	json_object_set_new(root, "Prune", json_true());
	free(txt);
	txt = json_dumps(root, 0);
	json_decref(root);
	assert_ok(import_text(b, txt, false, &res, &err), err);
	ipam_import_result_free(&res);
	assert_ok(ipam_policy_list(b, &names, &err), err);
	assert_int_equal(names.count, 1);
	ipam_strlist_free(&names);
	free(txt);
	free(e1);
	ipam_free(a);
	ipam_free(b);
}

static void test_detect(void **state)
{
	static const struct {
		const char *text;
		int code;
		ipam_import_format format;
		const char *needle;
	} cases[] = {
		{"{\"IpamfsExport\": 1}", 0, IPAM_FORMAT_IPAMFS, NULL},
		{"{\"IpamPools\": []}\n{\"Ipams\": []}", 0, IPAM_FORMAT_AWS,
		 NULL},
		{"{\"count\":0,\"results\":[{\"prefix\":\"10.0.0.0/8\"}]}", 0,
		 IPAM_FORMAT_NETBOX_JSON, NULL},
		{"prefix,status\n10.0.0.0/8,container\n", 0,
		 IPAM_FORMAT_NETBOX_CSV, NULL},
		{"Section;Subnet;Mask\nA;10.0.0.0;8\n", 0,
		 IPAM_FORMAT_PHPIPAM_CSV, NULL},
		{"\xef\xbb\xbf"
		 "cidr,name\n10.0.0.0/8,a\n",
		 0, IPAM_FORMAT_CSV, NULL},
		{"{\"hello\": 1}", IPAM_EINVAL, 0, "unknown JSON"},
		{"a,b\n1,2\n", IPAM_EINVAL, 0, "'cidr'"},
		{"cidr,prefix\n", IPAM_EINVAL, 0, "ambiguous"},
		{"  \n", IPAM_EINVAL, 0, "empty"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ipam *db = open_mem();
		ipam_err err = {0};
		ipam_import_result res;
		int rc = import_text(db, cases[i].text, true, &res, &err);
		if (cases[i].code == 0) {
			assert_ok(rc, err);
			assert_int_equal(res.format, cases[i].format);
		} else {
			assert_code(rc, err, cases[i].code, cases[i].needle);
		}
		ipam_import_result_free(&res);
		ipam_free(db);
	}
}

static void test_plain_csv(void **state)
{
	ipam *db = open_mem();
	ipam_err err = {0};
	ipam_import_result res;
	ipam_alloc_info a;
	int64_t top = 0;
	const char *csv = "cidr,name,description,parent,tags\r\n"
			  "10.9.0.0/16,top,,,k=v\r\n"
			  "10.9.1.0/24,a,\"one, \"\"two\"\"\nthree\",top,\r\n";
	/* a description cannot hold a line break: refused, naming line 3 */
	assert_code(import_text(db, csv, false, &res, &err), err, IPAM_EINVAL,
		    "line 3");
	ipam_import_result_free(&res);
	csv = "cidr,name,description,parent,tags\r\n"
	      "10.9.0.0/16,top,,,k=v\r\n"
	      "10.9.1.0/24,a,\"one, \"\"two\"\"\",top,\r\n"
	      "10.9.2.0/24,b,,10.9.0.0/16,\r\n";
	assert_ok(import_text(db, csv, false, &res, &err), err);
	assert_int_equal(res.format, IPAM_FORMAT_CSV);
	assert_int_equal(res.created, 4); /* pool, CIDR, two allocations */
	ipam_import_result_free(&res);
	assert_ok(ipam_pool_lookup(db, scope_key(db, "private"), 0, "top", &top,
				   &err),
		  err);
	assert_ok(ipam_alloc_get(db, top, "a", &a, &err), err);
	assert_string_equal(a.description, "one, \"two\"");
	assert_string_equal(S(&a.cidr), "10.9.1.0/24");
	/* a cut last line (a writer killed mid-copy): nothing applied */
	assert_code(import_text(db, "cidr,name\n10.1.0.0/16,a\n10.2.0.0/1",
				false, &res, &err),
		    err, IPAM_EINVAL, "cut short");
	ipam_import_result_free(&res);
	/* a parent that does not contain the row */
	csv = "cidr,name,description,parent,tags\n"
	      "10.8.0.0/16,x,,,\n"
	      "10.7.0.0/24,y,,x,\n";
	assert_code(import_text(db, csv, false, &res, &err), err, IPAM_EINVAL,
		    "line 3: 10.7.0.0/24 does not lie inside its parent");
	ipam_import_result_free(&res);
	ipam_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_bulk_equals_single),
		cmocka_unit_test(test_bulk_refusal_order),
		cmocka_unit_test(test_bulk_fallback_times),
		cmocka_unit_test(test_fast_equals_general),
		cmocka_unit_test(test_refusal_applies_nothing),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_prune_resources_and_lists),
		cmocka_unit_test(test_sync_and_policy_prune),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_plain_csv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
