internal import CKernels

/// A 1×1 convolution over NHWC activations: one `sgemm` with the batch and all pixels folded into the rows.
///
/// `output[rows × outChannels] = input[rows × inChannels] · weights[inChannels × outChannels] + bias`, then the
/// activation. Weights are stored input-channel-major (`[cin][cout]`), BatchNorm already folded in.
public struct PointwiseConvolution: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let weights: [Float]
    public let bias: [Float]
    public let activation: Activation
    /// The weights packed once for OpenBLAS's kernel (nil where that is unavailable; see ``PackedWeights``).
    let packed: PackedWeights?

    public init(inChannels: Int, outChannels: Int, weights: [Float], bias: [Float], activation: Activation) {
        precondition(weights.count == inChannels * outChannels && bias.count == outChannels,
                     "pointwise convolution weights do not match its channels")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.weights = weights
        self.bias = bias
        self.activation = activation
        packed = PackedWeights.make(weights: weights, inChannels: inChannels, outChannels: outChannels)
    }

    /// Applies the layer to `rows` pixels (batch × height × width). With `activate` false the activation is left
    /// to the next layer, which applies it as it reads (the depthwise convolution after an expansion).
    ///
    /// - Parameter residual: `rows × outChannels` values added to the output (a block's skip connection), folded
    ///   into the matrix product's starting point.
    public func apply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>, activate: Bool = true,
                      residual: UnsafePointer<Float>? = nil, variant: KernelVariant = .best) {
        let packedDone = variant != .portable && bias.withUnsafeBufferPointer { bias in
            packed?.multiply(input, rows: rows, into: output, bias: bias.baseAddress!, residual: residual) ?? false
        }
        if !packedDone {
            bias.withUnsafeBufferPointer { bias in
                if let residual {
                    lookalike_fill_bias_residual(output, rows, outChannels, bias.baseAddress!, residual)
                } else {
                    Activation.fillBias(output, rows: rows, columns: outChannels, bias: bias.baseAddress!)
                }
            }
            weights.withUnsafeBufferPointer { weights in
                BLAS.sgemm(m: rows, n: outChannels, k: inChannels, a: input, lda: inChannels,
                           b: weights.baseAddress!, ldb: outChannels, beta: 1, c: output, ldc: outChannels)
            }
        }
        if activate { activation.apply(output, count: rows * outChannels, variant: variant) }
    }
}
