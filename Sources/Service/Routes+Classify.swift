import Foundation
import Engine
import HTTPServer
import Imaging
import Purification

extension Routes {
    /// `POST /v1/classify`: purify, then classify, one image or a multipart batch.
    static func classify(_ request: HTTPRequest, _ ctx: ServiceContext) async throws -> HTTPResponse {
        let clock = ContinuousClock()
        let start = clock.now
        var options = try RequestOptions(query: request.query, configuration: ctx.configuration)
        let certifyOptions = try CertifyOptions(query: request.query, limits: ctx.configuration.certification)
        if let entry = ctx.configuration.models.entries.first(where: { $0.name == options.model }), entry.upstream != nil {
            return try await proxy(request, ctx, entry: entry)
        }
        let model = try ctx.registry.model(named: options.model)
        options.adapt(to: model, configuration: ctx.configuration)
        let (maxImages, maxPixels) = (ctx.configuration.purification.maxBatchImages, ctx.configuration.purification.maxImagePixels)
        // Multipart parsing, header reads and decoding run on the CPU pool, after both budgets.
        let probed = try await ctx.cpu.run { try ImageInput.probedUploads(request, maxImages: maxImages, maxPixels: maxPixels) }
        let uploads = probed.map(\.upload)
        if let certifyOptions { try certifyOptions.checkBudget(images: uploads.count, limits: ctx.configuration.certification) }
        let defense = options.defense
        // Certification classifies n0 + n noisy copies of each image on top of the reply's own pass.
        let certifiedCopies = certifyOptions.map { $0.n0 + $0.n } ?? 0
        try ctx.checkCost("\(probed.count) image(s) × \(defense.samples) sample(s) of \(defense.purifier.rawValue)"
                          + (certifyOptions.map { ", certified with n0 + n = \($0.n0 + $0.n) samples each" } ?? "")) {
            () throws(PurificationError) in try model.classificationFLOPs(count: probed.count * (1 + certifiedCopies), options: defense)
        }
        let shape = model.inputShape
        let lease = try ctx.reservePixels(probed.reduce(0) {
            $0 + ImageInput.heldBytes($1.info, channels: shape[2], purified: false) + 4 * shape.reduce(1, *)
        })
        let (inputs, sizes) = try await ctx.cpu.run { () throws -> ([Tensor], [Size]) in
            var inputs: [Tensor] = [], sizes: [Size] = []
            for item in probed {
                let image = try ImageInput.decode(item.upload.bytes, maxPixels: maxPixels)
                sizes.append(Size(width: image.width, height: image.height))
                inputs.append(try ImageInput.modelInput(image, shape: shape))
            }
            return (inputs, sizes)
        }
        let decoded = clock.now
        let resolved: ResolvedDefense
        do { resolved = try ResolvedDefense(model: model, options: options.defense) } catch { throw ServiceError.from(error) }
        let batch = Tensor.concatenate(inputs)
        let results = try await ctx.scheduler.classify(model: model, images: batch, defense: resolved)
        var certificates: [CertificateBody]?
        if let certifyOptions {
            certificates = try await certify(batch, model: model, defense: options.defense, options: certifyOptions, ctx: ctx)
        }
        withExtendedLifetime(lease) {}
        let done = clock.now
        let imageResults = zip(results, zip(uploads, sizes)).enumerated().map { i, pair in
            let (result, item) = pair
            ctx.metrics.scored(model: model.name, error: result.reconstructionError, suspected: result.suspectedAdversarial)
            ctx.metrics.purified(model: model.name, purifier: resolved.name)
            return ImageResult(filename: item.0.filename, width: item.1.width, height: item.1.height,
                               predictions: result.predictions(labels: model.labels, topK: options.topK),
                               reconstructionError: result.reconstructionError, suspectedAdversarial: result.suspectedAdversarial,
                               certificate: certificates?[i])
        }
        let purifyTime = results.first?.purifyDuration ?? .zero, classifyTime = results.first?.classifyDuration ?? .zero
        ctx.metrics.stage("purify", model: model.name, duration: purifyTime)
        ctx.metrics.stage("classify", model: model.name, duration: classifyTime)
        let inference = done - decoded
        let single = imageResults.count == 1 ? imageResults[0] : nil
        let body = ClassifyResponse(
            requestId: request.requestID, model: ModelInfo(name: model.name, version: model.version),
            purifier: PurifierInfo(name: resolved.name, settings: resolved.reportedSettings),
            predictions: single?.predictions, reconstructionError: single?.reconstructionError,
            suspectedAdversarial: single?.suspectedAdversarial, certificate: single?.certificate, threshold: model.threshold(for: resolved.kind), results: imageResults,
            timings: Timings(decodeMs: (decoded - start).milliseconds,
                             queueMs: max(0, (inference - purifyTime - classifyTime).milliseconds),
                             purifyMs: purifyTime.milliseconds, classifyMs: classifyTime.milliseconds,
                             totalMs: (clock.now - start).milliseconds))
        return try json(body)
    }

