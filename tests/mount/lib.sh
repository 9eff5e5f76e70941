# lib.sh - the harness of the ipamfs mount tests; sourced by every script.
#
# A test script does
#
#     . "$(dirname "$0")/lib.sh"
#     mount_ipamfs                      # fresh DB in a fresh temp dir, mounted
#     mkpool private top 10.0.0.0/16; P=$POOL
#     wr "$P/allocate" "a /26"
#     expect_file_eq "$P/allocations/a/cidr" 10.0.0.0/26
#     expect_errno EADDRINUSE wr "$P/allocate" "b 10.0.0.0/28"
#     finish
#
# and prints TAP lines ("ok N - ...", "not ok N - ..."). The script exits
# non-zero when any check failed; meson counts each script as one test.
#
# Rules the harness enforces:
#  - every mount lives in its own mktemp dir, so scripts can run in parallel;
#  - cleanup runs on EXIT, INT and TERM: it stops the script's background
#    jobs (by pid), ALWAYS unmounts (fusermount3 -u, then -uz, each under
#    `timeout 10`), kills a foreground daemon this script started, and
#    removes the temp dir only once nothing is mounted on it (rm -rf through
#    a live mount would delete the IPAM);
#  - bash line-buffers its stdout: `printf 'a\nb\n' > f` is two write(2)s,
#    two transactions. Multi-line batches go through wrf / wr_file (one
#    write by dd);
#  - every command that touches the mount runs under a timeout (the helpers
#    t, rd, wr, wrf, wr_file, expect_errno do it), so a hung daemon fails the
#    test instead of hanging it. Do not use shell builtins ([ -e ], cd, read
#    from a file) on mount paths in the main shell: use `t test -e` etc.
#
# Environment: IPAMFS = the ipamfs binary (set by meson), SRCDIR optional.
# Soak mode (tests/soak/soak.sh): IPAMFS_SOAK_MNT names a live mount (of
# the database IPAMFS_SOAK_DB) that every scenario shares. mount_ipamfs
# then only makes the temp dir and points MNT at it, cleanup never unmounts
# it, and a scenario that unmounts or mounts again ends at that point (the
# checks before it ran; the rest is reported as one SKIP).

set -u

: "${IPAMFS:?IPAMFS must name the ipamfs binary}"
if [ ! -x "$IPAMFS" ]; then
	echo "Bail out! IPAMFS=$IPAMFS is not executable"
	exit 1
fi
# No FUSE here (a container without /dev/fuse): skip, exit 77 for meson.
if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	echo "1..0 # SKIP no /dev/fuse or no fusermount3"
	exit 77
fi

