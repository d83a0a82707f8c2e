#!/usr/bin/env python3
"""Open-loop HTTP load generator for overload and soak runs (standard library only).

wrk is closed-loop: when the server slows down, wrk slows down with it, so it cannot offer
"4x capacity" or say how long an accepted request really waited. This generator schedules
requests at a fixed rate whatever the server does, measures each latency from the moment
the request was *due* (no coordinated omission; `p50_ms`, `p99_ms`) and from the moment it
was written to the socket (`service_p50_ms`, `service_p99_ms`: what the server took, without
the generator's own backlog), and checks every status against the one
the request kind should get. It samples the server's resident memory and open file
descriptors once a second from /proc.

    bench/loadgen.py --port 8080 --rate 2000 --duration 30 --mix classify=1 [--pid PID] [--json out.json]

Request kinds (`--mix kind=weight,...`), each with the statuses it may get:
    classify   POST /v1/classify?model=mnist with a real MNIST PNG     200 (503 when shedding)
    purify     POST /v1/purify?model=mnist                            200 (503)
    corrupt    truncated PNG                                          400
    badquery   samples=0                                              400
    gif        a GIF body                                             415
    notfound   GET /v1/nothing                                        404
    health     GET /healthz                                           200
    cifar      POST /v1/classify?model=cifar10 with a CIFAR-10 test PNG   200 (503)
    large      POST /v1/purify?model=cifar10&purifier=patch-vae, 299x299  200 (503)
"""
import argparse
import asyncio
import json
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(*parts):
    with open(os.path.join(ROOT, *parts), "rb") as f:
        return f.read()


def load_png():
    return read("docs", "examples", "digit.png")


