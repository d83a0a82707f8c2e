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
        options.adapt(to: model)
        let uploads = try ImageInput.uploads(request, maxImages: ctx.configuration.purification.maxBatchImages)
        if let certifyOptions { try certifyOptions.checkBudget(images: uploads.count, limits: ctx.configuration.certification) }
        let maxPixels = ctx.configuration.purification.maxImagePixels
        var inputs: [Tensor] = []
        var sizes: [(Int, Int)] = []
        for upload in uploads {
            let image = try ImageInput.decode(upload.bytes, maxPixels: maxPixels)
            sizes.append((image.width, image.height))
            inputs.append(try ImageInput.modelInput(image, shape: model.inputShape))
        }
        let decoded = clock.now
        let purifier: any Purifier
        do { purifier = try model.purifier(for: options.defense) } catch { throw ServiceError.from(error) }
        let batch = Tensor.concatenate(inputs)
        let results = try await ctx.scheduler.classify(model: model, images: batch, options: options.defense)
        var certificates: [CertificateBody]?
        if let certifyOptions {
            certificates = try await certify(batch, model: model, defense: options.defense, options: certifyOptions, ctx: ctx)
        }
        let done = clock.now
        let imageResults = zip(results, zip(uploads, sizes)).enumerated().map { i, pair in
            let (result, item) = pair
            ctx.metrics.scored(model: model.name, error: result.reconstructionError, suspected: result.suspectedAdversarial)
            ctx.metrics.purified(model: model.name, purifier: purifier.kind.rawValue)
            return ImageResult(filename: item.0.filename, width: item.1.0, height: item.1.1,
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
            purifier: PurifierInfo(name: purifier.kind.rawValue, settings: purifier.settings.merging(options.defense.reported) { a, _ in a }),
            predictions: single?.predictions, reconstructionError: single?.reconstructionError,
            suspectedAdversarial: single?.suspectedAdversarial, certificate: single?.certificate, threshold: model.threshold(for: purifier.kind), results: imageResults,
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
        let options = try RequestOptions(query: request.query, configuration: ctx.configuration)
        let model = try ctx.registry.model(named: options.model)
        let uploads = try ImageInput.uploads(request, maxImages: 1)
        let image = try ImageInput.decode(uploads[0].bytes, maxPixels: ctx.configuration.purification.maxImagePixels)
        let (purified, score, used) = try await purifyAnySize(image, model: model, options: options, ctx: ctx)
        let wantsJPEG = request.headers["Accept"]?.lowercased().contains("image/jpeg") == true
        var headers = HTTPHeaders()
        headers["Content-Type"] = wantsJPEG ? "image/jpeg" : "image/png"
        addDefenseHeaders(&headers, purifier: used, score: score, model: model)
        let bytes: [UInt8]
        do { bytes = wantsJPEG ? try purified.jpegData(quality: 95) : try purified.pngData() } catch {
            throw ServiceError.internalError("encoding the purified image failed: \(error)")
        }
        return HTTPResponse(status: .ok, headers: headers, body: bytes)
    }

    /// Purifies an image of any size with `model`'s purifiers on an inference thread.
    static func purifyAnySize(_ image: Image, model: DefendedModel, options: RequestOptions, ctx: ServiceContext,
                              defaultForOtherSizes: PurifierKind = .patchVAE) async throws -> (Image, Float, any Purifier) {
        let channels = model.inputShape[2]
        let sameSize = image.width == model.inputShape[1] && image.height == model.inputShape[0]
        var defense = options.defense
        if !options.purifierGiven {
            if !sameSize { defense.purifier = defaultForOtherSizes }
            if !model.availablePurifiers.contains(defense.purifier) {
                defense.purifier = [PurifierKind.patchVAE, .vae, .jpeg].first { model.availablePurifiers.contains($0) } ?? .none
            }
        }
        let purifier: any Purifier
        do { purifier = try model.purifier(for: defense) } catch { throw ServiceError.from(error) }
        let resizeForVAE = defense.purifier == .vae && !sameSize
        let input = resizeForVAE ? try ImageInput.modelInput(image, shape: model.inputShape) : try ImageInput.tensor(image, channels: channels)
        let (w, h) = (image.width, image.height)
        let finalDefense = defense
        let (out, score) = try await ctx.scheduler.run { () throws -> (Tensor, Float) in
            var rng = finalDefense.seed.map(RandomSource.init(seed:)) ?? .fresh()
            let r = try model.purify(input, options: finalDefense, rng: &rng)
            return (r.images, r.scores[0])
        }
        var result = try ImageInput.image(out)
        if resizeForVAE {
            do { result = try result.resized(width: w, height: h) } catch { throw ServiceError.internalError("\(error)") }
        }
        ctx.metrics.purified(model: model.name, purifier: purifier.kind.rawValue)
        ctx.metrics.scored(model: model.name, error: score, suspected: score > model.threshold(for: purifier.kind))
        return (result, score, purifier)
    }

    static func addDefenseHeaders(_ headers: inout HTTPHeaders, purifier: any Purifier, score: Float, model: DefendedModel) {
        headers["X-VAEGuard-Purifier"] = purifier.kind.rawValue
        headers["X-VAEGuard-Purifier-Settings"] = purifier.settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            .joined(separator: ";")
        headers["X-VAEGuard-Reconstruction-Error"] = String(format: "%.6f", score)
        headers["X-VAEGuard-Suspected-Adversarial"] = score > model.threshold(for: purifier.kind) ? "true" : "false"
    }
}
