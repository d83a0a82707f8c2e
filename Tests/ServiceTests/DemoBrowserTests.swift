import Testing
import Foundation
import Imaging
import Models
@testable import Service

/// The demo page at `/`: served correctly, and working in a real headless Chromium.
///
/// The browser test needs `chromium` (`scripts/install-deps.sh --test` installs it; `$CHROMIUM`
/// may name another binary) and fails, rather than skips, when it is missing. It uses the
/// shipped MNIST models when `models/mnist-classifier.json` and `models/mnist-vae.json` exist,
/// else the tiny stand-in models. `VAEGUARD_DEMO_SCREENSHOT=docs/demo.png` also saves a
/// 1200×900 screenshot of the finished page there.
@Suite("Demo page", .serialized)
struct DemoBrowserTests {
    @Test func page_isServedOpenWithCSPThatAllowsItsOwnInlineCode() async throws {
        try await TestService.with { s in
            let r = try await s.request("GET", "/")
            #expect(r.status == 200)
            #expect(r.header("Content-Type")?.hasPrefix("text/html") == true)
            let html = String(decoding: r.body, as: UTF8.self)
            for id in ["img-original", "img-adversarial", "img-purified", "labels-original", "js-errors", "apikey", "run"] {
                #expect(html.contains("id=\"\(id)\""), "page has #\(id)")
            }
            #expect(!html.contains("http://") && !html.contains("https://"), "the page references no other origin")
            let csp = try #require(r.header("Content-Security-Policy"))
            let script = try #require(Self.between(html, "<script>", "</script>"))
            let style = try #require(Self.between(html, "<style>", "</style>"))
            #expect(csp.contains("script-src '\(DemoPage.cspHash(script))'"))
            #expect(csp.contains("style-src '\(DemoPage.cspHash(style))'"))
            #expect(!csp.contains("unsafe-inline"))
        }
    }

    @Test func samples_areServedAsDecodablePNGs() async throws {
        try await TestService.with { s in
            #expect(DemoSamples.all.count >= 8)
            for sample in DemoSamples.all {
                let r = try await s.request("GET", "/demo/samples/\(sample.name)")
                #expect(r.status == 200 && r.header("Content-Type") == "image/png")
                let image = try ImageDecoder.decode(Array(r.body), maxPixels: 4096)
                #expect(image.width == (sample.model == "mnist" ? 28 : 32))
                #expect(image.channels == (sample.model == "mnist" ? 1 : 3))
            }
            let unknown = try await s.request("GET", "/demo/samples/nope.png").status
            #expect(unknown == 404)
            let traversal = try await s.request("GET", "/demo/samples/..%2Fetc%2Fpasswd").status
            #expect(traversal == 404)
        }
    }

