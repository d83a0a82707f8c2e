import Foundation
import Synchronization
import Logging
import HTTPServer
import Purification

/// The VAEGuard service: configuration, models, scheduler and metrics behind an `HTTPServer`.
///
/// ```swift
/// let service = try InferenceService(configuration: config, logger: logger)
/// try service.start()           // binds; models load in the background (/readyz says when)
/// await service.waitUntilStopped()
/// ```
public final class InferenceService: Sendable {
    public let configuration: ServiceConfiguration
    public let server: HTTPServer
    let context: ServiceContext

    public var registry: ModelRegistry { context.registry }
    public var scheduler: BatchScheduler { context.scheduler }
    public var metrics: ServiceMetrics { context.metrics }

    public init(configuration: ServiceConfiguration, registry: ModelRegistry? = nil, logger: Logger = Logger(label: "vaeguard")) throws {
        try configuration.validate()
        self.configuration = configuration
        let metrics = ServiceMetrics()
        metrics.preregister(models: configuration.models.entries.map(\.name))
        let b = configuration.batching
        let scheduler = BatchScheduler(settings: .init(
            maxBatchSize: b.maxBatchSize, maxWait: b.maxWaitMilliseconds / 1000, queueCapacity: b.queueCapacity,
            timeout: b.requestTimeoutSeconds, workers: b.workers ?? ProcessInfo.processInfo.activeProcessorCount,
            maxRunTime: b.maxRunSeconds), metrics: metrics)
        context = ServiceContext(configuration: configuration, registry: registry ?? ModelRegistry(configuration: configuration),
                                 scheduler: scheduler, metrics: metrics, logger: logger)
        let middleware: [any Middleware] = [
            MetricsMiddleware(metrics: metrics),
            OpenInferenceErrors(),
            APIKeyAuth(keys: configuration.auth.apiKeys, ratePerSecond: configuration.auth.rateLimitPerSecond,
                       burst: configuration.auth.rateLimitBurst, metrics: metrics),
            LoadShedding(scheduler: scheduler, metrics: metrics),
        ]
        server = HTTPServer(configuration: configuration.httpConfiguration, router: Routes.router(context), middleware: middleware,
                            logger: logger)
        let ctx = context
        server.onDraining { ctx.setDraining() }
    }

    /// Binds the port and starts serving; loads and warms the models on a background thread
    /// unless the registry is already ready.
    public func start() throws {
        try server.start()   // logs "listening" with host, port and TLS
        let logger = context.logger
        logger.notice("security settings", metadata: configuration.securitySummary(port: server.port))
        let registry = context.registry
        guard !registry.isReady else { return }
        Thread.detachNewThread {
            let start = Date()
            do {
                try registry.loadAndWarm()
                for warning in registry.loadWarnings { logger.warning("\(warning)") }
                logger.info("models ready", metadata: ["models": "\(registry.models.map(\.name))",
                                                       "seconds": "\(String(format: "%.2f", Date().timeIntervalSince(start)))"])
            } catch {
                logger.critical("model loading failed", metadata: ["error": "\(error)"])
            }
        }
    }

    public var port: UInt16 { server.port }

    /// Stops accepting, lets in-flight requests finish (up to the grace period), stops workers.
    public func shutdown() async {
        server.beginDraining()
        await server.shutdown(gracePeriod: .milliseconds(Int(configuration.server.shutdownGraceSeconds * 1000)))
        context.scheduler.stop()
    }

    public func waitUntilStopped() async {
        await server.waitUntilStopped()
        context.scheduler.stop()
    }

    /// SIGTERM / SIGINT: drain (readiness turns 503), finish in-flight work, then stop.
    public func installSignalHandlers() {
        server.installSignalHandlers(gracePeriod: .milliseconds(Int(configuration.server.shutdownGraceSeconds * 1000)))
    }
}

/// What every route handler needs; built before the server so handlers can capture it.
final class ServiceContext: Sendable {
    let configuration: ServiceConfiguration
    let registry: ModelRegistry
    let scheduler: BatchScheduler
    let metrics: ServiceMetrics
    let logger: Logger
    let upstream = UpstreamClient()
    /// Decoded pixels held by queued and running requests (`purification.pixelMemoryBudgetBytes`).
    let pixelBudget: MemoryBudget
    /// Where handlers decode, parse and encode, off the cooperative pool.
    let cpu = CPUWorkPool.shared
    private let draining = Atomic<Bool>(false)

    init(configuration: ServiceConfiguration, registry: ModelRegistry, scheduler: BatchScheduler, metrics: ServiceMetrics,
         logger: Logger) {
        self.configuration = configuration
        self.registry = registry
        self.scheduler = scheduler
        self.metrics = metrics
        self.logger = logger
        self.pixelBudget = MemoryBudget(limit: configuration.purification.pixelMemoryBudgetBytes)
    }

    var isDraining: Bool { draining.load(ordering: .acquiring) }
    func setDraining() { draining.store(true, ordering: .releasing) }
}
