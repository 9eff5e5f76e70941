/*
 * ipam.h - the public API of libipam, the IPAM model of ipamfs.
 *
 * libipam implements the model of Amazon VPC IP Address Manager (scopes,
 * hierarchical pools, provisioned CIDRs, allocations under netmask, tag and
 * locale rules, utilization) over one SQLite database. It knows nothing of
 * FUSE or errno: every function returns 0 or a negative ipam_code and, when
 * the caller passes an ipam_err, a one-line reason.
 *
 * Conventions (after libgit2 and jansson):
 *  - opaque handle `ipam`; functions are ipam_<module>_<verb>;
 *  - out-parameters come first after the handle and are named `out`;
 *  - whatever is returned through a pointer is released with its own
 *    ipam_*_free (or free() for plain strings, as documented);
 *  - `err` may be NULL; the first error wins (a filled err is not
 *    overwritten by a later failure in the same call chain).
 *
 * Thread safety: a handle may be shared by any number of threads. Every call
 * takes the handle's lock; ipam_txn_begin() holds it until commit/rollback,
 * so a transaction is never interleaved with another thread's calls.
 */
#ifndef IPAM_H
#define IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */

/*
 * One code per errno of SPEC §9, plus ENOENT/ENOMEM/ESCHEMA. The FUSE layer
 * maps them one to one (IPAM_EINVAL -> EINVAL, ...).
 */
typedef enum ipam_code {
	IPAM_OK = 0,
	IPAM_EINVAL = -1,     /* malformed input, out of range, rule broken */
	IPAM_ENOSPC = -2,     /* no free block of the requested size */
	IPAM_EADDRINUSE = -3, /* overlaps an allocation or provisioned CIDR */
	IPAM_EADDRNOTAVAIL = -4, /* not inside the pool / parent */
	IPAM_EEXIST = -5,	 /* the name exists */
	IPAM_ENOTEMPTY = -6,	 /* object still holds children */
	IPAM_EBUSY = -7,	 /* object still holds allocations */
	IPAM_EPERM = -8,	 /* change not allowed */
	IPAM_EACCES = -9,	 /* permission denied */
	IPAM_EDQUOT = -10,	 /* a quota is reached */
	IPAM_E2BIG = -11,	 /* input too large */
	IPAM_EIO = -12,		 /* storage failure */
	IPAM_ENOENT = -13,	 /* no such object */
	IPAM_ENOMEM = -14,	 /* out of memory */
	IPAM_ESCHEMA = -15,	 /* not an ipamfs database, corrupt, or newer */
	IPAM_ENAMETOOLONG = -16, /* the object's path would not fit PATH_MAX */
	IPAM_EKEYEXPIRED = -17,	 /* a proof of ownership is past its date */
} ipam_code;

#define IPAM_ERR_MSG_MAX 256

typedef struct ipam_err {
	ipam_code code;
	char msg[IPAM_ERR_MSG_MAX];
} ipam_err;

/* "EINVAL", "ENOSPC", ... ("OK" for 0). Never NULL. */
const char *ipam_code_name(int code);

/* ------------------------------------------------------------------------
 * CIDR math (cidr.c) - no SQLite, no allocation
 * ------------------------------------------------------------------------ */

__extension__ typedef unsigned __int128 ipam_u128;

typedef struct ipam_cidr {
	ipam_u128 addr; /* network address; IPv4 uses the low 32 bits */
	uint8_t family; /* 4 or 6 */
	uint8_t prefix; /* 0..32 or 0..128 */
} ipam_cidr;

#define IPAM_CIDR_STRLEN 64    /* fits "ffff:...:ffff/128" and its NUL */
#define IPAM_U128_STRLEN 48    /* fits 2^128 in decimal and its NUL */
#define IPAM_PERCENT_STRLEN 64 /* fits any percentage we print */

/*
 * Strict parse of "A.B.C.D/N" or "X:X::X/N". Refuses (IPAM_EINVAL): empty
 * text, missing or bad prefix, /33, ::/129, leading zeros in IPv4 octets or
 * prefixes, host bits set, embedded junk or whitespace. IPv6 may be written
 * in any RFC 4291 form (compressed or not, any case, dotted-quad tail).
 */
int ipam_cidr_parse(ipam_cidr *out, const char *text, ipam_err *err);

/* Same, for the file-name form "10.0.0.0_24" / "2001:db8::_56". */
int ipam_cidr_parse_filename(ipam_cidr *out, const char *name, ipam_err *err);

/* Canonical text: dotted quad, or RFC 5952 IPv6 (lowercase, longest run of
 * two or more zero groups compressed, leftmost on ties), then "/N". */
void ipam_cidr_format(const ipam_cidr *cidr, char out[IPAM_CIDR_STRLEN]);

/* The same with '_' in place of '/'. */
void ipam_cidr_format_filename(const ipam_cidr *cidr,
			       char out[IPAM_CIDR_STRLEN]);

/* The address alone (no prefix), canonical. */
void ipam_addr_format(int family, ipam_u128 addr, char out[IPAM_CIDR_STRLEN]);

/* 32 or 128. */
int ipam_family_width(int family);

/* "ipv6" for 6, "ipv4" for anything else (the AddressFamily of the AWS
 * shapes and of the tree's address-family files). */
const char *ipam_family_name(int family);

/* Number of addresses: 2^(width - prefix). For ::/0 (2^128, which does not
 * fit) returns 0; libipam refuses to manage such a block. */
ipam_u128 ipam_cidr_size(const ipam_cidr *cidr);

/* Last address of the block. */
ipam_u128 ipam_cidr_last(const ipam_cidr *cidr);

/* Same family and `inner` lies wholly inside `outer`. */
bool ipam_cidr_contains(const ipam_cidr *outer, const ipam_cidr *inner);

/* Same family and the blocks share at least one address. */
bool ipam_cidr_overlaps(const ipam_cidr *a, const ipam_cidr *b);

/* Total order: family, then address, then prefix (shorter first). */
int ipam_cidr_compare(const ipam_cidr *a, const ipam_cidr *b);

/*
 * Splits the address range [first, last] of `family` into the fewest
 * aligned CIDR blocks, in address order. Writes at most `max` blocks and
 * returns how many the range needs (at most 2 * width).
 */
size_t ipam_range_split(int family, ipam_u128 first, ipam_u128 last,
			ipam_cidr *out, size_t max);

/* Decimal text of a 128-bit count. */
void ipam_u128_format(ipam_u128 value, char out[IPAM_U128_STRLEN]);

/* Parses a decimal count; IPAM_EINVAL on junk or overflow. */
int ipam_u128_parse(ipam_u128 *out, const char *text);

/*
 * 100*num/den rounded half-up to at most 6 decimals, trailing zeros (and a
 * trailing '.') dropped: "25", "0.390625", "33.333333". den == 0 gives "0".
 * Exact for every num <= den < 2^128.
 */
void ipam_percent_format(ipam_u128 num, ipam_u128 den,
			 char out[IPAM_PERCENT_STRLEN]);

/* ------------------------------------------------------------------------
 * Small shared types
 * ------------------------------------------------------------------------ */

/* A list of strings; free with ipam_strlist_free (safe on a zeroed list). */
typedef struct ipam_strlist {
	size_t count;
	char **items;
} ipam_strlist;

void ipam_strlist_free(ipam_strlist *list);

/* Who performs a change: recorded in the change log and as the owner of
 * what the change creates. */
typedef struct ipam_actor {
	uint32_t uid;
	uint32_t gid;
	int32_t pid;
} ipam_actor;

/* Seconds since the Unix epoch; tests inject their own clock. */
typedef int64_t (*ipam_clock_fn)(void *ctx);

/* The offset of the first byte of text that does not start a well-formed
 * UTF-8 sequence (RFC 3629: no overlong form, no surrogate, at most
 * U+10FFFF), or (size_t)-1 when all of it is valid. */
size_t ipam_utf8_invalid(const char *text);
/* A malloc'd copy of text with every byte that is not part of a well-formed
 * sequence replaced by U+FFFD; NULL when out of memory. What renderers do
 * with bytes an older version stored (docs/design/security.md). */
char *ipam_utf8_fix(const char *text);

#define IPAM_TIME_STRLEN 40
/* ISO 8601 UTC, "2026-11-27T10:00:00Z". */
void ipam_time_format(int64_t seconds, char out[IPAM_TIME_STRLEN]);
/* The AWS CLI's form of a time in JSON output,
 * "2026-11-27T10:00:00.000000+00:00" (L5012ff). */
void ipam_time_format_aws(int64_t seconds, char out[IPAM_TIME_STRLEN]);
/* Parses that form (also "+00:00" for "Z"): a real date, no leap second,
 * years 1970 to 9999 (what ipam_time_format prints, zero-padded to 4 digits;
 * it clamps times outside); IPAM_EINVAL otherwise. */
int ipam_time_parse(int64_t *out, const char *text);

#define IPAM_ID_MAX 64	  /* "ipam-pool-alloc-" + 32 hex + NUL fits */
#define IPAM_NAME_MAX 255 /* object names are file names */
/* The longest path of a pool or allocation directory below the mount root
 * ("scopes/S/pools/A/pools/B/allocations/N"): its /by-id link "../PATH"
 * and the NUL must fit readlink's PATH_MAX (4096). Longer ones are refused
 * at creation with IPAM_ENAMETOOLONG, so every link can be read and
 * followed. */
