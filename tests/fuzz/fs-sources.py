#!/usr/bin/env python3
"""fs-sources.py FS_MESON_BUILD: prints the files of ipamfs_sources in
fs/meson.build, one a line, but lowlevel.c (the FUSE loop) and main.c: the
fs/ layer the fuzz harnesses link with fsfix.c, which stands in for those
two. Read at configure time (tests/fuzz/meson.build), so a file added to
fs/ is fuzzed without anyone editing a second list."""
import re
import sys

text = open(sys.argv[1], encoding='utf-8').read()
m = re.search(r'ipamfs_sources\s*=\s*files\((.*?)\)', text, re.S)
if not m:
    sys.exit('fs-sources.py: no ipamfs_sources = files(...) in ' + sys.argv[1])
for name in re.findall(r"'([^']+\.c)'", m.group(1)):
    if name not in ('lowlevel.c', 'main.c'):
        print(name)
