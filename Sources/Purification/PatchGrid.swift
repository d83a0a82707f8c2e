/// Where the patches of a patch-wise purifier go along one axis.
///
/// Patches start at 0, s, 2s, … while they end inside the image; the last patch is snapped to
/// the border (start = L - p) so every pixel is covered. This is the paper's
/// `reconstruct_image` layout, minus the duplicate patch it produces when (L - p) is a
/// multiple of s. An axis shorter than the patch gets one patch at 0 over a padded image.
public struct PatchGrid: Sendable, Equatable {
    public let length: Int
    public let patch: Int
    public let stride: Int

    public init(length: Int, patch: Int, stride: Int) {
        precondition(patch > 0 && stride > 0 && stride <= patch, "need 0 < stride ≤ patch")
        self.length = length
        self.patch = patch
        self.stride = stride
    }

    /// Patch start offsets, ascending, unique.
    public var starts: [Int] {
        guard length > patch else { return [0] }
        var s = Array(Swift.stride(from: 0, to: length - patch, by: stride))
        s.append(length - patch)
        return s
    }

    /// Length after padding (images shorter than a patch are padded up to it).
    public var paddedLength: Int { max(length, patch) }
}
