"""Starts one VAEGuard server (the built binary, the shipped models and config) for the
client tests, on 127.0.0.1 and a free port, and stops it afterwards.

VAEGUARD_BIN picks the binary (default .build/debug/vaeguard, what `make test` builds).
"""
import json
import os
import pathlib
import re
import subprocess
import time
import urllib.request
import struct
import zlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


class Server:
    def __init__(self, process, port):
        self.process = process
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.base = f"http://{self.host}"

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=30) as r:
            return r.status, dict(r.headers), r.read()

    def post(self, path, body, headers=None):
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {}, method="POST")
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()

    def classify(self, model, png, seed):
        """/v1/classify with a seed: the reference the v2 clients must agree with."""
        _, _, body = self.post(f"/v1/classify?model={model}&seed={seed}&top_k=1000", png, {"Content-Type": "image/png"})
        return json.loads(body)


@pytest.fixture(scope="session")
def server():
    binary = os.environ.get("VAEGUARD_BIN", str(ROOT / ".build/debug/vaeguard"))
    env = dict(os.environ, VAEGUARD_LOG_LEVEL="warning")
    process = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", "0",
                                "--config", str(ROOT / "config/vaeguard.json")],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    port = None
    deadline = time.time() + 60
    while port is None and time.time() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            raise RuntimeError(f"vaeguard exited with {process.returncode}")
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
    assert port, "vaeguard did not report its port"
    s = Server(process, port)
    while time.time() < deadline:
        try:
            if s.get("/readyz")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.2)
    else:
        raise RuntimeError("vaeguard did not become ready in 60 s")
    yield s
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


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
