/*
 * byoip.c - the lifecycle of BYOIP CIDRs and the signed-message proof of
 * ownership (guide L5445-L5496, L6581-L6646, L7000-L7030;
 * docs/design/public.md).
 *
 * A CIDR provisioned to a top-level pool of the public scope whose
 * public-ip-source is byoip is a BYOIP CIDR: it needs a proof that the
 * IPAM's owner holds it. Its record in `byoip_cidr` carries the guide's
 * state (pending-provision, provisioned, failed-provision, deprovisioned)
 * and survives the space it stands for: the `pool_cidr` row exists only
 * while the CIDR is provisioned. A pending CIDR holds no space but keeps
 * the scope from provisioning an overlapping one elsewhere.
 *
 * The signed message is the guide's `1|aws|ACCOUNT|CIDR|YYYYMMDD|SHA256|
 * RSAPSS`, signed with RSA-PSS over SHA-256 by the key of the certificate
 * the operator registered (`ipam.certificate`, PEM) and encoded in base64
 * with `+=/` written `-_~` (L5329-L5331). OpenSSL's libcrypto verifies it;
 * nothing here is hand-written cryptography.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "internal.h"

static const char *const state_names[] = {
	[IPAM_BYOIP_PENDING_PROVISION] = "pending-provision",
	[IPAM_BYOIP_PROVISIONED] = "provisioned",
	[IPAM_BYOIP_FAILED_PROVISION] = "failed-provision",
	[IPAM_BYOIP_PENDING_DEPROVISION] = "pending-deprovision",
	[IPAM_BYOIP_DEPROVISIONED] = "deprovisioned",
};

/* A deprovisioned record is shown this long (L5360: 7 days). */
enum { DEPROVISIONED_SHOWN = 7 * 86400 };

const char *ipam_byoip_state_name(ipam_byoip_state state)
{
	if ((unsigned)state >= sizeof(state_names) / sizeof(state_names[0]))
		return "unknown";
	return state_names[state];
}

bool ipam__byoip_pool(const ipam_pool_info *p)
{
	return p->is_public && !p->parent_key &&
	       strcmp(p->public_ip_source, "byoip") == 0;
}

void ipam_byoip_set_skip(ipam *db, bool skip)
{
	pthread_mutex_lock(&db->lock);
	db->byoip_skip = skip;
	pthread_mutex_unlock(&db->lock);
}

bool ipam_byoip_skip(ipam *db)
{
	bool skip;
	pthread_mutex_lock(&db->lock);
	skip = db->byoip_skip;
	pthread_mutex_unlock(&db->lock);
	return skip;
}

/* ---- settings ---- */

static const char *const setting_column[] = {
	[IPAM_BYOIP_CERTIFICATE] = "certificate",
	[IPAM_BYOIP_ACCOUNT_ID] = "account_id",
	[IPAM_BYOIP_DNS_RESOLVER] = "dns_resolver",
};

/* Reads one setting (no bracket); the account id defaults to the owner's
 * uid, as OwnerId shows it. */
static int setting_load(ipam *db, ipam_byoip_setting which, char **out,
			ipam_err *err)
{
	static const char *const sql[] = {
		[IPAM_BYOIP_CERTIFICATE] = "SELECT certificate FROM ipam",
		[IPAM_BYOIP_ACCOUNT_ID] =
			("SELECT CASE account_id WHEN '' THEN"
			 " CAST(owner_uid AS TEXT) ELSE account_id END FROM ipam"),
		[IPAM_BYOIP_DNS_RESOLVER] = "SELECT dns_resolver FROM ipam",
	};
	ipam_stmt *stmt;
	int rc;

	*out = NULL;
	if ((unsigned)which > IPAM_BYOIP_DNS_RESOLVER)
		return ipam__fail(err, IPAM_EINVAL, "unknown setting");
	if (!(stmt = ipam__stmt(db, sql[which], err)))
		return ipam__stmt_error(err);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		const char *text = ipam__col_text(stmt, 0);
		*out = strdup(text ? text : "");
		rc = *out ? 0 : ipam__fail(err, IPAM_ENOMEM, "out of memory");
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_EIO, "the ipam row is missing");
	}
	ipam__reset(stmt);
	return rc;
}

int ipam_byoip_setting_get(ipam *db, ipam_byoip_setting which, char **out,
			   ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db, setting_load(db, which, out, err));
}

