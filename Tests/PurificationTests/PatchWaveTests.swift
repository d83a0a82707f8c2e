import Testing
import TestSupport
import Engine
import Models
import NeuralNet
@testable import Purification

/// Patch purification hands whole chunks of patches to the cores in waves; with a seed the
/// result must equal one chunk after the other (one core), value for value.
@Suite("Patch chunks in parallel waves", .computeBound)
struct PatchWaveTests {

    static func purify(workers: Int, _ x: Tensor, purifier: PatchVAEPurifier) throws -> Tensor {
        try ComputeSettings.with(parallelism: workers) {
            var rng = RandomSource(seed: 9)
            return try purifier.purify(x, rng: &rng)
        }
    }

    @Test func waves_equalOneChunkAfterTheOther() throws {
        let arch = PaperArchitectures.patchVAE(patch: 8, channels: 3, latent: 16, width: 4)
        guard case .vae(let vae) = try Network(architecture: arch, seed: 3) else { Issue.record("not a VAE"); return }
        // 2 images of 30×27 at stride 4: 2·7·6 = 84 patches in 9 chunks of 10 (an odd last wave).
        let purifier = try PatchVAEPurifier(vae: vae, stride: 4, sampling: .sample, batchSize: 10)
        var rng = RandomSource(seed: 4)
        let x = Tensor(shape: [2, 30, 27, 3], storage: (0..<(2 * 30 * 27 * 3)).map { _ in rng.nextUniform() })
        let serial = try Self.purify(workers: 1, x, purifier: purifier)
        for workers in [2, 3] {
            let parallel = try Self.purify(workers: workers, x, purifier: purifier)
            #expect(parallel.maxAbsDifference(serial) <= 1e-6, "\(workers) workers")
        }
    }

    @Test func waves_keepThePullbackConsistent() throws {
        let arch = PaperArchitectures.patchVAE(patch: 8, channels: 1, latent: 8, width: 4)
        guard case .vae(let vae) = try Network(architecture: arch, seed: 5) else { Issue.record("not a VAE"); return }
        let purifier = try PatchVAEPurifier(vae: vae, stride: 4, sampling: .sample, batchSize: 6)
        var rng = RandomSource(seed: 6)
        let x = Tensor(shape: [1, 20, 20, 1], storage: (0..<400).map { _ in rng.nextUniform() })
        var results: [(Tensor, Tensor)] = []
        for workers in [1, 2] {
            results.append(try ComputeSettings.with(parallelism: workers) {
                var r = RandomSource(seed: 7)
                let (y, pullback) = try purifier.purifyWithPullback(x, rng: &r)
                return (y, pullback(Tensor(shape: x.shape, repeating: 1)))
            })
        }
        #expect(results[1].0.maxAbsDifference(results[0].0) <= 1e-6)
        #expect(results[1].1.maxAbsDifference(results[0].1) <= 1e-6)
    }
}
