internal import COpenBLAS
internal import CKernels

/// The few OpenBLAS entry points the engine uses, with Swift types and checked sizes.
public enum BLAS {
    /// Whether a matrix operand is used as stored or transposed.
    public enum Transpose: Sendable {
        case none, transpose

        var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
    }

    /// Sets the number of threads OpenBLAS uses inside one call. Inference workers set 1, so that several
    /// workers share the cores without oversubscribing them. The corresponding C function is
    /// `openblas_set_num_threads`.
    public static func setThreadCount(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// Whether layers multiply by weights packed once at load (``PackedWeights``) when their kernel variant is not
    /// `portable`, rather than through `cblas_sgemm`.
    public static var packsWeightsOnce: Bool { PackedWeights.isAvailable }

    /// The OpenBLAS core whose kernel multiplies by packed weights (nil when weights are not packed): the core
    /// OpenBLAS detected, or SkylakeX where the CPU has AVX-512 and OpenBLAS, older than the CPU, reports a core
    /// without it. `LOOKALIKE_OPENBLAS_CORE=reported` keeps the detected core.
    public static var packedKernelCore: String? {
        PackedWeights.isAvailable ? String(cString: lookalike_packed_gemm_core()) : nil
    }

    /// The current OpenBLAS thread count (`openblas_get_num_threads`).
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// Row-major `C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C`. The corresponding C function is
    /// `cblas_sgemm`.
    ///
    /// - Precondition: every dimension and leading dimension fits in `Int32` (OpenBLAS's LP64 interface).
    public static func sgemm(
        transposeA: Transpose = .none, transposeB: Transpose = .none, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition([m, n, k, lda, ldb, ldc].allSatisfy { $0 >= 0 && $0 <= Int(Int32.max) },
                     "sgemm dimensions must fit in Int32")
        cblas_sgemm(
            CblasRowMajor, transposeA.cblas, transposeB.cblas, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda),
            b, Int32(ldb), beta, c, Int32(ldc))
    }
}