    @Test func page_runsFGSMWithVAEInHeadlessChromium() async throws {
        let chromium = try #require(Chromium.locate(), """
            chromium not found: the demo browser test needs a headless Chromium. Install it with \
            `scripts/install-deps.sh --test` (Debian package 'chromium') or set CHROMIUM=/path/to/chromium.
            """)
        let real = Self.realModelConfiguration()
        let s = try await Self.startService(real ?? TestService.configuration(), loadFromDisk: real != nil)
        do {
            let url = s.base + "/?autorun=1&attack=fgsm&eps=0.2&purifier=vae&seed=1"
            let run = try await Chromium.run(chromium, Chromium.arguments + ["--dump-dom", url], timeout: 150)
            #expect(!run.timedOut, "chromium timed out; stderr: \(run.stderr.suffix(2000))")
            #expect(run.status == 0, "chromium exited with \(run.status); stderr: \(run.stderr.suffix(2000))")
            let dom = run.stdout
            let status = Self.element(dom, id: "status") ?? "(no #status)"
            #expect(dom.contains("data-state=\"done\""), "the page did not finish a run; status: '\(status)', js errors: '\(Self.element(dom, id: "js-errors") ?? "")'")
            for panel in ["original", "adversarial", "purified"] {
                let img = try #require(Self.tag(dom, id: "img-\(panel)"), "no #img-\(panel) in the DOM")
                #expect(img.contains("src=\"data:image/png;base64,"), "#img-\(panel) has no PNG: \(img.prefix(200))")
                let labels = Self.labels(dom, id: "labels-\(panel)")
                #expect(labels.count == 3 && labels.allSatisfy { !$0.isEmpty }, "#labels-\(panel): \(labels)")
                #expect(!(Self.element(dom, id: "score-\(panel)") ?? "").isEmpty, "#score-\(panel) is empty")
            }
            if real != nil {
                #expect(Self.labels(dom, id: "labels-original").first == "7", "the MNIST classifier reads test image 0 as 7")
            }
            let errors = try #require(Self.element(dom, id: "js-errors"), "no #js-errors element")
            #expect(errors.isEmpty, "JavaScript errors: \(errors)")
            let consoleErrors = run.stderr.split(separator: "\n").filter { $0.contains("CONSOLE") && $0.contains("Uncaught") }
            #expect(consoleErrors.isEmpty, "console: \(consoleErrors)")

            if let path = ProcessInfo.processInfo.environment["VAEGUARD_DEMO_SCREENSHOT"], !path.isEmpty {
                let file = URL(fileURLWithPath: path).standardizedFileURL.path
                try? FileManager.default.removeItem(atPath: file)
                let shot = try await Chromium.run(chromium, Chromium.arguments + ["--screenshot=\(file)", "--window-size=1200,900",
                                                                                  "--hide-scrollbars", url], timeout: 150)
                #expect(shot.status == 0 && FileManager.default.fileExists(atPath: file), "screenshot failed: \(shot.stderr.suffix(1000))")
            }
        } catch {
            await s.stop()
            throw error
        }
        await s.stop()
    }

    @Test func page_withAPIKeysConfigured_asksForAKeyWithoutJavaScriptErrors() async throws {
        let chromium = try #require(Chromium.locate(), "chromium not found: install it with `scripts/install-deps.sh --test`")
        var cfg = TestService.configuration()
        cfg.auth.apiKeys = ["s3cret"]
        try await TestService.with(cfg, sockets: true) { s in
            let run = try await Chromium.run(chromium, Chromium.arguments + ["--dump-dom", s.base + "/?autorun=1"], timeout: 150)
            #expect(run.status == 0 && !run.timedOut, "chromium failed: \(run.stderr.suffix(2000))")
            #expect(run.stdout.contains("data-state=\"error\""))
            let status = Self.element(run.stdout, id: "status") ?? ""
            #expect(status.contains("API key"), "status: \(status)")
            #expect(Self.element(run.stdout, id: "js-errors") == "", "JavaScript errors: \(Self.element(run.stdout, id: "js-errors") ?? "?")")
        }
    }

    // MARK: - Service with real or stand-in models

    /// The shipped MNIST models (and CIFAR-10's where present), when the repository has them.
    static func realModelConfiguration() -> ServiceConfiguration? {
        guard let dir = ModelCatalog.locateDirectory() else { return nil }
        func has(_ name: String) -> Bool { FileManager.default.fileExists(atPath: dir.appendingPathComponent(name + ".json").path) }
        guard has("mnist-classifier"), has("mnist-vae") else { return nil }
        var cfg = TestService.configuration()
        cfg.models.directory = dir.path
        cfg.models.defaultModel = "mnist"
        cfg.models.entries = [.init(name: "mnist", classifier: "mnist-classifier", vae: "mnist-vae",
                                    patchVAE: has("patch-vae-gray-16") ? "patch-vae-gray-16" : nil, threshold: 0.02)]
        if has("cifar10-classifier") && has("cifar10-vae") {
            cfg.models.entries.append(.init(name: "cifar10", classifier: "cifar10-classifier", vae: "cifar10-vae",
                                            patchVAE: has("patch-vae-rgb-8") ? "patch-vae-rgb-8" : nil, threshold: 0.01))
        }
        return cfg
    }

    static func startService(_ cfg: ServiceConfiguration, loadFromDisk: Bool) async throws -> TestService {
        guard loadFromDisk else { return try TestService.start(cfg, sockets: true) }
        let service = try InferenceService(configuration: cfg, registry: ModelRegistry(configuration: cfg),
                                           logger: TestService.logger)
        try service.start()   // loads and warms the models on a background thread
        let s = TestService(service: service, overSockets: true)
        let deadline = Date().addingTimeInterval(180)
        while !service.registry.isReady {
            if let failure = service.registry.failure {
                await s.stop()
                Issue.record("loading the shipped models failed: \(failure)")
                throw CancellationError()
            }
            if Date() > deadline {
                await s.stop()
                Issue.record("the shipped models did not load within 180 s")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return s
    }

    // MARK: - DOM helpers (the serialised DOM Chromium dumps)

    static func between(_ text: String, _ open: String, _ close: String) -> String? {
        guard let a = text.range(of: open), let b = text.range(of: close, range: a.upperBound..<text.endIndex) else { return nil }
        return String(text[a.upperBound..<b.lowerBound])
    }

    /// The start tag of the element with `id`.
    static func tag(_ dom: String, id: String) -> String? {
        guard let r = dom.range(of: "id=\"\(id)\"") else { return nil }
        let start = dom[..<r.lowerBound].lastIndex(of: "<") ?? r.lowerBound
        let end = dom[r.upperBound...].firstIndex(of: ">") ?? dom.endIndex
        return String(dom[start..<end])
    }

    /// Text content of the element with `id` (tags stripped, whitespace trimmed).
    static func element(_ dom: String, id: String) -> String? {
        guard let r = dom.range(of: "id=\"\(id)\""), let gt = dom[r.upperBound...].firstIndex(of: ">"),
              let name = tag(dom, id: id)?.dropFirst().prefix(while: { $0.isLetter || $0.isNumber }),
              let close = dom.range(of: "</\(name)>", range: dom.index(after: gt)..<dom.endIndex) else { return nil }
        return stripTags(String(dom[dom.index(after: gt)..<close.lowerBound]))
    }

    /// The `.label` texts inside the list with `id`.
    static func labels(_ dom: String, id: String) -> [String] {
        guard let r = dom.range(of: "id=\"\(id)\""), let close = dom.range(of: "</ol>", range: r.upperBound..<dom.endIndex) else { return [] }
        let list = dom[r.upperBound..<close.lowerBound]
        return list.components(separatedBy: "class=\"label\">").dropFirst().map {
            stripTags(String($0.prefix { $0 != "<" }))
        }
    }

    static func stripTags(_ s: String) -> String {
        var out = "", inTag = false
        for c in s {
            if c == "<" { inTag = true } else if c == ">" { inTag = false } else if !inTag { out.append(c) }
        }
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Runs headless Chromium as a child process.
enum Chromium {
    /// `$CHROMIUM`, else the first of chromium, chromium-browser, google-chrome on `$PATH`.
    static func locate() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let explicit = env["CHROMIUM"], !explicit.isEmpty { return FileManager.default.isExecutableFile(atPath: explicit) ? explicit : nil }
        let path = (env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            for dir in path where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") { return "\(dir)/\(name)" }
        }
        return nil
    }

    /// Headless flags for a container (root: no sandbox). The virtual-time budget lets the
    /// page's fetches and timers finish before the DOM is dumped or the screenshot taken;
    /// console messages go to stderr.
    static let arguments = [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--no-default-browser-check", "--disable-extensions", "--disable-background-networking", "--disable-sync",
        "--enable-logging=stderr", "--v=0", "--virtual-time-budget=60000",
    ]

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var timedOut: Bool
    }

    static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval) async throws -> Result {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("vaeguard-chromium-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
        _ = fm.createFile(atPath: out.path, contents: nil)
        _ = fm.createFile(atPath: err.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--user-data-dir=\(dir.appendingPathComponent("profile").path)"] + arguments
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        let timedOut = Flag()
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in c.resume() }
            do { try process.run() } catch {
                process.terminationHandler = nil
                c.resume(throwing: error)
                return
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                if process.isRunning {
                    timedOut.set()
                    process.terminate()
                }
            }
        }
        try? outHandle.close()
        try? errHandle.close()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: (try? Data(contentsOf: out)) ?? Data(), as: UTF8.self),
                      stderr: String(decoding: (try? Data(contentsOf: err)) ?? Data(), as: UTF8.self),
                      timedOut: timedOut.value)
    }

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var flag = false
        func set() { lock.withLock { flag = true } }
        var value: Bool { lock.withLock { flag } }
    }
}
