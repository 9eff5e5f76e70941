#!/bin/bash
# 56-whole-tree: SPEC principle 13, the whole tree is readable
# (docs/tree.md "Reading the whole tree"):
#  - over a populated mount (pools, child pools, allocations, tags,
#    resources, a discovery fed, the host discovery refreshed, history),
#    `tar czf`, `rsync -a`, `cp -r`, `grep -r` and `find -type f | xargs
#    cat` exit 0 and print nothing on stderr;
#  - each copy is the mount (`diff -r` clean), and every file's size is the
#    number of bytes a read gives;
#  - reading never writes /errors: it is byte for byte what it was;
#  - `feed` reads back the last snapshot (time, resources), `refresh` the
#    time of the last refresh; both keep their mode for the writer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"

mount_ipamfs
S=$MNT/scopes/private
D=$MNT/discoveries
mkpool private top 10.0.0.0/8
mkpool private top/pools/dev 10.0.0.0/16
DEV=$POOL
expect_ok wr "$DEV/allocate" "web /24"
expect_ok wr "$DEV/allocate" "db /28 description=main database"
expect_ok wr "$DEV/tags/team" net
mkres private vpc-0a1 name="core vpc" locale=local
addcidr "$RES" 10.0.1.0/24
cat >"$TMPD/snap.jsonl" <<'JSON'
{"ResourceId":"vpc-0b2","ResourceType":"vpc","ResourceCidr":"10.0.2.0/24","VpcId":"vpc-0b2","ResourceName":"app vpc"}
{"ResourceId":"subnet-0c3","ResourceType":"subnet","ResourceCidr":"10.0.2.0/26","VpcId":"vpc-0b2"}
JSON
t cp "$TMPD/snap.jsonl" "$D/default/feed"
check $? "a snapshot fed to discoveries/default/feed"
expect_ok wr "$D/host/refresh" 1
expect_errno EINVAL wr "$DEV/allocate" "bad /99" # /errors is not empty
t cp "$MNT/errors" "$TMPD/errors.before"

# The files that were write-only read back what was written.
expect_match "$(rd "$D/default/feed")" $'^last-feed=[0-9T:-]+Z\nresources=2$' "feed reads back the last snapshot"
expect_file_eq "$D/default/last-feed" "$(rd "$D/default/feed" | sed -n 's/^last-feed=//p')" "... whose time is last-feed's"
expect_match "$(rd "$D/host/refresh")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "refresh reads back the time of the last refresh"
expect_eq "$(t stat -c %A "$D/default/feed" "$D/host/refresh" | tr '\n' ' ')" "-rw-r--r-- -rw-r--r-- " "feed and refresh: readable by whoever may write them"

# Each tool over the whole tree: exit 0, nothing on stderr.
run_tool() {
	local name=$1 rc
	shift
	t "$@" >"$TMPD/out" 2>"$TMPD/err"
	rc=$?
	expect_eq "$rc $(head -c 300 "$TMPD/err")" "0 " "$name exits 0 and prints no error"
}
run_tool "tar czf" tar czf "$TMPD/tree.tgz" -C "$MNT" .
run_tool "rsync -a" rsync -a "$MNT/" "$TMPD/rsync/"
run_tool "cp -r" cp -r "$MNT" "$TMPD/cp"
run_tool "grep -r" grep -r -c '' "$MNT"
run_tool "find -type f | xargs cat" sh -c 'find "$1" -type f -print0 | xargs -0 cat' sh "$MNT"
expect_match "$(cat "$TMPD/out")" 'main database' "... which read the files' content"

mkdir "$TMPD/tar" && tar xzf "$TMPD/tree.tgz" -C "$TMPD/tar"
for c in tar rsync cp; do
	out=$(t diff -r "$TMPD/$c" "$MNT" 2>&1)
	expect_eq "$out" "" "the $c copy = the mount (diff -r clean)"
done

# Every file's size is what a read gives.
bad=$(cd "$MNT" && t find . -type f -printf '%s %p\n' | while read -r size path; do
	got=$(wc -c <"$path")
	[ "$got" = "$size" ] || echo "$path: stat $size, read $got"
done)
expect_eq "$bad" "" "every file's size is the length of its content"

# Reading wrote nothing to /errors.
out=$(t cat "$MNT/errors" | cmp - "$TMPD/errors.before" 2>&1)
expect_eq "$out" "" "/errors is unchanged by all the reading"
finish