#define IPAM_PATH_MAX (4096 - 1 - 3)
#define IPAM_LOCALE_MAX 63 /* [A-Za-z0-9._-], at least one character */
#define IPAM_DESC_MAX 1024 /* descriptions: any text but NUL and newline */
#define IPAM_TAG_KEY_MAX 128
#define IPAM_TAG_VALUE_MAX 256
#define IPAM_RESOURCE_ID_MAX 128 /* vpc-..., subnet-..., eipalloc-... */

/*
 * Names of scopes, pools and allocations are used as file names: 1 to
 * IPAM_NAME_MAX bytes, no '/', no NUL, no control characters, not "." or
 * "..". Returns 0 or IPAM_EINVAL with a reason.
 */
int ipam_name_check(const char *name, ipam_err *err);

/* A locale: 1..63 of [A-Za-z0-9._-], not "none". 0 or IPAM_EINVAL. */
int ipam_locale_check(const char *locale, ipam_err *err);

/* ------------------------------------------------------------------------
 * The handle and transactions (store.c)
 * ------------------------------------------------------------------------ */

typedef struct ipam ipam;

typedef struct ipam_open_opts {
	/* Creates (mode 0600) and initialises the database when the file is
	 * missing; otherwise a missing file is refused with IPAM_ENOENT. An
	 * empty (0-byte) file is refused either way (IPAM_ESCHEMA). */
	bool create;
	/* Home locale of a new IPAM (used only at creation). NULL = "local". */
	const char *home_locale;
	/* Clock for every recorded time. NULL = time(2). */
	ipam_clock_fn clock;
	void *clock_ctx;
	/* Non-zero: ids are generated from this seed instead of the OS random
	 * source (reproducible tests and benchmarks). Used only at creation. */
	uint64_t id_seed;
	/* Use an in-memory database (path is ignored). */
	bool in_memory;
	/* false (default): synchronous=FULL, a change is on stable storage
	 * when the call that made it returns. true: synchronous=NORMAL, the
	 * commit is written to the WAL but synced only at checkpoints and by
	 * ipam_sync; a power cut (not a crash of the process) may lose the
	 * newest commits, never corrupt the file. */
	bool sync_normal;
	/* Skip PRAGMA quick_check at open (the caller has just run it on the
	 * same file, e.g. ipamfs before daemonising). */
	bool skip_check;
} ipam_open_opts;

/*
 * Opens (and if asked creates) the IPAM database at `path`: WAL, foreign
 * keys on, schema migrated in one transaction when older. Fails without
 * modifying the file with IPAM_ESCHEMA when the file is not SQLite, is
 * empty (0 bytes), is damaged (PRAGMA quick_check), is not an ipamfs
 * database, or has a newer schema; IPAM_EBUSY ("database is in use by
 * ipamfs pid N") when another process has it open (the handle keeps an
 * exclusive lock on the file until ipam_free); IPAM_ENOENT for a missing
 * file without `create`, or a dangling symbolic link; IPAM_EIO when it
 * cannot be opened. A new database is created mode 0600. On success *out
 * is freed with ipam_free.
 */
int ipam_open(ipam **out, const char *path, const ipam_open_opts *opts,
	      ipam_err *err);

void ipam_free(ipam *db);

/* The schema version this library writes. */
int ipam_schema_version(void);

/*
 * Starts a write transaction (BEGIN IMMEDIATE) performed by `who` and takes
 * the handle's lock until ipam_txn_commit or ipam_txn_rollback. Every
 * mutating call made meanwhile by this thread joins it: a failing call
 * undoes its own partial work (a savepoint) and leaves the transaction open,
 * so the caller decides between commit and rollback. Without an explicit
 * transaction every mutating call is its own transaction, by the actor of
 * ipam_set_default_actor (uid 0 by default).
 */
int ipam_txn_begin(ipam *db, const ipam_actor *who, ipam_err *err);
int ipam_txn_commit(ipam *db, ipam_err *err);
void ipam_txn_rollback(ipam *db);

void ipam_set_default_actor(ipam *db, const ipam_actor *who);

/* Called after every commit that changed something, with the sequence
 * number of the newest change-log entry. Runs with the lock held: it must
 * not call back into libipam. */
typedef void (*ipam_change_hook)(void *ctx, int64_t last_event);
void ipam_set_change_hook(ipam *db, ipam_change_hook hook, void *ctx);

/* The kinds of object (ipam_id_lookup, the remove hook). */
typedef enum ipam_kind {
	IPAM_KIND_IPAM,
	IPAM_KIND_SCOPE,
	IPAM_KIND_POOL,
	IPAM_KIND_ALLOCATION,
	IPAM_KIND_DISCOVERY,
	IPAM_KIND_RESOURCE, /* only in the remove hook: ids are per scope */
	IPAM_KIND_PREFIX_LIST,
	IPAM_KIND_POLICY,
} ipam_kind;

/*
 * Called after every commit, once for each scope, pool, allocation,
 * resource or discovery the transaction deleted, with its kind and key (so
 * the FUSE layer can drop the names the kernel caches). Kind IPAM_KIND_IPAM
 * with key 0 means "anything may have been deleted": the list could not be
 * kept (out of memory). Runs in the committing thread with the lock held:
 * it must not call back into libipam. NULL turns it off.
 */
typedef void (*ipam_remove_hook)(void *ctx, ipam_kind kind, int64_t key);
void ipam_set_remove_hook(ipam *db, ipam_remove_hook hook, void *ctx);

/*
 * When an object last changed anything it shows, in nanoseconds since the
 * epoch (changed.c says what bumps what): kind IPAM_KIND_IPAM (key ignored)
 * is the newest change of all. Stamps grow strictly from change to change.
 * IPAM_ENOENT when the object is gone.
 */
int ipam_changed(ipam *db, ipam_kind kind, int64_t key, int64_t *out,
		 ipam_err *err);

/* The clock of the handle (for the FUSE layer's own time stamps). */
int64_t ipam_now(ipam *db);

/* Runs the engine's integrity check (SQLite: PRAGMA integrity_check),
 * then recounts the public IP insight counts of every scope against the
 * kept ones; 0 when all agree, IPAM_EIO with the first problem otherwise. */
int ipam_check(ipam *db, ipam_err *err);

/* Makes every committed change durable (fsync(2) on the mount): nothing
 * to do with synchronous=FULL; with sync_normal a full WAL checkpoint. */
int ipam_sync(ipam *db, ipam_err *err);

/* A consistent snapshot of the whole database as of now (one read
 * transaction): the bytes of a SQLite file that opens on its own, in
 * malloc'd memory the caller frees. */
int ipam_backup(ipam *db, unsigned char **out, size_t *len, ipam_err *err);
/* The size ipam_backup would return now (page count x page size). */
int64_t ipam_backup_size(ipam *db);

/* ------------------------------------------------------------------------
 * The IPAM: settings, locales, quotas (ipam.c)
 * ------------------------------------------------------------------------ */

typedef enum ipam_tier { IPAM_TIER_FREE, IPAM_TIER_ADVANCED } ipam_tier;

typedef struct ipam_info {
	char id[IPAM_ID_MAX]; /* ipam-0123456789abcdef0 */
	char home_locale[IPAM_LOCALE_MAX + 1];
	char description[IPAM_DESC_MAX + 1];
	ipam_tier tier;
	bool enable_private_gua;
	uint32_t owner_uid;
	int64_t created;
} ipam_info;

int ipam_info_get(ipam *db, ipam_info *out, ipam_err *err);
int ipam_set_description(ipam *db, const char *text, ipam_err *err);
/* IPAM_EPERM when going to `free` while a private scope pool, a
 * non-default scope or a pool with a locale other than the home locale
 * exists (L1928-L1934). */
int ipam_set_tier(ipam *db, ipam_tier tier, ipam_err *err);
/* IPAM_EBUSY when disabling while a private-scope pool holds a GUA CIDR. */
int ipam_set_private_gua(ipam *db, bool enable, ipam_err *err);

/* The operating locales, sorted. */
int ipam_locales_get(ipam *db, ipam_strlist *out, ipam_err *err);
/*
 * Replaces the set of operating locales; the home locale is always kept
 * (added when the set lacks it, L4451-L4478). Refused with IPAM_EINVAL
 * when a name is malformed, IPAM_EBUSY when a pool still uses a locale
 * that would be removed. Every discovery's last snapshot is applied again
 * (records of regions that became operating come in, those of regions
 * that left go).
 */
int ipam_locales_set(ipam *db, const char *const *locales, size_t count,
		     ipam_err *err);
bool ipam_locale_is_operating(ipam *db, const char *locale);

/* The provider CIDRs (/ipam/provider-cidrs): the public space the
 * operator's upstream gave them, the local "Amazon-provided" space that
 * amazon-source pools take blocks from (provider.c). IPv4 first, address
 * order. */
int ipam_provider_cidrs_get(ipam *db, ipam_strlist *out, ipam_err *err);
/* Replaces the set. IPAM_EINVAL: a malformed or non-canonical CIDR, one
 * of special-purpose space, two that overlap, more than 1000;
 * IPAM_EBUSY: a block an amazon-source pool holds would fall outside. */
int ipam_provider_cidrs_set(ipam *db, const char *const *cidrs, size_t count,
			    ipam_err *err);

