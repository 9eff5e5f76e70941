#!/bin/bash
# 58-large-views: the memory of large views (issue 14, docs/design/views.md).
# A pool with 20 000 allocations: allocations.json (4.8 MB) is what jq
# makes of it (jq --indent 2 rewrites the same bytes; the CIDRs are the
# first 20 000 /30s of the pool, as python's ipaddress counts them), one
# open costs the daemon at most twice the file's size, and once the readers
# have closed its resident memory is back within a bound of what it was
# before: the file's size while the content cache keeps the rendering,
# nothing of it after a change has made the rendering stale. The same for
# /export.json (which is never cached past a change either).
. "$(dirname "$0")/lib.sh"

N=20000
SLACK=$((8 * 1024)) # KiB: the daemon's own noise (threads, SQLite pages)
# AddressSanitizer keeps freed memory in quarantine and replaces malloc
# (mallopt, malloc_trim do nothing): the memory bounds are glibc's
SANITIZED=
if ldd "$IPAMFS" 2>/dev/null | grep -q 'libasan'; then
	SANITIZED=1
fi
# bound CONDITION DESCRIPTION: a memory bound, skipped under ASan
bound() {
	if [ -n "$SANITIZED" ]; then
		TESTS_RUN=$((TESTS_RUN + 1))
		echo "ok $TESTS_RUN # SKIP under AddressSanitizer: $2"
	else
		expect_eq "$1" 1 "$2"
	fi
}

mount_ipamfs
PID=$(db_holder "$DB")
[ -n "$PID" ] || { echo "Bail out! no daemon holds $DB"; exit 1; }
mkpool private big 10.0.0.0/8
P=$POOL

# N allocations, 2 000 lines per command batch (64 KiB per write)
for i in $(seq "$N"); do
	printf '/30 description=\xc3\xa9 "q\\ %d\n' "$i"
done >"$TMPD/lines"
split -l 2000 "$TMPD/lines" "$TMPD/part."
for f in "$TMPD"/part.*; do
	t cp "$f" "$P/allocate" || { echo "Bail out! allocate $f"; exit 1; }
done
expect_eq "$(nalloc "$P")" "$N" "$N allocations"

rss() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$PID/status"; }
hwm() { awk '$1 == "VmHWM:" { print $2 }' "/proc/$PID/status"; }
# the peak is measured from here (reset to the current RSS)
reset_peak() { echo 5 >"/proc/$PID/clear_refs"; }
settle() { sleep 0.3; }

# views: FILE -> checks of one large file
views() {
	local f=$1 what=$2 size base peak after i pids
	settle
	base=$(rss)
	reset_peak
	t cat "$f" >"$TMPD/copy" || { not_ok "cat $what"; return; }
	peak=$(hwm)
	size=$(($(stat -c %s "$TMPD/copy") / 1024))
	bound "$(((peak - base) <= 2 * size + SLACK))" \
		"one open of $what ($size KiB) costs at most twice its size (peak +$((peak - base)) KiB)"
	for i in 1 2; do t cat "$f" >/dev/null; done
	pids=()
	for i in 1 2 3 4 5 6; do
		t cat "$f" >/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}"
	settle
	after=$(rss)
	bound "$(((after - base) <= size + SLACK))" \
		"after 3 sequential and 6 concurrent readers of $what: RSS $base -> $after KiB (at most the cached copy)"
	# a change: the rendering is stale, the next lookup of any content
	# drops it
	expect_ok wr "$P/allocate" "/30"
	t cat "$P/status" >/dev/null
	settle
	after=$(rss)
	bound "$(((after - base) <= SLACK))" \
		"after a change $what is no longer held: RSS $base -> $after KiB"
}

A=$P/allocations.json
t cat "$P/status" >/dev/null
views "$A" allocations.json
# the content: what jq parses and writes back, byte for byte
t cat "$A" >"$TMPD/a.json"
expect_eq "$(jq --indent 2 . "$TMPD/a.json" | cmp - "$TMPD/a.json" && echo same)" \
	same "allocations.json is laid out as jq --indent 2 writes it"
expect_json "$A" '.IpamPoolAllocations | length' $((N + 1))
jq -r '.IpamPoolAllocations[].Cidr' "$TMPD/a.json" >"$TMPD/got"
python3 -c '
import ipaddress, sys
n = int(sys.argv[1])
for i, s in zip(range(n), ipaddress.ip_network("10.0.0.0/8").subnets(new_prefix=30)):
    print(s)' $((N + 1)) >"$TMPD/want"
expect_eq "$(cmp "$TMPD/got" "$TMPD/want" && echo same)" same \
	"the CIDRs are the first $((N + 1)) /30s of 10.0.0.0/8, in order"
expect_json "$A" '[.IpamPoolAllocations[] | select(.Description != null) | .Description][1]' 'é "q\ 2'
views "$MNT/export.json" export.json
finish
