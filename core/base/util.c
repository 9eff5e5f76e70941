/*
 * util.c - small pieces every part of libipam uses: error codes and
 * messages, string lists, validation of names, locales, tags and free text,
 * ISO 8601 times, and the 16-byte encoding of addresses as keys.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

const char *ipam_code_name(int code)
{
	switch (code) {
	case IPAM_OK:
		return "OK";
	case IPAM_EINVAL:
		return "EINVAL";
	case IPAM_ENOSPC:
		return "ENOSPC";
	case IPAM_EADDRINUSE:
		return "EADDRINUSE";
	case IPAM_EADDRNOTAVAIL:
		return "EADDRNOTAVAIL";
	case IPAM_EEXIST:
		return "EEXIST";
	case IPAM_ENOTEMPTY:
		return "ENOTEMPTY";
	case IPAM_EBUSY:
		return "EBUSY";
	case IPAM_EPERM:
		return "EPERM";
	case IPAM_EACCES:
		return "EACCES";
	case IPAM_EDQUOT:
		return "EDQUOT";
	case IPAM_E2BIG:
		return "E2BIG";
	case IPAM_EIO:
		return "EIO";
	case IPAM_ENOENT:
		return "ENOENT";
	case IPAM_ENOMEM:
		return "ENOMEM";
	case IPAM_ESCHEMA:
		return "ESCHEMA";
	case IPAM_ENAMETOOLONG:
		return "ENAMETOOLONG";
	case IPAM_EKEYEXPIRED:
		return "EKEYEXPIRED";
	}
	return "EUNKNOWN";
}

int ipam__fail(ipam_err *err, int code, const char *fmt, ...)
{
	if (err && err->code == IPAM_OK) {
		va_list ap;
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

void ipam_strlist_free(ipam_strlist *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

char *ipam__strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *copy = malloc(n);
	if (copy)
		memcpy(copy, s, n);
	return copy;
}

/* Appends a copy of s; grows the array geometrically. */
int ipam__strlist_push(ipam_strlist *list, const char *s)
{
	size_t n = list->count;
	if ((n & (n - 1)) == 0) { /* 0, 1, 2, 4, 8...: grow to double */
		size_t cap = n ? n * 2 : 1;
		char **items = realloc(list->items, cap * sizeof(*items));
		if (!items)
			return IPAM_ENOMEM;
		list->items = items;
	}
	list->items[n] = ipam__strdup(s);
	if (!list->items[n])
		return IPAM_ENOMEM;
	list->count = n + 1;
	return 0;
}

/*
 * The length of the well-formed UTF-8 sequence at p (1 to 4), or 0 when the
 * bytes there are not one: overlong forms, surrogates and code points above
 * U+10FFFF are not (RFC 3629).
 */
static size_t utf8_seq(const unsigned char *p)
{
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned lo = c == 0xe0 ? 0xa0 : 0x80;
		unsigned hi = c == 0xed ? 0x9f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3
									 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned lo = c == 0xf0 ? 0x90 : 0x80;
		unsigned hi = c == 0xf4 ? 0x8f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
				       (p[3] & 0xc0) == 0x80
			       ? 4
			       : 0;
	}
	return 0;
}

size_t ipam_utf8_invalid(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	for (size_t i = 0; p[i];) {
		size_t n = utf8_seq(p + i);
		if (!n)
			return i;
		i += n;
	}
	return (size_t)-1;
}

