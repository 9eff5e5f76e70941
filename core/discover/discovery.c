/*
 * discovery.c - resource discoveries (L2337-L2580): named sources of
 * resources for a scope. A discovery owns the resources its snapshots
 * created; what a complete snapshot (feed.c says which are) no longer
 * lists has ended (their history records get an end time), what is new
 * appears; an incomplete one (JSON lines without the end-of-snapshot line)
 * only adds and updates. Two
 * discoveries always exist: `default`, fed by hand or by scripts, and
 * `host`, which reads this machine's interfaces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"

static int discovery_insert(ipam *db, const char *name, bool builtin,
			    ipam_err *err)
{
	char id[IPAM_ID_MAX];
	ipam_stmt *stmt;
	int rc = ipam__new_id(db, "ipam-res-disco-", false, id, err);

	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "INSERT INTO discovery(aws_id, name, scope_key,"
			  " builtin, created) VALUES (?1, ?2,"
			  " (SELECT key FROM scope WHERE name = 'private'),"
			  " ?3, ?4)",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, id, -1);
	ipam__bind_text(stmt, 2, name, -1);
	ipam__bind_int(stmt, 3, builtin);
	ipam__bind_int64(stmt, 4, ipam__now(db));
	rc = ipam__exec(db, stmt, NULL);
	if (rc == IPAM_EEXIST)
		return ipam__fail(err, IPAM_EEXIST, "discovery '%s' exists",
				  name);
	if (rc)
		return ipam__fail(err, rc, "cannot create discovery '%s'",
				  name);
	return ipam__event(db, "create-ipam-resource-discovery", id,
			   json_pack("{s:s}", "name", name), err);
}

int ipam__discovery_builtins(ipam *db, ipam_err *err)
{
	int rc = discovery_insert(db, "default", true, err);
	return rc ? rc : discovery_insert(db, "host", true, err);
}

static int discovery_load(ipam *db, const char *name, ipam_discovery_info *out,
			  bool *builtin, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(
		db,
		"SELECT d.key, d.aws_id, d.name, d.scope_key, s.name, d.locale,"
		" (SELECT count(*) FROM resource r WHERE r.discovery_key ="
		" d.key), d.last_feed, d.builtin, d.unmonitored"
		" FROM discovery d JOIN scope s ON s.key = d.scope_key"
		" WHERE d.name = ?1",
		err);
	int rc;
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_text(stmt, 1, name, -1);
	rc = ipam__step(db, stmt, err);
	if (rc == 1) {
		memset(out, 0, sizeof(*out));
		out->key = ipam__col_int64(stmt, 0);
		ipam__copy_text(out->id, sizeof(out->id), stmt, 1);
		ipam__copy_text(out->name, sizeof(out->name), stmt, 2);
		out->scope_key = ipam__col_int64(stmt, 3);
		ipam__copy_text(out->scope, sizeof(out->scope), stmt, 4);
		ipam__copy_text(out->locale, sizeof(out->locale), stmt, 5);
		out->resources = ipam__col_int64(stmt, 6);
		out->last_feed = ipam__col_int64(stmt, 7);
		if (builtin)
			*builtin = ipam__col_int(stmt, 8) != 0;
		out->unmonitored = ipam__col_int64(stmt, 9);
		rc = 0;
	} else if (rc == 0) {
		rc = ipam__fail(err, IPAM_ENOENT, "no discovery '%.80s'", name);
	}
	ipam__reset(stmt);
	return rc;
}

int ipam__discovery_load_name(ipam *db, const char *name,
			      ipam_discovery_info *out, ipam_err *err)
{
	return discovery_load(db, name, out, NULL, err);
}

int ipam__discovery_load_key(ipam *db, int64_t key, ipam_discovery_info *out,
			     ipam_err *err)
{
	char name[IPAM_NAME_MAX + 1] = "";
	ipam_stmt *stmt = ipam__stmt(
		db, "SELECT name FROM discovery WHERE key = ?1", err);
	int rc;

	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	rc = ipam__step(db, stmt, err);
	if (rc == 1)
		ipam__copy_text(name, sizeof(name), stmt, 0);
	ipam__reset(stmt);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return ipam__fail(err, IPAM_ENOENT, "no discovery %lld",
				  (long long)key);
	return discovery_load(db, name, out, NULL, err);
}

int ipam_discovery_get(ipam *db, const char *name, ipam_discovery_info *out,
		       ipam_err *err)
{
	int rc = ipam__read_begin(db, err);
	if (rc)
		return rc;
	return ipam__read_end(db, discovery_load(db, name, out, NULL, err));
}

int ipam_discovery_list(ipam *db, ipam_strlist *out, ipam_err *err)
{
	int rc = ipam__read_begin(db, err);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	return ipam__read_end(
		db, ipam__collect_text(db,
				       ipam__stmt(db,
						  "SELECT name FROM discovery"
						  " ORDER BY name",
						  err),
				       out, err));
}

int ipam_discovery_create(ipam *db, const char *name, ipam_err *err)
{
	int rc = ipam_name_check(name, err);
	if (rc || (rc = ipam__write_begin(db, err)))
		return rc;
	return ipam__write_end(db, discovery_insert(db, name, false, err), err);
}

/* The keys of the resources a discovery owns. */
static int owned(ipam *db, int64_t discovery, int64_t **out, size_t *count,
		 ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT key FROM resource WHERE"
					" discovery_key = ?1 ORDER BY key",
					err);
	if (stmt)
		ipam__bind_int64(stmt, 1, discovery);
	return ipam__collect_keys(db, stmt, out, count, err);
}