typedef enum ipam_quota {
	IPAM_QUOTA_SCOPES,	    /* scopes in the IPAM (5) */
	IPAM_QUOTA_POOLS_PER_SCOPE, /* pools in one scope, all depths (50) */
	IPAM_QUOTA_CIDRS_PER_POOL,  /* provisioned CIDRs in one pool (50) */
	IPAM_QUOTA_POOL_DEPTH,	    /* depth of the pool tree (10) */
	IPAM_QUOTA_VERIFICATION_TOKENS, /* DNS verification tokens (100) */
	IPAM_QUOTA_ASNS,		/* ASNs brought to the IPAM (5) */
	IPAM_QUOTA_PROVIDER_V4_BLOCKS,	/* Amazon-provided IPv4 blocks (2) */
	IPAM_QUOTA_PROVIDER_V6_BLOCKS,	/* ... IPv6 blocks per pool (1) */
	IPAM_QUOTA_POLICIES,		/* IPAM policies (10, L9661) */
	IPAM_QUOTA_POLICY_TARGETS,	/* targets of one policy (100, L9658) */
	IPAM_QUOTA_POLICY_RULE_POOLS,	/* pools of one (locale, type) rule
					   (10, L9664; at most
					   IPAM_POLICY_POOLS_CAP) */
	IPAM_QUOTA_COUNT
} ipam_quota;

/* "scopes", "pools-per-scope", "cidrs-per-pool", "pool-depth". */
const char *ipam_quota_name(ipam_quota quota);
int ipam_quota_get(ipam *db, ipam_quota quota, int64_t *out, ipam_err *err);
/* IPAM_EINVAL below 1 or above 1000000 (depth: 1..64, pools of a policy
 * rule: 1..IPAM_POLICY_POOLS_CAP). Lowering a quota
 * below current use is allowed; it only stops new objects. */
int ipam_quota_set(ipam *db, ipam_quota quota, int64_t value, ipam_err *err);

/* ------------------------------------------------------------------------
 * Scopes (scope.c)
 * ------------------------------------------------------------------------ */

typedef struct ipam_scope_info {
	int64_t key;
	char id[IPAM_ID_MAX];
	char name[IPAM_NAME_MAX + 1];
	bool is_public;
	bool is_default;
	char description[IPAM_DESC_MAX + 1];
	int64_t pool_count; /* all depths */
	int64_t created;
} ipam_scope_info;

/* Names, sorted ("private" and "public" always present). */
int ipam_scope_list(ipam *db, ipam_strlist *out, ipam_err *err);
/* *out: whether others (the o+x bit) may search the scope and every pool
 * and allocation in it: nothing in it is hidden from anyone. */
int ipam_scope_searchable(ipam *db, int64_t scope, bool *out, ipam_err *err);
/* IPAM_ENOENT when absent. */
int ipam_scope_get(ipam *db, const char *name, ipam_scope_info *out,
		   ipam_err *err);
int ipam_scope_get_by_key(ipam *db, int64_t key, ipam_scope_info *out,
			  ipam_err *err);
/* A new private scope. IPAM_EEXIST, IPAM_EINVAL (bad name), IPAM_EDQUOT. */
int ipam_scope_create(ipam *db, const char *name, int64_t *out_key,
		      ipam_err *err);
/* IPAM_EPERM for a default scope, IPAM_ENOTEMPTY while it has pools. */
int ipam_scope_delete(ipam *db, const char *name, ipam_err *err);
int ipam_scope_set_description(ipam *db, int64_t scope, const char *text,
			       ipam_err *err);

/* ------------------------------------------------------------------------
 * Pools (pool.c)
 * ------------------------------------------------------------------------ */

typedef enum ipam_strategy {
	IPAM_STRATEGY_FIRST_FIT, /* lowest-addressed aligned free block */
	IPAM_STRATEGY_LAST_FIT,	 /* highest-addressed aligned free block */
	IPAM_STRATEGY_BEST_FIT,	 /* inside the smallest free block that fits */
} ipam_strategy;

/* "first-fit", "last-fit", "best-fit"; parse returns IPAM_EINVAL. */
const char *ipam_strategy_name(ipam_strategy strategy);
int ipam_strategy_parse(ipam_strategy *out, const char *text);

typedef struct ipam_pool_info {
	int64_t key;
	int64_t scope_key;
	int64_t parent_key; /* 0 for a top-level pool */
	char id[IPAM_ID_MAX];
	char name[IPAM_NAME_MAX + 1];
	char scope_id[IPAM_ID_MAX];
	char source_id[IPAM_ID_MAX];	  /* parent pool id; "" for top-level */
	bool is_public;			  /* lives in the public scope */
	int family;			  /* 4 or 6 */
	bool family_locked;		  /* a CIDR was provisioned once */
	int depth;			  /* 1 for top-level */
	char locale[IPAM_LOCALE_MAX + 1]; /* "" = none */
	bool auto_import;
	int min_netmask;     /* -1 = unset */
	int max_netmask;     /* -1 = unset */
	int default_netmask; /* -1 = unset */
	ipam_strategy strategy;
	char description[IPAM_DESC_MAX + 1];
	/* public scope only (SPEC §8.4) */
	bool publicly_advertisable;
	char aws_service[16];	   /* "" or "ec2" */
	char public_ip_source[16]; /* "byoip" or "amazon" */
	/* Resource planning (L8859-L8985, planning.c): the VPC whose space
	 * the pool plans, "" for "plan IP space within the scope". A
	 * top-level pool with a VPC is a resource planning pool (its source
	 * is the VPC); its child pools ("subnet pools") inherit it. */
	char plan_vpc[IPAM_RESOURCE_ID_MAX + 1];
	uint32_t owner_uid;
	int64_t created;
} ipam_pool_info;

/*
 * Creates pool `name` in `scope`, top-level when parent == 0, else a child
 * of `parent`. A child inherits its parent's family and locale. Refused:
 * IPAM_EINVAL bad name, IPAM_EEXIST, IPAM_EDQUOT (pools per scope, depth).
 */
int ipam_pool_create(ipam *db, int64_t scope, int64_t parent, const char *name,
		     int64_t *out_key, ipam_err *err);
/* IPAM_ENOTEMPTY with child pools, IPAM_EBUSY with CIDRs or allocations. */
int ipam_pool_delete(ipam *db, int64_t pool, ipam_err *err);
/* IPAM_ENOENT when absent. */
int ipam_pool_lookup(ipam *db, int64_t scope, int64_t parent, const char *name,
		     int64_t *out_key, ipam_err *err);
int ipam_pool_get(ipam *db, int64_t pool, ipam_pool_info *out, ipam_err *err);
/* Names of the pools directly under (scope, parent), sorted. */
int ipam_pool_list(ipam *db, int64_t scope, int64_t parent, ipam_strlist *out,
		   ipam_err *err);

int ipam_pool_set_description(ipam *db, int64_t pool, const char *text,
			      ipam_err *err);
/* 4 or 6. IPAM_EPERM once a CIDR was provisioned or for a child pool
 * (inherits), IPAM_EINVAL otherwise bad. */
int ipam_pool_set_family(ipam *db, int64_t pool, int family, ipam_err *err);
/* "" or "none" clears only while unset. IPAM_EPERM when already set to
 * another value (L592), IPAM_EINVAL when not an operating locale, when it
 * differs from the parent's locale, or (free tier) is not the home locale. */
int ipam_pool_set_locale(ipam *db, int64_t pool, const char *locale,
			 ipam_err *err);
/* IPAM_EINVAL when enabling on a pool without a locale (L600). */
int ipam_pool_set_auto_import(ipam *db, int64_t pool, bool on, ipam_err *err);

typedef enum ipam_netmask_rule {
	IPAM_NETMASK_MIN,
	IPAM_NETMASK_MAX,
	IPAM_NETMASK_DEFAULT,
} ipam_netmask_rule;

/* len = -1 clears. IPAM_EINVAL outside 0..width or breaking
 * min <= default <= max. Existing allocations are re-evaluated. */
int ipam_pool_set_netmask(ipam *db, int64_t pool, ipam_netmask_rule rule,
			  int len, ipam_err *err);
int ipam_pool_set_strategy(ipam *db, int64_t pool, ipam_strategy strategy,
			   ipam_err *err);
/* Replaces the required tags; each item "key=value". Existing allocations
 * are re-evaluated. */
int ipam_pool_set_required_tags(ipam *db, int64_t pool,
				const char *const *pairs, size_t count,
				ipam_err *err);
/* "key=value" items sorted by key. */
int ipam_pool_get_required_tags(ipam *db, int64_t pool, ipam_strlist *out,
				ipam_err *err);

/* Public-scope attributes; IPAM_EPERM on a private-scope pool. */
int ipam_pool_set_publicly_advertisable(ipam *db, int64_t pool, bool on,
					ipam_err *err);
/* "" or "ec2". */
int ipam_pool_set_aws_service(ipam *db, int64_t pool, const char *service,
			      ipam_err *err);
/* "byoip" or "amazon"; IPAM_EPERM once a CIDR is provisioned. */
int ipam_pool_set_public_ip_source(ipam *db, int64_t pool, const char *src,
				   ipam_err *err);

/* ------------------------------------------------------------------------
 * Provisioned CIDRs (pool.c, alloc.c)
 * ------------------------------------------------------------------------ */

typedef struct ipam_pool_cidr {
	ipam_cidr cidr;
	char id[IPAM_ID_MAX]; /* ipam-pool-cidr-... */
	char state[24];	      /* "provisioned", "pending-provision", ... */
	int64_t created;
	/* failed-provision: FailureReason (IpamPoolCidrFailureReason) */
	char failure_code[32];
	char failure_reason[IPAM_ERR_MSG_MAX];
} ipam_pool_cidr;

