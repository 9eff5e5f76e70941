/*
 * ipam_policy.h - IPAM policies (L2075-L2233, SPEC §8.2): ordered
 * allocation rules that steer a resource asking for an address without
 * naming a pool to the pools its rule lists, for the targets (users,
 * groups, the whole IPAM) the policy is enabled for. Included by ipam.h.
 */
#ifndef IPAM_POLICY_H
#define IPAM_POLICY_H

#define IPAM_POLICY_RULES_MAX 99    /* rules per policy */
/* The pools per rule (L9664), the targets per policy (L9658) and the
 * policies per IPAM (L9661) are quotas (/ipam/quotas/policy-rule-pools,
 * policy-targets, policies); a rule holds at most IPAM_POLICY_POOLS_CAP
 * pools whatever the quota says. */
#define IPAM_POLICY_POOLS_CAP 100
#define IPAM_POLICY_DESC_MAX 255
#define IPAM_POLICY_TARGET_MAX 24 /* "group:4294967295" */

typedef struct ipam_policy_info {
	int64_t key;
	char id[IPAM_ID_MAX]; /* ipam-policy-... */
	char name[IPAM_NAME_MAX + 1];
	char description[IPAM_POLICY_DESC_MAX + 1];
	bool overflow; /* fall back to provider-supplied space (L2094) */
	bool enabled;
	int64_t rules;
	int64_t targets;
	int64_t created;
} ipam_policy_info;

/* Which policy, rule and pool gave an address (ipam_policy_allocate). */
typedef struct ipam_policy_choice {
	char policy[IPAM_NAME_MAX + 1];
	char policy_id[IPAM_ID_MAX];
	char target[IPAM_POLICY_TARGET_MAX];
	int rule; /* 1-based line of the rule */
	char pool_id[IPAM_ID_MAX];
	ipam_cidr cidr;
} ipam_policy_choice;

int ipam_policy_list(ipam *db, ipam_strlist *out, ipam_err *err);
int ipam_policy_get(ipam *db, const char *name, ipam_policy_info *out,
		    ipam_err *err);
/* IPAM_EDQUOT past the `policies` quota, IPAM_EPERM on the free tier
 * (L2112: policies need the advanced tier). */
int ipam_policy_create(ipam *db, const char *name, ipam_err *err);
/* IPAM_EBUSY while the policy is enabled. */
int ipam_policy_delete(ipam *db, const char *name, ipam_err *err);
int ipam_policy_set_description(ipam *db, const char *name, const char *text,
				ipam_err *err);
int ipam_policy_set_overflow(ipam *db, const char *name, bool overflow,
			     ipam_err *err);
/* Enabling makes the policy the active one of each of its targets,
 * taking those targets from any other enabled policy (L2189: "Enabling
 * this policy will replace any active IPAM policies"); IPAM_EINVAL when
 * it has no target. */
int ipam_policy_set_enabled(ipam *db, const char *name, bool enabled,
			    ipam_err *err);
/*
 * Replaces every rule: lines `LOCALE RESOURCE-TYPE POOL-ID [POOL-ID...]`
 * (LOCALE an operating-locale name or `any`; RESOURCE-TYPE eip, alb, rds,
 * rnat (alias nat-gateway), vpc or public-ipv4-pool). A bad line refuses
 * the whole write with "line N: ..." (IPAM_EINVAL; IPAM_EDQUOT over
 * IPAM_POLICY_RULES_MAX rules or `policy-rule-pools` pools).
 */
int ipam_policy_set_rules(ipam *db, const char *name, const char **lines,
			  size_t count, ipam_err *err);
/* The rules in canonical form, one per line. */
int ipam_policy_rules(ipam *db, const char *name, ipam_strlist *out,
		      ipam_err *err);
/*
 * Sets (append false) or adds to (append true) the targets: `all`,
 * `user:UID` or `group:GID` (numbers; the FUSE layer turns names into
 * them). On an enabled policy the new targets are taken from the other
 * policies as enabling does.
 */
int ipam_policy_set_targets(ipam *db, const char *name, const char **lines,
			    size_t count, bool append, ipam_err *err);
/* The targets, sorted (all, then group:, then user:, numerically). */
int ipam_policy_targets(ipam *db, const char *name, ipam_strlist *out,
			ipam_err *err);
/* The enabled policy of `target` (canonical form): its name into out
 * (IPAM_NAME_MAX + 1 bytes), IPAM_ENOENT when none. */
int ipam_policy_active(ipam *db, const char *target, char *out, ipam_err *err);

typedef enum ipam_policy_view {
	IPAM_POLICY_DESCRIBE, /* describe-ipam-policies */
	IPAM_POLICY_RULES,    /* get-ipam-policy-allocation-rules */
	IPAM_POLICY_TARGETS,  /* get-ipam-policy-organization-targets */
} ipam_policy_view;
/* The view of one policy (name) or, for IPAM_POLICY_DESCRIBE with name
 * NULL, of every policy, as indented JSON. */
int ipam_policy_json(ipam *db, const char *name, ipam_policy_view view,
		     char **out, size_t *len, ipam_err *err);

/*
 * A resource asks for `/prefix_len` (or `cidr` when not NULL) without
 * naming a pool: the active policy of the actor (its user target, else
 * its group's, else `all`) gives it from the pools of its first rule that
 * matches the resource's type and locale, tried in order. Refused:
 * IPAM_EINVAL when no policy is enabled for the actor; IPAM_EADDRNOTAVAIL
 * when no rule matches (the guide's default, provider-supplied space,
 * does not exist locally) or when every pool is exhausted and overflow is
 * on (the same fallback); IPAM_ENOSPC when every pool is exhausted and
 * overflow is off; another pool error (a rule of the pool refused it)
 * when no pool gave a block and one refused for that reason. One event
 * names the policy, rule and pool; the allocation's description too.
 */
int ipam_policy_allocate(ipam *db, int64_t resource, const ipam_cidr *cidr,
			 int prefix_len, ipam_policy_choice *out,
			 ipam_err *err);

#endif /* IPAM_POLICY_H */
