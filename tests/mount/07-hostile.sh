#!/bin/bash
# 07-hostile: input a careless or malicious writer sends (SPEC principle 5,
# §9): writes over 64 KiB (E2BIG, even when every line is valid), NUL bytes,
# names with control characters, "..", "/", or 256+ bytes, malformed and
# non-canonical CIDRs, junk commands, empty and truncating opens; then the
# state (cidrs, allocations, status, description, pools) must be exactly what
# it was before, and /errors keeps only the last 1000 refusals.
. "$(dirname "$0")/lib.sh"

mount_ipamfs
PRIV=$MNT/scopes/private
mkpool private h 10.0.0.0/24
H=$POOL
expect_ok wr "$H/allocate" "a /26"
expect_ok wr "$H/description" "the hostile test"
mkpool private n 10.1.0.0/24
N=$POOL
expect_ok wr "$N/allocation-default-netmask-length" 28

state() {
	local p
	for p in "$H" "$N"; do
		rd "$p/cidrs"
		t ls -A "$p/allocations"
		rd "$p/status"
		rd "$p/description"
		rd "$p/allocations.json"
		rd "$p/cidrs.json"
	done
	t ls -A "$PRIV/pools"
	t ls -A "$MNT/scopes"
}
before=$(state)

# --- big writes: E2BIG, nothing applied --------------------------------------
head -c 1048576 /dev/zero | tr '\0' a >"$TMPD/mib-junk"
expect_errno E2BIG wr_file "$H/allocate" "$TMPD/mib-junk"
expect_errno E2BIG wr_file "$H/cidrs" "$TMPD/mib-junk"
expect_errno E2BIG wr_file "$H/description" "$TMPD/mib-junk"
# 1 MiB of valid commands: refused as a whole
for i in $(seq 1 40000); do printf 'v%d /32\n' "$i"; done | head -c 1048576 >"$TMPD/mib-valid"
expect_errno E2BIG wr_file "$N/allocate" "$TMPD/mib-valid"
# a single 100000-character line (over 64 KiB, under the kernel's 128 KiB)
head -c 100000 /dev/zero | tr '\0' b >"$TMPD/line100k"
echo >>"$TMPD/line100k"
expect_errno E2BIG wr_file "$H/allocate" "$TMPD/line100k"
expect_errno E2BIG wr_file "$H/cidrs" "$TMPD/line100k"
for i in $(seq 1 5000); do printf '10.%d.0.0/16\n' $((i % 250)); done | head -c 70000 >"$TMPD/cidrs70k"
expect_errno E2BIG wr_file "$N/cidrs" "$TMPD/cidrs70k"
# long but under 64 KiB: a too-long description is EINVAL
head -c 2000 /dev/zero | tr '\0' c >"$TMPD/desc2k"
expect_errno EINVAL wr_file "$H/description" "$TMPD/desc2k"
# 200 valid lines and one junk line in one write: EINVAL, nothing applied
for i in $(seq 1 200); do printf 'j%d /32\n' "$i"; done >"$TMPD/lines201"
printf 'j201 /33\n' >>"$TMPD/lines201"
expect_errno EINVAL wr_file "$N/allocate" "$TMPD/lines201"
printf 'k1 /32\nk2 /28\nk1 /32\n' >"$TMPD/dupname"
expect_errno EEXIST wr_file "$N/allocate" "$TMPD/dupname"

# --- NUL bytes ----------------------------------------------------------------
expect_errno EINVAL wrf "$H/description" 'a\0b'
expect_errno EINVAL wrf "$H/description" 'a\0b\n'
expect_errno EINVAL wrf "$H/allocate" 'x\0 /28\n'
expect_errno EINVAL wrf "$H/allocate" 'x /28\0\n'
expect_errno EINVAL wrf "$N/cidrs" '10.2.0.0/16\0\n'
expect_errno EINVAL wrf "$H/tags/k" 'v\0w'
t rm -f "$H/tags/k" # (the open made it: `touch tags/k` makes an empty tag)
expect_errno EINVAL wrf "$H/allocation-strategy" 'best-fit\0'

# --- names ----------------------------------------------------------------------
name255=$(printf 'n%.0s' $(seq 1 255))
name256=$(printf 'n%.0s' $(seq 1 256))
name300=$(printf 'n%.0s' $(seq 1 300))
expect_errno EINVAL mkdir "$N/allocations/a"$'\t'"b"
expect_errno EINVAL mkdir "$N/allocations/a"$'\n'"b"
expect_errno EINVAL mkdir "$N/allocations/"$'\x7f'
expect_errno EINVAL mkdir "$PRIV/pools/p"$'\x01'
expect_errno EINVAL mkdir "$MNT/scopes/s"$'\x1b'"[31m"
expect_errno_kernel "ENAMETOOLONG|EINVAL" mkdir "$N/allocations/$name300"
expect_errno_kernel "ENAMETOOLONG|EINVAL" mkdir "$PRIV/pools/$name256"
expect_errno_kernel "ENAMETOOLONG|EINVAL" mkdir "$MNT/scopes/$name300"
expect_errno_kernel EEXIST mkdir "$N/allocations/.."
expect_errno EINVAL mkdir "$N/allocations/ipam-reserved"
expect_errno EINVAL wrf "$H/allocate" 'a\tb /28\n'
expect_errno EINVAL wrf "$H/allocate" 'bell\a /28\n'
# a 255-byte name is a valid file name
expect_ok mkdir "$N/allocations/$name255"
expect_file_eq "$N/allocations/$name255/cidr" 10.1.0.0/28 "the 255-byte allocation got the default /28"
expect_ok rmdir "$N/allocations/$name255"
expect_ok mkdir "$PRIV/pools/$name255"
expect_ok rmdir "$PRIV/pools/$name255"

