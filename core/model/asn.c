/*
 * asn.c - brought ASNs (BYOASN, guide L5279-L5444), their associations
 * with BYOIP CIDRs, and advertising (L5773, L6775-L6798, L7878-L7903).
 *
 * An ASN is created pending-provision and provisioned by the same signed
 * message as a CIDR (byoip.c), naming the ASN; quota `asns` (5, L5335).
 * It is associated with provisioned CIDRs of the public scope, many to
 * many (L5343). A CIDR provisioned to a public pool with a locale and
 * aws-service ec2 (L5340, L6673) is advertised from the router's own AS
 * ("AWS" in the guide) or from one associated ASN; the advertisements are
 * one row per CIDR, and /advertisements and /advertisements.bird render
 * them (docs/design/public.md). Deprovisioning refuses what is advertised
 * or associated (L5425, L5431, L6977).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- ASN numbers ---- */

/* Ranges a brought ASN cannot be (the guide wants a public ASN, L5298). */
static const struct {
	uint32_t first, last;
	const char *what;
} not_public[] = {
	{0, 0, "reserved (RFC 7607)"},
	{23456, 23456, "AS_TRANS (RFC 6793)"},
	{64512, 65534, "private use (RFC 6996)"},
	{65535, 65535, "reserved (RFC 7300)"},
	{4200000000u, 4294967294u, "private use (RFC 6996)"},
	{4294967295u, 4294967295u, "reserved (RFC 7300)"},
};

int ipam_asn_parse(const char *text, uint32_t *out, ipam_err *err)
{
	uint64_t value = 0;
	size_t n = strlen(text);

	if (n && strchr(text, '.') && strspn(text, "0123456789.") == n)
		return ipam__fail(err, IPAM_EINVAL,
				  "'%.20s': write the ASN in asplain (a "
				  "decimal number, RFC 5396), not asdot: "
				  "1.10 is 65546",
				  text);
	if (n == 0 || n > 10 || strspn(text, "0123456789") != n ||
	    (n > 1 && text[0] == '0'))
		return ipam__fail(err, IPAM_EINVAL,
				  "'%.20s' is not an ASN (a decimal number "
				  "from 1 to 4294967294)",
				  text);
	for (size_t i = 0; i < n; i++)
		value = value * 10 + (uint64_t)(text[i] - '0');
	if (value > 4294967295u)
		return ipam__fail(err, IPAM_EINVAL,
				  "%.20s is not an ASN: a 4-byte ASN is at "
				  "most 4294967295",
				  text);
	for (size_t i = 0; i < sizeof(not_public) / sizeof(not_public[0]);
	     i++)
		if (value >= not_public[i].first && value <= not_public[i].last)
			return ipam__fail(err, IPAM_EINVAL,
					  "AS%llu is %s, not a public ASN",
					  (unsigned long long)value,
					  not_public[i].what);
	*out = (uint32_t)value;
	return 0;
}

/* ---- records ---- */

/* 1 found (any state), 0 none. */
static int asn_load(ipam *db, uint32_t asn, int64_t *key, ipam_asn_info *out,
		    ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT key, state, reason, created,"
					" changed FROM asn WHERE asn = ?1",
					err);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, asn);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		*key = ipam__col_int64(stmt, 0);
		out->asn = asn;
		out->state = (ipam_byoip_state)ipam__col_int(stmt, 1);
		ipam__copy_text(out->reason, sizeof(out->reason), stmt, 2);
		out->created = ipam__col_int64(stmt, 3);
		out->changed = ipam__col_int64(stmt, 4);
	}
	ipam__reset(stmt);
	return rc;
}

/* A live ASN (not deprovisioned): its key, or IPAM_ENOENT. */
static int asn_live(ipam *db, uint32_t asn, int64_t *key, ipam_asn_info *out,
		    ipam_err *err)
{
	int rc = asn_load(db, asn, key, out, err);
	if (rc < 0)
		return rc;
	if (rc == 0 || out->state == IPAM_BYOIP_DEPROVISIONED)
		return ipam__fail(err, IPAM_ENOENT, "no ASN %u", asn);
	return 0;
}

int ipam_asn_get(ipam *db, uint32_t asn, ipam_asn_info *out, ipam_err *err)
{
	int64_t key;
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db, asn_live(db, asn, &key, out, err));
}

