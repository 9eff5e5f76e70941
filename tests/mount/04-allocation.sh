#!/bin/bash
# 04-allocation: SPEC §3.1 allocate / allocations / preview / map and §4:
# exact first-fit results, the read-back on the allocate fd, specific CIDRs,
# the errno of each refusal (EEXIST, EADDRINUSE, EADDRNOTAVAIL, ENOSPC with
# its reason in /errors, EPERM for system allocations), rmdir releasing,
# last-fit and best-fit, preview not allocating, the map in address order,
# and IPv6 (ULA, GUA behind enable-private-gua, counts beyond 64 bits).
. "$(dirname "$0")/lib.sh"

mount_ipamfs

mkpool private a 10.0.0.0/24
A=$POOL
expect_file_eq "$A/allocation-strategy" first-fit "allocation-strategy defaults to first-fit"

# by size, with the CIDR read back on the same open file
got=$(wr_readback "$A/allocate" "a /26")
expect_eq "$got" 10.0.0.0/26 "allocate 'a /26': read back on the same fd"
expect_file_eq "$A/allocations/a/cidr" 10.0.0.0/26
expect_file_eq "$A/allocations/a/resource-type" custom
expect_match "$(rd "$A/allocations/a/id")" '^ipam-pool-alloc-[0-9a-f]+$' "allocations/a/id"
expect_match "$(rd "$A/allocations/a/created")" '.+' "allocations/a/created is set"
expect_file_eq "$A/allocations/a/description" "" "allocations/a/description is empty"

expect_eq "$(t ls "$A/preview" | sort -n | tr '\n' ' ')" "24 25 26 27 28 29 30 31 32 " "ls preview: the lengths a request may ask for"
expect_eq "$(rd "$A/allocate" | wc -c)" 0 "a freshly opened allocate reads empty"
aid=$(rd "$A/allocations/a/id")
expect_file_eq "$MNT/by-id/$aid/cidr" 10.0.0.0/26 "by-id/<allocation id> resolves to the allocation"

# a pool with no provisioned CIDR cannot allocate (L594)
mkpool private empty
expect_errno "ENOSPC|EADDRNOTAVAIL" wr "$POOL/allocate" "x /28"
expect_errno "ENOSPC|EADDRNOTAVAIL" wr "$POOL/allocate" "x 10.9.0.0/28"
expect_eq "$(nalloc "$POOL")" 0 "nothing allocated in a pool without CIDRs"

# preview shows what the next request gets and allocates nothing
expect_file_eq "$A/preview/26" 10.0.0.64/26
expect_file_eq "$A/preview/26" 10.0.0.64/26 "preview/26 again: still 10.0.0.64/26"
expect_file_eq "$A/preview/28" 10.0.0.64/28
expect_eq "$(nalloc "$A")" 1 "preview allocated nothing"

# a specific CIDR, with a description
expect_ok wr "$A/allocate" "b 10.0.0.128/26 description=lab"
expect_file_eq "$A/allocations/b/cidr" 10.0.0.128/26
expect_file_eq "$A/allocations/b/description" lab

# refusals, each allocating nothing
expect_errno EEXIST wr "$A/allocate" "a /28"
expect_errno EEXIST wr "$A/allocate" "b 10.0.0.192/28"
expect_errno_kernel EEXIST mkdir "$A/allocations/a"
expect_errno EADDRINUSE wr "$A/allocate" "x 10.0.0.0/28"
expect_errno EADDRINUSE wr "$A/allocate" "x 10.0.0.128/25"
expect_errno EADDRINUSE wr "$A/allocate" "x 10.0.0.0/24"
expect_errno EADDRNOTAVAIL wr "$A/allocate" "y 10.0.1.0/28"
expect_errno EADDRNOTAVAIL wr "$A/allocate" "y 10.0.0.0/23"
expect_errno EADDRNOTAVAIL wr "$A/allocate" "y 192.168.0.0/28"
expect_errno EINVAL wr "$A/allocate" "ipam-mine /28"
expect_errno EINVAL wr "$A/allocate" "z /33"
expect_errno EINVAL wr "$A/allocate" "z 10.0.0.1/28"
expect_eq "$(nalloc "$A")" 2 "refused requests allocated nothing"
expect_eq "$(t ls "$A/allocations" | tr '\n' ' ')" "a b " "allocations: a b"

# no name: the allocation is named by its generated id
got=$(wr_readback "$A/allocate" "/28")
expect_eq "$got" 10.0.0.64/28 "allocate '/28' without a name"
gen=$(t ls "$A/allocations" | grep -v -x -e a -e b)
expect_match "$gen" '^ipam-pool-alloc-[0-9a-f]+$' "the unnamed allocation is named by its id"
expect_file_eq "$A/allocations/$gen/id" "$gen"
expect_file_eq "$A/allocations/$gen/cidr" 10.0.0.64/28
expect_eq "$(t ls "$A/allocations" | wc -l)" 3 "allocations/ lists a, b and the unnamed one"

