internal import CKernels

/// A depthwise k×k convolution (one filter per channel) over NHWC activations, with TensorFlow "SAME" padding.
///
/// Computed by the C kernels (`CKernels`): in NHWC the channels of one pixel are contiguous, so each tap is a vector
/// multiply-add of the tap's weight row and the input pixel's channel row (8 channels and 4 output pixels at a time
/// with AVX2 + FMA). Weights are stored `[ky][kx][channel]`, BatchNorm folded in.
public struct DepthwiseConvolution: Sendable {
    public let channels: Int
    public let kernel: Int
    public let stride: Int
    public let weights: [Float]
    public let bias: [Float]
    public let activation: Activation

    public init(channels: Int, kernel: Int, stride: Int, weights: [Float], bias: [Float], activation: Activation) {
        precondition(weights.count == kernel * kernel * channels && bias.count == channels,
                     "depthwise weights do not match kernel and channels")
        precondition(stride == 1 || stride == 2, "depthwise stride must be 1 or 2")
        self.channels = channels
        self.kernel = kernel
        self.stride = stride
        self.weights = weights
        self.bias = bias
        self.activation = activation
    }

    /// Output height and width for an input of `height × width`.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        SamePadding.outputSize(height: height, width: width, kernel: kernel, stride: stride)
    }

    /// Applies the layer to `batch` images of `height × width × channels`.
    ///
    /// - Parameter clampInput: apply ReLU6 to each input value as it is read: the activation of the expansion
    ///   before this layer, which then skips its own pass over the six-times-wider tensor.
    public func apply(
        _ input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, into output: UnsafeMutablePointer<Float>,
        clampInput: Bool = false, variant: KernelVariant = .best
    ) {
        let rowPadding = SamePadding(inputSize: height, kernel: kernel, stride: stride)
        let columnPadding = SamePadding(inputSize: width, kernel: kernel, stride: stride)
        var shape = lookalike_depthwise_shape(
            batch: Int32(batch), height: Int32(height), width: Int32(width), channels: Int32(channels), kernel: Int32(kernel),
            stride: Int32(stride), pad_top: Int32(rowPadding.before), pad_left: Int32(columnPadding.before),
            out_height: Int32(rowPadding.outputSize), out_width: Int32(columnPadding.outputSize))
        let relu6: Int32 = activation == .relu6 ? 1 : 0
        weights.withUnsafeBufferPointer { weights in
            bias.withUnsafeBufferPointer { bias in
                switch variant {
                case .avx512:
                    lookalike_depthwise_avx512(input, &shape, weights.baseAddress!, bias.baseAddress!, clampInput ? 1 : 0, relu6, output)
                case .avx2:
                    lookalike_depthwise_avx2(input, &shape, weights.baseAddress!, bias.baseAddress!, clampInput ? 1 : 0, relu6, output)
                case .portable:
                    lookalike_depthwise_portable(input, &shape, weights.baseAddress!, bias.baseAddress!, clampInput ? 1 : 0, relu6, output)
                }
            }
        }
    }
}