/* The certificate's public key; NULL with err filled when the text is
 * not one PEM certificate with an RSA key. */
static EVP_PKEY *certificate_key(const char *pem, ipam_err *err)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	EVP_PKEY *key = cert ? X509_get_pubkey(cert) : NULL;
	X509 *more = key ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	X509_free(cert);
	BIO_free(bio);
	ERR_clear_error(); /* the failed second read queued one */
	if (more) {
		X509_free(more);
		EVP_PKEY_free(key);
		ipam__fail(err, IPAM_EINVAL,
			   "more than one certificate: write the one of the "
			   "RDAP record");
		return NULL;
	}
	if (!key) {
		ipam__fail(err, IPAM_EINVAL,
			   "not a PEM X.509 certificate (-----BEGIN "
			   "CERTIFICATE-----)");
		return NULL;
	}
	if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(key);
		ipam__fail(err, IPAM_EINVAL,
			   "the certificate's key is not an RSA key (the "
			   "guide signs with RSA-PSS)");
		return NULL;
	}
	return key;
}

static int account_check(const char *text, ipam_err *err)
{
	size_t n = strlen(text);
	if (n < 1 || n > 64 ||
	    strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789-_") != n)
		return ipam__fail(err, IPAM_EINVAL,
				  "an account id is 1 to 64 letters, digits, "
				  "'-' or '_'");
	return 0;
}

static int setting_store(ipam *db, ipam_byoip_setting which,
			 const char *value, ipam_err *err)
{
	static const char *const sql[] = {
		[IPAM_BYOIP_CERTIFICATE] = "UPDATE ipam SET certificate = ?1",
		[IPAM_BYOIP_ACCOUNT_ID] = "UPDATE ipam SET account_id = ?1",
		[IPAM_BYOIP_DNS_RESOLVER] = "UPDATE ipam SET dns_resolver = ?1",
	};
	ipam_stmt *stmt;
	int rc;

	if ((unsigned)which > IPAM_BYOIP_DNS_RESOLVER)
		return ipam__fail(err, IPAM_EINVAL, "unknown setting");
	if (*value && which == IPAM_BYOIP_CERTIFICATE) {
		EVP_PKEY *key;
		if (strlen(value) > 65536)
			return ipam__fail(err, IPAM_E2BIG,
					  "a certificate over 64 KiB");
		if (!(key = certificate_key(value, err)))
			return err ? err->code : IPAM_EINVAL;
		EVP_PKEY_free(key);
	} else if (*value && which == IPAM_BYOIP_ACCOUNT_ID) {
		if ((rc = account_check(value, err)))
			return rc;
	} else if (*value && which == IPAM_BYOIP_DNS_RESOLVER) {
		char host[64];
		int port;
		if ((rc = ipam__resolver_parse(value, host, sizeof(host), &port,
					       err)))
			return rc;
	}
	if (!(stmt = ipam__stmt(db, sql[which], err)))
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, value, -1);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return ipam__event(db, "modify-ipam", "",
			   json_pack("{s:s, s:b}", "setting",
				     setting_column[which], "set", *value != 0),
			   err);
}

int ipam_byoip_setting_set(ipam *db, ipam_byoip_setting which,
			   const char *value, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, setting_store(db, which, value, err), err);
}

/* ---- the signed message ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* YYYYMMDD of a real date -> days since the epoch; -1 when not a date. */
static int64_t parse_date(const char *text)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	int y, m, d;

	if (strlen(text) != 8 || strspn(text, "0123456789") != 8)
		return -1;
	y = (text[0] - '0') * 1000 + (text[1] - '0') * 100 +
	    (text[2] - '0') * 10 + (text[3] - '0');
	m = (text[4] - '0') * 10 + (text[5] - '0');
	d = (text[6] - '0') * 10 + (text[7] - '0');
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] ||
	    (m == 2 && d == 29 &&
	     !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
		return -1;
	return days_from_civil(y, m, d);
}

