/*
 * test_api_all.c - every public function of ipam.h, on one handle, in one
 * process.
 *
 * A daemon lives for months on one handle, so every SQL statement of
 * libipam ends up prepared on it. The statement cache once had room for
 * 160 of them and asserted when a workload needed more (issue 8): this
 * test walks the whole API on a file database -- pools, CIDRs,
 * allocations, tags, permissions, resources, discoveries and a feed,
 * history, prefix-list resolvers, every renderer, backup and sync -- so
 * that every statement is prepared on the same handle, then does it again
 * (each cached statement reused) and reopens the file to check it.
 * tests/unit/api_coverage.sh checks that every function declared in ipam.h
 * (and ipam_prefixlist.h, which it includes) is called here.
 */
#include <sqlite3.h>

#include "fixture.h"

static int hook_calls, remove_calls;

static void on_change(void *ctx, int64_t last)
{
	(void)ctx;
	(void)last;
	hook_calls++;
}

static void on_remove(void *ctx, ipam_kind kind, int64_t key)
{
	(void)ctx;
	(void)kind;
	(void)key;
	remove_calls++;
}

static int count_entry(void *ctx, const ipam_alloc_entry *entry)
{
	(void)entry;
	(*(int *)ctx)++;
	return 0;
}

/* A rendering call: must succeed with non-empty text. */
#define RENDER(call)                                                           \
	do {                                                                   \
		char *out_ = NULL;                                             \
		size_t len_ = 0;                                               \
		ipam_err e_ = {0};                                             \
		int r_ = (call(&out_, &len_, &e_));                            \
		assert_ok(r_, e_);                                             \
		assert_non_null(out_);                                         \
		assert_true(len_ > 0);                                         \
		free(out_);                                                    \
	} while (0)

/* RENDER wrappers of the public-space renderers (RENDER passes only the
 * out-parameters) */
static ipam *render_db;
static int ipam_render_tokens_json_db(char **o, size_t *l, ipam_err *e)
{
	return ipam_render_tokens_json(render_db, o, l, e);
}
static int ipam_render_asns_json_db(char **o, size_t *l, ipam_err *e)
{
	return ipam_render_asns_json(render_db, o, l, e);
}
static int ipam_render_byoip_cidrs_json_db(char **o, size_t *l, ipam_err *e)
{
	return ipam_render_byoip_cidrs_json(render_db, o, l, e);
}
static int ipam_render_adverts_db(char **o, size_t *l, ipam_err *e)
{
	int rc = ipam_render_advertisements(render_db, 0, false, o, l, e);
	free(*o);
	*o = NULL;
	return rc ? rc : ipam_render_advertisements(render_db, 0, true, o, l, e);
}

/* The functions that need no handle. */
static void pure_functions(void)
{
	ipam_err err = {0};
	ipam_cidr a, b, parts[8];
	char txt[IPAM_CIDR_STRLEN], num[IPAM_U128_STRLEN];
	char pct[IPAM_PERCENT_STRLEN], when[IPAM_TIME_STRLEN];
	ipam_u128 v;
	ipam_strategy st;
	int64_t t;

	assert_string_equal(ipam_code_name(IPAM_ENOSPC), "ENOSPC");
	assert_ok(ipam_cidr_parse(&a, "10.0.0.0/8", &err), err);
	assert_ok(ipam_cidr_parse_filename(&b, "10.1.0.0_16", &err), err);
	ipam_cidr_format(&b, txt);
	assert_string_equal(txt, "10.1.0.0/16");
	ipam_cidr_format_filename(&b, txt);
	assert_string_equal(txt, "10.1.0.0_16");
	ipam_addr_format(4, b.addr, txt);
	assert_string_equal(txt, "10.1.0.0");
	assert_int_equal(ipam_family_width(6), 128);
	assert_string_equal(ipam_family_name(6), "ipv6");
	assert_string_equal(ipam_family_name(4), "ipv4");
	assert_string_equal(U(ipam_cidr_size(&b)), "65536");
	ipam_addr_format(4, ipam_cidr_last(&b), txt);
	assert_string_equal(txt, "10.1.255.255");
	assert_true(ipam_cidr_contains(&a, &b));
	assert_true(ipam_cidr_overlaps(&a, &b));
	assert_true(ipam_cidr_compare(&a, &b) < 0);
	assert_int_equal(ipam_range_split(4, b.addr, b.addr + 2, parts, 8), 2);
	ipam_u128_format((ipam_u128)1 << 100, num);
	assert_ok(ipam_u128_parse(&v, num), err);
	assert_true(v == (ipam_u128)1 << 100);
	ipam_percent_format(1, 3, pct);
	assert_true(strlen(pct) > 0);
	ipam_time_format(FIXTURE_TIME, when);
	assert_ok(ipam_time_parse(&t, when), err);
	assert_int_equal(t, FIXTURE_TIME);
	{
		char aws[IPAM_TIME_STRLEN];
		ipam_time_format_aws(FIXTURE_TIME, aws);
		when[strlen(when) - 1] = '\0'; /* the Z */
		assert_true(strncmp(aws, when, strlen(when)) == 0);
		assert_string_equal(aws + strlen(when), ".000000+00:00");
	}
	assert_ok(ipam_name_check("ok-name", &err), err);
	assert_ok(ipam_locale_check("us-east-1", &err), err);
	assert_true(ipam_schema_version() > 0);
	assert_string_equal(ipam_quota_name(IPAM_QUOTA_SCOPES), "scopes");
	assert_string_equal(ipam_strategy_name(IPAM_STRATEGY_BEST_FIT),
			    "best-fit");
	assert_ok(ipam_strategy_parse(&st, "last-fit"), err);
	assert_int_equal(st, IPAM_STRATEGY_LAST_FIT);
	assert_int_equal(ipam_utf8_invalid("ok\xff"), 2);
	{
		char *fixed = ipam_utf8_fix("ok\xff");
		assert_string_equal(fixed, "ok\xef\xbf\xbd");
		free(fixed);
	}
	assert_string_equal(ipam_map_state_name(IPAM_MAP_FREE), "available");
	assert_string_equal(ipam_map_state_colour(IPAM_MAP_FREE), "#d4edc9");
	assert_int_equal(ipam_map_rows(&a), 16);
	{
		ipam_map_block block = {b.addr, ipam_cidr_last(&b),
					IPAM_MAP_CUSTOM};
		ipam_map_rect *rects = NULL;
		size_t n = 0;
		assert_ok(ipam_map_layout(&a, &block, 1, IPAM_MAP_MIN_WIDTH,
					  &rects, &n, &err),
			  err);
		assert_int_equal(n, 1);
		free(rects);
	}
	assert_true(ipam_resource_type_valid("vpc"));
	assert_true(ipam_resource_type_manageable("vpc"));
	assert_string_equal(ipam_resource_type_from_id("subnet-0abc"),
			    "subnet");
}

