import Foundation
import HTTPServer
import Imaging
import Purification

/// A reservation in the service's pixel-memory budget, given back when the request that
/// holds it is done with its pixels (when the lease is released).
final class PixelLease: Sendable {
    let bytes: Int
    private let budget: MemoryBudget

    init(bytes: Int, budget: MemoryBudget) {
        self.bytes = bytes
        self.budget = budget
    }

    deinit { budget.release(bytes) }
}

/// The two budgets every inference request passes before work starts: the cost budget
/// (`purification.maxRequestGFLOP`) and the pixel-memory budget
/// (`purification.pixelMemoryBudgetBytes`).
extension ServiceContext {
    /// Refuses a request whose estimated cost is above the budget, with 422 naming both.
    func checkCost(_ flops: Double, _ what: String) throws(ServiceError) {
        let limit = configuration.purification.maxRequestGFLOP
        let gflop = flops / 1e9
        guard gflop <= limit else {
            metrics.rejected(reason: "cost")
            throw .unprocessable(String(format: "this request would cost %.1f GFLOP (%@); the limit is %.0f GFLOP "
                + "(purification.maxRequestGFLOP): use a larger stride, fewer samples or a smaller image", gflop, what, limit))
        }
    }

    /// `checkCost` for a cost the model computes (its errors become 400s).
    func checkCost(_ what: String, _ flops: () throws(PurificationError) -> Double) throws(ServiceError) {
        let value: Double
        do { value = try flops() } catch { throw ServiceError.from(error) }
        try checkCost(value, what)
    }

    /// Reserves `bytes` of pixel memory: 503 + `Retry-After` when queued and running work
    /// holds too much now, 422 when the request alone is larger than the whole budget.
    func reservePixels(_ bytes: Int) throws(ServiceError) -> PixelLease {
        let limit = pixelBudget.limit
        guard bytes <= limit else {
            metrics.rejected(reason: "memory")
            throw .unprocessable("this request needs about \(bytes >> 20) MiB for its decoded pixels; the server's budget "
                + "is \(limit >> 20) MiB (purification.pixelMemoryBudgetBytes): send a smaller image")
        }
        guard pixelBudget.tryReserve(bytes) else {
            metrics.rejected(reason: "memory")
            throw .overloaded(retryAfter: 1)
        }
        return PixelLease(bytes: bytes, budget: pixelBudget)
    }
}

extension ImageInput {
    /// An upload with what its header says (size, channels), read before decoding.
    struct Probed: Sendable {
        var upload: Upload
        var info: ImageInfo
    }

    /// The uploads of `request` with their headers checked against the pixel limit. Parses
    /// multipart bodies and reads headers only; call it through `ServiceContext.cpu`.
    static func probedUploads(_ request: HTTPRequest, maxImages: Int, maxPixels: Int) throws -> [Probed] {
        try uploads(request, maxImages: maxImages).map { upload throws(ServiceError) in
            Probed(upload: upload, info: try probe(upload.bytes, maxPixels: maxPixels))
        }
    }

    static func probe(_ bytes: [UInt8], maxPixels: Int) throws(ServiceError) -> ImageInfo {
        do { return try ImageDecoder.probe(bytes, maxPixels: maxPixels) } catch { throw ServiceError.from(error) }
    }

    /// Bytes an image holds while it is served: the decoded pixels, the converted copy, and
    /// when it is purified at its own size, the float tensors of the purifier (input, padded
    /// sum, average, sample mean and output, 4 bytes each) and the 8-bit result.
    static func heldBytes(_ info: ImageInfo, channels: Int, purified: Bool) -> Int {
        let perPixel = info.channels + channels * (purified ? 1 + 5 * 4 + 1 : 1)
        return info.width * info.height * perPixel
    }
}