static int discovery_remove(ipam *db, const char *name, ipam_err *err)
{
	ipam_discovery_info d;
	ipam_stmt *stmt;
	int64_t *keys = NULL;
	size_t n = 0;
	bool builtin = false;
	int rc = discovery_load(db, name, &d, &builtin, err);

	if (rc)
		return rc;
	if (builtin)
		return ipam__fail(err, IPAM_EPERM,
				  "discovery '%s' is built in and cannot be "
				  "deleted",
				  name);
	if ((rc = owned(db, d.key, &keys, &n, err)))
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = ipam__resource_remove(db, keys[i], err);
	free(keys);
	if (rc)
		return rc;
	stmt = ipam__stmt(db, "DELETE FROM discovery WHERE key = ?1", err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, d.key);
	if ((rc = ipam__exec(db, stmt, err)) ||
	    (rc = ipam__tags_drop(db, d.id, err)))
		return rc;
	return ipam__event(db, "delete-ipam-resource-discovery", d.id,
			   json_pack("{s:o}", "name", json_string(name)), err);
}

int ipam_discovery_delete(ipam *db, const char *name, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, discovery_remove(db, name, err), err);
}

static int scope_change(ipam *db, const char *name, const char *scope,
			ipam_err *err)
{
	ipam_discovery_info d;
	ipam_scope_info sc;
	ipam_stmt *stmt;
	int64_t *keys = NULL;
	size_t n = 0;
	int rc = discovery_load(db, name, &d, NULL, err);

	if (rc || (rc = ipam__scope_load_name(db, scope, &sc, err)))
		return rc;
	if (sc.key == d.scope_key)
		return 0;
	/* what it sees in its scope moves; public space stays public */
	stmt = ipam__stmt(db,
			  "SELECT key FROM resource WHERE discovery_key = ?1"
			  " AND scope_key = ?2 ORDER BY key",
			  err);
	if (stmt) {
		ipam__bind_int64(stmt, 1, d.key);
		ipam__bind_int64(stmt, 2, d.scope_key);
	}
	if ((rc = ipam__collect_keys(db, stmt, &keys, &n, err)))
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = ipam__resource_rescope(db, keys[i], sc.key, err);
	free(keys);
	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "UPDATE discovery SET scope_key = ?2"
			  " WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, d.key);
	ipam__bind_int64(stmt, 2, sc.key);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return ipam__event(db, "modify-ipam-resource-discovery", d.id,
			   json_pack("{s:s}", "scope", sc.id), err);
}

