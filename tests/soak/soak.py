#!/usr/bin/env python3
"""soak.py - the randomized driver of the ipamfs soak test (tests/soak/).

    soak.py reset MNT
        Brings a live mount back to a near-fresh IPAM between two scenarios
        of the suite: every scope, pool, allocation, resource and discovery
        made since is removed, settings and quotas go back to the defaults,
        the clock runs again.

    soak.py drive MNT --pid PID --ops N [--procs P] [--phase K] [--seed S]
                      [--csv FILE] [--warmup W]
        Several worker processes do N filesystem operations in all (about K
        per worker per phase, P workers at once): pools (IPv4 and IPv6, top
        and child, by CIDR and by /N), CIDRs provisioned and deprovisioned,
        allocations by every form (mkdir allocations/NAME, `NAME /LEN`,
        `NAME CIDR`, an anonymous `/LEN` read back through the same
        descriptor, a resource's `allocate` with a pool id), releases,
        renames, chmod, resources, discovery feeds, reads of status,
        status.json, allocations.json, history, metrics and /errors, and
        refusals with their expected errno. Each worker keeps a model of
        what it was told succeeded. After each phase (workers stopped) the
        invariants are checked against the model by brute force with
        Python's ipaddress:
          - no two allocations of a pool overlap;
          - every acknowledged allocation is listed, with its CIDR, and the
            pool lists nothing the model does not know (allocations of the
            shared pool: every worker's acknowledged ones are there);
          - the pool's status counters equal the sums recomputed from the
            listed allocations and provisioned CIDRs (allocation-count,
            total, allocated-to-pools, assigned, available addresses, and
            the prefix length of largest-free-block);
          - every refusal failed with the expected errno and left a line in
            /errors naming the path and the errno (checked at the refusal);
          - a discovery lists exactly the CIDRs of its last snapshot.
        After each phase the daemon's RSS (VmRSS), its open descriptors and
        the database size are sampled (CSV). After the warm-up (W ops), RSS
        must not grow beyond what the database grew plus a fixed slack, and
        the descriptors must not grow.

Exit status 0 when everything held; diagnostics are printed as `# ...`.
"""
import argparse
import errno
import ipaddress
import json
import multiprocessing
import os
import random
import re
import shutil
import sys
import time

E = errno.errorcode
ERR_LINE = re.compile(
    r'^\S+ pid=(\d+) uid=\d+ [a-z]+ (\S+) ([A-Z0-9]+): (.+)$')


class Violation(Exception):
    """An invariant that does not hold (the test fails)."""


def say(msg):
    print('# ' + msg, flush=True)


# ---------------------------------------------------------------------------
# File helpers: one syscall-level operation each, errno kept.

def write(path, text):
    """One write(2) of text to path; returns 0 or the errno."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    except OSError as e:
        return e.errno
    try:
        os.write(fd, text.encode())
        return 0
    except OSError as e:
        return e.errno
    finally:
        try:
            os.close(fd)
        except OSError as e:  # a stream file (feed) is applied at close
            return e.errno


def write_close(path, text):
    """Writes, then closes; the errno of either (feeds apply at close)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    except OSError as e:
        return e.errno
    rc = 0
    try:
        os.write(fd, text.encode())
    except OSError as e:
        rc = e.errno
    try:
        os.close(fd)
    except OSError as e:
        rc = rc or e.errno
    return rc


def read(path):
    with open(path, 'rb') as f:
        return f.read().decode()


