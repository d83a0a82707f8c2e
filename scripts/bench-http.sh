#!/usr/bin/env bash
# Loopback throughput/latency of the HTTPServer module against nginx, with wrk.
#
#   scripts/bench-http.sh [seconds-per-run]      (default 10)
#
# Builds, in a throw-away package under $BENCH_WORK (default /tmp/vaeguard-httpbench),
# two release executables that link the real Sources/HTTPServer:
#   bench-server    HTTPServer (dispatch sources on non-blocking sockets) serving a
#                   fixed 46-byte text/plain body on GET /
#   blocking-proto  the alternative accept model: blocking sockets, one thread per
#                   connection from a bounded pool, the same parser and the same async
#                   handler bridged with a semaphore
# and runs nginx (private config, high port, `return 200` with the same bytes).
# Each concurrency level runs the three servers back to back so machine load drifts
# as little as possible between them. Prints a Markdown table.
set -euo pipefail

secs="${1:-10}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${BENCH_WORK:-/tmp/vaeguard-httpbench}"
export PATH="/opt/swift/usr/bin:$PATH"
body='Hello, World! This is a small fixed response.'
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# MARK: - Build the runners

mkdir -p "$work/Sources/bench-server" "$work/Sources/blocking-proto"
ln -sfn "$root/Sources/HTTPServer" "$work/Sources/HTTPServer"
ln -sfn "$root/Sources/COpenSSL" "$work/Sources/COpenSSL"
cat > "$work/Package.swift" <<'SWIFT'
// swift-tools-version: 6.2
import PackageDescription
let settings: [SwiftSetting] = [.swiftLanguageMode(.v6), .enableUpcomingFeature("ExistentialAny"),
                                .unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
let package = Package(
    name: "httpbench",
    dependencies: [.package(url: "https://github.com/apple/swift-log.git", from: "1.6.0")],
    targets: [
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl"),
        .target(name: "HTTPServer", dependencies: ["COpenSSL", .product(name: "Logging", package: "swift-log")],
                swiftSettings: settings),
        .executableTarget(name: "bench-server", dependencies: ["HTTPServer"], swiftSettings: settings),
        .executableTarget(name: "blocking-proto", dependencies: ["HTTPServer"], swiftSettings: settings),
    ])
SWIFT

cat > "$work/Sources/bench-server/main.swift" <<SWIFT
import HTTPServer
import Logging
let port = UInt16(CommandLine.arguments[1])!
var config = HTTPServer.Configuration(host: "127.0.0.1", port: port)
config.maxConnections = 4096
var logger = Logger(label: "bench")
logger.logLevel = .notice          // access log lines are .info: filtered, as in production at notice
let body = Array("$body\n".utf8)
var router = Router()
router.get("/") { _ in HTTPResponse(headers: ["Content-Type": "text/plain"], body: body) }
let server = HTTPServer(configuration: config, router: router, logger: logger)
try server.start()
server.installSignalHandlers()
await server.waitUntilStopped()
SWIFT

cat > "$work/Sources/blocking-proto/main.swift" <<SWIFT
import Dispatch
import Foundation
import Glibc
import HTTPServer

let port = UInt16(CommandLine.arguments[1])!
let poolSize = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2])! : 1024
let body = Array("$body\n".utf8)
let handler: HTTPHandler = { _ in HTTPResponse(headers: ["Content-Type": "text/plain"], body: body) }

final class Box: @unchecked Sendable { var response: HTTPResponse? }

let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
var one: Int32 = 1
setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, 4)
var addr = sockaddr_in()
addr.sin_family = sa_family_t(AF_INET)
addr.sin_port = port.bigEndian
inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
_ = withUnsafePointer(to: &addr) { \$0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, \$0, 16) } }
listen(listener, 1024)
let slots = DispatchSemaphore(value: poolSize)   // the bounded pool

