/*
 * test_byoip.c - the public scope's BYOIP lifecycle, the proofs of
 * ownership, ASNs and advertisements (core/byoip.c, dnsproof.c, asn.c).
 *
 * The keys and certificates are made here with libcrypto, and messages
 * are signed as the guide's openssl commands sign them (L5329-L5331:
 * RSA-PSS, SHA-256, salt length = digest length, base64 with +=/ -> -_~).
 * The DNS lookup itself is tested against a real server in
 * tests/mount/101-dns-token.sh; here the record names of the guide's
 * examples (L5604-L5628) and the token's own refusals.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "fixture.h"

static int64_t now_ = FIXTURE_TIME;

struct keypair {
	EVP_PKEY *key;
	char *cert_pem;
};

static struct keypair make_key(void)
{
	struct keypair kp = {NULL, NULL};
	X509 *cert = X509_new();
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;

	kp.key = EVP_RSA_gen(2048);
	assert_non_null(kp.key);
	assert_non_null(cert);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 86400L * 365);
	X509_set_pubkey(cert, kp.key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN",
				   MBSTRING_ASC, (const unsigned char *)"byoip",
				   -1, -1, 0);
	X509_set_issuer_name(cert, X509_get_subject_name(cert));
	assert_true(X509_sign(cert, kp.key, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509(bio, cert), 1);
	len = BIO_get_mem_data(bio, &data);
	kp.cert_pem = strndup(data, (size_t)len);
	BIO_free(bio);
	X509_free(cert);
	return kp;
}

static void free_key(struct keypair *kp)
{
	EVP_PKEY_free(kp->key);
	free(kp->cert_pem);
}

/* openssl dgst -sha256 -sigopt rsa_padding_mode:pss
 * -sigopt rsa_pss_saltlen:-1 -sign | openssl base64 | tr -- '+=/' '-_~' */
static char *sign(EVP_PKEY *key, const char *message)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char sig[1024];
	size_t sig_len = sizeof(sig);
	char *b64 = malloc(4 * sizeof(sig) / 3 + 8);

	assert_int_equal(EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL,
					    key),
			 1);
	EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
	EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
	assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len,
					(const unsigned char *)message,
					strlen(message)),
			 1);
	EVP_MD_CTX_free(ctx);
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)sig_len);
	for (char *p = b64; *p; p++)
		*p = *p == '+' ? '-' : *p == '=' ? '_' : *p == '/' ? '~' : *p;
	return b64;
}

static char *message(const char *subject, const char *date)
{
	static char msg[160];
	snprintf(msg, sizeof(msg), "1|aws|0|%s|%s|SHA256|RSAPSS", subject,
		 date);
	return msg;
}

static ipam *open_db(void)
{
	ipam_open_opts opts = fixture_opts();
	opts.clock_ctx = &now_;
	now_ = FIXTURE_TIME;
	return fixture_open(opts); /* in memory, or IPAMFS_TEST_PG_URI */
}

static int64_t public_pool(ipam *db, const char *name)
{
	return mkpool(db, scope_key(db, "public"), 0, name);
}

/* The state of `cidr` in the pool's cidrs list ("" when absent), and its
 * failure reason in *reason. */