def allocate_rw(path, line):
    """Writes an allocate line and reads back what it allocated through the
    same descriptor; (0, text) or (errno, None)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as e:
        return e.errno, None
    try:
        os.write(fd, line.encode())
        out = os.pread(fd, 65536, 0).decode()
        return 0, out
    except OSError as e:
        return e.errno, None
    finally:
        os.close(fd)


def mkdir(path, mode=0o755):
    try:
        os.mkdir(path, mode)
        return 0
    except OSError as e:
        return e.errno


def rmdir(path):
    try:
        os.rmdir(path)
        return 0
    except OSError as e:
        return e.errno


def rename(a, b):
    try:
        os.rename(a, b)
        return 0
    except OSError as e:
        return e.errno


def listdir(path):
    return sorted(os.listdir(path))


def kv(text):
    out = {}
    for line in text.splitlines():
        if '=' in line:
            k, v = line.split('=', 1)
            out[k] = v
    return out


# ---------------------------------------------------------------------------
# reset: a near-fresh IPAM between scenarios

def remove_pool(mnt, pool):
    """Empties and removes a pool directory, children first."""
    for child in listdir(pool + '/pools'):
        remove_pool(mnt, pool + '/pools/' + child)
    for a in listdir(pool + '/allocations'):
        rmdir(pool + '/allocations/' + a)  # system ones go with their owner
    # a BYOIP CIDR that is not provisioned is followed by its state
    for line in read(pool + '/cidrs').splitlines():
        if line.split():
            write(pool + '/cidrs', '-' + line.split()[0] + '\n')
    return rmdir(pool)


def withdraw_all(pool):
    """Withdraws what a public pool and its children advertise."""
    for child in listdir(pool + '/pools'):
        withdraw_all(pool + '/pools/' + child)
    if os.path.exists(pool + '/advertise'):
        for line in read(pool + '/advertise').splitlines():
            if line.split():
                write(pool + '/withdraw', line.split()[0] + '\n')


def reset_public(mnt):
    """The public space of issue 12: advertisements, then ASN
    associations and ASNs, tokens and the proof settings."""
    for p in listdir(mnt + '/scopes/public/pools'):
        withdraw_all(mnt + '/scopes/public/pools/' + p)
    for a in listdir(mnt + '/asns'):
        for line in read(mnt + '/asns/%s/cidrs' % a).splitlines():
            if line.split():
                write(mnt + '/asns/%s/cidrs' % a, '-' + line.split()[0] + '\n')
        rmdir(mnt + '/asns/' + a)
    for t in listdir(mnt + '/ipam/verification-tokens'):
        rmdir(mnt + '/ipam/verification-tokens/' + t)
    for name in ('certificate', 'account-id', 'dns-resolver'):
        write(mnt + '/ipam/' + name, '\n')


def reset(mnt):
    if os.path.exists(mnt + '/clock'):
        write(mnt + '/clock', 'system\n')
    reset_public(mnt)
    for d in listdir(mnt + '/discoveries'):
        if d not in ('default', 'host'):
            rmdir(mnt + '/discoveries/' + d)
    write_close(mnt + '/discoveries/default/feed', '{"EndOfSnapshot":true}\n')
    # prefix lists (80 and 90 both make one named fw), targets first
    for pl in listdir(mnt + '/prefix-lists'):
        for t in listdir(mnt + '/prefix-lists/%s/targets' % pl):
            rmdir(mnt + '/prefix-lists/%s/targets/%s' % (pl, t))
        rmdir(mnt + '/prefix-lists/' + pl)
    # policies before pools: a pool a rule names cannot be removed
    for po in listdir(mnt + '/policies'):
        write(mnt + '/policies/%s/enabled' % po, 'false\n')
        rmdir(mnt + '/policies/' + po)
    for s in listdir(mnt + '/scopes'):
        sd = mnt + '/scopes/' + s
        # a VPC goes after the resource planning pools of its space (93, 94,
        # 71): cascade them first, their subnets keep their CIDRs
        for p in listdir(sd + '/pools'):
            if read(sd + '/pools/%s/source-resource' % p).strip():
                write(sd + '/pools/%s/delete' % p, 'cascade\n')
        for r in listdir(sd + '/resources'):
            # an associated Elastic IP is released once disassociated
            # (105 ends at its remount, before its clean-up)
            if os.path.exists(sd + '/resources/%s/association' % r) and \
                    read(sd + '/resources/%s/association' % r).strip():
                write(sd + '/resources/%s/association' % r, '\n')
            rmdir(sd + '/resources/' + r)
        for p in listdir(sd + '/pools'):
            remove_pool(mnt, sd + '/pools/' + p)
        if s not in ('private', 'public'):
            rmdir(sd)
    # a new IPAM's tier: advanced (the free tier has no private scope
    # pools, and the scenarios make them)
    for name, value in (('tier', 'advanced'), ('description', ''),
                        ('enable-private-gua', 'false'),
                        ('history-retention-days', '1095'),
                        ('event-retention-days', '365')):
        write(mnt + '/ipam/' + name, value + '\n')
    # the provider CIDRs (104-107), once no amazon-source pool holds a
    # block of them
    write(mnt + '/ipam/provider-cidrs', '\n')
    home = read(mnt + '/ipam/home-locale').strip()
    write(mnt + '/ipam/operating-locales', home + '\n')
    for q, v in (('scopes', 5), ('pools-per-scope', 50), ('pool-depth', 10),
                 ('cidrs-per-pool', 50), ('verification-tokens', 100),
                 ('asns', 5), ('provider-ipv4-blocks', 2),
                 ('provider-ipv6-blocks-per-pool', 1)):
        write(mnt + '/ipam/quotas/' + q, '%d\n' % v)
    left = []
    for s in listdir(mnt + '/scopes'):
        left += ['scopes/%s/pools/%s' % (s, p)
                 for p in listdir(mnt + '/scopes/%s/pools' % s)]
        left += ['scopes/%s/resources/%s' % (s, r)
                 for r in listdir(mnt + '/scopes/%s/resources' % s)]
    left += ['prefix-lists/' + pl for pl in listdir(mnt + '/prefix-lists')]
    left += ['asns/' + a for a in listdir(mnt + '/asns')]
    left += ['policies/' + po for po in listdir(mnt + '/policies')]
    if read(mnt + '/ipam/provider-cidrs').strip():
        left.append('ipam/provider-cidrs')
    if left:
        say('reset left: ' + ' '.join(left[:20]))
    return 0 if not left else 1


# ---------------------------------------------------------------------------
# The worker: random operations against its own scope, and the shared pool

SHARED = 'scopes/private/pools/soak-shared'
SHARED_CIDR = '172.16.0.0/12'


class Worker:
    def __init__(self, mnt, wid, seed, state):
        self.mnt = mnt
        self.wid = wid
        self.rng = random.Random(seed)
        self.pid = os.getpid()
        self.ops = 0
        self.refusals = 0
        self.scope = 'soak-w%d' % wid
        self.scope2 = 'soak-w%db' % wid
        self.disc = 'soak-d%d' % wid
        # the model: pool path -> {family, cidrs, allocs{name: cidr},
        # anon[cidrs], children{name}, parent, id, resallocs{cidr: res}}
        self.m = state or {'pools': {}, 'next_net': 0, 'seq': 0,
                           'shared': {}, 'feed': [], 'resources': {}}

    def p(self, rel):
        return self.mnt + '/' + rel

    def name(self, prefix):
        self.m['seq'] += 1
        return '%s%d-%d' % (prefix, self.wid, self.m['seq'])

    # -- checking one operation ------------------------------------------
    def ok(self, rc, what):
        self.ops += 1
        if rc != 0:
            raise Violation('%s: unexpected %s' % (what, E.get(rc, rc)))

    def refused(self, rc, want, rel, what):
        """A refusal: errno in `want`, and a line in /errors for it."""
        self.ops += 1
        self.refusals += 1
        if rc == 0:
            raise Violation('%s: succeeded, expected %s' % (what, '|'.join(want)))
        if E.get(rc) not in want:
            raise Violation('%s: got %s, expected %s' %
                            (what, E.get(rc, rc), '|'.join(want)))
        text = read(self.p('errors'))
        self.ops += 1
        for line in reversed(text.splitlines()):
            m = ERR_LINE.match(line)
            if m and int(m.group(1)) == self.pid and m.group(2) == rel \
                    and m.group(3) == E[rc] and m.group(4).strip():
                return
        raise Violation('%s: no /errors line for %s %s' % (what, rel, E[rc]))

    # -- setup ----------------------------------------------------------
    def setup(self):
        for sd in ('scopes/' + self.scope, 'scopes/' + self.scope2):
            if not os.path.isdir(self.p(sd)):
                self.ok(mkdir(self.p(sd)), 'mkdir ' + sd)
        dd = 'discoveries/' + self.disc
        if not os.path.isdir(self.p(dd)):
            self.ok(mkdir(self.p(dd)), 'mkdir ' + dd)
            self.ok(write(self.p(dd + '/scope'), self.scope + '\n'), 'discovery scope')

    def net(self, family):
        """A fresh provisionable block for a new top-level pool."""
        n = self.m['next_net']
        self.m['next_net'] += 1
        if family == 4:
            # 10.0.0.0/8 split per worker: worker w uses 10.(64w + k).0.0/16
            return '10.%d.%d.0/22' % (64 * self.wid + (n // 64) % 64, (n % 64) * 4)
        # ULA outside fd00::/16, which Amazon reserves (L842): fd01:: up
        return str(ipaddress.ip_network('fd%02x:%x::/48' % (self.wid + 1, n % 0xffff)))

    # -- the operations --------------------------------------------------
    def op_new_pool(self):
        pools = [k for k, v in self.m['pools'].items() if not v['parent']]
        if len(pools) >= 6:
            return self.op_drop_pool()
        name = self.name('p')
        rel = 'scopes/%s/pools/%s' % (self.scope, name)
        family = 6 if self.rng.random() < 0.25 else 4
        self.ok(mkdir(self.p(rel)), 'mkdir ' + rel)
        pool = {'family': 4, 'cidrs': [], 'allocs': {}, 'anon': [],
                'children': [], 'parent': None, 'res': {}}
        self.m['pools'][rel] = pool
        if family == 6:
            self.ok(write(self.p(rel + '/address-family'), 'ipv6\n'), 'family')
            pool['family'] = 6
        dflt = '28' if family == 4 else '64'
        self.ok(write(self.p(rel + '/allocation-default-netmask-length'),
                      dflt + '\n'), 'default netmask')
        c = self.net(family)
        self.ok(write(self.p(rel + '/cidrs'), c + '\n'), 'provision ' + c)
        pool['cidrs'].append(c)
        pool['id'] = read(self.p(rel + '/id')).strip()
        self.ops += 1

    def top_pools(self):
        return [k for k, v in self.m['pools'].items() if not v['parent']]

    def any_pool(self):
        pools = list(self.m['pools'])
        return self.rng.choice(pools) if pools else None

    def op_child_pool(self):
        tops = self.top_pools()
        if not tops:
            return self.op_new_pool()
        parent = self.rng.choice(tops)
        pm = self.m['pools'][parent]
        if len(pm['children']) >= 2:
            return self.op_read()
        name = self.name('c')
        rel = parent + '/pools/' + name
        self.ok(mkdir(self.p(rel)), 'mkdir ' + rel)
        cm = {'family': pm['family'], 'cidrs': [], 'allocs': {}, 'anon': [],
              'children': [], 'parent': parent, 'res': {}}
        self.m['pools'][rel] = cm
        pm['children'].append(rel)
        ln = 26 if pm['family'] == 4 else 56
        rc = write(self.p(rel + '/cidrs'), '/%d\n' % ln)
        if rc == errno.ENOSPC:
            self.ops += 1
        else:
            self.ok(rc, 'provision /%d in %s' % (ln, rel))
            got = read(self.p(rel + '/cidrs')).split()
            self.ops += 1
            if len(got) != 1:
                raise Violation('%s: cidrs after /%d: %r' % (rel, ln, got))
            cm['cidrs'] = got
        self.ok(write(self.p(rel + '/allocation-default-netmask-length'),
                      ('28' if pm['family'] == 4 else '64') + '\n'), 'netmask')
        cm['id'] = read(self.p(rel + '/id')).strip()
        self.ops += 1

    def free_block(self, pool, ln):
        """A free aligned block of /ln in the model's view, or None."""
        pm = self.m['pools'][pool]
        used = [ipaddress.ip_network(c) for c in self.used(pool)]
        for c in pm['cidrs']:
            net = ipaddress.ip_network(c)
            if ln < net.prefixlen:
                continue
            subs = list(net.subnets(new_prefix=ln)) if ln - net.prefixlen <= 8 else [net]
            self.rng.shuffle(subs)
            for s in subs[:64]:
                if s.prefixlen == ln and not any(s.overlaps(u) for u in used):
                    return str(s)
        return None

    def used(self, pool):
        pm = self.m['pools'][pool]
        out = list(pm['allocs'].values()) + list(pm['anon']) + list(pm['res'])
        for ch in pm['children']:
            out += self.m['pools'][ch]['cidrs']
        return out

    def alloc_len(self, pool):
        return self.rng.choice((28, 29, 30)) if self.m['pools'][pool]['family'] == 4 \
            else self.rng.choice((60, 62, 64))

    def op_alloc(self):
        pool = self.any_pool()
        if pool is None:
            return self.op_new_pool()
        pm = self.m['pools'][pool]
        if not pm['cidrs']:
            return self.op_read()
        if len(self.used(pool)) > 24:
            return self.op_release()
        form = self.rng.randrange(4)
        name = self.name('a')
        if form == 0:  # mkdir allocations/NAME (default netmask)
            rc = mkdir(self.p(pool + '/allocations/' + name))
            if rc == errno.ENOSPC:
                self.ops += 1
                return
            self.ok(rc, 'mkdir allocation')
            pm['allocs'][name] = read(self.p(pool + '/allocations/' + name + '/cidr')).strip()
            self.ops += 1
        elif form == 1:  # NAME /LEN
            ln = self.alloc_len(pool)
            rc = write(self.p(pool + '/allocate'), '%s /%d\n' % (name, ln))
            if rc == errno.ENOSPC:
                self.ops += 1
                return
            self.ok(rc, 'allocate %s /%d in %s' % (name, ln, pool))
            pm['allocs'][name] = read(self.p(pool + '/allocations/' + name + '/cidr')).strip()
            self.ops += 1
        elif form == 2:  # NAME CIDR
            c = self.free_block(pool, self.alloc_len(pool))
            if c is None:
                return self.op_read()
            self.ok(write(self.p(pool + '/allocate'), '%s %s description=soak\n' % (name, c)),
                    'allocate %s %s in %s' % (name, c, pool))
            pm['allocs'][name] = c
        else:  # anonymous /LEN, read back through the descriptor
            ln = self.alloc_len(pool)
            rc, out = allocate_rw(self.p(pool + '/allocate'), '/%d\n' % ln)
            if rc == errno.ENOSPC:
                self.ops += 1
                return
            self.ok(rc, 'allocate /%d in %s' % (ln, pool))
            got = out.split()
            c = next((w for w in got if '/' in w), None)
            if c is None:
                raise Violation('allocate /%d read back %r' % (ln, out))
            pm['anon'].append(c)

    def op_res_alloc(self):
        pool = self.any_pool()
        if pool is None or not self.m['pools'][pool]['cidrs']:
            return self.op_alloc()
        pm = self.m['pools'][pool]
        if len(self.used(pool)) > 24:
            return self.op_release()
        rid = 'vpc-%017x' % self.rng.getrandbits(64)
        rel = 'scopes/%s/resources/%s' % (self.scope, rid)
        self.ok(mkdir(self.p(rel)), 'mkdir ' + rel)
        ln = self.alloc_len(pool)
        rc, out = allocate_rw(self.p(rel + '/allocate'), '%s /%d\n' % (pm['id'], ln))
        if rc == errno.ENOSPC:
            self.ops += 1
            self.ok(rmdir(self.p(rel)), 'rmdir ' + rel)
            return
        self.ok(rc, 'resource allocate %s /%d' % (pool, ln))
        c = next((w for w in out.split() if '/' in w), None)
        if c is None:
            raise Violation('resource allocate read back %r' % out)
        pm['res'][c] = rid
        self.m['resources'][rid] = [pool, c]

    def op_release(self):
        pool = self.any_pool()
        if pool is None:
            return self.op_new_pool()
        pm = self.m['pools'][pool]
        if pm['allocs']:
            name = self.rng.choice(sorted(pm['allocs']))
            self.ok(rmdir(self.p(pool + '/allocations/' + name)), 'release ' + name)
            del pm['allocs'][name]
        elif pm['res']:
            c = self.rng.choice(sorted(pm['res']))
            rid = pm['res'].pop(c)
            del self.m['resources'][rid]
            self.ok(rmdir(self.p('scopes/%s/resources/%s' % (self.scope, rid))),
                    'rmdir resource ' + rid)
        elif pm['anon']:
            c = pm['anon'].pop(self.rng.randrange(len(pm['anon'])))
            names = self.names_of(pool)
            name = names.get(c)
            if name is None:
                raise Violation('%s: anonymous allocation %s not listed' % (pool, c))
            self.ok(rmdir(self.p(pool + '/allocations/' + name)), 'release ' + name)
        else:
            self.op_alloc()

    def names_of(self, pool):
        """CIDR -> allocation name, from the listing."""
        out = {}
        d = self.p(pool + '/allocations')
        for n in listdir(d):
            out[read(d + '/' + n + '/cidr').strip()] = n
        self.ops += 1 + len(out)
        return out

    def op_rename(self):
        """Renames: an allocation cannot be renamed (EPERM, logged); a
        resource moves between the worker's two scopes and keeps its id."""
        pool = self.any_pool()
        if pool and self.m['pools'][pool]['allocs'] and self.rng.random() < 0.3:
            pm = self.m['pools'][pool]
            old = self.rng.choice(sorted(pm['allocs']))
            rel = pool + '/allocations/' + old
            return self.refused(rename(self.p(rel), self.p(pool + '/allocations/x' + old)),
                                ('EPERM',), rel, 'rename an allocation')
        plain = self.m.setdefault('plain', {})
        if len(plain) < 3:
            rid = 'vpc-%017x' % self.rng.getrandbits(64)
            rel = 'scopes/%s/resources/%s' % (self.scope, rid)
            self.ok(mkdir(self.p(rel)), 'mkdir ' + rel)
            n = self.m['seq'] % 250
            self.ok(write(self.p(rel + '/cidrs'), '100.%d.%d.0/24\n' % (64 + self.wid, n)),
                    'resource cidrs')
            plain[rid] = self.scope
            return
        rid = self.rng.choice(sorted(plain))
        here = plain[rid]
        there = self.scope2 if here == self.scope else self.scope
        self.ok(rename(self.p('scopes/%s/resources/%s' % (here, rid)),
                       self.p('scopes/%s/resources/%s' % (there, rid))),
                'mv resource %s to %s' % (rid, there))
        plain[rid] = there
        if not os.path.isdir(self.p('scopes/%s/resources/%s' % (there, rid))):
            raise Violation('mv resource: %s not in %s' % (rid, there))
        self.ops += 1

    def op_chmod(self):
        pool = self.any_pool()
        if pool is None:
            return self.op_new_pool()
        mode = self.rng.choice((0o755, 0o750, 0o775, 0o700))
        os.chmod(self.p(pool), mode)
        got = os.stat(self.p(pool)).st_mode & 0o7777
        self.ops += 2
        if got != mode:
            raise Violation('chmod %o %s: mode is %o' % (mode, pool, got))
        os.chmod(self.p(pool), 0o755)
        self.ops += 1

    def op_cidr(self):
        tops = self.top_pools()
        if not tops:
            return self.op_new_pool()
        pool = self.rng.choice(tops)
        pm = self.m['pools'][pool]
        busy = [ipaddress.ip_network(c) for c in self.used(pool)]
        free = [c for c in pm['cidrs']
                if not any(ipaddress.ip_network(c).overlaps(u) for u in busy)]
        if len(pm['cidrs']) > 1 and free and self.rng.random() < 0.5:
            c = self.rng.choice(free)
            self.ok(write(self.p(pool + '/cidrs'), '-%s\n' % c), 'deprovision ' + c)
            pm['cidrs'].remove(c)
        elif len(pm['cidrs']) < 4:
            c = self.net(pm['family'])
            self.ok(write(self.p(pool + '/cidrs'), '+%s\n' % c), 'provision ' + c)
            pm['cidrs'].append(c)
        else:
            self.op_refusal()

    def op_drop_pool(self):
        tops = self.top_pools()
        if not tops:
            return self.op_new_pool()
        pool = self.rng.choice(tops)
        self.drop(pool)

    def drop(self, pool):
        pm = self.m['pools'][pool]
        for ch in list(pm['children']):
            self.drop(ch)
        for name in list(pm['allocs']):
            self.ok(rmdir(self.p(pool + '/allocations/' + name)), 'release')
        for c, rid in list(pm['res'].items()):
            self.ok(rmdir(self.p('scopes/%s/resources/%s' % (self.scope, rid))), 'rmdir res')
            del self.m['resources'][rid]
        if pm['anon']:
            names = self.names_of(pool)
            for c in pm['anon']:
                self.ok(rmdir(self.p(pool + '/allocations/' + names[c])), 'release anon')
        for c in pm['cidrs']:
            self.ok(write(self.p(pool + '/cidrs'), '-%s\n' % c), 'deprovision')
        self.ok(rmdir(self.p(pool)), 'rmdir ' + pool)
        if pm['parent']:
            self.m['pools'][pm['parent']]['children'].remove(pool)
        del self.m['pools'][pool]

    def op_shared(self):
        sh = self.m['shared']
        if len(sh) > 12:
            name = self.rng.choice(sorted(sh))
            self.ok(rmdir(self.p(SHARED + '/allocations/' + name)), 'release shared')
            del sh[name]
            return
        name = self.name('s')
        rc = write(self.p(SHARED + '/allocate'), '%s /%d\n' % (name, self.rng.choice((24, 26, 28))))
        if rc == errno.ENOSPC:
            self.ops += 1
            return
        self.ok(rc, 'allocate shared ' + name)
        sh[name] = read(self.p(SHARED + '/allocations/' + name + '/cidr')).strip()
        self.ops += 1

    def op_feed(self):
        recs = []
        tops = [p for p in self.top_pools() if self.m['pools'][p]['family'] == 4]
        for i in range(self.rng.randrange(4)):
            base = ipaddress.ip_network('192.168.%d.0/24' % (self.wid * 16 + i))
            recs.append({'ResourceId': 'subnet-%017x' % (self.wid * 1000 + i),
                         'ResourceType': 'subnet', 'ResourceCidr': str(base),
                         'ResourceRegion': 'us-east-1',
                         'ResourceOwnerId': '123456789012', 'VpcId': 'vpc-1',
                         'IpUsage': self.rng.choice((0, 0.25, 0.5))})
        # a complete snapshot: JSON lines, then the end line (without it the
        # lines only add and update; with no record it ends everything)
        text = ''.join(json.dumps(r) + '\n' for r in recs)
        text += '{"EndOfSnapshot":true}\n'
        self.ok(write_close(self.p('discoveries/%s/feed' % self.disc), text), 'feed')
        self.m['feed'] = sorted(r['ResourceCidr'] for r in recs)

    def op_read(self):
        pool = self.any_pool()
        choice = self.rng.randrange(9)
        if pool and choice == 0:
            kv(read(self.p(pool + '/status')))
        elif pool and choice == 1:
            json.loads(read(self.p(pool + '/status.json')))
        elif pool and choice == 2:
            json.loads(read(self.p(pool + '/allocations.json')))
        elif choice == 3:
            hs = listdir(self.p('scopes/%s/history' % self.scope))
            self.ops += 1
            if hs:
                json.loads(read(self.p('scopes/%s/history/%s' % (
                    self.scope, self.rng.choice(hs)))) or 'null') \
                    if hs[0].endswith('.json') else read(self.p(
                        'scopes/%s/history/%s' % (self.scope, self.rng.choice(hs))))
        elif choice == 4:
            read(self.p('metrics/ipam.prom'))
        elif choice == 5:
            read(self.p('scopes/%s/status' % self.scope))
        elif choice == 6:
            read(self.p('errors'))
        elif choice == 7:
            json.loads(read(self.p('discoveries/%s/resources.json' % self.disc)))
        else:
            listdir(self.p('scopes/%s/pools' % self.scope))
        self.ops += 1

    def op_refusal(self):
        pool = self.any_pool()
        if pool is None:
            return self.op_new_pool()
        pm = self.m['pools'][pool]
        kind = self.rng.randrange(5)
        if kind == 0:
            rel = pool + '/allocate'
            self.refused(write(self.p(rel), 'x /%d\n' % (33 if pm['family'] == 4 else 129)),
                         ('EINVAL',), rel, 'allocate past the family width')
        elif kind == 1 and pm['allocs']:
            c = self.rng.choice(sorted(pm['allocs'].values()))
            rel = pool + '/allocate'
            self.refused(write(self.p(rel), '%s %s\n' % (self.name('o'), c)),
                         ('EADDRINUSE',), rel, 'allocate an allocated CIDR')
        elif kind == 2 and pm['allocs']:
            # (mkdir of an existing name is refused by the kernel's dentry
            # cache, before ipamfs sees it: not a refusal of ipamfs)
            rel = pool + '/allocate'
            self.refused(write(self.p(rel), '%s /%d\n' % (
                self.rng.choice(sorted(pm['allocs'])), self.alloc_len(pool))),
                ('EEXIST',), rel, 'allocate a name in use')
        elif kind == 3 and (pm['allocs'] or pm['children'] or pm['anon'] or pm['res']):
            rel = pool
            self.refused(rmdir(self.p(rel)), ('EBUSY', 'ENOTEMPTY'), rel,
                         'rmdir a pool in use')
        else:
            rel = pool + '/allocate'
            bad = '10.0.0.1/24' if pm['family'] == 4 else 'fd00::1/64'
            self.refused(write(self.p(rel), 'h %s\n' % bad), ('EINVAL',), rel,
                         'allocate a CIDR with host bits')

    def step(self):
        ops = ((self.op_alloc, 30), (self.op_release, 18), (self.op_read, 20),
               (self.op_res_alloc, 4), (self.op_rename, 4), (self.op_refusal, 6),
               (self.op_shared, 6), (self.op_new_pool, 2), (self.op_child_pool, 2),
               (self.op_cidr, 3), (self.op_chmod, 2), (self.op_feed, 2),
               (self.op_drop_pool, 1))
        r = self.rng.randrange(sum(w for _, w in ops))
        for fn, w in ops:
            if r < w:
                return fn()
            r -= w


