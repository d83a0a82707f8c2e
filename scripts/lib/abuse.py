#!/usr/bin/env python3
"""Replays the abuse classes of issue 16 against a running vaeguard (scripts/abuse.sh starts it).

Every run prints RSS before / peak / after, open descriptors before / after, the slowest
/healthz answer while the run was going, and what the abusive requests got. Traffic goes to
127.0.0.1 only; every run is bounded in requests and seconds. Standard library only.

  abuse.py --port PORT --pid PID [--runs cost,memory,...] [--json FILE]
"""
import argparse, json, os, socket, struct, threading, time, zlib

HOST = "127.0.0.1"


# ---------------------------------------------------------------- measuring the server

def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class Watch:
    """Samples RSS every 50 ms and asks /healthz every 200 ms (fresh connection each time)."""

    def __init__(self, port, pid):
        self.port, self.pid = port, pid
        self.peak, self.health = 0.0, []
        self.stop = threading.Event()

    def __enter__(self):
        self.before_rss, self.before_fds = rss_mb(self.pid), fd_count(self.pid)
        self.threads = [threading.Thread(target=self._rss, daemon=True), threading.Thread(target=self._health, daemon=True)]
        for t in self.threads:
            t.start()
        return self

    def _rss(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.05)

    def _health(self):
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                status, _, _ = request(self.port, "GET", "/healthz", timeout=10)
            except OSError:
                status = 0
            self.health.append((time.monotonic() - start, status))
            time.sleep(0.2)

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()
        # Let the server close what it still holds and trim its heap (the sweeper trims
        # at most once a second after large frees).
        time.sleep(3)
        self.after_rss, self.after_fds = rss_mb(self.pid), fd_count(self.pid)

    def report(self, name, outcome):
        worst = max((d for d, _ in self.health), default=0.0)
        bad = sum(1 for _, s in self.health if s != 200)
        row = {"run": name, "rss_before_mb": round(self.before_rss), "rss_peak_mb": round(max(self.peak, self.before_rss)),
               "rss_after_mb": round(self.after_rss), "fds_before": self.before_fds, "fds_after": self.after_fds,
               "healthz_max_s": round(worst, 3), "healthz_probes": len(self.health), "healthz_not_200": bad,
               "outcome": outcome}
        ok = worst < 1.0 and bad == 0 and row["rss_peak_mb"] < 1024
        row["ok"] = ok
        print(f"{name:10} RSS {row['rss_before_mb']:5} → peak {row['rss_peak_mb']:5} → {row['rss_after_mb']:5} MB | "
              f"fds {row['fds_before']:4} → {row['fds_after']:4} | /healthz max {worst * 1000:6.0f} ms "
              f"({len(self.health)} probes, {bad} not 200) | {outcome} | {'ok' if ok else 'FAIL'}", flush=True)
        return row


# ---------------------------------------------------------------- HTTP over raw sockets