static const char *state_of(ipam *db, int64_t pool, const char *cidr,
			    char *reason)
{
	static char state[32];
	ipam_pool_cidr *list = NULL;
	size_t n = 0;
	ipam_err err = {0};
	ipam_cidr want = C(cidr);
	assert_ok(ipam_pool_cidrs(db, pool, &list, &n, &err), err);
	state[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (ipam_cidr_compare(&list[i].cidr, &want) == 0) {
			snprintf(state, sizeof(state), "%s", list[i].state);
			if (reason)
				strcpy(reason, list[i].failure_reason);
		}
	free(list);
	return state;
}

static int provide(ipam *db, int64_t pool, const char *cidr, const char *msg,
		   const char *sig, ipam_err *refused, ipam_err *err)
{
	ipam_cidr c = C(cidr);
	ipam_byoip_proof proof = {msg, sig, NULL};
	return ipam_pool_provision_proven(db, pool, &c, &proof, refused, err);
}

static void test_asn_numbers(void **state)
{
	static const struct {
		const char *text;
		int code;
		uint32_t value;
	} cases[] = {
		{"64496", 0, 64496},	       /* documentation (RFC 5398) */
		{"65551", 0, 65551},	       /* documentation, 4-byte */
		{"4199999999", 0, 4199999999u}, /* the last public 4-byte */
		{"1", 0, 1},
		{"0", IPAM_EINVAL, 0},
		{"23456", IPAM_EINVAL, 0},	/* AS_TRANS */
		{"64512", IPAM_EINVAL, 0},	/* private */
		{"65535", IPAM_EINVAL, 0},
		{"4200000000", IPAM_EINVAL, 0}, /* private, 4-byte */
		{"4294967295", IPAM_EINVAL, 0},
		{"4294967296", IPAM_EINVAL, 0},
		{"1.10", IPAM_EINVAL, 0}, /* asdot */
		{"064496", IPAM_EINVAL, 0},
		{"AS64496", IPAM_EINVAL, 0},
		{"", IPAM_EINVAL, 0},
		{"-1", IPAM_EINVAL, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ipam_err err = {0};
		uint32_t got = 0;
		int rc = ipam_asn_parse(cases[i].text, &got, &err);
		if (rc != cases[i].code)
			fail_msg("%s: got %d (%s)", cases[i].text, rc, err.msg);
		if (rc == 0)
			assert_int_equal(got, cases[i].value);
	}
	{
		ipam_err err = {0};
		uint32_t got;
		assert_code(ipam_asn_parse("1.10", &got, &err), err,
			    IPAM_EINVAL, "1.10 is 65546");
	}
}

/* The guide's examples of TXT record names (L5604-L5629). */
static void test_dns_record_names(void **state)
{
	static const struct {
		const char *cidr;
		size_t count;
		const char *first, *last;
	} cases[] = {
		{"198.18.123.0/24", 1, "t.123.18.198.in-addr.arpa", NULL},
		{"198.18.12.0/22", 4, "t.12.18.198.in-addr.arpa",
		 "t.15.18.198.in-addr.arpa"},
		{"198.18.0.0/16", 1, "t.18.198.in-addr.arpa", NULL},
		{"2001:db8::/40", 1, "t.0.0.8.b.d.0.1.0.0.2.ip6.arpa", NULL},
		{"2001:db8:80::/42", 4, "t.8.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
		 "t.b.0.0.8.b.d.0.1.0.0.2.ip6.arpa"},
		{"2001:db8:0:1000::/54", 4,
		 "t.0.1.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
		 "t.3.1.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"},
	};
	char names[8][IPAM_TXT_NAME_MAX];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ipam_cidr c = C(cases[i].cidr);
		size_t n = ipam_dns_txt_names(&c, "t", names, 8);
		assert_int_equal(n, cases[i].count);
		assert_string_equal(names[0], cases[i].first);
		if (cases[i].last)
			assert_string_equal(names[n - 1], cases[i].last);
	}
	/* a /56 has 14 hex digits (L5629) */
	{
		ipam_cidr c = C("2001:db8:0:1000::/56");
		size_t digits = 0;
		assert_int_equal(ipam_dns_txt_names(&c, "t", names, 8), 1);
		for (const char *p = names[0] + 2; *p && strncmp(p, "ip6", 3);
		     p += 2)
			digits++;
		assert_int_equal(digits, 14);
	}
	/* max bounds what is written, not what is counted */
	{
		ipam_cidr c = C("198.18.0.0/17");
		assert_int_equal(ipam_dns_txt_names(&c, "t", names, 8), 128);
	}
}

static void test_settings(void **state)
{
	ipam *db = open_db();
	struct keypair kp = make_key();
	ipam_err err = {0};
	char *value = NULL;
	(void)state;

	assert_ok(ipam_byoip_setting_get(db, IPAM_BYOIP_ACCOUNT_ID, &value,
					 &err),
		  err);
	assert_string_equal(value, "0"); /* the owner's uid, as OwnerId */
	free(value);
	assert_code(ipam_byoip_setting_set(db, IPAM_BYOIP_CERTIFICATE,
					   "-----BEGIN CERTIFICATE-----\nxx\n"
					   "-----END CERTIFICATE-----\n",
					   &err),
		    err, IPAM_EINVAL, "not a PEM X.509 certificate");
	assert_ok(ipam_byoip_setting_set(db, IPAM_BYOIP_CERTIFICATE,
					 kp.cert_pem, &err),
		  err);
	assert_ok(ipam_byoip_setting_get(db, IPAM_BYOIP_CERTIFICATE, &value,
					 &err),
		  err);
	assert_string_equal(value, kp.cert_pem);
	free(value);
	assert_code(ipam_byoip_setting_set(db, IPAM_BYOIP_ACCOUNT_ID,
					   "a b", &err),
		    err, IPAM_EINVAL, "account id");
	assert_ok(ipam_byoip_setting_set(db, IPAM_BYOIP_ACCOUNT_ID,
					 "111122223333", &err),
		  err);
	assert_code(ipam_byoip_setting_set(db, IPAM_BYOIP_DNS_RESOLVER,
					   "127.0.0.1:0", &err),
		    err, IPAM_EINVAL, "resolver");
	assert_code(ipam_byoip_setting_set(db, IPAM_BYOIP_DNS_RESOLVER,
					   "localhost", &err),
		    err, IPAM_EINVAL, "resolver");
	assert_ok(ipam_byoip_setting_set(db, IPAM_BYOIP_DNS_RESOLVER,
					 "127.0.0.1:5353", &err),
		  err);
	free_key(&kp);
	ipam_free(db);
}

static void test_lifecycle_and_proofs(void **state)
{
	ipam *db = open_db();
	struct keypair kp = make_key(), other = make_key();
	int64_t top = public_pool(db, "top"), second = public_pool(db, "two");
	ipam_err err = {0}, refused = {0};
	char reason[IPAM_ERR_MSG_MAX], *sig;
	ipam_pool_cidr *list = NULL;
	size_t n = 0;
	(void)state;

	/* without a proof: pending, holding no space but the scope's claim */
	assert_ok(provide(db, top, "203.0.113.0/24", NULL, NULL, &refused,
			  &err),
		  err);
	assert_int_equal(refused.code, IPAM_OK);
	assert_string_equal(state_of(db, top, "203.0.113.0/24", NULL),
			    "pending-provision");
	assert_code(alloc(db, top, "a", 28, NULL, NULL, &err), err, IPAM_ENOSPC,
		    NULL);
	assert_code(provide(db, second, "203.0.112.0/23", NULL, NULL,
			    &refused, &err),
		    err, IPAM_EADDRINUSE, "pending provision");
	assert_ok(ipam_pool_cidrs(db, top, &list, &n, &err), err);
	assert_int_equal(n, 1);
	char pending_id[IPAM_ID_MAX];
	strcpy(pending_id, list[0].id);
	free(list);


	/* no certificate yet: refused, failed-provision with the reason */
	sig = sign(kp.key, message("203.0.113.0/24", "20261130"));
	assert_ok(provide(db, top, "203.0.113.0/24",
			  message("203.0.113.0/24", "20261130"), sig, &refused,
			  &err),
		  err);
	assert_code(refused.code, refused, IPAM_EACCES, "no certificate");
	assert_string_equal(state_of(db, top, "203.0.113.0/24", reason),
			    "failed-provision");
	assert_non_null(strstr(reason, "no certificate"));
	assert_ok(ipam_byoip_setting_set(db, IPAM_BYOIP_CERTIFICATE,
					 kp.cert_pem, &err),
		  err);

	/* every bad variant is refused and recorded */
	struct {
		const char *msg, *sig;
		int code;
		const char *needle;
	} bad[] = {
		/* a message for another CIDR, signed well */
		{"1|aws|0|198.51.100.0/24|20261130|SHA256|RSAPSS", NULL,
		 IPAM_EINVAL, "names '198.51.100.0/24'"},
		/* yesterday (the clock is 2026-11-27) */
		{"1|aws|0|203.0.113.0/24|20261126|SHA256|RSAPSS", NULL,
		 IPAM_EKEYEXPIRED, "expired"},
		/* not a date */
		{"1|aws|0|203.0.113.0/24|20260230|SHA256|RSAPSS", NULL,
		 IPAM_EINVAL, "not a date"},
		/* another account */
		{"1|aws|111122223333|203.0.113.0/24|20261130|SHA256|RSAPSS",
		 NULL, IPAM_EINVAL, "account"},
		{"1|aws|0|203.0.113.0/24|20261130|SHA1|RSAPSS", NULL,
		 IPAM_EINVAL, "is not 1|aws"},
		{"garbage", NULL, IPAM_EINVAL, "is not 1|aws"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *s = sign(kp.key, bad[i].msg);
		refused = (ipam_err){0};
		assert_ok(provide(db, top, "203.0.113.0/24", bad[i].msg, s,
				  &refused, &err),
			  err);
		assert_code(refused.code, refused, bad[i].code, bad[i].needle);
		assert_string_equal(state_of(db, top, "203.0.113.0/24", NULL),
				    "failed-provision");
		free(s);
	}
	/* bad signatures: another key, a flipped byte, not base64, the
	 * standard alphabet the guide replaced */
	{
		const char *good = message("203.0.113.0/24", "20261130");
		char *s_other = sign(other.key, good), *flipped = sign(kp.key, good);
		flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
		struct {
			const char *sig;
			int code;
			const char *needle;
		} sigs[] = {
			{s_other, IPAM_EACCES, "does not verify"},
			{flipped, IPAM_EACCES, "does not verify"},
			{"@@@@", IPAM_EINVAL, "bad character"},
			{"abc", IPAM_EINVAL, "multiple of 4"},
			{"ab+/", IPAM_EINVAL, "bad character"},
			{"", IPAM_EINVAL, "both"},
		};
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
			refused = (ipam_err){0};
			assert_ok(provide(db, top, "203.0.113.0/24", good,
					  sigs[i].sig, &refused, &err),
				  err);
			assert_code(refused.code, refused, sigs[i].code,
				    sigs[i].needle);
		}
		free(s_other);
		free(flipped);
	}
	/* the good one: provisioned, usable, a new id after the failures */
	refused = (ipam_err){0};
	assert_ok(provide(db, top, "203.0.113.0/24",
			  message("203.0.113.0/24", "20261130"), sig, &refused,
			  &err),
		  err);
	assert_int_equal(refused.code, IPAM_OK);
	assert_string_equal(state_of(db, top, "203.0.113.0/24", NULL),
			    "provisioned");
	alloc_ok(db, top, "a", 28);
	assert_code(provide(db, top, "203.0.113.0/24", NULL, NULL, &refused,
			    &err),
		    err, IPAM_EEXIST, "already provisioned");
	assert_code(deprov(db, top, "203.0.113.0/24", &err), err, IPAM_EBUSY,
		    NULL);
	assert_ok(ipam_alloc_release(db, top, "a", &err), err);
	assert_ok(deprov(db, top, "203.0.113.0/24", &err), err);
	assert_string_equal(state_of(db, top, "203.0.113.0/24", NULL),
			    "deprovisioned");
	/* ipam_byoip_check_message alone, changing nothing */
	assert_ok(ipam_byoip_check_message(db, "203.0.113.0/24",
					   message("203.0.113.0/24", "20261130"),
					   sig, &err),
		  err);
	assert_string_equal(state_of(db, top, "203.0.113.0/24", NULL),
			    "deprovisioned");
	free(sig);
	/* shown for 7 days */
	now_ += 7 * 86400 + 1;
	assert_string_equal(state_of(db, top, "203.0.113.0/24", NULL), "");

	/* the proof arriving later: the pending CIDR keeps its id */
	assert_ok(provide(db, second, "198.51.100.0/24", NULL, NULL, &refused,
			  &err),
		  err);
	assert_ok(ipam_pool_cidrs(db, second, &list, &n, &err), err);
	assert_int_equal(n, 1);
	strcpy(pending_id, list[0].id);
	free(list);
	sig = sign(kp.key, message("198.51.100.0/24", "20261231"));
	assert_ok(provide(db, second, "198.51.100.0/24",
			  message("198.51.100.0/24", "20261231"), sig, &refused,
			  &err),
		  err);
	free(sig);
	assert_int_equal(refused.code, IPAM_OK);
	assert_ok(ipam_pool_cidrs(db, second, &list, &n, &err), err);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].state, "provisioned");
	assert_string_equal(list[0].id, pending_id);
	free(list);
	assert_ok(deprov(db, second, "198.51.100.0/24", &err), err);

	/* a pending CIDR is dropped by -CIDR */
	assert_ok(provide(db, second, "198.51.100.0/24", NULL, NULL, &refused,
			  &err),
		  err);
	assert_ok(deprov(db, second, "198.51.100.0/24", &err), err);
	assert_string_equal(state_of(db, second, "198.51.100.0/24", NULL),
			    "deprovisioned");
	assert_code(deprov(db, second, "198.51.100.0/24", &err), err,
		    IPAM_ENOENT, NULL);

	/* the lab switch */
	ipam_byoip_set_skip(db, true);
	assert_true(ipam_byoip_skip(db));
	assert_ok(provide(db, second, "198.51.100.0/24", NULL, NULL, &refused,
			  &err),
		  err);
	assert_string_equal(state_of(db, second, "198.51.100.0/24", NULL),
			    "provisioned");
	ipam_byoip_set_skip(db, false);

	/* a private pool takes no proof */
	{
		int64_t priv = mktop(db, "p");
		ipam_cidr c = C("10.0.0.0/16");
		ipam_byoip_proof proof = {"m", "s", NULL};
		assert_code(ipam_pool_provision_proven(db, priv, &c, &proof,
						       &refused, &err),
			    err, IPAM_EINVAL, "takes no proof");
		proof = (ipam_byoip_proof){NULL, NULL, NULL};
		assert_ok(ipam_pool_provision_proven(db, priv, &c, &proof,
						     &refused, &err),
			  err);
	}
	assert_ok(ipam_check(db, &err), err);
	/* a pool with records goes away with them */
	assert_ok(deprov(db, second, "198.51.100.0/24", &err), err);
	assert_ok(ipam_pool_delete(db, second, &err), err);
	free_key(&kp);
	free_key(&other);
	ipam_free(db);
}

