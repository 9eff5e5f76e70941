#!/bin/bash
# 51-set-files.sh - `>>` adds, `>` replaces (SPEC principle 11,
# docs/tree.md "Writing"): on the set files (/ipam/operating-locales, a
# pool's allocation-resource-tags) an O_APPEND open adds its lines and never
# removes; an O_TRUNC open sets exactly the lines written during that open,
# even when bash writes them one line per write(2); a refusal fails the
# write (or, when a later line could cure it, the close) and is always in
# /errors. `: > FILE` and `truncate -s0 FILE` clear a read-write attribute;
# on command files they do nothing.
. "$(dirname "$0")/lib.sh"
mount_ipamfs -o home-locale=us-east-1

L=$MNT/ipam/operating-locales
expect_ok wr "$MNT/ipam/tier" advanced
expect_file_eq "$L" us-east-1 "a new IPAM operates in its home locale"

# bash's builtin printf: three writes, one open: the set is the three
expect_ok bash -c 'printf "us-east-1\nus-west-2\neu-west-1\n" > "$1"' x "$L"
expect_file_eq "$L" $'eu-west-1\nus-east-1\nus-west-2' "printf (3 writes) > operating-locales sets the three"
# >> adds, a line already there is kept once
expect_ok bash -c 'echo ap-south-1 >> "$1"' x "$L"
expect_ok bash -c 'echo us-west-2 >> "$1"' x "$L"
expect_file_eq "$L" $'ap-south-1\neu-west-1\nus-east-1\nus-west-2' ">> adds ap-south-1, us-west-2 stays once"
# > without the home locale keeps it (SPEC §3: the home locale is always kept)
expect_ok bash -c 'printf "eu-west-1\nus-west-2\n" > "$1"' x "$L"
expect_file_eq "$L" $'eu-west-1\nus-east-1\nus-west-2' "> replaces; the home locale us-east-1 is kept"

# A pool uses us-west-2: a set without it is refused, and a set that only
# lists it on its second line is fine (the refusal of the first line waits).
mkdir "$MNT/scopes/private/pools/w" || not_ok "mkdir pool w"
expect_ok wr "$MNT/scopes/private/pools/w/locale" us-west-2
expect_ok bash -c 'printf "eu-west-1\nus-west-2\nap-south-1\n" > "$1"' x "$L"
expect_file_eq "$L" $'ap-south-1\neu-west-1\nus-east-1\nus-west-2' "a set naming the used locale on its 2nd line applies"
before=$(errors_lines)
expect_eq "$(errors_lines)" "$before" "no /errors line for a refusal a later line cured"
# refused at the close: cat and python see close(2)'s errno
out=$( { printf 'eu-west-1\n' | t cat > "$L"; } 2>&1; echo "rc=$?")
expect_match "$out" "rc=1" "cat fails when the set would drop a used locale (${out//$'\n'/ })"
expect_eq "$(errno_from_text "$out")" EBUSY "the refusal is EBUSY"
expect_match "$(errors_last)" "EBUSY: cannot remove locale 'us-west-2': pool 'w' uses it" "/errors names the pool"
expect_file_eq "$L" $'ap-south-1\neu-west-1\nus-east-1\nus-west-2' "the refused set changed nothing"
# a malformed item can never be cured: the write itself fails
expect_errno EINVAL wr "$L" 'not a locale!'
# ... and a set still waiting for its cure is reported at the close
before=$(errors_lines)
out=$(t python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
os.write(fd, b"eu-west-1\n")        # lacks us-west-2: waits
for line in (b"bad locale!\n",):
    try:
        os.write(fd, line)
    except OSError as e:
        print("write:", os.strerror(e.errno))
try:
    os.close(fd)
except OSError as e:
    print("close:", os.strerror(e.errno))' "$L" 2>&1)
expect_eq "$out" $'write: Invalid argument\nclose: Device or resource busy' "a malformed line fails its write, the waiting set fails the close"
expect_eq "$(errors_lines)" $((before + 2)) "two /errors lines: the malformed line and the refused set"
expect_ok bash -c 'echo sa-east-1 >> "$1"' x "$L"

# allocation-resource-tags: the reproducer of issue 9 §3
mkpool private tagged 10.1.0.0/16
T=$POOL/allocation-resource-tags
expect_ok bash -c 'printf "env=prod\nowner=ops\n" > "$1"' x "$T"
expect_file_eq "$T" $'env=prod\nowner=ops' "printf > allocation-resource-tags sets both"
expect_ok bash -c 'echo team=net >> "$1"' x "$T"
expect_file_eq "$T" $'env=prod\nowner=ops\nteam=net' ">> adds team=net and removes nothing"
expect_errno EINVAL bash -c 'echo env=dev >> "$1"' x "$T"
expect_file_eq "$T" $'env=prod\nowner=ops\nteam=net' ">> with a key already required otherwise is refused, nothing removed"
expect_ok bash -c 'echo env=dev > "$1"' x "$T"
expect_file_eq "$T" "env=dev" "> replaces the set"
# : > clears a set, truncate -s0 too
expect_ok bash -c ': > "$1"' x "$T"
expect_file_empty "$T" ": > allocation-resource-tags clears the set"
expect_ok bash -c 'echo a=1 > "$1"' x "$T"
expect_ok t truncate -s0 "$T"
expect_file_empty "$T" "truncate -s0 clears the set"

# read-write attributes: `: >` and truncate -s0 clear
D=$POOL/description
expect_ok wr "$D" "a pool"
expect_ok bash -c ': > "$1"' x "$D"
expect_file_eq "$D" "" ": > description clears it"
expect_ok wr "$D" "again"
expect_ok t truncate -s0 "$D"
expect_file_eq "$D" "" "truncate -s0 description clears it"
expect_ok wr "$MNT/scopes/private/description" "net"
expect_ok t python3 -c 'import os,sys; os.truncate(sys.argv[1], 0)' "$MNT/scopes/private/description"
expect_file_eq "$MNT/scopes/private/description" "" "truncate(2) by path clears a scope's description"
expect_ok wr "$POOL/allocation-default-netmask-length" 24
expect_ok bash -c ': > "$1"' x "$POOL/allocation-default-netmask-length"
expect_file_eq "$POOL/allocation-default-netmask-length" "" ": > clears a netmask rule"
expect_ok wr "$POOL/tags/env" prod
expect_ok bash -c ': > "$1"' x "$POOL/tags/env"
expect_file_eq "$POOL/tags/env" "" ": > tags/env clears the tag's value (the tag stays)"
# a value that cannot be empty: the refusal is in /errors
before=$(errors_lines)
t bash -c ': > "$1"' x "$MNT/ipam/tier"
expect_file_eq "$MNT/ipam/tier" advanced ": > tier cannot clear it"
expect_eq "$(errors_lines)" $((before + 1)) "and says so in /errors"
expect_match "$(errors_last)" "ipam/tier EINVAL: expected free or advanced" "/errors: tier EINVAL"
# echo x > FILE still sets (the shell's early close of its descriptor does
# not clear first: nothing is cleared once something is written)
expect_ok wr "$D" "kept"
expect_file_eq "$D" "kept"

# command files: O_TRUNC and truncate -s0 change nothing
expect_ok bash -c ': > "$1"' x "$POOL/cidrs"
expect_ok t truncate -s0 "$POOL/cidrs"
expect_file_eq "$POOL/cidrs" 10.1.0.0/16 "O_TRUNC and truncate on cidrs deprovision nothing"

finish
