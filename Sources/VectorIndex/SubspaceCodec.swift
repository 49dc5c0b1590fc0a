/// Compresses unit vectors to 8-bit coordinates in their principal subspace, and scores a query against them.
///
/// A row is `y = B·x` (the top `rank` principal directions, ``PrincipalSubspace``), each coordinate divided by
/// its own step `scale[i]` (the largest |yᵢ| of the training sample over 127) and rounded to an `Int8`. A query is
/// scored asymmetrically: its weights `wᵢ = scale[i]·(B·q)ᵢ` are kept at 16 bits with one factor for the whole
/// query, so `Σ codeᵢ·wᵢ / factor ≈ ⟨B·x, B·q⟩`, an estimate of the cosine that ignores the energy outside the
/// subspace. It is used to walk the graph and pick the short list; exact scores come from the full vectors.
struct SubspaceCodec: Sendable {
    let subspace: PrincipalSubspace
    /// One step per coordinate.
    let scale: [Float]

    var rank: Int { subspace.rank }
    var dimension: Int { subspace.dimension }
    /// Code length: `rank` rounded up to whole 32-byte vectors, padded with zeros.
    var codeLength: Int { (rank + 31) / 32 * 32 }

    init(subspace: PrincipalSubspace, scale: [Float]) {
        precondition(scale.count == subspace.rank && scale.allSatisfy { $0 > 0 }, "one positive step per coordinate")
        self.subspace = subspace
        self.scale = scale
    }

    /// Learns the subspace and the steps from at most `sampleLimit` of `slots` of `rows`.
    init(training rows: RowSource, slots: [Int32], rank: Int, sampleLimit: Int = 8192) throws {
        let subspace = try PrincipalSubspace(training: rows, slots: slots, rank: rank, sampleLimit: sampleLimit)
        var largest = [Float](repeating: 0, count: rank)
        let sampleCount = min(slots.count, sampleLimit)
        for position in 0..<sampleCount {
            let projected = subspace.project(rows.row(slots[position * slots.count / sampleCount]))
            for i in 0..<rank { largest[i] = max(largest[i], abs(projected[i])) }
        }
        self.init(subspace: subspace, scale: largest.map { max($0, 1e-6) / 127 })
    }

    /// The code of a unit vector: `codeLength` bytes.
    func encode(_ vector: UnsafePointer<Float>) -> [Int8] {
        let projected = subspace.project(vector)
        var code = [Int8](repeating: 0, count: codeLength)
        for i in 0..<rank {
            code[i] = Int8(min(max((projected[i] / scale[i]).rounded(), -127), 127))
        }
        return code
    }

    /// A query's 16-bit weights (`codeLength` values) and the factor that turns their sums back into cosines.
    func weights(for query: UnsafePointer<Float>) -> (weights: [Int16], factor: Float) {
        let projected = subspace.project(query)
        var raw = [Float](repeating: 0, count: rank)
        var largest: Float = 0
        for i in 0..<rank {
            raw[i] = projected[i] * scale[i]
            largest = max(largest, abs(raw[i]))
        }
        let factor = largest > 0 ? 32767 / largest : 1
        var weights = [Int16](repeating: 0, count: codeLength)
        for i in 0..<rank { weights[i] = Int16((raw[i] * factor).rounded()) }
        return (weights, factor)
    }

    /// Per-coordinate weights for comparing two codes (`scale[i]²` scaled to at most 127, padded with zeros), and
    /// the factor that turns ``pairDot`` sums back into cosines: the similarity of two stored vectors from their
    /// codes alone.
    var pairWeights: (weights: [Int16], factor: Float) {
        let squares = scale.map { $0 * $0 }
        let factor = 127 / (squares.max() ?? 1)
        var weights = [Int16](repeating: 0, count: codeLength)
        for i in 0..<rank { weights[i] = Int16((squares[i] * factor).rounded()) }
        return (weights, factor)
    }
}
