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
}
