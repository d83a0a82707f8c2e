import Testing
import Foundation
@testable import Service

/// /metrics as an operator's Prometheus sees it (issue 17, defect 6). The Python client
/// suite (Tests/python/test_metrics.py) also runs prometheus_client's parser over it.
@Suite("Metrics exposition")
struct MetricsExpositionTests {
    /// Every family has `# HELP` and `# TYPE`; process and build-info metrics and the
    /// alerting counters are there on the very first scrape, before any request.
    @Test func firstScrape_hasHelpProcessBuildInfoAndZeroCounters() async throws {
        try await TestService.with { s in
            let text = String(decoding: try await s.request("GET", "/metrics").body, as: UTF8.self)
            let lines = text.split(separator: "\n")
            let typed = lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
            let helped = Set(lines.filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
            #expect(!typed.isEmpty)
            for family in typed { #expect(helped.contains(family), "no HELP for \(family)") }
            for name in ["process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total",
                         "process_start_time_seconds", "process_virtual_memory_bytes", "vaeguard_build_info"] {
                #expect(typed.contains(Substring(name)), "\(name) missing")
            }
            #expect(text.contains(#"vaeguard_build_info{version="\#(VAEGuardVersion.string)"} 1"#))
            for reason in ServiceMetrics.rejectionReasons {
                #expect(text.contains(#"vaeguard_rejected_requests_total{reason="\#(reason)"}"#), "\(reason)")
            }
            #expect(text.contains(#"vaeguard_suspected_adversarial_total{model="toy"}"#))
            let rss = lines.first { $0.hasPrefix("process_resident_memory_bytes ") }.flatMap { Double($0.split(separator: " ")[1]) } ?? 0
            #expect(rss > 1_000_000)
        }
    }

    /// proc(5) fields are counted from the last ')': a command name with spaces and ')' must
    /// not shift them.
    @Test func procStat_isParsedPastTheCommandName() {
        let stat = "4242 (a b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 12000 104857600 2560 18446744073709551615"
        let m = ProcessMetrics.parse(stat: stat, procStat: "cpu 1 2 3\nbtime 1700000000\n", openFDs: 7, maxFDs: 1024,
                                     ticksPerSecond: 100, pageSize: 4096)
        #expect(m == ProcessMetrics(cpuSeconds: 3, startTimeSeconds: 1_700_000_120, residentBytes: 2560 * 4096,
                                    virtualBytes: 104_857_600, openFDs: 7, maxFDs: 1024))
    }
}