def worker_main(args):
    mnt, wid, seed, nops, state_file = args
    state = None
    if os.path.exists(state_file):
        with open(state_file) as f:
            state = json.load(f)
    w = Worker(mnt, wid, seed, state)
    try:
        w.setup()
        while w.ops < nops:
            w.step()
    except (Violation, OSError, ValueError) as e:
        with open(state_file, 'w') as f:
            json.dump(w.m, f)
        return (w.ops, w.refusals, 'worker %d: %s: %s' % (wid, type(e).__name__, e))
    with open(state_file, 'w') as f:
        json.dump(w.m, f)
    return (w.ops, w.refusals, None)


# ---------------------------------------------------------------------------
# Invariants, checked with every worker stopped

def free_blocks(cidrs, used):
    """The free space of the provisioned CIDRs as networks."""
    free = []
    for c in cidrs:
        parts = [ipaddress.ip_network(c)]
        for u in used:
            un = ipaddress.ip_network(u)
            nxt = []
            for p in parts:
                if un.version == p.version and un.subnet_of(p):
                    nxt += list(p.address_exclude(un))
                elif un.version == p.version and p.subnet_of(un):
                    pass
                else:
                    nxt.append(p)
            parts = nxt
        free += parts
    return free


def check_pool(mnt, rel, model_allocs, model_cidrs, strict_names=True):
    """Checks one pool's listing and status; returns its listing."""
    listing = json.loads(read(mnt + '/' + rel + '/allocations.json'))['IpamPoolAllocations']
    nets = sorted((ipaddress.ip_network(a['Cidr']) for a in listing),
                  key=lambda n: (n.version, int(n.network_address)))
    for a, b in zip(nets, nets[1:]):
        if a.overlaps(b):
            raise Violation('%s: allocations %s and %s overlap' % (rel, a, b))
    cidrs = read(mnt + '/' + rel + '/cidrs').split()
    if model_cidrs is not None and sorted(cidrs) != sorted(model_cidrs):
        raise Violation('%s: cidrs %r, model %r' % (rel, cidrs, sorted(model_cidrs)))
    listed = {a['Cidr'] for a in listing}
    for name, c in model_allocs.items():
        if c not in listed:
            raise Violation('%s: acknowledged allocation %s %s is missing' % (rel, name, c))
    if strict_names:
        names = {}
        for n in listdir(mnt + '/' + rel + '/allocations'):
            names[n] = read(mnt + '/%s/allocations/%s/cidr' % (rel, n)).strip()
        for name, c in model_allocs.items():
            if name and names.get(name) != c:
                raise Violation('%s: allocation %s is %r, model %s' % (rel, name, names.get(name), c))
        extra = set(listed) - set(model_allocs.values())
        if extra:
            raise Violation('%s: listed but never acknowledged: %s' % (rel, sorted(extra)))
    st = kv(read(mnt + '/' + rel + '/status'))
    total = sum(ipaddress.ip_network(c).num_addresses for c in cidrs)
    to_pools = sum(ipaddress.ip_network(a['Cidr']).num_addresses
                   for a in listing if a['ResourceType'] == 'ipam-pool')
    assigned = sum(ipaddress.ip_network(a['Cidr']).num_addresses
                   for a in listing if a['ResourceType'] != 'ipam-pool')
    want = {'allocation-count': len(listing), 'provisioned-cidrs': len(cidrs),
            'total-addresses': total, 'allocated-to-pools-addresses': to_pools,
            'assigned-addresses': assigned,
            'available-addresses': total - to_pools - assigned}
    for k, v in want.items():
        if int(st.get(k, -1)) != v:
            raise Violation('%s: status %s=%s, recomputed %d' % (rel, k, st.get(k), v))
    free = free_blocks(cidrs, [a['Cidr'] for a in listing])
    lfb = st.get('largest-free-block', '')
    if free:
        best = min(n.prefixlen for n in free)
        if not lfb or ipaddress.ip_network(lfb).prefixlen != best:
            raise Violation('%s: largest-free-block=%s, recomputed /%d' % (rel, lfb, best))
    return listing


