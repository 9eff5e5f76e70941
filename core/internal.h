/*
 * internal.h - what the files of libipam share and nobody else sees.
 *
 * The handle, the statement cache, the write/read brackets that turn every
 * public call into one transaction (or a savepoint of the caller's), error
 * helpers, id generation, the change log writer and the 16-byte big-endian
 * address encoding used as keys. Statements go through the storage seam
 * (store/store.h); no file outside core/store/ knows the engine.
 */
#ifndef IPAM_INTERNAL_H
#define IPAM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <jansson.h>

/*
 * A JSON string of text; bytes that are not UTF-8 (stored by an older
 * version) become U+FFFD instead of making jansson refuse the value and the
 * field silently vanish (docs/design/security.md). Every json_string() of
 * libipam is this one; json_pack's "s" checks too: text read from the
 * database goes in as "o" with ipam__json_str.
 */
json_t *ipam__json_str(const char *text);
#define json_string(text) ipam__json_str(text)

#include "ipam.h"
#include "store.h"

/* A row the remove hook will report (store.c). */
struct ipam_removal {
	ipam_kind kind;
	int64_t key;
};

/* A pool's kept counters (ipam.counts); pool 0 = none kept. */
#define IPAM__COUNTS_DEPTH 8
struct ipam__counts {
	int64_t pool;
	ipam_u128 assigned, to_pools;
	int64_t n_allocs, n_compliant, n_noncompliant;
};

struct ipam {
	ipam_store *store; /* the engine's connection (store.h) */
	pthread_mutex_t lock;  /* recursive */
	int txn_open;	       /* ipam_txn_begin is in force */
	int depth;	       /* nesting of write brackets inside one call */
	int events_logged;     /* change-log rows written in this transaction */
	int64_t history_floor; /* history keys above it were opened in this
				* transaction; -1 = none opened yet */
	/* The id counter of a write transaction (store.c ipam__new_id):
	 * IDS_OFF outside one, IDS_UNREAD until the first id, then kept
	 * here (IDS_KEPT) and written back once before COMMIT. */
	enum { IDS_OFF, IDS_UNREAD, IDS_KEPT } ids;
	uint64_t id_counter, id_salt;
	/* The space and allocation counters of the pool a write transaction
	 * allocates in or releases from, kept here and written back when a
	 * statement names them, before COMMIT, or when another pool's are
	 * needed (model/alloc.c). counts_saved[d]: what they were when the
	 * savepoint of nesting d began (restored when it is rolled back). */
	struct ipam__counts counts, counts_saved[IPAM__COUNTS_DEPTH];
	bool counts_flushing;
	ipam_actor actor;      /* who the current transaction runs for */
	ipam_actor default_actor;
	ipam_clock_fn clock;
	void *clock_ctx;
	ipam_change_hook hook;
	void *hook_ctx;
	int64_t last_event;
	int64_t commit_first; /* the first event of the newest commit */
	int64_t stamp; /* change time of this transaction (ns); 0 = none yet */
	int64_t last_stamp; /* the newest stamp committed (ipam.changed) */
	int changed_held; /* the bulk rows' triggers are held (changed.c) */
	ipam_remove_hook remove_hook;
	void *remove_ctx;
	struct ipam_removal *removed; /* rows deleted in this transaction */
	size_t n_removed, cap_removed;
	int removed_lost; /* the list ran out of memory */
	/* The statement cache: an open-addressing hash table keyed by the
	 * address of the SQL literal; it grows (doubling) and never evicts, so
	 * no workload can exceed it. */
	struct ipam_stmt_slot {
		const char *literal;
		ipam_stmt *stmt;
		bool counts; /* names a kept pool counter (ipam__counts) */
	} * cache;
	size_t cache_cap; /* slots, a power of two (0 before the first) */
	size_t cached;	  /* slots in use */
	bool importing;	  /* an import is applying a document (planning.c
			     checks a planning pool's VPC at its end) */
	bool byoip_skip; /* the lab switch: BYOIP provisions need no proof */
};

/* The mode of a new scope, pool or allocation (docs/design/core.md):
 * rwxr-xr-x, changed with ipam_perm_set. */
#define IPAM_MODE_NEW 0755

/* ---- errors ---- */