/* The guide's alphabet back to base64, then decoded. *out is malloc'd. */
static int signature_decode(const char *text, unsigned char **out,
			    size_t *len, ipam_err *err)
{
	size_t n = strlen(text), pad = 0;
	char *b64;
	int got;

	*out = NULL;
	if (n == 0 || n % 4 || n > 8192)
		return ipam__fail(err, IPAM_EINVAL,
				  "the signature is not base64 in the guide's "
				  "alphabet (its length must be a non-zero "
				  "multiple of 4)");
	if (!(b64 = malloc(n + 1)))
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		char c = text[i];
		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '=';
		else if (c == '~')
			c = '/';
		else if (c == '+' || c == '=' || c == '/')
			c = '!'; /* the guide replaced these: refused */
		if (c == '=' ? i < n - 2
			     : !(c == '+' || c == '/' ||
				 (c >= 'A' && c <= 'Z') ||
				 (c >= 'a' && c <= 'z') ||
				 (c >= '0' && c <= '9'))) {
			free(b64);
			return ipam__fail(err, IPAM_EINVAL,
					  "the signature is not base64 in the "
					  "guide's alphabet (A-Z a-z 0-9 - ~ "
					  "and _ for padding): bad character "
					  "at %zu",
					  i + 1);
		}
		if (c == '=')
			pad++;
		b64[i] = c;
	}
	b64[n] = '\0';
	if (pad && b64[n - 1] != '=') {
		free(b64);
		return ipam__fail(err, IPAM_EINVAL,
				  "the signature's padding is misplaced");
	}
	if (!(*out = malloc(n / 4 * 3 + 1))) {
		free(b64);
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	}
	got = EVP_DecodeBlock(*out, (const unsigned char *)b64, (int)n);
	free(b64);
	if (got < 0 || (size_t)got < pad) {
		free(*out);
		*out = NULL;
		return ipam__fail(err, IPAM_EINVAL,
				  "the signature is not valid base64");
	}
	*len = (size_t)got - pad;
	return 0;
}

/* RSA-PSS over SHA-256, the salt length read from the signature (the
 * guide's rsa_pss_saltlen:-1 makes it the digest's length). 1 good, 0
 * bad, < 0 error. */
static int pss_verify(EVP_PKEY *key, const unsigned char *sig, size_t sig_len,
		      const char *message, ipam_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int good = -1;

	if (!ctx)
		return ipam__fail(err, IPAM_ENOMEM, "out of memory");
	if (EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, key) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) == 1)
		good = EVP_DigestVerify(ctx, sig, sig_len,
					(const unsigned char *)message,
					strlen(message)) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error(); /* a refused signature leaves its reasons queued */
	if (good < 0)
		return ipam__fail(err, IPAM_EIO,
				  "libcrypto cannot set up RSA-PSS/SHA-256");
	return good;
}

/* Checks the message's fields (no signature). */
static int message_fields(ipam *db, const char *subject, const char *message,
			  ipam_err *err)
{
	char copy[512], *field[8], *save = NULL;
	char *account = NULL;
	size_t n = 0;
	int64_t date, today;
	int rc;

	if (strlen(message) >= sizeof(copy))
		return ipam__fail(err, IPAM_EINVAL,
				  "the message is too long for "
				  "1|aws|ACCOUNT|CIDR|YYYYMMDD|SHA256|RSAPSS");
	strcpy(copy, message);
	/* strtok_r would merge empty fields: split by hand */
	for (char *p = copy; n < 8;) {
		field[n++] = p;
		if (!(p = strchr(p, '|')))
			break;
		*p++ = '\0';
	}
	(void)save;
	if (n != 7 || strcmp(field[0], "1") || strcmp(field[1], "aws") ||
	    strcmp(field[5], "SHA256") || strcmp(field[6], "RSAPSS"))
		return ipam__fail(err, IPAM_EINVAL,
				  "the message is not "
				  "1|aws|ACCOUNT|CIDR|YYYYMMDD|SHA256|RSAPSS "
				  "(L6599)");
	if ((rc = setting_load(db, IPAM_BYOIP_ACCOUNT_ID, &account, err)))
		return rc;
	if (strcmp(field[2], account)) {
		rc = ipam__fail(err, IPAM_EINVAL,
				"the message names account '%.64s', not this "
				"IPAM's account '%s' (ipam/account-id)",
				field[2], account);
		free(account);
		return rc;
	}
	free(account);
	if (strcmp(field[3], subject))
		return ipam__fail(err, IPAM_EINVAL,
				  "the message names '%.64s', not %s", field[3],
				  subject);
	if ((date = parse_date(field[4])) < 0)
		return ipam__fail(err, IPAM_EINVAL,
				  "the message's date '%.16s' is not a date "
				  "YYYYMMDD",
				  field[4]);
	today = ipam__now(db);
	today = (today >= 0 ? today : today - 86399) / 86400;
	if (date < today)
		return ipam__fail(err, IPAM_EKEYEXPIRED,
				  "the message expired on %s (its YYYYMMDD is "
				  "past)",
				  field[4]);
	return 0;
}

