"""Starts `vaeguard serve` (the built binary, the shipped models and config) on 127.0.0.1 and
a free port, for the client tests (conftest.py) and scripts/doc-examples.py."""
import json
import os
import pathlib
import re
import subprocess
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]


class Server:
    def __init__(self, binary=None, extra_env=None):
        binary = binary or os.environ.get("VAEGUARD_BIN", str(ROOT / ".build/debug/vaeguard"))
        env = dict(os.environ, VAEGUARD_LOG_LEVEL="warning", **(extra_env or {}))
        self.process = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", "0",
                                         "--config", str(ROOT / "config/vaeguard.json")],
                                        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 60
        port = None
        while port is None and time.time() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                raise RuntimeError(f"vaeguard exited with {self.process.returncode}")
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
        if port is None:
            self.stop()
            raise RuntimeError("vaeguard did not report its port")
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.base = f"http://{self.host}"
        while time.time() < deadline:
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("vaeguard did not become ready in 60 s")

    def request(self, method, path, body=None, headers=None):
        """(status, headers, body bytes), also for 4xx and 5xx."""
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body, headers=None):
        return self.request("POST", path, body, headers)

    def classify(self, model, png, seed):
        """/v1/classify with a seed: the reference the v2 clients must agree with."""
        _, _, body = self.post(f"/v1/classify?model={model}&seed={seed}&top_k=1000", png, {"Content-Type": "image/png"})
        return json.loads(body)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
