// swift-tools-version: 6.2
// VAEGuard: adversarial-defense inference service (Luo & Pfister, arXiv 1812.02891, and beyond).
//
// One module per concern. Each line below is a library target and its direct dependencies
// (the targets' `dependencies:`); every `import` in Sources/ is one of them, and
// scripts/check-imports.py checks both claims (run by `make test`).
//
//   CSupport         ← CPNG, CJPEG, CZlib       (C shims: CBLAS, CPNG, CJPEG, CZlib, COpenSSL)
//   Engine           ← CBLAS, CSupport          tensor, GEMM, im2col, RNG, BLAS set-up
//   NeuralNet        ← Engine, COpenSSL         layers, losses, optimisers, model files
//   Datasets         ← Engine, CZlib            MNIST / CIFAR-10 readers, batching
//   Models           ← NeuralNet                the paper's architectures, model catalog
//   Imaging          ← CSupport                 PNG/JPEG codecs, colour conversion, resizing
//   Purification     ← Engine, NeuralNet, Models, Imaging
//                                               VAE, patch VAE, JPEG purifiers; DefendedModel
//   Attacks          ← Engine, NeuralNet, Purification
//                                               FGSM, I-FGSM, PGD, CW, APGD, Square; oblivious/EOT/BPDA targets
//   Certification    ← Engine, NeuralNet, Purification
//                                               randomized smoothing: PREDICT, CERTIFY, statistics
//   Training         ← Engine, NeuralNet, Datasets, Models, Imaging, Purification, Attacks, CSupport
//                                               trainers (adversarial, guided VAE), checkpoints, progress
//   Evaluation       ← Engine, NeuralNet, Datasets, Models, Purification, Attacks, Certification
//                                               the harness: grids, strong suite, detection, certified accuracy, reports
//   HTTPServer       ← COpenSSL, Logging        HTTP/1.1 on POSIX sockets + Dispatch, optional TLS
//   Service          ← HTTPServer, Engine, NeuralNet, Models, Imaging, Purification, Attacks, Certification,
//                      COpenSSL, CSupport, Logging, Metrics, Prometheus
//                                               routes, batching, metrics, configuration
//   VAEGuardCommands ← Engine, NeuralNet, Datasets, Models, Imaging, Purification, Attacks, Certification,
//                      Training, Evaluation, Service, CSupport, CPNG, CJPEG, CZlib, COpenSSL,
//                      ArgumentParser, Logging
//                                               the `vaeguard` command tree (swift-argument-parser)
//   VAEGuardCLI      ← VAEGuardCommands, Engine, CSupport
//                                               executable `vaeguard` (only `main`)
//
// The server and the trainers link the attack algorithms (Attacks), never the evaluation
// harness (Evaluation), which only the command line links.
//
// Benchmarks live in Benchmarks/ and are only added when VAEGUARD_BENCHMARKS is set,
// so normal builds never pull in package-benchmark.

import PackageDescription
import class Foundation.ProcessInfo

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]

let systemLibraries: [Target] = [
    .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                   providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CPNG", pkgConfig: "libpng16",
                   providers: [.apt(["libpng-dev"])]),
    .systemLibrary(name: "CJPEG", pkgConfig: "libturbojpeg",
                   providers: [.apt(["libturbojpeg0-dev", "libjpeg62-turbo-dev"])]),
    .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                   providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(name: "COpenSSL", pkgConfig: "openssl",
                   providers: [.apt(["libssl-dev"])]),
]

