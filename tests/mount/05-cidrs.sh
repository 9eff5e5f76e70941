#!/bin/bash
# 05-cidrs: the `cidrs` control file (SPEC §3.1, §3.2, principle 5): `CIDR`,
# `+CIDR`, `-CIDR`, `/N` lines; a multi-line write applies whole or not at
# all; deprovisioning a CIDR with allocations is EBUSY naming them; a child
# pool's CIDR must lie in a parent CIDR (EADDRNOTAVAIL) and be free there
# (EADDRINUSE); family mismatch EINVAL; locale write-once and address-family
# locked after the first provision (EPERM); the cidrs-per-pool quota (EDQUOT).
. "$(dirname "$0")/lib.sh"

mount_ipamfs
expect_ok wr "$MNT/ipam/tier" advanced
expect_ok wrf "$MNT/ipam/operating-locales" 'local\nus-east-1\n'

mkpool private t
T=$POOL
expect_file_empty "$T/cidrs" "a new pool has no CIDR (an empty list)"
expect_ok wr "$T/cidrs" +10.0.0.0/16
expect_ok wr "$T/cidrs" 10.2.0.0/16
expect_ok wr "$T/cidrs" 10.1.0.0/16
expect_file_eq "$T/cidrs" $'10.0.0.0/16\n10.1.0.0/16\n10.2.0.0/16' "cidrs: sorted, one per line"
expect_json "$T/cidrs.json" '[.IpamPoolCidrs[].Cidr] | join(" ")' "10.0.0.0/16 10.1.0.0/16 10.2.0.0/16"
expect_json "$T/cidrs.json" '[.IpamPoolCidrs[].State] | unique | join(" ")' provisioned
expect_json "$T/cidrs.json" '[.IpamPoolCidrs[].IpamPoolCidrId | test("^ipam-pool-cidr-[0-9a-f]+$")] | all' true
expect_ok wr "$T/cidrs" -10.1.0.0/16
expect_file_eq "$T/cidrs" $'10.0.0.0/16\n10.2.0.0/16' "-CIDR deprovisions"
expect_eq "$(status_get "$T" provisioned-cidrs)" 2 "status: provisioned-cidrs=2"
expect_eq "$(status_get "$T" total-addresses)" 131072 "status: total-addresses of two /16"

# all lines or none
before=$(rd "$T/cidrs")
expect_errno EINVAL wrf "$T/cidrs" '10.3.0.0/16\n10.4.0.0/33\n'
expect_eq "$(rd "$T/cidrs")" "$before" "a write with one malformed line changes nothing"
expect_errno EADDRINUSE wrf "$T/cidrs" '10.5.0.0/16\n10.5.0.0/16\n'
expect_eq "$(rd "$T/cidrs")" "$before" "a write whose 2nd line overlaps its 1st changes nothing"
expect_errno EINVAL wrf "$T/cidrs" '+10.3.0.0/16\n-10.2.0.0/16\n*10.4.0.0/16\n'
expect_eq "$(rd "$T/cidrs")" "$before" "a write with an unknown command changes nothing"
expect_ok wrf "$T/cidrs" '\n+10.3.0.0/16\n\n10.4.0.0/16\n'
expect_file_eq "$T/cidrs" $'10.0.0.0/16\n10.2.0.0/16\n10.3.0.0/16\n10.4.0.0/16' "a multi-line write applies every line (empty lines ignored)"
expect_ok wrf "$T/cidrs" '-10.3.0.0/16\n-10.4.0.0/16\n'
expect_file_eq "$T/cidrs" $'10.0.0.0/16\n10.2.0.0/16' "a multi-line deprovision"

expect_ok wrf "$T/cidrs" '+10.7.0.0/16\r\n'
expect_ok wrf "$T/cidrs" '-10.7.0.0/16\r\n'
expect_file_eq "$T/cidrs" $'10.0.0.0/16\n10.2.0.0/16' "CRLF line ends are accepted"

# own overlap, family mismatch, malformed, unknown
expect_errno EADDRINUSE wr "$T/cidrs" 10.0.128.0/17
expect_errno EADDRINUSE wr "$T/cidrs" 10.0.0.0/8
expect_errno EINVAL wr "$T/cidrs" fd00::/16
expect_errno EINVAL wr "$T/cidrs" 10.0.0.1/16
expect_errno EINVAL wr "$T/cidrs" /16
expect_errno ENOENT wr "$T/cidrs" -10.9.0.0/16
expect_file_eq "$T/cidrs" $'10.0.0.0/16\n10.2.0.0/16' "cidrs unchanged after the refusals"

# deprovisioning a CIDR that holds allocations: EBUSY, naming them
expect_ok wr "$T/allocate" "blk 10.0.0.0/24"
expect_errno EBUSY wr "$T/cidrs" -10.0.0.0/16
expect_match "$(errors_last)" 'blk|10\.0\.0\.0/24' "the EBUSY reason names the blocking allocation"
expect_errno EBUSY wrf "$T/cidrs" '+10.6.0.0/16\n-10.0.0.0/16\n'
expect_file_eq "$T/cidrs" $'10.0.0.0/16\n10.2.0.0/16' "nothing of the refused write applied"

