import ArgumentParser

/// `vaeguard`: the root command.
struct VAEGuardCommand: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "vaeguard",
        abstract: "Adversarial-defense inference service: purify images with a VAE, then classify.",
        version: version,
        subcommands: [ServeCommand.self, ClassifyCommand.self, PurifyCommand.self, InfoCommand.self, TrainCommand.self, EvaluateCommand.self])
}
