/// What a strong-suite run has finished, for `--resume`: whole cells, unbounded sanity checks,
/// and the finished chunks of the cell (or unbounded check) it was working on. A cell of the
/// CIFAR-10 suite takes hours; chunks bound what an interruption loses.
public struct StrongProgress: Sendable, Codable, Equatable {
    public var cells: [StrongCell]
    /// Accuracy under the unbounded APGD-CE, per "defense|threat".
    public var unbounded: [String: Double]
    public var partial: StrongPartial?

    public init(cells: [StrongCell] = [], unbounded: [String: Double] = [:], partial: StrongPartial? = nil) {
        self.cells = cells
        self.unbounded = unbounded
        self.partial = partial
    }
}

/// The finished chunks of one unfinished cell, or of one unfinished unbounded check
/// (`epsilon` nil). Chunks are the contiguous image ranges `[k·chunkImages, (k+1)·chunkImages)`,
/// finished in order.
public struct StrongPartial: Sendable, Codable, Equatable {
    public var defense: String
    public var threat: String
    public var epsilon: Double?
    public var images: Int
    public var chunkImages: Int
    public var chunks: [StrongChunk]

    public init(defense: String, threat: String, epsilon: Double?, images: Int, chunkImages: Int, chunks: [StrongChunk] = []) {
        (self.defense, self.threat, self.epsilon, self.images, self.chunkImages, self.chunks) =
            (defense, threat, epsilon, images, chunkImages, chunks)
    }

    /// Whether `other` is the same cell or check, chunked the same way.
    public func isSameWork(as other: StrongPartial) -> Bool {
        (defense, threat, epsilon, images, chunkImages) == (other.defense, other.threat, other.epsilon, other.images, other.chunkImages)
    }

    /// The leading chunks that sit where this chunking puts them (all of them, unless the file
    /// was edited).
    public var validChunks: [StrongChunk] {
        var kept: [StrongChunk] = []
        for chunk in chunks {
            let start = kept.count * chunkImages
            guard chunk.start == start, chunk.count == min(chunkImages, images - start) else { break }
            kept.append(chunk)
        }
        return kept
    }
}

/// Per-image outcomes of one chunk: clean correctness (nil for the unbounded check) and, per
/// suite member, correctness after it (in the cascade: after it and every attack before it).
public struct StrongChunk: Sendable, Codable, Equatable {
    public var start: Int
    public var clean: Outcomes?
    public var correctAfter: [String: Outcomes]
    public var seconds: Double

    public init(start: Int, clean: Outcomes?, correctAfter: [String: Outcomes], seconds: Double) {
        (self.start, self.clean, self.correctAfter, self.seconds) = (start, clean, correctAfter, seconds)
    }

    /// Images in the chunk (every outcome list has this length).
    public var count: Int { clean?.values.count ?? correctAfter.values.first?.values.count ?? 0 }
}

/// Correct-or-not per image, written as a string of 1s and 0s (one character per image keeps
/// strong.json small and readable).
public struct Outcomes: Sendable, Codable, Equatable {
    public var values: [Bool]

    public init(_ values: [Bool]) { self.values = values }

    public var correct: Int { values.filter { $0 }.count }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard text.allSatisfy({ $0 == "0" || $0 == "1" }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "outcomes: only 0 and 1"))
        }
        values = text.map { $0 == "1" }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(String(values.map { $0 ? "1" : "0" }))
    }
}
