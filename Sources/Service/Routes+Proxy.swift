import Foundation
import HTTPServer
import Imaging
import Purification

extension Routes {
    /// The purifying proxy: purify the uploaded image (any size: the patch VAE by default),
    /// forward it to the upstream classifier, relay its reply with the defense's headers.
    /// `entry` is a model configured with its own upstream; nil uses the global `upstream`.
    static func proxy(_ request: HTTPRequest, _ ctx: ServiceContext, entry: ServiceConfiguration.ModelEntry?) async throws -> HTTPResponse {
        guard let upstream = entry?.upstream ?? ctx.configuration.upstream else {
            throw ServiceError.notFound("no upstream classifier is configured (set 'upstream' in the configuration)")
        }
        var options = try RequestOptions(query: request.query, configuration: ctx.configuration)
        let certifyOptions = try CertifyOptions(query: request.query, limits: ctx.configuration.certification)
        if !options.purifierGiven { options.defense.purifier = upstream.purifier }
        let purifierModel = try ctx.registry.model(named: upstream.purifierModel)
        let (purified, score, purifier, lease, image) = try await purifyUpload(request, model: purifierModel, options: options, ctx: ctx,
                                                                        defaultForOtherSizes: upstream.purifier)
        let type = upstream.contentType == "image/jpeg" ? "image/jpeg" : "image/png"
        let encoded = try await ctx.cpu.run { () throws -> [UInt8] in
            do { return type == "image/jpeg" ? try purified.jpegData(quality: 95) : try purified.pngData() } catch {
                throw ServiceError.internalError("encoding for upstream failed: \(error)")
            }
        }
        // Client-facing messages leave out the upstream's address (an internal URL); the log has it.
        let clock = ContinuousClock()
        let sent = clock.now
        let reply: UpstreamClient.Reply
        do { reply = try await ctx.upstream.send(encoded, imageType: type, to: upstream, requestID: request.requestID) } catch {
            let timedOut = if case ServiceError.upstreamTimedOut = error { true } else { false }
            ctx.metrics.upstream(outcome: timedOut ? "timeout" : "unreachable", duration: clock.now - sent)
            ctx.metrics.rejected(reason: "upstream_error")
            ctx.logger.warning("upstream failed", metadata: ["url": "\(upstream.url)", "error": "\(error)",
                                                             "request_id": "\(request.requestID)"])
            throw error
        }
        ctx.metrics.upstream(outcome: reply.status >= 500 ? "http_5xx" : "ok", duration: clock.now - sent)
        if reply.status >= 500 {
            ctx.metrics.rejected(reason: "upstream_error")
            ctx.logger.warning("upstream failed", metadata: ["url": "\(upstream.url)", "status": "\(reply.status)",
                                                             "request_id": "\(request.requestID)"])
            var headers = HTTPHeaders()
            headers["X-VAEGuard-Upstream-Status"] = String(reply.status)
            if let retry = reply.retryAfter { headers["Retry-After"] = retry }
            throw HTTPError(.badGateway, ServiceError.upstreamFailed("the upstream answered \(reply.status)").description, headers: headers)
        }
        var headers = HTTPHeaders()
        headers["Content-Type"] = reply.contentType ?? "application/octet-stream"
        headers["X-VAEGuard-Upstream-Status"] = String(reply.status)
        if let retry = reply.retryAfter { headers["Retry-After"] = retry }
        addDefenseHeaders(&headers, purifier: purifier, score: score)
        var body = reply.body
        if let certifyOptions {
            // The relayed reply is the upstream's JSON object with `certificate` added.
            let certificate = try await proxyCertificate(image, options: certifyOptions, defense: options.defense,
                                                         purifierModel: purifierModel, upstream: upstream, entry: entry,
                                                         request: request, ctx: ctx)
            guard var object = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any] else {
                throw ServiceError.upstreamFailed("certification needs the upstream's reply to be a JSON object")
            }
            object["certificate"] = try JSONSerialization.jsonObject(with: JSONEncoder.api.encode(certificate))
            body = Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
            headers["Content-Type"] = "application/json"
        }
        withExtendedLifetime(lease) {}
        return HTTPResponse(status: HTTPStatus(code: reply.status), headers: headers, body: body)
    }
}
