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
        var shape = self.shape(batch: batch, height: height, width: width)
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

    /// The input rows that output rows `outputRows` of an image `height` rows high read.
    public func inputRows(forOutputRows outputRows: Range<Int>, height: Int) -> Range<Int> {
        let padding = SamePadding(inputSize: height, kernel: kernel, stride: stride)
        let first = max(0, outputRows.lowerBound * stride - padding.before)
        let end = min(height, (outputRows.upperBound - 1) * stride - padding.before + kernel)
        return first..<max(first, end)
    }

    /// Output rows `outputRows` of one image of `height × width × channels`, from `rows`, which holds that image's
    /// rows from `firstInputRow` on (at least ``inputRows(forOutputRows:height:)``); `output` receives the rows
    /// from `outputRows.lowerBound` on. A network computing a band of rows at a time calls this.
    public func apply(
        rows: UnsafePointer<Float>, firstInputRow: Int, height: Int, width: Int, outputRows: Range<Int>,
        into output: UnsafeMutablePointer<Float>, clampInput: Bool = false, variant: KernelVariant = .best
    ) {
        var shape = self.shape(batch: 1, height: height, width: width)
        precondition(outputRows.lowerBound >= 0 && outputRows.upperBound <= Int(shape.out_height), "output rows out of range")
        let window = lookalike_row_window(first_input_row: Int32(firstInputRow), out_row_begin: Int32(outputRows.lowerBound),
                                          out_row_end: Int32(outputRows.upperBound))
        let relu6: Int32 = activation == .relu6 ? 1 : 0
        let clamp: Int32 = clampInput ? 1 : 0
        weights.withUnsafeBufferPointer { weights in
            bias.withUnsafeBufferPointer { bias in
                switch variant {
                case .avx512:
                    lookalike_depthwise_rows_avx512(rows, &shape, window, weights.baseAddress!, bias.baseAddress!, clamp, relu6, output)
                case .avx2:
                    lookalike_depthwise_rows_avx2(rows, &shape, window, weights.baseAddress!, bias.baseAddress!, clamp, relu6, output)
                case .portable:
                    lookalike_depthwise_rows_portable(rows, &shape, window, weights.baseAddress!, bias.baseAddress!, clamp, relu6, output)
                }
            }
        }
    }

    private func shape(batch: Int, height: Int, width: Int) -> lookalike_depthwise_shape {
        let rowPadding = SamePadding(inputSize: height, kernel: kernel, stride: stride)
        let columnPadding = SamePadding(inputSize: width, kernel: kernel, stride: stride)
        return lookalike_depthwise_shape(
            batch: Int32(batch), height: Int32(height), width: Int32(width), channels: Int32(channels), kernel: Int32(kernel),
            stride: Int32(stride), pad_top: Int32(rowPadding.before), pad_left: Int32(columnPadding.before),
            out_height: Int32(rowPadding.outputSize), out_width: Int32(columnPadding.outputSize))
    }
}