/*
 * Provisions `cidr` to `pool`. Refused: IPAM_EINVAL wrong family, private
 * IPv6 outside ULA/GUA rules (ULA: fd00::/8 outside fd00::/16, /9 to /60),
 * public scope space that is not global (the reason names the range), BYOIP
 * limits (IPv4 /24, advertisable IPv6 /48, other IPv6 /60, for depth 1 and
 * 2), netmask rules of the parent, prefix shorter than /8 for IPv6;
 * IPAM_EPERM private GUA without enable-private-gua;
 * IPAM_EADDRINUSE overlapping one of the pool's CIDRs or (child pool) an
 * allocation of the parent; IPAM_EADDRNOTAVAIL (child pool) not inside a
 * CIDR of the parent; IPAM_EDQUOT too many CIDRs. For a child pool the CIDR
 * becomes an allocation of resource-type "ipam-pool" in the parent.
 */
int ipam_pool_provision(ipam *db, int64_t pool, const ipam_cidr *cidr,
			ipam_err *err);
/* Child pools: provisions the block of `prefix_len` the parent would
 * allocate next (its strategy); IPAM_ENOSPC when the parent has no such
 * block. A top-level private IPv6 pool: a random ULA block (RFC 4193,
 * outside fd00::/16 and the scope's CIDRs, /9 to /60). IPAM_EINVAL on
 * other top-level pools. */
int ipam_pool_provision_len(ipam *db, int64_t pool, int prefix_len,
			    ipam_cidr *out, ipam_err *err);
/* IPAM_ENOENT when not provisioned here, IPAM_EBUSY (naming the blockers)
 * while allocations or child-pool CIDRs lie inside it. */
int ipam_pool_deprovision(ipam *db, int64_t pool, const ipam_cidr *cidr,
			  ipam_err *err);
/* The pool's CIDRs in address order; free *out with free(). */
int ipam_pool_cidrs(ipam *db, int64_t pool, ipam_pool_cidr **out, size_t *count,
		    ipam_err *err);

/* ------------------------------------------------------------------------
 * Resource planning (planning.c; L8859-L8985)
 *
 * "Plan IP space within a VPC": a top-level pool whose source is a VPC
 * resource of its scope. Its CIDRs must lie inside the VPC's CIDRs (and
 * only planning pools of the same VPC compete for them); it takes the VPC's
 * locale. Its child pools (subnet pools) inherit family, VPC and locale.
 * Subnets of that VPC get CIDRs from these pools (ipam_resource_allocate),
 * and their CIDRs are then managed and compliance-checked like a VPC's.
 * ------------------------------------------------------------------------ */

/*
 * Makes `pool` plan the space of VPC `vpc_id` ("" or NULL: within the scope
 * again). Refused: IPAM_EPERM on a child pool (it inherits), once a CIDR was
 * provisioned or while it has child pools; IPAM_ENOENT no such resource in
 * the pool's scope; IPAM_EINVAL not a VPC, ignored, or its locale differs
 * from the pool's.
 */
int ipam_pool_set_source_resource(ipam *db, int64_t pool, const char *vpc_id,
				  ipam_err *err);
/*
 * Deletes `pool` with everything in it, as delete-ipam-pool --cascade:
 * child pools (deepest first), custom allocations, provisioned CIDRs. A
 * resource CIDR allocated from one of these pools stays with its resource,
 * unmanaged (L8979). One transaction; an event per object.
 */
int ipam_pool_delete_cascade(ipam *db, int64_t pool, ipam_err *err);

typedef enum ipam_host_field {
	IPAM_HOST_DNS_NAME,    /* RFC 1123 host name, stored lowercase */
	IPAM_HOST_MAC_ADDRESS, /* EUI-48, stored "02:00:5e:10:00:01" */
} ipam_host_field;

/* The canonical form of a DNS name or MAC address (out: at least
 * IPAM_DNS_NAME_MAX + 1 bytes); IPAM_EINVAL with the reason. "" is valid
 * (unset). */
int ipam_host_value_check(ipam_host_field field, const char *value, char *out,
			  ipam_err *err);
/* Sets (or with "" clears) a host record field of allocation `name` of
 * `pool`. IPAM_EINVAL when the value is malformed or the allocation is not
 * a single address (/32, /128); IPAM_ENOENT. */
int ipam_alloc_set_host(ipam *db, int64_t pool, const char *name,
			ipam_host_field field, const char *value,
			ipam_err *err);

/* ------------------------------------------------------------------------
 * BYOIP: proof of ownership and the CIDR lifecycle (byoip.c,
 * docs/design/public.md)
 * ------------------------------------------------------------------------ */

typedef enum ipam_byoip_state {
	IPAM_BYOIP_PENDING_PROVISION,
	IPAM_BYOIP_PROVISIONED,
	IPAM_BYOIP_FAILED_PROVISION,
	IPAM_BYOIP_PENDING_DEPROVISION,
	IPAM_BYOIP_DEPROVISIONED,
} ipam_byoip_state;

/* The guide's word for a state ("pending-provision", ...). */
const char *ipam_byoip_state_name(ipam_byoip_state state);

/* A proof of ownership that comes with a provision (either, or none). */
typedef struct ipam_byoip_proof {
	const char *message;   /* 1|aws|ACCOUNT|CIDR|YYYYMMDD|SHA256|RSAPSS */
	const char *signature; /* base64 with +=/ written -_~ (L5331) */
	const char *dns_token; /* an ipam-ext-res-ver-token-... id */
} ipam_byoip_proof;

/*
 * Provisions `cidr` to `pool` with a proof. A pool that takes BYOIP CIDRs
 * (top-level, public scope, public-ip-source byoip) records the CIDR's
 * lifecycle: without a proof (and without the lab switch) it waits in
 * pending-provision; with a good one it is provisioned; with a bad one it
 * is recorded as failed-provision and *refused is filled (IPAM_EACCES bad
 * or foreign signature, no certificate, token not found in DNS;
 * IPAM_EKEYEXPIRED message date or token past; IPAM_EINVAL message naming
 * another CIDR or account, malformed message or signature) while the call
 * returns 0: the record is the change. Other pools take no proof
 * (IPAM_EINVAL when one is given) and provision as ipam_pool_provision.
 * Errors of ipam_pool_provision otherwise; IPAM_EEXIST the CIDR is already
 * provisioned.
 */
int ipam_pool_provision_proven(ipam *db, int64_t pool, const ipam_cidr *cidr,
			       const ipam_byoip_proof *proof,
			       ipam_err *refused, ipam_err *err);

/* The lab switch (a mount option, not stored): provisions to BYOIP pools
 * need no proof while it is on. */
void ipam_byoip_set_skip(ipam *db, bool skip);
bool ipam_byoip_skip(ipam *db);

typedef enum ipam_byoip_setting {
	IPAM_BYOIP_CERTIFICATE,	 /* PEM X.509 certificate ("" = none) */
	IPAM_BYOIP_ACCOUNT_ID,	 /* the ACCOUNT of signed messages */
	IPAM_BYOIP_DNS_RESOLVER, /* ADDRESS[:PORT], "" = resolv.conf */
} ipam_byoip_setting;

/* Reads a setting into a malloc'd string (*out; the account id defaults
 * to the owner's uid). */
int ipam_byoip_setting_get(ipam *db, ipam_byoip_setting which, char **out,
			   ipam_err *err);
/* IPAM_EINVAL: not one PEM certificate with an RSA key, an account id
 * that is not 1-64 of [A-Za-z0-9-_], a resolver that is not an IP address
 * with an optional port. "" clears. */
int ipam_byoip_setting_set(ipam *db, ipam_byoip_setting which,
			   const char *value, ipam_err *err);

/*
 * Checks a signed authorization message against the registered
 * certificate and account: `subject` is what it must name (a CIDR,
 * canonical, or an ASN in decimal). 0 when good; otherwise the codes of
 * ipam_pool_provision_proven's *refused. Changes nothing.
 */
int ipam_byoip_check_message(ipam *db, const char *subject,
			     const char *message, const char *signature,
			     ipam_err *err);

/* ------------------------------------------------------------------------
 * ASNs (BYOASN) and advertising (asn.c)
 * ------------------------------------------------------------------------ */

typedef struct ipam_asn_info {
	uint32_t asn;
	ipam_byoip_state state; /* pending-provision, provisioned, ... */
	char reason[IPAM_ERR_MSG_MAX]; /* failed-provision: why */
	int64_t created;
	int64_t changed;
} ipam_asn_info;

/* asplain 1-4294967294, public (not 0, 23456, private or reserved);
 * asdot is refused with its asplain value named. IPAM_EINVAL. */
int ipam_asn_parse(const char *text, uint32_t *out, ipam_err *err);
/* Brings an ASN: pending-provision (provisioned at once with the lab
 * switch). IPAM_EINVAL, IPAM_EEXIST, IPAM_EDQUOT (asns quota). */
int ipam_asn_create(ipam *db, const char *text, ipam_err *err);
/* IPAM_ENOENT when absent or deprovisioned. */
int ipam_asn_get(ipam *db, uint32_t asn, ipam_asn_info *out, ipam_err *err);
/* The ASNs not deprovisioned, ascending, in decimal. */
int ipam_asn_list(ipam *db, ipam_strlist *out, ipam_err *err);
/* The signed message naming the ASN: provisioned, or failed-provision with
 * *refused filled and 0 returned (as ipam_pool_provision_proven).
 * IPAM_EEXIST already provisioned, IPAM_ENOENT. */
int ipam_asn_prove(ipam *db, uint32_t asn, const char *message,
		   const char *signature, ipam_err *refused, ipam_err *err);
/* pending-deprovision -> deprovisioned. IPAM_EBUSY while associated. */
int ipam_asn_deprovision(ipam *db, uint32_t asn, ipam_err *err);
/* Associates (on) or disassociates a CIDR provisioned in the public
 * scope. IPAM_EINVAL ASN not provisioned or CIDR not provisioned in a
 * public pool; IPAM_ENOENT not associated; IPAM_EBUSY advertised from it. */