static void test_tokens(void **state)
{
	ipam *db = open_db();
	int64_t top = public_pool(db, "top");
	ipam_token_info t;
	ipam_strlist list = {0};
	ipam_err err = {0}, refused = {0};
	ipam_cidr c = C("203.0.113.0/24");
	ipam_byoip_proof proof = {NULL, NULL, NULL};
	(void)state;

	assert_ok(ipam_token_create(db, "t1", &err), err);
	assert_code(ipam_token_create(db, "t1", &err), err, IPAM_EEXIST, NULL);
	assert_ok(ipam_token_get(db, "t1", &t, &err), err);
	assert_int_equal(strlen(t.token_name), 8);
	assert_int_equal(strspn(t.token_name, "0123456789"), 8);
	assert_int_equal(strlen(t.token_value), 36);
	assert_int_equal(t.token_value[14], '4'); /* UUIDv4 */
	assert_non_null(strchr("89ab", t.token_value[19]));
	assert_int_equal(t.not_after, FIXTURE_TIME + 72 * 3600);
	assert_false(t.expired);
	assert_ok(ipam_token_list(db, &list, &err), err);
	assert_int_equal(list.count, 1);
	ipam_strlist_free(&list);
	{
		char *json = NULL;
		size_t len = 0;
		assert_ok(ipam_render_tokens_json(db, &json, &len, &err), err);
		assert_non_null(strstr(json, "\"Status\": \"valid\""));
		free(json);
	}

	/* quota */
	assert_ok(ipam_quota_set(db, IPAM_QUOTA_VERIFICATION_TOKENS, 1, &err),
		  err);
	assert_code(ipam_token_create(db, "t2", &err), err, IPAM_EDQUOT,
		    "quota");

	/* past 72 hours: expired, refused before any lookup */
	now_ += 72 * 3600 + 1;
	assert_ok(ipam_token_get(db, "t1", &t, &err), err);
	assert_true(t.expired);
	proof.dns_token = t.id;
	assert_ok(ipam_pool_provision_proven(db, top, &c, &proof, &refused,
					     &err),
		  err);
	assert_code(refused.code, refused, IPAM_EKEYEXPIRED, "72 hours");
	assert_string_equal(state_of(db, top, "203.0.113.0/24", NULL),
			    "failed-provision");
	proof.dns_token = "ipam-ext-res-ver-token-0000";
	assert_ok(ipam_pool_provision_proven(db, top, &c, &proof, &refused,
					     &err),
		  err);
	assert_code(refused.code, refused, IPAM_EINVAL,
		    "no verification token");
	assert_ok(ipam_token_delete(db, "t1", &err), err);
	assert_code(ipam_token_delete(db, "t1", &err), err, IPAM_ENOENT, NULL);
	ipam_free(db);
}

