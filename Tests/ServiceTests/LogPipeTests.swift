import Foundation
import Logging
import Testing
import TestSupport
@testable import Service

/// Issue #16, defect 10: `vaeguard serve 2>&1 | head -1` killed the server with SIGILL because
/// `FileHandle.write` traps on EPIPE. Log lines now go through write(2); a line that cannot be
/// written is dropped and counted in `vaeguard_log_lines_dropped_total`.
@Suite("Log pipe")
struct LogPipeTests {
    /// A pipe whose read end is already closed: every write fails with EPIPE.
    static func closedPipe() throws -> Int32 {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        close(fds[0])
        return fds[1]
    }

    @Test func logHandlers_writingToAClosedPipe_dropAndCountLines() throws {
        let fd = try Self.closedPipe()
        defer { close(fd) }
        let before = LogOutput.droppedLines
        LineLogHandler(label: "t", format: .json, fileDescriptor: fd).log(event: LogEvent(level: .error, message: "one", metadata: nil,
                                                                            source: "t", file: #file, function: #function, line: #line))
        LineLogHandler(label: "t", format: .text, fileDescriptor: fd).log(event: LogEvent(level: .error, message: "two", metadata: ["k": "v"],
                                                                            source: "t", file: #file, function: #function, line: #line))
        #expect(!LogOutput.write(Array("three\n".utf8), to: fd))
        // The process is still here (a trap or SIGPIPE would have ended the test run).
        #expect(LogOutput.droppedLines >= before + 3)
        let metrics = String(decoding: ServiceMetrics().render(), as: UTF8.self)
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("vaeguard_log_lines_dropped_total ") }
        let value = line.flatMap { Int($0.split(separator: " ").last ?? "") }
        #expect(value.map { $0 >= before + 3 } == true, "no drop counter on /metrics: \(line ?? "missing")")
    }

    @Test func logOutput_writesWholeLines_toAnOpenPipe() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let line = Array(String(repeating: "x", count: 3000).utf8) + [0x0A]
        #expect(LogOutput.write(line, to: fds[1]))
        close(fds[1])
        let read = FileHandle(fileDescriptor: fds[0]).readDataToEndOfFile()
        #expect([UInt8](read) == line)
    }

    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vaeguard")

    /// The issue's reproduction with the built binary: its stderr is a pipe whose reader reads
    /// one line and goes away (`| head -1`); requests that log afterwards must not kill it, and
    /// `/metrics` counts the dropped lines.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary.path), "needs the built vaeguard binary"),
          .timeLimit(.minutes(2)))
    func servedBinary_survivesItsStderrClosing() async throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("vaeguard-logpipe-\(getpid())")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0", "--models", empty.path]
        process.currentDirectoryURL = empty
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let port: UInt16 = try await offPool {
            // `head -1` on stderr: read the first line, then close the read end.
            var first = Data()
            while !first.contains(0x0A) {
                let chunk = err.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                first.append(chunk)
            }
            try err.fileHandleForReading.close()
            // stdout says where it listens.
            var text = ""
            while !text.contains("\n") {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            guard let port = text.split(separator: ":").last.flatMap({ UInt16($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
            else { throw ClientError(description: "no port in \(text)") }
            return port
        }
        // Every request writes an access-log line into the closed pipe.
        for _ in 0..<5 {
            let client = try RawClient(port: port)
            try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(try await client.readResponse().status == 200)
        }
        let client = try RawClient(port: port)
        try client.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let metrics = try await client.readResponse()
        #expect(process.isRunning, "the server died when its stderr closed")
        let line = metrics.bodyString.split(separator: "\n").first { $0.hasPrefix("vaeguard_log_lines_dropped_total ") }
        let dropped = line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        #expect(dropped >= 5, "dropped log lines: \(line ?? "missing")")
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit, "ended by signal \(process.terminationStatus)")
    }
}
