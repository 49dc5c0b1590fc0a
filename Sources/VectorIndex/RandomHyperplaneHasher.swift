import Foundation

/// Random-hyperplane codes (SimHash; Charikar 2002): bit `i` is the sign of `vector · r_i` for a seeded Gaussian
/// `r_i`. The angle between two vectors predicts their Hamming distance, so the code works from the first image,
/// before there is any data to learn from.
public struct RandomHyperplaneHasher: Sendable {
    public let bits: Int
    public let dimension: Int
    /// `bits × dimension` projection, row-major.
    public let projection: [Float]

    /// Draws the projection from a seeded generator; the same seed always gives the same hyperplanes.
    public init(bits: Int, dimension: Int, seed: UInt64) {
        precondition(bits > 0 && bits % 64 == 0, "code length must be a positive multiple of 64")
        var random = SplitMix64(seed: seed)
        var projection = [Float](repeating: 0, count: bits * dimension)
        for index in 0..<projection.count { projection[index] = random.nextGaussian() }
        self.init(bits: bits, dimension: dimension, projection: projection)
    }

    /// Restores a hasher from stored parameters.
    public init(bits: Int, dimension: Int, projection: [Float]) {
        precondition(projection.count == bits * dimension, "projection size does not match bits × dimension")
        self.bits = bits
        self.dimension = dimension
        self.projection = projection
    }

    /// The code of one vector.
    public func code(for vector: [Float]) -> BinaryCode {
        precondition(vector.count == dimension, "vector dimension \(vector.count) ≠ \(dimension)")
        var projected = [Float](repeating: 0, count: bits)
        projection.withUnsafeBufferPointer { matrix in
            vector.withUnsafeBufferPointer { vector in
                projected.withUnsafeMutableBufferPointer {
                    BLASKernels.matrixVector(matrix.baseAddress!, rows: bits, columns: dimension, vector.baseAddress!,
                                             into: $0.baseAddress!)
                }
            }
        }
        return BinaryCode(signsOf: projected)
    }
}

/// SplitMix64 with a Box–Muller normal sampler: small, fast and reproducible across platforms.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in (0, 1].
    mutating func nextUnit() -> Double { (Double(next() >> 11) + 1) / 9_007_199_254_740_992 }

    /// A standard normal sample.
    public mutating func nextGaussian() -> Float {
        let radius = (-2 * log(nextUnit())).squareRoot()
        return Float(radius * cos(2 * Double.pi * nextUnit()))
    }
}
