#!/usr/bin/env python3
"""Server-side batch-1 latency (docs/PERFORMANCE.md, issue 21): starts `vaeguard serve` on a
free port with the shipped models, sends REPS sequential POST /v1/classify requests per scenario
on one keep-alive connection after WARMUP, and prints p50 / p90 / p99 of the reply's timings
(total, decode, queue, purify, classify) and of the client-side round trip.

    python3 scripts/batch1-latency.py [BINARY] [REPS] [SCENARIOS]
        default .build/release/vaeguard, 500, "mnist:vae,mnist:none,cifar10:vae"
Extra environment (VAEGUARD_HALF_WEIGHTS=0 ...) is passed to the server.
"""
import http.client, json, os, socket, statistics, subprocess, sys, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build/release/vaeguard")
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 500
scenarios = [s.split(":") for s in (sys.argv[3] if len(sys.argv) > 3 else "mnist:vae,mnist:none,cifar10:vae").split(",")]
samples = {"mnist": "mnist-7.png", "cifar10": "cifar10-cat.png"}
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "error"], cwd=root,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, round(q * (len(v) - 1)))]


try:
    conn = None
    for _ in range(600):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/readyz")
            ready = conn.getresponse()
            ready.read()
            if ready.status == 200:
                break
            time.sleep(0.5)
        except Exception:
            time.sleep(0.5)
    print("| model | purifier | n | total p50 | p90 | p99 | decode p50 | queue p50 | purify p50 | classify p50 | client round trip p50 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for model, purifier in scenarios:
        conn.request("GET", f"/demo/samples/{samples[model]}")
        image = conn.getresponse().read()
        path = f"/v1/classify?model={model}&purifier={purifier}"
        rows = []
        for i in range(reps + 50):
            t0 = time.perf_counter()
            conn.request("POST", path, body=image, headers={"Content-Type": "image/png"})
            response = conn.getresponse()
            reply = json.loads(response.read())
            if response.status != 200:
                sys.exit(f"{path}: HTTP {response.status}: {reply}")
            rt = (time.perf_counter() - t0) * 1e3
            if i >= 50:
                rows.append((reply["timings"], rt))
        t = lambda k: [r[0][k] for r in rows]
        total = t("total_ms")
        print(f"| {model} | {purifier} | {reps} | {statistics.median(total):.3f} | {pct(total, 0.9):.3f} | {pct(total, 0.99):.3f} | "
              f"{statistics.median(t('decode_ms')):.3f} | {statistics.median(t('queue_ms')):.3f} | "
              f"{statistics.median(t('purify_ms')):.3f} | {statistics.median(t('classify_ms')):.3f} | "
              f"{statistics.median([r[1] for r in rows]):.3f} |", flush=True)
finally:
    server.terminate()
    server.wait()