int ipam_asn_associate(ipam *db, uint32_t asn, const ipam_cidr *cidr, bool on,
		       ipam_err *err);
/* "CIDR associated" / "CIDR advertised" lines. */
int ipam_asn_cidrs(ipam *db, uint32_t asn, ipam_strlist *out, ipam_err *err);

/*
 * Advertises a CIDR provisioned to public pool `pool` from ASN `asn`, or
 * from the router's own AS ("AWS") when asn < 0. IPAM_EPERM private pool
 * or IPv6 pool not publicly advertisable; IPAM_ENOENT not a CIDR of the
 * pool; IPAM_EINVAL no locale, aws-service not ec2, not BYOIP, longer
 * than /24 or /48, ASN not associated; IPAM_EEXIST advertised from
 * another pool. Advertising it again from another ASN switches.
 */
int ipam_advertise(ipam *db, int64_t pool, const ipam_cidr *cidr, int64_t asn,
		   ipam_err *err);
/* IPAM_ENOENT not advertised from the pool. */
int ipam_withdraw(ipam *db, int64_t pool, const ipam_cidr *cidr,
		  ipam_err *err);
/* "CIDR ASN" lines (ASN = AWS for the router's own AS) of pool `pool`, or
 * of all pools (0); `bird`: a BIRD 2 include file instead. */
int ipam_render_advertisements(ipam *db, int64_t pool, bool bird, char **out,
			       size_t *len, ipam_err *err);
/* {"Byoasns":[...]} (describe-ipam-byoasn). */
int ipam_render_asns_json(ipam *db, char **out, size_t *len, ipam_err *err);
/* {"ByoipCidrs":[...]} (describe-byoip-cidrs): the CIDRs of public pools
 * with a locale, advertised or provisioned, with their ASN associations. */
int ipam_render_byoip_cidrs_json(ipam *db, char **out, size_t *len,
				 ipam_err *err);

/* DNS verification tokens (dnsproof.c, L5517-L5565). */
typedef struct ipam_token_info {
	char id[IPAM_ID_MAX]; /* ipam-ext-res-ver-token-... */
	char name[IPAM_NAME_MAX + 1];
	char token_name[16];  /* 8 digits */
	char token_value[40]; /* a UUID */
	int64_t created;
	int64_t not_after; /* created + 72 h */
	bool expired;	   /* by the IPAM clock */
} ipam_token_info;

/* IPAM_EEXIST, IPAM_EDQUOT (verification-tokens quota), IPAM_EINVAL name. */
int ipam_token_create(ipam *db, const char *name, ipam_err *err);
/* IPAM_ENOENT. */
int ipam_token_delete(ipam *db, const char *name, ipam_err *err);
int ipam_token_get(ipam *db, const char *name, ipam_token_info *out,
		   ipam_err *err);
int ipam_token_list(ipam *db, ipam_strlist *out, ipam_err *err);
/* {"IpamExternalResourceVerificationTokens":[...]} (describe-ipam-external-
 * resource-verification-tokens). */
int ipam_render_tokens_json(ipam *db, char **out, size_t *len, ipam_err *err);

#define IPAM_TXT_NAME_MAX 128
/* The TXT record names that prove `cidr` with a token named token_name
 * (L5598-L5629): one per octet- (IPv4) or nibble-aligned (IPv6) sub-prefix.
 * Writes at most `max`, returns how many there are. */
size_t ipam_dns_txt_names(const ipam_cidr *cidr, const char *token_name,
			  char (*out)[IPAM_TXT_NAME_MAX], size_t max);

/* ------------------------------------------------------------------------
 * Allocations (alloc.c)
 * ------------------------------------------------------------------------ */

typedef struct ipam_alloc_req {
	/* NULL: a generated name (the allocation id). A user name must pass
	 * ipam_name_check and must not start with "ipam-". */
	const char *name;
	/* A specific CIDR, or NULL to allocate by size. */
	const ipam_cidr *cidr;
	/* By size: the prefix length, or -1 for the pool's default netmask. */
	int prefix_len;
	const char *description; /* NULL = none */
} ipam_alloc_req;

#define IPAM_DNS_NAME_MAX 253 /* RFC 1035: 253 characters, no final dot */
#define IPAM_MAC_STRLEN 18    /* "02:00:5e:10:00:01" and its NUL */

typedef struct ipam_alloc_info {
	int64_t key;
	int64_t pool_key;
	char name[IPAM_NAME_MAX + 1];
	char id[IPAM_ID_MAX]; /* ipam-pool-alloc-<32 hex> */
	ipam_cidr cidr;
	char resource_type[32]; /* "custom", "ipam-pool", "vpc", ... */
	char resource_id[IPAM_ID_MAX + 64];
	char resource_region[IPAM_LOCALE_MAX + 1];
	char description[IPAM_DESC_MAX + 1];
	bool compliant;		     /* false: a rule broken after the fact */
	char compliance_reason[160]; /* "" when compliant */
	/* host records (/32, /128): "" when unset (planning.c) */
	char dns_name[IPAM_DNS_NAME_MAX + 1];
	char mac_address[IPAM_MAC_STRLEN];
	uint32_t owner_uid;
	int64_t created;
} ipam_alloc_info;

/*
 * A custom allocation in `pool`. Refused: IPAM_EINVAL malformed request, no
 * size and no default, netmask rule broken, wrong family, reserved or bad
 * name; IPAM_EEXIST name taken (nothing allocated); IPAM_ENOSPC no free block
 * (the message names the largest free block); IPAM_EADDRINUSE the CIDR
 * overlaps an allocation; IPAM_EADDRNOTAVAIL the CIDR is not inside the
 * pool's CIDRs. `out` may be NULL.
 */
int ipam_alloc_create(ipam *db, int64_t pool, const ipam_alloc_req *req,
		      ipam_alloc_info *out, ipam_err *err);
/* Releases a custom allocation. IPAM_ENOENT, IPAM_EPERM for allocations
 * the system made (child pools, resources: L2273). */
int ipam_alloc_release(ipam *db, int64_t pool, const char *name, ipam_err *err);
int ipam_alloc_get(ipam *db, int64_t pool, const char *name,
		   ipam_alloc_info *out, ipam_err *err);
/* Names in address order. */
/* One entry of a pool's allocations/ directory, as ls -l shows it. */
typedef struct ipam_alloc_entry {
	int64_t key;
	char name[IPAM_NAME_MAX + 1];
	char id[IPAM_ID_MAX];
	int64_t created;
	int64_t changed;	 /* ns (ipam_changed) */
	uint32_t uid, gid, mode; /* mode: permission bits (07777) */
} ipam_alloc_entry;

/* Calls fn(ctx, entry) for every allocation of `pool`, in the order of
 * ipam_alloc_list, from one snapshot; fn returns 0 to go on, or an
 * ipam_code that stops the walk and is returned. fn runs with the handle
 * locked: it must not call libipam. */
typedef int (*ipam_alloc_entry_fn)(void *ctx, const ipam_alloc_entry *entry);
int ipam_alloc_entries(ipam *db, int64_t pool, ipam_alloc_entry_fn fn,
		       void *ctx, ipam_err *err);
int ipam_alloc_list(ipam *db, int64_t pool, ipam_strlist *out, ipam_err *err);
/* The CIDR a request for /prefix_len would get now (-1: default length),
 * without allocating. Same refusals as ipam_alloc_create. */
int ipam_pool_preview(ipam *db, int64_t pool, int prefix_len, ipam_cidr *out,
		      ipam_err *err);

/* ------------------------------------------------------------------------
 * Utilization (kept incrementally; reading is O(log n))
 * ------------------------------------------------------------------------ */

typedef struct ipam_pool_usage {
	ipam_u128 total;	      /* addresses provisioned */
	ipam_u128 allocated_to_pools; /* held by child pools */
	ipam_u128 assigned;	      /* held by resources and custom ones */
	ipam_u128 available;	      /* the rest */
	int64_t provisioned_cidrs;
	int64_t allocation_count;
	int64_t compliant; /* custom and resource allocations */
	int64_t noncompliant;
	int largest_free_prefix; /* -1 when nothing is free */
} ipam_pool_usage;

int ipam_pool_usage_get(ipam *db, int64_t pool, ipam_pool_usage *out,
			ipam_err *err);

/* ------------------------------------------------------------------------
 * Tags and permissions of any object, by its AWS-style id (tag.c)
 * ------------------------------------------------------------------------ */

/* Keys sorted. IPAM_ENOENT for an unknown object. */
int ipam_tag_list(ipam *db, const char *object_id, ipam_strlist *out,
		  ipam_err *err);
/* *out is malloc'd; IPAM_ENOENT when the key is absent. */
int ipam_tag_get(ipam *db, const char *object_id, const char *key, char **out,
		 ipam_err *err);
/* Key: 1..128 bytes, no control characters, not "." or ".." ('/', '=',
 * ':' are allowed, as AWS allows them); value: up to 256 bytes, no NUL or
 * newline. */
int ipam_tag_set(ipam *db, const char *object_id, const char *key,
		 const char *value, ipam_err *err);
int ipam_tag_remove(ipam *db, const char *object_id, const char *key,
		    ipam_err *err);

typedef struct ipam_perm {
	uint32_t uid;
	uint32_t gid;
	uint32_t mode; /* permission bits only (07777) */
} ipam_perm;

/* Owner, group and mode of a scope, pool or allocation. */
int ipam_perm_get(ipam *db, const char *object_id, ipam_perm *out,
		  ipam_err *err);
