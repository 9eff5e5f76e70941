#!/usr/bin/env python3
"""make-seeds.py: (re)writes the seed corpora of tests/fuzz/corpus/ taken
from the suite, so the fuzzers start from inputs real users write:

  cidr/    every CIDR, file-name CIDR and time in tests/cases and tests/mount
  path/    every path below the mount root those files name
  control/ the cases' commands (echo V > FILE, mkdir, rmdir, mv, chmod) as
           fsfix.c scripts, one seed per case and one per control file
  feed/    the describe-* documents and the JSON-lines snapshots of
           tests/mount/22-discovery.sh

Files named seed-* are generated (overwritten); hand-written seeds and
crash regressions have other names and are kept.

    python3 tests/fuzz/make-seeds.py
"""
import hashlib
import os
import re
import shlex

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES = os.path.join(TOP, 'tests', 'cases')
MOUNT = os.path.join(TOP, 'tests', 'mount')
OUT = os.path.join(TOP, 'tests', 'fuzz', 'corpus')
RS = '\x1e'


def put(kind, data):
    if isinstance(data, str):
        data = data.encode()
    name = 'seed-' + hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(OUT, kind, name), 'wb') as f:
        f.write(data)


def clean():
    for kind in ('cidr', 'path', 'control', 'feed'):
        d = os.path.join(OUT, kind)
        os.makedirs(d, exist_ok=True)
        for n in os.listdir(d):
            if n.startswith('seed-'):
                os.unlink(os.path.join(d, n))


def sources():
    for d in sorted(os.listdir(CASES)):
        p = os.path.join(CASES, d, 'cmds')
        if os.path.exists(p):
            yield p
    for n in sorted(os.listdir(MOUNT)):
        if n.endswith('.sh'):
            yield os.path.join(MOUNT, n)


CIDR = re.compile(r'[-+]?(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]*::?[0-9a-fA-F:.]*)[/_]\d{1,3}')
TIME = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|\+00:00)')
PATH = re.compile(r'(?:\$MNT/|\$R/|\b)((?:scopes|ipam|discoveries|by-id|metrics|events|errors|README|ipam\.json|scopes\.json)[^\s"\'<>|;)]*)')


def cmd_to_record(words):
    """One shell command of a case as an fsfix record, or None."""
    if not words:
        return None
    if words[0] in ('echo', 'printf') and '>' in words:
        i = words.index('>')
        if i + 1 >= len(words):
            return None
        args = words[1:i]
        if words[0] == 'printf':
            text = args[0].encode().decode('unicode_escape') if args else ''
        else:
            text = ' '.join(a for a in args if a != '-n') + '\n'
        return 'w /' + words[i + 1] + '\n' + text
    if words[0] in ('mkdir', 'rmdir') and len(words) >= 2:
        return ('m ' if words[0] == 'mkdir' else 'd ') + '/' + words[-1] + '\n'
    if words[0] == 'mv' and len(words) == 3:
        return 'n /' + words[1] + '\n/' + words[2] + '\n'
    if words[0] == 'chmod' and len(words) == 3:
        return 'c /' + words[2] + '\n' + words[1] + '\n'
    if words[0] in ('cat', 'ls', 'jq') and words[-1].startswith(('scopes', 'ipam', 'discoveries')):
        return ('l ' if words[0] == 'ls' else 'r ') + '/' + words[-1] + '\n'
    return None


def main():
    clean()
    cidrs, paths, times = set(), set(), set()
    for src in sources():
        text = open(src, encoding='utf-8', errors='replace').read()
        cidrs.update(m.group(0).lstrip('+-') for m in CIDR.finditer(text))
        times.update(TIME.findall(text))
        for m in PATH.finditer(text):
            p = m.group(1).rstrip('\\')
            if '$' not in p and len(p) < 300:
                paths.add(p)
    for c in sorted(cidrs):
        put('cidr', c)
    for t in sorted(times):
        put('cidr', t)
    for p in sorted(paths):
        put('path', p)

    # control: one script per case, and one per control file written
    by_file = {}
    for d in sorted(os.listdir(CASES)):
        p = os.path.join(CASES, d, 'cmds')
        if not os.path.exists(p):
            continue
        recs = []
        for line in open(p, encoding='utf-8'):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            for part in line.split(';'):
                try:
                    words = shlex.split(part)
                except ValueError:
                    continue
                rec = cmd_to_record(words)
                if rec:
                    recs.append(rec)
                    if rec.startswith('w '):
                        f = rec.split('\n', 1)[0].rsplit('/', 1)[-1]
                        by_file.setdefault(f, []).append(rec)
        for i in range(0, len(recs), 48):
            put('control', RS.join(recs[i:i + 48]))
    for f, recs in sorted(by_file.items()):
        put('control', RS.join(recs[:16]))

    # feed: the documents, and the heredoc snapshots of 22-discovery.sh
    feeds = os.path.join(CASES, 'feeds')
    for n in sorted(os.listdir(feeds)):
        if n.endswith('.json'):
            put('feed', open(os.path.join(feeds, n), 'rb').read())
    disc = open(os.path.join(MOUNT, '22-discovery.sh'), encoding='utf-8').read()
    env = dict(re.findall(r'^([A-Z0-9]+)=([a-z0-9-]+)$', disc, re.M))
    for body in re.findall(r'<<EOF\n(.*?)\nEOF', disc, re.S):
        for k, v in env.items():
            body = body.replace('$' + k, v)
        put('feed', body + '\n')
    for line in re.findall(r"printf '%s\\n' '(\{.*\})'", disc):
        put('feed', line + '\n')


if __name__ == '__main__':
    main()