/* The whole check, no bracket. */
int ipam__check_message(ipam *db, const char *subject, const char *message,
			 const char *signature, ipam_err *err)
{
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	char *pem = NULL;
	EVP_PKEY *key;
	int rc;

	if (!message || !signature || !*message || !*signature)
		return ipam__fail(err, IPAM_EINVAL,
				  "a signed proof needs both message= and "
				  "signature=");
	if ((rc = message_fields(db, subject, message, err)) ||
	    (rc = signature_decode(signature, &sig, &sig_len, err)))
		return rc;
	if ((rc = setting_load(db, IPAM_BYOIP_CERTIFICATE, &pem, err))) {
		free(sig);
		return rc;
	}
	if (!*pem) {
		free(pem);
		free(sig);
		return ipam__fail(err, IPAM_EACCES,
				  "no certificate to check the signature "
				  "with: write the PEM to ipam/certificate");
	}
	key = certificate_key(pem, err);
	free(pem);
	if (!key) {
		free(sig);
		return err ? err->code : IPAM_EINVAL;
	}
	rc = pss_verify(key, sig, sig_len, message, err);
	EVP_PKEY_free(key);
	free(sig);
	if (rc < 0)
		return rc;
	return rc == 1 ? 0
		       : ipam__fail(err, IPAM_EACCES,
				    "the signature does not verify with the "
				    "key of ipam/certificate (RSA-PSS, "
				    "SHA-256)");
}

int ipam_byoip_check_message(ipam *db, const char *subject,
			     const char *message, const char *signature,
			     ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db,
			      ipam__check_message(db, subject, message, signature,
					    err));
}

/* ---- records ---- */

int ipam__byoip_get(ipam *db, int64_t pool, const ipam_cidr *cidr,
		    ipam__byoip_rec *out, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT key, state, aws_id, method, changed FROM byoip_cidr"
		" WHERE pool_key = ?1 AND family = ?2 AND start = ?3 AND"
		" prefix = ?4",
		err);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	ipam__bind_cidr(stmt, 2, cidr);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		out->key = ipam__col_int64(stmt, 0);
		out->state = (ipam_byoip_state)ipam__col_int(stmt, 1);
		ipam__copy_text(out->id, sizeof(out->id), stmt, 2);
		ipam__copy_text(out->method, sizeof(out->method), stmt, 3);
		out->changed = ipam__col_int64(stmt, 4);
	}
	ipam__reset(stmt);
	return rc;
}

/* Writes the record of `cidr` in `pool` (insert or replace). */
static int record_put(ipam *db, int64_t pool, const ipam_cidr *cidr,
		      const char *id, ipam_byoip_state state, const char *code,
		      const char *reason, const char *method, int64_t changed,
		      ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"INSERT INTO byoip_cidr(pool_key, family, start, prefix,"
		" aws_id, state, reason_code, reason, method, changed)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
		" ON CONFLICT (pool_key, family, start, prefix) DO UPDATE SET"
		" aws_id = ?5, state = ?6, reason_code = ?7, reason = ?8,"
		" method = ?9, changed = ?10",
		err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	ipam__bind_cidr(stmt, 2, cidr);
	ipam__bind_text(stmt, 5, id, -1);
	ipam__bind_int(stmt, 6, (int)state);
	ipam__bind_text(stmt, 7, code, -1);
	ipam__bind_text(stmt, 8, reason, -1);
	ipam__bind_text(stmt, 9, method, -1);
	ipam__bind_int64(stmt, 10, changed);
	return ipam__exec(db, stmt, err);
}

