import ArgumentParser
import Foundation
import Logging
import Engine
import CSupport
import Service

/// `vaeguard serve`: the inference service.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the purify-then-classify API (v1, Open Inference Protocol v2, health, metrics).",
        discussion: "Configuration: --config FILE (else $VAEGUARD_CONFIG, else config/vaeguard.json when present), then VAEGUARD_* environment variables (every key, see config/README.md), then these flags.")

    @Option(help: "Configuration file (JSON; keys in config/README.md).")
    var config: String?

    @Option(help: "Address to bind (default 0.0.0.0).")
    var host: String?

    @Option(help: "Port (default 8080; 0 picks a free one).")
    var port: Int?

    @Option(help: "Models folder (default: the shipped models/).")
    var models: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Option(help: "Log format: json or text.")
    var logFormat: String?

    func run() async throws {
        // Before the first log line: a closed stdout/stderr (`| head -1`) must fail writes
        // with EPIPE, which the log handlers count, instead of killing the server.
        vg_ignore_sigpipe()
        var cfg = try ServiceConfiguration.resolve(file: config)
        if let host { cfg.server.host = host }
        if let port { cfg.server.port = port }
        if let models { cfg.models.directory = models }
        if let logLevel { cfg.logging.level = logLevel }
        if let logFormat { cfg.logging.format = logFormat }
        do { try cfg.validate() } catch { throw ValidationError(error.description) }
        LogSetup.bootstrap(cfg.logging)
        let logger = Logger(label: "vaeguard")
        logger.info("starting", metadata: ["version": "\(VAEGuardVersion.string)", "blas": "\(BLASRuntime.summary)",
                                           "cpu": "\(CPUInfo.current.brand)"])
        // The scheduler runs one request per core; each GEMM then uses one thread.
        BLASRuntime.setThreadCount(1)
        let service = try InferenceService(configuration: cfg, logger: logger)
        try service.start()
        service.installSignalHandlers()
        print("vaeguard listening on \(cfg.server.tlsCertificate == nil ? "http" : "https")://\(cfg.server.host):\(service.port)")
        await service.waitUntilStopped()
        logger.info("stopped")
    }
}

extension ServiceConfiguration {
    /// The file given, else `$VAEGUARD_CONFIG`, else `config/vaeguard.json` when it exists,
    /// else defaults; then the environment.
    static func resolve(file given: String?) throws -> ServiceConfiguration {
        var cfg = ServiceConfiguration()
        let fromEnvironment = ProcessInfo.processInfo.environment[ServiceConfiguration.configFileVariable].flatMap { $0.isEmpty ? nil : $0 }
        if let file = given ?? fromEnvironment {
            cfg = try ServiceConfiguration.load(path: file)
        } else if FileManager.default.fileExists(atPath: "config/vaeguard.json") {
            cfg = try ServiceConfiguration.load(path: "config/vaeguard.json")
        }
        try cfg.applyEnvironment()
        return cfg
    }
}

enum LogSetup {
    static func bootstrap(_ settings: ServiceConfiguration.Logging) {
        let level = Logger.Level(rawValue: settings.level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = LineLogHandler(label: label, format: settings.format == "text" ? .text : .json)
            handler.logLevel = level
            return handler
        }
    }
}
