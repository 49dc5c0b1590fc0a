internal import CKernels

/// A dense k×k convolution over NHWC activations through im2col + `sgemm` (EfficientNet's stem, ResNet's 7×7,
/// 3×3 and strided 1×1 layers), or computed directly where the patch is short (a 3×3 stem, with AVX2 or AVX-512).
///
/// im2col writes, for every output pixel, the `kernel × kernel × inChannels` input values it sees (zeros in the
/// padding) as one row; one `sgemm` with weights `[(ky, kx, cin)][cout]` then computes all outputs.
public struct Convolution: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: ConvolutionPadding
    public let weights: [Float]
    public let bias: [Float]
    public let activation: Activation
    /// The weights packed once for OpenBLAS's kernel (nil where that is unavailable; see ``PackedWeights``).
    let packed: PackedWeights?

    public init(
        inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: ConvolutionPadding = .same, weights: [Float],
        bias: [Float], activation: Activation
    ) {
        precondition(weights.count == kernel * kernel * inChannels * outChannels && bias.count == outChannels,
                     "convolution weights do not match its shape")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.weights = weights
        self.bias = bias
        self.activation = activation
        packed = PackedWeights.make(weights: weights, inChannels: kernel * kernel * inChannels, outChannels: outChannels)
    }

    /// Whether the AVX2 and AVX-512 builds compute this layer directly (`lookalike_direct_convolution_rows_*`) rather
    /// than as a matrix product: a stem-like layer, whose patch is too short (K·K·Cin ≤ 32) for OpenBLAS's kernel to
    /// reach its speed, with output channels in whole vectors.
    var computesDirectly: Bool { outChannels % 16 == 0 && kernel * kernel * inChannels <= 32 }

    /// Whether `variant` computes this layer directly (see ``computesDirectly``); the portable build never does.
    func computesDirectly(with variant: KernelVariant) -> Bool { variant != .portable && computesDirectly }

    /// Output rows `outputRows` of one image, computed directly (where ``computesDirectly(with:)``): the loop of a
    /// network computing a band of rows at a time. `output` receives rows from `outputRows.lowerBound`.
    public func apply(image input: UnsafePointer<Float>, height: Int, width: Int, outputRows: Range<Int>,
                      into output: UnsafeMutablePointer<Float>, activate: Bool = true, variant: KernelVariant = .best) {
        precondition(computesDirectly(with: variant) && KernelVariant.isSupported(variant), "only a directly computed layer runs by rows")
        var shape = self.shape(batch: 1, height: height, width: width)
        precondition(outputRows.lowerBound >= 0 && outputRows.upperBound <= Int(shape.out_height), "output rows out of range")
        let direct = variant == .avx512 ? lookalike_direct_convolution_rows_avx512 : lookalike_direct_convolution_rows_avx2
        weights.withUnsafeBufferPointer { weights in
            bias.withUnsafeBufferPointer { bias in
                direct(input, &shape, weights.baseAddress!, bias.baseAddress!, Int32(outChannels), activate ? activation.code : 0,
                       Int32(outputRows.lowerBound), Int32(outputRows.upperBound), output)
            }
        }
    }

    private func shape(batch: Int, height: Int, width: Int) -> lookalike_depthwise_shape {
        let rowWindow = padding.window(inputSize: height, kernel: kernel, stride: stride)
        let columnWindow = padding.window(inputSize: width, kernel: kernel, stride: stride)
        return lookalike_depthwise_shape(
            batch: Int32(batch), height: Int32(height), width: Int32(width), channels: Int32(inChannels), kernel: Int32(kernel),
            stride: Int32(stride), pad_top: Int32(rowWindow.before), pad_left: Int32(columnWindow.before),
            out_height: Int32(rowWindow.outputSize), out_width: Int32(columnWindow.outputSize))
    }

    /// Whether layers with packed weights gather their patches straight into the packed layout (no im2col pass).
    static var gathersPatches: Bool { PackedWeights.isAvailable && lookalike_packed_convolution_available() == 1 }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        (padding.window(inputSize: height, kernel: kernel, stride: stride).outputSize,
         padding.window(inputSize: width, kernel: kernel, stride: stride).outputSize)
    }

    /// Floats of im2col workspace needed for `batch` images of `height × width`.
    public func workspaceCount(batch: Int, height: Int, width: Int) -> Int {
        let out = outputSize(height: height, width: width)
        return batch * out.height * out.width * kernel * kernel * inChannels
    }

    /// Applies the layer; `workspace` must hold ``workspaceCount(batch:height:width:)`` floats. With `activate`
    /// false the activation is left to the caller (a next layer that applies it as it reads).
    public func apply(
        _ input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
        workspace: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>, activate: Bool = true,
        variant: KernelVariant = .best
    ) {
        var shape = self.shape(batch: batch, height: height, width: width)
        let (outHeight, outWidth) = (Int(shape.out_height), Int(shape.out_width))
        let patch = kernel * kernel * inChannels
        let rows = batch * outHeight * outWidth
        if computesDirectly(with: variant) {
            for image in 0..<batch {
                apply(image: input + image * height * width * inChannels, height: height, width: width,
                      outputRows: 0..<outHeight, into: output + image * outHeight * outWidth * outChannels, activate: activate,
                      variant: variant)
            }
            return
        }
        // The patches gathered straight into OpenBLAS's packed layout where it allows; else im2col, then the product.
        let gathered = variant != .portable && bias.withUnsafeBufferPointer { bias in
            packed?.convolve(input, shape: &shape, into: output, bias: bias.baseAddress!) ?? false
        }
        if !gathered { lookalike_im2col(input, &shape, workspace) }
        let packedDone = gathered || variant != .portable && bias.withUnsafeBufferPointer { bias in
            packed?.multiply(workspace, rows: rows, into: output, bias: bias.baseAddress!) ?? false
        }
        if !packedDone {
            bias.withUnsafeBufferPointer { Activation.fillBias(output, rows: rows, columns: outChannels, bias: $0.baseAddress!) }
            weights.withUnsafeBufferPointer { weights in
                BLAS.sgemm(m: rows, n: outChannels, k: patch, a: workspace, lda: patch, b: weights.baseAddress!,
                           ldb: outChannels, beta: 1, c: output, ldc: outChannels)
            }
        }
        if activate { activation.apply(output, count: rows * outChannels, variant: variant) }
    }
}