def kinds(png, shed_ok):
    busy = {503} if shed_ok else set()

    def post(path, body, ctype="image/png"):
        head = (f"POST {path} HTTP/1.1\r\nHost: loadgen\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        return head + body

    return {
        "classify": (post("/v1/classify?model=mnist", png), {200} | busy),
        "purify": (post("/v1/purify?model=mnist", png), {200} | busy),
        "corrupt": (post("/v1/classify?model=mnist", png[: len(png) // 2]), {400}),
        "badquery": (post("/v1/classify?model=mnist&samples=0", png), {400}),
        "gif": (post("/v1/classify", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif"), {415}),
        "notfound": (b"GET /v1/nothing HTTP/1.1\r\nHost: loadgen\r\n\r\n", {404}),
        "health": (b"GET /healthz HTTP/1.1\r\nHost: loadgen\r\n\r\n", {200}),
        "cifar": (post("/v1/classify?model=cifar10", read("bench", "images", "cifar10-cat-32.png")), {200} | busy),
        "large": (post("/v1/purify?model=cifar10&purifier=patch-vae", read("bench", "images", "cifar10-cat-299.png")),
                  {200} | busy),
    }


class Stats:
    def __init__(self):
        self.latency = {}   # status -> [seconds since the request was due]
        self.service = {}   # status -> [seconds since it was written to the socket]
        self.unexpected = {}  # (kind, status) -> count
        self.errors = {}    # exception name -> count
        self.sent = 0

    def record(self, kind, status, seconds, service_seconds, expected):
        self.latency.setdefault(status, []).append(seconds)
        self.service.setdefault(status, []).append(service_seconds)
        if status not in expected:
            key = f"{kind}:{status}"
            self.unexpected[key] = self.unexpected.get(key, 0) + 1


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    if length:
        await reader.readexactly(length)
    return status, close


async def worker(args, tickets, catalogue, stats):
    reader = writer = None
    while True:
        item = await tickets.get()
        if item is None:
            break
        due, kind = item
        payload, expected = catalogue[kind]
        for attempt in range(2):
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(args.host, args.port)
                sent_at = time.monotonic()
                writer.write(payload)
                await writer.drain()
                status, close = await asyncio.wait_for(read_response(reader), args.timeout)
                now = time.monotonic()
                stats.record(kind, status, now - due, now - sent_at, expected)
                if close:
                    writer.close()
                    reader = writer = None
                break
            except Exception as e:  # a closed keep-alive connection is retried once on a new one
                if writer is not None:
                    writer.close()
                reader = writer = None
                if attempt == 1 or isinstance(e, asyncio.TimeoutError):
                    name = type(e).__name__
                    stats.errors[name] = stats.errors.get(name, 0) + 1
                    break
    if writer is not None:
        writer.close()


def sample_process(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return rss / 1024.0, fds
    except (OSError, StopIteration):
        return None, None


async def sampler(pid, samples, stop, interval):
    start = time.monotonic()
    while not stop.is_set():
        rss, fds = sample_process(pid)
        if rss is not None:
            samples.append({"t": round(time.monotonic() - start, 1), "rss_mb": round(rss, 1), "fds": fds})
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except asyncio.TimeoutError:
            pass


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))]


async def run(args):
    catalogue = kinds(load_png(), shed_ok=not args.no_shedding)
    mix = []
    for part in args.mix.split(","):
        name, _, weight = part.partition("=")
        if name not in catalogue:
            sys.exit(f"unknown kind {name}; known: {', '.join(catalogue)}")
        mix.append((name, float(weight or 1)))
    names, weights = zip(*mix)
    rng = random.Random(args.seed)
    stats = Stats()
    tickets = asyncio.Queue()
    workers = [asyncio.create_task(worker(args, tickets, catalogue, stats)) for _ in range(args.connections)]
    samples, stop = [], asyncio.Event()
    sampling = asyncio.create_task(sampler(args.pid, samples, stop, args.sample_interval)) if args.pid else None

    start = time.monotonic()
    interval = 1.0 / args.rate
    n = 0
    backlog_max = 0
    while True:
        due = start + n * interval
        if due - start >= args.duration:
            break
        now = time.monotonic()
        if due > now:
            await asyncio.sleep(due - now)
        tickets.put_nowait((due, rng.choices(names, weights)[0]))
        backlog_max = max(backlog_max, tickets.qsize())
        n += 1
    stats.sent = n
    for _ in workers:
        tickets.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.monotonic() - start
    stop.set()
    if sampling:
        await sampling

    return {"sent": n, "elapsed": elapsed, "backlog_max": backlog_max, "latency": stats.latency,
            "service": stats.service, "unexpected": stats.unexpected, "errors": stats.errors, "samples": samples}


def run_process(args, index, queue):
    """One generator process: its share of the rate, its own seed; samples only in process 0."""
    args.rate = args.rate / args.processes
    args.seed = args.seed + index
    if index > 0:
        args.pid = None
    queue.put(asyncio.run(run(args)))


def merge(args, parts):
    def join(key):
        out = {}
        for p in parts:
            for status, values in p[key].items():
                out.setdefault(status, []).extend(values)
        return out
    latency, service = join("latency"), join("service")
    elapsed = max(p["elapsed"] for p in parts)
    by_status = {}
    for status in sorted(latency):
        values, served = latency[status], service[status]
        by_status[str(status)] = {
            "count": len(values), "per_second": round(len(values) / elapsed, 1),
            "p50_ms": round(percentile(values, 50) * 1000, 2), "p99_ms": round(percentile(values, 99) * 1000, 2),
            "max_ms": round(max(values) * 1000, 2),
            "service_p50_ms": round(percentile(served, 50) * 1000, 2),
            "service_p99_ms": round(percentile(served, 99) * 1000, 2),
        }
    unexpected, errors = {}, {}
    for p in parts:
        for k, v in p["unexpected"].items():
            unexpected[k] = unexpected.get(k, 0) + v
        for k, v in p["errors"].items():
            errors[k] = errors.get(k, 0) + v
    samples = next((p["samples"] for p in parts if p["samples"]), [])
    report = {
        "offered_rate": args.rate, "duration_s": round(elapsed, 1), "sent": sum(p["sent"] for p in parts),
        "mix": args.mix, "connections": args.connections * args.processes, "processes": args.processes,
        "client_backlog_max": max(p["backlog_max"] for p in parts),
        "statuses": by_status, "unexpected": unexpected, "client_errors": errors, "samples": samples,
    }
    if samples:
        rss = [s["rss_mb"] for s in samples]
        fds = [s["fds"] for s in samples]
        report["rss_mb"] = {"first": rss[0], "last": rss[-1], "max": max(rss)}
        report["fds"] = {"first": fds[0], "last": fds[-1], "max": max(fds)}
    return report


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=float, required=True, help="requests per second offered")
    p.add_argument("--duration", type=float, default=30)
    p.add_argument("--mix", default="classify=1")
    p.add_argument("--connections", type=int, default=256)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--pid", type=int, help="server process to sample (RSS, open fds)")
    p.add_argument("--sample-interval", type=float, default=1.0)
    p.add_argument("--no-shedding", action="store_true", help="503 counts as unexpected")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--processes", type=int, default=1,
                   help="generator processes sharing the rate (one Python process tops out near 2,000 requests/s)")
    p.add_argument("--json", help="write the full report here")
    args = p.parse_args()
    import multiprocessing
    queue = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=run_process, args=(argparse.Namespace(**vars(args)), i, queue))
               for i in range(args.processes)]
    for w in workers:
        w.start()
    parts = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    report = merge(args, parts)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    summary = {k: v for k, v in report.items() if k != "samples"}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
