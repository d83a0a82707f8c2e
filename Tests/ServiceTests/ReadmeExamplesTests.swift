import Testing
import Foundation
import Models
@testable import Service
import TestSupport

/// Runs the README's curl examples as written (only the host:port is pointed at a test server
/// started on a free port) against the service with the shipped models.
@Suite("README examples")
struct ReadmeExamplesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The shell lines between the README's `readme-examples` markers.
    static func examples() throws -> [String] {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        guard let begin = readme.range(of: "<!-- readme-examples:begin -->"),
              let end = readme.range(of: "<!-- readme-examples:end -->") else { return [] }
        return readme[begin.upperBound..<end.lowerBound].split(separator: "\n").map(String.init).filter { $0.hasPrefix("curl ") }
    }

    struct Outcome: Sendable { var status: Int32; var stdout: String; var stderr: String }

    /// Runs a shell line from the repository root on its own thread (never on the cooperative pool).
    static func shell(_ line: String) async throws -> Outcome {
        try await offPool {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", line]
            p.currentDirectoryURL = root
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return Outcome(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                           stderr: String(decoding: e, as: UTF8.self))
        }
    }

    @Test func curlExamples_workAsWritten() async throws {
        let lines = try Self.examples()
        #expect(lines.count >= 5, "README examples block not found")
        var cfg = ServiceConfiguration()
        cfg.server.host = "127.0.0.1"
        cfg.server.port = 0
        cfg.logging.level = "error"
        cfg.models.directory = Self.root.appendingPathComponent("models").path
        let registry = ModelRegistry(configuration: cfg)
        try await offPool { try registry.loadAndWarm() }   // seconds of work: not on the cooperative pool
        try await TestService.with(cfg, registry: registry, sockets: true) { s in
            for line in lines {
                let command = line.replacingOccurrences(of: "http://localhost:8080", with: s.base)
                let r = try await Self.shell(command)
                #expect(r.status == 0, "\(line)\n\(r.stderr)")
                if line.contains("/v1/classify") && line.contains("digit.png") && !line.contains("-F") {
                    let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
                    let top = (json?["predictions"] as? [[String: Any]])?.first?["label"] as? String
                    #expect(top == "7", "\(line): \(r.stdout)")
                    if line.contains("certify=true") {
                        let certificate = json?["certificate"] as? [String: Any]
                        #expect(certificate?["label"] as? String == "7", "\(line): \(r.stdout)")
                        #expect((certificate?["radius_l2"] as? Double ?? 0) > 0, "\(line): \(r.stdout)")
                    }
                }
            }
        }
    }
}