int ipam__byoip_move(ipam *db, const ipam_pool_info *p, const ipam_cidr *cidr,
		     const char *id, ipam_byoip_state to, const char *method,
		     const ipam_err *reason, ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN];
	ipam__byoip_rec rec;
	const char *code = "", *why = "";
	int rc = ipam__byoip_get(db, p->key, cidr, &rec, err);

	if (rc < 0)
		return rc;
	if (to == IPAM_BYOIP_FAILED_PROVISION && reason) {
		code = "cidr-not-available";
		why = reason->msg;
	}
	if ((rc = record_put(db, p->key, cidr, rc == 1 ? rec.id : id, to, code,
			     why,
			     method && *method ? method
			     : rc == 1	       ? rec.method
					       : "",
			     ipam__now(db), err)))
		return rc;
	ipam_cidr_format(cidr, text);
	return ipam__event(
		db, "byoip-cidr-state", p->id,
		json_pack("{s:s, s:s, s:s, s:s, s:s}", "cidr", text, "cidr-id",
			  *rec.id ? rec.id : id, "from",
			  *rec.id ? ipam_byoip_state_name(rec.state) : "",
			  "to", ipam_byoip_state_name(to), "reason", why),
		err);
}

int ipam__byoip_overlap_check(ipam *db, const ipam_pool_info *p,
			      const ipam_cidr *cidr, ipam_err *err)
{
	/* pending rows are few (a proof is given at once or soon): a scan of
	 * the scope's pending rows of the family is cheap */
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT b.start, b.prefix, b.pool_key, o.name FROM byoip_cidr b"
		" JOIN pool o ON o.key = b.pool_key WHERE o.scope_key = ?1"
		" AND b.family = ?2 AND b.state = ?3 AND b.start <= ?4",
		err);
	char a[IPAM_CIDR_STRLEN], b[IPAM_CIDR_STRLEN];
	int rc;

	if (!p->is_public || p->parent_key)
		return 0;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, p->scope_key);
	ipam__bind_int(stmt, 2, cidr->family);
	ipam__bind_int(stmt, 3, IPAM_BYOIP_PENDING_PROVISION);
	ipam__bind_addr(stmt, 4, ipam_cidr_last(cidr));
	while ((rc = ipam__step(db, stmt, err)) == 1) {
		ipam_cidr other = {.family = cidr->family};
		other.addr = ipam__blob_to_addr(stmt, 0);
		other.prefix = (uint8_t)ipam__col_int(stmt, 1);
		if (!ipam_cidr_overlaps(&other, cidr))
			continue;
		if (ipam__col_int64(stmt, 2) == p->key &&
		    ipam_cidr_compare(&other, cidr) == 0)
			continue; /* this very CIDR: its proof arriving */
		ipam_cidr_format(cidr, a);
		ipam_cidr_format(&other, b);
		rc = ipam__fail(err, IPAM_EADDRINUSE,
				"cannot provision %s to pool '%s': it overlaps "
				"%s, pending provision in pool '%.64s'",
				a, p->name, b, ipam__col_text(stmt, 3));
		break;
	}
	ipam__reset(stmt);
	return rc < 0 ? rc : 0;
}

int ipam__byoip_drop_unprovisioned(ipam *db, const ipam_pool_info *p,
				   const ipam_cidr *cidr, ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN];
	ipam__byoip_rec rec;
	int rc = ipam__byoip_get(db, p->key, cidr, &rec, err);

	if (rc < 0)
		return rc;
	ipam_cidr_format(cidr, text);
	if (rc == 0 || (rec.state != IPAM_BYOIP_PENDING_PROVISION &&
			rec.state != IPAM_BYOIP_FAILED_PROVISION))
		return ipam__fail(err, IPAM_ENOENT,
				  "%s is not provisioned to pool '%s'", text,
				  p->name);
	return ipam__byoip_move(db, p, cidr, rec.id, IPAM_BYOIP_DEPROVISIONED,
				NULL, NULL, err);
}

int ipam__byoip_deprovisioned(ipam *db, const ipam_pool_info *p,
			      const ipam_cidr *cidr, const char *id,
			      ipam_err *err)
{
	int rc = ipam__byoip_move(db, p, cidr, id,
				  IPAM_BYOIP_PENDING_DEPROVISION, NULL, NULL,
				  err);
	return rc ? rc
		  : ipam__byoip_move(db, p, cidr, id, IPAM_BYOIP_DEPROVISIONED,
				     NULL, NULL, err);
}

static int by_address(const void *a, const void *b)
{
	return ipam_cidr_compare(&((const ipam_pool_cidr *)a)->cidr,
				 &((const ipam_pool_cidr *)b)->cidr);
}

