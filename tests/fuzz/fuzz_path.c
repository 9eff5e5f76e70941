/*
 * fuzz_path.c - libFuzzer harness of the path resolver (fs/tree.c): each
 * input is one path, resolved against a mount holding the fixture of
 * fsfix.c, then used as `ls -l`, `cat` and `readlink` would use it:
 * pool and allocation names, by-id links, preview/<len>, history queries
 * (history/<CIDR>[@WINDOW][.json]), tags, and everything malformed.
 * Nothing here changes the IPAM, so the fixture is built once. Only paths
 * the kernel can send are tried (fsfix_kernel_path).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "files.h"
#include "fsfix.h"
#include "ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct stat st;
	struct node n;
	char link[4096];
	char *path;

	if (!ready) {
		fsfix_reset();
		ready = true;
	}
	if (size > 8192 || memchr(data, '\0', size))
		return 0;
	path = malloc(size + 2);
	if (!path)
		return 0;
	path[0] = '/';
	memcpy(path + 1, data, size);
	path[size + 1] = '\0';
	if (fsfix_kernel_path(path) && ops_stat(path, NULL, &st, &n) == 0) {
		if (node_is_dir(&n))
			fsfix_list(path);
		else if (n.kind == NODE_LINK)
			ops_readlink(path, link, sizeof(link));
		else if (!(n.attr->flags & (ATTR_WO | ATTR_EVENTS)))
			fsfix_read(path);
	}
	free(path);
	return 0;
}
