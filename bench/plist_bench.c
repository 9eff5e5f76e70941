/*
 * plist_bench.c - what one new allocation costs when a prefix-list
 * resolver follows the pool, at 10^3 and at 10^5 allocations.
 *
 * Two in-memory IPAMs side by side, each with one pool (10.0.0.0/8) and a
 * resolver whose rule is `pool private` (every allocation of the scope):
 * one is filled to 10^3 /32 allocations, the other to 10^5 (one
 * transaction each). Then single allocations, each its own transaction as
 * a FUSE write makes them, are timed in both, in rounds that alternate
 * between the two so machine noise hits both alike; the fastest round of
 * each counts. Printed: the cost per allocation at both sizes, the ratio
 * (the design goal is <= 2), the cost of the same allocation in a third
 * IPAM with 10^5 allocations and no resolver (the resolver's share), and
 * the cost of resolving from scratch (rewriting the rules) at 10^5, which
 * is what a resolver recomputed on change would pay every time.
 *
 *   plist_bench [--small N] [--large N] [--sample N] [--rounds N]
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipam.h"

static double now_wall(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int64_t fixed_clock(void *ctx)
{
	(void)ctx;
	return 1795773600LL;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "plist_bench: %s: %s\n", what, msg);
	exit(1);
}

typedef struct side {
	ipam *db;
	int64_t pool;
	long serial;
} side;

static void side_alloc(side *s)
{
	char name[32];
	ipam_alloc_req req = {.name = name, .prefix_len = 32};
	ipam_err err = {0};
	snprintf(name, sizeof(name), "a%ld", s->serial++);
	if (ipam_alloc_create(s->db, s->pool, &req, NULL, &err))
		die("allocation", err.msg);
}

static void side_open(side *s, long fill, bool resolver)
{
	ipam_open_opts opts = {.create = true,
			       .clock = fixed_clock,
			       .id_seed = 42,
			       .in_memory = true};
	ipam_scope_info sc;
	ipam_cidr all;
	ipam_err err = {0};
	const char *rule = "pool private";
	memset(s, 0, sizeof(*s));
	if (ipam_open(&s->db, NULL, &opts, &err) ||
	    ipam_scope_get(s->db, "private", &sc, &err) ||
	    ipam_pool_create(s->db, sc.key, 0, "bench", &s->pool, &err) ||
	    ipam_cidr_parse(&all, "10.0.0.0/8", &err) ||
	    ipam_pool_provision(s->db, s->pool, &all, &err))
		die("setup", err.msg);
	if (resolver && (ipam_plist_create(s->db, "fw", &err) ||
			 ipam_plist_set_rules(s->db, "fw", &rule, 1, &err)))
		die("resolver", err.msg);
	if (ipam_txn_begin(s->db, NULL, &err))
		die("fill", err.msg);
	while (s->serial < fill)
		side_alloc(s);
	if (ipam_txn_commit(s->db, &err))
		die("fill", err.msg);
}

/* Seconds per allocation over `sample` single-transaction allocations. */
static double round_cost(side *s, long sample)
{
	double t0 = now_wall();
	for (long i = 0; i < sample; i++)
		side_alloc(s);
	return (now_wall() - t0) / (double)sample;
}

static long arg_long(int argc, char **argv, const char *name, long def)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return atol(argv[i + 1]);
	return def;
}

int main(int argc, char **argv)
{
	long small = arg_long(argc, argv, "--small", 1000);
	long large = arg_long(argc, argv, "--large", 100000);
	long sample = arg_long(argc, argv, "--sample", 200);
	long rounds = arg_long(argc, argv, "--rounds", 7);
	side a, b, c;
	double best_a = 1e9, best_b = 1e9, best_c = 1e9;
	ipam_plist_info info;
	ipam_err err = {0};

	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_TOP_PAD, 16 << 20);
	side_open(&a, small, true);
	side_open(&b, large, true);
	side_open(&c, large, false);
	for (long r = 0; r < rounds; r++) {
		double x = round_cost(&a, sample);
		double y = round_cost(&b, sample);
		double z = round_cost(&c, sample);
		best_a = x < best_a ? x : best_a;
		best_b = y < best_b ? y : best_b;
		best_c = z < best_c ? z : best_c;
	}
	if (ipam_plist_get(b.db, "fw", &info, &err))
		die("get", err.msg);
	const char *rule = "pool private";
	double t0 = now_wall();
	if (ipam_plist_set_rules(b.db, "fw", &rule, 1, &err))
		die("rules", err.msg);
	double scratch = now_wall() - t0;

	printf("allocations  resolver  us/allocation\n");
	printf("%11ld  %8s  %13.1f\n", small, "yes", best_a * 1e6);
	printf("%11ld  %8s  %13.1f\n", large, "yes", best_b * 1e6);
	printf("%11ld  %8s  %13.1f\n", large, "no", best_c * 1e6);
	printf("entries in the large resolver: %lld (version %lld)\n",
	       (long long)info.entries, (long long)info.version);
	printf("ratio %ld/%ld with a resolver: %.2f (goal <= 2)\n", large,
	       small, best_b / best_a);
	printf("resolving %ld allocations from scratch: %.0f ms "
	       "(%.0fx one incremental allocation)\n",
	       large, scratch * 1e3, scratch / best_b);
	ipam_free(a.db);
	ipam_free(b.db);
	ipam_free(c.db);
	return 0;
}