/* The IPAM itself: info, settings, locales, quotas, transactions. */
static void ipam_level(ipam *db)
{
	ipam_err err = {0};
	ipam_info info;
	ipam_strlist list = {0};
	const char *locales[] = {"local", "us-east-1", "us-west-2"};
	ipam_actor who = {0, 0, 1};
	int64_t q;

	ipam_set_default_actor(db, &who);
	ipam_set_change_hook(db, on_change, NULL);
	ipam_set_remove_hook(db, on_remove, NULL);
	assert_true(ipam_now(db) > 0);
	assert_ok(ipam_info_get(db, &info, &err), err);
	assert_ok(ipam_set_description(db, "every call", &err), err);
	assert_ok(ipam_changed(db, IPAM_KIND_IPAM, 0, &q, &err), err);
	assert_true(q >= ipam_now(db) * 1000000000LL);
	assert_ok(ipam_set_tier(db, IPAM_TIER_ADVANCED, &err), err);
	assert_ok(ipam_set_private_gua(db, false, &err), err);
	assert_ok(ipam_locales_set(db, locales, 3, &err), err);
	assert_ok(ipam_locales_get(db, &list, &err), err);
	assert_int_equal(list.count, 3);
	ipam_strlist_free(&list);
	assert_true(ipam_locale_is_operating(db, "us-east-1"));
	assert_ok(ipam_quota_get(db, IPAM_QUOTA_SCOPES, &q, &err), err);
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_SCOPES, q + 1, &err), err);
	/* an explicit transaction, committed and rolled back */
	assert_ok(ipam_txn_begin(db, &who, &err), err);
	assert_ok(ipam_set_description(db, "in a transaction", &err), err);
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_SCOPES, q + 2, &err), err);
	assert_ok(ipam_txn_commit(db, &err), err);
	/* the commit's own events: the two changes above, the last two */
	assert_true(ipam_events_last(db) >= 2);
	assert_int_equal(ipam_commit_first_event(db),
			 ipam_events_last(db) - 1);
	assert_ok(ipam_set_description(db, "one more", &err), err);
	assert_int_equal(ipam_commit_first_event(db), ipam_events_last(db));
	assert_ok(ipam_set_description(db, "in a transaction", &err), err);
	assert_ok(ipam_txn_begin(db, NULL, &err), err);
	assert_ok(ipam_set_description(db, "undone", &err), err);
	ipam_txn_rollback(db);
	assert_ok(ipam_info_get(db, &info, &err), err);
	assert_string_equal(info.description, "in a transaction");
	assert_ok(ipam_check(db, &err), err);
}

struct world {
	int64_t priv, lab, top, child, v6;
};

