/*
 * fuzz_cidr.c - libFuzzer harness of the CIDR, count and time parsers and
 * printers of core/base/cidr.c and core/base/util.c.
 *
 * The input is one text. Properties checked (abort on violation):
 *  - ipam_cidr_parse: what parses prints canonically, and the printed form
 *    parses back to the same block: parse(format(parse(x))) == parse(x);
 *    printing is idempotent, and the file-name form round-trips too;
 *  - ipam_cidr_parse_filename: the same, in the other direction;
 *  - a parsed block contains itself, its last address is not below its
 *    first, and the fewest-blocks split of [first, last] is that block;
 *  - ipam_u128_parse: format(parse(x)) parses back to the same count;
 *  - ipam_time_parse: never reads past the text; every accepted time
 *    (1970-9999, real calendar dates) prints back to the same second;
 *  - against the C library as an oracle: an address ipam_cidr_parse takes
 *    is one inet_pton(3) takes, with the same bytes, and ipam_cidr_format
 *    prints it as inet_ntop(3) does (RFC 5952; not for ::/96 and
 *    ::ffff:0:0/96, which glibc prints with a dotted-quad tail).
 */
#include "ipam.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: property failed: %s\n",        \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

static bool same(const ipam_cidr *a, const ipam_cidr *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       a->addr == b->addr;
}

/* What every parsed block must satisfy. */
static void check_block(const ipam_cidr *c)
{
	char text[IPAM_CIDR_STRLEN], again[IPAM_CIDR_STRLEN];
	char fname[IPAM_CIDR_STRLEN];
	ipam_cidr back, fback;
	ipam_err err = {0};

	CHECK(c->family == 4 || c->family == 6);
	CHECK(c->prefix <= ipam_family_width(c->family));
	ipam_cidr_format(c, text);
	CHECK(ipam_cidr_parse(&back, text, &err) == 0);
	CHECK(same(c, &back));
	ipam_cidr_format(&back, again);
	CHECK(strcmp(text, again) == 0);

	ipam_cidr_format_filename(c, fname);
	CHECK(strchr(fname, '/') == NULL);
	CHECK(ipam_cidr_parse_filename(&fback, fname, &err) == 0);
	CHECK(same(c, &fback));

	CHECK(ipam_cidr_contains(c, c));
	CHECK(ipam_cidr_overlaps(c, c));
	CHECK(ipam_cidr_compare(c, c) == 0);
	CHECK(ipam_cidr_last(c) >= c->addr);
	ipam_cidr parts[2 * 128 + 2];
	size_t n = ipam_range_split(c->family, c->addr, ipam_cidr_last(c),
				    parts, sizeof(parts) / sizeof(parts[0]));
	CHECK(n == 1 && same(&parts[0], c));
}

/* The C library agrees on the address of `text` (which parsed as c). */
static void check_libc(const char *text, const ipam_cidr *c)
{
	char addr[IPAM_CIDR_STRLEN + 64], ours[IPAM_CIDR_STRLEN];
	char theirs[INET6_ADDRSTRLEN];
	unsigned char bytes[16];
	const char *slash = strrchr(text, '/');
	int af = c->family == 4 ? AF_INET : AF_INET6;
	size_t n = slash ? (size_t)(slash - text) : 0;

	CHECK(slash != NULL && n < sizeof(addr));
	memcpy(addr, text, n);
	addr[n] = '\0';
	CHECK(inet_pton(af, addr, bytes) == 1);
	ipam_u128 v = 0;
	for (int i = 0; i < (c->family == 4 ? 4 : 16); i++)
		v = (v << 8) | bytes[i];
	CHECK(v == c->addr);
	if (c->family == 6 && (c->addr >> 32) == 0)
		return; /* ::/96: glibc prints ::a.b.c.d */
	if (c->family == 6 && (c->addr >> 32) == 0xffff)
		return; /* ::ffff:0:0/96: glibc prints ::ffff:a.b.c.d */
	ipam_addr_format(c->family, c->addr, ours);
	CHECK(inet_ntop(af, bytes, theirs, sizeof(theirs)) != NULL);
	CHECK(strcmp(ours, theirs) == 0);
}

/* The fewest-blocks split of an arbitrary range covers it exactly, in
 * order, with aligned blocks. */
static void check_split(int family, ipam_u128 a, ipam_u128 b)
{
	ipam_cidr parts[2 * 128 + 2];
	if (family == 4) {
		a &= 0xffffffffu;
		b &= 0xffffffffu;
	}
	if (a > b) {
		ipam_u128 t = a;
		a = b;
		b = t;
	}
	size_t n = ipam_range_split(family, a, b, parts,
				    sizeof(parts) / sizeof(parts[0]));
	CHECK(n >= 1 && n <= (size_t)2 * ipam_family_width(family));
	ipam_u128 next = a;
	for (size_t i = 0; i < n; i++) {
		CHECK(parts[i].family == family);
		CHECK(parts[i].addr == next);
		ipam_u128 last = ipam_cidr_last(&parts[i]);
		CHECK(last >= parts[i].addr);
		if (i + 1 < n)
			next = last + 1;
		else
			CHECK(last == b);
	}
}

static void check_u128(const char *text)
{
	ipam_u128 v, back;
	char out[IPAM_U128_STRLEN];

	if (ipam_u128_parse(&v, text) != 0)
		return;
	ipam_u128_format(v, out);
	CHECK(ipam_u128_parse(&back, out) == 0);
	CHECK(back == v);
}

static void check_time(const char *text)
{
	int64_t t, back;
	char out[IPAM_TIME_STRLEN];

	if (ipam_time_parse(&t, text) != 0)
		return;
	ipam_time_format(t, out);
	CHECK(ipam_time_parse(&back, out) == 0);
	CHECK(back == t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	ipam_cidr c;
	ipam_err err = {0};

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (ipam_cidr_parse(&c, text, &err) == 0) {
		check_block(&c);
		check_libc(text, &c);
	} else
		CHECK(err.code != 0 && err.msg[0] != '\0');
	memset(&err, 0, sizeof(err));
	if (ipam_cidr_parse_filename(&c, text, &err) == 0)
		check_block(&c);
	check_u128(text);
	check_time(text);

	if (size >= 33) {
		ipam_u128 a = 0, b = 0;
		memcpy(&a, data + 1, 16);
		memcpy(&b, data + 17, 16);
		check_split(data[0] & 1 ? 6 : 4, a, b);
	}
	free(text);
	return 0;
}
