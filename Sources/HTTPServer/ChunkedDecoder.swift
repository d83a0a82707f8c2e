// MARK: - ChunkedDecoder

/// Incremental decoder for the chunked transfer coding (RFC 9112 §7.1).
///
/// It works in place on the parser's buffer, consuming from `index`, so a body that
/// arrives a byte at a time costs no more than one that arrives whole. Chunk sizes are
/// checked against the body limit *before* the chunk's data is read.
struct ChunkedDecoder: Sendable {
    private enum State: Sendable {
        case sizeLine
        case data(remaining: Int)
        case dataCRLF
        case trailers
        case done
    }

    private var state = State.sizeLine
    /// Bytes after `index` already scanned for LF in the current line.
    private var scanned = 0
    private var total = 0
    private var trailerBytes = 0
    private(set) var trailers = HTTPHeaders()

    /// Consumes as much of `buffer[index...]` as possible. Returns `true` once the
    /// last chunk and trailer section have been read.
    mutating func decode(_ buffer: [UInt8], index: inout Int, into body: inout [UInt8],
                         limits: HTTPParserLimits) throws(HTTPParseError) -> Bool {
        while true {
            switch state {
            case .done:
                return true

            case .sizeLine:
                guard let line = try nextLine(buffer, index: &index, limit: limits.maxChunkLineBytes,
                                              tooLong: .invalidChunk("chunk-size line too long")) else { return false }
                let size = try parseSizeLine(buffer, line)
                if size == 0 {
                    state = .trailers
                } else {
                    guard size <= limits.maxBodyBytes - total else { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
                    total += size
                    state = .data(remaining: size)
                }

            case .data(let remaining):
                let take = min(remaining, buffer.count - index)
                guard take > 0 else { return false }
                body.append(contentsOf: buffer[index..<(index + take)])
                index += take
                state = remaining == take ? .dataCRLF : .data(remaining: remaining - take)

            case .dataCRLF:
                guard index < buffer.count else { return false }
                guard buffer[index] == .cr else { throw .invalidChunk("chunk data not followed by CRLF") }
                guard index + 1 < buffer.count else { return false }
                guard buffer[index + 1] == .lf else { throw .invalidChunk("chunk data not followed by CRLF") }
                index += 2
                state = .sizeLine

            case .trailers:
                let budget = limits.maxHeaderBytes - trailerBytes
                guard let line = try nextLine(buffer, index: &index, limit: budget,
                                              tooLong: .headerSectionTooLarge(limit: limits.maxHeaderBytes))
                else { return false }
                trailerBytes += line.count + 2
                if line.isEmpty {
                    state = .done
                    return true
                }
                if trailers.count >= limits.maxHeaderCount { throw .tooManyHeaders(limit: limits.maxHeaderCount) }
                let field = try buffer.withUnsafeBufferPointer { b throws(HTTPParseError) in
                    try HTTPRequestParser.parseField(b, line)
                }
                trailers.add(name: field.name, value: field.value)
            }
        }
    }

    // MARK: - Lines

    /// Returns the next CRLF-terminated line (without CRLF) and advances `index`,
    /// or `nil` if the line is incomplete. Bare LF is rejected.
    private mutating func nextLine(_ buffer: [UInt8], index: inout Int, limit: Int,
                                   tooLong: HTTPParseError) throws(HTTPParseError) -> Range<Int>? {
        guard let lf = HTTPRequestParser.findLF(buffer, from: index + scanned, to: buffer.count) else {
            scanned = buffer.count - index
            if scanned > limit + 1 { throw tooLong }
            return nil
        }
        guard lf > index, buffer[lf - 1] == .cr else { throw .invalidLineEnding }
        let line = index..<(lf - 1)
        if line.count > limit { throw tooLong }
        index = lf + 1
        scanned = 0
        return line
    }

    /// `chunk-size [ chunk-ext ]`: 1*HEXDIG, then optionally BWS `;` extension.
    /// Extensions are validated for forbidden characters and otherwise ignored.
    private func parseSizeLine(_ b: [UInt8], _ line: Range<Int>) throws(HTTPParseError) -> Int {
        var i = line.lowerBound
        var size = 0
        while i < line.upperBound, let digit = Self.hexValue(b[i]) {
            guard size <= (Int.max >> 4) else { throw .invalidChunk("chunk size too large") }
            size = size << 4 | digit
            i += 1
        }
        guard i > line.lowerBound else { throw .invalidChunk("missing chunk size") }
        var j = i
        while j < line.upperBound && (b[j] == .space || b[j] == .tab) { j += 1 }
        if j == line.upperBound {
            guard j == i else { throw .invalidChunk("whitespace after chunk size") }
            return size
        }
        guard b[j] == .semicolon else { throw .invalidChunk("invalid character after chunk size") }
        for k in (j + 1)..<line.upperBound where !b[k].isFieldValueChar {
            throw .invalidChunk("invalid character in chunk extension")
        }
        return size
    }

    private static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case 0x30...0x39: Int(c - 0x30)
        case 0x41...0x46: Int(c - 0x41 + 10)
        case 0x61...0x66: Int(c - 0x61 + 10)
        default: nil
        }
    }
}
