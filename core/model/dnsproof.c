/*
 * dnsproof.c - DNS-TXT proof of ownership (guide L5497-L5629): the
 * verification tokens and the real DNS lookup of the TXT records that
 * carry them.
 *
 * A token (`ipam-ext-res-ver-token-...`) has an 8-digit TokenName and a
 * UUIDv4 TokenValue, is valid for 72 hours of the IPAM clock (L5533) and
 * there are at most `verification-tokens` of them (100, L5534). To prove a
 * CIDR, its reverse zone holds `TokenName.<reverse>` TXT `TokenValue` for
 * every octet-aligned (IPv4) or nibble-aligned (IPv6) sub-prefix that makes
 * up the CIDR (L5598-L5629). The lookup is res_nquery(3) from libresolv,
 * against `ipam.dns_resolver` (A.B.C.D[:PORT]) or the system's resolvers.
 * It runs inside the provision's transaction: the handle is held for at
 * most the resolver's timeout (2 s, 2 tries, per record).
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { TOKEN_LIFETIME = 72 * 3600 };

int ipam__resolver_parse(const char *text, char *host, size_t size, int *port,
			 ipam_err *err)
{
	const char *colon = strchr(text, ':');
	size_t n = colon ? (size_t)(colon - text) : strlen(text);
	struct in_addr addr;

	*port = 53;
	if (n == 0 || n >= size || n > 15)
		goto bad;
	memcpy(host, text, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, &addr) != 1)
		goto bad;
	if (colon) {
		char *end;
		long p = strtol(colon + 1, &end, 10);
		if (!colon[1] || *end || p < 1 || p > 65535 ||
		    strspn(colon + 1, "0123456789") != strlen(colon + 1))
			goto bad;
		*port = (int)p;
	}
	return 0;
bad:
	return ipam__fail(err, IPAM_EINVAL,
			  "a resolver is an IPv4 address with an optional "
			  "port: 127.0.0.1 or 127.0.0.1:5353");
}

/* ---- tokens ---- */

int ipam__token_load(ipam *db, const char *by, const char *what,
		     ipam_token_info *out, ipam_err *err)
{
	static const char sql_name[] =
		"SELECT aws_id, name, token_name, token_value, created,"
		" not_after FROM verification_token WHERE name = ?1";
	static const char sql_id[] =
		"SELECT aws_id, name, token_name, token_value, created,"
		" not_after FROM verification_token WHERE aws_id = ?1";
	ipam_stmt *stmt =
		ipam__stmt(db, strcmp(by, "id") ? sql_name : sql_id, err);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, what, -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		ipam__copy_text(out->id, sizeof(out->id), stmt, 0);
		ipam__copy_text(out->name, sizeof(out->name), stmt, 1);
		ipam__copy_text(out->token_name, sizeof(out->token_name), stmt,
				2);
		ipam__copy_text(out->token_value, sizeof(out->token_value),
				stmt, 3);
		out->created = ipam__col_int64(stmt, 4);
		out->not_after = ipam__col_int64(stmt, 5);
		out->expired = ipam__now(db) > out->not_after;
	}
	ipam__reset(stmt);
	return rc;
}

int ipam_token_get(ipam *db, const char *name, ipam_token_info *out,
		   ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	rc = ipam__token_load(db, "name", name, out, err);
	if (rc == 0)
		rc = ipam__fail(err, IPAM_ENOENT, "no token '%s'", name);
	return ipam__read_end(db, rc < 0 ? rc : 0);
}

int ipam_token_list(ipam *db, ipam_strlist *out, ipam_err *err)
{
	ipam_stmt *stmt;
	int rc = ipam__read_begin(db, err);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	if (!(stmt = ipam__stmt(db,
				"SELECT name FROM verification_token"
				" ORDER BY name",
				err)))
		return ipam__read_end(db, ipam__stmt_error(err));
	return ipam__read_end(db, ipam__collect_text(db, stmt, out, err));
}

