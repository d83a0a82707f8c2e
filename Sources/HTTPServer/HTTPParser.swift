#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - HTTPRequestParser

/// An incremental, pure HTTP/1.1 request parser (RFC 9112).
///
/// Feed it bytes with `append(_:)` as they arrive, then call `next()` until it returns
/// `nil`: each call yields at most one event, in arrival order, so pipelined requests
/// come out one by one and the caller can stop pulling (back-pressure) at any point.
/// The parser owns no socket, clock or logger, which is what makes it fuzzable and
/// unit-testable with plain byte literals.
///
/// Strictness is deliberate: anything that could be framed two ways by two parsers
/// (bare LF, obs-fold, whitespace before a colon, `Content-Length` with
/// `Transfer-Encoding`, differing lengths, odd chunk sizes) is an error, and after an
/// error the parser stays failed, so the connection must be closed.
public struct HTTPRequestParser: Sendable {

    /// Where the parser is within the current request; drives the server's timeouts.
    public enum Phase: Sendable, Equatable {
        /// No byte of the next request has arrived (keep-alive idle).
        case idle
        /// Part of a request line or header section has arrived.
        case head
        /// The head is complete and the body is being received.
        case body
    }

    public let limits: HTTPParserLimits

    private var buffer: [UInt8] = []
    /// Index of the first byte not yet consumed.
    private var index = 0
    private var state: State = .head
    private var scan = HeadScan()
    private var currentHead: HTTPRequestHead?
    private var chunkedBody: [UInt8] = []
    private var decoder = ChunkedDecoder()
    private var failure: HTTPParseError?

    private enum State: Sendable {
        case head
        case fixedBody(Int)
        case chunkedBody
    }