int ipam_asn_list(ipam *db, ipam_strlist *out, ipam_err *err)
{
	ipam_stmt *stmt;
	int rc = ipam__read_begin(db, err);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "SELECT CAST(asn AS TEXT) FROM asn WHERE state != ?1"
			  " ORDER BY asn",
			  err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	ipam__bind_int(stmt, 1, IPAM_BYOIP_DEPROVISIONED);
	return ipam__read_end(db, ipam__collect_text(db, stmt, out, err));
}

static int asn_set_state(ipam *db, int64_t key, uint32_t asn,
			 ipam_byoip_state from, ipam_byoip_state to,
			 const char *reason, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"UPDATE asn SET state = ?2, reason = ?3,"
					" changed = ?4 WHERE key = ?1",
					err);
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	ipam__bind_int(stmt, 2, (int)to);
	ipam__bind_text(stmt, 3, reason ? reason : "", -1);
	ipam__bind_int64(stmt, 4, ipam__now(db));
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return ipam__event(db, "byoasn-state", "",
			   json_pack("{s:I, s:s, s:s, s:s}", "asn",
				     (json_int_t)asn, "from",
				     ipam_byoip_state_name(from), "to",
				     ipam_byoip_state_name(to), "reason",
				     reason ? reason : ""),
			   err);
}

static int asn_create(ipam *db, const char *text, ipam_err *err)
{
	ipam_asn_info info;
	int64_t key = 0, quota = 0, count = 0;
	ipam_stmt *stmt;
	uint32_t asn;
	int rc = ipam_asn_parse(text, &asn, err);

	if (rc)
		return rc;
	if ((rc = asn_load(db, asn, &key, &info, err)) < 0)
		return rc;
	if (rc == 1 && info.state != IPAM_BYOIP_DEPROVISIONED)
		return ipam__fail(err, IPAM_EEXIST, "ASN %u exists", asn);
	if ((rc = ipam_quota_get(db, IPAM_QUOTA_ASNS, &quota, err)))
		return rc;
	if (!(stmt = ipam__stmt(db,
				"SELECT count(*) FROM asn WHERE state != ?1",
				err)))
		return ipam__stmt_error(err);
	ipam__bind_int(stmt, 1, IPAM_BYOIP_DEPROVISIONED);
	if (ipam__step(db, stmt, err) == 1)
		count = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	if (count >= quota)
		return ipam__fail(err, IPAM_EDQUOT,
				  "cannot bring ASN %u: %lld ASNs are "
				  "brought (asns quota, L5335)",
				  asn, (long long)count);
	if (key) { /* a deprovisioned record starts over */
		if (!(stmt = ipam__stmt(db, "DELETE FROM asn WHERE key = ?1",
					err)))
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, key);
		if ((rc = ipam__exec(db, stmt, err)))
			return rc;
	}
	if (!(stmt = ipam__stmt(db,
				"INSERT INTO asn(asn, state, created, changed)"
				" VALUES (?1, ?2, ?3, ?3)",
				err)))
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, asn);
	ipam__bind_int(stmt, 2, IPAM_BYOIP_PENDING_PROVISION);
	ipam__bind_int64(stmt, 3, ipam__now(db));
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	key = ipam__last_insert_id(db);
	if ((rc = ipam__event(db, "provision-ipam-byoasn", "",
			      json_pack("{s:I}", "asn", (json_int_t)asn), err)))
		return rc;
	/* the lab switch: no proof needed */
	return db->byoip_skip
		       ? asn_set_state(db, key, asn,
				       IPAM_BYOIP_PENDING_PROVISION,
				       IPAM_BYOIP_PROVISIONED, NULL, err)
		       : 0;
}

int ipam_asn_create(ipam *db, const char *text, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, asn_create(db, text, err), err);
}

static int asn_prove(ipam *db, uint32_t asn, const char *message,
		     const char *signature, ipam_err *refused, ipam_err *err)
{
	char subject[16];
	ipam_asn_info info;
	ipam_err why = {IPAM_OK, ""};
	int64_t key = 0;
	int rc = asn_live(db, asn, &key, &info, err);

	if (rc)
		return rc;
	if (info.state == IPAM_BYOIP_PROVISIONED)
		return ipam__fail(err, IPAM_EEXIST,
				  "ASN %u is already provisioned", asn);
	snprintf(subject, sizeof(subject), "%u", asn);
	rc = ipam__check_message(db, subject, message, signature, &why);
	if (rc == IPAM_EIO || rc == IPAM_ENOMEM)
		return ipam__fail(err, rc, "%s", why.msg);
	if (rc) {
		if (refused && refused->code == IPAM_OK)
			*refused = why;
		return asn_set_state(db, key, asn, info.state,
				     IPAM_BYOIP_FAILED_PROVISION, why.msg, err);
	}
	return asn_set_state(db, key, asn, info.state, IPAM_BYOIP_PROVISIONED,
			     NULL, err);
}

