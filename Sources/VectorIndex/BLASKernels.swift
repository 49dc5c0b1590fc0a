internal import COpenBLAS

/// Dot products and matrix-vector products through OpenBLAS, whose kernels use the CPU's widest vectors.
enum BLASKernels {
    /// `x · y` over `count` floats. The corresponding C function is `cblas_sdot`.
    @inline(__always)
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        cblas_sdot(Int32(count), x, 1, y, 1)
    }

    /// `y[rows] = A[rows × columns] · x[columns]`, row-major. The corresponding C function is `cblas_sgemv`.
    static func matrixVector(
        _ matrix: UnsafePointer<Float>, rows: Int, columns: Int, _ vector: UnsafePointer<Float>,
        into result: UnsafeMutablePointer<Float>
    ) {
        precondition(rows <= Int(Int32.max) && columns <= Int(Int32.max), "sgemv sizes must fit in Int32")
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(columns), 1, matrix, Int32(columns), vector, 1, 0,
                    result, 1)
    }

    /// `C[m × n] = A[m × inner] · B[n × inner]ᵀ`, row-major. The corresponding C function is `cblas_sgemm`.
    static func multiplyTransposed(
        _ a: UnsafePointer<Float>, rows m: Int, _ b: UnsafePointer<Float>, rows n: Int, inner: Int,
        into c: UnsafeMutablePointer<Float>
    ) {
        precondition(max(m, n, inner) <= Int(Int32.max), "sgemm sizes must fit in Int32")
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(inner), 1, a, Int32(inner),
                    b, Int32(inner), 0, c, Int32(n))
    }

    /// `G[n × n] = Aᵀ A / m` for `A[m × n]` row-major (the second-moment matrix of the rows).
    static func gram(_ a: UnsafePointer<Float>, rows m: Int, columns n: Int, into g: UnsafeMutablePointer<Float>) {
        precondition(max(m, n) <= Int(Int32.max), "sgemm sizes must fit in Int32")
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(n), Int32(n), Int32(m), 1 / Float(max(m, 1)),
                    a, Int32(n), a, Int32(n), 0, g, Int32(n))
    }
}

/// The LAPACK routines behind ITQ (column-major, as LAPACK is).
enum LAPACK {
    struct Failure: Error, CustomStringConvertible {
        let routine: String
        let info: Int32
        var description: String { "\(routine) failed (info \(info))" }
    }

    /// Eigen-decomposition of a symmetric `n × n` matrix in place: eigenvalues ascending; on return column `k`
    /// of `matrix` (column-major) is the eigenvector of eigenvalue `k`. The corresponding routine is `ssyevd`.
    static func symmetricEigen(_ matrix: inout [Float], n: Int) throws -> [Float] {
        var values = [Float](repeating: 0, count: n)
        var size = Int32(n), info: Int32 = 0
        var workQuery: Float = 0, iworkQuery: Int32 = 0
        var query: Int32 = -1
        var jobz = Int8(UInt8(ascii: "V")), uplo = Int8(UInt8(ascii: "U"))
        ssyevd_(&jobz, &uplo, &size, &matrix, &size, &values, &workQuery, &query, &iworkQuery, &query, &info)
        var lwork = Int32(workQuery), liwork = iworkQuery
        var work = [Float](repeating: 0, count: Int(lwork))
        var iwork = [Int32](repeating: 0, count: Int(liwork))
        ssyevd_(&jobz, &uplo, &size, &matrix, &size, &values, &work, &lwork, &iwork, &liwork, &info)
        guard info == 0 else { throw Failure(routine: "ssyevd", info: info) }
        return values
    }

    /// The eigenvectors of the `count` largest eigenvalues of a symmetric `n × n` matrix (destroyed), as a
    /// `count × n` row-major matrix, largest first.
    static func leadingEigenvectors(_ matrix: inout [Float], n: Int, count: Int) throws -> [Float] {
        precondition(count <= n, "at most n eigenvectors")
        _ = try symmetricEigen(&matrix, n: n)
        // Eigenvalues ascend; column k (column-major) = row k of the row-major view is eigenvector k.
        var vectors = [Float](repeating: 0, count: count * n)
        for rank in 0..<count {
            let source = (n - 1 - rank) * n
            for index in 0..<n { vectors[rank * n + index] = matrix[source + index] }
        }
        return vectors
    }

    /// Full SVD of a column-major `n × n` matrix `A = U Σ Vᵀ`; returns column-major `U` and `Vᵀ`.
    /// The corresponding routine is `sgesvd`.
    static func svd(_ matrix: [Float], n: Int) throws -> (u: [Float], vt: [Float]) {
        var a = matrix
        var size = Int32(n), info: Int32 = 0
        var singular = [Float](repeating: 0, count: n)
        var u = [Float](repeating: 0, count: n * n), vt = [Float](repeating: 0, count: n * n)
        var job = Int8(UInt8(ascii: "A"))
        var workQuery: Float = 0
        var query: Int32 = -1
        sgesvd_(&job, &job, &size, &size, &a, &size, &singular, &u, &size, &vt, &size, &workQuery, &query, &info)
        var lwork = Int32(workQuery)
        var work = [Float](repeating: 0, count: Int(lwork))
        sgesvd_(&job, &job, &size, &size, &a, &size, &singular, &u, &size, &vt, &size, &work, &lwork, &info)
        guard info == 0 else { throw Failure(routine: "sgesvd", info: info) }
        return (u, vt)
    }

    /// Column-major `C = A · B` for `n × n` matrices.
    static func multiply(_ a: [Float], _ b: [Float], n: Int) -> [Float] {
        var c = [Float](repeating: 0, count: n * n)
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
        return c
    }
}
