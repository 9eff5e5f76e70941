#!/bin/bash
# 06-lifecycle: pools and scopes are created with mkdir and removed with
# rmdir (SPEC §1.3, §3, §3.2): pools at every depth up to the pool-depth
# quota, the pools-per-scope and scopes quotas (EDQUOT), rmdir of a pool
# with children (ENOTEMPTY) or CIDRs (EBUSY), the default scopes (EPERM),
# additional scopes; tags/<key>, description and boolean attribute files.
. "$(dirname "$0")/lib.sh"

mount_ipamfs
PRIV=$MNT/scopes/private

# --- depth ------------------------------------------------------------------
path=d1
expect_ok mkdir "$PRIV/pools/d1"
for i in 2 3 4 5 6 7 8 9 10; do
	path=$path/pools/d$i
	t mkdir "$PRIV/pools/$path" || not_ok "mkdir pool at depth $i"
done
D10=$PRIV/pools/$path
expect_file_eq "$D10/depth" 10 "a pool at depth 10"
expect_eq "$(status_get "$D10" pool-depth)" 10 "status: pool-depth=10"
expect_json "$D10/pool.json" '.IpamPools[0].PoolDepth' 10
expect_file_eq "$D10/source" "$(idof "$(dirname "$(dirname "$D10")")")" "d10's source is d9's id"
expect_errno EDQUOT mkdir "$D10/pools/d11"
t test -e "$D10/pools/d11"
[ $? -ne 0 ]
check $? "no d11 after the refusal"
D3=$PRIV/pools/d1/pools/d2/pools/d3
expect_ok wr "$MNT/ipam/quotas/pool-depth" 3
expect_file_eq "$MNT/ipam/quotas/pool-depth" 3
expect_errno EDQUOT mkdir "$D3/pools/other"
expect_ok mkdir "$PRIV/pools/d1/pools/d2/pools/sibling"
expect_file_eq "$D10/depth" 10 "lowering the quota keeps deeper pools"
expect_ok wr "$MNT/ipam/quotas/pool-depth" 10
expect_errno EINVAL wr "$MNT/ipam/quotas/pool-depth" 0
expect_errno EINVAL wr "$MNT/ipam/quotas/pool-depth" ten

# --- rmdir of pools ---------------------------------------------------------
expect_errno ENOTEMPTY rmdir "$D3"
mkpool private withcidr 10.0.0.0/16
W=$POOL
w=$(idof "$W")
expect_errno EBUSY rmdir "$W"
expect_ok wr "$W/allocate" "x /24"
expect_errno EBUSY wr "$W/cidrs" -10.0.0.0/16
t test -d "$W"
check $? "a pool with CIDRs and allocations survives"
expect_errno EBUSY rmdir "$W"
expect_file_eq "$MNT/by-id/$w/id" "$w" "by-id/<pool id> resolves"
expect_ok rmdir "$W/allocations/x"
expect_ok wr "$W/cidrs" -10.0.0.0/16
expect_ok rmdir "$W"
t test -e "$W"
[ $? -ne 0 ]
check $? "the pool directory is gone"
t test -e "$MNT/by-id/$w"
[ $? -ne 0 ]
check $? "its by-id link is gone"
expect_ok rmdir "$D10"
expect_errno_kernel ENOENT rmdir "$D10"

# --- scopes -----------------------------------------------------------------
expect_errno EPERM rmdir "$MNT/scopes/private"
expect_errno EPERM rmdir "$MNT/scopes/public"
expect_errno_kernel EEXIST mkdir "$MNT/scopes/private"
expect_ok mkdir "$MNT/scopes/s1"
S1=$MNT/scopes/s1
expect_file_eq "$S1/type" private "an additional scope is private"
expect_file_eq "$S1/is-default" false
s1=$(idof "$S1")
expect_match "$s1" '^ipam-scope-[0-9a-f]{17}$' "s1 has an AWS-style id"
expect_file_eq "$MNT/by-id/$s1/type" private "by-id/<s1 id> resolves"
expect_json "$MNT/ipam.json" '.Ipams[0].ScopeCount' 3
t test -d "$S1/pools"
check $? "s1/pools exists"
expect_ok mkdir "$S1/pools/a"
expect_ok mkdir "$S1/pools/a/pools/b"
expect_ok wr "$S1/pools/a/cidrs" 10.0.0.0/16
expect_file_eq "$S1/pools/a/cidrs" 10.0.0.0/16 "the same CIDR in another scope (scopes do not overlap)"
expect_errno ENOTEMPTY rmdir "$S1"

# pools-per-scope (all depths)
expect_ok wr "$MNT/ipam/quotas/pools-per-scope" 3
expect_ok mkdir "$S1/pools/c"
expect_errno EDQUOT mkdir "$S1/pools/d"
expect_errno EDQUOT mkdir "$S1/pools/a/pools/e"
expect_errno EDQUOT mkdir "$PRIV/pools/more"
expect_ok wr "$MNT/ipam/quotas/pools-per-scope" 50
expect_ok mkdir "$S1/pools/d"

