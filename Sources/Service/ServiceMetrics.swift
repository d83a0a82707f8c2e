import Foundation
import Prometheus

/// The service's Prometheus metrics, exported at `/metrics` by swift-prometheus's registry,
/// every family with `# HELP` text, followed by the standard `process_*` metrics
/// (`ProcessMetrics`). Counters that alerts take a `rate()` of exist from the first scrape,
/// at 0, for every label value they can have (`preregister`).
///
/// One registry per process, shared by every service instance (tests start several).
public final class ServiceMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    private static let shared = PrometheusCollectorRegistry()

    /// Every `vaeguard_rejected_requests_total` reason.
    static let rejectionReasons = ["unauthorized", "rate_limited", "queue_full", "deadline", "stopping", "upstream_error"]
    /// Every `vaeguard_upstream_request_duration_seconds` outcome: the upstream answered
    /// (below 500), answered 5xx, did not answer in time, or could not be reached.
    static let upstreamOutcomes = ["ok", "http_5xx", "timeout", "unreachable"]

    static let durationBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    /// Help text by family; one place, since the registry refuses a second, different text.
    static let help: [String: String] = [
        "vaeguard_http_requests_total": "HTTP requests answered, by route pattern, method and status.",
        "vaeguard_http_request_duration_seconds": "Time from a parsed request to its response, by route pattern.",
        "vaeguard_purify_duration_seconds": "Time the purifier took per batch, by model.",
        "vaeguard_classify_duration_seconds": "Time the classifier took per batch, by model.",
        "vaeguard_attack_duration_seconds": "Time /v1/attack spent attacking, by model.",
        "vaeguard_batch_size": "Images per batch the inference threads ran.",
        "vaeguard_queue_depth": "Jobs waiting for an inference thread.",
        "vaeguard_rejected_requests_total": "Requests refused before inference, by reason.",
        "vaeguard_reconstruction_error": "Per-image reconstruction error (mean squared) of the purifier, by model.",
        "vaeguard_suspected_adversarial_total": "Images whose reconstruction error exceeded the model's threshold, by model.",
        "vaeguard_images_purified_total": "Images purified, by model and purifier.",
        "vaeguard_upstream_request_duration_seconds": "Time the upstream classifier took, by outcome (ok, http_5xx, timeout, unreachable).",
        "vaeguard_build_info": "Always 1; the labels say which VAEGuard build runs.",
    ]

    public init() {
        registry = Self.shared
        registry.makeGauge(name: "vaeguard_build_info", labels: [("version", VAEGuardVersion.string)],
                           help: Self.help["vaeguard_build_info"]!).set(Double(1))
        for reason in Self.rejectionReasons { _ = counter("vaeguard_rejected_requests_total", [("reason", reason)]) }
        for outcome in Self.upstreamOutcomes { _ = duration("vaeguard_upstream_request_duration_seconds", [("outcome", outcome)]) }
        _ = gauge("vaeguard_queue_depth")
    }

    /// Creates the per-model series at 0, so a fresh server already exports them.
    func preregister(models: [String]) {
        for m in models { _ = counter("vaeguard_suspected_adversarial_total", [("model", m)]) }
    }

    /// Prometheus text exposition (format 0.0.4): the registry, the process metrics, and the
    /// process-wide log drop counter (`LogOutput` counts on its own, so it works before any
    /// metrics object exists).
    public func render() -> [UInt8] {
        registry.emitToBuffer() + ProcessMetrics.current().exposition() + Array(LogOutput.prometheusText().utf8)
    }

    func request(route: String, method: String, status: Int, duration: Duration) {
        counter("vaeguard_http_requests_total", [("route", route), ("method", method), ("status", String(status))]).increment()
        self.duration("vaeguard_http_request_duration_seconds", [("route", route)]).record(duration)
    }

    func stage(_ stage: String, model: String, duration: Duration) {
        self.duration("vaeguard_\(stage)_duration_seconds", [("model", model)]).record(duration)
    }

    func batchSize(_ n: Int) {
        value("vaeguard_batch_size", [], buckets: [1, 2, 4, 8, 16, 32, 64, 128]).record(Double(n))
    }

    func queueDepth(_ n: Int) { gauge("vaeguard_queue_depth").set(Double(n)) }

    func rejected(reason: String) { counter("vaeguard_rejected_requests_total", [("reason", reason)]).increment() }

    func scored(model: String, error: Float, suspected: Bool) {
        value("vaeguard_reconstruction_error", [("model", model)], buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2])
            .record(Double(error))
        let suspects = counter("vaeguard_suspected_adversarial_total", [("model", model)])
        if suspected { suspects.increment() }
    }

    func purified(model: String, purifier: String, count: Int = 1) {
        counter("vaeguard_images_purified_total", [("model", model), ("purifier", purifier)]).increment(by: Int64(count))
    }

    func upstream(outcome: String, duration: Duration) {
        self.duration("vaeguard_upstream_request_duration_seconds", [("outcome", outcome)]).record(duration)
    }

    // MARK: - Families with their help text

    private func counter(_ name: String, _ labels: [(String, String)]) -> Counter {
        registry.makeCounter(name: name, labels: labels, help: Self.help[name] ?? "")
    }

    private func gauge(_ name: String) -> Gauge { registry.makeGauge(name: name, help: Self.help[name] ?? "") }

    private func duration(_ name: String, _ labels: [(String, String)]) -> DurationHistogram {
        registry.makeDurationHistogram(name: name, labels: labels, buckets: Self.durationBuckets, help: Self.help[name] ?? "")
    }

    private func value(_ name: String, _ labels: [(String, String)], buckets: [Double]) -> ValueHistogram {
        labels.isEmpty
            ? registry.makeValueHistogram(name: name, buckets: buckets, help: Self.help[name] ?? "")
            : registry.makeValueHistogram(name: name, labels: labels, buckets: buckets, help: Self.help[name] ?? "")
    }
}

extension Duration {
    var nanosecondsClamped: Int64 {
        let (s, atto) = components
        return s >= Int64.max / 1_000_000_000 ? .max : s * 1_000_000_000 + atto / 1_000_000_000
    }
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