TESTS_RUN=0
TESTS_FAILED=0
TMPD=""
DB=""
MNT=""
MOUNTS=()        # every mountpoint this script mounted (for cleanup)
FG_PIDS=()       # foreground daemons started by this script
TIMEOUT=${MOUNT_TEST_TIMEOUT:-20}
# On PostgreSQL (IPAMFS_TEST_DB, suite pg-all) every statement is a round
# trip to the server: a write of 2 000 allocations (60-map-svg) took over 60 s
# on a loaded machine (what is bounded is a hang, not the speed)
if [[ ${IPAMFS_TEST_DB:-} == postgres*://* ]] && [ -z "${MOUNT_TEST_TIMEOUT:-}" ]; then
	TIMEOUT=120
fi

# ---------------------------------------------------------------------------
# Reporting

ok() {
	TESTS_RUN=$((TESTS_RUN + 1))
	echo "ok $TESTS_RUN - $*"
}

not_ok() {
	TESTS_RUN=$((TESTS_RUN + 1))
	TESTS_FAILED=$((TESTS_FAILED + 1))
	echo "not ok $TESTS_RUN - $*"
}

diag() {
	local line
	while IFS= read -r line; do
		echo "#   $line"
	done <<<"$*"
}

# check CONDITION-EXIT-STATUS MSG: `check $? "msg"` after a command.
check() {
	if [ "$1" -eq 0 ]; then ok "$2"; else not_ok "$2"; fi
}

# ---------------------------------------------------------------------------
# Timeouts around everything that touches the mount

t() { timeout "$TIMEOUT" "$@"; }

# rd PATH: the content of a file of the mount (stdout), under a timeout.
rd() { timeout "$TIMEOUT" cat -- "$1"; }

# wr PATH TEXT: one write(2) of TEXT plus a newline, as `echo TEXT > PATH`
# (TEXT must be one short line: bash's stdout is line-buffered). The shell
# reports a refused write as "...: write error: <strerror>".
wr() {
	timeout "$TIMEOUT" bash -c 'printf "%s\n" "$2" > "$1"' wr "$1" "$2"
}

# wrf PATH FORMAT: the bytes of `printf FORMAT` (escapes such as \n, \0 and
# \t interpreted) in ONE write(2). Not `printf FORMAT > PATH`: bash makes
# its stdout line-buffered, so that would be one write (one transaction)
# per line.
wrf() {
	local tmp rc
	tmp=$(mktemp "${TMPD:-/tmp}/wrf.XXXXXX") || return 1
	printf -- "$2" >"$tmp"
	wr_file "$1" "$tmp"
	rc=$?
	rm -f "$tmp"
	return $rc
}

# wr_file PATH SRC: the whole of the regular file SRC in ONE write(2) (dd
# with a block larger than SRC), for writes larger than stdio's buffer.
wr_file() {
	timeout "$TIMEOUT" dd if="$2" of="$1" bs=8M count=1 status=none
}

# wr_readback PATH TEXT: opens PATH read-write, writes TEXT plus a newline
# and reads one line back on the same open file (the `allocate` protocol);
# prints that line.
wr_readback() {
	timeout "$TIMEOUT" bash -c 'exec 3<>"$1" || exit 1
		printf "%s\n" "$2" >&3 || exit 1
		IFS= read -r line <&3 || exit 1
		printf "%s\n" "$line"' wr_readback "$1" "$2"
}

# wr_readback_seek PATH TEXT: the same, with lseek(fd, 0, SEEK_SET) between
# the write and the read (perl is Essential in Debian).
wr_readback_seek() {
	timeout "$TIMEOUT" perl -e '
		open(my $f, "+<", $ARGV[0]) or die "open: $!\n";
		defined(syswrite($f, "$ARGV[1]\n")) or die "write: $!\n";
		sysseek($f, 0, 0) or die "seek: $!\n";
		my $buf = ""; sysread($f, $buf, 4096) // die "read: $!\n";
		print $buf;' "$1" "$2"
}

# ---------------------------------------------------------------------------
# errno names from the messages of bash, coreutils, dd

errno_from_text() {
	case "$1" in
	*"Invalid argument"*) echo EINVAL ;;
	*"No space left on device"*) echo ENOSPC ;;
	*"Address already in use"*) echo EADDRINUSE ;;
	*"Cannot assign requested address"*) echo EADDRNOTAVAIL ;;
	*"File exists"*) echo EEXIST ;;
	*"Directory not empty"*) echo ENOTEMPTY ;;
	*"Device or resource busy"*) echo EBUSY ;;
	*"Operation not permitted"*) echo EPERM ;;
	*"Permission denied"*) echo EACCES ;;
	*"Disk quota exceeded"*) echo EDQUOT ;;
	*"Argument list too long"*) echo E2BIG ;;
	*"No such file or directory"*) echo ENOENT ;;
	*"File name too long"*) echo ENAMETOOLONG ;;
	*"Input/output error"*) echo EIO ;;
	*"Transport endpoint is not connected"*) echo ENOTCONN ;;
	*"Not a directory"*) echo ENOTDIR ;;
	*"Is a directory"*) echo EISDIR ;;
	*"Read-only file system"*) echo EROFS ;;
	*"Function not implemented"*) echo ENOSYS ;;
	*"Operation not supported"*) echo EOPNOTSUPP ;;
	*"Cannot allocate memory"*) echo ENOMEM ;;
	*"Numerical result out of range"*) echo ERANGE ;;
	*"Bad address"*) echo EFAULT ;;
	*"Resource temporarily unavailable"*) echo EAGAIN ;;
	*"Bad file descriptor"*) echo EBADF ;;
	*"Key has expired"*) echo EKEYEXPIRED ;;
	*"Timer expired"* | *"timed out"*) echo ETIME ;;
	*) echo "?" ;;
	esac
}

