import Inference

/// "More like these, less like those": the average-vector strategy.
///
/// The query is `mean(positives) − negativeWeight · mean(negatives)`, each example L2-normalised first and the
/// result re-normalised. With the default weight 0.5 it ranks exactly as Qdrant's `average_vector`
/// (`2·mean(P) − mean(N)` has the same direction). Stored images named as examples, positive or negative, are
/// left out of the results.
public struct Recommendation: Sendable, Equatable {
    /// One example: a stored image of the collection, or a raw feature vector.
    public enum Example: Sendable, Equatable {
        case image(String)
        case vector([Float])
    }

    public var positive: [Example]
    public var negative: [Example]
    public var negativeWeight: Float

    /// Examples per side; 32 vectors of 1,280 numbers is about 400 KB of JSON.
    public static let maxExamples = 32
    public static let defaultNegativeWeight: Float = 0.5

    public init(positive: [Example], negative: [Example] = [], negativeWeight: Float = Self.defaultNegativeWeight) {
        self.positive = positive
        self.negative = negative
        self.negativeWeight = negativeWeight
    }

    func validate() throws {
        guard (1...Self.maxExamples).contains(positive.count) else {
            throw LookalikeError.invalidArgument("positive must hold 1...\(Self.maxExamples) examples, got \(positive.count)")
        }
        guard negative.count <= Self.maxExamples else {
            throw LookalikeError.invalidArgument("negative must hold at most \(Self.maxExamples) examples, got \(negative.count)")
        }
        guard negativeWeight.isFinite, (0...2).contains(negativeWeight) else {
            throw LookalikeError.invalidArgument("negative_weight must be a number in 0...2")
        }
    }

    /// The query vector, with `vector(of:)` giving a stored example's (normalised) vector.
    func query(dimension: Int, vector stored: (String) throws -> [Float]) throws -> [Float] {
        func mean(_ examples: [Example], side: String) throws -> [Float] {
            var sum = [Float](repeating: 0, count: dimension)
            for (index, example) in examples.enumerated() {
                let vector: [Float]
                switch example {
                case .image(let key):
                    vector = try stored(key)
                case .vector(let raw):
                    guard raw.count == dimension else {
                        throw LookalikeError.invalidArgument("\(side)[\(index)] must have \(dimension) values, got \(raw.count)")
                    }
                    guard raw.allSatisfy({ $0.isFinite && abs($0) <= 1e15 }), raw.contains(where: { $0 != 0 }) else {
                        throw LookalikeError.invalidArgument("\(side)[\(index)] must be finite numbers, not all zero")
                    }
                    vector = FeatureVector.normalized(raw)
                }
                for d in 0..<dimension { sum[d] += vector[d] }
            }
            let scale = examples.isEmpty ? 0 : 1 / Float(examples.count)
            return sum.map { $0 * scale }
        }
        let positiveMean = try mean(positive, side: "positive")
        let negativeMean = try mean(negative, side: "negative")
        let combined = zip(positiveMean, negativeMean).map { $0 - negativeWeight * $1 }
        let norm = combined.reduce(0) { $0 + $1 * $1 }.squareRoot()
        // Cosine similarity to a (near) zero vector is noise: the examples cancel out.
        guard norm > 1e-4 else {
            throw LookalikeError.invalidArgument("the positive and negative examples cancel out; there is nothing to search for")
        }
        return combined.map { $0 / norm }
    }

    /// The stored images named as examples.
    var imageKeys: [String] {
        (positive + negative).compactMap { if case .image(let key) = $0 { key } else { nil } }
    }
}
