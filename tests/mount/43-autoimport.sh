#!/bin/bash
# 43-autoimport: auto-import does not capture other users' resources
# (issue 8 §7). A resource goes only to a pool that its owner could
# allocate from by the pool's mode bits (owner, group or other write). The
# owner of a resource is its ResourceOwnerId when that is a uid, else the
# owner of its scope. nobody (65534) owns a child pool delegated to it and
# turns auto-import on: root's discovered resources stay out of it, its own
# go in; root's own pool still imports root's resources.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	echo "1..0 # SKIP needs root and setpriv (util-linux)"
	exit 77
fi
NOBODY=65534
as_nobody() {
	timeout "$TIMEOUT" setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"
}

mount_ipamfs -o allow_other,default_permissions,home-locale=us-east-1
R=$MNT/scopes/private/resources
mkpool private top 10.0.0.0/8
T=$POOL
expect_ok wr "$T/locale" us-east-1
expect_ok wr "$T/auto-import" true
mkpool private top/pools/delegated 10.1.0.0/16
C=$POOL
expect_ok wr "$C/locale" us-east-1
expect_ok chown $NOBODY "$C"
expect_ok as_nobody bash -c 'echo true > "$1"' x "$C/auto-import"
expect_file_eq "$C/auto-import" true "nobody turned auto-import on in its pool"

VR=vpc-0a0000000000000a1 # root's (ResourceOwnerId 0)
VN=vpc-0a0000000000000b2 # nobody's
VA=vpc-0a0000000000000c3 # an AWS account number: the scope owner's (root)
VT=vpc-0a0000000000000d4 # root's, outside the delegated pool
cat >"$TMPD/snap.jsonl" <<EOF
{"ResourceId":"$VR","ResourceType":"vpc","ResourceCidr":"10.1.1.0/24","ResourceRegion":"us-east-1","ResourceOwnerId":"0"}
{"ResourceId":"$VN","ResourceType":"vpc","ResourceCidr":"10.1.2.0/24","ResourceRegion":"us-east-1","ResourceOwnerId":"$NOBODY"}
{"ResourceId":"$VA","ResourceType":"vpc","ResourceCidr":"10.1.3.0/24","ResourceRegion":"us-east-1","ResourceOwnerId":"123456789012"}
{"ResourceId":"$VT","ResourceType":"vpc","ResourceCidr":"10.2.0.0/24","ResourceRegion":"us-east-1","ResourceOwnerId":"0"}
EOF
expect_ok mkdir "$MNT/discoveries/d"
expect_ok feed "$TMPD/snap.jsonl" "$MNT/discoveries/d/feed"
cid=$(idof "$C")
tid=$(idof "$T")
expect_rstatus4 "$R/$VN" 10.1.2.0/24 "managed compliant nonoverlapping $cid"
expect_rstatus4 "$R/$VR" 10.1.1.0/24 "unmanaged unmanaged nonoverlapping -"
expect_rstatus4 "$R/$VA" 10.1.3.0/24 "unmanaged unmanaged nonoverlapping -"
expect_rstatus4 "$R/$VT" 10.2.0.0/24 "managed compliant nonoverlapping $tid"
expect_json "$C/allocations.json" '[.IpamPoolAllocations[].ResourceId] | join(" ")' "$VN"

# the group bit: a pool of nobody's with group root and mode 0775 takes
# root's resources (root's group may allocate), one with 0755 does not
expect_ok chgrp 0 "$C"
expect_ok chmod 0775 "$C"
expect_ok wr "$C/auto-import" false
expect_ok as_nobody bash -c 'echo true > "$1"' x "$C/auto-import"
expect_rstatus4 "$R/$VR" 10.1.1.0/24 "managed compliant nonoverlapping $cid"
finish
