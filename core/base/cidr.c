/*
 * cidr.c - IPv4/IPv6 CIDR parsing, formatting and 128-bit address math.
 *
 * Every address a user writes into ipamfs (in a control file or as a file
 * name) goes through the strict parser here, and every address ipamfs shows
 * comes out of the canonical printer here (dotted quad, RFC 5952 IPv6).
 * The rest is block arithmetic: size, last address, containment, overlap,
 * ordering, the split of an arbitrary address range into the fewest aligned
 * blocks, and exact decimal printing of 128-bit counts and percentages.
 *
 * Addresses are unsigned 128-bit integers; IPv4 uses the low 32 bits. The
 * file uses no SQLite, allocates nothing and depends on no other core file,
 * so it can be tested and reused on its own.
 */
#include "ipam.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CIDR_TEXT_MAX 128 /* longer input is refused before parsing */
#define SUBJECT_MAX 64	  /* an input quoted in a message, with its NUL */
#define SUBJECT_SHOWN 60  /* beyond this many bytes the quote ends "..." */

/* What is being parsed, for error messages. */
typedef struct cidr_input {
	const char *text; /* the whole input, quoted in messages */
	const char *what; /* "CIDR" or "CIDR file name" */
	char sep;	  /* '/' or '_' between address and prefix length */
	ipam_err *err;	  /* may be NULL */
} cidr_input;

static const char hex_digits[] = "0123456789abcdef";

/* ------------------------------------------------------------------------
 * Error messages
 * ------------------------------------------------------------------------ */

/*
 * Writes byte `c` as message text into `out`: itself when printable ASCII,
 * else "\xNN". Returns the number of characters written (1 or 4); `out` is
 * not NUL-terminated.
 */
static size_t escape_byte(char out[4], unsigned char c)
{
	if (c >= 0x20 && c < 0x7f) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex_digits[c >> 4];
	out[3] = hex_digits[c & 0xf];
	return 4;
}

/*
 * Copies `text` into `out` for quoting in an error message: control and
 * non-ASCII bytes are escaped, and text longer than SUBJECT_SHOWN is cut
 * and ends with "...". Reads `text` no further than it shows.
 */
static void quote_subject(char out[SUBJECT_MAX], const char *text)
{
	size_t used = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		char piece[4];
		size_t len = escape_byte(piece, *p);

		if (used + len > SUBJECT_SHOWN) {
			memcpy(out + used, "...", 3);
			used += 3;
			break;
		}
		memcpy(out + used, piece, len);
		used += len;
	}
	assert(used < SUBJECT_MAX);
	out[used] = '\0';
}

/*
 * Fails a parse: fills in->err (when given and still empty: the first
 * error wins) with "invalid <what> '<text>': <reason>" and returns
 * IPAM_EINVAL.
 */
__attribute__((format(printf, 2, 3))) static int cidr_fail(
	const cidr_input *in, const char *reason_fmt, ...)
{
	ipam_err *err = in->err;

	if (err != NULL && err->code == IPAM_OK) {
		char subject[SUBJECT_MAX];
		va_list ap;
		int used;

		quote_subject(subject, in->text);
		err->code = IPAM_EINVAL;
		used = snprintf(err->msg, sizeof(err->msg),
				"invalid %s '%s': ", in->what, subject);
		if (used > 0 && (size_t)used < sizeof(err->msg)) {
			va_start(ap, reason_fmt);
			vsnprintf(err->msg + used,
				  sizeof(err->msg) - (size_t)used, reason_fmt,
				  ap);
			va_end(ap);
		}
	}
	return IPAM_EINVAL;
}

/* Fails a parse because of the unexpected byte `c`, found in `where`. */
static int fail_char(const cidr_input *in, char c, const char *where)
{
	char shown[5];
	size_t len = escape_byte(shown, (unsigned char)c);

	shown[len] = '\0';
	return cidr_fail(in, "unexpected character '%s'%s", shown, where);
}

/* ------------------------------------------------------------------------
 * Small 128-bit helpers
 * ------------------------------------------------------------------------ */

/* 32 for IPv4, 128 for IPv6; 0 for anything else. */
int ipam_family_width(int family)
{
	return family == 4 ? 32 : family == 6 ? 128 : 0;
}

const char *ipam_family_name(int family)
{
	return family == 6 ? "ipv6" : "ipv4";
}

/* The low `bits` bits set (bits clamped to 0..128). */
static ipam_u128 low_mask(int bits)
{
	if (bits <= 0)
		return 0;
	if (bits >= 128)
		return ~(ipam_u128)0;
	return ((ipam_u128)1 << bits) - 1;
}

