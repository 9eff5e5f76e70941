/*
 * pg.h - the PostgreSQL engine of the storage seam (pg.c,
 * docs/design/pg.md). Built when libpq is found (IPAMFS_HAVE_PG).
 */
#ifndef IPAM_STORE_PG_H
#define IPAM_STORE_PG_H

#include "store.h"

/* Connects to the database a libpq connection string or postgresql://
 * URI names; every transaction of the connection is SERIALIZABLE.
 * IPAM_EIO when the server cannot be reached. */
int ipam__pg_open(ipam_store **out, const char *dsn, ipam_err *err);
/* The schema version the PostgreSQL schema reaches. */
int ipam__pg_schema_count(void);
/* `sql` with `?N`/`?` placeholders as `$N` (malloc'd; NULL when out of
 * memory); *count is the largest N. */
char *ipam__pg_placeholders(const char *sql, int *count);

/* Test hook (tests/unit/test_pg_store.c only): the next COMMIT of
 * `store` is sent, then the connection is cut (shutdown(2) of its
 * socket) before its answer is read, as when the server or the network
 * goes away at that instant (docs/design/pg.md, "Losing the
 * connection"). */
void ipam__pg_test_drop_after_commit(ipam_store *store);

#endif /* IPAM_STORE_PG_H */
