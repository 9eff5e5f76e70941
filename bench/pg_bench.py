#!/usr/bin/env python3
"""pg_bench.py - allocations/s with one daemon on SQLite, one, two and four
daemons on one PostgreSQL database, side by side in one run, the
cross-mount visibility latency (a change on mount A: B's /events watcher
woken by LISTEN/NOTIFY, B's first read showing it), how soon B's kernel
lets go of a name A removed (A's rmdir -> B's stat fails), and what a
`stat` deep in the tree costs on each engine. docs/bench.md.

Run through bench/run-pg-bench.sh (a throwaway cluster of
tests/pg/pgtmp.sh, cleanup of every mount):

    pg_bench.py IPAMFS WORKDIR [--allocs N] [--rounds R]

IPAMFS_PG_DIR names the cluster's socket directory (pgtmp.sh sets it).
Every writer is a thread writing "NAME /28" to a pool's `allocate`, one
allocation per write (one transaction); writers are spread over the
daemons round-robin.
"""
import argparse
import os
import select
import statistics
import subprocess
import sys
import threading
import time


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def mount(ipamfs, db, mnt):
    os.makedirs(mnt, exist_ok=True)
    sh(ipamfs, db, mnt, stdout=subprocess.DEVNULL)
    for _ in range(100):
        if os.path.exists(os.path.join(mnt, "README")):
            return
        time.sleep(0.05)
    raise RuntimeError("%s did not mount" % mnt)


def umount(mnt):
    subprocess.run(["fusermount3", "-u", mnt], check=False)


