/// The top principal directions of the stored vectors, for a cheap first re-ranking.
///
/// Unit feature vectors concentrate their energy in few directions, so the inner product of their projections
/// onto the top `rank` eigenvectors of the second-moment matrix `XᵀX / n` (uncentred, because the score is an
/// inner product, not a distance from the mean) ranks candidates almost as the full inner product does, while
/// reading `rank` floats per row instead of `dimension`. Exact scores are computed afterwards for the best few.
struct PrincipalSubspace: Sendable {
    let dimension: Int
    let rank: Int
    /// `rank × dimension`, row-major: row `i` is the eigenvector of the `i`-th largest eigenvalue.
    let basis: [Float]

    init(dimension: Int, rank: Int, basis: [Float]) {
        precondition(rank > 0 && rank <= dimension && basis.count == rank * dimension, "basis has the wrong size")
        self.dimension = dimension
        self.rank = rank
        self.basis = basis
    }

    /// Learns the subspace from at most `sampleLimit` of `slots` (evenly spaced, so deterministic).
    init(training rows: RowSource, slots: [Int32], rank: Int, sampleLimit: Int = 8192) throws {
        let dimension = rows.dimension
        let sampleCount = min(slots.count, sampleLimit)
        precondition(sampleCount > 0 && rank <= dimension, "a subspace needs rows and rank ≤ dimension")
        var sample = [Float](repeating: 0, count: sampleCount * dimension)
        sample.withUnsafeMutableBufferPointer { sample in
            for position in 0..<sampleCount {
                let slot = slots[position * slots.count / sampleCount]
                (sample.baseAddress! + position * dimension).update(from: rows.row(slot), count: dimension)
            }
        }
        var moments = [Float](repeating: 0, count: dimension * dimension)
        moments.withUnsafeMutableBufferPointer { moments in
            BLASKernels.gram(sample, rows: sampleCount, columns: dimension, into: moments.baseAddress!)
        }
        let basis = try LAPACK.leadingEigenvectors(&moments, n: dimension, count: rank)
        self.init(dimension: dimension, rank: rank, basis: basis)
    }

    /// The coordinates of `vector` in the subspace (`rank` floats).
    func project(_ vector: UnsafePointer<Float>) -> [Float] {
        [Float](unsafeUninitializedCapacity: rank) { buffer, initialized in
            basis.withUnsafeBufferPointer {
                BLASKernels.matrixVector($0.baseAddress!, rows: rank, columns: dimension, vector, into: buffer.baseAddress!)
            }
            initialized = rank
        }
    }

    /// Projects rows `0..<rows.count` of a storage into a new storage of `rank`-float rows with the same slots,
    /// one matrix product per chunk.
    func projectAll(_ rows: RowSource) -> VectorStorage {
        let projected = VectorStorage(dimension: rank, rowsPerChunk: rows.rowsPerChunk)
        var block = [Float](repeating: 0, count: rows.rowsPerChunk * rank)
        var done = 0
        for chunk in rows.chunks where done < rows.count {
            let count = min(rows.rowsPerChunk, rows.count - done)
            block.withUnsafeMutableBufferPointer { block in
                basis.withUnsafeBufferPointer { basis in
                    BLASKernels.multiplyTransposed(chunk, rows: count, basis.baseAddress!, rows: rank, inner: dimension,
                                                   into: block.baseAddress!)
                }
                for row in 0..<count {
                    _ = projected.append(UnsafeBufferPointer(start: block.baseAddress! + row * rank, count: rank))
                }
            }
            done += count
        }
        return projected
    }
}