static int token_create(ipam *db, const char *name, ipam_err *err)
{
	unsigned char r[20];
	char id[IPAM_ID_MAX], token_name[16], value[40];
	ipam_token_info old;
	int64_t quota = 0, count = 0;
	ipam_stmt *stmt;
	int rc;

	if ((rc = ipam__check_text("token name", name, IPAM_NAME_MAX, err)))
		return rc;
	if ((rc = ipam__token_load(db, "name", name, &old, err)) != 0)
		return rc < 0 ? rc
			      : ipam__fail(err, IPAM_EEXIST,
					   "token '%s' exists", name);
	if ((rc = ipam_quota_get(db, IPAM_QUOTA_VERIFICATION_TOKENS, &quota,
				 err)))
		return rc;
	if (!(stmt = ipam__stmt(db, "SELECT count(*) FROM verification_token",
				err)))
		return ipam__stmt_error(err);
	if (ipam__step(db, stmt, err) == 1)
		count = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	if (count >= quota)
		return ipam__fail(err, IPAM_EDQUOT,
				  "cannot create token '%s': %lld tokens "
				  "exist (verification-tokens quota; delete "
				  "expired ones, L5534)",
				  name, (long long)count);
	if ((rc = ipam__random(r, sizeof(r), err)) ||
	    (rc = ipam__new_id(db, "ipam-ext-res-ver-token-", false, id, err)))
		return rc;
	/* TokenName: 8 digits (L5553); TokenValue: a UUIDv4 (RFC 9562) */
	snprintf(token_name, sizeof(token_name), "%08u",
		 (unsigned)(((uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 |
			     (uint32_t)r[2] << 8 | r[3]) %
			    100000000u));
	r[4 + 6] = (unsigned char)((r[4 + 6] & 0x0f) | 0x40);
	r[4 + 8] = (unsigned char)((r[4 + 8] & 0x3f) | 0x80);
	{
		char *p = value;
		for (int i = 0; i < 16; i++) {
			p += sprintf(p, "%02x", r[4 + i]);
			if (i == 3 || i == 5 || i == 7 || i == 9)
				*p++ = '-';
		}
		*p = '\0';
	}
	if (!(stmt = ipam__stmt(db,
				"INSERT INTO verification_token(aws_id, name,"
				" token_name, token_value, created, not_after)"
				" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				err)))
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, id, -1);
	ipam__bind_text(stmt, 2, name, -1);
	ipam__bind_text(stmt, 3, token_name, -1);
	ipam__bind_text(stmt, 4, value, -1);
	ipam__bind_int64(stmt, 5, ipam__now(db));
	ipam__bind_int64(stmt, 6, ipam__now(db) + TOKEN_LIFETIME);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return ipam__event(db, "create-ipam-external-resource-verification-token",
			   id, json_pack("{s:s}", "name", name), err);
}

int ipam_token_create(ipam *db, const char *name, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, token_create(db, name, err), err);
}

static int token_delete(ipam *db, const char *name, ipam_err *err)
{
	ipam_token_info t;
	ipam_stmt *stmt;
	int rc = ipam__token_load(db, "name", name, &t, err);

	if (rc <= 0)
		return rc < 0 ? rc
			      : ipam__fail(err, IPAM_ENOENT, "no token '%s'",
					   name);
	if (!(stmt = ipam__stmt(db,
				"DELETE FROM verification_token WHERE name = ?1",
				err)))
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, name, -1);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return ipam__event(db, "delete-ipam-external-resource-verification-token",
			   t.id, json_pack("{s:s}", "name", name), err);
}

int ipam_token_delete(ipam *db, const char *name, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, token_delete(db, name, err), err);
}

/* ---- the records of a CIDR ---- */

