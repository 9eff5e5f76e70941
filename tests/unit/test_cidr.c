/*
 * test_cidr.c - unit tests of core/base/cidr.c: CIDR parsing and formatting,
 * block arithmetic, range splitting and 128-bit decimal text.
 *
 * Every case checks what a user would see: the exact canonical text of a
 * parsed CIDR, the exact error message of a refused one, exact counts and
 * exact percentages. The range splitter is also checked against a brute
 * force minimum over every small IPv4 range.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipam.h"

#define U128_MAX (~(ipam_u128)0)

/* A 128-bit value from its high and low 64 bits. */
static ipam_u128 u128(uint64_t high, uint64_t low)
{
	return (ipam_u128)high << 64 | low;
}

/* Checks that `value` prints as `expected` in decimal. */
static void assert_u128(ipam_u128 value, const char *expected)
{
	char text[IPAM_U128_STRLEN];

	ipam_u128_format(value, text);
	assert_string_equal(text, expected);
}

/* Parses `text`, which must be valid, and returns the block. */
static ipam_cidr cidr(const char *text)
{
	ipam_cidr out;
	ipam_err err = {0};

	if (ipam_cidr_parse(&out, text, &err) != 0)
		fail_msg("cannot parse '%s': %s", text, err.msg);
	return out;
}

/* Checks that `block` prints as `expected`. */
static void assert_cidr_text(const ipam_cidr *block, const char *expected)
{
	char text[IPAM_CIDR_STRLEN];

	ipam_cidr_format(block, text);
	assert_string_equal(text, expected);
}

/* ------------------------------------------------------------------------
 * Parsing
 * ------------------------------------------------------------------------ */

