import ArgumentParser
import Service

/// `vaeguard`: the root command. Its version is the service's (`VAEGuardVersion`), which
/// /v2 metadata, the build-info metric and the upstream User-Agent also report.
public struct VAEGuardCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vaeguard",
        abstract: "Adversarial-defense inference service: purify images with a VAE, then classify.",
        version: VAEGuardVersion.string,
        subcommands: [ServeCommand.self, ClassifyCommand.self, PurifyCommand.self, InfoCommand.self, TrainCommand.self, EvaluateCommand.self])

    public init() {}
}