/* Fills err (first error wins) and returns code. */
int ipam__fail(ipam_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Turns the engine's last error into an ipam_code (store.h says which). */
int ipam__sqlfail(ipam *db, ipam_err *err);

/* Set when a value could not be handed to the engine (a bind ran out of
 * memory), read back (a column gave NULL text for a NOT NULL column) or a
 * statement could not be prepared for want of memory; the call brackets
 * then turn the call into IPAM_ENOMEM, so no decision is made on a value
 * that never arrived. */
extern _Thread_local int ipam__oom;
/* The code for a statement that could not be prepared: err's, else
 * IPAM_ENOMEM when memory ran out, else IPAM_EIO. */
int ipam__stmt_error(const ipam_err *err);

/* ---- statements ---- */

/*
 * A prepared statement for `sql`, which must be a string literal (the cache
 * is keyed by its address). The statement is reset and unbound. NULL on
 * failure, with err filled.
 */
ipam_stmt *ipam__stmt(ipam *db, const char *sql, ipam_err *err);
/* Runs a statement that returns no rows; 0 or an ipam_code. */
int ipam__exec(ipam *db, ipam_stmt *stmt, ipam_err *err);
/* Runs literal SQL without binding. */
int ipam__exec_sql(ipam *db, const char *sql, ipam_err *err);
/* Steps once: IPAM_ROW (1) for a row, IPAM_DONE (0) for done, <0 on
 * error. */
int ipam__step(ipam *db, ipam_stmt *stmt, ipam_err *err);
/* Rows changed by the last INSERT/UPDATE/DELETE; the key the last INSERT
 * gave its row. */
int64_t ipam__changes(ipam *db);
int64_t ipam__last_insert_id(ipam *db);

/* Steps a prepared and bound statement (NULL: the error of ipam__stmt) to
 * its end and collects column 0, as text into *out or as integers into a
 * malloc'd array. The statement is reset; on failure nothing is returned. */
int ipam__collect_text(ipam *db, ipam_stmt *stmt, ipam_strlist *out,
		       ipam_err *err);
int ipam__collect_keys(ipam *db, ipam_stmt *stmt, int64_t **out,
		       size_t *count, ipam_err *err);

/* ---- named objects (named.c): prefix-list resolvers, IPAM policies ---- */

/* The names a `SELECT name ... ORDER BY name` gives, in a read
 * transaction. */
int ipam__names_list(ipam *db, const char *sql, ipam_strlist *out,
		     ipam_err *err);
/* Runs a statement whose only parameter ?1 is a key. */
int ipam__exec_key(ipam *db, const char *sql, int64_t key, ipam_err *err);
/* The integer a `SELECT count(*) ...` gives; _key binds ?1 to key. */
int ipam__count(ipam *db, const char *sql, int64_t *out, ipam_err *err);
int ipam__count_key(ipam *db, const char *sql, int64_t key, int64_t *out,
		    ipam_err *err);
typedef struct ipam__named {
	const char *what;      /* "policy": in messages */
	const char *id_prefix; /* "ipam-policy-" */
	const char *insert;    /* ?1 id, ?2 name, ?3 now */
	const char *created;   /* its creation event */
	const char *deleted;   /* its deletion event */
	const char *remove[8]; /* NULL-ended: statements of ?1 the key, the
				  object's own row last */
} ipam__named;
/* Creates one (IPAM_EEXIST "<what> 'name' exists") with its event. */
int ipam__named_insert(ipam *db, const ipam__named *kind, const char *name,
		       ipam_err *err);
/* Removes one: kind->remove, its tags, its event. */
int ipam__named_remove(ipam *db, const ipam__named *kind, int64_t key,
		       const char *id, const char *name, ipam_err *err);

/* ---- call brackets ---- */

/*
 * Every public write is   rc = ipam__write_begin(db, err); if (rc) return rc;
 *                         rc = do_the_work(...);
 *                         return ipam__write_end(db, rc, err);
 * which takes the lock and opens a transaction (or a savepoint inside the
 * caller's), and commits or undoes according to rc.
 */
int ipam__write_begin(ipam *db, ipam_err *err);
int ipam__write_end(ipam *db, int rc, ipam_err *err);
/* Reads: the lock and (outside a transaction) a read snapshot. */
int ipam__read_begin(ipam *db, ipam_err *err);
int ipam__read_end(ipam *db, int rc);

/* ---- ids, time, text ---- */

/* New AWS-style id "<prefix><hex>", 17 hex digits, or 32 for long ids. */
int ipam__new_id(ipam *db, const char *prefix, bool long_id,
		 char out[IPAM_ID_MAX], ipam_err *err);
int64_t ipam__now(ipam *db);
/* Fills `out` from the kernel's random source (getrandom(2)). */
int ipam__random(void *out, size_t len, ipam_err *err);
/* provision.c: refuses a CIDR of the special-purpose (non-global) ranges
 * in the public scope, naming the range. */
int ipam__public_space_check(const ipam_cidr *cidr, ipam_err *err);
/* provision.c: the checks of a provision that do not depend on the parent,
 * and the provision itself (no bracket, no proof) */
int ipam__provision_checks(ipam *db, const ipam_pool_info *p,
			   const ipam_cidr *cidr, ipam_err *err);
int ipam__provision(ipam *db, int64_t pool, const ipam_cidr *cidr,
		    const char *given_id, ipam_err *err);

/* ---- byoip.c: the BYOIP CIDR lifecycle (docs/design/public.md) ---- */

/* Whether CIDRs provisioned to pool p need a proof of ownership: a
 * top-level pool of the public scope with public-ip-source byoip. */
bool ipam__byoip_pool(const ipam_pool_info *p);

/* A CIDR's lifecycle record. */
typedef struct ipam__byoip_rec {
	int64_t key;
	ipam_byoip_state state;
	char id[IPAM_ID_MAX]; /* ipam-pool-cidr-... */
	char method[16];      /* x509, dns-token, lab; "" = none yet */
	int64_t changed;
} ipam__byoip_rec;

/* The record of `cidr` in pool `pool`: 1 found, 0 none, < 0 error. */
int ipam__byoip_get(ipam *db, int64_t pool, const ipam_cidr *cidr,
		    ipam__byoip_rec *out, ipam_err *err);
/* Moves the record of `cidr` to `to` (creating it with id `id` when
 * absent), with a reason for failed-provision, the proof method for
 * provisioned; logs the transition (event "byoip-cidr-state"). */
int ipam__byoip_move(ipam *db, const ipam_pool_info *p, const ipam_cidr *cidr,
		     const char *id, ipam_byoip_state to, const char *method,
		     const ipam_err *reason, ipam_err *err);
/* IPAM_EADDRINUSE when `cidr` overlaps a pending-provision CIDR of the
 * scope (another pool's, or another CIDR of this pool). */
int ipam__byoip_overlap_check(ipam *db, const ipam_pool_info *p,
			      const ipam_cidr *cidr, ipam_err *err);
/* Deprovision of a CIDR that holds no space (pending or failed): it
 * becomes deprovisioned; IPAM_ENOENT when there is no such record. */
int ipam__byoip_drop_unprovisioned(ipam *db, const ipam_pool_info *p,
				   const ipam_cidr *cidr, ipam_err *err);
/* asn.c: refusals before a public pool's CIDR is deprovisioned: it is
 * advertised from the pool, or ASNs are associated with it. */
int ipam__public_deprovision_check(ipam *db, const ipam_pool_info *p,
				   const ipam_cidr *cidr, ipam_err *err);
/* The signed-message check (byoip.c), no bracket: `subject` is the CIDR
 * or the ASN the message must name. */
int ipam__check_message(ipam *db, const char *subject, const char *message,
			const char *signature, ipam_err *err);
/* After: the record becomes deprovisioned. */
int ipam__byoip_deprovisioned(ipam *db, const ipam_pool_info *p,
			      const ipam_cidr *cidr, const char *id,
			      ipam_err *err);
/* Adds the pool's unprovisioned records (pending, failed, deprovisioned
 * for 7 days) to a cidrs list, in address order; fills the failure reason
 * of the listed ones. */
int ipam__byoip_cidrs_add(ipam *db, const ipam_pool_info *p,
			  ipam_pool_cidr **list, size_t *n, ipam_err *err);
/* dnsproof.c: "A.B.C.D[:PORT]" (port 53 by default) */
int ipam__resolver_parse(const char *text, char *host, size_t size, int *port,
			 ipam_err *err);
/* The DNS-TXT proof of `cidr` with token `token_id` (L5577-L5629): every
 * record the guide lists holds the token value; the codes of
 * ipam_pool_provision_proven's *refused. */
int ipam__dns_token_check(ipam *db, const ipam_cidr *cidr,
			  const char *token_id, ipam_err *err);
/* A token by "name" or "id": 1 found, 0 none, < 0 error. */
int ipam__token_load(ipam *db, const char *by, const char *what,
		     ipam_token_info *out, ipam_err *err);
/* A lifecycle record as an import document gives it. */
typedef struct ipam__byoip_doc {
	ipam_cidr cidr;
	const char *id; /* the document's IpamPoolCidrId, "" = none usable */
	ipam_byoip_state state;
	const char *code, *reason; /* FailureReason ("" = none) */
	const char *method;	   /* "", x509, dns-token, lab, transfer */
	int64_t changed;
} ipam__byoip_doc;
/* import: writes the record of doc->cidr in pool `pool` as the document
 * says, after the checks a document cannot pass around: a BYOIP pool,
 * known words, provisioned exactly when the pool holds the CIDR (the
 * record then takes the pool CIDR's id), a pending CIDR clear of every
 * other top-level CIDR of the scope. Event "byoip-cidr-state". */
int ipam__byoip_restore(ipam *db, int64_t pool, const ipam__byoip_doc *doc,
			ipam_err *err);
/* import (asn.c): an ASN record as the document says (state, reason,
 * times); IPAM_EINVAL not a public ASN or a bad state, IPAM_EBUSY a state
 * other than provisioned for an ASN that has associations. */
int ipam__asn_restore(ipam *db, const char *asn, ipam_byoip_state state,
		      const char *reason, int64_t created, int64_t changed,
		      ipam_err *err);
/* import: the ASN's change time as the document says, after its
 * associations (which stamp it) are applied. */
int ipam__asn_set_changed(ipam *db, uint32_t asn, int64_t changed,
			  ipam_err *err);
/* import (dnsproof.c): a verification token as the document gives it;
 * IPAM_EINVAL a bad name, TokenName, TokenValue or times. */
int ipam__token_restore(ipam *db, const ipam_token_info *t, ipam_err *err);
/* import: the quota of ASNs and tokens after the document (IPAM_EDQUOT). */
int ipam__public_quota_check(ipam *db, ipam_err *err);
/* rmdir of a pool: drops its records (no provisioned one is left). */
int ipam__byoip_pool_drop(ipam *db, int64_t pool, ipam_err *err);

/* provider.c: a top-level public pool whose public-ip-source is amazon. */
bool ipam__pool_is_provider(const ipam_pool_info *p);
/* provider.c: the first free aligned /len of the provider CIDRs for such a
 * pool, within the guide's limits (IPAM_EINVAL size or no locale,
 * IPAM_EDQUOT blocks, IPAM_ENOSPC none free). */
int ipam__provider_pick(ipam *db, const ipam_pool_info *p, int len,
			ipam_cidr *out, ipam_err *err);
/* provider.c: 0 for pools that are not such a pool; for one, IPAM_EINVAL
 * when `typed` (a user's CIDR), else (an import) the limits and
 * IPAM_EADDRNOTAVAIL outside the provider CIDRs. */
int ipam__provider_check(ipam *db, const ipam_pool_info *p,
			 const ipam_cidr *cidr, bool typed, ipam_err *err);
/* provision.c: ipam_pool_provision for an import: an amazon-source pool
 * takes back a CIDR inside the provider CIDRs. */
int ipam__pool_provision_restore(ipam *db, int64_t pool, const ipam_cidr *cidr,
				 ipam_err *err);

/* ---- change times (changed.c) ---- */

/* The stamp of the current transaction, computed at its first use: what
 * the engine's change-time triggers write (ipam_stamp() in SQL). */
int64_t ipam__changed_stamp(ipam *db);
/* Before COMMIT: keeps ipam.changed the newest stamp ever given. */
int ipam__changed_flush(ipam *db, ipam_err *err);
/* After COMMIT: the transaction's stamp is the newest given. */
void ipam__changed_committed(ipam *db);
/* At open: the newest stamp given, from ipam.changed. */
int ipam__changed_load(ipam *db, ipam_err *err);
/* Holds the per-row change-time work of an allocation, history record and
 * event inserted (the engine's hold_row_triggers), for the bulk
 * allocator, which stamps its rows itself (once per batch);
 * ipam__changed_resume starts it again. No insert into those tables but
 * the bulk allocator's in between. A rollback past the hold undoes it
 * (the flag may then say held: resuming then makes what exists, holding
 * does nothing, and the bulk path stamps rows either way). */
int ipam__changed_hold(ipam *db, ipam_err *err);
int ipam__changed_resume(ipam *db, ipam_err *err);
/* The bumps those triggers make for a batch of allocations of `pool` in
 * `scope` (the allocation rows carry the stamp themselves). */
int ipam__changed_bulk(ipam *db, int64_t pool, int64_t scope, ipam_err *err);
/* Copies a column's text into a fixed buffer (truncating safely). */
void ipam__copy_text(char *dst, size_t size, ipam_stmt *stmt, int col);
/* A percentage of ipam_percent_format as a JSON number (an integer when
 * it has no decimals); dump with JSON_REAL_PRECISION(15). */
json_t *ipam__percent_json(const char *text);
/* strdup that returns NULL on failure without side effects. */
char *ipam__strdup(const char *s);
int ipam__strlist_push(ipam_strlist *list, const char *s);
/* 1..max bytes, no NUL/newline (descriptions, values). */
int ipam__check_text(const char *what, const char *text, size_t max,
		     ipam_err *err);
int ipam__check_locale(const char *locale, ipam_err *err);
int ipam__check_tag(const char *key, const char *value, ipam_err *err);
/* IPAM_EINVAL with "WHAT is not valid UTF-8 (byte 0xNN at offset N)" when
 * text is not well-formed UTF-8; 0 when it is. */
int ipam__check_utf8(const char *what, const char *text, ipam_err *err);
/* IPAM_ENAMETOOLONG when an object named `name` under pool p (`below` is
 * "pools" or "allocations") would have a tree path over IPAM_PATH_MAX. */
int ipam__path_check(ipam *db, const ipam_pool_info *p, const char *below,
		     const char *name, ipam_err *err);

/* A growing text buffer; on allocation failure it remembers and the
 * finish call reports IPAM_ENOMEM. */
typedef struct ipam__buf {
	char *data;
	size_t len, cap;
	int failed;
} ipam__buf;
int ipam__buf_add(ipam__buf *buf, const char *text, size_t n);
int ipam__buf_printf(ipam__buf *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Hands the text to *out (malloc'd) or frees it and fails. */
int ipam__buf_finish(ipam__buf *buf, char **out, size_t *len, ipam_err *err);

/* A JSON list written element by element into an ipam__buf (view/jsonlist.c):
 * `{"KEY": [ELEMENTS]}` (or the bare list when key is NULL) plus a newline,
 * byte for byte what json_dumps(..., flags) of the whole document writes
 * when flags hold JSON_INDENT(2). Never holds more than one element as a
 * jansson value; a failure marks the buffer (ipam__buf_finish reports it). */
typedef struct ipam__jlist {
	ipam__buf *buf;
	size_t flags, count;
	int keyed;
} ipam__jlist;
void ipam__jlist_begin(ipam__jlist *l, ipam__buf *buf, const char *key,
		       size_t flags);
/* Appends elem (reference stolen; NULL marks the buffer failed). */
void ipam__jlist_add(ipam__jlist *l, json_t *elem);
void ipam__jlist_end(ipam__jlist *l);

/* ---- addresses as keys: 16 bytes, big-endian ---- */

/* The kept pool counters (ipam.counts, model/alloc.c): written back to
 * the pool's row; whether a statement's text names one of them (it then
 * reads them written back: ipam__stmt). */
int ipam__counts_flush(ipam *db, ipam_err *err);
bool ipam__counts_named(const char *sql);
void ipam__addr_to_blob(ipam_u128 addr, unsigned char out[16]);
ipam_u128 ipam__blob_to_addr(ipam_stmt *stmt, int col);
int ipam__bind_addr(ipam_stmt *stmt, int idx, ipam_u128 addr);
int ipam__bind_u128(ipam_stmt *stmt, int idx, ipam_u128 value);
/* A CIDR as three parameters: idx its family, idx + 1 its start (16 bytes),
 * idx + 2 its prefix length. */
void ipam__bind_cidr(ipam_stmt *stmt, int idx, const ipam_cidr *cidr);
ipam_u128 ipam__col_u128(ipam_stmt *stmt, int col);

/* ---- change log (event.c) ---- */

/* Appends one change-log row in the current transaction. `detail` is a
 * JSON object whose reference is stolen (may be NULL). */
int ipam__event(ipam *db, const char *action, const char *object_id,
		json_t *detail, ipam_err *err);
/* The same with the detail already as `len` bytes of compact JSON text,
 * which stays the caller's: the bulk allocator writes it by hand, into
 * one buffer for many events. */
int ipam__event_static(ipam *db, const char *action, const char *object_id,
		       const char *text, size_t len, ipam_err *err);

/* ---- cross-file model helpers ---- */

/* ipam.c: the IPAM row. */
int ipam__info_load(ipam *db, ipam_info *out, ipam_err *err);
/* ipam.c: 0, or IPAM_EPERM naming what the free tier does not allow. */
int ipam__free_tier_check(ipam *db, ipam_err *err);

/* pool.c: loads a pool row; IPAM_ENOENT when absent. */
int ipam__pool_load(ipam *db, int64_t pool, ipam_pool_info *out, ipam_err *err);
/* pool.c: deletes an empty pool (the checks and event of rmdir). */
int ipam__pool_remove(ipam *db, int64_t pool, ipam_err *err);
/* provision.c: deprovisions one CIDR (the checks and event of -CIDR). */
int ipam__pool_deprovision(ipam *db, int64_t pool, const ipam_cidr *cidr,
			   ipam_err *err);
/* planning.c: a resource planning pool's CIDR lies inside a CIDR of its
 * VPC (IPAM_EADDRNOTAVAIL, IPAM_EINVAL when the VPC is gone). */
int ipam__plan_cidr_check(ipam *db, const ipam_pool_info *p,
			  const ipam_cidr *cidr, ipam_err *err);
/* planning.c: whether `res` may take a CIDR from pool `p` (a subnet from a
 * pool planning its VPC's space, nothing else from such a pool). */
int ipam__plan_allocate_check(ipam *db, const ipam_resource_info *res,
			      const ipam_pool_info *p, ipam_err *err);
/* planning.c: IPAM_EBUSY when a resource planning pool uses VPC `res`
 * (any of its CIDRs when cidr is NULL, else the pool CIDRs inside cidr). */
int ipam__plan_vpc_busy(ipam *db, const ipam_resource_info *res,
			const ipam_cidr *cidr, const char *what,
			ipam_err *err);
/* planning.c: after an import, every resource planning pool's VPC exists
 * and holds the pool's CIDRs (the document's order puts pools first). */
int ipam__plan_import_verify(ipam *db, ipam_err *err);
/* resource.c: the resource CIDR that allocation `alloc` manages, if any,
 * becomes unmanaged (*found says whether there was one). */
int ipam__resource_unmanage_alloc(ipam *db, int64_t alloc, bool *found,
				  ipam_err *err);
/* pool.c: the usage counters of a pool row that change outside
 * allocations (alloc.c keeps those an allocation moves: ipam.counts). */
typedef enum ipam__counter {
	IPAM__COUNT_TOTAL,    /* provisioned space */
	IPAM__COUNT_ASSIGNED, /* allocated to resources and custom */
} ipam__counter;
/* pool.c: adds (sign=+1) or removes (sign=-1) `amount` to a counter. */
int ipam__pool_count(ipam *db, int64_t pool, ipam__counter counter,
		     ipam_u128 amount, int sign, ipam_err *err);

/* alloc.c: free-space index of a pool */
int ipam__free_add(ipam *db, int64_t pool, const ipam_cidr *block,
		   int merge_limit, ipam_err *err);
int ipam__free_remove_exact(ipam *db, int64_t pool, const ipam_cidr *block,
			    ipam_err *err);
int ipam__largest_free(ipam *db, int64_t pool, ipam_cidr *out, ipam_err *err);
/* The pool CIDR that contains `cidr`, if any: 1 found, 0 not, <0 error. */
int ipam__pool_cidr_containing(ipam *db, int64_t pool, const ipam_cidr *cidr,
			       ipam_cidr *out, ipam_err *err);
/*
 * Allocates in `pool` on behalf of the system or a user: checks the request
 * against the pool (family, CIDRs, rules when check_rules), takes the
 * space, inserts the allocation row, updates counters and logs. Used by
 * ipam_alloc_create and by child-pool provisioning.
 */
typedef struct ipam__alloc_spec {
	const char *name;
	const ipam_cidr *cidr; /* or NULL */
	int prefix_len;
	const char *description;
	const char *resource_type; /* "custom", "ipam-pool", ... */
	const char *resource_id;   /* may be NULL */
	const char *resource_region;
	bool check_rules;
	const char *id; /* NULL: a new id (import: the document's, unused) */
} ipam__alloc_spec;
int ipam__alloc(ipam *db, int64_t pool, const ipam__alloc_spec *spec,
		ipam_alloc_info *out, ipam_err *err);
/* An import's managed resource CIDR: as ipam_resource_allocate of `cidr`
 * but the netmask, locale and tag rules only flag it noncompliant, and
 * the allocation takes alloc_id (NULL or "": a new id; the caller checks
 * it is unused). Inside the caller's transaction. */
/*
 * alloc_bulk.c: custom allocations of given CIDRs into one pool in one
 * pass (import). Rows hold the request; on return key holds each row's
 * allocation key. Either all rows are allocated with exactly the effects
 * of ipam__alloc one by one (no rules checked, as an import), or nothing
 * is written and IPAM__BULK_FALLBACK says a row would be refused (or needs
 * the one-by-one path): the caller then applies them one by one, which
 * gives the refusal the model would give.
 */
#define IPAM__BULK_FALLBACK 1000
typedef struct ipam__bulk_row {
	ipam_cidr cidr;
	const char *name, *id, *description; /* id NULL: a new one */
	int64_t created;		     /* <0: now */
	int64_t uid, gid;		     /* <0: the actor's */
	int mode;			     /* <0: IPAM_MODE_NEW */
	int64_t key;			     /* out */
	char made_id[IPAM_ID_MAX];	     /* out: its id */
} ipam__bulk_row;
int ipam__alloc_bulk(ipam *db, int64_t pool, ipam__bulk_row *rows, size_t n,
		     ipam_err *err);
int ipam__resource_import_cidr(ipam *db, int64_t resource, int64_t pool,
			       const ipam_cidr *cidr, const char *alloc_id,
			       ipam_err *err);
/* The name of an allocation the system makes for `owner` (a child pool or
 * a resource id) in `pool`: the id itself, or "<id>_<cidr>" when the id
 * already names one of the pool's allocations. */
int ipam__alloc_owner_name(ipam *db, int64_t pool, const char *owner,
			   const ipam_cidr *cidr, char out[IPAM_NAME_MAX + 1],
			   ipam_err *err);
/* The block a request would take, checked against the pool's family and
 * (check_rules) netmask rules, without taking it: the given CIDR, or the
 * next block of the requested size. */
int ipam__alloc_resolve(ipam *db, const ipam_pool_info *pool,
			const ipam__alloc_spec *spec, ipam_cidr *out,
			ipam_err *err);
/* Frees an allocation by key whatever its type. */
int ipam__alloc_free(ipam *db, int64_t alloc_key, ipam_err *err);
/* The block a request for prefix_len would get now. */
int ipam__alloc_find(ipam *db, const ipam_pool_info *pool, int prefix_len,
		     ipam_cidr *out, ipam_err *err);

/* rules.c */
/* Why `prefix` breaks the pool's netmask rules, or "" if it does not. */
void ipam__netmask_violation(const ipam_pool_info *pool, int prefix, char *out,
			     size_t size);
/* The first tag (by key) that pool `pool` requires and resource `resource`
 * lacks, as "KEY=VALUE" in out: 1 when there is one, 0 when none, or a
 * negative ipam_code. */
int ipam__rule_tag_missing(ipam *db, int64_t pool, int64_t resource, char *out,
			   size_t size, ipam_err *err);
/* Re-evaluates the compliance of every allocation of the pool and its
 * compliant/noncompliant counters. */
int ipam__pool_recheck(ipam *db, int64_t pool, ipam_err *err);

/* scope.c */
int ipam__scope_load_name(ipam *db, const char *name, ipam_scope_info *out,
			  ipam_err *err);

/* tag.c */
int ipam__tags_drop(ipam *db, const char *object_id, ipam_err *err);
json_t *ipam__tags_json(ipam *db, const char *object_id);

/* history.c */
typedef struct ipam__hist_rec {
	int64_t scope_key;
	const ipam_cidr *cidr;
	const char *resource_id;
	const char *resource_type;
	const char *name;
	const char *owner;
	const char *region;
	const char *vpc_id;
	const char *compliance; /* "" when not applicable */
	const char *overlap;
} ipam__hist_rec;
/* history.c: the INSERT of ipam__history_open without its purge and its
 * history floor (the bulk allocator opens its first record with
 * ipam__history_open, the others with this). */
int ipam__history_insert(ipam *db, const ipam__hist_rec *rec, int64_t *out_key,
			 ipam_err *err);
int ipam__history_open(ipam *db, const ipam__hist_rec *rec, int64_t *out_key,
		       ipam_err *err);
/* Ends a record (key 0: nothing to do). */
int ipam__history_close(ipam *db, int64_t key, ipam_err *err);

/* watch.c: the overlap index of a scope and the status of resource CIDRs */
int ipam__scope_prefix_add(ipam *db, int64_t scope, const ipam_cidr *c,
			   int delta, ipam_err *err);
int ipam__scope_refresh_around(ipam *db, int64_t scope, const ipam_cidr *c,
			       ipam_err *err);
/* Adds/removes an entry (kind = resource type or "custom", owner =
 * resource_cidr key or allocation key) and refreshes the overlap status of
 * every resource CIDR it intersects. */
int ipam__scope_cidr_add(ipam *db, int64_t scope, const ipam_cidr *cidr,
			 const char *kind, int64_t owner, ipam_err *err);
int ipam__scope_cidr_remove(ipam *db, int64_t scope, const ipam_cidr *cidr,
			    const char *kind, int64_t owner, ipam_err *err);
/* Recomputes management, compliance and overlap of one resource CIDR and
 * records a change (row, history, allocation flag, pool counters). */
int ipam__rc_refresh(ipam *db, int64_t rc_key, ipam_err *err);
/* Tries to auto-import the given unmanaged resource CIDRs, largest first. */
int ipam__auto_import(ipam *db, const int64_t *rc_keys, size_t count,
		      ipam_err *err);
/* Auto-import of every candidate inside the pool's CIDRs. */
int ipam__auto_import_pool(ipam *db, int64_t pool, ipam_err *err);
/* Space came free in `pool`: retry the candidates it intersects. */
int ipam__auto_import_freed(ipam *db, int64_t pool, const ipam_cidr *cidr,
			    ipam_err *err);
/* Refreshes the resource CIDRs allocated in `pool` (after a rule change). */
int ipam__pool_refresh_resources(ipam *db, int64_t pool, ipam_err *err);

/* discovery.c */
int ipam__discovery_builtins(ipam *db, ipam_err *err);
/* Applies every discovery's last snapshot again (after the operating
 * locales changed). */
int ipam__discoveries_reapply(ipam *db, ipam_err *err);
/* The discovery with that key or name (inside a transaction). */
int ipam__discovery_load_name(ipam *db, const char *name,
			      ipam_discovery_info *out, ipam_err *err);
int ipam__discovery_load_key(ipam *db, int64_t key, ipam_discovery_info *out,
			     ipam_err *err);

/* resource.c: the kinds of things an allocation or a resource is, with one
 * name table (text only at the edges: the database, files, documents). */
typedef enum ipam__rtype {
	IPAM__RT_UNKNOWN = 0,
	IPAM__RT_CUSTOM,	       /* "custom": allocated by hand */
	IPAM__RT_IPAM_POOL,	       /* "ipam-pool": a child pool's CIDR */
	IPAM__RT_VPC,		       /* "vpc" */
	IPAM__RT_SUBNET,	       /* "subnet" */
	IPAM__RT_EIP,		       /* "eip" */
	IPAM__RT_PUBLIC_IPV4_POOL,     /* "public-ipv4-pool" */
	IPAM__RT_INSTANCE,	       /* "instance" */
	IPAM__RT_NETWORK_INTERFACE,    /* "network-interface" */
	IPAM__RT_EC2_PUBLIC_IPV4_POOL, /* "ec2-public-ipv4-pool" (AWS word) */
	/* what IPAM policies steer besides EIPs (L2101-L2104): each takes
	 * public IPv4 addresses (/32) as an EIP does */
	IPAM__RT_ALB,	      /* "alb": an Application Load Balancer */
	IPAM__RT_RDS,	      /* "rds": an RDS database instance */
	IPAM__RT_NAT_GATEWAY, /* "nat-gateway": a regional NAT gateway */
} ipam__rtype;
/* The service types above and eip: their resources take /32s of public
 * IPv4 space and ask the IPAM policy for one when fed without (policy.c). */
bool ipam__rtype_takes_eips(ipam__rtype type);
/* policy.c: a fed resource that needs an address (ipam__res_rec.
 * wants_address, without a CIDR) asks the writer's active policy for a /32
 * as `echo /32 > allocate` does. No active policy: nothing happens (the
 * guide's default). A refusal leaves it without an address and is an
 * `allocate-by-ipam-policy-refused` event; only ENOMEM/EIO fail. */
int ipam__policy_ask(ipam *db, int64_t resource, ipam_err *err);
/* The type a word names (IPAM__RT_UNKNOWN for NULL or any other word). */
ipam__rtype ipam__rtype_of(const char *word);

/* watch.c: the compliance status of a resource CIDR (L2711-L2732), stored
 * as its word in resource_cidr.compliance. */
typedef enum ipam__compliance {
	IPAM__COMP_NONE = 0,	 /* "-": the type is not managed by IPAM */
	IPAM__COMP_COMPLIANT,	 /* "compliant" */
	IPAM__COMP_NONCOMPLIANT, /* "noncompliant" */
	IPAM__COMP_UNMANAGED,	 /* "unmanaged" */
	IPAM__COMP_IGNORED,	 /* "ignored" */
} ipam__compliance;
ipam__compliance ipam__compliance_of(const char *word);
const char *ipam__compliance_name(ipam__compliance status);

/* resource.c: snapshot records applied by discoveries */
typedef struct ipam__res_rec {
	char id[IPAM_RESOURCE_ID_MAX + 1];
	char type[24];
	char name[IPAM_TAG_VALUE_MAX + 1];
	char region[IPAM_LOCALE_MAX + 1];
	char owner[IPAM_RESOURCE_ID_MAX + 1];
	char vpc_id[IPAM_RESOURCE_ID_MAX + 1];
	bool has_active_ips;
	ipam_u128 active_ips;
	ipam_cidr *cidrs;
	size_t ncidrs;
	json_t *tags; /* object key -> string value */
	/* public addresses (insights.c): what an EIP is associated with or
	 * an interface attached to, its IpamPublicAddressType and service
	 * words ("" = unknown) */
	char association[IPAM_RESOURCE_ID_MAX + 1];
	char address_type[24];
	char service[32];
	/* a record of a type IPAM policies steer (eip, alb, rds,
	 * nat-gateway) fed without a CIDR: it needs an address
	 * (ipam__policy_ask); the CIDRs a pool gave it are kept */
	bool wants_address;
} ipam__res_rec;
/* insights.c: the public IP metrics and public IP insight metrics of
 * /metrics/ipam.prom (Prometheus text). */
int ipam__public_metrics(ipam *db, ipam__buf *buf, ipam_err *err);
/* The kept public IP counts (view/insights.c): settles what the schema's
 * triggers marked (at every commit); checks them against a recount. */
int ipam__public_settle(ipam *db, ipam_err *err);
int ipam__public_check(ipam *db, ipam_err *err);
/* insights.c: stores a discovered resource's association, address type
 * and service when they differ from what `res` holds. */
int ipam__public_sync(ipam *db, const ipam_resource_info *res,
		      const ipam__res_rec *rec, ipam_err *err);
/* Creates or updates a discovered resource to match rec; appends the keys
 * of new unmanaged CIDRs to *fresh for auto-import. */
int ipam__resource_apply(ipam *db, int64_t scope, int64_t discovery,
			 const ipam__res_rec *rec, int64_t *out_key,
			 int64_t **fresh, size_t *nfresh, ipam_err *err);
/* Moves any resource to another scope, giving back its pool space. */
int ipam__resource_rescope(ipam *db, int64_t resource, int64_t scope,
			   ipam_err *err);
int ipam__resource_remove(ipam *db, int64_t resource, ipam_err *err);
/* eip.c: 0 when `value` may be the association of resource `res` (an EIP;
 * "" or an i-/eni- id), else IPAM_EINVAL. */
int ipam__eip_association_check(const ipam_resource_info *res,
				const char *value, ipam_err *err);
/* eip.c: an EIP's address (its first CIDR) and where it came from: the
 * IPAM pool's id and public-ip-source for a managed one, the public IPv4
 * pool's id and "byoip" for one inside such a pool, "" and "" otherwise.
 * 1 found, 0 no CIDR, <0 error. */
int ipam__eip_source(ipam *db, const ipam_resource_info *res, ipam_cidr *addr,
		     char *pool_id, size_t size, char *ip_source,
		     size_t src_size, ipam_err *err);
/* eip.c: the block an EIP (a /32) or public IPv4 pool (/24 to /32 of a
 * public IPv4 pool, L5991) gets from IPAM pool `p`; IPAM_EINVAL else. */
int ipam__eip_block_check(const ipam_resource_info *res,
			  const ipam_pool_info *p, const ipam_cidr *block,
			  ipam_err *err);
/* eip.c: IPAM_EBUSY when `res` is a public IPv4 pool and an EIP of its
 * scope lies in `cidr` (NULL: in any of its CIDRs); 0 otherwise. */
int ipam__eip_pool_busy(ipam *db, const ipam_resource_info *res,
			const ipam_cidr *cidr, ipam_err *err);
int ipam__resource_load(ipam *db, int64_t key, ipam_resource_info *out,
			ipam_err *err);
/* watch.c: like ipam__rc_refresh, but always starts a new history record
 * (the resource's name, owner or region changed). */
int ipam__rc_restart(ipam *db, int64_t rc_key, ipam_err *err);

/* report.c: the "IPs allocated" of a resource's CIDRs (L2733): numerator
 * and denominator, or false when not applicable (subnets without a count,
 * instances, interfaces, IPv6 subnets). */
bool ipam__ip_usage(ipam *db, const ipam_resource_info *res,
		    const ipam_cidr *cidr, ipam_u128 *used, ipam_u128 *total);

/* prefixlist.c, plcover.c: prefix-list resolvers follow their inputs in
 * the transaction that changes them. An allocation was made (present) or
 * is going; a resource CIDR changed or is gone; the transaction is about
 * to commit (versions of the changed resolvers). */
int ipam__plist_alloc(ipam *db, int64_t alloc_key, bool present, ipam_err *err);
/* 1 when a prefix-list resolver has a pool rule in `scope` for `family`
 * (ipam__plist_alloc may then add a new allocation to it), else 0. */
int ipam__plist_watches_allocs(ipam *db, int64_t scope, int family,
			       ipam_err *err);
int ipam__plist_rc(ipam *db, int64_t rc_key, ipam_err *err);
int ipam__plist_rc_gone(ipam *db, int64_t rc_key, ipam_err *err);
int ipam__plist_settle(ipam *db, ipam_err *err);

/* policy.c: IPAM_EBUSY naming the policy and rule when pool p is one of
 * a policy rule's pools (a pool cannot go while a policy sends requests
 * to it). */
int ipam__policy_pool_check(ipam *db, const ipam_pool_info *p, ipam_err *err);
/* resource.c: ipam_resource_allocate inside the caller's transaction, the
 * allocation taking `description` (the policy that chose the pool). */
int ipam__resource_allocate(ipam *db, int64_t resource, int64_t pool,
			    const ipam_cidr *cidr, int prefix_len,
			    const char *description, ipam_cidr *out,
			    ipam_err *err);

#endif /* IPAM_INTERNAL_H */