size_t ipam_dns_txt_names(const ipam_cidr *cidr, const char *token_name,
			  char (*out)[IPAM_TXT_NAME_MAX], size_t max)
{
	int unit = cidr->family == 4 ? 8 : 4;
	int width = ipam_family_width(cidr->family);
	int aligned = (cidr->prefix + unit - 1) / unit * unit;
	size_t count = (size_t)1 << (aligned - cidr->prefix);

	if (aligned == 0)
		aligned = unit; /* /0: the guide has no record for the root */
	for (size_t i = 0; i < count && i < max; i++) {
		ipam_u128 addr = cidr->addr |
				 ((ipam_u128)i << (width - aligned));
		char *p = out[i];
		size_t left = IPAM_TXT_NAME_MAX;
		int n = snprintf(p, left, "%s", token_name);
		p += n;
		left -= (size_t)n;
		for (int u = aligned / unit - 1; u >= 0; u--) {
			unsigned v = (unsigned)(addr >> (width - (u + 1) * unit)) &
				     ((1u << unit) - 1);
			n = snprintf(p, left, unit == 8 ? ".%u" : ".%x", v);
			p += n;
			left -= (size_t)n;
		}
		snprintf(p, left, "%s",
			 cidr->family == 4 ? ".in-addr.arpa" : ".ip6.arpa");
	}
	return count;
}

/* Whether one TXT record at `name` holds `value`: 1 yes, 0 no (with the
 * reason in err), < 0 the lookup failed (err). */
static int txt_holds(res_state st, const char *name, const char *value,
		     ipam_err *err)
{
	unsigned char answer[4096];
	ns_msg msg;
	int len = res_nquery(st, name, ns_c_in, ns_t_txt, answer,
			     sizeof(answer));

	if (len < 0) {
		if (st->res_h_errno == HOST_NOT_FOUND ||
		    st->res_h_errno == NO_DATA)
			return ipam__fail(err, IPAM_EACCES,
					  "no TXT record at %s", name), 0;
		return ipam__fail(err, IPAM_EACCES,
				  "the DNS lookup of %s TXT failed (%s)", name,
				  hstrerror(st->res_h_errno)),
		       0;
	}
	if (ns_initparse(answer, len, &msg) < 0)
		return ipam__fail(err, IPAM_EACCES,
				  "a malformed DNS answer for %s", name),
		       0;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		ns_rr rr;
		char text[1024];
		size_t used = 0;
		const unsigned char *rd, *end;
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 ||
		    ns_rr_type(rr) != ns_t_txt)
			continue;
		rd = ns_rr_rdata(rr);
		end = rd + ns_rr_rdlen(rr);
		/* a TXT record is character-strings; they join into one */
		while (rd < end && used < sizeof(text) - 1) {
			size_t n = *rd++;
			if (n > (size_t)(end - rd))
				n = (size_t)(end - rd);
			if (n > sizeof(text) - 1 - used)
				n = sizeof(text) - 1 - used;
			memcpy(text + used, rd, n);
			used += n;
			rd += n;
		}
		text[used] = '\0';
		if (strcmp(text, value) == 0)
			return 1;
	}
	return ipam__fail(err, IPAM_EACCES,
			  "the TXT records at %s do not hold the token value",
			  name),
	       0;
}

int ipam__dns_token_check(ipam *db, const ipam_cidr *cidr,
			  const char *token_id, ipam_err *err)
{
	char (*names)[IPAM_TXT_NAME_MAX];
	enum { MAX_RECORDS = 128 };
	char resolver[64] = "", host[64];
	struct __res_state st;
	ipam_token_info t;
	ipam_stmt *stmt;
	size_t count;
	int rc, port;

	rc = ipam__token_load(db, "id", token_id, &t, err);
	if (rc == 0)
		rc = ipam__token_load(db, "name", token_id, &t, err);
	if (rc <= 0)
		return rc < 0 ? rc
			      : ipam__fail(err, IPAM_EINVAL,
					   "no verification token '%.64s'",
					   token_id);
	if (t.expired)
		return ipam__fail(err, IPAM_EKEYEXPIRED,
				  "token %s expired (a token is valid for 72 "
				  "hours, L5533)",
				  t.id);
	if (!(stmt = ipam__stmt(db, "SELECT dns_resolver FROM ipam", err)))
		return ipam__stmt_error(err);
	if (ipam__step(db, stmt, err) == 1)
		ipam__copy_text(resolver, sizeof(resolver), stmt, 0);
	ipam__reset(stmt);
	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) != 0)
		return ipam__fail(err, IPAM_EIO, "cannot set up the resolver");
	st.retrans = 2;
	st.retry = 2;
	if (*resolver) {
		if ((rc = ipam__resolver_parse(resolver, host, sizeof(host),
					       &port, err))) {
			res_nclose(&st);
			return rc;
		}
		st.nscount = 1;
		st.nsaddr_list[0].sin_family = AF_INET;
		st.nsaddr_list[0].sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, host, &st.nsaddr_list[0].sin_addr);
	}
	names = malloc(MAX_RECORDS * sizeof(*names));
	if (!names) {
		res_nclose(&st);
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	count = ipam_dns_txt_names(cidr, t.token_name, names, MAX_RECORDS);
	rc = 0;
	if (count > MAX_RECORDS)
		rc = ipam__fail(err, IPAM_EINVAL,
				"a DNS proof of this CIDR needs %zu records "
				"(more than %d)",
				count, MAX_RECORDS);
	for (size_t i = 0; rc == 0 && i < count; i++) {
		int held = txt_holds(&st, names[i], t.token_value, err);
		if (held <= 0)
			rc = held < 0 ? held : err ? err->code : IPAM_EACCES;
	}
	free(names);
	names = NULL;
	res_nclose(&st);
	return rc;
}

