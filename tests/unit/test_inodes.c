/*
 * test_inodes.c - the nodeid table of the FUSE layer (fs/inodes.c): one
 * nodeid per path while the kernel holds it, freed and reused at FORGET,
 * a new nodeid when the path names another object, renames of subtrees,
 * the names of a deleted object, and the touched set.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inodes.h"

static uint64_t look(struct inodes *t, uint64_t parent, const char *path,
		     ipam_kind kind, int64_t key, bool *fresh)
{
	uint64_t ino = 0, generation = 0;
	bool was_fresh = false;
	assert_int_equal(inodes_lookup(t, parent, path, kind, key, &ino,
				       &generation, &was_fresh),
			 0);
	if (fresh)
		*fresh = was_fresh;
	return ino;
}

static void assert_path(struct inodes *t, uint64_t ino, const char *want)
{
	int err = 0;
	char *path = inodes_path(t, ino, &err);
	assert_int_equal(err, 0);
	assert_non_null(path);
	assert_string_equal(path, want);
	free(path);
}

static void test_same_path_same_nodeid_until_forgotten(void **state)
{
	struct inodes t;
	bool fresh = false;
	int err = 0;
	(void)state;
	assert_int_equal(inodes_init(&t), 0);
	assert_path(&t, INODES_ROOT, "/");

	uint64_t a = look(&t, 1, "/scopes", IPAM_KIND_IPAM, 0, &fresh);
	assert_true(fresh);
	assert_true(a > INODES_ROOT);
	assert_int_equal(look(&t, 1, "/scopes", IPAM_KIND_IPAM, 0, &fresh), a);
	assert_false(fresh);
	assert_path(&t, a, "/scopes");

	/* two lookups: the first forget keeps it, the second frees it */
	inodes_forget(&t, a, 1);
	assert_path(&t, a, "/scopes");
	inodes_forget(&t, a, 1);
	assert_null(inodes_path(&t, a, &err));
	assert_int_equal(err, -ESTALE);

	/* the root is never forgotten */
	inodes_forget(&t, INODES_ROOT, 1000);
	assert_path(&t, INODES_ROOT, "/");

	/* a freed nodeid is reused, with a new generation */
	uint64_t b = look(&t, 1, "/ipam", IPAM_KIND_IPAM, 0, &fresh);
	assert_true(fresh);
	assert_int_equal(b, a);
	inodes_free(&t);
}

static void test_many_inodes(void **state)
{
	struct inodes t;
	char path[64];
	(void)state;
	assert_int_equal(inodes_init(&t), 0);
	uint64_t *inos = calloc(20000, sizeof(*inos));
	assert_non_null(inos);
	for (int i = 0; i < 20000; i++) {
		snprintf(path, sizeof(path), "/a/%d", i);
		inos[i] = look(&t, 1, path, IPAM_KIND_ALLOCATION, i + 1, NULL);
	}
	for (int i = 0; i < 20000; i += 997) {
		snprintf(path, sizeof(path), "/a/%d", i);
		assert_int_equal(
			look(&t, 1, path, IPAM_KIND_ALLOCATION, i + 1, NULL),
			inos[i]);
		assert_path(&t, inos[i], path);
	}
	free(inos);
	inodes_free(&t);
}

static void test_other_object_other_nodeid(void **state)
{
	struct inodes t;
	bool fresh = false;
	(void)state;
	assert_int_equal(inodes_init(&t), 0);
	uint64_t p1 = look(&t, 1, "/p", IPAM_KIND_POOL, 7, NULL);
	/* the same name now shows pool 8 (7 deleted, 8 made) */
	uint64_t p2 = look(&t, 1, "/p", IPAM_KIND_POOL, 8, &fresh);
	assert_true(fresh);
	assert_int_not_equal(p1, p2);
	assert_path(&t, p1, "/p"); /* the kernel still holds the old one */
	assert_int_equal(look(&t, 1, "/p", IPAM_KIND_POOL, 8, &fresh), p2);
	assert_false(fresh);

	/* unhashed: the next lookup makes a new nodeid */
	inodes_unhash(&t, "/p");
	assert_int_not_equal(look(&t, 1, "/p", IPAM_KIND_POOL, 8, NULL), p2);
	inodes_free(&t);
}

