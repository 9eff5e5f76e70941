#!/usr/bin/env python3
"""convert.py - rewrites libipam code written against the SQLite API into
the storage seam's statement interface (core/store/store.h).

    python3 core/store/convert.py FILE...      # rewrites in place
    python3 core/store/convert.py --check FILE...  # lists what it would do

Every rewrite is textual and one-to-one (docs/design/store.md, "Converting
code"): sqlite3_stmt -> ipam_stmt, sqlite3_bind_* / sqlite3_column_* /
sqlite3_reset / sqlite3_step -> ipam__bind_* / ipam__col_* / ipam__reset /
ipam__step_stmt, SQLITE_ROW/DONE -> IPAM_ROW/DONE, SQLITE_NULL ->
IPAM_COL_NULL, sqlite3_changes(X->sql) -> ipam__changes(X), the destructor
argument of a text/blob bind dropped (the seam always copies). What it
cannot rewrite (sqlite3_prepare*, sqlite3_exec, sqlite3_errmsg, any other
sqlite3_ call or SQLITE_ constant) it reports with file and line, and the
exit status is 1: those are engine code and belong in core/store/.
Running it twice changes nothing the second time.
"""
import re
import sys

# (pattern, replacement) applied in order
RULES = [
    (r'#include <sqlite3\.h>\n', ''),
    (r'\bsqlite3_stmt\b', 'ipam_stmt'),
    (r'\bsqlite3_int64\b', 'int64_t'),
    (r'\bsqlite3_bind_int64\(', 'ipam__bind_int64('),
    (r'\bsqlite3_bind_int\(', 'ipam__bind_int('),
    (r'\bsqlite3_bind_null\(', 'ipam__bind_null('),
    (r'\bsqlite3_bind_text\(', 'ipam__bind_text('),
    (r'\bsqlite3_bind_blob\(', 'ipam__bind_blob('),
    (r'\(\s*const\s+char\s*\*\s*\)\s*sqlite3_column_text\(', 'ipam__col_text('),
    (r'\(\s*const\s+unsigned\s+char\s*\*\s*\)\s*sqlite3_column_blob\(',
     '(const unsigned char *)ipam__col_blob('),
    (r'\bsqlite3_column_text\(', 'ipam__col_text('),
    (r'\bsqlite3_column_int64\(', 'ipam__col_int64('),
    (r'\bsqlite3_column_int\(', 'ipam__col_int('),
    (r'\bsqlite3_column_blob\(', 'ipam__col_blob('),
    (r'\bsqlite3_column_bytes\(', 'ipam__col_bytes('),
    (r'\bsqlite3_column_type\(', 'ipam__col_type('),
    (r'\bsqlite3_reset\(', 'ipam__reset('),
    (r'\bsqlite3_step\(', 'ipam__step_stmt('),
    (r'\bSQLITE_ROW\b', 'IPAM_ROW'),
    (r'\bSQLITE_DONE\b', 'IPAM_DONE'),
    (r'\bSQLITE_NULL\b', 'IPAM_COL_NULL'),
    (r'\bSQLITE_INTEGER\b', 'IPAM_COL_INT'),
    (r'\bSQLITE_TEXT\b', 'IPAM_COL_TEXT'),
    (r'\bSQLITE_BLOB\b', 'IPAM_COL_BLOB'),
    (r'\bSQLITE_FLOAT\b', 'IPAM_COL_FLOAT'),
    (r'\bsqlite3_changes\(\s*([A-Za-z_][\w>.-]*?)\s*->\s*sql\s*\)',
     r'ipam__changes(\1)'),
    (r'\bsqlite3_last_insert_rowid\(\s*([A-Za-z_][\w>.-]*?)\s*->\s*sql\s*\)',
     r'ipam__last_insert_id(\1)'),
]

# ipam__bind_text(s, i, t, n, SQLITE_STATIC) -> ipam__bind_text(s, i, t, n):
# the arguments may hold one level of parentheses and span lines.
DESTRUCTOR = re.compile(
    r'(ipam__bind_(?:text|blob)\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*?)'
    r',\s*(?:SQLITE_STATIC|SQLITE_TRANSIENT|NULL)\s*\)')

LEFT = re.compile(r'\bsqlite3_\w+|\bSQLITE_[A-Z_0-9]+|\bsqlite3\b|->sql\b')


def convert(text):
    for pattern, repl in RULES:
        text = re.sub(pattern, repl, text)
    text = DESTRUCTOR.sub(r'\1)', text)
    return text


def leftovers(path, text):
    out = []
    for n, line in enumerate(text.split('\n'), 1):
        stripped = line.strip()
        if stripped.startswith(('*', '/*', '//')):
            continue  # comments may name SQLite
        for m in LEFT.finditer(line):
            out.append('%s:%d: %s' % (path, n, m.group(0)))
    return out


def main(argv):
    check = '--check' in argv
    files = [a for a in argv if a != '--check']
    status = 0
    for path in files:
        with open(path) as f:
            old = f.read()
        new = convert(old)
        if check:
            if new != old:
                print('%s: would be rewritten' % path)
        elif new != old:
            with open(path, 'w') as f:
                f.write(new)
        rest = leftovers(path, new)
        if rest:
            status = 1
            print('\n'.join(rest), file=sys.stderr)
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