/*
 * Number of host bits of `cidr` (width - prefix, clamped to 0..width; 0
 * for a family that is neither 4 nor 6). Total on purpose: a CIDR read
 * from the database may carry any values a hand edit left there, and must
 * not stop the daemon (docs/design/core.md, "Asserts").
 */
static int host_bits(const ipam_cidr *cidr)
{
	int width = ipam_family_width(cidr->family);

	return cidr->prefix >= width ? 0 : width - cidr->prefix;
}

/* Number of trailing zero bits of a non-zero value. */
static int trailing_zeros(ipam_u128 value)
{
	uint64_t low = (uint64_t)value;

	assert(value != 0);
	if (low != 0)
		return __builtin_ctzll(low);
	return 64 + __builtin_ctzll((uint64_t)(value >> 64));
}

/* Value of a hexadecimal digit, or -1. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ------------------------------------------------------------------------
 * Parsing
 * ------------------------------------------------------------------------ */

/*
 * Parses exactly the `len` bytes at `s` as a dotted quad: four decimal
 * octets 0..255 without leading zeros. On success stores the address in
 * *out and returns 0; otherwise fails through cidr_fail (IPAM_EINVAL).
 */
static int parse_ipv4(const cidr_input *in, const char *s, size_t len,
		      uint32_t *out)
{
	uint32_t address = 0;
	int octets = 0;
	size_t i = 0;

	for (;;) {
		size_t start = i;
		unsigned value = 0;

		while (i < len && is_digit(s[i])) {
			if (i - start < 3)
				value = value * 10 + (unsigned)(s[i] - '0');
			i++;
		}
		if (i < len && s[i] != '.')
			return fail_char(in, s[i], "");
		if (i == start)
			return cidr_fail(in, "empty IPv4 octet");
		if (i - start > 1 && s[start] == '0')
			return cidr_fail(in, "IPv4 octet with a leading zero");
		if (i - start > 3 || value > 255)
			return cidr_fail(in, "IPv4 octet over 255");
		if (++octets > 4)
			return cidr_fail(in, "more than 4 IPv4 octets");
		address = address << 8 | value;
		if (i == len)
			break;
		i++; /* the '.' */
	}
	if (octets < 4)
		return cidr_fail(in, "fewer than 4 IPv4 octets");
	*out = address;
	return 0;
}

/*
 * Parses exactly the `len` bytes at `s` as an RFC 4291 IPv6 address: up to
 * eight groups of 1..4 hex digits (any case), at most one "::" standing for
 * one or more zero groups, and optionally a dotted quad as the last 32 bits.
 * On success stores the address in *out and returns 0; otherwise fails
 * through cidr_fail (IPAM_EINVAL).
 */
static int parse_ipv6(const cidr_input *in, const char *s, size_t len,
		      ipam_u128 *out)
{
	uint16_t groups[8];
	int count = 0; /* groups read so far */
	int gap = -1;  /* where "::" stands in groups[], or -1 */
	size_t i = 0;
	ipam_u128 address = 0;

	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	} else if (len >= 1 && s[0] == ':') {
		return cidr_fail(in, "IPv6 address starts with a single ':'");
	}
	while (i < len) {
		size_t start = i;
		bool dotted = false;
		unsigned value = 0;

		for (; i < len && s[i] != ':'; i++) {
			if (s[i] == '.')
				dotted = true;
			else if (hex_value(s[i]) < 0)
				return fail_char(in, s[i], "");
			else if (i - start < 4)
				value = value << 4 | (unsigned)hex_value(s[i]);
		}
		if (i == start)
			return cidr_fail(in, "empty IPv6 group");
		if (dotted) {
			uint32_t v4;
			int rc;

			if (i < len)
				return cidr_fail(in,
						 "dotted IPv4 part allowed "
						 "only as the last 32 bits");
			if (count > 6)
				return cidr_fail(in, "more than 8 IPv6 groups");
			rc = parse_ipv4(in, s + start, i - start, &v4);
			if (rc < 0)
				return rc;
			groups[count++] = (uint16_t)(v4 >> 16);
			groups[count++] = (uint16_t)v4;
			break;
		}
		if (i - start > 4)
			return cidr_fail(in, "IPv6 group of more than 4 hex "
					     "digits");
		if (count == 8)
			return cidr_fail(in, "more than 8 IPv6 groups");
		groups[count++] = (uint16_t)value;
		if (i == len)
			break;
		i++; /* the ':' */
		if (i < len && s[i] == ':') {
			if (gap >= 0)
				return cidr_fail(in, "more than one '::'");
			gap = count;
			i++;
		} else if (i == len) {
			return cidr_fail(in, "IPv6 address ends with a single "
					     "':'");
		}
	}
	if (gap < 0 && count < 8)
		return cidr_fail(in, "fewer than 8 IPv6 groups and no '::'");
	if (gap >= 0 && count > 7)
		return cidr_fail(in, "more than 7 IPv6 groups with '::'");

	for (int g = 0; g < count; g++) {
		/* groups after the gap move to the end of the address */
		int position = (gap >= 0 && g >= gap) ? g + 8 - count : g;

		address |= (ipam_u128)groups[g] << (16 * (7 - position));
	}
	*out = address;
	return 0;
}