/* Scopes and pools, their settings, CIDRs and allocations. */
static void pools(ipam *db, struct world *w, int round)
{
	ipam_err err = {0};
	ipam_scope_info sc;
	ipam_pool_info pi;
	ipam_strlist list = {0};
	ipam_pool_cidr *cidrs = NULL;
	ipam_cidr got, fixed, c;
	char space[32];
	/* a scope holds an address once: each round's top pool has its own */
	snprintf(space, sizeof(space), "%d.0.0.0/8", 10 + round);
	c = C(space);
	ipam_alloc_info ai;
	ipam_alloc_req req = {"web", NULL, 24, "a web tier"};
	ipam_pool_usage u;
	ipam_perm perm;
	ipam_kind kind;
	const char *tags[] = {"env=dev"};
	char *value = NULL, name[32];
	size_t n;
	int64_t key;
	int entries = 0;

	w->priv = scope_key(db, "private");
	assert_ok(ipam_scope_list(db, &list, &err), err);
	ipam_strlist_free(&list);
	assert_ok(ipam_scope_get(db, "private", &sc, &err), err);
	assert_ok(ipam_scope_get_by_key(db, w->priv, &sc, &err), err);
	{
		bool searchable = false;
		assert_ok(ipam_scope_searchable(db, w->priv, &searchable, &err),
			  err);
		/* round 0 makes a pool 0750 below: hidden from others */
		assert_int_equal(searchable, round == 0);
	}
	snprintf(name, sizeof(name), "lab%d", round);
	assert_ok(ipam_scope_create(db, name, &w->lab, &err), err);
	assert_ok(ipam_scope_set_description(db, w->lab, "a lab", &err), err);

	snprintf(name, sizeof(name), "top%d", round);
	assert_ok(ipam_pool_create(db, w->priv, 0, name, &w->top, &err), err);
	assert_ok(ipam_pool_lookup(db, w->priv, 0, name, &key, &err), err);
	assert_int_equal(key, w->top);
	assert_ok(ipam_pool_set_family(db, w->top, 4, &err), err);
	assert_ok(ipam_pool_provision(db, w->top, &c, &err), err);
	assert_ok(ipam_pool_create(db, w->priv, w->top, "dev", &w->child, &err),
		  err);
	assert_ok(ipam_pool_set_locale(db, w->child, "us-east-1", &err), err);
	assert_ok(ipam_pool_provision_len(db, w->child, 16, &got, &err), err);
	assert_ok(ipam_pool_set_description(db, w->child, "dev pool", &err),
		  err);
	assert_ok(
		ipam_pool_set_netmask(db, w->child, IPAM_NETMASK_MAX, 28, &err),
		err);
	assert_ok(ipam_pool_set_strategy(db, w->child, IPAM_STRATEGY_BEST_FIT,
					 &err),
		  err);
	assert_ok(ipam_pool_set_required_tags(db, w->child, tags, 0, &err),
		  err);
	assert_ok(ipam_pool_get_required_tags(db, w->child, &list, &err), err);
	ipam_strlist_free(&list);
	assert_ok(ipam_pool_set_auto_import(db, w->child, true, &err), err);
	assert_ok(ipam_pool_get(db, w->child, &pi, &err), err);
	assert_ok(ipam_pool_list(db, w->priv, 0, &list, &err), err);
	ipam_strlist_free(&list);
	assert_ok(ipam_pool_cidrs(db, w->top, &cidrs, &n, &err), err);
	assert_int_equal(n, 1);
	free(cidrs);

	/* allocations by length, by CIDR, previews and usage */
	assert_ok(ipam_alloc_create(db, w->child, &req, &ai, &err), err);
	fixed = got;
	fixed.addr += 1u << 15;
	fixed.prefix = 24;
	req.name = "fixed";
	req.cidr = &fixed;
	assert_ok(ipam_alloc_create(db, w->child, &req, &ai, &err), err);
	assert_ok(ipam_alloc_get(db, w->child, "web", &ai, &err), err);
	assert_ok(ipam_alloc_get_by_key(db, ai.key, &ai, &err), err);
	assert_ok(ipam_alloc_entries(db, w->child, count_entry, &entries, &err),
		  err);
	assert_int_equal(entries, 2);
	assert_ok(ipam_alloc_list(db, w->child, &list, &err), err);
	ipam_strlist_free(&list);
	assert_ok(ipam_pool_preview(db, w->child, 26, &got, &err), err);
	assert_ok(ipam_pool_usage_get(db, w->child, &u, &err), err);
	assert_int_equal(u.allocation_count, 2);

	/* tags, permissions and ids */
	assert_ok(ipam_tag_set(db, ai.id, "owner", "alice", &err), err);
	assert_ok(ipam_tag_get(db, ai.id, "owner", &value, &err), err);
	assert_string_equal(value, "alice");
	free(value);
	assert_ok(ipam_tag_list(db, ai.id, &list, &err), err);
	ipam_strlist_free(&list);
	assert_ok(ipam_tag_remove(db, ai.id, "owner", &err), err);
	assert_ok(ipam_perm_get(db, pool_id(db, w->child), &perm, &err), err);
	perm.mode = 0750;
	assert_ok(ipam_perm_set(db, pool_id(db, w->child), &perm, &err), err);
	assert_ok(ipam_id_lookup(db, pool_id(db, w->child), &kind, &key, &err),
		  err);
	assert_int_equal(kind, IPAM_KIND_POOL);
	assert_ok(ipam_id_list(db, &list, &err), err);
	ipam_strlist_free(&list);

	/* renderers of the IPAM, scopes and pools */
#define R_IPAM(o, l, e) ipam_render_ipam_json(db, o, l, e)
#define R_SCOPES(o, l, e) ipam_render_scopes_json(db, o, l, e)
#define R_POOL(o, l, e) ipam_render_pool_json(db, w->child, o, l, e)
#define R_CIDRS(o, l, e) ipam_render_pool_cidrs_json(db, w->child, o, l, e)
#define R_ALLOCS(o, l, e)                                                      \
	ipam_render_pool_allocations_json(db, w->child, o, l, e)
#define R_STATUS(o, l, e) ipam_render_pool_status(db, w->child, false, o, l, e)
#define R_STATUSJ(o, l, e) ipam_render_pool_status(db, w->child, true, o, l, e)
#define R_MAP(o, l, e) ipam_render_pool_map(db, w->child, o, l, e)
#define R_EVENTS(o, l, e) ipam_events_render(db, 0, o, l, e)
#define R_METRICS(o, l, e) ipam_render_metrics(db, o, l, e)
#define R_SCOPE(o, l, e) ipam_render_scope_status(db, w->priv, false, o, l, e)
#define R_POOLS(o, l, e) ipam_render_scope_pools_json(db, w->priv, o, l, e)
#define R_DISCOS(o, l, e) ipam_render_discoveries_json(db, o, l, e)
	RENDER(R_POOLS);
	RENDER(R_DISCOS);
#define R_SVG(o, l, e) ipam_render_map_svg(db, w->child, 0, NULL, o, l, e)
#define R_SCOPE_SVG(o, l, e) ipam_render_map_svg(db, 0, w->priv, NULL, o, l, e)
	RENDER(R_IPAM);
	RENDER(R_SCOPES);
	RENDER(R_POOL);
	RENDER(R_CIDRS);
	RENDER(R_ALLOCS);
	RENDER(R_STATUS);
	RENDER(R_STATUSJ);
	RENDER(R_MAP);
	RENDER(R_EVENTS);
	RENDER(R_METRICS);
	RENDER(R_SCOPE);
	RENDER(R_SVG);
	RENDER(R_SCOPE_SVG);
	/* the zooms map.svg offers: each resolves and renders */
	assert_ok(ipam_map_views(db, w->child, 0, &list, &err), err);
	assert_true(list.count > 0);
	{
		char file[IPAM_CIDR_STRLEN];
		ipam_cidr view;
		snprintf(file, sizeof(file), "%.*s",
			 (int)strlen(list.items[0]) - 4, list.items[0]);
		assert_ok(ipam_cidr_parse_filename(&view, file, &err), err);
		assert_ok(ipam_map_view_check(db, w->child, 0, &view, &err),
			  err);
#define R_ZOOM(o, l, e) ipam_render_map_svg(db, w->child, 0, &view, o, l, e)
		RENDER(R_ZOOM);
	}
	ipam_strlist_free(&list);
	assert_true(ipam_events_last(db) > 0);
	assert_int_equal(ipam_events_known(db), ipam_events_last(db));
	/* a SQLite file has no other writers to wait for */
	assert_false(ipam_shared(db));
	{
		ipam_err none = {IPAM_OK, ""};
		assert_int_equal(ipam_wait_others(db, 0, NULL, NULL, &none),
				 IPAM_EINVAL);
		assert_string_equal(none.msg,
				    "no other writers of this database");
	}

	/* an IPv6 pool in the public scope: its own settings */
	snprintf(name, sizeof(name), "v6-%d", round);
	assert_ok(ipam_pool_create(db, scope_key(db, "public"), 0, name, &w->v6,
				   &err),
		  err);
	assert_ok(ipam_pool_set_family(db, w->v6, 6, &err), err);
	assert_ok(ipam_pool_set_locale(db, w->v6, "us-east-1", &err), err);
	assert_ok(ipam_pool_set_aws_service(db, w->v6, "ec2", &err), err);
	assert_ok(ipam_pool_set_public_ip_source(db, w->v6, "byoip", &err),
		  err);
	assert_ok(ipam_pool_set_publicly_advertisable(db, w->v6, false, &err),
		  err);
}