static void test_asns_and_advertising(void **state)
{
	ipam *db = open_db();
	struct keypair kp = make_key();
	int64_t top = public_pool(db, "top"), reg;
	ipam_err err = {0}, refused = {0};
	ipam_asn_info info;
	ipam_strlist list = {0};
	ipam_cidr c = C("203.0.113.0/24");
	char *out = NULL, *sig;
	size_t len = 0;
	(void)state;

	assert_ok(ipam_byoip_setting_set(db, IPAM_BYOIP_CERTIFICATE,
					 kp.cert_pem, &err),
		  err);
	sig = sign(kp.key, message("203.0.113.0/24", "20261231"));
	assert_ok(provide(db, top, "203.0.113.0/24",
			  message("203.0.113.0/24", "20261231"), sig, &refused,
			  &err),
		  err);
	free(sig);
	assert_ok(ipam_pool_set_locale(db, top, "local", &err), err);
	reg = mkpool(db, scope_key(db, "public"), top, "reg");
	assert_ok(ipam_pool_provision(db, reg, &c, &err), err);

	/* five ASNs, not six */
	const char *asns[] = {"64496", "64497", "64498", "64499", "64500"};
	for (size_t i = 0; i < 5; i++)
		assert_ok(ipam_asn_create(db, asns[i], &err), err);
	assert_code(ipam_asn_create(db, "64501", &err), err, IPAM_EDQUOT,
		    "asns quota");
	assert_code(ipam_asn_create(db, "64496", &err), err, IPAM_EEXIST,
		    NULL);
	assert_ok(ipam_asn_list(db, &list, &err), err);
	assert_int_equal(list.count, 5);
	ipam_strlist_free(&list);
	assert_ok(ipam_asn_get(db, 64496, &info, &err), err);
	assert_int_equal(info.state, IPAM_BYOIP_PENDING_PROVISION);

	/* associating needs a provisioned ASN */
	assert_code(ipam_asn_associate(db, 64496, &c, true, &err), err,
		    IPAM_EINVAL, "not provisioned");
	/* a message for another ASN: failed-provision */
	sig = sign(kp.key, message("64497", "20261231"));
	assert_ok(ipam_asn_prove(db, 64496, message("64497", "20261231"), sig,
				 &refused, &err),
		  err);
	assert_code(refused.code, refused, IPAM_EINVAL, "names '64497'");
	assert_ok(ipam_asn_get(db, 64496, &info, &err), err);
	assert_int_equal(info.state, IPAM_BYOIP_FAILED_PROVISION);
	free(sig);
	sig = sign(kp.key, message("64496", "20261231"));
	assert_ok(ipam_asn_prove(db, 64496, message("64496", "20261231"), sig,
				 &refused, &err),
		  err);
	assert_int_equal(refused.code, IPAM_OK);
	assert_ok(ipam_asn_get(db, 64496, &info, &err), err);
	assert_int_equal(info.state, IPAM_BYOIP_PROVISIONED);
	free(sig);

	/* associate; many to many */
	assert_ok(ipam_asn_associate(db, 64496, &c, true, &err), err);
	{
		ipam_cidr priv = C("10.0.0.0/24");
		assert_code(ipam_asn_associate(db, 64496, &priv, true, &err),
			    err, IPAM_EINVAL, "public scope");
	}

	/* advertise: the rules */
	assert_code(ipam_advertise(db, reg, &c, 64496, &err), err, IPAM_EINVAL,
		    "aws-service ec2");
	assert_ok(ipam_pool_set_aws_service(db, reg, "ec2", &err), err);
	assert_code(ipam_advertise(db, reg, &c, 64497, &err), err, IPAM_EINVAL,
		    "not associated");
	assert_ok(ipam_advertise(db, reg, &c, 64496, &err), err);
	{
		ipam_cidr sub = C("203.0.113.0/25");
		assert_code(ipam_advertise(db, reg, &sub, -1, &err), err,
			    IPAM_ENOENT, "not a CIDR provisioned");
	}
	assert_ok(ipam_render_advertisements(db, 0, false, &out, &len, &err),
		  err);
	assert_string_equal(out, "203.0.113.0/24 64496\n");
	free(out);
	assert_ok(ipam_render_advertisements(db, 0, true, &out, &len, &err),
		  err);
	assert_non_null(strstr(out, "\troute 203.0.113.0/24 unreachable { "
				     "bgp_path.prepend(64496); };\n"));
	free(out);
	assert_ok(ipam_asn_cidrs(db, 64496, &list, &err), err);
	assert_int_equal(list.count, 1);
	assert_string_equal(list.items[0], "203.0.113.0/24 advertised");
	ipam_strlist_free(&list);

	/* refusals while advertised / associated */
	assert_code(ipam_asn_associate(db, 64496, &c, false, &err), err,
		    IPAM_EBUSY, "withdraw first");
	assert_code(ipam_asn_deprovision(db, 64496, &err), err, IPAM_EBUSY,
		    "associated");
	assert_code(ipam_pool_deprovision(db, reg, &c, &err), err, IPAM_EBUSY,
		    "advertised");

	/* switch to the router's own AS, then withdraw */
	assert_ok(ipam_advertise(db, reg, &c, -1, &err), err);
	assert_ok(ipam_render_advertisements(db, reg, false, &out, &len,
					     &err),
		  err);
	assert_string_equal(out, "203.0.113.0/24 AWS\n");
	free(out);
	{
		char *json = NULL;
		assert_ok(ipam_render_byoip_cidrs_json(db, &json, &len, &err),
			  err);
		assert_non_null(strstr(json, "\"State\": \"advertised\""));
		free(json);
		assert_ok(ipam_render_asns_json(db, &json, &len, &err), err);
		assert_non_null(strstr(json, "\"Asn\": \"64496\""));
		free(json);
	}
	assert_ok(ipam_withdraw(db, reg, &c, &err), err);
	assert_code(ipam_withdraw(db, reg, &c, &err), err, IPAM_ENOENT, NULL);
	assert_ok(ipam_render_advertisements(db, 0, true, &out, &len, &err),
		  err);
	assert_null(strstr(out, "\troute "));
	free(out);
	assert_code(ipam_pool_deprovision(db, reg, &c, &err), err, IPAM_EBUSY,
		    "disassociate");
	assert_ok(ipam_asn_associate(db, 64496, &c, false, &err), err);
	assert_ok(ipam_asn_deprovision(db, 64496, &err), err);
	assert_code(ipam_asn_get(db, 64496, &info, &err), err, IPAM_ENOENT,
		    NULL);
	/* deprovisioned ones do not count: a sixth fits now */
	assert_ok(ipam_asn_create(db, "64501", &err), err);
	assert_ok(ipam_pool_deprovision(db, reg, &c, &err), err);
	assert_ok(ipam_check(db, &err), err);
	free_key(&kp);
	ipam_free(db);
}