# --- CIDRs and commands ------------------------------------------------------------
expect_errno_each EINVAL "$N/cidrs" /33 ::/129 10.0.0.1/24 010.0.0.0/8 10.0.0.0/024 \
	10.0.0.0/8/8 10.0.0/24 10.0.0.0.0/24 256.0.0.0/8 10.0.0.0/-1 10.0.0.0/ 10.0.0.0 \
	0x0a.0.0.0/8 10.0.0.0/8x +-10.2.0.0/16 ++10.2.0.0/16 -+10.0.0.0/24 \
	"10.2.0.0/16 extra" "10.2.0.0 /16" "1e1.0.0.0/8" "10.2.0.0/16;rm" "fd00::/8::" \
	":::/64" "fd00::g/64" "fd00:::1/64" "fd00::/08" "+" "-" "/" "junk"
expect_errno_each EINVAL "$H/allocate" "x /33" "x /-1" "x /" "x /abc" "x / 26" \
	"x /26 /27" "x /26 foo=bar" "x 10.0.0.1/26" "x 010.0.0.0/26" "x 10.0.0.0/026" \
	"x 10.0.0.0/26 10.0.0.64/26" "x ::/129" "hello world" "/26 /26" "x y z /26" \
	"x /26 description" "x 10.0.0.0-10.0.0.63" \
	".. /28" ". /28" "a/b /28" "../../x /28" "$name256 /28" "ipam-pool-alloc-0123 /28"
expect_errno_each EINVAL "$H/allocation-min-netmask-length" 33 -1 abc 24x 1e1 99999999999999999999
expect_errno EINVAL wr "$H/allocation-strategy" "first-fit last-fit"
expect_errno EINVAL wr "$H/address-family" ipv4x
expect_errno EINVAL wr "$H/allocation-resource-tags" "=value"
expect_errno EINVAL wr "$MNT/ipam/operating-locales" "bad locale"
expect_errno EINVAL wr "$MNT/ipam/quotas/scopes" -5
expect_errno EINVAL wr "$MNT/ipam/quotas/scopes" 99999999999999999999999

# --- opens that write nothing change nothing; >> is > -----------------------------
t bash -c ': > "$1"' x "$H/cidrs"
check $? ": > cidrs succeeds"
t bash -c ': > "$1"' x "$H/allocate"
check $? ": > allocate succeeds"
t truncate -s 0 "$H/cidrs"
expect_file_eq "$H/cidrs" 10.0.0.0/24 "truncating cidrs deprovisions nothing"
expect_ok wrf "$H/allocate" '\n\n'
expect_ok t bash -c 'echo "app /28" >> "$1"' x "$H/allocate"
expect_file_eq "$H/allocations/app/cidr" 10.0.0.64/28 ">> allocates like >"
expect_ok rmdir "$H/allocations/app"

# --- read-only files and the shape of the tree cannot be changed -----------------
# (docs/tree.md: writing a read-only file EACCES; unlink/rmdir of a fixed
# entry, mkdir/create where nothing can be created, rename, link, symlink
# EPERM)
for f in status status.json pool.json cidrs.json allocations.json map id state depth source preview/24; do
	expect_errno_each EACCES "$H/$f" x
done
expect_errno EACCES wr "$H/allocations/a/cidr" 10.0.0.64/26
expect_errno EACCES wr "$MNT/ipam.json" "{}"
expect_errno EACCES wr "$MNT/ipam/id" ipam-00000000000000000
expect_errno EACCES wr "$MNT/scopes/private/type" public
expect_errno EACCES truncate -s 0 "$H/status"
expect_errno EPERM rm "$H/cidrs"
expect_errno EPERM rm "$H/status"
expect_errno EPERM rm "$H/allocations/a/cidr"
expect_errno EPERM rm "$MNT/README"
expect_errno EPERM mkdir "$H/notadir"
expect_errno EPERM touch "$H/newfile"
expect_errno EPERM touch "$H/allocations/a/newfile"
expect_errno EPERM touch "$MNT/newfile"
expect_errno EPERM ln -s /etc/passwd "$H/link"
expect_errno EPERM mkdir "$MNT/by-id/x"
expect_errno EPERM ln -s ../scopes "$MNT/by-id/ipam-pool-00000000000000000"
expect_errno EPERM rmdir "$H/allocations"
expect_errno EPERM rmdir "$H/pools"
expect_errno EPERM rmdir "$MNT/scopes/private/pools"
expect_errno EPERM mv "$H" "$PRIV/pools/renamed"
expect_errno EPERM mv "$H/allocations/a" "$H/allocations/b"
expect_errno EPERM ln "$H/status" "$H/hardlink"

after=$(state)
expect_eq "$after" "$before" "after all of it: cidrs, allocations, status, description, pools unchanged"

# --- /errors keeps the last 1000 refusals -------------------------------------------
t bash -c 'for i in $(seq 1 1010); do printf "%s\n" "bad$i junk" > "$1" 2>/dev/null; done; exit 0' x "$H/allocate"
expect_eq "$(rd "$MNT/errors" | wc -l)" 1000 "/errors holds the last 1000 refusals"
expect_match "$(errors_last)" ' EINVAL: ' "the newest refusal is last"
expect_eq "$(state)" "$before" "1010 refused writes changed nothing"

finish
