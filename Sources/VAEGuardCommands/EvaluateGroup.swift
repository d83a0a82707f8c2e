import ArgumentParser

/// `vaeguard evaluate`: the attack grid (the default, `grid`) or certification (`certify`).
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate defenses: the attack grid (default) or certified L2 robustness by randomized smoothing.",
        discussion: """
        vaeguard evaluate [grid] --dataset mnist --attack pgd …   attacks × ε × defenses (see 'vaeguard evaluate grid --help')
        vaeguard evaluate certify --dataset mnist --sigma 0.25 …  certified accuracy (see 'vaeguard evaluate certify --help')
        """,
        subcommands: [EvaluateGrid.self, EvaluateCertify.self],
        defaultSubcommand: EvaluateGrid.self)
}
