import Foundation
import Testing
@testable import HTTPServer
import TestSupport

@Suite("TLS")
struct TLSTests {
    /// Generates a throw-away self-signed certificate with the openssl CLI.
    static func makeCertificate() throws -> (dir: URL, tls: TLSConfiguration) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cert = dir.appendingPathComponent("cert.pem").path
        let key = dir.appendingPathComponent("key.pem").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ClientError(description: "openssl req failed") }
        return (dir, TLSConfiguration(certificatePath: cert, privateKeyPath: key))
    }

    @Test func tlsRoundTrip_withCurl() async throws {
        let (dir, tls) = try await offPool { try Self.makeCertificate() }
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = TestEnv.config { $0.tls = tls }
        var router = standardRouter()
        router.get("/secure") { request in .text("secure=\(request.isSecure)") }
        try await withServer(config, router: router) { server in
            let base = "https://127.0.0.1:\(server.port)"
            let result = try await curl(["-k", "-v", "--tlsv1.2", "\(base)/secure", "\(base)/hello",
                                         "--next", "-k", "--data-binary", "tls-body", "\(base)/echo"])
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(result.stdout == "secure=truehellotls-body")
            #expect(result.stderr.contains("Re-using existing connection"))
            #expect(result.stderr.contains("TLSv1.3") || result.stderr.contains("TLSv1.2"))
        }
    }

    @Test func tlsLargeBodies_roundTrip() async throws {
        let (dir, tls) = try await offPool { try Self.makeCertificate() }
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = TestEnv.config { $0.tls = tls }
        try await withServer(config, router: standardRouter()) { server in
            let payload = String(repeating: "abcdefghij", count: 100_000)
            let file = dir.appendingPathComponent("payload")
            try payload.write(to: file, atomically: true, encoding: .utf8)
            let result = try await curl(["-k", "--data-binary", "@\(file.path)", "https://127.0.0.1:\(server.port)/echo"])
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(result.stdout.count == payload.count)
            #expect(result.stdout == payload)
        }
    }

    @Test func plaintextClient_onTLSPort_isDropped() async throws {
        let (dir, tls) = try await offPool { try Self.makeCertificate() }
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = TestEnv.config { $0.tls = tls }
        try await withServer(config, router: standardRouter()) { server in
            let client = try RawClient(port: server.port)
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(await client.waitForClose())
            let result = try await curl(["-k", "https://127.0.0.1:\(server.port)/hello"])
            #expect(result.stdout == "hello")
        }
    }

    @Test func tls12Minimum_isEnforced() async throws {
        let (dir, tls) = try await offPool { try Self.makeCertificate() }
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = TestEnv.config { $0.tls = tls }
        try await withServer(config, router: standardRouter()) { server in
            // SECLEVEL=0 lets the *client* offer TLS 1.1, so a refusal can only come from the server.
            let old = try await Self.sClient(port: server.port, version: "-tls1_1")
            #expect(old.status != 0)
            let current = try await Self.sClient(port: server.port, version: "-tls1_2")
            #expect(current.status == 0, "\(current.output)")
            #expect(current.output.contains("Protocol  : TLSv1.2") || current.output.contains("TLSv1.2"))
        }
    }

    static func sClient(port: UInt16, version: String) async throws -> (status: Int32, output: String) {
        try await offPool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = ["s_client", "-connect", "127.0.0.1:\(port)", version,
                                 "-cipher", "DEFAULT:@SECLEVEL=0"]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = out
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
    }

    @Test func missingCertificate_failsToStartWithTLSError() throws {
        let config = TestEnv.config { $0.tls = TLSConfiguration(certificatePath: "/nonexistent.pem", privateKeyPath: "/nope.pem") }
        let server = HTTPServer(configuration: config, router: Router(), logger: TestEnv.quietLogger)
        #expect(throws: TLSError.self) { try server.start() }
    }
}