/*
 * Parses exactly the `len` bytes at `s` as a prefix length 0..width,
 * decimal without sign or leading zeros. Stores it in *out and returns 0,
 * or fails through cidr_fail (IPAM_EINVAL).
 */
static int parse_prefix(const cidr_input *in, const char *s, size_t len,
			int width, uint8_t *out)
{
	unsigned value = 0;

	if (len == 0)
		return cidr_fail(in, "missing prefix length after '%c'",
				 in->sep);
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return fail_char(in, s[i], " in prefix length");
		if (i < 4)
			value = value * 10 + (unsigned)(s[i] - '0');
	}
	if (len > 1 && s[0] == '0')
		return cidr_fail(in, "prefix length with a leading zero");
	if (len > 3 || value > (unsigned)width)
		return cidr_fail(in, "prefix length must be 0..%d", width);
	*out = (uint8_t)value;
	return 0;
}

/*
 * The parser behind ipam_cidr_parse and ipam_cidr_parse_filename: address,
 * then `in->sep`, then prefix length, nothing else. Writes *out only on
 * success; fails with IPAM_EINVAL and a reason in in->err.
 */
static int parse_cidr(ipam_cidr *out, const cidr_input *in)
{
	const char *text = in->text;
	const char *sep;
	size_t len = 0;
	size_t address_len;
	ipam_cidr cidr = {0};
	ipam_u128 host_mask;
	int rc;

	assert(out != NULL);
	while (len <= CIDR_TEXT_MAX && text[len] != '\0')
		len++;
	if (len == 0)
		return cidr_fail(in, "empty");
	if (len > CIDR_TEXT_MAX)
		return cidr_fail(in, "too long (more than %d characters)",
				 CIDR_TEXT_MAX);
	sep = memchr(text, in->sep, len);
	if (sep == NULL)
		return cidr_fail(in, "missing prefix length (like '%c24')",
				 in->sep);
	address_len = (size_t)(sep - text);
	if (address_len == 0)
		return cidr_fail(in, "missing address");

	if (memchr(text, ':', address_len) != NULL) {
		cidr.family = 6;
		rc = parse_ipv6(in, text, address_len, &cidr.addr);
	} else {
		uint32_t v4 = 0;

		cidr.family = 4;
		rc = parse_ipv4(in, text, address_len, &v4);
		cidr.addr = v4;
	}
	if (rc < 0)
		return rc;
	rc = parse_prefix(in, sep + 1, len - address_len - 1,
			  ipam_family_width(cidr.family), &cidr.prefix);
	if (rc < 0)
		return rc;

	host_mask = low_mask(host_bits(&cidr));
	if ((cidr.addr & host_mask) != 0) {
		char suggestion[IPAM_CIDR_STRLEN];

		cidr.addr &= ~host_mask;
		if (in->sep == '_')
			ipam_cidr_format_filename(&cidr, suggestion);
		else
			ipam_cidr_format(&cidr, suggestion);
		return cidr_fail(in, "host bits set (did you mean %s?)",
				 suggestion);
	}
	*out = cidr;
	return 0;
}

int ipam_cidr_parse(ipam_cidr *out, const char *text, ipam_err *err)
{
	cidr_input in = {text ? text : "", "CIDR", '/', err};

	return parse_cidr(out, &in);
}

int ipam_cidr_parse_filename(ipam_cidr *out, const char *name, ipam_err *err)
{
	cidr_input in = {name ? name : "", "CIDR file name", '_', err};

	return parse_cidr(out, &in);
}

/* ------------------------------------------------------------------------
 * Formatting
 * ------------------------------------------------------------------------ */