/* ---- restoring (import) ---- */

static bool uuid_ok(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-'
			 : !strchr("0123456789abcdef", s[i]) || !s[i])
			return false;
	}
	return true;
}

int ipam__token_restore(ipam *db, const ipam_token_info *t, ipam_err *err)
{
	ipam_token_info old, other;
	char id[IPAM_ID_MAX];
	ipam_stmt *stmt;
	int rc;

	if ((rc = ipam__check_text("token name", t->name, IPAM_NAME_MAX, err)))
		return rc;
	if (strchr(t->name, '/') || !strcmp(t->name, ".") ||
	    !strcmp(t->name, ".."))
		return ipam__fail(err, IPAM_EINVAL,
				  "token '%s': not a file name", t->name);
	if (strlen(t->token_name) != 8 ||
	    strspn(t->token_name, "0123456789") != 8)
		return ipam__fail(err, IPAM_EINVAL,
				  "token '%s': TokenName is 8 digits", t->name);
	if (!uuid_ok(t->token_value))
		return ipam__fail(err, IPAM_EINVAL,
				  "token '%s': TokenValue is a UUID in lower "
				  "case (8-4-4-4-12 hex digits)",
				  t->name);
	if (t->not_after != t->created + TOKEN_LIFETIME)
		return ipam__fail(err, IPAM_EINVAL,
				  "token '%s': NotAfter is 72 hours after "
				  "Created (L5534)",
				  t->name);
	if ((rc = ipam__token_load(db, "name", t->name, &old, err)) < 0)
		return rc;
	if (rc == 1 && !strcmp(old.token_name, t->token_name) &&
	    !strcmp(old.token_value, t->token_value) &&
	    old.created == t->created)
		return 0;
	/* the document's id when no other token has it */
	snprintf(id, sizeof(id), "%s", rc == 1 ? old.id : "");
	if (*t->id && strcmp(t->id, id)) {
		if ((rc = ipam__token_load(db, "id", t->id, &other, err)) < 0)
			return rc;
		if (rc == 0)
			snprintf(id, sizeof(id), "%s", t->id);
	}
	if (!*id &&
	    (rc = ipam__new_id(db, "ipam-ext-res-ver-token-", false, id, err)))
		return rc;
	if (!(stmt = ipam__stmt(db,
				"INSERT INTO verification_token(aws_id, name,"
				" token_name, token_value, created, not_after)"
				" VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT"
				" (name) DO UPDATE SET aws_id = ?1,"
				" token_name = ?3, token_value = ?4,"
				" created = ?5, not_after = ?6",
				err)))
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, id, -1);
	ipam__bind_text(stmt, 2, t->name, -1);
	ipam__bind_text(stmt, 3, t->token_name, -1);
	ipam__bind_text(stmt, 4, t->token_value, -1);
	ipam__bind_int64(stmt, 5, t->created);
	ipam__bind_int64(stmt, 6, t->not_after);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return ipam__event(
		db, "create-ipam-external-resource-verification-token", id,
		json_pack("{s:s, s:b}", "name", t->name, "import", 1), err);
}
