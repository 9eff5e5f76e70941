/*
 * files_planning.c - the files of resource planning (SPEC §8.5,
 * docs/design/planning.md): a pool's `source-resource` and `delete`
 * (cascade), an allocation's host record (`dns-name`, `mac-address`) and
 * its one-line `allocation.json`. libipam does the work; nothing here knows
 * about FUSE or errno.
 */
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "ipamfs.h"
#include "values.h"

int files_render_source_resource(struct ipamfs *fs, const struct node *n,
				 const struct attr *a, struct buf *out,
				 ipam_err *err)
{
	ipam_pool_info *info = malloc(sizeof(*info));
	if (!info)
		return oom(err);
	int rc = ipam_pool_get(fs->db, n->pool_key, info, err);
	if (rc == 0)
		put_line(out, info->plan_vpc);
	free(info);
	return rc;
}

/* `vpc-0abc` makes the pool plan that VPC's space; an empty write plans
 * within the scope again. */
int files_apply_source_resource(struct ipamfs *fs, const struct node *n,
				const struct attr *a, const struct input *in,
				struct buf *result, ipam_err *err)
{
	char *text = NULL;
	int rc = single_word(in, &text, err);
	return rc ? rc
		  : ipam_pool_set_source_resource(fs->db, n->pool_key, text,
						  err);
}

/* `cascade`: delete-ipam-pool --cascade. */
int files_apply_pool_delete(struct ipamfs *fs, const struct node *n,
			    const struct attr *a, const struct input *in,
			    struct buf *result, ipam_err *err)
{
	char *text = NULL;
	int rc = single_word(in, &text, err);
	if (rc)
		return rc;
	if (strcmp(text, "cascade"))
		return ipamfs_err(err, IPAM_EINVAL,
				  "expected 'cascade' (delete the pool, its "
				  "child pools, allocations and CIDRs; rmdir "
				  "deletes an empty pool)");
	return ipam_pool_delete_cascade(fs->db, n->pool_key, err);
}

int files_render_host(struct ipamfs *fs, const struct node *n,
		      const struct attr *a, struct buf *out, ipam_err *err)
{
	ipam_alloc_info *info = malloc(sizeof(*info));
	if (!info)
		return oom(err);
	int rc = ipam_alloc_get(fs->db, n->pool_key, n->name, info, err);
	if (rc == 0)
		put_line(out, a->arg == IPAM_HOST_DNS_NAME ? info->dns_name
							   : info->mac_address);
	free(info);
	return rc;
}

int files_apply_host(struct ipamfs *fs, const struct node *n,
		     const struct attr *a, const struct input *in,
		     struct buf *result, ipam_err *err)
{
	char *text = NULL;
	int rc = single_word(in, &text, err);
	return rc ? rc
		  : ipam_alloc_set_host(fs->db, n->pool_key, n->name,
					(ipam_host_field)a->arg, text, err);
}

int files_render_alloc_json(struct ipamfs *fs, const struct node *n,
			    const struct attr *a, struct buf *out,
			    ipam_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = ipam_render_allocation_json(fs->db, n->pool_key, n->name,
					     &data, &len, err);
	return put_rendered(out, rc, data, len);
}