/* Writes `value` in lowercase hex without leading zeros; returns the end. */
static char *put_hex16(char *p, unsigned value)
{
	bool started = false;

	for (int shift = 12; shift >= 0; shift -= 4) {
		unsigned digit = (value >> shift) & 0xf;

		if (digit != 0 || started || shift == 0) {
			*p++ = hex_digits[digit];
			started = true;
		}
	}
	return p;
}

/*
 * Writes the RFC 5952 text of an IPv6 address: lowercase, no leading zeros
 * in a group, the longest run of two or more zero groups (the leftmost on
 * ties) replaced by "::". Never uses the dotted-quad form.
 */
static void format_ipv6(ipam_u128 addr, char out[IPAM_CIDR_STRLEN])
{
	unsigned groups[8];
	int best_start = -1, best_len = 1; /* a run must be 2 or longer */
	int run_start = 0, run_len = 0;
	char *p = out;

	for (int g = 0; g < 8; g++) {
		groups[g] = (unsigned)(addr >> (16 * (7 - g))) & 0xffff;
		if (groups[g] != 0) {
			run_len = 0;
			continue;
		}
		if (run_len++ == 0)
			run_start = g;
		if (run_len > best_len) {
			best_start = run_start;
			best_len = run_len;
		}
	}
	for (int g = 0; g < 8; g++) {
		if (best_start >= 0 && g >= best_start &&
		    g < best_start + best_len) {
			if (g == best_start) {
				*p++ = ':';
				*p++ = ':';
			}
			continue;
		}
		if (g > 0 && g != best_start + best_len)
			*p++ = ':';
		p = put_hex16(p, groups[g]);
	}
	*p = '\0';
}

void ipam_addr_format(int family, ipam_u128 addr, char out[IPAM_CIDR_STRLEN])
{
	if (family == 4) {
		uint32_t v4 = (uint32_t)addr;

		snprintf(out, IPAM_CIDR_STRLEN, "%u.%u.%u.%u",
			 (unsigned)(v4 >> 24), (unsigned)(v4 >> 16) & 0xff,
			 (unsigned)(v4 >> 8) & 0xff, (unsigned)v4 & 0xff);
		return;
	}
	format_ipv6(addr, out); /* 6 (any other family: as IPv6, no abort) */
}

/* The canonical text of `cidr` with `sep` between address and length. */
static void format_cidr(const ipam_cidr *cidr, char sep,
			char out[IPAM_CIDR_STRLEN])
{
	size_t used;

	ipam_addr_format(cidr->family, cidr->addr, out);
	used = strlen(out);
	assert(used + 5 <= IPAM_CIDR_STRLEN);
	snprintf(out + used, IPAM_CIDR_STRLEN - used, "%c%u", sep,
		 (unsigned)cidr->prefix);
}

void ipam_cidr_format(const ipam_cidr *cidr, char out[IPAM_CIDR_STRLEN])
{
	format_cidr(cidr, '/', out);
}

void ipam_cidr_format_filename(const ipam_cidr *cidr,
			       char out[IPAM_CIDR_STRLEN])
{
	format_cidr(cidr, '_', out);
}

/* ------------------------------------------------------------------------
 * Block arithmetic
 * ------------------------------------------------------------------------ */

ipam_u128 ipam_cidr_size(const ipam_cidr *cidr)
{
	int bits = host_bits(cidr);

	return bits >= 128 ? 0 : (ipam_u128)1 << bits;
}

ipam_u128 ipam_cidr_last(const ipam_cidr *cidr)
{
	return cidr->addr | low_mask(host_bits(cidr));
}

bool ipam_cidr_contains(const ipam_cidr *outer, const ipam_cidr *inner)
{
	return outer->family == inner->family && inner->addr >= outer->addr &&
	       ipam_cidr_last(inner) <= ipam_cidr_last(outer);
}

bool ipam_cidr_overlaps(const ipam_cidr *a, const ipam_cidr *b)
{
	return a->family == b->family && a->addr <= ipam_cidr_last(b) &&
	       b->addr <= ipam_cidr_last(a);
}

int ipam_cidr_compare(const ipam_cidr *a, const ipam_cidr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	return 0;
}

/*
 * Greedy split: at each step, the largest block aligned at `first` that
 * does not pass `last`. The blocks are computed by their last address
 * (first | mask), never by first + size, so neither 2^32 nor 2^128 is ever
 * formed. Returns 0 for an empty range (first > last), an unknown family
 * or an IPv4 range beyond 32 bits.
 */