# child pools: /N, inside a parent CIDR, free there
C=$T/pools/c
expect_ok mkdir "$C"
expect_ok wr "$C/cidrs" /20
expect_file_eq "$C/cidrs" 10.0.16.0/20 "/20 provisions the parent's first free /20"
expect_ok wr "$C/cidrs" /24
expect_file_eq "$C/cidrs" $'10.0.1.0/24\n10.0.16.0/20' "/24 provisions the parent's first free /24"
c=$(idof "$C")
expect_json "$T/allocations.json" "[.IpamPoolAllocations[] | select(.ResourceId==\"$c\") | .Cidr] | join(\" \")" \
	"10.0.1.0/24 10.0.16.0/20"
expect_errno EADDRNOTAVAIL wr "$C/cidrs" 192.168.0.0/24
expect_errno EADDRNOTAVAIL wr "$C/cidrs" 10.1.0.0/24
expect_errno EADDRNOTAVAIL wr "$C/cidrs" 10.0.0.0/15
expect_errno EADDRINUSE wr "$C/cidrs" 10.0.0.0/25
C2=$T/pools/c2
expect_ok mkdir "$C2"
expect_errno EADDRINUSE wr "$C2/cidrs" 10.0.16.0/24
expect_errno EADDRINUSE wr "$C2/cidrs" 10.0.0.0/16
expect_errno EINVAL wr "$C2/cidrs" fd00::/64
expect_ok wr "$C2/cidrs" 10.2.0.0/17
expect_errno ENOSPC wr "$C2/cidrs" /15
expect_file_eq "$C2/cidrs" 10.2.0.0/17
expect_errno EINVAL wr "$T/cidrs" /24
# /N follows the parent's allocation strategy
mkpool private lf 10.8.0.0/16
expect_ok wr "$POOL/allocation-strategy" last-fit
expect_ok mkdir "$POOL/pools/kid"
expect_ok wr "$POOL/pools/kid/cidrs" /24
expect_file_eq "$POOL/pools/kid/cidrs" 10.8.255.0/24 "/24 from a last-fit parent: its last /24"
# the parent cannot allocate what its children hold
expect_errno EADDRINUSE wr "$T/allocate" "x 10.2.0.0/24"
expect_errno EBUSY wr "$T/cidrs" -10.2.0.0/16
expect_ok wr "$C2/cidrs" -10.2.0.0/17
expect_ok wr "$T/cidrs" -10.2.0.0/16
expect_file_eq "$T/cidrs" 10.0.0.0/16 "the parent's CIDR can go once the child's is gone"

# address-family: fixed once a CIDR was provisioned; a child inherits
expect_errno EPERM wr "$T/address-family" ipv6
expect_file_eq "$T/address-family" ipv4
expect_errno EPERM wr "$C/address-family" ipv6
mkpool private f 10.9.0.0/16
F=$POOL
expect_ok wr "$F/cidrs" -10.9.0.0/16
expect_errno EPERM wr "$F/address-family" ipv6
mkpool private fresh
FR=$POOL
expect_errno EINVAL wr "$FR/address-family" ipv5
expect_ok wr "$FR/address-family" ipv6
expect_file_eq "$FR/address-family" ipv6 "address-family is rw before the first provision"
expect_ok wr "$FR/address-family" ipv4
expect_file_eq "$FR/address-family" ipv4

# locale: rw once (L592)
mkpool private l
L=$POOL
expect_ok wr "$L/locale" us-east-1
expect_file_eq "$L/locale" us-east-1
expect_errno EPERM wr "$L/locale" local
expect_errno EPERM wr "$L/locale" none
expect_file_eq "$L/locale" us-east-1 "the locale did not change"
expect_errno EINVAL wr "$FR/locale" nowhere-1
# a child's locale equals its parent's
expect_ok mkdir "$L/pools/lc"
expect_file_eq "$L/pools/lc/locale" us-east-1 "a child pool inherits the locale"
expect_errno "EPERM|EINVAL" wr "$L/pools/lc/locale" local

# cidrs-per-pool quota
expect_ok wr "$MNT/ipam/quotas/cidrs-per-pool" 3
expect_file_eq "$MNT/ipam/quotas/cidrs-per-pool" 3
mkpool private q 10.10.0.0/16 10.11.0.0/16 10.12.0.0/16
Q=$POOL
expect_errno EDQUOT wr "$Q/cidrs" 10.13.0.0/16
expect_eq "$(rd "$Q/cidrs" | wc -l)" 3 "still three CIDRs"
expect_ok wr "$MNT/ipam/quotas/cidrs-per-pool" 50
expect_ok wr "$Q/cidrs" 10.13.0.0/16
expect_errno EINVAL wr "$MNT/ipam/quotas/cidrs-per-pool" 0

finish
