#!/bin/bash
# 44-grant: the finer grant of a pool's mode (issue 8 §7,
# docs/design/security.md). Real users made with useradd: OWNER owns the
# pool, MEMBER is in its group, nobody is other. The group/other write bits
# let their holders allocate (write `allocate`, mkdir/rmdir in
# `allocations/`, sticky: only their own) and nothing else: the pool's
# attribute files, `cidrs`, `tags/` and `pools/` stay the owner's.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null ||
	! command -v useradd >/dev/null; then
	echo "1..0 # SKIP needs root, setpriv (util-linux) and useradd (passwd)"
	exit 77
fi

mount_ipamfs -o allow_other,default_permissions
# users and a group of this run only, removed at exit
SUF=$$
GRP=ipt44g$SUF
OWNER=ipt44o$SUF
MEMBER=ipt44m$SUF
drop_users() {
	userdel "$OWNER" 2>/dev/null
	userdel "$MEMBER" 2>/dev/null
	groupdel "$GRP" 2>/dev/null
}
trap 'rc=$?; drop_users; (exit $rc); cleanup' EXIT
groupadd "$GRP" || { echo "Bail out! groupadd"; exit 1; }
useradd -M -N -g "$GRP" "$OWNER" || { echo "Bail out! useradd"; exit 1; }
useradd -M -N -g "$GRP" "$MEMBER" || { echo "Bail out! useradd"; exit 1; }
G=$(getent group "$GRP" | cut -d: -f3)
OU=$(id -u "$OWNER")
MU=$(id -u "$MEMBER")
as_user() { # as_user UID CMD...: with the group GRP
	local u=$1
	shift
	timeout "$TIMEOUT" setpriv --reuid="$u" --regid="$G" --clear-groups "$@"
}
as_nobody() {
	timeout "$TIMEOUT" setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}
w() { bash -c 'printf "%s\n" "$2" > "$1"' w "$@"; }
export -f w

mkpool private shared 10.0.0.0/16
S=$POOL
expect_ok wr "$S/allocation-default-netmask-length" 28
expect_ok wr "$S/tags/env" prod
expect_ok chown "$OU:$G" "$S"
expect_ok chmod 0775 "$S"
expect_eq "$(t stat -c %A "$S")" drwxrwxr-x "the pool shows its mode as set"
expect_eq "$(t stat -c %A "$S/allocations")" drwxrwxr-t "allocations/ is group-writable and sticky"
expect_eq "$(t stat -c %A "$S/allocate")" -rw-rw-r-- "allocate is group-writable"
expect_eq "$(t stat -c %A "$S/description")" -rw-r--r-- "description is the owner's only"
expect_eq "$(t stat -c %A "$S/cidrs")" -rw-r--r-- "cidrs is the owner's only"
expect_eq "$(t stat -c %A "$S/tags")" drwxr-xr-x "tags/ is the owner's only"
expect_eq "$(t stat -c %A "$S/pools")" drwxr-xr-x "pools/ is the owner's only"

# the group member allocates, both ways, and releases its own
expect_ok as_user "$MU" bash -c 'w "$1" "m1 /28"' x "$S/allocate"
expect_ok as_user "$MU" mkdir "$S/allocations/m2"
expect_eq "$(t stat -c %u "$S/allocations/m1")" "$MU" "the member owns its allocation"
expect_ok as_user "$MU" rmdir "$S/allocations/m2"
# ... and changes nothing else
for f in description allocation-min-netmask-length allocation-max-netmask-length \
	allocation-default-netmask-length allocation-resource-tags allocation-strategy \
	locale auto-import tags/env; do
	expect_errno_kernel EACCES as_user "$MU" bash -c 'w "$1" "24"' x "$S/$f"
done
expect_errno_kernel EACCES as_user "$MU" bash -c 'w "$1" "-10.0.0.0/16"' x "$S/cidrs"
expect_errno_kernel EACCES as_user "$MU" bash -c 'w "$1" "+10.9.0.0/16"' x "$S/cidrs"
expect_errno_kernel EACCES as_user "$MU" touch "$S/tags/new"
expect_errno_kernel EACCES as_user "$MU" rm "$S/tags/env"
expect_errno_kernel EACCES as_user "$MU" mkdir "$S/pools/child"
# the owner's allocation is not the member's to release (sticky)
expect_ok as_user "$OU" mkdir "$S/allocations/o1"
expect_errno_kernel "EPERM|EACCES" as_user "$MU" rmdir "$S/allocations/o1"
expect_file_eq "$S/cidrs" 10.0.0.0/16 "the pool's CIDRs are unchanged"
expect_file_eq "$S/tags/env" prod "the pool's tags are unchanged"
expect_file_eq "$S/allocation-default-netmask-length" 28 "the pool's rules are unchanged"
# the owner does everything
expect_ok as_user "$OU" bash -c 'w "$1" "owned by the owner"' x "$S/description"
expect_ok as_user "$OU" bash -c 'w "$1" "+10.1.0.0/16"' x "$S/cidrs"
expect_ok as_user "$OU" bash -c 'w "$1" "team=net"' x "$S/allocation-resource-tags"
expect_ok as_user "$OU" bash -c 'w "$1" "" && w "$1" ""' x "$S/allocation-resource-tags"
expect_ok as_user "$OU" touch "$S/tags/owner"
expect_ok as_user "$OU" mkdir "$S/pools/child"
expect_ok as_user "$OU" rmdir "$S/allocations/m1"
# others: the mode's other bits, r-x: nothing
expect_errno_kernel EACCES as_nobody bash -c 'w "$1" "n1 /28"' x "$S/allocate"
expect_errno_kernel EACCES as_nobody mkdir "$S/allocations/n1"
# 0777: others allocate, and still cannot deprovision or change the rules
expect_ok chmod 0777 "$S"
expect_ok as_nobody bash -c 'w "$1" "n1 /28"' x "$S/allocate"
expect_errno_kernel EACCES as_nobody bash -c 'w "$1" "-10.1.0.0/16"' x "$S/cidrs"
expect_errno_kernel EACCES as_nobody bash -c 'w "$1" "16"' x "$S/allocation-min-netmask-length"
expect_errno_kernel "EPERM|EACCES" as_nobody rmdir "$S/allocations/o1"
expect_file_eq "$S/cidrs" $'10.0.0.0/16\n10.1.0.0/16' "nobody deprovisioned nothing"
finish