char *ipam_utf8_fix(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t len = strlen(text), o = 0;
	char *out;

	if (ipam_utf8_invalid(text) == (size_t)-1)
		return ipam__strdup(text);
	out = malloc(len * 3 + 1); /* each bad byte becomes 3 bytes */
	if (!out)
		return NULL;
	for (size_t i = 0; p[i];) {
		size_t n = utf8_seq(p + i);
		if (n) {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	return out;
}

#undef json_string
json_t *ipam__json_str(const char *text)
{
	json_t *value;
	char *fixed;
	if (!text)
		return NULL;
	if (ipam_utf8_invalid(text) == (size_t)-1)
		return json_string(text);
	fixed = ipam_utf8_fix(text);
	value = fixed ? json_string(fixed) : NULL;
	free(fixed);
	return value;
}
#define json_string(text) ipam__json_str(text)

int ipam__check_utf8(const char *what, const char *text, ipam_err *err)
{
	size_t at = ipam_utf8_invalid(text);
	if (at == (size_t)-1)
		return 0;
	return ipam__fail(err, IPAM_EINVAL,
			  "%s is not valid UTF-8 (byte 0x%02x at offset %zu)",
			  what, ((const unsigned char *)text)[at], at);
}

int ipam_name_check(const char *name, ipam_err *err)
{
	size_t len = strlen(name);

	if (len == 0)
		return ipam__fail(err, IPAM_EINVAL, "name is empty");
	if (len > IPAM_NAME_MAX)
		return ipam__fail(err, IPAM_EINVAL,
				  "name is %zu bytes long (at most %d)", len,
				  IPAM_NAME_MAX);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return ipam__fail(err, IPAM_EINVAL, "name '%s' is reserved",
				  name);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p == '/')
			return ipam__fail(err, IPAM_EINVAL,
					  "name '%.64s' contains '/'", name);
		if (*p < 0x20 || *p == 0x7f)
			return ipam__fail(err, IPAM_EINVAL,
					  "name contains control character "
					  "0x%02x",
					  *p);
	}
	return ipam__check_utf8("name", name, err);
}

int ipam__check_text(const char *what, const char *text, size_t max,
		     ipam_err *err)
{
	size_t len = strlen(text);
	if (len > max)
		return ipam__fail(err, IPAM_EINVAL,
				  "%s is %zu bytes long (at most %zu)", what,
				  len, max);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if (*p == '\n' || *p == '\r')
			return ipam__fail(err, IPAM_EINVAL,
					  "%s must be a single line", what);
	return ipam__check_utf8(what, text, err);
}

int ipam__check_locale(const char *locale, ipam_err *err)
{
	size_t len = strlen(locale);
	if (len == 0 || len > IPAM_LOCALE_MAX)
		return ipam__fail(err, IPAM_EINVAL,
				  "invalid locale '%.64s': 1 to %d characters",
				  locale, IPAM_LOCALE_MAX);
	for (const char *p = locale; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return ipam__fail(err, IPAM_EINVAL,
					  "invalid locale '%.64s': only "
					  "letters, digits, '-', '_' and '.'",
					  locale);
	}
	if (!strcmp(locale, "none") || !strcmp(locale, "None") ||
	    !strcmp(locale, ".") || !strcmp(locale, ".."))
		return ipam__fail(err, IPAM_EINVAL,
				  "invalid locale '%s': reserved word", locale);
	return 0;
}

int ipam_locale_check(const char *locale, ipam_err *err)
{
	return ipam__check_locale(locale, err);
}

int ipam__check_tag(const char *key, const char *value, ipam_err *err)
{
	size_t len = strlen(key);
	if (len == 0 || len > IPAM_TAG_KEY_MAX)
		return ipam__fail(err, IPAM_EINVAL,
				  "invalid tag key '%.64s': 1 to %d bytes", key,
				  IPAM_TAG_KEY_MAX);
	if (!strcmp(key, ".") || !strcmp(key, ".."))
		return ipam__fail(err, IPAM_EINVAL, "invalid tag key '%s'",
				  key);
	/* AWS keys may hold '/', '=', ':' (kubernetes.io/cluster/NAME); the
	 * file name of a key writes '/' as %2F (docs/tree.md, tags/). */
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return ipam__fail(err, IPAM_EINVAL,
					  "invalid tag key '%.64s': no control "
					  "characters",
					  key);
	if (ipam__check_utf8("tag key", key, err))
		return IPAM_EINVAL;
	if (value) {
		if (strlen(value) > IPAM_TAG_VALUE_MAX)
			return ipam__fail(err, IPAM_EINVAL,
					  "tag '%s': value longer than %d "
					  "bytes",
					  key, IPAM_TAG_VALUE_MAX);
		for (const unsigned char *p = (const unsigned char *)value; *p;
		     p++)
			if (*p == '\n' || *p == '\r')
				return ipam__fail(err, IPAM_EINVAL,
						  "tag '%s': value must be a "
						  "single line",
						  key);
		return ipam__check_utf8("tag value", value, err);
	}
	return 0;
}

