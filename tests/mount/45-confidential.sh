#!/bin/bash
# 45-confidential: a pool hidden by its mode stays hidden in the shared
# views (issue 8 §7, docs/design/security.md). With
# `-o allow_other,default_permissions`, root's 0700 pool `secret` (its
# name, CIDRs, tag values, allocations) is not seen by nobody in /events,
# /by-id (ls, readlink, stat), scope status/status.json or history/;
# nobody still sees what is open and its own changes; root sees all.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	echo "1..0 # SKIP needs root and setpriv (util-linux)"
	exit 77
fi
as_nobody() {
	timeout "$TIMEOUT" setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

mount_ipamfs -o allow_other,default_permissions
mkpool private open 10.0.0.0/16
O=$POOL
expect_ok wr "$O/allocate" "open-alloc /24"
expect_ok chmod 0777 "$O"
mkpool private secret 10.99.0.0/16
S=$POOL
expect_ok chmod 0700 "$S"
expect_ok wr "$S/tags/project" "hush-value"
expect_ok wr "$S/allocate" "hidden-alloc /24"
sid=$(idof "$S")
said=$(idof "$S/allocations/hidden-alloc")
oid=$(idof "$O")
oaid=$(idof "$O/allocations/open-alloc")
expect_ok as_nobody bash -c 'echo "nobodys /24" > "$1"' x "$O/allocate"

# /events
root_ev=$(rd "$MNT/events")
nb_ev=$(as_nobody cat "$MNT/events")
check $? "nobody can read /events"
for s in "$sid" "$said" 10.99. hush-value hidden-alloc; do
	expect_match "$root_ev" "$s" "root's /events shows $s"
	if [[ $nb_ev == *"$s"* ]]; then
		not_ok "nobody's /events hides $s"
		diag "$(printf '%s\n' "$nb_ev" | grep -F -- "$s" | head -n 3)"
	else
		ok "nobody's /events hides $s"
	fi
done
expect_match "$nb_ev" "\"id\":\"$oid\"" "nobody's /events shows the open pool"
expect_match "$nb_ev" "\"uid\":65534,\"pid\":[0-9]+,\"action\":\"allocate-ipam-pool-cidr\"" "nobody's /events shows its own allocation"
expect_eq "$(printf '%s\n' "$nb_ev" | jq -c . | wc -l)" "$(printf '%s\n' "$nb_ev" | wc -l)" "nobody's /events is whole JSON lines"

# /by-id
nb_ids=$(as_nobody ls "$MNT/by-id")
expect_match "$nb_ids" "$oid" "nobody's ls /by-id shows the open pool"
expect_match "$nb_ids" "$oaid" "... and its allocation"
[[ $nb_ids != *"$sid"* && $nb_ids != *"$said"* ]]
check $? "nobody's ls /by-id hides the secret pool and its allocation"
expect_errno_kernel ENOENT as_nobody stat "$MNT/by-id/$sid"
expect_eq "$(as_nobody readlink "$MNT/by-id/$sid" 2>/dev/null)" "" "readlink of the hidden link gives nothing to nobody"
expect_errno_kernel ENOENT as_nobody stat "$MNT/by-id/$said"
expect_eq "$(as_nobody readlink "$MNT/by-id/$oid")" "../scopes/private/pools/open" "nobody reads the open pool's link"
expect_eq "$(t readlink "$MNT/by-id/$sid")" "../scopes/private/pools/secret" "root reads the hidden link"

# the scope's aggregate views
P=$MNT/scopes/private
expect_errno_kernel EACCES as_nobody cat "$P/status"
expect_errno_kernel EACCES as_nobody cat "$P/status.json"
expect_errno_kernel EACCES as_nobody ls "$P/history"
expect_errno_kernel EACCES as_nobody cat "$P/history/10.99.0.0_24"
expect_eq "$(t stat -c %a "$P/status")" 400 "scope status: the owner's only while something is hidden"
expect_ok t cat "$P/status"
expect_ok t ls "$P/history"
# once nothing is hidden, they are everyone's again
expect_ok chmod 0755 "$S"
expect_ok chmod 0755 "$S/allocations/hidden-alloc"
expect_eq "$(t stat -c %a "$P/status")" 444 "scope status: everyone's when nothing is hidden"
expect_ok as_nobody cat "$P/status"
expect_ok as_nobody ls "$P/history"
expect_match "$(as_nobody cat "$MNT/events")" "hush-value" "an open pool's changes are in nobody's /events"
expect_eq "$(as_nobody readlink "$MNT/by-id/$sid")" "../scopes/private/pools/secret" "an open pool's link reads for nobody"
# an allocation's own mode hides it too
expect_ok chmod 0700 "$O/allocations/open-alloc"
expect_errno_kernel ENOENT as_nobody stat "$MNT/by-id/$oaid"
expect_errno_kernel EACCES as_nobody cat "$P/status"
finish
