#!/bin/bash
# 54-messages-editing.sh - the smaller write-side faults of issue 9 §7:
# messages that say what is wrong (singular/plural, a child pool named by
# its path, a pool without CIDRs, a length without its '/'), and editing an
# attribute with the tools people use: sed -i (a temporary file renamed over
# the attribute) is refused with a reason naming what works, and that way,
# ed and vim (which write in place) work (docs/tree.md "Editing in place").
. "$(dirname "$0")/lib.sh"
mount_ipamfs

mkpool private top 10.0.0.0/16
TOP=$POOL
mkpool private top/pools/child 10.0.0.0/20

# "1 provisioned CIDR" (not "CIDRs"), "1 child pool"
expect_errno ENOTEMPTY rmdir "$TOP"
expect_match "$(errors_last)" "it has 1 child pool$" "rmdir: '1 child pool'"
expect_errno EBUSY rmdir "$TOP/pools/child"
expect_match "$(errors_last)" "it has 1 provisioned CIDR; deprovision it first$" "rmdir: '1 provisioned CIDR; deprovision it first'"

mkdir "$MNT/scopes/net" || not_ok "mkdir scopes/net"
mkpool net only
expect_errno ENOTEMPTY rmdir "$MNT/scopes/net"
expect_match "$(errors_last)" "cannot delete scope 'net': it has 1 pool$" "rmdir scope: '1 pool'"

# an overlap with a child pool's block names the child by its path
expect_errno EADDRINUSE wr "$TOP/allocate" "x 10.0.1.0/24"
expect_match "$(errors_last)" "10\.0\.1\.0/24 overlaps 10\.0\.0\.0/20 of child pool 'top/pools/child' in pool 'top'$" \
	"the overlap names the child pool top/pools/child, not its id"
mkpool private top/pools/child/pools/grand 10.0.0.0/24
expect_errno EADDRINUSE wr "$TOP/pools/child/allocate" "y 10.0.0.128/25"
expect_match "$(errors_last)" "of child pool 'top/pools/child/pools/grand' in pool 'child'$" "a grandchild is named by its whole path"
# a plain allocation is still named by its name
expect_ok wr "$TOP/allocate" "web 10.0.16.0/24"
expect_errno EADDRINUSE wr "$TOP/allocate" "z 10.0.16.0/25"
expect_match "$(errors_last)" "overlaps allocation 'web' \(10\.0\.16\.0/24\) in pool 'top'$" "an allocation is named by its name"

# a parent with no CIDR at all says so (not "no free space")
mkpool private empty
mkpool private empty/pools/e
expect_errno ENOSPC wr "$POOL/cidrs" /16
expect_match "$(errors_last)" "no free /16 in pool 'empty': it has no provisioned CIDR$" "a parent without CIDRs says so"
# a full parent still says no free space / largest block
mkpool private small 10.9.0.0/24
mkpool private small/pools/s
expect_errno ENOSPC wr "$POOL/cidrs" /16
expect_match "$(errors_last)" "no free /16 in pool 'small' \(largest free block /24\)$" "a parent with space names its largest block"

# "x 24": a length without its '/'
expect_errno EINVAL wr "$TOP/allocate" "x 24"
expect_match "$(errors_last)" "'24' is not a size: write /24" "allocate 'x 24' suggests /24"
mkdir "$MNT/scopes/private/resources/vpc-1" || not_ok "mkdir vpc-1"
expect_errno EINVAL wr "$MNT/scopes/private/resources/vpc-1/allocate" "$(idof "$TOP") 24"
expect_match "$(errors_last)" "'24' is not a size: write /24" "resource allocate 'POOL-ID 24' suggests /24"

# sed -i: refused, the reason names the way that works; nothing changes
D=$TOP/description
expect_ok wr "$D" "hello world"
out=$(t sed -i 's/hello/bye/' "$D" 2>&1)
expect_match "$out" "Operation not permitted" "sed -i fails with EPERM ($out)"
expect_file_eq "$D" "hello world" "sed -i changed nothing"
last=$(errors_last)
expect_match "$last" " create scopes/private/pools/top/sed[^ ]* EPERM: files cannot be created here: an attribute is changed by writing it in place" \
	"/errors: why sed -i cannot work"
expect_match "$last" 'v=\$\(sed EXPR FILE\) && printf .%s\\n. "\$v" > FILE$' "/errors names the way that works"
# ... and that way works, for a value and for a set
expect_ok t bash -c 'v=$(sed "s/hello/bye/" "$1") && printf "%s\n" "$v" > "$1"' x "$D"
expect_file_eq "$D" "bye world" "v=\$(sed ...) && printf > FILE"
T=$TOP/allocation-resource-tags
expect_ok t bash -c 'printf "env=prod\nteam=net\n" > "$1"' x "$T"
expect_ok t bash -c 'v=$(sed "s/prod/dev/" "$1") && printf "%s\n" "$v" > "$1"' x "$T"
expect_file_eq "$T" $'env=dev\nteam=net' "the same edit on a set file"
# rename over an attribute (what sed -i, mv and many editors end with)
expect_errno EPERM mv "$TOP/description" "$TOP/description.bak"
expect_match "$(errors_last)" "files cannot be renamed: an attribute is changed by writing it in place" "rename: the same reason"
# ed and vim write in place: they work
expect_ok t bash -c 'printf "s/bye/ciao/\nw\nq\n" | ed -s "$1"' x "$D"
expect_file_eq "$D" "ciao world" "ed edits an attribute in place"
expect_ok t env HOME="$TMPD" vim.tiny -u NONE -es -c 's/ciao/salve/' -c wq "$D" </dev/null
expect_file_eq "$D" "salve world" "vim edits an attribute in place"

finish
