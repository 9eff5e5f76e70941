/*
 * store.h - the storage seam: the one interface between libipam and a
 * database engine (docs/design/store.md).
 *
 * Model code speaks a small statement-level interface: a statement is
 * prepared from an SQL string literal (cached per handle, keyed by the
 * literal's address), bound by 1-based parameter index, stepped to rows,
 * read by 0-based column index, and reset. Transactions and savepoints are
 * opened by the call brackets of internal.h, which run their control
 * statements through the same interface. Nothing outside core/store/ names
 * an engine: no file there includes an engine's header.
 *
 * An engine is a driver: a table of functions in the style of libgit2's
 * git_odb_backend / git_refdb_backend (include/git2/sys/odb_backend.h). A
 * driver's connection and statement structures begin with the public
 * `ipam_store` / `ipam_stmt` headers below, which carry the driver table,
 * so one call dispatches to the engine that made the object. A driver
 * maps its errors to ipam_code: out of memory is IPAM_ENOMEM, a busy or
 * locked database IPAM_EBUSY, a broken constraint IPAM_EEXIST, a damaged
 * or foreign database IPAM_ESCHEMA, anything else IPAM_EIO.
 *
 * What differs between engines beyond statements (opening and locking the
 * database, its schema and migrations, change-time stamping, the remove
 * notification, integrity check, sync and backup) are driver functions
 * too; model code never sees them.
 */
#ifndef IPAM_STORE_H
#define IPAM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipam.h"

typedef struct ipam_store_driver ipam_store_driver;

/* A connection to a database; an engine's own structure begins with it. */
typedef struct ipam_store {
	const ipam_store_driver *driver;
} ipam_store;

/* A prepared statement; an engine's own structure begins with it. */
typedef struct ipam_stmt {
	const ipam_store_driver *driver;
} ipam_stmt;

/* The type of a column's value in the current row. */
typedef enum ipam_coltype {
	IPAM_COL_NULL = 0,
	IPAM_COL_INT,
	IPAM_COL_FLOAT,
	IPAM_COL_TEXT,
	IPAM_COL_BLOB,
} ipam_coltype;

/* What a step gives: a row, the end, or (negative) an ipam_code. */
#define IPAM_ROW 1
#define IPAM_DONE 0

/* The remove notification: a row of `table` with primary key `key` was
 * deleted in the current transaction. */
typedef void (*ipam_store_delete_fn)(void *ctx, const char *table, int64_t key);
/* The change stamp of the current transaction (docs/design/times.md):
 * what SQL calls ipam_stamp() in the change-time triggers. */
typedef int64_t (*ipam_store_stamp_fn)(void *ctx);

/* How a database is opened (from ipam_open_opts). */
typedef struct ipam_store_open {
	const char *path;	 /* what the user named: a file for SQLite */
	bool create;		 /* create it when missing */
	bool in_memory;		 /* a private in-memory database (tests) */
	bool skip_check;	 /* no integrity check at open */
	bool sync_normal;	 /* durability of ipam_open_opts.sync_normal */
	const char *home_locale; /* checked before a file is created */
} ipam_store_open;

/*
 * An engine. Every function is required. `err` may be NULL; functions
 * returning int return 0 or a negative ipam_code with err filled.
 */
struct ipam_store_driver {
	const char *name; /* "sqlite" */

	/* ---- connection ---- */
	/* Closes the connection and frees it; `discard`: also remove the
	 * database if this connection created it (the open failed later). */
	void (*close)(ipam_store *store, bool discard);
	/* Runs a script of statements without parameters or rows. */
	int (*exec)(ipam_store *store, const char *script, ipam_err *err);
	/* The engine's last error as an ipam_code and message. */
	int (*error)(ipam_store *store, ipam_err *err);
	/* Whether a transaction is open (an engine may undo one by itself
	 * after an I/O or memory error). */
	bool (*in_transaction)(ipam_store *store);
	/* Rows changed by the last INSERT/UPDATE/DELETE; the key the last
	 * INSERT gave its row. */
	int64_t (*changes)(ipam_store *store);
	int64_t (*last_insert_id)(ipam_store *store);

	/* ---- statements ---- */
	int (*prepare)(ipam_store *store, const char *sql, ipam_stmt **out,
		       ipam_err *err);
	void (*finalize)(ipam_stmt *stmt);
	/* IPAM_ROW, IPAM_DONE or a negative ipam_code (err filled). */
	int (*step)(ipam_stmt *stmt, ipam_err *err);
	/* Back to before the first step, bindings cleared. */
	void (*reset)(ipam_stmt *stmt);
	/* 0, or IPAM_ENOMEM (or IPAM_EINVAL for a bad index). Text and blobs
	 * are copied. */
	int (*bind_int64)(ipam_stmt *stmt, int idx, int64_t value);
	int (*bind_text)(ipam_stmt *stmt, int idx, const char *text, int n);
	int (*bind_blob)(ipam_stmt *stmt, int idx, const void *blob, int n);
	int (*bind_null)(ipam_stmt *stmt, int idx);
	/* Columns of the current row; text and blobs stay valid until the
	 * next step or reset. NULL text/blob for SQL NULL, or when memory ran
	 * out (then the type is not IPAM_COL_NULL). */
	int64_t (*col_int64)(ipam_stmt *stmt, int col);
	const char *(*col_text)(ipam_stmt *stmt, int col);
	const void *(*col_blob)(ipam_stmt *stmt, int col);
	int (*col_bytes)(ipam_stmt *stmt, int col);
	ipam_coltype (*col_type)(ipam_stmt *stmt, int col);

