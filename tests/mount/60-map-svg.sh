#!/bin/bash
# 60-map-svg: map.svg and maps/<cidr>.svg of pools and scopes (issue 15),
# checked by real tools: xmllint for well-formedness, rsvg-convert (librsvg)
# to render, and the colours read back from the PNG at the blocks the SVG
# says it drew (svg-pixels.py). The guide's five states (L2698-L2705) and,
# in a pool, child-pool space, custom allocations and free space; the
# drill-down (every link leads to a file that exists), an IPv6 /48 with
# /56s and exact sizes, merging of blocks too small to see, and the usual
# generated-file rules (size at stat = bytes read, content follows changes).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"

for tool in xmllint rsvg-convert python3; do
	command -v $tool >/dev/null || {
		echo "Bail out! $tool is missing (.ci/deps --test installs it)"
		exit 1
	}
done
PIXELS=${SRCDIR:-$(dirname "$0")}/svg-pixels.py

FREE='#d4edc9' POOLC='#7e57c2' CUSTOM='#64b5f6' COMPLIANT='#2e7d32'
OCCUPIED='#1a4f9c' OVERLAP='#d32f2f' NONCOMPLIANT='#f9a825'

mount_ipamfs
mkpool private top 10.0.0.0/8
TOP=$POOL
mkpool private top/pools/east 10.0.0.0/16
EAST=$POOL
mkpool private top/pools/east/pools/dev 10.0.0.0/20
DEV=$POOL
dev=$(idof "$DEV")
expect_ok wr "$DEV/allocate" "lab 10.0.8.0/22"
mkres private vpc-0a
expect_eq "$(wr_readback "$RES/allocate" "$dev /24")" 10.0.0.0/24 "vpc-0a gets 10.0.0.0/24"
mkres private vpc-0b
expect_eq "$(wr_readback "$RES/allocate" "$dev /26")" 10.0.1.0/26 "vpc-0b gets 10.0.1.0/26"
# a rule added afterwards flags vpc-0b noncompliant (L569)
expect_ok wr "$DEV/allocation-max-netmask-length" 25
mkres private vpc-0c
addcidr "$RES" 10.0.2.0/24
mkres private vpc-0d
addcidr "$RES" 10.0.2.0/25
mkres private vpc-0e
addcidr "$RES" 192.168.0.0/16
expect_match "$(rd "$MNT/scopes/private/resources/vpc-0b/status")" "noncompliant" "vpc-0b is noncompliant"
expect_match "$(rd "$MNT/scopes/private/resources/vpc-0c/status")" " overlapping" "vpc-0c overlaps vpc-0d"

W=$TMPD/work
mkdir -p "$W"

# render NAME PATH: copies PATH to $W/NAME.svg, checks it with xmllint and
# renders $W/NAME.png; the checks after it read those.
render() {
	if ! t cp "$2" "$W/$1.svg"; then
		not_ok "cp $2"
		return 1
	fi
	expect_ok xmllint --noout "$W/$1.svg"
	expect_ok rsvg-convert "$W/$1.svg" -o "$W/$1.png"
}

# colours NAME 'TITLE-PREFIX=#rrggbb'...: the rendered pixels of those
# blocks are those colours.
colours() {
	local name=$1 c got want
	shift
	got=$(python3 "$PIXELS" "$W/$name.svg" "$W/$name.png" "$@" 2>&1)
	want=$(for c in "$@"; do printf '%s %s\n' "${c%=*}" "${c##*=}"; done)
	expect_eq "$got" "$want" "$name.png: colours of ${*%%=*}"
}

# ---- listed, self-contained
expect_match "$(t ls "$DEV")" $'map\nmap.svg\nmaps' "a pool lists map, map.svg and maps/"
expect_match "$(t ls "$MNT/scopes/private")" $'map.svg\nmaps' "a scope lists map.svg and maps/"
expect_eq "$(t stat -c %s "$DEV/map.svg")" "$(rd "$DEV/map.svg" | wc -c)" "size at stat = bytes read"
expect_eq "$(rd "$DEV/map.svg" | grep -Ec '<script|<image|<use|<foreignObject|xlink:|@import|url\(')" 0 \
	"no script, no image, no external reference"
