#!/bin/sh
# api_coverage.sh - every function declared in core/include/ipam.h is
# called in tests/unit/test_api_all.c (so that test prepares every
# statement of libipam on one handle). Usage: api_coverage.sh IPAM_H TEST_C
set -eu
header=$1 test=$2
missing=0
for f in $(grep -oE '^[a-z_0-9 *]*[ *](ipam_[a-z_0-9]+)\(' "$header" |
	grep -oE 'ipam_[a-z_0-9]+\($' | tr -d '(' | sort -u); do
	if ! grep -q "\\<$f(" "$test"; then
		echo "not called in $(basename "$test"): $f"
		missing=$((missing + 1))
	fi
done
n=$(grep -cE '^[a-z_0-9 *]*[ *]ipam_[a-z_0-9]+\(' "$header")
echo "$n declarations, $missing not called"
[ "$missing" -eq 0 ]
