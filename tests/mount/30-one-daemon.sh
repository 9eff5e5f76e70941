#!/bin/bash
# 30-one-daemon: one database, one daemon, and what opening a database may
# and may not do (issue 8 §5, §7). A database another ipamfs serves is
# refused at once, naming the pid; so is a mountpoint that is already an
# ipamfs mount. A new database is announced on stderr, created 0600 (and
# its -wal), and removed again when the mount fails. An empty file, a
# dangling symbolic link and a file with a damaged page are refused,
# untouched. -o allow_other brings default_permissions. After an unmount,
# the daemon exits and the file is free.
. "$(dirname "$0")/lib.sh"

new_tmpdir

# --- a new database: announced, private -------------------------------------
out=$(timeout "$TIMEOUT" "$IPAMFS" "$DB" "$MNT" 2>&1)
check $? "mount a new database"
MOUNTS+=("$MNT")
wait_mounted "$MNT"
expect_match "$out" "^ipamfs: created a new IPAM in $DB\$" "stderr says a new IPAM was created"
mkpool private p 10.0.0.0/16
wr "$POOL/allocate" "a /24"
expect_eq "$(stat -c %a "$DB")" 600 "the database is created 0600"
expect_eq "$(stat -c %a "$DB-wal")" 600 "its -wal is 0600"
pid=$(db_holder "$DB")
[ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm)" = ipamfs ]
check $? "the daemon (pid $pid) holds the database's lock from the start"

# --- a second daemon on the same database: refused at once ------------------
mkdir "$TMPD/mnt2"
start=$(date +%s%N)
out=$(timeout "$TIMEOUT" "$IPAMFS" "$DB" "$TMPD/mnt2" 2>&1)
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ $rc -eq 1 ]
check $? "a second mount of the same database exits 1 (got $rc)"
expect_match "$out" "database is in use by ipamfs pid $pid\$" "it says who holds the database"
[ $ms -lt 3000 ]
check $? "it is refused at once ($ms ms)"
! _is_mounted "$TMPD/mnt2"
check $? "nothing is mounted on the second mountpoint"
expect_file_eq "$POOL/allocations/a/cidr" 10.0.0.0/24 "the first mount still works"
wr "$POOL/allocate" "b /24"
check $? "and still writes"

# --- a second daemon on the same mountpoint: refused -----------------------
out=$(timeout "$TIMEOUT" "$IPAMFS" "$TMPD/other.db" "$MNT" 2>&1)
rc=$?
[ $rc -eq 1 ]
check $? "mounting over an ipamfs mount exits 1 (got $rc)"
expect_match "$out" "is already an ipamfs mount" "it says the mountpoint is an ipamfs mount"
[ ! -e "$TMPD/other.db" ]
check $? "and creates no database"
expect_eq "$(awk -v m="$MNT" '$5 == m' /proc/self/mountinfo | wc -l)" 1 "one mount on the mountpoint"

# --- fsync(2) on any file of the mount -------------------------------------
python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd); os.close(fd)
fd = os.open(sys.argv[2], os.O_RDONLY); os.fsync(fd); os.close(fd)' \
	"$POOL/cidrs" "$POOL"
check $? "fsync on a file and on a directory of the mount succeed"

# --- unmount: the daemon exits, the file is free ---------------------------
unmount_ipamfs
! kill -0 "$pid" 2>/dev/null
check $? "after unmount_ipamfs the daemon (pid $pid) has exited"
expect_eq "$(db_holder "$DB")" "" "nobody holds the database any more"
expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM allocation" 2>&1)" 2 "sqlite3 reads the file right after"

# --- sync=normal: fsync(2) puts every change into the database file --------
start_ipamfs -o sync=normal
wr "$POOL/allocate" "c /24"
# the main file alone (no -wal): what survives if the WAL is lost
cp "$DB" "$TMPD/main-only.db"
before=$(sqlite3 "$TMPD/main-only.db" "SELECT count(*) FROM allocation WHERE name = 'c'" 2>&1)
python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd); os.close(fd)' "$POOL/cidrs"
check $? "fsync with sync=normal"
cp "$DB" "$TMPD/main-only.db"
rm -f "$TMPD/main-only.db-wal"
expect_eq "$before/$(sqlite3 "$TMPD/main-only.db" "SELECT count(*) FROM allocation WHERE name = 'c'" 2>&1)" 0/1 \
	"sync=normal: the change is in the WAL only until fsync(2) checkpoints it into the database"
unmount_ipamfs

out=$(timeout "$TIMEOUT" "$IPAMFS" -o sync=fast "$DB" "$MNT" 2>&1)
[ $? -eq 1 ]
check $? "-o sync=fast is refused"
expect_match "$out" "sync=full or sync=normal" "with the accepted values"

