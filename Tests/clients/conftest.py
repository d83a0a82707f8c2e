"""Starts one VAEGuard server (the built binary, the shipped models and config) for the
client tests, on 127.0.0.1 and a free port, and stops it afterwards.

VAEGUARD_BIN picks the binary (default .build/debug/vaeguard, what `make test` builds).
"""
import struct
import zlib

import numpy as np
import pytest

from vaeguard_server import ROOT, Server


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()


def png(pixels):
    """A PNG of a uint8 array [H, W] (gray) or [H, W, 3] (RGB), written with zlib alone."""
    h, w = pixels.shape[:2]
    colour = 0 if pixels.ndim == 2 else 2
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture(scope="session")
def images():
    """One deterministic image per model: NHWC uint8 arrays and their PNGs."""
    rng = np.random.default_rng(17)
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[4:24, 12:16] = 255                      # a vertical stroke: a "1"
    rgb = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    return {
        "mnist": (digit.reshape(1, 28, 28, 1), png(digit)),
        "cifar10": (rgb.reshape(1, 32, 32, 3), png(rgb)),
    }
