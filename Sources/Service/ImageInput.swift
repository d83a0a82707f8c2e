import Foundation
import Engine
import HTTPServer
import Imaging
import Purification

/// Getting images out of a request: raw body or multipart `image` parts, decoded with the
/// pixel limit checked from the header, converted to what a model takes.
enum ImageInput {
    struct Upload: Sendable {
        var bytes: [UInt8]
        var filename: String?
    }

    /// The uploaded image files: a raw body (format sniffed from its bytes), or the
    /// `image` parts of a multipart/form-data body (a batch).
    static func uploads(_ request: HTTPRequest, maxImages: Int) throws -> [Upload] {
        let contentType = request.headers["Content-Type"]?.lowercased() ?? ""
        if contentType.hasPrefix("multipart/form-data") {
            let parts = try MultipartFormData.parse(request)
            let images = parts.filter { $0.name == "image" }
            guard !images.isEmpty else {
                throw ServiceError.badRequest("multipart body has no 'image' part (send the file as form field 'image')")
            }
            guard images.count <= maxImages else {
                throw ServiceError.unprocessable("\(images.count) images in one request; the limit is \(maxImages)")
            }
            return images.map { Upload(bytes: $0.body, filename: $0.filename) }
        }
        guard !request.body.isEmpty else {
            throw ServiceError.badRequest("empty body: send a PNG or JPEG image as the body, or as multipart field 'image'")
        }
        // The bytes decide the format (clients such as `curl --data-binary` send
        // application/x-www-form-urlencoded); anything not PNG or JPEG is refused with 415.
        return [Upload(bytes: request.body, filename: nil)]
    }

    static func decode(_ bytes: [UInt8], maxPixels: Int) throws(ServiceError) -> Image {
        do { return try ImageDecoder.decode(bytes, maxPixels: maxPixels) } catch { throw ServiceError.from(error) }
    }

    /// `Image.tensor(channels:)` (Purification) with the service's errors.
    static func tensor(_ image: Image, channels: Int) throws(ServiceError) -> Tensor {
        do { return try image.tensor(channels: channels) } catch { throw ServiceError.from(error) }
    }

    /// `Image.tensor(shape:)` (Purification), converted and resized to a model's `[H, W, C]`
    /// input, with the service's errors.
    static func modelInput(_ image: Image, shape: [Int]) throws(ServiceError) -> Tensor {
        do { return try image.tensor(shape: shape) } catch { throw ServiceError.from(error) }
    }

    /// A `[1, H, W, C]` tensor in [0, 1] as an image.
    static func image(_ t: Tensor) throws(ServiceError) -> Image {
        do { return try Image(tensor: t) } catch {
            throw ServiceError.internalError("cannot build image: \(error)")
        }
    }
}
