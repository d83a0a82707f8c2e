// libFuzzer entry point for the HTTP/1.1 request parser (and the multipart parser,
// which sees the same untrusted bytes once a request is complete).
//
// Built by scripts/fuzz-http.sh with `swiftc -sanitize=fuzzer,address -parse-as-library`
// together with the parser's source files only, so no socket, TLS or logging code is
// involved. Invariants checked beyond "does not crash":
//   * feeding the input in one piece, split at an input-derived point, or byte by byte
//     yields the same requests and either an error in every case or in none (the kind of
//     error may differ: a limit can trip before a later syntax error is seen);
//   * no request body exceeds the configured limit;
//   * a failed parser stays failed.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let limits = HTTPParserLimits(maxRequestLineBytes: 512, maxHeaderBytes: 2048, maxHeaderCount: 32,
                                  maxBodyBytes: 4096, maxChunkLineBytes: 256)

    let whole = run(limits: limits, pieces: [bytes[...]])
    let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    let halves = run(limits: limits, pieces: [bytes[..<split], bytes[split...]])
    let bytewise = run(limits: limits, pieces: bytes.indices.map { bytes[$0...$0] })
    precondition(whole == halves, "split feeding changed the result: \(whole) vs \(halves)")
    precondition(whole == bytewise, "byte-wise feeding changed the result: \(whole) vs \(bytewise)")

    // Exercise multipart parsing on the raw bytes with a fixed boundary.
    _ = try? MultipartFormData.parse(bytes, boundary: "b", limits: .init(maxParts: 8, maxPartHeaderBytes: 256))
    return 0
}

/// A comparable summary of what the parser produced.
struct Outcome: Equatable, CustomStringConvertible {
    var requests: [String] = []
    var error: HTTPParseError?
    var description: String { "\(requests) error: \(String(describing: error))" }

    static func == (a: Outcome, b: Outcome) -> Bool {
        a.requests == b.requests && (a.error == nil) == (b.error == nil)
    }
}

func run(limits: HTTPParserLimits, pieces: [ArraySlice<UInt8>]) -> Outcome {
    var parser = HTTPRequestParser(limits: limits)
    var outcome = Outcome()
    for piece in pieces {
        parser.append(piece)
        do {
            while let event = try parser.next() {
                // A 100-continue signal depends on how bytes were split, so it is not
                // part of the comparison; complete requests are.
                if case .request(let request) = event {
                    precondition(request.body.count <= limits.maxBodyBytes, "body over limit")
                    outcome.requests.append("\(request.head.method) \(request.head.target) \(request.body.count)")
                }
            }
        } catch {
            outcome.error = error
            precondition(parser.hasFailed, "parser did not stay failed")
            return outcome
        }
    }
    return outcome
}
