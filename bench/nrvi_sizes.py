#!/usr/bin/env python3
"""Where the bytes of .nrvi files go: the packed (deflated) header and code-length table of a
format-version-2 file, the payload, and the size the same model would have in format version 1
(plain JSON header, (symbol u16, length u8) table entries).

Usage: python3 bench/nrvi_sizes.py model.nrvi [more.nrvi ...]
"""
import struct
import sys
import zlib


def main(paths):
    for f in paths:
        d = open(f, "rb").read()
        if d[:4] != b"NRVI":
            sys.exit(f"{f}: not a .nrvi file")
        ver, = struct.unpack("<H", d[4:6])
        if ver != 2:
            sys.exit(f"{f}: format version {ver}; this script reads version 2")
        plen, = struct.unpack("<I", d[8:12])
        packed = zlib.decompress(d[12:12 + plen], -15)  # raw DEFLATE
        hlen, = struct.unpack("<I", packed[:4])
        lengths = packed[4 + hlen:]
        used = sum(1 for n in lengths if n)
        rest = len(d) - 12 - plen - 4  # symbol count, bit count, payload
        v1 = 12 + hlen + 4 + 3 * used + rest + 4
        print(f"{f}: {len(d)} B; packed header + table {plen} B (JSON {hlen} B, {used} of "
              f"{len(lengths)} symbols coded); payload and counts {rest} B; "
              f"as version 1: {v1} B (+{v1 - len(d)} B)")


if __name__ == "__main__":
    main(sys.argv[1:])
