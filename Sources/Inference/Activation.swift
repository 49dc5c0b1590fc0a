internal import CKernels

/// Element-wise epilogues applied after a convolution's matrix product.
public enum Activation: Sendable {
    /// `x`, unchanged (projection layers).
    case identity
    /// `min(max(x, 0), 6)`.
    case relu6

    /// Writes `bias` into each of `rows` rows of `columns` values: the starting point of a matrix product with
    /// `beta = 1`, which also spares OpenBLAS its separate pass to zero the output.
    static func fillBias(_ values: UnsafeMutablePointer<Float>, rows: Int, columns: Int, bias: UnsafePointer<Float>) {
        lookalike_fill_bias(values, rows, columns, bias)
    }

    /// Applies the activation in place to `count` values.
    func apply(_ values: UnsafeMutablePointer<Float>, count: Int, variant: KernelVariant = .best) {
        guard case .relu6 = self else { return }
        switch variant {
        case .avx2, .avx512: lookalike_relu6_avx2(values, count)
        case .portable: lookalike_relu6_portable(values, count)
        }
    }
}
