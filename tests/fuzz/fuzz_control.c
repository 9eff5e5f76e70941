/*
 * fuzz_control.c - libFuzzer harness of every control file and of the path
 * resolver: each input is a short script of file operations (see fsfix.c
 * for its format) run against a fresh in-memory mount holding pools,
 * allocations, a resource and a discovery. Reaches the allocate lines,
 * cidrs +/-//N lines, tags, netmask and rule files, operating locales,
 * quotas, history path queries, renames and chmod, as a process would.
 *
 * After the script, the database must pass PRAGMA integrity_check and
 * every view of the fixture's pool must still render.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fsfix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ipam_err err = {IPAM_OK, ""};
	fsfix_reset();
	fsfix_run((const char *)data, size);
	if (ipam_check(fsfix.db, &err) != 0) {
		fprintf(stderr, "integrity_check: %s\n", err.msg);
		abort();
	}
	fsfix_read("/scopes/private/pools/top/status");
	fsfix_read("/scopes/private/pools/top/allocations.json");
	fsfix_read("/events");
	fsfix_read("/errors");
	return 0;
}