int ipam_perm_set(ipam *db, const char *object_id, const ipam_perm *perm,
		  ipam_err *err);

/* What an id names (ipam_kind, above); IPAM_ENOENT if nothing. */

int ipam_id_lookup(ipam *db, const char *object_id, ipam_kind *kind,
		   int64_t *key, ipam_err *err);
/* Every id of scopes, pools, allocations and discoveries, sorted. */
int ipam_id_list(ipam *db, ipam_strlist *out, ipam_err *err);
int ipam_alloc_get_by_key(ipam *db, int64_t key, ipam_alloc_info *out,
			  ipam_err *err);

/* ------------------------------------------------------------------------
 * Change log (event.c)
 * ------------------------------------------------------------------------ */

/* The change log as JSON lines, oldest first, at most the newest `limit`
 * entries (0 = all). *out is malloc'd. */
int ipam_events_render(ipam *db, size_t limit, char **out, size_t *len,
		       ipam_err *err);
/* The newest event: on a database other writers change (PostgreSQL), asked
 * of the database (one index lookup) when called outside a transaction. */
int64_t ipam_events_last(ipam *db);
/* The newest event this handle knows (its own changes, the last
 * ipam_events_last, ipam_wait_others), without asking the database: for
 * a caller that asked once at the start of a request and keys caches on it
 * several times in the request. */
int64_t ipam_events_known(ipam *db);
/* The first event of this handle's newest commit that logged any (the
 * change hook's last_event is its last): the events from it to the last
 * are the commit's own, unless a rollback inside it left a gap (the value
 * is then at most one too high per event undone). For a caller that tells
 * its own changes from other writers' (fs/lowlevel.c). */
int64_t ipam_commit_first_event(ipam *db);

/*
 * Other writers of the same database (PostgreSQL: other daemons, other
 * hosts). ipam_shared: whether there can be any. ipam_wait_others waits
 * up to timeout_ms for changes they commit, on a connection of its own
 * (call it from one thread, without other libipam calls in flight on that
 * thread's behalf; it takes no lock of the handle): 1 some came (the
 * newest event they named is then known to ipam_events_last), 0 none
 * within the timeout, 2 the wait's connection was made again after a loss
 * (changes may have been missed: treat everything as changed),
 * IPAM_EIO the server cannot be reached (err says why; the call waited
 * timeout_ms, and the next one tries again), IPAM_EINVAL no other writers
 * (SQLite). Before it returns 1, `removed` (when not NULL) is called in
 * the calling thread, without the handle's lock, for every scope, pool,
 * allocation, resource and discovery those changes deleted, as the remove
 * hook is for this handle's own (IPAM_KIND_IPAM with key 0: anything may
 * have been deleted, the list did not fit one notification). Returning 2
 * or an error, it calls nothing: everything is to be treated as changed.
 * docs/design/pg.md.
 */
bool ipam_shared(ipam *db);
int ipam_wait_others(ipam *db, int timeout_ms, ipam_remove_hook removed,
		     void *ctx, ipam_err *err);

/* ------------------------------------------------------------------------
 * Views: text and JSON in the AWS CLI shapes (render.c)
 *
 * Each returns a malloc'd NUL-terminated buffer in *out and its length in
 * *len, rendered from one consistent snapshot.
 * ------------------------------------------------------------------------ */

int ipam_render_ipam_json(ipam *db, char **out, size_t *len, ipam_err *err);
int ipam_render_scopes_json(ipam *db, char **out, size_t *len, ipam_err *err);
int ipam_render_pool_json(ipam *db, int64_t pool, char **out, size_t *len,
			  ipam_err *err);
/* describe-ipam-pools of every pool of a scope, all depths. */
int ipam_render_scope_pools_json(ipam *db, int64_t scope, char **out,
				 size_t *len, ipam_err *err);
/* describe-ipam-resource-discoveries: {"IpamResourceDiscoveries":[...]}. */
int ipam_render_discoveries_json(ipam *db, char **out, size_t *len,
				 ipam_err *err);
/* get-ipam-discovered-accounts of a discovery: one entry per owner and
 * region of what it sees ({"IpamDiscoveredAccounts":[...]}). */
int ipam_render_discovered_accounts_json(ipam *db, int64_t discovery,
					 char **out, size_t *len,
					 ipam_err *err);
int ipam_render_pool_cidrs_json(ipam *db, int64_t pool, char **out, size_t *len,
				ipam_err *err);
int ipam_render_pool_allocations_json(ipam *db, int64_t pool, char **out,
				      size_t *len, ipam_err *err);
/* One allocation as one line of JSON (IpamPoolAllocation's members, then
 * a host record's DnsName and MacAddress when set). */
int ipam_render_allocation_json(ipam *db, int64_t pool, const char *name,
				char **out, size_t *len, ipam_err *err);
/* key=value lines in the fixed order of SPEC §6.1, or the same as JSON. */
int ipam_render_pool_status(ipam *db, int64_t pool, bool json, char **out,
			    size_t *len, ipam_err *err);
/* The pool's space in address order (SPEC §3.1 `map`). */
int ipam_render_pool_map(ipam *db, int64_t pool, char **out, size_t *len,
			 ipam_err *err);

/* ------------------------------------------------------------------------
 * Pictures: the CIDR map as SVG (svg.c)
 *
 * A pool's map shows its provisioned CIDRs and, in each, the allocations
 * and free blocks in address order; a scope's map shows its top-level pool
 * CIDRs and its resource CIDRs (the console's resource CIDR map, L2698).
 * Blocks nest (a CIDR lies inside another or beside it), so a view of one
 * CIDR draws the blocks directly inside it and fills the rest with the
 * state of the block that holds the view.
 * ------------------------------------------------------------------------ */

/* What a block of the map is; the legend words are ipam_map_state_name. */
typedef enum ipam_map_state {
	IPAM_MAP_FREE,	       /* available */
	IPAM_MAP_POOL,	       /* allocated to a child pool */
	IPAM_MAP_CUSTOM,       /* a custom allocation */
	IPAM_MAP_COMPLIANT,    /* managed, compliant and nonoverlapping */
	IPAM_MAP_OCCUPIED,     /* held by a resource IPAM does not manage */
	IPAM_MAP_OVERLAPPING,  /* overlaps another resource CIDR */
	IPAM_MAP_NONCOMPLIANT, /* breaks its pool's allocation rules */
	IPAM_MAP_SPACE,	       /* a pool's CIDR (in a scope's map) */
	IPAM_MAP_OUTSIDE,      /* in no pool (a scope's map) */
	IPAM_MAP_STATES
} ipam_map_state;

/* "available", "child pool", ... and the fill colour "#rrggbb". */
const char *ipam_map_state_name(ipam_map_state state);
const char *ipam_map_state_colour(ipam_map_state state);

/* One block to lay out: an address range in one state. */
typedef struct ipam_map_block {
	ipam_u128 first, last;
	ipam_map_state state;
} ipam_map_block;

/* One rectangle of the picture: a block, a row's part of a block that
 * spans rows, or (count > 1) blocks too narrow to draw apart, merged. */
typedef struct ipam_map_rect {
	int row;
	double x, width;      /* pixels from the left end of the row */
	ipam_map_state state; /* merged: the worst problem, else the used
				 state holding most addresses */
	double used;	      /* merged: the share drawn in `state` as a
				 band from the bottom (in quarters;
				 the rest is free); 1 otherwise */
	size_t block;	      /* the first block drawn */
	size_t count;	      /* how many blocks it draws */
} ipam_map_rect;

#define IPAM_MAP_WIDTH 1000.0  /* pixels of one row */
#define IPAM_MAP_MIN_WIDTH 4.0 /* narrower blocks are merged */

/* Rows a view of `cidr` is cut into: 2^k, each row at least a /24 (IPv4)
 * or 256 addresses, at most 16 rows. */
int ipam_map_rows(const ipam_cidr *cidr);

/*
 * Lays out `blocks` (sorted, disjoint, inside `view`) over the rows of
 * `view`: address a of row r (which covers view.addr + r*span ...) is at
 * x = (a - row start) * IPAM_MAP_WIDTH / span. A block wider than
 * min_width is one rectangle per row it touches; runs of narrower blocks
 * are merged until they are min_width wide (a lone one is widened to
 * min_width), and neighbouring merged rectangles that look the same join.
 * *out is malloc'd.
 */
int ipam_map_layout(const ipam_cidr *view, const ipam_map_block *blocks,
		    size_t count, double min_width, ipam_map_rect **out,
		    size_t *n_rects, ipam_err *err);

/*
 * The SVG of a pool's (scope == 0) or a scope's (pool == 0) map: the whole
 * map when view is NULL (`map.svg`), else the zoom into `view`
 * (`maps/<cidr>.svg`), which must lie inside a block of the map
 * (IPAM_ENOENT otherwise). Self-contained: no script, no external
 * reference; blocks link to their own zoom by relative path.
 */
int ipam_render_map_svg(ipam *db, int64_t pool, int64_t scope,
			const ipam_cidr *view, char **out, size_t *len,
			ipam_err *err);
/* 0 when `view` lies inside a block of that map, else IPAM_ENOENT. */
int ipam_map_view_check(ipam *db, int64_t pool, int64_t scope,
			const ipam_cidr *view, ipam_err *err);
/* File names ("10.0.0.0_16.svg") of the zooms map.svg offers: every
 * top-level block and the rows it is cut into. */
int ipam_map_views(ipam *db, int64_t pool, int64_t scope, ipam_strlist *out,
		   ipam_err *err);

