#!/usr/bin/env bash
# Installs what ipamfs needs, builds and installs it, and mounts a demo IPAM
# with the guide's hierarchy (a top-level pool, a regional pool, a
# development pool) on an embedded SQLite file.
#
#   fs/demo.sh [DATABASE [MOUNTPOINT]]
#   defaults: /var/lib/ipamfs/demo.db  /mnt/ipam
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
db=${1:-/var/lib/ipamfs/demo.db}
mnt=${2:-/mnt/ipam}

"$top/.ci/deps"
cd "$top"
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
meson install -C build --quiet >/dev/null
hash -r

mkdir -p "$(dirname "$db")" "$mnt"
if mountpoint -q "$mnt"; then fusermount3 -u "$mnt"; fi
ipamfs -o home-locale=us-east-1 "$db" "$mnt"
for _ in $(seq 50); do [ -e "$mnt/ipam.json" ] && break; sleep 0.1; done

P=$mnt/scopes/private/pools
if [ ! -d "$P/top" ]; then
	printf 'us-east-1\nus-west-2\n' >"$mnt/ipam/operating-locales"
	mkdir "$P/top"
	echo "top-level pool" >"$P/top/description"
	echo 10.0.0.0/8 >>"$P/top/cidrs"
	mkdir "$P/top/pools/us-west-2"
	echo us-west-2 >"$P/top/pools/us-west-2/locale"
	echo 10.0.0.0/16 >>"$P/top/pools/us-west-2/cidrs"
	mkdir "$P/top/pools/us-west-2/pools/dev"
	echo /24 >>"$P/top/pools/us-west-2/pools/dev/cidrs"
	echo 26 >"$P/top/pools/us-west-2/pools/dev/allocation-default-netmask-length"
	mkdir "$P/top/pools/us-west-2/pools/dev/allocations/web"
fi

D=$P/top/pools/us-west-2/pools/dev
cat <<EOT

ipamfs: the demo IPAM is mounted at $mnt (database $db)

Try:
  ls $mnt/scopes/private/pools/top/pools/us-west-2/pools
  cat $D/status
  cat $D/allocations/web/cidr
  echo "db /27" > $D/allocate && cat $D/allocations/db/cidr
  jq . $D/pool.json
  cat $mnt/scopes/private/pools/top/status
  cat $mnt/README

Unmount with: fusermount3 -u $mnt
EOT
