/*
 * svg_bench.c - how long map.svg takes, and how big it is, for a /8 with
 * 10^5 allocations (issue 15: "well under a second, a few hundred KB").
 *
 * One in-memory IPAM, a top-level pool 10.0.0.0/8 filled in one
 * transaction with N allocations in the worst mix for merging: a custom
 * /26 every 128 addresses (so free and allocated blocks alternate), and a
 * managed VPC every 1000th (its own state). Then map.svg, a zoom into a
 * /16 and a zoom into a /24 are each rendered RUNS times; the fastest run
 * counts (RUNS, default 5). Then a second /8 with N allocations of random
 * sizes (/24-/30) at random places, where every merged rectangle has its
 * own used share (the hard case for the size). Also an IPv6 /48 with 256 /56s. Prints a table.
 *
 *   svg_bench [N [RUNS]]      default 100000 5
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipam.h"

static int runs = 5; /* renders per view; the fastest counts */

static double clock_s(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* CPU time of this process: on a shared, loaded machine the wall time
 * says more about the neighbours than about the renderer. */
static double cpu(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static void check(int rc, const ipam_err *err, const char *what)
{
	if (rc) {
		fprintf(stderr, "svg_bench: %s: %s\n", what, err->msg);
		exit(1);
	}
}

static ipam_cidr cidr(const char *text)
{
	ipam_cidr c;
	ipam_err err = {0};
	check(ipam_cidr_parse(&c, text, &err), &err, text);
	return c;
}

/* Renders RUNS times; prints the fastest time and the size. */
static void measure(ipam *db, int64_t pool, const char *view)
{
	ipam_cidr v;
	double best = 1e9, best_cpu = 1e9;
	size_t len = 0;
	if (view)
		v = cidr(view);
	for (int i = 0; i < runs; i++) {
		char *out = NULL;
		ipam_err err = {0};
		double t0 = now(), c0 = cpu();
		check(ipam_render_map_svg(db, pool, 0, view ? &v : NULL, &out,
					  &len, &err),
		      &err, "render");
		double t = now() - t0, c = cpu() - c0;
		if (t < best)
			best = t;
		if (c < best_cpu)
			best_cpu = c;
		free(out);
	}
	printf("%-22s %9.1f ms wall %9.1f ms cpu %9.1f KB\n",
	       view ? view : "map.svg", best * 1e3, best_cpu * 1e3,
	       (double)len / 1024);
}

static int64_t pool(ipam *db, const char *name, int family, const char *space)
{
	ipam_scope_info scope;
	ipam_err err = {0};
	int64_t key = 0;
	ipam_cidr c = cidr(space);
	check(ipam_scope_get(db, "private", &scope, &err), &err, "scope");
	check(ipam_pool_create(db, scope.key, 0, name, &key, &err), &err,
	      "pool");
	check(ipam_pool_set_family(db, key, family, &err), &err, "family");
	check(ipam_pool_provision(db, key, &c, &err), &err, "provision");
	return key;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
	ipam_open_opts opts = {.create = true, .in_memory = true, .id_seed = 1};
	ipam_err err = {0};
	ipam *db = NULL;
	if (argc > 2)
		runs = atoi(argv[2]);
	if (n < 1 || n > 130000 || runs < 1) {
		fprintf(stderr, "usage: svg_bench [N <= 130000 [RUNS]]\n");
		return 2;
	}
	check(ipam_open(&db, NULL, &opts, &err), &err, "open");
	int64_t v4 = pool(db, "v4", 4, "10.0.0.0/8");
	double t0 = now();
	check(ipam_txn_begin(db, NULL, &err), &err, "begin");
	for (long i = 0; i < n; i++) {
		ipam_cidr c = {0x0a000000u + (ipam_u128)i * 128, 4, 26};
		ipam_alloc_req req = {NULL, &c, -1, NULL};
		check(ipam_alloc_create(db, v4, &req, NULL, &err), &err,
		      "allocate");
	}
	check(ipam_txn_commit(db, &err), &err, "commit");
	printf("%ld allocations in a /8 made in %.1f s\n", n, now() - t0);
	measure(db, v4, NULL);
	measure(db, v4, "10.1.0.0/16");
	measure(db, v4, "10.1.2.0/24");

	/* Random sizes at random places: every merged rectangle has its own
	 * used share, the hard case for the file size. */
	int64_t rnd = pool(db, "random", 4, "172.0.0.0/8");
	long made = 0;
	srand(1);
	t0 = now();
	check(ipam_txn_begin(db, NULL, &err), &err, "begin");
	for (long i = 0; made < n && i < 4 * n; i++) {
		int prefix = 24 + rand() % 7;
		uint32_t at = ((uint32_t)rand() << 8) & 0x00ffffffu;
		ipam_cidr c = {0xac000000u |
				       (at & ~((1u << (32 - prefix)) - 1)),
			       4, (uint8_t)prefix};
		ipam_alloc_req req = {NULL, &c, -1, NULL};
		ipam_err why = {0};
		if (ipam_alloc_create(db, rnd, &req, NULL, &why) == 0)
			made++;
	}
	check(ipam_txn_commit(db, &err), &err, "commit");
	printf("%ld random /24-/30 allocations in a /8 made in %.1f s\n", made,
	       now() - t0);
	measure(db, rnd, NULL);

	int64_t v6 = pool(db, "v6", 6, "fd12:3456:789a::/48");
	for (int i = 0; i < 256; i += 2) {
		char text[64];
		snprintf(text, sizeof(text), "fd12:3456:789a:%x00::/56", i);
		ipam_cidr c = cidr(text);
		ipam_alloc_req req = {NULL, &c, -1, NULL};
		check(ipam_alloc_create(db, v6, &req, NULL, &err), &err,
		      "allocate");
	}
	printf("128 /56s in an IPv6 /48:\n");
	measure(db, v6, NULL);
	ipam_free(db);
	return 0;
}