int ipam_asn_prove(ipam *db, uint32_t asn, const char *message,
		   const char *signature, ipam_err *refused, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(
		db, asn_prove(db, asn, message, signature, refused, err), err);
}

static int64_t count_of(ipam *db, const char *sql, int64_t key, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, sql, err);
	int64_t n = -1;
	if (!stmt)
		return -1;
	ipam__bind_int64(stmt, 1, key);
	if (ipam__step(db, stmt, err) == 1)
		n = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	return n;
}

static int asn_deprovision(ipam *db, uint32_t asn, ipam_err *err)
{
	ipam_asn_info info;
	int64_t key = 0, n;
	int rc = asn_live(db, asn, &key, &info, err);

	if (rc)
		return rc;
	n = count_of(db, "SELECT count(*) FROM asn_cidr WHERE asn_key = ?1",
		     key, err);
	if (n < 0)
		return err && err->code ? err->code : IPAM_EIO;
	if (n > 0)
		return ipam__fail(err, IPAM_EBUSY,
				  "cannot deprovision ASN %u: it is "
				  "associated with %lld CIDR%s; disassociate "
				  "first (L5425)",
				  asn, (long long)n, n == 1 ? "" : "s");
	if (info.state == IPAM_BYOIP_PROVISIONED &&
	    (rc = asn_set_state(db, key, asn, info.state,
				IPAM_BYOIP_PENDING_DEPROVISION, NULL, err)))
		return rc;
	return asn_set_state(db, key, asn,
			     info.state == IPAM_BYOIP_PROVISIONED
				     ? IPAM_BYOIP_PENDING_DEPROVISION
				     : info.state,
			     IPAM_BYOIP_DEPROVISIONED, NULL, err);
}

int ipam_asn_deprovision(ipam *db, uint32_t asn, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, asn_deprovision(db, asn, err), err);
}

/* ---- associations ---- */

/* A statement whose ?1, ?2, ?3 are a CIDR's family, start and prefix. */
static ipam_stmt *cidr_stmt(ipam *db, const char *sql, const ipam_cidr *cidr,
			    ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db, sql, err);
	if (stmt) {
		ipam__bind_int(stmt, 1, cidr->family);
		ipam__bind_addr(stmt, 2, cidr->addr);
		ipam__bind_int(stmt, 3, cidr->prefix);
	}
	return stmt;
}

/* 1 when `cidr` is provisioned to a pool of the public scope; *pool_id is
 * the shallowest such pool (the BYOIP CIDR's top-level pool), "" when 0. */
static int public_cidr(ipam *db, const ipam_cidr *cidr,
		       char pool_id[IPAM_ID_MAX], ipam_err *err)
{
	ipam_stmt *stmt = cidr_stmt(
		db,
		"SELECT p.aws_id FROM pool_cidr c JOIN pool p ON"
		" p.key = c.pool_key JOIN scope s ON s.key = p.scope_key"
		" WHERE s.is_public <> 0 AND p.family = ?1 AND c.start = ?2 AND"
		" c.prefix = ?3 ORDER BY p.depth, p.key LIMIT 1",
		cidr, err);
	int rc;
	*pool_id = '\0';
	if (!stmt)
		return ipam__stmt_error(err);
	rc = ipam__step(db, stmt, err);
	if (rc == 1)
		ipam__copy_text(pool_id, IPAM_ID_MAX, stmt, 0);
	ipam__reset(stmt);
	return rc;
}

/* The advertisement of `cidr`: 1 found (*pool, *asn = -1 for the router's
 * own AS), 0 none. */
static int advert_get(ipam *db, const ipam_cidr *cidr, int64_t *pool,
		      int64_t *asn, ipam_err *err)
{
	ipam_stmt *stmt = cidr_stmt(
		db,
		"SELECT pool_key, coalesce(asn, -1) FROM advertisement"
		" WHERE family = ?1 AND start = ?2 AND prefix = ?3",
		cidr, err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		*pool = ipam__col_int64(stmt, 0);
		*asn = ipam__col_int64(stmt, 1);
	}
	ipam__reset(stmt);
	return rc;
}

