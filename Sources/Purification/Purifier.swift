import Engine

/// Turns a batch of images `[N, H, W, C]` in [0, 1] into purified images of the same shape.
///
/// Implementations are immutable and safe to call from many threads at once: all randomness
/// comes in through `rng`, owned by the caller (one per request).
public protocol Purifier: Sendable {
    /// Short name for replies and metrics: "none", "jpeg", "vae", "patch-vae".
    var kind: PurifierKind { get }
    /// The settings a reply reports (quality, patch size, stride, sampling, …).
    var settings: [String: String] { get }
    /// One purified sample of every image (K-sample averaging is done by the caller).
    func purify(_ images: Tensor, rng: inout RandomSource) throws(PurificationError) -> Tensor
}

/// The purifiers VAEGuard offers.
public enum PurifierKind: String, Sendable, Codable, CaseIterable {
    case none
    case jpeg
    case vae
    case patchVAE = "patch-vae"
}

/// Errors from purification; the service maps them to 4xx replies.
public enum PurificationError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(expected: [Int], got: [Int])
    case unavailable(String)
    case invalidOption(String)
    case codec(String)
    /// Stopped between blocks: cancelled, or over its running-time budget (`WorkLimit`).
    case stopped(WorkStop)

    public var description: String {
        switch self {
        case let .shapeMismatch(expected, got): return "image shape \(got) does not fit the purifier's input \(expected)"
        case .unavailable(let what): return "purifier unavailable: \(what)"
        case .invalidOption(let what): return "invalid purifier option: \(what)"
        case .codec(let what): return "image codec error: \(what)"
        case .stopped(let why): return why.description
        }
    }
}

/// `none`: returns the input unchanged (the undefended baseline).
public struct IdentityPurifier: Purifier {
    public init() {}
    public var kind: PurifierKind { .none }
    public var settings: [String: String] { [:] }
    public func purify(_ images: Tensor, rng: inout RandomSource) throws(PurificationError) -> Tensor { images }
}
