#!/bin/bash
# run-case.sh CASEDIR: runs one data-driven case of tests/cases/ on a fresh
# mount and compares its transcript with CASEDIR/expected.
#
# A case is a directory with
#   cmds      one shell command per line, run by bash in the mount's root
#             (relative paths); blank lines and lines starting with '#' are
#             skipped. A line ending in '\' continues on the next line.
#   expected  the transcript: for each command "$ COMMAND", then what it
#             printed (stdout and stderr), then "[exit N]" when N != 0
#   options   optional: ipamfs options, e.g. "-o home-locale=us-east-1"
# Commands find a scratch directory (outside the mount) in $T.
#
# The transcript is normalised so that it is reproducible: AWS-style ids
# become <prefix>-1, <prefix>-2, ... in order of first appearance per prefix
# (ipam-pool-1, ipam-pool-alloc-1, ...), ISO times become TIME, pids
# become pid=PID, and bash's "bash: line N: " prefix is dropped.
#
# UPDATE=1 writes the transcript to CASEDIR/expected instead of comparing:
# review the diff before committing it.
. "$(dirname "$0")/lib.sh"

CASE=${1:?usage: run-case.sh CASEDIR}
CASE=$(cd "$CASE" && pwd)
name=$(basename "$CASE")
[ -f "$CASE/cmds" ] || {
	echo "Bail out! $CASE/cmds missing"
	exit 1
}
opts=()
if [ -f "$CASE/options" ]; then
	read -r -a opts <"$CASE/options"
fi
mount_ipamfs "${opts[@]}"
mkdir "$TMPD/scratch"
export T=$TMPD/scratch

transcript() {
	local line cmd=""
	while IFS= read -r line || [ -n "$line" ]; do
		if [ -z "$cmd" ]; then
			case "$line" in
			'' | '#'*) continue ;;
			esac
		fi
		if [[ $line == *\\ ]]; then
			cmd+="${line%\\}"$'\n'
			continue
		fi
		cmd+=$line
		printf '$ %s\n' "$cmd"
		(cd "$MNT" && timeout "$TIMEOUT" bash -c "$cmd" 2>&1)
		local rc=$?
		[ $rc -ne 0 ] && printf '[exit %d]\n' "$rc"
		cmd=""
	done <"$CASE/cmds"
}

normalise() {
	perl -pe '
		s/\b(ipam(?:-[a-z]+)*)-([0-9a-f]{8,})\b/
			$id{"$1-$2"} \/\/= "$1-" . ++$n{$1}/ge;
		s/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\b/TIME/g;
		s/\bpid=\d+/pid=PID/g;
		s/^bash: line \d+: //;
	'
}

transcript | normalise >"$TMPD/got"
if [ "${UPDATE:-0}" = 1 ]; then
	cp "$TMPD/got" "$CASE/expected"
	ok "case $name: expected written"
	finish
fi
if diff -u "$CASE/expected" "$TMPD/got" >"$TMPD/diff"; then
	ok "case $name: transcript matches"
else
	not_ok "case $name: transcript differs"
	diag "$(cat "$TMPD/diff")"
fi
finish
