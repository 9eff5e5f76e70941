#!/bin/bash
# 52-feed-interrupted.sh - a dying writer applies nothing it did not finish
# (SPEC principle 14, docs/tree.md "discoveries"): a complete JSON document
# (a describe-* output, a JSON array of records) is a snapshot and ends what
# it lacks; JSON lines add and update, and end what they lack only when the
# stream's last line is {"EndOfSnapshot":true}. A writer killed mid-stream
# (SIGINT on the pipeline, SIGKILL of the writer) ends nothing and leaves no
# false "gone" period in the history; a writer killed mid-document applies
# nothing at all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"
mount_ipamfs -o home-locale=us-east-1
F=$MNT/discoveries/default/feed
R=$MNT/scopes/private/resources
EOS='{"EndOfSnapshot":true}'

line() { # N [NAME]
	printf '{"ResourceId":"vpc-%017x","ResourceType":"vpc","ResourceCidr":"10.9.%d.0/24","ResourceName":"%s"}\n' \
		"$1" "$1" "${2:-v$1}"
}
for i in $(seq 1 20); do line "$i"; done >"$TMPD/all.jsonl"
expect_ok feed "$TMPD/all.jsonl" "$F"
expect_eq "$(t ls "$R" | wc -l)" 20 "a feed of 20 JSON lines: 20 VPCs"

# ended: how many of the 20 CIDRs have no active history record (a
# renamed VPC ends one record and starts the next; a gone one has none)
ended() {
	local c n=0
	for c in $(seq 1 20); do
		t jq -e '[.HistoryRecords[] | select(.SampledEndTime == null)] | length == 0' \
			"$MNT/scopes/private/history/10.9.$c.0_24.json" >/dev/null && n=$((n + 1))
	done
	echo $n
}

# The reproducer of issue 9 §2: Ctrl-C on a slow `cat snapshot > feed`
# (SIGINT to the whole pipeline) after 3 of 20 lines, names changed.
for i in $(seq 1 20); do line "$i" "new$i"; done >"$TMPD/renamed.jsonl"
echo "$EOS" >>"$TMPD/renamed.jsonl"
t timeout -s INT 1.5 bash -c 'while IFS= read -r l; do printf "%s\n" "$l"; sleep 0.4; done < "$1" | cat > "$2"' \
	x "$TMPD/renamed.jsonl" "$F"
expect_eq "$(t ls "$R" | wc -l)" 20 "SIGINT mid-feed: all 20 VPCs are still there"
expect_eq "$(ended)" 0 "SIGINT mid-feed: every CIDR has its active history record"
expect_file_eq "$R/vpc-00000000000000001/name" new1 "the lines that arrived updated (new1)"
expect_file_eq "$R/vpc-00000000000000014/name" v20 "the lines that did not arrive changed nothing (v20)"

# A writer killed with SIGKILL in the middle of a line: the unfinished
# line is not JSON, the whole feed is refused (EINVAL in /errors).
before=$(errors_lines)
(t python3 -c '
import os, signal, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
data = open(sys.argv[2], "rb").read()
os.write(fd, data[:len(data) // 2])   # mid-stream, mid-line
os.kill(os.getpid(), signal.SIGKILL)' "$F" "$TMPD/all.jsonl") 2>/dev/null
expect_eq "$(t ls "$R" | wc -l)" 20 "SIGKILL mid-line: all 20 VPCs are still there"
expect_eq "$(ended)" 0 "SIGKILL mid-line: no end time"
expect_eq "$(errors_lines)" $((before + 1)) "the broken stream is refused in /errors"
expect_match "$(errors_last)" "feed EINVAL: " "/errors: feed EINVAL"

# A JSON array is a complete snapshot; killed mid-document it applies nothing.
{ echo '['; for i in $(seq 1 10); do line "$i" "arr$i" | sed 's/$/,/'; done; line 11 arr11; echo ']'; } >"$TMPD/arr.json"
before=$(errors_lines)
t timeout -s INT 1.5 bash -c 'while IFS= read -r l; do printf "%s\n" "$l"; sleep 0.4; done < "$1" | cat > "$2"' \
	x "$TMPD/arr.json" "$F"
expect_eq "$(t ls "$R" | wc -l)" 20 "SIGINT mid-array: nothing ended"
expect_file_eq "$R/vpc-00000000000000001/name" new1 "SIGINT mid-array: nothing updated"
expect_match "$(errors_last)" "an incomplete or malformed JSON array" "/errors says the array is incomplete"
# ... and a describe-vpcs document killed mid-document
t timeout -s INT 1 bash -c 'while IFS= read -r l; do printf "%s\n" "$l"; sleep 0.1; done < "$1" | cat > "$2"' \
	x "$SRCDIR/../cases/feeds/describe-vpcs.json" "$F" 2>/dev/null
expect_eq "$(t ls "$R" | wc -l)" 20 "SIGINT mid-describe-vpcs: nothing ended, nothing added"
expect_match "$(errors_last)" "neither a complete JSON document" "/errors says the document is incomplete"
expect_eq "$(ended)" 0 "no false 'gone' period after three interrupted feeds"

# Opening and closing the feed (: >, touch) ends nothing.
expect_ok t bash -c ': > "$1"' x "$F"
expect_eq "$(t ls "$R" | wc -l)" 20 ": > feed ends nothing"

# The whole array, finished: a complete snapshot, the 9 it lacks end.
expect_ok feed "$TMPD/arr.json" "$F"
expect_eq "$(t ls "$R" | wc -l)" 11 "a finished JSON array is a snapshot: 11 VPCs"
expect_file_eq "$R/vpc-00000000000000001/name" arr1
expect_eq "$(ended)" 9 "the 9 CIDRs it lacks have no active record"
# JSON lines without the end-of-snapshot line add and end nothing
{ line 12; line 13; } >"$TMPD/add.jsonl"
expect_ok feed "$TMPD/add.jsonl" "$F"
expect_eq "$(t ls "$R" | wc -l)" 13 "JSON lines without the end line add 12 and 13, end nothing"
# the end-of-snapshot line alone: the stream was complete and empty
expect_ok feed_text "$EOS" "$F"
expect_eq "$(t ls "$R" | wc -l)" 0 "the end-of-snapshot line alone ends every VPC of the discovery"
# the end line must be last and exact
expect_errno EINVAL feed_text '{"EndOfSnapshot":false}' "$F"
printf '%s\n%s' "$EOS" "$(line 1)" >"$TMPD/late.jsonl"
expect_errno EINVAL feed "$TMPD/late.jsonl" "$F"
expect_match "$(errors_last)" "line 2: a line after the end-of-snapshot line" "/errors: a line after the end"

finish
