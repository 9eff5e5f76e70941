#!/bin/bash
# 55-times: SPEC principle 12, times that move (docs/tree.md "Times"):
#  - the mtime of a file or directory is the change time of the object its
#    content belongs to: an allocation moves its own files, its pool's
#    files and directories and the scope's, and nothing in a sibling pool;
#  - an incremental `rsync -a --delete` of the whole tree into an existing
#    copy after changes gives exactly a fresh full copy (`diff -r` clean),
#    a same-size change included; times are nanosecond-exact, so
#    `--modify-window=-1` sees a change made in the second of the copy;
#  - `find -newer` sees the changed files and only those; `ls -lt` lists
#    the pool changed last first;
#  - the times survive a remount (they are stored), and the kernel's cached
#    attributes follow every change (a stat right after the change sees it).
. "$(dirname "$0")/lib.sh"
export LC_ALL=C

mount_ipamfs
S=$MNT/scopes/private
mkpool private top 10.0.0.0/16
TOP=$POOL
mkpool private top/pools/dev 10.0.0.0/20
DEV=$POOL
mkpool private other 10.9.0.0/16
OTHER=$POOL
expect_ok wr "$DEV/allocate" "web /24"
expect_ok wr "$DEV/description" aaa
expect_ok wr "$OTHER/allocate" "far /24"

mtime() { t stat -c %.9Y "$1"; }

# Each change moves what shows it and nothing else.
before_other=$(mtime "$OTHER/status")
before_top=$(mtime "$TOP/status")
before_dev=$(mtime "$DEV/status")
expect_ok wr "$DEV/allocate" "db /28"
after_dev=$(mtime "$DEV/status")
expect_eq "$(echo "$after_dev > $before_dev" | bc)" 1 "an allocation moves its pool's status ($before_dev -> $after_dev)"
expect_eq "$(mtime "$DEV/allocations")" "$after_dev" "... and its allocations/ directory"
expect_eq "$(mtime "$DEV/allocations.json")" "$after_dev" "... and allocations.json"
expect_eq "$(mtime "$DEV/allocations/db/cidr")" "$after_dev" "the new allocation's files carry the same time"
expect_eq "$(mtime "$S/status")" "$after_dev" "the scope's status moves with it"
expect_eq "$(mtime "$MNT/events")" "$after_dev" "/events moves when a line is added"
expect_eq "$(mtime "$OTHER/status")" "$before_other" "a sibling pool's status keeps its time"
expect_eq "$(mtime "$TOP/status")" "$before_top" "the parent pool's status keeps its time (its allocations did not change)"
expect_eq "$(mtime "$DEV/allocations/web/cidr")" "$(mtime "$DEV/allocations/web")" "an untouched allocation keeps one time for its directory and files"
expect_eq "$(echo "$(mtime "$DEV/allocations/web")" '<' "$after_dev" | bc)" 1 "... older than the new one"

# next_second: sleeps into the next second of the clock.
next_second() {
	local s
	s=$(date +%s)
	while [ "$(date +%s)" = "$s" ]; do sleep 0.05; done
}

# Changes after a copy: an incremental rsync gives a fresh copy. rsync's
# quick check compares sizes and whole seconds (as on any filesystem), so
# the changes come in a later second than the copy; the same-size
# description change is what only the time can show.
C1=$TMPD/copy1 C2=$TMPD/copy2 C3=$TMPD/copy3
t rsync -a --delete "$MNT/" "$C1/"
check $? "rsync -a of the whole tree"
next_second
t touch "$TMPD/stamp"
expect_ok wr "$DEV/description" bbb
expect_ok wr "$DEV/allocate" "cache /26"
expect_ok rmdir "$DEV/allocations/web"
expect_ok wr "$S/description" "scope now described"
t rsync -a --delete "$MNT/" "$C1/"
check $? "incremental rsync -a --delete into the existing copy"
t rsync -a "$MNT/" "$C2/"
check $? "fresh rsync -a into an empty directory"
out=$(diff -r "$C1" "$C2" 2>&1)
expect_eq "$out" "" "incremental copy = fresh copy (diff -r clean)"
out=$(t diff -r "$C1" "$MNT" 2>&1)
expect_eq "$out" "" "incremental copy = the mount (diff -r clean)"
expect_file_eq "$C1/scopes/private/pools/top/pools/dev/description" bbb "the same-size description change was copied"

# Within one second the times still differ (nanoseconds): rsync sees a
# same-size change made right after its copy with --modify-window=-1.
t rsync -a --delete --modify-window=-1 "$MNT/" "$C3/"
expect_ok wr "$DEV/description" ccc
t rsync -a --delete --modify-window=-1 "$MNT/" "$C3/"
expect_file_eq "$C3/scopes/private/pools/top/pools/dev/description" ccc "a same-size change in the same second, rsync --modify-window=-1"
out=$(t diff -r "$C3" "$MNT" 2>&1)
expect_eq "$out" "" "... and that copy = the mount (diff -r clean)"

# find -newer: what changed since the stamp, and nothing of the other pool.
newer=$(cd "$MNT" && t find . -newer "$TMPD/stamp" | sort)
for p in ./scopes/private/pools/top/pools/dev/status \
	./scopes/private/pools/top/pools/dev/allocations/cache/cidr ./scopes/private/status ./scopes/private/description ./events \
	./scopes/private/pools/top/pools/dev/description; do
	expect_eq "$(grep -cx "$p" <<<"$newer")" 1 "find -newer sees $p"
done
expect_eq "$(grep -c '^./scopes/private/pools/other' <<<"$newer")" 0 "find -newer sees nothing of the untouched pool"
expect_eq "$(grep -c '^./scopes/private/pools/top/[a-z.]*$' <<<"$newer")" 0 "... nor the parent pool's files"

# ls -lt: the pool changed last comes first.
expect_ok wr "$OTHER/allocate" "near /24"
expect_eq "$(t ls -t "$S/pools" | head -1)" other "ls -lt pools/: the pool changed last first"
expect_ok wr "$TOP/description" "top changed"
expect_eq "$(t ls -t "$S/pools" | head -1)" top "... and again after another change"

# The kernel keeps attributes for 60 s: a change made through another path
# still reaches a directory whose attributes it holds.
dev_id=$(idof "$DEV")
t stat "$DEV" "$DEV/status" >/dev/null
before=$(mtime "$DEV")
expect_ok wr "$MNT/by-id/$dev_id/allocate" "via-link /28"
expect_eq "$(echo "$(mtime "$DEV")" '>' "$before" | bc)" 1 "a cached directory shows the change made through /by-id at once"
expect_eq "$(mtime "$DEV/status")" "$(mtime "$DEV")" "... and so does its cached status"

# The times are stored: a remount shows the same ones.
want=$(mtime "$DEV/status")
unmount_ipamfs
start_ipamfs
expect_eq "$(mtime "$DEV/status")" "$want" "a remount keeps the stored change time"
before=$(mtime "$S/pools/other")
expect_ok wr "$OTHER/tags/team" net
expect_eq "$(echo "$(mtime "$S/pools/other")" '>' "$before" | bc)" 1 "a tag moves its pool's directory"
finish
