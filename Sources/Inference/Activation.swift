internal import CKernels

/// Element-wise epilogues applied after a convolution's matrix product.
public enum Activation: Sendable {
    /// `x`, unchanged (projection layers).
    case identity
    /// `min(max(x, 0), 6)`.
    case relu6
    /// `max(x, 0)` (ResNet).
    case relu

    /// Writes `bias` into each of `rows` rows of `columns` values: the starting point of a matrix product with
    /// `beta = 1`, which also spares OpenBLAS its separate pass to zero the output.
    static func fillBias(_ values: UnsafeMutablePointer<Float>, rows: Int, columns: Int, bias: UnsafePointer<Float>) {
        lookalike_fill_bias(values, rows, columns, bias)
    }

    /// The C kernels' code for an activation applied as outputs are stored: 0 none, 1 ReLU6, 2 ReLU.
    var code: Int32 {
        switch self {
        case .identity: 0
        case .relu6: 1
        case .relu: 2
        }
    }

    /// Applies the activation in place to `count` values.
    func apply(_ values: UnsafeMutablePointer<Float>, count: Int, variant: KernelVariant = .best) {
        switch (self, variant) {
        case (.identity, _): return
        case (.relu6, .avx2), (.relu6, .avx512): lookalike_relu6_avx2(values, count)
        case (.relu6, .portable): lookalike_relu6_portable(values, count)
        case (.relu, .avx2), (.relu, .avx512): lookalike_relu_avx2(values, count)
        case (.relu, .portable): lookalike_relu_portable(values, count)
        }
    }
}