/* ------------------------------------------------------------------------
 * Resources, compliance and overlap (resource.c, watch.c)
 *
 * A resource is something that holds IP space in a scope: a VPC, subnet,
 * Elastic IP, public IPv4 pool, instance or network interface (L2668). Its
 * id ("vpc-0a1b...") is unique in its scope. A CIDR registered with the
 * resource is `unmanaged` and only checked for overlap; a CIDR it got from
 * a pool (ipam_resource_allocate, or auto-import) is `managed` and checked
 * against the pool's rules. Compliance and overlap are recomputed in the
 * transaction of every change that can affect them.
 * ------------------------------------------------------------------------ */


/* Whether a resource may have type `type`: "vpc", "subnet", "eip",
 * "public-ipv4-pool", "instance" or "network-interface" (IPAM manages the
 * CIDRs of three of them: ipam_resource_type_manageable). */
bool ipam_resource_type_valid(const char *type);
/* The shapes of the EC2 model that name a resource type, each with its own
 * words (IpamResourceType, IpamAddressHistoryResourceType,
 * IpamPoolAllocationResourceType). */
typedef enum ipam_type_shape {
	IPAM_SHAPE_RESOURCE_CIDR, /* get-ipam-(discovered-)resource-cidrs */
	IPAM_SHAPE_HISTORY,	  /* get-ipam-address-history */
	IPAM_SHAPE_ALLOCATION,	  /* get-ipam-pool-allocations */
} ipam_type_shape;
/* The AWS word for resource type `type` in `shape` ("network-interface"
 * is "eni" in a resource CIDR, "public-ipv4-pool" is
 * "ec2-public-ipv4-pool" in an allocation), or NULL when the shape has
 * no word for it (an instance has no resource CIDR of its own). */
const char *ipam_resource_type_aws(const char *type, ipam_type_shape shape);
/* VPCs, EIPs and public IPv4 pools can be managed (L2675). */
bool ipam_resource_type_manageable(const char *type);
/* The type an id's prefix names ("vpc-", "subnet-", "eipalloc-", "eip-",
 * "ipv4pool-ec2-", "i-", "eni-"), or NULL. */
const char *ipam_resource_type_from_id(const char *id);

typedef struct ipam_resource_info {
	int64_t key;
	int64_t scope_key;
	char id[IPAM_RESOURCE_ID_MAX + 1];
	char type[24];
	char name[IPAM_TAG_VALUE_MAX + 1];
	char locale[IPAM_LOCALE_MAX + 1];
	char owner[IPAM_RESOURCE_ID_MAX + 1];
	char vpc_id[IPAM_RESOURCE_ID_MAX + 1];
	bool has_active_ips;
	ipam_u128 active_ips; /* subnets: addresses in use */
	/* EIPs: the instance (i-) or interface (eni-) it is associated
	 * with, "" when unassociated */
	char association[IPAM_RESOURCE_ID_MAX + 1];
	/* public addresses, as a discovery reports them ("" = derived):
	 * an IpamPublicAddressType and IpamPublicAddressAwsService word */
	char address_type[24];
	char service[32];
	bool ignored;			   /* monitoring = ignored */
	char discovery[IPAM_NAME_MAX + 1]; /* "" when registered by hand */
	int64_t created;
} ipam_resource_info;

typedef struct ipam_resource_cidr {
	ipam_cidr cidr;
	char management[16]; /* managed, unmanaged, ignored, - */
	char compliance
		[16];	  /* compliant, noncompliant, unmanaged, ignored, - */
	char reason[160]; /* the broken rule when noncompliant */
	char overlap[16]; /* overlapping, nonoverlapping, ignored, - */
	char pool_id[IPAM_ID_MAX];	    /* managed: the pool */
	char ip_usage[IPAM_PERCENT_STRLEN]; /* percent, "" when unknown */
} ipam_resource_cidr;

/* Registers resource `id` in `scope`; the type comes from `type` or, when
 * NULL, from the id's prefix; its owner is the acting uid. IPAM_EEXIST,
 * IPAM_EINVAL (bad id or type). */
int ipam_resource_create(ipam *db, int64_t scope, const char *id,
			 const char *type, int64_t *out_key, ipam_err *err);
/* Removes it: releases its allocations, ends its history records.
 * IPAM_EBUSY for an associated EIP (disassociate first, L9380) and for a
 * public IPv4 pool that still holds EIPs (release them first, L7000). */
int ipam_resource_delete(ipam *db, int64_t resource, ipam_err *err);
int ipam_resource_lookup(ipam *db, int64_t scope, const char *id,
			 int64_t *out_key, ipam_err *err);
int ipam_resource_get(ipam *db, int64_t resource, ipam_resource_info *out,
		      ipam_err *err);
/* Ids in the scope, sorted. */
int ipam_resource_list(ipam *db, int64_t scope, ipam_strlist *out,
		       ipam_err *err);

typedef enum ipam_resource_field {
	IPAM_RESOURCE_TYPE, /* only while it has no CIDR */
	IPAM_RESOURCE_NAME,
	IPAM_RESOURCE_LOCALE, /* "" clears */
	IPAM_RESOURCE_OWNER,
	IPAM_RESOURCE_VPC_ID,
	IPAM_RESOURCE_ACTIVE_IPS, /* decimal count, "" clears */
	/* EIPs only: an instance (i-) or interface (eni-) id, "" disassociates
	 * (IPAM_EINVAL for other types or ids) */
	IPAM_RESOURCE_ASSOCIATION,
} ipam_resource_field;

int ipam_resource_set(ipam *db, int64_t resource, ipam_resource_field field,
		      const char *value, ipam_err *err);
/* Tags of a resource; a change re-evaluates its managed CIDRs. */
int ipam_resource_tag_list(ipam *db, int64_t resource, ipam_strlist *out,
			   ipam_err *err);
int ipam_resource_tag_get(ipam *db, int64_t resource, const char *key,
			  char **out, ipam_err *err);
int ipam_resource_tag_set(ipam *db, int64_t resource, const char *key,
			  const char *value, ipam_err *err);
int ipam_resource_tag_remove(ipam *db, int64_t resource, const char *key,
			     ipam_err *err);

/* Adds an unmanaged CIDR (chosen elsewhere). IPAM_EEXIST when present. */
int ipam_resource_cidr_add(ipam *db, int64_t resource, const ipam_cidr *cidr,
			   ipam_err *err);
/* Removes a CIDR (a managed one is released). IPAM_ENOENT; IPAM_EBUSY for
 * a CIDR of a public IPv4 pool that holds EIPs (L7000-L7030). */
int ipam_resource_cidr_remove(ipam *db, int64_t resource, const ipam_cidr *cidr,
			      ipam_err *err);
/*
 * "Create a VPC with an IPAM pool": allocates `cidr`, or a block of
 * prefix_len (-1: the pool's default), from `pool` to the resource, which
 * must be of a manageable type, in the pool's scope. The locale, tag
 * (refusal text of L4298) and netmask rules are checked (IPAM_EINVAL),
 * then as ipam_alloc_create. The CIDR becomes a managed resource CIDR.
 */
int ipam_resource_allocate(ipam *db, int64_t resource, int64_t pool,
			   const ipam_cidr *cidr, int prefix_len,
			   ipam_cidr *out, ipam_err *err);
/* The RAM rule (L563, L2289): 0 when the resource's owner (its
 * ResourceOwnerId when that is a uid, else its scope's owner) may use the
 * pool by the pool's mode bits (the class it falls in has the write bit;
 * root is no exception), as auto-import decides; IPAM_EACCES otherwise.
 * ipamfs applies it to `allocate` when mounted with default_permissions. */
int ipam_resource_may_use_pool(ipam *db, int64_t resource, int64_t pool,
			       ipam_err *err);
/* monitored (false) or ignored (true); IPAM_EPERM in the public scope. */
int ipam_resource_set_ignored(ipam *db, int64_t resource, bool ignored,
			      ipam_err *err);
/* Moves a VPC and its subnets to another private scope (L2042). IPAM_EBUSY
 * while one of its CIDRs is allocated from a pool, IPAM_EPERM for other
 * types or the public scope. */
int ipam_resource_move(ipam *db, int64_t resource, int64_t scope,
		       ipam_err *err);
/* The CIDRs with their status, in address order; free *out with free(). */
int ipam_resource_cidrs(ipam *db, int64_t resource, ipam_resource_cidr **out,
			size_t *count, ipam_err *err);

/*
 * allocate-address (L9263-L9290): a new Elastic IP resource (eipalloc-...)
 * in public `scope`, in the locale of its source, with `address` or the
 * lowest free address of `source`: an IPAM pool id (a /32 allocation of
 * type eip, in the pool's strategy: first-fit gives addresses in
 * sequence) or a public IPv4 pool id (its lowest /32 no EIP holds).
 * out_id gets the new id (IPAM_RESOURCE_ID_MAX + 1 bytes). With check_owner
 * the RAM rule applies to an IPAM pool (ipam_resource_may_use_pool: the
 * acting uid, the EIP's owner, must be allowed to use the pool;
 * IPAM_EACCES), as ipamfs does with default_permissions. IPAM_EINVAL (not
 * the public scope, not such an id, an IPv6 pool or one without a locale,
 * an address that is not a /32), IPAM_EADDRINUSE, IPAM_EADDRNOTAVAIL,
 * IPAM_ENOSPC, then as ipam_resource_allocate.
 */
int ipam_eip_allocate(ipam *db, int64_t scope, const char *source,
		      const ipam_cidr *address, bool check_owner, char *out_id,
		      ipam_cidr *out, ipam_err *err);