int ipam__byoip_cidrs_add(ipam *db, const ipam_pool_info *p,
			  ipam_pool_cidr **list, size_t *n, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT start, prefix, aws_id, state, reason_code, reason,"
		" changed FROM byoip_cidr WHERE pool_key = ?1 AND family = ?2"
		" AND state != ?3 AND (state != ?4 OR changed >= ?5)",
		err);
	int rc = 0, step;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, p->key);
	ipam__bind_int(stmt, 2, p->family);
	ipam__bind_int(stmt, 3, IPAM_BYOIP_PROVISIONED);
	ipam__bind_int(stmt, 4, IPAM_BYOIP_DEPROVISIONED);
	ipam__bind_int64(stmt, 5, ipam__now(db) - DEPROVISIONED_SHOWN);
	while ((step = ipam__step(db, stmt, err)) == 1) {
		ipam_pool_cidr *grown = realloc(*list, (*n + 1) * sizeof(**list));
		ipam_pool_cidr *c;
		if (!grown) {
			rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
			break;
		}
		*list = grown;
		c = &grown[*n];
		memset(c, 0, sizeof(*c));
		c->cidr.family = (uint8_t)p->family;
		c->cidr.addr = ipam__blob_to_addr(stmt, 0);
		c->cidr.prefix = (uint8_t)ipam__col_int(stmt, 1);
		ipam__copy_text(c->id, sizeof(c->id), stmt, 2);
		snprintf(c->state, sizeof(c->state), "%s",
			 ipam_byoip_state_name(
				 (ipam_byoip_state)ipam__col_int(stmt, 3)));
		ipam__copy_text(c->failure_code, sizeof(c->failure_code), stmt,
				4);
		ipam__copy_text(c->failure_reason, sizeof(c->failure_reason),
				stmt, 5);
		c->created = ipam__col_int64(stmt, 6);
		(*n)++;
	}
	ipam__reset(stmt);
	if (rc == 0 && step < 0)
		rc = step;
	if (rc == 0 && *n > 1)
		qsort(*list, *n, sizeof(**list), by_address);
	return rc;
}