/* Resources, a discovery and its feed, history. */
static void resources(ipam *db, struct world *w, int round)
{
	ipam_err err = {0};
	ipam_resource_info ri;
	ipam_resource_cidr *rc = NULL;
	ipam_discovery_info di;
	ipam_strlist list = {0};
	ipam_cidr got, c = C("192.168.7.0/24");
	char id[64], disco[32], *value = NULL, *out = NULL;
	size_t n, len;
	int64_t res, key, days;
	static const char feed[] =
		"{\"ResourceId\":\"vpc-0a1\",\"ResourceType\":\"vpc\","
		"\"ResourceCidr\":\"10.9.0.0/16\",\"ResourceRegion\":"
		"\"us-east-1\"}\n"
		"{\"ResourceId\":\"subnet-0b2\",\"ResourceCidr\":\"10.9.1.0/"
		"24\","
		"\"VpcId\":\"vpc-0a1\",\"IpUsage\":0.25}\n";

	snprintf(id, sizeof(id), "vpc-%04d", round);
	assert_ok(ipam_resource_create(db, w->priv, id, "vpc", &res, &err),
		  err);
	assert_ok(ipam_resource_lookup(db, w->priv, id, &key, &err), err);
	assert_int_equal(key, res);
	assert_ok(ipam_resource_set(db, res, IPAM_RESOURCE_NAME, "core", &err),
		  err);
	assert_ok(ipam_resource_set(db, res, IPAM_RESOURCE_LOCALE, "us-east-1",
				    &err),
		  err);
	assert_ok(ipam_resource_tag_set(db, res, "env", "dev", &err), err);
	assert_ok(ipam_resource_tag_get(db, res, "env", &value, &err), err);
	free(value);
	assert_ok(ipam_resource_tag_list(db, res, &list, &err), err);
	ipam_strlist_free(&list);
	assert_ok(ipam_resource_tag_remove(db, res, "env", &err), err);
	assert_ok(ipam_resource_cidr_add(db, res, &c, &err), err);
	assert_ok(
		ipam_resource_allocate(db, res, w->child, NULL, 24, &got, &err),
		err);
	assert_ok(ipam_resource_may_use_pool(db, res, w->child, &err), err);
	assert_string_equal(ipam_resource_type_aws("network-interface",
						   IPAM_SHAPE_RESOURCE_CIDR),
			    "eni");
	assert_ok(ipam_resource_cidrs(db, res, &rc, &n, &err), err);
	assert_int_equal(n, 2);
	free(rc);
	assert_ok(ipam_resource_cidr_remove(db, res, &c, &err), err);
	assert_ok(ipam_resource_set_ignored(db, res, true, &err), err);
	assert_ok(ipam_resource_set_ignored(db, res, false, &err), err);
	assert_ok(ipam_resource_get(db, res, &ri, &err), err);
	assert_ok(ipam_resource_list(db, w->priv, &list, &err), err);
	ipam_strlist_free(&list);
#define R_RES(o, l, e) ipam_render_resource_status(db, res, true, o, l, e)
#define R_RESJ(o, l, e) ipam_render_resources_json(db, w->priv, 0, o, l, e)
	RENDER(R_RES);
	RENDER(R_RESJ);

	/* a discovery of the lab scope, fed twice */
	snprintf(disco, sizeof(disco), "aws%d", round);
	assert_ok(ipam_discovery_create(db, disco, &err), err);
	assert_ok(ipam_discovery_set_locale(db, disco, "us-east-1", &err), err);
	assert_ok(ipam_discovery_feed(db, disco, feed, sizeof(feed) - 1, &err),
		  err);
	assert_ok(ipam_discovery_feed(db, disco, feed, sizeof(feed) - 1, &err),
		  err);
	assert_ok(ipam_discovery_get(db, disco, &di, &err), err);
	assert_int_equal(di.resources, 2);
#define R_ACCOUNTS(o, l, e)                                                    \
	ipam_render_discovered_accounts_json(db, di.key, o, l, e)
	RENDER(R_ACCOUNTS);
	assert_ok(ipam_discovery_list(db, &list, &err), err);
	ipam_strlist_free(&list);
	assert_ok(ipam_discovery_host_refresh(db, &err), err);
	assert_ok(ipam_discovery_set_scope(db, disco, "lab0", &err), err);

	/* history */
	assert_ok(ipam_retention_get(db, IPAM_RETAIN_HISTORY, &days, &err), err);
	assert_ok(ipam_retention_set(db, IPAM_RETAIN_HISTORY, days + 1, &err), err);
	assert_ok(ipam_history_cidrs(db, w->priv, &list, &err), err);
	assert_true(list.count > 0);
	ipam_strlist_free(&list);
	assert_ok(ipam_history_query(db, w->priv, &got, 0, INT64_MAX, true,
				     &out, &len, &err),
		  err);
	free(out);

	/* moves and removals */
	assert_ok(ipam_resource_cidr_remove(db, res, &got, &err), err);
	assert_ok(ipam_resource_move(db, res, w->lab, &err), err);
	assert_ok(ipam_resource_delete(db, res, &err), err);
	assert_ok(ipam_discovery_delete(db, disco, &err), err);
}

