#!/usr/bin/env python3
"""One picture of test images and models' reconstructions, a row each (compare_autoencoders.sh).

compose_rows.py IDX_IMAGES COUNT OUT.png ROW.f32...

Row 0 is the first COUNT images of the IDX file; each ROW.f32 is what `latentkit-sample
reconstruct --save-images` wrote for them (COUNT images of 28x28x1 float32 in [0, 1]). Only the
standard library: the PNG is 8-bit grey, unfiltered, zlib-compressed.
"""
import struct
import sys
import zlib


def read_idx(path, count):
    with open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 0x803 or n < count:
            sys.exit(f"compose_rows.py: {path} is not an IDX image file with {count} images")
        data = f.read(count * rows * cols)
    return rows, cols, [data[i * rows * cols:(i + 1) * rows * cols] for i in range(count)]


def read_floats(path, count, pixels):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) != count * pixels * 4:
        sys.exit(f"compose_rows.py: {path} holds {len(data)} bytes, not {count} images of {pixels} floats")
    values = struct.unpack(f"<{count * pixels}f", data)
    to_byte = lambda v: max(0, min(255, int(round(v * 255))))
    return [bytes(to_byte(v) for v in values[i * pixels:(i + 1) * pixels]) for i in range(count)]


def write_png(path, width, height, rows_of_bytes):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + row for row in rows_of_bytes)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    idx, count, out, rows = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    h, w, originals = read_idx(idx, count)
    tile_rows = [originals] + [read_floats(r, count, h * w) for r in rows]
    lines = []
    for tiles in tile_rows:
        for y in range(h):
            lines.append(b"".join(t[y * w:(y + 1) * w] for t in tiles))
    write_png(out, w * count, h * len(tile_rows), lines)


if __name__ == "__main__":
    main()
