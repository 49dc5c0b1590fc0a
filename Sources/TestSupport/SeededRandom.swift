public import VectorIndex

/// The deterministic generator of randomised tests: the index's own SplitMix64, so tests and code share one.
public typealias SeededRandom = SplitMix64

extension SplitMix64 {
    /// `count` floats uniform in `range`.
    public mutating func floats(_ count: Int, in range: ClosedRange<Float> = -1...1) -> [Float] {
        (0..<count).map { _ in Float.random(in: range, using: &self) }
    }
}
