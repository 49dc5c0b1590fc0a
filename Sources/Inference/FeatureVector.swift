import Foundation

/// Helpers for the vectors the model produces.
public enum FeatureVector {
    /// Returns `values` scaled to unit L2 norm; a zero vector stays zero. Inlinable, so callers in other modules get
    /// a specialised loop rather than the generic one (several times slower over a million rows).
    @inlinable
    public static func normalized(_ values: some Collection<Float>) -> [Float] {
        let norm = values.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? values.map { $0 / norm } : Array(values)
    }

    /// Each value x mapped to sign(x)·|x|^power, then scaled to unit L2 norm (power normalisation: powers below 1
    /// damp the few strongest channels, so more channels count in a cosine).
    public static func powered(_ values: some Collection<Float>, power: Float) -> [Float] {
        normalized(values.map { Foundation.pow(abs($0), power) * ($0 < 0 ? -1 : 1) })
    }

    /// Softmax probabilities of `logits`, computed stably.
    public static func softmax(_ logits: some Collection<Float>) -> [Float] {
        let largest = logits.max() ?? 0
        let exponentials = logits.map { Float(exp(Double($0 - largest))) }
        let total = exponentials.reduce(0, +)
        return exponentials.map { $0 / total }
    }

    /// The `count` best classes as `(index, probability)`, best first.
    public static func topClasses(logits: some Collection<Float>, count: Int = 5) -> [(index: Int, probability: Float)] {
        let probabilities = softmax(logits)
        return probabilities.enumerated().sorted { $0.element > $1.element }.prefix(count)
            .map { (index: $0.offset, probability: $0.element) }
    }

    /// Cosine similarity of two vectors of the same length.
    public static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "vectors differ in length")
        var dot: Double = 0, na: Double = 0, nb: Double = 0
        for index in 0..<a.count {
            dot += Double(a[index]) * Double(b[index])
            na += Double(a[index]) * Double(a[index])
            nb += Double(b[index]) * Double(b[index])
        }
        return na > 0 && nb > 0 ? Float(dot / (na.squareRoot() * nb.squareRoot())) : 0
    }
}