/* L5291: from the AWS ASN to a brought one once an hour (IPAM clock); back
 * at any time; a withdrawal does not reset the hour. */
static void test_asn_switch_once_an_hour(void **state)
{
	ipam *db = open_db();
	int64_t top = public_pool(db, "top"), reg;
	ipam_cidr c = C("203.0.113.0/24");
	ipam_err err = {0};
	(void)state;

	ipam_byoip_set_skip(db, true);
	assert_ok(ipam_pool_set_locale(db, top, "local", &err), err);
	prov_ok(db, top, "203.0.113.0/24");
	reg = mkpool(db, scope_key(db, "public"), top, "reg");
	assert_ok(ipam_pool_set_aws_service(db, reg, "ec2", &err), err);
	prov_ok(db, reg, "203.0.113.0/24");
	assert_ok(ipam_asn_create(db, "64496", &err), err);
	assert_ok(ipam_asn_create(db, "64497", &err), err);
	assert_ok(ipam_asn_associate(db, 64496, &c, true, &err), err);
	assert_ok(ipam_asn_associate(db, 64497, &c, true, &err), err);
	/* a first advertisement from a brought ASN is no switch */
	assert_ok(ipam_advertise(db, reg, &c, 64496, &err), err);
	assert_ok(ipam_advertise(db, reg, &c, -1, &err), err);
	assert_ok(ipam_advertise(db, reg, &c, 64496, &err), err);
	/* back to AWS at once, and between brought ASNs */
	assert_ok(ipam_advertise(db, reg, &c, 64497, &err), err);
	assert_ok(ipam_advertise(db, reg, &c, -1, &err), err);
	assert_code(ipam_advertise(db, reg, &c, 64497, &err), err, IPAM_EBUSY,
		    "once an hour (L5291)");
	now_ += 3599;
	assert_code(ipam_advertise(db, reg, &c, 64496, &err), err, IPAM_EBUSY,
		    "before 2026-");
	/* a withdrawal does not reset the hour */
	assert_ok(ipam_withdraw(db, reg, &c, &err), err);
	assert_ok(ipam_advertise(db, reg, &c, -1, &err), err);
	assert_code(ipam_advertise(db, reg, &c, 64496, &err), err, IPAM_EBUSY,
		    NULL);
	{
		char *out = NULL;
		size_t len = 0;
		assert_ok(ipam_render_advertisements(db, 0, false, &out, &len,
						     &err),
			  err);
		assert_string_equal(out, "203.0.113.0/24 AWS\n");
		free(out);
	}
	now_ += 1;
	assert_ok(ipam_advertise(db, reg, &c, 64496, &err), err);
	assert_ok(ipam_check(db, &err), err);
	ipam_free(db);
}

