import Foundation
import Metrics
import CoreMetrics
import Prometheus

/// The service's Prometheus metrics, recorded through swift-metrics and exported by
/// swift-prometheus at `/metrics`.
///
/// swift-metrics has one global backend per process; `bootstrap()` installs ours once, and
/// every service instance in the process (tests start several) shares its registry.
public final class ServiceMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    private static let shared: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        factory.valueHistogramBuckets["vaeguard_batch_size"] = [1, 2, 4, 8, 16, 32, 64, 128]
        factory.valueHistogramBuckets["vaeguard_reconstruction_error"] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    public init() { registry = Self.shared }

    /// Prometheus text exposition.
    /// Prometheus text exposition: the registry, plus the process-wide log drop counter
    /// (`LogOutput` counts without swift-metrics, so it works before the backend exists).
    public func render() -> [UInt8] { registry.emitToBuffer() + Array(LogOutput.prometheusText().utf8) }

    func request(route: String, method: String, status: Int, duration: Duration) {
        Counter(label: "vaeguard_http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))])
            .increment()
        Metrics.Timer(label: "vaeguard_http_request_duration_seconds", dimensions: [("route", route)])
            .recordNanoseconds(duration.nanosecondsClamped)
    }

    func stage(_ stage: String, model: String, duration: Duration) {
        Metrics.Timer(label: "vaeguard_\(stage)_duration_seconds", dimensions: [("model", model)])
            .recordNanoseconds(duration.nanosecondsClamped)
    }

    func batchSize(_ n: Int) { Recorder(label: "vaeguard_batch_size", aggregate: true).record(n) }
    func queueDepth(_ n: Int) { Gauge(label: "vaeguard_queue_depth").record(n) }
    func rejected(reason: String) { Counter(label: "vaeguard_rejected_requests_total", dimensions: [("reason", reason)]).increment() }

    func scored(model: String, error: Float, suspected: Bool) {
        Recorder(label: "vaeguard_reconstruction_error", dimensions: [("model", model)], aggregate: true).record(Double(error))
        if suspected { Counter(label: "vaeguard_suspected_adversarial_total", dimensions: [("model", model)]).increment() }
    }

    func purified(model: String, purifier: String) {
        Counter(label: "vaeguard_images_purified_total", dimensions: [("model", model), ("purifier", purifier)]).increment()
    }
}

extension Duration {
    var nanosecondsClamped: Int64 {
        let (s, atto) = components
        return s >= Int64.max / 1_000_000_000 ? .max : s * 1_000_000_000 + atto / 1_000_000_000
    }
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
