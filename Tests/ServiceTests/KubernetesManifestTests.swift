import Testing
import Foundation
@testable import Service
import TestSupport

/// Checks deploy/kubernetes/*.yaml: they parse as YAML (with Python's PyYAML, run as a
/// subprocess, so the package needs no YAML dependency) and hold the fields the deployment
/// relies on, cross-checked against the service's own routes and configuration.
@Suite("deploy/kubernetes manifests")
struct KubernetesManifestTests {
    static var directory: URL {
        URL(fileURLWithPath: #filePath)               // Tests/ServiceTests/KubernetesManifestTests.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/kubernetes")
    }

    static let files = ["deployment.yaml", "service.yaml", "hpa.yaml"]

    /// Parses every file with `yaml.safe_load_all` and prints `{file: [documents]}` as JSON.
    static let script = """
    import json, sys
    try:
        import yaml
    except ImportError as e:
        sys.stderr.write("PyYAML is not installed: %s\\n" % e)
        sys.exit(3)
    out = {}
    for path in sys.argv[1:]:
        with open(path) as f:
            out[path.rsplit("/", 1)[-1]] = list(yaml.safe_load_all(f))
    json.dump(out, sys.stdout)
    """

    /// The parsed documents per file, or nil after recording why they could not be parsed
    /// (python3 or PyYAML missing, a syntax error): never a silent pass.
    static func loadBlocking() -> (documents: [String: [Any]]?, failure: String?) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + files.map { directory.appendingPathComponent($0).path }
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        do { try process.run() } catch {
            return (nil, "cannot run /usr/bin/env python3: \(error)")
        }
        // Read before waiting so a full pipe cannot block the child.
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        switch process.terminationStatus {
        case 0: break
        case 127:
            return (nil, "python3 is not on PATH; it is needed to check the manifests' YAML syntax. \(err)")
        case 3:
            return (nil, "PyYAML is missing (pip install pyyaml); it is needed to check the manifests. \(err)")
        default:
            return (nil, "YAML parsing failed (exit \(process.terminationStatus)): \(err)")
        }
        guard let parsed = (try? JSONSerialization.jsonObject(with: out)) as? [String: [Any]] else {
            return (nil, "unexpected output from the YAML parser: \(String(decoding: out.prefix(500), as: UTF8.self))")
        }
        return (parsed, nil)
    }

    /// Follows keys (String) and indices (Int) into parsed YAML.
    static func at(_ value: Any?, _ path: Any...) -> Any? {
        var current = value
        for step in path {
            if let key = step as? String { current = (current as? [String: Any])?[key] }
            else if let i = step as? Int, let array = current as? [Any], array.indices.contains(i) { current = array[i] }
            else { return nil }
        }
        return current
    }

    /// Runs the parser on its own thread: a blocking `waitUntilExit` on Swift's cooperative
    /// pool (2 threads on a 2-core machine) would stall every other test's server.
    static func load() async -> [String: [Any]]? {
        guard let box = try? await offPool({ ResultBox(loadBlocking()) }) else { return nil }
        if let failure = box.value.failure { Issue.record(Comment(rawValue: failure)) }
        return box.value.documents
    }

    final class ResultBox: @unchecked Sendable {
        let value: (documents: [String: [Any]]?, failure: String?)
        init(_ value: (documents: [String: [Any]]?, failure: String?)) { self.value = value }
    }

    /// One document per file, each with `apiVersion` and `kind`.
    static func documents() async throws -> (deployment: Any, service: Any, hpa: Any)? {
        guard let parsed = await load() else { return nil }
        for file in files {
            let docs = parsed[file]?.filter { !($0 is NSNull) } ?? []
            #expect(docs.count == 1, "\(file): expected one YAML document, got \(docs.count)")
            for doc in docs {
                #expect(at(doc, "apiVersion") is String, "\(file): apiVersion missing")
                #expect(at(doc, "kind") is String, "\(file): kind missing")
                #expect(at(doc, "metadata", "name") is String, "\(file): metadata.name missing")
            }
        }
        guard let d = parsed["deployment.yaml"]?.first, let s = parsed["service.yaml"]?.first, let h = parsed["hpa.yaml"]?.first else {
            Issue.record("a manifest is empty")
            return nil
        }
        return (d, s, h)
    }

    static func int(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue ?? (value as? Int) }

    // MARK: - Tests

    @Test func manifests_parseAsYAML_withKindAndAPIVersion() async throws {
        guard let docs = try await Self.documents() else { return }
        #expect(Self.at(docs.deployment, "apiVersion") as? String == "apps/v1")
        #expect(Self.at(docs.deployment, "kind") as? String == "Deployment")
        #expect(Self.at(docs.service, "apiVersion") as? String == "v1")
        #expect(Self.at(docs.service, "kind") as? String == "Service")
        #expect(Self.at(docs.hpa, "apiVersion") as? String == "autoscaling/v2")
        #expect(Self.at(docs.hpa, "kind") as? String == "HorizontalPodAutoscaler")
    }

