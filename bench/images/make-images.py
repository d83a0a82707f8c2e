#!/usr/bin/env python3
"""Writes the load-test images of scripts/load.sh (standard library only, deterministic).

    python3 bench/images/make-images.py [--datasets DIR]     (default ../shared/datasets)

* cifar10-cat-32.png   CIFAR-10 test image 0 (label 'cat'), 32x32 RGB, as stored.
* cifar10-cat-299.png  the same image upscaled to 299x299 RGB (bilinear, align-corners):
                       a photo-sized RGB upload for the patch-VAE scenario.

The MNIST scenario uses docs/examples/digit.png (28x28 grayscale, MNIST test image 0).
"""
import argparse
import gzip
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def png(path, width, height, rgb_rows):
    """8-bit RGB, Paeth filter (type 4) on every row, zlib level 9."""
    def paeth(a, b, c):
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        return a if pa <= pb and pa <= pc else (b if pb <= pc else c)

    raw = bytearray()
    previous = [0] * (3 * width)
    for row in rgb_rows:
        raw.append(4)
        for i, v in enumerate(row):
            a = row[i - 3] if i >= 3 else 0
            c = previous[i - 3] if i >= 3 else 0
            raw.append((v - paeth(a, previous[i], c)) & 0xFF)
        previous = row
    raw = bytes(raw)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def cifar_test_image(datasets, index):
    """(label, rows of interleaved RGB bytes) of one CIFAR-10 test record (1 label byte + 3x1024 planes)."""
    with gzip.open(os.path.join(datasets, "cifar10", "test_batch.bin.gz"), "rb") as f:
        f.read(index * 3073)
        record = f.read(3073)
    label, planes = record[0], record[1:]
    rows = []
    for y in range(32):
        row = []
        for x in range(32):
            i = y * 32 + x
            row += [planes[i], planes[1024 + i], planes[2048 + i]]
        rows.append(row)
    return label, rows


def upscale(rows, size, out):
    """Bilinear resize of a size x size RGB image to out x out (align-corners), rounded to bytes."""
    rows_out = []
    scale = (size - 1) / (out - 1)
    for yo in range(out):
        fy = yo * scale
        y0 = min(int(fy), size - 2)
        wy = fy - y0
        row = []
        for xo in range(out):
            fx = xo * scale
            x0 = min(int(fx), size - 2)
            wx = fx - x0
            for c in range(3):
                a = rows[y0][3 * x0 + c] * (1 - wx) + rows[y0][3 * (x0 + 1) + c] * wx
                b = rows[y0 + 1][3 * x0 + c] * (1 - wx) + rows[y0 + 1][3 * (x0 + 1) + c] * wx
                row.append(int(a * (1 - wy) + b * wy + 0.5))
        rows_out.append(row)
    return rows_out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=os.environ.get("VAEGUARD_DATASETS", os.path.join(os.path.dirname(ROOT), "shared", "datasets")))
    args = parser.parse_args()
    label, rows = cifar_test_image(args.datasets, 0)
    assert label == 3, f"CIFAR-10 test image 0 should be a cat (3), is {label}"
    png(os.path.join(HERE, "cifar10-cat-32.png"), 32, 32, rows)
    png(os.path.join(HERE, "cifar10-cat-299.png"), 299, 299, upscale(rows, 32, 299))
    for name in ("cifar10-cat-32.png", "cifar10-cat-299.png"):
        print(name, os.path.getsize(os.path.join(HERE, name)), "bytes")


if __name__ == "__main__":
    main()