/* The public scope: provider CIDRs, an Amazon-provided block, EIPs from
 * it and from a public IPv4 pool, a transfer, the insight views. Leaves
 * nothing behind (every round makes it anew). */
static void provider_space(ipam *db, int round)
{
	static const char *const provider[] = {"192.0.2.0/24"};
	ipam_err err = {0};
	ipam_strlist list = {0};
	ipam_scope_info sc;
	ipam_cidr got, block = C("192.0.2.0/29"), moved = C("198.51.100.0/24");
	char eip[IPAM_RESOURCE_ID_MAX + 1], eip2[IPAM_RESOURCE_ID_MAX + 1];
	char name[32];
	int64_t contig, top, pv, key;

	assert_ok(ipam_scope_get(db, "public", &sc, &err), err);
	assert_ok(ipam_provider_cidrs_set(db, provider, 1, &err), err);
	assert_ok(ipam_provider_cidrs_get(db, &list, &err), err);
	assert_int_equal(list.count, 1);
	ipam_strlist_free(&list);
	snprintf(name, sizeof(name), "contig%d", round);
	assert_ok(ipam_pool_create(db, sc.key, 0, name, &contig, &err), err);
	assert_ok(ipam_pool_set_public_ip_source(db, contig, "amazon", &err),
		  err);
	assert_ok(ipam_pool_set_locale(db, contig, "us-east-1", &err), err);
	assert_ok(ipam_pool_provision_len(db, contig, 29, &got, &err), err);
	assert_string_equal(S(&got), "192.0.2.0/29");
	assert_ok(ipam_eip_allocate(db, sc.key, pool_id(db, contig), NULL, true,
				    eip, &got, &err),
		  err);
	assert_ok(ipam_resource_lookup(db, sc.key, eip, &key, &err), err);
	assert_ok(ipam_resource_set(db, key, IPAM_RESOURCE_ASSOCIATION,
				    "i-0123", &err),
		  err);

	/* a BYOIP CIDR outside IPAM with an EIP, moved into a pool */
	snprintf(name, sizeof(name), "ipv4pool-ec2-%04d", round);
	assert_ok(ipam_resource_create(db, sc.key, name, NULL, &pv, &err), err);
	assert_ok(ipam_resource_set(db, pv, IPAM_RESOURCE_LOCALE, "us-east-1",
				    &err),
		  err);
	assert_ok(ipam_resource_cidr_add(db, pv, &moved, &err), err);
	assert_ok(ipam_eip_allocate(db, sc.key, name, NULL, false, eip2, &got,
				    &err),
		  err);
	snprintf(name, sizeof(name), "byoip%d", round);
	assert_ok(ipam_pool_create(db, sc.key, 0, name, &top, &err), err);
	assert_ok(ipam_pool_set_locale(db, top, "us-east-1", &err), err);
	assert_ok(ipam_pool_set_aws_service(db, top, "ec2", &err), err);
	assert_ok(ipam_byoip_move_to_ipam(db, sc.key, &moved, pool_id(db, top),
					  true, &err),
		  err);
#define R_ADDR(o, l, e) ipam_render_addresses_json(db, sc.key, o, l, e)
#define R_V4POOLS(o, l, e)                                                     \
	ipam_render_public_ipv4_pools_json(db, sc.key, o, l, e)
#define R_PUBADDR(o, l, e)                                                     \
	ipam_render_public_addresses_json(db, sc.key, o, l, e)
#define R_SUMMARY(o, l, e)                                                     \
	ipam_render_public_ip_summary(db, sc.key, true, o, l, e)
	RENDER(R_ADDR);
	RENDER(R_V4POOLS);
	RENDER(R_PUBADDR);
	RENDER(R_SUMMARY);

	/* clean-up in the guide's order */
	assert_ok(
		ipam_resource_set(db, key, IPAM_RESOURCE_ASSOCIATION, "", &err),
		err);
	assert_ok(ipam_resource_delete(db, key, &err), err);
	assert_ok(ipam_resource_lookup(db, sc.key, eip2, &key, &err), err);
	assert_ok(ipam_resource_delete(db, key, &err), err);
	assert_ok(ipam_resource_delete(db, pv, &err), err);
	assert_ok(ipam_pool_deprovision(db, top, &moved, &err), err);
	assert_ok(ipam_pool_delete(db, top, &err), err);
	assert_ok(ipam_pool_deprovision(db, contig, &block, &err), err);
	assert_ok(ipam_pool_delete(db, contig, &err), err);
	assert_ok(ipam_provider_cidrs_set(db, NULL, 0, &err), err);
}