/*
 * move-byoip-cidr-to-ipam (L8336-L8713): `cidr`, held unmanaged by a
 * public IPv4 pool resource of public `scope`, is provisioned to the pool
 * `pool_id` and becomes that resource's managed CIDR (an allocation of
 * type ec2-public-ipv4-pool); its EIPs stay. IPAM_EINVAL: not the public
 * scope, IPv6, not a pool id, a pool that is not top-level, IPv4, byoip,
 * of aws-service ec2 and of the public IPv4 pool's locale; IPAM_ENOENT no
 * public IPv4 pool holds the CIDR; IPAM_EEXIST it is in IPAM already;
 * IPAM_EACCES with check_owner when the public IPv4 pool's owner may not
 * use the pool (the RAM share of L8560-L8600, ipam_resource_may_use_pool);
 * then as ipam_pool_provision.
 */
int ipam_byoip_move_to_ipam(ipam *db, int64_t scope, const ipam_cidr *cidr,
			    const char *pool_id, bool check_owner,
			    ipam_err *err);
/* Public IP insights (L3071-L3164) of the public scope:
 * get-ipam-discovered-public-addresses ({"IpamDiscoveredPublicAddresses":
 * [...], "OldestSampleTime"}): every EIP and every public IPv4 address of
 * a network interface, with its AddressType and AssociationStatus. */
int ipam_render_public_addresses_json(ipam *db, int64_t scope, char **out,
				      size_t *len, ipam_err *err);
/* Their counts by type and by usage (`key=value` lines, or one JSON
 * object): amazon-owned-eips, ec2-public-ips, byoip, service-managed-ips,
 * service-managed-byoip, amazon-owned-contiguous-eips, then associated-
 * and unassociated- amazon-owned-eips, byoip,
 * amazon-owned-contiguous-eips. */
int ipam_render_public_ip_summary(ipam *db, int64_t scope, bool json,
				  char **out, size_t *len, ipam_err *err);
/* describe-addresses of the scope's EIPs ({"Addresses":[...]}). */
int ipam_render_addresses_json(ipam *db, int64_t scope, char **out, size_t *len,
			       ipam_err *err);
/* describe-public-ipv4-pools of the scope's public IPv4 pools
 * ({"PublicIpv4Pools":[...]}, address counts net of their EIPs). */
int ipam_render_public_ipv4_pools_json(ipam *db, int64_t scope, char **out,
				       size_t *len, ipam_err *err);

/* per CIDR status lines: "CIDR management compliance overlap pool-id
 * ip-usage [reason]" or the same as JSON. */
int ipam_render_resource_status(ipam *db, int64_t resource, bool json,
				char **out, size_t *len, ipam_err *err);
/* get-ipam-resource-cidrs of a scope ({"IpamResourceCidrs":[...]}), or,
 * when discovery != 0, the resources of that discovery in the shape of
 * get-ipam-discovered-resource-cidrs ({"IpamDiscoveredResourceCidrs"}). */
int ipam_render_resources_json(ipam *db, int64_t scope, int64_t discovery,
			       char **out, size_t *len, ipam_err *err);
/* Scope status: the dashboard counters of SPEC §6.2, key=value or JSON. */
int ipam_render_scope_status(ipam *db, int64_t scope, bool json, char **out,
			     size_t *len, ipam_err *err);

/* ------------------------------------------------------------------------
 * Discoveries (discovery.c, feed.c, netlink.c)
 * ------------------------------------------------------------------------ */

typedef struct ipam_discovery_info {
	int64_t key;
	char id[IPAM_ID_MAX]; /* ipam-res-disco-... */
	char name[IPAM_NAME_MAX + 1];
	int64_t scope_key;
	char scope[IPAM_NAME_MAX + 1];
	char locale[IPAM_LOCALE_MAX + 1]; /* region of records without one */
	int64_t resources;
	int64_t last_feed; /* 0 = never */
	/* records of its last snapshot whose region is not an operating
	 * locale: not monitored, not applied (L394, L1971) */
	int64_t unmonitored;
} ipam_discovery_info;

/* "default" and "host" always exist. */
int ipam_discovery_list(ipam *db, ipam_strlist *out, ipam_err *err);
int ipam_discovery_get(ipam *db, const char *name, ipam_discovery_info *out,
		       ipam_err *err);
int ipam_discovery_create(ipam *db, const char *name, ipam_err *err);
/* Ends every resource it sees. IPAM_EPERM for the built-in ones. */
int ipam_discovery_delete(ipam *db, const char *name, ipam_err *err);
/* Moves what it sees to `scope`. */
int ipam_discovery_set_scope(ipam *db, const char *name, const char *scope,
			     ipam_err *err);
int ipam_discovery_set_locale(ipam *db, const char *name, const char *locale,
			      ipam_err *err);
/*
 * Applies a complete snapshot: JSON lines of {"ResourceId", "ResourceType",
 * "ResourceCidr", "ResourceRegion", "ResourceOwnerId", "VpcId",
 * "ResourceTags", "IpUsage", "ResourceName"}, or the unmodified JSON output
 * of `aws ec2 describe-vpcs`, `describe-subnets` or `describe-addresses`.
 * New resources appear, changed ones update, missing ones end. All or
 * nothing: IPAM_EINVAL names the first bad record.
 */
int ipam_discovery_feed(ipam *db, const char *name, const char *text,
			size_t len, ipam_err *err);
/* The `host` discovery: this machine's interface addresses (as
 * network-interface resources) and connected prefixes (as subnets), read
 * over rtnetlink. */
int ipam_discovery_host_refresh(ipam *db, ipam_err *err);

/* ------------------------------------------------------------------------
 * IP address history (history.c)
 * ------------------------------------------------------------------------ */

/*
 * Retention in days, 1..36500: of ended IP address history records
 * (default 1095 = 3 years) and of the change log /events (default 365).
 * Both are purged a few rows per write as new rows are written.
 */
typedef enum {
	IPAM_RETAIN_HISTORY,
	IPAM_RETAIN_EVENTS,
} ipam_retention;
int ipam_retention_get(ipam *db, ipam_retention which, int64_t *out,
		       ipam_err *err);
int ipam_retention_set(ipam *db, ipam_retention which, int64_t days,
		       ipam_err *err);
/* File names ("10.0.0.0_24") of the CIDRs that have records in the scope. */
int ipam_history_cidrs(ipam *db, int64_t scope, ipam_strlist *out,
		       ipam_err *err);
/*
 * Records of exactly `cidr` in `scope` whose association [start, end)
 * meets the window [from, to] (from = to = now for "active now"; from = 0,
 * to = INT64_MAX for all). Text table or {"HistoryRecords":[...]}.
 */
int ipam_history_query(ipam *db, int64_t scope, const ipam_cidr *cidr,
		       int64_t from, int64_t to, bool json, char **out,
		       size_t *len, ipam_err *err);

/* ------------------------------------------------------------------------
 * Metrics (metrics.c)
 * ------------------------------------------------------------------------ */

/* Every metric of SPEC §6.3 in the Prometheus text format. */
int ipam_render_metrics(ipam *db, char **out, size_t *len, ipam_err *err);

/* ------------------------------------------------------------------------
 * Export and import (export.c, import.c, import_*.c; SPEC §8.3)
 * ------------------------------------------------------------------------ */

#define IPAM_EXPORT_VERSION 1

/* The whole IPAM as one JSON document (docs/tree.md, /export.json), from
 * one snapshot, byte-identical for the same IPAM. */
int ipam_export_json(ipam *db, char **out, size_t *len, ipam_err *err);
/* Every IP address history record ({"HistoryRecords": [...]}). */
int ipam_export_history_json(ipam *db, char **out, size_t *len, ipam_err *err);

typedef enum ipam_import_format {
	IPAM_FORMAT_IPAMFS, /* an /export.json document */
	IPAM_FORMAT_AWS,    /* aws ec2 describe-ipam* outputs, concatenated */
	IPAM_FORMAT_NETBOX_JSON, /* NetBox REST /api/ipam/prefixes/ (+ vrfs) */
	IPAM_FORMAT_NETBOX_CSV,	 /* NetBox prefix CSV export */
	IPAM_FORMAT_PHPIPAM_CSV, /* phpIPAM subnet export sheet as CSV */
	IPAM_FORMAT_CSV,	 /* cidr,name,description,parent,tags */
} ipam_import_format;

/* "ipamfs", "aws", "netbox-json", "netbox-csv", "phpipam-csv", "csv". */
const char *ipam_import_format_name(ipam_import_format format);

typedef struct ipam_import_result {
	ipam_import_format format;
	size_t created, changed, deleted;
	/* The changes, one per line ("+ pool scopes/private/pools/top"),
	 * then on refusal "! refused ERRNO: reason". malloc'd, may be NULL. */
	char *changes;
	size_t changes_len;
} ipam_import_result;

/*
 * Applies a document in any of the formats above (detected from the
 * content) as one change: everything or nothing. Objects are matched by
 * path; missing ones are created, differing ones changed; with "Prune":
 * true, what the document's scopes hold and it lacks is deleted. With
 * plan, the same work is done and undone: nothing changes, and out holds
 * the changes the import would make and the refusal it would meet. On
 * refusal the code of the first failing object and, in err, which one
 * (the line of the document) and why. `out` may be NULL; free it with
 * ipam_import_result_free.
 */
int ipam_import(ipam *db, const char *text, size_t len, bool plan,
		ipam_import_result *out, ipam_err *err);
void ipam_import_result_free(ipam_import_result *result);

#include "ipam_prefixlist.h"
#include "ipam_policy.h"

#ifdef __cplusplus
}
#endif

#endif /* IPAM_H */
