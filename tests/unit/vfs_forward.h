/*
 * vfs_forward.h - the sqlite3_io_methods that a test VFS shim passes
 * straight to the real file: size, locks, file control, sector size.
 *
 * Included by a shim (test_io.c, test_powerloss.c) after it defines
 * REAL(f), the real sqlite3_file behind its own; the shim writes the
 * methods it changes (read, write, sync, device characteristics) itself.
 */
#ifndef IPAM_TEST_VFS_FORWARD_H
#define IPAM_TEST_VFS_FORWARD_H

#include <sqlite3.h>

static int shim_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int shim_lock(sqlite3_file *f, int level)
{
	return REAL(f)->pMethods->xLock(REAL(f), level);
}

static int shim_unlock(sqlite3_file *f, int level)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), level);
}

static int shim_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int shim_file_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int shim_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

#endif
