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

#endif /* IPAM_STORE_PG_H */
