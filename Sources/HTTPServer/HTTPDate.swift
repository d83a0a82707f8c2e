import Foundation
import Synchronization

// MARK: - HTTPDate

/// The `Date` header value (IMF-fixdate, RFC 9110 §5.6.7), formatted at most once per
/// second: formatting per response would cost more than the rest of a small response.
final class HTTPDate: Sendable {
    /// The second last formatted and its bytes.
    private let cache = Mutex<(second: time_t, bytes: [UInt8])>((0, []))

    static let shared = HTTPDate()

    /// `Sun, 06 Nov 1994 08:49:37 GMT` as bytes.
    func current() -> [UInt8] {
        let now = time(nil)
        return cache.withLock { cache in
            if now != cache.second || cache.bytes.isEmpty {
                cache = (now, Array(Self.format(now).utf8))
            }
            return cache.bytes
        }
    }

    static func format(_ t: time_t) -> String {
        var t = t
        var parts = tm()
        gmtime_r(&t, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}

// MARK: - RequestID

/// Request ids: an incoming `X-Request-Id` is kept when it is short and made of safe
/// characters (it ends up in logs and headers), otherwise the server makes one from a
/// per-process random prefix and a counter, which is unique and costs no syscall.
enum RequestID {
    private static let prefix: String = {
        let value = UInt64.random(in: 0...UInt64.max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }()
    private static let counter = Atomic<UInt64>(0)

    static func generate() -> String {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return prefix + "-" + String(n, radix: 16)
    }

    /// Accepts 1...128 characters from `[A-Za-z0-9._:-]`.
    static func isAcceptable(_ id: String) -> Bool {
        let bytes = id.utf8
        guard (1...128).contains(bytes.count) else { return false }
        return bytes.allSatisfy { c in
            (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c)
                || c == 0x2D || c == 0x2E || c == 0x5F || c == 0x3A
        }
    }

    static func from(_ headers: HTTPHeaders) -> String {
        if let incoming = headers["X-Request-Id"], isAcceptable(incoming) { return incoming }
        return generate()
    }
}