/* 1 when ASN `key` is associated with `cidr`. */
static int associated(ipam *db, int64_t key, const ipam_cidr *cidr,
		      ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT 1 FROM asn_cidr WHERE asn_key = ?1 AND family = ?2"
		" AND start = ?3 AND prefix = ?4",
		err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	ipam__bind_int(stmt, 2, cidr->family);
	ipam__bind_addr(stmt, 3, cidr->addr);
	ipam__bind_int(stmt, 4, cidr->prefix);
	rc = ipam__step(db, stmt, err);
	ipam__reset(stmt);
	return rc;
}

static int asn_associate(ipam *db, uint32_t asn, const ipam_cidr *cidr,
			 bool on, ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN], pool_id[IPAM_ID_MAX];
	ipam_asn_info info;
	ipam_stmt *stmt;
	int64_t key = 0, pool = 0, origin = -1;
	int rc = asn_live(db, asn, &key, &info, err), was;

	if (rc)
		return rc;
	ipam_cidr_format(cidr, text);
	if ((was = associated(db, key, cidr, err)) < 0)
		return was;
	if (on) {
		if (was)
			return 0; /* a set: adding what is there is nothing */
		if (info.state != IPAM_BYOIP_PROVISIONED)
			return ipam__fail(err, IPAM_EINVAL,
					  "cannot associate ASN %u: it is %s, "
					  "not provisioned (L5337)",
					  asn,
					  ipam_byoip_state_name(info.state));
		if ((rc = public_cidr(db, cidr, pool_id, err)) <= 0)
			return rc < 0 ? rc
				      : ipam__fail(err, IPAM_EINVAL,
						   "cannot associate ASN %u with "
						   "%s: no pool of the public "
						   "scope has it provisioned",
						   asn, text);
		stmt = ipam__stmt(db,
				  "INSERT INTO asn_cidr(asn_key, family, start,"
				  " prefix, changed) VALUES (?1, ?2, ?3, ?4,"
				  " ?5)",
				  err);
	} else {
		if (!was)
			return ipam__fail(err, IPAM_ENOENT,
					  "ASN %u is not associated with %s",
					  asn, text);
		int adv = advert_get(db, cidr, &pool, &origin, err);
		if (adv < 0 || (rc = public_cidr(db, cidr, pool_id, err)) < 0)
			return adv < 0 ? adv : rc;
		if (adv == 1 && origin == (int64_t)asn)
			return ipam__fail(err, IPAM_EBUSY,
					  "cannot disassociate ASN %u from %s: "
					  "it is advertised from it; withdraw "
					  "first (L5413)",
					  asn, text);
		stmt = ipam__stmt(db,
				  "DELETE FROM asn_cidr WHERE asn_key = ?1 AND"
				  " family = ?2 AND start = ?3 AND prefix = ?4"
				  " AND ?5 IS NOT NULL",
				  err);
	}
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	ipam__bind_int(stmt, 2, cidr->family);
	ipam__bind_addr(stmt, 3, cidr->addr);
	ipam__bind_int(stmt, 4, cidr->prefix);
	ipam__bind_int64(stmt, 5, ipam__now(db));
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	/* the ASN's record changed (asns.json, the ASN's directory) */
	if (!(stmt = ipam__stmt(
		      db, "UPDATE asn SET changed = ?2 WHERE key = ?1", err)))
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	ipam__bind_int64(stmt, 2, ipam__now(db));
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	/* the event is the pool's that holds the CIDR: /events shows it to
	 * those who may see that pool (docs/tree.md, PERMISSIONS) */
	return ipam__event(
		db, on ? "associate-ipam-byoasn" : "disassociate-ipam-byoasn",
		pool_id,
		json_pack("{s:I, s:s, s:s}", "asn", (json_int_t)asn, "cidr",
			  text, "state", on ? "associated" : "disassociated"),
		err);
}

int ipam_asn_associate(ipam *db, uint32_t asn, const ipam_cidr *cidr, bool on,
		       ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, asn_associate(db, asn, cidr, on, err), err);
}