errors_lines() {
	local txt
	txt=$(timeout "$TIMEOUT" cat -- "$MNT/errors" 2>/dev/null)
	_count_lines "$txt"
}

errors_last() {
	timeout "$TIMEOUT" cat -- "$MNT/errors" 2>/dev/null | tail -n 1
}

# _count_lines TEXT: the number of lines of TEXT (no process spawned).
_count_lines() {
	local -a lines=()
	[ -n "$1" ] && mapfile -t lines <<<"$1"
	echo "${#lines[@]}"
}

# _run CMD...: runs a helper function directly (it has its own timeout) or
# a program under the timeout.
_run() {
	if declare -F "$1" >/dev/null; then
		"$@"
	else
		timeout "$TIMEOUT" "$@"
	fi
}

# _errno_core WANT LOG_EXPECTED CMD...: the command must fail, the message
# must name errno WANT (one of "A|B" alternatives), and when LOG_EXPECTED is
# 1 one new line naming the errno and the path must end /errors.
_errno_core() {
	local want=$1 logged=$2
	shift 2
	local desc="$want <- $(_describe "$@")"
	local before out rc got
	before=$(errors_lines)
	out=$(_run "$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		not_ok "$desc (succeeded)"
		return 1
	fi
	if [ $rc -eq 124 ]; then
		not_ok "$desc (timed out)"
		return 1
	fi
	got=$(errno_from_text "$out")
	case "|$want|" in
	*"|$got|"*) ;;
	*)
		not_ok "$desc (got $got)"
		diag "$out"
		return 1
		;;
	esac
	if [ "$logged" = 1 ]; then
		local after last txt
		txt=$(timeout "$TIMEOUT" cat -- "$MNT/errors" 2>/dev/null)
		after=$(_count_lines "$txt")
		last=${txt##*$'\n'}
		if [ "$before" -lt 1000 ] && [ "$after" -ne $((before + 1)) ]; then
			not_ok "$desc (/errors grew by $((after - before)) lines, not 1)"
			diag "last: $last"
			return 1
		fi
		if ! _errors_line_ok "$last" "$got" "$@"; then
			not_ok "$desc (bad /errors line)"
			diag "$last"
			return 1
		fi
	fi
	ok "$desc"
}