/* ---- export and import of the public state ---- */

static char *export_of(ipam *db)
{
	char *out = NULL;
	size_t len = 0;
	ipam_err err = {0};
	assert_ok(ipam_export_json(db, &out, &len, &err), err);
	return out;
}

/* An IPAM holding every kind of public state. */
static ipam *public_sample(struct keypair *kp)
{
	ipam *db = open_db();
	int64_t top = public_pool(db, "top"), reg;
	ipam_err err = {0}, refused = {0};
	ipam_cidr c = C("203.0.113.0/24"), gone = C("1.2.3.0/24");
	char *sig;

	assert_ok(ipam_byoip_setting_set(db, IPAM_BYOIP_CERTIFICATE,
					 kp->cert_pem, &err),
		  err);
	assert_ok(ipam_byoip_setting_set(db, IPAM_BYOIP_DNS_RESOLVER,
					 "127.0.0.1:5353", &err),
		  err);
	assert_ok(ipam_pool_set_locale(db, top, "local", &err), err);
	sig = sign(kp->key, message("203.0.113.0/24", "20261231"));
	assert_ok(provide(db, top, "203.0.113.0/24",
			  message("203.0.113.0/24", "20261231"), sig, &refused,
			  &err),
		  err);
	free(sig);
	sig = sign(kp->key, message("1.2.3.0/24", "20261231"));
	assert_ok(provide(db, top, "1.2.3.0/24",
			  message("1.2.3.0/24", "20261231"), sig, &refused,
			  &err),
		  err);
	free(sig);
	assert_ok(ipam_pool_deprovision(db, top, &gone, &err), err);
	/* pending (no proof) and failed (a message for another CIDR) */
	assert_ok(
		provide(db, top, "198.51.100.0/24", NULL, NULL, &refused, &err),
		err);
	sig = sign(kp->key, message("1.2.3.0/24", "20261231"));
	assert_ok(provide(db, top, "192.0.2.0/24",
			  message("1.2.3.0/24", "20261231"), sig, &refused,
			  &err),
		  err);
	free(sig);
	assert_int_equal(refused.code, IPAM_EINVAL);
	assert_string_equal(state_of(db, top, "192.0.2.0/24", NULL),
			    "failed-provision");
	reg = mkpool(db, scope_key(db, "public"), top, "reg");
	assert_ok(ipam_pool_set_aws_service(db, reg, "ec2", &err), err);
	assert_ok(ipam_pool_provision(db, reg, &c, &err), err);
	assert_ok(ipam_asn_create(db, "64496", &err), err);
	assert_ok(ipam_asn_create(db, "64497", &err), err);
	sig = sign(kp->key, message("64496", "20261231"));
	assert_ok(ipam_asn_prove(db, 64496, message("64496", "20261231"), sig,
				 &refused, &err),
		  err);
	free(sig);
	assert_ok(ipam_asn_associate(db, 64496, &c, true, &err), err);
	assert_ok(ipam_advertise(db, reg, &c, 64496, &err), err);
	assert_ok(ipam_token_create(db, "t1", &err), err);
	/* the account the messages named was the owner's uid: now another */
	assert_ok(ipam_byoip_setting_set(db, IPAM_BYOIP_ACCOUNT_ID,
					 "123456789012", &err),
		  err);
	return db;
}

static int import_doc(ipam *db, const char *doc, ipam_import_result *res,
		      ipam_err *err)
{
	return ipam_import(db, doc, strlen(doc), false, res, err);
}