int ipam_asn_cidrs(ipam *db, uint32_t asn, ipam_strlist *out, ipam_err *err)
{
	ipam_asn_info info;
	ipam_stmt *stmt;
	int64_t key = 0;
	int rc = ipam__read_begin(db, err), step;

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	if ((rc = asn_live(db, asn, &key, &info, err)))
		return ipam__read_end(db, rc);
	stmt = ipam__stmt(
		db,
		"SELECT c.family, c.start, c.prefix, a.asn IS NOT NULL AND"
		" a.asn = ?2 FROM asn_cidr c LEFT JOIN advertisement a ON"
		" a.family = c.family AND a.start = c.start AND"
		" a.prefix = c.prefix WHERE c.asn_key = ?1"
		" ORDER BY c.family, c.start, c.prefix",
		err);
	if (!stmt)
		return ipam__read_end(db, ipam__stmt_error(err));
	ipam__bind_int64(stmt, 1, key);
	ipam__bind_int64(stmt, 2, asn);
	while ((step = ipam__step(db, stmt, err)) == 1) {
		char text[IPAM_CIDR_STRLEN], line[IPAM_CIDR_STRLEN + 16];
		ipam_cidr c = {.family = (uint8_t)ipam__col_int(stmt, 0)};
		c.addr = ipam__blob_to_addr(stmt, 1);
		c.prefix = (uint8_t)ipam__col_int(stmt, 2);
		ipam_cidr_format(&c, text);
		snprintf(line, sizeof(line), "%s %s", text,
			 ipam__col_int(stmt, 3) ? "advertised"
						     : "associated");
		if (ipam__strlist_push(out, line)) {
			step = ipam__fail(err, IPAM_ENOMEM, "out of memory");
			break;
		}
	}
	ipam__reset(stmt);
	if (step < 0)
		ipam_strlist_free(out);
	return ipam__read_end(db, step < 0 ? step : 0);
}

/* ---- advertising ---- */