int ipam_discovery_set_scope(ipam *db, const char *name, const char *scope,
			     ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, scope_change(db, name, scope, err), err);
}

static int locale_change(ipam *db, const char *name, const char *locale,
			 ipam_err *err)
{
	ipam_discovery_info d;
	ipam_stmt *stmt;
	int rc = discovery_load(db, name, &d, NULL, err);

	if (rc || (*locale && (rc = ipam__check_locale(locale, err))))
		return rc;
	stmt = ipam__stmt(db,
			  "UPDATE discovery SET locale = ?2"
			  " WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, d.key);
	ipam__bind_text(stmt, 2, locale, -1);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return ipam__event(db, "modify-ipam-resource-discovery", d.id,
			   json_pack("{s:s}", "locale", locale), err);
}

int ipam_discovery_set_locale(ipam *db, const char *name, const char *locale,
			      ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, locale_change(db, name, locale, err), err);
}

/* Marks a resource as present in the snapshot being applied. */
static int mark_seen(ipam *db, int64_t key, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"INSERT INTO seen(key)"
					" VALUES (?1) ON CONFLICT DO NOTHING",
					err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, key);
	return ipam__exec(db, stmt, err);
}

/* A fed resource that needs an address and has none asks its policy. */
static int ask_policy(ipam *db, int64_t key, ipam_err *err)
{
	int64_t n = 0;
	int rc = ipam__count_key(
		db, "SELECT count(*) FROM resource_cidr WHERE resource_key = ?1",
		key, &n, err);
	return rc || n ? rc : ipam__policy_ask(db, key, err);
}

/*
 * Public space goes to the public scope (L3647), private space to the
 * discovery's scope (L1267): a record's CIDRs are split by kind of address
 * (global space, see ipam__public_space_check, is public: EIPs, a VPC's
 * Amazon or BYOIP IPv6 blocks), and each part is a resource of its scope
 * under the same id. A discovery whose scope is the public scope keeps
 * everything there.
 */
static int apply_record(ipam *db, const ipam_discovery_info *d,
			int64_t public_scope, const ipam__res_rec *rec,
			int64_t **fresh, size_t *nfresh, ipam_err *err)
{
	ipam__res_rec part = *rec;
	ipam_cidr *priv = NULL, *pub = NULL;
	size_t npriv = 0, npub = 0;
	int64_t key;
	int rc = 0;

	if (d->scope_key != public_scope && rec->ncidrs) {
		priv = malloc(rec->ncidrs * sizeof(*priv));
		pub = malloc(rec->ncidrs * sizeof(*pub));
		if (!priv || !pub) {
			free(priv);
			free(pub);
			return ipam__fail(err, IPAM_ENOMEM, "out of memory");
		}
		for (size_t i = 0; i < rec->ncidrs; i++) {
			if (ipam__public_space_check(&rec->cidrs[i], NULL))
				priv[npriv++] = rec->cidrs[i];
			else
				pub[npub++] = rec->cidrs[i];
		}
	}
	if (!rec->ncidrs && rec->wants_address) {
		/* an EIP, ALB, RDS instance or NAT gateway without its address
		 * yet: public IPv4 is what it needs, from its IPAM policy */
		rc = ipam__resource_apply(db, public_scope, d->key, rec, &key,
					  fresh, nfresh, err);
		if (rc == 0)
			rc = mark_seen(db, key, err);
		if (rc == 0)
			rc = ask_policy(db, key, err);
	} else if (!npub) { /* all private: one resource, as given */
		rc = ipam__resource_apply(db, d->scope_key, d->key, rec, &key,
					  fresh, nfresh, err);
		if (rc == 0)
			rc = mark_seen(db, key, err);
	} else {
		if (npriv) {
			part.cidrs = priv;
			part.ncidrs = npriv;
			rc = ipam__resource_apply(db, d->scope_key, d->key,
						  &part, &key, fresh, nfresh,
						  err);
			if (rc == 0)
				rc = mark_seen(db, key, err);
		}
		part.cidrs = pub;
		part.ncidrs = npub;
		if (rc == 0)
			rc = ipam__resource_apply(db, public_scope, d->key,
						  &part, &key, fresh, nfresh,
						  err);
		if (rc == 0)
			rc = mark_seen(db, key, err);
	}
	free(priv);
	free(pub);
	return rc;
}