	/* ---- schema ---- */
	/* The version the database's schema has (0: empty, ours to fill). */
	int (*schema_version)(ipam_store *store, int64_t *out, ipam_err *err);
	/* Inside the migration's transaction: brings the schema from
	 * `version` to `to` (the DDL is the engine's) and records `to`. */
	int (*migrate)(ipam_store *store, int64_t version, int64_t to,
		       ipam_err *err);
	/* After migration: the per-connection pieces of the change-time
	 * machinery (docs/design/times.md): `stamp` is what ipam_stamp()
	 * gives inside a statement. */
	int (*session)(ipam_store *store, ipam_store_stamp_fn stamp, void *ctx,
		       ipam_err *err);
	/* Inside a transaction: `hold` stops the per-row change-time work
	 * of an allocation, a history record and a change event inserted
	 * (the bulk allocator stamps its rows and bumps the pool, scope and
	 * IPAM itself); !hold starts it again. A rollback past a hold undoes
	 * it. (SQLite: drops and makes again three TEMP triggers.) */
	int (*hold_row_triggers)(ipam_store *store, bool hold, ipam_err *err);
	/* NULL to stop. Called for every row of a table that the engine
	 * deletes, before the transaction commits. */
	void (*set_delete_hook)(ipam_store *store, ipam_store_delete_fn fn,
				void *ctx);

	/* ---- whole database ---- */
	int (*check)(ipam_store *store, ipam_err *err);
	int (*sync)(ipam_store *store, ipam_err *err);
	/* Inside a read transaction: a consistent copy that opens on its
	 * own (malloc'd). */
	int (*backup)(ipam_store *store, unsigned char **out, size_t *len,
		      ipam_err *err);
	/* What backup would return now, in bytes (0 when unknown). */
	int64_t (*size)(ipam_store *store);

	/* ---- other writers (NULL: the engine has none, SQLite) ---- */
	/* Waits up to timeout_ms for changes other connections committed
	 * (PostgreSQL: LISTEN on a connection of its own, used by this call
	 * alone, so it runs without the core lock): 1 some came (*last: the
	 * newest event they named, or 0; `removed`, when not NULL, called
	 * for every row of the delete hook's tables they deleted, or with
	 * table NULL when they may have deleted anything), 0 none, 2 the
	 * listening connection was made again (notifications may have been
	 * missed: anything may have changed), IPAM_EIO it is lost (err says
	 * why; the next call connects again). An engine with this function
	 * learns the rows its own transactions delete through the delete
	 * hook, which libipam keeps set (other connections need them). */
	int (*wait_others)(ipam_store *store, int timeout_ms, int64_t *last,
			   ipam_store_delete_fn removed, void *ctx,
			   ipam_err *err);
};

/* The SQLite engine (core/store/sqlite.c): refuses what is not an ipamfs
 * database before writing a byte, takes the file for this handle alone. */
int ipam__sqlite_open(ipam_store **out, const ipam_store_open *how,
		      ipam_err *err);
/* The number of schema versions the SQLite engine knows. */
int ipam__sqlite_schema_count(void);

/* ---- the statement interface of model code ---- */

/* Binding: 0, or a negative ipam_code; a failure also raises ipam__oom
 * (internal.h), which turns the call into IPAM_ENOMEM. */
int ipam__bind_int64(ipam_stmt *stmt, int idx, int64_t value);
int ipam__bind_int(ipam_stmt *stmt, int idx, int value);
int ipam__bind_text(ipam_stmt *stmt, int idx, const char *text, int n);
int ipam__bind_blob(ipam_stmt *stmt, int idx, const void *blob, int n);
int ipam__bind_null(ipam_stmt *stmt, int idx);

int64_t ipam__col_int64(ipam_stmt *stmt, int col);
int ipam__col_int(ipam_stmt *stmt, int col);
/* NULL for SQL NULL; NULL for a non-NULL value raises ipam__oom. */
const char *ipam__col_text(ipam_stmt *stmt, int col);
const void *ipam__col_blob(ipam_stmt *stmt, int col);
int ipam__col_bytes(ipam_stmt *stmt, int col);
ipam_coltype ipam__col_type(ipam_stmt *stmt, int col);

/* Steps without the guards of ipam__step (internal.h): IPAM_ROW,
 * IPAM_DONE or a negative ipam_code. */
int ipam__step_stmt(ipam_stmt *stmt);
void ipam__reset(ipam_stmt *stmt);

#endif /* IPAM_STORE_H */