/* The top-level pool above `p` (p itself at depth 1). */
static int top_of(ipam *db, const ipam_pool_info *p, ipam_pool_info *out,
		  ipam_err *err)
{
	*out = *p;
	for (int guard = 0; out->parent_key && guard < 128; guard++) {
		int rc = ipam__pool_load(db, out->parent_key, out, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* The guide's limit (L5291): a CIDR advertised from the AWS ASN (the
 * router's own AS here) switches to a brought ASN at most once an hour of
 * the IPAM clock; the other way, and between brought ASNs, at any time.
 * The last switch is kept per CIDR (asn_switch) across withdrawals, or a
 * withdraw and re-advertise would get around it. */
enum { ASN_SWITCH_EVERY = 3600 };

static int custom_switch(ipam *db, const ipam_cidr *cidr, const char *text,
			 int64_t asn, ipam_err *err)
{
	ipam_stmt *stmt = cidr_stmt(db,
				    "SELECT at FROM asn_switch WHERE"
				    " family = ?1 AND start = ?2 AND"
				    " prefix = ?3",
				    cidr, err);
	int64_t now = ipam__now(db), last = 0;
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	rc = ipam__step(db, stmt, err);
	if (rc == 1)
		last = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	if (rc < 0)
		return rc;
	if (rc == 1 && now >= last && now - last < ASN_SWITCH_EVERY) {
		char when[IPAM_TIME_STRLEN];
		ipam_time_format(last + ASN_SWITCH_EVERY, when);
		return ipam__fail(err, IPAM_EBUSY,
				  "cannot switch %s from the AWS ASN to ASN "
				  "%lld before %s: once an hour (L5291)",
				  text, (long long)asn, when);
	}
	stmt = cidr_stmt(db,
			 "INSERT INTO asn_switch(family, start, prefix, at)"
			 " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (family,"
			 " start, prefix) DO UPDATE SET at = ?4",
			 cidr, err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 4, now);
	return ipam__exec(db, stmt, err);
}

static int advertise(ipam *db, int64_t pool, const ipam_cidr *cidr,
		     int64_t asn, ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN];
	ipam_pool_info p, top;
	ipam_cidr container;
	ipam_stmt *stmt;
	int64_t other = 0, origin = -1;
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc)
		return rc;
	ipam_cidr_format(cidr, text);
	if (!p.is_public)
		return ipam__fail(err, IPAM_EPERM,
				  "pool '%s' is not in the public scope: "
				  "only public space is advertised",
				  p.name);
	rc = ipam__pool_cidr_containing(db, pool, cidr, &container, err);
	if (rc < 0)
		return rc;
	if (rc == 0 || ipam_cidr_compare(&container, cidr))
		return ipam__fail(err, IPAM_ENOENT,
				  "%s is not a CIDR provisioned to pool '%s'",
				  text, p.name);
	if (!*p.locale)
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot advertise %s: pool '%s' has no "
				  "locale (BYOIP needs one, L5707)",
				  text, p.name);
	if (strcmp(p.aws_service, "ec2"))
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot advertise %s: pool '%s' needs "
				  "aws-service ec2 (L6673)",
				  text, p.name);
	if ((rc = top_of(db, &p, &top, err)))
		return rc;
	if (strcmp(top.public_ip_source, "byoip"))
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot advertise %s: it is not a BYOIP "
				  "CIDR (top-level pool '%s' has "
				  "public-ip-source %s)",
				  text, top.name, top.public_ip_source);
	if (cidr->prefix > (cidr->family == 4 ? 24 : 48))
		return ipam__fail(err, IPAM_EINVAL,
				  "cannot advertise %s: the most specific "
				  "prefix advertised is /%d (L5487)",
				  text, cidr->family == 4 ? 24 : 48);
	if (cidr->family == 6 && !p.publicly_advertisable)
		return ipam__fail(err, IPAM_EPERM,
				  "cannot advertise %s: pool '%s' is not "
				  "publicly advertisable",
				  text, p.name);
	if (asn >= 0) {
		ipam_asn_info info;
		int64_t key = 0;
		if ((rc = asn_live(db, (uint32_t)asn, &key, &info, err)))
			return rc;
		if ((rc = associated(db, key, cidr, err)) <= 0)
			return rc < 0 ? rc
				      : ipam__fail(err, IPAM_EINVAL,
						   "cannot advertise %s from "
						   "ASN %lld: they are not "
						   "associated (L5378)",
						   text, (long long)asn);
	}
	if ((rc = advert_get(db, cidr, &other, &origin, err)) < 0)
		return rc;
	if (rc == 1 && other != pool)
		return ipam__fail(err, IPAM_EEXIST,
				  "%s is already advertised from another "
				  "pool",
				  text);
	if (rc == 1 && origin == asn)
		return 0; /* advertised so already */
	if (rc == 1 && origin < 0 && asn >= 0 &&
	    (rc = custom_switch(db, cidr, text, asn, err)))
		return rc;
	stmt = cidr_stmt(db,
			 "INSERT INTO advertisement(family, start, prefix,"
			 " pool_key, asn, changed) VALUES (?1, ?2, ?3, ?4,"
			 " nullif(?5, -1), ?6) ON CONFLICT (family, start,"
			 " prefix) DO UPDATE SET asn = nullif(?5, -1),"
			 " changed = ?6",
			 cidr, err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 4, pool);
	ipam__bind_int64(stmt, 5, asn);
	ipam__bind_int64(stmt, 6, ipam__now(db));
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return ipam__event(db, "advertise-byoip-cidr", p.id,
			   asn >= 0 ? json_pack("{s:s, s:I}", "cidr", text,
						"asn", (json_int_t)asn)
				    : json_pack("{s:s, s:s}", "cidr", text,
						"asn", "AWS"),
			   err);
}

int ipam_advertise(ipam *db, int64_t pool, const ipam_cidr *cidr, int64_t asn,
		   ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, advertise(db, pool, cidr, asn, err), err);
}

static int withdraw(ipam *db, int64_t pool, const ipam_cidr *cidr,
		    ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN];
	ipam_pool_info p;
	ipam_stmt *stmt;
	int64_t other = 0, origin = -1;
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc)
		return rc;
	ipam_cidr_format(cidr, text);
	if ((rc = advert_get(db, cidr, &other, &origin, err)) < 0)
		return rc;
	if (rc == 0 || other != pool)
		return ipam__fail(err, IPAM_ENOENT,
				  "%s is not advertised from pool '%s'", text,
				  p.name);
	stmt = cidr_stmt(db,
			 "DELETE FROM advertisement WHERE family = ?1 AND"
			 " start = ?2 AND prefix = ?3",
			 cidr, err);
	if (!stmt)
		return ipam__stmt_error(err);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return ipam__event(db, "withdraw-byoip-cidr", p.id,
			   json_pack("{s:s}", "cidr", text), err);
}

int ipam_withdraw(ipam *db, int64_t pool, const ipam_cidr *cidr,
		  ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, withdraw(db, pool, cidr, err), err);
}

