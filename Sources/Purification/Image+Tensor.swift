import Engine
import Imaging

/// The one conversion between decoded images and the `[1, H, W, C]` float tensors models
/// take, shared by the service and the command line.
extension Image {
    /// Converts to `channels` (alpha composited on black, the background of MNIST and of
    /// most model inputs), then to floats `[1, H, W, C]` in [0, 1], at the image's own size.
    public func tensor(channels: Int) throws(ImagingError) -> Tensor {
        let converted = try self.converted(toChannels: channels, background: .black)
        return Tensor(shape: [1, converted.height, converted.width, channels], storage: converted.floatPixels())
    }

    /// Converts and resizes to a model's `[H, W, C]` input, as floats `[1, H, W, C]`.
    public func tensor(shape: [Int]) throws(ImagingError) -> Tensor {
        let (h, w, c) = (shape[0], shape[1], shape[2])
        var converted = try self.converted(toChannels: c, background: .black)
        if converted.width != w || converted.height != h { converted = try converted.resized(width: w, height: h) }
        return Tensor(shape: [1, h, w, c], storage: converted.floatPixels())
    }

    /// The first image of a `[N, H, W, C]` tensor in [0, 1] (values outside are clamped).
    public init(tensor t: Tensor) throws(ImagingError) {
        let (h, w, c) = (t.shape[1], t.shape[2], t.shape[3])
        try self.init(width: w, height: h, channels: c, floats: Array(t.storage[0..<(h * w * c)]))
    }
}
