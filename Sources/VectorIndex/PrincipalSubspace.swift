/// The top principal directions of the stored vectors, for a cheap first re-ranking.
///
/// Unit feature vectors concentrate their energy in few directions, so the inner product of their projections
/// onto the top `rank` eigenvectors of the second-moment matrix `XᵀX / n` (uncentred, because the score is an
/// inner product, not a distance from the mean) ranks candidates almost as the full inner product does, while
/// reading `rank` coordinates per row instead of `dimension` floats. Exact scores are computed afterwards for the
/// best few.
///
/// Stored coordinates are 16-bit fixed point (`round(x · 32767)`): the vectors are unit length, so every
/// coordinate lies in [-1, 1] and the rounding error (≤ 1.5e-5) is far below the score gaps that matter, while a
/// row is 256 bytes instead of 512. The candidate rows are read at random, so halving them halves the cache
/// misses, and the integer dot product compiles to `pmaddwd` on the baseline x86-64 target. By Cauchy–Schwarz
/// every partial sum of a dot product of two such rows stays below 32767² < 2³¹, so `Int32` cannot overflow.
struct PrincipalSubspace: Sendable {
    static let fixedPointScale: Float = 32767

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

    /// Fixed-point rows hold `rank` coordinates padded with zeros to whole 16-byte vectors of 8.
    var paddedLength: Int { (rank + 7) / 8 * 8 }

    /// Rows per chunk of fixed-point rows: one 2 MiB huge page's worth (at least 64 rows).
    var rowsPerChunk: Int { max(64, (2 << 20) / (paddedLength * MemoryLayout<Int16>.stride)) }

    /// The fixed-point coordinates of `vector` in the subspace (`paddedLength` values).
    func fixedPointCoordinates(of vector: UnsafePointer<Float>) -> [Int16] {
        project(vector).withUnsafeBufferPointer(fixedPoint)
    }

    func fixedPoint(_ values: UnsafeBufferPointer<Float>) -> [Int16] {
        var row = [Int16](repeating: 0, count: paddedLength)
        for (index, value) in values.enumerated() {
            row[index] = Int16(min(max((value * Self.fixedPointScale).rounded(), -Self.fixedPointScale), Self.fixedPointScale))
        }
        return row
    }

    /// Lane-wise partial inner products of `vectors` 8-coordinate vectors of two fixed-point rows (sum the lanes
    /// for the inner product, in units of `1 / 32767²`). Adding the even and odd halves of the widened products
    /// is the pattern the compiler turns into one `pmaddwd` per 8 coordinates.
    @inline(__always)
    static func partialDot(_ a: UnsafePointer<Int16>, _ b: UnsafePointer<Int16>, vectors: Int) -> SIMD4<Int32> {
        var total = SIMD4<Int32>()
        for vector in 0..<vectors {
            let x = SIMD8<Int32>(truncatingIfNeeded: UnsafeRawPointer(a + 8 * vector).loadUnaligned(as: SIMD8<Int16>.self))
            let y = SIMD8<Int32>(truncatingIfNeeded: UnsafeRawPointer(b + 8 * vector).loadUnaligned(as: SIMD8<Int16>.self))
            let products = x &* y
            total &+= products.evenHalf &+ products.oddHalf
        }
        return total
    }

    /// Inner product of two fixed-point rows of `count` coordinates (a multiple of 8).
    static func dot(_ a: UnsafePointer<Int16>, _ b: UnsafePointer<Int16>, count: Int) -> Int32 {
        precondition(count % 8 == 0, "fixed-point rows are padded to multiples of 8")
        return partialDot(a, b, vectors: count / 8).wrappedSum()
    }

    /// Projects rows `0..<rows.count` of a storage into a new storage of fixed-point rows with the same slots,
    /// one matrix product per chunk.
    func projectAll(_ rows: RowSource) -> VectorStorage<Int16> {
        let projected = VectorStorage<Int16>(dimension: paddedLength, rowsPerChunk: rowsPerChunk)
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
                    _ = fixedPoint(UnsafeBufferPointer(start: block.baseAddress! + row * rank, count: rank))
                        .withUnsafeBufferPointer { projected.append($0) }
                }
            }
            done += count
        }
        return projected
    }
}