# The /errors line: `TIME pid=N uid=N OP PATH ERRNO: reason` (SPEC §9), with
# PATH the mount-relative path of one of the command's arguments.
_errors_line_ok() {
	local line=$1 errno=$2
	shift 2
	local re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z pid=[0-9]+ uid=[0-9]+ [a-z]+ ([^ ]+) ([A-Z0-9]+): (.+)$'
	[[ $line =~ $re ]] || return 1
	local path=${BASH_REMATCH[1]} name=${BASH_REMATCH[2]} reason=${BASH_REMATCH[3]}
	[ "$name" = "$errno" ] || return 1
	[ -n "$reason" ] || return 1
	path=${path#/}
	local a
	for a in "$@"; do
		a=${a#of=}
		a=${a#"$MNT"/}
		[ "$a" = "$path" ] && return 0
		# control characters may be escaped as '?' to keep one line
		[ "${a//[[:cntrl:]]/?}" = "$path" ] && return 0
	done
	return 1
}

_describe() {
	local s="$*"
	s=${s//"$MNT"\//}
	s=${s//[[:cntrl:]]/?}
	[ ${#s} -gt 160 ] && s="${s:0:157}..."
	printf '%s' "$s"
}

# expect_errno ERRNO CMD...: CMD (a program or wr/wrf/wr_file) fails with
# ERRNO and the daemon logged it as the new last line of /errors.
# ERRNO may list alternatives, "ENAMETOOLONG|EINVAL".
expect_errno() { _errno_core "$1" 1 "${@:2}"; }

# expect_errno_kernel ERRNO CMD...: the same for refusals the kernel makes
# itself (EEXIST on mkdir of an existing name, EACCES under
# default_permissions): only the errno is checked.
expect_errno_kernel() { _errno_core "$1" 0 "${@:2}"; }

# expect_ok CMD...: CMD succeeds.
expect_ok() {
	local out rc
	out=$(_run "$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		ok "$(_describe "$@")"
	else
		not_ok "$(_describe "$@") (exit $rc)"
		diag "$out"
	fi
	return $rc
}

# expect_errno_each ERRNO PATH LINE...: writes each LINE (plus a newline) to
# PATH in its own write(2), as `echo LINE > PATH` would; each must fail with
# ERRNO, and /errors must gain one line per refusal naming ERRNO and PATH.
# The same as a loop of expect_errno, with one process for the whole batch
# (the mount tests run on loaded CI machines: process spawns dominate).
expect_errno_each() {
	local want=$1 path=$2
	shift 2
	local before out txt after i=0 rc msg got n=$#
	before=$(errors_lines)
	out=$(timeout 120 bash -c '
		path=$1; shift
		for line in "$@"; do
			msg=$( { printf "%s\n" "$line" >"$path"; } 2>&1 )
			printf "%d\t%s\n" $? "${msg//$'"'"'\n'"'"'/ }"
		done' each "$path" "$@")
	while IFS=$'\t' read -r rc msg; do
		i=$((i + 1))
		local what="$want <- echo $(printf '%q' "${!i}") > $(_describe "$path")"
		got=$(errno_from_text "$msg")
		if [ "$rc" -ne 0 ] && [ "$got" = "$want" ]; then
			ok "$what"
		else
			not_ok "$what (exit $rc, got $got)"
			diag "$msg"
		fi
	done <<<"$out"
	[ "$i" -eq "$n" ] || not_ok "expect_errno_each: $i results for $n lines"
	txt=$(timeout "$TIMEOUT" cat -- "$MNT/errors" 2>/dev/null)
	after=$(_count_lines "$txt")
	if [ "$before" -lt $((1000 - n)) ] && [ "$after" -ne $((before + n)) ]; then
		not_ok "/errors grew by $((after - before)) lines for $n refusals"
		return 1
	fi
	local bad=0 line
	while IFS= read -r line; do
		_errors_line_ok "$line" "$want" "$path" || bad=$((bad + 1))
	done < <(printf '%s\n' "$txt" | tail -n "$n")
	expect_eq "$bad" 0 "/errors: $n lines naming $want and $(_describe "$path")"
}

# expect_fail CMD...: CMD fails (any errno: for refusals the SPEC does not
# give an errno for, e.g. writing a read-only file).
expect_fail() {
	local out rc
	out=$(_run "$@" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 124 ]; then
		ok "$(_describe "$@") fails ($(errno_from_text "$out"))"
	else
		not_ok "$(_describe "$@") (exit $rc, expected a failure)"
		diag "$out"
	fi
}

# expect_eq ACTUAL EXPECTED MSG
expect_eq() {
	if [ "$1" == "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		if [[ $1 == *$'\n'* || $2 == *$'\n'* ]]; then
			diag "$(diff -u <(printf '%s\n' "$2") <(printf '%s\n' "$1") |
				tail -n +3 | head -n 40)"
		else
			diag "expected: $(printf '%q' "$2" | head -c 1000)"
			diag "     got: $(printf '%q' "$1" | head -c 1000)"
		fi
		return 1
	fi
}

# expect_match ACTUAL ERE MSG
expect_match() {
	if [[ $1 =~ $2 ]]; then
		ok "$3"
	else
		not_ok "$3"
		diag "expected to match: $2"
		diag "     got: $(printf '%q' "$1")"
		return 1
	fi
}

# expect_file_eq PATH EXPECTED [MSG]: the file is exactly EXPECTED plus one
# newline, byte for byte (EXPECTED "" means a file holding one empty line).
# expect_same FILE1 FILE2 DESC: the two files are byte-identical (the diff
# is shown when not).
expect_same() {
	if cmp -s "$1" "$2"; then
		ok "$3"
	else
		not_ok "$3"
		diag "$(diff "$1" "$2" | head -20)"
	fi
}

expect_file_eq() {
	local path=$1 want=$2 msg=${3:-"$(_describe "$1") = $(printf '%q' "$2")"}
	local got rc
	got=$(timeout "$TIMEOUT" cat -- "$path" 2>&1; printf x)
	rc=$?
	got=${got%x}
	if [ "$got" == "$want"$'\n' ]; then
		ok "$msg"
	else
		not_ok "$msg"
		diag "expected: $(printf '%q' "$want"$'\n')"
		diag "     got: $(printf '%q' "$got")"
		return 1
	fi
}

# expect_file_empty PATH [MSG]: the file reads as zero bytes (an empty list).
expect_file_empty() {
	local n
	n=$(timeout "$TIMEOUT" cat -- "$1" | wc -c)
	expect_eq "$n" 0 "${2:-"$(_describe "$1") is empty"}"
}

# expect_json FILE JQ-EXPR EXPECTED: `jq -r EXPR FILE` prints EXPECTED.
expect_json() {
	local got
	got=$(timeout "$TIMEOUT" cat -- "$1" | jq -r "$2" 2>&1)
	expect_eq "$got" "$3" "$(_describe "$1") | jq '$2' = $3"
}

# ---------------------------------------------------------------------------
# Mounting

_is_mounted() {
	# /proc/self/mountinfo, not stat(2): a dead daemon would make stat hang
	# or fail.
	awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo
}

# wait_mounted MNT: until MNT is a responsive ipamfs mount (at most ~10 s).
wait_mounted() {
	local mnt=${1:-$MNT} i
	for i in $(seq 1 100); do
		if _is_mounted "$mnt" && timeout 5 test -e "$mnt/README"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# _soak_end WHAT: in soak mode, ends the scenario before WHAT (a remount
# or unmount cannot happen on the shared mount).
_soak_end() {
	[ -n "${IPAMFS_SOAK_MNT:-}" ] || return 0
	TESTS_RUN=$((TESTS_RUN + 1))
	echo "ok $TESTS_RUN # SKIP soak mode: the rest of this scenario needs $1"
	finish
}

# two_mounts: mounts $DB twice, at A=$TMPD/a and B=$TMPD/b (two daemons
# of one PostgreSQL database); MNT is A afterwards.
two_mounts() {
	A=$TMPD/a B=$TMPD/b
	mkdir "$A" "$B"
	MNT=$A
	start_ipamfs
	MNT=$B
	start_ipamfs
	MNT=$A
}

# start_ipamfs [ARGS...]: mounts $DB on $MNT (daemonised); for remounts.
start_ipamfs() {
	_soak_end "a mount of its own"
	if ! timeout "$TIMEOUT" "$IPAMFS" "$@" "$DB" "$MNT" >>"$TMPD/ipamfs.log" 2>&1; then
		echo "Bail out! ipamfs $* $DB $MNT failed:"
		diag "$(cat "$TMPD/ipamfs.log")"
		exit 1
	fi
	MOUNTS+=("$MNT")
	if ! wait_mounted "$MNT"; then
		echo "Bail out! $MNT did not become ready"
		exit 1
	fi
}

# start_ipamfs_fg [ARGS...]: mounts $DB on $MNT with a foreground daemon
# (-f) in the background of this script; its pid is in IPAMFS_PID.
start_ipamfs_fg() {
	_soak_end "a daemon of its own"
	"$IPAMFS" -f "$@" "$DB" "$MNT" >>"$TMPD/ipamfs.log" 2>&1 &
	IPAMFS_PID=$!
	FG_PIDS+=("$IPAMFS_PID")
	MOUNTS+=("$MNT")
	if ! wait_mounted "$MNT"; then
		echo "Bail out! $MNT did not become ready (foreground daemon)"
		exit 1
	fi
}

# db_of_mount MNT: the database an ipamfs mount serves (its fsname, the
# source field of /proc/self/mountinfo).
db_of_mount() {
	awk -v m="$1" '$5 == m { for (i = 7; i <= NF; i++) if ($i == "-") {
		print $(i + 2); exit } }' /proc/self/mountinfo
}

# db_holder DB: the pid holding SQLite's POSIX lock on DB (an ipamfs daemon
# holds it from open to exit), from /proc/locks; empty when none.
db_holder() {
	local ino p
	# a PostgreSQL URI (IPAMFS_TEST_DB, suite pg-all) has no lock: the
	# ipamfs process whose arguments name it
	if [[ $1 == postgres*://* ]]; then
		for p in /proc/[0-9]*; do
			[ "$(cat "$p/comm" 2>/dev/null)" = ipamfs ] &&
				tr '\0' '\n' <"$p/cmdline" 2>/dev/null |
				grep -qxF -- "$1" && { echo "${p#/proc/}"; return 0; }
		done
		return 0
	fi
	ino=$(stat -c %i -- "$1" 2>/dev/null) || return 0
	awk -v ino="$ino" '$2 == "POSIX" { split($6, f, ":");
		if (f[3] == ino) { print $5; exit } }' /proc/locks
}

# wait_pid_gone PID [TENTHS]: until PID has exited (default 10 s).
wait_pid_gone() {
	local i
	[ -n "$1" ] || return 0
	for i in $(seq 1 "${2:-100}"); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# unmount_ipamfs [MNT]: a clean unmount (fails the test if it cannot). It
# returns once the daemon has EXITED, not when the mount table forgets
# the mount: fusermount3 -u returns before the daemon has closed the
# database, and a remount, sqlite3 or cp of the file must not race it.
unmount_ipamfs() {
	local mnt=${1:-$MNT} i db pid
	_soak_end "an unmount"
	db=$(db_of_mount "$mnt")
	pid=$( [ -n "$db" ] && db_holder "$db")
	timeout 10 fusermount3 -u "$mnt"
	for i in $(seq 1 50); do
		if ! _is_mounted "$mnt"; then
			wait_pid_gone "$pid" && return 0
			not_ok "the daemon (pid $pid) of $mnt did not exit"
			return 1
		fi
		sleep 0.1
	done
	not_ok "unmount $mnt"
	return 1
}

# mount_ipamfs [ARGS...]: a fresh temp dir with DB=$TMPD/ipam.db (not yet
# existing) and MNT=$TMPD/mnt, mounted; installs the cleanup trap.
mount_ipamfs() {
	new_tmpdir
	if [ -n "${IPAMFS_SOAK_MNT:-}" ]; then
		MNT=$IPAMFS_SOAK_MNT
		DB=${IPAMFS_SOAK_DB:-$DB}
		return 0
	fi
	start_ipamfs "$@"
}

# new_tmpdir: the temp dir and the cleanup trap, without mounting.
new_tmpdir() {
	TMPD=$(mktemp -d /tmp/ipamfs-mount-test.XXXXXXXX) || exit 1
	chmod 755 "$TMPD"
	# IPAMFS_TEST_DB: another database for every mount of the script
	# (by hand: a postgresql:// URI of an empty database, docs/design/pg.md)
	DB=${IPAMFS_TEST_DB:-$TMPD/ipam.db}
	MNT=$TMPD/mnt
	mkdir "$MNT"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	local m p i busy=0
	# background jobs of this script (writers, pollers): stop them first,
	# by pid, so that nothing uses the mount or the temp dir any more
	for p in $(jobs -p); do
		kill "$p" 2>/dev/null
	done
	for p in $(jobs -p); do
		for i in $(seq 1 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null
	done
	local pids=()
	for m in "${MOUNTS[@]}"; do
		if _is_mounted "$m"; then
			p=$(db_holder "$(db_of_mount "$m")")
			[ -n "$p" ] && pids+=("$p")
			timeout 10 fusermount3 -u -q "$m" 2>/dev/null ||
				timeout 10 fusermount3 -uz -q "$m" 2>/dev/null
		fi
	done
	# daemons close their database before the temp dir goes
	for p in "${pids[@]}"; do
		wait_pid_gone "$p"
	done
	for p in "${FG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${FG_PIDS[@]}"; do
		for i in $(seq 1 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null
	done
	for m in "${MOUNTS[@]}"; do
		if _is_mounted "$m"; then
			timeout 10 fusermount3 -uz -q "$m" 2>/dev/null
		fi
		_is_mounted "$m" && busy=1
	done
	if [ -n "$TMPD" ] && [ -d "$TMPD" ]; then
		if [ $busy -eq 0 ]; then
			rm -rf -- "$TMPD" 2>/dev/null || { sleep 1; rm -rf -- "$TMPD"; }
		else
			echo "# still mounted, $TMPD left in place"
		fi
	fi
	echo "1..$TESTS_RUN"
	if [ "$TESTS_FAILED" -gt 0 ]; then
		echo "# $TESTS_FAILED of $TESTS_RUN checks failed"
		exit 1
	fi
	if [ $rc -ne 0 ]; then
		echo "# exiting with status $rc"
		exit $rc
	fi
	exit 0
}

# finish: the normal end of a script (cleanup runs from the EXIT trap).
finish() { exit 0; }

# ---------------------------------------------------------------------------
# Building blocks

# mkpool SCOPE PATH [CIDR...]: creates scopes/SCOPE/pools/PATH (PATH is
# "top" or "top/pools/child"), provisions the CIDRs; the directory is left
# in $POOL. Runs in the main shell (not in $(...)) so that a failure bails
# out of the script: later checks would only repeat it.
mkpool() {
	local scope=$1 path=$2
	shift 2
	local dir=$MNT/scopes/$scope/pools/$path c
	if ! timeout "$TIMEOUT" mkdir "$dir"; then
		echo "Bail out! mkdir $dir"
		exit 1
	fi
	case "$path:${1:-}" in
	*/pools/*) ;; # a child inherits its parent's family
	*:*:*)
		if ! wr "$dir/address-family" ipv6; then
			echo "Bail out! address-family ipv6 for $dir"
			exit 1
		fi
		;;
	esac
	for c in "$@"; do
		if ! wr "$dir/cidrs" "$c"; then
			echo "Bail out! provision $c to $dir"
			exit 1
		fi
	done
	POOL=$dir
}

# nalloc POOLDIR: the number of allocations of a pool (entries of allocations/).
nalloc() {
	timeout "$TIMEOUT" ls -A "$1/allocations" | wc -l
}

# status_get POOLDIR KEY: the value of KEY in the pool's status.
status_get() {
	timeout "$TIMEOUT" cat "$1/status" | sed -n "s/^$2=//p"
}

# The id of an object directory.
idof() { timeout "$TIMEOUT" cat "$1/id"; }
