import Foundation
import Engine
import HTTPServer
import Imaging
import Purification
import Certification

extension Routes {
    /// CERTIFY in proxy mode: the base classifier is the upstream behind the proxy's purifier,
    /// f(x + δ) = upstream(PNG(D(x + δ))), queried once per noisy sample, `n0 + n` times in all
    /// (at most `certification.maxUpstreamQueries`, else 400). Encoding clips to [0, 1] and
    /// rounds to 8 bits; that is part of f, a fixed function of x + δ, so the certificate
    /// stays valid. The upstream's reply must be a JSON object whose `labelField` names the
    /// predicted class.
    static func proxyCertificate(_ image: Image, options: CertifyOptions, defense: DefenseOptions, purifierModel: DefendedModel,
                                 upstream: ServiceConfiguration.Upstream, entry: ServiceConfiguration.ModelEntry?,
                                 request: HTTPRequest, ctx: ServiceContext) async throws -> CertificateBody {
        let limits = ctx.configuration.certification
        let queries = options.n0 + options.n
        guard queries <= limits.maxUpstreamQueries else {
            throw ServiceError.badRequest("n: certify in proxy mode queries the upstream classifier n0 + n = \(queries) times; "
                + "this server allows at most \(limits.maxUpstreamQueries) (certification.maxUpstreamQueries)")
        }
        let sigma = options.sigma ?? entry?.smoothingSigma ?? limits.defaultSigma
        let purifier: any Purifier
        do { purifier = try purifierModel.purifier(for: defense) } catch { throw ServiceError.from(error) }
        guard DefendedBaseClassifier.denoisers.contains(purifier.kind) else {
            throw ServiceError.badRequest("purifier must be none, vae or patch-vae for certification, got '\(purifier.kind.rawValue)'")
        }
        let input = try ImageInput.tensor(image, channels: purifierModel.inputShape[2])
        var rng = defense.seed.map { RandomSource(seed: $0 &+ 0x5EED) } ?? .fresh()
        var labels: [String] = []
        labels.reserveCapacity(queries)
        while labels.count < queries {
            let count = min(limits.upstreamConcurrency, queries - labels.count)
            let seed = rng.next()
            // Noise and purification on an inference thread, then the queries concurrently.
            let encoded = try await ctx.scheduler.run { () throws -> [[UInt8]] in
                var chunkRNG = RandomSource(seed: seed)
                let noisy = SmoothedClassifier<DefendedBaseClassifier>.noisyCopies(
                    of: input.storage, shape: Array(input.shape.dropFirst()), count: count, sigma: sigma, rng: &chunkRNG)
                let denoised = try purifier.purify(noisy, rng: &chunkRNG)
                return try (0..<count).map { i in try ImageInput.image(denoised.batch(i..<(i + 1))).pngData() }
            }
            // Every query runs to completion and failures are raised afterwards: cancelling
            // URLSession tasks mid-flight can leave them unresumed on Linux, hanging the request.
            let replies = await withTaskGroup(of: (Int, Result<String, any Error>).self) { group in
                for (i, png) in encoded.enumerated() {
                    group.addTask {
                        do {
                            let reply = try await ctx.upstream.send(png, imageType: "image/png", to: upstream, requestID: request.requestID)
                            return (i, .success(try upstreamLabel(reply, field: upstream.labelField)))
                        } catch {
                            return (i, .failure(error))
                        }
                    }
                }
                var out = [Result<String, any Error>](repeating: .success(""), count: encoded.count)
                for await (i, label) in group { out[i] = label }
                return out
            }
            labels += try replies.map { try $0.get() }
        }
        let names = Array(Set(labels)).sorted()
        let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        func counts(_ slice: ArraySlice<String>) -> [Int] {
            var c = [Int](repeating: 0, count: names.count)
            for l in slice { c[index[l]!] += 1 }
            return c
        }
        let certificate = RandomizedSmoothing.certify(selectionCounts: counts(labels[..<options.n0]),
                                                      estimationCounts: counts(labels[options.n0...]),
                                                      alpha: options.alpha, sigma: Double(sigma))
        var body = CertificateBody(certificate, labels: names, denoiser: purifier.kind.rawValue)
        body.index = nil   // the proxy knows the upstream's labels only by name
        return body
    }

    /// The predicted class in an upstream reply: the JSON object's `field`, a string or a number.
    static func upstreamLabel(_ reply: UpstreamClient.Reply, field: String) throws -> String {
        guard reply.status < 400 else { throw ServiceError.upstreamFailed("the upstream answered \(reply.status) to a noisy sample") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any], let value = object[field],
              value is String || value is NSNumber else {
            throw ServiceError.upstreamFailed("certification needs the upstream's reply to be a JSON object with a '\(field)' field "
                + "(upstream.labelField)")
        }
        return "\(value)"
    }
}