func serve(_ fd: Int32) {
    var parser = HTTPRequestParser()
    var buffer = [UInt8](repeating: 0, count: 65536)
    var counter = 0
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { return }
        parser.append(buffer[0..<n])
        while true {
            guard let event = try? parser.next() else { break }
            guard case .request(let parsed) = event else { continue }
            let request = HTTPRequest(method: parsed.head.method, target: parsed.head.target,
                                      headers: parsed.head.headers, body: parsed.body)
            // Handlers are async: a blocking thread must park until the task is done.
            let box = Box(), done = DispatchSemaphore(value: 0)
            Task { box.response = try? await handler(request); done.signal() }
            done.wait()
            counter += 1
            let payload = box.response?.bodyBytes ?? []
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n"
                + "Connection: keep-alive\r\nContent-Length: \(payload.count)\r\nX-Request-Id: p-\(counter)\r\n\r\n"
            let out = Array(head.utf8) + payload
            var offset = 0
            while offset < out.count {
                let w = out[offset...].withUnsafeBytes { send(fd, \$0.baseAddress, \$0.count, Int32(MSG_NOSIGNAL)) }
                if w <= 0 { return }
                offset += w
            }
        }
    }
}

while true {
    let fd = accept(listener, nil, nil)
    if fd < 0 { continue }
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, 4)
    slots.wait()
    Thread.detachNewThread { serve(fd); close(fd); slots.signal() }
}
SWIFT

echo "building release runners in $work ..." >&2
(cd "$work" && swift build -c release 2>&1 | grep -E "error|Compiling|Build complete" | tail -3 >&2)
bin="$(cd "$work" && swift build -c release --show-bin-path)"

# MARK: - nginx

mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes auto;
daemon off;
user root;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  server {
    listen 127.0.0.1:18181;
    location = / { default_type text/plain; return 200 "$body\n"; }
  }
}
NGINX

nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" & pids+=($!)
"$bin/bench-server" 18182 & pids+=($!)
"$bin/blocking-proto" 18183 1024 & pids+=($!)
sleep 1
for p in 18181 18182 18183; do
  got="$(curl -s "http://127.0.0.1:$p/")"
  [ "$got" = "$body" ] || { echo "port $p served '$got'" >&2; exit 1; }
done

# MARK: - Runs

run() {  # url connections -> "rps p99"
  local threads=2; [ "$2" -eq 1 ] && threads=1
  wrk -t"$threads" -c"$2" -d"${secs}s" --latency "$1" 2>/dev/null \
    | awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} END {print rps, p99}'
}

echo "load before: $(uptime)" >&2
printf '| concurrency | server | requests/s | p99 latency | vs nginx |\n|---:|---|---:|---:|---:|\n'
for c in 1 64 256; do
  # short warm-up so lazy allocations and the kernel's socket caches are hot
  for p in 18181 18182 18183; do wrk -t1 -c"$c" -d1s "http://127.0.0.1:$p/" >/dev/null 2>&1; done
  read -r n_rps n_p99 <<<"$(run http://127.0.0.1:18181/ "$c")"
  read -r s_rps s_p99 <<<"$(run http://127.0.0.1:18182/ "$c")"
  read -r b_rps b_p99 <<<"$(run http://127.0.0.1:18183/ "$c")"
  printf '| %s | nginx 1.22 (2 workers) | %s | %s | 100%% |\n' "$c" "$n_rps" "$n_p99"
  printf '| %s | HTTPServer (dispatch sources) | %s | %s | %s%% |\n' "$c" "$s_rps" "$s_p99" \
    "$(awk -v a="$s_rps" -v b="$n_rps" 'BEGIN {printf "%.0f", 100*a/b}')"
  printf '| %s | blocking pool prototype | %s | %s | %s%% |\n' "$c" "$b_rps" "$b_p99" \
    "$(awk -v a="$b_rps" -v b="$n_rps" 'BEGIN {printf "%.0f", 100*a/b}')"
done
echo "load after: $(uptime)" >&2