    @Test func deployment_probesPortsResourcesAndSecurity() async throws {
        guard let docs = try await Self.documents() else { return }
        let d = docs.deployment
        let spec = Self.at(d, "spec", "template", "spec")
        let container = Self.at(spec, "containers", 0)
        #expect(Self.at(container, "image") as? String == "vaeguard:latest")

        // Port 8080, also where probes name the port.
        let ports = Self.at(container, "ports") as? [Any] ?? []
        let named = Dictionary(ports.compactMap { p in (Self.at(p, "name") as? String).map { ($0, Self.int(Self.at(p, "containerPort"))) } },
                               uniquingKeysWith: { a, _ in a })
        #expect(ports.contains { Self.int(Self.at($0, "containerPort")) == 8080 }, "containerPort 8080 missing")
        func port(_ probe: String) -> Int? {
            let p = Self.at(container, probe, "httpGet", "port")
            return Self.int(p) ?? (p as? String).flatMap { named[$0] ?? nil }
        }
        #expect(Self.at(container, "livenessProbe", "httpGet", "path") as? String == "/healthz")
        #expect(Self.at(container, "readinessProbe", "httpGet", "path") as? String == "/readyz")
        #expect(Self.at(container, "startupProbe", "httpGet", "path") as? String == "/healthz")
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
            #expect(port(probe) == 8080, "\(probe) must target port 8080")
        }
        let startup = (Self.int(Self.at(container, "startupProbe", "periodSeconds")) ?? 10)
            * (Self.int(Self.at(container, "startupProbe", "failureThreshold")) ?? 3)
        #expect(startup >= 30, "the startup probe should allow model loading at least 30 s, allows \(startup) s")

        // The probe paths are real routes that need no API key.
        let routes = Set(Routes.inventory().map { "\($0.method) \($0.path)" })
        for path in ["/healthz", "/readyz"] {
            #expect(routes.contains("GET \(path)"), "\(path) is not a registered route")
            #expect(RouteAccess.isPublic(method: .get, route: path), "\(path) must stay open for the kubelet")
        }

        #expect(Self.at(container, "resources", "requests", "cpu") as? String == "1")
        #expect(Self.at(container, "resources", "requests", "memory") as? String == "256Mi")
        #expect(Self.at(container, "resources", "limits", "cpu") as? String == "2")
        #expect(Self.at(container, "resources", "limits", "memory") as? String == "1Gi")

        let env = Self.at(container, "env") as? [Any] ?? []
        let keys = env.first { Self.at($0, "name") as? String == "VAEGUARD_API_KEYS" }
        #expect(Self.at(keys, "valueFrom", "secretKeyRef", "name") is String, "VAEGUARD_API_KEYS must come from a Secret")
        #expect(Self.at(keys, "valueFrom", "secretKeyRef", "optional") as? Bool == true)

        let podSecurity = Self.at(spec, "securityContext"), security = Self.at(container, "securityContext")
        #expect((Self.at(security, "runAsNonRoot") ?? Self.at(podSecurity, "runAsNonRoot")) as? Bool == true)
        #expect(Self.int(Self.at(security, "runAsUser") ?? Self.at(podSecurity, "runAsUser")) == 10001)
        #expect(Self.at(security, "readOnlyRootFilesystem") as? Bool == true)
        #expect(Self.at(security, "allowPrivilegeEscalation") as? Bool == false)

        // Kubernetes must wait longer than the server's own drain.
        let grace = Self.int(Self.at(spec, "terminationGracePeriodSeconds"))
        #expect(grace == 20)
        #expect(Double(grace ?? 0) > ServiceConfiguration().server.shutdownGraceSeconds)

        // The selector selects the pod template.
        let selector = Self.at(d, "spec", "selector", "matchLabels") as? [String: Any] ?? [:]
        let labels = Self.at(d, "spec", "template", "metadata", "labels") as? [String: Any] ?? [:]
        #expect(!selector.isEmpty)
        for (k, v) in selector { #expect(labels[k] as? String == v as? String, "template label \(k) must match the selector") }
    }

    @Test func service_mapsPort80ToTheContainerPort() async throws {
        guard let docs = try await Self.documents() else { return }
        let s = docs.service
        #expect(Self.at(s, "spec", "type") as? String == "ClusterIP")
        let port = Self.at(s, "spec", "ports", 0)
        #expect(Self.int(Self.at(port, "port")) == 80)
        let container = Self.at(docs.deployment, "spec", "template", "spec", "containers", 0)
        let ports = Self.at(container, "ports") as? [Any] ?? []
        let target = Self.at(port, "targetPort")
        let resolved = Self.int(target) ?? ports.first { Self.at($0, "name") as? String == target as? String }
            .flatMap { Self.int(Self.at($0, "containerPort")) }
        #expect(resolved == 8080, "targetPort \(String(describing: target)) must reach containerPort 8080")
        let selector = Self.at(s, "spec", "selector") as? [String: Any] ?? [:]
        let labels = Self.at(docs.deployment, "spec", "template", "metadata", "labels") as? [String: Any] ?? [:]
        #expect(!selector.isEmpty)
        for (k, v) in selector { #expect(labels[k] as? String == v as? String, "Service selector \(k) must match the pods") }
    }

    @Test func hpa_targetsTheDeploymentOnCPU() async throws {
        guard let docs = try await Self.documents() else { return }
        let h = docs.hpa
        #expect(Self.at(h, "spec", "scaleTargetRef", "kind") as? String == "Deployment")
        #expect(Self.at(h, "spec", "scaleTargetRef", "apiVersion") as? String == "apps/v1")
        #expect(Self.at(h, "spec", "scaleTargetRef", "name") as? String == Self.at(docs.deployment, "metadata", "name") as? String)
        #expect(Self.int(Self.at(h, "spec", "minReplicas")) == 2)
        #expect(Self.int(Self.at(h, "spec", "maxReplicas")) == 10)
        let metric = Self.at(h, "spec", "metrics", 0)
        #expect(Self.at(metric, "type") as? String == "Resource")
        #expect(Self.at(metric, "resource", "name") as? String == "cpu")
        #expect(Self.at(metric, "resource", "target", "type") as? String == "Utilization")
        #expect(Self.int(Self.at(metric, "resource", "target", "averageUtilization")) == 70)
        // CPU utilization needs a CPU request to be measured against.
        #expect(Self.at(docs.deployment, "spec", "template", "spec", "containers", 0, "resources", "requests", "cpu") != nil)
    }
}