    /// Progress of the header scan, relative to `index` so buffer compaction keeps it valid.
    struct HeadScan: Sendable {
        var scanned = 0
        var lineStart = 0
        var lineCount = 0
        var leadingEmptyLines = 0
    }

    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        self.limits = limits
    }

    // MARK: - Feeding

    /// Appends received bytes. Consumed bytes are dropped first so the buffer stays
    /// proportional to what is still unparsed.
    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Appends bytes from raw memory (the socket read path).
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Convenience for tests and the fuzzer: appends `bytes` and drains every event.
    public mutating func parse<C: Collection>(_ bytes: C) throws(HTTPParseError) -> [HTTPParserEvent]
    where C.Element == UInt8 {
        append(bytes)
        var events: [HTTPParserEvent] = []
        while let event = try next() { events.append(event) }
        return events
    }

    /// Bytes received but not yet consumed by a complete request.
    public var bufferedByteCount: Int { buffer.count - index }

    /// Bytes of request data held: unparsed input plus the decoded part of a chunked body.
    /// (A fixed-length body's buffer is allocated once at its full length but only the pages
    /// written are resident, so received bytes, not capacity, are what a client costs.)
    public var heldByteCount: Int { bufferedByteCount + chunkedBody.count }

    /// Gives a large input buffer back once everything in it has been consumed, so a
    /// keep-alive connection does not keep the memory of its largest request.
    public mutating func releaseIdleBuffer() {
        guard bufferedByteCount == 0, buffer.capacity > 64 * 1024 else { return }
        buffer = []
        index = 0
    }

    public var phase: Phase {
        switch state {
        case .head: bufferedByteCount == 0 ? .idle : .head
        case .fixedBody, .chunkedBody: .body
        }
    }

    /// Whether the parser has failed; it then yields the same error forever.
    public var hasFailed: Bool { failure != nil }

    /// The request-target of the request whose parsing failed, when its request line had been
    /// read (a body over the limit, a bad chunk, a bad header field), so the error can be
    /// answered in the shape of the protocol that path belongs to; nil otherwise.
    public private(set) var failedTarget: String?

    // MARK: - Pulling events

    /// Returns the next complete event, `nil` when more bytes are needed.
    public mutating func next() throws(HTTPParseError) -> HTTPParserEvent? {
        if let failure { throw failure }
        do {
            return try step()
        } catch {
            failure = error
            failedTarget = currentHead?.target ?? Self.requestTarget(in: buffer[index...])
            throw error
        }
    }

    private mutating func step() throws(HTTPParseError) -> HTTPParserEvent? {
        while true {
            switch state {
            case .head:
                guard let head = try scanHead() else { return nil }
                switch head.framing {
                case .none:
                    return .request(ParsedRequest(head: head, body: [], trailers: HTTPHeaders()))
                case .contentLength(let length):
                    currentHead = head
                    state = .fixedBody(length)
                    // One allocation at the final size instead of doubling copies of a large body.
                    if length > 64 * 1024 { buffer.reserveCapacity(index + length) }
                case .chunked:
                    currentHead = head
                    chunkedBody = []
                    decoder = ChunkedDecoder()
                    state = .chunkedBody
                }
                if head.expectsContinue && bufferedByteCount == 0 {
                    return .continueRequested(head)
                }

            case .fixedBody(let length):
                guard bufferedByteCount >= length, let head = currentHead else { return nil }
                let body = Array(buffer[index..<(index + length)])
                index += length
                // The body now lives in the request; free a large buffer with nothing after it.
                if index == buffer.count && buffer.capacity > 64 * 1024 {
                    buffer = []
                    index = 0
                }
                return finish(head, body: body, trailers: HTTPHeaders())

            case .chunkedBody:
                guard try decoder.decode(buffer, index: &index, into: &chunkedBody, limits: limits),
                      let head = currentHead else { return nil }
                let body = chunkedBody
                chunkedBody = []
                return finish(head, body: body, trailers: decoder.trailers)
            }
        }
    }

    private mutating func finish(_ head: HTTPRequestHead, body: [UInt8], trailers: HTTPHeaders) -> HTTPParserEvent {
        state = .head
        currentHead = nil
        return .request(ParsedRequest(head: head, body: body, trailers: trailers))
    }

    /// The second space-separated token of the first line of `bytes`, when that line is
    /// complete and the token is visible ASCII: the request-target, read without judging the
    /// rest of the request.
    static func requestTarget(in bytes: ArraySlice<UInt8>) -> String? {
        guard let lf = bytes.firstIndex(of: .lf) else { return nil }
        let words = bytes[bytes.startIndex..<lf].split(separator: .space, omittingEmptySubsequences: false)
        guard words.count == 3, !words[1].isEmpty, words[1].allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
        return String(decoding: words[1], as: UTF8.self)
    }

    // MARK: - Header scan

    /// Finds the end of the header section incrementally, enforcing CRLF and size limits
    /// on the way, then hands the complete section to `parseHead`.
    private mutating func scanHead() throws(HTTPParseError) -> HTTPRequestHead? {
        // RFC 9112 §2.2: ignore (a few) empty lines before the request line.
        while scan.scanned == 0 && index < buffer.count && (buffer[index] == .cr || buffer[index] == .lf) {
            guard buffer[index] == .cr else { throw .invalidLineEnding }
            guard index + 1 < buffer.count else { return nil }
            guard buffer[index + 1] == .lf else { throw .invalidLineEnding }
            scan.leadingEmptyLines += 1
            if scan.leadingEmptyLines > 8 { throw .invalidRequestLine("too many empty lines before request line") }
            index += 2
        }
        let end = buffer.count
        var p = index + scan.scanned
        while p < end {
            guard let lf = Self.findLF(buffer, from: p, to: end) else {
                p = end
                break
            }
            let lineStart = index + scan.lineStart
            if lf == lineStart || buffer[lf - 1] != .cr { throw .invalidLineEnding }
            let lineLength = lf - 1 - lineStart
            if scan.lineCount == 0 && lineLength > limits.maxRequestLineBytes {
                throw .requestLineTooLong(limit: limits.maxRequestLineBytes)
            }
            if lineLength == 0 {
                let headEnd = lf + 1
                if headEnd - index > limits.maxHeaderBytes {
                    throw .headerSectionTooLarge(limit: limits.maxHeaderBytes)
                }
                let head = try buffer.withUnsafeBufferPointer { all throws(HTTPParseError) in
                    try Self.parseHead(UnsafeBufferPointer(rebasing: all[index..<headEnd]), limits: limits)
                }
                index = headEnd
                scan = HeadScan()
                return head
            }
            scan.lineCount += 1
            if scan.lineCount - 1 > limits.maxHeaderCount {
                throw .tooManyHeaders(limit: limits.maxHeaderCount)
            }
            scan.lineStart = lf + 1 - index
            p = lf + 1
        }
        scan.scanned = p - index
        // The request line so far, without a trailing CR that may be the first half of its
        // CRLF: counting that CR refused a line of exactly the limit when the bytes arrived
        // split between CR and LF, and accepted it when they arrived together (found by the
        // http-request fuzzer's split-feeding invariant).
        let pendingLine = end - index - (end > index && buffer[end - 1] == .cr ? 1 : 0)
        if scan.lineCount == 0 && pendingLine > limits.maxRequestLineBytes {
            throw .requestLineTooLong(limit: limits.maxRequestLineBytes)
        }
        if end - index > limits.maxHeaderBytes {
            throw .headerSectionTooLarge(limit: limits.maxHeaderBytes)
        }
        return nil
    }

    // MARK: - Buffer management

    private mutating func compact() {
        guard index > 0 else { return }
        if index == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            index = 0
        } else if index >= 4096 && index * 2 >= buffer.count {
            buffer.removeFirst(index)
            index = 0
        }
    }

    /// `memchr` for LF in `buffer[from..<to]`.
    static func findLF(_ buffer: [UInt8], from: Int, to: Int) -> Int? {
        guard from < to else { return nil }
        return buffer.withUnsafeBufferPointer { raw -> Int? in
            guard let base = raw.baseAddress,
                  let hit = memchr(base + from, Int32(UInt8.lf), to - from) else { return nil }
            return UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit))
        }
    }
}

// MARK: - Byte constants

extension UInt8 {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B

    /// `tchar` from RFC 9110 §5.6.2: the characters allowed in methods and field names.
    var isTokenChar: Bool {
        switch self {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: true
        default: false
        }
    }

    /// field-vchar / SP / HTAB / obs-text: what may appear in a field value (RFC 9110 §5.5).
    var isFieldValueChar: Bool {
        self == .tab || (self >= 0x20 && self != 0x7F)
    }
}