def check_all(mnt, states):
    shared_model = {}
    pools = 0
    allocs = 0
    for wid, m in states.items():
        for rel, pm in m['pools'].items():
            model = dict(pm['allocs'])
            for i, c in enumerate(pm['anon']):
                model['\0anon%d' % i] = c
            for c, rid in pm['res'].items():
                model['\0res' + rid] = c
            for ch in pm['children']:
                for i, c in enumerate(m['pools'][ch]['cidrs']):
                    model['\0pool%s%d' % (ch, i)] = c
            listing = check_pool(mnt, rel, model, pm['cidrs'], strict_names=False)
            listed = {a['Cidr'] for a in listing}
            if listed != set(model.values()):
                raise Violation('%s: listed %s, acknowledged %s' % (
                    rel, sorted(listed - set(model.values())),
                    sorted(set(model.values()) - listed)))
            names = {n: read(mnt + '/%s/allocations/%s/cidr' % (rel, n)).strip()
                     for n in listdir(mnt + '/' + rel + '/allocations')}
            for name, c in pm['allocs'].items():
                if names.get(name) != c:
                    raise Violation('%s: allocation %s is %r, acknowledged %s' %
                                    (rel, name, names.get(name), c))
            pools += 1
            allocs += len(listing)
        shared_model.update(m['shared'])
        for rid, scope in m.get('plain', {}).items():
            if not os.path.isdir('%s/scopes/%s/resources/%s' % (mnt, scope, rid)):
                raise Violation('resource %s is not in scope %s' % (rid, scope))
        disc = json.loads(read(mnt + '/discoveries/soak-d%s/resources.json' % wid))
        got = sorted({r.get('ResourceCidr') for r in _records(disc)})
        if got != m['feed']:
            raise Violation('discovery soak-d%s lists %r, last snapshot %r' % (wid, got, m['feed']))
    listing = check_pool(mnt, SHARED, shared_model, [SHARED_CIDR], strict_names=True)
    return pools + 1, allocs + len(listing)