static void test_public_round_trip(void **state)
{
	struct keypair kp = make_key();
	ipam *a = public_sample(&kp), *b;
	ipam_open_opts opts = fixture_opts();
	ipam_import_result res;
	ipam_err err = {0};
	ipam_asn_info info;
	ipam_strlist list = {0};
	int64_t top = 0;
	char *e1 = export_of(a), *e2, *out = NULL;
	size_t len = 0;
	(void)state;

	for (const char *const *k =
		     (const char *const[]){
			     "\"ByoipCidrs\": [",
			     "\"State\":\"pending-provision\"",
			     "\"State\":\"failed-provision\"",
			     "\"Code\":\"cidr-not-available\"",
			     "\"State\":\"deprovisioned\"",
			     "\"ProofMethod\":\"x509\"", "\"Byoasns\": [",
			     "\"Cidrs\":[\"203.0.113.0/24\"]",
			     "\"Advertisements\": [", "\"Asn\":\"64496\"",
			     "\"VerificationTokens\": [",
			     "\"AccountId\":\"123456789012\"",
			     "\"DnsResolver\":\"127.0.0.1:5353\"",
			     "BEGIN CERTIFICATE", NULL};
	     *k; k++)
		if (!strstr(e1, *k))
			fail_msg("the export lacks %s", *k);
	opts.in_memory = true;
	opts.id_seed = 42;
	opts.clock_ctx = &now_;
	assert_ok(ipam_open(&b, NULL, &opts, &err), err);
	now_ += 600; /* the document's times, not the import's */
	assert_ok(import_doc(b, e1, &res, &err), err);
	assert_non_null(strstr(res.changes,
			       "+ byoip-cidr scopes/public/pools/top "
			       "198.51.100.0/24 pending-provision\n"));
	assert_non_null(strstr(res.changes, "+ advertisement "));
	ipam_import_result_free(&res);
	e2 = export_of(b);
	assert_string_equal(e1, e2);
	free(e2);
	/* the state is live, not only text */
	assert_ok(ipam_pool_lookup(b, scope_key(b, "public"), 0, "top", &top,
				   &err),
		  err);
	assert_string_equal(state_of(b, top, "198.51.100.0/24", NULL),
			    "pending-provision");
	{
		char reason[IPAM_ERR_MSG_MAX];
		assert_string_equal(state_of(b, top, "192.0.2.0/24", reason),
				    "failed-provision");
		assert_non_null(strstr(reason, "1.2.3.0/24"));
	}
	assert_ok(ipam_asn_get(b, 64496, &info, &err), err);
	assert_int_equal(info.state, IPAM_BYOIP_PROVISIONED);
	assert_ok(ipam_asn_cidrs(b, 64496, &list, &err), err);
	assert_int_equal(list.count, 1);
	assert_string_equal(list.items[0], "203.0.113.0/24 advertised");
	ipam_strlist_free(&list);
	assert_ok(ipam_render_advertisements(b, 0, false, &out, &len, &err),
		  err);
	assert_string_equal(out, "203.0.113.0/24 64496\n");
	free(out);
	{
		ipam_token_info ta, tb;
		assert_ok(ipam_token_get(a, "t1", &ta, &err), err);
		assert_ok(ipam_token_get(b, "t1", &tb, &err), err);
		assert_string_equal(ta.token_value, tb.token_value);
		assert_string_equal(ta.id, tb.id);
	}
	/* a pending CIDR still blocks an overlapping provision elsewhere */
	{
		int64_t other = public_pool(b, "other");
		ipam_cidr sub = C("198.51.100.0/23");
		assert_code(ipam_pool_provision(b, other, &sub, &err), err,
			    IPAM_EADDRINUSE, "pending provision");
	}
	/* again: nothing to do */
	assert_ok(import_doc(b, e1, &res, &err), err);
	assert_true(res.changes == NULL || *res.changes == '\0');
	ipam_import_result_free(&res);
	assert_ok(ipam_check(b, &err), err);
	free(e1);
	free_key(&kp);
	ipam_free(a);
	ipam_free(b);
}

/* The document with `path`'s string (ARRAY/INDEX/FIELD[/FIELD]) set to
 * `value` (NULL: the element appended/removed as given by `add`). */
static char *forged(const char *doc, const char *array, size_t index,
		    const char *field, json_t *value)
{
	json_error_t jerr;
	json_t *root = json_loads(doc, 0, &jerr), *el;
	char *out;
	assert_non_null(root);
	el = json_array_get(json_object_get(root, array), index);
	if (!el) { /* a new element */
		el = json_object();
		json_array_append_new(json_object_get(root, array), el);
	}
	if (!strcmp(array, "Ipam"))
		el = json_object_get(root, "Ipam");
	json_object_set_new(el, field, value);
	out = json_dumps(root, JSON_PRESERVE_ORDER | JSON_INDENT(1));
	json_decref(root);
	return out;
}

/* The index of the element of `array` whose `field` is `value`. */
static size_t elem_index(const char *doc, const char *array, const char *field,
			 const char *value)
{
	json_error_t jerr;
	json_t *root = json_loads(doc, 0, &jerr), *el;
	size_t i, at = (size_t)-1;
	assert_non_null(root);
	json_array_foreach(
		json_object_get(root, array), i,
		el) if (!strcmp(json_string_value(json_object_get(el, field))
					? json_string_value(
						  json_object_get(el, field))
					: "",
				value)) at = i;
	json_decref(root);
	assert_true(at != (size_t)-1);
	return at;
}

