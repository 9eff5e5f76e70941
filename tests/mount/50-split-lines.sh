#!/bin/bash
# 50-split-lines.sh - a line split across writes is one line (SPEC
# principle 10, docs/tree.md "Writing"): a command file keeps an unfinished
# last line with the open file until the next write or the close; only
# complete lines apply, a final line without a newline is complete at close
# and its refusal is close(2)'s errno. The lines of one write are still one
# transaction, and a command over 64 KiB is still E2BIG.
. "$(dirname "$0")/lib.sh"
mount_ipamfs

mkpool private big 10.0.0.0/16
P=$POOL

# The reproducer of issue 9 §1: a slow producer, cat writes what it read.
expect_ok t bash -c "{ printf 'db'; sleep 1; printf '01 /28\n'; } | cat > \"\$1\"" x "$P/allocate"
expect_eq "$(t ls "$P/allocations" | tr '\n' ' ')" "db01 " "'db' + '01 /28\\n' in two writes: one allocation db01"
expect_file_eq "$P/allocations/db01/cidr" 10.0.0.0/28

# bash writes itself, and `sleep` (a child holding a duplicate of the
# descriptor) exits in between: only the writer's own close ends a line.
expect_ok t bash -c "{ printf 'sh'; sleep 0.3; printf '02 /28\n'; } > \"\$1\"" x "$P/allocate"
expect_ok t test -d "$P/allocations/sh02"
expect_fail t test -e "$P/allocations/sh"

# Producers writing 1-, 7- and 100-byte chunks (python3: one os.write per
# chunk, on one descriptor), three lines each, the last without newline.
chunks() { # PATH SIZE TEXT
	t python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
data, n = sys.argv[3].encode(), int(sys.argv[2])
for i in range(0, len(data), n):
    os.write(fd, data[i:i + n])
os.close(fd)' "$@"
}
for n in 1 7 100; do
	text="c$n-a /27"$'\n'"c$n-b 10.0.$n.0/26 description=made of $n-byte writes"$'\n'"c$n-c /28"
	expect_ok chunks "$P/allocate" "$n" "$text"
	for s in a b c; do
		expect_ok t test -d "$P/allocations/c$n-$s"
	done
	expect_file_eq "$P/allocations/c$n-b/cidr" "10.0.$n.0/26"
	expect_file_eq "$P/allocations/c$n-b/description" "made of $n-byte writes"
done
expect_eq "$(nalloc "$P")" 11 "2 + 3x3 allocations, nothing else (no pieces of names)"

# dd with a small block size: 5-byte writes
printf 'dd-a /29\ndd-b /29\n' >"$TMPD/dd.txt"
expect_ok t dd if="$TMPD/dd.txt" of="$P/allocate" bs=5 status=none
expect_ok t test -d "$P/allocations/dd-a"
expect_ok t test -d "$P/allocations/dd-b"

# A final line without newline is complete at close; its refusal is the
# errno of close(2) (dd reports "closing output file"), and /errors has it.
printf 'ok-1 /29\nfull 10.0.0.0/28' >"$TMPD/last.txt"
before=$(errors_lines)
out=$(t dd if="$TMPD/last.txt" of="$P/allocate" bs=3 status=none 2>&1)
rc=$?
expect_eq "$rc" 1 "dd exits 1 when the unfinished last line is refused at close"
expect_eq "$(errno_from_text "$out")" EADDRINUSE "dd reports EADDRINUSE at close ($out)"
expect_match "$out" "clos" "dd names the close"
expect_ok t test -d "$P/allocations/ok-1"
expect_fail t test -e "$P/allocations/full"
expect_eq "$(errors_lines)" $((before + 1)) "one /errors line for the refused last line"
expect_match "$(errors_last)" " close .*allocate EADDRINUSE: " "/errors: close ... allocate EADDRINUSE"

# A line split across writes that is refused: the write completing it
# fails, nothing of the line applies, and the next line is fresh.
out=$(t python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.write(fd, b"bad-")
try:
    os.write(fd, b"x 10.0.0.0/28\n")
    print("no error")
except OSError as e:
    print(os.strerror(e.errno))
os.write(fd, b"fresh /29\n")
os.close(fd)' "$P/allocate" 2>&1)
expect_eq "$(errno_from_text "$out")" EADDRINUSE "the write completing a refused line fails ($out)"
expect_fail t test -e "$P/allocations/bad-x"
expect_ok t test -d "$P/allocations/fresh"

# The lines of one write are one transaction (SPEC principle 5): the
# second line is refused, so the first is not applied either.
expect_errno EADDRINUSE wrf "$P/allocate" 'tx-a /29\ntx-b 10.0.0.0/28\n'
expect_fail t test -e "$P/allocations/tx-a"

# allocate's read on the same open file ends the line being written.
got=$(t bash -c 'exec 3<>"$1" && printf "rb /30" >&3 && IFS= read -r l <&3 && echo "$l"' x "$P/allocate")
expect_match "$got" '^10\.0\.[0-9]+\.[0-9]+/30$' "a read after an unfinished line returns its CIDR ($got)"
expect_ok t test -d "$P/allocations/rb"

# Value files too: a description written in two pieces is one value.
expect_ok t bash -c "{ printf 'two '; sleep 0.3; printf 'pieces\n'; } | cat > \"\$1\"" x "$P/description"
expect_file_eq "$P/description" "two pieces"

# E2BIG is kept for a command over 64 KiB, in one write or in pieces.
head -c 70000 /dev/zero | tr '\0' 'x' >"$TMPD/big"
expect_errno E2BIG wr_file "$P/allocate" "$TMPD/big"
n0=$(nalloc "$P")
out=$(t dd if="$TMPD/big" of="$P/allocate" bs=4096 status=none 2>&1)
expect_eq "$(errno_from_text "$out")" E2BIG "a 70 000-byte line in 4 KiB writes: E2BIG"
expect_eq "$(nalloc "$P")" "$n0" "nothing allocated by the over-long line"

# O_TRUNC on a command file stays harmless: `: > allocate` allocates and
# clears nothing.
expect_ok t bash -c ': > "$1"' x "$P/allocate"
expect_ok t truncate -s0 "$P/cidrs"
expect_file_eq "$P/cidrs" 10.0.0.0/16 "truncate -s0 cidrs deprovisions nothing"
expect_eq "$(nalloc "$P")" "$n0" ": > allocate allocates nothing"

finish
