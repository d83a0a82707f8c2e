import Foundation

/// The standard Prometheus process metrics (the names every client library exports, so
/// existing dashboards and alerts work), read from `/proc` at each scrape.
struct ProcessMetrics: Equatable {
    var cpuSeconds: Double
    var startTimeSeconds: Double
    var residentBytes: Double
    var virtualBytes: Double
    var openFDs: Int
    var maxFDs: Int

    /// This process now; zeros where `/proc` cannot be read (not Linux).
    static func current() -> ProcessMetrics {
        let stat = (try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8)) ?? ""
        let procStat = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)) ?? ""
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        var limit = rlimit()
        let maxFDs = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? Int(clamping: limit.rlim_cur) : 0
        return parse(stat: stat, procStat: procStat, openFDs: fds, maxFDs: maxFDs,
                     ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))), pageSize: Double(sysconf(Int32(_SC_PAGESIZE))))
    }

    /// From the text of `/proc/self/stat` and `/proc/stat` (proc(5)). The command name, field
    /// 2, may hold spaces and parentheses, so fields are counted from its last `)`.
    static func parse(stat: String, procStat: String, openFDs: Int, maxFDs: Int, ticksPerSecond: Double,
                      pageSize: Double) -> ProcessMetrics {
        let after = stat.lastIndex(of: ")").map { stat[stat.index(after: $0)...] } ?? ""
        // fields[0] is field 3 (state), so field k is fields[k - 3].
        let fields = after.split(separator: " ").map { Double($0) ?? 0 }
        func field(_ k: Int) -> Double { fields.indices.contains(k - 3) ? fields[k - 3] : 0 }
        let ticks = ticksPerSecond > 0 ? ticksPerSecond : 100
        let bootTime = procStat.split(separator: "\n").first { $0.hasPrefix("btime ") }
            .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        return ProcessMetrics(cpuSeconds: (field(14) + field(15)) / ticks, startTimeSeconds: bootTime + field(22) / ticks,
                              residentBytes: field(24) * pageSize, virtualBytes: field(23), openFDs: openFDs, maxFDs: maxFDs)
    }

    /// The metrics in text exposition format, `# HELP` and `# TYPE` included.
    func exposition() -> [UInt8] {
        let families: [(String, String, String, Double)] = [
            ("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpuSeconds),
            ("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", startTimeSeconds),
            ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", residentBytes),
            ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", virtualBytes),
            ("process_open_fds", "gauge", "Number of open file descriptors.", Double(openFDs)),
            ("process_max_fds", "gauge", "Maximum number of open file descriptors.", Double(maxFDs)),
        ]
        var text = ""
        for (name, type, help, value) in families {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(Self.format(value))\n"
        }
        return Array(text.utf8)
    }

    /// Integral values without an exponent or fraction (`1733550000`, not `1.73355e+09`).
    static func format(_ v: Double) -> String {
        v.rounded() == v && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}