int ipam__public_deprovision_check(ipam *db, const ipam_pool_info *p,
				   const ipam_cidr *cidr, ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN];
	ipam_stmt *stmt;
	int64_t pool = 0, origin = -1, n = 0;
	int rc = advert_get(db, cidr, &pool, &origin, err);

	if (rc < 0)
		return rc;
	ipam_cidr_format(cidr, text);
	if (rc == 1 && pool == p->key)
		return ipam__fail(err, IPAM_EBUSY,
				  "cannot deprovision %s from pool '%s': it "
				  "is advertised; withdraw it first (L6977)",
				  text, p->name);
	stmt = ipam__stmt(db,
			  "SELECT count(*) FROM asn_cidr WHERE family = ?1 AND"
			  " start = ?2 AND prefix = ?3",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int(stmt, 1, cidr->family);
	ipam__bind_addr(stmt, 2, cidr->addr);
	ipam__bind_int(stmt, 3, cidr->prefix);
	if ((rc = ipam__step(db, stmt, err)) == 1)
		n = ipam__col_int64(stmt, 0);
	ipam__reset(stmt);
	if (rc < 0)
		return rc;
	if (n > 0)
		return ipam__fail(err, IPAM_EBUSY,
				  "cannot deprovision %s from pool '%s': %lld "
				  "ASN%s associated with it; disassociate "
				  "first (L5431)",
				  text, p->name, (long long)n,
				  n == 1 ? " is" : "s are");
	return 0;
}

/* ---- views ---- */

/* Advertisements, in address order (IPv4 first); pool 0 = all. */
static ipam_stmt *adverts(ipam *db, int64_t pool, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT family, start, prefix, coalesce(asn, -1) FROM"
		" advertisement WHERE ?1 = 0 OR pool_key = ?1"
		" ORDER BY family, start, prefix",
		err);
	if (stmt)
		ipam__bind_int64(stmt, 1, pool);
	return stmt;
}

int ipam_render_advertisements(ipam *db, int64_t pool, bool bird, char **out,
			       size_t *len, ipam_err *err)
{
	ipam__buf buf = {0};
	ipam_stmt *stmt;
	int rc = ipam__read_begin(db, err), step, family = 0;

	if (rc)
		return rc;
	if (!(stmt = adverts(db, pool, err)))
		return ipam__read_end(db, ipam__stmt_error(err));
	if (bird)
		ipam__buf_printf(
			&buf,
			"# Generated by ipamfs from /advertisements: the BYOIP "
			"CIDRs advertised now.\n"
			"# BIRD 2: include this file, export the routes of "
			"ipamfs4 and ipamfs6 from a\n"
			"# bgp protocol (export where proto = \"ipamfs4\";) "
			"and run `birdc configure`\n"
			"# after a change. A route from a brought ASN has it "
			"first in its AS path; a\n"
			"# route advertised from the router's own AS (AWS) "
			"has none.\n"
			"protocol static ipamfs4 {\n\tipv4;\n");
	while ((step = ipam__step(db, stmt, err)) == 1) {
		char text[IPAM_CIDR_STRLEN];
		ipam_cidr c = {.family = (uint8_t)ipam__col_int(stmt, 0)};
		int64_t asn = ipam__col_int64(stmt, 3);
		c.addr = ipam__blob_to_addr(stmt, 1);
		c.prefix = (uint8_t)ipam__col_int(stmt, 2);
		ipam_cidr_format(&c, text);
		if (!bird) {
			if (asn >= 0)
				ipam__buf_printf(&buf, "%s %lld\n", text,
						 (long long)asn);
			else
				ipam__buf_printf(&buf, "%s AWS\n", text);
			continue;
		}
		if (c.family == 6 && family != 6)
			ipam__buf_printf(&buf, "}\nprotocol static ipamfs6 "
					       "{\n\tipv6;\n");
		family = c.family;
		if (asn >= 0)
			ipam__buf_printf(&buf,
					 "\troute %s unreachable { "
					 "bgp_path.prepend(%lld); };\n",
					 text, (long long)asn);
		else
			ipam__buf_printf(&buf, "\troute %s unreachable;\n",
					 text);
	}
	ipam__reset(stmt);
	if (bird && family != 6)
		ipam__buf_printf(&buf, "}\nprotocol static ipamfs6 {\n\tipv6;\n");
	if (bird)
		ipam__buf_printf(&buf, "}\n");
	if (step < 0) {
		free(buf.data);
		return ipam__read_end(db, step);
	}
	return ipam__read_end(db, ipam__buf_finish(&buf, out, len, err));
}