def connect(port, timeout=30):
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(s):
    """Status, headers and body of one Content-Length framed response."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:length]


def request(port, method, path, body=b"", headers=None, timeout=60):
    s = connect(port, timeout)
    try:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
                  .encode() + body)
        return read_response(s)
    finally:
        s.close()


def parallel(n, fn):
    results = [None] * n

    def run(i):
        try:
            results[i] = fn(i)
        except Exception as e:  # a refused or reset connection is an outcome too
            results[i] = f"error: {type(e).__name__}"
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def tally(values):
    counts = {}
    for v in values:
        counts[str(v)] = counts.get(str(v), 0) + 1
    return ", ".join(f"{k}×{v}" for k, v in sorted(counts.items()))


# ---------------------------------------------------------------- images

def png(width, height, seed=0, noise=False):
    """A grey 8-bit PNG; flat grey (compresses to almost nothing) unless `noise`."""
    rows = bytearray()
    x = seed or 1
    for _ in range(height):
        rows.append(0)
        if noise:
            line = bytearray(width)
            for i in range(width):
                x = (1103515245 * x + 12345) & 0x7FFFFFFF
                line[i] = x >> 23
            rows += line
        else:
            rows += b"\x80" * width

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + chunk(b"IEND", b""))


# ---------------------------------------------------------------- the runs

def run_cost(port, pid):
    """Defect 2: work one request orders, and work for clients that went away."""
    small = png(128, 128, noise=True)
    with Watch(port, pid) as w:
        # The request: ~12 800 patches × 16 samples. Priced and refused before work.
        replies = parallel(2, lambda i: request(port, "POST", "/v1/purify?model=mnist&purifier=patch-vae&stride=1&samples=16",
                                                small))
        huge = [r if isinstance(r, str) else r[0] for r in replies]
        message = next((json.loads(r[2])["error"]["message"] for r in replies if not isinstance(r, str) and r[0] == 422), "")
        # Allowed but long (512², stride 4, 2 samples), abandoned after 0.5 s: must be cancelled.
        mid = png(512, 512, noise=True)

        def abandon(i):
            s = connect(port)
            s.sendall(f"POST /v1/purify?model=mnist&purifier=patch-vae&stride=4&samples=2 HTTP/1.1\r\nHost: x\r\n"
                      f"Content-Length: {len(mid)}\r\n\r\n".encode() + mid)
            time.sleep(0.5)
            s.close()
            return "abandoned"
        parallel(2, abandon)
        time.sleep(1.0)
        start = time.monotonic()
        status = request(port, "POST", "/v1/classify?model=mnist", png(28, 28, noise=True))[0]
        after = time.monotonic() - start
        metrics = request(port, "GET", "/metrics")[2].decode()
        stopped = sum(float(l.split()[-1]) for l in metrics.splitlines()
                      if l.startswith("vaeguard_rejected_requests_total") and ('"stopped"' in l or '"cancelled"' in l))
    if message:
        print(f"           422 says: {message}")
    return w.report("cost", f"stride=1×16 purify: {tally(huge)}; 2 long jobs abandoned, {stopped:.0f} stopped or dropped; classify after: {status} in {after:.2f} s")


def run_memory(port, pid):
    """Defect 3: 24 concurrent purifications of a 15 KB 4096² grey PNG."""
    bomb = png(4096, 4096)
    with Watch(port, pid) as w:
        statuses = parallel(24, lambda i: request(port, "POST", "/v1/purify?model=mnist&purifier=jpeg", bomb, timeout=120)[0])
    return w.report("memory", f"24 × {len(bomb) // 1024} KB 4096² PNG purify: {tally(statuses)}")


def run_oip_json(port, pid):
    """Defect 4: two ~19 MB Open Inference Protocol JSON bodies."""
    value = "0.12345678901234567890123456789012345678901234567890123456789012345678901234567890123456"
    data = ",".join([value] * (256 * 28 * 28))
    body = ('{"inputs":[{"name":"input","datatype":"FP32","shape":[256,28,28,1],"data":[' + data + ']}]}').encode()
    with Watch(port, pid) as w:
        statuses = parallel(2, lambda i: request(port, "POST", "/v2/models/mnist/infer", body,
                                                 {"Content-Type": "application/json"}, timeout=120)[0])
    return w.report("oip-json", f"2 × {len(body) / 1e6:.1f} MB infer: {tally(statuses)}")


def multipart_body(count, image):
    parts = b"".join(b"--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"i%d.png\"\r\n"
                     b"Content-Type: image/png\r\n\r\n" % i + image + b"\r\n" for i in range(count))
    return parts + b"--B--\r\n"


def run_multipart(port, pid):
    """Defect 4: three 64-image multipart uploads (64 noisy 512² PNGs, 16.8 MB, under the 20 MiB body limit)."""
    body = multipart_body(64, png(512, 512, noise=True))
    with Watch(port, pid) as w:
        statuses = parallel(3, lambda i: request(port, "POST", "/v1/classify?model=mnist", body,
                                                 {"Content-Type": "multipart/form-data; boundary=B"}, timeout=120)[0])
    return w.report("multipart", f"3 × 64 × 512² images ({len(body) / 1e6:.1f} MB): {tally(statuses)}")


def run_slots(port, pid, count):
    """Defect 5: `count` connections that never send a byte."""
    with Watch(port, pid) as w:
        sockets = []
        for _ in range(count):
            try:
                sockets.append(connect(port))
            except OSError:
                break
        start = time.monotonic()
        # Wait until the server has closed them (header timeout from accept), 20 s at most.
        # Those past every reserve get a 503 first: read it, then the close.
        for s in sockets:
            s.setblocking(False)
        live = set(range(len(sockets)))
        while live and time.monotonic() - start < 20:
            time.sleep(0.5)
            for i in list(live):
                try:
                    while True:
                        data = sockets[i].recv(65536)
                        if not data:
                            live.discard(i)
                            break
                except BlockingIOError:
                    pass
                except OSError:
                    live.discard(i)
        open_left = len(live)
        closed_after = time.monotonic() - start
        for s in sockets:
            s.close()
    return w.report("slots", f"{len(sockets)} silent connections, all closed by the server after {closed_after:.1f} s"
                    if not open_left else f"{open_left} of {len(sockets)} still open after 20 s")


def run_pipeline(port, pid):
    """Defect 6: 780 KB of pipelined GET /openapi.yaml that the client never reads, for 8 s."""
    one = b"GET /openapi.yaml HTTP/1.1\r\nHost: x\r\n\r\n"
    data = one * (780_000 // len(one))
    with Watch(port, pid) as w:
        s = connect(port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.setblocking(False)
        sent, start = 0, time.monotonic()
        # (What the kernel's socket buffers absorb counts as sent; the point is the server's RSS.)
        while time.monotonic() - start < 8:
            try:
                sent += s.send(data[sent:]) if sent < len(data) else 0
            except BlockingIOError:
                pass
            time.sleep(0.01)
        s.close()
    return w.report("pipeline", f"{len(data) // len(one)} pipelined GET /openapi.yaml ({sent // 1024} KB) sent, no response read for 8 s")


def run_bodies(port, pid):
    """Defect 6: 32 connections each holding 16 MB of an unfinished 19 MB body."""
    chunk = b"x" * (1 << 20)

    def hold(i):
        s = connect(port, timeout=30)
        try:
            s.sendall(b"POST /v1/classify?model=mnist HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                      b"Content-Length: 20000000\r\n\r\n")
            for _ in range(16):
                s.sendall(chunk)
            s.settimeout(3)
            try:
                return read_response(s)[0]
            except (socket.timeout, TimeoutError):
                return "held"
        finally:
            s.close()
    with Watch(port, pid) as w:
        statuses = parallel(32, hold)
    return w.report("bodies", f"32 × 16 MB partial bodies: {tally(statuses)}")


def run_sigterm(port, pid):
    """Defect 4: SIGTERM while three 64-image multipart uploads are being decoded."""
    body = multipart_body(64, png(512, 512, noise=True))
    before_rss, before_fds = rss_mb(pid), fd_count(pid)
    threads = [threading.Thread(target=lambda: request(port, "POST", "/v1/classify?model=mnist", body,
                                                       {"Content-Type": "multipart/form-data; boundary=B"}, timeout=60),
                                daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    sent = time.monotonic()
    os.kill(pid, 15)
    refused = None
    while time.monotonic() - sent < 15:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
        except OSError:
            refused = time.monotonic() - sent
            break
        time.sleep(0.01)
    outcome = f"listener closed {refused * 1000:.0f} ms after SIGTERM" if refused is not None else "listener still open after 15 s"
    print(f"{'sigterm':10} RSS {before_rss:5.0f} MB, fds {before_fds} | {outcome} | {'ok' if refused is not None and refused < 1 else 'FAIL'}",
          flush=True)
    return {"run": "sigterm", "rss_before_mb": round(before_rss), "fds_before": before_fds,
            "listener_closed_after_s": refused, "ok": refused is not None and refused < 1}


RUNS = ["cost", "memory", "oip-json", "multipart", "slots", "pipeline", "bodies", "sigterm"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--runs", default=",".join(RUNS))
    p.add_argument("--slots", type=int, default=1040, help="silent connections (maxConnections + reserve)")
    p.add_argument("--json")
    a = p.parse_args()
    table = {"cost": run_cost, "memory": run_memory, "oip-json": run_oip_json, "multipart": run_multipart,
             "slots": lambda port, pid: run_slots(port, pid, a.slots), "pipeline": run_pipeline, "bodies": run_bodies,
             "sigterm": run_sigterm}
    rows = []
    for name in a.runs.split(","):
        rows.append(table[name](a.port, a.pid))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=2)
    failed = [r["run"] for r in rows if not r["ok"]]
    print("all runs within bounds" if not failed else f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