/* The range of times the tree shows and accepts: Unix times from the epoch
 * to the last second of year 9999, so that every year has 4 digits and
 * every printed time parses back (docs/design/security.md). */
#define TIME_MIN 0
#define TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

void ipam_time_format(int64_t seconds, char out[IPAM_TIME_STRLEN])
{
	time_t t;
	struct tm tm;

	if (seconds < TIME_MIN)
		seconds = TIME_MIN;
	if (seconds > TIME_MAX)
		seconds = TIME_MAX;
	t = (time_t)seconds;
	if (!gmtime_r(&t, &tm)) {
		snprintf(out, IPAM_TIME_STRLEN, "1970-01-01T00:00:00Z");
		return;
	}
	/* not strftime's %Y: glibc does not pad years below 1000 */
	snprintf(out, IPAM_TIME_STRLEN, "%04u-%02u-%02uT%02u:%02u:%02uZ",
		 (unsigned)(tm.tm_year + 1900) % 10000,
		 (unsigned)(tm.tm_mon + 1) % 100, (unsigned)tm.tm_mday % 100,
		 (unsigned)tm.tm_hour % 100, (unsigned)tm.tm_min % 100,
		 (unsigned)tm.tm_sec % 100);
}

void ipam_time_format_aws(int64_t seconds, char out[IPAM_TIME_STRLEN])
{
	char z[IPAM_TIME_STRLEN];
	ipam_time_format(seconds, z);
	z[strlen(z) - 1] = '\0'; /* the Z */
	snprintf(out, IPAM_TIME_STRLEN, "%s.000000+00:00", z);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* The number of days of month mo (1-12) of year y (Gregorian). */
static unsigned month_days(unsigned y, unsigned mo)
{
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30,
					 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return mdays[mo - 1] + (mo == 2 && leap);
}

/*
 * Parses "YYYY-MM-DDTHH:MM:SSZ" (or "+00:00" for "Z"): a real calendar date
 * (Feb 29 only in leap years), no leap second (Unix time has none), years
 * 1970 to 9999 (the range ipam_time_format prints).
 */
int ipam_time_parse(int64_t *out, const char *text)
{
	unsigned y, mo, d, h, mi, s;
	int used = 0;

	if (strlen(text) < 20 ||
	    sscanf(text, "%4u-%2u-%2uT%2u:%2u:%2u%n", &y, &mo, &d, &h, &mi, &s,
		   &used) != 6 ||
	    used != 19)
		return IPAM_EINVAL;
	for (int i = 0; i < 19; i++) {
		char c = text[i];
		bool digit = c >= '0' && c <= '9';
		if ((i == 4 || i == 7)	   ? c != '-'
		    : i == 10		   ? c != 'T'
		    : (i == 13 || i == 16) ? c != ':'
					   : !digit)
			return IPAM_EINVAL;
	}
	if (strcmp(text + 19, "Z") && strcmp(text + 19, "+00:00"))
		return IPAM_EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) ||
	    h > 23 || mi > 59 || s > 59)
		return IPAM_EINVAL;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	return 0;
}

