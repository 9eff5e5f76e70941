#!/bin/bash
# 41-limits: what one user cannot exhaust or fake (issue 8 §7):
#  - times: years before 1970 (0000-0999 were accepted and printed back
#    unpadded), Feb 29 of a common year, April 31 and second 60 are
#    refused by /clock and by history windows; 4-digit years print back;
#  - /errors: one ring per uid: nobody floods 1500 refusals and root's
#    refusal is still there; each user sees only their own lines, root
#    sees every line;
#  - feeds: all the feeds open at once share one memory budget
#    (-o feed-budget=MIB): a write past it fails with ENOMEM and a reason,
#    and works again once the other feed is closed.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	echo "1..0 # SKIP needs root and setpriv (util-linux)"
	exit 77
fi
NOBODY=65534
as_nobody() {
	timeout 60 setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"
}

mount_ipamfs -o allow_other,default_permissions,settable-clock,feed-budget=1

# ---------------------------------------------------------------------------
# Times
expect_ok wr "$MNT/clock" 2024-02-29T12:00:00Z
expect_file_eq "$MNT/clock" 2024-02-29T12:00:00Z "Feb 29 of a leap year"
expect_errno_each EINVAL "$MNT/clock" 0999-01-01T00:00:00Z 0000-01-01T00:00:00Z \
	1969-12-31T23:59:59Z 2023-02-29T00:00:00Z 2100-02-29T00:00:00Z \
	2026-04-31T00:00:00Z 2026-12-31T23:59:60Z
expect_file_eq "$MNT/clock" 2024-02-29T12:00:00Z "the refused times changed nothing"
expect_ok wr "$MNT/clock" 1970-01-01T00:00:00Z
expect_file_eq "$MNT/clock" 1970-01-01T00:00:00Z "the epoch prints with 4 digits"
expect_ok wr "$MNT/clock" 2026-11-27T10:00:00Z
H=$MNT/scopes/private/history
expect_ok t cat "$H/10.0.0.0_24@2024-02-29T00:00:00Z..2026-01-01T00:00:00Z"
expect_errno_kernel ENOENT t cat "$H/10.0.0.0_24@2023-02-29T00:00:00Z..2026-01-01T00:00:00Z"
expect_errno_kernel ENOENT t cat "$H/10.0.0.0_24@0999-01-01T00:00:00Z..2026-01-01T00:00:00Z"
expect_errno_kernel ENOENT t cat "$H/10.0.0.0_24@2026-01-01T00:00:00Z..2026-06-30T23:59:60Z"

# ---------------------------------------------------------------------------
# /errors: one ring per uid
mkpool private open 10.0.0.0/16
expect_ok chmod 0777 "$POOL"
expect_errno EINVAL wr "$MNT/ipam/tier" "root-was-here"
as_nobody bash -c 'exec 2>/dev/null; for i in $(seq 1 1500); do echo "flood $i" > "$1"; done' x "$POOL/allocate"
expect_errno EINVAL wr "$MNT/ipam/tier" "root-again"
root_view=$(rd "$MNT/errors")
nobody_view=$(as_nobody cat "$MNT/errors")
expect_match "$root_view" "uid=0 write ipam/tier EINVAL" \
	"root's refusal survives 1500 refusals of nobody"
expect_eq "$(printf '%s\n' "$nobody_view" | grep -c ' uid=65534 ')" 1000 \
	"nobody's ring holds its last 1000 lines"
expect_eq "$(printf '%s\n' "$nobody_view" | grep -vc ' uid=65534 ')" 0 \
	"nobody sees only its own lines"
expect_eq "$(printf '%s\n' "$root_view" | grep -c ' uid=65534 ')" 1000 "root sees nobody's lines too"
expect_match "$(printf '%s\n' "$root_view" | tail -n 2 | head -n 1)" 'uid=65534 write scopes/private/pools/open/allocate EINVAL' \
	"root's view is in time order (nobody's flood, then root's last refusal)"
expect_eq "$(printf '%s\n' "$root_view" | grep -c ' uid=0 write ipam/tier ')" 2 "root sees both of its refusals"

# ---------------------------------------------------------------------------
# The feeds' shared memory budget (1 MiB here)
D=$MNT/discoveries
expect_ok mkdir "$D/a"
expect_ok mkdir "$D/b"
head -c 600000 /dev/zero | tr '\0' ' ' >"$TMPD/big"
out=$(timeout 30 bash -c '
	exec 3>"$1/a/feed" || exit 1
	cat "$2" >&3 || { echo "first feed refused"; exit 1; }
	if printf "{}\n" > "$1/b/feed" 2>/dev/null; then
		echo "second feed accepted"; exit 1
	fi
	exec 3>&-
	printf "\n" > "$1/b/feed" || { echo "feed refused after close"; exit 1; }
	echo done' x "$D" "$TMPD/big" 2>&1)
expect_eq "$out" "done" "a second feed over the budget is refused while the first is open, accepted after"
expect_match "$(rd "$MNT/errors" | grep 'b/feed' | head -n 1)" \
	'write discoveries/b/feed ENOMEM: the feeds open at once would hold over 1 MiB' \
	"/errors says why"
finish
