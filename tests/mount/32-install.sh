#!/bin/bash
# 32-install: what `meson install` puts in place for running ipamfs as a
# service (issue 8 §6): the program, ipamfs(8), ipamfs(5) generated from
# the tree's /README, and ipamfs@.service. The unit passes
# `systemd-analyze verify` (with ExecStart pointed at the staged binary);
# the man pages render with man(1) and groff without a warning; ipamfs(5)
# has the README's text. The staged binary mounts.
. "$(dirname "$0")/lib.sh"

build=$(cd "$(dirname "$IPAMFS")/.." && pwd)
new_tmpdir
dest=$TMPD/dest
out=$(timeout 120 meson install -C "$build" --no-rebuild --destdir "$dest" 2>&1)
check $? "meson install --destdir"
find_one() { find "$dest" -path "*$1" -type f | head -n 1; }
bin=$(find_one /bin/ipamfs)
man8=$(find_one /man8/ipamfs.8)
man5=$(find_one /man5/ipamfs.5)
unit=$(find_one /systemd/system/ipamfs@.service)
for f in bin man8 man5 unit; do
	[ -n "${!f}" ]
	check $? "installed: $f (${!f#"$dest"})"
done

# the unit
mkdir "$TMPD/units"
sed "s|^ExecStart=[^ ]*/ipamfs |ExecStart=$bin |" "$unit" >"$TMPD/units/ipamfs@.service"
grep -q "^ExecStart=$bin -f " "$TMPD/units/ipamfs@.service"
check $? "the unit runs ipamfs -f from the installed bindir"
grep -q "^Restart=on-failure" "$unit" && grep -q "^WantedBy=multi-user.target" "$unit"
check $? "the unit restarts on failure and starts at boot"
out=$(cd "$TMPD/units" && timeout 60 systemd-analyze verify --man=no "$TMPD/units/ipamfs@mnt-ipam.service" 2>&1)
rc=$?
[ $rc -eq 0 ] && [ -z "$out" ]
check $? "systemd-analyze verify ipamfs@mnt-ipam.service: no error, no warning"
[ -z "$out" ] || diag "$out"

# the man pages
for page in "$man8" "$man5"; do
	name=$(basename "$page")
	out=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>&1)
	[ -z "$out" ]
	check $? "groff -man -ww: $name renders without a warning"
	[ -z "$out" ] || diag "$out"
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >"$TMPD/$name.txt")
	[ -z "$out" ] && [ -s "$TMPD/$name.txt" ]
	check $? "man -l: $name renders without a warning"
done
for s in SYNOPSIS OPTIONS FSTAB SERVICE UNMOUNTING BACKUP "EXIT STATUS"; do
	grep -q "^$s" "$TMPD/ipamfs.8.txt"
	check $? "ipamfs(8) has a section $s"
done
grep -q -- "sync=normal" "$TMPD/ipamfs.8.txt"
check $? "ipamfs(8) documents -o sync=normal"

# ipamfs(5) is the README of a mount
DB=$TMPD/ipam.db
MNT=$TMPD/mnt
out=$(timeout "$TIMEOUT" "$bin" "$DB" "$MNT" 2>&1)
check $? "the installed binary mounts"
MOUNTS+=("$MNT")
wait_mounted "$MNT"
rd "$MNT/README" | sed 1d | tr -s ' \n' '\n\n' | grep -v '^$' >"$TMPD/readme.words"
sed 's/‐//g' "$TMPD/ipamfs.5.txt" | tr -s ' \n' '\n\n' | grep -v '^$' >"$TMPD/man5.words"
missing=$(grep -vxFf "$TMPD/man5.words" "$TMPD/readme.words" | grep -v -- '-$' | head -n 5)
[ -z "$missing" ]
check $? "every word of /README is in ipamfs(5)"
[ -z "$missing" ] || diag "missing: $missing"
unmount_ipamfs

finish
