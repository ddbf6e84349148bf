"""Pictures of images without Pillow: tiling a batch into one picture and writing it as PNG
(zlib and struct from the standard library), so that the device needs nothing beyond numpy."""

import os
import struct
import zlib

import numpy as np


def tile(images, rows=None, cols=None, gap=0, value_range="unit"):
    """One uint8 picture (H, W, C) of images (n, h, w, c) laid out row-major over rows x cols
    (default: about a square), `gap` black pixels apart; values are clamped to the value range
    ("unit" [0, 1] or "symmetric" [-1, 1]) and mapped to 0..255."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError("tile needs images shaped (n, height, width, channels), got %s" % (images.shape,))
    n, h, w, c = images.shape
    if cols is None:
        cols = int(np.ceil(np.sqrt(n))) if rows is None else int(np.ceil(n / rows))
    if rows is None:
        rows = int(np.ceil(n / cols))
    if rows * cols < n:
        raise ValueError("%d images do not fit in %d x %d tiles" % (n, rows, cols))
    if value_range == "symmetric":
        images = (images + 1.0) * 0.5
    elif value_range != "unit":
        raise ValueError("value_range is 'unit' or 'symmetric', got %r" % (value_range,))
    pixels = np.rint(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)
    picture = np.zeros((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, c), np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        picture[r * (h + gap):r * (h + gap) + h, k * (w + gap):k * (w + gap) + w] = pixels[i]
    return picture


def write_png(path, picture):
    """Writes a uint8 picture (H, W), (H, W, 1) or (H, W, 3) as an 8-bit grey or RGB PNG, atomically
    (a temporary file in the same folder, renamed: a failure leaves no half-written file)."""
    picture = np.asarray(picture)
    if picture.dtype != np.uint8:
        raise ValueError("write_png needs uint8 pixels, got %s (use latentkit.tile)" % picture.dtype)
    if picture.ndim == 3 and picture.shape[2] == 1:
        picture = picture[:, :, 0]
    if picture.ndim == 2:
        colour_type = 0
    elif picture.ndim == 3 and picture.shape[2] == 3:
        colour_type = 2
    else:
        raise ValueError("write_png needs (H, W), (H, W, 1) or (H, W, 3) pixels, got %s" % (picture.shape,))
    height, width = picture.shape[:2]
    rows = np.ascontiguousarray(picture).reshape(height, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)  # filter type 0 on every row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    folder = os.path.dirname(os.path.abspath(path))
    # Not tempfile.mkstemp: its files are 0600, and the picture would keep that mode. Created
    # with 0666 like any file a program writes, the umask decides.
    temporary = os.path.join(folder, ".partial-%d-%s" % (os.getpid(), os.urandom(6).hex()))
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(png)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