var package = Package(
    name: "VAEGuard",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vaeguard", targets: ["VAEGuardCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
    ],
    targets: systemLibraries + [
        // C helpers that Swift cannot express: cpuid, and the setjmp/longjmp error
        // handling of libpng and libjpeg, kept in C so a corrupt file becomes a status code.
        .target(name: "CSupport", dependencies: ["CPNG", "CJPEG", "CZlib"]),

        .target(name: "Engine", dependencies: ["CBLAS", "CSupport"], swiftSettings: swiftSettings),
        .target(name: "NeuralNet", dependencies: ["Engine", "COpenSSL"], swiftSettings: swiftSettings),
        .target(name: "Datasets", dependencies: ["Engine", "CZlib"], swiftSettings: swiftSettings),
        .target(name: "Models", dependencies: ["NeuralNet"], swiftSettings: swiftSettings),
        .target(name: "Training", dependencies: ["Engine", "NeuralNet", "Datasets", "Models", "Imaging", "Purification", "Attacks", "CSupport"],
                swiftSettings: swiftSettings),
        .target(name: "Imaging", dependencies: ["CSupport"], swiftSettings: swiftSettings),
        .target(name: "Purification", dependencies: ["Engine", "NeuralNet", "Models", "Imaging"], swiftSettings: swiftSettings),
        .target(name: "Attacks", dependencies: ["Engine", "NeuralNet", "Purification"], swiftSettings: swiftSettings),
        .target(name: "Certification", dependencies: ["Engine", "NeuralNet", "Purification"], swiftSettings: swiftSettings),
        .target(name: "Evaluation", dependencies: [
            "Engine", "NeuralNet", "Datasets", "Models", "Purification", "Attacks", "Certification",
        ], swiftSettings: swiftSettings),
        .target(name: "HTTPServer", dependencies: [
            "COpenSSL",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),
        .target(name: "Service", dependencies: [
            "HTTPServer", "Engine", "NeuralNet", "Models", "Imaging", "Purification", "Attacks", "Certification",
            "COpenSSL", "CSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], swiftSettings: swiftSettings),
        // The command tree is a library so that VAEGuardCLITests can parse command lines.
        .target(name: "VAEGuardCommands", dependencies: [
            "Engine", "NeuralNet", "Datasets", "Models", "Imaging", "Purification", "Attacks", "Certification",
            "Training", "Evaluation", "Service", "CSupport", "CPNG", "CJPEG", "CZlib", "COpenSSL",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),
        .executableTarget(name: "VAEGuardCLI", dependencies: ["VAEGuardCommands", "Engine", "CSupport"],
                          swiftSettings: swiftSettings),

        .testTarget(name: "CLibraryTests", dependencies: ["CBLAS", "CPNG", "CJPEG", "CZlib", "COpenSSL", "CSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "TestSupport"], exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "CertificationTests", dependencies: ["Certification", "Engine"], swiftSettings: swiftSettings),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Attacks", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"], exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(name: "PurificationTests", dependencies: ["Purification", "TestSupport"], swiftSettings: swiftSettings),
        // Helpers tests share: a raw HTTP client, work off the cooperative pool, finite-difference checks.
        .target(name: "TestSupport", dependencies: ["Engine", "NeuralNet"], path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ServiceTests", dependencies: ["Service", "TestSupport", "Training"], exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(name: "VAEGuardCLITests", dependencies: [
            "VAEGuardCommands", "Training", "Datasets", "Service", "Attacks", "Evaluation", "TestSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swiftSettings),
        // Small deterministic models and images shared by the attack and evaluation tests.
        .target(name: "AttackTestSupport", dependencies: ["Engine", "NeuralNet", "Purification"],
                path: "Tests/AttackTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "AttacksTests", dependencies: ["Attacks", "AttackTestSupport", "TestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "EvaluationTests", dependencies: [
            "Evaluation", "Attacks", "Certification", "Datasets", "AttackTestSupport", "TestSupport",
        ], exclude: ["Fixtures"], swiftSettings: swiftSettings),
    ]
)

if ProcessInfo.processInfo.environment["VAEGUARD_BENCHMARKS"] != nil {
    // Shared workloads (layers, models, purifiers, codecs, HTTP) with analytic FLOP counts,
    // used by the ordo-one suite and by the markdown report of docs/PERFORMANCE.md.
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.0", traits: ["MallocInterposer"]))
    package.targets.append(
        .target(
            name: "VAEGuardBenchKit",
            dependencies: ["Engine", "NeuralNet", "Models", "Imaging", "Purification", "HTTPServer", "Certification",
                           "Attacks", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/VAEGuardBenchKit",
            swiftSettings: swiftSettings))
    package.targets.append(
        .executableTarget(
            name: "VAEGuardBenchmarks",
            dependencies: ["Engine", "NeuralNet", "Models", "Imaging", "Purification", "VAEGuardBenchKit",
                           .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/VAEGuardBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
    package.targets.append(
        .executableTarget(
            name: "VAEGuardPerfReport",
            dependencies: ["Engine", "VAEGuardBenchKit"],
            path: "Benchmarks/VAEGuardPerfReport",
            swiftSettings: swiftSettings))
}