static void test_object_refs(void **state)
{
	struct inodes t;
	struct dentry_ref *refs = NULL;
	size_t n = 0;
	(void)state;
	assert_int_equal(inodes_init(&t), 0);
	uint64_t dir = look(&t, 1, "/s/allocations", IPAM_KIND_IPAM, 0, NULL);
	uint64_t web = look(&t, dir, "/s/allocations/web", IPAM_KIND_ALLOCATION,
			    42, NULL);
	look(&t, dir, "/s/allocations/db", IPAM_KIND_ALLOCATION, 43, NULL);
	look(&t, 1, "/p", IPAM_KIND_POOL, 42, NULL); /* same key, other kind */

	assert_int_equal(
		inodes_object_refs(&t, IPAM_KIND_ALLOCATION, 42, &refs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(refs[0].parent, dir);
	assert_string_equal(refs[0].name, "web");
	assert_string_equal(refs[0].path, "/s/allocations/web");
	/* it is unhashed: asked again, nothing; looked up, a new nodeid */
	assert_int_equal(
		inodes_object_refs(&t, IPAM_KIND_ALLOCATION, 42, &refs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_not_equal(look(&t, dir, "/s/allocations/web",
				  IPAM_KIND_ALLOCATION, 42, NULL),
			     web);
	inodes_refs_free(refs, n);

	/* everything that shows an object */
	refs = NULL;
	n = 0;
	assert_int_equal(inodes_object_refs(&t, IPAM_KIND_IPAM, 0, &refs, &n),
			 0);
	assert_int_equal(n, 3); /* web (new), db, /p; not allocations/ */
	inodes_refs_free(refs, n);
	inodes_free(&t);
}

static void test_rename_moves_the_subtree(void **state)
{
	struct inodes t;
	(void)state;
	assert_int_equal(inodes_init(&t), 0);
	uint64_t a = look(&t, 1, "/a", IPAM_KIND_IPAM, 0, NULL);
	uint64_t b = look(&t, 1, "/b", IPAM_KIND_IPAM, 0, NULL);
	uint64_t x = look(&t, a, "/a/x", IPAM_KIND_RESOURCE, 1, NULL);
	uint64_t f = look(&t, x, "/a/x/tags", IPAM_KIND_IPAM, 0, NULL);
	uint64_t xy = look(&t, a, "/a/xy", IPAM_KIND_IPAM, 0, NULL);
	assert_int_equal(inodes_rename(&t, "/a/x", "/b/x", b), 0);
	assert_path(&t, x, "/b/x");
	assert_path(&t, f, "/b/x/tags");
	assert_path(&t, xy, "/a/xy"); /* a prefix of the name is not under */
	assert_int_equal(look(&t, b, "/b/x", IPAM_KIND_RESOURCE, 1, NULL), x);

	struct dentry_ref *refs = NULL;
	size_t n = 0;
	assert_int_equal(
		inodes_object_refs(&t, IPAM_KIND_RESOURCE, 1, &refs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(refs[0].parent, b);
	assert_string_equal(refs[0].name, "x");
	inodes_refs_free(refs, n);
	inodes_free(&t);
}

static void test_touched_set(void **state)
{
	struct inodes t;
	size_t n = 99;
	(void)state;
	assert_int_equal(inodes_init(&t), 0);
	assert_null(inodes_take_touched(&t, &n));
	assert_int_equal(n, 0);
	uint64_t a = look(&t, 1, "/a", IPAM_KIND_IPAM, 0, NULL);
	uint64_t b = look(&t, 1, "/b", IPAM_KIND_IPAM, 0, NULL);
	assert_true(inodes_touch(&t, a));
	assert_true(inodes_touch(&t, a)); /* once in the set */
	assert_true(inodes_touch(&t, b));
	assert_false(inodes_touch(&t, 9999)); /* unknown */
	uint64_t *list = inodes_take_touched(&t, &n);
	assert_int_equal(n, 2);
	assert_int_equal(list[0], a);
	assert_int_equal(list[1], b);
	free(list);
	assert_null(inodes_take_touched(&t, &n)); /* taken: empty */
	assert_true(inodes_touch(&t, b));
	list = inodes_take_touched(&t, &n);
	assert_int_equal(n, 1);
	free(list);
	inodes_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_path_same_nodeid_until_forgotten),
		cmocka_unit_test(test_many_inodes),
		cmocka_unit_test(test_other_object_other_nodeid),
		cmocka_unit_test(test_object_refs),
		cmocka_unit_test(test_rename_moves_the_subtree),
		cmocka_unit_test(test_touched_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
