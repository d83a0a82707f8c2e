import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Forwards purified images to an existing classifier over HTTP (the purifying proxy).
final class UpstreamClient: Sendable {
    struct Reply: Sendable {
        var status: Int
        var contentType: String?
        /// The upstream's `Retry-After` (a 429 or 503), relayed to the client.
        var retryAfter: String?
        var body: [UInt8]
    }

    private let session: URLSession

    init() {
        let config = URLSessionConfiguration.ephemeral
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.httpMaximumConnectionsPerHost = 64
        session = URLSession(configuration: config)
    }

    /// Sends `image` (already encoded) as the body or as a multipart field. Transport
    /// failures become 502, timeouts 504.
    func send(_ image: [UInt8], imageType: String, to upstream: ServiceConfiguration.Upstream, requestID: String) async throws -> Reply {
        guard let url = URL(string: upstream.url) else { throw ServiceError.configuration("bad upstream url \(upstream.url)") }
        var request = URLRequest(url: url, timeoutInterval: upstream.timeoutSeconds)
        request.httpMethod = upstream.method
        request.setValue(requestID, forHTTPHeaderField: "X-Request-Id")
        // Else URLSession sends "<process> (unknown version) …".
        request.setValue("vaeguard/\(VAEGuardVersion.string)", forHTTPHeaderField: "User-Agent")
        if upstream.contentType == "multipart/form-data" {
            let boundary = "vaeguard-\(UUID().uuidString)"
            request.setValue("multipart/form-data; boundary=\(boundary)", forHTTPHeaderField: "Content-Type")
            var body = Data()
            let ext = imageType == "image/jpeg" ? "jpg" : "png"
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(upstream.multipartField)\"; filename=\"image.\(ext)\"\r\nContent-Type: \(imageType)\r\n\r\n".utf8))
            body.append(contentsOf: image)
            body.append(Data("\r\n--\(boundary)--\r\n".utf8))
            request.httpBody = body
        } else {
            request.setValue(imageType, forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(image)
        }
        let session = self.session, finalRequest = request
        do {
            // URLRequest's timeout is an idle timeout; the configured one is a deadline for the
            // whole exchange, so race the request against a timer.
            return try await withThrowingTaskGroup(of: Reply.self) { group in
                group.addTask {
                    let (data, response) = try await session.data(for: finalRequest)
                    guard let http = response as? HTTPURLResponse else { throw ServiceError.upstreamFailed("not an HTTP response") }
                    return Reply(status: http.statusCode, contentType: http.value(forHTTPHeaderField: "Content-Type"),
                                 retryAfter: http.value(forHTTPHeaderField: "Retry-After"), body: Array(data))
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(Int(upstream.timeoutSeconds * 1000)))
                    throw URLError(.timedOut)
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } catch let error as URLError where error.code == .timedOut {
            throw ServiceError.upstreamTimedOut("no reply within \(upstream.timeoutSeconds) s")
        } catch let error as ServiceError {
            throw error
        } catch {
            // URLSession's descriptions name the host and port; the client gets the kind only.
            let kind = (error as? URLError).map { "URLError \($0.code.rawValue)" } ?? "\(type(of: error))"
            throw ServiceError.upstreamFailed("could not reach the upstream (\(kind))")
        }
    }
}