# several lines in one write: the read returns every CIDR, one per line
printf 'm1 /30\nm2 /30\nm3 /29\n' >"$TMPD/three"
got=$(t bash -c 'exec 3<>"$1" && cat "$2" >&3 && cat <&3' x "$A/allocate" "$TMPD/three")
expect_eq "$got" $'10.0.0.80/30\n10.0.0.84/30\n10.0.0.88/29' "one write of three lines: three CIDRs read back"
for m in m1 m2 m3; do t rmdir "$A/allocations/$m" || not_ok "rmdir $m"; done

# a description with spaces takes the rest of the line
expect_ok wr "$A/allocate" "e 10.0.0.80/28 description=two words"
expect_file_eq "$A/allocations/e/description" "two words"

# full: no free /26 left once c takes the last one
expect_ok wr "$A/allocate" "c /26"
expect_file_eq "$A/allocations/c/cidr" 10.0.0.192/26
expect_errno ENOSPC wr "$A/allocate" "d /26"
last=$(errors_last)
expect_match "$last" '/26' "the ENOSPC reason names the requested /26"
expect_match "$last" '/27' "the ENOSPC reason names the largest free block /27"
expect_file_eq "$A/preview/26" "" "preview/26 with no free /26: an empty line (docs/tree.md)"
expect_file_eq "$A/preview/27" 10.0.0.96/27
expect_eq "$(status_get "$A" largest-free-block | sed 's/^.*\//\//')" /27 "status: largest-free-block /27"

# rmdir releases
expect_ok rmdir "$A/allocations/c"
t test -e "$A/allocations/c"
[ $? -ne 0 ]
check $? "allocations/c is gone"
expect_file_eq "$A/preview/26" 10.0.0.192/26 "the released /26 is free again"
expect_ok wr "$A/allocate" "c2 /26"
expect_file_eq "$A/allocations/c2/cidr" 10.0.0.192/26 "the next /26 reuses the released block"
expect_errno_kernel ENOENT rmdir "$A/allocations/nosuch"

# system allocations (a child pool's CIDR) cannot be released (L2273)
mkpool private p 10.1.0.0/16
PP=$POOL
mkpool private p/pools/ch 10.1.0.0/24
ch=$(idof "$POOL")
expect_errno EPERM rmdir "$PP/allocations/$ch"
expect_file_eq "$PP/allocations/$ch/cidr" 10.1.0.0/24 "the ipam-pool allocation is still there"
expect_errno EADDRINUSE wr "$PP/allocate" "over 10.1.0.0/28"
expect_file_eq "$PP/preview/24" 10.1.1.0/24 "the parent allocates around its child's CIDR"

# strategies: free space [0,63] (/26) and [128,159] (/27) of 10.0.2.0/24
mkpool private s 10.0.2.0/24
S=$POOL
expect_ok wr "$S/allocate" "x1 10.0.2.64/26"
expect_ok wr "$S/allocate" "x2 10.0.2.160/27"
expect_ok wr "$S/allocate" "x3 10.0.2.192/26"
expect_file_eq "$S/preview/28" 10.0.2.0/28 "first-fit: lowest aligned free /28"
expect_ok wr "$S/allocation-strategy" last-fit
expect_file_eq "$S/allocation-strategy" last-fit
expect_file_eq "$S/preview/28" 10.0.2.144/28 "last-fit: highest aligned free /28"
expect_ok wr "$S/allocation-strategy" best-fit
expect_file_eq "$S/allocation-strategy" best-fit
expect_file_eq "$S/preview/28" 10.0.2.128/28 "best-fit: inside the smallest free block"
expect_errno EINVAL wr "$S/allocation-strategy" worst-fit
expect_file_eq "$S/allocation-strategy" best-fit "strategy unchanged after a refused write"
expect_eq "$(wr_readback "$S/allocate" "bf /28")" 10.0.2.128/28 "best-fit allocation"
expect_ok wr "$S/allocation-strategy" last-fit
expect_eq "$(wr_readback "$S/allocate" "lf /27")" 10.0.2.32/27 "last-fit allocation"
expect_ok wr "$S/allocation-strategy" first-fit
expect_eq "$(wr_readback "$S/allocate" "ff /28")" 10.0.2.0/28 "first-fit allocation"
expect_eq "$(nalloc "$S")" 6 "six allocations in s"

# two adjacent provisioned CIDRs: no allocation spans them
mkpool private adj 10.0.8.0/25 10.0.8.128/25
expect_errno ENOSPC wr "$POOL/allocate" "big /24"
expect_errno EADDRNOTAVAIL wr "$POOL/allocate" "big 10.0.8.0/24"
expect_eq "$(status_get "$POOL" largest-free-block | sed 's/^.*\//\//')" /25 "largest-free-block of two adjacent /25 is /25"