# --- a failed mount leaves no new file behind ------------------------------
listing=$(ls -A "$TMPD")
out=$(timeout "$TIMEOUT" "$IPAMFS" "$TMPD/fresh.db" "$TMPD/no-such-dir" 2>&1)
[ $? -ne 0 ]
check $? "mounting on a missing directory fails"
expect_eq "$(ls -A "$TMPD")" "$listing" "no fresh.db (nor -wal, -shm) is left behind"
expect_match "$out" "removed the new $TMPD/fresh.db again" "stderr says the new database was removed"

# --- refused files, untouched ----------------------------------------------
refuse() { # NAME NEEDLE
	local f=$TMPD/$1 out rc listing
	listing=$(ls -A "$TMPD")
	cp -P "$f" "$f.orig" 2>/dev/null
	out=$(timeout "$TIMEOUT" "$IPAMFS" "$f" "$MNT" 2>&1)
	rc=$?
	[ $rc -eq 1 ] && ! _is_mounted "$MNT"
	check $? "$1: refused (exit $rc)"
	expect_match "$out" "$2" "$1: $2"
	if [ -L "$f" ]; then
		[ "$(readlink "$f")" = "$(readlink "$f.orig")" ]
	else
		cmp -s "$f" "$f.orig"
	fi
	check $? "$1: left as it was"
	rm -f "$f.orig"
	expect_eq "$(ls -A "$TMPD")" "$listing" "$1: no file created"
}
: >"$TMPD/empty.db"
refuse empty.db "is an empty file, not an IPAM"
ln -s "$TMPD/nowhere/../target.db" "$TMPD/dangling.db"
ln -s "$TMPD/target.db" "$TMPD/dangling2.db"
refuse dangling.db "dangling symbolic link"
refuse dangling2.db "dangling symbolic link"
[ ! -e "$TMPD/target.db" ]
check $? "the link's target was not created"
# a damaged page deep in the file (header and schema intact)
cp "$DB" "$TMPD/damaged.db"
pages=$(($(stat -c %s "$DB") / 4096))
printf '\x0d\xff\xff\xff\xff\xff\xff\xff' |
	dd of="$TMPD/damaged.db" bs=1 seek=$(((pages - 2) * 4096)) conv=notrunc status=none
# (checked on a copy: on some damage the sqlite3 shell leaves -wal and -shm
# behind, which the refused open would then find)
mkdir -p "$TMPD/check"
cp "$TMPD/damaged.db" "$TMPD/check/damaged.db"
qc=$(sqlite3 "$TMPD/check/damaged.db" 'PRAGMA quick_check' 2>&1)
rm -rf "$TMPD/check"
if [ "$qc" != ok ]; then
	refuse damaged.db "damaged"
else
	not_ok "the damage is visible to sqlite3's quick_check"
fi

# --- SIGTERM (systemctl stop): the daemon closes, unmounts and exits 0 ----
: >"$TMPD/ipamfs.log"
start_ipamfs_fg
wr "$POOL/allocate" "d /24"
kill -TERM "$IPAMFS_PID"
wait_pid_gone "$IPAMFS_PID" 100
check $? "SIGTERM: the foreground daemon exits"
wait "$IPAMFS_PID"
expect_eq "$?" 0 "with status 0"
FG_PIDS=()
! _is_mounted "$MNT"
check $? "and leaves no mount behind"
[ ! -s "$DB-wal" ]
check $? "the WAL was checkpointed into the database at close"
expect_eq "$(sqlite3 "$DB" 'PRAGMA integrity_check; SELECT count(*) FROM allocation' 2>&1 | tr '\n' ' ')" "ok 4 " \
	"integrity_check ok, every allocation there"
# what a foreground daemon tells its stderr (the journal under systemd)
log=$(cat "$TMPD/ipamfs.log")
for line in "ipamfs: mounted $DB on $MNT" "ipamfs: serving $DB (sync=full)" \
	"ipamfs: stopping on signal 15" "ipamfs: closed $DB" "ipamfs: unmounted $MNT"; do
	grep -qxF "$line" <<<"$log"
	check $? "logged: $line"
done

# --- allow_other brings default_permissions --------------------------------
start_ipamfs -o allow_other
opts=$(awk -v m="$MNT" '$2 == m { print $4 }' /proc/mounts)
expect_match "$opts" "default_permissions" "-o allow_other mounts with default_permissions ($opts)"
expect_match "$opts" "allow_other" "and allow_other"
expect_eq "$(t stat -c %a "$MNT/backup.db")" 400 "backup.db is readable by the owner only"
unmount_ipamfs

finish
