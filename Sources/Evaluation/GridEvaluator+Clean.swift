import Foundation
import Purification
import Attacks

extension GridEvaluator {
    /// The defenses whose clean accuracy `--clean` reports: none, the grid's defenses, and the
    /// model's whole-image and patch VAEs in both `sample` and `mean` modes.
    public func cleanDefenses() -> [DefenseSpec] {
        var names = ["none"] + grid.defenses.map(\.name)
        if model.vae != nil { names += ["vae", "vae:mean"] }
        if model.patchVAE != nil { names += ["patch-vae", "patch-vae:mean"] }
        var seen = Set<String>()
        return names.compactMap { try? DefenseSpec(parsing: $0) }.filter { seen.insert($0.name).inserted }
    }

    /// Clean top-1 accuracy of the classifier alone and after each purifier, over the seeds
    /// (deterministic purifiers are measured once, with the first seed).
    public func runClean(classifierName: String) throws(AttackError) {
        let defenses = cleanDefenses()
        for d in defenses {
            let available: Bool
            switch d.kind {
            case .vae: available = model.vae != nil
            case .patchVAE: available = model.patchVAE != nil
            default: available = true
            }
            guard available else { continue }
            for seed in (d.isStochastic ? grid.seeds : Array(grid.seeds.prefix(1))) {
                var row = CleanResult(dataset: grid.dataset, classifier: classifierName, defense: d.name,
                                      purification: Self.purificationLabel(d.kind), sampling: d.options.sampling.rawValue,
                                      seed: seed, images: labels.count, correct: 0, accuracy: 0)
                if d.kind != .vae && d.kind != .patchVAE { row.sampling = "-" }
                if store.containsClean(row.key) { continue }
                row.correct = try countCorrect(images, defense: d, salt: "clean|\(seed)")
                row.accuracy = Double(row.correct) / Double(max(1, labels.count))
                try store.add(row)
            }
        }
    }

    static func purificationLabel(_ kind: PurifierKind) -> String {
        switch kind {
        case .none: return "none"
        case .jpeg: return "jpeg"
        case .vae: return "whole-image"
        case .patchVAE: return "patch-wise"
        }
    }
}
