#!/bin/bash
# 74-ram.sh - the RAM rule (L563, L2289; issue 10 §5): with
# `-o allow_other,default_permissions`, a resource whose owner may not
# write a pool cannot allocate from it, even when root writes the request.
# A hand-made resource is owned by the uid that made it. Real non-root
# user: nobody (65534), as 12-permissions.sh.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	echo "1..0 # SKIP needs root and setpriv (util-linux)"
	exit 77
fi
NOBODY=65534
as_nobody() {
	timeout "$TIMEOUT" setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"
}

mount_ipamfs -o allow_other,default_permissions
mkpool private top 10.0.0.0/16
TOP=$POOL
expect_ok wr "$TOP/allocation-default-netmask-length" 24
expect_eq "$(t stat -c '%a %u' "$TOP")" "755 0" "the pool is root's, mode 755"
ID=$(idof "$TOP")
R=$MNT/scopes/private/resources

# a resource made by root is root's: it allocates
expect_ok mkdir "$R/vpc-root"
expect_file_eq "$R/vpc-root/owner" 0 "a hand-made resource is owned by its maker"
expect_ok wr "$R/vpc-root/allocate" "$ID"

# a resource owned by nobody: root's request is refused (EACCES)
expect_ok mkdir "$R/vpc-nb"
expect_ok wr "$R/vpc-nb/owner" $NOBODY
expect_errno EACCES wr "$R/vpc-nb/allocate" "$ID"
expect_match "$(errors_last)" "resource 'vpc-nb' is owned by uid 65534, which may not use pool 'top'" \
	"the reason names the owner and the pool"
expect_file_empty "$R/vpc-nb/cidrs"
expect_eq "$(nalloc "$TOP")" 1 "nothing was allocated"

# nobody makes its own resource in a scope it may write: owned by nobody,
# and the root pool stays closed to it
expect_ok chmod 0777 "$MNT/scopes/private"
expect_ok as_nobody mkdir "$R/vpc-nb2"
expect_file_eq "$R/vpc-nb2/owner" $NOBODY "nobody's resource is nobody's"
expect_errno_kernel EACCES as_nobody bash -c 'echo "$2" > "$1"' x "$R/vpc-nb2/allocate" "$ID"

# the pool shared with nobody (chmod o+w, then chown): allowed
expect_ok chmod 0757 "$TOP"
expect_ok wr "$R/vpc-nb/allocate" "$ID"
expect_ok chmod 0755 "$TOP"
expect_ok chown $NOBODY "$TOP"
expect_ok as_nobody bash -c 'echo "$2" > "$1"' x "$R/vpc-nb2/allocate" "$ID"
expect_eq "$(nalloc "$TOP")" 3 "three resource allocations"
# an owner that is no local uid (an AWS account id) counts as the scope's
# owner (root), as auto-import decides
expect_ok mkdir "$R/vpc-acct"
expect_ok wr "$R/vpc-acct/owner" 111122223333
expect_errno EACCES wr "$R/vpc-acct/allocate" "$ID"
expect_ok chown 0 "$TOP"
expect_ok wr "$R/vpc-acct/allocate" "$ID"
# root's resource in nobody's pool: root is no exception (the owner class
# of the pool is nobody's)
expect_ok chown $NOBODY "$TOP"
expect_errno EACCES wr "$R/vpc-root/allocate" "$ID"
expect_ok chown 0 "$TOP"
finish