# the map: provisioned CIDRs, then allocations and free gaps, address order
mkpool private m 10.0.4.0/24 10.0.6.0/24
M=$POOL
expect_ok wr "$M/allocate" "m1 10.0.4.64/26"
expect_ok wr "$M/allocate" "m2 10.0.6.0/25"
map=$(rd "$M/map")
cidrs=$(printf '%s\n' "$map" | grep -oE '[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/[0-9]+' | head -n 100 | tr '\n' ' ')
expect_eq "$cidrs" "10.0.4.0/24 10.0.4.0/26 10.0.4.64/26 10.0.4.128/25 10.0.6.0/24 10.0.6.0/25 10.0.6.128/25 " \
	"map: CIDRs in address order"
expect_match "$(printf '%s\n' "$map" | grep -F 10.0.4.64/26)" 'm1' "map: the line of 10.0.4.64/26 names m1"
expect_match "$(printf '%s\n' "$map" | grep -F 10.0.6.0/25)" 'm2' "map: the line of 10.0.6.0/25 names m2"
expect_match "$(printf '%s\n' "$map" | grep -F 10.0.4.0/26)" 'free' "map: 10.0.4.0/26 is free"
expect_match "$(printf '%s\n' "$map" | grep -F 10.0.4.128/25)" 'free' "map: 10.0.4.128/25 is free"
expect_match "$(printf '%s\n' "$map" | grep -F 10.0.6.128/25)" 'free' "map: 10.0.6.128/25 is free"
expect_eq "$(printf '%s\n' "$map" | grep -c free)" 3 "map: three free gaps"

# IPv6 in the private scope: ULA inside fd01::/8
mkpool private v6 fd01:1::/52
V6=$POOL
expect_file_eq "$V6/address-family" ipv6
expect_file_eq "$V6/cidrs" fd01:1::/52
expect_eq "$(wr_readback "$V6/allocate" "v1 /56")" fd01:1::/56 "IPv6 first /56"
expect_eq "$(wr_readback "$V6/allocate" "v2 /56")" fd01:1:0:100::/56 "IPv6 second /56 (canonical)"
expect_ok wr "$V6/allocate" "v3 FD01:0001:0000:0F00:0000::/56"
expect_file_eq "$V6/allocations/v3/cidr" fd01:1:0:f00::/56 "an uppercase, uncompressed CIDR is stored canonical"
expect_file_eq "$V6/preview/56" fd01:1:0:200::/56
expect_file_eq "$V6/preview/64" fd01:1:0:200::/64
expect_eq "$(status_get "$V6" total-addresses)" 75557863725914323419136 "a /52: total-addresses=2^76 exactly"
expect_eq "$(status_get "$V6" assigned-addresses)" 14167099448608935641088 "three /56: assigned-addresses=3*2^72 exactly"
expect_eq "$(status_get "$V6" available-addresses)" 61390764277305387778048 "available-addresses exactly"
expect_eq "$(status_get "$V6" percent-assigned)" 18.75 "percent-assigned=18.75"
sj=$(rd "$V6/status.json")
printf '%s' "$sj" | grep -q '"75557863725914323419136"'
check $? "status.json: a count beyond 53 bits is a string, exact"
expect_ok wr "$V6/allocation-max-netmask-length" 64
expect_errno EINVAL wr "$V6/allocate" "host /128"
expect_errno EINVAL wr "$V6/allocate" "z ::/129"
expect_errno EADDRNOTAVAIL wr "$V6/allocate" "z fd01:2::/56"
expect_errno EINVAL wr "$V6/allocate" "z 10.0.0.0/24"

mkpool private v6b FD01:0002:0:0::/56
V6B=$POOL
expect_file_eq "$V6B/cidrs" fd01:2::/56 "provisioned CIDRs are printed canonical"
expect_eq "$(status_get "$V6B" total-addresses)" 4722366482869645213696 "a /56: total-addresses=4722366482869645213696"
expect_json "$V6B/cidrs.json" '.IpamPoolCidrs[0].Cidr' fd01:2::/56

# outside ULA: refused; GUA only with enable-private-gua (L808, L842)
mkpool private g
G=$POOL
expect_ok wr "$G/address-family" ipv6
expect_errno EINVAL wr "$G/cidrs" fe80::/64
expect_errno EINVAL wr "$G/cidrs" fc00::/8
expect_errno EPERM wr "$G/cidrs" 2001:db8::/32
expect_file_empty "$G/cidrs" "no CIDR after the refusals"
expect_ok wr "$MNT/ipam/enable-private-gua" true
expect_file_eq "$MNT/ipam/enable-private-gua" true
expect_ok wr "$G/cidrs" 2001:db8::/32
expect_file_eq "$G/cidrs" 2001:db8::/32
expect_eq "$(wr_readback "$G/allocate" "gua /48")" 2001:db8::/48 "a GUA allocation"
expect_errno EBUSY wr "$MNT/ipam/enable-private-gua" false
expect_file_eq "$MNT/ipam/enable-private-gua" true "enable-private-gua stays true while a pool holds GUA"

finish