expect_eq "$(rd "$DEV/map.svg" | grep -o 'https\?://[^"]*' | sort -u)" "http://www.w3.org/2000/svg" \
	"the only URL is the SVG namespace"

# ---- a pool: its allocations, child pool space, custom and free space
render dev "$DEV/map.svg"
colours dev "10.0.0.0/24 vpc-0a=$COMPLIANT" "10.0.1.0/26 vpc-0b=$NONCOMPLIANT" \
	"10.0.8.0/22 lab=$CUSTOM" "10.0.1.64/26 (available=$FREE" "10.0.4.0/22 (available=$FREE"
expect_match "$(rd "$DEV/map.svg")" '10\.0\.0\.0/20 - provisioned - 4096 addresses' "the heading: CIDR, provisioned, exact size"
render east "$EAST/map.svg"
colours east "10.0.0.0/20 dev=$POOLC" "10.0.16.0/20 (available=$FREE"
expect_match "$(rd "$EAST/map.svg")" '<text[^>]*>dev</text>' "a wide enough block is labelled with its holder"

# ---- a scope: the guide's five states
render scope "$MNT/scopes/private/map.svg"
merged=$(grep -o '<title>[0-9]* blocks 10\.0\.0\.0-[^<]*' "$W/scope.svg" | head -1 | sed 's/<title>//')
expect_match "$merged" '^[0-9]+ blocks 10\.0\.0\.0-.*: overlapping, 100%$' "the scope's /8 merges the small VPCs, overlapping shown"
colours scope "$merged=$OVERLAP" "192.168.0.0 - 192.168.255.255 (occupied=$OCCUPIED"
expect_match "$(rd "$MNT/scopes/private/map.svg")" '[0-9]+ blocks narrower than 4 px are drawn merged' \
	"the picture says it merged blocks"
render zoom "$MNT/scopes/private/maps/10.0.0.0_20.svg"
colours zoom "10.0.0.0/24 vpc-0a=$COMPLIANT" "10.0.1.0/26 vpc-0b=$NONCOMPLIANT" \
	"10.0.2.0/24 vpc-0c=$OVERLAP" "10.0.3.0/24 (available=$FREE" "10.0.4.0/22 (available=$FREE"
render zoom2 "$MNT/scopes/private/maps/10.0.2.0_24.svg"
colours zoom2 "10.0.2.0/25 vpc-0d=$OVERLAP" "10.0.2.128 - 10.0.2.255 (overlapping=$OVERLAP"

# ---- drill-down: every link leads to a file
links_ok() { # DIR SVG-PATH: each href, relative to DIR, exists
	local dir=$1 bad=0 h n=0
	for h in $(rd "$2" | grep -o 'href="[^"]*"' | sed 's/href="//; s/"$//' | sort -u); do
		n=$((n + 1))
		t test -f "$dir/$h" || { bad=$((bad + 1)); diag "missing: $dir/$h"; }
	done
	expect_eq "$bad" 0 "$n links of $(_describe "$2") lead to files"
}
links_ok "$DEV" "$DEV/map.svg"
links_ok "$DEV/maps" "$DEV/maps/10.0.1.0_24.svg"
links_ok "$MNT/scopes/private" "$MNT/scopes/private/map.svg"
links_ok "$MNT/scopes/private/maps" "$MNT/scopes/private/maps/10.0.0.0_20.svg"
expect_eq "$(t ls "$DEV/maps" | wc -l)" 17 "dev/maps lists its /20 and the 16 rows"
expect_match "$(t ls "$DEV/maps")" '^10\.0\.0\.0_20\.svg' "dev/maps lists the provisioned CIDR"
expect_match "$(rd "$DEV/maps/10.0.1.0_24.svg")" 'zoom out to 10\.0\.0\.0/20' "a zoom links back up"
expect_errno_kernel ENOENT rd "$DEV/maps/10.1.0.0_24.svg"
expect_errno_kernel ENOENT rd "$DEV/maps/10.0.0.0_24"
expect_errno_kernel ENOENT rd "$DEV/maps/junk.svg"
expect_errno_kernel ENOENT rd "$DEV/maps/10.0.0.1_24.svg"
expect_fail t test -e "$MNT/scopes/private/maps/172.16.0.0_12.svg"

