#!/bin/bash
# map.sh - makes docs/img/map.png: the guide's CLI tutorial hierarchy
# (L3181-L3480: top 10.0.0.0/8, regional 10.0.0.0/16 in us-east-1, dev
# 10.0.0.0/24, a VPC with a /26 from dev) and a few more resources that
# show every state of the resource CIDR map (L2698-L2705): a second VPC
# from dev flagged noncompliant by a rule added later, two unmanaged VPCs
# that overlap, one that does not. Renders the private scope's zoom into
# 10.0.0.0/23 with rsvg-convert.
#
#   docs/img/map.sh build/fs/ipamfs      (as root; needs /dev/fuse)
set -eu
IPAMFS=${1:?usage: map.sh path/to/ipamfs}
OUT=$(cd "$(dirname "$0")" && pwd)/map.png
T=$(mktemp -d)
trap 'fusermount3 -u "$T/m" 2>/dev/null; rm -rf "$T"' EXIT
mkdir "$T/m"
"$IPAMFS" -o home-locale=us-east-1 "$T/db" "$T/m"
cd "$T/m"
P=scopes/private/pools
R=scopes/private/resources
mkdir $P/top && echo ipv4 >$P/top/address-family && echo 10.0.0.0/8 >$P/top/cidrs
mkdir $P/top/pools/regional && echo us-east-1 >$P/top/pools/regional/locale
echo 10.0.0.0/16 >$P/top/pools/regional/cidrs
D=$P/top/pools/regional/pools/dev
mkdir $D && echo us-east-1 >$D/locale && echo 10.0.0.0/24 >$D/cidrs
mkdir $R/vpc-0tutorial && echo us-east-1 >$R/vpc-0tutorial/locale
echo "$(cat $D/id) /26" >$R/vpc-0tutorial/allocate
mkdir $R/vpc-0b && echo us-east-1 >$R/vpc-0b/locale
echo "$(cat $D/id) /27" >$R/vpc-0b/allocate
echo 26 >$D/allocation-max-netmask-length # vpc-0b is now noncompliant
mkdir $R/vpc-0c && echo 10.0.0.128/26 >$R/vpc-0c/cidrs
mkdir $R/vpc-0d && echo 10.0.0.128/27 >$R/vpc-0d/cidrs
mkdir $R/vpc-0e && echo 10.0.1.0/25 >$R/vpc-0e/cidrs
rsvg-convert scopes/private/maps/10.0.0.0_23.svg -o "$OUT"
echo "wrote $OUT"
