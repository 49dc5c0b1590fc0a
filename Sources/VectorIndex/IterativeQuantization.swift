internal import COpenBLAS

/// Learned binary codes: ITQ (Gong & Lazebnik, "Iterative Quantization", CVPR 2011).
///
/// Training: centre the vectors, project onto the top `bits` principal components (eigenvectors of the
/// covariance, LAPACK `ssyevd`), then alternate between fixing the codes `B = sign(V R)` and solving the
/// orthogonal Procrustes problem for the rotation `R` (LAPACK `sgesvd` of `Vᵀ B`). Encoding: bit `i` is the sign
/// of `((x − mean) · W R)ᵢ`. Unlike random hyperplanes, the projection follows the data, so on clustered
/// features nearby vectors share more bits.
public struct IterativeQuantization: Sendable {
    public let bits: Int
    public let dimension: Int
    /// Per-dimension mean subtracted before projecting.
    public let mean: [Float]
    /// `dimension × bits` row-major: the PCA basis times the learned rotation.
    public let projection: [Float]

    /// Restores a trained quantizer from its stored parameters (`mean` followed by `projection`).
    public init(bits: Int, dimension: Int, parameters: [Float]) throws {
        guard parameters.count == dimension + dimension * bits else {
            throw LAPACK.Failure(routine: "ITQ parameters of the wrong size", info: Int32(parameters.count))
        }
        self.bits = bits
        self.dimension = dimension
        mean = Array(parameters[0..<dimension])
        projection = Array(parameters[dimension...])
    }

    /// The stored form: `mean` followed by `projection`.
    public var parameters: [Float] { mean + projection }

    /// Trains on `rows` (row-major, `count × dimension`).
    ///
    /// - Precondition: `bits` ≤ `dimension` and `count` ≥ `bits`.
    public init(training rows: [Float], count: Int, dimension: Int, bits: Int, iterations: Int = 50, seed: UInt64 = 1) throws {
        precondition(bits > 0 && bits <= dimension && count >= bits && rows.count == count * dimension,
                     "ITQ needs at least `bits` rows of the given dimension")
        self.bits = bits
        self.dimension = dimension
        var mean = [Float](repeating: 0, count: dimension)
        for row in 0..<count { for j in 0..<dimension { mean[j] += rows[row * dimension + j] } }
        for j in 0..<dimension { mean[j] /= Float(count) }
        var centred = rows
        for row in 0..<count { for j in 0..<dimension { centred[row * dimension + j] -= mean[j] } }

        // Covariance (symmetric, so row- and column-major agree).
        var covariance = [Float](repeating: 0, count: dimension * dimension)
        covariance.withUnsafeMutableBufferPointer {
            BLASKernels.gram(centred, rows: count, columns: dimension, into: $0.baseAddress!)
        }
        let components = try LAPACK.leadingEigenvectors(&covariance, n: dimension, count: bits)
        var basis = [Float](repeating: 0, count: dimension * bits)  // dimension × bits, row-major
        for j in 0..<bits {
            for i in 0..<dimension { basis[i * bits + j] = components[j * dimension + i] }
        }
        var projected = [Float](repeating: 0, count: count * bits)  // V = Xc W, count × bits
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(bits), Int32(dimension), 1,
                    centred, Int32(dimension), basis, Int32(bits), 0, &projected, Int32(bits))

        // Start from a random rotation: the U·Vᵀ of a Gaussian matrix's SVD.
        var random = SplitMix64(seed: seed)
        let gaussian = (0..<(bits * bits)).map { _ in random.nextGaussian() }
        let start = try LAPACK.svd(gaussian, n: bits)
        var rotation = LAPACK.multiply(start.u, start.vt, n: bits)  // orthogonal; orientation does not matter
        var rotated = [Float](repeating: 0, count: count * bits)
        var signs = [Float](repeating: 0, count: count * bits)
        for _ in 0..<iterations {
            // B = sign(V R) (row-major; `rotation` read as row-major R).
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(bits), Int32(bits), 1,
                        projected, Int32(bits), rotation, Int32(bits), 0, &rotated, Int32(bits))
            for index in 0..<rotated.count { signs[index] = rotated[index] >= 0 ? 1 : -1 }
            // M = Vᵀ B (bits × bits, row-major). Procrustes: R = U Wᵀ for M = U Σ Wᵀ.
            var m = [Float](repeating: 0, count: bits * bits)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(bits), Int32(bits), Int32(count), 1,
                        projected, Int32(bits), signs, Int32(bits), 0, &m, Int32(bits))
            // Row-major M read as column-major is Mᵀ = W Σ Uᵀ, so LAPACK returns u' = W, vt' = Uᵀ, and the
            // column-major product u'·vt' = W Uᵀ = Rᵀ, which read as row-major is R.
            let decomposition = try LAPACK.svd(m, n: bits)
            rotation = LAPACK.multiply(decomposition.u, decomposition.vt, n: bits)
        }
        var projection = [Float](repeating: 0, count: dimension * bits)  // W R
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(dimension), Int32(bits), Int32(bits), 1,
                    basis, Int32(bits), rotation, Int32(bits), 0, &projection, Int32(bits))
        self.mean = mean
        self.projection = projection
    }

    /// The code of one vector.
    public func code(for vector: [Float]) -> BinaryCode {
        precondition(vector.count == dimension, "vector dimension \(vector.count) ≠ \(dimension)")
        let centred = zip(vector, mean).map { $0 - $1 }
        var projected = [Float](repeating: 0, count: bits)
        // projectedᵀ = centredᵀ · P  ⇔  projected = Pᵀ · centred (P is dimension × bits, row-major).
        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(dimension), Int32(bits), 1, projection, Int32(bits), centred, 1, 0,
                    &projected, 1)
        return BinaryCode(signsOf: projected)
    }
}