# ---- a pool hidden from others (0700) hides the scope's picture too, as
# the scope's status (docs/design/security.md); a pool's own picture is
# inside the pool
expect_eq "$(t stat -c %a "$MNT/scopes/private/map.svg" "$MNT/scopes/private/maps")" $'444\n755' \
	"the scope's map.svg and maps/ are open while nothing is hidden"
expect_ok chmod 0700 "$TOP"
expect_eq "$(t stat -c %a "$MNT/scopes/private/map.svg" "$MNT/scopes/private/maps" \
	"$MNT/scopes/private/maps/10.0.0.0_20.svg")" $'400\n700\n400' \
	"a hidden pool makes the scope's map.svg and maps/ its owner's"
expect_ok chmod 0755 "$TOP"
expect_eq "$(t stat -c %a "$MNT/scopes/private/map.svg")" 444 "open again"

# ---- the whole tree stays readable (tar reads every listed zoom)
expect_ok tar -cf /dev/null -C "$MNT" scopes

# ---- the content follows the IPAM
expect_ok wr "$DEV/allocate" "later 10.0.12.0/24"
expect_match "$(rd "$DEV/map.svg")" '10\.0\.12\.0/24 later \(custom allocation' "a new allocation appears"
expect_eq "$(t stat -c %s "$DEV/map.svg")" "$(rd "$DEV/map.svg" | wc -c)" "size at stat = bytes read after a change"

# ---- IPv6: a /48 with /56s, exact sizes
mkpool private v6 fd12:3456:789a::/48
V6=$POOL
expect_ok wrf "$V6/allocate" 'a fd12:3456:789a:100::/56\nb fd12:3456:789a:f000::/56\n'
render v6 "$V6/map.svg"
colours v6 "fd12:3456:789a:100::/56 a=$CUSTOM" "fd12:3456:789a:f000::/56 b=$CUSTOM" \
	"fd12:3456:789a:200::/55 (available=$FREE"
expect_match "$(rd "$V6/map.svg")" 'fd12:3456:789a::/48 - provisioned - 1208925819614629174706176 addresses' \
	"the /48 is 2^80 addresses, exactly"
expect_match "$(rd "$V6/maps/fd12:3456:789a:100::_56.svg")" '4722366482869645213696 addresses' \
	"the /56 zoom: 2^72 addresses, exactly"
links_ok "$V6" "$V6/map.svg"

# ---- blocks too small to see are merged, and the file stays small
mkpool private top/pools/many 10.1.0.0/16
MANY=$POOL
lines=$(for i in $(seq 1 2000); do printf 'n%d /30\\n' "$i"; done)
expect_ok wrf "$MANY/allocate" "$lines"
render many "$MANY/map.svg"
n=$(grep -o '[0-9]* blocks narrower than' "$W/many.svg" | cut -d' ' -f1)
expect_match "$n" '^[0-9]+$' "the picture counts the merged blocks"
[ "${n:-0}" -ge 1990 ] && ok "the 2000 /30s are merged ($n blocks)" || not_ok "merged only ${n:-0} blocks"
rects=$(grep -c '<rect' "$W/many.svg")
[ "$rects" -lt 60 ] && ok "2000 allocations drawn in $rects rectangles" || not_ok "$rects rectangles"
colours many "10.1.31.64/26 (available=$FREE"

finish
