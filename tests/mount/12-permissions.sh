#!/bin/bash
# 12-permissions: permissions as sharing (SPEC §8.5) with
# `-o allow_other,default_permissions`: root creates a pool, nobody (65534)
# can read it but not allocate from it (EACCES) until the pool is chown'd to
# nobody; chmod 0700 hides it; what nobody creates is owned by nobody; chmod
# and chown persist across a remount.
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
mkpool private shared 10.0.0.0/24
S=$POOL
expect_ok wr "$S/allocation-default-netmask-length" 28
expect_ok chmod 0755 "$S"
expect_eq "$(t stat -c '%a %u' "$S")" "755 0" "the pool is root's, mode 755"

# nobody reads
expect_eq "$(as_nobody cat "$S/cidrs" 2>&1)" 10.0.0.0/24 "nobody can cat cidrs"
expect_match "$(as_nobody cat "$S/status" 2>&1)" '(^|'$'\n'')total-addresses=256' "nobody can cat status"
as_nobody ls "$S/allocations" >/dev/null 2>&1
check $? "nobody can ls allocations"

# nobody cannot change a root pool
expect_errno_kernel EACCES as_nobody bash -c 'echo "x /28" > "$1"' x "$S/allocate"
expect_errno_kernel EACCES as_nobody mkdir "$S/allocations/x"
expect_errno_kernel EACCES as_nobody bash -c 'echo hacked > "$1"' x "$S/description"
expect_errno_kernel EACCES as_nobody bash -c 'echo 10.1.0.0/24 > "$1"' x "$S/cidrs"
expect_errno_kernel EACCES as_nobody mkdir "$MNT/scopes/private/pools/mine"
expect_errno_kernel EACCES as_nobody mkdir "$MNT/scopes/nobodys"
expect_errno_kernel EACCES as_nobody bash -c 'echo true > "$1"' x "$MNT/ipam/enable-private-gua"
expect_errno_kernel EPERM as_nobody chmod 0777 "$S"
expect_errno_kernel EPERM as_nobody chown $NOBODY "$S"
expect_ok wr "$S/allocate" "rootalloc /28"
expect_errno_kernel "EACCES|EPERM" as_nobody rmdir "$S/allocations/rootalloc"
expect_eq "$(nalloc "$S")" 1 "nothing changed by nobody"
expect_file_eq "$S/description" "" "description unchanged"

# chown the pool to nobody: nobody allocates, and owns what it makes
expect_ok chown $NOBODY "$S"
expect_eq "$(t stat -c '%a %u' "$S")" "755 $NOBODY" "chown: the pool is nobody's"
expect_ok as_nobody bash -c 'echo "nb /28" > "$1"' x "$S/allocate"
expect_file_eq "$S/allocations/nb/cidr" 10.0.0.16/28 "nobody's allocation"
expect_ok as_nobody mkdir "$S/allocations/nb2"
expect_file_eq "$S/allocations/nb2/cidr" 10.0.0.32/28 "nobody's mkdir allocation (default /28)"
expect_eq "$(t stat -c %u "$S/allocations/nb")" $NOBODY "an allocation nobody made is owned by nobody"
expect_ok as_nobody bash -c 'echo "set by nobody" > "$1"' x "$S/description"
expect_file_eq "$S/description" "set by nobody"
expect_ok as_nobody rmdir "$S/allocations/nb2"
expect_ok as_nobody chmod 0750 "$S"
expect_eq "$(t stat -c %a "$S")" 750 "the owner (nobody) may chmod its pool"
expect_ok as_nobody chmod 0755 "$S"
expect_errno_kernel EPERM as_nobody chown 0 "$S"
expect_errno EPERM chmod 0600 "$S/status"
expect_errno EPERM chmod 0700 "$MNT/ipam"
expect_errno EINVAL as_nobody bash -c 'echo "bad junk" > "$1"' x "$S/allocate"
expect_match "$(errors_last)" ' uid=65534 ' "a refusal by nobody is logged with uid=65534"

# chmod 0700: nobody can no longer look inside a root pool
mkpool private private700 10.1.0.0/24
Q=$POOL
expect_ok chmod 0700 "$Q"
expect_errno_kernel EACCES as_nobody cat "$Q/status"
expect_errno_kernel EACCES as_nobody ls "$Q"
expect_eq "$(rd "$Q/cidrs")" 10.1.0.0/24 "root still reads it"

# chmod 0777 on a root pool lets nobody allocate
mkpool private open777 10.2.0.0/24
O=$POOL
expect_ok wr "$O/allocation-default-netmask-length" 26
expect_ok chmod 0777 "$O"
expect_ok as_nobody mkdir "$O/allocations/via-mode"
expect_file_eq "$O/allocations/via-mode/cidr" 10.2.0.0/26 "chmod 0777: nobody allocates by mkdir"
expect_ok as_nobody bash -c 'echo "via-write /26" > "$1"' x "$O/allocate"
expect_file_eq "$O/allocations/via-write/cidr" 10.2.0.64/26 "chmod 0777: nobody allocates by writing allocate"

# chmod and chown persist across a remount
expect_ok chmod 0750 "$S"
unmount_ipamfs
start_ipamfs -o allow_other,default_permissions
expect_eq "$(t stat -c '%a %u' "$S")" "750 $NOBODY" "chmod/chown of the pool persist across a remount"
expect_eq "$(t stat -c '%a' "$Q")" 700 "chmod 0700 persists"
expect_eq "$(t stat -c %u "$S/allocations/nb")" $NOBODY "the allocation's owner persists"
expect_ok as_nobody bash -c 'echo "again /28" > "$1"' x "$S/allocate"
expect_errno_kernel EACCES as_nobody cat "$Q/status"

finish