# scopes: 5 in all
expect_ok mkdir "$MNT/scopes/s2"
expect_ok mkdir "$MNT/scopes/s3"
expect_errno EDQUOT mkdir "$MNT/scopes/s4"
expect_eq "$(t ls "$MNT/scopes" | tr '\n' ' ')" "private public s1 s2 s3 " "ls scopes"
expect_json "$MNT/ipam.json" '.Ipams[0].ScopeCount' 5
expect_ok rmdir "$MNT/scopes/s3"
expect_ok mkdir "$MNT/scopes/s4"
expect_ok rmdir "$MNT/scopes/s4"
expect_ok rmdir "$MNT/scopes/s2"

expect_ok rmdir "$S1/pools/d"
expect_ok rmdir "$S1/pools/c"
expect_ok rmdir "$S1/pools/a/pools/b"
expect_ok wr "$S1/pools/a/cidrs" -10.0.0.0/16
expect_ok rmdir "$S1/pools/a"
expect_ok rmdir "$S1"
expect_eq "$(t ls "$MNT/scopes" | tr '\n' ' ')" "private public " "only the default scopes left"
t test -e "$MNT/by-id/$s1"
[ $? -ne 0 ]
check $? "by-id/<s1 id> is gone"

# --- tags, description, booleans ---------------------------------------------
mkpool private tagged
TG=$POOL
expect_eq "$(t ls -A "$TG/tags" | wc -l)" 0 "no tags yet"
expect_ok wr "$TG/tags/env" prod
expect_ok wr "$TG/tags/Name" "Global pool"
expect_file_eq "$TG/tags/env" prod
expect_file_eq "$TG/tags/Name" "Global pool"
expect_eq "$(t ls "$TG/tags" | LC_ALL=C sort | tr '\n' ' ')" "Name env " "ls tags"
expect_json "$TG/pool.json" '.IpamPools[0].Tags | map(.Key + "=" + .Value) | sort | join(",")' "Name=Global pool,env=prod"
expect_ok wr "$TG/tags/env" staging
expect_file_eq "$TG/tags/env" staging "a tag is overwritten"
expect_ok rm "$TG/tags/env"
t test -e "$TG/tags/env"
[ $? -ne 0 ]
check $? "rm tags/env removes it"
expect_json "$TG/pool.json" '.IpamPools[0].Tags | map(.Key) | join(",")' Name
expect_errno_kernel ENOENT rm "$TG/tags/env"
# AWS tag keys may hold '=' (and '/', written %2F in a file name)
expect_ok wr "$TG/tags/a=b" x
expect_file_eq "$TG/tags/a=b" x
expect_ok rm "$TG/tags/a=b"
expect_errno EINVAL wr "$TG/tags/"$'a\tb' x
k129=$(printf 'k%.0s' $(seq 1 129))
k128=$(printf 'k%.0s' $(seq 1 128))
v257=$(printf 'v%.0s' $(seq 1 257))
v256=$(printf 'v%.0s' $(seq 1 256))
expect_errno EINVAL wr "$TG/tags/$k129" x
expect_ok wr "$TG/tags/$k128" "$v256"
expect_file_eq "$TG/tags/$k128" "$v256" "a 128-byte key with a 256-byte value"
expect_errno EINVAL wr "$TG/tags/$k128" "$v257"
expect_file_eq "$TG/tags/$k128" "$v256" "a refused 257-byte value changes nothing"
expect_ok rm "$TG/tags/$k128"

expect_file_eq "$TG/description" "" "an unset description is one empty line"
expect_ok wr "$TG/description" "hello world"
expect_file_eq "$TG/description" "hello world"
expect_json "$TG/pool.json" '.IpamPools[0].Description' "hello world"
expect_ok wr "$TG/description" ""
expect_file_eq "$TG/description" "" "description cleared"
expect_ok wr "$MNT/scopes/private/description" "the private network"
expect_file_eq "$MNT/scopes/private/description" "the private network"
expect_ok wr "$MNT/ipam/description" "lab"
expect_file_eq "$MNT/ipam/description" lab

for v in true:true false:false 1:true 0:false; do
	expect_ok wr "$MNT/ipam/enable-private-gua" "${v%%:*}"
	expect_file_eq "$MNT/ipam/enable-private-gua" "${v#*:}" "enable-private-gua: ${v%%:*} reads ${v#*:}"
done
expect_errno EINVAL wr "$MNT/ipam/enable-private-gua" yes
expect_errno EINVAL wr "$MNT/ipam/enable-private-gua" 2
expect_file_eq "$MNT/ipam/enable-private-gua" false "unchanged after refused writes"

expect_file_eq "$TG/auto-import" false
expect_errno EINVAL wr "$TG/auto-import" true
expect_ok wr "$TG/locale" local
for v in 1:true 0:false true:true false:false; do
	expect_ok wr "$TG/auto-import" "${v%%:*}"
	expect_file_eq "$TG/auto-import" "${v#*:}" "auto-import: ${v%%:*} reads ${v#*:}"
done
expect_errno EINVAL wr "$TG/auto-import" maybe

finish
