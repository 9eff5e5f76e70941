/*
 * sqlite.h - what the SQLite engine shows beyond store.h: its connection
 * handle, for tests and benchmarks that work below the seam (the fuzz
 * fixture swaps database images with sqlite3_deserialize). Model code
 * never includes it.
 */
#ifndef IPAM_STORE_SQLITE_H
#define IPAM_STORE_SQLITE_H

#include "store.h"

struct sqlite3;
/* The sqlite3 handle of a SQLite connection, NULL for another engine. */
struct sqlite3 *ipam__sqlite_handle(ipam_store *store);

#endif /* IPAM_STORE_SQLITE_H */