/* Resource planning: a pool of a VPC, a subnet pool, a subnet's CIDR, a
 * host record, its one-line JSON, then the cascade delete. */
static void planning(ipam *db, struct world *w, int round)
{
	ipam_err err = {0};
	char vpc_id[32], subnet_id[32], space[32], canon[IPAM_DNS_NAME_MAX + 1];
	int64_t vpc = 0, sub = 0, plan = 0, dev = 0;
	ipam_cidr c, got;
	ipam_alloc_req req = {"host", NULL, 32, NULL};

	snprintf(vpc_id, sizeof(vpc_id), "vpc-0p%d", round);
	snprintf(subnet_id, sizeof(subnet_id), "subnet-0p%d", round);
	snprintf(space, sizeof(space), "172.%d.0.0/16", 20 + round);
	c = C(space);
	assert_ok(ipam_resource_create(db, w->priv, vpc_id, NULL, &vpc, &err),
		  err);
	assert_ok(ipam_resource_cidr_add(db, vpc, &c, &err), err);
	assert_ok(ipam_resource_create(db, w->priv, subnet_id, NULL, &sub, &err),
		  err);
	assert_ok(ipam_resource_set(db, sub, IPAM_RESOURCE_VPC_ID, vpc_id, &err),
		  err);
	snprintf(space, sizeof(space), "plan%d", round);
	plan = mkpool(db, w->priv, 0, space);
	assert_ok(ipam_pool_set_source_resource(db, plan, vpc_id, &err), err);
	assert_ok(ipam_pool_provision(db, plan, &c, &err), err);
	dev = mkpool(db, w->priv, plan, "dev");
	assert_ok(ipam_pool_provision_len(db, dev, 24, &got, &err), err);
	assert_ok(ipam_resource_allocate(db, sub, dev, NULL, 28, &got, &err),
		  err);
	assert_ok(ipam_alloc_create(db, dev, &req, NULL, &err), err);
	assert_ok(ipam_host_value_check(IPAM_HOST_DNS_NAME, "Web.Example.",
					canon, &err),
		  err);
	assert_string_equal(canon, "web.example");
	assert_ok(ipam_alloc_set_host(db, dev, "host", IPAM_HOST_DNS_NAME,
				      canon, &err),
		  err);
	assert_ok(ipam_alloc_set_host(db, dev, "host", IPAM_HOST_MAC_ADDRESS,
				      "02:00:5e:10:00:01", &err),
		  err);
#define R_ALLOC(o, l, e) ipam_render_allocation_json(db, dev, "host", o, l, e)
	RENDER(R_ALLOC);
	assert_ok(ipam_pool_delete_cascade(db, plan, &err), err);
	assert_ok(ipam_resource_delete(db, sub, &err), err);
	assert_ok(ipam_resource_delete(db, vpc, &err), err);
}

/* A prefix-list resolver following the pools and resources, its
 * formats and a target (ipam_prefixlist.h). */
static void prefix_lists(ipam *db, struct world *w, int round)
{
	ipam_err err = {0};
	ipam_plist_info info;
	ipam_plist_target t;
	ipam_strlist list = {0};
	ipam_cidr *cidrs = NULL;
	size_t n = 0, len = 0;
	char name[32], *out = NULL;
	const char *rules[] = {"static 192.0.2.0/24", "pool private",
			       "resource private vpc region!=eu-west-9",
			       "resource private subnet tag:env=dev"};

	snprintf(name, sizeof(name), "fw%d", round);
	assert_ok(ipam_plist_create(db, name, &err), err);
	assert_ok(ipam_plist_set_description(db, name, "edge", &err), err);
	assert_ok(ipam_plist_set_family(db, name, 4, &err), err);
	assert_ok(ipam_plist_set_rules(db, name, rules, 4, &err), err);
	assert_ok(ipam_plist_rules(db, name, &list, &err), err);
	assert_int_equal(list.count, 4);
	ipam_strlist_free(&list);
	assert_ok(ipam_plist_get(db, name, &info, &err), err);
	assert_ok(ipam_plist_entries(db, name, 0, &cidrs, &n, &err), err);
	assert_true(n > 0);
	for (int f = IPAM_PLIST_LINES; f <= IPAM_PLIST_IPSET; f++) {
		assert_int_equal(
			ipam_plist_format_parse(ipam_plist_format_name(f)), f);
		assert_ok(ipam_plist_render(name, 4, f, info.version, cidrs, n,
					    &out, &len, &err),
			  err);
		free(out);
	}
	free(cidrs);
	assert_ok(ipam_plist_target_create(db, name, "edge", &err), err);
	assert_ok(ipam_plist_target_set_format(db, name, "edge", IPAM_PLIST_NFT,
					       &err),
		  err);
	assert_ok(ipam_plist_target_set_desired(db, name, "edge", info.version,
						&err),
		  err);
	assert_ok(ipam_plist_target_get(db, name, "edge", &t, &err), err);
	assert_int_equal(t.tracked, info.version);
	{ /* sync off, a hand edit, on again (Step 4) */
		const char *hand[] = {"192.0.2.0/24"};
		ipam_cidr *held = NULL;
		size_t nheld = 0;
		int64_t v = 0;
		assert_ok(ipam_plist_target_set_sync(db, name, "edge", false,
						     &err),
			  err);
		assert_ok(ipam_plist_target_set_entries(db, name, "edge", hand,
							1, &err),
			  err);
		assert_ok(ipam_plist_target_entries(db, name, "edge", &held,
						    &nheld, &v, &err),
			  err);
		assert_int_equal(nheld, 1);
		free(held);
		assert_ok(ipam_plist_target_set_sync(db, name, "edge", true,
						     &err),
			  err);
	}
	assert_ok(ipam_plist_target_list(db, name, &list, &err), err);
	ipam_strlist_free(&list);
	assert_ok(ipam_plist_list(db, &list, &err), err);
	ipam_strlist_free(&list);
	if (round == 2) { /* the others stay, following the later changes */
		assert_ok(ipam_plist_target_delete(db, name, "edge", &err),
			  err);
		assert_ok(ipam_plist_delete(db, name, &err), err);
	}
}

