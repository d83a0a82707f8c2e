import Engine
import Imaging

/// JPEG compression at quality q: the paper's baseline defense. As in the reference code,
/// pixels are truncated to 8 bits (`uint8(x·255)`), encoded with 4:2:0 chroma subsampling
/// (PIL's default), decoded and divided by 255.
public struct JPEGPurifier: Purifier {
    public let quality: Int

    public init(quality: Int) throws(PurificationError) {
        guard (1...100).contains(quality) else { throw .invalidOption("JPEG quality \(quality) is outside 1…100") }
        self.quality = quality
    }

    public var kind: PurifierKind { .jpeg }
    public var settings: [String: String] { ["quality": String(quality)] }

    public func purify(_ images: Tensor, rng: inout RandomSource) throws(PurificationError) -> Tensor {
        guard images.shape.count == 4, [1, 3].contains(images.shape[3]) else {
            throw .shapeMismatch(expected: [-1, -1, 3], got: Array(images.shape.dropFirst()))
        }
        let (n, h, w, c) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        let size = h * w * c
        var out = Tensor(shape: images.shape)
        for b in 0..<n {
            let bytes = images.storage[(b * size)..<((b + 1) * size)].map { v -> UInt8 in
                UInt8(max(0, min(255, (v * 255).rounded(.towardZero))))
            }
            do {
                let image = try Image(width: w, height: h, channels: c, pixels: bytes)
                let decoded = try ImageDecoder.decode(try image.jpegData(quality: quality), maxPixels: h * w)
                let floats = try decoded.converted(toChannels: c).floatPixels()
                out.storage.replaceSubrange((b * size)..<((b + 1) * size), with: floats)
            } catch {
                throw .codec(error.description)
            }
        }
        return out
    }
}