/* Applies a parsed snapshot to a discovery: update, add, end, import. */
static int apply(ipam *db, const ipam_discovery_info *d, const ipam__feed *feed,
		 ipam_err *err)
{
	int64_t *fresh = NULL, *gone = NULL, unmonitored = 0;
	size_t nfresh = 0, ngone = 0;
	ipam_stmt *stmt;
	int rc = ipam__exec_sql(db,
				"CREATE TEMP TABLE IF NOT EXISTS seen(key"
				" INTEGER PRIMARY KEY); DELETE FROM seen;",
				err);

	ipam_scope_info pub;

	if (rc == 0)
		rc = ipam__scope_load_name(db, "public", &pub, err);
	/* IPAM monitors resources only in operating Regions (L394,
	 * L1971): a record of another region is not applied, only counted;
	 * adding its region re-applies the snapshot (ipam__discoveries_
	 * reapply), and then it comes in. */
	for (size_t i = 0; rc == 0 && i < feed->count; i++) {
		if (!ipam_locale_is_operating(db, feed->recs[i].region)) {
			unmonitored++;
			continue;
		}
		rc = apply_record(db, d, pub.key, &feed->recs[i], &fresh,
				  &nfresh, err);
	}
	if (rc == 0 && feed->complete) {
		stmt = ipam__stmt(db,
				  "SELECT key FROM resource WHERE"
				  " discovery_key = ?1 AND key NOT IN"
				  " (SELECT key FROM seen) ORDER BY key",
				  err);
		if (stmt)
			ipam__bind_int64(stmt, 1, d->key);
		rc = ipam__collect_keys(db, stmt, &gone, &ngone, err);
	}
	for (size_t i = 0; rc == 0 && i < ngone; i++)
		rc = ipam__resource_remove(db, gone[i], err);
	if (rc == 0)
		rc = ipam__auto_import(db, fresh, nfresh, err);
	free(fresh);
	free(gone);
	if (rc == 0)
		rc = ipam__exec_sql(db, "DELETE FROM seen", err);
	if (rc)
		return rc;
	stmt = ipam__stmt(db,
			  "UPDATE discovery SET last_feed = ?2,"
			  " unmonitored = ?3 WHERE key = ?1",
			  err);
	if (!stmt)
		return ipam__stmt_error(err);
	ipam__bind_int64(stmt, 1, d->key);
	ipam__bind_int64(stmt, 2, ipam__now(db));
	ipam__bind_int64(stmt, 3, unmonitored);
	if ((rc = ipam__exec(db, stmt, err)))
		return rc;
	return ipam__event(db, "feed-ipam-resource-discovery", d->id,
			   json_pack("{s:I, s:I, s:b, s:I}", "resources",
				     (json_int_t)feed->count, "ended",
				     (json_int_t)ngone, "complete",
				     feed->complete, "unmonitored",
				     (json_int_t)unmonitored),
			   err);
}