static void test_parse_valid(void **state)
{
	static const struct {
		const char *text;
		const char *canonical;
	} cases[] = {
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"0.0.0.0/32", "0.0.0.0/32"},
		{"255.255.255.255/32", "255.255.255.255/32"},
		{"192.168.1.0/24", "192.168.1.0/24"},
		{"172.16.0.0/12", "172.16.0.0/12"},
		{"100.64.0.0/10", "100.64.0.0/10"},
		{"2001:DB8::/32", "2001:db8::/32"},
		{"2001:db8:0:0:0:0:0:0/32", "2001:db8::/32"},
		{"::/0", "::/0"},
		{"::/128", "::/128"},
		{"::1/128", "::1/128"},
		{"fe80::/10", "fe80::/10"},
		{"fd00::/8", "fd00::/8"},
		{"::ffff:1.2.3.4/128", "::ffff:102:304/128"},
		{"::1.2.3.4/128", "::102:304/128"},
		{"1:2:3:4:5:6:1.2.3.4/128", "1:2:3:4:5:6:102:304/128"},
		{"1:2:3:4:5:6:7:8/128", "1:2:3:4:5:6:7:8/128"},
		{"1:2:3:4:5:6:7::/128", "1:2:3:4:5:6:7:0/128"},
		{"::2:3:4:5:6:7:8/128", "0:2:3:4:5:6:7:8/128"},
		{"0000:0000:0000:0000:0000:0000:0000:0001/128", "::1/128"},
		{"2001:0db8:0000:0000:0000:ff00:0042:8329/128",
		 "2001:db8::ff00:42:8329/128"},
		{"FFFF:ffff:FFFF:ffff:ffff:ffff:ffff:ffff/128",
		 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"},
		{"2001:DB8:ABCD:EF00::/56", "2001:db8:abcd:ef00::/56"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ipam_cidr out;
		ipam_err err = {0};
		int rc = ipam_cidr_parse(&out, cases[i].text, &err);

		if (rc != 0)
			fail_msg("'%s' refused: %s", cases[i].text, err.msg);
		assert_int_equal(err.code, IPAM_OK);
		assert_string_equal(err.msg, "");
		assert_cidr_text(&out, cases[i].canonical);
	}
}

static void test_parse_fields(void **state)
{
	ipam_cidr block = cidr("10.1.2.0/24");

	assert_int_equal(block.family, 4);
	assert_int_equal(block.prefix, 24);
	assert_true(block.addr == 0x0a010200);

	block = cidr("2001:db8::/32");
	assert_int_equal(block.family, 6);
	assert_int_equal(block.prefix, 32);
	assert_true(block.addr == u128(0x20010db800000000ull, 0));

	block = cidr("::ffff:1.2.3.4/128");
	assert_true(block.addr == u128(0, 0x0000ffff01020304ull));
}

static void test_parse_invalid(void **state)
{
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		{"10.0.0.1/24", "invalid CIDR '10.0.0.1/24': host bits set "
				"(did you mean 10.0.0.0/24?)"},
		{"10.0.0.0/33", "invalid CIDR '10.0.0.0/33': prefix length "
				"must be 0..32"},
		{"::/129", "invalid CIDR '::/129': prefix length must be "
			   "0..128"},
		{"010.0.0.0/8", "invalid CIDR '010.0.0.0/8': IPv4 octet with "
				"a leading zero"},
		{"10.0.0.0/08", "invalid CIDR '10.0.0.0/08': prefix length "
				"with a leading zero"},
		{" 10.0.0.0/8", "invalid CIDR ' 10.0.0.0/8': unexpected "
				"character ' '"},
		{"10.0.0.0/8 ", "invalid CIDR '10.0.0.0/8 ': unexpected "
				"character ' ' in prefix length"},
		{"10.0.0.0 /8", "invalid CIDR '10.0.0.0 /8': unexpected "
				"character ' '"},
		{"1.2.3/24", "invalid CIDR '1.2.3/24': fewer than 4 IPv4 "
			     "octets"},
		{"1.2.3.4.5/32", "invalid CIDR '1.2.3.4.5/32': more than 4 "
				 "IPv4 octets"},
		{"256.0.0.0/8", "invalid CIDR '256.0.0.0/8': IPv4 octet over "
				"255"},
		{"1.2.3.1000/32", "invalid CIDR '1.2.3.1000/32': IPv4 octet "
				  "over 255"},
		{"1..2.3/8", "invalid CIDR '1..2.3/8': empty IPv4 octet"},
		{".1.2.3/8", "invalid CIDR '.1.2.3/8': empty IPv4 octet"},
		{"1.2.3.4./32", "invalid CIDR '1.2.3.4./32': empty IPv4 "
				"octet"},
		{"1.2.3.a/32", "invalid CIDR '1.2.3.a/32': unexpected "
			       "character 'a'"},
		{"0x0a.0.0.0/8", "invalid CIDR '0x0a.0.0.0/8': unexpected "
				 "character 'x'"},
		{"+10.0.0.0/8", "invalid CIDR '+10.0.0.0/8': unexpected "
				"character '+'"},
		{"1::2::3/64", "invalid CIDR '1::2::3/64': more than one "
			       "'::'"},
		{"12345::/16", "invalid CIDR '12345::/16': IPv6 group of more "
			       "than 4 hex digits"},
		{"", "invalid CIDR '': empty"},
		{"/", "invalid CIDR '/': missing address"},
		{"/24", "invalid CIDR '/24': missing address"},
		{"10.0.0.0", "invalid CIDR '10.0.0.0': missing prefix length "
			     "(like '/24')"},
		{"10.0.0.0_24", "invalid CIDR '10.0.0.0_24': missing prefix "
				"length (like '/24')"},
		{"10.0.0.0/", "invalid CIDR '10.0.0.0/': missing prefix "
			      "length after '/'"},
		{"10.0.0.0/+8", "invalid CIDR '10.0.0.0/+8': unexpected "
				"character '+' in prefix length"},
		{"10.0.0.0/-1", "invalid CIDR '10.0.0.0/-1': unexpected "
				"character '-' in prefix length"},
		{"10.0.0.0/1000", "invalid CIDR '10.0.0.0/1000': prefix "
				  "length must be 0..32"},
		{"10.0.0.0/99999999999999999999",
		 "invalid CIDR '10.0.0.0/99999999999999999999': prefix "
		 "length must be 0..32"},
		{"10.0.0.0/8/8", "invalid CIDR '10.0.0.0/8/8': unexpected "
				 "character '/' in prefix length"},
		{"1:2:3:4:5:6:7:8:9/128", "invalid CIDR "
					  "'1:2:3:4:5:6:7:8:9/128': more "
					  "than 8 IPv6 groups"},
		{"1:2:3:4:5:6:7/128", "invalid CIDR '1:2:3:4:5:6:7/128': "
				      "fewer than 8 IPv6 groups and no "
				      "'::'"},
		{"1:2:3:4:5:6:7:8::/128", "invalid CIDR "
					  "'1:2:3:4:5:6:7:8::/128': more "
					  "than 7 IPv6 groups with '::'"},
		{"::1:2:3:4:5:6:7:8/128", "invalid CIDR "
					  "'::1:2:3:4:5:6:7:8/128': more "
					  "than 7 IPv6 groups with '::'"},
		{":1::/64", "invalid CIDR ':1::/64': IPv6 address starts "
			    "with a single ':'"},
		{"1::2:/128", "invalid CIDR '1::2:/128': IPv6 address ends "
			      "with a single ':'"},
		{":::/0", "invalid CIDR ':::/0': empty IPv6 group"},
		{"1.2.3.4::/128", "invalid CIDR '1.2.3.4::/128': dotted IPv4 "
				  "part allowed only as the last 32 bits"},
		{"::1.2.3/128", "invalid CIDR '::1.2.3/128': fewer than 4 "
				"IPv4 octets"},
		{"::01.2.3.4/128", "invalid CIDR '::01.2.3.4/128': IPv4 octet "
				   "with a leading zero"},
		{"1:2:3:4:5:6:7:1.2.3.4/128",
		 "invalid CIDR '1:2:3:4:5:6:7:1.2.3.4/128': more than 8 IPv6 "
		 "groups"},
		{"2001:db8::g/32", "invalid CIDR '2001:db8::g/32': unexpected "
				   "character 'g'"},
		{"fe80::1%eth0/64", "invalid CIDR 'fe80::1%eth0/64': "
				    "unexpected character '%'"},
		{"2001:db8::1/32", "invalid CIDR '2001:db8::1/32': host bits "
				   "set (did you mean 2001:db8::/32?)"},
		{"::ffff:1.2.3.4/96", "invalid CIDR '::ffff:1.2.3.4/96': host "
				      "bits set (did you mean "
				      "::ffff:0:0/96?)"},
		{"10.0.0.0/2\n", "invalid CIDR '10.0.0.0/2\\x0a': unexpected "
				 "character '\\x0a' in prefix length"},
		{"10.0.\x01.0/16", "invalid CIDR '10.0.\\x01.0/16': "
				   "unexpected character '\\x01'"},
		{"10.0.0.0\t/8", "invalid CIDR '10.0.0.0\\x09/8': unexpected "
				 "character '\\x09'"},
		{"10.0.0.0/8\xc3\xa9", "invalid CIDR '10.0.0.0/8\\xc3\\xa9': "
				       "unexpected character '\\xc3' in "
				       "prefix length"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ipam_cidr out = {.addr = 7, .family = 99, .prefix = 99};
		ipam_err err = {0};
		int rc = ipam_cidr_parse(&out, cases[i].text, &err);

		if (rc != IPAM_EINVAL)
			fail_msg("'%s' accepted", cases[i].text);
		assert_int_equal(err.code, IPAM_EINVAL);
		assert_string_equal(err.msg, cases[i].message);
		/* a refused parse leaves *out alone */
		assert_int_equal(out.family, 99);
		assert_int_equal(out.prefix, 99);
		assert_true(out.addr == 7);
	}
}

static void test_parse_length_limit(void **state)
{
	size_t huge = 100000;
	char *text = malloc(huge + 1);
	char expected[IPAM_ERR_MSG_MAX];
	ipam_cidr out;
	ipam_err err = {0};

	assert_non_null(text);
	memset(text, '1', huge);
	text[huge] = '\0';
	assert_int_equal(ipam_cidr_parse(&out, text, &err), IPAM_EINVAL);
	snprintf(expected, sizeof(expected),
		 "invalid CIDR '%.60s...': too long (more than 128 "
		 "characters)",
		 text);
	assert_string_equal(err.msg, expected);

	/* 129 characters are too long, 128 are parsed */
	text[129] = '\0';
	memset(&err, 0, sizeof(err));
	assert_int_equal(ipam_cidr_parse(&out, text, &err), IPAM_EINVAL);
	assert_non_null(strstr(err.msg, ": too long (more than 128 "));
	text[128] = '\0';
	memset(&err, 0, sizeof(err));
	assert_int_equal(ipam_cidr_parse(&out, text, &err), IPAM_EINVAL);
	assert_non_null(strstr(err.msg, "...': missing prefix length "
					"(like '/24')"));
	free(text);
}

static void test_parse_err_handling(void **state)
{
	ipam_cidr out;
	ipam_err err = {.code = IPAM_ENOSPC, .msg = "earlier failure"};

	/* err may be NULL */
	assert_int_equal(ipam_cidr_parse(&out, "10.0.0.1/8", NULL),
			 IPAM_EINVAL);
	assert_int_equal(ipam_cidr_parse_filename(&out, "x", NULL),
			 IPAM_EINVAL);
	/* the first error wins */
	assert_int_equal(ipam_cidr_parse(&out, "10.0.0.1/8", &err),
			 IPAM_EINVAL);
	assert_int_equal(err.code, IPAM_ENOSPC);
	assert_string_equal(err.msg, "earlier failure");
	/* NULL text is empty text */
	memset(&err, 0, sizeof(err));
	assert_int_equal(ipam_cidr_parse(&out, NULL, &err), IPAM_EINVAL);
	assert_string_equal(err.msg, "invalid CIDR '': empty");
}

static void test_parse_filename(void **state)
{
	static const struct {
		const char *name;
		const char *canonical; /* NULL: refused */
		const char *message;
	} cases[] = {
		{"10.0.0.0_24", "10.0.0.0_24", NULL},
		{"0.0.0.0_0", "0.0.0.0_0", NULL},
		{"2001:db8::_56", "2001:db8::_56", NULL},
		{"2001:DB8:0:0::_48", "2001:db8::_48", NULL},
		{"10.0.0.1_24", NULL,
		 "invalid CIDR file name '10.0.0.1_24': host bits set (did "
		 "you mean 10.0.0.0_24?)"},
		{"10.0.0.0/24", NULL,
		 "invalid CIDR file name '10.0.0.0/24': missing prefix length "
		 "(like '_24')"},
		{"10.0.0.0_", NULL,
		 "invalid CIDR file name '10.0.0.0_': missing prefix length "
		 "after '_'"},
		{"2001:db8::_129", NULL,
		 "invalid CIDR file name '2001:db8::_129': prefix length must "
		 "be 0..128"},
		{"10.0.0.0_24_", NULL,
		 "invalid CIDR file name '10.0.0.0_24_': unexpected character "
		 "'_' in prefix length"},
		{"", NULL, "invalid CIDR file name '': empty"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ipam_cidr out;
		ipam_err err = {0};
		int rc = ipam_cidr_parse_filename(&out, cases[i].name, &err);
		char text[IPAM_CIDR_STRLEN];

		if (cases[i].canonical == NULL) {
			assert_int_equal(rc, IPAM_EINVAL);
			assert_string_equal(err.msg, cases[i].message);
			continue;
		}
		if (rc != 0)
			fail_msg("'%s' refused: %s", cases[i].name, err.msg);
		ipam_cidr_format_filename(&out, text);
		assert_string_equal(text, cases[i].canonical);
	}
}

/* ------------------------------------------------------------------------
 * Formatting
 * ------------------------------------------------------------------------ */

static void test_format_rfc5952(void **state)
{
	static const struct {
		const char *text;
		const char *canonical;
	} cases[] = {
		/* the longest run is compressed */
		{"2001:db8:0:0:1:0:0:1/128", "2001:db8::1:0:0:1/128"},
		{"2001:0:0:1:0:0:0:1/128", "2001:0:0:1::1/128"},
		{"0:0:1:0:0:0:1:0/128", "0:0:1::1:0/128"},
		/* a single zero group is not */
		{"2001:db8:0:1:1:1:1:1/128", "2001:db8:0:1:1:1:1:1/128"},
		{"0:1:0:1:0:1:0:1/128", "0:1:0:1:0:1:0:1/128"},
		{"1:2:3:4:5:6:7:0/128", "1:2:3:4:5:6:7:0/128"},
		/* the leftmost of equal runs */
		{"1:0:0:2:0:0:3:4/128", "1::2:0:0:3:4/128"},
		{"1:0:0:2:3:4:0:0/128", "1::2:3:4:0:0/128"},
		/* runs at either end, and everywhere */
		{"0:0:0:0:0:0:0:0/128", "::/128"},
		{"0:0:0:0:0:0:0:1/128", "::1/128"},
		{"1:0:0:0:0:0:0:0/16", "1::/16"},
		{"1:0:0:0:0:0:0:1/128", "1::1/128"},
		{"0:0:1:2:3:4:5:6/128", "::1:2:3:4:5:6/128"},
		{"1:2:3:4:5:6:0:0/128", "1:2:3:4:5:6::/128"},
		/* lowercase, no leading zeros, no dotted quad */
		{"2001:0DB8:00AB:000C::/64", "2001:db8:ab:c::/64"},
		{"::ffff:0.0.0.0/96", "::ffff:0:0/96"},
		{"::ffff:192.0.2.1/128", "::ffff:c000:201/128"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ipam_cidr block = cidr(cases[i].text);

		assert_cidr_text(&block, cases[i].canonical);
	}
}

static void test_format_filename(void **state)
{
	char text[IPAM_CIDR_STRLEN];
	ipam_cidr block = cidr("10.0.0.0/24");

	ipam_cidr_format_filename(&block, text);
	assert_string_equal(text, "10.0.0.0_24");
	block = cidr("2001:db8::/56");
	ipam_cidr_format_filename(&block, text);
	assert_string_equal(text, "2001:db8::_56");
	block = cidr("::/0");
	ipam_cidr_format_filename(&block, text);
	assert_string_equal(text, "::_0");
	block = cidr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	ipam_cidr_format_filename(&block, text);
	assert_string_equal(text,
			    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff_128");
}

static void test_addr_format(void **state)
{
	char text[IPAM_CIDR_STRLEN];

	ipam_addr_format(4, 0, text);
	assert_string_equal(text, "0.0.0.0");
	ipam_addr_format(4, 0xc0a80101, text);
	assert_string_equal(text, "192.168.1.1");
	ipam_addr_format(4, 0xffffffff, text);
	assert_string_equal(text, "255.255.255.255");
	ipam_addr_format(6, 0, text);
	assert_string_equal(text, "::");
	ipam_addr_format(6, 1, text);
	assert_string_equal(text, "::1");
	ipam_addr_format(6, U128_MAX, text);
	assert_string_equal(text, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	ipam_addr_format(6, u128(0x20010db800000000ull, 0xffffffffffffffffull),
			 text);
	assert_string_equal(text, "2001:db8::ffff:ffff:ffff:ffff");
	ipam_addr_format(6, u128(0x0001000000000000ull, 0), text);
	assert_string_equal(text, "1::");
}

/* ------------------------------------------------------------------------
 * Block arithmetic
 * ------------------------------------------------------------------------ */

static void test_family_width(void **state)
{
	assert_int_equal(ipam_family_width(4), 32);
	assert_int_equal(ipam_family_width(6), 128);
	assert_int_equal(ipam_family_width(5), 0);
}

static void test_size_and_last(void **state)
{
	static const struct {
		const char *cidr;
		const char *size;
		const char *last;
	} cases[] = {
		{"0.0.0.0/0", "4294967296", "255.255.255.255"},
		{"10.0.0.0/8", "16777216", "10.255.255.255"},
		{"192.168.1.0/24", "256", "192.168.1.255"},
		{"10.1.2.3/32", "1", "10.1.2.3"},
		{"255.255.255.255/32", "1", "255.255.255.255"},
		/* 2^128 does not fit: the size of ::/0 is 0 */
		{"::/0", "0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"::/1", "170141183460469231731687303715884105728",
		 "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"2001:db8::/32", "79228162514264337593543950336",
		 "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"2001:db8::/64", "18446744073709551616",
		 "2001:db8::ffff:ffff:ffff:ffff"},
		{"2001:db8::/127", "2", "2001:db8::1"},
		{"::1/128", "1", "::1"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "1",
		 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ipam_cidr block = cidr(cases[i].cidr);
		char text[IPAM_CIDR_STRLEN];

		assert_u128(ipam_cidr_size(&block), cases[i].size);
		ipam_addr_format(block.family, ipam_cidr_last(&block), text);
		assert_string_equal(text, cases[i].last);
	}
}

static void test_contains(void **state)
{
	static const struct {
		const char *outer;
		const char *inner;
		bool expected;
	} cases[] = {
		{"10.0.0.0/8", "10.1.0.0/16", true},
		{"10.1.0.0/16", "10.0.0.0/8", false},
		{"10.0.0.0/8", "10.0.0.0/8", true},
		{"10.0.0.0/8", "10.255.255.255/32", true},
		{"10.0.0.0/8", "11.0.0.0/32", false},
		{"10.0.0.0/8", "9.255.255.255/32", false},
		{"0.0.0.0/0", "255.255.255.255/32", true},
		{"::/0", "2001:db8::/32", true},
		{"2001:db8::/32", "2001:db9::/32", false},
		{"2001:db8::/32", "2001:db8:ffff:ffff::/64", true},
		/* families never mix, even over equal numbers */
		{"0.0.0.0/0", "::/128", false},
		{"::/0", "10.0.0.0/8", false},
		{"::a00:0/104", "10.0.0.0/8", false},
		{"10.0.0.0/8", "::a00:0/104", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ipam_cidr outer = cidr(cases[i].outer);
		ipam_cidr inner = cidr(cases[i].inner);

		if (ipam_cidr_contains(&outer, &inner) != cases[i].expected)
			fail_msg("contains(%s, %s) should be %d",
				 cases[i].outer, cases[i].inner,
				 cases[i].expected);
	}
}

static void test_overlaps(void **state)
{
	static const struct {
		const char *a;
		const char *b;
		bool expected;
	} cases[] = {
		{"10.0.0.0/24", "10.0.0.128/25", true},
		{"10.0.0.0/25", "10.0.0.128/25", false},
		{"10.0.0.0/8", "10.255.255.255/32", true},
		{"10.0.0.0/8", "11.0.0.0/8", false},
		{"0.0.0.0/0", "1.2.3.4/32", true},
		{"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", true},
		{"2001:db8::/33", "2001:db8:8000::/33", false},
		{"2001:db8::/32", "2001:db8:8000::/33", true},
		{"::a00:0/104", "10.0.0.0/8", false},
		{"0.0.0.0/0", "::/0", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ipam_cidr a = cidr(cases[i].a);
		ipam_cidr b = cidr(cases[i].b);

		if (ipam_cidr_overlaps(&a, &b) != cases[i].expected ||
		    ipam_cidr_overlaps(&b, &a) != cases[i].expected)
			fail_msg("overlaps(%s, %s) should be %d", cases[i].a,
				 cases[i].b, cases[i].expected);
	}
}

static int compare_for_qsort(const void *a, const void *b)
{
	return ipam_cidr_compare(a, b);
}

static void test_compare(void **state)
{
	static const char *const sorted[] = {
		"0.0.0.0/0",	 "0.0.0.0/1",
		"9.0.0.0/8",	 "10.0.0.0/8",
		"10.0.0.0/16",	 "10.0.0.0/32",
		"10.0.0.1/32",	 "255.255.255.255/32",
		"::/0",		 "::/128",
		"::1/128",	 "::a00:0/104",
		"2001:db8::/32", "2001:db8::/48",
		"ffff::/16",
	};
	enum { COUNT = sizeof(sorted) / sizeof(sorted[0]) };
	ipam_cidr blocks[COUNT];

	for (size_t i = 0; i < COUNT; i++) {
		ipam_cidr block = cidr(sorted[i]);

		assert_int_equal(ipam_cidr_compare(&block, &block), 0);
		/* shuffled: reversed, then odd and even swapped */
		blocks[COUNT - 1 - i] = block;
	}
	for (size_t i = 0; i + 1 < COUNT; i += 2) {
		ipam_cidr swap = blocks[i];

		blocks[i] = blocks[i + 1];
		blocks[i + 1] = swap;
	}
	qsort(blocks, COUNT, sizeof(blocks[0]), compare_for_qsort);
	for (size_t i = 0; i < COUNT; i++)
		assert_cidr_text(&blocks[i], sorted[i]);

	ipam_cidr a = cidr("10.0.0.0/8");
	ipam_cidr b = cidr("10.0.0.0/16");
	assert_int_equal(ipam_cidr_compare(&a, &b), -1);
	assert_int_equal(ipam_cidr_compare(&b, &a), 1);
	b = cidr("::/0");
	assert_int_equal(ipam_cidr_compare(&a, &b), -1);
	assert_int_equal(ipam_cidr_compare(&b, &a), 1);
}

/* ------------------------------------------------------------------------
 * Range splitting
 * ------------------------------------------------------------------------ */

/* Splits [first, last] and checks the blocks' text, space separated. */
static void assert_split(int family, ipam_u128 first, ipam_u128 last,
			 const char *expected)
{
	ipam_cidr blocks[256];
	char text[4096] = "";
	size_t count = ipam_range_split(family, first, last, blocks, 256);

	assert_true(count <= 256);
	for (size_t i = 0; i < count; i++) {
		char one[IPAM_CIDR_STRLEN];

		ipam_cidr_format(&blocks[i], one);
		if (i > 0)
			strcat(text, " ");
		strcat(text, one);
	}
	assert_string_equal(text, expected);
}

static void test_range_split_examples(void **state)
{
	assert_split(4, 0x0a000001, 0x0a000006,
		     "10.0.0.1/32 10.0.0.2/31 10.0.0.4/31 10.0.0.6/32");
	assert_split(4, 0, 0xffffffff, "0.0.0.0/0");
	assert_split(4, 0x0a000000, 0x0a0001ff, "10.0.0.0/23");
	assert_split(4, 0xc0a80000, 0xc0a802ff,
		     "192.168.0.0/23 192.168.2.0/24");
	assert_split(4, 0x0a000005, 0x0a000005, "10.0.0.5/32");
	assert_split(4, 0xffffffff, 0xffffffff, "255.255.255.255/32");
	assert_split(4, 0x80000000, 0xffffffff, "128.0.0.0/1");
	assert_split(4, 1, 0, "");
	/* an IPv4 range beyond 32 bits is refused */
	assert_split(4, 0, (ipam_u128)1 << 32, "");
	assert_split(6, 0, U128_MAX, "::/0");
	assert_split(6, 0, U128_MAX >> 1, "::/1");
	assert_split(6, u128(0, UINT64_MAX), u128(1, 0),
		     "::ffff:ffff:ffff:ffff/128 0:0:0:1::/128");
	assert_split(6, u128(0x20010db800000000ull, 0),
		     u128(0x20010db800000000ull, UINT64_MAX), "2001:db8::/64");
	assert_split(6, U128_MAX, U128_MAX,
		     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	assert_split(5, 0, 1, "");
}

/* Checks that blocks[0..count) tile [first, last] exactly, in order. */
static void assert_tiles(const ipam_cidr *blocks, size_t count, int family,
			 ipam_u128 first, ipam_u128 last)
{
	ipam_u128 next = first;

	assert_true(count > 0);
	for (size_t i = 0; i < count; i++) {
		ipam_u128 size = ipam_cidr_size(&blocks[i]);

		assert_int_equal(blocks[i].family, family);
		assert_true(blocks[i].addr == next);
		/* aligned: the host bits of the address are zero */
		assert_true(size == 0 || (blocks[i].addr & (size - 1)) == 0);
		next = ipam_cidr_last(&blocks[i]) + 1;
	}
	assert_true(ipam_cidr_last(&blocks[count - 1]) == last);
}

static void test_range_split_worst_cases(void **state)
{
	ipam_cidr blocks[256];
	size_t count;

	/* [1, 2^32 - 2] needs 2 * 31 blocks: /32 /31 ... /2 /2 ... /32 */
	count = ipam_range_split(4, 1, 0xfffffffe, blocks, 256);
	assert_int_equal(count, 62);
	assert_tiles(blocks, count, 4, 1, 0xfffffffe);
	assert_cidr_text(&blocks[0], "0.0.0.1/32");
	assert_cidr_text(&blocks[30], "64.0.0.0/2");
	assert_cidr_text(&blocks[31], "128.0.0.0/2");
	assert_cidr_text(&blocks[61], "255.255.255.254/32");

	/* [1, 2^128 - 1]: ::1/128, ::2/127, ... 8000::/1 */
	count = ipam_range_split(6, 1, U128_MAX, blocks, 256);
	assert_int_equal(count, 128);
	assert_tiles(blocks, count, 6, 1, U128_MAX);
	assert_cidr_text(&blocks[0], "::1/128");
	assert_cidr_text(&blocks[1], "::2/127");
	assert_cidr_text(&blocks[127], "8000::/1");

	/* [1, 2^128 - 2] needs 2 * 127 blocks */
	count = ipam_range_split(6, 1, U128_MAX - 1, blocks, 256);
	assert_int_equal(count, 254);
	assert_tiles(blocks, count, 6, 1, U128_MAX - 1);
}

static void test_range_split_max(void **state)
{
	ipam_cidr blocks[3];
	ipam_cidr untouched = {.addr = 42, .family = 99, .prefix = 99};

	blocks[2] = untouched;
	/* returns the count the range needs, writes no more than max */
	assert_int_equal(ipam_range_split(4, 0x0a000001, 0x0a000006, blocks, 2),
			 4);
	assert_cidr_text(&blocks[0], "10.0.0.1/32");
	assert_cidr_text(&blocks[1], "10.0.0.2/31");
	assert_int_equal(blocks[2].family, 99);
	assert_true(blocks[2].addr == 42);
	assert_int_equal(ipam_range_split(4, 0x0a000001, 0x0a000006, NULL, 0),
			 4);
}

#define SMALL_RANGE 70 /* ranges checked against the minimum: [0, 70) */

/*
 * The fewest aligned blocks tiling [first, last] inside [0, SMALL_RANGE),
 * by dynamic programming over every tiling: fewest[a] is the minimum for
 * [a, last], the least of 1 + fewest[end + 1] over the aligned blocks
 * [a, end] with end <= last.
 */
static size_t fewest_blocks(uint32_t first, uint32_t last)
{
	size_t fewest[SMALL_RANGE + 1];

	assert_true(last < SMALL_RANGE);
	fewest[last + 1] = 0;
	for (uint32_t a = last + 1; a-- > first;) {
		fewest[a] = SIZE_MAX;
		for (uint32_t size = 1; a % size == 0 && a + size - 1 <= last;
		     size *= 2) {
			if (fewest[a + size] + 1 < fewest[a])
				fewest[a] = fewest[a + size] + 1;
		}
	}
	return fewest[first];
}

static void test_range_split_is_minimal(void **state)
{
	ipam_cidr blocks[64];

	for (uint32_t first = 0; first < SMALL_RANGE; first++) {
		for (uint32_t last = first; last < SMALL_RANGE; last++) {
			size_t count =
				ipam_range_split(4, first, last, blocks, 64);

			assert_true(count <= 64);
			assert_tiles(blocks, count, 4, first, last);
			assert_int_equal(count, fewest_blocks(first, last));
		}
	}
}

/* ------------------------------------------------------------------------
 * Decimal text
 * ------------------------------------------------------------------------ */

static void test_u128_format(void **state)
{
	assert_u128(0, "0");
	assert_u128(1, "1");
	assert_u128(10, "10");
	assert_u128(UINT64_MAX, "18446744073709551615");
	assert_u128((ipam_u128)1 << 64, "18446744073709551616");
	assert_u128(U128_MAX, "340282366920938463463374607431768211455");
}

static void test_u128_parse(void **state)
{
	static const struct {
		const char *text;
		ipam_u128 value;
	} valid[] = {
		{"0", 0},
		{"7", 7},
		{"4294967296", (ipam_u128)1 << 32},
		{"18446744073709551616", (ipam_u128)1 << 64},
		{"340282366920938463463374607431768211455", U128_MAX},
	};
	static const char *const invalid[] = {
		"",
		"00",
		"01",
		"+1",
		"-1",
		" 1",
		"1 ",
		"1a",
		"0x10",
		"1.5",
		"340282366920938463463374607431768211456",
		"340282366920938463463374607431768211460",
		"999999999999999999999999999999999999999999",
	};
	ipam_u128 value;

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		value = 12345;
		assert_int_equal(ipam_u128_parse(&value, valid[i].text), 0);
		assert_true(value == valid[i].value);
	}
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		value = 12345;
		if (ipam_u128_parse(&value, invalid[i]) != IPAM_EINVAL)
			fail_msg("'%s' accepted", invalid[i]);
		assert_true(value == 12345);
	}
	assert_int_equal(ipam_u128_parse(&value, NULL), IPAM_EINVAL);
}

static void test_percent(void **state)
{
	static const struct {
		ipam_u128 num;
		ipam_u128 den;
		const char *expected;
	} cases[] = {
		{1, 4, "25"},
		{1, 256, "0.390625"},
		{1, 3, "33.333333"},
		{2, 3, "66.666667"},
		{1, 8, "12.5"},
		{3, 8, "37.5"},
		{1, 1000000, "0.0001"},
		{4, 4, "100"},
		{0, 5, "0"},
		{0, 0, "0"},
		{5, 0, "0"},
		/* half-up at the sixth decimal */
		{1, 200000000, "0.000001"},
		{1, 200000001, "0"},
		{999999999, 1000000000, "100"},
		{999999989, 1000000000, "99.999999"},
		/* 128-bit operands */
		{(ipam_u128)1 << 127, (ipam_u128)1 << 127, "100"},
		{U128_MAX, U128_MAX, "100"},
		{U128_MAX - 1, U128_MAX, "100"},
		{(ipam_u128)1 << 127, U128_MAX, "50"},
		{U128_MAX / 3, U128_MAX, "33.333333"},
		{(ipam_u128)1 << 126, (ipam_u128)3 << 126, "33.333333"},
		{(ipam_u128)2 << 126, (ipam_u128)3 << 126, "66.666667"},
		{1, (ipam_u128)1 << 100, "0"},
		{(ipam_u128)1 << 64, (ipam_u128)1 << 72, "0.390625"},
		/* more than 100 is printed as is */
		{3, 2, "150"},
		{1001, 1000, "100.1"},
		{U128_MAX, 1, "34028236692093846346337460743176821145500"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[IPAM_PERCENT_STRLEN];

		ipam_percent_format(cases[i].num, cases[i].den, text);
		if (strcmp(text, cases[i].expected) != 0)
			fail_msg("case %zu: '%s', expected '%s'", i, text,
				 cases[i].expected);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_parse_length_limit),
		cmocka_unit_test(test_parse_err_handling),
		cmocka_unit_test(test_parse_filename),
		cmocka_unit_test(test_format_rfc5952),
		cmocka_unit_test(test_format_filename),
		cmocka_unit_test(test_addr_format),
		cmocka_unit_test(test_family_width),
		cmocka_unit_test(test_size_and_last),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_range_split_examples),
		cmocka_unit_test(test_range_split_worst_cases),
		cmocka_unit_test(test_range_split_max),
		cmocka_unit_test(test_range_split_is_minimal),
		cmocka_unit_test(test_u128_format),
		cmocka_unit_test(test_u128_parse),
		cmocka_unit_test(test_percent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
