/*
 * ipam_prefixlist.h - prefix-list resolvers (L1018-L1218, SPEC §8.1):
 * named sets of CIDRs resolved from rules (static CIDRs, allocations of
 * IPAM pools, CIDRs of scope resources), kept current by every change that
 * alters their inputs, with versions and targets. Included by ipam.h.
 */
#ifndef IPAM_PREFIXLIST_H
#define IPAM_PREFIXLIST_H

#define IPAM_PLIST_RULES_MAX 99	    /* rules per resolver (L1065) */
#define IPAM_PLIST_VERSIONS_KEPT 10 /* versions kept for rollback (L1192) */
#define IPAM_PLIST_DESC_MAX 255

typedef struct ipam_plist_info {
	int64_t key;
	char id[IPAM_ID_MAX]; /* ipam-prefix-list-resolver-... */
	char name[IPAM_NAME_MAX + 1];
	int family; /* 4 or 6 */
	char description[IPAM_PLIST_DESC_MAX + 1];
	int64_t version; /* latest version, from 1 */
	int64_t oldest;	 /* oldest version still readable */
	int64_t entries; /* CIDRs in the latest version */
	int64_t created;
	int64_t changed; /* when the latest version was made */
} ipam_plist_info;

/* The output formats of a target (entries, entries.json, entries.nft,
 * entries.ipset). */
typedef enum ipam_plist_format {
	IPAM_PLIST_LINES,
	IPAM_PLIST_JSON,
	IPAM_PLIST_NFT,
	IPAM_PLIST_IPSET,
} ipam_plist_format;

typedef struct ipam_plist_target {
	char name[IPAM_NAME_MAX + 1];
	ipam_plist_format format;
	int64_t desired; /* 0 = track the latest version */
	int64_t tracked; /* the version it serves now (held_version when its
			    sync is off) */
	bool sync;	 /* follows the resolver (Step 4, L1216-L1218) */
	int64_t held_version; /* sync off: the version served when it was
				 turned off */
	int64_t created;
} ipam_plist_target;

int ipam_plist_list(ipam *db, ipam_strlist *out, ipam_err *err);
int ipam_plist_get(ipam *db, const char *name, ipam_plist_info *out,
		   ipam_err *err);
int ipam_plist_create(ipam *db, const char *name, ipam_err *err);
int ipam_plist_delete(ipam *db, const char *name, ipam_err *err);
int ipam_plist_set_family(ipam *db, const char *name, int family,
			  ipam_err *err);
int ipam_plist_set_description(ipam *db, const char *name, const char *text,
			       ipam_err *err);
/* Replaces every rule (SPEC §8.1 syntax); a bad line refuses the whole
 * write with "line N: ..." (IPAM_EINVAL, IPAM_EDQUOT over 99 rules). */
int ipam_plist_set_rules(ipam *db, const char *name, const char **lines,
			 size_t count, ipam_err *err);
/* The rules in canonical form, one per line. */
int ipam_plist_rules(ipam *db, const char *name, ipam_strlist *out,
		     ipam_err *err);
/* The CIDRs of version `version` (0 = latest), sorted; IPAM_ENOENT for a
 * version no longer (or not yet) kept. */
int ipam_plist_entries(ipam *db, const char *name, int64_t version,
		       ipam_cidr **out, size_t *count, ipam_err *err);
/* Renders a set of CIDRs in a format; `set` names the nft/ipset set. */
int ipam_plist_render(const char *set, int family, ipam_plist_format format,
		      int64_t version, const ipam_cidr *cidrs, size_t count,
		      char **out, size_t *len, ipam_err *err);
/* "entries", "json", "nft", "ipset" <-> the enum; -1 when unknown. */
int ipam_plist_format_parse(const char *text);
const char *ipam_plist_format_name(ipam_plist_format format);

int ipam_plist_target_list(ipam *db, const char *name, ipam_strlist *out,
			   ipam_err *err);
int ipam_plist_target_get(ipam *db, const char *name, const char *target,
			  ipam_plist_target *out, ipam_err *err);
int ipam_plist_target_create(ipam *db, const char *name, const char *target,
			     ipam_err *err);
int ipam_plist_target_delete(ipam *db, const char *name, const char *target,
			     ipam_err *err);
int ipam_plist_target_set_format(ipam *db, const char *name, const char *target,
				 ipam_plist_format format, ipam_err *err);
/* 0 = latest; otherwise a version that is kept. */
int ipam_plist_target_set_desired(ipam *db, const char *name,
				  const char *target, int64_t version,
				  ipam_err *err);
/*
 * Step 4 (L1216-L1218): sync off keeps the CIDRs the target serves now as
 * its own, which ipam_plist_target_set_entries may then edit; sync on
 * drops them and serves the version it tracks again. A no-op when the
 * target is so already.
 */
int ipam_plist_target_set_sync(ipam *db, const char *name, const char *target,
			       bool sync, ipam_err *err);
/*
 * Replaces the CIDRs of a target whose sync is off (IPAM_EPERM while it is
 * on): canonical or any strict form of CIDRs of the resolver's family, one
 * per item; the same CIDR twice counts once; two that overlap, a malformed
 * one or one of the other family refuse the whole write (IPAM_EINVAL,
 * "line N: ...").
 */
int ipam_plist_target_set_entries(ipam *db, const char *name,
				  const char *target, const char *const *lines,
				  size_t count, ipam_err *err);
/* The sorted CIDRs a target serves (its tracked version, or its own while
 * its sync is off) and the version they are. */
int ipam_plist_target_entries(ipam *db, const char *name, const char *target,
			      ipam_cidr **out, size_t *count, int64_t *version,
			      ipam_err *err);

#endif /* IPAM_PREFIXLIST_H */