static void test_public_import_hostile(void **state)
{
	struct keypair kp = make_key();
	ipam *a = public_sample(&kp), *b;
	ipam_open_opts opts = fixture_opts();
	ipam_import_result res;
	ipam_err err = {0};
	char *e1 = export_of(a), *before, *after, *doc;
	size_t pend, prov, adv, asn, tok;
	(void)state;

	opts.in_memory = true;
	opts.id_seed = 42;
	opts.clock_ctx = &now_;
	assert_ok(ipam_open(&b, NULL, &opts, &err), err);
	before = export_of(b);
	pend = elem_index(e1, "ByoipCidrs", "Cidr", "198.51.100.0/24");
	prov = elem_index(e1, "ByoipCidrs", "Cidr", "203.0.113.0/24");
	adv = elem_index(e1, "Advertisements", "Cidr", "203.0.113.0/24");
	asn = elem_index(e1, "Byoasns", "Asn", "64497");
	tok = elem_index(e1, "VerificationTokens", "Name", "t1");
	struct {
		const char *array;
		size_t index;
		const char *field;
		json_t *value;
		int code;
		const char *needle;
	} cases[] = {
		/* a pending CIDR said provisioned: not smuggled in */
		{"ByoipCidrs", pend, "State", json_string("provisioned"),
		 IPAM_EINVAL, "is not provisioned to pool"},
		/* a provisioned CIDR said pending */
		{"ByoipCidrs", prov, "State", json_string("pending-provision"),
		 IPAM_EINVAL, "is provisioned to pool"},
		{"ByoipCidrs", pend, "State",
		 json_string("pending-deprovision"), IPAM_EINVAL,
		 "synchronous"},
		{"ByoipCidrs", pend, "State", json_string("bogus"), IPAM_EINVAL,
		 "not a state"},
		{"ByoipCidrs", prov, "FailureReason",
		 json_pack("{s:s, s:s}", "Code", "cidr-not-available",
			   "Message", "x"),
		 IPAM_EINVAL, "has no FailureReason"},
		{"ByoipCidrs", prov, "ProofMethod", json_string("trust-me"),
		 IPAM_EINVAL, "ProofMethod"},
		{"ByoipCidrs", pend, "Cidr", json_string("10.0.0.0/24"),
		 IPAM_EINVAL, NULL},
		{"ByoipCidrs", pend, "IpamPoolId", json_string("ipam-pool-x"),
		 IPAM_EINVAL, "not a pool of the document"},
		{"ByoipCidrs", pend, "Changed", json_string("yesterday"),
		 IPAM_EINVAL, "not a time"},
		/* a pending CIDR overlapping a provisioned one */
		{"ByoipCidrs", pend, "Cidr", json_string("203.0.112.0/23"),
		 IPAM_EADDRINUSE, NULL},
		/* ASNs: private, asdot, associated while pending */
		{"Byoasns", asn, "Asn", json_string("64512"), IPAM_EINVAL,
		 "not a public ASN"},
		{"Byoasns", asn, "Asn", json_string("1.10"), IPAM_EINVAL,
		 "asplain"},
		{"Byoasns", asn, "Cidrs", json_pack("[s]", "203.0.113.0/24"),
		 IPAM_EINVAL, "not provisioned"},
		{"Byoasns", asn, "Cidrs", json_pack("[s]", "198.51.100.0/24"),
		 IPAM_EINVAL, NULL},
		{"Byoasns", asn, "State", json_string("pending-deprovision"),
		 IPAM_EINVAL, NULL},
		/* advertising from an ASN not associated, from a pool that
		 * does not hold the CIDR */
		{"Advertisements", adv, "Asn", json_string("64497"),
		 IPAM_EINVAL, "not associated"},
		{"Advertisements", adv, "Cidr", json_string("198.51.100.0/24"),
		 IPAM_ENOENT, "not a CIDR provisioned"},
		/* a token that never expires, a forged value */
		{"VerificationTokens", tok, "NotAfter",
		 json_string("2099-01-01T00:00:00Z"), IPAM_EINVAL, "72 hours"},
		{"VerificationTokens", tok, "TokenValue",
		 json_string("not-a-uuid"), IPAM_EINVAL, "UUID"},
		{"VerificationTokens", tok, "Name", json_string("a/b"),
		 IPAM_EINVAL, "not a file name"},
		/* settings */
		{"Ipam", 0, "Certificate", json_string("not a PEM"),
		 IPAM_EINVAL, "Certificate"},
		{"Ipam", 0, "DnsResolver", json_string("example.org"),
		 IPAM_EINVAL, "resolver"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;
		doc = forged(e1, cases[i].array, cases[i].index, cases[i].field,
			     cases[i].value);
		rc = import_doc(b, doc, &res, &err);
		ipam_import_result_free(&res);
		if (rc != cases[i].code)
			fail_msg("case %zu (%s.%s): got %s (%s)", i,
				 cases[i].array, cases[i].field,
				 ipam_code_name(rc), err.msg);
		if (cases[i].needle && !strstr(err.msg, cases[i].needle))
			fail_msg("case %zu: reason '%s' lacks '%s'", i, err.msg,
				 cases[i].needle);
		memset(&err, 0, sizeof(err));
		free(doc);
		/* nothing half-applied */
		after = export_of(b);
		assert_string_equal(before, after);
		free(after);
	}
	/* over the asns quota */
	{
		ipam_err qerr = {0};
		assert_ok(ipam_quota_set(a, IPAM_QUOTA_ASNS, 5, &qerr), qerr);
		free(e1);
		e1 = export_of(a);
		json_error_t jerr;
		json_t *root = json_loads(e1, 0, &jerr);
		json_t *q = json_object_get(json_object_get(root, "Ipam"),
					    "Quotas");
		json_object_set_new(q, "asns", json_integer(1));
		doc = json_dumps(root, JSON_PRESERVE_ORDER);
		json_decref(root);
		assert_code(import_doc(b, doc, &res, &err), err, IPAM_EDQUOT,
			    "asns quota");
		ipam_import_result_free(&res);
		free(doc);
	}
	after = export_of(b);
	assert_string_equal(before, after);
	free(after);
	free(before);
	free(e1);
	free_key(&kp);
	ipam_free(a);
	ipam_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_asn_numbers),
		cmocka_unit_test(test_dns_record_names),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_lifecycle_and_proofs),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_asns_and_advertising),
		cmocka_unit_test(test_asn_switch_once_an_hour),
		cmocka_unit_test(test_public_round_trip),
		cmocka_unit_test(test_public_import_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
