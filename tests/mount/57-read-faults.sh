#!/bin/bash
# 57-read-faults: the read-side faults of issue 9 §7 (docs/tree.md):
#  - a scope's status.json gives its pools' percentages as JSON numbers,
#    as a pool's status.json does, so jq can compare them;
#  - a scope is one network's space (guide L211): a top-level pool cannot
#    be provisioned a CIDR that overlaps another top-level pool's of the
#    same scope (EADDRINUSE naming the other pool by path, nothing
#    changes); another scope may hold the same CIDR;
#  - the history text table splits on blanks into fixed columns whatever
#    the names hold: ResourceName is the last column, the rest of the line
#    (spaces kept); '%' and control characters are written %XX;
#  - history windows take dates (a start date at 00:00:00Z, an end date
#    including its whole day), open ends (START.. and ..END) and the AWS
#    CLI's fractional seconds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/res-lib.sh"

mount_ipamfs -o settable-clock
S=$MNT/scopes/private

# ---- scope status.json: numbers
mkpool private top 10.0.0.0/16
TOP=$POOL
mkpool private top/pools/dev 10.0.0.0/18
expect_ok wr "$TOP/allocate" "web /20"
expect_json "$S/status.json" '[.pools[] | ."percent-allocated" | type] | unique | join(",")' number
expect_json "$S/status.json" "[.pools[] | select(.\"percent-allocated\" > 20) | .name] | join(\",\")" top
top_id=$(idof "$TOP")
expect_json "$S/status.json" ".pools[\"$top_id\"].\"percent-assigned\"" 6.25
expect_eq "$(rd "$S/status.json" | jq ".pools[\"$top_id\"].\"percent-allocated\"")" \
	"$(rd "$TOP/status.json" | jq '."percent-allocated"')" "the scope's percentage equals the pool's status.json number"

# ---- one scope, one address space
mkpool private other
OTHER=$POOL
expect_errno EADDRINUSE wr "$OTHER/cidrs" 10.0.0.0/8
expect_match "$(errors_last)" "scopes/private/pools/top" "the refusal names the other pool by its path"
expect_errno EADDRINUSE wr "$OTHER/cidrs" 10.0.128.0/24
expect_file_empty "$OTHER/cidrs" "nothing was provisioned"
expect_ok wr "$OTHER/cidrs" 10.1.0.0/16
mkdir_ok() { t mkdir "$1"; check $? "mkdir $(_describe "$1")"; }
mkdir_ok "$MNT/scopes/lab"
expect_ok t mkdir "$MNT/scopes/lab/pools/copy"
expect_ok wr "$MNT/scopes/lab/pools/copy/cidrs" 10.0.0.0/16

# ---- the history table with names holding spaces and worse
set_clock 2026-12-01T10:00:00Z
mkres private vpc-0a1 name="core vpc  east" locale=local owner=111122223333
addcidr "$RES" 10.9.0.0/24
set_clock 2026-12-03T12:00:00Z
expect_ok rmdir "$S/resources/vpc-0a1"
set_clock 2026-12-04T00:00:00Z
mkres private vpc-0b2 name="50% done" locale=local owner=111122223333
addcidr "$RES" 10.9.0.0/24
set_clock 2026-12-08T00:00:00Z
H=$S/history
table=$(rd "$H/10.9.0.0_24@2026-12-01T00:00:00Z..2026-12-06T00:00:00Z")
expect_eq "$(tail -n +2 <<<"$table" | awk '{ print (NF >= 11) }' | sort -u)" 1 "every row has the 11 columns"
expect_eq "$(tail -n +2 <<<"$table" | awk '{ print $5 }' | tr '\n' ' ')" "vpc-0a1 vpc-0b2 " "awk \$5 is the ResourceId of each row"
expect_eq "$(tail -n +2 <<<"$table" | awk '{ print $2 }' | tr '\n' ' ')" "2026-12-03T12:00:00Z - " "awk \$2 is the end time (- while open)"
expect_eq "$(tail -n +2 <<<"$table" | cut -d' ' -f11- | tr '\n' '|')" "core vpc  east|50%25 done|" "the name is the rest of the line, '%' written %25"
expect_eq "$(head -1 <<<"$table" | awk '{ print $NF }')" ResourceName "the header ends with ResourceName"
# ---- windows: dates, open ends, fractional seconds
n() { rd "$H/10.9.0.0_24@$1" | tail -n +2 | wc -l; }
expect_eq "$(n 2026-12-01..2026-12-03)" 1 "dates: up to 2026-12-03, one record"
expect_eq "$(n 2026-12-01..2026-12-04)" 2 "an end date includes its whole day (the record from 2026-12-04T00:00:00Z)"
expect_eq "$(n 2026-12-03..2026-12-03)" 1 "a start date begins at 00:00:00Z (the record ending at noon)"
expect_eq "$(n 2026-12-04..2026-12-06)" 1 "from 2026-12-04 only the open record"
expect_eq "$(n 2026-11-01..2026-11-30)" 0 "before the records: none"
expect_eq "$(n 2026-12-02T00:00:00Z..)" 2 "an open end (START..)"
expect_eq "$(n 2026-12-03T12:00:00Z..)" 1 "... from the end of the first record"
expect_eq "$(n ..2026-12-01T09:59:59Z)" 0 "an open start (..END) before the first record"
expect_eq "$(n ..2026-12-03T23:59:59Z)" 1 "... up to the day before the second"
expect_eq "$(n 2026-12-03T12:00:00.000Z..2026-12-08T00:00:00.000Z)" 1 "the AWS CLI's fractional seconds"
expect_json "$H/10.9.0.0_24@2026-12-01...json" '.HistoryRecords | length' 2
expect_errno ENOENT t cat "$H/10.9.0.0_24@2026-13-01.."
expect_errno ENOENT t cat "$H/10.9.0.0_24@2026-12-06..2026-12-01"
finish