def write(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def status(pool, key):
    with open(os.path.join(pool, "status")) as f:
        for line in f:
            if line.startswith(key + "="):
                return line.split("=", 1)[1].strip()
    return None


def psql(pgdir, sql):
    sh("psql", "-X", "-q", "-At",
       "postgresql:///postgres?host=%s&user=ipamfs" % pgdir, "-c", sql,
       stdout=subprocess.DEVNULL)


def pool_of(mnt):
    return os.path.join(mnt, "scopes/private/pools/top")


def make_pool(mnt):
    os.mkdir(pool_of(mnt))
    write(os.path.join(pool_of(mnt), "cidrs"), "10.0.0.0/8\n")


def throughput(ipamfs, work, label, db, daemons, writers, allocs):
    mnts = [os.path.join(work, "%s-%d" % (label, i)) for i in range(daemons)]
    try:
        for m in mnts:
            mount(ipamfs, db, m)
        make_pool(mnts[0])
        for m in mnts[1:]:  # every mount sees the pool
            os.listdir(pool_of(m))
        errors = []

        def run(k):
            pool = pool_of(mnts[k % daemons])
            try:
                for i in range(allocs):
                    write(os.path.join(pool, "allocate"),
                          "w%d-%d /28\n" % (k, i))
            except OSError as e:
                errors.append(e)

        threads = [threading.Thread(target=run, args=(k,))
                   for k in range(writers)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        dt = time.monotonic() - t0
        count = int(status(pool_of(mnts[-1]), "allocation-count"))
        if errors or count != writers * allocs:
            raise RuntimeError("%s: %d allocations, %s" %
                               (label, count, errors[:3]))
        return writers * allocs / dt
    finally:
        for m in mnts:
            umount(m)
        time.sleep(0.3)


def batch(ipamfs, work, label, db, n):
    """Seconds for one write of n allocation lines (one transaction) into
    one pool, on a fresh mount."""
    mnt = os.path.join(work, label)
    try:
        mount(ipamfs, db, mnt)
        make_pool(mnt)
        text = "".join("b%d /30\n" % i for i in range(n))
        t0 = time.monotonic()
        write(os.path.join(pool_of(mnt), "allocate"), text)
        dt = time.monotonic() - t0
        count = int(status(pool_of(mnt), "allocation-count"))
        if count != n:
            raise RuntimeError("%s: %d allocations of %d" % (label, count, n))
        return dt
    finally:
        umount(mnt)
        time.sleep(0.3)


def latency(ipamfs, work, db, rounds):
    a, b = os.path.join(work, "lat-a"), os.path.join(work, "lat-b")
    woke_after_return, write_ms, first_read, read_ms = [], [], 0, []
    try:
        mount(ipamfs, db, a)
        mount(ipamfs, db, b)
        make_pool(a)
        pa, pb = pool_of(a), pool_of(b)
        os.listdir(pb)
        for i in range(rounds):
            fd = os.open(os.path.join(b, "events"), os.O_RDONLY)
            while os.read(fd, 65536):
                pass
            p = select.poll()
            p.register(fd, select.POLLIN)
            woke = []

            def watch():
                if p.poll(10000):
                    woke.append(time.monotonic())

            w = threading.Thread(target=watch)
            w.start()
            time.sleep(0.02)  # the watcher sleeps in poll
            t0 = time.monotonic()
            write(os.path.join(pa, "allocate"), "l%d /28\n" % i)
            t1 = time.monotonic()
            w.join()
            os.close(fd)
            if not woke:
                raise RuntimeError("round %d: b's watcher not woken" % i)
            write_ms.append((t1 - t0) * 1000)
            woke_after_return.append((woke[0] - t1) * 1000)
            # b's first read after the write
            r0 = time.monotonic()
            seen = status(pb, "allocation-count")
            read_ms.append((time.monotonic() - r0) * 1000)
            first_read += seen == str(i + 1)
    finally:
        umount(a)
        umount(b)
    return woke_after_return, write_ms, first_read, read_ms


def gone_latency(ipamfs, work, db, rounds):
    """A's rmdir (a release) returning -> B's os.stat of the name failing,
    after B stat'ed it (its kernel holds the name and attributes for 60 s
    unless the listener drops them): milliseconds per round."""
    a, b = os.path.join(work, "gone-a"), os.path.join(work, "gone-b")
    out = []
    try:
        mount(ipamfs, db, a)
        mount(ipamfs, db, b)
        make_pool(a)
        pa, pb = pool_of(a), pool_of(b)
        for i in range(rounds):
            write(os.path.join(pa, "allocate"), "g%d /28\n" % i)
            name = os.path.join(pb, "allocations", "g%d" % i)
            os.stat(name)
            os.stat(os.path.join(name, "cidr"))
            time.sleep(0.02)
            os.rmdir(os.path.join(pa, "allocations", "g%d" % i))
            t0 = time.monotonic()
            while True:
                try:
                    os.stat(name)
                except FileNotFoundError:
                    break
                if time.monotonic() - t0 > 5:
                    raise RuntimeError("round %d: b still shows g%d" %
                                       (i, i))
                time.sleep(0.0005)
            out.append((time.monotonic() - t0) * 1000)
    finally:
        umount(a)
        umount(b)
    return out


def stat_cost(ipamfs, work, label, db, n=300):
    """os.stat of a directory 6 levels down and a file 7 levels down, n
    times each once warm: (dir times, file times) in microseconds."""
    m = os.path.join(work, "stat-" + label)
    try:
        mount(ipamfs, db, m)
        make_pool(m)
        write(os.path.join(pool_of(m), "allocate"), "x /28\n")
        d = os.path.join(pool_of(m), "allocations", "x")
        f = os.path.join(d, "cidr")
        res = []
        for path in (d, f):
            os.stat(path)
            ts = []
            for _ in range(n):
                t0 = time.perf_counter()
                os.stat(path)
                ts.append((time.perf_counter() - t0) * 1e6)
            res.append(ts)
        return res
    finally:
        umount(m)


def q(xs, f):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(f * len(xs)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ipamfs")
    ap.add_argument("work")
    ap.add_argument("--allocs", type=int, default=100,
                    help="allocations per writer")
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--batch", type=int, default=2000,
                    help="lines of the one-write batch (0: no batch run)")
    o = ap.parse_args()
    pgdir = os.environ["IPAMFS_PG_DIR"]

    def pgdb(name):
        psql(pgdir, "DROP DATABASE IF EXISTS %s" % name)
        psql(pgdir, "CREATE DATABASE %s" % name)
        return "postgresql:///%s?host=%s&user=ipamfs" % (name, pgdir)

    runs = [  # label, engine, daemons, writers
        ("sqlite-1d-1w", "sqlite", 1, 1),
        ("sqlite-1d-4w", "sqlite", 1, 4),
        ("pg-1d-1w", "pg", 1, 1),
        ("pg-1d-4w", "pg", 1, 4),
        ("pg-2d-2w", "pg", 2, 2),
        ("pg-4d-4w", "pg", 4, 4),
    ]
    rates = {}
    for label, engine, daemons, writers in runs:
        db = (os.path.join(work_db(o.work), label + ".db")
              if engine == "sqlite" else pgdb(label.replace("-", "_")))
        rates[label] = throughput(o.ipamfs, o.work, label, db, daemons,
                                  writers, o.allocs)
    base = rates["sqlite-1d-1w"]
    print("| run | daemons | writers | allocations/s | vs SQLite, 1 writer |")
    print("|---|---:|---:|---:|---:|")
    for label, engine, daemons, writers in runs:
        print("| %s | %d | %d | %.0f | %.2f |" %
              ("SQLite" if engine == "sqlite" else "PostgreSQL", daemons,
               writers, rates[label], rates[label] / base))
    print()
    if o.batch:
        t_sqlite = batch(o.ipamfs, o.work, "batch-sqlite",
                         os.path.join(work_db(o.work), "batch.db"), o.batch)
        t_pg = batch(o.ipamfs, o.work, "batch-pg", pgdb("batch"), o.batch)
        print("| one write of %d lines (one transaction) | seconds |"
              " allocations/s | vs SQLite |" % o.batch)
        print("|---|---:|---:|---:|")
        for name, t in (("SQLite", t_sqlite), ("PostgreSQL", t_pg)):
            print("| %s | %.2f | %.0f | %.2f |" %
                  (name, t, o.batch / t, t_sqlite / t))
        print()
    woke, wr, first, rd = latency(o.ipamfs, o.work, pgdb("latency"),
                                  o.rounds)
    print("| cross-mount, %d rounds | median | p90 | max |" % o.rounds)
    print("|---|---:|---:|---:|")
    for name, xs in (("the write on A", wr),
                     ("A's write returned -> B's /events watcher woke",
                      woke),
                     ("B's first read of status after it", rd)):
        print("| %s | %.1f ms | %.1f ms | %.1f ms |" %
              (name, statistics.median(xs), q(xs, 0.9), max(xs)))
    print()
    print("B's first read showed the change: %d of %d" % (first, o.rounds))
    print()
    gone = gone_latency(o.ipamfs, o.work, pgdb("gone"), o.rounds)
    print("| names, %d rounds | median | p90 | max |" % o.rounds)
    print("|---|---:|---:|---:|")
    print("| A's rmdir returned -> B's stat of the name fails | %.1f ms |"
          " %.1f ms | %.1f ms |" %
          (statistics.median(gone), q(gone, 0.9), max(gone)))
    print()
    print("| mount | what | median | p90 |")
    print("|---|---|---:|---:|")
    for label, db in (("SQLite", os.path.join(work_db(o.work), "stat.db")),
                      ("PostgreSQL", pgdb("stat"))):
        d, f = stat_cost(o.ipamfs, o.work, label, db)
        for what, xs in (("stat of a directory 6 levels down", d),
                         ("stat of a file 7 levels down", f)):
            print("| %s | %s | %.0f us | %.0f us |" %
                  (label, what, statistics.median(xs), q(xs, 0.9)))


def work_db(work):
    d = os.path.join(work, "db")
    os.makedirs(d, exist_ok=True)
    return d


if __name__ == "__main__":
    sys.exit(main())