/* The public space (issue 12): proofs, tokens, ASNs, advertisements;
 * everything it makes it removes, so each round starts afresh. */
static void public_space(ipam *db, int round)
{
	ipam_err err = {0}, refused = {0};
	ipam_cidr c = C("203.0.113.0/24");
	ipam_byoip_proof none = {NULL, NULL, NULL};
	ipam_strlist list = {0};
	ipam_token_info t;
	ipam_asn_info info;
	char name[IPAM_NAME_MAX + 1], *value = NULL;
	char names[2][IPAM_TXT_NAME_MAX];
	int64_t top, reg;
	uint32_t asn;

	assert_string_equal(ipam_byoip_state_name(IPAM_BYOIP_PROVISIONED),
			    "provisioned");
	assert_int_equal(ipam_dns_txt_names(&c, "1", names, 2), 1);
	assert_ok(ipam_byoip_setting_set(db, IPAM_BYOIP_ACCOUNT_ID, "", &err),
		  err);
	assert_ok(ipam_byoip_setting_get(db, IPAM_BYOIP_ACCOUNT_ID, &value,
					 &err),
		  err);
	free(value);
	assert_code(ipam_byoip_check_message(db, "203.0.113.0/24", "x", "AAAA",
					     &err),
		    err, IPAM_EINVAL, NULL);
	snprintf(name, sizeof(name), "tok-%d", round);
	assert_ok(ipam_token_create(db, name, &err), err);
	assert_ok(ipam_token_get(db, name, &t, &err), err);
	assert_ok(ipam_token_list(db, &list, &err), err);
	ipam_strlist_free(&list);
	RENDER(ipam_render_tokens_json_db);
	assert_ok(ipam_token_delete(db, name, &err), err);

	ipam_byoip_set_skip(db, true);
	assert_true(ipam_byoip_skip(db));
	snprintf(name, sizeof(name), "pub-%d", round);
	assert_ok(ipam_pool_create(db, scope_key(db, "public"), 0, name, &top,
				   &err),
		  err);
	assert_ok(ipam_pool_provision_proven(db, top, &c, &none, &refused,
					     &err),
		  err);
	assert_ok(ipam_pool_set_locale(db, top, "us-east-1", &err), err);
	assert_ok(ipam_pool_create(db, scope_key(db, "public"), top, "reg",
				   &reg, &err),
		  err);
	assert_ok(ipam_pool_set_aws_service(db, reg, "ec2", &err), err);
	assert_ok(ipam_pool_provision(db, reg, &c, &err), err);
	assert_ok(ipam_asn_parse("64496", &asn, &err), err);
	assert_ok(ipam_asn_create(db, "64496", &err), err); /* lab: provisioned */
	assert_code(ipam_asn_prove(db, asn, "m", "s", &refused, &err), err,
		    IPAM_EEXIST, NULL);
	assert_ok(ipam_asn_get(db, asn, &info, &err), err);
	assert_ok(ipam_asn_list(db, &list, &err), err);
	ipam_strlist_free(&list);
	assert_ok(ipam_asn_associate(db, asn, &c, true, &err), err);
	assert_ok(ipam_advertise(db, reg, &c, asn, &err), err);
	assert_ok(ipam_asn_cidrs(db, asn, &list, &err), err);
	ipam_strlist_free(&list);
	RENDER(ipam_render_asns_json_db);
	RENDER(ipam_render_byoip_cidrs_json_db);
	RENDER(ipam_render_adverts_db);
	assert_ok(ipam_withdraw(db, reg, &c, &err), err);
	assert_ok(ipam_asn_associate(db, asn, &c, false, &err), err);
	assert_ok(ipam_asn_deprovision(db, asn, &err), err);
	assert_ok(ipam_pool_deprovision(db, reg, &c, &err), err);
	assert_ok(ipam_pool_delete(db, reg, &err), err);
	assert_ok(ipam_pool_deprovision(db, top, &c, &err), err);
	assert_ok(ipam_pool_delete(db, top, &err), err);
	ipam_byoip_set_skip(db, false);
}

/* An IPAM policy steering an EIP to a public pool, its views, then its
 * removal with what it used (ipam_policy.h). */
