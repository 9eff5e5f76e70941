#!/usr/bin/env python3
"""svg-pixels.py - colour checks on a rendered map.svg (tests 60-61).

    svg-pixels.py MAP.svg MAP.png 'TITLE-PREFIX=#rrggbb' ...

For each check, finds the block whose <title> starts with TITLE-PREFIX in
the SVG (a <g> holding one <rect> and its <title>), and reads the pixel of
the PNG that rsvg-convert rendered, 2 px inside the block's lower right
corner (labels sit at the upper left). Prints one line per check:
"TITLE-PREFIX #rrggbb" with the colour found (or "missing"). The PNG is
decoded with the standard library only (zlib; 8-bit RGB/RGBA, no
interlace, the five PNG filters).
"""
import struct
import sys
import xml.etree.ElementTree as ET
import zlib

NS = "{http://www.w3.org/2000/svg}"


def read_png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(
                ">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, \
                "unsupported PNG layout"
            bpp = 4 if ctype == 6 else 3
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        ftype, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pred) & 255
        rows.append(line)
        prev = line
    return rows, bpp


def main():
    svg, png, checks = sys.argv[1], sys.argv[2], sys.argv[3:]
    rows, bpp = read_png(png)
    blocks = []
    for g in ET.parse(svg).getroot().iter(NS + "g"):
        rect, title = g.find(NS + "rect"), g.find(NS + "title")
        if rect is not None and title is not None:
            blocks.append((title.text or "", rect))
    for check in checks:
        prefix = check.rsplit("=", 1)[0]
        found = [r for t, r in blocks if t.startswith(prefix)]
        if not found:
            print(prefix, "missing")
            continue
        r = found[0]
        x = int(float(r.get("x")) + float(r.get("width")) - 2)
        y = int(float(r.get("y")) + float(r.get("height")) - 2)
        px = rows[y][x * bpp:x * bpp + 3]
        print(prefix, "#%02x%02x%02x" % tuple(px))


main()