/* ---- restoring (import) ---- */

int ipam__asn_restore(ipam *db, const char *text, ipam_byoip_state state,
		      const char *reason, int64_t created, int64_t changed,
		      ipam_err *err)
{
	ipam_asn_info info;
	ipam_stmt *stmt;
	int64_t key = 0;
	uint32_t asn;
	int rc = ipam_asn_parse(text, &asn, err);

	if (rc)
		return rc;
	if (state == IPAM_BYOIP_PENDING_DEPROVISION ||
	    (unsigned)state > IPAM_BYOIP_DEPROVISIONED)
		return ipam__fail(
			err, IPAM_EINVAL,
			"ASN %u: a record rests in pending-provision, "
			"provisioned, failed-provision or "
			"deprovisioned",
			asn);
	if (*reason && ((rc = ipam__check_text("ASN StatusMessage", reason,
					       IPAM_ERR_MSG_MAX - 1, err))))
		return rc;
	if ((rc = asn_load(db, asn, &key, &info, err)) < 0)
		return rc;
	if (rc == 1 && info.state == state && info.created == created &&
	    info.changed == changed && !strcmp(info.reason, reason))
		return 0;
	if (rc == 1 && state != IPAM_BYOIP_PROVISIONED) {
		int64_t n = count_of(db,
				     "SELECT count(*) FROM asn_cidr WHERE"
				     " asn_key = ?1",
				     key, err);
		if (n < 0)
			return err && err->code ? err->code : IPAM_EIO;
		if (n > 0)
			return ipam__fail(err, IPAM_EBUSY,
					  "ASN %u has CIDRs associated: it "
					  "cannot be %s",
					  asn, ipam_byoip_state_name(state));
	}
	stmt = ipam__stmt(
		db,
		rc == 1 ? "UPDATE asn SET state = ?2, reason = ?3,"
			  " created = ?4, changed = ?5 WHERE asn = ?1"
			: "INSERT INTO asn(asn, state, reason, created,"
			  " changed) VALUES (?1, ?2, ?3, ?4, ?5)",
		err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, asn);
	ipam__bind_int(stmt, 2, (int)state);
	ipam__bind_text(stmt, 3, reason, -1);
	ipam__bind_int64(stmt, 4, created);
	ipam__bind_int64(stmt, 5, changed);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return ipam__event(
		db, "byoasn-state", "",
		json_pack("{s:I, s:s, s:s, s:s, s:b}", "asn", (json_int_t)asn,
			  "from", key ? ipam_byoip_state_name(info.state) : "",
			  "to", ipam_byoip_state_name(state), "reason", reason,
			  "import", 1),
		err);
}

int ipam__asn_set_changed(ipam *db, uint32_t asn, int64_t changed,
			  ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db, "UPDATE asn SET changed = ?2 WHERE asn = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, asn);
	ipam__bind_int64(stmt, 2, changed);
	return ipam__exec(db, stmt, err);
}

int ipam__public_quota_check(ipam *db, ipam_err *err)
{
	int64_t quota = 0, count;
	int rc = ipam_quota_get(db, IPAM_QUOTA_ASNS, &quota, err);
	if (rc)
		return rc;
	count = count_of(db, "SELECT count(*) FROM asn WHERE state != ?1",
			 IPAM_BYOIP_DEPROVISIONED, err);
	if (count < 0)
		return err && err->code ? err->code : IPAM_EIO;
	if (count > quota)
		return ipam__fail(err, IPAM_EDQUOT,
				  "%lld ASNs would be brought: over the asns "
				  "quota of %lld",
				  (long long)count, (long long)quota);
	if ((rc = ipam_quota_get(db, IPAM_QUOTA_VERIFICATION_TOKENS, &quota,
				 err)))
		return rc;
	count = count_of(db,
			 "SELECT count(*) FROM verification_token WHERE"
			 " ?1 IS NOT NULL",
			 0, err);
	if (count < 0)
		return err && err->code ? err->code : IPAM_EIO;
	if (count > quota)
		return ipam__fail(err, IPAM_EDQUOT,
				  "%lld verification tokens: over the "
				  "verification-tokens quota of %lld",
				  (long long)count, (long long)quota);
	return 0;
}
