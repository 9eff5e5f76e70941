#!/bin/bash
# 09-events: /events (SPEC §3) is a change log of JSON lines, newest last:
# every change appends at least one line naming what changed, refusals and
# reads append nothing, the log survives a remount, and poll(2) on an open
# /events wakes when a new line is appended (checked with perl's select,
# perl being Essential in Debian).
. "$(dirname "$0")/lib.sh"

mount_ipamfs

nev() { rd "$MNT/events" | wc -l; }
all_json() { # every line of events is one JSON object
	local n v
	n=$(rd "$MNT/events" | wc -l)
	v=$(rd "$MNT/events" | jq -c 'select(type == "object")' 2>/dev/null | wc -l)
	[ "$n" = "$v" ]
}
new_lines() { rd "$MNT/events" | tail -n +$(($1 + 1)); }

all_json
check $? "events: every line is a JSON object (new IPAM)"
n0=$(nev)

expect_ok mkdir "$MNT/scopes/private/pools/ev"
P=$MNT/scopes/private/pools/ev
p=$(idof "$P")
n1=$(nev)
[ "$n1" -gt "$n0" ]
check $? "mkdir pool appends an event ($n0 -> $n1)"
expect_match "$(new_lines "$n0")" "$p|ev" "the event names the pool"

expect_ok wr "$P/cidrs" 10.0.0.0/16
n2=$(nev)
[ "$n2" -gt "$n1" ]
check $? "provisioning appends an event"
expect_match "$(new_lines "$n1")" '10\.0\.0\.0/16' "the event names the CIDR"

expect_ok wr "$P/allocate" "e1 /28"
n3=$(nev)
[ "$n3" -gt "$n2" ]
check $? "allocating appends an event"
expect_match "$(new_lines "$n2")" '10\.0\.0\.0/28' "the event names the allocated CIDR"
new_lines "$n2" | jq -e . >/dev/null 2>&1
check $? "the new lines parse with jq"

# refusals and reads append nothing
expect_errno EADDRINUSE wr "$P/allocate" "e2 10.0.0.0/28"
expect_errno EINVAL wr "$P/cidrs" junk
rd "$P/status" >/dev/null
rd "$P/preview/24" >/dev/null
rd "$MNT/ipam.json" >/dev/null
t ls -R "$MNT/scopes" >/dev/null
expect_eq "$(nev)" "$n3" "refused writes and reads append no event"

expect_ok rmdir "$P/allocations/e1"
n4=$(nev)
[ "$n4" -gt "$n3" ]
check $? "releasing appends an event"
expect_ok wr "$P/description" "described"
expect_ok wr "$P/tags/k" v
expect_ok wr "$MNT/ipam/description" "ipam"
n5=$(nev)
[ "$n5" -ge $((n4 + 3)) ]
check $? "attribute writes append events ($n4 -> $n5)"
all_json
check $? "events: every line is a JSON object"
rd "$MNT/events" >"$TMPD/events.before"

unmount_ipamfs
start_ipamfs
rd "$MNT/events" | head -n "$n5" | cmp -s - "$TMPD/events.before"
check $? "the change log survives a remount"

# poll(2) wakes on a new line
cat >"$TMPD/poll.pl" <<'EOF'
$| = 1;
open(my $f, "<", $ARGV[0]) or die "open: $!\n";
my $buf;
while (sysread($f, $buf, 65536)) { }
my $rin = "";
vec($rin, fileno($f), 1) = 1;
my $n = select(my $rout = $rin, undef, undef, 1.0);
print "idle:$n\n";
$n = select($rout = $rin, undef, undef, 10.0);
print "woke:$n\n";
EOF
timeout 30 perl "$TMPD/poll.pl" "$MNT/events" >"$TMPD/poll.out" 2>&1 &
pp=$!
for i in $(seq 1 100); do
	grep -q '^idle:' "$TMPD/poll.out" && break
	sleep 0.1
done
sleep 0.3
expect_ok wr "$P/allocate" "wake /28"
wait $pp
pout=$(cat "$TMPD/poll.out")
expect_match "$pout" '(^|'$'\n'')idle:0' "poll on /events read to the end: not readable while nothing changes"
expect_match "$pout" 'woke:1' "poll on /events wakes when a change appends a line"
expect_match "$(rd "$MNT/events" | tail -n 3)" '10\.0\.0\.0/28' "the new line is there on a fresh open"

finish