int ipam__byoip_pool_drop(ipam *db, int64_t pool, ipam_err *err)
{
	ipam_stmt *stmt =
		ipam__stmt(db, "DELETE FROM byoip_cidr WHERE pool_key = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, pool);
	return ipam__exec(db, stmt, err);
}

/* ---- provisioning with a proof ---- */

/* Drops a failed or deprovisioned record: the CIDR starts over. */
static int record_forget(ipam *db, int64_t key, ipam_err *err)
{
	ipam_stmt *stmt =
		ipam__stmt(db, "DELETE FROM byoip_cidr WHERE key = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	return ipam__exec(db, stmt, err);
}

/* Checks the proof; 0 good (*method set), else the refusal in *why. */
static int proof_check(ipam *db, const ipam_cidr *cidr,
		       const ipam_byoip_proof *proof, const char **method,
		       ipam_err *why)
{
	char text[IPAM_CIDR_STRLEN];

	ipam_cidr_format(cidr, text);
	if (proof->dns_token) {
		*method = "dns-token";
		return ipam__dns_token_check(db, cidr, proof->dns_token, why);
	}
	*method = "x509";
	return ipam__check_message(db, text, proof->message, proof->signature,
				   why);
}

static int provision_proven(ipam *db, int64_t pool, const ipam_cidr *cidr,
			    const ipam_byoip_proof *proof, ipam_err *refused,
			    ipam_err *err)
{
	bool has_proof = proof && (proof->message || proof->signature ||
				   proof->dns_token);
	char text[IPAM_CIDR_STRLEN], id[IPAM_ID_MAX];
	ipam_pool_info p;
	ipam__byoip_rec rec;
	const char *method = "lab";
	ipam_err why = {IPAM_OK, ""};
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc)
		return rc;
	ipam_cidr_format(cidr, text);
	if (!ipam__byoip_pool(&p)) {
		if (has_proof)
			return ipam__fail(
				err, IPAM_EINVAL,
				"pool '%s' takes no proof of ownership (only a "
				"top-level public pool with public-ip-source "
				"byoip does)",
				p.name);
		/* an amazon-source pool takes netmasks only (provider.c) */
		if ((rc = ipam__provider_check(db, &p, cidr, true, err)))
			return rc;
		return ipam__provision(db, pool, cidr, NULL, err);
	}
	if ((rc = ipam__byoip_get(db, pool, cidr, &rec, err)) < 0)
		return rc;
	if (rc == 1 && rec.state == IPAM_BYOIP_PROVISIONED)
		return ipam__fail(err, IPAM_EEXIST,
				  "%s is already provisioned to pool '%s'",
				  text, p.name);
	if ((rc = ipam__provision_checks(db, &p, cidr, err)))
		return rc;
	/* a failed or deprovisioned record starts over with a new id */
	if (rec.key && (rec.state == IPAM_BYOIP_PENDING_PROVISION))
		snprintf(id, sizeof(id), "%s", rec.id);
	else if ((rc = ipam__new_id(db, "ipam-pool-cidr-", true, id, err)))
		return rc;
	if (rec.key && rec.state != IPAM_BYOIP_PENDING_PROVISION &&
	    (rc = record_forget(db, rec.key, err)))
		return rc;
	if (!has_proof && !db->byoip_skip) {
		if (rec.key && rec.state == IPAM_BYOIP_PENDING_PROVISION)
			return 0; /* already waiting for its proof */
		return ipam__byoip_move(db, &p, cidr, id,
					IPAM_BYOIP_PENDING_PROVISION, NULL,
					NULL, err);
	}
	if (!(rec.key && rec.state == IPAM_BYOIP_PENDING_PROVISION) &&
	    (rc = ipam__byoip_move(db, &p, cidr, id,
				   IPAM_BYOIP_PENDING_PROVISION, NULL, NULL,
				   err)))
		return rc;
	if (has_proof && (rc = proof_check(db, cidr, proof, &method, &why))) {
		if (rc == IPAM_EIO || rc == IPAM_ENOMEM)
			return ipam__fail(err, rc, "%s", why.msg);
		if (refused && refused->code == IPAM_OK)
			*refused = why;
		return ipam__byoip_move(db, &p, cidr, id,
					IPAM_BYOIP_FAILED_PROVISION, method,
					&why, err);
	}
	if ((rc = ipam__provision(db, pool, cidr, id, err)))
		return rc;
	return ipam__byoip_move(db, &p, cidr, id, IPAM_BYOIP_PROVISIONED,
				method, NULL, err);
}

int ipam_pool_provision_proven(ipam *db, int64_t pool, const ipam_cidr *cidr,
			       const ipam_byoip_proof *proof,
			       ipam_err *refused, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(
		db, provision_proven(db, pool, cidr, proof, refused, err), err);
}

/* ---- restoring a record (import) ---- */

static const char *const methods[] = {"x509", "dns-token", "lab", "transfer"};

/* The document's id when it is given (vetted by the importer) and no
 * record or pool CIDR has it, else a new one. */
static int record_id(ipam *db, const char *want, char id[IPAM_ID_MAX],
		     ipam_err *err)
{
	ipam_stmt *stmt;
	int rc;
	if (!*want)
		return ipam__new_id(db, "ipam-pool-cidr-", true, id, err);
	stmt = ipam__stmt(db,
			  "SELECT 1 FROM byoip_cidr WHERE aws_id = ?1 UNION ALL"
			  " SELECT 1 FROM pool_cidr WHERE aws_id = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, want, -1);
	rc = ipam__step(db, stmt, err);
	ipam__reset(stmt);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return ipam__new_id(db, "ipam-pool-cidr-", true, id, err);
	snprintf(id, IPAM_ID_MAX, "%s", want);
	return 0;
}

int ipam__byoip_restore(ipam *db, int64_t pool, const ipam__byoip_doc *doc,
			ipam_err *err)
{
	char text[IPAM_CIDR_STRLEN], id[IPAM_ID_MAX];
	const ipam_cidr *cidr = &doc->cidr;
	ipam_pool_info p;
	ipam__byoip_rec rec;
	ipam_cidr container;
	ipam_stmt *stmt;
	bool method_ok = !*doc->method, held;
	int rc = ipam__pool_load(db, pool, &p, err);

	if (rc)
		return rc;
	ipam_cidr_format(cidr, text);
	if (!ipam__byoip_pool(&p))
		return ipam__fail(err, IPAM_EINVAL,
				  "%s: pool '%s' keeps no BYOIP record (only a "
				  "top-level public pool with public-ip-source "
				  "byoip does)",
				  text, p.name);
	if (cidr->family != p.family)
		return ipam__fail(err, IPAM_EINVAL, "%s: pool '%s' is %s", text,
				  p.name, ipam_family_name(p.family));
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		method_ok = method_ok || !strcmp(doc->method, methods[i]);
	if (!method_ok)
		return ipam__fail(err, IPAM_EINVAL,
				  "%s: ProofMethod '%.20s' is not x509, "
				  "dns-token, lab or transfer",
				  text, doc->method);
	if (doc->state == IPAM_BYOIP_PENDING_DEPROVISION)
		return ipam__fail(
			err, IPAM_EINVAL,
			"%s: pending-deprovision is no state a record "
			"rests in (the deprovision is synchronous)",
			text);
	if (doc->state == IPAM_BYOIP_FAILED_PROVISION
		    ? strcmp(doc->code, "cidr-not-available") &&
			      strcmp(doc->code, "limit-exceeded")
		    : *doc->code || *doc->reason)
		return ipam__fail(err, IPAM_EINVAL, "%s: a %s record %s", text,
				  ipam_byoip_state_name(doc->state),
				  doc->state == IPAM_BYOIP_FAILED_PROVISION
					  ? "needs a FailureReason.Code of "
					    "cidr-not-available or "
					    "limit-exceeded"
					  : "has no FailureReason");
	if (*doc->reason &&
	    (rc = ipam__check_text("FailureReason.Message", doc->reason,
				   IPAM_ERR_MSG_MAX - 1, err)))
		return rc;
	rc = ipam__pool_cidr_containing(db, pool, cidr, &container, err);
	if (rc < 0)
		return rc;
	held = rc == 1 && ipam_cidr_compare(&container, cidr) == 0;
	/* the document cannot make a CIDR provisioned by saying so here: only
	 * a CIDR that IpamPoolCidrs provisions is, and its record says so */
	if (held != (doc->state == IPAM_BYOIP_PROVISIONED))
		return ipam__fail(err, IPAM_EINVAL,
				  held ? "%s is provisioned to pool '%s' "
					 "(IpamPoolCidrs), its record cannot "
					 "be %s"
				       : "%s is not provisioned to pool '%s' "
					 "(IpamPoolCidrs), its record cannot "
					 "be %s",
				  text, p.name,
				  ipam_byoip_state_name(doc->state));
	if ((rc = ipam__byoip_get(db, pool, cidr, &rec, err)) < 0)
		return rc;
	if (doc->state == IPAM_BYOIP_PENDING_PROVISION &&
	    (rc = ipam__provision_checks(db, &p, cidr, err)))
		return rc;
	if (held) {
		/* the record's id is the pool CIDR's (one object) */
		if (!(stmt = ipam__stmt(db,
					"SELECT aws_id FROM pool_cidr WHERE"
					" pool_key = ?1 AND start = ?2 AND"
					" prefix = ?3",
					err)))
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, pool);
		ipam__bind_addr(stmt, 2, cidr->addr);
		ipam__bind_int(stmt, 3, cidr->prefix);
		rc = ipam__step(db, stmt, err);
		if (rc == 1)
			ipam__copy_text(id, sizeof(id), stmt, 0);
		ipam__reset(stmt);
		if (rc != 1)
			return rc < 0 ? rc
				      : ipam__fail(err, IPAM_EIO,
						   "lost a pool CIDR");
	} else if (rec.key) {
		snprintf(id, sizeof(id), "%s", rec.id);
	} else if ((rc = record_id(db, doc->id, id, err))) {
		return rc;
	}
	if (rec.key && rec.state == doc->state && !strcmp(rec.id, id) &&
	    !strcmp(rec.method, doc->method) && rec.changed == doc->changed)
		return 0;
	if ((rc = record_put(db, pool, cidr, id, doc->state, doc->code,
			     doc->reason, doc->method, doc->changed, err)))
		return rc;
	return ipam__event(
		db, "byoip-cidr-state", p.id,
		json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "cidr", text,
			  "cidr-id", id, "from",
			  rec.key ? ipam_byoip_state_name(rec.state) : "", "to",
			  ipam_byoip_state_name(doc->state), "reason",
			  doc->reason, "import", 1),
		err);
}