    /// `POST /v1/purify`: the purified image itself (PNG, or JPEG on `Accept: image/jpeg`).
    /// Images of the model's input size use the whole-image VAE by default; any other size
    /// uses the patch VAE, so any size is purified at full resolution.
    static func purify(_ request: HTTPRequest, _ ctx: ServiceContext) async throws -> HTTPResponse {
        var options = try RequestOptions(query: request.query, configuration: ctx.configuration)
        // A model served by an upstream purifies as its proxy does: with its purifier model.
        let upstream = ctx.configuration.models.entries.first { $0.name == options.model }?.upstream
        let model = try ctx.registry.model(named: upstream?.purifierModel ?? options.model)
        if let upstream, !options.purifierGiven { options.defense.purifier = upstream.purifier }
        if upstream == nil { options.adapt(to: model, configuration: ctx.configuration) }
        let (purified, score, used, lease, _) = try await purifyUpload(request, model: model, options: options, ctx: ctx,
                                                                    defaultForOtherSizes: upstream?.purifier ?? .patchVAE)
        let wantsJPEG = request.headers["Accept"]?.lowercased().contains("image/jpeg") == true
        var headers = HTTPHeaders()
        headers["Content-Type"] = wantsJPEG ? "image/jpeg" : "image/png"
        addDefenseHeaders(&headers, purifier: used, score: score)
        let bytes = try await ctx.cpu.run { () throws -> [UInt8] in
            do { return wantsJPEG ? try purified.jpegData(quality: 95) : try purified.pngData() } catch {
                throw ServiceError.internalError("encoding the purified image failed: \(error)")
            }
        }
        withExtendedLifetime(lease) {}
        return HTTPResponse(status: .ok, headers: headers, body: bytes)
    }

    /// Width and height of an uploaded image.
    struct Size: Sendable {
        var width: Int
        var height: Int
    }

    /// Reads the one uploaded image of `request`, prices its purification (cost budget),
    /// reserves its pixel memory, decodes it off the cooperative pool and purifies it. The
    /// lease must be kept until the caller is done with the purified image (and the decoded
    /// original, which proxy certification smooths).
    static func purifyUpload(_ request: HTTPRequest, model: DefendedModel, options: RequestOptions, ctx: ServiceContext,
                             defaultForOtherSizes: PurifierKind = .patchVAE) async throws
        -> (image: Image, score: Float, purifier: ImagePurifier, lease: PixelLease, original: Image) {
        let maxPixels = ctx.configuration.purification.maxImagePixels
        let probed = try await ctx.cpu.run { try ImageInput.probedUploads(request, maxImages: 1, maxPixels: maxPixels)[0] }
        let info = probed.info
        var defense = options.defense
        if !options.purifierGiven {
            defense.purifier = ImagePurifier.defaultKind(width: info.width, height: info.height, model: model,
                                                         preferred: defense.purifier, otherSizes: defaultForOtherSizes)
        }
        let working = ImagePurifier.workingSize(width: info.width, height: info.height, kind: defense.purifier, model: model)
        try ctx.checkCost("\(info.width)×\(info.height) image × \(defense.samples) sample(s) of \(defense.purifier.rawValue)") {
            () throws(PurificationError) in
            try model.purificationFLOPs(height: working.height, width: working.width, options: defense)
        }
        let lease = try ctx.reservePixels(ImageInput.heldBytes(info, channels: model.inputShape[2], purified: true))
        let image = try await ctx.cpu.run { try ImageInput.decode(probed.upload.bytes, maxPixels: maxPixels) }
        let purifier: ImagePurifier
        do { purifier = try ImagePurifier(model: model, options: defense) } catch { throw ServiceError.from(error) }
        let (purified, score) = try await ctx.scheduler.run { try purifier.purify(image) }
        ctx.metrics.purified(model: model.name, purifier: purifier.defense.name)
        ctx.metrics.scored(model: model.name, error: score, suspected: purifier.isSuspected(score))
        return (purified, score, purifier, lease, image)
    }

    static func addDefenseHeaders(_ headers: inout HTTPHeaders, purifier: ImagePurifier, score: Float) {
        let used = purifier.defense.purifier
        headers["X-VAEGuard-Purifier"] = used.kind.rawValue
        headers["X-VAEGuard-Purifier-Settings"] = used.settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            .joined(separator: ";")
        headers["X-VAEGuard-Reconstruction-Error"] = String(format: "%.6f", score)
        headers["X-VAEGuard-Suspected-Adversarial"] = purifier.isSuspected(score) ? "true" : "false"
    }
}
