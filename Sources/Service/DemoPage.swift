import Foundation
import HTTPServer
import NeuralNet

/// The web demo at `/`: one self-contained HTML page (CSS and JavaScript inline, nothing
/// fetched from elsewhere) that calls `GET /v1/models` and `POST /v1/attack`, plus the sample
/// images at `/demo/samples/<name>`. Everything is compiled into the binary.
///
/// The inline style and script are allowed by their SHA-256 hashes in the
/// Content-Security-Policy, so no other inline code (and no third-party origin) can run.
enum DemoPage {
    /// `GET /`.
    static func response() -> HTTPResponse {
        var h = securityHeaders
        h["Content-Type"] = "text/html; charset=utf-8"
        h["Cache-Control"] = "no-cache"
        return HTTPResponse(status: .ok, headers: h, body: document)
    }

    /// `GET /demo/samples/:name`: an embedded sample PNG.
    static func sample(_ request: HTTPRequest) throws -> HTTPResponse {
        let name = request.pathParameters["name"] ?? ""
        guard let png = samplePNGs[name] else {
            throw ServiceError.notFound("no demo sample '\(name)'; available: \(DemoSamples.all.map(\.name).joined(separator: ", "))")
        }
        var h = HTTPHeaders()
        h["Content-Type"] = "image/png"
        h["Cache-Control"] = "public, max-age=86400"
        h["X-Content-Type-Options"] = "nosniff"
        return HTTPResponse(status: .ok, headers: h, body: png)
    }

    static let samplePNGs: [String: [UInt8]] = Dictionary(uniqueKeysWithValues: DemoSamples.all.map {
        ($0.name, Array(Data(base64Encoded: $0.base64PNG) ?? Data()))
    })

    /// The sample list the script reads (a JSON data block, not executed).
    static var samplesJSON: String {
        let items = DemoSamples.all.map {
            "{\"name\":\"\($0.name)\",\"dataset\":\"\($0.dataset)\",\"model\":\"\($0.model)\",\"label\":\"\($0.label)\",\"index\":\($0.index)}"
        }
        return "[" + items.joined(separator: ",") + "]"
    }

    static let document: [UInt8] = Array(html.utf8)

    static let html: String = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>VAEGuard demo: attack and purify</title>
        <style>\(style)</style>
        </head>
        <body>
        \(body)
        <script type="application/json" id="demo-samples">\(samplesJSON)</script>
        <script>\(script)</script>
        </body>
        </html>

        """

    static let securityHeaders: HTTPHeaders = {
        var h = HTTPHeaders()
        h["Content-Security-Policy"] = [
            "default-src 'none'",
            "script-src '\(cspHash(script))'",
            "style-src '\(cspHash(style))'",
            "img-src 'self' data: blob:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ].joined(separator: "; ")
        h["X-Content-Type-Options"] = "nosniff"
        h["Referrer-Policy"] = "no-referrer"
        h["X-Frame-Options"] = "DENY"
        return h
    }()

    /// `sha256-<base64>` of an inline block, as CSP wants it.
    static func cspHash(_ text: String) -> String {
        let hex = Array(Checksum.sha256(Data(text.utf8)).utf8)
        func nibble(_ c: UInt8) -> UInt8 { c >= 97 ? c - 87 : c - 48 }
        let bytes = stride(from: 0, to: hex.count - 1, by: 2).map { nibble(hex[$0]) << 4 | nibble(hex[$0 + 1]) }
        return "sha256-" + Data(bytes).base64EncodedString()
    }
}