size_t ipam_range_split(int family, ipam_u128 first, ipam_u128 last,
			ipam_cidr *out, size_t max)
{
	int width = ipam_family_width(family);
	size_t count = 0;

	if (width == 0 || first > last || (family == 4 && last > UINT32_MAX))
		return 0;
	for (;;) {
		int bits = first == 0 ? width : trailing_zeros(first);
		ipam_u128 block_last;

		if (bits > width)
			bits = width;
		while ((first | low_mask(bits)) > last)
			bits--;
		block_last = first | low_mask(bits);
		if (count < max) {
			out[count].addr = first;
			out[count].family = (uint8_t)family;
			out[count].prefix = (uint8_t)(width - bits);
		}
		count++;
		if (block_last >= last)
			break;
		first = block_last + 1;
	}
	assert(count <= 2 * (size_t)width);
	return count;
}

/* ------------------------------------------------------------------------
 * Decimal text of counts and percentages
 * ------------------------------------------------------------------------ */

void ipam_u128_format(ipam_u128 value, char out[IPAM_U128_STRLEN])
{
	char reversed[40];
	size_t len = 0;

	do {
		reversed[len++] = (char)('0' + (int)(value % 10));
		value /= 10;
	} while (value != 0);
	for (size_t i = 0; i < len; i++)
		out[i] = reversed[len - 1 - i];
	out[len] = '\0';
}

/*
 * Parses a decimal count: digits only, no sign, no leading zero (but "0"),
 * at most 2^128 - 1. Writes *out only on success; IPAM_EINVAL otherwise.
 */
int ipam_u128_parse(ipam_u128 *out, const char *text)
{
	const ipam_u128 max = ~(ipam_u128)0;
	ipam_u128 value = 0;

	if (text == NULL || text[0] == '\0')
		return IPAM_EINVAL;
	if (text[0] == '0' && text[1] != '\0')
		return IPAM_EINVAL;
	for (const char *p = text; *p; p++) {
		unsigned digit;

		if (!is_digit(*p))
			return IPAM_EINVAL;
		digit = (unsigned)(*p - '0');
		if (value > (max - digit) / 10)
			return IPAM_EINVAL;
		value = value * 10 + digit;
	}
	*out = value;
	return 0;
}

/*
 * One step of long division: returns floor(10 * *rem / den) and leaves
 * (10 * *rem) mod den in *rem. Requires *rem < den. Since 10 * *rem may not
 * fit in 128 bits, the product is built from ten additions of *rem, each
 * reduced modulo den before it could overflow.
 */
static unsigned next_decimal_digit(ipam_u128 *rem, ipam_u128 den)
{
	ipam_u128 acc = 0; /* always < den */
	unsigned digit = 0;

	assert(*rem < den);
	for (int k = 0; k < 10; k++) {
		if (acc >= den - *rem) { /* acc + *rem >= den */
			acc -= den - *rem;
			digit++;
		} else {
			acc += *rem;
		}
	}
	*rem = acc;
	return digit;
}

/*
 * 100 * num / den with six decimals, rounded half-up: the integer quotient
 * num / den, then nine decimal digits of the remainder by long division
 * (two for the factor 100, six shown, one to round on). Exact for any
 * 128-bit num and den; num > den simply gives more than "100".
 */
void ipam_percent_format(ipam_u128 num, ipam_u128 den,
			 char out[IPAM_PERCENT_STRLEN])
{
	ipam_u128 whole, rem;
	unsigned hundredths = 0; /* the two digits of the factor 100 */
	unsigned millionths = 0; /* the six decimals of the percentage */
	size_t len;

	if (den == 0) {
		strcpy(out, "0");
		return;
	}
	whole = num / den;
	rem = num % den;
	for (int i = 0; i < 2; i++)
		hundredths = hundredths * 10 + next_decimal_digit(&rem, den);
	for (int i = 0; i < 6; i++)
		millionths = millionths * 10 + next_decimal_digit(&rem, den);
	if (next_decimal_digit(&rem, den) >= 5 && ++millionths == 1000000) {
		millionths = 0;
		if (++hundredths == 100) {
			hundredths = 0;
			whole++; /* cannot wrap: a remainder means den >= 2 */
		}
	}

	if (whole == 0) {
		snprintf(out, IPAM_PERCENT_STRLEN, "%u", hundredths);
	} else {
		ipam_u128_format(whole, out);
		len = strlen(out);
		snprintf(out + len, IPAM_PERCENT_STRLEN - len, "%02u",
			 hundredths);
	}
	if (millionths != 0) {
		len = strlen(out);
		snprintf(out + len, IPAM_PERCENT_STRLEN - len, ".%06u",
			 millionths);
		len = strlen(out);
		while (out[len - 1] == '0')
			out[--len] = '\0';
	}
}