void ipam__addr_to_blob(ipam_u128 addr, unsigned char out[16])
{
	for (int i = 15; i >= 0; i--) {
		out[i] = (unsigned char)(addr & 0xff);
		addr >>= 8;
	}
}

ipam_u128 ipam__blob_to_addr(ipam_stmt *stmt, int col)
{
	const unsigned char *b = ipam__col_blob(stmt, col);
	ipam_u128 v = 0;
	if (!b || ipam__col_bytes(stmt, col) != 16) {
		if (ipam__col_type(stmt, col) != IPAM_COL_NULL)
			ipam__oom = 1;
		return 0;
	}
	for (int i = 0; i < 16; i++)
		v = (v << 8) | b[i];
	return v;
}

int ipam__bind_addr(ipam_stmt *stmt, int idx, ipam_u128 addr)
{
	unsigned char blob[16];
	ipam__addr_to_blob(addr, blob);
	return ipam__bind_blob(stmt, idx, blob, 16);
}

void ipam__bind_cidr(ipam_stmt *stmt, int idx, const ipam_cidr *cidr)
{
	ipam__bind_int(stmt, idx, cidr->family);
	ipam__bind_addr(stmt, idx + 1, cidr->addr);
	ipam__bind_int(stmt, idx + 2, cidr->prefix);
}

int ipam__bind_u128(ipam_stmt *stmt, int idx, ipam_u128 value)
{
	return ipam__bind_addr(stmt, idx, value);
}

ipam_u128 ipam__col_u128(ipam_stmt *stmt, int col)
{
	return ipam__blob_to_addr(stmt, col);
}

void ipam__copy_text(char *dst, size_t size, ipam_stmt *stmt, int col)
{
	const char *t = ipam__col_text(stmt, col); /* raises ipam__oom */
	snprintf(dst, size, "%s", t ? t : "");
}

int ipam__buf_add(ipam__buf *buf, const char *text, size_t n)
{
	if (buf->failed)
		return IPAM_ENOMEM;
	if (buf->len + n + 1 > buf->cap) {
		size_t want = buf->cap ? buf->cap * 2 : 4096;
		char *grown;
		while (want < buf->len + n + 1)
			want *= 2;
		grown = realloc(buf->data, want);
		if (!grown) {
			buf->failed = 1;
			return IPAM_ENOMEM;
		}
		buf->data = grown;
		buf->cap = want;
	}
	memcpy(buf->data + buf->len, text, n);
	buf->len += n;
	buf->data[buf->len] = '\0';
	return 0;
}

int ipam__buf_printf(ipam__buf *buf, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return IPAM_EINVAL;
	if ((size_t)n < sizeof(small))
		return ipam__buf_add(buf, small, (size_t)n);
	{
		char *big = malloc((size_t)n + 1);
		int rc;
		if (!big) {
			buf->failed = 1;
			return IPAM_ENOMEM;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		rc = ipam__buf_add(buf, big, (size_t)n);
		free(big);
		return rc;
	}
}

int ipam__buf_finish(ipam__buf *buf, char **out, size_t *len, ipam_err *err)
{
	if (ipam__oom) /* a piece of it (a JSON value) could not be built */
		buf->failed = 1;
	if (!buf->failed && !buf->data)
		ipam__buf_add(buf, "", 0);
	if (buf->failed) {
		free(buf->data);
		buf->data = NULL;
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	/* a doubling buffer may be up to twice its text: give back the rest
	 * (for a large one, mremap shrinks it in place) */
	if (buf->cap - buf->len > 4096) {
		char *shrunk = realloc(buf->data, buf->len + 1);
		if (shrunk)
			buf->data = shrunk;
	}
	*out = buf->data;
	*len = buf->len;
	buf->data = NULL;
	return 0;
}

json_t *ipam__percent_json(const char *text)
{
	if (strchr(text, '.'))
		return json_real(strtod(text, NULL));
	return json_integer(strtoll(text, NULL, 10));
}