/* The region for records without one: the discovery's, else home. */
static int default_region(ipam *db, const ipam_discovery_info *d,
			  char out[IPAM_LOCALE_MAX + 1], ipam_err *err)
{
	ipam_info info;
	int rc;
	if (*d->locale) {
		snprintf(out, IPAM_LOCALE_MAX + 1, "%s", d->locale);
		return 0;
	}
	if ((rc = ipam__info_load(db, &info, err)))
		return rc;
	snprintf(out, IPAM_LOCALE_MAX + 1, "%s", info.home_locale);
	return 0;
}

/* Parses and applies a snapshot; `store` keeps its text for
 * ipam__discoveries_reapply. */
static int feed_apply(ipam *db, const char *name, const char *text, size_t len,
		      bool store, ipam_err *err)
{
	char region[IPAM_LOCALE_MAX + 1];
	ipam_discovery_info d;
	ipam__feed feed;
	int rc = discovery_load(db, name, &d, NULL, err);

	if (rc || (rc = default_region(db, &d, region, err)) ||
	    (rc = ipam__feed_parse(&feed, text, len, region, err)))
		return rc;
	rc = apply(db, &d, &feed, err);
	/* only a complete snapshot is kept: re-applying a partial one could
	 * not end what left a region */
	store = store && feed.complete;
	ipam__feed_free(&feed);
	if (rc == 0 && store) {
		ipam_stmt *stmt = ipam__stmt(db,
						"UPDATE discovery SET"
						" snapshot = ?2 WHERE key = ?1",
						err);
		if (!stmt)
			return ipam__stmt_error(err);
		ipam__bind_int64(stmt, 1, d.key);
		ipam__bind_text(stmt, 2, text, (int)len);
		rc = ipam__exec(db, stmt, err);
	}
	return rc;
}

/*
 * After the operating locales changed: every discovery's last snapshot is
 * applied again, so that the records of a region that became operating
 * come in and those of a region that left go (their history ends).
 */
int ipam__discoveries_reapply(ipam *db, ipam_err *err)
{
	ipam_stmt *stmt = ipam__stmt(db,
					"SELECT name, snapshot FROM discovery"
					" WHERE snapshot IS NOT NULL ORDER BY"
					" key",
					err);
	ipam_strlist names = {0}, texts = {0};
	int rc = 0, step;

	if (!stmt)
		return ipam__stmt_error(err);
	while (rc == 0 && (step = ipam__step(db, stmt, err)) == 1)
		if ((rc = ipam__strlist_push(
			     &names,
			     ipam__col_text(stmt, 0))) == 0)
			rc = ipam__strlist_push(
				&texts,
				ipam__col_text(stmt, 1));
	ipam__reset(stmt);
	if (rc)
		rc = ipam__fail(err, IPAM_ENOMEM, "out of memory");
	else if (step < 0)
		rc = step;
	for (size_t i = 0; rc == 0 && i < names.count; i++)
		rc = feed_apply(db, names.items[i], texts.items[i],
				strlen(texts.items[i]), false, err);
	ipam_strlist_free(&names);
	ipam_strlist_free(&texts);
	return rc;
}

int ipam_discovery_feed(ipam *db, const char *name, const char *text,
			size_t len, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, feed_apply(db, name, text, len, true, err),
			       err);
}

static int host_refresh(ipam *db, ipam_err *err)
{
	char region[IPAM_LOCALE_MAX + 1];
	ipam_discovery_info d;
	ipam__feed feed;
	int rc = discovery_load(db, "host", &d, NULL, err);

	if (rc || (rc = default_region(db, &d, region, err)) ||
	    (rc = ipam__host_scan(&feed, region, err)))
		return rc;
	feed.complete = true; /* the whole machine, read at once */
	rc = apply(db, &d, &feed, err);
	ipam__feed_free(&feed);
	return rc;
}

int ipam_discovery_host_refresh(ipam *db, ipam_err *err)
{
	int rc = ipam__write_begin(db, err);
	if (rc)
		return rc;
	return ipam__write_end(db, host_refresh(db, err), err);
}
