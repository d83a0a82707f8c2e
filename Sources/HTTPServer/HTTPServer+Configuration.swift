import Foundation
import Logging

// MARK: - Configuration

extension HTTPServer {

    /// Everything that bounds what a client can make the server do.
    ///
    /// Defaults suit a service behind a load balancer; tests shrink the timeouts to
    /// milliseconds. Every limit answers with a JSON error (431, 413, 408, 503) rather
    /// than a silent close wherever the protocol state still allows a response.
    public struct Configuration: Sendable {
        // MARK: Listener

        /// Address to bind: `127.0.0.1`, `::1`, a host name, or `""`/`"::"` for every
        /// IPv4 and IPv6 address (dual-stack).
        public var host: String
        /// Port to bind; 0 picks a free port (read it back from `HTTPServer.port`).
        public var port: UInt16
        /// `listen(2)` backlog; the kernel caps it at `net.core.somaxconn`.
        public var backlog: Int32 = 1024

        // MARK: Request limits

        public var maxRequestLineBytes: Int = 8 * 1024
        /// Request line + header fields; exceeding it answers 431.
        public var maxHeaderBytes: Int = 16 * 1024
        public var maxHeaderCount: Int = 100
        /// Exceeding it answers 413 before the body is read.
        public var maxBodyBytes: Int = 16 * 1024 * 1024

        // MARK: Timeouts

        /// From the first byte of a request until its header section is complete (408). For
        /// the first request on a connection it runs from accept, so a client that connects
        /// and sends nothing holds its slot for this long, not for `idleTimeout`.
        public var headerTimeout: Duration = .seconds(10)
        /// From accept until the TLS handshake is complete (then closed without a reply).
        public var tlsHandshakeTimeout: Duration = .seconds(5)
        /// From the end of the headers until the body is complete (408).
        public var bodyTimeout: Duration = .seconds(30)
        /// Keep-alive: how long a connection may sit between requests (closed silently).
        public var idleTimeout: Duration = .seconds(60)
        /// How long a response may make no progress because the client is not reading.
        public var writeTimeout: Duration = .seconds(30)
        /// After the last response on a connection, how long to keep draining what the
        /// client still sends, so that closing does not reset the connection and destroy
        /// the response before the client reads it.
        public var lingerTimeout: Duration = .seconds(2)

        // MARK: Concurrency

        /// Connections served at once; more are answered 503 with `Retry-After`.
        public var maxConnections: Int = 1024
        public var retryAfterSeconds: Int = 1
        /// Extra connections accepted above `maxConnections` that may only ask for one of
        /// `probePaths` (anything else gets 503): liveness and readiness probes keep working
        /// while the table is full of idle or slow clients.
        public var reservedProbeConnections: Int = 8
        /// Exact paths (no query) served on the reserved connections.
        public var probePaths: Set<String> = ["/healthz", "/readyz"]
        /// Pipelined requests parsed ahead of the one being handled; reading pauses beyond.
        public var maxPipelinedRequests: Int = 4
        /// Unsent response bytes above which a connection stops reading and starts no new
        /// request, until the client has read enough: a client that pipelines without
        /// reading cannot make the server buffer responses without bound.
        public var maxUnsentResponseBytes: Int = 256 * 1024
        /// Request bytes (heads, bodies, pipelined requests) held in memory across all
        /// connections; a connection that would go past it is answered 503 + `Retry-After`.
        public var maxBufferedRequestBytes: Int = 128 * 1024 * 1024
        /// Serial dispatch queues that run socket I/O (not handlers).
        public var ioQueueCount: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

        // MARK: TLS and logging

        /// Serve HTTPS when set.
        public var tls: TLSConfiguration?
        /// Level of the access log line written per response.
        public var accessLogLevel: Logger.Level = .info
        /// Value of the `Server` header; `nil` sends none.
        public var serverName: String?
        /// The body of an error the server answers before any handler runs (parse errors,
        /// limits, timeouts), given the request-target when its request line was read; `nil`
        /// keeps `HTTPError.jsonBody`. Lets a protocol mounted under a path prefix keep its
        /// own error shape for these too (Open Inference's `{"error": "…"}` under `/v2`).
        public var errorBody: (@Sendable (_ target: String?, _ error: HTTPError) -> [UInt8]?)?

        public init(host: String = "127.0.0.1", port: UInt16 = 8080) {
            self.host = host
            self.port = port
        }

        /// The parser limits derived from this configuration.
        public var parserLimits: HTTPParserLimits {
            HTTPParserLimits(maxRequestLineBytes: maxRequestLineBytes, maxHeaderBytes: maxHeaderBytes,
                             maxHeaderCount: maxHeaderCount, maxBodyBytes: maxBodyBytes)
        }
    }
}

// MARK: - Duration helpers

extension Duration {
    /// Nanoseconds, saturating, for `DispatchTime` arithmetic.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (ns, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? UInt64.max : ns &+ UInt64(attoseconds / 1_000_000_000)
    }
}
