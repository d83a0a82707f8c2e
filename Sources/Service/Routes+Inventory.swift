import Foundation
import Logging
import HTTPServer

extension Routes {
    /// The routes `router(_:)` registers, as `(method, path)` with `:name` parameters, read
    /// from a router built with `configuration` (nothing is bound or loaded; the scheduler's
    /// threads are stopped before returning). Used by the test that keeps docs/openapi.yaml
    /// in step with the code, so the list cannot drift from the real registrations.
    static func inventory(configuration: ServiceConfiguration = ServiceConfiguration()) -> [(method: String, path: String)] {
        let scheduler = BatchScheduler(settings: .init(maxBatchSize: 1, maxWait: 0, queueCapacity: 1, timeout: 1, workers: 1))
        defer { scheduler.stop() }
        let ctx = ServiceContext(configuration: configuration, registry: ModelRegistry(configuration: configuration),
                                 scheduler: scheduler, metrics: ServiceMetrics(), logger: Logger(label: "vaeguard.inventory"))
        return router(ctx).registeredRoutes.map { (method: $0.method.rawValue, path: $0.pattern) }
    }
}
