#!/usr/bin/env python3
"""Server-side latency of certify=true (docs/PERFORMANCE.md, "Certification"): starts
`vaeguard serve` on a free port with the shipped models, sends each certify request REPS times
after one warm-up and prints p50 / p99 of the reply's timings.total_ms.

    python3 scripts/certify-latency.py [BINARY] [REPS]      # default .build/release/vaeguard, 10
"""
import json, os, socket, statistics, subprocess, sys, time, urllib.request

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build/release/vaeguard")
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "error"], cwd=root,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def call(path, data=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method="POST" if data else "GET")
    return urllib.request.urlopen(request, timeout=600).read()


try:
    for _ in range(600):
        try:
            call("/readyz")
            break
        except Exception:
            time.sleep(0.5)
    for model, sample, purifier in [("mnist", "mnist-7.png", "none"), ("mnist", "mnist-7.png", "vae"),
                                    ("cifar10", "cifar10-cat.png", "none"), ("cifar10", "cifar10-cat.png", "patch-vae")]:
        image = call(f"/demo/samples/{sample}")
        for n in [100, 1000]:
            path = f"/v1/classify?model={model}&purifier={purifier}&certify=true&n={n}&n0=100"
            call(path, image)
            times = sorted(json.loads(call(path, image))["timings"]["total_ms"] for _ in range(reps))
            p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
            print(f"| {model} | {purifier} | {n} | {statistics.median(times):.0f} ms | {p99:.0f} ms |", flush=True)
finally:
    server.terminate()
    server.wait()
