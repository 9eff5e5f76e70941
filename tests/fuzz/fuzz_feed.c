/*
 * fuzz_feed.c - libFuzzer harness of the discovery feed parser and its
 * application (core/discover/feed.c, core/discover/discovery.c): each input is a snapshot
 * written to discoveries/default/feed in one descriptor (JSON lines, or
 * the output of aws ec2 describe-vpcs/-subnets/-addresses), applied at
 * close, on a fresh in-memory mount whose pools auto-import. Also parsed
 * on its own by ipam__feed_parse. After it, the database must pass PRAGMA
 * integrity_check and the resource views must render.
 */
#include <stdio.h>
#include <stdlib.h>

#include "feed.h"
#include "fsfix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ipam_err err = {IPAM_OK, ""};
	ipam__feed feed;

	if (ipam__feed_parse(&feed, (const char *)data, size, "us-east-1",
			     &err) == 0)
		ipam__feed_free(&feed);
	else if (!err.msg[0])
		abort(); /* a refusal always gives a reason */

	fsfix_reset();
	fsfix_write("/discoveries/default/feed", (const char *)data, size);
	if (ipam_check(fsfix.db, &err) != 0) {
		fprintf(stderr, "integrity_check: %s\n", err.msg);
		abort();
	}
	fsfix_read("/scopes/private/resources.json");
	fsfix_read("/discoveries/default/resources.json");
	fsfix_read("/scopes/private/pools/top/allocations.json");
	fsfix_read("/scopes/private/status");
	return 0;
}
