# res-lib.sh - helpers of the resource, discovery, history and metrics mount
# tests (20-24), sourced after lib.sh. Like lib.sh's helpers, every access to
# the mount runs under a timeout.

FEEDS=${SRCDIR:-$(dirname "$0")}/../cases/feeds
export LC_ALL=C # ls and sort in byte order

# mkres SCOPE ID [FIELD=VALUE...]: mkdir scopes/SCOPE/resources/ID, then
# writes each FIELD (locale, owner, name, vpc-id, ip-usage, ...) in the
# order given; the directory is left in $RES. Bails out on failure: the
# checks after it would only repeat it.
mkres() {
	local scope=$1 id=$2 kv
	shift 2
	RES=$MNT/scopes/$scope/resources/$id
	if ! timeout "$TIMEOUT" mkdir "$RES"; then
		echo "Bail out! mkdir $RES"
		exit 1
	fi
	for kv in "$@"; do
		if ! wr "$RES/${kv%%=*}" "${kv#*=}"; then
			echo "Bail out! $kv > $RES/${kv%%=*}"
			exit 1
		fi
	done
}

# addcidr RESDIR CIDR...: registers unmanaged CIDRs, one write each.
addcidr() {
	local dir=$1 c
	shift
	for c in "$@"; do
		if ! wr "$dir/cidrs" "$c"; then
			echo "Bail out! $c > $dir/cidrs"
			exit 1
		fi
	done
}

# rstatus RESDIR CIDR: the line of CIDR in the resource's status.
rstatus() {
	local line
	while IFS= read -r line; do
		[ "${line%% *}" = "$2" ] && printf '%s\n' "$line"
	done < <(timeout "$TIMEOUT" cat "$1/status")
}

# expect_rstatus RESDIR CIDR "MGMT COMPL OVERLAP POOL USAGE [REASON]"
expect_rstatus() {
	expect_eq "$(rstatus "$1" "$2")" "$2 $3" "$(_describe "$1") status: $2 $3"
}

# expect_rstatus4 RESDIR CIDR "MGMT COMPL OVERLAP POOL": the first five
# fields only (for lines whose usage column is not the point).
expect_rstatus4() {
	local got
	got=$(rstatus "$1" "$2" | awk '{ print $1, $2, $3, $4, $5 }')
	expect_eq "$got" "$2 $3" "$(_describe "$1") status: $2 $3 ..."
}

# scope_get SCOPE KEY: a value of scopes/SCOPE/status.
scope_get() {
	timeout "$TIMEOUT" cat "$MNT/scopes/$1/status" | sed -n "s/^$2=//p"
}

# set_clock TIME: freezes the IPAM clock (needs -o settable-clock).
set_clock() {
	if ! wr "$MNT/clock" "$1"; then
		echo "Bail out! cannot set the clock to $1"
		exit 1
	fi
}

# feed SNAPSHOT FEEDFILE: `cat SNAPSHOT > FEEDFILE` (a discovery's feed: the
# snapshot is applied when the file is closed; cat writes 128 KiB blocks).
feed() {
	timeout "$TIMEOUT" bash -c 'cat "$1" > "$2"' feed "$1" "$2"
}

# feed_text TEXT FEEDFILE: the same with the line TEXT as the snapshot.
feed_text() {
	local tmp rc
	tmp=$(mktemp "$TMPD/feed.XXXXXX") || return 1
	printf '%s\n' "$1" >"$tmp"
	feed "$tmp" "$2"
	rc=$?
	rm -f "$tmp"
	return $rc
}

# jqf FILE EXPR: `jq -c EXPR` of a file of the mount.
jqf() {
	timeout "$TIMEOUT" cat -- "$1" | jq -c "$2" 2>&1
}

# lsres SCOPE: the resource ids of a scope, on one line.
lsres() {
	timeout "$TIMEOUT" ls "$MNT/scopes/$1/resources" | tr '\n' ' ' | sed 's/ $//'
}

# absent PATH MSG: PATH does not exist.
absent() {
	t test -e "$1"
	[ $? -ne 0 ]
	check $? "$2"
}