def _records(doc):
    if isinstance(doc, list):
        return [r for r in doc if isinstance(r, dict)]
    for v in doc.values():
        if isinstance(v, list):
            return [r for r in v if isinstance(r, dict)]
    return []


# ---------------------------------------------------------------------------
# Sampling the daemon

def sample(pid, db):
    rss = 0
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                rss = int(line.split()[1])
    fds = len(os.listdir('/proc/%d/fd' % pid))
    size = 0
    for suffix in ('', '-wal', '-shm'):
        try:
            size += os.path.getsize(db + suffix)
        except OSError:
            pass
    return rss, fds, size


def drive(a):
    mnt = a.mnt
    state_dir = a.state or os.path.join(os.environ.get('TMPDIR', '/tmp'),
                                        'ipamfs-soak-%d' % os.getpid())
    os.makedirs(state_dir, exist_ok=True)
    if write(mnt + '/ipam/quotas/scopes', '%d\n' % (2 * a.procs + 5)):
        say('cannot raise the scopes quota')
        return 1
    if not os.path.isdir(mnt + '/' + SHARED):
        if mkdir(mnt + '/' + SHARED) or write(mnt + '/' + SHARED + '/cidrs', SHARED_CIDR + '\n'):
            say('cannot make the shared pool')
            return 1
    rng = random.Random(a.seed)
    total = 0
    refusals = 0
    phase = 0
    t0 = time.time()
    csv = open(a.csv, 'a') if a.csv else None
    if csv and csv.tell() == 0:
        csv.write('phase,ops,seconds,rss_kb,fds,db_bytes,pools,allocations,refusals\n')
    warm = None
    peak_fds = 0
    failed = None
    with multiprocessing.Pool(a.procs) as mp:
        while total < a.ops and not failed:
            phase += 1
            per = min(a.phase, max(1, (a.ops - total) // a.procs))
            jobs = [(mnt, w, rng.getrandbits(32), per,
                     os.path.join(state_dir, 'w%d.json' % w)) for w in range(a.procs)]
            for ops, refs, err in mp.map(worker_main, jobs):
                total += ops
                refusals += refs
                failed = failed or err
            if failed:
                break
            states = {}
            for w in range(a.procs):
                with open(os.path.join(state_dir, 'w%d.json' % w)) as f:
                    states[w] = json.load(f)
            try:
                pools, allocs = check_all(mnt, states)
            except (Violation, OSError, ValueError, KeyError) as e:
                failed = 'phase %d invariants: %s: %s' % (phase, type(e).__name__, e)
                break
            rss, fds, size = sample(a.pid, a.db) if a.pid else (0, 0, 0)
            secs = time.time() - t0
            if csv:
                csv.write('%d,%d,%.1f,%d,%d,%d,%d,%d,%d\n' % (
                    phase, total, secs, rss, fds, size, pools, allocs, refusals))
                csv.flush()
            if a.verbose or phase % 50 == 1:
                say('phase %d: %d ops in %.0f s, rss %d kB, fds %d, db %d B, %d pools, '
                    '%d allocations, %d refusals' % (phase, total, secs, rss, fds, size,
                                                     pools, allocs, refusals))
            if warm is None and total >= a.warmup:
                warm = (total, rss, fds, size)
            elif warm is not None:
                peak_fds = max(peak_fds, fds)
                grown = rss - warm[1]
                allowed = a.slack_kb + max(0, size - warm[3]) // 1024
                if a.pid and grown > allowed:
                    failed = ('RSS grew by %d kB from %d ops to %d ops; allowed %d kB '
                              '(slack + database growth)' % (grown, warm[0], total, allowed))
                if a.pid and fds > warm[2] + 4:
                    failed = 'open descriptors grew from %d to %d' % (warm[2], fds)
    if csv:
        csv.close()
    secs = time.time() - t0
    say('%d operations (%d refusals) in %d phases, %.0f s (%.0f ops/s)' % (
        total, refusals, phase, secs, total / max(secs, 1e-9)))
    if warm and a.pid:
        rss, fds, size = sample(a.pid, a.db)
        say('after warm-up (%d ops): rss %d kB, fds %d; at the end: rss %d kB, fds %d, db %d B'
            % (warm[0], warm[1], warm[2], rss, fds, size))
    if failed:
        say('FAILED: ' + failed)
        return 1
    if not a.keep_state:
        shutil.rmtree(state_dir, ignore_errors=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('reset')
    r.add_argument('mnt')
    d = sub.add_parser('drive')
    d.add_argument('mnt')
    d.add_argument('--pid', type=int, default=0)
    d.add_argument('--db', default='')
    d.add_argument('--ops', type=int, default=3000)
    d.add_argument('--procs', type=int, default=3)
    d.add_argument('--phase', type=int, default=500)
    d.add_argument('--seed', type=int, default=1)
    d.add_argument('--csv', default='')
    d.add_argument('--state', default='')
    d.add_argument('--warmup', type=int, default=1000)
    d.add_argument('--slack-kb', type=int, default=16384)
    d.add_argument('--keep-state', action='store_true')
    d.add_argument('--verbose', action='store_true')
    a = ap.parse_args()
    if a.cmd == 'reset':
        return reset(a.mnt)
    return drive(a)


if __name__ == '__main__':
    sys.exit(main())