static void policies(ipam *db, int round)
{
	ipam_err err = {0};
	ipam_policy_info info;
	ipam_policy_choice got;
	ipam_strlist list = {0};
	char name[32], rule[128], active[IPAM_NAME_MAX + 1], *out = NULL;
	char space[32], eip_id[32];
	const char *targets[] = {"all"};
	size_t len = 0;
	int64_t pub = scope_key(db, "public"), pool, eip;
	snprintf(name, sizeof(name), "pol%d", round);
	snprintf(space, sizeof(space), "198.51.%d.0/24", 100 + round);
	snprintf(eip_id, sizeof(eip_id), "eipalloc-%d", round);
	pool = mkpool(db, pub, 0, name);
	prov_ok(db, pool, space);
	assert_ok(ipam_policy_create(db, name, &err), err);
	assert_ok(ipam_policy_set_description(db, name, "edge", &err), err);
	assert_ok(ipam_policy_set_overflow(db, name, false, &err), err);
	snprintf(rule, sizeof(rule), "any eip %s", pool_id(db, pool));
	const char *rules[] = {rule};
	assert_ok(ipam_policy_set_rules(db, name, rules, 1, &err), err);
	assert_ok(ipam_policy_rules(db, name, &list, &err), err);
	assert_int_equal(list.count, 1);
	ipam_strlist_free(&list);
	assert_ok(ipam_policy_set_targets(db, name, targets, 1, false, &err),
		  err);
	assert_ok(ipam_policy_targets(db, name, &list, &err), err);
	ipam_strlist_free(&list);
	assert_ok(ipam_policy_set_enabled(db, name, true, &err), err);
	assert_ok(ipam_policy_active(db, "all", active, &err), err);
	assert_string_equal(active, name);
	assert_ok(ipam_policy_get(db, name, &info, &err), err);
	assert_true(info.enabled);
	assert_ok(ipam_resource_create(db, pub, eip_id, NULL, &eip, &err), err);
	assert_ok(ipam_policy_allocate(db, eip, NULL, 32, &got, &err), err);
	assert_string_equal(got.pool_id, pool_id(db, pool));
	for (int v = IPAM_POLICY_DESCRIBE; v <= IPAM_POLICY_TARGETS; v++) {
		assert_ok(ipam_policy_json(db, v ? name : NULL,
					   (ipam_policy_view)v, &out, &len,
					   &err),
			  err);
		free(out);
	}
	assert_ok(ipam_policy_list(db, &list, &err), err);
	ipam_strlist_free(&list);
	assert_ok(ipam_policy_set_enabled(db, name, false, &err), err);
	assert_ok(ipam_policy_delete(db, name, &err), err);
	assert_ok(ipam_resource_delete(db, eip, &err), err);
	{
		ipam_cidr c = C(space);
		assert_ok(ipam_pool_deprovision(db, pool, &c, &err), err);
	}
	assert_ok(ipam_pool_delete(db, pool, &err), err);
}

/* Backup and sync, then the removals of what pools() made. */
static void teardown(ipam *db, struct world *w)
{
	ipam_err err = {0};
	unsigned char *image = NULL;
	size_t len = 0;
	char name[IPAM_NAME_MAX + 1];

	assert_ok(ipam_sync(db, &err), err);
	assert_true(ipam_backup_size(db) > 0);
	assert_ok(ipam_backup(db, &image, &len, &err), err);
	assert_true(len >= 4096);
	assert_memory_equal(image, "SQLite format 3", 16);
	free(image);

	/* export, and the export planned and imported again: no change */
	{
		char *doc = NULL, *hist = NULL;
		size_t dlen = 0, hlen = 0;
		ipam_import_result res;
		assert_ok(ipam_export_json(db, &doc, &dlen, &err), err);
		assert_ok(ipam_export_history_json(db, &hist, &hlen, &err),
			  err);
		assert_ok(ipam_import(db, doc, dlen, true, &res, &err), err);
		assert_string_equal(ipam_import_format_name(res.format),
				    "ipamfs");
		assert_int_equal(res.changes_len, 0);
		ipam_import_result_free(&res);
		assert_ok(ipam_import(db, doc, dlen, false, &res, &err), err);
		assert_int_equal(res.created + res.changed + res.deleted, 0);
		ipam_import_result_free(&res);
		free(doc);
		free(hist);
	}

	assert_ok(ipam_alloc_release(db, w->child, "web", &err), err);
	assert_ok(ipam_alloc_release(db, w->child, "fixed", &err), err);
	assert_ok(ipam_pool_delete(db, w->v6, &err), err);
	{
		ipam_scope_info sc;
		assert_ok(ipam_scope_get_by_key(db, w->lab, &sc, &err), err);
		snprintf(name, sizeof(name), "%s", sc.name);
	}
	if (strcmp(name, "lab0") != 0)
		assert_ok(ipam_scope_delete(db, name, &err), err);
}

static void test_every_call_on_one_handle(void **state)
{
	char dir[64], path[128];
	struct world w[3];
	ipam_err err = {0};
	ipam *db;
	(void)state;

	pure_functions();
	tmp_dir(dir);
	snprintf(path, sizeof(path), "%s/ipam.db", dir);
	{
		ipam_open_opts opts = fixture_opts();
		assert_ok(ipam_open(&db, path, &opts, &err), err);
	}
	ipam_level(db);
	for (int round = 0; round < 3; round++) {
		pools(db, &w[round], round);
		prefix_lists(db, &w[round], round);
		policies(db, round);
		resources(db, &w[round], round);
		render_db = db;
		provider_space(db, round);
		planning(db, &w[round], round);
		public_space(db, round);
		teardown(db, &w[round]);
	}
	/* the deprovision path, on the last round's pools */
	{
		ipam_cidr top = C("12.0.0.0/8");
		ipam_pool_cidr *cidrs = NULL;
		size_t n = 0;
		assert_ok(ipam_pool_cidrs(db, w[2].child, &cidrs, &n, &err),
			  err);
		for (size_t i = 0; i < n; i++)
			assert_ok(ipam_pool_deprovision(db, w[2].child,
							&cidrs[i].cidr, &err),
				  err);
		free(cidrs);
		assert_ok(ipam_pool_delete(db, w[2].child, &err), err);
		assert_ok(ipam_pool_deprovision(db, w[2].top, &top, &err), err);
	}
	assert_ok(ipam_check(db, &err), err);
	assert_true(hook_calls > 0);
	assert_true(remove_calls > 0);
	ipam_free(db);

	/* the file holds it all */
	db = open_file(path, false);
	assert_ok(ipam_check(db, &err), err);
	assert_ok(ipam_pool_get(db, w[1].top, &(ipam_pool_info){0}, &err), err);
	ipam_free(db);
	tmp_dir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_call_on_one_handle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
