import Foundation
import Attacks

/// What a `vaeguard evaluate` output folder was computed with: `run.json` beside the results.
///
/// `--resume` skips cells by their key (attack, ε, threat, defense, seed), which does not say
/// how many images, which model files or which attack settings produced them. The manifest
/// does, so resuming with different ones is refused instead of mixing incomparable cells in
/// one table. Fields a run does not use (no attacks: no attack images) are left out and match
/// anything.
public struct RunManifest: Codable, Equatable, Sendable {
    public var dataset: String
    /// Model identities (role → name@version sha256).
    public var models: [String: String]
    /// Test images per attack cell; nil for a clean-only run.
    public var attackImages: Int?
    /// Test images of the clean rows; nil when no clean accuracy is measured.
    public var cleanImages: Int?
    public var settings: AttackSettings?

    public init(dataset: String, models: [String: String], attackImages: Int?, cleanImages: Int?, settings: AttackSettings?) {
        self.dataset = dataset
        self.models = models
        self.attackImages = attackImages
        self.cleanImages = cleanImages
        self.settings = settings
    }

    /// Differences that make `other`'s cells incomparable with this run's, one line each.
    public func conflicts(with other: RunManifest) -> [String] {
        var out: [String] = []
        if dataset != other.dataset { out.append("dataset \(other.dataset) → \(dataset)") }
        for role in Set(models.keys).intersection(other.models.keys).sorted() where models[role] != other.models[role] {
            out.append("\(role) \(other.models[role]!) → \(models[role]!)")
        }
        func compare<T: Equatable>(_ name: String, _ a: T?, _ b: T?) {
            if let a, let b, a != b { out.append("\(name) \(b) → \(a)") }
        }
        compare("images", attackImages, other.attackImages)
        compare("clean images", cleanImages, other.cleanImages)
        compare("attack settings", settings, other.settings)
        return out
    }

    /// The union of two compatible manifests (fields either run set).
    public func merged(with other: RunManifest) -> RunManifest {
        RunManifest(dataset: dataset, models: other.models.merging(models) { new, _ in new },
                    attackImages: attackImages ?? other.attackImages, cleanImages: cleanImages ?? other.cleanImages,
                    settings: settings ?? other.settings)
    }
}

extension ResultStore {
    /// Checks `manifest` against the folder's `run.json` (if any) and records the union.
    /// Throws when resuming would mix cells of different runs. Returns a warning when the folder
    /// holds results but no `run.json` (written before manifests existed): those cannot be checked.
    @discardableResult
    public func adopt(_ manifest: RunManifest) throws(AttackError) -> String? {
        let url = directory.appendingPathComponent("run.json")
        var warning: String?
        var combined = manifest
        if let data = FileManager.default.contents(atPath: url.path) {
            let stored: RunManifest
            do { stored = try JSONDecoder().decode(RunManifest.self, from: data) } catch { throw .io("cannot read \(url.path): \(error)") }
            let conflicts = manifest.conflicts(with: stored)
            guard conflicts.isEmpty else {
                throw .invalidSpec("\(directory.path) holds results of a different run (\(conflicts.joined(separator: "; "))); "
                    + "choose another --output")
            }
            combined = manifest.merged(with: stored)
        } else if !cells.isEmpty || !clean.isEmpty {
            warning = "\(directory.path) holds results but no run.json: its earlier cells cannot be checked against "
                + "this run's images, models and settings"
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(combined) } catch { throw .io("cannot encode run.json: \(error)") }
        try writeText(String(decoding: data, as: UTF8.self) + "\n", to: "run.json")
        return warning
    }
}
